/* main_full.c - `mstore-full`: every command (dispatch.c says why there
 * are two binaries).  `mstore` hands it what it does not run itself;
 * run directly it behaves as `mstore` does. */
#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/deliver_internal.h"
#include "cli/quota_internal.h"
#include "message/header.h"

#define ENTRY(where, name, summary, run, help, own) { name, summary, run, help, own },
static const cli_cmd commands[] = {
	CLI_COMMANDS(ENTRY)
	{ NULL, NULL, NULL, NULL, false },
};

const cli_cmd *const cli_table = commands;

int (*const cli_quota_notify)(ms_store *s, const q_opts *o, bool json, const account_vec *acc) = cli_quota_notify_run;
const dl_full *const cli_deliver_full = &cli_deliver_full_ops;

int main(int argc, char **argv)
{
	/* GMime's tables, before any thread starts */
	ms_header_global_init();
	return cli_main(argc, argv);
}
