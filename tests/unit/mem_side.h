/* mem_side.h - an in-memory side for the engine's unit tests: keywords,
 * no stable UIDs and no keys (so the engine must pair by identity every
 * run), configurable line ends, and faults on demand (a message refused,
 * a box broken, the whole side lost).  Test code only. */
#ifndef MS_TEST_MEM_SIDE_H
#define MS_TEST_MEM_SIDE_H

#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"

typedef struct mem_msg {
	uint32_t uid;
	unsigned flags;
	char *keywords;
	char *data;
	size_t len;
	time_t date;
} mem_msg;

typedef struct mem_box {
	char *name;
	mem_msg *v;
	size_t n;
	uint32_t uidnext;
} mem_box;

typedef struct mem_side {
	ms_side base;
	mem_box boxes[16];
	size_t nboxes;
	/* faults */
	const char *refuse_append;   /* append of a message containing this: MSG_BAD */
	const char *refuse_fetch;    /* fetch of a message containing this: MSG_BAD */
	const char *broken_box;      /* open_box of this box: BOX_BAD */
	bool lose_side_on_append;    /* append: SIDE_BAD */
	/* a concurrent writer: at the open_box number `deliver_at`, this message arrives in INBOX */
	int opens, deliver_at;
	const char *deliver;
} mem_side;

typedef struct mem_obox {
	ms_box base;
	mem_box *b;
} mem_obox;

static uint32_t mem_add(mem_box *b, const char *data, size_t len, unsigned flags, const char *kw, time_t date);

static mem_box *mem_find(mem_side *s, const char *name)
{
	for (size_t i = 0; i < s->nboxes; i++)
		if (strcmp(s->boxes[i].name, name) == 0)
			return &s->boxes[i];
	return NULL;
}

static void mem_close(ms_side *base)
{
	mem_side *s = (mem_side *)base;
	for (size_t i = 0; i < s->nboxes; i++) {
		for (size_t k = 0; k < s->boxes[i].n; k++) {
			free(s->boxes[i].v[k].keywords);
			free(s->boxes[i].v[k].data);
		}
		free(s->boxes[i].v);
		free(s->boxes[i].name);
	}
	free(s->base.name);
	free(s);
}

static ms_drv_result mem_list_boxes(ms_side *base, ms_box_info **out, size_t *n, ms_err *e)
{
	(void)e;
	mem_side *s = (mem_side *)base;
	*out = calloc(s->nboxes + 1, sizeof **out);
	for (size_t i = 0; i < s->nboxes; i++)
		(*out)[i].name = strdup(s->boxes[i].name);
	*n = s->nboxes;
	return MS_DRV_OK;
}

static ms_drv_result mem_create_box(ms_side *base, const char *name, ms_err *e)
{
	(void)e;
	mem_side *s = (mem_side *)base;
	if (!mem_find(s, name))
		s->boxes[s->nboxes++] = (mem_box){ .name = strdup(name), .uidnext = 1 };
	return MS_DRV_OK;
}

static ms_drv_result mem_delete_box(ms_side *base, const char *name, ms_err *e)
{
	(void)base, (void)name;
	ms_err_set(e, MS_E_USAGE, "not supported");
	return MS_DRV_BOX_BAD;
}

static ms_drv_result mem_open_box(ms_side *base, const char *name, ms_box **out, ms_err *e)
{
	mem_side *s = (mem_side *)base;
	mem_box *b = mem_find(s, name);
	if (++s->opens == s->deliver_at && s->deliver)
		mem_add(mem_find(s, "INBOX"), s->deliver, strlen(s->deliver), 0, NULL, 0);
	if (!b || (s->broken_box && strcmp(s->broken_box, name) == 0)) {
		ms_err_set(e, MS_E_NOTFOUND, "side %s: box %s is broken or missing", base->name, name);
		return MS_DRV_BOX_BAD;
	}
	mem_obox *o = calloc(1, sizeof *o);
	o->base.side = base;
	o->base.name = strdup(name);
	o->base.status = (ms_box_status){ .uidvalidity = 1, .uidnext = b->uidnext, .count = (uint32_t)b->n };
	o->b = b;
	*out = &o->base;
	return MS_DRV_OK;
}

static void mem_close_box(ms_box *b)
{
	if (b)
		free(b->name);
	free(b);
}

/* The Message-ID of the bytes, without brackets, or NULL. */
static char *mem_msgid(const char *d)
{
	const char *p = strstr(d, "Message-ID: <");
	if (!p)
		return NULL;
	p += 13;
	return strndup(p, strcspn(p, ">"));
}

static ms_drv_result mem_list_msgs(ms_box *base, const ms_list_req *req, ms_msg **out, size_t *n, ms_err *e)
{
	(void)e;
	mem_box *b = ((mem_obox *)base)->b;
	*out = calloc(b->n + 1, sizeof **out);
	*n = 0;
	for (size_t i = 0; i < b->n; i++) {
		mem_msg *m = &b->v[i];
		if (m->uid <= req->after_uid || (req->max && *n == req->max))
			continue;
		(*out)[(*n)++] = (ms_msg){ .uid = m->uid, .flags = m->flags, .size = m->len, .internal_date = m->date,
		                           .keywords = m->keywords ? strdup(m->keywords) : NULL,
		                           .msgid = req->want & MS_WANT_MSGID ? mem_msgid(m->data) : NULL };
	}
	return MS_DRV_OK;
}

static mem_msg *mem_by_uid(mem_box *b, uint32_t uid)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].uid == uid)
			return &b->v[i];
	return NULL;
}

