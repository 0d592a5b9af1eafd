/* test_str.c - util/str.h: cuts that never split a UTF-8 character. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/escape.h"
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

/* util/escape.h: what would break a line is escaped, UTF-8 text is not. */
static void test_escape(void **state)
{
	char b[128];
	assert_true(ms_escape(b, sizeof b, "plain é ü \xe2\x82\xac \xf0\x9f\x98\x80 back\\slash $(x) `y` 'q'"));
	assert_string_equal(b, "plain é ü \xe2\x82\xac \xf0\x9f\x98\x80 back\\slash $(x) `y` 'q'");
	assert_true(ms_escape(b, sizeof b, "a\nb\rc\td\x1b[31m\x7f"));
	assert_string_equal(b, "a\\x0ab\\x0dc\\x09d\\x1b[31m\\x7f");
	/* invalid UTF-8: stray bytes, a cut sequence, overlong, surrogate, > U+10FFFF, C1 (CSI) */
	assert_true(ms_escape(b, sizeof b, "\xff\xfe|\xc3|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xc2\x9b"));
	assert_string_equal(b, "\\xff\\xfe|\\xc3|\\xc0\\xaf|\\xed\\xa0\\x80|\\xf4\\x90\\x80\\x80|\\xc2\\x9b");
	/* U+00A0 (first after C1) and U+10FFFF are text */
	assert_true(ms_escape(b, sizeof b, "\xc2\xa0\xf4\x8f\xbf\xbf"));
	assert_string_equal(b, "\xc2\xa0\xf4\x8f\xbf\xbf");
	/* cut before what does not fit, never inside an escape or a character */
	assert_false(ms_escape(b, 6, "ab\ncd"));
	assert_string_equal(b, "ab");
	assert_false(ms_escape(b, 4, "a\xe2\x82\xac"));
	assert_string_equal(b, "a");
}

static void test_escape_put(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	ms_escape_put(f, "x\ntouch INJ #\xff\xc3\xa9");
	fclose(f);
	assert_string_equal(buf, "x\\x0atouch INJ #\\xff\xc3\xa9");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_fits),
		cmocka_unit_test(test_copy_utf8),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_strlist),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_put),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
