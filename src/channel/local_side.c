/* local_side.c - a mailsync local store (local.h) as one side for the
 * channel engine.
 *
 * Its boxes are the store's mailboxes as ms_local_list_boxes finds them
 * (names relative to the store's base, '/' between levels).  Each box is
 * served by a side of its own format, opened when the box is first opened
 * and kept until the side closes:
 *   a Maildir   the Maildir driver rooted at the mailbox, layout maildir++,
 *               whose INBOX is the root itself (verbatim's INBOX would be
 *               ROOT/INBOX); its sub-folders (.Sub) are not this box's
 *   an mbox     the mbox driver on the file's directory with `inbox` set
 *               to the file, box INBOX
 * The boxes those drivers return are handed to the engine as they are
 * (box->side is the format's side); this side's box operations pass each
 * call on to box->side->drv.  The
 * two drivers have the same capabilities (neither has stable UIDs or
 * keywords), which this side reports.
 *
 * Creating a missing box makes an empty mbox file (and its parent
 * directories), as mailsync does: c-client's mail_create makes a local
 * mailbox in its default format, the "unix" mbox.  Deleting a box removes
 * an empty mbox file, or an empty Maildir's cur/ new/ tmp/ and directory.
 */
#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "channel/local.h"
#include "channel/local_side.h"

typedef struct sub {
	char *name;       /* the box */
	ms_side *side;    /* the format's side, serving box INBOX */
} sub;

typedef struct lside {
	ms_side base;
	const ms_chan_store *st;
	ms_local_list list;   /* the last listing */
	bool listed;
	sub *subs;
	size_t nsubs;
} lside;

static ms_drv_result nomem(ms_err *e)
{
	ms_err_set(e, MS_E_NOMEM, "out of memory");
	return MS_DRV_SIDE_BAD;
}

static void ls_close(ms_side *s)
{
	if (!s)
		return;
	lside *l = (lside *)s;
	for (size_t i = 0; i < l->nsubs; i++) {
		if (l->subs[i].side)
			l->subs[i].side->drv->close(l->subs[i].side);
		free(l->subs[i].name);
	}
	free(l->subs);
	ms_local_list_free(&l->list);
	free(l->base.name);
	free(l);
}

static ms_drv_result relist(lside *l, ms_err *e)
{
	ms_local_list_free(&l->list);
	l->listed = false;
	if (ms_local_list_boxes(l->st, &l->list, e) < 0)
		return MS_DRV_SIDE_BAD;
	l->listed = true;
	return MS_DRV_OK;
}

static ms_drv_result ls_list_boxes(ms_side *s, ms_box_info **out, size_t *n, ms_err *e)
{
	lside *l = (lside *)s;
	*out = NULL;
	*n = 0;
	ms_drv_result r = relist(l, e);
	if (r != MS_DRV_OK)
		return r;
	ms_box_info *v = calloc(l->list.nboxes ? l->list.nboxes : 1, sizeof *v);
	if (!v)
		return nomem(e);
	for (size_t i = 0; i < l->list.nboxes; i++)
		if (!(v[i].name = strdup(l->list.boxes[i].name))) {
			ms_box_list_free(v, i);
			return nomem(e);
		}
	*out = v;
	*n = l->list.nboxes;
	return MS_DRV_OK;
}

static const ms_local_box *find_box(const lside *l, const char *name)
{
	for (size_t i = 0; i < l->list.nboxes; i++)
		if (strcmp(l->list.boxes[i].name, name) == 0)
			return &l->list.boxes[i];
	return NULL;
}

/* The file system path of box `name`: relative to the store's base. */
static int box_path(const lside *l, const char *name, char *out, size_t len, ms_err *e)
{
	const char *base = l->st->path ? l->st->path : getenv("HOME");
	int n = name[0] == '/' ? snprintf(out, len, "%s", name) : snprintf(out, len, "%s/%s", base ? base : "", name);
	if (n < 0 || (size_t)n >= len)
		return ms_err_set(e, MS_E_USAGE, "store %s: box %s: path too long", l->st->name, name);
	return 0;
}

