/* db_internal.h - what db.c shares with the three drivers.
 *
 * db.c owns everything that is the same for every database: URL parsing,
 * the statement life cycle (fresh, running, done, failed), parameter index
 * checks, error message layout and a small cache of prepared statements.
 * A driver implements `db_ops` and keeps its own state behind `conn` (per
 * connection) and `impl` (per statement).
 */
#ifndef MS_DB_INTERNAL_H
#define MS_DB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/* Statements finalized by the caller are kept prepared for reuse when the
 * same SQL is prepared again (one-shot helpers run the same few statements
 * thousands of times; on a server, preparing costs a round trip). */
#define DB_PARKED_MAX 32

/* Messages quote at most this much of a statement (at verbosity 2). */
#define DB_SQL_EXCERPT 400

typedef struct db_ops {
	/* Connect; on failure fill `e` (the caller adds nothing). */
	int (*open)(db *d, const char *password, db_open_mode mode, ms_err *e);
	void (*close)(db *d);
	/* Fixed SQL without parameters; may hold several statements. */
	int (*exec)(db *d, const char *sql, ms_err *e);
	/* The SQL that starts a transaction. */
	const char *begin_sql;
	/* COMMIT, reporting a commit the server turned into a rollback. */
	int (*commit)(db *d, ms_err *e);

	/* Prepare s->sql (s->pk set: an INSERT whose identity is wanted) and
	 * set s->nparams; all parameters start as NULL. */
	int (*prepare)(db_stmt *s, ms_err *e);
	/* idx is checked by db.c (1..nparams); text is NULL-free here. */
	int (*bind_int64)(db_stmt *s, int idx, int64_t v, ms_err *e);
	int (*bind_text)(db_stmt *s, int idx, const char *v, ms_err *e);
	int (*bind_null)(db_stmt *s, int idx, ms_err *e);
	/* Execute (first call) or fetch the next row: DB_ROW, DB_DONE or
	 * DB_ERROR.  On DB_DONE after a write, set s->changes and, for an
	 * insert statement, s->insert_id. */
	int (*step)(db_stmt *s, ms_err *e);
	int (*column_count)(db_stmt *s);
	/* col is checked by db.c against column_count. */
	bool (*column_is_null)(db_stmt *s, int col);
	int64_t (*column_int64)(db_stmt *s, int col);
	const char *(*column_text)(db_stmt *s, int col);
	/* Forget the current result; keep the bindings. */
	int (*reset)(db_stmt *s, ms_err *e);
	/* Set every parameter back to NULL (before parking). */
	void (*clear_bindings)(db_stmt *s);
	void (*finalize)(db_stmt *s);
} db_ops;

struct db {
	const db_ops *ops;
	db_url url;
	char name[4608];             /* db_url_format(url) */
	void *conn;                  /* the driver's connection */
	unsigned long next_serial;   /* names server-side statements */
	db_stmt *parked[DB_PARKED_MAX];
	size_t nparked;
};

typedef enum {
	DB_ST_FRESH,   /* prepared or reset: parameters may be bound */
	DB_ST_ROWS,    /* executed, rows may follow */
	DB_ST_DONE,    /* executed, no more rows */
	DB_ST_FAILED,  /* the last step failed; needs db_reset */
} db_stmt_state;

struct db_stmt {
	db *d;
	char *sql;        /* as the caller wrote it */
	char *pk;         /* identity column of an insert, or NULL */
	int nparams;
	db_stmt_state state;
	int64_t insert_id;
	int64_t changes;
	void *impl;       /* the driver's statement */
};

extern const db_ops db_sqlite_ops;
extern const db_ops db_pgsql_ops;
extern const db_ops db_mysql_ops;

/* "HOST:PORT" of a server URL ("[::1]:5432" for IPv6), for messages. */
void db_server_address(const db *d, char *buf, size_t len);

/* "NAME: cause" for connection-level failures; returns -1. */
int db_fail(db *d, ms_err *e, ms_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A statement failed: "NAME: cause", and at verbosity 2
 * "NAME: cause [statement: SQL]" (cut to DB_SQL_EXCERPT, whitespace
 * folded); returns -1 with code MS_E_DB. */
int db_fail_sql(db *d, const char *sql, ms_err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The caller misused a statement (a bug, not the database's answer):
 * "NAME: STATEMENT: cause" whatever the verbosity, since the statement is
 * what identifies the faulty call; returns -1. */
int db_fail_misuse(db *d, const char *sql, ms_err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A driver's message on one line: runs of blanks folded into one space,
 * a line break into "; ", trailing blanks dropped (libpq's end in "\n"). */
void db_fold_message(const char *cause, char *buf, size_t len);

/* Value of a column that arrived as text: decimal, or PostgreSQL's t/f. */
int64_t db_text_to_int64(const char *text);

/* `sql` followed by " RETURNING pk" (a trailing ';' dropped), malloc'd;
 * NULL when out of memory. */
char *db_sql_with_returning(const char *sql, const char *pk);

#endif
