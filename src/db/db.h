/* db.h - the database driver interface.
 *
 * One interface, three drivers (SQLite, PostgreSQL, MariaDB/MySQL).  Every
 * statement that carries a value is prepared with `?` placeholders and the
 * values are bound: no SQL text is ever built from message content, file
 * names or user input.  Drivers translate `?` into their own syntax
 * (PostgreSQL: $1, $2, ...).  `db_exec` exists only for fixed SQL (DDL,
 * BEGIN/COMMIT) that has no parameters.
 *
 * Values travel as int64 or text.  Timestamps are text in the form
 * "YYYY-MM-DD HH:MM:SS" (the databases convert); NULL is explicit.
 *
 * Errors name the server (the URL without the password) and give the
 * database's own account of the cause, in full: PostgreSQL's primary
 * message, detail, hint and SQLSTATE; MariaDB's error number, SQLSTATE and
 * message; SQLite's message and extended result code, e.g.
 *   postgresql://mstore@127.0.0.1:5432/mail: ERROR: duplicate key value violates unique
 *   constraint "hm_domains_pkey" (Key (domainid)=(1) already exists.) [SQLSTATE 23505]
 * The statement's text follows only at verbosity 2 (-vv): it is long, and
 * put first it pushed the cause out of every message cut to a line.
 */
#ifndef MS_DB_H
#define MS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef enum {
	DB_SQLITE = 1,
	DB_PGSQL,
	DB_MYSQL,
} db_dialect;

/* A parsed connection URL:
 *   sqlite:PATH                (also sqlite://PATH)
 *   postgresql://USER@HOST:PORT/DB   (also postgres://)
 *   mysql://USER@HOST:PORT/DB        (also mariadb://)
 * A password embedded in the URL (user:pw@) is rejected: passwords come
 * from config files, --password-file or MSTORE_DB_PASSWORD, never argv. */
typedef struct db_url {
	db_dialect dialect;
	char path[4096];  /* sqlite */
	char user[256];
	char host[256];
	int port;         /* 0 = the driver's default */
	char dbname[256];
} db_url;

int db_url_parse(const char *url, db_url *out, ms_err *e);
/* The URL as text without any password, for messages. */
void db_url_format(const db_url *u, char *buf, size_t len);

typedef struct db db;
typedef struct db_stmt db_stmt;

/* How a connection is opened.  READ_ONLY is for work that must not write
 * (every --dry-run, reconstruct -n, listings, the --hints-from copy): the
 * database itself then refuses any write, so a dry run is read-only by
 * construction, and a SQLite store on read-only media (a mounted backup)
 * can still be inspected. */
typedef enum {
	DB_OPEN_READ_WRITE,
	DB_OPEN_CREATE,    /* mstore init: a missing SQLite file is created */
	DB_OPEN_READ_ONLY,
} db_open_mode;

/* Open a connection.  `password` may be NULL.  SQLite databases are opened
 * in WAL mode with a busy timeout (read-only connections keep the file's
 * journal mode); a missing SQLite file is an error unless the mode is
 * DB_OPEN_CREATE. */
int db_open(const char *url, const char *password, db_open_mode mode, db **out, ms_err *e);
void db_close(db *d);

/* 2 or more (the CLI's -vv): error messages end with the statement's
 * text.  Set once, before any thread starts. */
void db_set_verbosity(int level);

db_dialect db_get_dialect(const db *d);
/* The connection's parsed URL (no password in it). */
const db_url *db_get_url(const db *d);
/* The URL without the password, for messages ("sqlite:/x/y.db"). */
const char *db_name(const db *d);

/* Fixed SQL without parameters (DDL, SET ...). */
int db_exec(db *d, const char *sql, ms_err *e);

int db_begin(db *d, ms_err *e);
int db_commit(db *d, ms_err *e);
int db_rollback(db *d); /* best effort; never fails loudly */

/* Prepare a statement with `?` placeholders. */
int db_prepare(db *d, const char *sql, db_stmt **out, ms_err *e);
/* Prepare an INSERT whose generated identity value is wanted: `pk` names
 * the identity column (PostgreSQL appends RETURNING pk). After a successful
 * db_step, db_insert_id() returns the new value. */
int db_prepare_insert(db *d, const char *sql, const char *pk, db_stmt **out, ms_err *e);

/* Parameters are numbered from 1. Text is copied by the driver. */
int db_bind_int64(db_stmt *s, int idx, int64_t v, ms_err *e);
int db_bind_text(db_stmt *s, int idx, const char *v, ms_err *e); /* NULL v binds NULL */
int db_bind_null(db_stmt *s, int idx, ms_err *e);

enum { DB_ROW = 1, DB_DONE = 0, DB_ERROR = -1 };
/* Execute (first call) or advance to the next row.
 * Returns DB_ROW, DB_DONE or DB_ERROR (with `e` set). */
int db_step(db_stmt *s, ms_err *e);

/* Columns are numbered from 0; valid after db_step returned DB_ROW. */
int db_column_count(db_stmt *s);
bool db_column_is_null(db_stmt *s, int col);
int64_t db_column_int64(db_stmt *s, int col);
/* Text of the column; NULL for SQL NULL.  Valid until the next step/reset. */
const char *db_column_text(db_stmt *s, int col);

int64_t db_insert_id(db_stmt *s);
/* Rows changed by the last INSERT/UPDATE/DELETE through this statement. */
int64_t db_changes(db_stmt *s);

/* Make the statement ready to bind and run again (keeps it prepared). */
int db_reset(db_stmt *s, ms_err *e);
void db_finalize(db_stmt *s);

/* Convenience: prepare, bind nothing, step once, return the first column of
 * the first row as int64 in *out. Returns 1 if a row was found, 0 if none,
 * -1 on error. Only for fixed SQL. */
int db_query_int64(db *d, const char *sql, int64_t *out, ms_err *e);

/* PostgreSQL only: a bulk load of one table (COPY table (columns) FROM
 * STDIN, text format), several times faster than multi-row INSERTs: what
 * pg_restore does.  Values are given in the columns' order, a row ended by
 * db_copy_end_row; the driver escapes them and sends them in large
 * chunks.  Errors (a duplicate key, a bad value) come at the latest from
 * db_copy_finish, which also frees the handle; db_copy_abort cancels the
 * load (nothing of it is written) and frees it.  The table and column
 * names are fixed SQL (the schema's), never input.  db_copy_supported
 * says whether the connection can. */
typedef struct db_copy db_copy;
bool db_copy_supported(const db *d);
int db_copy_begin(db *d, const char *table, const char *const *columns, size_t ncolumns, db_copy **out,
                  ms_err *e);
void db_copy_text(db_copy *c, const char *v); /* NULL is SQL NULL */
void db_copy_int64(db_copy *c, int64_t v);
int db_copy_end_row(db_copy *c, ms_err *e);
int db_copy_finish(db_copy *c, ms_err *e);
void db_copy_abort(db_copy *c);

/* SQLite only: an online, consistent copy of the open database into the
 * new file `path` (the backup API), for `mstore snapshot`. */
int db_sqlite_backup_to(db *d, const char *path, ms_err *e);

#endif
