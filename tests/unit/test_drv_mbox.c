/* test_drv_mbox.c - what is particular to the mbox side (drivers/drv_mbox.c):
 * the file format (From quoting, separators, CRLF, truncated and foreign
 * files), flags in Status/X-Status, locking against other writers, and
 * the rewrite through a temporary file.  The contract every driver keeps
 * is tested by the generic driver conformance suite; this file holds only
 * what is mbox's own.
 *
 * Every test works in a fresh temporary directory, the side's `path`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/drv_mbox.h"
#include "driver_conformance.h"

static char dir[256];

/* ---- helpers ---------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	chmod(path, 0700);
	return remove(path);
}

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/mstore-mbox-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	unsetenv("MSTORE_MBOX_LOCK_MS");
	unsetenv("MSTORE_TEST_HOOK_AT");
	return 0;
}

static int teardown(void **state)
{
	chmod(dir, 0700);
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void path_of(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void put_file(const char *name, const char *text)
{
	char p[512];
	path_of(name, p, sizeof p);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The whole file `name` (NUL-terminated); *len its size. */
static char *get_file(const char *name, size_t *len)
{
	char p[512];
	path_of(name, p, sizeof p);
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static ms_side *open_side_opts(bool read_only, const char *inbox)
{
	ms_side_opt opts[2] = { { "path", dir }, { "inbox", inbox } };
	ms_side_conf c = { .name = "mb", .opts = opts, .nopts = inbox ? 2 : 1, .read_only = read_only };
	ms_side *s = NULL;
	ms_err e = { 0 };
	const ms_side_driver *d = ms_side_driver_find("mbox");
	assert_non_null(d);
	if (d->open(&c, &s, &e) != MS_DRV_OK)
		fail_msg("open: %s", e.msg);
	return s;
}

static ms_side *open_side(void)
{
	return open_side_opts(false, NULL);
}

static ms_box *open_box(ms_side *s, const char *name)
{
	ms_box *b = NULL;
	ms_err e = { 0 };
	if (s->drv->open_box(s, name, &b, &e) != MS_DRV_OK)
		fail_msg("open_box %s: %s", name, e.msg);
	return b;
}

static ms_msg *list(ms_box *b, size_t *n)
{
	ms_list_req req = { .want = MS_WANT_MSGID };
	ms_msg *v = NULL;
	ms_err e = { 0 };
	if (b->side->drv->list_msgs(b, &req, &v, n, &e) != MS_DRV_OK)
		fail_msg("list_msgs: %s", e.msg);
	return v;
}

typedef struct fetched {
	char *data[64];
	size_t len[64];
	ms_drv_result res[64];
} fetched;

static void fetch_cb(void *ctx, size_t i, ms_drv_result r, const char *data, size_t len, const ms_err *why)
{
	fetched *f = ctx;
	(void)why;
	f->res[i] = r;
	f->len[i] = len;
	f->data[i] = malloc(len + 1);
	memcpy(f->data[i], data ? data : "", len);
	f->data[i][len] = '\0';
}

/* The bytes of message `uid`, a new string. */
static char *fetch1(ms_box *b, uint32_t uid, size_t *len)
{
	fetched f = { 0 };
	ms_err e = { 0 };
	if (b->side->drv->fetch(b, &uid, 1, fetch_cb, &f, &e) != MS_DRV_OK)
		fail_msg("fetch: %s", e.msg);
	assert_int_equal(f.res[0], MS_DRV_OK);
	if (len)
		*len = f.len[0];
	return f.data[0];
}

typedef struct items {
	size_t calls;
	ms_drv_result res[64];
	uint32_t uid[64];
	char why[64][256];
} items;

static void item_cb(void *ctx, size_t i, ms_drv_result r, uint32_t uid, const char *key, const ms_err *why)
{
	(void)key;
	items *it = ctx;
	it->calls++;
	it->res[i] = r;
	it->uid[i] = uid;
	snprintf(it->why[i], sizeof it->why[i], "%s", why ? why->msg : "");
}

static ms_drv_result append(ms_box *b, const char *data, unsigned flags, time_t date, items *it, ms_err *e)
{
	ms_append a = { .data = data, .len = strlen(data), .flags = flags, .internal_date = date };
	return b->side->drv->append(b, &a, 1, item_cb, it, e);
}

static void must_append(ms_box *b, const char *data, unsigned flags, time_t date)
{
	items it = { 0 };
	ms_err e = { 0 };
	if (append(b, data, flags, date, &it, &e) != MS_DRV_OK)
		fail_msg("append: %s", e.msg);
	assert_int_equal(it.res[0], MS_DRV_OK);
}

static ms_drv_result set_flags(ms_box *b, uint32_t uid, unsigned add, unsigned remove, ms_err *e)
{
	ms_flag_change c = { .uid = uid, .add = add, .remove = remove };
	items it = { 0 };
	return b->side->drv->set_flags(b, &c, 1, item_cb, &it, e);
}

static ms_drv_result expunge(ms_box *b, const uint32_t *uids, size_t n, items *it, ms_err *e)
{
	return b->side->drv->expunge(b, uids, n, item_cb, it, e);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t k = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		k++;
	return k;
}

/* No file of the directory has the temporary infix or is a lock. */
static void assert_no_leftovers(void)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));)
		if (strstr(de->d_name, ".mstore-tmp.") || strstr(de->d_name, ".lock"))
			fail_msg("left behind: %s", de->d_name);
	closedir(d);
}

static const char three[] =
	"From alice@example.com Mon Jan  6 10:00:00 2020\n"
	"From: alice@example.com\nMessage-ID: <one@x>\nStatus: RO\nX-Status: AF\nSubject: one\n\nbody one\n\n"
	"From bob@example.com Tue Jan  7 11:30:00 2020\n"
	"From: bob@example.com\nMessage-ID: <two@x>\nStatus: O\nSubject: two\n\nbody two\n>From quoted\n\n"
	"From carol Wed Jan  8 12:00:00 2020\n"
	"From: carol@example.com\nMessage-ID: <three@x>\nX-Status: DT\nSubject: three\n\nbody three\n\n";

/* ---- configuration and boxes --------------------------------------------------- */

static void test_open_missing_path(void **state)
{
	assert_ptr_equal(ms_side_driver_find("mbox"), &ms_drv_mbox);
	ms_side_opt opts[] = { { "path", "/nonexistent/mstore-mbox" } };
	ms_side_conf c = { .name = "mb", .opts = opts, .nopts = 1 };
	ms_side *s = (ms_side *)1;
	ms_err e = { 0 };
	assert_int_equal(ms_drv_mbox.open(&c, &s, &e), MS_DRV_SIDE_BAD);
	assert_null(s);
	assert_non_null(strstr(e.msg, "/nonexistent/mstore-mbox"));
	assert_non_null(strstr(e.msg, "does not exist"));
	ms_side_conf none = { .name = "mb" };
	assert_int_equal(ms_drv_mbox.open(&none, &s, &e), MS_DRV_SIDE_BAD);
	assert_non_null(strstr(e.msg, "needs a path"));
}

