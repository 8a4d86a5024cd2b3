/* TCP echo of 100 MiB through the socket server, compared byte for byte by the client.
 * Also: the listen and start CONNECT events, ACCEPT with the peer address (the new socket
 * not read before start, though the client writes at once), DATA read sizes
 * that grow under bulk traffic and shrink back for small messages, socket info counters,
 * and the half-close of the client reported as CLOSE. */
#include "socket_test.h"

#include <malloc.h>

#define TOTAL (100u << 20)
#define CHUNK (256 << 10)
#define PINGS 24
#define SEED 0x5eed1234u

struct echo {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int conn;
	int conn_started;
	int started;
	uint64_t received;
	size_t first_read;
	size_t max_capacity;
	size_t last_capacity;
	int pings;
	int closed;
	int echoed;
	pthread_t client;
	int client_running;
	int go[2];
};

static void *
client_main(void *arg) {
	struct echo *e = arg;
	int fd = tcp_connect("127.0.0.1", e->port, 10000);
	if (fd < 0) {
		notify(e->self, "fail connect: %s", strerror(errno));
		return NULL;
	}
	uint8_t *out = malloc(CHUNK), *in = malloc(CHUNK);
	uint64_t sent = 0, got = 0;
	const char *fail = NULL;
	int64_t deadline = now_ms() + 60000;
	while (got < TOTAL && !fail) {
		struct pollfd p = { fd, POLLIN | (sent < TOTAL ? POLLOUT : 0), 0 };
		if (poll(&p, 1, 5000) <= 0 || now_ms() > deadline) {
			fail = "stalled";
			break;
		}
		if (sent < TOTAL && (p.revents & POLLOUT)) {
			size_t n = TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK;
			fill_pattern(out, n, sent, SEED);
			ssize_t w = write(fd, out, n);
			if (w > 0)
				sent += w;
			else if (w < 0 && errno != EAGAIN)
				fail = "write failed";
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, in, CHUNK);
			if (r > 0) {
				int64_t bad = check_pattern(in, r, got, SEED);
				if (bad >= 0) {
					notify(e->self, "fail byte %llu differs", (unsigned long long)(got + bad));
					fail = "";
				}
				got += r;
			} else if (r == 0 || errno != EAGAIN) {
				fail = "connection lost";
			}
		}
	}
	if (!fail) {
		/* Small messages one at a time: the server's read size comes back down. */
		for (int i = 0; i < PINGS && !fail; i++) {
			char ping[10], pong[10];
			memset(ping, 'a' + i, sizeof(ping));
			if (write_all(fd, ping, sizeof(ping), 5000) != 0 || read_exact(fd, pong, sizeof(pong), 5000) != sizeof(pong)
				|| memcmp(ping, pong, sizeof(ping)) != 0)
				fail = "ping";
		}
	}
	if (!fail) {
		notify(e->self, "echoed %llu", (unsigned long long)got);
		/* Once the server has looked at its socket info: our half-close: the server sees CLOSE and closes; we then see the end. */
		char c;
		struct pollfd p = { e->go[0], POLLIN, 0 };
		if (poll(&p, 1, 10000) != 1 || read(e->go[0], &c, 1) != 1)
			fail = "no go";
		shutdown(fd, SHUT_WR);
		if (!fail && wait_eof(fd, 10000) != 1)
			fail = "no eof after close";
	}
	if (fail) {
		if (*fail)
			notify(e->self, "fail %s (sent %llu, got %llu)", fail, (unsigned long long)sent, (unsigned long long)got);
	} else {
		notify(e->self, "done");
	}
	free(out);
	free(in);
	close(fd);
	return NULL;
}

static int
check_info(struct echo *e) {
	struct skynet_context *ctx = e->ctx;
	int seen_listen = 0, seen_conn = 0;
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%d", e->port);
	struct socket_info *list = skynet_socket_info();
	for (struct socket_info *si = list; si; si = si->next) {
		if (si->id == e->listen_id) {
			seen_listen = si->type == SOCKET_INFO_LISTEN && strcmp(si->name, want) == 0
				&& si->opaque == e->self && si->read == 1;
		} else if (si->id == e->conn) {
			seen_conn = si->type == SOCKET_INFO_TCP && si->read == TOTAL + PINGS * 10
				&& si->write == TOTAL + PINGS * 10 && si->wbuffer == 0 && si->reading == 1
				&& strncmp(si->name, "127.0.0.1:", 10) == 0;
			if (!seen_conn)
				skynet_error(ctx, "conn info: type %d read %llu write %llu wbuffer %lld name %s", si->type,
					(unsigned long long)si->read, (unsigned long long)si->write, (long long)si->wbuffer, si->name);
		}
	}
	socket_info_release(list);
	CHECK_INIT(ctx, seen_listen);
	CHECK_INIT(ctx, seen_conn);
	return 0;
}

