/*
 * ltls.c: TLS over OpenSSL for http.tlshelper, with no socket of its own.  A connection's
 * TLS state reads the bytes that arrived from the peer and gives back the bytes to send,
 * through two memory BIOs; skynet.socket moves them.
 *
 *   local c = require "ltls.c"
 *   ctx = c.newctx()                 ctx:set_cert(certfile, keyfile), ctx:set_ciphers(list)
 *   tls = c.newtls("client"|"server", ctx [, hostname])
 *   tls:set_ext_host_name(name)      SNI for a client
 *   out = tls:handshake([in])        feeds `in`, advances the handshake, returns bytes to send
 *   tls:finished()                   true once the handshake is done
 *   plain = tls:read(in)             feeds `in`, returns the plaintext it completes ("" if none)
 *   out = tls:write([plain])         encrypts `plain`, returns bytes to send (pending ones too)
 *   tls:close()                      frees the connection (also done by the collector)
 *
 * A client does not verify the server's certificate (as skynet's own ltls).
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>

#include <string.h>

#define CTX_META "ltls.ctx"
#define TLS_META "ltls.tls"

struct tls_ctx {
	SSL_CTX *ctx;
};

struct tls_conn {
	SSL *ssl;
	BIO *in;	/* bytes from the peer, read by OpenSSL */
	BIO *out;	/* bytes OpenSSL wrote, for the peer */
	int server;
};

static int
raise_ssl(lua_State *L, const char *what) {
	unsigned long e = ERR_get_error();
	char buf[256];
	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		ERR_clear_error();
		return luaL_error(L, "%s: %s", what, buf);
	}
	return luaL_error(L, "%s", what);
}

static struct tls_ctx *
check_ctx(lua_State *L, int idx) {
	struct tls_ctx *c = luaL_checkudata(L, idx, CTX_META);
	if (c->ctx == NULL)
		luaL_error(L, "ltls: context is freed");
	return c;
}

static struct tls_conn *
check_conn(lua_State *L, int idx) {
	struct tls_conn *t = luaL_checkudata(L, idx, TLS_META);
	if (t->ssl == NULL)
		luaL_error(L, "ltls: connection is closed");
	return t;
}

static int
lctx_gc(lua_State *L) {
	struct tls_ctx *c = luaL_checkudata(L, 1, CTX_META);
	SSL_CTX *ctx = c->ctx;
	c->ctx = NULL;
	SSL_CTX_free(ctx);	/* NULL is fine */
	return 0;
}

/* ctx:set_cert(certfile, keyfile): a PEM chain and its private key, checked together. */
static int
lctx_set_cert(lua_State *L) {
	SSL_CTX *ctx = check_ctx(L, 1)->ctx;
	const char *files[2] = { luaL_checkstring(L, 2), luaL_checkstring(L, 3) };
	const char *failed = NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, files[0]) != 1)
		failed = "ltls: can't use certificate file";
	else if (SSL_CTX_use_PrivateKey_file(ctx, files[1], SSL_FILETYPE_PEM) != 1)
		failed = "ltls: can't use private key file";
	else if (SSL_CTX_check_private_key(ctx) != 1)
		failed = "ltls: private key does not match the certificate";
	return failed ? raise_ssl(L, failed) : 0;
}

static int
lctx_set_ciphers(lua_State *L) {
	struct tls_ctx *c = check_ctx(L, 1);
	const char *list = luaL_checkstring(L, 2);
	if (SSL_CTX_set_cipher_list(c->ctx, list) != 1)
		return raise_ssl(L, "ltls: bad cipher list");
	return 0;
}

static int
lnewctx(lua_State *L) {
	struct tls_ctx *c = lua_newuserdatauv(L, sizeof(*c), 0);
	c->ctx = SSL_CTX_new(TLS_method());
	if (c->ctx == NULL)
		return raise_ssl(L, "ltls: SSL_CTX_new failed");
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	luaL_setmetatable(L, CTX_META);
	return 1;
}

/* Everything OpenSSL has written for the peer, as one string. */
static void
push_output(lua_State *L, struct tls_conn *t) {
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	char tmp[4096];
	int n;
	while ((n = BIO_read(t->out, tmp, sizeof(tmp))) > 0)
		luaL_addlstring(&b, tmp, (size_t)n);
	luaL_pushresult(&b);
}

static void
feed(lua_State *L, struct tls_conn *t, int idx) {
	size_t sz = 0;
	const char *s = luaL_optlstring(L, idx, NULL, &sz);
	if (s && sz > 0) {
		if (BIO_write(t->in, s, (int)sz) != (int)sz)
			luaL_error(L, "ltls: BIO_write failed");
	}
}

static int
lconn_gc(lua_State *L) {
	struct tls_conn *t = luaL_checkudata(L, 1, TLS_META);
	if (t->ssl) {
		SSL_free(t->ssl);	/* frees both BIOs */
		t->ssl = NULL;
	}
	return 0;
}

