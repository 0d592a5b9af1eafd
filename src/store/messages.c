/* messages.c - see messages.h. */
#include "store/messages.h"

#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/layout.h"
#include "store/sql.h"
#include "util/vec.h"

#define ROWS_PER_INSERT 100
#define DELIVERED_VALUES "(?, ?, ?, 2, ?, ?, 0, '1901-01-01 00:00:00', ?, ?, 0, ?)"
#define DELIVERED_COLUMNS 8

static const char insert_head[] =
	"INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype,"
	" messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags,"
	" messagecreatetime, messagelocked, messageuid) VALUES ";

/* "INSERT ... VALUES (...), (...), ..." for `rows` rows: only
 * placeholders are repeated. */
static char *multi_row_insert(size_t rows)
{
	size_t one = sizeof DELIVERED_VALUES + 1;
	char *sql = malloc(sizeof insert_head + rows * one);
	if (!sql)
		return NULL;
	char *w = stpcpy(sql, insert_head);
	for (size_t i = 0; i < rows; i++)
		w = stpcpy(stpcpy(w, i ? ", " : ""), DELIVERED_VALUES);
	return sql;
}

static int insert_chunk(db *d, const ms_message_row *rows, size_t k, ms_err *e)
{
	assert(k > 0 && k <= ROWS_PER_INSERT);
	char *sql = multi_row_insert(k);
	db_stmt *st;
	if (!sql)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	int rc = db_prepare(d, sql, &st, e);
	free(sql);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < k && rc == 0; i++) {
		const ms_message_row *r = &rows[i];
		ms_param p[DELIVERED_COLUMNS] = { P_INT(r->account_id), P_INT(r->folder_id), P_TEXT(r->filename),
		                                  P_TEXT(r->from), P_INT(r->size), P_INT(r->flags), P_TEXT(r->created),
		                                  P_INT(r->uid) };
		for (size_t j = 0; j < DELIVERED_COLUMNS && rc == 0; j++) {
			int idx = (int)(i * DELIVERED_COLUMNS + j + 1);
			rc = p[j].type == MS_P_INT ? db_bind_int64(st, idx, p[j].i, e) : db_bind_text(st, idx, p[j].s, e);
		}
	}
	if (rc == 0 && db_step(st, e) == DB_ERROR)
		rc = -1;
	db_finalize(st);
	return rc;
}

int ms_messages_insert_delivered(db *d, const ms_message_row *rows, size_t n, ms_err *e)
{
	for (size_t at = 0; at < n; at += ROWS_PER_INSERT)
		if (insert_chunk(d, rows + at, n - at < ROWS_PER_INSERT ? n - at : ROWS_PER_INSERT, e) < 0)
			return -1;
	return 0;
}

int ms_messages_insert_queued(db *d, const ms_message_row *row, const ms_recipient_row *rcpt, size_t nrcpt,
                              int64_t *id, ms_err *e)
{
	/* Locked while its recipients are written, as hMailServer does, so a
	 * delivery thread never picks up a message with half its recipients. */
	if (ms_sql_insert(d, "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype,"
	                  " messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags,"
	                  " messagecreatetime, messagelocked, messageuid)"
	                  " VALUES (0, 0, ?, 1, ?, ?, 0, '1901-01-01 00:00:00', ?, ?, 1, 0)", "messageid",
	                  PARAMS(P_TEXT(row->filename), P_TEXT(row->from), P_INT(row->size), P_INT(row->flags),
	                         P_TEXT(row->created)), id, e) < 0)
		return -1;
	for (size_t r = 0; r < nrcpt; r++)
		if (ms_sql_exec(d, "INSERT INTO hm_messagerecipients (recipientmessageid, recipientaddress,"
		                " recipientlocalaccountid, recipientoriginaladdress) VALUES (?, ?, ?, ?)",
		                PARAMS(P_INT(*id), P_TEXT(rcpt[r].address), P_INT(rcpt[r].account_id), P_TEXT(rcpt[r].original)),
		                NULL, e) < 0)
			return -1;
	return ms_sql_exec(d, "UPDATE hm_messages SET messagelocked = 0 WHERE messageid = ?", PARAMS(P_INT(*id)), NULL, e);
}

/* The callbacks of the typed iterators below, carried through ms_sql_each. */
typedef struct each_ctx {
	ms_message_name_fn name_fn;
	int (*size_fn)(void *ctx, const char *filename, int64_t size);
	void *ctx;
} each_ctx;

