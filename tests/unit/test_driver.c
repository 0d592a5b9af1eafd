/* test_driver.c - the hMailServer driver (drivers/drv_hmailserver.c): the
 * driver conformance suite (driver_conformance.c) on one account of an
 * hMailServer store, then what only this driver does (rows, canonical
 * files, the server's bits and limits) and store/browse beneath it.
 *
 * Every test gets a fresh store (schema, domain example.com, account
 * ann@example.com with its INBOX) and an empty data directory.  SQLite
 * always; PostgreSQL and MariaDB when tests/db-servers.sh runs them (its
 * env file, ${MSTORE_TEST_ENV:-${MSTORE_TEST_DBS:-/tmp/mstore-test-dbs}/env},
 * or the environment names ports, user and password), as in test_db.c;
 * MSTORE_TEST_REQUIRE_SERVERS=1 makes a missing server a failure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver_conformance.h"
#include "db/db.h"
#include "drivers/driver.h"
#include "store/browse.h"
#include "store/folders.h"
#include "store/messages.h"
#include "store/objects.h"
#include "store/store.h"

/* ---- where the servers are ------------------------------------------------- */

typedef struct backend {
	db_dialect dialect;
	const char *label;
	bool configured;
	int port;
	char user[64], password[256];
	db *admin;
	/* the current test's store */
	char dbname[64];
	char dir[256];       /* temporary directory: data/ and, for SQLite, store.db */
	char data[300];
	char url[512];
	ms_side *side;
} backend;

static backend sqlite_backend = { .dialect = DB_SQLITE, .label = "sqlite", .configured = true };
static backend pg_backend = { .dialect = DB_PGSQL, .label = "pgsql" };
static backend my_backend = { .dialect = DB_MYSQL, .label = "mysql" };

#include "drv_ok.h"
#include "test_env.h"

/* ---- a fresh store per test ------------------------------------------------- */