static int
lconn_finished(lua_State *L) {
	struct tls_conn *t = check_conn(L, 1);
	lua_pushboolean(L, SSL_is_init_finished(t->ssl));
	return 1;
}

static int
lconn_handshake(lua_State *L) {
	struct tls_conn *t = check_conn(L, 1);
	feed(L, t, 2);
	int r = SSL_do_handshake(t->ssl);
	if (r != 1) {
		int e = SSL_get_error(t->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return raise_ssl(L, "ltls: handshake failed");
	}
	push_output(L, t);
	return 1;
}

static int
lconn_read(lua_State *L) {
	struct tls_conn *t = check_conn(L, 1);
	feed(L, t, 2);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	char tmp[4096];
	for (;;) {
		int n = SSL_read(t->ssl, tmp, sizeof(tmp));
		if (n > 0) {
			luaL_addlstring(&b, tmp, (size_t)n);
			continue;
		}
		int e = SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_ZERO_RETURN)
			break;
		return raise_ssl(L, "ltls: read failed");
	}
	luaL_pushresult(&b);
	return 1;
}

static int
lconn_write(lua_State *L) {
	struct tls_conn *t = check_conn(L, 1);
	size_t sz = 0;
	const char *s = luaL_optlstring(L, 2, NULL, &sz);
	while (s && sz > 0) {
		int n = SSL_write(t->ssl, s, sz > 0x40000000 ? 0x40000000 : (int)sz);
		if (n <= 0)
			return raise_ssl(L, "ltls: write failed");
		s += n;
		sz -= (size_t)n;
	}
	push_output(L, t);
	return 1;
}

static int
lconn_set_host(lua_State *L) {
	struct tls_conn *t = check_conn(L, 1);
	const char *name = luaL_checkstring(L, 2);
	if (SSL_set_tlsext_host_name(t->ssl, name) != 1)
		return raise_ssl(L, "ltls: can't set the server name");
	return 0;
}

static int
lnewtls(lua_State *L) {
	const char *method = luaL_checkstring(L, 1);
	struct tls_ctx *c = check_ctx(L, 2);
	const char *host = luaL_optstring(L, 3, NULL);
	int server;
	if (strcmp(method, "server") == 0)
		server = 1;
	else if (strcmp(method, "client") == 0)
		server = 0;
	else
		return luaL_error(L, "ltls: method must be \"client\" or \"server\", not %s", method);
	struct tls_conn *t = lua_newuserdatauv(L, sizeof(*t), 1);
	memset(t, 0, sizeof(*t));
	luaL_setmetatable(L, TLS_META);
	/* the connection keeps its context alive */
	lua_pushvalue(L, 2);
	lua_setiuservalue(L, -2, 1);
	t->ssl = SSL_new(c->ctx);
	if (t->ssl == NULL)
		return raise_ssl(L, "ltls: SSL_new failed");
	t->in = BIO_new(BIO_s_mem());
	t->out = BIO_new(BIO_s_mem());
	if (t->in == NULL || t->out == NULL) {
		if (t->in) BIO_free(t->in);
		if (t->out) BIO_free(t->out);
		SSL_free(t->ssl);
		t->ssl = NULL;
		return luaL_error(L, "ltls: BIO_new failed");
	}
	BIO_set_mem_eof_return(t->in, -1);
	BIO_set_mem_eof_return(t->out, -1);
	SSL_set_bio(t->ssl, t->in, t->out);
	t->server = server;
	if (server) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (host && SSL_set_tlsext_host_name(t->ssl, host) != 1)
			return raise_ssl(L, "ltls: can't set the server name");
	}
	return 1;
}

LUAMOD_API int
luaopen_ltls_c(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg ctx_methods[] = {
		{ "set_cert", lctx_set_cert },
		{ "set_ciphers", lctx_set_ciphers },
		{ NULL, NULL },
	};
	static const luaL_Reg conn_methods[] = {
		{ "close", lconn_gc },
		{ "finished", lconn_finished },
		{ "handshake", lconn_handshake },
		{ "read", lconn_read },
		{ "write", lconn_write },
		{ "set_ext_host_name", lconn_set_host },
		{ NULL, NULL },
	};
	if (luaL_newmetatable(L, CTX_META)) {
		luaL_newlib(L, ctx_methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, lctx_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	if (luaL_newmetatable(L, TLS_META)) {
		luaL_newlib(L, conn_methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, lconn_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	static const luaL_Reg funcs[] = {
		{ "newctx", lnewctx },
		{ "newtls", lnewtls },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}

/* OpenSSL 1.1 and later initialise themselves: "ltls.init.c" is kept for code that loads it. */
static int
lnothing(lua_State *L) {
	(void)L;
	return 0;
}

LUAMOD_API int
luaopen_ltls_init_c(lua_State *L) {
	static const luaL_Reg funcs[] = {
		{ "constructor", lnothing },
		{ "destructor", lnothing },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
