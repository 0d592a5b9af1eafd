/* config.c - mailsync's configuration grammar plus mstore's keywords
 * (config.h).  The tokenizer follows mailsync's get_token; the parser its
 * parse_config, with the checks mailsync leaves for later made here. */
#include "channel/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/str.h"
#include "util/vec.h"

/* ---- tokens ----------------------------------------------------------------- */

typedef struct lexer {
	const char *p, *end;
	const char *file;
	int line;
} lexer;

typedef struct token {
	char *text;   /* NULL at the end of the file */
	int line;
	bool quoted;  /* "..." : a value, never syntax */
} token;

static int lex_fail(const lexer *lx, int line, ms_err *e, const char *what)
{
	return ms_err_set(e, MS_E_CONFIG, "%s:%d: %s", lx->file, line, what);
}

typedef MS_VEC(char) charbuf;

static int buf_put(charbuf *b, char c, ms_err *e)
{
	if (ms_vec_push(b, c) < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory reading the configuration");
	return 0;
}

/* The next token into *t (t->text NULL at the end). */
static int next_token(lexer *lx, token *t, ms_err *e)
{
	charbuf b = { 0 };
	t->text = NULL;
	t->quoted = false;
	/* white space and comments: '#' starts one only where a token would start */
	for (;;) {
		while (lx->p < lx->end && isspace((unsigned char)*lx->p))
			lx->line += *lx->p++ == '\n';
		if (lx->p < lx->end && *lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		break;
	}
	t->line = lx->line;
	if (lx->p == lx->end)
		return 0;
	if (*lx->p == '"') {
		int open_line = lx->line;
		t->quoted = true;
		lx->p++;
		for (;;) {
			if (lx->p == lx->end) {
				free(b.v);
				char m[160];
				snprintf(m, sizeof m, "unterminated quoted string: the '\"' opened at line %d is not closed",
				         open_line);
				return lex_fail(lx, lx->line, e, m);
			}
			char c = *lx->p++;
			if (c == '"')
				break;
			if (c == '\\' && lx->p < lx->end)
				c = *lx->p++;
			lx->line += c == '\n';
			if (buf_put(&b, c, e) < 0)
				return free(b.v), -1;
		}
		if (lx->p < lx->end && !isspace((unsigned char)*lx->p)) {
			free(b.v);
			return lex_fail(lx, lx->line, e, "expected white space after a closing '\"'");
		}
	} else {
		while (lx->p < lx->end && !isspace((unsigned char)*lx->p)) {
			char c = *lx->p++;
			if (c == '\\') {
				if (lx->p == lx->end) {
					free(b.v);
					return lex_fail(lx, lx->line, e, "expected a character after '\\', found the end of the file");
				}
				c = *lx->p++;
				lx->line += c == '\n';
			}
			if (buf_put(&b, c, e) < 0)
				return free(b.v), -1;
		}
	}
	if (buf_put(&b, '\0', e) < 0)
		return free(b.v), -1;
	if (memchr(b.v, '\0', b.n - 1)) {
		free(b.v);
		return lex_fail(lx, t->line, e, "a NUL byte in a token (this is not a text file)");
	}
	t->text = b.v;
	return 0;
}

/* Is the token this piece of syntax (unquoted)? */
static bool is(const token *t, const char *word)
{
	return t->text && !t->quoted && strcmp(t->text, word) == 0;
}

/* ---- the parser ------------------------------------------------------------- */

typedef MS_VEC(ms_chan_store) store_vec;
typedef MS_VEC(ms_chan_channel) channel_vec;
typedef MS_VEC(ms_side_opt) opt_vec;

typedef struct parser {
	lexer lx;
	token t;
	store_vec stores;
	channel_vec channels;
	ms_err *e;
} parser;

static int advance(parser *ps)
{
	free(ps->t.text);
	ps->t.text = NULL;
	return next_token(&ps->lx, &ps->t, ps->e);
}

/* "FILE:LINE: CONTEXT: expected WHAT, found "TOKEN"" (or "the end of the file"). */
static int expected(parser *ps, const char *context, const char *what)
{
	char found[300];
	if (ps->t.text)
		snprintf(found, sizeof found, "\"%.250s\"", ps->t.text);
	else
		snprintf(found, sizeof found, "the end of the file");
	return ms_err_set(ps->e, MS_E_CONFIG, "%s:%d: %s%sexpected %s, found %s", ps->lx.file, ps->t.line,
	                  context ? context : "", context ? ": " : "", what, found);
}

static const char *const store_keys[] = {
	"pat", "prefix", "server", "ref", "passwd",  /* mailsync */
	"kind", "path", "layout", "inbox", "db", "data", "account", "host", "port", "tls", "user", "passfile",
	"passcmd", "tokencmd", "auth", "tls-verify", "cafile", "timeout", "allow-plaintext",  /* IMAP (drv_imap.c) */
	"specialuse", "trash",  /* IMAP */
	"create",  /* Maildir */
	NULL,
};
static const char *const channel_keys[] = {
	"msinfo", "passwd", "sizelimit",  /* mailsync */
	"maxdelete", "quarantinedays",
	NULL,
};

static bool known(const char *const *keys, const char *k)
{
	for (; *keys; keys++)
		if (strcmp(*keys, k) == 0)
			return true;
	return false;
}

static void key_list(const char *const *keys, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (const char *const *k = keys; *k && o < len; k++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", k == keys ? "" : ", ", *k);
}

static const char *opt_get(const opt_vec *o, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i].key, key) == 0)
			v = o->v[i].value;
	return v;
}

