/* test_db.c - the database drivers.
 *
 * URL parsing and connection failures need no server.  The driver tests
 * run against SQLite always, and against PostgreSQL and MariaDB when
 * tests/db-servers.sh runs them: its env file
 * (${MSTORE_TEST_ENV:-${MSTORE_TEST_DBS:-/tmp/mstore-test-dbs}/env}) or the
 * environment names the ports, user and password.  Without a server those
 * groups are skipped, unless MSTORE_TEST_REQUIRE_SERVERS=1, which makes a
 * missing server a failure.  Every test gets a database of its own: a
 * temporary SQLite file, or a CREATE DATABASE with a generated name that is
 * dropped afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"

/* ---- where the servers are ------------------------------------------------- */

typedef struct backend {
	db_dialect dialect;
	const char *label;
	bool configured;
	int port;
	char user[64];
	char password[256];
	db *admin;          /* connection to the server's own database */
	/* the current test's database */
	char dbname[64];
	char dir[256];      /* SQLite: the temporary directory */
	char url[512];
	db *conn;
} backend;

static backend sqlite_backend = { .dialect = DB_SQLITE, .label = "sqlite", .configured = true };
static backend pg_backend = { .dialect = DB_PGSQL, .label = "pgsql" };
static backend my_backend = { .dialect = DB_MYSQL, .label = "mysql" };

#include "test_env.h"

/* ---- per-test databases ---------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static int server_group_setup(void **state)
{
	backend *b = *state;
	char url[512];
	ms_err e;
	server_url(b, b->dialect == DB_PGSQL ? "postgres" : "mysql", url, sizeof url);
	if (db_open(url, b->password, DB_OPEN_READ_WRITE, &b->admin, &e) < 0) {
		fprintf(stderr, "%s server configured but unusable: %s\n", b->label, e.msg);
		return -1;
	}
	return 0;
}

static int server_group_teardown(void **state)
{
	backend *b = *state;
	db_close(b->admin);
	b->admin = NULL;
	return 0;
}

/* CREATE DATABASE cannot take a bound name; the name is generated here. */
static int create_server_db(backend *b, ms_err *e)
{
	static int serial;
	char sql[256];
	snprintf(b->dbname, sizeof b->dbname, "mst_unit_%ld_%d", (long)getpid(), ++serial);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s%s", b->dbname,
	         b->dialect == DB_MYSQL ? " CHARACTER SET utf8mb4" : "");
	if (db_exec(b->admin, sql, e) < 0)
		return -1;
	server_url(b, b->dbname, b->url, sizeof b->url);
	return 0;
}

