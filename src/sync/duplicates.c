/* duplicates.c - byte-identical messages within an account.
 *
 * A file to import whose size equals that of a message the account
 * already has (or of one imported earlier in this run) is hashed (SHA-256,
 * nettle) and compared; a match is reported as a duplicate and, with
 * --skip-duplicates, not imported.  Only equal sizes are hashed, so the
 * cost is near zero when there are no duplicates.
 *
 * The account's existing (size, name) list is loaded once per account
 * inside the writer's transaction and kept while batches of the same
 * account follow (the candidates are sorted by path).
 */
#include "sync/sync_internal.h"

#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/layout.h"
#include "store/messages.h"

typedef struct dup_row {
	int64_t size;
	char *name;       /* the message's file name, for the report */
	char *rel;        /* where to read it, relative to the data directory */
	size_t next;      /* next row with a size of the same hash bucket, +1 */
	bool hashed, unreadable;
	uint8_t hash[SHA256_DIGEST_SIZE];
} dup_row;

struct dup_cache {
	int64_t account_id;
	char acct_dir[600];   /* "domain/local" as on disk */
	dup_row *v;
	size_t n, cap;
	size_t *heads;        /* size -> first row (+1), cap buckets */
};

void sync_dup_free(dup_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].rel);
	}
	free(c->v);
	free(c->heads);
	free(c);
}

static size_t bucket(const dup_cache *c, int64_t size)
{
	uint64_t h = (uint64_t)size * 0x9E3779B97F4A7C15ULL;
	return (size_t)(h >> 32) & (c->cap - 1);
}

static int grow(dup_cache *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 256;
	dup_row *nv = realloc(c->v, ncap * sizeof *nv);
	size_t *nh = calloc(ncap, sizeof *nh);
	if (!nv || !nh) {
		if (nv)
			c->v = nv;
		free(nh);
		return -1;
	}
	c->v = nv;
	free(c->heads);
	c->heads = nh;
	c->cap = ncap;
	for (size_t i = 0; i < c->n; i++) { /* re-bucket */
		size_t b = bucket(c, c->v[i].size);
		c->v[i].next = c->heads[b];
		c->heads[b] = i + 1;
	}
	return 0;
}

static int add_row(dup_cache *c, int64_t size, const char *name, const char *rel, const uint8_t *hash)
{
	if (c->n == c->cap && grow(c) < 0)
		return -1;
	dup_row *r = &c->v[c->n];
	*r = (dup_row){ .size = size, .name = strdup(name), .rel = strdup(rel) };
	if (!r->name || !r->rel) {
		free(r->name);
		free(r->rel);
		return -1;
	}
	if (hash) {
		memcpy(r->hash, hash, sizeof r->hash);
		r->hashed = true;
	}
	size_t b = bucket(c, size);
	r->next = c->heads[b];
	c->heads[b] = ++c->n;
	return 0;
}

static int hash_file(int root_fd, const char *rel, uint8_t out[SHA256_DIGEST_SIZE])
{
	int fd = openat(root_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	uint8_t buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sha256_update(&ctx, (size_t)n, buf);
	close(fd);
	if (n < 0)
		return -1;
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
	return 0;
}

/* The account folder of a candidate, "domain/local" as on disk. */
static void account_dir(const cand *c, char *out, size_t len)
{
	snprintf(out, len, "%.*s", (int)c->owner_len, c->relpath);
}

typedef struct load_ctx {
	dup_cache *c;
	ms_err *e;
} load_ctx;

static int add_account_row(void *ctx, const char *name, int64_t size)
{
	load_ctx *l = ctx;
	char rel[1200];
	/* full-path rows: sync rewrites them separately; a path that does not
	 * fit cannot be the file's, so it is no duplicate candidate */
	if (!name || strpbrk(name, "/\\") || !ms_layout_path(MS_PLACE_ACCOUNT, l->c->acct_dir, name, rel, sizeof rel))
		return 0;
	if (add_row(l->c, size, name, rel, NULL) < 0)
		return ms_err_set(l->e, MS_E_NOMEM, "out of memory");
	return 0;
}

static int load_account(sync_run *run, const item *first, ms_err *e)
{
	dup_cache *c = run->dups;
	if (c && c->account_id == first->acct->id)
		return 0;
	sync_dup_free(c);
	c = run->dups = calloc(1, sizeof *c);
	if (!c)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	c->account_id = first->acct->id;
	account_dir(first->c, c->acct_dir, sizeof c->acct_dir);
	load_ctx l = { .c = c, .e = e };
	return ms_messages_each_of_account(run->s->db, c->account_id, add_account_row, &l, e);
}

/* Hash of a message of the account (computed once). */
static const uint8_t *row_hash(sync_run *run, dup_row *r)
{
	if (!r->hashed && !r->unreadable) {
		if (hash_file(run->root_fd, r->rel, r->hash) == 0)
			r->hashed = true;
		else
			r->unreadable = true;
	}
	return r->hashed ? r->hash : NULL;
}

int sync_mark_duplicates(sync_run *run, item *items, size_t n, bool (*importing)(const item *), ms_err *e)
{
	if (load_account(run, &items[0], e) < 0)
		return -1;
	dup_cache *c = run->dups;
	for (size_t i = 0; i < n; i++) {
		item *it = &items[i];
		if (!importing(it))
			continue;
		/* where the file is now: a retried group's misplaced files are moved */
		const char *rel = it->new_rel[0] ? it->new_rel : it->c->relpath;
		uint8_t h[SHA256_DIGEST_SIZE];
		bool hashed = false;
		for (size_t k = c->cap ? c->heads[bucket(c, it->size)] : 0; k; k = c->v[k - 1].next) {
			dup_row *r = &c->v[k - 1];
			if (r->size != it->size)
				continue;
			if (!hashed && hash_file(run->root_fd, rel, h) < 0)
				break;
			hashed = true;
			const uint8_t *other = row_hash(run, r);
			if (other && memcmp(other, h, sizeof h) == 0) {
				snprintf(it->duplicate_of, sizeof it->duplicate_of, "%s", r->name);
				break;
			}
		}
		if (it->duplicate_of[0] && run->o->skip_duplicates) {
			it->cat = SYNC_NOT_IMPORTED;
			snprintf(it->reason, sizeof it->reason, "byte-identical to %s in the same account (--skip-duplicates)",
			         it->duplicate_of);
			continue;
		}
		/* Later files may duplicate this one.  A misplaced file is about
		 * to be renamed, so it is hashed now, while its path is known. */
		if (it->misplaced && !hashed && hash_file(run->root_fd, rel, h) == 0)
			hashed = true;
		if (add_row(c, it->size, it->c->relpath + it->c->name_off, rel, hashed ? h : NULL) < 0)
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	return 0;
}
