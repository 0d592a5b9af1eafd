/* driver_conformance.c - the tests every side driver must pass (see
 * driver_conformance.h).  Each test opens the fixture's fresh side,
 * works through driver.h only and checks what the contract promises. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver_conformance.h"

/* ---- what a test holds open (closed by the teardown if an assertion fails) ---- */

typedef struct suite {
	const conformance_fixture *f;
	ms_side *sides[4];
	ms_box *boxes[8];
} suite;

static suite cur;

/* The messages as the engine would hand them to this side: lines end in
 * CRLF where the side keeps CRLF, in LF elsewhere. */
typedef struct text {
	char *v[8];
	size_t len[8];
	size_t n;
} text;

static text texts;

static void texts_free(void)
{
	for (size_t i = 0; i < texts.n; i++)
		free(texts.v[i]);
	memset(&texts, 0, sizeof texts);
}

static int suite_setup(void **state)
{
	const conformance_fixture *f = *state;
	memset(&cur, 0, sizeof cur);
	texts_free(); /* a test that failed half-way left its texts */
	cur.f = f;
	return f->setup(f->ctx);
}

static int suite_teardown(void **state)
{
	const conformance_fixture *f = *state;
	for (size_t i = 0; i < 8; i++)
		if (cur.boxes[i])
			cur.boxes[i]->side->drv->close_box(cur.boxes[i]);
	for (size_t i = 0; i < 4; i++)
		if (cur.sides[i])
			cur.sides[i]->drv->close(cur.sides[i]);
	memset(&cur, 0, sizeof cur);
	texts_free();
	return f->teardown(f->ctx);
}

