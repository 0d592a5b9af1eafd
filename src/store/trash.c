/* trash.c - the journaled move of message files into the trash (trash.h). */
/* renameat2 and RENAME_NOREPLACE need _GNU_SOURCE, which meson.build sets. */
#include "store/trash.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/txn.h"
#include "store/layout.h"
#include "store/messages.h"
#include "util/journal_io.h"
#include "util/testhook.h"
#include "util/vec.h"

#define PRIVATE_DIR ".mstore"
#define INTENT_SUFFIX ".intent"

typedef struct entry {
	int64_t id;
	char *rel;
} entry;

/* The directories the renames touched, each to be fsynced once before the
 * intent goes (an fsync per file made moving 10,000 files cost 40,000
 * directory syncs, most of them of the same few directories).  Past
 * DIR_SYNC_MAX of them one syncfs of the data directory's file system is
 * cheaper, and the set stops collecting names. */
typedef struct dir_set {
	MS_VEC(char *) dirs;
	bool whole_fs;
} dir_set;

/* Past this many directories one syncfs is cheaper than an fsync each:
 * expired messages are spread over every account's <XX> folders, so a
 * batch of 500 touches hundreds of directories, and as many journal
 * commits cost more than one flush of whatever else is dirty there. */
#define DIR_SYNC_MAX 16

