/* Names and addresses: REG/QUERY/NAME, skynet_queryname, name uniqueness, KILL by name. */
#include "check.h"

#include <stdio.h>
#include <string.h>

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	return 0;
}

int
core_names_init(void *inst, struct skynet_context *ctx, const char *parm) {
	if (parm == NULL) /* launched without arguments */
		parm = "";
	if (strcmp(parm, "idle") == 0) {
		skynet_callback(ctx, NULL, on_message);
		return 0;
	}
	skynet_callback(ctx, NULL, on_message);
	uint32_t self = skynet_context_handle(ctx);
	char expect[16];
	snprintf(expect, sizeof(expect), ":%x", self);

	const char *r = skynet_command(ctx, "REG", NULL);
	CHECK_INIT(ctx, r && strcmp(r, expect) == 0);
	r = skynet_command(ctx, "REG", ".tester");
	CHECK_INIT(ctx, r && strcmp(r, "tester") == 0);
	CHECK_INIT(ctx, skynet_queryname(ctx, ".tester") == self);
	CHECK_INIT(ctx, skynet_queryname(ctx, expect) == self);
	r = skynet_command(ctx, "QUERY", ".tester");
	CHECK_INIT(ctx, r && strcmp(r, expect) == 0);
	CHECK_INIT(ctx, skynet_command(ctx, "QUERY", ".nobody") == NULL);
	CHECK_INIT(ctx, skynet_queryname(ctx, ".nobody") == 0);

	/* A second service: LAUNCH answers its address as :XXXXXXXX. */
	r = skynet_command(ctx, "LAUNCH", "core_names idle");
	CHECK_INIT(ctx, r && r[0] == ':' && strlen(r) == 9);
	uint32_t other = (uint32_t)strtoul(r + 1, NULL, 16);
	CHECK_INIT(ctx, other != 0 && other != self);

	/* A name is taken once. */
	CHECK_INIT(ctx, skynet_command(ctx, "REG", ".tester") == NULL);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), ".tester :%x", other);
	CHECK_INIT(ctx, skynet_command(ctx, "NAME", cmd) == NULL);
	snprintf(cmd, sizeof(cmd), ".other :%x", other);
	r = skynet_command(ctx, "NAME", cmd);
	CHECK_INIT(ctx, r && strcmp(r, "other") == 0);
	CHECK_INIT(ctx, skynet_queryname(ctx, ".other") == other);

	/* Global names belong to the harbor, not to C. */
	CHECK_INIT(ctx, skynet_command(ctx, "REG", "global") == NULL);

	/* KILL by name retires the service and its names. */
	skynet_command(ctx, "KILL", ".other");
	CHECK_INIT(ctx, skynet_queryname(ctx, ".other") == 0);
	CHECK_INIT(ctx, skynet_send(ctx, 0, other, PTYPE_TEXT, 0, "x", 1) == -1);

	/* Unknown commands and bad arguments answer NULL (and log why). */
	CHECK_INIT(ctx, skynet_command(ctx, "NOSUCHCOMMAND", "x") == NULL);
	CHECK_INIT(ctx, skynet_command(ctx, "KILL", "garbage") == NULL);
	test_pass(ctx);
	return 0;
}
