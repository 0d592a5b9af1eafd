/* test_address.c - address-list header values: plain lists, display names
 * with RFC 2047 encoded words (good and broken), groups, comments, quoted
 * local parts, IDN domains, and what gets dropped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "message/header.h"

static ms_address_list parse(const char *value)
{
	ms_address_list l;
	ms_err e = { 0 };
	assert_int_equal(ms_address_list_parse(value, &l, &e), 0);
	return l;
}

/* Entry i of `l` has this display name (NULL: none) and address. */
static void check(const ms_address_list *l, size_t i, const char *name, const char *addr)
{
	assert_true(i < l->n);
	if (name)
		assert_non_null(l->v[i].name);
	if (name)
		assert_string_equal(l->v[i].name, name);
	else
		assert_null(l->v[i].name);
	assert_string_equal(l->v[i].addr, addr);
}

static void test_simple_list(void **state)
{
	(void)state;
	ms_address_list l = parse("a@x.org, \"Bob B\" <b@y.org>,Carol <carol@z.example>");
	assert_int_equal(l.n, 3);
	check(&l, 0, NULL, "a@x.org");
	check(&l, 1, "Bob B", "b@y.org");
	check(&l, 2, "Carol", "carol@z.example");
	ms_address_list_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

static void test_null_and_empty(void **state)
{
	(void)state;
	ms_address_list l = parse(NULL);
	assert_int_equal(l.n, 0);
	ms_address_list_free(&l);
	l = parse("");
	assert_int_equal(l.n, 0);
	ms_address_list_free(&l);
	l = parse("   \t ");
	assert_int_equal(l.n, 0);
	ms_address_list_free(&l);
}

static void test_rfc2047_base64_utf8(void **state)
{
	(void)state;
	ms_address_list l = parse("=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <joerg@example.de>");
	assert_int_equal(l.n, 1);
	check(&l, 0, "J\xc3\xb6rg M\xc3\xbcller", "joerg@example.de");
	ms_address_list_free(&l);
}

static void test_rfc2047_q_latin1(void **state)
{
	(void)state;
	ms_address_list l = parse("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>");
	assert_int_equal(l.n, 1);
	check(&l, 0, "Andr\xc3\xa9 Pirard", "PIRARD@vm1.ulg.ac.be");
	ms_address_list_free(&l);
}

/* Broken encoded words never lose the address; the name is whatever GMime
 * makes of them, always valid UTF-8. */
static void test_rfc2047_broken(void **state)
{
	(void)state;
	ms_address_list l = parse("=?UTF-8?B?broken <c@x.org>, =?UTF-8?X?abc?= <d@x.org>, "
	                          "=?utf-8?q?=FF=FE?= <e@x.org>");
	assert_int_equal(l.n, 3);
	check(&l, 0, "=?UTF-8?B?broken", "c@x.org");      /* unterminated: kept as text */
	check(&l, 1, "=?UTF-8?X?abc?=", "d@x.org");       /* unknown encoding: kept as text */
	assert_string_equal(l.v[2].addr, "e@x.org");       /* invalid UTF-8 inside */
	assert_non_null(l.v[2].name);
	ms_address_list_free(&l);
}

/* 8-bit bytes that are not UTF-8 in a display name come out as UTF-8. */
static void test_raw_latin1_name(void **state)
{
	(void)state;
	ms_address_list l = parse("Andr\xe9 <a@x.org>");
	assert_int_equal(l.n, 1);
	check(&l, 0, "Andr\xc3\xa9", "a@x.org");
	ms_address_list_free(&l);
}

static void test_empty_group(void **state)
{
	(void)state;
	ms_address_list l = parse("undisclosed-recipients:;");
	assert_int_equal(l.n, 0);
	ms_address_list_free(&l);
	l = parse("undisclosed recipients: ;");
	assert_int_equal(l.n, 0);
	ms_address_list_free(&l);
}

static void test_group_flattened(void **state)
{
	(void)state;
	ms_address_list l = parse("team: a@x.org, Bea <b@y.org>;, c@z.org");
	assert_int_equal(l.n, 3);
	check(&l, 0, NULL, "a@x.org");
	check(&l, 1, "Bea", "b@y.org");
	check(&l, 2, NULL, "c@z.org");
	ms_address_list_free(&l);
}

static void test_comment_as_name(void **state)
{
	(void)state;
	ms_address_list l = parse("a@x.org (Alice)");
	assert_int_equal(l.n, 1);
	check(&l, 0, "Alice", "a@x.org");
	ms_address_list_free(&l);
	/* A comment after an angle address is not a name. */
	l = parse("<b@y.org> (ignored)");
	assert_int_equal(l.n, 1);
	check(&l, 0, NULL, "b@y.org");
	ms_address_list_free(&l);
}

/* An unterminated comment runs to the end of the value (and GMime 3.2.13,
 * which leaks on it, never sees one: the leak checker watches this). */
static void test_unterminated_comment(void **state)
{
	(void)state;
	ms_address_list l = parse("a@x.org (Alice");
	assert_int_equal(l.n, 1);
	check(&l, 0, "Alice", "a@x.org");
	ms_address_list_free(&l);
	l = parse("a@x.org (Al(ice) b@y.org");
	assert_int_equal(l.n, 1);
	check(&l, 0, "Al(ice) b@y.org", "a@x.org");
	ms_address_list_free(&l);
	l = parse("anonymous@[127.0.0.1](ix x");
	assert_int_equal(l.n, 1);
	check(&l, 0, "ix x", "anonymous@[127.0.0.1]");
	ms_address_list_free(&l);
	l = parse("a@x.org (Alice\\");
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].addr, "a@x.org");
	ms_address_list_free(&l);
	/* a '(' inside a quoted name is no comment; the result is unchanged */
	l = parse("\"a(b\" <x@y.org>, c@d.org");
	assert_int_equal(l.n, 2);
	check(&l, 0, "a(b", "x@y.org");
	check(&l, 1, NULL, "c@d.org");
	ms_address_list_free(&l);
}

