/* refset.c - the referenced-file-name set (see refset.h).
 *
 * Two open-addressing hash tables: 16-byte GUID keys (about 23 bytes per
 * name at the 0.7 load factor), and lower-cased strings for everything
 * else; plus a small table for full-path rows.  A hand-written table
 * because the GUID case is the whole point: a generic string set would
 * cost three to four times the memory per message.
 */
#include "sync/refset.h"

#include "store/layout.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct guid_key { uint8_t b[16]; } guid_key;

typedef struct str_slot {
	char *s;          /* lower-cased name; NULL = empty slot */
	int64_t id;       /* full-path table: the row's messageid */
} str_slot;

typedef struct str_table {
	str_slot *v;
	size_t n, cap;
} str_table;

struct ms_refset {
	guid_key *g;      /* all-zero key = empty slot */
	size_t gn, gcap;
	bool zero_guid;   /* the all-zero GUID, which cannot live in the table */
	str_table names;  /* partial names that are not GUID names */
	str_table full;   /* full-path rows, by their last component */
	size_t str_bytes;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint64_t guid_hash(const guid_key *k)
{
	uint64_t a, b;
	memcpy(&a, k->b, 8);
	memcpy(&b, k->b + 8, 8);
	return mix(a ^ (b * 0x9E3779B97F4A7C15ULL));
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return mix(h);
}

static bool guid_is_zero(const guid_key *k)
{
	static const guid_key zero;
	return memcmp(k, &zero, sizeof zero) == 0;
}

static int guid_grow(ms_refset *r)
{
	size_t ncap = r->gcap ? r->gcap * 2 : 1024;
	guid_key *nv = calloc(ncap, sizeof *nv);
	if (!nv)
		return -1;
	for (size_t i = 0; i < r->gcap; i++) {
		if (guid_is_zero(&r->g[i]))
			continue;
		size_t j = guid_hash(&r->g[i]) & (ncap - 1);
		while (!guid_is_zero(&nv[j]))
			j = (j + 1) & (ncap - 1);
		nv[j] = r->g[i];
	}
	free(r->g);
	r->g = nv;
	r->gcap = ncap;
	return 0;
}

static int guid_add(ms_refset *r, const guid_key *k)
{
	if (guid_is_zero(k)) {
		r->zero_guid = true;
		return 0;
	}
	if ((r->gn + 1) * 10 > r->gcap * 7 && guid_grow(r) < 0)
		return -1;
	size_t j = guid_hash(k) & (r->gcap - 1);
	while (!guid_is_zero(&r->g[j])) {
		if (memcmp(&r->g[j], k, sizeof *k) == 0)
			return 0;
		j = (j + 1) & (r->gcap - 1);
	}
	r->g[j] = *k;
	r->gn++;
	return 0;
}

static bool guid_has(const ms_refset *r, const guid_key *k)
{
	if (guid_is_zero(k))
		return r->zero_guid;
	if (!r->gcap)
		return false;
	size_t j = guid_hash(k) & (r->gcap - 1);
	while (!guid_is_zero(&r->g[j])) {
		if (memcmp(&r->g[j], k, sizeof *k) == 0)
			return true;
		j = (j + 1) & (r->gcap - 1);
	}
	return false;
}

static int str_grow(str_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64;
	str_slot *nv = calloc(ncap, sizeof *nv);
	if (!nv)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->v[i].s)
			continue;
		size_t j = str_hash(t->v[i].s) & (ncap - 1);
		while (nv[j].s)
			j = (j + 1) & (ncap - 1);
		nv[j] = t->v[i];
	}
	free(t->v);
	t->v = nv;
	t->cap = ncap;
	return 0;
}

static const str_slot *str_find(const str_table *t, const char *lower)
{
	if (!t->cap)
		return NULL;
	size_t j = str_hash(lower) & (t->cap - 1);
	while (t->v[j].s) {
		if (strcmp(t->v[j].s, lower) == 0)
			return &t->v[j];
		j = (j + 1) & (t->cap - 1);
	}
	return NULL;
}

static char *lower_dup(const char *s, size_t *bytes)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		d[i] = (char)tolower((unsigned char)s[i]);
	*bytes += n + 1;
	return d;
}

static int str_add(ms_refset *r, str_table *t, const char *name, int64_t id)
{
	char *lower = lower_dup(name, &r->str_bytes);
	if (!lower)
		return -1;
	if (str_find(t, lower)) {
		r->str_bytes -= strlen(lower) + 1;
		free(lower);
		return 0;
	}
	if ((t->n + 1) * 10 > t->cap * 7 && str_grow(t) < 0) {
		free(lower);
		return -1;
	}
	size_t j = str_hash(lower) & (t->cap - 1);
	while (t->v[j].s)
		j = (j + 1) & (t->cap - 1);
	t->v[j] = (str_slot){ lower, id };
	t->n++;
	return 0;
}

ms_refset *ms_refset_new(void)
{
	return calloc(1, sizeof(ms_refset));
}

static void str_free(str_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->v[i].s);
	free(t->v);
}

void ms_refset_free(ms_refset *r)
{
	if (!r)
		return;
	free(r->g);
	str_free(&r->names);
	str_free(&r->full);
	free(r);
}

int ms_refset_add(ms_refset *r, const char *filename, int64_t messageid)
{
	const char *base = ms_layout_base_name(filename);
	if (base != filename)
		return str_add(r, &r->full, base, messageid);
	guid_key k;
	if (ms_guid_name_parse(filename, k.b))
		return guid_add(r, &k);
	return str_add(r, &r->names, filename, 0);
}

bool ms_refset_has(const ms_refset *r, const char *name)
{
	guid_key k;
	if (ms_guid_name_parse(name, k.b))
		return guid_has(r, &k);
	size_t dummy = 0;
	char *lower = lower_dup(name, &dummy);
	bool found = lower && str_find(&r->names, lower);
	free(lower);
	return found;
}

int64_t ms_refset_full_path_row(const ms_refset *r, const char *name)
{
	size_t dummy = 0;
	char *lower = lower_dup(name, &dummy);
	const str_slot *s = lower ? str_find(&r->full, lower) : NULL;
	free(lower);
	return s ? s->id : 0;
}

size_t ms_refset_count(const ms_refset *r)
{
	return r->gn + (r->zero_guid ? 1 : 0) + r->names.n + r->full.n;
}

size_t ms_refset_bytes(const ms_refset *r)
{
	return r->gcap * sizeof(guid_key) + (r->names.cap + r->full.cap) * sizeof(str_slot) + r->str_bytes;
}
