/* test_channel.c - the channel engine (channel/engine.h) end to end on
 * real stores: side A is ann@example.com, side B bob@example.com, two
 * accounts of one hMailServer store made through src/store (schema,
 * domain, accounts), written and read only through the hmailserver
 * driver.  Every case of channel.md / issue 14's table: new on each side,
 * deleted on each side and on both, flags changed on each side and in
 * conflict, a folder on one side only, messages without Message-ID,
 * duplicates, no_delete then a normal run, a dry run that changes nothing
 * (both stores and the state compared before and after), the brake (an
 * emptied side, a vanished folder, a 50% deletion), a lost state file, the
 * size limit, the quarantine and undo.  SQLite always; PostgreSQL and
 * MariaDB when tests/db-servers.sh runs them (test_env.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel/engine.h"
#include "channel/ident.h"
#include "channel/state.h"
#include "drivers/driver.h"
#include "store/objects.h"
#include "store/store.h"

#include "mem_side.h"

typedef struct backend {
	db_dialect dialect;
	const char *label;
	bool configured;
	int port;
	char user[64], password[256];
	db *admin;
	char dbname[64];
	char dir[256];
	char data[300];
	char url[512];
	char state[320];
	char quarantine[320];
} backend;

static backend sqlite_backend = { .dialect = DB_SQLITE, .label = "sqlite", .configured = true };
static backend pg_backend = { .dialect = DB_PGSQL, .label = "pgsql" };
static backend my_backend = { .dialect = DB_MYSQL, .label = "mysql" };

#include "drv_ok.h"
#include "test_env.h"

static const char *password_of(const backend *b)
{
	return b->dialect == DB_SQLITE ? NULL : b->password;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static int store_setup(void **state)
{
	static int serial;
	backend *b = *state;
	ms_err e = { 0 };
	snprintf(b->dir, sizeof b->dir, "/tmp/test_channel.XXXXXX");
	if (!mkdtemp(b->dir))
		return -1;
	snprintf(b->data, sizeof b->data, "%s/data", b->dir);
	snprintf(b->state, sizeof b->state, "%s/chan.state", b->dir);
	snprintf(b->quarantine, sizeof b->quarantine, "%s/quarantine", b->dir);
	if (mkdir(b->data, 0755) < 0)
		return -1;
	if (b->dialect == DB_SQLITE) {
		snprintf(b->url, sizeof b->url, "sqlite:%s/store.db", b->dir);
	} else {
		char sql[256];
		snprintf(b->dbname, sizeof b->dbname, "mst_chan_%ld_%d", (long)getpid(), ++serial);
		snprintf(sql, sizeof sql, "CREATE DATABASE %s%s", b->dbname,
		         b->dialect == DB_MYSQL ? " CHARACTER SET utf8mb4" : "");
		if (db_exec(b->admin, sql, &e) < 0)
			goto fail;
		server_url(b, b->dbname, b->url, sizeof b->url);
	}
	ms_store *s;
	int64_t id;
	ms_domain_opts dopts = { 0 };
	ms_account_opts aopts = { 0 };
	if (ms_store_init(b->url, password_of(b), &e) < 0 ||
	    ms_store_open(b->url, password_of(b), b->data, DB_OPEN_READ_WRITE, &s, &e) < 0)
		goto fail;
	int rc = ms_domain_add(s, "example.com", &dopts, &id, &e) < 0 ||
	                 ms_account_add(s, "ann@example.com", &aopts, &id, &e) < 0 ||
	                 ms_account_add(s, "bob@example.com", &aopts, &id, &e) < 0
	         ? -1
	         : 0;
	ms_store_close(s);
	if (rc == 0)
		return 0;
fail:
	fprintf(stderr, "%s: %s\n", b->label, e.msg);
	return -1;
}

static int store_teardown(void **state)
{
	backend *b = *state;
	ms_err e;
	nftw(b->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (b->dialect == DB_SQLITE)
		return 0;
	char sql[256];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s%s", b->dbname, b->dialect == DB_PGSQL ? " WITH (FORCE)" : "");
	return db_exec(b->admin, sql, &e) < 0 ? -1 : 0;
}

/* ---- sides and messages ------------------------------------------------------- */

static ms_side *open_side(backend *b, const char *account, bool read_only)
{
	const ms_side_opt opts[] = {
		{ "db", b->url }, { "data", b->data }, { "account", account }, { "password", password_of(b) },
	};
	ms_side_conf conf = { .name = account, .opts = opts, .nopts = b->dialect == DB_SQLITE ? 3 : 4,
	                      .read_only = read_only };
	ms_side *s = NULL;
	DRV_OK(ms_side_driver_find("hmailserver")->open(&conf, &s, e_));
	return s;
}

#define ANN "ann@example.com"
#define BOB "bob@example.com"

typedef struct sides {
	ms_side *s[2];
} sides;

static sides open_both(backend *b)
{
	return (sides){ { open_side(b, ANN, false), open_side(b, BOB, false) } };
}

static void close_both(sides *x)
{
	for (int i = 0; i < 2; i++)
		x->s[i]->drv->close(x->s[i]);
}

static void count_cb(void *ctx, size_t i, ms_drv_result r, uint32_t uid, const char *key, const ms_err *why)
{
	(void)i, (void)uid, (void)key;
	if (r != MS_DRV_OK)
		fail_msg("item failed: %s", why ? why->msg : "");
	(*(int *)ctx)++;
}

/* Put a message into `box` of the side (created when missing). */
static void put(ms_side *s, const char *box, const char *msgid, const char *body, unsigned flags)
{
	char text[4096];
	if (msgid)
		snprintf(text, sizeof text, "Message-ID: <%s>\r\nSubject: test\r\n\r\n%s\r\n", msgid, body);
	else
		snprintf(text, sizeof text, "Subject: no id\r\n\r\n%s\r\n", body);
	DRV_OK(s->drv->create_box(s, box, e_));
	ms_box *bx;
	DRV_OK(s->drv->open_box(s, box, &bx, e_));
	ms_append a = { .data = text, .len = strlen(text), .flags = flags, .internal_date = 1700000000 };
	int n = 0;
	DRV_OK(s->drv->append(bx, &a, 1, count_cb, &n, e_));
	assert_int_equal(n, 1);
	s->drv->close_box(bx);
}

/* The UID of the message with this Message-ID (or, msgid NULL, this body) in box. */
typedef struct found {
	uint32_t uid;
	unsigned flags;
	int count;
} found;

