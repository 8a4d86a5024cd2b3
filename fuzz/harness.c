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

/* Coverage of the Lua code a target runs (a parser written in Lua, the config reader): the
 * line hook bumps a counter per (chunk, line) in libFuzzer's extra counters, so mutations
 * that reach new Lua lines are kept, as for C. The count hook (for targets that ask for it)
 * bounds the instructions one input may run: past the budget it raises, and the input counts
 * as rejected. */
static uint8_t lua_lines[1 << 16] __attribute__((used, section("__libfuzzer_extra_counters")));
#define INSTRUCTION_BUDGET 20    /* thousands of Lua instructions per input */
static int budget_used;

/* Only our Lua code counts (chunks loaded from this repository): the lines of an input that
 * is itself a program (a config) would make every input look new. */
static int
ours(const char *source) {
#ifdef FUZZ_ROOT
	return source[0] == '@' && strncmp(source + 1, FUZZ_ROOT, sizeof(FUZZ_ROOT) - 1) == 0;
#else
	(void)source;
	return 0;
#endif
}

static void
coverage_hook(lua_State *L, lua_Debug *ar) {
	if (ar->event == LUA_HOOKCOUNT) {
		if (++budget_used > INSTRUCTION_BUDGET)
			luaL_error(L, "instruction budget of the input spent");
		return;
	}
	if (lua_getinfo(L, "S", ar) == 0 || !ours(ar->source))
		return;
	uintptr_t h = (uintptr_t)ar->source * 2654435761u ^ (uintptr_t)ar->currentline * 40503u;
	uint8_t *c = &lua_lines[(h ^ (h >> 16)) & (sizeof(lua_lines) - 1)];
	if (*c != 255)
		(*c)++;
}

/* A state's memory is capped: an input that asks for more (a config running ("x"):rep(1e9),
 * say) gets Lua's memory error, a rejected input, instead of tripping the fuzzer's limit. */
#define STATE_LIMIT (128u << 20)
static size_t state_bytes;

static void *
capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		state_bytes -= old;
		return NULL;
	}
	if (nsize > old && state_bytes + (nsize - old) > STATE_LIMIT)
		return NULL;
	void *p = realloc(ptr, nsize);
	if (p)
		state_bytes = state_bytes - old + nsize;
	return p;
}

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
	lua_State *L = lua_newstate(capped_alloc, NULL, 0);
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
	/* A target written against Lua code asks for its lines (fuzz.lua_lines = true); for the
	 * others the C modules' coverage is the signal and the line hook would only slow them.
	 * A target whose inputs are programs (a config) asks for the instruction budget
	 * (fuzz.instruction_budget = true). The others loop over their input only, and an error
	 * raised at any instruction could strike between a C buffer's malloc and the parser that
	 * takes it over, leaking it. */
	lua_getglobal(L, "fuzz");
	lua_getfield(L, -1, "lua_lines");
	int lines = lua_toboolean(L, -1);
	lua_getfield(L, -2, "instruction_budget");
	int budget = lua_toboolean(L, -1);
	lua_pop(L, 3);
	int mask = (lines ? LUA_MASKLINE : 0) | (budget ? LUA_MASKCOUNT : 0);
	if (mask)
		lua_sethook(L, coverage_hook, mask, 1000);
	state = L;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	lua_State *L = state;
	budget_used = 0;
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
	lua_gc(L, LUA_GCSTEP, 0);	/* a full collection per input would cost more than most inputs */
	return 0;
}
