/* drv_maildir.c - a side that is a Maildir tree (maildir(5), Maildir++).
 *
 * Configuration keys:
 *   path    the tree's root (required)
 *   layout  maildir++ (the default) or verbatim:
 *           - maildir++ as Dovecot and Courier keep it: the root itself is
 *             the INBOX; box "A.B" is the directory ".A.B" in the root;
 *             the delimiter is '.'.
 *           - verbatim as mbsync's `SubFolders Verbatim`: one directory
 *             per level, box "A/B" is "A/B" below the root; the delimiter
 *             is '/'.  The INBOX is the directory "INBOX" in the root (as
 *             mbsync users set `Inbox PATH/INBOX`); there is no key to put
 *             it elsewhere.
 *   create  yes: create the root (its last component only: a parent that
 *           is missing is a typo or an unmounted disk, never created) and
 *           the INBOX when they are missing; no (the default): a missing
 *           root or INBOX fails open, so a wrong path is never taken for
 *           an empty store.
 * A side is a Maildir when its INBOX has cur/ and new/ directories; tmp/
 * is made when an append needs it.  Box names are kept as bytes (UTF-8
 * as given; no modified-UTF-7 conversion as Dovecot does without its UTF8
 * option).  A level may not be empty or hold a control character, a
 * maildir++ level no '/', a verbatim level may not be ".", "..", start
 * with '.' or be cur, new or tmp; a first level INBOX in any case is the
 * INBOX.  Names that break these rules are refused, so no name reaches
 * outside the root.  No symlink below the root is followed (folders and
 * message files are opened with O_NOFOLLOW or openat2 RESOLVE_BENEATH).
 *
 * Messages are the files of a box's new/ and cur/ whose names are
 * `unique` or `unique:2,FLAGS`: D Draft, F Flagged, R Answered, S Seen,
 * T Deleted; other letters (P Passed, Dovecot's keyword letters) are kept
 * as they are.  The internal date is the file's mtime.  Every other entry
 * (a dot file, a directory, a symlink, a control character, another info
 * suffix, a second file with the same unique name) is skipped and kept
 * for `mstore check` (drv_maildir.h).
 *
 * UIDs are not stable (no MS_CAP_UID_STABLE): open_box reads new/ and
 * cur/ once, sorts the messages by the unique part of their names (its
 * leading number, the delivery time, first; then the bytes), and numbers
 * them from 1; appends get the next numbers; UIDVALIDITY is random at
 * every open, so no UID is taken for one of another session.  A message
 * delivered by another program while the box is open is seen at the next
 * open.  Each message's key is its unique name, which no flag change
 * alters.  When a file is not where open_box saw it (a mail client moved
 * it from new/ to cur/ or changed its flags), the driver reads new/ and
 * cur/ again and finds it by its unique name; a file gone from both is
 * MS_DRV_MSG_BAD.
 *
 * Writes follow maildir(5): append writes tmp/<unique> (time.MusecPpid
 * QseqRrandom.host), sets its mtime to the internal date, makes it durable
 * (a batch's files are written first, then synced together: sync_chunk) and
 * renames it, never over another file, into new/ (no flags) or cur/ with
 * its :2, suffix, then fsyncs the directory before it reports the message
 * written.  set_flags renames the file within cur/ (or from new/ into
 * cur/) to its new suffix and nothing else; expunge unlinks it.  A file's
 * bytes are never rewritten.
 */
#include "drivers/driver.h"
#include "drivers/drv_maildir.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "message/header.h"
#include "util/escape.h"
#include "util/fdio.h"
#include "util/vec.h"
#include "walk/walk.h"

#define PATH_LEN 4096
#define LOOKUP_ROUNDS 3 /* fresh looks at new/ and cur/ for a message another program moved */
#define MAX_DEPTH 64    /* verbatim levels listed */
#define UNIQUE_LEN 256

typedef enum { LAYOUT_MAILDIRPP, LAYOUT_VERBATIM } md_layout;

typedef MS_VEC(ms_skipped_entry) anomaly_vec;

typedef struct md_side {
	ms_side base;
	md_layout layout;
	char *path;              /* as configured, for messages */
	int root_fd;
	char host[128];          /* the host part of new unique names */
	anomaly_vec anomalies;   /* of the last list_boxes */
} md_side;

/* A message of an open box.  Its UID is its index in the box's vector + 1. */
typedef struct md_msg {
	char *name;              /* its file in new/ or cur/: unique[:2,info]; NULL once expunged */
	uint16_t ulen;           /* length of the unique part (the key) */
	bool in_cur;
	bool unseen;             /* the last fresh look at new/ and cur/ did not find it */
} md_msg;

typedef MS_VEC(md_msg) msg_vec;

typedef struct md_box {
	ms_box base;
	char *rel;               /* its directory below the root; "" is the root */
	int dir_fd, new_fd, cur_fd, tmp_fd;
	msg_vec msgs;
	anomaly_vec anomalies;
} md_box;

static md_side *side_of(ms_box *b)
{
	return (md_side *)b->side;
}

static void anomalies_clear(anomaly_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i].path);
	ms_vec_free(v);
}

/* Keep `dir`/`name` as skipped; best effort (out of memory drops it). */
static void anomaly_add(anomaly_vec *v, const char *dir, const char *name, const char *why)
{
	char path[PATH_LEN];
	snprintf(path, sizeof path, "%s%s%s", dir, dir[0] ? "/" : "", name);
	ms_skipped_entry a = { .path = strdup(path), .why = why };
	if (!a.path || ms_vec_push(v, a) < 0)
		free(a.path);
}

/* `s` escaped for a message, in a static-sized buffer of the caller. */
static const char *esc(char *buf, size_t len, const char *s)
{
	ms_escape(buf, len, s);
	return buf;
}

static bool is_dot_or_dotdot(const char *n)
{
	return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

static bool is_inbox(const char *name, size_t len)
{
	return len == 5 && strncasecmp(name, "INBOX", 5) == 0;
}

/* ---- file names --------------------------------------------------------------- */

static const struct { char letter; unsigned flag; } flag_letters[] = {
	{ 'D', MS_FLAG_DRAFT }, { 'F', MS_FLAG_FLAGGED }, { 'R', MS_FLAG_ANSWERED },
	{ 'S', MS_FLAG_SEEN },  { 'T', MS_FLAG_DELETED },
};
#define NLETTERS (sizeof flag_letters / sizeof flag_letters[0])

/* Whether a directory entry of new/ or cur/ is named as a message is;
 * *ulen is the length of its unique part, *why what is wrong if not. */
static bool parse_name(const char *name, uint16_t *ulen, const char **why)
{
	if (name[0] == '.') {
		*why = "a dot file (maildir readers skip them)";
		return false;
	}
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			*why = "a control character in its name";
			return false;
		}
	const char *colon = strchr(name, ':');
	if (colon && strncmp(colon, ":2,", 3) != 0) {
		*why = "an info suffix other than ':2,'";
		return false;
	}
	if (colon && strchr(colon + 1, ':')) {
		*why = "more than one ':' in its name";
		return false;
	}
	size_t u = colon ? (size_t)(colon - name) : strlen(name);
	if (u == 0 || u >= UNIQUE_LEN) {
		*why = u ? "a unique part longer than 255 bytes" : "an empty unique part";
		return false;
	}
	*ulen = (uint16_t)u;
	return true;
}

static const char *info_of(const md_msg *m)
{
	return m->name[m->ulen] == ':' ? m->name + m->ulen + 3 : "";
}

static unsigned flags_of(const md_msg *m)
{
	unsigned f = 0;
	for (const char *p = info_of(m); *p; p++)
		for (size_t i = 0; i < NLETTERS; i++)
			if (*p == flag_letters[i].letter)
				f |= flag_letters[i].flag;
	return f;
}

/* The name of m's file with flags `f`: its unique part, ":2," and the
 * letters in ASCII order, the letters that are not ours kept. */
static void name_with_flags(const md_msg *m, unsigned f, char *out, size_t len)
{
	bool has[256] = { false };
	for (const unsigned char *p = (const unsigned char *)info_of(m); *p; p++)
		has[*p] = true;
	for (size_t i = 0; i < NLETTERS; i++)
		has[(unsigned char)flag_letters[i].letter] = (f & flag_letters[i].flag) != 0;
	char letters[257];
	size_t k = 0;
	for (int c = 1; c < 256; c++)
		if (has[c])
			letters[k++] = (char)c;
	letters[k] = '\0';
	snprintf(out, len, "%.*s:2,%s", (int)m->ulen, m->name, letters);
}

