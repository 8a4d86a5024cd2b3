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
#include "lauxlib.h"

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

/* Boxes: a table tree copied once into a state of its own, frozen, and read in place by any
** number of states (their strings are the shared state's, so lookups by short-string
** address agree). Box tables are read-only: any write to one raises an error. */
typedef struct lshare_Box lshare_Box;

/* Copies the table at 'idx' of L (and every table it reaches; cycles and shared sub-tables
** kept) into a new box. Only nil, booleans, numbers, strings and tables without metatables
** can be copied. Returns the box, or NULL with a message in 'err'. Raises no error in L. */
LUA_API lshare_Box *lshare_box_new (lua_State *L, int idx, char *err, size_t errsz);

/* Pushes the box's root table onto L, 1; or 0, pushing nothing, when L cannot read it in
** place (L has its own copy of one of its short strings, or another hash seed, or 'box' is
** not a live box). */
LUA_API int lshare_box_push (lua_State *L, lshare_Box *box);

/* Pushes a private, writable deep copy of the box's root onto L, 1; 0 when 'box' is not a
** live box. Raises memory errors in L. */
LUA_API int lshare_box_pushcopy (lua_State *L, lshare_Box *box);

/* Frees a box. No state may read its tables afterwards. Returns 0 when 'box' is not live. */
LUA_API int lshare_box_free (lshare_Box *box);

/* Live boxes in the process, and the bytes 'box' holds (0 when not live). */
LUA_API int lshare_box_count (void);
LUA_API size_t lshare_box_size (lshare_Box *box);

/* Is the value at 'idx' of L a box table? */
LUA_API int lshare_isboxed (lua_State *L, int idx);

/* Replaces, in every object of L (tables' values, keys and metatables, closures' upvalues,
** userdata's metatables and user values, every thread's stack, the basic types'
** metatables), each reference to a table that is a key of the table at 'map' by that key's
** value (a table). The tables that are keys of the table at 'skip', and the keys of 'map',
** are left as they are, and so are box tables. Returns how many references it replaced.
** Raises memory errors in L. */
LUA_API int lshare_replace (lua_State *L, int map, int skip);

/* Lent tables: the shared state's copies of some standard libraries ("string", "table",
** "math", "os", "io", "debug", "utf8", "coroutine") are templates. A state opening one of
** them gets a table of its own whose hash part is the template's, read in place: it costs a
** table header, not a copy of every entry. It is an ordinary table to Lua; its first write
** gives it a copy of its own (so game code may still add to `string`). */

/* Before lshare_init: the template of standard library 'lib' gets 'f' (a light function) as
** its field 'name', so every state that borrows the library has it (the snlua host gives
** coroutine its profiling resume and wrap). Only the host's states, made with the seed
** lshare_init takes, borrow. 'lib' and 'name' are kept, not copied (pass literals). 0 once
** lshare_init has run, or when 'lib' is not lent. */
LUA_API int lshare_preset (const char *lib, const char *name, lua_CFunction f);

/* Called by the library openers: pushes a table lent the template of library 'name', 1;
** or 0, pushing nothing, when L cannot read it in place (no template, L is the shared
** state, another hash seed, or L has its own copy of one of its strings). */
LUA_API int lshare_lend (lua_State *L, const char *name);

/* luaL_newlib for C modules whose functions have no upvalues: pushes a table with the
** functions of 'l'. When L can read it in place, the table is lent from a template the
** shared state makes once for 'l' (the same array, with the same contents). */
LUA_API void lshare_newlib (lua_State *L, const luaL_Reg *l);

#if defined(LUA_CORE)
/* Called by the string interning of every state: the shared string with these contents and
** hash, or NULL. */
LUAI_FUNC struct TString *lshare_findstring (lua_State *L, const char *str, size_t l,
                                             unsigned h);
#endif

#endif
