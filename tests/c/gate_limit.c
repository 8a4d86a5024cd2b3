/* The gate under bad peers (4-byte lengths, 64 KiB frame limit, 8 MiB/s flood limit), with
 * a well-behaved connection that must keep working throughout:
 *  bad:   a 65 KiB frame: logged, that connection closed ("<id> close");
 *  good:  a frame of exactly 64 KiB arrives whole;
 *  half:  a peer leaving in the middle of a frame: logged, "<id> close";
 *  flood: 24 MiB, far over 8 MiB/s: logged and paused for a second at a time, while the
 *         good connection is still served; in the end every flood frame arrives. */
#include "socket_test.h"

#define LIMIT 65536
#define FLOOD_LIMIT (8 << 20)
#define FLOOD_FRAME 65520
#define CHUNK_FRAMES 16 /* about 1 MiB */
#define CHUNKS 24
#define FLOOD_TOTAL ((uint64_t)CHUNKS * CHUNK_FRAMES * FLOOD_FRAME)

enum { GOOD, BAD, HALF, FLOOD, ROLES };

struct limittest {
	struct skynet_context *ctx;
	uint32_t self;
	uint32_t gate;
	int deadline;
	int port;
	int ids[ROLES];
	int opened;
	int closed[ROLES];
	int good_frames;
	uint64_t flood_bytes;
	int flood_frames;
	int client_done;
	int go[2];
	pthread_t client;
};

static struct limittest T;

static void
go(struct limittest *t) {
	if (write(t->go[1], "g", 1) != 1)
		skynet_error(t->ctx, "TEST FAIL go pipe");
}

static int
wait_go(struct limittest *t) {
	char c;
	struct pollfd p = { t->go[0], POLLIN, 0 };
	return poll(&p, 1, 30000) == 1 && read(t->go[0], &c, 1) == 1;
}

static void
header(uint8_t *h, uint32_t n) {
	h[0] = n >> 24;
	h[1] = n >> 16;
	h[2] = n >> 8;
	h[3] = n;
}

static int
send_frame(int fd, const uint8_t *body, uint32_t n) {
	uint8_t h[4];
	header(h, n);
	return write_all(fd, h, 4, 5000) == 0 && write_all(fd, body, n, 5000) == 0 ? 0 : -1;
}

static void *
client_main(void *arg) {
	struct limittest *t = arg;
	int fd[ROLES];
	for (int i = 0; i < ROLES; i++) {
		fd[i] = tcp_connect("127.0.0.1", t->port, 10000);
		if (fd[i] < 0 || !wait_go(t)) {
			notify(t->self, "fail connect %d", i);
			return NULL;
		}
	}
	static uint8_t body[LIMIT + 1024];
	fill_pattern(body, sizeof(body), 0, 77);
	/* bad: one KiB over the limit. */
	if (send_frame(fd[BAD], body, LIMIT + 1024) != 0 && errno != ECONNRESET && errno != EPIPE) {
		notify(t->self, "fail bad send: %s", strerror(errno));
		return NULL;
	}
	if (wait_eof(fd[BAD], 10000) < 0 || !wait_go(t)) {
		notify(t->self, "fail bad connection not closed");
		return NULL;
	}
	/* good: exactly at the limit. */
	if (send_frame(fd[GOOD], body, LIMIT) != 0 || !wait_go(t)) {
		notify(t->self, "fail good frame");
		return NULL;
	}
	/* half: a 1000-byte frame cut after 500 bytes. */
	uint8_t h[4];
	header(h, 1000);
	if (write_all(fd[HALF], h, 4, 5000) != 0 || write_all(fd[HALF], body, 500, 5000) != 0) {
		notify(t->self, "fail half send");
		return NULL;
	}
	close(fd[HALF]);
	if (!wait_go(t)) {
		notify(t->self, "fail half close not reported");
		return NULL;
	}
	/* flood: 1 MiB at a time, each acknowledged by the watchdog (so the client is never far
	 * ahead of the gate). Once the gate pauses the connection the acknowledgement is late:
	 * the good connection must be served meanwhile. */
	int checked_good = 0;
	uint8_t *frame = malloc(4 + FLOOD_FRAME);
	header(frame, FLOOD_FRAME);
	memset(frame + 4, 'f', FLOOD_FRAME);
	for (int chunk = 0; chunk < CHUNKS; chunk++) {
		for (int i = 0; i < CHUNK_FRAMES; i++) {
			if (write_all(fd[FLOOD], frame, 4 + FLOOD_FRAME, 10000) != 0) {
				notify(t->self, "fail flood write: %s", strerror(errno));
				return NULL;
			}
		}
		char c;
		struct pollfd p = { t->go[0], POLLIN, 0 };
		if (poll(&p, 1, 300) == 0 && !checked_good) {
			checked_good = 1;
			if (send_frame(fd[GOOD], (const uint8_t *)"still-served", 12) != 0 || !wait_go(t)) {
				notify(t->self, "fail good connection not served during the flood");
				return NULL;
			}
		}
		if (!wait_go(t)) {
			notify(t->self, "fail flood chunk %d not delivered", chunk);
			return NULL;
		}
		(void)c;
	}
	free(frame);
	notify(t->self, "flood sent %d", checked_good);
	wait_go(t);
	close(fd[GOOD]);
	close(fd[FLOOD]);
	return NULL;
}

