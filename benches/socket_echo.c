/* bench_echo: the server of the socket echo benchmark (benches/socket.sh), a C service on the raw socket API. It
 * listens on 127.0.0.1:<port> (its parameter), starts every connection and writes every
 * DATA buffer back as it came. It builds unchanged against our include/ and against
 * upstream's skynet-src/, so the same server runs on both cores. */
#include "skynet.h"
#include "skynet_socket.h"

#include <stdlib.h>
#include <string.h>

struct echo {
	int listen_id;
};

struct echo *
bench_echo_create(void) {
	struct echo *e = skynet_malloc(sizeof(*e));
	e->listen_id = -1;
	return e;
}

void
bench_echo_release(struct echo *e) {
	skynet_free(e);
}

static int
echo_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct echo *e = ud;
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *m = msg;
	switch (m->type) {
	case SKYNET_SOCKET_TYPE_ACCEPT:
		skynet_socket_nodelay(ctx, m->ud);
		skynet_socket_start(ctx, m->ud);
		break;
	case SKYNET_SOCKET_TYPE_DATA:
		/* The buffer goes back out as it is (the socket server frees it). */
		skynet_socket_send(ctx, m->id, m->buffer, m->ud);
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
	case SKYNET_SOCKET_TYPE_ERROR:
		if (m->id != e->listen_id)
			skynet_socket_close(ctx, m->id);
		break;
	}
	return 0;
}

int
bench_echo_init(struct echo *e, struct skynet_context *ctx, const char *parm) {
	int port = parm ? atoi(parm) : 0;
	if (port <= 0) {
		skynet_error(ctx, "bench_echo: need a port");
		return 1;
	}
	e->listen_id = skynet_socket_listen(ctx, "127.0.0.1", port, 4096);
	if (e->listen_id < 0) {
		skynet_error(ctx, "bench_echo: can't listen on port %d", port);
		return 1;
	}
	skynet_callback(ctx, e, echo_cb);
	skynet_socket_start(ctx, e->listen_id);
	return 0;
}
