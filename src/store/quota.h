/* quota.h - how full an account, a domain or a folder is.
 *
 * hMailServer's limits are in MB (accountmaxsize, domainmaxsize; 0 means
 * none) and count the sizes of the delivered messages (messagesize).  The
 * rule lives here once; `reconstruct -q` adds up sizes during its own pass
 * over the table and asks these functions what the numbers mean, the
 * administration commands read the totals from the database.
 */
#ifndef MS_STORE_QUOTA_H
#define MS_STORE_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "util/err.h"

typedef struct ms_usage {
	int64_t messages, bytes;
} ms_usage;

/* The limit in bytes of a limit in MB; 0 (or less) is no limit. */
int64_t ms_quota_limit_bytes(int64_t limit_mb);
/* Over the limit (never with no limit). */
bool ms_quota_over(int64_t bytes, int64_t limit_mb);
/* Percent used, rounded down; -1 with no limit. */
int ms_quota_percent(int64_t bytes, int64_t limit_mb);

/* Usage of every account with delivered messages: fn(ctx, accountid, usage). */
int ms_quota_each_account(db *d, int (*fn)(void *ctx, int64_t account_id, ms_usage u), void *ctx, ms_err *e);
/* Usage of every folder with messages: fn(ctx, folderid, usage). */
int ms_quota_each_folder(db *d, int (*fn)(void *ctx, int64_t folder_id, ms_usage u), void *ctx, ms_err *e);
/* Usage of one domain's accounts together. */
int ms_quota_domain(db *d, int64_t domain_id, ms_usage *u, ms_err *e);

/* Usage of one account (its delivered messages). */
int ms_quota_account(db *d, int64_t account_id, ms_usage *u, ms_err *e);

/* A domain's limits beyond accountmaxsize, in MB (0 = none):
 * domainmaxsize (all its accounts together), domainmaxaccountsize (the
 * largest accountmaxsize allowed) and domainmaxmessagesize (KB in
 * hMailServer: the largest message its SMTP server accepts). */
typedef struct ms_domain_limits {
	int64_t max_size_mb, max_account_size_mb, max_message_size_kb;
} ms_domain_limits;
int ms_quota_domain_limits(db *d, int64_t domain_id, ms_domain_limits *out, ms_err *e);

/* --recalculate: one message whose stored size differs from its file's. */
typedef struct ms_quota_fix {
	int64_t message_id, folder_id;
	const char *filename;
	int64_t stored, on_disk;
} ms_quota_fix;
/* Compare every delivered message of the account with its file below
 * root_fd/owner (a missing file is reconstruct's missing-file, not a
 * size: skipped) and, unless dry_run, set messagesize to the file's size
 * where it differs and the row still has the size read (compare and set,
 * one transaction); fn(ctx, fix) is called for each, *missing counts the
 * files not found. */
int ms_quota_recalculate(db *d, int root_fd, const char *owner, int64_t account_id, bool dry_run,
                         int (*fn)(void *ctx, const ms_quota_fix *f), void *ctx, int64_t *missing, ms_err *e);

/* --notify's state, kept in the store (hm_settings, a row named
 * "mstore.quotanotify.<accountid>" whose settingstring holds the time of
 * the last warning in seconds since the epoch): hMailServer reads only
 * the settings it knows by name, and the state travels with the store's
 * backups.  1 and *when when the account was warned before, 0 never. */
int ms_quota_notified_get(db *d, int64_t account_id, int64_t *when, ms_err *e);
int ms_quota_notified_set(db *d, int64_t account_id, int64_t when, ms_err *e);

#endif
