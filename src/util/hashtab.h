/* hashtab.h - the open-addressing core shared by mstore's hash tables
 * (util/strmap, sync/refset, reconstruct's file index).
 *
 * Each table keeps its own slot type and key (a 20-byte GUID slot for the
 * referenced set, whose memory per message is the point; a string slot; a
 * 4-byte file index), so the slot is opaque here: what is shared is the
 * arithmetic they used to write three times.  Capacity is a power of two,
 * probing linear, the load at most 0.7, growth by doubling with a rehash.
 * A slot whose bytes are all zero is empty: tables choose their slot
 * layout so that no entry is all zero.
 *
 * The probe functions are inline (a lookup costs what the hand-written
 * loops cost); growth, which is rare, calls back for a slot's hash.
 */
#ifndef MS_HASHTAB_H
#define MS_HASHTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ms_hashtab {
	void *v;          /* cap slots */
	size_t n, cap;    /* entries, slots (0 or a power of two) */
} ms_hashtab;

/* The hash of an occupied slot (used when growing). */
typedef uint64_t (*ms_hashtab_hash_fn)(const void *slot, const void *ctx);

/* A finaliser for hash values whose low bits are weak (murmur3's). */
static inline uint64_t ms_hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* Where the chain of hash `h` starts, and the slot after `j`. */
static inline size_t ms_hashtab_first(const ms_hashtab *t, uint64_t h)
{
	return (size_t)h & (t->cap - 1);
}

static inline size_t ms_hashtab_next(const ms_hashtab *t, size_t j)
{
	return (j + 1) & (t->cap - 1);
}

static inline void *ms_hashtab_at(const ms_hashtab *t, size_t slot_size, size_t j)
{
	return (char *)t->v + j * slot_size;
}

bool ms_hashtab_slot_empty(const void *slot, size_t slot_size);

/* The first empty slot on the chain of `h` (there is one: the load stays
 * below 1).  The caller fills it and counts it in t->n. */
void *ms_hashtab_free_slot(const ms_hashtab *t, size_t slot_size, uint64_t h);

/* Make room for `want` entries at a load of at most 0.7, the capacity at
 * least `min_cap` (a power of two), rehashing what is there.  -1 on OOM
 * (the table is then unchanged). */
int ms_hashtab_reserve(ms_hashtab *t, size_t want, size_t slot_size, size_t min_cap, ms_hashtab_hash_fn hash,
                       const void *ctx);

/* The slots' memory, in bytes. */
static inline size_t ms_hashtab_bytes(const ms_hashtab *t, size_t slot_size)
{
	return t->cap * slot_size;
}

void ms_hashtab_free(ms_hashtab *t);

#endif
