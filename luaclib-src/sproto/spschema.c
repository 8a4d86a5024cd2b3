/* Loading a binary schema. The binary schema is itself a sproto message:
 *
 *   group    { type 0 : *type    protocol 1 : *protocol }
 *   type     { name 0 : string   fields 1 : *field }
 *   field    { name 0 : string   buildin 1 : integer   type 2 : integer   tag 3 : integer
 *              array 4 : boolean key 5 : integer       map 6 : boolean }
 *   protocol { name 0 : string   tag 1 : integer       request 2 : integer (type index)
 *              response 3 : integer (type index)       confirm 4 : boolean }
 *
 * It is read in two walks over the bytes: the first checks the framing and measures (how
 * many types, fields, protocols, how many bytes of names), the second fills one block
 * allocated from those measures. Every read is bounded by the blob it is in. */
#include <stdlib.h>
#include <string.h>

#include "spschema.h"

#define MAX_DIGITS 18   /* 10^18 still fits an int64 */

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What one tag of a record holds. */
struct slot {
	int present;
	int is_inline;          /* small value in the field part, else a data part */
	uint32_t value;
	const uint8_t *data;
	uint32_t len;
};

/* Splits the record [p, p+n) into slots by tag; tags >= nslots are ignored.
 * Returns 0, or -1 when the framing does not fit the bytes. */
static int
read_record(const uint8_t *p, size_t n, struct slot *slots, int nslots) {
	memset(slots, 0, sizeof(*slots) * nslots);
	if (n < 2)
		return -1;
	uint32_t count = rd16(p);
	size_t head = 2 + 2 * (size_t)count;
	if (head > n)
		return -1;
	const uint8_t *data = p + head;
	size_t left = n - head;
	uint32_t tag = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t v = rd16(p + 2 + 2 * i);
		if (v & 1) {
			tag += (v + 1) / 2;
			continue;
		}
		struct slot s = { 1, 0, 0, NULL, 0 };
		if (v == 0) {
			if (left < 4)
				return -1;
			uint32_t len = rd32(data);
			if (len > left - 4)
				return -1;
			s.data = data + 4;
			s.len = len;
			data += 4 + (size_t)len;
			left -= 4 + (size_t)len;
		} else {
			s.is_inline = 1;
			s.value = v / 2 - 1;
		}
		if (tag < (uint32_t)nslots)
			slots[tag] = s;
		tag++;
	}
	return 0;
}

/* Walks the elements of an array data part: each is a 4-byte length and its bytes. */
struct elems {
	const uint8_t *p;
	size_t left;
};

/* 1: one more element in *e, 0: the end, -1: an element overruns the array. */
static int
next_elem(struct elems *it, const uint8_t **e, uint32_t *len) {
	if (it->left == 0)
		return 0;
	if (it->left < 4)
		return -1;
	uint32_t n = rd32(it->p);
	if (n > it->left - 4)
		return -1;
	*e = it->p + 4;
	*len = n;
	it->p += 4 + (size_t)n;
	it->left -= 4 + (size_t)n;
	return 1;
}

static int
data_slot(const struct slot *s) { return s->present && !s->is_inline; }

struct measure {
	size_t types, fields, protos, names;
};

