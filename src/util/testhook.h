/* testhook.h - a fault-injection point for the tests, in the manner of
 * SQLite's test hooks: the live-server rules (re-verify every finding, check
 * once more before removing a row) guard against changes made between two
 * steps of a run, which a test cannot time from outside.
 *
 * ms_test_hook("NAME") runs the shell command in $MSTORE_TEST_HOOK_CMD when
 * $MSTORE_TEST_HOOK_AT is NAME, and waits for it.  Without those variables
 * (always, outside the test suite) it does nothing but one getenv.
 */
#ifndef MS_TESTHOOK_H
#define MS_TESTHOOK_H

void ms_test_hook(const char *name);

#endif
