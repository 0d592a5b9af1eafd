/* checks.c - the checks that look at more than one row: UIDs per folder,
 * the folder tree, the queue and orphaned rows (anti-joins in the
 * database), files no row references, orphaned accounts, the schema; and
 * the final re-verification of every finding against the current state.
 */
#include "reconstruct/rc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "store/folders.h"
#include "store/messages.h"
#include "store/schema.h"
#include "store/sql.h"

/* ---- UIDs ------------------------------------------------------------------ */

static int cmp_uid(const void *a, const void *b)
{
	const rc_uid *x = a, *y = b;
	if (x->folder_id != y->folder_id)
		return (x->folder_id > y->folder_id) - (x->folder_id < y->folder_id);
	if (x->uid != y->uid)
		return (x->uid > y->uid) - (x->uid < y->uid);
	return (x->message_id > y->message_id) - (x->message_id < y->message_id);
}

static rc_finding *folder_finding(rc_run *run, rc_folder *f, rc_kind kind, const char *action, const char *detail)
{
	rc_account *a = f->account_id ? rc_account_by_id(run, f->account_id) : NULL;
	char *mb = rc_folder_mailbox(run, a, f);
	rc_finding *x = rc_add(run, kind, mb, action, "%s", detail);
	free(mb);
	if (x)
		x->folder_id = f->id;
	return x;
}

/* One folder's UIDs, v[0..n) sorted by UID then message id. */
static void check_folder_uids(rc_run *run, rc_folder *f, const rc_uid *v, size_t n)
{
	char d[300];
	for (size_t i = 0; i < n; i++) {
		rc_finding *x = NULL;
		if (v[i].uid <= 0) {
			snprintf(d, sizeof d, "message %lld has UID %lld", (long long)v[i].message_id, (long long)v[i].uid);
			x = folder_finding(run, f, RC_ZERO_UID, "give it a new UID above foldercurrentuid", d);
		} else if (i > 0 && v[i].uid == v[i - 1].uid) {
			size_t first = i;
			while (first > 0 && v[first - 1].uid == v[i].uid)
				first--;
			snprintf(d, sizeof d, "message %lld has UID %lld, like message %lld", (long long)v[i].message_id,
			         (long long)v[i].uid, (long long)v[first].message_id);
			x = folder_finding(run, f, RC_DUPLICATE_UID, "give it a new UID above foldercurrentuid", d);
		}
		if (x) {
			x->message_id = v[i].message_id;
			f->uid_dirty = true;
		}
	}
	int64_t max = n ? v[n - 1].uid : 0;
	if (max > f->current_uid) {
		snprintf(d, sizeof d, "foldercurrentuid is %lld, the largest UID is %lld", (long long)f->current_uid,
		         (long long)max);
		char act[100];
		snprintf(act, sizeof act, "raise foldercurrentuid to %lld", (long long)max);
		folder_finding(run, f, RC_UID_BEHIND, act, d);
		f->uid_dirty = true;
	}
	if (max > MS_UID_MAX || f->current_uid >= MS_UID_MAX) {
		snprintf(d, sizeof d, "UIDs reach %lld: hMailServer reads UIDs as 32-bit signed values",
		         (long long)(max > f->current_uid ? max : f->current_uid));
		folder_finding(run, f, RC_UID_OVERFLOW, NULL, d);
	}
}

void rc_check_uids(rc_run *run)
{
	if (run->nuids)
		qsort(run->uids, run->nuids, sizeof *run->uids, cmp_uid);
	for (size_t i = 0; i < run->nuids;) {
		size_t j = i;
		while (j < run->nuids && run->uids[j].folder_id == run->uids[i].folder_id)
			j++;
		rc_folder *f = rc_folder_by_id(run, run->uids[i].folder_id);
		if (f)
			check_folder_uids(run, f, run->uids + i, j - i);
		i = j;
	}
	/* an empty folder can still be behind nothing; but a folder whose
	 * current UID is at the limit can take no new message */
	for (size_t i = 0; i < run->nfolders; i++) {
		rc_folder *f = &run->folders[i];
		if (f->in_scope && f->current_uid >= MS_UID_MAX && !f->uid_dirty) {
			rc_uid key = { .folder_id = f->id };
			bool has_rows = false;
			for (size_t k = 0; k < run->nuids && !has_rows; k++)
				has_rows = run->uids[k].folder_id == key.folder_id;
			if (!has_rows)
				check_folder_uids(run, f, NULL, 0);
		}
	}
}