#define DRV_OK(call)                                                                        \
	do {                                                                                \
		ms_err drv_e_ = { 0 };                                                      \
		ms_err *e_ = &drv_e_;                                                       \
		ms_drv_result r_ = (call);                                                  \
		if (r_ != MS_DRV_OK)                                                        \
			fail_msg("%s: %s returned %d: %s", cur.f->label, #call, (int)r_, drv_e_.msg); \
		(void)e_;                                                                   \
	} while (0)

static ms_side *open_side(bool read_only)
{
	ms_side *s = NULL;
	DRV_OK(cur.f->open(cur.f->ctx, read_only, &s, e_));
	assert_non_null(s);
	for (size_t i = 0; i < 4; i++)
		if (!cur.sides[i]) {
			cur.sides[i] = s;
			return s;
		}
	fail_msg("more than 4 sides open in one test");
	return NULL;
}

static void close_side(ms_side *s)
{
	for (size_t i = 0; i < 4; i++)
		if (cur.sides[i] == s)
			cur.sides[i] = NULL;
	s->drv->close(s);
}

static ms_box *open_box(ms_side *s, const char *name)
{
	ms_box *b = NULL;
	DRV_OK(s->drv->open_box(s, name, &b, e_));
	assert_non_null(b);
	assert_ptr_equal(b->side, s);
	for (size_t i = 0; i < 8; i++)
		if (!cur.boxes[i]) {
			cur.boxes[i] = b;
			return b;
		}
	fail_msg("more than 8 boxes open in one test");
	return NULL;
}

static void close_box(ms_box *b)
{
	for (size_t i = 0; i < 8; i++)
		if (cur.boxes[i] == b)
			cur.boxes[i] = NULL;
	b->side->drv->close_box(b);
}

static bool has_cap(const ms_side *s, unsigned cap)
{
	return (s->caps & cap) != 0;
}

/* ---- callbacks: one slot per item --------------------------------------------- */

#define SLOTS 16

typedef struct results {
	int calls;
	int seen[SLOTS];
	ms_drv_result r[SLOTS];
	uint32_t uid[SLOTS];
	char why[SLOTS][512];
	char key[SLOTS][300];      /* append's key, "" when none */
	char *data[SLOTS];
	size_t len[SLOTS];
} results;

static void results_free(results *x)
{
	for (size_t i = 0; i < SLOTS; i++)
		free(x->data[i]);
}

static void item_cb(void *ctx, size_t i, ms_drv_result r, uint32_t uid, const char *key, const ms_err *why)
{
	results *x = ctx;
	assert_true(i < SLOTS);
	x->calls++;
	x->seen[i]++;
	x->r[i] = r;
	x->uid[i] = uid;
	assert_true(!key || r == MS_DRV_OK);
	snprintf(x->key[i], sizeof x->key[i], "%s", key ? key : "");
	snprintf(x->why[i], sizeof x->why[i], "%s", why ? why->msg : "");
	/* MS_DRV_OK without a reason, anything else with a whole sentence */
	assert_true((r == MS_DRV_OK) == (why == NULL));
	assert_true(r == MS_DRV_OK || r == MS_DRV_MSG_BAD);
	if (why)
		assert_true(strlen(why->msg) > 10);
}

static void fetch_cb(void *ctx, size_t i, ms_drv_result r, const char *data, size_t len, const ms_err *why)
{
	results *x = ctx;
	item_cb(ctx, i, r, 0, NULL, why);
	if (r != MS_DRV_OK) {
		assert_null(data);
		assert_int_equal(len, 0);
		return;
	}
	free(x->data[i]);
	x->data[i] = malloc(len ? len : 1);
	assert_non_null(x->data[i]);
	memcpy(x->data[i], data, len);
	x->len[i] = len;
}

/* Every item reported exactly once. */
static void assert_each_once(const results *x, size_t n)
{
	assert_int_equal(x->calls, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(x->seen[i], 1);
}

/* ---- messages -------------------------------------------------------------------- */


static const char *add_text(const ms_side *s, const char *lf)
{
	bool crlf = has_cap(s, MS_CAP_CRLF);
	size_t n = strlen(lf), w = 0;
	char *t = malloc(2 * n + 1);
	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		if (lf[i] == '\n' && crlf)
			t[w++] = '\r';
		t[w++] = lf[i];
	}
	t[w] = '\0';
	assert_true(texts.n < 8);
	texts.v[texts.n] = t;
	texts.len[texts.n++] = w;
	return t;
}

static const char msg1[] = "From: Bob <bob@example.org>\nTo: ann@example.com\nMessage-ID: <one@example.org>\n"
                           "Subject: one\n\nfirst\n";
static const char msg2[] = "From: carol@example.net\nMessage-ID: <two@example.net>\nSubject: two\n\n"
                           "second, a little longer\n";
static const char msg3[] = "From: dave@example.com\nSubject: three has no Message-ID\n\nthird\n";

/* 2021-01-10 09:00:00 UTC (winter), 2022-07-01 18:30:00 UTC (summer), 2023-11-14. */
#define DATE1 ((time_t)1610269200)
#define DATE2 ((time_t)1656700200)
#define DATE3 ((time_t)1700000000)

static const unsigned flags3[3] = { MS_FLAG_SEEN, MS_FLAG_FLAGGED | MS_FLAG_ANSWERED, 0 };
static const time_t dates3[3] = { DATE1, DATE2, DATE3 };
static const char *const ids3[3] = { "one@example.org", "two@example.net", NULL };

/* The keys append_three's append reported ("" for none). */
static char keys3[3][300];

/* The three messages, as appended by append_three: texts.v[0..3). */
static void append_three(ms_box *b, uint32_t uids[3])
{
	texts_free();
	const char *t[3] = { add_text(b->side, msg1), add_text(b->side, msg2), add_text(b->side, msg3) };
	ms_append m[3];
	for (size_t i = 0; i < 3; i++)
		m[i] = (ms_append){ .data = t[i], .len = texts.len[i], .flags = flags3[i], .internal_date = dates3[i] };
	results x = { 0 };
	DRV_OK(b->side->drv->append(b, m, 3, item_cb, &x, e_));
	assert_each_once(&x, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(x.r[i], MS_DRV_OK);
		if (has_cap(b->side, MS_CAP_APPEND_UID)) {
			assert_true(x.uid[i] >= b->status.uidnext);
			assert_true(i == 0 || x.uid[i] > x.uid[i - 1]);
		} else {
			assert_int_equal(x.uid[i], 0);
		}
		if (uids)
			uids[i] = x.uid[i];
		snprintf(keys3[i], sizeof keys3[i], "%s", x.key[i]);
	}
}

/* The keys append reported are those the listing names the messages by
 * (the engine records them, and does not read the messages again to learn
 * them); a side without stable UIDs reports every one. */
static void check_append_keys(const ms_side *s, const ms_msg *v, size_t n)
{
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		if (keys3[i][0]) {
			assert_non_null(v[i].key);
			assert_string_equal(keys3[i], v[i].key);
		} else {
			assert_true(!v[i].key || has_cap(s, MS_CAP_UID_STABLE));
		}
	}
}

