/*
 * skynet.core : the Lua face of a skynet service.
 *
 * Functions that need the owning service find its skynet_context as their
 * first upvalue; the context pointer is published by the service loader in
 * the registry under "skynet_context" before this module is required.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "skynet.h"
#include "skynet_malloc.h"
#include "lua-seri.h"

#define ANSI_RED "\x1B[31m"
#define ANSI_RESET "\x1B[0m"

/* The service's context, which the host leaves in the registry: the module's functions
 * have no upvalues, so that every service can share one table of them (module_table). */
static const char context_key = 0;

static struct skynet_context *
owner(lua_State *L) {
	lua_rawgetp(L, LUA_REGISTRYINDEX, &context_key);
	struct skynet_context *ctx = (struct skynet_context *)lua_touserdata(L, -1);
	lua_pop(L, 1);
	return ctx;
}

static int64_t
monotonic_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------ callback */

/*
 * The Lua dispatch function runs on the main thread of the service's state: the host runs
 * nothing there once the service body has run, and no coroutine of its own is needed.
 * The registry keeps, under dispatcher_key, the full userdata holding `struct dispatcher`
 * (the callback's ud); its user value is the dispatch function. A newer skynet.callback
 * replaces both; a dispatch still running keeps its function on the stack.
 */

static const char dispatcher_key = 0;
/* skynet.lua's table { taken = bool }: whether the message being dispatched was handed to a
 * task (core.dispatch_state). A dispatch that fails before that leaves a caller waiting. */
static const char dispatch_state_key = 0;

struct dispatcher {
	lua_State *main;
	int forward;
};

static int
dispatch_traceback(lua_State *L) {
	const char *msg = lua_tostring(L, 1);
	if (msg) {
		luaL_traceback(L, L, msg, 1);
	} else {
		lua_pushliteral(L, "(no error message)");
	}
	return 1;
}

/* The dispatch of a request failed (its arguments did not unpack, a signal broke in): unless
 * a task took the request, nobody will answer it, so its caller gets an error now. */
static void
answer_untaken(struct skynet_context *ctx, lua_State *co, int type, int session, uint32_t source) {
	if (lua_rawgetp(co, LUA_REGISTRYINDEX, &dispatch_state_key) != LUA_TTABLE) {
		lua_pop(co, 1);
		return;
	}
	lua_getfield(co, -1, "taken");
	int taken = lua_toboolean(co, -1);
	lua_pop(co, 1);
	lua_pushboolean(co, 0);
	lua_setfield(co, -2, "taken");
	lua_pop(co, 1);
	if (!taken && session > 0 && source != 0 && type != PTYPE_RESPONSE && type != PTYPE_ERROR)
		skynet_send(ctx, 0, source, PTYPE_ERROR, session, NULL, 0);
}

static int
ldispatch_state(lua_State *L) {
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &dispatch_state_key);
	return 0;
}

static int
dispatch_message(struct skynet_context *ctx, void *ud, int type, int session,
		uint32_t source, const void *msg, size_t sz) {
	struct dispatcher *d = (struct dispatcher *)ud;
	lua_State *L = d->main;
	/* the dispatch may replace the dispatcher, and 'd' may be gone once it returns */
	int forward = d->forward;
	int top = lua_gettop(L);
	lua_pushcfunction(L, dispatch_traceback);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &dispatcher_key);  /* kept below the call */
	lua_getiuservalue(L, -1, 1);
	lua_pushinteger(L, type);
	lua_pushlightuserdata(L, (void *)msg);
	lua_pushinteger(L, (lua_Integer)sz);
	lua_pushinteger(L, session);
	lua_pushinteger(L, source);
	int status = lua_pcall(L, 5, 0, top + 1);
	if (status != LUA_OK) {
		const char *self = skynet_command(ctx, "REG", NULL);
		if (self == NULL)
			self = "?";
		switch (status) {
		case LUA_ERRRUN:
			skynet_error(ctx, "lua call [%x to %s : %d msgsz = %d] error : " ANSI_RED "%s" ANSI_RESET,
				source, self, session, (int)sz, lua_tostring(L, -1));
			break;
		case LUA_ERRMEM:
			skynet_error(ctx, "lua memory error : [%x to %s : %d]", source, self, session);
			break;
		case LUA_ERRERR:
			skynet_error(ctx, "lua error in error : [%x to %s : %d]", source, self, session);
			break;
		default:
			skynet_error(ctx, "lua error %d : [%x to %s : %d]", status, source, self, session);
			break;
		}
		answer_untaken(ctx, L, type, session, source);
	}
	lua_settop(L, top);
	/* in forward mode the message is passed on, so the core must keep it */
	return forward ? 1 : 0;
}

