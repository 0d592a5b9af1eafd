/* hashtab.c - growth of the shared open-addressing core (see hashtab.h). */
#include "util/hashtab.h"

#include <assert.h>
#include <stdlib.h>

bool ms_hashtab_slot_empty(const void *slot, size_t slot_size)
{
	const unsigned char *p = slot;
	for (size_t i = 0; i < slot_size; i++)
		if (p[i])
			return false;
	return true;
}

void *ms_hashtab_free_slot(const ms_hashtab *t, size_t slot_size, uint64_t h)
{
	assert(t->cap && t->n < t->cap);
	size_t j = ms_hashtab_first(t, h);
	while (!ms_hashtab_slot_empty(ms_hashtab_at(t, slot_size, j), slot_size))
		j = ms_hashtab_next(t, j);
	return ms_hashtab_at(t, slot_size, j);
}

static bool fits(size_t want, size_t cap)
{
	return want * 10 <= cap * 7;
}

int ms_hashtab_reserve(ms_hashtab *t, size_t want, size_t slot_size, size_t min_cap, ms_hashtab_hash_fn hash,
                       const void *ctx)
{
	assert(min_cap && (min_cap & (min_cap - 1)) == 0);
	if (t->cap && fits(want, t->cap))
		return 0;
	size_t ncap = t->cap ? t->cap : min_cap;
	while (!fits(want, ncap))
		ncap *= 2;
	ms_hashtab nt = { .v = calloc(ncap, slot_size), .n = 0, .cap = ncap };
	if (!nt.v)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		const void *s = ms_hashtab_at(t, slot_size, i);
		if (ms_hashtab_slot_empty(s, slot_size))
			continue;
		unsigned char *d = ms_hashtab_free_slot(&nt, slot_size, hash(s, ctx));
		for (size_t k = 0; k < slot_size; k++)
			d[k] = ((const unsigned char *)s)[k];
		nt.n++;
	}
	assert(nt.n == t->n);
	free(t->v);
	*t = nt;
	return 0;
}

void ms_hashtab_free(ms_hashtab *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}