static ms_msg *list_all(ms_box *b, unsigned want, size_t *n)
{
	ms_msg *v = NULL;
	const ms_list_req req = { .want = want };
	DRV_OK(b->side->drv->list_msgs(b, &req, &v, n, e_));
	for (size_t i = 1; i < *n; i++)
		assert_true(v[i].uid > v[i - 1].uid);
	return v;
}

/* The listed message with this Message-ID, or NULL. */
static const ms_msg *by_msgid(const ms_msg *v, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].msgid && id && strcmp(v[i].msgid, id) == 0)
			return &v[i];
	return NULL;
}

/* The three messages of append_three as listed, in order. */
static void check_three(const ms_side *s, const ms_msg *v, size_t n)
{
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(v[i].result, MS_DRV_OK);
		assert_true(v[i].uid > 0);
		if (has_cap(s, MS_CAP_FLAGS))
			assert_int_equal(v[i].flags, flags3[i]);
		assert_int_equal(v[i].size, texts.len[i]);
		if (has_cap(s, MS_CAP_INTERNAL_DATE))
			assert_int_equal(v[i].internal_date, dates3[i]);
		if (ids3[i])
			assert_string_equal(v[i].msgid, ids3[i]);
		else
			assert_null(v[i].msgid);
		if (!has_cap(s, MS_CAP_UID_STABLE) && !cur.f->no_keys)
			assert_non_null(v[i].key); /* what the engine keeps instead of the UID */
		if (v[i].key)
			for (size_t j = 0; j < i; j++)
				assert_string_not_equal(v[i].key, v[j].key);
		if (!has_cap(s, MS_CAP_KEYWORDS))
			assert_null(v[i].keywords);
		if (!has_cap(s, MS_CAP_MODSEQ))
			assert_int_equal(v[i].modseq, 0);
	}
}

/* A box for messages: a new one where boxes can be made, else the INBOX. */
static const char *work_box(ms_side *s)
{
	if (!has_cap(s, MS_CAP_CREATE_BOX))
		return "INBOX";
	DRV_OK(s->drv->create_box(s, "Work", e_));
	return "Work";
}

static char *joined(const ms_side *s, const char *a, const char *b)
{
	static char buf[4][256];
	static int k;
	char *out = buf[k++ % 4];
	snprintf(out, 256, "%s%c%s", a, s->delim, b);
	return out;
}

static const ms_box_info *find_box(const ms_box_info *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* ---- tests ---------------------------------------------------------------------- */

static void c_fresh_side(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_err e = { 0 };
	assert_ptr_equal(ms_side_driver_find(s->drv->kind), s->drv);
	assert_non_null(s->name);
	assert_false(s->read_only);
	assert_true(s->delim != '\0');
	ms_box_info *v;
	size_t n;
	DRV_OK(s->drv->list_boxes(s, &v, &n, e_));
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "INBOX");
	assert_int_equal(v[0].attrs & (MS_BOX_NOSELECT | MS_BOX_HAS_CHILDREN), 0);
	ms_box_list_free(v, n);
	ms_box *b = open_box(s, "INBOX");
	assert_string_equal(b->name, "INBOX");
	assert_int_equal(b->status.count, 0);
	assert_true(b->status.uidnext >= 1);
	assert_true(b->status.uidvalidity != 0);
	if (!has_cap(s, MS_CAP_MODSEQ))
		assert_int_equal(b->status.highest_modseq, 0);
	ms_msg *m = list_all(b, MS_WANT_MSGID, &n);
	assert_int_equal(n, 0);
	ms_msg_list_free(m, n);
	close_box(b);
	/* INBOX is INBOX in any case */
	close_box(open_box(s, "inbox"));
	ms_box *none = (ms_box *)1;
	assert_int_equal(s->drv->open_box(s, "Nowhere", &none, &e), MS_DRV_BOX_BAD);
	assert_null(none);
	assert_non_null(strstr(e.msg, "Nowhere"));
}

