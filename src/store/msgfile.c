/* msgfile.c - see msgfile.h. */
#include "store/msgfile.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/fdio.h"

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
 * missing when `make`, one component at a time and following no symlink;
 * with `sync_new`, each directory made is made durable in its parent.
 * A new fd, or -1 with errno set. */
static int open_dir(int root_fd, const char *rel, bool make, bool sync_new)
{
	char dir[PATH_LEN];
	snprintf(dir, sizeof dir, "%s", rel);
	int fd = dup(root_fd);
	for (char *c = dir, *next; fd >= 0 && c; c = next) {
		next = strchr(c, '/');
		if (next)
			*next++ = '\0';
		int made = make ? mkdirat(fd, c, 0755) : -1;
		if ((make && made < 0 && errno != EEXIST) || (made == 0 && sync_new && fsync(fd) < 0)) {
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
static int open_xx(int root_fd, const char *owner, const char *name, bool make, bool sync_new)
{
	char rel[PATH_LEN];
	if (!ms_layout_path(MS_PLACE_ACCOUNT, owner, name, rel, sizeof rel)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*strrchr(rel, '/') = '\0'; /* the XX folder: every file of it shares its two characters */
	return open_dir(root_fd, rel, make, sync_new);
}

/* ---- the XX folders of one account, opened once -------------------------------- */

#define SLOTS 256 /* every XX a GUID name can have: two hex digits */

struct ms_msgdirs {
	int root_fd;
	bool each;                 /* this batch is small: durability per file, not per file system */
	char owner[PATH_LEN];
	struct slot { char xx[3]; int fd; } slot[SLOTS]; /* fd -1: free */
};

ms_msgdirs *ms_msgdirs_open(int root_fd, const char *owner)
{
	ms_msgdirs *d = malloc(sizeof *d);
	if (!d)
		return NULL;
	d->root_fd = root_fd;
	d->each = false;
	snprintf(d->owner, sizeof d->owner, "%s", owner);
	for (size_t i = 0; i < SLOTS; i++)
		d->slot[i].fd = -1;
	return d;
}

static void forget_all(ms_msgdirs *d)
{
	for (size_t i = 0; i < SLOTS; i++)
		if (d->slot[i].fd >= 0) {
			close(d->slot[i].fd);
			d->slot[i].fd = -1;
		}
}

void ms_msgdirs_close(ms_msgdirs *d)
{
	if (!d)
		return;
	forget_all(d);
	free(d);
}

/* The slot of `xx`: its own, or the free one it would take. */
static struct slot *find_slot(ms_msgdirs *d, const char xx[3])
{
	size_t h = ((unsigned char)xx[0] * 31u + (unsigned char)xx[1]) % SLOTS;
	for (size_t k = 0; k < SLOTS; k++) {
		struct slot *s = &d->slot[(h + k) % SLOTS];
		if (s->fd < 0 || memcmp(s->xx, xx, 3) == 0)
			return s;
	}
	return NULL;
}

/* The XX folder of `name`, opened (made when `make`) at its first use and
 * kept: a batch pays one open per file, not one per path level (deliver of
 * 10,000 messages made 70,000 openat calls).  Owned by d: not to be closed.
 * -1 with errno set. */
static int xx_fd(ms_msgdirs *d, const char *name, bool make)
{
	char xx[3];
	ms_layout_xx(name, xx);
	struct slot *s = find_slot(d, xx);
	if (s && s->fd >= 0)
		return s->fd;
	if (!s) { /* more than SLOTS distinct folders (names in both cases): start over */
		forget_all(d);
		s = find_slot(d, xx);
	}
	assert(s && s->fd < 0);
	int fd = open_xx(d->root_fd, d->owner, name, make, d->each);
	if (fd >= 0) {
		memcpy(s->xx, xx, 3);
		s->fd = fd;
	}
	return fd;
}

/* A folder removed behind our back (an empty XX folder tidied away) leaves
 * a stale descriptor: forget it, so the next use opens (makes) it again. */
static void forget(ms_msgdirs *d, const char *name)
{
	char xx[3];
	ms_layout_xx(name, xx);
	struct slot *s = find_slot(d, xx);
	if (s && s->fd >= 0) {
		/* the table keeps no holes: every entry after s in its run is put again */
		close(s->fd);
		s->fd = -1;
		for (size_t i = (size_t)(s - d->slot + 1) % SLOTS; d->slot[i].fd >= 0; i = (i + 1) % SLOTS) {
			struct slot moved = d->slot[i];
			d->slot[i].fd = -1;
			*find_slot(d, moved.xx) = moved;
		}
	}
}

static int xx_fd_err(ms_msgdirs *d, const char *name, bool make, ms_err *e)
{
	int dir_fd = xx_fd(d, name, make);
	if (dir_fd < 0)
		ms_err_set(e, MS_E_IO, "cannot create or open the folder of %s/%s (a symlink is never followed): %s",
		           d->owner, name, strerror(errno));
	return dir_fd;
}

/* ---- writing ------------------------------------------------------------------------ */

/* Write `name`'s temporary file and, with `sync`, fsync it. */
static int write_tmp(ms_msgdirs *d, const char *name, const char *data, size_t len, bool sync, ms_err *e)
{
	char tmp[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX];
	ms_msgfile_tmp_name(name, tmp);
	int dir_fd = xx_fd_err(d, name, true, e);
	if (dir_fd < 0)
		return -1;
	int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) { /* the cached folder is gone: once more, made again */
		forget(d, name);
		if ((dir_fd = xx_fd_err(d, name, true, e)) < 0)
			return -1;
		fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return ms_err_set(e, MS_E_IO, "cannot create %s/%s: %s", d->owner, tmp, strerror(errno));
	if (ms_write_fully(fd, data, len, -1) < 0 || (sync && fsync(fd) < 0)) {
		int err = errno;
		close(fd);
		unlinkat(dir_fd, tmp, 0);
		return ms_err_set(e, MS_E_IO, "cannot write %s/%s: %s", d->owner, tmp, strerror(err));
	}
	close(fd);
	return 0;
}

/* Rename `name`'s temporary file into place, never over a file. */
static int place(ms_msgdirs *d, const char *name, ms_err *e)
{
	char tmp[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX];
	ms_msgfile_tmp_name(name, tmp);
	int dir_fd = xx_fd_err(d, name, false, e);
	if (dir_fd < 0)
		return -1;
	if (renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) == 0) {
		if (!d->each || fsync(dir_fd) == 0)
			return 0;
		int err = errno;
		unlinkat(dir_fd, name, 0); /* in place but perhaps not durable: no row may name it */
		return ms_err_set(e, MS_E_IO, "cannot fsync the folder of %s/%s: %s", d->owner, name, strerror(err));
	}
	int err = errno;
	unlinkat(dir_fd, tmp, 0);
	return ms_err_set(e, err == EEXIST ? MS_E_EXISTS : MS_E_IO, "cannot rename %s/%s into place: %s", d->owner, tmp,
	                  strerror(err));
}

int ms_msgfile_write(int root_fd, const char *owner, const char *name, const char *data, size_t len, ms_err *e)
{
	ms_msgdirs *d = ms_msgdirs_open(root_fd, owner);
	if (!d)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	d->each = true;
	int rc = write_tmp(d, name, data, len, true, e);
	if (rc == 0)
		rc = place(d, name, e);
	ms_msgdirs_close(d);
	return rc;
}

void ms_msgdirs_batch(ms_msgdirs *d, size_t n)
{
	d->each = n <= MS_MSGFILE_EACH_MAX;
}

int ms_msgfile_write_tmp(ms_msgdirs *d, const char *name, const char *data, size_t len, ms_err *e)
{
	return write_tmp(d, name, data, len, d->each, e);
}

int ms_msgfile_place(ms_msgdirs *d, const char *name, ms_err *e)
{
	return place(d, name, e);
}

void ms_msgfile_drop(ms_msgdirs *d, const char *name, bool tmp)
{
	char t[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX];
	ms_msgfile_tmp_name(name, t);
	int dir_fd = xx_fd(d, name, false);
	if (dir_fd >= 0)
		unlinkat(dir_fd, tmp ? t : name, 0);
}

int ms_msgfile_sync(ms_msgdirs *d, ms_err *e)
{
	if (!d->each && syncfs(d->root_fd) < 0)
		return ms_err_set(e, MS_E_IO, "cannot flush the data directory's file system (syncfs): %s", strerror(errno));
	return 0;
}

int ms_msgfile_stat(int root_fd, const char *owner, const char *name, bool tmp, struct stat *st)
{
	char t[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX];
	ms_msgfile_tmp_name(name, t);
	int dir_fd = open_xx(root_fd, owner, name, false, false);
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
	int dir_fd = open_xx(root_fd, owner, name, false, false);
	if (dir_fd < 0)
		return;
	unlinkat(dir_fd, tmp ? t : name, 0);
	close(dir_fd);
}