static int
lcallback(lua_State *L) {
	struct skynet_context *ctx = owner(L);
	int forward = lua_toboolean(L, 2);
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	struct dispatcher *d = (struct dispatcher *)lua_newuserdatauv(L, sizeof(*d), 1);
	lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
	d->main = lua_tothread(L, -1);
	d->forward = forward;
	lua_pop(L, 1);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &dispatcher_key);
	skynet_callback(ctx, d, dispatch_message);
	return 0;
}

/* ------------------------------------------------------------ commands */

static const char *
optional_param(lua_State *L) {
	if (lua_gettop(L) == 2)
		return luaL_checkstring(L, 2);
	return NULL;
}

static int
lcommand(lua_State *L) {
	struct skynet_context *ctx = owner(L);
	const char *cmd = luaL_checkstring(L, 1);
	const char *param = optional_param(L);
	const char *result = skynet_command(ctx, cmd, param);
	if (result == NULL)
		return 0;
	lua_pushstring(L, result);
	return 1;
}

static int
hexdigit(int c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
laddresscommand(lua_State *L) {
	struct skynet_context *ctx = owner(L);
	const char *cmd = luaL_checkstring(L, 1);
	const char *param = optional_param(L);
	const char *result = skynet_command(ctx, cmd, param);
	if (result == NULL || result[0] != ':')
		return 0;
	uint32_t handle = 0;
	const char *p;
	for (p = result + 1; *p; p++) {
		int v = hexdigit((unsigned char)*p);
		if (v < 0)
			return 0;
		handle = handle * 16 + (uint32_t)v;
	}
	lua_pushinteger(L, handle);
	return 1;
}

static int
lintcommand(lua_State *L) {
	struct skynet_context *ctx = owner(L);
	const char *cmd = luaL_checkstring(L, 1);
	const char *param = NULL;
	char numbuf[32];
	if (lua_gettop(L) == 2) {
		if (lua_isnumber(L, 2)) {
			int32_t v = (int32_t)luaL_checkinteger(L, 2);
			snprintf(numbuf, sizeof(numbuf), "%d", (int)v);
			param = numbuf;
		} else {
			param = luaL_checkstring(L, 2);
		}
	}
	const char *result = skynet_command(ctx, cmd, param);
	if (result == NULL)
		return 0;
	char *end = NULL;
	long long iv = strtoll(result, &end, 0);
	if (end != NULL && *end == '\0') {
		lua_pushinteger(L, (lua_Integer)iv);
		return 1;
	}
	double dv = strtod(result, &end);
	if (end != NULL && *end == '\0') {
		lua_pushnumber(L, (lua_Number)dv);
		return 1;
	}
	return luaL_error(L, "Invalid result %s", result);
}

static int
lgenid(lua_State *L) {
	struct skynet_context *ctx = owner(L);
	int session = skynet_send(ctx, 0, 0, PTYPE_TAG_ALLOCSESSION, 0, NULL, 0);
	lua_pushinteger(L, session);
	return 1;
}

/* ------------------------------------------------------------ sending */

/*
 * Common body of send and redirect.  Arguments from index `at`:
 *   type, session (nil = allocate one), message (string, or lightuserdata
 *   followed by its size).  The destination is always argument 1: a
 *   numeric handle or a name string.
 */
static int
do_send(lua_State *L, uint32_t source, int at) {
	struct skynet_context *ctx = owner(L);
	int isnum = 0;
	uint32_t dest = (uint32_t)lua_tointegerx(L, 1, &isnum);
	const char *dest_name = NULL;
	if (dest == 0) {
		if (lua_type(L, 1) == LUA_TNUMBER)
			return luaL_error(L, "Invalid service address 0");
		dest_name = lua_tostring(L, 1);
		if (dest_name == NULL)
			return luaL_error(L, "dest address type (%s) must be a string or number.",
				luaL_typename(L, 1));
	}
	int type = (int)luaL_checkinteger(L, at);
	int session = 0;
	if (lua_isnil(L, at + 1)) {
		type |= PTYPE_TAG_ALLOCSESSION;
	} else {
		session = (int)luaL_checkinteger(L, at + 1);
	}

	void *msg = NULL;
	size_t len = 0;
	switch (lua_type(L, at + 2)) {
	case LUA_TSTRING:
		msg = (void *)lua_tolstring(L, at + 2, &len);
		if (len == 0)
			msg = NULL;
		break;
	case LUA_TLIGHTUSERDATA:
		msg = lua_touserdata(L, at + 2);
		len = (size_t)(int)luaL_checkinteger(L, at + 3);
		type |= PTYPE_TAG_DONTCOPY;
		break;
	default:
		return luaL_error(L, "invalid param %s", luaL_typename(L, at + 2));
	}

	if (dest_name) {
		session = skynet_sendname(ctx, source, dest_name, type, session, msg, len);
	} else {
		session = skynet_send(ctx, source, dest, type, session, msg, len);
	}
	/* the session; false when the message was too large (-2); nothing when
	 * there is no such destination */
	if (session >= 0)
		lua_pushinteger(L, session);
	else if (session == -2)
		lua_pushboolean(L, 0);
	else
		return 0;
	return 1;
}

static int
lsend(lua_State *L) {
	return do_send(L, 0, 2);
}

static int
lredirect(lua_State *L) {
	uint32_t source = (uint32_t)luaL_checkinteger(L, 2);
	return do_send(L, source, 3);
}

/* ------------------------------------------------------------ misc */

static int
lerror(lua_State *L) {
	struct skynet_context *ctx = owner(L);
	int n = lua_gettop(L);
	if (n <= 1) {
		lua_settop(L, 1);
		const char *s = luaL_tolstring(L, 1, NULL);
		skynet_error(ctx, "%s", s);
		return 0;
	}
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	int i;
	for (i = 1; i <= n; i++) {
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
		if (i < n)
			luaL_addchar(&b, ' ');
	}
	luaL_pushresult(&b);
	skynet_error(ctx, "%s", lua_tostring(L, -1));
	return 0;
}

static int
ltostring(lua_State *L) {
	if (lua_isnoneornil(L, 1))
		return 0;
	const char *p = (const char *)lua_touserdata(L, 1);
	lua_Integer sz = luaL_checkinteger(L, 2);
	if (sz < 0 || (p == NULL && sz > 0))
		return luaL_error(L, "Invalid message (%p, %d)", (void *)p, (int)sz);
	lua_pushlstring(L, p ? p : "", (size_t)sz);
	return 1;
}

static int
lharbor(lua_State *L) {
	int harbor = 0;
	int remote = skynet_isremote(owner(L), (uint32_t)luaL_checkinteger(L, 1), &harbor);
	lua_pushinteger(L, harbor);	/* the harbor id of the handle, */
	lua_pushboolean(L, remote);	/* and whether it is another node's */
	return 2;
}

static int
ltrash(lua_State *L) {
	switch (lua_type(L, 1)) {
	case LUA_TSTRING:
		/* strings are owned by Lua */
		break;
	case LUA_TLIGHTUSERDATA: {
		void *p = lua_touserdata(L, 1);
		luaL_checkinteger(L, 2);
		skynet_free(p);
		break;
	}
	default:
		return luaL_error(L, "skynet.trash invalid param %s", luaL_typename(L, 1));
	}
	return 0;
}

static int
lnow(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)skynet_now());
	return 1;
}