static found find(ms_side *s, const char *box, const char *msgid)
{
	ms_box *bx;
	found f = { 0 };
	DRV_OK(s->drv->open_box(s, box, &bx, e_));
	ms_msg *v;
	size_t n;
	ms_list_req req = { .want = MS_WANT_MSGID };
	DRV_OK(s->drv->list_msgs(bx, &req, &v, &n, e_));
	for (size_t i = 0; i < n; i++)
		if (v[i].msgid && strcmp(v[i].msgid, msgid) == 0) {
			f.uid = v[i].uid;
			f.flags = v[i].flags & MS_FLAGS_ALL;
			f.count++;
		}
	ms_msg_list_free(v, n);
	s->drv->close_box(bx);
	return f;
}

static size_t count(ms_side *s, const char *box)
{
	ms_box *bx;
	if (s->drv->open_box(s, box, &bx, &(ms_err){ 0 }) != MS_DRV_OK)
		return 0;
	size_t c = bx->status.count;
	s->drv->close_box(bx);
	return c;
}

static void expunge(ms_side *s, const char *box, const char *msgid)
{
	found f = find(s, box, msgid);
	assert_int_equal(f.count, 1);
	ms_box *bx;
	DRV_OK(s->drv->open_box(s, box, &bx, e_));
	int n = 0;
	DRV_OK(s->drv->expunge(bx, &f.uid, 1, count_cb, &n, e_));
	s->drv->close_box(bx);
}

/* Expunge the one message without Message-ID whose bytes hold `body`. */
typedef struct body_match {
	const char *body;
	bool hit;
} body_match;

static void body_cb(void *ctx, size_t i, ms_drv_result r, const char *data, size_t len, const ms_err *why)
{
	(void)i, (void)why;
	body_match *m = ctx;
	m->hit = r == MS_DRV_OK && memmem(data, len, m->body, strlen(m->body)) != NULL;
}

static void expunge_body(ms_side *s, const char *box, const char *body)
{
	ms_box *bx;
	DRV_OK(s->drv->open_box(s, box, &bx, e_));
	ms_msg *v;
	size_t n;
	ms_list_req req = { .want = MS_WANT_MSGID };
	DRV_OK(s->drv->list_msgs(bx, &req, &v, &n, e_));
	int done_n = 0;
	for (size_t i = 0; i < n; i++) {
		body_match m = { .body = body };
		DRV_OK(s->drv->fetch(bx, &v[i].uid, 1, body_cb, &m, e_));
		if (m.hit && !v[i].msgid) {
			DRV_OK(s->drv->expunge(bx, &v[i].uid, 1, count_cb, &done_n, e_));
			break;
		}
	}
	assert_int_equal(done_n, 1);
	ms_msg_list_free(v, n);
	s->drv->close_box(bx);
}

static void set_flags(ms_side *s, const char *box, const char *msgid, unsigned add, unsigned remove)
{
	found f = find(s, box, msgid);
	assert_int_equal(f.count, 1);
	ms_box *bx;
	DRV_OK(s->drv->open_box(s, box, &bx, e_));
	ms_flag_change c = { .uid = f.uid, .add = add, .remove = remove };
	int n = 0;
	DRV_OK(s->drv->set_flags(bx, &c, 1, count_cb, &n, e_));
	s->drv->close_box(bx);
}

