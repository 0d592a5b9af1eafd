/* test_schema.c - the 5.7 schema: table list, known versions, the DDL of
 * each dialect, and creating/reading a store on a temporary SQLite file.
 * (The live catalogs on PostgreSQL and MariaDB are checked end to end by
 * tests/e2e/test_schema_catalog.sh.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/schema.h"
#include "store/schema_internal.h"

/* The list of store.md ("All 34 tables"), in its order. */
static const char *const store_md_tables[] = {
	"hm_accounts", "hm_aliases", "hm_domains", "hm_domain_aliases", "hm_messages",
	"hm_message_metadata", "hm_settings", "hm_dbversion", "hm_distributionlists",
	"hm_distributionlistsrecipients", "hm_messagerecipients", "hm_imapfolders", "hm_routes",
	"hm_routeaddresses", "hm_securityranges", "hm_dnsbl", "hm_fetchaccounts",
	"hm_fetchaccounts_uids", "hm_rules", "hm_rule_criterias", "hm_rule_actions",
	"hm_surblservers", "hm_greylisting_triplets", "hm_greylisting_whiteaddresses",
	"hm_blocked_attachments", "hm_servermessages", "hm_tcpipports", "hm_whitelist",
	"hm_sslcertificates", "hm_groups", "hm_group_members", "hm_acl", "hm_incoming_relays",
	"hm_logon_failures",
};
#define NTABLES (sizeof store_md_tables / sizeof store_md_tables[0])

static size_t count_occurrences(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_tables_are_the_34_of_store_md(void **state)
{
	size_t n = 0;
	while (ms_schema_tables[n])
		n++;
	assert_int_equal(n, 34);
	assert_int_equal(NTABLES, 34);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(ms_schema_tables[i], store_md_tables[i]);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ms_schema_tables[i], ms_schema_tables[j]);
	}
	/* The description covers the same tables in the same order. */
	assert_int_equal(ms_schema_5704_count, 34);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(ms_schema_5704[i].name, ms_schema_tables[i]);
		assert_true(ms_schema_5704[i].ncolumns <= MS_SCHEMA_MAX_COLUMNS); /* migrate's COPY column list */
	}
}

static void test_known_versions(void **state)
{
	static const int known[] = { 5400, 5502, 5600, 5601, 5650, 5699, 5704 };
	static const int unknown[] = { 5300, 5401, 5501, 5599, 5700, 5703, 5705, 0, -1, 9999 };
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		assert_true(ms_schema_version_known(known[i]));
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
		assert_false(ms_schema_version_known(unknown[i]));
	assert_int_equal(MS_SCHEMA_VERSION_CREATED, 5704);
}

/* Every table exactly once as CREATE TABLE, every index once, the version
 * row last. */
static void check_ddl_shape(db_dialect d)
{
	char *sql = ms_schema_ddl(d);
	assert_non_null(sql);
	assert_int_equal(count_occurrences(sql, "CREATE TABLE "), 34);
	for (size_t i = 0; i < NTABLES; i++) {
		char create[128];
		snprintf(create, sizeof create, "CREATE TABLE %s (\n", store_md_tables[i]);
		assert_int_equal(count_occurrences(sql, create), 1);
	}
	assert_int_equal(count_occurrences(sql, "CREATE INDEX "), 17);
	assert_int_equal(count_occurrences(sql, "CREATE UNIQUE INDEX "), 2);
	assert_int_equal(count_occurrences(sql, "CREATE INDEX idx_hm_messages ON hm_messages "
	                                        "(messageaccountid, messagefolderid);\n"), 1);
	const char *insert = "INSERT INTO hm_dbversion (value) VALUES (5704);\n";
	size_t len = strlen(sql), ilen = strlen(insert);
	assert_true(len > ilen);
	assert_string_equal(sql + len - ilen, insert);
	/* The setup script's 144 default rows, then the version row. */
	assert_int_equal(count_occurrences(sql, "INSERT"), 145);
	assert_int_equal(count_occurrences(sql, "INSERT INTO hm_settings "), 114);
	free(sql);
}

