/* test_maildir.c - the Maildir driver (drivers/drv_maildir.c): the
 * conformance suite on both layouts, then what only a Maildir has: file
 * names and their flags suffix, new/ and cur/, other programs working on
 * the same tree, names that are no messages or no folders. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driver_conformance.h"
#include "drv_ok.h"
#include "drivers/driver.h"
#include "drivers/drv_maildir.h"

/* ---- a fresh Maildir per test ------------------------------------------------------ */

typedef struct tree {
	bool verbatim;
	char dir[256];   /* temporary directory */
	char root[300];  /* dir/mail: the side's path */
	ms_side *side;   /* the specific tests' side, closed by the teardown */
} tree;

static tree pp_tree = { .verbatim = false };
static tree vb_tree = { .verbatim = true };

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static void mkdirs(const char *base, const char *rel)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", base, rel);
	for (char *c = p + strlen(base) + 1; (c = strchr(c, '/')); c++) {
		*c = '\0';
		mkdir(p, 0700);
		*c = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
}

/* Make `rel` (relative to the root) a Maildir. */
static void make_maildir(const tree *t, const char *rel)
{
	char p[1024];
	const char *subs[] = { "cur", "new", "tmp" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s%s", rel, rel[0] ? "/" : "", subs[i]);
		mkdirs(t->root, p);
	}
}

