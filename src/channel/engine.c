/* engine.c - the channel engine (see engine.h for the rules).
 *
 * A run has two phases.  Plan: every pair is listed and decided, nothing
 * is written; pairs with nothing to do have their state refreshed there
 * (keys learnt, vanished records forgotten) and are done; the others keep
 * their listing and plan (boxes closed: an IMAP side has one selected at a
 * time).  The brake looks at the plan as a whole.  Execute: each pair with
 * work opens its boxes again; the plan stands when both sides have stable
 * UIDs and their boxes' UIDVALIDITY, UIDNEXT, count and mod-sequence are
 * as listed, otherwise the pair is listed and decided again (UIDs of a
 * side without stable UIDs are valid only while its box is open).  Then
 * copies, flag changes and deletions, each in batches; the state is saved
 * after the pair.
 */
#include "channel/engine.h"
#include "channel/quarantine.h"

#include "util/escape.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LIST_PAGE 1000
#define FETCH_BATCH 64
#define BATCH_BYTES (32u << 20)

/* ---- a listed box ------------------------------------------------------------- */

typedef struct lmsg {
	ms_msg m;                  /* owned: msgid, key, keywords */
	char *ident;               /* NULL: could not be read */
	char *skey;                /* the state's key for it, or NULL */
	bool dup;                  /* a second copy of an identity: left alone */
} lmsg;

typedef struct blist {
	bool present;              /* the box exists on the side */
	bool was_present;          /* ... when it was planned */
	ms_box_status status;      /* as of the listing the plan used */
	bool created;              /* created by this run (execute phase) */
	MS_VEC(lmsg) v;
	GHashTable *by_ident;      /* ident -> index + 1 of the paired copy */
	size_t unreadable;         /* messages whose identity is not known */
	ms_box *box;
} blist;

typedef enum act_kind { ACT_KEEP, ACT_COPY, ACT_EXPUNGE, ACT_PEND, ACT_FORGET, ACT_NONE } act_kind;

typedef struct act {
	act_kind k;
	int side;                  /* COPY: from; EXPUNGE, PEND: where the message is */
	char *ident;               /* owned */
	lmsg *m[2];
	unsigned flags;            /* KEEP: merged flags */
	char *kw;                  /* KEEP: merged keywords (owned) */
	bool change[2];            /* KEEP: side i needs a flag change */
	bool done;                 /* carried out (COPY, EXPUNGE) */
	ms_skip *skip;
} act;

typedef struct plan {
	MS_VEC(act) acts;
	size_t copies[2], expunges[2], changes[2], pend;
} plan;

typedef struct run {
	ms_side *const *side;
	const ms_engine_opts *o;
	ms_state *st;
	ms_channel_report *cr;
	bool side_bad[2];
	unsigned qserial;
	bool dirty;
	GHashTable *names[2];      /* box name -> attributes | 0x80000000, as listed at the start */
	size_t npairs;
} run;

typedef struct pctx {
	run *r;
	const ms_box_pairing *pairing;
	ms_state_pair *sp;
	ms_pair_report *rep;
	blist l[2];
	plan p;
	size_t index;              /* the pair's place in the run, for progress */
	size_t done, total;        /* progress: messages handled of those planned */
} pctx;

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A name as it may appear in a line of a report (util/escape.h). */
typedef struct esc_name {
	char s[1024];
} esc_name;

static esc_name esc(const char *name)
{
	esc_name n;
	ms_escape(n.s, sizeof n.s, name ? name : "");
	return n;
}

static unsigned caps(const run *r, int s)
{
	return r->side[s]->caps;
}

