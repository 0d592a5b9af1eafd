/* quota.c - see quota.h. */
#include "store/quota.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db/txn.h"
#include "store/layout.h"
#include "store/msgfile.h"
#include "util/hashtab.h"
#include "util/vec.h"

#include "store/sql.h"

int64_t ms_quota_limit_bytes(int64_t limit_mb)
{
	if (limit_mb <= 0)
		return 0;
	if (limit_mb > INT64_MAX / (1024 * 1024))
		return INT64_MAX;
	return limit_mb * 1024 * 1024;
}

bool ms_quota_over(int64_t bytes, int64_t limit_mb)
{
	int64_t limit = ms_quota_limit_bytes(limit_mb);
	return limit > 0 && bytes > limit;
}

int ms_quota_percent(int64_t bytes, int64_t limit_mb)
{
	int64_t limit = ms_quota_limit_bytes(limit_mb);
	if (limit <= 0)
		return -1;
	/* bytes * 100 overflows only past 92 PB: compare instead of multiplying there */
	int64_t p = bytes > INT64_MAX / 100 ? bytes / limit * 100 : bytes * 100 / limit;
	return p > INT_MAX ? INT_MAX : (int)p;
}

typedef struct group_ctx {
	int (*fn)(void *ctx, int64_t id, ms_usage u);
	void *ctx;
} group_ctx;

static int group_row(void *c, db_stmt *st)
{
	const group_ctx *g = c;
	return g->fn(g->ctx, db_column_int64(st, 0), (ms_usage){ db_column_int64(st, 1), db_column_int64(st, 2) });
}

static int each_group(db *d, const char *sql, int (*fn)(void *ctx, int64_t id, ms_usage u), void *ctx, ms_err *e)
{
	group_ctx g = { fn, ctx };
	return ms_sql_each(d, sql, NO_PARAMS, group_row, &g, e);
}

/* ---- SQLite: one scan, grouped here ---------------------------------------------- *
 *
 * On SQLite a GROUP BY over hm_messages costs twice a SUM: the planner
 * takes idx_hm_messages_type (every account message has type 2, so the
 * index selects everything and each row is then fetched by rowid) and
 * sorts the groups in a temporary B-tree.  One sequential scan of the
 * two columns, summed in a small hash table keyed by the group's id,
 * costs what the SUM costs (bench/admin.sh).  The unary + keeps the
 * planner off the type index.  The servers group on their side: there
 * the rows would cross the wire. */

typedef struct group_slot {
	int64_t id;
	ms_usage u; /* u.messages >= 1 in an occupied slot: no occupied slot is all zero */
} group_slot;

static uint64_t slot_hash(const void *slot, const void *ctx)
{
	(void)ctx;
	return ms_hash_mix((uint64_t)((const group_slot *)slot)->id);
}

static int add_to_group(ms_hashtab *t, int64_t id, int64_t size)
{
	uint64_t h = ms_hash_mix((uint64_t)id);
	if (t->cap == 0 && ms_hashtab_reserve(t, 1, sizeof(group_slot), 64, slot_hash, NULL) < 0)
		return -1;
	for (size_t j = ms_hashtab_first(t, h);; j = ms_hashtab_next(t, j)) {
		group_slot *s = ms_hashtab_at(t, sizeof *s, j);
		if (s->u.messages == 0)
			break;
		if (s->id == id) {
			s->u.messages++;
			s->u.bytes += size;
			return 0;
		}
	}
	if (ms_hashtab_reserve(t, t->n + 1, sizeof(group_slot), 64, slot_hash, NULL) < 0)
		return -1;
	group_slot *s = ms_hashtab_free_slot(t, sizeof *s, h);
	*s = (group_slot){ id, { 1, size } };
	t->n++;
	return 0;
}

typedef struct scan_ctx {
	ms_hashtab t;
	bool oom;
} scan_ctx;

static int scan_row(void *c, db_stmt *st)
{
	scan_ctx *sc = c;
	if (add_to_group(&sc->t, db_column_int64(st, 0), db_column_int64(st, 1)) < 0) {
		sc->oom = true;
		return -1;
	}
	return 0;
}

