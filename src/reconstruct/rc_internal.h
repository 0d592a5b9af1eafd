/* rc_internal.h - what the parts of reconstruct share.
 *
 *   reconstruct.c  orchestration: load, walk, row pass, checks, repair, report
 *   model.c        accounts, domains, folders loaded once; scope
 *   files.c        the walk: every message file with its size, by owner
 *   rows.c         the paged pass over hm_messages: per-row checks
 *   checks.c       folder, UID, queue, orphan, schema checks; re-verification
 *   repair.c       the repairs (-r), each in short transactions
 *   output.c       finding lines, summary, --json, recovery list, -d script
 */
#ifndef MS_RC_INTERNAL_H
#define MS_RC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "reconstruct/reconstruct.h"
#include "util/arena.h"
#include "util/hashtab.h"
#include "util/strmap.h"


/* ---- the database model (model.c) ------------------------------------------ */

typedef struct rc_account {
	int64_t id;
	int64_t domain_id;
	char *address;        /* as stored */
	char *local, *domain; /* lower-cased halves */
	int64_t max_size_mb;
	bool in_scope;
	int32_t owner;        /* its folder on disk (files.c), -1 = none seen */
	int64_t inbox_id;     /* 0 = none */
	int64_t rows, bytes;  /* delivered messages: count, sum of sizes */
	int64_t missing;      /* rows whose file is missing */
} rc_account;

typedef struct rc_domain {
	int64_t id;
	char *name;
	int64_t max_size_mb;
} rc_domain;

typedef struct rc_folder {
	int64_t id, account_id, parent_id;
	char *name;
	int64_t current_uid;
	char created[32];
	bool in_scope;        /* a named folder, or a folder of an account in scope */
	bool uid_dirty;       /* a UID repair is needed here */
} rc_folder;

/* ---- the data directory (files.c) --------------------------------------------- */

enum { RC_OWNER_QUEUE = 0, RC_OWNER_PUBLIC = 1 };

typedef struct rc_owner {
	char *domain_dir, *local_dir; /* as on disk (account trees) */
	int64_t account_idx;          /* index into accounts, -1 = no such account */
	int64_t files;
} rc_owner;

typedef struct rc_file {
	uint8_t guid[16];
	const char *name;     /* NULL when the name is the upper-case {GUID}.eml */
	const char *relpath;  /* NULL when canonical (derivable) */
	int64_t size;
	int64_t mtime;        /* for the settle rule: the mtime, or the ctime when
	                         the mtime is in the future (store/clock.h) */
	int32_t owner;
	bool is_guid;         /* guid[] holds the key */
	bool canonical;       /* at DATA/{name} (queue) or .../<XX>/name */
	bool matched;         /* some row references it */
	bool future_mtime;    /* its modification time is in the future: a clock problem */
} rc_file;

/* ---- findings ----------------------------------------------------------------- */

typedef enum { RC_OPEN, RC_REPAIRED, RC_NOT_REPAIRED, RC_STALE } rc_state;

typedef struct rc_finding {
	rc_kind kind;
	rc_state state;
	char *mailbox;
	char *detail;
	char *action;         /* what the repair does / did */
	char *why;            /* not repaired: why */
	char *path;           /* relative path of the file concerned, if any */
	char *target;         /* misplaced-file: where the file belongs (relative) */
	int64_t message_id, folder_id, account_idx; /* unreferenced-file: folder_id is
	                                               the account's INBOX when it has no UID left */
	int64_t value;        /* wrong-size, unreferenced-file: the file's size; misplaced: file index */
} rc_finding;

/* A (folder, uid, message) triple for the UID checks. */
typedef struct rc_uid {
	int64_t folder_id, uid, message_id;
} rc_uid;

