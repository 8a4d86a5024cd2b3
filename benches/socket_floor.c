/* socket_floor: the "floor" row of the socket echo benchmark (benches/socket.sh).
 *
 *   socket_floor PORT        echo every byte received on 127.0.0.1:PORT back to its sender
 *
 * A bare single-threaded epoll echo server in plain C, no skynet: no queues, no threads,
 * no allocation on the common path (each ready connection is read once into one static
 * buffer and written straight back). Driven by the same load generator as the skynet
 * servers, it shows what a server that does nothing else reaches on this machine with that
 * load, so the other rows can be read against what the kernel and the load allow.
 *
 * A short write keeps the rest in a per-connection pending buffer; the connection then
 * waits for EPOLLOUT and is not read again until that rest has gone out. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536

struct conn {
	char *pending; /* bytes read but not yet written back, or NULL */
	size_t off, len;
};

static char buf[65536];
static struct conn *conns; /* indexed by fd */
static int nfds;
static int ep;

static void
die(const char *what) {
	fprintf(stderr, "socket_floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
watch(int op, int fd, uint32_t events) {
	struct epoll_event ev = { .events = events, .data.fd = fd };
	if (epoll_ctl(ep, op, fd, &ev) != 0)
		die("epoll_ctl");
}

static void
drop(int fd) {
	free(conns[fd].pending);
	conns[fd].pending = NULL;
	close(fd); /* also removes it from the epoll set */
}

/* Write data[0..len) to fd; keep whatever does not fit and wait until fd is writable. */
static void
send_or_keep(int fd, const char *data, size_t len) {
	ssize_t w = write(fd, data, len);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			drop(fd);
			return;
		}
		w = 0;
	}
	if ((size_t)w == len)
		return;
	struct conn *c = &conns[fd];
	c->pending = malloc(len - w);
	if (c->pending == NULL)
		die("malloc");
	memcpy(c->pending, data + w, len - w);
	c->off = 0;
	c->len = len - w;
	watch(EPOLL_CTL_MOD, fd, EPOLLOUT);
}

/* fd is writable again: send the pending rest, then go back to reading. */
static void
flush(int fd) {
	struct conn *c = &conns[fd];
	ssize_t w = write(fd, c->pending + c->off, c->len - c->off);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			drop(fd);
		return;
	}
	c->off += w;
	if (c->off < c->len)
		return;
	free(c->pending);
	c->pending = NULL;
	watch(EPOLL_CTL_MOD, fd, EPOLLIN);
}

static void
echo(int fd) {
	ssize_t r = read(fd, buf, sizeof(buf));
	if (r > 0)
		send_or_keep(fd, buf, r);
	else if (r == 0 || (errno != EAGAIN && errno != EINTR))
		drop(fd);
}

static void
accept_all(int lfd) {
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			die("accept4");
		}
		if (fd >= nfds) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		watch(EPOLL_CTL_ADD, fd, EPOLLIN);
	}
}

int
main(int argc, char **argv) {
	int port = argc > 1 ? atoi(argv[1]) : 0;
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: socket_floor PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	/* Room for the benchmark's connections: as many descriptors as allowed, up to MAX_FDS. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit");
	rl.rlim_cur = rl.rlim_max < MAX_FDS ? rl.rlim_max : MAX_FDS;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	nfds = rl.rlim_cur < MAX_FDS ? (int)rl.rlim_cur : MAX_FDS;
	conns = calloc(nfds, sizeof(*conns));
	if (conns == NULL)
		die("calloc");

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("bind");
	if (listen(lfd, 4096) != 0)
		die("listen");

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	watch(EPOLL_CTL_ADD, lfd, EPOLLIN);

	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd)
				accept_all(lfd);
			else if (conns[fd].pending)
				flush(fd);
			else
				echo(fd);
		}
	}
}
