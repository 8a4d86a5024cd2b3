/*
 * skynet_harbor.h -- forwarding of messages addressed to other nodes
 * (by remote handle or by global name) to the harbor service.
 */
#ifndef SKYNET_HARBOR_H
#define SKYNET_HARBOR_H

#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

struct remote_message;

/* Passes rmsg (a heap block the harbor service takes over) to the harbor service. */
void skynet_harbor_send(struct remote_message *rmsg, uint32_t source, int session);
/* Whether handle lives on another node (its harbor byte is not ours). */
int  skynet_harbor_message_isremote(uint32_t handle);
void skynet_harbor_init(int harbor);
void skynet_harbor_start(void *ctx);
void skynet_harbor_exit(void);

#ifdef __cplusplus
}
#endif

/* A destination on another node: a global name (when handle is 0) or a handle. */
#define GLOBALNAME_LENGTH  16
struct remote_name {
    char     name[GLOBALNAME_LENGTH];
    uint32_t handle;
};

/* How many harbors (nodes) there can be. */
#define REMOTE_MAX         256
struct remote_message {
    struct remote_name  destination;
    const void         *message;
    size_t              sz;
    int                 type;
};

#endif /* SKYNET_HARBOR_H */
