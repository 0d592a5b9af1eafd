/* test_refset.c - the referenced-file-name set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/layout.h"
#include "sync/refset.h"
#include "util/hashtab.h"

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

#define G1 "{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}.eml"
#define G1_LOWER "{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}.eml"
#define G2 "{11111111-2222-3333-4444-555555555555}.eml"

static void test_membership(void **state)
{
	ms_refset *r = ms_refset_new();
	assert_int_equal(ms_refset_add(r, 7, G1, 1), 0);
	assert_int_equal(ms_refset_add(r, 7, "Legacy Name.HMA", 2), 0);
	assert_int_equal(ms_refset_add(r, 7, "C:\\Program Files\\hMailServer\\Data\\x.com\\u\\" G2, 77), 0);
	assert_int_equal(ms_refset_add(r, MS_REF_QUEUE, "{00000000-0000-0000-0000-000000000000}.eml", 3), 0);
	assert_int_equal(ms_refset_match(r, 7, G1), MS_REF_EXACT);
	assert_int_equal(ms_refset_match(r, 7, "legacy name.hma"), MS_REF_EXACT);
	assert_int_equal(ms_refset_match(r, MS_REF_QUEUE, "{00000000-0000-0000-0000-000000000000}.eml"), MS_REF_EXACT);
	assert_int_equal(ms_refset_match(r, 7, G2), MS_REF_NONE);
	assert_int_equal(ms_refset_full_path_row(r, 7, "{11111111-2222-3333-4444-555555555555}.EML"), 77);
	assert_int_equal(ms_refset_full_path_row(r, 7, G1), 0);
	assert_int_equal(ms_refset_match(r, 7, "{FFFFFFFF-4E5F-6071-8293-A4B5C6D7E8F9}.eml"), MS_REF_NONE);
	assert_int_equal(ms_refset_count(r), 4);
	ms_refset_free(r);
}

/* issue 12 item 2, issue 11 item 7: a row references files of its own
 * owner only; the name in another owner's place is another file. */
static void test_owner(void **state)
{
	ms_refset *r = ms_refset_new();
	assert_int_equal(ms_refset_add(r, 7, G1, 1), 0);
	assert_int_equal(ms_refset_add(r, 7, "D:\\Data\\x.com\\ann\\11\\" G2, 2), 0);
	assert_int_equal(ms_refset_add(r, MS_REF_QUEUE, "old.eml", 3), 0);
	assert_int_equal(ms_refset_match(r, 8, G1), MS_REF_NONE);
	assert_int_equal(ms_refset_match(r, MS_REF_QUEUE, G1), MS_REF_NONE);
	assert_int_equal(ms_refset_match(r, MS_REF_PUBLIC, G1), MS_REF_NONE);
	assert_int_equal(ms_refset_match(r, 7, "OLD.eml"), MS_REF_NONE);
	assert_int_equal(ms_refset_match(r, MS_REF_QUEUE, "OLD.eml"), MS_REF_EXACT);
	assert_int_equal(ms_refset_full_path_row(r, 8, G2), 0);
	assert_true(ms_refset_named_elsewhere(r, 8, G1));
	assert_true(ms_refset_named_elsewhere(r, 8, G1_LOWER));
	assert_true(ms_refset_named_elsewhere(r, 8, G2)); /* by the full path of 7 */
	assert_false(ms_refset_named_elsewhere(r, 7, G1));
	assert_false(ms_refset_named_elsewhere(r, 7, G2));
	assert_true(ms_refset_named_elsewhere(r, 7, "old.eml"));
	/* the owners of rows */
	assert_int_equal(ms_refset_row_owner(2, 5), 5);
	assert_int_equal(ms_refset_row_owner(2, 0), MS_REF_PUBLIC);
	assert_int_equal(ms_refset_row_owner(1, 0), MS_REF_QUEUE);
	assert_int_equal(ms_refset_row_owner(3, 9), MS_REF_QUEUE);
	ms_refset_free(r);
}

static bool collect(void *ctx, const char *spelling)
{
	char *out = ctx;
	strcat(out, spelling);
	strcat(out, "|");
	return false;
}

/* issue 12 item 6: GUID names differing in case are one name, but the
 * file spelt exactly as the row is the row's. */