/* Every box and message of a side, as one sorted text: box, identity, flags. */
static void fp_cb(void *ctx, size_t i, ms_drv_result r, const char *data, size_t len, const ms_err *why)
{
	(void)i, (void)why;
	char **out = ctx;
	assert_int_equal(r, MS_DRV_OK);
	*out = ms_ident_digest(data, len);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *snapshot(ms_side *s)
{
	ms_box_info *boxes;
	size_t nb;
	DRV_OK(s->drv->list_boxes(s, &boxes, &nb, e_));
	char **lines = NULL;
	size_t nl = 0;
	for (size_t i = 0; i < nb; i++) {
		ms_box *bx;
		DRV_OK(s->drv->open_box(s, boxes[i].name, &bx, e_));
		ms_msg *v;
		size_t n;
		ms_list_req req = { .want = MS_WANT_MSGID };
		DRV_OK(s->drv->list_msgs(bx, &req, &v, &n, e_));
		lines = realloc(lines, (nl + n + 1) * sizeof *lines);
		char *boxline = malloc(600);
		snprintf(boxline, 600, "box %s", boxes[i].name);
		lines[nl++] = boxline;
		for (size_t k = 0; k < n; k++) {
			char *digest = NULL;
			DRV_OK(s->drv->fetch(bx, &v[k].uid, 1, fp_cb, &digest, e_));
			char *l = malloc(1024);
			snprintf(l, 1024, "%s %s %s %x", boxes[i].name, v[k].msgid ? v[k].msgid : "-", digest,
			         v[k].flags & MS_FLAGS_ALL);
			free(digest);
			lines[nl++] = l;
		}
		ms_msg_list_free(v, n);
		s->drv->close_box(bx);
	}
	ms_box_list_free(boxes, nb);
	qsort(lines, nl, sizeof *lines, cmp_line);
	size_t total = 1;
	for (size_t i = 0; i < nl; i++)
		total += strlen(lines[i]) + 1;
	char *out = calloc(1, total);
	for (size_t i = 0; i < nl; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
		free(lines[i]);
	}
	free(lines);
	return out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("(none)");
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ---- running the engine ------------------------------------------------------- */

typedef struct result {
	int rc;
	ms_channel_report r;
} result;

static result run_opts(backend *b, sides *x, const ms_engine_opts *o)
{
	ms_state *st = NULL;
	ms_err e = { 0 };
	if (ms_state_load(b->state, "test", &st, &e) < 0)
		fail_msg("state: %s", e.msg);
	ms_box_pairing *pairs;
	size_t np;
	if (ms_pair_by_name(x->s, &pairs, &np, &e) < 0)
		fail_msg("pairing: %s", e.msg);
	result res = { 0 };
	res.rc = ms_engine_run(x->s, pairs, np, st, o, &res.r, &e);
	if (res.rc < 0)
		fail_msg("engine: %s", e.msg);
	ms_box_pairing_free(pairs, np);
	ms_state_free(st);
	return res;
}

static result run(backend *b, sides *x)
{
	ms_engine_opts o = { 0 };
	return run_opts(b, x, &o);
}

static void done(result *r)
{
	ms_channel_report_free(&r->r);
}

/* A run that must do nothing more: the channel has converged. */
static void assert_converged(backend *b, sides *x)
{
	result r = run(b, x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[0] + r.r.copied[1] + r.r.deleted[0] + r.r.deleted[1] + r.r.flagged[0] + r.r.flagged[1], 0);
	done(&r);
}

/* ---- the cases ---------------------------------------------------------------- */

static void test_new_on_each_side(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	put(x.s[0], "INBOX", "a1@x", "one", MS_FLAG_SEEN);
	put(x.s[0], "INBOX", "a2@x", "two", 0);
	put(x.s[1], "INBOX", "b1@x", "three", MS_FLAG_FLAGGED);
	put(x.s[1], "Work.Sub", "b2@x", "four", 0);     /* a folder on one side only */
	result r = run(b, &x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[1], 2);
	assert_int_equal(r.r.copied[0], 2);
	done(&r);
	assert_int_equal(count(x.s[0], "INBOX"), 3);
	assert_int_equal(count(x.s[1], "INBOX"), 3);
	assert_int_equal(find(x.s[0], "Work.Sub", "b2@x").count, 1);
	/* copies keep the order of arrival: a1 before a2 on B too */
	assert_true(find(x.s[1], "INBOX", "a1@x").uid < find(x.s[1], "INBOX", "a2@x").uid);
	/* flags and content travel */
	assert_int_equal(find(x.s[1], "INBOX", "a1@x").flags, MS_FLAG_SEEN);
	assert_int_equal(find(x.s[0], "INBOX", "b1@x").flags, MS_FLAG_FLAGGED);
	char *sa = snapshot(x.s[0]), *sb = snapshot(x.s[1]);
	assert_string_equal(sa, sb);
	free(sa), free(sb);
	assert_converged(b, &x);
	close_both(&x);
}

static void synced_three(backend *b, sides *x)
{
	put(x->s[0], "INBOX", "m1@x", "one", 0);
	put(x->s[0], "INBOX", "m2@x", "two", 0);
	put(x->s[1], "INBOX", "m3@x", "three", 0);
	result r = run(b, x);
	assert_int_equal(r.rc, 0);
	done(&r);
}

static void test_deleted_each_side_and_both(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	synced_three(b, &x);
	expunge(x.s[0], "INBOX", "m1@x");    /* deleted on A */
	expunge(x.s[1], "INBOX", "m3@x");    /* deleted on B */
	expunge(x.s[0], "INBOX", "m2@x");    /* deleted on both */
	expunge(x.s[1], "INBOX", "m2@x");
	result r = run(b, &x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.deleted[1], 1);
	assert_int_equal(r.r.deleted[0], 1);
	assert_int_equal(r.r.copied[0] + r.r.copied[1], 0);
	done(&r);
	assert_int_equal(count(x.s[0], "INBOX"), 0);
	assert_int_equal(count(x.s[1], "INBOX"), 0);
	/* the state forgot them all: a message with an old ID is new again */
	char *st = slurp(b->state);
	assert_null(strstr(st, "m1@x"));
	assert_null(strstr(st, "m2@x"));
	free(st);
	assert_converged(b, &x);
	close_both(&x);
}

static void test_flags(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	synced_three(b, &x);
	/* a change on each side propagates */
	set_flags(x.s[0], "INBOX", "m1@x", MS_FLAG_SEEN, 0);
	set_flags(x.s[1], "INBOX", "m2@x", MS_FLAG_FLAGGED | MS_FLAG_ANSWERED, 0);
	/* different flags of one message on both sides: both propagate */
	set_flags(x.s[0], "INBOX", "m3@x", MS_FLAG_SEEN, 0);
	set_flags(x.s[1], "INBOX", "m3@x", MS_FLAG_DRAFT, 0);
	result r = run(b, &x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.flagged[1], 2);
	assert_int_equal(r.r.flagged[0], 2);
	done(&r);
	for (int s = 0; s < 2; s++) {
		assert_int_equal(find(x.s[s], "INBOX", "m1@x").flags, MS_FLAG_SEEN);
		assert_int_equal(find(x.s[s], "INBOX", "m2@x").flags, MS_FLAG_FLAGGED | MS_FLAG_ANSWERED);
		assert_int_equal(find(x.s[s], "INBOX", "m3@x").flags, MS_FLAG_SEEN | MS_FLAG_DRAFT);
	}
	/* a removal on one side propagates; in conflict (A removes Seen, B
	   removes Draft and adds Flagged) each change wins */
	set_flags(x.s[1], "INBOX", "m1@x", 0, MS_FLAG_SEEN);
	set_flags(x.s[0], "INBOX", "m3@x", 0, MS_FLAG_SEEN);
	set_flags(x.s[1], "INBOX", "m3@x", MS_FLAG_FLAGGED, MS_FLAG_DRAFT);
	r = run(b, &x);
	assert_int_equal(r.rc, 0);
	done(&r);
	for (int s = 0; s < 2; s++) {
		assert_int_equal(find(x.s[s], "INBOX", "m1@x").flags, 0);
		assert_int_equal(find(x.s[s], "INBOX", "m3@x").flags, MS_FLAG_FLAGGED);
	}
	assert_converged(b, &x);
	close_both(&x);
}

static void test_no_message_id_and_duplicates(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	/* mailsync would copy only the first of these */
	put(x.s[0], "INBOX", NULL, "first body", 0);
	put(x.s[0], "INBOX", NULL, "second body", MS_FLAG_SEEN);
	put(x.s[0], "INBOX", NULL, "third body", 0);
	put(x.s[1], "INBOX", NULL, "from B", 0);
	/* true duplicates: one identity twice on A (same Message-ID), and the
	   same content without ID twice on B */
	put(x.s[0], "INBOX", "dup@x", "same", 0);
	put(x.s[0], "INBOX", "dup@x", "same", 0);
	put(x.s[1], "INBOX", NULL, "twin", 0);
	put(x.s[1], "INBOX", NULL, "twin", 0);
	result r = run(b, &x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[1], 4);   /* three without ID and one copy of dup */
	assert_int_equal(r.r.copied[0], 2);   /* "from B" and one twin */
	assert_int_equal(r.r.duplicates[0], 1);
	assert_int_equal(r.r.duplicates[1], 1);
	done(&r);
	assert_int_equal(count(x.s[0], "INBOX"), 5 + 2);
	assert_int_equal(count(x.s[1], "INBOX"), 3 + 4);
	assert_int_equal(find(x.s[1], "INBOX", "dup@x").count, 1);
	/* never multiplied, never deleted: a rerun reports them again and does nothing */
	r = run(b, &x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[0] + r.r.copied[1] + r.r.deleted[0] + r.r.deleted[1], 0);
	assert_int_equal(r.r.duplicates[0], 1);
	assert_int_equal(r.r.duplicates[1], 1);
	done(&r);
	assert_int_equal(find(x.s[0], "INBOX", "dup@x").count, 2);
	/* an ID-less message deleted on B is deleted on A too: it is known by its digest */
	expunge_body(x.s[1], "INBOX", "second body");
	r = run(b, &x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.deleted[0], 1);
	done(&r);
	assert_int_equal(count(x.s[0], "INBOX"), 6);
	assert_converged(b, &x);
	close_both(&x);
}

static void test_no_delete_then_normal(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	synced_three(b, &x);
	expunge(x.s[1], "INBOX", "m1@x");
	ms_engine_opts o = { .no_delete = true };
	for (int i = 0; i < 2; i++) {
		result r = run_opts(b, &x, &o);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.r.pending[0], 1);
		assert_int_equal(r.r.copied[1], 0);   /* never copied back */
		assert_int_equal(r.r.deleted[0], 0);
		done(&r);
		assert_int_equal(find(x.s[0], "INBOX", "m1@x").count, 1);
		assert_int_equal(find(x.s[1], "INBOX", "m1@x").count, 0);
	}
	char *st = slurp(b->state);
	assert_non_null(strstr(st, " A\n"));
	free(st);
	/* the normal run carries the deletion out (mailsync copies it back) */
	result r = run(b, &x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.deleted[0], 1);
	assert_int_equal(r.r.copied[1], 0);
	done(&r);
	assert_int_equal(find(x.s[0], "INBOX", "m1@x").count, 0);
	assert_int_equal(find(x.s[1], "INBOX", "m1@x").count, 0);
	assert_converged(b, &x);
	close_both(&x);
}

static void test_dry_run_changes_nothing(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	synced_three(b, &x);
	put(x.s[0], "INBOX", "new@x", "new", 0);
	put(x.s[1], "Other", NULL, "no id", 0);
	expunge(x.s[1], "INBOX", "m1@x");
	set_flags(x.s[0], "INBOX", "m2@x", MS_FLAG_SEEN, 0);
	char *before[3] = { snapshot(x.s[0]), snapshot(x.s[1]), slurp(b->state) };
	close_both(&x);
	char lock[400];
	snprintf(lock, sizeof lock, "%s.lock", b->state);
	assert_int_equal(unlink(lock), 0);          /* left by the real run before */
	/* read-only sides behind the proxy, as the CLI opens them for -s/--dry-run */
	sides d = { { ms_dryrun_wrap(open_side(b, ANN, true)), ms_dryrun_wrap(open_side(b, BOB, true)) } };
	ms_engine_opts o = { .dry_run = true };
	result r = run_opts(b, &d, &o);
	assert_int_equal(r.rc, 0);
	/* it reports what a real run would do */
	assert_int_equal(r.r.copied[1], 1);
	assert_int_equal(r.r.copied[0], 1);
	assert_int_equal(r.r.deleted[0], 1);
	assert_int_equal(r.r.flagged[1], 1);
	assert_true(r.r.pairs.v[0].created[0] || r.r.pairs.v[1].created[0]);
	done(&r);
	size_t nlog;
	const char *const *log = ms_dryrun_log(d.s[0], &nlog);
	assert_true(nlog >= 3);   /* create Other, append, expunge */
	bool saw_expunge = false;
	for (size_t i = 0; i < nlog; i++)
		saw_expunge |= strncmp(log[i], "expunge", 7) == 0;
	assert_true(saw_expunge);
	close_both(&d);
	x = open_both(b);
	char *after[3] = { snapshot(x.s[0]), snapshot(x.s[1]), slurp(b->state) };
	assert_int_equal(access(lock, F_OK), -1);   /* not even a lock file */
	for (int i = 0; i < 3; i++) {
		assert_string_equal(before[i], after[i]);
		free(before[i]);
		free(after[i]);
	}
	close_both(&x);
}

static void test_brake_emptied_side(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	synced_three(b, &x);
	put(x.s[0], "INBOX", "late@x", "new on A", 0);
	char *st_before = slurp(b->state);
	/* B looks empty: every message gone (a wrong path, an unmounted disk) */
	expunge(x.s[1], "INBOX", "m1@x");
	expunge(x.s[1], "INBOX", "m2@x");
	expunge(x.s[1], "INBOX", "m3@x");
	result r = run(b, &x);
	assert_int_equal(r.rc, 1);
	assert_true(r.r.braked);
	assert_true(r.r.brake.n >= 1);
	assert_non_null(strstr(r.r.brake.v[0], "looks empty"));
	assert_int_equal(r.r.deleted[0] + r.r.copied[1], 0);
	done(&r);
	/* nothing written anywhere, the state untouched */
	assert_int_equal(count(x.s[0], "INBOX"), 4);
	assert_int_equal(count(x.s[1], "INBOX"), 0);
	char *st_after = slurp(b->state);
	assert_string_equal(st_before, st_after);
	free(st_before), free(st_after);
	/* force: the deletions are carried out */
	ms_engine_opts o = { .force = true };
	r = run_opts(b, &x, &o);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.deleted[0], 3);
	assert_int_equal(r.r.copied[1], 1);
	done(&r);
	assert_int_equal(count(x.s[0], "INBOX"), 1);
	close_both(&x);
}

