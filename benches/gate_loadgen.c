/* Load generator of benches/gate.sh: clients of a gate, each packet framed by a 2-byte
 * big-endian length (as snax.gateserver reads them), over loopback.
 *
 *   gate_loadgen port                          print a free loopback port
 *   gate_loadgen wait PORT                     wait (at most 20 s) until PORT accepts
 *   gate_loadgen echo PORT CONNS SIZE SECONDS  CONNS clients, each sends one SIZE-byte packet
 *                                              and waits for it to come back, again and again;
 *                                              once every client had an answer, SECONDS are
 *                                              measured: packets/s and round-trip p50/p99
 *
 * Every byte that comes back is checked. GATE_LOADGEN_THREADS (default 2) threads share the
 * clients, each with its own epoll. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
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
usec_now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void
fail(const char *what) {
	fprintf(stderr, "gate_loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in
local_addr(int port) {
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	return a;
}

static int
open_client(int port) {
	struct sockaddr_in a = local_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	int on = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* latencies in microseconds: exact below 10 ms, by 100 us up to 10 s */
#define EXACT 10000
#define ROUGH 100000
struct latencies {
	uint32_t exact[EXACT];
	uint32_t rough[ROUGH];
	uint64_t count;
};

static void
note(struct latencies *l, int64_t us) {
	if (us < 0)
		us = 0;
	if (us < EXACT)
		l->exact[us]++;
	else
		l->rough[us / 100 < ROUGH ? us / 100 : ROUGH - 1]++;
	l->count++;
}

static int64_t
percentile(const struct latencies *l, double p) {
	uint64_t rank = (uint64_t)(l->count * p), below = 0;
	int i;
	for (i = 0; i < EXACT; i++) {
		below += l->exact[i];
		if (below > rank)
			return i;
	}
	for (i = EXACT / 100; i < ROUGH; i++) {
		below += l->rough[i];
		if (below > rank)
			return (int64_t)i * 100;
	}
	return -1;
}

struct client {
	int fd;
	size_t out;	/* bytes of the frame written */
	size_t in;	/* bytes of the answer read */
	int64_t since;	/* when the frame was started */
	uint8_t round;	/* varies the payload from one packet to the next */
	int answered;
};

enum { WARMING, MEASURING, STOPPING };

struct share {
	int port, conns;
	size_t size;
	atomic_int stage;
	atomic_int ready;	/* clients that had at least one answer */
};

struct thread {
	pthread_t id;
	struct share *sh;
	int first, count;
	uint64_t packets;
	struct latencies *lat;
	int broken;
};

static uint8_t
expected(const struct client *c, size_t at, size_t size) {
	/* byte `at` of the frame: the length, then round + position */
	if (at == 0)
		return (uint8_t)(size >> 8);
	if (at == 1)
		return (uint8_t)size;
	return (uint8_t)(c->round * 7 + at);
}

static void
make_frame(uint8_t *buf, const struct client *c, size_t size) {
	size_t i;
	for (i = 0; i < size + 2; i++)
		buf[i] = expected(c, i, size);
}

/* write what is left of the current frame; 0 on a broken connection */
static int
push(struct client *c, uint8_t *frame, size_t size) {
	while (c->out < size + 2) {
		ssize_t n = write(c->fd, frame + c->out, size + 2 - c->out);
		if (n < 0)
			return errno == EAGAIN;
		c->out += (size_t)n;
	}
	return 1;
}

