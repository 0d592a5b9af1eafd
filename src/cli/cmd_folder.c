/* mstore folder list|create|delete|rename|subscribe|unsubscribe|lock
 * (mboxutil).  The store's rules are in src/store/mailbox.c (folders),
 * acctmove.c (the account move), trash.c (deleted files) and mboxlock.c
 * (the mailbox lock); this file parses, reports and exits. */
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/acctmove.h"
#include "store/mailbox.h"
#include "store/mboxlock.h"
#include "store/objects.h"
#include "store/scope.h"
#include "store/trash.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/testhook.h"

const char help_folder[] =
	"usage: mstore folder list [-p REGEX] [-x] [--domain D] [--account A] [--shard K/N] [--json]\n"
	"       mstore folder create MAILBOX [-n] [--json]\n"
	"       mstore folder delete MAILBOX [--purge] [-n] [--json]\n"
	"       mstore folder rename OLD NEW [-n] [--json]\n"
	"       mstore folder subscribe|unsubscribe MAILBOX [-n] [--json]\n"
	"       mstore folder lock MAILBOX -- COMMAND [ARG...]\n\n"
	"Mailboxes are named user/ADDRESS/FOLDER/SUB (an account's folder; user/ADDRESS\n"
	"alone is the account) and #Public/FOLDER (a public folder); '/' separates the\n"
	"levels whatever the server's IMAP delimiter is.  A first level INBOX (any case)\n"
	"is the account's INBOX.  A new folder's level (create, rename's NEW) is not '.'\n"
	"or '..' and holds no IMAP delimiter (IMAPHierarchyDelimiter, '.' by default):\n"
	"an IMAP client would see two levels, and backup and export refuse it.\n\n"
	"list       every mailbox, sorted by name.  -p keeps the names a POSIX extended\n"
	"           REGEX matches; --domain, --account (repeatable) and --shard K/N narrow\n"
	"           to accounts (as sync and reconstruct do; #Public only unnarrowed); an\n"
	"           unknown domain or account is refused (exit 2).\n"
	"           -x adds the directory of its files (relative to the data directory),\n"
	"           the delivered messages and their bytes, UIDNEXT, UIDVALIDITY (as the\n"
	"           server's IMAP SELECT reports it), subscription and ACL (hm_acl\n"
	"           entries as who=bits: an address, group:ID or anyone).\n"
	"create     create the folder with its missing parents, subscribed.  A new\n"
	"           folder has a new UIDVALIDITY (its creation time).\n"
	"delete     delete the folder, its sub-folders and their messages (rows with\n"
	"           their recipients and metadata, the folders' ACL rows) in one\n"
	"           transaction; the files are moved into DATA/.mstore/trash/DAY/ (which\n"
	"           `mstore purge` empties), or removed with --purge.  Journaled: a kill at\n"
	"           any moment leaves every file either referenced at its place or in the\n"
	"           trash; the next folder command completes it.  INBOX cannot be deleted.\n"
	"           The command returns once the clock has passed the deleted folders'\n"
	"           creation second, so a folder re-created under the same name gets\n"
	"           another UIDVALIDITY.\n"
	"rename     rename a folder within its account (or within #Public): it keeps its\n"
	"           id, so its messages, UIDs, UIDVALIDITY and sub-folders go with it;\n"
	"           missing parents of NEW are created.  NEW must not exist, INBOX is not\n"
	"           renamed, a folder cannot go below itself.\n"
	"           rename user/A/INBOX user/B/INBOX moves the whole account A to the new\n"
	"           address B (in an existing domain, used by no account, alias or list):\n"
	"           the account row and the directory DATA/<domain>/<local> of its files,\n"
	"           in one journaled operation (DATA/.mstore/acctmove-ID.move) that a kill\n"
	"           at any moment cannot leave half done: the next folder command, a rerun\n"
	"           or `mstore reconstruct -r` completes it.  Folders, UIDs and UIDVALIDITY\n"
	"           stay.  Aliases and list members naming A are not changed.\n"
	"subscribe, unsubscribe\n"
	"           set the folder's subscription (folderissubscribed).\n"
	"lock       run COMMAND while the mailbox (the folder and every folder below it;\n"
	"           user/ADDRESS: all of the account's folders) is locked against other\n"
	"           mstore processes; exits with COMMAND's exit code.  The lock is a\n"
	"           flock(2)'d file per folder in DATA/.mstore/locks/, the same on every\n"
	"           database, released by the kernel if mstore dies.  The folder\n"
	"           commands take it (create and rename also the lock of the folder\n"
	"           they put one below) and fail at once (exit 1) when it is held; an mstore\n"
	"           run by COMMAND inherits it ($MSTORE_MAILBOX_LOCKS).  Once locked, a\n"
	"           transaction over the folders' rows waits for writers already in one.\n"
	"           sync, deliver, expire and the channel's hmailserver side write\n"
	"           nothing into a locked folder and create no folder below it: they\n"
	"           name it and leave it for the next run (exit 1; deliver and expire\n"
	"           --lock-wait SECS wait); the lock waits for a deliver, expire or\n"
	"           channel run already writing the folder.\n\n"
	"Every writing action takes -n/--dry-run (check and report, change nothing)\n"
	"and --json.  Exit codes: 0 done; 1 not done (a locked mailbox, a file that\n"
	"could not be moved: the rerun completes it); 2 bad input (an unknown mailbox\n"
	"or address, a rename onto an existing folder or account, a pattern that does\n"
	"not compile), with nothing changed.\n";

