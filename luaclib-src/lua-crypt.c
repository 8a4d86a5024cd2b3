/*
 * skynet.crypt (also loadable as client.crypt): small crypto helpers used by
 * skynet's login protocol and friends.
 *
 *   hashkey(str)                 8-byte key derived from a string
 *   randomkey()                  8 random bytes (never xor-ing to zero)
 *   desencode(key, text [,pad])  DES-ECB with padding (see crypt.padding)
 *   desdecode(key, text [,pad])
 *   hexencode(str) / hexdecode(str)
 *   hmac64(a, b), hmac64_md5(a, b), hmac_hash(key, text)
 *   dhexchange(secret), dhsecret(peer, secret)   64-bit Diffie-Hellman
 *   base64encode(str) / base64decode(str)
 *   sha1(str), hmac_sha1(key, text)               raw 20-byte digests
 *   xor_str(a, b)                a xor (b repeated)
 *   padding = { iso7816_4 = 0, pkcs7 = 1 }
 *
 * DES, MD5 and SHA-1 below are written from their public specifications
 * (FIPS 46-3, RFC 1321, FIPS 180-4).
 */

#define LUA_LIB

#include <lua.h>
#include <lauxlib.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAD_ISO7816_4 0
#define PAD_PKCS7 1

/* ================================================================ DES */

/* FIPS 46-3 tables, bit positions counted from 1 = most significant */
static const uint8_t des_ip[64] = {
	58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
	62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
	57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
	61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
};

static const uint8_t des_p[32] = {
	16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
	2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
};

static const uint8_t des_pc1[56] = {
	57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
	10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
	63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
	14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
};

static const uint8_t des_pc2[48] = {
	14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
	23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
	41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
	44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
};

static const uint8_t des_rotations[16] = {
	1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1,
};

static const uint8_t des_sbox[8][64] = {
	{ 14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
	  0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
	  4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
	  15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13 },
	{ 15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
	  3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
	  0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
	  13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9 },
	{ 10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
	  13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
	  13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
	  1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12 },
	{ 7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
	  13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
	  10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
	  3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14 },
	{ 2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
	  14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
	  4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
	  11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3 },
	{ 12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
	  10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
	  9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
	  4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13 },
	{ 4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
	  13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
	  1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
	  6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12 },
	{ 13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
	  1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
	  7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
	  2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11 },
};

/* select bits of `in` (inbits wide) listed in table; MSB-first */
static uint64_t
permute(uint64_t in, const uint8_t *table, int n, int inbits) {
	uint64_t out = 0;
	int i;
	for (i = 0; i < n; i++)
		out = (out << 1) | ((in >> (inbits - table[i])) & 1);
	return out;
}

/*
 * Derived lookup tables, built once:
 *   sp[i][v]  : output of S-box i for the 6-bit input v, already moved
 *               through the P permutation
 *   ip_inv    : the final permutation (inverse of the initial one)
 */
static uint32_t des_sp[8][64];
static uint8_t des_fp[64];
static pthread_once_t des_once = PTHREAD_ONCE_INIT;

static void
des_build_tables(void) {
	int box, v, i;
	for (box = 0; box < 8; box++) {
		for (v = 0; v < 64; v++) {
			int row = ((v >> 4) & 2) | (v & 1);
			int col = (v >> 1) & 15;
			uint32_t s = des_sbox[box][row * 16 + col];
			uint32_t placed = s << (28 - 4 * box);
			des_sp[box][v] = (uint32_t)permute(placed, des_p, 32, 32);
		}
	}
	for (i = 0; i < 64; i++)
		des_fp[des_ip[i] - 1] = (uint8_t)(i + 1);
}

static void
des_prepare(void) {
	pthread_once(&des_once, des_build_tables);
}