static ms_drv_result mem_fetch(ms_box *base, const uint32_t *uids, size_t n, ms_fetch_cb *cb, void *ctx, ms_err *e)
{
	(void)e;
	mem_box *b = ((mem_obox *)base)->b;
	for (size_t i = 0; i < n; i++) {
		mem_msg *m = mem_by_uid(b, uids[i]);
		const char *refuse = ((mem_side *)base->side)->refuse_fetch;
		ms_err why;
		if (m && refuse && strstr(m->data, refuse))
			cb(ctx, i, MS_DRV_MSG_BAD, NULL, 0, (ms_err_set(&why, MS_E_IO, "uid %u refused", uids[i]), &why));
		else if (m)
			cb(ctx, i, MS_DRV_OK, m->data, m->len, NULL);
		else
			cb(ctx, i, MS_DRV_MSG_BAD, NULL, 0, (ms_err_set(&why, MS_E_NOTFOUND, "no UID %u", uids[i]), &why));
	}
	return MS_DRV_OK;
}

static uint32_t mem_add(mem_box *b, const char *data, size_t len, unsigned flags, const char *kw, time_t date)
{
	b->v = realloc(b->v, (b->n + 1) * sizeof *b->v);
	mem_msg *m = &b->v[b->n++];
	*m = (mem_msg){ .uid = b->uidnext++, .flags = flags, .keywords = kw ? strdup(kw) : NULL,
	                .data = strndup(data, len), .len = len, .date = date };
	return m->uid;
}

static ms_drv_result mem_append(ms_box *base, const ms_append *a, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	mem_side *s = (mem_side *)base->side;
	mem_box *b = ((mem_obox *)base)->b;
	if (s->lose_side_on_append) {
		ms_err_set(e, MS_E_IO, "side %s: connection lost", s->base.name);
		return MS_DRV_SIDE_BAD;
	}
	for (size_t i = 0; i < n; i++) {
		ms_err why;
		if (s->refuse_append && memmem(a[i].data, a[i].len, s->refuse_append, strlen(s->refuse_append))) {
			ms_err_set(&why, MS_E_IO, "side %s refuses this message", s->base.name);
			cb(ctx, i, MS_DRV_MSG_BAD, 0, NULL, &why);
			continue;
		}
		uint32_t uid = mem_add(b, a[i].data, a[i].len, a[i].flags, a[i].keywords, a[i].internal_date);
		cb(ctx, i, MS_DRV_OK, uid, NULL, NULL);
	}
	return MS_DRV_OK;
}

/* keywords: `kw` plus `add`, minus `remove` (space-separated sets) */
static char *mem_kw(const char *kw, const char *add, const char *remove)
{
	char buf[1024] = "";
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s %s", kw ? kw : "", add ? add : "");
	for (char *save = NULL, *w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char pad[300];
		snprintf(pad, sizeof pad, " %s ", w);
		char rm[1100], have[1100];
		snprintf(rm, sizeof rm, " %s ", remove ? remove : "");
		snprintf(have, sizeof have, " %s ", buf);
		if (!strstr(rm, pad) && !strstr(have, pad))
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", *buf ? " " : "", w);
	}
	return *buf ? strdup(buf) : NULL;
}

static ms_drv_result mem_set_flags(ms_box *base, const ms_flag_change *ch, size_t n, ms_item_cb *cb, void *ctx,
                                   ms_err *e)
{
	(void)e;
	mem_box *b = ((mem_obox *)base)->b;
	for (size_t i = 0; i < n; i++) {
		mem_msg *m = mem_by_uid(b, ch[i].uid);
		m->flags = (m->flags | ch[i].add) & ~ch[i].remove;
		char *kw = mem_kw(m->keywords, ch[i].add_keywords, ch[i].remove_keywords);
		free(m->keywords);
		m->keywords = kw;
		cb(ctx, i, MS_DRV_OK, ch[i].uid, NULL, NULL);
	}
	return MS_DRV_OK;
}

static ms_drv_result mem_expunge(ms_box *base, const uint32_t *uids, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	(void)e;
	mem_box *b = ((mem_obox *)base)->b;
	for (size_t i = 0; i < n; i++) {
		mem_msg *m = mem_by_uid(b, uids[i]);
		size_t k = (size_t)(m - b->v);
		free(m->keywords);
		free(m->data);
		memmove(m, m + 1, (b->n - k - 1) * sizeof *m);
		b->n--;
		cb(ctx, i, MS_DRV_OK, uids[i], NULL, NULL);
	}
	return MS_DRV_OK;
}

static const ms_side_driver mem_driver = {
	.kind = "memory", .close = mem_close, .list_boxes = mem_list_boxes, .create_box = mem_create_box,
	.delete_box = mem_delete_box, .open_box = mem_open_box, .close_box = mem_close_box,
	.list_msgs = mem_list_msgs, .fetch = mem_fetch, .append = mem_append, .set_flags = mem_set_flags,
	.expunge = mem_expunge,
};

static mem_side *mem_new(const char *name, bool crlf)
{
	mem_side *s = calloc(1, sizeof *s);
	s->base.drv = &mem_driver;
	s->base.name = strdup(name);
	s->base.caps = MS_CAP_FLAGS | MS_CAP_KEYWORDS | MS_CAP_INTERNAL_DATE | MS_CAP_CREATE_BOX | MS_CAP_APPEND_UID |
	               (crlf ? MS_CAP_CRLF : 0);
	s->base.delim = '/';
	mem_create_box(&s->base, "INBOX", NULL);
	return s;
}

#endif