static int
role_of(struct limittest *t, int id) {
	for (int i = 0; i < ROLES; i++)
		if (t->ids[i] == id)
			return i;
	return -1;
}

static void
maybe_pass(struct limittest *t) {
	if (t->client_done && t->flood_bytes == FLOOD_TOTAL) {
		go(t);
		pthread_join(t->client, NULL);
		if (!t->closed[BAD] || !t->closed[HALF] || t->good_frames != 2) {
			skynet_error(t->ctx, "TEST FAIL bad %d half %d good frames %d", t->closed[BAD], t->closed[HALF], t->good_frames);
			skynet_command(t->ctx, "ABORT", NULL);
			return;
		}
		test_pass(t->ctx);
	}
}

static int handle_text(struct limittest *t, uint32_t source, int session, const char *text, size_t sz);

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct limittest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out (flood %llu bytes)", (unsigned long long)t->flood_bytes);
	if (type != PTYPE_TEXT)
		return 0;
	/* Reports are not NUL-terminated: work on a terminated copy (frames are binary, the
	 * length comes from sz). */
	char *text = skynet_malloc(sz + 1);
	memcpy(text, msg, sz);
	text[sz] = '\0';
	handle_text(t, source, session, text, sz);
	skynet_free(text);
	return 0;
}

static int
handle_text(struct limittest *t, uint32_t source, int session, const char *text, size_t sz) {
	struct skynet_context *ctx = t->ctx;
	if (source != t->gate) {
		if (sz >= 4 && memcmp(text, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL %.*s", (int)sz, text);
			skynet_command(ctx, "ABORT", NULL);
			return 0;
		}
		skynet_error(ctx, "client: %.*s", (int)sz, text);
		CHECK(ctx, sz == 12 && memcmp(text, "flood sent 1", 12) == 0);
		t->client_done = 1;
		maybe_pass(t);
		return 0;
	}
	int id, n;
	char tail[16];
	if (sscanf(text, "%d open %*d %15s", &id, tail) == 2 && t->opened < ROLES) {
		t->ids[t->opened++] = id;
		char cmd[32];
		int len = snprintf(cmd, sizeof(cmd), "start %d", id);
		skynet_send(ctx, 0, t->gate, PTYPE_TEXT, 0, cmd, len);
		go(t);
	} else if ((n = -1, sscanf(text, "%d close%n", &id, &n)) == 1 && n == (int)sz) {
		int role = role_of(t, id);
		CHECK(ctx, role == BAD || role == HALF || (t->client_done && role >= 0));
		t->closed[role]++;
		if (role == BAD || role == HALF)
			go(t);
	} else if ((n = -1, sscanf(text, "%d data %n", &id, &n)) == 1 && n > 0) {
		int role = role_of(t, id);
		const uint8_t *body = (const uint8_t *)text + n;
		size_t len = sz - n;
		CHECK(ctx, session == id);
		if (role == GOOD) {
			if (t->good_frames == 0) {
				CHECK(ctx, len == LIMIT && check_pattern(body, len, 0, 77) < 0);
			} else {
				/* While the flood is held back. */
				CHECK(ctx, len == 12 && memcmp(body, "still-served", 12) == 0 && t->flood_bytes < FLOOD_TOTAL);
			}
			t->good_frames++;
			go(t);
		} else {
			CHECK(ctx, role == FLOOD && len == FLOOD_FRAME);
			t->flood_bytes += len;
			if (++t->flood_frames % CHUNK_FRAMES == 0)
				go(t);
			maybe_pass(t);
		}
	} else {
		skynet_error(ctx, "TEST FAIL unexpected report %.*s", (int)sz, text);
		skynet_command(ctx, "ABORT", NULL);
	}
	return 0;
}

int
gate_limit_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct limittest *t = &T;
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	for (int i = 0; i < ROLES; i++)
		t->ids[i] = -1;
	CHECK_INIT(ctx, pipe(t->go) == 0);
	socket_test_setup(ctx, t, cb, 6000, 0, &t->deadline, NULL);
	for (int tries = 0; tries < 20 && !t->gate; tries++) {
		char cmd[160];
		t->port = free_port(AF_INET, SOCK_STREAM);
		snprintf(cmd, sizeof(cmd), "gate L :%x 127.0.0.1:%d 0 16 maxframe=%d flood=%d", t->self, t->port, LIMIT, FLOOD_LIMIT);
		const char *h = skynet_command(ctx, "LAUNCH", cmd);
		if (h)
			t->gate = strtoul(h + 1, NULL, 16);
	}
	CHECK_INIT(ctx, t->gate);
	CHECK_INIT(ctx, pthread_create(&t->client, NULL, client_main, t) == 0);
	return 0;
}
