/* test_env.h - where the unit tests find the throwaway database servers
 * (tests/db-servers.sh): the environment, else the env file it wrote.
 * Included by the unit tests that run against PostgreSQL and MariaDB.
 *
 * The includer defines its `backend` struct first, with at least the
 * fields dialect, configured, port, user[] and password[] (each test keeps
 * its own per-test fields after them): configure_server() and server_url()
 * below fill and read those, so every test finds the servers one way. */
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

static void configure_server(backend *b, const char *port_key)
{
	char port[16];
	setting(port_key, port, sizeof port);
	setting("MSTORE_TEST_DB_USER", b->user, sizeof b->user);
	setting("MSTORE_TEST_DB_PASSWORD", b->password, sizeof b->password);
	b->port = atoi(port);
	b->configured = b->port > 0 && b->user[0];
}

static void server_url(const backend *b, const char *dbname, char *out, size_t len)
{
	snprintf(out, len, "%s://%s@127.0.0.1:%d/%s", b->dialect == DB_PGSQL ? "postgresql" : "mysql", b->user, b->port,
	         dbname);
}


#endif