static int db_setup(void **state)
{
	backend *b = *state;
	ms_err e;
	if (b->dialect == DB_SQLITE) {
		snprintf(b->dir, sizeof b->dir, "/tmp/test_db.XXXXXX");
		if (!mkdtemp(b->dir))
			return -1;
		snprintf(b->url, sizeof b->url, "sqlite:%s/test.db", b->dir);
	} else if (create_server_db(b, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	if (db_open(b->url, b->password, DB_OPEN_CREATE, &b->conn, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	return 0;
}

static int db_teardown(void **state)
{
	backend *b = *state;
	db_close(b->conn);
	b->conn = NULL;
	if (b->dialect == DB_SQLITE)
		return nftw(b->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	char sql[256];
	ms_err e;
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s%s", b->dbname,
	         b->dialect == DB_PGSQL ? " WITH (FORCE)" : "");
	if (db_exec(b->admin, sql, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	return 0;
}

/* ---- helpers --------------------------------------------------------------- */

#define MUST(call)                                                                \
	do {                                                                      \
		ms_err must_e_ = { 0 };                                           \
		ms_err *e_ = &must_e_;                                            \
		if ((call) < 0)                                                   \
			fail_msg("%s failed: %s", #call, must_e_.msg);            \
		(void)e_;                                                         \
	} while (0)

#define assert_contains(haystack, needle)                                          \
	do {                                                                       \
		if (!strstr((haystack), (needle)))                                 \
			fail_msg("'%s' does not contain '%s'", (haystack), (needle)); \
	} while (0)

static db *conn(void **state)
{
	return ((backend *)*state)->conn;
}

static db_dialect dialect(void **state)
{
	return ((backend *)*state)->dialect;
}

static void create_table(db *d)
{
	static const char *const ddl[] = {
		[DB_SQLITE] = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, n BIGINT)",
		[DB_PGSQL] = "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, name TEXT, n BIGINT)",
		[DB_MYSQL] = "CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, name LONGTEXT, n BIGINT)"
		             " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	};
	ms_err e;
	if (db_exec(d, ddl[db_get_dialect(d)], &e) < 0)
		fail_msg("%s", e.msg);
}

static int64_t insert_row(db *d, const char *name, int64_t n)
{
	db_stmt *s;
	ms_err e;
	if (db_prepare_insert(d, "INSERT INTO t (name, n) VALUES (?, ?)", "id", &s, &e) < 0 ||
	    db_bind_text(s, 1, name, &e) < 0 || db_bind_int64(s, 2, n, &e) < 0)
		fail_msg("%s", e.msg);
	if (db_step(s, &e) != DB_DONE)
		fail_msg("%s", e.msg);
	assert_int_equal(db_changes(s), 1);
	int64_t id = db_insert_id(s);
	db_finalize(s);
	return id;
}

static int64_t count_rows(db *d, const char *sql)
{
	int64_t n = -1;
	ms_err e;
	if (db_query_int64(d, sql, &n, &e) != 1)
		fail_msg("%s: %s", sql, e.msg);
	return n;
}

/* ---- URLs ------------------------------------------------------------------ */

static void test_url_parse_good(void **state)
{
	(void)state;
	static const struct {
		const char *url;
		db_dialect dialect;
		const char *user, *host;
		int port;
		const char *dbname, *path;
	} cases[] = {
		{ "sqlite:/var/lib/mstore/x.db", DB_SQLITE, "", "", 0, "", "/var/lib/mstore/x.db" },
		{ "sqlite:rel/x.db", DB_SQLITE, "", "", 0, "", "rel/x.db" },
		{ "sqlite:///abs/x.db", DB_SQLITE, "", "", 0, "", "/abs/x.db" },
		{ "postgresql://mstore@127.0.0.1:55432/mail", DB_PGSQL, "mstore", "127.0.0.1", 55432, "mail", "" },
		{ "postgres://u@db.example.org/hm", DB_PGSQL, "u", "db.example.org", 5432, "hm", "" },
		{ "mysql://root@127.0.0.1/hmail", DB_MYSQL, "root", "127.0.0.1", 3306, "hmail", "" },
		{ "mariadb://u@h:3307/d", DB_MYSQL, "u", "h", 3307, "d", "" },
		{ "mysql://[::1]:3306/h", DB_MYSQL, "", "::1", 3306, "h", "" },
		{ "postgresql://[fe80::1]/h", DB_PGSQL, "", "fe80::1", 5432, "h", "" },
		{ "postgresql://user%40corp@h:1/db%20x", DB_PGSQL, "user@corp", "h", 1, "db x", "" },
		{ "postgresql://u@h:65535/d", DB_PGSQL, "u", "h", 65535, "d", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		db_url u;
		ms_err e = { 0 };
		if (db_url_parse(cases[i].url, &u, &e) < 0)
			fail_msg("%s: %s", cases[i].url, e.msg);
		assert_int_equal(u.dialect, cases[i].dialect);
		assert_string_equal(u.user, cases[i].user);
		assert_string_equal(u.host, cases[i].host);
		assert_int_equal(u.port, cases[i].port);
		assert_string_equal(u.dbname, cases[i].dbname);
		assert_string_equal(u.path, cases[i].path);
	}
}

static void test_url_parse_bad(void **state)
{
	(void)state;
	static const struct {
		const char *url, *message;
	} cases[] = {
		{ "", "no database URL given" },
		{ "/var/x.db", "unknown kind of database" },
		{ "oracle://u@h/d", "unknown kind of database" },
		{ "sqlite:", "no file name" },
		{ "postgresql://u:secret@h/d", "passwords never go in the URL; use the config file, --password-file or "
		                               "MSTORE_DB_PASSWORD" },
		{ "mysql://:pw@h:1/d", "passwords never go in the URL" },
		{ "postgresql://u@h", "no database name" },
		{ "postgresql://u@h/", "no database name" },
		{ "postgresql://u@h:0/d", "bad port '0'" },
		{ "postgresql://u@h:65536/d", "bad port '65536'" },
		{ "postgresql://u@h:54x/d", "bad port '54x'" },
		{ "postgresql://u@h:/d", "bad port ''" },
		{ "postgresql://u@/d", "no host name" },
		{ "postgresql://u@:5432/d", "no host name" },
		{ "postgresql://@h/d", "empty user name" },
		{ "postgresql://u@h/d?sslmode=disable", "may not contain" },
		{ "mysql://u@h/a/b", "may not contain" },
		{ "postgresql://u@::1/d", "brackets" },
		{ "postgresql://u@[::1/d", "without ']'" },
		{ "postgresql://u@[::1]x/d", "after the IPv6 address" },
		{ "postgresql://u%4@h/d", "bad %-escape in the user name" },
		{ "postgresql://u%00@h/d", "bad %-escape in the user name" },
		{ "postgresql://u@h/d%zz", "bad %-escape in the database name" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		db_url u;
		ms_err e = { 0 };
		if (db_url_parse(cases[i].url, &u, &e) != -1)
			fail_msg("'%s' was accepted", cases[i].url);
		assert_int_equal(e.code, MS_E_USAGE);
		assert_contains(e.msg, cases[i].message);
	}
}

static void test_url_password_never_echoed(void **state)
{
	(void)state;
	db_url u;
	ms_err e = { 0 };
	assert_int_equal(db_url_parse("postgresql://mstore:S3cr3t@127.0.0.1/mail", &u, &e), -1);
	assert_null(strstr(e.msg, "S3cr3t"));
	assert_contains(e.msg, "postgresql://mstore:***@127.0.0.1/mail");
	/* a URL that is wrong in another way too */
	assert_int_equal(db_url_parse("oracle://mstore:S3cr3t@h/d", &u, &e), -1);
	assert_null(strstr(e.msg, "S3cr3t"));
	/* db_open refuses it before trying to connect */
	db *d = NULL;
	assert_int_equal(db_open("mysql://mstore:S3cr3t@127.0.0.1:1/x", NULL, DB_OPEN_READ_WRITE, &d, &e), -1);
	assert_null(d);
	assert_null(strstr(e.msg, "S3cr3t"));
	assert_contains(e.msg, "passwords never go in the URL");
}

static void test_url_format(void **state)
{
	(void)state;
	static const struct {
		const char *url, *formatted;
	} cases[] = {
		{ "sqlite:///x/y.db", "sqlite:/x/y.db" },
		{ "sqlite:rel.db", "sqlite:rel.db" },
		{ "postgres://u@h/d", "postgresql://u@h:5432/d" },
		{ "postgresql://mstore@127.0.0.1:55432/x", "postgresql://mstore@127.0.0.1:55432/x" },
		{ "mariadb://[::1]/h", "mysql://[::1]:3306/h" },
		{ "mysql://root@db/hm", "mysql://root@db:3306/hm" },
		{ "postgresql://user%40corp@h/my%2fdb", "postgresql://user%40corp@h:5432/my%2Fdb" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		db_url u, again;
		ms_err e = { 0 };
		char buf[512];
		if (db_url_parse(cases[i].url, &u, &e) < 0)
			fail_msg("%s: %s", cases[i].url, e.msg);
		db_url_format(&u, buf, sizeof buf);
		assert_string_equal(buf, cases[i].formatted);
		/* the formatted URL names the same database */
		if (db_url_parse(buf, &again, &e) < 0)
			fail_msg("%s: %s", buf, e.msg);
		assert_memory_equal(&u, &again, sizeof u);
	}
	/* a short buffer gets a cut, terminated string */
	db_url u;
	ms_err e;
	char tiny[12];
	MUST(db_url_parse("postgresql://mstore@127.0.0.1:55432/x", &u, e_));
	db_url_format(&u, tiny, sizeof tiny);
	assert_string_equal(tiny, "postgresql:");
	(void)e;
}

/* ---- opening --------------------------------------------------------------- */

static void test_closed_port(void **state)
{
	(void)state;
	static const char *const urls[] = {
		"postgresql://mstore@127.0.0.1:1/x",
		"mysql://mstore@127.0.0.1:1/x",
	};
	for (size_t i = 0; i < 2; i++) {
		db *d = NULL;
		ms_err e = { 0 };
		assert_int_equal(db_open(urls[i], "pw", DB_OPEN_READ_WRITE, &d, &e), -1);
		assert_null(d);
		assert_int_equal(e.code, MS_E_DB);
		assert_contains(e.msg, urls[i]);
		assert_contains(e.msg, "cannot connect");
		assert_contains(e.msg, " at 127.0.0.1:1: ");
	}
}

static void test_sqlite_missing_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_db_missing.XXXXXX", url[160], path[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/none.db", dir);
	snprintf(url, sizeof url, "sqlite:%s", path);
	db *d = NULL;
	ms_err e = { 0 };
	assert_int_equal(db_open(url, NULL, DB_OPEN_READ_WRITE, &d, &e), -1);
	assert_null(d);
	assert_int_equal(e.code, MS_E_DB); /* like a server database that does not exist */
	assert_contains(e.msg, url);
	assert_contains(e.msg, "no such database file");
	struct stat st;
	assert_int_equal(stat(path, &st), -1); /* not created by the attempt */

	/* create = true cannot make a missing directory either */
	snprintf(url, sizeof url, "sqlite:%s/no/such/dir/x.db", dir);
	assert_int_equal(db_open(url, NULL, DB_OPEN_CREATE, &d, &e), -1);
	assert_contains(e.msg, url);
	assert_contains(e.msg, "cannot open");

	/* with create = true the file appears, in WAL mode */
	snprintf(url, sizeof url, "sqlite:%s", path);
	MUST(db_open(url, NULL, DB_OPEN_CREATE, &d, e_));
	assert_string_equal(db_name(d), url);
	assert_int_equal(db_get_dialect(d), DB_SQLITE);
	db_stmt *s;
	MUST(db_prepare(d, "PRAGMA journal_mode", &s, e_));
	assert_int_equal(db_step(s, &e), DB_ROW);
	assert_string_equal(db_column_text(s, 0), "wal");
	db_finalize(s);
	int64_t timeout = 0;
	assert_int_equal(db_query_int64(d, "PRAGMA busy_timeout", &timeout, &e), 1);
	assert_int_equal(timeout, 30000);
	db_close(d);
	assert_int_equal(stat(path, &st), 0);
	/* now it exists, so opening without create works */
	MUST(db_open(url, NULL, DB_OPEN_READ_WRITE, &d, e_));
	db_close(d);
	assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* ---- driver tests (every backend) ------------------------------------------ */

static void test_insert_ids(void **state)
{
	db *d = conn(state);
	create_table(d);
	int64_t ids[5];
	for (int i = 0; i < 5; i++) {
		ids[i] = insert_row(d, "x", i);
		assert_true(ids[i] > 0);
		if (i > 0)
			assert_true(ids[i] > ids[i - 1]);
	}
	/* the ids are the rows' keys */
	db_stmt *s;
	MUST(db_prepare(d, "SELECT n FROM t WHERE id = ?", &s, e_));
	for (int i = 0; i < 5; i++) {
		ms_err e;
		MUST(db_reset(s, e_));
		MUST(db_bind_int64(s, 1, ids[i], e_));
		assert_int_equal(db_step(s, &e), DB_ROW);
		assert_int_equal(db_column_int64(s, 0), i);
	}
	db_finalize(s);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), 5);
}

static const char *const tricky_texts[] = {
	"O'Brien",
	"say \"hi\"",
	"back\\slash \\' \\\\ \\n",
	"semi; DROP TABLE t; --",
	"'); DELETE FROM t; --",
	"? and $1 and :name and @v and %s",
	("Gr\xC3\xBC\xC3\x9F" "e, \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E, emoji \xF0\x9F\x93\xA7"),
	"",
	"tab\there\nnewline\r\ncrlf",
	"trailing space   ",
	"%_ LIKE wildcards",
	"\x01\x02\x7f control",
};

static void check_text_by_id(db *d, int64_t id, const char *want)
{
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, "SELECT name FROM t WHERE id = ?", &s, e_));
	MUST(db_bind_int64(s, 1, id, e_));
	if (db_step(s, &e) != DB_ROW)
		fail_msg("row %" PRId64 ": %s", id, e.msg);
	const char *got = db_column_text(s, 0);
	assert_non_null(got);
	assert_int_equal(strlen(got), strlen(want));
	assert_string_equal(got, want);
	assert_false(db_column_is_null(s, 0));
	assert_int_equal(db_step(s, &e), DB_DONE);
	db_finalize(s);
}

static int64_t count_named(db *d, const char *name)
{
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, "SELECT COUNT(*) FROM t WHERE name = ?", &s, e_));
	MUST(db_bind_text(s, 1, name, e_));
	assert_int_equal(db_step(s, &e), DB_ROW);
	int64_t n = db_column_int64(s, 0);
	db_finalize(s);
	return n;
}

static void test_text_roundtrip(void **state)
{
	db *d = conn(state);
	create_table(d);
	size_t n = sizeof tricky_texts / sizeof tricky_texts[0];
	int64_t ids[sizeof tricky_texts / sizeof tricky_texts[0]];
	for (size_t i = 0; i < n; i++)
		ids[i] = insert_row(d, tricky_texts[i], (int64_t)i);
	/* 100 000 bytes, quotes and all */
	char *big = malloc(100001);
	assert_non_null(big);
	for (size_t i = 0; i < 100000; i++)
		big[i] = "ab'c\"d\\e;f?"[i % 11];
	big[100000] = '\0';
	int64_t big_id = insert_row(d, big, -1);

	for (size_t i = 0; i < n; i++) {
		check_text_by_id(d, ids[i], tricky_texts[i]);
		assert_int_equal(count_named(d, tricky_texts[i]), 1);
	}
	check_text_by_id(d, big_id, big);
	assert_int_equal(count_named(d, big), 1);
	free(big);
	/* nothing was executed from the texts: the table is whole */
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), (int64_t)n + 1);
}

static void test_placeholder_in_literal(void **state)
{
	db *d = conn(state);
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, "SELECT '?', 'it''s ?' /* ? */, ?, 'x'", &s, e_));
	MUST(db_bind_text(s, 1, "bound", e_));
	assert_int_equal(db_step(s, &e), DB_ROW);
	assert_int_equal(db_column_count(s), 4);
	assert_string_equal(db_column_text(s, 0), "?");
	assert_string_equal(db_column_text(s, 1), "it's ?");
	assert_string_equal(db_column_text(s, 2), "bound");
	assert_string_equal(db_column_text(s, 3), "x");
	db_finalize(s);
}

