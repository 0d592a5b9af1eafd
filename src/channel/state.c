/* state.c - the channel state file (see state.h). */
#include "channel/state.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/driver.h"

void (*ms_state_before_rename)(const char *tmp_path);

static const struct { unsigned flag; char letter; } flag_letters[] = {
	{ MS_FLAG_DRAFT, 'D' }, { MS_FLAG_FLAGGED, 'F' }, { MS_FLAG_ANSWERED, 'R' },
	{ MS_FLAG_SEEN, 'S' },  { MS_FLAG_DELETED, 'T' },
};
#define NLETTERS (sizeof flag_letters / sizeof flag_letters[0])

/* ---- records ------------------------------------------------------------------ */

/* The strings stay in the pair's arena (ms_state_pair.strings). */
static void msg_clear(ms_state_msg *m)
{
	*m = (ms_state_msg){ 0 };
}

static void pair_free(ms_state_pair *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->msgs.n; i++)
		msg_clear(&p->msgs.v[i]);
	ms_vec_free(&p->msgs);
	if (p->by_ident)
		g_hash_table_destroy(p->by_ident);
	ms_arena_free(&p->strings);
	free(p->box[0]);
	free(p->box[1]);
	free(p);
}

void ms_state_free(ms_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->pairs.n; i++)
		pair_free(st->pairs.v[i]);
	ms_vec_free(&st->pairs);
	if (st->lock_fd >= 0)
		close(st->lock_fd);   /* releases the lock */
	free(st->path);
	free(st->channel);
	free(st);
}

