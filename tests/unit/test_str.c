/* test_str.c - util/str.h: cuts that never split a UTF-8 character. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/str.h"
#include "util/vec.h"

static void test_copy_fits(void **state)
{
	char b[8];
	assert_true(ms_str_copy(b, sizeof b, "abcdefg")); /* 7 + NUL: exactly fits */
	assert_string_equal(b, "abcdefg");
	assert_false(ms_str_copy(b, sizeof b, "abcdefgh"));
	assert_string_equal(b, "abcdefg");
	assert_true(ms_str_copy(b, 1, ""));
	assert_string_equal(b, "");
}

static void test_copy_utf8(void **state)
{
	char b[8];
	/* "aé" is 3 bytes; "aéé" 5; "aééé" 7: in 7 bytes (6 and the NUL) the third é would be split */
	assert_false(ms_str_copy(b, 7, "a\xc3\xa9\xc3\xa9\xc3\xa9"));
	assert_string_equal(b, "a\xc3\xa9\xc3\xa9");
	assert_false(ms_str_copy(b, 5, "a\xc3\xa9\xc3\xa9"));  /* room for 4: "aé" + half */
	assert_string_equal(b, "a\xc3\xa9");
	/* a 4-byte character (U+1F600) cut after 1, 2 and 3 of its bytes */
	const char *s = "xy\xf0\x9f\x98\x80";
	for (size_t len = 4; len <= 6; len++) {
		assert_false(ms_str_copy(b, len, s));
		assert_string_equal(b, "xy");
	}
	assert_true(ms_str_copy(b, 7, s));
	assert_string_equal(b, s);
	/* invalid UTF-8 (lone continuation bytes) is cut where it falls */
	assert_false(ms_str_copy(b, 4, "\x80\x80\x80\x80\x80"));
	assert_int_equal(strlen(b), 3);
}

static void test_printf(void **state)
{
	char b[6];
	assert_true(ms_str_printf(b, sizeof b, "%s-%d", "ab", 12));
	assert_string_equal(b, "ab-12");
	assert_false(ms_str_printf(b, sizeof b, "%s", "abc\xc3\xa9\xc3\xa9"));
	assert_string_equal(b, "abc\xc3\xa9");
	assert_false(ms_str_printf(b, 5, "%s", "abc\xc3\xa9"));
	assert_string_equal(b, "abc");
}

static void test_strlist(void **state)
{
	ms_strlist l = { 0 };
	char names[100][8];
	for (int i = 0; i < 100; i++) {
		snprintf(names[i], sizeof names[i], "d%d", i);
		assert_int_equal(ms_strlist_add(&l, names[i]), 0);
		assert_null(l.v[l.n]); /* NULL-terminated after every add */
	}
	assert_int_equal(l.n, 100);
	size_t n = 0;
	for (const char *const *p = l.v; *p; p++)
		assert_string_equal(*p, names[n++]);
	assert_int_equal(n, 100);
	ms_vec_free(&l);
	assert_null(l.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_fits),
		cmocka_unit_test(test_copy_utf8),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_strlist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
