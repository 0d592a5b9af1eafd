/* fuzz_header.c - libFuzzer target for the header parser.
 *
 * Each input is parsed as a whole message (ms_headers_parse) and as one
 * address-list header value, by the RFC 5322 reader
 * (ms_address_list_parse) and by hMailServer's rules (ms_hms_address_each,
 * also over the first From/To/CC fields of the message).  Besides the
 * sanitizers' crash, leak and undefined-behaviour reports, the promises of
 * header.h are checked and any broken one traps:
 *   - every address has a local part and a domain around an '@';
 *   - every entry by hMailServer's rules holds an '@' (valid UTF-8 when
 *     the value was);
 *   - every string handed back is valid UTF-8;
 *   - the header section is no longer than the input and MS_HEADER_MAX;
 *   - MS_HDR_EMPTY is set exactly for empty input;
 *   - ms_first_from_plain, where it answers, gives the messagefrom of the
 *     first From field that ms_headers_parse returns.
 */
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message/header.h"

#define REQUIRE(cond) \
	do { \
		if (!(cond)) \
			__builtin_trap(); \
	} while (0)

static void check_text(const char *s)
{
	REQUIRE(!s || g_utf8_validate(s, -1, NULL));
}

static void check_list(const ms_address_list *l)
{
	REQUIRE(l->n == 0 || l->v != NULL);
	for (size_t i = 0; i < l->n; i++) {
		const char *addr = l->v[i].addr;
		REQUIRE(addr != NULL);
		const char *at = strrchr(addr, '@');
		REQUIRE(at && at != addr && at[1] != '\0');
		check_text(addr);
		check_text(l->v[i].name);
		REQUIRE(!l->v[i].name || l->v[i].name[0] != '\0');
	}
}

static int check_hms_entry(void *ctx, const char *address, ms_err *e)
{
	(void)e;
	bool value_utf8 = *(bool *)ctx;
	REQUIRE(strchr(address, '@') != NULL);
	REQUIRE(!value_utf8 || g_utf8_validate(address, -1, NULL));
	return 0;
}

static void check_hms(const char *value)
{
	bool value_utf8 = !value || g_utf8_validate(value, -1, NULL);
	ms_err e = { 0 };
	if (ms_hms_address_each(value, check_hms_entry, &value_utf8, &e) < 0)
		REQUIRE(e.code == MS_E_NOMEM);
}

static void fuzz_message(const char *data, size_t size)
{
	ms_headers h;
	ms_err e = { 0 };
	if (ms_headers_parse(data, size, &h, &e) < 0) {
		REQUIRE(e.code == MS_E_NOMEM); /* the only failure allowed */
		return;
	}
	REQUIRE(h.header_bytes <= size && h.header_bytes <= MS_HEADER_MAX);
	REQUIRE(((h.flags & MS_HDR_EMPTY) != 0) == (size == 0));
	REQUIRE(!(h.flags & MS_HDR_TRUNCATED) || size > MS_HEADER_MAX);
	check_list(&h.from);
	check_list(&h.to);
	check_list(&h.cc);
	check_text(h.subject);
	check_text(h.message_id);
	check_text(h.first_from);
	check_text(h.first_to);
	check_text(h.first_cc);
	check_hms(h.first_from);
	check_hms(h.first_to);
	check_hms(h.first_cc);
	REQUIRE(!h.subject || h.subject[0] != '\0');
	REQUIRE(!h.message_id || h.message_id[0] != '\0');
	/* the front binary's messagefrom, read without GMime, is GMime's
	   path's wherever it answers */
	char plain[256], full[256];
	int rc = ms_first_from_plain(data, size, plain, sizeof plain, &e);
	REQUIRE(rc >= 0 || e.code == MS_E_NOMEM);
	if (rc == 1 && ms_hms_first_address(h.first_from, full, sizeof full, &e) >= 0)
		REQUIRE(strcmp(plain, full) == 0);
	ms_headers_free(&h);
}

static void fuzz_address_value(const char *data, size_t size)
{
	char *value = malloc(size + 1);
	if (!value)
		return;
	memcpy(value, data, size);
	value[size] = '\0';
	ms_address_list l;
	ms_err e = { 0 };
	if (ms_address_list_parse(value, &l, &e) == 0) {
		check_list(&l);
		ms_address_list_free(&l);
	}
	check_hms(value);
	free(value);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ms_header_global_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_message((const char *)data, size);
	fuzz_address_value((const char *)data, size);
	return 0;
}
