/* test_header.c - the header section reader and parser: fields and flags on
 * hand-made messages (LF and CRLF, folding, dates, encoded words, garbage,
 * size limits), reading files (no body reads, errors), and the real-world
 * corpus in ../shared/corpus/mail-gem-fixtures, also from several threads
 * at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "message/header.h"

/* ---- helpers ----------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		abort();
	return p;
}

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	                 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return timegm(&tm);
}

static ms_headers parse_mem(const char *buf, size_t len)
{
	ms_headers h;
	ms_err e = { 0 };
	assert_int_equal(ms_headers_parse(buf, len, &h, &e), 0);
	return h;
}

static ms_headers parse_str(const char *s)
{
	return parse_mem(s, strlen(s));
}

static void check_addr(const ms_address_list *l, size_t i, const char *name, const char *addr)
{
	assert_true(i < l->n);
	if (name) {
		assert_non_null(l->v[i].name);
		assert_string_equal(l->v[i].name, name);
	} else {
		assert_null(l->v[i].name);
	}
	assert_string_equal(l->v[i].addr, addr);
}

static char tmp_root[512];

static int make_tmp_root(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmp_root, sizeof tmp_root, "%s/mstore-header-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmp_root) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int remove_tmp_root(void **state)
{
	(void)state;
	return nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write `len` bytes to a new file under the temp root; returns its path
 * (static storage, overwritten by the next call). */
