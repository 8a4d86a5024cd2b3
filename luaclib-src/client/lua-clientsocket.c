/*
 * client.socket : a minimal blocking/non-blocking TCP helper for the demo
 * command line clients (not for use inside skynet services).
 *
 *   fd = connect(ip, port)      IPv4 connect, then switch to non-blocking
 *   data = recv(fd)             string; "" when closed; nothing if no data
 *   send(fd, str)               write everything (busy-waits when full)
 *   shutdown(fd, "r"|"w"|"rw")
 *   close(fd)
 *   usleep(microseconds)
 *   line = readstdin()          next line typed on stdin, or nothing
 *
 * Standard input is read by a background thread started by the first
 * readstdin(); once it is, reaching the end of standard input terminates the
 * process (a client that never calls readstdin leaves stdin alone).
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define RECV_CHUNK 4096

static int
lconnect(lua_State *L) {
	const char *ip = luaL_checkstring(L, 1);
	int port = (int)luaL_checkinteger(L, 2);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = inet_addr(ip);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return luaL_error(L, "Connect %s %d failed", ip, port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return luaL_error(L, "Connect %s %d failed", ip, port);
	}
	int fl = fcntl(fd, F_GETFL, 0);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	lua_pushinteger(L, fd);
	return 1;
}

static int
lclose(lua_State *L) {
	close((int)luaL_checkinteger(L, 1));
	return 0;
}

static int
lsend(lua_State *L) {
	int fd = (int)luaL_checkinteger(L, 1);
	size_t n = 0;
	const char *p = luaL_checklstring(L, 2, &n);
	while (n > 0) {
		ssize_t w = send(fd, p, n, 0);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return luaL_error(L, "socket error: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
lrecv(lua_State *L) {
	int fd = (int)luaL_checkinteger(L, 1);
	char buf[RECV_CHUNK];
	ssize_t r = recv(fd, buf, sizeof(buf), 0);
	if (r == 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return luaL_error(L, "socket error: %s", strerror(errno));
	}
	lua_pushlstring(L, buf, (size_t)r);
	return 1;
}

static int
lshutdown(lua_State *L) {
	int fd = (int)luaL_checkinteger(L, 1);
	const char *mode = luaL_checkstring(L, 2);
	int rd = 0, wr = 0;
	const char *m;
	for (m = mode; *m; m++) {
		if (*m == 'r')
			rd = 1;
		else if (*m == 'w')
			wr = 1;
		else
			return luaL_error(L, "Invalid mode %c", *m);
	}
	if (!rd && !wr)
		return luaL_error(L, "mode should be r or/and w");
	shutdown(fd, rd && wr ? SHUT_RDWR : (rd ? SHUT_RD : SHUT_WR));
	return 0;
}

static int
lusleep(lua_State *L) {
	lua_Number us = luaL_checknumber(L, 1);
	if (us > 0)
		usleep((useconds_t)us);
	return 0;
}

/* ------------------------------------------------------------ stdin */

struct line {
	struct line *next;
	char text[];
};

static struct {
	pthread_mutex_t mu;
	struct line *first;
	struct line *last;
} typed = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL };

static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

static void *
stdin_reader(void *arg) {
	(void)arg;
	char *buf = NULL;
	size_t cap = 0;
	for (;;) {
		ssize_t n = getline(&buf, &cap, stdin);
		if (n < 0)
			exit(1);        /* end of input ends the client */
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		struct line *l = (struct line *)malloc(sizeof(*l) + (size_t)n + 1);
		if (l == NULL)
			exit(1);
		memcpy(l->text, buf, (size_t)n + 1);
		l->next = NULL;
		pthread_mutex_lock(&typed.mu);
		if (typed.last)
			typed.last->next = l;
		else
			typed.first = l;
		typed.last = l;
		pthread_mutex_unlock(&typed.mu);
	}
	return NULL;
}

static void
start_reader(void) {
	pthread_t tid;
	if (pthread_create(&tid, NULL, stdin_reader, NULL) == 0)
		pthread_detach(tid);
}

static int
lreadstdin(lua_State *L) {
	pthread_once(&reader_once, start_reader);
	pthread_mutex_lock(&typed.mu);
	struct line *l = typed.first;
	if (l) {
		typed.first = l->next;
		if (typed.first == NULL)
			typed.last = NULL;
	}
	pthread_mutex_unlock(&typed.mu);
	if (l == NULL)
		return 0;
	lua_pushstring(L, l->text);
	free(l);
	return 1;
}

LUAMOD_API int
luaopen_client_socket(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		{ "connect", lconnect },
		{ "recv", lrecv },
		{ "send", lsend },
		{ "shutdown", lshutdown },
		{ "close", lclose },
		{ "usleep", lusleep },
		{ "readstdin", lreadstdin },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
