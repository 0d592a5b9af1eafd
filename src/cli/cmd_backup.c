/* cmd_backup.c - `mstore backup` and `mstore restore` (issue 17): option
 * parsing, progress and the summary; backup/backup.h does the work. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup.h"
#include "cli/cli.h"
#include "util/escape.h"
#include "util/json.h"

const char help_backup[] =
	"usage: mstore backup -f FILE|- [--zstd] [--incremental BASE] [--domain D]...\n"
	"                     [MAILBOX...]\n\n"
	"Write the store's accounts, folders and messages to an archive: the whole\n"
	"store, or the accounts of --domain D, or MAILBOX: user/ADDRESS (an account)\n"
	"or user/ADDRESS/FOLDER/SUB (one folder, not its subfolders).  The archive\n"
	"is a POSIX tar stream (compressed with zstd with --zstd) that plain tar and\n"
	"zstd open; its format, version 4, is docs/backup-format.md: a manifest of\n"
	"domains, accounts (settings, password as stored: hash and encryption\n"
	"type) and folders (UIDVALIDITY, next UID, subscription), the aliases and\n"
	"distribution lists of the whole store or of --domain D, and in a backup\n"
	"of the whole store #Public's folders, every ACL row (hm_acl) and the\n"
	"groups they name with their members, one line per message (folder, UID,\n"
	"flags, internal date, size, SHA-256; #Public's messages too in a backup\n"
	"of the whole store) and each content once, however many folders or\n"
	"accounts hold it.\n\n"
	"Safe on a live server: a message expunged while the backup runs is left\n"
	"out (counted as vanished), one delivered after its folder was listed is\n"
	"in the next backup; nothing in the archive names content it does not hold.\n"
	"A message whose row is there but whose file cannot be read (missing, a\n"
	"symlink) is a failure: named, left out of the archive, exit 1.\n"
	"-f - writes to stdout (then --json goes to stderr).  An existing FILE is\n"
	"never overwritten; a failed backup removes its partial FILE.\n\n"
	"--incremental BASE writes an incremental archive: BASE\n"
	"is an earlier archive, full or incremental, of the same selection.  It\n"
	"holds the complete list of messages, the contents only of messages BASE's\n"
	"chain lacks, and the messages removed and the flags changed since BASE.\n"
	"Only an archive can be the base: hMailServer keeps no change time, so a\n"
	"date cannot show a flag change or a removal.  Restore the chain in order:\n"
	"mstore restore -f FULL -f INC1 -f INC2.\n\n"
	"Not in an archive: the delivery queue (transient: flush it, or stop SMTP,\n"
	"before a backup meant to move a store) and the server's settings rows.\n\n"
	"Options:\n"
	"  -f, --file FILE      the archive (- for stdout)\n"
	"  --zstd               compress the tar stream with zstd\n"
	"  --incremental BASE   only what changed since the archive BASE\n"
	"  --domain D           the accounts of domain D (repeatable)\n"
	"  --no-progress        no progress line on a terminal\n\n"
	"Exit codes: 0 written; 1 written without some messages that could not be\n"
	"read; 2 bad arguments, no such account, a BASE that is no whole archive or\n"
	"of another selection; 4 database; 5 file system.\n";

const char help_restore[] =
	"usage: mstore restore -f FILE|- [-f INC]... [-n] [--apply-removals]\n"
	"                      [--into ADDRESS] [--tmpdir DIR] [--domain D]...\n"
	"                      [MAILBOX...]\n\n"
	"Put an archive written by mstore backup (or the part named by --domain\n"
	"and MAILBOX, as for backup) into this store, of any database kind: the\n"
	"way a store moves from SQLite to PostgreSQL or MariaDB:\n\n"
	"  mstore backup -f - | ssh newhost mstore restore -f -\n\n"
	"The whole archive is read and verified first (each content's SHA-256\n"
	"against its name, each message line against the content it names, the\n"
	"end marker a truncated archive lacks, every JSON member's type, the\n"
	"accounts' addresses and every folder path): a damaged archive restores\n"
	"nothing (exit 2).  Then, still before writing, what this store cannot\n"
	"take: an account whose address is an alias or a list here, a folder level\n"
	"holding its hierarchy delimiter: each is a failure naming it (exit 1), left\n"
	"out with its messages while the rest is restored; -n reports the same.\n"
	"Contents wait in a temporary directory under --tmpdir DIR\n"
	"(default $TMPDIR or /tmp: it needs room for the archive's contents; a\n"
	"killed restore leaves its mstore-restore.XXXXXX there to remove).\n"
	"Then missing domains and accounts are created with the archived settings\n"
	"and password as stored (a version 1 archive has none: set one), missing\n"
	"folders are created,\n"
	"and each message is written as mstore channel appends one: a fresh file\n"
	"name, the folder's next UID (never one the folder used), flags and\n"
	"internal date from the archive.  Then (not with --into) the aliases,\n"
	"distribution lists and members, #Public folders, groups and members, ACL\n"
	"rows and #Public's messages the target lacks are added (#Public's only\n"
	"when no MAILBOX or --domain narrows the restore); an address already in\n"
	"use, a folder's existing ACL row for the same identifier stay as they\n"
	"are; an ACL row for a group the target lacks (an archive older than\n"
	"format 4) is a failure (exit 1).  Nothing existing is changed or removed\n"
	"(but see --apply-removals).\n\n"
	"Repeatable: a folder that already holds a message with the same content\n"
	"(SHA-256) does not get it again (k copies in the archive, j in the folder:\n"
	"k - j are added), so a restore interrupted (even by SIGKILL) is finished by\n"
	"running it again, and restoring twice adds nothing.  A kill between a\n"
	"file and its row can leave that file without a row: mstore reconstruct\n"
	"reports it as an unreferenced file (remove it; do not mstore sync it).\n\n"
	"A chain: -f FULL -f INC1 -f INC2 ... (a full archive, then its\n"
	"incrementals in the order they were written).  Each one must name the one\n"
	"before it as its base; an incremental alone, a missing link or a chain out\n"
	"of order is refused before anything is written.  The last archive's list\n"
	"of messages is restored, each content taken from whichever archive holds\n"
	"it; a message already in the folder (same content) gets the flags the\n"
	"last archive gives it.  Messages the incrementals list as removed that the\n"
	"folder still holds (beyond the copies the last archive wants) are listed\n"
	"(removed<TAB>MAILBOX<TAB>UID<TAB>SHA256, like each flag update:\n"
	"flags<TAB>...; on stderr with --json), also in folders (and accounts)\n"
	"deleted from the source since; they are left in place unless\n"
	"--apply-removals is given: then their rows are deleted and their files\n"
	"moved into DATA/.mstore/trash (as folder delete and expire do, journaled:\n"
	"a killed run is completed by the rerun; mstore purge removes them for\n"
	"good; a folder under mstore folder lock keeps them until the next run,\n"
	"exit 1).  A folder deleted from the source stays in the target (it may hold\n"
	"messages the chain does not know; mstore folder delete removes it).  A\n"
	"message the chain does not know is never touched.\n\n"
	"UIDs and UIDVALIDITY are the target folder's, not the archive's: IMAP\n"
	"clients resynchronize the restored folders.\n\n"
	"Options:\n"
	"  -f, --file FILE      the archive (- for stdin); repeated: a chain\n"
	"  -n, --dry-run        count what would be restored and list the flag\n"
	"                       updates and removals; write nothing\n"
	"  --apply-removals     a chain's removals the target holds go to the trash\n"
	"  --into ADDRESS       restore the one selected account's folders into\n"
	"                       the account ADDRESS (created when missing)\n"
	"  --tmpdir DIR         where contents wait until verified\n"
	"  --domain D           the accounts of domain D (repeatable)\n"
	"  --no-progress        no progress line on a terminal\n\n"
	"Exit codes: 0 restored; 1 some messages or objects could not be written; 2\n"
	"bad arguments, a damaged or newer archive or a broken chain; 4 database;\n"
	"5 file system.\n";

enum { O_ZSTD = OPT_FIRST_COMMAND_OPTION, O_DOMAIN, O_NOPROGRESS, O_INTO, O_TMPDIR, O_INCREMENTAL, O_APPLY_REMOVALS };

typedef struct bk_args {
	const char *file, *into, *tmpdir, *base;
	bool zstd, dry_run, no_progress, oom, apply_removals;
	ms_strlist domains, files;  /* files: every -f (restore takes a chain) */
} bk_args;

