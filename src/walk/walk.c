/* walk.c - parallel, symlink-safe walk of a data directory (see walk.h).
 *
 * Threads share a stack of directories still to read.  A thread pops one,
 * opens it beneath the data directory without following any symlink,
 * reads it with readdir (d_type tells files from directories without a
 * stat), reports its entries and pushes its subdirectories.  The walk ends
 * when the stack is empty and no thread is reading.
 */
#include "walk/walk.h"

#include "util/vec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

typedef enum { DIR_ROOT, DIR_DOMAIN, DIR_ACCOUNT, DIR_PUBLIC } dir_role;

typedef struct dir_item {
	char *relpath;    /* "" for the root */
	dir_role role;
	int depth;        /* DIR_ACCOUNT: levels below the account folder */
	size_t domain_len, local_len; /* DIR_ACCOUNT: lengths of the first two components */
} dir_item;

typedef struct dev_ino { dev_t dev; ino_t ino; } dev_ino;

typedef struct walker {
	const walk_opts *o;
	int root_fd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	dir_item *stack;
	size_t n, cap;
	size_t busy;          /* threads reading a directory */
	bool failed_alloc;
	dev_ino *seen;        /* directories already read (open addressing) */
	size_t seen_n, seen_cap;
	walk_stats stats;
} walker;

bool ms_walk_is_message_name(const char *name)
{
	size_t len = strlen(name);
	return len > 4 && (strcasecmp(name + len - 4, ".eml") == 0 || strcasecmp(name + len - 4, ".hma") == 0);
}

/* ---- the set of directories seen (detects bind-mount loops) ------------- */

static size_t dev_ino_hash(dev_ino k)
{
	uint64_t h = (uint64_t)k.ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)k.dev;
	return (size_t)(h ^ (h >> 29));
}

/* Insert; returns false if it was already there. Caller holds mu. */
static bool seen_insert(walker *w, dev_ino k)
{
	if (w->seen_n * 2 >= w->seen_cap) {
		size_t ncap = w->seen_cap ? w->seen_cap * 2 : 1024;
		dev_ino *nv = calloc(ncap, sizeof *nv);
		if (!nv)
			return true; /* cannot track: walk on without loop detection */
		for (size_t i = 0; i < w->seen_cap; i++) {
			if (w->seen[i].ino == 0)
				continue;
			size_t j = dev_ino_hash(w->seen[i]) & (ncap - 1);
			while (nv[j].ino)
				j = (j + 1) & (ncap - 1);
			nv[j] = w->seen[i];
		}
		free(w->seen);
		w->seen = nv;
		w->seen_cap = ncap;
	}
	size_t j = dev_ino_hash(k) & (w->seen_cap - 1);
	while (w->seen[j].ino) {
		if (w->seen[j].ino == k.ino && w->seen[j].dev == k.dev)
			return false;
		j = (j + 1) & (w->seen_cap - 1);
	}
	w->seen[j] = k;
	w->seen_n++;
	return true;
}

/* ---- the directory stack ------------------------------------------------- */

static void push(walker *w, dir_item it)
{
	pthread_mutex_lock(&w->mu);
	if (ms_vec_reserve_((void **)&w->stack, &w->cap, w->n + 1, sizeof *w->stack) < 0) {
		w->failed_alloc = true;
		free(it.relpath);
		pthread_mutex_unlock(&w->mu);
		return;
	}
	w->stack[w->n++] = it;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Pop the next directory, waiting while others may still push; false when
 * the walk is over. */
static bool pop(walker *w, dir_item *out)
{
	pthread_mutex_lock(&w->mu);
	while (w->n == 0 && w->busy > 0)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->n == 0) {
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		return false;
	}
	*out = w->stack[--w->n];
	w->busy++;
	pthread_mutex_unlock(&w->mu);
	return true;
}