static int tree_setup(void *ctx)
{
	tree *t = ctx;
	snprintf(t->dir, sizeof t->dir, "/tmp/test_maildir.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->root, sizeof t->root, "%s/mail", t->dir);
	if (mkdir(t->root, 0700) < 0)
		return -1;
	make_maildir(t, t->verbatim ? "INBOX" : "");
	t->side = NULL;
	return 0;
}

static int tree_teardown(void *ctx)
{
	tree *t = ctx;
	if (t->side)
		t->side->drv->close(t->side);
	t->side = NULL;
	return nftw(t->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	return tree_setup(*state);
}

static int teardown(void **state)
{
	return tree_teardown(*state);
}

static ms_drv_result open_with(const tree *t, const char *path, const char *create, bool read_only, ms_side **out,
                               ms_err *e)
{
	ms_side_opt opts[4] = { { "path", path }, { "layout", t->verbatim ? "verbatim" : "maildir++" } };
	size_t n = 2;
	if (create)
		opts[n++] = (ms_side_opt){ "create", create };
	ms_side_conf conf = { .name = "mail", .opts = opts, .nopts = n, .read_only = read_only };
	return ms_side_driver_find("maildir")->open(&conf, out, e);
}

static ms_drv_result tree_open(void *ctx, bool read_only, ms_side **out, ms_err *e)
{
	const tree *t = ctx;
	return open_with(t, t->root, NULL, read_only, out, e);
}

/* The directory of box `box`, as the layout puts it. */
static void box_dir(const tree *t, const char *box, char *out, size_t len)
{
	if (strcmp(box, "INBOX") == 0)
		snprintf(out, len, "%s%s", t->root, t->verbatim ? "/INBOX" : "");
	else
		snprintf(out, len, "%s/%s%s", t->root, t->verbatim ? "" : ".", box);
}

/* The file of the message with this key in box `box`: "" when none. */
static void file_of(const tree *t, const char *box, const char *key, char *out, size_t len)
{
	char dir[1024];
	out[0] = '\0';
	for (int cur = 0; cur < 2; cur++) {
		box_dir(t, box, dir, sizeof dir);
		strcat(dir, cur ? "/cur" : "/new");
		DIR *d = opendir(dir);
		assert_non_null(d);
		size_t kl = strlen(key);
		for (struct dirent *de; (de = readdir(d));)
			if (strncmp(de->d_name, key, kl) == 0 && (de->d_name[kl] == '\0' || de->d_name[kl] == ':'))
				snprintf(out, len, "%s/%s", dir, de->d_name);
		closedir(d);
	}
}

static void tree_vanish(void *ctx, const char *box, const ms_msg *m)
{
	char path[1024];
	file_of(ctx, box, m->key, path, sizeof path);
	assert_true(path[0]);
	assert_int_equal(unlink(path), 0);
}

/* ---- helpers -------------------------------------------------------------------------- */

static ms_side *side(void **state)
{
	tree *t = *state;
	if (t->side)
		t->side->drv->close(t->side);
	t->side = NULL;
	DRV_OK(tree_open(t, false, &t->side, e_));
	return t->side;
}

static ms_box *open_box(ms_side *s, const char *name)
{
	ms_box *b = NULL;
	DRV_OK(s->drv->open_box(s, name, &b, e_));
	return b;
}

typedef struct results {
	int calls;
	ms_drv_result r[8];
	uint32_t uid[8];
	char why[8][600];
	char data[8][512];
	size_t len[8];
} results;

static void item_cb(void *ctx, size_t i, ms_drv_result r, uint32_t uid, const char *key, const ms_err *why)
{
	(void)key;
	results *x = ctx;
	assert_true(i < 8);
	x->calls++;
	x->r[i] = r;
	x->uid[i] = uid;
	snprintf(x->why[i], sizeof x->why[i], "%s", why ? why->msg : "");
}

static void fetch_cb(void *ctx, size_t i, ms_drv_result r, const char *data, size_t len, const ms_err *why)
{
	results *x = ctx;
	item_cb(ctx, i, r, 0, NULL, why);
	assert_true(len < sizeof x->data[i]);
	if (data)
		memcpy(x->data[i], data, len);
	x->len[i] = len;
}

static ms_msg *list_all(ms_box *b, unsigned want, size_t *n)
{
	ms_msg *v = NULL;
	const ms_list_req req = { .want = want };
	DRV_OK(b->side->drv->list_msgs(b, &req, &v, n, e_));
	return v;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* Put a message file named `name` into `sub` (new or cur) of box `box`. */
static void put_msg(const tree *t, const char *box, const char *sub, const char *name, const char *text)
{
	char p[1024];
	box_dir(t, box, p, sizeof p);
	snprintf(p + strlen(p), sizeof p - strlen(p), "/%s/%s", sub, name);
	write_file(p, text);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static bool exists_in(const tree *t, const char *box, const char *rel)
{
	char p[1024];
	box_dir(t, box, p, sizeof p);
	snprintf(p + strlen(p), sizeof p - strlen(p), "/%s", rel);
	return exists(p);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *de; (de = readdir(d));)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static int count_in(const tree *t, const char *box, const char *sub)
{
	char p[1024];
	box_dir(t, box, p, sizeof p);
	snprintf(p + strlen(p), sizeof p - strlen(p), "/%s", sub);
	return count_entries(p);
}

/* The only entry of `sub` of box `box` (fails if there is not exactly one). */
static void only_entry(const tree *t, const char *box, const char *sub, char *out, size_t len)
{
	char p[1024];
	box_dir(t, box, p, sizeof p);
	snprintf(p + strlen(p), sizeof p - strlen(p), "/%s", sub);
	assert_int_equal(count_entries(p), 1);
	DIR *d = opendir(p);
	for (struct dirent *de; (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			snprintf(out, len, "%s", de->d_name);
	closedir(d);
}

static const ms_skipped_entry *anomaly(const ms_skipped_entry *v, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].path, path) == 0)
			return &v[i];
	return NULL;
}

static const char msg[] = "From: a@example.org\nMessage-ID: <m@example.org>\nSubject: hi\n\nbody\n";

/* ---- tests ------------------------------------------------------------------------------ */

static void test_registry(void **state)
{
	(void)state;
	assert_ptr_equal(ms_side_driver_find("maildir"), &ms_drv_maildir);
	assert_string_equal(ms_drv_maildir.kind, "maildir");
}

static void test_open_errors(void **state)
{
	tree *t = *state;
	ms_side *s = (ms_side *)1;
	ms_err e = { 0 };
	char p[1024];
	ms_side_conf none = { .name = "mail" };
	assert_int_equal(ms_drv_maildir.open(&none, &s, &e), MS_DRV_SIDE_BAD);
	assert_null(s);
	assert_non_null(strstr(e.msg, "needs path"));
	/* a path that does not exist is not created silently */
	snprintf(p, sizeof p, "%s/nowhere", t->dir);
	assert_int_equal(open_with(t, p, NULL, false, &s, &e), MS_DRV_SIDE_BAD);
	assert_non_null(strstr(e.msg, p));
	assert_non_null(strstr(e.msg, "No such file"));
	assert_false(exists(p));
	/* a directory that is no Maildir */
	snprintf(p, sizeof p, "%s/plain", t->dir);
	mkdir(p, 0700);
	assert_int_equal(open_with(t, p, NULL, false, &s, &e), MS_DRV_SIDE_BAD);
	assert_non_null(strstr(e.msg, "is not a Maildir"));
	assert_int_equal(count_entries(p), 0);
	/* a file */
	snprintf(p, sizeof p, "%s/file", t->dir);
	write_file(p, "x");
	assert_int_equal(open_with(t, p, NULL, false, &s, &e), MS_DRV_SIDE_BAD);
	/* wrong values */
	const ms_side_opt bad_layout[] = { { "path", t->root }, { "layout", "mh" } };
	ms_side_conf c = { .name = "mail", .opts = bad_layout, .nopts = 2 };
	assert_int_equal(ms_drv_maildir.open(&c, &s, &e), MS_DRV_SIDE_BAD);
	assert_non_null(strstr(e.msg, "layout 'mh'"));
	assert_int_equal(open_with(t, t->root, "maybe", false, &s, &e), MS_DRV_SIDE_BAD);
	assert_non_null(strstr(e.msg, "create 'maybe'"));
	assert_null(s);
}

static void test_create_yes(void **state)
{
	tree *t = *state;
	ms_side *s = NULL;
	ms_err e = { 0 };
	char p[1024], q[1100];
	/* only the last component: a missing parent is a mistake */
	snprintf(p, sizeof p, "%s/missing/mail", t->dir);
	assert_int_equal(open_with(t, p, "yes", false, &s, &e), MS_DRV_SIDE_BAD);
	snprintf(q, sizeof q, "%s/missing", t->dir);
	assert_false(exists(q));
	/* read-only creates nothing */
	snprintf(p, sizeof p, "%s/new-store", t->dir);
	assert_int_equal(open_with(t, p, "yes", true, &s, &e), MS_DRV_SIDE_BAD);
	assert_false(exists(p));
	DRV_OK(open_with(t, p, "yes", false, &s, e_));
	snprintf(q, sizeof q, "%s%s/cur", p, t->verbatim ? "/INBOX" : "");
	assert_true(exists(q));
	snprintf(q, sizeof q, "%s%s/tmp", p, t->verbatim ? "/INBOX" : "");
	assert_true(exists(q));
	s->drv->close(s);
	/* and once it is there, `create yes` is harmless */
	DRV_OK(open_with(t, p, "yes", false, &s, e_));
	s->drv->close(s);
	/* a root that exists without its INBOX: created with `create yes` only */
	snprintf(p, sizeof p, "%s/empty", t->dir);
	mkdir(p, 0700);
	assert_int_equal(open_with(t, p, NULL, false, &s, &e), MS_DRV_SIDE_BAD);
	DRV_OK(open_with(t, p, "yes", false, &s, e_));
	s->drv->close(s);
}

static void test_layout_on_disk(void **state)
{
	tree *t = *state;
	ms_side *s = side(state);
	char p[1024];
	assert_int_equal(s->delim, t->verbatim ? '/' : '.');
	assert_int_equal(s->caps & MS_CAP_UID_STABLE, 0);
	assert_int_equal(s->caps & MS_CAP_DRY_RUN_SAFE, 0);
	assert_int_equal(s->caps & MS_CAP_KEYWORDS, 0);
	const char *name = t->verbatim ? "Work/Projects" : "Work.Projects";
	DRV_OK(s->drv->create_box(s, name, e_));
	snprintf(p, sizeof p, "%s/%s/cur", t->root, t->verbatim ? "Work/Projects" : ".Work.Projects");
	assert_true(exists(p));
	snprintf(p, sizeof p, "%s/%s/new", t->root, t->verbatim ? "Work" : ".Work");
	assert_true(exists(p)); /* the parent is a Maildir too */
	if (!t->verbatim) {
		/* Courier's and Dovecot's mark of a maildir++ sub-folder */
		snprintf(p, sizeof p, "%s/.Work.Projects/maildirfolder", t->root);
		assert_true(exists(p));
		/* INBOX.x is a child of the root, not a directory ".INBOX" */
		DRV_OK(s->drv->create_box(s, "INBOX.Later", e_));
		snprintf(p, sizeof p, "%s/.INBOX", t->root);
		assert_false(exists(p));
		snprintf(p, sizeof p, "%s/.INBOX.Later/cur", t->root);
		assert_true(exists(p));
	} else {
		DRV_OK(s->drv->create_box(s, "INBOX/Later", e_));
		snprintf(p, sizeof p, "%s/INBOX/Later/cur", t->root);
		assert_true(exists(p));
	}
}

static void test_new_and_cur(void **state)
{
	tree *t = *state;
	ms_side *s = side(state);
	ms_box *b = open_box(s, "INBOX");
	const ms_append m[2] = {
		{ .data = msg, .len = sizeof msg - 1, .internal_date = 1600000000 },
		{ .data = msg, .len = sizeof msg - 1, .flags = MS_FLAG_SEEN | MS_FLAG_FLAGGED | MS_FLAG_DRAFT,
		  .internal_date = 1500000000 },
	};
	results x = { 0 };
	DRV_OK(s->drv->append(b, m, 2, item_cb, &x, e_));
	assert_int_equal(x.uid[0], 1);
	assert_int_equal(x.uid[1], 2);
	char n1[300], n2[300], p[1200], box[1024];
	only_entry(t, "INBOX", "new", n1, sizeof n1);
	only_entry(t, "INBOX", "cur", n2, sizeof n2);
	assert_int_equal(count_in(t, "INBOX", "tmp"), 0);
	/* time.MusecPpidQseqRrandom.host, no info in new/; the flags in ASCII order in cur/ */
	regex_t re;
	assert_int_equal(regcomp(&re, "^[0-9]+\\.M[0-9]{6}P[0-9]+Q[0-9]+R[0-9a-f]{16}\\.[^/:]+$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, n1, 0, NULL, 0), 0);
	char *colon = strchr(n2, ':');
	assert_non_null(colon);
	assert_string_equal(colon, ":2,DFS");
	*colon = '\0';
	assert_int_equal(regexec(&re, n2, 0, NULL, 0), 0);
	regfree(&re);
	/* internal date = mtime */
	struct stat st;
	box_dir(t, "INBOX", box, sizeof box);
	snprintf(p, sizeof p, "%s/new/%s", box, n1);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mtime, 1600000000);
	assert_int_equal(st.st_mode & 0777, 0600);
	size_t n;
	ms_msg *v = list_all(b, 0, &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].key, n1);
	assert_string_equal(v[1].key, n2);
	assert_int_equal(v[1].internal_date, 1500000000);
	/* a flag moves a message from new/ to cur/ under the same unique name */
	const ms_flag_change ch[2] = { { .uid = 1, .add = MS_FLAG_ANSWERED }, { .uid = 2, .remove = MS_FLAGS_ALL } };
	results y = { 0 };
	DRV_OK(s->drv->set_flags(b, ch, 2, item_cb, &y, e_));
	assert_int_equal(y.r[0], MS_DRV_OK);
	assert_int_equal(y.r[1], MS_DRV_OK);
	assert_int_equal(count_in(t, "INBOX", "new"), 0);
	snprintf(p, sizeof p, "cur/%s:2,R", n1);
	assert_true(exists_in(t, "INBOX", p));
	snprintf(p, sizeof p, "cur/%s:2,", n2);
	assert_true(exists_in(t, "INBOX", p)); /* no flags left: still in cur/, with an empty suffix */
	/* the moved file keeps its mtime */
	snprintf(p, sizeof p, "%s/cur/%s:2,R", box, n1);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mtime, 1600000000);
	ms_msg_list_free(v, n);
	s->drv->close_box(b);
}

static void test_other_letters_kept(void **state)
{
	tree *t = *state;
	put_msg(t, "INBOX", "cur", "1600000000.a.host:2,PSa", msg);
	put_msg(t, "INBOX", "cur", "1600000001.b.host", msg); /* in cur/ without info */
	ms_side *s = side(state);
	ms_box *b = open_box(s, "INBOX");
	size_t n;
	ms_msg *v = list_all(b, 0, &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].key, "1600000000.a.host");
	assert_int_equal(v[0].flags, MS_FLAG_SEEN);
	assert_int_equal(v[1].flags, 0);
	ms_msg_list_free(v, n);
	const ms_flag_change ch[3] = {
		{ .uid = 1, .add = MS_FLAG_FLAGGED | MS_FLAG_DELETED, .remove = MS_FLAG_SEEN },
		{ .uid = 2, .remove = MS_FLAG_SEEN }, /* nothing to do: not renamed */
	};
	results y = { 0 };
	DRV_OK(s->drv->set_flags(b, ch, 2, item_cb, &y, e_));
	assert_int_equal(y.r[0], MS_DRV_OK);
	assert_int_equal(y.r[1], MS_DRV_OK);
	assert_true(exists_in(t, "INBOX", "cur/1600000000.a.host:2,FPTa"));
	assert_true(exists_in(t, "INBOX", "cur/1600000001.b.host"));
	s->drv->close_box(b);
}

static void test_uid_order(void **state)
{
	tree *t = *state;
	/* by delivery time as a number (999999999 is 2001, before 1000000000), then by name */
	put_msg(t, "INBOX", "cur", "1000000000.b:2,S", "Message-ID: <3@x>\n\nc\n");
	put_msg(t, "INBOX", "new", "999999999.z", "Message-ID: <1@x>\n\na\n");
	put_msg(t, "INBOX", "new", "1000000000.a", "Message-ID: <2@x>\n\nb\n");
	put_msg(t, "INBOX", "cur", "nodigits.x:2,", "Message-ID: <0@x>\n\nd\n");
	ms_side *s = side(state);
	uint32_t validity[2];
	for (int round = 0; round < 2; round++) {
		ms_box *b = open_box(s, "INBOX");
		validity[round] = b->status.uidvalidity;
		assert_int_equal(b->status.count, 4);
		assert_int_equal(b->status.uidnext, 5);
		size_t n;
		ms_msg *v = list_all(b, MS_WANT_MSGID, &n);
		assert_int_equal(n, 4);
		const char *ids[4] = { "0@x", "1@x", "2@x", "3@x" };
		for (size_t i = 0; i < 4; i++) {
			assert_int_equal(v[i].uid, i + 1);
			assert_string_equal(v[i].msgid, ids[i]);
		}
		ms_msg_list_free(v, n);
		s->drv->close_box(b);
	}
	/* UIDs do not outlive the box: each open says so with a new UIDVALIDITY */
	assert_int_not_equal(validity[0], validity[1]);
}

static void test_mda_delivers_while_open(void **state)
{
	tree *t = *state;
	put_msg(t, "INBOX", "new", "1600000000.old.host", msg);
	ms_side *s = side(state);
	ms_box *b = open_box(s, "INBOX");
	/* an MDA delivers the Maildir way: tmp/, then rename into new/ */
	char tmp[1024], dst[1100], box[1024];
	box_dir(t, "INBOX", box, sizeof box);
	snprintf(tmp, sizeof tmp, "%s/tmp/1500000000.mda.host", box);
	write_file(tmp, "Message-ID: <mda@x>\n\ndelivered\n");
	snprintf(dst, sizeof dst, "%s/new/1500000000.mda.host", box);
	assert_int_equal(rename(tmp, dst), 0);
	/* the open box goes on with what it read: its UIDs stay what they were */
	size_t n;
	ms_msg *v = list_all(b, MS_WANT_MSGID, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].key, "1600000000.old.host");
	ms_msg_list_free(v, n);
	const ms_append m = { .data = msg, .len = sizeof msg - 1, .flags = MS_FLAG_SEEN };
	results x = { 0 };
	DRV_OK(s->drv->append(b, &m, 1, item_cb, &x, e_));
	assert_int_equal(x.uid[0], 2);
	const ms_flag_change ch = { .uid = 1, .add = MS_FLAG_SEEN };
	results y = { 0 };
	DRV_OK(s->drv->set_flags(b, &ch, 1, item_cb, &y, e_));
	assert_int_equal(y.r[0], MS_DRV_OK);
	s->drv->close_box(b);
	/* the next open has all three, the delivered one first (it is older) */
	b = open_box(s, "INBOX");
	v = list_all(b, MS_WANT_MSGID, &n);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].msgid, "mda@x");
	assert_string_equal(v[1].key, "1600000000.old.host");
	assert_int_equal(v[1].flags, MS_FLAG_SEEN);
	assert_int_equal(v[2].flags, MS_FLAG_SEEN);
	ms_msg_list_free(v, n);
	s->drv->close_box(b);
}

