/* test_directory.c - recipient resolution rules (store.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/directory.h"
#include "store/objects.h"
#include "store/store.h"

static ms_directory *dir;

static int setup(void **state)
{
	dir = ms_directory_new();
	assert_int_equal(ms_directory_add_domain(dir, 1, "example.com", true, "", true, '+'), 0);
	assert_int_equal(ms_directory_add_domain(dir, 2, "catch.org", true, "boss@catch.org", false, 0), 0);
	assert_int_equal(ms_directory_add_domain(dir, 3, "dead.net", false, "", false, 0), 0);
	assert_int_equal(ms_directory_add_domain(dir, 4, "loop.org", true, "nobody@loop.org", false, 0), 0);
	/* inactive, but with a catch-all that points at an active account */
	assert_int_equal(ms_directory_add_domain(dir, 5, "closed.org", false, "boss@catch.org", false, 0), 0);
	/* plus addressing with its own character */
	assert_int_equal(ms_directory_add_domain(dir, 6, "dash.org", true, "", true, '-'), 0);
	/* no plus addressing, no catch-all */
	assert_int_equal(ms_directory_add_domain(dir, 7, "plain.org", true, "", false, 0), 0);
	assert_int_equal(ms_directory_add_domain_alias(dir, "example.net", "example.com"), 0);
	assert_int_equal(ms_directory_add_account(dir, 10, "alice@example.com", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 11, "bob@example.com", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 12, "idle@example.com", false), 0);
	assert_int_equal(ms_directory_add_account(dir, 20, "boss@catch.org", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 30, "ghost@dead.net", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 50, "staff@closed.org", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 60, "carl@dash.org", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 61, "carl+x@dash.org", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 70, "dora@plain.org", true), 0);
	assert_int_equal(ms_directory_add_account(dir, 71, "+tag@example.com", true), 0);
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

/* hMailServer's recipientaddress is the address that found the account,
 * after domain alias and plus addressing, as written at that level. */