static void test_quoted_local_part(void **state)
{
	(void)state;
	ms_address_list l = parse("\"john doe\"@example.com, \"Quoted \\\"Q\\\"\" <q@example.com>");
	assert_int_equal(l.n, 2);
	check(&l, 0, NULL, "\"john doe\"@example.com");
	check(&l, 1, "Quoted \"Q\"", "q@example.com");
	ms_address_list_free(&l);
}

/* IDN domains stay as written: punycode as punycode, UTF-8 as UTF-8. */
static void test_idn_left_as_written(void **state)
{
	(void)state;
	ms_address_list l = parse("user@xn--bcher-kva.example, a@mail.xn--bcher-kva.ch, "
	                          "B\xc3\xbc <u@b\xc3\xbc" "cher.example>, x@XN--BCHER-KVA.example");
	assert_int_equal(l.n, 4);
	check(&l, 0, NULL, "user@xn--bcher-kva.example");
	check(&l, 1, NULL, "a@mail.xn--bcher-kva.ch");
	check(&l, 2, "B\xc3\xbc", "u@b\xc3\xbc" "cher.example");
	check(&l, 3, NULL, "x@XN--BCHER-KVA.example");
	ms_address_list_free(&l);
}

static void test_without_at_dropped(void **state)
{
	(void)state;
	ms_address_list l = parse("nobody, real@x.org, Some Name <localonly>, @x.org, a@, <>");
	assert_int_equal(l.n, 1);
	check(&l, 0, NULL, "real@x.org");
	ms_address_list_free(&l);
	l = parse("nobody");
	assert_int_equal(l.n, 0);
	ms_address_list_free(&l);
}

static void test_folded_value(void **state)
{
	(void)state;
	ms_address_list l = parse(" leads@sg.dc.com,\r\n\t sag@leads.gs.ry.com,\r\n\t\r\n\tcc@c-l-example.com");
	assert_int_equal(l.n, 3);
	check(&l, 0, NULL, "leads@sg.dc.com");
	check(&l, 1, NULL, "sag@leads.gs.ry.com");
	check(&l, 2, NULL, "cc@c-l-example.com");
	ms_address_list_free(&l);
}