static bool bk_option(void *data, int opt, const char *arg)
{
	bk_args *a = data;
	switch (opt) {
	case 'f':
		a->file = a->file ? a->file : arg;
		a->oom |= ms_strlist_add(&a->files, arg) < 0;
		return true;
	case O_INCREMENTAL: a->base = arg; return true;
	case 'n': a->dry_run = true; return true;
	case O_ZSTD: a->zstd = true; return true;
	case O_NOPROGRESS: a->no_progress = true; return true;
	case O_APPLY_REMOVALS: a->apply_removals = true; return true;
	case O_INTO: a->into = arg; return true;
	case O_TMPDIR: a->tmpdir = arg; return true;
	case O_DOMAIN: a->oom |= ms_strlist_add(&a->domains, arg) < 0; return true;
	default: return false;
	}
}

/* A progress line on stderr, at most ten times a second. */
typedef struct progress {
	const char *verb;
	struct timespec last;
	bool drawn;
} progress;

static void draw(void *ctx, uint64_t messages, uint64_t bytes)
{
	progress *p = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->drawn && (now.tv_sec - p->last.tv_sec) * 1000000000L + (now.tv_nsec - p->last.tv_nsec) < 100000000L)
		return;
	p->last = now;
	p->drawn = true;
	fprintf(stderr, "\r%s: %llu messages, %.1f MB", p->verb, (unsigned long long)messages, (double)bytes / 1e6);
}

