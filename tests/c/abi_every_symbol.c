/* Every header of include/ is included here, and every function they declare is checked:
 * - linked by name (this module holds a reference to each one, so the node fails to load it
 *   if the core lacks one), and looked up by name in the process (dlsym), which must give the
 *   same address; the names that skynet_malloc.h maps to the C library by macro are looked up
 *   as exported symbols of their own;
 * - the headers are read again at run time (config key abi_include) and every function they
 *   declare must be in the tables below: a declaration added without an export fails here;
 * - struct layouts and constants are those of upstream's headers (sizes and offsets measured
 *   on x86-64 Linux);
 * - the functions that are harmless inside a running node are also called.
 */
#include "atomic.h"
#include "malloc_hook.h"
#include "mem_info.h"
#include "rwlock.h"
#include "skynet.h"
#include "skynet_daemon.h"
#include "skynet_env.h"
#include "skynet_handle.h"
#include "skynet_harbor.h"
#include "skynet_imp.h"
#include "skynet_log.h"
#include "skynet_malloc.h"
#include "skynet_module.h"
#include "skynet_monitor.h"
#include "skynet_mq.h"
#include "skynet_server.h"
#include "skynet_socket.h"
#include "skynet_timer.h"
#include "socket_buffer.h"
#include "socket_info.h"
#include "spinlock.h"

#include "check.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ---- layouts and constants ---- */
#define OFF(t, f, n) _Static_assert(offsetof(t, f) == (n), #t "." #f " offset")
#define SIZE(t, n) _Static_assert(sizeof(t) == (n), "sizeof " #t)
#define VALUE(x, n) _Static_assert((x) == (n), #x)

#if defined(__x86_64__) || defined(__aarch64__)
SIZE(struct skynet_config, 56);
OFF(struct skynet_config, thread, 0);
OFF(struct skynet_config, harbor, 4);
OFF(struct skynet_config, profile, 8);
OFF(struct skynet_config, daemon, 16);
OFF(struct skynet_config, module_path, 24);
OFF(struct skynet_config, bootstrap, 32);
OFF(struct skynet_config, logger, 40);
OFF(struct skynet_config, logservice, 48);
SIZE(struct skynet_message, 24);
OFF(struct skynet_message, source, 0);
OFF(struct skynet_message, session, 4);
OFF(struct skynet_message, data, 8);
OFF(struct skynet_message, sz, 16);
SIZE(struct skynet_socket_message, 24);
OFF(struct skynet_socket_message, type, 0);
OFF(struct skynet_socket_message, id, 4);
OFF(struct skynet_socket_message, ud, 8);
OFF(struct skynet_socket_message, buffer, 16);
SIZE(struct socket_info, 200);
OFF(struct socket_info, id, 0);
OFF(struct socket_info, type, 4);
OFF(struct socket_info, opaque, 8);
OFF(struct socket_info, read, 16);
OFF(struct socket_info, write, 24);
OFF(struct socket_info, rtime, 32);
OFF(struct socket_info, wtime, 40);
OFF(struct socket_info, wbuffer, 48);
OFF(struct socket_info, reading, 56);
OFF(struct socket_info, writing, 57);
OFF(struct socket_info, name, 58);
OFF(struct socket_info, next, 192);
SIZE(struct socket_sendbuffer, 24);
OFF(struct socket_sendbuffer, id, 0);
OFF(struct socket_sendbuffer, type, 4);
OFF(struct socket_sendbuffer, buffer, 8);
OFF(struct socket_sendbuffer, sz, 16);
SIZE(struct remote_name, 20);
OFF(struct remote_name, handle, 16);
SIZE(struct remote_message, 48);
OFF(struct remote_message, destination, 0);
OFF(struct remote_message, message, 24);
OFF(struct remote_message, sz, 32);
OFF(struct remote_message, type, 40);
SIZE(struct skynet_module, 48);
OFF(struct skynet_module, name, 0);
OFF(struct skynet_module, module, 8);
OFF(struct skynet_module, create, 16);
OFF(struct skynet_module, init, 24);
OFF(struct skynet_module, release, 32);
OFF(struct skynet_module, signal, 40);
SIZE(MemInfo, 32);
SIZE(AtomicMemInfo, 128);
OFF(AtomicMemInfo, free, 64);
VALUE(MESSAGE_TYPE_SHIFT, 56);
VALUE(MESSAGE_TYPE_MASK, 0xffffffffffffffULL);
#endif