static const char *write_file(const char *name, const char *data, size_t len)
{
	static char path[600];
	snprintf(path, sizeof path, "%s/%s", tmp_root, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Replace every "\n" by "\r\n". */
static char *to_crlf(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += *p == '\n' ? 2 : 1;
	char *out = xmalloc(n + 1), *o = out;
	for (const char *p = s; *p; p++) {
		if (*p == '\n')
			*o++ = '\r';
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* ---- a well-formed message, LF and CRLF ----------------------------------- */

static const char simple_header[] =
	"Return-Path: <alice@example.org>\n"
	"Received: from mx.example.org by mail.example.net; Fri, 13 Feb 2009 23:31:35 +0000\n"
	"From: Alice Example <alice@example.org>\n"
	"To: bob@example.net, \"Carol C.\" <carol@example.net>\n"
	"Cc: dave@example.com\n"
	"Date: Sat, 14 Feb 2009 00:31:30 +0100\n"
	"Message-ID: <1234.5678@mail.example.org>\n"
	"Subject: Hello there\n"
	"\n";
static const char simple_body[] = "Body line one\n\nFrom: not-a-header@example.org\n";

static void check_simple(const ms_headers *h)
{
	assert_int_equal(h->flags, 0);
	assert_int_equal(h->from.n, 1);
	check_addr(&h->from, 0, "Alice Example", "alice@example.org");
	assert_int_equal(h->to.n, 2);
	check_addr(&h->to, 0, NULL, "bob@example.net");
	check_addr(&h->to, 1, "Carol C.", "carol@example.net");
	assert_int_equal(h->cc.n, 1);
	check_addr(&h->cc, 0, NULL, "dave@example.com");
	assert_true(h->date_valid);
	assert_int_equal(h->date, 1234567890);
	assert_true(h->received_valid);
	assert_int_equal(h->received, 1234567895);
	assert_string_equal(h->message_id, "1234.5678@mail.example.org");
	assert_string_equal(h->subject, "Hello there");
}

static void test_simple_lf(void **state)
{
	(void)state;
	char *msg = g_strconcat(simple_header, simple_body, NULL);
	ms_headers h = parse_str(msg);
	check_simple(&h);
	assert_int_equal(h.header_bytes, strlen(simple_header));
	ms_headers_free(&h);
	g_free(msg);
}

static void test_simple_crlf(void **state)
{
	(void)state;
	char *hdr = to_crlf(simple_header), *body = to_crlf(simple_body);
	char *msg = g_strconcat(hdr, body, NULL);
	ms_headers h = parse_str(msg);
	check_simple(&h);
	assert_int_equal(h.header_bytes, strlen(hdr));
	ms_headers_free(&h);
	/* ms_headers_free leaves a freed structure safe to free again */
	ms_headers_free(&h);
	g_free(msg);
	free(hdr);
	free(body);
}

static void test_folded_headers(void **state)
{
	(void)state;
	ms_headers h = parse_str("Received: from a.example\n"
	                         "\tby b.example with ESMTP id 42\n"
	                         "\tfor <x@b.example>;\n"
	                         "        Fri, 13 Feb 2009 23:31:30 +0000 (UTC)\n"
	                         "Subject: a long\n"
	                         " folded subject\n"
	                         "To: one@x.org,\n"
	                         "\ttwo@y.org,\n"
	                         "\t\n"
	                         "\tthree@z.org\n"
	                         "From:\n"
	                         " Folded Name\n"
	                         " <fn@x.org>\n"
	                         "\n");
	assert_int_equal(h.flags, 0);
	assert_true(h.received_valid);
	assert_int_equal(h.received, 1234567890);
	assert_string_equal(h.subject, "a long folded subject");
	assert_int_equal(h.to.n, 3);
	check_addr(&h.to, 0, NULL, "one@x.org");
	check_addr(&h.to, 1, NULL, "two@y.org");
	check_addr(&h.to, 2, NULL, "three@z.org");
	assert_int_equal(h.from.n, 1);
	check_addr(&h.from, 0, "Folded Name", "fn@x.org");
	ms_headers_free(&h);
}

/* ---- dates -------------------------------------------------------------------- */

static void test_first_received_wins(void **state)
{
	(void)state;
	ms_headers h = parse_str("Received: from c by d; Tue, 3 Mar 2015 10:00:00 +0000\n"
	                         "Received: from b by c; Mon, 2 Mar 2015 10:00:00 +0000\n"
	                         "Received: from a by b; Sun, 1 Mar 2015 10:00:00 +0000\n"
	                         "Date: Sun, 1 Mar 2015 09:59:00 +0000\n"
	                         "\n");
	assert_true(h.received_valid);
	assert_int_equal(h.received, utc(2015, 3, 3, 10, 0, 0));
	assert_true(h.date_valid);
	assert_int_equal(h.date, utc(2015, 3, 1, 9, 59, 0));
	ms_headers_free(&h);
}

/* The date is what follows the LAST ';' ("for <a;b>" may hold others). */
static void test_received_last_semicolon(void **state)
{
	(void)state;
	ms_headers h = parse_str("Received: from x (helo; odd) by y with SMTP id 1; for <u@y>;\n"
	                         " Wed, 4 Mar 2015 12:34:56 -0500\n\n");
	assert_true(h.received_valid);
	assert_int_equal(h.received, utc(2015, 3, 4, 17, 34, 56));
	ms_headers_free(&h);
}

/* A clause before the last ';' that reads as a date (a comment some relays
 * add) must not be taken for the date: the last ';' counts. */
static void test_received_date_like_clause(void **state)
{
	(void)state;
	ms_headers h = parse_str("Received: from x by y id 1; Tue, 3 Mar 2015 10:00:00 +0000 (queued);\n"
	                         " Wed, 4 Mar 2015 12:00:00 +0000\n\n");
	assert_true(h.received_valid);
	assert_int_equal(h.received, utc(2015, 3, 4, 12, 0, 0));
	ms_headers_free(&h);
}

/* A topmost Received without a date does not fall through to the next. */
static void test_received_without_date(void **state)
{
	(void)state;
	ms_headers h = parse_str("Received: from a by b with local id 7\n"
	                         "Received: from b by c; Mon, 2 Mar 2015 10:00:00 +0000\n"
	                         "Date: Mon, 2 Mar 2015 09:00:00 +0000\n\n");
	assert_false(h.received_valid);
	assert_true(h.date_valid);
	assert_int_equal(h.date, utc(2015, 3, 2, 9, 0, 0));
	ms_headers_free(&h);
}

static void test_missing_date(void **state)
{
	(void)state;
	ms_headers h = parse_str("From: a@x.org\nSubject: no date\n\n");
	assert_false(h.date_valid);
	assert_false(h.received_valid);
	assert_int_equal(h.from.n, 1);
	ms_headers_free(&h);
}

static void test_bad_dates(void **state)
{
	(void)state;
	struct { const char *text; bool valid; time_t when; } cases[] = {
		{ "Date: Fri, 13 Feb 09 23:31:30 GMT\n\n", true, 1234567890 },     /* 2-digit year */
		{ "Date: Mon, 30 Jun 3609 15:33:50 +0600\n\n", true, 0 },         /* far future: valid, year 3609 */
		{ "Date: Mon, 1 Jan 10000 00:00:00 +0000\n\n", false, 0 },        /* 5-digit year */
		{ "Date: Fri, 13 Feb 1800 23:31:30 GMT\n\n", false, 0 },          /* before GMime's range */
		{ "Date: 32 Jan 2020 00:00:00 +0000\n\n", false, 0 },             /* no 32nd */
		{ "Date: Fri, 13 Feb 2009 25:31:30 GMT\n\n", false, 0 },          /* no 25th hour */
		{ "Date: \n       <HR>\n\n", false, 0 },                           /* HTML, not a date */
		{ "Date: yesterday\n\n", false, 0 },
		{ "Date:\n\n", false, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ms_headers h = parse_str(cases[i].text);
		if (h.date_valid != cases[i].valid)
			fail_msg("case %zu (%s): date_valid %d", i, cases[i].text, h.date_valid);
		if (cases[i].valid && cases[i].when)
			assert_int_equal(h.date, cases[i].when);
		if (i == 1) {
			struct tm tm;
			gmtime_r(&h.date, &tm);
			assert_int_equal(tm.tm_year + 1900, 3609);
		}
		ms_headers_free(&h);
	}
}

/* ---- Message-ID and Subject ----------------------------------------------- */

static void test_message_id_forms(void **state)
{
	(void)state;
	ms_headers h = parse_str("Message-Id: (comment) <abc.def@x.example> (more)\n\n");
	assert_string_equal(h.message_id, "abc.def@x.example");
	ms_headers_free(&h);
	h = parse_str("Message-ID: no-brackets@x.example\n\n");
	assert_string_equal(h.message_id, "no-brackets@x.example");
	ms_headers_free(&h);
	h = parse_str("Message-ID:\nSubject:\n\n");
	assert_null(h.message_id);
	assert_null(h.subject);
	ms_headers_free(&h);
	/* the first one counts */
	h = parse_str("Message-ID: <first@x>\nMessage-ID: <second@x>\n\n");
	assert_string_equal(h.message_id, "first@x");
	ms_headers_free(&h);
}

static void test_subject_encoded_words(void **state)
{
	(void)state;
	ms_headers h = parse_str("Subject: =?ISO-2022-JP?B?GyRCJF4kXyRgJGEkYhsoQg==?=\n\n");
	assert_string_equal(h.subject, "\xe3\x81\xbe\xe3\x81\xbf\xe3\x82\x80\xe3\x82\x81\xe3\x82\x82"); /* まみむめも */
	ms_headers_free(&h);
	h = parse_str("Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?=\n\n");
	assert_string_equal(h.subject, "Caf\xc3\xa9 cr\xc3\xa8me");
	ms_headers_free(&h);
	h = parse_str("Subject: =?UTF-8?Q?a?= =?UTF-8?Q?b?= c\n\n");
	assert_string_equal(h.subject, "ab c");
	ms_headers_free(&h);
}

static void test_subject_broken_encoded_words(void **state)
{
	(void)state;
	ms_headers h = parse_str("Subject: =?UTF-8?X?abc?=\n\n"); /* unknown encoding: left as text */
	assert_string_equal(h.subject, "=?UTF-8?X?abc?=");
	ms_headers_free(&h);
	h = parse_str("Subject: =?UTF-8?B?\n\n"); /* unterminated */
	assert_string_equal(h.subject, "=?UTF-8?B?");
	ms_headers_free(&h);
	h = parse_str("Subject: =?x-no-such-charset?Q?abc?=\n\n");
	assert_string_equal(h.subject, "abc");
	ms_headers_free(&h);
	h = parse_str("Subject: =?UTF-8?Q?caf=C3?=\n\n"); /* cut UTF-8 sequence */
	assert_non_null(h.subject);
	assert_true(g_utf8_validate(h.subject, -1, NULL));
	assert_memory_equal(h.subject, "caf", 3);
	ms_headers_free(&h);
}

/* ---- flags and garbage -------------------------------------------------------- */

static void test_empty(void **state)
{
	(void)state;
	ms_headers h = parse_mem("", 0);
	assert_int_equal(h.flags, MS_HDR_EMPTY);
	assert_int_equal(h.header_bytes, 0);
	assert_int_equal(h.from.n + h.to.n + h.cc.n, 0);
	assert_false(h.date_valid);
	assert_null(h.subject);
	ms_headers_free(&h);

	ms_err e = { 0 };
	const char *path = write_file("empty.eml", "", 0);
	assert_int_equal(ms_headers_read_file(path, &h, &e), 0);
	assert_int_equal(h.flags, MS_HDR_EMPTY);
	assert_int_equal(h.header_bytes, 0);
	ms_headers_free(&h);
}

static void test_no_separator(void **state)
{
	(void)state;
	const char *msg = "From: a@x.org\nTo: b@y.org\nSubject: cut";
	ms_headers h = parse_str(msg);
	assert_int_equal(h.flags, MS_HDR_NO_SEPARATOR);
	assert_int_equal(h.header_bytes, strlen(msg));
	check_addr(&h.from, 0, NULL, "a@x.org");
	check_addr(&h.to, 0, NULL, "b@y.org");
	assert_string_equal(h.subject, "cut");
	ms_headers_free(&h);

	ms_err e = { 0 };
	const char *path = write_file("nosep.eml", msg, strlen(msg));
	assert_int_equal(ms_headers_read_file(path, &h, &e), 0);
	assert_int_equal(h.flags, MS_HDR_NO_SEPARATOR);
	assert_int_equal(h.header_bytes, strlen(msg));
	assert_string_equal(h.subject, "cut");
	ms_headers_free(&h);
}

/* Lines that are not header fields are skipped; a section without any
 * field is flagged. */
static void test_not_a_header(void **state)
{
	(void)state;
	ms_headers h = parse_str("This is just text\nFrom: a@x.org\n\tcontinued@x.org\n: no name\n"
	                         "Sub ject: spaced\nTo: b@y.org\n\nbody\n");
	assert_int_equal(h.flags, 0);
	check_addr(&h.from, 0, NULL, "a@x.org");
	check_addr(&h.to, 0, NULL, "b@y.org");
	assert_null(h.subject);
	ms_headers_free(&h);
	h = parse_str("just some text\nwithout any colon\n\nbody\n");
	assert_int_equal(h.flags, MS_HDR_NO_FIELDS);
	ms_headers_free(&h);
	/* An empty line first: an empty header section. */
	h = parse_str("\nFrom: a@x.org\n\n");
	assert_int_equal(h.flags, MS_HDR_NO_FIELDS);
	assert_int_equal(h.header_bytes, 1);
	assert_int_equal(h.from.n, 0);
	ms_headers_free(&h);
	h = parse_str("\r\nFrom: a@x.org\r\n\r\n");
	assert_int_equal(h.header_bytes, 2);
	assert_int_equal(h.flags, MS_HDR_NO_FIELDS);
	ms_headers_free(&h);
}

/* A message that is nothing but the empty line: an empty header section
 * that ends with its separator, LF or CRLF (the shortest case of each). */
static void test_only_the_separator(void **state)
{
	(void)state;
	ms_headers h = parse_mem("\n", 1);
	assert_int_equal(h.header_bytes, 1);
	assert_int_equal(h.flags, MS_HDR_NO_FIELDS);
	ms_headers_free(&h);
	h = parse_mem("\r\n", 2);
	assert_int_equal(h.header_bytes, 2);
	assert_int_equal(h.flags, MS_HDR_NO_FIELDS);
	ms_headers_free(&h);
}

/* A single field is a header: only a section without any field is flagged. */
static void test_single_field(void **state)
{
	(void)state;
	ms_headers h = parse_str("Subject: alone\n\nbody\n");
	assert_int_equal(h.flags, 0);
	assert_string_equal(h.subject, "alone");
	ms_headers_free(&h);
	/* a name with a space inside is not a field name */
	h = parse_str("Sub ject: spaced\n\nbody\n");
	assert_int_equal(h.flags, MS_HDR_NO_FIELDS);
	ms_headers_free(&h);
}

/* Every From, To and Cc field adds its addresses, not only the first. */
static void test_repeated_address_fields(void **state)
{
	(void)state;
	ms_headers h = parse_str("To: a@x.org\nCc: c@x.org\nTo: b@y.org\nCc: d@y.org\nFrom: f@x.org\nFrom: g@y.org\n\n");
	assert_int_equal(h.to.n, 2);
	check_addr(&h.to, 0, NULL, "a@x.org");
	check_addr(&h.to, 1, NULL, "b@y.org");
	assert_int_equal(h.cc.n, 2);
	check_addr(&h.cc, 1, NULL, "d@y.org");
	assert_int_equal(h.from.n, 2);
	check_addr(&h.from, 1, NULL, "g@y.org");
	ms_headers_free(&h);
}

/* Only the fields mstore reads reach GMime, the first of each single one:
 * a section of a million other fields costs no more than its bytes. */
static void test_many_fields(void **state)
{
	(void)state;
	size_t n = 800000;
	char *msg = xmalloc(n * 5 + 256);
	size_t off = (size_t)sprintf(msg, "Subject: first\nDate: Mon, 2 Mar 2015 10:00:00 +0000\n");
	for (size_t i = 0; i < n; i++) {
		memcpy(msg + off, "X: y\n", 5);
		off += 5;
	}
	strcpy(msg + off, "Subject: second\nDate: Tue, 3 Mar 2015 10:00:00 +0000\nTo: late@x.org\n\n");
	ms_headers h = parse_str(msg);
	assert_int_equal(h.flags, 0);
	assert_string_equal(h.subject, "first");
	assert_int_equal(h.date, utc(2015, 3, 2, 10, 0, 0));
	check_addr(&h.to, 0, NULL, "late@x.org");
	ms_headers_free(&h);
	free(msg);
}

/* Only Content-* fields: header fields all the same (GMime files them
 * elsewhere), so not flagged. */
static void test_only_content_fields(void **state)
{
	(void)state;
	ms_headers h = parse_str("Content-Type: text/plain\nContent-Transfer-Encoding: 7bit\n\nbody\n");
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.from.n, 0);
	assert_null(h.subject);
	ms_headers_free(&h);
}

/* An mbox "From " line before the fields is skipped, not fatal. */
static void test_mbox_from_line(void **state)
{
	(void)state;
	ms_headers h = parse_str("From MAILER-DAEMON Fri Jul  8 12:08:34 2011\nFrom: a@x.org\nSubject: s\n\n");
	assert_int_equal(h.flags, 0);
	check_addr(&h.from, 0, NULL, "a@x.org");
	assert_string_equal(h.subject, "s");
	ms_headers_free(&h);
	/* but "From  :" with blanks before the colon is a field */
	h = parse_str("From  : John Doe <jdoe@machine.example>\nSubject: s\n\n");
	check_addr(&h.from, 0, "John Doe", "jdoe@machine.example");
	ms_headers_free(&h);
}

static void test_one_mb_header_line(void **state)
{
	(void)state;
	size_t n = 1024 * 1024;
	char *msg = xmalloc(n + 64);
	const char *start = "From: a@x.org\nSubject: ";
	size_t off = strlen(start);
	memcpy(msg, start, off);
	memset(msg + off, 'x', n);
	strcpy(msg + off + n, "\nTo: b@y.org\n\nbody");
	ms_headers h = parse_str(msg);
	assert_int_equal(h.flags, 0);
	assert_non_null(h.subject);
	assert_int_equal(strlen(h.subject), 64 * 1024); /* subjects are cut there */
	assert_int_equal(strspn(h.subject, "x"), 64 * 1024);
	check_addr(&h.from, 0, NULL, "a@x.org");
	check_addr(&h.to, 0, NULL, "b@y.org");
	assert_int_equal(h.header_bytes, strlen(msg) - 4);
	ms_headers_free(&h);

	/* the same line without a colon: not a header */
	memset(msg, 'y', n);
	strcpy(msg + n, "\n\n");
	h = parse_str(msg);
	assert_true(h.flags & MS_HDR_NO_FIELDS);
	assert_null(h.subject);
	assert_int_equal(h.header_bytes, n + 2);
	ms_headers_free(&h);
	free(msg);
}

static void test_nul_bytes(void **state)
{
	(void)state;
	static const char msg[] = "From: a@x.org\nSub\0ject: x\nTo: b@y\0.org\nCc: c@z.org\n\nbody\0";
	ms_headers h = parse_mem(msg, sizeof msg - 1);
	assert_true(h.flags & MS_HDR_BINARY);
	assert_false(h.flags & MS_HDR_NO_SEPARATOR);
	check_addr(&h.from, 0, NULL, "a@x.org");
	check_addr(&h.cc, 0, NULL, "c@z.org");
	for (size_t i = 0; i < h.to.n; i++)
		assert_non_null(strchr(h.to.v[i].addr, '@'));
	assert_int_equal(h.header_bytes, sizeof msg - 1 - 5);
	ms_headers_free(&h);

	/* binary garbage from the first byte */
	unsigned char junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 7919u >> 3);
	junk[0] = 0;
	h = parse_mem((const char *)junk, sizeof junk);
	assert_true(h.flags & MS_HDR_BINARY);
	assert_int_equal(h.from.n + h.to.n + h.cc.n, 0);
	ms_headers_free(&h);
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	ms_headers h = parse_str("Subject: caf\xe9\nFrom: Andr\xe9 <a@x.org>\nTo: \xff\xfe@x.org, b@y.org\n\n");
	assert_int_equal(h.flags, MS_HDR_BAD_UTF8);
	assert_string_equal(h.subject, "caf\xc3\xa9"); /* decoded as Latin-1 */
	check_addr(&h.from, 0, "Andr\xc3\xa9", "a@x.org");
	for (size_t i = 0; i < h.to.n; i++)
		assert_true(g_utf8_validate(h.to.v[i].addr, -1, NULL));
	check_addr(&h.to, h.to.n - 1, NULL, "b@y.org");
	ms_headers_free(&h);
	/* valid UTF-8 (RFC 6532) is not flagged */
	h = parse_str("Subject: S\xc3\xa4ying\nFrom: j\xc3\xb6@m\xc3\xa4.example\n\n");
	assert_int_equal(h.flags, 0);
	assert_string_equal(h.subject, "S\xc3\xa4ying");
	check_addr(&h.from, 0, NULL, "j\xc3\xb6@m\xc3\xa4.example");
	ms_headers_free(&h);
}

/* A header section of MS_HEADER_MAX + 1 MB: cut at the limit. */
static char *oversized_header(size_t *len)
{
	size_t cap = MS_HEADER_MAX + 1024 * 1024;
	char *buf = xmalloc(cap + 128);
	size_t off = (size_t)sprintf(buf, "From: first@x.org\nSubject: big\n");
	while (off < cap)
		off += (size_t)sprintf(buf + off, "X-Filler: %060zu\n", off);
	off += (size_t)sprintf(buf + off, "To: late@x.org\n\nbody\n");
	*len = off;
	return buf;
}

static void test_truncated_in_memory(void **state)
{
	(void)state;
	size_t len;
	char *buf = oversized_header(&len);
	ms_headers h = parse_mem(buf, len);
	assert_int_equal(h.flags, MS_HDR_TRUNCATED);
	assert_int_equal(h.header_bytes, MS_HEADER_MAX);
	check_addr(&h.from, 0, NULL, "first@x.org");
	assert_string_equal(h.subject, "big");
	assert_int_equal(h.to.n, 0); /* beyond the cut */
	ms_headers_free(&h);
	free(buf);
}

static void test_truncated_file(void **state)
{
	(void)state;
	size_t len;
	char *buf = oversized_header(&len);
	const char *path = write_file("huge-header.eml", buf, len);
	free(buf);
	ms_headers h;
	ms_err e = { 0 };
	assert_int_equal(ms_headers_read_file(path, &h, &e), 0);
	assert_int_equal(h.flags, MS_HDR_TRUNCATED);
	assert_int_equal(h.header_bytes, MS_HEADER_MAX);
	check_addr(&h.from, 0, NULL, "first@x.org");
	assert_int_equal(h.to.n, 0);
	ms_headers_free(&h);
}

/* Exactly MS_HEADER_MAX bytes and no empty line: all header, not cut. */
static void test_exactly_max_without_separator(void **state)
{
	(void)state;
	char *buf = xmalloc(MS_HEADER_MAX);
	size_t off = (size_t)sprintf(buf, "From: first@x.org\n");
	memset(buf + off, 'a', MS_HEADER_MAX - off);
	memcpy(buf + off, "X-Long: ", 8);
	ms_headers h = parse_mem(buf, MS_HEADER_MAX);
	assert_int_equal(h.flags, MS_HDR_NO_SEPARATOR);
	assert_int_equal(h.header_bytes, MS_HEADER_MAX);
	check_addr(&h.from, 0, NULL, "first@x.org");
	ms_headers_free(&h);

	ms_err e = { 0 };
	const char *path = write_file("max.eml", buf, MS_HEADER_MAX);
	free(buf);
	assert_int_equal(ms_headers_read_file(path, &h, &e), 0);
	assert_int_equal(h.flags, MS_HDR_NO_SEPARATOR);
	assert_int_equal(h.header_bytes, MS_HEADER_MAX);
	ms_headers_free(&h);
}

/* ---- reading files -------------------------------------------------------------- */

/* A 50 MB message (sparse file): only the header section is read. */
static void test_big_body_not_read(void **state)
{
	(void)state;
	char *hdr = to_crlf("From: a@x.org\nTo: b@y.org\nSubject: big body\n\n");
	char path[600];
	snprintf(path, sizeof path, "%s/big.eml", tmp_root);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, hdr, strlen(hdr)), (ssize_t)strlen(hdr));
	assert_int_equal(ftruncate(fd, 50L * 1024 * 1024), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

	ms_headers h;
	ms_err e = { 0 };
	assert_int_equal(ms_headers_read_fd(fd, "big.eml", &h, &e), 0);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.header_bytes, strlen(hdr));
	assert_string_equal(h.subject, "big body");
	/* the file offset shows how much was read: one small chunk at most */
	off_t pos = lseek(fd, 0, SEEK_CUR);
	assert_true(pos > 0 && pos <= 64 * 1024);
	ms_headers_free(&h);
	close(fd);

	assert_int_equal(ms_headers_read_file(path, &h, &e), 0);
	assert_int_equal(h.header_bytes, strlen(hdr));
	ms_headers_free(&h);
	free(hdr);
}

/* The empty line falls on every position around the first read boundary,
 * with LF and CRLF: the split "\n" | "\r\n" must still be found. */
static void test_separator_across_reads(void **state)
{
	(void)state;
	for (int crlf = 0; crlf < 2; crlf++)
		for (size_t total = 16 * 1024 - 6; total <= 16 * 1024 + 6; total++) {
			const char *eol = crlf ? "\r\n" : "\n";
			size_t eol_len = strlen(eol);
			char *buf = xmalloc(total + 64);
			/* "X-Pad: aaa...<eol><eol>" so that the section is `total` bytes */
			size_t fixed = strlen("X-Pad: ") + 2 * eol_len;
			memcpy(buf, "X-Pad: ", 7);
			memset(buf + 7, 'a', total - fixed);
			memcpy(buf + total - 2 * eol_len, eol, eol_len);
			memcpy(buf + total - eol_len, eol, eol_len);
			strcpy(buf + total, "body\n");
			const char *path = write_file("edge.eml", buf, total + 5);
			ms_headers h;
			ms_err e = { 0 };
			assert_int_equal(ms_headers_read_file(path, &h, &e), 0);
			if (h.header_bytes != total || h.flags != 0)
				fail_msg("crlf=%d total=%zu: header_bytes %zu flags %u", crlf, total, h.header_bytes, h.flags);
			ms_headers_free(&h);
			free(buf);
		}
}

static void test_read_errors(void **state)
{
	(void)state;
	ms_headers h;
	ms_err e = { 0 };
	char path[600];
	snprintf(path, sizeof path, "%s/does-not-exist.eml", tmp_root);
	assert_int_equal(ms_headers_read_file(path, &h, &e), -1);
	assert_int_equal(e.code, MS_E_IO);
	assert_non_null(strstr(e.msg, "does-not-exist.eml"));
	assert_non_null(strstr(e.msg, "No such file"));
	assert_int_equal(h.from.n, 0);

	ms_err_clear(&e);
	assert_int_equal(ms_headers_read_file(tmp_root, &h, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));

	/* a FIFO must neither hang nor be read */
	ms_err_clear(&e);
	snprintf(path, sizeof path, "%s/fifo.eml", tmp_root);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(ms_headers_read_file(path, &h, &e), -1);
	assert_non_null(strstr(e.msg, "fifo.eml"));

	/* a descriptor open for writing only cannot be read */
	ms_err_clear(&e);
	snprintf(path, sizeof path, "%s/wronly.eml", tmp_root);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ms_headers_read_fd(fd, "wronly.eml", &h, &e), -1);
	assert_int_equal(e.code, MS_E_IO);
	assert_non_null(strstr(e.msg, "wronly.eml: cannot read"));
	close(fd);
}

