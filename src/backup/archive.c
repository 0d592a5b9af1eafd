/* archive.c - tar (+ zstd) members through libarchive (archive.h). */
#include "backup/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ms_archive {
	struct archive *ar;
	bool writing;
	int fd;            /* our own file, or -1 for stdin/stdout */
	char *path;        /* for messages */
	time_t now;        /* every member's mtime: the archive's creation */
	bool failed;       /* a write failed: libarchive is in its fatal state */
};

static int fail(ms_archive *a, ms_err *e, const char *what)
{
	const char *why = archive_error_string(a->ar);
	/* reading, only an error of the system (EIO) is the file system's; a
	 * truncated or damaged stream is bad input */
	int err = archive_errno(a->ar);
	ms_errcode code = a->writing || err == EIO || err == ENOMEM ? MS_E_IO : MS_E_USAGE;
	a->failed |= a->writing;
	return ms_err_set(e, code, "archive %s: %s: %s", a->path, what, why ? why : "unknown error");
}

static ms_archive *archive_new(const char *path, bool writing)
{
	ms_archive *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->path = strdup(strcmp(path, "-") == 0 ? (writing ? "(stdout)" : "(stdin)") : path);
	a->ar = writing ? archive_write_new() : archive_read_new();
	a->writing = writing;
	a->fd = -1;
	a->now = time(NULL);
	if (!a->path || !a->ar) {
		ms_archive_free(a);
		return NULL;
	}
	return a;
}

void ms_archive_free(ms_archive *a)
{
	if (!a)
		return;
	/* libarchive 3.6's free skips the close in its fatal state, and with
	 * it the release of the output's buffer: closed here (its writes fail
	 * again, harmlessly: the archive is abandoned) */
	if (a->ar && a->writing && a->failed)
		(void)archive_write_close(a->ar);
	if (a->ar)
		a->writing ? archive_write_free(a->ar) : archive_read_free(a->ar);
	if (a->fd >= 0)
		close(a->fd);
	free(a->path);
	free(a);
}