static uint64_t
load_be64(const uint8_t *p) {
	uint64_t v = 0;
	int i;
	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
store_be64(uint8_t *p, uint64_t v) {
	int i;
	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void
des_schedule(uint64_t subkeys[16], const uint8_t key[8]) {
	uint64_t cd = permute(load_be64(key), des_pc1, 56, 64);
	uint32_t c = (uint32_t)(cd >> 28) & 0x0fffffff;
	uint32_t d = (uint32_t)cd & 0x0fffffff;
	int r;
	for (r = 0; r < 16; r++) {
		int s = des_rotations[r];
		c = ((c << s) | (c >> (28 - s))) & 0x0fffffff;
		d = ((d << s) | (d >> (28 - s))) & 0x0fffffff;
		subkeys[r] = permute(((uint64_t)c << 28) | d, des_pc2, 48, 56);
	}
}

static uint32_t
des_feistel(uint32_t r, uint64_t k) {
	/* expansion: eight overlapping 6-bit windows of r (wrapping) */
	uint64_t rr = ((uint64_t)(r & 1) << 33) | ((uint64_t)r << 1) | (r >> 31);
	uint32_t out = 0;
	int box;
	for (box = 0; box < 8; box++) {
		unsigned v = (unsigned)((rr >> (28 - 4 * box)) & 0x3f);
		v ^= (unsigned)((k >> (42 - 6 * box)) & 0x3f);
		out |= des_sp[box][v];
	}
	return out;
}

/* decrypt when `reverse` is set (subkeys used last to first) */
static void
des_block(const uint64_t subkeys[16], int reverse, const uint8_t in[8], uint8_t out[8]) {
	uint64_t b = permute(load_be64(in), des_ip, 64, 64);
	uint32_t l = (uint32_t)(b >> 32);
	uint32_t r = (uint32_t)b;
	int i;
	for (i = 0; i < 16; i++) {
		uint32_t t = r;
		r = l ^ des_feistel(r, subkeys[reverse ? 15 - i : i]);
		l = t;
	}
	b = ((uint64_t)r << 32) | l;
	store_be64(out, permute(b, des_fp, 64, 64));
}

static void
des_key_arg(lua_State *L, uint64_t subkeys[16]) {
	size_t n = 0;
	const char *key = luaL_checklstring(L, 1, &n);
	if (n != 8)
		luaL_error(L, "Invalid key size %d, need 8 bytes", (int)n);
	des_prepare();
	des_schedule(subkeys, (const uint8_t *)key);
}

static int
padding_arg(lua_State *L, int idx) {
	lua_Integer mode = luaL_optinteger(L, idx, PAD_ISO7816_4);
	if (mode != PAD_ISO7816_4 && mode != PAD_PKCS7)
		luaL_error(L, "Invalid padding mode %d", (int)mode);
	return (int)mode;
}

static int
ldesencode(lua_State *L) {
	uint64_t ks[16];
	des_key_arg(L, ks);
	size_t n = 0;
	const uint8_t *text = (const uint8_t *)luaL_checklstring(L, 2, &n);
	int mode = padding_arg(L, 3);
	size_t outlen = (n + 8) & ~(size_t)7;
	luaL_Buffer b;
	uint8_t *out = (uint8_t *)luaL_buffinitsize(L, &b, outlen);
	size_t whole = n & ~(size_t)7;
	size_t i;
	for (i = 0; i < whole; i += 8)
		des_block(ks, 0, text + i, out + i);
	/* the last block always carries padding (a full block if needed) */
	uint8_t last[8];
	size_t rest = n - whole;
	memcpy(last, text + whole, rest);
	if (mode == PAD_ISO7816_4) {
		last[rest] = 0x80;
		memset(last + rest + 1, 0, 7 - rest);
	} else {
		memset(last + rest, (int)(8 - rest), 8 - rest);
	}
	des_block(ks, 0, last, out + whole);
	luaL_pushresultsize(&b, outlen);
	return 1;
}

/* number of padding bytes at the end of the 8-byte block, 0 if invalid */
static int
padding_length(const uint8_t blk[8], int mode) {
	if (mode == PAD_PKCS7) {
		int v = blk[7];
		if (v < 1 || v > 8)
			return 0;
		int i;
		for (i = 8 - v; i < 8; i++) {
			if (blk[i] != v)
				return 0;
		}
		return v;
	}
	int i;
	for (i = 7; i >= 0; i--) {
		if (blk[i] == 0x80)
			return 8 - i;
		if (blk[i] != 0)
			return 0;
	}
	return 0;
}

static int
ldesdecode(lua_State *L) {
	uint64_t ks[16];
	des_key_arg(L, ks);
	size_t n = 0;
	const uint8_t *text = (const uint8_t *)luaL_checklstring(L, 2, &n);
	if (n == 0 || (n & 7) != 0)
		return luaL_error(L, "Invalid des crypt text length %d", (int)n);
	int mode = padding_arg(L, 3);
	luaL_Buffer b;
	uint8_t *out = (uint8_t *)luaL_buffinitsize(L, &b, n);
	size_t i;
	for (i = 0; i < n; i += 8)
		des_block(ks, 1, text + i, out + i);
	int pad = padding_length(out + n - 8, mode);
	if (pad == 0)
		return luaL_error(L, "Invalid des crypt text");
	luaL_pushresultsize(&b, n - (size_t)pad);
	return 1;
}

/* ================================================================ keys */

/* two classic string hashes (Bernstein's and J. Zobel's), little endian */
static void
string_key(const uint8_t *s, size_t n, uint8_t key[8]) {
	uint32_t h1 = 5381;
	uint32_t h2 = 1315423911;
	size_t i;
	for (i = 0; i < n; i++) {
		h1 += (h1 << 5) + s[i];
		h2 ^= (h2 << 5) + s[i] + (h2 >> 2);
	}
	for (i = 0; i < 4; i++) {
		key[i] = (uint8_t)(h1 >> (8 * i));
		key[4 + i] = (uint8_t)(h2 >> (8 * i));
	}
}

static int
lhashkey(lua_State *L) {
	size_t n = 0;
	const char *s = luaL_checklstring(L, 1, &n);
	uint8_t key[8];
	string_key((const uint8_t *)s, n, key);
	lua_pushlstring(L, (const char *)key, 8);
	return 1;
}

static int
lrandomkey(lua_State *L) {
	uint8_t k[8];
	if (getentropy(k, sizeof(k)) != 0) {
		int i;
		for (i = 0; i < 8; i++)
			k[i] = (uint8_t)(random() & 0xff);
	}
	uint8_t x = 0;
	int i;
	for (i = 0; i < 8; i++)
		x ^= k[i];
	if (x == 0)
		k[0] |= 1;
	lua_pushlstring(L, (const char *)k, 8);
	return 1;
}

/* ================================================================ hex */

static int
lhexencode(lua_State *L) {
	static const char digits[] = "0123456789abcdef";
	size_t n = 0;
	const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, n * 2);
	size_t i;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[s[i] >> 4];
		out[2 * i + 1] = digits[s[i] & 15];
	}
	luaL_pushresultsize(&b, n * 2);
	return 1;
}