typedef struct rc_run {
	ms_store *s;
	const ms_rc_opts *o;
	ms_rc_report *r;
	time_t now;
	int root_fd;
	bool store_wide;      /* orphan and queue checks run */

	rc_account *accounts; size_t naccounts;   /* sorted by id */
	ms_strmap account_by_address;             /* lower "local@domain" -> index */
	rc_domain *domains; size_t ndomains;      /* sorted by id */
	rc_folder *folders; size_t nfolders;      /* sorted by id */

	pthread_mutex_t mu;                       /* walk: owners, files, arena */
	rc_owner *owners; size_t nowners, owners_cap;
	ms_strmap owner_by_dir;                   /* lower "local@domain" -> owner */
	rc_file *files; size_t nfiles, files_cap;
	ms_hashtab file_index;                    /* uint32 slots: index into files + 1 */
	ms_arena names;                           /* names and paths that cannot be derived */
	bool oom;
	atomic_uint_fast64_t walked;
	atomic_bool walked_done;
	uint64_t walk_errors;

	rc_uid *uids; size_t nuids, uids_cap;
	int64_t watermark;                        /* highest messageid read */
	int64_t queue_rows, queue_missing;
	FILE *removed;                            /* the recovery list, once opened */

	rc_finding *findings; size_t nfindings, findings_cap;
} rc_run;

/* model.c */
int rc_load_model(rc_run *run, ms_err *e);
int rc_load_folders(rc_run *run, ms_err *e);
int rc_reload_current_uids(rc_run *run, ms_err *e);
rc_account *rc_account_by_id(rc_run *run, int64_t id);
rc_folder *rc_folder_by_id(rc_run *run, int64_t id);
/* "user/ADDRESS/INBOX/Sub" for a folder (loops cut), "user/ADDRESS" for
 * folder NULL. Heap string. */
char *rc_folder_mailbox(rc_run *run, const rc_account *a, const rc_folder *f);
void rc_model_free(rc_run *run);

/* files.c */
int rc_walk(rc_run *run, ms_err *e);
/* The files a row with this owner and name references, marked matched,
 * and the one it is checked against (NULL: none).  A GUID name spelt
 * exactly as the row at its canonical place is the row's file alone; if
 * there is none, every file of the owner with that GUID (any case, any
 * place) is the row's, the canonical one first (sync/refset.h, the same
 * rule).  Other names compare case-insensitively. */
rc_file *rc_file_match(rc_run *run, int32_t owner, const char *name);
/* The relative path of a file (derived when it is canonical). */
void rc_file_path(const rc_run *run, const rc_file *f, char *out, size_t len);
/* The canonical relative path of `name` for an owner. */
bool rc_canonical_path(const rc_run *run, int32_t owner, const char *name, char *out, size_t len);
/* What is at `rel` when it is there but is no regular file ("a symlink",
 * "a directory", "not a regular file"); NULL when nothing is (or it is a
 * file).  A row whose place holds one has no file mstore may read, and no
 * file reconstruct may remove the row for: the user's symlink may point at
 * the message. */
const char *rc_not_a_file(const rc_run *run, const char *rel);
void rc_files_free(rc_run *run);

/* rows.c */
int rc_row_pass(rc_run *run, ms_err *e);
int rc_refresh_rows(rc_run *run, ms_err *e);

/* checks.c */
void rc_check_folders(rc_run *run);
void rc_check_uids(rc_run *run);
int rc_check_store_wide(rc_run *run, ms_err *e);
void rc_check_files(rc_run *run);
void rc_check_orphan_owners(rc_run *run);
int rc_check_schema(rc_run *run, ms_err *e);
int rc_reverify(rc_run *run, ms_err *e);

/* repair.c */
void rc_repair(rc_run *run);

/* output.c */
rc_finding *rc_add(rc_run *run, rc_kind kind, const char *mailbox, const char *action, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
char *rc_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rc_report(rc_run *run, ms_err *e);
int rc_write_orphan_script(rc_run *run, ms_err *e);
void rc_findings_free(rc_run *run);

#endif