static void opts_free(ms_side_opt *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].key);
		free((char *)v[i].value);
	}
	free(v);
}

/* "{ KEY VALUE ... }" into *o; `what` is "store NAME" for messages. */
static int parse_block(parser *ps, const char *what, const char *const *keys, opt_vec *o)
{
	char ctx[300];
	snprintf(ctx, sizeof ctx, "%s", what);
	if (advance(ps) < 0)
		return -1;
	if (!is(&ps->t, "{"))
		return expected(ps, ctx, "\"{\"");
	int open_line = ps->t.line;
	for (;;) {
		if (advance(ps) < 0)
			return -1;
		if (is(&ps->t, "}"))
			return 0;
		if (!ps->t.text) {
			char m[120];
			snprintf(m, sizeof m, "\"}\" (the block opened at line %d is not closed)", open_line);
			return expected(ps, ctx, m);
		}
		if (ps->t.quoted || !known(keys, ps->t.text)) {
			char list[400], m[460];
			key_list(keys, list, sizeof list);
			snprintf(m, sizeof m, "a keyword (%s) or \"}\"", list);
			return expected(ps, ctx, m);
		}
		char *key = ps->t.text;
		ps->t.text = NULL;
		if (advance(ps) < 0)
			return free(key), -1;
		if (!ps->t.text || (is(&ps->t, "}"))) {
			char m[120];
			snprintf(m, sizeof m, "a value after \"%s\" (write \"\" for an empty one)", key);
			free(key);
			return expected(ps, ctx, m);
		}
		ms_side_opt opt = { key, ps->t.text };
		if (ms_vec_push(o, opt) < 0) {
			free(key);
			return ms_err_set(ps->e, MS_E_NOMEM, "out of memory reading the configuration");
		}
		ps->t.text = NULL;
	}
}

/* Where the name was defined first, or 0. */
static int defined_at(const parser *ps, const char *name, const char **what)
{
	for (size_t i = 0; i < ps->stores.n; i++)
		if (strcmp(ps->stores.v[i].name, name) == 0)
			return *what = "store", ps->stores.v[i].line;
	for (size_t i = 0; i < ps->channels.n; i++)
		if (strcmp(ps->channels.v[i].name, name) == 0)
			return *what = "channel", ps->channels.v[i].line;
	return 0;
}

/* A NAME token (for `store NAME`, `channel NAME A B`): not syntax, not
 * empty.  Takes it out of ps->t into *out. */
static int take_name(parser *ps, const char *context, const char *what, char **out, int *line)
{
	if (advance(ps) < 0)
		return -1;
	if (!ps->t.text || is(&ps->t, "{") || is(&ps->t, "}") || !ps->t.text[0])
		return expected(ps, context, what);
	*out = ps->t.text;
	*line = ps->t.line;
	ps->t.text = NULL;
	return 0;
}

