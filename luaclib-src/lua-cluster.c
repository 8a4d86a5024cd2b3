/*
 * skynet.cluster.core : framing of the cluster protocol between nodes.
 *
 * Every frame starts with a 2-byte big-endian length of what follows;
 * 32-bit fields inside a frame are little endian.  Messages larger than
 * PART_LIMIT bytes are split into a header frame plus part frames.
 *
 * Request frames (after the length):
 *   0x00 addr session data               call/push to a numeric address
 *   0x01|0x41 addr session size          start of a large call (0x41 push)
 *   0x80 namelen name session data       call/push to a named address
 *   0x81|0xc1 namelen name session size  start of a large named call/push
 *   0x02|0x03 session data               a part (0x03 is the last one)
 *   0x04 tag                             trace tag
 *   (a push carries session 0 in the small forms)
 *
 * Response frames: session, kind, payload with kind
 *   0 error text, 1 ok data, 2 large answer follows (payload = size),
 *   3 a part, 4 the last part.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "skynet.h"
#include "skynet_malloc.h"

#define PART_LIMIT 0x8000

/* ------------------------------------------------------------ framing */

/* a frame under construction, built directly in a Lua string buffer */
struct frame {
	luaL_Buffer b;
};

/* begin a frame whose body (everything after the length) has n bytes */
static void
frame_begin(lua_State *L, struct frame *f, size_t n) {
	luaL_buffinitsize(L, &f->b, n + 2);
	luaL_addchar(&f->b, (char)(uint8_t)(n >> 8));
	luaL_addchar(&f->b, (char)(uint8_t)n);
}

static void
put_u8(struct frame *f, uint8_t v) {
	luaL_addchar(&f->b, (char)v);
}

static void
put_u32(struct frame *f, uint32_t v) {
	char le[4];
	le[0] = (char)(uint8_t)v;
	le[1] = (char)(uint8_t)(v >> 8);
	le[2] = (char)(uint8_t)(v >> 16);
	le[3] = (char)(uint8_t)(v >> 24);
	luaL_addlstring(&f->b, le, 4);
}

static void
put_bytes(struct frame *f, const void *p, size_t n) {
	if (n > 0)
		luaL_addlstring(&f->b, (const char *)p, n);
}

/* push the finished frame as a string */
static void
frame_push(struct frame *f) {
	luaL_pushresult(&f->b);
}

static uint32_t
get_u32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t
part_count(uint32_t sz) {
	return (sz - 1) / PART_LIMIT + 1;
}

/* ------------------------------------------------------------ requests */

/* push the parts of a large request into a new table */
static void
push_request_parts(lua_State *L, uint32_t session, const uint8_t *data, uint32_t sz) {
	struct frame f;
	uint32_t n = part_count(sz);
	lua_createtable(L, (int)n, 0);
	uint32_t i;
	for (i = 0; i < n; i++) {
		uint32_t chunk = sz > PART_LIMIT ? PART_LIMIT : sz;
		frame_begin(L, &f, chunk + 5);
		put_u8(&f, sz > PART_LIMIT ? 2 : 3);
		put_u32(&f, session);
		put_bytes(&f, data, chunk);
		frame_push(&f);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		data += chunk;
		sz -= chunk;
	}
}