/* Many addresses: the list grows past its first allocations intact. */
static void test_many_addresses(void **state)
{
	(void)state;
	size_t n = 1000;
	char *buf = malloc(n * 32);
	assert_non_null(buf);
	size_t off = 0;
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(buf + off, "%su%zu@d%zu.example", i ? ", " : "", i, i % 7);
	ms_address_list l = parse(buf);
	assert_int_equal(l.n, n);
	check(&l, 0, NULL, "u0@d0.example");
	check(&l, 999, NULL, "u999@d5.example");
	ms_address_list_free(&l);
	free(buf);
}

static char *repeat(const char *unit, size_t times, const char *tail)
{
	size_t ulen = strlen(unit), tlen = strlen(tail);
	char *s = malloc(ulen * times + tlen + 1);
	if (!s)
		abort();
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * ulen, unit, ulen);
	memcpy(s + ulen * times, tail, tlen + 1);
	return s;
}

/* "a: a: a: ..." nests groups in GMime by recursion; thousands of them
 * must not overflow the stack. */
static void test_deeply_nested_groups(void **state)
{
	(void)state;
	alarm(60); /* linear time, as in test_long_run_of_bare_names */
	char *value = repeat("a: ", 100000, "x@y.org");
	ms_address_list l = parse(value);
	assert_int_equal(l.n, 1);
	check(&l, 0, NULL, "x@y.org");
	ms_address_list_free(&l);
	free(value);
	/* the same in a value short enough to be parsed in one piece (under
	 * 4 KiB): the address inside is still found */
	value = repeat("a:", 1500, "x@y.org");
	l = parse(value);
	assert_int_equal(l.n, 1);
	check(&l, 0, NULL, "x@y.org");
	ms_address_list_free(&l);
	free(value);
	/* a few nested groups are still read as groups */
	l = parse("outer: inner: a@x.org;, b@y.org;, c@z.org");
	assert_int_equal(l.n, 3);
	check(&l, 0, NULL, "a@x.org");
	check(&l, 2, NULL, "c@z.org");
	ms_address_list_free(&l);
	alarm(0);
}

/* A megabyte of bare names: GMime's loose parser alone takes minutes on
 * it (it rescans to the end after every name it cannot read). */
static void test_long_run_of_bare_names(void **state)
{
	(void)state;
	/* Linear time: this takes well under a second; quadratic parsing took
	 * minutes.  The alarm turns "minutes" into a failure. */
	alarm(60);
	char *value = repeat("name, ", 200000, "last@x.org, \"unterminated, a, b");
	ms_address_list l = parse(value);
	assert_int_equal(l.n, 1);
	check(&l, 0, NULL, "last@x.org");
	ms_address_list_free(&l);
	free(value);
	/* a long quoted string full of commas, then junk */
	value = repeat("a,", 100000, "\" x, real@x.org");
	value[0] = '"';
	l = parse(value);
	assert_int_equal(l.n, 1);
	check(&l, 0, NULL, "real@x.org");
	ms_address_list_free(&l);
	free(value);
	alarm(0);
}

/* Long lists (mailing lists) are parsed item by item: every form still
 * comes out as it does in a short list. */
static void test_long_list_same_as_short(void **state)
{
	(void)state;
	const char *unit = "\"Doe, John\" <john@x.org>, team: a@x.org, \"B b\" <b@y.org>;, "
	                   "c@z.org (Carol, C.), =?UTF-8?B?SsO2cmc=?= <j@x.de>, ";
	ms_address_list short_list = parse(unit);
	assert_int_equal(short_list.n, 5);
	check(&short_list, 0, "Doe, John", "john@x.org");
	check(&short_list, 3, "Carol, C.", "c@z.org");
	check(&short_list, 4, "J\xc3\xb6rg", "j@x.de");
	char *value = repeat(unit, 200, "");
	assert_true(strlen(value) > 16 * 1024);
	ms_address_list l = parse(value);
	assert_int_equal(l.n, 5 * 200);
	for (size_t i = 0; i < l.n; i++) {
		const ms_address *want = &short_list.v[i % 5];
		check(&l, i, want->name, want->addr);
	}
	ms_address_list_free(&l);
	ms_address_list_free(&short_list);
	free(value);
	/* addresses without commas between them, as GMime reads them in a
	 * short value */
	l = parse("u@x.org w@y.org");
	assert_int_equal(l.n, 2);
	ms_address_list_free(&l);
	value = repeat("u@x.org w@y.org ", 20000, "");
	l = parse(value);
	assert_int_equal(l.n, 40000);
	check(&l, 0, NULL, "u@x.org");
	check(&l, 39999, NULL, "w@y.org");
	ms_address_list_free(&l);
	free(value);
}

