/* files.c - the data directory side: one parallel walk that records every
 * message file with its owner (the queue, #Public, or an account folder),
 * its size and modification time, and whether it sits where the server
 * looks for it.  Afterwards an index answers "which file does the row
 * (owner, name) mean?" from memory.
 *
 * A file costs about 64 bytes here; names and paths are stored only when
 * they cannot be derived (a name that is not an upper-case {GUID}.eml, a
 * file away from its canonical place).
 */
#include "reconstruct/rc_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/clock.h"
#include "store/layout.h"
#include "util/arena.h"
#include "util/escape.h"
#include "util/hashtab.h"
#include "util/vec.h"
#include "walk/walk.h"

/* Copy into the arena; the caller holds run->mu. */
static const char *arena_copy(rc_run *run, const char *s)
{
	return ms_arena_copy(&run->names, s, strlen(s));
}

static void lower_key(char *out, size_t len, const char *local, const char *domain)
{
	snprintf(out, len, "%s@%s", local, domain);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* The owner slot of an account folder; the caller holds run->mu. */
static int32_t owner_of(rc_run *run, const char *domain, const char *local, bool create)
{
	char key[1024];
	lower_key(key, sizeof key, local, domain);
	int64_t idx;
	if (ms_strmap_get(&run->owner_by_dir, key, &idx))
		return (int32_t)idx;
	if (!create)
		return -1;
	if (ms_vec_reserve_((void **)&run->owners, &run->owners_cap, run->nowners + 1, sizeof *run->owners) < 0)
		return -1;
	int64_t acct = -1;
	if (!ms_strmap_get(&run->account_by_address, key, &acct))
		acct = -1;
	rc_owner *o = &run->owners[run->nowners];
	*o = (rc_owner){ .domain_dir = strdup(domain), .local_dir = strdup(local), .account_idx = acct };
	if (!o->domain_dir || !o->local_dir || ms_strmap_put(&run->owner_by_dir, key, (int64_t)run->nowners) < 0)
		return -1;
	if (acct >= 0 && run->accounts[acct].owner < 0)
		run->accounts[acct].owner = (int32_t)run->nowners;
	return (int32_t)run->nowners++;
}

/* Enter an account tree when its account is in scope, or, with -o, when
 * no account owns it (to count its files). */
static bool tree_filter(void *ctx, const char *domain, const char *local)
{
	rc_run *run = ctx;
	pthread_mutex_lock(&run->mu);
	int32_t ow = owner_of(run, domain, local, true);
	bool enter = false;
	if (ow < 0) {
		run->oom = true;
	} else if (run->owners[ow].account_idx >= 0) {
		enter = run->accounts[run->owners[ow].account_idx].in_scope;
	} else if (run->o->orphans && run->o->nmailboxes == 0) {
		enter = ms_scope_has_account(&run->o->scope, local, domain);
	}
	pthread_mutex_unlock(&run->mu);
	return enter;
}

/* Is the file in the <XX> folder its name asks for, one level below the
 * account folder (or #Public)? */
static bool in_xx_folder(const walk_entry *e)
{
	size_t owner = e->place == WALK_PUBLIC ? strlen(MS_PUBLIC_DIR) : strlen(e->domain) + 1 + strlen(e->local);
	return ms_layout_is_canonical(e->relpath, owner);
}

/* An upper-case {GUID}.eml name can be rebuilt from its 16 bytes. */
static bool name_derivable(const char *name, bool is_guid)
{
	if (!is_guid || strcmp(name + 38, ".eml") != 0)
		return false;
	for (const char *p = name; *p; p++)
		if (islower((unsigned char)*p) && p < name + 38)
			return false;
	return true;
}

static void add_file(rc_run *run, const walk_entry *e, int32_t owner, bool canonical, const struct stat *st)
{
	rc_file f = { .size = st->st_size, .owner = owner, .canonical = canonical };
	f.mtime = ms_clock_settle_time(st, run->now, &f.future_mtime);
	f.is_guid = ms_guid_name_parse(e->name, f.guid);
	pthread_mutex_lock(&run->mu);
	if (ms_vec_reserve_((void **)&run->files, &run->files_cap, run->nfiles + 1, sizeof *run->files) < 0) {
		run->oom = true;
		pthread_mutex_unlock(&run->mu);
		return;
	}
	if (!name_derivable(e->name, f.is_guid) && !(f.name = arena_copy(run, e->name)))
		run->oom = true;
	/* The path is derivable only for a canonical file in the owner's
	 * first-seen folder (folders may differ in case on disk). */
	bool same_dirs = owner < 2 || (strcmp(run->owners[owner].domain_dir, e->domain) == 0 &&
	                               strcmp(run->owners[owner].local_dir, e->local) == 0);
	if ((!canonical || !same_dirs) && !(f.relpath = arena_copy(run, e->relpath)))
		run->oom = true;
	run->files[run->nfiles++] = f;
	if (owner >= 2)
		run->owners[owner].files++;
	pthread_mutex_unlock(&run->mu);
}

static void on_entry(void *ctx, const walk_entry *e)
{
	rc_run *run = ctx;
	if (e->kind == WALK_ERROR) {
		pthread_mutex_lock(&run->mu);
		run->walk_errors++;
		fputs("mstore reconstruct: cannot read ", stderr);
		ms_escape_put(stderr, e->relpath);
		/* rows are still checked file by file; a file no row names cannot
		 * be found there, so the run ends "could not check" (exit 2) */
		fprintf(stderr, ": %s (files there that no row references cannot be found)\n", e->error);
		pthread_mutex_unlock(&run->mu);
		return;
	}
	if (e->kind != WALK_MESSAGE || e->place == WALK_OTHER)
		return;
	struct stat st;
	if (fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return; /* gone meanwhile, or replaced: the re-verification decides */
	atomic_fetch_add(&run->walked, 1);
	int32_t owner = RC_OWNER_QUEUE;
	bool canonical = true;
	if (e->place == WALK_PUBLIC) {
		owner = RC_OWNER_PUBLIC;
		canonical = in_xx_folder(e);
	} else if (e->place == WALK_ACCOUNT) {
		pthread_mutex_lock(&run->mu);
		owner = owner_of(run, e->domain, e->local, false);
		pthread_mutex_unlock(&run->mu);
		if (owner < 0)
			return;
		canonical = in_xx_folder(e);
	}
	add_file(run, e, owner, canonical, &st);
}

/* ---- the index ------------------------------------------------------------ */

/* The key hashes the owner and the name: 16 bytes for a GUID name (any
 * case), the lower-cased name otherwise. */
static uint64_t key_hash(int32_t owner, bool is_guid, const uint8_t g[16], const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uint32_t)owner;
	if (is_guid) {
		for (int i = 0; i < 16; i++)
			h = (h ^ g[i]) * 1099511628211ULL;
	} else {
		for (const char *p = name; *p; p++)
			h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 1099511628211ULL;
	}
	return ms_hash_mix(h);
}

static uint64_t slot_hash(const void *slot, const void *ctx)
{
	const rc_run *run = ctx;
	const rc_file *f = &run->files[*(const uint32_t *)slot - 1];
	return key_hash(f->owner, f->is_guid, f->guid, f->name);
}

static int build_index(rc_run *run)
{
	if (ms_hashtab_reserve(&run->file_index, run->nfiles, sizeof(uint32_t), 1024, slot_hash, run) < 0)
		return -1;
	for (size_t i = 0; i < run->nfiles; i++) {
		uint32_t *s = ms_hashtab_free_slot(&run->file_index, sizeof *s, slot_hash(&(uint32_t){ (uint32_t)(i + 1) }, run));
		*s = (uint32_t)(i + 1);
		run->file_index.n++;
	}
	return 0;
}

/* A row's name and the files its key reaches. */
typedef struct row_key {
	int32_t owner;
	const char *name;
	bool is_guid, upper;
	uint8_t g[16];
} row_key;

static bool same_key(const rc_file *f, const row_key *k)
{
	if (f->owner != k->owner || f->is_guid != k->is_guid)
		return false;
	return k->is_guid ? memcmp(f->guid, k->g, 16) == 0 : strcasecmp(f->name, k->name) == 0;
}

/* Is the file spelt exactly as the row?  Other names compare
 * case-insensitively (refset.h), so any file of the key is. */
static bool spelt_as(const rc_file *f, const row_key *k)
{
	if (!k->is_guid)
		return true;
	return f->name ? strcmp(f->name, k->name) == 0 : k->upper; /* no name: hMailServer's spelling */
}

rc_file *rc_file_match(rc_run *run, int32_t owner, const char *name)
{
	const ms_hashtab *t = &run->file_index;
	if (!t->cap)
		return NULL;
	row_key k = { .owner = owner, .name = name };
	k.is_guid = ms_guid_name_parse(name, k.g);
	if (k.is_guid) {
		char u[MS_GUID_NAME_LEN + 1];
		ms_guid_name_format(k.g, u);
		k.upper = strcmp(u, name) == 0;
	}
	size_t first = ms_hashtab_first(t, key_hash(owner, k.is_guid, k.g, name));
	/* the file spelt as the row at its canonical place owns the row alone;
	 * without one, every spelling of the GUID does (as on Windows, where
	 * they are one file) */
	bool exact_home = false;
	for (size_t j = first; *(uint32_t *)ms_hashtab_at(t, 4, j); j = ms_hashtab_next(t, j)) {
		const rc_file *f = &run->files[*(uint32_t *)ms_hashtab_at(t, 4, j) - 1];
		if (same_key(f, &k) && f->canonical && spelt_as(f, &k))
			exact_home = true;
	}
	rc_file *best = NULL;
	int best_rank = -1;
	for (size_t j = first; *(uint32_t *)ms_hashtab_at(t, 4, j); j = ms_hashtab_next(t, j)) {
		rc_file *f = &run->files[*(uint32_t *)ms_hashtab_at(t, 4, j) - 1];
		if (!same_key(f, &k))
			continue;
		bool exact = spelt_as(f, &k);
		if (exact_home && !exact)
			continue;
		f->matched = true;
		int rank = (f->canonical ? 2 : 0) + (exact ? 1 : 0);
		if (rank > best_rank) {
			best = f;
			best_rank = rank;
		}
	}
	return best;
}

const char *rc_not_a_file(const rc_run *run, const char *rel)
{
	struct stat st;
	if (fstatat(run->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISREG(st.st_mode))
		return NULL;
	return S_ISLNK(st.st_mode) ? "a symlink" : S_ISDIR(st.st_mode) ? "a directory" : "not a regular file";
}

bool rc_canonical_path(const rc_run *run, int32_t owner, const char *name, char *out, size_t len)
{
	if (owner == RC_OWNER_QUEUE)
		return ms_layout_path(MS_PLACE_QUEUE, NULL, name, out, len);
	if (owner == RC_OWNER_PUBLIC)
		return ms_layout_path(MS_PLACE_PUBLIC, NULL, name, out, len);
	char dir[1100];
	snprintf(dir, sizeof dir, "%s/%s", run->owners[owner].domain_dir, run->owners[owner].local_dir);
	return ms_layout_path(MS_PLACE_ACCOUNT, dir, name, out, len);
}

void rc_file_path(const rc_run *run, const rc_file *f, char *out, size_t len)
{
	if (f->relpath) {
		snprintf(out, len, "%s", f->relpath);
		return;
	}
	char name[MS_GUID_NAME_LEN + 1];
	if (!f->name)
		ms_guid_name_format(f->guid, name);
	rc_canonical_path(run, f->owner, f->name ? f->name : name, out, len);
}

int rc_walk(rc_run *run, ms_err *e)
{
	run->owners_cap = 64;
	run->owners = calloc(run->owners_cap, sizeof *run->owners);
	if (!run->owners)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	run->owners[RC_OWNER_QUEUE] = (rc_owner){ .account_idx = -1 };
	run->owners[RC_OWNER_PUBLIC] = (rc_owner){ .account_idx = -1 };
	run->nowners = 2;
	walk_opts wo = {
		.threads = run->o->threads,
		.queue = run->store_wide,
		.accounts = true,
		.public_folder = run->store_wide,
		.filter = tree_filter,
		.on_entry = on_entry,
		.ctx = run,
	};
	walk_stats st;
	if (ms_walk(run->s->data_dir, &wo, &st, e) < 0)
		return -1;
	if (run->oom || build_index(run) < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory recording the data directory's files");
	run->r->files = run->nfiles;
	return 0;
}

void rc_files_free(rc_run *run)
{
	for (size_t i = 0; i < run->nowners; i++) {
		free(run->owners[i].domain_dir);
		free(run->owners[i].local_dir);
	}
	free(run->owners);
	ms_strmap_free(&run->owner_by_dir);
	free(run->files);
	ms_hashtab_free(&run->file_index);
	ms_arena_free(&run->names);
}
