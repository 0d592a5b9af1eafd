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

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sql.h"

#define UID_MAX_HMS 2147483647LL

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
			snprintf(items[i].reason, sizeof items[i].reason, "%s", why);
		}
}

/* ---- re-check under the lock ---------------------------------------------- */

int sync_refresh_refs(sync_run *run, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(run->s->db, "SELECT messageid, messagefilename FROM hm_messages WHERE messageid > ?",
	                   PARAMS(P_INT(run->watermark)), &st, e) < 0)
		return -1;
	int rc;
	while ((rc = db_step(st, e)) == DB_ROW) {
		int64_t id = db_column_int64(st, 0);
		const char *name = db_column_text(st, 1);
		if (id > run->watermark)
			run->watermark = id;
		if (name && ms_refset_add(run->refs, name, id) < 0) {
			db_finalize(st);
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
		}
	}
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

/* Items whose file became referenced while we worked: skipped. */
static size_t drop_referenced(sync_run *run, item *items, size_t n)
{
	size_t left = 0;
	for (size_t i = 0; i < n; i++) {
		if (!importing(&items[i]))
			continue;
		if (ms_refset_has(run->refs, items[i].c->relpath + items[i].c->name_off)) {
			items[i].cat = SYNC_SKIPPED;
			snprintf(items[i].reason, sizeof items[i].reason, "referenced by a row created during this run");
		} else {
			left++;
		}
	}
	return left;
}

/* ---- renaming misplaced files ----------------------------------------------- */