static int
lhpc(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)monotonic_ns());
	return 1;
}

/*
 * trace(tag, text [, co] [, level])
 * Logs "<TRACE tag> time text", followed by up to three source positions
 * of the given coroutine when a coroutine or a level is supplied.
 */
#define TRACE_FRAMES 3

static int
ltrace(lua_State *L) {
	struct skynet_context *ctx = owner(L);
	const char *tag = luaL_checkstring(L, 1);
	const char *text = luaL_checkstring(L, 2);
	lua_State *co = NULL;
	int level = 1;
	if (!lua_isnoneornil(L, 3)) {
		co = L;
		if (lua_isthread(L, 3)) {
			co = lua_tothread(L, 3);
			level = (int)luaL_optinteger(L, 4, 1);
		} else {
			level = (int)luaL_optinteger(L, 3, 1);
		}
	}

	char piece[256];
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	snprintf(piece, sizeof(piece), "<TRACE %s> %" PRId64 " ", tag, monotonic_ns());
	luaL_addstring(&b, piece);
	luaL_addstring(&b, text);
	if (co) {
		int found = 0;
		lua_Debug ar;
		while (found < TRACE_FRAMES && lua_getstack(co, level, &ar)) {
			level++;
			lua_getinfo(co, "Sl", &ar);
			if (ar.currentline < 0)
				continue;
			luaL_addstring(&b, found == 0 ? " : " : " ");
			luaL_addstring(&b, ar.source ? ar.source : "?");
			snprintf(piece, sizeof(piece), ":%d", ar.currentline);
			luaL_addstring(&b, piece);
			found++;
		}
	}
	luaL_pushresult(&b);
	skynet_error(ctx, "%s", lua_tostring(L, -1));
	return 0;
}