enum { O_X = OPT_FIRST_COMMAND_OPTION, O_DOMAIN, O_ACCOUNT, O_SHARD, O_PURGE };

/* ---- helpers ------------------------------------------------------------------- */

static int need_data(const cli_call *c)
{
	if (c->s->data_dir)
		return 0;
	fprintf(stderr, "mstore %s: this action needs the data directory (--data DIR or data= in the config)\n",
	        c->ctx->cmd);
	return -1;
}

typedef struct move_done {
	char to[256];   /* the last completed move's new address ("" none) */
} move_done;

static void told_completed(void *ctx, const ms_acctmove *m)
{
	move_done *done = ctx;
	fprintf(stderr, "mstore: completed the interrupted move of account ");
	ms_escape_put(stderr, m->from);
	fprintf(stderr, " to ");
	ms_escape_put(stderr, m->to);
	fprintf(stderr, "\n");
	snprintf(done->to, sizeof done->to, "%s", m->to);
}

/* What a killed folder command left: the account moves and the trash
 * intents are completed before anything else is read. */
static int recover(cli_call *c, char *moved_to, size_t len)
{
	if (!c->s->data_dir)
		return 0;
	ms_err e = { 0 };
	move_done done = { "" };
	if (ms_acctmove_recover(c->s, told_completed, &done, &e) < 0 ||
	    ms_trash_recover(c->s->db, c->s->data_dir, NULL, &e) < 0)
		return cli_fail(&e);
	if (moved_to)
		snprintf(moved_to, len, "%s", done.to);
	return 0;
}

static int resolve(cli_call *c, const char *name, ms_mailbox *mb)
{
	ms_err e = { 0 };
	if (ms_mailbox_resolve(c->s->db, name, mb, &e) < 0)
		return cli_fail(&e);
	ms_mailbox_owner_on_disk(mb, c->s->data_dir); /* its files, where they are */
	return 0;
}

/* What every action on one MAILBOX begins with: a killed command's work
 * completed (unless -n), the mailbox resolved, its name for messages. */
static int prologue(cli_call *c, bool dry_run, ms_mailbox *mb, char *name, size_t len)
{
	int rc;
	if ((!dry_run && (rc = recover(c, NULL, 0)) != 0) || (rc = resolve(c, c->argv[0], mb)) != 0)
		return rc;
	ms_mailbox_name(mb, name, len);
	return 0;
}

/* Lock the folders `ids` exclusively; fails at once when one is held
 * (unless timeout_ms says otherwise). */
typedef struct lockset {
	ms_mbox_lock **v;
	size_t n;
} lockset;