/* The leading decimal number of a unique part (the delivery time), capped. */
static uint64_t leading_number(const char *s, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < len && i < 19 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v;
}

/* The order of UIDs: delivery time first, then the bytes of the name. */
static int cmp_unique(const char *a, size_t alen, const char *b, size_t blen)
{
	uint64_t x = leading_number(a, alen), y = leading_number(b, blen);
	if (x != y)
		return x < y ? -1 : 1;
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Sort order at open_box: by unique part, a file of cur/ before its twin in new/. */
static int cmp_msg(const void *pa, const void *pb)
{
	const md_msg *a = pa, *b = pb;
	int c = cmp_unique(a->name, a->ulen, b->name, b->ulen);
	return c ? c : (int)b->in_cur - (int)a->in_cur;
}

/* ---- directories -------------------------------------------------------------- */

static bool is_dir_at(int fd, const char *name)
{
	struct stat st;
	return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static bool is_maildir_fd(int fd)
{
	return is_dir_at(fd, "cur") && is_dir_at(fd, "new");
}

/* Open the directory `rel` below the root, following no symlink; "" is
 * the root itself.  -1 with errno. */
static int open_rel(const md_side *s, const char *rel)
{
	return rel[0] ? ms_open_beneath(s->root_fd, rel, O_RDONLY | O_DIRECTORY) : dup(s->root_fd);
}

static int open_sub(int dir_fd, const char *name)
{
	return openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Make `name` in dir_fd a Maildir (the parts that are missing): cur/,
 * new/, tmp/, and for a maildir++ sub-folder the empty `maildirfolder`
 * file Courier and Dovecot put there.  0 or -1 with errno. */
static int make_maildir(int dir_fd, const char *name, bool folder_file)
{
	if (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	int fd = open_sub(dir_fd, name);
	if (fd < 0)
		return -1;
	static const char *const subs[] = { "tmp", "new", "cur" };
	int rc = 0;
	for (size_t i = 0; i < 3 && rc == 0; i++)
		if (mkdirat(fd, subs[i], 0700) < 0 && errno != EEXIST)
			rc = -1;
	if (rc == 0 && folder_file) {
		int f = openat(fd, "maildirfolder", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f < 0)
			rc = -1;
		else
			close(f);
	}
	int err = errno;
	if (rc == 0 && (fsync(fd) < 0 || fsync(dir_fd) < 0))
		rc = -1, err = errno;
	close(fd);
	errno = err;
	return rc;
}

/* ---- box names ---------------------------------------------------------------- */

/* Why `level` (len bytes) cannot be one level of a box name here, or NULL. */
static const char *bad_level(const md_side *s, const char *level, size_t len)
{
	if (len == 0)
		return "an empty level";
	if (len > NAME_MAX - 1)
		return "a level longer than 254 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)level[i];
		if (c < 0x20 || c == 0x7f)
			return "a control character";
		if (c == '/')
			return "a '/'";
	}
	if (s->layout == LAYOUT_VERBATIM) {
		if (level[0] == '.')
			return "a level starting with '.' (a hidden directory, or '.' or '..')";
		if (len == 3 && (!strncmp(level, "cur", 3) || !strncmp(level, "new", 3) || !strncmp(level, "tmp", 3)))
			return "a level named cur, new or tmp (a Maildir's own directories)";
	}
	return NULL;
}

/* The directory of box `name` relative to the root ("" for the maildir++
 * INBOX), or MS_E_USAGE saying why the name cannot be one. */
static int box_rel(const md_side *s, const char *name, char *out, size_t len, ms_err *e)
{
	char shown[512];
	size_t w = 0;
	if (s->layout == LAYOUT_MAILDIRPP) {
		if (is_inbox(name, strlen(name))) {
			out[0] = '\0';
			return 0;
		}
		out[w++] = '.';
	}
	for (const char *p = name;;) {
		const char *end = strchr(p, s->base.delim);
		size_t l = end ? (size_t)(end - p) : strlen(p);
		const char *why = bad_level(s, p, l);
		if (why)
			return ms_err_set(e, MS_E_USAGE, "side %s: '%s' cannot be a box name: it has %s", s->base.name,
			                  esc(shown, sizeof shown, name), why);
		bool inbox = p == name && is_inbox(p, l);
		if (w + l + 2 > len)
			return ms_err_set(e, MS_E_USAGE, "side %s: box name '%s' is too long", s->base.name,
			                  esc(shown, sizeof shown, name));
		memcpy(out + w, inbox ? "INBOX" : p, l);
		w += l;
		if (!end)
			break;
		out[w++] = s->base.delim;
		p = end + 1;
	}
	out[w] = '\0';
	if (s->layout == LAYOUT_MAILDIRPP && w > NAME_MAX)
		return ms_err_set(e, MS_E_USAGE, "side %s: box name '%s' is too long for one directory name",
		                  s->base.name, esc(shown, sizeof shown, name));
	return 0;
}

/* The box name of the directory `rel`, if it maps back to the same
 * directory (a name that does not, ".inbox.x" or ".A..B", is no box). */
static bool rel_to_name(const md_side *s, const char *rel, char *name, size_t len)
{
	char back[PATH_LEN];
	if (s->layout == LAYOUT_MAILDIRPP && rel[0] != '.')
		return false;
	snprintf(name, len, "%s", s->layout == LAYOUT_MAILDIRPP ? rel + 1 : rel);
	return box_rel(s, name, back, sizeof back, NULL) == 0 && strcmp(back, rel) == 0;
}

/* ---- open and close ----------------------------------------------------------- */

static void md_close(ms_side *base)
{
	md_side *s = (md_side *)base;
	if (!s)
		return;
	if (s->root_fd >= 0)
		close(s->root_fd);
	anomalies_clear(&s->anomalies);
	free(s->path);
	free(s->base.name);
	free(s);
}

/* The host part of unique names, with '/' and ':' written as maildir(5) says. */
static void host_part(char *out, size_t len)
{
	char h[64] = "";
	if (gethostname(h, sizeof h - 1) < 0 || !h[0])
		snprintf(h, sizeof h, "localhost");
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)h; *p && w + 5 < len; p++) {
		if (*p == '/' || *p == ':' || *p < 0x20 || *p == 0x7f)
			w += (size_t)snprintf(out + w, len - w, "\\%03o", *p);
		else
			out[w++] = (char)*p;
	}
	out[w] = '\0';
}

static int parse_options(md_side *s, const ms_side_conf *conf, bool *create, ms_err *e)
{
	const char *path = ms_side_conf_get(conf, "path"), *layout = ms_side_conf_get(conf, "layout");
	const char *cr = ms_side_conf_get(conf, "create");
	if (!path || !path[0])
		return ms_err_set(e, MS_E_CONFIG, "side %s: a maildir side needs path (the Maildir's root)", s->base.name);
	if (!layout || strcasecmp(layout, "maildir++") == 0)
		s->layout = LAYOUT_MAILDIRPP;
	else if (strcasecmp(layout, "verbatim") == 0)
		s->layout = LAYOUT_VERBATIM;
	else
		return ms_err_set(e, MS_E_CONFIG, "side %s: layout '%s' is neither maildir++ nor verbatim", s->base.name,
		                  layout);
	if (cr && strcasecmp(cr, "yes") != 0 && strcasecmp(cr, "no") != 0)
		return ms_err_set(e, MS_E_CONFIG, "side %s: create '%s' is neither yes nor no", s->base.name, cr);
	*create = cr && strcasecmp(cr, "yes") == 0 && !conf->read_only;
	s->base.delim = s->layout == LAYOUT_MAILDIRPP ? '.' : '/';
	return (s->path = strdup(path)) ? 0 : ms_err_set(e, MS_E_NOMEM, "out of memory");
}

/* Open the root and make sure its INBOX is a Maildir (making them with
 * `create`). */
static int open_root(md_side *s, bool create, ms_err *e)
{
	s->root_fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0 && errno == ENOENT && create && mkdir(s->path, 0700) == 0)
		s->root_fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0)
		return ms_err_set(e, MS_E_IO, "side %s: Maildir %s: %s%s", s->base.name, s->path, strerror(errno),
		                  errno == ENOENT ? " (set `create yes` to create it)" : "");
	const char *inbox = s->layout == LAYOUT_MAILDIRPP ? "" : "INBOX";
	int fd = open_rel(s, inbox);
	bool ok = fd >= 0 && is_maildir_fd(fd);
	if (fd >= 0)
		close(fd);
	if (!ok && create) {
		if (s->layout == LAYOUT_MAILDIRPP ? make_maildir(s->root_fd, ".", false) : make_maildir(s->root_fd, inbox, false))
			return ms_err_set(e, MS_E_IO, "side %s: cannot create the INBOX Maildir in %s: %s", s->base.name,
			                  s->path, strerror(errno));
		ok = true;
	}
	if (!ok)
		return ms_err_set(e, MS_E_NOTFOUND, "side %s: %s%s is not a Maildir (no cur/ and new/ directories; a"
		                  " wrong path? `create yes` creates it)", s->base.name, s->path,
		                  s->layout == LAYOUT_VERBATIM ? "/INBOX" : "");
	host_part(s->host, sizeof s->host);
	return 0;
}

