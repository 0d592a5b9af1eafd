/* test_reconstruct.c - the parts of reconstruct that are pure logic: the
 * mailbox argument and the stable finding names scripts rely on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "reconstruct/reconstruct.h"

static void test_mailbox_account(void **state)
{
	ms_rc_mailbox m;
	ms_err e = { 0 };
	assert_int_equal(ms_rc_mailbox_parse("user/ann@example.com", &m, &e), 0);
	assert_string_equal(m.address, "ann@example.com");
	assert_string_equal(m.folder, "");
	assert_int_equal(ms_rc_mailbox_parse("user/ann@example.com/", &m, &e), 0);
	assert_string_equal(m.folder, "");
}

static void test_mailbox_folder(void **state)
{
	ms_rc_mailbox m;
	ms_err e = { 0 };
	assert_int_equal(ms_rc_mailbox_parse("user/ann@example.com/INBOX/Work 2024/", &m, &e), 0);
	assert_string_equal(m.address, "ann@example.com");
	assert_string_equal(m.folder, "INBOX/Work 2024");
}

static void test_mailbox_bad(void **state)
{
	ms_rc_mailbox m;
	ms_err e = { 0 };
	assert_int_equal(ms_rc_mailbox_parse("ann@example.com", &m, &e), -1);
	assert_int_equal(e.code, MS_E_USAGE);
	assert_non_null(strstr(e.msg, "user/ADDRESS"));
	assert_int_equal(ms_rc_mailbox_parse("user/", &m, &e), -1);
	assert_int_equal(ms_rc_mailbox_parse("user/annexample.com/INBOX", &m, &e), -1);
	assert_non_null(strstr(e.msg, "not an address"));
	char longaddr[600];
	memset(longaddr, 'a', sizeof longaddr - 1);
	longaddr[sizeof longaddr - 1] = '\0';
	memcpy(longaddr, "user/x@", 7);
	assert_int_equal(ms_rc_mailbox_parse(longaddr, &m, &e), -1);
}

static void test_kind_names(void **state)
{
	/* every kind has a distinct token of lower-case words and dashes */
	for (int k = 0; k < RC_N_KINDS; k++) {
		const char *n = ms_rc_kind_name((rc_kind)k);
		assert_non_null(n);
		assert_true(strlen(n) > 0);
		assert_int_equal(strspn(n, "abcdefghijklmnopqrstuvwxyz-"), strlen(n));
		for (int j = 0; j < k; j++)
			assert_string_not_equal(n, ms_rc_kind_name((rc_kind)j));
	}
	assert_string_equal(ms_rc_kind_name(RC_MISSING_FILE), "missing-file");
	assert_string_equal(ms_rc_kind_name(RC_UNREFERENCED_FILE), "unreferenced-file");
	assert_string_equal(ms_rc_kind_name(RC_N_KINDS), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailbox_account),
		cmocka_unit_test(test_mailbox_folder),
		cmocka_unit_test(test_mailbox_bad),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
