/* test_acl.c - hm_acl's bits and RFC 4314's letters (store/acl.h): each
 * letter its hMailServer bit, the order GETACL prints, +/- and replace,
 * the obsolete c and d, and refused letters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "store/acl.h"

static void test_each_letter(void **state)
{
	/* BO/ACLPermission.h's ePermission, in bit order */
	static const char letters[] = "lrswipkxtea";
	for (int k = 0; letters[k]; k++) {
		char in[2] = { letters[k], 0 }, out[MS_ACL_LETTERS];
		int64_t bits;
		char mode;
		ms_err e = { 0 };
		assert_int_equal(ms_acl_parse(in, &bits, &mode, &e), 0);
		assert_int_equal(bits, 1 << k);
		assert_int_equal(mode, '=');
		ms_acl_letters(bits, out);
		assert_string_equal(out, in);
	}
}

static void test_order_and_all(void **state)
{
	char out[MS_ACL_LETTERS];
	ms_acl_letters(MS_ACL_ALL, out);
	assert_string_equal(out, "lrswipkxtea");
	ms_acl_letters(0, out);
	assert_string_equal(out, "");
	int64_t bits;
	char mode;
	ms_err e = { 0 };
	assert_int_equal(ms_acl_parse("ael", &bits, &mode, &e), 0); /* any order in, GETACL's order out */
	ms_acl_letters(bits, out);
	assert_string_equal(out, "lea");
	/* bits above a are not rights: never printed */
	ms_acl_letters(2048 | 2, out);
	assert_string_equal(out, "r");
}

static void test_modes(void **state)
{
	int64_t bits;
	char mode;
	ms_err e = { 0 };
	assert_int_equal(ms_acl_parse("+ws", &bits, &mode, &e), 0);
	assert_int_equal(mode, '+');
	assert_int_equal(bits, 4 | 8);
	assert_int_equal(ms_acl_parse("-e", &bits, &mode, &e), 0);
	assert_int_equal(mode, '-');
	assert_int_equal(bits, 512);
	assert_int_equal(ms_acl_parse("", &bits, &mode, &e), 0); /* SETACL "" clears */
	assert_int_equal(bits, 0);
}

static void test_obsolete_and_bad(void **state)
{
	int64_t bits;
	char mode;
	ms_err e = { 0 };
	assert_int_equal(ms_acl_parse("c", &bits, &mode, &e), 0);
	assert_int_equal(bits, 64 | 128);
	assert_int_equal(ms_acl_parse("d", &bits, &mode, &e), 0);
	assert_int_equal(bits, 128 | 256 | 512);
	assert_int_equal(ms_acl_parse("lrz", &bits, &mode, &e), -1);
	assert_int_equal(e.code, MS_E_USAGE);
	assert_non_null(strstr(e.msg, "'z'"));
	e = (ms_err){ 0 };
	assert_int_equal(ms_acl_parse("L", &bits, &mode, &e), -1); /* letters are lower case (RFC 4314) */
	e = (ms_err){ 0 };
	assert_int_equal(ms_acl_parse("+-r", &bits, &mode, &e), -1); /* one sign, first */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_letter),
		cmocka_unit_test(test_order_and_all),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_obsolete_and_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
