/* sproto's 0-packing. The input is taken in words of 8 bytes (the last one padded with
 * zeros). A word becomes a bitmap byte (bit i set: byte i is not zero) followed by its
 * non-zero bytes. A word with no zero byte instead opens a raw run: 0xff, the number of
 * words minus one, then the words as they are; the run goes on over the following words
 * while they have at most two zero bytes, up to 256 words. */
#include <endian.h>
#include <string.h>

#include "spschema.h"

#define RUN_MAX 256

/* The word at offset at: in place when 8 bytes remain, else copied into pad with zeros. */
static const uint8_t *
word_at(const uint8_t *src, size_t n, size_t at, uint8_t pad[8]) {
	size_t have = n - at;
	if (have >= 8)
		return src + at;
	memset(pad, 0, 8);
	memcpy(pad, src + at, have);
	return pad;
}

/* Bit i set: byte i of the word (as it lies in memory) is not zero. The high bit of each
 * byte is made "byte not zero" without carries between bytes, then the eight high bits are
 * gathered into one byte by a multiplication. */
static inline unsigned
nonzero_mask(const uint8_t *w) {
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t x;
	memcpy(&x, w, 8);
	x = le64toh(x);
	uint64_t high = (((x & low7) + low7) | x) & ~low7;
	return (unsigned)(((high >> 7) * 0x0102040810204080ULL) >> 56);
}

static int
nonzero_bytes(const uint8_t *w) {
	return __builtin_popcount(nonzero_mask(w));
}

size_t
sp_pack_bound(size_t n) {
	size_t words = (n + 7) / 8;
	/* a bitmap word costs at most 9 bytes, but only a word with a zero byte is one (<= 8);
	 * raw runs cost 2 bytes per 256 words */
	return words * 8 + 2 * ((words + RUN_MAX - 1) / RUN_MAX) + 2;
}

size_t
sp_pack(const uint8_t *src, size_t n, uint8_t *out) {
	uint8_t *o = out;
	size_t at = 0;
	uint8_t pad[8];
	while (at < n) {
		const uint8_t *w = word_at(src, n, at, pad);
		unsigned bits = nonzero_mask(w);
		at += 8;
		if (bits != 0xff) {             /* the bitmap, then the non-zero bytes */
			*o++ = (uint8_t)bits;
			for (unsigned b = bits; b; b &= b - 1)
				*o++ = w[__builtin_ctz(b)];
			continue;
		}
		/* a word without zeros: a raw run from it, over the next words with <= 2 zeros */
		size_t first = at - 8;
		size_t words = 1;
		while (words < RUN_MAX && at < n && nonzero_bytes(word_at(src, n, at, pad)) >= 6) {
			words++;
			at += 8;
		}
		*o++ = 0xff;
		*o++ = (uint8_t)(words - 1);
		for (size_t i = 0; i < words; i++, o += 8)     /* word by word: runs are short */
			memcpy(o, word_at(src, n, first + 8 * i, pad), 8);
	}
	return (size_t)(o - out);
}

int64_t
sp_unpack_size(const uint8_t *src, size_t n) {
	int64_t size = 0;
	size_t at = 0;
	while (at < n) {
		uint8_t bits = src[at++];
		if (bits == 0xff) {
			if (at >= n)
				return -1;
			size_t bytes = ((size_t)src[at++] + 1) * 8;
			if (bytes > n - at)
				return -1;
			at += bytes;
			size += (int64_t)bytes;
		} else {
			size_t need = (size_t)__builtin_popcount(bits);
			if (need > n - at)
				return -1;
			at += need;
			size += 8;
		}
	}
	return size;
}

void
sp_unpack(const uint8_t *src, size_t n, uint8_t *out) {
	size_t at = 0;
	while (at < n) {
		uint8_t bits = src[at++];
		if (bits == 0xff) {
			size_t bytes = ((size_t)src[at++] + 1) * 8;
			memcpy(out, src + at, bytes);
			out += bytes;
			at += bytes;
		} else {
			memset(out, 0, 8);
			for (unsigned b = bits; b; b &= b - 1)
				out[__builtin_ctz(b)] = src[at++];
			out += 8;
		}
	}
}
