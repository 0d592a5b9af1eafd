/* schema.c - create a 5.7 store, read and judge a store's schema version. */
#include "db/txn.h"
#include "store/schema.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include "store/init_rows.h"
#include "store/schema_internal.h"

bool ms_schema_version_known(int version)
{
	/* The message tables are unchanged since 5.2; these are the versions
	 * the 5.4, 5.5, 5.6 and 5.7 setups and upgrades leave behind. */
	return version == 5400 || version == 5502 || (version >= 5600 && version <= 5699) ||
	       version == MS_SCHEMA_VERSION_CREATED;
}

/* Catalog queries, fixed SQL.  Case is folded where the database treats
 * table names case-insensitively (SQLite always, MySQL on some systems). */
static const char *const count_hm_tables_sql[] = {
	[DB_SQLITE] = "SELECT COUNT(*) FROM sqlite_master"
	              " WHERE type = 'table' AND lower(substr(name, 1, 3)) = 'hm_'",
	[DB_PGSQL] = "SELECT COUNT(*) FROM pg_catalog.pg_tables"
	             " WHERE schemaname = current_schema() AND substr(tablename, 1, 3) = 'hm_'",
	[DB_MYSQL] = "SELECT COUNT(*) FROM information_schema.tables"
	             " WHERE table_schema = DATABASE() AND lower(substr(table_name, 1, 3)) = 'hm_'",
};

/* Whether hm_dbversion exists where an unqualified SELECT would find it
 * (PostgreSQL: anywhere on the search path). */
static const char *const has_version_table_sql[] = {
	[DB_SQLITE] = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND lower(name) = 'hm_dbversion'",
	[DB_PGSQL] = "SELECT COUNT(*) FROM (SELECT to_regclass('hm_dbversion') AS t) AS r WHERE t IS NOT NULL",
	[DB_MYSQL] = "SELECT COUNT(*) FROM information_schema.tables"
	             " WHERE table_schema = DATABASE() AND lower(table_name) = 'hm_dbversion'",
};

