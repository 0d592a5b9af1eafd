/* test_diff.c - channel/diff.c over two in-memory sides (mem_side.h):
 * equal stores, each kind of difference on each side, duplicates,
 * messages without a Message-ID paired by digest across line ends, a
 * folder on one side only, a box that cannot be opened, messages that
 * cannot be fetched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "channel/diff.h"

#include "mem_side.h"

static mem_side *A, *B;

static int setup(void **state)
{
	A = mem_new("A", false);
	B = mem_new("B", true);
	return 0;
}

static int teardown(void **state)
{
	mem_close(&A->base);
	mem_close(&B->base);
	return 0;
}

static void put(mem_side *s, const char *box, const char *msg, unsigned flags, const char *kw)
{
	mem_create_box(&s->base, box, NULL);
	mem_add(mem_find(s, box), msg, strlen(msg), flags, kw, 1700000000);
}

static ms_diff_report run(bool content, const char *box)
{
	ms_side *sides[2] = { &A->base, &B->base };
	ms_box_pairing pg = { { box, box } };
	ms_diff_opts o = { .content = content };
	ms_diff_report r;
	ms_err e = { 0 };
	assert_int_equal(ms_diff_run(sides, &pg, NULL, 1, &o, &r, &e), 0);
	assert_int_equal(r.boxes.n, 1);
	return r;
}

/* The only difference of the box, of kind k. */
static const ms_diff_item *only(const ms_diff_report *r, ms_diff_kind k)
{
	const ms_diff_box *b = &r->boxes.v[0];
	assert_int_equal(b->items.n, 1);
	assert_int_equal(b->items.v[0].kind, k);
	return &b->items.v[0];
}

#define M1 "From: a@x\nMessage-ID: <m1@x>\nSubject: one\n\nbody one\n"
#define M2 "From: a@x\nMessage-ID: <m2@x>\nSubject: two\n\nbody two\n"
#define NOID "From: a@x\nSubject: no id\n\nno id body\n"
#define NOID_CRLF "From: a@x\r\nSubject: no id\r\n\r\nno id body\r\n"

static void test_equal(void **state)
{
	put(A, "INBOX", M1, MS_FLAG_SEEN, "work");
	put(A, "INBOX", NOID, 0, NULL);
	put(B, "INBOX", NOID_CRLF, 0, NULL);   /* the same message on a CRLF side */
	put(B, "INBOX", M1, MS_FLAG_SEEN, "work");
	ms_diff_report r = run(true, "INBOX");
	assert_int_equal(r.differences, 0);
	assert_int_equal(r.failed, 0);
	assert_int_equal(r.boxes.v[0].same, 2);
	assert_int_equal(r.boxes.v[0].count[0], 2);
	assert_int_equal(r.boxes.v[0].count[1], 2);
	ms_diff_report_free(&r);
}

static void test_missing_each_side(void **state)
{
	put(A, "INBOX", M1, 0, NULL);
	put(B, "INBOX", M2, 0, NULL);
	ms_diff_report r = run(true, "INBOX");
	const ms_diff_box *b = &r.boxes.v[0];
	assert_int_equal(b->items.n, 2);
	/* by identity: <m1@x> is A's only, <m2@x> B's only */
	assert_int_equal(b->items.v[0].kind, MS_DIFF_MISSING);
	assert_string_equal(b->items.v[0].ident, "<m1@x>");
	assert_int_equal(b->items.v[0].side, 1);
	assert_int_equal(b->items.v[0].uid[0], 1);
	assert_int_equal(b->items.v[1].kind, MS_DIFF_MISSING);
	assert_string_equal(b->items.v[1].ident, "<m2@x>");
	assert_int_equal(b->items.v[1].side, 0);
	assert_int_equal(b->n[MS_DIFF_MISSING][0], 1);
	assert_int_equal(b->n[MS_DIFF_MISSING][1], 1);
	assert_int_equal(b->same, 0);
	ms_diff_report_free(&r);
}

static void test_missing_without_msgid(void **state)
{
	put(A, "INBOX", NOID, 0, NULL);
	ms_diff_report r = run(false, "INBOX");   /* a digest is fetched even without content */
	const ms_diff_item *it = only(&r, MS_DIFF_MISSING);
	assert_int_equal(it->side, 1);
	assert_true(ms_ident_is_digest(it->ident));
	ms_diff_report_free(&r);
}