static int check_unique(parser *ps, const char *name, int line)
{
	const char *what;
	int at = defined_at(ps, name, &what);
	if (at)
		return ms_err_set(ps->e, MS_E_CONFIG,
		                  "%s:%d: the name \"%s\" is already used by the %s at line %d (stores and channels share one "
		                  "namespace)", ps->lx.file, line, name, what, at);
	return 0;
}

/* ---- values ------------------------------------------------------------------ */

static int bad_value(parser *ps, int line, const char *owner, const char *key, const char *value, const char *want)
{
	return ms_err_set(ps->e, MS_E_CONFIG, "%s:%d: %s: %s \"%s\": expected %s", ps->lx.file, line, owner, key, value,
	                  want);
}

static bool one_of(const char *v, const char *a, const char *b, const char *c, const char *d)
{
	return (a && strcmp(v, a) == 0) || (b && strcmp(v, b) == 0) || (c && strcmp(v, c) == 0) ||
	       (d && strcmp(v, d) == 0);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!*s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* What each kind needs, checked where the store is defined. */
static int check_store(parser *ps, ms_chan_store *s)
{
	char owner[300];
	snprintf(owner, sizeof owner, "store %s", s->name);
	const char *f = ps->lx.file;
	if (s->kind && !one_of(s->kind, "maildir", "mbox", "hmailserver", "imap"))
		return bad_value(ps, s->line, owner, "kind", s->kind, "maildir, mbox, hmailserver or imap");
	if (s->tls && !one_of(s->tls, "implicit", "starttls", "none", NULL))
		return bad_value(ps, s->line, owner, "tls", s->tls, "implicit, starttls or none");
	if (s->layout && !one_of(s->layout, "maildir++", "verbatim", NULL, NULL))
		return bad_value(ps, s->line, owner, "layout", s->layout,
		                 "maildir++ (.Sub.Folder directories) or verbatim (Sub/Folder directories)");
	if (s->create && !one_of(s->create, "yes", "no", NULL, NULL))
		return bad_value(ps, s->line, owner, "create", s->create, "yes or no");
	uint64_t port;
	if (s->port && (!parse_u64(s->port, &port) || port < 1 || port > 65535))
		return bad_value(ps, s->line, owner, "port", s->port, "a number from 1 to 65535");
	bool has_server = s->server && *s->server;
	if (has_server && s->kind && strcmp(s->kind, "imap") != 0)
		return ms_err_set(ps->e, MS_E_CONFIG, "%s:%d: %s: \"server\" is for IMAP stores, not kind %s", f, s->line,
		                  owner, s->kind);
	if (!s->kind && has_server)
		s->kind = "imap"; /* mailsync: a store with a server is remote */
	if (!s->kind)
		return 0; /* a local mailsync store */
	if (strcmp(s->kind, "hmailserver") == 0 && (!s->db || !s->data || !s->account))
		return ms_err_set(ps->e, MS_E_CONFIG, "%s:%d: %s: kind hmailserver needs db URL, data DIR and account ADDRESS",
		                  f, s->line, owner);
	if ((strcmp(s->kind, "maildir") == 0 || strcmp(s->kind, "mbox") == 0) && (!s->path || !*s->path))
		return ms_err_set(ps->e, MS_E_CONFIG, "%s:%d: %s: kind %s needs path DIR", f, s->line, owner, s->kind);
	if (strcmp(s->kind, "imap") == 0 && !has_server && (!s->host || !*s->host))
		return ms_err_set(ps->e, MS_E_CONFIG, "%s:%d: %s: kind imap needs host NAME (or a mailsync server {HOST})",
		                  f, s->line, owner);
	return 0;
}

static int parse_store(parser *ps)
{
	ms_chan_store s = { 0 };
	opt_vec o = { 0 };
	if (take_name(ps, "store", "a store name", &s.name, &s.line) < 0)
		return -1;
	char what[300];
	snprintf(what, sizeof what, "store %s", s.name);
	if (check_unique(ps, s.name, s.line) < 0 || parse_block(ps, what, store_keys, &o) < 0)
		goto fail;
	s.opts = o.v;
	s.nopts = o.n;
	s.kind = opt_get(&o, "kind");
	s.pat = opt_get(&o, "pat");
	s.prefix = opt_get(&o, "prefix");
	s.server = opt_get(&o, "server");
	s.ref = opt_get(&o, "ref");
	s.passwd = opt_get(&o, "passwd");
	s.path = opt_get(&o, "path");
	s.layout = opt_get(&o, "layout");
	s.inbox = opt_get(&o, "inbox");
	s.db = opt_get(&o, "db");
	s.data = opt_get(&o, "data");
	s.account = opt_get(&o, "account");
	s.host = opt_get(&o, "host");
	s.port = opt_get(&o, "port");
	s.tls = opt_get(&o, "tls");
	s.user = opt_get(&o, "user");
	s.passfile = opt_get(&o, "passfile");
	s.create = opt_get(&o, "create");
	if (check_store(ps, &s) < 0)
		goto fail;
	if (ms_vec_push(&ps->stores, s) < 0) {
		ms_err_set(ps->e, MS_E_NOMEM, "out of memory reading the configuration");
		goto fail;
	}
	return 0;
fail:
	opts_free(o.v, o.n);
	free(s.name);
	return -1;
}

static int check_channel(parser *ps, ms_chan_channel *c)
{
	char owner[300];
	snprintf(owner, sizeof owner, "channel %s", c->name);
	for (size_t i = 0; i < c->nopts; i++) {
		const char *k = c->opts[i].key, *v = c->opts[i].value;
		uint64_t n;
		if (strcmp(k, "sizelimit") == 0) {
			if (!parse_u64(v, &n))
				return bad_value(ps, c->line, owner, k, v, "a size in bytes (0: no limit)");
			c->has_sizelimit = true;
			c->sizelimit = n;
		} else if (strcmp(k, "maxdelete") == 0) {
			char num[32];
			size_t l = strlen(v);
			if (l && v[l - 1] == '%')
				l--; /* "20%" is 20 */
			if (l >= sizeof num || (memcpy(num, v, l), num[l] = '\0', !parse_u64(num, &n)) || n > 100)
				return bad_value(ps, c->line, owner, k, v, "a percentage from 0 to 100");
			c->maxdelete = (int)n;
		} else if (strcmp(k, "quarantinedays") == 0) {
			if (!parse_u64(v, &n) || n > 36500)
				return bad_value(ps, c->line, owner, k, v, "a number of days from 0 (for ever) to 36500");
			c->quarantinedays = (long)n;
		} else if (strcmp(k, "msinfo") == 0) {
			c->msinfo = v;
		} else if (strcmp(k, "passwd") == 0) {
			c->passwd = v;
		}
	}
	return 0;
}

static int parse_channel(parser *ps)
{
	ms_chan_channel c = { .maxdelete = -1, .quarantinedays = -1 };
	opt_vec o = { 0 };
	int l;
	if (take_name(ps, "channel", "a channel name", &c.name, &c.line) < 0)
		return -1;
	char what[300];
	snprintf(what, sizeof what, "channel %s", c.name);
	if (check_unique(ps, c.name, c.line) < 0 ||
	    take_name(ps, what, "the name of its first store", &c.store_name[0], &l) < 0 ||
	    take_name(ps, what, "the name of its second store", &c.store_name[1], &l) < 0 ||
	    parse_block(ps, what, channel_keys, &o) < 0)
		goto fail;
	c.opts = o.v;
	c.nopts = o.n;
	if (check_channel(ps, &c) < 0)
		goto fail;
	if (ms_vec_push(&ps->channels, c) < 0) {
		ms_err_set(ps->e, MS_E_NOMEM, "out of memory reading the configuration");
		goto fail;
	}
	return 0;
fail:
	opts_free(o.v, o.n);
	free(c.name);
	free(c.store_name[0]);
	free(c.store_name[1]);
	return -1;
}

/* After the whole file: each channel's stores exist (they may be defined
 * after it) and are two different stores. */
static int resolve_channels(parser *ps, ms_chan_config *cfg)
{
	for (size_t i = 0; i < cfg->nchannels; i++) {
		ms_chan_channel *c = &cfg->channels[i];
		for (int k = 0; k < 2; k++) {
			c->store[k] = ms_chan_config_store(cfg, c->store_name[k]);
			if (c->store[k])
				continue;
			const char *what = ms_chan_config_channel(cfg, c->store_name[k]) ? " (that is a channel)" : "";
			return ms_err_set(ps->e, MS_E_CONFIG, "%s:%d: channel %s: expected the name of a store, found \"%s\"%s",
			                  ps->lx.file, c->line, c->name, c->store_name[k], what);
		}
		if (c->store[0] == c->store[1])
			return ms_err_set(ps->e, MS_E_CONFIG, "%s:%d: channel %s: expected two different stores, found %s twice",
			                  ps->lx.file, c->line, c->name, c->store_name[0]);
	}
	return 0;
}

int ms_chan_config_parse(const char *text, size_t len, const char *file, ms_chan_config *out, ms_err *e)
{
	assert(out);
	memset(out, 0, sizeof *out);
	parser ps = { .lx = { text, text + len, file, 1 }, .e = e };
	int rc = 0;
	for (;;) {
		if ((rc = advance(&ps)) < 0 || !ps.t.text)
			break;
		if (is(&ps.t, "store"))
			rc = parse_store(&ps);
		else if (is(&ps.t, "channel"))
			rc = parse_channel(&ps);
		else
			rc = expected(&ps, NULL, "\"store\" or \"channel\"");
		if (rc < 0)
			break;
	}
	free(ps.t.text);
	out->stores = ps.stores.v;
	out->nstores = ps.stores.n;
	out->channels = ps.channels.v;
	out->nchannels = ps.channels.n;
	out->file = strdup(file);
	if (rc == 0 && !out->file)
		rc = ms_err_set(e, MS_E_NOMEM, "out of memory reading the configuration");
	if (rc == 0)
		rc = resolve_channels(&ps, out);
	if (rc < 0)
		ms_chan_config_free(out);
	return rc;
}

int ms_chan_config_read(const char *path, ms_chan_config *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "r");
	if (!f)
		return ms_err_set(e, MS_E_IO, "cannot read the channel configuration %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		fclose(f);
		return ms_err_set(e, MS_E_IO, "cannot read the channel configuration %s: not a regular file", path);
	}
	char *buf;
	size_t len;
	if (ms_read_stream(f, "the channel configuration", path, &buf, &len, e) < 0)
		return -1;
	int rc = ms_chan_config_parse(buf, len, path, out, e);
	free(buf);
	return rc;
}