static ms_drv_result md_open(const ms_side_conf *conf, ms_side **out, ms_err *e)
{
	*out = NULL;
	md_side *s = calloc(1, sizeof *s);
	if (!s || !(s->base.name = strdup(conf->name ? conf->name : "maildir"))) {
		free(s);
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	s->root_fd = -1;
	s->base.drv = &ms_drv_maildir;
	s->base.read_only = conf->read_only;
	s->base.caps = MS_CAP_FLAGS | MS_CAP_INTERNAL_DATE | MS_CAP_CREATE_BOX | MS_CAP_DELETE_BOX | MS_CAP_APPEND_UID;
	bool create = false;
	if (parse_options(s, conf, &create, e) < 0 || open_root(s, create, e) < 0) {
		md_close(&s->base);
		return MS_DRV_SIDE_BAD;
	}
	*out = &s->base;
	return MS_DRV_OK;
}

static ms_drv_result refuse_write(ms_side *s, ms_err *e)
{
	ms_err_set(e, MS_E_USAGE, "side %s was opened read-only: nothing may be written", s->name);
	return MS_DRV_SIDE_BAD;
}

/* ---- listing boxes ------------------------------------------------------------ */

typedef MS_VEC(ms_box_info) box_vec;

static int box_push(box_vec *v, const char *name, unsigned attrs)
{
	ms_box_info b = { .name = strdup(name), .attrs = attrs };
	if (!b.name || ms_vec_push(v, b) < 0) {
		free(b.name);
		return -1;
	}
	return 0;
}

/* The type of entry `de` of dir_fd, following no symlink. */
static unsigned char entry_type(int dir_fd, const struct dirent *de)
{
	struct stat st;
	if (de->d_type != DT_UNKNOWN)
		return de->d_type;
	if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return DT_UNKNOWN;
	return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
}

/* A DIR* on a new descriptor of dir_fd's directory, from its start. */
static DIR *reopen_dir(int dir_fd)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	return d;
}

/* maildir++: the INBOX and every ".Name" directory of the root. */
static int list_maildirpp(md_side *s, box_vec *v, ms_err *e)
{
	DIR *d = reopen_dir(s->root_fd);
	if (!d)
		return ms_err_set(e, MS_E_IO, "side %s: cannot read %s: %s", s->base.name, s->path, strerror(errno));
	int rc = box_push(v, "INBOX", 0);
	errno = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d)); errno = 0) {
		char name[PATH_LEN];
		if (de->d_name[0] != '.' || is_dot_or_dotdot(de->d_name))
			continue;
		unsigned char t = entry_type(dirfd(d), de);
		if (t == DT_LNK)
			anomaly_add(&s->anomalies, "", de->d_name, "a symlink where a folder would be (never followed)");
		if (t != DT_DIR)
			continue; /* .subscriptions-like files are not folders */
		int fd = open_sub(dirfd(d), de->d_name);
		bool maildir = fd >= 0 && is_maildir_fd(fd);
		if (fd >= 0)
			close(fd);
		if (!rel_to_name(s, de->d_name, name, sizeof name))
			anomaly_add(&s->anomalies, "", de->d_name, "a folder directory whose name is no box name");
		else if (!maildir)
			anomaly_add(&s->anomalies, "", de->d_name, "a folder directory without cur/ and new/");
		else
			rc = box_push(v, name, 0);
	}
	int err = errno;
	closedir(d);
	if (rc < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (err)
		return ms_err_set(e, MS_E_IO, "side %s: cannot read %s: %s", s->base.name, s->path, strerror(err));
	return 0;
}

/* verbatim: the directories below dir_fd (`rel`), depth first; a
 * directory that is no Maildir but holds boxes is a \Noselect box.
 * *found tells the caller whether anything below was a box. */
static int list_verbatim(md_side *s, int dir_fd, const char *rel, int depth, box_vec *v, bool *found, ms_err *e)
{
	DIR *d = reopen_dir(dir_fd);
	if (!d)
		return ms_err_set(e, MS_E_IO, "side %s: cannot read %s/%s: %s", s->base.name, s->path, rel, strerror(errno));
	bool in_maildir = rel[0] && is_maildir_fd(dir_fd);
	int rc = 0;
	errno = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d)); errno = 0) {
		char sub[PATH_LEN], name[PATH_LEN];
		const char *n = de->d_name;
		if (n[0] == '.' || (in_maildir && (!strcmp(n, "cur") || !strcmp(n, "new") || !strcmp(n, "tmp"))))
			continue;
		unsigned char t = entry_type(dirfd(d), de);
		if (snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", n) >= (int)sizeof sub)
			t = DT_UNKNOWN;
		if (t == DT_LNK)
			anomaly_add(&s->anomalies, rel, n, "a symlink where a folder would be (never followed)");
		if (t != DT_DIR)
			continue;
		int fd = open_sub(dirfd(d), n);
		if (fd < 0)
			continue;
		bool maildir = is_maildir_fd(fd), below = false;
		if (depth + 1 >= MAX_DEPTH)
			anomaly_add(&s->anomalies, rel, n, "a folder deeper than 64 levels (not listed)");
		else
			rc = list_verbatim(s, fd, sub, depth + 1, v, &below, e);
		close(fd);
		if (rc < 0 || (!maildir && !below))
			continue; /* a directory that is no folder: not ours to list */
		if (!rel_to_name(s, sub, name, sizeof name))
			anomaly_add(&s->anomalies, rel, n, "a folder directory whose name is no box name");
		else if (!(rel[0] == '\0' && strcmp(name, "INBOX") == 0 && !maildir) &&
		         box_push(v, name, maildir ? 0 : MS_BOX_NOSELECT) < 0)
			rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
		*found = true;
	}
	int err = errno;
	closedir(d);
	if (rc < 0)
		return -1; /* e says why */
	if (err)
		return ms_err_set(e, MS_E_IO, "side %s: cannot read %s/%s: %s", s->base.name, s->path, rel, strerror(err));
	return 0;
}

static int cmp_box_name(const void *a, const void *b)
{
	return strcmp(((const ms_box_info *)a)->name, ((const ms_box_info *)b)->name);
}

/* The first box of the sorted v whose name is not below `key` in byte order. */
static size_t lower_bound(const box_vec *v, const char *key)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v->v[mid].name, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether the sorted v holds a box whose name starts with `prefix`. */
static bool has_prefix(const box_vec *v, const char *prefix)
{
	size_t i = lower_bound(v, prefix);
	return i < v->n && strncmp(v->v[i].name, prefix, strlen(prefix)) == 0;
}

/* maildir++ ".A.B" without ".A": A is listed as a \Noselect box; then
 * \HasChildren on every box with one below. */