/* PostgreSQL's other quoting: dollar quotes, E'' strings, quoted
 * identifiers, nested and line comments. */
static void test_pg_placeholder_quoting(void **state)
{
	db *d = conn(state);
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, "SELECT $$a?b$$, $q$ ' ? $q$, E'it\\'s?', \"?c\".x /* a /* ? */ ? */ -- ?\n"
	                   " FROM (SELECT CAST(? AS text) AS x) AS \"?c\" WHERE ? = 7",
	                &s, e_));
	MUST(db_bind_text(s, 1, "one", e_));
	MUST(db_bind_int64(s, 2, 7, e_));
	assert_int_equal(db_step(s, &e), DB_ROW);
	assert_string_equal(db_column_text(s, 0), "a?b");
	assert_string_equal(db_column_text(s, 1), " ' ? ");
	assert_string_equal(db_column_text(s, 2), "it's?");
	assert_string_equal(db_column_text(s, 3), "one");
	db_finalize(s);
}

static void test_null_roundtrip(void **state)
{
	db *d = conn(state);
	create_table(d);
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, "INSERT INTO t (name, n) VALUES (?, ?)", &s, e_));
	MUST(db_bind_null(s, 1, e_));
	MUST(db_bind_null(s, 2, e_));
	assert_int_equal(db_step(s, &e), DB_DONE);
	MUST(db_reset(s, e_));
	MUST(db_bind_text(s, 1, NULL, e_)); /* NULL text binds NULL */
	MUST(db_bind_int64(s, 2, 5, e_));
	assert_int_equal(db_step(s, &e), DB_DONE);
	db_finalize(s);

	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t WHERE name IS NULL"), 2);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t WHERE n IS NULL"), 1);
	MUST(db_prepare(d, "SELECT name, n FROM t ORDER BY id", &s, e_));
	assert_int_equal(db_step(s, &e), DB_ROW);
	assert_true(db_column_is_null(s, 0));
	assert_null(db_column_text(s, 0));
	assert_true(db_column_is_null(s, 1));
	assert_int_equal(db_column_int64(s, 1), 0);
	assert_int_equal(db_step(s, &e), DB_ROW);
	assert_true(db_column_is_null(s, 0));
	assert_false(db_column_is_null(s, 1));
	assert_int_equal(db_column_int64(s, 1), 5);
	assert_int_equal(db_step(s, &e), DB_DONE);
	db_finalize(s);
}

