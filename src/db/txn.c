/* txn.c - see txn.h. */
#include "db/txn.h"

#include <assert.h>
#include <stdlib.h>

struct db_txn {
	db *d;
};

int db_txn_begin(db *d, db_txn **out, ms_err *e)
{
	*out = NULL;
	db_txn *t = malloc(sizeof *t);
	if (!t)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (db_begin(d, e) < 0) {
		free(t);
		return -1;
	}
	t->d = d;
	*out = t;
	return 0;
}

int db_txn_commit(db_txn **tp, ms_err *e)
{
	assert(tp && *tp);
	db_txn *t = *tp;
	*tp = NULL;
	int rc = db_commit(t->d, e);
	if (rc < 0)
		db_rollback(t->d);
	free(t);
	return rc;
}

void db_txn_rollback(db_txn **tp)
{
	if (!*tp)
		return;
	db_rollback((*tp)->d);
	free(*tp);
	*tp = NULL;
}

db *db_txn_db(const db_txn *t)
{
	assert(t);
	return t->d;
}
