/* close vs shutdown, and the other ways a connection ends.
 *  A: 8 MiB pending (as OBJECT buffers) then close: CLOSE at once, the client still gets
 *     every byte, then the end of the stream; a send after close is refused and freed.
 *  B: 8 MiB pending then shutdown: CLOSE at once, the pending data is dropped.
 *  C: the client half-closes: CLOSE, then the server may still answer before closing
 *     (no second CLOSE).
 *  D: the client resets the connection: ERROR and/or CLOSE, then the server's close.
 *  E: closing the listener: CLOSE for it, and new connections are refused.
 * Sends to unknown ids are refused and their buffers freed; every OBJECT is freed once. */
#include "socket_test.h"

#define BULK (8u << 20)
#define OBJ (128u << 10)
#define SEED 0xc105eu

struct obj {
	uint32_t magic;
	size_t len;
	uint8_t data[];
};

static int objects_made, objects_freed, objects_bad;

static const void *obj_buffer(const void *o) { return ((const struct obj *)o)->data; }
static size_t obj_size(const void *o) { return ((const struct obj *)o)->len; }
static void
obj_free(void *o) {
	struct obj *ob = o;
	if (ob->magic != 0x0b1ec7)
		__atomic_add_fetch(&objects_bad, 1, __ATOMIC_SEQ_CST);
	ob->magic = 0;
	__atomic_add_fetch(&objects_freed, 1, __ATOMIC_SEQ_CST);
	free(ob);
}

static struct obj *
obj_new(size_t len, uint64_t offset) {
	struct obj *o = malloc(sizeof(*o) + len);
	o->magic = 0x0b1ec7;
	o->len = len;
	fill_pattern(o->data, len, offset, SEED);
	objects_made++;
	return o;
}

enum { A, B, C, D, ROLES };

struct closetest {
	struct skynet_context *ctx;
	uint32_t self;
	int deadline;
	int listen_id;
	int port;
	int ids[ROLES];
	int accepted;
	int closes[ROLES];
	int errors[ROLES];
	int c_data;
	int d_reset;
	int listen_closed;
	int go[2];
	pthread_t client;
};

static int
wait_go(struct closetest *t) {
	char c;
	struct pollfd p = { t->go[0], POLLIN, 0 };
	return poll(&p, 1, 20000) == 1 && read(t->go[0], &c, 1) == 1;
}

static void
go(struct closetest *t) {
	if (write(t->go[1], "g", 1) != 1)
		skynet_error(t->ctx, "TEST FAIL go pipe");
}

static void *
client_main(void *arg) {
	struct closetest *t = arg;
	uint8_t *buf = malloc(1 << 20);
	/* A */
	int fd = tcp_connect("127.0.0.1", t->port, 10000);
	if (fd < 0 || !wait_go(t)) {
		notify(t->self, "fail A setup");
		return NULL;
	}
	uint64_t got = 0;
	while (got < BULK) {
		size_t n = read_exact(fd, buf, 1 << 20, 10000);
		if (n == 0 || check_pattern(buf, n, got, SEED) >= 0)
			break;
		got += n;
	}
	if (got != BULK || wait_eof(fd, 10000) != 1) {
		notify(t->self, "fail A got %llu of %u, or no eof", (unsigned long long)got, BULK);
		return NULL;
	}
	close(fd);
	notify(t->self, "A ok");
	/* B */
	fd = tcp_connect("127.0.0.1", t->port, 10000);
	if (fd < 0 || !wait_go(t)) {
		notify(t->self, "fail B setup");
		return NULL;
	}
	got = 0;
	for (;;) {
		size_t n = read_exact(fd, buf, 1 << 20, 10000);
		got += n;
		if (n < (1 << 20))
			break;
	}
	close(fd);
	notify(t->self, "B got %llu", (unsigned long long)got);
	/* C */
	fd = tcp_connect("127.0.0.1", t->port, 10000);
	char reply[5];
	if (fd < 0 || write_all(fd, "hello", 5, 5000) != 0) {
		notify(t->self, "fail C setup");
		return NULL;
	}
	shutdown(fd, SHUT_WR);
	if (read_exact(fd, reply, 5, 10000) != 5 || memcmp(reply, "reply", 5) != 0 || wait_eof(fd, 10000) != 1) {
		notify(t->self, "fail C: no reply after half-close");
		return NULL;
	}
	close(fd);
	notify(t->self, "C ok");
	/* D */
	fd = tcp_connect("127.0.0.1", t->port, 10000);
	struct linger lg = { 1, 0 };
	if (fd < 0 || write_all(fd, "x", 1, 5000) != 0 || !wait_go(t)) {
		notify(t->self, "fail D setup");
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd); /* with linger 0: a reset */
	notify(t->self, "D reset");
	/* E */
	if (!wait_go(t)) {
		notify(t->self, "fail E setup");
		return NULL;
	}
	fd = tcp_connect("127.0.0.1", t->port, 5000);
	if (fd >= 0 || errno != ECONNREFUSED) {
		notify(t->self, "fail E: connect after the listener closed: %s", fd >= 0 ? "accepted" : strerror(errno));
		return NULL;
	}
	free(buf);
	notify(t->self, "E refused");
	return NULL;
}

