/* deliver_box.c - `mstore deliver --mbox FILE | --maildir DIR`: a whole
 * mailbox read through the channel's drivers, page by page, each page one
 * batch; and the messagefrom of a message whose From needs GMime.  The
 * full binary's part of deliver (deliver_internal.h). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/deliver_internal.h"
#include "drivers/driver.h"
#include "drivers/drv_mbox.h"
#include "message/header.h"
#include "store/browse.h"
#include "util/escape.h"

#define BATCH 500

/* ---- a mailbox -------------------------------------------------------------------- */

typedef struct fetch_ctx {
	dl_item *items;
	const ms_msg *msgs;
	const ms_box *box;
	bool mbox;
	char **keys;                /* the source keys by request index; taken by fetched() */
	int64_t flags;
	size_t n;
	dl_run *r;
} fetch_ctx;

static int64_t hm_flags(unsigned f)
{
	return ((f & MS_FLAG_SEEN) ? MS_MSGFLAG_SEEN : 0) | ((f & MS_FLAG_ANSWERED) ? MS_MSGFLAG_ANSWERED : 0) |
	       ((f & MS_FLAG_FLAGGED) ? MS_MSGFLAG_FLAGGED : 0) | ((f & MS_FLAG_DELETED) ? MS_MSGFLAG_DELETED : 0) |
	       ((f & MS_FLAG_DRAFT) ? MS_MSGFLAG_DRAFT : 0);
}

/* FNV-1a, 64 bits: a message's fingerprint in its key (not a defence
 * against a crafted collision, which needs write access to the source). */
static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t k = 0; k < n; k++)
		h = (h ^ (unsigned char)p[k]) * 1099511628211ull;
	return h;
}

/* An mbox message's key is its From offset, its length and its bytes'
 * fingerprint: the offset alone named whatever stood there, so a rerun on
 * an mbox rewritten in place (same device and inode) skipped its new
 * messages as "delivered before".  false: delivered before (skipped). */
static bool mbox_key(fetch_ctx *x, size_t i, const char *data, size_t len)
{
	char buf[96];
	snprintf(buf, sizeof buf, "%s:%zu:%016llx", x->keys[i] ? x->keys[i] : "-", len,
	         (unsigned long long)fnv1a(data, len));
	if (ms_deliver_seen(x->r->dv, buf)) {
		x->r->skipped++;
		return false;
	}
	char *k = strdup(buf);
	if (k) {
		free(x->keys[i]);
		x->keys[i] = k;
	}
	return true;
}

static void fetched(void *c, size_t i, ms_drv_result res, const char *data, size_t len, const ms_err *why)
{
	fetch_ctx *x = c;
	dl_item *it = &x->items[x->n];
	if (res != MS_DRV_OK) {
		fprintf(stderr, "mstore deliver: %s: cannot read a message of the source: %s\n", x->r->shown, why->msg);
		x->r->failed++;
		return;
	}
	char *copy = malloc(len ? len : 1);
	if (!copy) {
		x->r->failed++;
		return;
	}
	memcpy(copy, data, len);
	if (x->mbox && !mbox_key(x, i, data, len)) {
		free(copy);
		return;
	}
	it->data = copy;
	it->key = x->keys[i];
	x->keys[i] = NULL;
	dl_fill_item(it, copy, len, hm_flags(x->msgs[i].flags) | x->flags, x->msgs[i].internal_date, NULL);
	x->n++;
}

/* The source key of a listed message: a Maildir message's unique name;
 * an mbox message's From offset, completed by mbox_key once read. */
static char *msg_key(const ms_box *b, const ms_msg *m, bool mbox)
{
	if (!mbox)
		return m->key ? strdup(m->key) : NULL;
	uint64_t off = 0;
	char buf[32];
	if (!ms_mbox_msg_offset(b, m->uid, &off))
		return NULL;
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)off);
	return strdup(buf);
}

/* Fetch and deliver one page of listed messages. */
static void deliver_page(dl_run *r, ms_box *b, const ms_msg *msgs, size_t n, bool mbox)
{
	uint32_t *uids = calloc(n, sizeof *uids);
	dl_item *items = calloc(n, sizeof *items);
	char **keys = calloc(n, sizeof *keys);
	ms_msg *todo = calloc(n, sizeof *todo);
	size_t k = 0;
	for (size_t i = 0; uids && items && keys && todo && i < n; i++) {
		char *key = msg_key(b, &msgs[i], mbox);
		if (!mbox && ms_deliver_seen(r->dv, key)) { /* an mbox message's key needs its bytes: mbox_key */
			r->skipped++;
			free(key);
			continue;
		}
		keys[k] = key;
		todo[k] = msgs[i];
		uids[k++] = msgs[i].uid;
	}
	fetch_ctx x = { .items = items, .msgs = todo, .box = b, .mbox = mbox, .keys = keys, .flags = r->o->flags, .r = r };
	ms_err e = { 0 };
	if (k && b->side->drv->fetch(b, uids, k, fetched, &x, &e) != MS_DRV_OK) {
		fprintf(stderr, "mstore deliver: %s: cannot read the source: %s\n", r->shown, e.msg);
		r->failed++;
		r->stop = true;
	}
	if (!r->stop && x.n)
		dl_run_batch(r, items, x.n);
	dl_free_items(items, x.n);
	for (size_t j = 0; keys && j < k; j++)
		free(keys[j]);
	free(uids), free(items), free(keys), free(todo);
}

