/* test_blowfish.c - hMailServer's Blowfish password encryption: round
 * trips, refusal of bad hex, and the little-endian word convention checked
 * against nettle used directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <nettle/blowfish.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static void hex_of(const uint8_t *bytes, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", bytes[i]);
}

static void assert_round_trip(const char *plain, size_t expect_hex_len)
{
	ms_err e = { 0 };
	char *hex = NULL, *back = NULL;
	assert_int_equal(ms_hms_blowfish_encrypt(plain, &hex, &e), 0);
	assert_int_equal(strlen(hex), expect_hex_len);
	for (const char *c = hex; *c; c++)
		assert_true((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'));
	assert_int_equal(ms_hms_blowfish_decrypt(hex, &back, &e), 0);
	assert_string_equal(back, plain);
	free(hex);
	free(back);
}

static void round_trips(void **state)
{
	(void)state;
	assert_round_trip("", 0);
	assert_round_trip("a", 16);
	assert_round_trip("1234567", 16);
	assert_round_trip("12345678", 16);
	assert_round_trip("123456789", 32);
	assert_round_trip("abcdefghijklmnopqrstuvwxyz0123", 64);
	assert_round_trip("p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac \xf0\x9f\x94\x91", 48); /* UTF-8, 21 bytes */
	assert_round_trip("with spaces; # and = signs", 64);
}

