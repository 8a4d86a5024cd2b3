/*
 * skynet.debugchannel : a one-way pipe of strings between two Lua VMs
 * (usually living in different worker threads), used by the remote debugger
 * to inject commands into a service.
 *
 *   chan, ptr = create()   the writing end and a raw pointer naming it
 *   chan = connect(ptr)    the reading end (only one reader may connect)
 *   chan:write(str)        queue a string
 *   chan:read([timeout])   pop a string; when the queue is empty, sleeps
 *                          (timeout * 0.1 seconds) and returns nothing
 *   release(chan)          drop one reference (also done by __gc)
 *   sethook([co,] f, mask [, count])
 *                          like debug.sethook, but f gets (event, line,
 *                          can_yield) and when it returns true (on a line
 *                          or count event, where yielding is allowed) the
 *                          hooked coroutine yields
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHANNEL_MT "debugchannel"

struct pending {
	struct pending *next;
	size_t len;
	char text[];
};

struct pipe {
	pthread_mutex_t mu;
	int refs;
	struct pending *first;
	struct pending *last;
};

static struct pipe *
pipe_create(void) {
	struct pipe *p = (struct pipe *)malloc(sizeof(*p));
	if (p == NULL)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	p->refs = 1;
	p->first = p->last = NULL;
	return p;
}

/* a second end may attach only while the creator is the sole owner */
static struct pipe *
pipe_attach(struct pipe *p) {
	struct pipe *r = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->refs == 1) {
		p->refs = 2;
		r = p;
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}

