/* test_layout.c - the data directory layout (store/layout.h): GUID names,
 * the XX folder as hMailServer computes it, canonical paths and places. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/layout.h"

static void test_guid_round_trip(void **state)
{
	(void)state;
	uint8_t g[16], h[16];
	char name[MS_GUID_NAME_LEN + 1];
	assert_true(ms_guid_name_parse("{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}.eml", g));
	ms_guid_name_format(g, name);
	assert_string_equal(name, "{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}.eml"); /* hMailServer's own: upper case */
	assert_true(ms_guid_name_parse(name, h));
	assert_memory_equal(g, h, 16);
	/* one character short, one too long, a dash moved */
	assert_false(ms_guid_name_parse("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F}.eml", g));
	assert_false(ms_guid_name_parse("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F99}.eml", g));
	assert_false(ms_guid_name_parse("{0A1B2C3-D4E5F-6071-8293-A4B5C6D7E8F9}.eml", g));
	assert_false(ms_guid_name_parse("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}.emlx", g));
	assert_false(ms_guid_name_parse("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}.txt", g)); /* same length */
	/* dashes replaced by hex digits: 18 bytes of hex, which must not be
	 * written into 16 (a canary after the buffer says whether they were) */
	struct { uint8_t g[16]; uint8_t canary[8]; } c;
	memset(&c, 0x5A, sizeof c);
	assert_false(ms_guid_name_parse("{0A1B2C3D04E5F0607108293" "0A4B5C6D7E8F9}.eml", c.g));
	for (size_t i = 0; i < sizeof c.canary; i++)
		assert_int_equal(c.canary[i], 0x5A);
}

static void test_guid_new(void **state)
{
	(void)state;
	char a[MS_GUID_NAME_LEN + 1], b[MS_GUID_NAME_LEN + 1];
	uint8_t g[16];
	ms_guid_name_new(a);
	ms_guid_name_new(b);
	assert_int_equal(strlen(a), MS_GUID_NAME_LEN);
	assert_true(ms_guid_name_parse(a, g));
	assert_int_equal(g[6] >> 4, 4);          /* a version-4 GUID */
	assert_int_equal(g[8] & 0xC0, 0x80);     /* of the RFC 4122 variant */
	assert_string_not_equal(a, b);
	for (const char *p = a; *p; p++)         /* upper case, like hMailServer's */
		assert_false(*p >= 'a' && *p <= 'f' && p < a + 37);
}

static void test_xx(void **state)
{
	(void)state;
	char xx[3];
	ms_layout_xx("{AB000000-0000-0000-0000-000000000000}.eml", xx);
	assert_string_equal(xx, "AB");
	ms_layout_xx("{ab000000-0000-0000-0000-000000000000}.eml", xx);
	assert_string_equal(xx, "ab");          /* as written: Mid(1,2), case kept */
	ms_layout_xx("{c", xx);
	assert_string_equal(xx, "c_");
	ms_layout_xx("x", xx);
	assert_string_equal(xx, "__");
	ms_layout_xx("", xx);
	assert_string_equal(xx, "__");
}

static void test_paths(void **state)
{
	(void)state;
	char out[200];
	const char *n = "{AB000000-0000-0000-0000-000000000001}.eml";
	assert_true(ms_layout_path(MS_PLACE_ACCOUNT, "example.com/ann", n, out, sizeof out));
	assert_string_equal(out, "example.com/ann/AB/{AB000000-0000-0000-0000-000000000001}.eml");
	assert_true(ms_layout_path(MS_PLACE_PUBLIC, NULL, n, out, sizeof out));
	assert_string_equal(out, "#Public/AB/{AB000000-0000-0000-0000-000000000001}.eml");
	assert_true(ms_layout_path(MS_PLACE_QUEUE, NULL, n, out, sizeof out));
	assert_string_equal(out, n);
	/* exactly fits, one byte short */
	size_t need = strlen("example.com/ann/AB/") + strlen(n) + 1;
	assert_true(ms_layout_path(MS_PLACE_ACCOUNT, "example.com/ann", n, out, need));
	assert_false(ms_layout_path(MS_PLACE_ACCOUNT, "example.com/ann", n, out, need - 1));
}