/* The side of the format of box `lb`, serving it as its INBOX. */
static ms_drv_result open_sub(lside *l, const ms_local_box *lb, ms_side **out, ms_err *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(lb->path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (slash == lb->path ? 1 : (int)(slash - lb->path)) : 1,
	         slash ? lb->path : ".");
	ms_side_opt md[] = { { "path", lb->path }, { "layout", "maildir++" } };
	ms_side_opt mb[] = { { "path", dir }, { "inbox", lb->path } };
	bool is_md = lb->format == MS_LOCAL_MAILDIR;
	ms_side_conf conf = { l->st->name, is_md ? md : mb, 2, l->base.read_only };
	const ms_side_driver *d = is_md ? &ms_drv_maildir : &ms_drv_mbox;
	ms_drv_result r = d->open(&conf, out, e);
	return r == MS_DRV_OK ? r : MS_DRV_BOX_BAD; /* one mailbox's trouble is not the store's */
}

static ms_drv_result ls_open_box(ms_side *s, const char *name, ms_box **out, ms_err *e)
{
	lside *l = (lside *)s;
	*out = NULL;
	for (size_t i = 0; i < l->nsubs; i++)
		if (strcmp(l->subs[i].name, name) == 0)
			return l->subs[i].side->drv->open_box(l->subs[i].side, "INBOX", out, e);
	const ms_local_box *lb = l->listed ? find_box(l, name) : NULL;
	if (!lb) {
		ms_drv_result r = relist(l, e);
		if (r != MS_DRV_OK)
			return r;
		if (!(lb = find_box(l, name))) {
			ms_err_set(e, MS_E_NOTFOUND, "store %s: no mailbox %s (neither an mbox file nor a Maildir)",
			           l->st->name, name);
			return MS_DRV_BOX_BAD;
		}
	}
	sub *v = realloc(l->subs, (l->nsubs + 1) * sizeof *v);
	if (!v)
		return nomem(e);
	l->subs = v;
	sub *sb = &l->subs[l->nsubs];
	if (!(sb->name = strdup(name)))
		return nomem(e);
	ms_drv_result r = open_sub(l, lb, &sb->side, e);
	if (r != MS_DRV_OK) {
		free(sb->name);
		return r;
	}
	l->nsubs++;
	return sb->side->drv->open_box(sb->side, "INBOX", out, e);
}

/* mkdir -p for the directories above `path`. */
static int make_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0700);
		int err = errno;
		*p = '/';
		if (rc < 0 && err != EEXIST) {
			errno = err;
			return -1;
		}
	}
	return 0;
}

