/* The endless-loop monitor: a callback that never returns on its own is reported in the log
 * within seconds, and the service sees the flag through STAT endless (reset once read). */
#include "check.h"

#include <string.h>

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type != PTYPE_TEXT)
		return 0;
	/* Spin until the monitor thread flags us (the runner's time limit bounds this). */
	for (;;) {
		const char *r = skynet_command(ctx, "STAT", "endless");
		if (r && strcmp(r, "1") == 0)
			break;
	}
	const char *again = skynet_command(ctx, "STAT", "endless");
	CHECK(ctx, again && strcmp(again, "0") == 0);
	test_pass(ctx);
	return 0;
}

int
core_endless_init(void *inst, struct skynet_context *ctx, const char *parm) {
	skynet_callback(ctx, NULL, on_message);
	skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0, "go", 2);
	return 0;
}
