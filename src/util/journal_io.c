/* journal_io.c - path lines and directory fsyncs for journals (journal_io.h). */
#include "util/journal_io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void ms_jio_put_path(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '%' || c == '\t' || c == '\n' || c == '\r')
			fprintf(f, "%%%02X", c);
		else
			fputc(c, f);
	}
}

void ms_jio_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		unsigned v;
		if (*r == '%' && sscanf(r + 1, "%2x", &v) == 1) {
			*w++ = (char)v;
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

int ms_jio_sync_dir(int root_fd, const char *root_name, const char *rel, ms_err *e)
{
	int fd = openat(root_fd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return ms_err_set(e, MS_E_IO, "cannot sync the directory %s/%s: %s", root_name, rel, strerror(err));
	}
	close(fd);
	return 0;
}