static int complete_tree(const md_side *s, box_vec *v)
{
	if (v->n > 1)
		qsort(v->v, v->n, sizeof *v->v, cmp_box_name);
	for (size_t i = 0, n = v->n; i < n; i++) {
		char parent[PATH_LEN];
		snprintf(parent, sizeof parent, "%s", v->v[i].name);
		for (char *cut; (cut = strrchr(parent, s->base.delim));) {
			*cut = '\0';
			size_t j = lower_bound(v, parent);
			bool known = j < v->n && strcmp(v->v[j].name, parent) == 0;
			for (size_t k = n; !known && k < v->n; k++)
				known = strcmp(v->v[k].name, parent) == 0;
			if (!known && box_push(v, parent, MS_BOX_NOSELECT) < 0)
				return -1;
		}
	}
	if (v->n > 1)
		qsort(v->v, v->n, sizeof *v->v, cmp_box_name);
	for (size_t i = 0; i < v->n; i++) {
		char prefix[PATH_LEN];
		snprintf(prefix, sizeof prefix, "%s%c", v->v[i].name, s->base.delim);
		if (has_prefix(v, prefix))
			v->v[i].attrs |= MS_BOX_HAS_CHILDREN;
	}
	return 0;
}

static ms_drv_result md_list_boxes(ms_side *base, ms_box_info **out, size_t *n, ms_err *e)
{
	md_side *s = (md_side *)base;
	box_vec v = { 0 };
	bool found = false;
	*out = NULL;
	*n = 0;
	anomalies_clear(&s->anomalies);
	int rc = s->layout == LAYOUT_MAILDIRPP ? list_maildirpp(s, &v, e)
	                                         : list_verbatim(s, s->root_fd, "", 0, &v, &found, e);
	if (rc == 0 && complete_tree(s, &v) < 0)
		rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (rc < 0) {
		ms_box_list_free(v.v, v.n);
		return MS_DRV_SIDE_BAD;
	}
	*out = v.v;
	*n = v.n;
	return MS_DRV_OK;
}

const ms_skipped_entry *ms_maildir_side_anomalies(const ms_side *base, size_t *n)
{
	assert(base->drv == &ms_drv_maildir);
	const md_side *s = (const md_side *)base;
	*n = s->anomalies.n;
	return s->anomalies.v;
}

/* ---- creating and deleting boxes ---------------------------------------------- */

static ms_drv_result md_create_box(ms_side *base, const char *name, ms_err *e)
{
	md_side *s = (md_side *)base;
	char rel[PATH_LEN], part[PATH_LEN];
	if (base->read_only)
		return refuse_write(base, e);
	if (box_rel(s, name, rel, sizeof rel, e) < 0)
		return MS_DRV_BOX_BAD;
	if (!rel[0])
		return MS_DRV_OK; /* the maildir++ INBOX is the root, which open found */
	/* every level, parents first, as a Maildir of its own */
	int rc = 0;
	for (char *p = strchr(rel + 1, base->delim); rc == 0; p = strchr(p + 1, base->delim)) {
		snprintf(part, sizeof part, "%.*s", p ? (int)(p - rel) : (int)strlen(rel), rel);
		if (strcmp(part, ".INBOX") == 0)
			continue; /* maildir++: the INBOX is the root */
		char *slash = strrchr(part, '/');
		int parent = slash ? (*slash = '\0', open_rel(s, part)) : dup(s->root_fd);
		rc = parent < 0 ? -1 : make_maildir(parent, slash ? slash + 1 : part, s->layout == LAYOUT_MAILDIRPP);
		int err = errno;
		if (parent >= 0)
			close(parent);
		errno = err;
		if (!p)
			break;
	}
	if (rc < 0) {
		char shown[512];
		ms_err_set(e, MS_E_IO, "side %s: cannot create box %s in %s: %s", base->name,
		           esc(shown, sizeof shown, name), s->path, strerror(errno));
		return MS_DRV_BOX_BAD;
	}
	return MS_DRV_OK;
}

/* Files a box's directory may hold beside cur/ new/ tmp/ that mean
 * nothing once the box is empty: indexes of Dovecot, Courier and mbsync. */
static bool is_index_file(const char *n)
{
	static const char *const exact[] = { "maildirfolder", "dovecot-uidlist", "dovecot-keywords",
		                             "courierimapuiddb", ".uidvalidity", ".isyncuidmap.db" };
	static const char *const prefix[] = { "dovecot.index", "dovecot-uidvalidity", "dovecot.list.index",
		                              ".mbsyncstate" };
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strcmp(n, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++)
		if (strncmp(n, prefix[i], strlen(prefix[i])) == 0)
			return true;
	return false;
}

/* The first entry of dir_fd's sub-directory `sub` ("" for dir_fd itself)
 * that `keep` does not accept, in `what`; false when there is none. */
static bool first_entry(int dir_fd, const char *sub, bool (*keep)(const char *), char *what, size_t len)
{
	int fd = sub[0] ? open_sub(dir_fd, sub) : openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		snprintf(what, len, "%s (unreadable: %s)", sub, strerror(errno));
		return true;
	}
	bool found = false;
	for (struct dirent *de; !found && (de = readdir(d));)
		if (!is_dot_or_dotdot(de->d_name) && !(keep && keep(de->d_name))) {
			snprintf(what, len, "%s%s%s", sub, sub[0] ? "/" : "", de->d_name);
			found = true;
		}
	closedir(d);
	return found;
}

static bool box_dir_entry_ok(const char *n)
{
	return !strcmp(n, "cur") || !strcmp(n, "new") || !strcmp(n, "tmp") || is_index_file(n);
}

/* Remove what first_entry accepted: index files, tmp/, new/, cur/, in
 * that order, so a delivery that slipped in stops it with the box whole. */
static int remove_box_dir(int parent_fd, const char *dir, ms_err *e, const char *shown, const char *side)
{
	int fd = open_sub(parent_fd, dir);
	if (fd < 0)
		return ms_err_set(e, MS_E_IO, "side %s: box %s: %s", side, shown, strerror(errno));
	static const char *const subs[] = { "tmp", "new", "cur" };
	int rc = 0, err = 0;
	size_t done = 0;
	for (; done < 3; done++)
		if (unlinkat(fd, subs[done], AT_REMOVEDIR) < 0 && errno != ENOENT) {
			err = errno;
			rc = -1;
			break;
		}
	for (size_t i = done; rc < 0 && i-- > 0;)
		mkdirat(fd, subs[i], 0700); /* put back what was removed: the box stays a Maildir */
	if (rc < 0) {
		close(fd);
		return ms_err_set(e, MS_E_IO, "side %s: box %s: %s: %s%s", side, shown, subs[done], strerror(err),
		                  err == ENOTEMPTY || err == EEXIST ? " (a message arrived meanwhile): not deleted" : "");
	}
	DIR *d = reopen_dir(fd);
	for (struct dirent *de; d && (de = readdir(d));)
		if (is_index_file(de->d_name))
			unlinkat(fd, de->d_name, 0);
	if (d)
		closedir(d);
	close(fd);
	if (unlinkat(parent_fd, dir, AT_REMOVEDIR) < 0)
		return ms_err_set(e, MS_E_IO, "side %s: box %s: %s", side, shown, strerror(errno));
	fsync(parent_fd);
	return 0;
}

/* Whether the maildir++ root holds a child of `rel` (".A" → ".A.x"). */
static bool pp_has_child(md_side *s, const char *rel)
{
	DIR *d = reopen_dir(s->root_fd);
	size_t len = strlen(rel);
	bool found = false;
	for (struct dirent *de; d && !found && (de = readdir(d));)
		found = strncmp(de->d_name, rel, len) == 0 && de->d_name[len] == '.';
	if (d)
		closedir(d);
	return found;
}