static bool has_box(ms_box_info *v, size_t n, const char *name, unsigned attrs)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].attrs == attrs;
	return false;
}

static void test_list_boxes(void **state)
{
	char p[512];
	put_file("INBOX", "");
	put_file("Sent", three);
	put_file("README", "not a mailbox\n");
	put_file(".hidden", "");
	put_file("Sent.lock", "");
	put_file("bad\nname", three); /* a control character: skipped, as Maildir skips it */
	path_of("Lists", p, sizeof p);
	mkdir(p, 0700);
	put_file("Lists/dev", three);
	path_of("Empty", p, sizeof p);
	mkdir(p, 0700);
	ms_side *s = open_side();
	ms_box_info *v;
	size_t n;
	ms_err e = { 0 };
	assert_int_equal(s->drv->list_boxes(s, &v, &n, &e), MS_DRV_OK);
	assert_int_equal(n, 5);
	size_t nskip;
	const ms_skipped_entry *skip = ms_mbox_side_skipped(s, &nskip);
	assert_int_equal(nskip, 1);
	assert_string_equal(skip[0].path, "bad\nname");
	assert_true(has_box(v, n, "INBOX", 0));
	assert_true(has_box(v, n, "Sent", 0));
	assert_true(has_box(v, n, "Lists", MS_BOX_NOSELECT | MS_BOX_HAS_CHILDREN));
	assert_true(has_box(v, n, "Lists/dev", 0));
	assert_true(has_box(v, n, "Empty", MS_BOX_NOSELECT));
	assert_int_equal(s->delim, '/');
	assert_false(s->caps & MS_CAP_UID_STABLE);
	ms_box_list_free(v, n);
	s->drv->close(s);

	/* a lower-case inbox is the INBOX by default */
	path_of("INBOX", p, sizeof p);
	char lower[512];
	path_of("inbox", lower, sizeof lower);
	assert_int_equal(rename(p, lower), 0);
	s = open_side();
	assert_int_equal(s->drv->list_boxes(s, &v, &n, &e), MS_DRV_OK);
	assert_true(has_box(v, n, "INBOX", 0));
	assert_int_equal(n, 5);
	ms_box_list_free(v, n);
	s->drv->close(s);

	/* an inbox elsewhere: the top-level file INBOX is not the INBOX */
	char spool[512];
	path_of("spool", spool, sizeof spool);
	mkdir(spool, 0700);
	put_file("spool/me", three);
	s = open_side_opts(false, spool);
	s->drv->close(s);
	strcat(spool, "/me");
	s = open_side_opts(false, spool);
	assert_int_equal(s->drv->list_boxes(s, &v, &n, &e), MS_DRV_OK);
	assert_true(has_box(v, n, "INBOX", 0));
	size_t inboxes = 0;
	for (size_t i = 0; i < n; i++)
		inboxes += strcasecmp(v[i].name, "INBOX") == 0;
	assert_int_equal(inboxes, 1);
	ms_box_list_free(v, n);
	ms_box *b = open_box(s, "INBOX");
	assert_int_equal(b->status.count, 3);
	s->drv->close_box(b);
	s->drv->close(s);
}

static void test_create_delete(void **state)
{
	ms_side *s = open_side();
	ms_err e = { 0 };
	char p[512];
	struct stat st;
	assert_int_equal(s->drv->create_box(s, "a/b/c", &e), MS_DRV_OK);
	path_of("a/b/c", p, sizeof p);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	assert_int_equal(s->drv->create_box(s, "a/b/c", &e), MS_DRV_OK);
	assert_int_equal(s->drv->create_box(s, "INBOX", &e), MS_DRV_OK);
	const char *bad[] = { ".x", "a/../b", "a//b", "x.lock", "/abs", "a/", "a\nb", "x/\x1b[2J" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(s->drv->create_box(s, bad[i], &e), MS_DRV_BOX_BAD);
	assert_int_equal(s->drv->create_box(s, "a/b", &e), MS_DRV_BOX_BAD); /* a directory */

	put_file("full", three);
	assert_int_equal(s->drv->delete_box(s, "full", &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "holds messages"));
	assert_int_equal(s->drv->delete_box(s, "INBOX", &e), MS_DRV_BOX_BAD);
	assert_int_equal(s->drv->delete_box(s, "nope", &e), MS_DRV_BOX_BAD);
	assert_int_equal(s->drv->delete_box(s, "a/b", &e), MS_DRV_BOX_BAD); /* has children */
	assert_int_equal(s->drv->delete_box(s, "a/b/c", &e), MS_DRV_OK);
	path_of("a/b/c", p, sizeof p);
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(s->drv->delete_box(s, "a/b", &e), MS_DRV_OK);
	s->drv->close(s);
}

/* ---- reading ---------------------------------------------------------------------- */

static void test_read_flags_dates(void **state)
{
	put_file("box", three);
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	assert_int_equal(b->status.count, 3);
	assert_int_equal(b->status.uidnext, 4);
	size_t n;
	ms_msg *v = list(b, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].flags, MS_FLAG_SEEN | MS_FLAG_ANSWERED | MS_FLAG_FLAGGED);
	assert_int_equal(v[1].flags, 0);
	assert_int_equal(v[2].flags, MS_FLAG_DELETED | MS_FLAG_DRAFT);
	assert_string_equal(v[0].msgid, "one@x");
	assert_string_equal(v[2].msgid, "three@x");
	assert_null(v[0].key);
	struct tm tm = { .tm_year = 120, .tm_mon = 0, .tm_mday = 7, .tm_hour = 11, .tm_min = 30, .tm_isdst = -1 };
	assert_int_equal(v[1].internal_date, mktime(&tm));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].uid, i + 1);
	/* the size is what fetch returns: unquoted, without the separator */
	size_t len;
	char *m = fetch1(b, 2, &len);
	assert_int_equal(len, v[1].size);
	assert_non_null(strstr(m, "\nFrom quoted\n"));
	assert_int_equal(m[len - 1], '\n');
	assert_int_not_equal(m[len - 2], '\n');
	free(m);
	ms_msg_list_free(v, n);
	/* paging */
	ms_list_req req = { .after_uid = 1, .max = 1 };
	ms_err e = { 0 };
	assert_int_equal(s->drv->list_msgs(b, &req, &v, &n, &e), MS_DRV_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].uid, 2);
	assert_null(v[0].msgid);
	ms_msg_list_free(v, n);
	s->drv->close_box(b);
	s->drv->close(s);
}