static int
pack_request(lua_State *L, int push) {
	void *msg = lua_touserdata(L, 3);
	if (msg == NULL)
		return luaL_error(L, "Invalid request message");
	uint32_t sz = (uint32_t)luaL_checkinteger(L, 4);
	int session = (int)luaL_checkinteger(L, 2);
	if (session <= 0) {
		skynet_free(msg);
		return luaL_error(L, "Invalid request session %d", session);
	}
	const char *name = NULL;
	size_t namelen = 0;
	uint32_t addr = 0;
	if (lua_type(L, 1) == LUA_TNUMBER) {
		addr = (uint32_t)lua_tointeger(L, 1);
	} else {
		name = lua_tolstring(L, 1, &namelen);
		if (name == NULL) {
			skynet_free(msg);
			return luaL_error(L, "name is not a string, it's a %s", luaL_typename(L, 1));
		}
		if (namelen < 1 || namelen > 255) {
			skynet_free(msg);
			return luaL_error(L, "name length is invalid, must be between 1 and 255 characters: %s", name);
		}
	}

	struct frame f;
	int large = sz >= PART_LIMIT;
	size_t target = name ? 2 + namelen : 5;     /* kind + address */
	frame_begin(L, &f, target + (large ? 8 : 4 + (size_t)sz));
	if (name == NULL) {
		put_u8(&f, large ? (push ? 0x41 : 0x01) : 0x00);
		put_u32(&f, addr);
	} else {
		put_u8(&f, large ? (push ? 0xc1 : 0x81) : 0x80);
		put_u8(&f, (uint8_t)namelen);
		put_bytes(&f, name, namelen);
	}
	if (large) {
		put_u32(&f, (uint32_t)session);
		put_u32(&f, sz);
	} else {
		put_u32(&f, push ? 0 : (uint32_t)session);
		put_bytes(&f, msg, sz);
	}
	frame_push(&f);

	uint32_t next = (uint32_t)session + 1;
	if (next > INT32_MAX)
		next = 1;
	lua_pushinteger(L, next);
	if (large) {
		push_request_parts(L, (uint32_t)session, (const uint8_t *)msg, sz);
		skynet_free(msg);
		return 3;
	}
	skynet_free(msg);
	return 2;
}

/* packrequest(addr, session, msg, sz) wants an answer; packpush sends one way */
static int lpackrequest(lua_State *L) { return pack_request(L, 0); }
static int lpackpush(lua_State *L) { return pack_request(L, 1); }

static int
lpacktrace(lua_State *L) {
	size_t n = 0;
	const char *tag = luaL_checklstring(L, 1, &n);
	if (n > PART_LIMIT)
		return luaL_error(L, "trace tag is too long : %d", (int)n);
	struct frame f;
	frame_begin(L, &f, n + 1);
	put_u8(&f, 4);
	put_bytes(&f, tag, n);
	frame_push(&f);
	return 1;
}

/* copy a payload into a skynet_malloc'ed block: pushes block, size */
static void
push_block(lua_State *L, const uint8_t *p, size_t n) {
	void *b = skynet_malloc(n ? n : 1);
	if (b == NULL)
		luaL_error(L, "cluster: out of memory");
	if (n > 0)
		memcpy(b, p, n);
	lua_pushlightuserdata(L, b);
	lua_pushinteger(L, (lua_Integer)n);
}

static int
bad_size(lua_State *L, int sz) {
	return luaL_error(L, "Invalid cluster message (size=%d)", sz);
}

/*
 * unpackrequest(frame body) ->
 *   addr|name, session, msg, sz [, nil, true(push)]      small message
 *   addr|name, session, nil, size, true, is_push         large header
 *   false, session, msg, sz, more                        a part
 *   tag                                                  trace
 */
