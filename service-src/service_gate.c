/* gate: a TCP front door. It listens, splits each connection's byte stream into frames
 * (a 2- or 4-byte big-endian length, then that many bytes) and forwards every frame to the
 * connection's agent, to a broker, or to the watchdog, in the messages skynet's gate uses.
 *
 * Parameter: "<S|L> <watchdog|!> <[host:]port|!> <client_tag> <max_connections> [options]"
 *   S: 2-byte lengths, L: 4-byte lengths; client_tag 0 means PTYPE_CLIENT; a watchdog of
 *   "!" means none; a binding of "!" waits for an "open" command. Options (ours):
 *   maxframe=<bytes>  largest frame accepted (default: 65535 for S, 16 MiB - 1 for L);
 *   flood=<bytes>     bytes a connection may send per second before it is paused for a
 *                     second (default 0: no limit).
 *
 * Commands (PTYPE_TEXT): "open [host:]port", "close" (stop listening), "kick <id>",
 * "forward <id> :<agent> :<client>", "broker <name>", "accept <id>" (frames back to the
 * watchdog, then start), "start <id>".
 *
 * To the watchdog (PTYPE_TEXT): "<id> open <id> <address>:0" on accept, "<id> close" when
 * a connection ends, and "<id> data <frame>" (session = id) when it has no agent. To an
 * agent: the frame as client_tag, session = id, source = the client handle. To a broker:
 * every frame as client_tag, session = id. A PTYPE_CLIENT message to the gate is written
 * to the connection whose id is in its last 4 bytes (little-endian).
 *
 * A frame over the limit, a peer leaving in the middle of a frame, or a flood: one log line
 * and that connection only. */
#include "skynet.h"
#include "skynet_socket.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKLOG 128
#define ID_SLOTS 65536
#define FLOOD_WINDOW 100 /* centiseconds */

struct connection {
	int id; /* -1 when free */
	uint32_t agent;
	uint32_t client;
	char remote[64];
	int closing; /* closed by us (limit): drop what still arrives */
	/* The frame being assembled. */
	uint8_t header[4];
	int header_got;
	uint32_t frame_size;
	uint32_t frame_got;
	uint8_t *frame;
	/* Flood control. */
	uint64_t window_start;
	uint64_t window_bytes;
	int resume_session; /* non-zero while paused for flooding */
};

struct gate {
	struct skynet_context *ctx;
	int listen_id;
	uint32_t watchdog;
	uint32_t broker;
	int client_tag;
	int header_size;
	uint32_t max_frame;
	uint64_t flood;
	int max;
	int used;
	struct connection *conn;
	int32_t *by_id; /* socket id & 0xffff -> connection index, or -1 */
	int free_hint;
	uint64_t refused;
	uint64_t refused_logged_at;
	int refused_logged;
};

struct gate *
gate_create(void) {
	struct gate *g = skynet_malloc(sizeof(*g));
	memset(g, 0, sizeof(*g));
	g->listen_id = -1;
	return g;
}

static void
reset_frame(struct connection *c) {
	skynet_free(c->frame);
	c->frame = NULL;
	c->header_got = 0;
	c->frame_size = 0;
	c->frame_got = 0;
}

void
gate_release(struct gate *g) {
	if (g->conn) {
		for (int i = 0; i < g->max; i++) {
			struct connection *c = &g->conn[i];
			if (c->id >= 0) {
				skynet_socket_close(g->ctx, c->id);
				reset_frame(c);
			}
		}
	}
	if (g->listen_id >= 0)
		skynet_socket_close(g->ctx, g->listen_id);
	skynet_free(g->conn);
	skynet_free(g->by_id);
	skynet_free(g);
}

static struct connection *
lookup(struct gate *g, int id) {
	if (id < 0)
		return NULL;
	int i = g->by_id[id & (ID_SLOTS - 1)];
	if (i < 0 || g->conn[i].id != id)
		return NULL;
	return &g->conn[i];
}

static struct connection *
insert(struct gate *g, int id) {
	if (g->used >= g->max)
		return NULL;
	for (int n = 0; n < g->max; n++) {
		int i = (g->free_hint + n) % g->max;
		struct connection *c = &g->conn[i];
		if (c->id < 0) {
			memset(c, 0, sizeof(*c));
			c->id = id;
			g->by_id[id & (ID_SLOTS - 1)] = i;
			g->free_hint = i + 1;
			g->used++;
			return c;
		}
	}
	return NULL;
}

static void
forget(struct gate *g, struct connection *c) {
	reset_frame(c);
	if (g->by_id[c->id & (ID_SLOTS - 1)] == (int32_t)(c - g->conn))
		g->by_id[c->id & (ID_SLOTS - 1)] = -1;
	c->id = -1;
	g->used--;
}