static void test_case(void **state)
{
	ms_refset *r = ms_refset_new();
	assert_int_equal(ms_refset_add(r, 7, G1, 1), 0);
	assert_int_equal(ms_refset_add(r, 8, G1_LOWER, 2), 0);
	assert_int_equal(ms_refset_match(r, 7, G1), MS_REF_EXACT);
	assert_int_equal(ms_refset_match(r, 7, G1_LOWER), MS_REF_VARIANT);
	assert_int_equal(ms_refset_match(r, 8, G1_LOWER), MS_REF_EXACT);
	assert_int_equal(ms_refset_match(r, 8, G1), MS_REF_VARIANT);
	assert_int_equal(ms_refset_match(r, 9, G1), MS_REF_NONE);
	char seen[512] = "";
	assert_false(ms_refset_each_spelling(r, 7, G1_LOWER, collect, seen));
	assert_string_equal(seen, G1 "|");
	seen[0] = '\0';
	assert_false(ms_refset_each_spelling(r, 8, G1, collect, seen));
	assert_string_equal(seen, G1_LOWER "|");
	/* both spellings in one owner: both exact */
	assert_int_equal(ms_refset_add(r, 7, G1_LOWER, 3), 0);
	assert_int_equal(ms_refset_match(r, 7, G1_LOWER), MS_REF_EXACT);
	seen[0] = '\0';
	assert_false(ms_refset_each_spelling(r, 7, G1, collect, seen));
	assert_string_equal(seen, G1 "|" G1_LOWER "|");
	ms_refset_free(r);
}

static void test_many_and_memory(void **state)
{
	ms_refset *r = ms_refset_new();
	char name[64];
	const int n = 200000;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "{%08X-0000-4000-8000-%012X}.eml", (unsigned)i * 2654435761u, (unsigned)i);
		assert_int_equal(ms_refset_add(r, 1 + i % 500, name, i + 1), 0);
	}
	assert_int_equal(ms_refset_count(r), n);
	for (int i = 0; i < n; i += 997) {
		snprintf(name, sizeof name, "{%08X-0000-4000-8000-%012X}.eml", (unsigned)i * 2654435761u, (unsigned)i);
		assert_int_equal(ms_refset_match(r, 1 + i % 500, name), MS_REF_EXACT);
		assert_int_equal(ms_refset_match(r, 2 + i % 500, name), MS_REF_NONE);
		snprintf(name, sizeof name, "{%08X-0000-4000-8000-%012X}.eml", (unsigned)i * 2654435761u, (unsigned)i + n);
		assert_int_equal(ms_refset_match(r, 1 + i % 500, name), MS_REF_NONE);
	}
	/* (owner, GUID) keys: 20 bytes a slot, well under 64 bytes a name */
	assert_true(ms_refset_bytes(r) / n < 64);
	ms_refset_free(r);
}

/* util/hashtab: the core the referenced set, the string map and
 * reconstruct's file index share. */
typedef struct slot8 { uint32_t key, val; } slot8;

static uint64_t slot8_hash(const void *s, const void *ctx)
{
	(void)ctx;
	return ms_hash_mix(((const slot8 *)s)->key);
}

static void test_hashtab(void **state)
{
	ms_hashtab t = { 0 };
	assert_int_equal(ms_hashtab_reserve(&t, 1, sizeof(slot8), 16, slot8_hash, NULL), 0);
	assert_int_equal(t.cap, 16);
	for (uint32_t k = 1; k <= 1000; k++) {
		assert_int_equal(ms_hashtab_reserve(&t, t.n + 1, sizeof(slot8), 16, slot8_hash, NULL), 0);
		slot8 *s = ms_hashtab_free_slot(&t, sizeof *s, ms_hash_mix(k));
		*s = (slot8){ k, k * 3 };
		t.n++;
		assert_true(t.n * 10 <= t.cap * 7); /* the load stays at most 0.7 */
	}
	assert_int_equal(t.cap, 2048);
	/* after every growth, each key is on its chain */
	for (uint32_t k = 1; k <= 1001; k++) {
		size_t j = ms_hashtab_first(&t, ms_hash_mix(k));
		const slot8 *s;
		while ((s = ms_hashtab_at(&t, sizeof *s, j))->key && s->key != k)
			j = ms_hashtab_next(&t, j);
		if (k <= 1000)
			assert_int_equal(s->val, k * 3);
		else
			assert_int_equal(s->key, 0);
	}
	/* a reservation that fits changes nothing; a big one grows at once */
	void *v = t.v;
	assert_int_equal(ms_hashtab_reserve(&t, 1400, sizeof(slot8), 16, slot8_hash, NULL), 0);
	assert_ptr_equal(t.v, v);
	assert_int_equal(ms_hashtab_reserve(&t, 10000, sizeof(slot8), 16, slot8_hash, NULL), 0);
	assert_int_equal(t.cap, 16384);
	assert_int_equal(t.n, 1000);
	ms_hashtab_free(&t);
	assert_null(t.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid_parse),
		cmocka_unit_test(test_membership),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_many_and_memory),
		cmocka_unit_test(test_hashtab),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
