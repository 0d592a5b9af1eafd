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

static bool add_check(const void *opts, char *buf, size_t len)
{
	return cli_check_size(((const struct add_opts *)opts)->bad, buf, len);
}

static const struct option add_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "inactive", no_argument, 0, O_INACTIVE },
	{ "catch-all", required_argument, 0, O_CATCHALL },
	{ "max-size", required_argument, 0, O_MAXSIZE },
	{ "max-account-size", required_argument, 0, O_MAXACCT },
	{ "plus-addressing", required_argument, 0, O_PLUS },
	{ 0, 0, 0, 0 },
};

static int domain_add(cli_call *c)
{
	const struct add_opts *a = c->opts;
	ms_err e = { 0 };
	int64_t id;
	if (ms_domain_add(c->s, c->argv[0], &a->o, &id, &e) < 0)
		return cli_fail(&e);
	if (c->ctx->json)
		printf("{\"domainid\":%lld}\n", (long long)id);
	else
		printf("added domain %s (id %lld)\n", c->argv[0], (long long)id);
	return EXIT_OK;
}

static int domain_alias(cli_call *c)
{
	ms_err e = { 0 };
	if (ms_domain_alias_add(c->s, c->argv[0], c->argv[1], &e) < 0)
		return cli_fail(&e);
	if (!c->ctx->json)
		printf("added domain alias %s for %s\n", c->argv[1], c->argv[0]);
	return EXIT_OK;
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

static int domain_list(cli_call *c)
{
	ms_err e = { 0 };
	ms_domain *d = NULL;
	ms_domain_alias *al = NULL;
	size_t n = 0, nal = 0;
	int rc = EXIT_OK;
	if (ms_domain_list(c->s, &d, &n, &e) < 0 || ms_domain_alias_list(c->s, &al, &nal, &e) < 0)
		rc = cli_fail(&e);
	else if (c->ctx->json)
		print_domains_json(d, n, al, nal);
	else
		print_domains_text(d, n, al, nal);
	free(d);
	free(al);
	return rc;
}

int cmd_domain(int argc, char **argv)
{
	static const cli_verb verbs[] = {
		{ .verb = "add", .open = CLI_OPEN_WRITE, .min_args = 1, .max_args = 1, .operands = "expected one domain name",
		  .run = domain_add, .longopts = add_longopts, .option = add_option, .opts_size = sizeof(struct add_opts),
		  .check = add_check },
		{ .verb = "alias", .open = CLI_OPEN_WRITE, .min_args = 2, .max_args = 2,
		  .operands = "expected DOMAIN and ALIAS", .run = domain_alias },
		{ .verb = "list", .open = CLI_OPEN_READ, .max_args = 0, .operands = "no arguments expected",
		  .run = domain_list },
		{ 0 },
	};
	return cli_dispatch("domain", verbs, argc, argv);
}