int ms_state_lock(ms_state *st, ms_err *e)
{
	if (st->lock_fd >= 0)
		return 0;
	char *path = g_strdup_printf("%s.lock", st->path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int rc = 0;
	if (fd < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot open the channel lock %s: %s", path, strerror(errno));
	else if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		rc = ms_err_set(e, errno == EAGAIN || errno == EACCES ? MS_E_EXISTS : MS_E_IO,
		                "channel %s is in use: another run holds its lock %s (%s)", st->channel, path,
		                strerror(errno));
	if (rc < 0 && fd >= 0)
		close(fd);
	else if (rc == 0)
		st->lock_fd = fd;
	g_free(path);
	return rc;
}

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

ms_state_pair *ms_state_pair_get(ms_state *st, const char *box_a, const char *box_b, bool create)
{
	for (size_t i = 0; i < st->pairs.n; i++)
		if (same(st->pairs.v[i]->box[0], box_a) && same(st->pairs.v[i]->box[1], box_b))
			return st->pairs.v[i];
	if (!create)
		return NULL;
	ms_state_pair *p = calloc(1, sizeof *p);
	if (!p || !(p->box[0] = strdup(box_a ? box_a : "")) || !(p->box[1] = strdup(box_b ? box_b : "")) ||
	    ms_vec_push(&st->pairs, p) < 0) {
		pair_free(p);
		return NULL;
	}
	return p;
}

static GHashTable *index_of(ms_state_pair *p)
{
	if (!p->by_ident) {
		p->by_ident = g_hash_table_new(g_str_hash, g_str_equal);
		for (size_t i = 0; i < p->msgs.n; i++)
			if (p->msgs.v[i].status)
				g_hash_table_insert(p->by_ident, p->msgs.v[i].ident, GSIZE_TO_POINTER(i + 1));
	}
	return p->by_ident;
}

ms_state_msg *ms_state_find(ms_state_pair *p, const char *ident)
{
	size_t i = GPOINTER_TO_SIZE(g_hash_table_lookup(index_of(p), ident));
	return i ? &p->msgs.v[i - 1] : NULL;
}

/* A copy in the pair's arena; the same pointer when it holds s already
 * (a record put again with its own strings). */
static char *keep(ms_state_pair *p, const char *s, const char *had)
{
	if (!s)
		return NULL;
	if (had && strcmp(had, s) == 0)
		return (char *)had;
	return ms_arena_copy(&p->strings, s, strlen(s));
}

ms_state_msg *ms_state_put(ms_state_pair *p, const char *ident, const char *key_a, const char *key_b, unsigned flags,
                           const char *keywords, char status)
{
	ms_state_msg *old = ms_state_find(p, ident);
	ms_state_msg m = { .ident = old ? old->ident : keep(p, ident, NULL),
	                   .key = { keep(p, key_a, old ? old->key[0] : NULL), keep(p, key_b, old ? old->key[1] : NULL) },
	                   .flags = flags, .keywords = keep(p, keywords, old ? old->keywords : NULL),
	                   .status = status };
	if (!m.ident || (key_a && !m.key[0]) || (key_b && !m.key[1]) || (keywords && !m.keywords))
		return NULL;
	if (old) {
		/* the index points at old->ident: keep that pointer's owner in place */
		g_hash_table_remove(index_of(p), ident);
		msg_clear(old);
		*old = m;
		g_hash_table_insert(index_of(p), old->ident, GSIZE_TO_POINTER((size_t)(old - p->msgs.v) + 1));
		return old;
	}
	if (ms_vec_push(&p->msgs, m) < 0)
		return NULL;
	g_hash_table_insert(index_of(p), p->msgs.v[p->msgs.n - 1].ident, GSIZE_TO_POINTER(p->msgs.n));
	return &p->msgs.v[p->msgs.n - 1];
}

void ms_state_forget(ms_state_pair *p, const char *ident)
{
	ms_state_msg *m = ms_state_find(p, ident);
	if (!m)
		return;
	g_hash_table_remove(index_of(p), ident);
	msg_clear(m);   /* status 0: skipped when saved */
}

size_t ms_state_count(const ms_state_pair *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->msgs.n; i++)
		n += p->msgs.v[i].status != 0;
	return n;
}

int ms_state_seed(ms_state *st, const char *box_a, const char *box_b, const char *const *idents, size_t n,
                  ms_err *e)
{
	ms_state_pair *p = ms_state_pair_get(st, box_a, box_b, true);
	if (!p)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (!ms_state_find(p, idents[i]) &&
		    !ms_state_put(p, idents[i], NULL, NULL, MS_STATE_FLAGS_UNKNOWN, NULL, '='))
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
	return 0;
}

/* ---- escaping ----------------------------------------------------------------- */

static bool needs_escape(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '%' || c == ',';
}

static void put_field(FILE *f, const char *s)
{
	if (!s) {
		fputc('-', f);
		return;
	}
	if (!*s) {
		fputc('%', f);
		return;
	}
	if (strcmp(s, "-") == 0) {
		fputs("%2D", f);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (needs_escape(*p))
			fprintf(f, "%%%02X", *p);
		else
			fputc(*p, f);
}

static int hexval(char c)
{
	return g_ascii_xdigit_value(c);
}

/* Decode a field in place; *out NULL for "-".  -1 on a bad escape. */
static int get_field(char *s, char **out)
{
	*out = NULL;
	if (strcmp(s, "-") == 0)
		return 0;
	if (strcmp(s, "%") == 0) {
		s[0] = '\0';
		*out = s;
		return 0;
	}
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
		if (l < 0)
			return -1;
		*o++ = (char)(h * 16 + l);
		p += 2;
	}
	*o = '\0';
	*out = s;
	return 0;
}

static void put_flags(FILE *f, unsigned flags)
{
	if (flags == MS_STATE_FLAGS_UNKNOWN) {
		fputc('?', f);
		return;
	}
	if (!(flags & MS_FLAGS_ALL)) {
		fputc('-', f);
		return;
	}
	for (size_t i = 0; i < NLETTERS; i++)
		if (flags & flag_letters[i].flag)
			fputc(flag_letters[i].letter, f);
}

static int get_flags(const char *s, unsigned *flags)
{
	*flags = 0;
	if (strcmp(s, "?") == 0) {
		*flags = MS_STATE_FLAGS_UNKNOWN;
		return 0;
	}
	if (strcmp(s, "-") == 0)
		return 0;
	for (; *s; s++) {
		size_t i = 0;
		while (i < NLETTERS && flag_letters[i].letter != *s)
			i++;
		if (i == NLETTERS)
			return -1;
		*flags |= flag_letters[i].flag;
	}
	return 0;
}

/* Keywords: space-separated in memory, comma-separated in the file. */
static void put_keywords(FILE *f, const char *kw)
{
	if (!kw || !*kw) {
		fputc('-', f);
		return;
	}
	char *copy = strdup(kw);
	if (!copy)
		return;
	bool first = true;
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (!first)
			fputc(',', f);
		put_field(f, w);
		first = false;
	}
	free(copy);
}

