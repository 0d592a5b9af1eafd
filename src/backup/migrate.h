/* migrate.h - `mstore migrate` (issue 17 item 4): copy a whole store from
 * one database to another (SQLite, PostgreSQL, MariaDB, any pair) keeping
 * every row of every table of the 5.7 schema and every id, then compare
 * both databases table by table.
 *
 * The target is a database without hm_ tables (the schema is created) or
 * an empty store (mstore init's default rows only).  While the copy runs
 * hm_dbversion holds MS_MIGRATE_IN_PROGRESS, which no command accepts as a
 * version: an interrupted migration is recognised by it, and only such a
 * target is emptied by a rerun, which then copies everything again.  The
 * real version row is written last.  The data directory is not touched:
 * both stores name the same message files.
 */
#ifndef MS_BACKUP_MIGRATE_H
#define MS_BACKUP_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "util/err.h"

/* hm_dbversion.value while a migration fills the target. */
#define MS_MIGRATE_IN_PROGRESS (-5704)
#define MS_MIGRATE_MAX_TABLES 40

typedef struct ms_migrate_table {
	const char *name;          /* the schema's, static */
	int64_t src_rows, dst_rows;
	char src_digest[65], dst_digest[65]; /* SHA-256, hex; empty before the comparison */
} ms_migrate_table;

typedef enum ms_migrate_target {
	MS_MIGRATE_TARGET_FRESH,   /* no hm_ tables: the schema is created */
	MS_MIGRATE_TARGET_EMPTY,   /* an empty store: its default rows are replaced */
	MS_MIGRATE_TARGET_RESUME,  /* an interrupted migration: emptied and copied again */
} ms_migrate_target;

typedef struct ms_migrate_report {
	ms_migrate_table tables[MS_MIGRATE_MAX_TABLES];
	size_t ntables;
	ms_migrate_target target;
} ms_migrate_report;

/* Called after each batch (and once at 0) while a table is copied. */
typedef void ms_migrate_progress_fn(void *ctx, const char *table, int64_t done, int64_t total);

/* The source must be a complete 5.7 store (hm_dbversion 5704). */
int ms_migrate_check_source(db *src, ms_err *e);

/* Decide what the target is (r->target) and refuse a store that holds
 * anything beyond mstore init's default rows, or hm_ tables that are not a
 * store.  With `dry_run` nothing is written and `dst` may be NULL (a
 * SQLite file that does not exist yet: a fresh target).  Otherwise the
 * schema is created if missing, every table emptied and hm_dbversion set
 * to MS_MIGRATE_IN_PROGRESS, in one transaction where the database allows. */
int ms_migrate_prepare_target(db *dst, bool dry_run, ms_migrate_report *r, ms_err *e);

/* Row counts of the source's tables into r->tables[].src_rows (what a dry
 * run reports). */
int ms_migrate_count_source(db *src, ms_migrate_report *r, ms_err *e);

/* Copy every table from one consistent view of the source, in batches of
 * one transaction each, ids unchanged; set the target's identity
 * sequences past the copied ids (and past the source's own next id); write
 * the version row last. */
int ms_migrate_copy(db *src, db *dst, ms_migrate_progress_fn *progress, void *pctx,
                    ms_migrate_report *r, ms_err *e);

/* Row count and SHA-256 over every column in id order (values normalised:
 * integers as numbers, timestamps as YYYY-MM-DD HH:MM:SS) of each table on
 * both sides.  Returns the number of tables that differ, -1 on error. */
int ms_migrate_compare(db *src, db *dst, ms_migrate_report *r, ms_err *e);

#endif
