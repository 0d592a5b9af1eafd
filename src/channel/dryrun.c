/* dryrun.c - the dry-run proxy (driver.h "Dry runs", engine.h): reads go
 * to the wrapped side, writes are recorded and answered as if done, so a
 * dry run takes the engine's own path.  The wrapped side is normally
 * opened read-only too, so a write that slipped past the proxy would be
 * refused by the side itself. */
#include "channel/engine.h"

#include <assert.h>
#include <glib.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct proxy_side {
	ms_side base;
	ms_side *inner;
	GPtrArray *created;        /* box names "created" (char *) */
	ms_strlist log;            /* owned lines */
} proxy_side;

typedef struct proxy_box {
	ms_box base;
	ms_box *inner;             /* NULL: a box only this proxy "created" */
} proxy_box;

static const ms_side_driver proxy_driver;

static proxy_side *ps(ms_side *s)
{
	return (proxy_side *)s;
}

static void note(proxy_side *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(proxy_side *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *g = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	char *line = strdup(g);
	g_free(g);
	if (!line || ms_strlist_add(&p->log, line) < 0)
		free(line);
}

static bool was_created(proxy_side *p, const char *name)
{
	for (guint i = 0; i < p->created->len; i++)
		if (strcmp(p->created->pdata[i], name) == 0)
			return true;
	return false;
}

static ms_drv_result px_open(const ms_side_conf *conf, ms_side **out, ms_err *e)
{
	(void)conf;
	*out = NULL;
	ms_err_set(e, MS_E_USAGE, "the dry-run proxy wraps an open side (ms_dryrun_wrap)");
	return MS_DRV_SIDE_BAD;
}

static void px_close(ms_side *s)
{
	if (!s)
		return;
	proxy_side *p = ps(s);
	p->inner->drv->close(p->inner);
	g_ptr_array_free(p->created, TRUE);
	for (size_t i = 0; i < p->log.n; i++)
		free((char *)p->log.v[i]);
	ms_vec_free(&p->log);
	free(p->base.name);
	free(p);
}

static ms_drv_result px_list_boxes(ms_side *s, ms_box_info **out, size_t *n, ms_err *e)
{
	proxy_side *p = ps(s);
	ms_drv_result res = p->inner->drv->list_boxes(p->inner, out, n, e);
	if (res != MS_DRV_OK || !p->created->len)
		return res;
	ms_box_info *v = realloc(*out, (*n + p->created->len) * sizeof *v);
	if (!v) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	*out = v;
	for (guint i = 0; i < p->created->len; i++)
		v[(*n)++] = (ms_box_info){ .name = strdup(p->created->pdata[i]) };
	return MS_DRV_OK;
}

static ms_drv_result px_create_box(ms_side *s, const char *name, ms_err *e)
{
	(void)e;
	proxy_side *p = ps(s);
	note(p, "create box %s", name);
	if (!was_created(p, name))
		g_ptr_array_add(p->created, g_strdup(name));
	return MS_DRV_OK;
}

static ms_drv_result px_delete_box(ms_side *s, const char *name, ms_err *e)
{
	(void)e;
	note(ps(s), "delete box %s", name);
	return MS_DRV_OK;
}

static ms_drv_result px_open_box(ms_side *s, const char *name, ms_box **out, ms_err *e)
{
	proxy_side *p = ps(s);
	*out = NULL;
	proxy_box *b = calloc(1, sizeof *b);
	if (!b || !(b->base.name = strdup(name))) {
		free(b);
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	b->base.side = s;
	if (!was_created(p, name)) {
		ms_drv_result res = p->inner->drv->open_box(p->inner, name, &b->inner, e);
		if (res != MS_DRV_OK) {
			free(b->base.name);
			free(b);
			return res;
		}
		b->base.status = b->inner->status;
	}
	*out = &b->base;
	return MS_DRV_OK;
}

static void px_close_box(ms_box *b)
{
	if (!b)
		return;
	proxy_box *pb = (proxy_box *)b;
	if (pb->inner)
		pb->inner->side->drv->close_box(pb->inner);
	free(b->name);
	free(b);
}

static ms_drv_result px_list_msgs(ms_box *b, const ms_list_req *req, ms_msg **out, size_t *n, ms_err *e)
{
	proxy_box *pb = (proxy_box *)b;
	*out = NULL;
	*n = 0;
	return pb->inner ? pb->inner->side->drv->list_msgs(pb->inner, req, out, n, e) : MS_DRV_OK;
}

static ms_drv_result px_fetch(ms_box *b, const uint32_t *uids, size_t n, ms_fetch_cb *cb, void *ctx, ms_err *e)
{
	proxy_box *pb = (proxy_box *)b;
	if (pb->inner)
		return pb->inner->side->drv->fetch(pb->inner, uids, n, cb, ctx, e);
	ms_err why;
	ms_err_set(&why, MS_E_NOTFOUND, "box %s does not exist yet (dry run)", b->name);
	for (size_t i = 0; i < n; i++)
		cb(ctx, i, MS_DRV_MSG_BAD, NULL, 0, &why);
	return MS_DRV_OK;
}

static ms_drv_result px_append(ms_box *b, const ms_append *msgs, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	(void)msgs, (void)e;
	note(ps(b->side), "append %zu message(s) to %s", n, b->name);
	for (size_t i = 0; i < n; i++)
		cb(ctx, i, MS_DRV_OK, 0, NULL, NULL);
	return MS_DRV_OK;
}

static ms_drv_result px_set_flags(ms_box *b, const ms_flag_change *ch, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	(void)e;
	for (size_t i = 0; i < n; i++) {
		note(ps(b->side), "set flags of UID %u in %s: +%#x -%#x", ch[i].uid, b->name, ch[i].add, ch[i].remove);
		cb(ctx, i, MS_DRV_OK, ch[i].uid, NULL, NULL);
	}
	return MS_DRV_OK;
}

static ms_drv_result px_expunge(ms_box *b, const uint32_t *uids, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	(void)e;
	for (size_t i = 0; i < n; i++) {
		note(ps(b->side), "expunge UID %u in %s", uids[i], b->name);
		cb(ctx, i, MS_DRV_OK, uids[i], NULL, NULL);
	}
	return MS_DRV_OK;
}

static const ms_skipped_entry *px_skipped(ms_side *s, ms_box *b, size_t *n)
{
	*n = 0;
	if (!b) {
		ms_side *in = ps(s)->inner;
		return in->drv->skipped ? in->drv->skipped(in, NULL, n) : NULL;
	}
	ms_box *in = ((proxy_box *)b)->inner;
	return in && in->side->drv->skipped ? in->side->drv->skipped(in->side, in, n) : NULL;
}

static const ms_side_driver proxy_driver = {
	.kind = "dry-run",
	.open = px_open,
	.close = px_close,
	.list_boxes = px_list_boxes,
	.create_box = px_create_box,
	.delete_box = px_delete_box,
	.open_box = px_open_box,
	.close_box = px_close_box,
	.list_msgs = px_list_msgs,
	.fetch = px_fetch,
	.append = px_append,
	.set_flags = px_set_flags,
	.expunge = px_expunge,
	.skipped = px_skipped,
};

ms_side *ms_dryrun_wrap(ms_side *inner)
{
	proxy_side *p = calloc(1, sizeof *p);
	if (!p || !(p->base.name = strdup(inner->name))) {
		free(p);
		return NULL;
	}
	p->inner = inner;
	p->created = g_ptr_array_new_with_free_func(g_free);
	p->base.drv = &proxy_driver;
	/* no new UIDs to report: the messages are not appended */
	p->base.caps = inner->caps & ~(unsigned)MS_CAP_APPEND_UID;
	p->base.delim = inner->delim;
	p->base.read_only = false;
	return &p->base;
}

const char *const *ms_dryrun_log(const ms_side *proxy, size_t *n)
{
	const proxy_side *p = (const proxy_side *)proxy;
	assert(proxy->drv == &proxy_driver);
	*n = p->log.n;
	return p->log.v;
}