static void test_int64_roundtrip(void **state)
{
	static const int64_t values[] = {
		0, 1, -1, 4294967296LL + 7, 1099511627776LL, -1099511627779LL, INT64_MAX, INT64_MIN,
	};
	db *d = conn(state);
	create_table(d);
	size_t n = sizeof values / sizeof values[0];
	int64_t ids[sizeof values / sizeof values[0]];
	for (size_t i = 0; i < n; i++)
		ids[i] = insert_row(d, "int", values[i]);
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, "SELECT n, id FROM t WHERE n = ?", &s, e_));
	for (size_t i = 0; i < n; i++) {
		char text[32];
		snprintf(text, sizeof text, "%" PRId64, values[i]);
		MUST(db_reset(s, e_));
		MUST(db_bind_int64(s, 1, values[i], e_));
		assert_int_equal(db_step(s, &e), DB_ROW);
		assert_true(db_column_int64(s, 0) == values[i]);
		assert_string_equal(db_column_text(s, 0), text);
		assert_int_equal(db_column_int64(s, 1), ids[i]);
		assert_int_equal(db_step(s, &e), DB_DONE);
	}
	db_finalize(s);
	/* arithmetic on the server sees the same numbers */
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t WHERE n > 4294967296"), 3);
}

static int64_t run_changes(db *d, const char *sql, int64_t param)
{
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, sql, &s, e_));
	MUST(db_bind_int64(s, 1, param, e_));
	if (db_step(s, &e) != DB_DONE)
		fail_msg("%s", e.msg);
	int64_t n = db_changes(s);
	db_finalize(s);
	return n;
}

