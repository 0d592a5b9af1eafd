/* db_pgsql.c - the PostgreSQL driver (libpq).
 *
 * Statements are prepared on the server under generated names
 * (PQprepare) and executed with text parameters (PQexecPrepared); the
 * server infers each parameter's type from its use.  `?` placeholders
 * become $1, $2, ... outside string literals, quoted identifiers, dollar
 * quotes and comments.  A result is read whole, so other statements can
 * run on the connection while the caller walks its rows. */
#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_internal.h"
#include "db/dynlib.h"

/* The client, loaded on the first connection (db/dynlib.h): every call
 * below goes through this table. */
#define PQ_FUNCTIONS(X) \
	X(PQclear) \
	X(PQcmdStatus) \
	X(PQcmdTuples) \
	X(PQconnectdbParams) \
	X(PQconnectionNeedsPassword) \
	X(PQerrorMessage) \
	X(PQexec) \
	X(PQexecPrepared) \
	X(PQfinish) \
	X(PQgetResult) \
	X(PQgetisnull) \
	X(PQgetvalue) \
	X(PQnfields) \
	X(PQntuples) \
	X(PQprepare) \
	X(PQputCopyData) \
	X(PQputCopyEnd) \
	X(PQresultErrorField) \
	X(PQresultStatus) \
	X(PQsetNoticeProcessor) \
	X(PQstatus)

static struct {
#define MEMBER(f) __typeof__(&f) f;
	PQ_FUNCTIONS(MEMBER)
#undef MEMBER
} pq;

static const db_dynsym pq_syms[] = {
#define SYM(f) { #f, (void **)&pq.f },
	PQ_FUNCTIONS(SYM)
#undef SYM
};

static db_dynlib pq_lib = {
	.soname = "libpq.so.5", .package = "libpq5", .syms = pq_syms, .nsyms = sizeof pq_syms / sizeof *pq_syms,
};

#define CONNECT_TIMEOUT_SECONDS "10"

typedef struct pg_stmt {
	char name[32];
	char **values;   /* one per parameter, malloc'd text; NULL is SQL NULL */
	PGresult *res;   /* NULL until executed */
	int row;         /* the current row */
} pg_stmt;

static PGconn *conn_of(db *d)
{
	return d->conn;
}

static pg_stmt *stmt_of(db_stmt *s)
{
	return s->impl;
}

/* ---- errors ---------------------------------------------------------------- */

/* "ERROR: primary message (detail; hint: ...) [SQLSTATE 23505]" from a
 * failed result: the server's whole answer, since the primary message
 * alone often does not say which row or value (the detail does).  The
 * connection's message when there is no result (connection lost). */
static void result_cause(PGconn *c, const PGresult *r, char *buf, size_t len)
{
	const char *primary = r ? pq.PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!primary) {
		db_fold_message(pq.PQerrorMessage(c), buf, len);
		if (!buf[0])
			snprintf(buf, len, "unknown error");
		return;
	}
	const char *severity = pq.PQresultErrorField(r, PG_DIAG_SEVERITY);
	const char *detail = pq.PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = pq.PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
	const char *sqlstate = pq.PQresultErrorField(r, PG_DIAG_SQLSTATE);
	char raw[1536], extra[1024] = "";
	if (detail || hint)
		snprintf(extra, sizeof extra, " (%s%s%s%s)", detail ? detail : "", detail && hint ? "; " : "",
		         hint ? "hint: " : "", hint ? hint : "");
	snprintf(raw, sizeof raw, "%s: %s%s [SQLSTATE %s]", severity ? severity : "ERROR", primary, extra,
	         sqlstate ? sqlstate : "?");
	db_fold_message(raw, buf, len);
}

static int fail_result(db *d, const char *sql, PGresult *r, ms_err *e)
{
	char cause[1536];
	result_cause(conn_of(d), r, cause, sizeof cause);
	pq.PQclear(r);
	return db_fail_sql(d, sql, e, "%s", cause);
}

static bool result_ok(const PGresult *r)
{
	ExecStatusType st = pq.PQresultStatus(r);
	return r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY);
}

