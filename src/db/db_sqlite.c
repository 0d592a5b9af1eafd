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
#include <sys/statvfs.h>

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

/* Names of the result codes a store meets; others are shown by number. */
static const struct {
	int code;
	const char *name;
} code_names[] = {
	{ SQLITE_ERROR, "SQLITE_ERROR" },
	{ SQLITE_PERM, "SQLITE_PERM" },
	{ SQLITE_ABORT, "SQLITE_ABORT" },
	{ SQLITE_BUSY, "SQLITE_BUSY" },
	{ SQLITE_BUSY_SNAPSHOT, "SQLITE_BUSY_SNAPSHOT" },
	{ SQLITE_LOCKED, "SQLITE_LOCKED" },
	{ SQLITE_NOMEM, "SQLITE_NOMEM" },
	{ SQLITE_READONLY, "SQLITE_READONLY" },
	{ SQLITE_READONLY_DBMOVED, "SQLITE_READONLY_DBMOVED" },
	{ SQLITE_READONLY_CANTINIT, "SQLITE_READONLY_CANTINIT" },
	{ SQLITE_IOERR, "SQLITE_IOERR" },
	{ SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE" },
	{ SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC" },
	{ SQLITE_IOERR_SHMOPEN, "SQLITE_IOERR_SHMOPEN" },
	{ SQLITE_IOERR_SHMSIZE, "SQLITE_IOERR_SHMSIZE" },
	{ SQLITE_CORRUPT, "SQLITE_CORRUPT" },
	{ SQLITE_FULL, "SQLITE_FULL" },
	{ SQLITE_CANTOPEN, "SQLITE_CANTOPEN" },
	{ SQLITE_SCHEMA, "SQLITE_SCHEMA" },
	{ SQLITE_TOOBIG, "SQLITE_TOOBIG" },
	{ SQLITE_CONSTRAINT, "SQLITE_CONSTRAINT" },
	{ SQLITE_CONSTRAINT_CHECK, "SQLITE_CONSTRAINT_CHECK" },
	{ SQLITE_CONSTRAINT_FOREIGNKEY, "SQLITE_CONSTRAINT_FOREIGNKEY" },
	{ SQLITE_CONSTRAINT_NOTNULL, "SQLITE_CONSTRAINT_NOTNULL" },
	{ SQLITE_CONSTRAINT_PRIMARYKEY, "SQLITE_CONSTRAINT_PRIMARYKEY" },
	{ SQLITE_CONSTRAINT_TRIGGER, "SQLITE_CONSTRAINT_TRIGGER" },
	{ SQLITE_CONSTRAINT_UNIQUE, "SQLITE_CONSTRAINT_UNIQUE" },
	{ SQLITE_MISMATCH, "SQLITE_MISMATCH" },
	{ SQLITE_MISUSE, "SQLITE_MISUSE" },
	{ SQLITE_RANGE, "SQLITE_RANGE" },
	{ SQLITE_NOTADB, "SQLITE_NOTADB" },
};

static const char *code_name(int code)
{
	for (size_t i = 0; i < sizeof code_names / sizeof code_names[0]; i++)
		if (code_names[i].code == code)
			return code_names[i].name;
	return NULL;
}

/* The cause of the last failure on the connection: SQLite's message, the
 * system error behind it when there is one ("disk I/O error (No space left
 * on device)"), and the extended result code, which tells apart what the
 * message words alike (a UNIQUE from a PRIMARY KEY conflict, a busy from a
 * locked database). */
static void last_cause(sqlite3 *c, char *buf, size_t len)
{
	int sys = sqlite3_system_errno(c);
	int code = sqlite3_extended_errcode(c);
	int primary = code & 0xff; /* SQLITE_IOERR_SHMSIZE is an IOERR */
	const char *name = code_name(code);
	char why[512] = "";
	if (sys != 0 && (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR || primary == SQLITE_FULL))
		snprintf(why, sizeof why, " (%s)", strerror(sys));
	if (name)
		snprintf(buf, len, "%s%s [%s, extended code %d]", sqlite3_errmsg(c), why, name, code);
	else
		snprintf(buf, len, "%s%s [extended code %d]", sqlite3_errmsg(c), why, code);
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

static bool on_read_only_fs(const char *path)
{
	struct statvfs fs;
	return statvfs(path, &fs) == 0 && (fs.f_flag & ST_RDONLY);
}

/* Read-write connections switch the file to WAL (a no-op once it is). */
static int use_wal(db *d, ms_err *e)
{
	sqlite3 *c = conn_of(d);
	/* A read-only file keeps its journal mode; reading it still works. */
	if (sqlite3_exec(c, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK ||
	    (sqlite3_errcode(c) & 0xff) == SQLITE_READONLY)
		return 0;
	if (on_read_only_fs(d->url.path)) /* rather than "unable to open database file" */
		return db_fail(d, e, MS_E_DB, "cannot write: the database is on a read-only file system (mstore "
		               "sync -n, reconstruct -n and the list commands can still read it)");
	return fail_sql(d, "PRAGMA journal_mode=WAL", e);
}

/* `path` as a "file:" URI with immutable=1 (RFC 3986 escapes for the
 * characters a URI path cannot carry as they are). */
static int immutable_uri(const char *path, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p && o + 4 < len; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f)
			o += (size_t)snprintf(out + o, len - o, "%%%02X", *p);
		else
			out[o++] = (char)*p;
	}
	return snprintf(out + o, len - o, "?immutable=1") < (int)(len - o) ? 0 : -1;
}

static int open_with(db *d, const char *name, int flags, ms_err *e)
{
	sqlite3 *c = NULL;
	int rc = sqlite3_open_v2(name, &c, flags, NULL);
	d->conn = c;
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(c, busy_timeout_ms());
		sqlite3_extended_result_codes(c, 1);
		return 0;
	}
	char cause[1024];
	if (c)
		last_cause(c, cause, sizeof cause);
	else
		snprintf(cause, sizeof cause, "out of memory");
	sqlite3_close(c);
	d->conn = NULL;
	return db_fail(d, e, MS_E_DB, "cannot open: %s", cause);
}

/* A WAL-mode database on read-only media (a mounted snapshot or backup)
 * cannot be read the usual way: readers need the -shm file, which cannot
 * be created there.  Nothing can change such a file, so it is opened as
 * immutable, which needs no -shm.  A -wal file beside it may hold
 * committed transactions that immutable mode would not see: then it is
 * refused rather than read stale. */
static int reopen_read_only_media(db *d, ms_err *e)
{
	char wal[4200], uri[13000];
	struct stat st;
	snprintf(wal, sizeof wal, "%s-wal", d->url.path);
	if (stat(wal, &st) == 0 && st.st_size > 0)
		return db_fail(d, e, MS_E_DB, "cannot read: the database is on read-only media and its -wal file holds "
		               "transactions not yet written into it; copy the database and its -wal file to writable "
		               "storage and read the copy");
	if (immutable_uri(d->url.path, uri, sizeof uri) < 0)
		return db_fail(d, e, MS_E_DB, "cannot open: the path is too long");
	sqlite3_close(conn_of(d));
	return open_with(d, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, e);
}

/* Read-only connections are only checked (one read); on read-only media
 * that read fails with SQLITE_CANTOPEN and the file is reopened.  Only on
 * a read-only file system: immutable mode takes no locks, which would be
 * unsafe on a file a server may still be writing. */
static int probe_read(db *d, ms_err *e)
{
	static const char probe[] = "SELECT COUNT(*) FROM sqlite_master";
	if (sqlite3_exec(conn_of(d), probe, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	if ((sqlite3_errcode(conn_of(d)) & 0xff) != SQLITE_CANTOPEN || !on_read_only_fs(d->url.path))
		return fail_sql(d, probe, e);
	if (reopen_read_only_media(d, e) < 0)
		return -1;
	if (sqlite3_exec(conn_of(d), probe, NULL, NULL, NULL) != SQLITE_OK)
		return fail_sql(d, probe, e);
	return 0;
}

static int open_db(db *d, const char *password, db_open_mode mode, ms_err *e)
{
	(void)password; /* SQLite has none */
	if (check_exists(d, mode == DB_OPEN_CREATE, e) < 0)
		return -1;
	int flags = mode == DB_OPEN_READ_ONLY ? SQLITE_OPEN_READONLY
	          : SQLITE_OPEN_READWRITE | (mode == DB_OPEN_CREATE ? SQLITE_OPEN_CREATE : 0);
	if (open_with(d, d->url.path, flags, e) < 0)
		return -1;
	if (mode == DB_OPEN_READ_ONLY ? probe_read(d, e) < 0 : use_wal(d, e) < 0) {
		sqlite3_close(conn_of(d));
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
		return db_fail_misuse(s->d, s->sql, e, "not exactly one statement (use db_exec for scripts)");
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

/* An online, consistent copy of the open SQLite database into the new
 * file `path`, with SQLite's backup API (pages copied in steps; a writer
 * in between restarts the copy, so the result is one committed state). */
int db_sqlite_backup_to(db *d, const char *path, ms_err *e)
{
	if (d->url.dialect != DB_SQLITE)
		return ms_err_set(e, MS_E_INTERNAL, "db_sqlite_backup_to on %s", d->name);
	sqlite3 *dst = NULL;
	if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		ms_err_set(e, MS_E_IO, "cannot create %s: %s", path, dst ? sqlite3_errmsg(dst) : "out of memory");
		sqlite3_close(dst);
		return -1;
	}
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", conn_of(d), "main");
	int rc = b ? SQLITE_OK : sqlite3_errcode(dst);
	while (b && ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED))
		if (rc != SQLITE_OK)
			sqlite3_sleep(50); /* a writer holds the lock: wait, the copy goes on */
	if (b)
		sqlite3_backup_finish(b);
	int out = 0;
	if (rc != SQLITE_DONE)
		out = ms_err_set(e, MS_E_DB, "%s: snapshot into %s failed: %s", d->name, path, sqlite3_errmsg(dst));
	sqlite3_close(dst);
	return out;
}