static void locks_release(lockset *l)
{
	for (size_t i = 0; i < l->n; i++)
		ms_mbox_lock_release(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int by_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The locks are taken in ascending folder id, whatever order `ids` has
 * (a subtree comes parent first, and a folder moved below a newer one has
 * the smaller id): two commands waiting for each other's trees would
 * otherwise each hold a lock the other waits for, for ever.  An id given
 * twice is taken once (a second flock of our own would wait for us). */
static int locks_take(const char *data, const int64_t *ids, size_t n, int timeout_ms, lockset *l, ms_err *e)
{
	int64_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
	l->v = calloc(n ? n : 1, sizeof *l->v);
	l->n = 0;
	if (!sorted || !l->v) {
		free(sorted);
		locks_release(l);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	if (n)
		memcpy(sorted, ids, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, by_id);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && sorted[i] == sorted[i - 1])
			continue;
		if (ms_mbox_lock_take(data, sorted[i], true, timeout_ms, &l->v[l->n], e) < 0) {
			free(sorted);
			locks_release(l);
			return -1;
		}
		l->n++;
		ms_test_hook("folder-lock-taken"); /* tests: the order the locks are taken in */
	}
	free(sorted);
	return 0;
}

/* A lock not taken: the message names the mailbox the command works on
 * (the lock itself knows only a folder id). */
static int refused(const ms_mailbox *mb, ms_err *e)
{
	char name[1400];
	ms_mailbox_name(mb, name, sizeof name);
	ms_err_prefix(e, "mailbox '%s'", name);
	return cli_fail(e);
}

/* Lock the folders `mb` covers and, when `also` is not 0, folder `also`
 * (a rename's target parent), in the one order of locks_take. */
static int lock_mailbox_and(cli_call *c, const ms_mailbox *mb, int64_t also, int timeout_ms, lockset *l)
{
	ms_err e = { 0 };
	int64_t *ids;
	size_t n;
	if (ms_mailbox_covered(c->s->db, mb, &ids, &n, &e) < 0)
		return cli_fail(&e);
	int64_t *all = also ? realloc(ids, (n + 1) * sizeof *ids) : ids;
	if (!all) {
		free(ids);
		return cli_fail((ms_err_set(&e, MS_E_NOMEM, "out of memory"), &e));
	}
	if (also)
		all[n++] = also;
	int rc = locks_take(c->s->data_dir, all, n, timeout_ms, l, &e);
	free(all);
	if (rc < 0)
		return refused(mb, &e);
	return 0;
}

static int lock_mailbox(cli_call *c, const ms_mailbox *mb, int timeout_ms, lockset *l)
{
	return lock_mailbox_and(c, mb, 0, timeout_ms, l);
}

static void json_result(const char *action, const char *name, const char *to, bool dry_run, const ms_mailbox_deletion *d)
{
	ms_json j;
	ms_json_init(&j, stdout);
	ms_json_begin_object(&j);
	ms_json_kv_string(&j, "action", action);
	ms_json_kv_string(&j, "mailbox", name);
	if (to)
		ms_json_kv_string(&j, "to", to);
	ms_json_kv_bool(&j, "dry_run", dry_run);
	if (d) {
		ms_json_kv_int(&j, "folders", (int64_t)d->folders);
		ms_json_kv_int(&j, "messages", (int64_t)d->messages);
		ms_json_kv_int(&j, "bytes", (int64_t)d->bytes);
		ms_json_kv_int(&j, "files_moved", (int64_t)d->files_moved);
		ms_json_kv_int(&j, "files_missing", (int64_t)d->files_missing);
	}
	ms_json_end_object(&j);
	ms_json_finish(&j);
}

static void say(const cli_call *c, bool dry_run, const char *verb, const char *name, const char *rest)
{
	if (c->ctx->json)
		return;
	printf("%s%s ", dry_run ? "would " : "", verb);
	ms_escape_put(stdout, name);
	if (rest) {
		printf(" to ");
		ms_escape_put(stdout, rest);
	}
	printf("\n");
}

/* ---- list ------------------------------------------------------------------------- */

struct list_opts {
	const char *pattern;
	bool x, oom;
	ms_strlist domains, accounts;
	const char *shard;
};

static bool list_option(void *data, int opt, const char *arg)
{
	struct list_opts *o = data;
	switch (opt) {
	case 'p': o->pattern = arg; return true;
	case 'x': case O_X: o->x = true; return true;
	case O_DOMAIN: o->oom |= ms_strlist_add(&o->domains, arg) < 0; return true;
	case O_ACCOUNT: o->oom |= ms_strlist_add(&o->accounts, arg) < 0; return true;
	case O_SHARD: o->shard = arg; return true;
	}
	return false;
}

static const struct option list_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "pattern", required_argument, 0, 'p' },
	{ "extended", no_argument, 0, O_X },
	{ "domain", required_argument, 0, O_DOMAIN },
	{ "account", required_argument, 0, O_ACCOUNT },
	{ "shard", required_argument, 0, O_SHARD },
	{ 0, 0, 0, 0 },
};