static void c_create_boxes(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_err e = { 0 };
	if (!has_cap(s, MS_CAP_CREATE_BOX))
		return;
	const char *projects = joined(s, "Work", "Projects"), *later = joined(s, "INBOX", "Later");
	DRV_OK(s->drv->create_box(s, projects, e_));
	DRV_OK(s->drv->create_box(s, projects, e_)); /* exists: fine */
	if (cur.f->inbox_is_leaf) {
		assert_int_equal(s->drv->create_box(s, later, &e), MS_DRV_BOX_BAD);
		assert_non_null(strstr(e.msg, "INBOX"));
		later = NULL;
	} else {
		DRV_OK(s->drv->create_box(s, later, e_));
	}
	DRV_OK(s->drv->create_box(s, "INBOX", e_));
	char bad[64];
	snprintf(bad, sizeof bad, "Work%c%cx", s->delim, s->delim);
	assert_int_equal(s->drv->create_box(s, bad, &e), MS_DRV_BOX_BAD); /* an empty level */
	assert_true(strlen(e.msg) > 10);
	ms_box_info *v;
	size_t n;
	const size_t nboxes = later ? 4 : 3;
	DRV_OK(s->drv->list_boxes(s, &v, &n, e_));
	assert_int_equal(n, nboxes);
	const ms_box_info *inbox = find_box(v, n, "INBOX"), *work = find_box(v, n, "Work");
	const ms_box_info *proj = find_box(v, n, projects);
	assert_true(inbox && work && proj);
	assert_true(work->attrs & MS_BOX_HAS_CHILDREN);
	assert_int_equal(proj->attrs & (MS_BOX_HAS_CHILDREN | MS_BOX_NOSELECT), 0);
	if (later) {
		const ms_box_info *lat = find_box(v, n, later);
		assert_non_null(lat);
		assert_true(inbox->attrs & MS_BOX_HAS_CHILDREN);
		assert_int_equal(lat->attrs & (MS_BOX_HAS_CHILDREN | MS_BOX_NOSELECT), 0);
	}
	ms_box_list_free(v, n);
	ms_box *b = open_box(s, projects);
	assert_string_equal(b->name, projects);
	assert_int_equal(b->status.count, 0);
	close_box(b);
	/* a new session sees them too */
	close_side(s);
	s = open_side(false);
	DRV_OK(s->drv->list_boxes(s, &v, &n, e_));
	assert_int_equal(n, nboxes);
	ms_box_list_free(v, n);
}

static void c_append_list_fetch(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	const char *name = work_box(s);
	ms_box *b = open_box(s, name);
	uint32_t uids[3];
	append_three(b, uids);
	size_t n;
	ms_msg *v = list_all(b, MS_WANT_MSGID, &n);
	check_three(s, v, n);
	check_append_keys(s, v, n);
	if (has_cap(s, MS_CAP_APPEND_UID))
		for (size_t i = 0; i < 3; i++)
			assert_int_equal(v[i].uid, uids[i]);
	/* a batch in any order, each item its exact bytes */
	const uint32_t want[3] = { v[2].uid, v[0].uid, v[1].uid };
	results f = { 0 };
	DRV_OK(s->drv->fetch(b, want, 3, fetch_cb, &f, e_));
	assert_each_once(&f, 3);
	const size_t text_of[3] = { 2, 0, 1 };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(f.r[i], MS_DRV_OK);
		assert_int_equal(f.len[i], texts.len[text_of[i]]);
		assert_memory_equal(f.data[i], texts.v[text_of[i]], f.len[i]);
	}
	results_free(&f);
	close_box(b);

	/* another session: the same messages, keys and, with stable UIDs, UIDs */
	close_side(s);
	s = open_side(false);
	b = open_box(s, name);
	assert_int_equal(b->status.count, 3);
	size_t n2;
	ms_msg *w = list_all(b, MS_WANT_MSGID, &n2);
	check_three(s, w, n2);
	assert_true(b->status.uidnext > w[2].uid);
	for (size_t i = 0; i < 3; i++) {
		if (v[i].key)
			assert_string_equal(w[i].key, v[i].key);
		if (has_cap(s, MS_CAP_UID_STABLE))
			assert_int_equal(w[i].uid, v[i].uid);
	}
	ms_msg_list_free(w, n2);
	ms_msg_list_free(v, n);
	close_box(b);
	texts_free();
}

