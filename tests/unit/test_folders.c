/* test_folders.c - store/folders, store/messages and store/quota on a
 * fresh SQLite store: what sync, reconstruct and the drivers write goes
 * through these, so their rules are tested here on both sides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/browse.h"
#include "store/folders.h"
#include "store/messages.h"
#include "store/objects.h"
#include "store/quota.h"
#include "store/sql.h"
#include "store/store.h"

typedef struct fx {
	char path[256];
	ms_store *s;
	int64_t acct, inbox;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	ms_err e = { 0 };
	char url[300];
	snprintf(f->path, sizeof f->path, "/tmp/mstore-folders-%d.sqlite", (int)getpid());
	unlink(f->path);
	snprintf(url, sizeof url, "sqlite:%s", f->path);
	assert_int_equal(ms_store_init(url, NULL, &e), 0);
	assert_int_equal(ms_store_open(url, NULL, NULL, DB_OPEN_READ_WRITE, &f->s, &e), 0);
	ms_domain_opts dopt = { 0 };
	ms_account_opts aopt = { 0 };
	int64_t id;
	assert_int_equal(ms_domain_add(f->s, "example.com", &dopt, &id, &e), 0);
	assert_int_equal(ms_account_add(f->s, "ann@example.com", &aopt, &f->acct, &e), 0);
	assert_int_equal(ms_folder_find_inbox(f->s->db, f->acct, &f->inbox, &e), 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	ms_store_close(f->s);
	unlink(f->path);
	free(f);
	return 0;
}

static void test_inbox_any_case(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	int64_t id = 0;
	assert_int_equal(ms_sql_exec(f->s->db, "UPDATE hm_imapfolders SET foldername = 'Inbox' WHERE folderid = ?",
	                             PARAMS(P_INT(f->inbox)), NULL, &e), 0);
	assert_int_equal(ms_folder_inbox(f->s->db, f->acct, 0, &id, &e), 0);
	assert_int_equal(id, f->inbox); /* found, not created again */
}

/* Folder paths from parent links: rows ordered by id, as listed. */
static void test_folder_path(void **state)
{
	(void)state;
	ms_folder_row v[] = {
		{ .id = 3, .parent_id = -1, .name = "inbox" },
		{ .id = 5, .parent_id = 9, .name = "C" },
		{ .id = 7, .parent_id = -1, .name = "A" },
		{ .id = 9, .parent_id = 7, .name = "B" },
		{ .id = 11, .parent_id = 40, .name = "orphan" },  /* parent gone */
		{ .id = 12, .parent_id = 13, .name = "x" },       /* a loop */
		{ .id = 13, .parent_id = 12, .name = "y" },
		{ .id = 14, .parent_id = 3, .name = "Sub" },
	};
	size_t n = sizeof v / sizeof *v;
	char out[64];
	assert_true(ms_browse_folder_path(v, n, &v[1], '/', true, out, sizeof out));
	assert_string_equal(out, "A/B/C");
	assert_true(ms_browse_folder_path(v, n, &v[1], '.', true, out, sizeof out));
	assert_string_equal(out, "A.B.C");
	assert_true(ms_browse_folder_path(v, n, &v[7], '/', true, out, sizeof out));
	assert_string_equal(out, "INBOX/Sub"); /* the INBOX in any case */
	assert_true(ms_browse_folder_path(v, n, &v[7], '/', false, out, sizeof out));
	assert_string_equal(out, "inbox/Sub"); /* public folders: no INBOX rule */
	assert_false(ms_browse_folder_path(v, n, &v[4], '/', true, out, sizeof out));
	assert_string_equal(out, "orphan");   /* the levels that are left */
	assert_false(ms_browse_folder_path(v, n, &v[5], '/', true, out, sizeof out)); /* ends */
	assert_false(ms_browse_folder_path(v, n, &v[1], '/', true, out, 5)); /* "A/B/C" does not fit */
}

static void test_ensure_path(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	int64_t a = 0, b = 0, parent = 0;
	assert_int_equal(ms_folder_ensure_path(f->s->db, f->acct, "Archive/2020", '/', 0, &a, &e), 0);
	assert_int_equal(ms_folder_ensure_path(f->s->db, f->acct, "Archive/2020", '/', 0, &b, &e), 0);
	assert_int_equal(a, b); /* found the second time */
	assert_int_equal(ms_sql_int(f->s->db, "SELECT folderparentid FROM hm_imapfolders WHERE folderid = ?",
	                            PARAMS(P_INT(a)), &parent, &e), 1);
	assert_true(parent > 0); /* nested under Archive */
	/* INBOX in any case at the top is the INBOX, never a second one */
	int64_t sub = 0, n = 0;
	assert_int_equal(ms_folder_ensure_path(f->s->db, f->acct, "inbox/Sub", '/', 0, &sub, &e), 0);
	assert_int_equal(ms_sql_int(f->s->db, "SELECT folderparentid FROM hm_imapfolders WHERE folderid = ?",
	                            PARAMS(P_INT(sub)), &parent, &e), 1);
	assert_int_equal(parent, f->inbox);
	assert_int_equal(ms_folder_ensure_path(f->s->db, f->acct, "Inbox", '/', 0, &a, &e), 0);
	assert_int_equal(a, f->inbox);
	assert_int_equal(ms_sql_int(f->s->db, "SELECT COUNT(*) FROM hm_imapfolders WHERE folderparentid = -1"
	                            " AND UPPER(foldername) = 'INBOX'", NO_PARAMS, &n, &e), 1);
	assert_int_equal(n, 1);
	char longname[300];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(ms_folder_ensure_path(f->s->db, f->acct, longname, '/', 0, &a, &e), -1);
}

