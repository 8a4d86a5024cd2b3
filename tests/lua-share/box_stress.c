/* Boxes (lua-share/lshare.h) from many threads at once, built with ThreadSanitizer (and
 * AddressSanitizer) by tests/run-lua-share-tests.sh. One thread builds a new version of a
 * table tree now and then, each in a box; reader threads make states that take the newest
 * box, read it in place (lookups, #, pairs, ipairs, as a metatable's __index), check that
 * every write raises an error, collect in both modes, and are closed. Boxes never read are
 * freed as soon as a newer one exists, the others at the end. Each state moves its references
 * from the tree it read before to the newer one (lshare_replace). The sanitizers check that no
 * state writes what another reads and that nothing is used after it is freed. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "lshare.h"

#define SEED 0x5eed1234u
#define READERS 3
#define VERSIONS 40
#define STATES 60

static const char *const maker =
	"local v = ...\n"
	"local list, keyed = {}, {}\n"
	"for i = 1, 200 do list[i] = v * 1000 + i end\n"
	"for i = 1, 50 do keyed['key' .. i] = 'value' .. (v + i) end\n"
	"local sub = { name = 'n' .. v, v = v, long = string.rep('x', 100) .. v }\n"
	"local t = { version = v, list = list, keyed = keyed, sub = sub, [1.5] = true }\n"
	"t.again = sub\n"  /* a shared sub-table */
	"sub.parent = t\n"  /* a cycle */
	"return t\n";

static const char *const check =
	"local t = ...\n"
	"local v = t.version\n"
	"assert(#t.list == 200 and t.list[7] == v * 1000 + 7, 'list')\n"
	"local n = 0 for _, x in ipairs(t.list) do n = n + 1 end assert(n == 200, 'ipairs')\n"
	"assert(t.keyed['key' .. 3] == 'value' .. (v + 3), 'run-time keys')\n"
	"local k = 0 for _ in pairs(t.keyed) do k = k + 1 end assert(k == 50, 'pairs')\n"
	"assert(t.sub.name == 'n' .. v and t.again == t.sub and t.sub.parent == t, 'shape')\n"
	"assert(t.sub.long == string.rep('x', 100) .. v and t[1.5] == true, 'long string, float')\n"
	"local mine = { [t.sub.long] = 1 } assert(mine[t.sub.long] == 1, 'long string as a key')\n"
	"assert(not pcall(function() t.version = 0 end), 'set')\n"
	"assert(not pcall(rawset, t.sub, 'v', 0), 'rawset')\n"
	"assert(not pcall(table.insert, t.list, 1), 'insert')\n"
	"assert(not pcall(setmetatable, t, {}), 'setmetatable')\n"
	"assert(t.version == v and #t.list == 200 and t.sub.v == v, 'unchanged')\n"
	"local proxy = setmetatable({}, { __index = t.sub }) assert(proxy.v == v, '__index')\n"
	"local inherits = setmetatable({}, t.keyed) assert(inherits.key1 == nil, 'as a metatable')\n"
	"collectgarbage() collectgarbage('step')\n"
	"return v\n";

static lshare_Box *_Atomic newest;
static atomic_int newest_version;
static atomic_int done;
static lshare_Box *boxes[VERSIONS + 1];  /* written by the builder, read after the joins */
static atomic_int read_in_place, copies, refused, moves;
static const void *check_fn;

static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud; (void)osize;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, nsize);
}

static lua_State *new_state(void) {
	lua_State *L = lua_newstate(alloc, NULL, SEED);
	if (L == NULL)
		exit(1);
	luaL_openlibs(L);
	return L;
}

static void fail(lua_State *L, const char *what) {
	fprintf(stderr, "box_stress: %s: %s\n", what, lua_tostring(L, -1));
	exit(1);
}

/* a new version in a box, from a state of its own */
static lshare_Box *build(int v) {
	char err[256];
	lshare_Box *box;
	lua_State *S = new_state();
	if (luaL_loadstring(S, maker) != LUA_OK)
		fail(S, "maker");
	lua_pushinteger(S, v);
	if (lua_pcall(S, 1, 1, 0) != LUA_OK)
		fail(S, "maker");
	box = lshare_box_new(S, -1, err, sizeof(err));
	if (box == NULL) {
		fprintf(stderr, "box_stress: lshare_box_new: %s\n", err);
		exit(1);
	}
	lua_close(S);  /* the box keeps nothing of S */
	return box;
}

static void *builder(void *arg) {
	int v;
	(void)arg;
	for (v = 1; v <= VERSIONS; v++) {
		/* a version nobody reads: freed at once */
		lshare_Box *unread = build(v);
		if (!lshare_box_free(unread)) {
			fprintf(stderr, "box_stress: lshare_box_free refused a live box\n");
			exit(1);
		}
		boxes[v] = build(v);
		atomic_store(&newest, boxes[v]);
		atomic_store(&newest_version, v);
		while (atomic_load(&done) < READERS && atomic_load(&read_in_place) < v * 4)
			sched_yield();  /* let readers read it */
	}
	return NULL;
}