/* ---- the corpus ------------------------------------------------------------------- */

static char corpus_dir[1024];

static const char *corpus(void)
{
	if (!corpus_dir[0]) {
		const char *shared = getenv("MSTORE_SHARED"), *src = getenv("MSTORE_SRC");
		if (shared && *shared)
			snprintf(corpus_dir, sizeof corpus_dir, "%s/corpus/mail-gem-fixtures", shared);
		else if (src && *src)
			snprintf(corpus_dir, sizeof corpus_dir, "%s/../shared/corpus/mail-gem-fixtures", src);
		else
			snprintf(corpus_dir, sizeof corpus_dir, "../shared/corpus/mail-gem-fixtures");
	}
	return corpus_dir;
}

static ms_headers parse_corpus(const char *rel)
{
	char path[2048];
	snprintf(path, sizeof path, "%s/%s", corpus(), rel);
	ms_headers h;
	ms_err e = { 0 };
	if (ms_headers_read_file(path, &h, &e) < 0)
		fail_msg("%s: %s", rel, e.msg);
	return h;
}

/* Every file of the corpus, listed once. */
typedef struct file_list {
	char **v;
	size_t n;
} file_list;

static file_list corpus_files;

static int collect_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)ftw;
	if (flag == FTW_F) {
		corpus_files.v = realloc(corpus_files.v, (corpus_files.n + 1) * sizeof *corpus_files.v);
		assert_non_null(corpus_files.v);
		corpus_files.v[corpus_files.n++] = strdup(path);
	}
	return 0;
}

