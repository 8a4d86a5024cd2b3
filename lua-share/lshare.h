/*
** Code shared between Lua states: a function compiled once, in a state of its own, and run
** by any number of other states without a copy of its prototypes. Built into our Lua (see
** build.rs); the skynet core finds these functions in the process at run time and does
** without them when the process's Lua lacks them.
*/
#ifndef lshare_h
#define lshare_h

#include <stddef.h>

#include "lua.h"

/* Makes the state that owns shared code, with the hash seed every sharing state must use.
** Call it before making those states (their fixed strings then come from it). Idempotent;
** 0 on failure. */
LUA_API int lshare_init (unsigned seed);

/* Compiles a chunk into the shared state, as luaL_loadbufferx would. Returns the function's
** handle, or NULL with a message in 'err'. Handles stay valid for the life of the process. */
LUA_API const void *lshare_compile (const char *buf, size_t len, const char *chunkname,
                                    const char *mode, char *err, size_t errsz);

/* Pushes a new closure of shared function 'fn' onto L, its first upvalue set to L's globals
** as lua_load sets it. Returns 0, pushing nothing, when L cannot share it (L has its own copy
** of one of its string constants, or another hash seed): load a private copy then. */
LUA_API int lshare_push (lua_State *L, const void *fn);

#if defined(LUA_CORE)
/* Called by the string interning of every state: the shared string with these contents and
** hash, or NULL. */
LUAI_FUNC struct TString *lshare_findstring (lua_State *L, const char *str, size_t l,
                                             unsigned h);
#endif

#endif