static void test_brake_half_deleted(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	char id[32];
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "h%d@x", i);
		put(x.s[0], "INBOX", id, id, 0);
	}
	put(x.s[0], "Keep", "k@x", "keep", 0);   /* B is not empty as a whole */
	result r = run(b, &x);
	assert_int_equal(r.rc, 0);
	done(&r);
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "h%d@x", i);
		expunge(x.s[1], "INBOX", id);
	}
	r = run(b, &x);
	assert_int_equal(r.rc, 1);
	assert_true(r.r.braked);
	assert_non_null(strstr(r.r.brake.v[0], "10 of its 20"));
	done(&r);
	assert_int_equal(count(x.s[0], "INBOX"), 20);
	/* a higher limit allows it */
	ms_engine_opts o = { .max_delete = 60 };
	r = run_opts(b, &x, &o);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.deleted[0], 10);
	done(&r);
	assert_int_equal(count(x.s[0], "INBOX"), 10);
	close_both(&x);
}

/* Box `box` with n messages, synchronized, then k of them deleted on B:
 * whether a run with `o` brakes (the deletions then done with force). */
static bool brakes_after(backend *b, sides *x, const char *box, int n, int k, const ms_engine_opts *o)
{
	char id[48];
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof id, "%s-%d@x", box, i);
		put(x->s[0], box, id, id, 0);
	}
	result r = run(b, x);
	assert_int_equal(r.rc, 0);
	done(&r);
	for (int i = 0; i < k; i++) {
		snprintf(id, sizeof id, "%s-%d@x", box, i);
		expunge(x->s[1], box, id);
	}
	r = run_opts(b, x, o);
	bool braked = r.r.braked;
	assert_int_equal(r.rc, braked ? 1 : 0);
	assert_int_equal(count(x->s[0], box), braked ? n : n - k);   /* braked: nothing deleted */
	done(&r);
	if (braked) {
		ms_engine_opts force = { .force = true };
		r = run_opts(b, x, &force);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.r.deleted[0], k);
		done(&r);
	}
	return braked;
}