static void erase(progress *p)
{
	if (p->drawn)
		fprintf(stderr, "\r\033[K");
}

/* Selectors from --domain and the MAILBOX operands. */
static int selectors(cli_ctx *ctx, bk_args *a, int argc, char **argv, int i, ms_bk_sel **out, size_t *n)
{
	size_t nd = a->domains.n;
	ms_bk_sel *v = calloc(nd + (size_t)(argc - i) + 1, sizeof *v);
	if (!v)
		return cli_usage(ctx, "out of memory");
	for (size_t k = 0; k < nd; k++)
		ms_bk_sel_domain(a->domains.v[k], &v[k]);
	*n = nd;
	for (; i < argc; i++) {
		ms_err e = { 0 };
		if (ms_bk_sel_parse(argv[i], &v[*n], &e) < 0) {
			ms_bk_sel_free(v, *n);
			free(v);
			return cli_usage(ctx, "%s", e.msg);
		}
		(*n)++;
	}
	*out = v;
	return EXIT_OK;
}

static int parse(cli_ctx *ctx, bk_args *a, int argc, char **argv, const struct option *longopts, ms_bk_sel **sel,
                 size_t *nsel)
{
	int i = cli_parse(ctx, argc, argv, "hf:n", longopts, bk_option, a);
	if (a->oom)
		return cli_usage(ctx, "out of memory for the options");
	if (!a->file)
		return cli_usage(ctx, "-f FILE (or -f - for a pipe) is required");
	return selectors(ctx, a, argc, argv, i, sel, nsel);
}

static int open_store(cli_ctx *ctx, ms_config *cfg, db_open_mode mode, ms_store **s)
{
	int rc = cli_config(ctx, cfg);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	if (!cfg->data_dir || !cfg->db_url) {
		ms_config_free(cfg);
		return cli_usage(ctx, "needs the store's --db URL and --data DIR");
	}
	if (ms_store_open(cfg->db_url, cfg->db_password, cfg->data_dir, mode, s, &e) < 0) {
		ms_config_free(cfg);
		return cli_fail(&e);
	}
	return EXIT_OK;
}

static void backup_summary(FILE *out, bool json, const char *file, const ms_backup_stats *st)
{
	if (json) {
		ms_json j;
		ms_json_init(&j, out);
		ms_json_begin_object(&j);
		ms_json_kv_string(&j, "archive", file);
		ms_json_kv_int(&j, "accounts", (int64_t)st->accounts);
		ms_json_kv_int(&j, "folders", (int64_t)st->folders);
		ms_json_kv_int(&j, "messages", (int64_t)st->messages);
		ms_json_kv_int(&j, "contents", (int64_t)st->contents);
		ms_json_kv_int(&j, "content_bytes", (int64_t)st->bytes);
		ms_json_kv_int(&j, "vanished", (int64_t)st->vanished);
		ms_json_kv_int(&j, "failed", (int64_t)st->failed);
		ms_json_kv_int(&j, "base_contents", (int64_t)st->base_contents);
		ms_json_kv_int(&j, "removed", (int64_t)st->removed);
		ms_json_kv_int(&j, "flag_changes", (int64_t)st->flag_changes);
		ms_json_end_object(&j);
		ms_json_finish(&j);
		return;
	}
	char name[1024];
	ms_escape(name, sizeof name, file);
	fprintf(out, "backup %s: %llu messages (%llu contents, %llu bytes) from %llu folders of %llu accounts;"
	        " %llu vanished during the backup, %llu failed\n", name, (unsigned long long)st->messages,
	        (unsigned long long)st->contents, (unsigned long long)st->bytes, (unsigned long long)st->folders,
	        (unsigned long long)st->accounts, (unsigned long long)st->vanished, (unsigned long long)st->failed);
	if (st->base_contents + st->removed + st->flag_changes)
		fprintf(out, "backup %s: incremental: %llu contents left to the base chain, %llu messages removed and %llu"
		        " flag changes since the base\n", name, (unsigned long long)st->base_contents,
		        (unsigned long long)st->removed, (unsigned long long)st->flag_changes);
}

