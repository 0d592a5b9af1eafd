/* msinfo.c - reading mailsync's msinfo mailbox (msinfo.h). */
#include "channel/msinfo.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/str.h"
#include "util/vec.h"

typedef MS_VEC(ms_msinfo_id) id_vec;
typedef MS_VEC(ms_msinfo_channel) chan_vec;

/* A line of the file: [s, s+len) without its line end. */
typedef struct line {
	const char *s;
	size_t len;
	int no;
} line;

typedef struct reader {
	const char *p, *end;
	const char *file;
	int no;     /* number of the line last read */
	ms_err *e;
} reader;

static bool next_line(reader *r, line *l)
{
	if (r->p >= r->end)
		return false;
	const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	const char *stop = nl ? nl : r->end;
	l->s = r->p;
	l->len = (size_t)(stop - r->p);
	if (l->len && l->s[l->len - 1] == '\r')
		l->len--;
	l->no = ++r->no;
	r->p = nl ? nl + 1 : r->end;
	return true;
}

static bool starts(const line *l, const char *w)
{
	size_t n = strlen(w);
	return l->len >= n && memcmp(l->s, w, n) == 0;
}

static int fail(reader *r, int no, const char *what)
{
	return ms_err_set(r->e, MS_E_PARSE, "%s:%d: %s (the msinfo file is damaged or truncated; mstore will not guess "
	                  "which messages were in sync)", r->file, no, what);
}

static int oom(reader *r)
{
	return ms_err_set(r->e, MS_E_NOMEM, "out of memory reading the msinfo file %s", r->file);
}

/* The local part of the first address of a From header's value. */
static bool from_is_mailsync(const char *v, size_t n)
{
	const char *lt = memchr(v, '<', n);
	if (lt) {
		n -= (size_t)(lt + 1 - v);
		v = lt + 1;
	}
	while (n && isspace((unsigned char)*v))
		v++, n--;
	return n >= 8 && strncmp(v, "mailsync", 8) == 0;
}

static char *trimmed(const char *v, size_t n)
{
	while (n && isspace((unsigned char)*v))
		v++, n--;
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	return strndup(v, n);
}

/* A header line "Name: value" with continuation lines appended. */
typedef struct header {
	char *from, *subject;
	bool has_from;
} header;

static int read_header(reader *r, int start, header *h)
{
	line l;
	char **last = NULL; /* the field a continuation line belongs to */
	for (;;) {
		if (!next_line(r, &l)) {
			char m[120];
			snprintf(m, sizeof m, "the message that starts at line %d ends inside its header", start);
			return fail(r, r->no, m);
		}
		if (l.len == 0)
			return 0;
		if ((l.s[0] == ' ' || l.s[0] == '\t') && last && *last) {
			/* unfolded: the line end and the indentation become one space */
			char *joined, *t;
			if (asprintf(&joined, "%s %.*s", *last, (int)l.len, l.s) < 0)
				return oom(r);
			t = trimmed(joined, strlen(joined));
			free(joined);
			if (!t)
				return oom(r);
			free(*last);
			*last = t;
			continue;
		}
		last = NULL;
		const char *colon = memchr(l.s, ':', l.len);
		if (!colon)
			continue; /* not a field: c-client would pass over it too */
		size_t nl = (size_t)(colon - l.s);
		const char *v = colon + 1;
		size_t vn = l.len - nl - 1;
		char **field = nl == 4 && strncasecmp(l.s, "From", 4) == 0      ? &h->from
		               : nl == 7 && strncasecmp(l.s, "Subject", 7) == 0 ? &h->subject
		                                                                 : NULL;
		if (field && !*field) {
			if (!(*field = trimmed(v, vn)))
				return oom(r);
			last = field;
		}
	}
}

/* A box while its body is read: its identities grow here. */
typedef struct pbox {
	char *name;
	id_vec ids;
} pbox;
typedef MS_VEC(pbox) pbox_vec;

static void free_pboxes(pbox_vec *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->v[i].name);
		for (size_t j = 0; j < v->v[i].ids.n; j++)
			free(v->v[i].ids.v[j].id);
		free(v->v[i].ids.v);
	}
	ms_vec_free(v);
}