/* The share rule's edges: more than maxdelete percent (default 20) and
 * more than MS_ENGINE_BRAKE_MIN deletions brake; force and 100% do not. */
static void test_brake_boundaries(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	put(x.s[0], "Keep", "k@x", "keep", 0);   /* B never looks empty as a whole */
	ms_engine_opts dflt = { 0 }, all = { .max_delete = 100 }, force = { .force = true };
	assert_int_equal(MS_ENGINE_MAX_DELETE_DEFAULT, 20);
	assert_false(brakes_after(b, &x, "Exact", 30, 6, &dflt));       /* exactly 20%: allowed */
	assert_true(brakes_after(b, &x, "Over", 30, 7, &dflt));        /* 23% of what the box has */
	assert_false(brakes_after(b, &x, "Few", 6, MS_ENGINE_BRAKE_MIN, &dflt));  /* 83%, but only 5 */
	assert_true(brakes_after(b, &x, "Six", 7, MS_ENGINE_BRAKE_MIN + 1, &dflt));
	assert_false(brakes_after(b, &x, "All", 10, 10, &all));        /* maxdelete 100%: no share rule */
	assert_false(brakes_after(b, &x, "Forced", 20, 10, &force));   /* --force-deletions */
	close_both(&x);
}

static void test_brake_vanished_box(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	put(x.s[0], "INBOX", "i@x", "inbox", 0);
	put(x.s[0], "Work", "w1@x", "w1", 0);
	put(x.s[0], "Work", "w2@x", "w2", 0);
	result r = run(b, &x);
	assert_int_equal(r.rc, 0);
	done(&r);
	expunge(x.s[1], "Work", "w1@x");
	expunge(x.s[1], "Work", "w2@x");
	DRV_OK(x.s[1]->drv->delete_box(x.s[1], "Work", e_));
	r = run(b, &x);
	assert_int_equal(r.rc, 1);
	assert_true(r.r.braked);
	assert_non_null(strstr(r.r.brake.v[0], "vanished"));
	done(&r);
	assert_int_equal(count(x.s[0], "Work"), 2);
	close_both(&x);
}

static void test_lost_state_repairs_without_copies(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	synced_three(b, &x);
	put(x.s[0], "INBOX", NULL, "no id, synced", 0);
	result r = run(b, &x);
	done(&r);
	assert_int_equal(unlink(b->state), 0);
	put(x.s[1], "INBOX", "after@x", "new", 0);
	/* flags that differ with no state to tell who changed them: the union */
	set_flags(x.s[0], "INBOX", "m1@x", MS_FLAG_SEEN, 0);
	set_flags(x.s[1], "INBOX", "m1@x", MS_FLAG_FLAGGED, 0);
	r = run(b, &x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(find(x.s[0], "INBOX", "m1@x").flags, MS_FLAG_SEEN | MS_FLAG_FLAGGED);
	assert_int_equal(find(x.s[1], "INBOX", "m1@x").flags, MS_FLAG_SEEN | MS_FLAG_FLAGGED);
	assert_int_equal(r.r.copied[0], 1);   /* only the new one */
	assert_int_equal(r.r.copied[1], 0);
	assert_int_equal(r.r.deleted[0] + r.r.deleted[1], 0);
	done(&r);
	assert_int_equal(count(x.s[0], "INBOX"), 5);
	assert_int_equal(count(x.s[1], "INBOX"), 5);
	assert_converged(b, &x);
	close_both(&x);
}

/* A message B cannot read (its file is gone) and does not know by key:
 * it may be the one A still has, so no deletion is propagated to A from
 * that box; deletions the other way still are. */
static void test_unreadable_message_stops_deletions(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	synced_three(b, &x);
	expunge(x.s[0], "INBOX", "m2@x");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "rm \"$(grep -rl 'm1@x' %s/example.com/bob)\"", b->data);
	assert_int_equal(system(cmd), 0);
	result r = run(b, &x);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.r.deleted[0], 0);    /* m1 stays on A */
	assert_int_equal(r.r.deleted[1], 1);    /* m2 is gone from B */
	assert_int_equal(r.r.copied[1], 0);
	done(&r);
	assert_int_equal(find(x.s[0], "INBOX", "m1@x").count, 1);
	close_both(&x);
}

/* A mailsync user's msinfo, imported as "known in sync" identities: what
 * mailsync saw on both sides and is now missing on one was deleted there,
 * so it is deleted, not copied back; nothing present on both is copied. */
