/*
 * skynet.stm : one writer publishes successive versions of a message
 * block; readers in other services pick up the newest version.
 *
 *   w = stm.new(msg, sz | string)   writer (the block becomes the writer's)
 *   w(msg, sz | string)             publish a new version
 *   ptr = stm.copy(w)               a reference to hand to another service
 *   r = stm.newcopy(ptr)            reader built from such a reference
 *   r(f [, ud])                     if a version newer than the last one
 *                                   seen exists: true, f(msg, sz, ud)...
 *                                   otherwise false
 *
 * Blocks are skynet_malloc'ed and freed when the last holder lets go.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_malloc.h"

#define WRITER_MT "skynet.stm.writer"
#define READER_MT "skynet.stm.reader"

/* one published version */
struct version {
	atomic_int holders;
	uint32_t size;
	void *data;
};

/* the channel between the writer and its readers */
struct cell {
	pthread_mutex_t mu;
	int holders;            /* writer (until released) + readers */
	struct version *latest; /* NULL once the writer is gone */
};

static struct version *
version_new(void *data, size_t size) {
	struct version *v = (struct version *)skynet_malloc(sizeof(*v));
	if (v == NULL)
		return NULL;
	atomic_init(&v->holders, 1);
	v->size = (uint32_t)size;
	v->data = data;
	return v;
}

static void
version_drop(struct version *v) {
	if (v && atomic_fetch_sub(&v->holders, 1) == 1) {
		skynet_free(v->data);
		skynet_free(v);
	}
}

static void
cell_drop(struct cell *c) {
	pthread_mutex_lock(&c->mu);
	int left = --c->holders;
	pthread_mutex_unlock(&c->mu);
	if (left == 0) {
		pthread_mutex_destroy(&c->mu);
		skynet_free(c);
	}
}

/* the newest version with an extra holder, or NULL */
static struct version *
cell_snapshot(struct cell *c) {
	pthread_mutex_lock(&c->mu);
	struct version *v = c->latest;
	if (v)
		atomic_fetch_add(&v->holders, 1);
	pthread_mutex_unlock(&c->mu);
	return v;
}

static void
cell_publish(struct cell *c, struct version *v) {
	pthread_mutex_lock(&c->mu);
	struct version *old = c->latest;
	c->latest = v;
	pthread_mutex_unlock(&c->mu);
	version_drop(old);
}

/* message argument at idx: (pointer, size) handed over, or a string copied */
static void *
message_arg(lua_State *L, int idx, size_t *size) {
	if (lua_isuserdata(L, idx)) {
		void *p = lua_touserdata(L, idx);
		lua_Integer n = luaL_checkinteger(L, idx + 1);
		if (n < 0)
			luaL_error(L, "stm: invalid message size");
		*size = (size_t)n;
		return p;
	}
	size_t n = 0;
	const char *s = luaL_checklstring(L, idx, &n);
	void *p = skynet_malloc(n ? n : 1);
	if (p == NULL)
		luaL_error(L, "stm: out of memory");
	memcpy(p, s, n);
	*size = n;
	return p;
}

/* ------------------------------------------------------------ writer */

struct writer {
	struct cell *cell;
};

static int
writer_gc(lua_State *L) {
	struct writer *w = (struct writer *)lua_touserdata(L, 1);
	struct cell *c = w->cell;
	if (c == NULL)
		return 0;
	w->cell = NULL;
	cell_publish(c, NULL);    /* readers see no more versions */
	cell_drop(c);
	return 0;
}

static int
writer_call(lua_State *L) {
	struct writer *w = (struct writer *)luaL_checkudata(L, 1, WRITER_MT);
	if (w->cell == NULL)
		return luaL_error(L, "stm: writer already released");
	size_t n = 0;
	void *p = message_arg(L, 2, &n);
	struct version *v = version_new(p, n);
	if (v == NULL) {
		skynet_free(p);
		return luaL_error(L, "stm: out of memory");
	}
	cell_publish(w->cell, v);
	return 0;
}

