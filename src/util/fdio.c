/* fdio.c - see fdio.h. */
#include "util/fdio.h"

#include <errno.h>
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
