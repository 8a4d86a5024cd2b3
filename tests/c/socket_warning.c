/* WARNING events: 16 MiB sent to a client that does not read yet. The owner is warned when
 * pending writes reach 1 MiB, then 2, 4 and 8 MiB (ud = pending KiB), and once more with
 * ud 0 when the client has drained them; the client gets every byte in order. */
#include "socket_test.h"

#define TOTAL (16u << 20)
#define CHUNK (64 << 10)
#define SEED 0x3a3a5u

struct warn {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int conn;
	int go[2];
	int warnings[16];
	int nwarnings;
	int client_done;
	pthread_t client;
	struct late_reader reader;
};

static void
send_all(struct warn *w) {
	for (uint64_t off = 0; off < TOTAL; off += CHUNK) {
		uint8_t *chunk = skynet_malloc(CHUNK);
		fill_pattern(chunk, CHUNK, off, SEED);
		if (skynet_socket_send(w->ctx, w->conn, chunk, CHUNK) != 0) {
			skynet_error(w->ctx, "TEST FAIL send refused at %llu", (unsigned long long)off);
			return;
		}
	}
}

static int
check_warnings(struct warn *w) {
	struct skynet_context *ctx = w->ctx;
	char seen[256] = "";
	for (int i = 0; i < w->nwarnings; i++)
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), " %d", w->warnings[i]);
	skynet_error(ctx, "warnings (KiB):%s", seen);
	CHECK_INIT(ctx, w->nwarnings == 5);
	for (int i = 0; i < 4; i++) {
		int at = 1024 << i;
		CHECK_INIT(ctx, w->warnings[i] >= at && w->warnings[i] <= at + CHUNK / 1024);
	}
	CHECK_INIT(ctx, w->warnings[4] == 0);
	return 0;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct warn *w = ud;
	ON_DEADLINE(ctx, type, session, w->deadline, "timed out, %d warnings", w->nwarnings);
	if (type == PTYPE_TEXT) {
		if (sz >= 4 && memcmp(msg, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL client: %.*s", (int)sz, (const char *)msg);
			skynet_command(ctx, "ABORT", NULL);
			return 0;
		}
		pthread_join(w->client, NULL);
		w->client_done = 1;
		if (w->nwarnings == 5 && check_warnings(w) == 0)
			test_pass(ctx);
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	switch (e->type) {
	case SKYNET_SOCKET_TYPE_CONNECT:
		if (listener_ready(ctx, e, w->listen_id, &w->port)) {
			w->reader = (struct late_reader){ w->self, w->port, w->go[0], TOTAL, SEED };
			CHECK(ctx, pthread_create(&w->client, NULL, late_reader_main, &w->reader) == 0);
		} else if (e->id == w->conn) {
			send_all(w);
			CHECK(ctx, write(w->go[1], "g", 1) == 1);
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT:
		w->conn = e->ud;
		skynet_socket_start(ctx, w->conn);
		break;
	case SKYNET_SOCKET_TYPE_WARNING:
		CHECK(ctx, e->id == w->conn && w->nwarnings < 16);
		w->warnings[w->nwarnings++] = e->ud;
		if (e->ud == 0 && w->client_done && check_warnings(w) == 0)
			test_pass(ctx);
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
		CHECK(ctx, e->id == w->conn);
		skynet_socket_close(ctx, w->conn);
		break;
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d", e->type);
		skynet_command(ctx, "ABORT", NULL);
	}
	return 0;
}

static struct warn W;

int
socket_warning_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct warn *w = &W;
	w->ctx = ctx;
	w->self = skynet_context_handle(ctx);
	w->conn = -1;
	CHECK_INIT(ctx, pipe(w->go) == 0);
	CHECK_INIT(ctx, socket_test_setup(ctx, w, cb, 6000, 8, &w->deadline, &w->listen_id) == 0);
	return 0;
}
