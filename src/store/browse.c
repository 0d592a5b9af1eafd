/* browse.c - see browse.h. */
#include "store/browse.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/folders.h"
#include "store/sql.h"
#include "util/vec.h"

int ms_browse_delimiter(db *d, char *delim, ms_err *e)
{
	db_stmt *st;
	*delim = MS_DEFAULT_DELIMITER;
	/* LOWER: the setup scripts write 'IMAPHierarchyDelimiter'; PostgreSQL's = is case-sensitive */
	if (ms_sql_prepare(d, "SELECT settingstring FROM hm_settings WHERE LOWER(settingname) = 'imaphierarchydelimiter'",
	                   NO_PARAMS, &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	const char *v = rc == DB_ROW ? db_column_text(st, 0) : NULL;
	if (v && strlen(v) == 1)
		*delim = v[0];
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

static void copy_time(db_stmt *st, int col, char out[20])
{
	const char *t = db_column_text(st, col);
	size_t len = t ? strnlen(t, 19) : 0; /* per row: a copy, not a snprintf */
	memcpy(out, t ? t : "", len);
	out[len] = '\0';
}

static char *dup_col(db_stmt *st, int col)
{
	const char *t = db_column_text(st, col);
	return strdup(t ? t : "");
}

int ms_browse_folders(db *d, int64_t account_id, ms_folder_row **out, size_t *n, ms_err *e)
{
	db_stmt *st;
	MS_VEC(ms_folder_row) v = { 0 };
	*out = NULL;
	*n = 0;
	if (ms_sql_prepare(d, "SELECT folderid, folderparentid, foldername, folderissubscribed, foldercurrentuid,"
	                   " foldercreationtime FROM hm_imapfolders WHERE folderaccountid = ? ORDER BY folderid",
	                   PARAMS(P_INT(account_id)), &st, e) < 0)
		return -1;
	int rc;
	while ((rc = db_step(st, e)) == DB_ROW) {
		ms_folder_row f = { .id = db_column_int64(st, 0), .parent_id = db_column_int64(st, 1),
		                    .name = dup_col(st, 2), .subscribed = db_column_int64(st, 3) != 0,
		                    .current_uid = db_column_int64(st, 4) };
		copy_time(st, 5, f.created);
		if (!f.name || ms_vec_push(&v, f) < 0) {
			free(f.name);
			rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
			break;
		}
	}
	db_finalize(st);
	if (rc == DB_ERROR) {
		ms_browse_folders_free(v.v, v.n);
		return -1;
	}
	*out = v.v;
	*n = v.n;
	return 0;
}

void ms_browse_folders_free(ms_folder_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

static int row_by_id(const void *key, const void *row)
{
	int64_t a = *(const int64_t *)key, b = ((const ms_folder_row *)row)->id;
	return (a > b) - (a < b);
}

bool ms_browse_folder_level_has(const ms_folder_row *v, size_t n, const ms_folder_row *f, char c)
{
	for (int depth = 0; f && depth < 100; depth++) {
		if (strchr(f->name, c))
			return true;
		if (f->parent_id <= 0)
			return false;
		f = bsearch(&f->parent_id, v, n, sizeof *v, row_by_id);
	}
	return false;
}

bool ms_browse_folder_path(const ms_folder_row *v, size_t n, const ms_folder_row *f, char delim, bool inbox_rule,
                           char *out, size_t len)
{
	assert(len > 0);
	char tmp[2048];
	out[0] = '\0';
	/* 100 levels: deeper than any client makes, and the end of a loop */
	for (int depth = 0; f && depth < 100; depth++) {
		bool top = f->parent_id <= 0;
		const char *name = top && inbox_rule && strcasecmp(f->name, "INBOX") == 0 ? "INBOX" : f->name;
		int w = out[0] ? snprintf(tmp, sizeof tmp, "%s%c%s", name, delim, out) : snprintf(tmp, sizeof tmp, "%s", name);
		if (w < 0 || (size_t)w >= sizeof tmp || (size_t)w >= len)
			return false;
		memcpy(out, tmp, (size_t)w + 1);
		if (top)
			return true;
		f = bsearch(&f->parent_id, v, n, sizeof *v, row_by_id);
	}
	return false;
}

/* One level below `parent`: 1 found, 0 not, -1 error. */
static int find_level(db *d, int64_t account_id, int64_t parent, const char *name, int64_t *folder, ms_err *e)
{
	if (parent == -1 && strcasecmp(name, "INBOX") == 0)
		return ms_folder_find_inbox(d, account_id, folder, e);
	return ms_sql_int(d, "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = ? AND folderparentid = ?"
	                  " AND foldername = ? ORDER BY folderid", PARAMS(P_INT(account_id), P_INT(parent), P_TEXT(name)),
	                  folder, e);
}

int ms_browse_folder_nearest(db *d, int64_t account_id, const char *path, char delim, int64_t *folder, ms_err *e)
{
	char level[256];
	int64_t parent = -1, id = 0;
	for (const char *p = path; p;) {
		const char *end = strchr(p, delim);
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || len >= sizeof level)
			break; /* hMailServer allows levels of 1 to 255 bytes: no such folder */
		snprintf(level, sizeof level, "%.*s", (int)len, p);
		int rc = find_level(d, account_id, parent, level, &id, e);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		parent = *folder = id;
		p = end ? end + 1 : NULL;
		if (!p)
			return 2;
	}
	return parent == -1 ? 0 : 1;
}

int ms_browse_folder_find(db *d, int64_t account_id, const char *path, char delim, int64_t *folder, ms_err *e)
{
	int64_t id;
	int rc = ms_browse_folder_nearest(d, account_id, path, delim, &id, e);
	if (rc == 2)
		*folder = id;
	return rc < 0 ? -1 : rc == 2;
}

int ms_browse_folder_status(db *d, int64_t account_id, int64_t folder, ms_folder_status *st, ms_err *e)
{
	db_stmt *q;
	*st = (ms_folder_status){ 0 };
	/* COUNT(DISTINCT uid) instead of a self-join: one pass over the folder's
	 * index range, whatever its size */
	if (ms_sql_prepare(d, "SELECT f.foldercurrentuid, f.foldercreationtime,"
	                   " (SELECT COUNT(*) FROM hm_messages m WHERE m.messageaccountid = ? AND m.messagefolderid ="
	                   "  f.folderid AND m.messagetype = 2),"
	                   " (SELECT COUNT(*) - COUNT(DISTINCT m.messageuid) + COALESCE(SUM(CASE WHEN m.messageuid = 0"
	                   "  THEN 1 ELSE 0 END), 0) FROM hm_messages m WHERE m.messageaccountid = ? AND"
	                   "  m.messagefolderid = f.folderid AND m.messagetype = 2),"
	                   " (SELECT COUNT(*) FROM hm_imapfolders c WHERE c.folderparentid = f.folderid)"
	                   " FROM hm_imapfolders f WHERE f.folderid = ? AND f.folderaccountid = ?",
	                   PARAMS(P_INT(account_id), P_INT(account_id), P_INT(folder), P_INT(account_id)), &q, e) < 0)
		return -1;
	int rc = db_step(q, e);
	if (rc == DB_ROW) {
		st->current_uid = db_column_int64(q, 0);
		copy_time(q, 1, st->created);
		st->count = db_column_int64(q, 2);
		st->bad_uids = db_column_int64(q, 3);
		st->children = db_column_int64(q, 4);
	}
	db_finalize(q);
	return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

uint32_t ms_browse_uidvalidity(const char *created)
{
	struct tm tm = { 0 };
	const char *end = strptime(created, "%Y-%m-%d %H:%M:%S", &tm);
	if (!end || *end)
		return 0;
	/* the wall-clock fields read as UTC, as the server's DateTime::ToInt does */
	time_t t = timegm(&tm);
	return t < 0 ? 0 : (uint32_t)t;
}

static int read_msg(db_stmt *st, ms_msg_row *r)
{
	*r = (ms_msg_row){ .id = db_column_int64(st, 0), .uid = db_column_int64(st, 1),
	                   .size = db_column_int64(st, 2), .flags = db_column_int64(st, 3),
	                   .filename = dup_col(st, 5) };
	copy_time(st, 4, r->created);
	/* a copy, not a snprintf: this runs for every row of a folder */
	const char *from = db_column_text(st, 6);
	size_t len = from ? strnlen(from, sizeof r->from - 1) : 0;
	memcpy(r->from, from ? from : "", len);
	r->from[len] = '\0';
	return r->filename ? 0 : -1;
}

#define MSG_COLUMNS "messageid, messageuid, messagesize, messageflags, messagecreatetime, messagefilename, messagefrom"

static int read_msgs(db_stmt *st, ms_msg_row **out, size_t *n, ms_err *e)
{
	MS_VEC(ms_msg_row) v = { 0 };
	int rc;
	while ((rc = db_step(st, e)) == DB_ROW) {
		ms_msg_row r;
		if (read_msg(st, &r) < 0 || ms_vec_push(&v, r) < 0) {
			free(r.filename);
			rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
			break;
		}
	}
	db_finalize(st);
	if (rc == DB_ERROR) {
		ms_browse_messages_free(v.v, v.n);
		return -1;
	}
	*out = v.v;
	*n = v.n;
	return 0;
}

int ms_browse_messages(db *d, int64_t account_id, int64_t folder, int64_t after_uid, size_t limit,
                       ms_msg_row **out, size_t *n, ms_err *e)
{
	db_stmt *st;
	*out = NULL;
	*n = 0;
	int64_t lim = limit ? (int64_t)limit : INT64_MAX;
	if (ms_sql_prepare(d, "SELECT " MSG_COLUMNS " FROM hm_messages WHERE messageaccountid = ? AND"
	                   " messagefolderid = ? AND messagetype = 2 AND messageuid > ? ORDER BY messageuid, messageid"
	                   " LIMIT ?", PARAMS(P_INT(account_id), P_INT(folder), P_INT(after_uid), P_INT(lim)), &st, e) < 0)
		return -1;
	return read_msgs(st, out, n, e);
}

int ms_browse_messages_unordered(db *d, int64_t account_id, int64_t folder, ms_msg_row **out, size_t *n, ms_err *e)
{
	db_stmt *st;
	*out = NULL;
	*n = 0;
	if (ms_sql_prepare(d, "SELECT " MSG_COLUMNS " FROM hm_messages WHERE messageaccountid = ? AND"
	                   " messagefolderid = ? AND +messagetype = 2", PARAMS(P_INT(account_id), P_INT(folder)), &st,
	                   e) < 0) /* "+": the folder's index, not the type's (which every row matches) */
		return -1;
	return read_msgs(st, out, n, e);
}

void ms_browse_messages_free(ms_msg_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].filename);
	free(v);
}

int ms_browse_message_by_uid(db *d, int64_t account_id, int64_t folder, int64_t uid, ms_msg_row *out, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(d, "SELECT " MSG_COLUMNS " FROM hm_messages WHERE messageaccountid = ? AND"
	                   " messagefolderid = ? AND messagetype = 2 AND messageuid = ? ORDER BY messageid",
	                   PARAMS(P_INT(account_id), P_INT(folder), P_INT(uid)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW && read_msg(st, out) < 0)
		rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
	db_finalize(st);
	return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

int ms_browse_set_flags(db *d, int64_t id, int64_t was, int64_t now, int64_t *changed, ms_err *e)
{
	return ms_sql_exec(d, "UPDATE hm_messages SET messageflags = ? WHERE messageid = ? AND messageflags = ?",
	                   PARAMS(P_INT(now), P_INT(id), P_INT(was)), changed, e);
}
