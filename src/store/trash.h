/* trash.h - messages taken out of the store, kept until purged.
 *
 * An administrative command never removes a user's message file outright
 * (admin.md): `folder delete`, `expire` and the like delete the rows and
 * move the files into the trash,
 *
 *   DATA/.mstore/trash/<YYYY-MM-DD>/<path relative to DATA, without <XX>>
 *
 * (the UTC day of the move; "dom/local/AB/{AB...}.eml" is trashed as
 * "dom/local/{AB...}.eml": the <XX> folder is the name's own first
 * characters, and making one trash folder per <XX> was a fifth of an
 * expire), where `mstore purge --older-than DAYS` removes them for good.
 * The walker never enters DATA/.mstore, so sync and reconstruct do not
 * see trashed files as lost mail.
 *
 * Rows and files cannot change in one atomic step, so the move is
 * journaled (like sync's renames, src/sync/journal.c):
 *
 *   ms_trash_begin                the intent file DATA/.mstore/trash-HOST-PID.intent, flock'd
 *   ms_trash_add  (per message)   "messageid <TAB> relpath" (kept in memory until the sync)
 *   ms_trash_sync                 the lines written and fdatasync'd: before the delete commits
 *   ... the caller's transaction deletes the rows and commits ...
 *   ms_trash_finish               every file renamed into the trash, the
 *                                 directories synced (each once; past 16
 *                                 of them one syncfs), the intent removed
 *   (or ms_trash_abort after a rollback: the intent removed, files stay)
 *
 * ms_trash_rows runs add, sync, the delete and the renames for one batch
 * of rows; a command of many batches (expire) runs them all under one
 * intent and syncs the directories once, in ms_trash_finish: a rename
 * need not be durable before the next batch, only before the intent that
 * explains it goes.
 *
 * A process killed anywhere leaves an intent nobody holds;
 * ms_trash_recover (run by every command that trashes, and by sync and
 * reconstruct -r, before their own work) takes it over: an entry whose row is gone (the delete committed)
 * has its file moved into the trash, an entry whose row is still there
 * (it did not) is dropped.  A file is thus never lost, and unreferenced
 * at its place only while an intent names it: sync imports no file a live
 * or dead intent names (ms_trash_each), which would bring deleted mail
 * back.
 */
#ifndef MS_STORE_TRASH_H
#define MS_STORE_TRASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db/db.h"
#include "util/err.h"
#include "util/journal_io.h"

#define MS_TRASH_DIR ".mstore/trash"

typedef struct ms_trash ms_trash;

int ms_trash_begin(const char *data_dir, ms_trash **out, ms_err *e);
/* The same journal for `--purge`: its first line is "purge", and finish
 * (or a recovery) unlinks the files instead of moving them, under the
 * same rule (only once the rows are gone). */
int ms_trash_begin_purge(const char *data_dir, ms_trash **out, ms_err *e);
/* `relpath` is the file's path relative to the data directory (as
 * ms_layout_path builds it); `message_id` its row's messageid. */
int ms_trash_add(ms_trash *t, int64_t message_id, const char *relpath, ms_err *e);
int ms_trash_sync(ms_trash *t, ms_err *e);
/* Move the files not yet moved, sync every directory the moves touched,
 * add to *moved and *missing what t moved and found gone (a file already
 * gone is not an error) over all its batches, and free t (on error too:
 * the intent then stays for a recover). */
int ms_trash_finish(ms_trash *t, size_t *moved, size_t *missing, ms_err *e);
/* After a rollback: the files added since the last batch stay where they
 * are; earlier batches' moves are synced, then the intent goes. */
void ms_trash_abort(ms_trash *t);
/* After a commit that failed and may yet have happened (a server gone at
 * its reply): t is freed and its intent left for ms_trash_recover, which
 * moves the files whose rows turn out to be gone. */
void ms_trash_leave(ms_trash *t);

/* One batch of message rows, the whole protocol but the end: the lines
 * added and synced, the rows (with recipients and metadata) deleted in one
 * transaction, the files moved; their directories are synced by
 * ms_trash_finish (or ms_trash_abort), which reports the counts.
 * `hook_prefix` names the test hooks "PREFIX-intent" (synced, rows still
 * there), "PREFIX-delete" (rows deleted, not committed) and
 * "PREFIX-commit" (rows gone, files not yet moved).  On an error the
 * batch's rows are still there (t stays usable), or, after a failed
 * commit or move, t keeps its intent for a recover to settle. */
typedef struct ms_trash_victim {
	int64_t id;               /* messageid */
	const char *relpath;      /* its file, relative to the data directory */
} ms_trash_victim;
int ms_trash_rows(ms_trash *t, db *d, const ms_trash_victim *v, size_t n, const char *hook_prefix, ms_err *e);

/* Take over the intents of dead processes (see above); *moved counts the
 * files moved into the trash. */
int ms_trash_recover(db *d, const char *data_dir, size_t *moved, ms_err *e);
/* The file (relative to the data directory) of every entry of the intents
 * of live writers (MS_JIO_LIVE: a folder delete or expire running now) or
 * of dead ones (MS_JIO_DEAD, read only: nothing is taken over) to fn.
 * Between its commit and its renames such a file is at its place while no
 * row names it: `mstore sync` must not import it (a deleted message back,
 * then a row without its file once the move is finished).  An intent
 * that cannot be read is skipped. */
void ms_trash_each(int root_fd, ms_jio_mode mode, void (*fn)(void *ctx, const char *rel), void *ctx);

/* The UTC day of `when` as the trash names it, "YYYY-MM-DD". */
void ms_trash_day(time_t when, char day[11]);
/* Where DATA/relpath goes when moved at `when`, relative to DATA:
 * ".mstore/trash/<day>/<relpath without <XX>>" (-1: `out` too small). */
int ms_trash_path(const char *relpath, time_t when, char *out, size_t len);

/* Remove the trash days older than `days` days before `now` (a day is
 * removed whole, with everything below it).  fn, when given, is called
 * for each file before it is removed (or instead, with dry_run). */
typedef struct ms_purge_stats {
	size_t files, days;
	uint64_t bytes;
} ms_purge_stats;
int ms_trash_purge(const char *data_dir, int days, time_t now, bool dry_run,
                   void (*fn)(void *ctx, const char *relpath, uint64_t size), void *ctx, ms_purge_stats *st,
                   ms_err *e);

#endif
