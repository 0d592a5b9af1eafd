/* db.c - database URLs, the statement life cycle and error messages shared
 * by the three drivers (db_sqlite.c, db_pgsql.c, db_mysql.c). */
#include "db/db.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_internal.h"

#define URL_FORMS "sqlite:PATH, postgresql://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB"
#define PASSWORD_HELP "passwords never go in the URL; use the config file, --password-file or MSTORE_DB_PASSWORD"

static const struct {
	const char *prefix;
	db_dialect dialect;
} server_schemes[] = {
	{ "postgresql://", DB_PGSQL },
	{ "postgres://", DB_PGSQL },
	{ "mysql://", DB_MYSQL },
	{ "mariadb://", DB_MYSQL },
};

/* ---- URLs ------------------------------------------------------------------ */

/* The URL as the user wrote it, but with anything after "user:" in the
 * authority hidden: a URL is echoed in messages, a password never is. */
static void url_for_message(const char *url, char *buf, size_t len)
{
	const char *authority = strstr(url, "://");
	authority = authority ? authority + 3 : url;
	size_t auth_len = strcspn(authority, "/");
	const char *at = memrchr(authority, '@', auth_len);
	const char *colon = at ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
	if (!colon) {
		snprintf(buf, len, "%s", url);
		return;
	}
	snprintf(buf, len, "%.*s:***%s", (int)(colon - url), url, at);
}

static int url_error(const char *url, ms_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int url_error(const char *url, ms_err *e, const char *fmt, ...)
{
	char shown[1024], cause[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cause, sizeof cause, fmt, ap);
	va_end(ap);
	url_for_message(url, shown, sizeof shown);
	return ms_err_set(e, MS_E_USAGE, "database URL '%s': %s", shown, cause);
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copy src[0..n) to dst decoding %XX escapes (so a user name may hold an
 * '@' or ':' written as %40 or %3A). */
static int decode_part(const char *url, const char *what, const char *src, size_t n, char *dst, size_t cap,
                       ms_err *e)
{
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)src[i];
		if (c == '%') {
			int hi = i + 1 < n ? hex_value((unsigned char)src[i + 1]) : -1;
			int lo = i + 2 < n ? hex_value((unsigned char)src[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return url_error(url, e, "bad %%-escape in the %s", what);
			c = hi * 16 + lo;
			i += 2;
		}
		if (out + 1 >= cap)
			return url_error(url, e, "the %s is too long (at most %zu bytes)", what, cap - 1);
		dst[out++] = (char)c;
	}
	dst[out] = '\0';
	return 0;
}

static int parse_sqlite(const char *url, db_url *out, ms_err *e)
{
	const char *path = url + strlen("sqlite:");
	if (strncmp(path, "//", 2) == 0)
		path += 2;
	if (!*path)
		return url_error(url, e, "no file name after sqlite:");
	if (strlen(path) >= sizeof out->path)
		return url_error(url, e, "the file name is too long");
	out->dialect = DB_SQLITE;
	strcpy(out->path, path);
	return 0;
}

/* USER@ before the host: optional, but never with a password. */
static int parse_user(const char *url, const char *authority, size_t len, const char **host, db_url *out,
                      ms_err *e)
{
	const char *at = memrchr(authority, '@', len);
	*host = authority;
	if (!at)
		return 0;
	size_t user_len = (size_t)(at - authority);
	if (memchr(authority, ':', user_len))
		return url_error(url, e, "carries a password; " PASSWORD_HELP);
	if (user_len == 0)
		return url_error(url, e, "empty user name before '@'");
	*host = at + 1;
	return decode_part(url, "user name", authority, user_len, out->user, sizeof out->user, e);
}

static int parse_port(const char *url, const char *text, size_t len, db_url *out, ms_err *e)
{
	long port = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)text[i]) || port > 65535)
			return url_error(url, e, "bad port '%.*s' (a number from 1 to 65535)", (int)len, text);
		port = port * 10 + (text[i] - '0');
	}
	if (len == 0 || port < 1 || port > 65535)
		return url_error(url, e, "bad port '%.*s' (a number from 1 to 65535)", (int)len, text);
	out->port = (int)port;
	return 0;
}

