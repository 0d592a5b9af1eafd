/* local.c - mailsync's local stores: format detection and listing
 * (local.h). */
#include "channel/local.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel/pattern.h"
#include "util/vec.h"

#define MAX_DEPTH 64

static bool is_dir(const char *dir, const char *sub)
{
	char p[PATH_MAX];
	struct stat st;
	if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, sub) >= sizeof p)
		return false;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int ms_local_detect(const char *path, ms_local_format *out, ms_err *e)
{
	struct stat st;
	*out = MS_LOCAL_NONE;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return ms_err_set(e, MS_E_IO, "%s: %s", path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) {
		*out = is_dir(path, "cur") && is_dir(path, "new") && is_dir(path, "tmp") ? MS_LOCAL_MAILDIR : MS_LOCAL_DIR;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		*out = MS_LOCAL_OTHER;
		return 0;
	}
	if (st.st_size == 0) {
		*out = MS_LOCAL_MBOX; /* c-client takes an empty file for an empty mbox */
		return 0;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return ms_err_set(e, MS_E_IO, "%s: %s", path, strerror(errno));
	char head[5];
	ssize_t n = read(fd, head, sizeof head);
	int err = errno;
	close(fd);
	if (n < 0)
		return ms_err_set(e, MS_E_IO, "%s: %s", path, strerror(err));
	if (n == 5 && memcmp(head, "From ", 5) == 0)
		*out = MS_LOCAL_MBOX;
	else if (n == 5 && memcmp(head, "*mbx*", 5) == 0)
		*out = MS_LOCAL_MBX;
	else if (n == 5 && memcmp(head, "\1\1\1\1\n", 5) == 0)
		*out = MS_LOCAL_MMDF;
	else
		*out = MS_LOCAL_OTHER;
	return 0;
}

const char *ms_local_format_name(ms_local_format f)
{
	switch (f) {
	case MS_LOCAL_MAILDIR: return "maildir";
	case MS_LOCAL_MBOX: return "mbox";
	case MS_LOCAL_DIR: return "a directory that is not a Maildir (no cur/, new/, tmp/)";
	case MS_LOCAL_MBX: return "c-client's mbx format, which mstore does not read (convert it to mbox)";
	case MS_LOCAL_MMDF: return "the MMDF format, which mstore does not read (convert it to mbox)";
	case MS_LOCAL_OTHER: return "not a mailbox (neither Maildir nor mbox)";
	case MS_LOCAL_NONE: break;
	}
	return "does not exist";
}

typedef MS_VEC(ms_local_box) box_vec;
typedef MS_VEC(ms_local_skip) skip_vec;

typedef struct walk {
	const char *pat;
	const char *base;   /* "" when the pattern is absolute */
	box_vec boxes;
	skip_vec skipped;
	ms_err *e;
} walk;

static int oom(walk *w)
{
	return ms_err_set(w->e, MS_E_NOMEM, "out of memory listing a local store");
}

static int add_box(walk *w, const char *name, const char *path, ms_local_format f)
{
	ms_local_box b = { strdup(name), strdup(path), f };
	if (!b.name || !b.path || ms_vec_push(&w->boxes, b) < 0) {
		free(b.name);
		free(b.path);
		return oom(w);
	}
	return 0;
}

static int add_skip(walk *w, const char *name, const char *why)
{
	ms_local_skip s = { strdup(name), strdup(why) };
	if (!s.name || !s.why || ms_vec_push(&w->skipped, s) < 0) {
		free(s.name);
		free(s.why);
		return oom(w);
	}
	return 0;
}

/* The file system path of mailbox name `name`. */
static bool path_of(const walk *w, const char *name, char *out, size_t len)
{
	int n = name[0] == '/' || !*w->base ? snprintf(out, len, "%s", name) : snprintf(out, len, "%s/%s", w->base, name);
	return n >= 0 && (size_t)n < len;
}

/* One directory of the walk: `dir` is a mailbox name ("" for the base). */
static int walk_dir(walk *w, const char *dir, int depth)
{
	char dpath[PATH_MAX];
	if (!path_of(w, *dir ? dir : ".", dpath, sizeof dpath))
		return add_skip(w, dir, "path too long");
	if (!*dir && *w->base)
		snprintf(dpath, sizeof dpath, "%s", w->base);
	DIR *d = opendir(dpath);
	if (!d) {
		if (!*dir)
			return ms_err_set(w->e, MS_E_IO, "cannot list the local store's directory %s: %s", dpath, strerror(errno));
		char why[300];
		snprintf(why, sizeof why, "cannot list: %s", strerror(errno));
		return add_skip(w, dir, why);
	}
	int rc = 0;
	struct dirent *de;
	bool maildir = is_dir(dpath, "cur") && is_dir(dpath, "new") && is_dir(dpath, "tmp");
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (maildir && (!strcmp(de->d_name, "cur") || !strcmp(de->d_name, "new") || !strcmp(de->d_name, "tmp")))
			continue;
		char name[PATH_MAX], path[PATH_MAX];
		int n = *dir ? snprintf(name, sizeof name, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", de->d_name)
		             : snprintf(name, sizeof name, "%s", de->d_name);
		if (n < 0 || (size_t)n >= sizeof name || !path_of(w, name, path, sizeof path)) {
			rc = add_skip(w, de->d_name, "path too long");
			continue;
		}
		if (!*dir && strcasecmp(name, "INBOX") == 0)
			continue; /* INBOX is the system INBOX, as c-client has it */
		ms_local_format f;
		ms_err de_err = { 0 };
		if (ms_local_detect(path, &f, &de_err) < 0) {
			if (ms_pat_match(w->pat, name, '/'))
				rc = add_skip(w, name, de_err.msg);
			continue;
		}
		if (ms_pat_match(w->pat, name, '/')) {
			if (f == MS_LOCAL_MAILDIR || f == MS_LOCAL_MBOX)
				rc = add_box(w, name, path, f);
			else if (f != MS_LOCAL_DIR && f != MS_LOCAL_NONE)
				rc = add_skip(w, name, ms_local_format_name(f));
		}
		struct stat lst;
		if (rc == 0 && (f == MS_LOCAL_DIR || f == MS_LOCAL_MAILDIR) && lstat(path, &lst) == 0 &&
		    S_ISDIR(lst.st_mode) && ms_pat_could_match_below(w->pat, name, '/')) {
			if (depth >= MAX_DEPTH)
				rc = add_skip(w, name, "more than 64 levels deep: not walked further");
			else
				rc = walk_dir(w, name, depth + 1);
		}
	}
	closedir(d);
	return rc;
}

/* The directory a pattern's walk starts from: its leading levels without
 * a wildcard ("Mail/Lists" for "Mail/Lists/%"), "" for none. */
static void fixed_dir(const char *pat, char *out, size_t len)
{
	size_t wild = strcspn(pat, "*%");
	size_t cut = 0;
	for (size_t i = 0; i < wild; i++)
		if (pat[i] == '/')
			cut = i;
	if (cut == 0 && pat[0] == '/' && wild > 0)
		cut = 1; /* "/x*": from the root */
	if (cut >= len)
		cut = 0;
	memcpy(out, pat, cut);
	out[cut] = '\0';
}

static int cmp_box(const void *a, const void *b)
{
	return strcmp(((const ms_local_box *)a)->name, ((const ms_local_box *)b)->name);
}

/* INBOX: the store's `inbox`, $MAIL, /var/mail/USER. */
static int add_inbox(walk *w, const ms_chan_store *s)
{
	char path[PATH_MAX];
	const char *mail = getenv("MAIL");
	if (s->inbox)
		snprintf(path, sizeof path, "%s", s->inbox);
	else if (mail && *mail)
		snprintf(path, sizeof path, "%s", mail);
	else {
		struct passwd *pw = getpwuid(getuid());
		snprintf(path, sizeof path, "/var/mail/%s", pw ? pw->pw_name : "");
	}
	ms_local_format f;
	ms_err de = { 0 };
	if (ms_local_detect(path, &f, &de) < 0)
		return add_skip(w, "INBOX", de.msg);
	if (f == MS_LOCAL_MAILDIR || f == MS_LOCAL_MBOX)
		return add_box(w, "INBOX", path, f);
	if (f != MS_LOCAL_NONE) {
		char why[PATH_MAX + 200];
		snprintf(why, sizeof why, "%s: %s", path, ms_local_format_name(f));
		return add_skip(w, "INBOX", why);
	}
	return 0;
}

int ms_local_list_boxes(const ms_chan_store *s, ms_local_list *out, ms_err *e)
{
	assert(s && !s->kind);
	memset(out, 0, sizeof *out);
	const char *home = getenv("HOME");
	const char *base = s->path ? s->path : home;
	if (!s->pat || !*s->pat)
		return 0;
	if (!base || !*base)
		return ms_err_set(e, MS_E_CONFIG, "store %s: HOME is not set and the store has no path", s->name);
	walk w = { .pat = s->pat, .base = s->pat[0] == '/' ? "" : base, .e = e };
	char start[PATH_MAX];
	fixed_dir(s->pat, start, sizeof start);
	int rc = 0;
	if (ms_pat_match(s->pat, "INBOX", '/'))
		rc = add_inbox(&w, s);
	ms_local_format f = MS_LOCAL_DIR;
	char spath[PATH_MAX];
	if (rc == 0 && *start) {
		/* the fixed part must be a directory; if it is missing, no folder is selected */
		if (!path_of(&w, start, spath, sizeof spath))
			rc = ms_err_set(e, MS_E_CONFIG, "store %s: pat %s: path too long", s->name, s->pat);
		else if (ms_local_detect(spath, &f, e) < 0)
			rc = -1;
	}
	if (rc == 0 && strpbrk(s->pat, "*%") == NULL) {
		/* no wildcard: the one name, if it is a mailbox */
		if (strcasecmp(s->pat, "INBOX") != 0 && path_of(&w, s->pat, spath, sizeof spath) &&
		    ms_local_detect(spath, &f, e) == 0) {
			if (f == MS_LOCAL_MAILDIR || f == MS_LOCAL_MBOX)
				rc = add_box(&w, s->pat, spath, f);
			else if (f != MS_LOCAL_NONE && f != MS_LOCAL_DIR)
				rc = add_skip(&w, s->pat, ms_local_format_name(f));
		}
	} else if (rc == 0 && (f == MS_LOCAL_DIR || f == MS_LOCAL_MAILDIR)) {
		rc = walk_dir(&w, start, 0);
	}
	out->boxes = w.boxes.v;
	out->nboxes = w.boxes.n;
	out->skipped = w.skipped.v;
	out->nskipped = w.skipped.n;
	if (rc < 0) {
		ms_local_list_free(out);
		return -1;
	}
	if (out->nboxes)
		qsort(out->boxes, out->nboxes, sizeof *out->boxes, cmp_box);
	return 0;
}

void ms_local_list_free(ms_local_list *l)
{
	for (size_t i = 0; i < l->nboxes; i++) {
		free(l->boxes[i].name);
		free(l->boxes[i].path);
	}
	for (size_t i = 0; i < l->nskipped; i++) {
		free(l->skipped[i].name);
		free(l->skipped[i].why);
	}
	free(l->boxes);
	free(l->skipped);
	memset(l, 0, sizeof *l);
}
