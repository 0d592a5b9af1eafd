/* writer.c - write one batch of imports, one transaction per target
 * (an account's INBOX, the queue, path updates).
 *
 * Safety on a live server and against a second mstore (sync.md):
 *   - the transaction first takes a lock: the INBOX row (UPDATE of
 *     foldercurrentuid, which hMailServer also takes to hand out UIDs) for
 *     account imports, an advisory lock for queue imports;
 *   - under that lock it re-reads the rows created since the run loaded
 *     the referenced names (messageid above the watermark) and drops the
 *     files that became referenced meanwhile;
 *   - then it reserves the UIDs (foldercurrentuid + k, never above
 *     2,147,483,647), renames misplaced files (journaled), inserts, commits.
 * A crash anywhere rolls the transaction back; a renamed file is then
 * simply an unreferenced file at its canonical place, imported next run.
 */
#include "sync/sync_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/txn.h"
#include "store/browse.h"
#include "store/folders.h"
#include "store/inflight.h"
#include "store/layout.h"
#include "store/trash.h"
#include "store/mboxlock.h"
#include "store/messages.h"
#include "store/sql.h"
#include "util/str.h"
#include "util/testhook.h"

static bool importing(const item *it)
{
	return it->cat == SYNC_IMPORTED_ACCOUNT || it->cat == SYNC_IMPORTED_QUEUE ||
	       (it->cat == SYNC_MOVED && (it->acct || it->rcpt.n));
}

static void fail_items(item *items, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++)
		if (importing(&items[i]) || items[i].cat == SYNC_PATH_UPDATED) {
			items[i].cat = SYNC_FAILED;
			ms_str_copy(items[i].reason, sizeof items[i].reason, why);
		}
}

/* ---- re-check under the lock ---------------------------------------------- */

typedef struct refresh_ctx {
	sync_run *run;
	int64_t watermark;  /* raised only once the whole read succeeded */
	ms_err *e;
} refresh_ctx;

static int add_ref(void *ctx, int64_t id, int type, int64_t account_id, const char *name)
{
	refresh_ctx *r = ctx;
	if (id > r->watermark)
		r->watermark = id;
	if (name && ms_refset_add(r->run->refs, ms_refset_row_owner(type, account_id), name, id) < 0)
		return ms_err_set(r->e, MS_E_NOMEM, "out of memory");
	return 0;
}

int sync_refresh_refs(sync_run *run, ms_err *e)
{
	refresh_ctx r = { .run = run, .watermark = run->watermark, .e = e };
	if (ms_messages_each_name(run->s->db, run->watermark, add_ref, &r, e) < 0)
		return -1;
	run->watermark = r.watermark;
	return 0;
}

/* The rows that use the GUID names another owner holds in the referenced
 * set, read again under the lock: hMailServer delivers a queued message by
 * updating its row (type 2, the account) and moving its file, so a name
 * the set gives the queue may be the account's by now, and must then be
 * skipped, not renamed away from the row.  Only names taken elsewhere are
 * read (a copied mailbox, such a delivery), a hundred per query. */
static int reread_taken(sync_run *run, item *items, size_t n, ms_err *e)
{
	const char **names = malloc((n ? n : 1) * sizeof *names);
	size_t k = 0;
	if (!names)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *name = items[i].c->relpath + items[i].c->name_off;
		int64_t owner = items[i].acct ? items[i].acct->id : MS_REF_QUEUE;
		if (importing(&items[i]) && ms_refset_named_elsewhere(run->refs, owner, name))
			names[k++] = name;
	}
	refresh_ctx r = { .run = run, .watermark = run->watermark, .e = e };
	int rc = k ? ms_messages_each_named(run->s->db, names, k, add_ref, &r, e) : 0;
	free(names);
	return rc; /* the watermark stays: these rows are not all the new ones */
}

/* Does an item before `i` in the group, to be imported with its own name,
 * carry the GUID of `name` (in any case)? */
