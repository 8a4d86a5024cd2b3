/* libFuzzer entry for the parsers of untrusted bytes: one Lua state per process, with our
 * Lua C modules preloaded, runs the target script fuzz/targets/<target>.lua (its path is
 * compiled in as FUZZ_SCRIPT). The script returns a function that gets each input as a
 * string; a Lua error is a rejected input, fine; a crash, a sanitizer report or a hang is a
 * bug. `fuzz` (a global table) gives scripts what a parser is fed with in a node. */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_socket.h"

#ifndef FUZZ_SCRIPT
#error "build with -DFUZZ_SCRIPT='\"path/to/target.lua\"'"
#endif

int luaopen_skynet_netpack(lua_State *L);
int luaopen_skynet_cluster_core(lua_State *L);
int luaopen_sproto_core(lua_State *L);
int luaopen_bson(lua_State *L);
int luaopen_skynet_crypt(lua_State *L);
int sk_seri_unpack(lua_State *L);
int sk_seri_pack(lua_State *L);

/* The socket message a DATA event carries: netpack takes the buffer and frees it. */
static int
socket_message(lua_State *L) {
	static struct skynet_socket_message m;
	size_t n = 0;
	const char *bytes = luaL_optlstring(L, 3, "", &n);
	m.type = (int)luaL_checkinteger(L, 1);
	m.id = (int)luaL_checkinteger(L, 2);
	m.ud = (int)n;
	m.buffer = NULL;
	if (m.type == SKYNET_SOCKET_TYPE_DATA) {
		m.buffer = malloc(n ? n : 1);
		memcpy(m.buffer, bytes, n);
	}
	lua_pushlightuserdata(L, &m);
	lua_pushinteger(L, (lua_Integer)sizeof(m));
	return 2;
}

static int
free_pointer(lua_State *L) {
	free(lua_touserdata(L, 1));
	return 0;
}

/* Packs its arguments with skynet.pack's format and returns the bytes as a string. */
static int
pack_string(lua_State *L) {
	int n = sk_seri_pack(L);
	void *p = lua_touserdata(L, -n);
	size_t sz = (size_t)lua_tointeger(L, -n + 1);
	lua_pushlstring(L, p, sz);
	free(p);
	return 1;
}

static lua_State *state;

static void
preload(lua_State *L, const char *name, lua_CFunction open) {
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, open);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv) {
	(void)argc; (void)argv;
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
#ifdef FUZZ_LUALIB
	/* Lua modules a target needs (a schema parser, say) come from our lualib. */
	lua_getglobal(L, "package");
	lua_pushstring(L, FUZZ_LUALIB "/?.lua");
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
#endif
	preload(L, "skynet.netpack", luaopen_skynet_netpack);
	preload(L, "skynet.cluster.core", luaopen_skynet_cluster_core);
	preload(L, "sproto.core", luaopen_sproto_core);
	preload(L, "bson", luaopen_bson);
	preload(L, "skynet.crypt", luaopen_skynet_crypt);
	static const luaL_Reg helpers[] = {
		{ "socket_message", socket_message },
		{ "free", free_pointer },
		{ "unpack", sk_seri_unpack },
		{ "pack", pack_string },
		{ NULL, NULL },
	};
	luaL_newlib(L, helpers);
#ifdef FUZZ_ROOT
	lua_pushstring(L, FUZZ_ROOT);	/* the repository, for a target's test data */
	lua_setfield(L, -2, "root");
#endif
	lua_setglobal(L, "fuzz");
	if (luaL_dofile(L, FUZZ_SCRIPT) != LUA_OK || !lua_isfunction(L, -1)) {
		fprintf(stderr, "fuzz: %s: %s\n", FUZZ_SCRIPT, lua_tostring(L, -1));
		exit(2);
	}
	lua_setglobal(L, "fuzz_one");
	state = L;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	lua_State *L = state;
	lua_getglobal(L, "fuzz_one");
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		/* The target itself failed (not the parser it guards): that is a finding. */
		const char *why = lua_tostring(L, -1);
		if (why && strncmp(why, "fuzz: ", 6) == 0) {
			fprintf(stderr, "%s\n", why);
			abort();
		}
		lua_pop(L, 1);
	}
	lua_gc(L, LUA_GCCOLLECT, 0);
	return 0;
}
