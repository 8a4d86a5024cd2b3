/*
 * socket_info.h -- per-socket statistics, returned as a linked list.
 */
#ifndef socket_info_h
#define socket_info_h

#include <stdint.h>

/* Values of socket_info.type. */
enum {
    SOCKET_INFO_UNKNOWN = 0, SOCKET_INFO_LISTEN = 1, SOCKET_INFO_TCP = 2,
    SOCKET_INFO_UDP = 3,     SOCKET_INFO_BIND = 4,   SOCKET_INFO_CLOSING = 5,
};

/* One socket's figures; the byte counts and times are since it opened. */
struct socket_info {
    int                 id, type;
    uint64_t            opaque;         /* owning service handle */
    uint64_t            read, write;    /* bytes received, sent */
    uint64_t            rtime, wtime;   /* ticks of the last read, write */
    int64_t             wbuffer;        /* bytes still queued for writing */
    uint8_t             reading, writing;
    char                name[128];      /* peer or local address text */
    struct socket_info *next;
};

#ifdef __cplusplus
extern "C" {
#endif

/* Prepend a zeroed entry to the list `last`; release frees the whole list. */
struct socket_info *socket_info_create(struct socket_info *last);
void                socket_info_release(struct socket_info *);

#ifdef __cplusplus
}
#endif

#endif /* socket_info_h */
