/* Shared by the C-ABI tests: each test is a C service module run as the bootstrap of a node.
 * It reports failures with CHECK and ends with test_pass(), which logs "TEST PASS" and aborts
 * the node. The runner fails a test on "TEST FAIL", a missing "TEST PASS", a crash, a
 * sanitizer report or its time limit. */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include "skynet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(ctx, cond) do { \
	if (!(cond)) { \
		skynet_error((ctx), "TEST FAIL %s:%d: %s", __FILE__, __LINE__, #cond); \
		skynet_command((ctx), "ABORT", NULL); \
		return 0; \
	} \
} while (0)

#define CHECK_INIT(ctx, cond) do { \
	if (!(cond)) { \
		skynet_error((ctx), "TEST FAIL %s:%d: %s", __FILE__, __LINE__, #cond); \
		skynet_command((ctx), "ABORT", NULL); \
		return 1; \
	} \
} while (0)

/* Seconds on the monotonic clock, for tests that time what they wait for. */
static inline double
monotonic_seconds(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Logs "TEST FAIL <formatted text>" and stops the node. */
static inline void
test_fail(struct skynet_context *ctx, const char *fmt, ...) {
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	skynet_error(ctx, "TEST FAIL %s", text);
	skynet_command(ctx, "ABORT", NULL);
}

static inline void
test_pass(struct skynet_context *ctx) {
	skynet_error(ctx, "TEST PASS");
	skynet_command(ctx, "ABORT", NULL);
}

#endif
