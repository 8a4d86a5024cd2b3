/* Lua tables to sproto messages and back, straight from the Lua stack.
 *
 * A message is a header (a 16-bit count of field records), the field records (16 bits
 * each, all little-endian), then the data part. A record v is:
 *   odd:      skip (v+1)/2 tags;
 *   0:        the next tag's value is the next data block (32-bit length, then bytes);
 *   even > 0: the next tag's value is v/2 - 1 (small integers and booleans).
 * Records go by ascending tag. Integers that do not fit 0..0x7ffe go to a data block of 4
 * bytes (when they fit 32 bits) or 8; doubles are 8-byte blocks; strings and nested messages
 * are blocks; arrays are blocks: of integers (a width byte, 4 or 8, then the values), of
 * booleans (a byte each), of anything else (each element a length and its bytes).
 *
 * Encoding writes into a growable buffer held by a userdata on the stack (so an error
 * thrown half-way frees nothing by hand). Each message reserves room for the most records
 * it can need, writes its data blocks after it, then slides the data down to the records
 * actually written. Decoding checks every length against the bytes left before reading. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "spschema.h"
#include "spcodec.h"

#define MAX_DEPTH 64
#define SMALL_LIMIT 0x7fff

static void
put16(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v) {
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v) {
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t
get32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* ---- field names ----
 * Field names go to Lua as strings of a per-state table (schema field slot -> name string),
 * so that reading or writing a field is an array read of an interned string instead of an
 * interning of a C string. The tables live in a registry table keyed by schema address;
 * [0] holds the schema's serial, so a new schema at the address of a freed one is seen. */

static const char names_key = 0;

/* The names table of a schema, looked up in the registry. */
static int
find_names(lua_State *L, const struct sp_schema *s) {
	luaL_checkstack(L, 4, NULL);
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &names_key) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &names_key);
	}
	if (lua_rawgetp(L, -1, s) == LUA_TTABLE) {
		lua_rawgeti(L, -1, 0);
		int same = lua_tointeger(L, -1) == (lua_Integer)s->serial;
		lua_pop(L, 1);
		if (same) {
			lua_remove(L, -2);
			return lua_gettop(L);
		}
	}
	lua_pop(L, 1);
	lua_createtable(L, s->nfields, 1);
	lua_pushinteger(L, (lua_Integer)s->serial);
	lua_rawseti(L, -2, 0);
	for (int i = 0; i < s->ntypes; i++) {
		const struct sp_type *t = &s->types[i];
		for (int j = 0; j < t->nfields; j++) {
			lua_pushstring(L, t->fields[j].name);
			lua_rawseti(L, -2, t->fields[j].slot);
		}
	}
	lua_pushvalue(L, -1);
	lua_rawsetp(L, -3, s);
	lua_remove(L, -2);
	return lua_gettop(L);
}

/* The names table, remembered by the calling closure in upvalues up (the table), up+1 (the
 * schema's address) and up+2 (its serial): a codec called over and over with one schema skips
 * the registry. The address alone is never read through: a freed schema's serial is gone. */
static int
push_names(lua_State *L, const struct sp_schema *s, int up) {
	if (lua_touserdata(L, lua_upvalueindex(up + 1)) == s &&
			lua_tointeger(L, lua_upvalueindex(up + 2)) == (lua_Integer)s->serial) {
		lua_pushvalue(L, lua_upvalueindex(up));
		return lua_gettop(L);
	}
	int names = find_names(L, s);
	lua_pushvalue(L, names);
	lua_replace(L, lua_upvalueindex(up));
	lua_pushlightuserdata(L, (void *)s);
	lua_replace(L, lua_upvalueindex(up + 1));
	lua_pushinteger(L, (lua_Integer)s->serial);
	lua_replace(L, lua_upvalueindex(up + 2));
	return names;
}

void
sp_lua_forget(lua_State *L, const struct sp_schema *s) {
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &names_key) == LUA_TTABLE) {
		lua_pushnil(L);
		lua_rawsetp(L, -2, s);
	}
	lua_pop(L, 1);
}

/* ---- encoding ---- */

struct out {
	lua_State *L;
	uint8_t *p;
	size_t len;
	size_t cap;
	int holder;     /* stack index of the userdata that owns p */
	int names;      /* stack index of the field name table */
};

