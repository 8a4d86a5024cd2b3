/*
 * skynet.memory : allocator statistics, thin wrappers over malloc_hook.h.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdbool.h>
#include <stddef.h>

#include "malloc_hook.h"

/* The counters are size_t; Lua gets them as integers. */
static int
push_size(lua_State *L, size_t v) {
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

static int mem_total(lua_State *L) { return push_size(L, malloc_used_memory()); }
static int mem_block(lua_State *L) { return push_size(L, malloc_memory_block()); }
static int mem_current(lua_State *L) { return push_size(L, malloc_current_memory()); }

static int
mem_dumpinfo(lua_State *L) {
	const char *opts = lua_isstring(L, 1) ? lua_tostring(L, 1) : NULL;
	memory_info_dump(opts);
	return 0;
}

static int
mem_dump(lua_State *L) {
	(void)L;
	dump_c_mem();
	return 0;
}

/* a table of the main allocator counters, refreshed first */
static int
mem_jestat(lua_State *L) {
	static const char *const keys[] = {
		"stats.allocated",
		"stats.resident",
		"stats.retained",
		"stats.mapped",
		"stats.active",
	};
	size_t epoch = 1;
	mallctl_int64("epoch", &epoch);
	lua_createtable(L, 0, (int)(sizeof(keys) / sizeof(keys[0])));
	size_t i;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		lua_pushinteger(L, (lua_Integer)mallctl_int64(keys[i], NULL));
		lua_setfield(L, -2, keys[i]);
	}
	return 1;
}

/* mallctl(name): the jemalloc value `name`, read only */
static int
mem_mallctl(lua_State *L) {
	return push_size(L, mallctl_int64(luaL_checkstring(L, 1), NULL));
}

/* dumpheap(): a heap profile file, when jemalloc profiles */
static int
mem_dumpheap(lua_State *L) {
	(void)L;
	mallctl_cmd("prof.dump");
	return 0;
}

/* profactive([bool]) : query, or set then report, the heap profiler state */
static int
mem_profactive(lua_State *L) {
	bool value;
	bool *set = NULL;
	if (!lua_isnone(L, 1)) {
		value = lua_toboolean(L, 1) ? true : false;
		set = &value;
	}
	lua_pushboolean(L, mallctl_bool("prof.active", set));
	return 1;
}

LUAMOD_API int
luaopen_skynet_memory(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		/* counters */
		{ "total", mem_total }, { "block", mem_block }, { "current", mem_current },
		{ "info", dump_mem_lua }, { "jestat", mem_jestat }, { "mallctl", mem_mallctl },
		/* printouts and profiling */
		{ "dump", mem_dump }, { "dumpinfo", mem_dumpinfo },
		{ "dumpheap", mem_dumpheap }, { "profactive", mem_profactive },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
