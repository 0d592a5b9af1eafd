/* refset.c - the referenced-file-name set (see refset.h).
 *
 * Three tables on the shared open-addressing core (util/hashtab.h):
 *   guids  (owner, 16-byte GUID) of names in hMailServer's spelling: 20
 *          bytes a slot, about 29 bytes a name at the 0.7 load factor;
 *   names  every other partial name, as stored, with its owner;
 *   full   full-path rows, by their last component, with owner and row id.
 * Each table hashes the name alone, not the owner, so every owner's entry
 * for one name lies on one chain: "does another owner name it?" is the
 * same probe as "does this owner name it?".  A hand-written slot because
 * the GUID case is the whole point: a generic string set would cost three
 * to four times the memory per message.
 */
#include "sync/refset.h"

#include "store/layout.h"
#include "util/hashtab.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An owner as a 32-bit slot value; 0 marks an empty slot. */
#define OWN_QUEUE  0xFFFFFFFEu
#define OWN_PUBLIC 0xFFFFFFFFu

typedef struct guid_slot {
	uint8_t b[16];
	uint32_t owner;   /* 0 = empty slot */
} guid_slot;

typedef struct str_slot {
	char *s;          /* the name as stored; NULL = empty slot */
	int64_t owner;
	int64_t id;       /* full-path table: the row's messageid */
} str_slot;

struct ms_refset {
	ms_hashtab guids, names, full;
	size_t str_bytes;
};

int64_t ms_refset_row_owner(int type, int64_t account_id)
{
	if (type != 2)
		return MS_REF_QUEUE; /* 1 delivering, 3 held for ETRN: both wait in the queue */
	return account_id > 0 ? account_id : MS_REF_PUBLIC;
}

/* The 32-bit form of an owner; 0 when it has none (then the name is kept
 * as a string). */
static uint32_t own32(int64_t owner)
{
	if (owner == MS_REF_QUEUE)
		return OWN_QUEUE;
	if (owner == MS_REF_PUBLIC)
		return OWN_PUBLIC;
	return owner > 0 && owner < (int64_t)OWN_QUEUE ? (uint32_t)owner : 0;
}

static uint64_t guid_hash(const uint8_t b[16])
{
	uint64_t x, y;
	memcpy(&x, b, 8);
	memcpy(&y, b + 8, 8);
	return ms_hash_mix(x ^ (y * 0x9E3779B97F4A7C15ULL));
}

static uint64_t guid_slot_hash(const void *slot, const void *ctx)
{
	(void)ctx;
	return guid_hash(((const guid_slot *)slot)->b);
}

static uint64_t lower_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a over the lower-cased name */
	for (; *s; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= 1099511628211ULL;
	}
	return ms_hash_mix(h);
}

static uint64_t str_slot_hash(const void *slot, const void *ctx)
{
	(void)ctx;
	return lower_hash(((const str_slot *)slot)->s);
}

/* Is `name` the GUID name in hMailServer's spelling? */
static bool upper_spelling(const char *name, const uint8_t g[16])
{
	char u[MS_GUID_NAME_LEN + 1];
	ms_guid_name_format(g, u);
	return strcmp(u, name) == 0;
}

/* ---- the GUID table --------------------------------------------------------- */

static bool guid_has(const ms_refset *r, uint32_t own, const uint8_t g[16])
{
	const ms_hashtab *t = &r->guids;
	if (!t->cap)
		return false;
	for (size_t j = ms_hashtab_first(t, guid_hash(g));; j = ms_hashtab_next(t, j)) {
		const guid_slot *s = ms_hashtab_at(t, sizeof *s, j);
		if (!s->owner)
			return false;
		if (s->owner == own && memcmp(s->b, g, 16) == 0)
			return true;
	}
}

/* Does an owner other than `own` (0: any) hold the GUID? */
static bool guid_elsewhere(const ms_refset *r, uint32_t own, const uint8_t g[16])
{
	const ms_hashtab *t = &r->guids;
	if (!t->cap)
		return false;
	for (size_t j = ms_hashtab_first(t, guid_hash(g));; j = ms_hashtab_next(t, j)) {
		const guid_slot *s = ms_hashtab_at(t, sizeof *s, j);
		if (!s->owner)
			return false;
		if (s->owner != own && memcmp(s->b, g, 16) == 0)
			return true;
	}
}

static int guid_add(ms_refset *r, uint32_t own, const uint8_t g[16])
{
	if (guid_has(r, own, g))
		return 0;
	if (ms_hashtab_reserve(&r->guids, r->guids.n + 1, sizeof(guid_slot), 1024, guid_slot_hash, NULL) < 0)
		return -1;
	guid_slot *s = ms_hashtab_free_slot(&r->guids, sizeof *s, guid_hash(g));
	memcpy(s->b, g, 16);
	s->owner = own;
	r->guids.n++;
	return 0;
}

/* ---- the string tables ------------------------------------------------------ */

/* Walk the chain of `name` (every spelling, every owner); fn returns true
 * to stop, and then so does this. */
static bool str_chain(const ms_hashtab *t, const char *name, bool (*fn)(const str_slot *, void *), void *ctx)
{
	if (!t->cap)
		return false;
	for (size_t j = ms_hashtab_first(t, lower_hash(name));; j = ms_hashtab_next(t, j)) {
		const str_slot *s = ms_hashtab_at(t, sizeof *s, j);
		if (!s->s)
			return false;
		if (strcasecmp(s->s, name) == 0 && fn(s, ctx))
			return true;
	}
}

