/* db_sqlite.c - the SQLite driver (libsqlite3).
 *
 * Databases are opened in WAL mode, so readers (hMailServer, another mstore)
 * never wait for a writer, with a 30 s busy timeout for writers waiting on
 * each other.  Transactions start with BEGIN IMMEDIATE: taking the write
 * lock up front means two writers queue on the busy timeout instead of one
 * failing with "database is locked" when it upgrades from reading. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db/db_internal.h"

#define BUSY_TIMEOUT_MS 30000

/* MSTORE_SQLITE_BUSY_MS shortens the wait for a locked database: a test
 * hook (and an escape hatch for scripts that would rather fail fast). */
static int busy_timeout_ms(void)
{
	const char *v = getenv("MSTORE_SQLITE_BUSY_MS");
	long ms = v && *v ? strtol(v, NULL, 10) : BUSY_TIMEOUT_MS;
	return ms >= 0 && ms <= 3600000 ? (int)ms : BUSY_TIMEOUT_MS;
}

static sqlite3 *conn_of(db *d)
{
	return d->conn;
}

static sqlite3_stmt *stmt_of(db_stmt *s)
{
	return s->impl;
}

/* The cause of the last failure on the connection, with the system error
 * behind it when there is one ("unable to open database file: Permission
 * denied"). */
static void last_cause(sqlite3 *c, char *buf, size_t len)
{
	int sys = sqlite3_system_errno(c);
	if (sys != 0 && (sqlite3_errcode(c) == SQLITE_CANTOPEN || sqlite3_errcode(c) == SQLITE_IOERR))
		snprintf(buf, len, "%s (%s)", sqlite3_errmsg(c), strerror(sys));
	else
		snprintf(buf, len, "%s", sqlite3_errmsg(c));
}

static int fail_sql(db *d, const char *sql, ms_err *e)
{
	char cause[1024];
	last_cause(conn_of(d), cause, sizeof cause);
	return db_fail_sql(d, sql, e, "%s", cause);
}