static void test_changes(void **state)
{
	db *d = conn(state);
	create_table(d);
	for (int i = 1; i <= 5; i++)
		insert_row(d, "x", i);
	assert_int_equal(run_changes(d, "UPDATE t SET name = 'y' WHERE n >= ?", 3), 3);
	/* rows matched count even when the value does not change */
	assert_int_equal(run_changes(d, "UPDATE t SET name = 'y' WHERE n >= ?", 3), 3);
	assert_int_equal(run_changes(d, "DELETE FROM t WHERE n < ?", 3), 2);
	assert_int_equal(run_changes(d, "DELETE FROM t WHERE n > ?", 100), 0);
	/* a SELECT changes nothing, whatever ran before it */
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, "SELECT n FROM t", &s, e_));
	while (db_step(s, &e) == DB_ROW)
		;
	assert_int_equal(db_changes(s), 0);
	db_finalize(s);
}

static void test_reset_rebind(void **state)
{
	db *d = conn(state);
	create_table(d);
	int64_t a = insert_row(d, "alpha", 1), b = insert_row(d, "beta", 2), c = insert_row(d, "gamma", 3);
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, "SELECT name FROM t WHERE id = ?", &s, e_));
	const struct {
		int64_t id;
		const char *name;
	} want[] = { { b, "beta" }, { a, "alpha" }, { c, "gamma" }, { b, "beta" } };
	for (size_t i = 0; i < 4; i++) {
		MUST(db_bind_int64(s, 1, want[i].id, e_));
		assert_int_equal(db_step(s, &e), DB_ROW);
		assert_string_equal(db_column_text(s, 0), want[i].name);
		assert_int_equal(db_step(s, &e), DB_DONE);
		assert_int_equal(db_step(s, &e), DB_DONE); /* stays done */
		MUST(db_reset(s, e_));
	}
	/* a binding survives a reset */
	MUST(db_bind_int64(s, 1, c, e_));
	assert_int_equal(db_step(s, &e), DB_ROW);
	MUST(db_reset(s, e_));
	assert_int_equal(db_step(s, &e), DB_ROW);
	assert_string_equal(db_column_text(s, 0), "gamma");
	db_finalize(s);

	/* reset in the middle of the rows starts over */
	MUST(db_prepare(d, "SELECT n FROM t WHERE n >= ? ORDER BY n", &s, e_));
	MUST(db_bind_int64(s, 1, 1, e_));
	assert_int_equal(db_step(s, &e), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 1);
	assert_int_equal(db_step(s, &e), DB_ROW);
	MUST(db_reset(s, e_));
	MUST(db_bind_int64(s, 1, 2, e_));
	int64_t seen[3] = { 0 };
	int rows = 0, rc;
	while ((rc = db_step(s, &e)) == DB_ROW && rows < 3)
		seen[rows++] = db_column_int64(s, 0);
	assert_int_equal(rc, DB_DONE);
	assert_int_equal(rows, 2);
	assert_int_equal(seen[0], 2);
	assert_int_equal(seen[1], 3);
	db_finalize(s);
}

static db *second_connection(void **state)
{
	backend *b = *state;
	db *d;
	ms_err e;
	if (db_open(b->url, b->password, DB_OPEN_READ_WRITE, &d, &e) < 0)
		fail_msg("%s", e.msg);
	return d;
}

static void test_transactions(void **state)
{
	db *d = conn(state);
	create_table(d);
	db *other = second_connection(state);
	MUST(db_begin(d, e_));
	insert_row(d, "rolled back", 1);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), 1);
	assert_int_equal(count_rows(other, "SELECT COUNT(*) FROM t"), 0); /* not visible yet */
	assert_int_equal(db_rollback(d), 0);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), 0);

	MUST(db_begin(d, e_));
	insert_row(d, "kept", 2);
	insert_row(d, "kept too", 3);
	MUST(db_commit(d, e_));
	assert_int_equal(count_rows(other, "SELECT COUNT(*) FROM t"), 2);
	assert_int_equal(count_rows(other, "SELECT SUM(n) FROM t"), 5);
	db_close(other);
	/* rollback outside a transaction is harmless */
	db_rollback(d);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), 2);
}

/* A read-only connection reads what others committed and every write on
 * it is refused by the database itself (dry runs rely on this). */
static void test_read_only(void **state)
{
	backend *b = *state;
	db *d = conn(state);
	create_table(d);
	insert_row(d, "there", 7);
	db *ro;
	ms_err e = { 0 };
	if (db_open(b->url, b->password, DB_OPEN_READ_ONLY, &ro, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(count_rows(ro, "SELECT SUM(n) FROM t"), 7);
	db_stmt *s;
	/* MariaDB refuses the statement when it is prepared, the others when it runs */
	if (db_prepare(ro, "INSERT INTO t (name, n) VALUES (?, ?)", &s, &e) == 0) {
		MUST(db_bind_text(s, 1, "refused", e_));
		MUST(db_bind_int64(s, 2, 1, e_));
		assert_int_equal(db_step(s, &e), DB_ERROR);
		db_finalize(s);
	}
	assert_contains(e.msg, db_name(ro)); /* the message names the server */
	assert_int_equal(db_exec(ro, "DELETE FROM t", &e), -1);
	db_close(ro);
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), 1);
	assert_int_equal(count_rows(d, "SELECT SUM(n) FROM t"), 7);
}

static void test_bulk_5000(void **state)
{
	enum { ROWS = 5000 };
	db *d = conn(state);
	create_table(d);
	db_stmt *s;
	ms_err e;
	MUST(db_begin(d, e_));
	MUST(db_prepare_insert(d, "INSERT INTO t (name, n) VALUES (?, ?)", "id", &s, e_));
	int64_t previous = 0;
	for (int i = 0; i < ROWS; i++) {
		char name[32];
		snprintf(name, sizeof name, "row-%d", i);
		MUST(db_reset(s, e_));
		MUST(db_bind_text(s, 1, name, e_));
		MUST(db_bind_int64(s, 2, i, e_));
		if (db_step(s, &e) != DB_DONE)
			fail_msg("row %d: %s", i, e.msg);
		assert_true(db_insert_id(s) > previous);
		previous = db_insert_id(s);
	}
	db_finalize(s);
	MUST(db_commit(d, e_));
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), ROWS);
	assert_int_equal(count_rows(d, "SELECT COUNT(DISTINCT id) FROM t"), ROWS);
	assert_int_equal(count_rows(d, "SELECT SUM(n) FROM t"), (int64_t)ROWS * (ROWS - 1) / 2);
	assert_int_equal(count_rows(d, "SELECT MAX(id) FROM t"), previous);
	MUST(db_prepare(d, "SELECT name FROM t WHERE n = 4321", &s, e_));
	assert_int_equal(db_step(s, &e), DB_ROW);
	assert_string_equal(db_column_text(s, 0), "row-4321");
	db_finalize(s);
}