static __attribute__((noinline)) void
grow(struct out *o, size_t more) {
	size_t need = o->len + more;
	if (need > SP_MAX_MESSAGE)
		luaL_error(o->L, "object is too large (>%d)", SP_MAX_MESSAGE);
	size_t cap = o->cap * 2;
	if (cap < need)
		cap = need;
	if (cap > SP_MAX_MESSAGE)
		cap = SP_MAX_MESSAGE;
	uint8_t *np = lua_newuserdatauv(o->L, cap, 0);
	if (o->len)
		memcpy(np, o->p, o->len);
	lua_replace(o->L, o->holder);
	o->p = np;
	o->cap = cap;
}

static inline void
reserve(struct out *o, size_t more) {
	if (o->cap - o->len < more)
		grow(o, more);
}

static void
put_block(struct out *o, const void *bytes, size_t n) {
	if (n > SP_MAX_MESSAGE)
		luaL_error(o->L, "object is too large (>%d)", SP_MAX_MESSAGE);
	reserve(o, 4 + n);
	put32(o->p + o->len, (uint32_t)n);
	memcpy(o->p + o->len + 4, bytes, n);
	o->len += 4 + n;
}

/* Where a message's field values come from: a table (or anything indexable), or, for an
 * entry of a *T() map, the key and the value of one pair. */
struct source {
	int table;
	int key;
	int value;
	int raw;        /* the table has no metatable: raw reads see the same values */
};

/* pushes the value of field f (the i-th of its type); returns its Lua type */
static int
push_value(lua_State *L, int names, const struct source *s, const struct sp_field *f, int i) {
	if (s->table) {
		lua_rawgeti(L, names, f->slot);
		return s->raw ? lua_rawget(L, s->table) : lua_gettable(L, s->table);
	}
	if (i == 0)
		lua_pushvalue(L, s->key);
	else if (i == 1)
		lua_pushvalue(L, s->value);
	else
		lua_pushnil(L);
	return lua_type(L, -1);
}

static const char *
kind_of(lua_State *L, int idx) {
	return luaL_typename(L, idx);
}

static __attribute__((noinline)) int64_t
to_integer_slow(lua_State *L, const struct sp_type *t, const struct sp_field *f, int idx, int index) {
	if (f->scale) {
		int isnum;
		lua_Number x = lua_tonumberx(L, idx, &isnum);
		if (!isnum)
			luaL_error(L, "%s.%s[%d] is not a number (Is a %s)", t->name, f->name, index, kind_of(L, idx));
		x = round(x * (lua_Number)f->scale);
		if (!(x >= -9.2233720368547758e18 && x < 9.2233720368547758e18))
			luaL_error(L, "%s.%s[%d] is out of the integer range", t->name, f->name, index);
		return (int64_t)x;
	}
	int isnum;
	lua_Integer v = lua_tointegerx(L, idx, &isnum);
	if (!isnum)
		luaL_error(L, "%s.%s[%d] is not an integer (Is a %s)", t->name, f->name, index, kind_of(L, idx));
	return (int64_t)v;
}

/* the common case, a plain integer field given an integer, without a call */
static inline int64_t
to_integer(lua_State *L, const struct sp_type *t, const struct sp_field *f, int idx, int index) {
	if (!f->scale) {
		int isnum;
		lua_Integer v = lua_tointegerx(L, idx, &isnum);
		if (isnum)
			return (int64_t)v;
	}
	return to_integer_slow(L, t, f, idx, index);
}

static lua_Number
to_double(lua_State *L, const struct sp_type *t, const struct sp_field *f, int idx, int index) {
	int isnum;
	lua_Number x = lua_tonumberx(L, idx, &isnum);
	if (!isnum)
		luaL_error(L, "%s.%s[%d] is not a number (Is a %s)", t->name, f->name, index, kind_of(L, idx));
	return x;
}

static int
to_boolean(lua_State *L, const struct sp_type *t, const struct sp_field *f, int idx, int index, int tp) {
	if (tp != LUA_TBOOLEAN)
		luaL_error(L, "%s.%s[%d] is not a boolean (Is a %s)", t->name, f->name, index, kind_of(L, idx));
	return lua_toboolean(L, idx);
}

