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
#include <stdint.h>

#include "db/db.h"

#define MS_SCHEMA_VERSION_CREATED 5704

/* The 34 tables of the 5.7 schema, NULL-terminated. */
extern const char *const ms_schema_tables[];

/* Abstract column types, named for the value range hMailServer means.
 *            PostgreSQL   MySQL       SQLite
 * SMALL      smallint     tinyint     smallint
 * MEDIUM     (identity only: bigserial / mediumint / integer)
 * INT        integer      int         integer
 * BIGINT     bigint       bigint      bigint
 * VARCHAR    varchar(n)   varchar(n)  varchar(n)
 * TEXT       text         text        text
 * TIMESTAMP  timestamp    datetime    timestamp  */
typedef enum {
	MS_COL_SMALL,
	MS_COL_MEDIUM,
	MS_COL_INT,
	MS_COL_BIGINT,
	MS_COL_VARCHAR,
	MS_COL_TEXT,
	MS_COL_TIMESTAMP,
} ms_coltype;

enum {
	MS_COL_NULLABLE = 1 << 0,
	/* The table's generated key: PRIMARY KEY, filled by the database
	 * (PostgreSQL bigserial, MySQL AUTO_INCREMENT, SQLite AUTOINCREMENT). */
	MS_COL_IDENTITY = 1 << 1,
	/* A single-column UNIQUE constraint (unnamed: each database names it). */
	MS_COL_UNIQUE = 1 << 2,
	/* hMailServer's MySQL script declares the column unsigned. */
	MS_COL_MYSQL_UNSIGNED = 1 << 3,
	/* The PostgreSQL script makes this identity a 32-bit serial, not the
	 * bigserial it uses everywhere else. */
	MS_COL_PG_SERIAL = 1 << 4,
};

typedef struct ms_column {
	const char *name;
	ms_coltype type;
	int length;        /* VARCHAR: characters */
	int mysql_length;  /* VARCHAR on MySQL when its script differs; 0 = length */
	unsigned flags;
	const char *default_sql; /* a fixed SQL literal, or NULL for no DEFAULT */
} ms_column;

/* No table has more columns (a bound for arrays of column names). */
#define MS_SCHEMA_MAX_COLUMNS 64

#define MS_INDEX_MAX_COLUMNS 4

typedef struct ms_index {
	const char *name;
	bool unique;
	const char *columns[MS_INDEX_MAX_COLUMNS + 1]; /* NULL-terminated */
	/* MySQL only: key prefix length per column (0 = the whole column). */
	int mysql_prefix[MS_INDEX_MAX_COLUMNS];
} ms_index;

enum {
	/* MySQL: the script adds UNIQUE(identity) next to PRIMARY KEY(identity)
	 * (a redundant index named after the column) on every table but one. */
	MS_TBL_MYSQL_NO_UNIQUE_PK = 1 << 0,
	/* MySQL: the script gives this table no DEFAULT CHARSET=utf8, so it
	 * takes the database's default character set. */
	MS_TBL_MYSQL_DATABASE_CHARSET = 1 << 1,
};

typedef struct ms_table {
	const char *name;
	const ms_column *columns;
	size_t ncolumns;
	const ms_index *indexes;
	size_t nindexes;
	/* A multi-column UNIQUE constraint, NULL-terminated; NULL if none. */
	const char *const *unique_columns;
	unsigned flags;
} ms_table;

/* The 34 tables, in the order of ms_schema_tables: read-only data (every
 * table and column hMailServer has, so `mstore migrate` copies all of
 * them).  The description follows hMailServer's setup scripts column by
 * column; where the MySQL and PostgreSQL scripts disagree the difference
 * is a flag on the column or table. */
extern const ms_table ms_schema_5704[];
extern const size_t ms_schema_5704_count;

/* Write hm_dbversion's row (value `v`, a bound parameter): the store's
 * version, or migrate's in-progress mark. */
int ms_schema_write_version(db *d, int64_t v, ms_err *e);

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
