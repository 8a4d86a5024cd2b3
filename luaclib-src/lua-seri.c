/*
 * Serialization of Lua values into skynet's message format.
 *
 * Layout of the stream (this must stay bit-identical to what every other
 * skynet node produces and accepts):
 *
 *   Each value begins with one tag byte: the low 3 bits give the kind and
 *   the high 5 bits carry a small kind-specific argument ("arg").
 *
 *   kind 0  nil
 *   kind 1  boolean         arg = 0 (false) or 1 (true)
 *   kind 2  number          arg = 0 : the integer zero, nothing follows
 *                           arg = 1 : unsigned 8 bit integer follows
 *                           arg = 2 : unsigned 16 bit integer follows
 *                           arg = 4 : signed 32 bit integer follows
 *                           arg = 6 : signed 64 bit integer follows
 *                           arg = 8 : IEEE double follows
 *   kind 3  light userdata  the raw pointer bytes follow
 *   kind 4  short string    arg = length (0..31), bytes follow
 *   kind 5  long string     arg = 2 : 16 bit length then bytes
 *                           arg = 4 : 32 bit length then bytes
 *   kind 6  table           arg = length of the array part; when it is 31
 *                           the real length follows as an integer value
 *                           (kind 2).  The array items follow, then
 *                           key/value pairs, closed by a nil key.
 *
 *   Multi-byte fields use the host byte order.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_malloc.h"
#include "lua-seri.h"

enum {
	K_NIL = 0,
	K_BOOL = 1,
	K_NUM = 2,
	K_PTR = 3,
	K_SSTR = 4,
	K_LSTR = 5,
	K_TABLE = 6,
};

enum {
	N_ZERO = 0,
	N_U8 = 1,
	N_U16 = 2,
	N_I32 = 4,
	N_I64 = 6,
	N_REAL = 8,
};

#define TAG(kind, arg) ((uint8_t)((kind) | ((arg) << 3)))

/* arg values 0..30 are inline lengths, 31 means "length follows" */
#define INLINE_LIMIT 31
#define SHORT_STRING_LIMIT 32

/* nesting allowed while packing (compatible with the reference packer) */
#define PACK_MAX_NESTING 32
/* nesting accepted while unpacking: generous, but bounded so that a
 * hostile stream cannot exhaust the C stack */
#define UNPACK_MAX_NESTING 128

/* ---------------------------------------------------------------- writer */

#define OUT_INLINE 256

struct outbuf {
	uint8_t *data;      /* either `local` or a skynet_malloc'ed block */
	size_t len;
	size_t cap;
	uint8_t local[OUT_INLINE];
};

static void
out_init(struct outbuf *o) {
	o->data = o->local;
	o->len = 0;
	o->cap = sizeof(o->local);
}

static void
out_release(struct outbuf *o) {
	if (o->data != o->local) {
		skynet_free(o->data);
	}
	o->data = o->local;
	o->len = 0;
	o->cap = sizeof(o->local);
}

/* raise the error message that is on top of the stack, after releasing
 * the heap memory held by the writer */
static int
out_throw(lua_State *L, struct outbuf *o) {
	out_release(o);
	return lua_error(L);
}

static __attribute__((noinline)) void
out_grow(lua_State *L, struct outbuf *o, size_t extra) {
	size_t want = o->len + extra;
	if (want < o->len || want > (size_t)INT_MAX) {
		lua_pushliteral(L, "serialize: message too large");
		out_throw(L, o);
	}
	size_t ncap = o->cap * 2;
	while (ncap < want)
		ncap *= 2;
	uint8_t *p;
	if (o->data == o->local) {
		p = skynet_malloc(ncap);
		if (p)
			memcpy(p, o->local, o->len);
	} else {
		p = skynet_realloc(o->data, ncap);
	}
	if (p == NULL) {
		lua_pushliteral(L, "serialize: out of memory");
		out_throw(L, o);
	}
	o->data = p;
	o->cap = ncap;
}

/* the common case, room left, stays inline in every writer */
static inline void
out_reserve(lua_State *L, struct outbuf *o, size_t extra) {
	if (o->cap - o->len < extra)
		out_grow(L, o, extra);
}

static inline void
out_bytes(lua_State *L, struct outbuf *o, const void *src, size_t n) {
	out_reserve(L, o, n);
	memcpy(o->data + o->len, src, n);
	o->len += n;
}

static inline void
out_tag(lua_State *L, struct outbuf *o, uint8_t tag) {
	out_reserve(L, o, 1);
	o->data[o->len++] = tag;
}

