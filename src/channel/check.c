/* check.c - `mstore check`'s findings for one box (check.h). */
#include "channel/check.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/ident.h"
#include "drivers/drv_maildir.h"
#include "drivers/drv_mbox.h"
#include "message/header.h"
#include "util/vec.h"

#define FETCH_BATCH 64
#define LIST_PAGE 1000
#define NAME_LEN 4200

static const char *const kind_names[MS_CHECK_NKINDS] = {
	[MS_CHECK_UNREADABLE] = "unreadable",
	[MS_CHECK_UNPARSABLE] = "unparsable",
	[MS_CHECK_DUPLICATE] = "duplicate",
	[MS_CHECK_NO_MSGID] = "no-message-id",
	[MS_CHECK_MAILDIR_NAME] = "maildir-name",
	[MS_CHECK_MBOX_SPLIT] = "mbox-split",
	[MS_CHECK_MBOX_TRUNCATED] = "mbox-truncated",
};

const char *ms_check_kind_name(ms_check_kind k)
{
	assert(k < MS_CHECK_NKINDS);
	return kind_names[k];
}

bool ms_check_kind_is_defect(ms_check_kind k)
{
	return k != MS_CHECK_NO_MSGID;
}

void ms_check_msg_name(const ms_check_finding *f, char *out, size_t len)
{
	if (f->file)
		snprintf(out, len, "%s", f->file);
	else if (f->has_offset)
		snprintf(out, len, "offset %" PRIu64, f->offset);
	else if (f->uid)
		snprintf(out, len, "UID %" PRIu32, f->uid);
	else
		snprintf(out, len, "-");
}

/* ---- one box ----------------------------------------------------------------- */

/* A message of the box as the check sees it. */
typedef struct cmsg {
	uint32_t uid;
	char *ident;      /* the Message-ID's identity, NULL without one */
	char *digest;     /* of its bytes; NULL when it was not fetched */
	bool bad;         /* unreadable or unparsable: reported, left out of the rest */
	bool mbox_odd;    /* an mbox anomaly names it already */
} cmsg;

typedef struct run {
	ms_side *s;       /* its operations (a local store's side passes them on) */
	ms_box *b;        /* b->side: the format's side, which tells how to name a message */
	const char *folder;
	ms_check_cb *cb;
	void *ctx;
	ms_check_stats *st;
	MS_VEC(cmsg) msgs;
} run;

/* The finding's message fields for message `uid` (0: none) of the box. */
static void locate(const run *r, uint32_t uid, ms_check_finding *f, char *file, size_t len)
{
	const ms_side_driver *drv = r->b ? r->b->side->drv : NULL;
	f->uid = uid;
	if (uid && drv == &ms_drv_maildir && ms_maildir_msg_file(r->b, uid, file, len))
		f->file = file;
	if (uid && drv == &ms_drv_mbox)
		f->has_offset = ms_mbox_msg_offset(r->b, uid, &f->offset);
}

static void report(run *r, ms_check_kind k, uint32_t uid, const char *cause)
{
	char file[NAME_LEN];
	ms_check_finding f = { .kind = k, .folder = r->folder, .cause = cause };
	locate(r, uid, &f, file, sizeof file);
	r->st->by_kind[k]++;
	r->cb(r->ctx, &f);
}

/* A finding about a path the driver skipped (not a listed message). */
static void report_path(run *r, ms_check_kind k, const char *path, const char *cause)
{
	ms_check_finding f = { .kind = k, .folder = r->folder, .file = path, .cause = cause };
	r->st->by_kind[k]++;
	r->cb(r->ctx, &f);
}