static const char *
to_string(lua_State *L, const struct sp_type *t, const struct sp_field *f, int idx, int index, int tp,
		size_t *n) {
	if (tp != LUA_TSTRING)
		luaL_error(L, "%s.%s[%d] is not a string (Is a %s)", t->name, f->name, index, kind_of(L, idx));
	return lua_tolstring(L, idx, n);
}

/* A table, or a userdata with a metatable (read through its metamethods): 1, or 2 for a
 * table without a metatable (read raw). 0 for anything else. */
static int
indexable(lua_State *L, int idx) {
	int t = lua_type(L, idx);
	if (t != LUA_TTABLE && t != LUA_TUSERDATA && t != LUA_TLIGHTUSERDATA)
		return 0;
	if (lua_getmetatable(L, idx)) {
		lua_pop(L, 1);
		return 1;
	}
	return t == LUA_TTABLE ? 2 : 0;
}

static int
check_indexable(lua_State *L, const struct sp_type *t, const struct sp_field *f, int idx) {
	int how = indexable(L, idx);
	if (!how)
		luaL_error(L, "%s.%s should be a table or an userdata with metamethods (Is a %s)",
			t->name, f->name, kind_of(L, idx));
	return how;
}

static void encode_struct(struct out *o, const struct sp_type *t, const struct source *src, int depth);

/* A nested message as one length-prefixed block; the value is on the stack at idx. */
static void
encode_sub(struct out *o, const struct sp_type *owner, const struct sp_field *f, int idx, int depth) {
	int how = check_indexable(o->L, owner, f, idx);
	reserve(o, 4);
	size_t at = o->len;
	o->len += 4;
	struct source s = { idx, 0, 0, how == 2 };
	encode_struct(o, f->sub, &s, depth + 1);
	put32(o->p + at, (uint32_t)(o->len - at - 4));
}

/* Integers (and decimals) or doubles: 8 bytes each first, narrowed to 4 at the end when
 * every integer fits 32 bits. */
static void
encode_numbers(struct out *o, const struct sp_type *t, const struct sp_field *f, int arr, int raw) {
	lua_State *L = o->L;
	reserve(o, 1);
	size_t width_at = o->len;
	o->len += 1;
	int wide = f->kind == SP_DOUBLE;
	size_t count = 0;
	for (lua_Integer i = 1;; i++) {
		if ((raw ? lua_rawgeti(L, arr, i) : lua_geti(L, arr, i)) == LUA_TNIL) {
			lua_pop(L, 1);
			break;
		}
		uint64_t bits;
		if (f->kind == SP_DOUBLE) {
			double d = (double)to_double(L, t, f, -1, (int)i);
			memcpy(&bits, &d, 8);
		} else {
			int64_t v = to_integer(L, t, f, -1, (int)i);
			if (v < INT32_MIN || v > INT32_MAX)
				wide = 1;
			bits = (uint64_t)v;
		}
		lua_pop(L, 1);
		reserve(o, 8);
		put64(o->p + o->len, bits);
		o->len += 8;
		count++;
	}
	if (count == 0) {
		o->len = width_at;      /* an empty array is an empty block */
		return;
	}
	uint8_t *base = o->p + width_at + 1;
	if (!wide) {
		for (size_t j = 0; j < count; j++)
			memmove(base + 4 * j, base + 8 * j, 4);
		o->len = width_at + 1 + 4 * count;
	}
	o->p[width_at] = wide ? 8 : 4;
}

