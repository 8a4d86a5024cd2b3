/* The harbor service of a node: it receives what the core routes off the node (PTYPE_SYSTEM
 * remote messages, for handles of other harbors and for global names) and the commands of
 * its slave service (PTYPE_HARBOR text: "N name" registers a global name for the sender).
 *
 * Messages to a global name registered on this node are delivered here; messages to an
 * unknown name wait until the name is registered (the slave is asked with "Q name").
 * Links to other harbors ("S"/"A" commands) are not supported yet: such requests and
 * messages for other harbors are refused with a log line, and a caller waiting for a
 * response gets PTYPE_ERROR instead of silence. */
#include "skynet.h"
#include "skynet_harbor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending {
	struct pending *next;
	uint32_t source;
	int session;
	int type;
	void *message;
	size_t sz;
};

struct global_name {
	char name[GLOBALNAME_LENGTH + 1];
	uint32_t handle;
	struct pending *waiting;
	struct pending *last;
};

struct harbor {
	struct skynet_context *ctx;
	int id;
	uint32_t slave;
	struct global_name *names;
	int count;
	int cap;
};

struct harbor *
harbor_create(void) {
	return calloc(1, sizeof(struct harbor));
}

void
harbor_release(struct harbor *h) {
	for (int i = 0; i < h->count; i++) {
		struct pending *p = h->names[i].waiting;
		while (p) {
			struct pending *next = p->next;
			free(p->message);
			free(p);
			p = next;
		}
	}
	free(h->names);
	free(h);
}

static struct global_name *
find_name(struct harbor *h, const char *name, size_t len, int create) {
	if (len > GLOBALNAME_LENGTH)
		len = GLOBALNAME_LENGTH;
	for (int i = 0; i < h->count; i++) {
		if (strncmp(h->names[i].name, name, len) == 0 && h->names[i].name[len] == '\0')
			return &h->names[i];
	}
	if (!create)
		return NULL;
	if (h->count == h->cap) {
		int cap = h->cap ? h->cap * 2 : 16;
		struct global_name *n = realloc(h->names, cap * sizeof(*n));
		if (n == NULL)
			return NULL;
		h->names = n;
		h->cap = cap;
	}
	struct global_name *g = &h->names[h->count++];
	memset(g, 0, sizeof(*g));
	memcpy(g->name, name, len);
	return g;
}

/* A message that can't be delivered: free it, and tell a caller that waits. */
static void
refuse(struct harbor *h, uint32_t source, uint32_t destination, int type, int session, void *message) {
	free(message);
	if (session != 0 && type != PTYPE_ERROR && type != PTYPE_RESPONSE)
		skynet_send(h->ctx, destination, source, PTYPE_ERROR, session, NULL, 0);
}

static void
deliver(struct harbor *h, uint32_t handle, struct pending *p) {
	if (skynet_send(h->ctx, p->source, handle, p->type | PTYPE_TAG_DONTCOPY, p->session, p->message, p->sz) < 0)
		refuse(h, p->source, handle, p->type, p->session, NULL);
}

static void
register_name(struct harbor *h, const char *name, size_t len, uint32_t handle) {
	struct global_name *g = find_name(h, name, len, 1);
	if (g == NULL) {
		skynet_error(h->ctx, "error: harbor can't register global name %.*s: out of memory", (int)len, name);
		return;
	}
	g->handle = handle;
	struct pending *p = g->waiting;
	g->waiting = g->last = NULL;
	while (p) {
		struct pending *next = p->next;
		deliver(h, handle, p);
		free(p);
		p = next;
	}
}

static void
remote_send(struct harbor *h, const struct remote_message *r, uint32_t source, int session) {
	void *message = (void *)r->message;
	uint32_t handle = r->destination.handle;
	if (handle != 0) {
		/* A handle of another harbor: no links to other harbors in this service yet. */
		skynet_error(h->ctx, "error: no route to harbor %d for :%08x (multi-node links are not supported)",
			(int)(handle >> 24), handle);
		refuse(h, source, handle, r->type, session, message);
		return;
	}
	const char *name = r->destination.name;
	size_t len = strnlen(name, GLOBALNAME_LENGTH);
	struct global_name *g = find_name(h, name, len, 1);
	if (g == NULL) {
		refuse(h, source, 0, r->type, session, message);
		return;
	}
	struct pending p = { NULL, source, session, r->type, message, r->sz };
	if (g->handle) {
		deliver(h, g->handle, &p);
		return;
	}
	struct pending *w = malloc(sizeof(*w));
	if (w == NULL) {
		refuse(h, source, 0, r->type, session, message);
		return;
	}
	*w = p;
	if (g->last)
		g->last->next = w;
	else
		g->waiting = w;
	g->last = w;
	char query[GLOBALNAME_LENGTH + 3];
	int n = snprintf(query, sizeof(query), "Q %.*s", (int)len, name);
	if (h->slave)
		skynet_send(h->ctx, 0, h->slave, PTYPE_TEXT, 0, query, n);
}

static void
slave_command(struct harbor *h, const char *msg, size_t sz, uint32_t source) {
	if (sz < 2) {
		skynet_error(h->ctx, "error: harbor got an empty command from :%08x", source);
		return;
	}
	const char *arg = msg + 2;
	size_t len = sz - 2;
	switch (msg[0]) {
	case 'N':
		if (len == 0 || len > GLOBALNAME_LENGTH) {
			skynet_error(h->ctx, "error: invalid global name (%d bytes) from :%08x", (int)len, source);
			return;
		}
		register_name(h, arg, len, source);
		break;
	case 'S':
	case 'A':
		skynet_error(h->ctx, "error: harbor %d can't link to other harbors (%.*s): multi-node is not supported",
			h->id, (int)sz, msg);
		break;
	default:
		skynet_error(h->ctx, "error: unknown harbor command %.*s", (int)sz, msg);
		break;
	}
}

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct harbor *h = ud;
	switch (type) {
	case PTYPE_SYSTEM:
		if (sz != sizeof(struct remote_message)) {
			skynet_error(ctx, "error: harbor got a malformed remote message (%d bytes)", (int)sz);
			return 0;
		}
		remote_send(h, msg, source, session);
		return 0;
	case PTYPE_HARBOR:
		slave_command(h, msg, sz, source);
		return 0;
	case PTYPE_SOCKET:
		return 0;
	default:
		skynet_error(ctx, "error: harbor got an unknown message type %d from :%08x", type, source);
		if (session != 0 && type != PTYPE_ERROR && type != PTYPE_RESPONSE)
			skynet_send(ctx, 0, source, PTYPE_ERROR, session, NULL, 0);
		return 0;
	}
}

int
harbor_init(struct harbor *h, struct skynet_context *ctx, const char *args) {
	unsigned slave = 0;
	/* "id slave", the slave's handle in decimal as skynet.launch passes numbers */
	if (args == NULL || sscanf(args, "%d %u", &h->id, &slave) != 2) {
		skynet_error(ctx, "error: harbor needs \"id slave\", got \"%s\"", args ? args : "");
		return 1;
	}
	h->ctx = ctx;
	h->slave = slave;
	skynet_callback(ctx, h, on_message);
	skynet_harbor_start(ctx);
	return 0;
}