/* Rename `from` to `to` within box `box` (paths relative to the box). */
static void client_renames(const tree *t, const char *box, const char *from, const char *to)
{
	char a[1200], b[1200], dir[1024];
	box_dir(t, box, dir, sizeof dir);
	snprintf(a, sizeof a, "%s/%s", dir, from);
	snprintf(b, sizeof b, "%s/%s", dir, to);
	assert_int_equal(rename(a, b), 0);
}

static void test_client_renames_between(void **state)
{
	tree *t = *state;
	put_msg(t, "INBOX", "new", "1600000001.a.host", "Message-ID: <a@x>\n\na\n");
	put_msg(t, "INBOX", "cur", "1600000002.b.host:2,S", "Message-ID: <b@x>\n\nb\n");
	put_msg(t, "INBOX", "cur", "1600000003.c.host:2,S", "Message-ID: <c@x>\n\nc\n");
	put_msg(t, "INBOX", "cur", "1600000004.d.host:2,", "Message-ID: <d@x>\n\nd\n");
	ms_side *s = side(state);
	ms_box *b = open_box(s, "INBOX");
	size_t n;
	ms_msg *v = list_all(b, 0, &n);
	assert_int_equal(n, 4);
	ms_msg_list_free(v, n);
	/* a mail client reads a (new/ → cur/), answers b, flags c; d is deleted */
	client_renames(t, "INBOX", "new/1600000001.a.host", "cur/1600000001.a.host:2,S");
	client_renames(t, "INBOX", "cur/1600000002.b.host:2,S", "cur/1600000002.b.host:2,RS");
	client_renames(t, "INBOX", "cur/1600000003.c.host:2,S", "cur/1600000003.c.host:2,FS");
	char d[1200], dir[1024];
	box_dir(t, "INBOX", dir, sizeof dir);
	snprintf(d, sizeof d, "%s/cur/1600000004.d.host:2,", dir);
	assert_int_equal(unlink(d), 0);
	/* our changes land on the files where they are now, the client's are kept */
	const ms_flag_change ch[3] = {
		{ .uid = 1, .add = MS_FLAG_FLAGGED },
		{ .uid = 2, .remove = MS_FLAG_SEEN },
		{ .uid = 4, .add = MS_FLAG_SEEN },
	};
	results y = { 0 };
	DRV_OK(s->drv->set_flags(b, ch, 3, item_cb, &y, e_));
	assert_int_equal(y.r[0], MS_DRV_OK);
	assert_int_equal(y.r[1], MS_DRV_OK);
	assert_int_equal(y.r[2], MS_DRV_MSG_BAD);
	assert_non_null(strstr(y.why[2], "1600000004.d.host"));
	assert_non_null(strstr(y.why[2], "gone"));
	assert_true(exists_in(t, "INBOX", "cur/1600000001.a.host:2,FS"));
	assert_true(exists_in(t, "INBOX", "cur/1600000002.b.host:2,R"));
	/* fetch and list find c under its new name; expunge removes it there */
	results f = { 0 };
	const uint32_t three = 3;
	DRV_OK(s->drv->fetch(b, &three, 1, fetch_cb, &f, e_));
	assert_int_equal(f.r[0], MS_DRV_OK);
	assert_memory_equal(f.data[0], "Message-ID: <c@x>\n\nc\n", f.len[0]);
	v = list_all(b, 0, &n);
	assert_int_equal(n, 4);
	assert_int_equal(v[2].flags, MS_FLAG_SEEN | MS_FLAG_FLAGGED);
	assert_int_equal(v[3].result, MS_DRV_MSG_BAD); /* d: listed, its file gone */
	ms_msg_list_free(v, n);
	client_renames(t, "INBOX", "cur/1600000003.c.host:2,FS", "cur/1600000003.c.host:2,FST");
	const uint32_t gone[2] = { 3, 4 };
	results z = { 0 };
	DRV_OK(s->drv->expunge(b, gone, 2, item_cb, &z, e_));
	assert_int_equal(z.r[0], MS_DRV_OK);
	assert_int_equal(z.r[1], MS_DRV_MSG_BAD);
	assert_int_equal(count_in(t, "INBOX", "cur"), 2);
	/* a client that changed flags behind a no-op of ours: we look again */
	client_renames(t, "INBOX", "cur/1600000002.b.host:2,R", "cur/1600000002.b.host:2,");
	const ms_flag_change again = { .uid = 2, .add = MS_FLAG_ANSWERED };
	results w = { 0 };
	DRV_OK(s->drv->set_flags(b, &again, 1, item_cb, &w, e_));
	assert_int_equal(w.r[0], MS_DRV_OK);
	assert_true(exists_in(t, "INBOX", "cur/1600000002.b.host:2,R"));
	s->drv->close_box(b);
}