/* The source's identity ("mbox:DEV:INO") for its journal, or EXIT_USAGE
 * with the cause when it is not there or not the kind asked for. */
static int check_source(const dl_opts *o, char *ident, size_t len)
{
	const char *path = o->mbox ? o->mbox : o->maildir;
	struct stat st;
	int err = stat(path, &st) < 0 ? errno : 0;
	if (err || (o->mbox ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "mstore deliver: ");
		ms_escape_put(stderr, path);
		fprintf(stderr, ": %s\n", err ? strerror(err) : o->mbox ? "not a file (--mbox reads an mbox file)"
		                                                        : "not a directory (--maildir reads a Maildir)");
		return EXIT_USAGE;
	}
	snprintf(ident, len, "%s:%llu:%llu", o->mbox ? "mbox" : "maildir", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	return EXIT_OK;
}

static int open_source(const dl_opts *o, ms_side **side, ms_box **box, char *ident, size_t len)
{
	const char *path = o->mbox ? o->mbox : o->maildir;
	if (check_source(o, ident, len) != EXIT_OK)
		return EXIT_USAGE;
	char a[4200], b[4200];
	snprintf(a, sizeof a, "%s", path);
	snprintf(b, sizeof b, "%s", path);
	ms_side_opt opts[2] = { { "path", o->mbox ? dirname(a) : path }, { "inbox", basename(b) } };
	ms_side_conf conf = { .name = path, .opts = opts, .nopts = o->mbox ? 2 : 1, .read_only = true };
	ms_err e = { 0 };
	const ms_side_driver *drv = o->mbox ? &ms_drv_mbox : &ms_drv_maildir;
	if (drv->open(&conf, side, &e) != MS_DRV_OK || drv->open_box(*side, "INBOX", box, &e) != MS_DRV_OK) {
		fprintf(stderr, "mstore deliver: cannot read ");
		ms_escape_put(stderr, path);
		fprintf(stderr, ": %s\n", e.msg);
		if (*side)
			drv->close(*side);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* BATCH, or MSTORE_DELIVER_BATCH (the crash test makes batches small so
 * that its kills fall between them as well as inside them). */
static size_t batch_size(void)
{
	const char *v = getenv("MSTORE_DELIVER_BATCH");
	long n = v ? strtol(v, NULL, 10) : 0;
	return n > 0 && n <= 100000 ? (size_t)n : BATCH;
}

/* What the source's driver could not read as a message (a Maildir entry
 * with a control character or a second info suffix, a symlink, a
 * directory): each is named and counted failed, never left out unsaid. */
static void source_skipped(dl_run *r, ms_side *side, ms_box *box)
{
	size_t n = 0;
	const ms_skipped_entry *v = side->drv->skipped ? side->drv->skipped(side, box, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "mstore deliver: %s: not delivered: ", r->shown);
		ms_escape_put(stderr, v[i].path);
		fprintf(stderr, ": %s\n", v[i].why);
		r->failed++;
	}
}

static int deliver_box(dl_run *r, const ms_deliver_target *t)
{
	ms_side *side = NULL;
	ms_box *box = NULL;
	char ident[100];
	int rc = open_source(r->o, &side, &box, ident, sizeof ident);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	if (ms_deliver_open(r->s, t, ident, &r->dv, &e) < 0) {
		side->drv->close_box(box);
		side->drv->close(side);
		return dl_open_failed(r, &e);
	}
	bool mbox = r->o->mbox != NULL;
	for (uint32_t after = 0; !r->stop;) {
		ms_msg *msgs = NULL;
		size_t n = 0;
		ms_list_req req = { .after_uid = after, .max = batch_size() };
		if (side->drv->list_msgs(box, &req, &msgs, &n, &e) != MS_DRV_OK) {
			fprintf(stderr, "mstore deliver: cannot list %s: %s\n", r->o->mbox ? r->o->mbox : r->o->maildir, e.msg);
			r->failed++;
			break;
		}
		if (n == 0) {
			ms_msg_list_free(msgs, 0); /* the last, empty page may still be an allocation */
			break;
		}
		after = msgs[n - 1].uid;
		deliver_page(r, box, msgs, n, mbox);
		ms_msg_list_free(msgs, n);
	}
	source_skipped(r, side, box);
	side->drv->close_box(box);
	side->drv->close(side);
	return EXIT_OK;
}

static void gmime_from(const char *data, size_t len, char *out, size_t size)
{
	ms_headers h;
	ms_err ignored = { 0 };
	out[0] = '\0';
	if (ms_headers_parse(data, len, &h, &ignored) == 0) {
		ms_hms_first_address(h.first_from, out, size, &ignored);
		ms_headers_free(&h);
	}
}

static int check_box(const dl_opts *o)
{
	char ident[100];
	return check_source(o, ident, sizeof ident);
}

const dl_full cli_deliver_full_ops = { .check_box = check_box, .deliver_box = deliver_box, .from = gmime_from };
