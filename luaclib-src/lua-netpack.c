/*
 * skynet.netpack : splits a TCP byte stream into packets framed by a
 * 2-byte big-endian length, as used by gateserver.
 *
 *   filter(queue, msg, sz) -> queue, kind, ...
 *       kind "data"    fd, block, size   exactly one packet completed
 *       kind "more"                      several packets are in the queue
 *       kind "open"    fd, address       a connection was accepted
 *       kind "close"   fd
 *       kind "error"   fd, message
 *       kind "warning" fd, size
 *       kind "init"    id, address, ud   an outgoing connection is ready
 *     (only the queue when a packet is still incomplete).  The queue
 *     object is created on demand and must be passed back on every call.
 *   pop(queue)        -> fd, block, size   (nothing when empty)
 *   pack(str | ptr, sz) -> block, size     frame a packet
 *   tostring(ptr, sz) -> string, frees the block
 *   clear(queue)      free everything held by the queue
 *   partials(queue)   -> { fd, got, want, ... } packets still incomplete (ours)
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_malloc.h"
#include "skynet_socket.h"

#define QUEUE_MT "skynet.netpack.queue"
#define PARTIAL_BUCKETS 1024    /* power of two */
#define INITIAL_RING 256

/* upvalue positions of the kind names */
enum {
	UV_DATA = 1,
	UV_MORE,
	UV_ERROR,
	UV_OPEN,
	UV_CLOSE,
	UV_WARNING,
	UV_INIT,
};

struct packet {
	int fd;
	int size;
	uint8_t *data;
};

/* a packet whose bytes have not all arrived yet */
struct partial {
	struct partial *next;
	int fd;
	int got;          /* bytes of data received; -1: only the first length byte */
	int first_byte;   /* valid when got == -1 */
	int size;
	uint8_t *data;
};

struct pqueue {
	struct packet *ring;
	int cap;
	int head;
	int count;
	struct partial **buckets;   /* PARTIAL_BUCKETS lists, allocated on demand */
};

/* ------------------------------------------------------------ storage */

static void
queue_release(struct pqueue *q) {
	int i;
	for (i = 0; i < q->count; i++)
		skynet_free(q->ring[(q->head + i) % q->cap].data);
	skynet_free(q->ring);
	q->ring = NULL;
	q->cap = q->head = q->count = 0;
	if (q->buckets) {
		for (i = 0; i < PARTIAL_BUCKETS; i++) {
			struct partial *p = q->buckets[i];
			while (p) {
				struct partial *next = p->next;
				skynet_free(p->data);
				skynet_free(p);
				p = next;
			}
		}
		skynet_free(q->buckets);
		q->buckets = NULL;
	}
}

static int
queue_gc(lua_State *L) {
	struct pqueue *q = (struct pqueue *)lua_touserdata(L, 1);
	if (q)
		queue_release(q);
	return 0;
}

static struct pqueue *
queue_at(lua_State *L, int idx) {
	return (struct pqueue *)luaL_testudata(L, idx, QUEUE_MT);
}