static void test_broken_names(void **state)
{
	tree *t = *state;
	char p[1024], dir[1024];
	box_dir(t, "INBOX", dir, sizeof dir);
	put_msg(t, "INBOX", "new", "1600000000.good.host", msg);
	put_msg(t, "INBOX", "new", ".hidden", msg);
	put_msg(t, "INBOX", "new", "bad\nname", msg);
	put_msg(t, "INBOX", "cur", "1600000001.x:1,S", msg);
	put_msg(t, "INBOX", "cur", "1600000002.y:2,S:2,S", msg);
	put_msg(t, "INBOX", "cur", ":2,S", msg);
	/* the same unique name twice: the one in cur/ is the message */
	put_msg(t, "INBOX", "new", "1600000003.dup", msg);
	put_msg(t, "INBOX", "cur", "1600000003.dup:2,S", msg);
	snprintf(p, sizeof p, "%s/cur/1600000004.dir", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/cur/1600000005.link:2,S", dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof p, "%s/new/1600000006.fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	ms_side *s = side(state);
	ms_box *b = open_box(s, "INBOX");
	size_t n;
	ms_msg *v = list_all(b, MS_WANT_MSGID, &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].key, "1600000000.good.host");
	assert_string_equal(v[1].key, "1600000003.dup");
	assert_int_equal(v[1].flags, MS_FLAG_SEEN);
	ms_msg_list_free(v, n);
	size_t k;
	const ms_skipped_entry *a = ms_maildir_box_anomalies(b, &k);
	assert_int_equal(k, 9);
	const char *pre = t->verbatim ? "INBOX/" : "";
	struct { const char *path, *why; } expect[] = {
		{ "new/.hidden", "dot file" },
		{ "new/bad\nname", "control character" },
		{ "cur/1600000001.x:1,S", "other than ':2,'" },
		{ "cur/1600000002.y:2,S:2,S", "more than one ':'" },
		{ "cur/:2,S", "empty unique part" },
		{ "new/1600000003.dup", "same unique name" },
		{ "cur/1600000004.dir", "directory" },
		{ "cur/1600000005.link:2,S", "symlink" },
		{ "new/1600000006.fifo", "not a regular file" },
	};
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
		snprintf(p, sizeof p, "%s%s", pre, expect[i].path);
		const ms_skipped_entry *x = anomaly(a, k, p);
		if (!x)
			fail_msg("no anomaly for %s", p);
		assert_non_null(strstr(x->why, expect[i].why));
	}
	s->drv->close_box(b);
	/* none of them was touched */
	assert_true(exists_in(t, "INBOX", "new/1600000003.dup"));
	assert_true(exists_in(t, "INBOX", "cur/1600000001.x:1,S"));
}