/* One line per message: every field, so results can be compared. */
static char *summary(const ms_headers *h)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "flags=%u bytes=%zu date=%d:%lld rcvd=%d:%lld id=%s subj=%s", h->flags,
	                       h->header_bytes, h->date_valid, (long long)h->date, h->received_valid,
	                       (long long)h->received, h->message_id ? h->message_id : "-",
	                       h->subject ? h->subject : "-");
	const ms_address_list *lists[] = { &h->from, &h->to, &h->cc };
	for (size_t l = 0; l < 3; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			g_string_append_printf(s, " %zu:%s<%s>", l, lists[l]->v[i].name ? lists[l]->v[i].name : "",
			                       lists[l]->v[i].addr);
	return g_string_free(s, FALSE);
}

static char *summarize_file(const char *path)
{
	ms_headers h;
	ms_err e = { 0 };
	if (ms_headers_read_file(path, &h, &e) < 0)
		return g_strdup_printf("error %s", e.msg);
	char *s = summary(&h);
	ms_headers_free(&h);
	return s;
}

static int load_corpus(void **state)
{
	(void)state;
	if (nftw(corpus(), collect_file, 16, FTW_PHYS) != 0) {
		fprintf(stderr, "cannot walk the corpus %s: %s\n", corpus(), strerror(errno));
		return -1;
	}
	return 0;
}

