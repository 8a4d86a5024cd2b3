/*
 * skynet.h -- the service-facing API of the skynet core: protocol type
 * ids, message sending and naming, the service callback, runtime queries.
 */
#ifndef SKYNET_H
#define SKYNET_H

#include "skynet_malloc.h"

#include <stddef.h>
#include <stdint.h>

/* Protocol ids, carried as the `type` of every message. */
#define PTYPE_TEXT              0
#define PTYPE_RESPONSE          1
#define PTYPE_MULTICAST         2
#define PTYPE_CLIENT            3
#define PTYPE_SYSTEM            4
#define PTYPE_HARBOR            5
#define PTYPE_SOCKET            6
#define PTYPE_ERROR             7
/* Ids claimed by the Lua side of the framework. */
#define PTYPE_RESERVED_QUEUE    8
#define PTYPE_RESERVED_DEBUG    9
#define PTYPE_RESERVED_LUA      10
#define PTYPE_RESERVED_SNAX     11

/* Flags that may be or'ed into the type passed to skynet_send*. */
#define PTYPE_TAG_DONTCOPY      0x10000   /* hand over msg instead of copying it */
#define PTYPE_TAG_ALLOCSESSION  0x20000   /* let the core pick a fresh session */

#ifdef __cplusplus
extern "C" {
#endif

struct skynet_context;

/* Message handler of a service; a nonzero return keeps msg alive. */
typedef int (*skynet_cb)(struct skynet_context *context, void *ud,
                         int type, int session, uint32_t source,
                         const void *msg, size_t sz);

void         skynet_error(struct skynet_context *context, const char *msg, ...);
const char  *skynet_command(struct skynet_context *context, const char *cmd, const char *parm);
uint32_t     skynet_queryname(struct skynet_context *context, const char *name);

int skynet_send(struct skynet_context *context, uint32_t source, uint32_t destination,
                int type, int session, void *msg, size_t sz);
int skynet_sendname(struct skynet_context *context, uint32_t source, const char *destination,
                    int type, int session, void *msg, size_t sz);

int  skynet_isremote(struct skynet_context *, uint32_t handle, int *harbor);

void skynet_callback(struct skynet_context *context, void *ud, skynet_cb cb);

uint32_t skynet_current_handle(void);
uint64_t skynet_now(void);

/* Debug aid: print the calling service's memory usage on stderr. */
void skynet_debug_memory(const char *info);

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_H */
