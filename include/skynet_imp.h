/*
 * skynet_imp.h -- startup configuration, thread role ids and small
 * string helpers used inside the core.
 */
#ifndef SKYNET_IMP_H
#define SKYNET_IMP_H

#include <string.h>

#include "skynet_malloc.h"

struct skynet_config {
    int         thread;
    int         harbor;
    int         profile;
    const char *daemon;
    const char *module_path;
    const char *bootstrap;
    const char *logger;
    const char *logservice;
};

/* Role of a thread, as passed to skynet_initthread. */
#define THREAD_WORKER   0
#define THREAD_MAIN     1
#define THREAD_SOCKET   2
#define THREAD_TIMER    3
#define THREAD_MONITOR  4

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
