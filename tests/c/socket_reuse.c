/* Socket ids are reused safely: socket `a` is closed, then 65,536 sockets are opened and
 * closed until one (`b`) lands in a's slot under a new id. Every call naming a (send,
 * close, pause, start) leaves b alone: the send is refused, start reports "invalid socket"
 * for a, and the only events that arrive carry b's id. */
#include "socket_test.h"

#define SLOTS 65536

struct reusetest {
	struct skynet_context *ctx;
	int deadline;
	int a;
	int b;
	int raw;
	int invalid_reported;
	int got_b;
};

static struct reusetest T;

static int
info_of(int id, struct socket_info *out) {
	int found = 0;
	struct socket_info *list = skynet_socket_info();
	for (struct socket_info *si = list; si; si = si->next) {
		if (si->id == id) {
			*out = *si;
			found = 1;
		}
	}
	socket_info_release(list);
	return found;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct reusetest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out");
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	char text[64];
	if (e->type == SKYNET_SOCKET_TYPE_ERROR) {
		evt_text(e, sz, text, sizeof(text));
		CHECK(ctx, e->id == t->a && strcmp(text, "invalid socket") == 0);
		t->invalid_reported = 1;
	} else if (e->type == SKYNET_SOCKET_TYPE_CLOSE) {
		/* Every socket closed on the way here reports its own CLOSE; never b. */
		CHECK(ctx, e->id != t->b);
		return 0;
	} else if (e->type == SKYNET_SOCKET_TYPE_UDP) {
		CHECK(ctx, e->id == t->b && e->ud == 4 && memcmp(e->buffer, "to-b", 4) == 0);
		skynet_free(e->buffer);
		t->got_b = 1;
	} else {
		skynet_error(ctx, "TEST FAIL unexpected socket event %d on %d", e->type, e->id);
		skynet_command(ctx, "ABORT", NULL);
		return 0;
	}
	if (t->invalid_reported && t->got_b) {
		struct socket_info si;
		CHECK(ctx, info_of(t->b, &si) && si.reading == 1 && si.read == 4 && si.write == 4);
		CHECK(ctx, !info_of(t->a, &si));
		test_pass(ctx);
	}
	return 0;
}

int
socket_reuse_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct reusetest *t = &T;
	t->ctx = ctx;
	socket_test_setup(ctx, t, cb, 6000, 0, &t->deadline, NULL);
	t->a = skynet_socket_udp(ctx, NULL, 0);
	CHECK_INIT(ctx, t->a >= 0);
	skynet_socket_close(ctx, t->a);
	t->b = -1;
	for (int i = 0; i < SLOTS && t->b < 0; i++) {
		int id = skynet_socket_udp(ctx, NULL, 0);
		CHECK_INIT(ctx, id >= 0 && id != t->a);
		if (id % SLOTS == t->a % SLOTS)
			t->b = id;
		else
			skynet_socket_close(ctx, id);
	}
	CHECK_INIT(ctx, t->b >= 0);
	skynet_error(ctx, "socket %d reuses the slot of socket %d", t->b, t->a);

	/* Calls naming the old id. */
	char *late = skynet_malloc(3);
	CHECK_INIT(ctx, skynet_socket_send(ctx, t->a, late, 3) == -1);
	skynet_socket_pause(ctx, t->a);
	skynet_socket_close(ctx, t->a);
	skynet_socket_shutdown(ctx, t->a);
	skynet_socket_start(ctx, t->a); /* an ERROR "invalid socket" for a */
	struct socket_info si;
	CHECK_INIT(ctx, info_of(t->b, &si) && si.reading == 1 && si.write == 0);

	/* b still works: it sends to a plain socket, which answers. */
	t->raw = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INIT(ctx, bind(t->raw, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK_INIT(ctx, getsockname(t->raw, (struct sockaddr *)&sa, &len) == 0);
	CHECK_INIT(ctx, skynet_socket_udp_connect(ctx, t->b, "127.0.0.1", ntohs(sa.sin_port)) == 0);
	char *hi = skynet_malloc(4);
	memcpy(hi, "from", 4);
	CHECK_INIT(ctx, skynet_socket_send(ctx, t->b, hi, 4) == 0);
	char buf[16];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	struct pollfd p = { t->raw, POLLIN, 0 };
	CHECK_INIT(ctx, poll(&p, 1, 10000) == 1);
	CHECK_INIT(ctx, recvfrom(t->raw, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) == 4);
	CHECK_INIT(ctx, sendto(t->raw, "to-b", 4, 0, (struct sockaddr *)&from, flen) == 4);
	close(t->raw);
	return 0;
}
