/*
 * load.c: a closed-loop load generator for benches/http.sh.  CONNS connections to
 * 127.0.0.1:PORT, each with one exchange in flight: an HTTP/1.1 keep-alive GET (the reply
 * read by its content-length) or, after a WebSocket handshake, a masked text frame of SIZE
 * bytes (its echo read by the frame length).  Runs SECONDS after all are connected and prints
 * "<exchanges> <seconds> <exchanges per second> <p50 µs> <p99 µs>" (round trips, 10 µs steps).
 *
 *   load http|ws PORT CONNS SECONDS [SIZE]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	int upgraded;	/* ws: handshake answered */
	size_t have;
	double sent;	/* when the exchange in flight was sent */
	char buf[65536];
};

/* Round-trip times in 10 µs buckets; the last takes everything slower. */
#define BUCKETS 100000
static long latency[BUCKETS];

static void
record(double seconds) {
	long b = (long)(seconds * 1e5);
	latency[b < 0 ? 0 : b >= BUCKETS ? BUCKETS - 1 : b]++;
}

/* The round trip below which `share` of them fall, in µs. */
static long
percentile(long total, double share) {
	long want = (long)(total * share), seen = 0;
	for (long b = 0; b < BUCKETS; b++) {
		seen += latency[b];
		if (seen > want)
			return (b + 1) * 10;
	}
	return BUCKETS * 10;
}

static int ws_mode;
static char request[70000];
static size_t request_len;

static double
now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
send_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			perror("write");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Length of the first complete reply in c->buf, or 0 if it is not all there. */
static size_t
complete(struct conn *c) {
	if (!ws_mode || !c->upgraded) {
		char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
		if (end == NULL)
			return 0;
		size_t head = (size_t)(end - c->buf) + 4;
		if (ws_mode)
			return head;
		size_t body = 0;
		for (char *p = c->buf; p < end; p++) {
			if ((p == c->buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
				body = strtoul(p + 15, NULL, 10);
				break;
			}
		}
		return c->have >= head + body ? head + body : 0;
	}
	if (c->have < 2)
		return 0;
	unsigned char *b = (unsigned char *)c->buf;
	size_t n = b[1] & 0x7f, off = 2;
	if (n == 126) {
		if (c->have < 4)
			return 0;
		n = (size_t)b[2] << 8 | b[3];
		off = 4;
	} else if (n == 127) {
		if (c->have < 10)
			return 0;
		n = 0;
		for (int i = 2; i < 10; i++)
			n = n << 8 | b[i];
		off = 10;
	}
	return c->have >= off + n ? off + n : 0;
}

int
main(int argc, char **argv) {
	if (argc < 5) {
		fprintf(stderr, "usage: load http|ws PORT CONNS SECONDS [SIZE]\n");
		return 2;
	}
	ws_mode = strcmp(argv[1], "ws") == 0;
	int port = atoi(argv[2]), nconn = atoi(argv[3]);
	double seconds = atof(argv[4]);
	size_t size = argc > 5 ? strtoul(argv[5], NULL, 10) : 64;
	if (size > 60000)
		size = 60000;
	if (ws_mode) {
		unsigned char *r = (unsigned char *)request;
		size_t off = 0;
		r[off++] = 0x81;
		if (size < 126) {
			r[off++] = 0x80 | (unsigned char)size;
		} else {
			r[off++] = 0x80 | 126;
			r[off++] = (unsigned char)(size >> 8);
			r[off++] = (unsigned char)size;
		}
		unsigned char key[4] = { 0x12, 0x34, 0x56, 0x78 };
		memcpy(r + off, key, 4);
		off += 4;
		for (size_t i = 0; i < size; i++)
			r[off + i] = (unsigned char)('a' + i % 26) ^ key[i % 4];
		request_len = off + size;
	} else {
		request_len = (size_t)snprintf(request, sizeof(request),
			"GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: load\r\n\r\n");
	}
	static const char upgrade[] = "GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

	int ep = epoll_create1(0);
	struct conn *conns = calloc((size_t)nconn, sizeof(*conns));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < nconn; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			perror("connect");
			return 1;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conns[i].fd = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		conns[i].sent = now();
		if (ws_mode)
			send_all(fd, upgrade, sizeof(upgrade) - 1);
		else
			send_all(fd, request, request_len);
	}
	long done = 0;
	int upgraded = 0;
	double start = ws_mode ? 0 : now(), stop = ws_mode ? 0 : start + seconds;
	struct epoll_event evs[256];
	for (;;) {
		if (stop > 0 && now() >= stop)
			break;
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				fprintf(stderr, "load: connection closed by the server\n");
				return 1;
			}
			c->have += (size_t)r;
			size_t len;
			while ((len = complete(c)) > 0) {
				memmove(c->buf, c->buf + len, c->have - len);
				c->have -= len;
				if (ws_mode && !c->upgraded) {
					c->upgraded = 1;
					if (++upgraded == nconn) {
						start = now();
						stop = start + seconds;
						for (int k = 0; k < nconn; k++) {
							conns[k].sent = start;
							send_all(conns[k].fd, request, request_len);
						}
					}
					continue;
				}
				double t = now();
				if (stop > 0) {
					done++;
					record(t - c->sent);
				}
				c->sent = t;
				send_all(c->fd, request, request_len);
			}
		}
	}
	double took = now() - start;
	printf("%ld %.2f %.0f %ld %ld\n", done, took, done / took, percentile(done, 0.5), percentile(done, 0.99));
	return 0;
}
