/* Bad host strings and ports. connect returns an id and reports the lookup failure as an
 * ERROR event (as upstream); listen, udp, udp_listen, udp_dial and udp_connect return -1.
 * Names longer than a DNS name and ports out of range are refused at once. Each failure is
 * logged (see socket_badhost.expect), and the node goes on serving: a loopback
 * connect/accept/data round trip works afterwards. */
#include "socket_test.h"

static const char *bad_hosts[] = { "bad host!", "300.1.2.3", "::1::2", "1.2.3.4.5", "" };
#define NBAD (int)(sizeof(bad_hosts) / sizeof(bad_hosts[0]))

struct badtest {
	struct skynet_context *ctx;
	int deadline;
	int ids[NBAD];
	int errors;
	int listen_id;
	int client;
	int server;
	int port;
};

static struct badtest T;

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct badtest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out (%d errors)", t->errors);
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	char text[128];
	switch (e->type) {
	case SKYNET_SOCKET_TYPE_ERROR:
		evt_text(e, sz, text, sizeof(text));
		for (int i = 0; i < NBAD; i++) {
			if (t->ids[i] == e->id) {
				skynet_error(ctx, "connect to \"%s\": %s", bad_hosts[i], text);
				CHECK(ctx, text[0] != '\0');
				t->ids[i] = -1;
				t->errors++;
				return 0;
			}
		}
		skynet_error(ctx, "TEST FAIL unexpected error on %d: %s", e->id, text);
		skynet_command(ctx, "ABORT", NULL);
		break;
	case SKYNET_SOCKET_TYPE_CONNECT:
		if (listener_ready(ctx, e, t->listen_id, &t->port)) {
			t->client = skynet_socket_connect(ctx, "127.0.0.1", t->port);
			CHECK(ctx, t->client >= 0);
		} else if (e->id == t->client) {
			char *m = skynet_malloc(4);
			memcpy(m, "ping", 4);
			CHECK(ctx, skynet_socket_send(ctx, t->client, m, 4) == 0);
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT:
		t->server = e->ud;
		skynet_socket_start(ctx, t->server);
		break;
	case SKYNET_SOCKET_TYPE_DATA:
		CHECK(ctx, e->id == t->server && e->ud == 4 && memcmp(e->buffer, "ping", 4) == 0);
		skynet_free(e->buffer);
		CHECK(ctx, t->errors == NBAD);
		test_pass(ctx);
		break;
	}
	return 0;
}

int
socket_badhost_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct badtest *t = &T;
	t->ctx = ctx;
	socket_test_setup(ctx, t, cb, 3000, 0, &t->deadline, NULL);
	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';

	for (int i = 0; i < NBAD; i++) {
		t->ids[i] = skynet_socket_connect(ctx, bad_hosts[i], 80);
		CHECK_INIT(ctx, t->ids[i] >= 0);
		if (bad_hosts[i][0]) /* "" means any address for the calls that bind */
			CHECK_INIT(ctx, skynet_socket_listen(ctx, bad_hosts[i], 0, 8) == -1);
		CHECK_INIT(ctx, skynet_socket_udp_dial(ctx, bad_hosts[i], 80) == -1);
	}
	CHECK_INIT(ctx, skynet_socket_connect(ctx, longname, 80) == -1);
	CHECK_INIT(ctx, skynet_socket_connect(ctx, "127.0.0.1", 70000) == -1);
	CHECK_INIT(ctx, skynet_socket_connect(ctx, NULL, 80) == -1);
	CHECK_INIT(ctx, skynet_socket_listen(ctx, longname, 0, 8) == -1);
	CHECK_INIT(ctx, skynet_socket_listen(ctx, "127.0.0.1", -1, 8) == -1);
	CHECK_INIT(ctx, skynet_socket_udp(ctx, "bad host!", 0) == -1);
	CHECK_INIT(ctx, skynet_socket_udp_listen(ctx, "300.1.2.3", 4000) == -1);
	CHECK_INIT(ctx, skynet_socket_udp_dial(ctx, NULL, 80) == -1);
	int u = skynet_socket_udp(ctx, NULL, 0);
	CHECK_INIT(ctx, u >= 0);
	CHECK_INIT(ctx, skynet_socket_udp_connect(ctx, u, "bad host!", 80) == -1);
	CHECK_INIT(ctx, skynet_socket_udp_connect(ctx, u, longname, 80) == -1);
	skynet_socket_close(ctx, u);

	t->listen_id = skynet_socket_listen(ctx, "127.0.0.1", 0, 8);
	CHECK_INIT(ctx, t->listen_id >= 0);
	return 0;
}