static void c_list_pages(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_box *b = open_box(s, "INBOX");
	append_three(b, NULL);
	size_t n;
	ms_msg *all = list_all(b, 0, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_null(all[i].msgid); /* not asked for */
	ms_msg *v;
	const ms_list_req page = { .after_uid = all[0].uid, .max = 1 };
	DRV_OK(s->drv->list_msgs(b, &page, &v, &n, e_));
	assert_int_equal(n, 1);
	assert_int_equal(v[0].uid, all[1].uid);
	ms_msg_list_free(v, n);
	const ms_list_req first_two = { .max = 2 };
	DRV_OK(s->drv->list_msgs(b, &first_two, &v, &n, e_));
	assert_int_equal(n, 2);
	assert_int_equal(v[1].uid, all[1].uid);
	ms_msg_list_free(v, n);
	/* paging the way the engine does: the last UID as the next after_uid */
	uint32_t after = 0;
	size_t got = 0;
	for (int pages = 0; pages < 5; pages++) {
		const ms_list_req next = { .after_uid = after, .max = 2 };
		DRV_OK(s->drv->list_msgs(b, &next, &v, &n, e_));
		if (n == 0) {
			ms_msg_list_free(v, n);
			break;
		}
		assert_true(v[0].uid > after);
		after = v[n - 1].uid;
		got += n;
		ms_msg_list_free(v, n);
	}
	assert_int_equal(got, 3);
	const ms_list_req end = { .after_uid = all[2].uid, .max = 10 };
	DRV_OK(s->drv->list_msgs(b, &end, &v, &n, e_));
	assert_int_equal(n, 0);
	ms_msg_list_free(v, n);
	if (!has_cap(s, MS_CAP_MODSEQ)) {
		/* changed_since means nothing without mod-sequences: all are listed */
		const ms_list_req since = { .changed_since = 5 };
		DRV_OK(s->drv->list_msgs(b, &since, &v, &n, e_));
		assert_int_equal(n, 3);
		ms_msg_list_free(v, n);
	}
	ms_msg_list_free(all, 3);
	close_box(b);
	texts_free();
}

static void c_uids_grow(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_box *b = open_box(s, "INBOX");
	uint32_t first[3], second[3];
	append_three(b, first);
	append_three(b, second);
	size_t n;
	ms_msg *v = list_all(b, 0, &n);
	assert_int_equal(n, 6);
	if (has_cap(s, MS_CAP_APPEND_UID)) {
		assert_true(second[0] > first[2]);
		for (size_t i = 0; i < 3; i++)
			assert_int_equal(v[3 + i].uid, second[i]);
	}
	ms_msg_list_free(v, n);
	close_box(b);
	texts_free();
}

static void c_append_flags_and_dates(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_box *b = open_box(s, "INBOX");
	const char *t = add_text(s, msg3);
	const unsigned each[6] = { MS_FLAG_SEEN, MS_FLAG_ANSWERED, MS_FLAG_FLAGGED, MS_FLAG_DELETED, MS_FLAG_DRAFT,
		                   MS_FLAGS_ALL };
	ms_append m[7];
	for (size_t i = 0; i < 6; i++)
		m[i] = (ms_append){ .data = t, .len = texts.len[0], .flags = each[i], .internal_date = DATE2 };
	m[6] = (ms_append){ .data = t, .len = texts.len[0] }; /* no date: now */
	time_t before = time(NULL);
	results x = { 0 };
	DRV_OK(s->drv->append(b, m, 7, item_cb, &x, e_));
	assert_each_once(&x, 7);
	size_t n;
	ms_msg *v = list_all(b, 0, &n);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < 6; i++)
		if (has_cap(s, MS_CAP_FLAGS))
			assert_int_equal(v[i].flags, each[i]);
	if (has_cap(s, MS_CAP_INTERNAL_DATE)) {
		assert_int_equal(v[0].internal_date, DATE2);
		assert_true(v[6].internal_date >= before - 1 && v[6].internal_date <= time(NULL) + 1);
	}
	ms_msg_list_free(v, n);
	close_box(b);
	texts_free();
}

static void c_exact_bytes(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_box *b = open_box(s, "INBOX");
	/* 8-bit bytes, lines an mbox would quote, a long line, no body */
	char long_line[3000];
	memset(long_line, 'x', sizeof long_line - 1);
	long_line[sizeof long_line - 1] = '\0';
	char body[4096];
	snprintf(body, sizeof body, "Message-ID: <bytes@example.org>\nSubject: =?utf-8?q?caf=C3=A9?=\n\n"
	         "From the start of a line\n>From quoted once\n>>From quoted twice\n"
	         "Gr\xc3\xbc\xc3\x9f""e, \xe9t\xe9 en latin-1\n%s\n\n\nthree empty lines above\n", long_line);
	const char *t[2] = { add_text(s, body), add_text(s, "Subject: header only\n\n") };
	const ms_append m[2] = { { .data = t[0], .len = texts.len[0] }, { .data = t[1], .len = texts.len[1] } };
	results x = { 0 };
	DRV_OK(s->drv->append(b, m, 2, item_cb, &x, e_));
	assert_each_once(&x, 2);
	assert_int_equal(x.r[0], MS_DRV_OK);
	assert_int_equal(x.r[1], MS_DRV_OK);
	size_t n;
	ms_msg *v = list_all(b, MS_WANT_MSGID, &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].msgid, "bytes@example.org");
	const uint32_t uids[2] = { v[0].uid, v[1].uid };
	results f = { 0 };
	DRV_OK(s->drv->fetch(b, uids, 2, fetch_cb, &f, e_));
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(f.r[i], MS_DRV_OK);
		assert_int_equal(v[i].size, texts.len[i]);
		assert_int_equal(f.len[i], texts.len[i]);
		assert_memory_equal(f.data[i], texts.v[i], texts.len[i]);
	}
	results_free(&f);
	ms_msg_list_free(v, n);
	close_box(b);
	texts_free();
}

