/* One large send to a client that does not read yet: the kernel takes part of it at once and
 * the rest waits for the socket thread. That rest is not a backlog of sends, so the owner
 * gets no WARNING (as upstream, where a big redis command sends none); the client still gets
 * every byte in order. */
#include "socket_test.h"

#define TOTAL (8u << 20)
#define CHUNK (64 << 10)
#define SEED 0x5b1e5u

struct big {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int conn;
	int go[2];
	int nwarnings;
	pthread_t client;
	struct late_reader reader;
};

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct big *b = ud;
	ON_DEADLINE(ctx, type, session, b->deadline, "timed out, %d warnings", b->nwarnings);
	if (type == PTYPE_TEXT) {
		if (sz >= 4 && memcmp(msg, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL client: %.*s", (int)sz, (const char *)msg);
			skynet_command(ctx, "ABORT", NULL);
			return 0;
		}
		pthread_join(b->client, NULL);
		/* A warning would have been queued by the send itself, before the client's reply. */
		CHECK(ctx, b->nwarnings == 0);
		test_pass(ctx);
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	switch (e->type) {
	case SKYNET_SOCKET_TYPE_CONNECT:
		if (listener_ready(ctx, e, b->listen_id, &b->port)) {
			b->reader = (struct late_reader){ b->self, b->port, b->go[0], TOTAL, SEED };
			CHECK(ctx, pthread_create(&b->client, NULL, late_reader_main, &b->reader) == 0);
		} else if (e->id == b->conn) {
			uint8_t *data = skynet_malloc(TOTAL);
			fill_pattern(data, TOTAL, 0, SEED);
			CHECK(ctx, skynet_socket_send(ctx, b->conn, data, TOTAL) == 0);
			CHECK(ctx, write(b->go[1], "g", 1) == 1);
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT:
		b->conn = e->ud;
		skynet_socket_start(ctx, b->conn);
		break;
	case SKYNET_SOCKET_TYPE_WARNING:
		skynet_error(ctx, "warning: %d KiB pending", e->ud);
		b->nwarnings++;
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
		CHECK(ctx, e->id == b->conn);
		skynet_socket_close(ctx, b->conn);
		break;
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d", e->type);
		skynet_command(ctx, "ABORT", NULL);
	}
	return 0;
}

static struct big B;

int
socket_bigsend_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct big *b = &B;
	b->ctx = ctx;
	b->self = skynet_context_handle(ctx);
	b->conn = -1;
	CHECK_INIT(ctx, pipe(b->go) == 0);
	CHECK_INIT(ctx, socket_test_setup(ctx, b, cb, 6000, 8, &b->deadline, &b->listen_id) == 0);
	return 0;
}