struct ms_trash {
	bool purge;         /* unlink the files instead of moving them */
	bool keep;          /* rows may be gone whose files did not move: the intent stays for ms_trash_recover */
	char *data_dir;
	int root_fd, fd;
	char name[300];     /* the intent, relative to DATA */
	entry *v;           /* added and not yet moved */
	size_t n, cap;
	FILE *lines;        /* the lines added since the last ms_trash_sync (one write each sync) */
	char *lines_buf;
	size_t lines_len;
	dir_set dirs;       /* to sync before the intent goes */
	size_t moved, missing;
	char day[11];       /* the trash day of this run's moves */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dir_set_clear(dir_set *ds)
{
	for (size_t k = 0; k < ds->dirs.n; k++)
		free(ds->dirs.v[k]);
	ds->dirs.n = 0;
}

/* Sort and drop repeats; true if more than DIR_SYNC_MAX remain. */
static bool dir_set_compact(dir_set *ds)
{
	size_t u = 0;
	if (ds->dirs.n)
		qsort(ds->dirs.v, ds->dirs.n, sizeof *ds->dirs.v, cmp_str);
	for (size_t k = 0; k < ds->dirs.n; k++) {
		if (u && strcmp(ds->dirs.v[k], ds->dirs.v[u - 1]) == 0)
			free(ds->dirs.v[k]);
		else
			ds->dirs.v[u++] = ds->dirs.v[k];
	}
	ds->dirs.n = u;
	return u > DIR_SYNC_MAX;
}

static int dir_set_add(dir_set *ds, const char *dir, ms_err *e)
{
	if (ds->whole_fs)
		return 0;
	/* renames come grouped by account and <XX> folder: the last few
	 * entries catch nearly every repeat; the rest is sorted out below */
	for (size_t k = ds->dirs.n; k > 0 && k + 8 > ds->dirs.n; k--)
		if (strcmp(ds->dirs.v[k - 1], dir) == 0)
			return 0;
	char *c = strdup(dir);
	if (!c || ms_vec_push(&ds->dirs, c) < 0) {
		free(c);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	if (ds->dirs.n > 4 * DIR_SYNC_MAX && dir_set_compact(ds)) {
		ds->whole_fs = true;
		dir_set_clear(ds);
	}
	return 0;
}

/* fsync every directory of the set once, or the file system once; the
 * set is empty after, whatever the outcome. */
static int dir_set_sync(dir_set *ds, int root_fd, const char *data_dir, ms_err *e)
{
	int rc = 0;
	if (!ds->whole_fs && dir_set_compact(ds))
		ds->whole_fs = true;
	if (ds->whole_fs && syncfs(root_fd) < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot sync the file system of %s: %s", data_dir, strerror(errno));
	for (size_t k = 0; k < ds->dirs.n && rc == 0 && !ds->whole_fs; k++)
		rc = ms_jio_sync_dir(root_fd, data_dir, ds->dirs.v[k], e);
	dir_set_clear(ds);
	ds->whole_fs = false;
	return rc;
}

static void dir_set_free(dir_set *ds)
{
	dir_set_clear(ds);
	ms_vec_free(&ds->dirs);
}

static void dir_of(const char *rel, char *out, size_t len)
{
	const char *slash = strrchr(rel, '/');
	snprintf(out, len, "%.*s", slash ? (int)(slash - rel) : 0, rel);
}

/* mkdir -p of `rel` below DATA, syncing each parent that gained an entry
 * (or, with `dirs`, adding it to the set the caller syncs).  From the
 * deepest level up: usually only the last one is missing, so one mkdirat
 * does it, where going down from DATA made every level each time. */
static int make_dirs(int root_fd, const char *data_dir, const char *rel, dir_set *dirs, ms_err *e)
{
	char parent[4096];
	dir_of(rel, parent, sizeof parent);
	for (int tries = 0; tries < 2; tries++) {
		if (mkdirat(root_fd, rel, 0700) == 0)
			return dirs ? dir_set_add(dirs, parent, e) : ms_jio_sync_dir(root_fd, data_dir, parent, e);
		if (errno == EEXIST)
			return 0;
		if (errno != ENOENT || !parent[0] || tries)
			break;
		if (make_dirs(root_fd, data_dir, parent, dirs, e) < 0)
			return -1;
	}
	return ms_err_set(e, MS_E_IO, "cannot create %s/%s: %s", data_dir, rel, strerror(errno));
}

void ms_trash_day(time_t when, char day[11])
{
	struct tm tm;
	gmtime_r(&when, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
}

static int path_in_day(const char *relpath, const char *day, char *out, size_t len)
{
	char flat[4096];
	if (!ms_layout_drop_xx(relpath, flat, sizeof flat))
		return -1;
	int n = snprintf(out, len, MS_TRASH_DIR "/%s/%s", day, flat);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

int ms_trash_path(const char *relpath, time_t when, char *out, size_t len)
{
	char day[11];
	ms_trash_day(when, day);
	return path_in_day(relpath, day, out, len);
}

/* Rename DATA/rel into the trash of `day`, never over another file
 * (a second file of the same name gets ".2", ".3", ...).  1 moved, 0 it
 * was gone.  Both directories are synced at once, or, with `dirs`, added
 * to it for the caller to sync before the intent goes. */
static int move_one(int root_fd, const char *data_dir, const char *rel, const char *day, dir_set *dirs, ms_err *e)
{
	char to[4096], to_dir[4096], from_dir[4096];
	if (path_in_day(rel, day, to, sizeof to - 8) < 0)
		return ms_err_set(e, MS_E_IO, "path too long: %s/%s", data_dir, rel);
	dir_of(to, to_dir, sizeof to_dir);
	size_t base = strlen(to);
	/* The rename is tried first: the trash folder is there for all but the
	 * first file of each account, and a mkdir -p and a stat per file were
	 * most of an expire's system calls (58,000 mkdirat for 9,800 files).
	 * ENOENT is the folder not made yet or the file gone: the folder is
	 * made (harmless if the file is gone) and, when the rename fails so
	 * again, the file is gone. */
	bool made = false;
	for (int k = 1; ; k++) {
		if (k > 1)
			snprintf(to + base, sizeof to - base, ".%d", k);
		if (renameat2(root_fd, rel, root_fd, to, RENAME_NOREPLACE) == 0)
			break;
		if (errno == ENOENT && made)
			return 0;
		if (errno == ENOENT) {
			if (make_dirs(root_fd, data_dir, to_dir, dirs, e) < 0)
				return -1;
			made = true;
			k--; /* the same name again, now that its folder exists */
			continue;
		}
		if (errno != EEXIST || k > 1000)
			return ms_err_set(e, MS_E_IO, "cannot move %s/%s into the trash (%s/%s): %s", data_dir, rel,
			                  data_dir, to, strerror(errno));
	}
	/* Both names durable before the intent that explains them goes. */
	dir_of(rel, from_dir, sizeof from_dir);
	if (dirs)
		return dir_set_add(dirs, to_dir, e) < 0 || dir_set_add(dirs, from_dir, e) < 0 ? -1 : 1;
	if (ms_jio_sync_dir(root_fd, data_dir, to_dir, e) < 0 || ms_jio_sync_dir(root_fd, data_dir, from_dir, e) < 0)
		return -1;
	return 1;
}

/* --purge: unlink DATA/rel for good.  1 removed, 0 it was gone.  Its
 * directory is synced at once or, with `dirs`, added to it. */
static int unlink_one(int root_fd, const char *data_dir, const char *rel, dir_set *dirs, ms_err *e)
{
	if (unlinkat(root_fd, rel, 0) < 0)
		return errno == ENOENT ? 0 : ms_err_set(e, MS_E_IO, "cannot remove %s/%s: %s", data_dir, rel, strerror(errno));
	char dir[4096];
	dir_of(rel, dir, sizeof dir);
	if (dirs)
		return dir_set_add(dirs, dir, e) < 0 ? -1 : 1;
	return ms_jio_sync_dir(root_fd, data_dir, dir, e) < 0 ? -1 : 1;
}

/* The intent's first line when its files are unlinked, not trashed. */
#define PURGE_LINE "purge\n"

static int open_root(const char *data_dir, ms_err *e)
{
	int fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		ms_err_set(e, MS_E_IO, "cannot open the data directory %s: %s", data_dir, strerror(errno));
	return fd;
}

static void entries_free(ms_trash *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].rel);
	t->n = 0;
}

/* Drops the lines not yet written: the memory stream starts again. */
static int lines_reset(ms_trash *t, ms_err *e)
{
	if (t->lines)
		fclose(t->lines);
	free(t->lines_buf);
	t->lines_buf = NULL;
	t->lines_len = 0;
	t->lines = open_memstream(&t->lines_buf, &t->lines_len);
	return t->lines ? 0 : ms_err_set(e, MS_E_NOMEM, "out of memory");
}

static void trash_free(ms_trash *t)
{
	if (!t)
		return;
	if (t->fd >= 0) {
		if (!t->keep)
			unlinkat(t->root_fd, t->name, 0);
		close(t->fd);
	}
	if (t->root_fd >= 0)
		close(t->root_fd);
	entries_free(t);
	free(t->v);
	if (t->lines)
		fclose(t->lines);
	free(t->lines_buf);
	dir_set_free(&t->dirs);
	free(t->data_dir);
	free(t);
}

static int trash_begin(const char *data_dir, bool purge, ms_trash **out, ms_err *e)
{
	assert(data_dir && out);
	ms_trash *t = calloc(1, sizeof *t);
	if (!t || !(t->data_dir = strdup(data_dir))) {
		free(t);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	t->fd = t->root_fd = -1;
	ms_trash_day(time(NULL), t->day);
	if (lines_reset(t, e) < 0 || (t->root_fd = open_root(data_dir, e)) < 0)
		goto fail;
	if (make_dirs(t->root_fd, data_dir, PRIVATE_DIR, NULL, e) < 0)
		goto fail;
	char host[128] = "host";
	gethostname(host, sizeof host - 1);
	snprintf(t->name, sizeof t->name, PRIVATE_DIR "/trash-%s-%d" INTENT_SUFFIX, host, (int)getpid());
	t->fd = openat(t->root_fd, t->name, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		ms_err_set(e, MS_E_IO, "cannot create the trash intent %s/%s: %s", data_dir, t->name, strerror(errno));
		goto fail;
	}
	flock(t->fd, LOCK_EX);
	t->purge = purge;
	if (purge)
		fputs(PURGE_LINE, t->lines);
	if (ms_jio_sync_dir(t->root_fd, data_dir, PRIVATE_DIR, e) < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	trash_free(t);
	return -1;
}

int ms_trash_begin(const char *data_dir, ms_trash **out, ms_err *e)
{
	return trash_begin(data_dir, false, out, e);
}

int ms_trash_begin_purge(const char *data_dir, ms_trash **out, ms_err *e)
{
	return trash_begin(data_dir, true, out, e);
}

int ms_trash_add(ms_trash *t, int64_t message_id, const char *relpath, ms_err *e)
{
	assert(t && relpath && relpath[0] && relpath[0] != '/');
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		entry *v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
		t->v = v;
		t->cap = cap;
	}
	char *rel = strdup(relpath);
	if (!rel)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	fprintf(t->lines, "%" PRId64 "\t", message_id);
	ms_jio_put_path(t->lines, relpath);
	fputc('\n', t->lines);
	t->v[t->n++] = (entry){message_id, rel};
	return 0;
}

/* The lines added since the last sync, written in one go and synced. */
int ms_trash_sync(ms_trash *t, ms_err *e)
{
	if (fflush(t->lines) != 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	size_t done = 0;
	while (done < t->lines_len) {
		ssize_t w = write(t->fd, t->lines_buf + done, t->lines_len - done);
		if (w <= 0)
			return ms_err_set(e, MS_E_IO, "cannot write the trash intent %s/%s: %s", t->data_dir, t->name,
			                  w < 0 ? strerror(errno) : "short write");
		done += (size_t)w;
	}
	if (fdatasync(t->fd) < 0)
		return ms_err_set(e, MS_E_IO, "cannot sync the trash intent %s/%s: %s", t->data_dir, t->name,
		                  strerror(errno));
	return lines_reset(t, e);
}

/* Every file added so far moved (or unlinked), its directories put in the
 * set for ms_trash_finish.  Only after the rows' delete committed, so only
 * after ms_trash_sync.  A failure keeps the intent: a later recover finishes. */
static int move_added(ms_trash *t, ms_err *e)
{
	assert(t->n == 0 || ftello(t->lines) == 0); /* every line synced before any file moves */
	for (size_t i = 0; i < t->n; i++) {
		int r = t->purge ? unlink_one(t->root_fd, t->data_dir, t->v[i].rel, &t->dirs, e)
		                 : move_one(t->root_fd, t->data_dir, t->v[i].rel, t->day, &t->dirs, e);
		if (r < 0) {
			/* the ones done are dropped (not counted twice by a retry) */
			for (size_t k = 0; k < i; k++)
				free(t->v[k].rel);
			memmove(t->v, t->v + i, (t->n - i) * sizeof *t->v);
			t->n -= i;
			t->keep = true;
			return -1;
		}
		r ? t->moved++ : t->missing++;
	}
	entries_free(t);
	return 0;
}

/* The directories of every move synced, then the intent removed (kept if
 * anything went wrong), t freed. */
static int trash_close(ms_trash *t, ms_err *e)
{
	int rc = dir_set_sync(&t->dirs, t->root_fd, t->data_dir, e);
	if (rc < 0)
		t->keep = true;
	trash_free(t);
	return rc;
}

int ms_trash_finish(ms_trash *t, size_t *moved, size_t *missing, ms_err *e)
{
	int rc = move_added(t, e);
	if (moved)
		*moved += t->moved;
	if (missing)
		*missing += t->missing;
	if (rc < 0) {
		ms_err ignored = { 0 }; /* the move's error is the one to report */
		trash_close(t, &ignored);
		return -1;
	}
	return trash_close(t, e);
}

void ms_trash_leave(ms_trash *t)
{
	if (!t)
		return;
	t->keep = true;
	ms_trash_abort(t);
}

void ms_trash_abort(ms_trash *t)
{
	if (!t)
		return;
	/* the added entries' rows stay: their files too.  Earlier batches'
	 * moves are made durable before the intent goes. */
	entries_free(t);
	ms_err ignored = { 0 };
	trash_close(t, &ignored);
}

/* Is message `id` still a row naming the file `rel`? */
static int row_still_there(db *d, int64_t id, const char *rel, ms_err *e)
{
	ms_message_rec rec;
	int r = ms_messages_get(d, id, &rec, e);
	if (r <= 0)
		return r;
	const char *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	int same = rec.filename && strcmp(ms_layout_base_name(rec.filename), base) == 0;
	ms_message_rec_free(&rec);
	return same;
}

static int replay(db *d, int root_fd, const char *data_dir, FILE *f, size_t *moved, ms_err *e)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	char day[11];
	ms_trash_day(time(NULL), day);
	int rc = 0;
	bool purge = false;
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') /* torn by the crash: its delete never committed */
			break;
		if (strcmp(line, PURGE_LINE) == 0) {
			purge = true;
			continue;
		}
		line[n - 1] = '\0';
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		char *rel = tab + 1, *end;
		int64_t id = strtoll(line, &end, 10);
		if (*end)
			continue;
		ms_jio_unescape(rel);
		int there = row_still_there(d, id, rel, e);
		if (there < 0) {
			rc = -1;
		} else if (!there) {
			int r = purge ? unlink_one(root_fd, data_dir, rel, NULL, e) : move_one(root_fd, data_dir, rel, day, NULL, e);
			if (r < 0)
				rc = -1;
			else if (moved)
				*moved += (size_t)r;
		}
	}
	free(line);
	return rc;
}

typedef struct recover_ctx {
	db *d;
	int root_fd;
	const char *data_dir;
	size_t *moved;
} recover_ctx;

static int replay_one(void *ctx, int fd, const char *name, ms_err *e)
{
	(void)name;
	recover_ctx *r = ctx;
	FILE *f = fdopen(dup(fd), "r");
	if (!f)
		return MS_JIO_KEEP;
	int rc = replay(r->d, r->root_fd, r->data_dir, f, r->moved, e);
	fclose(f);
	return rc < 0 ? -1 : MS_JIO_REMOVE;
}

int ms_trash_recover(db *d, const char *data_dir, size_t *moved, ms_err *e)
{
	int root_fd = open_root(data_dir, e);
	if (root_fd < 0)
		return -1;
	recover_ctx r = { d, root_fd, data_dir, moved };
	int rc = ms_jio_take_over(root_fd, data_dir, "trash-", INTENT_SUFFIX, O_RDONLY, replay_one, &r, e);
	close(root_fd);
	return rc;
}

typedef struct each_ctx {
	void (*fn)(void *ctx, const char *rel);
	void *ctx;
} each_ctx;

/* Every complete entry line of one intent ("purge" and a line torn by a
 * crash are not entries). */
static int read_intent(void *ctx, int fd, const char *name, ms_err *e)
{
	(void)name, (void)e;
	each_ctx *c = ctx;
	FILE *f = fdopen(dup(fd), "r");
	if (!f)
		return MS_JIO_KEEP;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		line[n - 1] = '\0';
		char *tab = strchr(line, '\t');
		if (!tab || line + n - 1 == tab + 1)
			continue;
		ms_jio_unescape(tab + 1);
		c->fn(c->ctx, tab + 1);
	}
	free(line);
	fclose(f);
	return MS_JIO_KEEP;
}

void ms_trash_each(int root_fd, ms_jio_mode mode, void (*fn)(void *ctx, const char *rel), void *ctx)
{
	each_ctx c = { fn, ctx };
	ms_err ignored = { 0 };
	ms_jio_scan(root_fd, "", "trash-", INTENT_SUFFIX, mode, O_RDONLY, read_intent, &c, &ignored);
}

/* ---- a batch of rows, the whole protocol ------------------------------ */

int ms_trash_rows(ms_trash *t, db *d, const ms_trash_victim *v, size_t n, const char *hook_prefix, ms_err *e)
{
	char hook[64];
	db_txn *tx = NULL;
	assert(t && n > 0 && t->n == 0);
	for (size_t k = 0; k < n; k++)
		if (ms_trash_add(t, v[k].id, v[k].relpath, e) < 0)
			goto fail;
	if (ms_trash_sync(t, e) < 0)
		goto fail;
	snprintf(hook, sizeof hook, "%s-intent", hook_prefix);
	ms_test_hook(hook);
	if (db_txn_begin(d, &tx, e) < 0)
		goto fail;
	for (size_t k = 0; k < n; k++)
		if (ms_messages_delete(db_txn_db(tx), v[k].id, e) < 0)
			goto fail;
	snprintf(hook, sizeof hook, "%s-delete", hook_prefix);
	ms_test_hook(hook);
	if (db_txn_commit(&tx, e) < 0) {
		/* a commit that failed may have happened (a server gone at its
		 * reply): the recover decides by the rows */
		t->keep = true;
		entries_free(t);
		return -1;
	}
	snprintf(hook, sizeof hook, "%s-commit", hook_prefix);
	ms_test_hook(hook);
	return move_added(t, e);
fail:
	db_txn_rollback(&tx);
	entries_free(t); /* their rows stay; their lines, if written, are dropped by a recover */
	ms_err ignored = { 0 };
	(void)lines_reset(t, &ignored);
	return -1;
}

/* ---- purge ------------------------------------------------------------- */

typedef struct purge_ctx {
	int root_fd;
	const char *data_dir;
	bool dry_run;
	void (*fn)(void *, const char *, uint64_t);
	void *ctx;
	ms_purge_stats *st;
} purge_ctx;

/* Remove DATA/rel (a directory) with everything below it. */
static int remove_tree(purge_ctx *p, const char *rel, ms_err *e)
{
	int dfd = openat(p->root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return ms_err_set(e, MS_E_IO, "cannot open %s/%s: %s", p->data_dir, rel, strerror(errno));
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return ms_err_set(e, MS_E_IO, "cannot read %s/%s: %s", p->data_dir, rel, strerror(errno));
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char child[4096];
		if (snprintf(child, sizeof child, "%s/%s", rel, de->d_name) >= (int)sizeof child) {
			rc = ms_err_set(e, MS_E_IO, "path too long: %s/%s/%s", p->data_dir, rel, de->d_name);
			break;
		}
		struct stat st;
		if (fstatat(p->root_fd, child, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = ms_err_set(e, MS_E_IO, "cannot stat %s/%s: %s", p->data_dir, child, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = remove_tree(p, child, e);
		} else {
			if (p->fn)
				p->fn(p->ctx, child, (uint64_t)st.st_size);
			p->st->files++;
			p->st->bytes += (uint64_t)st.st_size;
			if (!p->dry_run && unlinkat(p->root_fd, child, 0) < 0)
				rc = ms_err_set(e, MS_E_IO, "cannot remove %s/%s: %s", p->data_dir, child, strerror(errno));
		}
	}
	closedir(dir);
	if (rc == 0 && !p->dry_run && unlinkat(p->root_fd, rel, AT_REMOVEDIR) < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot remove %s/%s: %s", p->data_dir, rel, strerror(errno));
	return rc;
}

static bool is_day(const char *s)
{
	int y, m, d;
	char tail;
	return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3;
}

int ms_trash_purge(const char *data_dir, int days, time_t now, bool dry_run,
                   void (*fn)(void *ctx, const char *relpath, uint64_t size), void *ctx, ms_purge_stats *st,
                   ms_err *e)
{
	assert(days >= 0 && st);
	memset(st, 0, sizeof *st);
	int root_fd = open_root(data_dir, e);
	if (root_fd < 0)
		return -1;
	int dfd = openat(root_fd, MS_TRASH_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		int err = errno;
		close(root_fd);
		return err == ENOENT ? 0 : ms_err_set(e, MS_E_IO, "cannot open %s/%s: %s", data_dir, MS_TRASH_DIR,
		                                      strerror(err));
	}
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		close(root_fd);
		return ms_err_set(e, MS_E_IO, "cannot read %s/%s: %s", data_dir, MS_TRASH_DIR, strerror(errno));
	}
	/* Days are compared as text: "YYYY-MM-DD" sorts as it counts. */
	char cutoff[11];
	ms_trash_day(now - (time_t)days * 86400, cutoff);
	purge_ctx p = {root_fd, data_dir, dry_run, fn, ctx, st};
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (!is_day(de->d_name) || strcmp(de->d_name, cutoff) >= 0)
			continue;
		char rel[64];
		snprintf(rel, sizeof rel, MS_TRASH_DIR "/%s", de->d_name);
		rc = remove_tree(&p, rel, e);
		st->days++;
	}
	closedir(dir);
	if (rc == 0 && !dry_run && st->days)
		rc = ms_jio_sync_dir(root_fd, data_dir, MS_TRASH_DIR, e);
	close(root_fd);
	return rc;
}
