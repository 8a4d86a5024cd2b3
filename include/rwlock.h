/*
 * rwlock.h -- struct rwlock, a spinning reader/writer lock (or a pthread
 * rwlock when USE_PTHREAD_LOCK is defined).
 */
#ifndef SKYNET_RWLOCK_H
#define SKYNET_RWLOCK_H

#ifdef USE_PTHREAD_LOCK

#include <pthread.h>

struct rwlock { pthread_rwlock_t lock; };

static inline void rwlock_init(struct rwlock *l)    { pthread_rwlock_init(&l->lock, NULL); }
static inline void rwlock_rlock(struct rwlock *l)   { pthread_rwlock_rdlock(&l->lock); }
static inline void rwlock_wlock(struct rwlock *l)   { pthread_rwlock_wrlock(&l->lock); }
static inline void rwlock_runlock(struct rwlock *l) { pthread_rwlock_unlock(&l->lock); }
static inline void rwlock_wunlock(struct rwlock *l) { pthread_rwlock_unlock(&l->lock); }

#else /* spinning */

#include "atomic.h"

/*
 * `write` is 1 while a writer owns the lock or waits for the readers to
 * leave; `read` counts the readers inside (or about to enter).  A writer
 * claims `write` first, which stops new readers, then waits for `read`
 * to fall to zero.  All accesses are sequentially consistent.
 */
struct rwlock {
    ATOM_INT write;
    ATOM_INT read;
};

static inline void rwlock_init(struct rwlock *l) { ATOM_INIT(&l->write, 0); ATOM_INIT(&l->read, 0); }

/* Spins while a writer holds or wants the lock. */
static inline void
rwlock_wait_writer_(struct rwlock *l) {
    while (ATOM_LOAD(&l->write) != 0)
        atomic_pause_();
}

static inline void
rwlock_rlock(struct rwlock *l) {
    /* Count ourselves in, then look again: a writer that came first wins,
     * and we step back until it is done. */
    rwlock_wait_writer_(l);
    ATOM_FINC(&l->read);
    while (ATOM_LOAD(&l->write) != 0) {
        ATOM_FDEC(&l->read);
        rwlock_wait_writer_(l);
        ATOM_FINC(&l->read);
    }
}

static inline void
rwlock_wlock(struct rwlock *l) {
    while (!ATOM_CAS(&l->write, 0, 1))
        atomic_pause_();
    while (ATOM_LOAD(&l->read) != 0)
        atomic_pause_();
}

static inline void rwlock_runlock(struct rwlock *l) { ATOM_FDEC(&l->read); }
static inline void rwlock_wunlock(struct rwlock *l) { ATOM_STORE(&l->write, 0); }

#endif /* USE_PTHREAD_LOCK */

#endif /* SKYNET_RWLOCK_H */