static void test_seeded_state(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	put(x.s[0], "INBOX", "s1@x", "one", 0);
	put(x.s[0], "INBOX", "s2@x", "two", 0);
	put(x.s[0], "INBOX", "s3@x", "three", 0);
	put(x.s[1], "INBOX", "s1@x", "one", 0);
	put(x.s[1], "INBOX", "s2@x", "two", 0);
	put(x.s[1], "INBOX", "s4@x", "new on B", 0);
	ms_state *st = NULL;
	ms_err e = { 0 };
	assert_int_equal(ms_state_load(b->state, "test", &st, &e), 0);
	const char *ids[] = { "<s1@x>", "<s2@x>", "<s3@x>" };
	assert_int_equal(ms_state_seed(st, "INBOX", "INBOX", ids, 3, &e), 0);
	assert_int_equal(ms_state_save(st, &e), 0);
	ms_state_free(st);
	result r = run(b, &x);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.deleted[0], 1);
	assert_int_equal(r.r.copied[0], 1);
	assert_int_equal(r.r.copied[1], 0);
	done(&r);
	assert_int_equal(find(x.s[0], "INBOX", "s3@x").count, 0);
	assert_int_equal(find(x.s[1], "INBOX", "s3@x").count, 0);
	assert_int_equal(count(x.s[0], "INBOX"), 3);
	assert_converged(b, &x);
	close_both(&x);
}

static void test_corrupt_state_refused(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	synced_three(b, &x);
	FILE *f = fopen(b->state, "a");
	fputs("garbage line\n", f);
	fclose(f);
	ms_state *st = NULL;
	ms_err e = { 0 };
	assert_int_equal(ms_state_load(b->state, "test", &st, &e), -1);
	assert_non_null(strstr(e.msg, b->state));
	assert_int_equal(ms_state_load(b->state, "another", &st, &e), -1);
	close_both(&x);
}

/* -t md5: every message is keyed by mailsync's header MD5, a Message-ID
 * or not; the state records those identities and a rerun copies nothing. */
static void test_md5_identities(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	put(x.s[0], "INBOX", "m1@x", "one", 0);
	put(x.s[0], "INBOX", "m2@x", "two", 0);
	ms_engine_opts o = { .ident = MS_IDENT_MD5 };
	result r = run_opts(b, &x, &o);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[1], 2);
	done(&r);
	char *st = slurp(b->state);
	assert_non_null(strstr(st, "md5:"));
	assert_null(strstr(st, "m1@x"));
	assert_null(strstr(st, "m2@x"));
	free(st);
	r = run_opts(b, &x, &o);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[0] + r.r.copied[1], 0);
	done(&r);
	close_both(&x);
}

static void test_size_limit_and_deleted_flag(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	char big[3000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	put(x.s[0], "INBOX", "big@x", big, 0);
	put(x.s[0], "INBOX", "small@x", "small", 0);
	put(x.s[0], "INBOX", "trash@x", "deleted", MS_FLAG_DELETED);
	/* exactly the limit: copied (mailsync skips what is larger) */
	char edge[1000];
	int fixed = snprintf(NULL, 0, "Message-ID: <edge@x>\r\nSubject: test\r\n\r\n\r\n");
	memset(edge, 'e', (size_t)(1000 - fixed));
	edge[1000 - fixed] = '\0';
	put(x.s[0], "INBOX", "edge@x", edge, 0);
	ms_engine_opts o = { .size_limit = 1000 };
	result r = run_opts(b, &x, &o);
	assert_int_equal(r.rc, 1);       /* something left undone */
	assert_int_equal(r.r.copied[1], 2);
	assert_int_equal(find(x.s[1], "INBOX", "edge@x").count, 1);
	assert_int_equal(r.r.skipped, 2);
	done(&r);
	assert_int_equal(find(x.s[1], "INBOX", "big@x").count, 0);
	/* -cd copies the \Deleted one; without the limit the big one goes too */
	o = (ms_engine_opts){ .copy_deleted = true };
	r = run_opts(b, &x, &o);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[1], 2);
	done(&r);
	close_both(&x);
}

static void test_quarantine_and_undo(void **state)
{
	backend *b = *state;
	sides x = open_both(b);
	synced_three(b, &x);
	expunge(x.s[1], "INBOX", "m2@x");
	expunge(x.s[1], "INBOX", "m3@x");
	ms_engine_opts o = { .quarantine = b->quarantine, .run_id = "run1" };
	result r = run_opts(b, &x, &o);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.deleted[0], 2);
	done(&r);
	assert_int_equal(find(x.s[0], "INBOX", "m2@x").count, 0);
	/* as if m3's expunge had failed after its quarantine copy: undo must not double it */
	put(x.s[0], "INBOX", "m3@x", "three", 0);
	size_t restored, failed;
	ms_err e = { 0 };
	if (ms_engine_undo(x.s, b->quarantine, "run1", &restored, &failed, &e) < 0)
		fail_msg("undo: %s", e.msg);
	assert_int_equal(restored, 1);
	assert_int_equal(failed, 0);
	assert_int_equal(find(x.s[0], "INBOX", "m2@x").count, 1);
	assert_int_equal(find(x.s[0], "INBOX", "m3@x").count, 1);
	/* a second undo restores nothing twice */
	assert_int_equal(ms_engine_undo(x.s, b->quarantine, "run1", &restored, &failed, &e), -1);
	/* the restored messages are new to the channel: copied to B again */
	r = run(b, &x);
	assert_int_equal(r.r.copied[1], 2);
	done(&r);
	close_both(&x);
}


/* ---- in-memory sides: keywords, line ends, failure scopes --------------------- */

static char mem_state[64];

static int mem_setup(void **state)
{
	(void)state;
	snprintf(mem_state, sizeof mem_state, "/tmp/test_channel_mem.%ld", (long)getpid());
	unlink(mem_state);
	return 0;
}

static int mem_teardown(void **state)
{
	(void)state;
	unlink(mem_state);
	return 0;
}

static result mem_run(mem_side *a, mem_side *b, const ms_engine_opts *o)
{
	ms_side *s[2] = { &a->base, &b->base };
	ms_state *st = NULL;
	ms_err e = { 0 };
	if (ms_state_load(mem_state, "mem", &st, &e) < 0)
		fail_msg("state: %s", e.msg);
	ms_box_pairing *pairs;
	size_t np;
	if (ms_pair_by_name(s, &pairs, &np, &e) < 0)
		fail_msg("pairing: %s", e.msg);
	ms_engine_opts none = { 0 };
	result r = { 0 };
	r.rc = ms_engine_run(s, pairs, np, st, o ? o : &none, &r.r, &e);
	if (r.rc < 0)
		fail_msg("engine: %s", e.msg);
	ms_box_pairing_free(pairs, np);
	ms_state_free(st);
	return r;
}

static mem_msg *mem_get(mem_side *s, const char *box, const char *needle)
{
	mem_box *b = mem_find(s, box);
	for (size_t i = 0; b && i < b->n; i++)
		if (strstr(b->v[i].data, needle))
			return &b->v[i];
	return NULL;
}