typedef struct list_ctx {
	const cli_ctx *ctx;
	bool x, have_re;
	regex_t re;
	ms_scope scope;
	ms_json j;
	size_t n;
} list_ctx;

static bool in_scope(const list_ctx *l, const ms_mailbox_info *m)
{
	if (m->account_id == 0)
		return !ms_scope_narrowed(&l->scope) && l->scope.shard_n == 0;
	const char *at = strrchr(m->address, '@');
	if (!at)
		return false;
	char local[256];
	snprintf(local, sizeof local, "%.*s", (int)(at - m->address), m->address);
	return ms_scope_has_account(&l->scope, local, at + 1);
}

static int list_one(void *ctx, const ms_mailbox_info *m)
{
	list_ctx *l = ctx;
	if (!in_scope(l, m) || (l->have_re && regexec(&l->re, m->name, 0, NULL, 0) != 0))
		return 0;
	l->n++;
	if (l->ctx->json) {
		ms_json_begin_object(&l->j);
		ms_json_kv_string(&l->j, "mailbox", m->name);
		ms_json_kv_int(&l->j, "folderid", m->folder_id);
		if (l->x) {
			ms_json_kv_string(&l->j, "path", m->owner_dir);
			ms_json_kv_int(&l->j, "messages", m->messages);
			ms_json_kv_int(&l->j, "bytes", m->bytes);
			ms_json_kv_int(&l->j, "uidnext", m->current_uid + 1);
			ms_json_kv_int(&l->j, "uidvalidity", m->uidvalidity);
			ms_json_kv_bool(&l->j, "subscribed", m->subscribed);
			ms_json_kv_string(&l->j, "acl", m->acl);
		}
		ms_json_end_object(&l->j);
		return 0;
	}
	ms_escape_put(stdout, m->name);
	if (l->x) {
		printf("\t");
		ms_escape_put(stdout, m->owner_dir);
		printf("\t%lld\t%lld\t%lld\t%u\t%s\t", (long long)m->messages, (long long)m->bytes,
		       (long long)m->current_uid + 1, m->uidvalidity, m->subscribed ? "subscribed" : "unsubscribed");
		ms_escape_put(stdout, m->acl[0] ? m->acl : "-");
	}
	printf("\n");
	return 0;
}

