/* Nobody waits forever: a holder service takes requests and keeps some of them unanswered.
 * When it is killed, the core answers each request it still holds with PTYPE_ERROR, once;
 * requests it answered, and requests it passed on to a relay under the caller's address
 * (the relay answers those), get no error. */
#include "check.h"

#include <stdio.h>
#include <string.h>

enum { HELD = 5, ANSWERED = 3, PASSED = 2, TOTAL = HELD + ANSWERED + PASSED };

static uint32_t relay;

static int
relay_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type == PTYPE_CLIENT && session > 0)
		skynet_send(ctx, 0, source, PTYPE_RESPONSE, session, "relayed", 7);
	return 0;
}

static int
holder_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type == PTYPE_TEXT) {	/* everything before this was taken: tell the requester */
		skynet_send(ctx, 0, source, PTYPE_TEXT, 0, "ready", 5);
	} else if (type == PTYPE_CLIENT && sz == 6 && memcmp(msg, "answer", 6) == 0) {
		skynet_send(ctx, 0, source, PTYPE_RESPONSE, session, "ok", 2);
	} else if (type == PTYPE_CLIENT && sz == 4 && memcmp(msg, "pass", 4) == 0) {
		skynet_send(ctx, source, relay, PTYPE_CLIENT, session, (void *)msg, sz);
	}	/* "hold": no answer */
	return 0;
}

struct state {
	uint32_t holder;
	char kind[TOTAL + 1];	/* per session: 'h'eld, 'a'nswered, 'p'assed; 0 once settled */
	int settled;
};

static int
requester_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct state *s = ud;
	if (type == PTYPE_TEXT) {
		char cmd[32];
		snprintf(cmd, sizeof(cmd), ":%x", s->holder);
		skynet_command(ctx, "KILL", cmd);
		return 0;
	}
	CHECK(ctx, session >= 1 && session <= TOTAL);
	char kind = s->kind[session];
	CHECK(ctx, kind != 0);	/* each request is answered once */
	if (kind == 'h')
		CHECK(ctx, type == PTYPE_ERROR && source == s->holder);
	else if (kind == 'a')
		CHECK(ctx, type == PTYPE_RESPONSE && source == s->holder && sz == 2);
	else
		CHECK(ctx, type == PTYPE_RESPONSE && source == relay && sz == 7);
	s->kind[session] = 0;
	if (++s->settled == TOTAL) {
		skynet_error(ctx, "held requests answered by the core, the others by their services");
		test_pass(ctx);
	}
	return 0;
}

static uint32_t
launch(struct skynet_context *ctx, const char *args) {
	const char *r = skynet_command(ctx, "LAUNCH", args);
	return r ? (uint32_t)strtoul(r + 1, NULL, 16) : 0;
}

int
core_killheld_init(void *inst, struct skynet_context *ctx, const char *parm) {
	if (parm && strcmp(parm, "relay") == 0) {
		skynet_callback(ctx, NULL, relay_cb);
		return 0;
	}
	if (parm && strcmp(parm, "holder") == 0) {
		skynet_callback(ctx, NULL, holder_cb);
		return 0;
	}
	static struct state s;
	skynet_callback(ctx, &s, requester_cb);
	relay = launch(ctx, "core_killheld relay");
	s.holder = launch(ctx, "core_killheld holder");
	CHECK_INIT(ctx, relay != 0 && s.holder != 0);
	static const char *order = "hahphahpha";	/* TOTAL requests, mixed */
	CHECK_INIT(ctx, strlen(order) == TOTAL);
	for (int i = 0; i < TOTAL; i++) {
		const char *body = order[i] == 'h' ? "hold" : order[i] == 'a' ? "answer" : "pass";
		int session = skynet_send(ctx, 0, s.holder, PTYPE_CLIENT | PTYPE_TAG_ALLOCSESSION, 0, (void *)body, strlen(body));
		CHECK_INIT(ctx, session == i + 1);
		s.kind[session] = order[i];
	}
	skynet_send(ctx, 0, s.holder, PTYPE_TEXT, 0, "ready?", 6);
	return 0;
}
