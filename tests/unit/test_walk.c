/* test_walk.c - the data directory walker: places, kinds, symlinks, loops,
 * odd names, scope filters, and that every thread count sees the same. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walk/walk.h"

typedef struct seen_entry {
	char line[600];
} seen_entry;

typedef struct collector {
	pthread_mutex_t mu;
	seen_entry v[256];
	size_t n;
} collector;

static const char *kind_name(walk_kind k)
{
	static const char *names[] = { "message", "ignored", "not-regular", "symlink", "error" };
	return names[k];
}

static const char *place_name(walk_place p)
{
	static const char *names[] = { "queue", "account", "public", "other" };
	return names[p];
}

static void on_entry(void *ctx, const walk_entry *e)
{
	collector *c = ctx;
	pthread_mutex_lock(&c->mu);
	if (c->n < 256) {
		if (e->place == WALK_ACCOUNT && e->kind != WALK_ERROR)
			snprintf(c->v[c->n].line, sizeof c->v[c->n].line, "%s %s %s [%s/%s d%d]", kind_name(e->kind),
			         place_name(e->place), e->relpath, e->domain, e->local, e->depth);
		else
			snprintf(c->v[c->n].line, sizeof c->v[c->n].line, "%s %s %s", kind_name(e->kind),
			         place_name(e->place), e->relpath);
		c->n++;
	}
	pthread_mutex_unlock(&c->mu);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(((const seen_entry *)a)->line, ((const seen_entry *)b)->line);
}

static char root[256];

static void mk(const char *rel)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void touch(const char *rel)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static void link_to(const char *target, const char *rel)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int setup_tree(void **state)
{
	snprintf(root, sizeof root, "%s/mstore-walk-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(root));
	touch("{11111111-1111-1111-1111-111111111111}.eml");
	touch("legacy.HMA");
	touch("notes.txt");
	mk("example.com");
	touch("example.com/stray.eml");
	mk("example.com/alice");
	mk("example.com/alice/AB");
	touch("example.com/alice/AB/{AB000000-0000-0000-0000-000000000000}.eml");
	touch("example.com/alice/loose.eml");
	mk("example.com/alice/AB/deeper");
	touch("example.com/alice/AB/deeper/x.eml");
	mk("example.com/alice/dir.eml");
	char p[512];
	snprintf(p, sizeof p, "%s/example.com/alice/fifo.eml", root);
	assert_int_equal(mkfifo(p, 0644), 0);
	touch("example.com/alice/name with spaces.eml");
	mk(".mstore");
	touch(".mstore/sync.journal");
	touch("example.com/alice/bad\xff\xfe.eml");
	touch("example.com/alice/new\nline.eml");
	mk("other.org");
	mk("other.org/bob");
	touch("other.org/bob/{CD000000-0000-0000-0000-000000000000}.eml");
	mk("#Public");
	mk("#Public/EF");
	touch("#Public/EF/{EF000000-0000-0000-0000-000000000000}.eml");
	/* symlinks: to outside, to a file, and a loop back to the root */
	link_to("/etc", "example.com/alice/etc-link");
	link_to("/etc/hostname", "example.com/alice/link.eml");
	link_to("../..", "other.org/bob/loop");
	return 0;
}

static int teardown_tree(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd);
}

static void run_walk(collector *c, walk_opts o)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
	o.on_entry = on_entry;
	o.ctx = c;
	walk_stats st;
	ms_err e = { 0 };
	assert_int_equal(ms_walk(root, &o, &st, &e), 0);
	qsort(c->v, c->n, sizeof c->v[0], cmp_lines);
	pthread_mutex_destroy(&c->mu);
}

static bool has(const collector *c, const char *line)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].line, line) == 0)
			return true;
	return false;
}