static ms_drv_result md_delete_box(ms_side *base, const char *name, ms_err *e)
{
	md_side *s = (md_side *)base;
	char rel[PATH_LEN], shown[512], what[PATH_LEN];
	if (base->read_only)
		return refuse_write(base, e);
	if (box_rel(s, name, rel, sizeof rel, e) < 0)
		return MS_DRV_BOX_BAD;
	esc(shown, sizeof shown, name);
	if (!rel[0] || strcmp(rel, "INBOX") == 0) {
		ms_err_set(e, MS_E_USAGE, "side %s: the INBOX is never deleted", base->name);
		return MS_DRV_BOX_BAD;
	}
	int fd = open_rel(s, rel);
	if (fd < 0 || !is_maildir_fd(fd)) {
		ms_err_set(e, MS_E_NOTFOUND, "side %s: there is no box %s in %s%s", base->name, shown, s->path,
		           fd >= 0 ? " (a directory, but no Maildir)" : "");
		if (fd >= 0)
			close(fd);
		return MS_DRV_BOX_BAD;
	}
	const char *why = NULL;
	bool name_it = true; /* an entry that shows why */
	if (s->layout == LAYOUT_MAILDIRPP && pp_has_child(s, rel))
		why = "it has sub-folders", name_it = false;
	else if (first_entry(fd, "", box_dir_entry_ok, what, sizeof what))
		why = s->layout == LAYOUT_VERBATIM ? "it holds other entries (sub-folders?)" : "it holds other entries";
	else if (first_entry(fd, "cur", NULL, what, sizeof what) || first_entry(fd, "new", NULL, what, sizeof what))
		why = "it holds messages";
	else if (first_entry(fd, "tmp", NULL, what, sizeof what))
		why = "its tmp/ holds a file (a delivery in progress?)";
	close(fd);
	if (why) {
		char shown_what[PATH_LEN];
		ms_err_set(e, MS_E_USAGE, "side %s: box %s is not deleted: %s%s%s", base->name, shown, why,
		           name_it ? ", such as " : "", name_it ? esc(shown_what, sizeof shown_what, what) : "");
		return MS_DRV_BOX_BAD;
	}
	char *slash = strrchr(rel, '/');
	int parent = slash ? (*slash = '\0', open_rel(s, rel)) : dup(s->root_fd);
	if (parent < 0) {
		ms_err_set(e, MS_E_IO, "side %s: box %s: %s", base->name, shown, strerror(errno));
		return MS_DRV_BOX_BAD;
	}
	int rc = remove_box_dir(parent, slash ? slash + 1 : rel, e, shown, base->name);
	close(parent);
	return rc < 0 ? MS_DRV_BOX_BAD : MS_DRV_OK;
}

/* ---- opening a box ------------------------------------------------------------ */

static void md_close_box(ms_box *base)
{
	md_box *b = (md_box *)base;
	if (!b)
		return;
	int fds[] = { b->dir_fd, b->new_fd, b->cur_fd, b->tmp_fd };
	for (size_t i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (size_t i = 0; i < b->msgs.n; i++)
		free(b->msgs.v[i].name);
	ms_vec_free(&b->msgs);
	anomalies_clear(&b->anomalies);
	free(b->rel);
	free(b->base.name);
	free(b);
}

static int sub_fd(const md_box *b, const md_msg *m)
{
	return m->in_cur ? b->cur_fd : b->new_fd;
}

static const char *sub_name(const md_msg *m)
{
	return m->in_cur ? "cur" : "new";
}

/* The path of `sub`/`name` below the root, for anomalies. */
static void box_sub_path(const md_box *b, const char *sub, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s", b->rel, b->rel[0] ? "/" : "", sub);
}

/* Add the messages of new/ or cur/ to b->msgs; every other entry is an
 * anomaly. */
static int scan_sub(md_box *b, bool cur, ms_err *e)
{
	char where[PATH_LEN];
	box_sub_path(b, cur ? "cur" : "new", where, sizeof where);
	DIR *d = reopen_dir(cur ? b->cur_fd : b->new_fd);
	if (!d)
		return ms_err_set(e, MS_E_IO, "side %s: box %s: cannot read %s: %s", b->base.side->name, b->base.name,
		                  where, strerror(errno));
	int rc = 0;
	errno = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d)); errno = 0) {
		const char *why = NULL;
		uint16_t ulen = 0;
		if (is_dot_or_dotdot(de->d_name))
			continue;
		unsigned char t = entry_type(dirfd(d), de);
		if (t != DT_REG)
			why = t == DT_DIR ? "a directory" : t == DT_LNK ? "a symlink (never followed)" : "not a regular file";
		if (!why && parse_name(de->d_name, &ulen, &why)) {
			md_msg m = { .name = strdup(de->d_name), .ulen = ulen, .in_cur = cur };
			if (!m.name || ms_vec_push(&b->msgs, m) < 0) {
				free(m.name);
				rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
			}
			continue;
		}
		anomaly_add(&b->anomalies, where, de->d_name, why);
	}
	int err = errno;
	closedir(d);
	if (rc == 0 && err)
		rc = ms_err_set(e, MS_E_IO, "side %s: box %s: cannot read %s: %s", b->base.side->name, b->base.name, where,
		                strerror(err));
	return rc;
}

/* Sort the messages into UID order and drop a second file with the same
 * unique name (kept as an anomaly: which one is the message is not ours
 * to guess; the one in cur/ is listed).  A twin in new/ that is gone now
 * was a file a client moved to cur/ while we read: no anomaly. */
