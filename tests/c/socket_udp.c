/* UDP over IPv4 and IPv6 loopback, through every UDP call:
 *  udp_listen (server) <- udp_dial (client, sends to its default peer with a plain send);
 *  the server answers with udp_sendbuffer to the address of the UDP event (7 or 19 bytes,
 *  protocol byte, port in network order, then the IP); udp() + udp_connect + send;
 *  a plain UDP socket outside skynet checks the address encoding on the wire;
 *  a family mismatch (udp_connect to the other family: ERROR "protocol mismatch";
 *  udp_sendbuffer to an address of the other family: refused). */
#include "socket_test.h"

enum { V4, V6, FAMILIES };

struct fam {
	const char *ip;
	int family;
	int port;
	int server;
	int dialer;
	int connected;
	int pongs_dialer;
	int pongs_connected;
	int raw_ok;
	int mismatch_error;
};

struct udptest {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	struct fam f[FAMILIES];
	int raw_done;
	pthread_t raw;
};

static struct udptest T;

static int
find(struct udptest *t, int id, int *which) {
	for (int i = 0; i < FAMILIES; i++) {
		struct fam *f = &t->f[i];
		if (id == f->server) { *which = i; return 0; }
		if (id == f->dialer) { *which = i; return 1; }
		if (id == f->connected) { *which = i; return 2; }
	}
	return -1;
}

