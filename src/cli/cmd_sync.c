/* mstore sync: the Data Directory Synchronizer. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "reconstruct/reconstruct.h"
#include "store/messages.h"
#include "store/objects.h"
#include "sync/sync.h"

const char help_sync[] =
	"usage: mstore sync [-n] [-v] [--settle SECONDS] [--domain D]... [--account A]...\n"
	"                   [--shard K/N] [--queue-only] [--json FILE] [--reload-command CMD]\n"
	"                   [--check-missing] [--hints-from URL] [--skip-duplicates]\n"
	"                   [--quarantine DIR | --delete-unreferenced] [--create-index]\n"
	"                   [--recipients hmailserver|rfc5322]\n\n"
	"Walk the data directory and make the database reference every message file\n"
	"(*.eml, *.hma).  Each file ends in exactly one category:\n"
	"  Skipped       a row of its own owner references it (the normal case): the\n"
	"                account whose folder holds it, the queue for DATA/ itself\n"
	"  Imported      in DATA/<domain>/<user>/...: added to the account's INBOX,\n"
	"                unread (Recent), with the folder's next UID\n"
	"  Queued        in DATA/: added to the delivery queue for its LOCAL recipients\n"
	"                (To/Cc through domain aliases, plus addressing, aliases, lists,\n"
	"                catch-all; see --recipients); nothing is ever sent to an\n"
	"                external address\n"
	"  Path updated  a row of the account whose folder holds the file named it by\n"
	"                its full Windows path: rewritten to its name (a full-path row\n"
	"                of another account is never bound to the file)\n"
	"  Moved         not at its canonical DATA/<domain>/<user>/<XX>/{GUID}.eml place:\n"
	"                renamed there (atomically, journaled), then imported; also a\n"
	"                file whose GUID name a row of another account (or the queue)\n"
	"                uses, as after 'cp -a' of one mailbox into another, or that\n"
	"                differs only in case from its account's row's file beside it:\n"
	"                renamed to a new GUID name, then imported\n"
	"  Orphaned      in the folder of a domain or account the database lacks\n"
	"  Deferred      modified less than --settle seconds ago: left for a run from\n"
	"                the moment the reason names.  A modification time in the\n"
	"                future is a clock problem, said so; the file's change time\n"
	"                (which no program sets) then tells its age\n"
	"                Also, whatever its age, a file \"in flight\": a running mstore\n"
	"                channel has written it and named it in its journal\n"
	"                (DATA/.mstore/*.inflight) but not yet committed its row.\n"
	"                A channel that died leaves its journal: sync (not -n) first\n"
	"                removes each file of it that no row names, as the channel\n"
	"                does when it opens the store again (counted as\n"
	"                \"interrupted\"); -n defers those files and says why.\n"
	"                Likewise a file a folder delete or an expire took out of\n"
	"                the store (its row deleted, the file not yet in the trash:\n"
	"                DATA/.mstore/trash-*.intent): never imported (deleted mail\n"
	"                would come back).  Sync (not -n) first completes what a\n"
	"                killed folder delete, expire or account move left, as the\n"
	"                folder commands do (counted as \"trashed\" and \"moves\")\n"
	"  Not imported  with the reason (no local recipients, zero bytes, #Public,\n"
	"                a symlink, not a regular file, not in an account folder)\n"
	"  Ignored       not a message file\n"
	"  Failed        with the error\n\n"
	"The internal date is the first Received header's (years 1981-2039), else the\n"
	"Date header's, else the file's modification time (now, if that is in the\n"
	"future), written as hMailServer's importer writes it: the UTC time plus the\n"
	"offset the mail server's zone (--server-tz) has at the time of the run, not\n"
	"the one at the message's date (hMailServer shows INTERNALDATE with its current\n"
	"offset, so this reads back as the true moment).  The sender (messagefrom)\n"
	"is what hMailServer's importer writes: the first address of the first From\n"
	"field, read by hMailServer's address-list rules; \"@\" when that field holds\n"
	"no usable address (\"From: MAILER-DAEMON\", \"From: a@b (comment)\"), empty\n"
	"without a From field; cut to 255 bytes on a character boundary, like a\n"
	"recipient's original address.  Queue recipients resolve as in hMailServer: at\n"
	"most 25 levels (the header's address, then each alias, list or catch-all); a\n"
	"plus character first in the local part cuts all of it (\"+x@dom\" is nobody:\n"
	"the catch-all); on a store of hMailServer 5.6 or older (hm_dbversion below\n"
	"5700) a route matching the domain stops the catch-all.  A message is imported\n"
	"whatever its header holds; the reason says what was wrong: \"unparsable\n"
	"headers\" when nothing could be read (no header field, or no From, To, Date\n"
	"or Received), else \"headers: ...\" (NUL bytes, 8-bit bytes that are not\n"
	"UTF-8, a header over 4 MiB, no empty line, i.e. no body).\n\n"
	"UIDs: in one run, the files imported into a folder get UIDs in the order of\n"
	"their internal dates (ties in path order), above every UID the folder had;\n"
	"account folders that differ only in case (Ann/, ann/) are one account.  An\n"
	"account with more than --batch new files is read twice, to order them.  Files\n"
	"deferred or failed, imported by a later run, get later UIDs.  A folder whose\n"
	"UIDs reach 2,147,483,647 (the largest hMailServer reads; none is reused)\n"
	"takes the earliest files that fit; the others fail, with that reason.\n"
	"Safe on a live server: files younger than --settle are left alone, and every\n"
	"batch re-checks, under the folder's lock, for rows created meanwhile.  A rerun\n"
	"after a crash finishes the job without duplicates.  Never deletes a file.\n\n"
	"  -n, --dry-run          report what would be done; write nothing, rename nothing\n"
	"  -v, --verbose          one line per file that is not skipped; -vv also \"Skipped\".\n"
	"                         \"Failed\" lines go to stderr, with or without -v\n"
	"                         (-vv: a database error also quotes its SQL statement)\n"
	"  --settle SECONDS       leave files modified in the last SECONDS (default 300)\n"
	"  --domain NAME          only these domains' account folders (repeatable)\n"
	"  --account ADDRESS      only these accounts' folders (repeatable).  A domain\n"
	"                         or account that is neither in the database nor a\n"
	"                         folder of the data directory is a usage error (exit\n"
	"                         2), not an empty run\n"
	"  --shard K/N            only accounts (and queue files) hashing to K of N; run\n"
	"                         1/N..N/N in parallel to cover the store exactly once\n"
	"  --queue-only           only the queue (files in the data directory root)\n"
	"  --recipients MODE      where a queued file's recipients come from:\n"
	"                         hmailserver (default) the FIRST To field and the\n"
	"                         FIRST CC field only, each cut at commas outside\n"
	"                         quotes, an address taken from <...> or a piece\n"
	"                         that is one whole address, as hMailServer's\n"
	"                         synchronizer reads them (so a group's members or an\n"
	"                         address with a comment after it are not delivered);\n"
	"                         rfc5322: every To and Cc field, read by an RFC 5322\n"
	"                         parser, groups expanded: local users may get copies\n"
	"                         hMailServer would not have delivered\n"
	"  --threads N            walker and parser threads (default: CPUs)\n"
	"  --batch N              files per batch (default 500): analysed together, one\n"
	"                         transaction per account; an account that fits is\n"
	"                         never split over two batches\n"
	"  --json FILE            write the full report (every file not skipped) as JSON\n"
	"  --no-progress          no progress line on stderr (default: on a terminal)\n"
	"  --reload-command CMD   run CMD (sh -c) after a run that imported something, to\n"
	"                         make the server reload its caches\n"
	"  --create-index         create idx_custom_hm_messages_messagefilename, the index\n"
	"                         hMailServer's documentation advises (mstore does not\n"
	"                         need it; the server's own lookups by file name do)\n"
	"  --hints-from URL       an older copy of the database (e.g. last night's dump,\n"
	"                         restored elsewhere): a file it knew for the same account\n"
	"                         goes back to the folder it had there (created if\n"
	"                         missing), with its flags and internal date, instead of\n"
	"                         INBOX, unread.  Password: $MSTORE_HINTS_PASSWORD, else\n"
	"                         the store's\n"
	"  --skip-duplicates      do not import a file byte-identical to a message the\n"
	"                         account already has (duplicates are always reported,\n"
	"                         -n included)\n"
	"  --quarantine DIR       after the run, move the files it could not import\n"
	"                         (orphaned, not imported) to DIR, keeping their paths;\n"
	"                         DIR must be outside the data directory\n"
	"  --delete-unreferenced  after the run, delete those files instead (the original\n"
	"                         tool's delete mode; prefer --quarantine).  Both list the\n"
	"                         files first and do nothing with --dry-run\n"
	"  --check-missing        after the run, the other direction: list the rows (in\n"
	"                         the same scope; with --queue-only, the queue's) whose\n"
	"                         file does not exist, as 'mstore reconstruct -n' reports\n"
	"                         them (one more walk); exit code 1 if there are any.\n"
	"                         'mstore reconstruct -r' removes such rows\n\n"
	"A row the database refuses (a constraint, a trigger) fails its own file only:\n"
	"its account's (or the queue's) files are written again one by one.  When the\n"
	"database connection is lost the run stops there (the files of the batch being\n"
	"written fail, the rest are not attempted), says how far it got, and exits 1:\n"
	"run it again once the database is back; it continues where this run stopped.\n"
	"File names (and the names quoted in reasons) are printed with control\n"
	"characters and invalid UTF-8 escaped as \\xHH.\n\n"
	"Exit code 0 when nothing failed, 1 when some file failed (or --check-missing\n"
	"found rows without their file, or the connection was lost), 2 usage (also an\n"
	"unknown --account or --domain), 3-5 see 'mstore help'.\n";

enum {
	O_SETTLE = OPT_FIRST_COMMAND_OPTION, O_DOMAIN, O_ACCOUNT, O_SHARD, O_QUEUE_ONLY, O_THREADS,
	O_BATCH, O_JSONFILE, O_NOPROGRESS, O_RELOAD, O_NOW, O_CREATE_INDEX, O_QUARANTINE, O_DELETE, O_SKIP_DUPS, O_HINTS,
	O_CHECK_MISSING, O_RECIPIENTS,
};

typedef struct sync_args {
	ms_sync_opts o;
	ms_strlist domains, accounts;
	bool oom;
	const char *reload;
	bool create_index;
	bool check_missing;
	const char *bad;        /* first bad option value, for the message */
	const char *bad_what;
} sync_args;

