/* 1,000 concurrent connections: a client thread opens them all at once, each sends its own
 * message and must get exactly it back; then all close, and the server sees 1,000 ACCEPTs
 * and 1,000 CLOSEs with no event for an id it does not know. */
#include "socket_test.h"

#include <sys/resource.h>

#define CONNS 1000
#define MSG 24

struct many {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int accepted;
	int closed;
	int client_done;
	uint8_t open[1 << 16];
	pthread_t client;
};

static void
message_for(int i, char *out) {
	snprintf(out, MSG + 1, "conn %04d says hello....", i);
}

static void *
client_main(void *arg) {
	struct many *m = arg;
	static int fds[CONNS];
	static char got[CONNS][MSG];
	static int have[CONNS];
	struct pollfd *p = calloc(CONNS, sizeof(*p));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(m->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < CONNS; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)) {
			notify(m->self, "fail connect %d: %s", i, strerror(errno));
			return NULL;
		}
	}
	/* Every socket sends once it is connected, then waits for its echo. */
	int sent = 0, done = 0;
	int64_t deadline = now_ms() + 30000;
	int wrote[CONNS];
	memset(wrote, 0, sizeof(wrote));
	while (done < CONNS) {
		for (int i = 0; i < CONNS; i++) {
			p[i].fd = fds[i];
			p[i].events = wrote[i] ? POLLIN : POLLOUT;
			if (have[i] == MSG)
				p[i].fd = -1;
		}
		if (poll(p, CONNS, 5000) <= 0 || now_ms() > deadline) {
			notify(m->self, "fail stalled: %d sent, %d echoed", sent, done);
			return NULL;
		}
		for (int i = 0; i < CONNS; i++) {
			if (!p[i].revents)
				continue;
			if (!wrote[i]) {
				char msg[MSG + 1];
				message_for(i, msg);
				if (write(fds[i], msg, MSG) != MSG) {
					notify(m->self, "fail write %d: %s", i, strerror(errno));
					return NULL;
				}
				wrote[i] = 1;
				sent++;
				continue;
			}
			ssize_t r = read(fds[i], got[i] + have[i], MSG - have[i]);
			if (r <= 0) {
				notify(m->self, "fail read %d: %s", i, r == 0 ? "eof" : strerror(errno));
				return NULL;
			}
			have[i] += r;
			if (have[i] == MSG) {
				char msg[MSG + 1];
				message_for(i, msg);
				if (memcmp(msg, got[i], MSG) != 0) {
					notify(m->self, "fail connection %d got another's echo", i);
					return NULL;
				}
				done++;
			}
		}
	}
	for (int i = 0; i < CONNS; i++)
		close(fds[i]);
	free(p);
	notify(m->self, "done %d", done);
	return NULL;
}

static void
maybe_pass(struct many *m) {
	if (m->client_done && m->closed == CONNS) {
		pthread_join(m->client, NULL);
		test_pass(m->ctx);
	}
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct many *m = ud;
	ON_DEADLINE(ctx, type, session, m->deadline, "timed out: %d accepted, %d closed", m->accepted, m->closed);
	if (type == PTYPE_TEXT) {
		if (sz >= 4 && memcmp(msg, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL client: %.*s", (int)sz, (const char *)msg);
			skynet_command(ctx, "ABORT", NULL);
			return 0;
		}
		m->client_done = 1;
		maybe_pass(m);
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	switch (e->type) {
	case SKYNET_SOCKET_TYPE_CONNECT:
		if (listener_ready(ctx, e, m->listen_id, &m->port)) {
			CHECK(ctx, pthread_create(&m->client, NULL, client_main, m) == 0);
		} else if (e->id != m->listen_id) {
			CHECK(ctx, m->open[e->id & 0xffff] == 1);
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT:
		CHECK(ctx, e->id == m->listen_id && e->ud >= 0);
		CHECK(ctx, m->open[e->ud & 0xffff] == 0);
		m->open[e->ud & 0xffff] = 1;
		m->accepted++;
		skynet_socket_start(ctx, e->ud);
		break;
	case SKYNET_SOCKET_TYPE_DATA:
		CHECK(ctx, m->open[e->id & 0xffff] == 1);
		CHECK(ctx, skynet_socket_send(ctx, e->id, e->buffer, e->ud) == 0);
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
		CHECK(ctx, m->open[e->id & 0xffff] == 1);
		m->open[e->id & 0xffff] = 2;
		m->closed++;
		skynet_socket_close(ctx, e->id);
		maybe_pass(m);
		break;
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d on %d", e->type, e->id);
		skynet_command(ctx, "ABORT", NULL);
	}
	return 0;
}

static struct many M;

int
socket_many_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct many *m = &M;
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2 * CONNS + 64 && rl.rlim_max >= 2 * CONNS + 64) {
		rl.rlim_cur = 2 * CONNS + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	m->ctx = ctx;
	m->self = skynet_context_handle(ctx);
	CHECK_INIT(ctx, socket_test_setup(ctx, m, cb, 6000, CONNS, &m->deadline, &m->listen_id) == 0);
	return 0;
}
