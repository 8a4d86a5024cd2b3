/* The Lua side of sproto messages (spcodec.c). */
#ifndef SP_CODEC_H
#define SP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "lua.h"

#define SP_MAX_MESSAGE 0x1000000        /* 16 MiB: the largest message encoded or unpacked */
#define SP_KEEP_BUFFER 0x10000          /* scratch buffers up to this size are kept */

/* Closures: encode's upvalues are its scratch buffer then the names cache (3 values, made
 * nil); decode's are the names cache. */
#define SP_ENCODE_NAMES 2
#define SP_DECODE_NAMES 1
#define SP_NAMES_CACHE 3
int sp_lua_encode(lua_State *L);
int sp_lua_decode(lua_State *L);
const uint8_t *sp_lua_bytes(lua_State *L, int idx, size_t *n);
struct sp_schema;
/* Drops this state's cached field names of a schema about to be freed. */
void sp_lua_forget(lua_State *L, const struct sp_schema *s);

#endif