static void test_mem_keywords(void **state)
{
	mem_side *a = mem_new("A", false), *b = mem_new("B", false);
	const char m[] = "Message-ID: <k@x>\nSubject: k\n\nbody\n";
	mem_add(mem_find(a, "INBOX"), m, strlen(m), MS_FLAG_SEEN, "$Label1 work", 1700000000);
	result r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 0);
	done(&r);
	mem_msg *x = mem_get(b, "INBOX", "<k@x>");
	assert_non_null(x);
	assert_string_equal(x->keywords, "$Label1 work");
	assert_int_equal(x->date, 1700000000);
	/* A adds "todo", B removes "work": both propagate */
	mem_msg *y = mem_get(a, "INBOX", "<k@x>");
	free(y->keywords);
	y->keywords = strdup("$Label1 work todo");
	free(x->keywords);
	x->keywords = strdup("$Label1");
	r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.flagged[0], 1);
	assert_int_equal(r.r.flagged[1], 1);
	done(&r);
	assert_string_equal(mem_get(a, "INBOX", "<k@x>")->keywords, "$Label1 todo");
	assert_string_equal(mem_get(b, "INBOX", "<k@x>")->keywords, "$Label1 todo");
	r = mem_run(a, b, NULL);
	assert_int_equal(r.r.flagged[0] + r.r.flagged[1], 0);
	done(&r);
	mem_close(&a->base);
	mem_close(&b->base);
}

/* Copies keep the order in which the messages arrived on their side. */
static void test_mem_copy_order(void **state)
{
	mem_side *a = mem_new("A", false), *b = mem_new("B", false);
	char m[64];
	for (int i = 0; i < 40; i++) {
		snprintf(m, sizeof m, "Message-ID: <o%d@x>\n\n%d\n", i, i);
		mem_add(mem_find(a, "INBOX"), m, strlen(m), 0, NULL, 0);
	}
	result r = mem_run(a, b, NULL);
	assert_int_equal(r.r.copied[1], 40);
	done(&r);
	mem_box *ib = mem_find(b, "INBOX");
	for (int i = 0; i < 40; i++) {
		snprintf(m, sizeof m, "<o%d@x>", i);
		assert_non_null(strstr(ib->v[i].data, m));
	}
	mem_close(&a->base);
	mem_close(&b->base);
}

static void test_mem_line_ends(void **state)
{
	/* B keeps CRLF: the copy gets CRLF, keeps its identity, and the
	   message without Message-ID is paired again on every run although
	   neither side has keys or stable UIDs */
	mem_side *a = mem_new("A", false), *b = mem_new("B", true);
	const char m[] = "Subject: no id\n\nline one\nline two\n";
	mem_add(mem_find(a, "INBOX"), m, strlen(m), 0, NULL, 0);
	result r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[1], 1);
	done(&r);
	mem_msg *x = mem_get(b, "INBOX", "no id");
	assert_string_equal(x->data, "Subject: no id\r\n\r\nline one\r\nline two\r\n");
	/* and back: a CRLF message from B reaches A with LF */
	const char c[] = "Message-ID: <c@x>\r\n\r\nbody\r\n";
	mem_add(mem_find(b, "INBOX"), c, strlen(c), 0, NULL, 0);
	r = mem_run(a, b, NULL);
	assert_int_equal(r.r.copied[0], 1);
	assert_int_equal(r.r.copied[1], 0);
	done(&r);
	assert_string_equal(mem_get(a, "INBOX", "<c@x>")->data, "Message-ID: <c@x>\n\nbody\n");
	r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[0] + r.r.copied[1] + r.r.deleted[0] + r.r.deleted[1], 0);
	done(&r);
	mem_close(&a->base);
	mem_close(&b->base);
}

static void test_mem_failure_scopes(void **state)
{
	mem_side *a = mem_new("A", false), *b = mem_new("B", false);
	const char ok[] = "Message-ID: <ok@x>\n\nfine\n", bad[] = "Message-ID: <bad@x>\n\nFAILME\n",
	           other[] = "Message-ID: <o@x>\n\nother box\n", broken[] = "Message-ID: <br@x>\n\nbroken\n";
	mem_add(mem_find(a, "INBOX"), ok, strlen(ok), 0, NULL, 0);
	mem_add(mem_find(a, "INBOX"), bad, strlen(bad), 0, NULL, 0);
	mem_create_box(&a->base, "Other", NULL);
	mem_add(mem_find(a, "Other"), other, strlen(other), 0, NULL, 0);
	mem_create_box(&a->base, "Broken", NULL);
	mem_add(mem_find(a, "Broken"), broken, strlen(broken), 0, NULL, 0);
	/* MSG_BAD: that message only; BOX_BAD: that pair only */
	b->refuse_append = "FAILME";
	a->broken_box = "Broken";
	result r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.r.copied[1], 2);      /* ok and o */
	assert_int_equal(r.r.failed_pairs, 1);
	assert_int_equal(r.r.skipped, 1);
	bool named = false;
	for (size_t i = 0; i < r.r.pairs.n; i++)
		named |= r.r.pairs.v[i].error && strstr(r.r.pairs.v[i].error, "Broken");
	assert_true(named);
	done(&r);
	assert_null(mem_get(b, "INBOX", "FAILME"));
	/* the refused message was not recorded: the next run copies it */
	b->refuse_append = NULL;
	a->broken_box = NULL;
	r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[1], 2);      /* bad and br */
	done(&r);
	/* SIDE_BAD: the run stops, says which side, and nothing is lost */
	const char late[] = "Message-ID: <late@x>\n\nlate\n";
	mem_add(mem_find(a, "INBOX"), late, strlen(late), 0, NULL, 0);
	b->lose_side_on_append = true;
	r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(r.r.side_error[1]);
	assert_non_null(strstr(r.r.side_error[1], "connection lost"));
	done(&r);
	b->lose_side_on_append = false;
	r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[1], 1);
	assert_int_equal(r.r.deleted[0] + r.r.deleted[1], 0);
	done(&r);
	mem_close(&a->base);
	mem_close(&b->base);
}

/* A side with stable UIDs keeps its plan only if its box did not change
 * between the plan and the execution; here a message arrives in between
 * (the second open of INBOX) and is synchronized in the same run. */
