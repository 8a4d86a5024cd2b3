/* Logger drain: 20,000 lines logged right before ABORT all reach the log. */
#include "check.h"

int
core_drain_init(void *inst, struct skynet_context *ctx, const char *parm) {
	for (int i = 0; i < 20000; i++)
		skynet_error(ctx, "line %d", i);
	skynet_error(ctx, "the last line before abort");
	test_pass(ctx);
	return 0;
}