static void fresh_guid_name(char out[43])
{
	uint8_t b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		for (size_t i = 0; i < sizeof b; i++)
			b[i] = (uint8_t)((uint64_t)ts.tv_nsec >> (i % 8 * 8) ^ (uint64_t)getpid() >> (i % 4 * 8) ^ i * 131);
	}
	snprintf(out, 43, "{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X}.eml",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The canonical relative path for the item, with `name` as file name. */
static void canonical_path(const item *it, const char *name, char *out, size_t len)
{
	const cand *c = it->c;
	if (c->place == WALK_QUEUE) {
		snprintf(out, len, "%s", name);
		return;
	}
	const char *s1 = strchr(c->relpath, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	int acct_len = s2 ? (int)(s2 - c->relpath) : (int)strlen(c->relpath);
	char xx[3] = { (char)toupper((unsigned char)name[1]), (char)toupper((unsigned char)name[2]), 0 };
	snprintf(out, len, "%.*s/%s/%s", acct_len, c->relpath, xx, name);
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
	char fresh[43];
	uint8_t g[16];
	for (int attempt = 0; attempt < 3; attempt++) {
		if (attempt > 0 || !ms_guid_name_parse(name, g)) {
			fresh_guid_name(fresh);
			name = fresh;
		}
		canonical_path(it, name, it->new_rel, sizeof it->new_rel);
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
		if (!mine || !items[i].misplaced)
			continue;
		ms_err e = { 0 };
		if (move_item(run, &items[i], &e) < 0) {
			items[i].cat = SYNC_FAILED;
			snprintf(items[i].reason, sizeof items[i].reason, "%s", e.msg);
		}
	}
}

/* ---- account imports ---------------------------------------------------------- */

static int inbox_of(sync_run *run, int64_t account_id, int64_t *folder, ms_err *e)
{
	db *d = run->s->db;
	const char *find = "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = ? AND folderparentid = -1"
	                   " AND UPPER(foldername) = 'INBOX' ORDER BY folderid";
	int rc = ms_sql_int(d, find, PARAMS(P_INT(account_id)), folder, e);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	char now[32];
	ms_sql_time(run->now, now);
	return ms_sql_insert(d, "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername,"
	                     " folderissubscribed, foldercreationtime, foldercurrentuid) VALUES (?, -1, 'INBOX', 1, ?, 0)",
	                     "folderid", PARAMS(P_INT(account_id), P_TEXT(now)), folder, e);
}

static int reserve_uids(sync_run *run, int64_t folder, size_t k, int64_t *first, ms_err *e)
{
	db *d = run->s->db;
	int64_t last = 0;
	if (ms_sql_exec(d, "UPDATE hm_imapfolders SET foldercurrentuid = foldercurrentuid + ? WHERE folderid = ?",
	                PARAMS(P_INT((int64_t)k), P_INT(folder)), NULL, e) < 0 ||
	    ms_sql_int(d, "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid = ?", PARAMS(P_INT(folder)),
	               &last, e) < 0)
		return -1;
	if (last > UID_MAX_HMS)
		return ms_err_set(e, MS_E_DB, "folder %lld would pass UID 2,147,483,647 (hMailServer reads UIDs as "
		                  "32-bit); renumber it with mstore reconstruct first", (long long)folder);
	*first = last - (int64_t)k + 1;
	return 0;
}

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

/* Find or create a folder path (hints) below the account's top level. */
static int ensure_folder(sync_run *run, int64_t account_id, const char *path, int64_t *folder, ms_err *e)
{
	char level[256], now[32];
	int64_t parent = -1;
	ms_sql_time(run->now, now);
	for (const char *p = path; p;) {
		const char *sep = strchr(p, MS_FOLDER_SEP);
		snprintf(level, sizeof level, "%.*s", sep ? (int)(sep - p) : (int)strlen(p), p);
		int rc = ms_sql_int(run->s->db, "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = ?"
		                    " AND folderparentid = ? AND foldername = ?",
		                    PARAMS(P_INT(account_id), P_INT(parent), P_TEXT(level)), folder, e);
		if (rc < 0)
			return -1;
		if (rc == 0 && ms_sql_insert(run->s->db, "INSERT INTO hm_imapfolders (folderaccountid, folderparentid,"
		                             " foldername, folderissubscribed, foldercreationtime, foldercurrentuid)"
		                             " VALUES (?, ?, ?, 1, ?, 0)", "folderid",
		                             PARAMS(P_INT(account_id), P_INT(parent), P_TEXT(level), P_TEXT(now)),
		                             folder, e) < 0)
			return -1;
		parent = *folder;
		p = sep ? sep + 1 : NULL;
	}
	return 0;
}

static int lock_folder(db *d, int64_t folder, ms_err *e)
{
	return ms_sql_exec(d, "UPDATE hm_imapfolders SET foldercurrentuid = foldercurrentuid WHERE folderid = ?",
	                   PARAMS(P_INT(folder)), NULL, e);
}

/* Give every item of one folder its UID: reserved in one step, handed
 * out in the order of the internal dates (as if the messages had arrived
 * in that order; clients sort by UID). */
static int place_in_folder(sync_run *run, item **v, size_t k, int64_t folder, ms_err *e)
{
	int64_t first = 0;
	if (reserve_uids(run, folder, k, &first, e) < 0)
		return -1;
	qsort(v, k, sizeof *v, by_internal_date);
	for (size_t i = 0; i < k; i++) {
		v[i]->uid = first++;
		v[i]->folder_id = folder;
	}
	return 0;
}

#define ROWS_PER_INSERT 100
#define ACCOUNT_ROW_VALUES "(?, ?, ?, 2, ?, ?, 0, '1901-01-01 00:00:00', ?, ?, 0, ?)"

/* "INSERT ... VALUES (...), (...), ..." for `rows` rows: one round trip
 * per hundred rows instead of one per row.  Only placeholders are
 * repeated; every value is still bound. */
static char *multi_row_insert(size_t rows)
{
	static const char head[] =
		"INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype,"
		" messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags,"
		" messagecreatetime, messagelocked, messageuid) VALUES ";
	size_t one = sizeof ACCOUNT_ROW_VALUES + 1;
	char *sql = malloc(sizeof head + rows * one);
	if (!sql)
		return NULL;
	char *w = stpcpy(sql, head);
	for (size_t i = 0; i < rows; i++)
		w = stpcpy(stpcpy(w, i ? ", " : ""), ACCOUNT_ROW_VALUES);
	return sql;
}

static int insert_rows_chunk(sync_run *run, item **v, size_t k, ms_err *e)
{
	char *sql = multi_row_insert(k);
	db_stmt *st;
	if (!sql)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	int rc = db_prepare(run->s->db, sql, &st, e);
	free(sql);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < k && rc == 0; i++) {
		const item *it = v[i];
		ms_param p[] = { P_INT(it->acct->id), P_INT(it->folder_id), P_TEXT(row_name(it)), P_TEXT(it->from),
		                 P_INT(it->size), P_INT(it->flags), P_TEXT(it->created), P_INT(it->uid) };
		size_t np = sizeof p / sizeof p[0];
		for (size_t j = 0; j < np && rc == 0; j++) {
			int idx = (int)(i * np + j + 1);
			rc = p[j].type == MS_P_INT ? db_bind_int64(st, idx, p[j].i, e) : db_bind_text(st, idx, p[j].s, e);
		}
	}
	if (rc == 0 && db_step(st, e) == DB_ERROR)
		rc = -1;
	db_finalize(st);
	return rc;
}

static int insert_account_rows(sync_run *run, item *items, size_t n, ms_err *e)
{
	item *v[ROWS_PER_INSERT];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!importing(&items[i]))
			continue;
		v[k++] = &items[i];
		if (k == ROWS_PER_INSERT) {
			if (insert_rows_chunk(run, v, k, e) < 0)
				return -1;
			k = 0;
		}
	}
	return k ? insert_rows_chunk(run, v, k, e) : 0;
}