static void
encode_keyed(struct out *o, const struct sp_type *t, const struct sp_field *f, int arr, int depth) {
	lua_State *L = o->L;
	int custom = luaL_getmetafield(L, arr, "__pairs") != LUA_TNIL;
	int fn = 0, state = 0, ctl;
	if (custom) {
		lua_pushvalue(L, arr);
		lua_call(L, 1, 3);
		fn = lua_gettop(L) - 2;
		state = fn + 1;
		ctl = fn + 2;
	} else {
		if (!lua_istable(L, arr))
			luaL_error(L, "%s.%s should be a table or an userdata with metamethods (Is a %s)",
				t->name, f->name, kind_of(L, arr));
		lua_pushnil(L);
		ctl = lua_gettop(L);
	}
	for (;;) {
		if (custom) {
			lua_pushvalue(L, fn);
			lua_pushvalue(L, state);
			lua_pushvalue(L, ctl);
			lua_call(L, 2, 2);
			if (lua_isnil(L, -2)) {
				lua_pop(L, 2);
				break;
			}
		} else {
			lua_pushvalue(L, ctl);
			if (!lua_next(L, arr))
				break;
		}
		int k = lua_gettop(L) - 1, v = k + 1;
		reserve(o, 4);
		size_t at = o->len;
		o->len += 4;
		if (f->map) {
			struct source s = { 0, k, v, 0 };
			encode_struct(o, f->sub, &s, depth + 1);
		} else {
			int how = indexable(L, v);
			if (!how)
				luaL_error(L, "%s.%s[%s] should be a table (Is a %s)", t->name, f->name,
					luaL_tolstring(L, k, NULL), kind_of(L, v));
			struct source s = { v, 0, 0, how == 2 };
			encode_struct(o, f->sub, &s, depth + 1);
		}
		put32(o->p + at, (uint32_t)(o->len - at - 4));
		lua_pop(L, 1);          /* the value; the key stays for the next step */
		lua_replace(L, ctl);
	}
	lua_settop(L, custom ? fn - 1 : ctl - 1);
}

/* The array field whose value is at arr, as one block. */
static void
encode_array(struct out *o, const struct sp_type *t, const struct sp_field *f, int arr, int depth) {
	lua_State *L = o->L;
	reserve(o, 4);
	size_t at = o->len;
	o->len += 4;
	if (f->key >= 0) {
		encode_keyed(o, t, f, arr, depth);
	} else {
		int raw = check_indexable(L, t, f, arr) == 2;
		switch (f->kind) {
		case SP_INTEGER:
		case SP_DOUBLE:
			encode_numbers(o, t, f, arr, raw);
			break;
		default:
			for (lua_Integer i = 1;; i++) {
				int tp = raw ? lua_rawgeti(L, arr, i) : lua_geti(L, arr, i);
				if (tp == LUA_TNIL) {
					lua_pop(L, 1);
					break;
				}
				int e = lua_gettop(L);
				if (f->kind == SP_BOOLEAN) {
					int b = to_boolean(L, t, f, e, (int)i, tp);
					reserve(o, 1);
					o->p[o->len++] = b ? 1 : 0;
				} else if (f->kind == SP_STRING) {
					size_t n;
					const char *s = to_string(L, t, f, e, (int)i, tp, &n);
					put_block(o, s, n);
				} else {
					encode_sub(o, t, f, e, depth);
				}
				lua_settop(L, e - 1);
			}
			break;
		}
	}
	put32(o->p + at, (uint32_t)(o->len - at - 4));
}

