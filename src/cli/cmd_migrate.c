/* cmd_migrate.c - `mstore migrate --from URL --to URL` (issue 17 item 4):
 * a whole store into another database, ids unchanged, then compared table
 * by table (backup/migrate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/migrate.h"
#include "cli/cli.h"
#include "util/escape.h"
#include "util/json.h"

const char help_migrate[] =
	"usage: mstore migrate --from URL --to URL [-n] [--json]\n\n"
	"Copy a whole store from one database into another -- SQLite, PostgreSQL,\n"
	"MariaDB, in any direction -- keeping every row of every table of the\n"
	"hMailServer 5.7 schema with its id: domains, accounts with their settings and\n"
	"passwords as stored, aliases, distribution lists, groups, rules, IP ranges,\n"
	"routes, settings rows, folders with their UIDVALIDITY (foldercreationtime) and\n"
	"next UID, messages with their UIDs, flags and file names.  An IMAP client\n"
	"sees the same mailboxes and does not resynchronize.  The data directory is\n"
	"not copied: both stores name the same message files (give the new store the\n"
	"same --data).\n\n"
	"The source (--from, default the configured --db) must be a complete store of\n"
	"schema version 5704; it is only read, from one consistent view (REPEATABLE\n"
	"READ on PostgreSQL and MariaDB), so it may stay in use, but what is written\n"
	"to it during the copy is not in the target: stop the mail server first.  The\n"
	"target (--to) is a database without hm_ tables (the schema is created; a\n"
	"SQLite file is created if missing) or an empty store made by mstore init\n"
	"(its default rows are replaced by the source's).  A target holding anything\n"
	"else -- an account, a message, a folder, any row beyond init's defaults -- is\n"
	"refused, and nothing is written to it.\n\n"
	"Rows go in batches of one transaction each, as multi-row prepared INSERTs\n"
	"(into PostgreSQL as COPY FROM STDIN, as pg_restore loads a dump);\n"
	"the identity sequences (PostgreSQL), AUTO_INCREMENT (MariaDB) and\n"
	"sqlite_sequence are then set past the copied ids, and past the source's own\n"
	"next id, so no id is ever handed out twice.  hm_dbversion is written last;\n"
	"until then it holds -5704, which no command accepts: a migration cut short\n"
	"(a kill, a lost connection) is finished by running the same command again,\n"
	"which empties that target and copies everything anew.\n\n"
	"Then both databases are compared table by table, both read at once: row\n"
	"count and a SHA-256 over every column in id order (integers as numbers,\n"
	"timestamps to the second).\n"
	"One line per table, `TABLE ROWS same` or `TABLE SRC_ROWS DST_ROWS differs`;\n"
	"any difference exits 1.  Progress goes to a terminal's stderr.\n\n"
	"Passwords: one for both servers, from --password-file, the configuration or\n"
	"MSTORE_DB_PASSWORD (never in a URL).\n\n"
	"Options:\n"
	"  --from URL           the source store (default: --db / the configuration)\n"
	"  --to URL             the target database\n"
	"  -n, --dry-run        check both sides and print the rows each table would\n"
	"                       copy; write nothing (the target is opened read-only)\n"
	"  --json               the comparison as JSON on stdout\n\n"
	"Example:\n"
	"  mstore init postgresql://hmail@db:5432/hmailserver   # or an empty database\n"
	"  mstore migrate --from sqlite:/var/lib/mstore/store.db \\\n"
	"                 --to postgresql://hmail@db:5432/hmailserver\n";

enum { O_FROM = OPT_FIRST_COMMAND_OPTION, O_TO };

typedef struct mig_args {
	const char *from, *to;
	bool dry_run;
} mig_args;

static bool mig_option(void *data, int opt, const char *arg)
{
	mig_args *a = data;
	switch (opt) {
	case O_FROM: a->from = arg; return true;
	case O_TO: a->to = arg; return true;
	case 'n': a->dry_run = true; return true;
	default: return false;
	}
}

static void progress(void *ctx, const char *table, int64_t done, int64_t total)
{
	(void)ctx;
	fprintf(stderr, "\r\033[Kmigrate: %s %lld/%lld", table, (long long)done, (long long)total);
	fflush(stderr);
}

static const char *target_kind(ms_migrate_target t)
{
	switch (t) {
	case MS_MIGRATE_TARGET_FRESH: return "fresh";
	case MS_MIGRATE_TARGET_EMPTY: return "empty";
	case MS_MIGRATE_TARGET_RESUME: return "resumed";
	}
	return "?";
}

static void print_json(const ms_migrate_report *r, const char *from, const char *to, bool dry_run, int differ)
{
	ms_json j;
	ms_json_init(&j, stdout);
	ms_json_begin_object(&j);
	ms_json_kv_string(&j, "from", from);
	ms_json_kv_string(&j, "to", to);
	ms_json_kv_string(&j, "target", target_kind(r->target));
	ms_json_kv_bool(&j, "dry_run", dry_run);
	ms_json_key(&j, "tables");
	ms_json_begin_array(&j);
	for (size_t i = 0; i < r->ntables; i++) {
		const ms_migrate_table *t = &r->tables[i];
		ms_json_begin_object(&j);
		ms_json_kv_string(&j, "table", t->name);
		ms_json_kv_int(&j, "source_rows", t->src_rows);
		if (!dry_run) {
			ms_json_kv_int(&j, "target_rows", t->dst_rows);
			ms_json_kv_string(&j, "source_digest", t->src_digest);
			ms_json_kv_string(&j, "target_digest", t->dst_digest);
		}
		ms_json_end_object(&j);
	}
	ms_json_end_array(&j);
	if (!dry_run)
		ms_json_kv_bool(&j, "same", differ == 0);
	ms_json_end_object(&j);
	ms_json_finish(&j);
	putchar('\n');
}

static void print_text(const ms_migrate_report *r, const char *to, bool dry_run, int differ)
{
	for (size_t i = 0; i < r->ntables; i++) {
		const ms_migrate_table *t = &r->tables[i];
		if (dry_run)
			printf("%s %lld would be copied\n", t->name, (long long)t->src_rows);
		else if (t->src_rows == t->dst_rows && strcmp(t->src_digest, t->dst_digest) == 0)
			printf("%s %lld same\n", t->name, (long long)t->src_rows);
		else
			printf("%s %lld %lld differs\n", t->name, (long long)t->src_rows, (long long)t->dst_rows);
	}
	printf(dry_run ? "would migrate into " : "migrated into ");
	ms_escape_put(stdout, to);
	printf(" (%s target)%s\n", target_kind(r->target),
	       dry_run ? "" : differ ? ": TABLES DIFFER" : ": every table the same");
}

/* Open the target; a dry run of a SQLite file that does not exist yet
 * leaves *out NULL (a fresh target) instead of creating it. */