int ms_archive_open_write(const char *path, bool zstd, ms_archive **out, ms_err *e)
{
	ms_archive *a = archive_new(path, true);
	if (!a)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	int fd = STDOUT_FILENO;
	if (strcmp(path, "-") != 0) {
		a->fd = fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			ms_err_set(e, MS_E_IO, "cannot create archive %s: %s%s", path, strerror(errno),
			           errno == EEXIST ? " (a backup never overwrites a file)" : "");
			ms_archive_free(a);
			return -1;
		}
	}
	/* pax keeps names and sizes of any length; restricted: plain ustar
	 * headers whenever they suffice, so every tar reads it */
	if (archive_write_set_format_pax_restricted(a->ar) != ARCHIVE_OK ||
	    (zstd && archive_write_add_filter_zstd(a->ar) != ARCHIVE_OK) ||
	    archive_write_set_bytes_in_last_block(a->ar, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a->ar, fd) != ARCHIVE_OK) {
		fail(a, e, "cannot start writing");
		if (a->fd >= 0)
			unlink(path);
		ms_archive_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

static int write_header(ms_archive *a, const char *name, int64_t len, ms_err *e)
{
	struct archive_entry *en = archive_entry_new();
	if (!en)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	archive_entry_set_pathname(en, name);
	archive_entry_set_filetype(en, AE_IFREG);
	archive_entry_set_perm(en, 0600);
	archive_entry_set_size(en, len);
	archive_entry_set_mtime(en, a->now, 0);
	int rc = archive_write_header(a->ar, en) == ARCHIVE_OK ? 0 : fail(a, e, name);
	archive_entry_free(en);
	return rc;
}

static int write_data(ms_archive *a, const char *name, const void *data, size_t len, ms_err *e)
{
	if (len > 0 && archive_write_data(a->ar, data, len) != (la_ssize_t)len)
		return fail(a, e, name);
	return 0;
}

int ms_archive_add(ms_archive *a, const char *name, const void *data, size_t len, ms_err *e)
{
	return write_header(a, name, (int64_t)len, e) < 0 ? -1 : write_data(a, name, data, len, e);
}

int ms_archive_add_file(ms_archive *a, const char *name, FILE *f, int64_t len, ms_err *e)
{
	if (write_header(a, name, len, e) < 0)
		return -1;
	rewind(f);
	char buf[65536];
	int64_t done = 0;
	while (done < len) {
		size_t want = (size_t)(len - done < (int64_t)sizeof buf ? len - done : (int64_t)sizeof buf);
		size_t got = fread(buf, 1, want, f);
		if (got == 0)
			return ms_err_set(e, MS_E_IO, "archive %s: %s: its temporary file is short", a->path, name);
		if (write_data(a, name, buf, got, e) < 0)
			return -1;
		done += (int64_t)got;
	}
	return 0;
}

int ms_archive_close_write(ms_archive *a, ms_err *e)
{
	int rc = archive_write_close(a->ar) == ARCHIVE_OK ? 0 : fail(a, e, "cannot finish");
	if (rc == 0 && a->fd >= 0 && fsync(a->fd) < 0)
		rc = ms_err_set(e, MS_E_IO, "archive %s: fsync: %s", a->path, strerror(errno));
	ms_archive_free(a);
	return rc;
}

int ms_archive_open_read(const char *path, ms_archive **out, ms_err *e)
{
	ms_archive *a = archive_new(path, false);
	if (!a)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	int fd = STDIN_FILENO;
	if (strcmp(path, "-") != 0) {
		a->fd = fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ms_err_set(e, MS_E_IO, "cannot open archive %s: %s", path, strerror(errno));
			ms_archive_free(a);
			return -1;
		}
	}
	if (archive_read_support_filter_zstd(a->ar) != ARCHIVE_OK ||
	    archive_read_support_filter_none(a->ar) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a->ar) != ARCHIVE_OK ||
	    archive_read_open_fd(a->ar, fd, 65536) != ARCHIVE_OK) {
		fail(a, e, "not a tar or tar.zst stream");
		ms_archive_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

int ms_archive_next(ms_archive *a, const char **name, int64_t *size, ms_err *e)
{
	struct archive_entry *en;
	int r = archive_read_next_header(a->ar, &en);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK)
		return fail(a, e, "damaged member header (truncated or corrupt archive?)");
	*name = archive_entry_pathname(en);
	if (!*name)
		return ms_err_set(e, MS_E_USAGE, "archive %s: a member without a name", a->path);
	if (archive_entry_filetype(en) != AE_IFREG || archive_entry_hardlink(en))
		return ms_err_set(e, MS_E_USAGE, "archive %s: member %s is not a regular file (links and directories"
		                  " are never restored)", a->path, *name);
	*size = archive_entry_size(en);
	return 1;
}

int ms_archive_read(ms_archive *a, void *buf, size_t len, size_t *got, ms_err *e)
{
	la_ssize_t r = archive_read_data(a->ar, buf, len);
	if (r < 0)
		return fail(a, e, "damaged member data (truncated or corrupt archive?)");
	*got = (size_t)r;
	return 0;
}

int ms_archive_read_all(ms_archive *a, int64_t size, int64_t max, char **out, ms_err *e)
{
	if (size < 0 || size > max)
		return ms_err_set(e, MS_E_USAGE, "archive %s: a manifest member of %lld bytes (at most %lld)", a->path,
		                  (long long)size, (long long)max);
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	size_t done = 0, got;
	do {
		if (ms_archive_read(a, buf + done, (size_t)size - done + 1, &got, e) < 0) {
			free(buf);
			return -1;
		}
		done += got;
	} while (got > 0 && done <= (size_t)size);
	if (done != (size_t)size) {
		free(buf);
		return ms_err_set(e, MS_E_USAGE, "archive %s: a member's size is not what its header says", a->path);
	}
	buf[done] = '\0';
	*out = buf;
	return 0;
}
