/* Sends that cannot be delivered: a dead handle, destination 0, an unknown local name, an
 * oversize message. Each returns its error code and frees a payload the core owns (the
 * sanitizer run checks nothing leaks); the node keeps running. */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type == PTYPE_TEXT && sz == 4 && memcmp(msg, "ping", 4) == 0) {
		test_pass(ctx);
	}
	return 0;
}

int
core_deadsend_init(void *inst, struct skynet_context *ctx, const char *parm) {
	skynet_callback(ctx, NULL, on_message);
	const char *r = skynet_command(ctx, "LAUNCH", "core_deadsend_child");
	CHECK_INIT(ctx, r == NULL); /* no such module */

	uint32_t dead = 0x00ffff00;
	CHECK_INIT(ctx, skynet_send(ctx, 0, dead, PTYPE_TEXT, 0, "copy", 4) == -1);
	CHECK_INIT(ctx, skynet_send(ctx, 0, dead, PTYPE_TEXT | PTYPE_TAG_DONTCOPY, 0, strdup("owned"), 5) == -1);
	CHECK_INIT(ctx, skynet_send(ctx, 0, 0, PTYPE_TEXT | PTYPE_TAG_DONTCOPY, 0, strdup("zero"), 4) == -1);
	/* destination 0 without data: just allocates the session */
	int session = skynet_send(ctx, 0, 0, PTYPE_TEXT | PTYPE_TAG_ALLOCSESSION, 0, NULL, 0);
	CHECK_INIT(ctx, session > 0);
	CHECK_INIT(ctx, skynet_sendname(ctx, 0, ".nobody", PTYPE_TEXT | PTYPE_TAG_DONTCOPY, 0, strdup("name"), 4) == -1);
	CHECK_INIT(ctx, skynet_sendname(ctx, 0, ":00ffff00", PTYPE_TEXT, 0, "hex", 3) == -1);
	size_t huge = SIZE_MAX >> 4; /* over the 56-bit size limit; never read */
	CHECK_INIT(ctx, skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT | PTYPE_TAG_DONTCOPY, 0, strdup("big"), huge) == -2);
	/* The node still delivers. */
	CHECK_INIT(ctx, skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0, "ping", 4) == 0);
	return 0;
}