static void test_hostile_box_names(void **state)
{
	tree *t = *state;
	ms_side *s = side(state);
	ms_err e = { 0 };
	const char *pp_bad[] = { "a/b", "../x", "..", ".hidden", "A..B", "x.", "x\ny", "tab\there", "/abs", "" };
	const char *vb_bad[] = { "../x", "a/../b", "..", ".", ".git", "x\ny", "A//B", "/abs", "x/", "cur", "A/new",
		                 "tmp/x", "" };
	const char **bad = t->verbatim ? vb_bad : pp_bad;
	size_t nbad = t->verbatim ? sizeof vb_bad / sizeof *vb_bad : sizeof pp_bad / sizeof *pp_bad;
	int before_dir = count_entries(t->dir), before_root = count_entries(t->root);
	for (size_t i = 0; i < nbad; i++) {
		ms_box *b = (ms_box *)1;
		e.msg[0] = '\0';
		if (s->drv->create_box(s, bad[i], &e) != MS_DRV_BOX_BAD)
			fail_msg("box name '%s' was taken", bad[i]);
		assert_non_null(strstr(e.msg, "cannot be a box name"));
		assert_null(strchr(e.msg, '\n')); /* the name is escaped in the message */
		assert_int_equal(s->drv->open_box(s, bad[i], &b, &e), MS_DRV_BOX_BAD);
		assert_null(b);
		assert_int_equal(s->drv->delete_box(s, bad[i], &e), MS_DRV_BOX_BAD);
	}
	/* nothing was made, inside the root or beside it */
	assert_int_equal(count_entries(t->dir), before_dir);
	assert_int_equal(count_entries(t->root), before_root);
	/* what may look odd but is a name: spaces, UTF-8, '&' */
	const char *odd = t->verbatim ? "Sent Items/Caf\xc3\xa9 & co" : "Sent Items.Caf\xc3\xa9 & co";
	DRV_OK(s->drv->create_box(s, odd, e_));
	s->drv->close_box(open_box(s, odd));
}