/* HOST, HOST:PORT, [IPV6] or [IPV6]:PORT. */
static int parse_host_port(const char *url, const char *text, size_t len, db_url *out, ms_err *e)
{
	const char *host = text, *port = NULL;
	size_t host_len;
	if (len > 0 && text[0] == '[') {
		const char *close = memchr(text, ']', len);
		if (!close)
			return url_error(url, e, "'[' without ']' around the IPv6 address");
		host = text + 1;
		host_len = (size_t)(close - host);
		if (close + 1 < text + len) {
			if (close[1] != ':')
				return url_error(url, e, "unexpected text after the IPv6 address");
			port = close + 2;
		}
	} else {
		const char *colon = memchr(text, ':', len);
		if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - text)))
			return url_error(url, e, "an IPv6 address must be written in brackets: [ADDRESS]");
		host_len = colon ? (size_t)(colon - text) : len;
		port = colon ? colon + 1 : NULL;
	}
	if (host_len == 0)
		return url_error(url, e, "no host name");
	if (decode_part(url, "host name", host, host_len, out->host, sizeof out->host, e) < 0)
		return -1;
	if (port)
		return parse_port(url, port, (size_t)(text + len - port), out, e);
	out->port = out->dialect == DB_PGSQL ? 5432 : 3306;
	return 0;
}

static int parse_server(const char *url, const char *rest, db_dialect dialect, db_url *out, ms_err *e)
{
	out->dialect = dialect;
	const char *slash = strchr(rest, '/');
	size_t auth_len = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *host;
	/* The user part first: a password must be refused before anything else
	 * could go wrong with the URL. */
	if (parse_user(url, rest, auth_len, &host, out, e) < 0)
		return -1;
	if (!slash || !slash[1])
		return url_error(url, e, "no database name (expected %s)", URL_FORMS);
	const char *dbname = slash + 1;
	if (strpbrk(dbname, "/?#"))
		return url_error(url, e, "the database name may not contain '/', '?' or '#' "
		                 "(connection options are not supported in the URL)");
	if (parse_host_port(url, host, (size_t)(rest + auth_len - host), out, e) < 0)
		return -1;
	return decode_part(url, "database name", dbname, strlen(dbname), out->dbname, sizeof out->dbname, e);
}

int db_url_parse(const char *url, db_url *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	if (!url || !*url)
		return ms_err_set(e, MS_E_USAGE, "no database URL given (expected %s)", URL_FORMS);
	if (strncmp(url, "sqlite:", 7) == 0)
		return parse_sqlite(url, out, e);
	for (size_t i = 0; i < sizeof server_schemes / sizeof server_schemes[0]; i++) {
		size_t n = strlen(server_schemes[i].prefix);
		if (strncmp(url, server_schemes[i].prefix, n) == 0)
			return parse_server(url, url + n, server_schemes[i].dialect, out, e);
	}
	return url_error(url, e, "unknown kind of database (expected %s)", URL_FORMS);
}

/* A bounded string being built; output past the end is dropped. */
typedef struct {
	char *buf;
	size_t len, at;
} text_out;

static void put(text_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text_out *o, const char *fmt, ...)
{
	if (o->at + 1 >= o->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->at, o->len - o->at, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->at = o->at + (size_t)n < o->len ? o->at + (size_t)n : o->len - 1;
}

/* Append `text`, %-escaping what would split the URL when parsed again. */
static void put_escaped(text_out *o, const char *text, bool keep_colon)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		bool plain = *p > ' ' && *p != 0x7f && !strchr("%@/?#[]", *p) && (*p != ':' || keep_colon);
		if (plain)
			put(o, "%c", *p);
		else
			put(o, "%%%02X", *p);
	}
}

void db_url_format(const db_url *u, char *buf, size_t len)
{
	if (len == 0)
		return;
	buf[0] = '\0';
	text_out o = { buf, len, 0 };
	if (u->dialect == DB_SQLITE) {
		put(&o, "sqlite:%s", u->path);
		return;
	}
	bool pg = u->dialect == DB_PGSQL;
	bool ipv6 = strchr(u->host, ':') != NULL;
	put(&o, "%s://", pg ? "postgresql" : "mysql");
	if (u->user[0]) {
		put_escaped(&o, u->user, false);
		put(&o, "@");
	}
	put(&o, "%s", ipv6 ? "[" : "");
	put_escaped(&o, u->host, ipv6);
	put(&o, "%s:%d/", ipv6 ? "]" : "", u->port > 0 ? u->port : (pg ? 5432 : 3306));
	put_escaped(&o, u->dbname, true);
}

