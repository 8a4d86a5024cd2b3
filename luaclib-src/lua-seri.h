/*
 * Lua value (de)serialization shared by skynet.core and friends.
 *
 * sk_seri_pack   : packs every argument of the current call frame and
 *                  leaves (lightuserdata block, integer size) on the stack;
 *                  the block comes from skynet_malloc and belongs to the
 *                  caller. Returns 2.
 * sk_seri_unpack : accepts a string, or a pointer plus a size, and returns
 *                  every value decoded from it.
 * sk_seri_packstring : like sk_seri_pack but returns one Lua string.
 */
#ifndef SKYNET_LUACLIB_SERI_H
#define SKYNET_LUACLIB_SERI_H

#include <lua.h>

/* internal to skynet.so: not exported to the process */
#define SK_SERI_API __attribute__((visibility("hidden")))

SK_SERI_API int sk_seri_pack(lua_State *L);
SK_SERI_API int sk_seri_unpack(lua_State *L);
SK_SERI_API int sk_seri_packstring(lua_State *L);

#endif