VALUE(PTYPE_TEXT, 0);
VALUE(PTYPE_RESPONSE, 1);
VALUE(PTYPE_MULTICAST, 2);
VALUE(PTYPE_CLIENT, 3);
VALUE(PTYPE_SYSTEM, 4);
VALUE(PTYPE_HARBOR, 5);
VALUE(PTYPE_SOCKET, 6);
VALUE(PTYPE_ERROR, 7);
VALUE(PTYPE_RESERVED_QUEUE, 8);
VALUE(PTYPE_RESERVED_DEBUG, 9);
VALUE(PTYPE_RESERVED_LUA, 10);
VALUE(PTYPE_RESERVED_SNAX, 11);
VALUE(PTYPE_TAG_DONTCOPY, 0x10000);
VALUE(PTYPE_TAG_ALLOCSESSION, 0x20000);
VALUE(SKYNET_SOCKET_TYPE_DATA, 1);
VALUE(SKYNET_SOCKET_TYPE_CONNECT, 2);
VALUE(SKYNET_SOCKET_TYPE_CLOSE, 3);
VALUE(SKYNET_SOCKET_TYPE_ACCEPT, 4);
VALUE(SKYNET_SOCKET_TYPE_ERROR, 5);
VALUE(SKYNET_SOCKET_TYPE_UDP, 6);
VALUE(SKYNET_SOCKET_TYPE_WARNING, 7);
VALUE(SOCKET_INFO_UNKNOWN, 0);
VALUE(SOCKET_INFO_LISTEN, 1);
VALUE(SOCKET_INFO_TCP, 2);
VALUE(SOCKET_INFO_UDP, 3);
VALUE(SOCKET_INFO_BIND, 4);
VALUE(SOCKET_INFO_CLOSING, 5);
VALUE(SOCKET_BUFFER_MEMORY, 0);
VALUE(SOCKET_BUFFER_OBJECT, 1);
VALUE(SOCKET_BUFFER_RAWPOINTER, 2);
VALUE(HANDLE_MASK, 0xffffff);
VALUE(HANDLE_REMOTE_SHIFT, 24);
VALUE(GLOBALNAME_LENGTH, 16);
VALUE(REMOTE_MAX, 256);
VALUE(THREAD_WORKER, 0);
VALUE(THREAD_MAIN, 1);
VALUE(THREAD_SOCKET, 2);
VALUE(THREAD_TIMER, 3);
VALUE(THREAD_MONITOR, 4);

/* ---- every declared function ---- */
struct symbol {
	const char *name;
	void *addr;
};

#define F(name) { #name, (void *)&name }

