/* journal.c - the rename journal.
 *
 * Before sync renames a misplaced file it appends "from -> to" to its
 * journal and fsyncs it; once the batch's rows are committed the journal
 * is emptied.  Each process has its own journal in DATA/.mstore/ and holds
 * an exclusive lock on it while it runs, so shards on one data directory
 * never touch each other's.  A later run takes over every journal nobody
 * holds (its writer died) and reports what happened to each file: moved
 * (the row will be created by this run, the file being unreferenced at its
 * new place), or not moved.  rename(2) is atomic, so a file is always at
 * one of the two names: nothing is ever lost.
 *
 * What "on disk" takes (tests/e2e/test_durability.sh checks each step
 * with the durability shim): a new file's data is synced by fdatasync,
 * but its name is an entry of its directory, synced only by an fsync of
 * that directory.  So the journal's directory (and DATA, when .mstore is
 * new) is synced once when the journal is created, before its first
 * rename; and after each rename the directories that lost and gained the
 * name are synced before the batch's rows (which name the new place) are
 * committed: otherwise a power cut after the commit could bring back the
 * old name under a row that points at the new one.
 */
#include "sync/sync_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/journal_io.h"

#define JOURNAL_DIR ".mstore"

static int journal_fd = -1;   /* this process's journal, opened on first use */
static char journal_name[300];


/* fsync the directory `rel` below the data directory ("" is its root). */
static int sync_dir(sync_run *run, const char *rel, ms_err *e)
{
	return ms_jio_sync_dir(run->root_fd, run->s->data_dir, rel, e);
}

static int open_own(sync_run *run, ms_err *e)
{
	if (journal_fd >= 0)
		return 0;
	bool new_dir = mkdirat(run->root_fd, JOURNAL_DIR, 0700) == 0;
	if (!new_dir && errno != EEXIST)
		return ms_err_set(e, MS_E_IO, "cannot create %s/%s: %s", run->s->data_dir, JOURNAL_DIR, strerror(errno));
	if (new_dir && sync_dir(run, "", e) < 0)
		return -1;
	char host[128] = "host";
	gethostname(host, sizeof host - 1);
	snprintf(journal_name, sizeof journal_name, JOURNAL_DIR "/sync-%s-%d.journal", host, (int)getpid());
	journal_fd = openat(run->root_fd, journal_name, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (journal_fd < 0)
		return ms_err_set(e, MS_E_IO, "cannot open the rename journal %s/%s: %s", run->s->data_dir, journal_name,
		                  strerror(errno));
	flock(journal_fd, LOCK_EX);
	if (sync_dir(run, JOURNAL_DIR, e) < 0) { /* the journal's name, before anything relies on it */
		close(journal_fd);
		journal_fd = -1;
		return -1;
	}
	return 0;
}

int sync_journal_append(sync_run *run, const char *from_rel, const char *to_rel, ms_err *e)
{
	if (open_own(run, e) < 0)
		return -1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	ms_jio_put_path(f, from_rel);
	fputc('\t', f);
	ms_jio_put_path(f, to_rel);
	fputc('\n', f);
	fclose(f);
	ssize_t w = write(journal_fd, buf, len);
	free(buf);
	if (w != (ssize_t)len || fdatasync(journal_fd) < 0)
		return ms_err_set(e, MS_E_IO, "cannot write the rename journal %s/%s: %s", run->s->data_dir, journal_name,
		                  strerror(errno ? errno : EIO));
	return 0;
}

/* The directory part of `rel` ("" for the root) into out. */
static void dir_of(const char *rel, char *out, size_t len)
{
	const char *slash = strrchr(rel, '/');
	snprintf(out, len, "%.*s", slash ? (int)(slash - rel) : 0, rel);
}

int sync_journal_renamed(sync_run *run, const char *from_rel, const char *to_rel, ms_err *e)
{
	/* The target's directory, its parent (which gained the entry of a new
	 * XX directory) and the source's directory; each once (at the root the
	 * parent is the root itself). */
	char dirs[3][4096];
	dir_of(to_rel, dirs[0], sizeof dirs[0]);
	dir_of(dirs[0], dirs[1], sizeof dirs[1]);
	dir_of(from_rel, dirs[2], sizeof dirs[2]);
	for (int i = 0; i < 3; i++) {
		bool seen = (i > 0 && strcmp(dirs[i], dirs[0]) == 0) || (i > 1 && strcmp(dirs[i], dirs[1]) == 0);
		if (!seen && sync_dir(run, dirs[i], e) < 0)
			return -1;
	}
	return 0;
}

int sync_journal_clear(sync_run *run, ms_err *e)
{
	if (journal_fd < 0)
		return 0;
	if (ftruncate(journal_fd, 0) < 0 || fdatasync(journal_fd) < 0)
		return ms_err_set(e, MS_E_IO, "cannot empty the rename journal %s/%s: %s", run->s->data_dir,
		                  journal_name, strerror(errno));
	return 0;
}

static bool exists(int root_fd, const char *rel)
{
	struct stat st;
	return fstatat(root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Replay one abandoned journal: report each rename it recorded. */
static void replay(sync_run *run, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') /* torn by the crash: its rename never started */
			break;
		line[n - 1] = '\0';
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		char *from = line, *to = tab + 1;
		ms_jio_unescape(from);
		ms_jio_unescape(to);
		bool at_from = exists(run->root_fd, from), at_to = exists(run->root_fd, to);
		if (at_to && !at_from)
			sync_report_entry(run, from, SYNC_MOVED, "renamed by an interrupted run; imported from its new place",
			                  to);
		else if (!at_to && !at_from)
			sync_report_entry(run, from, SYNC_FAILED, "in the rename journal but at neither name; "
			                  "something else moved it", to);
	}
	free(line);
}

static int replay_one(void *ctx, int fd, const char *name, ms_err *e)
{
	(void)name, (void)e;
	FILE *f = fdopen(dup(fd), "r");
	if (!f)
		return MS_JIO_KEEP;
	replay(ctx, f);
	fclose(f);
	return MS_JIO_REMOVE;
}

int sync_journal_recover(sync_run *run, ms_err *e)
{
	return ms_jio_take_over(run->root_fd, run->s->data_dir, "sync-", ".journal", O_RDONLY, replay_one, run, e);
}

void sync_journal_close(sync_run *run)
{
	if (journal_fd < 0)
		return;
	struct stat st;
	/* An empty journal has nothing to tell a later run. */
	if (fstat(journal_fd, &st) == 0 && st.st_size == 0)
		unlinkat(run->root_fd, journal_name, 0);
	close(journal_fd);
	journal_fd = -1;
}