/* A PTYPE_TEXT line to the watchdog (nothing without one). */
static void
report(struct gate *g, const char *fmt, ...) {
	if (g->watchdog == 0)
		return;
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(text))
		n = sizeof(text) - 1;
	skynet_send(g->ctx, 0, g->watchdog, PTYPE_TEXT, 0, text, n);
}

/* Hands a complete frame (a malloc'd block now owned by the message) to its receiver. */
static void
deliver(struct gate *g, struct connection *c, uint8_t *frame, uint32_t size) {
	struct skynet_context *ctx = g->ctx;
	if (g->broker) {
		skynet_send(ctx, 0, g->broker, g->client_tag | PTYPE_TAG_DONTCOPY, c->id, frame, size);
	} else if (c->agent) {
		skynet_send(ctx, c->client, c->agent, g->client_tag | PTYPE_TAG_DONTCOPY, c->id, frame, size);
	} else if (g->watchdog) {
		char prefix[32];
		int n = snprintf(prefix, sizeof(prefix), "%d data ", c->id);
		uint8_t *text = skynet_malloc(n + size);
		memcpy(text, prefix, n);
		memcpy(text + n, frame, size);
		skynet_free(frame);
		skynet_send(ctx, 0, g->watchdog, PTYPE_TEXT | PTYPE_TAG_DONTCOPY, c->id, text, n + size);
	} else {
		skynet_free(frame);
	}
}

/* Bytes per second over the limit: pause the connection for a second. */
static void
check_flood(struct gate *g, struct connection *c, int bytes) {
	if (g->flood == 0 || c->resume_session)
		return;
	uint64_t now = skynet_now();
	if (now - c->window_start >= FLOOD_WINDOW) {
		c->window_start = now;
		c->window_bytes = 0;
	}
	c->window_bytes += bytes;
	if (c->window_bytes <= g->flood)
		return;
	skynet_socket_pause(g->ctx, c->id);
	const char *session = skynet_command(g->ctx, "TIMEOUT", "100");
	c->resume_session = session ? atoi(session) : 0;
	skynet_error(g->ctx, "gate: connection %d (%s) sent %llu bytes within a second, over the flood limit of %llu: paused for a second",
		c->id, c->remote, (unsigned long long)c->window_bytes, (unsigned long long)g->flood);
}

/* Closes a connection that broke the protocol; what is still on its way is dropped. */
static void
drop_connection(struct gate *g, struct connection *c) {
	reset_frame(c);
	c->closing = 1;
	skynet_socket_close(g->ctx, c->id);
}

/* Feeds received bytes to the frame assembler, delivering every complete frame. */
static void
feed(struct gate *g, struct connection *c, const uint8_t *data, int size) {
	while (size > 0) {
		if (c->header_got < g->header_size) {
			int n = g->header_size - c->header_got;
			if (n > size)
				n = size;
			memcpy(c->header + c->header_got, data, n);
			c->header_got += n;
			data += n;
			size -= n;
			if (c->header_got < g->header_size)
				return;
			uint32_t len = 0;
			for (int i = 0; i < g->header_size; i++)
				len = len << 8 | c->header[i];
			if (len > g->max_frame) {
				skynet_error(g->ctx, "gate: connection %d (%s) sent a frame of %u bytes, over the limit of %u: connection closed",
					c->id, c->remote, len, g->max_frame);
				drop_connection(g, c);
				return;
			}
			if (len == 0) { /* an empty frame carries nothing */
				c->header_got = 0;
				continue;
			}
			c->frame_size = len;
			c->frame_got = 0;
			c->frame = skynet_malloc(len);
		}
		uint32_t n = c->frame_size - c->frame_got;
		if (n > (uint32_t)size)
			n = size;
		memcpy(c->frame + c->frame_got, data, n);
		c->frame_got += n;
		data += n;
		size -= n;
		if (c->frame_got == c->frame_size) {
			uint8_t *frame = c->frame;
			uint32_t len = c->frame_size;
			c->frame = NULL;
			c->header_got = 0;
			c->frame_size = c->frame_got = 0;
			deliver(g, c, frame, len);
		}
	}
}

static void
connection_ended(struct gate *g, struct connection *c, const char *how) {
	if (c->header_got > 0 && !c->closing) {
		if (c->frame_size > 0)
			skynet_error(g->ctx, "gate: connection %d (%s) %s in the middle of a frame (%u of %u bytes): frame dropped",
				c->id, c->remote, how, c->frame_got, c->frame_size);
		else
			skynet_error(g->ctx, "gate: connection %d (%s) %s in the middle of a frame header: dropped", c->id, c->remote, how);
	}
	int id = c->id;
	forget(g, c);
	report(g, "%d close", id);
	skynet_socket_close(g->ctx, id);
}

