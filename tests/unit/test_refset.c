/* test_refset.c - the referenced-file-name set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/layout.h"
#include "sync/refset.h"

static void test_guid_parse(void **state)
{
	uint8_t g[16];
	assert_true(ms_guid_name_parse("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}.eml", g));
	assert_int_equal(g[0], 0x0A);
	assert_int_equal(g[15], 0xF9);
	assert_true(ms_guid_name_parse("{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}.EML", g));
	assert_false(ms_guid_name_parse("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}.hma", g));
	assert_false(ms_guid_name_parse("0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9.eml", g));
	assert_false(ms_guid_name_parse("{0A1B2C3D4E5F-6071-8293-A4B5C6D7E8F9-}.eml", g));
	assert_false(ms_guid_name_parse("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8FG}.eml", g));
	assert_false(ms_guid_name_parse("", g));
}

static void test_membership(void **state)
{
	ms_refset *r = ms_refset_new();
	assert_int_equal(ms_refset_add(r, "{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}.eml", 1), 0);
	assert_int_equal(ms_refset_add(r, "Legacy Name.HMA", 2), 0);
	assert_int_equal(ms_refset_add(r, "C:\\Program Files\\hMailServer\\Data\\x.com\\u\\{11111111-2222-3333-4444-555555555555}.eml", 77), 0);
	assert_int_equal(ms_refset_add(r, "{00000000-0000-0000-0000-000000000000}.eml", 3), 0);
	assert_true(ms_refset_has(r, "{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}.eml"));
	assert_true(ms_refset_has(r, "legacy name.hma"));
	assert_true(ms_refset_has(r, "{00000000-0000-0000-0000-000000000000}.eml"));
	assert_false(ms_refset_has(r, "{11111111-2222-3333-4444-555555555555}.eml"));
	assert_int_equal(ms_refset_full_path_row(r, "{11111111-2222-3333-4444-555555555555}.EML"), 77);
	assert_int_equal(ms_refset_full_path_row(r, "{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}.eml"), 0);
	assert_false(ms_refset_has(r, "{FFFFFFFF-4E5F-6071-8293-A4B5C6D7E8F9}.eml"));
	assert_int_equal(ms_refset_count(r), 4);
	ms_refset_free(r);
}

static void test_many_and_memory(void **state)
{
	ms_refset *r = ms_refset_new();
	char name[64];
	const int n = 200000;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "{%08X-0000-4000-8000-%012X}.eml", (unsigned)i * 2654435761u, (unsigned)i);
		assert_int_equal(ms_refset_add(r, name, i + 1), 0);
	}
	assert_int_equal(ms_refset_count(r), n);
	for (int i = 0; i < n; i += 997) {
		snprintf(name, sizeof name, "{%08X-0000-4000-8000-%012X}.eml", (unsigned)i * 2654435761u, (unsigned)i);
		assert_true(ms_refset_has(r, name));
		snprintf(name, sizeof name, "{%08X-0000-4000-8000-%012X}.eml", (unsigned)i * 2654435761u, (unsigned)i + n);
		assert_false(ms_refset_has(r, name));
	}
	/* GUID names cost well under 64 bytes each */
	assert_true(ms_refset_bytes(r) / n < 64);
	ms_refset_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid_parse),
		cmocka_unit_test(test_membership),
		cmocka_unit_test(test_many_and_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
