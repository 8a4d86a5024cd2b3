/* Config and env: keys from the config file (through `include` and `$VAR` substitution) are
 * in the env with upstream's text forms; defaults are filled in; SETENV/GETENV round trip and
 * an existing key is not overwritten. */
#include "check.h"
#include "skynet_env.h"

#include <string.h>

static int
streq(const char *a, const char *b) {
	return a && b && strcmp(a, b) == 0;
}

int
core_env_init(void *inst, struct skynet_context *ctx, const char *parm) {
	CHECK_INIT(ctx, streq(skynet_getenv("from_include"), "yes"));
	CHECK_INIT(ctx, streq(skynet_getenv("home"), getenv("HOME")));
	CHECK_INIT(ctx, streq(skynet_getenv("number"), "42"));
	CHECK_INIT(ctx, streq(skynet_getenv("real"), "1.5"));
	CHECK_INIT(ctx, streq(skynet_getenv("flag"), "true"));
	CHECK_INIT(ctx, streq(skynet_getenv("off"), "false"));
	CHECK_INIT(ctx, streq(skynet_getenv("thread"), "4"));
	CHECK_INIT(ctx, streq(skynet_getenv("logservice"), "logger"));
	CHECK_INIT(ctx, streq(skynet_getenv("profile"), "true"));
	CHECK_INIT(ctx, skynet_getenv("nokey") == NULL);
	skynet_command(ctx, "SETENV", "runtime_key some value");
	CHECK_INIT(ctx, streq(skynet_command(ctx, "GETENV", "runtime_key"), "some value"));
	skynet_setenv("runtime_key", "other");
	CHECK_INIT(ctx, streq(skynet_getenv("runtime_key"), "some value"));
	test_pass(ctx);
	return 0;
}
