/* test_check.c - the detection logic of `mstore check` (channel/check.c)
 * over real Maildir and mbox sides in a temporary directory: each kind of
 * defect planted alone, the exact findings asserted, and clean boxes that
 * must yield none (a quoted >From line, a From line without a date). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel/check.h"
#include "drivers/driver.h"

static char dir[256];

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/mstore-check-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void put(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void mkdirs(const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_int_equal(mkdir(p, 0700), 0);
}

/* What the findings were, one "kind|message|cause" line each. */
typedef struct seen {
	char text[8192];
	ms_check_stats st;
} seen;

static void collect(void *ctx, const ms_check_finding *f)
{
	seen *s = ctx;
	char name[512];
	ms_check_msg_name(f, name, sizeof name);
	size_t n = strlen(s->text);
	snprintf(s->text + n, sizeof s->text - n, "%s|%s|%s\n", ms_check_kind_name(f->kind), name, f->cause);
}

static ms_side *open_side(const char *kind, const char *path)
{
	ms_side_opt opts[1] = { { "path", path } };
	ms_side_conf c = { .name = "t", .opts = opts, .nopts = 1, .read_only = true };
	ms_side *s = NULL;
	ms_err e = { 0 };
	assert_int_equal(ms_side_driver_find(kind)->open(&c, &s, &e), MS_DRV_OK);
	return s;
}

/* Check box `box` of a `kind` side rooted at the temporary directory. */
static void check(const char *kind, const char *box, seen *out)
{
	memset(out, 0, sizeof *out);
	ms_side *s = open_side(kind, dir);
	ms_check_box(s, box, NULL, collect, out, &out->st);
	s->drv->close(s);
}

static void test_kind_names(void **state)
{
	assert_string_equal(ms_check_kind_name(MS_CHECK_MBOX_SPLIT), "mbox-split");
	assert_string_equal(ms_check_kind_name(MS_CHECK_NO_MSGID), "no-message-id");
	assert_false(ms_check_kind_is_defect(MS_CHECK_NO_MSGID));
	assert_true(ms_check_kind_is_defect(MS_CHECK_DUPLICATE));
	char buf[64];
	ms_check_finding f = { .uid = 7 };
	ms_check_msg_name(&f, buf, sizeof buf);
	assert_string_equal(buf, "UID 7");
	f.has_offset = true, f.offset = 1234;
	ms_check_msg_name(&f, buf, sizeof buf);
	assert_string_equal(buf, "offset 1234");
	f.file = "cur/x:2,S";
	ms_check_msg_name(&f, buf, sizeof buf);
	assert_string_equal(buf, "cur/x:2,S");
	f = (ms_check_finding){ 0 };
	ms_check_msg_name(&f, buf, sizeof buf);
	assert_string_equal(buf, "-");
}

static void maildir(void)
{
	mkdirs("cur");
	mkdirs("new");
	mkdirs("tmp");
}

static void test_maildir_clean(void **state)
{
	maildir();
	put("cur/1.A.h:2,S", "From: a@x\nMessage-ID: <a@x>\n\nbody\n");
	put("new/2.B.h", "From: a@x\nMessage-ID: <b@x>\n\nbody\n");
	seen s;
	check("maildir", "INBOX", &s);
	assert_string_equal(s.text, "");
	assert_int_equal(s.st.folders, 1);
	assert_int_equal(s.st.messages, 2);
}

static void test_maildir_defects(void **state)
{
	maildir();
	put("cur/1.A.h:2,S", "From: a@x\nMessage-ID: <a@x>\n\nbody\n");
	put("cur/2.B.h:2,", "From: a@x\nMessage-ID: <a@x>\n\nbody\n");             /* same id, same bytes */
	put("new/3.C.h", "From: a@x\nMessage-ID: <a@x>\nSubject: other\n\nbody\n"); /* same id, other bytes */
	put("new/4.D.h", "");                                                       /* 0 bytes */
	put("cur/5.E.h:2,S", "From: n@x\n\nno id\n");
	put("cur/6.F.h:2,S", "From: n@x\n\nno id\n");                               /* same bytes, no id */
	put("cur/7.G.h:2,S", "From: n@x\n\nanother\n");                             /* no id, not a duplicate */
	put("cur/8.H.h:2,", "just some text\nno header here\n");                     /* no header field */
	put("cur/9.I.h:1,S", "From: a@x\n\nx\n");                                    /* bad info */
	put("new/.dot", "x");
	mkdirs("cur/sub");
	seen s;
	check("maildir", "INBOX", &s);
	/* the driver's anomalies first (by path), then
	   unparsable messages, notes and duplicates in UID order */
	assert_string_equal(s.text,
		"maildir-name|cur/9.I.h:1,S|an info suffix other than ':2,'\n"
		"maildir-name|cur/sub|a directory\n"
		"maildir-name|new/.dot|a dot file (maildir readers skip them)\n"
		"unparsable|new/4.D.h|0 bytes\n"
		"unparsable|cur/8.H.h:2,|no header field at all: not a message\n"
		"no-message-id|cur/5.E.h:2,S|no Message-ID\n"
		"no-message-id|cur/6.F.h:2,S|no Message-ID\n"
		"no-message-id|cur/7.G.h:2,S|no Message-ID\n"
		"duplicate|cur/2.B.h:2,|the same Message-ID as cur/1.A.h:2,S, the same content\n"
		"duplicate|new/3.C.h|the same Message-ID as cur/1.A.h:2,S, a different content\n"
		"duplicate|cur/6.F.h:2,S|the same content as cur/5.E.h:2,S (no Message-ID)\n");
	assert_int_equal(s.st.messages, 8);
	assert_int_equal(s.st.by_kind[MS_CHECK_DUPLICATE], 3);
	assert_int_equal(s.st.by_kind[MS_CHECK_NO_MSGID], 3);
}

