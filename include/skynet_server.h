/*
 * skynet_server.h -- service contexts: creation, reference counting,
 * delivery into a context and the worker-side dispatch step.
 */
#ifndef SKYNET_SERVER_H
#define SKYNET_SERVER_H

#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

struct skynet_context;
struct skynet_message;
struct skynet_monitor;
struct message_queue;

/* Process-wide setup and teardown, and the role of the calling thread (THREAD_*). */
void skynet_globalinit(void);
void skynet_initthread(int m);
void skynet_globalexit(void);
void skynet_profile_enable(int enable);

/* A new service of module `name`, its handle (0 when it failed to start). */
uint32_t skynet_context_new(const char *name, const char *parm);
int      skynet_context_total(void);

/* Reference counting: grab takes one, release drops one; reserve takes one
 * that does not count toward keeping the node alive. */
void skynet_context_grab(struct skynet_context *);
void skynet_context_reserve(struct skynet_context *);
void skynet_context_release(struct skynet_context *);

uint32_t skynet_context_handle(struct skynet_context *);
int      skynet_context_newsession(struct skynet_context *);

/* Delivery into a service's queue: by handle (-1 when it is gone), or into a context. */
int  skynet_context_push(uint32_t handle, struct skynet_message *message);
void skynet_context_send(struct skynet_context *, void *msg, size_t sz,
                         uint32_t source, int type, int session);

/* Workers: run a weight-dependent batch of q and return the queue to run next. */
struct message_queue *skynet_context_message_dispatch(struct skynet_monitor *,
                                                      struct message_queue *q, int weight);
/* Drain a context's queue synchronously (used on shutdown). */
void skynet_context_dispatchall(struct skynet_context *);
/* Flag a service as stuck in a loop; called by the monitor thread. */
void skynet_context_endless(uint32_t handle);

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_SERVER_H */