int cmd_backup(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "file", required_argument, 0, 'f' },
		{ "zstd", no_argument, 0, O_ZSTD },
		{ "domain", required_argument, 0, O_DOMAIN },
		{ "no-progress", no_argument, 0, O_NOPROGRESS },
		{ "incremental", required_argument, 0, O_INCREMENTAL },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "backup" };
	bk_args a = { 0 };
	ms_bk_sel *sel = NULL;
	size_t nsel = 0;
	ms_config cfg = { 0 };
	ms_store *s = NULL;
	int rc = parse(&ctx, &a, argc, argv, longopts, &sel, &nsel);
	if (rc == EXIT_OK && a.files.n > 1)
		rc = cli_usage(&ctx, "backup writes one archive: one -f");
	if (rc == EXIT_OK && strcmp(a.file, "-") == 0 && isatty(STDOUT_FILENO))
		rc = cli_usage(&ctx, "-f - writes the archive to stdout, which is a terminal: redirect it or pipe it");
	if (rc == EXIT_OK && (rc = open_store(&ctx, &cfg, DB_OPEN_READ_ONLY, &s)) == EXIT_OK) {
		bool to_stdout = strcmp(a.file, "-") == 0;
		progress p = { .verb = "backup" };
		ms_bk_progress prog = { draw, &p };
		ms_bk_store w = { cfg.db_url, cfg.db_password, cfg.data_dir };
		ms_backup_stats st;
		ms_err e = { 0 };
		bool show = isatty(2) && !a.no_progress && !ctx.json;
		int r = ms_backup_run(s, &w, sel, nsel, a.file, a.base, a.zstd, show ? &prog : NULL, &st, &e);
		erase(&p);
		if (r < 0)
			rc = cli_fail(&e);
		else
			backup_summary(to_stdout ? stderr : stdout, ctx.json, a.file, &st);
		if (r == 0 && st.failed) {
			fprintf(stderr, "mstore backup: %llu messages could not be read (left out), the first: %s\n",
			        (unsigned long long)st.failed, e.msg);
			rc = EXIT_PARTIAL;
		}
		ms_store_close(s);
		ms_config_free(&cfg);
	}
	ms_bk_sel_free(sel, nsel);
	free(sel);
	ms_vec_free(&a.domains);
	ms_vec_free(&a.files);
	return rc;
}

static void restore_summary(bool json, bool dry, const ms_restore_stats *st)
{
	if (json) {
		ms_json j;
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_kv_bool(&j, "dry_run", dry);
		ms_json_kv_int(&j, "accounts_created", (int64_t)st->accounts_created);
		ms_json_kv_int(&j, "folders", (int64_t)st->folders);
		ms_json_kv_int(&j, "restored", (int64_t)st->restored);
		ms_json_kv_int(&j, "present", (int64_t)st->present);
		ms_json_kv_int(&j, "bytes", (int64_t)st->bytes);
		ms_json_kv_int(&j, "failed", (int64_t)st->failed);
		ms_json_kv_int(&j, "aliases", (int64_t)st->aliases);
		ms_json_kv_int(&j, "lists", (int64_t)st->lists);
		ms_json_kv_int(&j, "list_members", (int64_t)st->members);
		ms_json_kv_int(&j, "public_folders", (int64_t)st->public_folders);
		ms_json_kv_int(&j, "acl_rows", (int64_t)st->acls);
		ms_json_kv_int(&j, "groups", (int64_t)st->groups);
		ms_json_kv_int(&j, "group_members", (int64_t)st->group_members);
		ms_json_kv_int(&j, "objects_present", (int64_t)st->objects_present);
		ms_json_kv_int(&j, "flags_updated", (int64_t)st->flags_updated);
		ms_json_kv_int(&j, "removals_listed", (int64_t)st->removals);
		ms_json_kv_int(&j, "removals_applied", (int64_t)st->removals_applied);
		ms_json_end_object(&j);
		ms_json_finish(&j);
		return;
	}
	printf("restore%s: %llu messages %s (%llu bytes) into %llu folders, %llu already present, %llu failed;"
	       " %llu accounts created\n", dry ? " (dry run)" : "", (unsigned long long)st->restored,
	       dry ? "to restore" : "restored", (unsigned long long)st->bytes, (unsigned long long)st->folders,
	       (unsigned long long)st->present, (unsigned long long)st->failed,
	       (unsigned long long)st->accounts_created);
	if (st->aliases + st->lists + st->members + st->public_folders + st->acls + st->groups + st->objects_present)
		printf("restore%s: %llu aliases, %llu distribution lists (%llu members), %llu public folders, %llu groups"
		       " (%llu members), %llu ACL rows %s; %llu already there (left as they are)\n", dry ? " (dry run)" : "",
		       (unsigned long long)st->aliases, (unsigned long long)st->lists, (unsigned long long)st->members,
		       (unsigned long long)st->public_folders, (unsigned long long)st->groups,
		       (unsigned long long)st->group_members, (unsigned long long)st->acls, dry ? "to add" : "added",
		       (unsigned long long)st->objects_present);
	if ((st->flags_updated + st->removals) && !st->removals_applied)
		printf("restore%s: flags %s on %llu messages; %llu messages the chain lists as removed are still there"
		       " (listed, not removed)\n", dry ? " (dry run)" : "", dry ? "to update" : "updated",
		       (unsigned long long)st->flags_updated, (unsigned long long)st->removals);
	else if (st->flags_updated + st->removals)
		printf("restore: flags updated on %llu messages; %llu messages the chain lists as removed moved into the"
		       " trash\n", (unsigned long long)st->flags_updated, (unsigned long long)st->removals_applied);
}