static void test_quoting_round_trip(void **state)
{
	put_file("box", "");
	const char *msg = "From: q@example.com\nMessage-ID: <q@x>\n\nFrom me\n>From me\n>>From\n>>From x\nFromage\n"
	                  " From not at the start\n";
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	must_append(b, msg, 0, 1600000000);
	must_append(b, "From: r@example.com\n\nFrom the start\n", 0, 1600000000);
	size_t len;
	char *got = fetch1(b, 1, &len);
	assert_string_equal(got, msg);
	free(got);
	s->drv->close_box(b);

	char *raw = get_file("box", NULL);
	assert_non_null(strstr(raw, "\n\n>From me\n>>From me\n>>From\n>>>From x\nFromage\n From not"));
	/* ">>From" without a space is no From line: left as it is */
	assert_int_equal(count_of(raw, "\nFrom "), 1); /* only the second message's From line */
	free(raw);

	b = open_box(s, "box");
	assert_int_equal(b->status.count, 2);
	got = fetch1(b, 1, &len);
	assert_string_equal(got, msg);
	free(got);
	got = fetch1(b, 2, NULL);
	assert_string_equal(got, "From: r@example.com\n\nFrom the start\n");
	free(got);
	s->drv->close_box(b);
	s->drv->close(s);
}

/* mboxrd reading of an mboxo file: its genuine ">From " loses one '>' */
/* Content-Length is not trusted: the message ends at the next From line */
static void test_content_length_ignored(void **state)
{
	put_file("box", "From a Mon Jan  6 10:00:00 2020\nSubject: a\nContent-Length: 3\n\none\ntwo\nthree\n\n"
	                "From b Mon Jan  6 10:00:00 2020\nSubject: b\nContent-Length: 9999\n\nx\n\n"
	                "From c Mon Jan  6 10:00:00 2020\nSubject: c\n\ny\n\n");
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	assert_int_equal(b->status.count, 3);
	char *got = fetch1(b, 1, NULL);
	assert_string_equal(got, "Subject: a\n\none\ntwo\nthree\n"); /* and hidden, as Dovecot does */
	free(got);
	got = fetch1(b, 2, NULL);
	assert_string_equal(got, "Subject: b\n\nx\n");
	free(got);
	s->drv->close_box(b);
	s->drv->close(s);
}

/* The mbox's bookkeeping (Status, X-Status, X-Keywords, X-UID, X-IMAP,
 * X-IMAPbase, Content-Length) is not part of what fetch returns, so a flag
 * change leaves a message's bytes as they were; a rewrite keeps another
 * program's X-UID and X-IMAPbase; c-client's pseudo-message (X-IMAP in the
 * first message) is no message but stays in the file. */
static void test_bookkeeping_hidden(void **state)
{
	const char *pseudo = "From MAILER-DAEMON Mon Jan  6 09:00:00 2020\nDate: Mon, 6 Jan 2020 09:00:00 +0000\n"
	                     "From: Mail System Internal Data <MAILER-DAEMON@host>\n"
	                     "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1578300000 0000000002\n"
	                     "Status: RO\n\nThis text is part of the internal format of your mail folder.\n\n";
	char text[2048];
	snprintf(text, sizeof text, "%s%s", pseudo,
	         "From a Mon Jan  6 10:00:00 2020\nSubject: a\nX-UID: 1\nStatus: O\nX-Keywords: $Label1\n\nbody a\n\n"
	         "From b Mon Jan  6 10:00:00 2020\nSubject: b\nX-UID: 2\nX-Status: A\nContent-Length: 7\n\nbody b\n\n");
	put_file("box", text);
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	assert_int_equal(b->status.count, 2);
	size_t n, len;
	ms_msg *v = list(b, &n);
	char *a1 = fetch1(b, 1, &len);
	assert_string_equal(a1, "Subject: a\n\nbody a\n");
	assert_int_equal(v[0].size, len);
	char *b1 = fetch1(b, 2, &len);
	assert_string_equal(b1, "Subject: b\n\nbody b\n");
	assert_int_equal(v[1].size, len);
	assert_int_equal(v[1].flags, MS_FLAG_ANSWERED);
	ms_msg_list_free(v, n);
	ms_err e = { 0 };
	assert_int_equal(set_flags(b, 1, MS_FLAG_SEEN | MS_FLAG_FLAGGED, 0, &e), MS_DRV_OK);
	char *a2 = fetch1(b, 1, NULL);
	assert_string_equal(a2, a1);
	uint32_t two = 2;
	items it = { 0 };
	assert_int_equal(expunge(b, &two, 1, &it, &e), MS_DRV_OK);
	/* an appended message brings no bookkeeping along */
	must_append(b, "Subject: c\nX-UID: 77\nX-IMAPbase: 1 2\nStatus: RO\nContent-Length: 1\n\nc\n", 0, 1600000000);
	v = list(b, &n);
	char *c = fetch1(b, 3, &len);
	assert_string_equal(c, "Subject: c\n\nc\n");
	assert_int_equal(v[1].size, len);
	ms_msg_list_free(v, n);
	s->drv->close_box(b);
	char *raw = get_file("box", NULL);
	assert_memory_equal(raw, pseudo, strlen(pseudo));
	assert_non_null(strstr(raw, "Subject: a\nX-UID: 1\nX-Keywords: $Label1\nStatus: RO\nX-Status: F\n\nbody a\n\n"));
	assert_null(strstr(raw, "X-UID: 77"));
	assert_null(strstr(raw, "body b"));
	free(raw);
	b = open_box(s, "box");
	assert_int_equal(b->status.count, 2);
	s->drv->close_box(b);
	s->drv->close(s);
	free(a1), free(a2), free(b1), free(c);
}

static void test_mboxo_trade(void **state)
{
	put_file("box", "From a Mon Jan  6 10:00:00 2020\nSubject: o\n\n>From quoted by mboxo\n>From genuine\n\n");
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	char *got = fetch1(b, 1, NULL);
	assert_string_equal(got, "Subject: o\n\nFrom quoted by mboxo\nFrom genuine\n");
	free(got);
	s->drv->close_box(b);
	s->drv->close(s);
}

static void test_truncated(void **state)
{
	/* the last message was cut in its body: no newline, no separator */
	put_file("box", "From a Mon Jan  6 10:00:00 2020\nSubject: a\n\nfull\n\n"
	                "From b Mon Jan  6 10:00:00 2020\nSubject: b\nMessage-ID: <b@x>\n\nthis was cu");
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	assert_int_equal(b->status.count, 2);
	size_t n;
	ms_msg *v = list(b, &n);
	char *got = fetch1(b, 2, NULL);
	assert_string_equal(got, "Subject: b\nMessage-ID: <b@x>\n\nthis was cu");
	assert_int_equal(v[1].size, strlen(got));
	free(got);
	ms_msg_list_free(v, n);
	/* an append ends the cut message first, so nothing runs into the next */
	must_append(b, "Subject: c\n\nnew\n", MS_FLAG_SEEN, 1600000000);
	got = fetch1(b, 2, NULL);
	assert_string_equal(got, "Subject: b\nMessage-ID: <b@x>\n\nthis was cu\n");
	free(got);
	s->drv->close_box(b);
	b = open_box(s, "box");
	assert_int_equal(b->status.count, 3);
	got = fetch1(b, 2, NULL);
	assert_string_equal(got, "Subject: b\nMessage-ID: <b@x>\n\nthis was cu\n");
	free(got);
	got = fetch1(b, 3, NULL);
	assert_string_equal(got, "Subject: c\n\nnew\n");
	free(got);
	s->drv->close_box(b);
	s->drv->close(s);
}