static int
on_socket(struct echo *e, const struct skynet_socket_message *m, size_t sz) {
	struct skynet_context *ctx = e->ctx;
	char text[256];
	switch (m->type) {
	case SKYNET_SOCKET_TYPE_CONNECT:
		evt_text(m, sz, text, sizeof(text));
		if (m->id == e->listen_id && !e->started) {
			/* The listen itself: the address in the text, the port in ud. */
			CHECK(ctx, strcmp(text, "127.0.0.1") == 0 && m->ud > 0);
			e->port = m->ud;
			e->started = 1;
			skynet_socket_start(ctx, e->listen_id);
		} else if (m->id == e->listen_id) {
			CHECK(ctx, strcmp(text, "start") == 0);
			CHECK(ctx, pthread_create(&e->client, NULL, client_main, e) == 0);
			e->client_running = 1;
		} else {
			CHECK(ctx, m->id == e->conn && strcmp(text, "start") == 0);
			e->conn_started = 1;
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT:
		evt_text(m, sz, text, sizeof(text));
		CHECK(ctx, m->id == e->listen_id && e->conn == -1);
		CHECK(ctx, strncmp(text, "127.0.0.1:", 10) == 0 && atoi(text + 10) > 0);
		e->conn = m->ud;
		/* An accepted socket is not read until started. */
		int listed = 0;
		struct socket_info *list = skynet_socket_info();
		for (struct socket_info *si = list; si; si = si->next)
			if (si->id == e->conn)
				listed = si->type == SOCKET_INFO_TCP && si->reading == 0 && si->read == 0;
		socket_info_release(list);
		CHECK(ctx, listed);
		skynet_socket_nodelay(ctx, e->conn);
		skynet_socket_start(ctx, e->conn);
		break;
	case SKYNET_SOCKET_TYPE_DATA: {
		CHECK(ctx, m->id == e->conn && m->ud > 0 && e->conn_started);
		size_t cap = malloc_usable_size(m->buffer);
		if (e->received == 0)
			e->first_read = cap;
		if (e->received < TOTAL) {
			if (cap > e->max_capacity)
				e->max_capacity = cap;
		} else {
			e->last_capacity = cap;
			e->pings++;
		}
		e->received += m->ud;
		CHECK(ctx, skynet_socket_send(ctx, m->id, m->buffer, m->ud) == 0);
		break;
	}
	case SKYNET_SOCKET_TYPE_CLOSE:
		CHECK(ctx, m->id == e->conn && e->echoed);
		e->closed = 1;
		skynet_socket_close(ctx, e->conn);
		break;
	case SKYNET_SOCKET_TYPE_WARNING:
		/* The client may fall behind reading the echo: pending writes pass 1 MiB. */
		CHECK(ctx, m->id == e->conn);
		break;
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d id %d", m->type, m->id);
		skynet_command(ctx, "ABORT", NULL);
		break;
	}
	return 0;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct echo *e = ud;
	if (type == PTYPE_SOCKET)
		return on_socket(e, msg, sz);
	ON_DEADLINE(ctx, type, session, e->deadline, "timed out (received %llu)", (unsigned long long)e->received);
	if (type != PTYPE_TEXT)
		return 0;
	char text[512];
	snprintf(text, sizeof(text), "%.*s", (int)sz, (const char *)msg);
	if (strncmp(text, "fail", 4) == 0) {
		skynet_error(ctx, "TEST FAIL client: %s", text);
		skynet_command(ctx, "ABORT", NULL);
	} else if (strncmp(text, "echoed ", 7) == 0) {
		e->echoed = 1;
		skynet_error(ctx, "read buffer: first %zu, largest %zu, after pings %zu", e->first_read, e->max_capacity, e->last_capacity);
		CHECK(ctx, e->first_read <= 128);
		CHECK(ctx, e->max_capacity >= (64 << 10));
		CHECK(ctx, e->pings >= PINGS && e->last_capacity <= 256);
		if (check_info(e))
			return 0;
		CHECK(ctx, write(e->go[1], "g", 1) == 1);
	} else if (strcmp(text, "done") == 0) {
		pthread_join(e->client, NULL);
		e->client_running = 0;
		CHECK(ctx, e->closed);
		test_pass(ctx);
	}
	return 0;
}

static struct echo E;

int
socket_echo_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct echo *e = &E;
	e->ctx = ctx;
	e->self = skynet_context_handle(ctx);
	e->conn = -1;
	CHECK_INIT(ctx, pipe(e->go) == 0);
	CHECK_INIT(ctx, socket_test_setup(ctx, e, cb, 9000, 32, &e->deadline, &e->listen_id) == 0);
	return 0;
}