static int
lunpackrequest(lua_State *L) {
	const uint8_t *m;
	int sz;
	if (lua_type(L, 1) == LUA_TLIGHTUSERDATA) {
		m = (const uint8_t *)lua_touserdata(L, 1);
		sz = (int)luaL_checkinteger(L, 2);
	} else {
		size_t n = 0;
		m = (const uint8_t *)luaL_checklstring(L, 1, &n);
		sz = (int)n;
	}
	if (sz == 0)
		return luaL_error(L, "Invalid req package. size == 0");
	if (sz < 0 || m == NULL)
		return luaL_error(L, "Invalid req package. size == %d", sz);

	switch (m[0]) {
	case 0x00: {
		if (sz < 9)
			return bad_size(L, sz);
		uint32_t session = get_u32(m + 5);
		lua_pushinteger(L, get_u32(m + 1));
		lua_pushinteger(L, session);
		push_block(L, m + 9, (size_t)sz - 9);
		if (session == 0) {
			lua_pushnil(L);
			lua_pushboolean(L, 1);
			return 6;
		}
		return 4;
	}
	case 0x01:
	case 0x41:
		if (sz != 13)
			return luaL_error(L, "Invalid cluster message size %d (multi req must be 13)", sz);
		lua_pushinteger(L, get_u32(m + 1));
		lua_pushinteger(L, get_u32(m + 5));
		lua_pushnil(L);
		lua_pushinteger(L, get_u32(m + 9));
		lua_pushboolean(L, 1);
		lua_pushboolean(L, m[0] == 0x41);
		return 6;
	case 0x02:
	case 0x03:
		if (sz < 5)
			return luaL_error(L, "Invalid cluster multi part message");
		lua_pushboolean(L, 0);
		lua_pushinteger(L, get_u32(m + 1));
		push_block(L, m + 5, (size_t)sz - 5);
		lua_pushboolean(L, m[0] == 0x02);
		return 5;
	case 0x04:
		lua_pushlstring(L, (const char *)m + 1, (size_t)sz - 1);
		return 1;
	case 0x80: {
		if (sz < 2)
			return bad_size(L, sz);
		size_t namelen = m[1];
		if ((size_t)sz < namelen + 6)
			return bad_size(L, sz);
		uint32_t session = get_u32(m + 2 + namelen);
		lua_pushlstring(L, (const char *)m + 2, namelen);
		lua_pushinteger(L, session);
		push_block(L, m + 6 + namelen, (size_t)sz - namelen - 6);
		if (session == 0) {
			lua_pushnil(L);
			lua_pushboolean(L, 1);
			return 6;
		}
		return 4;
	}
	case 0x81:
	case 0xc1: {
		if (sz < 2)
			return bad_size(L, sz);
		size_t namelen = m[1];
		if ((size_t)sz < namelen + 10)
			return bad_size(L, sz);
		lua_pushlstring(L, (const char *)m + 2, namelen);
		lua_pushinteger(L, get_u32(m + 2 + namelen));
		lua_pushnil(L);
		lua_pushinteger(L, get_u32(m + 6 + namelen));
		lua_pushboolean(L, 1);
		lua_pushboolean(L, m[0] == 0xc1);
		return 6;
	}
	default:
		return luaL_error(L, "Invalid req package type %d", (int)(signed char)m[0]);
	}
}

/* ------------------------------------------------------------ responses */

/* packresponse(session, ok, msg, sz | string) -> frame or { frames } */
static int
lpackresponse(lua_State *L) {
	uint32_t session = (uint32_t)luaL_checkinteger(L, 1);
	int ok = lua_toboolean(L, 2);
	const uint8_t *msg;
	size_t sz;
	/* the message belongs to the caller: it is not freed here */
	if (lua_type(L, 3) == LUA_TSTRING) {
		msg = (const uint8_t *)lua_tolstring(L, 3, &sz);
	} else {
		msg = (const uint8_t *)lua_touserdata(L, 3);
		sz = (size_t)luaL_checkinteger(L, 4);
	}
	if (msg == NULL && sz > 0)
		return luaL_error(L, "Invalid response message");

	struct frame f;
	if (!ok && sz > PART_LIMIT)
		sz = PART_LIMIT;        /* error texts are cut short */
	if (ok && sz > PART_LIMIT) {
		uint32_t n = part_count((uint32_t)sz);
		lua_createtable(L, (int)n + 1, 0);
		frame_begin(L, &f, 9);
		put_u32(&f, session);
		put_u8(&f, 2);
		put_u32(&f, (uint32_t)sz);
		frame_push(&f);
		lua_rawseti(L, -2, 1);
		uint32_t i;
		for (i = 0; i < n; i++) {
			size_t chunk = sz > PART_LIMIT ? PART_LIMIT : sz;
			frame_begin(L, &f, chunk + 5);
			put_u32(&f, session);
			put_u8(&f, sz > PART_LIMIT ? 3 : 4);
			put_bytes(&f, msg, chunk);
			frame_push(&f);
			lua_rawseti(L, -2, (lua_Integer)i + 2);
			msg += chunk;
			sz -= chunk;
		}
		return 1;
	}
	frame_begin(L, &f, sz + 5);
	put_u32(&f, session);
	put_u8(&f, ok ? 1 : 0);
	put_bytes(&f, msg, sz);
	frame_push(&f);
	return 1;
}

/* unpackresponse(frame body) -> session, ok, data [, more]
 *                            or session, true, size, true (large begins) */
