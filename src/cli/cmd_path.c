/* mstore path ADDRESS [--message ID] (hashdir): where an account's files,
 * or one message's file, live in the data directory.  The layout is
 * store/layout.c's; this file only asks and prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/layout.h"
#include "store/mailbox.h"
#include "store/messages.h"
#include "util/escape.h"
#include "util/json.h"

const char help_path[] =
	"usage: mstore path ADDRESS [--message ID] [--json]\n"
	"       mstore path '#Public' [--message ID] [--json]\n\n"
	"Print the directory of the account's message files relative to the data\n"
	"directory (<domain>/<local>, in lower case, as hMailServer names it), or with\n"
	"--message the file of the message with that messageid (hm_messages), which\n"
	"must be the account's: <domain>/<local>/<XX>/{GUID}.eml, XX being the name's\n"
	"characters 2 and 3 as written.  #Public names the public folders' directory.\n"
	"Nothing is read on disk: the path is where the file belongs (`mstore\n"
	"reconstruct -n` tells whether it is there).\n\n"
	"Exit codes: 0 printed; 2 an address without an account, a message that does\n"
	"not exist or is not the account's.\n";

enum { O_MESSAGE = OPT_FIRST_COMMAND_OPTION };

struct path_opts {
	const char *message;
};

static bool path_option(void *data, int opt, const char *arg)
{
	if (opt != O_MESSAGE)
		return false;
	((struct path_opts *)data)->message = arg;
	return true;
}

static void print_path(const cli_ctx *ctx, const char *address, const char *path, long long id)
{
	if (ctx->json) {
		ms_json j;
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_kv_string(&j, "address", address);
		if (id)
			ms_json_kv_int(&j, "messageid", id);
		ms_json_kv_string(&j, "path", path);
		ms_json_end_object(&j);
		ms_json_finish(&j);
		return;
	}
	ms_escape_put(stdout, path);
	printf("\n");
}

static int message_path(const cli_call *c, const ms_mailbox *mb, const char *arg, char *out, size_t len, long long *id)
{
	ms_err e = { 0 };
	long long v;
	if (!cli_parse_count(arg, &v) || v <= 0)
		return cli_usage(c->ctx, "--message '%s': expected a messageid (a number > 0)", arg);
	*id = v;
	ms_message_rec r;
	int rc = ms_messages_get(c->s->db, v, &r, &e);
	if (rc < 0)
		return cli_fail(&e);
	if (rc == 0)
		return cli_fail((ms_err_set(&e, MS_E_NOTFOUND, "message %lld does not exist", v), &e));
	bool ours = r.account_id == mb->account_id && (mb->account_id != 0 || r.type == 2);
	bool ok = ours && r.filename &&
	          ms_layout_path(mb->account_id ? MS_PLACE_ACCOUNT : MS_PLACE_PUBLIC, mb->owner_dir,
	                         ms_layout_base_name(r.filename), out, len);
	ms_message_rec_free(&r);
	if (!ours)
		return cli_fail((ms_err_set(&e, MS_E_NOTFOUND, "message %lld is not one of %s's", v,
		                            mb->account_id ? mb->address : "#Public"), &e));
	if (!ok)
		return cli_fail((ms_err_set(&e, MS_E_INTERNAL, "message %lld: its path is too long", v), &e));
	return EXIT_OK;
}

static int path_run(cli_call *c)
{
	const struct path_opts *o = c->opts;
	const char *arg = c->argv[0];
	char name[300];
	bool pub = strcmp(arg, MS_PUBLIC_DIR) == 0;
	if (!pub && !strchr(arg, '@'))
		return cli_usage(c->ctx, "'%s' is not an address (local@domain) or #Public", arg);
	snprintf(name, sizeof name, "%s%s", pub ? "" : "user/", arg);
	ms_mailbox mb;
	ms_err e = { 0 };
	if (ms_mailbox_resolve(c->s->db, name, &mb, &e) < 0)
		return cli_fail(&e);
	ms_mailbox_owner_on_disk(&mb, c->s->data_dir); /* Example.com/Ann/ from Windows stays so */
	if (mb.path[0])
		return cli_usage(c->ctx, "'%s': expected an address, not a folder", arg);
	char path[1200];
	long long id = 0;
	snprintf(path, sizeof path, "%s", mb.owner_dir);
	if (o->message) {
		int rc = message_path(c, &mb, o->message, path, sizeof path, &id);
		if (rc != EXIT_OK)
			return rc;
	}
	print_path(c->ctx, pub ? MS_PUBLIC_DIR : mb.address, path, id);
	return EXIT_OK;
}

static const struct option path_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "message", required_argument, 0, O_MESSAGE },
	{ 0, 0, 0, 0 },
};

int cmd_path(int argc, char **argv)
{
	/* one verb-less command: the dispatcher's table with the verb as argv[0] */
	static const cli_verb verbs[] = {
		{ .verb = "path", .open = CLI_OPEN_READ, .min_args = 1, .max_args = 1, .operands = "expected one ADDRESS",
		  .run = path_run, .longopts = path_longopts, .option = path_option, .opts_size = sizeof(struct path_opts) },
		{ 0 },
	};
	char **v = calloc((size_t)argc + 2, sizeof *v);
	if (!v)
		return EXIT_PARTIAL;
	v[0] = argv[0];
	v[1] = (char *)"path";
	memcpy(v + 2, argv + 1, (size_t)(argc - 1) * sizeof *v);
	if (argc < 2) {
		fprintf(stderr, "mstore path: expected one ADDRESS\nTry 'mstore help path'.\n");
		free(v);
		return EXIT_USAGE;
	}
	int rc = cli_dispatch("path", verbs, argc + 1, v);
	free(v);
	return rc;
}
