/* mstore domain add|list|alias */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/objects.h"
#include "util/json.h"

const char help_domain[] =
	"usage: mstore domain add NAME [--inactive] [--catch-all ADDRESS] [--max-size MB]\n"
	"                         [--max-account-size MB] [--plus-addressing CHAR]\n"
	"       mstore domain alias DOMAIN ALIAS\n"
	"       mstore domain list [--json]\n\n"
	"add    create a local domain (stored in lower case).  --catch-all names the\n"
	"       address that receives mail for unknown local parts (domainpostmaster);\n"
	"       --plus-addressing enables user+tag@domain with the given character.\n"
	"alias  make ALIAS another name for DOMAIN (hm_domain_aliases): mail to\n"
	"       x@ALIAS is delivered as x@DOMAIN.\n"
	"list   show every domain with its state, account count, catch-all and aliases.\n\n"
	"Errors: a name that is not a domain name, a domain or alias that already\n"
	"exists, or an unknown DOMAIN exit with code 2.\n";

enum { O_INACTIVE = OPT_FIRST_COMMAND_OPTION, O_CATCHALL, O_MAXSIZE, O_MAXACCT, O_PLUS };

struct add_opts {
	ms_domain_opts o;
	const char *bad;
};

static bool add_option(void *data, int opt, const char *arg)
{
	struct add_opts *a = data;
	long long v;
	switch (opt) {
	case O_INACTIVE: a->o.inactive = true; return true;
	case O_CATCHALL: a->o.postmaster = arg; return true;
	case O_PLUS: a->o.plus_char = arg; return true;
	case O_MAXSIZE:
	case O_MAXACCT:
		if (!cli_parse_count(arg, &v)) {
			a->bad = arg;
			return true;
		}
		*(opt == O_MAXSIZE ? &a->o.max_size_mb : &a->o.max_account_size_mb) = v;
		return true;
	}
	return false;
}

static int domain_add(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "inactive", no_argument, 0, O_INACTIVE },
		{ "catch-all", required_argument, 0, O_CATCHALL },
		{ "max-size", required_argument, 0, O_MAXSIZE },
		{ "max-account-size", required_argument, 0, O_MAXACCT },
		{ "plus-addressing", required_argument, 0, O_PLUS },
		{ 0, 0, 0, 0 },
	};
	struct add_opts a = { 0 };
	int i = cli_parse(ctx, argc, argv, "h", longopts, add_option, &a);
	if (a.bad)
		return cli_usage(ctx, "'%s' is not a size in MB (a whole number >= 0)", a.bad);
	if (argc - i != 1)
		return cli_usage(ctx, "expected one domain name");
	ms_store *s;
	int rc = cli_open_store(ctx, DB_OPEN_READ_WRITE, &s);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	int64_t id;
	if (ms_domain_add(s, argv[i], &a.o, &id, &e) < 0)
		rc = cli_fail(&e);
	else if (ctx->json)
		printf("{\"domainid\":%lld}\n", (long long)id);
	else
		printf("added domain %s (id %lld)\n", argv[i], (long long)id);
	ms_store_close(s);
	return rc;
}

static int domain_alias(cli_ctx *ctx, int argc, char **argv)
{
	int i = cli_parse_simple(ctx, argc, argv, NULL);
	if (argc - i != 2)
		return cli_usage(ctx, "expected DOMAIN and ALIAS");
	ms_store *s;
	int rc = cli_open_store(ctx, DB_OPEN_READ_WRITE, &s);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	if (ms_domain_alias_add(s, argv[i], argv[i + 1], &e) < 0)
		rc = cli_fail(&e);
	else if (!ctx->json)
		printf("added domain alias %s for %s\n", argv[i + 1], argv[i]);
	ms_store_close(s);
	return rc;
}

static void print_domains_json(const ms_domain *d, size_t n, const ms_domain_alias *al, size_t nal)
{
	ms_json j;
	ms_json_init(&j, stdout);
	ms_json_begin_array(&j);
	for (size_t k = 0; k < n; k++) {
		ms_json_begin_object(&j);
		ms_json_kv_int(&j, "id", d[k].id);
		ms_json_kv_string(&j, "name", d[k].name);
		ms_json_kv_bool(&j, "active", d[k].active);
		ms_json_kv_int(&j, "accounts", d[k].account_count);
		ms_json_kv_string(&j, "catch_all", d[k].postmaster);
		ms_json_kv_int(&j, "max_size_mb", d[k].max_size_mb);
		ms_json_kv_int(&j, "max_account_size_mb", d[k].max_account_size_mb);
		ms_json_key(&j, "plus_addressing");
		ms_json_string(&j, d[k].plus_addressing ? d[k].plus_char : NULL);
		ms_json_key(&j, "aliases");
		ms_json_begin_array(&j);
		for (size_t m = 0; m < nal; m++)
			if (strcmp(al[m].domain, d[k].name) == 0)
				ms_json_string(&j, al[m].alias);
		ms_json_end_array(&j);
		ms_json_end_object(&j);
	}
	ms_json_end_array(&j);
	ms_json_finish(&j);
}

static void print_domains_text(const ms_domain *d, size_t n, const ms_domain_alias *al, size_t nal)
{
	printf("%-32s %-8s %8s  %-24s %s\n", "DOMAIN", "STATE", "ACCOUNTS", "CATCH-ALL", "ALIASES");
	for (size_t k = 0; k < n; k++) {
		printf("%-32s %-8s %8lld  %-24s", d[k].name, d[k].active ? "active" : "inactive",
		       (long long)d[k].account_count, d[k].postmaster[0] ? d[k].postmaster : "-");
		const char *sep = " ";
		for (size_t m = 0; m < nal; m++)
			if (strcmp(al[m].domain, d[k].name) == 0) {
				printf("%s%s", sep, al[m].alias);
				sep = ",";
			}
		printf("\n");
	}
}

static int domain_list(cli_ctx *ctx, int argc, char **argv)
{
	int i = cli_parse_simple(ctx, argc, argv, NULL);
	if (i != argc)
		return cli_usage(ctx, "no arguments expected");
	ms_store *s;
	int rc = cli_open_store(ctx, DB_OPEN_READ_ONLY, &s);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	ms_domain *d = NULL;
	ms_domain_alias *al = NULL;
	size_t n = 0, nal = 0;
	if (ms_domain_list(s, &d, &n, &e) < 0 || ms_domain_alias_list(s, &al, &nal, &e) < 0)
		rc = cli_fail(&e);
	else if (ctx->json)
		print_domains_json(d, n, al, nal);
	else
		print_domains_text(d, n, al, nal);
	free(d);
	free(al);
	ms_store_close(s);
	return rc;
}

int cmd_domain(int argc, char **argv)
{
	static const cli_verb verbs[] = {
		{ "add", domain_add }, { "alias", domain_alias }, { "list", domain_list }, { NULL, NULL },
	};
	return cli_dispatch("domain", verbs, argc, argv);
}