static const struct symbol functions[] = {
	/* malloc_hook.h */
	F(malloc_used_memory), F(malloc_memory_block), F(malloc_current_memory), F(memory_info_dump),
	F(mallctl_int64), F(mallctl_opt), F(mallctl_bool), F(mallctl_cmd), F(dump_c_mem),
	F(dump_mem_lua),
	/* mem_info.h */
	F(meminfo_init), F(atomic_meminfo_init), F(meminfo_alloc), F(atomic_meminfo_alloc),
	F(meminfo_free), F(atomic_meminfo_free), F(meminfo_merge), F(atomic_meminfo_merge),
	/* skynet.h */
	F(skynet_error), F(skynet_command), F(skynet_queryname), F(skynet_send), F(skynet_sendname),
	F(skynet_isremote), F(skynet_callback), F(skynet_current_handle), F(skynet_now),
	F(skynet_debug_memory),
	/* skynet_daemon.h */
	F(daemon_init), F(daemon_exit),
	/* skynet_env.h */
	F(skynet_getenv), F(skynet_setenv), F(skynet_env_init),
	/* skynet_handle.h */
	F(skynet_handle_register), F(skynet_handle_retire), F(skynet_handle_grab),
	F(skynet_handle_retireall), F(skynet_handle_findname), F(skynet_handle_namehandle),
	F(skynet_handle_init), F(skynet_handle_register_thread),
	/* skynet_harbor.h */
	F(skynet_harbor_send), F(skynet_harbor_message_isremote), F(skynet_harbor_init),
	F(skynet_harbor_start), F(skynet_harbor_exit),
	/* skynet_imp.h */
	F(skynet_start),
	/* skynet_log.h */
	F(skynet_log_open), F(skynet_log_close), F(skynet_log_output),
	/* skynet_malloc.h (the others are macros over the C library: see macro_mapped) */
	F(skynet_lalloc),
	/* skynet_module.h */
	F(skynet_module_query), F(skynet_module_instance_create), F(skynet_module_instance_init),
	F(skynet_module_instance_release), F(skynet_module_instance_signal), F(skynet_module_init),
	/* skynet_monitor.h */
	F(skynet_monitor_new), F(skynet_monitor_delete), F(skynet_monitor_trigger),
	F(skynet_monitor_check),
	/* skynet_mq.h */
	F(skynet_globalmq_push), F(skynet_globalmq_pop), F(skynet_mq_create),
	F(skynet_mq_mark_release), F(skynet_mq_release), F(skynet_mq_handle), F(skynet_mq_pop),
	F(skynet_mq_push), F(skynet_mq_length), F(skynet_mq_overload), F(skynet_mq_init),
	/* skynet_server.h */
	F(skynet_context_new), F(skynet_context_grab), F(skynet_context_reserve),
	F(skynet_context_release), F(skynet_context_handle), F(skynet_context_push),
	F(skynet_context_send), F(skynet_context_newsession), F(skynet_context_message_dispatch),
	F(skynet_context_total), F(skynet_context_dispatchall), F(skynet_context_endless),
	F(skynet_globalinit), F(skynet_globalexit), F(skynet_initthread), F(skynet_profile_enable),
	/* skynet_socket.h */
	F(skynet_socket_init), F(skynet_socket_exit), F(skynet_socket_free), F(skynet_socket_poll),
	F(skynet_socket_updatetime), F(skynet_socket_sendbuffer),
	F(skynet_socket_sendbuffer_lowpriority), F(skynet_socket_listen), F(skynet_socket_connect),
	F(skynet_socket_bind), F(skynet_socket_close), F(skynet_socket_shutdown),
	F(skynet_socket_start), F(skynet_socket_pause), F(skynet_socket_nodelay),
	F(skynet_socket_udp), F(skynet_socket_udp_connect), F(skynet_socket_udp_dial),
	F(skynet_socket_udp_listen), F(skynet_socket_udp_sendbuffer), F(skynet_socket_udp_address),
	F(skynet_socket_info), F(skynet_socket_userobject),
	/* skynet_timer.h */
	F(skynet_timeout), F(skynet_updatetime), F(skynet_starttime), F(skynet_thread_time),
	F(skynet_timer_init),
	/* socket_info.h */
	F(socket_info_create), F(socket_info_release),
};

/* Declared in skynet_malloc.h but mapped to the C library by macro in C: modules built
 * against headers without that mapping call them by these names. */
