/* sproto.core: the Lua module. Schemas and types travel to Lua as light userdata (a schema
 * lives until deleteproto, or for the whole process once saved in a slot). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "spschema.h"
#include "spcodec.h"

#define SLOTS 16

static struct sp_schema *
check_schema(lua_State *L, int idx) {
	struct sp_schema *s = lua_touserdata(L, idx);
	if (s == NULL)
		luaL_argerror(L, idx, "Need a sproto object");
	return s;
}

/* newproto(binary schema) -> schema, or nil and a message */
static int
l_newproto(lua_State *L) {
	size_t n;
	const char *bin = luaL_checklstring(L, 1, &n);
	struct sp_schema *s = sp_schema_load((const uint8_t *)bin, n);
	if (s == NULL) {
		lua_pushnil(L);
		lua_pushliteral(L, "invalid sproto schema binary");
		return 2;
	}
	lua_pushlightuserdata(L, s);
	return 1;
}

static int
l_deleteproto(lua_State *L) {
	struct sp_schema *s = check_schema(L, 1);
	sp_lua_forget(L, s);
	sp_schema_free(s);
	return 0;
}

static const char *
field_kind(const struct sp_field *f) {
	switch (f->kind) {
	case SP_INTEGER: return f->scale ? "decimal" : "integer";
	case SP_BOOLEAN: return "boolean";
	case SP_STRING: return f->binary ? "binary" : "string";
	case SP_DOUBLE: return "double";
	default: return f->sub->name;
	}
}

static int
l_dumpproto(lua_State *L) {
	const struct sp_schema *s = check_schema(L, 1);
	printf("=== %d types ===\n", s->ntypes);
	for (int i = 0; i < s->ntypes; i++) {
		const struct sp_type *t = &s->types[i];
		printf("%s\n", t->name);
		for (int j = 0; j < t->nfields; j++) {
			const struct sp_field *f = &t->fields[j];
			printf("\t%s (%d) %s%s", f->name, f->tag, f->array ? "*" : "", field_kind(f));
			if (f->scale)
				printf("(%d)", f->digits);
			if (f->key >= 0)
				printf(f->map ? " map[%d]" : " key[%d]", f->key);
			printf("\n");
		}
	}
	printf("=== %d protocol ===\n", s->nprotos);
	for (int i = 0; i < s->nprotos; i++) {
		const struct sp_proto *p = &s->protos[i];
		printf("\t%s (%d) request:%s", p->name, p->tag, p->request ? p->request->name : "(null)");
		if (p->response)
			printf(" response:%s", p->response->name);
		else if (p->confirm)
			printf(" response nil");
		printf("\n");
	}
	fflush(stdout);
	return 0;
}

/* querytype(schema, name) -> type or nothing */
static int
l_querytype(lua_State *L) {
	const struct sp_schema *s = check_schema(L, 1);
	struct sp_type *t = sp_schema_type(s, luaL_checkstring(L, 2));
	if (t == NULL)
		return 0;
	lua_pushlightuserdata(L, t);
	return 1;
}

/* protocol(schema, name or tag) -> tag or name, request type or nil, response type or nil
 * (a NULL light userdata for "response nil") */
static int
l_protocol(lua_State *L) {
	const struct sp_schema *s = check_schema(L, 1);
	const struct sp_proto *p;
	if (lua_type(L, 2) == LUA_TNUMBER) {
		p = sp_schema_proto_bytag(s, (int)lua_tointeger(L, 2));
		if (p == NULL)
			return 0;
		lua_pushstring(L, p->name);
	} else {
		const char *name = lua_tostring(L, 2);
		if (name == NULL)
			return luaL_argerror(L, 2, "Should be number or string");
		p = sp_schema_proto_byname(s, name);
		if (p == NULL)
			return 0;
		lua_pushinteger(L, p->tag);
	}
	if (p->request)
		lua_pushlightuserdata(L, p->request);
	else
		lua_pushnil(L);
	if (p->response)
		lua_pushlightuserdata(L, p->response);
	else if (p->confirm)
		lua_pushlightuserdata(L, NULL);
	else
		lua_pushnil(L);
	return 3;
}

/* The slots that share one parsed schema between the Lua states of a process. A schema put
 * in a slot is never freed: any state may be using it. */
static struct sp_schema *slots[SLOTS];

static int
slot_index(lua_State *L, int idx) {
	lua_Integer i = luaL_optinteger(L, idx, 0);
	if (i < 0 || i >= SLOTS)
		luaL_error(L, "Invalid global slot index %d", (int)i);
	return (int)i;
}

