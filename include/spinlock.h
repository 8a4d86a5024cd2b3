/*
 * spinlock.h -- struct spinlock, a busy-waiting mutex (or a pthread mutex
 * when USE_PTHREAD_LOCK is defined), and the SPIN_* shorthands for
 * objects that embed one as their `lock` member.
 */
#ifndef SKYNET_SPINLOCK_H
#define SKYNET_SPINLOCK_H

/* Each expands to a complete statement, trailing semicolon included. */
#define SPIN_INIT(q)     spinlock_init(&(q)->lock);
#define SPIN_LOCK(q)     spinlock_lock(&(q)->lock);
#define SPIN_UNLOCK(q)   spinlock_unlock(&(q)->lock);
#define SPIN_DESTROY(q)  spinlock_destroy(&(q)->lock);

#ifndef USE_PTHREAD_LOCK

#include "atomic.h"

/* The lock word: 0 when free, 1 when held. */
struct spinlock {
    ATOM_INT lock;
};

#if defined(__cplusplus)
#define atomic_test_and_set_(p)  ((p)->exchange(1, std::memory_order_acquire))
#define atomic_clear_(p)         ((p)->store(0, std::memory_order_release))
#define atomic_load_relaxed_(p)  ((p)->load(std::memory_order_relaxed))
#elif defined(SKYNET_ATOMIC_BUILTINS_)
#define atomic_test_and_set_(p)  __atomic_exchange_n((p), 1, __ATOMIC_ACQUIRE)
#define atomic_clear_(p)         __atomic_store_n((p), 0, __ATOMIC_RELEASE)
#define atomic_load_relaxed_(p)  __atomic_load_n((p), __ATOMIC_RELAXED)
#else
#define atomic_test_and_set_(p)  atomic_exchange_explicit((p), 1, memory_order_acquire)
#define atomic_clear_(p)         atomic_store_explicit((p), 0, memory_order_release)
#define atomic_load_relaxed_(p)  atomic_load_explicit((p), memory_order_relaxed)
#endif

static inline void
spinlock_init(struct spinlock *lock) {
    ATOM_INIT(&lock->lock, 0);
}

static inline int
spinlock_trylock(struct spinlock *lock) {
    /* Read first so a failed attempt does not take the cache line. */
    if (atomic_load_relaxed_(&lock->lock) != 0)
        return 0;
    return atomic_test_and_set_(&lock->lock) == 0;
}

static inline void
spinlock_lock(struct spinlock *lock) {
    while (atomic_test_and_set_(&lock->lock) != 0) {
        /* Held by someone else: spin on plain reads until it looks free. */
        do {
            atomic_pause_();
        } while (atomic_load_relaxed_(&lock->lock) != 0);
    }
}

static inline void
spinlock_unlock(struct spinlock *lock) {
    atomic_clear_(&lock->lock);
}

static inline void
spinlock_destroy(struct spinlock *lock) {
    (void)lock;
}

#else /* USE_PTHREAD_LOCK: a mutex does it */

#include <pthread.h>

struct spinlock { pthread_mutex_t lock; };

static inline void spinlock_init(struct spinlock *l)    { pthread_mutex_init(&l->lock, NULL); }
static inline int  spinlock_trylock(struct spinlock *l) { return pthread_mutex_trylock(&l->lock) == 0; }
static inline void spinlock_lock(struct spinlock *l)    { pthread_mutex_lock(&l->lock); }
static inline void spinlock_unlock(struct spinlock *l)  { pthread_mutex_unlock(&l->lock); }
static inline void spinlock_destroy(struct spinlock *l) { pthread_mutex_destroy(&l->lock); }

#endif /* USE_PTHREAD_LOCK */

#endif /* SKYNET_SPINLOCK_H */
