/* mstore reconstruct: check and repair the store in both directions. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/acctmove.h"
#include "store/trash.h"
#include "util/escape.h"
#include "reconstruct/reconstruct.h"

const char help_reconstruct[] =
	"usage: mstore reconstruct [-n] [-r] [-f] [-m] [-o [-d FILE]] [-q] [-v]\n"
	"                          [--domain D]... [--shard K/N] [--json FILE] [MAILBOX...]\n\n"
	"Find every disagreement between the database and the data directory and,\n"
	"with -r, repair what can be repaired.  MAILBOX is user/ADDRESS (every folder\n"
	"of an account) or user/ADDRESS/FOLDER (e.g. user/ann@example.com/INBOX/Work);\n"
	"without one, the whole store.  One line per finding:\n"
	"    MAILBOX: KIND: DETAIL (would repair: ACTION | repaired: ... | not repaired: WHY)\n"
	"then a summary.  The kinds, and what -r does about them:\n"
	"  missing-file        a row whose file is not at DATA/<domain>/<user>/<XX>/NAME\n"
	"                      (or DATA/NAME for the queue): the row, its recipients and\n"
	"                      metadata are removed, after being written to the recovery\n"
	"                      list (--save-removed)\n"
	"  misplaced-file      the row's file is elsewhere in the account's folder: it is\n"
	"                      renamed into its place (content untouched)\n"
	"  wrong-size          messagesize differs from the file's size: set to the size\n"
	"  zero-uid, duplicate-uid\n"
	"                      the message gets a new UID above foldercurrentuid (the\n"
	"                      oldest message of a duplicated UID keeps it)\n"
	"  uid-behind          foldercurrentuid is below the folder's largest UID: raised.\n"
	"                      UIDs are never lowered or reused: IMAP clients cache them\n"
	"  uid-overflow        a folder whose UIDs reach 2,147,483,647, the largest\n"
	"                      hMailServer reads (foldercurrentuid there, or a UID past\n"
	"                      it): reported only (no command lowers UIDs; sync\n"
	"                      imports nothing into such a folder)\n"
	"  folder-parent       a folder whose parent is missing, foreign or loops: moved\n"
	"                      to the top level (renamed 'NAME (recovered ID)' on a clash)\n"
	"  missing-inbox       an account without INBOX: INBOX is created\n"
	"  message-folder      a message in a folder that is missing or another\n"
	"                      account's: moved to the account's INBOX with a new UID\n"
	"  orphaned-message    a message of an account that does not exist: removed\n"
	"                      (recovery list first)\n"
	"  orphaned-recipient, orphaned-metadata\n"
	"                      rows of messages that do not exist: removed\n"
	"  orphaned-folder     a folder of an account that does not exist: removed\n"
	"  queue-no-recipients a queued, unlocked message without recipients (older than\n"
	"                      --settle): removed (recovery list first)\n"
	"  queue-stale-lock    a queued message locked since before --stale-lock: unlocked\n"
	"  unreferenced-file   a message file no row of its owner references (older\n"
	"                      than --settle; a modification time in the future is a\n"
	"                      clock problem, said so, and the change time tells the\n"
	"                      age, as in sync; the owner is the account whose folder\n"
	"                      holds it, the queue for DATA/ itself: a row of another\n"
	"                      account with the same name does not count; of two GUID\n"
	"                      names differing only in case, the file spelt as the row\n"
	"                      is the row's): reported only; mstore sync imports it\n"
	"                      (under a new name if its name is taken), and one it cannot\n"
	"                      import (an empty file, a queue file without local\n"
	"                      recipient) stays a finding until\n"
	"                      'mstore sync --quarantine DIR' moves it out\n"
	"  orphaned-account-dir, account-without-dir  (-o)\n"
	"                      a folder on disk without account, an account without\n"
	"                      folder: reported only; -d FILE writes the commands that\n"
	"                      would remove them, for you to review and run\n"
	"  schema              (-m) a table or index of the 5.7 schema is missing\n\n"
	"  -n, --dry-run       check only (the default without -r): writes nothing; safe\n"
	"                      at any time on a live server\n"
	"  -r, --repair        repair what the check found (only there); first it\n"
	"                      completes what a killed 'mstore folder' left: an\n"
	"                      account move (DATA/.mstore/acctmove-*.move) and the\n"
	"                      files of a committed delete (trash intents)\n"
	"  -f, --force         repair even where the guard stops: an account (or the\n"
	"                      queue) that lost the files of more than half of its rows\n"
	"                      (more than 5) keeps them without -f, since the data\n"
	"                      directory may just not be mounted or restored yet\n"
	"  -m, --whole-db      also the schema (tables, indexes) and the store-wide checks\n"
	"                      (orphaned rows, queue) even when MAILBOX, --domain or\n"
	"                      --shard narrow the run (otherwise only a whole-store run,\n"
	"                      or shard 1/N, does them)\n"
	"  -o, --orphans       also orphaned accounts on disk and in the database\n"
	"  -d FILE             with -o: write the removal commands to FILE (a sh script)\n"
	"  -q, --quota         print usage per account and domain (messages, bytes)\n"
	"                      against accountmaxsize / domainmaxsize; 'OVER' marks an\n"
	"                      account or domain above its limit (a report, not a finding)\n"
	"  -v, --verbose       also print how many files and rows were checked\n"
	"                      (-vv: a database error also quotes its SQL statement)\n"
	"  --domain NAME       only these domains' accounts (repeatable)\n"
	"  --shard K/N         only accounts hashing to K of N (the hash of mstore sync)\n"
	"  --settle SECONDS    files and queue rows younger than this are left out of\n"
	"                      unreferenced-file and queue-no-recipients (default 300)\n"
	"  --stale-lock SECONDS  age of a queue lock that counts as stale (default 3600)\n"
	"  --save-removed FILE the recovery list: every removed row, tab-separated, written\n"
	"                      and synced to disk before the row is deleted; appended to\n"
	"                      when FILE exists (one header line, at the top); default\n"
	"                      STATE/removed-DATE-PID.tsv, named in the summary\n"
	"  --state-dir DIR     STATE, the directory for recovery lists (made mode 0700):\n"
	"                      default $XDG_STATE_HOME/mstore if set, else /var/lib/mstore\n"
	"                      for root, ~/.local/state/mstore for other users; never in\n"
	"                      the data directory, which belongs to the mail server\n"
	"  --json FILE         write every finding and the summary as JSON\n"
	"  --threads N         walker threads (default: CPUs)\n"
	"  --no-progress       no progress line on stderr (default: on a terminal)\n\n"
	"Findings are checked once more against the current files and rows before they\n"
	"are reported, so a server (or mstore sync) writing meanwhile causes none.\n"
	"Repairs change the database; no message file is deleted or rewritten.\n\n"
	"Names of files, folders and accounts are printed with control characters\n"
	"and invalid UTF-8 escaped as \\xHH, so one finding is always one line.\n\n"
	"Exit code: 0 the store is consistent (after repair), 1 findings remain,\n"
	"2 usage error or the store could not be checked (the message says why),\n"
	"also when a directory could not be read (permission denied, a path longer\n"
	"than PATH_MAX): the findings are printed, the directory is named on stderr,\n"
	"and the check is incomplete.\n";

enum {
	O_DOMAIN = OPT_FIRST_COMMAND_OPTION, O_SHARD, O_STALE, O_SETTLE, O_SAVE, O_STATE, O_JSONFILE, O_NOPROGRESS, O_THREADS, O_NOW,
};

typedef struct rc_args {
	ms_rc_opts o;
	bool check_only;
	ms_strlist domains;
	bool oom;
	const char *bad, *bad_what;
} rc_args;

static void bad(rc_args *a, const char *what, const char *value)
{
	if (!a->bad) {
		a->bad = value;
		a->bad_what = what;
	}
}

static bool seconds(rc_args *a, const char *opt, const char *arg, int *out)
{
	long long v;
	if (!cli_parse_count(arg, &v) || v > 86400LL * 3650)
		bad(a, opt, arg);
	else
		*out = (int)v;
	return true;
}

static bool rc_option(void *data, int opt, const char *arg)
{
	rc_args *a = data;
	long long v;
	switch (opt) {
	case 'n': a->check_only = true; return true;
	case 'r': a->o.repair = true; return true;
	case 'f': a->o.force = true; return true;
	case 'm': a->o.whole_db = true; return true;
	case 'o': a->o.orphans = true; return true;
	case 'd': a->o.orphan_script = arg; return true;
	case 'q': a->o.quota = true; return true;
	case 'v': a->o.verbose++; return true;
	case O_DOMAIN:
		a->oom |= ms_strlist_add(&a->domains, arg) < 0;
		return true;
	case O_SHARD:
		if (!ms_shard_parse(arg, &a->o.scope.shard_k, &a->o.scope.shard_n))
			bad(a, "--shard takes K/N with 1 <= K <= N", arg);
		return true;
	case O_STALE: return seconds(a, "--stale-lock takes seconds", arg, &a->o.stale_lock_seconds);
	case O_SETTLE: return seconds(a, "--settle takes seconds", arg, &a->o.settle_seconds);
	case O_SAVE: a->o.save_removed = arg; return true;
	case O_STATE: a->o.state_dir = arg; return true;
	case O_JSONFILE: a->o.json_path = arg; return true;
	case O_NOPROGRESS: a->o.progress = false; return true;
	case O_THREADS:
		if (!cli_parse_count(arg, &v) || v < 1 || v > 64) bad(a, "--threads takes 1 to 64", arg);
		else a->o.threads = (int)v;
		return true;
	case O_NOW:
		if (!cli_parse_count(arg, &v)) bad(a, "--now takes epoch seconds", arg);
		else a->o.now = (time_t)v;
		return true;
	}
	return false;
}

static int run(rc_args *a, ms_store *s, const char *url)
{
	ms_rc_report r;
	ms_err e = { 0 };
	a->o.db_url_text = url;
	if (ms_reconstruct(s, &a->o, &r, &e) < 0) {
		fprintf(stderr, "mstore reconstruct: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (r.unreadable) { /* a check that could not look everywhere cannot say "consistent" */
		fprintf(stderr, "mstore reconstruct: could not check: %llu director%s could not be read (named above)\n",
		        (unsigned long long)r.unreadable, r.unreadable == 1 ? "y" : "ies");
		return EXIT_USAGE;
	}
	return r.remaining ? EXIT_PARTIAL : EXIT_OK;
}

