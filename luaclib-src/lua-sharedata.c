/*
 * skynet.sharedata.core : immutable data trees that many Lua VMs (in many
 * threads) read concurrently without copying.
 *
 * A tree is built from a Lua table by new() and lives in plain C memory;
 * it is named by a light userdata (sub tables by their own light
 * userdata).  Keys are integers or strings; values are nil (array part
 * only), booleans, numbers, strings or tables.
 *
 * host side : new, delete, markdirty, getref, incref, decref
 * client    : box, index, nextkey, len, hashlen, isdirty, needupdate, update
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BOX_MT "skynet.sharedata.box"
#define MAX_NESTING 128

enum {
	V_NIL = 0,
	V_BOOLEAN,
	V_INTEGER,
	V_REAL,
	V_STRING,
	V_TABLE,
};

struct sd_table;

struct sd_value {
	uint8_t type;
	union {
		int b;
		lua_Integer i;
		lua_Number n;
		struct {
			size_t off;
			size_t len;
		} s;
		struct sd_table *t;
	} u;
};

struct sd_slot {
	struct sd_value key;    /* V_INTEGER or V_STRING */
	struct sd_value val;
	uint32_t hash;
	int32_t next;           /* next slot in the same bucket, -1 ends */
};

struct sd_root;

struct sd_table {
	struct sd_root *root;
	struct sd_table *all_next;   /* every table of a tree, for freeing */
	int narray;
	struct sd_value *array;
	int nhash;
	struct sd_slot *slots;       /* in build order: the iteration order */
	int32_t *buckets;            /* nhash heads */
};

struct sd_root {
	atomic_int ref;
	atomic_int dirty;
	char *strings;               /* all string bytes of the tree */
	size_t strings_len;
	size_t strings_cap;
	struct sd_table *all;        /* list of all tables */
	struct sd_table *top;
};

/* ------------------------------------------------------------ helpers */