static bool guid_earlier_in_group(const item *items, size_t i, const uint8_t g[16])
{
	for (size_t k = 0; k < i; k++) {
		uint8_t h[16];
		if (importing(&items[k]) && !items[k].fresh_name &&
		    ms_guid_name_parse(items[k].c->relpath + items[k].c->name_off, h) && memcmp(g, h, 16) == 0)
			return true;
	}
	return false;
}

/* Give the item a new GUID name: its own is another file's (refset.h). */
static void rename_fresh(item *it, const char *why)
{
	it->fresh_name = it->misplaced = true;
	it->cat = SYNC_MOVED;
	size_t len = strlen(it->reason);
	snprintf(it->reason + len, sizeof it->reason - len, "; %s: imported under a new name", why);
}

typedef struct in_flight_ctx {
	item *items;
	size_t n;
	const char *why;
} in_flight_ctx;

static void mark_in_flight(void *ctx, int64_t account_id, const char *rel)
{
	in_flight_ctx *c = ctx;
	for (size_t i = 0; i < c->n; i++) {
		item *it = &c->items[i];
		if (!importing(it) || !it->acct || it->acct->id != account_id || strcmp(it->c->relpath, rel) != 0)
			continue;
		it->cat = SYNC_DEFERRED;
		snprintf(it->reason, sizeof it->reason, "%s", c->why);
	}
}

static void mark_trashed(void *ctx, const char *rel)
{
	in_flight_ctx *c = ctx;
	for (size_t i = 0; i < c->n; i++) {
		item *it = &c->items[i];
		if (!importing(it) || strcmp(it->c->relpath, rel) != 0)
			continue;
		it->cat = SYNC_DEFERRED;
		snprintf(it->reason, sizeof it->reason, "%s", c->why);
	}
}

/* Files a folder delete or an expire has taken out of the store (their
 * rows deleted, the files not yet moved: store/trash.h) are not imported:
 * that would bring deleted mail back, and leave a row without its file
 * once the move is finished.  As above, a dead writer's intent was
 * settled before the walk unless this is a dry run. */
static void drop_trashed(sync_run *run, in_flight_ctx *c)
{
	c->why = "being moved into the trash: a running mstore folder delete or expire deleted its row"
	         " (DATA/.mstore/trash-*.intent)";
	ms_trash_each(run->root_fd, MS_JIO_LIVE, mark_trashed, c);
	c->why = "left by an mstore folder delete or expire that died after deleting its row (DATA/.mstore/"
	         "trash-*.intent): the next sync that writes, a folder or expire command, or reconstruct -r moves"
	         " it into the trash";
	ms_trash_each(run->root_fd, MS_JIO_DEAD, mark_trashed, c);
}

/* Files a live writer is adding (its file written, its row not committed:
 * store/inflight.h) are not imported; `--settle 0` took them for lost
 * (issue 14).  Called before the rows are read again: a writer empties its
 * journal only after its commit, so a file named by neither is not its.
 * The files of a writer that died are not imported either: ms_sync_run
 * settled those journals before the walk (a dry run does not), so what is
 * left is a writer that died since, for the next run to settle. */
static void drop_in_flight(sync_run *run, item *items, size_t n)
{
	in_flight_ctx c = { .items = items, .n = n,
	                    .why = "in flight: a running mstore channel has it in its journal"
	                           " (DATA/.mstore/*.inflight) and has not committed its row yet" };
	ms_inflight_each(run->root_fd, MS_JIO_LIVE, mark_in_flight, &c);
	c.why = "left by an mstore channel that died (in its journal DATA/.mstore/*.inflight): the next sync"
	        " that writes, or the channel's next run, removes it unless a row names it";
	ms_inflight_each(run->root_fd, MS_JIO_DEAD, mark_in_flight, &c);
	drop_trashed(run, &c);
}

/* Items whose file became referenced while we worked: skipped.  Items
 * whose GUID name is taken, under the lock that orders all writers of the
 * owner: by a row created meanwhile (another owner's, or this owner's in
 * another case) or by an earlier file of the group (names differing only
 * in case): a new name, so no two rows of a store share a GUID. */
