/* Running out of file descriptors. The test lowers RLIMIT_NOFILE to leave 8 free, then 64
 * clients (their sockets made beforehand) connect at once. The server accepts what it can
 * (those echo), reports "Too many open files" as an ERROR on the listener, logs it, and
 * closes the connections it cannot take instead of leaving them hanging. connect and listen
 * fail cleanly meanwhile. With the limit restored, a new client is served again. */
#include "socket_test.h"

#include <sys/resource.h>

#define CLIENTS 64
#define HEADROOM 8

struct fdtest {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int go[2];
	struct rlimit saved;
	int accepted[CLIENTS + 8];
	int naccepted;
	int listen_errors;
	int connect_id;
	int connect_failed;
	pthread_t client;
};

static struct fdtest T;

static int
wait_go(struct fdtest *t) {
	char c;
	struct pollfd p = { t->go[0], POLLIN, 0 };
	return poll(&p, 1, 20000) == 1 && read(t->go[0], &c, 1) == 1;
}

static void *
client_main(void *arg) {
	struct fdtest *t = arg;
	int fds[CLIENTS];
	int state[CLIENTS]; /* 0 connecting, 1 sent, 2 echoed, 3 dropped */
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		state[i] = 0;
	}
	notify(t->self, "ready");
	if (!wait_go(t)) {
		notify(t->self, "fail no go");
		return NULL;
	}
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(t->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < CLIENTS; i++) {
		if (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
			state[i] = 3;
	}
	int resolved = 0, echoed = 0;
	int64_t deadline = now_ms() + 20000;
	while (resolved < CLIENTS && now_ms() < deadline) {
		struct pollfd p[CLIENTS];
		for (int i = 0; i < CLIENTS; i++) {
			p[i].fd = state[i] >= 2 ? -1 : fds[i];
			p[i].events = state[i] == 0 ? POLLOUT : POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, CLIENTS, 1000) < 0)
			break;
		for (int i = 0; i < CLIENTS; i++) {
			if (!p[i].revents)
				continue;
			if (state[i] == 0) {
				state[i] = write(fds[i], "hi", 2) == 2 ? 1 : 3;
			} else {
				char buf[4];
				ssize_t r = read(fds[i], buf, sizeof(buf));
				if (r == 2 && memcmp(buf, "hi", 2) == 0) {
					state[i] = 2;
					echoed++;
				} else if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
					state[i] = 3;
				}
			}
			if (state[i] >= 2)
				resolved++;
		}
	}
	for (int i = 0; i < CLIENTS; i++)
		close(fds[i]);
	notify(t->self, "phase1 %d %d", echoed, resolved - echoed);
	if (!wait_go(t)) {
		notify(t->self, "fail no second go");
		return NULL;
	}
	int fd = tcp_connect("127.0.0.1", t->port, 10000);
	char buf[5];
	if (fd < 0 || write_all(fd, "again", 5, 5000) != 0 || read_exact(fd, buf, 5, 10000) != 5 || memcmp(buf, "again", 5) != 0) {
		notify(t->self, "fail not served after the limit was restored");
		return NULL;
	}
	close(fd);
	notify(t->self, "recovered");
	return NULL;
}

/* Descriptors that fill the holes below the highest one in use, so that exactly HEADROOM
 * stay free under the lowered limit. */
static int fillers[4096];
static int nfillers;