static int folder_list(cli_call *c)
{
	struct list_opts *o = c->opts;
	list_ctx l = { .ctx = c->ctx, .x = o->x };
	int rc = EXIT_OK;
	if (o->oom)
		rc = cli_usage(c->ctx, "out of memory");
	if (rc == EXIT_OK)
		rc = cli_check_scope(c->s, &o->domains, &o->accounts);
	if (rc == EXIT_OK && o->shard && !ms_shard_parse(o->shard, &l.scope.shard_k, &l.scope.shard_n))
		rc = cli_usage(c->ctx, "--shard '%s': expected K/N with 1 <= K <= N", o->shard);
	if (rc == EXIT_OK && o->pattern) {
		int err = regcomp(&l.re, o->pattern, REG_EXTENDED | REG_NOSUB);
		if (err) {
			char why[200];
			regerror(err, &l.re, why, sizeof why);
			rc = cli_usage(c->ctx, "-p '%s' is not a valid POSIX extended regular expression: %s", o->pattern, why);
		} else {
			l.have_re = true;
		}
	}
	if (rc == EXIT_OK) {
		if (o->domains.n && ms_strlist_add(&o->domains, NULL) == 0)
			l.scope.domains = o->domains.v;
		if (o->accounts.n && ms_strlist_add(&o->accounts, NULL) == 0)
			l.scope.accounts = o->accounts.v;
		if (c->ctx->json) {
			ms_json_init(&l.j, stdout);
			ms_json_begin_array(&l.j);
		}
		ms_err e = { 0 };
		if (ms_mailbox_list(c->s->db, o->x ? c->s->data_dir : NULL, o->x, list_one, &l, &e) < 0)
			rc = cli_fail(&e);
		if (c->ctx->json) {
			ms_json_end_array(&l.j);
			ms_json_finish(&l.j);
		}
	}
	if (l.have_re)
		regfree(&l.re);
	ms_vec_free(&o->domains);
	ms_vec_free(&o->accounts);
	return rc;
}

/* ---- create, delete, rename, subscribe -------------------------------------------- */

struct write_opts {
	bool dry_run, purge;
};

static bool write_option(void *data, int opt, const char *arg)
{
	struct write_opts *o = data;
	(void)arg;
	if (opt == 'n')
		o->dry_run = true;
	else if (opt == O_PURGE)
		o->purge = true;
	else
		return false;
	return true;
}

static bool write_dry_run(const void *opts)
{
	return ((const struct write_opts *)opts)->dry_run;
}

static const struct option write_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "dry-run", no_argument, 0, 'n' },
	{ 0, 0, 0, 0 },
};

static const struct option delete_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "dry-run", no_argument, 0, 'n' },
	{ "purge", no_argument, 0, O_PURGE },
	{ 0, 0, 0, 0 },
};

/* The lock of the folder a new one goes below (its nearest existing
 * ancestor), so a create is kept out of a locked tree too. */
static int lock_parent(cli_call *c, const ms_mailbox *mb, lockset *l)
{
	ms_err e = { 0 };
	int64_t id;
	int rc = ms_mailbox_existing_parent(c->s->db, mb, &id, &e);
	if (rc < 0)
		return cli_fail(&e);
	if (rc > 0 && locks_take(c->s->data_dir, &id, 1, 0, l, &e) < 0)
		return refused(mb, &e);
	return 0;
}

static int folder_create(cli_call *c)
{
	const struct write_opts *o = c->opts;
	ms_mailbox mb;
	lockset l = { 0 };
	char name[1400];
	int rc = prologue(c, o->dry_run, &mb, name, sizeof name);
	if (rc)
		return rc;
	ms_err e = { 0 };
	if (ms_mailbox_create_check(c->s->db, &mb, &e) < 0) /* what create checks, for -n too */
		return cli_fail(&e);
	if (!o->dry_run && c->s->data_dir && (rc = lock_parent(c, &mb, &l)) != 0)
		return rc;
	if (!o->dry_run && ms_mailbox_create(c->s->db, &mb, &e) < 0)
		rc = cli_fail(&e);
	locks_release(&l);
	if (rc)
		return rc;
	say(c, o->dry_run, "create", name, NULL);
	if (c->ctx->json)
		json_result("create", name, NULL, o->dry_run, NULL);
	return EXIT_OK;
}

