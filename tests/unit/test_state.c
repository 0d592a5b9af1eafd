/* test_state.c - channel/state.h: the channel state file round trip,
 * hostile names, corrupt files and files of another channel refused with
 * their name, a missing file as an empty state, seeding, and a process
 * killed between the temporary file and the rename. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel/state.h"
#include "drivers/driver.h"

static char dir[64], path[128];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/test_state.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/chan.state", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static ms_state *load_ok(const char *channel)
{
	ms_state *st = NULL;
	ms_err e = { 0 };
	if (ms_state_load(path, channel, &st, &e) < 0)
		fail_msg("load: %s", e.msg);
	return st;
}

static void write_text(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void save_ok(ms_state *st)
{
	ms_err e = { 0 };
	if (ms_state_save(st, &e) < 0)
		fail_msg("save: %s", e.msg);
}

static void test_missing_is_empty(void **state)
{
	ms_state *st = load_ok("c");
	assert_false(st->existed);
	assert_int_equal(st->pairs.n, 0);
	ms_state_free(st);
}

static void test_round_trip(void **state)
{
	ms_state *st = load_ok("my channel");
	ms_state_pair *p = ms_state_pair_get(st, "INBOX", "Mail/in box", true);
	p->uidvalidity[0] = 7;
	p->uidvalidity[1] = 4000000000u;
	assert_non_null(ms_state_put(p, "<a@b>", "{GUID}.eml", NULL, MS_FLAG_SEEN | MS_FLAG_DRAFT, "$Label1 work", '='));
	/* names that would break a line-oriented format */
	assert_non_null(ms_state_put(p, "<x y\n%,@z>", "-", "", 0, NULL, 'A'));
	assert_non_null(ms_state_put(p, "sha256:00", "k", "uid:1:2", MS_STATE_FLAGS_UNKNOWN, NULL, 'B'));
	assert_non_null(ms_state_put(p, "<gone@x>", "k2", "k3", 0, NULL, '='));
	ms_state_forget(p, "<gone@x>");
	ms_state_pair_get(st, "", "empty name", true);
	save_ok(st);
	ms_state_free(st);

	st = load_ok("my channel");
	assert_true(st->existed);
	assert_int_equal(st->pairs.n, 2);
	p = ms_state_pair_get(st, "INBOX", "Mail/in box", false);
	assert_non_null(p);
	assert_int_equal(p->uidvalidity[1], 4000000000u);
	assert_int_equal(ms_state_count(p), 3);
	ms_state_msg *m = ms_state_find(p, "<a@b>");
	assert_non_null(m);
	assert_string_equal(m->key[0], "{GUID}.eml");
	assert_null(m->key[1]);
	assert_int_equal(m->flags, MS_FLAG_SEEN | MS_FLAG_DRAFT);
	assert_string_equal(m->keywords, "$Label1 work");
	assert_int_equal(m->status, '=');
	m = ms_state_find(p, "<x y\n%,@z>");
	assert_non_null(m);
	assert_string_equal(m->key[0], "-");
	assert_string_equal(m->key[1], "");
	assert_int_equal(m->flags, 0);
	assert_null(m->keywords);
	assert_int_equal(m->status, 'A');
	m = ms_state_find(p, "sha256:00");
	assert_int_equal(m->flags, MS_STATE_FLAGS_UNKNOWN);
	assert_int_equal(m->status, 'B');
	assert_null(ms_state_find(p, "<gone@x>"));
	assert_non_null(ms_state_pair_get(st, "", "empty name", false));
	ms_state_free(st);
}

static void expect_error(const char *text, const char *channel, const char *needle)
{
	write_text(text);
	ms_state *st = NULL;
	ms_err e = { 0 };
	assert_int_equal(ms_state_load(path, channel, &st, &e), -1);
	assert_null(st);
	if (!strstr(e.msg, path) || !strstr(e.msg, needle))
		fail_msg("error \"%s\" does not name %s and \"%s\"", e.msg, path, needle);
}

static void test_corrupt_and_foreign(void **state)
{
	const char good_head[] = "mstore-channel-state 1\nchannel c\n";
	expect_error("garbage\n", "c", "line 1");
	expect_error("mstore-channel-state 9\nchannel c\nend 0 0\n", "c", "version");
	expect_error("mstore-channel-state 1\nchannel other\nend 0 0\n", "c", "belongs to channel \"other\"");
	/* cut short: no end line, or a last line without its newline */
	char t[512];
	snprintf(t, sizeof t, "%spair A B 1 1\nm <a@b> - - S - =\n", good_head);
	expect_error(t, "c", "cut short");
	snprintf(t, sizeof t, "%spair A B 1 1\nm <a@b> - - S - =\nend 1 1", good_head);
	expect_error(t, "c", "cut short");
	snprintf(t, sizeof t, "%spair A B 1 1\nm <a@b> - - S - =\nend 1 2\n", good_head);
	expect_error(t, "c", "count");
	snprintf(t, sizeof t, "%spair A B 1 1\nm <a@b> - - Q - =\nend 1 1\n", good_head);
	expect_error(t, "c", "line 4");
	snprintf(t, sizeof t, "%sm <a@b> - - S - =\nend 0 1\n", good_head);
	expect_error(t, "c", "before any pair");
	snprintf(t, sizeof t, "%spair A B 1 1\nm <a@b> - - S - =\nm <a@b> - - S - =\nend 1 2\n", good_head);
	expect_error(t, "c", "twice");
	snprintf(t, sizeof t, "%spair A B 1 1\nm <a@b> - - S - X\nend 1 1\n", good_head);
	expect_error(t, "c", "status");
	snprintf(t, sizeof t, "%spair A B x 1\nend 1 0\n", good_head);
	expect_error(t, "c", "UIDVALIDITY");
	snprintf(t, sizeof t, "%spair A%%G B 1 1\nend 1 0\n", good_head);
	expect_error(t, "c", "line 3");
	/* and the file is left as it was */
	FILE *f = fopen(path, "r");
	char buf[512] = { 0 };
	assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
	fclose(f);
	assert_string_equal(buf, t);
}