/* The state keeps the tree it read last in a few places; lshare_replace moves them all to
 * the one it read now (what skynet.sharetable's update does). */
static void move_references(lua_State *L) {
	static const char *const keep =
		"local held = ...\n"
		"if held.last and held.last ~= current then\n"
		"  local map = { [held.last] = current, [held.last.sub] = current.sub }\n"
		"  return map, held\n"
		"end\n";
	static const char *const after =
		"local held = ...\n"
		"assert(held.last == current and held.list[1] == current.sub and held[current] == 1, 'moved')\n"
		"assert(held.up() == current, 'moved upvalue')\n";
	static const char *const hold =
		"local held = ...\n"
		"local t = current\n"
		"held.last, held.list, held.up = current, { current.sub }, function() return t end\n"
		"for k in pairs(held) do if type(k) == 'table' then held[k] = nil end end\n"
		"held[current] = 1\n";
	lua_getfield(L, LUA_REGISTRYINDEX, "box_stress.held");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, "box_stress.held");
	}
	if (luaL_loadstring(L, keep) != LUA_OK)
		fail(L, "keep");
	lua_pushvalue(L, -2);
	if (lua_pcall(L, 1, 2, 0) != LUA_OK)
		fail(L, "keep");
	if (!lua_isnil(L, -2)) {
		lua_newtable(L);  /* skip: nothing */
		if (lshare_replace(L, -3, -1) < 4) {
			fprintf(stderr, "box_stress: lshare_replace moved too few references\n");
			exit(1);
		}
		atomic_fetch_add(&moves, 1);
		lua_pop(L, 1);
		if (luaL_loadstring(L, after) != LUA_OK)
			fail(L, "after");
		lua_pushvalue(L, -4);
		if (lua_pcall(L, 1, 0, 0) != LUA_OK)
			fail(L, "after");
	}
	lua_pop(L, 2);
	if (luaL_loadstring(L, hold) != LUA_OK)
		fail(L, "hold");
	lua_pushvalue(L, -2);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK)
		fail(L, "hold");
	lua_pop(L, 1);
}

static void *reader(void *arg) {
	int s;
	(void)arg;
	while (atomic_load(&newest_version) == 0)
		sched_yield();
	for (s = 0; s < STATES; s++) {
		lua_State *L = new_state();
		int r;
		lua_gc(L, s % 2 ? LUA_GCGEN : LUA_GCINC);
		for (r = 0; r < 5; r++) {
			int v = atomic_load(&newest_version);
			lshare_Box *box = atomic_load(&newest);
			if (!lshare_push(L, check_fn)) {
				fprintf(stderr, "box_stress: the check chunk is not shared\n");
				exit(1);
			}
			if (lshare_box_push(L, box))
				atomic_fetch_add(&read_in_place, 1);
			else {
				atomic_fetch_add(&refused, 1);
				if (!lshare_box_pushcopy(L, box))
					fail(L, "pushcopy");
				atomic_fetch_add(&copies, 1);
			}
			lua_pushvalue(L, -1);
			lua_setglobal(L, "current");
			if (lua_pcall(L, 1, 1, 0) != LUA_OK)
				fail(L, "check");
			move_references(L);
			if (lua_tointeger(L, -1) < v) {
				fprintf(stderr, "box_stress: read version %d, older than %d\n", (int)lua_tointeger(L, -1), v);
				exit(1);
			}
			lua_pop(L, 1);
		}
		lua_close(L);
	}
	atomic_fetch_add(&done, 1);
	return NULL;
}

int main(void) {
	pthread_t b, t[READERS];
	char err[256];
	int i;
	if (!lshare_init(SEED)) {
		fprintf(stderr, "box_stress: lshare_init failed\n");
		return 1;
	}
	check_fn = lshare_compile(check, strlen(check), "=check", "t", err, sizeof(err));
	if (check_fn == NULL) {
		fprintf(stderr, "box_stress: %s\n", err);
		return 1;
	}
	pthread_create(&b, NULL, builder, NULL);
	for (i = 0; i < READERS; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	for (i = 0; i < READERS; i++)
		pthread_join(t[i], NULL);
	pthread_join(b, NULL);
	printf("box_stress: %d reads in place, %d private copies, %d moves to a newer version, %d boxes live\n",
		atomic_load(&read_in_place), atomic_load(&copies), atomic_load(&moves), lshare_box_count());
	if (lshare_box_count() != VERSIONS) {
		fprintf(stderr, "box_stress: %d boxes live, want %d\n", lshare_box_count(), VERSIONS);
		return 1;
	}
	for (i = 1; i <= VERSIONS; i++)
		lshare_box_free(boxes[i]);
	if (lshare_box_count() != 0 || lshare_box_free(boxes[1]) != 0) {
		fprintf(stderr, "box_stress: boxes left after freeing\n");
		return 1;
	}
	if (atomic_load(&read_in_place) == 0 || atomic_load(&moves) == 0) {
		fprintf(stderr, "box_stress: no box read in place, or no move to a newer one\n");
		return 1;
	}
	return 0;
}
