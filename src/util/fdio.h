/* fdio.h - reading and writing whole buffers through a file descriptor. */
#ifndef MS_FDIO_H
#define MS_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Write data[0..len) to fd at offset `at` (pwrite), or at the file's own
 * offset when `at` is -1 (write), through short writes and EINTR: 0, or -1
 * with errno set (EIO when a write wrote nothing). */
int ms_write_fully(int fd, const char *data, size_t len, off_t at);

/* Read buf[0..len) from fd at offset `at` (pread), through short reads and
 * EINTR: 0, or -1 with errno set (ENODATA when the file ends first). */
int ms_read_fully(int fd, char *buf, size_t len, off_t at);

/* Read fd from its offset to its end into a new buffer (*data, freed by
 * the caller; sized by fstat, so a regular file is read in one call): 0,
 * or -1 with errno set and nothing allocated. */
int ms_read_all(int fd, char **data, size_t *len);

#endif
