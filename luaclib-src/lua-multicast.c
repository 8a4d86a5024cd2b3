/*
 * skynet.multicast.core : reference counted message blocks shared by the
 * subscribers of a multicast channel.
 *
 * A published message travels as a "slot": a skynet_malloc'ed cell whose
 * bytes are the address of a shared record { holders, size, data }.  The
 * slot's bytes may be copied into other messages; every copy designates
 * the same record.
 *
 *   pack(msg, sz)        -> slot, slotsize   (takes over msg)
 *   packremote(msg, sz)  -> slot, slotsize   (copies msg)
 *   unpack(slot, size)   -> record, msg, sz
 *   bind(slot, n)        -> record; sets n holders, frees the slot
 *   close(record)        drop one holder (frees with the last one)
 *   remote(slot)         -> msg, sz; frees slot and record, not msg
 *   nextid(id)           -> the next channel id
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "skynet_malloc.h"

struct shared_msg {
	atomic_int holders;
	uint32_t size;
	void *data;
};

static int
make_slot(lua_State *L, void *data, size_t size) {
	struct shared_msg *m = (struct shared_msg *)skynet_malloc(sizeof(*m));
	struct shared_msg **slot = (struct shared_msg **)skynet_malloc(sizeof(*slot));
	if (m == NULL || slot == NULL) {
		skynet_free(m);
		skynet_free(slot);
		return luaL_error(L, "multicast: out of memory");
	}
	atomic_init(&m->holders, 0);
	m->size = (uint32_t)size;
	m->data = data;
	*slot = m;
	lua_pushlightuserdata(L, slot);
	lua_pushinteger(L, (lua_Integer)sizeof(slot));
	return 2;
}

static size_t
size_arg(lua_State *L, int idx) {
	lua_Integer n = luaL_checkinteger(L, idx);
	if (n < 0 || (lua_Integer)(uint32_t)n != n)
		luaL_error(L, "Size should be 32bit integer");
	return (size_t)n;
}

static int
lpack(lua_State *L) {
	void *data = lua_touserdata(L, 1);
	size_t size = size_arg(L, 2);
	return make_slot(L, data, size);
}

static int
lpackremote(lua_State *L) {
	const void *src = lua_touserdata(L, 1);
	size_t size = size_arg(L, 2);
	if (src == NULL && size > 0)
		return luaL_error(L, "multicast: null message");
	void *copy = skynet_malloc(size ? size : 1);
	if (copy == NULL)
		return luaL_error(L, "multicast: out of memory");
	if (size > 0)
		memcpy(copy, src, size);
	return make_slot(L, copy, size);
}

static struct shared_msg **
slot_arg(lua_State *L, int idx) {
	struct shared_msg **slot = (struct shared_msg **)lua_touserdata(L, idx);
	if (slot == NULL)
		luaL_error(L, "multicast: null package");
	return slot;
}

static int
lunpack(lua_State *L) {
	struct shared_msg **slot = slot_arg(L, 1);
	lua_Integer sz = luaL_checkinteger(L, 2);
	if (sz != (lua_Integer)sizeof(slot))
		return luaL_error(L, "Invalid multicast package size %d", (int)sz);
	struct shared_msg *m;
	memcpy(&m, slot, sizeof(m));    /* the slot bytes may be unaligned copies */
	lua_pushlightuserdata(L, m);
	lua_pushlightuserdata(L, m->data);
	lua_pushinteger(L, (lua_Integer)m->size);
	return 3;
}

static int
lbind(lua_State *L) {
	struct shared_msg **slot = slot_arg(L, 1);
	int n = (int)luaL_checkinteger(L, 2);
	struct shared_msg *m = *slot;
	int expected = 0;
	if (!atomic_compare_exchange_strong(&m->holders, &expected, n))
		return luaL_error(L, "Can't bind a multicast package more than once");
	lua_pushlightuserdata(L, m);
	skynet_free(slot);
	return 1;
}

static int
lclose(lua_State *L) {
	struct shared_msg *m = (struct shared_msg *)lua_touserdata(L, 1);
	if (m == NULL)
		return luaL_error(L, "multicast: null package");
	int left = atomic_fetch_sub(&m->holders, 1) - 1;
	if (left < 0) {
		/* over-released (or never bound): leave the memory alone */
		return luaL_error(L, "Invalid multicast package reference %d", left);
	}
	if (left == 0) {
		skynet_free(m->data);
		skynet_free(m);
	}
	return 0;
}

static int
lremote(lua_State *L) {
	struct shared_msg **slot = slot_arg(L, 1);
	struct shared_msg *m = *slot;
	lua_pushlightuserdata(L, m->data);
	lua_pushinteger(L, (lua_Integer)m->size);
	skynet_free(m);
	skynet_free(slot);
	return 2;
}

static int
lnextid(lua_State *L) {
	uint32_t id = (uint32_t)luaL_checkinteger(L, 1);
	id += 256;
	/* keep ids positive when they travel as a 32-bit session */
	lua_pushinteger(L, (lua_Integer)(id & 0x7fffffffu));
	return 1;
}

LUAMOD_API int
luaopen_skynet_multicast_core(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		{ "pack", lpack },
		{ "unpack", lunpack },
		{ "bind", lbind },
		{ "close", lclose },
		{ "remote", lremote },
		{ "packremote", lpackremote },
		{ "nextid", lnextid },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
