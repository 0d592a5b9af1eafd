/* sync.h - the Data Directory Synchronizer (`mstore sync`, spec sync.md).
 *
 * Every message file of the data directory ends in exactly one category.
 * The engine: load the referenced names once (refset), walk the data
 * directory in parallel, and for the unreferenced files read size, mtime
 * and headers in parallel, then write rows in batched transactions from
 * one connection.  See ARCHITECTURE.md for the safety rules.
 */
#ifndef MS_SYNC_H
#define MS_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/scope.h"
#include "store/store.h"
#include "util/err.h"

typedef enum {
	SYNC_SKIPPED,           /* referenced by its partial name */
	SYNC_IMPORTED_ACCOUNT,  /* row added to the account's INBOX */
	SYNC_IMPORTED_QUEUE,    /* row + recipients added to the delivery queue */
	SYNC_PATH_UPDATED,      /* a full-path row rewritten to the partial name */
	SYNC_MOVED,             /* misplaced: renamed to its canonical place, then imported */
	SYNC_ORPHANED,          /* in the folder of an unknown domain or account */
	SYNC_DEFERRED,          /* modified less than --settle seconds ago */
	SYNC_NOT_IMPORTED,      /* with a reason: no local recipients, zero bytes, #Public, ... */
	SYNC_IGNORED,           /* not a message file */
	SYNC_FAILED,            /* an error: the reason says which */
	SYNC_N_CATEGORIES
} sync_category;

const char *ms_sync_category_name(sync_category c);

typedef struct ms_sync_opts {
	bool dry_run;
	int settle_seconds;        /* default 300 */
	int threads;               /* 0 = CPUs */
	ms_scope scope;            /* --domain, --account, --shard */
	bool queue_only;
	int batch_size;            /* rows per transaction; default 500 */
	int verbose;               /* 1: a line per non-skipped file; 2: also "Skipped" */
	bool progress;             /* progress bar on stderr */
	FILE *log;                 /* where -v lines go (stdout) */
	const char *json_path;     /* --json FILE */
	time_t now;                /* 0 = time(NULL); tests pin it */
	/* What to do with the files no row references after the run (orphaned
	 * or not imported; never deferred or failed ones): move them under
	 * this directory (same relative path), or delete them.  Both are
	 * refused with dry_run; the list is printed before anything is done. */
	const char *quarantine_dir;
	bool delete_unreferenced;
	bool skip_duplicates;      /* do not import byte-identical copies */
	const char *hints_url;     /* --hints-from: an older copy of the database */
	const char *hints_password;
	/* Queue files: recipients from every To and Cc field, RFC 5322 groups
	 * expanded (--recipients rfc5322), instead of hMailServer's first To
	 * and first CC field read by its own parser (the default). */
	bool all_recipient_fields;
} ms_sync_opts;

typedef struct ms_sync_report {
	uint64_t count[SYNC_N_CATEGORIES];
	uint64_t unparsable;       /* imported with unparsable headers */
	uint64_t quarantined, deleted, cleanup_failed;
	uint64_t duplicates;       /* byte-identical to a message of the account */
	uint64_t hinted;           /* placed by --hints-from */
	size_t inflight_removed;   /* files of a dead channel writer's journal no row named: removed */
	size_t moves_completed;    /* account moves a killed folder command left: completed first */
	size_t trash_moved;        /* files of a killed folder delete or expire: moved into the trash */
	uint64_t files_seen;
	uint64_t bytes_imported;
	size_t refset_bytes;
	double seconds;
	/* The database connection was lost: the run stopped there (the files
	 * of the group being written failed; the rest were not attempted). */
	bool connection_lost;
	uint64_t not_attempted;
	char lost_reason[640];
} ms_sync_report;

/* Run a sync over the store's data directory.  Returns 0 when it ran (the
 * report says what happened; failures are counted there, and a connection
 * lost midway in connection_lost), -1 when it could not run at all (no
 * data directory, database gone before anything was done). */
int ms_sync_run(ms_store *s, const ms_sync_opts *o, ms_sync_report *r, ms_err *e);

#endif
