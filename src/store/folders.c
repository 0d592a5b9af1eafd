/* folders.c - see folders.h. */
#include "store/folders.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store/sql.h"

int ms_folder_find_inbox(db *d, int64_t account_id, int64_t *folder, ms_err *e)
{
	/* UPPER: hMailServer matches INBOX in any case; PostgreSQL's = would not */
	return ms_sql_int(d, "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = ? AND folderparentid = -1"
	                  " AND UPPER(foldername) = 'INBOX' ORDER BY folderid", PARAMS(P_INT(account_id)), folder, e);
}

static int insert_folder(db *d, int64_t account_id, int64_t parent, const char *name, time_t now, int64_t *folder,
                         ms_err *e)
{
	char created[32];
	ms_sql_time(now, created);
	return ms_sql_insert(d, "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername,"
	                     " folderissubscribed, foldercreationtime, foldercurrentuid) VALUES (?, ?, ?, 1, ?, 0)",
	                     "folderid", PARAMS(P_INT(account_id), P_INT(parent), P_TEXT(name), P_TEXT(created)), folder, e);
}

int ms_folder_create_inbox(db *d, int64_t account_id, time_t now, int64_t *folder, ms_err *e)
{
	return insert_folder(d, account_id, -1, "INBOX", now, folder, e);
}

int ms_folder_inbox(db *d, int64_t account_id, time_t now, int64_t *folder, ms_err *e)
{
	int rc = ms_folder_find_inbox(d, account_id, folder, e);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	return ms_folder_create_inbox(d, account_id, now, folder, e);
}

int ms_folder_ensure_path(db *d, int64_t account_id, const char *path, char sep, time_t now, int64_t *folder,
                          ms_err *e)
{
	char level[256];
	int64_t parent = -1;
	for (const char *p = path; p;) {
		const char *end = strchr(p, sep);
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len >= sizeof level)
			return ms_err_set(e, MS_E_USAGE, "folder name longer than %zu bytes in '%s'", sizeof level - 1, path);
		snprintf(level, sizeof level, "%.*s", (int)len, p);
		/* a first level named INBOX in any case is the INBOX (IMAP's rule) */
		int rc = parent == -1 && strcasecmp(level, "INBOX") == 0
		                 ? ms_folder_inbox(d, account_id, now, folder, e) < 0 ? -1 : 1
		                 : ms_sql_int(d, "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = ?"
		                              " AND folderparentid = ? AND foldername = ?",
		                              PARAMS(P_INT(account_id), P_INT(parent), P_TEXT(level)), folder, e);
		if (rc < 0 || (rc == 0 && insert_folder(d, account_id, parent, level, now, folder, e) < 0))
			return -1;
		parent = *folder;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

int ms_folder_lock(db *d, int64_t folder, ms_err *e)
{
	return ms_sql_exec(d, "UPDATE hm_imapfolders SET foldercurrentuid = foldercurrentuid WHERE folderid = ?",
	                   PARAMS(P_INT(folder)), NULL, e);
}

int ms_folder_current_uid(db *d, int64_t folder, int64_t *uid, ms_err *e)
{
	return ms_sql_int(d, "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid = ?", PARAMS(P_INT(folder)), uid,
	                  e);
}

int ms_folder_reserve_uids(db *d, int64_t folder, size_t k, int64_t *first, ms_err *e)
{
	assert(k > 0);
	int64_t last = 0;
	if (ms_sql_exec(d, "UPDATE hm_imapfolders SET foldercurrentuid = foldercurrentuid + ? WHERE folderid = ?",
	                PARAMS(P_INT((int64_t)k), P_INT(folder)), NULL, e) < 0 ||
	    ms_folder_current_uid(d, folder, &last, e) < 0)
		return -1;
	if (last > MS_UID_MAX)
		return ms_err_set(e, MS_E_LIMIT, "folder %lld has %lld UIDs left, %zu needed (hMailServer reads UIDs as"
		                  " 32-bit: none can pass 2,147,483,647)", (long long)folder,
		                  (long long)(MS_UID_MAX - (last - (int64_t)k)), k);
	*first = last - (int64_t)k + 1;
	return 0;
}

int ms_folder_raise_current_uid(db *d, int64_t folder, int64_t uid, ms_err *e)
{
	return ms_sql_exec(d, "UPDATE hm_imapfolders SET foldercurrentuid = ? WHERE folderid = ? AND foldercurrentuid < ?",
	                   PARAMS(P_INT(uid), P_INT(folder), P_INT(uid)), NULL, e);
}

int ms_folder_move_to_top(db *d, int64_t folder, int64_t old_parent, const char *name, int64_t *changed, ms_err *e)
{
	return ms_sql_exec(d, "UPDATE hm_imapfolders SET folderparentid = -1, foldername = ? WHERE folderid = ?"
	                   " AND folderparentid = ?", PARAMS(P_TEXT(name), P_INT(folder), P_INT(old_parent)), changed, e);
}

int ms_folder_count_top_named(db *d, int64_t account_id, const char *name, int64_t except, int64_t *n, ms_err *e)
{
	return ms_sql_int(d, "SELECT COUNT(*) FROM hm_imapfolders WHERE folderaccountid = ? AND folderparentid = -1"
	                  " AND foldername = ? AND folderid <> ?", PARAMS(P_INT(account_id), P_TEXT(name), P_INT(except)),
	                  n, e) < 0 ? -1 : 0;
}

int ms_folder_delete_empty(db *d, int64_t folder, int64_t *left, ms_err *e)
{
	if (ms_sql_int(d, "SELECT COUNT(*) FROM hm_messages WHERE messagefolderid = ?", PARAMS(P_INT(folder)), left, e) < 0)
		return -1;
	if (*left > 0)
		return 0;
	return ms_sql_exec(d, "DELETE FROM hm_imapfolders WHERE folderid = ?", PARAMS(P_INT(folder)), NULL, e);
}

int ms_folder_owner(db *d, int64_t folder, int64_t *account_id, ms_err *e)
{
	return ms_sql_int(d, "SELECT folderaccountid FROM hm_imapfolders WHERE folderid = ?", PARAMS(P_INT(folder)),
	                  account_id, e);
}

typedef struct folder_ctx {
	int (*fn)(void *ctx, const ms_folder_rec *f);
	void *ctx;
} folder_ctx;

static int folder_row(void *c, db_stmt *st)
{
	const folder_ctx *x = c;
	const char *name = db_column_text(st, 3), *created = db_column_text(st, 5);
	ms_folder_rec f = { .id = db_column_int64(st, 0), .account_id = db_column_int64(st, 1),
	                    .parent_id = db_column_int64(st, 2), .current_uid = db_column_int64(st, 4),
	                    .name = name ? name : "", .created = created ? created : "" };
	return x->fn(x->ctx, &f);
}

int ms_folders_each(db *d, int (*fn)(void *ctx, const ms_folder_rec *f), void *ctx, ms_err *e)
{
	folder_ctx x = { fn, ctx };
	return ms_sql_each(d, "SELECT folderid, folderaccountid, folderparentid, foldername, foldercurrentuid,"
	                   " foldercreationtime FROM hm_imapfolders", NO_PARAMS, folder_row, &x, e);
}
