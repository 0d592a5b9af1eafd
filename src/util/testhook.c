/* testhook.c - see testhook.h. */
#include "util/testhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ms_test_hook(const char *name)
{
	const char *at = getenv("MSTORE_TEST_HOOK_AT");
	if (!at || strcmp(at, name) != 0)
		return;
	const char *cmd = getenv("MSTORE_TEST_HOOK_CMD");
	if (cmd && system(cmd) != 0)
		fprintf(stderr, "mstore: test hook %s: the command failed\n", name);
}
