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

static bool disabled_option(void *data, int opt, const char *arg)
{
	if (opt != O_DISABLED)
		return false;
	*(bool *)data = true;
	return true;
}

static int list_add(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS, { "disabled", no_argument, 0, O_DISABLED }, { 0, 0, 0, 0 },
	};
	bool disabled = false;
	int i = cli_parse(ctx, argc, argv, "h", longopts, disabled_option, &disabled);
	if (argc - i != 1)
		return cli_usage(ctx, "expected one list address");
	ms_store *s;
	int rc = cli_open_store(ctx, DB_OPEN_READ_WRITE, &s);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	if (ms_dlist_add(s, argv[i], disabled, &e) < 0)
		rc = cli_fail(&e);
	else if (!ctx->json)
		printf("added distribution list %s\n", argv[i]);
	ms_store_close(s);
	return rc;
}

/* Members are added one by one: each is checked, and the first failure
 * stops the command (what was added before it stays, and is reported). */
static int list_member(cli_ctx *ctx, int argc, char **argv)
{
	int i = cli_parse_simple(ctx, argc, argv, NULL);
	if (argc - i < 2)
		return cli_usage(ctx, "expected LIST and at least one ADDRESS");
	ms_store *s;
	int rc = cli_open_store(ctx, DB_OPEN_READ_WRITE, &s);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	for (int k = i + 1; k < argc && rc == EXIT_OK; k++) {
		if (ms_dlist_member_add(s, argv[i], argv[k], &e) < 0)
			rc = cli_fail(&e);
		else if (!ctx->json)
			printf("added %s to %s\n", argv[k], argv[i]);
	}
	ms_store_close(s);
	return rc;
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

static int list_list(cli_ctx *ctx, int argc, char **argv)
{
	const char *domain = NULL;
	int i = cli_parse_simple(ctx, argc, argv, &domain);
	if (i != argc)
		return cli_usage(ctx, "no arguments expected");
	ms_store *s;
	int rc = cli_open_store(ctx, DB_OPEN_READ_ONLY, &s);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	ms_dlist *l;
	size_t n;
	if (ms_dlist_list(s, domain, &l, &n, &e) < 0)
		rc = cli_fail(&e);
	else {
		print_lists(ctx, l, n);
		ms_dlist_free(l, n);
	}
	ms_store_close(s);
	return rc;
}

int cmd_list(int argc, char **argv)
{
	static const cli_verb verbs[] = {
		{ "add", list_add }, { "member", list_member }, { "list", list_list }, { NULL, NULL },
	};
	return cli_dispatch("list", verbs, argc, argv);
}
