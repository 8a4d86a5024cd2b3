/*
 * mem_info.h -- allocation counters, plain and atomic; the atomic form
 * keeps the alloc and free sides on separate cache lines.
 */
#ifndef _MEM_INFO_H_
#define _MEM_INFO_H_

#include <stdalign.h>
#include <stddef.h>

#include "atomic.h"

#define CACHE_LINE_SIZE 64

typedef struct {
    size_t alloc;
    size_t alloc_count;
    size_t free;
    size_t free_count;
} MemInfo;

typedef struct {
    /* updated by allocating threads */
    alignas(CACHE_LINE_SIZE) ATOM_SIZET alloc;
    ATOM_SIZET alloc_count;
    /* updated by freeing threads, possibly different ones */
    alignas(CACHE_LINE_SIZE) ATOM_SIZET free;
    ATOM_SIZET free_count;
} AtomicMemInfo;

#ifdef __cplusplus
extern "C" {
#endif

void meminfo_init(MemInfo *info);
void atomic_meminfo_init(AtomicMemInfo *info);

void meminfo_alloc(MemInfo *info, size_t size);
void atomic_meminfo_alloc(AtomicMemInfo *info, size_t size);

void meminfo_free(MemInfo *info, size_t size);
void atomic_meminfo_free(AtomicMemInfo *info, size_t size);

/* Add the counters of src into dest. */
void meminfo_merge(MemInfo *dest, const MemInfo *src);
void atomic_meminfo_merge(MemInfo *dest, const AtomicMemInfo *src);

#ifdef __cplusplus
}
#endif

#endif /* _MEM_INFO_H_ */