static void bad(sync_args *a, const char *what, const char *value)
{
	if (!a->bad) {
		a->bad = value;
		a->bad_what = what;
	}
}

static bool sync_option(void *data, int opt, const char *arg)
{
	sync_args *a = data;
	long long v;
	switch (opt) {
	case 'n': a->o.dry_run = true; return true;
	case 'v': a->o.verbose++; return true;
	case O_SETTLE:
		if (!cli_parse_count(arg, &v) || v > 86400 * 365) bad(a, "--settle takes seconds", arg);
		else a->o.settle_seconds = (int)v;
		return true;
	case O_THREADS:
		if (!cli_parse_count(arg, &v) || v < 1 || v > 64) bad(a, "--threads takes 1 to 64", arg);
		else a->o.threads = (int)v;
		return true;
	case O_BATCH:
		if (!cli_parse_count(arg, &v) || v < 1 || v > 100000) bad(a, "--batch takes 1 to 100000", arg);
		else a->o.batch_size = (int)v;
		return true;
	case O_DOMAIN:
		a->oom |= ms_strlist_add(&a->domains, arg) < 0;
		return true;
	case O_ACCOUNT:
		a->oom |= ms_strlist_add(&a->accounts, arg) < 0;
		return true;
	case O_SHARD:
		if (!ms_shard_parse(arg, &a->o.scope.shard_k, &a->o.scope.shard_n))
			bad(a, "--shard takes K/N with 1 <= K <= N", arg);
		return true;
	case O_QUEUE_ONLY: a->o.queue_only = true; return true;
	case O_JSONFILE: a->o.json_path = arg; return true;
	case O_NOPROGRESS: a->o.progress = false; return true;
	case O_RELOAD: a->reload = arg; return true;
	case O_CREATE_INDEX: a->create_index = true; return true;
	case O_CHECK_MISSING: a->check_missing = true; return true;
	case O_QUARANTINE: a->o.quarantine_dir = arg; return true;
	case O_DELETE: a->o.delete_unreferenced = true; return true;
	case O_SKIP_DUPS: a->o.skip_duplicates = true; return true;
	case O_HINTS: a->o.hints_url = arg; return true;
	case O_RECIPIENTS:
		if (!strcmp(arg, "rfc5322")) a->o.all_recipient_fields = true;
		else if (!strcmp(arg, "hmailserver")) a->o.all_recipient_fields = false;
		else bad(a, "--recipients takes hmailserver or rfc5322", arg);
		return true;
	case O_NOW: /* tests: pin "now" for the settle rule */
		if (!cli_parse_count(arg, &v)) bad(a, "--now takes epoch seconds", arg);
		else a->o.now = (time_t)v;
		return true;
	}
	return false;
}

