/* sql.h - one-shot prepared statements for the store layer.
 *
 * Most store operations run a statement once with a few values.  These
 * helpers prepare, bind, step and finalize in one call so the object code
 * reads as what it does; values are always bound, never pasted into SQL.
 */
#ifndef MS_SQL_H
#define MS_SQL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db/db.h"

typedef struct ms_param {
	enum { MS_P_INT, MS_P_TEXT } type;
	int64_t i;
	const char *s;
} ms_param;

#define P_INT(v) ((ms_param){ .type = MS_P_INT, .i = (v) })
#define P_TEXT(v) ((ms_param){ .type = MS_P_TEXT, .s = (v) })
#define PARAMS(...) ((const ms_param[]){ __VA_ARGS__ }), (sizeof((const ms_param[]){ __VA_ARGS__ }) / sizeof(ms_param))
#define NO_PARAMS NULL, 0

/* Around a long read of many rows (a table scan, an account's every
 * message): on SQLite the pages are read through a memory mapping while
 * it runs (no read() and copy per page, a third of a scan's time), and
 * the connection goes back to plain reads after, so that writes elsewhere
 * report I/O errors as errors rather than a SIGBUS.  Nothing on the
 * servers. */
void ms_sql_scan_begin(db *d);
void ms_sql_scan_end(db *d);

/* Bind params 1..n to a prepared statement. */
int ms_sql_bind(db_stmt *st, const ms_param *p, size_t n, ms_err *e);
/* Prepare and bind in one go. */
int ms_sql_prepare(db *d, const char *sql, const ms_param *p, size_t n, db_stmt **out, ms_err *e);
/* Run a statement that returns no rows; *changes (may be NULL) gets the
 * number of rows changed. */
int ms_sql_exec(db *d, const char *sql, const ms_param *p, size_t n, int64_t *changes, ms_err *e);
/* Run an INSERT and return the identity value of column `pk` in *id. */
int ms_sql_insert(db *d, const char *sql, const char *pk, const ms_param *p, size_t n, int64_t *id, ms_err *e);
/* Run a query and call fn for each row (the statement positioned on it);
 * fn returning < 0 stops with that error, its message in e. */
int ms_sql_each(db *d, const char *sql, const ms_param *p, size_t n, int (*fn)(void *ctx, db_stmt *row), void *ctx,
                ms_err *e);
/* First column of the first row as int64: 1 if a row came, 0 if none. */
int ms_sql_int(db *d, const char *sql, const ms_param *p, size_t n, int64_t *out, ms_err *e);

/* The current local time as "YYYY-MM-DD HH:MM:SS" (hMailServer keeps
 * timestamps in server local time). */
void ms_sql_now(char buf[32]);
void ms_sql_time(time_t t, char buf[32]);

#endif
