/* test_env.h - where the unit tests find the throwaway database servers
 * (tests/db-servers.sh): the environment, else the env file it wrote.
 * Included by the unit tests that run against PostgreSQL and MariaDB. */
#ifndef MS_TEST_ENV_H
#define MS_TEST_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char env_text[4096];

static void read_env_file(void)
{
	char path[512];
	const char *env = getenv("MSTORE_TEST_ENV"), *dir = getenv("MSTORE_TEST_DBS");
	if (env && *env)
		snprintf(path, sizeof path, "%s", env);
	else
		snprintf(path, sizeof path, "%s/env", dir && *dir ? dir : "/tmp/mstore-test-dbs");
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(env_text, 1, sizeof env_text - 1, f);
	env_text[n] = '\0';
	fclose(f);
}

/* KEY from the environment, else from the env file's "[export ]KEY=VALUE". */
static void setting(const char *key, char *out, size_t len)
{
	const char *v = getenv(key);
	out[0] = '\0';
	if (v) {
		snprintf(out, len, "%s", v);
		return;
	}
	size_t klen = strlen(key);
	for (const char *line = env_text; *line;) {
		size_t line_len = strcspn(line, "\n");
		const char *p = strncmp(line, "export ", 7) == 0 ? line + 7 : line;
		if (strncmp(p, key, klen) == 0 && p[klen] == '=')
			snprintf(out, len, "%.*s", (int)(line + line_len - (p + klen + 1)), p + klen + 1);
		line += line_len + (line[line_len] == '\n');
	}
}

#endif