static void add_skip(ms_pair_report *rep, int side, uint32_t uid, const char *ident, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add_skip(ms_pair_report *rep, int side, uint32_t uid, const char *ident, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	ms_skip s = { .side = side, .uid = uid, .ident = xstrdup(ident), .why = strdup(why) };
	g_free(why);
	if (ms_vec_push(&rep->skipped, s) < 0) {
		free(s.ident);
		free(s.why);
	}
}

/* Forget the listing; the box stays open. */
/* A note for the report (opts.notes); out of memory loses the note only,
 * never the count. */
static void note(pctx *c, ms_note_kind k, int side, uint32_t uid, const char *ident)
{
	if (!c->r->o->notes)
		return;
	ms_msg_note n = { .kind = k, .side = side, .uid = uid, .ident = xstrdup(ident) };
	if (!n.ident || ms_vec_push(&c->rep->notes, n) < 0)
		free(n.ident);
}

static void notes_drop(ms_pair_report *p, ms_note_kind k)
{
	size_t j = 0;
	for (size_t i = 0; i < p->notes.n; i++)
		if (p->notes.v[i].kind == k)
			free(p->notes.v[i].ident);
		else
			p->notes.v[j++] = p->notes.v[i];
	p->notes.n = j;
}

static void blist_reset(blist *l)
{
	for (size_t i = 0; i < l->v.n; i++) {
		lmsg *m = &l->v.v[i];
		free(m->ident);
		free(m->skey);
		free(m->m.msgid);
		free(m->m.key);
		free(m->m.keywords);
	}
	ms_vec_free(&l->v);
	if (l->by_ident)
		g_hash_table_destroy(l->by_ident);
	l->by_ident = NULL;
	l->unreadable = 0;
}

static void blist_free(blist *l)
{
	blist_reset(l);
	if (l->box)
		l->box->side->drv->close_box(l->box);
	l->box = NULL;
}

static void plan_free(plan *p)
{
	for (size_t i = 0; i < p->acts.n; i++) {
		free(p->acts.v[i].ident);
		free(p->acts.v[i].kw);
	}
	ms_vec_free(&p->acts);
	*p = (plan){ 0 };
}

static void pctx_clear(pctx *c)
{
	plan_free(&c->p);
	blist_free(&c->l[0]);
	blist_free(&c->l[1]);
}

/* ---- driver results ----------------------------------------------------------- */

/* Record a failure of scope BOX or SIDE; returns the result. */
static ms_drv_result failed(pctx *c, int s, ms_drv_result res, const ms_err *e)
{
	if (res == MS_DRV_SIDE_BAD) {
		c->r->side_bad[s] = true;
		if (!c->r->cr->side_error[s])
			c->r->cr->side_error[s] = strdup(e->msg);
	}
	if (res >= MS_DRV_BOX_BAD && !c->rep->error)
		c->rep->error = strdup(e->msg);
	return res;
}

/* ---- listing ------------------------------------------------------------------ */

static char *state_key(const ms_side *s, const ms_box *b, const ms_msg *m)
{
	if (m->key)
		return strdup(m->key);
	if (s->caps & MS_CAP_UID_STABLE)
		return g_strdup_printf("uid:%u:%u", b->status.uidvalidity, m->uid);
	return NULL;
}

/* key -> identity for side s of the pair, from the state. */
static GHashTable *key_map(ms_state_pair *sp, int s)
{
	GHashTable *h = g_hash_table_new(g_str_hash, g_str_equal);
	for (size_t i = 0; sp && i < sp->msgs.n; i++) {
		ms_state_msg *m = &sp->msgs.v[i];
		if (m->status && m->key[s])
			g_hash_table_insert(h, m->key[s], m->ident);
	}
	return h;
}

typedef struct digest_ctx {
	blist *l;
	const size_t *idx;
	ms_ident_mode mode;
} digest_ctx;

static void digest_cb(void *ctx, size_t i, ms_drv_result res, const char *data, size_t len, const ms_err *why)
{
	(void)why;
	digest_ctx *d = ctx;
	lmsg *m = &d->l->v.v[d->idx[i]];
	if (res != MS_DRV_OK)
		return;
	m->ident = ms_ident_of_message(d->mode, data, len);
}

/* Fetch the messages whose identity needs their bytes: those without a
 * Message-ID, and those the listing did not read (see list_side). */
static ms_drv_result digest_all(pctx *c, int s, const size_t *todo, size_t n, ms_err *e)
{
	blist *l = &c->l[s];
	for (size_t off = 0; off < n; off += FETCH_BATCH) {
		size_t k = n - off < FETCH_BATCH ? n - off : FETCH_BATCH;
		uint32_t uids[FETCH_BATCH];
		for (size_t i = 0; i < k; i++)
			uids[i] = l->v.v[todo[off + i]].m.uid;
		digest_ctx d = { .l = l, .idx = todo + off, .mode = c->r->o->ident };
		ms_drv_result res = l->box->side->drv->fetch(l->box, uids, k, digest_cb, &d, e);
		if (res != MS_DRV_OK)
			return res;
	}
	return MS_DRV_OK;
}

/* Identities from Message-IDs and the state's keys; the rest digested. */
static ms_drv_result identify(pctx *c, int s, ms_err *e)
{
	blist *l = &c->l[s];
	GHashTable *keys = key_map(c->sp, s);
	MS_VEC(size_t) todo = { 0 };
	int oom = 0;
	for (size_t i = 0; i < l->v.n; i++) {
		lmsg *m = &l->v.v[i];
		if (c->r->o->ident == MS_IDENT_MSGID && m->m.msgid && m->m.result == MS_DRV_OK)
			m->ident = ms_ident_from_msgid(m->m.msgid);
		if (!m->ident && m->skey && g_hash_table_lookup(keys, m->skey))
			m->ident = strdup(g_hash_table_lookup(keys, m->skey));
		if (!m->ident && m->m.result == MS_DRV_OK)
			oom |= ms_vec_push(&todo, i);
	}
	g_hash_table_destroy(keys);
	ms_drv_result res = oom ? MS_DRV_SIDE_BAD : digest_all(c, s, todo.v, todo.n, e);
	if (oom)
		ms_err_set(e, MS_E_NOMEM, "out of memory");
	ms_vec_free(&todo);
	return res;
}

/* Index by identity; extra copies are duplicates (the one the state
 * names, else the first, is paired). */
static void index_side(pctx *c, int s)
{
	blist *l = &c->l[s];
	l->by_ident = g_hash_table_new(g_str_hash, g_str_equal);
	for (size_t i = 0; i < l->v.n; i++) {
		lmsg *m = &l->v.v[i];
		if (!m->ident) {
			l->unreadable++;
			/* by its key on that side too (a Maildir file's name, an hMailServer
			 * file's GUID name), which names it where the uid does not */
			add_skip(c->rep, s, m->m.uid, NULL, "cannot be read on %s%s%s%s: its identity is not known",
			         esc(c->r->side[s]->name).s, m->skey ? " (" : "", m->skey ? esc(m->skey).s : "",
			         m->skey ? ")" : "");
			continue;
		}
		size_t j = GPOINTER_TO_SIZE(g_hash_table_lookup(l->by_ident, m->ident));
		if (!j) {
			g_hash_table_insert(l->by_ident, m->ident, GSIZE_TO_POINTER(i + 1));
			continue;
		}
		c->rep->duplicates[s]++;
		ms_state_msg *rec = c->sp ? ms_state_find(c->sp, m->ident) : NULL;
		lmsg *first = &l->v.v[j - 1];
		bool prefer_new = rec && rec->key[s] && m->skey && strcmp(rec->key[s], m->skey) == 0 &&
		                  !(first->skey && strcmp(rec->key[s], first->skey) == 0);
		if (prefer_new) {
			first->dup = true;
			g_hash_table_insert(l->by_ident, m->ident, GSIZE_TO_POINTER(i + 1));
		} else {
			m->dup = true;
		}
	}
}

/* What the listing of side s reads.  When the state knows the side's
 * messages by key (a Maildir's file names, stable UIDs), nothing: a known
 * key's identity is the state's (a Maildir message is never rewritten
 * under its name, a UID never reused), and identify fetches only the
 * messages it does not know, so a resync reads what is new, not every
 * message's header (a no-op resync of 10,000 Maildir messages opened all
 * 20,000 files).  Without keys (an mbox, a first run) the driver reads
 * every Message-ID as it lists. */
static unsigned listing_wants(const pctx *c, int s)
{
	for (size_t i = 0; c->sp && i < c->sp->msgs.n; i++)
		if (c->sp->msgs.v[i].status && c->sp->msgs.v[i].key[s])
			return 0;
	return MS_WANT_MSGID;
}

/* ---- listing from the state (CONDSTORE) ----------------------------------------- */

static int by_uid(const void *x, const void *y)
{
	uint32_t a = ((const lmsg *)x)->m.uid, b = ((const lmsg *)y)->m.uid;
	return a < b ? -1 : a > b;
}

/* The state's record as side s's message: the flags and keywords the last
 * run left on it (that run ended with side and state alike, see
 * remember_modseq).  false when the record cannot stand for one: flags not
 * known, a key that is not this UIDVALIDITY's UID. */
static bool record_as_msg(const ms_state_msg *rec, int s, uint32_t uidvalidity, lmsg *out)
{
	unsigned v, uid;
	int end = 0;
	if (rec->flags == MS_STATE_FLAGS_UNKNOWN || sscanf(rec->key[s], "uid:%u:%u%n", &v, &uid, &end) != 2 ||
	    rec->key[s][end] || v != uidvalidity || uid == 0)
		return false;
	*out = (lmsg){ .m = { .uid = uid, .flags = rec->flags, .keywords = xstrdup(rec->keywords) },
	               .skey = strdup(rec->key[s]) };
	return out->skey && (!rec->keywords || out->m.keywords);
}

/* The records of the messages the state puts on side s ('=' and pending
 * here); false when one cannot stand for its message. */
static bool list_records(pctx *c, int s)
{
	blist *l = &c->l[s];
	for (size_t i = 0; i < c->sp->msgs.n; i++) {
		const ms_state_msg *rec = &c->sp->msgs.v[i];
		if (rec->status != '=' && rec->status != 'A' + s)
			continue;
		lmsg m;
		if (!rec->key[s] || !record_as_msg(rec, s, l->status.uidvalidity, &m))
			return false;
		if (ms_vec_push(&l->v, m) < 0) {
			free(m.skey), free(m.m.keywords);
			return false;
		}
	}
	if (l->v.n > 1)
		qsort(l->v.v, l->v.n, sizeof *l->v.v, by_uid);
	return true;
}

/* Lay what changed since `since` over the records: a changed message
 * replaces its record, a new one is added. */
static ms_drv_result overlay_changes(pctx *c, int s, uint64_t since, ms_err *e)
{
	blist *l = &c->l[s];
	size_t known = l->v.n;
	ms_list_req req = { .max = LIST_PAGE, .changed_since = since };
	for (;;) {
		ms_msg *v;
		size_t n;
		ms_drv_result res = l->box->side->drv->list_msgs(l->box, &req, &v, &n, e);
		if (res != MS_DRV_OK)
			return res;
		if (ms_vec_reserve(&l->v, l->v.n + n) < 0) {
			ms_msg_list_free(v, n);
			return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
		}
		for (size_t i = 0; i < n; i++) {
			lmsg key = { .m = { .uid = v[i].uid } };
			lmsg *old = known ? bsearch(&key, l->v.v, known, sizeof *l->v.v, by_uid) : NULL;
			if (old) {
				free(old->m.keywords), free(old->m.msgid), free(old->m.key);
				old->m = v[i];
			} else {
				l->v.v[l->v.n++] = (lmsg){ .m = v[i], .skey = state_key(l->box->side, l->box, &v[i]) };
			}
		}
		if (n)
			req.after_uid = v[n - 1].uid;
		free(v);   /* the strings now belong to l->v */
		if (n == 0)
			return MS_DRV_OK;
	}
}

/* A box with mod-sequences whose state the last run left exactly like it
 * (sp->modseq[s]) is listed from the state: its records, overlaid with
 * what changed since (UID FETCH ... (CHANGEDSINCE m)), nothing fetched at
 * all when HIGHESTMODSEQ has not moved, so a no-op resync of the box
 * costs its SELECT.  An expunge or a message the state never held shows
 * as a count that differs from the server's: then *used is false and the
 * box is listed in full (a VANISHED list would need QRESYNC on the
 * driver interface). */
static ms_drv_result list_from_state(pctx *c, int s, bool *used, ms_err *e)
{
	blist *l = &c->l[s];
	const ms_state_pair *sp = c->sp;
	*used = false;
	if (!(caps(c->r, s) & MS_CAP_MODSEQ) || !(caps(c->r, s) & MS_CAP_UID_STABLE) || !sp || !sp->modseq[s] ||
	    sp->uidvalidity[s] != l->status.uidvalidity || l->status.highest_modseq < sp->modseq[s])
		return MS_DRV_OK;
	ms_drv_result res = MS_DRV_OK;
	bool ok = list_records(c, s);
	if (ok && l->status.highest_modseq != sp->modseq[s])
		res = overlay_changes(c, s, sp->modseq[s], e);
	*used = ok && res == MS_DRV_OK && l->v.n == l->status.count;
	if (*used && l->v.n > 1)
		qsort(l->v.v, l->v.n, sizeof *l->v.v, by_uid);
	if (!*used)
		blist_reset(l);
	return res;
}

/* "PATH: why" of one entry a driver skipped, the path as it is on disk
 * (any byte but NUL: the report escapes it, as every name). */
static char *skipped_line(const ms_skipped_entry *k)
{
	return g_strdup_printf("%s: %s", k->path, k->why);
}

/* Entries of the box its driver could not name as messages (a Maildir
 * file with a control character or another info suffix, ...): each one is
 * a skip of the pair, so the run says it left them (mstore check lists
 * them too). */
static void box_skipped(pctx *c, int s)
{
	ms_side *side = c->r->side[s];
	size_t n = 0;
	const ms_skipped_entry *v = side->drv->skipped ? side->drv->skipped(side, c->l[s].box, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		char *g = skipped_line(&v[i]);
		add_skip(c->rep, s, 0, NULL, "%s (not a message this store can name: left as it is)", g);
		g_free(g);
	}
}

static ms_drv_result list_side(pctx *c, int s, ms_err *e)
{
	blist *l = &c->l[s];
	ms_side *side = c->r->side[s];
	if (!l->present) {
		l->by_ident = g_hash_table_new(g_str_hash, g_str_equal);
		return MS_DRV_OK;
	}
	/* the plan opens the box here; execute (reopen) has opened it already */
	bool planning = !l->box;
	ms_drv_result res = l->box ? MS_DRV_OK : side->drv->open_box(side, c->pairing->box[s], &l->box, e);
	if (res != MS_DRV_OK)
		return res;
	l->status = l->box->status;
	bool from_state;
	res = list_from_state(c, s, &from_state, e);
	if (res != MS_DRV_OK)
		return res;
	ms_list_req req = { .max = LIST_PAGE, .want = listing_wants(c, s) };
	/* a side without stable UIDs is listed again before its plan is
	   carried out (reopen): the plan needs no size or date from it */
	if (planning && !(side->caps & MS_CAP_UID_STABLE))
		req.want |= MS_WANT_NO_STAT;
	while (!from_state) {
		ms_msg *v;
		size_t n;
		res = side->drv->list_msgs(l->box, &req, &v, &n, e);
		if (res != MS_DRV_OK)
			return res;
		if (n == 0) {
			ms_msg_list_free(v, 0);   /* an empty page is still an allocation */
			break;
		}
		if (ms_vec_reserve(&l->v, l->v.n + n) < 0) {
			ms_msg_list_free(v, n);
			ms_err_set(e, MS_E_NOMEM, "out of memory");
			return MS_DRV_SIDE_BAD;
		}
		for (size_t i = 0; i < n; i++)
			l->v.v[l->v.n++] = (lmsg){ .m = v[i], .skey = state_key(side, l->box, &v[i]) };
		req.after_uid = v[n - 1].uid;
		free(v);   /* the strings now belong to l->v */
	}
	box_skipped(c, s);
	res = identify(c, s, e);
	if (res == MS_DRV_OK)
		index_side(c, s);
	return res;
}

/* ---- deciding ----------------------------------------------------------------- */

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static gint cmp_strp_g(gconstpointer a, gconstpointer b)
{
	return cmp_strp(a, b);
}

/* Keywords as a sorted set: a NULL-terminated array of strings. */
static char **kw_split(const char *kw)
{
	char **v = g_strsplit(kw ? kw : "", " ", -1);
	size_t n = 0;
	for (size_t i = 0; v[i]; i++)
		if (*v[i])
			v[n++] = v[i];
		else
			g_free(v[i]);
	v[n] = NULL;
	qsort(v, n, sizeof *v, cmp_strp);
	return v;
}

static bool kw_has(char **v, const char *w)
{
	for (size_t i = 0; v[i]; i++)
		if (strcmp(v[i], w) == 0)
			return true;
	return false;
}

/* The same per-flag rule as for system flags, on keyword sets. */
static char *kw_merge(const char *base, const char *a, const char *b, bool base_known)
{
	char **vb = kw_split(base), **va = kw_split(a), **vc = kw_split(b);
	GPtrArray *out = g_ptr_array_new();
	char **all[3] = { va, vc, vb };
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; all[k][i]; i++) {
			const char *w = all[k][i];
			bool in_base = base_known && kw_has(vb, w), in_a = kw_has(va, w), in_b = kw_has(vc, w);
			bool keep = in_base ? in_a && in_b : in_a || in_b;
			bool seen = false;
			for (size_t j = 0; j < out->len; j++)
				seen |= strcmp(out->pdata[j], w) == 0;
			if (keep && !seen)
				g_ptr_array_add(out, (gpointer)w);
		}
	g_ptr_array_sort(out, cmp_strp_g);
	GString *g = g_string_new(NULL);
	for (size_t j = 0; j < out->len; j++)
		g_string_append_printf(g, "%s%s", j ? " " : "", (char *)out->pdata[j]);
	g_ptr_array_free(out, TRUE);
	char *r = g->len ? strdup(g->str) : NULL;
	g_string_free(g, TRUE);
	g_strfreev(va);
	g_strfreev(vb);
	g_strfreev(vc);
	return r;
}

