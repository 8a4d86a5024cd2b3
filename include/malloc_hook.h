/*
 * malloc_hook.h -- memory accounting and allocator (jemalloc) controls.
 */
#ifndef SKYNET_MALLOC_HOOK_H
#define SKYNET_MALLOC_HOOK_H

#include <stdlib.h>
#include <stdbool.h>
#include <lua.h>

#include "mem_info.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the node has allocated: bytes, blocks, and the calling service's bytes. */
size_t malloc_used_memory(void);
size_t malloc_memory_block(void);
size_t malloc_current_memory(void);

/* Printouts: the allocator's statistics (opts as jemalloc's), every service's C memory. */
void memory_info_dump(const char *opts);
void dump_c_mem(void);
/* Lua: returns a table handle -> bytes of C memory. */
int  dump_mem_lua(lua_State *L);

/* jemalloc's mallctl for one value of each kind; newval NULL only reads. */
size_t mallctl_int64(const char *name, size_t *newval);
int    mallctl_opt(const char *name, int *newval);
bool   mallctl_bool(const char *name, bool *newval);
int    mallctl_cmd(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_MALLOC_HOOK_H */
