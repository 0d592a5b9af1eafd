/* cmd_snapshot.c - `mstore snapshot [list]` (issue 17): an online,
 * consistent copy of the database, the last N kept (backup/snapshot.h). */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/snapshot.h"
#include "cli/cli.h"
#include "util/escape.h"
#include "util/json.h"

const char help_snapshot[] =
	"usage: mstore snapshot [--dir DIR] [--keep N]\n"
	"       mstore snapshot list [--dir DIR]\n"
	"       mstore snapshot restore NAME --to URL [--force] [--dir DIR]\n\n"
	"Copy the store's database, online and consistent while the server works,\n"
	"into DIR as snapshot-YYYYMMDDTHHMMSSZ.EXT (UTC), then remove the oldest\n"
	"snapshots of its kind (EXT) beyond the newest N (default 7; 0 keeps all);\n"
	"another kind's are another store's and stay (the names do not say which\n"
	"store of a kind wrote them: give two stores of one kind a --dir each);\n"
	"one that cannot be removed is an error (exit 5).  Only the database:\n"
	"the data directory's message files are not copied (mstore backup is the\n"
	"whole store).  DIR defaults to STATE/snapshots (STATE: $XDG_STATE_HOME/mstore,\n"
	"/var/lib/mstore for root, else ~/.local/state/mstore).\n\n"
	"  SQLite      SQLite's online backup API: a database file (.sqlite) that\n"
	"              mstore opens as it is (--db sqlite:FILE)\n"
	"  PostgreSQL  pg_dump --format=custom (one REPEATABLE READ transaction):\n"
	"              .pgdump, for pg_restore -d NEWDB FILE\n"
	"  MariaDB     mariadb-dump --single-transaction: .sql, for mariadb NEWDB < FILE\n\n"
	"The dump tools come from postgresql-client and mariadb-client; they get\n"
	"the password in their environment, never on a command line.  A snapshot\n"
	"is written under a temporary name and renamed when complete, so a listed\n"
	"one is whole.  After a disaster, a snapshot loaded into a new database is\n"
	"what `mstore sync --hints-from URL` reads to put messages back in their\n"
	"folders with their flags.\n\n"
	"`snapshot list` prints the snapshots of DIR, oldest first.\n\n"
	"`snapshot restore NAME --to URL` loads the snapshot NAME (a name `list`\n"
	"prints, in DIR, or a path) into a new database of its kind: SQLite, a new\n"
	"file (copied, fsynced, linked into place); PostgreSQL, pg_restore\n"
	"--single-transaction into an existing empty database; MariaDB, the\n"
	"mariadb client into an existing empty database (create it first, as for\n"
	"mstore init).  An existing SQLite file, a server database that holds any\n"
	"table, or URL the same as --db (the live store) is refused unless --force\n"
	"(SQLite: the file is replaced; PostgreSQL: pg_restore --clean; MariaDB:\n"
	"the dump drops each table it creates).  The password is the store's\n"
	"(--password-file, the config, $MSTORE_DB_PASSWORD).  The disaster path:\n\n"
	"  mstore snapshot restore snapshot-20261202T030000Z.sqlite --to sqlite:/srv/new.db\n"
	"  mstore sync --db sqlite:/srv/live.db --hints-from sqlite:/srv/new.db\n\n"
	"Options:\n"
	"  --dir DIR            where snapshots are kept\n"
	"  --keep N             how many to keep (default 7; 0: all)\n"
	"  --to URL             restore: the database to load the snapshot into\n"
	"  --force              restore: load it over an existing database\n\n"
	"Exit codes: 0 done; 2 bad arguments, not a snapshot, a target that is not\n"
	"new; 4 the database or its tool failed; 5 file system.\n";

enum { O_DIR = OPT_FIRST_COMMAND_OPTION, O_KEEP, O_TO, O_FORCE };

typedef struct snap_args {
	const char *dir, *bad_keep, *to;
	long long keep;
	bool force;
} snap_args;

static bool snap_option(void *data, int opt, const char *arg)
{
	snap_args *a = data;
	switch (opt) {
	case O_DIR: a->dir = arg; return true;
	case O_TO: a->to = arg; return true;
	case O_FORCE: a->force = true; return true;
	case O_KEEP:
		if (!cli_parse_count(arg, &a->keep) || a->keep > 100000)
			a->bad_keep = arg;
		return true;
	default: return false;
	}
}

