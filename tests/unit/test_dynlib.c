/* test_dynlib.c - db/dynlib.h: a server client loaded on first use, and
 * the error when it cannot be (the library missing, a symbol missing). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "db/dynlib.h"

static __typeof__(&strlen) my_strlen;
static __typeof__(&abs) my_abs;

static void test_loads_and_resolves(void **state)
{
	const db_dynsym syms[] = { { "strlen", (void **)&my_strlen }, { "abs", (void **)&my_abs } };
	db_dynlib lib = { "libc.so.6", "libc6", syms, 2, false, NULL, "" };
	ms_err e = { 0 };
	assert_int_equal(db_dynlib_load(&lib, &e), 0);
	assert_non_null(my_strlen);
	assert_int_equal(my_strlen("four"), 4);
	assert_int_equal(my_abs(-3), 3);
	/* once per process: a second call finds it loaded */
	my_strlen = NULL;
	assert_int_equal(db_dynlib_load(&lib, &e), 0);
	assert_null(my_strlen);
}

static void test_missing_library(void **state)
{
	const db_dynsym syms[] = { { "strlen", (void **)&my_strlen } };
	db_dynlib lib = { "libmstore-no-such-client.so.9", "libnosuch9", syms, 1, false, NULL, "" };
	ms_err e = { 0 };
	assert_int_equal(db_dynlib_load(&lib, &e), -1);
	assert_int_equal(e.code, MS_E_DB);
	/* the message names the library, the loader's cause and the package */
	assert_non_null(strstr(e.msg, "libmstore-no-such-client.so.9"));
	assert_non_null(strstr(e.msg, "cannot open shared object file"));
	assert_non_null(strstr(e.msg, "install the package libnosuch9"));
	/* the failure is remembered: the same answer, no second dlopen */
	ms_err e2 = { 0 };
	assert_int_equal(db_dynlib_load(&lib, &e2), -1);
	assert_string_equal(e2.msg, e.msg);
}

static void test_missing_symbol(void **state)
{
	void *slot = NULL;
	const db_dynsym syms[] = { { "strlen", (void **)&my_strlen }, { "mstore_no_such_function", &slot } };
	db_dynlib lib = { "libc.so.6", "libc6", syms, 2, false, NULL, "" };
	ms_err e = { 0 };
	assert_int_equal(db_dynlib_load(&lib, &e), -1);
	assert_non_null(strstr(e.msg, "libc.so.6 has no mstore_no_such_function"));
	assert_null(lib.handle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_and_resolves),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_symbol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
