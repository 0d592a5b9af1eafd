/* quota_internal.h - what cmd_quota.c shares with cmd_quota_notify.c. */
#ifndef MS_CLI_QUOTA_INTERNAL_H
#define MS_CLI_QUOTA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "store/objects.h"
#include "store/quota.h"
#include "store/store.h"
#include "util/vec.h"

typedef struct q_opts {
	ms_strlist users, domains;
	bool per_folder, dry_run, recalc, notify, bad;
	long long over, interval_days;
	bool over_given, interval_given;
	int shard_k, shard_n;       /* --shard K/N: shard_n 0, none */
	const char *template_file;
} q_opts;

typedef MS_VEC(ms_account) account_vec;

typedef struct usage_ent {
	int64_t id;
	ms_usage u;
} usage_ent;
typedef MS_VEC(usage_ent) usage_vec;

/* Each account's (folders false) or folder's usage, sorted by id. */
int cli_quota_load_usage(db *d, bool folders, usage_vec *v, ms_err *e);
/* One id's usage from a loaded vector (zero when it has no messages). */
ms_usage cli_quota_usage_of(const usage_vec *v, int64_t id);

/* --notify (cmd_quota_notify.c): an exit code. */
int cli_quota_notify_run(ms_store *s, const q_opts *o, bool json, const account_vec *acc);

/* How quota runs --notify in this binary: cli_quota_notify_run in the
 * full binary (main_full.c); NULL in the front (main_front.c), which
 * hands the run to the full binary. */
extern int (*const cli_quota_notify)(ms_store *s, const q_opts *o, bool json, const account_vec *acc);

#endif