static void print_summary(const ms_sync_report *r, bool dry_run)
{
	static const sync_category order[] = {
		SYNC_SKIPPED, SYNC_IMPORTED_ACCOUNT, SYNC_IMPORTED_QUEUE, SYNC_MOVED, SYNC_PATH_UPDATED,
		SYNC_ORPHANED, SYNC_DEFERRED, SYNC_NOT_IMPORTED, SYNC_IGNORED, SYNC_FAILED,
	};
	printf("mstore sync%s: %llu message files in %.1f s\n", dry_run ? " (dry run: nothing written)" : "",
	       (unsigned long long)r->files_seen, r->seconds);
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		sync_category c = order[i];
		if (r->count[c] == 0 && c != SYNC_SKIPPED && c != SYNC_FAILED)
			continue;
		printf("  %-13s %10llu", ms_sync_category_name(c), (unsigned long long)r->count[c]);
		if (c == SYNC_IMPORTED_ACCOUNT && r->unparsable)
			printf("   (%llu with unparsable headers, imported anyway)", (unsigned long long)r->unparsable);
		printf("\n");
	}
}

static int run_reload(const char *cmd)
{
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "mstore sync: the reload command failed (%s): %s\n",
		        st == -1 ? "could not start" : "non-zero exit", cmd);
		return EXIT_PARTIAL;
	}
	return EXIT_OK;
}