static void
out_integer(lua_State *L, struct outbuf *o, lua_Integer v) {
	if (v == 0) {
		out_tag(L, o, TAG(K_NUM, N_ZERO));
	} else if (v < INT32_MIN || v > INT32_MAX) {
		int64_t x = (int64_t)v;
		out_tag(L, o, TAG(K_NUM, N_I64));
		out_bytes(L, o, &x, sizeof(x));
	} else if (v > 0 && v <= 0xff) {
		uint8_t x = (uint8_t)v;
		out_tag(L, o, TAG(K_NUM, N_U8));
		out_bytes(L, o, &x, sizeof(x));
	} else if (v > 0 && v <= 0xffff) {
		uint16_t x = (uint16_t)v;
		out_tag(L, o, TAG(K_NUM, N_U16));
		out_bytes(L, o, &x, sizeof(x));
	} else {
		int32_t x = (int32_t)v;
		out_tag(L, o, TAG(K_NUM, N_I32));
		out_bytes(L, o, &x, sizeof(x));
	}
}

static void
out_string(lua_State *L, struct outbuf *o, const char *s, size_t n) {
	if (n < SHORT_STRING_LIMIT) {     /* one room check for the tag and the bytes */
		out_reserve(L, o, 1 + n);
		uint8_t *d = o->data + o->len;
		d[0] = TAG(K_SSTR, (unsigned)n);
		memcpy(d + 1, s, n);
		o->len += 1 + n;
		return;
	} else if (n <= 0xffff) {
		uint16_t x = (uint16_t)n;
		out_tag(L, o, TAG(K_LSTR, 2));
		out_bytes(L, o, &x, sizeof(x));
	} else {
		if (n > UINT32_MAX) {
			lua_pushliteral(L, "serialize: string too long");
			out_throw(L, o);
		}
		uint32_t x = (uint32_t)n;
		out_tag(L, o, TAG(K_LSTR, 4));
		out_bytes(L, o, &x, sizeof(x));
	}
	if (n > 0)
		out_bytes(L, o, s, n);
}

static void pack_value(lua_State *L, struct outbuf *o, int idx, int level);

/* the table at `t` has a __pairs metamethod, already pushed on the stack */
static void
pack_table_iterated(lua_State *L, struct outbuf *o, int t, int level) {
	out_tag(L, o, TAG(K_TABLE, 0));
	/* stack: ... __pairs */
	lua_pushvalue(L, t);
	if (lua_pcall(L, 1, 3, 0) != LUA_OK)
		out_throw(L, o);
	/* stack: ... iter state control */
	int base = lua_gettop(L) - 2;
	for (;;) {
		lua_pushvalue(L, base);         /* iter */
		lua_pushvalue(L, base + 1);     /* state */
		lua_pushvalue(L, base + 2);     /* control */
		if (lua_pcall(L, 2, 2, 0) != LUA_OK)
			out_throw(L, o);
		/* stack: ... iter state control key value */
		if (lua_isnil(L, -2)) {
			lua_settop(L, base - 1);
			break;
		}
		int top = lua_gettop(L);
		pack_value(L, o, top - 1, level);
		pack_value(L, o, top, level);
		lua_pop(L, 1);                  /* keep key */
		lua_replace(L, base + 2);       /* key becomes the new control */
	}
	out_tag(L, o, TAG(K_NIL, 0));
}

static void
pack_table(lua_State *L, struct outbuf *o, int t, int level) {
	if (!lua_checkstack(L, LUA_MINSTACK)) {
		lua_pushliteral(L, "out of memory");
		out_throw(L, o);
	}
	if (luaL_getmetafield(L, t, "__pairs") != LUA_TNIL) {
		pack_table_iterated(L, o, t, level);
		return;
	}
	lua_Integer n = (lua_Integer)lua_rawlen(L, t);
	if (n >= INLINE_LIMIT) {
		out_tag(L, o, TAG(K_TABLE, INLINE_LIMIT));
		out_integer(L, o, n);
	} else {
		out_tag(L, o, TAG(K_TABLE, (unsigned)n));
	}
	lua_Integer i;
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		pack_value(L, o, lua_gettop(L), level);
		lua_pop(L, 1);
	}
	/* everything not covered by the array part */
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		if (lua_isinteger(L, -2)) {
			lua_Integer k = lua_tointeger(L, -2);
			if (k >= 1 && k <= n) {
				lua_pop(L, 1);
				continue;
			}
		}
		int top = lua_gettop(L);
		pack_value(L, o, top - 1, level);
		pack_value(L, o, top, level);
		lua_pop(L, 1);
	}
	out_tag(L, o, TAG(K_NIL, 0));
}