static void test_every_entry_classified(void **state)
{
	collector c;
	run_walk(&c, (walk_opts){ .threads = 2, .queue = true, .accounts = true, .public_folder = true });
	assert_true(has(&c, "message queue {11111111-1111-1111-1111-111111111111}.eml"));
	assert_true(has(&c, "message queue legacy.HMA"));
	assert_true(has(&c, "ignored queue notes.txt"));
	assert_true(has(&c, "message other example.com/stray.eml"));
	assert_true(has(&c, "message account example.com/alice/AB/{AB000000-0000-0000-0000-000000000000}.eml [example.com/alice d1]"));
	assert_true(has(&c, "message account example.com/alice/loose.eml [example.com/alice d0]"));
	assert_true(has(&c, "message account example.com/alice/AB/deeper/x.eml [example.com/alice d2]"));
	assert_true(has(&c, "not-regular account example.com/alice/fifo.eml [example.com/alice d0]"));
	assert_true(has(&c, "message account example.com/alice/name with spaces.eml [example.com/alice d0]"));
	assert_true(has(&c, "message account example.com/alice/bad\xff\xfe.eml [example.com/alice d0]"));
	assert_true(has(&c, "message account example.com/alice/new\nline.eml [example.com/alice d0]"));
	assert_true(has(&c, "symlink account example.com/alice/etc-link [example.com/alice d0]"));
	assert_true(has(&c, "symlink account example.com/alice/link.eml [example.com/alice d0]"));
	assert_true(has(&c, "symlink account other.org/bob/loop [other.org/bob d0]"));
	assert_true(has(&c, "message account other.org/bob/{CD000000-0000-0000-0000-000000000000}.eml [other.org/bob d0]"));
	assert_true(has(&c, "message public #Public/EF/{EF000000-0000-0000-0000-000000000000}.eml"));
	/* dir.eml is a directory: reported, walked into (it is empty) */
	assert_true(has(&c, "not-regular account example.com/alice/dir.eml [example.com/alice d0]"));
	/* mstore's own folder is never walked */
	assert_false(has(&c, "ignored other .mstore/sync.journal"));
	for (size_t i = 0; i < c.n; i++) {
		assert_null(strstr(c.v[i].line, "/etc/"));
		assert_null(strstr(c.v[i].line, ".mstore"));
	}
	assert_int_equal(c.n, 17);
}

static void test_scopes(void **state)
{
	collector c;
	run_walk(&c, (walk_opts){ .threads = 1, .queue = true });
	assert_int_equal(c.n, 3); /* the three root files */
	run_walk(&c, (walk_opts){ .threads = 1, .public_folder = true });
	assert_int_equal(c.n, 1);
	assert_true(has(&c, "message public #Public/EF/{EF000000-0000-0000-0000-000000000000}.eml"));
}

static bool only_bob(void *ctx, const char *domain, const char *local)
{
	return strcmp(domain, "other.org") == 0 && strcmp(local, "bob") == 0;
}

static void test_filter(void **state)
{
	collector c;
	run_walk(&c, (walk_opts){ .threads = 2, .accounts = true, .filter = only_bob });
	/* bob's message and symlink, and the stray file in example.com (which
	 * is not in an account tree, so the filter does not apply) */
	assert_int_equal(c.n, 3);
	assert_true(has(&c, "message account other.org/bob/{CD000000-0000-0000-0000-000000000000}.eml [other.org/bob d0]"));
	assert_true(has(&c, "message other example.com/stray.eml"));
}

static void test_thread_counts_agree(void **state)
{
	collector one, many;
	run_walk(&one, (walk_opts){ .threads = 1, .queue = true, .accounts = true, .public_folder = true });
	run_walk(&many, (walk_opts){ .threads = 8, .queue = true, .accounts = true, .public_folder = true });
	assert_int_equal(one.n, many.n);
	for (size_t i = 0; i < one.n; i++)
		assert_string_equal(one.v[i].line, many.v[i].line);
}

static void test_missing_root(void **state)
{
	ms_err e = { 0 };
	walk_opts o = { .queue = true, .on_entry = on_entry };
	assert_int_equal(ms_walk("/nonexistent/mstore-data", &o, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent/mstore-data"));
}

static void test_message_names(void **state)
{
	assert_true(ms_walk_is_message_name("a.eml"));
	assert_true(ms_walk_is_message_name("{X}.EML"));
	assert_true(ms_walk_is_message_name("old.Hma"));
	assert_false(ms_walk_is_message_name(".eml"));
	assert_false(ms_walk_is_message_name("a.emlx"));
	assert_false(ms_walk_is_message_name("eml"));
}

/* ms_open_beneath never follows a symlink, neither the last component nor
 * one in the middle of the path, even one that stays inside the tree. */
static void test_open_beneath_no_symlinks(void **state)
{
	int root_fd = open(root, O_RDONLY | O_DIRECTORY);
	assert_true(root_fd >= 0);
	int fd = ms_open_beneath(root_fd, "example.com/alice/loose.eml", O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	/* other.org/bob/loop -> ../.. (the root itself) */
	assert_int_equal(ms_open_beneath(root_fd, "other.org/bob/loop/notes.txt", O_RDONLY), -1);
	assert_int_equal(ms_open_beneath(root_fd, "other.org/bob/loop", O_RDONLY | O_DIRECTORY), -1);
	assert_int_equal(ms_open_beneath(root_fd, "example.com/alice/link.eml", O_RDONLY), -1);
	assert_int_equal(ms_open_beneath(root_fd, "example.com/alice/etc-link/hostname", O_RDONLY), -1);
	close(root_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_entry_classified),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_thread_counts_agree),
		cmocka_unit_test(test_missing_root),
		cmocka_unit_test(test_message_names),
		cmocka_unit_test(test_open_beneath_no_symlinks),
	};
	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