static size_t count_importing(const item *items, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += importing(&items[i]);
	return k;
}

/* One account's run of items.  The INBOX row lock comes first, always, so
 * two writers of one account queue up there and never deadlock on the
 * other folders (hints) they lock afterwards. */
static int write_account(sync_run *run, item *items, size_t n, ms_err *e)
{
	db *d = run->s->db;
	int64_t inbox;
	item **v = malloc(n * sizeof *v);
	if (!v)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (db_begin(d, e) < 0) {
		free(v);
		return -1;
	}
	if (inbox_of(run, items[0].acct->id, &inbox, e) < 0 || lock_folder(d, inbox, e) < 0 ||
	    sync_refresh_refs(run, e) < 0)
		goto fail;
	if (drop_referenced(run, items, n) && sync_mark_duplicates(run, items, n, importing, e) < 0)
		goto fail;
	move_misplaced(run, items, n, false);
	for (size_t i = 0; i < n; i++) {
		if (!importing(&items[i]) || items[i].uid)
			continue;
		int64_t folder = inbox;
		const char *path = folder_path_of(&items[i]);
		if (path && (ensure_folder(run, items[i].acct->id, path, &folder, e) < 0 || lock_folder(d, folder, e) < 0))
			goto fail;
		if (place_in_folder(run, v, collect_folder(items, n, &items[i], v), folder, e) < 0)
			goto fail;
	}
	if ((count_importing(items, n) && insert_account_rows(run, items, n, e) < 0) || db_commit(d, e) < 0)
		goto fail;
	free(v);
	return sync_journal_clear(run, e);
fail:
	db_rollback(d);
	for (size_t i = 0; i < n; i++)
		items[i].uid = 0;
	free(v);
	return -1;
}

/* ---- queue imports ---------------------------------------------------------- */

static int lock_queue(db *d, ms_err *e)
{
	switch (db_get_dialect(d)) {
	case DB_PGSQL: {
		int64_t ignored;
		/* a fixed key: "mstore sync queue" */
		return ms_sql_int(d, "SELECT 1 FROM (SELECT pg_advisory_xact_lock(7283650017)) AS l", NO_PARAMS,
		                  &ignored, e) < 0 ? -1 : 0;
	}
	case DB_MYSQL: {
		int64_t got = 0;
		if (ms_sql_int(d, "SELECT GET_LOCK('mstore-sync-queue', 120)", NO_PARAMS, &got, e) < 0)
			return -1;
		return got == 1 ? 0 : ms_err_set(e, MS_E_DB, "%s: another process holds the queue lock", db_name(d));
	}
	case DB_SQLITE:
		return 0; /* db_begin takes the database's write lock */
	}
	return 0;
}

static void unlock_queue(db *d)
{
	if (db_get_dialect(d) == DB_MYSQL) {
		int64_t ignored;
		ms_err e;
		ms_sql_int(d, "SELECT RELEASE_LOCK('mstore-sync-queue')", NO_PARAMS, &ignored, &e);
	}
}