static size_t drop_referenced(sync_run *run, item *items, size_t n)
{
	size_t left = 0;
	for (size_t i = 0; i < n; i++) {
		item *it = &items[i];
		if (!importing(it))
			continue;
		const char *name = it->c->relpath + it->c->name_off;
		int64_t owner = it->acct ? it->acct->id : MS_REF_QUEUE;
		ms_ref_match m = ms_refset_match(run->refs, owner, name);
		if (m == MS_REF_EXACT) {
			it->cat = SYNC_SKIPPED;
			snprintf(it->reason, sizeof it->reason, "referenced by a row written during this run (a new row, or a queued message delivered)");
			continue;
		}
		left++;
		uint8_t g[16];
		if (it->fresh_name || it->new_rel[0] || !ms_guid_name_parse(name, g))
			continue;
		if (m == MS_REF_VARIANT)
			rename_fresh(it, "a row of the same owner names its GUID in another case");
		else if (ms_refset_named_elsewhere(run->refs, owner, name))
			rename_fresh(it, "its name is used by a row of another account, the queue or #Public");
		else if (guid_earlier_in_group(items, i, g))
			rename_fresh(it, "another file here has the same GUID name in another case");
	}
	return left;
}

/* ---- renaming misplaced files ----------------------------------------------- */

/* The canonical relative path for the item, with `name` as file name. */
static bool canonical_path(const item *it, const char *name, char *out, size_t len)
{
	const cand *c = it->c;
	char owner[4096];
	assert(c->place == WALK_QUEUE || c->place == WALK_ACCOUNT);
	snprintf(owner, sizeof owner, "%.*s", (int)c->owner_len, c->relpath);
	return ms_layout_path(c->place == WALK_QUEUE ? MS_PLACE_QUEUE : MS_PLACE_ACCOUNT, owner, name, out, len);
}

static int mkdir_parent(int root_fd, const char *rel)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", rel);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	if (mkdirat(root_fd, dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Rename the item's file to its canonical place; journaled first. */
static int move_item(sync_run *run, item *it, ms_err *e)
{
	const char *name = it->c->relpath + it->c->name_off;
	char fresh[MS_GUID_NAME_LEN + 1];
	uint8_t g[16];
	for (int attempt = 0; attempt < 3; attempt++) {
		if (attempt > 0 || it->fresh_name || !ms_guid_name_parse(name, g)) {
			ms_guid_name_new(fresh);
			name = fresh;
		}
		if (!canonical_path(it, name, it->new_rel, sizeof it->new_rel))
			return ms_err_set(e, MS_E_IO, "the canonical path of %s is too long", it->c->relpath);
		if (mkdir_parent(run->root_fd, it->new_rel) < 0)
			return ms_err_set(e, MS_E_IO, "cannot create the folder for %s: %s", it->new_rel, strerror(errno));
		if (sync_journal_append(run, it->c->relpath, it->new_rel, e) < 0)
			return -1;
		if (renameat2(run->root_fd, it->c->relpath, run->root_fd, it->new_rel, RENAME_NOREPLACE) == 0)
			return sync_journal_renamed(run, it->c->relpath, it->new_rel, e);
		if (errno != EEXIST)
			return ms_err_set(e, MS_E_IO, "cannot rename %s to %s: %s", it->c->relpath, it->new_rel,
			                  strerror(errno));
	}
	return ms_err_set(e, MS_E_IO, "cannot find a free name for %s", it->c->relpath);
}

/* The file name the row will carry. */
static const char *row_name(const item *it)
{
	const char *p = it->new_rel[0] ? it->new_rel : it->c->relpath;
	const char *slash = strrchr(p, '/');
	return slash ? slash + 1 : p;
}

/* Rename the misplaced files among the imports (or, with `path_updates`,
 * among the path updates) of a group. */
static void move_misplaced(sync_run *run, item *items, size_t n, bool path_updates)
{
	for (size_t i = 0; i < n; i++) {
		bool mine = path_updates ? items[i].cat == SYNC_PATH_UPDATED : importing(&items[i]);
		/* new_rel set: moved by an attempt that rolled back (write_group
		 * retries a group file by file); the file is already in place */
		if (!mine || !items[i].misplaced || items[i].new_rel[0])
			continue;
		ms_err e = { 0 };
		if (move_item(run, &items[i], &e) < 0) {
			items[i].cat = SYNC_FAILED;
			ms_str_copy(items[i].reason, sizeof items[i].reason, e.msg);
		}
	}
}

