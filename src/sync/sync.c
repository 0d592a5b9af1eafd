/* sync.c - orchestration of `mstore sync` (see sync.h, sync_internal.h).
 *
 *   1. recover the rename journal of an interrupted run;
 *   2. load the directory snapshot and the referenced names (one query);
 *   3. walk the data directory in parallel: referenced files are counted
 *      as skipped on the spot, the rest become candidates;
 *   4. candidates, sorted by owner (an account's folders in any case) and
 *      path, so an account's files are together, go in batches that do not
 *      split an account which fits in one: analysed in parallel, written
 *      in one transaction per account.  A larger account is ordered by
 *      internal date first, so its UIDs follow the dates across batches.
 */
#include "sync/sync_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "message/header.h"
#include "store/acctmove.h"
#include "store/inflight.h"
#include "store/layout.h"
#include "store/trash.h"
#include "util/testhook.h"

static const char *const category_names[SYNC_N_CATEGORIES] = {
	[SYNC_SKIPPED] = "skipped",
	[SYNC_IMPORTED_ACCOUNT] = "imported",
	[SYNC_IMPORTED_QUEUE] = "queued",
	[SYNC_PATH_UPDATED] = "path-updated",
	[SYNC_MOVED] = "moved",
	[SYNC_ORPHANED] = "orphaned",
	[SYNC_DEFERRED] = "deferred",
	[SYNC_NOT_IMPORTED] = "not-imported",
	[SYNC_IGNORED] = "ignored",
	[SYNC_FAILED] = "failed",
};

const char *ms_sync_category_name(sync_category c)
{
	return c < SYNC_N_CATEGORIES ? category_names[c] : "?";
}

/* ---- candidates --------------------------------------------------------- */

static void cand_add(cand_list *l, const walk_entry *e)
{
	size_t len = strlen(e->relpath);
	/* name_off is 16 bits: the walker refuses paths of PATH_MAX and more */
	assert(e->name >= e->relpath && (size_t)(e->name - e->relpath) <= UINT16_MAX);
	pthread_mutex_lock(&l->mu);
	char *p = ms_arena_copy(&l->paths, e->relpath, len);
	size_t owner = e->place == WALK_ACCOUNT ? strlen(e->domain) + 1 + strlen(e->local)
	               : e->place == WALK_PUBLIC ? strlen(MS_PUBLIC_DIR) : 0;
	assert(owner <= (size_t)(e->name - e->relpath));
	cand c = { .relpath = p, .name_off = (uint16_t)(e->name - e->relpath), .owner_len = (uint16_t)owner,
	           .place = (uint8_t)e->place, .depth = (uint8_t)(e->depth > 255 ? 255 : e->depth) };
	if (!p || ms_vec_push(l, c) < 0)
		l->oom = true;
	pthread_mutex_unlock(&l->mu);
}

static void cand_list_free(cand_list *l)
{
	ms_arena_free(&l->paths);
	ms_vec_free(l);
}

/* Do two candidates belong to one owner (an account, the queue, #Public)?
 * Account folders are matched to accounts in any case, so "Ann/" and
 * "ann/" are one owner. */
static bool same_owner(const cand *x, const cand *y)
{
	return x->place == y->place && x->owner_len == y->owner_len &&
	       strncasecmp(x->relpath, y->relpath, x->owner_len) == 0;
}

/* By owner (its folder names in any case), then by path: an owner's files
 * are contiguous even when its folders differ in case, so they are
 * written as one group and get their UIDs in one order. */
static int cand_cmp(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	if (x->place != y->place)
		return (int)x->place - (int)y->place;
	size_t n = x->owner_len < y->owner_len ? x->owner_len : y->owner_len;
	int c = strncasecmp(x->relpath, y->relpath, n);
	if (c == 0 && x->owner_len != y->owner_len)
		c = x->owner_len < y->owner_len ? -1 : 1;
	return c ? c : strcmp(x->relpath, y->relpath);
}

/* ---- the walk ------------------------------------------------------------ */

static bool account_in_scope(void *ctx, const char *domain, const char *local)
{
	const sync_run *run = ctx;
	return ms_scope_has_account(&run->o->scope, local, domain);
}

/* Whose rows can reference the file (refset.h): the account whose folder
 * holds it, the queue for the root, #Public; nobody's elsewhere. */