static int
lunpackresponse(lua_State *L) {
	size_t sz = 0;
	const uint8_t *b = (const uint8_t *)luaL_checklstring(L, 1, &sz);
	if (sz < 5)
		return 0;
	lua_Integer session = (lua_Integer)get_u32(b);
	switch (b[4]) {
	case 0:
	case 1:
	case 4:
		lua_pushinteger(L, session);
		lua_pushboolean(L, b[4] != 0);
		lua_pushlstring(L, (const char *)b + 5, sz - 5);
		return 3;
	case 2:
		if (sz != 9)
			return 0;
		lua_pushinteger(L, session);
		lua_pushboolean(L, 1);
		lua_pushinteger(L, (lua_Integer)get_u32(b + 5));
		lua_pushboolean(L, 1);
		return 4;
	case 3:
		lua_pushinteger(L, session);
		lua_pushboolean(L, 1);
		lua_pushlstring(L, (const char *)b + 5, sz - 5);
		lua_pushboolean(L, 1);
		return 4;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------ assembling */

/* append(t, msg, sz) : t[#t+1] = string copy of msg (msg freed);
 * append(t, nil, v)  : t[#t+1] = v */
static int
lappend(lua_State *L) {
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_Integer slot = (lua_Integer)lua_rawlen(L, 1) + 1;
	if (!lua_isnil(L, 2)) {
		void *p = lua_touserdata(L, 2);
		if (p == NULL)
			return luaL_error(L, "Need lightuserdata");
		lua_Integer sz = luaL_checkinteger(L, 3);
		if (sz < 0)
			return luaL_error(L, "Invalid size %d", (int)sz);
		lua_pushlstring(L, (const char *)p, (size_t)sz);
		skynet_free(p);
	} else {
		lua_settop(L, 3);	/* the value itself goes in */
	}
	lua_seti(L, 1, slot);
	return 0;
}

/* t[1] of the table t at index 1 when it is a number; -1 otherwise */
static lua_Integer
declared_size(lua_State *L) {
	lua_Integer total = -1;
	if (lua_istable(L, 1)) {
		if (lua_geti(L, 1, 1) == LUA_TNUMBER)
			total = lua_tointeger(L, -1);
		lua_pop(L, 1);
	}
	return total;
}

/* concat({ size, str1, str2, ... }) -> block, size (nothing on mismatch). The parts are
 * measured before anything is allocated: the size comes from the peer. */
static int
lconcat(lua_State *L) {
	lua_Integer total = declared_size(L);
	if (total < 0 || total > INT32_MAX)
		return 0;
	lua_Integer parts = 0;
	size_t got = 0;
	while (lua_geti(L, 1, parts + 2) == LUA_TSTRING) {
		got += lua_rawlen(L, -1);
		lua_pop(L, 1);
		parts++;
		if (got > (size_t)total)
			return 0;
	}
	lua_pop(L, 1);
	if (got != (size_t)total)
		return 0;
	char *out = (char *)skynet_malloc(total ? (size_t)total : 1);
	if (out == NULL)
		return luaL_error(L, "cluster: out of memory");
	size_t used = 0;
	lua_Integer i;
	for (i = 0; i < parts; i++) {
		size_t n = 0;
		lua_geti(L, 1, i + 2);
		const char *s = lua_tolstring(L, -1, &n);
		memcpy(out + used, s, n);
		used += n;
		lua_pop(L, 1);
	}
	lua_pushlightuserdata(L, out);
	lua_pushinteger(L, total);
	return 2;
}

/* isname(s): true when s names a service by its global "@name"; nothing otherwise */
static int
lisname(lua_State *L) {
	const char *s = lua_tostring(L, 1);
	int global = s != NULL && s[0] == '@';
	if (global)
		lua_pushboolean(L, 1);
	return global;
}

/* a name for this process: host name (blanks replaced) followed by pid */
static int
lnodename(lua_State *L) {
	char host[256];
	int pid = (int)getpid();
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		char *p;
		for (p = host; *p; p++) {
			if ((unsigned char)*p <= ' ')
				*p = '_';
		}
		lua_pushfstring(L, "%s%d", host, pid);
	} else {
		lua_pushfstring(L, "noname%d", pid);
	}
	return 1;
}

LUAMOD_API int
luaopen_skynet_cluster_core(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		/* requests: caller side, then the receiving side */
		{ "packrequest", lpackrequest }, { "packpush", lpackpush }, { "packtrace", lpacktrace },
		{ "unpackrequest", lunpackrequest },
		/* responses */
		{ "packresponse", lpackresponse }, { "unpackresponse", lunpackresponse },
		/* reassembly of large messages sent in parts */
		{ "append", lappend }, { "concat", lconcat },
		{ "isname", lisname }, { "nodename", lnodename },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
