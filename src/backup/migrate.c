/* migrate.c - copy a whole store between databases, ids unchanged, and
 * compare both sides table by table (migrate.h).
 *
 * The tables and columns come from the schema description
 * (store/schema.h), so every table and column hMailServer has is
 * copied, including those mstore never reads (rules, routes, fetch
 * accounts, greylisting): a column added to the description is migrated
 * without a change here.  The SQL is built from those static names only;
 * every value travels as a bound parameter.
 */
#include <assert.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/migrate.h"
#include "db/txn.h"
#include "store/schema.h"
#include "util/testhook.h"

/* Rows per transaction: big enough that commits do not dominate, small
 * enough that a kill loses little and no server holds a huge transaction. */
#define BATCH_ROWS 20000
/* Bound values per multi-row INSERT: below every server's limit
 * (SQLite 32766, PostgreSQL and MariaDB 65535). */
#define MAX_PARAMS 8000
#define MAX_ROWS_PER_INSERT 256

/* The tables mstore init fills with hMailServer's default rows
 * (store/init_rows.c): an empty store has rows there and nowhere else. */
static const char *const default_row_tables[] = {
	"hm_securityranges", "hm_servermessages", "hm_dnsbl", "hm_surblservers",
	"hm_blocked_attachments", "hm_settings", "hm_tcpipports", "hm_dbversion", NULL,
};

static bool has_default_rows(const char *table)
{
	for (const char *const *t = default_row_tables; *t; t++)
		if (strcmp(*t, table) == 0)
			return true;
	return false;
}

static const ms_column *identity_of(const ms_table *t)
{
	for (size_t i = 0; i < t->ncolumns; i++)
		if (t->columns[i].flags & MS_COL_IDENTITY)
			return &t->columns[i];
	return NULL;
}

static bool is_integer(const ms_column *c)
{
	return c->type == MS_COL_SMALL || c->type == MS_COL_MEDIUM || c->type == MS_COL_INT ||
	       c->type == MS_COL_BIGINT;
}

static void report_init(ms_migrate_report *r)
{
	assert(ms_schema_5704_count <= MS_MIGRATE_MAX_TABLES);
	r->ntables = ms_schema_5704_count;
	for (size_t i = 0; i < r->ntables; i++) {
		memset(&r->tables[i], 0, sizeof r->tables[i]);
		r->tables[i].name = ms_schema_5704[i].name;
	}
}

/* "SELECT c1, c2, ... FROM t" with ORDER BY the identity when it has one. */
static char *select_sql(const ms_table *t)
{
	GString *s = g_string_new("SELECT ");
	for (size_t i = 0; i < t->ncolumns; i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", t->columns[i].name);
	g_string_append_printf(s, " FROM %s", t->name);
	const ms_column *id = identity_of(t);
	if (id)
		g_string_append_printf(s, " ORDER BY %s", id->name);
	return g_string_free(s, FALSE);
}

/* "INSERT INTO t (c1, ...) VALUES (?, ...), ... " for `rows` rows. */
static char *insert_sql(const ms_table *t, size_t rows)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "INSERT INTO %s (", t->name);
	for (size_t i = 0; i < t->ncolumns; i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", t->columns[i].name);
	g_string_append(s, ") VALUES ");
	for (size_t r = 0; r < rows; r++) {
		g_string_append(s, r ? ", (" : "(");
		for (size_t i = 0; i < t->ncolumns; i++)
			g_string_append(s, i ? ", ?" : "?");
		g_string_append_c(s, ')');
	}
	return g_string_free(s, FALSE);
}

static int count_rows(db *d, const ms_table *t, int64_t *n, ms_err *e)
{
	char *sql = g_strdup_printf("SELECT COUNT(*) FROM %s", t->name);
	int rc = db_query_int64(d, sql, n, e);
	g_free(sql);
	return rc < 0 ? -1 : 0;
}

/* ---- the source ----------------------------------------------------------- */

int ms_migrate_check_source(db *src, ms_err *e)
{
	int v;
	if (ms_schema_read_version(src, &v, e) < 0)
		return ms_err_prefix(e, "source %s", db_name(src));
	if (v != MS_SCHEMA_VERSION_CREATED)
		return ms_err_set(e, MS_E_SCHEMA, "source %s: schema version %d; migrate copies version %d stores "
		                  "only (hMailServer upgrades older ones)", db_name(src), v, MS_SCHEMA_VERSION_CREATED);
	return 0;
}

