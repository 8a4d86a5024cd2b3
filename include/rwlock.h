/*
 * rwlock.h -- struct rwlock, a spinning reader/writer lock (or a pthread
 * rwlock when USE_PTHREAD_LOCK is defined).
 */
#ifndef SKYNET_RWLOCK_H
#define SKYNET_RWLOCK_H

#ifndef USE_PTHREAD_LOCK

#include "atomic.h"

/*
 * `write` is 1 while a writer owns the lock or is waiting for readers to
 * leave; `read` counts the readers inside (or about to enter).  A writer
 * claims `write` first, which stops new readers, then waits for `read`
 * to fall to zero.  All accesses are sequentially consistent.
 */
struct rwlock {
    ATOM_INT write;
    ATOM_INT read;
};

static inline void
rwlock_init(struct rwlock *lock) {
    ATOM_INIT(&lock->write, 0);
    ATOM_INIT(&lock->read, 0);
}

static inline void
rwlock_rlock(struct rwlock *lock) {
    for (;;) {
        while (ATOM_LOAD(&lock->write) != 0)
            atomic_pause_();
        ATOM_FINC(&lock->read);
        if (ATOM_LOAD(&lock->write) == 0)
            return;
        /* A writer got in between: withdraw and wait again. */
        ATOM_FDEC(&lock->read);
    }
}

static inline void
rwlock_runlock(struct rwlock *lock) {
    ATOM_FDEC(&lock->read);
}

static inline void
rwlock_wlock(struct rwlock *lock) {
    while (!ATOM_CAS(&lock->write, 0, 1))
        atomic_pause_();
    while (ATOM_LOAD(&lock->read) != 0)
        atomic_pause_();
}

static inline void
rwlock_wunlock(struct rwlock *lock) {
    ATOM_STORE(&lock->write, 0);
}

#else /* USE_PTHREAD_LOCK */

#include <pthread.h>

struct rwlock {
    pthread_rwlock_t lock;
};

static inline void
rwlock_init(struct rwlock *lock) {
    pthread_rwlock_init(&lock->lock, NULL);
}

static inline void
rwlock_rlock(struct rwlock *lock) {
    pthread_rwlock_rdlock(&lock->lock);
}

static inline void
rwlock_runlock(struct rwlock *lock) {
    pthread_rwlock_unlock(&lock->lock);
}

static inline void
rwlock_wlock(struct rwlock *lock) {
    pthread_rwlock_wrlock(&lock->lock);
}

static inline void
rwlock_wunlock(struct rwlock *lock) {
    pthread_rwlock_unlock(&lock->lock);
}

#endif /* USE_PTHREAD_LOCK */

#endif /* SKYNET_RWLOCK_H */
