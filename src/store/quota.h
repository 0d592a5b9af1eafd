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

#endif
