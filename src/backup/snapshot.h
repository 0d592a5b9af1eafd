/* snapshot.h - `mstore snapshot`: an online, consistent copy of the
 * store's database, kept in a directory with the last N.
 *
 * SQLite: the online backup API (db_sqlite_backup_to), a database file.
 * PostgreSQL: `pg_dump --format=custom` (one REPEATABLE READ transaction
 * on the server: a consistent state while writers go on), for pg_restore.
 * MariaDB: `mariadb-dump --single-transaction` (one consistent-snapshot
 * transaction; hMailServer's tables are InnoDB), SQL for the mariadb
 * client.  The dump tools get the password through PGPASSWORD /
 * MYSQL_PWD in their environment, never on a command line.
 *
 * Names are snapshot-YYYYMMDDTHHMMSSZ.{sqlite,pgdump,sql}: written under
 * a temporary name, fsynced and renamed, so a listed snapshot is always
 * complete; rotation removes the oldest complete ones of the store's kind
 * (its suffix) beyond --keep and nothing else in the directory: another
 * kind's are another store's.  The names do not say which store of a kind
 * wrote them: stores of one kind need a --dir each.
 */
#ifndef MS_BACKUP_SNAPSHOT_H
#define MS_BACKUP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"
#include "util/err.h"

/* Take a snapshot into `dir` (made if missing) and keep the newest `keep`
 * (0: keep all); its file name in `name`. */
int ms_snapshot_take(ms_store *s, const char *password, const char *dir, int keep, char *name, size_t len,
                     ms_err *e);
/* The snapshots in `dir`, oldest first (names only); free with g_strfreev. */
int ms_snapshot_list(const char *dir, char ***out, ms_err *e);

/* Load the snapshot `path` into the database `to_url`, of the snapshot's
 * kind: SQLite, a new file (copied, fsynced, linked into place: an
 * existing file is never replaced without `force`); PostgreSQL,
 * `pg_restore --single-transaction` into an existing database; MariaDB,
 * the mariadb client into an existing database.  A server database that
 * holds any table is refused unless `force` (then pg_restore --clean;
 * mariadb-dump's SQL drops each table it creates). */
int ms_snapshot_restore(const char *path, const char *to_url, const char *password, bool force, ms_err *e);

#endif
