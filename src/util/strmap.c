#include "util/strmap.h"

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

static struct ms_strmap_slot *find(const ms_strmap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t j = hash_lower(key) & (m->cap - 1);
	while (m->v[j].key) {
		if (key_eq(m->v[j].key, key))
			return &m->v[j];
		j = (j + 1) & (m->cap - 1);
	}
	return &m->v[j];
}

static int grow(ms_strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	struct ms_strmap_slot *nv = calloc(ncap, sizeof *nv);
	if (!nv)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->v[i].key)
			continue;
		size_t j = hash_lower(m->v[i].key) & (ncap - 1);
		while (nv[j].key)
			j = (j + 1) & (ncap - 1);
		nv[j] = m->v[i];
	}
	free(m->v);
	m->v = nv;
	m->cap = ncap;
	return 0;
}

int ms_strmap_put(ms_strmap *m, const char *key, int64_t value)
{
	if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return -1;
	struct ms_strmap_slot *s = find(m, key);
	if (s->key) {
		s->value = value;
		return 0;
	}
	size_t len = strlen(key);
	s->key = malloc(len + 1);
	if (!s->key)
		return -1;
	for (size_t i = 0; i <= len; i++)
		s->key[i] = (char)tolower((unsigned char)key[i]);
	s->value = value;
	m->n++;
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
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].key);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}