/* ---- the folder tree ------------------------------------------------------------ */

/* Is `f` on a loop of parent links?  *lowest: it has the lowest id of
 * the loop (a loop is reported once, there). */
static bool on_loop(rc_run *run, const rc_folder *f, bool *lowest)
{
	*lowest = true;
	const rc_folder *c = f;
	for (size_t steps = 0; steps <= run->nfolders; steps++) {
		if (c->parent_id == -1)
			return false;
		c = rc_folder_by_id(run, c->parent_id);
		if (!c || c->account_id != f->account_id)
			return false;
		if (c == f)
			return true;
		if (c->id < f->id)
			*lowest = false;
	}
	return false; /* it leads into a loop it is not part of */
}

/* What is wrong with the folder's parent link, if anything. */
static const char *parent_problem(rc_run *run, const rc_folder *f)
{
	if (f->parent_id == -1)
		return NULL;
	const rc_folder *p = rc_folder_by_id(run, f->parent_id);
	if (!p)
		return "its parent folder does not exist";
	if (p->account_id != f->account_id)
		return "its parent folder belongs to another account";
	bool lowest;
	return on_loop(run, f, &lowest) && lowest ? "its parent chain loops" : NULL;
}

static bool account_whole(const rc_run *run, const rc_account *a)
{
	for (size_t i = 0; i < run->o->nmailboxes; i++)
		if (run->o->mailboxes[i].folder[0] && strcasecmp(run->o->mailboxes[i].address, a->address) == 0)
			return false;
	return true;
}

void rc_check_folders(rc_run *run)
{
	for (size_t i = 0; i < run->nfolders; i++) {
		rc_folder *f = &run->folders[i];
		rc_account *a = f->account_id > 0 ? rc_account_by_id(run, f->account_id) : NULL;
		if (f->account_id > 0 && !a) {
			if (run->store_wide) {
				char d[400];
				snprintf(d, sizeof d, "folder %lld (%s) of account %lld, which does not exist", (long long)f->id,
				         f->name, (long long)f->account_id);
				rc_finding *x = rc_add(run, RC_ORPHANED_FOLDER, "store", "remove the folder row", "%s", d);
				if (x)
					x->folder_id = f->id;
			}
			continue;
		}
		if (!f->in_scope || (a && !account_whole(run, a)))
			continue;
		const char *why = parent_problem(run, f);
		if (why) {
			char d[300];
			snprintf(d, sizeof d, "folder %lld: %s (parent id %lld)", (long long)f->id, why, (long long)f->parent_id);
			folder_finding(run, f, RC_FOLDER_PARENT, "move it to the top level", d);
		}
	}
	for (size_t i = 0; i < run->naccounts; i++) {
		rc_account *a = &run->accounts[i];
		if (a->in_scope && !a->inbox_id && account_whole(run, a)) {
			char *mb = rc_folder_mailbox(run, a, NULL);
			rc_finding *x = rc_add(run, RC_MISSING_INBOX, mb, "create INBOX", "the account has no INBOX folder");
			free(mb);
			if (x)
				x->account_idx = (int64_t)i;
		}
	}
}

/* ---- store-wide checks in the database ------------------------------------------- */

/* One kind of store-wide finding: which rows (store/messages.h) and
 * how the finding reads: "NOUN <id> (<text>)TAIL". */
typedef struct sw_query {
	rc_kind kind;
	const char *mailbox;
	int (*each)(db *d, const char *cutoff, ms_row_fn fn, void *ctx, ms_err *e);
	const char *noun;
	const char *tail;     /* NULL: " of message <other>, which does not exist" */
	const char *action;
	bool settle_cutoff;   /* cutoff = now - settle, else now - stale-lock */
} sw_query;

static int each_orphan_recipient(db *d, const char *cutoff, ms_row_fn fn, void *ctx, ms_err *e)
{
	(void)cutoff;
	return ms_recipients_each_orphan(d, fn, ctx, e);
}

