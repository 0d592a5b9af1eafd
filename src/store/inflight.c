/* inflight.c - the journal of message files whose rows are in flight
 * (inflight.h says why and what recovery does).
 *
 * A line is "ACCOUNT\tPATH\n", the path below the data directory with
 * '%', tab, CR and LF as %XX (sync's rename journal escapes the same way).
 * A line torn by a crash has no newline: its files were never touched
 * (the record is synced before they are), so it is ignored.
 *
 * Durability, as sync's journal does it: the journal's directory entry
 * (and DATA's entry for a new .mstore) is synced when the journal is made,
 * before its first record is relied on; records are fdatasync'ed before
 * the files they name are written or removed.
 */
#include "store/inflight.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/layout.h"
#include "store/messages.h"
#include "util/journal_io.h"

#define JOURNAL_DIR ".mstore"
#define SUFFIX ".inflight"
#define REL_LEN 4096

struct ms_inflight {
	int root_fd;               /* borrowed */
	const char *data_dir;      /* borrowed, for errors */
	int fd;                    /* the journal, -1 until the first record */
	char name[300];            /* JOURNAL_DIR/inflight-HOST-PID-N.inflight */
};

/* fsync the directory `rel` of root_fd ("." is the root itself). */
int ms_inflight_new(int root_fd, const char *data_dir, ms_inflight **out, ms_err *e)
{
	ms_inflight *j = calloc(1, sizeof *j);
	if (!j)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	*j = (ms_inflight){ .root_fd = root_fd, .data_dir = data_dir, .fd = -1 };
	*out = j;
	return 0;
}

/* Make this writer's journal: a name no other handle (of this process
 * either) uses, locked before anybody could take it for a dead one's. */
static int open_journal(ms_inflight *j, ms_err *e)
{
	static unsigned counter;
	bool new_dir = mkdirat(j->root_fd, JOURNAL_DIR, 0700) == 0;
	if (!new_dir && errno != EEXIST)
		return ms_err_set(e, MS_E_IO, "cannot create %s/%s: %s", j->data_dir, JOURNAL_DIR, strerror(errno));
	if (new_dir && ms_jio_sync_dir(j->root_fd, j->data_dir, ".", e) < 0)
		return -1;
	char host[128] = "host";
	gethostname(host, sizeof host - 1);
	unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	snprintf(j->name, sizeof j->name, JOURNAL_DIR "/inflight-%s-%d-%u" SUFFIX, host, (int)getpid(), n);
	/* O_EXCL: a leftover of a dead process that had our PID is not ours */
	int fd = openat(j->root_fd, j->name, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ms_err_set(e, MS_E_IO, "cannot create the journal %s/%s: %s", j->data_dir, j->name, strerror(errno));
	/* a recovery that opened the new name between create and lock would
	 * find it empty: nothing to take over, and it leaves the name alone */
	int rc = flock(fd, LOCK_EX) < 0 ? ms_err_set(e, MS_E_IO, "cannot lock the journal %s/%s: %s", j->data_dir,
	                                            j->name, strerror(errno))
	                               : ms_jio_sync_dir(j->root_fd, j->data_dir, JOURNAL_DIR, e);
	if (rc < 0) {
		unlinkat(j->root_fd, j->name, 0);
		close(fd);
		return -1;
	}
	j->fd = fd;
	return 0;
}

int ms_inflight_add(ms_inflight *j, int64_t account_id, const char *rel, ms_err *e)
{
	if (j->fd < 0 && open_journal(j, e) < 0)
		return -1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	fprintf(f, "%" PRId64 "\t", account_id);
	ms_jio_put_path(f, rel);
	fputc('\n', f);
	fclose(f);
	ssize_t w = write(j->fd, buf, len);
	int err = errno;
	free(buf);
	if (w != (ssize_t)len)
		return ms_err_set(e, MS_E_IO, "cannot write the journal %s/%s: %s", j->data_dir, j->name,
		                  w < 0 ? strerror(err) : "short write");
	return 0;
}

int ms_inflight_sync(ms_inflight *j, ms_err *e)
{
	if (j->fd >= 0 && fdatasync(j->fd) < 0)
		return ms_err_set(e, MS_E_IO, "cannot sync the journal %s/%s: %s", j->data_dir, j->name, strerror(errno));
	return 0;
}

int ms_inflight_clear(ms_inflight *j, ms_err *e)
{
	if (j->fd >= 0 && ftruncate(j->fd, 0) < 0)
		return ms_err_set(e, MS_E_IO, "cannot empty the journal %s/%s: %s", j->data_dir, j->name, strerror(errno));
	return 0;
}

void ms_inflight_free(ms_inflight *j)
{
	if (!j)
		return;
	struct stat st;
	if (j->fd >= 0) {
		if (fstat(j->fd, &st) == 0 && st.st_size == 0)
			unlinkat(j->root_fd, j->name, 0);
		close(j->fd);
	}
	free(j);
}

/* ---- recovery ------------------------------------------------------------------ */

/* Open the directory `rel` below root_fd one component at a time,
 * following no symlink (a journal line must not lead a removal outside
 * the data directory). */
static int open_dir_beneath(int root_fd, const char *rel)
{
	char dir[REL_LEN];
	snprintf(dir, sizeof dir, "%s", rel);
	int fd = dup(root_fd);
	for (char *c = dir, *next; fd >= 0 && c; c = next) {
		next = strchr(c, '/');
		if (next)
			*next++ = '\0';
		if (!*c || strcmp(c, "..") == 0 || strcmp(c, ".") == 0) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		int sub = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	return fd;
}

/* One line of a dead writer's journal: remove its file when no row of
 * its account names it.  1 removed, 0 kept, -1 database error. */
static int settle_one(db *d, int root_fd, const char *data_dir, int64_t account, const char *rel, ms_err *e)
{
	const char *slash = strrchr(rel, '/');
	uint8_t g[16];
	if (!slash || slash - rel >= REL_LEN || !ms_guid_name_parse(slash + 1, g))
		return 0; /* not a name we write: never ours to remove */
	char dir[REL_LEN];
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - rel), rel);
	int dfd = open_dir_beneath(root_fd, dir);
	if (dfd < 0)
		return 0; /* never made */
	char tmp[MS_GUID_NAME_LEN + sizeof MS_INFLIGHT_TMP_SUFFIX];
	snprintf(tmp, sizeof tmp, "%.*s" MS_INFLIGHT_TMP_SUFFIX, MS_GUID_NAME_LEN - 4, slash + 1);
	unlinkat(dfd, tmp, 0); /* a temporary file is nobody's message */
	struct stat st;
	if (fstatat(dfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		close(dfd);
		return 0; /* gone already (or never written) */
	}
	int named = ms_messages_account_names(d, account, slash + 1, e);
	int rc = named;
	if (named == 0) {
		if (unlinkat(dfd, slash + 1, 0) < 0 || fsync(dfd) < 0) {
			fprintf(stderr, "mstore: warning: %s/%s: a file of an interrupted write that no row names, not"
			        " removed: %s\n", data_dir, rel, strerror(errno));
			rc = 0;
		} else {
			rc = 1;
		}
	}
	close(dfd);
	return rc;
}

typedef int line_fn(void *ctx, int64_t account, const char *rel);

/* Every complete line of the journal f, to fn, until fn returns -1 (then
 * -1).  A line torn by a crash ends it: its files were never touched. */
static int each_line(FILE *f, line_fn *fn, void *ctx)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		line[n - 1] = '\0';
		char *tab = strchr(line, '\t'), *end;
		if (!tab)
			continue;
		*tab = '\0';
		long long account = strtoll(line, &end, 10);
		if (*end || account < 0)
			continue; /* 0: a public folder's file (account 0) */
		ms_jio_unescape(tab + 1);
		rc = fn(ctx, (int64_t)account, tab + 1);
	}
	free(line);
	return rc;
}

