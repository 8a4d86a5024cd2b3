/*
 * skynet_socket.h -- the core's socket API for services, the socket
 * message delivered as PTYPE_SOCKET, and the older send helpers.
 */
#ifndef skynet_socket_h
#define skynet_socket_h

#include "socket_info.h"
#include "socket_buffer.h"

/*
 * What a PTYPE_SOCKET message carries: a struct skynet_socket_message, whose
 * type is one of these.  buffer is the received data (DATA, UDP: the
 * receiver frees it), a text (CONNECT, ERROR, ACCEPT's peer address), or NULL.
 * ud is the size of the data, the new socket's id (ACCEPT) or the queued
 * kilobytes (WARNING).
 */
enum {
    SKYNET_SOCKET_TYPE_DATA = 1,   SKYNET_SOCKET_TYPE_CONNECT = 2, SKYNET_SOCKET_TYPE_CLOSE = 3,
    SKYNET_SOCKET_TYPE_ACCEPT = 4, SKYNET_SOCKET_TYPE_ERROR = 5,   SKYNET_SOCKET_TYPE_UDP = 6,
    SKYNET_SOCKET_TYPE_WARNING = 7,
};

struct skynet_socket_message {
    int   type, id, ud;
    char *buffer;
};

#ifdef __cplusplus
extern "C" {
#endif

struct skynet_context;

/* The socket thread's life (the core calls these). */
void skynet_socket_init(void);
int  skynet_socket_poll(void);
void skynet_socket_updatetime(void);
void skynet_socket_exit(void);
void skynet_socket_free(void);

/* TCP; each returns or takes a socket id, messages go to the calling service. */
int  skynet_socket_listen(struct skynet_context *, const char *host, int port, int backlog);
int  skynet_socket_connect(struct skynet_context *, const char *host, int port);
int  skynet_socket_bind(struct skynet_context *, int fd);
void skynet_socket_start(struct skynet_context *, int id);
void skynet_socket_pause(struct skynet_context *, int id);
void skynet_socket_nodelay(struct skynet_context *, int id);
void skynet_socket_shutdown(struct skynet_context *, int id);
void skynet_socket_close(struct skynet_context *, int id);
int  skynet_socket_sendbuffer(struct skynet_context *, struct socket_sendbuffer *buffer);
int  skynet_socket_sendbuffer_lowpriority(struct skynet_context *, struct socket_sendbuffer *buffer);

/* UDP */
int  skynet_socket_udp(struct skynet_context *, const char *addr, int port);
int  skynet_socket_udp_dial(struct skynet_context *, const char *addr, int port);
int  skynet_socket_udp_listen(struct skynet_context *, const char *addr, int port);
int  skynet_socket_udp_connect(struct skynet_context *, int id, const char *addr, int port);
int  skynet_socket_udp_sendbuffer(struct skynet_context *, const char *address,
                                  struct socket_sendbuffer *buffer);
/* The sender's address of a UDP message, *addrsz bytes. */
const char *skynet_socket_udp_address(struct skynet_socket_message *, int *addrsz);

/* Statistics of every socket, a list to free with socket_info_release. */
struct socket_info *skynet_socket_info(void);

/* An extension of ours (upstream keeps it inside its socket server and never sets it, so its
 * SOCKET_BUFFER_OBJECT sends cannot work): how the socket server reads and frees the objects
 * sent with SOCKET_BUFFER_OBJECT. Without it, OBJECT sends are refused with a log line. */
struct socket_object_interface {
	const void *(*buffer)(const void *);
	size_t (*size)(const void *);
	void (*free)(void *);
};
void skynet_socket_userobject(const struct socket_object_interface *soi);

/*
 * Older pointer+size entry points, kept as wrappers over the sendbuffer
 * calls.  A negative sz means `buffer` is a user object, not raw memory.
 */
static inline void
sendbuffer_init_(struct socket_sendbuffer *buf, int id, const void *buffer, int sz) {
    buf->id     = id;
    buf->type   = (sz < 0) ? SOCKET_BUFFER_OBJECT : SOCKET_BUFFER_MEMORY;
    buf->buffer = buffer;
    buf->sz     = (size_t)sz;
}

static inline int
skynet_socket_send(struct skynet_context *ctx, int id, void *buffer, int sz) {
    struct socket_sendbuffer sb;
    sendbuffer_init_(&sb, id, buffer, sz);
    return skynet_socket_sendbuffer(ctx, &sb);
}

static inline int
skynet_socket_send_lowpriority(struct skynet_context *ctx, int id, void *buffer, int sz) {
    struct socket_sendbuffer sb;
    sendbuffer_init_(&sb, id, buffer, sz);
    return skynet_socket_sendbuffer_lowpriority(ctx, &sb);
}

static inline int
skynet_socket_udp_send(struct skynet_context *ctx, int id, const char *address,
                       const void *buffer, int sz) {
    struct socket_sendbuffer sb;
    sendbuffer_init_(&sb, id, buffer, sz);
    return skynet_socket_udp_sendbuffer(ctx, address, &sb);
}

#ifdef __cplusplus
}
#endif

#endif /* skynet_socket_h */
