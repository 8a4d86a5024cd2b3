/*
 * skynet_imp.h -- startup configuration, thread role ids and small
 * string helpers used inside the core.
 */
#ifndef SKYNET_IMP_H
#define SKYNET_IMP_H

#include <string.h>

#include "skynet_malloc.h"

/* The node's configuration, as read from the config file at startup. */
struct skynet_config {
    int         thread, harbor, profile;
    const char *daemon, *module_path, *bootstrap, *logger, *logservice;
};

/* Role of a thread, as passed to skynet_initthread. */
enum {
    THREAD_WORKER = 0, THREAD_MAIN = 1, THREAD_SOCKET = 2, THREAD_TIMER = 3, THREAD_MONITOR = 4,
};

#ifdef __cplusplus
extern "C" {
#endif

void skynet_start(struct skynet_config *config);

/* Copy the first `size` bytes of str into a fresh NUL-terminated block. */
static inline char *
skynet_strndup(const char *str, size_t size) {
    char *copy = (char *)skynet_malloc(size + 1);
    if (copy != NULL) {
        memcpy(copy, str, size);
        copy[size] = '\0';
    }
    return copy;
}

static inline char *
skynet_strdup(const char *str) {
    return skynet_strndup(str, strlen(str));
}

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_IMP_H */