static int each_group_scanned(db *d, const char *column, int (*fn)(void *ctx, int64_t id, ms_usage u), void *ctx,
                              ms_err *e)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT %s, messagesize FROM hm_messages WHERE +messagetype = 2", column);
	scan_ctx sc = { { 0 }, false };
	ms_sql_scan_begin(d);
	int rc = ms_sql_each(d, sql, NO_PARAMS, scan_row, &sc, e);
	ms_sql_scan_end(d);
	if (rc < 0 && sc.oom && !e->code)
		ms_err_set(e, MS_E_NOMEM, "out of memory grouping hm_messages by %s", column);
	for (size_t j = 0; rc == 0 && j < sc.t.cap; j++) {
		const group_slot *s = ms_hashtab_at(&sc.t, sizeof *s, j);
		if (s->u.messages > 0)
			rc = fn(ctx, s->id, s->u);
	}
	ms_hashtab_free(&sc.t);
	return rc;
}

int ms_quota_each_account(db *d, int (*fn)(void *ctx, int64_t account_id, ms_usage u), void *ctx, ms_err *e)
{
	if (db_get_dialect(d) == DB_SQLITE)
		return each_group_scanned(d, "messageaccountid", fn, ctx, e);
	return each_group(d, "SELECT messageaccountid, COUNT(*), COALESCE(SUM(messagesize), 0) FROM hm_messages"
	                  " WHERE messagetype = 2 GROUP BY messageaccountid", fn, ctx, e);
}

int ms_quota_each_folder(db *d, int (*fn)(void *ctx, int64_t folder_id, ms_usage u), void *ctx, ms_err *e)
{
	if (db_get_dialect(d) == DB_SQLITE)
		return each_group_scanned(d, "messagefolderid", fn, ctx, e);
	return each_group(d, "SELECT messagefolderid, COUNT(*), COALESCE(SUM(messagesize), 0) FROM hm_messages"
	                  " WHERE messagetype = 2 GROUP BY messagefolderid", fn, ctx, e);
}