static int free_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < corpus_files.n; i++)
		free(corpus_files.v[i]);
	free(corpus_files.v);
	return 0;
}

static void test_corpus_all_files(void **state)
{
	(void)state;
	assert_true(corpus_files.n >= 100);
	GList *without_from = NULL;
	for (size_t f = 0; f < corpus_files.n; f++) {
		ms_headers h;
		ms_err e = { 0 };
		if (ms_headers_read_file(corpus_files.v[f], &h, &e) < 0)
			fail_msg("%s: %s", corpus_files.v[f], e.msg);
		const ms_address_list *lists[] = { &h.from, &h.to, &h.cc };
		for (size_t l = 0; l < 3; l++)
			for (size_t i = 0; i < lists[l]->n; i++) {
				assert_non_null(strchr(lists[l]->v[i].addr, '@'));
				assert_true(g_utf8_validate(lists[l]->v[i].addr, -1, NULL));
				assert_true(!lists[l]->v[i].name || g_utf8_validate(lists[l]->v[i].name, -1, NULL));
			}
		assert_true(!h.subject || g_utf8_validate(h.subject, -1, NULL));
		if (h.from.n == 0)
			without_from = g_list_insert_sorted(without_from, g_path_get_basename(corpus_files.v[f]),
			                                    (GCompareFunc)strcmp);
		ms_headers_free(&h);
	}
	/* the LICENSE, the empty file and two messages that have no From */
	char *names[5] = { 0 };
	size_t k = 0;
	for (GList *i = without_from; i && k < 5; i = i->next)
		names[k++] = i->data;
	assert_int_equal(g_list_length(without_from), 4);
	assert_string_equal(names[0], "LICENSE");
	assert_string_equal(names[1], "bad_encoded_subject.eml");
	assert_string_equal(names[2], "mix_caps_content_type.eml");
	assert_string_equal(names[3], "sample_output_multipart");
	g_list_free_full(without_from, g_free);
}