static int open_target(const char *url, const char *password, bool dry_run, db **out, ms_err *e)
{
	db_url u;
	*out = NULL;
	if (db_url_parse(url, &u, e) < 0)
		return -1;
	if (dry_run && u.dialect == DB_SQLITE && access(u.path, F_OK) != 0)
		return 0;
	return db_open(url, password, dry_run ? DB_OPEN_READ_ONLY : DB_OPEN_CREATE, out, e);
}

static int run(const mig_args *a, const char *password, bool json)
{
	db *src = NULL, *dst = NULL;
	ms_err e = { 0 };
	ms_migrate_report r = { 0 };
	int differ = 0, rc = EXIT_OK;
	bool show = !json && isatty(STDERR_FILENO);
	if (db_open(a->from, password, DB_OPEN_READ_ONLY, &src, &e) < 0 || ms_migrate_check_source(src, &e) < 0 ||
	    open_target(a->to, password, a->dry_run, &dst, &e) < 0 ||
	    ms_migrate_prepare_target(dst, a->dry_run, &r, &e) < 0)
		goto fail;
	ms_migrate_target kind = r.target;
	if (a->dry_run) {
		if (ms_migrate_count_source(src, &r, &e) < 0)
			goto fail;
	} else {
		if (ms_migrate_copy(src, dst, show ? progress : NULL, NULL, &r, &e) < 0)
			goto fail;
		if (show)
			fputs("\r\033[K", stderr);
		if ((differ = ms_migrate_compare(src, dst, &r, &e)) < 0)
			goto fail;
	}
	r.target = kind;
	if (json)
		print_json(&r, db_name(src), dst ? db_name(dst) : a->to, a->dry_run, differ);
	else
		print_text(&r, dst ? db_name(dst) : a->to, a->dry_run, differ);
	rc = differ ? EXIT_PARTIAL : EXIT_OK;
	goto out;
fail:
	if (show)
		fputs("\r\033[K", stderr);
	rc = cli_fail(&e);
out:
	db_close(dst);
	db_close(src);
	return rc;
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "from", required_argument, 0, O_FROM },
		{ "to", required_argument, 0, O_TO },
		{ "dry-run", no_argument, 0, 'n' },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "migrate" };
	mig_args a = { 0 };
	int i = cli_parse(&ctx, argc, argv, "hn", longopts, mig_option, &a);
	if (i < argc)
		return cli_usage(&ctx, "unexpected '%s'", argv[i]);
	if (!a.to)
		return cli_usage(&ctx, "needs --to URL, the target database");
	if (a.from)
		ctx.args.db_url = a.from;
	ms_config cfg;
	int rc = cli_config(&ctx, &cfg);
	if (rc != EXIT_OK)
		return rc;
	a.from = cfg.db_url;
	if (strcmp(a.from, a.to) == 0)
		rc = cli_usage(&ctx, "--from and --to name the same database");
	else
		rc = run(&a, cfg.db_password, ctx.json);
	ms_config_free(&cfg);
	return rc;
}