static void test_ddl_every_dialect(void **state)
{
	check_ddl_shape(DB_SQLITE);
	check_ddl_shape(DB_PGSQL);
	check_ddl_shape(DB_MYSQL);
}

/* The places where hMailServer's scripts differ between databases. */
static void test_ddl_dialect_quirks(void **state)
{
	char *pg = ms_schema_ddl(DB_PGSQL), *my = ms_schema_ddl(DB_MYSQL), *lite = ms_schema_ddl(DB_SQLITE);
	assert_non_null(pg);
	assert_non_null(my);
	assert_non_null(lite);

	assert_int_equal(count_occurrences(pg, " bigserial NOT NULL"), 31);
	assert_int_equal(count_occurrences(pg, "\trelayid serial NOT NULL,\n"), 1);
	assert_int_equal(count_occurrences(pg, "PRIMARY KEY ("), 32);
	assert_non_null(strstr(pg, "\tglsenderaddress varchar(200) NOT NULL,\n"));
	assert_non_null(strstr(pg, "\tmessagefolderid integer NOT NULL DEFAULT 0,\n"));
	assert_non_null(strstr(pg, "\tmetadata_dateutc timestamp,\n"));
	assert_null(strstr(pg, "DEFAULT CHARSET"));

	assert_int_equal(count_occurrences(my, " AUTO_INCREMENT"), 32);
	assert_non_null(strstr(my, "\trouteaddressid mediumint NOT NULL AUTO_INCREMENT,\n"));
	assert_non_null(strstr(my, "\tfolderaccountid int unsigned NOT NULL,\n"));
	assert_non_null(strstr(my, "\tfolderissubscribed tinyint unsigned NOT NULL,\n"));
	assert_non_null(strstr(my, "\tglsenderaddress varchar(255) NOT NULL,\n"));
	assert_non_null(strstr(my, "(glipaddress1, glipaddress2, glsenderaddress(40), glrecipientaddress(40));\n"));
	assert_non_null(strstr(my, "\tPRIMARY KEY (accountid),\n\tUNIQUE (accountid),\n\tUNIQUE (accountaddress)\n)"));
	/* No redundant UNIQUE on hm_message_metadata's key. */
	assert_null(strstr(my, "UNIQUE (metadata_id)"));
	assert_int_equal(count_occurrences(my, ") DEFAULT CHARSET=utf8;\n"), 33);
	/* The one table left to the database's default character set. */
	assert_non_null(strstr(my, "\tdistributionlistrecipientaddress varchar(255),\n"));
	assert_non_null(strstr(my, "\tUNIQUE (distributionlistrecipientid)\n);\n"));
	assert_non_null(strstr(my, "\tfamimerecipientheaders varchar(255) NOT NULL DEFAULT 'To,CC,X-RCPT-TO,X-Envelope-To',\n"));

	assert_int_equal(count_occurrences(lite, " INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT"), 32);
	assert_null(strstr(lite, "(40)"));
	assert_null(strstr(lite, "unsigned"));
	assert_non_null(strstr(lite, "\tUNIQUE (aclsharefolderid, aclpermissiontype, aclpermissiongroupid, "
	                             "aclpermissionaccountid)\n"));
	free(pg);
	free(my);
	free(lite);
}

/* A temporary SQLite database per test. */
typedef struct fixture {
	char path[64];
	char url[80];
	db *d;
} fixture;

static int open_temp_db(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->path, sizeof f->path, "/tmp/mstore-test-schema-XXXXXX");
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(f->path); /* db_open creates it */
	snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
	ms_err e = { 0 };
	assert_int_equal(db_open(f->url, NULL, DB_OPEN_CREATE, &f->d, &e), 0);
	*state = f;
	return 0;
}