static int each_orphan_metadata(db *d, const char *cutoff, ms_row_fn fn, void *ctx, ms_err *e)
{
	(void)cutoff;
	return ms_metadata_each_orphan(d, fn, ctx, e);
}

static const sw_query store_queries[] = {
	{ RC_ORPHANED_RECIPIENT, "store", each_orphan_recipient, "recipient", NULL, "remove the recipient row", false },
	{ RC_ORPHANED_METADATA, "store", each_orphan_metadata, "metadata row", NULL, "remove the metadata row", false },
	{ RC_QUEUE_NO_RECIPIENTS, "queue", ms_queue_each_without_recipients, "message", " is queued without any recipient",
	  "remove the row (saved to the recovery list first)", true },
	{ RC_QUEUE_STALE_LOCK, "queue", ms_queue_each_stale_lock, "message",
	  " has been locked since before the --stale-lock limit", "unlock it", false },
};

typedef struct sw_ctx {
	rc_run *run;
	const sw_query *q;
} sw_ctx;

static int add_store_finding(void *ctx, int64_t id, const char *text, int64_t other)
{
	const sw_ctx *c = ctx;
	char tail[100];
	if (c->q->tail)
		snprintf(tail, sizeof tail, "%s", c->q->tail);
	else
		snprintf(tail, sizeof tail, " of message %lld, which does not exist", (long long)other);
	rc_finding *x = rc_add(c->run, c->q->kind, c->q->mailbox, c->q->action, "%s %lld (%s)%s", c->q->noun,
	                       (long long)id, text, tail);
	if (x)
		x->message_id = id;
	return 0;
}

static int run_store_query(rc_run *run, const sw_query *q, ms_err *e)
{
	char cutoff[32];
	ms_sql_time(run->now - (q->settle_cutoff ? run->o->settle_seconds : run->o->stale_lock_seconds), cutoff);
	sw_ctx c = { .run = run, .q = q };
	return q->each(run->s->db, cutoff, add_store_finding, &c, e);
}

int rc_check_store_wide(rc_run *run, ms_err *e)
{
	for (size_t i = 0; i < sizeof store_queries / sizeof *store_queries; i++)
		if (run_store_query(run, &store_queries[i], e) < 0)
			return -1;
	return 0;
}

/* ---- files no row references ------------------------------------------------------- */

void rc_check_files(rc_run *run)
{
	time_t settled = run->now - run->o->settle_seconds;
	for (size_t i = 0; i < run->nfiles; i++) {
		rc_file *f = &run->files[i];
		if (f->matched || f->mtime > settled)
			continue;
		const rc_owner *ow = &run->owners[f->owner];
		rc_account *a = ow->account_idx >= 0 ? &run->accounts[ow->account_idx] : NULL;
		if (f->owner >= 2 && (!a || !a->in_scope || !account_whole(run, a)))
			continue;
		char path[4096];
		rc_file_path(run, f, path, sizeof path);
		char *mb = a ? rc_folder_mailbox(run, a, NULL) : strdup(f->owner == RC_OWNER_QUEUE ? "queue" : "#Public");
		/* a future mtime is a clock problem: told, the age taken from the ctime */
		rc_finding *x = rc_add(run, RC_UNREFERENCED_FILE, mb, NULL, "%s: no row references it (%lld bytes)%s", path,
		                       (long long)f->size, f->future_mtime ? "; its modification time is in the future, "
		                       "a clock problem (its age is taken from its change time)" : "");
		free(mb);
		if (x) {
			x->path = strdup(path);
			x->value = f->size;
			/* sync imports an account's file into its INBOX: not when the
			 * INBOX's UIDs are used up (the hint must not say it does) */
			const rc_folder *in = a && a->inbox_id ? rc_folder_by_id(run, a->inbox_id) : NULL;
			if (in && in->current_uid >= MS_UID_MAX)
				x->folder_id = in->id;
		}
	}
}

/* ---- orphaned accounts (-o) ----------------------------------------------------------- */