static void test_flags(void **state)
{
	put(A, "INBOX", M1, MS_FLAG_SEEN | MS_FLAG_FLAGGED, NULL);
	put(B, "INBOX", M1, MS_FLAG_SEEN, NULL);
	ms_diff_report r = run(true, "INBOX");
	const ms_diff_item *it = only(&r, MS_DIFF_FLAGS);
	assert_int_equal(it->flags[0], MS_FLAG_SEEN | MS_FLAG_FLAGGED);
	assert_int_equal(it->flags[1], MS_FLAG_SEEN);
	assert_int_equal(r.boxes.v[0].n[MS_DIFF_FLAGS][0], 1);
	ms_diff_report_free(&r);
}

static void test_keywords(void **state)
{
	put(A, "INBOX", M1, 0, "b a");
	put(B, "INBOX", M1, 0, "a b");          /* the same set */
	put(A, "INBOX", M2, 0, "a");
	put(B, "INBOX", M2, 0, NULL);
	ms_diff_report r = run(true, "INBOX");
	const ms_diff_item *it = only(&r, MS_DIFF_FLAGS);
	assert_string_equal(it->ident, "<m2@x>");
	assert_string_equal(it->keywords[0], "a");
	assert_null(it->keywords[1]);
	assert_int_equal(r.boxes.v[0].same, 1);
	ms_diff_report_free(&r);
}

static void test_flags_ignored_without_caps(void **state)
{
	B->base.caps &= ~(unsigned)(MS_CAP_FLAGS | MS_CAP_KEYWORDS);
	put(A, "INBOX", M1, MS_FLAG_SEEN, "a");
	put(B, "INBOX", M1, 0, NULL);
	ms_diff_report r = run(true, "INBOX");
	assert_int_equal(r.differences, 0);
	ms_diff_report_free(&r);
}

static void test_content(void **state)
{
	put(A, "INBOX", M1, 0, NULL);
	put(B, "INBOX", "From: a@x\nMessage-ID: <m1@x>\nSubject: one\n\nbody changed\n", 0, NULL);
	ms_diff_report r = run(true, "INBOX");
	const ms_diff_item *it = only(&r, MS_DIFF_CONTENT);
	assert_string_equal(it->ident, "<m1@x>");
	assert_int_equal(it->uid[0], 1);
	assert_int_equal(it->uid[1], 1);
	ms_diff_report_free(&r);
	r = run(false, "INBOX");                 /* --quick: not looked at */
	assert_int_equal(r.differences, 0);
	assert_int_equal(r.boxes.v[0].same, 1);
	ms_diff_report_free(&r);
}

static void test_duplicates(void **state)
{
	put(A, "INBOX", M1, 0, NULL);
	put(B, "INBOX", M1, 0, NULL);
	put(B, "INBOX", M1, 0, NULL);
	put(B, "INBOX", M1, 0, NULL);
	put(A, "INBOX", NOID, 0, NULL);
	put(A, "INBOX", NOID, 0, NULL);
	put(B, "INBOX", NOID, 0, NULL);
	ms_diff_report r = run(true, "INBOX");
	const ms_diff_box *b = &r.boxes.v[0];
	assert_int_equal(b->items.n, 2);
	assert_int_equal(b->n[MS_DIFF_DUPLICATE][0], 1);
	assert_int_equal(b->n[MS_DIFF_DUPLICATE][1], 1);
	for (size_t i = 0; i < b->items.n; i++) {
		const ms_diff_item *it = &b->items.v[i];
		assert_int_equal(it->kind, MS_DIFF_DUPLICATE);
		if (it->side == 1) {
			assert_string_equal(it->ident, "<m1@x>");
			assert_int_equal(it->copies, 3);
			assert_int_equal(it->uid[1], 1);  /* the first copy */
		} else {
			assert_true(ms_ident_is_digest(it->ident));
			assert_int_equal(it->copies, 2);
		}
	}
	assert_int_equal(b->same, 2);          /* the first copies are equal */
	ms_diff_report_free(&r);
}