/* One consistent view of the source for the whole copy or comparison:
 * SQLite's read transaction is one already; PostgreSQL and MariaDB need
 * REPEATABLE READ (mstore's connections default to READ COMMITTED). */
static int begin_snapshot(db *src, db_txn **t, ms_err *e)
{
	if (db_get_dialect(src) == DB_MYSQL &&
	    db_exec(src, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", e) < 0)
		return -1;
	if (db_txn_begin(src, t, e) < 0)
		return -1;
	if (db_get_dialect(src) == DB_PGSQL &&
	    db_exec(src, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", e) < 0) {
		db_txn_rollback(t);
		return -1;
	}
	return 0;
}

int ms_migrate_count_source(db *src, ms_migrate_report *r, ms_err *e)
{
	report_init(r);
	for (size_t i = 0; i < r->ntables; i++)
		if (count_rows(src, &ms_schema_5704[i], &r->tables[i].src_rows, e) < 0)
			return ms_err_prefix(e, "source %s, %s", db_name(src), r->tables[i].name);
	return 0;
}

/* ---- the target ----------------------------------------------------------- */

/* An existing store is a target only when it holds nothing but init's
 * default rows; and a migration's leftovers are one. */
static int classify_existing(db *dst, ms_migrate_report *r, ms_err *e)
{
	int v;
	ms_err why = { 0 };
	if (ms_schema_read_version(dst, &v, &why) < 0)
		return ms_err_set(e, MS_E_EXISTS, "target %s has hm_ tables but is no complete store (%s): "
		                  "migrate needs an empty store or a database without hm_ tables",
		                  db_name(dst), why.msg);
	if (v == MS_MIGRATE_IN_PROGRESS) {
		r->target = MS_MIGRATE_TARGET_RESUME;
		return 0;
	}
	if (v != MS_SCHEMA_VERSION_CREATED)
		return ms_err_set(e, MS_E_SCHEMA, "target %s is a store of schema version %d, not %d",
		                  db_name(dst), v, MS_SCHEMA_VERSION_CREATED);
	for (size_t i = 0; i < ms_schema_5704_count; i++) {
		const ms_table *t = &ms_schema_5704[i];
		int64_t n;
		if (has_default_rows(t->name))
			continue;
		if (count_rows(dst, t, &n, e) < 0)
			return ms_err_prefix(e, "target %s", db_name(dst));
		if (n > 0)
			return ms_err_set(e, MS_E_EXISTS, "target %s is not empty: %s holds %" PRId64 " row%s; "
			                  "migrate writes only into an empty store (mstore init) or a database "
			                  "without hm_ tables", db_name(dst), t->name, n, n == 1 ? "" : "s");
	}
	r->target = MS_MIGRATE_TARGET_EMPTY;
	return 0;
}

/* Every table emptied (init's default rows, or what an interrupted run
 * copied) and the in-progress mark set, all or nothing. */
static int empty_and_mark(db *dst, ms_err *e)
{
	db_txn *t;
	if (db_txn_begin(dst, &t, e) < 0)
		return -1;
	for (size_t i = 0; i < ms_schema_5704_count; i++) {
		char *sql = g_strdup_printf("DELETE FROM %s", ms_schema_5704[i].name);
		int rc = db_exec(dst, sql, e);
		g_free(sql);
		if (rc < 0)
			goto fail;
	}
	if (ms_schema_write_version(dst, MS_MIGRATE_IN_PROGRESS, e) < 0)
		goto fail;
	return db_txn_commit(&t, e);
fail:
	db_txn_rollback(&t);
	return -1;
}

int ms_migrate_prepare_target(db *dst, bool dry_run, ms_migrate_report *r, ms_err *e)
{
	r->target = MS_MIGRATE_TARGET_FRESH;
	if (dry_run) {
		int v;
		ms_err why = { 0 };
		/* No hm_dbversion table: nothing of a store there (a dry run
		 * cannot tell it from stray hm_ tables without creating). */
		if (!dst || (ms_schema_read_version(dst, &v, &why) < 0 &&
		             strstr(why.msg, "no hm_dbversion table")))
			return 0;
		return classify_existing(dst, r, e);
	}
	assert(dst);
	if (ms_schema_create(dst, e) < 0) {
		if (e->code != MS_E_EXISTS)
			return ms_err_prefix(e, "target %s", db_name(dst));
		if (classify_existing(dst, r, e) < 0)
			return -1;
	}
	if (empty_and_mark(dst, e) < 0)
		return ms_err_prefix(e, "preparing the target %s", db_name(dst));
	return 0;
}

/* ---- copying -------------------------------------------------------------- */

typedef struct cell {
	bool null;
	int64_t i;
	char *s;
} cell;

typedef struct copier {
	db *src, *dst;
	const ms_table *t;
	size_t per_insert;         /* rows a full INSERT takes */
	db_stmt *full;             /* INSERT of per_insert rows */
	cell *rows;                /* per_insert * ncolumns values waiting */
	size_t pending;            /* rows in `rows` */
	int64_t max_id;            /* highest identity value copied */
	ms_migrate_progress_fn *progress;
	void *pctx;
} copier;

static void clear_pending(copier *c)
{
	for (size_t i = 0; i < c->pending * c->t->ncolumns; i++)
		g_free(c->rows[i].s);
	c->pending = 0;
}

static int bind_rows(copier *c, db_stmt *st, ms_err *e)
{
	size_t nc = c->t->ncolumns;
	for (size_t i = 0; i < c->pending * nc; i++) {
		const cell *v = &c->rows[i];
		int p = (int)i + 1, rc;
		if (v->null)
			rc = db_bind_null(st, p, e);
		else if (is_integer(&c->t->columns[i % nc]))
			rc = db_bind_int64(st, p, v->i, e);
		else
			rc = db_bind_text(st, p, v->s, e);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Write the waiting rows: the prepared full INSERT, or one made for a
 * short tail. */
static int flush_rows(copier *c, ms_err *e)
{
	if (c->pending == 0)
		return 0;
	db_stmt *st = c->full, *tail = NULL;
	if (c->pending < c->per_insert) {
		char *sql = insert_sql(c->t, c->pending);
		int rc = db_prepare(c->dst, sql, &tail, e);
		g_free(sql);
		if (rc < 0)
			return -1;
		st = tail;
	}
	int rc = bind_rows(c, st, e) < 0 || db_step(st, e) == DB_ERROR || db_reset(st, e) < 0 ? -1 : 0;
	db_finalize(tail);
	clear_pending(c);
	return rc;
}

/* An identity column's value read: the highest one sets the sequence. */
static int64_t note_id(copier *c, const ms_column *col, int64_t v)
{
	if ((col->flags & MS_COL_IDENTITY) && v > c->max_id)
		c->max_id = v;
	return v;
}

static void read_row(copier *c, db_stmt *sel)
{
	cell *row = &c->rows[c->pending * c->t->ncolumns];
	for (size_t i = 0; i < c->t->ncolumns; i++) {
		const ms_column *col = &c->t->columns[i];
		row[i].null = db_column_is_null(sel, (int)i);
		row[i].s = NULL;
		if (row[i].null)
			continue;
		if (is_integer(col)) {
			row[i].i = note_id(c, col, db_column_int64(sel, (int)i));
		} else {
			row[i].s = g_strdup(db_column_text(sel, (int)i));
		}
	}
	c->pending++;
}

/* Rows from the source's SELECT into the target, a transaction per
 * BATCH_ROWS. */
static int copy_rows(copier *c, db_stmt *sel, int64_t total, ms_err *e)
{
	int64_t done = 0;
	db_txn *t = NULL;
	int rc;
	while ((rc = db_step(sel, e)) == DB_ROW) {
		if (!t && db_txn_begin(c->dst, &t, e) < 0)
			return -1;
		read_row(c, sel);
		done++;
		if (c->pending == c->per_insert && flush_rows(c, e) < 0)
			goto fail;
		if (done % BATCH_ROWS == 0) {
			if (flush_rows(c, e) < 0 || db_txn_commit(&t, e) < 0)
				goto fail;
			if (c->progress)
				c->progress(c->pctx, c->t->name, done, total);
		}
	}
	if (rc == DB_ERROR)
		goto fail;
	if (t && (flush_rows(c, e) < 0 || db_txn_commit(&t, e) < 0))
		goto fail;
	if (c->progress)
		c->progress(c->pctx, c->t->name, done, total);
	return 0;
fail:
	clear_pending(c);
	db_txn_rollback(&t);
	return -1;
}

/* PostgreSQL: the rows go as COPY FROM STDIN, one load per BATCH_ROWS
 * in a transaction each (pg_restore's way: 100,000 messages' rows took
 * 1.8 times pg_restore as multi-row INSERTs). */
/* End the load in progress and commit its transaction; *load is NULL
 * after, whatever happened (a failed finish has already ended it). */
static int finish_load(db_copy **load, db_txn **t, ms_err *e)
{
	db_copy *l = *load;
	*load = NULL;
	return db_copy_finish(l, e) < 0 || db_txn_commit(t, e) < 0 ? -1 : 0;
}

static int copy_rows_pg(copier *c, db_stmt *sel, int64_t total, ms_err *e)
{
	const char *cols[MS_SCHEMA_MAX_COLUMNS];
	size_t nc = c->t->ncolumns;
	assert(nc <= MS_SCHEMA_MAX_COLUMNS);
	for (size_t i = 0; i < nc; i++)
		cols[i] = c->t->columns[i].name;
	int64_t done = 0;
	db_txn *t = NULL;
	db_copy *load = NULL;
	int rc;
	while ((rc = db_step(sel, e)) == DB_ROW) {
		if (!t && (db_txn_begin(c->dst, &t, e) < 0 || db_copy_begin(c->dst, c->t->name, cols, nc, &load, e) < 0))
			goto fail;
		for (size_t i = 0; i < nc; i++) {
			const ms_column *col = &c->t->columns[i];
			if (db_column_is_null(sel, (int)i) || !is_integer(col)) {
				db_copy_text(load, db_column_text(sel, (int)i));
				continue;
			}
			db_copy_int64(load, note_id(c, col, db_column_int64(sel, (int)i)));
		}
		if (db_copy_end_row(load, e) < 0)
			goto fail;
		if (++done % BATCH_ROWS == 0) {
			if (finish_load(&load, &t, e) < 0)
				goto fail;
			if (c->progress)
				c->progress(c->pctx, c->t->name, done, total);
		}
	}
	if (rc == DB_ERROR)
		goto fail;
	if (load && finish_load(&load, &t, e) < 0)
		goto fail;
	if (c->progress)
		c->progress(c->pctx, c->t->name, done, total);
	return 0;
fail:
	db_copy_abort(load);
	db_txn_rollback(&t);
	return -1;
}

/* ---- identity sequences -------------------------------------------------- */

/* The id the source would hand out next (its sequence may be past the
 * highest id left, after deletions; hMailServer relies on ids never being
 * reused).  0 when the source keeps none. */
static int source_next_id(db *src, const ms_table *t, const ms_column *id, int64_t *next, ms_err *e)
{
	static const char *const sql[] = {
		[DB_SQLITE] = "SELECT seq + 1 FROM sqlite_sequence WHERE name = ?",
		[DB_PGSQL] = "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence(?, ?) AS regclass)) + 1",
		[DB_MYSQL] = "SELECT AUTO_INCREMENT FROM information_schema.tables"
		             " WHERE table_schema = DATABASE() AND table_name = ?",
	};
	db_stmt *st;
	*next = 0;
	if (db_prepare(src, sql[db_get_dialect(src)], &st, e) < 0)
		return -1;
	int rc = db_bind_text(st, 1, t->name, e);
	if (rc == 0 && db_get_dialect(src) == DB_PGSQL)
		rc = db_bind_text(st, 2, id->name, e);
	if (rc == 0)
		rc = db_step(st, e);
	if (rc == DB_ROW && !db_column_is_null(st, 0))
		*next = db_column_int64(st, 0);
	db_finalize(st);
	return rc == DB_ERROR || rc < 0 ? -1 : 0;
}

/* Run a statement once, binding in order: a, b (each when not NULL), n
 * (when not 0). */
static int step_once(db *d, const char *sql, const char *a, const char *b, int64_t n, ms_err *e)
{
	db_stmt *st;
	if (db_prepare(d, sql, &st, e) < 0)
		return -1;
	int p = 1, rc = 0;
	if (a)
		rc = db_bind_text(st, p++, a, e);
	if (rc == 0 && b)
		rc = db_bind_text(st, p++, b, e);
	if (rc == 0 && n != 0)
		rc = db_bind_int64(st, p, n, e);
	if (rc == 0)
		rc = db_step(st, e);
	db_finalize(st);
	return rc == DB_ERROR || rc < 0 ? -1 : 0;
}

/* Make the target's next generated id `next`: SQLite's sqlite_sequence,
 * PostgreSQL's serial sequence, MariaDB's AUTO_INCREMENT. */
static int set_next_id(db *dst, const ms_table *t, const ms_column *id, int64_t next, ms_err *e)
{
	assert(next >= 1);
	switch (db_get_dialect(dst)) {
	case DB_SQLITE:
		if (step_once(dst, "DELETE FROM sqlite_sequence WHERE name = ?", t->name, NULL, 0, e) < 0)
			return -1;
		return next == 1 ? 0 : step_once(dst, "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
		                                 t->name, NULL, next - 1, e);
	case DB_PGSQL:
		if (next == 1)
			return step_once(dst, "SELECT setval(CAST(pg_get_serial_sequence(?, ?) AS regclass), 1, false)",
			                 t->name, id->name, 0, e);
		return step_once(dst, "SELECT setval(CAST(pg_get_serial_sequence(?, ?) AS regclass), "
		                 "CAST(? AS bigint), true)", t->name, id->name, next - 1, e);
	case DB_MYSQL: {
		/* DDL takes no parameters: the value is a number computed here. */
		char *sql = g_strdup_printf("ALTER TABLE %s AUTO_INCREMENT = %" PRId64, t->name, next);
		int rc = db_exec(dst, sql, e);
		g_free(sql);
		return rc;
	}
	}
	return ms_err_set(e, MS_E_INTERNAL, "unknown database kind");
}

static int copy_table(copier *c, int64_t *rows, ms_err *e)
{
	const ms_table *t = c->t;
	if (count_rows(c->src, t, rows, e) < 0)
		return -1;
	size_t per = MAX_PARAMS / t->ncolumns;
	c->per_insert = per > MAX_ROWS_PER_INSERT ? MAX_ROWS_PER_INSERT : per;
	c->rows = g_new0(cell, c->per_insert * t->ncolumns);
	c->pending = 0;
	c->max_id = 0;
	char *ins = insert_sql(t, c->per_insert), *sel_sql = select_sql(t);
	db_stmt *sel = NULL;
	bool pg = db_copy_supported(c->dst);
	int rc = (!pg && db_prepare(c->dst, ins, &c->full, e) < 0) || db_prepare(c->src, sel_sql, &sel, e) < 0 ||
	         (pg ? copy_rows_pg(c, sel, *rows, e) : copy_rows(c, sel, *rows, e)) < 0 ? -1 : 0;
	db_finalize(sel);
	db_finalize(c->full);
	c->full = NULL;
	g_free(ins);
	g_free(sel_sql);
	g_free(c->rows);
	const ms_column *id = identity_of(t);
	if (rc == 0 && id) {
		int64_t next;
		rc = source_next_id(c->src, t, id, &next, e);
		if (rc == 0)
			rc = set_next_id(c->dst, t, id, next > c->max_id ? next : c->max_id + 1, e);
	}
	return rc;
}

int ms_migrate_copy(db *src, db *dst, ms_migrate_progress_fn *progress, void *pctx,
                    ms_migrate_report *r, ms_err *e)
{
	db_txn *snap;
	int v;
	report_init(r);
	if (begin_snapshot(src, &snap, e) < 0 || ms_schema_read_version(src, &v, e) < 0)
		return ms_err_prefix(e, "source %s", db_name(src));
	copier c = { .src = src, .dst = dst, .progress = progress, .pctx = pctx };
	for (size_t i = 0; i < ms_schema_5704_count; i++) {
		c.t = &ms_schema_5704[i];
		if (strcmp(c.t->name, "hm_dbversion") == 0)
			continue; /* last, below: it marks the copy complete */
		if (copy_table(&c, &r->tables[i].src_rows, e) < 0) {
			db_txn_rollback(&snap);
			return ms_err_prefix(e, "copying %s from %s into %s", c.t->name, db_name(src), db_name(dst));
		}
		ms_test_hook("migrate-table"); /* a kill between tables: the rerun must converge */
	}
	db_txn_rollback(&snap); /* it only read */
	db_txn *t;
	if (db_txn_begin(dst, &t, e) < 0 || db_exec(dst, "DELETE FROM hm_dbversion", e) < 0 ||
	    ms_schema_write_version(dst, v, e) < 0 || db_txn_commit(&t, e) < 0) {
		db_txn_rollback(&t);
		return ms_err_prefix(e, "writing the version row into %s", db_name(dst));
	}
	return 0;
}

/* ---- comparing ------------------------------------------------------------ */

/* One value as text that is the same on every database: integers in
 * decimal, timestamps cut to seconds with a space (SQLite keeps what was
 * written, PostgreSQL may add fractions), NULL apart from every text. */
static void put_value(GChecksum *h, const ms_column *col, db_stmt *st, int i)
{
	if (db_column_is_null(st, i)) {
		g_checksum_update(h, (const guchar *)"N|", 2);
		return;
	}
	char buf[64];
	if (is_integer(col)) {
		int n = snprintf(buf, sizeof buf, "I%" PRId64 "|", db_column_int64(st, i));
		g_checksum_update(h, (const guchar *)buf, n);
		return;
	}
	const char *s = db_column_text(st, i);
	size_t len = strlen(s);
	if (col->type == MS_COL_TIMESTAMP && len >= 19) {
		memcpy(buf, s, 19);
		buf[10] = ' ';
		s = buf;
		len = 19;
	}
	char head[32];
	int n = snprintf(head, sizeof head, "T%zu:", len);
	g_checksum_update(h, (const guchar *)head, n);
	g_checksum_update(h, (const guchar *)s, (gssize)len);
	g_checksum_update(h, (const guchar *)"|", 1);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A table without an identity has no order both databases agree on:
 * its rows' own digests are sorted instead. */
static int table_digest(db *d, const ms_table *t, int64_t *rows, char out[65], ms_err *e)
{
	char *sql = select_sql(t);
	db_stmt *st;
	int rc = db_prepare(d, sql, &st, e);
	g_free(sql);
	if (rc < 0)
		return -1;
	bool ordered = identity_of(t) != NULL;
	GChecksum *table = g_checksum_new(G_CHECKSUM_SHA256);
	GPtrArray *unordered = g_ptr_array_new_with_free_func(g_free);
	*rows = 0;
	while ((rc = db_step(st, e)) == DB_ROW) {
		GChecksum *row = g_checksum_new(G_CHECKSUM_SHA256);
		for (size_t i = 0; i < t->ncolumns; i++)
			put_value(row, &t->columns[i], st, (int)i);
		const char *hex = g_checksum_get_string(row);
		if (ordered)
			g_checksum_update(table, (const guchar *)hex, 64);
		else
			g_ptr_array_add(unordered, g_strdup(hex));
		g_checksum_free(row);
		(*rows)++;
	}
	db_finalize(st);
	if (unordered->len > 1) /* qsort wants a non-NULL array, even for nothing */
		qsort(unordered->pdata, unordered->len, sizeof(char *), cmp_str);
	for (guint i = 0; i < unordered->len; i++)
		g_checksum_update(table, unordered->pdata[i], 64);
	snprintf(out, 65, "%s", g_checksum_get_string(table));
	g_checksum_free(table);
	g_ptr_array_free(unordered, TRUE);
	return rc == DB_ERROR ? -1 : 0;
}

/* One side's digests of every table, in a thread of its own: the two
 * databases are read at the same time (one after the other, the
 * comparison took twice the copy of 100,000 messages: bench/migrate.sh). */
typedef struct side_digest {
	db *d;
	ms_migrate_report *r;
	bool src;                  /* fill src_rows/src_digest, else dst_ */
	size_t failed_at;          /* the table that failed, when rc < 0 */
	int rc;
	ms_err e;
} side_digest;

static gpointer digest_side(gpointer p)
{
	side_digest *x = p;
	x->rc = 0;
	for (size_t i = 0; i < x->r->ntables && x->rc == 0; i++) {
		ms_migrate_table *m = &x->r->tables[i];
		x->failed_at = i;
		x->rc = table_digest(x->d, &ms_schema_5704[i], x->src ? &m->src_rows : &m->dst_rows,
		                     x->src ? m->src_digest : m->dst_digest, &x->e);
	}
	return NULL;
}

int ms_migrate_compare(db *src, db *dst, ms_migrate_report *r, ms_err *e)
{
	db_txn *snap;
	int differ = 0;
	ms_test_hook("migrate-compare"); /* a test changes the target here: the comparison must see it */
	if (begin_snapshot(src, &snap, e) < 0)
		return ms_err_prefix(e, "source %s", db_name(src));
	side_digest a = { .d = src, .r = r, .src = true }, b = { .d = dst, .r = r };
	GThread *th = g_thread_new("migrate-compare", digest_side, &a);
	digest_side(&b);
	g_thread_join(th);
	db_txn_rollback(&snap);
	for (side_digest *x = &a; x; x = x == &a ? &b : NULL)
		if (x->rc < 0) {
			*e = x->e;
			return ms_err_prefix(e, "reading %s from %s", r->tables[x->failed_at].name, db_name(x->d));
		}
	for (size_t i = 0; i < r->ntables; i++) {
		ms_migrate_table *x = &r->tables[i];
		if (x->src_rows != x->dst_rows || strcmp(x->src_digest, x->dst_digest) != 0)
			differ++;
	}
	return differ;
}
