/*
 * skynet.datasheet.core : read-only views of a "datasheet" document (the
 * binary produced by lualib/skynet/datasheet/dump.lua) that lives in
 * memory shared by the datasheet service.
 *
 *   t = new(doc)            a proxy of table 0 of the document
 *   update(t, newdoc)       re-point every proxy made from t's document to
 *                           the same table index of newdoc
 *   p = stringpointer(s)    the address of a Lua string's bytes
 *
 * A proxy is an empty Lua table with a metatable: the first __index,
 * __pairs or __len fills it with the document table's values (nested
 * tables become proxies) and removes the metatable.
 *
 * Document layout (all fields little endian):
 *   u32 offset of the string area   u32 n   u32 offset[n] of each table
 *   tables, each: u32 narray, u32 ndict, u8 kind[narray + ndict] padded to
 *   4, u32 value[narray], (u32 key string, u32 value)[ndict]
 *   strings: NUL-terminated
 * Kinds: 0 nil, 1 int32, 2 float32, 3 boolean, 4 table index, 5 string.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdint.h>
#include <string.h>

enum {
	K_NIL = 0,
	K_INT = 1,
	K_REAL = 2,
	K_BOOL = 3,
	K_TABLE = 4,
	K_STRING = 5,
};

#define NO_TABLE 0xffffffffu

/* registry keys (addresses of these objects) */
static char node_views_key;      /* weak: table address -> proxy */
static char view_origin_key;     /* weak keys: proxy -> origin */
static char documents_key;       /* documents handed to new() */

/* where a proxy comes from */
struct origin {
	const uint8_t *doc;
	uint32_t index;
};

static uint32_t
rd32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t
doc_count(const uint8_t *doc) {
	return rd32(doc + 4);
}

/* start of table `index`, or NULL */
static const uint8_t *
doc_table(const uint8_t *doc, uint32_t index) {
	uint32_t n = doc_count(doc);
	if (index >= n)
		return NULL;
	uint32_t off = rd32(doc + 8 + 4 * (size_t)index);
	if (off == NO_TABLE)
		return NULL;
	return doc + 8 + 4 * (size_t)n + off;
}

/* the proxy of table `index` (cached per table address) */
static void
push_view(lua_State *L, const uint8_t *doc, uint32_t index) {
	const uint8_t *t = doc_table(doc, index);
	if (t == NULL)
		luaL_error(L, "Invalid index %d", (int)index);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &node_views_key);
	if (lua_rawgetp(L, -1, t) == LUA_TTABLE) {
		lua_remove(L, -2);
		return;
	}
	lua_pop(L, 1);
	lua_newtable(L);                                  /* views proxy */
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, -3, t);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &view_origin_key);  /* views proxy origins */
	lua_pushvalue(L, -2);
	struct origin *o = (struct origin *)lua_newuserdatauv(L, sizeof(*o), 0);
	o->doc = doc;
	o->index = index;
	lua_rawset(L, -3);
	lua_pop(L, 1);
	lua_remove(L, -2);                                /* proxy */
}

static void
push_item(lua_State *L, const uint8_t *doc, int kind, const uint8_t *v) {
	uint32_t raw = rd32(v);
	switch (kind) {
	case K_NIL:
		lua_pushnil(L);
		break;
	case K_INT:
		lua_pushinteger(L, (int32_t)raw);
		break;
	case K_REAL: {
		float f;
		memcpy(&f, &raw, sizeof(f));
		lua_pushnumber(L, (lua_Number)f);
		break;
	}
	case K_BOOL:
		lua_pushboolean(L, raw != 0);
		break;
	case K_TABLE:
		push_view(L, doc, raw);
		break;
	case K_STRING:
		lua_pushstring(L, (const char *)doc + rd32(doc) + raw);
		break;
	default:
		luaL_error(L, "Invalid type %d at %p", kind, (const void *)v);
	}
}

static struct origin *
origin_of(lua_State *L, int idx) {
	lua_rawgetp(L, LUA_REGISTRYINDEX, &view_origin_key);
	lua_pushvalue(L, idx);
	if (lua_rawget(L, -2) != LUA_TUSERDATA)
		luaL_error(L, "Invalid proxy table %p", lua_topointer(L, idx));
	struct origin *o = (struct origin *)lua_touserdata(L, -1);
	lua_pop(L, 2);
	return o;
}

/* fill the proxy at index 1 with its values and drop its metatable */
static void
materialize(lua_State *L) {
	struct origin *o = origin_of(L, 1);
	const uint8_t *doc = o->doc;
	uint32_t n = doc_count(doc);
	if (o->index >= n)
		luaL_error(L, "Invalid proxy (index = %d, total = %d)", (int)o->index, (int)n);
	const uint8_t *t = doc_table(doc, o->index);
	if (t == NULL)
		luaL_error(L, "Invalid proxy (index = %d)", (int)o->index);
	uint32_t narray = rd32(t);
	uint32_t ndict = rd32(t + 4);
	const uint8_t *kinds = t + 8;
	const uint8_t *v = t + 8 + (((size_t)narray + ndict + 3) & ~(size_t)3);
	uint32_t i;
	luaL_checkstack(L, LUA_MINSTACK, NULL);
	for (i = 0; i < narray; i++, v += 4) {
		push_item(L, doc, kinds[i], v);
		lua_rawseti(L, 1, (lua_Integer)i + 1);
	}
	for (i = 0; i < ndict; i++, v += 8) {
		push_item(L, doc, K_STRING, v);
		push_item(L, doc, kinds[narray + i], v + 4);
		lua_rawset(L, 1);
	}
	lua_pushnil(L);
	lua_setmetatable(L, 1);
}