/* ---- account imports ---------------------------------------------------------- */

static int by_internal_date(const void *a, const void *b)
{
	const item *x = *(item *const *)a, *y = *(item *const *)b;
	int c = strcmp(x->created, y->created); /* "YYYY-MM-DD HH:MM:SS" sorts by time */
	return c ? c : (x < y ? -1 : x > y);
}

/* The folder path an item goes to; NULL = INBOX. */
static const char *folder_path_of(const item *it)
{
	return it->hint ? it->hint->folder : NULL;
}

static bool same_folder(const item *a, const item *b)
{
	const char *x = folder_path_of(a), *y = folder_path_of(b);
	return x == y || (x && y && strcmp(x, y) == 0);
}

/* The items of the group that go to `like`'s folder and have no UID yet. */
static size_t collect_folder(item *items, size_t n, const item *like, item **out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (importing(&items[i]) && items[i].uid == 0 && same_folder(&items[i], like))
			out[k++] = &items[i];
	return k;
}

/* The folder's name for messages: INBOX or the hint's path. */
static void folder_label(const item *it, char *out, size_t len)
{
	const char *path = folder_path_of(it);
	snprintf(out, len, "%s", path ? path : "INBOX");
	for (char *p = out; *p; p++)
		if (*p == MS_FOLDER_SEP)
			*p = '/';
}

/* How many of k new messages a folder at `current` UIDs still takes. */
static size_t uids_left(int64_t current, size_t k)
{
	if (current >= MS_UID_MAX)
		return 0;
	return (uint64_t)(MS_UID_MAX - current) < k ? (size_t)(MS_UID_MAX - current) : k;
}

/* v[fits..k) get no UID: the folder's UIDs are used up.  They fail, with
 * what is true: nothing mstore (or hMailServer) does adds a message to
 * that folder; the earlier ones by internal date were imported. */
static void fail_no_uid(item **v, size_t fits, size_t k)
{
	for (size_t i = fits; i < k; i++) {
		char folder[300];
		folder_label(v[i], folder, sizeof folder);
		v[i]->cat = SYNC_FAILED;
		snprintf(v[i]->reason, sizeof v[i]->reason,
		         "no UID left in folder %s of %s: its UIDs reached 2,147,483,647, the largest hMailServer reads, "
		         "and a UID is never reused (the earliest %zu of the %zu files for it by internal date take the "
		         "UIDs left); no mstore command frees UIDs, and hMailServer cannot add a message to that folder "
		         "either", folder, v[i]->acct->address, fits, k);
	}
}

/* Give every item of one folder its UID: reserved in one step, handed
 * out in the order of the internal dates (as if the messages had arrived
 * in that order; clients sort by UID).  Near 2,147,483,647 the earliest
 * get the UIDs that are left and the rest fail (fail_no_uid). */
static int place_in_folder(sync_run *run, item **v, size_t k, int64_t folder, ms_err *e)
{
	int64_t first = 0, current = 0;
	if (ms_folder_current_uid(run->s->db, folder, &current, e) < 0)
		return -1;
	qsort(v, k, sizeof *v, by_internal_date);
	size_t fits = uids_left(current, k);
	if (fits && ms_folder_reserve_uids(run->s->db, folder, fits, &first, e) < 0)
		return -1;
	for (size_t i = 0; i < fits; i++) {
		v[i]->uid = first++;
		v[i]->folder_id = folder;
	}
	fail_no_uid(v, fits, k);
	return 0;
}

/* The rows of the group's account imports, in a hundred-row insert. */
static int insert_account_rows(sync_run *run, item *items, size_t n, ms_err *e)
{
	ms_message_row *rows = malloc((n ? n : 1) * sizeof *rows);
	size_t k = 0;
	if (!rows)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const item *it = &items[i];
		if (!importing(it))
			continue;
		assert(it->acct && it->uid > 0 && it->uid <= MS_UID_MAX && it->folder_id > 0);
		rows[k++] = (ms_message_row){ .account_id = it->acct->id, .folder_id = it->folder_id,
		                              .filename = row_name(it), .from = it->from, .size = it->size,
		                              .flags = it->flags, .created = it->created, .uid = it->uid };
	}
	int rc = ms_messages_insert_delivered(run->s->db, rows, k, e);
	free(rows);
	return rc;
}