/* Words of `x` not in `y`, space-separated, or NULL. */
static char *kw_minus(const char *x, const char *y)
{
	char **vx = kw_split(x), **vy = kw_split(y);
	GString *g = g_string_new(NULL);
	for (size_t i = 0; vx[i]; i++)
		if (!kw_has(vy, vx[i]))
			g_string_append_printf(g, "%s%s", g->len ? " " : "", vx[i]);
	char *r = g->len ? strdup(g->str) : NULL;
	g_string_free(g, TRUE);
	g_strfreev(vx);
	g_strfreev(vy);
	return r;
}

static bool kw_equal(const char *a, const char *b)
{
	char *x = kw_minus(a, b), *y = kw_minus(b, a);
	bool eq = !x && !y;
	free(x);
	free(y);
	return eq;
}

/* Both sides have the message: the merged flags and what changes. */
static void merge(pctx *c, act *a, const ms_state_msg *rec)
{
	const run *r = c->r;
	bool known = rec && rec->flags != MS_STATE_FLAGS_UNKNOWN;
	unsigned base = known ? rec->flags : 0;
	unsigned f[2];
	const char *kw[2];
	for (int s = 0; s < 2; s++) {
		/* a side that keeps no flags changed none */
		f[s] = caps(r, s) & MS_CAP_FLAGS ? a->m[s]->m.flags & MS_FLAGS_ALL : base;
		kw[s] = caps(r, s) & MS_CAP_KEYWORDS ? a->m[s]->m.keywords : (known ? rec->keywords : NULL);
	}
	if (!(caps(r, 0) & MS_CAP_FLAGS) && !known)
		f[0] = f[1];
	if (!(caps(r, 1) & MS_CAP_FLAGS) && !known)
		f[1] = f[0];
	if (!(caps(r, 0) & MS_CAP_KEYWORDS) && !known)
		kw[0] = kw[1];
	if (!(caps(r, 1) & MS_CAP_KEYWORDS) && !known)
		kw[1] = kw[0];
	a->flags = known ? (base & f[0] & f[1]) | (~base & (f[0] | f[1])) : f[0] | f[1];
	a->kw = kw_merge(known ? rec->keywords : NULL, kw[0], kw[1], known);
	for (int s = 0; s < 2; s++) {
		bool fl = caps(r, s) & MS_CAP_FLAGS && f[s] != a->flags;
		bool kwc = caps(r, s) & MS_CAP_KEYWORDS && !kw_equal(kw[s], a->kw);
		a->change[s] = fl || kwc;
		c->p.changes[s] += a->change[s];
	}
}

static bool copyable(pctx *c, int from, lmsg *m)
{
	const ms_engine_opts *o = c->r->o;
	if (o->size_limit && m->m.size > o->size_limit) {
		add_skip(c->rep, from, m->m.uid, m->ident, "too big: %llu bytes, the size limit is %llu",
		         (unsigned long long)m->m.size, (unsigned long long)o->size_limit);
		return false;
	}
	if ((m->m.flags & MS_FLAG_DELETED) && !o->copy_deleted) {
		add_skip(c->rep, from, m->m.uid, m->ident, "flagged \\Deleted (copied only with -cd)");
		return false;
	}
	return true;
}

/* One side has it, the other not: copy, delete, keep pending. */
static int one_side(pctx *c, act *a, int s, const ms_state_msg *rec)
{
	int other = 1 - s;
	char st = rec ? rec->status : 0;
	bool deleted_there = st == '=' || st == s + 'A';   /* it was on both, or pending here */
	if (!deleted_there) {
		if (!copyable(c, s, a->m[s]))
			return 1;      /* not planned */
		a->k = ACT_COPY;
		a->side = s;
		c->p.copies[other]++;
		return 0;
	}
	a->side = s;
	if (c->r->o->no_delete) {
		a->k = ACT_PEND;
		c->p.pend++;
		c->rep->pending[s]++;
		note(c, MS_NOTE_PENDING, s, a->m[s]->m.uid, a->ident);
		return 0;
	}
	if (c->l[other].unreadable) {
		add_skip(c->rep, s, a->m[s]->m.uid, a->ident,
		         "not deleted: %zu message(s) of the other side's box cannot be read, it may be one of them",
		         c->l[other].unreadable);
		return 1;
	}
	a->k = ACT_EXPUNGE;
	c->p.expunges[s]++;
	return 0;
}

static int decide_one(pctx *c, const char *ident)
{
	act a = { .ident = strdup(ident) };
	if (!a.ident)
		return -1;
	for (int s = 0; s < 2; s++) {
		size_t j = GPOINTER_TO_SIZE(g_hash_table_lookup(c->l[s].by_ident, ident));
		a.m[s] = j ? &c->l[s].v.v[j - 1] : NULL;
	}
	ms_state_msg *rec = c->sp ? ms_state_find(c->sp, ident) : NULL;
	int skip = 0;
	if (a.m[0] && a.m[1]) {
		a.k = ACT_KEEP;
		c->rep->kept++;
		merge(c, &a, rec && rec->status == '=' ? rec : NULL);
	} else if (a.m[0] || a.m[1]) {
		skip = one_side(c, &a, a.m[0] ? 0 : 1, rec);
	} else {
		a.k = ACT_FORGET;
	}
	if (skip || ms_vec_push(&c->p.acts, a) < 0) {
		free(a.ident);
		free(a.kw);
		return skip ? 0 : -1;
	}
	return 0;
}

