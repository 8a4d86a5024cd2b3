/* The harbor service: the link of this node to the other harbors of a master/slave network.
 *
 * It receives
 *  - PTYPE_SYSTEM remote_message blocks from the core: a message for a handle of another
 *    harbor, or for a global name;
 *  - PTYPE_HARBOR text commands from its slave service (cslave, or cdummy for harbor 0):
 *      "N name"   the sender of this command is the handle of the global name `name`
 *      "S fd id"  fd is a connection we opened to harbor id: send our id byte, wait for its
 *                 id byte, then exchange frames
 *      "A fd id"  fd is a connection harbor id opened to us (its id byte was read already):
 *                 send our id byte and exchange frames
 *  - PTYPE_SOCKET events of the links it owns.
 * It tells the slave (PTYPE_TEXT) "Q name" when a message waits for an unknown global name and
 * "D id" when the link to harbor id is lost.
 *
 * A frame on a link: a 4-byte big-endian length n (under 2^24), then n bytes: the payload
 * followed by three big-endian 32-bit words: source, (type << 24 | destination & 0xffffff),
 * session.
 *
 * Messages for a harbor whose link is not up yet wait in that harbor's queue (at most
 * LINK_WAIT_SECONDS: then they are refused, as no such harbor seems to exist); messages for
 * a harbor that is gone are refused with PTYPE_ERROR to the sender. Requests sent over a link
 * are remembered until their answer comes back, so that every caller still waiting when the
 * link drops gets PTYPE_ERROR. */
#include "skynet.h"
#include "skynet_harbor.h"
#include "skynet_handle.h"
#include "skynet_malloc.h"
#include "skynet_socket.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRAILER 12                 /* source, destination, session */
#define FRAME_LIMIT 0x1000000      /* the first length byte must be 0 */
#define NAME_BUCKETS 256
#define WAIT_BUCKETS 64
#define LINK_WAIT_SECONDS 10

/* a message waiting for a link or a name */
struct queued {
	struct queued *next;
	uint32_t source;
	uint32_t handle;    /* destination, 0 while waiting for a name */
	int type;
	int session;
	void *data;
	size_t sz;
	unsigned since;     /* the tick it was queued at */
};

struct fifo {
	struct queued *head;
	struct queued *tail;
};

/* a request sent over a link whose answer has not come back */
struct waiting {
	struct waiting *next;
	uint32_t caller;
	int session;
	uint32_t callee;
};

enum link_state {
	LINK_NONE = 0,      /* not linked yet: messages wait */
	LINK_HELLO,         /* we connected; waiting for the peer's id byte */
	LINK_UP,
	LINK_DOWN,          /* gone: messages are refused */
};

struct link {
	int fd;             /* 0: no socket */
	enum link_state state;
	struct fifo out;
	/* the frame being read */
	uint8_t len_bytes[4];
	int len_got;
	uint8_t *body;
	uint32_t body_len;
	uint32_t body_got;
	struct waiting *waits[WAIT_BUCKETS];
};

struct gname {
	struct gname *next;
	char name[GLOBALNAME_LENGTH];
	uint32_t handle;
	struct fifo pending;
};

struct harbor {
	struct skynet_context *ctx;
	int id;
	uint32_t slave;
	struct gname *names[NAME_BUCKETS];
	struct link links[REMOTE_MAX];
	unsigned tick;      /* seconds counted by the timer */
	int ticking;        /* a timer is pending */
};

/* ------------------------------------------------------------------ small helpers */

static void
fifo_push(struct fifo *f, struct queued *q) {
	q->next = NULL;
	if (f->tail)
		f->tail->next = q;
	else
		f->head = q;
	f->tail = q;
}

static struct queued *
fifo_take_all(struct fifo *f) {
	struct queued *all = f->head;
	f->head = f->tail = NULL;
	return all;
}

static int
wants_answer(int type, int session) {
	return session != 0 && type != PTYPE_RESPONSE && type != PTYPE_ERROR;
}

/* tell a sender that waits for an answer that its message went nowhere */
static void
answer_error(struct harbor *h, uint32_t from, uint32_t to, int type, int session) {
	if (wants_answer(type, session))
		skynet_send(h->ctx, from, to, PTYPE_ERROR, session, NULL, 0);
}