typedef struct str_query {
	int64_t owner;
	const char *name;
	const str_slot *found;
	bool exact, variant;
} str_query;

/* Same owner, same spelling: stops. */
static bool q_exact(const str_slot *s, void *ctx)
{
	str_query *q = ctx;
	if (s->owner != q->owner || strcmp(s->s, q->name) != 0)
		return false;
	q->found = s;
	return true;
}

/* Same owner, any spelling: notes exact and other spellings. */
static bool q_spellings(const str_slot *s, void *ctx)
{
	str_query *q = ctx;
	if (s->owner != q->owner)
		return false;
	if (strcmp(s->s, q->name) == 0)
		q->exact = true;
	else
		q->variant = true;
	q->found = s;
	return q->exact;
}

static bool q_other_owner(const str_slot *s, void *ctx)
{
	return s->owner != ((str_query *)ctx)->owner;
}

static int str_add(ms_refset *r, ms_hashtab *t, int64_t owner, const char *name, int64_t id)
{
	str_query q = { .owner = owner, .name = name };
	if (str_chain(t, name, q_exact, &q))
		return 0;
	if (ms_hashtab_reserve(t, t->n + 1, sizeof(str_slot), 64, str_slot_hash, NULL) < 0)
		return -1;
	size_t len = strlen(name);
	char *copy = malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, name, len + 1);
	str_slot *s = ms_hashtab_free_slot(t, sizeof *s, lower_hash(name));
	*s = (str_slot){ copy, owner, id };
	t->n++;
	r->str_bytes += len + 1;
	return 0;
}

static void str_free(ms_hashtab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(((str_slot *)ms_hashtab_at(t, sizeof(str_slot), i))->s);
	ms_hashtab_free(t);
}

/* ---- the set ------------------------------------------------------------------ */

ms_refset *ms_refset_new(void)
{
	return calloc(1, sizeof(ms_refset));
}

void ms_refset_free(ms_refset *r)
{
	if (!r)
		return;
	ms_hashtab_free(&r->guids);
	str_free(&r->names);
	str_free(&r->full);
	free(r);
}

int ms_refset_add(ms_refset *r, int64_t owner, const char *filename, int64_t messageid)
{
	const char *base = ms_layout_base_name(filename);
	if (base != filename)
		return str_add(r, &r->full, owner, base, messageid);
	uint8_t g[16];
	uint32_t own = own32(owner);
	if (own && ms_guid_name_parse(filename, g) && upper_spelling(filename, g))
		return guid_add(r, own, g);
	return str_add(r, &r->names, owner, filename, 0);
}

ms_ref_match ms_refset_match(const ms_refset *r, int64_t owner, const char *name)
{
	uint8_t g[16];
	uint32_t own = own32(owner);
	bool is_guid = ms_guid_name_parse(name, g);
	bool upper = is_guid && upper_spelling(name, g);
	bool in_guids = own && is_guid && guid_has(r, own, g);
	if (upper && in_guids)
		return MS_REF_EXACT;
	str_query q = { .owner = owner, .name = name };
	if (r->names.n)
		str_chain(&r->names, name, q_spellings, &q);
	if (q.exact || (q.variant && !is_guid))
		return MS_REF_EXACT; /* other names: case-insensitive */
	return q.variant || in_guids ? MS_REF_VARIANT : MS_REF_NONE;
}

typedef struct spell_ctx {
	int64_t owner;
	bool (*fn)(void *, const char *);
	void *ctx;
} spell_ctx;

static bool q_spell(const str_slot *s, void *ctx)
{
	spell_ctx *c = ctx;
	return s->owner == c->owner && c->fn(c->ctx, s->s);
}

bool ms_refset_each_spelling(const ms_refset *r, int64_t owner, const char *name,
                             bool (*fn)(void *ctx, const char *spelling), void *ctx)
{
	uint8_t g[16];
	uint32_t own = own32(owner);
	if (!ms_guid_name_parse(name, g))
		return false;
	if (own && guid_has(r, own, g)) {
		char u[MS_GUID_NAME_LEN + 1];
		ms_guid_name_format(g, u);
		if (fn(ctx, u))
			return true;
	}
	spell_ctx c = { owner, fn, ctx };
	return str_chain(&r->names, name, q_spell, &c);
}

int64_t ms_refset_full_path_row(const ms_refset *r, int64_t owner, const char *name)
{
	str_query q = { .owner = owner, .name = name };
	str_chain(&r->full, name, q_spellings, &q);
	return q.found ? q.found->id : 0;
}

bool ms_refset_named_elsewhere(const ms_refset *r, int64_t owner, const char *name)
{
	uint8_t g[16];
	if (ms_guid_name_parse(name, g) && guid_elsewhere(r, own32(owner), g))
		return true;
	str_query q = { .owner = owner, .name = name };
	return str_chain(&r->names, name, q_other_owner, &q) || str_chain(&r->full, name, q_other_owner, &q);
}

size_t ms_refset_count(const ms_refset *r)
{
	return r->guids.n + r->names.n + r->full.n;
}

size_t ms_refset_bytes(const ms_refset *r)
{
	return ms_hashtab_bytes(&r->guids, sizeof(guid_slot)) + ms_hashtab_bytes(&r->names, sizeof(str_slot)) +
	       ms_hashtab_bytes(&r->full, sizeof(str_slot)) + r->str_bytes;
}