static int decide(pctx *c)
{
	int rc = 0;
	GHashTableIter it;
	gpointer k;
	for (int s = 0; s < 2 && rc == 0; s++) {
		g_hash_table_iter_init(&it, c->l[s].by_ident);
		while (rc == 0 && g_hash_table_iter_next(&it, &k, NULL))
			if (s == 0 || !g_hash_table_contains(c->l[0].by_ident, k))
				rc = decide_one(c, k);
	}
	for (size_t i = 0; c->sp && rc == 0 && i < c->sp->msgs.n; i++) {
		const char *id = c->sp->msgs.v[i].ident;
		if (c->sp->msgs.v[i].status && !g_hash_table_contains(c->l[0].by_ident, id) &&
		    !g_hash_table_contains(c->l[1].by_ident, id))
			rc = decide_one(c, id);
	}
	return rc;
}

static bool has_work(const pctx *c)
{
	const plan *p = &c->p;
	return p->copies[0] || p->copies[1] || p->expunges[0] || p->expunges[1] || p->changes[0] || p->changes[1] ||
	       !c->l[0].present || !c->l[1].present;
}

/* ---- state updates ------------------------------------------------------------ */

static void record(pctx *c, const char *ident, const char *ka, const char *kb, unsigned flags, const char *kw,
                   char status)
{
	if (!c->sp)
		c->sp = ms_state_pair_get(c->r->st, c->pairing->box[0], c->pairing->box[1], true);
	if (c->sp && ms_state_put(c->sp, ident, ka, kb, flags, kw, status))
		c->r->dirty = true;
}

static void forget(pctx *c, const char *ident)
{
	if (c->sp && ms_state_find(c->sp, ident)) {
		ms_state_forget(c->sp, ident);
		c->r->dirty = true;
	}
}

/* The state after a KEEP (flags changed where `ok`), PEND, FORGET. */
static void settle(pctx *c, act *a, const bool ok[2])
{
	ms_state_msg *rec = c->sp ? ms_state_find(c->sp, a->ident) : NULL;
	const char *k0 = a->m[0] ? a->m[0]->skey : NULL, *k1 = a->m[1] ? a->m[1]->skey : NULL;
	switch (a->k) {
	case ACT_KEEP:
		if (ok[0] && ok[1]) {
			if (rec && rec->status == '=' && rec->flags == a->flags && kw_equal(rec->keywords, a->kw) &&
			    g_strcmp0(rec->key[0], k0) == 0 && g_strcmp0(rec->key[1], k1) == 0)
				return;    /* nothing new */
			record(c, a->ident, k0, k1, a->flags, a->kw, '=');
		} else {
			/* keep the old base, so the next run decides the same */
			unsigned base = rec && rec->status == '=' ? rec->flags : MS_STATE_FLAGS_UNKNOWN;
			char *kw = rec ? xstrdup(rec->keywords) : NULL;
			record(c, a->ident, k0, k1, base, kw, '=');
			free(kw);
		}
		break;
	case ACT_PEND:
		if (rec && rec->status == a->side + 'A')
			return;
		record(c, a->ident, k0, k1, rec ? rec->flags : MS_STATE_FLAGS_UNKNOWN, rec ? rec->keywords : NULL,
		       (char)('A' + a->side));
		break;
	case ACT_FORGET:
		forget(c, a->ident);
		break;
	default:
		break;
	}
}

/* ---- copying ------------------------------------------------------------------ */

/* The bytes with line ends as the target keeps them (CRLF or LF). */
static char *convert_eol(const char *d, size_t n, bool crlf, size_t *out_len)
{
	char *o = malloc(crlf ? 2 * n + 1 : n + 1);
	size_t k = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (crlf && d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			o[k++] = '\r';
		if (!crlf && d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')
			continue;
		o[k++] = d[i];
	}
	*out_len = k;
	return o;
}

typedef struct copy_batch {
	pctx *c;
	int from;
	act **acts;
	ms_append *app;
	char **bytes;
	size_t n;
	size_t *map;               /* append item -> batch item */
} copy_batch;

static void copy_fetch_cb(void *ctx, size_t i, ms_drv_result res, const char *data, size_t len, const ms_err *why)
{
	copy_batch *b = ctx;
	act *a = b->acts[i];
	int to = 1 - b->from;
	if (res != MS_DRV_OK) {
		add_skip(b->c->rep, b->from, a->m[b->from]->m.uid, a->ident, "not copied: %s", why ? why->msg : "cannot fetch");
		return;
	}
	size_t n;
	b->bytes[i] = convert_eol(data, len, b->c->r->side[to]->caps & MS_CAP_CRLF, &n);
	if (!b->bytes[i]) {
		add_skip(b->c->rep, b->from, a->m[b->from]->m.uid, a->ident, "not copied: out of memory");
		return;
	}
	const ms_msg *m = &a->m[b->from]->m;
	unsigned fc = b->c->r->side[b->from]->caps;
	b->app[i] = (ms_append){ .data = b->bytes[i], .len = b->bytes[i] ? n : 0, .flags = fc & MS_CAP_FLAGS ? m->flags & MS_FLAGS_ALL : 0,
	                         .keywords = fc & MS_CAP_KEYWORDS ? m->keywords : NULL,
	                         .internal_date = fc & MS_CAP_INTERNAL_DATE ? m->internal_date : 0 };
}

static void copy_append_cb(void *ctx, size_t i, ms_drv_result res, uint32_t uid, const char *key, const ms_err *why)
{
	copy_batch *b = ctx;
	act *a = b->acts[b->map[i]];
	const ms_append *ap = &b->app[b->map[i]];
	int to = 1 - b->from;
	if (res != MS_DRV_OK) {
		add_skip(b->c->rep, b->from, a->m[b->from]->m.uid, a->ident, "not copied to %s: %s",
		         esc(b->c->r->side[to]->name).s, why ? why->msg : "refused");
		return;
	}
	a->done = true;
	b->c->rep->copied[to]++;
	note(b->c, MS_NOTE_COPIED, to, a->m[b->from]->m.uid, a->ident);
	const char *keys[2];
	keys[b->from] = a->m[b->from]->skey;
	/* the key the next run lists it under (a Maildir's unique name, or
	   the new UID: UIDPLUS's APPENDUID), so that run need not fetch the
	   message to learn who it is; without one it is learnt by identity */
	char *kto = key ? g_strdup(key)
	          : uid && (b->c->r->side[to]->caps & MS_CAP_UID_STABLE) && (b->c->r->side[to]->caps & MS_CAP_APPEND_UID)
	                ? g_strdup_printf("uid:%u:%u", b->c->l[to].box->status.uidvalidity, uid)
	                : NULL;
	keys[to] = kto;
	record(b->c, a->ident, keys[0], keys[1], ap->flags, ap->keywords, '=');
	g_free(kto);
}

/* Copy acts[0..n) (all from `from`): fetch, then append what was fetched. */
static ms_drv_result copy_batch_run(pctx *c, int from, act **acts, size_t n, ms_err *e)
{
	int to = 1 - from;
	copy_batch b = { .c = c, .from = from, .acts = acts, .n = n };
	b.app = calloc(n, sizeof *b.app);
	b.bytes = calloc(n, sizeof *b.bytes);
	b.map = calloc(n, sizeof *b.map);
	uint32_t *uids = calloc(n, sizeof *uids);
	ms_append *ready = calloc(n, sizeof *ready);
	ms_drv_result res = MS_DRV_SIDE_BAD;
	if (!b.app || !b.bytes || !b.map || !uids || !ready) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		uids[i] = acts[i]->m[from]->m.uid;
	ms_box *src = c->l[from].box, *dst = c->l[to].box;
	res = src->side->drv->fetch(src, uids, n, copy_fetch_cb, &b, e);
	if (res != MS_DRV_OK) {
		res = failed(c, from, res, e);
		goto out;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (b.bytes[i]) {
			b.map[k] = i;
			ready[k++] = b.app[i];
		}
	/* copy_append_cb finds the item through map, the bytes through app */
	res = k ? dst->side->drv->append(dst, ready, k, copy_append_cb, &b, e) : MS_DRV_OK;
	if (res != MS_DRV_OK)
		res = failed(c, to, res, e);
out:
	for (size_t i = 0; b.bytes && i < n; i++)
		free(b.bytes[i]);
	free(b.bytes);
	free(b.app);
	free(b.map);
	free(uids);
	free(ready);
	return res;
}

/* Copies by their UID on the side they come from (act.side). */
static int by_source_uid(const void *x, const void *y)
{
	const act *a = *(act *const *)x, *b = *(act *const *)y;
	uint32_t ua = a->m[a->side]->m.uid, ub = b->m[b->side]->m.uid;
	return ua < ub ? -1 : ua > ub;
}

/* Tell the caller how far the pair is (engine.h ms_engine_progress_fn). */
static void progress(pctx *c, size_t add)
{
	const ms_engine_opts *o = c->r->o;
	c->done += add;
	if (o->progress)
		o->progress(o->progress_ctx, c->index, c->r->npairs, c->pairing->box[0], c->pairing->box[1],
		            c->done < c->total ? c->done : c->total, c->total);
}

/* Copy what is new on `from`, in its UID order (the order the messages
 * arrived there, which the target's new UIDs then keep), in batches. */
static ms_drv_result copy_all(pctx *c, int from, ms_err *e)
{
	MS_VEC(act *) todo = { 0 };
	for (size_t i = 0; i < c->p.acts.n; i++)
		if (c->p.acts.v[i].k == ACT_COPY && c->p.acts.v[i].side == from && ms_vec_push(&todo, &c->p.acts.v[i]) < 0) {
			ms_vec_free(&todo);
			ms_err_set(e, MS_E_NOMEM, "out of memory");
			return failed(c, from, MS_DRV_SIDE_BAD, e);
		}
	if (todo.n)
		qsort(todo.v, todo.n, sizeof *todo.v, by_source_uid);
	ms_drv_result res = MS_DRV_OK;
	for (size_t i = 0; i < todo.n && res == MS_DRV_OK;) {
		size_t n = 0;
		uint64_t bytes = 0;
		while (i + n < todo.n && n < FETCH_BATCH && bytes < BATCH_BYTES)
			bytes += todo.v[i + n++]->m[from]->m.size;
		res = copy_batch_run(c, from, todo.v + i, n, e);
		i += n;
		progress(c, n);
	}
	ms_vec_free(&todo);
	return res;
}

/* ---- flags -------------------------------------------------------------------- */

typedef struct flag_batch {
	pctx *c;
	int side;
	act **acts;
	bool *ok;
} flag_batch;

static void flag_cb(void *ctx, size_t i, ms_drv_result res, uint32_t uid, const char *key, const ms_err *why)
{
	(void)uid, (void)key;
	flag_batch *b = ctx;
	act *a = b->acts[i];
	if (res == MS_DRV_OK) {
		b->ok[i] = true;
		b->c->rep->flagged[b->side]++;
	} else {
		add_skip(b->c->rep, b->side, a->m[b->side]->m.uid, a->ident, "flags not changed: %s",
		         why ? why->msg : "refused");
	}
}

/* Change flags on side s where the merge says so; ok[i] per act. */
static ms_drv_result set_all_flags(pctx *c, int s, bool *ok, ms_err *e)
{
	size_t n = c->p.acts.n;
	ms_flag_change *ch = calloc(n ? n : 1, sizeof *ch);
	act **acts = calloc(n ? n : 1, sizeof *acts);
	bool *res_ok = calloc(n ? n : 1, sizeof *res_ok);
	size_t *idx = calloc(n ? n : 1, sizeof *idx);
	char **strs = calloc(2 * (n ? n : 1), sizeof *strs);
	ms_drv_result res = MS_DRV_SIDE_BAD;
	size_t k = 0;
	if (!ch || !acts || !res_ok || !idx || !strs) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		act *a = &c->p.acts.v[i];
		ok[i] = true;
		if (a->k != ACT_KEEP || !a->change[s])
			continue;
		const ms_msg *m = &a->m[s]->m;
		strs[2 * k] = kw_minus(a->kw, m->keywords);
		strs[2 * k + 1] = kw_minus(m->keywords, a->kw);
		ch[k] = (ms_flag_change){ .uid = m->uid, .add = a->flags & ~m->flags & MS_FLAGS_ALL,
		                          .remove = m->flags & ~a->flags & MS_FLAGS_ALL,
		                          .add_keywords = strs[2 * k], .remove_keywords = strs[2 * k + 1] };
		acts[k] = a;
		idx[k++] = i;
	}
	flag_batch b = { .c = c, .side = s, .acts = acts, .ok = res_ok };
	res = k ? c->l[s].box->side->drv->set_flags(c->l[s].box, ch, k, flag_cb, &b, e) : MS_DRV_OK;
	progress(c, k);
	for (size_t j = 0; j < k; j++)
		ok[idx[j]] = res_ok[j];
	if (res != MS_DRV_OK)
		res = failed(c, s, res, e);
out:
	for (size_t j = 0; strs && j < 2 * k; j++)
		free(strs[j]);
	free(strs);
	free(ch);
	free(acts);
	free(res_ok);
	free(idx);
	return res;
}

/* ---- quarantine --------------------------------------------------------------- */

typedef struct qctx {
	pctx *c;
	int side;
	act **acts;
	bool *saved;
	FILE *journal;
	char *dir;
} qctx;

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	int rc = fsync(fd);
	return close(fd) < 0 ? -1 : rc;
}