static void done_with_dir(walker *w, uint64_t entries)
{
	pthread_mutex_lock(&w->mu);
	w->busy--;
	w->stats.dirs++;
	w->stats.entries += entries;
	if (w->busy == 0 && w->n == 0)
		pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* ---- reading one directory ---------------------------------------------- */

int ms_open_beneath(int root_fd, const char *relpath, int flags)
{
	flags |= O_NOFOLLOW | O_CLOEXEC;
#ifdef SYS_openat2
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, root_fd, relpath, &how, sizeof how);
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
#endif
	return openat(root_fd, relpath, flags);
}

static int open_dir_beneath(int root_fd, const char *relpath)
{
	return *relpath ? ms_open_beneath(root_fd, relpath, O_RDONLY | O_DIRECTORY) : dup(root_fd);
}

static void report(walker *w, walk_entry *e)
{
	w->o->on_entry(w->o->ctx, e);
}

static void report_error(walker *w, const char *relpath, int err)
{
	walk_entry e = {
		.kind = WALK_ERROR, .place = WALK_OTHER, .relpath = relpath, .dirfd = -1,
		.error = strerror(err),
	};
	const char *slash = strrchr(relpath, '/');
	e.name = slash ? slash + 1 : relpath;
	report(w, &e);
}

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);
	if (!p)
		return NULL;
	if (a) {
		memcpy(p, dir, a);
		p[a++] = '/';
	}
	memcpy(p + a, name, b + 1);
	return p;
}

/* Where a file in this directory lives. */
static walk_place place_of(const dir_item *it)
{
	switch (it->role) {
	case DIR_ROOT: return WALK_QUEUE;
	case DIR_ACCOUNT: return WALK_ACCOUNT;
	case DIR_PUBLIC: return WALK_PUBLIC;
	case DIR_DOMAIN: break;
	}
	return WALK_OTHER;
}

/* Decide whether and how to descend into subdirectory `name`. */
static bool child_dir(walker *w, const dir_item *it, const char *name, char *relpath, dir_item *child)
{
	const walk_opts *o = w->o;
	*child = (dir_item){ .relpath = relpath };
	switch (it->role) {
	case DIR_ROOT:
		if (strcmp(name, MS_WALK_PRIVATE_DIR) == 0)
			return false; /* mstore's own journals, never a domain */
		if (strcmp(name, "#Public") == 0) {
			child->role = DIR_PUBLIC;
			return o->public_folder;
		}
		child->role = DIR_DOMAIN;
		return o->accounts;
	case DIR_DOMAIN: {
		child->role = DIR_ACCOUNT;
		child->depth = 0;
		child->domain_len = strlen(it->relpath);
		child->local_len = strlen(name);
		if (!o->filter)
			return true;
		return o->filter(o->ctx, it->relpath, name);
	}
	case DIR_ACCOUNT:
		*child = *it;
		child->relpath = relpath;
		child->depth = it->depth + 1;
		return true;
	case DIR_PUBLIC:
		child->role = DIR_PUBLIC;
		return true;
	}
	return false;
}

static unsigned char entry_type(int dfd, struct dirent *de)
{
	if (de->d_type != DT_UNKNOWN)
		return de->d_type;
	struct stat st;
	if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return DT_UNKNOWN;
	if (S_ISREG(st.st_mode)) return DT_REG;
	if (S_ISDIR(st.st_mode)) return DT_DIR;
	if (S_ISLNK(st.st_mode)) return DT_LNK;
	return DT_FIFO; /* some other non-regular kind */
}

static void report_file(walker *w, const dir_item *it, int dfd, const char *name, unsigned char type,
                        char *domain, char *local)
{
	char *rel = join(it->relpath, name);
	if (!rel) {
		w->failed_alloc = true;
		return;
	}
	bool message_name = ms_walk_is_message_name(name);
	walk_entry e = {
		.place = place_of(it), .relpath = rel, .name = rel + strlen(rel) - strlen(name),
		.dirfd = dfd, .depth = it->depth, .domain = domain, .local = local,
	};
	if (type == DT_LNK)
		e.kind = WALK_SYMLINK;
	else if (type == DT_REG)
		e.kind = message_name ? WALK_MESSAGE : WALK_IGNORED;
	else if (type == DT_UNKNOWN) {
		e.kind = WALK_ERROR;
		e.error = "cannot tell what kind of file this is";
	} else
		e.kind = message_name ? WALK_NOT_REGULAR : WALK_IGNORED;
	report(w, &e);
	free(rel);
}

