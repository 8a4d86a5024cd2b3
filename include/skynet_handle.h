/*
 * skynet_handle.h -- the handle registry mapping 32-bit service handles
 * (harbor id in the top byte) and registered names to contexts.
 */
#ifndef SKYNET_CONTEXT_HANDLE_H
#define SKYNET_CONTEXT_HANDLE_H

#include <stdint.h>

/* Low 24 bits: local id; high 8 bits: harbor (node) id. */
#define HANDLE_MASK          0xffffff
#define HANDLE_REMOTE_SHIFT  24

#ifdef __cplusplus
extern "C" {
#endif

struct skynet_context;

uint32_t               skynet_handle_register(struct skynet_context *);
int                    skynet_handle_retire(uint32_t handle);
struct skynet_context *skynet_handle_grab(uint32_t handle);
void                   skynet_handle_retireall(void);

uint32_t    skynet_handle_findname(const char *name);
const char *skynet_handle_namehandle(uint32_t handle, const char *name);

void skynet_handle_init(int harbor, int thread);
void skynet_handle_register_thread(void);

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_CONTEXT_HANDLE_H */