/* idx must be an absolute stack index */
static void
pack_value(lua_State *L, struct outbuf *o, int idx, int level) {
	if (level > PACK_MAX_NESTING) {
		lua_pushliteral(L, "serialize can't pack too depth table");
		out_throw(L, o);
	}
	int tp = lua_type(L, idx);
	switch (tp) {
	case LUA_TNIL:
		out_tag(L, o, TAG(K_NIL, 0));
		break;
	case LUA_TBOOLEAN:
		out_tag(L, o, TAG(K_BOOL, lua_toboolean(L, idx) ? 1 : 0));
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			out_integer(L, o, lua_tointeger(L, idx));
		} else {
			double d = (double)lua_tonumber(L, idx);
			out_tag(L, o, TAG(K_NUM, N_REAL));
			out_bytes(L, o, &d, sizeof(d));
		}
		break;
	case LUA_TSTRING: {
		size_t n = 0;
		const char *s = lua_tolstring(L, idx, &n);
		out_string(L, o, s, n);
		break;
	}
	case LUA_TLIGHTUSERDATA: {
		void *p = lua_touserdata(L, idx);
		out_tag(L, o, TAG(K_PTR, 0));
		out_bytes(L, o, &p, sizeof(p));
		break;
	}
	case LUA_TTABLE:
		pack_table(L, o, idx, level + 1);
		break;
	default:
		lua_pushfstring(L, "Unsupport type %s to serialize", lua_typename(L, tp));
		out_throw(L, o);
	}
}

static void
pack_arguments(lua_State *L, struct outbuf *o) {
	int n = lua_gettop(L);
	int i;
	for (i = 1; i <= n; i++) {
		pack_value(L, o, i, 0);
	}
}

int
sk_seri_pack(lua_State *L) {
	struct outbuf o;
	out_init(&o);
	pack_arguments(L, &o);
	void *block;
	if (o.data == o.local) {
		block = skynet_malloc(o.len);
		if (block == NULL && o.len > 0)
			return luaL_error(L, "serialize: out of memory");
		memcpy(block, o.local, o.len);
	} else {
		block = o.data;
		if (o.cap - o.len > 64) {
			/* give back the slack of the doubling strategy */
			void *shrunk = skynet_realloc(o.data, o.len);
			if (shrunk)
				block = shrunk;
		}
	}
	lua_pushlightuserdata(L, block);
	lua_pushinteger(L, (lua_Integer)o.len);
	return 2;
}

int
sk_seri_packstring(lua_State *L) {
	struct outbuf o;
	out_init(&o);
	pack_arguments(L, &o);
	lua_pushlstring(L, (const char *)o.data, o.len);
	out_release(&o);
	return 1;
}

/* ---------------------------------------------------------------- reader */

/* The hash sizes of a stream's first tables, in the order unpacking creates them (depth
 * first), measured by one pass over the stream before it is unpacked: each table then gets
 * its hash part at once instead of growing it key by key. */
#define SIZE_HINTS 64
/* longer streams are unpacked without the measuring pass */
#define HINTED_STREAM 0x10000

struct hints {
	int seen;               /* tables measured */
	int used;               /* tables unpacked */
	int size[SIZE_HINTS];
};

struct inbuf {
	const uint8_t *p;
	size_t left;
	struct hints *h;        /* NULL: no hints */
};

static int
bad_stream(lua_State *L, const struct inbuf *in, const char *why) {
	return luaL_error(L, "Invalid serialize stream %d (%s)", (int)in->left, why);
}

static const uint8_t *
in_take(struct inbuf *in, size_t n) {
	if (in->left < n)
		return NULL;
	const uint8_t *r = in->p;
	in->p += n;
	in->left -= n;
	return r;
}

static void
in_copy(lua_State *L, struct inbuf *in, void *dst, size_t n) {
	const uint8_t *src = in_take(in, n);
	if (src == NULL)
		bad_stream(L, in, "truncated");
	memcpy(dst, src, n);
}

static lua_Integer
in_integer(lua_State *L, struct inbuf *in, int arg) {
	switch (arg) {
	case N_ZERO:
		return 0;
	case N_U8: {
		uint8_t x;
		in_copy(L, in, &x, sizeof(x));
		return x;
	}
	case N_U16: {
		uint16_t x;
		in_copy(L, in, &x, sizeof(x));
		return x;
	}
	case N_I32: {
		int32_t x;
		in_copy(L, in, &x, sizeof(x));
		return x;
	}
	case N_I64: {
		int64_t x;
		in_copy(L, in, &x, sizeof(x));
		return (lua_Integer)x;
	}
	default:
		bad_stream(L, in, "bad number tag");
		return 0;
	}
}

