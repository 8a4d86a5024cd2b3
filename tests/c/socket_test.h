/* Shared by the socket_* and gate_* tests: reading socket events, a deadline, telling the
 * service from a client thread, and blocking-with-timeout client helpers for loopback. */
#ifndef SOCKET_TEST_H
#define SOCKET_TEST_H

#include "check.h"
#include "skynet_server.h"
#include "skynet_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EVT(msg) ((const struct skynet_socket_message *)(msg))

/* The text after an event header (ACCEPT, CONNECT, ERROR), NUL-terminated into `out`. */
static inline const char *
evt_text(const void *msg, size_t sz, char *out, size_t outsz) {
	size_t n = sz > sizeof(struct skynet_socket_message) ? sz - sizeof(struct skynet_socket_message) : 0;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, (const char *)msg + sizeof(struct skynet_socket_message), n);
	out[n] = '\0';
	return out;
}

/* A PTYPE_RESPONSE for the returned session arrives after `centiseconds`: the test's bound. */
static inline int
arm_deadline(struct skynet_context *ctx, int centiseconds) {
	char t[32];
	snprintf(t, sizeof(t), "%d", centiseconds);
	const char *session = skynet_command(ctx, "TIMEOUT", t);
	return session ? atoi(session) : -1;
}

/* At the top of a callback: once the deadline from arm_deadline (or socket_test_setup)
 * passes, the test fails with the state the format describes and the node stops. */
#define ON_DEADLINE(ctx, type, session, deadline, ...) do { \
	if ((type) == PTYPE_RESPONSE && (session) == (deadline)) { \
		test_fail((ctx), __VA_ARGS__); \
		return 0; \
	} \
} while (0)

/* The start every socket test shares: `cb` with the test's state `ud`, the deadline that
 * bounds the test (*deadline, after `centiseconds`) and, when `listen_id` is not NULL, a
 * socket listening on 127.0.0.1 at a port the kernel picks (not started: its CONNECT event
 * carries the port, see listener_ready). 0 on success, -1 when the listen failed. */
static inline int
socket_test_setup(struct skynet_context *ctx, void *ud, skynet_cb cb, int centiseconds, int backlog,
	int *deadline, int *listen_id) {
	skynet_callback(ctx, ud, cb);
	*deadline = arm_deadline(ctx, centiseconds);
	if (listen_id == NULL)
		return 0;
	*listen_id = skynet_socket_listen(ctx, "127.0.0.1", 0, backlog);
	return *listen_id >= 0 ? 0 : -1;
}

/* The listener's first CONNECT event: records its port in *port and starts accepting.
 * 1 when `e` was that event. */
static inline int
listener_ready(struct skynet_context *ctx, const struct skynet_socket_message *e, int listen_id, int *port) {
	if (e->type != SKYNET_SOCKET_TYPE_CONNECT || e->id != listen_id || *port != 0)
		return 0;
	*port = e->ud;
	skynet_socket_start(ctx, listen_id);
	return 1;
}

/* An ACCEPT event: records the new connection in *conn and starts it. 1 when `e` was one. */
static inline int
accepted(struct skynet_context *ctx, const struct skynet_socket_message *e, int *conn) {
	if (e->type != SKYNET_SOCKET_TYPE_ACCEPT)
		return 0;
	*conn = e->ud;
	skynet_socket_start(ctx, *conn);
	return 1;
}

/* From any thread: a PTYPE_TEXT message to the service (copied by the core). */
static inline void
notify(uint32_t handle, const char *fmt, ...) {
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(text))
		n = sizeof(text) - 1;
	skynet_send(NULL, handle, handle, PTYPE_TEXT, 0, text, n);
}

static inline int64_t
now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The byte at offset i of a test stream (cheap, position-dependent, seedable). */
static inline uint8_t
pattern(uint64_t i, uint32_t seed) {
	uint32_t x = (uint32_t)(i >> 2) * 2654435761u ^ seed;
	x ^= x >> 15;
	return (uint8_t)(x >> (8 * (i & 3)));
}

static inline void
fill_pattern(uint8_t *p, size_t n, uint64_t offset, uint32_t seed) {
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(offset + i, seed);
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline int64_t
check_pattern(const uint8_t *p, size_t n, uint64_t offset, uint32_t seed) {
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(offset + i, seed))
			return (int64_t)i;
	return -1;
}