static int close_temp_db(void **state)
{
	fixture *f = *state;
	db_close(f->d);
	unlink(f->path);
	char side[80];
	snprintf(side, sizeof side, "%s-wal", f->path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", f->path);
	unlink(side);
	free(f);
	return 0;
}

static int64_t query_int(db *d, const char *sql)
{
	int64_t v = -1;
	ms_err e = { 0 };
	assert_int_equal(db_query_int64(d, sql, &v, &e), 1);
	return v;
}

#define COUNT_HM_TABLES "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'hm\\_%' ESCAPE '\\'"

static void test_create_then_read_version(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	assert_int_equal(ms_schema_create(f->d, &e), 0);
	assert_int_equal(query_int(f->d, COUNT_HM_TABLES), 34);
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx%'"), 19);
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM hm_dbversion"), 1);
	/* The rows of hMailServer's setup script (every value: test_fidelity.sh). */
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM hm_settings"), 114);
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM hm_tcpipports"), 4);
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM hm_securityranges"), 2);
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM hm_servermessages"), 7);
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM hm_dnsbl"), 2);
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM hm_surblservers"), 1);
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM hm_blocked_attachments"), 14);
	int version = 0;
	assert_int_equal(ms_schema_read_version(f->d, &version, &e), 0);
	assert_int_equal(version, 5704);
}

static void test_second_create_is_refused(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	assert_int_equal(ms_schema_create(f->d, &e), 0);
	assert_int_equal(ms_schema_create(f->d, &e), -1);
	assert_int_equal(e.code, MS_E_EXISTS);
	assert_non_null(strstr(e.msg, "already holds an hMailServer store (hm_dbversion = 5704)"));
	assert_int_equal(query_int(f->d, COUNT_HM_TABLES), 34);
	assert_int_equal(query_int(f->d, "SELECT COUNT(*) FROM hm_dbversion"), 1);
}

static void test_read_version_of_a_non_store(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	int version = 0;
	assert_int_equal(ms_schema_read_version(f->d, &version, &e), -1);
	assert_int_equal(e.code, MS_E_SCHEMA);
	assert_non_null(strstr(e.msg, "not an hMailServer database: no hm_dbversion table"));
}

static void test_read_version_empty_or_doubled(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	int version = 0;
	assert_int_equal(db_exec(f->d, "CREATE TABLE hm_dbversion (value INTEGER NOT NULL)", &e), 0);
	assert_int_equal(ms_schema_read_version(f->d, &version, &e), -1);
	assert_int_equal(e.code, MS_E_SCHEMA);
	assert_non_null(strstr(e.msg, "hm_dbversion is empty"));

	assert_int_equal(db_exec(f->d, "INSERT INTO hm_dbversion VALUES (5601)", &e), 0);
	assert_int_equal(ms_schema_read_version(f->d, &version, &e), 0);
	assert_int_equal(version, 5601);

	assert_int_equal(db_exec(f->d, "INSERT INTO hm_dbversion VALUES (5704)", &e), 0);
	assert_int_equal(ms_schema_read_version(f->d, &version, &e), -1);
	assert_non_null(strstr(e.msg, "more than one row"));

	/* A stray hm_ table without a version row blocks init too. */
	assert_int_equal(db_exec(f->d, "DELETE FROM hm_dbversion", &e), 0);
	assert_int_equal(ms_schema_create(f->d, &e), -1);
	assert_int_equal(e.code, MS_E_EXISTS);
	assert_non_null(strstr(e.msg, "hm_ tables (1) but no complete store"));
}

/* SQLite rolls DDL back: a creation that fails half-way leaves nothing.
 * An index name is global in SQLite, so an unrelated index called
 * idx_rules makes hm_rules's index fail after 19 tables were created. */
static void test_failed_create_leaves_nothing(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	assert_int_equal(db_exec(f->d, "CREATE TABLE other (x INTEGER)", &e), 0);
	assert_int_equal(db_exec(f->d, "CREATE INDEX idx_rules ON other (x)", &e), 0);
	assert_int_equal(ms_schema_create(f->d, &e), -1);
	assert_int_equal(e.code, MS_E_DB);
	assert_non_null(strstr(e.msg, "creating the hMailServer 5704 schema"));
	assert_non_null(strstr(e.msg, "idx_rules"));
	assert_int_equal(query_int(f->d, COUNT_HM_TABLES), 0);
	/* Once the obstacle is gone, init works on the same database. */
	assert_int_equal(db_exec(f->d, "DROP INDEX idx_rules", &e), 0);
	assert_int_equal(ms_schema_create(f->d, &e), 0);
	assert_int_equal(query_int(f->d, COUNT_HM_TABLES), 34);
}

/* ---- the statement layer as the schema and object code use it (SQLite) ----
 * (Driver behaviour the code above relies on; the driver's own tests are in
 * test_db.c.) */

static int64_t insert_row(db *d, const char *sql, const char *pk, const char *value)
{
	ms_err e = { 0 };
	db_stmt *st;
	assert_int_equal(pk ? db_prepare_insert(d, sql, pk, &st, &e) : db_prepare(d, sql, &st, &e), 0);
	assert_int_equal(db_bind_text(st, 1, value, &e), 0);
	assert_int_equal(db_step(st, &e), DB_DONE);
	int64_t id = db_insert_id(st);
	db_finalize(st);
	return id;
}

static void test_statement_layer(void **state)
{
	fixture *f = *state;
	ms_err e = { 0 };
	assert_int_equal(db_exec(f->d, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)", &e), 0);
	/* an insert whose text ends in ';' still gets its identity */
	assert_int_equal(insert_row(f->d, "INSERT INTO t (v) VALUES (?);", "id", "a"), 1);
	/* a plain statement parked under the same text is not the insert's:
	 * the identity comes back all the same */
	insert_row(f->d, "INSERT INTO t (v) VALUES (?)", NULL, "b");
	assert_int_equal(insert_row(f->d, "INSERT INTO t (v) VALUES (?)", "id", "c"), 3);

	/* changes: an UPDATE's rows, and none for a SELECT after it */
	db_stmt *st;
	assert_int_equal(db_prepare(f->d, "UPDATE t SET v = v || 'x'", &st, &e), 0);
	assert_int_equal(db_step(st, &e), DB_DONE);
	assert_int_equal(db_changes(st), 3);
	db_finalize(st);
	assert_int_equal(db_prepare(f->d, "SELECT v FROM t", &st, &e), 0);
	while (db_step(st, &e) == DB_ROW)
		;
	assert_int_equal(db_changes(st), 0);
	db_finalize(st);

	/* a failed statement is not silently run again */
	assert_int_equal(db_prepare(f->d, "INSERT INTO t (v) VALUES ('ax')", &st, &e), 0);
	assert_int_equal(db_step(st, &e), DB_ERROR);
	ms_err again = { 0 };
	assert_int_equal(db_step(st, &again), DB_ERROR);
	assert_non_null(strstr(again.msg, "stepped again after a failure"));
	db_finalize(st);
}

/* A statement quoted in a message (at -vv) is cut at 400 bytes
 * (DB_SQL_EXCERPT), never inside a UTF-8 sequence. */
static void test_statement_excerpt_utf8(void **state)
{
	fixture *f = *state;
	char sql[600];
	size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT ");
	memset(sql + n, 'x', 399 - n);
	snprintf(sql + 399, sizeof sql - 399, "\xc3\xa9 FROM nowhere");
	ms_err e = { 0 };
	db_stmt *st;
	db_set_verbosity(2); /* the statement is quoted only at -vv */
	assert_int_equal(db_prepare(f->d, sql, &st, &e), -1);
	db_set_verbosity(0);
	assert_non_null(strstr(e.msg, "xxx..."));
	assert_null(strstr(e.msg, "\xc3..."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_are_the_34_of_store_md),
		cmocka_unit_test(test_known_versions),
		cmocka_unit_test(test_ddl_every_dialect),
		cmocka_unit_test(test_ddl_dialect_quirks),
		cmocka_unit_test_setup_teardown(test_create_then_read_version, open_temp_db, close_temp_db),
		cmocka_unit_test_setup_teardown(test_second_create_is_refused, open_temp_db, close_temp_db),
		cmocka_unit_test_setup_teardown(test_read_version_of_a_non_store, open_temp_db, close_temp_db),
		cmocka_unit_test_setup_teardown(test_read_version_empty_or_doubled, open_temp_db, close_temp_db),
		cmocka_unit_test_setup_teardown(test_failed_create_leaves_nothing, open_temp_db, close_temp_db),
		cmocka_unit_test_setup_teardown(test_statement_layer, open_temp_db, close_temp_db),
		cmocka_unit_test_setup_teardown(test_statement_excerpt_utf8, open_temp_db, close_temp_db),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
