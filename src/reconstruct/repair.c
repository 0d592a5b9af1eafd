/* repair.c - the repairs of `reconstruct -r`.
 *
 * Rules (reconstruct.md, quality.md):
 *   - the database is changed, message files are not (a misplaced file
 *     is renamed into the place the server looks for it: rename(2)
 *     within the data directory, RENAME_NOREPLACE, content untouched);
 *   - a row is removed only after it has been written to the recovery
 *     list and the list is on disk (fsync), inside a transaction that
 *     checks once more that the row is there and its file is not;
 *   - UIDs are never lowered or reused: offending messages get new UIDs
 *     above foldercurrentuid, under the folder's row lock, as hMailServer
 *     hands them out;
 *   - the guard: an account (or the queue) that has lost the files of
 *     more than half of its rows looks like an unmounted or half-restored
 *     data directory; its rows are kept unless -f says otherwise.
 * Each repair is its own short transaction: a failure leaves the others
 * done and is reported on its finding.
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

#include "config/config.h"
#include "db/txn.h"
#include "store/folders.h"
#include "store/messages.h"
#include "store/sql.h"
#include "util/str.h"

static void not_repaired(rc_finding *x, const char *why)
{
	x->state = RC_NOT_REPAIRED;
	free(x->why);
	x->why = strdup(why);
}

/* Run `fn` in a transaction; the finding records the outcome. */
static void in_txn(rc_run *run, rc_finding *x, int (*fn)(rc_run *, rc_finding *, ms_err *))
{
	ms_err e = { 0 };
	db_txn *t;
	int rc = db_txn_begin(run->s->db, &t, &e);
	if (rc == 0)
		rc = fn(run, x, &e);
	if (rc < 0) {
		db_txn_rollback(&t);
		if (x->state == RC_OPEN)
			not_repaired(x, e.msg[0] ? e.msg : "failed");
		return;
	}
	if (db_txn_commit(&t, &e) < 0) {
		not_repaired(x, e.msg);
		return;
	}
	if (x->state == RC_OPEN)
		x->state = rc > 0 ? RC_STALE : RC_REPAIRED;
}

/* ---- the recovery list ------------------------------------------------------ */

/* The recovery list lives in a state directory, not in the data
 * directory (that belongs to the mail server, and its backups and
 * permissions are the server's): --state-dir, else $XDG_STATE_HOME/mstore,
 * else /var/lib/mstore for root and ~/.local/state/mstore for others. */
static int state_dir(const rc_run *run, char *out, size_t len)
{
	return ms_config_state_dir(run->o->state_dir, out, len);
}

/* fsync the directory that holds `path`: a new name is on disk only then. */
static int sync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (slash == path ? 1 : (int)(slash - path)) : 1, slash ? path : ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

/* mkdir -p, mode 0700 (the list holds senders and file names); each
 * directory it creates is synced into its parent. */
static int make_dirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		bool made = mkdir(path, 0700) == 0;
		int err = errno;
		if (made && sync_dir_of(path) < 0) {
			made = false;
			err = errno;
		}
		*p = c;
		if (!made && err != EEXIST) {
			errno = err;
			return -1;
		}
		if (c == '\0')
			return 0;
	}
}

static int list_path(rc_run *run, char *path, size_t len, ms_err *e)
{
	if (run->o->save_removed) {
		snprintf(path, len, "%s", run->o->save_removed);
		return 0;
	}
	char dir[4096], stamp[32];
	struct tm tm;
	if (state_dir(run, dir, sizeof dir) < 0)
		return ms_err_set(e, MS_E_IO, "the state directory's name is empty or too long");
	if (make_dirs(dir) < 0)
		return ms_err_set(e, MS_E_IO, "cannot create the state directory %s for the recovery list: %s "
		                  "(--state-dir DIR or --save-removed FILE put it elsewhere)", dir, strerror(errno));
	localtime_r(&run->now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	if (snprintf(path, len, "%s/removed-%s-%ld.tsv", dir, stamp, (long)getpid()) >= (int)len)
		return ms_err_set(e, MS_E_IO, "the recovery list's name is too long");
	return 0;
}

/* Open the list for appending.  The header goes only into a new (empty)
 * file, so a reused --save-removed file stays one table; a new file's
 * name is synced into its directory before any row relies on it. */
static int open_removed(rc_run *run, ms_err *e)
{
	if (run->removed)
		return 0;
	char *path = run->r->removed_list;
	struct stat st;
	int fd = -1;
	if (list_path(run, path, sizeof run->r->removed_list, e) < 0)
		goto fail;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0 || (st.st_size == 0 && sync_dir_of(path) < 0) ||
	    !(run->removed = fdopen(fd, "a"))) {
		ms_err_set(e, MS_E_IO, "cannot write the recovery list %s: %s", path, strerror(errno));
		goto fail;
	}
	if (st.st_size == 0)
		fputs("messageid\taccountid\taccount\tfolderid\tfilename\ttype\tsize\tuid\tflags\tcreatetime\tfrom\treason\n",
		      run->removed);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	path[0] = '\0';
	return -1;
}