static void test_unreadable_box(void **state)
{
	maildir();
	seen s;
	check("maildir", "Nope", &s);
	assert_non_null(strstr(s.text, "unreadable|-|side t: there is no box Nope"));
	assert_int_equal(s.st.folders, 0);
	assert_int_equal(s.st.by_kind[MS_CHECK_UNREADABLE], 1);
}

#define F1 "From a@b Mon Jan  1 00:00:00 2024\n"

static void test_mbox_clean(void **state)
{
	/* a quoted From line and one without a date split nothing */
	put("box", F1 "Message-ID: <1@x>\n\nhello\n>From me Mon Jan  1 00:00:00 2024\nFrom me, greetings\n\n"
	           F1 "Message-ID: <2@x>\nContent-Length: 3\n\nabc\n\n");
	seen s;
	check("mbox", "box", &s);
	assert_string_equal(s.text, "");
	assert_int_equal(s.st.messages, 2);
}

static void test_mbox_split(void **state)
{
	/* at offset 59 a dated From line after a body line; at 106 one after
	   a blank line, starting no header */
	put("box", F1 "Message-ID: <1@x>\n\nhello\n" F1 "rest of one\n\n" F1 "more text\n\n"
	           F1 "Message-ID: <2@x>\n\nok\n\n");
	seen s;
	check("mbox", "box", &s);
	assert_string_equal(s.text,
		"mbox-split|offset 59|a From line after a non-blank line, starting no header: an unquoted \"From \" "
		"body line split the message before it\n"
		"mbox-split|offset 106|no header: probably the rest of the message before it, split at an unquoted "
		"\"From \" line\n");
	assert_int_equal(s.st.messages, 4);
}

static void test_mbox_split_with_header(void **state)
{
	/* a From line right after a body line, followed by something that
	   looks like a header */
	put("box", F1 "Message-ID: <1@x>\n\nhello\n" F1 "Subject: looks like one\n\nx\n\n");
	seen s;
	check("mbox", "box", &s);
	assert_string_equal(s.text, "mbox-split|offset 59|a From line after a non-blank line: probably an unquoted "
	                            "\"From \" body line that split the message before it\n"
	                            "no-message-id|offset 59|no Message-ID\n");
}

static void test_mbox_truncated(void **state)
{
	seen s;
	put("a", F1 "Message-ID: <1@x>\n\nok\n\n" F1 "Message-ID: <2@x>\n\nthe body is cu");
	check("mbox", "a", &s);
	assert_string_equal(s.text, "mbox-truncated|offset 57|cut short: the file ends inside a line\n");
	put("b", F1 "Message-ID: <1@x>\nSubject: cut\n");
	check("mbox", "b", &s);
	assert_string_equal(s.text, "mbox-truncated|offset 0|cut short: its header never ends\n");
	put("c", F1 "Message-ID: <1@x>\nContent-Length: 100\n\nonly this\n");
	check("mbox", "c", &s);
	assert_string_equal(s.text,
		"mbox-truncated|offset 0|cut short: its Content-Length promises more bytes than there are\n");
}

static void test_mbox_empty_and_duplicates(void **state)
{
	put("box", F1 "\n" F1 "Message-ID: <1@x>\n\nsame\n\n" F1 "Message-ID: <1@x>\nStatus: RO\n\nsame\n\n");
	seen s;
	check("mbox", "box", &s);
	/* the flags (Status) are no part of the content: the copies are the same */
	/* the empty message: its separator's blank line and nothing else */
	assert_string_equal(s.text, "unparsable|offset 0|no header field at all: not a message\n"
	                            "duplicate|offset 94|the same Message-ID as offset 35, the same content\n");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names), T(test_maildir_clean), T(test_maildir_defects), T(test_unreadable_box),
		T(test_mbox_clean), T(test_mbox_split), T(test_mbox_split_with_header), T(test_mbox_truncated),
		T(test_mbox_empty_and_duplicates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