static void test_garbage(void **state)
{
	(void)state;
	const char *inputs[] = { "<<<>>>", ",,,,", "\"unterminated <a@x.org>", "(((", "a@b@c.org",
	                         ":;:;:;", "=?=?=?", "\x01\x02\xff\xfe" };
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		ms_address_list l = parse(inputs[i]);
		for (size_t j = 0; j < l.n; j++)
			assert_non_null(strchr(l.v[j].addr, '@'));
		ms_address_list_free(&l);
	}
}

/* ---- hMailServer's address-list rules (ms_hms_address_each) ------------- */

static int join_entry(void *ctx, const char *address, ms_err *e)
{
	(void)e;
	char *out = ctx;
	size_t n = strlen(out);
	snprintf(out + n, 4096 - n, "%s%s", n ? "|" : "", address);
	return 0;
}

/* The entries of `value` as hMailServer reads them, joined with '|'. */
static const char *hms(const char *value)
{
	static char out[4096];
	ms_err e = { 0 };
	out[0] = '\0';
	assert_int_equal(ms_hms_address_each(value, join_entry, out, &e), 0);
	return out;
}

/* The cases of hMailServer's own AddresslistParserTester, as entries. */
static void test_hms_parser_own_cases(void **state)
{
	(void)state;
	assert_string_equal(hms("@"), "@");
	assert_string_equal(hms("test@example.com"), "test@example.com");
	assert_string_equal(hms("<martin@example.com>"), "martin@example.com");
	assert_string_equal(hms("\"servizio@example.it\"<servizio@example.it>"), "servizio@example.it");
	assert_string_equal(hms("\"Martin Knafve\" <martin@test.com>"), "martin@test.com");
	assert_string_equal(hms("Martin Knafve <test@domain.com>"), "test@domain.com");
	assert_string_equal(hms("\"fdsa\\\"\" <test@test.com>"), "test@test.com");
	assert_string_equal(hms("Daniel <Daniel_SE@example.com>"), "Daniel_SE@example.com");
	assert_string_equal(hms("\"Martin Knafve\" <martin@test.com>,   \"Test2 Testar\" <testa@testy.com>"),
	                    "martin@test.com|testa@testy.com");
	assert_string_equal(hms("\"Martin Knafve\" <martin@test.com>, \r\n  \"Test2 Testar\" <testa@testy.com>"),
	                    "martin@test.com|testa@testy.com");
	assert_string_equal(hms("The Honor Society of Phi Kappa Phi <webmaster@phiphi.org>"), "webmaster@phiphi.org");
	assert_string_equal(hms("<test@test.com>, \"Martin Knafve\" <martin@halvar.com>, \r\n"
	                        "\"Martin Knafve\", test@test.com, Kalle"),
	                    "test@test.com|martin@halvar.com|@|test@test.com|@");
}

/* No groups, no comments: what RFC 5322 reads as addresses, hMailServer
 * reads as pieces that are no address ("@"). */
static void test_hms_parser_no_groups_no_comments(void **state)
{
	(void)state;
	assert_string_equal(hms("Team: a@x.org, b@x.org;"), "@|@");
	assert_string_equal(hms("Team:a@x.org"), "Team:a@x.org"); /* a valid address by its rule */
	assert_string_equal(hms("undisclosed-recipients:;"), "@");
	assert_string_equal(hms("a@x.org (Ann)"), "@");
	assert_string_equal(hms("(Ann) a@x.org"), "@");
	assert_string_equal(hms("Ann (x) <a@x.org>"), "a@x.org");
}