static void test_folder_anomalies(void **state)
{
	tree *t = *state;
	char p[1024];
	if (!t->verbatim) {
		make_maildir(t, ".A.B");          /* no ".A": A is listed as a name only */
		mkdirs(t->root, ".NoMaildir");    /* a dot directory without cur/ */
		make_maildir(t, ".inbox.x");      /* INBOX in another case: no name maps to it */
		make_maildir(t, ".INBOX");        /* would be a second INBOX */
		make_maildir(t, ".Bad..Levels");
		snprintf(p, sizeof p, "%s/.Linked", t->root);
	} else {
		make_maildir(t, "A/B");           /* A is no Maildir: a name only */
		mkdirs(t->root, "Plain/Dir");     /* no Maildir below: not a folder */
		make_maildir(t, "inbox");         /* INBOX in another case */
		make_maildir(t, ".hidden");       /* hidden: not looked at */
		snprintf(p, sizeof p, "%s/Linked", t->root);
	}
	char outside[1024];
	snprintf(outside, sizeof outside, "%s/outside", t->dir);
	mkdirs(t->dir, "outside/cur");
	mkdirs(t->dir, "outside/new");
	assert_int_equal(symlink(outside, p), 0);
	ms_side *s = side(state);
	ms_box_info *v;
	size_t n;
	DRV_OK(s->drv->list_boxes(s, &v, &n, e_));
	assert_int_equal(n, 3); /* INBOX, A, A.B */
	bool seen_a = false, seen_ab = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, "A") == 0)
			seen_a = true, assert_int_equal(v[i].attrs, MS_BOX_NOSELECT | MS_BOX_HAS_CHILDREN);
		else if (strcmp(v[i].name, t->verbatim ? "A/B" : "A.B") == 0)
			seen_ab = true, assert_int_equal(v[i].attrs, 0);
		else
			assert_string_equal(v[i].name, "INBOX");
	}
	assert_true(seen_a && seen_ab);
	ms_box_list_free(v, n);
	size_t k;
	const ms_skipped_entry *a = ms_maildir_side_anomalies(s, &k);
	const char *pp_expect[] = { ".NoMaildir", ".inbox.x", ".INBOX", ".Bad..Levels", ".Linked" };
	const char *vb_expect[] = { "inbox", "Linked" };
	const char **expect = t->verbatim ? vb_expect : pp_expect;
	size_t nexpect = t->verbatim ? 2 : 5;
	assert_int_equal(k, nexpect);
	for (size_t i = 0; i < nexpect; i++)
		if (!anomaly(a, k, expect[i]))
			fail_msg("no anomaly for %s", expect[i]);
	assert_non_null(strstr(anomaly(a, k, t->verbatim ? "Linked" : ".Linked")->why, "symlink"));
	/* the symlinked folder is never opened */
	ms_box *b = (ms_box *)1;
	ms_err e = { 0 };
	assert_int_equal(s->drv->open_box(s, "Linked", &b, &e), MS_DRV_BOX_BAD);
	assert_null(b);
	/* a \Noselect name cannot be opened as a box either */
	if (t->verbatim)
		assert_int_equal(s->drv->open_box(s, "A", &b, &e), MS_DRV_BOX_BAD);
}

