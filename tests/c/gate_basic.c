/* The gate's protocol, with this service as its watchdog and a client thread on loopback:
 *  open report ("<id> open <id> <addr>:0"), start, frames reassembled from single bytes,
 *  empty frames skipped, several frames in one write, "<id> data <frame>" (session = id);
 *  forward to an agent (client_tag message, session = id, source = the client handle) and
 *  the agent's PTYPE_CLIENT answer (id in the last 4 bytes) written raw to the client;
 *  accept (frames back to the watchdog); broker (for every connection, new ones too); kick ("<id> close", the client sees the
 *  end); close (no more connections) and open (listening again). */
#include "socket_test.h"

enum { S_CONNECT, S_FRAMES, S_AGENT, S_ACCEPT, S_BROKER, S_KICK, S_CLOSE, S_OPEN, S_DONE };

struct gatetest {
	struct skynet_context *ctx;
	uint32_t self;
	uint32_t gate;
	uint32_t agent;
	uint32_t broker;
	int deadline;
	int port;
	int step;
	int id;
	int second_id;
	int frames;
	int agent_ok;
	int reply_ok;
	int closed;
	int go[2];
	pthread_t client;
};

static struct gatetest T;

static void
to_gate(struct gatetest *t, const char *fmt, ...) {
	char text[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	skynet_send(t->ctx, 0, t->gate, PTYPE_TEXT, 0, text, n);
}

static void
go(struct gatetest *t) {
	if (write(t->go[1], "g", 1) != 1)
		skynet_error(t->ctx, "TEST FAIL go pipe");
}

static int
wait_go(struct gatetest *t) {
	char c;
	struct pollfd p = { t->go[0], POLLIN, 0 };
	return poll(&p, 1, 20000) == 1 && read(t->go[0], &c, 1) == 1;
}

static int
send_frame(int fd, const char *s) {
	size_t n = strlen(s);
	uint8_t buf[512];
	buf[0] = n >> 8;
	buf[1] = n;
	memcpy(buf + 2, s, n);
	return write_all(fd, buf, n + 2, 5000);
}

static void *
client_main(void *arg) {
	struct gatetest *t = arg;
	int fd = tcp_connect("127.0.0.1", t->port, 10000);
	if (fd < 0 || !wait_go(t)) {
		notify(t->self, "fail connect");
		return NULL;
	}
	/* S_FRAMES: "hello" one byte at a time, an empty frame, then "a" and "bb" together. */
	const uint8_t hello[] = { 0, 5, 'h', 'e', 'l', 'l', 'o' };
	for (size_t i = 0; i < sizeof(hello); i++) {
		if (write_all(fd, hello + i, 1, 5000) != 0)
			goto broken;
	}
	const uint8_t more[] = { 0, 0, 0, 1, 'a', 0, 2, 'b', 'b' };
	if (write_all(fd, more, sizeof(more), 5000) != 0 || !wait_go(t))
		goto broken;
	/* S_AGENT */
	char reply[32];
	if (send_frame(fd, "to-agent") != 0 || read_exact(fd, reply, 14, 10000) != 14 || memcmp(reply, "reply:to-agent", 14) != 0)
		goto broken;
	notify(t->self, "client got reply");
	if (!wait_go(t))
		goto broken;
	/* S_ACCEPT */
	if (send_frame(fd, "back") != 0 || !wait_go(t))
		goto broken;
	/* S_BROKER */
	if (send_frame(fd, "to-broker") != 0 || !wait_go(t))
		goto broken;
	/* S_KICK */
	if (wait_eof(fd, 10000) < 0)
		goto broken;
	close(fd);
	notify(t->self, "client kicked");
	if (!wait_go(t))
		goto broken;
	/* S_CLOSE */
	fd = tcp_connect("127.0.0.1", t->port, 5000);
	if (fd >= 0 || errno != ECONNREFUSED) {
		notify(t->self, "fail connected after close");
		return NULL;
	}
	notify(t->self, "client refused");
	if (!wait_go(t))
		goto broken;
	/* S_OPEN */
	fd = tcp_connect("127.0.0.1", t->port, 5000);
	if (fd < 0 || send_frame(fd, "again") != 0 || !wait_go(t))
		goto broken;
	close(fd);
	return NULL;
broken:
	notify(t->self, "fail client at step %d: %s", t->step, strerror(errno));
	return NULL;
}

/* Whether the gate is listening (the close and open commands act on the gate's turn). */
static int
listening(void) {
	int n = 0;
	struct socket_info *list = skynet_socket_info();
	for (struct socket_info *si = list; si; si = si->next)
		n += si->type == SOCKET_INFO_LISTEN;
	socket_info_release(list);
	return n > 0;
}

static int
helper_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	const char *role = ud;
	uint32_t main = T.self;
	if (type != PTYPE_CLIENT)
		return 0;
	if (strcmp(role, "agent") == 0) {
		if (source != 0xabcd || sz != 8 || memcmp(msg, "to-agent", 8) != 0) {
			notify(main, "fail agent got %zu bytes from %x", sz, source);
			return 0;
		}
		/* Answer through the gate: payload, then the connection id (little-endian). */
		uint8_t *out = skynet_malloc(6 + sz + 4);
		memcpy(out, "reply:", 6);
		memcpy(out + 6, msg, sz);
		uint32_t id = session;
		for (int i = 0; i < 4; i++)
			out[6 + sz + i] = id >> (8 * i);
		skynet_send(ctx, 0, T.gate, PTYPE_CLIENT | PTYPE_TAG_DONTCOPY, 0, out, 6 + sz + 4);
		notify(main, "agent ok %d", session);
	} else {
		notify(main, "broker got %d %.*s", session, (int)sz, (const char *)msg);
	}
	return 0;
}