static void
encode_struct(struct out *o, const struct sp_type *t, const struct source *src, int depth) {
	lua_State *L = o->L;
	if (depth >= MAX_DEPTH)
		luaL_error(L, "The table is too deep");
	/* each field's value stays on the stack until the end of the message */
	int base = lua_gettop(L);
	if (!lua_checkstack(L, t->nfields + 16))
		luaL_error(L, "stack overflow (message too large)");
	size_t start = o->len;
	size_t room = 2 + 4 * (size_t)t->nfields;      /* a skip and a value record each */
	reserve(o, room);
	o->len += room;
	size_t data = o->len;
	int records = 0;
	int next_tag = 0;
	for (int i = 0; i < t->nfields; i++) {
		const struct sp_field *f = &t->fields[i];
		int tp = push_value(L, o->names, src, f, i);
		int v = lua_gettop(L);
		if (tp == LUA_TNIL)
			continue;
		uint32_t small = 0;     /* 0: the value is a data block */
		if (f->array) {
			encode_array(o, t, f, v, depth);
		} else {
			switch (f->kind) {
			case SP_INTEGER: {
				int64_t x = to_integer(L, t, f, v, 0);
				if (x >= 0 && x < SMALL_LIMIT) {
					small = (uint32_t)(x + 1) * 2;
				} else if (x >= INT32_MIN && x <= INT32_MAX) {
					reserve(o, 8);
					put32(o->p + o->len, 4);
					put32(o->p + o->len + 4, (uint32_t)x);
					o->len += 8;
				} else {
					reserve(o, 12);
					put32(o->p + o->len, 8);
					put64(o->p + o->len + 4, (uint64_t)x);
					o->len += 12;
				}
				break;
			}
			case SP_BOOLEAN:
				small = to_boolean(L, t, f, v, 0, tp) ? 4 : 2;
				break;
			case SP_DOUBLE: {
				double d = (double)to_double(L, t, f, v, 0);
				put_block(o, &d, 8);    /* little-endian hosts only, as the rest */
				break;
			}
			case SP_STRING: {
				size_t n;
				const char *s = to_string(L, t, f, v, 0, tp, &n);
				put_block(o, s, n);
				break;
			}
			default:
				encode_sub(o, t, f, v, depth);
				break;
			}
		}
		uint8_t *rec = o->p + start + 2 + 2 * (size_t)records;
		int gap = f->tag - next_tag;
		if (gap > 0) {
			put16(rec, (uint32_t)(gap - 1) * 2 + 1);
			rec += 2;
			records++;
		}
		put16(rec, small);
		records++;
		next_tag = f->tag + 1;
	}
	lua_settop(L, base);
	put16(o->p + start, (uint32_t)records);
	size_t used = 2 + 2 * (size_t)records;
	if (used < room) {
		memmove(o->p + start + used, o->p + data, o->len - data);
		o->len -= room - used;
	}
}

/* encode(type, table) -> string. Upvalue 1: a scratch userdata kept between calls (taken
 * out while in use, so a call made from a metamethod gets one of its own). */
int
sp_lua_encode(lua_State *L) {
	const struct sp_type *t = lua_touserdata(L, 1);
	if (t == NULL) {
		luaL_checktype(L, 2, LUA_TNIL);         /* a "response nil" protocol */
		lua_pushliteral(L, "");
		return 1;
	}
	lua_settop(L, 2);
	struct out o = { L, NULL, 0, 0, 3, 4 };
	if (lua_type(L, lua_upvalueindex(1)) == LUA_TUSERDATA) {
		lua_pushvalue(L, lua_upvalueindex(1));
		lua_pushnil(L);
		lua_replace(L, lua_upvalueindex(1));
		o.p = lua_touserdata(L, 3);
		o.cap = lua_rawlen(L, 3);
	} else {
		o.p = lua_newuserdatauv(L, 1024, 0);
		o.cap = 1024;
	}
	int how = indexable(L, 2);
	struct source s = { 2, 0, 0, how == 2 };
	if (!how)
		luaL_error(L, "bad argument #2 to 'encode' (table expected, got %s)", luaL_typename(L, 2));
	push_names(L, t->owner, SP_ENCODE_NAMES);
	encode_struct(&o, t, &s, 0);
	lua_pushlstring(L, (const char *)o.p, o.len);
	if (o.cap <= SP_KEEP_BUFFER) {
		lua_pushvalue(L, 3);
		lua_replace(L, lua_upvalueindex(1));
	}
	return 1;
}

/* ---- decoding ---- */

static int
bad(lua_State *L, const struct sp_type *t, const char *what) {
	return luaL_error(L, "decode error: %s in a %s message", what, t->name);
}

static void decode_into(lua_State *L, int names, const struct sp_type *t, const uint8_t *p,
	size_t n, int out, int depth, size_t *used);

/* A nested message: a new table on the stack, its block consumed exactly. */
/* A new table sized for the fields the message [p, p+n) of type t can hold. */
static void
new_message_table(lua_State *L, const struct sp_type *t, const uint8_t *p, size_t n) {
	int records = n >= 2 ? (int)get16(p) : 0;
	lua_createtable(L, 0, records < t->nfields ? records : t->nfields);
}

static void
decode_sub(lua_State *L, int names, const struct sp_type *t, const uint8_t *p, size_t n, int depth) {
	new_message_table(L, t, p, n);
	size_t used;
	decode_into(L, names, t, p, n, lua_gettop(L), depth + 1, &used);
	if (used != n)
		bad(L, t, "trailing bytes");
}

