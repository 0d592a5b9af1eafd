/* diff.c - two sides compared by identity (see diff.h for the rules).
 *
 * Each box is listed once per side (driver pages of 1000), its messages
 * identified as the engine identifies them, then both listings are sorted
 * by identity and walked together, so a box of n messages costs O(n log n)
 * and one fetch of each message that needs its bytes (no Message-ID, md5
 * mode, or a content comparison).
 */
#include "channel/diff.h"

#include <assert.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGE 1000
#define FETCH_BATCH 64

const char *ms_diff_kind_name(ms_diff_kind k)
{
	static const char *const names[] = { "box-missing", "missing", "duplicate", "flags", "content", "unreadable" };
	assert((unsigned)k <= MS_DIFF_UNREADABLE);
	return names[k];
}

/* ---- a box listed with identities ---------------------------------------------- */

void ms_idmsg_vec_free(ms_idmsg_vec *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->v[i].m.msgid);
		free(v->v[i].m.key);
		free(v->v[i].m.keywords);
		free(v->v[i].ident);
		free(v->v[i].digest);
		free(v->v[i].why);
	}
	ms_vec_free(v);
}

typedef struct fetch_ctx {
	ms_idmsg_vec *v;
	const size_t *idx;
	ms_ident_mode mode;
	bool want_digest;
	bool oom;
} fetch_ctx;

static void fetch_cb(void *ctx, size_t i, ms_drv_result res, const char *data, size_t len, const ms_err *why)
{
	fetch_ctx *f = ctx;
	ms_idmsg *m = &f->v->v[f->idx[i]];
	if (res != MS_DRV_OK) {
		free(m->why);
		m->why = g_strdup_printf("cannot be fetched: %s", why ? why->msg : "no reason given");
		return;
	}
	if (!m->ident)
		m->ident = f->mode == MS_IDENT_MD5 ? ms_ident_md5(data, len) : ms_ident_digest(data, len);
	if (f->want_digest)
		m->digest = ms_ident_digest(data, len);
	f->oom |= !m->ident || (f->want_digest && !m->digest);
}

/* Fetch the messages todo[0..n) and fill in what needs their bytes. */
static ms_drv_result fetch_all(ms_box *b, ms_idmsg_vec *v, const size_t *todo, size_t n, ms_ident_mode mode,
                               bool want_digest, ms_err *e)
{
	for (size_t off = 0; off < n; off += FETCH_BATCH) {
		size_t k = n - off < FETCH_BATCH ? n - off : FETCH_BATCH;
		uint32_t uids[FETCH_BATCH];
		for (size_t i = 0; i < k; i++)
			uids[i] = v->v[todo[off + i]].m.uid;
		fetch_ctx f = { .v = v, .idx = todo + off, .mode = mode, .want_digest = want_digest };
		ms_drv_result res = b->side->drv->fetch(b, uids, k, fetch_cb, &f, e);
		if (res != MS_DRV_OK)
			return res;
		if (f.oom) {
			ms_err_set(e, MS_E_NOMEM, "out of memory");
			return MS_DRV_SIDE_BAD;
		}
	}
	return MS_DRV_OK;
}

static ms_drv_result list_pages(ms_box *b, ms_idmsg_vec *out, ms_err *e)
{
	ms_list_req req = { .max = LIST_PAGE, .want = MS_WANT_MSGID };
	for (;;) {
		ms_msg *v = NULL;
		size_t n = 0;
		ms_drv_result res = b->side->drv->list_msgs(b, &req, &v, &n, e);
		if (res != MS_DRV_OK)
			return res;
		if (n == 0) {
			ms_msg_list_free(v, 0);
			return MS_DRV_OK;
		}
		if (ms_vec_reserve(out, out->n + n) < 0) {
			ms_msg_list_free(v, n);
			ms_err_set(e, MS_E_NOMEM, "out of memory");
			return MS_DRV_SIDE_BAD;
		}
		for (size_t i = 0; i < n; i++)
			out->v[out->n++] = (ms_idmsg){ .m = v[i] };
		req.after_uid = v[n - 1].uid;
		free(v);   /* the strings now belong to out */
	}
}