/* A From line right after a body line (no blank line before it, as
 * sloppy writers leave) still starts a message: GMime and the check
 * against it agree. */
static void test_from_without_blank(void **state)
{
	put_file("box", "From a Mon Jan  6 10:00:00 2020\nSubject: a\n\nbody\n"
	                "From b Mon Jan  6 10:00:00 2020\nSubject: b\n\nsecond\n");
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	assert_int_equal(b->status.count, 2);
	char *got = fetch1(b, 1, NULL);
	assert_string_equal(got, "Subject: a\n\nbody\n");
	free(got);
	s->drv->close_box(b);
	s->drv->close(s);
}

/* Unquoted "From " body lines without a date do not split a message
 * (c-client, mutt and Dovecot agree; GMime's mbox parser splits at the
 * first and, inside a MIME part, swallows the next message whole); one
 * with a date does. */
static void test_unquoted_from_lines(void **state)
{
	put_file("box", "From a Mon Jan  6 10:00:00 2020\nSubject: a\nMIME-Version: 1.0\n"
	                "Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\ntext\n\n"
	                "From here it is another message\n--zz--\n\n"
	                "From b Mon Jan  6 10:00:00 2020\nSubject: b\n\nsecond\n");
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	assert_int_equal(b->status.count, 2);
	char *got = fetch1(b, 1, NULL);
	assert_non_null(strstr(got, "\n\nFrom here it is another message\n--zz--\n"));
	free(got);
	s->drv->close_box(b);
	put_file("box", "From a Mon Jan  6 10:00:00 2020\nSubject: a\n\nFrom me\n"
	                "From someone Sat Feb  1 08:00:00 PST 2020\nSubject: b\n\nx\n\n"
	                "From c@x Sat Feb  1 08:00:00 2020 +0100\nSubject: c\n\ny\n");
	b = open_box(s, "box");
	assert_int_equal(b->status.count, 3);
	size_t n;
	ms_msg *v = list(b, &n);
	assert_int_equal(v[2].internal_date, 1580540400); /* 2020-02-01 07:00 UTC */
	assert_int_not_equal(v[1].internal_date, 0);
	ms_msg_list_free(v, n);
	got = fetch1(b, 1, NULL);
	assert_string_equal(got, "Subject: a\n\nFrom me\n");
	free(got);
	s->drv->close_box(b);
	s->drv->close(s);
}

static void test_not_mbox_and_empty(void **state)
{
	put_file("notes", "Hello, this is not an mbox\nFrom here on\n");
	put_file("nodate", "From somebody without a date\nSubject: x\n\nx\n");
	put_file("empty", "");
	ms_side *s = open_side();
	ms_box *b = NULL;
	ms_err e = { 0 };
	assert_int_equal(s->drv->open_box(s, "notes", &b, &e), MS_DRV_BOX_BAD);
	assert_null(b);
	assert_non_null(strstr(e.msg, "does not begin with"));
	assert_non_null(strstr(e.msg, "notes"));
	assert_int_equal(s->drv->open_box(s, "nodate", &b, &e), MS_DRV_BOX_BAD);
	assert_int_equal(s->drv->open_box(s, "missing", &b, &e), MS_DRV_BOX_BAD);
	b = open_box(s, "empty");
	assert_int_equal(b->status.count, 0);
	items it = { 0 };
	assert_int_equal(append(b, "", 0, 0, &it, &e), MS_DRV_OK);
	assert_int_equal(it.res[0], MS_DRV_MSG_BAD);
	assert_non_null(strstr(it.why[0], "empty message"));
	must_append(b, "Subject: first\n\nhi\n", 0, 1600000000);
	s->drv->close_box(b);
	char *raw = get_file("empty", NULL);
	assert_memory_equal(raw, "From MAILER-DAEMON ", 19);
	assert_non_null(strstr(raw, "\n\nhi\n\n"));
	free(raw);
	s->drv->close(s);
}

static void test_crlf(void **state)
{
	put_file("box", "From a Mon Jan  6 10:00:00 2020\r\nSubject: a\r\nStatus: RO\r\n\r\nline\r\n>From x\r\n\r\n"
	                "From b Mon Jan  6 10:00:00 2020\r\nSubject: b\r\n\r\nsecond\r\n\r\n");
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	assert_int_equal(b->status.count, 2);
	size_t n;
	ms_msg *v = list(b, &n);
	assert_int_equal(v[0].flags, MS_FLAG_SEEN);
	ms_msg_list_free(v, n);
	char *got = fetch1(b, 1, NULL);
	assert_string_equal(got, "Subject: a\r\n\r\nline\r\nFrom x\r\n");
	free(got);
	ms_err e = { 0 };
	assert_int_equal(set_flags(b, 2, MS_FLAG_FLAGGED, 0, &e), MS_DRV_OK);
	must_append(b, "Subject: c\r\n\r\nthird\r\n", MS_FLAG_SEEN, 1600000000);
	s->drv->close_box(b);
	char *raw = get_file("box", NULL);
	for (char *p = raw; (p = strchr(p, '\n')); p++)
		assert_int_equal(p[-1], '\r');
	assert_non_null(strstr(raw, "Subject: b\r\nX-Status: F\r\n\r\nsecond\r\n\r\nFrom MAILER-DAEMON "));
	free(raw);
	b = open_box(s, "box");
	assert_int_equal(b->status.count, 3);
	v = list(b, &n);
	assert_int_equal(v[1].flags, MS_FLAG_FLAGGED);
	assert_int_equal(v[2].flags, MS_FLAG_SEEN);
	ms_msg_list_free(v, n);
	s->drv->close_box(b);
	s->drv->close(s);
}

/* ---- writing -------------------------------------------------------------------- */

static void test_flags_round_trip(void **state)
{
	put_file("box", "");
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	for (unsigned f = 0; f <= MS_FLAGS_ALL; f++)
		must_append(b, "Subject: f\nStatus: RO\nX-Status: ADFT\n\nx\n", f, 1500000000 + (time_t)f);
	s->drv->close_box(b);
	b = open_box(s, "box");
	size_t n;
	ms_msg *v = list(b, &n);
	assert_int_equal(n, MS_FLAGS_ALL + 1);
	for (unsigned f = 0; f <= MS_FLAGS_ALL; f++) {
		assert_int_equal(v[f].flags, f);
		assert_int_equal(v[f].internal_date, 1500000000 + (time_t)f);
	}
	ms_msg_list_free(v, n);
	/* a change rewrites Status/X-Status and keeps O (not Recent) as it was */
	ms_err e = { 0 };
	s->drv->close_box(b);
	put_file("old", "From a Mon Jan  6 10:00:00 2020\nSubject: a\nStatus: O\n\nx\n\n");
	b = open_box(s, "old");
	assert_int_equal(set_flags(b, 1, MS_FLAG_SEEN | MS_FLAG_ANSWERED, 0, &e), MS_DRV_OK);
	assert_int_equal(set_flags(b, 1, MS_FLAG_DRAFT, MS_FLAG_ANSWERED, &e), MS_DRV_OK);
	v = list(b, &n);
	assert_int_equal(v[0].flags, MS_FLAG_SEEN | MS_FLAG_DRAFT);
	ms_msg_list_free(v, n);
	s->drv->close_box(b);
	char *raw = get_file("old", NULL);
	assert_string_equal(raw, "From a Mon Jan  6 10:00:00 2020\nSubject: a\nStatus: RO\nX-Status: T\n\nx\n\n");
	free(raw);
	/* unknown UIDs fail alone */
	b = open_box(s, "old");
	ms_flag_change ch[2] = { { .uid = 9, .add = MS_FLAG_SEEN }, { .uid = 1, .remove = MS_FLAG_SEEN } };
	items it = { 0 };
	assert_int_equal(s->drv->set_flags(b, ch, 2, item_cb, &it, &e), MS_DRV_OK);
	assert_int_equal(it.calls, 2);
	assert_int_equal(it.res[0], MS_DRV_MSG_BAD);
	assert_non_null(strstr(it.why[0], "UID 9"));
	assert_int_equal(it.res[1], MS_DRV_OK);
	s->drv->close_box(b);
	s->drv->close(s);
	assert_no_leftovers();
}