/* A quarantine inside the data directory would be walked as a domain. */
static bool quarantine_inside_data(const char *data, const char *dir)
{
	char *rd = data ? realpath(data, NULL) : NULL, *rq = realpath(dir, NULL);
	if (!rq) { /* not there yet: judge the nearest existing parent */
		char parent[4096];
		snprintf(parent, sizeof parent, "%s", dir);
		char *slash;
		while (!rq && (slash = strrchr(parent, '/')) != NULL) {
			*slash = '\0';
			rq = realpath(*parent ? parent : "/", NULL);
		}
		if (!rq)
			rq = realpath(".", NULL);
	}
	size_t n = rd ? strlen(rd) : 0;
	bool inside = rd && rq && strncmp(rq, rd, n) == 0 && (rq[n] == '/' || rq[n] == '\0');
	free(rd);
	free(rq);
	return inside;
}

/* --create-index, or a note when a large store lacks the index. */
static int index_advice(ms_store *s, bool create, bool dry_run, ms_err *e)
{
	int has = ms_store_has_index(s, MS_FILENAME_INDEX, e);
	if (has < 0)
		return -1;
	if (has)
		return 0;
	if (create) {
		if (dry_run) {
			printf("would create index %s (dry run)\n", MS_FILENAME_INDEX);
			return 0;
		}
		if (ms_store_create_filename_index(s, e) < 0)
			return -1;
		printf("created index %s on hm_messages (messagefilename)\n", MS_FILENAME_INDEX);
		return 0;
	}
	int64_t rows = 0;
	if (ms_messages_count(s->db, &rows, e) < 0)
		return -1;
	if (rows > 100000)
		fprintf(stderr, "mstore sync: note: hm_messages (%lld rows) has no index on messagefilename; lookups "
		        "by file name are slow without it: mstore sync --create-index\n", (long long)rows);
	return 0;
}

