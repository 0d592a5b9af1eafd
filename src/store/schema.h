/* schema.h - the hMailServer 5.7 database schema (version 5704).
 *
 * mstore creates exactly the tables, columns, indexes and unique
 * constraints that hMailServer's own setup scripts create, on each of the
 * three databases, so a store made by `mstore init` can be handed to
 * hMailServer and a store made by hMailServer is understood by mstore.
 * The schema is described once, as data (schema_5704.c), and rendered to
 * each database's DDL (schema_ddl.c).
 */
#ifndef MS_SCHEMA_H
#define MS_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

#define MS_SCHEMA_VERSION_CREATED 5704

/* The 34 tables of the 5.7 schema, NULL-terminated. */
extern const char *const ms_schema_tables[];

/* Versions whose message tables mstore understands: 5400, 5502, 5600-5699
 * (all of 5.6), 5704. */
bool ms_schema_version_known(int version);

/* Create every table and index, insert the default rows of hMailServer's
 * setup scripts (init_rows.c) and hm_dbversion = 5704.  Refuses a
 * database that already has hm_ tables (MS_E_EXISTS). */
int ms_schema_create(db *d, ms_err *e);

/* Read hm_dbversion.value.  A database without the table is an error
 * (MS_E_SCHEMA: "not an hMailServer database"). */
int ms_schema_read_version(db *d, int *version, ms_err *e);

/* Compare a live database with the 5.7 schema: every table and every
 * named index must exist.  `problem` is called once per difference
 * ("table hm_acl is missing"). */
int ms_schema_check(db *d, void (*problem)(void *ctx, const char *what), void *ctx, ms_err *e);

/* Render the DDL for one dialect into a newly allocated string (statements
 * separated by ";\n"), for `mstore init --print-sql` and for tests. */
char *ms_schema_ddl(db_dialect dialect);

#endif