/* An escaped field for the journal (tabs and line ends cannot appear). */
static char *jfield(const char *s)
{
	return g_strescape(s ? s : "", NULL);
}

static void quarantine_cb(void *ctx, size_t i, ms_drv_result res, const char *data, size_t len, const ms_err *why)
{
	qctx *q = ctx;
	act *a = q->acts[i];
	const ms_msg *m = &a->m[q->side]->m;
	if (res != MS_DRV_OK) {
		add_skip(q->c->rep, q->side, m->uid, a->ident, "not deleted: cannot be read to be quarantined: %s",
		         why ? why->msg : "");
		return;
	}
	char name[64], path[4200];
	snprintf(name, sizeof name, "%06u.eml", ++q->c->r->qserial);
	snprintf(path, sizeof path, "%s/%s", q->dir, name);
	if (write_file(path, data, len) < 0) {
		add_skip(q->c->rep, q->side, m->uid, a->ident, "not deleted: cannot write %s: %s", path, strerror(errno));
		return;
	}
	char *box = jfield(q->c->pairing->box[q->side]), *id = jfield(a->ident), *kw = jfield(m->keywords);
	fprintf(q->journal, "%d\t%s\t%u\t%lld\t%s\t%s\t%s\n", q->side, box, m->flags & MS_FLAGS_ALL,
	        (long long)m->internal_date, kw, id, name);
	g_free(box);
	g_free(id);
	g_free(kw);
	q->saved[i] = fflush(q->journal) == 0 && fsync(fileno(q->journal)) == 0;
	if (!q->saved[i])
		add_skip(q->c->rep, q->side, m->uid, a->ident, "not deleted: the quarantine journal cannot be written");
}

static char *quarantine_dir(const run *r)
{
	return g_strdup_printf("%s/%s", r->o->quarantine, r->cr->run_id);
}

/* Copy the messages about to be expunged into the quarantine; saved[i]. */
static ms_drv_result quarantine(pctx *c, int s, act **acts, size_t n, bool *saved, ms_err *e)
{
	const ms_engine_opts *o = c->r->o;
	if (!o->quarantine || o->dry_run) {
		for (size_t i = 0; i < n; i++)
			saved[i] = true;
		return MS_DRV_OK;
	}
	qctx q = { .c = c, .side = s, .acts = acts, .saved = saved, .dir = quarantine_dir(c->r) };
	char *jpath = g_strdup_printf("%s/journal", q.dir);
	ms_drv_result res = MS_DRV_OK;
	if ((mkdir(o->quarantine, 0700) < 0 && errno != EEXIST) || (mkdir(q.dir, 0700) < 0 && errno != EEXIST) ||
	    !(q.journal = fopen(jpath, "a"))) {
		ms_err_set(e, MS_E_IO, "cannot use the quarantine %s: %s", q.dir, strerror(errno));
		res = failed(c, s, MS_DRV_BOX_BAD, e);
	} else {
		uint32_t *uids = calloc(n ? n : 1, sizeof *uids);
		for (size_t i = 0; uids && i < n; i++)
			uids[i] = acts[i]->m[s]->m.uid;
		res = uids ? c->l[s].box->side->drv->fetch(c->l[s].box, uids, n, quarantine_cb, &q, e) : MS_DRV_SIDE_BAD;
		if (!uids)
			ms_err_set(e, MS_E_NOMEM, "out of memory");
		if (res != MS_DRV_OK)
			res = failed(c, s, res, e);
		free(uids);
		fclose(q.journal);
	}
	g_free(jpath);
	g_free(q.dir);
	return res;
}

/* ---- deleting ----------------------------------------------------------------- */

typedef struct expunge_batch {
	pctx *c;
	int side;
	act **acts;
} expunge_batch;

static void expunge_cb(void *ctx, size_t i, ms_drv_result res, uint32_t uid, const char *key, const ms_err *why)
{
	(void)uid, (void)key;
	expunge_batch *b = ctx;
	act *a = b->acts[i];
	if (res != MS_DRV_OK) {
		add_skip(b->c->rep, b->side, a->m[b->side]->m.uid, a->ident, "not deleted: %s", why ? why->msg : "");
		return;
	}
	a->done = true;
	b->c->rep->deleted[b->side]++;
	note(b->c, MS_NOTE_DELETED, b->side, a->m[b->side]->m.uid, a->ident);
	forget(b->c, a->ident);
}

static ms_drv_result expunge_all(pctx *c, int s, ms_err *e)
{
	size_t n = c->p.acts.n, k = 0;
	act **acts = calloc(n ? n : 1, sizeof *acts), **go = calloc(n ? n : 1, sizeof *go);
	bool *saved = calloc(n ? n : 1, sizeof *saved);
	uint32_t *uids = calloc(n ? n : 1, sizeof *uids);
	ms_drv_result res = MS_DRV_SIDE_BAD;
	if (!acts || !go || !saved || !uids) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (c->p.acts.v[i].k == ACT_EXPUNGE && c->p.acts.v[i].side == s)
			acts[k++] = &c->p.acts.v[i];
	res = k ? quarantine(c, s, acts, k, saved, e) : MS_DRV_OK;
	size_t m = 0;
	for (size_t i = 0; res == MS_DRV_OK && i < k; i++)
		if (saved[i]) {
			go[m] = acts[i];
			uids[m++] = acts[i]->m[s]->m.uid;
		}
	expunge_batch b = { .c = c, .side = s, .acts = go };
	if (res == MS_DRV_OK && m)
		res = c->l[s].box->side->drv->expunge(c->l[s].box, uids, m, expunge_cb, &b, e);
	progress(c, k);
	if (res != MS_DRV_OK)
		res = failed(c, s, res, e);
out:
	free(acts);
	free(go);
	free(saved);
	free(uids);
	return res;
}

