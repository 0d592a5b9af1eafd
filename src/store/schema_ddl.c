/* schema_ddl.c - render the schema description (schema_5704.c) as DDL.
 *
 * PostgreSQL and MySQL/MariaDB get exactly what hMailServer's own scripts
 * (CreateTablesPGSQL.sql, CreateTablesMYSQL.sql) give them: the catalog
 * after our DDL is identical, down to the names the databases choose for
 * unnamed constraints, which is why the constraints are left unnamed here
 * too (PostgreSQL: hm_accounts_pkey, hm_accounts_accountaddress_key;
 * MySQL: a UNIQUE index named after its first column).  Quirks of the
 * scripts are reproduced on purpose: MySQL's redundant UNIQUE(identity)
 * next to the PRIMARY KEY, its unsigned columns, its mediumint, its wider
 * greylisting address columns, the one table without DEFAULT CHARSET=utf8,
 * the two key-prefix lengths; PostgreSQL's bigserial everywhere except the
 * serial of hm_incoming_relays.  tests/schema checks all of it against the
 * live catalogs.
 *
 * SQLite: hMailServer has no SQLite script, so this is mstore's mapping,
 * chosen to behave like the other two and to keep every name:
 *  - Identity columns are `INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT`: the
 *    64-bit rowid, and AUTOINCREMENT so an id is never handed out twice,
 *    even after the row with the highest id was deleted -- what sequences
 *    and AUTO_INCREMENT guarantee, and what hMailServer relies on (it
 *    caches message and folder ids).
 *  - Other types keep the PostgreSQL script's names, in upper case (SQLite
 *    3.37 and later report INTEGER and TEXT in upper case whatever was
 *    written; upper case everywhere keeps the catalog the same on every
 *    version): SMALLINT, INTEGER, BIGINT, VARCHAR(n), TEXT, TIMESTAMP.
 *    SQLite gives them INTEGER, TEXT and (TIMESTAMP) NUMERIC affinity;
 *    timestamps are stored as 'YYYY-MM-DD HH:MM:SS' text, which NUMERIC
 *    affinity leaves as text.
 *    SQLite does not enforce varchar lengths; MySQL's unsigned has no
 *    counterpart (SQLite integers are signed 64-bit, wide enough).
 *  - NOT NULL and DEFAULTs as in the scripts.  UNIQUE constraints are
 *    unnamed table constraints as in the PostgreSQL script (SQLite names
 *    their indexes sqlite_autoindex_<table>_<n>); MySQL's redundant
 *    UNIQUE(identity) is left out, the rowid being unique by construction.
 *  - Indexes have the scripts' names and columns, without MySQL's prefix
 *    lengths.  Text compares with SQLite's default BINARY collation
 *    (case-sensitive, like PostgreSQL); mstore folds case in its queries
 *    (LOWER()) rather than relying on a case-insensitive collation.
 */
/* open_memstream: POSIX 2008, exposed by the build's -D_GNU_SOURCE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/init_rows.h"
#include "store/schema.h"
#include "store/schema_internal.h"

/* Type names per dialect (see schema_internal.h).  VARCHAR gets "(n)". */
static const char *const type_names[][MS_COL_TIMESTAMP + 1] = {
	[DB_PGSQL] = {
		[MS_COL_SMALL] = "smallint", [MS_COL_MEDIUM] = "integer", [MS_COL_INT] = "integer",
		[MS_COL_BIGINT] = "bigint", [MS_COL_VARCHAR] = "varchar", [MS_COL_TEXT] = "text",
		[MS_COL_TIMESTAMP] = "timestamp",
	},
	[DB_MYSQL] = {
		[MS_COL_SMALL] = "tinyint", [MS_COL_MEDIUM] = "mediumint", [MS_COL_INT] = "int",
		[MS_COL_BIGINT] = "bigint", [MS_COL_VARCHAR] = "varchar", [MS_COL_TEXT] = "text",
		[MS_COL_TIMESTAMP] = "datetime",
	},
	[DB_SQLITE] = {
		[MS_COL_SMALL] = "SMALLINT", [MS_COL_MEDIUM] = "INTEGER", [MS_COL_INT] = "INTEGER",
		[MS_COL_BIGINT] = "BIGINT", [MS_COL_VARCHAR] = "VARCHAR", [MS_COL_TEXT] = "TEXT",
		[MS_COL_TIMESTAMP] = "TIMESTAMP",
	},
};

/* The identity column's type and clauses, whole. */
static void put_identity(FILE *f, db_dialect d, const ms_column *c)
{
	switch (d) {
	case DB_PGSQL:
		fputs(c->flags & MS_COL_PG_SERIAL ? "serial NOT NULL" : "bigserial NOT NULL", f);
		break;
	case DB_MYSQL:
		fprintf(f, "%s NOT NULL AUTO_INCREMENT", type_names[d][c->type]);
		break;
	case DB_SQLITE:
		fputs("INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT", f);
		break;
	}
}