/* "mstore reconstruct: HEAD account FROM to TO TAIL", the addresses escaped. */
static void move_line(const char *head, const ms_acctmove *m, const char *tail)
{
	fprintf(stderr, "mstore reconstruct: %s account ", head);
	ms_escape_put(stderr, m->from);
	fprintf(stderr, " to ");
	ms_escape_put(stderr, m->to);
	fprintf(stderr, "%s\n", tail);
}

static void moved_note(void *ctx, const ms_acctmove *m)
{
	(void)ctx;
	move_line("completed the interrupted move of", m, "");
}

static void pending_move_note(void *ctx, const ms_acctmove *m)
{
	(void)ctx;
	move_line("note: the move of", m, " was interrupted; -r (or the next folder command or sync) completes it"
	          " before anything else, so findings on its rows and files are not what -r repairs");
}

static void count_file(void *ctx, const char *rel)
{
	(void)rel;
	++*(size_t *)ctx;
}

/* A dry run changes nothing, so what a killed folder command left is
 * still pending: said first, since -r completes it before it looks. */
static void pending_notes(const ms_store *s)
{
	if (!s->data_dir)
		return;
	ms_acctmove_pending(s->data_dir, pending_move_note, NULL);
	int root = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return;
	size_t n = 0;
	ms_trash_each(root, MS_JIO_DEAD, count_file, &n);
	close(root);
	if (n)
		fprintf(stderr, "mstore reconstruct: note: %zu message file(s) of a killed folder delete or expire are"
		        " still to be moved into the trash (DATA/.mstore/trash-*.intent); -r (or the next folder,"
		        " expire or sync run) moves those whose rows are gone before anything else\n", n);
}

