/* test_msgfile.c - store/msgfile: a batch's files in three steps (write
 * under the temporary name, flush, place without replacing), the way
 * deliver pays durability once per batch; and the account's directory in
 * another case. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/msgfile.h"

#define NAME "{AB000000-0000-4000-8000-000000000001}.eml"
#define OWNER "example.com/ann"

static char dir[64];
static int root = -1;

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/mstore-msgfile-XXXXXX");
	assert_non_null(mkdtemp(dir));
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return root < 0;
}

static int teardown(void **state)
{
	char cmd[128];
	close(root);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) != 0;
}

static void slurp(const char *rel, char *out, size_t len)
{
	int fd = openat(root, rel, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, out, len - 1);
	assert_true(n >= 0);
	out[n] = '\0';
	close(fd);
}

static void test_batch_steps(void **state)
{
	ms_err e = { 0 };
	struct stat st;
	ms_msgdirs *d = ms_msgdirs_open(root, OWNER);
	assert_non_null(d);
	assert_int_equal(ms_msgfile_write_tmp(d, NAME, "first", 5, &e), 0);
	/* only the temporary name exists until it is placed */
	assert_int_equal(ms_msgfile_stat(root, OWNER, NAME, true, &st), 0);
	assert_int_equal(ms_msgfile_stat(root, OWNER, NAME, false, &st), -1);
	assert_int_equal(ms_msgfile_sync(d, &e), 0);
	assert_int_equal(ms_msgfile_place(d, NAME, &e), 0);
	assert_int_equal(ms_msgfile_stat(root, OWNER, NAME, true, &st), -1);
	ms_msgdirs_close(d);
	char buf[32];
	slurp(OWNER "/AB/" NAME, buf, sizeof buf);
	assert_string_equal(buf, "first");
}

static void test_place_never_replaces(void **state)
{
	ms_err e = { 0 };
	struct stat st;
	ms_msgdirs *d = ms_msgdirs_open(root, OWNER);
	assert_non_null(d);
	assert_int_equal(ms_msgfile_write_tmp(d, NAME, "second", 6, &e), 0);
	assert_int_equal(ms_msgfile_place(d, NAME, &e), -1);
	assert_int_equal(e.code, MS_E_EXISTS);
	ms_msgdirs_close(d);
	/* the temporary file is gone, the file in place untouched */
	assert_int_equal(ms_msgfile_stat(root, OWNER, NAME, true, &st), -1);
	char buf[32];
	slurp(OWNER "/AB/" NAME, buf, sizeof buf);
	assert_string_equal(buf, "first");
}

/* The XX folders stay open for a batch; one removed meanwhile (tidied
 * away while empty) is made again, not written into as a deleted folder. */
static void test_removed_folder_made_again(void **state)
{
	ms_err e = { 0 };
	struct stat st;
	const char *a = "{CD000000-0000-4000-8000-000000000001}.eml", *b = "{CD000000-0000-4000-8000-000000000002}.eml";
	ms_msgdirs *d = ms_msgdirs_open(root, OWNER);
	assert_non_null(d);
	assert_int_equal(ms_msgfile_write_tmp(d, a, "a", 1, &e), 0);
	ms_msgfile_drop(d, a, true);
	assert_int_equal(unlinkat(root, OWNER "/CD", AT_REMOVEDIR), 0);
	assert_int_equal(ms_msgfile_write_tmp(d, b, "b", 1, &e), 0);
	assert_int_equal(ms_msgfile_place(d, b, &e), 0);
	ms_msgdirs_close(d);
	assert_int_equal(fstatat(root, OWNER "/CD/{CD000000-0000-4000-8000-000000000002}.eml", &st, 0), 0);
}

/* More XX folders than the table has slots (names in both cases) still
 * all work: the table starts over. */
static void test_many_folders(void **state)
{
	ms_err e = { 0 };
	struct stat st;
	ms_msgdirs *d = ms_msgdirs_open(root, "example.com/many");
	assert_non_null(d);
	static const char hex[] = "0123456789ABCDEFabcdef";
	char name[64], path[128];
	for (size_t i = 0; i < 22; i++)
		for (size_t j = 0; j < 22; j++) {
			snprintf(name, sizeof name, "{%c%c000000-0000-4000-8000-000000000001}.eml", hex[i], hex[j]);
			assert_int_equal(ms_msgfile_write_tmp(d, name, "x", 1, &e), 0);
			assert_int_equal(ms_msgfile_place(d, name, &e), 0);
		}
	ms_msgdirs_close(d);
	snprintf(path, sizeof path, "example.com/many/fa/{fa000000-0000-4000-8000-000000000001}.eml");
	assert_int_equal(fstatat(root, path, &st, 0), 0);
}

static void test_owner_dir_in_another_case(void **state)
{
	char out[300];
	assert_int_equal(mkdirat(root, "Example.org", 0755), 0);
	assert_int_equal(mkdirat(root, "Example.org/Bob", 0755), 0);
	ms_msgfile_owner_dir(root, "bob", "example.org", out, sizeof out);
	assert_string_equal(out, "Example.org/Bob");
	/* a new account in that domain: the domain as spelt, the local part lower */
	ms_msgfile_owner_dir(root, "Carol", "EXAMPLE.org", out, sizeof out);
	assert_string_equal(out, "Example.org/carol");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_steps),
		cmocka_unit_test(test_place_never_replaces),
		cmocka_unit_test(test_removed_folder_made_again),
		cmocka_unit_test(test_many_folders),
		cmocka_unit_test(test_owner_dir_in_another_case),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
