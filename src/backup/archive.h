/* archive.h - the container of mstore's backup archives: a POSIX tar
 * stream (pax), optionally compressed with zstd, written and read through
 * libarchive so neither the container nor the compressor is ours.
 *
 * Writing: members are added in order, each whole (name, bytes) or from a
 * FILE of known size.  Reading: members come in order; anything that is
 * not a regular file (a symlink, a hard link, a directory, a device) is
 * refused, and a member's name is handed to the caller, which accepts
 * only the names docs/backup-format.md lists: nothing in an archive is
 * ever extracted by its own path, so "../" or an absolute name cannot
 * reach outside anything.
 */
#ifndef MS_BACKUP_ARCHIVE_H
#define MS_BACKUP_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

typedef struct ms_archive ms_archive;

/* Open `path` ("-": stdout) for writing; zstd compresses the stream.  An
 * existing file is refused (a backup never overwrites anything). */
int ms_archive_open_write(const char *path, bool zstd, ms_archive **out, ms_err *e);
/* Add a member holding `len` bytes. */
int ms_archive_add(ms_archive *a, const char *name, const void *data, size_t len, ms_err *e);
/* Add a member holding the rest of `f` from its start (`len` bytes). */
int ms_archive_add_file(ms_archive *a, const char *name, FILE *f, int64_t len, ms_err *e);
/* Finish the stream (end blocks, compressor flushed, file fsynced); frees a. */
int ms_archive_close_write(ms_archive *a, ms_err *e);

/* Open `path` ("-": stdin) for reading; the compression is detected. */
int ms_archive_open_read(const char *path, ms_archive **out, ms_err *e);
/* The next member: 1 with *name (valid until the next call) and *size,
 * 0 at the end, -1 on a damaged stream or a member that is not a
 * regular file. */
int ms_archive_next(ms_archive *a, const char **name, int64_t *size, ms_err *e);
/* Read up to len bytes of the current member: *got 0 at its end. */
int ms_archive_read(ms_archive *a, void *buf, size_t len, size_t *got, ms_err *e);
/* Read the whole current member (at most `max` bytes) into a new
 * NUL-terminated buffer. */
int ms_archive_read_all(ms_archive *a, int64_t size, int64_t max, char **out, ms_err *e);
void ms_archive_free(ms_archive *a);

#endif