static void
in_lstring(lua_State *L, struct inbuf *in, size_t n) {
	const uint8_t *s = in_take(in, n);
	if (s == NULL)
		bad_stream(L, in, "string truncated");
	lua_pushlstring(L, (const char *)s, n);
}

static int
measure_integer(struct inbuf *in, int arg, int64_t *v) {
	const uint8_t *p;
	switch (arg) {
	case N_ZERO:
		*v = 0;
		return 1;
	case N_U8:
		if ((p = in_take(in, 1)) == NULL)
			return 0;
		*v = *p;
		return 1;
	case N_U16: {
		uint16_t x;
		if ((p = in_take(in, sizeof(x))) == NULL)
			return 0;
		memcpy(&x, p, sizeof(x));
		*v = x;
		return 1;
	}
	case N_I32: {
		int32_t x;
		if ((p = in_take(in, sizeof(x))) == NULL)
			return 0;
		memcpy(&x, p, sizeof(x));
		*v = x;
		return 1;
	}
	case N_I64:
		if ((p = in_take(in, sizeof(*v))) == NULL)
			return 0;
		memcpy(v, p, sizeof(*v));
		return 1;
	default:
		return 0;
	}
}

/* The measuring pass: skips values, counting the key/value pairs of each table. It ends
 * (returns 0) at anything unexpected, leaving the error to the unpacking that follows. */
static int measure_table(struct inbuf *in, int arg, int level);

static inline int
measure_value(struct inbuf *in, int level) {
	if (in->left == 0)
		return 0;
	uint8_t tag = *in->p++;
	in->left--;
	int arg = tag >> 3;
	size_t skip;
	switch (tag & 7) {
	case K_SSTR:
		skip = (size_t)arg;
		break;
	case K_NUM:
		switch (arg) {
		case N_ZERO: skip = 0; break;
		case N_U8: skip = 1; break;
		case N_U16: skip = 2; break;
		case N_I32: skip = 4; break;
		case N_I64: case N_REAL: skip = 8; break;
		default: return 0;
		}
		break;
	case K_NIL:
	case K_BOOL:
		return 1;
	case K_TABLE:
		return measure_table(in, arg, level + 1);
	case K_PTR:
		skip = sizeof(void *);
		break;
	case K_LSTR: {
		int64_t n;
		if (arg == 2) {
			uint16_t x;
			if (in->left < sizeof(x))
				return 0;
			memcpy(&x, in->p, sizeof(x));
			n = x;
		} else if (arg == 4) {
			uint32_t x;
			if (in->left < sizeof(x))
				return 0;
			memcpy(&x, in->p, sizeof(x));
			n = x;
		} else {
			return 0;
		}
		in->p += arg;
		in->left -= (size_t)arg;
		skip = (size_t)n;
		break;
	}
	default:
		return 0;
	}
	if (in->left < skip)
		return 0;
	in->p += skip;
	in->left -= skip;
	return 1;
}

static int
measure_table(struct inbuf *in, int arg, int level) {
	if (level > UNPACK_MAX_NESTING)
		return 0;
	int slot = in->h->seen++;
	if (slot < SIZE_HINTS)
		in->h->size[slot] = 0;
	lua_Integer n = arg;
	if (arg == INLINE_LIMIT) {
		/* a big array: its size is a number value, read as unpack_table does */
		const uint8_t *p = in_take(in, 1);
		if (p == NULL || (*p & 7) != K_NUM)
			return 0;
		int64_t v;
		if (!measure_integer(in, *p >> 3, &v))
			return 0;
		n = (int32_t)(uint32_t)(uint64_t)v;
		if (n < 0)
			n = 0;
	}
	for (lua_Integer i = 0; i < n; i++)
		if (!measure_value(in, level))
			return 0;
	int pairs = 0;
	for (;;) {
		if (in->left == 0)
			return 0;
		if ((*in->p & 7) == K_NIL) {    /* any nil tag ends the pairs */
			in->p++;
			in->left--;
			break;
		}
		if (!measure_value(in, level) || !measure_value(in, level))
			return 0;
		pairs++;
	}
	if (slot < SIZE_HINTS)
		in->h->size[slot] = pairs;
	return 1;
}

/* the measured hash size of the next table unpacked, 0 when unknown */
static int
hint_next(struct inbuf *in) {
	struct hints *h = in->h;
	if (h == NULL)
		return 0;
	int slot = h->used++;
	return slot < h->seen && slot < SIZE_HINTS ? h->size[slot] : 0;
}