void ms_chan_config_free(ms_chan_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nstores; i++) {
		free(c->stores[i].name);
		opts_free(c->stores[i].opts, c->stores[i].nopts);
	}
	for (size_t i = 0; i < c->nchannels; i++) {
		free(c->channels[i].name);
		free(c->channels[i].store_name[0]);
		free(c->channels[i].store_name[1]);
		opts_free(c->channels[i].opts, c->channels[i].nopts);
	}
	free(c->stores);
	free(c->channels);
	free(c->file);
	memset(c, 0, sizeof *c);
}

const ms_chan_store *ms_chan_config_store(const ms_chan_config *c, const char *name)
{
	for (size_t i = 0; i < c->nstores; i++)
		if (strcmp(c->stores[i].name, name) == 0)
			return &c->stores[i];
	return NULL;
}

const ms_chan_channel *ms_chan_config_channel(const ms_chan_config *c, const char *name)
{
	for (size_t i = 0; i < c->nchannels; i++)
		if (strcmp(c->channels[i].name, name) == 0)
			return &c->channels[i];
	return NULL;
}

int ms_chan_config_default_path(char *buf, size_t len, ms_err *e)
{
	const char *home = getenv("HOME");
	if (!home || !*home)
		return ms_err_set(e, MS_E_CONFIG, "HOME is not set: name the channel configuration with -f FILE");
	struct stat st;
	snprintf(buf, len, "%s/.config/mstore/channels.conf", home);
	if (stat(buf, &st) == 0)
		return 0;
	snprintf(buf, len, "%s/.mailsync", home);
	return 0;
}

