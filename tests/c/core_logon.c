/* Per-service message logs: LOGON opens logpath/<handle>.log and every message the service
 * receives is written there (source, type, session, time, hex payload); LOGOFF closes it. */
#include "check.h"

#include <stdio.h>
#include <string.h>

static char path[256];

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type == PTYPE_TEXT && sz == 5 && memcmp(msg, "first", 5) == 0) {
		char self[16];
		snprintf(self, sizeof(self), ":%08x", skynet_context_handle(ctx));
		skynet_command(ctx, "LOGOFF", self);
		skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0, "after", 5);
		return 0;
	}
	if (type == PTYPE_TEXT && sz == 5 && memcmp(msg, "after", 5) == 0) {
		FILE *f = fopen(path, "r");
		CHECK(ctx, f != NULL);
		char text[4096];
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
		CHECK(ctx, strstr(text, "open time:") != NULL);
		/* "first" as hex, sent by ourselves with type 0 session 0 */
		char line[64];
		snprintf(line, sizeof(line), ":%08x 0 0 ", skynet_context_handle(ctx));
		CHECK(ctx, strstr(text, line) != NULL);
		CHECK(ctx, strstr(text, "6669727374") != NULL);
		CHECK(ctx, strstr(text, "close time:") != NULL);
		/* after LOGOFF nothing more is written */
		CHECK(ctx, strstr(text, "6166746572") == NULL);
		test_pass(ctx);
	}
	return 0;
}

int
core_logon_init(void *inst, struct skynet_context *ctx, const char *parm) {
	skynet_callback(ctx, NULL, on_message);
	const char *dir = skynet_command(ctx, "GETENV", "logpath");
	CHECK_INIT(ctx, dir != NULL);
	snprintf(path, sizeof(path), "%s/%08x.log", dir, skynet_context_handle(ctx));
	remove(path);
	char self[16];
	snprintf(self, sizeof(self), ":%08x", skynet_context_handle(ctx));
	skynet_command(ctx, "LOGON", self);
	skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0, "first", 5);
	return 0;
}