static int
role_of(struct closetest *t, int id) {
	for (int i = 0; i < ROLES; i++)
		if (t->ids[i] == id)
			return i;
	return -1;
}

static int
on_start(struct closetest *t, int role) {
	struct skynet_context *ctx = t->ctx;
	int id = t->ids[role];
	if (role == A) {
		for (uint64_t off = 0; off < BULK; off += OBJ) {
			struct socket_sendbuffer b = { id, SOCKET_BUFFER_OBJECT, obj_new(OBJ, off), 0 };
			CHECK(ctx, skynet_socket_sendbuffer(ctx, &b) == 0);
		}
		skynet_socket_close(ctx, id);
		/* Closing: a further send is refused (and its object freed). */
		struct socket_sendbuffer late = { id, SOCKET_BUFFER_OBJECT, obj_new(16, 0), 0 };
		CHECK(ctx, skynet_socket_sendbuffer(ctx, &late) == -1);
		go(t);
	} else if (role == B) {
		for (uint64_t off = 0; off < BULK; off += OBJ) {
			char *chunk = skynet_malloc(OBJ);
			memset(chunk, 'b', OBJ);
			CHECK(ctx, skynet_socket_send(ctx, id, chunk, OBJ) == 0);
		}
		skynet_socket_shutdown(ctx, id);
		go(t);
	}
	return 0;
}