/* The box of that name (a name given twice is one box), created if new. */
static pbox *box_get(pbox_vec *boxes, const char *name, size_t n, reader *r)
{
	for (size_t i = 0; i < boxes->n; i++)
		if (strlen(boxes->v[i].name) == n && memcmp(boxes->v[i].name, name, n) == 0)
			return &boxes->v[i];
	pbox b = { strndup(name, n), { 0 } };
	if (!b.name || ms_vec_push(boxes, b) < 0) {
		free(b.name);
		oom(r);
		return NULL;
	}
	return &boxes->v[boxes->n - 1];
}

static bool is_hex32(const char *s, size_t n)
{
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* One identity line into the box. */
static int add_id(reader *r, const line *l, pbox *b)
{
	static const char md5_tag[] = "<>, md5: <";
	ms_msinfo_id id = { MS_MSINFO_MSGID, NULL };
	if (starts(l, md5_tag)) {
		const char *h = l->s + sizeof md5_tag - 1;
		size_t rest = l->len - (sizeof md5_tag - 1);
		const char *gt = memchr(h, '>', rest);
		if (!gt || !is_hex32(h, (size_t)(gt - h)))
			return fail(r, l->no, "expected \"<>, md5: <\", 32 hex digits and \">\"");
		id.kind = MS_MSINFO_MD5;
		id.id = strndup(h, 32);
		for (char *c = id.id; c && *c; c++)
			*c = (char)tolower((unsigned char)*c);
	} else {
		const char *gt = memchr(l->s, '>', l->len);
		if (!gt)
			return fail(r, l->no, "a Message-ID line without its closing '>'");
		id.id = strndup(l->s, (size_t)(gt - l->s) + 1); /* what follows '>' is ignored, as mailsync does */
	}
	if (!id.id || ms_vec_push(&b->ids, id) < 0) {
		free(id.id);
		return oom(r);
	}
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const ms_msinfo_id *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void free_boxes(ms_msinfo_box *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].name);
		for (size_t j = 0; j < b[i].nids; j++)
			free(b[i].ids[j].id);
		free(b[i].ids);
	}
	free(b);
}

/* The parsed boxes into the channel: identities sorted, duplicates removed. */
static int finish_boxes(reader *r, pbox_vec *boxes, ms_msinfo_channel *c)
{
	c->boxes = calloc(boxes->n ? boxes->n : 1, sizeof *c->boxes);
	if (!c->boxes)
		return oom(r);
	for (size_t i = 0; i < boxes->n; i++) {
		id_vec *v = &boxes->v[i].ids;
		if (v->n)
			qsort(v->v, v->n, sizeof *v->v, cmp_id);
		size_t k = 0;
		for (size_t j = 0; j < v->n; j++) {
			if (k && cmp_id(&v->v[k - 1], &v->v[j]) == 0)
				free(v->v[j].id);
			else
				v->v[k++] = v->v[j];
		}
		c->boxes[i] = (ms_msinfo_box){ boxes->v[i].name, v->v, k };
	}
	c->nboxes = boxes->n;
	free(boxes->v);
	*boxes = (pbox_vec){ 0 };
	return 0;
}

/* The body of a message, up to the next "From " line.  A line that does
 * not begin with '<' names a box (an empty one the empty name), a line
 * that does is an identity of the box named last.  An empty line right
 * before the next "From " line (or the end of the file) separates
 * messages in an mbox and is not part of the body. */
static int read_body(reader *r, ms_msinfo_channel *c, bool keep)
{
	MS_VEC(line) lines = { 0 };
	line l;
	for (;;) {
		const char *save_p = r->p;
		int save_no = r->no;
		if (!next_line(r, &l))
			break;
		if (starts(&l, "From ")) {
			r->p = save_p; /* the next message's */
			r->no = save_no;
			break;
		}
		if (keep && ms_vec_push(&lines, l) < 0) {
			free(lines.v);
			return oom(r);
		}
	}
	if (lines.n && lines.v[lines.n - 1].len == 0)
		lines.n--;
	pbox_vec boxes = { 0 };
	pbox *cur = NULL;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < lines.n; i++) {
		const line *x = &lines.v[i];
		if (x->len && x->s[0] == '<') {
			if (!cur) /* identities before any box name: the empty name */
				cur = box_get(&boxes, "", 0, r);
			rc = cur ? add_id(r, x, cur) : -1;
		} else {
			/* box_get may move the vector: find the current box again */
			cur = box_get(&boxes, x->s, x->len, r);
			rc = cur ? 0 : -1;
		}
	}
	free(lines.v);
	if (rc == 0 && keep)
		rc = finish_boxes(r, &boxes, c);
	free_pboxes(&boxes);
	return rc;
}