static int exec(db *d, const char *sql, ms_err *e)
{
	if (sqlite3_exec(conn_of(d), sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail_sql(d, sql, e);
	return 0;
}

/* A missing file is an error unless the caller creates stores (mstore
 * init): a typo in a path must not silently create an empty store. */
static int check_exists(db *d, bool create, ms_err *e)
{
	struct stat st;
	if (create || stat(d->url.path, &st) == 0 || errno != ENOENT)
		return 0;
	return db_fail(d, e, MS_E_DB, "no such database file (mstore init creates a new store)");
}

static int configure(db *d, ms_err *e)
{
	sqlite3 *c = conn_of(d);
	sqlite3_busy_timeout(c, busy_timeout_ms());
	sqlite3_extended_result_codes(c, 1);
	/* A read-only file keeps its journal mode; reading it still works. */
	if (sqlite3_exec(c, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK &&
	    (sqlite3_errcode(c) & 0xff) != SQLITE_READONLY)
		return fail_sql(d, "PRAGMA journal_mode=WAL", e);
	return 0;
}

static int open_db(db *d, const char *password, bool create, ms_err *e)
{
	(void)password; /* SQLite has none */
	if (check_exists(d, create, e) < 0)
		return -1;
	sqlite3 *c = NULL;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(d->url.path, &c, flags, NULL);
	d->conn = c;
	if (rc != SQLITE_OK) {
		char cause[1024];
		if (c)
			last_cause(c, cause, sizeof cause);
		else
			snprintf(cause, sizeof cause, "out of memory");
		sqlite3_close(c);
		return db_fail(d, e, MS_E_DB, "cannot open: %s", cause);
	}
	if (configure(d, e) < 0) {
		sqlite3_close(c);
		return -1;
	}
	return 0;
}

static void close_db(db *d)
{
	sqlite3_close(conn_of(d));
}

static int commit(db *d, ms_err *e)
{
	return exec(d, "COMMIT", e);
}

/* Whether only blanks and semicolons follow the first statement. */
static bool only_one_statement(const char *tail)
{
	return tail[strspn(tail, " \t\r\n;")] == '\0';
}

static int prepare(db_stmt *s, ms_err *e)
{
	char *returning = NULL;
	const char *sql = s->sql;
	if (s->pk) {
		/* RETURNING gives the identity even when the column is not the
		 * rowid (a table with a BIGINT key). */
		if (!(returning = db_sql_with_returning(s->sql, s->pk)))
			return db_fail_sql(s->d, s->sql, e, "out of memory");
		sql = returning;
	}
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc = sqlite3_prepare_v3(conn_of(s->d), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail);
	bool single = rc == SQLITE_OK && st && only_one_statement(tail);
	free(returning);
	if (rc != SQLITE_OK)
		return fail_sql(s->d, s->sql, e);
	if (!single) {
		sqlite3_finalize(st);
		return db_fail_sql(s->d, s->sql, e, "not exactly one statement (use db_exec for scripts)");
	}
	s->impl = st;
	s->nparams = sqlite3_bind_parameter_count(st);
	return 0;
}

static int bind_result(db_stmt *s, int rc, ms_err *e)
{
	return rc == SQLITE_OK ? 0 : fail_sql(s->d, s->sql, e);
}

static int bind_int64(db_stmt *s, int idx, int64_t v, ms_err *e)
{
	return bind_result(s, sqlite3_bind_int64(stmt_of(s), idx, v), e);
}

static int bind_text(db_stmt *s, int idx, const char *v, ms_err *e)
{
	return bind_result(s, sqlite3_bind_text(stmt_of(s), idx, v, -1, SQLITE_TRANSIENT), e);
}

static int bind_null(db_stmt *s, int idx, ms_err *e)
{
	return bind_result(s, sqlite3_bind_null(stmt_of(s), idx), e);
}

/* An insert's RETURNING row is not a result for the caller: it becomes
 * db_insert_id, and the statement runs on to its end. */
static int step(db_stmt *s, ms_err *e)
{
	sqlite3_stmt *st = stmt_of(s);
	int rc = sqlite3_step(st);
	while (rc == SQLITE_ROW && s->pk) {
		s->insert_id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE) {
		/* the connection's count belongs to the last write, perhaps
		 * another statement's */
		if (!sqlite3_stmt_readonly(st))
			s->changes = sqlite3_changes64(conn_of(s->d));
		return DB_DONE;
	}
	fail_sql(s->d, s->sql, e);
	return DB_ERROR;
}

static int column_count(db_stmt *s)
{
	return sqlite3_data_count(stmt_of(s));
}

static bool column_is_null(db_stmt *s, int col)
{
	return sqlite3_column_type(stmt_of(s), col) == SQLITE_NULL;
}

static int64_t column_int64(db_stmt *s, int col)
{
	return sqlite3_column_int64(stmt_of(s), col);
}

static const char *column_text(db_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(stmt_of(s), col);
}

static int reset(db_stmt *s, ms_err *e)
{
	/* sqlite3_reset repeats the last step's error, which was reported
	 * then; the statement is reusable either way. */
	(void)e;
	sqlite3_reset(stmt_of(s));
	return 0;
}

static void clear_bindings(db_stmt *s)
{
	sqlite3_clear_bindings(stmt_of(s));
}

static void finalize(db_stmt *s)
{
	sqlite3_finalize(stmt_of(s));
}

const db_ops db_sqlite_ops = {
	.open = open_db,
	.close = close_db,
	.exec = exec,
	.begin_sql = "BEGIN IMMEDIATE",
	.commit = commit,
	.prepare = prepare,
	.bind_int64 = bind_int64,
	.bind_text = bind_text,
	.bind_null = bind_null,
	.step = step,
	.column_count = column_count,
	.column_is_null = column_is_null,
	.column_int64 = column_int64,
	.column_text = column_text,
	.reset = reset,
	.clear_bindings = clear_bindings,
	.finalize = finalize,
};
