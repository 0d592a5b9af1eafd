/* rows.c - the database side: one pass over hm_messages in pages by
 * primary key (bounded memory on every driver, no long-running read), each
 * row checked against the recorded files and the folders in memory.
 */
#include "reconstruct/rc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/layout.h"
#include "store/messages.h"
#include "util/vec.h"
#include "store/sql.h"

typedef struct rc_row {
	int64_t id, account, folder, type, size, uid;
	const char *filename;
	const char *name;     /* the last component (full-path rows of old stores) */
} rc_row;

/* The path a row without a folder on disk would have (lower case, as the
 * server creates account folders). */
static void path_without_owner(const rc_account *a, const char *name, char *out, size_t len)
{
	char dir[600];
	snprintf(dir, sizeof dir, "%s/%s", a->domain, a->local);
	ms_layout_path(MS_PLACE_ACCOUNT, dir, name, out, len);
}

static void check_file(rc_run *run, const rc_row *row, int32_t owner, rc_account *a, const rc_folder *f)
{
	rc_file *file = owner >= 0 ? rc_file_match(run, owner, row->name) : NULL;
	char path[4096];
	if (!file) {
		if (owner >= 0)
			rc_canonical_path(run, owner, row->name, path, sizeof path);
		else
			path_without_owner(a, row->name, path, sizeof path);
		char *mb = a || f ? rc_folder_mailbox(run, a, f) : strdup("queue");
		const char *other = rc_not_a_file(run, path);
		rc_finding *x = other ? rc_add(run, RC_MISSING_FILE, mb, "none: left for you (replace it with the message"
		                               " file, or delete the row by hand)",
		                               "message %lld: %s: %s, not its message file", (long long)row->id, path,
		                               other)
		                      : rc_add(run, RC_MISSING_FILE, mb, "remove the row (saved to the recovery list first)",
		                               "message %lld: %s: no such file", (long long)row->id, path);
		free(mb);
		if (x) {
			x->message_id = row->id;
			x->path = strdup(path);
			x->account_idx = a ? a - run->accounts : -1;
		}
		if (a)
			a->missing++;
		else if (owner == RC_OWNER_QUEUE)
			run->queue_missing++;
		return;
	}
	if (!file->canonical) {
		char canon[4096];
		rc_file_path(run, file, path, sizeof path);
		rc_canonical_path(run, owner, row->name, canon, sizeof canon);
		char *mb = a || f ? rc_folder_mailbox(run, a, f) : strdup("queue");
		char *act = rc_strdup_printf("move the file to %s", canon);
		rc_finding *x = rc_add(run, RC_MISPLACED_FILE, mb, act, "message %lld: the file is at %s, not at %s",
		                       (long long)row->id, path, canon);
		free(mb);
		free(act);
		if (x) {
			x->message_id = row->id;
			x->path = strdup(path);
			x->target = strdup(canon);
			x->value = file - run->files;
		}
	}
	if (file->size != row->size) {
		char *mb = a || f ? rc_folder_mailbox(run, a, f) : strdup("queue");
		char *act = rc_strdup_printf("set messagesize to %lld", (long long)file->size);
		rc_file_path(run, file, path, sizeof path);
		rc_finding *x = rc_add(run, RC_WRONG_SIZE, mb, act, "message %lld: %s: the row says %lld bytes, the file has %lld",
		                       (long long)row->id, path, (long long)row->size, (long long)file->size);
		free(mb);
		free(act);
		if (x) {
			x->message_id = row->id;
			x->path = strdup(path);
			x->value = file->size;
		}
	}
}

static int push_uid(rc_run *run, const rc_row *row)
{
	if (ms_vec_reserve_((void **)&run->uids, &run->uids_cap, run->nuids + 1, sizeof *run->uids) < 0)
		return -1;
	run->uids[run->nuids++] = (rc_uid){ row->folder, row->uid, row->id };
	return 0;
}

/* Is a folder of this account named on the command line (so the run
 * looks at that folder only)? */
static bool folder_scoped(const rc_run *run, const rc_account *a)
{
	for (size_t i = 0; i < run->o->nmailboxes; i++)
		if (run->o->mailboxes[i].folder[0] && strcasecmp(run->o->mailboxes[i].address, a->address) == 0)
			return true;
	return false;
}

