/* mstore acl list|set|delete, mstore readership: public folders' rights
 * (hm_acl; the format's rules and the letter mapping are in store/acl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "db/txn.h"
#include "store/acl.h"
#include "util/escape.h"
#include "util/json.h"

const char help_acl[] =
	"usage: mstore acl list [#Public/FOLDER] [--json]\n"
	"       mstore acl set #Public/FOLDER ADDRESS|GROUP|anyone RIGHTS [-n] [--json]\n"
	"       mstore acl delete #Public/FOLDER ADDRESS|GROUP|anyone [-n] [--json]\n\n"
	"The rights of shared (public) folders, hMailServer's hm_acl, in IMAP ACL\n"
	"letters (RFC 4314).  Each hm_acl row gives one account, one group\n"
	"(hm_groups) or anyone a set of rights on one public folder; aclvalue's\n"
	"bits are, as hMailServer's IMAP server reads and prints them:\n\n"
	"  l lookup 1       r read 2         s write \\Seen 4    w write flags 8\n"
	"  i insert 16      p post 32        k create 64        x delete folder 128\n"
	"  t write \\Deleted 256               e expunge 512      a administer 1024\n\n"
	"list    every row (of one folder when named): folder, who, letters, value.\n"
	"set     RIGHTS replaces the row's rights; +RIGHTS adds to them, -RIGHTS takes\n"
	"        away (as IMAP SETACL).  A row that ends with no right is kept with\n"
	"        value 0 (IMAP SETACL does the same); use delete to remove it.  The\n"
	"        obsolete RFC 2086 letters c (= k x) and d (= x t e) are accepted.\n"
	"delete  remove the row of ADDRESS, GROUP or anyone from the folder.\n\n"
	"An identifier with '@' is an account's address, 'anyone' is anyone, any\n"
	"other word a group's name (in any case; a group spelt exactly so first).  A\n"
	"folder without rows inherits those of its nearest ancestor with rows (see\n"
	"'mstore help readership').\n\n"
	"Errors (exit 2, nothing changed): a folder that is not an existing\n"
	"#Public folder, an unknown account or group, a letter that is no right.\n";

const char help_readership[] =
	"usage: mstore readership [--json]\n\n"
	"Which accounts have which rights on which shared (public) folders: one\n"
	"line per folder and account with any right, '#Public/FOLDER<TAB>ADDRESS<TAB>\n"
	"RIGHTS', decided as hMailServer's IMAP server decides: a folder without\n"
	"hm_acl rows takes those of its nearest ancestor with rows; of those, the\n"
	"account's own row wins, else the first group row (lowest id) of a group\n"
	"the account belongs to, else the row for anyone.  Read-only.\n";

enum { O_DRY = OPT_FIRST_COMMAND_OPTION };

static const struct option write_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "dry-run", no_argument, 0, 'n' },
	{ 0, 0, 0, 0 },
};

static bool write_option(void *opts, int opt, const char *arg)
{
	(void)arg;
	if (opt != 'n')
		return false;
	*(bool *)opts = true;
	return true;
}

static bool write_dry(const void *opts)
{
	return *(const bool *)opts;
}

/* "#Public/A/B" -> the folder's id; an error naming it otherwise. */
static int public_folder(db *d, const char *mailbox, int64_t *folder, ms_err *e)
{
	static const char prefix[] = "#Public/";
	if (strncmp(mailbox, prefix, sizeof prefix - 1) != 0 || !mailbox[sizeof prefix - 1]) {
		char esc[512];
		ms_escape(esc, sizeof esc, mailbox);
		return ms_err_set(e, MS_E_USAGE, "'%s' is not a shared folder: rights are set on #Public/FOLDER", esc);
	}
	int rc = ms_public_folder_find(d, mailbox + sizeof prefix - 1, folder, e);
	if (rc == 0) {
		char esc[512];
		ms_escape(esc, sizeof esc, mailbox);
		return ms_err_set(e, MS_E_NOTFOUND, "no public folder %s", esc);
	}
	return rc < 0 ? -1 : 0;
}

