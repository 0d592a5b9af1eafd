/* db_mysql.c - the MariaDB/MySQL driver (libmariadb, prepared statement
 * API).
 *
 * Parameters are bound as BIGINT or as strings; every result column is
 * fetched as a string, as the other drivers deliver it.  Results are
 * stored client-side (mysql_stmt_store_result) so other statements can
 * run on the connection while the caller walks rows.  The connection uses
 * utf8mb4 and CLIENT_FOUND_ROWS, so db_changes counts the rows an UPDATE
 * matched, as SQLite and PostgreSQL do, not only those it altered. */
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_internal.h"
#include "db/dynlib.h"

/* The client, loaded on the first connection (db/dynlib.h): every call
 * below goes through this table. */
#define MY_FUNCTIONS(X) \
	X(mysql_close) \
	X(mysql_errno) \
	X(mysql_error) \
	X(mysql_fetch_fields) \
	X(mysql_field_count) \
	X(mysql_free_result) \
	X(mysql_init) \
	X(mysql_next_result) \
	X(mysql_options) \
	X(mysql_real_connect) \
	X(mysql_real_query) \
	X(mysql_server_init) \
	X(mysql_sqlstate) \
	X(mysql_stmt_affected_rows) \
	X(mysql_stmt_attr_set) \
	X(mysql_stmt_bind_param) \
	X(mysql_stmt_bind_result) \
	X(mysql_stmt_close) \
	X(mysql_stmt_errno) \
	X(mysql_stmt_error) \
	X(mysql_stmt_execute) \
	X(mysql_stmt_fetch) \
	X(mysql_stmt_fetch_column) \
	X(mysql_stmt_field_count) \
	X(mysql_stmt_free_result) \
	X(mysql_stmt_init) \
	X(mysql_stmt_insert_id) \
	X(mysql_stmt_param_count) \
	X(mysql_stmt_prepare) \
	X(mysql_stmt_result_metadata) \
	X(mysql_stmt_sqlstate) \
	X(mysql_stmt_store_result) \
	X(mysql_store_result)

static struct {
#define MEMBER(f) __typeof__(&f) f;
	MY_FUNCTIONS(MEMBER)
#undef MEMBER
} my;

static const db_dynsym my_syms[] = {
#define SYM(f) { #f, (void **)&my.f },
	MY_FUNCTIONS(SYM)
#undef SYM
};

static db_dynlib my_lib = {
	.soname = "libmariadb.so.3", .package = "libmariadb3", .syms = my_syms, .nsyms = sizeof my_syms / sizeof *my_syms,
};

#define CONNECT_TIMEOUT_SECONDS 10
/* Result buffers start this big; longer values grow them. */
#define MIN_COLUMN_BUFFER 64

typedef struct my_param {
	int64_t number;
	char *text;          /* malloc'd */
	unsigned long len;
} my_param;

typedef struct my_column {
	char *buf;
	unsigned long cap;   /* bytes in buf; one is kept for the NUL */
	unsigned long len;
	my_bool is_null;
	my_bool truncated;
} my_column;

typedef struct my_stmt {
	MYSQL_STMT *st;
	MYSQL_BIND *params;  /* nparams */
	my_param *values;
	MYSQL_BIND *binds;   /* ncols */
	my_column *cols;
	int ncols;
	bool executed;
} my_stmt;

static MYSQL *conn_of(db *d)
{
	return d->conn;
}

static my_stmt *stmt_of(db_stmt *s)
{
	return s->impl;
}

/* ---- errors ---------------------------------------------------------------- */

static int fail_conn_sql(db *d, const char *sql, ms_err *e)
{
	MYSQL *c = conn_of(d);
	return db_fail_sql(d, sql, e, "ERROR %u (%s): %s", my.mysql_errno(c), my.mysql_sqlstate(c), my.mysql_error(c));
}

static int fail_stmt(db_stmt *s, ms_err *e)
{
	MYSQL_STMT *st = stmt_of(s)->st;
	return db_fail_sql(s->d, s->sql, e, "ERROR %u (%s): %s", my.mysql_stmt_errno(st), my.mysql_stmt_sqlstate(st),
	                   my.mysql_stmt_error(st));
}

/* ---- connections ----------------------------------------------------------- */