static const char *duplicate_key_text(db_dialect dialect)
{
	switch (dialect) {
	case DB_SQLITE: return "UNIQUE constraint failed: t.id";
	case DB_PGSQL: return "ERROR: duplicate key value violates unique constraint \"t_pkey\"";
	case DB_MYSQL: return "Duplicate entry '1' for key 'PRIMARY'";
	}
	return "?";
}

/* What identifies the error beyond its words: SQLite's extended result
 * code, PostgreSQL's detail and SQLSTATE, MariaDB's error number and
 * SQLSTATE. */
static const char *duplicate_key_codes(db_dialect dialect)
{
	switch (dialect) {
	case DB_SQLITE: return "[SQLITE_CONSTRAINT_PRIMARYKEY, extended code 1555]";
	case DB_PGSQL: return "(Key (id)=(1) already exists.) [SQLSTATE 23505]";
	case DB_MYSQL: return "ERROR 1062 (23000): ";
	}
	return "?";
}

/* Insert row id 1 through `sql`; returns db_step's result. */
static int insert_id_one(db *d, ms_err *e)
{
	db_stmt *s;
	if (db_prepare(d, "INSERT INTO t (id, name, n) VALUES (?, ?, ?)", &s, e) < 0)
		return DB_ERROR;
	int rc = db_bind_int64(s, 1, 1, e) < 0 || db_bind_text(s, 2, "one", e) < 0 || db_bind_int64(s, 3, 1, e) < 0
	                 ? DB_ERROR
	                 : db_step(s, e);
	db_finalize(s);
	return rc;
}

/* Issue 13: the statement's text came first and pushed the server's
 * message out of the line it was cut to.  Now: the server, then the
 * database's whole answer; the statement only at verbosity 2 (-vv). */
static void test_error_message(void **state)
{
	db *d = conn(state);
	create_table(d);
	ms_err e = { 0 };
	assert_int_equal(insert_id_one(d, &e), DB_DONE);
	assert_int_equal(insert_id_one(d, &e), DB_ERROR);
	assert_int_equal(e.code, MS_E_DB);
	assert_true(strncmp(e.msg, db_name(d), strlen(db_name(d))) == 0);
	assert_contains(e.msg, duplicate_key_text(dialect(state)));
	assert_contains(e.msg, duplicate_key_codes(dialect(state)));
	assert_null(strstr(e.msg, "INSERT INTO"));
	assert_null(strstr(e.msg, "statement:"));

	/* -vv: the statement follows the cause */
	db_set_verbosity(2);
	assert_int_equal(insert_id_one(d, &e), DB_ERROR);
	db_set_verbosity(0);
	assert_contains(e.msg, duplicate_key_codes(dialect(state)));
	assert_contains(e.msg, " [statement: INSERT INTO t (id, name, n) VALUES (?, ?, ?)]");
	assert_true(strstr(e.msg, duplicate_key_text(dialect(state))) < strstr(e.msg, "[statement: "));

	/* a statement that does not prepare: the server names what is wrong */
	db_stmt *s = (db_stmt *)&e;
	assert_int_equal(db_prepare(d, "SELEC nonsense\n  FROM t", &s, &e), -1);
	assert_null(s);
	assert_contains(e.msg, db_name(d));
	assert_contains(e.msg, "SELEC");
	assert_null(strstr(e.msg, "statement:"));

	/* at -vv a long statement is quoted folded onto one line, by its
	 * first 400 characters */
	char sql[900];
	snprintf(sql, sizeof sql, "SELECT 1 /*\n %0500d */ FROM WHERE", 0);
	db_set_verbosity(2);
	assert_int_equal(db_prepare(d, sql, &s, &e), -1);
	db_set_verbosity(0);
	assert_contains(e.msg, "[statement: SELECT 1 /* 0000");
	assert_contains(e.msg, "0000...]");
	assert_null(strstr(e.msg, "*/ FROM WHERE"));

	/* db_exec failures: the server's message names the table */
	assert_int_equal(db_exec(d, "DROP TABLE no_such_table_here", &e), -1);
	assert_int_equal(e.code, MS_E_DB);
	assert_contains(e.msg, db_name(d));
	assert_contains(e.msg, "no_such_table_here");
	assert_null(strstr(e.msg, "DROP TABLE"));
}

/* A NOT NULL violation names the column, with each database's code. */
static void test_error_not_null(void **state)
{
	static const char *const expected[][2] = {
		[DB_SQLITE] = { "NOT NULL constraint failed: u.name", "[SQLITE_CONSTRAINT_NOTNULL, extended code 1299]" },
		[DB_PGSQL] = { "null value in column \"name\" of relation \"u\" violates not-null constraint",
		               "[SQLSTATE 23502]" },
		[DB_MYSQL] = { "Column 'name' cannot be null", "ERROR 1048 (23000): " },
	};
	db *d = conn(state);
	ms_err e = { 0 };
	MUST(db_exec(d, "CREATE TABLE u (name VARCHAR(20) NOT NULL)", e_));
	db_stmt *s;
	MUST(db_prepare(d, "INSERT INTO u (name) VALUES (?)", &s, e_));
	MUST(db_bind_null(s, 1, e_));
	assert_int_equal(db_step(s, &e), DB_ERROR);
	db_finalize(s);
	assert_int_equal(e.code, MS_E_DB);
	assert_contains(e.msg, db_name(d));
	assert_contains(e.msg, expected[dialect(state)][0]);
	assert_contains(e.msg, expected[dialect(state)][1]);
}