static void c_empty_message_alone(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_box *b = open_box(s, "INBOX");
	const char *t = add_text(s, msg1);
	/* an empty message is refused alone; the others of the batch go in */
	const ms_append m[3] = { { .data = t, .len = texts.len[0] }, { .data = "", .len = 0 },
		                 { .data = t, .len = texts.len[0] } };
	results x = { 0 };
	DRV_OK(s->drv->append(b, m, 3, item_cb, &x, e_));
	assert_each_once(&x, 3);
	assert_int_equal(x.r[0], MS_DRV_OK);
	assert_int_equal(x.r[1], MS_DRV_MSG_BAD);
	assert_int_equal(x.r[2], MS_DRV_OK);
	size_t n;
	ms_msg *v = list_all(b, 0, &n);
	assert_int_equal(n, 2);
	ms_msg_list_free(v, n);
	close_box(b);
	texts_free();
}

static void c_set_flags(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	if (!has_cap(s, MS_CAP_FLAGS))
		return;
	ms_box *b = open_box(s, "INBOX");
	append_three(b, NULL);
	size_t n;
	ms_msg *v = list_all(b, 0, &n);
	const uint32_t missing = v[2].uid + 1000;
	const ms_flag_change ch[] = {
		{ .uid = v[0].uid, .add = MS_FLAG_FLAGGED | MS_FLAG_DELETED },
		{ .uid = v[1].uid, .remove = MS_FLAG_FLAGGED | MS_FLAG_SEEN },
		{ .uid = v[2].uid, .add = MS_FLAG_SEEN | MS_FLAG_DRAFT, .remove = MS_FLAG_DRAFT }, /* add, then remove */
		{ .uid = missing, .add = MS_FLAG_SEEN },
		{ .uid = v[0].uid, .add = MS_FLAG_SEEN }, /* it has it: nothing changes */
	};
	results y = { 0 };
	DRV_OK(s->drv->set_flags(b, ch, 5, item_cb, &y, e_));
	assert_each_once(&y, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(y.r[i], i == 3 ? MS_DRV_MSG_BAD : MS_DRV_OK);
		assert_int_equal(y.uid[i], ch[i].uid);
	}
	const unsigned expect[3] = { MS_FLAG_SEEN | MS_FLAG_FLAGGED | MS_FLAG_DELETED, MS_FLAG_ANSWERED, MS_FLAG_SEEN };
	ms_msg_list_free(v, n);
	v = list_all(b, MS_WANT_MSGID, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(v[i].flags, expect[i]);
	ms_msg_list_free(v, n);
	close_box(b);
	/* kept: another session reads them back (matched by Message-ID and key) */
	close_side(s);
	s = open_side(false);
	b = open_box(s, "INBOX");
	v = list_all(b, MS_WANT_MSGID, &n);
	assert_int_equal(n, 3);
	assert_int_equal(by_msgid(v, n, ids3[0])->flags, expect[0]);
	assert_int_equal(by_msgid(v, n, ids3[1])->flags, expect[1]);
	for (size_t i = 0; i < n; i++)
		if (!v[i].msgid)
			assert_int_equal(v[i].flags, expect[2]);
	ms_msg_list_free(v, n);
	close_box(b);
	texts_free();
}

static void c_expunge(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_box *b = open_box(s, "INBOX");
	append_three(b, NULL);
	size_t n;
	ms_msg *before = list_all(b, 0, &n);
	uint32_t validity = b->status.uidvalidity;
	const uint32_t gone[2] = { before[1].uid, before[2].uid + 1000 };
	results y = { 0 };
	DRV_OK(s->drv->expunge(b, gone, 2, item_cb, &y, e_));
	assert_each_once(&y, 2);
	assert_int_equal(y.r[0], MS_DRV_OK);
	assert_int_equal(y.r[1], MS_DRV_MSG_BAD);
	assert_int_equal(y.uid[0], gone[0]);
	/* gone in this session: not listed, not fetched, not expunged twice */
	size_t k;
	ms_msg *v = list_all(b, 0, &k);
	assert_int_equal(k, 2);
	assert_int_equal(v[0].uid, before[0].uid);
	assert_int_equal(v[1].uid, before[2].uid);
	ms_msg_list_free(v, k);
	results f = { 0 }, z = { 0 };
	DRV_OK(s->drv->fetch(b, gone, 1, fetch_cb, &f, e_));
	assert_int_equal(f.r[0], MS_DRV_MSG_BAD);
	DRV_OK(s->drv->expunge(b, gone, 1, item_cb, &z, e_));
	assert_int_equal(z.r[0], MS_DRV_MSG_BAD);
	close_box(b);
	/* and in the next */
	close_side(s);
	s = open_side(false);
	b = open_box(s, "INBOX");
	assert_int_equal(b->status.count, 2);
	v = list_all(b, MS_WANT_MSGID, &k);
	assert_int_equal(k, 2);
	assert_string_equal(v[0].msgid, ids3[0]);
	assert_null(v[1].msgid);
	if (has_cap(s, MS_CAP_UID_STABLE)) {
		assert_int_equal(b->status.uidvalidity, validity);
		assert_int_equal(v[0].uid, before[0].uid);
		assert_int_equal(v[1].uid, before[2].uid);
		assert_true(b->status.uidnext > before[2].uid);
	}
	if (before[0].key) {
		assert_string_equal(v[0].key, before[0].key);
		assert_string_equal(v[1].key, before[2].key);
	}
	ms_msg_list_free(v, k);
	ms_msg_list_free(before, n);
	close_box(b);
	texts_free();
}

static void c_delete_box(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_err e = { 0 };
	if (!has_cap(s, MS_CAP_DELETE_BOX) || !has_cap(s, MS_CAP_CREATE_BOX))
		return;
	const char *old_empty = joined(s, "Old", "Empty");
	DRV_OK(s->drv->create_box(s, old_empty, e_));
	DRV_OK(s->drv->create_box(s, "Full", e_));
	ms_box *b = open_box(s, "Full");
	append_three(b, NULL);
	close_box(b);
	assert_int_equal(s->drv->delete_box(s, "Full", &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "Full"));
	assert_int_equal(s->drv->delete_box(s, "Old", &e), MS_DRV_BOX_BAD); /* has a child */
	assert_int_equal(s->drv->delete_box(s, "INBOX", &e), MS_DRV_BOX_BAD);
	assert_int_equal(s->drv->delete_box(s, "inbox", &e), MS_DRV_BOX_BAD);
	assert_int_equal(s->drv->delete_box(s, "Nowhere", &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "Nowhere"));
	DRV_OK(s->drv->delete_box(s, old_empty, e_));
	DRV_OK(s->drv->delete_box(s, "Old", e_));
	ms_box_info *v;
	size_t n;
	DRV_OK(s->drv->list_boxes(s, &v, &n, e_));
	assert_int_equal(n, 2);
	assert_non_null(find_box(v, n, "INBOX"));
	assert_non_null(find_box(v, n, "Full"));
	ms_box_list_free(v, n);
	ms_box *gone = (ms_box *)1;
	assert_int_equal(s->drv->open_box(s, "Old", &gone, &e), MS_DRV_BOX_BAD);
	assert_null(gone);
	/* the messages of the box that was refused are all there */
	b = open_box(s, "Full");
	assert_int_equal(b->status.count, 3);
	close_box(b);
	texts_free();
}

static void c_read_only(void **state)
{
	(void)state;
	ms_side *s = open_side(false);
	ms_box *b = open_box(s, "INBOX");
	append_three(b, NULL);
	close_box(b);
	close_side(s);

	s = open_side(true);
	ms_err e = { 0 };
	assert_true(s->read_only);
	ms_box_info *v;
	size_t n;
	DRV_OK(s->drv->list_boxes(s, &v, &n, e_));
	ms_box_list_free(v, n);
	b = open_box(s, "INBOX");
	size_t k;
	ms_msg *m = list_all(b, MS_WANT_MSGID, &k);
	assert_int_equal(k, 3);
	results x = { 0 };
	const ms_append a = { .data = texts.v[0], .len = texts.len[0] };
	assert_int_equal(s->drv->append(b, &a, 1, item_cb, &x, &e), MS_DRV_SIDE_BAD);
	assert_non_null(strstr(e.msg, "read-only"));
	assert_int_equal(s->drv->create_box(s, "New", &e), MS_DRV_SIDE_BAD);
	assert_int_equal(s->drv->delete_box(s, "INBOX", &e), MS_DRV_SIDE_BAD);
	const ms_flag_change ch = { .uid = m[0].uid, .add = MS_FLAG_FLAGGED, .remove = MS_FLAG_SEEN };
	assert_int_equal(s->drv->set_flags(b, &ch, 1, item_cb, &x, &e), MS_DRV_SIDE_BAD);
	assert_int_equal(s->drv->expunge(b, &m[0].uid, 1, item_cb, &x, &e), MS_DRV_SIDE_BAD);
	assert_int_equal(x.calls, 0);
	/* reading still works */
	results f = { 0 };
	DRV_OK(s->drv->fetch(b, &m[1].uid, 1, fetch_cb, &f, e_));
	assert_int_equal(f.r[0], MS_DRV_OK);
	assert_memory_equal(f.data[0], texts.v[1], texts.len[1]);
	results_free(&f);
	ms_msg_list_free(m, k);
	close_box(b);
	close_side(s);

	/* nothing was written */
	s = open_side(false);
	DRV_OK(s->drv->list_boxes(s, &v, &n, e_));
	assert_int_equal(n, 1);
	ms_box_list_free(v, n);
	b = open_box(s, "INBOX");
	m = list_all(b, MS_WANT_MSGID, &k);
	check_three(s, m, k);
	ms_msg_list_free(m, k);
	close_box(b);
	texts_free();
}

static void c_vanished_message(void **state)
{
	(void)state;
	if (!cur.f->vanish)
		skip(); /* the format has no message that can vanish alone (mbox) */
	ms_side *s = open_side(false);
	ms_box *b = open_box(s, "INBOX");
	append_three(b, NULL);
	size_t n;
	ms_msg *v = list_all(b, 0, &n);
	cur.f->vanish(cur.f->ctx, "INBOX", &v[0]);
	/* the batch goes on: the vanished one fails alone, with a reason */
	const uint32_t uids[3] = { v[0].uid, v[1].uid, v[2].uid + 1000 };
	results f = { 0 };
	DRV_OK(s->drv->fetch(b, uids, 3, fetch_cb, &f, e_));
	assert_each_once(&f, 3);
	assert_int_equal(f.r[0], MS_DRV_MSG_BAD);
	assert_int_equal(f.r[1], MS_DRV_OK);
	assert_memory_equal(f.data[1], texts.v[1], texts.len[1]);
	assert_int_equal(f.r[2], MS_DRV_MSG_BAD);
	results_free(&f);
	/* a listing does not offer its bytes: it is left out or marked */
	size_t k;
	ms_msg *w = list_all(b, MS_WANT_MSGID, &k);
	assert_true(k == 2 || k == 3);
	for (size_t i = 0; i < k; i++) {
		if (w[i].uid == v[0].uid)
			assert_int_equal(w[i].result, MS_DRV_MSG_BAD);
		else
			assert_int_equal(w[i].result, MS_DRV_OK);
	}
	assert_string_equal(by_msgid(w, k, ids3[1])->msgid, ids3[1]);
	ms_msg_list_free(w, k);
	ms_msg_list_free(v, n);
	close_box(b);
	texts_free();
}

int driver_conformance_run(const char *group, const conformance_fixture *f)
{
	void *fx = (void *)f;
#define C_TEST(t) cmocka_unit_test_prestate_setup_teardown(t, suite_setup, suite_teardown, fx)
	const struct CMUnitTest tests[] = {
		C_TEST(c_fresh_side),     C_TEST(c_create_boxes),   C_TEST(c_append_list_fetch),
		C_TEST(c_list_pages),     C_TEST(c_uids_grow),      C_TEST(c_append_flags_and_dates),
		C_TEST(c_exact_bytes),    C_TEST(c_empty_message_alone), C_TEST(c_set_flags),
		C_TEST(c_expunge),        C_TEST(c_delete_box),     C_TEST(c_read_only),
		C_TEST(c_vanished_message),
	};
#undef C_TEST
	int failed = _cmocka_run_group_tests(group, tests, sizeof tests / sizeof tests[0], NULL, NULL);
	texts_free();
	return failed;
}