static int
on_text(struct gatetest *t, uint32_t source, int session, const char *text) {
	struct skynet_context *ctx = t->ctx;
	int id;
	char word[64];
	if (strncmp(text, "fail", 4) == 0) {
		skynet_error(ctx, "TEST FAIL %s", text);
		skynet_command(ctx, "ABORT", NULL);
		return 0;
	}
	if (source == t->gate) {
		if (sscanf(text, "%d open %d %63s", &id, &session, word) == 3) {
			CHECK(ctx, strncmp(word, "127.0.0.1:", 10) == 0 && strcmp(word + strlen(word) - 2, ":0") == 0);
			if (t->step == S_CONNECT) {
				t->id = id;
				to_gate(t, "start %d", id);
				t->step = S_FRAMES;
				go(t);
			} else {
				CHECK(ctx, t->step == S_OPEN);
				t->second_id = id;
				to_gate(t, "start %d", id);
			}
		} else if (sscanf(text, "%d data %63s", &id, word) == 2) {
			CHECK(ctx, session == id);
			if (t->step == S_FRAMES) {
				static const char *want[] = { "hello", "a", "bb" };
				CHECK(ctx, id == t->id && strcmp(word, want[t->frames]) == 0);
				if (++t->frames == 3) {
					to_gate(t, "forward %d :%x :%x", id, t->agent, 0xabcd);
					t->step = S_AGENT;
					go(t);
				}
			} else if (t->step == S_ACCEPT) {
				CHECK(ctx, id == t->id && strcmp(word, "back") == 0);
				to_gate(t, "broker .gate_broker");
				t->step = S_BROKER;
				go(t);
			} else {
				skynet_error(ctx, "TEST FAIL frame for the watchdog at step %d: %s", t->step, text);
				skynet_command(ctx, "ABORT", NULL);
			}
		} else if (sscanf(text, "%d close", &id) == 1) {
			/* After the kick (the client may see its end first). */
			CHECK(ctx, id == t->id && (t->step == S_KICK || t->step == S_CLOSE) && !t->closed);
			t->closed = 1;
		} else {
			skynet_error(ctx, "TEST FAIL unexpected report: %s", text);
			skynet_command(ctx, "ABORT", NULL);
		}
		return 0;
	}
	if (sscanf(text, "agent ok %d", &id) == 1) {
		CHECK(ctx, id == t->id);
		t->agent_ok = 1;
	} else if (strcmp(text, "client got reply") == 0) {
		t->reply_ok = 1;
	} else if (sscanf(text, "broker got %d %63s", &id, word) == 2 && t->step == S_OPEN) {
		/* The broker stays: the new connection's frames go there too. */
		CHECK(ctx, id == t->second_id && strcmp(word, "again") == 0);
		go(t);
		pthread_join(t->client, NULL);
		CHECK(ctx, t->closed);
		test_pass(ctx);
	} else if (sscanf(text, "broker got %d %63s", &id, word) == 2) {
		CHECK(ctx, t->step == S_BROKER && id == t->id && strcmp(word, "to-broker") == 0);
		to_gate(t, "kick %d", id);
		t->step = S_KICK;
		go(t);
	} else if (strcmp(text, "client kicked") == 0) {
		to_gate(t, "close");
		t->step = S_CLOSE;
		skynet_send(ctx, 0, t->self, PTYPE_TEXT, 0, "poll", 4);
	} else if (strcmp(text, "poll") == 0) {
		/* Wait (through our own queue, not a sleep) until the gate has acted. */
		if (listening() == (t->step == S_CLOSE))
			skynet_send(ctx, 0, t->self, PTYPE_TEXT, 0, "poll", 4);
		else
			go(t);
	} else if (strcmp(text, "client refused") == 0) {
		to_gate(t, "open 127.0.0.1:%d", t->port);
		t->step = S_OPEN;
		skynet_send(ctx, 0, t->self, PTYPE_TEXT, 0, "poll", 4);
	}
	if (t->step == S_AGENT && t->agent_ok && t->reply_ok) {
		t->agent_ok = 0;
		to_gate(t, "accept %d", t->id);
		t->step = S_ACCEPT;
		go(t);
	}
	return 0;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct gatetest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out at step %d", t->step);
	if (type != PTYPE_TEXT)
		return 0;
	char text[512];
	snprintf(text, sizeof(text), "%.*s", (int)sz, (const char *)msg);
	return on_text(t, source, session, text);
}

