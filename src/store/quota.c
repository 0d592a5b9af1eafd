/* quota.c - see quota.h. */
#include "store/quota.h"

#include <limits.h>

#include "store/sql.h"

int64_t ms_quota_limit_bytes(int64_t limit_mb)
{
	if (limit_mb <= 0)
		return 0;
	if (limit_mb > INT64_MAX / (1024 * 1024))
		return INT64_MAX;
	return limit_mb * 1024 * 1024;
}

bool ms_quota_over(int64_t bytes, int64_t limit_mb)
{
	int64_t limit = ms_quota_limit_bytes(limit_mb);
	return limit > 0 && bytes > limit;
}

int ms_quota_percent(int64_t bytes, int64_t limit_mb)
{
	int64_t limit = ms_quota_limit_bytes(limit_mb);
	if (limit <= 0)
		return -1;
	/* bytes * 100 overflows only past 92 PB: compare instead of multiplying there */
	int64_t p = bytes > INT64_MAX / 100 ? bytes / limit * 100 : bytes * 100 / limit;
	return p > INT_MAX ? INT_MAX : (int)p;
}

typedef struct group_ctx {
	int (*fn)(void *ctx, int64_t id, ms_usage u);
	void *ctx;
} group_ctx;

static int group_row(void *c, db_stmt *st)
{
	const group_ctx *g = c;
	return g->fn(g->ctx, db_column_int64(st, 0), (ms_usage){ db_column_int64(st, 1), db_column_int64(st, 2) });
}

static int each_group(db *d, const char *sql, int (*fn)(void *ctx, int64_t id, ms_usage u), void *ctx, ms_err *e)
{
	group_ctx g = { fn, ctx };
	return ms_sql_each(d, sql, NO_PARAMS, group_row, &g, e);
}

int ms_quota_each_account(db *d, int (*fn)(void *ctx, int64_t account_id, ms_usage u), void *ctx, ms_err *e)
{
	return each_group(d, "SELECT messageaccountid, COUNT(*), COALESCE(SUM(messagesize), 0) FROM hm_messages"
	                  " WHERE messagetype = 2 GROUP BY messageaccountid", fn, ctx, e);
}

int ms_quota_each_folder(db *d, int (*fn)(void *ctx, int64_t folder_id, ms_usage u), void *ctx, ms_err *e)
{
	return each_group(d, "SELECT messagefolderid, COUNT(*), COALESCE(SUM(messagesize), 0) FROM hm_messages"
	                  " WHERE messagetype = 2 GROUP BY messagefolderid", fn, ctx, e);
}

int ms_quota_domain(db *d, int64_t domain_id, ms_usage *u, ms_err *e)
{
	db_stmt *st;
	*u = (ms_usage){ 0 };
	if (ms_sql_prepare(d, "SELECT COUNT(*), COALESCE(SUM(m.messagesize), 0) FROM hm_messages m JOIN hm_accounts a"
	                   " ON a.accountid = m.messageaccountid WHERE m.messagetype = 2 AND a.accountdomainid = ?",
	                   PARAMS(P_INT(domain_id)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW)
		*u = (ms_usage){ db_column_int64(st, 0), db_column_int64(st, 1) };
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}
