/* Shared Lua code (lua-share/) from many threads at once, built with ThreadSanitizer by
 * tests/run-lua-share-tests.sh. Each thread makes states one after another; each state takes
 * the shared functions (the first thread to need one compiles it), runs them, makes strings
 * and tables keyed by them, reads (and every other state writes) the standard libraries and
 * a C module's table, which lshare lends it, collects in both modes, and is closed. The
 * checks run in Lua; the sanitizer checks that no state writes what another reads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "lshare.h"

#define SEED 0x5eed1234u
#define THREADS 4
#define ROUNDS 150

static const char *const chunks[] = {
	/* metatables, constant keys, keys made at run time */
	"local M = { greeting = 'hi' }\n"
	"local P = {} P.__index = P\n"
	"function P.new(x) return setmetatable({ x = x }, P) end\n"
	"function P:get() return self.x end\n"
	"M.P = P\n"
	"function M.key() return 'gree' .. 'ting' end\n"
	"return M\n",
	/* strings made in a loop, as table keys */
	"return function(n)\n"
	"  local t = {}\n"
	"  for i = 1, n do t['k' .. (i % 50)] = i end\n"
	"  local c = 0 for _ in pairs(t) do c = c + 1 end\n"
	"  return c\n"
	"end\n",
	/* reserved words and metamethod names as strings */
	"local words = { 'function', 'end', 'and', '__index', 'nil' }\n"
	"return function()\n"
	"  local t = {}\n"
	"  for _, w in ipairs(words) do t[w] = #w end\n"
	"  return t['function'] + t.__index\n"
	"end\n",
	/* "global", which every state keeps its own of: never shared, always a private copy */
	"return function(t) return t.global end\n",
};
#define PRIVATE_CHUNKS 1  /* the last ones */
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static const char *const check =
	"local m, count, words, global = ...\n"
	"assert(m.P.new(5):get() == 5, 'metatable')\n"
	"assert(m[m.key()] == 'hi', 'run-time key')\n"
	"assert(count(200) == 50, 'string keys')\n"
	"assert(words() == 15, 'reserved words')\n"
	"assert(global({ global = 6 }) == 6, 'global')\n"
	"local keep = {}\n"
	"for i = 1, 300 do keep[i] = { greeting = m.greeting, ['k' .. i] = i } end\n"
	"collectgarbage() collectgarbage('step')\n"
	"for i = 1, 300 do assert(keep[i].greeting == 'hi' and keep[i]['k' .. i] == i, 'kept') end\n"
	/* the lent standard libraries: read in place by every state, copied by the state
	   that writes to one (half of them do), never changed for the others */
	"assert(string.upper('a') == 'A' and ('x'):rep(3) == 'xxx', 'string')\n"
	"assert(string.mine == nil and io.mine == nil and math.mine == nil, 'another state\\'s field')\n"
	"assert(io.type(io.stdout) == 'file' and not io.stdout:close(), 'standard file')\n"
	"math.randomseed(7) local r = math.random(1000) math.randomseed(7)\n"
	"assert(math.random(1000) == r, 'random')\n"
	"local mod = select(6, ...)\n"
	"assert(mod.twice(4) == 8 and mod.hello() == 'hello' and mod.mine == nil, 'module')\n"
	"if select(5, ...) then\n"
	"  mod.mine = true\n"
	"  function string.mine(s) return s .. '!' end\n"
	"  assert(('a'):mine() == 'a!', 'string method')\n"
	"  for _, lib in ipairs { table, math, os, debug, utf8, coroutine, io } do lib.mine = 1 end\n"
	"  assert(math.mine == 1 and math.floor(1.5) == 1 and io.write and coroutine.running, 'copied')\n"
	"end\n"
	"collectgarbage()\n";

/* A C module's table, which lshare_newlib lends every state (the first one to open it has
   the template made). */
static int twice(lua_State *L) {
	lua_pushinteger(L, 2 * luaL_checkinteger(L, 1));
	return 1;
}

static int hello(lua_State *L) {
	lua_pushliteral(L, "hello");
	return 1;
}

static const luaL_Reg module_funcs[] = {
	{ "twice", twice },
	{ "hello", hello },
	{ NULL, NULL },
};

static pthread_mutex_t compiling = PTHREAD_MUTEX_INITIALIZER;
static const void *shared[NCHUNKS];
static int pushed, refused, refused_late;

static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud; (void)osize;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, nsize);
}

static const void *function_of(size_t i) {
	const void *fn;
	pthread_mutex_lock(&compiling);
	if (shared[i] == NULL) {
		char err[256];
		shared[i] = lshare_compile(chunks[i], strlen(chunks[i]), "=chunk", "t", err, sizeof(err));
		if (shared[i] == NULL) {
			fprintf(stderr, "share_stress: compile failed: %s\n", err);
			exit(1);
		}
	}
	fn = shared[i];
	pthread_mutex_unlock(&compiling);
	return fn;
}

static void one_state(int round) {
	size_t i;
	int took = 0, private_copies = 0, shareable_refused = 0;
	lua_State *L = lua_newstate(alloc, NULL, SEED);
	if (L == NULL)
		exit(1);
	luaL_openlibs(L);
	lua_gc(L, round % 2 ? LUA_GCGEN : LUA_GCINC);
	if (luaL_loadstring(L, check) != LUA_OK)
		goto fail;
	for (i = 0; i < NCHUNKS; i++) {
		if (lshare_push(L, function_of(i)))
			took++;
		else if (luaL_loadstring(L, chunks[i]) == LUA_OK) {
			private_copies++;
			shareable_refused += i < NCHUNKS - PRIVATE_CHUNKS;
		}
		else
			goto fail;
		if (lua_pcall(L, 0, 1, 0) != LUA_OK)
			goto fail;
	}
	lua_pushboolean(L, round % 2);  /* whether it writes to the libraries */
	lshare_newlib(L, module_funcs);
	if (lua_pcall(L, NCHUNKS + 2, 0, 0) != LUA_OK)
		goto fail;
	lua_close(L);
	pthread_mutex_lock(&compiling);
	pushed += took;
	refused += private_copies;
	/* In its first round a state may load 'check' (a private copy) before another thread
	   shares a chunk with the same strings: it then keeps its own copies. Not later. */
	if (round > 0)
		refused_late += shareable_refused;
	pthread_mutex_unlock(&compiling);
	return;
fail:
	fprintf(stderr, "share_stress: %s\n", lua_tostring(L, -1));
	exit(1);
}

static void *worker(void *arg) {
	int r;
	(void)arg;
	for (r = 0; r < ROUNDS; r++)
		one_state(r);
	return NULL;
}

int main(void) {
	pthread_t t[THREADS];
	int i;
	if (!lshare_init(SEED)) {
		fprintf(stderr, "share_stress: lshare_init failed\n");
		return 1;
	}
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("share_stress: %d states, %d shared functions taken, %d private copies\n",
		THREADS * ROUNDS, pushed, refused);
	printf("share_stress: %d refusals of shareable functions after the first round\n", refused_late);
	if (pushed == 0 || refused_late != 0 || refused < THREADS * ROUNDS * PRIVATE_CHUNKS) {
		fprintf(stderr, "share_stress: not shared as expected\n");
		return 1;
	}
	return 0;
}