static void test_mem_change_between_plan_and_execute(void **state)
{
	mem_side *a = mem_new("A", false), *b = mem_new("B", false);
	a->base.caps |= MS_CAP_UID_STABLE;
	b->base.caps |= MS_CAP_UID_STABLE;
	const char m1[] = "Message-ID: <p1@x>\n\none\n";
	mem_add(mem_find(a, "INBOX"), m1, strlen(m1), 0, NULL, 0);
	a->deliver = "Message-ID: <p2@x>\n\ntwo\n";
	a->deliver_at = 2;
	result r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.r.copied[1], 2);
	done(&r);
	assert_non_null(mem_get(b, "INBOX", "<p2@x>"));
	/* unchanged: the plan stands (no second listing needed), nothing to do */
	r = mem_run(a, b, NULL);
	assert_int_equal(r.r.copied[0] + r.r.copied[1], 0);
	done(&r);
	mem_close(&a->base);
	mem_close(&b->base);
}

/* Names in the brake's report are escaped: a box name with a newline
 * cannot split a line of it. */
static void test_mem_brake_names_escaped(void **state)
{
	mem_side *a = mem_new("A", false), *b = mem_new("B", false);
	mem_create_box(&a->base, "Evil\nBox", NULL);
	const char m[] = "Message-ID: <e@x>\n\nevil\n";
	mem_add(mem_find(a, "Evil\nBox"), m, strlen(m), 0, NULL, 0);
	result r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 0);
	done(&r);
	/* the box vanishes from B (it is B's last box) */
	mem_box *gone = &b->boxes[b->nboxes - 1];
	assert_string_equal(gone->name, "Evil\nBox");
	for (size_t k = 0; k < gone->n; k++) {
		free(gone->v[k].data);
		free(gone->v[k].keywords);
	}
	free(gone->v);
	free(gone->name);
	b->nboxes--;
	r = mem_run(a, b, NULL);
	assert_int_equal(r.rc, 1);
	assert_true(r.r.braked);
	assert_non_null(strstr(r.r.brake.v[0], "Evil\\x0aBox"));
	assert_null(strchr(r.r.brake.v[0], '\n'));
	done(&r);
	mem_close(&a->base);
	mem_close(&b->base);
}

static void test_mem_md5_mode(void **state)
{
	/* -t md5: headers decide; two drafts with the same headers are one
	   identity (a duplicate, reported, never deleted) */
	mem_side *a = mem_new("A", false), *b = mem_new("B", false);
	const char d1[] = "From: a@x\nSubject: draft\n\none\n", d2[] = "From: a@x\nSubject: draft\n\ntwo\n";
	mem_add(mem_find(a, "INBOX"), d1, strlen(d1), 0, NULL, 0);
	mem_add(mem_find(a, "INBOX"), d2, strlen(d2), 0, NULL, 0);
	ms_engine_opts o = { .ident = MS_IDENT_MD5 };
	result r = mem_run(a, b, &o);
	assert_int_equal(r.r.copied[1], 1);
	assert_int_equal(r.r.duplicates[0], 1);
	done(&r);
	assert_int_equal(mem_find(a, "INBOX")->n, 2);
	char *st = slurp(mem_state);
	assert_non_null(strstr(st, "md5:"));
	free(st);
	mem_close(&a->base);
	mem_close(&b->base);
}

/* ---- main --------------------------------------------------------------------- */

#define T(f, b) cmocka_unit_test_prestate_setup_teardown(f, store_setup, store_teardown, &(b))
#define ALL_TESTS(b)                                                                                          \
	{                                                                                                     \
		T(test_new_on_each_side, b), T(test_deleted_each_side_and_both, b), T(test_flags, b),         \
		T(test_no_message_id_and_duplicates, b), T(test_no_delete_then_normal, b),                    \
		T(test_dry_run_changes_nothing, b), T(test_brake_emptied_side, b),                            \
		T(test_brake_half_deleted, b), T(test_brake_boundaries, b), T(test_brake_vanished_box, b),                                 \
		T(test_lost_state_repairs_without_copies, b), T(test_corrupt_state_refused, b),               \
		T(test_size_limit_and_deleted_flag, b), T(test_md5_identities, b), T(test_quarantine_and_undo, b),                      \
		T(test_unreadable_message_stops_deletions, b), T(test_seeded_state, b),                                                \
	}

static int run_server_group(backend *b, const char *name, const struct CMUnitTest *tests, size_t n, int *failed)
{
	if (!b->configured) {
		const char *require = getenv("MSTORE_TEST_REQUIRE_SERVERS");
		bool must = require && strcmp(require, "1") == 0;
		fprintf(stderr, "%s: no %s test server; its channel tests do not run\n", must ? "FAIL" : "SKIP", b->label);
		return must ? 1 : 0;
	}
	char url[512];
	ms_err e = { 0 };
	server_url(b, b->dialect == DB_PGSQL ? "postgres" : "mysql", url, sizeof url);
	if (db_open(url, b->password, DB_OPEN_READ_WRITE, &b->admin, &e) < 0) {
		fprintf(stderr, "%s server configured but unusable: %s\n", b->label, e.msg);
		return 1;
	}
	(void)failed;
	int f = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	db_close(b->admin);
	b->admin = NULL;
	return f;
}

int main(void)
{
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	read_env_file();
	configure_server(&pg_backend, "MSTORE_TEST_PG_PORT");
	configure_server(&my_backend, "MSTORE_TEST_MY_PORT");
	const struct CMUnitTest sqlite_tests[] = ALL_TESTS(sqlite_backend);
	const struct CMUnitTest pg_tests[] = ALL_TESTS(pg_backend);
	const struct CMUnitTest my_tests[] = ALL_TESTS(my_backend);
	size_t n = sizeof sqlite_tests / sizeof sqlite_tests[0];
	const struct CMUnitTest mem_tests[] = {
		cmocka_unit_test_setup_teardown(test_mem_keywords, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_mem_line_ends, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_mem_copy_order, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_mem_failure_scopes, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_mem_md5_mode, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_mem_brake_names_escaped, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_mem_change_between_plan_and_execute, mem_setup, mem_teardown),
	};
	int failed = cmocka_run_group_tests_name("channel memory", mem_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("channel sqlite", sqlite_tests, NULL, NULL);
	failed += run_server_group(&pg_backend, "channel pgsql", pg_tests, n, &failed);
	failed += run_server_group(&my_backend, "channel mysql", my_tests, n, &failed);
	return failed == 0 ? 0 : 1;
}