static int connect_failure(db *d, MYSQL *c, const char *password, ms_err *e)
{
	char where[300], cause[1024];
	unsigned int code = c ? my.mysql_errno(c) : 0;
	db_fold_message(c ? my.mysql_error(c) : "out of memory", cause, sizeof cause);
	my.mysql_close(c);
	db_server_address(d, where, sizeof where);
	/* 1045: access denied */
	return db_fail(d, e, MS_E_DB, "cannot connect to the MariaDB/MySQL server at %s: ERROR %u: %s%s", where, code,
	               cause, code == 1045 && !password ? " (no password was given: set it in the config file, "
	                                                  "--password-file or MSTORE_DB_PASSWORD)" : "");
}

static void init_library(void)
{
	my.mysql_server_init(0, NULL, NULL);
}

static int open_db(db *d, const char *password, db_open_mode mode, ms_err *e)
{
	/* DB_OPEN_CREATE: a server database is created by its administrator. */
	if (db_dynlib_load(&my_lib, e) < 0)
		return -1;
	/* mysql_init would initialise the library itself, but not safely when
	 * two threads connect at once. */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_library);
	MYSQL *c = my.mysql_init(NULL);
	if (!c)
		return connect_failure(d, NULL, password, e);
	unsigned int timeout = CONNECT_TIMEOUT_SECONDS;
	my.mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	my.mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* READ COMMITTED: a statement sees every commit made before it.  sync's
	 * re-check under the folder lock depends on that; InnoDB's default
	 * REPEATABLE READ would show it the snapshot of its first read. */
	my.mysql_options(c, MYSQL_INIT_COMMAND, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	if (mode == DB_OPEN_READ_ONLY)
		my.mysql_options(c, MYSQL_INIT_COMMAND, "SET SESSION TRANSACTION READ ONLY");
	/* Multi-statements only reach db_exec's fixed SQL; every statement with
	 * values goes through the prepared statement protocol. */
	unsigned long flags = CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS;
	if (!my.mysql_real_connect(c, d->url.host, d->url.user[0] ? d->url.user : NULL, password, d->url.dbname,
	                        (unsigned int)(d->url.port > 0 ? d->url.port : 3306), NULL, flags))
		return connect_failure(d, c, password, e);
	d->conn = c;
	return 0;
}

static void close_db(db *d)
{
	my.mysql_close(conn_of(d));
}

/* Run fixed SQL (perhaps several statements) and drop whatever results
 * it returns. */
static int exec(db *d, const char *sql, ms_err *e)
{
	MYSQL *c = conn_of(d);
	if (my.mysql_real_query(c, sql, strlen(sql)) != 0)
		return fail_conn_sql(d, sql, e);
	int more;
	do {
		MYSQL_RES *r = my.mysql_store_result(c);
		if (r)
			my.mysql_free_result(r);
		else if (my.mysql_field_count(c) != 0)
			return fail_conn_sql(d, sql, e);
		more = my.mysql_next_result(c);
		if (more > 0)
			return fail_conn_sql(d, sql, e);
	} while (more == 0);
	return 0;
}

static int commit(db *d, ms_err *e)
{
	return exec(d, "COMMIT", e);
}

/* ---- statements ------------------------------------------------------------ */

static void free_stmt(my_stmt *m, int nparams)
{
	if (m->st)
		my.mysql_stmt_close(m->st);
	for (int i = 0; m->values && i < nparams; i++)
		free(m->values[i].text);
	for (int i = 0; m->cols && i < m->ncols; i++)
		free(m->cols[i].buf);
	free(m->params);
	free(m->values);
	free(m->binds);
	free(m->cols);
	free(m);
}

static int alloc_params(db_stmt *s, my_stmt *m, ms_err *e)
{
	size_t n = (size_t)s->nparams + 1;
	m->params = calloc(n, sizeof *m->params);
	m->values = calloc(n, sizeof *m->values);
	if (!m->params || !m->values)
		return db_fail_sql(s->d, s->sql, e, "out of memory");
	for (int i = 0; i < s->nparams; i++)
		m->params[i].buffer_type = MYSQL_TYPE_NULL;
	return 0;
}

