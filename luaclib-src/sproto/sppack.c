/* sproto's 0-packing. The input is taken in words of 8 bytes (the last one padded with
 * zeros). A word becomes a bitmap byte (bit i set: byte i is not zero) followed by its
 * non-zero bytes. A word with no zero byte instead opens a raw run: 0xff, the number of
 * words minus one, then the words as they are; the run goes on over the following words
 * while they have at most two zero bytes, up to 256 words. */
#include <string.h>

#include "spschema.h"

#define RUN_MAX 256

static int
nonzero_bytes(const uint8_t w[8]) {
	int n = 0;
	for (int i = 0; i < 8; i++)
		n += w[i] != 0;
	return n;
}

/* The word starting at offset at, padded with zeros past n. */
static void
load_word(const uint8_t *src, size_t n, size_t at, uint8_t w[8]) {
	size_t have = n - at;
	if (have >= 8) {
		memcpy(w, src + at, 8);
	} else {
		memset(w, 0, 8);
		memcpy(w, src + at, have);
	}
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
	uint8_t w[8];
	while (at < n) {
		load_word(src, n, at, w);
		if (nonzero_bytes(w) == 8) {
			size_t words = 1;
			while (words < RUN_MAX && at + words * 8 < n) {
				uint8_t next[8];
				load_word(src, n, at + words * 8, next);
				if (nonzero_bytes(next) < 6)
					break;
				words++;
			}
			*o++ = 0xff;
			*o++ = (uint8_t)(words - 1);
			for (size_t i = 0; i < words; i++) {
				load_word(src, n, at + i * 8, w);
				memcpy(o, w, 8);
				o += 8;
			}
			at += words * 8;
			continue;
		}
		uint8_t *bitmap = o++;
		uint8_t bits = 0;
		for (int i = 0; i < 8; i++) {
			if (w[i]) {
				bits |= (uint8_t)(1u << i);
				*o++ = w[i];
			}
		}
		*bitmap = bits;
		at += 8;
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
			for (int i = 0; i < 8; i++)
				*out++ = (bits >> i & 1) ? src[at++] : 0;
		}
	}
}