static const char *const macro_mapped[] = {
	"skynet_malloc", "skynet_calloc", "skynet_realloc", "skynet_free", "skynet_memalign",
	"skynet_aligned_alloc", "skynet_posix_memalign",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int
known(const char *name) {
	for (size_t i = 0; i < COUNT(functions); i++)
		if (strcmp(functions[i].name, name) == 0)
			return 1;
	for (size_t i = 0; i < COUNT(macro_mapped); i++)
		if (strcmp(macro_mapped[i], name) == 0)
			return 1;
	return 0;
}

/* ---- reading the headers ---- */

/* Comments and preprocessor lines blanked, `extern "C" {` dropped. */
static void
strip(char *s) {
	char *p = s;
	int line_start = 1;
	while (*p) {
		if (p[0] == '/' && p[1] == '*') {
			char *end = strstr(p + 2, "*/");
			char *stop = end ? end + 2 : p + strlen(p);
			for (; p < stop; p++)
				if (*p != '\n')
					*p = ' ';
			continue;
		}
		if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				*p++ = ' ';
			continue;
		}
		if (line_start) {
			char *q = p;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '#') {
				/* A directive, with its continuation lines. */
				while (*q && !(*q == '\n' && q[-1] != '\\'))
					*q++ = ' ';
				p = q;
				continue;
			}
		}
		line_start = (*p == '\n');
		p++;
	}
	for (p = strstr(s, "extern \"C\" {"); p; p = strstr(p, "extern \"C\" {"))
		memset(p, ' ', strlen("extern \"C\" {"));
}

/* Calls found(name) for each function declared (not defined) at file scope in text. */
static int
declarations(char *text, const char *file, struct skynet_context *ctx) {
	int bad = 0;
	int depth = 0;
	char *stmt = text;          /* start of the current statement */
	int paren_before_brace = 0; /* the statement had '(' before its first '{' */
	int seen_brace = 0;
	for (char *p = text; *p; p++) {
		if (*p == '(' && depth == 0 && !seen_brace)
			paren_before_brace = 1;
		if (*p == '{') {
			depth++;
			seen_brace = 1;
		} else if (*p == '}') {
			if (depth > 0)
				depth--;
			if (depth == 0 && paren_before_brace) {
				/* The end of an inline function's body: not a declaration. */
				stmt = p + 1;
				paren_before_brace = seen_brace = 0;
			}
		} else if (*p == ';' && depth == 0) {
			char *open = NULL;
			if (paren_before_brace && !seen_brace)
				open = memchr(stmt, '(', (size_t)(p - stmt));
			char *s = stmt;
			while (isspace((unsigned char)*s))
				s++;
			if (open && strncmp(s, "typedef", 7) != 0) {
				char *e = open;
				while (e > stmt && isspace((unsigned char)e[-1]))
					e--;
				char *b = e;
				while (b > stmt && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
					b--;
				char name[128];
				size_t n = (size_t)(e - b);
				if (n > 0 && n < sizeof(name)) {
					memcpy(name, b, n);
					name[n] = 0;
					if (!known(name)) {
						skynet_error(ctx, "TEST FAIL %s declares %s, which this test does not check",
							file, name);
						bad++;
					}
				}
			}
			stmt = p + 1;
			paren_before_brace = seen_brace = 0;
		}
	}
	return bad;
}

static int
read_headers(struct skynet_context *ctx, const char *dir, int *files) {
	DIR *d = opendir(dir);
	if (d == NULL) {
		skynet_error(ctx, "TEST FAIL can't open the header directory %s", dir);
		return 1;
	}
	int bad = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 3 || strcmp(e->d_name + len - 2, ".h") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (f == NULL) {
			skynet_error(ctx, "TEST FAIL can't read %s", path);
			bad++;
			continue;
		}
		fseek(f, 0, SEEK_END);
		long sz = ftell(f);
		fseek(f, 0, SEEK_SET);
		char *text = malloc((size_t)sz + 1);
		size_t got = fread(text, 1, (size_t)sz, f);
		text[got] = 0;
		fclose(f);
		strip(text);
		bad += declarations(text, e->d_name, ctx);
		free(text);
		(*files)++;
	}
	closedir(d);
	return bad;
}

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	return 0;
}

