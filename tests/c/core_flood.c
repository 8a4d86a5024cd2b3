/* Loss-free delivery under a flood: 1,000,000 messages from one service to another, sent
 * without waiting; the receiver must get every one, and the overload warning must show. */
#include "check.h"

#include <stdio.h>
#include <string.h>

#define TOTAL 1000000
#define BATCH 10000

struct state {
	uint32_t peer;
	long received;
	long sum;
	int sent;
};

static int
receiver_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct state *s = ud;
	if (type != PTYPE_CLIENT)
		return 0;
	int v;
	memcpy(&v, msg, sizeof(v));
	s->sum += v;
	if (++s->received == TOTAL) {
		long expect = (long)TOTAL * (TOTAL - 1) / 2;
		if (s->sum != expect) {
			skynet_error(ctx, "TEST FAIL sum %ld, expected %ld", s->sum, expect);
			skynet_command(ctx, "ABORT", NULL);
			return 0;
		}
		test_pass(ctx);
	}
	return 0;
}

/* The sender sends in batches, each batch triggered by a message to itself, so other
 * services get to run between batches. */
static int
sender_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct state *s = ud;
	for (int i = 0; i < BATCH && s->sent < TOTAL; i++, s->sent++) {
		int *v = malloc(sizeof(int));
		*v = s->sent;
		CHECK(ctx, skynet_send(ctx, 0, s->peer, PTYPE_CLIENT | PTYPE_TAG_DONTCOPY, 0, v, sizeof(int)) == 0);
	}
	if (s->sent < TOTAL)
		skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0, NULL, 0);
	return 0;
}

int
core_flood_init(void *inst, struct skynet_context *ctx, const char *parm) {
	if (parm == NULL) /* launched without arguments */
		parm = "";
	static struct state receiver, sender;
	if (strncmp(parm, "sender ", 7) == 0) {
		sender.peer = (uint32_t)strtoul(parm + 7, NULL, 16);
		skynet_callback(ctx, &sender, sender_cb);
		/* The first batch goes out while the receiver is still in its init (it launched us),
		 * so it piles up in the receiver's queue: that must raise the overload warning. */
		sender_cb(ctx, &sender, PTYPE_TEXT, 0, 0, NULL, 0);
		return 0;
	}
	skynet_callback(ctx, &receiver, receiver_cb);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "core_flood sender %x", skynet_context_handle(ctx));
	CHECK_INIT(ctx, skynet_command(ctx, "LAUNCH", cmd) != NULL);
	return 0;
}