static size_t count_importing(const item *items, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += importing(&items[i]);
	return k;
}

/* After the folder's row lock, never before (mboxlock.h): a `folder lock`
 * taken earlier is seen here, one taken later waits for this transaction
 * in its barrier.  A locked folder fails the group, left for the next run. */
static int lock_folder(sync_run *run, int64_t folder, ms_err *e)
{
	if (ms_folder_lock(run->s->db, folder, e) < 0)
		return -1;
	int busy = run->s->data_dir ? ms_mbox_lock_busy(run->s->data_dir, folder, e) : 0;
	if (busy > 0)
		return ms_err_set(e, MS_E_LIMIT, "the folder (id %lld) is locked by `mstore folder lock`; left for the"
		                  " next run", (long long)folder);
	return busy;
}

/* A folder sync is about to create (a hint's path) goes below its nearest
 * existing one: a `folder lock` of that tree keeps the new folder out too,
 * as it keeps out `folder create`.  The new folder has no lock file of its
 * own that anybody could hold. */
static int lock_new_folder_parent(sync_run *run, int64_t account, const char *path, ms_err *e)
{
	int64_t near;
	int rc = ms_browse_folder_nearest(run->s->db, account, path, MS_FOLDER_SEP, &near, e);
	return rc == 1 ? lock_folder(run, near, e) : rc < 0 ? -1 : 0;
}

/* One account's run of items.  The INBOX row lock comes first, always, so
 * two writers of one account queue up there and never deadlock on the
 * other folders (hints) they lock afterwards. */
static int write_account(sync_run *run, item *items, size_t n, ms_err *e)
{
	db *d = run->s->db;
	db_txn *t;
	int64_t inbox;
	item **v = malloc(n * sizeof *v);
	if (!v)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (db_txn_begin(d, &t, e) < 0) {
		free(v);
		return -1;
	}
	if (ms_folder_inbox(d, items[0].acct->id, run->now, &inbox, e) < 0 || lock_folder(run, inbox, e) < 0)
		goto fail;
	drop_in_flight(run, items, n);
	if (sync_refresh_refs(run, e) < 0 || reread_taken(run, items, n, e) < 0)
		goto fail;
	if (drop_referenced(run, items, n) && sync_mark_duplicates(run, items, n, importing, e) < 0)
		goto fail;
	/* UIDs before renames: a file that gets no UID is not moved (a rename
	 * that fails after leaves its UID unused, a gap like a deletion) */
	for (size_t i = 0; i < n; i++) {
		if (!importing(&items[i]) || items[i].uid)
			continue;
		int64_t folder = inbox;
		const char *path = folder_path_of(&items[i]);
		if (path && (lock_new_folder_parent(run, items[i].acct->id, path, e) < 0 ||
		             ms_folder_ensure_path(d, items[i].acct->id, path, MS_FOLDER_SEP, run->now, &folder, e) < 0 ||
		             lock_folder(run, folder, e) < 0))
			goto fail;
		if (place_in_folder(run, v, collect_folder(items, n, &items[i], v), folder, e) < 0)
			goto fail;
	}
	move_misplaced(run, items, n, false);
	if (count_importing(items, n) && insert_account_rows(run, items, n, e) < 0) {
		run->refused = true;
		goto fail;
	}
	if (db_txn_commit(&t, e) < 0)
		goto failed;
	free(v);
	return sync_journal_clear(run, e);
fail:
	db_txn_rollback(&t);
failed:
	for (size_t i = 0; i < n; i++)
		items[i].uid = 0;
	free(v);
	return -1;
}

/* ---- queue imports ---------------------------------------------------------- */