static void
push_number(lua_State *L, const struct sp_field *f, int64_t v) {
	if (f->scale)
		lua_pushnumber(L, (lua_Number)v / (lua_Number)f->scale);
	else
		lua_pushinteger(L, (lua_Integer)v);
}

static void
decode_elements(lua_State *L, int names, const struct sp_type *t, const struct sp_field *f,
		const uint8_t *p, size_t n, int arr, int depth) {
	const struct sp_field *keyfield = NULL;
	if (f->key >= 0 && !f->map)
		keyfield = sp_type_field(f->sub, f->key);
	lua_Integer i = 0;
	while (n > 0) {
		if (n < 4)
			bad(L, t, "truncated array element length");
		uint32_t len = get32(p);
		if (len > n - 4)
			bad(L, t, "array element past the end");
		const uint8_t *e = p + 4;
		p += 4 + (size_t)len;
		n -= 4 + (size_t)len;
		i++;
		if (f->kind == SP_STRING) {
			lua_pushlstring(L, (const char *)e, len);
			lua_rawseti(L, arr, i);
			continue;
		}
		decode_sub(L, names, f->sub, e, len, depth);
		int elem = lua_gettop(L);
		if (f->map) {
			lua_rawgeti(L, names, f->sub->fields[0].slot);
			if (lua_rawget(L, elem) == LUA_TNIL)
				luaL_error(L, "Can't find key field in [%s]", f->name);
			lua_rawgeti(L, names, f->sub->fields[1].slot);
			if (lua_rawget(L, elem) == LUA_TNIL)
				luaL_error(L, "Can't find value field in [%s]", f->name);
			lua_rawset(L, arr);
		} else if (keyfield) {
			lua_rawgeti(L, names, keyfield->slot);
			lua_rawget(L, elem);
			if (lua_isnil(L, -1))
				luaL_error(L, "Can't find main index (tag=%d) in [%s]", f->key, f->name);
			lua_pushvalue(L, elem);
			lua_rawset(L, arr);
		} else {
			lua_pushvalue(L, elem);
			lua_rawseti(L, arr, i);
		}
		lua_settop(L, elem - 1);
	}
}

/* The array block [p, p+n) of field f: pushes a table. */
static void
decode_array(lua_State *L, int names, const struct sp_type *t, const struct sp_field *f,
		const uint8_t *p, size_t n, int depth) {
	if (n == 0) {
		lua_newtable(L);
		return;
	}
	int arr;
	switch (f->kind) {
	case SP_INTEGER:
	case SP_DOUBLE: {
		unsigned width = p[0];
		size_t rest = n - 1;
		if (rest == 0) {
			lua_newtable(L);
			return;
		}
		if (!(width == 8 || (width == 4 && f->kind == SP_INTEGER)))
			bad(L, t, "bad number width in an array");
		if (rest % width)
			bad(L, t, "number array length is not a multiple of its width");
		lua_createtable(L, (int)(rest / width), 0);
		arr = lua_gettop(L);
		const uint8_t *q = p + 1;
		for (size_t i = 0; i < rest / width; i++, q += width) {
			if (f->kind == SP_DOUBLE) {
				uint64_t bits = get64(q);
				double d;
				memcpy(&d, &bits, 8);
				lua_pushnumber(L, (lua_Number)d);
			} else {
				int64_t v = width == 4 ? (int64_t)(int32_t)get32(q) : (int64_t)get64(q);
				push_number(L, f, v);
			}
			lua_rawseti(L, arr, (lua_Integer)i + 1);
		}
		return;
	}
	case SP_BOOLEAN:
		lua_createtable(L, (int)n, 0);
		arr = lua_gettop(L);
		for (size_t i = 0; i < n; i++) {
			lua_pushboolean(L, p[i] != 0);
			lua_rawseti(L, arr, (lua_Integer)i + 1);
		}
		return;
	default:
		lua_newtable(L);
		arr = lua_gettop(L);
		decode_elements(L, names, t, f, p, n, arr, depth);
		return;
	}
}