static void test_canonical(void **state)
{
	(void)state;
	size_t owner = strlen("example.com/ann");
	assert_true(ms_layout_is_canonical("example.com/ann/AB/{AB000000-0000-0000-0000-000000000001}.eml", owner));
	assert_true(ms_layout_is_canonical("example.com/ann/ab/{ab000000-0000-0000-0000-000000000001}.eml", owner));
	assert_false(ms_layout_is_canonical("example.com/ann/AB/{ab000000-0000-0000-0000-000000000001}.eml", owner));
	assert_false(ms_layout_is_canonical("example.com/ann/ab/{AB000000-0000-0000-0000-000000000001}.eml", owner));
	assert_false(ms_layout_is_canonical("example.com/ann/AC/{AB000000-0000-0000-0000-000000000001}.eml", owner));
	assert_false(ms_layout_is_canonical("example.com/ann/{AB000000-0000-0000-0000-000000000001}.eml", owner));
	assert_false(ms_layout_is_canonical("example.com/ann/AB/AB/{AB000000-0000-0000-0000-000000000001}.eml", owner));
	assert_false(ms_layout_is_canonical("example.com/ann/ABC/{AB000000-0000-0000-0000-000000000001}.eml", owner));
	assert_false(ms_layout_is_canonical("example.com/ann/X/AB/{AB000000-0000-0000-0000-000000000001}.eml", owner));
	/* two deep, where the second folder's name looks like a name of XX */
	assert_false(ms_layout_is_canonical("example.com/ann/AB/xAB/{AB000000-0000-0000-0000-000000000001}.eml", owner));
	/* the queue: the root, nothing below */
	assert_true(ms_layout_is_canonical("{AB000000-0000-0000-0000-000000000001}.eml", 0));
	assert_false(ms_layout_is_canonical("AB/{AB000000-0000-0000-0000-000000000001}.eml", 0));
	/* #Public like an account */
	assert_true(ms_layout_is_canonical("#Public/AB/{AB000000-0000-0000-0000-000000000001}.eml", strlen("#Public")));
	assert_false(ms_layout_is_canonical("#Public/Shared/{AB000000-0000-0000-0000-000000000001}.eml", strlen("#Public")));
}

/* The trash's spelling: the <XX> level dropped only when it is the name's own. */
static void test_drop_xx(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "x.com/u/AB/{AB000000-0000-0000-0000-000000000001}.eml", "x.com/u/{AB000000-0000-0000-0000-000000000001}.eml" },
		{ "#Public/ab/{ab000000-0000-0000-0000-000000000001}.eml", "#Public/{ab000000-0000-0000-0000-000000000001}.eml" },
		/* a folder in the other case, or of another name, or longer: kept */
		{ "x.com/u/ab/{AB000000-0000-0000-0000-000000000001}.eml", NULL },
		{ "x.com/u/CD/{AB000000-0000-0000-0000-000000000001}.eml", NULL },
		{ "x.com/u/xAB/{AB000000-0000-0000-0000-000000000001}.eml", NULL },
		/* the queue (no folder) and a folder at the top */
		{ "{AB000000-0000-0000-0000-000000000001}.eml", NULL },
		{ "AB/{AB0}.eml", "{AB0}.eml" },
	};
	char out[200];
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		assert_true(ms_layout_drop_xx(cases[k][0], out, sizeof out));
		assert_string_equal(out, cases[k][1] ? cases[k][1] : cases[k][0]);
	}
	/* too small */
	assert_false(ms_layout_drop_xx(cases[0][0], out, 10));
}

static void test_base_name(void **state)
{
	(void)state;
	assert_string_equal(ms_layout_base_name("{A}.eml"), "{A}.eml");
	assert_string_equal(ms_layout_base_name("C:\\Data\\x.com\\u\\AB\\{A}.eml"), "{A}.eml");
	assert_string_equal(ms_layout_base_name("x.com/u/AB/{A}.eml"), "{A}.eml");
	assert_string_equal(ms_layout_base_name("dir\\"), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid_round_trip),
		cmocka_unit_test(test_guid_new),
		cmocka_unit_test(test_xx),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_drop_xx),
		cmocka_unit_test(test_base_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
