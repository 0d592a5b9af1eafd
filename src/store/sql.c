#include "store/sql.h"

#include <time.h>

int ms_sql_bind(db_stmt *st, const ms_param *p, size_t n, ms_err *e)
{
	for (size_t i = 0; i < n; i++) {
		int rc = p[i].type == MS_P_INT ? db_bind_int64(st, (int)i + 1, p[i].i, e)
		                               : db_bind_text(st, (int)i + 1, p[i].s, e);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int ms_sql_prepare(db *d, const char *sql, const ms_param *p, size_t n, db_stmt **out, ms_err *e)
{
	if (db_prepare(d, sql, out, e) < 0)
		return -1;
	if (ms_sql_bind(*out, p, n, e) < 0) {
		db_finalize(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int ms_sql_exec(db *d, const char *sql, const ms_param *p, size_t n, int64_t *changes, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(d, sql, p, n, &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc != DB_ERROR && changes)
		*changes = db_changes(st);
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

int ms_sql_insert(db *d, const char *sql, const char *pk, const ms_param *p, size_t n, int64_t *id, ms_err *e)
{
	db_stmt *st;
	if (db_prepare_insert(d, sql, pk, &st, e) < 0)
		return -1;
	if (ms_sql_bind(st, p, n, e) < 0) {
		db_finalize(st);
		return -1;
	}
	int rc = db_step(st, e);
	if (rc != DB_ERROR && id)
		*id = db_insert_id(st);
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

int ms_sql_each(db *d, const char *sql, const ms_param *p, size_t n, int (*fn)(void *ctx, db_stmt *row), void *ctx,
                ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(d, sql, p, n, &st, e) < 0)
		return -1;
	int rc;
	while ((rc = db_step(st, e)) == DB_ROW)
		if (fn(ctx, st) < 0) {
			rc = DB_ERROR;
			break;
		}
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

int ms_sql_int(db *d, const char *sql, const ms_param *p, size_t n, int64_t *out, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(d, sql, p, n, &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW)
		*out = db_column_int64(st, 0);
	db_finalize(st);
	return rc == DB_ERROR ? -1 : (rc == DB_ROW ? 1 : 0);
}

void ms_sql_time(time_t t, char buf[32])
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

void ms_sql_now(char buf[32])
{
	ms_sql_time(time(NULL), buf);
}

void ms_sql_scan_begin(db *d)
{
	ms_err ignored = { 0 }; /* a hint: without it the scan reads as usual */
	if (db_get_dialect(d) == DB_SQLITE)
		(void)ms_sql_exec(d, "PRAGMA mmap_size = 1073741824", NO_PARAMS, NULL, &ignored);
}

void ms_sql_scan_end(db *d)
{
	ms_err ignored = { 0 };
	if (db_get_dialect(d) == DB_SQLITE)
		(void)ms_sql_exec(d, "PRAGMA mmap_size = 0", NO_PARAMS, NULL, &ignored);
}