static void test_recipient_address_spelling(void **state)
{
	(void)state;
	ms_recipients r = { 0 };
	assert_int_equal(ms_resolve_address(dir, "ALICE+x@Example.COM", &r), 0);
	assert_int_equal(ms_resolve_address(dir, "Bob@Example.NET", &r), 0);
	assert_int_equal(ms_resolve_address(dir, "nobody@Catch.ORG", &r), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.v[0].address, "ALICE@Example.COM");
	assert_string_equal(r.v[0].original, "ALICE+x@Example.COM");
	assert_string_equal(r.v[1].address, "Bob@example.com");    /* the domain alias gives the domain's name */
	assert_string_equal(r.v[2].address, "boss@catch.org");     /* the catch-all as stored */
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

/* An inactive domain receives nothing: not its accounts, and not through
 * its catch-all either, even one that points at an active account. */
static void test_inactive_domain_with_catch_all(void **state)
{
	assert_string_equal(ids("staff@closed.org"), "");
	assert_string_equal(ids("anyone@closed.org"), "");
	assert_string_equal(ids("anyone@catch.org"), "20"); /* the same catch-all in an active domain */
}

/* Plus addressing cuts at the domain's own character, only in domains
 * that have it on; a character at position 0 cuts the whole local part,
 * as hMailServer's PlusAddressing::ExtractAccountAddress does. */
static void test_plus_addressing_rules(void **state)
{
	assert_string_equal(ids("carl-news@dash.org"), "60");
	assert_string_equal(ids("carl+x@dash.org"), "61");   /* '+' is not dash.org's character */
	assert_string_equal(ids("dora+news@plain.org"), ""); /* plus addressing off: no such account */
	assert_string_equal(ids("dora@plain.org"), "70");
	/* "+tag@example.com" is looked up as "@example.com": not the account
	 * "+tag", and example.com has no catch-all */
	assert_string_equal(ids("+tag@example.com"), "");
	assert_int_equal(ms_directory_add_domain(dir, 8, "plus.org", true, "boss@catch.org", true, '+'), 0);
	assert_int_equal(ms_directory_add_account(dir, 80, "+tag@plus.org", true), 0);
	assert_string_equal(ids("+tag@plus.org"), "20"); /* nobody: the catch-all */
}

/* An empty local part is looked up like any other ("@catch.org" is
 * nobody, so the catch-all takes it, as in hMailServer); an empty domain
 * is no local domain. */
static void test_empty_local_part(void **state)
{
	assert_string_equal(ids("@catch.org"), "20");
	assert_string_equal(ids("@example.com"), "");
	assert_string_equal(ids("x@"), "");
	assert_string_equal(ids("@"), "");
}

/* hMailServer counts the header's address as level 1 and stops after
 * level 25: an account 24 aliases away is found, 25 away is not. */
static void test_alias_chain_depth(void **state)
{
	char name[64], value[64];
	/* hop1 -> hop2 -> ... -> hop24 -> alice: alice is level 25 from hop1 */
	for (int i = 1; i < MS_RESOLVE_MAX_DEPTH; i++) {
		snprintf(name, sizeof name, "hop%d@example.com", i);
		if (i + 1 < MS_RESOLVE_MAX_DEPTH)
			snprintf(value, sizeof value, "hop%d@example.com", i + 1);
		else
			snprintf(value, sizeof value, "alice@example.com");
		assert_int_equal(ms_directory_add_alias(dir, name, value, true), 0);
	}
	assert_string_equal(ids("hop1@example.com"), "10");
	assert_string_equal(ids("hop5@example.com"), "10");
	/* one more in front: alice would be level 26 */
	assert_int_equal(ms_directory_add_alias(dir, "hop0@example.com", "hop1@example.com", true), 0);
	assert_string_equal(ids("hop0@example.com"), "");
	/* entering the chain further down: deep(1) hop2(2) .. hop24(24) alice(25) */
	assert_int_equal(ms_directory_add_alias(dir, "deep@example.com", "hop2@example.com", true), 0);
	assert_string_equal(ids("deep@example.com"), "10");
}

/* hMailServer 5.6 and older return after any route matching the
 * address's domain (as written, * and ? patterns, any case), so the
 * catch-all never applies there; 5.7 goes on to the catch-all. */
static void test_routes_and_catch_all(void **state)
{
	assert_int_equal(ms_directory_add_domain_alias(dir, "catch.net", "catch.org"), 0);
	assert_int_equal(ms_directory_add_route(dir, "C?TCH.O*"), 0);
	assert_string_equal(ids("anyone@catch.org"), "20"); /* a new directory is 5.7's */
	ms_directory_set_schema_version(dir, 5704);
	assert_string_equal(ids("anyone@catch.org"), "20");
	ms_directory_set_schema_version(dir, 5700);
	assert_string_equal(ids("anyone@catch.org"), "20");
	ms_directory_set_schema_version(dir, 5601);
	assert_string_equal(ids("anyone@catch.org"), "");     /* the route matches: no catch-all */
	assert_string_equal(ids("boss@catch.org"), "20");     /* accounts come before routes */
	assert_string_equal(ids("anyone@catch.net"), "20");   /* the domain as written: no route matches */
	assert_string_equal(ids("x@loop.org"), "");
	ms_directory_set_schema_version(dir, 5400);
	assert_string_equal(ids("anyone@catch.org"), "");
	ms_directory_set_schema_version(dir, 5704); /* the directory is shared by the tests */
}

/* Lookups of absent names end whatever the fill of the tables: every
 * size from empty to a thousand accounts. */
static void test_lookups_at_every_size(void **state)
{
	ms_directory *d = ms_directory_new();
	assert_non_null(d);
	assert_int_equal(ms_directory_add_domain(d, 1, "big.org", true, "", false, 0), 0);
	char addr[64];
	for (int i = 0; i < 1000; i++) {
		snprintf(addr, sizeof addr, "u%d@big.org", i);
		assert_int_equal(ms_directory_add_account(d, 1000 + i, addr, true), 0);
		assert_null(ms_directory_account(d, "nobody", "big.org"));
		snprintf(addr, sizeof addr, "U%d", i);
		const ms_dir_account *a = ms_directory_account(d, addr, "BIG.org");
		assert_non_null(a);
		assert_int_equal(a->id, 1000 + i);
	}
	ms_directory_free(d);
}

/* The snapshot loaded from a real (SQLite) store follows the same rules:
 * every column the rules use is read, domain activity included. */
static void test_load_from_store(void **state)
{
	char dir_path[] = "/tmp/test_directory.XXXXXX", url[128];
	assert_non_null(mkdtemp(dir_path));
	snprintf(url, sizeof url, "sqlite:%s/store.db", dir_path);
	ms_err e = { 0 };
	assert_int_equal(ms_store_init(url, NULL, &e), 0);
	ms_store *s;
	assert_int_equal(ms_store_open(url, NULL, NULL, DB_OPEN_READ_WRITE, &s, &e), 0);
	ms_domain_opts on = { .plus_char = "-" }, off = { .inactive = true, .postmaster = "ann@on.org" };
	assert_int_equal(ms_domain_add(s, "on.org", &on, NULL, &e), 0);
	assert_int_equal(ms_domain_add(s, "off.org", &off, NULL, &e), 0);
	assert_int_equal(ms_domain_alias_add(s, "on.org", "on.net", &e), 0);
	int64_t ann, ben;
	ms_account_opts idle = { .inactive = true };
	assert_int_equal(ms_account_add(s, "ann@on.org", NULL, &ann, &e), 0);
	assert_int_equal(ms_account_add(s, "ben@on.org", NULL, &ben, &e), 0);
	assert_int_equal(ms_account_add(s, "cy@on.org", &idle, NULL, &e), 0);
	assert_int_equal(ms_account_add(s, "dee@off.org", NULL, NULL, &e), 0);
	assert_int_equal(ms_alias_add(s, "info@on.org", "ben@on.org", false, &e), 0);
	assert_int_equal(ms_alias_add(s, "old@on.org", "ann@on.org", true, &e), 0);
	assert_int_equal(ms_dlist_add(s, "all@on.org", false, &e), 0);
	assert_int_equal(ms_dlist_member_add(s, "all@on.org", "ann@on.org", &e), 0);
	assert_int_equal(ms_dlist_member_add(s, "all@on.org", "ben@on.org", &e), 0);
	assert_int_equal(ms_dlist_add(s, "none@on.org", true, &e), 0);
	assert_int_equal(ms_dlist_member_add(s, "none@on.org", "ann@on.org", &e), 0);

	ms_directory *loaded;
	assert_int_equal(ms_directory_load(s->db, s->version, &loaded, &e), 0);
	ms_directory *saved = dir;
	dir = loaded;
	char want[64];
	snprintf(want, sizeof want, "%lld", (long long)ann);
	assert_string_equal(ids("ann-tag@on.net"), want);   /* domain alias, plus character '-' */
	assert_string_equal(ids("ann+tag@on.org"), "");     /* not on.org's character */
	snprintf(want, sizeof want, "%lld", (long long)ben);
	assert_string_equal(ids("info@on.org"), want);      /* active alias */
	assert_string_equal(ids("old@on.org"), "");         /* inactive alias */
	assert_string_equal(ids("cy@on.org"), "");          /* inactive account */
	snprintf(want, sizeof want, "%lld,%lld", (long long)ann, (long long)ben);
	assert_string_equal(ids("all@on.org"), want);       /* enabled list */
	assert_string_equal(ids("none@on.org"), "");        /* disabled list */
	assert_string_equal(ids("dee@off.org"), "");        /* inactive domain */
	assert_string_equal(ids("who@off.org"), "");        /* ... and its catch-all */
	assert_true(ms_directory_is_local_domain(dir, "on.net"));
	dir = saved;
	ms_directory_free(loaded);
	ms_store_close(s);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir_path);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_domain_alias_and_plus),
		cmocka_unit_test(test_aliases_lists_catch_all),
		cmocka_unit_test(test_dedup_across_addresses),
		cmocka_unit_test(test_recipient_address_spelling),
		cmocka_unit_test(test_account_lookup),
		cmocka_unit_test(test_inactive_domain_with_catch_all),
		cmocka_unit_test(test_plus_addressing_rules),
		cmocka_unit_test(test_empty_local_part),
		cmocka_unit_test(test_alias_chain_depth),
		cmocka_unit_test(test_routes_and_catch_all),
		cmocka_unit_test(test_lookups_at_every_size),
		cmocka_unit_test(test_load_from_store),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