int
gate_basic_init(void *inst, struct skynet_context *ctx, const char *parm) {
	if (parm == NULL) /* launched without arguments */
		parm = "";
	if (parm && (strcmp(parm, "agent") == 0 || strcmp(parm, "broker") == 0)) {
		skynet_callback(ctx, strcmp(parm, "agent") == 0 ? "agent" : "broker", helper_cb);
		return 0;
	}
	struct gatetest *t = &T;
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	t->id = t->second_id = -1;
	CHECK_INIT(ctx, pipe(t->go) == 0);
	socket_test_setup(ctx, t, cb, 3000, 0, &t->deadline, NULL);
	const char *h = skynet_command(ctx, "LAUNCH", "gate_basic agent");
	CHECK_INIT(ctx, h);
	t->agent = strtoul(h + 1, NULL, 16);
	h = skynet_command(ctx, "LAUNCH", "gate_basic broker");
	CHECK_INIT(ctx, h);
	t->broker = strtoul(h + 1, NULL, 16);
	/* The broker gets a local name for the "broker" command. */
	char reg[64];
	snprintf(reg, sizeof(reg), ".gate_broker :%x", t->broker);
	skynet_command(ctx, "NAME", reg);
	for (int tries = 0; tries < 20 && !t->gate; tries++) {
		char cmd[128];
		t->port = free_port(AF_INET, SOCK_STREAM);
		snprintf(cmd, sizeof(cmd), "gate S :%x 127.0.0.1:%d 0 16", t->self, t->port);
		h = skynet_command(ctx, "LAUNCH", cmd);
		if (h)
			t->gate = strtoul(h + 1, NULL, 16);
	}
	CHECK_INIT(ctx, t->gate);
	CHECK_INIT(ctx, pthread_create(&t->client, NULL, client_main, t) == 0);
	return 0;
}