static void test_hms_parser_pieces(void **state)
{
	(void)state;
	assert_string_equal(hms(NULL), "");
	assert_string_equal(hms(""), "");
	assert_string_equal(hms("   "), "@");                      /* one empty piece */
	assert_string_equal(hms("a@x.org,"), "a@x.org");            /* nothing after the last comma */
	assert_string_equal(hms(",a@x.org"), "@|a@x.org");
	assert_string_equal(hms("a@x.org,,b@y.org"), "a@x.org|@|b@y.org");
	assert_string_equal(hms("\"Doe, Jane\" <jane@x.org>"), "jane@x.org");
	assert_string_equal(hms("\"a\\\",\" <b@x.org>, c@y.org"), "b@x.org|c@y.org"); /* escaped quote */
	assert_string_equal(hms("Doe, Jane <jane@x.org>"), "@|jane@x.org");
	assert_string_equal(hms("x <y <a@x.org>"), "a@x.org");      /* the last '<' before the first '>' */
	assert_string_equal(hms("a > b <c@x.org>"), "@");           /* a '>' first: nothing in <...> */
	assert_string_equal(hms("<a@b@c.org>"), "a@b@c.org");       /* the last '@' divides */
}

/* "From: MAILER-DAEMON" and friends: hMailServer's messagefrom. */
static void test_hms_parser_no_address(void **state)
{
	(void)state;
	assert_string_equal(hms("MAILER-DAEMON"), "@");
	assert_string_equal(hms("Some Name"), "@");
	assert_string_equal(hms("<>"), "@");
	assert_string_equal(hms("Name <>"), "@");
	assert_string_equal(hms("<MAILER-DAEMON>"), "@MAILER-DAEMON"); /* no '@': all of it is the domain */
	assert_string_equal(hms("a@x.org <>"), "a@x.org");            /* the name is a valid address */
	assert_string_equal(hms("\"a@x.org\""), "a@x.org");
	assert_string_equal(hms("\"Ann\" a@x.org"), "@");              /* the quoted name is not an address */
	assert_string_equal(hms("a@x.org\\"), "@");
}

/* StringParser::IsValidEmailAddress, for pieces without <...>. */
static void test_hms_parser_validity(void **state)
{
	(void)state;
	assert_string_equal(hms("a b@x.org"), "@");
	/* a quoted local part is taken for a display name, "a b", and that is
	 * no address */
	assert_string_equal(hms("\"a b\"@x.org"), "@");
	assert_string_equal(hms("<\"a b\"@x.org>"), "\"a b\"@x.org");
	assert_string_equal(hms("va'ff@test.co.uk"), "va'ff@test.co.uk");
	assert_string_equal(hms("test@"), "@");
	assert_string_equal(hms("@x.org"), "@");
	assert_string_equal(hms("a@x"), "a@x");
	assert_string_equal(hms("a@-x.org"), "@");
	assert_string_equal(hms("a@x-.org"), "@");
	assert_string_equal(hms("a@x_y.org"), "@");
	assert_string_equal(hms("a@x..org"), "@");
	assert_string_equal(hms("a@[192.0.2.1]"), "a@[192.0.2.1]");
	assert_string_equal(hms("a@[192.0.2]"), "@");
	assert_string_equal(hms("j\xc3\xb6hn@x.org"), "j\xc3\xb6hn@x.org");   /* any character in the local part */
	assert_string_equal(hms("a@b\xc3\xbc" "cher.de"), "@");                /* ASCII domains only */
	assert_string_equal(hms("<a@b\xc3\xbc" "cher.de>"), "a@b\xc3\xbc" "cher.de"); /* <...> is not checked */
	char label[80];
	snprintf(label, sizeof label, "a@%063d.org", 0);
	assert_string_equal(hms(label), label);
	snprintf(label, sizeof label, "a@%064d.org", 0);
	assert_string_equal(hms(label), "@");
}