static int insert_queue_item(sync_run *run, item *it, ms_err *e)
{
	ms_recipient_row *rcpt = malloc((it->rcpt.n ? it->rcpt.n : 1) * sizeof *rcpt);
	if (!rcpt)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (size_t r = 0; r < it->rcpt.n; r++)
		rcpt[r] = (ms_recipient_row){ .address = it->rcpt.v[r].address, .account_id = it->rcpt.v[r].account_id,
		                              .original = it->rcpt.v[r].original };
	ms_message_row row = { .filename = row_name(it), .from = it->from, .size = it->size, .flags = it->flags,
	                       .created = it->created };
	int64_t id;
	int rc = ms_messages_insert_queued(run->s->db, &row, rcpt, it->rcpt.n, &id, e);
	free(rcpt);
	return rc;
}

static int write_queue(sync_run *run, item *items, size_t n, ms_err *e)
{
	db *d = run->s->db;
	db_txn *t;
	if (db_txn_begin(d, &t, e) < 0)
		return -1;
	if (ms_queue_lock(d, e) < 0 || sync_refresh_refs(run, e) < 0 || reread_taken(run, items, n, e) < 0)
		goto fail;
	drop_referenced(run, items, n);
	move_misplaced(run, items, n, false);
	for (size_t i = 0; i < n; i++)
		if (importing(&items[i]) && insert_queue_item(run, &items[i], e) < 0) {
			run->refused = true;
			goto fail;
		}
	int rc = db_txn_commit(&t, e);
	ms_queue_unlock(d);
	return rc < 0 ? -1 : sync_journal_clear(run, e);
fail:
	db_txn_rollback(&t);
	ms_queue_unlock(d);
	return -1;
}

/* ---- full-path rows ---------------------------------------------------------- */

static int write_path_updates(sync_run *run, item *items, size_t n, ms_err *e)
{
	db *d = run->s->db;
	db_txn *t;
	if (db_txn_begin(d, &t, e) < 0)
		return -1;
	move_misplaced(run, items, n, true);
	for (size_t i = 0; i < n; i++)
		if (items[i].cat == SYNC_PATH_UPDATED &&
		    ms_messages_set_filename(d, items[i].full_path_row, row_name(&items[i]), e) < 0) {
			run->refused = true;
			db_txn_rollback(&t);
			return -1;
		}
	if (db_txn_commit(&t, e) < 0)
		return -1;
	return sync_journal_clear(run, e);
}

/* ---- the batch -------------------------------------------------------------- */

typedef int (*group_fn)(sync_run *, item *, size_t, ms_err *);

static bool written(const item *it)
{
	return importing(it) || it->cat == SYNC_PATH_UPDATED;
}

/* The duplicate cache also holds the rows of a transaction that rolled
 * back: reloaded from the database on next use. */
static void forget_duplicates(sync_run *run)
{
	sync_dup_free(run->dups);
	run->dups = NULL;
}

/* After a failed group: is the connection still there?  A trivial query
 * tells.  If not, every later group would fail the same way (an outage
 * gave 39,800 Failed lines): the run stops.  No reconnect: the locks and
 * re-checks a batch relies on belong to its session, and a rerun starts
 * over from the database cleanly, skipping what this run imported. */
static bool connection_lost(sync_run *run, const char *why)
{
	ms_err pe = { 0 };
	int64_t one;
	if (db_query_int64(run->s->db, "SELECT 1", &one, &pe) >= 0)
		return false;
	run->r->connection_lost = true;
	ms_str_copy(run->r->lost_reason, sizeof run->r->lost_reason, why);
	return true;
}

/* A row the database refused (a constraint, a trigger, a value it cannot
 * store) must fail its own file, not its neighbours and not on every
 * rerun: the group is written again one file at a time, in the order of
 * the internal dates, so the UIDs still follow them (until the connection
 * is lost, if it is: the rest of the group fails with it). */
