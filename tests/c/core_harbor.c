/* Harbor routing with a stand-in harbor service: handles of another harbor and global names
 * reach the service that called skynet_harbor_start, as PTYPE_SYSTEM remote_messages;
 * skynet_isremote tells local from remote. Runs with harbor = 1. */
#include "check.h"
#include "skynet_harbor.h"

#include <stdio.h>
#include <string.h>

static uint32_t tester;
static int seen;

static int
harbor_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type != PTYPE_SYSTEM)
		return 0;
	CHECK(ctx, sz == sizeof(struct remote_message));
	const struct remote_message *r = msg;
	CHECK(ctx, source == tester);
	if (r->destination.handle != 0) {
		CHECK(ctx, r->destination.handle == 0x02000005);
		CHECK(ctx, r->type == PTYPE_TEXT && session == 11);
		CHECK(ctx, r->sz == 5 && memcmp(r->message, "hello", 5) == 0);
	} else {
		CHECK(ctx, strncmp(r->destination.name, "globalsvc", GLOBALNAME_LENGTH) == 0);
		CHECK(ctx, r->type == PTYPE_CLIENT && session == 12);
		CHECK(ctx, r->sz == 3 && memcmp(r->message, "abc", 3) == 0);
	}
	free((void *)r->message);
	if (++seen == 2)
		skynet_send(ctx, 0, tester, PTYPE_TEXT, 0, "done", 4);
	return 0;
}

static int
tester_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type == PTYPE_TEXT && sz == 4 && memcmp(msg, "done", 4) == 0)
		test_pass(ctx);
	return 0;
}

int
core_harbor_init(void *inst, struct skynet_context *ctx, const char *parm) {
	if (parm == NULL) /* launched without arguments */
		parm = "";
	if (strcmp(parm, "harbor") == 0) {
		skynet_callback(ctx, NULL, harbor_cb);
		skynet_harbor_start(ctx);
		return 0;
	}
	tester = skynet_context_handle(ctx);
	skynet_callback(ctx, NULL, tester_cb);
	CHECK_INIT(ctx, (tester >> 24) == 1);
	CHECK_INIT(ctx, skynet_command(ctx, "LAUNCH", "core_harbor harbor") != NULL);
	int h = -1;
	CHECK_INIT(ctx, skynet_isremote(ctx, 0x02000005, &h) == 1 && h == 2);
	CHECK_INIT(ctx, skynet_isremote(ctx, tester, &h) == 0 && h == 1);
	CHECK_INIT(ctx, skynet_send(ctx, 0, 0x02000005, PTYPE_TEXT, 11, "hello", 5) == 11);
	CHECK_INIT(ctx, skynet_sendname(ctx, 0, "globalsvc", PTYPE_CLIENT, 12, "abc", 3) == 12);
	return 0;
}
