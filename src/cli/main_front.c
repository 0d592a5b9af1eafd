/* main_front.c - `mstore`: the commands that need no more than libc,
 * SQLite, nettle and libidn2 run here; every other command, `mstore
 * help`, `quota --notify` and `deliver --mbox|--maildir` (or of a message
 * whose From needs decoding) are handed to `mstore-full` with the same
 * arguments (dispatch.c, cli_exec_full).
 *
 * Why: the dynamic loader maps and relocates every library a binary
 * links at every start.  With GMime, GLib, libarchive, json-glib and
 * OpenSSL linked, a start cost 10-20 ms, which was most of `quota`'s and
 * the account move's time (bench/RESULTS.md); these commands run in
 * scripts' loops.  What the front may link is checked by
 * tests/e2e/test_cli.sh (its NEEDED entries), so a command that starts
 * needing a heavy library moves to the full binary knowingly.
 *
 * A command marked FRONT in commands.h must not reach GMime, GLib,
 * libarchive, json-glib or OpenSSL: the link (-Wl,--as-needed) would add
 * them to the front and the test above fails. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/deliver_internal.h"
#include "cli/quota_internal.h"

/* Only the FRONT lines of commands.h: naming a FULL command's function
 * here would link it, and its libraries with it. */
#define ENTRY_FRONT(name, summary, run, help, own) { name, summary, run, help, own },
#define ENTRY_FULL(name, summary, run, help, own)
#define ENTRY(where, name, summary, run, help, own) ENTRY_##where(name, summary, run, help, own)
static const cli_cmd commands[] = {
	CLI_COMMANDS(ENTRY)
	{ NULL, NULL, NULL, NULL, false },
};

const cli_cmd *const cli_table = commands;

/* --notify delivers, which parses: the full binary's. */
int (*const cli_quota_notify)(ms_store *s, const q_opts *o, bool json, const account_vec *acc) = NULL;
/* deliver of one message runs here; --mbox, --maildir and a From that
 * needs GMime's decoding are the full binary's (deliver_internal.h). */
const dl_full *const cli_deliver_full = NULL;

int main(int argc, char **argv)
{
	cli_save_argv(argv);
	cli_move_leading_options(argc, argv);
	const char *name = argc >= 2 ? argv[1] : "";
	if (cli_find(name) || strcmp(name, "--version") == 0 || strcmp(name, "version") == 0)
		return cli_main(argc, argv);
	cli_exec_full(); /* help, the overview, an unknown name: the full binary answers */
}