void rc_check_orphan_owners(rc_run *run)
{
	for (size_t i = 2; i < run->nowners; i++) {
		const rc_owner *ow = &run->owners[i];
		if (ow->account_idx >= 0 || ow->files == 0)
			continue;
		char mb[1100];
		snprintf(mb, sizeof mb, "user/%s@%s", ow->local_dir, ow->domain_dir);
		rc_finding *x = rc_add(run, RC_ORPHANED_ACCOUNT_DIR, mb, NULL,
		                       "%s/%s holds %lld message files and no account owns it", ow->domain_dir,
		                       ow->local_dir, (long long)ow->files);
		if (x)
			x->path = rc_strdup_printf("%s/%s", ow->domain_dir, ow->local_dir);
	}
	for (size_t i = 0; i < run->naccounts; i++) {
		rc_account *a = &run->accounts[i];
		if (!a->in_scope || a->owner >= 0)
			continue;
		char dir[600];
		snprintf(dir, sizeof dir, "%s/%s", a->domain, a->local);
		struct stat st;
		if (fstatat(run->root_fd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue; /* an empty folder: the walk had nothing to say about it */
		char *mb = rc_folder_mailbox(run, a, NULL);
		rc_finding *x = rc_add(run, RC_ACCOUNT_WITHOUT_DIR, mb, NULL, "no folder %s on disk (%lld messages in the database)",
		                       dir, (long long)a->rows);
		free(mb);
		if (x)
			x->account_idx = (int64_t)i;
	}
}

/* ---- the schema (-m) --------------------------------------------------------------------- */

static void schema_problem(void *ctx, const char *what)
{
	rc_add(ctx, RC_SCHEMA, "store", NULL, "%s", what);
}

int rc_check_schema(rc_run *run, ms_err *e)
{
	if (!ms_schema_version_known(run->s->version)) {
		char d[100];
		snprintf(d, sizeof d, "hm_dbversion is %d, not a version mstore knows", run->s->version);
		schema_problem(run, d);
	}
	return ms_schema_check(run->s->db, schema_problem, run, e);
}

/* ---- re-verification ------------------------------------------------------------------------ */

/* 1 the path exists, 0 it does not, -1 cannot tell. */
static int path_state(rc_run *run, const char *rel)
{
	if (!rel || !rel[0] || strstr(rel, "..") == rel || strstr(rel, "/../") || strstr(rel, "/./"))
		return 0;
	struct stat st;
	if (fstatat(run->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return S_ISREG(st.st_mode) ? 1 : 0;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}

static int row_state(rc_run *run, int64_t id, int64_t *size, int64_t *folder, ms_err *e)
{
	return ms_messages_size_folder(run->s->db, id, size, folder, e);
}

/* Is the finding still true?  The walk, the row pass and the folder
 * load happened at different moments; a live server may have changed
 * any of it since. */
static int still_true(rc_run *run, rc_finding *x, ms_err *e)
{
	int64_t size = 0, folder = 0;
	int row = 1;
	switch (x->kind) {
	case RC_MISSING_FILE:
		if ((row = row_state(run, x->message_id, &size, &folder, e)) <= 0)
			return row;
		return path_state(run, x->path) == 0;
	case RC_UNREFERENCED_FILE:
		return path_state(run, x->path) == 1;
	case RC_MISPLACED_FILE:
		if ((row = row_state(run, x->message_id, &size, &folder, e)) <= 0)
			return row;
		return path_state(run, x->path) == 1 && path_state(run, x->target) == 0;
	case RC_WRONG_SIZE: {
		if ((row = row_state(run, x->message_id, &size, &folder, e)) <= 0)
			return row;
		struct stat st;
		if (fstatat(run->root_fd, x->path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return 0;
		x->value = st.st_size;
		return st.st_size != size;
	}
	case RC_MESSAGE_FOLDER: {
		if ((row = row_state(run, x->message_id, &size, &folder, e)) <= 0)
			return row;
		int64_t owner = 0;
		int has = ms_folder_owner(run->s->db, folder, &owner, e);
		if (has < 0)
			return -1;
		return !has || owner != run->accounts[x->account_idx].id;
	}
	default:
		return 1;
	}
}

int rc_reverify(rc_run *run, ms_err *e)
{
	for (size_t i = 0; i < run->nfindings; i++) {
		int rc = still_true(run, &run->findings[i], e);
		if (rc < 0)
			return -1;
		if (rc == 0)
			run->findings[i].state = RC_STALE;
	}
	return 0;
}