static int insert_queue_item(sync_run *run, item *it, ms_err *e)
{
	db *d = run->s->db;
	int64_t id;
	if (ms_sql_insert(d, "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype,"
	                  " messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags,"
	                  " messagecreatetime, messagelocked, messageuid)"
	                  " VALUES (0, 0, ?, 1, ?, ?, 0, '1901-01-01 00:00:00', 0, ?, 1, 0)",
	                  "messageid", PARAMS(P_TEXT(row_name(it)), P_TEXT(it->from), P_INT(it->size), P_TEXT(it->created)),
	                  &id, e) < 0)
		return -1;
	for (size_t r = 0; r < it->rcpt.n; r++)
		if (ms_sql_exec(d, "INSERT INTO hm_messagerecipients (recipientmessageid, recipientaddress,"
		                " recipientlocalaccountid, recipientoriginaladdress) VALUES (?, ?, ?, ?)",
		                PARAMS(P_INT(id), P_TEXT(it->rcpt.v[r].address), P_INT(it->rcpt.v[r].account_id),
		                       P_TEXT(it->rcpt.v[r].original)), NULL, e) < 0)
			return -1;
	return ms_sql_exec(d, "UPDATE hm_messages SET messagelocked = 0 WHERE messageid = ?", PARAMS(P_INT(id)), NULL, e);
}

static int write_queue(sync_run *run, item *items, size_t n, ms_err *e)
{
	db *d = run->s->db;
	if (db_begin(d, e) < 0)
		return -1;
	if (lock_queue(d, e) < 0 || sync_refresh_refs(run, e) < 0)
		goto fail;
	drop_referenced(run, items, n);
	move_misplaced(run, items, n, false);
	for (size_t i = 0; i < n; i++)
		if (importing(&items[i]) && insert_queue_item(run, &items[i], e) < 0)
			goto fail;
	if (db_commit(d, e) < 0)
		goto fail;
	unlock_queue(d);
	return sync_journal_clear(run, e);
fail:
	db_rollback(d);
	unlock_queue(d);
	return -1;
}

/* ---- full-path rows ---------------------------------------------------------- */

static int write_path_updates(sync_run *run, item *items, size_t n, ms_err *e)
{
	db *d = run->s->db;
	if (db_begin(d, e) < 0)
		return -1;
	move_misplaced(run, items, n, true);
	for (size_t i = 0; i < n; i++)
		if (items[i].cat == SYNC_PATH_UPDATED &&
		    ms_sql_exec(d, "UPDATE hm_messages SET messagefilename = ? WHERE messageid = ?",
		                PARAMS(P_TEXT(row_name(&items[i])), P_INT(items[i].full_path_row)), NULL, e) < 0) {
			db_rollback(d);
			return -1;
		}
	if (db_commit(d, e) < 0) {
		db_rollback(d);
		return -1;
	}
	return sync_journal_clear(run, e);
}

/* ---- the batch -------------------------------------------------------------- */

/* Write [i, j) as one group; on failure the group's items are failed with
 * the error and the batch goes on with the next group. */
static void write_group(sync_run *run, item *items, size_t n,
                        int (*fn)(sync_run *, item *, size_t, ms_err *))
{
	ms_err e = { 0 };
	if (fn(run, items, n, &e) < 0)
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

/* --dry-run's stand-in for write_account: the one decision the writer
 * makes that the analysis cannot, whether a file duplicates a message of
 * the account.  It only reads (the account's sizes, the files' bytes). */
static int preview_account(sync_run *run, item *items, size_t n, ms_err *e)
{
	return sync_mark_duplicates(run, items, n, importing, e);
}

/* Items come sorted by path, so an account's files are contiguous: each
 * run of one target (with items of no target in between) is one group. */
static void for_each_group(sync_run *run, item *items, size_t n, bool dry_run)
{
	size_t i = 0;
	while (i < n) {
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
			write_group(run, &items[i], j - i,
			            t == -1 ? write_queue : t == -2 ? write_path_updates : write_account);
		}
		i = j;
	}
}

int sync_write_batch(sync_run *run, item *items, size_t n, ms_err *e)
{
	for_each_group(run, items, n, false);
	return 0;
}

void sync_preview_batch(sync_run *run, item *items, size_t n)
{
	for_each_group(run, items, n, true);
}
