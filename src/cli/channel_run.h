/* channel_run.h - `mstore channel CHANNEL [STORE]`: synchronization, the
 * diff and --undo over the channel engine (channel_run.c); the listing
 * modes and the option parsing are cmd_channel.c's. */
#ifndef MS_CLI_CHANNEL_RUN_H
#define MS_CLI_CHANNEL_RUN_H

#include <stdbool.h>

#include "channel/config.h"
#include "channel/engine.h"
#include "channel/ident.h"
#include "drivers/driver.h"

/* The exit codes of `mstore channel` (mailsync's scripts test 0 and
 * non-0; mstore's split "not all done" from "could not run"). */
enum { CH_OK = 0, CH_PARTIAL = 1, CH_FAIL = 2 };

typedef struct ch_run_opts {
	bool no_delete;        /* -n */
	bool simulate;         /* -s: a dry run that also implies -n, as mailsync's */
	bool dry_run;          /* --dry-run */
	bool copy_deleted;     /* -cd */
	bool verbose;          /* -v */
	bool messages;         /* -m: the diff also lists what STORE holds */
	bool quiet;            /* -q: no progress bar */
	bool delete_empty;     /* -D */
	bool force;            /* --force-deletions */
	ms_ident_mode ident;   /* -t */
	int max_delete;        /* --max-delete; -1: not given */
	long quarantine_days;  /* --quarantine-days; -1: not given */
	int lock_wait;         /* --lock-wait SECS for hmailserver stores; -1: not given */
	const char *undo;      /* --undo RUN */
	const char *state_dir; /* --state-dir */
	bool json;
	const char *json_path; /* NULL or "-": stdout */
} ch_run_opts;

/* Opening stores and pairing their folders, shared with `mstore diff`
 * (cmd_diff.c); errors go to stderr as "mstore CMD: ...". */
typedef struct ch_pairs {
	ms_box_pairing *v;
	char **pairname;   /* the pairing name of each pair */
	bool (*present)[2];/* the box was among the store's selected folders (else named
	                      for it from the other store's) */
	size_t n;
	size_t left_out;   /* folders that cannot be paired (named on stderr): the run is partial */
} ch_pairs;
/* Open store `st` as a side (a local store, or its kind's driver; an
 * hmailserver store's password from MSTORE_DB_PASSWORD when the store has
 * none, and `lock_wait` seconds, when >= 0, as its lockwait); with `dry`
 * wrapped in the dry-run proxy.  -1 after a message. */
int ch_open_side(const char *cmd, const ms_chan_store *st, bool read_only, bool dry, int lock_wait, ms_side **out);
/* Both stores' selected folders (pat, prefix) paired by pairing name,
 * sorted; a folder on one side only is paired with its name mapped into
 * the other store's naming (with `making`, one the other store cannot
 * name is left out and counted: a run would make it there).  -1 after a
 * message. */
int ch_make_pairs(const char *cmd, ms_side *sides[2], const ms_chan_store *st[2], bool making, ch_pairs *out);
void ch_pairs_free(ch_pairs *p);

/* Synchronize channel `ch`, or with `st` (one of its stores) show the
 * diff, or with o->undo put a run's quarantine back.  CH_* */
int ch_run(const ch_run_opts *o, const ms_chan_channel *ch, const ms_chan_store *st);

#endif