static int
hexval(int c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
lhexdecode(lua_State *L) {
	size_t n = 0;
	const char *s = luaL_checklstring(L, 1, &n);
	if (n & 1)
		return luaL_error(L, "Invalid hex text size %d", (int)n);
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, n / 2);
	size_t i;
	for (i = 0; i < n; i += 2) {
		int hi = hexval((unsigned char)s[i]);
		int lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return luaL_error(L, "Invalid hex text");
		out[i / 2] = (char)((hi << 4) | lo);
	}
	luaL_pushresultsize(&b, n / 2);
	return 1;
}

/* ================================================================ md5 core */

/* RFC 1321 constants: floor(|sin(i + 1)| * 2^32) for i = 0..63 */
static const uint32_t md5_k[64] = {
	/*  0 */ 0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	/*  8 */ 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	/* 16 */ 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	/* 24 */ 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	/* 32 */ 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	/* 40 */ 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	/* 48 */ 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	/* 56 */ 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint8_t md5_shift[4][4] = {
	{ 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 },
};

#define ROTL32(x, c) (((x) << (c)) | ((x) >> (32 - (c))))

/* one compression of a 16-word block from the standard initial state;
 * the state words are returned without the final feed-forward */
static void
md5_compress(const uint32_t m[16], uint32_t st[4]) {
	uint32_t a = 0x67452301u, b = 0xefcdab89u, c = 0x98badcfeu, d = 0x10325476u;
	int i;
	for (i = 0; i < 64; i++) {
		uint32_t f;
		int g;
		switch (i >> 4) {
		case 0:
			f = (b & c) | (~b & d);
			g = i;
			break;
		case 1:
			f = (d & b) | (~d & c);
			g = (5 * i + 1) & 15;
			break;
		case 2:
			f = b ^ c ^ d;
			g = (3 * i + 5) & 15;
			break;
		default:
			f = c ^ (b | ~d);
			g = (7 * i) & 15;
			break;
		}
		uint32_t sum = a + f + md5_k[i] + m[g];
		a = d;
		d = c;
		c = b;
		b = b + ROTL32(sum, md5_shift[i >> 4][i & 3]);
	}
	st[0] = a;
	st[1] = b;
	st[2] = c;
	st[3] = d;
}

static uint32_t
load_le32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
store_le32(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
arg_qword(lua_State *L, int idx, const char *what, uint32_t w[2]) {
	size_t n = 0;
	const uint8_t *s = (const uint8_t *)luaL_checklstring(L, idx, &n);
	if (n != 8)
		luaL_error(L, "Invalid uint64 %s", what);
	w[0] = load_le32(s);
	w[1] = load_le32(s + 4);
}

static int
push_qword(lua_State *L, uint32_t lo, uint32_t hi) {
	uint8_t out[8];
	store_le32(out, lo);
	store_le32(out + 4, hi);
	lua_pushlstring(L, (const char *)out, 8);
	return 1;
}

/* the 64-bit mac of two 64-bit values: an unpadded md5 compression */
static void
mac64(const uint32_t x[2], const uint32_t y[2], uint32_t out[2]) {
	uint32_t m[16];
	int i;
	for (i = 0; i < 16; i += 4) {
		m[i] = x[1];
		m[i + 1] = x[0];
		m[i + 2] = y[1];
		m[i + 3] = y[0];
	}
	uint32_t st[4];
	md5_compress(m, st);
	out[0] = st[2] ^ st[3];
	out[1] = st[0] ^ st[1];
}

static int
lhmac64(lua_State *L) {
	uint32_t x[2], y[2], r[2];
	arg_qword(L, 1, "x", x);
	arg_qword(L, 2, "y", y);
	mac64(x, y, r);
	return push_qword(L, r[0], r[1]);
}

/* md5 of (x..y) repeated three times, folded to 64 bits */
static int
lhmac64_md5(lua_State *L) {
	uint32_t x[2], y[2];
	arg_qword(L, 1, "x", x);
	arg_qword(L, 2, "y", y);
	uint32_t m[16];
	int i;
	for (i = 0; i < 12; i += 4) {
		m[i] = x[0];
		m[i + 1] = x[1];
		m[i + 2] = y[0];
		m[i + 3] = y[1];
	}
	m[12] = 0x80;       /* md5 padding of a 48-byte message */
	m[13] = 0;
	m[14] = 48 * 8;
	m[15] = 0;
	uint32_t st[4];
	md5_compress(m, st);
	uint32_t h0 = st[0] + 0x67452301u, h1 = st[1] + 0xefcdab89u;
	uint32_t h2 = st[2] + 0x98badcfeu, h3 = st[3] + 0x10325476u;
	return push_qword(L, h0 ^ h2, h1 ^ h3);
}

static int
lhmac_hash(lua_State *L) {
	uint32_t key[2];
	arg_qword(L, 1, "key", key);
	size_t n = 0;
	const char *text = luaL_checklstring(L, 2, &n);
	uint8_t h[8];
	string_key((const uint8_t *)text, n, h);
	uint32_t ht[2] = { load_le32(h), load_le32(h + 4) };
	uint32_t r[2];
	mac64(ht, key, r);
	return push_qword(L, r[0], r[1]);
}

/* ================================================================ dh */

/* the largest prime below 2^64, and the generator */
#define DH_P 0xffffffffffffffc5ull
#define DH_G 5

static uint64_t
mulmod_p(uint64_t a, uint64_t b) {
	return (uint64_t)(((unsigned __int128)a * b) % DH_P);
}

static uint64_t
powmod_p(uint64_t base, uint64_t e) {
	if (base > DH_P)
		base %= DH_P;
	if (e == 1)
		return base;
	uint64_t r = 1;
	uint64_t b = base;
	while (e) {
		if (e & 1)
			r = mulmod_p(r, b);
		b = mulmod_p(b, b);
		e >>= 1;
	}
	return r;
}

static int
push_u64(lua_State *L, uint64_t v) {
	return push_qword(L, (uint32_t)v, (uint32_t)(v >> 32));
}

static int
ldhexchange(lua_State *L) {
	uint32_t x[2];
	size_t n = 0;
	const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
	if (n != 8)
		return luaL_error(L, "Invalid dh uint64 key");
	x[0] = load_le32(s);
	x[1] = load_le32(s + 4);
	uint64_t secret = (uint64_t)x[0] | (uint64_t)x[1] << 32;
	if (secret == 0)
		return luaL_error(L, "Can't be 0");
	return push_u64(L, powmod_p(DH_G, secret));
}

static int
ldhsecret(lua_State *L) {
	uint32_t x[2], y[2];
	arg_qword(L, 1, "x", x);
	arg_qword(L, 2, "y", y);
	uint64_t a = (uint64_t)x[0] | (uint64_t)x[1] << 32;
	uint64_t b = (uint64_t)y[0] | (uint64_t)y[1] << 32;
	if (a == 0 || b == 0)
		return luaL_error(L, "Can't be 0");
	return push_u64(L, powmod_p(a, b));
}

/* ================================================================ base64 */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
lb64encode(lua_State *L) {
	size_t n = 0;
	const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
	size_t outlen = (n + 2) / 3 * 4;
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, outlen);
	size_t i = 0, o = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = s[i];
		out[o++] = b64_alphabet[v >> 2];
		out[o++] = b64_alphabet[(v & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 8 | s[i + 1];
		out[o++] = b64_alphabet[v >> 10];
		out[o++] = b64_alphabet[(v >> 4) & 63];
		out[o++] = b64_alphabet[(v & 15) << 2];
		out[o++] = '=';
	}
	luaL_pushresultsize(&b, outlen);
	return 1;
}

#define B64_SKIP (-1)
#define B64_PAD (-2)

static int
b64_value(uint8_t c) {
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	if (c == '=')
		return B64_PAD;
	return B64_SKIP;
}

/*
 * Lenient decoder: characters outside the alphabet are ignored, missing
 * trailing '=' are assumed, and padded groups may be followed by more
 * groups.  Unused low bits before padding must be zero.
 */
static int
lb64decode(lua_State *L) {
	size_t n = 0;
	const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, (n + 3) / 4 * 3);
	size_t o = 0;
	size_t i = 0;
	while (i < n) {
		int q[4];
		int pads = 0;
		int k = 0;
		while (k < 4) {
			int v;
			if (i >= n) {
				v = B64_PAD;
			} else {
				v = b64_value(s[i]);
				i++;
				if (v == B64_SKIP)
					continue;
			}
			if (v == B64_PAD)
				pads++;
			q[k++] = v;
		}
		if (pads == 0) {
			uint32_t v = (uint32_t)q[0] << 18 | (uint32_t)q[1] << 12 | (uint32_t)q[2] << 6 | (uint32_t)q[3];
			out[o++] = (char)(v >> 16);
			out[o++] = (char)(v >> 8);
			out[o++] = (char)v;
		} else if (pads == 1 && q[3] == B64_PAD && (q[2] & 3) == 0) {
			uint32_t v = (uint32_t)q[0] << 10 | (uint32_t)q[1] << 4 | (uint32_t)q[2] >> 2;
			out[o++] = (char)(v >> 8);
			out[o++] = (char)v;
		} else if (pads == 2 && q[3] == B64_PAD && q[2] == B64_PAD && (q[1] & 15) == 0) {
			out[o++] = (char)((uint32_t)q[0] << 2 | (uint32_t)q[1] >> 4);
		} else {
			return luaL_error(L, "Invalid base64 text");
		}
	}
	luaL_pushresultsize(&b, o);
	return 1;
}

/* ================================================================ sha1 */

struct sha1_state {
	uint32_t h[5];
	uint64_t bytes;
	uint8_t block[64];
	size_t used;
};

static void
sha1_init(struct sha1_state *s) {
	s->h[0] = 0x67452301u;
	s->h[1] = 0xefcdab89u;
	s->h[2] = 0x98badcfeu;
	s->h[3] = 0x10325476u;
	s->h[4] = 0xc3d2e1f0u;
	s->bytes = 0;
	s->used = 0;
}

static void
sha1_compress(uint32_t h[5], const uint8_t blk[64]) {
	uint32_t w[80];
	int t;
	for (t = 0; t < 16; t++)
		w[t] = (uint32_t)blk[4 * t] << 24 | (uint32_t)blk[4 * t + 1] << 16 |
			(uint32_t)blk[4 * t + 2] << 8 | blk[4 * t + 3];
	for (t = 16; t < 80; t++)
		w[t] = ROTL32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (t = 0; t < 80; t++) {
		uint32_t f, k;
		if (t < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999u;
		} else if (t < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1u;
		} else if (t < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdcu;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6u;
		}
		uint32_t tmp = ROTL32(a, 5) + f + e + k + w[t];
		e = d;
		d = c;
		c = ROTL32(b, 30);
		b = a;
		a = tmp;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

static void
sha1_update(struct sha1_state *s, const uint8_t *p, size_t n) {
	s->bytes += n;
	while (n > 0) {
		size_t take = 64 - s->used;
		if (take > n)
			take = n;
		memcpy(s->block + s->used, p, take);
		s->used += take;
		p += take;
		n -= take;
		if (s->used == 64) {
			sha1_compress(s->h, s->block);
			s->used = 0;
		}
	}
}

static void
sha1_final(struct sha1_state *s, uint8_t out[20]) {
	uint64_t bits = s->bytes * 8;
	uint8_t pad = 0x80;
	sha1_update(s, &pad, 1);
	pad = 0;
	while (s->used != 56)
		sha1_update(s, &pad, 1);
	uint8_t len[8];
	int i;
	for (i = 7; i >= 0; i--) {
		len[i] = (uint8_t)bits;
		bits >>= 8;
	}
	sha1_update(s, len, 8);
	for (i = 0; i < 20; i++)
		out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static int
lsha1(lua_State *L) {
	size_t n = 0;
	const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
	struct sha1_state s;
	uint8_t d[20];
	sha1_init(&s);
	sha1_update(&s, p, n);
	sha1_final(&s, d);
	lua_pushlstring(L, (const char *)d, 20);
	return 1;
}

/* RFC 2104 HMAC over SHA-1 */
static int
lhmac_sha1(lua_State *L) {
	size_t klen = 0, tlen = 0;
	const uint8_t *key = (const uint8_t *)luaL_checklstring(L, 1, &klen);
	const uint8_t *text = (const uint8_t *)luaL_checklstring(L, 2, &tlen);
	uint8_t k[64];
	memset(k, 0, sizeof(k));
	if (klen > 64) {
		struct sha1_state s;
		sha1_init(&s);
		sha1_update(&s, key, klen);
		sha1_final(&s, k);
	} else {
		memcpy(k, key, klen);
	}
	uint8_t pad[64];
	int i;
	struct sha1_state inner, outer;
	uint8_t d[20];
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	sha1_init(&inner);
	sha1_update(&inner, pad, 64);
	sha1_update(&inner, text, tlen);
	sha1_final(&inner, d);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	sha1_init(&outer);
	sha1_update(&outer, pad, 64);
	sha1_update(&outer, d, 20);
	sha1_final(&outer, d);
	lua_pushlstring(L, (const char *)d, 20);
	return 1;
}

/* ================================================================ misc */

static int
lxor_str(lua_State *L) {
	size_t n1 = 0, n2 = 0;
	const char *a = luaL_checklstring(L, 1, &n1);
	const char *b = luaL_checklstring(L, 2, &n2);
	if (n2 == 0)
		return luaL_error(L, "Can't xor empty string");
	luaL_Buffer buf;
	char *out = luaL_buffinitsize(L, &buf, n1);
	size_t i = 0;
	if (8 % n2 == 0) {
		/* a key of 1, 2, 4 or 8 bytes (a WebSocket mask is 4) repeats within a word */
		unsigned char pattern[8];
		for (size_t j = 0; j < 8; j++)
			pattern[j] = (unsigned char)b[j % n2];
		uint64_t key;
		memcpy(&key, pattern, 8);
		for (; i + 8 <= n1; i += 8) {
			uint64_t w;
			memcpy(&w, a + i, 8);
			w ^= key;
			memcpy(out + i, &w, 8);
		}
	}
	size_t k = 0;	/* i is a multiple of the key's length here */
	for (; i < n1; i++) {
		out[i] = (char)(a[i] ^ b[k]);
		if (++k == n2)
			k = 0;
	}
	luaL_pushresultsize(&buf, n1);
	return 1;
}

LUAMOD_API int
luaopen_skynet_crypt(lua_State *L) {
	luaL_checkversion(L);
	static int seeded = 0;
	if (!seeded) {
		seeded = 1;
		srandom((unsigned)time(NULL) ^ ((unsigned)getpid() << 16) ^ (unsigned)(uintptr_t)&seeded);
	}
	des_prepare();
	static const luaL_Reg funcs[] = {
		/* keys and the DH exchange */
		{ "randomkey", lrandomkey }, { "hashkey", lhashkey },
		{ "dhexchange", ldhexchange }, { "dhsecret", ldhsecret },
		/* DES with padding */
		{ "desencode", ldesencode }, { "desdecode", ldesdecode },
		/* digests and MACs */
		{ "sha1", lsha1 }, { "hmac_sha1", lhmac_sha1 }, { "hmac_hash", lhmac_hash },
		{ "hmac64", lhmac64 }, { "hmac64_md5", lhmac64_md5 },
		/* text encodings and xor */
		{ "hexencode", lhexencode }, { "hexdecode", lhexdecode },
		{ "base64encode", lb64encode }, { "base64decode", lb64decode },
		{ "xor_str", lxor_str },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	lua_createtable(L, 0, 2);
	lua_pushinteger(L, PAD_ISO7816_4);
	lua_setfield(L, -2, "iso7816_4");
	lua_pushinteger(L, PAD_PKCS7);
	lua_setfield(L, -2, "pkcs7");
	lua_setfield(L, -2, "padding");
	return 1;
}

LUAMOD_API int
luaopen_client_crypt(lua_State *L) {
	return luaopen_skynet_crypt(L);
}
