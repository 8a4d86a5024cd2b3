/*
 * skynet.profile : per-coroutine cpu time accounting.
 *
 *   profile.start([co])   begin measuring co (default: running coroutine)
 *   profile.stop([co])    end measuring, returns the seconds spent in co
 *   profile.resume(co,..) coroutine.resume that pauses/resumes the clock
 *   profile.wrap(f)       coroutine.wrap built on profile.resume
 *
 * Only the time during which a measured coroutine actually runs is counted:
 * while it is suspended (yielded back through profile.resume) the clock is
 * stopped.  The service loader normally installs resume/wrap in place of
 * coroutine.resume/coroutine.wrap.
 *
 * Also provides skynet.codecache as a stub (clear/mode do nothing, loadfile
 * is the global one) for loaders that have no shared code cache.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <time.h>

/* one record per measured coroutine, kept in a weak-keyed table that is
 * the first upvalue of every profile function */
struct cpu_record {
	double started;   /* clock value when the current run slice began */
	double spent;     /* seconds accumulated by finished slices */
};

#define RECORDS lua_upvalueindex(1)

static double
thread_clock(void) {
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double
elapsed_since(double then) {
	double d = thread_clock() - then;
	return d < 0 ? 0 : d;
}

/* pushes nothing; returns the record of the thread at `idx` or NULL */
static struct cpu_record *
find_record(lua_State *L, int idx) {
	lua_pushvalue(L, idx);
	lua_rawget(L, RECORDS);
	struct cpu_record *r = (struct cpu_record *)lua_touserdata(L, -1);
	lua_pop(L, 1);
	return r;
}

/* leave the target thread at index 1 */
static void
target_thread(lua_State *L) {
	if (lua_gettop(L) == 0) {
		lua_pushthread(L);
	} else {
		lua_settop(L, 1);
		luaL_checktype(L, 1, LUA_TTHREAD);
	}
}

static int
lstart(lua_State *L) {
	target_thread(L);
	if (find_record(L, 1) != NULL)
		return luaL_error(L, "Thread %p start profile more than once", lua_topointer(L, 1));
	lua_pushvalue(L, 1);
	struct cpu_record *r = (struct cpu_record *)lua_newuserdatauv(L, sizeof(*r), 0);
	r->spent = 0;
	r->started = thread_clock();
	lua_rawset(L, RECORDS);
	return 0;
}

static int
lstop(lua_State *L) {
	target_thread(L);
	struct cpu_record *r = find_record(L, 1);
	if (r == NULL)
		return luaL_error(L, "Call profile.start() before profile.stop()");
	double total = r->spent + elapsed_since(r->started);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	lua_rawset(L, RECORDS);
	lua_pushnumber(L, total);
	return 1;
}

/*
 * Resume the thread at `coidx` with the top `nargs` values of L.
 * Returns the number of results moved onto L, or -1 with the error
 * object on top of L.
 */
static int
timed_resume(lua_State *L, int coidx, int nargs) {
	lua_State *co = lua_tothread(L, coidx);
	struct cpu_record *r = find_record(L, coidx);
	if (r)
		r->started = thread_clock();

	if (!lua_checkstack(co, nargs)) {
		lua_pop(L, nargs);
		lua_pushliteral(L, "too many arguments to resume");
		return -1;
	}
	lua_xmove(L, co, nargs);
	int nres = 0;
	int status = lua_resume(co, L, nargs, &nres);

	/* the coroutine may have started or stopped its own measurement */
	r = find_record(L, coidx);
	if (r)
		r->spent += elapsed_since(r->started);

	if (status == LUA_OK || status == LUA_YIELD) {
		if (!lua_checkstack(L, nres + 1)) {
			lua_pop(co, nres);
			lua_pushliteral(L, "too many results to resume");
			return -1;
		}
		lua_xmove(co, L, nres);
		return nres;
	}
	lua_xmove(co, L, 1);
	return -1;
}

static int
lresume(lua_State *L) {
	luaL_checktype(L, 1, LUA_TTHREAD);
	int n = timed_resume(L, 1, lua_gettop(L) - 1);
	if (n < 0) {
		lua_pushboolean(L, 0);
		lua_insert(L, -2);
		return 2;
	}
	lua_pushboolean(L, 1);
	lua_insert(L, -(n + 1));
	return n + 1;
}

/* upvalue 1: records, upvalue 2: the coroutine */
static int
wrapped_call(lua_State *L) {
	lua_State *co = lua_tothread(L, lua_upvalueindex(2));
	int n = timed_resume(L, lua_upvalueindex(2), lua_gettop(L));
	if (n >= 0)
		return n;
	int st = lua_status(co);
	if (st != LUA_OK && st != LUA_YIELD) {
		/* died with an error: run its pending to-be-closed variables */
		st = lua_closethread(co, L);
		if (st != LUA_OK) {
			/* the object left by the close is the one to raise */
			lua_pop(L, 1);
			lua_xmove(co, L, 1);
		}
	}
	if (st != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
		luaL_where(L, 1);
		lua_insert(L, -2);
		lua_concat(L, 2);
	}
	return lua_error(L);
}

static int
lwrap(lua_State *L) {
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_pushvalue(L, RECORDS);
	lua_State *co = lua_newthread(L);
	lua_pushvalue(L, 1);
	lua_xmove(L, co, 1);
	lua_pushcclosure(L, wrapped_call, 2);
	return 1;
}

LUAMOD_API int
luaopen_skynet_profile(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		{ "start", lstart },
		{ "stop", lstop },
		{ "resume", lresume },
		{ "wrap", lwrap },
		{ NULL, NULL },
	};
	luaL_newlibtable(L, funcs);
	/* records: thread -> struct cpu_record, weak keys */
	lua_newtable(L);
	lua_createtable(L, 0, 1);
	lua_pushliteral(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	luaL_setfuncs(L, funcs, 1);
	return 1;
}

/* ------------------------------------------------------------ codecache */

static int
cache_noop(lua_State *L) {
	(void)L;
	return 0;
}

LUAMOD_API int
luaopen_skynet_codecache(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		{ "clear", cache_noop },
		{ "mode", cache_noop },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	lua_getglobal(L, "loadfile");
	lua_setfield(L, -2, "loadfile");
	return 1;
}
