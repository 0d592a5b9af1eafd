/* config.h - the channel configuration: mailsync's ~/.mailsync, read with
 * mailsync's own grammar, plus mstore's keywords.
 *
 *   store NAME { KEYWORD VALUE ... }
 *   channel NAME STORE_A STORE_B { KEYWORD VALUE ... }
 *
 * Lexical rules, as mailsync's get_token has them: tokens are separated
 * by white space and newlines mean nothing more; `#` at the start of a
 * token comments out the rest of the line; `\x` puts x into the token
 * (`pat Mail/My\ Folder`).  mstore adds one rule: a token that begins with
 * `"` runs to the next unescaped `"` and may hold spaces or be empty
 * (`prefix ""`).  mailsync would take those quotes literally; a config
 * mailsync reads has no token beginning with `"` that it needs (write
 * `\"` for a literal one, which both read alike).
 *
 * Keywords are case-sensitive, as in mailsync.  Stores: mailsync's `pat`,
 * `prefix`, `server`, `ref`, `passwd`; mstore's `kind`, `path`, `layout`,
 * `inbox`, `db`, `data`, `account`, `host`, `port`, `tls`, `user`,
 * `passfile`, and for IMAP (drv_imap.c) `passcmd`, `tls-verify`, `cafile`,
 * `timeout`, `allow-plaintext`.  Channels: mailsync's `msinfo`, `passwd`, `sizelimit`;
 * mstore's `maxdelete`.  A keyword given twice: the last one counts (as in
 * mailsync).  Stores and channels share one namespace.
 *
 * What mailsync finds only when a name is used (a channel naming a store
 * that does not exist) is found here when the file is read, so every
 * error of the file is reported before anything runs.  Every error names
 * FILE:LINE, what was expected and what was found.
 */
#ifndef MS_CHANNEL_CONFIG_H
#define MS_CHANNEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/driver.h"
#include "util/err.h"

typedef struct ms_chan_store {
	char *name;
	int line;             /* where `store NAME` stands */
	/* `kind` as given, or "imap" for a store with a `server` and no kind,
	 * or NULL: a local mailsync store whose mailboxes are files and
	 * directories below `path` (default $HOME), each Maildir or mbox,
	 * told apart per mailbox (local.h). */
	const char *kind;
	/* the values, NULL when not given (pointers into opts) */
	const char *pat, *prefix, *server, *ref, *passwd, *path, *layout, *inbox, *db, *data, *account, *host,
		*port, *tls, *user, *passfile, *create;
	/* every keyword with its value, in the order of the file: what
	 * ms_chan_side_conf hands to the driver */
	ms_side_opt *opts;
	size_t nopts;
} ms_chan_store;

typedef struct ms_chan_channel {
	char *name;
	int line;
	char *store_name[2];
	const ms_chan_store *store[2];  /* resolved when the file is read */
	const char *msinfo, *passwd;    /* NULL when not given */
	bool has_sizelimit;
	uint64_t sizelimit;             /* bytes; 0 = none, as in mailsync */
	int maxdelete;                  /* percent 0..100, -1 when not given */
	long quarantinedays;            /* days a run's quarantine is kept (0: for ever), -1 when not given */
	ms_side_opt *opts;
	size_t nopts;
} ms_chan_channel;

typedef struct ms_chan_config {
	char *file;                     /* the file read, for messages */
	ms_chan_store *stores;
	size_t nstores;
	ms_chan_channel *channels;
	size_t nchannels;
} ms_chan_config;

/* The file to read when no -f is given: ~/.config/mstore/channels.conf
 * when it exists (mstore's own, which may use keywords mailsync does not
 * know), else ~/.mailsync (mailsync's; read as it is).  One file only,
 * never both: two files defining one name would be ambiguous.  Into
 * buf[len]; -1 when $HOME is not set. */
int ms_chan_config_default_path(char *buf, size_t len, ms_err *e);

/* Read and check `path`.  On failure *out is empty and e says FILE:LINE
 * (MS_E_CONFIG), or why the file cannot be read (MS_E_IO). */
int ms_chan_config_read(const char *path, ms_chan_config *out, ms_err *e);
/* The same over text in memory; `file` names it in messages. */
int ms_chan_config_parse(const char *text, size_t len, const char *file, ms_chan_config *out, ms_err *e);
void ms_chan_config_free(ms_chan_config *c);

/* The store or channel of that name, or NULL. */
const ms_chan_store *ms_chan_config_store(const ms_chan_config *c, const char *name);
const ms_chan_channel *ms_chan_config_channel(const ms_chan_config *c, const char *name);

/* The store's configuration as a driver opens it: its keywords as given,
 * plus `password` resolved from `passwd` or else the first line of
 * `passfile`, plus what a c-client `server` spec says ({HOST[:PORT]
 * [/imap][/ssl][/tls][/notls][/novalidate-cert][/user=NAME]}) as `host`,
 * `port`, `tls`, `user` and `novalidate-cert` unless given on their own.
 * Free with ms_chan_side_conf_free. */
int ms_chan_side_conf(const ms_chan_store *s, bool read_only, ms_side_conf *out, ms_err *e);
void ms_chan_side_conf_free(ms_side_conf *c);

/* The store's own delimiter is known only once it is open; the pattern a
 * store without `pat` uses: every folder. */
#define MS_CHAN_DEFAULT_PAT "*"

#endif
