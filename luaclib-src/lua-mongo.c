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
 *   op_msg(id, flags, doc [, identifier, docs])
 *                             -> the complete request message; with an
 *                                identifier, docs (a list) follow the body
 *                                as one kind-1 section
 *
 * Message layout (little endian): int32 length, int32 request id,
 * int32 response to, int32 opcode (2013 = OP_MSG), uint32 flags, then
 * sections: a kind-0 section (the BSON body) and, on requests, at most one
 * kind-1 section (int32 size, identifier cstring, documents).  Replies are
 * read with a single kind-0 section.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdint.h>
#include <string.h>
#include <limits.h>

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

/*
 * The bytes of a BSON document at idx: a bson userdata, a light pointer
 * (trusted: its length prefix is all there is) or a string of BSON.  Sets
 * *len from the document's own length prefix, checked against the buffer
 * when the buffer's size is known.  NULL when idx holds none of these.
 */
static const uint8_t *
document_at(lua_State *L, int idx, uint32_t *len) {
	size_t cap = 0;
	const uint8_t *p = NULL;
	switch (lua_type(L, idx)) {
	case LUA_TUSERDATA:
		p = (const uint8_t *)lua_touserdata(L, idx);
		cap = lua_rawlen(L, idx);
		break;
	case LUA_TLIGHTUSERDATA:
		p = (const uint8_t *)lua_touserdata(L, idx);
		if (p == NULL)
			return NULL;
		*len = le32(p);
		return p;
	case LUA_TSTRING:
		p = (const uint8_t *)lua_tolstring(L, idx, &cap);
		break;
	default:
		return NULL;
	}
	if (cap < 5 || (size_t)le32(p) > cap || le32(p) < 5)
		luaL_error(L, "opmsg: a document's length does not fit its buffer");
	*len = le32(p);
	return p;
}

/*
 * op_msg(id, flags, body [, identifier, documents]): with an identifier, the
 * list of documents goes in one kind-1 section (a document sequence) after
 * the body, as the server's field `identifier`.
 */
static int
lop_msg(lua_State *L) {
	int32_t id = (int32_t)luaL_checkinteger(L, 1);
	int32_t flags = (int32_t)luaL_checkinteger(L, 2);
	uint32_t bodylen = 0;
	const uint8_t *body = document_at(L, 3, &bodylen);
	if (body == NULL)
		return luaL_error(L, "opmsg require cmd document");
	size_t idlen = 0;
	const char *ident = luaL_optlstring(L, 4, NULL, &idlen);
	lua_Integer ndocs = 0;
	uint64_t seqlen = 0;
	if (ident) {
		luaL_checktype(L, 5, LUA_TTABLE);
		ndocs = luaL_len(L, 5);
		seqlen = 4 + idlen + 1;
		for (lua_Integer i = 1; i <= ndocs; i++) {
			uint32_t n = 0;
			lua_rawgeti(L, 5, i);
			if (document_at(L, -1, &n) == NULL)
				return luaL_error(L, "opmsg: document %d of the sequence is not bson", (int)i);
			lua_pop(L, 1);
			seqlen += n;
		}
	}
	uint64_t total = 16 + 4 + 1 + (uint64_t)bodylen + (ident ? 1 + seqlen : 0);
	if (total > MAX_MESSAGE)
		return luaL_error(L, "opmsg: message of %d bytes is over the %d byte limit",
			(int)(total > INT32_MAX ? INT32_MAX : total), MAX_MESSAGE);
	luaL_Buffer b;
	luaL_buffinitsize(L, &b, (size_t)total);
	put_le32(&b, (uint32_t)total);      /* whole message */
	put_le32(&b, (uint32_t)id);
	put_le32(&b, 0);                    /* response to */
	put_le32(&b, OPCODE_MSG);
	put_le32(&b, (uint32_t)flags);
	luaL_addchar(&b, 0);                /* section kind 0: the body */
	luaL_addlstring(&b, (const char *)body, bodylen);
	if (ident) {
		luaL_addchar(&b, 1);            /* section kind 1: a document sequence */
		put_le32(&b, (uint32_t)seqlen);
		luaL_addlstring(&b, ident, idlen);
		luaL_addchar(&b, 0);
		for (lua_Integer i = 1; i <= ndocs; i++) {
			uint32_t n = 0;
			lua_rawgeti(L, 5, i);
			const uint8_t *d = document_at(L, -1, &n);
			lua_pop(L, 1);              /* the table keeps it alive */
			luaL_addlstring(&b, (const char *)d, n);
		}
	}
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