/* The entries the box's driver could not name as messages, as messages
 * that could not be read (no identity, `why` naming the entry): a store
 * that holds one is not "equal" to another that lacks it. */
static int add_skipped(ms_box *b, ms_idmsg_vec *out)
{
	size_t n = 0;
	const ms_skipped_entry *v = b->side->drv->skipped ? b->side->drv->skipped(b->side, b, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		ms_idmsg m = { .why = g_strdup_printf("%s: not a message this store can name (%s): not compared",
		                                      v[i].path, v[i].why) };
		if (ms_vec_push(out, m) < 0) {
			g_free(m.why);
			return -1;
		}
	}
	return 0;
}

ms_drv_result ms_diff_list_box(ms_side *s, const char *name, ms_ident_mode mode, bool want_digest,
                               bool with_skipped, ms_idmsg_vec *out, ms_err *e)
{
	ms_box *b = NULL;
	ms_drv_result res = s->drv->open_box(s, name, &b, e);
	if (res != MS_DRV_OK)
		return res;
	res = list_pages(b, out, e);
	size_t listed = out->n;
	if (res == MS_DRV_OK && with_skipped && add_skipped(b, out) < 0) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		res = MS_DRV_SIDE_BAD;
	}
	MS_VEC(size_t) todo = { 0 };
	bool oom = false;
	for (size_t i = 0; res == MS_DRV_OK && i < listed; i++) {
		ms_idmsg *m = &out->v[i];
		if (m->m.result != MS_DRV_OK) {
			m->why = strdup("listed, but cannot be read");
			continue;
		}
		if (mode == MS_IDENT_MSGID && m->m.msgid)
			m->ident = ms_ident_from_msgid(m->m.msgid);
		if (!m->ident || want_digest)
			oom |= ms_vec_push(&todo, i) < 0;
	}
	if (res == MS_DRV_OK && oom) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		res = MS_DRV_SIDE_BAD;
	}
	if (res == MS_DRV_OK)
		res = fetch_all(b, out, todo.v, todo.n, mode, want_digest, e);
	ms_vec_free(&todo);
	s->drv->close_box(b);
	return res;
}

/* ---- comparing ------------------------------------------------------------------ */

static int cmp_ident(const void *a, const void *b)
{
	const ms_idmsg *x = *(ms_idmsg *const *)a, *y = *(ms_idmsg *const *)b;
	int c = strcmp(x->ident, y->ident);
	return c ? c : x->m.uid < y->m.uid ? -1 : x->m.uid > y->m.uid;
}

/* The messages of v whose identity is known sorted by identity (then
 * UID); one whose bytes could not be fetched for the content comparison
 * is still there by identity (unreadable() reports it, compare_pair
 * compares no content without both digests). */