/* ---- one pair ----------------------------------------------------------------- */

static unsigned max_delete(const ms_engine_opts *o)
{
	return o->max_delete ? o->max_delete : MS_ENGINE_MAX_DELETE_DEFAULT;
}

/* The share rule: would side s lose too much of its box? */
static bool too_many(const pctx *c, int s)
{
	size_t del = c->p.expunges[s], have = c->l[s].v.n;
	unsigned pct = max_delete(c->r->o);
	return !c->r->o->force && pct < 100 && del > MS_ENGINE_BRAKE_MIN && del * 100 > (size_t)pct * have;
}

static size_t synced_records(const ms_state_pair *sp)
{
	size_t n = 0;
	for (size_t i = 0; sp && i < sp->msgs.n; i++)
		n += sp->msgs.v[i].status == '=';
	return n;
}

/* List both sides and decide. */
static ms_drv_result plan_pair(pctx *c, ms_err *e)
{
	for (int s = 0; s < 2; s++) {
		ms_drv_result res = list_side(c, s, e);
		if (res != MS_DRV_OK)
			return failed(c, s, res, e);
	}
	if (decide(c) < 0) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return failed(c, 0, MS_DRV_SIDE_BAD, e);
	}
	return MS_DRV_OK;
}

static ms_drv_result create_missing(pctx *c, ms_err *e)
{
	for (int s = 0; s < 2; s++) {
		if (c->l[s].present)
			continue;
		ms_side *side = c->r->side[s];
		if (!(side->caps & MS_CAP_CREATE_BOX)) {
			ms_err_set(e, MS_E_USAGE, "side %s cannot create box %s", esc(side->name).s,
			           esc(c->pairing->box[s]).s);
			return failed(c, s, MS_DRV_BOX_BAD, e);
		}
		ms_drv_result res = side->drv->create_box(side, c->pairing->box[s], e);
		if (res != MS_DRV_OK)
			return failed(c, s, res, e);
		c->l[s].present = c->rep->created[s] = true;
	}
	return MS_DRV_OK;
}

static void settle_all(pctx *c, bool *ok0, bool *ok1)
{
	for (size_t i = 0; i < c->p.acts.n; i++) {
		bool ok[2] = { ok0 ? ok0[i] : true, ok1 ? ok1[i] : true };
		act *a = &c->p.acts.v[i];
		if (a->k == ACT_KEEP || a->k == ACT_PEND || a->k == ACT_FORGET)
			settle(c, a, ok);
	}
}

/* A side without stable UIDs (Maildir, mbox) makes up a UIDVALIDITY per
 * open: remembering it would change the state on every run, and a no-op
 * would rewrite (and fsync) the whole state file for nothing. */
static void remember_validity(pctx *c)
{
	for (int s = 0; s < 2; s++)
		if (c->l[s].box && c->sp && (caps(c->r, s) & MS_CAP_UID_STABLE) &&
		    c->sp->uidvalidity[s] != c->l[s].box->status.uidvalidity) {
			c->sp->uidvalidity[s] = c->l[s].box->status.uidvalidity;
			c->r->dirty = true;
		}
}

/* Keep side s's HIGHESTMODSEQ as of the listing when the run left side s
 * and the state alike (`clean`: nothing written to s, every flag change
 * on either side made, so every record holds s's flags), else forget it:
 * the next run lists s from the state only after a run like that (our
 * own writes move the mod-sequence too, and a value taken after them
 * could hide another client's change made in between). */
static void remember_modseq(pctx *c, const bool clean[2])
{
	for (int s = 0; c->sp && s < 2; s++) {
		uint64_t v = clean[s] && c->l[s].present && (caps(c->r, s) & MS_CAP_MODSEQ) ? c->l[s].status.highest_modseq
		                                                                             : 0;
		if (c->sp->modseq[s] != v) {
			c->sp->modseq[s] = v;
			c->r->dirty = true;
		}
	}
}

static void report_reset_plan(ms_pair_report *p)
{
	for (size_t k = 0; k < p->skipped.n; k++) {
		free(p->skipped.v[k].ident);
		free(p->skipped.v[k].why);
	}
	p->skipped.n = 0;
	p->kept = 0;
	for (int s = 0; s < 2; s++)
		p->pending[s] = p->duplicates[s] = 0;
	notes_drop(p, MS_NOTE_PENDING);   /* planned again; copies and deletions are made later */
}

/* Open the boxes again.  The plan stands when each side has stable UIDs
 * and its box is as it was listed (same UIDVALIDITY, UIDNEXT, count and
 * mod-sequence: no message came or went); otherwise list and decide
 * again. */
static ms_drv_result reopen(pctx *c, ms_err *e)
{
	bool same = true;
	for (int s = 0; s < 2; s++) {
		blist *l = &c->l[s];
		ms_side *side = c->r->side[s];
		ms_drv_result res = side->drv->open_box(side, c->pairing->box[s], &l->box, e);
		if (res != MS_DRV_OK)
			return failed(c, s, res, e);
		const ms_box_status *now = &l->box->status;
		same &= (side->caps & MS_CAP_UID_STABLE) &&
		        (l->was_present ? now->uidvalidity == l->status.uidvalidity && now->uidnext == l->status.uidnext &&
		                                  now->count == l->status.count &&
		                                  now->highest_modseq == l->status.highest_modseq
		                        : now->count == 0);
	}
	if (same)
		return MS_DRV_OK;
	assert(c->p.acts.n == 0 || (caps(c->r, 0) & caps(c->r, 1) & MS_CAP_UID_STABLE));
	plan_free(&c->p);
	blist_reset(&c->l[0]);
	blist_reset(&c->l[1]);
	report_reset_plan(c->rep);
	return plan_pair(c, e);
}

/* Carry out the pair's plan: copies, flags, deletions, then the state. */
static ms_drv_result execute_pair(pctx *c, ms_err *e)
{
	ms_drv_result res = create_missing(c, e);
	if (res == MS_DRV_OK)
		res = reopen(c, e);
	for (int s = 0; res == MS_DRV_OK && s < 2; s++)
		if (too_many(c, s)) {
			/* the box changed since the plan: its deletions wait for a rerun (or force) */
			for (size_t i = 0; i < c->p.acts.n; i++)
				if (c->p.acts.v[i].k == ACT_EXPUNGE && c->p.acts.v[i].side == s) {
					act *a = &c->p.acts.v[i];
					a->k = ACT_NONE;
					add_skip(c->rep, s, a->m[s]->m.uid, a->ident, "not deleted: more than %u%% of the box",
					         max_delete(c->r->o));
				}
			c->p.expunges[s] = 0;
		}
	c->total = c->p.copies[0] + c->p.copies[1] + c->p.changes[0] + c->p.changes[1] + c->p.expunges[0] +
	           c->p.expunges[1];
	if (res == MS_DRV_OK)
		progress(c, 0);
	for (int s = 0; res == MS_DRV_OK && s < 2; s++)
		res = copy_all(c, s, e);
	size_t n = c->p.acts.n ? c->p.acts.n : 1;
	bool *ok0 = calloc(n, sizeof *ok0), *ok1 = calloc(n, sizeof *ok1);
	if (res == MS_DRV_OK && (!ok0 || !ok1)) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		res = failed(c, 0, MS_DRV_SIDE_BAD, e);
	}
	if (res == MS_DRV_OK)
		res = set_all_flags(c, 0, ok0, e);
	if (res == MS_DRV_OK)
		res = set_all_flags(c, 1, ok1, e);
	if (res == MS_DRV_OK)
		settle_all(c, ok0, ok1);
	for (int s = 0; res == MS_DRV_OK && s < 2; s++)
		res = expunge_all(c, s, e);
	remember_validity(c);
	bool clean[2];
	for (int s = 0; s < 2; s++) {
		clean[s] = res == MS_DRV_OK && !c->p.copies[s] && !c->p.changes[s] && !c->p.expunges[s];
		for (size_t i = 0; clean[s] && i < c->p.acts.n; i++)
			clean[s] = ok0[i] && ok1[i];
	}
	remember_modseq(c, clean);
	free(ok0);
	free(ok1);
	return res;
}

/* ---- the run ------------------------------------------------------------------ */

static void report_clear(ms_pair_report *p)
{
	for (size_t k = 0; k < p->skipped.n; k++) {
		free(p->skipped.v[k].ident);
		free(p->skipped.v[k].why);
	}
	ms_vec_free(&p->skipped);
	for (size_t k = 0; k < p->notes.n; k++)
		free(p->notes.v[k].ident);
	ms_vec_free(&p->notes);
	free(p->box[0]);
	free(p->box[1]);
	free(p->error);
	*p = (ms_pair_report){ 0 };
}

