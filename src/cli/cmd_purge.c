/* mstore purge --older-than DAYS: the trash's end (store/trash.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "store/trash.h"
#include "util/escape.h"
#include "util/json.h"

const char help_purge[] =
	"usage: mstore purge --older-than DAYS [-n] [-v] [--json]\n\n"
	"Delete for good the message files that expire, folder delete and the other\n"
	"administrative commands moved into the trash, DATA/.mstore/trash/DAY/, when\n"
	"their DAY (the UTC day they were moved) is more than DAYS days ago:\n"
	"--older-than 0 removes every day before today, --older-than 30 keeps a\n"
	"month.  A day is removed whole.  Nothing else in the data directory is\n"
	"touched, and the database is not opened (only --data is needed).\n\n"
	"Below its DAY a trashed file keeps its account's folder, without the <XX>\n"
	"level (the name's own first characters): DAY/example.com/ann/{GUID}.eml,\n"
	"DAY/#Public/{GUID}.eml; a second file of one name that day gets \".2\".\n"
	"To bring one back, move it to its place and run mstore sync.\n\n"
	"-n, --dry-run   list what would be removed, remove nothing\n"
	"-v              one line per file: its path below the data directory and size\n"
	"--json          the summary (and with -v the files) as JSON on stdout\n\n"
	"Summary: days, files and bytes removed.  Exit 0 done, 2 bad arguments,\n"
	"3 no data directory configured, 5 a file could not be removed.\n";

enum { O_OLDER = OPT_FIRST_COMMAND_OPTION };

struct purge_opts {
	long long days;
	bool have_days, dry_run, bad_days;
	int verbose;
};

static bool purge_option(void *data, int opt, const char *arg)
{
	struct purge_opts *o = data;
	switch (opt) {
	case O_OLDER:
		o->have_days = true;
		o->bad_days = !cli_parse_count(arg, &o->days) || o->days > 100000;
		return true;
	case 'n': o->dry_run = true; return true;
	case 'v': o->verbose++; return true;
	}
	return false;
}

struct listing {
	bool json, verbose;
	ms_json *j;
};

static void on_file(void *ctx, const char *relpath, uint64_t size)
{
	struct listing *l = ctx;
	if (!l->verbose)
		return;
	if (l->json) {
		ms_json_begin_object(l->j);
		ms_json_kv_string(l->j, "path", relpath);
		ms_json_kv_int(l->j, "size", (int64_t)size);
		ms_json_end_object(l->j);
	} else {
		ms_escape_put(stdout, relpath);
		printf("\t%llu\n", (unsigned long long)size);
	}
}

int cmd_purge(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "older-than", required_argument, 0, O_OLDER },
		{ "dry-run", no_argument, 0, 'n' },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "purge", .db_optional = true };
	struct purge_opts o = { 0 };
	int i = cli_parse(&ctx, argc, argv, "hnv", longopts, purge_option, &o);
	if (i != argc)
		return cli_usage(&ctx, "no arguments expected");
	if (!o.have_days)
		return cli_usage(&ctx, "--older-than DAYS is required");
	if (o.bad_days)
		return cli_usage(&ctx, "--older-than wants a number of days from 0 to 100000");
	ms_config cfg;
	int rc = cli_config(&ctx, &cfg);
	if (rc != EXIT_OK)
		return rc;
	if (!cfg.data_dir) {
		ms_config_free(&cfg);
		fprintf(stderr, "mstore purge: no data directory: give --data DIR or set data in mstore.conf\n");
		return EXIT_CONFIG;
	}
	ms_json j;
	struct listing l = { .json = ctx.json, .verbose = o.verbose > 0, .j = &j };
	if (ctx.json) {
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_key(&j, "removed");
		ms_json_begin_array(&j);
	}
	ms_purge_stats st;
	ms_err e = { 0 };
	int prc = ms_trash_purge(cfg.data_dir, (int)o.days, time(NULL), o.dry_run, on_file, &l, &st, &e);
	if (ctx.json) {
		ms_json_end_array(&j);
		ms_json_kv_bool(&j, "dry_run", o.dry_run);
		ms_json_kv_int(&j, "older_than_days", o.days);
		ms_json_kv_int(&j, "days", (int64_t)st.days);
		ms_json_kv_int(&j, "files", (int64_t)st.files);
		ms_json_kv_int(&j, "bytes", (int64_t)st.bytes);
		ms_json_kv_bool(&j, "ok", prc == 0);
		ms_json_end_object(&j);
		ms_json_finish(&j);
	} else {
		printf("purge: %s %zu file(s), %llu bytes, in %zu trash day(s) older than %lld day(s)\n",
		       o.dry_run ? "would remove" : "removed", st.files, (unsigned long long)st.bytes, st.days, o.days);
	}
	ms_config_free(&cfg);
	return prc < 0 ? cli_fail(&e) : EXIT_OK;
}
