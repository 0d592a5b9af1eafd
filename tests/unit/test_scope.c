/* test_scope.c - the one scope type (store/scope.h): domains, accounts and
 * shards, each rule on both sides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/scope.h"

static void test_shard_of(void **state)
{
	(void)state;
	/* stable across releases: sync and reconstruct runs split by an older
	 * mstore must keep meaning the same accounts (FNV-1a, lower case) */
	assert_int_equal(ms_shard_of("ann@example.com", 1), 1);
	int k = ms_shard_of("ann@example.com", 7);
	assert_in_range(k, 1, 7);
	assert_int_equal(ms_shard_of("ANN@Example.COM", 7), k);
	int seen[5] = { 0 };
	char addr[64];
	for (int i = 0; i < 1000; i++) {
		snprintf(addr, sizeof addr, "user%d@example.com", i);
		int s = ms_shard_of(addr, 4);
		assert_in_range(s, 1, 4);
		seen[s]++;
	}
	for (int s = 1; s <= 4; s++) /* every shard gets a fair part */
		assert_in_range(seen[s], 180, 320);
	assert_int_equal(ms_shard_of("x", 0), 1);
}

static void test_shard_parse(void **state)
{
	(void)state;
	int k = 0, n = 0;
	assert_true(ms_shard_parse("1/1", &k, &n));
	assert_int_equal(k, 1);
	assert_int_equal(n, 1);
	assert_true(ms_shard_parse("4/4", &k, &n));
	assert_false(ms_shard_parse("5/4", &k, &n));
	assert_false(ms_shard_parse("0/4", &k, &n));
	assert_false(ms_shard_parse("1/0", &k, &n));
	assert_false(ms_shard_parse("1/4x", &k, &n));
	assert_false(ms_shard_parse("1", &k, &n));
	assert_false(ms_shard_parse("-1/4", &k, &n));
	assert_true(ms_shard_parse("100000/100000", &k, &n));
	assert_false(ms_shard_parse("1/100001", &k, &n));
}

static void test_membership(void **state)
{
	(void)state;
	const char *doms[] = { "example.com", "Other.ORG", NULL };
	const char *accts[] = { "ann@example.com", NULL };
	ms_scope all = { 0 };
	assert_false(ms_scope_narrowed(&all));
	assert_true(ms_scope_has_account(&all, "bob", "anything.test"));
	assert_true(ms_scope_has_domain(&all, "anything.test"));

	ms_scope d = { .domains = doms };
	assert_true(ms_scope_narrowed(&d));
	assert_true(ms_scope_has_account(&d, "bob", "EXAMPLE.com"));
	assert_true(ms_scope_has_account(&d, "bob", "other.org"));
	assert_false(ms_scope_has_account(&d, "bob", "third.net"));

	ms_scope a = { .domains = doms, .accounts = accts };
	assert_true(ms_scope_has_account(&a, "Ann", "Example.com"));
	assert_false(ms_scope_has_account(&a, "bob", "example.com"));
	ms_scope a_only = { .accounts = accts };
	assert_true(ms_scope_narrowed(&a_only));
	assert_false(ms_scope_has_account(&a_only, "ann", "example.org"));

	const char *empty[] = { NULL };
	ms_scope e = { .domains = empty, .accounts = empty };
	assert_false(ms_scope_narrowed(&e));
	assert_true(ms_scope_has_account(&e, "x", "y.z"));
}

static void test_shards_partition(void **state)
{
	(void)state;
	/* every account and queue file is in exactly one shard of N */
	char addr[64];
	for (int i = 0; i < 200; i++) {
		snprintf(addr, sizeof addr, "u%d", i);
		int in = 0, q = 0;
		for (int k = 1; k <= 3; k++) {
			ms_scope s = { .shard_k = k, .shard_n = 3 };
			in += ms_scope_has_account(&s, addr, "Example.com");
			q += ms_scope_has_queue_file(&s, addr);
		}
		assert_int_equal(in, 1);
		assert_int_equal(q, 1);
	}
	/* the account's shard is that of its address in any case */
	ms_scope s = { .shard_k = ms_shard_of("ann@example.com", 5), .shard_n = 5 };
	assert_true(ms_scope_has_account(&s, "ANN", "example.COM"));
	ms_scope other = { .shard_k = s.shard_k % 5 + 1, .shard_n = 5 };
	assert_false(ms_scope_has_account(&other, "ann", "example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shard_of),
		cmocka_unit_test(test_shard_parse),
		cmocka_unit_test(test_membership),
		cmocka_unit_test(test_shards_partition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