static void write_one_by_one(sync_run *run, item *items, size_t n, group_fn fn)
{
	item **v = malloc(n * sizeof *v);
	size_t k = 0;
	if (!v) {
		fail_items(items, n, "out of memory writing the files one by one");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (written(&items[i]))
			v[k++] = &items[i];
	qsort(v, k, sizeof *v, by_internal_date);
	for (size_t i = 0; i < k; i++) {
		ms_err e = { 0 };
		v[i]->duplicate_of[0] = '\0'; /* found again against what is committed */
		if (fn(run, v[i], 1, &e) == 0)
			continue;
		forget_duplicates(run);
		bool lost = connection_lost(run, e.msg);
		for (size_t j = i; j < (lost ? k : i + 1); j++)
			fail_items(v[j], 1, e.msg);
		if (lost)
			break;
	}
	free(v);
}

/* Write [i, j) as one group; on failure the group's items are failed with
 * the error and the batch goes on with the next group, unless the
 * failure was a refused row, which fails its own file only, or the
 * connection is gone, which stops the run. */
static void write_group(sync_run *run, item *items, size_t n, group_fn fn)
{
	ms_err e = { 0 };
	size_t k = 0;
	run->refused = false;
	if (fn(run, items, n, &e) == 0)
		return;
	forget_duplicates(run);
	for (size_t i = 0; i < n; i++)
		k += written(&items[i]);
	if (connection_lost(run, e.msg))
		fail_items(items, n, e.msg);
	else if (run->refused && k > 1)
		write_one_by_one(run, items, n, fn);
	else
		fail_items(items, n, e.msg);
}

/* The transaction an item belongs to: 0 none, -1 the queue, -2 a path
 * update, else the account id. */
static int64_t target_of(const item *it)
{
	if (it->cat == SYNC_PATH_UPDATED)
		return -2;
	if (!importing(it))
		return 0;
	return it->acct ? it->acct->id : -1;
}

/* --dry-run: which INBOX imports would find no UID left (a folder of the
 * hints may not exist yet; its files are predicted imported). */
static int preview_inbox_uids(sync_run *run, item *items, size_t n, ms_err *e)
{
	int64_t inbox = 0, current = 0;
	item **v = malloc(n * sizeof *v);
	if (!v)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (importing(&items[i]) && !folder_path_of(&items[i]))
			v[k++] = &items[i];
	int rc = k ? ms_folder_find_inbox(run->s->db, items[0].acct->id, &inbox, e) : 0;
	if (rc > 0)
		rc = ms_folder_current_uid(run->s->db, inbox, &current, e);
	if (rc > 0) {
		qsort(v, k, sizeof *v, by_internal_date);
		fail_no_uid(v, uids_left(current, k), k);
	}
	free(v);
	return rc < 0 ? -1 : 0;
}

/* --dry-run's stand-in for write_account: the one decision the writer
 * makes that the analysis cannot, whether a file duplicates a message of
 * the account.  It only reads (the account's sizes, the files' bytes). */
static int preview_account(sync_run *run, item *items, size_t n, ms_err *e)
{
	drop_in_flight(run, items, n);
	if (sync_mark_duplicates(run, items, n, importing, e) < 0)
		return -1;
	return preview_inbox_uids(run, items, n, e);
}

/* Items come sorted by path, so an account's files are contiguous: each
 * run of one target (with items of no target in between) is one group.
 * Returns where it stopped: n, or the end of the group that found the
 * connection lost. */
static size_t for_each_group(sync_run *run, item *items, size_t n, bool dry_run)
{
	size_t i = 0;
	while (i < n && !run->r->connection_lost) {
		int64_t t = target_of(&items[i]);
		size_t j = i + 1;
		if (t == 0) {
			i = j;
			continue;
		}
		while (j < n && (target_of(&items[j]) == t || target_of(&items[j]) == 0))
			j++;
		if (dry_run) {
			if (t > 0)
				write_group(run, &items[i], j - i, preview_account);
		} else {
			ms_test_hook("write-group"); /* tests: cut the connection between two groups */
			write_group(run, &items[i], j - i,
			            t == -1 ? write_queue : t == -2 ? write_path_updates : write_account);
		}
		i = j;
	}
	return i;
}

size_t sync_write_batch(sync_run *run, item *items, size_t n)
{
	return for_each_group(run, items, n, false);
}

size_t sync_preview_batch(sync_run *run, item *items, size_t n)
{
	return for_each_group(run, items, n, true);
}