static ms_idmsg **by_ident(ms_idmsg_vec *v, size_t *n)
{
	ms_idmsg **p = malloc((v->n ? v->n : 1) * sizeof *p);
	*n = 0;
	for (size_t i = 0; p && i < v->n; i++)
		if (v->v[i].ident)
			p[(*n)++] = &v->v[i];
	if (p && *n)
		qsort(p, *n, sizeof *p, cmp_ident);
	return p;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two space-separated keyword lists hold the same set. */
static bool same_keywords(const char *a, const char *b)
{
	char **x = g_strsplit(a ? a : "", " ", -1), **y = g_strsplit(b ? b : "", " ", -1);
	size_t nx = 0, ny = 0;
	for (size_t i = 0; x[i]; i++)
		if (*x[i])
			x[nx++] = x[i];
		else
			g_free(x[i]);
	for (size_t i = 0; y[i]; i++)
		if (*y[i])
			y[ny++] = y[i];
		else
			g_free(y[i]);
	x[nx] = NULL, y[ny] = NULL;
	qsort(x, nx, sizeof *x, cmp_str);
	qsort(y, ny, sizeof *y, cmp_str);
	bool same = nx == ny;
	for (size_t i = 0; same && i < nx; i++)
		same = strcmp(x[i], y[i]) == 0;
	g_strfreev(x);
	g_strfreev(y);
	return same;
}

typedef struct cmp_ctx {
	ms_side *const *side;
	const ms_diff_opts *o;
	ms_diff_box *box;
	bool oom;
} cmp_ctx;

static ms_diff_item *add_item(cmp_ctx *c, ms_diff_kind k, int side, const char *ident)
{
	ms_diff_item it = { .kind = k, .side = side, .ident = ident ? strdup(ident) : NULL };
	if ((ident && !it.ident) || ms_vec_push(&c->box->items, it) < 0) {
		free(it.ident);
		c->oom = true;
		return NULL;
	}
	c->box->n[k][side < 0 ? 0 : side]++;
	return &c->box->items.v[c->box->items.n - 1];
}

/* Both sides have the identity: flags and content. */
static void compare_pair(cmp_ctx *c, const ms_idmsg *a, const ms_idmsg *b)
{
	unsigned caps = c->side[0]->caps & c->side[1]->caps;
	bool flags = (caps & MS_CAP_FLAGS) && (a->m.flags & MS_FLAGS_ALL) != (b->m.flags & MS_FLAGS_ALL);
	bool kw = (caps & MS_CAP_KEYWORDS) && !same_keywords(a->m.keywords, b->m.keywords);
	bool content = c->o->content && a->digest && b->digest && strcmp(a->digest, b->digest) != 0;
	if (flags || kw) {
		ms_diff_item *it = add_item(c, MS_DIFF_FLAGS, -1, a->ident);
		if (it) {
			it->uid[0] = a->m.uid, it->uid[1] = b->m.uid;
			it->flags[0] = a->m.flags & MS_FLAGS_ALL, it->flags[1] = b->m.flags & MS_FLAGS_ALL;
			it->keywords[0] = a->m.keywords ? strdup(a->m.keywords) : NULL;
			it->keywords[1] = b->m.keywords ? strdup(b->m.keywords) : NULL;
		}
	}
	if (content) {
		ms_diff_item *it = add_item(c, MS_DIFF_CONTENT, -1, a->ident);
		if (it)
			it->uid[0] = a->m.uid, it->uid[1] = b->m.uid;
	}
	if (!flags && !kw && !content)
		c->box->same++;
}

static void unreadable(cmp_ctx *c, int s, const ms_idmsg_vec *v)
{
	for (size_t i = 0; i < v->n; i++) {
		const ms_idmsg *m = &v->v[i];
		if (m->ident && !m->why)
			continue;
		ms_diff_item *it = add_item(c, MS_DIFF_UNREADABLE, s, m->ident);
		if (!it)
			return;
		it->uid[s] = m->m.uid;
		it->why = strdup(m->why ? m->why : "its identity is not known");
	}
}

/* Walk both sides' identity-sorted listings together. */
static void compare(cmp_ctx *c, ms_idmsg_vec v[2])
{
	size_t n[2];
	ms_idmsg **p[2] = { by_ident(&v[0], &n[0]), by_ident(&v[1], &n[1]) };
	if (!p[0] || !p[1]) {
		c->oom = true;
		goto out;
	}
	unreadable(c, 0, &v[0]);
	unreadable(c, 1, &v[1]);
	size_t i[2] = { 0, 0 };
	while (!c->oom && (i[0] < n[0] || i[1] < n[1])) {
		int d = i[0] == n[0] ? 1 : i[1] == n[1] ? -1 : strcmp(p[0][i[0]]->ident, p[1][i[1]]->ident);
		const ms_idmsg *first[2] = { d <= 0 ? p[0][i[0]] : NULL, d >= 0 ? p[1][i[1]] : NULL };
		const char *ident = first[0] ? first[0]->ident : first[1]->ident;
		for (int s = 0; s < 2; s++) {
			if (!first[s])
				continue;
			size_t copies = 0;
			while (i[s] < n[s] && strcmp(p[s][i[s]]->ident, ident) == 0)
				i[s]++, copies++;
			if (copies > 1) {
				ms_diff_item *it = add_item(c, MS_DIFF_DUPLICATE, s, ident);
				if (it)
					it->copies = copies, it->uid[s] = first[s]->m.uid;
			}
		}
		if (first[0] && first[1]) {
			compare_pair(c, first[0], first[1]);
		} else {
			int has = first[0] ? 0 : 1;
			ms_diff_item *it = add_item(c, MS_DIFF_MISSING, 1 - has, ident);
			if (it)
				it->uid[has] = first[has]->m.uid;
		}
	}
out:
	free(p[0]);
	free(p[1]);
}

/* ---- the run ---------------------------------------------------------------------- */

/* The selectable boxes of side s, as a set of names. */
static ms_drv_result box_set(ms_side *s, GHashTable **out, ms_err *e)
{
	ms_box_info *v = NULL;
	size_t n = 0;
	ms_drv_result res = s->drv->list_boxes(s, &v, &n, e);
	if (res != MS_DRV_OK)
		return res;
	*out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (size_t i = 0; i < n; i++)
		if (!(v[i].attrs & MS_BOX_NOSELECT))
			g_hash_table_add(*out, g_strdup(v[i].name));
	ms_box_list_free(v, n);
	return MS_DRV_OK;
}

/* One pair: -1 with e when a side failed as a whole. */
static int diff_pair(ms_side *const sides[2], const bool present[2], const ms_box_pairing *pg,
                     const ms_diff_opts *o, ms_diff_box *box, ms_err *e)
{
	ms_idmsg_vec v[2] = { { 0 }, { 0 } };
	cmp_ctx c = { .side = sides, .o = o, .box = box };
	int rc = 0;
	for (int s = 0; s < 2 && !box->error; s++) {
		box->present[s] = present[s];
		if (!box->present[s]) {
			add_item(&c, MS_DIFF_BOX_MISSING, s, NULL);
			continue;
		}
		ms_drv_result res = ms_diff_list_box(sides[s], pg->box[s], o->ident, o->content, true, &v[s], e);
		if (res == MS_DRV_SIDE_BAD)
			rc = -1;
		if (res != MS_DRV_OK)
			box->error = g_strdup_printf("%s", e->msg);
		box->count[s] = v[s].n;
	}
	if (!box->error)
		compare(&c, v);
	if (c.oom && rc == 0) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		rc = -1;
	}
	ms_idmsg_vec_free(&v[0]);
	ms_idmsg_vec_free(&v[1]);
	return rc;
}