static void tsv(FILE *f, const char *s, const char *end)
{
	for (; s && *s; s++)
		fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
	fputs(end, f);
}

/* Write the row to the recovery list and make it durable.  1: written,
 * 0: the row is gone already, -1: error. */
static int save_row(rc_run *run, int64_t id, const char *reason, ms_err *e)
{
	ms_message_rec m;
	int rc = ms_messages_get(run->s->db, id, &m, e);
	if (rc <= 0)
		return rc;
	if (open_removed(run, e) < 0) {
		ms_message_rec_free(&m);
		return -1;
	}
	FILE *f = run->removed;
	rc_account *a = rc_account_by_id(run, m.account_id);
	fprintf(f, "%lld\t%lld\t", (long long)id, (long long)m.account_id);
	tsv(f, a ? a->address : "", "\t");
	fprintf(f, "%lld\t", (long long)m.folder_id);
	tsv(f, m.filename, "\t");
	fprintf(f, "%lld\t%lld\t%lld\t%lld\t", (long long)m.type, (long long)m.size, (long long)m.uid, (long long)m.flags);
	tsv(f, m.created, "\t");
	tsv(f, m.from, "\t");
	tsv(f, reason, "\n");
	ms_message_rec_free(&m);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		return ms_err_set(e, MS_E_IO, "cannot write the recovery list %s: %s", run->r->removed_list, strerror(errno));
	return 1;
}

/* ---- removing rows ------------------------------------------------------------- */

/* Returns 1 when the finding turned out stale (nothing to do). */
static int remove_row(rc_run *run, rc_finding *x, ms_err *e)
{
	if (x->kind == RC_MISSING_FILE) {
		const char *other = rc_not_a_file(run, x->path);
		if (other) { /* the user's: perhaps a symlink to the message */
			char why[160];
			snprintf(why, sizeof why, "%s is at its place, not its message file: left for you", other);
			not_repaired(x, why);
			return 0;
		}
		struct stat st;
		if (fstatat(run->root_fd, x->path, &st, AT_SYMLINK_NOFOLLOW) == 0 || (errno != ENOENT && errno != ENOTDIR))
			return 1;
	}
	char reason[700];
	snprintf(reason, sizeof reason, "%s: %s", ms_rc_kind_name(x->kind), x->detail ? x->detail : "");
	int saved = save_row(run, x->message_id, reason, e);
	if (saved <= 0)
		return saved < 0 ? -1 : 1;
	return ms_messages_delete(run->s->db, x->message_id, e);
}

static int remove_recipient(rc_run *run, rc_finding *x, ms_err *e)
{
	return ms_recipient_delete_orphan(run->s->db, x->message_id, e);
}

static int remove_metadata(rc_run *run, rc_finding *x, ms_err *e)
{
	return ms_metadata_delete_orphan(run->s->db, x->message_id, e);
}

static int remove_folder(rc_run *run, rc_finding *x, ms_err *e)
{
	int64_t n = 0;
	if (ms_folder_delete_empty(run->s->db, x->folder_id, &n, e) < 0)
		return -1;
	if (n > 0) {
		char why[120];
		snprintf(why, sizeof why, "%lld messages are still in it", (long long)n);
		not_repaired(x, why);
	}
	return 0;
}