static int folder_delete(cli_call *c)
{
	const struct write_opts *o = c->opts;
	ms_mailbox mb;
	lockset l = { 0 };
	char name[1400];
	int rc = prologue(c, o->dry_run, &mb, name, sizeof name);
	if (rc)
		return rc;
	if (!o->dry_run && (rc = need_data(c)) != 0)
		return EXIT_USAGE;
	if (!o->dry_run && mb.folder_id && (rc = lock_mailbox(c, &mb, 0, &l)) != 0)
		return rc;
	ms_err e = { 0 };
	ms_mailbox_deletion d;
	if (ms_mailbox_delete(c->s->db, c->s->data_dir, &mb, o->purge, o->dry_run, &d, &e) < 0)
		rc = cli_fail(&e);
	locks_release(&l);
	if (rc)
		return rc;
	if (c->ctx->json) {
		json_result("delete", name, NULL, o->dry_run, &d);
	} else {
		say(c, o->dry_run, "delete", name, NULL);
		printf("%zu folders, %zu messages, %llu bytes", d.folders, d.messages, (unsigned long long)d.bytes);
		if (!o->dry_run)
			printf("; %zu files %s, %zu not found", d.files_moved, o->purge ? "removed" : "moved to the trash",
			       d.files_missing);
		printf("\n");
	}
	return EXIT_OK;
}

static bool names_inbox(const ms_mailbox *mb)
{
	return mb->account_id && strcasecmp(mb->path, "INBOX") == 0;
}

static int account_move(cli_call *c, const ms_mailbox *from, const char *to_addr, const char *a, const char *b)
{
	const struct write_opts *o = c->opts;
	ms_err e = { 0 };
	ms_acctmove m;
	lockset l = { 0 };
	int rc = 0;
	if (ms_acctmove_plan(c->s, from->address, to_addr, &m, &e) < 0)
		return cli_fail(&e);
	ms_mailbox whole = *from; /* every folder of the account */
	whole.path[0] = '\0';
	whole.folder_id = 0;
	if (!o->dry_run && (rc = lock_mailbox(c, &whole, 0, &l)) != 0)
		return rc;
	if (!o->dry_run && ms_acctmove_run(c->s, &m, &e) < 0)
		rc = cli_fail(&e);
	locks_release(&l);
	if (rc)
		return rc;
	say(c, o->dry_run, "move account", a, b);
	if (c->ctx->json)
		json_result("move-account", a, b, o->dry_run, NULL);
	else {
		printf("%s", o->dry_run ? "would move " : "");
		ms_escape_put(stdout, m.from_dir);
		printf("/ -> ");
		ms_escape_put(stdout, m.to_dir);
		printf("/\n");
	}
	return EXIT_OK;
}

/* "user/ADDRESS/INBOX" -> ADDRESS, when the name has that form. */
static bool inbox_address(const char *name, char *addr, size_t len)
{
	if (strncmp(name, "user/", 5) != 0)
		return false;
	const char *slash = strchr(name + 5, '/');
	if (!slash || strcasecmp(slash + 1, "INBOX") != 0)
		return false;
	snprintf(addr, len, "%.*s", (int)(slash - name - 5), name + 5);
	return true;
}

