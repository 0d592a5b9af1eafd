/* test_ident.c - channel/ident.h: mailsync's Message-ID sanitizing, the
 * content digest of messages without one, md5 mode, msinfo lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/ident.h"

static void check(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_sanitize_as_mailsync(void **state)
{
	check(ms_ident_sanitize("<a@b>"), "<a@b>");
	check(ms_ident_sanitize("a@b"), "<a@b>");            /* brackets added */
	check(ms_ident_sanitize("<a b\tc@d>"), "<a.b.c@d>"); /* blanks become dots */
	check(ms_ident_sanitize("<a@b> (comment) x"), "<a@b>");  /* cut after the first '>' */
	check(ms_ident_sanitize("<a@b"), "<a@b>");           /* '>' appended */
	check(ms_ident_sanitize(" <a@b>"), "<a@b>");         /* LF-folded header's space */
	check(ms_ident_sanitize("<a\x01@b>"), "<a.@b>");     /* control characters */
	check(ms_ident_sanitize(""), "<>");
	check(ms_ident_sanitize(NULL), "<>");
	check(ms_ident_sanitize("<>"), "<>");
	/* only what is before the first '>' is cleaned */
	check(ms_ident_sanitize("<x>y z"), "<x>");
}

static void test_from_driver_msgid(void **state)
{
	check(ms_ident_from_msgid("abc@example.com"), "<abc@example.com>");
	check(ms_ident_from_msgid("a b@c"), "<a.b@c>");
	check(ms_ident_from_msgid("<already@x>"), "<already@x>");
	assert_null(ms_ident_from_msgid(NULL));
	assert_null(ms_ident_from_msgid(""));
	assert_null(ms_ident_from_msgid("<>"));
}

static void test_digest(void **state)
{
	const char lf[] = "Subject: x\n\nbody\n", crlf[] = "Subject: x\r\n\r\nbody\r\n", other[] = "Subject: x\n\nbodY\n";
	char *a = ms_ident_digest(lf, strlen(lf)), *b = ms_ident_digest(crlf, strlen(crlf)),
	     *c = ms_ident_digest(other, strlen(other));
	assert_int_equal(strncmp(a, "sha256:", 7), 0);
	assert_int_equal(strlen(a), 7 + 64);
	assert_string_equal(a, b);          /* CRLF reads as LF */
	assert_string_not_equal(a, c);      /* one byte of the body differs */
	assert_true(ms_ident_is_digest(a));
	/* never equal to a Message-ID's identity: those start with '<' */
	char *m = ms_ident_from_msgid(a);
	assert_false(ms_ident_is_digest(m));
	assert_string_not_equal(m, a);
	/* a lone CR is content, not a line end */
	const char cr[] = "x\ry", nocr[] = "xy";
	char *d = ms_ident_digest(cr, 3), *e = ms_ident_digest(nocr, 2);
	assert_string_not_equal(d, e);
	free(a), free(b), free(c), free(m), free(d), free(e);
}

static void test_md5(void **state)
{
	const char m1[] = "From: Ann <ann@example.com>\nTo: bob@example.com\nSubject: hi\nDate: Mon, 1 Jan 2024 "
	                  "10:00:00 +0000\nMessage-ID: <1@x>\n\nbody one\n";
	const char m2[] = "From: \"Ann A.\" <ann@example.com>\nTo: Bob <bob@example.com>\nSubject: hi\nDate: Mon, 1 "
	                  "Jan 2024 10:00:00 +0000\nMessage-ID: <1@x>\n\nanother body\n";
	const char m3[] = "From: ann@example.com\nSubject: hi!\n\nbody\n";
	char *a = ms_ident_md5(m1, strlen(m1)), *b = ms_ident_md5(m2, strlen(m2)), *c = ms_ident_md5(m3, strlen(m3));
	assert_int_equal(strncmp(a, "md5:", 4), 0);
	assert_int_equal(strlen(a), 4 + 32);
	/* display names and bodies do not count, as in mailsync */
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	/* no header field at all: the content digest */
	const char bare[] = "\nonly a body\n";
	char *d = ms_ident_md5(bare, strlen(bare));
	assert_int_equal(strncmp(d, "sha256:", 7), 0);
	free(a), free(b), free(c), free(d);
}

/* The identity the engine computes from a message's bytes (for a message
 * the listing did not read) is the one the listing's Message-ID gives, so
 * a message is the same whichever way it was identified. */
