/* Writes from many threads at once: four plain threads (not services) send 5,000 framed
 * messages each to one connection, from malloc'd and borrowed buffers, one thread at low
 * priority. The client checks every frame arrives whole and each thread's frames in order. */
#include "socket_test.h"

#define WRITERS 4
#define FRAMES 5000

struct threadtest {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int conn;
	int writers_done;
	int client_done;
	pthread_t client;
	pthread_t writers[WRITERS];
};

static struct threadtest T;

/* Frame: writer (1 byte), sequence (4), length (2), then length bytes of (writer + seq + i). */
static size_t
frame_len(int w, int seq) {
	return 1 + (seq * 7919 + w * 31) % 2000;
}

static void *
writer_main(void *arg) {
	int w = (int)(intptr_t)arg;
	struct threadtest *t = &T;
	uint8_t raw[8 + 2048];
	for (int seq = 0; seq < FRAMES; seq++) {
		size_t len = frame_len(w, seq);
		int borrowed = seq % 3 == 0;
		uint8_t *f = borrowed ? raw : skynet_malloc(7 + len);
		f[0] = w;
		memcpy(f + 1, &seq, 4);
		f[5] = len >> 8;
		f[6] = len;
		for (size_t i = 0; i < len; i++)
			f[7 + i] = (uint8_t)(w + seq + i);
		struct socket_sendbuffer b = { t->conn, borrowed ? SOCKET_BUFFER_RAWPOINTER : SOCKET_BUFFER_MEMORY, f, 7 + len };
		int r = (w == WRITERS - 1) ? skynet_socket_sendbuffer_lowpriority(NULL, &b) : skynet_socket_sendbuffer(NULL, &b);
		if (r != 0) {
			notify(t->self, "fail writer %d frame %d refused", w, seq);
			return NULL;
		}
	}
	notify(t->self, "writer done");
	return NULL;
}

static void *
client_main(void *arg) {
	struct threadtest *t = arg;
	int fd = tcp_connect("127.0.0.1", t->port, 10000);
	if (fd < 0) {
		notify(t->self, "fail connect");
		return NULL;
	}
	int next[WRITERS] = { 0 };
	int total = 0;
	uint8_t body[2048];
	while (total < WRITERS * FRAMES) {
		uint8_t h[7];
		if (read_exact(fd, h, 7, 10000) != 7) {
			notify(t->self, "fail short header after %d frames", total);
			return NULL;
		}
		int w = h[0], seq;
		memcpy(&seq, h + 1, 4);
		size_t len = (size_t)h[5] << 8 | h[6];
		if (w >= WRITERS || seq != next[w] || len != frame_len(w, seq) || read_exact(fd, body, len, 10000) != len) {
			notify(t->self, "fail frame %d: writer %d seq %d (expected %d) len %zu", total, w, seq, w < WRITERS ? next[w] : -1, len);
			return NULL;
		}
		for (size_t i = 0; i < len; i++) {
			if (body[i] != (uint8_t)(w + seq + i)) {
				notify(t->self, "fail frame %d of writer %d corrupted", seq, w);
				return NULL;
			}
		}
		next[w]++;
		total++;
	}
	close(fd);
	notify(t->self, "client done %d", total);
	return NULL;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct threadtest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out");
	if (type == PTYPE_TEXT) {
		if (sz >= 4 && memcmp(msg, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL %.*s", (int)sz, (const char *)msg);
			skynet_command(ctx, "ABORT", NULL);
			return 0;
		}
		if (sz >= 6 && memcmp(msg, "writer", 6) == 0)
			t->writers_done++;
		else
			t->client_done = 1;
		if (t->writers_done == WRITERS && t->client_done) {
			for (int i = 0; i < WRITERS; i++)
				pthread_join(t->writers[i], NULL);
			pthread_join(t->client, NULL);
			test_pass(ctx);
		}
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	switch (e->type) {
	case SKYNET_SOCKET_TYPE_CONNECT:
		if (listener_ready(ctx, e, t->listen_id, &t->port)) {
			CHECK(ctx, pthread_create(&t->client, NULL, client_main, t) == 0);
		} else if (e->id == t->conn) {
			for (int i = 0; i < WRITERS; i++)
				CHECK(ctx, pthread_create(&t->writers[i], NULL, writer_main, (void *)(intptr_t)i) == 0);
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT:
		t->conn = e->ud;
		skynet_socket_start(ctx, t->conn);
		break;
	case SKYNET_SOCKET_TYPE_WARNING:
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
		skynet_socket_close(ctx, e->id);
		break;
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d", e->type);
		skynet_command(ctx, "ABORT", NULL);
	}
	return 0;
}

int
socket_threads_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct threadtest *t = &T;
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	t->conn = -1;
	CHECK_INIT(ctx, socket_test_setup(ctx, t, cb, 6000, 8, &t->deadline, &t->listen_id) == 0);
	return 0;
}
