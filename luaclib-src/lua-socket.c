/*
 * skynet.socketdriver : Lua bindings of the skynet socket API, plus the
 * receive buffers used by lualib/skynet/socket.lua.
 *
 * Receive buffer: an ordered list of chunks handed over by the socket
 * thread (each chunk is a skynet_malloc'ed block that the buffer owns from
 * the moment it is pushed).  Consumers read byte ranges or lines across
 * chunk boundaries.  The "pool" argument of the buffer functions is kept for
 * interface compatibility: chunks are recycled inside the buffer itself, and
 * everything still queued is released when the buffer is collected.
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "skynet.h"
#include "skynet_malloc.h"
#include "skynet_socket.h"

#define DEFAULT_BACKLOG 32
#define SOCKBUF_MT "skynet.socketbuffer"
#define SPARE_CHUNKS 16

/* ------------------------------------------------------------ buffers */

struct chunk {
	struct chunk *next;
	char *data;
	int size;
};

struct sockbuf {
	const void *tag;      /* &sockbuf_tag: marks a buffer made by lnewbuffer */
	int total;            /* bytes not yet consumed */
	int offset;           /* consumed bytes of the head chunk */
	struct chunk *head;
	struct chunk *tail;
	struct chunk *spare;  /* recycled chunk headers */
	int nspare;
};

static const char sockbuf_tag = 0;

static void
chunk_recycle(struct sockbuf *sb, struct chunk *c) {
	skynet_free(c->data);
	c->data = NULL;
	if (sb->nspare < SPARE_CHUNKS) {
		c->next = sb->spare;
		sb->spare = c;
		sb->nspare++;
	} else {
		skynet_free(c);
	}
}

/* drop the head chunk (its bytes are all consumed) */
static void
drop_head(struct sockbuf *sb) {
	struct chunk *c = sb->head;
	sb->head = c->next;
	if (sb->head == NULL)
		sb->tail = NULL;
	sb->offset = 0;
	chunk_recycle(sb, c);
}

/* mark n bytes of the head chunk consumed */
static void
consume(struct sockbuf *sb, int n) {
	sb->offset += n;
	if (sb->offset >= sb->head->size)
		drop_head(sb);
}

static void
release_all(struct sockbuf *sb) {
	while (sb->head)
		drop_head(sb);
	sb->total = 0;
	while (sb->spare) {
		struct chunk *c = sb->spare;
		sb->spare = c->next;
		skynet_free(c);
	}
	sb->nspare = 0;
}

static int
sockbuf_gc(lua_State *L) {
	struct sockbuf *sb = (struct sockbuf *)lua_touserdata(L, 1);
	if (sb)
		release_all(sb);
	return 0;
}

