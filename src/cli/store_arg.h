/* store_arg.h - STORE as `mstore diff` and `mstore check` take it.
 *
 * A store of the channel configuration (-f FILE, else the file `mstore
 * channel` reads) or a path: a name with a '/' is always a path (./NAME
 * for one in the current directory); a name without one is a path only
 * when the configuration has no store by that name.  A path to a Maildir
 * (cur/ and new/) is a Maildir++ tree (its root INBOX, .Sub the folders);
 * to another directory, a directory of mbox files; to a file, one mbox,
 * which is INBOX and the only folder.  One rule, so the two commands
 * cannot come to read the same word differently.
 */
#ifndef MS_CLI_STORE_ARG_H
#define MS_CLI_STORE_ARG_H

#include <stdbool.h>

#include "channel/config.h"

typedef struct cli_store_arg {
	const ms_chan_store *st;   /* the store: a configured one, or &made */
	bool is_path;              /* made up for a path */
	bool single_file;          /* a path to one mbox file */
	ms_chan_store made;
	ms_side_opt opts[4];
	char *dir;                 /* an mbox file's directory */
} cli_store_arg;

/* Read the configuration: `file`, else the default file when it exists
 * (*have false when there is none, or no $HOME).  -1 after a message
 * "mstore CMD: ..." on stderr. */
int cli_store_config(const char *cmd, const char *file, ms_chan_config *cfg, bool *have);

/* Resolve `word` (cfg only when *have).  -1 after a message. */
int cli_store_resolve(const char *cmd, const char *word, const ms_chan_config *cfg, bool have, cli_store_arg *out);
void cli_store_arg_free(cli_store_arg *a);

#endif