static void
decode_into(lua_State *L, int names, const struct sp_type *t, const uint8_t *p, size_t n,
		int out, int depth, size_t *used) {
	if (depth >= MAX_DEPTH)
		luaL_error(L, "The table is too deep");
	luaL_checkstack(L, 16, NULL);
	if (n < 2)
		bad(L, t, "truncated header");
	uint32_t count = get16(p);
	size_t head = 2 + 2 * (size_t)count;
	if (head > n)
		bad(L, t, "field records past the end");
	const uint8_t *data = p + head;
	size_t left = n - head;
	int64_t tag = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t v = get16(p + 2 + 2 * i);
		if (v & 1) {
			tag += (v + 1) / 2;
			continue;
		}
		int64_t this_tag = tag++;
		const uint8_t *blob = NULL;
		uint32_t len = 0;
		if (v == 0) {
			if (left < 4)
				bad(L, t, "truncated data length");
			len = get32(data);
			if (len > left - 4)
				bad(L, t, "data block past the end");
			blob = data + 4;
			data += 4 + (size_t)len;
			left -= 4 + (size_t)len;
		}
		if (this_tag > INT32_MAX)
			continue;
		const struct sp_field *f = sp_type_field(t, (int)this_tag);
		if (f == NULL)
			continue;       /* a field this schema does not know: skipped */
		if (v != 0) {
			uint32_t small = v / 2 - 1;
			if (f->array)
				bad(L, t, "an array given as a small value");
			if (f->kind == SP_INTEGER)
				push_number(L, f, (int64_t)small);
			else if (f->kind == SP_BOOLEAN)
				lua_pushboolean(L, small != 0);
			else
				bad(L, t, "a small value for a field that needs a data block");
		} else if (f->array) {
			decode_array(L, names, t, f, blob, len, depth);
		} else {
			switch (f->kind) {
			case SP_INTEGER:
				if (len == 4)
					push_number(L, f, (int64_t)(int32_t)get32(blob));
				else if (len == 8)
					push_number(L, f, (int64_t)get64(blob));
				else
					bad(L, t, "an integer block that is neither 4 nor 8 bytes");
				break;
			case SP_DOUBLE: {
				if (len != 8)
					bad(L, t, "a double block that is not 8 bytes");
				uint64_t bits = get64(blob);
				double d;
				memcpy(&d, &bits, 8);
				lua_pushnumber(L, (lua_Number)d);
				break;
			}
			case SP_STRING:
				lua_pushlstring(L, (const char *)blob, len);
				break;
			case SP_STRUCT:
				decode_sub(L, names, f->sub, blob, len, depth);
				break;
			default:
				bad(L, t, "a boolean given as a data block");
				break;
			}
		}
		lua_rawgeti(L, names, f->slot);
		lua_insert(L, -2);
		lua_settable(L, out);
	}
	*used = n - left;
}

/* The bytes of a string argument at idx, or of a userdata at idx with its size at idx+1. */
const uint8_t *
sp_lua_bytes(lua_State *L, int idx, size_t *n) {
	int t = lua_type(L, idx);
	if (t == LUA_TSTRING)
		return (const uint8_t *)lua_tolstring(L, idx, n);
	if (t != LUA_TUSERDATA && t != LUA_TLIGHTUSERDATA)
		luaL_argerror(L, idx, "Need a string or userdata");
	const uint8_t *p = lua_touserdata(L, idx);
	lua_Integer sz = luaL_checkinteger(L, idx + 1);
	if (sz < 0)
		luaL_argerror(L, idx + 1, "negative size");
	if (p == NULL && sz > 0)
		luaL_argerror(L, idx, "NULL pointer");
	*n = (size_t)sz;
	return p;
}

/* decode(type, string | userdata, size [, table]) -> table, bytes used */
int
sp_lua_decode(lua_State *L) {
	const struct sp_type *t = lua_touserdata(L, 1);
	if (t == NULL)
		return 0;
	size_t n = 0;
	const uint8_t *p = sp_lua_bytes(L, 2, &n);
	if (!lua_istable(L, -1))
		new_message_table(L, t, p, n);
	int out = lua_gettop(L);
	int names = push_names(L, t->owner, SP_DECODE_NAMES);
	size_t used = 0;
	decode_into(L, names, t, p, n, out, 0, &used);
	lua_settop(L, out);
	lua_pushinteger(L, (lua_Integer)used);
	return 2;
}