static void
pipe_detach(struct pipe *p) {
	pthread_mutex_lock(&p->mu);
	int left = --p->refs;
	pthread_mutex_unlock(&p->mu);
	if (left > 0)
		return;
	struct pending *it = p->first;
	while (it) {
		struct pending *next = it->next;
		free(it);
		it = next;
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static int
pipe_push(struct pipe *p, const char *s, size_t n) {
	struct pending *m = (struct pending *)malloc(sizeof(*m) + n);
	if (m == NULL)
		return 0;
	m->next = NULL;
	m->len = n;
	memcpy(m->text, s, n);
	pthread_mutex_lock(&p->mu);
	if (p->last) {
		p->last->next = m;
	} else {
		p->first = m;
	}
	p->last = m;
	pthread_mutex_unlock(&p->mu);
	return 1;
}

static struct pending *
pipe_pop(struct pipe *p) {
	pthread_mutex_lock(&p->mu);
	struct pending *m = p->first;
	if (m) {
		p->first = m->next;
		if (p->first == NULL)
			p->last = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	return m;
}

struct pipe_end {
	struct pipe *p;
};

static struct pipe_end *
check_end(lua_State *L) {
	struct pipe_end *e = (struct pipe_end *)luaL_checkudata(L, 1, CHANNEL_MT);
	if (e->p == NULL)
		luaL_error(L, "debug channel already released");
	return e;
}

static int
chan_read(lua_State *L) {
	struct pipe_end *e = check_end(L);
	double timeout = luaL_optnumber(L, 2, 0);
	struct pending *m = pipe_pop(e->p);
	if (m == NULL) {
		/* scaled like the reference implementation: 1.0 -> 0.1 s */
		if (timeout > 0)
			usleep((useconds_t)(timeout * 100000));
		return 0;
	}
	lua_pushlstring(L, m->text, m->len);
	free(m);
	return 1;
}

static int
chan_write(lua_State *L) {
	struct pipe_end *e = check_end(L);
	size_t n;
	const char *s = luaL_checklstring(L, 2, &n);
	if (!pipe_push(e->p, s, n))
		return luaL_error(L, "debug channel: out of memory");
	return 0;
}

static int
chan_release(lua_State *L) {
	struct pipe_end *e = (struct pipe_end *)lua_touserdata(L, 1);
	if (e && lua_rawlen(L, 1) == sizeof(*e) && e->p) {
		struct pipe *p = e->p;
		e->p = NULL;
		pipe_detach(p);
	}
	return 0;
}

/* the metatable is made once, by luaopen_skynet_debugchannel */
static void
push_end(lua_State *L, struct pipe *p) {
	struct pipe_end *e = (struct pipe_end *)lua_newuserdatauv(L, sizeof(*e), 0);
	e->p = p;
	luaL_setmetatable(L, CHANNEL_MT);
}

static void
make_channel_class(lua_State *L) {
	static const luaL_Reg entries[] = {
		{ "read", chan_read },
		{ "write", chan_write },
		{ "__gc", chan_release },
		{ NULL, NULL },
	};
	if (!luaL_newmetatable(L, CHANNEL_MT)) {
		lua_pop(L, 1);
		return;
	}
	luaL_setfuncs(L, entries, 0);
	/* methods are looked up in the metatable itself */
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

static int
lcreate(lua_State *L) {
	lua_settop(L, 0);
	/* allocate the Lua side first so a memory error cannot leak the pipe */
	push_end(L, NULL);
	struct pipe *p = pipe_create();
	if (p == NULL)
		return luaL_error(L, "new channel failed");
	((struct pipe_end *)lua_touserdata(L, 1))->p = p;
	lua_pushlightuserdata(L, p);
	return 2;
}

static int
lconnect(lua_State *L) {
	struct pipe *p = (struct pipe *)lua_touserdata(L, 1);
	if (p == NULL)
		return luaL_error(L, "Invalid channel pointer");
	push_end(L, NULL);
	if (pipe_attach(p) == NULL)
		return luaL_error(L, "new channel failed");
	((struct pipe_end *)lua_touserdata(L, -1))->p = p;
	return 1;
}

/* ------------------------------------------------------------ hooks */

static const char hooks_key = 0;

static void
yielding_hook(lua_State *L, lua_Debug *ar) {
	static const char *const event_names[] = {
		"call", "return", "line", "count", "tail call",
	};
	lua_rawgetp(L, LUA_REGISTRYINDEX, &hooks_key);
	lua_pushthread(L);
	if (lua_rawget(L, -2) != LUA_TFUNCTION) {
		lua_pop(L, 2);
		return;
	}
	int ev = ar->event;
	if (ev < 0 || ev > 4)
		ev = 3;
	lua_pushstring(L, event_names[ev]);
	if (ar->currentline >= 0) {
		lua_pushinteger(L, ar->currentline);
	} else {
		lua_pushnil(L);
	}
	/* only line and count events may yield, and only where the code could */
	int can_yield = (ar->event == LUA_HOOKLINE || ar->event == LUA_HOOKCOUNT)
		&& lua_isyieldable(L);
	lua_pushboolean(L, can_yield);
	lua_call(L, 3, 1);
	int want_yield = lua_toboolean(L, -1);
	lua_pop(L, 2);
	if (want_yield && can_yield)
		lua_yield(L, 0);
}

static int
lsethook(lua_State *L) {
	int base = 0;
	lua_State *target = L;
	if (lua_isthread(L, 1)) {
		target = lua_tothread(L, 1);
		base = 1;
	}
	lua_Hook hook = NULL;
	int mask = 0;
	int count = 0;
	if (lua_isnoneornil(L, base + 1)) {
		lua_settop(L, base + 1);
	} else {
		const char *smask = luaL_checkstring(L, base + 2);
		luaL_checktype(L, base + 1, LUA_TFUNCTION);
		count = (int)luaL_optinteger(L, base + 3, 0);
		if (strchr(smask, 'c'))
			mask |= LUA_MASKCALL;
		if (strchr(smask, 'r'))
			mask |= LUA_MASKRET;
		if (strchr(smask, 'l'))
			mask |= LUA_MASKLINE;
		if (count > 0)
			mask |= LUA_MASKCOUNT;
		hook = yielding_hook;
	}
	/* thread -> hook function, weak keys */
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &hooks_key) == LUA_TNIL) {
		lua_pop(L, 1);
		lua_createtable(L, 0, 2);
		lua_createtable(L, 0, 1);
		lua_pushliteral(L, "k");
		lua_setfield(L, -2, "__mode");
		lua_setmetatable(L, -2);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &hooks_key);
	}
	lua_pushthread(target);
	lua_xmove(target, L, 1);
	lua_pushvalue(L, base + 1);
	lua_rawset(L, -3);
	lua_sethook(target, hook, mask, count);
	return 0;
}

LUAMOD_API int
luaopen_skynet_debugchannel(lua_State *L) {
	luaL_checkversion(L);
	make_channel_class(L);
	static const luaL_Reg funcs[] = {
		{ "create", lcreate },
		{ "connect", lconnect },
		{ "release", chan_release },
		{ "sethook", lsethook },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
