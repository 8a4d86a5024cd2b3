/* libFuzzer target for the C gate's framing (service-src/service_gate.c): the gate runs
 * against stand-ins for the core's calls, and the input is a script of socket events and
 * commands on four connections. Every control byte's low 2 bits pick the connection; its
 * high 2 bits: 0 or 1, a DATA event of the next ((ctl >> 2) & 31) + 1 bytes; 2, the
 * connection is accepted; 3, by bits 2-3: CLOSE, ERROR, "kick" or "forward" + "start".
 * The gate owns every buffer it is given and must free each exactly once (ASan, LSan). */
#include "../../service-src/service_gate.c"

static struct gate *gate;
static int (*gate_callback)(struct skynet_context *, void *, int, int, uint32_t, const void *, size_t);
static uint64_t ticks;

/* --- the core, as the gate sees it --- */
void skynet_callback(struct skynet_context *ctx, void *ud, skynet_cb cb) { (void)ctx; (void)ud; gate_callback = cb; }
const char *skynet_command(struct skynet_context *ctx, const char *cmd, const char *parm) { (void)ctx; (void)cmd; (void)parm; return NULL; }
void skynet_error(struct skynet_context *ctx, const char *msg, ...) { (void)ctx; (void)msg; }
uint64_t skynet_now(void) { return ticks; }
uint32_t skynet_queryname(struct skynet_context *ctx, const char *name) { (void)ctx; (void)name; return 0x10; }
int skynet_send(struct skynet_context *ctx, uint32_t source, uint32_t destination, int type, int session, void *msg, size_t sz) {
	(void)ctx; (void)source; (void)destination; (void)session; (void)sz;
	if (type & PTYPE_TAG_DONTCOPY)
		free(msg);
	return 1;
}
void skynet_socket_close(struct skynet_context *ctx, int id) { (void)ctx; (void)id; }
int skynet_socket_listen(struct skynet_context *ctx, const char *host, int port, int backlog) { (void)ctx; (void)host; (void)port; (void)backlog; return 1; }
void skynet_socket_pause(struct skynet_context *ctx, int id) { (void)ctx; (void)id; }
void skynet_socket_start(struct skynet_context *ctx, int id) { (void)ctx; (void)id; }
int skynet_socket_sendbuffer(struct skynet_context *ctx, struct socket_sendbuffer *b) {
	(void)ctx;
	if (b->type == SOCKET_BUFFER_MEMORY)
		free((void *)b->buffer);
	return 0;
}

static void
socket_event(int type, int id, int ud, const uint8_t *bytes, size_t n) {
	/* an ACCEPT carries the peer's address after the message, as the core lays it out */
	const char remote[] = "127.0.0.1:9";
	size_t extra = type == SKYNET_SOCKET_TYPE_ACCEPT ? sizeof(remote) - 1 : 0;
	struct skynet_socket_message *m = malloc(sizeof(*m) + extra);
	m->type = type;
	m->id = id;
	m->ud = ud;
	m->buffer = NULL;
	if (type == SKYNET_SOCKET_TYPE_DATA) {
		m->buffer = malloc(n ? n : 1);
		memcpy(m->buffer, bytes, n);
	}
	if (extra)
		memcpy(m + 1, remote, extra);
	gate_callback(NULL, gate, PTYPE_SOCKET, 0, 0, m, sizeof(*m) + extra);
	free(m);
}

static void
text(const char *fmt, int id) {
	char cmd[64];
	int n = snprintf(cmd, sizeof(cmd), fmt, id);
	gate_callback(NULL, gate, PTYPE_TEXT, 0, 0, cmd, (size_t)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	gate = gate_create();
	if (gate_init(gate, NULL, "S ! ! 0 3 maxframe=600 flood=4000") != 0)
		abort();
	size_t pos = 0;
	while (pos < size) {
		uint8_t ctl = data[pos++];
		int id = (ctl & 3) + 1;
		ticks += 7;
		switch (ctl >> 6) {
		case 0:
		case 1: {
			size_t n = ((ctl >> 2) & 31) + 1;
			if (n > size - pos)
				n = size - pos;
			socket_event(SKYNET_SOCKET_TYPE_DATA, id, (int)n, data + pos, n);
			pos += n;
			break;
		}
		case 2:
			socket_event(SKYNET_SOCKET_TYPE_ACCEPT, 100, id, NULL, 0);
			break;
		default:
			switch ((ctl >> 2) & 3) {
			case 0: socket_event(SKYNET_SOCKET_TYPE_CLOSE, id, 0, NULL, 0); break;
			case 1: socket_event(SKYNET_SOCKET_TYPE_ERROR, id, 0, NULL, 0); break;
			case 2: text("kick %d", id); break;
			default:
				text("forward %d :20 :0", id);
				text("start %d", id);
				break;
			}
		}
	}
	for (int id = 1; id <= 4; id++)
		socket_event(SKYNET_SOCKET_TYPE_CLOSE, id, 0, NULL, 0);
	gate_release(gate);
	return 0;
}
