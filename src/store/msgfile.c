/* msgfile.c - see msgfile.h. */
#include "store/msgfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PATH_LEN 4096

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The entry of `dir_fd` called `name` in any case, else `name` lower-cased. */
static void find_entry(int dir_fd, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s", name);
	lower(out);
	if (dir_fd < 0 || faccessat(dir_fd, out, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return;
	int fd = dup(dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	/* the dup shares dir_fd's offset: an earlier lookup left it at the end */
	rewinddir(d);
	for (struct dirent *de; (de = readdir(d));)
		if (strcasecmp(de->d_name, name) == 0) {
			snprintf(out, len, "%s", de->d_name);
			break;
		}
	closedir(d);
}

void ms_msgfile_owner_dir(int root_fd, const char *local, const char *domain, char *out, size_t len)
{
	char dom[256], loc[256];
	find_entry(root_fd, domain, dom, sizeof dom);
	int dom_fd = openat(root_fd, dom, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	find_entry(dom_fd, local, loc, sizeof loc);
	if (dom_fd >= 0)
		close(dom_fd);
	snprintf(out, len, "%s/%s", dom, loc);
}

void ms_msgfile_tmp_name(const char *name, char out[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX])
{
	snprintf(out, MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX, "%.*s" MS_MSGFILE_TMP_SUFFIX,
	         MS_GUID_NAME_LEN - 4, name);
}

/* Open the directory `rel` (relative to root_fd), creating what is
 * missing when `make`, one component at a time and following no symlink.
 * A new fd, or -1 with errno set. */
static int open_dir(int root_fd, const char *rel, bool make)
{
	char dir[PATH_LEN];
	snprintf(dir, sizeof dir, "%s", rel);
	int fd = dup(root_fd);
	for (char *c = dir, *next; fd >= 0 && c; c = next) {
		next = strchr(c, '/');
		if (next)
			*next++ = '\0';
		if (make && mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
			int err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		int sub = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		close(fd);
		errno = err;
		fd = sub;
	}
	return fd;
}

/* The XX folder of `name` in `owner`, opened (and made when `make`). */
static int open_xx(int root_fd, const char *owner, const char *name, bool make)
{
	char rel[PATH_LEN];
	if (!ms_layout_path(MS_PLACE_ACCOUNT, owner, name, rel, sizeof rel)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*strrchr(rel, '/') = '\0'; /* the XX folder: every file of it shares its two characters */
	return open_dir(root_fd, rel, make);
}

static int write_fully(int fd, const char *data, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* Write the file `tmp` of dir_fd and, with `sync`, fsync it. */
static int write_tmp(int dir_fd, const char *tmp, const char *data, size_t len, bool sync, ms_err *e)
{
	int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return ms_err_set(e, MS_E_IO, "cannot create %s: %s", tmp, strerror(errno));
	if (write_fully(fd, data, len) < 0 || (sync && fsync(fd) < 0)) {
		int err = errno;
		close(fd);
		unlinkat(dir_fd, tmp, 0);
		return ms_err_set(e, MS_E_IO, "cannot write %s: %s", tmp, strerror(err));
	}
	close(fd);
	return 0;
}

static int open_xx_err(int root_fd, const char *owner, const char *name, bool make, ms_err *e)
{
	int dir_fd = open_xx(root_fd, owner, name, make);
	if (dir_fd < 0)
		ms_err_set(e, MS_E_IO, "cannot create or open the folder of %s/%s (a symlink is never followed): %s",
		           owner, name, strerror(errno));
	return dir_fd;
}

static int rename_into_place(int dir_fd, const char *owner, const char *tmp, const char *name, ms_err *e)
{
	if (renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) == 0)
		return 0;
	int err = errno;
	unlinkat(dir_fd, tmp, 0);
	return ms_err_set(e, err == EEXIST ? MS_E_EXISTS : MS_E_IO, "cannot rename %s/%s into place: %s", owner, tmp,
	                  strerror(err));
}

int ms_msgfile_write(int root_fd, const char *owner, const char *name, const char *data, size_t len, ms_err *e)
{
	char tmp[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX];
	ms_msgfile_tmp_name(name, tmp);
	int dir_fd = open_xx_err(root_fd, owner, name, true, e);
	if (dir_fd < 0)
		return -1;
	int rc = write_tmp(dir_fd, tmp, data, len, true, e);
	if (rc == 0)
		rc = rename_into_place(dir_fd, owner, tmp, name, e);
	if (rc == 0 && fsync(dir_fd) < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot fsync the folder of %s/%s: %s", owner, name, strerror(errno));
	close(dir_fd);
	return rc;
}

int ms_msgfile_write_tmp(int root_fd, const char *owner, const char *name, const char *data, size_t len, ms_err *e)
{
	char tmp[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX];
	ms_msgfile_tmp_name(name, tmp);
	int dir_fd = open_xx_err(root_fd, owner, name, true, e);
	if (dir_fd < 0)
		return -1;
	int rc = write_tmp(dir_fd, tmp, data, len, false, e);
	close(dir_fd);
	return rc;
}

int ms_msgfile_place(int root_fd, const char *owner, const char *name, ms_err *e)
{
	char tmp[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX];
	ms_msgfile_tmp_name(name, tmp);
	int dir_fd = open_xx_err(root_fd, owner, name, false, e);
	if (dir_fd < 0)
		return -1;
	int rc = rename_into_place(dir_fd, owner, tmp, name, e);
	close(dir_fd);
	return rc;
}

int ms_msgfile_sync(int root_fd, ms_err *e)
{
	if (syncfs(root_fd) < 0)
		return ms_err_set(e, MS_E_IO, "cannot flush the data directory's file system (syncfs): %s", strerror(errno));
	return 0;
}

int ms_msgfile_stat(int root_fd, const char *owner, const char *name, bool tmp, struct stat *st)
{
	char t[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX];
	ms_msgfile_tmp_name(name, t);
	int dir_fd = open_xx(root_fd, owner, name, false);
	if (dir_fd < 0)
		return -1;
	int rc = fstatat(dir_fd, tmp ? t : name, st, AT_SYMLINK_NOFOLLOW);
	int err = errno;
	close(dir_fd);
	errno = err;
	return rc;
}

void ms_msgfile_unlink(int root_fd, const char *owner, const char *name, bool tmp)
{
	char t[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX];
	ms_msgfile_tmp_name(name, t);
	int dir_fd = open_xx(root_fd, owner, name, false);
	if (dir_fd < 0)
		return;
	unlinkat(dir_fd, tmp ? t : name, 0);
	close(dir_fd);
}
