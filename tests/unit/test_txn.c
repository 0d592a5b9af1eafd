/* test_txn.c - db/txn.h: commit and rollback consume the handle; a
 * failed commit has rolled back and leaves the connection usable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/txn.h"

static char path[256];

static db *open_db(void)
{
	db *d;
	ms_err e = { 0 };
	char url[300];
	snprintf(path, sizeof path, "/tmp/mstore-txn-%d.sqlite", (int)getpid());
	unlink(path);
	snprintf(url, sizeof url, "sqlite:%s", path);
	assert_int_equal(db_open(url, NULL, DB_OPEN_CREATE, &d, &e), 0);
	assert_int_equal(db_exec(d, "PRAGMA foreign_keys = ON", &e), 0);
	assert_int_equal(db_exec(d, "CREATE TABLE p (id INTEGER PRIMARY KEY)", &e), 0);
	assert_int_equal(db_exec(d, "CREATE TABLE c (pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)", &e), 0);
	return d;
}

static int64_t count(db *d, const char *table)
{
	char sql[100];
	int64_t n = -1;
	ms_err e = { 0 };
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
	assert_int_equal(db_query_int64(d, sql, &n, &e), 1);
	return n;
}

static void test_commit(void **state)
{
	(void)state;
	db *d = open_db();
	db_txn *t;
	ms_err e = { 0 };
	assert_int_equal(db_txn_begin(d, &t, &e), 0);
	assert_non_null(t);
	assert_ptr_equal(db_txn_db(t), d);
	assert_int_equal(db_exec(db_txn_db(t), "INSERT INTO p VALUES (1)", &e), 0);
	assert_int_equal(db_txn_commit(&t, &e), 0);
	assert_null(t);
	assert_int_equal(count(d, "p"), 1);
	db_close(d);
	unlink(path);
}

static void test_rollback(void **state)
{
	(void)state;
	db *d = open_db();
	db_txn *t;
	ms_err e = { 0 };
	assert_int_equal(db_txn_begin(d, &t, &e), 0);
	assert_int_equal(db_exec(d, "INSERT INTO p VALUES (1)", &e), 0);
	db_txn_rollback(&t);
	assert_null(t);
	db_txn_rollback(&t); /* a finished handle: nothing happens */
	assert_int_equal(count(d, "p"), 0);
	db_close(d);
	unlink(path);
}

static void test_failed_commit(void **state)
{
	(void)state;
	db *d = open_db();
	db_txn *t;
	ms_err e = { 0 };
	assert_int_equal(db_txn_begin(d, &t, &e), 0);
	assert_int_equal(db_exec(d, "INSERT INTO p VALUES (1)", &e), 0);
	assert_int_equal(db_exec(d, "INSERT INTO c VALUES (42)", &e), 0); /* checked at COMMIT */
	assert_int_equal(db_txn_commit(&t, &e), -1);
	assert_null(t);
	assert_non_null(strstr(e.msg, "FOREIGN KEY"));
	/* rolled back, and the connection takes a new transaction */
	assert_int_equal(count(d, "p"), 0);
	assert_int_equal(db_txn_begin(d, &t, &e), 0);
	assert_int_equal(db_exec(d, "INSERT INTO p VALUES (2)", &e), 0);
	assert_int_equal(db_txn_commit(&t, &e), 0);
	assert_int_equal(count(d, "p"), 1);
	db_close(d);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_failed_commit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