static int get_keywords(char *s, char **out)
{
	*out = NULL;
	if (strcmp(s, "-") == 0)
		return 0;
	GString *g = g_string_new(NULL);
	for (char *save = NULL, *w = strtok_r(s, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char *d;
		if (get_field(w, &d) < 0 || !d || !*d || strchr(d, ' ')) {
			g_string_free(g, TRUE);
			return -1;
		}
		if (g->len)
			g_string_append_c(g, ' ');
		g_string_append(g, d);
	}
	*out = strdup(g->str);
	g_string_free(g, TRUE);
	return *out ? 0 : -1;
}

/* ---- load --------------------------------------------------------------------- */

typedef struct loader {
	const char *path;
	unsigned line;
	ms_err *e;
} loader;

static int corrupt(loader *l, const char *what)
{
	return ms_err_set(l->e, MS_E_PARSE,
	                  "channel state %s is corrupt at line %u: %s; it was left as it is (move it away to "
	                  "re-pair every message by identity)",
	                  l->path, l->line, what);
}

/* Split `s` into at most `max` fields at single spaces. */
static size_t split(char *s, char **f, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n == max)
			return max + 1;
		f[n++] = w;
	}
	return n;
}

static int load_pair(loader *l, ms_state *st, char **f, size_t n, ms_state_pair **cur)
{
	char *a, *b, *end;
	if ((n != 5 && n != 7) || get_field(f[1], &a) < 0 || get_field(f[2], &b) < 0 || !a || !b)
		return corrupt(l, "a pair line needs two box names, two UIDVALIDITYs and optionally two mod-sequences");
	if (ms_state_pair_get(st, a, b, false))
		return corrupt(l, "the same folder pair twice");
	ms_state_pair *p = ms_state_pair_get(st, a, b, true);
	if (!p)
		return ms_err_set(l->e, MS_E_NOMEM, "out of memory");
	for (int i = 0; i < 2; i++) {
		errno = 0;
		unsigned long v = strtoul(f[3 + i], &end, 10);
		if (errno || *end || v > UINT32_MAX)
			return corrupt(l, "a UIDVALIDITY is not a number");
		p->uidvalidity[i] = (uint32_t)v;
	}
	for (int i = 0; n == 7 && i < 2; i++) {
		errno = 0;
		unsigned long long v = strtoull(f[5 + i], &end, 10);
		if (errno || *end || f[5 + i][0] == '-')
			return corrupt(l, "a mod-sequence is not a number");
		p->modseq[i] = v;
	}
	*cur = p;
	return 0;
}