static uint32_t
hash_bytes(const char *s, size_t n) {
	uint32_t h = 2166136261u ^ (uint32_t)n;
	size_t i;
	for (i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t
hash_integer(lua_Integer v) {
	uint64_t x = (uint64_t)v;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

static const char *
str_of(const struct sd_root *r, const struct sd_value *v) {
	return r->strings + v->u.s.off;
}

static void
free_tree(struct sd_root *r) {
	struct sd_table *t = r->all;
	while (t) {
		struct sd_table *next = t->all_next;
		free(t->array);
		free(t->slots);
		free(t->buckets);
		free(t);
		t = next;
	}
	free(r->strings);
	free(r);
}

/* ------------------------------------------------------------ building */

struct builder {
	struct sd_root *root;
};

static void *
b_alloc(lua_State *L, size_t sz) {
	void *p = calloc(1, sz ? sz : 1);
	if (p == NULL)
		luaL_error(L, "memory error");
	return p;
}

static void
b_string(lua_State *L, struct sd_root *r, int idx, struct sd_value *out) {
	size_t n = 0;
	const char *s = lua_tolstring(L, idx, &n);
	if (r->strings_cap - r->strings_len < n + 1) {
		size_t cap = r->strings_cap ? r->strings_cap : 256;
		while (cap - r->strings_len < n + 1)
			cap *= 2;
		char *p = (char *)realloc(r->strings, cap);
		if (p == NULL)
			luaL_error(L, "memory error");
		r->strings = p;
		r->strings_cap = cap;
	}
	memcpy(r->strings + r->strings_len, s, n);
	r->strings[r->strings_len + n] = '\0';
	out->type = V_STRING;
	out->u.s.off = r->strings_len;
	out->u.s.len = n;
	r->strings_len += n + 1;
}

static struct sd_table *b_table(lua_State *L, struct sd_root *r, int idx, int depth);

static void
b_value(lua_State *L, struct sd_root *r, int idx, struct sd_value *out, int depth) {
	int tp = lua_type(L, idx);
	switch (tp) {
	case LUA_TNIL:
		out->type = V_NIL;
		break;
	case LUA_TBOOLEAN:
		out->type = V_BOOLEAN;
		out->u.b = lua_toboolean(L, idx);
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			out->type = V_INTEGER;
			out->u.i = lua_tointeger(L, idx);
		} else {
			out->type = V_REAL;
			out->u.n = lua_tonumber(L, idx);
		}
		break;
	case LUA_TSTRING:
		b_string(L, r, idx, out);
		break;
	case LUA_TTABLE:
		out->type = V_TABLE;
		out->u.t = b_table(L, r, idx, depth + 1);
		break;
	default:
		luaL_error(L, "Unsupport value type %s", lua_typename(L, tp));
	}
}

/* is the key at idx stored in the hash part? (validates it) */
static int
b_is_hash_key(lua_State *L, int idx, int narray) {
	int tp = lua_type(L, idx);
	if (tp == LUA_TNUMBER) {
		if (!lua_isinteger(L, idx))
			luaL_error(L, "Invalid key %f", (double)lua_tonumber(L, idx));
		lua_Integer k = lua_tointeger(L, idx);
		return !(k >= 1 && k <= narray);
	}
	if (tp != LUA_TSTRING)
		luaL_error(L, "Invalid key type %s", lua_typename(L, tp));
	return 1;
}

static uint32_t
key_hash(const struct sd_root *r, const struct sd_value *k) {
	if (k->type == V_INTEGER)
		return hash_integer(k->u.i);
	return hash_bytes(str_of(r, k), k->u.s.len);
}

static struct sd_table *
b_table(lua_State *L, struct sd_root *r, int idx, int depth) {
	if (depth > MAX_NESTING)
		luaL_error(L, "sharedata: tables nested too deep (a cycle?)");
	luaL_checkstack(L, LUA_MINSTACK, NULL);
	idx = lua_absindex(L, idx);
	struct sd_table *t = (struct sd_table *)b_alloc(L, sizeof(*t));
	t->root = r;
	t->all_next = r->all;
	r->all = t;

	lua_Unsigned len = lua_rawlen(L, idx);
	if (len > (lua_Unsigned)INT32_MAX)
		luaL_error(L, "sharedata: array too large");
	int narray = (int)len;
	int nhash = 0;
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (b_is_hash_key(L, -2, narray))
			nhash++;
		lua_pop(L, 1);
	}

	if (narray > 0) {
		t->array = (struct sd_value *)b_alloc(L, sizeof(struct sd_value) * (size_t)narray);
		t->narray = narray;
		int i;
		for (i = 0; i < narray; i++) {
			lua_rawgeti(L, idx, i + 1);
			b_value(L, r, -1, &t->array[i], depth);
			lua_pop(L, 1);
		}
	}
	if (nhash > 0) {
		t->slots = (struct sd_slot *)b_alloc(L, sizeof(struct sd_slot) * (size_t)nhash);
		t->buckets = (int32_t *)b_alloc(L, sizeof(int32_t) * (size_t)nhash);
		int i;
		for (i = 0; i < nhash; i++)
			t->buckets[i] = -1;
		int used = 0;
		lua_pushnil(L);
		while (lua_next(L, idx) != 0) {
			if (b_is_hash_key(L, -2, narray) && used < nhash) {
				struct sd_slot *s = &t->slots[used];
				if (lua_type(L, -2) == LUA_TNUMBER) {
					s->key.type = V_INTEGER;
					s->key.u.i = lua_tointeger(L, -2);
				} else {
					b_string(L, r, -2, &s->key);
				}
				b_value(L, r, -1, &s->val, depth);
				s->hash = key_hash(r, &s->key);
				uint32_t b = s->hash % (uint32_t)nhash;
				s->next = t->buckets[b];
				t->buckets[b] = used;
				used++;
			}
			lua_pop(L, 1);
		}
		t->nhash = used;
	}
	return t;
}

/* protected part of new(): arg 1 the source table, arg 2 the root */
static int
build_protected(lua_State *L) {
	struct sd_root *r = (struct sd_root *)lua_touserdata(L, 2);
	r->top = b_table(L, r, 1, 0);
	return 0;
}

static int
lnew(lua_State *L) {
	luaL_checktype(L, 1, LUA_TTABLE);
	struct sd_root *r = (struct sd_root *)calloc(1, sizeof(*r));
	if (r == NULL)
		return luaL_error(L, "memory error");
	atomic_init(&r->ref, 0);
	atomic_init(&r->dirty, 0);
	lua_pushcfunction(L, build_protected);
	lua_pushvalue(L, 1);
	lua_pushlightuserdata(L, r);
	if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
		free_tree(r);
		return lua_error(L);
	}
	lua_pushlightuserdata(L, r->top);
	return 1;
}

