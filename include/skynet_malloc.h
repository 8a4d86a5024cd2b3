/*
 * skynet_malloc.h -- allocation entry points shared by the core and modules.
 * The skynet_* names are aliases of the C library allocator; skynet_lalloc
 * is the lua_Alloc-compatible allocator handed to Lua states.
 */
#ifndef skynet_malloc_h
#define skynet_malloc_h

#include <stddef.h>

#ifdef __cplusplus
/*
 * C++ rejects redeclaring the libc allocator without its exception
 * specification: there the system declarations stand for ours.
 */
#include <stdlib.h>
#if defined(__has_include)
#if __has_include(<malloc.h>)
#include <malloc.h>     /* memalign */
#endif
#endif
extern "C" {
#endif

/* Each skynet_ name is an alias of the libc function: first the plain ones, */
#define skynet_malloc   malloc
#define skynet_calloc   calloc
#define skynet_realloc  realloc
#define skynet_free     free
#ifndef __cplusplus
void *skynet_malloc(size_t sz);
void *skynet_calloc(size_t nmemb, size_t size);
void *skynet_realloc(void *ptr, size_t size);
void  skynet_free(void *ptr);
#endif

/* then those that return aligned blocks. */
#define skynet_memalign        memalign
#define skynet_aligned_alloc   aligned_alloc
#define skynet_posix_memalign  posix_memalign
#ifndef __cplusplus
void *skynet_memalign(size_t alignment, size_t size);
void *skynet_aligned_alloc(size_t alignment, size_t size);
int   skynet_posix_memalign(void **memptr, size_t alignment, size_t size);
#endif

/* lua_Alloc shaped: nsize == 0 frees ptr, otherwise (re)allocates it. */
void *skynet_lalloc(void *ptr, size_t osize, size_t nsize);

#ifdef __cplusplus
}
#endif

#endif /* skynet_malloc_h */