static void
put_be32(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned
name_bucket(const char name[GLOBALNAME_LENGTH]) {
	uint32_t v = 2166136261u;
	for (int i = 0; i < GLOBALNAME_LENGTH && name[i]; i++)
		v = (v ^ (uint8_t)name[i]) * 16777619u;
	return v % NAME_BUCKETS;
}

static struct gname *
name_get(struct harbor *h, const char name[GLOBALNAME_LENGTH], int create) {
	unsigned b = name_bucket(name);
	for (struct gname *g = h->names[b]; g; g = g->next) {
		if (memcmp(g->name, name, GLOBALNAME_LENGTH) == 0)
			return g;
	}
	if (!create)
		return NULL;
	struct gname *g = skynet_malloc(sizeof(*g));
	memset(g, 0, sizeof(*g));
	memcpy(g->name, name, GLOBALNAME_LENGTH);
	g->next = h->names[b];
	h->names[b] = g;
	return g;
}

/* ------------------------------------------------------------------ waiting callers */

static unsigned
wait_bucket(uint32_t caller, int session) {
	return (caller * 2654435761u ^ (uint32_t)session) % WAIT_BUCKETS;
}

static void
wait_add(struct link *l, uint32_t caller, int session, uint32_t callee) {
	struct waiting *w = skynet_malloc(sizeof(*w));
	unsigned b = wait_bucket(caller, session);
	w->caller = caller;
	w->session = session;
	w->callee = callee;
	w->next = l->waits[b];
	l->waits[b] = w;
}

static void
wait_remove(struct link *l, uint32_t caller, int session) {
	struct waiting **p = &l->waits[wait_bucket(caller, session)];
	while (*p) {
		struct waiting *w = *p;
		if (w->caller == caller && w->session == session) {
			*p = w->next;
			skynet_free(w);
			return;
		}
		p = &w->next;
	}
}

/* every caller still waiting on link l gets an error (when tell), and the records go */
static void
wait_fail_all(struct harbor *h, struct link *l, int tell) {
	for (int b = 0; b < WAIT_BUCKETS; b++) {
		struct waiting *w = l->waits[b];
		l->waits[b] = NULL;
		while (w) {
			struct waiting *next = w->next;
			if (tell)
				skynet_send(h->ctx, w->callee, w->caller, PTYPE_ERROR, w->session, NULL, 0);
			skynet_free(w);
			w = next;
		}
	}
}

/* ------------------------------------------------------------------ sending */

static void
send_frame(struct harbor *h, int id, uint32_t source, uint32_t handle, int type, int session, void *data, size_t sz) {
	struct link *l = &h->links[id];
	if (sz + TRAILER >= FRAME_LIMIT) {
		skynet_error(h->ctx, "remote message from :%08x to :%08x is too large (%zu bytes)", source, handle, sz);
		skynet_free(data);
		answer_error(h, handle, source, type, session);
		return;
	}
	size_t n = sz + TRAILER;
	uint8_t *frame = skynet_malloc(n + 4);
	put_be32(frame, (uint32_t)n);
	if (sz)
		memcpy(frame + 4, data, sz);
	skynet_free(data);
	uint8_t *t = frame + 4 + sz;
	put_be32(t, source);
	put_be32(t + 4, (uint32_t)type << HANDLE_REMOTE_SHIFT | (handle & HANDLE_MASK));
	put_be32(t + 8, (uint32_t)session);
	if (wants_answer(type, session))
		wait_add(l, source, session, handle);
	/* a failed send shows up as a close or error event of the link */
	skynet_socket_send(h->ctx, l->fd, frame, (int)(n + 4));
}

static struct queued *
make_queued(uint32_t source, uint32_t handle, int type, int session, void *data, size_t sz) {
	struct queued *q = skynet_malloc(sizeof(*q));
	q->next = NULL;
	q->source = source;
	q->handle = handle;
	q->type = type;
	q->session = session;
	q->data = data;
	q->sz = sz;
	return q;
}

/* route a message (data owned) to a known handle, local or on another harbor */
static void
route(struct harbor *h, uint32_t source, uint32_t handle, int type, int session, void *data, size_t sz) {
	int id = (int)(handle >> HANDLE_REMOTE_SHIFT);
	if (id == h->id) {
		if (skynet_send(h->ctx, source, handle, type | PTYPE_TAG_DONTCOPY, session, data, sz) < 0)
			answer_error(h, handle, source, type, session);
		return;
	}
	struct link *l = &h->links[id];
	switch (l->state) {
	case LINK_UP:
		send_frame(h, id, source, handle, type, session, data, sz);
		return;
	case LINK_DOWN:
		skynet_error(h->ctx, "Drop message to harbor %d from :%08x to :%08x (session = %d, size = %zu): harbor is down",
			id, source, handle, session, sz);
		skynet_free(data);
		answer_error(h, handle, source, type, session);
		return;
	default: {
		struct queued *q = make_queued(source, handle, type, session, data, sz);
		q->since = h->tick;
		fifo_push(&l->out, q);
		if (!h->ticking) {
			h->ticking = 1;
			skynet_command(h->ctx, "TIMEOUT", "100");
		}
		return;
	}
	}
}

/* once a second while messages wait for links: those waiting too long are refused */
static void
tick(struct harbor *h) {
	h->tick++;
	h->ticking = 0;
	int waiting = 0;
	for (int id = 1; id < REMOTE_MAX; id++) {
		struct link *l = &h->links[id];
		if (l->out.head == NULL || l->state == LINK_UP)
			continue;
		if (h->tick - l->out.head->since < LINK_WAIT_SECONDS) {
			waiting = 1;
			continue;
		}
		int n = 0;
		struct queued *q = fifo_take_all(&l->out);
		while (q) {
			struct queued *next = q->next;
			answer_error(h, q->handle, q->source, q->type, q->session);
			skynet_free(q->data);
			skynet_free(q);
			q = next;
			n++;
		}
		skynet_error(h->ctx, "Harbor %d did not link within %d s: %d message(s) refused", id, LINK_WAIT_SECONDS, n);
	}
	if (waiting) {
		h->ticking = 1;
		skynet_command(h->ctx, "TIMEOUT", "100");
	}
}

static void
flush_link(struct harbor *h, int id) {
	struct queued *q = fifo_take_all(&h->links[id].out);
	while (q) {
		struct queued *next = q->next;
		route(h, q->source, q->handle, q->type, q->session, q->data, q->sz);
		skynet_free(q);
		q = next;
	}
}

static void
to_name(struct harbor *h, uint32_t source, const char name[GLOBALNAME_LENGTH], int type, int session, void *data, size_t sz) {
	struct gname *g = name_get(h, name, 1);
	if (g->handle) {
		route(h, source, g->handle, type, session, data, sz);
		return;
	}
	int first = g->pending.head == NULL;
	fifo_push(&g->pending, make_queued(source, 0, type, session, data, sz));
	if (first && h->slave) {
		char query[2 + GLOBALNAME_LENGTH];
		size_t len = strnlen(name, GLOBALNAME_LENGTH);
		query[0] = 'Q';
		query[1] = ' ';
		memcpy(query + 2, name, len);
		skynet_send(h->ctx, 0, h->slave, PTYPE_TEXT, 0, query, 2 + len);
	}
}

static void
set_name(struct harbor *h, const char name[GLOBALNAME_LENGTH], uint32_t handle) {
	struct gname *g = name_get(h, name, 1);
	g->handle = handle;
	struct queued *q = fifo_take_all(&g->pending);
	while (q) {
		struct queued *next = q->next;
		route(h, q->source, handle, q->type, q->session, q->data, q->sz);
		skynet_free(q);
		q = next;
	}
}

/* ------------------------------------------------------------------ links */

static void
reset_reader(struct link *l) {
	skynet_free(l->body);
	l->body = NULL;
	l->body_len = l->body_got = 0;
	l->len_got = 0;
}

/* the link to harbor id is gone: refuse what waits, fail what was asked, tell the slave */
static void
link_down(struct harbor *h, int id, int tell) {
	struct link *l = &h->links[id];
	if (l->fd) {
		skynet_socket_close(h->ctx, l->fd);
		l->fd = 0;
	}
	l->state = LINK_DOWN;
	reset_reader(l);
	struct queued *q = fifo_take_all(&l->out);
	while (q) {
		struct queued *next = q->next;
		if (tell)
			answer_error(h, q->handle, q->source, q->type, q->session);
		skynet_free(q->data);
		skynet_free(q);
		q = next;
	}
	wait_fail_all(h, l, tell);
	if (tell && h->slave) {
		char text[16];
		int n = snprintf(text, sizeof(text), "D %d", id);
		skynet_send(h->ctx, 0, h->slave, PTYPE_TEXT, 0, text, (size_t)n);
	}
}

static void
say_hello(struct harbor *h, int fd) {
	uint8_t *b = skynet_malloc(1);
	b[0] = (uint8_t)h->id;
	skynet_socket_send(h->ctx, fd, b, 1);
}

static void
link_command(struct harbor *h, char kind, const char *arg, size_t len) {
	char text[64];
	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, arg, len);
	text[len] = '\0';
	int fd = 0, id = 0;
	if (sscanf(text, "%d %d", &fd, &id) != 2 || fd <= 0 || id <= 0 || id >= REMOTE_MAX || id == h->id) {
		skynet_error(h->ctx, "Invalid harbor command %c %s", kind, text);
		return;
	}
	struct link *l = &h->links[id];
	if (l->fd != 0) {
		skynet_error(h->ctx, "Harbor %d already exist (fd = %d), new fd %d refused", id, l->fd, fd);
		skynet_socket_close(h->ctx, fd);
		return;
	}
	l->fd = fd;
	reset_reader(l);
	skynet_socket_start(h->ctx, fd);
	say_hello(h, fd);
	if (kind == 'S') {
		l->state = LINK_HELLO;
	} else {
		l->state = LINK_UP;
		flush_link(h, id);
	}
}