/* A caller's misuse is a bug, not the database's answer: its message
 * names the statement whatever the verbosity. */
static void test_misuse_names_statement(void **state)
{
	db *d = conn(state);
	create_table(d);
	db_stmt *s;
	ms_err e = { 0 };
	MUST(db_prepare(d, "SELECT n FROM t WHERE n = ?", &s, e_));
	assert_int_equal(db_bind_int64(s, 2, 1, &e), -1);
	db_finalize(s);
	assert_int_equal(e.code, MS_E_INTERNAL);
	assert_contains(e.msg, ": SELECT n FROM t WHERE n = ?: parameter 2 out of range");
}

/* A statement that failed inside a transaction: PostgreSQL aborts the
 * whole transaction and COMMIT must say so; the others keep the rest. */
static void test_commit_after_failure(void **state)
{
	db *d = conn(state);
	create_table(d);
	ms_err e = { 0 };
	insert_row(d, "before", 0); /* id 1 */
	MUST(db_begin(d, e_));
	insert_row(d, "inside", 5);
	assert_int_equal(insert_id_one(d, &e), DB_ERROR);
	int rc = db_commit(d, &e);
	if (dialect(state) == DB_PGSQL) {
		assert_int_equal(rc, -1);
		assert_contains(e.msg, db_name(d));
		assert_contains(e.msg, ": the server rolled the transaction back");
		assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), 1);
	} else {
		if (rc < 0)
			fail_msg("%s", e.msg);
		assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), 2);
	}
}

/* Other statements run while one is in the middle of its rows. */
static void test_interleaved(void **state)
{
	db *d = conn(state);
	create_table(d);
	for (int i = 1; i <= 3; i++)
		insert_row(d, "outer", i);
	db_stmt *outer;
	ms_err e;
	MUST(db_prepare(d, "SELECT id, name, n FROM t WHERE name = 'outer' ORDER BY n", &outer, e_));
	int rows = 0;
	while (db_step(outer, &e) == DB_ROW) {
		const char *name = db_column_text(outer, 1);
		int64_t n = db_column_int64(outer, 2);
		insert_row(d, "inner", 100 + n);
		assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t WHERE name = 'inner'"), n);
		assert_string_equal(db_column_text(outer, 1), "outer");
		assert_ptr_equal(db_column_text(outer, 1), name);
		assert_int_equal(db_column_int64(outer, 2), ++rows);
	}
	assert_int_equal(rows, 3);
	db_finalize(outer);
}

/* Finalized statements are kept for reuse: a reused one must behave as
 * new (no old bindings, no old rows), and two live statements with the
 * same SQL must not share anything. */
static void test_statement_reuse(void **state)
{
	db *d = conn(state);
	db_stmt *s1, *s2;
	ms_err e;
	const char *sql = "SELECT COALESCE(?, 'unbound')";
	MUST(db_prepare(d, sql, &s1, e_));
	MUST(db_prepare(d, sql, &s2, e_));
	assert_ptr_not_equal(s1, s2);
	MUST(db_bind_text(s1, 1, "first", e_));
	MUST(db_bind_text(s2, 1, "second", e_));
	assert_int_equal(db_step(s1, &e), DB_ROW);
	assert_int_equal(db_step(s2, &e), DB_ROW);
	assert_string_equal(db_column_text(s1, 0), "first");
	assert_string_equal(db_column_text(s2, 0), "second");
	db_finalize(s1);
	db_finalize(s2);
	for (int i = 0; i < 3; i++) {
		MUST(db_prepare(d, sql, &s1, e_));
		assert_int_equal(db_column_count(s1), 0);
		assert_null(db_column_text(s1, 0));
		assert_int_equal(db_step(s1, &e), DB_ROW);
		assert_string_equal(db_column_text(s1, 0), "unbound");
		assert_int_equal(db_bind_text(s1, 1, "x", &e), -1); /* running: must be reset first */
		MUST(db_reset(s1, e_));
		MUST(db_bind_text(s1, 1, "set", e_));
		db_finalize(s1);
	}
	/* more distinct statements than are kept */
	for (int i = 0; i < 80; i++) {
		char text[64];
		int64_t got = -1;
		snprintf(text, sizeof text, "SELECT %d + 1", i);
		assert_int_equal(db_query_int64(d, text, &got, &e), 1);
		assert_int_equal(got, i + 1);
	}
}

static void test_query_int64(void **state)
{
	db *d = conn(state);
	create_table(d);
	int64_t v = 99;
	ms_err e;
	assert_int_equal(db_query_int64(d, "SELECT COUNT(*) FROM t", &v, &e), 1);
	assert_int_equal(v, 0);
	v = 99;
	assert_int_equal(db_query_int64(d, "SELECT n FROM t", &v, &e), 0);
	assert_int_equal(v, 99);
	assert_int_equal(db_query_int64(d, "SELECT x FROM nowhere_at_all", &v, &e), -1);
	assert_contains(e.msg, "nowhere_at_all");
}

static void test_bind_errors(void **state)
{
	db *d = conn(state);
	create_table(d);
	db_stmt *s;
	ms_err e = { 0 };
	MUST(db_prepare(d, "SELECT n FROM t WHERE n = ? OR name = ?", &s, e_));
	assert_int_equal(db_bind_int64(s, 0, 1, &e), -1);
	assert_contains(e.msg, "parameter 0 out of range (the statement has 2)");
	assert_int_equal(db_bind_text(s, 3, "x", &e), -1);
	assert_contains(e.msg, "parameter 3 out of range");
	assert_contains(e.msg, db_name(d));
	MUST(db_bind_int64(s, 2, 1, e_));
	assert_int_equal(db_step(s, &e), DB_DONE);
	assert_int_equal(db_bind_int64(s, 1, 1, &e), -1);
	assert_contains(e.msg, "db_reset it first");
	db_finalize(s);
	/* one statement at a time */
	assert_int_equal(db_prepare(d, "SELECT 1; SELECT 2", &s, &e), -1);
	assert_int_not_equal(e.code, MS_OK);
	/* the identity column goes into SQL, so it must be a plain name */
	assert_int_equal(db_prepare_insert(d, "INSERT INTO t (n) VALUES (1)", "id; DROP TABLE t", &s, &e), -1);
	assert_contains(e.msg, "not a plain column name");
	assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM t"), 0);
}

