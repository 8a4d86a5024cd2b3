/*
 * socket_buffer.h -- description of one outgoing socket payload.
 */
#ifndef socket_buffer_h
#define socket_buffer_h

#include <stdlib.h>

/* How socket_sendbuffer.buffer is to be interpreted. */
#define SOCKET_BUFFER_MEMORY      0   /* heap block of sz bytes, freed once sent */
#define SOCKET_BUFFER_OBJECT      1   /* user object, resolved by the socket server */
#define SOCKET_BUFFER_RAWPOINTER  2   /* borrowed bytes: never freed, copied if queued */

struct socket_sendbuffer {
    int         id;
    int         type;
    const void *buffer;
    size_t      sz;
};

#endif /* socket_buffer_h */