#define MUST(call)                                                              \
	do {                                                                    \
		ms_err must_e_ = { 0 };                                         \
		ms_err *e_ = &must_e_;                                          \
		if ((call) < 0)                                                 \
			fail_msg("%s failed: %s", #call, must_e_.msg);          \
		(void)e_;                                                       \
	} while (0)

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static int create_database(backend *b, ms_err *e)
{
	static int serial;
	char sql[256];
	if (b->dialect == DB_SQLITE) {
		snprintf(b->url, sizeof b->url, "sqlite:%s/store.db", b->dir);
		return 0;
	}
	/* CREATE DATABASE cannot take a bound name; the name is generated here */
	snprintf(b->dbname, sizeof b->dbname, "mst_drv_%ld_%d", (long)getpid(), ++serial);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s%s", b->dbname, b->dialect == DB_MYSQL ? " CHARACTER SET utf8mb4" : "");
	if (db_exec(b->admin, sql, e) < 0)
		return -1;
	server_url(b, b->dbname, b->url, sizeof b->url);
	return 0;
}

static const char *password_of(const backend *b)
{
	return b->dialect == DB_SQLITE ? NULL : b->password;
}

/* The schema, example.com and ann@example.com (with her INBOX). */
static int fill_store(backend *b, ms_err *e)
{
	ms_store *s;
	int64_t id;
	ms_domain_opts dopts = { 0 };
	ms_account_opts aopts = { 0 };
	if (ms_store_init(b->url, password_of(b), e) < 0 ||
	    ms_store_open(b->url, password_of(b), b->data, DB_OPEN_READ_WRITE, &s, e) < 0)
		return -1;
	int rc = ms_domain_add(s, "example.com", &dopts, &id, e) < 0 ||
	                 ms_account_add(s, "ann@example.com", &aopts, &id, e) < 0 ? -1 : 0;
	ms_store_close(s);
	return rc;
}

static int store_setup(void **state)
{
	backend *b = *state;
	ms_err e = { 0 };
	snprintf(b->dir, sizeof b->dir, "/tmp/test_driver.XXXXXX");
	if (!mkdtemp(b->dir))
		return -1;
	snprintf(b->data, sizeof b->data, "%s/data", b->dir);
	if (mkdir(b->data, 0755) < 0 || create_database(b, &e) < 0 || fill_store(b, &e) < 0) {
		fprintf(stderr, "%s: %s\n", b->label, e.msg);
		return -1;
	}
	b->side = NULL;
	return 0;
}

static int store_teardown(void **state)
{
	backend *b = *state;
	ms_err e;
	if (b->side)
		b->side->drv->close(b->side);
	b->side = NULL;
	nftw(b->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (b->dialect == DB_SQLITE)
		return 0;
	char sql[256];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s%s", b->dbname, b->dialect == DB_PGSQL ? " WITH (FORCE)" : "");
	if (db_exec(b->admin, sql, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static ms_drv_result open_side_as(backend *b, const char *account, bool read_only, ms_side **out, ms_err *e)
{
	const ms_side_opt opts[] = {
		{ "db", b->url }, { "data", b->data }, { "account", account }, { "password", password_of(b) },
	};
	ms_side_conf conf = { .name = "test", .opts = opts, .nopts = b->dialect == DB_SQLITE ? 3 : 4,
	                      .read_only = read_only };
	return ms_side_driver_find("hmailserver")->open(&conf, out, e);
}

/* Open (or reopen) the test's side on ann's account. */
static ms_side *side(void **state)
{
	backend *b = *state;
	if (b->side)
		b->side->drv->close(b->side);
	b->side = NULL;
	DRV_OK(open_side_as(b, "ann@example.com", false, &b->side, e_));
	return b->side;
}

static ms_box *open_box(ms_side *s, const char *name)
{
	ms_box *bx = NULL;
	DRV_OK(s->drv->open_box(s, name, &bx, e_));
	return bx;
}

/* A raw connection to the test's store, for checks the driver does not offer. */
static ms_store *raw_store(void **state)
{
	backend *b = *state;
	ms_store *s = NULL;
	MUST(ms_store_open(b->url, password_of(b), b->data, DB_OPEN_READ_WRITE, &s, e_));
	return s;
}

static int64_t account_id(ms_store *s)
{
	ms_account *v = NULL;
	size_t n = 0;
	MUST(ms_account_list(s, "example.com", &v, &n, e_));
	assert_int_equal(n, 1);
	int64_t id = v[0].id;
	free(v);
	return id;
}

static int64_t folder_id(ms_store *s, const char *path)
{
	int64_t f = 0;
	ms_err e = { 0 };
	if (ms_browse_folder_find(s->db, account_id(s), path, '.', &f, &e) != 1)
		fail_msg("no folder %s: %s", path, e.msg);
	return f;
}

/* Callback results, one slot per item. */
typedef struct results {
	int calls;
	ms_drv_result r[8];
	uint32_t uid[8];
	char why[8][256];
	char data[8][512];
	size_t len[8];
} results;

static void item_cb(void *ctx, size_t i, ms_drv_result r, uint32_t uid, const char *key, const ms_err *why)
{
	(void)key;
	results *x = ctx;
	assert_true(i < 8);
	x->calls++;
	x->r[i] = r;
	x->uid[i] = uid;
	snprintf(x->why[i], sizeof x->why[i], "%s", why ? why->msg : "");
	assert_true((r == MS_DRV_OK) == (why == NULL));
}

static void fetch_cb(void *ctx, size_t i, ms_drv_result r, const char *data, size_t len, const ms_err *why)
{
	results *x = ctx;
	item_cb(ctx, i, r, 0, NULL, why);
	assert_true(len < sizeof x->data[i]);
	if (data)
		memcpy(x->data[i], data, len);
	x->len[i] = len;
}

/* A message to append: its bytes, flags and internal date. */
#define MSG(bytes, f, date) \
	((ms_append){ .data = (bytes), .len = sizeof(bytes) - 1, .flags = (f), .internal_date = (date) })

static const char msg1[] = "From: Bob <bob@example.org>\r\nTo: ann@example.com\r\nMessage-ID: <one@example.org>\r\n"
                           "Subject: one\r\n\r\nfirst\r\n";
static const char msg2[] = "From: carol@example.net\r\nMessage-ID: <two@example.net>\r\nSubject: two\r\n\r\n"
                           "second, a little longer\r\n";
static const char msg3[] = "From: dave@example.com\r\nSubject: three has no Message-ID\r\n\r\nthird\r\n";

/* 2021-01-10 09:00:00 UTC (winter) and 2022-07-01 18:30:00 UTC (summer). */
#define DATE1 ((time_t)1610269200)
#define DATE2 ((time_t)1656700200)
#define DATE3 ((time_t)1700000000)

static void append_three(ms_box *bx, results *x)
{
	const ms_append m[3] = {
		MSG(msg1, MS_FLAG_SEEN, DATE1),
		MSG(msg2, MS_FLAG_FLAGGED | MS_FLAG_ANSWERED, DATE2),
		MSG(msg3, 0, DATE3),
	};
	DRV_OK(bx->side->drv->append(bx, m, 3, item_cb, x, e_));
	assert_int_equal(x->calls, 3);
}

/* The INBOX of a side, with the three messages in it. */
static ms_box *inbox_with_three(ms_side *s)
{
	ms_box *bx = open_box(s, "INBOX");
	results x = { 0 };
	append_three(bx, &x);
	return bx;
}

static ms_msg *list_all(ms_box *bx, unsigned want, size_t *n)
{
	ms_msg *v = NULL;
	const ms_list_req req = { .want = want };
	DRV_OK(bx->side->drv->list_msgs(bx, &req, &v, n, e_));
	return v;
}

/* The file of a listed message, relative to the data directory. */
static void message_path(const backend *b, const char *key, char *out, size_t len)
{
	snprintf(out, len, "%s/example.com/ann/%.2s/%s", b->data, key + 1, key);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Entries of `dir` (not recursive): a directory made is something written too. */
/* Entries of `dir` but for mstore's own .mstore/ (journals, and the
 * folder lock files a writing side takes: folder lock). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return 0;
	for (struct dirent *de; (de = readdir(d));)
		n += !(de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) &&
		     strcmp(de->d_name, ".mstore") != 0;
	closedir(d);
	return n;
}

/* Regular files below `dir`, recursively, but for mstore's own .mstore/
 * (the in-flight journal of a live side). */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return 0;
	for (struct dirent *de; (de = readdir(d));) {
		char p[1024];
		struct stat st;
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (strcmp(de->d_name, ".mstore") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (lstat(p, &st) == 0)
			n += S_ISDIR(st.st_mode) ? count_files(p) : 1;
	}
	closedir(d);
	return n;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_uidvalidity_formula(void **state)
{
	(void)state;
	/* the wall-clock fields read as UTC, whatever TZ says */
	assert_int_equal(ms_browse_uidvalidity("2025-07-15 14:00:00"), 1752588000u);
	assert_int_equal(ms_browse_uidvalidity("1970-01-01 00:00:01"), 1u);
	assert_int_equal(ms_browse_uidvalidity("2025-07-15"), 0u);
	assert_int_equal(ms_browse_uidvalidity(""), 0u);
	assert_int_equal(ms_browse_uidvalidity("2025-07-15 14:00:00 junk"), 0u);
}

static void test_registry_and_conf(void **state)
{
	(void)state;
	assert_ptr_equal(ms_side_driver_find("hmailserver"), &ms_drv_hmailserver);
	assert_null(ms_side_driver_find("nonesuch"));
	assert_null(ms_side_driver_find(NULL));
	const ms_side_opt o[] = { { "db", "a" }, { "data", "d" }, { "db", "b" } };
	ms_side_conf c = { .opts = o, .nopts = 3 };
	assert_string_equal(ms_side_conf_get(&c, "db"), "b");
	assert_null(ms_side_conf_get(&c, "account"));
}

static void test_open_errors(void **state)
{
	backend *b = *state;
	ms_side *s = (ms_side *)1;
	ms_err e = { 0 };
	assert_int_equal(open_side_as(b, "nobody@example.com", false, &s, &e), MS_DRV_SIDE_BAD);
	assert_null(s);
	assert_non_null(strstr(e.msg, "no account nobody@example.com"));
	assert_int_equal(open_side_as(b, "not-an-address", false, &s, &e), MS_DRV_SIDE_BAD);
	ms_side_conf none = { .name = "x" };
	assert_int_equal(ms_drv_hmailserver.open(&none, &s, &e), MS_DRV_SIDE_BAD);
	assert_non_null(strstr(e.msg, "needs db, data and account"));
	/* the account's address in another case is the same account */
	DRV_OK(open_side_as(b, "ANN@Example.COM", false, &s, e_));
	s->drv->close(s);
}

static void test_boxes(void **state)
{
	ms_side *s = side(state);
	ms_box_info *v;
	size_t n;
	ms_err e = { 0 };
	assert_int_equal(s->caps & (MS_CAP_UID_STABLE | MS_CAP_FLAGS | MS_CAP_CRLF | MS_CAP_APPEND_UID | MS_CAP_DRY_RUN_SAFE),
	                 MS_CAP_UID_STABLE | MS_CAP_FLAGS | MS_CAP_CRLF | MS_CAP_APPEND_UID | MS_CAP_DRY_RUN_SAFE);
	assert_int_equal(s->caps & MS_CAP_KEYWORDS, 0);
	assert_int_equal(s->delim, '.'); /* no hm_settings row: the server's default */
	/* hMailServer's own rules: INBOX in any case is the INBOX, '#' starts no name */
	DRV_OK(s->drv->create_box(s, "inbox.Later", e_));
	DRV_OK(s->drv->create_box(s, "Inbox", e_));
	DRV_OK(s->drv->create_box(s, "Inbox.New", e_));
	assert_int_equal(s->drv->create_box(s, "#Public.x", &e), MS_DRV_BOX_BAD);
	DRV_OK(s->drv->create_box(s, "Work", e_));
	DRV_OK(s->drv->list_boxes(s, &v, &n, e_));
	assert_int_equal(n, 4);
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, "INBOX") == 0)
			seen |= 1, assert_int_equal(v[i].attrs, MS_BOX_HAS_CHILDREN | MS_BOX_SUBSCRIBED);
		else if (strcmp(v[i].name, "Work") == 0)
			seen |= 2, assert_int_equal(v[i].attrs, MS_BOX_SUBSCRIBED);
		else if (strcmp(v[i].name, "INBOX.Later") == 0)
			seen |= 4;
		else if (strcmp(v[i].name, "INBOX.New") == 0)
			seen |= 8;
		else
			fail_msg("unexpected box %s", v[i].name);
	}
	assert_int_equal(seen, 15);
	ms_box_list_free(v, n);

	ms_box *bx = open_box(s, "Work");
	assert_int_equal(bx->status.uidnext, 1);
	/* the folder was created now, in local time; its UIDVALIDITY is that wall-clock time read as UTC */
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%d %H:%M:%S", &tm);
	assert_true(bx->status.uidvalidity + 5 >= ms_browse_uidvalidity(now) &&
	            bx->status.uidvalidity <= ms_browse_uidvalidity(now));
	s->drv->close_box(bx);
	ms_box *none = (ms_box *)1;
	assert_int_equal(s->drv->open_box(s, "Nowhere", &none, &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "no folder Nowhere"));
}

/* The three messages of append_three: at their canonical place under their GUID names. */
static void check_three_files(const backend *b, ms_box *bx)
{
	size_t n;
	ms_msg *v = list_all(bx, 0, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		char path[1024];
		assert_int_equal(v[i].uid, i + 1);
		assert_int_equal(strlen(v[i].key), 42);
		message_path(b, v[i].key, path, sizeof path);
		assert_true(exists(path));
	}
	ms_msg_list_free(v, n);
	/* nothing but the three messages in the account's folder: no temporary file left */
	char acct[600];
	snprintf(acct, sizeof acct, "%s/example.com/ann", b->data);
	assert_int_equal(count_files(acct), 3);
}

static void test_append_writes_files_and_rows(void **state)
{
	ms_side *s = side(state);
	DRV_OK(s->drv->create_box(s, "Work.Projects", e_));
	ms_box *bx = open_box(s, "Work.Projects");
	results x = { 0 };
	append_three(bx, &x);
	check_three_files(*state, bx);
	s->drv->close_box(bx);

	/* what the row says: Recent set, as the server sets it on every new row */
	ms_store *st = raw_store(state);
	ms_msg_row r;
	ms_err e = { 0 };
	assert_int_equal(ms_browse_message_by_uid(st->db, account_id(st), folder_id(st, "Work.Projects"), 1, &r, &e), 1);
	assert_int_equal(r.flags, MS_MSGFLAG_SEEN | MS_MSGFLAG_RECENT);
	assert_int_equal(r.size, sizeof msg1 - 1);
	free(r.filename);
	ms_store_close(st);
}

/* Every column of an appended row, against what hMailServer's IMAP APPEND
 * writes (IMAPCommandAppend.cpp Finish_ -> PersistentMessage::AddObject):
 * type 2, from '' (APPEND never sets it), size of the file, the five
 * flags plus Recent, not locked, no tries, next try 1901-01-01, UIDs in
 * order, no recipient rows, and the internal date as the server's wall
 * clock: UTC plus the offset in force NOW (not at the message's date). */
static const char msg4[] = "From: Eve <eve@example.org>\r\nMessage-ID: <four@example.org>\r\n\r\nfourth\r\n";

typedef struct row_cols {
	int64_t type, size, flags, locked, tries, uid, account, folder;
	char from[64], created[32], nexttry[32], filename[64];
} row_cols;

static void read_row(ms_store *st, int64_t folder, int64_t uid, row_cols *c)
{
	db_stmt *q = NULL;
	MUST(db_prepare(st->db, "SELECT messagetype, messagefrom, messagesize, messageflags, messagecreatetime,"
	                " messagelocked, messagecurnooftries, messagenexttrytime, messageuid, messageaccountid,"
	                " messagefolderid, messagefilename FROM hm_messages WHERE messagefolderid = ? AND messageuid = ?",
	                &q, e_));
	MUST(db_bind_int64(q, 1, folder, e_));
	MUST(db_bind_int64(q, 2, uid, e_));
	ms_err e = { 0 };
	assert_int_equal(db_step(q, &e), DB_ROW);
	*c = (row_cols){ .type = db_column_int64(q, 0), .size = db_column_int64(q, 2), .flags = db_column_int64(q, 3),
	                 .locked = db_column_int64(q, 5), .tries = db_column_int64(q, 6), .uid = db_column_int64(q, 8),
	                 .account = db_column_int64(q, 9), .folder = db_column_int64(q, 10) };
	snprintf(c->from, sizeof c->from, "%s", db_column_is_null(q, 1) ? "(null)" : db_column_text(q, 1));
	snprintf(c->created, sizeof c->created, "%.19s", db_column_text(q, 4));
	snprintf(c->nexttry, sizeof c->nexttry, "%.19s", db_column_text(q, 7));
	snprintf(c->filename, sizeof c->filename, "%s", db_column_text(q, 11));
	db_finalize(q);
}

/* `when` as the test expects the server's wall clock: UTC + the offset now. */
static void wall_clock_now_offset(time_t when, char out[32])
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	time_t t = when + tm.tm_gmtoff;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

static void test_append_row_as_imap_append(void **state)
{
	ms_side *s = side(state);
	ms_box *bx = open_box(s, "INBOX");
	results x = { 0 };
	append_three(bx, &x);
	const unsigned all = MS_FLAG_SEEN | MS_FLAG_ANSWERED | MS_FLAG_FLAGGED | MS_FLAG_DELETED | MS_FLAG_DRAFT;
	ms_append m4 = MSG(msg4, all, 0);
	m4.keywords = "$Label1 Junk";
	results y = { 0 };
	time_t before = time(NULL);
	DRV_OK(s->drv->append(bx, &m4, 1, item_cb, &y, e_));
	time_t after = time(NULL);
	assert_int_equal(y.r[0], MS_DRV_OK);
	/* read back as the server's IMAP answers INTERNALDATE: the instant appended */
	size_t n;
	ms_msg *v = list_all(bx, 0, &n);
	assert_int_equal(n, 4);
	assert_int_equal(v[0].internal_date, DATE1);
	assert_int_equal(v[1].internal_date, DATE2);
	assert_int_equal(v[2].internal_date, DATE3);
	assert_true(v[3].internal_date >= before && v[3].internal_date <= after);
	ms_msg_list_free(v, n);
	s->drv->close_box(bx);

	ms_store *st = raw_store(state);
	int64_t acct = account_id(st), inbox = folder_id(st, "INBOX");
	const char *const bytes[4] = { msg1, msg2, msg3, msg4 };
	const int64_t flags[4] = { MS_MSGFLAG_SEEN, MS_MSGFLAG_FLAGGED | MS_MSGFLAG_ANSWERED, 0,
		                   MS_MSGFLAG_SEEN | MS_MSGFLAG_DELETED | MS_MSGFLAG_FLAGGED | MS_MSGFLAG_ANSWERED |
		                           MS_MSGFLAG_DRAFT };
	const time_t dates[3] = { DATE1, DATE2, DATE3 };
	for (int i = 0; i < 4; i++) {
		row_cols c;
		read_row(st, inbox, i + 1, &c);
		assert_int_equal(c.type, 2);
		assert_string_equal(c.from, "");
		assert_int_equal(c.size, (int64_t)strlen(bytes[i]));
		assert_int_equal(c.flags, flags[i] | MS_MSGFLAG_RECENT);
		assert_int_equal(c.locked, 0);
		assert_int_equal(c.tries, 0);
		assert_string_equal(c.nexttry, "1901-01-01 00:00:00");
		assert_int_equal(c.uid, i + 1);
		assert_int_equal(c.account, acct);
		assert_int_equal(c.folder, inbox);
		assert_int_equal(strlen(c.filename), 42);
		if (i < 3) {
			char want[32];
			wall_clock_now_offset(dates[i], want);
			assert_string_equal(c.created, want);
		}
	}
	/* the summer date in a winter run (or the other way round) is where the
	   offset now and the offset at the date differ: spelled out for Berlin */
	row_cols c2;
	read_row(st, inbox, 2, &c2);
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	assert_string_equal(c2.created, tm.tm_gmtoff == 3600 ? "2022-07-01 19:30:00" : "2022-07-01 20:30:00");
	/* no recipient rows: APPEND has no envelope */
	db_stmt *q = NULL;
	ms_err e = { 0 };
	MUST(db_prepare(st->db, "SELECT COUNT(*) FROM hm_messagerecipients", &q, e_));
	assert_int_equal(db_step(q, &e), DB_ROW);
	assert_int_equal(db_column_int64(q, 0), 0);
	db_finalize(q);
	ms_store_close(st);
}

static void test_flags_keep_server_bits(void **state)
{
	ms_side *s = side(state);
	ms_box *bx = inbox_with_three(s);
	const ms_flag_change ch = { .uid = 2, .add = 0, .remove = MS_FLAG_FLAGGED | MS_FLAG_SEEN };
	results y = { 0 };
	DRV_OK(s->drv->set_flags(bx, &ch, 1, item_cb, &y, e_));
	assert_int_equal(y.r[0], MS_DRV_OK);
	s->drv->close_box(bx);
	/* the server's own bits are left alone */
	ms_store *st = raw_store(state);
	ms_msg_row r;
	ms_err e = { 0 };
	assert_int_equal(ms_browse_message_by_uid(st->db, account_id(st), folder_id(st, "INBOX"), 2, &r, &e), 1);
	assert_int_equal(r.flags, MS_MSGFLAG_ANSWERED | MS_MSGFLAG_RECENT);
	free(r.filename);
	ms_store_close(st);
}

static void test_expunge_removes_row_and_file(void **state)
{
	backend *b = *state;
	ms_side *s = side(state);
	ms_box *bx = inbox_with_three(s);
	size_t n;
	ms_msg *before = list_all(bx, 0, &n);
	const uint32_t gone = 2;
	results y = { 0 };
	DRV_OK(s->drv->expunge(bx, &gone, 1, item_cb, &y, e_));
	assert_int_equal(y.r[0], MS_DRV_OK);
	char path[3][1024];
	for (int i = 0; i < 3; i++)
		message_path(b, before[i].key, path[i], sizeof path[i]);
	assert_false(exists(path[1]));
	assert_true(exists(path[0]) && exists(path[2]));
	ms_msg_list_free(before, 3);
	/* the row of 2 is gone from the database */
	ms_store *st = raw_store(state);
	ms_msg_row r;
	ms_err e = { 0 };
	assert_int_equal(ms_browse_message_by_uid(st->db, account_id(st), folder_id(st, "INBOX"), 2, &r, &e), 0);
	ms_store_close(st);
	/* a new message still gets a new UID, never 2 again */
	results z = { 0 };
	const ms_append m = MSG(msg1, 0, 0);
	DRV_OK(s->drv->append(bx, &m, 1, item_cb, &z, e_));
	assert_int_equal(z.uid[0], 4);
	s->drv->close_box(bx);
}

static void test_missing_file_is_named(void **state)
{
	backend *b = *state;
	ms_side *s = side(state);
	ms_box *bx = inbox_with_three(s);
	size_t n;
	ms_msg *v = list_all(bx, 0, &n);
	char path[1024];
	message_path(b, v[0].key, path, sizeof path);
	assert_int_equal(unlink(path), 0);
	ms_msg_list_free(v, n);
	results f = { 0 };
	const uint32_t uids[] = { 1, 99 };
	DRV_OK(s->drv->fetch(bx, uids, 2, fetch_cb, &f, e_));
	assert_int_equal(f.r[0], MS_DRV_MSG_BAD);
	assert_non_null(strstr(f.why[0], "No such file"));
	assert_non_null(strstr(f.why[1], "no message with UID 99"));
	/* the row is still there: listed, marked */
	v = list_all(bx, MS_WANT_MSGID, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].result, MS_DRV_MSG_BAD);
	ms_msg_list_free(v, n);
	s->drv->close_box(bx);
}

static void test_empty_message_writes_no_file(void **state)
{
	backend *b = *state;
	ms_side *s = side(state);
	ms_box *bx = open_box(s, "INBOX");
	const ms_append m[3] = { MSG(msg1, 0, 0), { .data = "", .len = 0 }, MSG(msg2, 0, 0) };
	results x = { 0 };
	DRV_OK(s->drv->append(bx, m, 3, item_cb, &x, e_));
	assert_non_null(strstr(x.why[1], "empty message"));
	assert_int_equal(x.uid[0], 1);
	assert_int_equal(x.uid[2], 2);
	char acct[600];
	snprintf(acct, sizeof acct, "%s/example.com/ann", b->data);
	assert_int_equal(count_files(acct), 2);
	s->drv->close_box(bx);
}

static void test_uid_limit(void **state)
{
	backend *b = *state;
	ms_side *s = side(state);
	ms_store *st = raw_store(state);
	int64_t inbox = folder_id(st, "INBOX");
	MUST(ms_folder_raise_current_uid(st->db, inbox, MS_UID_MAX - 1, e_));
	ms_box *bx = open_box(s, "INBOX");
	assert_int_equal(bx->status.uidnext, (uint32_t)MS_UID_MAX);
	const ms_append m[2] = { MSG(msg1, 0, 0), MSG(msg2, 0, 0) };
	results x = { 0 };
	ms_err e = { 0 };
	/* two do not fit: refused whole, nothing written */
	assert_int_equal(s->drv->append(bx, m, 2, item_cb, &x, &e), MS_DRV_BOX_BAD);
	assert_int_equal(x.calls, 0);
	assert_non_null(strstr(e.msg, "2,147,483,647"));
	assert_int_equal(count_entries(b->data), 0);
	/* one does, with the last UID there is */
	DRV_OK(s->drv->append(bx, m, 1, item_cb, &x, e_));
	assert_int_equal(x.uid[0], (uint32_t)MS_UID_MAX);
	assert_int_equal(count_files(b->data), 1);
	/* and then none */
	results y = { 0 };
	assert_int_equal(s->drv->append(bx, m + 1, 1, item_cb, &y, &e), MS_DRV_BOX_BAD);
	assert_int_equal(y.calls, 0);
	assert_int_equal(count_files(b->data), 1);
	int64_t cur = 0;
	MUST(ms_folder_current_uid(st->db, inbox, &cur, e_));
	assert_int_equal(cur, MS_UID_MAX);
	ms_msg_row r;
	assert_int_equal(ms_browse_message_by_uid(st->db, account_id(st), inbox, MS_UID_MAX, &r, &e), 1);
	free(r.filename);
	ms_store_close(st);
	s->drv->close_box(bx);
}

static void test_read_only_writes_nothing(void **state)
{
	backend *b = *state;
	ms_side *s;
	ms_err e = { 0 };
	DRV_OK(open_side_as(b, "ann@example.com", true, &s, e_));
	ms_box *bx = open_box(s, "INBOX");
	const ms_append m = MSG(msg1, 0, 0);
	results x = { 0 };
	assert_int_equal(s->drv->append(bx, &m, 1, item_cb, &x, &e), MS_DRV_SIDE_BAD);
	assert_int_equal(s->drv->create_box(s, "New", &e), MS_DRV_SIDE_BAD);
	/* not even a directory in the data directory */
	assert_int_equal(count_entries(b->data), 0);
	s->drv->close_box(bx);
	s->drv->close(s);
}

static void test_broken_uids_refuse_the_box(void **state)
{
	ms_side *s = side(state);
	ms_store *st = raw_store(state);
	int64_t acct = account_id(st), inbox = folder_id(st, "INBOX");
	const ms_message_row rows[2] = {
		{ acct, inbox, "{11111111-1111-1111-1111-111111111111}.eml", "", 10, 0, "2024-01-01 00:00:00", 5 },
		{ acct, inbox, "{22222222-2222-2222-2222-222222222222}.eml", "", 10, 0, "2024-01-01 00:00:00", 5 },
	};
	MUST(ms_messages_insert_delivered(st->db, rows, 2, e_));
	ms_store_close(st);
	ms_box *bx = NULL;
	ms_err e = { 0 };
	assert_int_equal(s->drv->open_box(s, "INBOX", &bx, &e), MS_DRV_BOX_BAD);
	assert_null(bx);
	assert_non_null(strstr(e.msg, "reconstruct -r"));
}

static void test_account_folder_in_another_case(void **state)
{
	backend *b = *state;
	char dir[600];
	/* a store that came from Windows: the account's folder was written in another case */
	snprintf(dir, sizeof dir, "%s/Example.COM", b->data);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof dir, "%s/Example.COM/Ann", b->data);
	assert_int_equal(mkdir(dir, 0755), 0);
	ms_side *s = side(state);
	ms_box *bx = open_box(s, "INBOX");
	results x = { 0 };
	const ms_append m = MSG(msg1, 0, 0);
	DRV_OK(s->drv->append(bx, &m, 1, item_cb, &x, e_));
	assert_int_equal(count_files(dir), 1);
	results f = { 0 };
	const uint32_t uid = 1;
	DRV_OK(s->drv->fetch(bx, &uid, 1, fetch_cb, &f, e_));
	assert_int_equal(f.r[0], MS_DRV_OK);
	s->drv->close_box(bx);
}

static void test_symlinks_never_followed(void **state)
{
	backend *b = *state;
	ms_side *s = side(state);
	ms_box *bx = open_box(s, "INBOX");
	results x = { 0 };
	const ms_append m = MSG(msg1, 0, 0);
	DRV_OK(s->drv->append(bx, &m, 1, item_cb, &x, e_));
	size_t n;
	ms_msg *v = list_all(bx, 0, &n);
	/* the message's XX folder is moved out of the data directory and a symlink put in its place */
	char xx[1024], outside[1024], moved[1200];
	snprintf(xx, sizeof xx, "%s/example.com/ann/%.2s", b->data, v[0].key + 1);
	snprintf(outside, sizeof outside, "%s/outside", b->dir);
	snprintf(moved, sizeof moved, "%s/%s", outside, v[0].key);
	assert_int_equal(rename(xx, outside), 0);
	assert_int_equal(symlink(outside, xx), 0);
	ms_msg_list_free(v, n);
	results f = { 0 };
	const uint32_t uid = 1;
	DRV_OK(s->drv->fetch(bx, &uid, 1, fetch_cb, &f, e_));
	assert_int_equal(f.r[0], MS_DRV_MSG_BAD);
	/* expunge removes the row; the file behind the symlink is not touched */
	results y = { 0 };
	DRV_OK(s->drv->expunge(bx, &uid, 1, item_cb, &y, e_));
	assert_int_equal(y.r[0], MS_DRV_OK);
	assert_true(exists(moved));
	/* the whole account folder a symlink: an append writes nothing there */
	char acct[1024], elsewhere[1024];
	snprintf(acct, sizeof acct, "%s/example.com/ann", b->data);
	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", b->dir);
	assert_int_equal(mkdir(elsewhere, 0755), 0);
	assert_int_equal(unlink(xx), 0);
	assert_int_equal(rmdir(acct), 0);
	assert_int_equal(symlink(elsewhere, acct), 0);
	results z = { 0 };
	DRV_OK(s->drv->append(bx, &m, 1, item_cb, &z, e_));
	assert_int_equal(z.r[0], MS_DRV_MSG_BAD);
	assert_non_null(strstr(z.why[0], "symlink"));
	assert_int_equal(count_entries(elsewhere), 0);
	s->drv->close_box(bx);
}

static void test_delimiter_setting(void **state)
{
	ms_store *st = raw_store(state);
	/* mstore init inserts this row as hMailServer's setup scripts do ('.');
	 * an administrator may change it to '/' */
	MUST(db_exec(st->db, "UPDATE hm_settings SET settingstring = '/' WHERE settingname = 'IMAPHierarchyDelimiter'", e_));
	ms_store_close(st);
	ms_side *s = side(state);
	assert_int_equal(s->delim, '/');
	DRV_OK(s->drv->create_box(s, "A/B.c", e_));
	ms_box_info *v;
	size_t n;
	DRV_OK(s->drv->list_boxes(s, &v, &n, e_));
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(v[i].name, "A/B.c") == 0;
	assert_true(found);
	ms_box_list_free(v, n);
	s->drv->close_box(open_box(s, "A/B.c"));
}

/* ---- main ------------------------------------------------------------------- */

/* The conformance suite's view of a backend: a fresh store per test,
 * ann's account as the side. */
static int fixture_setup(void *ctx)
{
	void *state = ctx;
	return store_setup(&state);
}

static int fixture_teardown(void *ctx)
{
	void *state = ctx;
	return store_teardown(&state);
}

static ms_drv_result fixture_open(void *ctx, bool read_only, ms_side **out, ms_err *e)
{
	return open_side_as(ctx, "ann@example.com", read_only, out, e);
}

/* Every message file of the account lives at its canonical place, whatever its folder. */
static void fixture_vanish(void *ctx, const char *box, const ms_msg *m)
{
	char path[1024];
	(void)box;
	message_path(ctx, m->key, path, sizeof path);
	assert_int_equal(unlink(path), 0);
}

/* A child that writes through its own side and is killed (SIGKILL, by the
 * test hook at `hook`) in the middle: append (files written, rows not
 * committed) or expunge (row deleted, file not removed yet). */
static void killed_child(backend *b, const char *hook, bool append, uint32_t uid)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("MSTORE_TEST_HOOK_AT", hook, 1);
		setenv("MSTORE_TEST_HOOK_CMD", "kill -9 $PPID", 1);
		ms_side *s = NULL;
		ms_box *bx = NULL;
		ms_err e = { 0 };
		if (open_side_as(b, "ann@example.com", false, &s, &e) != MS_DRV_OK ||
		    s->drv->open_box(s, "INBOX", &bx, &e) != MS_DRV_OK)
			_exit(2);
		const ms_append m[2] = { MSG(msg2, 0, 0), MSG(msg3, 0, 0) };
		results x = { 0 };
		if (append)
			s->drv->append(bx, m, 2, item_cb, &x, &e);
		else
			s->drv->expunge(bx, &uid, 1, item_cb, &x, &e);
		_exit(3); /* the hook did not kill us */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Entries of DATA/.mstore whose name ends in .inflight. */
static int journals(const backend *b)
{
	char dir[600];
	snprintf(dir, sizeof dir, "%s/.mstore", b->data);
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *de; d && (de = readdir(d));)
		n += strstr(de->d_name, ".inflight") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void test_killed_writes_leave_no_stray_file(void **state)
{
	backend *b = *state;
	char acct[600];
	snprintf(acct, sizeof acct, "%s/example.com/ann", b->data);
	ms_side *s = side(state);
	ms_box *bx = open_box(s, "INBOX");
	const ms_append m = MSG(msg1, 0, 0);
	results x = { 0 };
	DRV_OK(s->drv->append(bx, &m, 1, item_cb, &x, e_));
	s->drv->close_box(bx);
	s->drv->close(s); /* with its own (empty) journal */
	b->side = NULL;
	assert_int_equal(journals(b), 0);

	/* killed between the files and the commit: two files no row names */
	killed_child(b, "hms-append-commit", true, 0);
	assert_int_equal(count_files(acct), 3);
	assert_int_equal(journals(b), 1);
	/* a read-only open (a dry run) removes nothing */
	ms_side *ro;
	DRV_OK(open_side_as(b, "ann@example.com", true, &ro, e_));
	ro->drv->close(ro);
	assert_int_equal(count_files(acct), 3);
	/* the next read-write open removes them, and keeps the committed one */
	s = side(state);
	assert_int_equal(count_files(acct), 1);
	assert_int_equal(journals(b), 0);
	bx = open_box(s, "INBOX");
	size_t n;
	ms_msg *v = list_all(bx, 0, &n);
	assert_int_equal(n, 1);
	char path[1024];
	message_path(b, v[0].key, path, sizeof path);
	assert_true(exists(path));
	uint32_t uid = v[0].uid;
	ms_msg_list_free(v, n);
	s->drv->close_box(bx);
	s->drv->close(s);
	b->side = NULL;

	/* killed between the row's delete and the file's: the file goes at the next open */
	killed_child(b, "hms-expunge-unlink", false, uid);
	assert_int_equal(count_files(acct), 1);
	s = side(state);
	assert_int_equal(count_files(acct), 0);
	assert_int_equal(journals(b), 0);
}

#define STORE_TEST(f, b) cmocka_unit_test_prestate_setup_teardown(f, store_setup, store_teardown, &(b))
#define STORE_TESTS(b)                                                                                  \
	{                                                                                               \
		STORE_TEST(test_open_errors, b), STORE_TEST(test_boxes, b),                             \
		STORE_TEST(test_append_writes_files_and_rows, b), STORE_TEST(test_flags_keep_server_bits, b), \
		STORE_TEST(test_append_row_as_imap_append, b),                                      \
		STORE_TEST(test_expunge_removes_row_and_file, b), STORE_TEST(test_missing_file_is_named, b), \
		STORE_TEST(test_empty_message_writes_no_file, b),                                      \
		STORE_TEST(test_uid_limit, b), STORE_TEST(test_read_only_writes_nothing, b),            \
		STORE_TEST(test_broken_uids_refuse_the_box, b),                                       \
		STORE_TEST(test_account_folder_in_another_case, b), STORE_TEST(test_delimiter_setting, b), \
		STORE_TEST(test_symlinks_never_followed, b),                                          \
		STORE_TEST(test_killed_writes_leave_no_stray_file, b),                                \
	}

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

/* The conformance suite, then the driver's own tests, on one backend. */
static int run_backend(backend *b, const struct CMUnitTest *tests, size_t n)
{
	char group[64], label[64];
	snprintf(label, sizeof label, "hmailserver %s", b->label);
	const conformance_fixture f = { .label = label, .ctx = b, .setup = fixture_setup,
		                        .teardown = fixture_teardown, .open = fixture_open, .vanish = fixture_vanish };
	snprintf(group, sizeof group, "conformance hmailserver %s", b->label);
	int failed = driver_conformance_run(group, &f);
	snprintf(group, sizeof group, "driver %s", b->label);
	return failed + _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}

static int run_server_group(backend *b, const struct CMUnitTest *tests, size_t n)
{
	char url[512];
	ms_err e = { 0 };
	server_url(b, b->dialect == DB_PGSQL ? "postgres" : "mysql", url, sizeof url);
	if (db_open(url, b->password, DB_OPEN_READ_WRITE, &b->admin, &e) < 0) {
		fprintf(stderr, "%s server configured but unusable: %s\n", b->label, e.msg);
		return 1;
	}
	int failed = run_backend(b, tests, n);
	db_close(b->admin);
	b->admin = NULL;
	return failed;
}

int main(void)
{
	/* internal dates are kept in server local time: run where local time is not UTC and has DST */
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	read_env_file();
	configure_server(&pg_backend, "MSTORE_TEST_PG_PORT");
	configure_server(&my_backend, "MSTORE_TEST_MY_PORT");

	const struct CMUnitTest general[] = {
		cmocka_unit_test(test_uidvalidity_formula),
		cmocka_unit_test(test_registry_and_conf),
	};
	const struct CMUnitTest sqlite_tests[] = STORE_TESTS(sqlite_backend);
	const struct CMUnitTest pg_tests[] = STORE_TESTS(pg_backend);
	const struct CMUnitTest my_tests[] = STORE_TESTS(my_backend);
	size_t per_backend = sizeof sqlite_tests / sizeof sqlite_tests[0];

	int failed = cmocka_run_group_tests_name("driver general", general, NULL, NULL);
	failed += run_backend(&sqlite_backend, sqlite_tests, per_backend);
	if (server_group_wanted(&pg_backend, &failed))
		failed += run_server_group(&pg_backend, pg_tests, per_backend);
	if (server_group_wanted(&my_backend, &failed))
		failed += run_server_group(&my_backend, my_tests, per_backend);
	return failed == 0 ? 0 : 1;
}
