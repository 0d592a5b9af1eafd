/* deliver_internal.h - what cmd_deliver.c (both binaries) and
 * deliver_box.c (the full binary only) share.
 *
 * `mstore deliver` of one message runs in the front binary, which links no
 * GMime (an MTA calls it once per message: its start is the delivery's
 * largest cost).  The full binary's main installs cli_deliver_full: the
 * --mbox and --maildir deliveries (they read through the channel's
 * drivers) and the messagefrom of a message whose From field needs RFC 2047
 * or 8-bit decoding.  Where it is NULL (the front), cmd_deliver hands those
 * runs to the full binary before it opens the store. */
#ifndef MS_CLI_DELIVER_INTERNAL_H
#define MS_CLI_DELIVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cli/cli.h"
#include "store/deliver.h"
#include "util/json.h"

typedef struct dl_opts {
	bool dry_run, ignore_quota, bad_flags, bad_wait;
	int lock_wait_ms;
	int64_t flags;
	const char *mbox, *maildir;
} dl_opts;

typedef struct dl_run {
	cli_ctx *ctx;
	const dl_opts *o;
	ms_store *s;
	ms_deliver *dv;
	ms_json j;
	const char *target;         /* ADDRESS[/FOLDER] as given (JSON) */
	const char *shown;          /* the same escaped, for lines of text (util/escape.h) */
	size_t delivered, skipped, over_quota, failed;
	int64_t bytes;
	bool stop, json_started;
} dl_run;

/* One message's row fields. */
typedef struct dl_item {
	ms_deliver_msg m;
	char created[32], from[256], *data, *key;
} dl_item;

/* The item of data[0..len) (not copied) with `flags`, received `when`
 * (0: now), sent by `from` (NULL: read from its From field). */
void dl_fill_item(dl_item *it, const char *data, size_t len, int64_t flags, time_t when, const char *from);
/* Deliver items[0..n) as one batch and report each; an exit code. */
int dl_run_batch(dl_run *r, dl_item *items, size_t n);
void dl_free_items(dl_item *items, size_t n);
/* ms_deliver_open's failure as an exit code (a locked folder: exit 1). */
int dl_open_failed(const dl_run *r, const ms_err *e);

typedef struct dl_full {
	/* the --mbox/--maildir source there and of its kind (EXIT_OK), else
	 * the cause on stderr: run before anything is written, recovery too */
	int (*check_box)(const dl_opts *o);
	int (*deliver_box)(dl_run *r, const ms_deliver_target *t);
	/* messagefrom through ms_headers_parse (GMime) */
	void (*from)(const char *data, size_t len, char *out, size_t size);
} dl_full;
extern const dl_full cli_deliver_full_ops; /* deliver_box.c */
/* How deliver runs in this binary: &cli_deliver_full_ops in the full
 * one, NULL in the front (each main defines it, as cli_quota_notify). */
extern const dl_full *const cli_deliver_full;

#endif
