/* mstore init, mstore info: create a store; show what it holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/schema.h"
#include "store/objects.h"
#include "util/json.h"

const char help_init[] =
	"usage: mstore init [URL] [--print-sql sqlite|pgsql|mysql]\n\n"
	"Create a new, empty store in the database named by URL (or --db, or the\n"
	"configuration): every table, column and index of the hMailServer 5.7 schema,\n"
	"the rows hMailServer's setup script inserts (114 settings, the SMTP, submission,\n"
	"POP3 and IMAP ports, the two IP ranges, server messages, DNS and SURBL\n"
	"blacklists, blocked attachments; one transaction) and, last, hm_dbversion =\n"
	"5704.  On PostgreSQL or MariaDB the result is a store hMailServer 5.7\n"
	"can be pointed at (its hMailServer.INI names the database).  hMailServer has\n"
	"no SQLite driver: a SQLite store is for mstore (and for moving into a server\n"
	"database later), never for hMailServer itself.\n\n"
	"A SQLite file is created if missing; a PostgreSQL or MariaDB database must\n"
	"exist and be empty of hm_ tables.  A database that already holds a store is\n"
	"refused.\n\n"
	"  --print-sql DIALECT  print the same as an SQL script for that database's own\n"
	"                       client (tables, indexes, default rows, version row) and\n"
	"                       touch nothing\n\n"
	"Example:\n"
	"  mstore init sqlite:/var/lib/mstore/store.db\n"
	"  MSTORE_DB_PASSWORD=... mstore init postgresql://hmail@127.0.0.1:5432/hmailserver\n";

static bool parse_dialect(const char *s, db_dialect *d)
{
	if (strcmp(s, "sqlite") == 0) *d = DB_SQLITE;
	else if (strcmp(s, "pgsql") == 0 || strcmp(s, "postgresql") == 0) *d = DB_PGSQL;
	else if (strcmp(s, "mysql") == 0 || strcmp(s, "mariadb") == 0) *d = DB_MYSQL;
	else return false;
	return true;
}

static bool init_option(void *data, int opt, const char *arg)
{
	if (opt != OPT_FIRST_COMMAND_OPTION)
		return false;
	*(const char **)data = arg;
	return true;
}

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "print-sql", required_argument, 0, OPT_FIRST_COMMAND_OPTION },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "init" };
	const char *print_sql = NULL;
	int i = cli_parse(&ctx, argc, argv, "h", longopts, init_option, &print_sql);
	if (print_sql) {
		db_dialect d;
		if (!parse_dialect(print_sql, &d))
			return cli_usage(&ctx, "--print-sql takes sqlite, pgsql or mysql, not '%s'", print_sql);
		char *sql = ms_schema_ddl(d);
		if (!sql)
			return cli_usage(&ctx, "out of memory");
		fputs(sql, stdout);
		free(sql);
		return EXIT_OK;
	}
	if (argc - i > 1)
		return cli_usage(&ctx, "one URL at most");
	if (argc - i == 1)
		ctx.args.db_url = argv[i];
	ms_config cfg;
	int rc = cli_config(&ctx, &cfg);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	if (ms_store_init(cfg.db_url, cfg.db_password, &e) < 0)
		rc = cli_fail(&e);
	else if (ctx.json)
		printf("{\"created\":true,\"version\":%d}\n", MS_SCHEMA_VERSION_CREATED);
	else
		printf("created an empty hMailServer 5.7 store (schema %d, with the setup script's default rows)\n",
		       MS_SCHEMA_VERSION_CREATED);
	ms_config_free(&cfg);
	return rc;
}

const char help_info[] =
	"usage: mstore info [--json]\n\n"
	"Open the store, check its schema version and show what it holds: domains,\n"
	"accounts, aliases, distribution lists, folders, queued and delivered messages\n"
	"and their total size, and the data directory.\n";

int cmd_info(int argc, char **argv)
{
	cli_ctx ctx = { .cmd = "info" };
	int i = cli_parse_simple(&ctx, argc, argv, NULL);
	if (i != argc)
		return cli_usage(&ctx, "no arguments expected");
	ms_store *s;
	int rc = cli_open_store(&ctx, DB_OPEN_READ_ONLY, &s);
	if (rc != EXIT_OK)
		return rc;
	ms_count v[MS_STORE_NCOUNTS];
	ms_err e = { 0 };
	if (ms_store_counts(s, v, &e) < 0) {
		ms_store_close(s);
		return cli_fail(&e);
	}
	if (ctx.json) {
		ms_json j;
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_kv_string(&j, "database", db_name(s->db));
		ms_json_kv_int(&j, "schema_version", s->version);
		ms_json_kv_string(&j, "data_dir", s->data_dir);
		for (size_t k = 0; k < MS_STORE_NCOUNTS; k++)
			ms_json_kv_int(&j, v[k].key, v[k].value);
		ms_json_end_object(&j);
		ms_json_finish(&j);
	} else {
		printf("database        %s\nschema version  %d\ndata directory  %s\n", db_name(s->db), s->version,
		       s->data_dir ? s->data_dir : "(not configured)");
		for (size_t k = 0; k < MS_STORE_NCOUNTS; k++)
			printf("%-19s %lld\n", v[k].key, (long long)v[k].value);
	}
	ms_store_close(s);
	return EXIT_OK;
}