static void test_columns(void **state)
{
	db *d = conn(state);
	create_table(d);
	insert_row(d, "123", 42);
	db_stmt *s;
	ms_err e;
	MUST(db_prepare(d, "SELECT n, name, id FROM t", &s, e_));
	assert_int_equal(db_column_count(s), 0); /* nothing before the first step */
	assert_int_equal(db_step(s, &e), DB_ROW);
	assert_int_equal(db_column_count(s), 3);
	assert_string_equal(db_column_text(s, 0), "42");    /* a number as text */
	assert_int_equal(db_column_int64(s, 1), 123);       /* text as a number */
	assert_null(db_column_text(s, 3));                  /* no such column */
	assert_null(db_column_text(s, -1));
	assert_true(db_column_is_null(s, 3));
	assert_int_equal(db_column_int64(s, 3), 0);
	assert_int_equal(db_step(s, &e), DB_DONE);
	db_finalize(s);
}

static void test_exec_script(void **state)
{
	db *d = conn(state);
	ms_err e;
	MUST(db_exec(d, "CREATE TABLE a (x INT); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2)", e_));
	assert_int_equal(count_rows(d, "SELECT SUM(x) FROM a"), 3);
	/* a failing statement in the middle stops the script and says which */
	assert_int_equal(db_exec(d, "INSERT INTO a VALUES (4); INSERT INTO nowhere VALUES (1)", &e), -1);
	assert_contains(e.msg, "nowhere");
	MUST(db_exec(d, "DROP TABLE a", e_));
}

/* ---- main ------------------------------------------------------------------ */

#define DRIVER_TEST(f, b) cmocka_unit_test_prestate_setup_teardown(f, db_setup, db_teardown, &(b))
#define DRIVER_TESTS(b)                                                                       \
	{                                                                                     \
		DRIVER_TEST(test_insert_ids, b), DRIVER_TEST(test_text_roundtrip, b),           \
		DRIVER_TEST(test_placeholder_in_literal, b), DRIVER_TEST(test_null_roundtrip, b), \
		DRIVER_TEST(test_int64_roundtrip, b), DRIVER_TEST(test_changes, b),             \
		DRIVER_TEST(test_reset_rebind, b), DRIVER_TEST(test_transactions, b),           \
		DRIVER_TEST(test_bulk_5000, b), DRIVER_TEST(test_error_message, b),             \
		DRIVER_TEST(test_error_not_null, b), DRIVER_TEST(test_misuse_names_statement, b), \
		DRIVER_TEST(test_commit_after_failure, b), DRIVER_TEST(test_interleaved, b), \
		DRIVER_TEST(test_statement_reuse, b), DRIVER_TEST(test_query_int64, b),         \
		DRIVER_TEST(test_bind_errors, b), DRIVER_TEST(test_columns, b),                 \
		DRIVER_TEST(test_exec_script, b), DRIVER_TEST(test_read_only, b),               \
	}

/* A server group runs if the server is configured; if not, it is skipped,
 * or counted as a failure when servers are required. */
static bool server_group_wanted(const backend *b, int *failed)
{
	if (b->configured)
		return true;
	const char *require = getenv("MSTORE_TEST_REQUIRE_SERVERS");
	if (require && strcmp(require, "1") == 0) {
		fprintf(stderr, "FAIL: no %s test server (start it with tests/db-servers.sh start)\n", b->label);
		(*failed)++;
	} else {
		fprintf(stderr, "SKIP: no %s test server; its driver tests do not run\n", b->label);
	}
	return false;
}

int main(void)
{
	read_env_file();
	configure_server(&pg_backend, "MSTORE_TEST_PG_PORT");
	configure_server(&my_backend, "MSTORE_TEST_MY_PORT");

	const struct CMUnitTest general[] = {
		cmocka_unit_test(test_url_parse_good),
		cmocka_unit_test(test_url_parse_bad),
		cmocka_unit_test(test_url_password_never_echoed),
		cmocka_unit_test(test_url_format),
		cmocka_unit_test(test_closed_port),
		cmocka_unit_test(test_sqlite_missing_file),
	};
	const struct CMUnitTest sqlite_tests[] = DRIVER_TESTS(sqlite_backend);
	const struct CMUnitTest pg_tests[] = DRIVER_TESTS(pg_backend);
	const struct CMUnitTest pg_only[] = { DRIVER_TEST(test_pg_placeholder_quoting, pg_backend) };
	const struct CMUnitTest my_tests[] = DRIVER_TESTS(my_backend);

	int failed = cmocka_run_group_tests_name("db general", general, NULL, NULL);
	failed += cmocka_run_group_tests_name("db sqlite", sqlite_tests, NULL, NULL);
	if (server_group_wanted(&pg_backend, &failed)) {
		void *b = &pg_backend;
		if (server_group_setup(&b) < 0) {
			failed++;
		} else {
			failed += cmocka_run_group_tests_name("db pgsql", pg_tests, NULL, NULL);
			failed += cmocka_run_group_tests_name("db pgsql quoting", pg_only, NULL, NULL);
			server_group_teardown(&b);
		}
	}
	if (server_group_wanted(&my_backend, &failed)) {
		void *b = &my_backend;
		if (server_group_setup(&b) < 0) {
			failed++;
		} else {
			failed += cmocka_run_group_tests_name("db mysql", my_tests, NULL, NULL);
			server_group_teardown(&b);
		}
	}
	return failed == 0 ? 0 : 1;
}
