/* Nobody waits forever: a requester sends 10,000 requests (each with a session) to a worker
 * service and kills it while most are still queued. Every request is answered: by the worker
 * (PTYPE_RESPONSE) or, for those left in its queue, by the core (PTYPE_ERROR). */
#include "check.h"

#include <stdio.h>
#include <string.h>

#define REQUESTS 10000

struct state {
	uint32_t worker;
	int answered[REQUESTS + 1];
	int responses, errors, total;
};

static int
worker_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type == PTYPE_CLIENT && session > 0)
		skynet_send(ctx, 0, source, PTYPE_RESPONSE, session, NULL, 0);
	return 0;
}

static int
requester_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct state *s = ud;
	if (type != PTYPE_RESPONSE && type != PTYPE_ERROR)
		return 0;
	CHECK(ctx, source == s->worker);
	CHECK(ctx, session >= 1 && session <= REQUESTS && !s->answered[session]);
	s->answered[session] = 1;
	if (type == PTYPE_RESPONSE)
		s->responses++;
	else
		s->errors++;
	if (++s->total == REQUESTS) {
		skynet_error(ctx, "answered %d by the worker, %d by the core", s->responses, s->errors);
		CHECK(ctx, s->errors > 0);
		test_pass(ctx);
	}
	return 0;
}

int
core_kill_init(void *inst, struct skynet_context *ctx, const char *parm) {
	if (parm == NULL) /* launched without arguments */
		parm = "";
	if (strcmp(parm, "worker") == 0) {
		skynet_callback(ctx, NULL, worker_cb);
		return 0;
	}
	static struct state s;
	skynet_callback(ctx, &s, requester_cb);
	const char *r = skynet_command(ctx, "LAUNCH", "core_kill worker");
	CHECK_INIT(ctx, r != NULL);
	s.worker = (uint32_t)strtoul(r + 1, NULL, 16);
	for (int i = 0; i < REQUESTS; i++) {
		int session = skynet_send(ctx, 0, s.worker, PTYPE_CLIENT | PTYPE_TAG_ALLOCSESSION, 0, "req", 3);
		CHECK_INIT(ctx, session == i + 1);
	}
	char cmd[32];
	snprintf(cmd, sizeof(cmd), ":%x", s.worker);
	skynet_command(ctx, "KILL", cmd);
	return 0;
}