/* A flag change leaves what fetch returns as it was, for odd messages
 * too: empty, all header, cut without a newline, ending in a blank line
 * at the end of the file, headed by an indented line. */
static void test_flags_keep_bytes(void **state)
{
	put_file("box", "From a Mon Jan  6 10:00:00 2020\n"
	                "From b Mon Jan  6 10:00:00 2020\nSubject: all header\nStatus: O\n\n"
	                "From c Mon Jan  6 10:00:00 2020\n X-Indented: 1\nStatus: RO\nSubject: c\n\n"
	                "From d Mon Jan  6 10:00:00 2020\n\nno header\n\n"
	                "From e Mon Jan  6 10:00:00 2020\nSubject: e\n\nblank at the end\n\n\n"
	                "From f Mon Jan  6 10:00:00 2020\nX-Status: A\nSubject: f\n\ncut");
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	assert_int_equal(b->status.count, 6);
	char *before[6];
	for (uint32_t u = 1; u <= 6; u++)
		before[u - 1] = fetch1(b, u, NULL);
	ms_err e = { 0 };
	static const unsigned sets[] = { 5, 0, MS_FLAGS_ALL, 10, 0, MS_FLAG_SEEN };
	for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
		unsigned f = sets[k];
		ms_flag_change ch[6];
		for (uint32_t u = 1; u <= 6; u++)
			ch[u - 1] = (ms_flag_change){ .uid = u, .add = f, .remove = ~f & MS_FLAGS_ALL };
		items it = { 0 };
		assert_int_equal(s->drv->set_flags(b, ch, 6, item_cb, &it, &e), MS_DRV_OK);
		size_t n, len;
		ms_msg *v = list(b, &n);
		for (uint32_t u = 1; u <= 6; u++) {
			char *now = fetch1(b, u, &len);
			assert_string_equal(now, before[u - 1]);
			assert_int_equal(v[u - 1].size, len);
			assert_int_equal(v[u - 1].flags, f);
			free(now);
		}
		ms_msg_list_free(v, n);
	}
	s->drv->close_box(b);
	b = open_box(s, "box");
	assert_int_equal(b->status.count, 6);
	for (uint32_t u = 1; u <= 6; u++) {
		char *now = fetch1(b, u, NULL);
		assert_string_equal(now, before[u - 1]);
		free(now);
		free(before[u - 1]);
	}
	s->drv->close_box(b);
	s->drv->close(s);
}

static void test_expunge_keeps_others(void **state)
{
	put_file("box", three);
	char p[512];
	path_of("box", p, sizeof p);
	chmod(p, 0640);
	bool root = geteuid() == 0; /* then the owner, too, must survive the rewrite */
	if (root)
		assert_int_equal(chown(p, 65534, 65534), 0);
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	must_append(b, "Subject: four\n\nfour\n", 0, 1600000000);
	items it = { 0 };
	ms_err e = { 0 };
	uint32_t uids[] = { 1, 3, 3, 42 };
	assert_int_equal(expunge(b, uids, 4, &it, &e), MS_DRV_OK);
	assert_int_equal(it.calls, 4);
	assert_int_equal(it.res[0], MS_DRV_OK);
	assert_int_equal(it.res[1], MS_DRV_OK);
	assert_int_equal(it.res[2], MS_DRV_MSG_BAD);
	assert_int_equal(it.res[3], MS_DRV_MSG_BAD);
	/* UIDs stay valid while the box is open */
	size_t n;
	ms_msg *v = list(b, &n);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].uid, 2);
	assert_int_equal(v[1].uid, 4);
	ms_msg_list_free(v, n);
	char *got = fetch1(b, 4, NULL);
	assert_string_equal(got, "Subject: four\n\nfour\n");
	free(got);
	s->drv->close_box(b);
	/* message two byte for byte, then four */
	char *raw = get_file("box", NULL);
	const char *two = strstr(three, "From bob");
	size_t two_len = (size_t)(strstr(three, "From carol") - two);
	assert_memory_equal(raw, two, two_len);
	assert_memory_equal(raw + two_len, "From MAILER-DAEMON ", 19);
	free(raw);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	if (root) {
		assert_int_equal(st.st_uid, 65534);
		assert_int_equal(st.st_gid, 65534);
	}
	assert_no_leftovers();
	s->drv->close(s);
}

static void test_read_only(void **state)
{
	put_file("box", three);
	ms_side *s = open_side_opts(true, NULL);
	ms_box *b = open_box(s, "box");
	ms_err e = { 0 };
	items it = { 0 };
	uint32_t uid = 1;
	assert_int_equal(append(b, "Subject: x\n\nx\n", 0, 0, &it, &e), MS_DRV_SIDE_BAD);
	assert_non_null(strstr(e.msg, "read-only"));
	assert_int_equal(set_flags(b, 1, MS_FLAG_SEEN, 0, &e), MS_DRV_SIDE_BAD);
	assert_int_equal(expunge(b, &uid, 1, &it, &e), MS_DRV_SIDE_BAD);
	assert_int_equal(s->drv->create_box(s, "new", &e), MS_DRV_SIDE_BAD);
	assert_int_equal(s->drv->delete_box(s, "box", &e), MS_DRV_SIDE_BAD);
	assert_int_equal(it.calls, 0);
	char *got = fetch1(b, 3, NULL);
	assert_non_null(strstr(got, "body three"));
	free(got);
	s->drv->close_box(b);
	s->drv->close(s);
	char *raw = get_file("box", NULL);
	assert_string_equal(raw, three);
	free(raw);
	assert_no_leftovers();
}

/* ---- other writers ----------------------------------------------------------------- */