static int name_row(void *c, db_stmt *st)
{
	const each_ctx *x = c;
	return x->name_fn(x->ctx, db_column_int64(st, 0), (int)db_column_int64(st, 1), db_column_int64(st, 2),
	                  db_column_text(st, 3));
}

int ms_messages_each_name(db *d, int64_t after, ms_message_name_fn fn, void *ctx,
                          ms_err *e)
{
	each_ctx x = { .name_fn = fn, .ctx = ctx };
	return ms_sql_each(d, "SELECT messageid, messagetype, messageaccountid, messagefilename FROM hm_messages WHERE messageid > ?",
	                   PARAMS(P_INT(after)), name_row, &x, e);
}

int ms_messages_each_named(db *d, const char *const *names, size_t n, ms_message_name_fn fn, void *ctx, ms_err *e)
{
	enum { CHUNK = 100 };
	each_ctx x = { .name_fn = fn, .ctx = ctx };
	ms_param p[CHUNK];
	char sql[160 + 2 * CHUNK];
	for (size_t at = 0; at < n; at += CHUNK) {
		size_t k = n - at < CHUNK ? n - at : CHUNK;
		size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT messageid, messagetype, messageaccountid, messagefilename"
		                                                " FROM hm_messages WHERE messagefilename IN (");
		for (size_t i = 0; i < k; i++) {
			sql[len++] = i ? ',' : '?';
			if (i)
				sql[len++] = '?';
			p[i] = P_TEXT(names[at + i]);
		}
		assert(len + 2 <= sizeof sql);
		sql[len++] = ')';
		sql[len] = '\0';
		if (ms_sql_each(d, sql, p, k, name_row, &x, e) < 0)
			return -1;
	}
	return 0;
}

static int size_row(void *c, db_stmt *st)
{
	const each_ctx *x = c;
	return x->size_fn(x->ctx, db_column_text(st, 0), db_column_int64(st, 1));
}

int ms_messages_each_of_account(db *d, int64_t account_id,
                                int (*fn)(void *ctx, const char *filename, int64_t size), void *ctx, ms_err *e)
{
	each_ctx x = { .size_fn = fn, .ctx = ctx };
	return ms_sql_each(d, "SELECT messagefilename, messagesize FROM hm_messages WHERE messageaccountid = ?",
	                   PARAMS(P_INT(account_id)), size_row, &x, e);
}

int ms_messages_count_full_paths(db *d, int64_t account_id, int64_t *n, ms_err *e)
{
	/* '!' escapes, so the backslash is an ordinary character on every
	 * server (MariaDB's default LIKE escape is the backslash) */
	ms_sql_scan_begin(d);
	int rc = ms_sql_int(d, "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid = ?"
	                    " AND (messagefilename LIKE '%/%' OR messagefilename LIKE ? ESCAPE '!')",
	                    PARAMS(P_INT(account_id), P_TEXT("%\\%")), n, e);
	ms_sql_scan_end(d);
	return rc < 0 ? -1 : 0;
}

typedef struct named_ctx {
	const char *name;
	bool found;
} named_ctx;

static int same_base_row(void *c, db_stmt *st)
{
	named_ctx *x = c;
	const char *f = db_column_text(st, 0);
	x->found |= f && strcasecmp(ms_layout_base_name(f), x->name) == 0;
	return 0;
}

int ms_messages_account_names(db *d, int64_t account_id, const char *name, ms_err *e)
{
	uint8_t g[16];
	bool guid = ms_guid_name_parse(name, g);
	assert(guid); /* so no LIKE wildcard or escape can be in it */
	(void)guid;
	char pattern[MS_GUID_NAME_LEN + 2] = "%";
	for (size_t i = 0; i < MS_GUID_NAME_LEN; i++)
		pattern[i + 1] = (char)tolower((unsigned char)name[i]);
	named_ctx x = { .name = name };
	/* LOWER on both sides: the three databases compare LIKE with different
	 * case rules, and a row spelt in another case still names the file */
	if (ms_sql_each(d, "SELECT messagefilename FROM hm_messages WHERE messageaccountid = ? AND"
	                " LOWER(messagefilename) LIKE ?", PARAMS(P_INT(account_id), P_TEXT(pattern)),
	                same_base_row, &x, e) < 0)
		return -1;
	return x.found ? 1 : 0;
}