/* ---- connections ----------------------------------------------------------- */

/* Server notices ("table does not exist, skipping") are not the user's
 * business; libpq would print them on stderr. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg, (void)message;
}

static int connect_failure(db *d, PGconn *c, const char *password, ms_err *e)
{
	char cause[1024], where[300];
	db_fold_message(c ? pq.PQerrorMessage(c) : "out of memory", cause, sizeof cause);
	bool auth = c && pq.PQconnectionNeedsPassword(c);
	pq.PQfinish(c);
	db_server_address(d, where, sizeof where);
	return db_fail(d, e, MS_E_DB, "cannot connect to the PostgreSQL server at %s: %s%s", where, cause,
	               auth && !password ? " (no password was given: set it in the config file, --password-file"
	                                   " or MSTORE_DB_PASSWORD)" : "");
}

static int open_db(db *d, const char *password, db_open_mode mode, ms_err *e)
{
	/* DB_OPEN_CREATE: a server database is created by its administrator. */
	if (db_dynlib_load(&pq_lib, e) < 0)
		return -1;
	char port[16];
	snprintf(port, sizeof port, "%d", d->url.port > 0 ? d->url.port : 5432);
	const char *const keys[] = { "host", "port", "dbname", "user", "password", "connect_timeout",
		                     "client_encoding", "application_name", "options", NULL };
	const char *const values[] = { d->url.host, port, d->url.dbname, d->url.user[0] ? d->url.user : NULL,
		                       password, CONNECT_TIMEOUT_SECONDS, "UTF8", "mstore",
		                       mode == DB_OPEN_READ_ONLY ? "-c DateStyle=ISO -c default_transaction_read_only=on"
		                                                 : "-c DateStyle=ISO", NULL };
	/* expand_dbname = 0: the database name is a name, never a conninfo
	 * string that could smuggle in other settings. */
	PGconn *c = pq.PQconnectdbParams(keys, values, 0);
	if (!c || pq.PQstatus(c) != CONNECTION_OK)
		return connect_failure(d, c, password, e);
	pq.PQsetNoticeProcessor(c, ignore_notice, NULL);
	d->conn = c;
	return 0;
}

static void close_db(db *d)
{
	pq.PQfinish(conn_of(d));
}

static int exec(db *d, const char *sql, ms_err *e)
{
	PGresult *r = pq.PQexec(conn_of(d), sql);
	if (!result_ok(r))
		return fail_result(d, sql, r, e);
	pq.PQclear(r);
	return 0;
}

/* PostgreSQL answers COMMIT in a transaction that had a failed statement
 * with a successful "ROLLBACK": that is a failure to the caller. */
static int commit(db *d, ms_err *e)
{
	PGresult *r = pq.PQexec(conn_of(d), "COMMIT");
	if (!result_ok(r))
		return fail_result(d, "COMMIT", r, e);
	bool rolled_back = strcmp(pq.PQcmdStatus(r), "ROLLBACK") == 0;
	pq.PQclear(r);
	if (rolled_back)
		return db_fail_sql(d, "COMMIT", e, "the server rolled the transaction back because a statement in it "
		                   "failed");
	return 0;
}

/* ---- placeholders ---------------------------------------------------------- */

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Length of the span from p to the closing `quote` (a doubled quote stays
 * inside); backslashes escape in E'...' strings. */
static size_t quoted_span(const char *p, char quote, bool backslashes)
{
	const char *q = p + 1;
	for (; *q; q++) {
		if (backslashes && *q == '\\' && q[1]) {
			q++;
		} else if (*q == quote) {
			if (q[1] != quote)
				return (size_t)(q + 1 - p);
			q++;
		}
	}
	return (size_t)(q - p);
}

static size_t block_comment_span(const char *p)
{
	int depth = 0;
	const char *q = p;
	while (*q) {
		if (q[0] == '/' && q[1] == '*') {
			depth++;
			q += 2;
		} else if (q[0] == '*' && q[1] == '/') {
			q += 2;
			if (--depth == 0)
				break;
		} else {
			q++;
		}
	}
	return (size_t)(q - p);
}

