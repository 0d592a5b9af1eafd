/* txn.h - a transaction that cannot be left open by mistake.
 *
 *   db_txn *t;
 *   if (db_txn_begin(d, &t, e) < 0) return -1;
 *   if (step1(db_txn_db(t), e) < 0 || step2(db_txn_db(t), e) < 0) {
 *       db_txn_rollback(&t);
 *       return -1;
 *   }
 *   return db_txn_commit(&t, e);
 *
 * Commit and rollback consume the handle (*t becomes NULL), as Dovecot's
 * mailbox_transaction_commit(&t) does: a failed commit has already rolled
 * back, and a second commit or rollback of the same handle is a crash in
 * a test, not a silent no-op.  A handle that is never finished is a leak
 * that AddressSanitizer reports.
 */
#ifndef MS_DB_TXN_H
#define MS_DB_TXN_H

#include "db/db.h"

typedef struct db_txn db_txn;

int db_txn_begin(db *d, db_txn **out, ms_err *e);
/* Commit; on failure the transaction is rolled back.  *t is NULL after. */
int db_txn_commit(db_txn **t, ms_err *e);
/* Roll back (best effort).  *t is NULL after; a NULL *t is allowed. */
void db_txn_rollback(db_txn **t);
/* The connection the transaction runs on. */
db *db_txn_db(const db_txn *t);

#endif