static void read_dir(walker *w, dir_item *it)
{
	uint64_t entries = 0;
	int dfd = open_dir_beneath(w->root_fd, it->relpath);
	struct stat st;
	if (dfd < 0) {
		report_error(w, it->relpath, errno == ELOOP ? ELOOP : errno);
		goto out;
	}
	if (fstat(dfd, &st) == 0) {
		pthread_mutex_lock(&w->mu);
		bool fresh = seen_insert(w, (dev_ino){ st.st_dev, st.st_ino });
		pthread_mutex_unlock(&w->mu);
		if (!fresh) {
			report_error(w, it->relpath, ELOOP);
			close(dfd);
			goto out;
		}
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		report_error(w, it->relpath, errno);
		close(dfd);
		goto out;
	}
	/* Account folders: the domain and local parts as on disk, for callers. */
	char domain[256] = "", local[256] = "";
	if (it->role == DIR_ACCOUNT) {
		snprintf(domain, sizeof domain, "%.*s", (int)it->domain_len, it->relpath);
		snprintf(local, sizeof local, "%.*s", (int)it->local_len, it->relpath + it->domain_len + 1);
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		entries++;
		unsigned char type = entry_type(dirfd(d), de);
		if (type == DT_DIR) {
			/* A directory named like a message is reported (a common
			 * result of a botched copy), then walked like any other. */
			if (ms_walk_is_message_name(de->d_name))
				report_file(w, it, dirfd(d), de->d_name, DT_DIR, it->role == DIR_ACCOUNT ? domain : NULL,
				            it->role == DIR_ACCOUNT ? local : NULL);
			char *rel = join(it->relpath, de->d_name);
			dir_item child;
			if (!rel)
				w->failed_alloc = true;
			else if (child_dir(w, it, de->d_name, rel, &child))
				push(w, child);
			else
				free(rel);
			continue;
		}
		bool wanted = it->role == DIR_ROOT ? w->o->queue : true;
		if (wanted)
			report_file(w, it, dirfd(d), de->d_name, type, it->role == DIR_ACCOUNT ? domain : NULL,
			            it->role == DIR_ACCOUNT ? local : NULL);
		errno = 0;
	}
	if (errno)
		report_error(w, it->relpath, errno);
	closedir(d);
out:
	free(it->relpath);
	done_with_dir(w, entries);
}

static void *worker(void *arg)
{
	walker *w = arg;
	dir_item it;
	while (pop(w, &it))
		read_dir(w, &it);
	return NULL;
}

int ms_walk(const char *data_dir, const walk_opts *o, walk_stats *stats, ms_err *e)
{
	walker w = { .o = o };
	w.root_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.root_fd < 0)
		return ms_err_set(e, MS_E_IO, "cannot open data directory %s: %s", data_dir, strerror(errno));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	char *root = strdup("");
	if (root)
		push(&w, (dir_item){ .relpath = root, .role = DIR_ROOT });
	int n = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 64)
		n = 64;
	pthread_t tids[64];
	int started = 0;
	for (int i = 0; i < n; i++)
		if (pthread_create(&tids[started], NULL, worker, &w) == 0)
			started++;
	if (started == 0)
		worker(&w);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	close(w.root_fd);
	free(w.stack);
	free(w.seen);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	if (stats)
		*stats = w.stats;
	if (w.failed_alloc || !root)
		return ms_err_set(e, MS_E_NOMEM, "out of memory while walking %s", data_dir);
	return 0;
}