static int
view_index(lua_State *L) {
	materialize(L);
	lua_settop(L, 2);
	lua_rawget(L, 1);
	return 1;
}

/* next over the raw table alone; no results once it is exhausted */
static int
raw_next(lua_State *L) {
	lua_settop(L, 2);
	return lua_next(L, 1) ? 2 : 0;
}

/* pairs(view): the view becomes a plain table, walked by raw_next */
static int
view_pairs(lua_State *L) {
	materialize(L);
	lua_settop(L, 1);
	lua_pushcfunction(L, raw_next);
	lua_insert(L, 1);
	return 2;
}

static int
view_len(lua_State *L) {
	materialize(L);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
	return 1;
}

static int
lnew(lua_State *L) {
	luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
	const uint8_t *doc = (const uint8_t *)lua_touserdata(L, 1);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &documents_key);
	lua_pushvalue(L, 1);
	lua_rawsetp(L, -2, doc);
	lua_pop(L, 1);
	push_view(L, doc, 0);
	return 1;
}

/* empty the table at idx (keeps it the same object) */
static void
wipe(lua_State *L, int idx) {
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, idx);
	}
}

static int
lupdate(lua_State *L) {
	struct origin *root = origin_of(L, 1);
	luaL_checktype(L, 2, LUA_TLIGHTUSERDATA);
	const uint8_t *olddoc = root->doc;
	const uint8_t *newdoc = (const uint8_t *)lua_touserdata(L, 2);
	lua_settop(L, 2);
	luaL_checkstack(L, LUA_MINSTACK, NULL);

	lua_rawgetp(L, LUA_REGISTRYINDEX, &node_views_key);   /* 3 */
	lua_rawgetp(L, LUA_REGISTRYINDEX, &view_origin_key);  /* 4 */
	lua_newtable(L);                                        /* 5: re-keyed views */
	lua_newtable(L);                                        /* 6: stale keys */
	lua_Integer nstale = 0;
	lua_pushnil(L);
	while (lua_next(L, 3) != 0) {
		/* key = table address, value = proxy */
		lua_pushvalue(L, -1);
		if (lua_rawget(L, 4) == LUA_TUSERDATA) {
			struct origin *o = (struct origin *)lua_touserdata(L, -1);
			lua_pop(L, 1);
			if (o->doc == olddoc) {
				o->doc = newdoc;
				int view = lua_gettop(L);
				wipe(L, view);
				lua_pushvalue(L, lua_upvalueindex(1));
				lua_setmetatable(L, view);
				const uint8_t *nt = doc_table(newdoc, o->index);
				if (nt) {
					lua_pushvalue(L, view);
					lua_rawsetp(L, 5, nt);
				}
				lua_pushvalue(L, -2);
				lua_rawseti(L, 6, ++nstale);
			}
		} else {
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	/* never modify the table being traversed: apply the changes now */
	lua_Integer i;
	for (i = 1; i <= nstale; i++) {
		lua_rawgeti(L, 6, i);
		lua_pushnil(L);
		lua_rawset(L, 3);
	}
	lua_pushnil(L);
	while (lua_next(L, 5) != 0) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, 3);
	}
	lua_settop(L, 1);
	return 1;
}

static int
lstringpointer(lua_State *L) {
	const char *s = luaL_checkstring(L, 1);
	lua_pushlightuserdata(L, (void *)s);
	return 1;
}

static void
weak_table(lua_State *L, const char *mode) {
	lua_newtable(L);
	lua_createtable(L, 0, 1);
	lua_pushstring(L, mode);
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
}

LUAMOD_API int
luaopen_skynet_datasheet_core(lua_State *L) {
	luaL_checkversion(L);
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &node_views_key) != LUA_TTABLE) {
		weak_table(L, "kv");
		lua_rawsetp(L, LUA_REGISTRYINDEX, &node_views_key);
		weak_table(L, "k");
		lua_rawsetp(L, LUA_REGISTRYINDEX, &view_origin_key);
		lua_newtable(L);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &documents_key);
	}
	lua_pop(L, 1);

	static const luaL_Reg funcs[] = {
		{ "new", lnew },
		{ "update", lupdate },
		{ NULL, NULL },
	};
	static const luaL_Reg meta[] = {
		{ "__index", view_index },
		{ "__pairs", view_pairs },
		{ "__len", view_len },
		{ NULL, NULL },
	};
	luaL_newlibtable(L, funcs);
	/* the proxies' metatable; its functions and new/update share it */
	lua_createtable(L, 0, 3);
	lua_pushvalue(L, -1);
	luaL_setfuncs(L, meta, 1);
	luaL_setfuncs(L, funcs, 1);
	lua_pushcfunction(L, lstringpointer);
	lua_setfield(L, -2, "stringpointer");
	return 1;
}
