/* main.c - `mstore`: one binary, git-style subcommands. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "message/header.h"

extern const char help_init[], help_info[], help_domain[], help_account[],
	help_alias[], help_list[], help_folder[], help_path[], help_sync[], help_reconstruct[], help_channel[], help_check[], help_diff[],
	help_backup[], help_restore[], help_snapshot[], help_migrate[],
	help_deliver[], help_quota[],
	help_acl[], help_readership[], help_expire[], help_purge[], help_export[], help_help[];

const cli_cmd cli_commands[] = {
	{ "sync", "import every message file the database does not reference", cmd_sync, help_sync, false },
	{ "reconstruct", "check and repair the database and the data directory", cmd_reconstruct, help_reconstruct, false },
	{ "channel", "synchronize mail folders between two stores (mailsync's configuration)", cmd_channel, help_channel, true },
	{ "check", "check a mailbox's integrity: unparsable, duplicate, split messages", cmd_check, help_check, true },
	{ "diff", "compare two stores message by message (channel stores or paths)", cmd_diff, help_diff, true },
	{ "backup", "write accounts, folders and messages to a portable archive (tar)", cmd_backup, help_backup, false },
	{ "restore", "put an archive's messages into a store of any database kind", cmd_restore, help_restore, false },
	{ "snapshot", "an online, consistent copy of the database; the last N kept", cmd_snapshot, help_snapshot, false },
	{ "migrate", "copy a whole store into another database kind, ids kept; compare table by table", cmd_migrate, help_migrate, false },
	{ "deliver", "put a message or a whole mailbox into an account's folder", cmd_deliver, help_deliver, false },
	{ "quota", "usage against the limits; recount sizes; warn accounts over a threshold", cmd_quota, help_quota, false },
	{ "init", "create a new, empty store (hMailServer 5.7 schema)", cmd_init, help_init, false },
	{ "info", "show what a store holds", cmd_info, help_info, false },
	{ "domain", "add and list domains and domain aliases", cmd_domain, help_domain, false },
	{ "account", "add and list accounts", cmd_account, help_account, false },
	{ "alias", "add and list address aliases", cmd_alias, help_alias, false },
	{ "list", "add and list distribution lists and their members", cmd_list, help_list, false },
	{ "folder", "list, create, delete, rename, subscribe and lock mailboxes; move an account", cmd_folder, help_folder, false },
	{ "path", "print where an account's or a message's files live in the data directory", cmd_path, help_path, false },
	{ "expire", "remove messages by age, count, size, flags or header (rules file); files to the trash", cmd_expire, help_expire, false },
	{ "purge", "delete trashed message files older than DAYS for good", cmd_purge, help_purge, false },
	{ "acl", "list, set and delete the rights of shared (#Public) folders (hm_acl, IMAP ACL letters)", cmd_acl, help_acl, false },
	{ "readership", "which accounts have which rights on which shared folders", cmd_readership, help_readership, false },
	{ "export", "write a mailbox out as Maildir or mbox, with flags and internal dates", cmd_export, help_export, false },
	{ "help", "show help for mstore or a command", cmd_help, help_help, false },
	{ NULL, NULL, NULL, NULL, false },
};

const cli_cmd *cli_find(const char *name)
{
	for (const cli_cmd *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void print_overview(FILE *out)
{
	fprintf(out,
		"usage: mstore COMMAND [OPTIONS] [ARGS]\n\n"
		"mstore keeps the message files of an hMailServer 5.x store and its database\n"
		"in agreement.  Commands:\n\n");
	for (const cli_cmd *c = cli_commands; c->name; c++)
		fprintf(out, "  %-12s%s\n", c->name, c->summary);
	fprintf(out,
		"\n'mstore help COMMAND' explains a command.  Every command takes --db URL,\n"
		"--data DIR, --config FILE, --ini FILE, --password-file FILE and --server-tz\n"
		"ZONE; without them mstore reads $MSTORE_CONFIG, ~/.config/mstore/mstore.conf\n"
		"or /etc/mstore/mstore.conf.\n\n"
		"Exit codes: 0 success; 1 ran but not everything was done; 2 bad arguments or\n"
		"input (bad address, duplicate, unknown object); 3 configuration missing or\n"
		"invalid; 4 database unreachable or not a known store; 5 file system error.\n");
}

const char help_help[] =
	"usage: mstore help [COMMAND]\n\n"
	"Without COMMAND, list the commands; with it, explain that command.\n";

int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		print_overview(stdout);
		return EXIT_OK;
	}
	const cli_cmd *c = cli_find(argv[1]);
	if (!c) {
		fprintf(stderr, "mstore help: no command '%s'; 'mstore help' lists them\n", argv[1]);
		return EXIT_USAGE;
	}
	printf("%s\n%s", c->help, c->own_options ? "" : cli_common_help);
	return EXIT_OK;
}

/* Git-style: common options may come before the command
 * ("mstore --db URL account list").  They are moved to the end, where
 * every command's option parser finds them. */
static void move_leading_options(int argc, char **argv)
{
	static const char *const with_value[] = { "--db", "--data", "--config", "--ini", "--password-file", "--server-tz",
	                                          NULL };
	int i = 1;
	while (i < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
		bool takes_value = false;
		for (const char *const *o = with_value; *o; o++)
			takes_value |= strcmp(argv[i], *o) == 0;
		if (!takes_value && strcmp(argv[i], "--json") != 0)
			break;
		i += takes_value && i + 1 < argc ? 2 : 1;
	}
	int n = i - 1; /* leading option words */
	if (n == 0 || i >= argc)
		return;
	char **lead = malloc((size_t)n * sizeof *lead);
	if (!lead)
		return;
	memcpy(lead, argv + 1, (size_t)n * sizeof *lead);
	memmove(argv + 1, argv + i, (size_t)(argc - i) * sizeof *argv);
	memcpy(argv + 1 + (argc - i), lead, (size_t)n * sizeof *lead);
	free(lead);
}

int main(int argc, char **argv)
{
	move_leading_options(argc, argv);
	if (argc < 2) {
		print_overview(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		return cmd_help(1, argv);
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("mstore %s\n", MSTORE_VERSION);
		return EXIT_OK;
	}
	const cli_cmd *c = cli_find(name);
	if (!c) {
		fprintf(stderr, "mstore: '%s' is not a command; 'mstore help' lists them\n", name);
		return EXIT_USAGE;
	}
	ms_header_global_init();
	return c->run(argc - 1, argv + 1);
}