int ms_messages_set_filename(db *d, int64_t id, const char *filename, ms_err *e)
{
	return ms_sql_exec(d, "UPDATE hm_messages SET messagefilename = ? WHERE messageid = ?",
	                   PARAMS(P_TEXT(filename), P_INT(id)), NULL, e);
}

int ms_messages_set_size(db *d, int64_t id, int64_t size, ms_err *e)
{
	return ms_sql_exec(d, "UPDATE hm_messages SET messagesize = ? WHERE messageid = ?", PARAMS(P_INT(size), P_INT(id)),
	                   NULL, e);
}

int ms_messages_set_uid(db *d, int64_t id, int64_t uid, ms_err *e)
{
	return ms_sql_exec(d, "UPDATE hm_messages SET messageuid = ? WHERE messageid = ?", PARAMS(P_INT(uid), P_INT(id)),
	                   NULL, e);
}

int ms_messages_size_folder(db *d, int64_t id, int64_t *size, int64_t *folder, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(d, "SELECT messagesize, messagefolderid FROM hm_messages WHERE messageid = ?", PARAMS(P_INT(id)),
	                   &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW) {
		*size = db_column_int64(st, 0);
		*folder = db_column_int64(st, 1);
	}
	db_finalize(st);
	return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

int ms_messages_refile(db *d, int64_t id, int64_t account_id, int64_t folder, int64_t uid, int64_t *changed,
                       ms_err *e)
{
	if (ms_sql_exec(d, "UPDATE hm_messages SET messagefolderid = ?, messageuid = ? WHERE messageid = ?"
	                " AND messageaccountid = ? AND NOT EXISTS (SELECT 1 FROM hm_imapfolders f WHERE"
	                " f.folderid = hm_messages.messagefolderid AND f.folderaccountid = hm_messages.messageaccountid)",
	                PARAMS(P_INT(folder), P_INT(uid), P_INT(id), P_INT(account_id)), changed, e) < 0)
		return -1;
	if (!*changed)
		return 0;
	return ms_sql_exec(d, "UPDATE hm_message_metadata SET metadata_folderid = ? WHERE metadata_messageid = ?",
	                   PARAMS(P_INT(folder), P_INT(id)), NULL, e);
}

int ms_messages_folder_uids(db *d, int64_t folder, ms_uid_row **out, size_t *n, ms_err *e)
{
	db_stmt *st;
	MS_VEC(ms_uid_row) v = { 0 };
	*out = NULL;
	*n = 0;
	if (ms_sql_prepare(d, "SELECT messageid, messageuid FROM hm_messages WHERE messagefolderid = ?"
	                   " AND messagetype = 2 ORDER BY messageuid, messageid", PARAMS(P_INT(folder)), &st, e) < 0)
		return -1;
	int rc;
	while ((rc = db_step(st, e)) == DB_ROW)
		if (ms_vec_push(&v, ((ms_uid_row){ db_column_int64(st, 0), db_column_int64(st, 1) })) < 0) {
			rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
			break;
		}
	db_finalize(st);
	if (rc == DB_ERROR) {
		ms_vec_free(&v);
		return -1;
	}
	*out = v.v;
	*n = v.n;
	return 0;
}

int ms_messages_delete(db *d, int64_t id, ms_err *e)
{
	if (ms_sql_exec(d, "DELETE FROM hm_messagerecipients WHERE recipientmessageid = ?", PARAMS(P_INT(id)), NULL, e) < 0 ||
	    ms_sql_exec(d, "DELETE FROM hm_message_metadata WHERE metadata_messageid = ?", PARAMS(P_INT(id)), NULL, e) < 0 ||
	    ms_sql_exec(d, "DELETE FROM hm_messages WHERE messageid = ?", PARAMS(P_INT(id)), NULL, e) < 0)
		return -1;
	return 0;
}

int ms_recipient_delete_orphan(db *d, int64_t recipient_id, ms_err *e)
{
	return ms_sql_exec(d, "DELETE FROM hm_messagerecipients WHERE recipientid = ? AND NOT EXISTS"
	                   " (SELECT 1 FROM hm_messages m WHERE m.messageid = hm_messagerecipients.recipientmessageid)",
	                   PARAMS(P_INT(recipient_id)), NULL, e);
}

int ms_metadata_delete_orphan(db *d, int64_t metadata_id, ms_err *e)
{
	return ms_sql_exec(d, "DELETE FROM hm_message_metadata WHERE metadata_id = ? AND NOT EXISTS"
	                   " (SELECT 1 FROM hm_messages m WHERE m.messageid = hm_message_metadata.metadata_messageid)",
	                   PARAMS(P_INT(metadata_id)), NULL, e);
}

int ms_messages_unlock_queued(db *d, int64_t id, int64_t *changed, ms_err *e)
{
	return ms_sql_exec(d, "UPDATE hm_messages SET messagelocked = 0 WHERE messageid = ? AND messagelocked = 1",
	                   PARAMS(P_INT(id)), changed, e);
}

int ms_queue_lock(db *d, ms_err *e)
{
	switch (db_get_dialect(d)) {
	case DB_PGSQL: {
		int64_t ignored;
		/* a fixed key: "mstore sync queue" */
		return ms_sql_int(d, "SELECT 1 FROM (SELECT pg_advisory_xact_lock(7283650017)) AS l", NO_PARAMS, &ignored,
		                  e) < 0 ? -1 : 0;
	}
	case DB_MYSQL: {
		int64_t got = 0;
		if (ms_sql_int(d, "SELECT GET_LOCK('mstore-sync-queue', 120)", NO_PARAMS, &got, e) < 0)
			return -1;
		return got == 1 ? 0 : ms_err_set(e, MS_E_DB, "%s: another process holds the queue lock", db_name(d));
	}
	case DB_SQLITE:
		return 0; /* BEGIN IMMEDIATE took the database's write lock */
	}
	return 0;
}

void ms_queue_unlock(db *d)
{
	if (db_get_dialect(d) == DB_MYSQL) {
		int64_t ignored;
		ms_err e;
		ms_sql_int(d, "SELECT RELEASE_LOCK('mstore-sync-queue')", NO_PARAMS, &ignored, &e);
	}
}

int ms_messages_max_id(db *d, int64_t *id, ms_err *e)
{
	*id = 0;
	return ms_sql_int(d, "SELECT COALESCE(MAX(messageid), 0) FROM hm_messages", NO_PARAMS, id, e) < 0 ? -1 : 0;
}

int ms_messages_count(db *d, int64_t *n, ms_err *e)
{
	*n = 0;
	return ms_sql_int(d, "SELECT COUNT(*) FROM hm_messages", NO_PARAMS, n, e) < 0 ? -1 : 0;
}

int ms_messages_page_open(db *d, db_stmt **st, ms_err *e)
{
	return db_prepare(d, "SELECT messageid, messageaccountid, messagefolderid, messagefilename, messagetype,"
	                  " messagesize, messageuid FROM hm_messages WHERE messageid > ? ORDER BY messageid LIMIT 20000",
	                  st, e);
}

int ms_messages_page_start(db_stmt *st, int64_t after_id, ms_err *e)
{
	return db_reset(st, e) < 0 || db_bind_int64(st, 1, after_id, e) < 0 ? -1 : 0;
}

int ms_messages_page_next(db_stmt *st, ms_message_info *m, ms_err *e)
{
	int rc = db_step(st, e);
	if (rc != DB_ROW)
		return rc;
	const char *fn = db_column_text(st, 3);
	*m = (ms_message_info){ .id = db_column_int64(st, 0), .account_id = db_column_int64(st, 1),
	                        .folder_id = db_column_int64(st, 2), .filename = fn ? fn : "",
	                        .type = db_column_int64(st, 4), .size = db_column_int64(st, 5),
	                        .uid = db_column_int64(st, 6) };
	return DB_ROW;
}

typedef struct row3_ctx {
	ms_row_fn fn;
	void *ctx;
} row3_ctx;

static int row3(void *c, db_stmt *st)
{
	const row3_ctx *r = c;
	const char *text = db_column_text(st, 1);
	return r->fn(r->ctx, db_column_int64(st, 0), text ? text : "", db_column_int64(st, 2));
}

/* Run `sql` with the cutoff bound `nbind` (0..2) times; fn gets columns 0..2. */
static int each_row(db *d, const char *sql, const char *cutoff, int nbind, ms_row_fn fn, void *ctx, ms_err *e)
{
	assert(nbind >= 0 && nbind <= 2);
	ms_param p[2] = { P_TEXT(cutoff), P_TEXT(cutoff) };
	row3_ctx r = { fn, ctx };
	return ms_sql_each(d, sql, p, (size_t)nbind, row3, &r, e);
}

int ms_recipients_each_orphan(db *d, ms_row_fn fn, void *ctx, ms_err *e)
{
	return each_row(d, "SELECT r.recipientid, r.recipientaddress, r.recipientmessageid FROM hm_messagerecipients r"
	                " WHERE NOT EXISTS (SELECT 1 FROM hm_messages m WHERE m.messageid = r.recipientmessageid)",
	                NULL, 0, fn, ctx, e);
}

int ms_metadata_each_orphan(db *d, ms_row_fn fn, void *ctx, ms_err *e)
{
	return each_row(d, "SELECT d.metadata_id, d.metadata_subject, d.metadata_messageid FROM hm_message_metadata d"
	                " WHERE NOT EXISTS (SELECT 1 FROM hm_messages m WHERE m.messageid = d.metadata_messageid)",
	                NULL, 0, fn, ctx, e);
}

int ms_queue_each_without_recipients(db *d, const char *cutoff, ms_row_fn fn, void *ctx, ms_err *e)
{
	return each_row(d, "SELECT m.messageid, m.messagefilename, m.messageaccountid FROM hm_messages m"
	                " WHERE m.messagetype = 1 AND m.messagelocked = 0 AND m.messagecreatetime < ? AND NOT EXISTS"
	                " (SELECT 1 FROM hm_messagerecipients r WHERE r.recipientmessageid = m.messageid)",
	                cutoff, 1, fn, ctx, e);
}

int ms_queue_each_stale_lock(db *d, const char *cutoff, ms_row_fn fn, void *ctx, ms_err *e)
{
	return each_row(d, "SELECT messageid, messagefilename, messageaccountid FROM hm_messages WHERE messagetype = 1"
	                " AND messagelocked = 1 AND messagecreatetime < ? AND messagenexttrytime < ?",
	                cutoff, 2, fn, ctx, e);
}

typedef struct delivered_ctx {
	int (*fn)(void *ctx, const char *filename, const char *address, int64_t folder, int64_t flags,
	          const char *created);
	void *ctx;
} delivered_ctx;

static int delivered_row(void *c, db_stmt *st)
{
	const delivered_ctx *x = c;
	return x->fn(x->ctx, db_column_text(st, 0), db_column_text(st, 1), db_column_int64(st, 2), db_column_int64(st, 3),
	             db_column_text(st, 4));
}

int ms_messages_each_delivered(db *d,
                               int (*fn)(void *ctx, const char *filename, const char *address, int64_t folder,
                                         int64_t flags, const char *created),
                               void *ctx, ms_err *e)
{
	delivered_ctx x = { fn, ctx };
	return ms_sql_each(d, "SELECT m.messagefilename, a.accountaddress, m.messagefolderid, m.messageflags,"
	                   " m.messagecreatetime FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid"
	                   " WHERE m.messagetype = 2", NO_PARAMS, delivered_row, &x, e);
}

static char *dup_text(db_stmt *st, int col, bool *oom)
{
	const char *t = db_column_text(st, col);
	char *c = strdup(t ? t : "");
	*oom |= !c;
	return c;
}

int ms_messages_get(db *d, int64_t id, ms_message_rec *out, ms_err *e)
{
	db_stmt *st;
	*out = (ms_message_rec){ .id = id };
	if (ms_sql_prepare(d, "SELECT messageaccountid, messagefolderid, messagefilename, messagetype, messagesize,"
	                   " messageuid, messageflags, messagecreatetime, messagefrom FROM hm_messages WHERE messageid = ?",
	                   PARAMS(P_INT(id)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	bool oom = false;
	if (rc == DB_ROW) {
		*out = (ms_message_rec){ .id = id, .account_id = db_column_int64(st, 0), .folder_id = db_column_int64(st, 1),
		                         .filename = dup_text(st, 2, &oom), .type = db_column_int64(st, 3),
		                         .size = db_column_int64(st, 4), .uid = db_column_int64(st, 5),
		                         .flags = db_column_int64(st, 6), .created = dup_text(st, 7, &oom),
		                         .from = dup_text(st, 8, &oom) };
	}
	db_finalize(st);
	if (oom) {
		ms_message_rec_free(out);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

void ms_message_rec_free(ms_message_rec *r)
{
	free(r->filename);
	free(r->created);
	free(r->from);
	r->filename = r->created = r->from = NULL;
}
