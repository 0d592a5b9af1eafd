#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "store/schema.h"

int ms_store_open(const char *url, const char *password, const char *data_dir, db_open_mode mode,
                  ms_store **out, ms_err *e)
{
	ms_store *s = calloc(1, sizeof *s);
	if (!s)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (db_open(url, password, mode, &s->db, e) < 0)
		goto fail;
	if (ms_schema_read_version(s->db, &s->version, e) < 0) {
		if (e->code == MS_E_SCHEMA) /* driver errors name the database already */
			ms_err_prefix(e, "%s", db_name(s->db));
		goto fail;
	}
	if (!ms_schema_version_known(s->version)) {
		ms_err_set(e, MS_E_SCHEMA,
		           "%s: unknown hMailServer schema version %d (hm_dbversion); mstore understands "
		           "5400, 5502, 5600-5699 and 5704 (hMailServer 5.4 to 5.7)",
		           db_name(s->db), s->version);
		goto fail;
	}
	if (data_dir && !(s->data_dir = strdup(data_dir))) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	ms_store_close(s);
	return -1;
}

void ms_store_close(ms_store *s)
{
	if (!s)
		return;
	if (s->db)
		db_close(s->db);
	free(s->data_dir);
	free(s);
}

int ms_store_init(const char *url, const char *password, ms_err *e)
{
	db *d;
	if (db_open(url, password, DB_OPEN_CREATE, &d, e) < 0)
		return -1;
	int rc = ms_schema_create(d, e);
	if (rc < 0)
		ms_err_prefix(e, "%s", db_name(d));
	db_close(d);
	return rc;
}

int ms_store_has_index(ms_store *s, const char *name, ms_err *e)
{
	static const char *const sql[] = {
		[DB_SQLITE] = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?",
		[DB_PGSQL] = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?",
		[DB_MYSQL] = "SELECT COUNT(*) FROM information_schema.statistics"
		             " WHERE table_schema = DATABASE() AND index_name = ?",
	};
	db_stmt *st;
	if (db_prepare(s->db, sql[db_get_dialect(s->db)], &st, e) < 0)
		return -1;
	int rc = db_bind_text(st, 1, name, e) < 0 ? DB_ERROR : db_step(st, e);
	int64_t n = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_finalize(st);
	return rc == DB_ERROR ? -1 : n > 0;
}

int ms_store_create_filename_index(ms_store *s, ms_err *e)
{
	int has = ms_store_has_index(s, MS_FILENAME_INDEX, e);
	if (has != 0)
		return has < 0 ? -1 : 0;
	return db_exec(s->db, "CREATE INDEX " MS_FILENAME_INDEX " ON hm_messages (messagefilename)", e);
}
