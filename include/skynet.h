/*
 * skynet.h -- the service-facing API of the skynet core: protocol type
 * ids, message sending and naming, the service callback, runtime queries.
 */
#ifndef SKYNET_H
#define SKYNET_H

#include "skynet_malloc.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Protocol ids, carried as the `type` of every message.  0-7 are the core's;
 * 8-11 are claimed by the Lua side of the framework (mqueue, debug, lua, snax).
 */
enum {
    PTYPE_TEXT = 0,     PTYPE_RESPONSE = 1,       PTYPE_MULTICAST = 2,   PTYPE_CLIENT = 3,
    PTYPE_SYSTEM = 4,   PTYPE_HARBOR = 5,         PTYPE_SOCKET = 6,      PTYPE_ERROR = 7,
    PTYPE_RESERVED_QUEUE = 8, PTYPE_RESERVED_DEBUG = 9, PTYPE_RESERVED_LUA = 10,
    PTYPE_RESERVED_SNAX = 11,
};

/*
 * Flags or'ed into the type given to skynet_send and skynet_sendname:
 * DONTCOPY hands msg over instead of copying it, ALLOCSESSION lets the core
 * pick a fresh session (returned by the call).
 */
#define PTYPE_TAG_DONTCOPY      0x10000
#define PTYPE_TAG_ALLOCSESSION  0x20000

#ifdef __cplusplus
extern "C" {
#endif

struct skynet_context;

/* Message handler of a service; a nonzero return keeps msg alive. */
typedef int (*skynet_cb)(struct skynet_context *, void *ud, int type, int session,
                         uint32_t source, const void *msg, size_t sz);
void skynet_callback(struct skynet_context *, void *ud, skynet_cb cb);

/* Sending: to a handle, or to a name (":hex" or ".local" or a global one). */
int skynet_send(struct skynet_context *, uint32_t source, uint32_t destination,
                int type, int session, void *msg, size_t sz);
int skynet_sendname(struct skynet_context *, uint32_t source, const char *destination,
                    int type, int session, void *msg, size_t sz);

/* Text commands of the core (LAUNCH, REG, TIMEOUT, ...) and name lookup. */
const char *skynet_command(struct skynet_context *, const char *cmd, const char *parm);
uint32_t skynet_queryname(struct skynet_context *, const char *name);
int skynet_isremote(struct skynet_context *, uint32_t handle, int *harbor);

/* The log (printf style), the clock (centiseconds since start), the running service. */
void skynet_error(struct skynet_context *, const char *msg, ...);
uint64_t skynet_now(void);
uint32_t skynet_current_handle(void);

/* Debug aid: print the calling service's memory usage on stderr. */
void skynet_debug_memory(const char *info);

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_H */