/* Open the store as the run needs it (read-only unless -r) and run. */
static int rc_main(cli_ctx *ctx, rc_args *a)
{
	ms_config cfg;
	ms_store *s;
	if (cli_config(ctx, &cfg) != EXIT_OK)
		return EXIT_USAGE;
	ms_err oe = { 0 };
	db_open_mode mode = a->o.repair ? DB_OPEN_READ_WRITE : DB_OPEN_READ_ONLY; /* -n: the database refuses writes */
	if (ms_store_open(cfg.db_url, cfg.db_password, cfg.data_dir, mode, &s, &oe) < 0) {
		ms_config_free(&cfg);
		fprintf(stderr, "mstore reconstruct: %s\n", oe.msg);
		return EXIT_USAGE;
	}
	db_url u;
	char url[4400] = "";
	if (db_url_parse(cfg.db_url, &u, &oe) == 0)
		db_url_format(&u, url, sizeof url);
	/* an account move or a folder delete a killed `folder` command left is
	 * completed first: its rows and files would otherwise be findings
	 * (acctmove.h, trash.h) */
	if (a->o.repair && s->data_dir &&
	    (ms_acctmove_recover(s, moved_note, NULL, &oe) < 0 || ms_trash_recover(s->db, s->data_dir, NULL, &oe) < 0)) {
		fprintf(stderr, "mstore reconstruct: %s\n", oe.msg);
		ms_store_close(s);
		ms_config_free(&cfg);
		return EXIT_USAGE;
	}
	if (!a->o.repair)
		pending_notes(s);
	int rc = run(a, s, url);
	ms_store_close(s);
	ms_config_free(&cfg);
	return rc;
}