/* a whole frame from harbor id: deliver it here; body (n bytes) is handed on or freed */
static void
frame_in(struct harbor *h, int id, uint8_t *body, uint32_t n) {
	const uint8_t *t = body + n - TRAILER;
	uint32_t source = get_be32(t);
	uint32_t dest = get_be32(t + 4);
	int session = (int)get_be32(t + 8);
	int type = (int)(dest >> HANDLE_REMOTE_SHIFT);
	uint32_t handle = (dest & HANDLE_MASK) | (uint32_t)h->id << HANDLE_REMOTE_SHIFT;
	if (type == PTYPE_RESPONSE || type == PTYPE_ERROR)
		wait_remove(&h->links[id], handle, session);
	if (skynet_send(h->ctx, source, handle, type | PTYPE_TAG_DONTCOPY, session, body, n - TRAILER) < 0) {
		skynet_error(h->ctx, "Unknown destination :%x from :%x type(%d)", handle, source, type);
		if (wants_answer(type, session))
			route(h, handle, source, PTYPE_ERROR, session, NULL, 0);
	}
}

/* bytes from the link of harbor id; returns 0 when the link must be dropped */
static int
link_read(struct harbor *h, int id, const uint8_t *p, size_t n) {
	struct link *l = &h->links[id];
	if (l->state == LINK_HELLO && n > 0) {
		if (p[0] != (uint8_t)id) {
			skynet_error(h->ctx, "Invalid handshake id (%d) from fd %d, expected harbor %d", p[0], l->fd, id);
			return 0;
		}
		p++;
		n--;
		l->state = LINK_UP;
		flush_link(h, id);
	}
	while (n > 0) {
		if (l->body == NULL) {
			size_t need = 4 - (size_t)l->len_got;
			size_t take = n < need ? n : need;
			memcpy(l->len_bytes + l->len_got, p, take);
			l->len_got += (int)take;
			p += take;
			n -= take;
			if (l->len_got < 4)
				return 1;
			if (l->len_bytes[0] != 0) {
				skynet_error(h->ctx, "Message is too long from harbor %d", id);
				return 0;
			}
			uint32_t len = get_be32(l->len_bytes);
			if (len < TRAILER) {
				skynet_error(h->ctx, "Malformed message (%u bytes) from harbor %d", len, id);
				return 0;
			}
			l->body = skynet_malloc(len);
			l->body_len = len;
			l->body_got = 0;
			continue;
		}
		size_t need = l->body_len - l->body_got;
		size_t take = n < need ? n : need;
		memcpy(l->body + l->body_got, p, take);
		l->body_got += (uint32_t)take;
		p += take;
		n -= take;
		if (l->body_got == l->body_len) {
			uint8_t *body = l->body;
			uint32_t len = l->body_len;
			l->body = NULL;
			l->len_got = 0;
			frame_in(h, id, body, len);
		}
	}
	return 1;
}

