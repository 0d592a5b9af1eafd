/* mboxlock.h - keeping mstore processes out of a mailbox (`folder lock`).
 *
 * The lock is a file per folder, DATA/.mstore/locks/folder-<ID>.lock,
 * locked with flock(2).  Why a file and not the database: `mstore folder
 * lock MAILBOX -- CMD` must hold the lock while CMD (another process)
 * runs.  A row lock lives in a transaction of one session, and an
 * advisory lock (pg_advisory_lock, MariaDB's GET_LOCK) in one session
 * too; SQLite has neither.  A flock'd file is the same on the three
 * databases, is held by the parent while the child runs, and is released
 * by the kernel when the holder dies (no stale lock after a SIGKILL).
 * The folder's id names it, so a rename or an account move keeps it.
 *
 * `folder lock` takes it exclusively and exports MSTORE_MAILBOX_LOCKS
 * ("DEV:INODE" of each lock file it holds, space-separated) to CMD, so an
 * mstore that CMD runs treats those locks as its own instead of waiting
 * for its parent forever.  The folder commands (create below it, delete,
 * rename, subscribe, the account move) take the lock of every folder they
 * change, exclusively, and fail at once when it is held.
 *
 * A command that takes several locks (a tree, a rename's source and
 * target parent) takes them in ascending folder id, the one global order:
 * a tree's own order (parent first) is not it, since a folder moved below
 * a newer one has the smaller id, and two trees taken in different orders
 * could each hold a lock the other waits for, for ever.
 *
 * Lock files are never removed: removing a flock'd file races with a
 * process that has just opened it.
 *
 * A writer that should respect the lock must not wait for it while it
 * holds the folder's row lock (folders.h): the locked command may need
 * that row, a wait there would deadlock.  Two forms are correct on the
 * three databases.  Writers that write files before their transaction
 * (deliver, expire, the hmailserver channel driver's open boxes) take the
 * lock shared, before any row lock, and hold it until their rows are
 * committed (deliver and expire wait up to --lock-wait, expire holding
 * no other folder's lock while it waits; the channel driver does not
 * wait); a folder a writer creates is checked through its nearest
 * existing ancestor (ms_browse_folder_nearest), as `folder create` does;
 * `folder lock` then waits for them, and they never write inside its
 * window.  sync, which locks folders it finds inside its transaction,
 * follows the protocol below (a locked folder fails its account's group,
 * left for the next run):
 *
 *   writer:  begin; lock the folder row; ms_mbox_lock_busy()?  then roll
 *            back, ms_mbox_lock_wait(), start again; else write, commit.
 *   locker:  flock the file (created if missing); then ms_mailbox_barrier
 *            (a transaction that takes and releases every folder's row
 *            lock), so every writer that locked the row before the flock
 *            has committed, and every later one sees the flock.
 *
 * `folder lock` does the locker's half.
 */
#ifndef MS_STORE_MBOXLOCK_H
#define MS_STORE_MBOXLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define MS_MBOXLOCK_ENV "MSTORE_MAILBOX_LOCKS"

typedef struct ms_mbox_lock ms_mbox_lock;

/* Lock folder `folder_id`'s file; `timeout_ms` 0 fails at once, -1 waits
 * for ever.  A lock held by a `folder lock` parent (the environment
 * variable) is granted without waiting.  A held lock is MS_E_LIMIT. */
int ms_mbox_lock_take(const char *data_dir, int64_t folder_id, bool exclusive, int timeout_ms, ms_mbox_lock **out,
                      ms_err *e);
/* "DEV:INODE" of the lock file, for MS_MBOXLOCK_ENV. */
const char *ms_mbox_lock_key(const ms_mbox_lock *l);
/* Is the folder locked by another process (not ours through the
 * environment)?  1 yes, 0 no (no lock file is no lock; none is created),
 * -1 error. */
int ms_mbox_lock_busy(const char *data_dir, int64_t folder_id, ms_err *e);
/* Wait until the folder is not locked by another process. */
int ms_mbox_lock_wait(const char *data_dir, int64_t folder_id, ms_err *e);
void ms_mbox_lock_release(ms_mbox_lock *l);

#endif