static void test_dotlock_held(void **state)
{
	put_file("box", three);
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	put_file("box.lock", "12345\n");
	setenv("MSTORE_MBOX_LOCK_MS", "300", 1);
	items it = { 0 };
	ms_err e = { 0 };
	assert_int_equal(append(b, "Subject: x\n\nx\n", 0, 0, &it, &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "box.lock is held by another program"));
	assert_int_equal(it.calls, 0);
	char *raw = get_file("box", NULL);
	assert_string_equal(raw, three);
	free(raw);

	/* a child holding the lock for a while: we wait for it */
	char lock[512];
	path_of("box.lock", lock, sizeof lock);
	setenv("MSTORE_MBOX_LOCK_MS", "10000", 1);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(400000);
		unlink(lock);
		_exit(0);
	}
	assert_int_equal(append(b, "Subject: x\n\nx\n", 0, 0, &it, &e), MS_DRV_OK);
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(it.res[0], MS_DRV_OK);

	/* a stale lock (untouched for 10 minutes) is broken */
	put_file("box.lock", "99999\n");
	struct timespec old[2] = { { .tv_sec = time(NULL) - 600 }, { .tv_sec = time(NULL) - 600 } };
	assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
	assert_int_equal(set_flags(b, 1, 0, MS_FLAG_SEEN, &e), MS_DRV_OK);
	s->drv->close_box(b);
	b = open_box(s, "box");
	assert_int_equal(b->status.count, 4);

	/* a fresh lock of ours ("PID HOST") whose process is gone (a run
	 * killed while it held the lock) is broken at once; the same lock
	 * naming another host is not (a PID means nothing there) */
	char host[64] = "", content[128];
	gethostname(host, sizeof host - 1);
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, &status, 0);
	snprintf(content, sizeof content, "%ld %s.elsewhere\n", (long)dead, host);
	put_file("box.lock", content);
	setenv("MSTORE_MBOX_LOCK_MS", "300", 1);
	assert_int_equal(set_flags(b, 1, MS_FLAG_SEEN, 0, &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "box.lock is held by another program"));
	snprintf(content, sizeof content, "%ld %s\n", (long)dead, host);
	put_file("box.lock", content);
	assert_int_equal(set_flags(b, 1, MS_FLAG_SEEN, 0, &e), MS_DRV_OK);
	setenv("MSTORE_MBOX_LOCK_MS", "10000", 1);
	s->drv->close_box(b);
	s->drv->close(s);
	assert_no_leftovers();
}

static void test_fcntl_held(void **state)
{
	put_file("box", three);
	char p[512];
	path_of("box", p, sizeof p);
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(p, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0)
			_exit(1);
		char c = 'x';
		(void)!write(go[1], &c, 1);
		usleep(800000);
		_exit(0);
	}
	char c;
	assert_int_equal(read(go[0], &c, 1), 1);
	ms_side *s = open_side();
	setenv("MSTORE_MBOX_LOCK_MS", "200", 1);
	ms_box *b = NULL;
	ms_err e = { 0 };
	assert_int_equal(s->drv->open_box(s, "box", &b, &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "locked by another program"));
	setenv("MSTORE_MBOX_LOCK_MS", "10000", 1);
	b = open_box(s, "box");
	assert_int_equal(b->status.count, 3);
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	s->drv->close_box(b);
	s->drv->close(s);
	close(go[0]);
	close(go[1]);
	assert_no_leftovers();
}

/* Another program reading the box under an fcntl read lock: our reads go
 * on beside it, our writes wait for it (a read lock would not keep it out). */
static void test_fcntl_read_held(void **state)
{
	put_file("box", three);
	char p[512];
	path_of("box", p, sizeof p);
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(p, O_RDONLY);
		struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
		if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0)
			_exit(1);
		char c = 'x';
		(void)!write(go[1], &c, 1);
		usleep(800000);
		_exit(0);
	}
	char c;
	assert_int_equal(read(go[0], &c, 1), 1);
	ms_side *s = open_side();
	setenv("MSTORE_MBOX_LOCK_MS", "200", 1);
	ms_box *b = open_box(s, "box");   /* reading beside a reader */
	assert_int_equal(b->status.count, 3);
	items it = { 0 };
	ms_err e = { 0 };
	assert_int_not_equal(append(b, "Subject: blocked\n\nx\n", 0, 1600000000, &it, &e), MS_DRV_OK);
	assert_non_null(strstr(e.msg, "locked by another program"));
	setenv("MSTORE_MBOX_LOCK_MS", "10000", 1);
	must_append(b, "Subject: after\n\nx\n", 0, 1600000000);   /* once the reader is done */
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	s->drv->close_box(b);
	s->drv->close(s);
	close(go[0]);
	close(go[1]);
	assert_no_leftovers();
}

static void test_changed_under_us(void **state)
{
	put_file("box", three);
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	ms_err e = { 0 };
	/* an MDA's delivery at the end: fine, and kept by a rewrite */
	char p[512];
	path_of("box", p, sizeof p);
	FILE *f = fopen(p, "ab");
	fputs("From mda Thu Jan  9 09:00:00 2020\nSubject: delivered\nMessage-ID: <mda@x>\n\nhello\n\n", f);
	fclose(f);
	assert_int_equal(set_flags(b, 2, MS_FLAG_SEEN, 0, &e), MS_DRV_OK);
	must_append(b, "Subject: ours\n\nours\n", 0, 1600000000);
	uint32_t one = 1;
	items it = { 0 };
	assert_int_equal(expunge(b, &one, 1, &it, &e), MS_DRV_OK);
	s->drv->close_box(b);
	b = open_box(s, "box");
	size_t n;
	ms_msg *v = list(b, &n);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].msgid, "two@x");
	assert_int_equal(v[0].flags, MS_FLAG_SEEN);
	assert_string_equal(v[2].msgid, "mda@x");
	ms_msg_list_free(v, n);
	char *got = fetch1(b, 4, NULL);
	assert_string_equal(got, "Subject: ours\n\nours\n");
	free(got);

	/* another program rewrote the file (a message removed) */
	char *raw = get_file("box", NULL);
	put_file("box", strstr(raw, "From carol"));
	free(raw);
	assert_int_equal(set_flags(b, 1, MS_FLAG_FLAGGED, 0, &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "changed under us"));
	s->drv->close_box(b);

	/* replaced by rename, same size */
	b = open_box(s, "box");
	raw = get_file("box", NULL);
	put_file("other", raw);
	char q[512];
	path_of("other", q, sizeof q);
	assert_int_equal(rename(q, p), 0);
	free(raw);
	assert_int_equal(append(b, "Subject: x\n\nx\n", 0, 0, &it, &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "replaced"));
	fetched fe = { 0 };
	assert_int_equal(s->drv->fetch(b, &one, 1, fetch_cb, &fe, &e), MS_DRV_BOX_BAD);
	s->drv->close_box(b);
	s->drv->close(s);
	assert_no_leftovers();
}

/* A child appending with the same locking protocol (the driver itself, in
 * another process) while we append, change flags and expunge: nothing
 * lost, nothing doubled, the file still parses. */