static void put_type(FILE *f, db_dialect d, const ms_column *c)
{
	fputs(type_names[d][c->type], f);
	if (c->type == MS_COL_VARCHAR)
		fprintf(f, "(%d)", d == DB_MYSQL && c->mysql_length ? c->mysql_length : c->length);
	if (d == DB_MYSQL && (c->flags & MS_COL_MYSQL_UNSIGNED))
		fputs(" unsigned", f);
}

static void put_column(FILE *f, db_dialect d, const ms_column *c)
{
	fprintf(f, "\t%s ", c->name);
	if (c->flags & MS_COL_IDENTITY) {
		put_identity(f, d, c);
		return;
	}
	put_type(f, d, c);
	if (!(c->flags & MS_COL_NULLABLE))
		fputs(" NOT NULL", f);
	if (c->default_sql)
		fprintf(f, " DEFAULT %s", c->default_sql);
}

static const ms_column *identity_column(const ms_table *t)
{
	for (size_t i = 0; i < t->ncolumns; i++)
		if (t->columns[i].flags & MS_COL_IDENTITY)
			return &t->columns[i];
	return NULL;
}

/* PRIMARY KEY and UNIQUE constraints, after the columns, unnamed. */
static void put_table_constraints(FILE *f, db_dialect d, const ms_table *t)
{
	const ms_column *id = identity_column(t);
	if (id && d != DB_SQLITE) /* SQLite: inline, AUTOINCREMENT requires it */
		fprintf(f, ",\n\tPRIMARY KEY (%s)", id->name);
	if (id && d == DB_MYSQL && !(t->flags & MS_TBL_MYSQL_NO_UNIQUE_PK))
		fprintf(f, ",\n\tUNIQUE (%s)", id->name);
	for (size_t i = 0; i < t->ncolumns; i++)
		if (t->columns[i].flags & MS_COL_UNIQUE)
			fprintf(f, ",\n\tUNIQUE (%s)", t->columns[i].name);
	if (t->unique_columns) {
		fputs(",\n\tUNIQUE (", f);
		for (const char *const *c = t->unique_columns; *c; c++)
			fprintf(f, "%s%s", c == t->unique_columns ? "" : ", ", *c);
		fputc(')', f);
	}
}

static void put_create_table(FILE *f, db_dialect d, const ms_table *t)
{
	fprintf(f, "CREATE TABLE %s (\n", t->name);
	for (size_t i = 0; i < t->ncolumns; i++) {
		put_column(f, d, &t->columns[i]);
		if (i + 1 < t->ncolumns)
			fputs(",\n", f);
	}
	put_table_constraints(f, d, t);
	fputs("\n)", f);
	if (d == DB_MYSQL && !(t->flags & MS_TBL_MYSQL_DATABASE_CHARSET))
		fputs(" DEFAULT CHARSET=utf8", f);
}

static void put_create_index(FILE *f, db_dialect d, const ms_table *t, const ms_index *x)
{
	fprintf(f, "CREATE %sINDEX %s ON %s (", x->unique ? "UNIQUE " : "", x->name, t->name);
	for (int i = 0; i < MS_INDEX_MAX_COLUMNS && x->columns[i]; i++) {
		fprintf(f, "%s%s", i ? ", " : "", x->columns[i]);
		if (d == DB_MYSQL && x->mysql_prefix[i])
			fprintf(f, "(%d)", x->mysql_prefix[i]);
	}
	fputc(')', f);
}

/* Run one of the put_* writers into a fresh string and hand it to emit. */
typedef struct ddl_item {
	db_dialect dialect;
	const ms_table *table;
	const ms_index *index; /* NULL: the CREATE TABLE */
} ddl_item;

static int emit_statement(const ddl_item *s, ms_schema_emit_fn emit, void *ctx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return -1;
	if (s->index)
		put_create_index(f, s->dialect, s->table, s->index);
	else
		put_create_table(f, s->dialect, s->table);
	if (fclose(f) != 0) {
		free(text);
		return -1;
	}
	int rc = emit(ctx, text);
	free(text);
	return rc;
}

int ms_schema_render(db_dialect dialect, ms_schema_emit_fn emit, void *ctx)
{
	for (size_t i = 0; i < ms_schema_5704_count; i++) {
		const ms_table *t = &ms_schema_5704[i];
		ddl_item s = { dialect, t, NULL };
		int rc = emit_statement(&s, emit, ctx);
		for (size_t j = 0; rc == 0 && j < t->nindexes; j++) {
			s.index = &t->indexes[j];
			rc = emit_statement(&s, emit, ctx);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int append_statement(void *ctx, const char *statement)
{
	return fprintf((FILE *)ctx, "%s;\n", statement) < 0 ? -1 : 0;
}

char *ms_schema_ddl(db_dialect dialect)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	int rc = ms_schema_render(dialect, append_statement, f);
	if (rc == 0)
		rc = ms_init_rows_print(dialect, f);
	/* The version row last, as ms_schema_create writes it: a store
	 * without it is a half-created one. */
	if (rc == 0)
		fprintf(f, "INSERT INTO hm_dbversion (value) VALUES (%d);\n", MS_SCHEMA_VERSION_CREATED);
	if (fclose(f) != 0 || rc != 0) {
		free(text);
		return NULL;
	}
	return text;
}
