/* mboxlock.c - see mboxlock.h. */
#include "store/mboxlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_DIR ".mstore/locks"

struct ms_mbox_lock {
	int fd;
	char key[64];
};

static bool held_by_parent(const char *key)
{
	const char *env = getenv(MS_MBOXLOCK_ENV);
	size_t len = strlen(key);
	for (const char *p = env; p && *p;) {
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && strncmp(p, key, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static int make_dir(const char *path, ms_err *e)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return ms_err_set(e, MS_E_IO, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

int ms_mbox_lock_take(const char *data_dir, int64_t folder_id, bool exclusive, int timeout_ms, ms_mbox_lock **out,
                      ms_err *e)
{
	char path[4096];
	*out = NULL;
	snprintf(path, sizeof path, "%s/.mstore", data_dir);
	if (make_dir(path, e) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/" LOCK_DIR, data_dir);
	if (make_dir(path, e) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/" LOCK_DIR "/folder-%lld.lock", data_dir, (long long)folder_id);
	ms_mbox_lock *l = calloc(1, sizeof *l);
	if (!l)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	l->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;
	if (l->fd < 0 || fstat(l->fd, &st) < 0) {
		ms_err_set(e, MS_E_IO, "cannot open the mailbox lock %s: %s", path, strerror(errno));
		ms_mbox_lock_release(l);
		return -1;
	}
	snprintf(l->key, sizeof l->key, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	if (held_by_parent(l->key)) {
		*out = l;
		return 0;
	}
	for (int waited = 0;; waited += 50) {
		if (flock(l->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK || (timeout_ms >= 0 && waited >= timeout_ms)) {
			int err = errno;
			ms_mbox_lock_release(l);
			if (err == EWOULDBLOCK)
				return ms_err_set(e, MS_E_LIMIT, "folder %lld is locked by another mstore process (`mstore folder"
				                  " lock`; its lock file is %s)", (long long)folder_id, path);
			return ms_err_set(e, MS_E_IO, "cannot lock %s: %s", path, strerror(err));
		}
		usleep(50000);
	}
	*out = l;
	return 0;
}

const char *ms_mbox_lock_key(const ms_mbox_lock *l)
{
	return l->key;
}

void ms_mbox_lock_release(ms_mbox_lock *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd); /* releases the flock */
	free(l);
}

/* Open the folder's lock file if it exists: fd, or -1 with errno ENOENT
 * (no lock), -2 when it is one of ours (the environment). */
static int open_existing(const char *data_dir, int64_t folder_id, ms_err *e)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/" LOCK_DIR "/folder-%lld.lock", data_dir, (long long)folder_id);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		if (errno != ENOENT)
			ms_err_set(e, MS_E_IO, "cannot open the mailbox lock %s: %s", path, strerror(errno));
		return -1;
	}
	char key[64];
	if (fstat(fd, &st) == 0) {
		snprintf(key, sizeof key, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
		if (held_by_parent(key)) {
			close(fd);
			return -2;
		}
	}
	return fd;
}

static int probe(const char *data_dir, int64_t folder_id, bool wait, ms_err *e)
{
	errno = 0;
	int fd = open_existing(data_dir, folder_id, e);
	if (fd == -2 || (fd == -1 && errno == ENOENT))
		return 0;
	if (fd < 0)
		return -1;
	int rc;
	while ((rc = flock(fd, LOCK_SH | (wait ? 0 : LOCK_NB))) < 0 && errno == EINTR)
		;
	int busy = rc < 0 && errno == EWOULDBLOCK;
	close(fd); /* releases the shared lock, if taken */
	if (rc < 0 && !busy)
		return ms_err_set(e, MS_E_IO, "cannot lock the mailbox lock of folder %lld: %s", (long long)folder_id,
		                  strerror(errno));
	return busy;
}

int ms_mbox_lock_busy(const char *data_dir, int64_t folder_id, ms_err *e)
{
	return probe(data_dir, folder_id, false, e);
}

int ms_mbox_lock_wait(const char *data_dir, int64_t folder_id, ms_err *e)
{
	return probe(data_dir, folder_id, true, e) < 0 ? -1 : 0;
}