static void orphaned_message(rc_run *run, const rc_row *row, const char *why)
{
	rc_finding *x = rc_add(run, RC_ORPHANED_MESSAGE, "store", "remove the row (saved to the recovery list first)",
	                       "message %lld (%s): %s", (long long)row->id, row->name, why);
	if (x)
		x->message_id = row->id;
}

static void check_public(rc_run *run, const rc_row *row)
{
	rc_folder *f = rc_folder_by_id(run, row->folder);
	if (!run->store_wide)
		return;
	if (!f || f->account_id != 0) {
		orphaned_message(run, row, "no account, and its folder is not a public folder");
		return;
	}
	check_file(run, row, RC_OWNER_PUBLIC, NULL, f);
}

static int check_delivered(rc_run *run, const rc_row *row)
{
	if (row->account == 0) {
		check_public(run, row);
		return 0;
	}
	rc_account *a = rc_account_by_id(run, row->account);
	if (!a) {
		if (run->store_wide) {
			char why[80];
			snprintf(why, sizeof why, "account %lld does not exist", (long long)row->account);
			orphaned_message(run, row, why);
		}
		return 0;
	}
	if (!a->in_scope)
		return 0;
	rc_folder *f = rc_folder_by_id(run, row->folder);
	bool folder_ok = f && f->account_id == a->id;
	if (folder_ok && !f->in_scope)
		return 0;
	if (!folder_ok) {
		if (folder_scoped(run, a))
			return 0;
		char *mb = rc_folder_mailbox(run, a, NULL);
		rc_finding *x = rc_add(run, RC_MESSAGE_FOLDER, mb, "move it to the account's INBOX with a new UID",
		                       "message %lld (%s): folder %lld %s", (long long)row->id, row->name,
		                       (long long)row->folder, f ? "belongs to another account" : "does not exist");
		free(mb);
		if (x) {
			x->message_id = row->id;
			x->account_idx = a - run->accounts;
		}
	}
	a->rows++;
	a->bytes += row->size;
	check_file(run, row, a->owner, a, folder_ok ? f : NULL);
	return folder_ok ? push_uid(run, row) : 0;
}

static int check_row(rc_run *run, const rc_row *row)
{
	switch (row->type) {
	case 1: /* the delivery queue */
		if (run->store_wide) {
			run->queue_rows++;
			check_file(run, row, RC_OWNER_QUEUE, NULL, NULL);
		}
		return 0;
	case 2:
		return check_delivered(run, row);
	default: /* 3 = held for ETRN (account id is a route): not checked, but its
	          * file waits in the queue and is referenced (sync agrees) */
		if (run->store_wide)
			rc_file_match(run, RC_OWNER_QUEUE, row->name);
		return 0;
	}
}

/* Read one page; *n gets the number of rows. */
static int page(rc_run *run, db_stmt *st, bool check, size_t *n, ms_err *e)
{
	int rc;
	ms_message_info m;
	*n = 0;
	if (ms_messages_page_start(st, run->watermark, e) < 0)
		return -1;
	while ((rc = ms_messages_page_next(st, &m, e)) == DB_ROW) {
		rc_row row = { .id = m.id, .account = m.account_id, .folder = m.folder_id, .filename = m.filename,
		               .name = ms_layout_base_name(m.filename), .type = m.type, .size = m.size, .uid = m.uid };
		(*n)++;
		if (row.id > run->watermark)
			run->watermark = row.id;
		if (check)
			run->r->rows++;
		if (check && check_row(run, &row) < 0)
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
		if (!check) {
			/* rows created during the run: they reference files, nothing more */
			rc_account *a = row.account ? rc_account_by_id(run, row.account) : NULL;
			int32_t owner = row.type != 2 ? RC_OWNER_QUEUE : row.account == 0 ? RC_OWNER_PUBLIC : a ? a->owner : -1;
			if (owner >= 0)
				rc_file_match(run, owner, row.name);
		}
	}
	return rc == DB_ERROR ? -1 : 0;
}

static int pass(rc_run *run, bool check, ms_err *e)
{
	db_stmt *st;
	if (ms_messages_page_open(run->s->db, &st, e) < 0)
		return -1;
	size_t n;
	int rc;
	do
		rc = page(run, st, check, &n, e);
	while (rc == 0 && n > 0);
	db_finalize(st);
	return rc;
}

int rc_row_pass(rc_run *run, ms_err *e)
{
	return pass(run, true, e);
}

int rc_refresh_rows(rc_run *run, ms_err *e)
{
	return pass(run, false, e);
}