static int prepare(db_stmt *s, ms_err *e)
{
	my_stmt *m = calloc(1, sizeof *m);
	if (!m || !(m->st = my.mysql_stmt_init(conn_of(s->d)))) {
		free(m);
		return db_fail_sql(s->d, s->sql, e, "out of memory");
	}
	s->impl = m;
	/* Report each column's longest value so result buffers fit. */
	my_bool update_max = 1;
	my.mysql_stmt_attr_set(m->st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
	if (my.mysql_stmt_prepare(m->st, s->sql, strlen(s->sql)) != 0) {
		fail_stmt(s, e);
		free_stmt(m, 0);
		return -1;
	}
	s->nparams = (int)my.mysql_stmt_param_count(m->st);
	if (alloc_params(s, m, e) < 0) {
		free_stmt(m, 0);
		return -1;
	}
	return 0;
}

static void forget_text(my_stmt *m, int idx)
{
	free(m->values[idx - 1].text);
	m->values[idx - 1].text = NULL;
}

static int bind_int64(db_stmt *s, int idx, int64_t v, ms_err *e)
{
	(void)e;
	my_stmt *m = stmt_of(s);
	forget_text(m, idx);
	m->values[idx - 1].number = v;
	MYSQL_BIND *b = &m->params[idx - 1];
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = &m->values[idx - 1].number;
	return 0;
}

static int bind_text(db_stmt *s, int idx, const char *v, ms_err *e)
{
	my_stmt *m = stmt_of(s);
	char *copy = strdup(v);
	if (!copy)
		return db_fail_sql(s->d, s->sql, e, "out of memory");
	forget_text(m, idx);
	my_param *p = &m->values[idx - 1];
	p->text = copy;
	p->len = (unsigned long)strlen(copy);
	MYSQL_BIND *b = &m->params[idx - 1];
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = p->text;
	b->buffer_length = p->len;
	b->length = &p->len;
	return 0;
}

static int bind_null(db_stmt *s, int idx, ms_err *e)
{
	(void)e;
	my_stmt *m = stmt_of(s);
	forget_text(m, idx);
	memset(&m->params[idx - 1], 0, sizeof m->params[idx - 1]);
	m->params[idx - 1].buffer_type = MYSQL_TYPE_NULL;
	return 0;
}

/* Point binds[i] at cols[i]'s buffer (after it was (re)allocated). */
static void bind_column(my_stmt *m, int i)
{
	MYSQL_BIND *b = &m->binds[i];
	my_column *c = &m->cols[i];
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = c->buf;
	b->buffer_length = c->cap - 1;
	b->length = &c->len;
	b->is_null = &c->is_null;
	b->error = &c->truncated;
}

static int grow_column(my_column *c, unsigned long need)
{
	if (need <= c->cap)
		return 0;
	char *buf = realloc(c->buf, need);
	if (!buf)
		return -1;
	c->buf = buf;
	c->cap = need;
	return 0;
}

static int alloc_columns(db_stmt *s, int ncols, ms_err *e)
{
	my_stmt *m = stmt_of(s);
	if (m->ncols == ncols)
		return 0;
	for (int i = 0; i < m->ncols; i++)
		free(m->cols[i].buf);
	free(m->binds);
	free(m->cols);
	m->ncols = 0;
	m->binds = calloc((size_t)ncols, sizeof *m->binds);
	m->cols = calloc((size_t)ncols, sizeof *m->cols);
	if (!m->binds || !m->cols)
		return db_fail_sql(s->d, s->sql, e, "out of memory");
	m->ncols = ncols;
	return 0;
}

/* Buffers as long as each column's longest value, then bind them. */
static int bind_columns(db_stmt *s, ms_err *e)
{
	my_stmt *m = stmt_of(s);
	MYSQL_RES *meta = my.mysql_stmt_result_metadata(m->st);
	if (!meta)
		return fail_stmt(s, e);
	MYSQL_FIELD *fields = my.mysql_fetch_fields(meta);
	int rc = 0;
	for (int i = 0; i < m->ncols && rc == 0; i++) {
		unsigned long need = fields[i].max_length + 1;
		rc = grow_column(&m->cols[i], need < MIN_COLUMN_BUFFER ? MIN_COLUMN_BUFFER : need);
		bind_column(m, i);
	}
	my.mysql_free_result(meta);
	if (rc < 0)
		return db_fail_sql(s->d, s->sql, e, "out of memory");
	if (my.mysql_stmt_bind_result(m->st, m->binds) != 0)
		return fail_stmt(s, e);
	return 0;
}

static int fetch_result_set(db_stmt *s, ms_err *e)
{
	my_stmt *m = stmt_of(s);
	int ncols = (int)my.mysql_stmt_field_count(m->st);
	if (ncols == 0)
		return alloc_columns(s, 0, e);
	if (alloc_columns(s, ncols, e) < 0)
		return -1;
	if (my.mysql_stmt_store_result(m->st) != 0)
		return fail_stmt(s, e);
	return bind_columns(s, e);
}

static int execute(db_stmt *s, ms_err *e)
{
	my_stmt *m = stmt_of(s);
	if (s->nparams > 0 && my.mysql_stmt_bind_param(m->st, m->params) != 0)
		return fail_stmt(s, e);
	if (my.mysql_stmt_execute(m->st) != 0)
		return fail_stmt(s, e);
	m->executed = true;
	my_ulonglong affected = my.mysql_stmt_affected_rows(m->st);
	s->changes = affected == (my_ulonglong)-1 ? 0 : (int64_t)affected;
	if (s->pk)
		s->insert_id = (int64_t)my.mysql_stmt_insert_id(m->st);
	return fetch_result_set(s, e);
}

/* A value longer than its buffer: grow the buffer, fetch the value again
 * and keep the bigger buffer bound for the following rows. */
static int refetch_truncated(db_stmt *s, ms_err *e)
{
	my_stmt *m = stmt_of(s);
	for (int i = 0; i < m->ncols; i++) {
		my_column *c = &m->cols[i];
		if (!c->truncated)
			continue;
		if (grow_column(c, c->len + 1) < 0)
			return db_fail_sql(s->d, s->sql, e, "out of memory");
		bind_column(m, i);
		if (my.mysql_stmt_fetch_column(m->st, &m->binds[i], (unsigned int)i, 0) != 0)
			return fail_stmt(s, e);
	}
	if (my.mysql_stmt_bind_result(m->st, m->binds) != 0)
		return fail_stmt(s, e);
	return 0;
}

static int fetch_row(db_stmt *s, ms_err *e)
{
	my_stmt *m = stmt_of(s);
	int rc = my.mysql_stmt_fetch(m->st);
	if (rc == MYSQL_NO_DATA)
		return DB_DONE;
	if (rc == 1 || (rc == MYSQL_DATA_TRUNCATED && refetch_truncated(s, e) < 0)) {
		if (rc == 1)
			fail_stmt(s, e);
		return DB_ERROR;
	}
	for (int i = 0; i < m->ncols; i++) {
		my_column *c = &m->cols[i];
		c->buf[c->is_null ? 0 : (c->len < c->cap ? c->len : c->cap - 1)] = '\0';
	}
	return DB_ROW;
}

static int step(db_stmt *s, ms_err *e)
{
	my_stmt *m = stmt_of(s);
	if (!m->executed && execute(s, e) < 0)
		return DB_ERROR;
	if (m->ncols == 0)
		return DB_DONE;
	return fetch_row(s, e);
}

static int column_count(db_stmt *s)
{
	return stmt_of(s)->ncols;
}

static bool column_is_null(db_stmt *s, int col)
{
	return stmt_of(s)->cols[col].is_null;
}

static const char *column_text(db_stmt *s, int col)
{
	my_column *c = &stmt_of(s)->cols[col];
	return c->is_null ? NULL : c->buf;
}

static int64_t column_int64(db_stmt *s, int col)
{
	return db_text_to_int64(column_text(s, col));
}

static int reset(db_stmt *s, ms_err *e)
{
	my_stmt *m = stmt_of(s);
	if (!m->executed)
		return 0;
	m->executed = false;
	if (my.mysql_stmt_free_result(m->st) != 0)
		return fail_stmt(s, e);
	return 0;
}

static void clear_bindings(db_stmt *s)
{
	for (int i = 1; i <= s->nparams; i++)
		bind_null(s, i, NULL);
}

static void finalize(db_stmt *s)
{
	free_stmt(stmt_of(s), s->nparams);
}

const db_ops db_mysql_ops = {
	.open = open_db,
	.close = close_db,
	.exec = exec,
	.begin_sql = "START TRANSACTION",
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