/* One line per flag update or removal of a chain:
 * ACTION<TAB>user/ADDRESS/FOLDER<TAB>UID<TAB>SHA256, names escaped. */
static void print_action(void *ctx, const char *what, const char *account, char *const *levels, uint32_t uid,
                         const char *sha)
{
	bool *json = ctx;
	char name[1024];
	/* a public folder's account is "#Public" (format 4) */
	GString *mb = g_string_new(strcmp(account, "#Public") == 0 ? "" : "user/");
	g_string_append(mb, account);
	for (size_t i = 0; levels[i]; i++)
		g_string_append_printf(mb, "/%s", levels[i]);
	ms_escape(name, sizeof name, mb->str);
	fprintf(*json ? stderr : stdout, "%s\t%s\t%u\t%s\n", what, name, uid, sha);
	g_string_free(mb, TRUE);
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "file", required_argument, 0, 'f' },
		{ "dry-run", no_argument, 0, 'n' },
		{ "into", required_argument, 0, O_INTO },
		{ "tmpdir", required_argument, 0, O_TMPDIR },
		{ "domain", required_argument, 0, O_DOMAIN },
		{ "no-progress", no_argument, 0, O_NOPROGRESS },
		{ "apply-removals", no_argument, 0, O_APPLY_REMOVALS },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "restore" };
	bk_args a = { 0 };
	ms_bk_sel *sel = NULL;
	size_t nsel = 0;
	ms_config cfg = { 0 };
	ms_store *s = NULL;
	int rc = parse(&ctx, &a, argc, argv, longopts, &sel, &nsel);
	if (rc == EXIT_OK && a.into && (strchr(a.into, '/') || !strchr(a.into, '@')))
		rc = cli_usage(&ctx, "--into takes an address, not '%s'", a.into);
	if (rc == EXIT_OK &&
	    (rc = open_store(&ctx, &cfg, a.dry_run ? DB_OPEN_READ_ONLY : DB_OPEN_READ_WRITE, &s)) == EXIT_OK) {
		progress p = { .verb = "restore" };
		ms_bk_progress prog = { draw, &p };
		ms_bk_store w = { cfg.db_url, cfg.db_password, cfg.data_dir };
		ms_restore_opts o = { .sel = sel, .nsel = nsel, .into = a.into, .tmpdir = a.tmpdir, .dry_run = a.dry_run,
		                      .apply_removals = a.apply_removals, .on_action = print_action, .action_ctx = &ctx.json };
		ms_restore_stats st;
		ms_err e = { 0 };
		bool show = isatty(2) && !a.no_progress && !ctx.json;
		int r = ms_restore_run(s, &w, a.files.v, a.files.n, &o, show ? &prog : NULL, &st, &e);
		erase(&p);
		if (r < 0)
			rc = cli_fail(&e);
		else {
			restore_summary(ctx.json, a.dry_run, &st);
			if (st.failed) {
				fprintf(stderr, "mstore restore: %llu messages failed, the first: %s\n",
				        (unsigned long long)st.failed, e.msg);
				rc = EXIT_PARTIAL;
			}
		}
		ms_store_close(s);
		ms_config_free(&cfg);
	}
	ms_bk_sel_free(sel, nsel);
	free(sel);
	ms_vec_free(&a.domains);
	ms_vec_free(&a.files);
	return rc;
}
