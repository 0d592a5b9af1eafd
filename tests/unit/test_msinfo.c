/* test_msinfo.c - reading mailsync's msinfo (channel/msinfo.h): files
 * written by hand after doc/HACKING and src/channel.cc, two written by the
 * real mailsync 5.2.7 (tests/unit/data/), and damaged ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/msinfo.h"

static int parse(const char *text, ms_msinfo *m, ms_err *e)
{
	memset(e, 0, sizeof *e);
	return ms_msinfo_parse(text, strlen(text), "msinfo", m, e);
}

static void expect_damaged(const char *text, const char *prefix)
{
	ms_msinfo m;
	ms_err e;
	if (parse(text, &m, &e) == 0) {
		ms_msinfo_free(&m);
		fail_msg("accepted: %s", text);
	}
	assert_int_equal(e.code, MS_E_PARSE);
	if (strncmp(e.msg, prefix, strlen(prefix)) != 0)
		fail_msg("got \"%s\", want it to start with \"%s\"", e.msg, prefix);
	assert_non_null(strstr(e.msg, "damaged or truncated"));
	assert_int_equal(m.nchannels, 0);
}

/* The example of mailsync's doc/HACKING, two channels, c-client's
 * pseudo-message first and a foreign message between. */
static const char two_channels[] =
	"From MAILER-DAEMON Wed Dec  2 12:23:05 2026\n"
	"Date: 02 Dec 2026 12:23:05 +0000\n"
	"From: Mail System Internal Data <MAILER-DAEMON@vm>\n"
	"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
	"X-IMAP: 1796214185 0000000000\n"
	"Status: RO\n"
	"\n"
	"This text is part of the internal format of your mail folder.\n"
	"<not@an.id>\n"
	"\n"
	"From tpo@petertosh Fri Oct  4 12:18:13 2002 +0200\n"
	"From: mailsync\n"
	"Subject: all\n"
	"Status: O\n"
	"X-Status:\n"
	"X-Keywords:\n"
	"X-UID: 2095\n"
	"\n"
	"linux/apt\n"
	"<1018460459.4617.23.camel@mpav>\n"
	"<1027985024.1352.19.camel@server1>\n"
	"linux/mailsync\n"
	"<002b01c1e95c$94957390$e349428e@ludwig>\n"
	"<001001c1d37a$39ee3d70$e349428e@ludwig>\n"
	"empty/box\n"
	"linux/apt\n"
	"<1018460459.4617.23.camel@mpav>\n"
	"<third@x> trailing words are ignored, as mailsync does\n"
	"\n"
	"From someone@else Sat Nov 30 18:21:55 2002 +0100\n"
	"From: Someone <someone@example.com>\n"
	"Subject: all\n"
	"\n"
	"box\n"
	"<foreign@x>\n"
	"\n"
	"From tpo@petertosh Sat Nov 30 18:21:55 2002 +0100\n"
	"From: \"Sync\" <mailsync-bot@host>\n"
	"Subject:\n"
	"  other channel\n"
	"\n"
	"\n"
	"<in-the-empty-box@x>\n"
	"INBOX\n"
	"<>\n"
	"\n"
	"From tpo@petertosh Sat Nov 30 18:21:56 2002 +0100\n"
	"From: mailsync\n"
	"Subject: all\n"
	"\n"
	"linux/apt\n"
	"<second-copy-is-ignored@x>\n";

