/* A stand-in "snlua" C module for core_override: when it is on cpath, LAUNCH snlua must
 * load it rather than the core's built-in snlua. It answers any request with "stand-in". */
#include "skynet.h"

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (session > 0)
		skynet_send(ctx, 0, source, PTYPE_RESPONSE, session, "stand-in", 8);
	return 0;
}

int
snlua_init(void *inst, struct skynet_context *ctx, const char *parm) {
	skynet_callback(ctx, NULL, on_message);
	return 0;
}
