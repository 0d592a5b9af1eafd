/* fdio.c - see fdio.h. */
#include "util/fdio.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int ms_write_fully(int fd, const char *data, size_t len, off_t at)
{
	for (size_t done = 0; done < len;) {
		ssize_t w = at < 0 ? write(fd, data + done, len - done) : pwrite(fd, data + done, len - done, at + (off_t)done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

int ms_read_fully(int fd, char *buf, size_t len, off_t at)
{
	for (size_t got = 0; got < len;) {
		ssize_t r = pread(fd, buf + got, len - got, at + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENODATA;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int ms_read_all(int fd, char **data, size_t *len)
{
	struct stat st;
	size_t cap = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536, got = 0;
	char *buf = malloc(cap);
	if (!buf)
		return errno = ENOMEM, -1;
	for (;;) {
		if (got == cap) {
			char *bigger = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!bigger) {
				free(buf);
				return errno = ENOMEM, -1;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;
			free(buf);
			return errno = err, -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*data = buf;
	*len = got;
	return 0;
}