static int
lnew(lua_State *L) {
	size_t n = 0;
	/* create the Lua object first, so nothing leaks if that fails */
	struct writer *w = (struct writer *)lua_newuserdatauv(L, sizeof(*w), 0);
	w->cell = NULL;
	luaL_setmetatable(L, WRITER_MT);
	void *p = message_arg(L, 1, &n);
	struct cell *c = (struct cell *)skynet_malloc(sizeof(*c));
	struct version *v = c ? version_new(p, n) : NULL;
	if (v == NULL) {
		skynet_free(c);
		skynet_free(p);
		return luaL_error(L, "stm: out of memory");
	}
	pthread_mutex_init(&c->mu, NULL);
	c->holders = 1;
	c->latest = v;
	w->cell = c;
	return 1;
}

static int
lcopy(lua_State *L) {
	struct writer *w = (struct writer *)luaL_checkudata(L, 1, WRITER_MT);
	struct cell *c = w->cell;
	if (c == NULL)
		return luaL_error(L, "stm: writer already released");
	pthread_mutex_lock(&c->mu);
	c->holders++;
	pthread_mutex_unlock(&c->mu);
	lua_pushlightuserdata(L, c);
	return 1;
}

/* ------------------------------------------------------------ reader */

struct reader {
	struct cell *cell;
	struct version *seen;
};

static int
reader_gc(lua_State *L) {
	struct reader *r = (struct reader *)lua_touserdata(L, 1);
	if (r->cell) {
		cell_drop(r->cell);
		r->cell = NULL;
	}
	version_drop(r->seen);
	r->seen = NULL;
	return 0;
}

static int
lnewcopy(lua_State *L) {
	struct cell *c = (struct cell *)lua_touserdata(L, 1);
	if (c == NULL || !lua_islightuserdata(L, 1))
		return luaL_error(L, "stm: need a pointer from stm.copy");
	struct reader *r = (struct reader *)lua_newuserdatauv(L, sizeof(*r), 0);
	r->cell = c;      /* takes over the reference made by stm.copy */
	r->seen = NULL;
	luaL_setmetatable(L, READER_MT);
	return 1;
}

static int
reader_call(lua_State *L) {
	struct reader *r = (struct reader *)luaL_checkudata(L, 1, READER_MT);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (r->cell == NULL)
		return luaL_error(L, "stm: reader already released");
	struct version *v = cell_snapshot(r->cell);
	if (v == r->seen) {
		version_drop(v);
		lua_pushboolean(L, 0);
		return 1;
	}
	version_drop(r->seen);
	r->seen = v;
	if (v == NULL) {
		lua_pushboolean(L, 0);
		return 1;
	}
	/* results: true, then whatever f(msg, sz, ud) returns */
	int before = lua_gettop(L);
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 2);
	lua_pushlightuserdata(L, v->data);
	lua_pushinteger(L, v->size);
	if (before >= 3)
		lua_pushvalue(L, 3);
	else
		lua_pushnil(L);
	lua_call(L, 3, LUA_MULTRET);
	return lua_gettop(L) - before;
}

LUAMOD_API int
luaopen_skynet_stm(lua_State *L) {
	luaL_checkversion(L);
	if (luaL_newmetatable(L, WRITER_MT)) {
		lua_pushcfunction(L, writer_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, writer_call);
		lua_setfield(L, -2, "__call");
	}
	lua_pop(L, 1);
	if (luaL_newmetatable(L, READER_MT)) {
		lua_pushcfunction(L, reader_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, reader_call);
		lua_setfield(L, -2, "__call");
	}
	lua_pop(L, 1);
	static const luaL_Reg funcs[] = {
		{ "new", lnew },
		{ "copy", lcopy },
		{ "newcopy", lnewcopy },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