static void test_delete_box_files(void **state)
{
	tree *t = *state;
	char p[1024], dir[1024];
	ms_side *s = side(state);
	ms_err e = { 0 };
	DRV_OK(s->drv->create_box(s, "Old", e_));
	box_dir(t, "Old", dir, sizeof dir);
	/* a file in tmp/: a delivery in progress */
	snprintf(p, sizeof p, "%s/tmp/1600000000.x.host", dir);
	write_file(p, msg);
	assert_int_equal(s->drv->delete_box(s, "Old", &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "tmp/"));
	unlink(p);
	/* a file nobody knows: refused, the box whole */
	snprintf(p, sizeof p, "%s/notes.txt", dir);
	write_file(p, "mine");
	assert_int_equal(s->drv->delete_box(s, "Old", &e), MS_DRV_BOX_BAD);
	assert_non_null(strstr(e.msg, "notes.txt"));
	snprintf(p, sizeof p, "%s/cur", dir);
	assert_true(exists(p));
	snprintf(p, sizeof p, "%s/notes.txt", dir);
	unlink(p);
	/* index files of Dovecot and mbsync go with the empty box */
	snprintf(p, sizeof p, "%s/dovecot-uidlist", dir);
	write_file(p, "3 V1 N1\n");
	snprintf(p, sizeof p, "%s/.mbsyncstate", dir);
	write_file(p, "FarUidValidity 1\n");
	DRV_OK(s->drv->delete_box(s, "Old", e_));
	assert_false(exists(dir));
}

