/* test_quarantine.c - channel/quarantine.h: the retention of the channel
 * quarantine.  The clock is faked by setting each run's journal mtime
 * (utimensat), which is what the module measures a run's age by. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "channel/quarantine.h"

#define DAY 86400
static char dir[64];
static time_t now;

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/test_quarantine.XXXXXX");
	now = time(NULL);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void set_mtime(const char *path, time_t t)
{
	const struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* A run directory with a message and its journal (named `journal`),
 * written `age` days ago. */
static void make_run(const char *run, const char *journal, int age)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, run);
	assert_int_equal(mkdir(p, 0700), 0);
	const char *files[2] = { "000001.eml", journal };
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s/%s", dir, run, files[i]);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs("x\n", f);
		fclose(f);
		set_mtime(p, now - (time_t)age * DAY);
	}
}

static bool run_exists(const char *run)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, run);
	return stat(p, &st) == 0;
}

static void free_list(ms_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free((char *)l->v[i]);
	ms_vec_free(l);
}

static void four_runs(void)
{
	make_run("old", "journal", 40);
	make_run("older-undone", "journal.undone", 50);
	make_run("young", "journal", 29);
	make_run("current", "journal", 90);
}

static void test_dry_run_lists_and_keeps(void **state)
{
	four_runs();
	ms_strlist l = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_quarantine_prune(dir, 30, now, "current", true, &l, &e), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "older-undone");   /* oldest first */
	assert_string_equal(l.v[1], "old");
	free_list(&l);
	assert_true(run_exists("old") && run_exists("older-undone") && run_exists("young") && run_exists("current"));
	assert_false(run_exists("pruned"));
	time_t when;
	assert_int_equal(ms_quarantine_pruned_at(dir, "old", &when, &e), 0);
}

static void test_prune_removes_old_runs_only(void **state)
{
	four_runs();
	ms_strlist l = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_quarantine_prune(dir, 30, now, "current", false, &l, &e), 0);
	assert_int_equal(l.n, 2);
	free_list(&l);
	assert_false(run_exists("old"));
	assert_false(run_exists("older-undone"));
	assert_true(run_exists("young"));
	assert_true(run_exists("current"));   /* the current run: never */
	time_t when = 0;
	assert_int_equal(ms_quarantine_pruned_at(dir, "old", &when, &e), 1);
	assert_int_equal(when, now);
	assert_int_equal(ms_quarantine_pruned_at(dir, "older-undone", &when, &e), 1);
	assert_int_equal(ms_quarantine_pruned_at(dir, "young", &when, &e), 0);
	/* a second prune: nothing left to prune, the log is no run */
	assert_int_equal(ms_quarantine_prune(dir, 30, now, "current", false, &l, &e), 0);
	assert_int_equal(l.n, 0);
	/* a day later the young run is past 30 days too */
	assert_int_equal(ms_quarantine_prune(dir, 30, now + 2 * DAY, "current", false, &l, &e), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "young");
	free_list(&l);
}

static void test_zero_days_keeps_everything(void **state)
{
	four_runs();
	ms_strlist l = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_quarantine_prune(dir, 0, now, NULL, false, &l, &e), 0);
	assert_int_equal(l.n, 0);
	assert_true(run_exists("old") && run_exists("older-undone"));
}

static void test_missing_quarantine_is_no_run(void **state)
{
	char p[128];
	snprintf(p, sizeof p, "%s/none", dir);
	ms_strlist l = { 0 };
	ms_err e = { 0 };
	time_t when;
	assert_int_equal(ms_quarantine_prune(p, 30, now, NULL, false, &l, &e), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(ms_quarantine_pruned_at(p, "x", &when, &e), 0);
}

static void test_unremovable_run_is_named(void **state)
{
	if (geteuid() == 0)
		skip();   /* root removes from a read-only directory */
	make_run("stuck", "journal", 40);
	char p[256];
	snprintf(p, sizeof p, "%s/stuck", dir);
	assert_int_equal(chmod(p, 0500), 0);
	ms_strlist l = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_quarantine_prune(dir, 30, now, NULL, false, &l, &e), -1);
	assert_non_null(strstr(e.msg, "stuck"));
	assert_int_equal(chmod(p, 0700), 0);
	free_list(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dry_run_lists_and_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_removes_old_runs_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_days_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_quarantine_is_no_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unremovable_run_is_named, setup, teardown),
	};
	return cmocka_run_group_tests_name("quarantine", tests, NULL, NULL);
}