static void test_reserve_uids_limit(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	int64_t first = 0, cur = 0;
	assert_int_equal(ms_folder_reserve_uids(f->s->db, f->inbox, 3, &first, &e), 0);
	assert_int_equal(first, 1);
	assert_int_equal(ms_folder_reserve_uids(f->s->db, f->inbox, 1, &first, &e), 0);
	assert_int_equal(first, 4);
	assert_int_equal(ms_sql_exec(f->s->db, "UPDATE hm_imapfolders SET foldercurrentuid = ? WHERE folderid = ?",
	                             PARAMS(P_INT(MS_UID_MAX - 2), P_INT(f->inbox)), NULL, &e), 0);
	assert_int_equal(ms_folder_reserve_uids(f->s->db, f->inbox, 2, &first, &e), 0); /* ends exactly at the limit */
	assert_int_equal(first, MS_UID_MAX - 1);
	assert_int_equal(ms_sql_exec(f->s->db, "UPDATE hm_imapfolders SET foldercurrentuid = ? WHERE folderid = ?",
	                             PARAMS(P_INT(MS_UID_MAX - 1), P_INT(f->inbox)), NULL, &e), 0);
	assert_int_equal(ms_folder_reserve_uids(f->s->db, f->inbox, 2, &first, &e), -1); /* one past it */
	assert_int_equal(e.code, MS_E_LIMIT);
	assert_non_null(strstr(e.msg, "1 UIDs left, 2 needed"));
	/* raise never lowers */
	assert_int_equal(ms_folder_raise_current_uid(f->s->db, f->inbox, 5, &e), 0);
	assert_int_equal(ms_folder_current_uid(f->s->db, f->inbox, &cur, &e), 1);
	assert_true(cur > 5);
}

static ms_message_row row(const fx *f, int i, char *name)
{
	snprintf(name, 64, "{%08X-0000-4000-8000-000000000000}.eml", i);
	return (ms_message_row){ .account_id = f->acct, .folder_id = f->inbox, .filename = name, .from = "a@b.c",
	                         .size = 100 + i, .flags = 32, .created = "2020-01-02 03:04:05", .uid = i + 1 };
}

static void test_insert_many_and_quota(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	enum { N = 250 };
	static char names[N][64];
	ms_message_row rows[N];
	for (int i = 0; i < N; i++)
		rows[i] = row(f, i, names[i]);
	assert_int_equal(ms_messages_insert_delivered(f->s->db, rows, N, &e), 0);
	int64_t n = 0, bytes = 0;
	assert_int_equal(ms_messages_count(f->s->db, &n, &e), 0);
	assert_int_equal(n, N);
	assert_int_equal(ms_sql_int(f->s->db, "SELECT SUM(messagesize) FROM hm_messages", NO_PARAMS, &bytes, &e), 1);
	ms_usage u;
	assert_int_equal(ms_quota_domain(f->s->db, 1, &u, &e), 0);
	assert_int_equal(u.messages, N);
	assert_int_equal(u.bytes, bytes);
	assert_int_equal(ms_sql_int(f->s->db, "SELECT messagesize FROM hm_messages WHERE messageuid = 250", NO_PARAMS,
	                            &n, &e), 1);
	assert_int_equal(n, 100 + 249); /* the 250th row is the 250th value set */
}

static void test_queued_and_delete(void **state)
{
	fx *f = *state;
	ms_err e = { 0 };
	char name[64];
	ms_message_row r = row(f, 7, name);
	ms_recipient_row rc[2] = { { "ann@example.com", f->acct, "Ann@Example.com" }, { "ann@example.com", f->acct, "x@y" } };
	int64_t id = 0, n = -1, locked = -1;
	assert_int_equal(ms_messages_insert_queued(f->s->db, &r, rc, 2, &id, &e), 0);
	assert_int_equal(ms_sql_int(f->s->db, "SELECT messagelocked FROM hm_messages WHERE messageid = ?", PARAMS(P_INT(id)),
	                            &locked, &e), 1);
	assert_int_equal(locked, 0); /* unlocked once its recipients are in */
	assert_int_equal(ms_sql_int(f->s->db, "SELECT COUNT(*) FROM hm_messagerecipients WHERE recipientmessageid = ?",
	                            PARAMS(P_INT(id)), &n, &e), 1);
	assert_int_equal(n, 2);
	assert_int_equal(ms_messages_delete(f->s->db, id, &e), 0);
	assert_int_equal(ms_sql_int(f->s->db, "SELECT COUNT(*) FROM hm_messagerecipients", NO_PARAMS, &n, &e), 1);
	assert_int_equal(n, 0); /* its recipients went with it */
	assert_int_equal(ms_messages_max_id(f->s->db, &n, &e), 0);
}

static void test_quota_rules(void **state)
{
	(void)state;
	assert_int_equal(ms_quota_limit_bytes(0), 0);
	assert_int_equal(ms_quota_limit_bytes(-5), 0);
	assert_int_equal(ms_quota_limit_bytes(1), 1048576);
	assert_false(ms_quota_over(1048576, 1)); /* at the limit is not over it */
	assert_true(ms_quota_over(1048577, 1));
	assert_false(ms_quota_over(INT64_MAX, 0)); /* no limit */
	assert_int_equal(ms_quota_percent(524288, 1), 50);
	assert_int_equal(ms_quota_percent(1048575, 1), 99);
	assert_int_equal(ms_quota_percent(3 * 1048576, 1), 300);
	assert_int_equal(ms_quota_percent(10, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folder_path),
		cmocka_unit_test_setup_teardown(test_inbox_any_case, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_uids_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_many_and_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queued_and_delete, setup, teardown),
		cmocka_unit_test(test_quota_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