/* ---- side configuration ---------------------------------------------------- */

static int add_opt(opt_vec *o, const char *k, const char *v, size_t vlen, ms_err *e)
{
	ms_side_opt opt = { strdup(k), strndup(v, vlen) };
	if (!opt.key || !opt.value || ms_vec_push(o, opt) < 0) {
		free((char *)opt.key);
		free((char *)opt.value);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	return 0;
}

/* The first line of the password file, without its line end. */
static int read_passfile(const ms_chan_store *s, opt_vec *o, ms_err *e)
{
	FILE *f = fopen(s->passfile, "r");
	if (!f)
		return ms_err_set(e, MS_E_CONFIG, "store %s: cannot read the passfile %s: %s", s->name, s->passfile,
		                  strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return ms_err_set(e, MS_E_CONFIG, "store %s: the passfile %s is empty", s->name, s->passfile);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	int rc = add_opt(o, "password", line, (size_t)n, e);
	free(line);
	return rc;
}

/* {HOST[:PORT][/flag...][/user=NAME]}: what the keywords do not say already. */
static int server_spec(const ms_chan_store *s, opt_vec *o, ms_err *e)
{
	const char *p = s->server;
	if (!p || *p != '{')
		return 0;
	const char *close = strchr(p, '}');
	if (!close)
		return ms_err_set(e, MS_E_CONFIG, "store %s: server \"%s\": expected {HOST[:PORT][/FLAGS]}", s->name, p);
	p++;
	size_t hl = strcspn(p, ":/}");
	if (!s->host && add_opt(o, "host", p, hl, e) < 0)
		return -1;
	p += hl;
	if (*p == ':') {
		size_t pl = strcspn(++p, "/}");
		if (!s->port && add_opt(o, "port", p, pl, e) < 0)
			return -1;
		p += pl;
	}
	while (*p == '/') {
		size_t fl = strcspn(++p, "/}");
		const char *tls = NULL;
		if (fl == 3 && strncmp(p, "ssl", 3) == 0)
			tls = "implicit";
		else if (fl == 3 && strncmp(p, "tls", 3) == 0)
			tls = "starttls";
		else if (fl == 5 && strncmp(p, "notls", 5) == 0)
			tls = "none";
		else if (fl > 5 && strncmp(p, "user=", 5) == 0 && !s->user && add_opt(o, "user", p + 5, fl - 5, e) < 0)
			return -1;
		else if (fl == 15 && strncmp(p, "novalidate-cert", 15) == 0 && add_opt(o, "novalidate-cert", "yes", 3, e) < 0)
			return -1;
		if (tls && !s->tls && add_opt(o, "tls", tls, strlen(tls), e) < 0)
			return -1;
		p += fl;
	}
	return 0;
}

int ms_chan_side_conf(const ms_chan_store *s, bool read_only, ms_side_conf *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	opt_vec o = { 0 };
	for (size_t i = 0; i < s->nopts; i++)
		if (strcmp(s->opts[i].key, "passwd") != 0 && strcmp(s->opts[i].key, "passfile") != 0 &&
		    add_opt(&o, s->opts[i].key, s->opts[i].value, strlen(s->opts[i].value), e) < 0)
			goto fail;
	if (s->kind && !opt_get(&o, "kind") && add_opt(&o, "kind", s->kind, strlen(s->kind), e) < 0)
		goto fail;
	if (s->passwd ? add_opt(&o, "password", s->passwd, strlen(s->passwd), e) < 0
	              : s->passfile && read_passfile(s, &o, e) < 0)
		goto fail;
	if (server_spec(s, &o, e) < 0)
		goto fail;
	out->name = s->name;
	out->opts = o.v;
	out->nopts = o.n;
	out->read_only = read_only;
	return 0;
fail:
	opts_free(o.v, o.n);
	return -1;
}

void ms_chan_side_conf_free(ms_side_conf *c)
{
	if (!c)
		return;
	opts_free((ms_side_opt *)c->opts, c->nopts);
	memset(c, 0, sizeof *c);
}