static void print_rows(const cli_ctx *ctx, const ms_acl_row *r, size_t n)
{
	if (ctx->json) {
		ms_json j;
		ms_json_init(&j, stdout);
		ms_json_begin_array(&j);
		for (size_t k = 0; k < n; k++) {
			char l[MS_ACL_LETTERS], folder[1100];
			ms_acl_letters(r[k].bits, l);
			snprintf(folder, sizeof folder, "#Public/%s", r[k].folder);
			ms_json_begin_object(&j);
			ms_json_kv_string(&j, "folder", folder);
			ms_json_kv_string(&j, "type",
			                  r[k].type == MS_ACL_ACCOUNT ? "account" : r[k].type == MS_ACL_GROUP ? "group" : "anyone");
			ms_json_kv_string(&j, "who", r[k].who);
			ms_json_kv_string(&j, "rights", l);
			ms_json_kv_int(&j, "value", r[k].bits);
			ms_json_end_object(&j);
		}
		ms_json_end_array(&j);
		ms_json_finish(&j);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		char l[MS_ACL_LETTERS], folder[1024], who[1024];
		ms_acl_letters(r[k].bits, l);
		ms_escape(folder, sizeof folder, r[k].folder);
		ms_escape(who, sizeof who, r[k].who);
		printf("#Public/%s\t%s\t%s\t%lld\n", folder, who, l[0] ? l : "-", (long long)r[k].bits);
	}
}

static int acl_list(cli_call *c)
{
	ms_err e = { 0 };
	int64_t folder = 0;
	ms_acl_row *rows = NULL;
	size_t n = 0;
	if ((c->argc == 1 && public_folder(c->s->db, c->argv[0], &folder, &e) < 0) ||
	    ms_acl_list(c->s->db, folder, &rows, &n, &e) < 0)
		return cli_fail(&e);
	print_rows(c->ctx, rows, n);
	free(rows);
	return EXIT_OK;
}

/* The change set/delete makes, decided and (unless -n) written in one
 * transaction, so two administrators' +/- edits cannot lose one another. */
static int acl_change(cli_call *c, bool del)
{
	bool dry = *(bool *)c->opts;
	ms_err e = { 0 };
	int64_t folder, who_id, add = 0, old = 0, now = 0, changed = 0;
	int type;
	char mode = '=';
	db_txn *t = NULL;
	if ((!del && ms_acl_parse(c->argv[2], &add, &mode, &e) < 0) ||
	    public_folder(c->s->db, c->argv[0], &folder, &e) < 0 || ms_acl_who(c->s->db, c->argv[1], &type, &who_id, &e) < 0)
		return cli_fail(&e);
	if (!dry && db_txn_begin(c->s->db, &t, &e) < 0)
		return cli_fail(&e);
	db *d = t ? db_txn_db(t) : c->s->db;
	int had = ms_acl_get(d, folder, type, who_id, &old, &e);
	if (had < 0)
		goto fail;
	now = mode == '+' ? (old | add) : mode == '-' ? (old & ~add) : add;
	if (!dry && (del ? ms_acl_delete(d, folder, type, who_id, &changed, &e) : ms_acl_put(d, folder, type, who_id, now, &e)) < 0)
		goto fail;
	if (t && db_txn_commit(&t, &e) < 0)
		return cli_fail(&e);
	char was[MS_ACL_LETTERS], is[MS_ACL_LETTERS], folder_esc[1024], who_esc[1024];
	ms_acl_letters(had ? old : 0, was);
	ms_acl_letters(del ? 0 : now, is);
	ms_escape(folder_esc, sizeof folder_esc, c->argv[0]);
	ms_escape(who_esc, sizeof who_esc, c->argv[1]);
	if (del && !had) {
		fprintf(stderr, "mstore acl delete: %s has no row for %s\n", folder_esc, who_esc);
		return EXIT_PARTIAL;
	}
	if (c->ctx->json) {
		ms_json j;
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_kv_string(&j, "folder", c->argv[0]);
		ms_json_kv_string(&j, "who", c->argv[1]);
		ms_json_kv_string(&j, "before", had ? was : NULL);
		ms_json_kv_string(&j, "after", del ? NULL : is);
		ms_json_kv_int(&j, "value", del ? 0 : now);
		ms_json_kv_bool(&j, "dry_run", dry);
		ms_json_end_object(&j);
		ms_json_finish(&j);
	} else {
		printf("%s%s %s: %s -> %s\n", dry ? "would change " : "", folder_esc, who_esc,
		       had ? (was[0] ? was : "(none)") : "(no row)", del ? "(no row)" : (is[0] ? is : "(none)"));
	}
	return EXIT_OK;
fail:
	db_txn_rollback(&t);
	return cli_fail(&e);
}

