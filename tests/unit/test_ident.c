/* test_ident.c - channel/ident.h: mailsync's Message-ID sanitizing, the
 * content digest of messages without one, md5 mode, msinfo lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

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
		cmocka_unit_test(test_digest), cmocka_unit_test(test_md5), cmocka_unit_test(test_msinfo_lines),
		cmocka_unit_test(test_of_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