static inline void
set_nonblock(int fd) {
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A connected, non-blocking TCP client socket to ip:port (v4 or v6), or -1. */
static inline int
tcp_connect(const char *ip, int port, int timeout_ms) {
	struct addrinfo hints, *ai = NULL;
	char ps[16];
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(ip, ps, &hints, &ai) != 0)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return -1;
	}
	set_nonblock(fd);
	int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (r != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct pollfd p = { fd, POLLOUT, 0 };
	if (poll(&p, 1, timeout_ms) != 1) {
		close(fd);
		return -1;
	}
	int err = 0;
	socklen_t len = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Writes all of buf to a non-blocking fd, waiting at most timeout_ms for room each time.
 * Returns 0, or -1 (errno set, ETIMEDOUT when it waited too long). */
static inline int
write_all(int fd, const void *buf, size_t n, int timeout_ms) {
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -1;
		struct pollfd pf = { fd, POLLOUT, 0 };
		int r = poll(&pf, 1, timeout_ms);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/* Reads exactly n bytes from a non-blocking fd. Returns n, or what it got before the end
 * of the stream (errno 0), an error, or a wait longer than timeout_ms (errno ETIMEDOUT). */
static inline size_t
read_exact(int fd, void *buf, size_t n, int timeout_ms) {
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r > 0) {
			got += r;
			continue;
		}
		if (r == 0) {
			errno = 0;
			return got;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return got;
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, timeout_ms) == 0) {
			errno = ETIMEDOUT;
			return got;
		}
	}
	return got;
}

/* Waits for the end of the stream: 1 on EOF, 0 on a reset, -1 on timeout (errno
 * ETIMEDOUT), unexpected data (EPROTO) or another error. */
static inline int
wait_eof(int fd, int timeout_ms) {
	char c;
	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r == 0)
			return 1;
		if (r > 0) {
			errno = EPROTO;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return 0;
		if (errno != EAGAIN)
			return -1;
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, timeout_ms) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

/* A free port on the loopback address of `family` right now (for APIs that need a port). */
static inline int
free_port(int family, int type) {
	int fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	}
	int port = -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
	close(fd);
	return port;
}

/* A client thread's start: connects to 127.0.0.1:`port`, then waits (up to 30 s) for the
 * service's go on `go_fd`. The socket, or -1 once `self` was told why. */
/* A client thread's connect to 127.0.0.1:`port`: the socket, or -1 once `self` was told. */
static inline int
client_connect(uint32_t self, int port) {
	int fd = tcp_connect("127.0.0.1", port, 10000);
	if (fd < 0)
		notify(self, "fail connect");
	return fd;
}

static inline int
connect_then_wait(uint32_t self, int port, int go_fd) {
	int fd = client_connect(self, port);
	if (fd < 0)
		return -1;
	struct pollfd p = { go_fd, POLLIN, 0 };
	if (poll(&p, 1, 30000) != 1) {
		notify(self, "fail no go");
		close(fd);
		return -1;
	}
	return fd;
}

/* A client that connects to 127.0.0.1:port, reads nothing until a byte arrives on go_fd
 * (so the server's sends pile up first), then reads `total` bytes of the test pattern of
 * `seed`; it tells `self` "done" or "fail ...". Run it with late_reader_main. */
struct late_reader {
	uint32_t self;
	int port;
	int go_fd;
	uint64_t total;
	uint32_t seed;
};

static inline void *
late_reader_main(void *arg) {
	const struct late_reader *r = arg;
	enum { PIECE = 64 << 10 };
	int fd = connect_then_wait(r->self, r->port, r->go_fd);
	if (fd < 0)
		return NULL;
	uint8_t *buf = malloc(PIECE);
	uint64_t got = 0;
	while (got < r->total) {
		size_t want = r->total - got < PIECE ? (size_t)(r->total - got) : PIECE;
		size_t n = read_exact(fd, buf, want, 10000);
		if (n == 0)
			break;
		if (check_pattern(buf, n, got, r->seed) >= 0) {
			notify(r->self, "fail data at %llu", (unsigned long long)got);
			break;
		}
		got += n;
	}
	free(buf);
	close(fd);
	notify(r->self, got == r->total ? "done" : "fail short read");
	return NULL;
}

#endif
