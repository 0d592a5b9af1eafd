/* schema_internal.h - the 5.7 schema as data, shared by the renderer
 * (schema_ddl.c), the creator (schema.c) and the unit test.
 *
 * The description follows hMailServer's setup scripts column by column.
 * Where the MySQL and PostgreSQL scripts disagree (they do, in a handful of
 * places) the difference is recorded as a flag on the column or table, so
 * each database gets exactly what hMailServer's own script gives it.
 */
#ifndef MS_SCHEMA_INTERNAL_H
#define MS_SCHEMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

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

/* The 34 tables, in the order of ms_schema_tables. */
extern const ms_table ms_schema_5704[];
extern const size_t ms_schema_5704_count;

/* Render the DDL that creates the tables for `dialect`: per table its
 * CREATE TABLE, then its CREATE INDEXes.  `emit` is called once per
 * statement (no trailing ';'); a non-zero return from it stops the
 * rendering and is returned.  Returns -1 when out of memory.  The version
 * row is not part of it: ms_schema_create inserts it with a bound value,
 * ms_schema_ddl prints it. */
typedef int (*ms_schema_emit_fn)(void *ctx, const char *statement);
int ms_schema_render(db_dialect dialect, ms_schema_emit_fn emit, void *ctx);

/* The final statement, which marks the store complete. */
#define MS_SCHEMA_VERSION_INSERT "INSERT INTO hm_dbversion (value) VALUES (?)"

#endif