static void test_two_channels(void **state)
{
	(void)state;
	ms_msinfo m;
	ms_err e;
	assert_int_equal(parse(two_channels, &m, &e), 0);
	assert_int_equal(m.nchannels, 2);
	const ms_msinfo_channel *all = ms_msinfo_channel_find(&m, "all");
	assert_non_null(all);
	assert_int_equal(all->line, 11);
	assert_int_equal(all->nboxes, 3);
	const ms_msinfo_box *apt = ms_msinfo_box_find(all, "linux/apt");
	assert_non_null(apt);
	assert_int_equal(apt->nids, 3); /* named twice: merged, the repeated ID once */
	assert_true(ms_msinfo_box_has(apt, MS_MSINFO_MSGID, "<1018460459.4617.23.camel@mpav>"));
	assert_true(ms_msinfo_box_has(apt, MS_MSINFO_MSGID, "<third@x>"));
	assert_false(ms_msinfo_box_has(apt, MS_MSINFO_MSGID, "<second-copy-is-ignored@x>")); /* the first message counts */
	assert_false(ms_msinfo_box_has(apt, MS_MSINFO_MD5, "<third@x>"));
	const ms_msinfo_box *ms = ms_msinfo_box_find(all, "linux/mailsync");
	assert_int_equal(ms->nids, 2);
	assert_true(ms_msinfo_box_has(ms, MS_MSINFO_MSGID, "<001001c1d37a$39ee3d70$e349428e@ludwig>"));
	assert_false(ms_msinfo_box_has(ms, MS_MSINFO_MSGID, "<1018460459.4617.23.camel@mpav>")); /* per box */
	const ms_msinfo_box *eb = ms_msinfo_box_find(all, "empty/box");
	assert_non_null(eb);
	assert_int_equal(eb->nids, 0);
	assert_null(ms_msinfo_box_find(all, "box")); /* the foreign message's */

	const ms_msinfo_channel *o = ms_msinfo_channel_find(&m, "other channel"); /* a folded Subject */
	assert_non_null(o);
	assert_int_equal(o->nboxes, 2);
	const ms_msinfo_box *empty = ms_msinfo_box_find(o, ""); /* an INBOX-only store's empty name */
	assert_non_null(empty);
	assert_true(ms_msinfo_box_has(empty, MS_MSINFO_MSGID, "<in-the-empty-box@x>"));
	assert_true(ms_msinfo_box_has(ms_msinfo_box_find(o, "INBOX"), MS_MSINFO_MSGID, "<>"));
	assert_null(ms_msinfo_channel_find(&m, "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"));
	ms_msinfo_free(&m);
}

static void test_edge_cases(void **state)
{
	(void)state;
	ms_msinfo m;
	ms_err e;
	assert_int_equal(parse("", &m, &e), 0); /* mailsync creates it empty */
	assert_int_equal(m.nchannels, 0);
	ms_msinfo_free(&m);
	/* CRLF lines, md5 identities in upper case, IDs before any box name */
	assert_int_equal(parse("From x\r\nFrom: mailsync\r\nSubject: c\r\n\r\n<a@b>\r\nbox\r\n"
	                       "<>, md5: <D34673922A653815690AB325C2F4C13E>\r\n",
	                       &m, &e),
	                 0);
	const ms_msinfo_channel *c = ms_msinfo_channel_find(&m, "c");
	assert_true(ms_msinfo_box_has(ms_msinfo_box_find(c, ""), MS_MSINFO_MSGID, "<a@b>"));
	assert_true(ms_msinfo_box_has(ms_msinfo_box_find(c, "box"), MS_MSINFO_MD5, "d34673922a653815690ab325c2f4c13e"));
	ms_msinfo_free(&m);
	/* a message without Subject is not a channel's (mailsync: "Info:") */
	assert_int_equal(parse("From x\nFrom: mailsync\n\nbox\n<a@b>\n", &m, &e), 0);
	assert_int_equal(m.nchannels, 0);
	ms_msinfo_free(&m);
}

static void test_damaged(void **state)
{
	(void)state;
	expect_damaged("Subject: not an mbox\n", "msinfo:1: expected a \"From \" line: the msinfo file is not an mbox");
	expect_damaged("From x\nFrom: mailsync\nSubject: c",
	               "msinfo:3: the message that starts at line 1 ends inside its header");
	expect_damaged("From x\nFrom: mailsync\nSubject: c\n\nbox\n<a@b>\n<cut-off@ex",
	               "msinfo:7: a Message-ID line without its closing '>'");
	expect_damaged("From x\nFrom: mailsync\nSubject: c\n\nbox\n<>, md5: <d3467392>\n",
	               "msinfo:6: expected \"<>, md5: <\", 32 hex digits and \">\"");
	expect_damaged("From x\nFrom: mailsync\nSubject: c\n\nbox\n<>, md5: <d34673922a653815690ab325c2f4c13e\n",
	               "msinfo:6: expected \"<>, md5: <\", 32 hex digits and \">\"");
	ms_msinfo m;
	ms_err e = { 0 };
	const char nul[] = "From x\nFrom: mailsync\nSubject: c\n\nbox\n<a\0@b>\n";
	assert_int_equal(ms_msinfo_parse(nul, sizeof nul - 1, "msinfo", &m, &e), -1);
	assert_string_equal(e.msg, "msinfo:6: a NUL byte: this is not a text mailbox (the msinfo file is damaged or "
	                           "truncated; mstore will not guess which messages were in sync)");
	/* every prefix of a good file: an error or a result, never a crash (ASan watches) */
	size_t n = strlen(two_channels);
	for (size_t k = 0; k < n; k++) {
		if (ms_msinfo_parse(two_channels, k, "msinfo", &m, &e) == 0)
			ms_msinfo_free(&m);
	}
}

