/* cleanup.c - --quarantine DIR and --delete-unreferenced: the original
 * synchronizer's delete mode, made safe.  Only files this run found
 * unreferenced and could not import (orphaned, not imported) are touched;
 * they are listed first; a quarantined file keeps its path below DIR, so
 * putting it back is one `cp -a`. */
#include "sync/sync_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/escape.h"

/* fsync the directory holding `path`: a new name is on disk only then
 * (tests/e2e/test_durability.sh checks it). */
static int sync_parent(const char *path)
{
	char dir[8192];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash && slash != path ? (int)(slash - path) : 1, slash ? path : ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 ? -1 : fsync(fd);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int mkdirs_for(const char *path)
{
	char buf[8192];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) == 0 ? sync_parent(buf) < 0 : errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* Copy then remove, for a quarantine on another file system. */
static int copy_across(int root_fd, const char *rel, const char *dest)
{
	int in = openat(root_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int out = in < 0 ? -1 : open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	char buf[65536];
	ssize_t n = 0;
	int rc = in >= 0 && out >= 0 ? 0 : -1;
	while (rc == 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			rc = -1;
	/* the copy's data and its name on disk before the original goes */
	if (n < 0 || (out >= 0 && (fsync(out) < 0 || sync_parent(dest) < 0)))
		rc = -1;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0)
		rc = -1;
	if (rc == 0)
		rc = unlinkat(root_fd, rel, 0);
	else if (out >= 0)
		unlink(dest);
	return rc;
}

static int quarantine_one(sync_run *run, const char *rel, char *dest, size_t len)
{
	snprintf(dest, len, "%s/%s", run->o->quarantine_dir, rel);
	if (mkdirs_for(dest) < 0)
		return -1;
	if (renameat2(run->root_fd, rel, AT_FDCWD, dest, RENAME_NOREPLACE) == 0)
		return 0;
	return errno == EXDEV ? copy_across(run->root_fd, rel, dest) : -1;
}

int sync_cleanup(sync_run *run, const size_t *which, size_t n)
{
	const ms_sync_opts *o = run->o;
	if (n == 0 || o->dry_run || (!o->quarantine_dir && !o->delete_unreferenced))
		return 0;
	FILE *log = o->log ? o->log : stdout;
	fprintf(log, "%s %zu unreferenced file%s:\n", o->quarantine_dir ? "Quarantining" : "Deleting", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		fputs("  ", log);
		ms_escape_put(log, run->cands.v[which[i]].relpath);
		fputc('\n', log);
	}
	for (size_t i = 0; i < n; i++) {
		const char *rel = run->cands.v[which[i]].relpath;
		char dest[8192];
		int rc = o->quarantine_dir ? quarantine_one(run, rel, dest, sizeof dest) : unlinkat(run->root_fd, rel, 0);
		if (rc < 0) {
			sync_report_entry(run, rel, SYNC_FAILED, o->quarantine_dir ? "cannot quarantine" : "cannot delete",
			                  strerror(errno));
			run->r->cleanup_failed++;
		} else if (o->quarantine_dir) {
			run->r->quarantined++;
		} else {
			run->r->deleted++;
		}
	}
	return 0;
}