static int snapshot_dir(cli_ctx *ctx, const snap_args *a, char *out, size_t len)
{
	if (a->dir) {
		snprintf(out, len, "%s", a->dir);
		return EXIT_OK;
	}
	char state[4096];
	if (ms_config_state_dir(NULL, state, sizeof state) < 0 ||
	    snprintf(out, len, "%s/snapshots", state) >= (int)len)
		return cli_usage(ctx, "no usable state directory: give --dir DIR");
	return EXIT_OK;
}

static int list(const char *dir, bool json)
{
	char **v;
	ms_err e = { 0 };
	if (ms_snapshot_list(dir, &v, &e) < 0)
		return cli_fail(&e);
	for (char **n = v; *n; n++) {
		if (json)
			printf("%s{\"name\":\"%s\"}", n == v ? "[" : ",", *n); /* names are snapshot-<digits>.<ext> */
		else {
			ms_escape_put(stdout, dir);
			printf("/%s\n", *n);
		}
	}
	if (json)
		printf("%s\n", *v ? "]" : "[]");
	g_strfreev(v);
	return EXIT_OK;
}

/* snapshot restore NAME --to URL */
static int restore(cli_ctx *ctx, const snap_args *a, const char *dir, const char *name)
{
	if (!a->to)
		return cli_usage(ctx, "snapshot restore needs --to URL (a new database)");
	ms_config cfg = { 0 };
	int rc = cli_config(ctx, &cfg);
	if (rc != EXIT_OK)
		return rc;
	char *path = strchr(name, '/') ? g_strdup(name) : g_build_filename(dir, name, NULL);
	ms_err e = { 0 };
	if (cfg.db_url && strcmp(cfg.db_url, a->to) == 0 && !a->force)
		rc = cli_usage(ctx, "--to is the live store (--db): a snapshot is restored into a new database"
		               " (--force loads it over the live one)");
	else if (ms_snapshot_restore(path, a->to, cfg.db_password, a->force, &e) < 0)
		rc = cli_fail(&e);
	else if (ctx->json) {
		ms_json j;
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_kv_string(&j, "restored", path);
		ms_json_kv_string(&j, "to", a->to);
		ms_json_end_object(&j);
		ms_json_finish(&j);
	} else {
		printf("restored ");
		ms_escape_put(stdout, path);
		printf("\n");
	}
	g_free(path);
	ms_config_free(&cfg);
	return rc;
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "dir", required_argument, 0, O_DIR },
		{ "keep", required_argument, 0, O_KEEP },
		{ "to", required_argument, 0, O_TO },
		{ "force", no_argument, 0, O_FORCE },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "snapshot" };
	snap_args a = { .keep = 7 };
	int i = cli_parse(&ctx, argc, argv, "h", longopts, snap_option, &a);
	if (a.bad_keep)
		return cli_usage(&ctx, "--keep takes a count, not '%s'", a.bad_keep);
	bool listing = i < argc && strcmp(argv[i], "list") == 0;
	bool restoring = i < argc && strcmp(argv[i], "restore") == 0;
	if (restoring && i + 1 >= argc)
		return cli_usage(&ctx, "snapshot restore needs the snapshot's NAME");
	int used = listing ? 1 : restoring ? 2 : 0;
	if (i + used < argc)
		return cli_usage(&ctx, "unexpected '%s'", argv[i + used]);
	char dir[4200];
	int rc = snapshot_dir(&ctx, &a, dir, sizeof dir);
	if (rc != EXIT_OK)
		return rc;
	if (listing)
		return list(dir, ctx.json);
	if (restoring)
		return restore(&ctx, &a, dir, argv[i + 1]);
	ms_config cfg = { 0 };
	if ((rc = cli_config(&ctx, &cfg)) != EXIT_OK)
		return rc;
	ms_store *s = NULL;
	ms_err e = { 0 };
	char name[128];
	if (!cfg.db_url)
		rc = cli_usage(&ctx, "needs the store's --db URL");
	else if (ms_store_open(cfg.db_url, cfg.db_password, cfg.data_dir, DB_OPEN_READ_ONLY, &s, &e) < 0 ||
	         ms_snapshot_take(s, cfg.db_password, dir, (int)a.keep, name, sizeof name, &e) < 0)
		rc = cli_fail(&e);
	else if (ctx.json)
		printf("{\"snapshot\":\"%s\"}\n", name);
	else {
		printf("snapshot ");
		ms_escape_put(stdout, dir);
		printf("/%s\n", name);
	}
	ms_store_close(s);
	ms_config_free(&cfg);
	return rc;
}