/* $tag$ ... $tag$; 0 if p does not open a dollar quote. */
static size_t dollar_span(const char *sql, const char *p)
{
	if (p > sql && ident_char(p[-1]))
		return 0;
	const char *q = p + 1;
	if (isalpha((unsigned char)*q) || *q == '_')
		while (isalnum((unsigned char)*q) || *q == '_')
			q++;
	if (*q != '$')
		return 0;
	size_t tag_len = (size_t)(q + 1 - p);
	const char *end = strchr(q + 1, '$');
	while (end && strncmp(end, p, tag_len) != 0)
		end = strchr(end + 1, '$');
	return end ? (size_t)(end + tag_len - p) : strlen(p);
}

/* Length of the literal, identifier or comment starting at p; 0 if none
 * starts there. */
static size_t literal_span(const char *sql, const char *p)
{
	switch (*p) {
	case '\'': {
		bool e_string = p > sql && (p[-1] == 'E' || p[-1] == 'e') && (p - 1 == sql || !ident_char(p[-2]));
		return quoted_span(p, '\'', e_string);
	}
	case '"':
		return quoted_span(p, '"', false);
	case '-':
		return p[1] == '-' ? strcspn(p, "\n") : 0;
	case '/':
		return p[1] == '*' ? block_comment_span(p) : 0;
	case '$':
		return dollar_span(sql, p);
	default:
		return 0;
	}
}

/* `sql` with each `?` outside literals replaced by $1, $2, ...; malloc'd,
 * NULL when out of memory.  *count gets the number of placeholders. */
static char *number_placeholders(const char *sql, int *count)
{
	size_t questions = 0;
	for (const char *p = sql; *p; p++)
		questions += *p == '?';
	size_t cap = strlen(sql) + questions * 8 + 1;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t at = 0;
	*count = 0;
	for (const char *p = sql; *p;) {
		size_t span = literal_span(sql, p);
		if (span > 0) {
			memcpy(out + at, p, span);
			at += span;
			p += span;
		} else if (*p == '?') {
			at += (size_t)snprintf(out + at, cap - at, "$%d", ++*count);
			p++;
		} else {
			out[at++] = *p++;
		}
	}
	out[at] = '\0';
	return out;
}

/* ---- statements ------------------------------------------------------------ */

/* The SQL the server gets: numbered placeholders, RETURNING for inserts. */
static char *server_sql(db_stmt *s, int *count)
{
	char *numbered = number_placeholders(s->sql, count);
	if (!numbered || !s->pk)
		return numbered;
	char *returning = db_sql_with_returning(numbered, s->pk);
	free(numbered);
	return returning;
}

static int prepare(db_stmt *s, ms_err *e)
{
	int count = 0;
	char *sql = server_sql(s, &count);
	pg_stmt *p = calloc(1, sizeof *p);
	if (!sql || !p || !(p->values = calloc((size_t)count + 1, sizeof *p->values))) {
		free(sql);
		free(p);
		return db_fail_sql(s->d, s->sql, e, "out of memory");
	}
	snprintf(p->name, sizeof p->name, "mstore_%lu", ++s->d->next_serial);
	PGresult *r = pq.PQprepare(conn_of(s->d), p->name, sql, count, NULL);
	free(sql);
	if (!result_ok(r)) {
		free(p->values);
		free(p);
		return fail_result(s->d, s->sql, r, e);
	}
	pq.PQclear(r);
	s->impl = p;
	s->nparams = count;
	return 0;
}

static int set_value(db_stmt *s, int idx, const char *text, ms_err *e)
{
	pg_stmt *p = stmt_of(s);
	char *copy = NULL;
	if (text && !(copy = strdup(text)))
		return db_fail_sql(s->d, s->sql, e, "out of memory");
	free(p->values[idx - 1]);
	p->values[idx - 1] = copy;
	return 0;
}

static int bind_int64(db_stmt *s, int idx, int64_t v, ms_err *e)
{
	char text[32];
	snprintf(text, sizeof text, "%lld", (long long)v);
	return set_value(s, idx, text, e);
}

