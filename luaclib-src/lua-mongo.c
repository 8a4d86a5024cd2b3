/*
 * skynet.mongo.driver : MongoDB wire protocol framing (OP_MSG only) for
 * lualib/skynet/db/mongo.lua.  BSON documents themselves come from the
 * bson module, as raw pointers.
 *
 *   length(first4)            -> bytes still to read after the 4-byte length
 *                                (raises when the length is below a header's
 *                                size or above the server's 48 MB message cap)
 *   reply(rest)               -> true, response_to, document pointer
 *                                (false when too short)
 *   op_msg(id, flags, doc)    -> the complete request message
 *
 * Message layout (little endian): int32 length, int32 request id,
 * int32 response to, int32 opcode (2013 = OP_MSG), uint32 flags, then
 * sections; only a single kind-0 section (one BSON body) is used.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdint.h>
#include <string.h>

#define OPCODE_MSG 2013
#define FLAG_CHECKSUM (1u << 0)
#define FLAG_MORE_TO_COME (1u << 1)

/* after the length field: request id, response to, opcode, flags */
#define REPLY_HEADER 16
/* a whole message: header, flags, one kind byte and the smallest document */
#define MIN_MESSAGE (4 + REPLY_HEADER + 1 + 5)
/* maxMessageSizeBytes of every MongoDB server since 2.6 */
#define MAX_MESSAGE 48000000

static uint32_t
le32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put_le32(luaL_Buffer *b, uint32_t v) {
	char x[4];
	x[0] = (char)(uint8_t)v;
	x[1] = (char)(uint8_t)(v >> 8);
	x[2] = (char)(uint8_t)(v >> 16);
	x[3] = (char)(uint8_t)(v >> 24);
	luaL_addlstring(b, x, 4);
}

static int
lreply(lua_State *L) {
	size_t n = 0;
	const uint8_t *m = (const uint8_t *)luaL_checklstring(L, 1, &n);
	if (n < REPLY_HEADER) {
		lua_pushboolean(L, 0);
		return 1;
	}
	int32_t response_to = (int32_t)le32(m + 4);
	int32_t opcode = (int32_t)le32(m + 8);
	uint32_t flags = le32(m + 12);
	if (opcode != OPCODE_MSG)
		return luaL_error(L, "Unsupported opcode:%d", (int)opcode);
	if (flags != 0) {
		if (flags & FLAG_CHECKSUM)
			return luaL_error(L, "Unsupported OP_MSG flag checksumPresent");
		if (flags != FLAG_MORE_TO_COME)
			return luaL_error(L, "Unsupported OP_MSG flag:%d", (int)flags);
	}
	size_t body = n - REPLY_HEADER;
	const uint8_t *section = m + REPLY_HEADER;
	if (body < 1 + 4)
		return luaL_error(L, "Unsupported OP_MSG reply: truncated section");
	if (section[0] != 0)
		return luaL_error(L, "Unsupported OP_MSG payload type: %d", (int)section[0]);
	uint32_t doclen = le32(section + 1);
	if (doclen < 5 || (size_t)doclen > body - 1)
		return luaL_error(L, "Invalid OP_MSG reply: document length %d", (int)doclen);
	if ((size_t)doclen != body - 1)
		return luaL_error(L, "Unsupported OP_MSG reply: >1 section");
	lua_pushboolean(L, 1);
	lua_pushinteger(L, response_to);
	lua_pushlightuserdata(L, (void *)(section + 1));
	return 3;
}

static int
llength(lua_State *L) {
	size_t n = 0;
	const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
	if (n < 4)
		return luaL_error(L, "Invalid length field (%d bytes)", (int)n);
	int64_t total = (int32_t)le32(s);
	if (total < MIN_MESSAGE || total > MAX_MESSAGE)
		return luaL_error(L, "Invalid message length %d", (int)total);
	lua_pushinteger(L, (lua_Integer)(total - 4));
	return 1;
}

static int
lop_msg(lua_State *L) {
	int32_t id = (int32_t)luaL_checkinteger(L, 1);
	int32_t flags = (int32_t)luaL_checkinteger(L, 2);
	const uint8_t *doc = (const uint8_t *)lua_touserdata(L, 3);
	if (doc == NULL)
		return luaL_error(L, "opmsg require cmd document");
	uint32_t doclen = le32(doc);
	if (lua_type(L, 3) == LUA_TUSERDATA && (size_t)doclen > lua_rawlen(L, 3))
		return luaL_error(L, "opmsg: document length %d past its buffer", (int)doclen);
	luaL_Buffer b;
	luaL_buffinitsize(L, &b, 21 + (size_t)doclen);
	put_le32(&b, 21 + doclen);          /* whole message */
	put_le32(&b, (uint32_t)id);
	put_le32(&b, 0);                    /* response to */
	put_le32(&b, OPCODE_MSG);
	put_le32(&b, (uint32_t)flags);
	luaL_addchar(&b, 0);                /* section kind: body */
	luaL_addlstring(&b, (const char *)doc, doclen);
	luaL_pushresult(&b);
	return 1;
}

LUAMOD_API int
luaopen_skynet_mongo_driver(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		{ "reply", lreply },
		{ "length", llength },
		{ "op_msg", lop_msg },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}

/*
 * skynet.sharetable.core needs a Lua built with shared-table support
 * (a patched VM); with a stock Lua it is unavailable, as in the reference
 * build without that patch.
 */
LUAMOD_API int
luaopen_skynet_sharetable_core(lua_State *L) {
	return luaL_error(L, "No share string table support");
}