static void test_box_missing(void **state)
{
	put(A, "Sub/Box", M1, 0, NULL);
	put(A, "Sub/Box", M2, 0, NULL);
	ms_diff_report r = run(true, "Sub/Box");
	const ms_diff_box *b = &r.boxes.v[0];
	assert_false(b->present[1]);
	assert_true(b->present[0]);
	assert_int_equal(b->items.n, 3);
	assert_int_equal(b->items.v[0].kind, MS_DIFF_BOX_MISSING);
	assert_int_equal(b->items.v[0].side, 1);
	assert_int_equal(b->n[MS_DIFF_MISSING][1], 2);
	assert_null(b->error);
	ms_diff_report_free(&r);
}

static void test_broken_box(void **state)
{
	put(A, "INBOX", M1, 0, NULL);
	put(B, "INBOX", M1, 0, NULL);
	B->broken_box = "INBOX";
	ms_diff_report r = run(true, "INBOX");
	assert_int_equal(r.failed, 1);
	assert_non_null(strstr(r.boxes.v[0].error, "broken"));
	ms_diff_report_free(&r);
}

static void test_present_from_caller(void **state)
{
	put(A, "INBOX", M1, 0, NULL);
	put(B, "INBOX", M1, 0, NULL);
	ms_side *sides[2] = { &A->base, &B->base };
	ms_box_pairing pg = { { "INBOX", "INBOX" } };
	const bool present[1][2] = { { true, false } };   /* B's INBOX left out by its pattern */
	ms_diff_opts o = { .content = true };
	ms_diff_report r;
	ms_err e = { 0 };
	assert_int_equal(ms_diff_run(sides, &pg, present, 1, &o, &r, &e), 0);
	assert_int_equal(r.boxes.v[0].items.n, 2);
	assert_int_equal(r.boxes.v[0].items.v[0].kind, MS_DIFF_BOX_MISSING);
	assert_int_equal(r.boxes.v[0].items.v[1].kind, MS_DIFF_MISSING);
	assert_int_equal(r.boxes.v[0].count[1], 0);
	ms_diff_report_free(&r);
}

static void test_unreadable(void **state)
{
	put(A, "INBOX", NOID, 0, NULL);
	put(A, "INBOX", M1, 0, NULL);
	put(B, "INBOX", M1, 0, NULL);
	A->refuse_fetch = "Subject: ";         /* every message of A */
	ms_diff_report r = run(true, "INBOX");
	const ms_diff_box *b = &r.boxes.v[0];
	assert_int_equal(b->items.n, 2);
	assert_int_equal(b->n[MS_DIFF_UNREADABLE][0], 2);
	assert_int_equal(b->n[MS_DIFF_MISSING][1], 0);   /* <m1@x> is known by its Message-ID */
	assert_int_equal(b->n[MS_DIFF_MISSING][0], 0);
	for (size_t i = 0; i < b->items.n; i++) {
		assert_int_equal(b->items.v[i].kind, MS_DIFF_UNREADABLE);
		assert_non_null(strstr(b->items.v[i].why, "refused"));
	}
	assert_int_equal(b->same, 1);                    /* flags agree; no content to compare */
	ms_diff_report_free(&r);
}

static void test_list_box(void **state)
{
	put(A, "INBOX", M1, MS_FLAG_SEEN, NULL);
	put(A, "INBOX", NOID, 0, NULL);
	ms_idmsg_vec v = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_diff_list_box(&A->base, "INBOX", MS_IDENT_MSGID, false, true, &v, &e), MS_DRV_OK);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.v[0].ident, "<m1@x>");
	assert_null(v.v[0].digest);
	assert_true(ms_ident_is_digest(v.v[1].ident));
	ms_idmsg_vec_free(&v);
	assert_int_equal(ms_diff_list_box(&A->base, "Nope", MS_IDENT_MSGID, false, true, &v, &e), MS_DRV_BOX_BAD);
	ms_idmsg_vec_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_equal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_each_side, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_without_msgid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keywords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_ignored_without_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_box_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_box, setup, teardown),
		cmocka_unit_test_setup_teardown(test_present_from_caller, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_box, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