static int
lnewbuffer(lua_State *L) {
	struct sockbuf *sb = (struct sockbuf *)lua_newuserdatauv(L, sizeof(*sb), 0);
	memset(sb, 0, sizeof(*sb));
	sb->tag = &sockbuf_tag;
	if (luaL_newmetatable(L, SOCKBUF_MT)) {
		lua_pushcfunction(L, sockbuf_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return 1;
}

/* The buffer at idx, or NULL. Every read and push checks its argument, so the check is the
 * tag inside the block, not a metatable lookup by name (which costs a string lookup). */
static struct sockbuf *
to_sockbuf(lua_State *L, int idx) {
	if (lua_type(L, idx) != LUA_TUSERDATA || lua_rawlen(L, idx) != sizeof(struct sockbuf))
		return NULL;
	struct sockbuf *sb = (struct sockbuf *)lua_touserdata(L, idx);
	return sb->tag == &sockbuf_tag ? sb : NULL;
}

/* push(buffer, pool, msg, size) -> bytes buffered */
static int
lpushbuffer(lua_State *L) {
	struct sockbuf *sb = to_sockbuf(L, 1);
	if (sb == NULL)
		return luaL_error(L, "need buffer object at param 1");
	char *msg = (char *)lua_touserdata(L, 3);
	if (msg == NULL)
		return luaL_error(L, "need message block at param 3");
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_Integer sz = luaL_checkinteger(L, 4);
	if (sz < 0 || sz > INT32_MAX - (lua_Integer)sb->total)
		return luaL_error(L, "invalid message size %d", (int)sz);
	struct chunk *c = sb->spare;
	if (c) {
		sb->spare = c->next;
		sb->nspare--;
	} else {
		c = (struct chunk *)skynet_malloc(sizeof(*c));
		if (c == NULL)
			return luaL_error(L, "socket buffer: out of memory");
	}
	c->next = NULL;
	c->data = msg;
	c->size = (int)sz;
	if (sb->tail) {
		sb->tail->next = c;
	} else {
		sb->head = c;
	}
	sb->tail = c;
	sb->total += (int)sz;
	lua_pushinteger(L, sb->total);
	return 1;
}

/*
 * Remove n bytes from the front of the buffer and push them as a string,
 * leaving out the last `tail` bytes (a line separator).  n <= total.
 */
static void
take_front(lua_State *L, struct sockbuf *sb, int n, int tail) {
	struct chunk *c = sb->head;
	int avail = c->size - sb->offset;
	if (n <= avail) {
		lua_pushlstring(L, c->data + sb->offset, (size_t)(n - tail));
		consume(sb, n);
		sb->total -= n;
		return;
	}
	int keep = n - tail;
	luaL_Buffer b;
	luaL_buffinitsize(L, &b, (size_t)(keep > 0 ? keep : 0));
	sb->total -= n;
	while (n > 0) {
		c = sb->head;
		avail = c->size - sb->offset;
		int step = avail < n ? avail : n;
		int copy = step < keep ? step : keep;
		if (copy > 0) {
			luaL_addlstring(&b, c->data + sb->offset, (size_t)copy);
			keep -= copy;
		}
		consume(sb, step);
		n -= step;
	}
	luaL_pushresult(&b);
}

/* pop(buffer, pool, n) -> string or nil, bytes left */
static int
lpopbuffer(lua_State *L) {
	struct sockbuf *sb = to_sockbuf(L, 1);
	if (sb == NULL)
		return luaL_error(L, "Need buffer object at param 1");
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_Integer n = luaL_checkinteger(L, 3);
	if (n <= 0 || n > sb->total) {
		lua_pushnil(L);
	} else {
		take_front(L, sb, (int)n, 0);
	}
	lua_pushinteger(L, sb->total);
	return 2;
}

/* clear(buffer, pool) */
static int
lclearbuffer(lua_State *L) {
	struct sockbuf *sb = to_sockbuf(L, 1);
	if (sb == NULL) {
		if (lua_isnil(L, 1))
			return 0;
		return luaL_error(L, "Need buffer object at param 1");
	}
	luaL_checktype(L, 2, LUA_TTABLE);
	while (sb->head)
		drop_head(sb);
	sb->total = 0;
	return 0;
}

/* readall(buffer, pool) -> every unread byte as one string ("" when none) */
static int
lreadall(lua_State *L) {
	struct sockbuf *sb = to_sockbuf(L, 1);
	if (sb == NULL)
		return luaL_error(L, "Need buffer object at param 1");
	luaL_checktype(L, 2, LUA_TTABLE);
	if (sb->total > 0)
		take_front(L, sb, sb->total, 0);
	else
		lua_pushliteral(L, "");
	return 1;
}

/* does sep occur at byte `pos` of chunk c (possibly spanning chunks)? */
static int
match_at(const struct chunk *c, int pos, const char *sep, size_t seplen) {
	while (seplen > 0) {
		if (c == NULL)
			return 0;
		size_t here = (size_t)(c->size - pos);
		if (here > seplen)
			here = seplen;
		if (here > 0 && memcmp(c->data + pos, sep, here) != 0)
			return 0;
		sep += here;
		seplen -= here;
		c = c->next;
		pos = 0;
	}
	return 1;
}

/*
 * readline(buffer, pool, sep) -> line without sep, or nothing
 * readline(buffer, nil, sep)  -> true when a line is complete, or nothing
 */
static int
lreadline(lua_State *L) {
	struct sockbuf *sb = to_sockbuf(L, 1);
	if (sb == NULL)
		return luaL_error(L, "Need buffer object at param 1");
	int peek_only = !lua_istable(L, 2);
	size_t seplen = 0;
	const char *sep = luaL_checklstring(L, 3, &seplen);
	if (sb->head == NULL)
		return 0;
	if (seplen > (size_t)sb->total)
		return 0;
	int last = sb->total - (int)seplen;   /* last possible start */
	const struct chunk *c = sb->head;
	int pos = sb->offset;
	int i;
	for (i = 0; i <= last; i++) {
		while (c && pos >= c->size) {
			c = c->next;
			pos = 0;
		}
		if (c == NULL)
			break;
		if (match_at(c, pos, sep, seplen)) {
			if (peek_only) {
				lua_pushboolean(L, 1);
			} else {
				take_front(L, sb, i + (int)seplen, (int)seplen);
			}
			return 1;
		}
		pos++;
	}
	return 0;
}

/* drop(msg, size): free a message block nobody will read */
static int
ldrop(lua_State *L) {
	luaL_checkinteger(L, 2);
	skynet_free(lua_touserdata(L, 1));
	return 0;
}

/* str2p(string) -> lightuserdata copy, size */
static int
lstr2p(lua_State *L) {
	size_t n = 0;
	const char *s = luaL_checklstring(L, 1, &n);
	void *p = skynet_malloc(n);
	if (p == NULL && n > 0)
		return luaL_error(L, "str2p: out of memory");
	if (n > 0)
		memcpy(p, s, n);
	lua_pushlightuserdata(L, p);
	lua_pushinteger(L, (lua_Integer)n);
	return 2;
}

/* header(string of 1..4 bytes) -> big-endian unsigned value */
static int
lheader(lua_State *L) {
	size_t n = 0;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	if (n < 1 || n > 4)
		return luaL_error(L, "Invalid read %s", (const char *)s);
	lua_Integer v = 0;
	size_t i;
	for (i = 0; i < n; i++)
		v = (v << 8) | s[i];
	lua_pushinteger(L, v);
	return 1;
}

/* ------------------------------------------------------------ messages */

/* unpack(msg, size) -> type, id, ud, data [, udp address] */
static int
lunpack(lua_State *L) {
	const struct skynet_socket_message *m =
		(const struct skynet_socket_message *)lua_touserdata(L, 1);
	lua_Integer size = luaL_checkinteger(L, 2);
	if (m == NULL)
		return luaL_error(L, "Invalid socket message");
	lua_pushinteger(L, m->type);
	lua_pushinteger(L, m->id);
	lua_pushinteger(L, m->ud);
	if (m->buffer == NULL) {
		/* short payload stored right after the header */
		lua_Integer extra = size - (lua_Integer)sizeof(*m);
		if (extra < 0)
			extra = 0;
		lua_pushlstring(L, (const char *)(m + 1), (size_t)extra);
	} else {
		lua_pushlightuserdata(L, m->buffer);
	}
	if (m->type == SKYNET_SOCKET_TYPE_UDP) {
		int alen = 0;
		const char *addr = skynet_socket_udp_address((struct skynet_socket_message *)m, &alen);
		if (addr) {
			lua_pushlstring(L, addr, (size_t)alen);
			return 5;
		}
	}
	return 4;
}

/* ------------------------------------------------------------ addresses */

static int
port_number(lua_State *L, const char *text, const char *whole) {
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v > 65535)
		luaL_error(L, "Invalid port in address %s.", whole);
	return (int)v;
}

/*
 * Host and port from argument `ai` (and `pi` for the port).  When the port
 * argument is absent, the address carries it: "host:port" or
 * "[ipv6]:port".  The host string is pushed on the stack (so it stays
 * alive while the caller runs) and returned.
 */
static const char *
host_and_port(lua_State *L, const char *addr, int pi, int *port) {
	if (!lua_isnoneornil(L, pi)) {
		*port = (int)luaL_optinteger(L, pi, 0);
		lua_pushstring(L, addr);
		return lua_tostring(L, -1);
	}
	const char *open = strchr(addr, '[');
	if (open) {
		const char *close = strchr(addr, ']');
		if (close == NULL || close < open)
			luaL_error(L, "Invalid address %s.", addr);
		const char *colon = strchr(close + 1, ':');
		if (colon == NULL)
			luaL_error(L, "Invalid address %s.", addr);
		*port = port_number(L, colon + 1, addr);
		lua_pushlstring(L, open + 1, (size_t)(close - open - 1));
	} else {
		const char *colon = strchr(addr, ':');
		if (colon == NULL)
			luaL_error(L, "Invalid address %s.", addr);
		*port = port_number(L, colon + 1, addr);
		lua_pushlstring(L, addr, (size_t)(colon - addr));
	}
	return lua_tostring(L, -1);
}

static struct skynet_context *
owner(lua_State *L) {
	return (struct skynet_context *)lua_touserdata(L, lua_upvalueindex(1));
}

static int
lconnect(lua_State *L) {
	const char *addr = luaL_checkstring(L, 1);
	int port = 0;
	const char *host = host_and_port(L, addr, 2, &port);
	if (port == 0)
		return luaL_error(L, "Invalid port");
	lua_pushinteger(L, skynet_socket_connect(owner(L), host, port));
	return 1;
}

static int
lclose(lua_State *L) {
	int id = (int)luaL_checkinteger(L, 1);
	skynet_socket_close(owner(L), id);
	return 0;
}

static int
lshutdown(lua_State *L) {
	int id = (int)luaL_checkinteger(L, 1);
	skynet_socket_shutdown(owner(L), id);
	return 0;
}

static int
llisten(lua_State *L) {
	const char *addr = luaL_checkstring(L, 1);
	int port = 0;
	int backlog = (int)luaL_optinteger(L, 3, DEFAULT_BACKLOG);
	const char *host = host_and_port(L, addr, 2, &port);
	int id = skynet_socket_listen(owner(L), host, port, backlog);
	if (id < 0)
		return luaL_error(L, "Listen error");
	lua_pushinteger(L, id);
	return 1;
}

/* ------------------------------------------------------------ sending */

/* join the strings t[1], t[2], ... into one skynet_malloc'ed block */
static void
join_strings(lua_State *L, int t, struct socket_sendbuffer *out) {
	size_t total = 0;
	lua_Integer i;
	for (i = 1; lua_geti(L, t, i) != LUA_TNIL; i++) {
		size_t n;
		luaL_checklstring(L, -1, &n);
		total += n;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	char *block = (char *)skynet_malloc(total);
	if (block == NULL && total > 0)
		luaL_error(L, "socket send: out of memory");
	size_t used = 0;
	int ok = 1;
	for (i = 1; lua_geti(L, t, i) != LUA_TNIL; i++) {
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);
		lua_pop(L, 1);
		if (s == NULL || n > total - used) {
			ok = 0;
			break;
		}
		memcpy(block + used, s, n);
		used += n;
	}
	lua_pop(L, 1);
	if (!ok || used != total) {
		skynet_free(block);
		luaL_error(L, "Invalid strings table");
	}
	out->type = SOCKET_BUFFER_MEMORY;
	out->buffer = block;
	out->sz = total;
}

/*
 * What to send, from argument `idx`:
 *   full userdata [, size]   raw bytes, copied by the socket layer
 *   lightuserdata [, size]   a block handed over (size < 0 or absent: a
 *                            user object)
 *   table of strings         concatenated
 *   string                   raw bytes, copied by the socket layer
 */
static void
send_payload(lua_State *L, int idx, struct socket_sendbuffer *out) {
	switch (lua_type(L, idx)) {
	case LUA_TUSERDATA:
		out->type = SOCKET_BUFFER_RAWPOINTER;
		out->buffer = lua_touserdata(L, idx);
		if (lua_isinteger(L, idx + 1)) {
			out->sz = (size_t)lua_tointeger(L, idx + 1);
		} else {
			out->sz = lua_rawlen(L, idx);
		}
		break;
	case LUA_TLIGHTUSERDATA: {
		int sz = -1;
		if (lua_isinteger(L, idx + 1))
			sz = (int)lua_tointeger(L, idx + 1);
		out->type = sz < 0 ? SOCKET_BUFFER_OBJECT : SOCKET_BUFFER_MEMORY;
		out->buffer = lua_touserdata(L, idx);
		out->sz = (size_t)sz;
		break;
	}
	case LUA_TTABLE:
		join_strings(L, idx, out);
		break;
	default: {
		size_t n = 0;
		out->type = SOCKET_BUFFER_RAWPOINTER;
		out->buffer = luaL_checklstring(L, idx, &n);
		out->sz = n;
		break;
	}
	}
}

static int
lsend(lua_State *L) {
	struct socket_sendbuffer sb;
	sb.id = (int)luaL_checkinteger(L, 1);
	send_payload(L, 2, &sb);
	lua_pushboolean(L, skynet_socket_sendbuffer(owner(L), &sb) == 0);
	return 1;
}

static int
lsendlow(lua_State *L) {
	struct socket_sendbuffer sb;
	sb.id = (int)luaL_checkinteger(L, 1);
	send_payload(L, 2, &sb);
	lua_pushboolean(L, skynet_socket_sendbuffer_lowpriority(owner(L), &sb) == 0);
	return 1;
}

static int
lbind(lua_State *L) {
	int fd = (int)luaL_checkinteger(L, 1);
	lua_pushinteger(L, skynet_socket_bind(owner(L), fd));
	return 1;
}

static int
lstart(lua_State *L) {
	int id = (int)luaL_checkinteger(L, 1);
	skynet_socket_start(owner(L), id);
	return 0;
}

static int
lpause(lua_State *L) {
	int id = (int)luaL_checkinteger(L, 1);
	skynet_socket_pause(owner(L), id);
	return 0;
}

static int
lnodelay(lua_State *L) {
	int id = (int)luaL_checkinteger(L, 1);
	skynet_socket_nodelay(owner(L), id);
	return 0;
}

/* ------------------------------------------------------------ udp */

static int
ludp(lua_State *L) {
	const char *addr = lua_tostring(L, 1);
	const char *host = NULL;
	int port = 0;
	if (addr)
		host = host_and_port(L, addr, 2, &port);
	int id = skynet_socket_udp(owner(L), host, port);
	if (id < 0)
		return luaL_error(L, "udp init failed");
	lua_pushinteger(L, id);
	return 1;
}

static int
ludp_connect(lua_State *L) {
	int id = (int)luaL_checkinteger(L, 1);
	const char *addr = luaL_checkstring(L, 2);
	int port = 0;
	const char *host = host_and_port(L, addr, 3, &port);
	if (skynet_socket_udp_connect(owner(L), id, host, port))
		return luaL_error(L, "udp connect failed");
	return 0;
}

static int
ludp_dial(lua_State *L) {
	const char *addr = luaL_checkstring(L, 1);
	int port = 0;
	const char *host = host_and_port(L, addr, 2, &port);
	int id = skynet_socket_udp_dial(owner(L), host, port);
	if (id < 0)
		return luaL_error(L, "udp dial host failed");
	lua_pushinteger(L, id);
	return 1;
}

static int
ludp_listen(lua_State *L) {
	const char *addr = luaL_checkstring(L, 1);
	int port = 0;
	const char *host = host_and_port(L, addr, 2, &port);
	int id = skynet_socket_udp_listen(owner(L), host, port);
	if (id < 0)
		return luaL_error(L, "udp listen host failed");
	lua_pushinteger(L, id);
	return 1;
}

static int
ludp_send(lua_State *L) {
	struct socket_sendbuffer sb;
	sb.id = (int)luaL_checkinteger(L, 1);
	const char *address = luaL_checkstring(L, 2);
	send_payload(L, 3, &sb);
	lua_pushboolean(L, skynet_socket_udp_sendbuffer(owner(L), address, &sb) == 0);
	return 1;
}

/*
 * udp_address(packed) -> ip, port
 * packed = 1 byte protocol tag, 2 bytes port (network order), then 4 (ipv4)
 * or 16 (ipv6) address bytes.
 */
static int
ludp_address(lua_State *L) {
	size_t n = 0;
	const unsigned char *a = (const unsigned char *)luaL_checklstring(L, 1, &n);
	int family;
	if (n == 1 + 2 + 4) {
		family = AF_INET;
	} else if (n == 1 + 2 + 16) {
		family = AF_INET6;
	} else {
		return luaL_error(L, "Invalid udp address");
	}
	int port = (a[1] << 8) | a[2];
	char text[INET6_ADDRSTRLEN + 1];
	if (inet_ntop(family, a + 3, text, sizeof(text)) == NULL)
		return luaL_error(L, "Invalid udp address");
	lua_pushstring(L, text);
	lua_pushinteger(L, port);
	return 2;
}

/* ------------------------------------------------------------ info */

static void
set_int(lua_State *L, const char *k, lua_Integer v) {
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

static void
set_str(lua_State *L, const char *k, const char *v) {
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

static void
set_bool(lua_State *L, const char *k, int v) {
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

static void
push_socket_info(lua_State *L, const struct socket_info *si) {
	lua_createtable(L, 0, 12);
	set_int(L, "id", si->id);
	set_int(L, "address", (lua_Integer)si->opaque);
	const char *kind;
	switch (si->type) {
	case SOCKET_INFO_LISTEN:
		set_str(L, "type", "LISTEN");
		set_int(L, "accept", (lua_Integer)si->read);
		set_int(L, "rtime", (lua_Integer)si->rtime);
		if (si->name[0])
			set_str(L, "sock", si->name);
		return;
	case SOCKET_INFO_TCP:
		kind = "TCP";
		break;
	case SOCKET_INFO_UDP:
		kind = "UDP";
		break;
	case SOCKET_INFO_BIND:
		kind = "BIND";
		break;
	case SOCKET_INFO_CLOSING:
		kind = "CLOSING";
		break;
	default:
		set_str(L, "type", "UNKNOWN");
		return;
	}
	set_str(L, "type", kind);
	set_int(L, "read", (lua_Integer)si->read);
	set_int(L, "write", (lua_Integer)si->write);
	set_int(L, "wbuffer", (lua_Integer)si->wbuffer);
	set_int(L, "rtime", (lua_Integer)si->rtime);
	set_int(L, "wtime", (lua_Integer)si->wtime);
	set_bool(L, "reading", si->reading);
	set_bool(L, "writing", si->writing);
	if (si->name[0])
		set_str(L, "peer", si->name);
}

static int
linfo(lua_State *L) {
	lua_newtable(L);
	struct socket_info *list = skynet_socket_info();
	const struct socket_info *it;
	lua_Integer n = 0;
	for (it = list; it; it = it->next) {
		push_socket_info(L, it);
		lua_rawseti(L, -2, ++n);
	}
	if (list)
		socket_info_release(list);
	return 1;
}

/* resolve(host) -> { address strings } */
static int
lresolve(lua_State *L) {
	const char *host = luaL_checkstring(L, 1);
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	memset(&hints, 0, sizeof(hints));
	int err = getaddrinfo(host, NULL, &hints, &res);
	if (err != 0)
		return luaL_error(L, "%s", gai_strerror(err));
	lua_newtable(L);
	lua_Integer n = 0;
	const struct addrinfo *ai;
	for (ai = res; ai; ai = ai->ai_next) {
		const void *where;
		if (ai->ai_family == AF_INET) {
			where = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		} else if (ai->ai_family == AF_INET6) {
			where = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		} else {
			continue;
		}
		char text[INET6_ADDRSTRLEN + 1];
		if (inet_ntop(ai->ai_family, where, text, sizeof(text))) {
			lua_pushstring(L, text);
			lua_rawseti(L, -2, ++n);
		}
	}
	freeaddrinfo(res);
	return 1;
}

/*
 * The module's functions.  Those marked SERVICE act for the calling service:
 * they get its skynet_context (the registry's "skynet_context") as upvalue 1.
 */
#define PLAIN 0
#define SERVICE 1

static const struct {
	const char *name;
	lua_CFunction fn;
	int needs;
} driver_api[] = {
	/* receive buffers */
	{ "buffer", lnewbuffer, PLAIN },
	{ "clear", lclearbuffer, PLAIN },
	{ "pop", lpopbuffer, PLAIN },
	{ "push", lpushbuffer, PLAIN },
	{ "readall", lreadall, PLAIN },
	{ "readline", lreadline, PLAIN },
	/* messages and bytes */
	{ "drop", ldrop, PLAIN },
	{ "header", lheader, PLAIN },
	{ "str2p", lstr2p, PLAIN },
	{ "unpack", lunpack, PLAIN },
	{ "info", linfo, PLAIN },
	/* TCP */
	{ "bind", lbind, SERVICE },
	{ "close", lclose, SERVICE },
	{ "connect", lconnect, SERVICE },
	{ "listen", llisten, SERVICE },
	{ "lsend", lsendlow, SERVICE },
	{ "nodelay", lnodelay, SERVICE },
	{ "pause", lpause, SERVICE },
	{ "send", lsend, SERVICE },
	{ "shutdown", lshutdown, SERVICE },
	{ "start", lstart, SERVICE },
	/* UDP */
	{ "udp", ludp, SERVICE },
	{ "udp_address", ludp_address, SERVICE },
	{ "udp_connect", ludp_connect, SERVICE },
	{ "udp_dial", ludp_dial, SERVICE },
	{ "udp_listen", ludp_listen, SERVICE },
	{ "udp_send", ludp_send, SERVICE },
	/* names */
	{ "resolve", lresolve, SERVICE },
};

LUAMOD_API int
luaopen_skynet_socketdriver(lua_State *L) {
	luaL_checkversion(L);
	size_t count = sizeof(driver_api) / sizeof(driver_api[0]);
	lua_createtable(L, 0, (int)count);
	lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
	void *ctx = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (ctx == NULL)
		return luaL_error(L, "Init skynet context first");
	size_t i;
	for (i = 0; i < count; i++) {
		if (driver_api[i].needs == SERVICE) {
			lua_pushlightuserdata(L, ctx);
			lua_pushcclosure(L, driver_api[i].fn, 1);
		} else {
			lua_pushcfunction(L, driver_api[i].fn);
		}
		lua_setfield(L, -2, driver_api[i].name);
	}
	return 1;
}