static int64_t entry_owner(const sync_run *run, const walk_entry *e)
{
	if (e->place == WALK_QUEUE)
		return MS_REF_QUEUE;
	if (e->place == WALK_PUBLIC)
		return MS_REF_PUBLIC;
	const ms_dir_account *a = e->place == WALK_ACCOUNT ? ms_directory_account(run->dir, e->local, e->domain) : NULL;
	return a ? a->id : MS_REF_NOBODY;
}

typedef struct spelling_ctx {
	const sync_run *run;
	const walk_entry *e;
	struct stat self;
} spelling_ctx;

/* Is there a file spelt `spelling` at its canonical place beside the
 * entry's owner folder (and not the entry itself, on a file system that
 * ignores case)? */
static bool spelling_exists(void *ctx, const char *spelling)
{
	const spelling_ctx *c = ctx;
	const walk_entry *e = c->e;
	char owner[4096], path[4096];
	size_t olen = e->place == WALK_ACCOUNT ? strlen(e->domain) + 1 + strlen(e->local) : 0;
	snprintf(owner, sizeof owner, "%.*s", (int)olen, e->relpath);
	ms_place place = e->place == WALK_QUEUE ? MS_PLACE_QUEUE : e->place == WALK_PUBLIC ? MS_PLACE_PUBLIC : MS_PLACE_ACCOUNT;
	struct stat st;
	if (!ms_layout_path(place, owner, spelling, path, sizeof path) ||
	    fstatat(c->run->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return false;
	return st.st_ino != c->self.st_ino || st.st_dev != c->self.st_dev;
}

/* Is the walk's file referenced?  A GUID name spelt otherwise than its
 * rows (case only) is theirs unless a file spelt as a row sits at its
 * canonical place: then that one is the row's, and this one is another
 * file (refset.h). */
static bool referenced(const sync_run *run, const walk_entry *e)
{
	int64_t owner = entry_owner(run, e);
	ms_ref_match m = ms_refset_match(run->refs, owner, e->name);
	if (m != MS_REF_VARIANT)
		return m == MS_REF_EXACT;
	spelling_ctx c = { .run = run, .e = e };
	if (fstatat(e->dirfd, e->name, &c.self, AT_SYMLINK_NOFOLLOW) < 0)
		return true; /* gone: nothing to import */
	return !ms_refset_each_spelling(run->refs, owner, e->name, spelling_exists, &c);
}

static void on_entry(void *ctx, const walk_entry *e)
{
	sync_run *run = ctx;
	switch (e->kind) {
	case WALK_MESSAGE:
		atomic_fetch_add(&run->seen, 1);
		if (referenced(run, e)) {
			atomic_fetch_add(&run->skipped, 1);
			if (run->o->verbose >= 2)
				sync_report_entry(run, e->relpath, SYNC_SKIPPED, NULL, NULL);
			return;
		}
		if (e->place == WALK_QUEUE && !ms_scope_has_queue_file(&run->o->scope, e->name))
			return;
		cand_add(&run->cands, e);
		return;
	case WALK_IGNORED:
		sync_report_entry(run, e->relpath, SYNC_IGNORED, "not a message file (.eml/.hma)", NULL);
		return;
	case WALK_NOT_REGULAR:
		sync_report_entry(run, e->relpath, SYNC_NOT_IMPORTED,
		                  "named like a message but not a regular file (directory, FIFO, socket or device)", NULL);
		return;
	case WALK_SYMLINK:
		sync_report_entry(run, e->relpath, ms_walk_is_message_name(e->name) ? SYNC_NOT_IMPORTED : SYNC_IGNORED,
		                  "symbolic link: never followed", NULL);
		return;
	case WALK_ERROR:
		sync_report_entry(run, e->relpath, SYNC_FAILED, e->error, NULL);
		return;
	}
}

static int walk_data_dir(sync_run *run, ms_err *e)
{
	const ms_sync_opts *o = run->o;
	bool scoped = ms_scope_narrowed(&o->scope);
	walk_opts wo = {
		.threads = o->threads,
		.queue = !scoped,
		.accounts = !o->queue_only,
		.public_folder = !scoped && !o->queue_only,
		.filter = account_in_scope,
		.on_entry = on_entry,
		.ctx = run,
	};
	walk_stats st;
	if (ms_walk(run->s->data_dir, &wo, &st, e) < 0)
		return -1;
	if (run->cands.oom)
		return ms_err_set(e, MS_E_NOMEM, "out of memory collecting unreferenced files");
	return 0;
}

/* ---- loading what the database knows -------------------------------------- */

/* Every referenced name: the re-check's query from the first row on. */
static int load_refs(sync_run *run, ms_err *e)
{
	run->refs = ms_refset_new();
	if (!run->refs)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	run->watermark = 0;
	return sync_refresh_refs(run, e);
}

/* ---- batches --------------------------------------------------------------- */

/* Candidates left unreferenced by the run, for --quarantine and
 * --delete-unreferenced. */
typedef MS_VEC(size_t) leftovers;

static void note_leftover(sync_run *run, leftovers *l, const item *it)
{
	if (it->cat != SYNC_ORPHANED && it->cat != SYNC_NOT_IMPORTED)
		return;
	if (!run->o->quarantine_dir && !run->o->delete_unreferenced)
		return;
	/* out of memory: not cleaning a file up is the safe failure */
	(void)ms_vec_push(l, (size_t)(it->c - run->cands.v));
}

/* Analyse and write (or preview) candidates [at, at + n); false when the
 * connection was lost (the rest of the run is not attempted). */
static bool run_batch(sync_run *run, item *items, size_t at, size_t n, leftovers *left)
{
	memset(items, 0, n * sizeof *items);
	for (size_t i = 0; i < n; i++)
		items[i].c = &run->cands.v[at + i];
	sync_analyze_batch(run, items, n);
	size_t done = run->o->dry_run ? sync_preview_batch(run, items, n) : sync_write_batch(run, items, n);
	for (size_t i = 0; i < n; i++) {
		if (i < done) { /* beyond: never attempted, so not reported */
			sync_report_item(run, &items[i]);
			note_leftover(run, left, &items[i]);
		}
		sync_item_release(&items[i]);
	}
	if (run->r->connection_lost)
		run->r->not_attempted = run->cands.n - at - done;
	return !run->r->connection_lost;
}

/* The end of the owner whose files start at `at`. */
static size_t owner_end(const sync_run *run, size_t at)
{
	size_t end = at + 1;
	while (end < run->cands.n && same_owner(&run->cands.v[at], &run->cands.v[end]))
		end++;
	return end;
}

typedef struct dated {
	char created[32];
	size_t idx;
} dated;

static int by_date_then_path(const void *a, const void *b)
{
	const dated *x = a, *y = b;
	int c = strcmp(x->created, y->created);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* An account with more files than one batch holds: its candidates are put
 * in the order of their internal dates first (one analysis pass more), so
 * that batch after batch hands out UIDs in that order across the whole
 * account, as one batch does within itself.  Files that will not be
 * imported keep their place at the front. */
static int order_by_date(sync_run *run, item *items, size_t bs, size_t at, size_t end, ms_err *e)
{
	size_t m = end - at;
	dated *d = malloc(m * sizeof *d);
	cand *copy = malloc(m * sizeof *copy);
	if (!d || !copy) {
		free(d);
		free(copy);
		return ms_err_set(e, MS_E_NOMEM, "out of memory ordering %zu files by date", m);
	}
	for (size_t b = at; b < end; b += bs) {
		size_t n = end - b < bs ? end - b : bs;
		memset(items, 0, n * sizeof *items);
		for (size_t i = 0; i < n; i++)
			items[i].c = &run->cands.v[b + i];
		sync_analyze_batch(run, items, n);
		for (size_t i = 0; i < n; i++) {
			d[b - at + i].idx = b - at + i;
			snprintf(d[b - at + i].created, sizeof d->created, "%s", items[i].created);
			sync_item_release(&items[i]);
		}
	}
	qsort(d, m, sizeof *d, by_date_then_path);
	memcpy(copy, run->cands.v + at, m * sizeof *copy);
	for (size_t i = 0; i < m; i++)
		run->cands.v[at + i] = copy[d[i].idx];
	free(d);
	free(copy);
	return 0;
}

/* Batches of at most --batch files that never split an owner that fits
 * in one: all of an account's files are then one group, one transaction,
 * their UIDs in the order of their internal dates.  A larger account is
 * ordered by date first and written in batches of its own. */
static int run_batches(sync_run *run, ms_err *e)
{
	size_t bs = run->o->batch_size > 0 ? (size_t)run->o->batch_size : 500;
	item *items = calloc(bs, sizeof *items);
	leftovers left = { 0 };
	if (!items)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	int rc = 0;
	bool go = true;
	for (size_t at = 0; at < run->cands.n && go && rc == 0;) {
		size_t end = at, seg = at;
		while (end < run->cands.n && (seg = owner_end(run, end)) - at <= bs)
			end = seg;
		if (end > at) { /* whole owners */
			go = run_batch(run, items, at, end - at, &left);
			at = end;
			continue;
		}
		/* one owner larger than a batch */
		if (run->cands.v[at].place == WALK_ACCOUNT)
			rc = order_by_date(run, items, bs, at, seg, e);
		for (size_t b = at; b < seg && go && rc == 0; b += bs)
			go = run_batch(run, items, b, seg - b < bs ? seg - b : bs, &left);
		at = seg;
	}
	free(items);
	/* after a lost connection the run stops: cleaning up is the rerun's */
	if (rc == 0 && !run->r->connection_lost)
		sync_cleanup(run, left.v, left.n);
	ms_vec_free(&left);
	return rc;
}

static void run_release(sync_run *run)
{
	cand_list_free(&run->cands);
	ms_refset_free(run->refs);
	ms_directory_free(run->dir);
	sync_dup_free(run->dups);
	sync_hints_free(run->hints);
	if (run->root_fd >= 0) {
		sync_journal_close(run);
		close(run->root_fd);
	}
	pthread_mutex_destroy(&run->cands.mu);
	pthread_mutex_destroy(&run->report_mu);
}

static void count_move(void *ctx, const ms_acctmove *m)
{
	(void)m;
	++*(size_t *)ctx;
}

int ms_sync_run(ms_store *s, const ms_sync_opts *o, ms_sync_report *r, ms_err *e)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(r, 0, sizeof *r);
	if (!s->data_dir)
		return ms_err_set(e, MS_E_USAGE, "no data directory given: use --data DIR, --ini FILE or a config file");
	sync_run run = { .s = s, .o = o, .r = r, .root_fd = -1, .now = o->now ? o->now : time(NULL) };
	pthread_mutex_init(&run.cands.mu, NULL);
	pthread_mutex_init(&run.report_mu, NULL);
	ms_header_global_init();
	int rc = -1;
	run.root_fd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (run.root_fd < 0) {
		ms_err_set(e, MS_E_IO, "cannot open data directory %s: %s", s->data_dir, strerror(errno));
		goto out;
	}
	if (sync_report_open(&run, e) < 0)
		goto out;
	/* the files a dead channel writer left are removed before the walk
	   could take them for new messages (store/inflight.h), as the
	   channel's hmailserver side does when it opens the store; an
	   account move and a folder delete or expire a kill interrupted are
	   completed, as every folder command does first: the moved account's
	   files would be lost mail, the deleted messages' files new mail
	   (store/acctmove.h, store/trash.h) */
	if ((!o->dry_run && (sync_journal_recover(&run, e) < 0 ||
	                     ms_inflight_recover(s->db, run.root_fd, s->data_dir, &r->inflight_removed, e) < 0 ||
	                     ms_acctmove_recover(s, count_move, &r->moves_completed, e) < 0 ||
	                     ms_trash_recover(s->db, s->data_dir, &r->trash_moved, e) < 0)) ||
	    ms_directory_load(s->db, s->version, &run.dir, e) < 0 ||
	    load_refs(&run, e) < 0)
		goto out_report;
	r->refset_bytes = ms_refset_bytes(run.refs);
	pthread_t progress;
	sync_progress_start(&run, &progress);
	ms_test_hook("walk"); /* tests: a delivery between loading the names and the walk */
	rc = walk_data_dir(&run, e);
	if (rc == 0) {
		if (run.cands.n)
			qsort(run.cands.v, run.cands.n, sizeof *run.cands.v, cand_cmp);
		if (o->hints_url)
			rc = sync_hints_load(&run, o->hints_url, o->hints_password, e);
	}
	if (rc == 0)
		rc = run_batches(&run, e);
	sync_progress_stop(&run, progress);
	r->files_seen = atomic_load(&run.seen);
	r->count[SYNC_SKIPPED] += atomic_load(&run.skipped);
out_report:
	sync_report_close(&run);
out:
	run_release(&run);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return rc;
}
