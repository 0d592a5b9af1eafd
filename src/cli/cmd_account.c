/* mstore account add|list|delete, mstore alias add|list */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/objects.h"
#include "util/json.h"

const char help_account[] =
	"usage: mstore account add ADDRESS [--inactive] [--max-size MB]\n"
	"       mstore account list [--domain DOMAIN] [--json]\n"
	"       mstore account delete ADDRESS [-n] [--force]\n\n"
	"add    create the account local@domain in an existing domain, with its INBOX\n"
	"       folder (one transaction: an account never exists without INBOX).\n"
	"       The account has no password: set one in hMailServer's administrator.\n"
	"       --max-size limits the mailbox (accountmaxsize, MB; 0 = unlimited).\n"
	"list   show accounts with state, size limit and INBOX folder id.\n"
	"delete remove the account from the database, in one transaction, with every\n"
	"       row that is its: delivered messages (and their recipient and metadata\n"
	"       rows), folders, ACL and group entries, external accounts, rules.\n"
	"       Message files are never touched: when the account's folder\n"
	"       DATA/<domain>/<user>/ exists and is not empty, delete refuses unless\n"
	"       --force (the files would stay behind, orphaned; move them first).\n"
	"       -n / --dry-run counts what would go and changes nothing.\n\n"
	"Errors (exit code 2): an address without '@' or with a bad domain part, with\n"
	"a control character or bytes that are not UTF-8, a domain that does not\n"
	"exist, an address already used by an account, alias or distribution list.\n"
	"An account move a killed `mstore folder rename` left pending\n"
	"(DATA/.mstore/acctmove-*.move) is completed before an account, alias or list\n"
	"is added (with --data), so its new address counts as used.\n";

const char help_alias[] =
	"usage: mstore alias add ADDRESS TARGET [--inactive]\n"
	"       mstore alias list [--domain DOMAIN] [--json]\n\n"
	"add    mail to ADDRESS (in an existing local domain) is delivered to TARGET,\n"
	"       which may be local or external.\n"
	"list   show aliases and their targets.\n";

enum { O_INACTIVE = OPT_FIRST_COMMAND_OPTION, O_MAXSIZE, O_FORCE };

struct account_opts {
	ms_account_opts o;
	const char *bad;
};

static bool account_option(void *data, int opt, const char *arg)
{
	struct account_opts *a = data;
	long long v;
	switch (opt) {
	case O_INACTIVE: a->o.inactive = true; return true;
	case O_MAXSIZE:
		if (!cli_parse_count(arg, &v))
			a->bad = arg;
		else
			a->o.max_size_mb = v;
		return true;
	}
	return false;
}

static bool account_check(const void *opts, char *buf, size_t len)
{
	return cli_check_size(((const struct account_opts *)opts)->bad, buf, len);
}

static const struct option add_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "inactive", no_argument, 0, O_INACTIVE },
	{ "max-size", required_argument, 0, O_MAXSIZE },
	{ 0, 0, 0, 0 },
};

static int account_add(cli_call *c)
{
	const struct account_opts *a = c->opts;
	ms_err e = { 0 };
	int64_t id;
	if (ms_account_add(c->s, c->argv[0], &a->o, &id, &e) < 0)
		return cli_fail(&e);
	if (c->ctx->json)
		printf("{\"accountid\":%lld}\n", (long long)id);
	else
		printf("added account %s (id %lld) with INBOX\n", c->argv[0], (long long)id);
	return EXIT_OK;
}

static void print_accounts(const cli_ctx *ctx, const ms_account *a, size_t n)
{
	if (!ctx->json) {
		printf("%-40s %-8s %8s %8s\n", "ACCOUNT", "STATE", "MAX MB", "INBOX");
		for (size_t k = 0; k < n; k++)
			printf("%-40s %-8s %8lld %8lld\n", a[k].address, a[k].active ? "active" : "inactive",
			       (long long)a[k].max_size_mb, (long long)a[k].inbox_id);
		return;
	}
	ms_json j;
	ms_json_init(&j, stdout);
	ms_json_begin_array(&j);
	for (size_t k = 0; k < n; k++) {
		ms_json_begin_object(&j);
		ms_json_kv_int(&j, "id", a[k].id);
		ms_json_kv_string(&j, "address", a[k].address);
		ms_json_kv_bool(&j, "active", a[k].active);
		ms_json_kv_int(&j, "max_size_mb", a[k].max_size_mb);
		ms_json_kv_int(&j, "inbox_folder_id", a[k].inbox_id);
		ms_json_end_object(&j);
	}
	ms_json_end_array(&j);
	ms_json_finish(&j);
}

static int account_list(cli_call *c)
{
	const char *domain = *(const char **)c->opts;
	ms_err e = { 0 };
	ms_account *a;
	size_t n;
	if (ms_account_list(c->s, domain, &a, &n, &e) < 0)
		return cli_fail(&e);
	print_accounts(c->ctx, a, n);
	free(a);
	return EXIT_OK;
}

struct delete_opts {
	bool dry_run, force;
};

static bool delete_option(void *data, int opt, const char *arg)
{
	struct delete_opts *d = data;
	(void)arg;
	if (opt == 'n')
		d->dry_run = true;
	else if (opt == O_FORCE)
		d->force = true;
	else
		return false;
	return true;
}

/* Does the account's folder on disk hold anything? */
static bool has_files_on_disk(const ms_store *s, const char *address, char *dir, size_t len)
{
	const char *at = strrchr(address, '@');
	if (!s->data_dir || !at)
		return false;
	snprintf(dir, len, "%s/%s/%.*s", s->data_dir, at + 1, (int)(at - address), address);
	for (char *p = dir + strlen(s->data_dir); *p; p++)
		*p = (char)tolower((unsigned char)*p);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *ent;
	bool any = false;
	while (!any && (ent = readdir(d)) != NULL)
		any = strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0;
	closedir(d);
	return any;
}

