/* test_journal.c - sync's rename journal (src/sync/journal.c): what a
 * journal holds, what a later run makes of an abandoned one, and that a
 * live one is left alone.  The order of its durability calls is checked
 * end to end by tests/e2e/test_durability.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/sync_internal.h"
#include "util/journal_io.h"

/* What the journal reported (it reports through report.c; this test
 * stands in for it, so journal.c is tested alone). */
#define MAX_REPORTS 16
static struct {
	char path[512], detail[512];
	sync_category cat;
} reports[MAX_REPORTS];
static int nreports;

void sync_report_entry(sync_run *run, const char *relpath, sync_category cat, const char *reason, const char *detail)
{
	(void)run;
	(void)reason;
	assert_true(nreports < MAX_REPORTS);
	snprintf(reports[nreports].path, sizeof reports[nreports].path, "%s", relpath);
	snprintf(reports[nreports].detail, sizeof reports[nreports].detail, "%s", detail ? detail : "");
	reports[nreports++].cat = cat;
}

typedef struct fixture {
	char dir[64];
	ms_store s;
	sync_run run;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/mstore-journal.XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	f->s.data_dir = f->dir;
	f->run.s = &f->s;
	f->run.root_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	nreports = 0;
	*state = f;
	return f->run.root_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sync_journal_close(&f->run);
	close(f->run.root_fd);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

static void put(fixture *f, const char *rel, const char *content)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", f->dir, rel);
	FILE *o = fopen(p, "w");
	assert_non_null(o);
	fputs(content, o);
	fclose(o);
}

static bool there(fixture *f, const char *rel)
{
	struct stat st;
	return fstatat(f->run.root_fd, rel, &st, 0) == 0;
}

/* The names of the journals in DATA/.mstore, and how many. */
static int journals(fixture *f, char *name, size_t len)
{
	char p[128];
	snprintf(p, sizeof p, "%s/.mstore", f->dir);
	DIR *d = opendir(p);
	int n = 0;
	for (struct dirent *de; d && (de = readdir(d));)
		if (strstr(de->d_name, ".journal")) {
			n++;
			if (name)
				snprintf(name, len, "%s/.mstore/%s", f->dir, de->d_name);
		}
	if (d)
		closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *o = fopen(path, "r");
	assert_non_null(o);
	size_t n = fread(buf, 1, sizeof buf - 1, o);
	buf[n] = '\0';
	fclose(o);
	return buf;
}

/* An entry is one line, FROM TAB TO; bytes that would break the line are
 * escaped, so any file name survives the round trip. */
