/* dispatch.c - what both binaries' main() share: finding a command in
 * the binary's table, git-style leading options, `mstore help`, and the
 * hand-over from the front binary to the full one.
 *
 * Two binaries run the commands (ARCHITECTURE.md, the cli layer):
 * `mstore` (main_front.c) links only what the store's own commands need
 * (libc, SQLite, nettle, libidn2) and starts in a few milliseconds;
 * `mstore-full` (main_full.c, installed in LIBEXECDIR/mstore) has every
 * command and the libraries of the rest (GMime, GLib, libarchive,
 * json-glib, OpenSSL).  The front runs what it has and execs the full
 * binary, with the same arguments, for everything else. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

const cli_cmd *cli_find(const char *name)
{
	for (const cli_cmd *c = cli_table; c->name; c++)
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
	for (const cli_cmd *c = cli_table; c->name; c++)
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
void cli_move_leading_options(int argc, char **argv)
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

static char **saved_argv; /* the whole command line, for cli_exec_full */

_Noreturn void cli_exec_full(void)
{
	assert(saved_argv);
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	const char *tried = MSTORE_LIBEXECDIR "/mstore-full";
	if (n > 0) {
		/* beside this binary first: the build tree, where the tests run */
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		snprintf(path, sizeof path, "%.*s/mstore-full", slash ? (int)(slash - self) : 1, slash ? self : ".");
		if (access(path, X_OK) == 0)
			tried = path;
	}
	fflush(NULL);
	execv(tried, saved_argv);
	fprintf(stderr, "mstore: cannot run %s, which has this command: %s (an incomplete installation:"
	        " `meson install` puts it there)\n", tried, strerror(errno));
	exit(EXIT_CONFIG);
}

int cli_main(int argc, char **argv)
{
	saved_argv = argv;
	cli_move_leading_options(argc, argv);
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
	return c->run(argc - 1, argv + 1);
}

void cli_save_argv(char **argv)
{
	saved_argv = argv;
}