static void
lower_limit(struct fdtest *t) {
	getrlimit(RLIMIT_NOFILE, &t->saved);
	int top = 0;
	for (int fd = 0; fd < (int)t->saved.rlim_cur && fd < 65536; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			top = fd;
	for (int fd = 0; fd < top && nfillers < 4096; fd++)
		if (fcntl(fd, F_GETFD) == -1)
			fillers[nfillers++] = dup2(t->go[0], fd);
	struct rlimit low = t->saved;
	low.rlim_cur = top + 1 + HEADROOM;
	setrlimit(RLIMIT_NOFILE, &low);
	skynet_error(t->ctx, "descriptor limit lowered to %d (%d holes filled)", (int)low.rlim_cur, nfillers);
}

static void
restore_limit(struct fdtest *t) {
	setrlimit(RLIMIT_NOFILE, &t->saved);
	for (int i = 0; i < nfillers; i++)
		close(fillers[i]);
	nfillers = 0;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct fdtest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out");
	if (type == PTYPE_TEXT) {
		char text[128];
		snprintf(text, sizeof(text), "%.*s", (int)sz, (const char *)msg);
		int echoed, dropped;
		if (strncmp(text, "fail", 4) == 0 || strncmp(text, "phase1", 6) == 0)
			restore_limit(t);
		if (strncmp(text, "fail", 4) == 0) {
			restore_limit(t);
			skynet_error(ctx, "TEST FAIL client: %s", text);
			skynet_command(ctx, "ABORT", NULL);
		} else if (strcmp(text, "ready") == 0) {
			lower_limit(t);
			/* With the headroom taken too, connect, listen and udp fail cleanly. */
			int extra[HEADROOM + 1], n = 0;
			while (n <= HEADROOM && (extra[n] = dup(t->go[0])) >= 0)
				n++;
			CHECK(ctx, n == HEADROOM);
			t->connect_id = skynet_socket_connect(ctx, "127.0.0.1", t->port);
			CHECK(ctx, t->connect_id >= 0);
			CHECK(ctx, skynet_socket_listen(ctx, "127.0.0.1", 0, 8) == -1);
			CHECK(ctx, skynet_socket_udp(ctx, NULL, 0) == -1);
			while (n > 0)
				close(extra[--n]);
			CHECK(ctx, write(t->go[1], "g", 1) == 1);
		} else if (sscanf(text, "phase1 %d %d", &echoed, &dropped) == 2) {
			skynet_error(ctx, "%d clients served, %d refused; %d listener errors", echoed, dropped, t->listen_errors);
			CHECK(ctx, echoed >= 1 && echoed <= HEADROOM && dropped >= CLIENTS - HEADROOM && echoed + dropped == CLIENTS);
			restore_limit(t);
			CHECK(ctx, t->listen_errors >= 1 && t->connect_failed);
			for (int i = 0; i < t->naccepted; i++)
				skynet_socket_close(ctx, t->accepted[i]);
			CHECK(ctx, write(t->go[1], "g", 1) == 1);
		} else if (strcmp(text, "recovered") == 0) {
			pthread_join(t->client, NULL);
			test_pass(ctx);
		}
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	char text[128];
	switch (e->type) {
	case SKYNET_SOCKET_TYPE_CONNECT:
		if (listener_ready(ctx, e, t->listen_id, &t->port)) {
			CHECK(ctx, pthread_create(&t->client, NULL, client_main, t) == 0);
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT:
		CHECK(ctx, t->naccepted < CLIENTS + 8);
		t->accepted[t->naccepted++] = e->ud;
		skynet_socket_start(ctx, e->ud);
		break;
	case SKYNET_SOCKET_TYPE_DATA:
		CHECK(ctx, skynet_socket_send(ctx, e->id, e->buffer, e->ud) == 0);
		break;
	case SKYNET_SOCKET_TYPE_ERROR:
		evt_text(e, sz, text, sizeof(text));
		if (e->id == t->listen_id) {
			CHECK(ctx, strcmp(text, "Too many open files") == 0);
			t->listen_errors++;
		} else {
			CHECK(ctx, e->id == t->connect_id && strcmp(text, "Too many open files") == 0);
			t->connect_failed = 1;
		}
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
		skynet_socket_close(ctx, e->id);
		break;
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d on %d", e->type, e->id);
		skynet_command(ctx, "ABORT", NULL);
	}
	return 0;
}

int
socket_fdlimit_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct fdtest *t = &T;
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	t->connect_id = -2;
	CHECK_INIT(ctx, pipe(t->go) == 0);
	CHECK_INIT(ctx, socket_test_setup(ctx, t, cb, 6000, CLIENTS * 2, &t->deadline, &t->listen_id) == 0);
	return 0;
}