static void
refuse(struct gate *g, int id, const char *remote) {
	skynet_socket_close(g->ctx, id);
	g->refused++;
	uint64_t now = skynet_now();
	if (!g->refused_logged || now - g->refused_logged_at >= 100) {
		skynet_error(g->ctx, "gate: %d connections open (the maximum): refused %s and %llu more since the last report",
			g->used, remote, (unsigned long long)(g->refused - 1));
		g->refused = 0;
		g->refused_logged = 1;
		g->refused_logged_at = now;
	}
}

static void
on_socket(struct gate *g, const struct skynet_socket_message *m, size_t sz) {
	struct skynet_context *ctx = g->ctx;
	struct connection *c = lookup(g, m->id);
	switch (m->type) {
	case SKYNET_SOCKET_TYPE_DATA:
		if (c == NULL) {
			skynet_error(ctx, "gate: data for unknown connection %d dropped", m->id);
			skynet_socket_close(ctx, m->id);
		} else if (!c->closing) {
			feed(g, c, (const uint8_t *)m->buffer, m->ud);
			if (!c->closing)
				check_flood(g, c, m->ud);
		}
		skynet_free(m->buffer);
		break;
	case SKYNET_SOCKET_TYPE_CONNECT:
		if (m->id != g->listen_id && c == NULL) {
			skynet_error(ctx, "gate: close unknown connection %d", m->id);
			skynet_socket_close(ctx, m->id);
		}
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
	case SKYNET_SOCKET_TYPE_ERROR:
		if (c) {
			connection_ended(g, c, m->type == SKYNET_SOCKET_TYPE_CLOSE ? "closed" : "failed");
		} else if (m->id == g->listen_id && m->type == SKYNET_SOCKET_TYPE_CLOSE) {
			g->listen_id = -1;
		}
		break;
	case SKYNET_SOCKET_TYPE_ACCEPT: {
		char remote[64];
		size_t n = sz - sizeof(*m);
		if (n >= sizeof(remote))
			n = sizeof(remote) - 1;
		memcpy(remote, m + 1, n);
		remote[n] = '\0';
		struct connection *nc = insert(g, m->ud);
		if (nc == NULL) {
			refuse(g, m->ud, remote);
			break;
		}
		memcpy(nc->remote, remote, n + 1);
		report(g, "%d open %d %s:0", nc->id, nc->id, nc->remote);
		break;
	}
	case SKYNET_SOCKET_TYPE_WARNING:
		skynet_error(ctx, "gate: connection %d has %dK waiting to be sent", m->id, m->ud);
		break;
	}
}

static int
start_listen(struct gate *g, char *binding) {
	struct skynet_context *ctx = g->ctx;
	const char *host = "";
	char *colon = strrchr(binding, ':');
	char *portstr = binding;
	if (colon) {
		*colon = '\0';
		host = binding;
		portstr = colon + 1;
	}
	int port = (int)strtol(portstr, NULL, 10);
	if (port <= 0 || port > 65535) {
		skynet_error(ctx, "gate: invalid address %s%s%s", host, colon ? ":" : "", portstr);
		return 1;
	}
	g->listen_id = skynet_socket_listen(ctx, host, port, BACKLOG);
	if (g->listen_id < 0) {
		skynet_error(ctx, "gate: can't listen on %s:%d", host, port);
		return 1;
	}
	skynet_socket_start(ctx, g->listen_id);
	return 0;
}

/* The first word of `cmd` and where its argument starts. */
static int
is_command(const char *cmd, const char *name, const char **arg) {
	size_t n = strlen(name);
	if (strncmp(cmd, name, n) != 0 || (cmd[n] != '\0' && cmd[n] != ' '))
		return 0;
	const char *p = cmd + n;
	while (*p == ' ')
		p++;
	*arg = p;
	return 1;
}

static void
command(struct gate *g, const char *msg, size_t sz) {
	struct skynet_context *ctx = g->ctx;
	char cmd[256];
	if (sz >= sizeof(cmd)) {
		skynet_error(ctx, "gate: command of %zu bytes ignored", sz);
		return;
	}
	memcpy(cmd, msg, sz);
	cmd[sz] = '\0';
	const char *arg;
	struct connection *c;
	if (is_command(cmd, "kick", &arg)) {
		int id = atoi(arg);
		if (lookup(g, id))
			skynet_socket_close(ctx, id);
	} else if (is_command(cmd, "forward", &arg)) {
		int id;
		unsigned agent, client;
		if (sscanf(arg, "%d :%x :%x", &id, &agent, &client) == 3 && (c = lookup(g, id)) != NULL) {
			c->agent = agent;
			c->client = client;
		}
	} else if (is_command(cmd, "broker", &arg)) {
		g->broker = skynet_queryname(ctx, arg);
	} else if (is_command(cmd, "start", &arg)) {
		int id = atoi(arg);
		if (lookup(g, id))
			skynet_socket_start(ctx, id);
	} else if (is_command(cmd, "accept", &arg)) {
		int id = atoi(arg);
		if ((c = lookup(g, id)) != NULL) {
			c->agent = c->client = 0;
			skynet_socket_start(ctx, id);
		}
	} else if (is_command(cmd, "close", &arg)) {
		if (g->listen_id >= 0) {
			skynet_socket_close(ctx, g->listen_id);
			g->listen_id = -1;
		}
	} else if (is_command(cmd, "open", &arg)) {
		if (g->listen_id >= 0) {
			skynet_error(ctx, "gate: already listening");
			return;
		}
		char binding[256];
		snprintf(binding, sizeof(binding), "%s", arg);
		start_listen(g, binding);
	} else {
		skynet_error(ctx, "gate: unknown command: %s", cmd);
	}
}