static int bind_text(db_stmt *s, int idx, const char *v, ms_err *e)
{
	return set_value(s, idx, v, e);
}

static int bind_null(db_stmt *s, int idx, ms_err *e)
{
	return set_value(s, idx, NULL, e);
}

/* Rows written, from the command tag ("UPDATE 3"); a SELECT wrote none. */
static int64_t rows_changed(const PGresult *r)
{
	if (strncmp(pq.PQcmdStatus((PGresult *)r), "SELECT", 6) == 0)
		return 0;
	return strtoll(pq.PQcmdTuples((PGresult *)r), NULL, 10);
}

static int execute(db_stmt *s, ms_err *e)
{
	pg_stmt *p = stmt_of(s);
	PGresult *r = pq.PQexecPrepared(conn_of(s->d), p->name, s->nparams, (const char *const *)p->values, NULL,
	                             NULL, 0);
	if (!result_ok(r))
		return fail_result(s->d, s->sql, r, e);
	p->res = r;
	p->row = -1;
	s->changes = rows_changed(r);
	if (s->pk && pq.PQntuples(r) > 0)
		s->insert_id = db_text_to_int64(pq.PQgetvalue(r, 0, 0));
	return 0;
}

static int step(db_stmt *s, ms_err *e)
{
	pg_stmt *p = stmt_of(s);
	if (!p->res && execute(s, e) < 0)
		return DB_ERROR;
	/* An insert's RETURNING row became db_insert_id. */
	if (s->pk || pq.PQresultStatus(p->res) != PGRES_TUPLES_OK)
		return DB_DONE;
	return ++p->row < pq.PQntuples(p->res) ? DB_ROW : DB_DONE;
}

static int column_count(db_stmt *s)
{
	pg_stmt *p = stmt_of(s);
	return p->res ? pq.PQnfields(p->res) : 0;
}

static bool column_is_null(db_stmt *s, int col)
{
	pg_stmt *p = stmt_of(s);
	return pq.PQgetisnull(p->res, p->row, col);
}

static const char *column_text(db_stmt *s, int col)
{
	pg_stmt *p = stmt_of(s);
	return pq.PQgetisnull(p->res, p->row, col) ? NULL : pq.PQgetvalue(p->res, p->row, col);
}

static int64_t column_int64(db_stmt *s, int col)
{
	return db_text_to_int64(column_text(s, col));
}

static int reset(db_stmt *s, ms_err *e)
{
	(void)e;
	pg_stmt *p = stmt_of(s);
	pq.PQclear(p->res);
	p->res = NULL;
	return 0;
}

static void clear_bindings(db_stmt *s)
{
	pg_stmt *p = stmt_of(s);
	for (int i = 0; i < s->nparams; i++) {
		free(p->values[i]);
		p->values[i] = NULL;
	}
}

/* Free the server's copy too (a long run prepares many statements).  The
 * name is ours, generated above, never data. */
static void deallocate(db *d, const char *name)
{
	char sql[64];
	if (pq.PQstatus(conn_of(d)) != CONNECTION_OK)
		return;
	snprintf(sql, sizeof sql, "DEALLOCATE %s", name);
	pq.PQclear(pq.PQexec(conn_of(d), sql));
}

static void finalize(db_stmt *s)
{
	pg_stmt *p = stmt_of(s);
	reset(s, NULL);
	clear_bindings(s);
	deallocate(s->d, p->name);
	free(p->values);
	free(p);
}

/* ---- COPY FROM STDIN (db.h) ------------------------------------------------- */

/* Rows are sent in chunks of about this many bytes. */
#define COPY_CHUNK (256 * 1024)

struct db_copy {
	db *d;
	char *sql;
	char *buf;
	size_t len, cap;
	bool oom;          /* a value could not be buffered: the load fails */
	bool first;        /* the next value is its row's first */
};

bool db_copy_supported(const db *d)
{
	return d->url.dialect == DB_PGSQL;
}

