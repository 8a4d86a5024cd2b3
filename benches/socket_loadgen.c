/* Load generator for the socket echo benchmark, benches/socket.sh (loopback only).
 *
 *   loadgen port PORT                      print a free loopback port
 *   loadgen wait PORT                      wait (at most 10 s) until PORT accepts
 *   loadgen echo PORT CONNS SIZE SECONDS   closed loop: CONNS connections each send SIZE
 *                                          bytes and wait for the echo, again and again;
 *                                          prints messages/s and round-trip percentiles
 *   loadgen idle PORT CONNS PID            memory per idle connection: PID's resident
 *                                          memory before and after CONNS connections
 *                                          (each echoed once, then left idle)
 *
 * Every byte echoed is checked. Threads: LOADGEN_THREADS (default 1), each with its own
 * epoll over its share of the connections. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_us(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
die(const char *what) {
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in
loopback(int port) {
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* A blocking connect, then non-blocking with TCP_NODELAY. */
static int
dial(int port) {
	struct sockaddr_in sa = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Round-trip histogram: 1 us buckets below 1 ms, then 100 us buckets up to 10 s. */
#define FINE 1000
#define COARSE 100000
struct hist {
	uint64_t fine[FINE];
	uint64_t coarse[COARSE];
	uint64_t n;
};

static void
hist_add(struct hist *h, int64_t us) {
	if (us < 0)
		us = 0;
	if (us < FINE)
		h->fine[us]++;
	else if (us / 100 < COARSE)
		h->coarse[us / 100]++;
	else
		h->coarse[COARSE - 1]++;
	h->n++;
}

static int64_t
hist_pct(const struct hist *h, double p) {
	uint64_t want = (uint64_t)(h->n * p);
	uint64_t seen = 0;
	for (int i = 0; i < FINE; i++) {
		seen += h->fine[i];
		if (seen > want)
			return i;
	}
	for (int i = FINE / 100; i < COARSE; i++) {
		seen += h->coarse[i];
		if (seen > want)
			return (int64_t)i * 100;
	}
	return -1;
}

struct conn {
	int fd;
	size_t sent;
	size_t got;
	int64_t start;
	uint8_t seq;
};

struct worker {
	pthread_t thread;
	int port;
	int conns;
	size_t size;
	volatile int *phase; /* 0 warm-up, 1 measuring, 2 stop */
	uint64_t messages;
	struct hist *hist;
	int failed;
};

static void
fill(uint8_t *buf, size_t size, uint8_t seq) {
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(seq + i);
}

static void *
worker_main(void *arg) {
	struct worker *w = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct conn *c = calloc(w->conns, sizeof(*c));
	uint8_t *out = malloc(w->size), *in = malloc(w->size);
	for (int i = 0; i < w->conns; i++) {
		c[i].fd = dial(w->port);
		if (c[i].fd < 0) {
			fprintf(stderr, "loadgen: connect %d failed: %s\n", i, strerror(errno));
			w->failed = 1;
			return NULL;
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = i };
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
		c[i].start = now_us();
	}
	struct epoll_event evs[256];
	while (*w->phase < 2 && !w->failed) {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int k = 0; k < n; k++) {
			struct conn *x = &c[evs[k].data.u32];
			/* Write what is left of the current message. */
			while (x->sent < w->size) {
				fill(out, w->size, x->seq);
				ssize_t r = write(x->fd, out + x->sent, w->size - x->sent);
				if (r <= 0)
					break;
				x->sent += r;
			}
			/* Read its echo. */
			for (;;) {
				ssize_t r = read(x->fd, in, w->size - x->got);
				if (r <= 0) {
					if (r == 0 || errno != EAGAIN) {
						fprintf(stderr, "loadgen: connection lost\n");
						w->failed = 1;
					}
					break;
				}
				for (ssize_t i = 0; i < r; i++) {
					if (in[i] != (uint8_t)(x->seq + x->got + i)) {
						fprintf(stderr, "loadgen: echo differs\n");
						w->failed = 1;
						break;
					}
				}
				x->got += r;
				if (x->got < w->size)
					continue;
				int64_t t = now_us();
				if (*w->phase == 1) {
					w->messages++;
					hist_add(w->hist, t - x->start);
				}
				x->seq++;
				x->got = 0;
				x->sent = 0;
				x->start = t;
				fill(out, w->size, x->seq);
				ssize_t s = write(x->fd, out, w->size);
				if (s > 0)
					x->sent = s;
			}
		}
	}
	for (int i = 0; i < w->conns; i++)
		close(c[i].fd);
	close(ep);
	return NULL;
}

