/* journal_io.h - what every journal of mstore's needs: paths written one
 * per line, and directories made durable.
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

#endif