static int
link_of_fd(struct harbor *h, int fd) {
	for (int i = 1; i < REMOTE_MAX; i++) {
		if (h->links[i].fd == fd)
			return i;
	}
	return 0;
}

static void
socket_event(struct harbor *h, const struct skynet_socket_message *m) {
	int id = m->id > 0 ? link_of_fd(h, m->id) : 0;
	switch (m->type) {
	case SKYNET_SOCKET_TYPE_DATA:
		if (id == 0) {
			skynet_error(h->ctx, "Invalid socket fd (%d) data", m->id);
		} else if (!link_read(h, id, (const uint8_t *)m->buffer, (size_t)m->ud)) {
			link_down(h, id, 1);
		}
		skynet_free(m->buffer);
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
	case SKYNET_SOCKET_TYPE_ERROR:
		if (id) {
			skynet_error(h->ctx, "Harbor %d (fd = %d) is down", id, m->id);
			h->links[id].fd = 0;   /* already closed by the socket server */
			link_down(h, id, 1);
		}
		break;
	case SKYNET_SOCKET_TYPE_WARNING:
		if (id)
			skynet_error(h->ctx, "message havn't send to Harbor (%d) reach %d K", id, m->ud);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ service */

static void
slave_command(struct harbor *h, const char *msg, size_t sz, uint32_t source) {
	if (sz < 2 || msg[1] != ' ') {
		skynet_error(h->ctx, "Unknown harbor command %.*s from :%08x", (int)sz, msg, source);
		return;
	}
	const char *arg = msg + 2;
	size_t len = sz - 2;
	switch (msg[0]) {
	case 'N': {
		if (len == 0 || len >= GLOBALNAME_LENGTH) {
			skynet_error(h->ctx, "Invalid global name %.*s", (int)len, arg);
			return;
		}
		char name[GLOBALNAME_LENGTH];
		memset(name, 0, sizeof(name));
		memcpy(name, arg, len);
		set_name(h, name, source);
		break;
	}
	case 'S':
	case 'A':
		link_command(h, msg[0], arg, len);
		break;
	default:
		skynet_error(h->ctx, "Unknown harbor command %.*s from :%08x", (int)sz, msg, source);
		break;
	}
}

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct harbor *h = ud;
	switch (type) {
	case PTYPE_SYSTEM: {
		if (sz != sizeof(struct remote_message)) {
			skynet_error(ctx, "harbor got a malformed remote message (%zu bytes) from :%08x", sz, source);
			return 0;
		}
		const struct remote_message *r = msg;
		void *data = (void *)r->message;
		if (r->destination.handle != 0)
			route(h, source, r->destination.handle, r->type, session, data, r->sz);
		else
			to_name(h, source, r->destination.name, r->type, session, data, r->sz);
		return 0;
	}
	case PTYPE_HARBOR:
		slave_command(h, msg, sz, source);
		return 0;
	case PTYPE_SOCKET:
		socket_event(h, msg);
		return 0;
	case PTYPE_RESPONSE:
		if (source == 0) {   /* our timer */
			tick(h);
			return 0;
		}
		/* fall through */
	default:
		skynet_error(ctx, "recv invalid message from :%08x, type = %d", source, type);
		answer_error(h, 0, source, type, session);
		return 0;
	}
}

struct harbor *
harbor_create(void) {
	struct harbor *h = skynet_malloc(sizeof(*h));
	memset(h, 0, sizeof(*h));
	return h;
}

void
harbor_release(struct harbor *h) {
	/* no skynet_send here: the node is going down */
	for (int i = 1; i < REMOTE_MAX; i++)
		link_down(h, i, 0);
	for (int b = 0; b < NAME_BUCKETS; b++) {
		struct gname *g = h->names[b];
		while (g) {
			struct gname *next = g->next;
			struct queued *q = fifo_take_all(&g->pending);
			while (q) {
				struct queued *qn = q->next;
				skynet_free(q->data);
				skynet_free(q);
				q = qn;
			}
			skynet_free(g);
			g = next;
		}
	}
	skynet_free(h);
}

int
harbor_init(struct harbor *h, struct skynet_context *ctx, const char *args) {
	int id = 0;
	unsigned slave = 0;
	/* "id slave": the slave's handle in decimal, as skynet.launch passes numbers */
	if (args == NULL || sscanf(args, "%d %u", &id, &slave) != 2 || slave == 0 || id < 0 || id >= REMOTE_MAX) {
		skynet_error(ctx, "harbor needs \"id slave\", got \"%s\"", args ? args : "");
		return 1;
	}
	h->ctx = ctx;
	h->id = id;
	h->slave = slave;
	if (id == 0) {
		/* a single node: no other harbor will ever be linked */
		for (int i = 1; i < REMOTE_MAX; i++)
			h->links[i].state = LINK_DOWN;
	}
	skynet_callback(ctx, h, on_message);
	skynet_harbor_start(ctx);
	return 0;
}
