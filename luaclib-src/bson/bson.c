/*
 * bson : BSON (bsonspec.org) documents for Lua.
 *
 * Lua side representation (the same as skynet's, so code written for it runs):
 *   - numbers: integers in int32 range travel as int32, other integers as int64,
 *     floats as double; booleans, strings, tables (arrays or documents) as such;
 *   - every other BSON value is a string that starts with a zero byte, then the
 *     BSON element type, then a payload:
 *       null "\0\x0a"   minkey "\0\xff"   maxkey "\0\x7f"
 *       binary    "\0\x05" subtype data
 *       objectid  "\0\x07" 12 bytes
 *       date      "\0\x09" seconds (uint32, host order)
 *       timestamp "\0\x11" increment (uint32) seconds (uint32), host order
 *       regex     "\0\x0b" pattern "\0" options "\0"
 *       int64     "\0\x12" int64 (host order)
 *       javascript, symbol, dbpointer, code with scope, decimal128:
 *                 "\0" type raw element bytes
 *   - an encoded document is a full userdata (metatable "bson") holding the bytes:
 *     :decode(), :makeindex(), tostring() gives the bytes, # the length, and after
 *     makeindex() fixed-size fields can be overwritten in place (doc.key = value).
 *
 * Everything read is bounds-checked: malformed bytes raise a Lua error.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	T_DOUBLE = 0x01, T_STRING = 0x02, T_DOC = 0x03, T_ARRAY = 0x04,
	T_BINARY = 0x05, T_UNDEFINED = 0x06, T_OID = 0x07, T_BOOL = 0x08,
	T_DATE = 0x09, T_NULL = 0x0a, T_REGEX = 0x0b, T_DBPOINTER = 0x0c,
	T_JS = 0x0d, T_SYMBOL = 0x0e, T_JSSCOPE = 0x0f, T_INT32 = 0x10,
	T_TIMESTAMP = 0x11, T_INT64 = 0x12, T_DECIMAL = 0x13,
	T_MINKEY = 0xff, T_MAXKEY = 0x7f,
};

#define DOC_MT "bson"
#define OUT_MT "bson.out"
#define NEST_LIMIT 128

/* ---------------------------------------------------------------- little endian */