static int acl_set(cli_call *c)
{
	return acl_change(c, false);
}

static int acl_delete(cli_call *c)
{
	return acl_change(c, true);
}

int cmd_acl(int argc, char **argv)
{
	static const cli_verb verbs[] = {
		{ .verb = "list", .open = CLI_OPEN_READ, .max_args = 1, .operands = "expected at most one #Public/FOLDER",
		  .run = acl_list },
		{ .verb = "set", .open = CLI_OPEN_WRITE_UNLESS_DRY_RUN, .min_args = 3, .max_args = 3,
		  .operands = "expected #Public/FOLDER, ADDRESS|GROUP|anyone and RIGHTS", .run = acl_set,
		  .shortopts = "n", .longopts = write_longopts, .option = write_option, .opts_size = sizeof(bool),
		  .dry_run = write_dry },
		{ .verb = "delete", .open = CLI_OPEN_WRITE_UNLESS_DRY_RUN, .min_args = 2, .max_args = 2,
		  .operands = "expected #Public/FOLDER and ADDRESS|GROUP|anyone", .run = acl_delete, .shortopts = "n",
		  .longopts = write_longopts, .option = write_option, .opts_size = sizeof(bool), .dry_run = write_dry },
		{ 0 },
	};
	/* "acl set F WHO -te": RIGHTS may start with '-', which getopt would
	 * take for options; such a word goes last, after "--" (RIGHTS is the
	 * last operand, so the order of the operands is kept) */
	char **args = calloc((size_t)argc + 2, sizeof *args);
	if (!args)
		return cli_dispatch("acl", verbs, argc, argv);
	int n = 0, rights = -1;
	bool dashdash = false;
	for (int k = 0; k < argc; k++) {
		dashdash |= strcmp(argv[k], "--") == 0;
		if (k >= 2 && argv[k][0] == '-' && argv[k][1] && strspn(argv[k] + 1, "lrswipkxteacd") == strlen(argv[k] + 1) &&
		    rights < 0 && argc >= 2 && strcmp(argv[1], "set") == 0)
			rights = k;
		else
			args[n++] = argv[k];
	}
	if (rights >= 0 && !dashdash) {
		args[n++] = (char *)"--";
		args[n++] = argv[rights];
	} else {
		memcpy(args, argv, (size_t)argc * sizeof *args);
		n = argc;
	}
	int rc = cli_dispatch("acl", verbs, n, args);
	free(args);
	return rc;
}

struct read_out {
	bool json;
	ms_json *j;
};

static int readership_row(void *ctx, const char *folder, const char *address, int64_t bits)
{
	struct read_out *o = ctx;
	char l[MS_ACL_LETTERS];
	ms_acl_letters(bits, l);
	if (o->json) {
		char path[1100];
		snprintf(path, sizeof path, "#Public/%s", folder);
		ms_json_begin_object(o->j);
		ms_json_kv_string(o->j, "folder", path);
		ms_json_kv_string(o->j, "account", address);
		ms_json_kv_string(o->j, "rights", l);
		ms_json_end_object(o->j);
	} else {
		char f[1024], a[1024];
		ms_escape(f, sizeof f, folder);
		ms_escape(a, sizeof a, address);
		printf("#Public/%s\t%s\t%s\n", f, a, l);
	}
	return 0;
}

static int readership_run(cli_call *c)
{
	ms_err e = { 0 };
	ms_json j;
	struct read_out o = { .json = c->ctx->json, .j = &j };
	if (o.json) {
		ms_json_init(&j, stdout);
		ms_json_begin_array(&j);
	}
	int rc = ms_acl_readership(c->s->db, readership_row, &o, &e);
	if (o.json) {
		ms_json_end_array(&j);
		ms_json_finish(&j);
	}
	return rc < 0 ? cli_fail(&e) : EXIT_OK;
}

int cmd_readership(int argc, char **argv)
{
	cli_ctx ctx = { .cmd = "readership" };
	int i = cli_parse_simple(&ctx, argc, argv, NULL);
	if (i != argc)
		return cli_usage(&ctx, "no arguments expected");
	ms_store *s;
	int rc = cli_open_store(&ctx, DB_OPEN_READ_ONLY, &s);
	if (rc != EXIT_OK)
		return rc;
	cli_call c = { .ctx = &ctx, .s = s };
	rc = readership_run(&c);
	ms_store_close(s);
	return rc;
}
