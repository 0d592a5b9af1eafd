/* strmap.h - a string → int64 hash map with ASCII-case-insensitive keys.
 * For the small lookup tables of a store (domains, accounts, aliases):
 * email addresses and domain names compare case-insensitively. */
#ifndef MS_STRMAP_H
#define MS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/hashtab.h"

/* Zero-initialised is empty.  Slots: a lower-cased key and its value, on
 * the shared open-addressing core. */
typedef struct ms_strmap {
	ms_hashtab t;
} ms_strmap;

/* Insert or replace. Returns -1 on OOM. */
int ms_strmap_put(ms_strmap *m, const char *key, int64_t value);
/* True and *value if present. */
bool ms_strmap_get(const ms_strmap *m, const char *key, int64_t *value);
void ms_strmap_free(ms_strmap *m);

#endif
