/* quarantine.c - the channel quarantine's retention (quarantine.h). */
#include "channel/quarantine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRUNED_LOG "pruned"

typedef struct qrun {
	char *name;
	time_t age_from;
} qrun;
typedef MS_VEC(qrun) qrun_vec;

/* When the run last wrote to its directory (quarantine.h). */
static bool run_time(int qfd, const char *name, time_t *t)
{
	static const char *const journals[] = { "journal", "journal.undone" };
	struct stat st;
	char p[512];
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", name, journals[i]);
		if (fstatat(qfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			*t = st.st_mtime;
			return true;
		}
	}
	if (fstatat(qfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return false;
	*t = st.st_mtime;
	return true;
}

static int cmp_run(const void *a, const void *b)
{
	const qrun *x = a, *y = b;
	return x->age_from < y->age_from ? -1 : x->age_from > y->age_from ? 1 : strcmp(x->name, y->name);
}

/* The run directories of qdir with their times, oldest first. */
static int list_runs(int qfd, const char *qdir, qrun_vec *out, ms_err *e)
{
	int fd = dup(qfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return ms_err_set(e, MS_E_IO, "cannot read the quarantine %s: %s", qdir, strerror(errno));
	}
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d));) {
		qrun r = { 0 };
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 256 || !run_time(qfd, de->d_name, &r.age_from))
			continue;   /* ".", "..", the pruned log: no run */
		if (!(r.name = strdup(de->d_name)) || ms_vec_push(out, r) < 0) {
			free(r.name);
			rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
		}
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_run);
	return rc;
}

/* Record the run as pruned (before its files go: a crash in between
 * leaves a run that undo still finds, as it looks for the journal first). */
static int log_pruned(int qfd, const char *qdir, const char *name, time_t now, ms_err *e)
{
	int fd = openat(qfd, PRUNED_LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ms_err_set(e, MS_E_IO, "cannot write %s/%s: %s", qdir, PRUNED_LOG, strerror(errno));
	char *esc = g_strescape(name, NULL);
	char *line = g_strdup_printf("%s\t%lld\n", esc, (long long)now);
	size_t len = strlen(line);
	int rc = write(fd, line, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
	int err = errno;
	g_free(line);
	g_free(esc);
	close(fd);
	return rc < 0 ? ms_err_set(e, MS_E_IO, "cannot write %s/%s: %s", qdir, PRUNED_LOG, strerror(err)) : 0;
}

/* Remove the run's files (the engine writes only files into it) and the directory. */
static int remove_run(int qfd, const char *qdir, const char *name, ms_err *e)
{
	int fd = openat(qfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return ms_err_set(e, MS_E_IO, "cannot prune quarantined run %s/%s: %s", qdir, name, strerror(errno));
	}
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d));)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && unlinkat(fd, de->d_name, 0) < 0)
			rc = ms_err_set(e, MS_E_IO, "cannot prune quarantined run %s/%s: %s: %s", qdir, name, de->d_name,
			                strerror(errno));
	closedir(d);
	if (rc == 0 && unlinkat(qfd, name, AT_REMOVEDIR) < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot prune quarantined run %s/%s: %s", qdir, name, strerror(errno));
	return rc;
}

int ms_quarantine_prune(const char *qdir, unsigned days, time_t now, const char *keep_run, bool dry,
                        ms_strlist *pruned, ms_err *e)
{
	if (days == 0)
		return 0;
	int qfd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (qfd < 0)
		return errno == ENOENT ? 0 : ms_err_set(e, MS_E_IO, "cannot open the quarantine %s: %s", qdir,
		                                         strerror(errno));
	qrun_vec runs = { 0 };
	int rc = list_runs(qfd, qdir, &runs, e);
	time_t limit = now - (time_t)days * 86400;
	for (size_t i = 0; rc == 0 && i < runs.n; i++) {
		const qrun *r = &runs.v[i];
		if (r->age_from >= limit || (keep_run && strcmp(r->name, keep_run) == 0))
			continue;
		if (!dry && (log_pruned(qfd, qdir, r->name, now, e) < 0 || remove_run(qfd, qdir, r->name, e) < 0)) {
			rc = -1;
			break;
		}
		char *n = strdup(r->name);
		if (!n || ms_strlist_add(pruned, n) < 0) {
			free(n);
			rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
		}
	}
	for (size_t i = 0; i < runs.n; i++)
		free(runs.v[i].name);
	ms_vec_free(&runs);
	close(qfd);
	return rc;
}

int ms_quarantine_pruned_at(const char *qdir, const char *run, time_t *when, ms_err *e)
{
	char *path = g_strdup_printf("%s/%s", qdir, PRUNED_LOG);
	FILE *f = fopen(path, "r");
	int found = 0;
	if (!f) {
		found = errno == ENOENT ? 0 : ms_err_set(e, MS_E_IO, "cannot read %s: %s", path, strerror(errno));
		g_free(path);
		return found;
	}
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		char *name = g_strcompress(line);
		if (strcmp(name, run) == 0) {
			*when = (time_t)strtoll(tab + 1, NULL, 10);
			found = 1;   /* the last record counts */
		}
		g_free(name);
	}
	free(line);
	fclose(f);
	g_free(path);
	return found;
}
