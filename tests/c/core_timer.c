/* Timers: TIMEOUT 0 is delivered at once (before any tick can pass), later timeouts fire in
 * the order of their delay and never early, each as PTYPE_RESPONSE from source 0 with the
 * session TIMEOUT returned. */
#include "check.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const int delays[] = { 50, 1, 20, 5, 100, 10 };
#define N (int)(sizeof(delays) / sizeof(delays[0]))

struct state {
	int session[N];
	uint64_t start;
	int fired;
	int last_delay;
	int immediate;
};

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct state *s = ud;
	CHECK(ctx, type == PTYPE_RESPONSE && source == 0 && msg == NULL && sz == 0);
	if (session == s->immediate) {
		CHECK(ctx, s->fired == 0);
		s->immediate = -1;
		return 0;
	}
	int i;
	for (i = 0; i < N && s->session[i] != session; i++)
		;
	CHECK(ctx, i < N);
	uint64_t elapsed = skynet_now() - s->start;
	CHECK(ctx, elapsed >= (uint64_t)delays[i]);
	CHECK(ctx, delays[i] >= s->last_delay);
	s->last_delay = delays[i];
	if (++s->fired == N) {
		CHECK(ctx, s->immediate == -1);
		test_pass(ctx);
	}
	return 0;
}

int
core_timer_init(void *inst, struct skynet_context *ctx, const char *parm) {
	static struct state s;
	skynet_callback(ctx, &s, on_message);
	s.start = skynet_now();
	for (int i = 0; i < N; i++) {
		char t[16];
		snprintf(t, sizeof(t), "%d", delays[i]);
		const char *r = skynet_command(ctx, "TIMEOUT", t);
		CHECK_INIT(ctx, r != NULL);
		s.session[i] = atoi(r);
		CHECK_INIT(ctx, s.session[i] > 0);
	}
	const char *r = skynet_command(ctx, "TIMEOUT", "0");
	CHECK_INIT(ctx, r != NULL);
	s.immediate = atoi(r);
	/* skynet_starttime and skynet_now agree with the wall clock. */
	const char *st = skynet_command(ctx, "STARTTIME", NULL);
	CHECK_INIT(ctx, st != NULL);
	long wall = (long)time(NULL);
	long node = atol(st) + (long)(skynet_now() / 100);
	CHECK_INIT(ctx, node >= wall - 2 && node <= wall + 2);
	return 0;
}