void db_server_address(const db *d, char *buf, size_t len)
{
	bool ipv6 = strchr(d->url.host, ':') != NULL;
	snprintf(buf, len, "%s%s%s:%d", ipv6 ? "[" : "", d->url.host, ipv6 ? "]" : "", d->url.port);
}

/* ---- messages -------------------------------------------------------------- */

/* Copy `text` onto one line: runs of blanks become one space; with
 * `sentences`, a line break becomes "; " (driver messages put a hint on
 * the next line without punctuation). */
static void fold_text(const char *text, char *buf, size_t len, bool sentences)
{
	size_t out = 0;
	bool blank = false, line_break = false;
	if (len == 0)
		return;
	for (const char *p = text ? text : ""; *p && out + 1 < len; p++) {
		if (isspace((unsigned char)*p)) {
			blank = out > 0;
			line_break |= blank && sentences && *p == '\n';
			continue;
		}
		if (line_break && !strchr(".:;,", buf[out - 1]) && out + 2 < len)
			buf[out++] = ';';
		if (blank && out + 2 < len)
			buf[out++] = ' ';
		blank = line_break = false;
		buf[out++] = *p;
	}
	buf[out] = '\0';
}

void db_fold_message(const char *cause, char *buf, size_t len)
{
	fold_text(cause, buf, len, true);
}

/* The statement as quoted in messages: folded onto one line and cut to
 * DB_SQL_EXCERPT bytes (not inside a UTF-8 sequence), "..." if cut. */
static void sql_excerpt(const char *sql, char *buf, size_t len)
{
	char folded[DB_SQL_EXCERPT + 2];
	fold_text(sql, folded, sizeof folded, false);
	size_t n = strlen(folded);
	if (n <= DB_SQL_EXCERPT) {
		snprintf(buf, len, "%s", folded);
		return;
	}
	n = DB_SQL_EXCERPT;
	while (n > 0 && ((unsigned char)folded[n] & 0xC0) == 0x80)
		n--;
	snprintf(buf, len, "%.*s...", (int)n, folded);
}

int db_fail(db *d, ms_err *e, ms_errcode code, const char *fmt, ...)
{
	char cause[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cause, sizeof cause, fmt, ap);
	va_end(ap);
	return ms_err_set(e, code, "%s: %s", d->name, cause);
}

/* Written by the CLI before it opens anything; read by every thread after. */
static int verbosity;

void db_set_verbosity(int level)
{
	verbosity = level;
}

/* The cause comes first and whole: callers cut messages to their lines
 * (sync's "Failed" line), and what is cut must be the statement, never why
 * it failed. */
int db_fail_sql(db *d, const char *sql, ms_err *e, const char *fmt, ...)
{
	char cause[1536], excerpt[DB_SQL_EXCERPT + 8];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cause, sizeof cause, fmt, ap);
	va_end(ap);
	if (verbosity < 2)
		return ms_err_set(e, MS_E_DB, "%s: %s", d->name, cause);
	sql_excerpt(sql, excerpt, sizeof excerpt);
	return ms_err_set(e, MS_E_DB, "%s: %s [statement: %s]", d->name, cause, excerpt);
}

int db_fail_misuse(db *d, const char *sql, ms_err *e, const char *fmt, ...)
{
	char cause[1536], excerpt[DB_SQL_EXCERPT + 8];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cause, sizeof cause, fmt, ap);
	va_end(ap);
	sql_excerpt(sql, excerpt, sizeof excerpt);
	return ms_err_set(e, MS_E_INTERNAL, "%s: %s: %s", d->name, excerpt, cause);
}

int64_t db_text_to_int64(const char *text)
{
	if (!text)
		return 0;
	if (strcmp(text, "t") == 0)
		return 1;
	if (strcmp(text, "f") == 0)
		return 0;
	return strtoll(text, NULL, 10);
}

