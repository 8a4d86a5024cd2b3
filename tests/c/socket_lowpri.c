/* Low-priority sends: while data is pending, a low-priority buffer waits behind every
 * high-priority one, and no buffer is ever split by another. Phase 1 queues (client not
 * reading) low A (partly written at once, so it finishes first), low B, high C, low D,
 * high E and expects the stream A C E B D. Phase 2 interleaves 400 high and low sends of
 * assorted sizes, some from RAWPOINTER buffers, faster than the client reads: every frame
 * must arrive whole, each priority in its own order. */
#include "socket_test.h"

#define PHASE2 400

struct lowpri {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int conn;
	int go[2];
	pthread_t client;
};

/* A frame: tag byte, 4-byte big-endian length, then `len` bytes that all equal the tag. */
static void
send_frame(struct lowpri *t, char tag, uint32_t len, int low, int raw) {
	uint8_t *f = skynet_malloc(5 + len);
	f[0] = tag;
	f[1] = len >> 24;
	f[2] = len >> 16;
	f[3] = len >> 8;
	f[4] = len;
	memset(f + 5, tag, len);
	struct socket_sendbuffer b = { t->conn, raw ? SOCKET_BUFFER_RAWPOINTER : SOCKET_BUFFER_MEMORY, f, 5 + len };
	int r = low ? skynet_socket_sendbuffer_lowpriority(t->ctx, &b) : skynet_socket_sendbuffer(t->ctx, &b);
	if (raw)
		skynet_free(f); /* borrowed only for the call */
	if (r != 0)
		skynet_error(t->ctx, "TEST FAIL send of frame %c refused", tag);
}

/* Reads one frame; returns its tag, 0 at the end, -1 if it is not one whole frame. */
static int
read_frame(int fd, uint32_t *lenp) {
	uint8_t h[5];
	size_t n = read_exact(fd, h, 5, 10000);
	if (n == 0 && errno == 0)
		return 0;
	if (n != 5)
		return -1;
	uint32_t len = (uint32_t)h[1] << 24 | h[2] << 16 | h[3] << 8 | h[4];
	static uint8_t body[8 << 20];
	if (len > sizeof(body) || read_exact(fd, body, len, 10000) != len)
		return -1;
	for (uint32_t i = 0; i < len; i++)
		if (body[i] != h[0])
			return -1;
	*lenp = len;
	return h[0];
}

static void *
client_main(void *arg) {
	struct lowpri *t = arg;
	int fd = connect_then_wait(t->self, t->port, t->go[0]);
	if (fd < 0)
		return NULL;
	char order[8] = "";
	for (int i = 0; i < 5; i++) {
		uint32_t len;
		int tag = read_frame(fd, &len);
		if (tag <= 0) {
			notify(t->self, "fail phase 1 frame %d broken", i);
			return NULL;
		}
		order[i] = tag;
	}
	if (strcmp(order, "ACEBD") != 0) {
		notify(t->self, "fail phase 1 order %s", order);
		return NULL;
	}
	notify(t->self, "phase2");
	/* Phase 2: 'h' frames carry their index in their length, 'l' frames too. */
	int high = 0, low = 0, overtaken = 0;
	while (high + low < PHASE2) {
		uint32_t len;
		int tag = read_frame(fd, &len);
		if (tag == 'h') {
			if ((int)(len % 1000) != high * 2) {
				notify(t->self, "fail high frame %d out of order (len %u)", high, len);
				return NULL;
			}
			if (high * 2 > low * 2 + 1)
				overtaken++;
			high++;
		} else if (tag == 'l') {
			if ((int)(len % 1000) != low * 2 + 1) {
				notify(t->self, "fail low frame %d out of order (len %u)", low, len);
				return NULL;
			}
			low++;
		} else {
			notify(t->self, "fail phase 2 frame %d broken", high + low);
			return NULL;
		}
	}
	close(fd);
	notify(t->self, "done %d high frames overtook low ones", overtaken);
	return NULL;
}

static void
phase2(struct lowpri *t) {
	/* Sizes mix small and large (some larger than the kernel takes at once); the length
	 * modulo 1000 is the frame's sequence number. */
	for (int i = 0; i < PHASE2; i++) {
		int low = i & 1;
		uint32_t big = (i % 7 == 0) ? 1000000 : (i % 3 == 0 ? 64000 : 1000);
		send_frame(t, low ? 'l' : 'h', big + i, low, i % 5 == 0);
	}
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct lowpri *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out");
	if (type == PTYPE_TEXT) {
		char text[256];
		snprintf(text, sizeof(text), "%.*s", (int)sz, (const char *)msg);
		if (strncmp(text, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL client: %s", text);
			skynet_command(ctx, "ABORT", NULL);
		} else if (strcmp(text, "phase2") == 0) {
			phase2(t);
		} else {
			skynet_error(ctx, "%s", text);
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
			send_frame(t, 'A', 6 << 20, 1, 0); /* written in part at once: the rest goes first */
			send_frame(t, 'B', 2 << 20, 1, 1);
			send_frame(t, 'C', 100 << 10, 0, 0);
			send_frame(t, 'D', 1 << 20, 1, 0);
			send_frame(t, 'E', 10, 0, 1);
			CHECK(ctx, write(t->go[1], "g", 1) == 1);
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

static struct lowpri T;

int
socket_lowpri_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct lowpri *t = &T;
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	t->conn = -1;
	CHECK_INIT(ctx, pipe(t->go) == 0);
	CHECK_INIT(ctx, socket_test_setup(ctx, t, cb, 9000, 8, &t->deadline, &t->listen_id) == 0);
	return 0;
}
