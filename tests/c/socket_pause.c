/* pause/start back-pressure: a client writes 48 MiB as fast as it can; the server pauses
 * the connection three times. While paused the server reads nothing (its read counter
 * stands still), the client ends up blocked, and after start everything arrives in order. */
#include "socket_test.h"

#define TOTAL (48u << 20)
#define CHUNK (128 << 10)
#define SEED 0xbac4u
#define CYCLES 3
#define PAUSE_EVERY (8u << 20)

struct pausetest {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int conn;
	int paused;
	int cycles;
	uint64_t received;
	uint64_t next_pause;
	uint64_t read_at_pause;
	int client_done;
	int closed;
	pthread_t client;
};

static void *
client_main(void *arg) {
	struct pausetest *t = arg;
	int fd = tcp_connect("127.0.0.1", t->port, 10000);
	if (fd < 0) {
		notify(t->self, "fail connect");
		return NULL;
	}
	uint8_t *buf = malloc(CHUNK);
	uint64_t sent = 0;
	int blocked_reported = 0;
	int64_t deadline = now_ms() + 60000;
	while (sent < TOTAL) {
		size_t n = TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK;
		fill_pattern(buf, n, sent, SEED);
		ssize_t w = write(fd, buf, n);
		if (w > 0) {
			sent += w;
			blocked_reported = 0;
			continue;
		}
		if (w < 0 && errno != EAGAIN) {
			notify(t->self, "fail write: %s", strerror(errno));
			break;
		}
		/* Blocked: if no room comes for a while, the server has stopped reading. */
		struct pollfd p = { fd, POLLOUT, 0 };
		if (poll(&p, 1, blocked_reported ? 2000 : 300) == 0) {
			if (now_ms() > deadline) {
				notify(t->self, "fail stalled at %llu", (unsigned long long)sent);
				break;
			}
			/* Said again while it lasts, in case the server was not paused yet. */
			blocked_reported = 1;
			notify(t->self, "blocked %llu", (unsigned long long)sent);
		}
	}
	if (sent == TOTAL) {
		/* All written (the rest may sit in kernel buffers while the server is paused):
		 * half-close, and say so again while the end does not come back. */
		shutdown(fd, SHUT_WR);
		int r;
		while ((r = wait_eof(fd, 300)) == -1 && errno == ETIMEDOUT && now_ms() < deadline)
			notify(t->self, "blocked %llu", (unsigned long long)sent);
		if (r != 1)
			notify(t->self, "fail no eof");
		else
			notify(t->self, "done %llu", (unsigned long long)sent);
	}
	free(buf);
	close(fd);
	return NULL;
}

static uint64_t
read_counter(struct pausetest *t, int *reading) {
	uint64_t r = (uint64_t)-1;
	struct socket_info *list = skynet_socket_info();
	for (struct socket_info *si = list; si; si = si->next) {
		if (si->id == t->conn) {
			r = si->read;
			*reading = si->reading;
		}
	}
	socket_info_release(list);
	return r;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct pausetest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out (received %llu, %d cycles)", (unsigned long long)t->received, t->cycles);
	if (type == PTYPE_TEXT) {
		char text[256];
		snprintf(text, sizeof(text), "%.*s", (int)sz, (const char *)msg);
		if (strncmp(text, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL client: %s", text);
			skynet_command(ctx, "ABORT", NULL);
		} else if (strncmp(text, "blocked ", 8) == 0) {
			if (!t->paused)
				return 0; /* a short stall while reading: not ours */
			uint64_t sent = strtoull(text + 8, NULL, 10);
			int reading = -1;
			uint64_t now_read = read_counter(t, &reading);
			skynet_error(ctx, "cycle %d: client blocked after %llu bytes, server read %llu", t->cycles + 1,
				(unsigned long long)sent, (unsigned long long)now_read);
			/* Nothing was read since the pause, and the client is held back. */
			CHECK(ctx, now_read == t->read_at_pause && reading == 0);
			CHECK(ctx, now_read < sent || sent == TOTAL);
			t->paused = 0;
			t->cycles++;
			skynet_socket_start(ctx, t->conn);
		} else if (strncmp(text, "done", 4) == 0) {
			t->client_done = 1;
			pthread_join(t->client, NULL);
			CHECK(ctx, t->received == TOTAL && t->cycles == CYCLES && t->closed);
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
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT:
		t->conn = e->ud;
		skynet_socket_start(ctx, t->conn);
		break;
	case SKYNET_SOCKET_TYPE_DATA: {
		int64_t bad = check_pattern((const uint8_t *)e->buffer, e->ud, t->received, SEED);
		skynet_free(e->buffer);
		CHECK(ctx, bad < 0);
		t->received += e->ud;
		if (!t->paused && t->cycles < CYCLES && t->received >= t->next_pause) {
			skynet_socket_pause(ctx, t->conn);
			int reading = -1;
			t->read_at_pause = read_counter(t, &reading);
			CHECK(ctx, reading == 0);
			t->paused = 1;
			t->next_pause = t->received + PAUSE_EVERY;
		}
		break;
	}
	case SKYNET_SOCKET_TYPE_CLOSE:
		CHECK(ctx, t->received == TOTAL);
		t->closed = 1;
		skynet_socket_close(ctx, t->conn);
		break;
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d", e->type);
		skynet_command(ctx, "ABORT", NULL);
	}
	return 0;
}

static struct pausetest T;

int
socket_pause_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct pausetest *t = &T;
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	t->conn = -1;
	t->next_pause = 1;
	CHECK_INIT(ctx, socket_test_setup(ctx, t, cb, 9000, 8, &t->deadline, &t->listen_id) == 0);
	return 0;
}