char *db_sql_with_returning(const char *sql, const char *pk)
{
	size_t n = strlen(sql);
	while (n > 0 && (isspace((unsigned char)sql[n - 1]) || sql[n - 1] == ';'))
		n--;
	char *out;
	if (asprintf(&out, "%.*s RETURNING %s", (int)n, sql, pk) < 0)
		return NULL;
	return out;
}

/* ---- connections ----------------------------------------------------------- */

static const db_ops *ops_for(db_dialect dialect)
{
	switch (dialect) {
	case DB_SQLITE: return &db_sqlite_ops;
	case DB_PGSQL: return &db_pgsql_ops;
	case DB_MYSQL: return &db_mysql_ops;
	}
	return NULL;
}

int db_open(const char *url, const char *password, db_open_mode mode, db **out, ms_err *e)
{
	db_url parsed;
	*out = NULL;
	if (db_url_parse(url, &parsed, e) < 0)
		return -1;
	db *d = calloc(1, sizeof *d);
	if (!d)
		return ms_err_set(e, MS_E_NOMEM, "out of memory opening a database");
	d->url = parsed;
	d->ops = ops_for(parsed.dialect);
	db_url_format(&parsed, d->name, sizeof d->name);
	if (d->ops->open(d, password && *password ? password : NULL, mode, e) < 0) {
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

static void stmt_destroy(db_stmt *s)
{
	s->d->ops->finalize(s);
	free(s->sql);
	free(s->pk);
	free(s);
}

void db_close(db *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nparked; i++)
		stmt_destroy(d->parked[i]);
	d->ops->close(d);
	free(d);
}

db_dialect db_get_dialect(const db *d)
{
	return d->url.dialect;
}

const db_url *db_get_url(const db *d)
{
	return &d->url;
}

const char *db_name(const db *d)
{
	return d->name;
}

int db_exec(db *d, const char *sql, ms_err *e)
{
	return d->ops->exec(d, sql, e);
}

int db_begin(db *d, ms_err *e)
{
	return d->ops->exec(d, d->ops->begin_sql, e);
}

int db_commit(db *d, ms_err *e)
{
	return d->ops->commit(d, e);
}

int db_rollback(db *d)
{
	ms_err ignored;
	return d->ops->exec(d, "ROLLBACK", &ignored);
}

/* ---- statements ------------------------------------------------------------ */

/* A parked statement with the same SQL (and the same identity column). */
static db_stmt *take_parked(db *d, const char *sql, const char *pk)
{
	for (size_t i = d->nparked; i-- > 0;) {
		db_stmt *s = d->parked[i];
		bool same_pk = pk ? s->pk && strcmp(s->pk, pk) == 0 : !s->pk;
		if (same_pk && strcmp(s->sql, sql) == 0) {
			memmove(&d->parked[i], &d->parked[i + 1], (d->nparked - i - 1) * sizeof d->parked[0]);
			d->nparked--;
			return s;
		}
	}
	return NULL;
}

static int prepare_new(db *d, const char *sql, const char *pk, db_stmt **out, ms_err *e)
{
	db_stmt *s = calloc(1, sizeof *s);
	if (!s || !(s->sql = strdup(sql)) || (pk && !(s->pk = strdup(pk)))) {
		if (s)
			free(s->sql);
		free(s);
		return db_fail_sql(d, sql, e, "out of memory");
	}
	s->d = d;
	if (d->ops->prepare(s, e) < 0) {
		free(s->sql);
		free(s->pk);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

static int prepare_common(db *d, const char *sql, const char *pk, db_stmt **out, ms_err *e)
{
	*out = take_parked(d, sql, pk);
	if (*out)
		return 0;
	return prepare_new(d, sql, pk, out, e);
}

int db_prepare(db *d, const char *sql, db_stmt **out, ms_err *e)
{
	return prepare_common(d, sql, NULL, out, e);
}

/* The identity column goes into the SQL text (RETURNING pk), so it must be
 * a plain identifier. */
static bool is_identifier(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

int db_prepare_insert(db *d, const char *sql, const char *pk, db_stmt **out, ms_err *e)
{
	*out = NULL;
	if (!pk || !is_identifier(pk)) {
		return db_fail_misuse(d, sql, e, "identity column '%s' is not a plain column name", pk ? pk : "(none)");
	}
	return prepare_common(d, sql, pk, out, e);
}

static int check_param(db_stmt *s, int idx, ms_err *e)
{
	if (s->state != DB_ST_FRESH)
		return db_fail_misuse(s->d, s->sql, e, "parameter %d bound while the statement runs (db_reset it first)",
		                      idx);
	if (idx < 1 || idx > s->nparams)
		return db_fail_misuse(s->d, s->sql, e, "parameter %d out of range (the statement has %d)", idx,
		                      s->nparams);
	return 0;
}

int db_bind_int64(db_stmt *s, int idx, int64_t v, ms_err *e)
{
	if (check_param(s, idx, e) < 0)
		return -1;
	return s->d->ops->bind_int64(s, idx, v, e);
}

int db_bind_text(db_stmt *s, int idx, const char *v, ms_err *e)
{
	if (check_param(s, idx, e) < 0)
		return -1;
	return v ? s->d->ops->bind_text(s, idx, v, e) : s->d->ops->bind_null(s, idx, e);
}

int db_bind_null(db_stmt *s, int idx, ms_err *e)
{
	if (check_param(s, idx, e) < 0)
		return -1;
	return s->d->ops->bind_null(s, idx, e);
}

int db_step(db_stmt *s, ms_err *e)
{
	switch (s->state) {
	case DB_ST_DONE:
		return DB_DONE;
	case DB_ST_FAILED:
		db_fail_misuse(s->d, s->sql, e, "stepped again after a failure (db_reset it first)");
		return DB_ERROR;
	case DB_ST_FRESH:
		s->insert_id = 0;
		s->changes = 0;
		break;
	case DB_ST_ROWS:
		break;
	}
	int rc = s->d->ops->step(s, e);
	s->state = rc == DB_ROW ? DB_ST_ROWS : rc == DB_DONE ? DB_ST_DONE : DB_ST_FAILED;
	return rc;
}

int db_column_count(db_stmt *s)
{
	return s->state == DB_ST_ROWS ? s->d->ops->column_count(s) : 0;
}

static bool column_valid(db_stmt *s, int col)
{
	return s->state == DB_ST_ROWS && col >= 0 && col < s->d->ops->column_count(s);
}

bool db_column_is_null(db_stmt *s, int col)
{
	return column_valid(s, col) ? s->d->ops->column_is_null(s, col) : true;
}

int64_t db_column_int64(db_stmt *s, int col)
{
	return column_valid(s, col) ? s->d->ops->column_int64(s, col) : 0;
}

const char *db_column_text(db_stmt *s, int col)
{
	return column_valid(s, col) ? s->d->ops->column_text(s, col) : NULL;
}

int64_t db_insert_id(db_stmt *s)
{
	return s->insert_id;
}

int64_t db_changes(db_stmt *s)
{
	return s->changes;
}

int db_reset(db_stmt *s, ms_err *e)
{
	int rc = s->d->ops->reset(s, e);
	s->state = rc < 0 ? DB_ST_FAILED : DB_ST_FRESH;
	return rc;
}

/* Keep the statement prepared for the next db_prepare of the same SQL;
 * the oldest parked statement makes room. */
static void park(db_stmt *s)
{
	db *d = s->d;
	d->ops->clear_bindings(s);
	if (d->nparked == DB_PARKED_MAX) {
		stmt_destroy(d->parked[0]);
		memmove(&d->parked[0], &d->parked[1], (DB_PARKED_MAX - 1) * sizeof d->parked[0]);
		d->nparked--;
	}
	d->parked[d->nparked++] = s;
}

void db_finalize(db_stmt *s)
{
	if (!s)
		return;
	ms_err ignored;
	if (s->d->ops->reset(s, &ignored) < 0) {
		stmt_destroy(s);
		return;
	}
	s->state = DB_ST_FRESH;
	park(s);
}

int db_query_int64(db *d, const char *sql, int64_t *out, ms_err *e)
{
	db_stmt *s;
	if (db_prepare(d, sql, &s, e) < 0)
		return -1;
	int rc = db_step(s, e);
	if (rc == DB_ROW)
		*out = db_column_int64(s, 0);
	db_finalize(s);
	return rc == DB_ERROR ? -1 : rc == DB_ROW ? 1 : 0;
}