static void test_of_message(void **state)
{
	const char m[] = "Subject: x\r\nMessage-ID: <a b@c>\r\n\r\nbody\r\n";
	char *listed = ms_ident_from_msgid("a b@c");
	check(ms_ident_of_message(MS_IDENT_MSGID, m, strlen(m)), listed);
	free(listed);
	const char noid[] = "Subject: no id\n\nbody\n";
	char *digest = ms_ident_digest(noid, strlen(noid));
	check(ms_ident_of_message(MS_IDENT_MSGID, noid, strlen(noid)), digest);
	free(digest);
	const char empty[] = "Message-ID: <>\n\nbody\n";
	digest = ms_ident_digest(empty, strlen(empty));
	check(ms_ident_of_message(MS_IDENT_MSGID, empty, strlen(empty)), digest);
	free(digest);
	char *md5 = ms_ident_md5(m, strlen(m));
	check(ms_ident_of_message(MS_IDENT_MD5, m, strlen(m)), md5);
	free(md5);
}

/* What the real mailsync records.  Each message below was put alone in an
 * mbox of its own (after a "From " line) and synchronized by mailsync
 * 5.2.7 (Debian 12, c-client 2007f) with `-t md5` to an empty store; the
 * value is the one its msinfo holds for that box ("<>, md5: <HEX>").  The
 * comment says what each case shows of c-client's envelope. */
static const struct {
	const char *msg, *md5;
} mailsync_md5[] = {
	/* plain: Date, Subject, Message-ID, then From and To as local@domain */
	{ "Date: Mon, 5 Jan 2026 10:00:00 +0000\nSubject: Hello there\nMessage-ID: <m1@example.com>\nFrom: Ann Example "
	  "<ann@example.com>\nTo: bob@example.org, \"Carl C\" <carl@example.net>\n\nbody1\n",
	  "03aa364aa451f687f44fdc382561c5cf" },
	/* folding: the line break goes, a tab becomes a space; a value that
	   begins on the next line loses its leading blank */
	{ "Date: Mon, 5 Jan 2026 10:00:00 +0000\nSubject: folded\n\tsubject line\nMessage-ID:\n <m2@example.com>\nFrom: "
	  "ann@example.com\nTo: bob@example.org\n\nbody\n",
	  "f36301a8a12378bdf59164d97c4d5b67" },
	/* nothing decoded, comments kept in Date; a group with no member adds nothing */
	{ "Date: Mon, 5 Jan 2026 10:00:00 +0000 (UTC)\nSubject: =?utf-8?q?caf=C3=A9?=\nMessage-ID: <m3@example.com>\nFrom: "
	  "Ann (the boss) <ann@example.com>\nTo: undisclosed-recipients:;\n\nbody\n",
	  "7d218a2a424618545088baa15ee50769" },
	/* no Date, no Message-ID; an address without a domain gets c-client's
	   ".MISSING-HOST-NAME.", quoted */
	{ "Subject: no date, no id\nFrom: ann\nTo: bob@example.org\n\nbody\n", "47ba7eccbb7c1c7ca6d4c3b45620eee1" },
	/* names in any case, fields in any order, trailing blanks kept */
	{ "SUBJECT:   spaces  \nmessage-id: <m5@example.com>\nfrom: ann@example.com\nto: bob@example.org\nDate:Mon, 5 Jan "
	  "2026 10:00:00 +0000\n\nbody\n",
	  "f58e27de36399288901c8cc8d268781e" },
	/* the first Subject; a quoted local part stays quoted; a group's members count */
	{ "Date: Mon, 5 Jan 2026 10:00:00 +0000\nSubject: first\nSubject: second\nMessage-ID: <m6@example.com>\nFrom: \"a "
	  "b\"@example.com\nTo: team: x@example.com, y@example.com;, z@example.com\n\nbody\n",
	  "4d1931d54c0bb4ee0d4050450bc87dbc" },
	/* CRLF line ends */
	{ "Subject: crlf\r\nMessage-ID: <m7@example.com>\r\nFrom: ann@example.com\r\nTo: bob@example.org\r\nDate: Mon, 5 Jan "
	  "2026 10:00:00 +0000\r\n\r\nbody\r\n",
	  "84a02cf6f13260bedde3668bbd986290" },
	/* a source route is dropped, case kept, Cc does not count */
	{ "Date: Mon, 5 Jan 2026 10:00:00 +0000\nSubject: route\nMessage-ID: <m9@example.com>\nFrom: "
	  "<@relay.example:ann@example.com>\nTo: Bob <BOB@Example.ORG>\nCc: cc@example.com\n\nbody\n",
	  "ade5f708bec72283bf0919dfbb2c1987" },
	/* 8-bit bytes as they are; a Message-ID without brackets as it is */
	{ "Date: Mon, 5 Jan 2026 10:00:00 +0000\nSubject: 8bit caf\xc3\xa9 \xe9\nMessage-ID: m10@example.com\nFrom: "
	  "=?utf-8?q?Ann?= <ann@example.com>\nTo: bob@example.org\n\nbody\n",
	  "66086615401b992194542cfb21450006" },
	/* a tab after the colon skipped, a continuation's blanks kept, tabs as spaces */
	{ "Date:\tMon, 5 Jan 2026 10:00:00 +0000  \nSubject: a\n   b\n\t\tc\nMessage-ID: <m11@example.com>\nFrom: "
	  "ann@example.com\nTo: bob@example.org\n\nbody\n",
	  "d7a34a50e31651fd0709da7c9334dcc7" },
	/* an empty Subject */
	{ "Date: Mon, 5 Jan 2026 10:00:00 +0000\nSubject:\nMessage-ID: <m12@example.com>\nFrom: ann@example.com\nTo: "
	  "bob@example.org\n\nbody\n",
	  "567d45acd50648db59ab05c88c255047" },
	/* a tab inside a value; display names with commas or encoded words; a
	   repeated To adds its addresses */
	{ "Date: d\nSubject: a\tb \t\nMessage-ID: <m15@example.com>\nFrom: \"Ann, X\" <ann@example.com>, =?utf-8?b?w6k=?= "
	  "<e@example.com>\nTo: bob@example.org (Bob)\nTo: second@example.org\n\nbody\n",
	  "a21420abe17d6d5f5674223c0abe53ca" },
	/* an LF-folded Message-ID in a CRLF message */
	{ "Date: d\r\nSubject: s\r\nMessage-ID:\n <m16@example.com>\r\nFrom: ann@example.com\r\nTo: bob@example.org\r\n\r\nbody\r\n",
	  "289fa43b77da400e1f1f94da184b01c4" },
	/* blanks before the colon; X-Subject is another field */
	{ "Date: d\nSubject : spaced name\nX-Subject: not this\nMessage-ID: <m17@example.com>\nFrom: ann@example.com\nTo: "
	  "bob@example.org\n\nbody\n",
	  "ad0a1cb8a838c5817472d0e50f735561" },
	/* <bob> without a domain; c-client's quoting of a domain literal and of
	   local parts with a quote or a leading dot */
	{ "Date: d\nSubject: s\nMessage-ID: <m18@example.com>\nFrom: Ann <ann@example.com>\nTo: Bob <bob>, Lit "
	  "<bob@[192.0.2.1]>, \"q\\\"x\"@example.org, \".dot\"@example.org\n\nbody\n",
	  "0bc355e90d5ceb6f59b3e2a7f01b4ae0" },
};

