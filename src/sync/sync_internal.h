/* sync_internal.h - what the parts of the synchronizer share.
 *
 *   sync.c      orchestration: load, walk, batches, totals
 *   analyze.c   per file (parallel): open beneath the data directory,
 *               stat, settle rule, headers, target (account / queue)
 *   writer.c    per batch (one connection): locks, re-check, UIDs,
 *               renames, inserts, commit
 *   journal.c   the rename journal that survives a crash
 *   report.c    -v lines, --json records, progress bar, summary
 */
#ifndef MS_SYNC_INTERNAL_H
#define MS_SYNC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "store/directory.h"
#include "sync/refset.h"
#include "sync/sync.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/vec.h"
#include "walk/walk.h"

/* Folder paths of --hints-from: level names joined by this byte (folder
 * names may contain '/' or '.', never a control character). */
#define MS_FOLDER_SEP '\x1f'

/* What an older copy of the database knew about a file. */
typedef struct ms_hint {
	char *name;      /* file name */
	char *account;   /* account address */
	char *folder;    /* folder path (MS_FOLDER_SEP-joined); NULL = INBOX */
	int flags;
	char created[32];
} ms_hint;
typedef struct hint_set hint_set;

/* A file the walk found that the database does not reference (yet). */
typedef struct cand {
	char *relpath;       /* in the candidates' arena */
	uint16_t name_off;   /* where the last component starts */
	uint16_t owner_len;  /* the owner's prefix: "domain/local", "#Public", 0 (queue) */
	uint8_t place;       /* walk_place */
	uint8_t depth;       /* account files: levels below the account folder */
} cand;

/* What analysis decided for one candidate. */
typedef struct item {
	const cand *c;
	sync_category cat;
	char reason[640];   /* a database error in full (issue 13) */
	int64_t size;
	time_t mtime;
	const ms_dir_account *acct;   /* account import */
	ms_recipients rcpt;           /* queue import */
	char from[256];
	char created[32];             /* internal date, server local time */
	bool unparsable;              /* the header gave nothing: no field, or no From/To/Date/Received */
	char header_note[200];        /* what was wrong with the header section, "" if nothing */
	char clock_note[160];         /* the modification time is in the future, "" if not */
	bool misplaced;               /* must be renamed before import */
	bool fresh_name;              /* ... to a new GUID name: its own is another file's (refset.h) */
	int64_t full_path_row;        /* path update: the row to rewrite */
	char new_rel[4096];           /* canonical relative path once moved */
	int64_t uid;
	int64_t folder_id;            /* the folder the row goes to */
	int flags;                    /* messageflags: 32 (Recent), or the hint's */
	const ms_hint *hint;          /* --hints-from knew this file */
	char duplicate_of[64];        /* byte-identical to this message of the account */
} item;

typedef struct dup_cache dup_cache;

/* A growing list of candidates, filled by the walker threads. */
typedef struct cand_list {
	cand *v;                   /* MS_VEC's fields, so ms_vec_push works on it */
	size_t n, cap;
	pthread_mutex_t mu;
	ms_arena paths;            /* the candidates' paths */
	bool oom;
} cand_list;

typedef struct sync_run {
	ms_store *s;
	const ms_sync_opts *o;
	ms_sync_report *r;
	int root_fd;
	time_t now;
	ms_directory *dir;
	ms_refset *refs;
	int64_t watermark;         /* highest messageid known when refs were read */
	cand_list cands;
	pthread_mutex_t report_mu; /* -v lines, JSON records */
	ms_json json;
	FILE *json_file;
	atomic_uint_fast64_t seen, skipped; /* progress counters */
	atomic_bool done;
	dup_cache *dups;           /* the current account's messages by size */
	hint_set *hints;           /* --hints-from */
	bool refused;              /* writer.c: the group's insert (not its lock) failed */
} sync_run;

/* analyze.c */
void sync_analyze_batch(sync_run *run, item *items, size_t n);
void sync_item_release(item *it);

/* writer.c: writes the batch's imports; updates categories of items that
 * failed or turned out to be referenced meanwhile.  Returns how many items
 * it went through: fewer than n when the connection was lost (then
 * run->r->connection_lost is set and the rest were not attempted). */
size_t sync_write_batch(sync_run *run, item *items, size_t n);
/* writer.c, --dry-run: what the writer would decide without writing
 * anything (duplicates, so -n predicts --skip-duplicates). */
size_t sync_preview_batch(sync_run *run, item *items, size_t n);
/* Add the names of the rows created since the watermark (all rows when
 * it is 0) to the referenced set, and raise the watermark. */
int sync_refresh_refs(sync_run *run, ms_err *e);

/* journal.c */
int sync_journal_recover(sync_run *run, ms_err *e);
int sync_journal_append(sync_run *run, const char *from_rel, const char *to_rel, ms_err *e);
/* After a journaled rename: sync the directories it changed (before the
 * commit of rows that name the new place). */
int sync_journal_renamed(sync_run *run, const char *from_rel, const char *to_rel, ms_err *e);
int sync_journal_clear(sync_run *run, ms_err *e);
void sync_journal_close(sync_run *run);

/* duplicates.c: find byte-identical messages in the group's account (the
 * items are one account's); with --skip-duplicates they are not imported. */
int sync_mark_duplicates(sync_run *run, item *items, size_t n, bool (*importing)(const item *), ms_err *e);
void sync_dup_free(dup_cache *c);

/* hints.c */
int sync_hints_load(sync_run *run, const char *url, const char *password, ms_err *e);
const ms_hint *sync_hint_for(const hint_set *h, const char *name, const char *account);
void sync_hints_free(hint_set *h);

/* cleanup.c: quarantine or delete the candidates listed in `which`
 * (indices into run->cands). */
int sync_cleanup(sync_run *run, const size_t *which, size_t n);

/* report.c */
void sync_report_entry(sync_run *run, const char *relpath, sync_category cat, const char *reason,
                       const char *detail);
void sync_report_item(sync_run *run, const item *it);
int sync_report_open(sync_run *run, ms_err *e);
void sync_report_close(sync_run *run);
void sync_progress_start(sync_run *run, pthread_t *tid);
void sync_progress_stop(sync_run *run, pthread_t tid);

#endif