static void test_corpus_japanese(void **state)
{
	(void)state;
	ms_headers h = parse_corpus("multi_charset/japanese_iso_2022.eml");
	assert_string_equal(h.subject, "\xe3\x81\xbe\xe3\x81\xbf\xe3\x82\x80\xe3\x82\x81\xe3\x82\x82"); /* まみむめも */
	check_addr(&h.from, 0, "Mikel Lindsaar", "raasdnil@gmail.com");
	check_addr(&h.to, 0, "\xe3\x81\xbf\xe3\x81\x91\xe3\x82\x8b", "raasdnil@gmail.com"); /* みける */
	assert_false(h.date_valid);
	ms_headers_free(&h);

	/* ISO-2022-JP encoded words folded over three lines, after an mbox line */
	h = parse_corpus("rfc2822/example14.eml");
	assert_non_null(h.subject);
	assert_memory_equal(h.subject, "Re: TEST", 8);
	const char *tail = "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"; /* テストテスト */
	assert_true(g_str_has_suffix(h.subject, tail));
	check_addr(&h.from, 0, "Atsushi Yoshida", "atsushi@example.com");
	assert_int_equal(h.date, utc(2011, 8, 19, 1, 47, 17));
	ms_headers_free(&h);
}

static void test_corpus_empty_group_lists(void **state)
{
	(void)state;
	ms_headers h = parse_corpus("error_emails/empty_group_lists.eml");
	assert_int_equal(h.to.n, 0); /* "To: undisclosed recipients: ;" */
	assert_int_equal(h.from.n, 1);
	check_addr(&h.from, 0, "Cecil Edwards", "ceciledwards@sbcglobal.net");
	/* topmost of six Received: "Thu, 03 Dec 2009 10:50:45 -0800" */
	assert_int_equal(h.received, utc(2009, 12, 3, 18, 50, 45));
	assert_int_equal(h.date, utc(2009, 12, 3, 18, 50, 22));
	assert_string_equal(h.message_id, "203751.85280.qm@web82107.mail.mud.yahoo.com");
	assert_string_equal(h.subject, "Western Union Swift Money Transfer");
	ms_headers_free(&h);
}

static void test_corpus_cant_parse_from(void **state)
{
	(void)state;
	ms_headers h = parse_corpus("error_emails/cant_parse_from.eml");
	assert_int_equal(h.from.n, 1);
	check_addr(&h.from, 0, "Apple", "News@InsideApple.Apple.com");
	check_addr(&h.to, 0, NULL, "karl.baum@gmail.com");
	assert_false(h.received_valid);
	assert_int_equal(h.date, utc(2009, 6, 12, 6, 25, 2));
	assert_string_equal(h.message_id, "7oh6b1$1clhrjk@badger-vip.apple.com");
	ms_headers_free(&h);
}

static void test_corpus_new_line_in_to(void **state)
{
	(void)state;
	ms_headers h = parse_corpus("error_emails/new_line_in_to_header.eml");
	assert_int_equal(h.to.n, 6);
	check_addr(&h.to, 0, NULL, "leads@sg.dc.com");
	check_addr(&h.to, 3, NULL, "e-s-a-g-8718@app.ar.com");
	check_addr(&h.to, 5, NULL, "cc@c-l-example.com");
	assert_int_equal(h.received, utc(2010, 10, 13, 14, 44, 39));
	ms_headers_free(&h);
}

static void test_corpus_bad_date(void **state)
{
	(void)state;
	ms_headers h = parse_corpus("error_emails/bad_date_header.eml");
	assert_false(h.date_valid); /* "Date: \r\n       <HR>" */
	assert_true(h.received_valid);
	assert_int_equal(h.received, utc(2010, 12, 11, 3, 20, 19));
	assert_null(h.message_id);
	check_addr(&h.from, 0, "Grants-Notification", "infoz@reactive-outpost.com");
	ms_headers_free(&h);

	h = parse_corpus("plain_emails/raw_email_bad_time.eml");
	assert_true(h.date_valid); /* "Mon, 30 Jun 3609 15:33:50 +0600": parses, implausible year */
	struct tm tm;
	gmtime_r(&h.date, &tm);
	assert_int_equal(tm.tm_year + 1900, 3609);
	assert_int_equal(h.received, utc(2008, 6, 30, 9, 34, 0));
	check_addr(&h.from, 0, "\xd0\x90\xd1\x82\xd0\xb8\xd0\xba\xd0\xbe\xd0\xb2" "a", "yusuf75thu@auracom.net");
	ms_headers_free(&h);
}

static void test_corpus_two_from(void **state)
{
	(void)state;
	/* the second From is in an attached message, past the header section */
	ms_headers h = parse_corpus("mime_emails/two_from_in_message.eml");
	assert_int_equal(h.from.n, 1);
	check_addr(&h.from, 0, "Tester 1", "tester1@test.com");
	assert_int_equal(h.header_bytes, 874);
	assert_int_equal(h.received, utc(2009, 12, 2, 9, 39, 57));
	ms_headers_free(&h);

	/* two addresses with no comma in one From */
	h = parse_corpus("plain_emails/raw_email_multiple_from.eml");
	assert_int_equal(h.from.n, 2);
	check_addr(&h.from, 0, NULL, "tim@powerupdev.com");
	check_addr(&h.from, 1, NULL, "concierge@powerupdev.com");
	assert_int_equal(h.flags, 0);
	ms_headers_free(&h);
}

static void test_corpus_multiple_addresses(void **state)
{
	(void)state;
	ms_headers h = parse_corpus("plain_emails/raw_email_with_at_display_name.eml");
	assert_int_equal(h.from.n, 2);
	check_addr(&h.from, 0, "Mikel Lindsaar", "test@lindsaar.net");
	check_addr(&h.from, 1, NULL, "jack@lindsar.com");
	assert_int_equal(h.to.n, 3);
	check_addr(&h.to, 1, "Mikel@Lindsaar", "raasdnil@gmail.com");
	check_addr(&h.to, 2, NULL, "tom@gmail.com");
	ms_headers_free(&h);

	h = parse_corpus("rfc2822/example03.eml");
	assert_int_equal(h.to.n, 3);
	check_addr(&h.to, 2, "Who?", "one@y.test");
	assert_int_equal(h.cc.n, 2);
	check_addr(&h.cc, 0, NULL, "boss@nil.test");
	check_addr(&h.cc, 1, "Giant; \"Big\" Box", "sysservices@example.net");
	assert_int_equal(h.date, utc(2003, 7, 1, 8, 52, 37));
	ms_headers_free(&h);
}

