/* reconstruct.h - check and repair a whole store in both directions
 * (`mstore reconstruct`, spec reconstruct.md).
 *
 * The check is set-based, like sync: one parallel walk of the data
 * directory (with a stat per message file, for sizes), one paged pass over
 * hm_messages, the folders and accounts loaded once, and a few anti-join
 * queries for orphaned rows.  Every finding is checked once more against
 * the file system and the database before it is reported, so a live
 * server that writes meanwhile causes no false finding.  Repairs change
 * the database only (the one exception, moving a misplaced file into the
 * place the server looks for it, is a rename that keeps its content);
 * rows removed for missing files are written to a recovery list first.
 */
#ifndef MS_RECONSTRUCT_H
#define MS_RECONSTRUCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "store/scope.h"
#include "store/store.h"
#include "util/err.h"

typedef enum {
	RC_MISSING_FILE,
	RC_MISPLACED_FILE,
	RC_WRONG_SIZE,
	RC_ZERO_UID,
	RC_DUPLICATE_UID,
	RC_UID_BEHIND,
	RC_UID_OVERFLOW,
	RC_FOLDER_PARENT,
	RC_MISSING_INBOX,
	RC_MESSAGE_FOLDER,
	RC_ORPHANED_MESSAGE,
	RC_ORPHANED_RECIPIENT,
	RC_ORPHANED_METADATA,
	RC_ORPHANED_FOLDER,
	RC_QUEUE_NO_RECIPIENTS,
	RC_QUEUE_STALE_LOCK,
	RC_UNREFERENCED_FILE,
	RC_ORPHANED_ACCOUNT_DIR,
	RC_ACCOUNT_WITHOUT_DIR,
	RC_SCHEMA,
	RC_N_KINDS
} rc_kind;

/* The stable token of a kind ("missing-file"). */
const char *ms_rc_kind_name(rc_kind k);

/* A mailbox named on the command line: user/ADDRESS[/FOLDER]. */
typedef struct ms_rc_mailbox {
	char address[256];
	char folder[1024];   /* "" = every folder; levels joined by '/' */
} ms_rc_mailbox;

/* Parse "user/ADDRESS" or "user/ADDRESS/FOLDER/SUB". */
int ms_rc_mailbox_parse(const char *arg, ms_rc_mailbox *out, ms_err *e);

typedef struct ms_rc_opts {
	bool repair;               /* -r (and not -n) */
	bool force;                /* -f: lift the mass-missing guard */
	bool whole_db;             /* -m: schema and store-wide checks always */
	bool orphans;              /* -o */
	const char *orphan_script; /* -o -d FILE */
	bool quota;                /* -q */
	const ms_rc_mailbox *mailboxes;
	size_t nmailboxes;
	ms_scope scope;             /* --domain, --shard (accounts: the mailboxes) */
	int stale_lock_seconds;    /* default 3600 */
	int settle_seconds;        /* default 300 */
	int threads;               /* 0 = CPUs */
	const char *save_removed;  /* recovery list; NULL = STATE/removed-DATE-PID.tsv */
	const char *state_dir;     /* NULL = $XDG_STATE_HOME/mstore, /var/lib/mstore (root), ~/.local/state/mstore */
	const char *json_path;
	bool progress;
	int verbose;
	FILE *out;                 /* finding lines and summary (stdout) */
	uint32_t only_kinds;       /* report only these kinds (bit 1u << kind); 0 = all */
	bool only_queue;           /* report only the queue's findings */
	const char *label;         /* the summary's first word; NULL = "reconstruct" */
	const char *db_url_text;   /* for the -d script: the store's URL, no password */
	time_t now;                /* 0 = time(NULL) */
} ms_rc_opts;

typedef struct ms_rc_report {
	uint64_t found[RC_N_KINDS];
	uint64_t findings, repaired, remaining;
	uint64_t files, rows;
	uint64_t unreadable;       /* directories the walk could not read: the check is incomplete */
	char removed_list[4096];   /* "" when nothing was removed */
	double seconds;
} ms_rc_report;

/* Check (and with o->repair, repair) the store.  Returns 0 when the check
 * ran (the report says what it found), -1 when it could not run. */
int ms_reconstruct(ms_store *s, const ms_rc_opts *o, ms_rc_report *r, ms_err *e);

#endif