static void test_entry_format(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	assert_int_equal(sync_journal_append(&f->run, "a/odd\tname\n100%.eml", "a/AB/{X}.eml", &e), 0);
	char name[256];
	assert_int_equal(journals(f, name, sizeof name), 1);
	assert_string_equal(slurp(name), "a/odd%09name%0A100%25.eml\ta/AB/{X}.eml\n");
	struct stat st;
	assert_int_equal(stat(name, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* After the batch's commit the journal is emptied; an empty journal is
 * removed when the run ends, a non-empty one stays for the next run. */
static void test_clear_and_close(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	assert_int_equal(sync_journal_append(&f->run, "x", "y", &e), 0);
	assert_int_equal(sync_journal_clear(&f->run, &e), 0);
	char name[256];
	assert_int_equal(journals(f, name, sizeof name), 1);
	assert_string_equal(slurp(name), "");
	sync_journal_close(&f->run);
	assert_int_equal(journals(f, NULL, 0), 0);

	assert_int_equal(sync_journal_append(&f->run, "x", "y", &e), 0);
	sync_journal_close(&f->run);
	assert_int_equal(journals(f, NULL, 0), 1);
}

/* An abandoned journal: every entry is looked at.  Completed renames are
 * reported as moved (the file is at its new name only), renames that did
 * not happen are not reported (this run moves the file itself), a file
 * at neither name is reported as failed; the journal is removed. */
static void test_replay_abandoned(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	put(f, "done-new.eml", "1");       /* renamed: only the new name */
	put(f, "undone-old.eml", "2");     /* not renamed: only the old name */
	put(f, "both-old.eml", "3");       /* the new name taken by another file */
	put(f, "both-new.eml", "4");
	put(f, "odd\tnew.eml", "5");       /* renamed, escaped name */
	assert_int_equal(sync_journal_append(&f->run, "done-old.eml", "done-new.eml", &e), 0);
	assert_int_equal(sync_journal_append(&f->run, "undone-old.eml", "undone-new.eml", &e), 0);
	assert_int_equal(sync_journal_append(&f->run, "both-old.eml", "both-new.eml", &e), 0);
	assert_int_equal(sync_journal_append(&f->run, "gone-old.eml", "gone-new.eml", &e), 0);
	assert_int_equal(sync_journal_append(&f->run, "odd\told.eml", "odd\tnew.eml", &e), 0);
	sync_journal_close(&f->run); /* the writer "dies": its lock goes */

	assert_int_equal(sync_journal_recover(&f->run, &e), 0);
	assert_int_equal(nreports, 3);
	assert_string_equal(reports[0].path, "done-old.eml");
	assert_int_equal(reports[0].cat, SYNC_MOVED);
	assert_string_equal(reports[0].detail, "done-new.eml");
	assert_string_equal(reports[1].path, "gone-old.eml");
	assert_int_equal(reports[1].cat, SYNC_FAILED);
	assert_string_equal(reports[2].path, "odd\told.eml");
	assert_int_equal(reports[2].cat, SYNC_MOVED);
	assert_string_equal(reports[2].detail, "odd\tnew.eml");
	assert_int_equal(journals(f, NULL, 0), 0);
	assert_true(there(f, "undone-old.eml") && there(f, "both-old.eml") && there(f, "both-new.eml"));
}

/* A journal whose writer still runs (it holds the lock: another shard)
 * is not touched. */
static void test_live_journal_left_alone(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	put(f, "new.eml", "1");
	assert_int_equal(sync_journal_append(&f->run, "old.eml", "new.eml", &e), 0);
	assert_int_equal(sync_journal_recover(&f->run, &e), 0);
	assert_int_equal(nreports, 0);
	assert_int_equal(journals(f, NULL, 0), 1);
}

/* A line without a tab is skipped, the lines after it still count; a
 * last line without its newline was torn by the crash, before its
 * rename (which follows the synced line), so it tells nothing. */
static void test_torn_line(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	assert_int_equal(mkdirat(f->run.root_fd, ".mstore", 0700), 0);
	put(f, "b-new.eml", "1");
	put(f, ".mstore/sync-other-1.journal", "a-old.eml\na-new\nb-old.eml\tb-new.eml\nc-old.eml\tc-ne");
	assert_int_equal(sync_journal_recover(&f->run, &e), 0);
	assert_int_equal(nreports, 1);
	assert_string_equal(reports[0].path, "b-old.eml");
	assert_int_equal(reports[0].cat, SYNC_MOVED);
}

/* No .mstore at all: nothing to recover, no error. */
static void test_nothing_to_recover(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	assert_int_equal(sync_journal_recover(&f->run, &e), 0);
	assert_int_equal(nreports, 0);
}

/* After a rename the directories it changed are synced; one that does
 * not exist is an error (the file is then failed, not committed). */
/* A path's line: '%', TAB, LF and CR escaped, every other byte as it is,
 * and back again. */
static void test_path_escape(void **state)
{
	const char *in = "d/u/AB/{x}\t%41\n\r\xc3\xa9 $(rm) end%";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	ms_jio_put_path(f, in);
	ms_jio_put_path(f, "");
	ms_jio_put_path(f, "plain");
	fclose(f);
	assert_string_equal(buf, "d/u/AB/{x}%09%2541%0A%0D\xc3\xa9 $(rm) end%25plain");
	buf[strlen(buf) - strlen("plain")] = '\0';
	ms_jio_unescape(buf);
	assert_string_equal(buf, in);
	free(buf);
}

static void test_renamed(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	assert_int_equal(mkdirat(f->run.root_fd, "d", 0700), 0);
	assert_int_equal(mkdirat(f->run.root_fd, "d/AB", 0700), 0);
	assert_int_equal(sync_journal_renamed(&f->run, "d/x.eml", "d/AB/y.eml", &e), 0);
	assert_int_equal(sync_journal_renamed(&f->run, "x.eml", "y.eml", &e), 0); /* the queue: the root */
	assert_int_equal(sync_journal_renamed(&f->run, "nowhere/x.eml", "d/AB/y.eml", &e), -1);
	assert_non_null(strstr(e.msg, "nowhere"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_entry_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_abandoned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_journal_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renamed, setup, teardown),
		cmocka_unit_test(test_path_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