static void *
drive(void *arg) {
	struct thread *t = arg;
	struct share *sh = t->sh;
	size_t size = sh->size, frame_len = size + 2;
	uint8_t *frame = malloc(frame_len), *got = malloc(frame_len);
	struct client *cs = calloc((size_t)t->count, sizeof(*cs));
	int ep = epoll_create1(EPOLL_CLOEXEC), i;
	for (i = 0; i < t->count; i++) {
		struct client *c = &cs[i];
		c->fd = open_client(sh->port);
		if (c->fd < 0) {
			fprintf(stderr, "gate_loadgen: connect: %s\n", strerror(errno));
			t->broken = 1;
			return NULL;
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		c->since = usec_now();
		make_frame(frame, c, size);
		push(c, frame, size);
	}
	struct epoll_event evs[256];
	while (atomic_load(&sh->stage) != STOPPING && !t->broken) {
		int n = epoll_wait(ep, evs, 256, 100), k;
		for (k = 0; k < n; k++) {
			struct client *c = evs[k].data.ptr;
			make_frame(frame, c, size);
			if (!push(c, frame, size)) {
				t->broken = 1;
				break;
			}
			for (;;) {
				ssize_t r = read(c->fd, got, frame_len - c->in);
				if (r <= 0) {
					if (r == 0 || errno != EAGAIN) {
						fprintf(stderr, "gate_loadgen: a connection was closed\n");
						t->broken = 1;
					}
					break;
				}
				ssize_t j;
				for (j = 0; j < r; j++) {
					if (got[j] != expected(c, c->in + (size_t)j, size)) {
						fprintf(stderr, "gate_loadgen: the answer differs\n");
						t->broken = 1;
						break;
					}
				}
				c->in += (size_t)r;
				if (t->broken || c->in < frame_len)
					continue;
				int64_t now = usec_now();
				if (atomic_load(&sh->stage) == MEASURING) {
					t->packets++;
					note(t->lat, now - c->since);
				}
				if (!c->answered) {
					c->answered = 1;
					atomic_fetch_add(&sh->ready, 1);
				}
				c->round++;
				c->in = c->out = 0;
				c->since = now;
				make_frame(frame, c, size);
				if (!push(c, frame, size)) {
					t->broken = 1;
					break;
				}
			}
		}
	}
	for (i = 0; i < t->count; i++)
		close(cs[i].fd);
	close(ep);
	free(frame);
	free(got);
	free(cs);
	return NULL;
}

static void
more_files(int want) {
	struct rlimit r;
	getrlimit(RLIMIT_NOFILE, &r);
	if (r.rlim_cur < (rlim_t)want) {
		r.rlim_cur = r.rlim_max < (rlim_t)want ? r.rlim_max : (rlim_t)want;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static void
pause_ms(long ms) {
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static int
run_echo(int port, int conns, size_t size, double seconds) {
	const char *env = getenv("GATE_LOADGEN_THREADS");
	int nt = env ? atoi(env) : 2, i;
	if (nt < 1)
		nt = 1;
	if (size > 65535) {
		fprintf(stderr, "gate_loadgen: a packet holds at most 65535 bytes\n");
		return 2;
	}
	more_files(conns + 64);
	struct share sh = { .port = port, .conns = conns, .size = size };
	atomic_init(&sh.stage, WARMING);
	atomic_init(&sh.ready, 0);
	struct thread *ts = calloc((size_t)nt, sizeof(*ts));
	int first = 0;
	for (i = 0; i < nt; i++) {
		ts[i].sh = &sh;
		ts[i].first = first;
		ts[i].count = conns / nt + (i < conns % nt);
		first += ts[i].count;
		ts[i].lat = calloc(1, sizeof(struct latencies));
		pthread_create(&ts[i].id, NULL, drive, &ts[i]);
	}
	/* every client answered once (all agents are up), then a second more to settle */
	int64_t give_up = usec_now() + 30 * 1000000LL;
	while (atomic_load(&sh.ready) < conns && usec_now() < give_up)
		pause_ms(10);
	int all_ready = atomic_load(&sh.ready) >= conns;
	if (all_ready)
		pause_ms(1000);
	atomic_store(&sh.stage, MEASURING);
	int64_t t0 = usec_now();
	if (all_ready)
		pause_ms((long)(seconds * 1000));
	atomic_store(&sh.stage, STOPPING);
	int64_t took = usec_now() - t0;
	struct latencies *sum = calloc(1, sizeof(*sum));
	uint64_t packets = 0;
	int broken = !all_ready;
	if (!all_ready)
		fprintf(stderr, "gate_loadgen: only %d of %d clients were answered in 30 s\n",
			atomic_load(&sh.ready), conns);
	for (i = 0; i < nt; i++) {
		int k;
		pthread_join(ts[i].id, NULL);
		broken |= ts[i].broken;
		packets += ts[i].packets;
		for (k = 0; k < EXACT; k++)
			sum->exact[k] += ts[i].lat->exact[k];
		for (k = 0; k < ROUGH; k++)
			sum->rough[k] += ts[i].lat->rough[k];
		sum->count += ts[i].lat->count;
	}
	if (broken)
		return 1;
	printf("conns=%d size=%zu msgs/s=%.0f p50=%lldus p99=%lldus\n", conns, size,
		packets * 1e6 / (double)took, (long long)percentile(sum, 0.50),
		(long long)percentile(sum, 0.99));
	return 0;
}

static int
free_port(void) {
	struct sockaddr_in a = local_addr(0);
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0
			|| getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		fail("bind");
	close(fd);
	return ntohs(a.sin_port);
}

static int
wait_port(int port) {
	int64_t give_up = usec_now() + 20 * 1000000LL;
	while (usec_now() < give_up) {
		int fd = open_client(port);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		pause_ms(50);
	}
	fprintf(stderr, "gate_loadgen: nothing accepts on port %d\n", port);
	return 1;
}

int
main(int argc, char *argv[]) {
	if (argc == 2 && strcmp(argv[1], "port") == 0) {
		printf("%d\n", free_port());
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "wait") == 0)
		return wait_port(atoi(argv[2]));
	if (argc == 6 && strcmp(argv[1], "echo") == 0)
		return run_echo(atoi(argv[2]), atoi(argv[3]), (size_t)atol(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: gate_loadgen port | wait PORT | echo PORT CONNS SIZE SECONDS\n");
	return 2;
}
