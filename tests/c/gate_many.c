/* 10,000 connections to a gate that takes at most 100 at a time. First 120 stay open: the
 * gate serves 100 and refuses (closes) the other 20, with a log line. Then 9,880 more
 * connect and send a frame, 100 at a time; the watchdog kicks each once its frame arrives
 * (and the gate refuses those over its maximum). Every connection the gate reported open
 * is reported closed, and a last client is served normally. */
#include "socket_test.h"

#define MAX_CONN 100
#define FIRST 120
#define TOTAL 10000
#define WAVE 100
#define MOST (FIRST > WAVE ? FIRST : WAVE)

struct manytest {
	struct skynet_context *ctx;
	uint32_t self;
	uint32_t gate;
	int deadline;
	int port;
	int opens;
	int closes;
	int pings;
	int final_id;
	int passed;
	int kicking;
	int go[2];
	pthread_t client;
};

static struct manytest T;

static const uint8_t PING[] = { 0, 4, 'p', 'i', 'n', 'g' };

/* Opens n connections and sends each a ping, then waits until the gate has closed
 * `expect` of them (end of stream or reset): refused, or kicked by the watchdog once it got
 * the ping. Returns how many it closed, or -1. */
static int
wave(struct manytest *t, int *fds, int n, int expect) {
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(t->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int state[MOST]; /* 0 connecting, 1 sent, 2 closed by the gate */
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		state[i] = 0;
		if (fds[i] < 0 || (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS))
			return -1;
	}
	int closed = 0;
	int64_t deadline = now_ms() + 20000;
	while (closed < expect && now_ms() < deadline) {
		struct pollfd p[MOST];
		for (int i = 0; i < n; i++) {
			p[i].fd = state[i] == 2 ? -1 : fds[i];
			p[i].events = state[i] == 0 ? POLLOUT : POLLIN;
			p[i].revents = 0;
		}
		poll(p, n, 1000);
		for (int i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (state[i] == 0) {
				state[i] = 1;
				if (write(fds[i], PING, sizeof(PING)) == sizeof(PING))
					continue;
			} else {
				char c;
				ssize_t r = read(fds[i], &c, 1);
				if (r < 0 && errno == EAGAIN)
					continue;
			}
			state[i] = 2;
			closed++;
		}
	}
	return closed;
}

static void *
client_main(void *arg) {
	struct manytest *t = arg;
	static int fds[MOST];
	/* The first 120 stay open (the watchdog does not kick yet) until the gate has refused
	 * the 20 over its maximum. */
	int refused = wave(t, fds, FIRST, FIRST - MAX_CONN);
	for (int i = 0; i < FIRST; i++)
		close(fds[i]);
	if (refused != FIRST - MAX_CONN) {
		notify(t->self, "fail %d of the first %d refused", refused, FIRST);
		return NULL;
	}
	notify(t->self, "kick from now on");
	for (int done = FIRST; done < TOTAL; done += WAVE) {
		int n = TOTAL - done < WAVE ? TOTAL - done : WAVE;
		int closed = wave(t, fds, n, n);
		for (int i = 0; i < n; i++)
			close(fds[i]);
		if (closed != n) {
			notify(t->self, "fail wave at %d: %d of %d closed by the gate", done, closed, n);
			return NULL;
		}
	}
	/* The last client: served once the gate has room again. */
	int64_t deadline = now_ms() + 20000;
	while (now_ms() < deadline) {
		int fd = tcp_connect("127.0.0.1", t->port, 5000);
		const uint8_t final[] = { 0, 5, 'f', 'i', 'n', 'a', 'l' };
		if (fd < 0 || write_all(fd, final, sizeof(final), 5000) != 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		struct pollfd p[2] = { { t->go[0], POLLIN, 0 }, { fd, POLLIN, 0 } };
		poll(p, 2, 10000);
		if (p[0].revents) {
			close(fd);
			notify(t->self, "client done");
			return NULL;
		}
		close(fd); /* refused: the gate was still full */
	}
	notify(t->self, "fail last client never served");
	return NULL;
}

static void
maybe_pass(struct manytest *t) {
	if (t->final_id >= 0 && t->closes == t->opens - 1 && !t->passed) {
		t->passed = 1;
		skynet_error(t->ctx, "%d connections served, %d pings", t->opens, t->pings);
		if (write(t->go[1], "g", 1) != 1)
			skynet_error(t->ctx, "TEST FAIL go pipe");
	}
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct manytest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out: %d opens, %d closes, %d pings", t->opens, t->closes, t->pings);
	if (type != PTYPE_TEXT)
		return 0;
	/* Reports are not NUL-terminated: work on a terminated copy. */
	char text[256];
	if (sz >= sizeof(text))
		sz = sizeof(text) - 1;
	memcpy(text, msg, sz);
	text[sz] = '\0';
	if (source != t->gate) {
		if (sz >= 4 && memcmp(text, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL %.*s", (int)sz, text);
			skynet_command(ctx, "ABORT", NULL);
			return 0;
		}
		if (sz == 16 && memcmp(text, "kick from now on", 16) == 0) {
			CHECK(ctx, t->opens == MAX_CONN);
			t->kicking = 1;
			return 0;
		}
		pthread_join(t->client, NULL);
		CHECK(ctx, t->passed);
		test_pass(ctx);
		return 0;
	}
	int id, n = 0;
	if (sscanf(text, "%d open", &id) == 1 && strstr(text, " open ")) {
		t->opens++;
		char cmd[32];
		int len = snprintf(cmd, sizeof(cmd), "start %d", id);
		skynet_send(ctx, 0, t->gate, PTYPE_TEXT, 0, cmd, len);
	} else if ((n = -1, sscanf(text, "%d close%n", &id, &n)) == 1 && n == (int)sz) {
		t->closes++;
		maybe_pass(t);
	} else if ((n = -1, sscanf(text, "%d data %n", &id, &n)) == 1 && n > 0) {
		if (sz - n == 5 && memcmp(text + n, "final", 5) == 0) {
			t->final_id = id;
			maybe_pass(t);
		} else {
			CHECK(ctx, sz - n == 4 && memcmp(text + n, "ping", 4) == 0);
			t->pings++;
			if (t->kicking) {
				char cmd[32];
				int len = snprintf(cmd, sizeof(cmd), "kick %d", id);
				skynet_send(ctx, 0, t->gate, PTYPE_TEXT, 0, cmd, len);
			}
		}
	} else {
		skynet_error(ctx, "TEST FAIL unexpected report %.*s", (int)sz, text);
		skynet_command(ctx, "ABORT", NULL);
	}
	return 0;
}

int
gate_many_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct manytest *t = &T;
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	t->final_id = -1;
	CHECK_INIT(ctx, pipe(t->go) == 0);
	socket_test_setup(ctx, t, cb, 9000, 0, &t->deadline, NULL);
	for (int tries = 0; tries < 20 && !t->gate; tries++) {
		char cmd[160];
		t->port = free_port(AF_INET, SOCK_STREAM);
		snprintf(cmd, sizeof(cmd), "gate S :%x 127.0.0.1:%d 0 %d", t->self, t->port, MAX_CONN);
		const char *h = skynet_command(ctx, "LAUNCH", cmd);
		if (h)
			t->gate = strtoul(h + 1, NULL, 16);
	}
	CHECK_INIT(ctx, t->gate);
	CHECK_INIT(ctx, pthread_create(&t->client, NULL, client_main, t) == 0);
	return 0;
}
