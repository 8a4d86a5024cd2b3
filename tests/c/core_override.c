/* Drop-in rule: a module found on cpath wins over the core's built-in module of the same
 * name (here snlua, replaced by tests/c/mod_snlua.c). */
#include "check.h"

#include <string.h>

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type == PTYPE_RESPONSE) {
		CHECK(ctx, sz == 8 && memcmp(msg, "stand-in", 8) == 0);
		test_pass(ctx);
	}
	return 0;
}

int
core_override_init(void *inst, struct skynet_context *ctx, const char *parm) {
	skynet_callback(ctx, NULL, on_message);
	const char *addr = skynet_command(ctx, "LAUNCH", "snlua anything");
	CHECK_INIT(ctx, addr != NULL);
	uint32_t h = (uint32_t)strtoul(addr + 1, NULL, 16);
	CHECK_INIT(ctx, skynet_send(ctx, 0, h, PTYPE_TEXT | PTYPE_TAG_ALLOCSESSION, 0, "?", 1) > 0);
	return 0;
}