static int
finish(struct closetest *t) {
	struct skynet_context *ctx = t->ctx;
	/* Unknown ids: refused, buffers freed (the object count proves it for OBJECTs). */
	CHECK_INIT(ctx, skynet_socket_send(ctx, 0x7654321, skynet_malloc(10), 10) == -1);
	struct socket_sendbuffer b = { 0x7654321, SOCKET_BUFFER_OBJECT, obj_new(8, 0), 0 };
	CHECK_INIT(ctx, skynet_socket_sendbuffer(ctx, &b) == -1);
	CHECK_INIT(ctx, skynet_socket_send(ctx, t->ids[C], skynet_malloc(10), 10) == -1);
	skynet_socket_close(ctx, 0x7654321);
	skynet_socket_shutdown(ctx, t->ids[A]);
	skynet_error(ctx, "objects made %d, freed %d", objects_made, objects_freed);
	CHECK_INIT(ctx, objects_freed == objects_made && objects_bad == 0);
	for (int i = 0; i < ROLES; i++)
		CHECK_INIT(ctx, t->closes[i] <= 1);
	CHECK_INIT(ctx, t->closes[A] == 1 && t->closes[B] == 1 && t->closes[C] == 1);
	CHECK_INIT(ctx, t->closes[D] + t->errors[D] >= 1);
	CHECK_INIT(ctx, t->listen_closed == 1);
	return 0;
}

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct closetest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out");
	if (type == PTYPE_TEXT) {
		char text[256];
		snprintf(text, sizeof(text), "%.*s", (int)sz, (const char *)msg);
		skynet_error(ctx, "client: %s", text);
		if (strncmp(text, "fail", 4) == 0) {
			skynet_error(ctx, "TEST FAIL client: %s", text);
			skynet_command(ctx, "ABORT", NULL);
		} else if (strncmp(text, "B got ", 6) == 0) {
			CHECK(ctx, strtoull(text + 6, NULL, 10) < BULK);
		} else if (strcmp(text, "D reset") == 0) {
			t->d_reset = 1;
		} else if (strcmp(text, "E refused") == 0) {
			pthread_join(t->client, NULL);
			if (finish(t) == 0)
				test_pass(ctx);
		}
		if (t->d_reset && t->closes[D] + t->errors[D] > 0 && !t->listen_closed) {
			skynet_socket_close(ctx, t->listen_id);
			t->listen_closed = -1;
		}
		return 0;
	}
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	int role = role_of(t, e->id);
	switch (e->type) {
	case SKYNET_SOCKET_TYPE_CONNECT:
		if (e->id == t->listen_id) {
			if (t->port == 0) {
				t->port = e->ud;
				skynet_socket_start(ctx, t->listen_id);
				CHECK(ctx, pthread_create(&t->client, NULL, client_main, t) == 0);
			}
		} else {
			CHECK(ctx, role >= 0);
			return on_start(t, role);
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT:
		CHECK(ctx, t->accepted < ROLES);
		t->ids[t->accepted++] = e->ud;
		skynet_socket_start(ctx, e->ud);
		break;
	case SKYNET_SOCKET_TYPE_DATA:
		CHECK(ctx, role == C || role == D);
		if (role == C) {
			CHECK(ctx, e->ud == 5 && memcmp(e->buffer, "hello", 5) == 0);
			t->c_data = 1;
		} else {
			go(t);
		}
		skynet_free(e->buffer);
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
		if (e->id == t->listen_id) {
			CHECK(ctx, t->listen_closed == -1);
			t->listen_closed = 1;
			go(t);
			break;
		}
		CHECK(ctx, role >= 0);
		t->closes[role]++;
		if (role == C) {
			CHECK(ctx, t->c_data);
			/* The peer's half-close: we can still answer, then close. */
			char *reply = skynet_malloc(5);
			memcpy(reply, "reply", 5);
			CHECK(ctx, skynet_socket_send(ctx, e->id, reply, 5) == 0);
			skynet_socket_close(ctx, e->id);
		} else if (role == D) {
			skynet_socket_close(ctx, e->id);
		}
		break;
	case SKYNET_SOCKET_TYPE_WARNING:
		CHECK(ctx, role == A || role == B);
		break;
	case SKYNET_SOCKET_TYPE_ERROR:
		CHECK(ctx, role == D);
		t->errors[D]++;
		skynet_socket_close(ctx, e->id);
		break;
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d on %d", e->type, e->id);
		skynet_command(ctx, "ABORT", NULL);
		return 0;
	}
	if (t->d_reset && t->closes[D] + t->errors[D] > 0 && !t->listen_closed) {
		skynet_socket_close(ctx, t->listen_id);
		t->listen_closed = -1;
	}
	return 0;
}

static struct closetest T;

int
socket_close_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct closetest *t = &T;
	static const struct socket_object_interface soi = { obj_buffer, obj_size, obj_free };
	skynet_socket_userobject(&soi);
	t->ctx = ctx;
	t->self = skynet_context_handle(ctx);
	for (int i = 0; i < ROLES; i++)
		t->ids[i] = -1;
	CHECK_INIT(ctx, pipe(t->go) == 0);
	CHECK_INIT(ctx, socket_test_setup(ctx, t, cb, 6000, 8, &t->deadline, &t->listen_id) == 0);
	return 0;
}