static int load_msg(loader *l, ms_state_pair *p, char **f, size_t n)
{
	char *ident, *ka, *kb, *kw;
	unsigned flags;
	if (!p)
		return corrupt(l, "a message line before any pair line");
	if (n != 7 || get_field(f[1], &ident) < 0 || !ident || !*ident || get_field(f[2], &ka) < 0 ||
	    get_field(f[3], &kb) < 0 || get_flags(f[4], &flags) < 0 || get_keywords(f[5], &kw) < 0)
		return corrupt(l, "a message line needs identity, two keys, flags, keywords and status");
	char status = f[6][0];
	if (f[6][1] || (status != '=' && status != 'A' && status != 'B')) {
		free(kw);
		return corrupt(l, "a message's status is not =, A or B");
	}
	if (ms_state_find(p, ident)) {
		free(kw);
		return corrupt(l, "the same identity twice in one folder pair");
	}
	ms_state_msg *m = ms_state_put(p, ident, ka, kb, flags, kw, status);
	free(kw);
	return m ? 0 : ms_err_set(l->e, MS_E_NOMEM, "out of memory");
}

static int load_end(loader *l, ms_state *st, char **f, size_t n)
{
	size_t msgs = 0;
	for (size_t i = 0; i < st->pairs.n; i++)
		msgs += ms_state_count(st->pairs.v[i]);
	char want[64];
	snprintf(want, sizeof want, "%zu", st->pairs.n);
	if (n != 3 || strcmp(f[1], want) != 0)
		return corrupt(l, "the end line's pair count does not match");
	snprintf(want, sizeof want, "%zu", msgs);
	if (strcmp(f[2], want) != 0)
		return corrupt(l, "the end line's message count does not match");
	return 0;
}

static int load_header(loader *l, FILE *f, const char *channel, char **line, size_t *cap)
{
	char head[64];
	snprintf(head, sizeof head, "mstore-channel-state %d", MS_STATE_VERSION);
	l->line++;
	if (getline(line, cap, f) < 0 || strncmp(*line, "mstore-channel-state ", 21) != 0)
		return corrupt(l, "the first line is not \"mstore-channel-state VERSION\"");
	(*line)[strcspn(*line, "\n")] = '\0';
	if (strcmp(*line, head) != 0)
		return corrupt(l, "a format version this mstore does not know");
	l->line++;
	char *name;
	if (getline(line, cap, f) < 0 || strncmp(*line, "channel ", 8) != 0)
		return corrupt(l, "the second line is not \"channel NAME\"");
	(*line)[strcspn(*line, "\n")] = '\0';
	if (get_field(*line + 8, &name) < 0 || !name)
		return corrupt(l, "a bad channel name");
	if (strcmp(name, channel) != 0)
		return ms_err_set(l->e, MS_E_USAGE,
		                  "channel state %s belongs to channel \"%s\", not \"%s\": two channels cannot share "
		                  "a state file",
		                  l->path, name, channel);
	return 0;
}

static int load_body(loader *l, FILE *f, ms_state *st, char **line, size_t *cap)
{
	ms_state_pair *cur = NULL;
	bool ended = false;
	while (getline(line, cap, f) >= 0) {
		l->line++;
		size_t len = strlen(*line);
		if (len == 0 || (*line)[len - 1] != '\n')
			return corrupt(l, "the last line is cut short");
		(*line)[len - 1] = '\0';
		if (ended)
			return corrupt(l, "text after the end line");
		char *fld[8];
		size_t n = split(*line, fld, 7);
		int rc = 0;
		if (n == 0 || n > 7)
			rc = corrupt(l, "not a record");
		else if (strcmp(fld[0], "pair") == 0)
			rc = load_pair(l, st, fld, n, &cur);
		else if (strcmp(fld[0], "m") == 0)
			rc = load_msg(l, cur, fld, n);
		else if (strcmp(fld[0], "end") == 0) {
			rc = load_end(l, st, fld, n);
			ended = true;
		} else
			rc = corrupt(l, "an unknown record");
		if (rc < 0)
			return -1;
	}
	if (ferror(f))
		return ms_err_set(l->e, MS_E_IO, "cannot read channel state %s: %s", l->path, strerror(errno));
	if (!ended)
		return corrupt(l, "no end line: the file was cut short");
	return 0;
}