static int run_sync(cli_ctx *ctx, const sync_args *args, ms_store *s);

/* The subdirectory of `parent_fd` called `name` in any case (the walk's
 * scope compares folder names so), opened; -1 if there is none. */
static int open_dir_nocase(int parent_fd, const char *name)
{
	int fd = openat(parent_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	int found = -1;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *de;
	while (found < 0 && (de = readdir(d)) != NULL)
		if (strcasecmp(de->d_name, name) == 0)
			found = openat(parent_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	closedir(d);
	return found;
}

/* Is there a folder DATA/DOMAIN (and DATA/DOMAIN/LOCAL when local is not
 * NULL)?  An orphaned folder is part of the store too: the script of
 * 'reconstruct -o -d' names it with --account. */
static bool data_folder_exists(const char *data_dir, const char *domain, const char *local)
{
	int root = data_dir ? open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	int dom = root < 0 ? -1 : open_dir_nocase(root, domain);
	int acc = dom < 0 || !local ? -1 : open_dir_nocase(dom, local);
	bool found = local ? acc >= 0 : dom >= 0;
	int fds[] = { root, dom, acc };
	for (size_t i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return found;
}

static int check_domain(ms_store *s, const char *name, ms_err *e)
{
	ms_domain d;
	int rc = ms_domain_find(s, name, &d, e);
	if (rc < 0)
		return -1;
	if (rc == 0 && !data_folder_exists(s->data_dir, name, NULL))
		return ms_err_set(e, MS_E_USAGE, "--domain %s: no such domain (in the database or the data directory)",
		                  name);
	return 0;
}

static int check_account(ms_store *s, const char *addr, ms_err *e)
{
	char local[256], domain[256];
	const char *kind = NULL, *at = strrchr(addr, '@');
	if (ms_address_split(addr, local, domain, e) < 0)
		return ms_err_prefix(e, "--account");
	int rc = ms_address_in_use(s, addr, &kind, e);
	if (rc < 0)
		return -1;
	if (rc > 0 && strcmp(kind, "an account") != 0)
		return ms_err_set(e, MS_E_USAGE, "--account %s: %s, not an account", addr, kind);
	snprintf(local, sizeof local, "%.*s", (int)(at - addr), addr);
	if (rc == 0 && !data_folder_exists(s->data_dir, at + 1, local))
		return ms_err_set(e, MS_E_USAGE, "--account %s: no such account (in the database or the data directory)",
		                  addr);
	return 0;
}

/* An account or domain the store does not have is a typo, not an empty
 * run ("0 message files", exit 0): a usage error naming it, as
 * reconstruct refuses an unknown mailbox. */
static int check_scope(ms_store *s, const sync_args *a, ms_err *e)
{
	for (size_t i = 0; i < a->domains.n; i++)
		if (check_domain(s, a->domains.v[i], e) < 0)
			return -1;
	for (size_t i = 0; i < a->accounts.n; i++)
		if (check_account(s, a->accounts.v[i], e) < 0)
			return -1;
	return 0;
}

int cmd_sync(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "dry-run", no_argument, 0, 'n' },
		{ "verbose", no_argument, 0, 'v' },
		{ "settle", required_argument, 0, O_SETTLE },
		{ "domain", required_argument, 0, O_DOMAIN },
		{ "account", required_argument, 0, O_ACCOUNT },
		{ "shard", required_argument, 0, O_SHARD },
		{ "queue-only", no_argument, 0, O_QUEUE_ONLY },
		{ "threads", required_argument, 0, O_THREADS },
		{ "batch", required_argument, 0, O_BATCH },
		{ "json-file", required_argument, 0, O_JSONFILE },
		{ "no-progress", no_argument, 0, O_NOPROGRESS },
		{ "reload-command", required_argument, 0, O_RELOAD },
		{ "now", required_argument, 0, O_NOW },
		{ "create-index", no_argument, 0, O_CREATE_INDEX },
		{ "check-missing", no_argument, 0, O_CHECK_MISSING },
		{ "quarantine", required_argument, 0, O_QUARANTINE },
		{ "delete-unreferenced", no_argument, 0, O_DELETE },
		{ "skip-duplicates", no_argument, 0, O_SKIP_DUPS },
		{ "hints-from", required_argument, 0, O_HINTS },
		{ "recipients", required_argument, 0, O_RECIPIENTS },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "sync" };
	sync_args a = { .o = { .settle_seconds = 300, .progress = true, .log = stdout } };
	cli_json_file_arg(argc, argv);
	int i = cli_parse(&ctx, argc, argv, "hnv", longopts, sync_option, &a);
	db_set_verbosity(a.o.verbose); /* -vv: database errors quote the statement */
	if (a.bad)
		return cli_usage(&ctx, "%s, not '%s'", a.bad_what, a.bad);
	if (i != argc)
		return cli_usage(&ctx, "unexpected argument '%s'", argv[i]);
	if (ctx.json && !a.o.json_path)
		a.o.json_path = "-";
	if (a.o.json_path && strcmp(a.o.json_path, "-") == 0)
		a.o.log = stderr; /* keep stdout for the JSON */
	if (a.o.quarantine_dir && a.o.delete_unreferenced)
		return cli_usage(&ctx, "--quarantine and --delete-unreferenced exclude each other");
	if (a.oom)
		return cli_usage(&ctx, "out of memory for the options");
	a.o.scope.domains = a.domains.v;
	a.o.scope.accounts = a.accounts.v;
	ms_config cfg;
	ms_store *s;
	int rc = cli_config(&ctx, &cfg);
	if (rc != EXIT_OK)
		return rc;
	ms_err oe = { 0 };
	db_open_mode mode = a.o.dry_run ? DB_OPEN_READ_ONLY : DB_OPEN_READ_WRITE; /* -n: the database refuses writes */
	if (ms_store_open(cfg.db_url, cfg.db_password, cfg.data_dir, mode, &s, &oe) < 0) {
		ms_config_free(&cfg);
		return cli_fail(&oe);
	}
	const char *hp = getenv("MSTORE_HINTS_PASSWORD");
	a.o.hints_password = hp && *hp ? hp : cfg.db_password;
	rc = run_sync(&ctx, &a, s);
	ms_config_free(&cfg);
	ms_vec_free(&a.domains);
	ms_vec_free(&a.accounts);
	return rc;
}

/* --check-missing: reconstruct's missing-file check over the sync's scope,
 * check only.  Reuses reconstruct rather than the sync's own walk: its
 * findings are re-verified against a live server before they are told. */
static int check_missing(const sync_args *a, ms_store *s, ms_err *e)
{
	ms_rc_mailbox *mb = calloc(a->accounts.n ? a->accounts.n : 1, sizeof *mb);
	if (!mb)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	ms_rc_opts o = { .only_kinds = 1u << RC_MISSING_FILE, .only_queue = a->o.queue_only, .label = "check-missing",
	                 .settle_seconds = a->o.settle_seconds, .stale_lock_seconds = 3600, .threads = a->o.threads,
	                 .progress = a->o.progress && isatty(STDERR_FILENO), .out = a->o.log,
	                 .now = a->o.now };
	if (!a->o.queue_only) { /* the queue's rows are checked only in a check of the whole store */
		for (size_t i = 0; i < a->accounts.n; i++) {
			snprintf(mb[i].address, sizeof mb[i].address, "%s", a->accounts.v[i]);
			mb[i].folder[0] = '\0'; /* every folder */
		}
		o.mailboxes = mb;
		o.nmailboxes = a->accounts.n;
		o.scope = (ms_scope){ .domains = a->o.scope.domains, .shard_k = a->o.scope.shard_k,
		                      .shard_n = a->o.scope.shard_n };
	}
	ms_rc_report r;
	int rc = ms_reconstruct(s, &o, &r, e);
	free(mb);
	if (rc < 0)
		return -1;
	return r.findings ? 1 : 0;
}

/* The run stopped at a lost connection: say how far it got and that a
 * rerun goes on from there (it skips what this run imported). */
static void report_lost(const ms_sync_report *r)
{
	uint64_t done = r->count[SYNC_IMPORTED_ACCOUNT] + r->count[SYNC_IMPORTED_QUEUE] + r->count[SYNC_MOVED] +
	                r->count[SYNC_PATH_UPDATED];
	fprintf(stderr, "mstore sync: stopped: the database connection was lost (%s)\n", r->lost_reason);
	fprintf(stderr, "mstore sync: %llu files were written before that, %llu failed (the files of the batch "
	        "being written among them), %llu unreferenced files were not attempted.  Run mstore sync again: "
	        "it skips what was imported and continues with the rest\n", (unsigned long long)done,
	        (unsigned long long)r->count[SYNC_FAILED], (unsigned long long)r->not_attempted);
}

/* The run itself, once the store is open (closes it). */
static int run_sync(cli_ctx *ctx, const sync_args *args, ms_store *s)
{
	const sync_args *a = args;
	int rc;
	ms_sync_report r;
	ms_err e = { 0 };
	if (a->o.quarantine_dir && quarantine_inside_data(s->data_dir, a->o.quarantine_dir)) {
		ms_store_close(s);
		return cli_usage(ctx, "the quarantine directory %s is inside the data directory", a->o.quarantine_dir);
	}
	if (check_scope(s, a, &e) < 0 || index_advice(s, a->create_index, a->o.dry_run, &e) < 0 ||
	    ms_sync_run(s, &a->o, &r, &e) < 0) {
		ms_store_close(s);
		return cli_fail(&e);
	}
	if (!a->o.json_path || strcmp(a->o.json_path, "-") != 0) {
		print_summary(&r, a->o.dry_run);
		if (r.quarantined)
			printf("  quarantined   %10llu   (in %s)\n", (unsigned long long)r.quarantined, a->o.quarantine_dir);
		if (r.hinted)
			printf("  from hints    %10llu   (folder, flags and date from --hints-from)\n",
			       (unsigned long long)r.hinted);
		if (r.duplicates)
			printf("  duplicates    %10llu   (byte-identical to a message of the same account)\n",
			       (unsigned long long)r.duplicates);
		if (r.deleted)
			printf("  deleted       %10llu\n", (unsigned long long)r.deleted);
		if (r.inflight_removed)
			printf("  interrupted   %10zu   (files of a dead mstore channel's write that no row names:"
			       " removed, DATA/.mstore/*.inflight)\n", r.inflight_removed);
		if (r.moves_completed)
			printf("  moves         %10zu   (account moves a killed mstore folder command left: completed)\n",
			       r.moves_completed);
		if (r.trash_moved)
			printf("  trashed       %10zu   (files of a killed mstore folder delete or expire: moved into the"
			       " trash, DATA/.mstore/trash-*.intent)\n", r.trash_moved);
	}
	rc = r.count[SYNC_FAILED] ? EXIT_PARTIAL : EXIT_OK;
	if (r.connection_lost) {
		report_lost(&r);
		rc = EXIT_PARTIAL;
	} else if (a->check_missing) {
		fflush(stdout);
		int missing = check_missing(a, s, &e);
		if (missing < 0) {
			fprintf(stderr, "mstore sync: --check-missing: %s\n", e.msg);
			rc = EXIT_PARTIAL;
		} else if (missing) {
			rc = EXIT_PARTIAL;
		}
	}
	ms_store_close(s);
	uint64_t imported = r.count[SYNC_IMPORTED_ACCOUNT] + r.count[SYNC_IMPORTED_QUEUE] + r.count[SYNC_MOVED] +
	                    r.count[SYNC_PATH_UPDATED];
	if (a->reload && imported && !a->o.dry_run && run_reload(a->reload) != EXIT_OK)
		rc = EXIT_PARTIAL;
	return rc;
}