typedef struct pair_plan {
	bool work, skip;
	struct pctx *ctx;          /* work: the listing and plan, for execute_all */
	size_t listed[2];
	size_t expunges[2];
} pair_plan;

/* What side s's listing of boxes skipped: reported, and it makes the run
 * "something left undone" (exit 1), never silently left out. */
static void side_skipped(run *r, int s)
{
	ms_side *side = r->side[s];
	size_t n = 0;
	const ms_skipped_entry *v = side->drv->skipped ? side->drv->skipped(side, NULL, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		char *g = skipped_line(&v[i]), *line = strdup(g);
		g_free(g);
		if (!line || ms_strlist_add(&r->cr->side_skipped[s], line) < 0)
			free(line);
	}
	r->cr->skipped += n;
}

static int box_names(run *r, int s, GHashTable **out, ms_err *e)
{
	ms_box_info *v;
	size_t n;
	ms_drv_result res = r->side[s]->drv->list_boxes(r->side[s], &v, &n, e);
	if (res != MS_DRV_OK) {
		r->side_bad[s] = true;
		r->cr->side_error[s] = strdup(e->msg);
		return -1;
	}
	side_skipped(r, s);
	*out = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
	for (size_t i = 0; i < n; i++) {
		g_hash_table_insert(*out, v[i].name, GUINT_TO_POINTER(v[i].attrs | 0x80000000u));
		v[i].name = NULL;
	}
	ms_box_list_free(v, n);
	return 0;
}

static void brake(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void brake(run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	char *c = strdup(s);
	g_free(s);
	r->cr->braked = true;
	if (!c || ms_strlist_add(&r->cr->brake, c) < 0)
		free(c);
}

/* Plan one pair: returns -1 when a side failed (the run stops). */
static int plan_one(run *r, size_t i, const ms_box_pairing *pg, GHashTable *const names[2], pair_plan *pp)
{
	pctx *cp = calloc(1, sizeof *cp);
	if (!cp) {
		r->side_bad[0] = true;
		r->cr->side_error[0] = strdup("out of memory");
		return -1;
	}
	pctx c = { .r = r, .pairing = pg, .rep = &r->cr->pairs.v[i] };
	c.sp = ms_state_pair_get(r->st, pg->box[0], pg->box[1], false);
	size_t known = synced_records(c.sp);
	for (int s = 0; s < 2; s++) {
		unsigned attrs = GPOINTER_TO_UINT(g_hash_table_lookup(names[s], pg->box[s]));
		c.l[s].present = attrs != 0;
		c.l[s].was_present = c.l[s].present;
		if (attrs & MS_BOX_NOSELECT) {
			pp->skip = true;
			free(cp);
			return 0;   /* a name in the hierarchy only (mailsync skips it too) */
		}
		c.rep->vanished[s] = !c.l[s].present && known;
		if (c.rep->vanished[s] && !r->o->force)
			brake(r, "box %s vanished from side %s while the state knows %zu of its messages", esc(pg->box[s]).s,
			      esc(r->side[s]->name).s, known);
	}
	ms_err e = { 0 };
	ms_drv_result res = plan_pair(&c, &e);
	if (res == MS_DRV_OK) {
		pp->work = has_work(&c);
		for (int s = 0; s < 2; s++) {
			pp->listed[s] = c.l[s].v.n;
			pp->expunges[s] = c.p.expunges[s];
			if (too_many(&c, s))
				brake(r, "box %s on side %s: %zu of its %zu messages would be deleted (more than %u%%)",
				      esc(pg->box[s]).s, esc(r->side[s]->name).s, c.p.expunges[s], c.l[s].v.n,
				      max_delete(r->o));
		}
		if (!pp->work)
			settle_all(&c, NULL, NULL);   /* keys learnt, records forgotten: no write needed */
		remember_validity(&c);
		if (!pp->work)
			remember_modseq(&c, (const bool[2]){ true, true });
	} else {
		pp->skip = true;
		r->cr->failed_pairs++;
	}
	/* the boxes close (an IMAP side has one selected at a time); a pair
	   with work keeps its listing and plan for execute_all */
	for (int s = 0; s < 2; s++)
		if (c.l[s].box) {
			c.l[s].box->side->drv->close_box(c.l[s].box);
			c.l[s].box = NULL;
		}
	if (pp->work && !pp->skip) {
		if (!(caps(r, 0) & caps(r, 1) & MS_CAP_UID_STABLE)) {
			/* execute lists and decides this pair again (reopen): its
			   listing would only hold memory (every pair's at once) */
			plan_free(&c.p);
			blist_reset(&c.l[0]);
			blist_reset(&c.l[1]);
		}
		*cp = c;
		pp->ctx = cp;
	} else {
		pctx_clear(&c);
		free(cp);
	}
	return r->side_bad[0] || r->side_bad[1] ? -1 : 0;
}

/* A side that looks empty: nothing listed anywhere while the state
 * knows messages of these pairs. */
static void brake_empty_side(run *r, const ms_box_pairing *pairs, size_t npairs, const pair_plan *pp)
{
	size_t known = 0, listed[2] = { 0, 0 };
	for (size_t i = 0; i < npairs; i++) {
		known += synced_records(ms_state_pair_get(r->st, pairs[i].box[0], pairs[i].box[1], false));
		listed[0] += pp[i].listed[0];
		listed[1] += pp[i].listed[1];
	}
	for (int s = 0; s < 2 && known && !r->o->force; s++)
		if (!listed[s])
			brake(r, "side %s looks empty (no message in any box) while the state knows %zu messages: a wrong "
			         "path, an unmounted disk?",
			      esc(r->side[s]->name).s, known);
}

static int save(run *r, ms_err *e)
{
	if (r->o->dry_run || !r->dirty)
		return 0;
	if (ms_state_save(r->st, e) < 0)
		return -1;
	r->dirty = false;
	return 0;
}

static void total(ms_channel_report *cr)
{
	for (size_t i = 0; i < cr->pairs.n; i++) {
		const ms_pair_report *p = &cr->pairs.v[i];
		for (int s = 0; s < 2; s++) {
			cr->copied[s] += p->copied[s];
			cr->deleted[s] += p->deleted[s];
			cr->pending[s] += p->pending[s];
			cr->flagged[s] += p->flagged[s];
			cr->duplicates[s] += p->duplicates[s];
		}
		cr->skipped += p->skipped.n;
	}
}

static int init_report(ms_channel_report *cr, const ms_box_pairing *pairs, size_t npairs, ms_err *e)
{
	*cr = (ms_channel_report){ 0 };
	if (ms_vec_reserve(&cr->pairs, npairs ? npairs : 1) < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < npairs; i++) {
		ms_pair_report p = { .box = { xstrdup(pairs[i].box[0]), xstrdup(pairs[i].box[1]) } };
		cr->pairs.v[cr->pairs.n++] = p;
	}
	return 0;
}

static int execute_all(run *r, const ms_box_pairing *pairs, size_t npairs, pair_plan *pp, ms_err *e)
{
	for (size_t i = 0; i < npairs && !r->side_bad[0] && !r->side_bad[1]; i++) {
		pctx *c = pp[i].ctx;
		if (!c)
			continue;
		/* the state pair may have been created since the plan */
		c->sp = ms_state_pair_get(r->st, pairs[i].box[0], pairs[i].box[1], false);
		c->index = i;
		ms_err pe = { 0 };
		ms_drv_result res = execute_pair(c, &pe);
		if (res != MS_DRV_OK)
			r->cr->failed_pairs++;
		pctx_clear(c);
		free(c);
		pp[i].ctx = NULL;
		if (save(r, e) < 0)
			return -1;
	}
	return 0;
}

/* Retention: earlier runs past quarantine_days go (under the state's
 * lock, so two runs never prune at once); a failure is reported and the
 * sync goes on, as pruning only frees space. */
static void prune_quarantine(const ms_engine_opts *o, ms_channel_report *cr, time_t now)
{
	ms_err pe = { 0 };
	if (o->quarantine && ms_quarantine_prune(o->quarantine, o->quarantine_days, now, cr->run_id, o->dry_run,
	                                         &cr->pruned, &pe) < 0)
		cr->prune_error = strdup(pe.msg);
}

int ms_engine_run(ms_side *const sides[2], const ms_box_pairing *pairs, size_t npairs, ms_state *st,
                  const ms_engine_opts *o, ms_channel_report *cr, ms_err *e)
{
	/* a dry run writes nothing, not even the lock file (the state may be on
	   read-only media); it reads a state that is only ever replaced whole */
	if (init_report(cr, pairs, npairs, e) < 0 || (!o->dry_run && ms_state_lock(st, e) < 0))
		return -1;
	/* names the run's quarantine: given, or the time and the process */
	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
	cr->run_id = o->run_id ? strdup(o->run_id) : g_strdup_printf("%s-%ld", stamp, (long)getpid());
	prune_quarantine(o, cr, now);
	run r = { .side = sides, .o = o, .st = st, .cr = cr, .npairs = npairs };
	GHashTable **names = r.names;
	pair_plan *pp = calloc(npairs ? npairs : 1, sizeof *pp);
	int rc = pp ? 0 : ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (int s = 0; s < 2 && rc == 0; s++)
		if (box_names(&r, s, &names[s], e) < 0)
			rc = 1;
	for (size_t i = 0; i < npairs && rc == 0; i++)
		if (plan_one(&r, i, &pairs[i], names, &pp[i]) < 0)
			rc = 1;
	if (rc == 0)
		brake_empty_side(&r, pairs, npairs, pp);
	/* the brake refuses the whole run: nothing written, the state kept */
	if (rc == 0 && !cr->braked && (save(&r, e) < 0 || execute_all(&r, pairs, npairs, pp, e) < 0))
		rc = -1;
	if (rc == 1 && !cr->braked && save(&r, e) < 0)
		rc = -1;
	for (int s = 0; s < 2; s++)
		if (names[s])
			g_hash_table_destroy(names[s]);
	for (size_t i = 0; pp && i < npairs; i++)
		if (pp[i].ctx) {   /* braked, or the run stopped: plans not carried out */
			pctx_clear(pp[i].ctx);
			free(pp[i].ctx);
		}
	free(pp);
	total(cr);
	if (rc == 0 && (cr->braked || cr->skipped || cr->failed_pairs || cr->side_error[0] || cr->side_error[1]))
		rc = 1;
	return rc;
}

void ms_channel_report_free(ms_channel_report *r)
{
	for (size_t i = 0; i < r->pairs.n; i++)
		report_clear(&r->pairs.v[i]);
	ms_vec_free(&r->pairs);
	for (size_t i = 0; i < r->brake.n; i++)
		free((char *)r->brake.v[i]);
	ms_vec_free(&r->brake);
	free(r->side_error[0]);
	free(r->side_error[1]);
	free(r->run_id);
	for (size_t i = 0; i < r->pruned.n; i++)
		free((char *)r->pruned.v[i]);
	ms_vec_free(&r->pruned);
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < r->side_skipped[s].n; i++)
			free((char *)r->side_skipped[s].v[i]);
		ms_vec_free(&r->side_skipped[s]);
	}
	free(r->prune_error);
	*r = (ms_channel_report){ 0 };
}