static int folder_rename(cli_call *c)
{
	const struct write_opts *o = c->opts;
	char completed[256] = "";
	int rc;
	if (!o->dry_run && (rc = recover(c, completed, sizeof completed)) != 0)
		return rc;
	char to_addr[256], from_addr[256];
	bool move = inbox_address(c->argv[0], from_addr, sizeof from_addr) &&
	            inbox_address(c->argv[1], to_addr, sizeof to_addr) && strcasecmp(from_addr, to_addr) != 0;
	if (move && completed[0] && strcasecmp(completed, to_addr) == 0) {
		say(c, false, "moved account", c->argv[0], c->argv[1]); /* the rerun of a killed move */
		if (c->ctx->json)
			json_result("move-account", c->argv[0], c->argv[1], false, NULL);
		return EXIT_OK;
	}
	ms_mailbox from, to;
	if ((rc = resolve(c, c->argv[0], &from)) != 0)
		return rc;
	char a[1400], b[1400];
	ms_mailbox_name(&from, a, sizeof a);
	if (move && names_inbox(&from)) {
		snprintf(b, sizeof b, "user/%s/INBOX", to_addr);
		if (!o->dry_run && (rc = need_data(c)) != 0)
			return EXIT_USAGE;
		return account_move(c, &from, to_addr, a, b);
	}
	ms_err e = { 0 };
	if (ms_mailbox_resolve(c->s->db, c->argv[1], &to, &e) < 0) {
		if (e.code == MS_E_NOTFOUND && inbox_address(c->argv[1], to_addr, sizeof to_addr))
			ms_err_prefix(&e, "only user/A/INBOX user/B/INBOX moves an account");
		return cli_fail(&e);
	}
	ms_mailbox_name(&to, b, sizeof b);
	lockset l = { 0 };
	if (o->dry_run) {
		if (ms_mailbox_rename_check(c->s->db, &from, &to, &e) < 0) /* the checks rename makes */
			return cli_fail(&e);
	} else {
		/* the folder's tree, and the folder it goes below (its nearest
		 * existing ancestor): moving it into a locked tree is a create
		 * there, kept out as folder_create keeps one out */
		int64_t parent = 0;
		int found = c->s->data_dir && from.folder_id ? ms_mailbox_existing_parent(c->s->db, &to, &parent, &e) : 0;
		if (found < 0)
			return cli_fail(&e);
		if (c->s->data_dir && from.folder_id && (rc = lock_mailbox_and(c, &from, found ? parent : 0, 0, &l)) != 0)
			return rc;
		if (ms_mailbox_rename(c->s->db, &from, &to, &e) < 0)
			rc = cli_fail(&e);
		locks_release(&l);
		if (rc)
			return rc;
	}
	say(c, o->dry_run, "rename", a, b);
	if (c->ctx->json)
		json_result("rename", a, b, o->dry_run, NULL);
	return EXIT_OK;
}

static int subscribe(cli_call *c, bool on)
{
	const struct write_opts *o = c->opts;
	ms_mailbox mb;
	lockset l = { 0 };
	char name[1400];
	int rc = prologue(c, o->dry_run, &mb, name, sizeof name);
	if (rc)
		return rc;
	ms_err e = { 0 };
	if (!mb.folder_id)
		return cli_fail((ms_err_set(&e, MS_E_NOTFOUND, "mailbox '%s' does not exist", name), &e));
	if (!o->dry_run && c->s->data_dir && (rc = locks_take(c->s->data_dir, &mb.folder_id, 1, 0, &l, &e)) < 0)
		return refused(&mb, &e);
	if (!o->dry_run && ms_mailbox_subscribe(c->s->db, &mb, on, &e) < 0)
		rc = cli_fail(&e);
	locks_release(&l);
	if (rc)
		return rc;
	say(c, o->dry_run, on ? "subscribe" : "unsubscribe", name, NULL);
	if (c->ctx->json)
		json_result(on ? "subscribe" : "unsubscribe", name, NULL, o->dry_run, NULL);
	return EXIT_OK;
}

static int folder_subscribe(cli_call *c) { return subscribe(c, true); }
static int folder_unsubscribe(cli_call *c) { return subscribe(c, false); }

/* ---- lock --------------------------------------------------------------------------- */

static void cannot(const char *cmd, const char *what, int err)
{
	fprintf(stderr, "mstore folder lock: cannot %s ", what);
	ms_escape_put(stderr, cmd);
	fprintf(stderr, ": %s\n", strerror(err));
}