static void uppercase_hex_accepted(void **state)
{
	(void)state;
	ms_err e = { 0 };
	char *hex, *back;
	assert_int_equal(ms_hms_blowfish_encrypt("Hejsan", &hex, &e), 0);
	for (char *c = hex; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	assert_int_equal(ms_hms_blowfish_decrypt(hex, &back, &e), 0);
	assert_string_equal(back, "Hejsan");
	free(hex);
	free(back);
	/* every letter digit, A to F, in upper case (a pinned vector below) */
	assert_int_equal(ms_hms_blowfish_decrypt("A62B3C438EFAE3DB", &back, &e), 0);
	assert_string_equal(back, "secret");
	free(back);
}

static void assert_refused(const char *hex, const char *msg_part)
{
	ms_err e = { 0 };
	char *out = (char *)"untouched";
	assert_int_equal(ms_hms_blowfish_decrypt(hex, &out, &e), -1);
	assert_null(out);
	assert_int_equal(e.code, MS_E_CONFIG);
	if (!strstr(e.msg, msg_part))
		fail_msg("message '%s' lacks '%s'", e.msg, msg_part);
}

static void bad_hex_refused(void **state)
{
	(void)state;
	assert_refused("a62b3c438efae3d", "odd number of hex digits (15)");
	assert_refused("a62b3c438efae3", "14 hex digits");
	assert_refused("a62b3c438efae3dba6", "18 hex digits");
	assert_refused("a62b3c438efae3dg", "character 16 is not a hexadecimal digit");
	assert_refused("x62b3c438efae3db", "character 1 is not");
	assert_refused("a62b3c43 efae3db", "character 9 is not");
	/* The message must not quote the (as good as plain) password. */
	ms_err e = { 0 };
	char *out;
	assert_int_equal(ms_hms_blowfish_decrypt("a62b3c438efae3dz", &out, &e), -1);
	assert_null(strstr(e.msg, "a62b3c43"));
}

static void too_long_refused(void **state)
{
	(void)state;
	char plain[300];
	memset(plain, 'x', sizeof plain - 1);
	plain[sizeof plain - 1] = '\0';
	ms_err e = { 0 };
	char *hex = (char *)"untouched";
	assert_int_equal(ms_hms_blowfish_encrypt(plain, &hex, &e), -1);
	assert_null(hex);
	assert_non_null(strstr(e.msg, "299 bytes"));
	plain[255] = '\0'; /* the longest hMailServer can encrypt */
	assert_round_trip(plain, 512);
}

/* nettle itself against the standard test vector (Eric Young's set: key
 * 0000000000000000, plain 0000000000000000 -> 4ef997456198dd78), so the
 * next test can rely on it as an independent Blowfish. */
static void nettle_standard_vector(void **state)
{
	(void)state;
	struct blowfish_ctx ctx;
	uint8_t key[8] = { 0 }, block[8] = { 0 };
	char hex[17];
	assert_int_equal(blowfish_set_key(&ctx, sizeof key, key), 1);
	blowfish_encrypt(&ctx, sizeof block, block, block);
	hex_of(block, sizeof block, hex);
	assert_string_equal(hex, "4ef997456198dd78");
}

/* Our function must equal nettle with each 32-bit word byte-swapped before
 * and after (hMailServer reads the words little-endian, nettle big-endian),
 * under the key THIS_KEY_IS_NOT_SECRET. */
static void little_endian_words_match_swapped_nettle(void **state)
{
	(void)state;
	const char key[] = "THIS_KEY_IS_NOT_SECRET";
	struct blowfish_ctx ctx;
	assert_int_equal(blowfish_set_key(&ctx, strlen(key), (const uint8_t *)key), 1);
	/* "ABCDEFGH" with each word reversed: "DCBA" "HGFE". */
	uint8_t block[8] = { 'D', 'C', 'B', 'A', 'H', 'G', 'F', 'E' };
	blowfish_encrypt(&ctx, sizeof block, block, block);
	uint8_t expect[8] = { block[3], block[2], block[1], block[0], block[7], block[6], block[5], block[4] };
	char expect_hex[17];
	hex_of(expect, sizeof expect, expect_hex);

	ms_err e = { 0 };
	char *hex;
	assert_int_equal(ms_hms_blowfish_encrypt("ABCDEFGH", &hex, &e), 0);
	assert_string_equal(hex, expect_hex);
	free(hex);

	/* Without the swap the result would differ: the convention matters. */
	uint8_t plain_be[8] = { 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H' };
	blowfish_encrypt(&ctx, sizeof plain_be, plain_be, plain_be);
	char be_hex[17];
	hex_of(plain_be, sizeof plain_be, be_hex);
	assert_string_not_equal(be_hex, expect_hex);
}

/* Regression vectors, computed once with this implementation and
 * confirmed with an unrelated Blowfish (OpenSSL through Python's
 * `cryptography`, words swapped by hand): if these change, INI files
 * written by hMailServer no longer decrypt. */
static void pinned_vectors(void **state)
{
	(void)state;
	static const struct { const char *plain, *hex; } v[] = {
		{ "secret", "a62b3c438efae3db" },
		{ "ABCDEFGH", "0e52b6f213adba32" },
		{ "hunter2", "dff546ae87caf6d2" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ms_err e = { 0 };
		char *hex, *plain;
		assert_int_equal(ms_hms_blowfish_encrypt(v[i].plain, &hex, &e), 0);
		assert_string_equal(hex, v[i].hex);
		assert_int_equal(ms_hms_blowfish_decrypt(v[i].hex, &plain, &e), 0);
		assert_string_equal(plain, v[i].plain);
		free(hex);
		free(plain);
	}
}

/* Plain text ends at the first NUL even when more blocks follow (as in a
 * hand-edited INI); a full last block with no NUL is still terminated. */
static void plaintext_stops_at_nul(void **state)
{
	(void)state;
	ms_err e = { 0 };
	char *plain;
	assert_int_equal(ms_hms_blowfish_decrypt("a62b3c438efae3db0e52b6f213adba32", &plain, &e), 0);
	assert_string_equal(plain, "secret");
	free(plain);
	assert_int_equal(ms_hms_blowfish_decrypt("0e52b6f213adba32", &plain, &e), 0);
	assert_string_equal(plain, "ABCDEFGH");
	free(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trips),
		cmocka_unit_test(uppercase_hex_accepted),
		cmocka_unit_test(bad_hex_refused),
		cmocka_unit_test(too_long_refused),
		cmocka_unit_test(nettle_standard_vector),
		cmocka_unit_test(little_endian_words_match_swapped_nettle),
		cmocka_unit_test(pinned_vectors),
		cmocka_unit_test(plaintext_stops_at_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