static void test_md5_as_mailsync(void **state)
{
	(void)state;
	int wrong = 0;
	for (size_t i = 0; i < sizeof mailsync_md5 / sizeof mailsync_md5[0]; i++) {
		char *got = ms_ident_md5(mailsync_md5[i].msg, strlen(mailsync_md5[i].msg));
		char want[40];
		snprintf(want, sizeof want, "md5:%s", mailsync_md5[i].md5);
		if (!got || strcmp(got, want) != 0) {
			print_error("case %zu: %s, mailsync has %s\n", i, got ? got : "(null)", want);
			wrong++;
		}
		free(got);
	}
	assert_int_equal(wrong, 0);
	/* none of the five fields (mailsync: "no msg-id", never synchronized): the content digest */
	const char none[] = "X-Only: nothing\n\nbody\n";
	char *d = ms_ident_md5(none, strlen(none));
	assert_int_equal(strncmp(d, "sha256:", 7), 0);
	free(d);
}

static void test_msinfo_lines(void **state)
{
	check(ms_ident_from_msinfo("<a@b>"), "<a@b>");
	check(ms_ident_from_msinfo("<>, md5: <0123456789abcdef0123456789abcdef>"), "md5:0123456789abcdef0123456789abcdef");
	assert_null(ms_ident_from_msinfo("<>"));
	assert_null(ms_ident_from_msinfo("INBOX"));
	assert_null(ms_ident_from_msinfo(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize_as_mailsync), cmocka_unit_test(test_from_driver_msgid),
		cmocka_unit_test(test_digest), cmocka_unit_test(test_md5), cmocka_unit_test(test_md5_as_mailsync),
		cmocka_unit_test(test_msinfo_lines), cmocka_unit_test(test_of_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
