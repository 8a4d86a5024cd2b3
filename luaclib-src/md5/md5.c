/*
 * md5.core : MD5 (RFC 1321) for Lua, and the small cipher built on it.
 *
 *   sum(s)                     -> the 16-byte digest of s
 *   exor(a, b)                 -> a xor b (same lengths)
 *   crypt(msg, key [, seed])   -> seed length byte, seed, then msg in MD5 feedback mode
 *   decrypt(cipher, key)       -> msg
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <stdint.h>
#include <string.h>
#include <time.h>

struct md5 {
	uint32_t h[4];
	uint64_t total;          /* bytes hashed */
	uint8_t pending[64];
	size_t npending;
};

static uint32_t
rotl(uint32_t x, int n) {
	return x << n | x >> (32 - n);
}

/* per-round shift amounts, and the sines table K[i] = floor(|sin(i+1)| * 2^32) */
static const int shifts[4][4] = { { 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 } };
static const uint32_t K[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static void
compress(uint32_t h[4], const uint8_t block[64]) {
	uint32_t w[16];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8
			| (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
	for (int i = 0; i < 64; i++) {
		int round = i / 16;
		uint32_t f;
		int g;
		switch (round) {
		case 0: f = (b & c) | (~b & d); g = i; break;
		case 1: f = (d & b) | (~d & c); g = (5 * i + 1) % 16; break;
		case 2: f = b ^ c ^ d; g = (3 * i + 5) % 16; break;
		default: f = c ^ (b | ~d); g = (7 * i) % 16; break;
		}
		uint32_t next = b + rotl(a + f + K[i] + w[g], shifts[round][i % 4]);
		a = d;
		d = c;
		c = b;
		b = next;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

static void
md5_start(struct md5 *m) {
	m->h[0] = 0x67452301;
	m->h[1] = 0xefcdab89;
	m->h[2] = 0x98badcfe;
	m->h[3] = 0x10325476;
	m->total = 0;
	m->npending = 0;
}

static void
md5_feed(struct md5 *m, const uint8_t *p, size_t n) {
	m->total += n;
	while (n > 0) {
		size_t take = 64 - m->npending;
		if (take > n)
			take = n;
		memcpy(m->pending + m->npending, p, take);
		m->npending += take;
		p += take;
		n -= take;
		if (m->npending == 64) {
			compress(m->h, m->pending);
			m->npending = 0;
		}
	}
}

static void
md5_finish(struct md5 *m, uint8_t out[16]) {
	uint64_t bits = m->total * 8;
	uint8_t tail[72];
	size_t pad = (m->npending < 56 ? 56 : 120) - m->npending;
	memset(tail, 0, sizeof(tail));
	tail[0] = 0x80;
	for (int i = 0; i < 8; i++)
		tail[pad + i] = (uint8_t)(bits >> (8 * i));
	md5_feed(m, tail, pad + 8);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			out[4 * i + k] = (uint8_t)(m->h[i] >> (8 * k));
}

static void
digest(const void *p, size_t n, uint8_t out[16]) {
	struct md5 m;
	md5_start(&m);
	md5_feed(&m, (const uint8_t *)p, n);
	md5_finish(&m, out);
}

static int
lsum(lua_State *L) {
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	uint8_t out[16];
	digest(s, n, out);
	lua_pushlstring(L, (const char *)out, 16);
	return 1;
}

static int
lexor(lua_State *L) {
	size_t na, nb;
	const char *a = luaL_checklstring(L, 1, &na);
	const char *b = luaL_checklstring(L, 2, &nb);
	luaL_argcheck(L, na == nb, 2, "lengths must be equal");
	luaL_Buffer buf;
	char *d = luaL_buffinitsize(L, &buf, na);
	for (size_t i = 0; i < na; i++)
		d[i] = a[i] ^ b[i];
	luaL_pushresultsize(&buf, na);
	return 1;
}

/*
 * The cipher: a 16-byte block (the seed, zero padded) followed by the key is
 * hashed; the digest xored with the next 16 bytes of text is the output, and
 * that cipher text replaces the start of the block for the next round.
 */
#define SEED_MAX 16
#define KEY_MAX 256

static size_t
cipher_block(lua_State *L, uint8_t *block, const char *seed, size_t nseed) {
	size_t nkey;
	const char *key = luaL_checklstring(L, 2, &nkey);
	if (nkey > KEY_MAX)
		luaL_error(L, "key too long (> %d)", KEY_MAX);
	memset(block, 0, SEED_MAX);
	memcpy(block, seed, nseed);
	memcpy(block + SEED_MAX, key, nkey);
	return SEED_MAX + nkey;
}

/* encrypt != 0: text is plain; otherwise text is cipher */
static void
run_cipher(lua_State *L, uint8_t *block, size_t nblock, const uint8_t *text, size_t n, int encrypt) {
	luaL_Buffer buf;
	uint8_t *d = (uint8_t *)luaL_buffinitsize(L, &buf, n);
	for (size_t at = 0; at < n; at += SEED_MAX) {
		uint8_t pad[16];
		digest(block, nblock, pad);
		size_t k = n - at < SEED_MAX ? n - at : SEED_MAX;
		for (size_t i = 0; i < k; i++)
			d[at + i] = text[at + i] ^ pad[i];
		memcpy(block, encrypt ? d + at : text + at, k);
	}
	luaL_pushresultsize(&buf, n);
}

static int
lcrypt(lua_State *L) {
	size_t n, nseed;
	const char *msg = luaL_checklstring(L, 1, &n);
	time_t now;
	if (lua_isnone(L, 3)) {
		now = time(NULL);
		lua_pushlstring(L, (const char *)&now, sizeof(now));
	}
	const char *seed = luaL_checklstring(L, 3, &nseed);
	if (nseed > SEED_MAX)
		return luaL_error(L, "seed too long (> %d)", SEED_MAX);
	uint8_t block[SEED_MAX + KEY_MAX];
	size_t nblock = cipher_block(L, block, seed, nseed);
	char head[1 + SEED_MAX];
	head[0] = (char)nseed;
	memcpy(head + 1, seed, nseed);
	lua_pushlstring(L, head, 1 + nseed);
	run_cipher(L, block, nblock, (const uint8_t *)msg, n, 1);
	lua_concat(L, 2);
	return 1;
}

static int
ldecrypt(lua_State *L) {
	size_t n;
	const char *c = luaL_checklstring(L, 1, &n);
	size_t nseed = n > 0 ? (uint8_t)c[0] : 0;
	luaL_argcheck(L, n >= 1 && nseed <= SEED_MAX && n >= nseed + 1, 1, "invalid cyphered string");
	uint8_t block[SEED_MAX + KEY_MAX];
	size_t nblock = cipher_block(L, block, c + 1, nseed);
	run_cipher(L, block, nblock, (const uint8_t *)c + 1 + nseed, n - 1 - nseed, 0);
	return 1;
}

LUAMOD_API int
luaopen_md5_core(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg funcs[] = {
		{ "sum", lsum },
		{ "exor", lexor },
		{ "crypt", lcrypt },
		{ "decrypt", ldecrypt },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	lua_pushliteral(L, "MD5 1.2");
	lua_setfield(L, -2, "_VERSION");
	return 1;
}