int ms_quota_domain(db *d, int64_t domain_id, ms_usage *u, ms_err *e)
{
	db_stmt *st;
	*u = (ms_usage){ 0 };
	if (ms_sql_prepare(d, "SELECT COUNT(*), COALESCE(SUM(m.messagesize), 0) FROM hm_messages m JOIN hm_accounts a"
	                   " ON a.accountid = m.messageaccountid WHERE m.messagetype = 2 AND a.accountdomainid = ?",
	                   PARAMS(P_INT(domain_id)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW)
		*u = (ms_usage){ db_column_int64(st, 0), db_column_int64(st, 1) };
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

int ms_quota_account(db *d, int64_t account_id, ms_usage *u, ms_err *e)
{
	db_stmt *st;
	*u = (ms_usage){ 0 };
	if (ms_sql_prepare(d, "SELECT COUNT(*), COALESCE(SUM(messagesize), 0) FROM hm_messages"
	                   " WHERE messagetype = 2 AND messageaccountid = ?", PARAMS(P_INT(account_id)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW)
		*u = (ms_usage){ db_column_int64(st, 0), db_column_int64(st, 1) };
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

int ms_quota_domain_limits(db *d, int64_t domain_id, ms_domain_limits *out, ms_err *e)
{
	db_stmt *st;
	*out = (ms_domain_limits){ 0 };
	if (ms_sql_prepare(d, "SELECT domainmaxsize, domainmaxaccountsize, domainmaxmessagesize FROM hm_domains"
	                   " WHERE domainid = ?", PARAMS(P_INT(domain_id)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW)
		*out = (ms_domain_limits){ db_column_int64(st, 0), db_column_int64(st, 1), db_column_int64(st, 2) };
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

/* ---- recalculate ---------------------------------------------------------------- */

typedef struct size_row {
	int64_t id, folder, size;
	char *filename;
} size_row;

typedef MS_VEC(size_row) size_rows;

static int read_size_row(void *c, db_stmt *st)
{
	size_rows *v = c;
	size_row r = { db_column_int64(st, 0), db_column_int64(st, 1), db_column_int64(st, 2),
	               strdup(db_column_text(st, 3)) };
	if (!r.filename || ms_vec_push(v, r) < 0) {
		free(r.filename);
		return -1;
	}
	return 0;
}

static void size_rows_free(size_rows *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i].filename);
	ms_vec_free(v);
}

/* Set the sizes that differ, each only while the row still has the size
 * read (a concurrent change wins). */
static int apply_fixes(db *d, const size_rows *v, const int64_t *disk, ms_err *e)
{
	db_txn *t;
	if (db_txn_begin(d, &t, e) < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		if (disk[i] >= 0 && disk[i] != v->v[i].size &&
		    ms_sql_exec(db_txn_db(t), "UPDATE hm_messages SET messagesize = ? WHERE messageid = ? AND messagesize = ?",
		                PARAMS(P_INT(disk[i]), P_INT(v->v[i].id), P_INT(v->v[i].size)), NULL, e) < 0) {
			db_txn_rollback(&t);
			return -1;
		}
	return db_txn_commit(&t, e);
}

int ms_quota_recalculate(db *d, int root_fd, const char *owner, int64_t account_id, bool dry_run,
                         int (*fn)(void *ctx, const ms_quota_fix *f), void *ctx, int64_t *missing, ms_err *e)
{
	size_rows v = { 0 };
	if (ms_sql_each(d, "SELECT messageid, messagefolderid, messagesize, messagefilename FROM hm_messages"
	                " WHERE messagetype = 2 AND messageaccountid = ? ORDER BY messageid", PARAMS(P_INT(account_id)),
	                read_size_row, &v, e) < 0) {
		size_rows_free(&v);
		return e->code ? -1 : ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	int64_t *disk = calloc(v.n ? v.n : 1, sizeof *disk);
	int rc = disk ? 0 : ms_err_set(e, MS_E_NOMEM, "out of memory");
	bool any = false;
	for (size_t i = 0; rc == 0 && i < v.n; i++) {
		struct stat st;
		disk[i] = -1;
		if (ms_msgfile_stat(root_fd, owner, ms_layout_base_name(v.v[i].filename), false, &st) < 0 ||
		    !S_ISREG(st.st_mode)) {
			(*missing)++;
			continue;
		}
		disk[i] = (int64_t)st.st_size;
		if (disk[i] == v.v[i].size)
			continue;
		any = true;
		ms_quota_fix f = { v.v[i].id, v.v[i].folder, v.v[i].filename, v.v[i].size, disk[i] };
		rc = fn(ctx, &f);
	}
	if (rc == 0 && any && !dry_run)
		rc = apply_fixes(d, &v, disk, e);
	free(disk);
	size_rows_free(&v);
	return rc;
}

/* ---- notify state --------------------------------------------------------------- */

static void setting_name(int64_t account_id, char out[32])
{
	snprintf(out, 32, "mstore.quotanotify.%lld", (long long)account_id);
}

int ms_quota_notified_get(db *d, int64_t account_id, int64_t *when, ms_err *e)
{
	char name[32];
	db_stmt *st;
	setting_name(account_id, name);
	if (ms_sql_prepare(d, "SELECT settingstring FROM hm_settings WHERE settingname = ?", PARAMS(P_TEXT(name)), &st,
	                   e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW)
		*when = strtoll(db_column_text(st, 0), NULL, 10);
	db_finalize(st);
	return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

int ms_quota_notified_set(db *d, int64_t account_id, int64_t when, ms_err *e)
{
	char name[32], value[32];
	int64_t old, id;
	setting_name(account_id, name);
	snprintf(value, sizeof value, "%lld", (long long)when);
	/* not "UPDATE, then INSERT when nothing changed": MariaDB counts a row
	 * set to the value it has as unchanged */
	int rc = ms_quota_notified_get(d, account_id, &old, e);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return ms_sql_exec(d, "UPDATE hm_settings SET settingstring = ? WHERE settingname = ?",
		                   PARAMS(P_TEXT(value), P_TEXT(name)), NULL, e);
	return ms_sql_insert(d, "INSERT INTO hm_settings (settingname, settingstring, settinginteger) VALUES (?, ?, 0)",
	                     "settingid", PARAMS(P_TEXT(name), P_TEXT(value)), &id, e);
}