static int run_child(char **argv, const lockset *l)
{
	/* the keys of the locks held, for an mstore the command runs */
	size_t len = 1;
	for (size_t i = 0; i < l->n; i++)
		len += strlen(ms_mbox_lock_key(l->v[i])) + 1;
	const char *old = getenv(MS_MBOXLOCK_ENV);
	len += old ? strlen(old) + 1 : 0;
	char *env = calloc(1, len);
	if (!env)
		return EXIT_PARTIAL;
	if (old)
		strcat(strcat(env, old), " ");
	for (size_t i = 0; i < l->n; i++)
		strcat(strcat(env, ms_mbox_lock_key(l->v[i])), i + 1 < l->n ? " " : "");
	setenv(MS_MBOXLOCK_ENV, env, 1);
	free(env);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		cannot(argv[0], "start", errno);
		return EXIT_PARTIAL;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		cannot(argv[0], "run", errno);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EXIT_PARTIAL;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int folder_lock(cli_call *c)
{
	ms_mailbox mb;
	lockset l = { 0 };
	int rc;
	if ((rc = need_data(c)) != 0)
		return EXIT_USAGE;
	if ((rc = resolve(c, c->argv[0], &mb)) != 0)
		return rc;
	char name[1400];
	ms_mailbox_name(&mb, name, sizeof name);
	if (mb.path[0] && !mb.folder_id) {
		ms_err e = { 0 };
		return cli_fail((ms_err_set(&e, MS_E_NOTFOUND, "mailbox '%s' does not exist", name), &e));
	}
	/* waits for other holders: locking is what the caller asked for */
	if ((rc = lock_mailbox(c, &mb, -1, &l)) != 0)
		return rc;
	/* then the row locks once: a writer in the middle of a transaction on
	 * these folders has finished before CMD starts (mboxlock.h) */
	ms_err e = { 0 };
	int64_t *ids;
	size_t n;
	if (ms_mailbox_covered(c->s->db, &mb, &ids, &n, &e) < 0) {
		locks_release(&l);
		return cli_fail(&e);
	}
	rc = ms_mailbox_barrier(c->s->db, ids, n, &e);
	free(ids);
	if (rc < 0) {
		locks_release(&l);
		return cli_fail(&e);
	}
	/* the database is not needed while the command runs */
	rc = run_child(c->argv + 1, &l);
	locks_release(&l);
	return rc;
}

int cmd_folder(int argc, char **argv)
{
	static const cli_verb verbs[] = {
		{ .verb = "list", .open = CLI_OPEN_READ, .max_args = 0, .operands = "no arguments expected",
		  .run = folder_list, .shortopts = "hp:x", .longopts = list_longopts, .option = list_option,
		  .opts_size = sizeof(struct list_opts) },
		{ .verb = "create", .open = CLI_OPEN_WRITE_UNLESS_DRY_RUN, .min_args = 1, .max_args = 1,
		  .operands = "expected one MAILBOX", .run = folder_create, .shortopts = "hn", .longopts = write_longopts,
		  .option = write_option, .opts_size = sizeof(struct write_opts), .dry_run = write_dry_run },
		{ .verb = "delete", .open = CLI_OPEN_WRITE_UNLESS_DRY_RUN, .min_args = 1, .max_args = 1,
		  .operands = "expected one MAILBOX", .run = folder_delete, .shortopts = "hn", .longopts = delete_longopts,
		  .option = write_option, .opts_size = sizeof(struct write_opts), .dry_run = write_dry_run },
		{ .verb = "rename", .open = CLI_OPEN_WRITE_UNLESS_DRY_RUN, .min_args = 2, .max_args = 2,
		  .operands = "expected OLD and NEW", .run = folder_rename, .shortopts = "hn", .longopts = write_longopts,
		  .option = write_option, .opts_size = sizeof(struct write_opts), .dry_run = write_dry_run },
		{ .verb = "subscribe", .open = CLI_OPEN_WRITE_UNLESS_DRY_RUN, .min_args = 1, .max_args = 1,
		  .operands = "expected one MAILBOX", .run = folder_subscribe, .shortopts = "hn", .longopts = write_longopts,
		  .option = write_option, .opts_size = sizeof(struct write_opts), .dry_run = write_dry_run },
		{ .verb = "unsubscribe", .open = CLI_OPEN_WRITE_UNLESS_DRY_RUN, .min_args = 1, .max_args = 1,
		  .operands = "expected one MAILBOX", .run = folder_unsubscribe, .shortopts = "hn",
		  .longopts = write_longopts, .option = write_option, .opts_size = sizeof(struct write_opts),
		  .dry_run = write_dry_run },
		{ .verb = "lock", .open = CLI_OPEN_WRITE, .min_args = 2, .max_args = -1,
		  .operands = "expected MAILBOX -- COMMAND [ARG...]", .run = folder_lock, .shortopts = "h" },
		{ 0 },
	};
	return cli_dispatch("folder", verbs, argc, argv);
}