/* At most 254 characters, counted as UTF-16 counts them. */
static void test_hms_parser_length(void **state)
{
	(void)state;
	char v[1024];
	memset(v, 'a', 248);
	strcpy(v + 248, "@x.org"); /* 254 */
	assert_string_equal(hms(v), v);
	memset(v, 'a', 249);
	strcpy(v + 249, "@x.org"); /* 255 */
	assert_string_equal(hms(v), "@");
	size_t n = 0;
	for (int i = 0; i < 248; i++) { /* 248 characters of two bytes: 254 characters, 502 bytes */
		v[n++] = '\xc3';
		v[n++] = '\xa9';
	}
	strcpy(v + n, "@x.org");
	assert_string_equal(hms(v), v);
	n = 0;
	for (int i = 0; i < 124; i++) { /* outside the BMP: two UTF-16 units each, 248 in all */
		memcpy(v + n, "\xf0\x9f\x98\x80", 4);
		n += 4;
	}
	strcpy(v + n, "a@x.org"); /* 255 */
	assert_string_equal(hms(v), "@");
}

static int stop_at_first(void *ctx, const char *address, ms_err *e)
{
	(void)e;
	(*(int *)ctx)++;
	(void)address;
	return 1;
}

static void test_hms_first_address(void **state)
{
	(void)state;
	char out[256];
	ms_err e = { 0 };
	assert_int_equal(ms_hms_first_address("MAILER-DAEMON", out, sizeof out, &e), 1);
	assert_string_equal(out, "@");
	assert_int_equal(ms_hms_first_address("\"X\" <x@y.org>, z@y.org", out, sizeof out, &e), 1);
	assert_string_equal(out, "x@y.org");
	assert_int_equal(ms_hms_first_address(NULL, out, sizeof out, &e), 0);
	assert_string_equal(out, "");
	assert_int_equal(ms_hms_first_address("", out, sizeof out, &e), 0);
	assert_string_equal(out, "");
	char small[8];
	assert_int_equal(ms_hms_first_address("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9@x.org", small, sizeof small, &e), 1);
	assert_string_equal(small, "\xc3\xa9\xc3\xa9\xc3\xa9"); /* cut on a character boundary */
	int calls = 0;
	assert_int_equal(ms_hms_address_each("a@x.org, b@x.org, c@x.org", stop_at_first, &calls, &e), 0);
	assert_int_equal(calls, 1);
}

/* A value of a million commas costs linear time and gives what
 * hMailServer's splitter gives: it stops cutting after 1,000,000
 * characters and the rest is one piece. */
static int count_entry(void *ctx, const char *address, ms_err *e)
{
	(void)e;
	(void)address;
	(*(size_t *)ctx)++;
	return 0;
}

static void test_hms_parser_long_value(void **state)
{
	(void)state;
	size_t len = 1500000;
	char *v = malloc(len + 1);
	assert_non_null(v);
	memset(v, ',', len);
	v[len] = '\0';
	size_t n = 0;
	ms_err e = { 0 };
	assert_int_equal(ms_hms_address_each(v, count_entry, &n, &e), 0);
	assert_int_equal(n, 1000000 + 1);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_list),
		cmocka_unit_test(test_null_and_empty),
		cmocka_unit_test(test_rfc2047_base64_utf8),
		cmocka_unit_test(test_rfc2047_q_latin1),
		cmocka_unit_test(test_rfc2047_broken),
		cmocka_unit_test(test_raw_latin1_name),
		cmocka_unit_test(test_empty_group),
		cmocka_unit_test(test_group_flattened),
		cmocka_unit_test(test_comment_as_name),
		cmocka_unit_test(test_unterminated_comment),
		cmocka_unit_test(test_quoted_local_part),
		cmocka_unit_test(test_idn_left_as_written),
		cmocka_unit_test(test_without_at_dropped),
		cmocka_unit_test(test_folded_value),
		cmocka_unit_test(test_many_addresses),
		cmocka_unit_test(test_deeply_nested_groups),
		cmocka_unit_test(test_long_run_of_bare_names),
		cmocka_unit_test(test_long_list_same_as_short),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_hms_parser_own_cases),
		cmocka_unit_test(test_hms_parser_no_groups_no_comments),
		cmocka_unit_test(test_hms_parser_pieces),
		cmocka_unit_test(test_hms_parser_no_address),
		cmocka_unit_test(test_hms_parser_validity),
		cmocka_unit_test(test_hms_parser_length),
		cmocka_unit_test(test_hms_first_address),
		cmocka_unit_test(test_hms_parser_long_value),
	};
	ms_header_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