static void unpack_tagged(lua_State *L, struct inbuf *in, uint8_t tag, int level);

static void
unpack_next(lua_State *L, struct inbuf *in, int level) {
	const uint8_t *t = in_take(in, 1);
	if (t == NULL)
		bad_stream(L, in, "value expected");
	unpack_tagged(L, in, *t, level);
}

static void
unpack_table(lua_State *L, struct inbuf *in, int arg, int level) {
	if (level > UNPACK_MAX_NESTING)
		bad_stream(L, in, "nesting too deep");
	lua_Integer n = arg;
	if (arg == INLINE_LIMIT) {
		const uint8_t *t = in_take(in, 1);
		if (t == NULL)
			bad_stream(L, in, "table size truncated");
		int kind = *t & 7;
		int sub = *t >> 3;
		if (kind != K_NUM || sub == N_REAL)
			bad_stream(L, in, "bad table size");
		/* the size is an int on every known producer: keep its low
		 * 32 bits, and read a negative count as an empty array part */
		n = (int32_t)(uint32_t)(uint64_t)in_integer(L, in, sub);
		if (n < 0)
			n = 0;
	}
	luaL_checkstack(L, LUA_MINSTACK, NULL);
	/* each item needs at least one byte: never preallocate beyond that */
	lua_Integer prealloc = n;
	if ((size_t)prealloc > in->left)
		prealloc = (lua_Integer)in->left;
	lua_createtable(L, (int)prealloc, hint_next(in));
	lua_Integer i;
	for (i = 1; i <= n; i++) {
		unpack_next(L, in, level);
		lua_rawseti(L, -2, i);
	}
	for (;;) {
		unpack_next(L, in, level);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			break;
		}
		unpack_next(L, in, level);
		lua_rawset(L, -3);
	}
}

static void
unpack_tagged(lua_State *L, struct inbuf *in, uint8_t tag, int level) {
	int arg = tag >> 3;	/* the high 5 bits: a value or a size class */
	switch (tag & 7) {
	case K_NIL: lua_pushnil(L); break;
	case K_BOOL: lua_pushboolean(L, arg); break;
	case K_NUM:
		if (arg == N_REAL) {
			double d;
			in_copy(L, in, &d, sizeof(d));
			lua_pushnumber(L, (lua_Number)d);
		} else {
			lua_pushinteger(L, in_integer(L, in, arg));
		}
		break;
	case K_PTR: {
		void *p;
		in_copy(L, in, &p, sizeof(p));
		lua_pushlightuserdata(L, p);
		break;
	}
	case K_SSTR:
		in_lstring(L, in, (size_t)arg);
		break;
	case K_LSTR:
		if (arg == 2) {
			uint16_t n;
			in_copy(L, in, &n, sizeof(n));
			in_lstring(L, in, n);
		} else if (arg == 4) {
			uint32_t n;
			in_copy(L, in, &n, sizeof(n));
			in_lstring(L, in, n);
		} else {
			bad_stream(L, in, "bad string tag");
		}
		break;
	case K_TABLE:
		unpack_table(L, in, arg, level + 1);
		break;
	default:
		bad_stream(L, in, "unknown type");
	}
}

int
sk_seri_unpack(lua_State *L) {
	if (lua_isnoneornil(L, 1))
		return 0;
	const void *src;
	lua_Integer len;
	if (lua_type(L, 1) == LUA_TSTRING) {
		size_t sz;
		src = lua_tolstring(L, 1, &sz);
		len = (lua_Integer)sz;
	} else {
		src = lua_touserdata(L, 1);
		len = (int)luaL_checkinteger(L, 2);
	}
	if (len == 0)
		return 0;
	if (src == NULL)
		return luaL_error(L, "deserialize null pointer");
	lua_settop(L, 1);
	if (len < 0)
		return 0;
	struct inbuf in;
	struct hints h;
	in.p = (const uint8_t *)src;
	in.left = (size_t)len;
	in.h = NULL;
	if ((size_t)len <= HINTED_STREAM) {
		h.seen = h.used = 0;
		struct inbuf probe = in;
		probe.h = &h;
		while (probe.left > 0 && measure_value(&probe, 0))
			;
		in.h = &h;
	}
	const uint8_t *t;
	while ((t = in_take(&in, 1)) != NULL) {
		luaL_checkstack(L, LUA_MINSTACK, NULL);
		unpack_tagged(L, &in, *t, 0);
	}
	/* the input block is owned by the caller: nothing to free here */
	return lua_gettop(L) - 1;
}
