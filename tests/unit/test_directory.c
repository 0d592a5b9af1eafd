/* test_directory.c - recipient resolution rules (store.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/directory.h"

static ms_directory *dir;

static int setup(void **state)
{
	dir = ms_directory_new();
	assert_int_equal(ms_directory_add_domain(dir, 1, "example.com", true, "", true, '+'), 0);
	assert_int_equal(ms_directory_add_domain(dir, 2, "catch.org", true, "boss@catch.org", false, 0), 0);
	assert_int_equal(ms_directory_add_domain(dir, 3, "dead.net", false, "", false, 0), 0);
	assert_int_equal(ms_directory_add_domain(dir, 4, "loop.org", true, "nobody@loop.org", false, 0), 0);
	assert_int_equal(ms_directory_add_domain_alias(dir, "example.net", "example.com"), 0);
	assert_int_equal(ms_directory_add_account(dir, 10, "alice@example.com", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 11, "bob@example.com", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 12, "idle@example.com", false), 0);
	assert_int_equal(ms_directory_add_account(dir, 20, "boss@catch.org", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 30, "ghost@dead.net", true), 0);
	assert_int_equal(ms_directory_add_alias(dir, "info@example.com", "alice@example.com", true), 0);
	assert_int_equal(ms_directory_add_alias(dir, "old@example.com", "bob@example.com", false), 0);
	assert_int_equal(ms_directory_add_alias(dir, "chain@example.com", "info@example.com", true), 0);
	assert_int_equal(ms_directory_add_alias(dir, "ext@example.com", "someone@outside.test", true), 0);
	assert_int_equal(ms_directory_add_alias(dir, "ping@example.com", "pong@example.com", true), 0);
	assert_int_equal(ms_directory_add_alias(dir, "pong@example.com", "ping@example.com", true), 0);
	assert_int_equal(ms_directory_add_list(dir, "team@example.com", true), 0);
	assert_int_equal(ms_directory_add_list_member(dir, "team@example.com", "alice@example.com"), 0);
	assert_int_equal(ms_directory_add_list_member(dir, "team@example.com", "info@example.com"), 0);
	assert_int_equal(ms_directory_add_list_member(dir, "team@example.com", "bob@example.com"), 0);
	assert_int_equal(ms_directory_add_list_member(dir, "team@example.com", "far@outside.test"), 0);
	assert_int_equal(ms_directory_add_list(dir, "off@example.com", false), 0);
	assert_int_equal(ms_directory_add_list_member(dir, "off@example.com", "alice@example.com"), 0);
	return 0;
}

static int teardown(void **state)
{
	ms_directory_free(dir);
	return 0;
}

/* Resolve `addr` and return the account ids as "10,11". */
static const char *ids(const char *addr)
{
	static char buf[256];
	ms_recipients r = { 0 };
	assert_int_equal(ms_resolve_address(dir, addr, &r), 0);
	buf[0] = '\0';
	for (size_t i = 0; i < r.n; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%lld", i ? "," : "", (long long)r.v[i].account_id);
	ms_recipients_free(&r);
	return buf;
}

static void test_accounts(void **state)
{
	assert_string_equal(ids("alice@example.com"), "10");
	assert_string_equal(ids("ALICE@Example.COM"), "10");
	assert_string_equal(ids("idle@example.com"), "");       /* inactive account */
	assert_string_equal(ids("nobody@example.com"), "");     /* no such, no catch-all */
	assert_string_equal(ids("someone@outside.test"), "");   /* external: dropped */
	assert_string_equal(ids("ghost@dead.net"), "");         /* inactive domain */
	assert_string_equal(ids("not-an-address"), "");
}

static void test_domain_alias_and_plus(void **state)
{
	assert_string_equal(ids("alice@example.net"), "10");
	assert_string_equal(ids("alice+news@example.com"), "10");
	assert_string_equal(ids("alice+news@example.net"), "10");
	assert_string_equal(ids("boss+x@catch.org"), "20");    /* no plus addressing: catch-all */
}

static void test_aliases_lists_catch_all(void **state)
{
	assert_string_equal(ids("info@example.com"), "10");
	assert_string_equal(ids("chain@example.com"), "10");
	assert_string_equal(ids("old@example.com"), "");       /* inactive alias */
	assert_string_equal(ids("ext@example.com"), "");       /* alias to outside */
	assert_string_equal(ids("team@example.com"), "10,11"); /* members de-duplicated, external dropped */
	assert_string_equal(ids("off@example.com"), "");       /* disabled list */
	assert_string_equal(ids("anyone@catch.org"), "20");
	assert_string_equal(ids("ping@example.com"), "");      /* alias loop: ends at the depth limit */
	assert_string_equal(ids("x@loop.org"), "");            /* catch-all pointing at nothing */
}

static void test_dedup_across_addresses(void **state)
{
	ms_recipients r = { 0 };
	assert_int_equal(ms_resolve_address(dir, "alice@example.com", &r), 0);
	assert_int_equal(ms_resolve_address(dir, "info@example.com", &r), 0);
	assert_int_equal(ms_resolve_address(dir, "bob@example.com", &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0].address, "alice@example.com");
	assert_string_equal(r.v[0].original, "alice@example.com");
	assert_string_equal(r.v[1].original, "bob@example.com");
	ms_recipients_free(&r);
	r = (ms_recipients){ 0 };
	assert_int_equal(ms_resolve_address(dir, "Info@Example.net", &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].address, "alice@example.com");
	assert_string_equal(r.v[0].original, "Info@Example.net");
	ms_recipients_free(&r);
}

static void test_account_lookup(void **state)
{
	const ms_dir_account *a = ms_directory_account(dir, "Alice", "EXAMPLE.com");
	assert_non_null(a);
	assert_int_equal(a->id, 10);
	assert_null(ms_directory_account(dir, "alice", "example.net")); /* folders use the real domain */
	assert_true(ms_directory_is_local_domain(dir, "example.net"));
	assert_false(ms_directory_is_local_domain(dir, "outside.test"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_domain_alias_and_plus),
		cmocka_unit_test(test_aliases_lists_catch_all),
		cmocka_unit_test(test_dedup_across_addresses),
		cmocka_unit_test(test_account_lookup),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
