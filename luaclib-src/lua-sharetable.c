/*
 * skynet.sharetable.core : tables shared between services, read in place (our Lua's boxes,
 * lua-share/lshare.h). Handles are light userdata the sharetable service hands out; each
 * stays valid until that service frees it.
 *
 *   h = core.box(t)        a frozen copy of t (and of every table it reaches)
 *   t = core.push(h)       the box's root itself, or nil when this state cannot read it in
 *                          place (it holds its own copy of one of the box's strings)
 *   t = core.copy(h)       a private, writable copy of the box's root
 *   ok = core.free(h)      frees the box (no service may read it afterwards)
 *   core.isshared(v)       is v a box table?
 *   core.count()           live boxes in the process
 *   core.size(h)           bytes the box holds
 *   n = core.replace(map, skip)   in this whole state, each reference to a key of map
 *                          becomes one to its value (tables; skip: tables left alone)
 *
 * The functions are looked up in the process at load time: on a Lua without boxes the
 * require fails and skynet.sharetable keeps private copies.
 */

#define LUA_LIB
#define _GNU_SOURCE

#include <lua.h>
#include <lauxlib.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

typedef struct lshare_Box lshare_Box;

static struct {
	lshare_Box *(*box_new)(lua_State *L, int idx, char *err, size_t errsz);
	int (*box_push)(lua_State *L, lshare_Box *box);
	int (*box_pushcopy)(lua_State *L, lshare_Box *box);
	int (*box_free)(lshare_Box *box);
	int (*box_count)(void);
	size_t (*box_size)(lshare_Box *box);
	int (*isboxed)(lua_State *L, int idx);
	int (*replace)(lua_State *L, int map, int skip);
} api;

static lshare_Box *
handle(lua_State *L) {
	luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
	return (lshare_Box *)lua_touserdata(L, 1);
}

static int
lbox(lua_State *L) {
	char err[256];
	lshare_Box *box;
	luaL_checktype(L, 1, LUA_TTABLE);
	box = api.box_new(L, 1, err, sizeof(err));
	if (box == NULL)
		return luaL_error(L, "sharetable: %s", err);
	lua_pushlightuserdata(L, box);
	return 1;
}

static int
lpush(lua_State *L) {
	if (!api.box_push(L, handle(L)))
		lua_pushnil(L);
	return 1;
}

static int
lcopy(lua_State *L) {
	if (!api.box_pushcopy(L, handle(L)))
		return luaL_error(L, "sharetable: not a live table handle");
	return 1;
}

static int
lfree(lua_State *L) {
	lua_pushboolean(L, api.box_free(handle(L)));
	return 1;
}

static int
lisshared(lua_State *L) {
	luaL_checkany(L, 1);
	lua_pushboolean(L, api.isboxed(L, 1));
	return 1;
}

static int
lcount(lua_State *L) {
	lua_pushinteger(L, api.box_count());
	return 1;
}

static int
lsize(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)api.box_size(handle(L)));
	return 1;
}

static int
lreplace(lua_State *L) {
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_pushinteger(L, api.replace(L, 1, 2));
	return 1;
}

static pthread_once_t looked_up = PTHREAD_ONCE_INIT;
static int found;

/* Once per process (services load the module from many threads). */
static void
find_api(void) {
	*(void **)&api.box_new = dlsym(RTLD_DEFAULT, "lshare_box_new");
	*(void **)&api.box_push = dlsym(RTLD_DEFAULT, "lshare_box_push");
	*(void **)&api.box_pushcopy = dlsym(RTLD_DEFAULT, "lshare_box_pushcopy");
	*(void **)&api.box_free = dlsym(RTLD_DEFAULT, "lshare_box_free");
	*(void **)&api.box_count = dlsym(RTLD_DEFAULT, "lshare_box_count");
	*(void **)&api.box_size = dlsym(RTLD_DEFAULT, "lshare_box_size");
	*(void **)&api.isboxed = dlsym(RTLD_DEFAULT, "lshare_isboxed");
	*(void **)&api.replace = dlsym(RTLD_DEFAULT, "lshare_replace");
	found = api.box_new && api.box_push && api.box_pushcopy && api.box_free &&
		api.box_count && api.box_size && api.isboxed && api.replace;
}

LUAMOD_API int
luaopen_skynet_sharetable_core(lua_State *L) {
	luaL_Reg l[] = {
		{ "box", lbox },
		{ "push", lpush },
		{ "copy", lcopy },
		{ "free", lfree },
		{ "isshared", lisshared },
		{ "count", lcount },
		{ "size", lsize },
		{ "replace", lreplace },
		{ NULL, NULL },
	};
	pthread_once(&looked_up, find_api);
	if (!found)
		return luaL_error(L, "skynet.sharetable.core: this process's Lua has no shared tables (lshare_box_*)");
	luaL_newlib(L, l);
	return 1;
}