int cmd_reconstruct(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "dry-run", no_argument, 0, 'n' },
		{ "repair", no_argument, 0, 'r' },
		{ "force", no_argument, 0, 'f' },
		{ "whole-db", no_argument, 0, 'm' },
		{ "orphans", no_argument, 0, 'o' },
		{ "quota", no_argument, 0, 'q' },
		{ "verbose", no_argument, 0, 'v' },
		{ "domain", required_argument, 0, O_DOMAIN },
		{ "shard", required_argument, 0, O_SHARD },
		{ "stale-lock", required_argument, 0, O_STALE },
		{ "settle", required_argument, 0, O_SETTLE },
		{ "save-removed", required_argument, 0, O_SAVE },
		{ "state-dir", required_argument, 0, O_STATE },
		{ "json-file", required_argument, 0, O_JSONFILE },
		{ "no-progress", no_argument, 0, O_NOPROGRESS },
		{ "threads", required_argument, 0, O_THREADS },
		{ "now", required_argument, 0, O_NOW },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "reconstruct" };
	rc_args a = { .o = { .stale_lock_seconds = 3600, .settle_seconds = 300, .progress = isatty(2), .out = stdout } };
	cli_json_file_arg(argc, argv);
	int i = cli_parse(&ctx, argc, argv, "hnrfmoqvd:", longopts, rc_option, &a);
	db_set_verbosity(a.o.verbose); /* -vv: database errors quote the statement */
	if (a.bad)
		return cli_usage(&ctx, "%s, not '%s'", a.bad_what, a.bad);
	if (ctx.json && !a.o.json_path)
		return cli_usage(&ctx, "--json takes a file name");
	if (a.o.orphan_script && !a.o.orphans)
		return cli_usage(&ctx, "-d FILE goes with -o");
	if (a.check_only)
		a.o.repair = false;
	if (a.oom)
		return cli_usage(&ctx, "out of memory for the options");
	/* every mailbox named is checked: as many as the command line holds */
	ms_rc_mailbox *mb = calloc(argc - i > 0 ? (size_t)(argc - i) : 1, sizeof *mb);
	if (!mb)
		return cli_usage(&ctx, "out of memory for the mailboxes");
	size_t nmb = 0;
	for (; i < argc; i++) {
		ms_err e = { 0 };
		if (ms_rc_mailbox_parse(argv[i], &mb[nmb++], &e) < 0) {
			free(mb);
			return cli_usage(&ctx, "%s", e.msg);
		}
	}
	a.o.mailboxes = mb;
	a.o.nmailboxes = nmb;
	a.o.scope.domains = a.domains.v;
	int rc = rc_main(&ctx, &a);
	free(mb);
	ms_vec_free(&a.domains);
	return rc;
}