/* First walk: framing only. */
static int
measure(const struct slot *group, struct measure *m) {
	memset(m, 0, sizeof(*m));
	if (group[0].present) {
		if (!data_slot(&group[0]))
			return -1;
		struct elems types = { group[0].data, group[0].len };
		const uint8_t *e;
		uint32_t len;
		int r;
		while ((r = next_elem(&types, &e, &len)) > 0) {
			struct slot t[2];
			if (read_record(e, len, t, 2) || !data_slot(&t[0]))
				return -1;
			m->types++;
			m->names += t[0].len + 1;
			if (!t[1].present)
				continue;
			if (!data_slot(&t[1]))
				return -1;
			struct elems fields = { t[1].data, t[1].len };
			const uint8_t *fe;
			uint32_t flen;
			int fr;
			while ((fr = next_elem(&fields, &fe, &flen)) > 0) {
				struct slot f[1];
				if (read_record(fe, flen, f, 1) || !data_slot(&f[0]))
					return -1;
				m->fields++;
				m->names += f[0].len + 1;
			}
			if (fr < 0)
				return -1;
		}
		if (r < 0)
			return -1;
	}
	if (group[1].present) {
		if (!data_slot(&group[1]))
			return -1;
		struct elems protos = { group[1].data, group[1].len };
		const uint8_t *e;
		uint32_t len;
		int r;
		while ((r = next_elem(&protos, &e, &len)) > 0) {
			struct slot p[1];
			if (read_record(e, len, p, 1) || !data_slot(&p[0]))
				return -1;
			m->protos++;
			m->names += p[0].len + 1;
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

struct filler {
	struct sp_schema *s;
	struct sp_field *next_field;
	char *next_name;
};

static const char *
keep_name(struct filler *f, const struct slot *s) {
	char *name = f->next_name;
	memcpy(name, s->data, s->len);
	name[s->len] = '\0';
	f->next_name += s->len + 1;
	return name;
}

static int
fill_field(struct filler *fl, struct sp_field *f, const uint8_t *p, size_t n) {
	struct slot v[7];
	if (read_record(p, n, v, 7))
		return -1;
	memset(f, 0, sizeof(*f));
	f->name = keep_name(fl, &v[0]);
	f->key = -1;
	for (int i = 1; i < 7; i++)
		if (v[i].present && !v[i].is_inline)
			return -1;
	if (!v[3].present)
		return -1;
	f->tag = (int)v[3].value;
	if (v[1].present) {
		if (v[1].value > SP_DOUBLE)
			return -1;
		f->kind = (unsigned char)v[1].value;
		if (v[2].present) {
			if (f->kind == SP_INTEGER) {
				if (v[2].value > MAX_DIGITS)
					return -1;
				f->digits = (int)v[2].value;
				f->scale = 1;
				for (int i = 0; i < f->digits; i++)
					f->scale *= 10;   /* integer(0) too is a decimal: scale 1 */
			} else if (f->kind == SP_STRING) {
				f->binary = v[2].value == 1;
			} else {
				return -1;
			}
		}
	} else {
		if (!v[2].present || v[2].value >= (uint32_t)fl->s->ntypes)
			return -1;
		f->kind = SP_STRUCT;
		f->sub = &fl->s->types[v[2].value];
	}
	f->array = v[4].present && v[4].value != 0;
	if (v[5].present) {
		if (!f->array || f->kind != SP_STRUCT)
			return -1;
		f->key = (int)v[5].value;
		f->map = v[6].present && v[6].value != 0;
	}
	return 0;
}

static int
fill_type(struct filler *fl, struct sp_type *t, const uint8_t *p, size_t n) {
	struct slot v[2];
	if (read_record(p, n, v, 2))
		return -1;
	t->name = keep_name(fl, &v[0]);
	t->owner = fl->s;
	t->fields = fl->next_field;
	t->nfields = 0;
	t->base = -1;
	if (v[1].present) {
		struct elems fields = { v[1].data, v[1].len };
		const uint8_t *e;
		uint32_t len;
		while (next_elem(&fields, &e, &len) > 0) {
			struct sp_field *f = &t->fields[t->nfields];
			if (fill_field(fl, f, e, len))
				return -1;
			if (t->nfields > 0 && f->tag <= t->fields[t->nfields - 1].tag)
				return -1;      /* tags must ascend */
			f->slot = ++fl->s->nfields;
			t->nfields++;
		}
	}
	fl->next_field += t->nfields;
	if (t->nfields > 0 && t->fields[t->nfields - 1].tag - t->fields[0].tag == t->nfields - 1)
		t->base = t->fields[0].tag;
	return 0;
}

static int
fill_proto(struct filler *fl, struct sp_proto *pr, const uint8_t *p, size_t n) {
	struct slot v[5];
	if (read_record(p, n, v, 5))
		return -1;
	memset(pr, 0, sizeof(*pr));
	pr->name = keep_name(fl, &v[0]);
	for (int i = 1; i < 5; i++)
		if (v[i].present && !v[i].is_inline)
			return -1;
	if (!v[1].present)
		return -1;
	pr->tag = (int)v[1].value;
	int ntypes = fl->s->ntypes;
	if (v[2].present) {
		if (v[2].value >= (uint32_t)ntypes)
			return -1;
		pr->request = &fl->s->types[v[2].value];
	}
	if (v[3].present) {
		if (v[3].value >= (uint32_t)ntypes)
			return -1;
		pr->response = &fl->s->types[v[3].value];
	}
	pr->confirm = v[4].present && v[4].value != 0;
	return 0;
}

static int
by_tag(const void *a, const void *b) {
	const struct sp_proto *x = a, *y = b;
	return (x->tag > y->tag) - (x->tag < y->tag);
}

/* What the wire code relies on: a map's entry type has a key and a value field, a main
 * index names a field of the element type. */
static int
check_links(const struct sp_schema *s) {
	for (int i = 0; i < s->ntypes; i++) {
		const struct sp_type *t = &s->types[i];
		for (int j = 0; j < t->nfields; j++) {
			const struct sp_field *f = &t->fields[j];
			if (f->key < 0)
				continue;
			if (f->map) {
				if (f->sub->nfields < 2)
					return -1;
			} else if (sp_type_field(f->sub, f->key) == NULL) {
				return -1;
			}
		}
	}
	for (int i = 1; i < s->nprotos; i++)
		if (s->protos[i].tag == s->protos[i - 1].tag)
			return -1;
	return 0;
}

struct sp_schema *
sp_schema_load(const uint8_t *bin, size_t size) {
	struct slot group[2];
	struct measure m;
	if (bin == NULL || read_record(bin, size, group, 2) || measure(group, &m))
		return NULL;
	size_t bytes = sizeof(struct sp_schema) + m.types * sizeof(struct sp_type)
		+ m.fields * sizeof(struct sp_field) + m.protos * sizeof(struct sp_proto) + m.names;
	char *block = calloc(1, bytes);
	if (block == NULL)
		return NULL;
	struct sp_schema *s = (struct sp_schema *)block;
	char *at = block + sizeof(*s);
	s->memory = block;
	s->ntypes = (int)m.types;
	s->types = (struct sp_type *)at;
	at += m.types * sizeof(struct sp_type);
	struct filler fl = { s, (struct sp_field *)at, NULL };
	at += m.fields * sizeof(struct sp_field);
	s->nprotos = (int)m.protos;
	s->protos = (struct sp_proto *)at;
	at += m.protos * sizeof(struct sp_proto);
	fl.next_name = at;

	const uint8_t *e;
	uint32_t len;
	if (group[0].present) {
		struct elems types = { group[0].data, group[0].len };
		for (int i = 0; next_elem(&types, &e, &len) > 0; i++)
			if (fill_type(&fl, &s->types[i], e, len))
				goto bad;
	}
	if (group[1].present) {
		struct elems protos = { group[1].data, group[1].len };
		for (int i = 0; next_elem(&protos, &e, &len) > 0; i++)
			if (fill_proto(&fl, &s->protos[i], e, len))
				goto bad;
		qsort(s->protos, s->nprotos, sizeof(*s->protos), by_tag);
	}
	if (check_links(s))
		goto bad;
	static uint64_t serials;
	s->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
	return s;
bad:
	free(block);
	return NULL;
}

void
sp_schema_free(struct sp_schema *s) {
	if (s)
		free(s->memory);
}

struct sp_type *
sp_schema_type(const struct sp_schema *s, const char *name) {
	for (int i = 0; i < s->ntypes; i++)
		if (strcmp(s->types[i].name, name) == 0)
			return &s->types[i];
	return NULL;
}

const struct sp_proto *
sp_schema_proto_bytag(const struct sp_schema *s, int tag) {
	int lo = 0, hi = s->nprotos;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int t = s->protos[mid].tag;
		if (t == tag)
			return &s->protos[mid];
		if (t < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct sp_proto *
sp_schema_proto_byname(const struct sp_schema *s, const char *name) {
	for (int i = 0; i < s->nprotos; i++)
		if (strcmp(s->protos[i].name, name) == 0)
			return &s->protos[i];
	return NULL;
}

const struct sp_field *
sp_type_field(const struct sp_type *t, int tag) {
	if (t->base >= 0) {
		int i = tag - t->base;
		return (i >= 0 && i < t->nfields) ? &t->fields[i] : NULL;
	}
	int lo = 0, hi = t->nfields;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int ft = t->fields[mid].tag;
		if (ft == tag)
			return &t->fields[mid];
		if (ft < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