/* lshare_newlib of our Lua (lua-share/lshare.h), when the process has it. */
static void (*shared_newlib)(lua_State *L, const luaL_Reg *l);
static pthread_once_t newlib_once = PTHREAD_ONCE_INIT;

static void
find_newlib(void) {
	*(void **)&shared_newlib = dlsym(RTLD_DEFAULT, "lshare_newlib");
}

LUAMOD_API int
luaopen_skynet_core(lua_State *L) {
	luaL_checkversion(L);

	static const luaL_Reg funcs[] = {
		{ "send", lsend },
		{ "genid", lgenid },
		{ "redirect", lredirect },
		{ "command", lcommand },
		{ "intcommand", lintcommand },
		{ "addresscommand", laddresscommand },
		{ "error", lerror },
		{ "harbor", lharbor },
		{ "callback", lcallback },
		{ "dispatch_state", ldispatch_state },
		{ "trace", ltrace },
		{ "tostring", ltostring },
		{ "pack", sk_seri_pack },
		{ "unpack", sk_seri_unpack },
		{ "packstring", sk_seri_packstring },
		{ "trash", ltrash },
		{ "now", lnow },
		{ "hpc", lhpc },
		{ NULL, NULL },
	};

	lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
	if (lua_touserdata(L, -1) == NULL)
		return luaL_error(L, "Init skynet context first");
	lua_rawsetp(L, LUA_REGISTRYINDEX, &context_key);
	pthread_once(&newlib_once, find_newlib);
	if (shared_newlib != NULL) {
		shared_newlib(L, funcs);
	} else {
		luaL_newlib(L, funcs);
	}
	return 1;
}