int
abi_every_symbol_init(void *inst, struct skynet_context *ctx, const char *parm) {
	skynet_callback(ctx, NULL, on_message);

	/* Linked by name, and the process exports the same function under that name. */
	int bad = 0;
	for (size_t i = 0; i < COUNT(functions); i++) {
		void *found = dlsym(RTLD_DEFAULT, functions[i].name);
		if (found == NULL || found != functions[i].addr) {
			skynet_error(ctx, "TEST FAIL %s: dlsym gives %p, the link %p", functions[i].name,
				found, functions[i].addr);
			bad++;
		}
	}
	for (size_t i = 0; i < COUNT(macro_mapped); i++) {
		if (dlsym(RTLD_DEFAULT, macro_mapped[i]) == NULL) {
			skynet_error(ctx, "TEST FAIL %s is not exported", macro_mapped[i]);
			bad++;
		}
	}
	CHECK_INIT(ctx, bad == 0);

	/* Nothing the headers declare is left out of the tables above. */
	const char *dir = skynet_getenv("abi_include");
	CHECK_INIT(ctx, dir != NULL);
	int files = 0;
	CHECK_INIT(ctx, read_headers(ctx, dir, &files) == 0);
	CHECK_INIT(ctx, files >= 15);

	/* The harmless ones, called through the exported names. */
	void *(*xmalloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "skynet_malloc");
	void *(*xrealloc)(void *, size_t) = (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "skynet_realloc");
	void (*xfree)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "skynet_free");
	char *block = xmalloc(16);
	CHECK_INIT(ctx, block != NULL);
	memset(block, 1, 16);
	block = xrealloc(block, 4096);
	CHECK_INIT(ctx, block != NULL && block[15] == 1);
	xfree(block);
	void *l = skynet_lalloc(NULL, 0, 32);
	CHECK_INIT(ctx, l != NULL);
	CHECK_INIT(ctx, skynet_lalloc(l, 32, 0) == NULL);

	uint32_t self = skynet_context_handle(ctx);
	CHECK_INIT(ctx, self != 0);
	CHECK_INIT(ctx, skynet_current_handle() == self);
	CHECK_INIT(ctx, skynet_starttime() > 0);
	uint64_t now = skynet_now();
	(void)now;
	(void)skynet_thread_time();
	CHECK_INIT(ctx, skynet_context_total() >= 2);
	CHECK_INIT(ctx, skynet_handle_findname("logger") != 0);
	CHECK_INIT(ctx, skynet_queryname(ctx, ".abi_nobody") == 0);
	CHECK_INIT(ctx, strcmp(skynet_getenv("abi_include"), dir) == 0);
	int harbor = -1;
	CHECK_INIT(ctx, skynet_isremote(ctx, self, &harbor) == 0);
	CHECK_INIT(ctx, skynet_harbor_message_isremote(self) == 0);
	CHECK_INIT(ctx, skynet_context_newsession(ctx) > 0);
	CHECK_INIT(ctx, skynet_module_query("abi_every_symbol") != NULL);

	MemInfo a, b;
	meminfo_init(&a);
	meminfo_init(&b);
	meminfo_alloc(&a, 100);
	meminfo_free(&a, 40);
	meminfo_merge(&b, &a);
	CHECK_INIT(ctx, b.alloc == 100 && b.free == 40 && b.alloc_count == 1 && b.free_count == 1);
	AtomicMemInfo at;
	atomic_meminfo_init(&at);
	atomic_meminfo_alloc(&at, 8);
	atomic_meminfo_free(&at, 8);
	atomic_meminfo_merge(&b, &at);
	CHECK_INIT(ctx, b.alloc == 108 && b.free == 48);
	(void)malloc_used_memory();
	(void)malloc_memory_block();
	(void)malloc_current_memory();

	struct socket_info *si = socket_info_create(NULL);
	CHECK_INIT(ctx, si != NULL);
	socket_info_release(si);

	skynet_error(ctx, "checked %d functions and %d macro-mapped names; %d headers read",
		(int)COUNT(functions), (int)COUNT(macro_mapped), files);
	test_pass(ctx);
	return 0;
}
