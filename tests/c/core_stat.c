/* STAT cpu / time / message: the time a service's callbacks took, the time the running one
 * has taken so far, and how many messages it was given. A callback that keeps its worker for
 * 30 ms shows at least that much, and not wildly more. */
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_SECONDS 0.03

static double
stat(struct skynet_context *ctx, const char *what) {
	const char *r = skynet_command(ctx, "STAT", what);
	return r ? atof(r) : -1;
}

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	if (type != PTYPE_TEXT)
		return 0;
	if (sz == 4 && memcmp(msg, "busy", 4) == 0) {
		double until = monotonic_seconds() + BUSY_SECONDS;
		while (monotonic_seconds() < until) {
		}
		double running = stat(ctx, "time");
		CHECK(ctx, running >= BUSY_SECONDS * 0.9 && running < 5.0);
		skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0, "check", 5);
		return 0;
	}
	double cpu = stat(ctx, "cpu");
	if (cpu < BUSY_SECONDS * 0.9 || cpu > 5.0)
		skynet_error(ctx, "STAT cpu is %f after a %f s callback", cpu, BUSY_SECONDS);
	CHECK(ctx, cpu >= BUSY_SECONDS * 0.9 && cpu < 5.0);
	CHECK(ctx, stat(ctx, "message") >= 2);
	test_pass(ctx);
	return 0;
}

int
core_stat_init(void *inst, struct skynet_context *ctx, const char *parm) {
	skynet_callback(ctx, NULL, on_message);
	skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0, "busy", 4);
	return 0;
}
