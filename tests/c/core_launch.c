/* LAUNCH failure: a module whose init fails is reported, leaves no service behind, and
 * messages sent to it during its init are answered with PTYPE_ERROR. Also: no arguments
 * reach init as NULL. */
#include "check.h"

#include <stdio.h>
#include <string.h>

static uint32_t main_handle;
static int errors;

static int
main_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type == PTYPE_ERROR && session == 77) {
		errors++;
		CHECK(ctx, skynet_context_total() == 2); /* the logger and us: nothing left behind */
		test_pass(ctx);
	}
	return 0;
}

int
core_launch_init(void *inst, struct skynet_context *ctx, const char *parm) {
	/* Launched without arguments (as the bootstrap here), a module gets NULL, as upstream
	 * passes it: a logger, for one, writes to stdout only then. */
	int no_arguments = parm == NULL;
	if (parm == NULL)
		parm = "";
	if (strcmp(parm, "fail") == 0) {
		/* Someone asks us something while we are still starting; then we fail. */
		skynet_send(ctx, main_handle, skynet_context_handle(ctx), PTYPE_CLIENT, 77, "q", 1);
		return 1;
	}
	CHECK_INIT(ctx, no_arguments);
	main_handle = skynet_context_handle(ctx);
	skynet_callback(ctx, NULL, main_cb);
	CHECK_INIT(ctx, skynet_command(ctx, "LAUNCH", "core_launch fail") == NULL);
	CHECK_INIT(ctx, skynet_command(ctx, "LAUNCH", "") == NULL);
	CHECK_INIT(ctx, skynet_context_new("no_such_module", "") == 0);
	return 0;
}
