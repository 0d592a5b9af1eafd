#include "util/strmap.h"

#include "util/hashtab.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct ms_strmap_slot {
	char *key; /* lower-cased; NULL = empty */
	int64_t value;
};

static uint64_t hash_lower(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a over the lower-cased key */
	for (; *s; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 32);
}

static bool key_eq(const char *stored, const char *key)
{
	for (; *stored && *key; stored++, key++)
		if (*stored != (char)tolower((unsigned char)*key))
			return false;
	return *stored == *key;
}

static uint64_t slot_hash(const void *slot, const void *ctx)
{
	(void)ctx;
	return hash_lower(((const struct ms_strmap_slot *)slot)->key);
}

/* The key's slot, or the empty slot that ends its chain. */
static struct ms_strmap_slot *find(const ms_strmap *m, const char *key)
{
	if (!m->t.cap)
		return NULL;
	for (size_t j = ms_hashtab_first(&m->t, hash_lower(key));; j = ms_hashtab_next(&m->t, j)) {
		struct ms_strmap_slot *s = ms_hashtab_at(&m->t, sizeof *s, j);
		if (!s->key || key_eq(s->key, key))
			return s;
	}
}

int ms_strmap_put(ms_strmap *m, const char *key, int64_t value)
{
	if (ms_hashtab_reserve(&m->t, m->t.n + 1, sizeof(struct ms_strmap_slot), 16, slot_hash, NULL) < 0)
		return -1;
	struct ms_strmap_slot *s = find(m, key);
	if (s->key) {
		s->value = value;
		return 0;
	}
	size_t len = strlen(key);
	char *copy = malloc(len + 1);
	if (!copy)
		return -1;
	for (size_t i = 0; i <= len; i++)
		copy[i] = (char)tolower((unsigned char)key[i]);
	s->key = copy;
	s->value = value;
	m->t.n++;
	return 0;
}

bool ms_strmap_get(const ms_strmap *m, const char *key, int64_t *value)
{
	struct ms_strmap_slot *s = find(m, key);
	if (!s || !s->key)
		return false;
	if (value)
		*value = s->value;
	return true;
}

void ms_strmap_free(ms_strmap *m)
{
	for (size_t i = 0; i < m->t.cap; i++)
		free(((struct ms_strmap_slot *)ms_hashtab_at(&m->t, sizeof(struct ms_strmap_slot), i))->key);
	ms_hashtab_free(&m->t);
}