/* A plain UDP socket sends "raw" to the skynet server and checks the reply. */
static void *
raw_main(void *arg) {
	struct udptest *t = arg;
	for (int i = 0; i < FAMILIES; i++) {
		struct fam *f = &t->f[i];
		int fd = socket(f->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_storage ss;
		socklen_t len;
		memset(&ss, 0, sizeof(ss));
		if (f->family == AF_INET) {
			struct sockaddr_in *a = (void *)&ss;
			a->sin_family = AF_INET;
			a->sin_port = htons(f->port);
			inet_pton(AF_INET, f->ip, &a->sin_addr);
			len = sizeof(*a);
		} else {
			struct sockaddr_in6 *a = (void *)&ss;
			a->sin6_family = AF_INET6;
			a->sin6_port = htons(f->port);
			inet_pton(AF_INET6, f->ip, &a->sin6_addr);
			len = sizeof(*a);
		}
		char reply[64];
		struct pollfd p = { fd, POLLIN, 0 };
		if (sendto(fd, "raw", 3, 0, (struct sockaddr *)&ss, len) != 3 || poll(&p, 1, 10000) != 1
			|| recv(fd, reply, sizeof(reply), 0) != 7 || memcmp(reply, "raw-ack", 7) != 0) {
			notify(t->self, "fail raw %s", f->ip);
			close(fd);
			return NULL;
		}
		close(fd);
	}
	notify(t->self, "raw ok");
	return NULL;
}

static void
check_done(struct udptest *t) {
	for (int i = 0; i < FAMILIES; i++) {
		struct fam *f = &t->f[i];
		if (f->pongs_dialer < 3 || f->pongs_connected < 3 || !f->raw_ok || !f->mismatch_error)
			return;
	}
	if (!t->raw_done)
		return;
	pthread_join(t->raw, NULL);
	struct socket_info *list = skynet_socket_info();
	int udp = 0;
	for (struct socket_info *si = list; si; si = si->next)
		if (si->type == SOCKET_INFO_UDP && si->read > 0 && si->write > 0)
			udp++;
	socket_info_release(list);
	if (udp < 2 * FAMILIES) {
		skynet_error(t->ctx, "TEST FAIL socket info lists %d active UDP sockets", udp);
		skynet_command(t->ctx, "ABORT", NULL);
		return;
	}
	test_pass(t->ctx);
}

static int
on_udp(struct udptest *t, const struct skynet_socket_message *e) {
	struct skynet_context *ctx = t->ctx;
	int which = -1;
	int role = find(t, e->id, &which);
	CHECK(ctx, role >= 0);
	struct fam *f = &t->f[which];
	int addrsz = 0;
	const char *addr = skynet_socket_udp_address((struct skynet_socket_message *)e, &addrsz);
	CHECK(ctx, addr != NULL);
	CHECK(ctx, addrsz == (f->family == AF_INET ? 7 : 19));
	CHECK(ctx, (uint8_t)addr[0] == (f->family == AF_INET ? 1 : 2));
	char body[64];
	snprintf(body, sizeof(body), "%.*s", e->ud, e->buffer);
	if (role == 0) {
		/* Server: answer to the sender's address; check that address is loopback. */
		if (f->family == AF_INET) {
			CHECK(ctx, memcmp(addr + 3, "\x7f\x00\x00\x01", 4) == 0);
		} else {
			CHECK(ctx, memcmp(addr + 3, &in6addr_loopback, 16) == 0);
		}
		int port = (uint8_t)addr[1] << 8 | (uint8_t)addr[2];
		CHECK(ctx, port > 0);
		char reply[64];
		int n = snprintf(reply, sizeof(reply), "%s-ack", body);
		struct socket_sendbuffer b = { f->server, SOCKET_BUFFER_RAWPOINTER, reply, n };
		CHECK(ctx, skynet_socket_udp_sendbuffer(ctx, addr, &b) == 0);
		if (strcmp(body, "raw") == 0)
			f->raw_ok = 1;
		/* An address of the other family is refused. */
		char other[19];
		memset(other, 0, sizeof(other));
		other[0] = f->family == AF_INET ? 2 : 1;
		char *dropped = skynet_malloc(4);
		struct socket_sendbuffer x = { f->server, SOCKET_BUFFER_MEMORY, dropped, 4 };
		CHECK(ctx, skynet_socket_udp_sendbuffer(ctx, other, &x) == -1);
	} else {
		/* A client: the answer comes from the server's port. */
		int port = (uint8_t)addr[1] << 8 | (uint8_t)addr[2];
		CHECK(ctx, port == f->port);
		CHECK(ctx, strncmp(body, role == 1 ? "dial" : "conn", 4) == 0 && strstr(body, "-ack") != NULL);
		if (role == 1)
			f->pongs_dialer++;
		else
			f->pongs_connected++;
	}
	skynet_free(e->buffer);
	check_done(t);
	return 0;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct udptest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out");
	if (type == PTYPE_TEXT) {
		if (sz >= 4 && memcmp(msg, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL %.*s", (int)sz, (const char *)msg);
			skynet_command(ctx, "ABORT", NULL);
			return 0;
		}
		t->raw_done = 1;
		check_done(t);
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	if (e->type == SKYNET_SOCKET_TYPE_UDP)
		return on_udp(t, e);
	if (e->type == SKYNET_SOCKET_TYPE_ERROR) {
		char text[128];
		evt_text(e, sz, text, sizeof(text));
		int which = -1;
		CHECK(ctx, find(t, e->id, &which) == 2 && strcmp(text, "protocol mismatch") == 0);
		t->f[which].mismatch_error = 1;
		check_done(t);
		return 0;
	}
	skynet_error(ctx, "TEST FAIL unexpected socket event %d on %d", e->type, e->id);
	skynet_command(ctx, "ABORT", NULL);
	return 0;
}

int
socket_udp_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct udptest *t = &T;
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	socket_test_setup(ctx, t, cb, 3000, 0, &t->deadline, NULL);
	t->f[V4].ip = "127.0.0.1";
	t->f[V4].family = AF_INET;
	t->f[V6].ip = "::1";
	t->f[V6].family = AF_INET6;
	CHECK_INIT(ctx, skynet_socket_udp_listen(ctx, "127.0.0.1", 0) == -1); /* a port is required */
	for (int i = 0; i < FAMILIES; i++) {
		struct fam *f = &t->f[i];
		/* udp_listen needs a port: take one that is free now, retrying if it is taken. */
		for (int tries = 0; tries < 20 && f->server <= 0; tries++) {
			f->port = free_port(f->family, SOCK_DGRAM);
			f->server = skynet_socket_udp_listen(ctx, f->ip, f->port);
		}
		CHECK_INIT(ctx, f->server >= 0);
		f->dialer = skynet_socket_udp_dial(ctx, f->ip, f->port);
		CHECK_INIT(ctx, f->dialer >= 0);
		/* udp() bound to the family's loopback, then a default peer. */
		f->connected = skynet_socket_udp(ctx, f->ip, 0);
		CHECK_INIT(ctx, f->connected >= 0);
		/* The other family's address: an ERROR event, the socket unchanged. */
		CHECK_INIT(ctx, skynet_socket_udp_connect(ctx, f->connected, f->family == AF_INET ? "::1" : "127.0.0.1", f->port) == 0);
		CHECK_INIT(ctx, skynet_socket_udp_connect(ctx, f->connected, f->ip, f->port) == 0);
		for (int k = 0; k < 3; k++) {
			char text[32];
			int n = snprintf(text, sizeof(text), "dial %d", k);
			struct socket_sendbuffer b = { f->dialer, SOCKET_BUFFER_RAWPOINTER, text, n };
			CHECK_INIT(ctx, skynet_socket_sendbuffer(ctx, &b) == 0);
			n = snprintf(text, sizeof(text), "conn %d", k);
			char *m = skynet_malloc(n);
			memcpy(m, text, n);
			CHECK_INIT(ctx, skynet_socket_send(ctx, f->connected, m, n) == 0);
		}
	}
	CHECK_INIT(ctx, pthread_create(&t->raw, NULL, raw_main, t) == 0);
	return 0;
}