static void child_appends(int count)
{
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	for (int i = 0; i < count; i++) {
		char msg[128];
		snprintf(msg, sizeof msg, "Message-ID: <child%d@x>\nSubject: c\n\nFrom child %d\n", i, i);
		for (;;) {
			items it = { 0 };
			ms_err e = { 0 };
			ms_drv_result r = append(b, msg, 0, 0, &it, &e);
			if (r == MS_DRV_OK && it.res[0] == MS_DRV_OK)
				break;
			if (r != MS_DRV_BOX_BAD)
				_exit(2);
			s->drv->close_box(b); /* the mbox changed under us: open it again */
			b = open_box(s, "box");
		}
		usleep(1000); /* interleave with the parent */
	}
	s->drv->close_box(b);
	s->drv->close(s);
	_exit(0);
}

static void test_concurrent_writer(void **state)
{
	enum { CHILD = 40, OURS = 30 };
	put_file("box", three);
	setenv("MSTORE_MBOX_LOCK_MS", "20000", 1);
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	pid_t pid = fork();
	if (pid == 0)
		child_appends(CHILD);
	int expunged = 0;
	for (int i = 0; i < OURS; i++) {
		char msg[128];
		snprintf(msg, sizeof msg, "Message-ID: <ours%d@x>\nSubject: o\n\nbody %d\n", i, i);
		for (int attempt = 0;; attempt++) {
			items it = { 0 };
			ms_err e = { 0 };
			ms_drv_result r = append(b, msg, MS_FLAG_SEEN, 0, &it, &e);
			uint32_t uid = it.uid[0];
			if (r == MS_DRV_OK && i % 3 == 0)
				r = set_flags(b, uid, MS_FLAG_FLAGGED, 0, &e);
			if (r == MS_DRV_OK && i % 5 == 4) {
				r = expunge(b, &uid, 1, &it, &e);
				expunged += r == MS_DRV_OK;
			}
			if (r == MS_DRV_OK)
				break;
			if (r != MS_DRV_BOX_BAD)
				fail_msg("%s", e.msg);
			assert_true(attempt < 50);
			s->drv->close_box(b);
			b = open_box(s, "box");
			/* a retried append must not double a message that made it */
			size_t n;
			ms_msg *v = list(b, &n);
			char id[32];
			snprintf(id, sizeof id, "ours%d@x", i);
			bool there = false;
			for (size_t k = 0; k < n; k++)
				there |= v[k].msgid && strcmp(v[k].msgid, id) == 0;
			ms_msg_list_free(v, n);
			if (there)
				break;
		}
		usleep(1500);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	s->drv->close_box(b);
	b = open_box(s, "box");
	size_t n;
	ms_msg *v = list(b, &n);
	int child = 0, ours = 0;
	for (size_t k = 0; k < n; k++) {
		if (v[k].msgid && strncmp(v[k].msgid, "child", 5) == 0)
			child++;
		if (v[k].msgid && strncmp(v[k].msgid, "ours", 4) == 0)
			ours++;
	}
	assert_int_equal(child, CHILD);
	assert_int_equal(ours + expunged, OURS);
	assert_int_equal(n, 3 + CHILD + ours);
	for (size_t k = 0; k < n; k++) {
		char *got = fetch1(b, v[k].uid, NULL);
		if (v[k].msgid && strncmp(v[k].msgid, "child", 5) == 0)
			assert_non_null(strstr(got, "\n\nFrom child"));
		free(got);
	}
	ms_msg_list_free(v, n);
	s->drv->close_box(b);
	s->drv->close(s);
	assert_no_leftovers();
}

/* ---- failures leave no temporary file ------------------------------------------------ */

static void test_rename_fails(void **state)
{
	put_file("box", three);
	ms_side *s = open_side();
	ms_box *b = open_box(s, "box");
	char cmd[1200];
	/* the box's name turns into a non-empty directory just before the rename */
	snprintf(cmd, sizeof cmd, "mv %s/box %s/box.saved && mkdir %s/box && touch %s/box/x", dir, dir, dir, dir);
	setenv("MSTORE_TEST_HOOK_AT", "mbox-before-rename", 1);
	setenv("MSTORE_TEST_HOOK_CMD", cmd, 1);
	ms_err e = { 0 };
	assert_int_equal(set_flags(b, 1, 0, MS_FLAG_SEEN, &e), MS_DRV_BOX_BAD);
	unsetenv("MSTORE_TEST_HOOK_AT");
	assert_non_null(strstr(e.msg, "cannot rename"));
	assert_non_null(strstr(e.msg, "left as it was"));
	assert_no_leftovers();
	char *raw = get_file("box.saved", NULL);
	assert_string_equal(raw, three);
	free(raw);
	s->drv->close_box(b);
	s->drv->close(s);
}

static void test_write_fails(void **state)
{
	/* a file size limit below the box's size: writing the copy fails */
	char big[70000];
	memset(big, 'x', sizeof big);
	for (size_t i = 70; i < sizeof big; i += 71)
		big[i] = '\n';
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	char *text = malloc(sizeof big + 200);
	snprintf(text, sizeof big + 200, "From a Mon Jan  6 10:00:00 2020\nSubject: big\n\n%s\n", big);
	put_file("box", text);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 32768, 32768 };
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		ms_side *s = open_side();
		ms_box *b = open_box(s, "box");
		ms_err e = { 0 };
		ms_drv_result r = set_flags(b, 1, MS_FLAG_SEEN, 0, &e);
		_exit(r == MS_DRV_BOX_BAD && strstr(e.msg, "cannot write") ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_no_leftovers();
	char *raw = get_file("box", NULL);
	assert_string_equal(raw, text);
	free(raw);
	free(text);
}

/* A spool directory we may not write in (/var/mail without the mail
 * group): read without the dot-lock, never written; a file we may not
 * write (mode 0444): read, never written.  Run in a child,
 * which drops to nobody when the tests run as root (root writes
 * anywhere). */
static int unlockable_child(const char *inbox)
{
	ms_side *s = open_side_opts(false, inbox);
	ms_box *b = NULL;
	ms_err e = { 0 };
	if (s->drv->open_box(s, "INBOX", &b, &e) != MS_DRV_OK || b->status.count != 3)
		return 1;
	fetched f = { 0 };
	uint32_t one = 1;
	if (s->drv->fetch(b, &one, 1, fetch_cb, &f, &e) != MS_DRV_OK || !strstr(f.data[0], "body one"))
		return 2;
	items it = { 0 };
	if (append(b, "Subject: x\n\nx\n", 0, 0, &it, &e) != MS_DRV_BOX_BAD || !strstr(e.msg, "cannot make the lock") ||
	    it.calls != 0)
		return 3;
	s->drv->close_box(b);
	/* a file we may only read: read, never written */
	ms_side *t = open_side();
	if (t->drv->open_box(t, "ro", &b, &e) != MS_DRV_OK || b->status.count != 3)
		return 4;
	memset(&it, 0, sizeof it);
	if (append(b, "Subject: x\n\nx\n", 0, 0, &it, &e) != MS_DRV_BOX_BAD || !strstr(e.msg, "not writable") ||
	    set_flags(b, 1, MS_FLAG_SEEN, 0, &e) != MS_DRV_BOX_BAD)
		return 5;
	return 0;
}

static void test_unlockable_dir(void **state)
{
	char spool[512], inbox[600];
	path_of("spool", spool, sizeof spool);
	mkdir(spool, 0700);
	put_file("spool/me", three);
	snprintf(inbox, sizeof inbox, "%s/me", spool);
	chmod(inbox, 0666);
	chmod(spool, 0555);
	put_file("ro", three);
	char ro[512];
	path_of("ro", ro, sizeof ro);
	chmod(ro, 0444);
	chmod(dir, 0755);
	pid_t pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(9);
		_exit(unlockable_child(inbox));
	}
	int status;
	waitpid(pid, &status, 0);
	chmod(spool, 0700);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	char *raw = get_file("spool/me", NULL);
	assert_string_equal(raw, three);
	free(raw);
}