static void put(db_copy *c, const char *p, size_t n)
{
	if (c->oom)
		return;
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : COPY_CHUNK + 4096;
		while (cap < c->len + n)
			cap *= 2;
		char *b = realloc(c->buf, cap);
		if (!b) {
			c->oom = true;
			return;
		}
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

int db_copy_begin(db *d, const char *table, const char *const *columns, size_t ncolumns, db_copy **out,
                  ms_err *e)
{
	if (!db_copy_supported(d))
		return db_fail(d, e, MS_E_INTERNAL, "db_copy_begin: COPY is PostgreSQL's");
	db_copy *c = calloc(1, sizeof *c);
	size_t len = strlen(table) + 64;
	for (size_t i = 0; i < ncolumns; i++)
		len += strlen(columns[i]) + 2;
	if (!c || !(c->sql = malloc(len))) {
		free(c);
		return db_fail(d, e, MS_E_NOMEM, "out of memory");
	}
	int n = snprintf(c->sql, len, "COPY %s (", table);
	for (size_t i = 0; i < ncolumns; i++)
		n += snprintf(c->sql + n, len - (size_t)n, "%s%s", i ? ", " : "", columns[i]);
	snprintf(c->sql + n, len - (size_t)n, ") FROM STDIN");
	c->d = d;
	c->first = true;
	PGresult *r = pq.PQexec(conn_of(d), c->sql);
	if (pq.PQresultStatus(r) != PGRES_COPY_IN) {
		int rc = fail_result(d, c->sql, r, e);
		free(c->sql);
		free(c);
		return rc;
	}
	pq.PQclear(r);
	*out = c;
	return 0;
}

/* COPY's text format: backslash, tab, newline and carriage return escaped. */
void db_copy_text(db_copy *c, const char *v)
{
	if (!c->first)
		put(c, "\t", 1);
	c->first = false;
	if (!v) {
		put(c, "\\N", 2);
		return;
	}
	const char *run = v;
	for (const char *p = v; *p; p++) {
		const char *esc = *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : NULL;
		if (!esc)
			continue;
		put(c, run, (size_t)(p - run));
		put(c, esc, 2);
		run = p + 1;
	}
	put(c, run, strlen(run));
}

void db_copy_int64(db_copy *c, int64_t v)
{
	char num[24];
	snprintf(num, sizeof num, "%" PRId64, v);
	db_copy_text(c, num);
}

static int send_chunk(db_copy *c, ms_err *e)
{
	if (c->oom)
		return db_fail(c->d, e, MS_E_NOMEM, "out of memory");
	if (c->len && pq.PQputCopyData(conn_of(c->d), c->buf, (int)c->len) != 1)
		return fail_result(c->d, c->sql, NULL, e);
	c->len = 0;
	return 0;
}

int db_copy_end_row(db_copy *c, ms_err *e)
{
	put(c, "\n", 1);
	c->first = true;
	return c->len >= COPY_CHUNK || c->oom ? send_chunk(c, e) : 0;
}

static void copy_free(db_copy *c)
{
	free(c->buf);
	free(c->sql);
	free(c);
}

int db_copy_finish(db_copy *c, ms_err *e)
{
	int rc = send_chunk(c, e);
	if (pq.PQputCopyEnd(conn_of(c->d), rc == 0 ? NULL : "mstore: the load failed") != 1 && rc == 0)
		rc = fail_result(c->d, c->sql, NULL, e);
	PGresult *r;
	while ((r = pq.PQgetResult(conn_of(c->d)))) {
		if (rc == 0 && !result_ok(r))
			rc = fail_result(c->d, c->sql, r, e);
		else
			pq.PQclear(r);
	}
	copy_free(c);
	return rc;
}

void db_copy_abort(db_copy *c)
{
	if (!c)
		return;
	pq.PQputCopyEnd(conn_of(c->d), "mstore: the load was cancelled");
	PGresult *r;
	while ((r = pq.PQgetResult(conn_of(c->d))))
		pq.PQclear(r);
	copy_free(c);
}

const db_ops db_pgsql_ops = {
	.open = open_db,
	.close = close_db,
	.exec = exec,
	.begin_sql = "BEGIN",
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