static void test_corpus_charsets(void **state)
{
	(void)state;
	ms_headers h = parse_corpus("error_emails/invalid_subject_characters.eml");
	assert_int_equal(h.flags, MS_HDR_BAD_UTF8);
	check_addr(&h.from, 0, "Forma\xc3\xa7\xc3\xa3o Frenetikpolis", "info@formacaofrenetik.info");
	assert_int_equal(h.to.n, 3);
	assert_string_equal(h.subject, "Forma\xc3\xa7\xc3\xa3o FrenetikPolis: Mega Campanha Final Ver\xc3\xa3o | "
	                               "Cursos de Setembro");
	ms_headers_free(&h);

	h = parse_corpus("rfc6532/utf8_headers.eml");
	assert_int_equal(h.flags, 0);
	check_addr(&h.from, 0, "J\xc3\xb6hn Doe", "jd\xc3\xb6" "e@m\xc3\xa4" "chine.example");
	assert_string_equal(h.subject, "S\xc3\xa4ying Hello");
	ms_headers_free(&h);
}

static void test_corpus_lf_and_crlf(void **state)
{
	(void)state;
	ms_headers crlf = parse_corpus("plain_emails/basic_email.eml");
	ms_headers lf = parse_corpus("plain_emails/basic_email_lf.eml");
	assert_int_equal(crlf.header_bytes, 1504);
	assert_int_equal(lf.header_bytes, 1478);
	char *a = summary(&crlf), *b = summary(&lf);
	assert_non_null(strstr(a, " date=1:1227326699 "));
	assert_string_equal(strstr(a, " date="), strstr(b, " date=")); /* everything but the size */
	g_free(a);
	g_free(b);
	ms_headers_free(&crlf);
	ms_headers_free(&lf);

	ms_headers empty = parse_corpus("sample_output_multipart");
	assert_int_equal(empty.flags, MS_HDR_EMPTY);
	ms_headers_free(&empty);
	ms_headers license = parse_corpus("LICENSE");
	assert_true(license.flags & MS_HDR_NO_FIELDS);
	ms_headers_free(&license);
}

/* Four threads parse the whole corpus at once and agree with one thread. */
typedef struct thread_job {
	bool mismatch;
} thread_job;

static char **reference;

static void *parse_all(void *arg)
{
	thread_job *job = arg;
	for (size_t f = 0; f < corpus_files.n; f++) {
		ms_header_global_init(); /* idempotent, callable from any thread */
		char *s = summarize_file(corpus_files.v[f]);
		if (strcmp(s, reference[f]) != 0)
			job->mismatch = true;
		g_free(s);
	}
	return NULL;
}

static void test_corpus_threads(void **state)
{
	(void)state;
	reference = calloc(corpus_files.n, sizeof *reference);
	assert_non_null(reference);
	for (size_t f = 0; f < corpus_files.n; f++)
		reference[f] = summarize_file(corpus_files.v[f]);
	pthread_t t[4];
	thread_job jobs[4] = { 0 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, parse_all, &jobs[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_false(jobs[i].mismatch);
	}
	for (size_t f = 0; f < corpus_files.n; f++)
		g_free(reference[f]);
	free(reference);
}

/* Is s valid UTF-8 (no GLib here)? */
static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0)
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* ---- the first From, To and CC field, as hMailServer's importer reads them */

static void test_first_fields(void **state)
{
	(void)state;
	ms_headers h = parse_str("From: a@x.org\r\nTo: b@x.org\r\nTo: c@x.org\r\nCC: d@x.org\r\nCc: e@x.org\r\n"
	                         "From: f@x.org\r\n\r\nbody\r\n");
	assert_string_equal(h.first_from, "a@x.org");
	assert_string_equal(h.first_to, "b@x.org");
	assert_string_equal(h.first_cc, "d@x.org");
	assert_int_equal(h.to.n, 2); /* the RFC 5322 lists still hold every field */
	assert_int_equal(h.cc.n, 2);
	ms_headers_free(&h);
	assert_null(h.first_to);
}

static void test_first_fields_absent_or_empty(void **state)
{
	(void)state;
	ms_headers h = parse_str("Subject: s\n\nbody\n");
	assert_null(h.first_from);
	assert_null(h.first_to);
	assert_null(h.first_cc);
	ms_headers_free(&h);
	h = parse_str("From:\r\nTo:   \r\n\r\n");
	assert_string_equal(h.first_from, ""); /* a field with an empty value */
	assert_string_equal(h.first_to, "");
	ms_headers_free(&h);
}

/* hMailServer finds a field by its whole name before the colon: "To :" is
 * not its To field (GMime's rule takes it, for the RFC 5322 lists). */
static void test_first_fields_exact_name(void **state)
{
	(void)state;
	ms_headers h = parse_str("To : a@x.org\r\nto: b@x.org\r\nX-To: c@x.org\r\n\r\n");
	assert_string_equal(h.first_to, "b@x.org");
	assert_int_equal(h.to.n, 2);
	ms_headers_free(&h);
}

/* MimeField: blanks after the colon go, line ends and the blanks after
 * them become one space; then RFC 2047 words are decoded. */
static void test_first_fields_unfolded_decoded(void **state)
{
	(void)state;
	ms_headers h = parse_str("To:\t  a@x.org,\r\n \t b@y.org,\n\tc@z.org  \r\n"
	                         "From: =?utf-8?q?Doe=2C_J=C3=B6rg?= <j@x.org>\r\n\r\n");
	assert_string_equal(h.first_to, "a@x.org, b@y.org, c@z.org  ");
	assert_string_equal(h.first_from, "Doe, J\xc3\xb6rg <j@x.org>");
	char out[256];
	ms_err e = { 0 };
	/* the decoded comma cuts the list, as in hMailServer */
	assert_int_equal(ms_hms_first_address(h.first_from, out, sizeof out, &e), 1);
	assert_string_equal(out, "@");
	ms_headers_free(&h);
}

static void test_first_fields_raw_8bit(void **state)
{
	(void)state;
	ms_headers h = parse_str("From: J\xc3\xb6rg <j@x.org>\r\nTo: J\xf6rg <j@y.org>\r\n\r\n");
	assert_string_equal(h.first_from, "J\xc3\xb6rg <j@x.org>");
	assert_true(valid_utf8(h.first_to));
	assert_non_null(strstr(h.first_to, "<j@y.org>"));
	ms_headers_free(&h);
}

/* ---- ms_first_from_plain: the front binary's messagefrom, without GMime ---- */

/* messagefrom by the full path: ms_headers_parse, then hMailServer's rule */
static void full_from(const char *msg, size_t len, char *out, size_t size)
{
	ms_headers h;
	ms_err e = { 0 };
	out[0] = '\0';
	assert_int_equal(ms_headers_parse(msg, len, &h, &e), 0);
	assert_true(ms_hms_first_address(h.first_from, out, size, &e) >= 0);
	ms_headers_free(&h);
}

/* 1 and the full path's answer, or 0 (left to GMime) */
static int check_plain(const char *msg, size_t len)
{
	char plain[256], full[256];
	ms_err e = { 0 };
	int rc = ms_first_from_plain(msg, len, plain, sizeof plain, &e);
	assert_true(rc == 0 || rc == 1);
	if (rc == 1) {
		full_from(msg, len, full, sizeof full);
		if (strcmp(plain, full) != 0)
			fail_msg("messagefrom of [%.*s]: plain '%s', GMime's path '%s'", (int)len, msg, plain, full);
	}
	return rc;
}