static void test_symlinked_box(void **state)
{
	char real[512], link_[512];
	path_of("real", real, sizeof real);
	mkdir(real, 0700);
	put_file("real/box", three);
	path_of("real/box", real, sizeof real);
	path_of("linked", link_, sizeof link_);
	assert_int_equal(symlink(real, link_), 0);
	ms_side *s = open_side();
	ms_box *b = open_box(s, "linked");
	uint32_t uid = 2;
	items it = { 0 };
	ms_err e = { 0 };
	assert_int_equal(expunge(b, &uid, 1, &it, &e), MS_DRV_OK);
	s->drv->close_box(b);
	s->drv->close(s);
	struct stat st;
	assert_int_equal(lstat(link_, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	char *raw = get_file("real/box", NULL);
	assert_int_equal(count_of(raw, "Message-ID"), 2);
	free(raw);
}

/* A child appending two messages to `box` is killed (by the test hook)
 * after the first, once the hook command has added the cut start of a
 * third message, as a kill in the middle of a write leaves it. */
static void killed_appender(void)
{
	char cmd[1024], box[512];
	path_of("box", box, sizeof box);
	snprintf(cmd, sizeof cmd, "printf 'From MAILER-DAEMON Mon Jan  1 00:00:00 2024\\nFrom: x@example.org\\nSubj' >> '%s';"
	         " kill -9 $PPID", box);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("MSTORE_TEST_HOOK_AT", "mbox-append-one", 1);
		setenv("MSTORE_TEST_HOOK_CMD", cmd, 1);
		ms_side *s = open_side();
		ms_box *b = open_box(s, "box");
		ms_append a[2] = { { .data = "Message-ID: <k1@x>\n\nk1\n", .len = 23 },
		                   { .data = "Message-ID: <k2@x>\n\nk2\n", .len = 23 } };
		items it = { 0 };
		ms_err e = { 0 };
		s->drv->append(b, a, 2, item_cb, &it, &e);
		_exit(3); /* the hook did not kill us */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static bool marker_exists(void)
{
	char p[512];
	struct stat st;
	path_of(".box.mstore-append", p, sizeof p);
	return stat(p, &st) == 0;
}

static void test_killed_append(void **state)
{
	(void)state;
	put_file("box", three);
	setenv("MSTORE_MBOX_LOCK_MS", "2000", 1);
	killed_appender();
	size_t len;
	char *raw = get_file("box", &len);
	assert_true(len > strlen(three)); /* the kill left a tail */
	free(raw);
	assert_true(marker_exists());

	/* a reader does not see it (and changes nothing) */
	ms_side *ro = open_side_opts(true, NULL);
	ms_box *b = open_box(ro, "box");
	assert_int_equal(b->status.count, 3);
	ro->drv->close_box(b);
	ro->drv->close(ro);
	raw = get_file("box", &len);
	assert_true(len > strlen(three));
	free(raw);

	/* a writable open cuts it off: the file is as it was before */
	ms_side *s = open_side();
	b = open_box(s, "box");
	assert_int_equal(b->status.count, 3);
	raw = get_file("box", NULL);
	assert_string_equal(raw, three);
	free(raw);
	assert_false(marker_exists());
	/* and appends go on from there */
	must_append(b, "Message-ID: <k3@x>\n\nk3\n", 0, 0);
	assert_false(marker_exists());
	s->drv->close_box(b);
	b = open_box(s, "box");
	assert_int_equal(b->status.count, 4);
	s->drv->close_box(b);

	/* a file changed long after the killed append may hold another
	 * program's delivery past the cut message: left as it is */
	raw = get_file("box", &len);
	free(raw);
	killed_appender();
	char marker[512];
	path_of(".box.mstore-append", marker, sizeof marker);
	struct timespec old[2] = { { .tv_sec = time(NULL) - 600 }, { .tv_sec = time(NULL) - 600 } };
	assert_int_equal(utimensat(AT_FDCWD, marker, old, 0), 0);
	size_t killed_len;
	free(get_file("box", &killed_len));
	b = open_box(s, "box");
	size_t after;
	free(get_file("box", &after));
	assert_int_equal(after, killed_len);
	assert_false(marker_exists());
	s->drv->close_box(b);
	s->drv->close(s);
	setenv("MSTORE_MBOX_LOCK_MS", "10000", 1);
	assert_no_leftovers();
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* ---- the conformance suite ---------------------------------------------------- */

/* A fresh directory with an empty INBOX file, for each conformance test. */
static int conf_setup(void *ctx)
{
	(void)ctx;
	if (setup(NULL) < 0)
		return -1;
	put_file("INBOX", "");
	return 0;
}

static int conf_teardown(void *ctx)
{
	(void)ctx;
	return teardown(NULL);
}

static ms_drv_result conf_open(void *ctx, bool read_only, ms_side **out, ms_err *e)
{
	(void)ctx;
	ms_side_opt opts[1] = { { "path", dir } };
	ms_side_conf c = { .name = "mb", .opts = opts, .nopts = 1, .read_only = read_only };
	return ms_side_driver_find("mbox")->open(&c, out, e);
}

int main(void)
{
	/* No vanish: a message of an mbox cannot disappear alone; another
	 * program's rewrite is a changed box (test_changed_under_us). */
	const conformance_fixture mbox = { .label = "mbox", .setup = conf_setup, .teardown = conf_teardown,
	                                   .open = conf_open, .inbox_is_leaf = true, .no_keys = true };
	int failed = driver_conformance_run("conformance mbox", &mbox);
	const struct CMUnitTest tests[] = {
		T(test_open_missing_path), T(test_list_boxes), T(test_create_delete), T(test_read_flags_dates),
		T(test_quoting_round_trip), T(test_content_length_ignored), T(test_bookkeeping_hidden),
		T(test_mboxo_trade), T(test_truncated), T(test_from_without_blank), T(test_unquoted_from_lines),
		T(test_not_mbox_and_empty),
		T(test_crlf), T(test_flags_round_trip), T(test_flags_keep_bytes), T(test_expunge_keeps_others), T(test_read_only),
		T(test_dotlock_held), T(test_fcntl_held), T(test_fcntl_read_held), T(test_changed_under_us), T(test_concurrent_writer),
		T(test_rename_fails), T(test_write_fails), T(test_unlockable_dir), T(test_symlinked_box),
		T(test_killed_append),
	};
	return failed + cmocka_run_group_tests(tests, NULL, NULL);
}