/* ------------------------------------------------------------ reading */

static struct sd_table *
check_table(lua_State *L, int idx) {
	struct sd_table *t = (struct sd_table *)lua_touserdata(L, idx);
	if (t == NULL)
		luaL_error(L, "Need a conf object");
	return t;
}

static void
push_value(lua_State *L, const struct sd_root *r, const struct sd_value *v) {
	switch (v->type) {
	case V_BOOLEAN:
		lua_pushboolean(L, v->u.b);
		break;
	case V_INTEGER:
		lua_pushinteger(L, v->u.i);
		break;
	case V_REAL:
		lua_pushnumber(L, v->u.n);
		break;
	case V_STRING:
		lua_pushlstring(L, str_of(r, v), v->u.s.len);
		break;
	case V_TABLE:
		lua_pushlightuserdata(L, v->u.t);
		break;
	default:
		lua_pushnil(L);
		break;
	}
}

/* slot index of the key, or -1 */
static int
find_slot(const struct sd_table *t, int is_int, lua_Integer ikey, const char *s, size_t n) {
	if (t->nhash == 0)
		return -1;
	uint32_t h = is_int ? hash_integer(ikey) : hash_bytes(s, n);
	int32_t i = t->buckets[h % (uint32_t)t->nhash];
	while (i >= 0) {
		const struct sd_slot *sl = &t->slots[i];
		if (sl->hash == h) {
			if (is_int) {
				if (sl->key.type == V_INTEGER && sl->key.u.i == ikey)
					return i;
			} else if (sl->key.type == V_STRING && sl->key.u.s.len == n &&
					memcmp(str_of(t->root, &sl->key), s, n) == 0) {
				return i;
			}
		}
		i = sl->next;
	}
	return -1;
}

static int
lindex(lua_State *L) {
	struct sd_table *t = check_table(L, 1);
	int slot;
	switch (lua_type(L, 2)) {
	case LUA_TNIL:
		return 0;
	case LUA_TNUMBER: {
		if (!lua_isinteger(L, 2))
			return luaL_error(L, "Invalid key %f", (double)lua_tonumber(L, 2));
		lua_Integer k = lua_tointeger(L, 2);
		if (k >= 1 && k <= t->narray) {
			push_value(L, t->root, &t->array[k - 1]);
			return 1;
		}
		slot = find_slot(t, 1, k, NULL, 0);
		break;
	}
	default: {
		size_t n = 0;
		const char *s = luaL_checklstring(L, 2, &n);
		slot = find_slot(t, 0, 0, s, n);
		break;
	}
	}
	if (slot < 0)
		return 0;
	push_value(L, t->root, &t->slots[slot].val);
	return 1;
}

static int
push_slot_key(lua_State *L, const struct sd_table *t, int slot) {
	if (slot >= t->nhash)
		return 0;
	push_value(L, t->root, &t->slots[slot].key);
	return 1;
}

/* first non-nil array entry at or after position `from` (0 based), else
 * the first hash key */
static int
push_from_array(lua_State *L, const struct sd_table *t, lua_Integer from) {
	lua_Integer i;
	for (i = from; i < t->narray; i++) {
		if (t->array[i].type != V_NIL) {
			lua_pushinteger(L, i + 1);
			return 1;
		}
	}
	return push_slot_key(L, t, 0);
}