static void test_fetch_reads_what_is_there(void **state)
{
	tree *t = *state;
	put_msg(t, "INBOX", "cur", "1600000000.a:2,S", "Message-ID: <a@x>\n\nshort\n");
	ms_side *s = side(state);
	ms_box *b = open_box(s, "INBOX");
	size_t n;
	ms_msg *v = list_all(b, 0, &n);
	assert_int_equal(v[0].size, 25);
	ms_msg_list_free(v, n);
	/* a file that is larger than when it was listed is read whole */
	put_msg(t, "INBOX", "cur", "1600000000.a:2,S", "Message-ID: <a@x>\n\na longer body now\n");
	results f = { 0 };
	const uint32_t uid = 1;
	DRV_OK(s->drv->fetch(b, &uid, 1, fetch_cb, &f, e_));
	assert_int_equal(f.len[0], 37);
	assert_memory_equal(f.data[0], "Message-ID: <a@x>\n\na longer body now\n", 37);
	s->drv->close_box(b);
}

/* ---- main ------------------------------------------------------------------------------- */

#define T(f, t) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, &(t))
#define LAYOUT_TESTS(t)                                                                          \
	{                                                                                        \
		T(test_open_errors, t), T(test_create_yes, t), T(test_layout_on_disk, t),       \
		T(test_new_and_cur, t), T(test_other_letters_kept, t), T(test_uid_order, t),    \
		T(test_mda_delivers_while_open, t), T(test_client_renames_between, t),          \
		T(test_broken_names, t), T(test_hostile_box_names, t), T(test_folder_anomalies, t), \
		T(test_delete_box_files, t), T(test_fetch_reads_what_is_there, t),              \
	}

int main(void)
{
	const conformance_fixture pp = { .label = "maildir++", .ctx = &pp_tree, .setup = tree_setup,
		                         .teardown = tree_teardown, .open = tree_open, .vanish = tree_vanish };
	const conformance_fixture vb = { .label = "maildir verbatim", .ctx = &vb_tree, .setup = tree_setup,
		                         .teardown = tree_teardown, .open = tree_open, .vanish = tree_vanish };
	const struct CMUnitTest general[] = { cmocka_unit_test(test_registry) };
	const struct CMUnitTest pp_tests[] = LAYOUT_TESTS(pp_tree);
	const struct CMUnitTest vb_tests[] = LAYOUT_TESTS(vb_tree);
	int failed = cmocka_run_group_tests_name("maildir general", general, NULL, NULL);
	failed += driver_conformance_run("conformance maildir++", &pp);
	failed += driver_conformance_run("conformance maildir verbatim", &vb);
	failed += cmocka_run_group_tests_name("maildir++", pp_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("maildir verbatim", vb_tests, NULL, NULL);
	return failed == 0 ? 0 : 1;
}
