/* skynet_socket_bind of descriptors the service already has: the read end of a pipe
 * (CONNECT "binding", DATA for what is written, CLOSE when the writer closes; the pipe is
 * not closed by the server) and the write end of another (sends reach the pipe). A
 * descriptor epoll cannot watch (a regular file) is an ERROR. */
#include "socket_test.h"

struct bindtest {
	struct skynet_context *ctx;
	int deadline;
	int in[2];
	int out[2];
	int in_id;
	int out_id;
	int file_id;
	int binding;
	size_t got;
	int closed;
	int file_error;
};

static struct bindtest T;

static int
cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct bindtest *t = ud;
	ON_DEADLINE(ctx, type, session, t->deadline, "timed out");
	if (type != PTYPE_SOCKET)
		return 0;
	const struct skynet_socket_message *e = msg;
	char text[64];
	switch (e->type) {
	case SKYNET_SOCKET_TYPE_CONNECT:
		evt_text(e, sz, text, sizeof(text));
		CHECK(ctx, (e->id == t->in_id || e->id == t->out_id) && strcmp(text, "binding") == 0);
		if (++t->binding == 2) {
			CHECK(ctx, write(t->in[1], "through the pipe", 16) == 16);
			close(t->in[1]);
			char *m = skynet_malloc(5);
			memcpy(m, "out!\n", 5);
			CHECK(ctx, skynet_socket_send(ctx, t->out_id, m, 5) == 0);
		}
		break;
	case SKYNET_SOCKET_TYPE_DATA:
		CHECK(ctx, e->id == t->in_id);
		CHECK(ctx, memcmp(e->buffer, "through the pipe" + t->got, e->ud) == 0);
		t->got += e->ud;
		skynet_free(e->buffer);
		break;
	case SKYNET_SOCKET_TYPE_CLOSE: {
		CHECK(ctx, e->id == t->in_id && t->got == 16);
		t->closed = 1;
		skynet_socket_close(ctx, t->in_id);
		skynet_socket_close(ctx, t->out_id);
		/* A bound descriptor stays open: the server never closes it. */
		CHECK(ctx, fcntl(t->in[0], F_GETFD) != -1);
		char buf[8];
		CHECK(ctx, read(t->out[0], buf, 5) == 5 && memcmp(buf, "out!\n", 5) == 0);
		break;
	}
	case SKYNET_SOCKET_TYPE_ERROR:
		CHECK(ctx, e->id == t->file_id);
		t->file_error = 1;
		break;
	default:
		skynet_error(ctx, "TEST FAIL unexpected socket event %d", e->type);
		skynet_command(ctx, "ABORT", NULL);
		return 0;
	}
	if (t->closed && t->file_error)
		test_pass(ctx);
	return 0;
}

int
socket_bind_init(void *inst, struct skynet_context *ctx, const char *parm) {
	struct bindtest *t = &T;
	t->ctx = ctx;
	socket_test_setup(ctx, t, cb, 3000, 0, &t->deadline, NULL);
	CHECK_INIT(ctx, pipe(t->in) == 0 && pipe(t->out) == 0);
	t->in_id = skynet_socket_bind(ctx, t->in[0]);
	t->out_id = skynet_socket_bind(ctx, t->out[1]);
	CHECK_INIT(ctx, t->in_id >= 0 && t->out_id >= 0);
	char path[512];
	const char *dir = skynet_command(ctx, "GETENV", "testdir");
	snprintf(path, sizeof(path), "%s/socket_bind_XXXXXX", dir ? dir : ".");
	int fd = mkstemp(path);
	CHECK_INIT(ctx, fd >= 0);
	unlink(path);
	t->file_id = skynet_socket_bind(ctx, fd);
	CHECK_INIT(ctx, t->file_id >= 0);
	return 0;
}