int ms_diff_run(ms_side *const sides[2], const ms_box_pairing *pairs, const bool (*present)[2], size_t npairs,
                const ms_diff_opts *o, ms_diff_report *r, ms_err *e)
{
	assert(sides[0] && sides[1] && o);
	memset(r, 0, sizeof *r);
	GHashTable *names[2] = { NULL, NULL };
	int rc = 0;
	for (int s = 0; s < 2 && rc == 0 && !present; s++)
		if (box_set(sides[s], &names[s], e) != MS_DRV_OK)
			rc = -1;
	if (rc == 0 && ms_vec_reserve(&r->boxes, npairs ? npairs : 1) < 0) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < npairs; i++) {
		ms_diff_box *b = &r->boxes.v[r->boxes.n++];
		*b = (ms_diff_box){ .box = { strdup(pairs[i].box[0]), strdup(pairs[i].box[1]) } };
		bool here[2];
		for (int s = 0; s < 2; s++)
			here[s] = present ? present[i][s] : g_hash_table_contains(names[s], pairs[i].box[s]);
		rc = diff_pair(sides, here, &pairs[i], o, b, e);
		r->differences += b->items.n;
		r->failed += b->error != NULL;
	}
	for (int s = 0; s < 2; s++)
		if (names[s])
			g_hash_table_destroy(names[s]);
	return rc;
}

void ms_diff_report_free(ms_diff_report *r)
{
	for (size_t i = 0; i < r->boxes.n; i++) {
		ms_diff_box *b = &r->boxes.v[i];
		for (size_t k = 0; k < b->items.n; k++) {
			ms_diff_item *it = &b->items.v[k];
			free(it->ident);
			free(it->keywords[0]);
			free(it->keywords[1]);
			free(it->why);
		}
		ms_vec_free(&b->items);
		free(b->box[0]);
		free(b->box[1]);
		g_free(b->error);
	}
	ms_vec_free(&r->boxes);
	memset(r, 0, sizeof *r);
}
