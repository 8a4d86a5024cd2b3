/*
 * mem_info.h -- allocation counters, plain and atomic; the atomic form
 * keeps the alloc and free sides on separate cache lines.
 */
#ifndef _MEM_INFO_H_
#define _MEM_INFO_H_

#include <stddef.h>
#include <stdalign.h>

#include "atomic.h"

#define CACHE_LINE_SIZE 64

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes and blocks allocated and freed, for one thread. */
typedef struct {
    size_t alloc, alloc_count;
    size_t free, free_count;
} MemInfo;

void meminfo_init(MemInfo *);
void meminfo_alloc(MemInfo *, size_t size);
void meminfo_free(MemInfo *, size_t size);
/* Adds the counters of src into dest. */
void meminfo_merge(MemInfo *dest, const MemInfo *src);

/*
 * The same counters shared by threads.  Blocks are often freed by another
 * thread than the one that allocated them, so each side has its own cache line.
 */
typedef struct {
    alignas(CACHE_LINE_SIZE) ATOM_SIZET alloc;
    ATOM_SIZET alloc_count;
    alignas(CACHE_LINE_SIZE) ATOM_SIZET free;
    ATOM_SIZET free_count;
} AtomicMemInfo;

void atomic_meminfo_init(AtomicMemInfo *);
void atomic_meminfo_alloc(AtomicMemInfo *, size_t size);
void atomic_meminfo_free(AtomicMemInfo *, size_t size);
void atomic_meminfo_merge(MemInfo *dest, const AtomicMemInfo *src);

#ifdef __cplusplus
}
#endif

#endif /* _MEM_INFO_H_ */