static ms_drv_result ls_create_box(ms_side *s, const char *name, ms_err *e)
{
	lside *l = (lside *)s;
	if (s->read_only) {
		ms_err_set(e, MS_E_USAGE, "store %s was opened read-only: nothing may be written", s->name);
		return MS_DRV_SIDE_BAD;
	}
	char path[PATH_MAX];
	if (box_path(l, name, path, sizeof path, e) < 0)
		return MS_DRV_BOX_BAD;
	ms_local_format f;
	if (ms_local_detect(path, &f, e) < 0)
		return MS_DRV_BOX_BAD;
	if (f == MS_LOCAL_MAILDIR || f == MS_LOCAL_MBOX)
		return MS_DRV_OK;
	if (f != MS_LOCAL_NONE || strcasecmp(name, "INBOX") == 0) {
		ms_err_set(e, MS_E_USAGE, "store %s: cannot create mailbox %s at %s: %s", s->name, name, path,
		           f == MS_LOCAL_NONE ? "INBOX is the system's" : "something else is there");
		return MS_DRV_BOX_BAD;
	}
	int fd = -1;
	if (make_parents(path) < 0 || (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    fsync(fd) < 0) {
		ms_err_set(e, MS_E_IO, "store %s: cannot create the mbox file %s: %s", s->name, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return MS_DRV_BOX_BAD;
	}
	close(fd);
	return relist(l, e) == MS_DRV_OK ? MS_DRV_OK : MS_DRV_BOX_BAD;
}

static ms_drv_result ls_delete_box(ms_side *s, const char *name, ms_err *e)
{
	lside *l = (lside *)s;
	if (s->read_only) {
		ms_err_set(e, MS_E_USAGE, "store %s was opened read-only: nothing may be written", s->name);
		return MS_DRV_SIDE_BAD;
	}
	const ms_local_box *lb = l->listed ? find_box(l, name) : NULL;
	if (!lb || strcasecmp(name, "INBOX") == 0) {
		ms_err_set(e, MS_E_USAGE, "store %s: mailbox %s %s", s->name, name,
		           lb ? "is INBOX: never deleted" : "does not exist");
		return MS_DRV_BOX_BAD;
	}
	for (size_t i = 0; i < l->nsubs; i++)
		if (strcmp(l->subs[i].name, name) == 0) {
			/* its side served it; closed now so nothing holds the file */
			l->subs[i].side->drv->close(l->subs[i].side);
			free(l->subs[i].name);
			l->subs[i] = l->subs[--l->nsubs];
			break;
		}
	ms_side *sd = NULL;
	ms_drv_result r = open_sub(l, lb, &sd, e);
	if (r != MS_DRV_OK)
		return r;
	ms_box *b = NULL;
	r = sd->drv->open_box(sd, "INBOX", &b, e);
	bool empty = r == MS_DRV_OK && b->status.count == 0;
	if (b)
		sd->drv->close_box(b);
	sd->drv->close(sd);
	if (r != MS_DRV_OK)
		return r;
	if (!empty) {
		ms_err_set(e, MS_E_USAGE, "store %s: mailbox %s is not empty", s->name, name);
		return MS_DRV_BOX_BAD;
	}
	char p[PATH_MAX + 8];
	bool ok = true;
	if (lb->format == MS_LOCAL_MBOX) {
		ok = unlink(lb->path) == 0;
	} else {
		static const char *const parts[] = { "tmp", "new", "cur" };
		for (size_t k = 0; k < 3 && ok; k++) {
			snprintf(p, sizeof p, "%s/%s", lb->path, parts[k]);
			ok = rmdir(p) == 0 || errno == ENOENT;
		}
		ok = ok && rmdir(lb->path) == 0;
	}
	if (!ok) {
		ms_err_set(e, MS_E_IO, "store %s: cannot delete mailbox %s (%s): %s", s->name, name, lb->path,
		           strerror(errno));
		return MS_DRV_BOX_BAD;
	}
	return relist(l, e) == MS_DRV_OK ? MS_DRV_OK : MS_DRV_BOX_BAD;
}

/* Box operations: the box belongs to the format's side (box->side), whose
 * driver does the work, whichever table the caller went through. */
static void ls_close_box(ms_box *b)
{
	if (b)
		b->side->drv->close_box(b);
}

static ms_drv_result ls_list_msgs(ms_box *b, const ms_list_req *req, ms_msg **out, size_t *n, ms_err *e)
{
	return b->side->drv->list_msgs(b, req, out, n, e);
}

static ms_drv_result ls_fetch(ms_box *b, const uint32_t *uids, size_t n, ms_fetch_cb *cb, void *ctx, ms_err *e)
{
	return b->side->drv->fetch(b, uids, n, cb, ctx, e);
}

static ms_drv_result ls_append(ms_box *b, const ms_append *m, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	return b->side->drv->append(b, m, n, cb, ctx, e);
}

static ms_drv_result ls_set_flags(ms_box *b, const ms_flag_change *ch, size_t n, ms_item_cb *cb, void *ctx,
                                  ms_err *e)
{
	return b->side->drv->set_flags(b, ch, n, cb, ctx, e);
}

static ms_drv_result ls_expunge(ms_box *b, const uint32_t *uids, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	return b->side->drv->expunge(b, uids, n, cb, ctx, e);
}

/* A box is served by its format's side, which knows what it skipped. */
static const ms_skipped_entry *ls_skipped(ms_side *s, ms_box *b, size_t *n)
{
	(void)s;
	*n = 0;
	return b && b->side->drv->skipped ? b->side->drv->skipped(b->side, b, n) : NULL;
}

static const ms_side_driver local_drv = {
	.kind = "local",
	.close = ls_close,
	.list_boxes = ls_list_boxes,
	.create_box = ls_create_box,
	.delete_box = ls_delete_box,
	.open_box = ls_open_box,
	.close_box = ls_close_box,
	.list_msgs = ls_list_msgs,
	.fetch = ls_fetch,
	.append = ls_append,
	.set_flags = ls_set_flags,
	.expunge = ls_expunge,
	.skipped = ls_skipped,
};

int ms_local_side_open(const ms_chan_store *st, bool read_only, ms_side **out, ms_err *e)
{
	*out = NULL;
	lside *l = calloc(1, sizeof *l);
	if (!l || !(l->base.name = strdup(st->name))) {
		free(l);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	l->base.drv = &local_drv;
	l->base.read_only = read_only;
	l->base.delim = '/';
	/* what the Maildir and the mbox drivers both have */
	l->base.caps = MS_CAP_FLAGS | MS_CAP_INTERNAL_DATE | MS_CAP_CREATE_BOX | MS_CAP_DELETE_BOX | MS_CAP_APPEND_UID;
	l->st = st;
	if (relist(l, e) != MS_DRV_OK) {
		ls_close(&l->base);
		return -1;
	}
	*out = &l->base;
	return 0;
}
