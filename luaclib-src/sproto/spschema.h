/* The in-memory form of a sproto schema, built from the binary schema that sprotoparser
 * produces (itself a sproto message of the "group" type, see spschema.c). */
#ifndef SP_SCHEMA_H
#define SP_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

/* Wire kinds; the numbers are those of the binary schema's "buildin" field. */
enum sp_kind {
	SP_INTEGER = 0,
	SP_BOOLEAN = 1,
	SP_STRING = 2,
	SP_DOUBLE = 3,
	SP_STRUCT = 4,
};

struct sp_type;

struct sp_field {
	const char *name;
	int tag;
	unsigned char kind;     /* enum sp_kind */
	unsigned char array;    /* 1: *type */
	unsigned char binary;   /* string declared as binary */
	unsigned char map;      /* *T(): key is the first field of T, value the second */
	int key;                /* *T(key): tag of T's main index field, -1 if none */
	int64_t scale;          /* integer(n): 10^n; 0 for a plain integer */
	int digits;             /* the n of integer(n) */
	int slot;               /* 1-based number of the field in its schema (see spcodec.c) */
	struct sp_type *sub;    /* SP_STRUCT */
};

struct sp_schema;

struct sp_type {
	const char *name;
	struct sp_schema *owner;
	int nfields;
	int base;               /* tags are base, base+1, ...: direct lookup; -1 otherwise */
	struct sp_field *fields; /* ascending tags */
};

struct sp_proto {
	const char *name;
	int tag;
	int confirm;            /* "response nil" */
	struct sp_type *request;
	struct sp_type *response;
};

struct sp_schema {
	int ntypes;
	int nprotos;
	struct sp_type *types;
	struct sp_proto *protos; /* ascending tags */
	int nfields;            /* of all types */
	uint64_t serial;        /* unique in the process: tells a reused address from its old schema */
	void *memory;           /* one block holding everything above */
};

/* NULL when the bytes are not a valid binary schema. */
struct sp_schema *sp_schema_load(const uint8_t *bin, size_t size);
void sp_schema_free(struct sp_schema *s);

struct sp_type *sp_schema_type(const struct sp_schema *s, const char *name);
const struct sp_proto *sp_schema_proto_bytag(const struct sp_schema *s, int tag);
const struct sp_proto *sp_schema_proto_byname(const struct sp_schema *s, const char *name);
const struct sp_field *sp_type_field(const struct sp_type *t, int tag);

/* 0-packing (pack.c). sp_pack_bound is an upper limit of sp_pack's output; sp_unpack_size
 * returns the unpacked size or -1 for a malformed stream. */
size_t sp_pack_bound(size_t n);
size_t sp_pack(const uint8_t *src, size_t n, uint8_t *out);
int64_t sp_unpack_size(const uint8_t *src, size_t n);
void sp_unpack(const uint8_t *src, size_t n, uint8_t *out);

#endif
