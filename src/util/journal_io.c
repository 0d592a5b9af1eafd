/* journal_io.c - path lines and directory fsyncs for journals (journal_io.h). */
#include "util/journal_io.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

void ms_jio_put_path(FILE *f, const char *s)
{
	/* runs of plain bytes in one fwrite: a journal line per file is
	 * written for every message an expire or a sync moves */
	while (*s) {
		size_t plain = strcspn(s, "%\t\n\r");
		if (plain)
			fwrite(s, 1, plain, f);
		s += plain;
		if (*s)
			fprintf(f, "%%%02X", (unsigned char)*s++);
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

static bool has_affixes(const char *name, const char *prefix, const char *suffix)
{
	size_t len = strlen(name), pl = strlen(prefix), sl = strlen(suffix);
	return len > pl + sl && strncmp(name, prefix, pl) == 0 && strcmp(name + len - sl, suffix) == 0;
}

/* One journal, to fn when its writer is in the state `mode` asks for:
 * a dead writer's is flocked (and unlinked once fn settles it), a live
 * writer's is only read (its writer holds the lock all its life). */
static int take_one(int dir_fd, const char *name, ms_jio_mode mode, int open_flags, ms_jio_replay_fn fn, void *ctx,
                    ms_err *e)
{
	int fd = openat(dir_fd, name, open_flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0; /* removed meanwhile by its writer or another recoverer */
	bool alive = flock(fd, (mode == MS_JIO_DEAD ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0;
	if (alive != (mode == MS_JIO_LIVE)) {
		close(fd);
		return 0;
	}
	int rc = fn(ctx, fd, name, e);
	if (rc == MS_JIO_REMOVE && mode == MS_JIO_DEAD)
		unlinkat(dir_fd, name, 0);
	close(fd);
	return rc < 0 ? -1 : 0;
}

int ms_jio_scan(int root_fd, const char *data_dir, const char *prefix, const char *suffix, ms_jio_mode mode,
                int open_flags, ms_jio_replay_fn fn, void *ctx, ms_err *e)
{
	int dfd = openat(root_fd, MS_JIO_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir) {
		int err = errno;
		if (dfd >= 0)
			close(dfd);
		return err == ENOENT ? 0 : ms_err_set(e, MS_E_IO, "cannot read %s/" MS_JIO_DIR ": %s", data_dir,
		                                      strerror(err));
	}
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(dir)) != NULL;)
		if (has_affixes(de->d_name, prefix, suffix))
			rc = take_one(dirfd(dir), de->d_name, mode, open_flags, fn, ctx, e);
	closedir(dir);
	return rc;
}

int ms_jio_take_over(int root_fd, const char *data_dir, const char *prefix, const char *suffix, int open_flags,
                     ms_jio_replay_fn fn, void *ctx, ms_err *e)
{
	return ms_jio_scan(root_fd, data_dir, prefix, suffix, MS_JIO_DEAD, open_flags, fn, ctx, e);
}