static int unlock_queued(rc_run *run, rc_finding *x, ms_err *e)
{
	int64_t changed = 0;
	if (ms_messages_unlock_queued(run->s->db, x->message_id, &changed, e) < 0)
		return -1;
	return changed ? 0 : 1;
}

/* ---- folders -------------------------------------------------------------------- */

static int create_inbox(rc_run *run, rc_finding *x, ms_err *e)
{
	rc_account *a = &run->accounts[x->account_idx];
	int64_t id;
	int has = ms_folder_find_inbox(run->s->db, a->id, &id, e);
	if (has < 0)
		return -1;
	if (has) {
		a->inbox_id = id;
		return 1;
	}
	if (ms_folder_create_inbox(run->s->db, a->id, run->now, &id, e) < 0)
		return -1;
	a->inbox_id = id;
	return 0;
}

static int reparent(rc_run *run, rc_finding *x, ms_err *e)
{
	rc_folder *f = rc_folder_by_id(run, x->folder_id);
	if (!f)
		return 1;
	int64_t clash = 0;
	if (ms_folder_count_top_named(run->s->db, f->account_id, f->name, f->id, &clash, e) < 0)
		return -1;
	char name[300];
	if (clash)
		snprintf(name, sizeof name, "%s (recovered %lld)", f->name, (long long)f->id);
	else
		snprintf(name, sizeof name, "%s", f->name);
	int64_t changed = 0;
	if (ms_folder_move_to_top(run->s->db, f->id, f->parent_id, name, &changed, e) < 0)
		return -1;
	if (clash && changed) {
		free(x->action);
		x->action = rc_strdup_printf("moved to the top level as '%s'", name);
	}
	return changed ? 0 : 1;
}

static int move_to_inbox(rc_run *run, rc_finding *x, ms_err *e)
{
	rc_account *a = &run->accounts[x->account_idx];
	if (!a->inbox_id) {
		not_repaired(x, "the account has no INBOX");
		return 0;
	}
	int64_t uid, changed = 0;
	if (ms_folder_reserve_uids(run->s->db, a->inbox_id, 1, &uid, e) < 0 ||
	    ms_messages_refile(run->s->db, x->message_id, a->id, a->inbox_id, uid, &changed, e) < 0)
		return -1;
	return changed ? 0 : 1; /* fixed meanwhile: the UID it took stays unused, as UIDs may */
}

/* ---- UIDs --------------------------------------------------------------------------- */

/* Renumber a folder: zero and duplicate UIDs (all but the oldest message
 * of a UID) get new ones above max(foldercurrentuid, largest UID). */
static int renumber(rc_run *run, int64_t folder, ms_err *e)
{
	db *d = run->s->db;
	int64_t cur = 0;
	ms_uid_row *v;
	size_t n;
	if (ms_folder_lock(d, folder, e) < 0 || ms_folder_current_uid(d, folder, &cur, e) < 0 ||
	    ms_messages_folder_uids(d, folder, &v, &n, e) < 0)
		return -1;
	if (n && v[n - 1].uid > cur)
		cur = v[n - 1].uid;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (v[i].uid > 0 && (i == 0 || v[i].uid != v[i - 1].uid))
			continue;
		if (++cur > MS_UID_MAX) {
			rc = ms_err_set(e, MS_E_LIMIT, "folder %lld has no UIDs left (hMailServer reads UIDs as 32-bit: none"
			                " can pass 2,147,483,647)", (long long)folder);
			break;
		}
		rc = ms_messages_set_uid(d, v[i].id, cur, e);
	}
	free(v);
	if (rc == 0)
		rc = ms_folder_raise_current_uid(d, folder, cur, e);
	return rc;
}

static void repair_uids(rc_run *run)
{
	for (size_t i = 0; i < run->nfolders; i++) {
		rc_folder *f = &run->folders[i];
		if (!f->uid_dirty)
			continue;
		ms_err e = { 0 };
		db_txn *t;
		int rc = db_txn_begin(run->s->db, &t, &e);
		if (rc == 0 && (rc = renumber(run, f->id, &e)) < 0)
			db_txn_rollback(&t);
		if (rc == 0)
			rc = db_txn_commit(&t, &e);
		for (size_t k = 0; k < run->nfindings; k++) {
			rc_finding *x = &run->findings[k];
			bool mine = x->folder_id == f->id &&
			            (x->kind == RC_ZERO_UID || x->kind == RC_DUPLICATE_UID || x->kind == RC_UID_BEHIND);
			if (!mine || x->state != RC_OPEN)
				continue;
			if (rc == 0)
				x->state = RC_REPAIRED;
			else
				not_repaired(x, e.msg);
		}
	}
}