int ms_state_load(const char *path, const char *channel, ms_state **out, ms_err *e)
{
	*out = NULL;
	ms_state *st = calloc(1, sizeof *st);
	if (st)
		st->lock_fd = -1;
	if (!st || !(st->path = strdup(path)) || !(st->channel = strdup(channel))) {
		ms_state_free(st);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno != ENOENT) {
			ms_err_set(e, MS_E_IO, "cannot open channel state %s: %s", path, strerror(errno));
			ms_state_free(st);
			return -1;
		}
		*out = st;
		return 0;
	}
	st->existed = true;
	loader l = { .path = path, .e = e };
	char *line = NULL;
	size_t cap = 0;
	int rc = load_header(&l, f, channel, &line, &cap) < 0 ? -1 : load_body(&l, f, st, &line, &cap);
	free(line);
	fclose(f);
	if (rc < 0) {
		ms_state_free(st);
		return -1;
	}
	*out = st;
	return 0;
}

/* ---- save --------------------------------------------------------------------- */

static void write_all(FILE *f, const ms_state *st)
{
	size_t msgs = 0;
	fprintf(f, "mstore-channel-state %d\nchannel ", MS_STATE_VERSION);
	put_field(f, st->channel);
	fputc('\n', f);
	for (size_t i = 0; i < st->pairs.n; i++) {
		const ms_state_pair *p = st->pairs.v[i];
		fputs("pair ", f);
		put_field(f, p->box[0]);
		fputc(' ', f);
		put_field(f, p->box[1]);
		fprintf(f, " %u %u", p->uidvalidity[0], p->uidvalidity[1]);
		if (p->modseq[0] || p->modseq[1])   /* older files (and runs without CONDSTORE) have none */
			fprintf(f, " %llu %llu", (unsigned long long)p->modseq[0], (unsigned long long)p->modseq[1]);
		fputc('\n', f);
		for (size_t j = 0; j < p->msgs.n; j++) {
			const ms_state_msg *m = &p->msgs.v[j];
			if (!m->status)
				continue;
			fputs("m ", f);
			put_field(f, m->ident);
			fputc(' ', f);
			put_field(f, m->key[0]);
			fputc(' ', f);
			put_field(f, m->key[1]);
			fputc(' ', f);
			put_flags(f, m->flags);
			fputc(' ', f);
			put_keywords(f, m->keywords);
			fprintf(f, " %c\n", m->status);
			msgs++;
		}
	}
	fprintf(f, "end %zu %zu\n", st->pairs.n, msgs);
}

static int sync_dir_of(const char *path, ms_err *e)
{
	char *copy = strdup(path);
	if (!copy)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	const char *dir = dirname(copy);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc = fd < 0 || fsync(fd) < 0 ? -1 : 0;
	if (rc < 0)
		ms_err_set(e, MS_E_IO, "cannot sync directory %s of channel state %s: %s", dir, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int ms_state_save(ms_state *st, ms_err *e)
{
	size_t n = strlen(st->path) + 5;
	char *tmp = malloc(n);
	if (!tmp)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	snprintf(tmp, n, "%s.tmp", st->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		ms_err_set(e, MS_E_IO, "cannot write channel state %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return -1;
	}
	write_all(f, st);
	int rc = fflush(f) == 0 && !ferror(f) && fsync(fd) == 0 ? 0 : -1;
	if (rc < 0)
		ms_err_set(e, MS_E_IO, "cannot write channel state %s: %s", tmp, strerror(errno));
	if (fclose(f) != 0 && rc == 0)
		rc = ms_err_set(e, MS_E_IO, "cannot write channel state %s: %s", tmp, strerror(errno));
	if (rc == 0 && ms_state_before_rename)
		ms_state_before_rename(tmp);
	if (rc == 0 && rename(tmp, st->path) < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot rename %s to %s: %s", tmp, st->path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	else
		rc = sync_dir_of(st->path, e);
	free(tmp);
	return rc;
}