/* the queue at index 1, created (replacing argument 1) if needed */
static struct pqueue *
queue_get(lua_State *L) {
	struct pqueue *q = queue_at(L, 1);
	if (q)
		return q;
	q = (struct pqueue *)lua_newuserdatauv(L, sizeof(*q), 0);
	memset(q, 0, sizeof(*q));
	if (luaL_newmetatable(L, QUEUE_MT)) {
		lua_pushcfunction(L, queue_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	lua_replace(L, 1);
	return q;
}

static void *
must_alloc(lua_State *L, size_t sz) {
	void *p = skynet_malloc(sz);
	if (p == NULL && sz > 0)
		luaL_error(L, "netpack: out of memory");
	return p;
}

/* append a complete packet; takes ownership of data */
static void
queue_push(lua_State *L, int fd, uint8_t *data, int size) {
	struct pqueue *q = queue_get(L);
	if (q->count == q->cap) {
		int ncap = q->cap ? q->cap * 2 : INITIAL_RING;
		struct packet *nr = (struct packet *)skynet_malloc(sizeof(*nr) * (size_t)ncap);
		if (nr == NULL) {
			skynet_free(data);
			luaL_error(L, "netpack: out of memory");
		}
		int i;
		for (i = 0; i < q->count; i++)
			nr[i] = q->ring[(q->head + i) % q->cap];
		skynet_free(q->ring);
		q->ring = nr;
		q->cap = ncap;
		q->head = 0;
	}
	struct packet *p = &q->ring[(q->head + q->count) % q->cap];
	p->fd = fd;
	p->data = data;
	p->size = size;
	q->count++;
}

static unsigned
bucket_of(int fd) {
	uint32_t h = (uint32_t)fd;
	h ^= h >> 12;
	return h & (PARTIAL_BUCKETS - 1);
}

/* unlink and return the partial packet of fd, if any */
static struct partial *
partial_take(struct pqueue *q, int fd) {
	if (q == NULL || q->buckets == NULL)
		return NULL;
	struct partial **link = &q->buckets[bucket_of(fd)];
	while (*link) {
		struct partial *p = *link;
		if (p->fd == fd) {
			*link = p->next;
			return p;
		}
		link = &p->next;
	}
	return NULL;
}

static void
partial_put(lua_State *L, struct pqueue *q, struct partial *p) {
	if (q->buckets == NULL) {
		q->buckets = (struct partial **)skynet_malloc(sizeof(struct partial *) * PARTIAL_BUCKETS);
		if (q->buckets == NULL) {
			skynet_free(p->data);
			skynet_free(p);
			luaL_error(L, "netpack: out of memory");
		}
		memset(q->buckets, 0, sizeof(struct partial *) * PARTIAL_BUCKETS);
	}
	unsigned b = bucket_of(p->fd);
	p->next = q->buckets[b];
	q->buckets[b] = p;
}

static struct partial *
partial_new(lua_State *L, int fd) {
	struct partial *p = (struct partial *)must_alloc(L, sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	return p;
}

static void
partial_drop(lua_State *L, int fd) {
	struct partial *p = partial_take(queue_at(L, 1), fd);
	if (p) {
		skynet_free(p->data);
		skynet_free(p);
	}
}

static uint8_t *
copy_bytes(lua_State *L, const uint8_t *src, int n) {
	uint8_t *d = (uint8_t *)must_alloc(L, (size_t)n);
	if (n > 0)
		memcpy(d, src, (size_t)n);
	return d;
}

/* ------------------------------------------------------------ framing */

/*
 * Start a packet at `p` (no partial state for fd).  Completed packets go to
 * the queue, a trailing incomplete one is kept as partial state.
 */
static void
split_into_queue(lua_State *L, int fd, const uint8_t *p, int n) {
	while (n > 0) {
		if (n == 1) {
			struct partial *pa = partial_new(L, fd);
			pa->got = -1;
			pa->first_byte = p[0];
			partial_put(L, queue_get(L), pa);
			return;
		}
		int size = (p[0] << 8) | p[1];
		p += 2;
		n -= 2;
		if (n < size) {
			struct partial *pa = partial_new(L, fd);
			pa->size = size;
			pa->got = n;
			pa->data = (uint8_t *)must_alloc(L, (size_t)size);
			memcpy(pa->data, p, (size_t)n);
			partial_put(L, queue_get(L), pa);
			return;
		}
		queue_push(L, fd, copy_bytes(L, p, size), size);
		p += size;
		n -= size;
	}
}

static int
filter_stream(lua_State *L, int fd, const uint8_t *p, int n) {
	struct pqueue *q = queue_at(L, 1);
	struct partial *pa = partial_take(q, fd);
	if (pa) {
		if (n <= 0) {
			partial_put(L, q, pa);
			return 1;
		}
		if (pa->got < 0) {
			/* complete the length field */
			pa->size = (pa->first_byte << 8) | p[0];
			p++;
			n--;
			pa->got = 0;
			pa->data = (uint8_t *)skynet_malloc((size_t)pa->size);
			if (pa->data == NULL && pa->size > 0) {
				skynet_free(pa);
				return luaL_error(L, "netpack: out of memory");
			}
		}
		int need = pa->size - pa->got;
		if (n < need) {
			memcpy(pa->data + pa->got, p, (size_t)n);
			pa->got += n;
			partial_put(L, q, pa);
			return 1;
		}
		memcpy(pa->data + pa->got, p, (size_t)need);
		p += need;
		n -= need;
		uint8_t *data = pa->data;
		int size = pa->size;
		skynet_free(pa);
		if (n == 0) {
			lua_pushvalue(L, lua_upvalueindex(UV_DATA));
			lua_pushinteger(L, fd);
			lua_pushlightuserdata(L, data);
			lua_pushinteger(L, size);
			return 5;
		}
		queue_push(L, fd, data, size);
		split_into_queue(L, fd, p, n);
		lua_pushvalue(L, lua_upvalueindex(UV_MORE));
		return 2;
	}

	if (n <= 0)
		return 1;
	if (n >= 2) {
		int size = (p[0] << 8) | p[1];
		if (n - 2 == size) {
			/* the common case: exactly one whole packet */
			lua_pushvalue(L, lua_upvalueindex(UV_DATA));
			lua_pushinteger(L, fd);
			lua_pushlightuserdata(L, copy_bytes(L, p + 2, size));
			lua_pushinteger(L, size);
			return 5;
		}
		if (n - 2 > size) {
			split_into_queue(L, fd, p, n);
			lua_pushvalue(L, lua_upvalueindex(UV_MORE));
			return 2;
		}
	}
	/* not even one packet yet */
	split_into_queue(L, fd, p, n);
	return 1;
}

/* the socket layer hands the data block over; it is always freed here */
static int
filter_data(lua_State *L, int fd, uint8_t *block, int n) {
	if (block == NULL)
		return 1;
	int r = filter_stream(L, fd, block, n);
	skynet_free(block);
	return r;
}

/*
 * How each socket event other than DATA turns into filter results: the kind
 * (an upvalue), then the values named by `layout`, one letter each:
 *   'i' the socket id   'u' the ud field   's' the address / error text
 * and whether a half-received packet of that socket is dropped first.
 */
struct event_shape {
	int type;
	int kind;
	const char *layout;
	int drops_partial;
};

static const struct event_shape EVENT_SHAPES[] = {
	{ SKYNET_SOCKET_TYPE_CONNECT, UV_INIT, "isu", 0 },
	{ SKYNET_SOCKET_TYPE_ACCEPT, UV_OPEN, "us", 0 },   /* ud: the new connection */
	{ SKYNET_SOCKET_TYPE_CLOSE, UV_CLOSE, "i", 1 },
	{ SKYNET_SOCKET_TYPE_ERROR, UV_ERROR, "is", 1 },
	{ SKYNET_SOCKET_TYPE_WARNING, UV_WARNING, "iu", 0 },
};

static const struct event_shape *
shape_of(int type) {
	size_t i;
	for (i = 0; i < sizeof(EVENT_SHAPES) / sizeof(EVENT_SHAPES[0]); i++) {
		if (EVENT_SHAPES[i].type == type)
			return &EVENT_SHAPES[i];
	}
	return NULL;
}

/* the text carried after the message header ("" when there is none) */
static void
push_tail_text(lua_State *L, const struct skynet_socket_message *m, lua_Integer total) {
	lua_Integer n = total - (lua_Integer)sizeof(*m);
	if (m->buffer != NULL || n <= 0)
		lua_pushliteral(L, "");
	else
		lua_pushlstring(L, (const char *)(m + 1), (size_t)n);
}

static int
push_event(lua_State *L, const struct event_shape *e,
		const struct skynet_socket_message *m, lua_Integer total) {
	const char *c;
	if (e->drops_partial)
		partial_drop(L, m->id);
	lua_pushvalue(L, lua_upvalueindex(e->kind));
	for (c = e->layout; *c; c++) {
		if (*c == 'i')
			lua_pushinteger(L, m->id);
		else if (*c == 'u')
			lua_pushinteger(L, m->ud);
		else
			push_tail_text(L, m, total);
	}
	return 2 + (int)strlen(e->layout);
}

static int
lfilter(lua_State *L) {
	const struct skynet_socket_message *m =
		(const struct skynet_socket_message *)lua_touserdata(L, 2);
	lua_Integer total = luaL_checkinteger(L, 3);
	if (m == NULL)
		return luaL_error(L, "Invalid socket message");
	lua_settop(L, 1);
	if (!lua_isnil(L, 1) && queue_at(L, 1) == NULL)
		return luaL_error(L, "netpack.filter: bad queue object");
	if (m->type == SKYNET_SOCKET_TYPE_DATA)
		return filter_data(L, m->id, (uint8_t *)m->buffer, m->ud);
	const struct event_shape *e = shape_of(m->type);
	return e ? push_event(L, e, m, total) : 1;
}

static int
lpop(lua_State *L) {
	struct pqueue *q = queue_at(L, 1);
	if (q == NULL || q->count == 0)
		return 0;
	struct packet *p = &q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	lua_pushinteger(L, p->fd);
	lua_pushlightuserdata(L, p->data);
	lua_pushinteger(L, p->size);
	return 3;
}

/*
 * The packets still being received: a table { fd, got, want, fd, got, want, ... }
 * where got counts the bytes of the frame received so far (its length field
 * included) and want the whole frame (0 while the length field is incomplete).
 * Lets a gate find connections that stall in the middle of a packet.
 */
static int
lpartials(lua_State *L) {
	struct pqueue *q = queue_at(L, 1);
	lua_newtable(L);
	if (q == NULL || q->buckets == NULL)
		return 1;
	lua_Integer n = 0;
	int b;
	for (b = 0; b < PARTIAL_BUCKETS; b++) {
		const struct partial *p;
		for (p = q->buckets[b]; p; p = p->next) {
			lua_pushinteger(L, p->fd);
			lua_rawseti(L, -2, ++n);
			lua_pushinteger(L, p->got < 0 ? 1 : p->got + 2);
			lua_rawseti(L, -2, ++n);
			lua_pushinteger(L, p->got < 0 ? 0 : p->size + 2);
			lua_rawseti(L, -2, ++n);
		}
	}
	return 1;
}

static int
lclear(lua_State *L) {
	struct pqueue *q = queue_at(L, 1);
	if (q)
		queue_release(q);
	return 0;
}

static int
lpack(lua_State *L) {
	const char *src;
	size_t len;
	if (lua_isuserdata(L, 1)) {
		src = (const char *)lua_touserdata(L, 1);
		lua_Integer n = luaL_checkinteger(L, 2);
		if (n < 0 || (src == NULL && n > 0))
			return luaL_error(L, "Invalid size of data : %d", (int)n);
		len = (size_t)n;
	} else {
		src = luaL_checklstring(L, 1, &len);
	}
	if (len >= 0x10000)
		return luaL_error(L, "Invalid size (too long) of data : %d", (int)len);
	uint8_t *out = (uint8_t *)must_alloc(L, len + 2);
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	if (len > 0)
		memcpy(out + 2, src, len);
	lua_pushlightuserdata(L, out);
	lua_pushinteger(L, (lua_Integer)(len + 2));
	return 2;
}

static int
ltostring(lua_State *L) {
	void *p = lua_touserdata(L, 1);
	lua_Integer n = luaL_checkinteger(L, 2);
	if (p == NULL) {
		lua_pushliteral(L, "");
		return 1;
	}
	if (n < 0)
		n = 0;
	lua_pushlstring(L, (const char *)p, (size_t)n);
	skynet_free(p);
	return 1;
}

/* the kind names filter returns, indexed by UV_* - 1 */
static const char *const KIND_NAMES[] = {
	"data", "more", "error", "open", "close", "warning", "init",
};

LUAMOD_API int
luaopen_skynet_netpack(lua_State *L) {
	static const luaL_Reg plain[] = {
		{ "partials", lpartials },
		{ "tostring", ltostring },
		{ "clear", lclear },
		{ "pack", lpack },
		{ "pop", lpop },
		{ NULL, NULL },
	};
	static const luaL_Reg with_kinds[] = {
		{ "filter", lfilter },
		{ NULL, NULL },
	};
	const int nkinds = (int)(sizeof(KIND_NAMES) / sizeof(KIND_NAMES[0]));
	int i;
	luaL_checkversion(L);
	luaL_newlib(L, plain);
	for (i = 0; i < nkinds; i++)
		lua_pushstring(L, KIND_NAMES[i]);
	luaL_setfuncs(L, with_kinds, nkinds);
	return 1;
}
