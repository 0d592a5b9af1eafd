/* journal_io.h - what every journal of mstore's needs: paths written one
 * per line, directories made durable, and the take-over of the journals
 * of writers that died.
 *
 * sync's rename journal, the trash intents and the drivers' in-flight
 * journals each write "a file is about to move or appear" lines in
 * DATA/.mstore/ and replay them after a crash.  A path may hold any byte
 * but NUL, so a line escapes '%', TAB, CR and LF as %XX; a name only
 * exists after a crash once its directory was fsynced.
 */
#ifndef MS_UTIL_JOURNAL_IO_H
#define MS_UTIL_JOURNAL_IO_H

#include <stdio.h>

#include "util/err.h"

/* Write s with '%', '\t', '\n', '\r' as %XX. */
void ms_jio_put_path(FILE *f, const char *s);
/* Undo ms_jio_put_path in place. */
void ms_jio_unescape(char *s);
/* fsync the directory `rel` below the directory open as root_fd ("" is
 * root_fd itself); root_name names root_fd in the error. */
int ms_jio_sync_dir(int root_fd, const char *root_name, const char *rel, ms_err *e);

/* The directory below the data directory that holds every journal. */
#define MS_JIO_DIR ".mstore"

/* What a replay callback tells ms_jio_take_over to do with the journal. */
enum { MS_JIO_REMOVE = 0, MS_JIO_KEEP = 1 };

/* Replays one journal, open as fd (flocked by the caller: its writer is
 * gone) and named `name` in DATA/.mstore.  Returns MS_JIO_REMOVE when it
 * is settled, MS_JIO_KEEP to leave it (for a later run, or because the
 * callback removed it itself), or -1 with e set to stop the take-over. */
typedef int (*ms_jio_replay_fn)(void *ctx, int fd, const char *name, ms_err *e);

/* Every journal DATA/.mstore/PREFIX*SUFFIX whose writer is gone (nobody
 * holds its flock; a live writer holds it from creation to removal) is
 * opened with open_flags, flocked and handed to fn; a journal fn settles
 * is unlinked before its lock is dropped.  Each kind of journal has its
 * own suffix: the prefix and suffix together are what keeps one command
 * from replaying another's journal.  No DATA/.mstore: nothing to do. */
int ms_jio_take_over(int root_fd, const char *data_dir, const char *prefix, const char *suffix, int open_flags,
                     ms_jio_replay_fn fn, void *ctx, ms_err *e);

/* Whose journals ms_jio_scan hands to fn. */
typedef enum ms_jio_mode {
	MS_JIO_DEAD,   /* writers gone: flocked for fn and unlinked when fn settles them (take-over) */
	MS_JIO_LIVE,   /* writers alive (they hold the flock): read only, fn's MS_JIO_REMOVE is ignored */
} ms_jio_mode;

/* The one scan of DATA/.mstore/PREFIX*SUFFIX behind ms_jio_take_over (=
 * MS_JIO_DEAD) and the readers of live writers' journals (sync skips the
 * files a running channel is adding). */
int ms_jio_scan(int root_fd, const char *data_dir, const char *prefix, const char *suffix, ms_jio_mode mode,
                int open_flags, ms_jio_replay_fn fn, void *ctx, ms_err *e);

#endif
