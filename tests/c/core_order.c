/* Per-pair FIFO order: four senders each send 200,000 numbered messages to one receiver,
 * which checks every sender's sequence arrives in order and complete. */
#include "check.h"

#include <stdio.h>
#include <string.h>

#define SENDERS 4
#define COUNT 200000

struct state {
	uint32_t receiver;
	uint32_t senders[SENDERS];
	int next[SENDERS];
	int done;
	uint32_t main;
};

static int
receiver_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct state *s = ud;
	if (type != PTYPE_TEXT || sz != sizeof(int) * 2)
		return 0;
	int who, seq;
	memcpy(&who, msg, sizeof(int));
	memcpy(&seq, (const char *)msg + sizeof(int), sizeof(int));
	if (who < 0 || who >= SENDERS || seq != s->next[who]) {
		skynet_error(ctx, "TEST FAIL sender %d: got %d, expected %d", who, seq, who >= 0 && who < SENDERS ? s->next[who] : -1);
		skynet_command(ctx, "ABORT", NULL);
		return 0;
	}
	if (++s->next[who] == COUNT && ++s->done == SENDERS) {
		test_pass(ctx);
	}
	return 0;
}

static int
sender_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	return 0;
}

int
core_order_init(void *inst, struct skynet_context *ctx, const char *parm) {
	if (parm == NULL) /* launched without arguments */
		parm = "";
	if (strncmp(parm, "sender ", 7) == 0) {
		int who;
		unsigned receiver;
		if (sscanf(parm + 7, "%d %x", &who, &receiver) != 2)
			return 1;
		skynet_callback(ctx, NULL, sender_cb);
		for (int i = 0; i < COUNT; i++) {
			int body[2] = { who, i };
			CHECK_INIT(ctx, skynet_send(ctx, 0, receiver, PTYPE_TEXT, 0, body, sizeof(body)) == 0);
		}
		return 0;
	}
	static struct state s;
	skynet_callback(ctx, &s, receiver_cb);
	s.receiver = skynet_context_handle(ctx);
	/* Each sender sends everything from its init; the receiver runs concurrently once the
	 * bootstrap init returns, so the senders are launched from here with their messages
	 * queued behind our init. */
	for (int i = 0; i < SENDERS; i++) {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "core_order sender %d %x", i, s.receiver);
		CHECK_INIT(ctx, skynet_command(ctx, "LAUNCH", cmd) != NULL);
	}
	return 0;
}