static void
raise_nofile(int need) {
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)need) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)need ? rl.rlim_max : (rlim_t)need;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
echo(int port, int conns, size_t size, double seconds) {
	int nthreads = getenv("LOADGEN_THREADS") ? atoi(getenv("LOADGEN_THREADS")) : 1;
	if (nthreads < 1)
		nthreads = 1;
	raise_nofile(conns + 64);
	volatile int phase = 0;
	struct worker *w = calloc(nthreads, sizeof(*w));
	for (int i = 0; i < nthreads; i++) {
		w[i].port = port;
		w[i].conns = conns / nthreads + (i < conns % nthreads);
		w[i].size = size;
		w[i].phase = &phase;
		w[i].hist = calloc(1, sizeof(struct hist));
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	struct timespec warm = { 1, 0 };
	nanosleep(&warm, NULL);
	phase = 1;
	int64_t t0 = now_us();
	struct timespec run = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
	nanosleep(&run, NULL);
	phase = 2;
	int64_t elapsed = now_us() - t0;
	struct hist *all = calloc(1, sizeof(struct hist));
	uint64_t messages = 0;
	int failed = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].thread, NULL);
		failed |= w[i].failed;
		messages += w[i].messages;
		for (int k = 0; k < FINE; k++)
			all->fine[k] += w[i].hist->fine[k];
		for (int k = 0; k < COARSE; k++)
			all->coarse[k] += w[i].hist->coarse[k];
		all->n += w[i].hist->n;
	}
	if (failed)
		return 1;
	printf("conns=%d size=%zu msgs/s=%.0f p50=%lldus p99=%lldus\n", conns, size, messages * 1e6 / elapsed,
		(long long)hist_pct(all, 0.50), (long long)hist_pct(all, 0.99));
	return 0;
}

static long
rss_kib(int pid) {
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

static int
idle(int port, int conns, int pid) {
	raise_nofile(conns + 64);
	long before = rss_kib(pid);
	int *fds = calloc(conns, sizeof(int));
	for (int i = 0; i < conns; i++) {
		fds[i] = dial(port);
		if (fds[i] < 0)
			die("connect");
		/* One echo each: the server has accepted, started and read this connection. */
		char b = 'x';
		if (write(fds[i], &b, 1) != 1)
			die("write");
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) & ~O_NONBLOCK);
		if (read(fds[i], &b, 1) != 1)
			die("read");
	}
	long after = rss_kib(pid);
	printf("idle conns=%d rss_before=%ldKiB rss_after=%ldKiB per_conn=%.0fB\n", conns, before, after,
		(after - before) * 1024.0 / conns);
	for (int i = 0; i < conns; i++)
		close(fds[i]);
	return 0;
}

int
main(int argc, char **argv) {
	if (argc >= 3 && strcmp(argv[1], "port") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sa = loopback(0);
		socklen_t len = sizeof(sa);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
			die("bind");
		printf("%d\n", ntohs(sa.sin_port));
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "wait") == 0) {
		int64_t deadline = now_us() + 10000000;
		while (now_us() < deadline) {
			int fd = dial(atoi(argv[2]));
			if (fd >= 0) {
				close(fd);
				return 0;
			}
			struct timespec t = { 0, 20000000 };
			nanosleep(&t, NULL);
		}
		fprintf(stderr, "loadgen: nothing listens on port %s\n", argv[2]);
		return 1;
	}
	if (argc >= 6 && strcmp(argv[1], "echo") == 0)
		return echo(atoi(argv[2]), atoi(argv[3]), (size_t)atol(argv[4]), atof(argv[5]));
	if (argc >= 5 && strcmp(argv[1], "idle") == 0)
		return idle(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: loadgen port 0 | wait PORT | echo PORT CONNS SIZE SECONDS | idle PORT CONNS PID\n");
	return 2;
}