/* The one row of hm_dbversion: none or several is a broken store. */
static int read_version_row(db *d, int *version, ms_err *e)
{
	db_stmt *st;
	if (db_prepare(d, "SELECT value FROM hm_dbversion", &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ERROR)
		goto fail;
	if (rc == DB_DONE) {
		ms_err_set(e, MS_E_SCHEMA, "hm_dbversion is empty: the store was not completely created "
		           "(an interrupted mstore init or hMailServer setup?)");
		goto fail;
	}
	int64_t v = db_column_int64(st, 0);
	if (db_column_is_null(st, 0) || v < INT_MIN || v > INT_MAX) {
		ms_err_set(e, MS_E_SCHEMA, "hm_dbversion.value is %s, not a schema version",
		           db_column_is_null(st, 0) ? "NULL" : db_column_text(st, 0));
		goto fail;
	}
	rc = db_step(st, e);
	if (rc == DB_ERROR)
		goto fail;
	if (rc == DB_ROW) {
		ms_err_set(e, MS_E_SCHEMA, "hm_dbversion holds more than one row; hMailServer keeps exactly one");
		goto fail;
	}
	db_finalize(st);
	*version = (int)v;
	return 0;
fail:
	db_finalize(st);
	return -1;
}

int ms_schema_read_version(db *d, int *version, ms_err *e)
{
	int64_t has_table;
	if (db_query_int64(d, has_version_table_sql[db_get_dialect(d)], &has_table, e) < 0)
		return -1;
	if (has_table == 0)
		return ms_err_set(e, MS_E_SCHEMA, "not an hMailServer database: no hm_dbversion table");
	return read_version_row(d, version, e);
}

/* mstore init never writes into a database that already has hm_ tables:
 * a store, or the remains of one, is not ours to overwrite. */
static int refuse_existing_tables(db *d, ms_err *e)
{
	int64_t n;
	if (db_query_int64(d, count_hm_tables_sql[db_get_dialect(d)], &n, e) < 0)
		return -1;
	if (n == 0)
		return 0;
	int version;
	ms_err why;
	if (ms_schema_read_version(d, &version, &why) == 0)
		return ms_err_set(e, MS_E_EXISTS, "database already holds an hMailServer store "
		                  "(hm_dbversion = %d); mstore init needs a database without hm_ tables", version);
	return ms_err_set(e, MS_E_EXISTS, "database already has hm_ tables (%" PRId64 ") but no complete "
	                  "store: %s; mstore init needs a database without hm_ tables", n, why.msg);
}

typedef struct exec_ctx {
	db *d;
	ms_err *e;
} exec_ctx;

static int exec_statement(void *ctx, const char *statement)
{
	exec_ctx *x = ctx;
	return db_exec(x->d, statement, x->e);
}

int ms_schema_write_version(db *d, int64_t v, ms_err *e)
{
	db_stmt *st;
	if (db_prepare(d, MS_SCHEMA_VERSION_INSERT, &st, e) < 0)
		return -1;
	int rc = db_bind_int64(st, 1, v, e) < 0 ? DB_ERROR : db_step(st, e);
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

static int create_everything(db *d, ms_err *e)
{
	exec_ctx x = { d, e };
	int rc = ms_schema_render(db_get_dialect(d), exec_statement, &x);
	if (rc != 0) {
		if (rc == -1 && (!e || e->code == MS_OK))
			ms_err_set(e, MS_E_NOMEM, "out of memory rendering the schema");
		return -1;
	}
	/* The default rows hMailServer's setup scripts insert, then the
	 * version row last, so that a store whose creation was cut short has
	 * no version row and is recognised as incomplete.  MySQL committed
	 * each CREATE: the rows get a transaction of their own there. */
	db_txn *t = NULL;
	if (db_get_dialect(d) == DB_MYSQL && db_txn_begin(d, &t, e) < 0)
		return -1;
	if (ms_init_rows_insert(d, e) < 0 || ms_schema_write_version(d, MS_SCHEMA_VERSION_CREATED, e) < 0) {
		db_txn_rollback(&t);
		return -1;
	}
	return t ? db_txn_commit(&t, e) : 0;
}

int ms_schema_create(db *d, ms_err *e)
{
	ms_err_clear(e);
	/* PostgreSQL and SQLite roll DDL back: all or nothing.  MySQL commits
	 * each CREATE implicitly, so there the missing version row is what
	 * marks an interrupted creation. */
	bool transactional = db_get_dialect(d) != DB_MYSQL;
	db_txn *t = NULL;
	if (transactional && db_txn_begin(d, &t, e) < 0)
		return -1;
	if (refuse_existing_tables(d, e) < 0)
		goto fail;
	if (create_everything(d, e) < 0) {
		if (transactional)
			ms_err_prefix(e, "creating the hMailServer %d schema", MS_SCHEMA_VERSION_CREATED);
		else
			ms_err_prefix(e, "creating the hMailServer %d schema (MySQL cannot roll DDL back: the hm_ "
			              "tables created so far remain, without a version row; drop them before "
			              "running mstore init again)", MS_SCHEMA_VERSION_CREATED);
		goto fail;
	}
	return t ? db_txn_commit(&t, e) : 0;
fail:
	db_txn_rollback(&t);
	return -1;
}

/* ---- checking a live database against the schema (reconstruct -m) ---------- */

static int catalog_has(db *d, bool index, const char *name, ms_err *e)
{
	static const char *const table_sql[] = {
		[DB_SQLITE] = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
		[DB_PGSQL] = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
		             " AND table_name = ?",
		[DB_MYSQL] = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
	};
	static const char *const index_sql[] = {
		[DB_SQLITE] = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?",
		[DB_PGSQL] = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?",
		[DB_MYSQL] = "SELECT COUNT(*) FROM information_schema.statistics"
		             " WHERE table_schema = DATABASE() AND index_name = ?",
	};
	db_stmt *st;
	if (db_prepare(d, (index ? index_sql : table_sql)[db_get_dialect(d)], &st, e) < 0)
		return -1;
	int rc = db_bind_text(st, 1, name, e) < 0 ? DB_ERROR : db_step(st, e);
	int64_t n = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_finalize(st);
	return rc == DB_ERROR ? -1 : n > 0;
}

int ms_schema_check(db *d, void (*problem)(void *ctx, const char *what), void *ctx, ms_err *e)
{
	char what[300];
	for (size_t t = 0; t < ms_schema_5704_count; t++) {
		const ms_table *tbl = &ms_schema_5704[t];
		int has = catalog_has(d, false, tbl->name, e);
		if (has < 0)
			return -1;
		if (!has) {
			snprintf(what, sizeof what, "table %s is missing", tbl->name);
			problem(ctx, what);
			continue;
		}
		for (size_t i = 0; i < tbl->nindexes; i++) {
			if ((has = catalog_has(d, true, tbl->indexes[i].name, e)) < 0)
				return -1;
			if (!has) {
				snprintf(what, sizeof what, "index %s on %s is missing", tbl->indexes[i].name, tbl->name);
				problem(ctx, what);
			}
		}
	}
	return 0;
}
