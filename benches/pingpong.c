/* Benchmark module, built against the core's headers (ours, or upstream's for comparison):
 *   pingpong rtt N       N round trips between two services, one message in flight
 *   pingpong pipeline N  N messages sent without waiting, then one reply when all arrived
 * Prints "BENCH ..." lines with rates and the peak RSS, then aborts the node. */
#include "skynet.h"
#include "skynet_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 10000

struct bench {
	int pipeline;
	long total;
	long done;
	uint32_t peer;
	double start;
};

static double
seconds(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
peak_rss_kb(void) {
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = atol(line + 6);
	}
	if (f)
		fclose(f);
	return kb;
}

/* Straight to stderr: upstream's ABORT retires its logger before it drains. */
static void
finish(struct skynet_context *ctx, struct bench *b) {
	double t = seconds() - b->start;
	if (b->pipeline)
		fprintf(stderr, "BENCH pipeline %ld messages %.3f s %.0f msg/s peak_rss_kb %ld\n", b->total, t, b->total / t, peak_rss_kb());
	else
		fprintf(stderr, "BENCH rtt %ld round trips %.3f s %.0f rt/s peak_rss_kb %ld\n", b->total, t, b->total / t, peak_rss_kb());
	skynet_command(ctx, "ABORT", NULL);
}

/* The peer: echoes in rtt mode; in pipeline mode counts and answers once at the end. */
static int
peer_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct bench *b = ud;
	if (type != PTYPE_CLIENT)
		return 0;
	if (!b->pipeline) {
		skynet_send(ctx, 0, source, PTYPE_CLIENT | PTYPE_TAG_DONTCOPY, 0, (void *)msg, sz);
		return 1; /* the payload travels on */
	}
	if (++b->done == b->total)
		skynet_send(ctx, 0, source, PTYPE_RESPONSE, 0, NULL, 0);
	return 0;
}

static void
send_batch(struct skynet_context *ctx, struct bench *b) {
	long n = 0;
	while (n < BATCH && b->done < b->total) {
		skynet_send(ctx, 0, b->peer, PTYPE_CLIENT, 0, "01234567", 8);
		b->done++;
		n++;
	}
	if (b->done < b->total)
		skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0, NULL, 0);
}

static int
driver_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct bench *b = ud;
	if (b->pipeline) {
		if (type == PTYPE_TEXT)
			send_batch(ctx, b);
		else if (type == PTYPE_RESPONSE)
			finish(ctx, b);
		return 0;
	}
	if (type != PTYPE_CLIENT)
		return 0;
	if (++b->done == b->total) {
		finish(ctx, b);
		return 0;
	}
	skynet_send(ctx, 0, b->peer, PTYPE_CLIENT | PTYPE_TAG_DONTCOPY, 0, (void *)msg, sz);
	return 1;
}

struct bench *
pingpong_create(void) {
	return calloc(1, sizeof(struct bench));
}

void
pingpong_release(struct bench *b) {
	free(b);
}

int
pingpong_init(struct bench *b, struct skynet_context *ctx, const char *parm) {
	if (parm == NULL) /* launched without arguments */
		parm = "";
	char mode[32];
	long total;
	unsigned driver;
	if (sscanf(parm, "peer %31s %ld", mode, &total) == 2) {
		b->pipeline = strcmp(mode, "pipeline") == 0;
		b->total = total;
		skynet_callback(ctx, b, peer_cb);
		return 0;
	}
	if (sscanf(parm, "%31s %ld", mode, &total) != 2)
		return 1;
	(void)driver;
	b->pipeline = strcmp(mode, "pipeline") == 0;
	b->total = total;
	skynet_callback(ctx, b, driver_cb);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "pingpong peer %s %ld", mode, total);
	const char *addr = skynet_command(ctx, "LAUNCH", cmd);
	if (addr == NULL)
		return 1;
	b->peer = (uint32_t)strtoul(addr + 1, NULL, 16);
	b->start = seconds();
	if (b->pipeline) {
		skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0, NULL, 0);
	} else {
		char *m = malloc(8);
		memcpy(m, "pingpong", 8);
		skynet_send(ctx, 0, b->peer, PTYPE_CLIENT | PTYPE_TAG_DONTCOPY, 0, m, 8);
	}
	return 0;
}
