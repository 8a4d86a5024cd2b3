/* skynet_socket_connect between two skynet sockets, over IPv4 and IPv6: CONNECT with the
 * peer's address on the connecting side, ACCEPT on the listening side, data sent before
 * the connect completed arriving first, traffic both ways; a connect to a closed port is
 * an ERROR ("Connection refused"); start from another service transfers the socket to it
 * (CONNECT "transfer", then its DATA go there). */
#include "socket_test.h"

enum { V4, V6, FAMILIES };

struct side {
	const char *ip;
	int listen_id;
	int port;
	int client;
	int server;
	int client_connected;
	int got_early;
	int got_pong;
};

struct conntest {
	struct skynet_context *ctx;
	uint32_t self;
	uint32_t helper;
	int deadline;
	struct side s[FAMILIES];
	int refused_id;
	int refused;
	int transferred;
};

static struct conntest T;

static char *
dup_text(const char *s) {
	size_t n = strlen(s);
	char *p = skynet_malloc(n);
	memcpy(p, s, n);
	return p;
}

static void
check_done(struct conntest *t) {
	for (int i = 0; i < FAMILIES; i++)
		if (!t->s[i].got_pong)
			return;
	if (t->refused && t->transferred)
		test_pass(t->ctx);
}

static int
helper_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	uint32_t main = (uint32_t)(uintptr_t)ud;
	if (type == PTYPE_TEXT) {
		int id = atoi(msg);
		skynet_socket_start(ctx, id);
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	char text[64];
	if (e->type == SKYNET_SOCKET_TYPE_CONNECT) {
		evt_text(e, sz, text, sizeof(text));
		notify(main, "helper connect %d %s", e->id, text);
	} else if (e->type == SKYNET_SOCKET_TYPE_DATA) {
		notify(main, "helper data %d %.*s", e->id, e->ud, e->buffer);
		skynet_free(e->buffer);
	}
	return 0;
}

static int
which_side(struct conntest *t, int id, int *role) {
	for (int i = 0; i < FAMILIES; i++) {
		if (id == t->s[i].listen_id) { *role = 0; return i; }
		if (id == t->s[i].client) { *role = 1; return i; }
		if (id == t->s[i].server) { *role = 2; return i; }
	}
	return -1;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct conntest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out");
	if (type == PTYPE_TEXT) {
		char text[128];
		snprintf(text, sizeof(text), "%.*s", (int)sz, (const char *)msg);
		int id;
		char word[32];
		if (sscanf(text, "helper connect %d %31s", &id, word) == 2) {
			CHECK(ctx, id == t->s[V4].server && strcmp(word, "transfer") == 0);
			/* Now the helper owns it: data the peer sends goes there. */
			CHECK(ctx, skynet_socket_send(ctx, t->s[V4].client, dup_text("to-helper"), 9) == 0);
		} else if (sscanf(text, "helper data %d %31s", &id, word) == 2) {
			CHECK(ctx, id == t->s[V4].server && strcmp(word, "to-helper") == 0);
			t->transferred = 1;
			check_done(t);
		}
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	char text[128];
	int role = -1;
	if (e->id == t->refused_id) {
		CHECK(ctx, e->type == SKYNET_SOCKET_TYPE_ERROR);
		evt_text(e, sz, text, sizeof(text));
		CHECK(ctx, strcmp(text, "Connection refused") == 0);
		t->refused = 1;
		check_done(t);
		return 0;
	}
	int i = which_side(t, e->id, &role);
	CHECK(ctx, i >= 0);
	struct side *s = &t->s[i];
	switch (e->type) {
	case SKYNET_SOCKET_TYPE_CONNECT:
		evt_text(e, sz, text, sizeof(text));
		if (role == 0 && s->port == 0) {
			s->port = e->ud;
			skynet_socket_start(ctx, s->listen_id);
			s->client = skynet_socket_connect(ctx, s->ip, s->port);
			CHECK(ctx, s->client >= 0);
			/* Sent while the connect is in progress: queued, then written first. */
			CHECK(ctx, skynet_socket_send(ctx, s->client, dup_text("early"), 5) == 0);
		} else if (role == 1) {
			CHECK(ctx, strcmp(text, s->ip) == 0);
			s->client_connected = 1;
			skynet_socket_nodelay(ctx, s->client);
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT: {
		evt_text(e, sz, text, sizeof(text));
		char want[64];
		snprintf(want, sizeof(want), "%s:", s->ip);
		CHECK(ctx, role == 0 && strncmp(text, want, strlen(want)) == 0);
		s->server = e->ud;
		skynet_socket_start(ctx, s->server);
		break;
	}
	case SKYNET_SOCKET_TYPE_DATA: {
		snprintf(text, sizeof(text), "%.*s", e->ud, e->buffer);
		skynet_free(e->buffer);
		if (role == 2) {
			CHECK(ctx, strcmp(text, "early") == 0 && !s->got_early);
			s->got_early = 1;
			CHECK(ctx, skynet_socket_send(ctx, s->server, dup_text("pong"), 4) == 0);
		} else {
			CHECK(ctx, role == 1 && s->client_connected && strcmp(text, "pong") == 0);
			s->got_pong = 1;
			if (i == V4) {
				char id[16];
				snprintf(id, sizeof(id), "%d", s->server);
				skynet_send(ctx, 0, t->helper, PTYPE_TEXT, 0, id, strlen(id));
			}
			check_done(t);
		}
		break;
	}
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d on %d", e->type, e->id);
		skynet_command(ctx, "ABORT", NULL);
	}
	return 0;
}

int
socket_connect_init(void *inst, struct skynet_context *ctx, const char *parm) {
	if (parm == NULL) /* launched without arguments */
		parm = "";
	if (parm && strncmp(parm, "helper ", 7) == 0) {
		skynet_callback(ctx, (void *)(uintptr_t)strtoul(parm + 7, NULL, 16), helper_cb);
		return 0;
	}
	struct conntest *t = &T;
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	socket_test_setup(ctx, t, cb, 3000, 0, &t->deadline, NULL);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "socket_connect helper %x", t->self);
	const char *h = skynet_command(ctx, "LAUNCH", cmd);
	CHECK_INIT(ctx, h != NULL);
	t->helper = strtoul(h + 1, NULL, 16);
	t->s[V4].ip = "127.0.0.1";
	t->s[V6].ip = "::1";
	for (int i = 0; i < FAMILIES; i++) {
		t->s[i].client = t->s[i].server = -1;
		t->s[i].listen_id = skynet_socket_listen(ctx, t->s[i].ip, 0, 8);
		CHECK_INIT(ctx, t->s[i].listen_id >= 0);
	}
	t->refused_id = skynet_socket_connect(ctx, "127.0.0.1", free_port(AF_INET, SOCK_STREAM));
	CHECK_INIT(ctx, t->refused_id >= 0);
	return 0;
}