typedef struct settle_ctx {
	db *d;
	int root_fd;
	const char *data_dir;
	size_t *removed;
	ms_err *e;
} settle_ctx;

static int settle_line(void *ctx, int64_t account, const char *rel)
{
	settle_ctx *c = ctx;
	int r = settle_one(c->d, c->root_fd, c->data_dir, account, rel, c->e);
	if (r > 0)
		*c->removed += (size_t)r;
	return r < 0 ? -1 : 0;
}

/* Settle every complete line of the journal `f`; -1 on a database error
 * (the journal is then kept for the next recovery). */
static int settle(db *d, int root_fd, const char *data_dir, FILE *f, size_t *removed, ms_err *e)
{
	settle_ctx c = { .d = d, .root_fd = root_fd, .data_dir = data_dir, .removed = removed, .e = e };
	return each_line(f, settle_line, &c);
}

typedef struct recover_ctx {
	db *d;
	int root_fd;
	const char *data_dir;
	size_t removed;
} recover_ctx;

/* Settle the journal of a writer that is gone. */
static int take_over(void *ctx, int fd, const char *name, ms_err *e)
{
	(void)name;
	recover_ctx *r = ctx;
	FILE *f = fdopen(dup(fd), "r");
	if (!f)
		return MS_JIO_KEEP;
	int rc = settle(r->d, r->root_fd, r->data_dir, f, &r->removed, e);
	fclose(f);
	return rc < 0 ? -1 : MS_JIO_REMOVE;
}

typedef struct each_ctx {
	ms_inflight_name_fn *fn;
	void *ctx;
} each_ctx;

static int each_name(void *ctx, int64_t account, const char *rel)
{
	each_ctx *c = ctx;
	c->fn(c->ctx, account, rel);
	return 0;
}

/* Every complete line of one journal, to the caller's fn. */
static int read_journal(void *ctx, int fd, const char *name, ms_err *e)
{
	(void)name, (void)e;
	FILE *f = fdopen(dup(fd), "r");
	if (f) {
		each_line(f, each_name, ctx);
		fclose(f);
	}
	return MS_JIO_KEEP;
}

void ms_inflight_each(int root_fd, ms_jio_mode mode, ms_inflight_name_fn *fn, void *ctx)
{
	each_ctx c = { .fn = fn, .ctx = ctx };
	ms_err ignored = { 0 };
	ms_jio_scan(root_fd, "", "inflight-", SUFFIX, mode, O_RDONLY, read_journal, &c, &ignored);
}

int ms_inflight_recover(db *d, int root_fd, const char *data_dir, size_t *removed, ms_err *e)
{
	recover_ctx r = { d, root_fd, data_dir, 0 };
	int rc = ms_jio_take_over(root_fd, data_dir, "inflight-", SUFFIX, O_RDONLY, take_over, &r, e);
	if (removed)
		*removed = r.removed;
	return rc;
}