static const struct option delete_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "dry-run", no_argument, 0, 'n' },
	{ "force", no_argument, 0, O_FORCE },
	{ 0, 0, 0, 0 },
};

static bool delete_dry_run(const void *opts)
{
	return ((const struct delete_opts *)opts)->dry_run;
}

static int account_delete(cli_call *c)
{
	const struct delete_opts d = *(const struct delete_opts *)c->opts;
	char **argv = c->argv;
	const int i = 0;
	char dir[4096], address[256];
	/* a Unicode domain is stored in its ACE form: the directory too */
	ms_address_lookup_form(argv[i], address);
	if (has_files_on_disk(c->s, address, dir, sizeof dir) && !d.force && !d.dry_run) {
		fprintf(stderr, "mstore account delete: %s is not empty: its files would stay behind without an account;"
		        " move them away first, or use --force\n", dir);
		return EXIT_USAGE;
	}
	ms_err e = { 0 };
	ms_account_deletion r;
	if (ms_account_delete(c->s, argv[i], d.dry_run, &r, &e) < 0)
		return cli_fail(&e);
	if (c->ctx->json)
		printf("{\"accountid\":%lld,\"messages\":%lld,\"folders\":%lld,\"dry_run\":%s}\n", (long long)r.id,
		       (long long)r.messages, (long long)r.folders, d.dry_run ? "true" : "false");
	else
		printf("%s account %s (id %lld): %lld messages, %lld folders\n", d.dry_run ? "would delete" : "deleted",
		       argv[i], (long long)r.id, (long long)r.messages, (long long)r.folders);
	return EXIT_OK;
}

int cmd_account(int argc, char **argv)
{
	static const cli_verb verbs[] = {
		{ .verb = "add", .open = CLI_OPEN_WRITE, .min_args = 1, .max_args = 1, .operands = "expected one address",
		  .run = account_add, .longopts = add_longopts, .option = account_option,
		  .opts_size = sizeof(struct account_opts), .check = account_check },
		{ .verb = "list", .open = CLI_OPEN_READ, .max_args = 0, .operands = "no arguments expected",
		  .run = account_list, .longopts = cli_domain_longopts, .option = cli_domain_option,
		  .opts_size = sizeof(const char *) },
		{ .verb = "delete", .open = CLI_OPEN_WRITE_UNLESS_DRY_RUN, .min_args = 1, .max_args = 1,
		  .operands = "expected one ADDRESS", .run = account_delete, .shortopts = "hn", .longopts = delete_longopts,
		  .option = delete_option, .opts_size = sizeof(struct delete_opts), .dry_run = delete_dry_run },
		{ 0 },
	};
	return cli_dispatch("account", verbs, argc, argv);
}

static const struct option alias_longopts[] = {
	CLI_COMMON_LONGOPTS, { "inactive", no_argument, 0, O_INACTIVE }, { 0, 0, 0, 0 },
};

static int alias_add(cli_call *c)
{
	bool inactive = *(const bool *)c->opts;
	ms_err e = { 0 };
	if (ms_alias_add(c->s, c->argv[0], c->argv[1], inactive, &e) < 0)
		return cli_fail(&e);
	if (!c->ctx->json)
		printf("added alias %s -> %s\n", c->argv[0], c->argv[1]);
	return EXIT_OK;
}

static void print_aliases(const cli_ctx *ctx, const ms_alias *a, size_t n)
{
	if (!ctx->json) {
		printf("%-40s %-8s %s\n", "ALIAS", "STATE", "TARGET");
		for (size_t k = 0; k < n; k++)
			printf("%-40s %-8s %s\n", a[k].name, a[k].active ? "active" : "inactive", a[k].value);
		return;
	}
	ms_json j;
	ms_json_init(&j, stdout);
	ms_json_begin_array(&j);
	for (size_t k = 0; k < n; k++) {
		ms_json_begin_object(&j);
		ms_json_kv_int(&j, "id", a[k].id);
		ms_json_kv_string(&j, "address", a[k].name);
		ms_json_kv_string(&j, "target", a[k].value);
		ms_json_kv_bool(&j, "active", a[k].active);
		ms_json_end_object(&j);
	}
	ms_json_end_array(&j);
	ms_json_finish(&j);
}

static int alias_list(cli_call *c)
{
	const char *domain = *(const char **)c->opts;
	ms_err e = { 0 };
	ms_alias *a;
	size_t n;
	if (ms_alias_list(c->s, domain, &a, &n, &e) < 0)
		return cli_fail(&e);
	print_aliases(c->ctx, a, n);
	free(a);
	return EXIT_OK;
}

int cmd_alias(int argc, char **argv)
{
	static const cli_verb verbs[] = {
		{ .verb = "add", .open = CLI_OPEN_WRITE, .min_args = 2, .max_args = 2, .operands = "expected ADDRESS and TARGET",
		  .run = alias_add, .longopts = alias_longopts, .option = cli_flag_option, .opts_size = sizeof(bool) },
		{ .verb = "list", .open = CLI_OPEN_READ, .max_args = 0, .operands = "no arguments expected",
		  .run = alias_list, .longopts = cli_domain_longopts, .option = cli_domain_option,
		  .opts_size = sizeof(const char *) },
		{ 0 },
	};
	return cli_dispatch("alias", verbs, argc, argv);
}