/* ---- pairing by name ---------------------------------------------------------- */

int ms_pair_by_name(ms_side *const sides[2], ms_box_pairing **out, size_t *n, ms_err *e)
{
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	GPtrArray *names = g_ptr_array_new();
	ms_box_info *v[2] = { NULL, NULL };
	size_t nv[2] = { 0, 0 };
	int rc = 0;
	*out = NULL;
	*n = 0;
	for (int s = 0; s < 2 && rc == 0; s++) {
		if (sides[s]->drv->list_boxes(sides[s], &v[s], &nv[s], e) != MS_DRV_OK) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < nv[s]; i++)
			if (!(v[s][i].attrs & MS_BOX_NOSELECT) && !g_hash_table_contains(seen, v[s][i].name)) {
				g_hash_table_add(seen, v[s][i].name);
				g_ptr_array_add(names, v[s][i].name);
			}
	}
	g_ptr_array_sort(names, cmp_strp_g);
	if (rc == 0) {
		*out = calloc(names->len ? names->len : 1, sizeof **out);
		for (size_t i = 0; *out && i < names->len; i++) {
			const char *nm = names->pdata[i];
			(*out)[i].box[0] = strdup(nm);
			(*out)[i].box[1] = strdup(nm);
		}
		*n = *out ? names->len : 0;
		if (!*out)
			rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	g_ptr_array_free(names, TRUE);
	g_hash_table_destroy(seen);
	ms_box_list_free(v[0], nv[0]);
	ms_box_list_free(v[1], nv[1]);
	return rc;
}

void ms_box_pairing_free(ms_box_pairing *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free((char *)v[i].box[0]);
		free((char *)v[i].box[1]);
	}
	free(v);
}

/* ---- undo --------------------------------------------------------------------- */

typedef struct undo_ctx {
	size_t *restored, *failed, *present;
} undo_ctx;

static void undo_cb(void *ctx, size_t i, ms_drv_result res, uint32_t uid, const char *key, const ms_err *why)
{
	(void)i, (void)uid, (void)key, (void)why;
	undo_ctx *u = ctx;
	if (res == MS_DRV_OK)
		(*u->restored)++;
	else
		(*u->failed)++;
}

typedef struct has_ctx {
	const char *ident;
	bool found;
} has_ctx;

static void has_cb(void *ctx, size_t i, ms_drv_result res, const char *data, size_t len, const ms_err *why)
{
	(void)i, (void)why;
	has_ctx *h = ctx;
	if (res != MS_DRV_OK || h->found)
		return;
	char *d = ms_ident_is_digest(h->ident) && strncmp(h->ident, "md5:", 4) == 0 ? ms_ident_md5(data, len)
	                                                                             : ms_ident_digest(data, len);
	h->found = d && strcmp(d, h->ident) == 0;
	free(d);
}

/* Is a message of this identity in the box already?  (An expunge that
 * failed after its quarantine copy was journaled left it there.) */
static ms_drv_result box_has(ms_box *b, const char *ident, bool *found, ms_err *e)
{
	has_ctx h = { .ident = ident };
	ms_list_req req = { .max = LIST_PAGE, .want = MS_WANT_MSGID };
	for (;;) {
		ms_msg *v;
		size_t n;
		ms_drv_result res = b->side->drv->list_msgs(b, &req, &v, &n, e);
		if (res != MS_DRV_OK)
			return res;
		for (size_t i = 0; i < n && !h.found; i++) {
			char *id = v[i].msgid ? ms_ident_from_msgid(v[i].msgid) : NULL;
			if (id)
				h.found = strcmp(id, ident) == 0;
			else if (ms_ident_is_digest(ident))
				res = b->side->drv->fetch(b, &v[i].uid, 1, has_cb, &h, e);
			free(id);
		}
		if (n)
			req.after_uid = v[n - 1].uid;
		ms_msg_list_free(v, n);
		if (res != MS_DRV_OK)
			return res;
		if (n == 0 || h.found)
			break;
	}
	*found = h.found;
	return MS_DRV_OK;
}

/* One journal line: side, box, flags, date, keywords, identity, file. */
static int undo_line(ms_side *const sides[2], const char *dir, char *line, undo_ctx *u, ms_err *e)
{
	char **f = g_strsplit(line, "\t", 8);
	int rc = 0;
	if (g_strv_length(f) != 7 || (f[0][0] != '0' && f[0][0] != '1') || f[0][1]) {
		rc = ms_err_set(e, MS_E_PARSE, "quarantine journal in %s: a line is not side, box, flags, date, "
		                "keywords, identity, file", dir);
		goto out;
	}
	ms_side *s = sides[f[0][0] - '0'];
	char *box = g_strcompress(f[1]), *kw = g_strcompress(f[4]), *ident = g_strcompress(f[5]);
	bool there = false;
	char *path = g_strdup_printf("%s/%s", dir, f[6]);
	gchar *data = NULL;
	gsize len = 0;
	ms_box *b = NULL;
	if (!g_file_get_contents(path, &data, &len, NULL)) {
		(*u->failed)++;
	} else if (s->drv->create_box(s, box, e) != MS_DRV_OK || s->drv->open_box(s, box, &b, e) != MS_DRV_OK ||
	           box_has(b, ident, &there, e) != MS_DRV_OK) {
		rc = -1;
	} else if (there) {
		(*u->present)++;
	} else {
		ms_append a = { .data = data, .len = len, .flags = (unsigned)strtoul(f[2], NULL, 10),
		                .keywords = *kw ? kw : NULL, .internal_date = (time_t)strtoll(f[3], NULL, 10) };
		if (s->drv->append(b, &a, 1, undo_cb, u, e) != MS_DRV_OK)
			rc = -1;
	}
	if (b)
		s->drv->close_box(b);
	g_free(data);
	g_free(path);
	g_free(box);
	g_free(kw);
	g_free(ident);
out:
	g_strfreev(f);
	return rc;
}

int ms_engine_undo(ms_side *const sides[2], const char *quarantine, const char *run_id, size_t *restored,
                   size_t *failed_n, ms_err *e)
{
	*restored = *failed_n = 0;
	char *dir = g_strdup_printf("%s/%s", quarantine, run_id);
	char *jpath = g_strdup_printf("%s/journal", dir);
	FILE *f = fopen(jpath, "r");
	int rc = 0;
	if (!f) {
		rc = ms_err_set(e, MS_E_NOTFOUND, "no quarantine journal %s: %s", jpath, strerror(errno));
	} else {
		size_t present = 0;
		undo_ctx u = { restored, failed_n, &present };
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
			line[strcspn(line, "\n")] = '\0';
			rc = undo_line(sides, dir, line, &u, e);
		}
		free(line);
		fclose(f);
		/* done: the journal is kept under another name, so a second undo restores nothing twice */
		if (rc == 0) {
			char *done = g_strdup_printf("%s.undone", jpath);
			if (rename(jpath, done) < 0)
				rc = ms_err_set(e, MS_E_IO, "cannot rename %s: %s", jpath, strerror(errno));
			g_free(done);
		}
	}
	g_free(jpath);
	g_free(dir);
	return rc;
}
