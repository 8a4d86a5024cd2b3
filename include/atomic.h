/*
 * atomic.h -- the ATOM_* atomic types and operations used by the core,
 * on top of C11 <stdatomic.h> (or <atomic> when compiled as C++).
 */
#ifndef SKYNET_ATOMIC_H
#define SKYNET_ATOMIC_H

#include <stddef.h>
#include <stdint.h>

#if defined(__cplusplus)

/* ---- C++: std::atomic, operations through member functions ---- */
#include <atomic>

#define STD_ std::
#define atomic_value_type_(p, v)  decltype((p)->load())(v)

#define ATOM_INT      std::atomic_int
#define ATOM_POINTER  std::atomic_uintptr_t
#define ATOM_SIZET    std::atomic_size_t
#define ATOM_ULONG    std::atomic_ulong

#define ATOM_INIT(ref, v)   ((ref)->store((v), std::memory_order_relaxed))
#define ATOM_LOAD(ptr)      ((ptr)->load())
#define ATOM_STORE(ptr, v)  ((ptr)->store(v))
#define ATOM_FINC(ptr)      ((ptr)->fetch_add(atomic_value_type_(ptr, 1)))
#define ATOM_FDEC(ptr)      ((ptr)->fetch_sub(atomic_value_type_(ptr, 1)))
#define ATOM_FADD(ptr, n)   ((ptr)->fetch_add(atomic_value_type_(ptr, n)))
#define ATOM_FSUB(ptr, n)   ((ptr)->fetch_sub(atomic_value_type_(ptr, n)))
#define ATOM_FAND(ptr, n)   ((ptr)->fetch_and(atomic_value_type_(ptr, n)))

#elif !defined(__STDC_NO_ATOMICS__)

/* ---- C11 ---- */
#include <stdatomic.h>

#define STD_
#define atomic_value_type_(p, v)  (v)

#define ATOM_INT      atomic_int
#define ATOM_POINTER  atomic_uintptr_t
#define ATOM_SIZET    atomic_size_t
#define ATOM_ULONG    atomic_ulong

#define ATOM_INIT(ref, v)   atomic_init((ref), (v))
#define ATOM_LOAD(ptr)      atomic_load(ptr)
#define ATOM_STORE(ptr, v)  atomic_store((ptr), (v))
#define ATOM_FINC(ptr)      atomic_fetch_add((ptr), 1)
#define ATOM_FDEC(ptr)      atomic_fetch_sub((ptr), 1)
#define ATOM_FADD(ptr, n)   atomic_fetch_add((ptr), (n))
#define ATOM_FSUB(ptr, n)   atomic_fetch_sub((ptr), (n))
#define ATOM_FAND(ptr, n)   atomic_fetch_and((ptr), (n))

#else

/* ---- compilers without C11 atomics: GCC/Clang __atomic builtins ---- */
#define SKYNET_ATOMIC_BUILTINS_ 1

#define STD_
#define atomic_value_type_(p, v)  (v)

#define ATOM_INT      volatile int
#define ATOM_POINTER  volatile uintptr_t
#define ATOM_SIZET    volatile size_t
#define ATOM_ULONG    volatile unsigned long

#define ATOM_INIT(ref, v)   __atomic_store_n((ref), (v), __ATOMIC_RELAXED)
#define ATOM_LOAD(ptr)      __atomic_load_n((ptr), __ATOMIC_SEQ_CST)
#define ATOM_STORE(ptr, v)  __atomic_store_n((ptr), (v), __ATOMIC_SEQ_CST)
#define ATOM_FINC(ptr)      __atomic_fetch_add((ptr), 1, __ATOMIC_SEQ_CST)
#define ATOM_FDEC(ptr)      __atomic_fetch_sub((ptr), 1, __ATOMIC_SEQ_CST)
#define ATOM_FADD(ptr, n)   __atomic_fetch_add((ptr), (n), __ATOMIC_SEQ_CST)
#define ATOM_FSUB(ptr, n)   __atomic_fetch_sub((ptr), (n), __ATOMIC_SEQ_CST)
#define ATOM_FAND(ptr, n)   __atomic_fetch_and((ptr), (n), __ATOMIC_SEQ_CST)

#endif

/*
 * Compare-and-swap: if *ptr equals oval, store nval and return 1;
 * otherwise leave *ptr alone and return 0.  (Strong form: no spurious
 * failures, so callers that loop and callers that do not both work.)
 */
#ifdef SKYNET_ATOMIC_BUILTINS_
#define SKYNET_CAS_BODY_(ptr, oval, nval) \
    return __atomic_compare_exchange_n((ptr), &(oval), (nval), 0, \
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#else
#define SKYNET_CAS_BODY_(ptr, oval, nval) \
    return STD_ atomic_compare_exchange_strong((ptr), &(oval), (nval))
#endif

static inline int
ATOM_CAS(ATOM_INT *ptr, int oval, int nval) {
    SKYNET_CAS_BODY_(ptr, oval, nval);
}

static inline int
ATOM_CAS_SIZET(ATOM_SIZET *ptr, size_t oval, size_t nval) {
    SKYNET_CAS_BODY_(ptr, oval, nval);
}

static inline int
ATOM_CAS_ULONG(ATOM_ULONG *ptr, unsigned long oval, unsigned long nval) {
    SKYNET_CAS_BODY_(ptr, oval, nval);
}

static inline int
ATOM_CAS_POINTER(ATOM_POINTER *ptr, uintptr_t oval, uintptr_t nval) {
    SKYNET_CAS_BODY_(ptr, oval, nval);
}

/* CPU hint for the body of a busy-wait loop. */
#ifndef atomic_pause_
#if defined(__x86_64__) || defined(__i386__)
#define atomic_pause_()  __builtin_ia32_pause()
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
#define atomic_pause_()  __asm__ __volatile__("yield" ::: "memory")
#else
#define atomic_pause_()  ((void)0)
#endif
#endif

#endif /* SKYNET_ATOMIC_H */