static int
gate_cb(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct gate *g = ud;
	switch (type) {
	case PTYPE_TEXT:
		command(g, msg, sz);
		break;
	case PTYPE_CLIENT: {
		if (sz <= 4) {
			skynet_error(ctx, "gate: invalid client message from %x", source);
			break;
		}
		const uint8_t *tail = (const uint8_t *)msg + sz - 4;
		int id = (int)((uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24);
		if (lookup(g, id) == NULL) {
			skynet_error(ctx, "gate: invalid client id %d from %x", id, source);
			break;
		}
		/* The message buffer becomes the send buffer (without the id). */
		skynet_socket_send(ctx, id, (void *)msg, (int)(sz - 4));
		return 1;
	}
	case PTYPE_SOCKET:
		on_socket(g, msg, sz);
		break;
	case PTYPE_RESPONSE:
		/* A flooding connection's second is over. */
		for (int i = 0; i < g->max; i++) {
			struct connection *c = &g->conn[i];
			if (c->id >= 0 && c->resume_session == session) {
				c->resume_session = 0;
				c->window_start = skynet_now();
				c->window_bytes = 0;
				if (!c->closing)
					skynet_socket_start(ctx, c->id);
				break;
			}
		}
		break;
	}
	return 0;
}

static int
parse_options(struct gate *g, const char *opts) {
	char key[32];
	unsigned long long value;
	int n;
	while (sscanf(opts, " %31[^= ]=%llu%n", key, &value, &n) == 2) {
		if (strcmp(key, "maxframe") == 0) {
			g->max_frame = value > 0xffffffffu ? 0xffffffffu : (uint32_t)value;
		} else if (strcmp(key, "flood") == 0) {
			g->flood = value;
		} else {
			skynet_error(g->ctx, "gate: unknown option %s", key);
			return 1;
		}
		opts += n;
	}
	while (*opts == ' ')
		opts++;
	if (*opts) {
		skynet_error(g->ctx, "gate: can't parse option %s", opts);
		return 1;
	}
	return 0;
}

int
gate_init(struct gate *g, struct skynet_context *ctx, const char *parm) {
	g->ctx = ctx;
	if (parm == NULL)
		return 1;
	size_t len = strlen(parm) + 1;
	char watchdog[len], binding[len];
	char header = 0;
	int client_tag = 0, max = 0, used = 0;
	int n = sscanf(parm, " %c %s %s %d %d%n", &header, watchdog, binding, &client_tag, &max, &used);
	if (n < 5) {
		skynet_error(ctx, "gate: invalid parameter %s", parm);
		return 1;
	}
	if (max <= 0) {
		skynet_error(ctx, "gate: need a maximum number of connections");
		return 1;
	}
	if (header != 'S' && header != 'L') {
		skynet_error(ctx, "gate: invalid header style %c (S or L)", header);
		return 1;
	}
	g->header_size = header == 'S' ? 2 : 4;
	g->max_frame = header == 'S' ? 0xffff : 0xffffff;
	if (parse_options(g, parm + used))
		return 1;
	if (strcmp(watchdog, "!") != 0) {
		g->watchdog = skynet_queryname(ctx, watchdog);
		if (g->watchdog == 0) {
			skynet_error(ctx, "gate: invalid watchdog %s", watchdog);
			return 1;
		}
	}
	g->client_tag = client_tag ? client_tag : PTYPE_CLIENT;
	g->max = max;
	g->conn = skynet_malloc(max * sizeof(struct connection));
	memset(g->conn, 0, max * sizeof(struct connection));
	for (int i = 0; i < max; i++)
		g->conn[i].id = -1;
	g->by_id = skynet_malloc(ID_SLOTS * sizeof(int32_t));
	memset(g->by_id, 0xff, ID_SLOTS * sizeof(int32_t));
	skynet_callback(ctx, g, gate_cb);
	if (strcmp(binding, "!") == 0)
		return 0;
	return start_listen(g, binding);
}