/* Each side's HIGHESTMODSEQ: kept across a save, absent from a pair line
 * (older files) it is 0, written only when one is known, and a field
 * that is not a number is a corrupt file. */
static void test_modseq(void **state)
{
	(void)state;
	write_text("mstore-channel-state 1\nchannel c\npair A B 1 2\npair C D 3 4 0 18446744073709551615\nend 2 0\n");
	ms_state *st = load_ok("c");
	ms_state_pair *ab = ms_state_pair_get(st, "A", "B", false), *cd = ms_state_pair_get(st, "C", "D", false);
	assert_non_null(ab);
	assert_non_null(cd);
	assert_true(ab->modseq[0] == 0 && ab->modseq[1] == 0);
	assert_true(cd->modseq[0] == 0 && cd->modseq[1] == UINT64_MAX);
	ab->modseq[0] = 7;
	cd->modseq[1] = 0;
	save_ok(st);
	ms_state_free(st);
	FILE *f = fopen(path, "r");
	char buf[512] = { 0 };
	assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
	fclose(f);
	assert_non_null(strstr(buf, "pair A B 1 2 7 0\n"));
	assert_non_null(strstr(buf, "pair C D 3 4\n"));
	const char head[] = "mstore-channel-state 1\nchannel c\n";
	char t[256];
	snprintf(t, sizeof t, "%spair A B 1 1 x 2\nend 1 0\n", head);
	expect_error(t, "c", "mod-sequence");
	snprintf(t, sizeof t, "%spair A B 1 1 -1 2\nend 1 0\n", head);
	expect_error(t, "c", "mod-sequence");
	snprintf(t, sizeof t, "%spair A B 1 1 5\nend 1 0\n", head);
	expect_error(t, "c", "line 3");
}

static void test_seed(void **state)
{
	ms_state *st = load_ok("c");
	const char *ids[] = { "<a@b>", "<c@d>", "<a@b>" };
	ms_err e = { 0 };
	assert_int_equal(ms_state_seed(st, "INBOX", "INBOX", ids, 3, &e), 0);
	ms_state_pair *p = ms_state_pair_get(st, "INBOX", "INBOX", false);
	assert_int_equal(ms_state_count(p), 2);
	ms_state_msg *m = ms_state_find(p, "<c@d>");
	assert_int_equal(m->flags, MS_STATE_FLAGS_UNKNOWN);
	assert_int_equal(m->status, '=');
	assert_null(m->key[0]);
	ms_state_free(st);
}

static void die_before_rename(const char *tmp)
{
	(void)tmp;
	raise(SIGKILL);
}

static void test_killed_before_rename(void **state)
{
	ms_state *st = load_ok("c");
	ms_state_put(ms_state_pair_get(st, "A", "B", true), "<old@x>", NULL, NULL, 0, NULL, '=');
	save_ok(st);
	ms_state_put(ms_state_pair_get(st, "A", "B", true), "<new@x>", NULL, NULL, 0, NULL, '=');
	pid_t pid = fork();
	if (pid == 0) {
		ms_state_before_rename = die_before_rename;
		ms_err e;
		ms_state_save(st, &e);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* the temporary file is there, complete; the state is the old one */
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), 0);
	ms_state *old = load_ok("c");
	ms_state_pair *p = ms_state_pair_get(old, "A", "B", false);
	assert_non_null(ms_state_find(p, "<old@x>"));
	assert_null(ms_state_find(p, "<new@x>"));
	ms_state_free(old);
	/* the next save overwrites the stale temporary file */
	save_ok(st);
	assert_int_equal(access(tmp, F_OK), -1);
	ms_state_free(st);
	st = load_ok("c");
	assert_non_null(ms_state_find(ms_state_pair_get(st, "A", "B", false), "<new@x>"));
	ms_state_free(st);
}

static void test_lock(void **state)
{
	ms_state *a = load_ok("c"), *b = load_ok("c");
	ms_err e = { 0 };
	assert_int_equal(ms_state_lock(a, &e), 0);
	assert_int_equal(ms_state_lock(a, &e), 0);     /* held already */
	assert_int_equal(ms_state_lock(b, &e), -1);    /* a second run, even in this process */
	assert_non_null(strstr(e.msg, "in use"));
	assert_non_null(strstr(e.msg, path));
	ms_state_free(a);                               /* released */
	assert_int_equal(ms_state_lock(b, &e), 0);
	ms_state_free(b);
}

static void test_unwritable_dir(void **state)
{
	if (geteuid() == 0)
		skip();   /* root writes anyway */
	ms_state *st = load_ok("c");
	assert_int_equal(chmod(dir, 0500), 0);
	ms_err e = { 0 };
	assert_int_equal(ms_state_save(st, &e), -1);
	assert_non_null(strstr(e.msg, path));
	chmod(dir, 0700);
	ms_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_and_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modseq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_before_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