static void number_messages(md_box *b)
{
	if (b->msgs.n > 1)
		qsort(b->msgs.v, b->msgs.n, sizeof *b->msgs.v, cmp_msg);
	size_t k = 0;
	for (size_t i = 0; i < b->msgs.n; i++) {
		md_msg *m = &b->msgs.v[i];
		if (k > 0 && cmp_unique(b->msgs.v[k - 1].name, b->msgs.v[k - 1].ulen, m->name, m->ulen) == 0) {
			char where[PATH_LEN];
			box_sub_path(b, sub_name(m), where, sizeof where);
			if (faccessat(sub_fd(b, m), m->name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
				anomaly_add(&b->anomalies, where, m->name,
				            "a second file with the same unique name (the first is listed)");
			free(m->name);
			continue;
		}
		b->msgs.v[k++] = *m;
	}
	b->msgs.n = k;
}

/* A UIDVALIDITY no earlier session is likely to have had: UIDs are only
 * valid while the box is open. */
static uint32_t fresh_uidvalidity(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
		v = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	return v ? v : 1;
}

static ms_drv_result open_dirs(md_side *s, md_box *b, ms_err *e)
{
	char shown[512], rel[PATH_LEN];
	esc(shown, sizeof shown, b->base.name);
	esc(rel, sizeof rel, b->rel[0] ? b->rel : ".");
	b->dir_fd = open_rel(s, b->rel);
	if (b->dir_fd < 0) {
		if (errno == ENOENT)
			ms_err_set(e, MS_E_NOTFOUND, "side %s: there is no box %s (no directory %s in %s)", s->base.name,
			           shown, rel, s->path);
		else
			ms_err_set(e, MS_E_IO, "side %s: box %s: cannot open %s in %s: %s", s->base.name, shown, rel,
			           s->path, strerror(errno));
		return MS_DRV_BOX_BAD;
	}
	b->new_fd = open_sub(b->dir_fd, "new");
	b->cur_fd = b->new_fd >= 0 ? open_sub(b->dir_fd, "cur") : -1;
	if (b->cur_fd < 0) {
		ms_err_set(e, errno == ENOENT ? MS_E_NOTFOUND : MS_E_IO, "side %s: box %s (%s in %s) is not a Maildir:"
		           " %s/: %s", s->base.name, shown, rel, s->path, b->new_fd < 0 ? "new" : "cur", strerror(errno));
		return MS_DRV_BOX_BAD;
	}
	return MS_DRV_OK;
}

static ms_drv_result md_open_box(ms_side *base, const char *name, ms_box **out, ms_err *e)
{
	md_side *s = (md_side *)base;
	char rel[PATH_LEN];
	*out = NULL;
	if (box_rel(s, name, rel, sizeof rel, e) < 0)
		return MS_DRV_BOX_BAD;
	md_box *b = calloc(1, sizeof *b);
	if (!b || !(b->base.name = strdup(name)) || !(b->rel = strdup(rel))) {
		if (b)
			free(b->base.name);
		free(b);
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	b->base.side = base;
	b->dir_fd = b->new_fd = b->cur_fd = b->tmp_fd = -1;
	ms_drv_result r = open_dirs(s, b, e);
	if (r == MS_DRV_OK && (scan_sub(b, false, e) < 0 || scan_sub(b, true, e) < 0))
		r = e->code == MS_E_NOMEM ? MS_DRV_SIDE_BAD : MS_DRV_BOX_BAD;
	if (r == MS_DRV_OK && b->msgs.n >= UINT32_MAX) {
		ms_err_set(e, MS_E_LIMIT, "side %s: box %s holds more messages than there are UIDs", base->name, name);
		r = MS_DRV_BOX_BAD;
	}
	if (r != MS_DRV_OK) {
		md_close_box(&b->base);
		return r;
	}
	number_messages(b);
	b->base.status = (ms_box_status){ .uidvalidity = fresh_uidvalidity(), .uidnext = (uint32_t)b->msgs.n + 1,
	                                  .count = (uint32_t)b->msgs.n };
	*out = &b->base;
	return MS_DRV_OK;
}

const ms_skipped_entry *ms_maildir_box_anomalies(const ms_box *base, size_t *n)
{
	assert(base->side->drv == &ms_drv_maildir);
	const md_box *b = (const md_box *)base;
	*n = b->anomalies.n;
	return b->anomalies.v;
}

bool ms_maildir_msg_file(const ms_box *base, uint32_t uid, char *out, size_t len)
{
	assert(base->side->drv == &ms_drv_maildir);
	const md_box *b = (const md_box *)base;
	if (uid == 0 || uid > b->msgs.n || !b->msgs.v[uid - 1].name)
		return false;
	const md_msg *m = &b->msgs.v[uid - 1];
	char where[PATH_LEN];
	box_sub_path(b, sub_name(m), where, sizeof where);
	snprintf(out, len, "%s/%s", where, m->name);
	return true;
}

/* ---- finding a message again --------------------------------------------------- */

/* The message with this UID, or NULL (never was, or expunged). */
static md_msg *msg_of(md_box *b, uint32_t uid)
{
	if (uid == 0 || uid > b->msgs.n)
		return NULL;
	md_msg *m = &b->msgs.v[uid - 1];
	return m->name ? m : NULL;
}

static int cmp_index(const void *pa, const void *pb, void *ctx)
{
	const md_msg *v = ctx, *a = &v[*(const uint32_t *)pa], *b = &v[*(const uint32_t *)pb];
	return cmp_unique(a->name, a->ulen, b->name, b->ulen);
}

/* The message whose unique part is name[0..ulen), by binary search in idx. */
static md_msg *find_unique(md_box *b, const uint32_t *idx, size_t n, const char *name, size_t ulen)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		md_msg *m = &b->msgs.v[idx[mid]];
		int c = cmp_unique(m->name, m->ulen, name, ulen);
		if (c == 0)
			return m;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Read new/ and then cur/ again and note where each known message is now
 * (a file moved from new/ to cur/ while new/ is read is met in cur/).
 * Files we do not know are left for the next open_box. */
static int refresh(md_box *b)
{
	uint32_t *idx = malloc((b->msgs.n ? b->msgs.n : 1) * sizeof *idx);
	size_t n = 0;
	if (!idx)
		return ENOMEM;
	for (size_t i = 0; i < b->msgs.n; i++)
		if (b->msgs.v[i].name) {
			idx[n++] = (uint32_t)i;
			b->msgs.v[i].unseen = true;
		}
	qsort_r(idx, n, sizeof *idx, cmp_index, b->msgs.v);
	int err = 0;
	for (int cur = 0; cur < 2 && !err; cur++) {
		DIR *d = reopen_dir(cur ? b->cur_fd : b->new_fd);
		if (!d) {
			err = errno;
			break;
		}
		for (struct dirent *de; (de = readdir(d));) {
			uint16_t ulen;
			const char *why;
			if (is_dot_or_dotdot(de->d_name) || !parse_name(de->d_name, &ulen, &why))
				continue;
			md_msg *m = find_unique(b, idx, n, de->d_name, ulen);
			if (m)
				m->unseen = false;
			if (!m || (m->in_cur == cur && strcmp(m->name, de->d_name) == 0))
				continue;
			char *copy = strdup(de->d_name);
			if (!copy) {
				err = ENOMEM;
				break;
			}
			free(m->name);
			m->name = copy;
			m->in_cur = cur;
		}
		closedir(d);
	}
	free(idx);
	return err;
}

/* One try of an operation on a message's file: 0, or an errno. */
typedef int file_op(md_box *b, md_msg *m, void *arg);

/* Run `op` on m's file; when the file is not where we saw it, look for
 * it again (another program moved it or changed its flags).  0 or an
 * errno (ENOENT: it is gone from both new/ and cur/).  A message the last
 * fresh look did not find is gone without another look, so a box whose
 * files another program deleted costs one look, not one per message (a
 * file renamed during that readdir may be missed, as readdir allows: it
 * is then MS_DRV_MSG_BAD for this session and found at the next open). */
static int with_file(md_box *b, md_msg *m, file_op *op, void *arg)
{
	for (int round = 0;; round++) {
		int err = op(b, m, arg);
		if (err != ENOENT || round == LOOKUP_ROUNDS || m->unseen)
			return err;
		int r = refresh(b);
		if (r)
			return r;
	}
}

/* MS_DRV_MSG_BAD with a sentence on what happened to m's file. */
static ms_drv_result msg_bad(md_box *b, const md_msg *m, uint32_t uid, const char *doing, int err, ms_err *why)
{
	char shown[512], box[512];
	esc(box, sizeof box, b->base.name);
	if (!m) {
		ms_err_set(why, MS_E_NOTFOUND, "side %s: box %s has no message with UID %u", b->base.side->name, box, uid);
		return MS_DRV_MSG_BAD;
	}
	char key[UNIQUE_LEN];
	snprintf(key, sizeof key, "%.*s", (int)m->ulen, m->name);
	if (err == ENOENT)
		ms_err_set(why, MS_E_NOTFOUND, "side %s: box %s: message file %s (UID %u) is gone from new/ and cur/"
		           " (another program deleted it)", b->base.side->name, box, esc(shown, sizeof shown, key), uid);
	else
		ms_err_set(why, MS_E_IO, "side %s: box %s: cannot %s %s/%s: %s", b->base.side->name, box, doing,
		           sub_name(m), esc(shown, sizeof shown, m->name), strerror(err));
	return MS_DRV_MSG_BAD;
}

/* ---- listing messages ---------------------------------------------------------- */

static int stat_op(md_box *b, md_msg *m, void *arg)
{
	struct stat *st = arg;
	if (fstatat(sub_fd(b, m), m->name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno;
	return S_ISREG(st->st_mode) ? 0 : EINVAL;
}

static int open_op(md_box *b, md_msg *m, void *arg)
{
	/* O_NONBLOCK: a FIFO put in place of a message must not hang us */
	int fd = openat(sub_fd(b, m), m->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return EINVAL;
	}
	*(int *)arg = fd;
	return 0;
}

/* The Message-ID of m: MS_DRV_MSG_BAD when its file cannot be read. */
static ms_drv_result read_msgid(md_box *b, md_msg *m, uint32_t uid, ms_msg *out, ms_err *why)
{
	int fd = -1, err = with_file(b, m, open_op, &fd);
	if (err)
		return msg_bad(b, m, uid, "open", err, why);
	ms_headers h;
	int rc = ms_headers_read_fd(fd, m->name, &h, why);
	close(fd);
	if (rc < 0)
		return MS_DRV_MSG_BAD;
	if (h.message_id && !(out->msgid = strdup(h.message_id)))
		rc = -1;
	ms_headers_free(&h);
	return rc < 0 ? MS_DRV_SIDE_BAD : MS_DRV_OK;
}

/* One entry of a listing; -1 when memory runs out. */
static int to_msg(md_box *b, md_msg *m, uint32_t uid, unsigned want, ms_msg *out)
{
	struct stat st;
	ms_err why;
	*out = (ms_msg){ .uid = uid, .key = strndup(m->name, m->ulen) };
	if (!out->key)
		return -1;
	if ((want & MS_WANT_NO_STAT) && !(want & MS_WANT_MSGID)) {
		/* the name is all a plan needs (key and flags): a no-op resync
		   reads the directories only, as find does */
		out->flags = flags_of(m);
		return 0;
	}
	int err = with_file(b, m, stat_op, &st);
	if (err) {
		out->result = MS_DRV_MSG_BAD; /* gone, or no longer a file: the engine leaves it alone */
		out->flags = flags_of(m);
		return err == ENOMEM ? -1 : 0;
	}
	out->flags = flags_of(m); /* after with_file: as the file is named now */
	out->size = (uint64_t)st.st_size;
	out->internal_date = st.st_mtime;
	if (want & MS_WANT_MSGID)
		out->result = read_msgid(b, m, uid, out, &why);
	return out->result == MS_DRV_SIDE_BAD ? -1 : 0;
}

static ms_drv_result md_list_msgs(ms_box *base, const ms_list_req *req, ms_msg **out, size_t *n, ms_err *e)
{
	md_box *b = (md_box *)base;
	*out = NULL;
	*n = 0;
	size_t first = req->after_uid, cap = b->msgs.n > first ? b->msgs.n - first : 0;
	if (req->max && cap > req->max)
		cap = req->max;
	ms_msg *v = calloc(cap ? cap : 1, sizeof *v);
	size_t k = 0;
	int rc = v ? 0 : -1;
	for (size_t i = first; rc == 0 && i < b->msgs.n && k < cap; i++)
		if (b->msgs.v[i].name)
			rc = to_msg(b, &b->msgs.v[i], (uint32_t)i + 1, req->want, &v[k++]);
	if (rc < 0) {
		ms_msg_list_free(v, k);
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	*out = v;
	*n = k;
	return MS_DRV_OK;
}

/* ---- fetch ---------------------------------------------------------------------- */

static ms_drv_result fetch_one(md_box *b, size_t i, uint32_t uid, ms_fetch_cb *cb, void *ctx)
{
	ms_err why = { 0 };
	md_msg *m = msg_of(b, uid);
	char *data = NULL;
	size_t len = 0;
	int fd = -1, err = m ? with_file(b, m, open_op, &fd) : ENOENT;
	if (!err) {
		/* to its end: a Maildir file does not change, but what is there is what is returned */
		err = ms_read_all(fd, &data, &len) < 0 ? errno : 0;
		close(fd);
	}
	if (err == ENOMEM)
		return MS_DRV_SIDE_BAD;
	if (err) {
		msg_bad(b, m, uid, "read", err, &why);
		cb(ctx, i, MS_DRV_MSG_BAD, NULL, 0, &why);
		return MS_DRV_OK;
	}
	cb(ctx, i, MS_DRV_OK, data, len, NULL);
	free(data);
	return MS_DRV_OK;
}

static ms_drv_result md_fetch(ms_box *base, const uint32_t *uids, size_t n, ms_fetch_cb *cb, void *ctx, ms_err *e)
{
	for (size_t i = 0; i < n; i++)
		if (fetch_one((md_box *)base, i, uids[i], cb, ctx) != MS_DRV_OK) {
			ms_err_set(e, MS_E_NOMEM, "out of memory reading a message of %s", base->name);
			return MS_DRV_SIDE_BAD;
		}
	return MS_DRV_OK;
}

/* ---- append ----------------------------------------------------------------------- */

/* A unique name as maildir(5) asks: the time, then what tells this
 * delivery from every other on this host in the same second (microseconds,
 * pid, a counter, 64 random bits), then the host. */
static void unique_name(const md_side *s, char *out, size_t len)
{
	static atomic_uint seq;
	struct timeval tv;
	uint64_t r = 0;
	gettimeofday(&tv, NULL);
	unsigned q = atomic_fetch_add(&seq, 1) + 1;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = ((uint64_t)tv.tv_usec << 32) ^ (uint64_t)q ^ (uint64_t)(uintptr_t)&tv;
	snprintf(out, len, "%lld.M%06ldP%dQ%uR%016llx.%s", (long long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(), q,
	         (unsigned long long)r, s->host);
}

/* Write tmp/<unique>: the bytes and the internal date as mtime, not yet
 * synced (sync_tmp does that for a whole chunk at once).  The open file
 * descriptor in *fd, or an errno (and no file left). */
static int write_tmp(md_box *b, const char *unique, const ms_append *m, int *fd)
{
	*fd = openat(b->tmp_fd, unique, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0)
		return errno;
	int err = ms_write_fully(*fd, m->data, m->len, -1) < 0 ? errno : 0;
	if (!err && m->internal_date) {
		const struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = m->internal_date } };
		if (futimens(*fd, t) < 0)
			err = errno;
	}
	if (err) {
		close(*fd);
		*fd = -1;
		unlinkat(b->tmp_fd, unique, 0);
	}
	return err;
}

/* rename(2) that never replaces a file (with link+unlink where the file
 * system has no RENAME_NOREPLACE).  0 or an errno. */
static int rename_noreplace(int from_fd, const char *from, int to_fd, const char *to)
{
	if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return errno;
	if (linkat(from_fd, from, to_fd, to, 0) < 0)
		return errno;
	unlinkat(from_fd, from, 0);
	return 0;
}

static int open_tmp(md_box *b)
{
	if (b->tmp_fd >= 0)
		return 0;
	/* a Maildir without tmp/ (a copy that lost empty directories) gets one */
	if (mkdirat(b->dir_fd, "tmp", 0700) < 0 && errno != EEXIST)
		return errno;
	b->tmp_fd = open_sub(b->dir_fd, "tmp");
	return b->tmp_fd < 0 ? errno : 0;
}

/* Report item i of an append as not written: err < 0 for an empty message. */
static void append_failed(md_box *b, size_t i, int err, ms_item_cb *cb, void *ctx)
{
	const md_side *s = side_of(&b->base);
	ms_err why = { 0 };
	char shown[512];
	esc(shown, sizeof shown, b->base.name);
	if (err < 0)
		ms_err_set(&why, MS_E_USAGE, "side %s: box %s: an empty message is never stored", s->base.name, shown);
	else
		ms_err_set(&why, MS_E_IO, "side %s: box %s: cannot store a message in %s%s%s: %s", s->base.name, shown,
		           s->path, b->rel[0] ? "/" : "", b->rel, strerror(err));
	cb(ctx, i, MS_DRV_MSG_BAD, 0, NULL, &why);
}

/* Files written into tmp/ before one sync pass over them: bounds the open
 * descriptors an append holds (the engine's batches are no larger). */
#define APPEND_CHUNK 64

/* One message of a chunk between its write into tmp/ and its rename. */
typedef struct staged {
	char unique[UNIQUE_LEN];
	int fd;                  /* open until the chunk is synced; -1 */
	int err;                 /* 0, an errno, or -1 for an empty message */
} staged;

/* One append call: what each item became, for the callbacks. */
typedef struct append_run {
	md_side *s;
	md_box *b;
	const ms_append *msgs;
	bool *ok, used_cur;
	uint32_t *uid;
	ms_item_cb *cb;
	void *ctx;
} append_run;

/* Write one message into tmp/, not yet synced. */
static void stage_one(md_side *s, md_box *b, const ms_append *m, staged *p)
{
	unique_name(s, p->unique, sizeof p->unique);
	p->fd = -1;
	p->err = m->len == 0 ? -1 : open_tmp(b);
	if (!p->err)
		p->err = write_tmp(b, p->unique, m, &p->fd);
}

/* Make a chunk's tmp/ files durable with one syncfs(2) of their file
 * system: their data and inodes reach the disk in one journal commit.  A
 * write-and-fsync per message paid a commit each (first sync 4.5x cp -r,
 * issue 14), and an fsync pass over the chunk still one call per file,
 * each waiting on the journal under load: bench/RESULTS.md.  syncfs also
 * flushes what other programs wrote to that file system, a cost shared
 * by one call per APPEND_CHUNK messages.  It reports a writeback error of
 * the file system (Linux >= 5.8), which fails the whole chunk. */
static void sync_chunk(md_box *b, staged *p, size_t k)
{
	int err = syncfs(b->tmp_fd) < 0 ? errno : 0;
	for (size_t i = 0; i < k; i++) {
		if (!p[i].err && err)
			p[i].err = err;
		if (p[i].fd >= 0 && close(p[i].fd) < 0 && !p[i].err)
			p[i].err = errno;
		p[i].fd = -1;
		if (p[i].err > 0)
			unlinkat(b->tmp_fd, p[i].unique, 0);
	}
}

/* Rename a synced tmp/ file into new/ or cur/ and keep it as the box's next
 * UID; the directory is fsynced by the caller.  0 or an errno. */
static int commit_one(append_run *a, const ms_append *m, const staged *p)
{
	md_box *b = a->b;
	char name[PATH_LEN];
	md_msg msg = { .name = (char *)p->unique, .ulen = (uint16_t)strlen(p->unique),
		       .in_cur = (m->flags & MS_FLAGS_ALL) != 0 };
	if (msg.in_cur)
		name_with_flags(&msg, m->flags, name, sizeof name);
	else
		snprintf(name, sizeof name, "%s", p->unique);
	int err = rename_noreplace(b->tmp_fd, p->unique, msg.in_cur ? b->cur_fd : b->new_fd, name);
	if (err) {
		unlinkat(b->tmp_fd, p->unique, 0);
		return err;
	}
	msg.name = strdup(name);
	if (!msg.name || ms_vec_push(&b->msgs, msg) < 0) {
		free(msg.name);
		return ENOMEM; /* the file is there; the next open_box lists it */
	}
	a->used_cur |= msg.in_cur;
	return 0;
}

/* Items [off, off+k) of the call: write them all, sync them together, then
 * rename each into place.  MS_DRV_SIDE_BAD when memory ran out (the
 * chunk's files not yet renamed are removed from tmp/). */
static ms_drv_result append_chunk(append_run *a, size_t off, size_t k, staged *p)
{
	assert(k <= APPEND_CHUNK);
	for (size_t i = 0; i < k; i++)
		stage_one(a->s, a->b, &a->msgs[off + i], &p[i]);
	sync_chunk(a->b, p, k);
	ms_drv_result r = MS_DRV_OK;
	for (size_t i = 0; i < k; i++) {
		if (r != MS_DRV_OK) {
			if (!p[i].err)
				unlinkat(a->b->tmp_fd, p[i].unique, 0);
			continue;
		}
		int err = p[i].err ? p[i].err : commit_one(a, &a->msgs[off + i], &p[i]);
		if (err == 0) {
			a->ok[off + i] = true;
			a->uid[off + i] = (uint32_t)a->b->msgs.n;
		} else if (err == ENOMEM) {
			r = MS_DRV_SIDE_BAD;
		} else {
			append_failed(a->b, off + i, err, a->cb, a->ctx);
		}
	}
	return r;
}

/* Every file is written and synced, renamed into place, and the
 * directories synced once, before any item is reported written: the
 * engine records a message in its state only after that (a state never
 * names a file that a crash can take back). */
static ms_drv_result md_append(ms_box *base, const ms_append *msgs, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	md_side *s = side_of(base);
	md_box *b = (md_box *)base;
	if (s->base.read_only)
		return refuse_write(&s->base, e);
	if (n > UINT32_MAX - 1 - b->msgs.n) {
		ms_err_set(e, MS_E_LIMIT, "side %s: box %s has no UIDs left for %zu messages", s->base.name, base->name, n);
		return MS_DRV_BOX_BAD;
	}
	append_run a = { .s = s, .b = b, .msgs = msgs, .cb = cb, .ctx = ctx,
			 .ok = calloc(n ? n : 1, sizeof *a.ok), .uid = calloc(n ? n : 1, sizeof *a.uid) };
	staged *p = calloc(APPEND_CHUNK, sizeof *p);
	ms_drv_result r = a.ok && a.uid && p ? MS_DRV_OK : MS_DRV_SIDE_BAD;
	for (size_t off = 0; off < n && r == MS_DRV_OK; off += APPEND_CHUNK)
		r = append_chunk(&a, off, n - off < APPEND_CHUNK ? n - off : APPEND_CHUNK, p);
	/* the renames are durable before any message is reported written */
	int err = 0;
	if (r == MS_DRV_OK && (fsync(b->new_fd) < 0 || (a.used_cur && fsync(b->cur_fd) < 0)))
		err = errno, r = MS_DRV_SIDE_BAD;
	for (size_t i = 0; r == MS_DRV_OK && i < n; i++) {
		if (!a.ok[i])
			continue;
		/* the key the next listing names it by (md_list_msgs): the
		   engine records it, and need not read the file to learn it */
		assert(a.uid[i] >= 1 && a.uid[i] <= b->msgs.n); /* a UID is its message's place + 1 */
		const md_msg *m = &b->msgs.v[a.uid[i] - 1];
		assert(m->name);
		char key[UNIQUE_LEN];
		snprintf(key, sizeof key, "%.*s", (int)m->ulen, m->name);
		cb(ctx, i, MS_DRV_OK, a.uid[i], key, NULL);
	}
	if (r != MS_DRV_OK)
		ms_err_set(e, err ? MS_E_IO : MS_E_NOMEM, "side %s: box %s: %s", s->base.name, base->name,
		           err ? strerror(err) : "out of memory");
	free(a.ok);
	free(a.uid);
	free(p);
	return r;
}

/* ---- flags and expunge ------------------------------------------------------------ */

typedef struct flag_arg {
	const ms_flag_change *c;
	bool renamed;
} flag_arg;

/* Rename m's file to carry its new flags (from new/ into cur/ if needed). */
static int flag_op(md_box *b, md_msg *m, void *arg)
{
	flag_arg *a = arg;
	unsigned now = flags_of(m), want = ((now | a->c->add) & ~a->c->remove) & MS_FLAGS_ALL;
	char name[PATH_LEN];
	struct stat st;
	/* nothing to change as far as we know: make sure we know (a client may
	 * have renamed it); a message in new/ stays there until it has a flag */
	if (want == now)
		return fstatat(sub_fd(b, m), m->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;
	name_with_flags(m, want, name, sizeof name);
	int err = rename_noreplace(sub_fd(b, m), m->name, b->cur_fd, name);
	if (err)
		return err;
	char *copy = strdup(name);
	if (!copy)
		return ENOMEM; /* renamed; the next refresh finds it under its new name */
	free(m->name);
	m->name = copy;
	m->in_cur = true;
	a->renamed = true;
	return 0;
}

static int unlink_op(md_box *b, md_msg *m, void *arg)
{
	(void)arg;
	return unlinkat(sub_fd(b, m), m->name, 0) < 0 ? errno : 0;
}

/* Do one write item on the message with UID uid. */
static ms_drv_result write_item(md_box *b, uint32_t uid, file_op *op, void *arg, const char *doing, ms_err *why)
{
	md_msg *m = msg_of(b, uid);
	if (!m)
		return msg_bad(b, NULL, uid, doing, ENOENT, why);
	int err = with_file(b, m, op, arg);
	if (err == ENOMEM) {
		ms_err_set(why, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	return err ? msg_bad(b, m, uid, doing, err, why) : MS_DRV_OK;
}

static ms_drv_result md_set_flags(ms_box *base, const ms_flag_change *ch, size_t n, ms_item_cb *cb, void *ctx,
                                  ms_err *e)
{
	md_box *b = (md_box *)base;
	if (base->side->read_only)
		return refuse_write(base->side, e);
	bool renamed = false;
	for (size_t i = 0; i < n; i++) {
		ms_err why = { 0 };
		flag_arg a = { .c = &ch[i] };
		ms_drv_result r = write_item(b, ch[i].uid, flag_op, &a, "rename", &why);
		if (r == MS_DRV_SIDE_BAD) {
			*e = why;
			return r;
		}
		renamed |= a.renamed;
		cb(ctx, i, r, ch[i].uid, NULL, r == MS_DRV_OK ? NULL : &why);
	}
	/* a lost flag change is a change the next run makes again: one fsync per batch */
	if (renamed)
		fsync(b->cur_fd);
	return MS_DRV_OK;
}

static ms_drv_result md_expunge(ms_box *base, const uint32_t *uids, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	md_box *b = (md_box *)base;
	if (base->side->read_only)
		return refuse_write(base->side, e);
	for (size_t i = 0; i < n; i++) {
		ms_err why = { 0 };
		ms_drv_result r = write_item(b, uids[i], unlink_op, NULL, "delete", &why);
		if (r == MS_DRV_SIDE_BAD) {
			*e = why;
			return r;
		}
		if (r == MS_DRV_OK) {
			md_msg *m = msg_of(b, uids[i]);
			free(m->name);
			m->name = NULL;
		}
		cb(ctx, i, r, uids[i], NULL, r == MS_DRV_OK ? NULL : &why);
	}
	if (n) {
		fsync(b->new_fd);
		fsync(b->cur_fd);
	}
	return MS_DRV_OK;
}

static const ms_skipped_entry *md_skipped(ms_side *s, ms_box *b, size_t *n)
{
	return b ? ms_maildir_box_anomalies(b, n) : ms_maildir_side_anomalies(s, n);
}

const ms_side_driver ms_drv_maildir = {
	.kind = "maildir",
	.open = md_open,
	.close = md_close,
	.list_boxes = md_list_boxes,
	.create_box = md_create_box,
	.delete_box = md_delete_box,
	.open_box = md_open_box,
	.close_box = md_close_box,
	.list_msgs = md_list_msgs,
	.fetch = md_fetch,
	.append = md_append,
	.set_flags = md_set_flags,
	.expunge = md_expunge,
	.skipped = md_skipped,
};
