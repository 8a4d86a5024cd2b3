/*
 * skynet_mq.h -- per-service message queues and the global queue of
 * queues that worker threads pull from.
 */
#ifndef SKYNET_MESSAGE_QUEUE_H
#define SKYNET_MESSAGE_QUEUE_H

#include <stdlib.h>
#include <stdint.h>

struct skynet_message {
    uint32_t source;
    int      session;
    void    *data;
    size_t   sz;        /* payload size; the top byte holds the type */
};

/* Split of skynet_message.sz into size (low bits) and type (top byte). */
#define MESSAGE_TYPE_MASK   (SIZE_MAX >> 8)
#define MESSAGE_TYPE_SHIFT  ((sizeof(size_t) - 1) * 8)

#ifdef __cplusplus
extern "C" {
#endif

struct message_queue;

typedef void (*message_drop)(struct skynet_message *, void *);

void                  skynet_globalmq_push(struct message_queue *queue);
struct message_queue *skynet_globalmq_pop(void);

struct message_queue *skynet_mq_create(uint32_t handle);
void                  skynet_mq_mark_release(struct message_queue *q);
void                  skynet_mq_release(struct message_queue *q, message_drop drop_func, void *ud);
uint32_t              skynet_mq_handle(struct message_queue *);

/* Returns 0 when a message was taken, nonzero when q was empty. */
int  skynet_mq_pop(struct message_queue *q, struct skynet_message *message);
void skynet_mq_push(struct message_queue *q, struct skynet_message *message);

/* Diagnostics: current length, and the overload figure (reset on read). */
int  skynet_mq_length(struct message_queue *q);
int  skynet_mq_overload(struct message_queue *q);

void skynet_mq_init(void);

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_MESSAGE_QUEUE_H */