static int
lnextkey(lua_State *L) {
	struct sd_table *t = check_table(L, 1);
	if (lua_isnoneornil(L, 2))
		return push_from_array(L, t, 0);
	int slot;
	if (lua_type(L, 2) == LUA_TNUMBER) {
		if (!lua_isinteger(L, 2))
			return 0;
		lua_Integer k = lua_tointeger(L, 2);
		if (k >= 1 && k <= t->narray)
			return push_from_array(L, t, k);
		slot = find_slot(t, 1, k, NULL, 0);
	} else {
		size_t n = 0;
		const char *s = luaL_checklstring(L, 2, &n);
		slot = find_slot(t, 0, 0, s, n);
	}
	if (slot < 0)
		return 0;
	return push_slot_key(L, t, slot + 1);
}

static int
llen(lua_State *L) {
	lua_pushinteger(L, check_table(L, 1)->narray);
	return 1;
}

static int
lhashlen(lua_State *L) {
	lua_pushinteger(L, check_table(L, 1)->nhash);
	return 1;
}

/* ------------------------------------------------------------ lifetime */

static int
ldelete(lua_State *L) {
	struct sd_table *t = check_table(L, 1);
	free_tree(t->root);
	return 0;
}

static int
lmarkdirty(lua_State *L) {
	atomic_store(&check_table(L, 1)->root->dirty, 1);
	return 0;
}

static int
lisdirty(lua_State *L) {
	lua_pushboolean(L, atomic_load(&check_table(L, 1)->root->dirty));
	return 1;
}

static int
lgetref(lua_State *L) {
	lua_pushinteger(L, atomic_load(&check_table(L, 1)->root->ref));
	return 1;
}

static int
lincref(lua_State *L) {
	lua_pushinteger(L, atomic_fetch_add(&check_table(L, 1)->root->ref, 1) + 1);
	return 1;
}

static int
ldecref(lua_State *L) {
	lua_pushinteger(L, atomic_fetch_sub(&check_table(L, 1)->root->ref, 1) - 1);
	return 1;
}

/* a client's handle on a tree: holds one reference, and the replacement
 * tree once the host has published one (uservalue 1 keeps its table) */
struct box {
	struct sd_table *current;
	struct sd_table *next;
};

static int
box_gc(lua_State *L) {
	struct box *b = (struct box *)lua_touserdata(L, 1);
	if (b && b->current) {
		atomic_fetch_sub(&b->current->root->ref, 1);
		b->current = NULL;
		b->next = NULL;
	}
	return 0;
}

static int
lbox(lua_State *L) {
	struct sd_table *t = check_table(L, 1);
	struct box *b = (struct box *)lua_newuserdatauv(L, sizeof(*b), 1);
	b->current = NULL;
	b->next = NULL;
	if (luaL_newmetatable(L, BOX_MT)) {
		lua_pushcfunction(L, box_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	atomic_fetch_add(&t->root->ref, 1);
	b->current = t;
	return 1;
}

static int
lneedupdate(lua_State *L) {
	struct box *b = (struct box *)luaL_checkudata(L, 1, BOX_MT);
	if (b->next == NULL)
		return 0;
	lua_pushlightuserdata(L, b->next);
	lua_getiuservalue(L, 1, 1);
	return 2;
}

static int
lupdate(lua_State *L) {
	struct box *b = (struct box *)luaL_checkudata(L, 1, BOX_MT);
	luaL_checktype(L, 2, LUA_TLIGHTUSERDATA);
	luaL_checktype(L, 3, LUA_TTABLE);
	struct sd_table *n = (struct sd_table *)lua_touserdata(L, 2);
	if (n == b->current)
		return luaL_error(L, "You should update a new object");
	lua_settop(L, 3);
	lua_setiuservalue(L, 1, 1);
	b->next = n;
	return 0;
}

LUAMOD_API int
luaopen_skynet_sharedata_core(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		{ "new", lnew },
		{ "delete", ldelete },
		{ "markdirty", lmarkdirty },
		{ "getref", lgetref },
		{ "incref", lincref },
		{ "decref", ldecref },
		{ "box", lbox },
		{ "index", lindex },
		{ "nextkey", lnextkey },
		{ "len", llen },
		{ "hashlen", lhashlen },
		{ "isdirty", lisdirty },
		{ "needupdate", lneedupdate },
		{ "update", lupdate },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