int ms_msinfo_parse(const char *text, size_t len, const char *file, ms_msinfo *out, ms_err *e)
{
	assert(out);
	memset(out, 0, sizeof *out);
	reader r = { text, text + len, file, 0, e };
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		int no = 1;
		for (const char *p = text; p < nul; p++)
			no += *p == '\n';
		return fail(&r, no, "a NUL byte: this is not a text mailbox");
	}
	chan_vec chans = { 0 };
	line l;
	int rc = 0;
	bool first = true;
	while (rc == 0 && next_line(&r, &l)) {
		if (!starts(&l, "From ")) {
			if (first)
				rc = fail(&r, l.no, "expected a \"From \" line: the msinfo file is not an mbox mailbox");
			else
				rc = fail(&r, l.no, "expected a \"From \" line starting a message");
			break;
		}
		first = false;
		int start = l.no;
		header h = { 0 };
		if ((rc = read_header(&r, start, &h)) == 0) {
			bool is_state = h.from && h.subject && from_is_mailsync(h.from, strlen(h.from));
			bool keep = is_state && !ms_msinfo_channel_find(&(ms_msinfo){ chans.v, chans.n }, h.subject);
			ms_msinfo_channel c = { keep ? h.subject : NULL, start, NULL, 0 };
			rc = read_body(&r, &c, keep);
			if (rc == 0 && keep) {
				if (ms_vec_push(&chans, c) < 0) {
					free_boxes(c.boxes, c.nboxes);
					rc = oom(&r);
				} else {
					h.subject = NULL; /* the channel's name now */
				}
			}
		}
		free(h.from);
		free(h.subject);
	}
	out->channels = chans.v;
	out->nchannels = chans.n;
	if (rc < 0)
		ms_msinfo_free(out);
	return rc;
}

int ms_msinfo_read(const char *path, ms_msinfo *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "r");
	if (!f)
		return ms_err_set(e, errno == ENOENT ? MS_E_NOTFOUND : MS_E_IO, "cannot read the msinfo file %s: %s", path,
		                  strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		fclose(f);
		return ms_err_set(e, MS_E_PARSE, "the msinfo file %s is not a regular file (mstore reads an mbox msinfo only)",
		                  path);
	}
	char *buf;
	size_t len;
	if (ms_read_stream(f, "the msinfo file", path, &buf, &len, e) < 0)
		return -1;
	int rc = ms_msinfo_parse(buf, len, path, out, e);
	free(buf);
	return rc;
}

void ms_msinfo_free(ms_msinfo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nchannels; i++) {
		free(m->channels[i].name);
		free_boxes(m->channels[i].boxes, m->channels[i].nboxes);
	}
	free(m->channels);
	memset(m, 0, sizeof *m);
}

const ms_msinfo_channel *ms_msinfo_channel_find(const ms_msinfo *m, const char *name)
{
	for (size_t i = 0; i < m->nchannels; i++)
		if (strcmp(m->channels[i].name, name) == 0)
			return &m->channels[i];
	return NULL;
}

const ms_msinfo_box *ms_msinfo_box_find(const ms_msinfo_channel *c, const char *boxname)
{
	for (size_t i = 0; c && i < c->nboxes; i++)
		if (strcmp(c->boxes[i].name, boxname) == 0)
			return &c->boxes[i];
	return NULL;
}

bool ms_msinfo_box_has(const ms_msinfo_box *b, ms_msinfo_kind kind, const char *id)
{
	if (!b || !b->nids)
		return false;
	ms_msinfo_id key = { kind, (char *)id };
	return bsearch(&key, b->ids, b->nids, sizeof *b->ids, cmp_id) != NULL;
}

int ms_msinfo_path(const char *name, const char *home, char *out, size_t len, ms_err *e)
{
	if (name[0] == '{')
		return ms_err_set(e, MS_E_CONFIG, "msinfo %s is on an IMAP server: mstore reads a local msinfo only", name);
	int n = name[0] == '/' ? snprintf(out, len, "%s", name) : snprintf(out, len, "%s/%s", home ? home : "", name);
	if (name[0] != '/' && (!home || !*home))
		return ms_err_set(e, MS_E_CONFIG, "msinfo %s is relative to the home directory, and HOME is not set", name);
	if (n < 0 || (size_t)n >= len)
		return ms_err_set(e, MS_E_CONFIG, "msinfo %s: path too long", name);
	return 0;
}