static void test_first_from_plain_cases(void **state)
{
	(void)state;
	static const struct { const char *msg; int rc; } cases[] = {
		{ "From: a@x.org\n\nbody", 1 },
		{ "From: Ann <ann@x.org>\r\nTo: b@y\r\n\r\n", 1 },
		{ "From: \"Doe, John\" <j@x.org>, k@y.org\n\n", 1 },
		{ "From: MAILER-DAEMON\n\n", 1 },                     /* "@" by hMailServer's rule */
		{ "From: Some Name\n\n", 1 },
		{ "From: a@x.org (comment)\n\n", 1 },
		{ "From:\n\n", 1 },
		{ "From:   \t  \n\n", 1 },
		{ "Subject: none\n\n", 1 },                           /* no From: "" */
		{ "From : a@x.org\n\n", 1 },                          /* a blank before the colon: not hMailServer's From */
		{ "FROM: a@X.ORG\n\n", 1 },
		{ "From: Ann\n <ann@x.org>\n\n", 1 },                 /* folded */
		{ "From: Ann\r\n\t<ann@x.org>\r\n\r\n", 1 },
		{ "From: first@x.org\nFrom: second@x.org\n\n", 1 },
		{ "From: \"a\\\"b\" <q@x.org>\n\n", 1 },
		{ "From: Team: a@x.org, b@x.org;\n\n", 1 },
		{ "From: <>\n\n", 1 },
		{ "From: a=b@x.org\n\n", 1 },                         /* '=' without '?' */
		{ "From: x@y\n", 1 },                                 /* no empty line */
		{ "From: a@x.org", 1 },                               /* not even a line end */
		{ "\nFrom: a@x.org\n\n", 1 },                         /* the From is body */
		{ "X: 1\n\nFrom: a@x.org\n", 1 },
		{ "From: =?utf-8?q?J=C3=B6rg?= <j@x.org>\n\n", 0 },     /* an encoded word: GMime's */
		{ "From: J\xc3\xb6rg <j@x.org>\n\n", 0 },              /* 8-bit: GMime's */
		{ "From: J\xf6rg <j@x.org>\n\n", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (check_plain(cases[i].msg, strlen(cases[i].msg)) != cases[i].rc)
			fail_msg("case %zu: [%s]: wanted %d", i, cases[i].msg, cases[i].rc);
}

/* Generated From values of 7-bit text (the characters that matter to an
 * address parser, blanks, folds, both line ends): wherever the plain path
 * answers, it answers as GMime's path does. */
static void test_first_from_plain_agrees(void **state)
{
	(void)state;
	static const char *const atoms[] = { "a", "Ann", "@", "x.org", "<", ">", "\"", "\\", ",", ";", ":", "(", ")",
	                                     " ", "  ", "\t", "=", "?", ".", "[", "]", "\n ", "\r\n\t", "b@y.org",
	                                     "<c@z.org>", "\"N, M\"", "=x", "?=" };
	const size_t natoms = sizeof atoms / sizeof atoms[0];
	unsigned seed = 12345;
	size_t answered = 0;
	for (int round = 0; round < 20000; round++) {
		char msg[512];
		size_t o = (size_t)snprintf(msg, sizeof msg, "%sFrom:", round % 3 == 0 ? "Subject: s\n" : "");
		int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 12;
		for (int k = 0; k < n && o + 32 < sizeof msg; k++) {
			const char *a = atoms[((seed = seed * 1103515245u + 12345u) >> 16) % natoms];
			o += (size_t)snprintf(msg + o, sizeof msg - o, "%s", a);
		}
		o += (size_t)snprintf(msg + o, sizeof msg - o, "%s", round % 2 ? "\r\n\r\nbody" : "\n\nbody");
		answered += check_plain(msg, o) == 1;
	}
	assert_true(answered > 15000); /* "=?" is rare among them: most are answered without GMime */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_lf),
		cmocka_unit_test(test_simple_crlf),
		cmocka_unit_test(test_folded_headers),
		cmocka_unit_test(test_first_received_wins),
		cmocka_unit_test(test_received_last_semicolon),
		cmocka_unit_test(test_received_without_date),
		cmocka_unit_test(test_received_date_like_clause),
		cmocka_unit_test(test_only_the_separator),
		cmocka_unit_test(test_single_field),
		cmocka_unit_test(test_repeated_address_fields),
		cmocka_unit_test(test_missing_date),
		cmocka_unit_test(test_bad_dates),
		cmocka_unit_test(test_message_id_forms),
		cmocka_unit_test(test_subject_encoded_words),
		cmocka_unit_test(test_subject_broken_encoded_words),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_no_separator),
		cmocka_unit_test(test_not_a_header),
		cmocka_unit_test(test_many_fields),
		cmocka_unit_test(test_only_content_fields),
		cmocka_unit_test(test_mbox_from_line),
		cmocka_unit_test(test_one_mb_header_line),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_truncated_in_memory),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_exactly_max_without_separator),
		cmocka_unit_test(test_big_body_not_read),
		cmocka_unit_test(test_separator_across_reads),
		cmocka_unit_test(test_read_errors),
		/* the front's messagefrom: no corpus needed */
		cmocka_unit_test(test_first_from_plain_cases),
		cmocka_unit_test(test_first_from_plain_agrees),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test(test_corpus_all_files),
		cmocka_unit_test(test_corpus_japanese),
		cmocka_unit_test(test_corpus_empty_group_lists),
		cmocka_unit_test(test_corpus_cant_parse_from),
		cmocka_unit_test(test_corpus_new_line_in_to),
		cmocka_unit_test(test_corpus_bad_date),
		cmocka_unit_test(test_corpus_two_from),
		cmocka_unit_test(test_corpus_multiple_addresses),
		cmocka_unit_test(test_corpus_charsets),
		cmocka_unit_test(test_corpus_lf_and_crlf),
		cmocka_unit_test(test_corpus_threads),
		cmocka_unit_test(test_first_fields),
		cmocka_unit_test(test_first_fields_absent_or_empty),
		cmocka_unit_test(test_first_fields_exact_name),
		cmocka_unit_test(test_first_fields_unfolded_decoded),
		cmocka_unit_test(test_first_fields_raw_8bit),
	};
	ms_header_global_init();
	int failed = cmocka_run_group_tests_name("header", tests, make_tmp_root, remove_tmp_root);
	/* The corpus lives outside the repository (../shared); without it the
	 * corpus group cannot run, and says so instead of passing quietly. */
	struct stat st;
	if (stat(corpus(), &st) == 0 && S_ISDIR(st.st_mode))
		failed += cmocka_run_group_tests_name("corpus", corpus_tests, load_corpus, free_corpus);
	else
		fprintf(stderr, "SKIPPED: the %zu corpus tests: no corpus at %s (set MSTORE_SHARED)\n",
			sizeof corpus_tests / sizeof *corpus_tests, corpus());
	return failed;
}
