/* mstore list add|member|list: distribution lists */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "store/objects.h"
#include "util/json.h"

const char help_list[] =
	"usage: mstore list add ADDRESS [--disabled]\n"
	"       mstore list member LIST ADDRESS...\n"
	"       mstore list list [--domain DOMAIN] [--json]\n\n"
	"add     create a distribution list in an existing local domain (public mode:\n"
	"        anyone may send to it).\n"
	"member  add one or more member addresses (local or external) to LIST; each\n"
	"        address is checked, and an address already in the list is an error.\n"
	"list    show lists with their members.\n";

enum { O_DISABLED = OPT_FIRST_COMMAND_OPTION };

static const struct option add_longopts[] = {
	CLI_COMMON_LONGOPTS, { "disabled", no_argument, 0, O_DISABLED }, { 0, 0, 0, 0 },
};

static int list_add(cli_call *c)
{
	bool disabled = *(const bool *)c->opts;
	ms_err e = { 0 };
	if (ms_dlist_add(c->s, c->argv[0], disabled, &e) < 0)
		return cli_fail(&e);
	if (!c->ctx->json)
		printf("added distribution list %s\n", c->argv[0]);
	return EXIT_OK;
}

/* Members are added one by one: each is checked, and the first failure
 * stops the command (what was added before it stays, and is reported). */
static int list_member(cli_call *c)
{
	ms_err e = { 0 };
	for (int k = 1; k < c->argc; k++) {
		if (ms_dlist_member_add(c->s, c->argv[0], c->argv[k], &e) < 0)
			return cli_fail(&e);
		if (!c->ctx->json)
			printf("added %s to %s\n", c->argv[k], c->argv[0]);
	}
	return EXIT_OK;
}

static void print_lists(const cli_ctx *ctx, const ms_dlist *l, size_t n)
{
	if (!ctx->json) {
		printf("%-40s %-8s %s\n", "LIST", "STATE", "MEMBERS");
		for (size_t k = 0; k < n; k++) {
			printf("%-40s %-8s", l[k].address, l[k].enabled ? "enabled" : "disabled");
			for (size_t m = 0; m < l[k].n_members; m++)
				printf("%s%s", m ? "," : " ", l[k].members[m]);
			printf("\n");
		}
		return;
	}
	ms_json j;
	ms_json_init(&j, stdout);
	ms_json_begin_array(&j);
	for (size_t k = 0; k < n; k++) {
		ms_json_begin_object(&j);
		ms_json_kv_int(&j, "id", l[k].id);
		ms_json_kv_string(&j, "address", l[k].address);
		ms_json_kv_bool(&j, "enabled", l[k].enabled);
		ms_json_key(&j, "members");
		ms_json_begin_array(&j);
		for (size_t m = 0; m < l[k].n_members; m++)
			ms_json_string(&j, l[k].members[m]);
		ms_json_end_array(&j);
		ms_json_end_object(&j);
	}
	ms_json_end_array(&j);
	ms_json_finish(&j);
}

static int list_list(cli_call *c)
{
	const char *domain = *(const char **)c->opts;
	ms_err e = { 0 };
	ms_dlist *l;
	size_t n;
	if (ms_dlist_list(c->s, domain, &l, &n, &e) < 0)
		return cli_fail(&e);
	print_lists(c->ctx, l, n);
	ms_dlist_free(l, n);
	return EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
	static const cli_verb verbs[] = {
		{ .verb = "add", .open = CLI_OPEN_WRITE, .min_args = 1, .max_args = 1, .operands = "expected one list address",
		  .run = list_add, .longopts = add_longopts, .option = cli_flag_option, .opts_size = sizeof(bool) },
		{ .verb = "member", .open = CLI_OPEN_WRITE, .min_args = 2, .max_args = -1,
		  .operands = "expected LIST and at least one ADDRESS", .run = list_member },
		{ .verb = "list", .open = CLI_OPEN_READ, .max_args = 0, .operands = "no arguments expected",
		  .run = list_list, .longopts = cli_domain_longopts, .option = cli_domain_option,
		  .opts_size = sizeof(const char *) },
		{ 0 },
	};
	return cli_dispatch("list", verbs, argc, argv);
}
