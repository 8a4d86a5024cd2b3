/* Sockets keep moving while every worker is busy. The node has one worker; an idle worker
 * is what watches the sockets, so here the only one sends 8 MiB to a client (the kernel
 * takes part, the rest is left pending) and then stays inside its callback until the client
 * has read every byte. Only the socket thread, taking over the watch once no worker has
 * looked for a timer tick, can write the rest out meanwhile; without it the callback would
 * wait out its 10 s cap. */
#include "socket_test.h"

#include <stdatomic.h>

#define TOTAL (8u << 20)
#define SEED 0xb05e5u
#define CAP_SECONDS 10

struct busy {
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int conn;
	int go[2];
	pthread_t client;
	atomic_uint_fast64_t received;	/* bytes the client has read and checked */
};

static struct busy B;

/* The client: connects, waits for the go, reads and checks everything. */
static void *
reader_main(void *arg) {
	struct busy *b = arg;
	enum { PIECE = 64 << 10 };
	int fd = connect_then_wait(b->self, b->port, b->go[0]);
	if (fd < 0)
		return NULL;
	uint8_t *buf = malloc(PIECE);
	uint64_t got = 0;
	while (buf && got < TOTAL) {
		size_t want = TOTAL - got < PIECE ? (size_t)(TOTAL - got) : PIECE;
		size_t n = read_exact(fd, buf, want, 15000);
		if (n == 0 || check_pattern(buf, n, got, SEED) >= 0)
			break;
		got += n;
		atomic_store(&b->received, got);
	}
	free(buf);
	close(fd);
	return NULL;
}

/* The send, then the busy wait inside this callback. */
static void
send_and_stay(struct skynet_context *ctx, struct busy *b) {
	uint8_t *data = skynet_malloc(TOTAL);
	fill_pattern(data, TOTAL, 0, SEED);
	CHECK(ctx, skynet_socket_send(ctx, b->conn, data, TOTAL) == 0);
	CHECK(ctx, write(b->go[1], "g", 1) == 1);
	double start = monotonic_seconds();
	while (atomic_load(&b->received) < TOTAL && monotonic_seconds() - start < CAP_SECONDS)
		;
	uint64_t got = atomic_load(&b->received);
	pthread_join(b->client, NULL);
	if (got != TOTAL) {
		test_fail(ctx, "the client read %llu of %u bytes while the only worker was busy",
			(unsigned long long)got, TOTAL);
		return;
	}
	skynet_error(ctx, "all %u bytes went out while the worker was busy (%.3f s)", TOTAL, monotonic_seconds() - start);
	test_pass(ctx);
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct busy *b = ud;
	ON_DEADLINE(ctx, type, session, b->deadline, "timed out");
	if (type == PTYPE_TEXT) {
		test_fail(ctx, "client: %.*s", (int)sz, (const char *)msg);
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	if (listener_ready(ctx, e, b->listen_id, &b->port)) {
		CHECK(ctx, pthread_create(&b->client, NULL, reader_main, b) == 0);
	} else if (accepted(ctx, e, &b->conn)) {
		/* the client's CONNECT comes next */
	} else if (e->type == SKYNET_SOCKET_TYPE_CONNECT && e->id == b->conn) {
		send_and_stay(ctx, b);
	}
	return 0;
}

int
socket_busyworkers_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct busy *b = &B;
	b->self = skynet_context_handle(ctx);
	b->conn = -1;
	CHECK_INIT(ctx, pipe(b->go) == 0);
	CHECK_INIT(ctx, socket_test_setup(ctx, b, cb, 6000, 8, &b->deadline, &b->listen_id) == 0);
	return 0;
}