static int
l_saveproto(lua_State *L) {
	struct sp_schema *s = check_schema(L, 1);
	int i = slot_index(L, 2);
	__atomic_store_n(&slots[i], s, __ATOMIC_RELEASE);
	return 0;
}

static int
l_loadproto(lua_State *L) {
	int i = slot_index(L, 1);
	struct sp_schema *s = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
	if (s == NULL)
		return luaL_error(L, "nil sproto at index %d", i);
	lua_pushlightuserdata(L, s);
	return 1;
}

/* The default of one value of field f: 0, 0.0, false, "", or for a message {__type = name}
 * (in an array's description, just the name). */
static void
push_default(lua_State *L, const struct sp_field *f, int in_array) {
	switch (f->kind) {
	case SP_INTEGER:
		if (f->scale)
			lua_pushnumber(L, 0.0);
		else
			lua_pushinteger(L, 0);
		break;
	case SP_DOUBLE: lua_pushnumber(L, 0.0); break;
	case SP_BOOLEAN: lua_pushboolean(L, 0); break;
	case SP_STRING: lua_pushliteral(L, ""); break;
	default:
		if (in_array) {
			lua_pushstring(L, f->sub->name);
		} else {
			lua_createtable(L, 0, 1);
			lua_pushstring(L, f->sub->name);
			lua_setfield(L, -2, "__type");
		}
		break;
	}
}

/* default(type) -> a table of every field's default; arrays as {__array = default} */
static int
l_default(lua_State *L) {
	const struct sp_type *t = lua_touserdata(L, 1);
	if (t == NULL)
		return luaL_argerror(L, 1, "Need a sproto_type object");
	lua_createtable(L, 0, t->nfields);
	for (int i = 0; i < t->nfields; i++) {
		const struct sp_field *f = &t->fields[i];
		if (f->array) {
			lua_createtable(L, 0, 1);
			push_default(L, f, 1);
			lua_setfield(L, -2, "__array");
		} else {
			push_default(L, f, 0);
		}
		lua_setfield(L, -2, f->name);
	}
	return 1;
}

/* Output of pack and unpack: small results are made on the C stack, large ones in a
 * userdata left on the Lua stack. */
#define SMALL_OUTPUT 1024

static uint8_t *
output_space(lua_State *L, size_t n, uint8_t *small) {
	if (n <= SMALL_OUTPUT)
		return small;
	return lua_newuserdatauv(L, n, 0);
}

/* pack(string | userdata, size) -> string */
static int
l_pack(lua_State *L) {
	size_t n;
	const uint8_t *src = sp_lua_bytes(L, 1, &n);
	uint8_t small[SMALL_OUTPUT];
	uint8_t *out = output_space(L, sp_pack_bound(n), small);
	lua_pushlstring(L, (const char *)out, sp_pack(src, n, out));
	return 1;
}

/* unpack(string | userdata, size) -> string */
static int
l_unpack(lua_State *L) {
	size_t n;
	const uint8_t *src = sp_lua_bytes(L, 1, &n);
	int64_t size = sp_unpack_size(src, n);
	if (size < 0)
		return luaL_error(L, "Invalid unpack stream");
	if (size > SP_MAX_MESSAGE)
		return luaL_error(L, "object is too large (>%d)", SP_MAX_MESSAGE);
	uint8_t small[SMALL_OUTPUT];
	uint8_t *out = output_space(L, (size_t)size, small);
	sp_unpack(src, n, out);
	lua_pushlstring(L, (const char *)out, (size_t)size);
	return 1;
}

LUAMOD_API int
luaopen_sproto_core(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		{ "newproto", l_newproto },
		{ "deleteproto", l_deleteproto },
		{ "dumpproto", l_dumpproto },
		{ "querytype", l_querytype },
		{ "protocol", l_protocol },
		{ "loadproto", l_loadproto },
		{ "saveproto", l_saveproto },
		{ "default", l_default },
		{ "pack", l_pack },
		{ "unpack", l_unpack },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	lua_pushnil(L);         /* encode's scratch buffer, made on first use */
	for (int i = 0; i < SP_NAMES_CACHE; i++)
		lua_pushnil(L);
	lua_pushcclosure(L, sp_lua_encode, 1 + SP_NAMES_CACHE);
	lua_setfield(L, -2, "encode");
	for (int i = 0; i < SP_NAMES_CACHE; i++)
		lua_pushnil(L);
	lua_pushcclosure(L, sp_lua_decode, SP_NAMES_CACHE);
	lua_setfield(L, -2, "decode");
	return 1;
}