static uint32_t
get_u32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
get_u64(const uint8_t *p) {
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void
put_u32(uint8_t *p, uint32_t v) {
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_u64(uint8_t *p, uint64_t v) {
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

/* ---------------------------------------------------------------- output buffer */

/* Lives in a userdata, so an error thrown half-way leaves it to the collector. */
struct out {
	uint8_t *bytes;
	size_t used;
	size_t room;
};

static int
out_gc(lua_State *L) {
	struct out *o = (struct out *)lua_touserdata(L, 1);
	free(o->bytes);
	o->bytes = NULL;
	o->used = o->room = 0;
	return 0;
}

static struct out *
out_new(lua_State *L) {
	struct out *o = (struct out *)lua_newuserdatauv(L, sizeof(*o), 0);
	o->bytes = NULL;
	o->used = o->room = 0;
	if (luaL_newmetatable(L, OUT_MT)) {
		lua_pushcfunction(L, out_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return o;
}

static uint8_t *
out_grab(lua_State *L, struct out *o, size_t n) {
	if (n > (size_t)INT32_MAX - o->used)
		luaL_error(L, "bson document too large");
	if (o->used + n > o->room) {
		size_t want = o->room ? o->room : 128;
		while (want < o->used + n)
			want *= 2;
		uint8_t *p = (uint8_t *)realloc(o->bytes, want);
		if (p == NULL)
			luaL_error(L, "bson: out of memory");
		o->bytes = p;
		o->room = want;
	}
	uint8_t *at = o->bytes + o->used;
	o->used += n;
	return at;
}

static void
out_byte(lua_State *L, struct out *o, int b) {
	*out_grab(L, o, 1) = (uint8_t)b;
}

static void
out_raw(lua_State *L, struct out *o, const void *p, size_t n) {
	if (n > 0)
		memcpy(out_grab(L, o, n), p, n);
}

static void
out_i32(lua_State *L, struct out *o, uint32_t v) {
	put_u32(out_grab(L, o, 4), v);
}

static void
out_i64(lua_State *L, struct out *o, uint64_t v) {
	put_u64(out_grab(L, o, 8), v);
}

/* reserve a 4-byte length; out_close_len later stores (bytes since mark) */
static size_t
out_mark(lua_State *L, struct out *o) {
	size_t at = o->used;
	out_grab(L, o, 4);
	return at;
}

static void
out_close_len(struct out *o, size_t mark) {
	put_u32(o->bytes + mark, (uint32_t)(o->used - mark));
}

/* BSON text must be valid UTF-8: checked while copied. */
static int
utf8_ok(const uint8_t *s, size_t n) {
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		int extra;
		uint32_t cp;
		if ((c & 0xe0) == 0xc0) { extra = 1; cp = c & 0x1f; }
		else if ((c & 0xf0) == 0xe0) { extra = 2; cp = c & 0x0f; }
		else if ((c & 0xf8) == 0xf0) { extra = 3; cp = c & 0x07; }
		else return 0;
		if (n - i <= (size_t)extra)
			return 0;
		for (int k = 1; k <= extra; k++) {
			uint8_t cc = s[i + k];
			if ((cc & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (cc & 0x3f);
		}
		static const uint32_t least[4] = { 0, 0x80, 0x800, 0x10000 };
		if (cp < least[extra] || cp > 0x10ffff)
			return 0;
		i += extra + 1;
	}
	return 1;
}

static void
out_cstring(lua_State *L, struct out *o, const char *s, size_t n) {
	if (!utf8_ok((const uint8_t *)s, n))
		luaL_error(L, "Invalid utf8 string");
	out_raw(L, o, s, n);
	out_byte(L, o, 0);
}

static void
out_head(lua_State *L, struct out *o, int type, const char *key, size_t klen) {
	out_byte(L, o, type);
	out_cstring(L, o, key, klen);
}

/* ---------------------------------------------------------------- encoder */

static lua_Integer array_length(lua_State *L);
static void put_fields(lua_State *L, struct out *o, int depth);
static void put_array(lua_State *L, struct out *o, lua_Integer n, int depth);
static void put_value(lua_State *L, struct out *o, const char *key, size_t klen, int depth);

/* a tagged string ("\0" type payload) at the top of the stack */
static void
put_tagged(lua_State *L, struct out *o, const uint8_t *s, size_t n, const char *key, size_t klen) {
	int type = s[1];
	const uint8_t *body = s + 2;
	size_t blen = n - 2;
	switch (type) {
	case T_NULL: case T_MINKEY: case T_MAXKEY:
		out_head(L, o, type, key, klen);
		return;
	case T_BINARY:
		if (blen < 1)
			luaL_error(L, "Invalid binary");
		out_head(L, o, type, key, klen);
		out_i32(L, o, (uint32_t)(blen - 1));
		out_raw(L, o, body, blen);   /* subtype, then the data */
		return;
	case T_OID:
		if (blen != 12)
			luaL_error(L, "Invalid object id %s", (const char *)body);
		out_head(L, o, type, key, klen);
		out_raw(L, o, body, 12);
		return;
	case T_DATE: {
		if (blen != 4)
			luaL_error(L, "Invalid date");
		uint32_t secs;
		memcpy(&secs, body, 4);
		out_head(L, o, type, key, klen);
		out_i64(L, o, (uint64_t)secs * 1000);
		return;
	}
	case T_TIMESTAMP: {
		if (blen != 8)
			luaL_error(L, "Invalid timestamp");
		uint32_t inc, secs;
		memcpy(&inc, body, 4);
		memcpy(&secs, body + 4, 4);
		out_head(L, o, type, key, klen);
		out_i32(L, o, inc);
		out_i32(L, o, secs);
		return;
	}
	case T_INT64: {
		if (blen != 8)
			luaL_error(L, "Invalid int64");
		int64_t v;
		memcpy(&v, body, 8);
		out_head(L, o, type, key, klen);
		out_i64(L, o, (uint64_t)v);
		return;
	}
	case T_REGEX: {
		/* pattern \0 options \0 */
		const uint8_t *z = blen ? memchr(body, 0, blen) : NULL;
		if (z == NULL || body[blen - 1] != 0 || z == body + blen - 1)
			luaL_error(L, "Invalid regex");
		size_t plen = (size_t)(z - body);
		const uint8_t *opt = z + 1;
		size_t olen = blen - plen - 2;
		if (memchr(opt, 0, olen))
			luaL_error(L, "Invalid regex");
		out_head(L, o, type, key, klen);
		out_cstring(L, o, (const char *)body, plen);
		out_cstring(L, o, (const char *)opt, olen);
		return;
	}
	case T_JS: case T_SYMBOL: case T_DBPOINTER: case T_JSSCOPE: case T_DECIMAL:
		out_head(L, o, type, key, klen);
		out_raw(L, o, body, blen);
		return;
	default:
		luaL_error(L, "Invalid subtype %d", type);
	}
}

/* the embedded document whose bytes a (light)userdata points at */
static void
put_embedded(lua_State *L, struct out *o, const char *key, size_t klen) {
	const uint8_t *p = (const uint8_t *)lua_touserdata(L, -1);
	if (p == NULL)
		luaL_error(L, "Invalid bson document (null)");
	uint32_t n = get_u32(p);
	if (n < 5 || (lua_type(L, -1) == LUA_TUSERDATA && n > lua_rawlen(L, -1)))
		luaL_error(L, "Invalid bson document (length %d)", (int)n);
	out_head(L, o, T_DOC, key, klen);
	out_raw(L, o, p, n);
}

static void
put_value(lua_State *L, struct out *o, const char *key, size_t klen, int depth) {
	switch (lua_type(L, -1)) {
	case LUA_TNUMBER:
		if (lua_isinteger(L, -1)) {
			lua_Integer v = lua_tointeger(L, -1);
			if (v >= INT32_MIN && v <= INT32_MAX) {
				out_head(L, o, T_INT32, key, klen);
				out_i32(L, o, (uint32_t)(int32_t)v);
			} else {
				out_head(L, o, T_INT64, key, klen);
				out_i64(L, o, (uint64_t)v);
			}
		} else {
			union { double d; uint64_t u; } v;
			v.d = (double)lua_tonumber(L, -1);
			out_head(L, o, T_DOUBLE, key, klen);
			out_i64(L, o, v.u);
		}
		break;
	case LUA_TBOOLEAN:
		out_head(L, o, T_BOOL, key, klen);
		out_byte(L, o, lua_toboolean(L, -1) ? 1 : 0);
		break;
	case LUA_TSTRING: {
		size_t n;
		const uint8_t *s = (const uint8_t *)lua_tolstring(L, -1, &n);
		if (n >= 2 && s[0] == 0) {
			put_tagged(L, o, s, n, key, klen);
		} else {
			out_head(L, o, T_STRING, key, klen);
			out_i32(L, o, (uint32_t)(n + 1));
			out_cstring(L, o, (const char *)s, n);
		}
		break;
	}
	case LUA_TUSERDATA:
	case LUA_TLIGHTUSERDATA:
		put_embedded(L, o, key, klen);
		break;
	case LUA_TTABLE: {
		if (depth >= NEST_LIMIT)
			luaL_error(L, "Too depth while encoding bson");
		luaL_checkstack(L, 12, "bson nesting");
		lua_Integer n = array_length(L);
		out_head(L, o, n >= 0 ? T_ARRAY : T_DOC, key, klen);
		if (n >= 0)
			put_array(L, o, n, depth + 1);
		else
			put_fields(L, o, depth + 1);
		break;
	}
	case LUA_TNIL:
		luaL_error(L, "Bson array has a hole (nil), Use bson.null instead");
		break;
	default:
		luaL_error(L, "Invalid value type : %s", luaL_typename(L, -1));
	}
}

/* one key/value of a document: key at -2, value at -1 (the value is popped) */
static void
put_pair(lua_State *L, struct out *o, int depth) {
	int kt = lua_type(L, -2);
	if (kt == LUA_TNUMBER)
		luaL_error(L, "Bson dictionary's key can't be number");
	if (kt != LUA_TSTRING)
		luaL_error(L, "Invalid key type : %s", lua_typename(L, kt));
	size_t klen;
	const char *key = lua_tolstring(L, -2, &klen);
	put_value(L, o, key, klen, depth);
	lua_pop(L, 1);
}

/* the elements of the document at the top of the stack, by pairs order */
static void
put_fields(lua_State *L, struct out *o, int depth) {
	int t = lua_gettop(L);
	size_t mark = out_mark(L, o);
	if (luaL_getmetafield(L, t, "__pairs") != LUA_TNIL) {
		lua_pushvalue(L, t);
		lua_call(L, 1, 3);              /* iter, state, control */
		int iter = t + 1;
		for (;;) {
			lua_pushvalue(L, iter);
			lua_pushvalue(L, iter + 1);
			lua_pushvalue(L, iter + 2);
			lua_call(L, 2, 2);      /* k, v */
			if (lua_isnil(L, -2)) {
				lua_pop(L, 2);
				break;
			}
			lua_pushvalue(L, -2);
			lua_replace(L, iter + 2);   /* the control variable moves on */
			put_pair(L, o, depth);
			lua_pop(L, 1);
		}
		lua_settop(L, t);
	} else {
		lua_pushnil(L);
		while (lua_next(L, t) != 0)
			put_pair(L, o, depth);
	}
	out_byte(L, o, 0);
	out_close_len(o, mark);
}

static void
put_array(lua_State *L, struct out *o, lua_Integer n, int depth) {
	int t = lua_gettop(L);
	size_t mark = out_mark(L, o);
	for (lua_Integer i = 1; i <= n; i++) {
		char key[24];
		int klen = snprintf(key, sizeof(key), "%lld", (long long)(i - 1));
		lua_geti(L, t, i);
		put_value(L, o, key, (size_t)klen, depth);
		lua_pop(L, 1);
	}
	out_byte(L, o, 0);
	out_close_len(o, mark);
}

/* Is the plain table at the top a sequence? Its first key says so. */
static int
looks_like_array(lua_State *L) {
	int t = lua_gettop(L);
	lua_pushnil(L);
	if (lua_next(L, t) == 0)
		return 0;                      /* {} is an empty document */
	int isnum = lua_isinteger(L, -2);
	lua_Integer first = isnum ? lua_tointeger(L, -2) : 0;
	lua_settop(L, t);
	if (first < 1)
		return 0;
	lua_Integer n = (lua_Integer)lua_rawlen(L, t);
	return first <= (n > 1 ? n : 1);
}

/*
 * How the table at the top is written: its length as an array (a __len
 * metamethod, or a plain sequence), or -1 for a document (__pairs, or keys).
 */
static lua_Integer
array_length(lua_State *L) {
	int t = lua_gettop(L);
	if (luaL_getmetafield(L, t, "__len") != LUA_TNIL) {
		lua_pushvalue(L, t);
		lua_call(L, 1, 1);
		if (!lua_isinteger(L, -1))
			luaL_error(L, "__len should return integer");
		lua_Integer n = lua_tointeger(L, -1);
		lua_settop(L, t);
		return n < 0 ? 0 : n;
	}
	if (luaL_getmetafield(L, t, "__pairs") != LUA_TNIL) {
		lua_settop(L, t);
		return -1;
	}
	return looks_like_array(L) ? (lua_Integer)lua_rawlen(L, t) : -1;
}

/* ---------------------------------------------------------------- decoder */

struct in {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *
in_take(lua_State *L, struct in *r, size_t n) {
	if (n > r->left)
		luaL_error(L, "Invalid bson block (%d:%d)", (int)r->left, (int)n);
	const uint8_t *at = r->p;
	r->p += n;
	r->left -= n;
	return at;
}

static int
in_byte(lua_State *L, struct in *r) {
	return *in_take(L, r, 1);
}

static int32_t
in_i32(lua_State *L, struct in *r) {
	return (int32_t)get_u32(in_take(L, r, 4));
}

static int64_t
in_i64(lua_State *L, struct in *r) {
	return (int64_t)get_u64(in_take(L, r, 8));
}

static const char *
in_cstring(lua_State *L, struct in *r, size_t *len) {
	const uint8_t *z = r->left ? memchr(r->p, 0, r->left) : NULL;
	if (z == NULL)
		luaL_error(L, "Invalid bson block : cstring");
	*len = (size_t)(z - r->p);
	return (const char *)in_take(L, r, *len + 1);
}

/* "\0" type, then the payload pieces */
static void
push_tagged(lua_State *L, int type, const void *a, size_t alen, const void *b, size_t blen) {
	luaL_Buffer buf;
	luaL_buffinit(L, &buf);
	luaL_addchar(&buf, 0);
	luaL_addchar(&buf, (char)type);
	if (alen)
		luaL_addlstring(&buf, (const char *)a, alen);
	if (blen)
		luaL_addlstring(&buf, (const char *)b, blen);
	luaL_pushresult(&buf);
}

/* a length-prefixed block (the prefix counted in the length or not) */
static size_t
in_block_len(lua_State *L, struct in *r, int counts_itself, size_t least) {
	int32_t n = in_i32(L, r);
	if (n < 0 || (size_t)n < least)
		luaL_error(L, "Invalid bson block length %d", (int)n);
	return counts_itself ? (size_t)n - 4 : (size_t)n;
}

static void read_document(lua_State *L, struct in *r, int array, int depth);

/* pushes the value of an element of the given type */
static void
read_value(lua_State *L, struct in *r, int type, int depth) {
	switch (type) {
	case T_DOUBLE: {
		union { double d; uint64_t u; } v;
		v.u = (uint64_t)in_i64(L, r);
		lua_pushnumber(L, (lua_Number)v.d);
		break;
	}
	case T_STRING: {
		size_t n = in_block_len(L, r, 0, 1);
		const uint8_t *s = in_take(L, r, n);
		if (s[n - 1] != 0)
			luaL_error(L, "Invalid bson string , length = %d", (int)n);
		lua_pushlstring(L, (const char *)s, n - 1);
		break;
	}
	case T_DOC:
	case T_ARRAY:
		read_document(L, r, type == T_ARRAY, depth + 1);
		break;
	case T_BINARY: {
		size_t n = in_block_len(L, r, 0, 0);
		const uint8_t *sub = in_take(L, r, 1);
		const uint8_t *data = in_take(L, r, n);
		push_tagged(L, T_BINARY, sub, 1, data, n);
		break;
	}
	case T_OID:
		push_tagged(L, T_OID, in_take(L, r, 12), 12, NULL, 0);
		break;
	case T_BOOL:
		lua_pushboolean(L, in_byte(L, r));
		break;
	case T_DATE: {
		uint32_t secs = (uint32_t)(in_i64(L, r) / 1000);
		push_tagged(L, T_DATE, &secs, 4, NULL, 0);
		break;
	}
	case T_NULL: case T_MINKEY: case T_MAXKEY:
		push_tagged(L, type, NULL, 0, NULL, 0);
		break;
	case T_REGEX: {
		size_t plen, olen;
		const char *pat = in_cstring(L, r, &plen);
		const char *opt = in_cstring(L, r, &olen);
		/* both with their terminating zeros */
		push_tagged(L, T_REGEX, pat, plen + 1, opt, olen + 1);
		break;
	}
	case T_INT32:
		lua_pushinteger(L, in_i32(L, r));
		break;
	case T_TIMESTAMP: {
		uint32_t inc = (uint32_t)in_i32(L, r);
		uint32_t secs = (uint32_t)in_i32(L, r);
		push_tagged(L, T_TIMESTAMP, &inc, 4, &secs, 4);
		break;
	}
	case T_INT64:
		lua_pushinteger(L, (lua_Integer)in_i64(L, r));
		break;
	case T_JS: case T_SYMBOL: case T_DBPOINTER: {
		const uint8_t *start = r->p;
		size_t n = in_block_len(L, r, 0, 1);
		in_take(L, r, n + (type == T_DBPOINTER ? 12 : 0));
		push_tagged(L, type, start, (size_t)(r->p - start), NULL, 0);
		break;
	}
	case T_JSSCOPE: {
		const uint8_t *start = r->p;
		size_t n = in_block_len(L, r, 1, 4 + 4 + 1 + 5);
		in_take(L, r, n);
		push_tagged(L, type, start, (size_t)(r->p - start), NULL, 0);
		break;
	}
	case T_DECIMAL:
		push_tagged(L, type, in_take(L, r, 16), 16, NULL, 0);
		break;
	default:
		luaL_error(L, "Invalid bson type : %d", type);
	}
}

/* a whole document (length, elements, zero) from r: pushes a table */
static void
read_document(lua_State *L, struct in *r, int array, int depth) {
	if (depth > NEST_LIMIT)
		luaL_error(L, "Too depth while decoding bson");
	luaL_checkstack(L, 8, "bson nesting");
	size_t n = in_block_len(L, r, 1, 5);
	struct in body = { in_take(L, r, n), n };
	if (body.p[n - 1] != 0)
		luaL_error(L, "Invalid document end");
	body.left = n - 1;
	lua_newtable(L);
	while (body.left > 0) {
		int type = in_byte(L, &body);
		size_t klen;
		const char *key = in_cstring(L, &body, &klen);
		if (array)
			lua_pushinteger(L, (lua_Integer)strtoll(key, NULL, 10) + 1);
		else
			lua_pushlstring(L, key, klen);
		read_value(L, &body, type, depth);
		lua_rawset(L, -3);
	}
}

/* the bytes of a document argument: bson userdata, lightuserdata or string */
static const uint8_t *
doc_bytes(lua_State *L, int idx, size_t *avail) {
	switch (lua_type(L, idx)) {
	case LUA_TUSERDATA:
		*avail = lua_rawlen(L, idx);
		return (const uint8_t *)lua_touserdata(L, idx);
	case LUA_TLIGHTUSERDATA: {
		/* trusted: the length prefix is all there is */
		const uint8_t *p = (const uint8_t *)lua_touserdata(L, idx);
		*avail = p ? get_u32(p) : 0;
		return p;
	}
	case LUA_TSTRING:
		return (const uint8_t *)lua_tolstring(L, idx, avail);
	default:
		return NULL;
	}
}

static int
ldecode(lua_State *L) {
	size_t avail = 0;
	const uint8_t *p = doc_bytes(L, 1, &avail);
	if (p == NULL)
		return 0;
	struct in r = { p, avail };
	read_document(L, &r, 0, 0);
	return 1;
}

/* ---------------------------------------------------------------- bson userdata */

static int
doc_tostring(lua_State *L) {
	lua_pushlstring(L, (const char *)lua_touserdata(L, 1), lua_rawlen(L, 1));
	return 1;
}

static int
doc_len(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
	return 1;
}

/* size in bytes of the value of a fixed-size element type, or 0 */
static size_t
fixed_size(int type) {
	switch (type) {
	case T_DOUBLE: case T_DATE: case T_TIMESTAMP: case T_INT64: return 8;
	case T_INT32: return 4;
	case T_BOOL: return 1;
	case T_OID: return 12;
	default: return 0;
	}
}

/*
 * doc:makeindex() : remembers where each top-level fixed-size field's value
 * sits (key -> offset of the element's type byte), for doc.key = value.
 */
static int
lmakeindex(lua_State *L) {
	const uint8_t *p = (const uint8_t *)luaL_checkudata(L, 1, DOC_MT);
	size_t total = lua_rawlen(L, 1);
	struct in r = { p, total };
	size_t n = in_block_len(L, &r, 1, 5);
	struct in body = { r.p, n - 1 };
	lua_newtable(L);
	while (body.left > 0) {
		size_t at = (size_t)(body.p - p);
		int type = in_byte(L, &body);
		size_t klen;
		const char *key = in_cstring(L, &body, &klen);
		size_t fs = fixed_size(type);
		if (fs) {
			in_take(L, &body, fs);
			lua_pushlstring(L, key, klen);
			lua_pushinteger(L, (lua_Integer)at);
			lua_rawset(L, -3);
		} else {
			/* skip the value: decode it and drop it */
			read_value(L, &body, type, 0);
			lua_pop(L, 1);
		}
	}
	lua_setiuservalue(L, 1, 1);
	lua_settop(L, 1);
	return 1;
}

/* the payload of a tagged string of the given type and payload size */
static const uint8_t *
tagged_arg(lua_State *L, int idx, int type, size_t size) {
	size_t n;
	const uint8_t *s = (const uint8_t *)luaL_checklstring(L, idx, &n);
	if (n < 2 || s[0] != 0 || s[1] != type)
		luaL_error(L, "Type mismatch, need bson type %d", type);
	if (n != size + 2)
		luaL_error(L, "Invalid bson value of type %d", type);
	return s + 2;
}

static int
lreplace(lua_State *L) {
	uint8_t *p = (uint8_t *)luaL_checkudata(L, 1, DOC_MT);
	if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE)
		return luaL_error(L, "call makeindex first");
	lua_pushvalue(L, 2);
	if (lua_rawget(L, -2) != LUA_TNUMBER)
		return luaL_error(L, "Can't replace key : %s", luaL_tolstring(L, 2, NULL));
	size_t at = (size_t)lua_tointeger(L, -1);
	int type = p[at];
	uint8_t *v = p + at + 1 + strlen((const char *)p + at + 1) + 1;
	switch (type) {
	case T_DOUBLE: {
		union { double d; uint64_t u; } x;
		x.d = (double)luaL_checknumber(L, 3);
		put_u64(v, x.u);
		break;
	}
	case T_BOOL:
		*v = lua_toboolean(L, 3) ? 1 : 0;
		break;
	case T_INT32: {
		if (!lua_isinteger(L, 3))
			return luaL_error(L, "%f must be a 32bit integer ", lua_tonumber(L, 3));
		lua_Integer i = lua_tointeger(L, 3);
		if (i < INT32_MIN || i > INT32_MAX)
			return luaL_error(L, "%d must be a 32bit integer ", (int)i);
		put_u32(v, (uint32_t)(int32_t)i);
		break;
	}
	case T_INT64:
		if (!lua_isinteger(L, 3))
			return luaL_error(L, "%f must be a 64bit integer ", lua_tonumber(L, 3));
		put_u64(v, (uint64_t)lua_tointeger(L, 3));
		break;
	case T_OID:
		memcpy(v, tagged_arg(L, 3, T_OID, 12), 12);
		break;
	case T_DATE: {
		uint32_t secs;
		memcpy(&secs, tagged_arg(L, 3, T_DATE, 4), 4);
		put_u64(v, (uint64_t)secs * 1000);
		break;
	}
	case T_TIMESTAMP: {
		const uint8_t *t = tagged_arg(L, 3, T_TIMESTAMP, 8);
		uint32_t inc, secs;
		memcpy(&inc, t, 4);
		memcpy(&secs, t + 4, 4);
		put_u32(v, inc);
		put_u32(v + 4, secs);
		break;
	}
	default:
		return luaL_error(L, "Can't replace type %d", type);
	}
	return 0;
}

static void
push_doc(lua_State *L, struct out *o) {
	void *ud = lua_newuserdatauv(L, o->used, 1);
	memcpy(ud, o->bytes, o->used);
	luaL_setmetatable(L, DOC_MT);
}

/* the metatable of encoded documents, made once per state by luaopen_bson */
static void
make_doc_metatable(lua_State *L) {
	static const luaL_Reg meta[] = {
		{ "__tostring", doc_tostring },
		{ "__len", doc_len },
		{ "__newindex", lreplace },
		{ "__index", NULL },
		{ NULL, NULL },
	};
	static const luaL_Reg methods[] = {
		{ "decode", ldecode },
		{ "makeindex", lmakeindex },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, DOC_MT);
	luaL_setfuncs(L, meta, 0);
	lua_createtable(L, 0, 2);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

/* bson.encode(t) */
static int
lencode(lua_State *L) {
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	struct out *o = out_new(L);
	lua_pushvalue(L, 1);
	put_fields(L, o, 0);
	push_doc(L, o);
	free(o->bytes);
	o->bytes = NULL;
	return 1;
}

/* bson.encode_order(k1, v1, k2, v2, ...) : the keys in that order */
static int
lencode_order(lua_State *L) {
	int n = lua_gettop(L);
	if (n % 2 != 0)
		return luaL_error(L, "Invalid ordered dict");
	struct out *o = out_new(L);
	size_t mark = out_mark(L, o);
	for (int i = 1; i < n; i += 2) {
		int kt = lua_type(L, i);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER)
			return luaL_error(L, "Argument %d need a string", i);
		lua_pushvalue(L, i);
		size_t klen;
		const char *key = lua_tolstring(L, -1, &klen);
		lua_pushvalue(L, i + 1);
		put_value(L, o, key, klen, 0);
		lua_pop(L, 2);
	}
	out_byte(L, o, 0);
	out_close_len(o, mark);
	push_doc(L, o);
	free(o->bytes);
	o->bytes = NULL;
	return 1;
}

/* ---------------------------------------------------------------- value makers */

static int
ldate(lua_State *L) {
	uint32_t secs = (uint32_t)luaL_checkinteger(L, 1);
	push_tagged(L, T_DATE, &secs, 4, NULL, 0);
	return 1;
}

static int
lint64(lua_State *L) {
	int64_t v = (int64_t)luaL_checkinteger(L, 1);
	push_tagged(L, T_INT64, &v, 8, NULL, 0);
	return 1;
}

static uint32_t timestamp_inc;

static int
ltimestamp(lua_State *L) {
	uint32_t secs = (uint32_t)luaL_checkinteger(L, 1);
	uint32_t inc = lua_isnoneornil(L, 2) ? timestamp_inc++ : (uint32_t)luaL_checkinteger(L, 2);
	push_tagged(L, T_TIMESTAMP, &inc, 4, &secs, 4);
	return 1;
}

static int
lregex(lua_State *L) {
	size_t plen, olen = 0;
	/* Lua strings end with a zero byte: each piece is taken with it */
	const char *pat = luaL_checklstring(L, 1, &plen);
	const char *opt = luaL_optlstring(L, 2, "", &olen);
	push_tagged(L, T_REGEX, pat, plen + 1, opt, olen + 1);
	return 1;
}

static int
lbinary(lua_State *L) {
	size_t n;
	const char *data = luaL_checklstring(L, 1, &n);
	uint8_t sub = (uint8_t)luaL_optinteger(L, 2, 0);
	push_tagged(L, T_BINARY, &sub, 1, data, n);
	return 1;
}

/* ObjectId: 4 bytes of time (big endian), 5 bytes per process, 3 of counter */
static uint8_t oid_process[5];
static uint32_t oid_count;
static int oid_ready;

static void
oid_setup(void) {
	if (oid_ready)
		return;
	uint64_t seed = (uint64_t)time(NULL) * 6364136223846793005ULL ^ (uint64_t)getpid() << 17
		^ (uint64_t)(uintptr_t)&seed;
	FILE *f = fopen("/dev/urandom", "rb");
	if (f) {
		uint64_t x;
		if (fread(&x, sizeof(x), 1, f) == 1)
			seed ^= x;
		fclose(f);
	}
	for (int i = 0; i < 5; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		oid_process[i] = (uint8_t)(seed >> 56);
	}
	oid_count = (uint32_t)(seed >> 20);
	oid_ready = 1;
}

static int
hexval(int c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int
lobjectid(lua_State *L) {
	uint8_t id[12];
	if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) {
		size_t n;
		const char *s = lua_tolstring(L, 1, &n);
		if (n != 24)
			return luaL_error(L, "Invalid objectid %s", s);
		for (int i = 0; i < 12; i++) {
			int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return luaL_error(L, "Invalid objectid %s", s);
			id[i] = (uint8_t)(hi << 4 | lo);
		}
	} else {
		uint32_t now = (uint32_t)time(NULL);
		uint32_t c = __atomic_fetch_add(&oid_count, 1, __ATOMIC_RELAXED);
		for (int i = 0; i < 4; i++)
			id[i] = (uint8_t)(now >> (24 - 8 * i));
		memcpy(id + 4, oid_process, 5);
		id[9] = (uint8_t)(c >> 16);
		id[10] = (uint8_t)(c >> 8);
		id[11] = (uint8_t)c;
	}
	push_tagged(L, T_OID, id, 12, NULL, 0);
	return 1;
}

static int
lto_lightuserdata(lua_State *L) {
	lua_pushlightuserdata(L, lua_touserdata(L, 1));
	return 1;
}

/* ---------------------------------------------------------------- bson.type */

/* type names, kept as upvalues of bson.type */
enum { N_NUMBER = 1, N_BOOLEAN, N_TABLE, N_NIL, N_STRING, N_BINARY, N_OBJECTID,
	N_TIMESTAMP, N_DATE, N_REGEX, N_MINKEY, N_MAXKEY, N_INT64, N_UNSUPPORTED, N_COUNT = N_UNSUPPORTED };

static const char *const type_names[N_COUNT] = {
	"number", "boolean", "table", "nil", "string", "binary", "objectid",
	"timestamp", "date", "regex", "minkey", "maxkey", "int64", "unsupported",
};

static int
name(lua_State *L, int which) {
	lua_pushvalue(L, lua_upvalueindex(which));
	return 1;
}

/* bson.type(v) -> type name, then what the value holds */
static int
ltype(lua_State *L) {
	switch (lua_type(L, 1)) {
	case LUA_TNUMBER: name(L, N_NUMBER); break;
	case LUA_TBOOLEAN: name(L, N_BOOLEAN); break;
	case LUA_TTABLE: name(L, N_TABLE); break;
	case LUA_TNIL: return name(L, N_NIL);
	case LUA_TSTRING: {
		size_t n;
		const uint8_t *s = (const uint8_t *)lua_tolstring(L, 1, &n);
		if (n < 2 || s[0] != 0) {
			name(L, N_STRING);
			break;
		}
		const uint8_t *b = s + 2;
		size_t bl = n - 2;
		switch (s[1]) {
		case T_NULL: return name(L, N_NIL);
		case T_MINKEY: return name(L, N_MINKEY);
		case T_MAXKEY: return name(L, N_MAXKEY);
		case T_BINARY:
			if (bl < 1)
				return luaL_error(L, "Invalid binary");
			name(L, N_BINARY);
			lua_pushlstring(L, (const char *)b + 1, bl - 1);
			lua_pushinteger(L, b[0]);
			return 3;
		case T_OID: {
			if (bl != 12)
				return luaL_error(L, "Invalid object id");
			static const char digits[] = "0123456789abcdef";
			char hex[24];
			for (int i = 0; i < 12; i++) {
				hex[2 * i] = digits[b[i] >> 4];
				hex[2 * i + 1] = digits[b[i] & 15];
			}
			name(L, N_OBJECTID);
			lua_pushlstring(L, hex, 24);
			return 2;
		}
		case T_DATE: {
			if (bl != 4)
				return luaL_error(L, "Invalid date");
			int32_t secs;
			memcpy(&secs, b, 4);
			name(L, N_DATE);
			lua_pushinteger(L, secs);
			return 2;
		}
		case T_TIMESTAMP: {
			if (bl != 8)
				return luaL_error(L, "Invalid timestamp");
			uint32_t inc, secs;
			memcpy(&inc, b, 4);
			memcpy(&secs, b + 4, 4);
			name(L, N_TIMESTAMP);
			lua_pushinteger(L, secs);
			lua_pushinteger(L, inc);
			return 3;
		}
		case T_REGEX: {
			const uint8_t *z = bl ? memchr(b, 0, bl) : NULL;
			if (z == NULL || b[bl - 1] != 0 || z == b + bl - 1)
				return luaL_error(L, "Invalid regex");
			name(L, N_REGEX);
			lua_pushlstring(L, (const char *)b, (size_t)(z - b));
			lua_pushlstring(L, (const char *)z + 1, bl - (size_t)(z - b) - 2);
			return 3;
		}
		case T_INT64: {
			if (bl != 8)
				return luaL_error(L, "Invalid int64");
			int64_t v;
			memcpy(&v, b, 8);
			name(L, N_INT64);
			lua_pushinteger(L, (lua_Integer)v);
			return 2;
		}
		case T_JS: case T_SYMBOL: case T_DBPOINTER: case T_JSSCOPE: case T_DECIMAL:
			name(L, N_UNSUPPORTED);
			lua_pushlstring(L, (const char *)b, bl);
			return 2;
		default:
			return luaL_error(L, "Invalid subtype %d", s[1]);
		}
		break;
	}
	default:
		return luaL_error(L, "Invalid type %s", luaL_typename(L, 1));
	}
	lua_pushvalue(L, 1);
	return 2;
}

LUAMOD_API int
luaopen_bson(lua_State *L) {
	luaL_checkversion(L);
	oid_setup();
	make_doc_metatable(L);
	static const luaL_Reg funcs[] = {
		{ "encode", lencode },
		{ "encode_order", lencode_order },
		{ "decode", ldecode },
		{ "date", ldate },
		{ "timestamp", ltimestamp },
		{ "regex", lregex },
		{ "binary", lbinary },
		{ "objectid", lobjectid },
		{ "int64", lint64 },
		{ "to_lightuserdata", lto_lightuserdata },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	for (int i = 0; i < N_COUNT; i++)
		lua_pushstring(L, type_names[i]);
	lua_pushcclosure(L, ltype, N_COUNT);
	lua_setfield(L, -2, "type");
	static const struct { const char *field; uint8_t tag; } marks[] = {
		{ "null", T_NULL }, { "minkey", T_MINKEY }, { "maxkey", T_MAXKEY },
	};
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		push_tagged(L, marks[i].tag, NULL, 0, NULL, 0);
		lua_setfield(L, -2, marks[i].field);
	}
	return 1;
}
