/* fdio.h - writing a whole buffer to a file descriptor. */
#ifndef MS_FDIO_H
#define MS_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Write data[0..len) to fd at offset `at` (pwrite), or at the file's own
 * offset when `at` is -1 (write), through short writes and EINTR: 0, or -1
 * with errno set (EIO when a write wrote nothing). */
int ms_write_fully(int fd, const char *data, size_t len, off_t at);

#endif
