/* test_trash.c - store/trash: the journaled move of message files into
 * the trash, its recovery after a crash at each step, and purge. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/messages.h"
#include "store/objects.h"
#include "store/folders.h"
#include "store/store.h"
#include "store/trash.h"

#define NAME1 "{00000000-0000-0000-0000-000000000001}.eml"
#define NAME2 "{00000000-0000-0000-0000-000000000002}.eml"
#define REL1 "example.com/ann/00/" NAME1
#define REL2 "example.com/ann/00/" NAME2

typedef struct fx {
	char dir[256], data[300], url[300];
	ms_store *s;
	int64_t id1, id2;
} fx;

static void put_file(const char *data, const char *rel)
{
	char p[600];
	snprintf(p, sizeof p, "%s/%s", data, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("Subject: x\r\n\r\nbody\r\n", f);
	fclose(f);
}

static bool exists(const char *data, const char *rel)
{
	char p[600];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", data, rel);
	return stat(p, &st) == 0;
}

static bool in_trash(const char *data, const char *rel)
{
	char p[600];
	assert_int_equal(ms_trash_path(rel, time(NULL), p, sizeof p), 0);
	return exists(data, p);
}

/* What a recover of the store's dead intents moves. */
static size_t recovered(fx *f)
{
	ms_err e = { 0 };
	size_t moved = 0;
	assert_int_equal(ms_trash_recover(f->s->db, f->data, &moved, &e), 0);
	return moved;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	ms_err e = { 0 };
	snprintf(f->dir, sizeof f->dir, "/tmp/mstore-trash-%d", (int)getpid());
	snprintf(f->data, sizeof f->data, "%s/data", f->dir);
	snprintf(f->url, sizeof f->url, "sqlite:%s/s.sqlite", f->dir);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s/example.com/ann/00", f->dir, f->data);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(ms_store_init(f->url, NULL, &e), 0);
	assert_int_equal(ms_store_open(f->url, NULL, f->data, DB_OPEN_READ_WRITE, &f->s, &e), 0);
	ms_domain_opts dopt = { 0 };
	ms_account_opts aopt = { 0 };
	int64_t dom, acct, inbox;
	assert_int_equal(ms_domain_add(f->s, "example.com", &dopt, &dom, &e), 0);
	assert_int_equal(ms_account_add(f->s, "ann@example.com", &aopt, &acct, &e), 0);
	assert_int_equal(ms_folder_find_inbox(f->s->db, acct, &inbox, &e), 1);
	ms_message_row rows[2] = {
		{ acct, inbox, NAME1, "a@b", 20, 0, "2026-01-01 00:00:00", 1 },
		{ acct, inbox, NAME2, "a@b", 20, 0, "2026-01-01 00:00:00", 2 },
	};
	assert_int_equal(ms_messages_insert_delivered(f->s->db, rows, 2, &e), 0);
	assert_int_equal(ms_messages_max_id(f->s->db, &f->id2, &e), 0);
	f->id1 = f->id2 - 1;
	put_file(f->data, REL1);
	put_file(f->data, REL2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	ms_store_close(f->s);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	(void)system(cmd);
	free(f);
	return 0;
}

/* The whole sequence: files in the trash, none left in the store. */
static void test_finish_moves(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	ms_trash *t;
	assert_int_equal(ms_trash_begin(f->data, &t, &e), 0);
	assert_int_equal(ms_trash_add(t, f->id1, REL1, &e), 0);
	assert_int_equal(ms_trash_add(t, f->id2, REL2, &e), 0);
	assert_int_equal(ms_trash_sync(t, &e), 0);
	assert_int_equal(ms_messages_delete(f->s->db, f->id1, &e), 0);
	assert_int_equal(ms_messages_delete(f->s->db, f->id2, &e), 0);
	char p[600];
	snprintf(p, sizeof p, "%s/%s", f->data, REL2);
	unlink(p); /* one already gone: counted, not an error */
	size_t moved = 0, missing = 0;
	assert_int_equal(ms_trash_finish(t, &moved, &missing, &e), 0);
	assert_int_equal(moved, 1);
	assert_int_equal(missing, 1);
	assert_false(exists(f->data, REL1));
	assert_true(in_trash(f->data, REL1));
	/* the intent is gone: nothing for a later run to recover */
	assert_int_equal(recovered(f), 0);
}

/* A process killed after the intent was synced: the entry whose row was
 * deleted has its file moved by recover, the one whose row is still there
 * keeps its file. */
/* ms_trash_rows: the whole protocol in one call, rows and files together. */
static void test_rows(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	ms_trash_victim v[2] = { { f->id1, REL1 }, { f->id2, REL2 } };
	size_t moved = 0, missing = 0;
	ms_trash *t;
	assert_int_equal(ms_trash_begin(f->data, &t, &e), 0);
	assert_int_equal(ms_trash_rows(t, f->s->db, v, 2, "unit", &e), 0);
	assert_int_equal(ms_trash_finish(t, &moved, &missing, &e), 0);
	assert_int_equal(moved, 2);
	assert_int_equal(missing, 0);
	ms_message_rec rec;
	assert_int_equal(ms_messages_get(f->s->db, f->id1, &rec, &e), 0);
	assert_int_equal(ms_messages_get(f->s->db, f->id2, &rec, &e), 0);
	assert_false(exists(f->data, REL1));
	assert_false(exists(f->data, REL2));
	assert_true(in_trash(f->data, REL1));
	assert_true(in_trash(f->data, REL2));
	assert_int_equal(recovered(f), 0); /* no intent left behind */
}

/* Two batches under one intent: the second's rows are deleted while the
 * first's files are moved and not yet synced; a process killed after the
 * second batch's commit leaves one intent that settles both. */
static void test_batches_one_intent(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ms_trash *t;
		ms_trash_victim a = { f->id1, REL1 }, b = { f->id2, REL2 };
		setenv("MSTORE_TEST_HOOK_AT", "unit2-commit", 1);
		setenv("MSTORE_TEST_HOOK_CMD", "kill -9 $PPID", 1);
		if (ms_trash_begin(f->data, &t, &e) < 0 || ms_trash_rows(t, f->s->db, &a, 1, "unit1", &e) < 0)
			_exit(1);
		/* the first batch is moved, the intent still there */
		if (exists(f->data, REL1) || !in_trash(f->data, REL1))
			_exit(2);
		ms_trash_rows(t, f->s->db, &b, 1, "unit2", &e); /* the hook kills the process after the commit */
		_exit(3);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(exists(f->data, REL2)); /* its rows gone, its file not moved */
	assert_int_equal(recovered(f), 1); /* REL2; REL1 was moved already (found gone, not counted) */
	assert_true(in_trash(f->data, REL1));
	assert_true(in_trash(f->data, REL2));
	assert_false(exists(f->data, REL2));
}

/* An abort after a batch (the next one rolled back): the batch's files
 * stay in the trash, the files added since stay in place, the intent goes. */
static void test_abort_after_batch(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	ms_trash *t;
	ms_trash_victim a = { f->id1, REL1 };
	assert_int_equal(ms_trash_begin(f->data, &t, &e), 0);
	assert_int_equal(ms_trash_rows(t, f->s->db, &a, 1, "unit", &e), 0);
	assert_int_equal(ms_trash_add(t, f->id2, REL2, &e), 0);
	assert_int_equal(ms_trash_sync(t, &e), 0);
	ms_trash_abort(t); /* as after the rollback of the second's delete */
	assert_true(in_trash(f->data, REL1));
	assert_true(exists(f->data, REL2));
	assert_int_equal(recovered(f), 0); /* no intent left */
}

/* A commit whose outcome is unknown: ms_trash_leave keeps the intent, and
 * the recover moves the file whose row is gone, keeps the other. */
static void test_leave(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	ms_trash *t;
	assert_int_equal(ms_trash_begin(f->data, &t, &e), 0);
	assert_int_equal(ms_trash_add(t, f->id1, REL1, &e), 0);
	assert_int_equal(ms_trash_add(t, f->id2, REL2, &e), 0);
	assert_int_equal(ms_trash_sync(t, &e), 0);
	assert_int_equal(ms_messages_delete(f->s->db, f->id1, &e), 0); /* it did commit, for the first */
	ms_trash_leave(t);
	assert_true(exists(f->data, REL1));
	assert_int_equal(recovered(f), 1);
	assert_true(in_trash(f->data, REL1));
	assert_true(exists(f->data, REL2));
}

/* Many directories: one syncfs instead of a fsync each, the files all moved. */
static void test_many_dirs(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	ms_trash *t;
	char rel[100][80];
	assert_int_equal(ms_trash_begin(f->data, &t, &e), 0);
	for (int k = 0; k < 100; k++) {
		char cmd[700];
		snprintf(rel[k], sizeof rel[k], "example.com/u%d/00/" NAME1, k);
		snprintf(cmd, sizeof cmd, "mkdir -p %s/example.com/u%d/00", f->data, k);
		assert_int_equal(system(cmd), 0);
		put_file(f->data, rel[k]);
		assert_int_equal(ms_trash_add(t, 900000 + k, rel[k], &e), 0);
	}
	assert_int_equal(ms_trash_sync(t, &e), 0);
	size_t moved = 0, missing = 0;
	assert_int_equal(ms_trash_finish(t, &moved, &missing, &e), 0);
	assert_int_equal(moved, 100);
	for (int k = 0; k < 100; k++) {
		assert_false(exists(f->data, rel[k]));
		assert_true(in_trash(f->data, rel[k]));
	}
}

static void test_recover_after_kill(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ms_trash *t;
		if (ms_trash_begin(f->data, &t, &e) < 0 || ms_trash_add(t, f->id1, REL1, &e) < 0 ||
		    ms_trash_add(t, f->id2, REL2, &e) < 0 || ms_trash_sync(t, &e) < 0)
			_exit(1);
		_exit(0); /* "killed": the intent stays, unheld */
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the delete of the first committed, the second's did not */
	assert_int_equal(ms_messages_delete(f->s->db, f->id1, &e), 0);
	assert_int_equal(recovered(f), 1);
	assert_false(exists(f->data, REL1));
	assert_true(in_trash(f->data, REL1));
	assert_true(exists(f->data, REL2));
	assert_false(in_trash(f->data, REL2));
	assert_int_equal(recovered(f), 0);
}

/* A live process's intent is not taken over. */
static void test_recover_skips_live(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	ms_trash *t;
	assert_int_equal(ms_trash_begin(f->data, &t, &e), 0);
	assert_int_equal(ms_trash_add(t, f->id1, REL1, &e), 0);
	assert_int_equal(ms_trash_sync(t, &e), 0);
	assert_int_equal(ms_messages_delete(f->s->db, f->id1, &e), 0);
	/* another process recovers while we still hold ours */
	pid_t pid = fork();
	if (pid == 0) {
		size_t moved = 0;
		_exit(ms_trash_recover(f->s->db, f->data, &moved, &e) == 0 && moved == 0 ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(exists(f->data, REL1));
	size_t moved = 0;
	assert_int_equal(ms_trash_finish(t, &moved, NULL, &e), 0);
	assert_int_equal(moved, 1);
}

/* The same path trashed twice the same day: the second gets ".2". */
static void test_no_overwrite(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	for (int round = 0; round < 2; round++) {
		put_file(f->data, REL1);
		ms_trash *t;
		assert_int_equal(ms_trash_begin(f->data, &t, &e), 0);
		assert_int_equal(ms_trash_add(t, 999999, REL1, &e), 0);
		assert_int_equal(ms_trash_sync(t, &e), 0);
		assert_int_equal(ms_trash_finish(t, NULL, NULL, &e), 0);
	}
	assert_true(in_trash(f->data, REL1));
	assert_true(in_trash(f->data, REL1 ".2"));
}

static void count_fn(void *ctx, const char *rel, uint64_t size)
{
	(void)rel;
	*(uint64_t *)ctx += size;
}

/* Purge removes whole days older than the cut, and only those. */
static void test_purge(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	char cmd[1200];
	snprintf(cmd, sizeof cmd,
	         "mkdir -p %s/" MS_TRASH_DIR "/2020-01-01/x/00 %s/" MS_TRASH_DIR "/2020-01-05 %s/" MS_TRASH_DIR "/notaday"
	         " && printf 12345 > %s/" MS_TRASH_DIR "/2020-01-01/x/00/a"
	         " && printf 123 > %s/" MS_TRASH_DIR "/2020-01-05/b",
	         f->data, f->data, f->data, f->data, f->data);
	assert_int_equal(system(cmd), 0);
	time_t now = 1578787200; /* 2020-01-12 00:00 UTC */
	ms_purge_stats st;
	uint64_t seen = 0;
	/* dry run: counted, nothing removed */
	assert_int_equal(ms_trash_purge(f->data, 7, now, true, count_fn, &seen, &st, &e), 0);
	assert_int_equal(st.days, 1);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.bytes, 5);
	assert_int_equal(seen, 5);
	assert_true(exists(f->data, MS_TRASH_DIR "/2020-01-01/x/00/a"));
	assert_int_equal(ms_trash_purge(f->data, 7, now, false, NULL, NULL, &st, &e), 0);
	assert_false(exists(f->data, MS_TRASH_DIR "/2020-01-01"));
	assert_true(exists(f->data, MS_TRASH_DIR "/2020-01-05/b"));
	assert_true(exists(f->data, MS_TRASH_DIR "/notaday"));
	assert_int_equal(ms_trash_purge(f->data, 0, now, false, NULL, NULL, &st, &e), 0);
	assert_int_equal(st.files, 1);
	assert_false(exists(f->data, MS_TRASH_DIR "/2020-01-05"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_finish_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches_one_intent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_after_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_after_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_skips_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
