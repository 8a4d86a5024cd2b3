/* A node goes quiet after traffic. Idle workers busy-poll the sockets for a short window
 * before they block (src/socket/busy_poll.rs); once the traffic stops those windows must
 * stop paying, and the node must go back to near 0% cpu. A client thread makes 2,000 echo
 * round trips (which keep busy polling on), then stays connected and silent; the service
 * then measures the process's cpu over one second of its own timer ticks (a 10 ms timer
 * loop, so workers keep waking) and fails above 10% of one core. */
#include "socket_test.h"

#define ROUNDS 2000
#define PIECE 64
#define QUIET_TICKS 100	/* centiseconds measured */
#define MAX_CPU 0.10	/* cpu seconds per second allowed while quiet */

struct idle {
	int deadline;
	int listen_id;
	int port;
	int conn;
	uint32_t self;
	pthread_t client;
	int stop[2];
	int ticks;
	double cpu_start;
};

static struct idle I;

static double
process_cpu(void) {
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The client: echoes, then tells the service, then waits silently for the end. */
static void *
client_main(void *arg) {
	struct idle *s = arg;
	int fd = client_connect(s->self, s->port);
	if (fd < 0)
		return NULL;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t out[PIECE], in[PIECE];
	for (int i = 0; i < ROUNDS; i++) {
		fill_pattern(out, PIECE, (uint64_t)i * PIECE, 7);
		if (write_all(fd, out, PIECE, 5000) != 0 || read_exact(fd, in, PIECE, 5000) != PIECE
			|| memcmp(in, out, PIECE) != 0) {
			notify(s->self, "fail echo %d", i);
			close(fd);
			return NULL;
		}
	}
	notify(s->self, "quiet");
	struct pollfd p = { s->stop[0], POLLIN, 0 };
	poll(&p, 1, 60000);
	close(fd);
	return NULL;
}

static void
finish(struct skynet_context *ctx, struct idle *s) {
	double used = process_cpu() - s->cpu_start;
	double per_second = used / (QUIET_TICKS / 100.0);
	if (write(s->stop[1], "s", 1) != 1)
		skynet_error(ctx, "could not tell the client to stop");
	pthread_join(s->client, NULL);
	if (per_second > MAX_CPU) {
		test_fail(ctx, "the quiet node used %.3f cpu s per s after the traffic (limit %.2f)", per_second, MAX_CPU);
		return;
	}
	skynet_error(ctx, "quiet node: %.4f cpu s per s after %d echoes", per_second, ROUNDS);
	test_pass(ctx);
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct idle *s = ud;
	ON_DEADLINE(ctx, type, session, s->deadline, "timed out");
	if (type == PTYPE_TEXT) {
		if (sz == 5 && memcmp(msg, "quiet", 5) == 0) {
			s->cpu_start = process_cpu();
			skynet_command(ctx, "TIMEOUT", "1");
			return 0;
		}
		test_fail(ctx, "client: %.*s", (int)sz, (const char *)msg);
		return 0;
	}
	if (type == PTYPE_RESPONSE) {
		/* the quiet loop's ticks */
		if (++s->ticks >= QUIET_TICKS)
			finish(ctx, s);
		else
			skynet_command(ctx, "TIMEOUT", "1");
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	if (listener_ready(ctx, e, s->listen_id, &s->port)) {
		CHECK(ctx, pthread_create(&s->client, NULL, client_main, s) == 0);
	} else if (accepted(ctx, e, &s->conn)) {
		/* the client's CONNECT comes next */
	} else if (e->type == SKYNET_SOCKET_TYPE_CONNECT && e->id == s->conn) {
		skynet_socket_nodelay(ctx, s->conn);
	} else if (e->type == SKYNET_SOCKET_TYPE_DATA) {
		/* the buffer is ours: send it back as it is */
		CHECK(ctx, skynet_socket_send(ctx, e->id, e->buffer, e->ud) == 0);
	}
	return 0;
}

int
socket_idlecpu_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct idle *s = &I;
	s->self = skynet_context_handle(ctx);
	s->conn = -1;
	CHECK_INIT(ctx, pipe(s->stop) == 0);
	CHECK_INIT(ctx, socket_test_setup(ctx, s, cb, 6000, 8, &s->deadline, &s->listen_id) == 0);
	return 0;
}