static void data_path(const char *name, char *out, size_t len)
{
	const char *src = getenv("MSTORE_SRC");
	snprintf(out, len, "%s/tests/unit/data/%s", src ? src : ".", name);
}

/* Written by mailsync 5.2.7 (Debian 12) syncing two local mbox stores:
 * Mail/box1 (one message), Mail/box2 (two with Message-IDs, one without),
 * Mail/empty (none). */
static void test_real_mailsync(void **state)
{
	(void)state;
	char p[PATH_MAX];
	ms_msinfo m;
	ms_err e = { 0 };
	data_path("msinfo-mailsync-5.2.7", p, sizeof p);
	assert_int_equal(ms_msinfo_read(p, &m, &e), 0);
	assert_int_equal(m.nchannels, 1);
	const ms_msinfo_channel *c = ms_msinfo_channel_find(&m, "ch");
	assert_non_null(c);
	assert_int_equal(c->nboxes, 3);
	assert_int_equal(ms_msinfo_box_find(c, "box1")->nids, 1);
	const ms_msinfo_box *b2 = ms_msinfo_box_find(c, "box2");
	assert_int_equal(b2->nids, 3);
	assert_true(ms_msinfo_box_has(b2, MS_MSINFO_MSGID, "<>")); /* the message without Message-ID */
	assert_true(ms_msinfo_box_has(b2, MS_MSINFO_MSGID, "<x@y>"));
	assert_true(ms_msinfo_box_has(b2, MS_MSINFO_MSGID, "<z@y>"));
	assert_int_equal(ms_msinfo_box_find(c, "empty")->nids, 0);
	ms_msinfo_free(&m);

	data_path("msinfo-mailsync-5.2.7-md5", p, sizeof p);
	assert_int_equal(ms_msinfo_read(p, &m, &e), 0);
	c = ms_msinfo_channel_find(&m, "ch5");
	assert_non_null(c);
	b2 = ms_msinfo_box_find(c, "box2");
	assert_int_equal(b2->nids, 3);
	assert_true(ms_msinfo_box_has(b2, MS_MSINFO_MD5, "3932bee1adac35220ca93d35a2b2d5c6"));
	assert_false(ms_msinfo_box_has(b2, MS_MSINFO_MSGID, "<>"));
	ms_msinfo_free(&m);

	assert_int_equal(ms_msinfo_read("/nonexistent/msinfo", &m, &e), -1);
	assert_int_equal(e.code, MS_E_NOTFOUND);
	assert_int_equal(ms_msinfo_read("/", &m, &e), -1);
	assert_int_equal(e.code, MS_E_PARSE); /* a directory: c-client's mix format, not read */
}

static void test_path(void **state)
{
	(void)state;
	char p[64];
	ms_err e = { 0 };
	assert_int_equal(ms_msinfo_path(".msinfo", "/home/ann", p, sizeof p, &e), 0);
	assert_string_equal(p, "/home/ann/.msinfo");
	assert_int_equal(ms_msinfo_path("/var/x", "/home/ann", p, sizeof p, &e), 0);
	assert_string_equal(p, "/var/x");
	assert_int_equal(ms_msinfo_path("{imap.example.com}msinfo", "/home/ann", p, sizeof p, &e), -1);
	assert_non_null(strstr(e.msg, "IMAP server"));
	assert_int_equal(ms_msinfo_path("x", NULL, p, sizeof p, &e), -1);
	assert_int_equal(ms_msinfo_path("x", "/a-very-long-home-directory-name/that-does-not-fit-in-sixty-four-bytes", p, sizeof p, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_channels),
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_real_mailsync),
		cmocka_unit_test(test_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