/* ---- files ------------------------------------------------------------------------- */

static void move_file(rc_run *run, rc_finding *x)
{
	const char *to = x->target;
	if (!to || !x->path) {
		not_repaired(x, "out of memory recording the finding");
		return;
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", to);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		if (mkdirat(run->root_fd, dir, 0755) < 0 && errno != EEXIST) {
			char why[300];
			ms_str_printf(why, sizeof why, "cannot create %s: %s", dir, strerror(errno));
			not_repaired(x, why);
			return;
		}
	}
	if (renameat2(run->root_fd, x->path, run->root_fd, to, RENAME_NOREPLACE) < 0) {
		char why[300];
		snprintf(why, sizeof why, "cannot rename %s: %s", x->path, strerror(errno));
		not_repaired(x, why);
		return;
	}
	x->state = RC_REPAIRED;
}

static int set_size(rc_run *run, rc_finding *x, ms_err *e)
{
	return ms_messages_set_size(run->s->db, x->message_id, x->value, e);
}

/* ---- the guard ------------------------------------------------------------------------ */

static bool guarded(int64_t missing, int64_t rows)
{
	return missing > 5 && missing * 2 > rows;
}

static void apply_guard(rc_run *run)
{
	if (run->o->force)
		return;
	for (size_t i = 0; i < run->nfindings; i++) {
		rc_finding *x = &run->findings[i];
		if (x->kind != RC_MISSING_FILE || x->state != RC_OPEN)
			continue;
		int64_t missing = run->queue_missing, rows = run->queue_rows;
		if (x->account_idx >= 0) {
			missing = run->accounts[x->account_idx].missing;
			rows = run->accounts[x->account_idx].rows;
		} else if (strcmp(x->mailbox, "queue") != 0) {
			continue;
		}
		if (guarded(missing, rows)) {
			char why[300];
			snprintf(why, sizeof why, "%lld of %lld messages here have lost their files: is the data directory"
			         " mounted and complete? -f removes the rows anyway", (long long)missing, (long long)rows);
			not_repaired(x, why);
		}
	}
}

/* ---- in order ------------------------------------------------------------------------------ */

static void each(rc_run *run, rc_kind kind, int (*fn)(rc_run *, rc_finding *, ms_err *))
{
	for (size_t i = 0; i < run->nfindings; i++)
		if (run->findings[i].kind == kind && run->findings[i].state == RC_OPEN)
			in_txn(run, &run->findings[i], fn);
}

void rc_repair(rc_run *run)
{
	apply_guard(run);
	/* rows that point nowhere go first, so later steps see a clean tree */
	each(run, RC_ORPHANED_RECIPIENT, remove_recipient);
	each(run, RC_ORPHANED_METADATA, remove_metadata);
	each(run, RC_ORPHANED_MESSAGE, remove_row);
	each(run, RC_QUEUE_NO_RECIPIENTS, remove_row);
	each(run, RC_MISSING_FILE, remove_row);
	each(run, RC_ORPHANED_FOLDER, remove_folder);
	each(run, RC_QUEUE_STALE_LOCK, unlock_queued);
	/* then the folder tree, then what lives in it */
	each(run, RC_MISSING_INBOX, create_inbox);
	each(run, RC_FOLDER_PARENT, reparent);
	each(run, RC_MESSAGE_FOLDER, move_to_inbox);
	for (size_t i = 0; i < run->nfindings; i++)
		if (run->findings[i].kind == RC_MISPLACED_FILE && run->findings[i].state == RC_OPEN)
			move_file(run, &run->findings[i]);
	each(run, RC_WRONG_SIZE, set_size);
	repair_uids(run);
	if (run->removed) {
		fclose(run->removed);
		run->removed = NULL;
	}
}