static cmsg *find_msg(run *r, uint32_t uid)
{
	size_t lo = 0, hi = r->msgs.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->msgs.v[mid].uid == uid)
			return &r->msgs.v[mid];
		if (r->msgs.v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_anomaly(const void *pa, const void *pb)
{
	const ms_skipped_entry *a = *(const ms_skipped_entry *const *)pa, *b = *(const ms_skipped_entry *const *)pb;
	return strcmp(a->path, b->path);
}

/* The driver's anomalies in the order of their paths (it keeps them in
 * directory order, which differs from one file system to the next). */
static void report_anomalies(run *r, const ms_skipped_entry *a, size_t n)
{
	const ms_skipped_entry **sorted = malloc((n ? n : 1) * sizeof *sorted);
	if (!sorted) {
		report(r, MS_CHECK_UNREADABLE, 0, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		sorted[i] = &a[i];
	qsort(sorted, n, sizeof *sorted, cmp_anomaly);
	for (size_t i = 0; i < n; i++)
		report_path(r, MS_CHECK_MAILDIR_NAME, sorted[i]->path, sorted[i]->why);
	free(sorted);
}

static void maildir_anomalies(run *r)
{
	size_t n = 0;
	const ms_skipped_entry *a = ms_maildir_box_anomalies(r->b, &n);
	report_anomalies(r, a, n);
}

/* Before listing: the messages found here are marked once listed. */
static ms_mbox_anomaly *mbox_anomalies(run *r, size_t *n)
{
	ms_err e = { 0 };
	ms_mbox_anomaly *a = NULL;
	*n = 0;
	if (ms_mbox_box_anomalies(r->b, &a, n, &e) != MS_DRV_OK) {
		report(r, MS_CHECK_UNREADABLE, 0, e.msg);
		return NULL;
	}
	for (size_t i = 0; i < *n; i++)
		report(r, a[i].cut_short ? MS_CHECK_MBOX_TRUNCATED : MS_CHECK_MBOX_SPLIT, a[i].uid, a[i].why);
	return a;
}

/* Every message of the box into r->msgs (UID order, as listed).  False
 * when the listing failed (reported). */
static bool list_all(run *r)
{
	ms_err e = { 0 };
	ms_list_req req = { .max = LIST_PAGE, .want = MS_WANT_MSGID };
	for (;;) {
		ms_msg *page = NULL;
		size_t n = 0;
		if (r->s->drv->list_msgs(r->b, &req, &page, &n, &e) != MS_DRV_OK) {
			report(r, MS_CHECK_UNREADABLE, 0, e.msg);
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			cmsg m = { .uid = page[i].uid, .bad = page[i].result != MS_DRV_OK };
			if (page[i].msgid && !(m.ident = ms_ident_from_msgid(page[i].msgid)))
				m.bad = true; /* out of memory: leave it out rather than call it identity-less */
			if (ms_vec_push(&r->msgs, m) < 0) {
				free(m.ident);
				ms_msg_list_free(page, n);
				report(r, MS_CHECK_UNREADABLE, 0, "out of memory");
				return false;
			}
			if (page[i].result != MS_DRV_OK)
				report(r, MS_CHECK_UNREADABLE, m.uid, "listed, but it cannot be read");
		}
		if (n)
			req.after_uid = page[n - 1].uid;
		ms_msg_list_free(page, n);
		if (n == 0)
			return true;
		r->st->messages += n;
	}
}

/* Why a message's header cannot be read, or NULL. */
static const char *unparsable(const char *data, size_t len)
{
	ms_headers h;
	ms_err e = { 0 };
	if (ms_headers_parse(data, len, &h, &e) < 0)
		return "out of memory while reading its header";
	unsigned fl = h.flags;
	ms_headers_free(&h);
	if (fl & MS_HDR_EMPTY)
		return "0 bytes";
	if (fl & MS_HDR_NO_FIELDS)
		return "no header field at all: not a message";
	if (fl & MS_HDR_BINARY)
		return "NUL bytes in its header";
	if (fl & MS_HDR_TRUNCATED)
		return "its header goes on beyond 4 MiB";
	return NULL;
}

typedef struct fetch_ctx {
	run *r;
	const uint32_t *uids;
} fetch_ctx;

static void on_fetch(void *ctx, size_t i, ms_drv_result res, const char *data, size_t len, const ms_err *why)
{
	fetch_ctx *fc = ctx;
	cmsg *m = find_msg(fc->r, fc->uids[i]);
	assert(m);
	if (res != MS_DRV_OK) {
		m->bad = true;
		report(fc->r, MS_CHECK_UNREADABLE, m->uid, why ? why->msg : "cannot be fetched");
		return;
	}
	const char *cause = unparsable(data, len);
	if (cause && !m->mbox_odd)
		report(fc->r, MS_CHECK_UNPARSABLE, m->uid, cause);
	m->bad = cause != NULL;
	m->digest = ms_ident_digest(data, len);
}

/* Fetch every readable message: parse it, digest it.  A batch that fails
 * as a whole ends the box's fetching (reported). */
static void fetch_all(run *r)
{
	uint32_t uids[FETCH_BATCH];
	for (size_t i = 0; i < r->msgs.n;) {
		size_t k = 0;
		for (; i < r->msgs.n && k < FETCH_BATCH; i++)
			if (!r->msgs.v[i].bad)
				uids[k++] = r->msgs.v[i].uid;
		if (k == 0)
			continue;
		ms_err e = { 0 };
		fetch_ctx fc = { r, uids };
		if (r->s->drv->fetch(r->b, uids, k, on_fetch, &fc, &e) != MS_DRV_OK) {
			report(r, MS_CHECK_UNREADABLE, 0, e.msg);
			return;
		}
	}
}

/* The identity duplicates are found by: the Message-ID's, else the bytes'. */
static const char *dup_key(const cmsg *m)
{
	return m->ident ? m->ident : m->digest;
}

static int cmp_key(const void *pa, const void *pb, void *ctx)
{
	const cmsg *v = ctx, *a = &v[*(const size_t *)pa], *b = &v[*(const size_t *)pb];
	int c = strcmp(dup_key(a), dup_key(b));
	return c ? c : (a->uid > b->uid) - (a->uid < b->uid);
}

static void report_duplicate(run *r, const cmsg *first, const cmsg *m)
{
	char file[NAME_LEN], name[NAME_LEN], cause[NAME_LEN + 64];
	ms_check_finding f = { 0 };
	locate(r, first->uid, &f, file, sizeof file);
	ms_check_msg_name(&f, name, sizeof name);
	if (!m->ident)
		snprintf(cause, sizeof cause, "the same content as %s (no Message-ID)", name);
	else if (!m->digest || !first->digest)
		snprintf(cause, sizeof cause, "the same Message-ID as %s", name);
	else
		snprintf(cause, sizeof cause, "the same Message-ID as %s, %s content", name,
		         strcmp(m->digest, first->digest) == 0 ? "the same" : "a different");
	report(r, MS_CHECK_DUPLICATE, m->uid, cause);
}

/* A duplicate found: message `dup` has the identity of message `first`
 * (indexes into r->msgs). */
typedef struct dup_pair {
	size_t first, dup;
} dup_pair;

static int cmp_pair(const void *pa, const void *pb)
{
	const dup_pair *a = pa, *b = pb;
	return (a->dup > b->dup) - (a->dup < b->dup);
}

/* Each message after the first (lowest UID) of an identity is a
 * duplicate; reported in UID order. */
static void duplicates(run *r)
{
	size_t *idx = malloc((r->msgs.n ? r->msgs.n : 1) * sizeof *idx), k = 0;
	dup_pair *pairs = malloc((r->msgs.n ? r->msgs.n : 1) * sizeof *pairs);
	size_t np = 0;
	if (!idx || !pairs) {
		free(idx);
		free(pairs);
		report(r, MS_CHECK_UNREADABLE, 0, "out of memory while looking for duplicates");
		return;
	}
	for (size_t i = 0; i < r->msgs.n; i++)
		if (!r->msgs.v[i].bad && dup_key(&r->msgs.v[i]))
			idx[k++] = i;
	qsort_r(idx, k, sizeof *idx, cmp_key, r->msgs.v);
	for (size_t i = 1, first = 0; i < k; i++) {
		if (strcmp(dup_key(&r->msgs.v[idx[first]]), dup_key(&r->msgs.v[idx[i]])) != 0)
			first = i;
		else
			pairs[np++] = (dup_pair){ idx[first], idx[i] };
	}
	/* r->msgs is in UID order: so are the pairs sorted by index */
	qsort(pairs, np, sizeof *pairs, cmp_pair);
	for (size_t i = 0; i < np; i++)
		report_duplicate(r, &r->msgs.v[pairs[i].first], &r->msgs.v[pairs[i].dup]);
	free(pairs);
	free(idx);
}

static void notes(run *r)
{
	for (size_t i = 0; i < r->msgs.n; i++)
		if (!r->msgs.v[i].bad && !r->msgs.v[i].ident)
			report(r, MS_CHECK_NO_MSGID, r->msgs.v[i].uid, "no Message-ID");
}

static void check_open_box(run *r)
{
	size_t nodd = 0;
	ms_mbox_anomaly *odd = NULL;
	if (r->b->side->drv == &ms_drv_maildir)
		maildir_anomalies(r);
	if (r->b->side->drv == &ms_drv_mbox)
		odd = mbox_anomalies(r, &nodd);
	if (list_all(r)) {
		for (size_t i = 0; i < nodd; i++) {
			cmsg *m = find_msg(r, odd[i].uid);
			if (m)
				m->mbox_odd = true;
		}
		fetch_all(r);
		notes(r);
		duplicates(r);
	}
	free(odd);
}

void ms_check_box(ms_side *s, const char *name, const char *shown, ms_check_cb *cb, void *ctx,
                  ms_check_stats *st)
{
	run r = { .s = s, .folder = shown ? shown : name, .cb = cb, .ctx = ctx, .st = st };
	ms_err e = { 0 };
	if (s->drv->open_box(s, name, &r.b, &e) != MS_DRV_OK) {
		r.b = NULL;
		report(&r, MS_CHECK_UNREADABLE, 0, e.msg);
		return;
	}
	st->folders++;
	check_open_box(&r);
	for (size_t i = 0; i < r.msgs.n; i++) {
		free(r.msgs.v[i].ident);
		free(r.msgs.v[i].digest);
	}
	ms_vec_free(&r.msgs);
	s->drv->close_box(r.b);
}

void ms_check_side_anomalies(ms_side *s, ms_check_cb *cb, void *ctx, ms_check_stats *st)
{
	run r = { .s = s, .cb = cb, .ctx = ctx, .st = st };
	size_t n = 0;
	if (s->drv == &ms_drv_maildir) {
		const ms_skipped_entry *a = ms_maildir_side_anomalies(s, &n);
		report_anomalies(&r, a, n);
	} else if (s->drv == &ms_drv_mbox) {
		const ms_skipped_entry *a = ms_mbox_side_skipped(s, &n);
		for (size_t i = 0; i < n; i++)
			report_path(&r, MS_CHECK_UNREADABLE, a[i].path, a[i].why);
	}
}
