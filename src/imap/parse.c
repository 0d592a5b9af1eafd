/* parse.c - tokens of an IMAP response and modified UTF-7 names (imap.h).
 * Pure functions over memory: unit-tested on canned responses. */
#include "imap/imap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_atom_char(unsigned char ch)
{
	/* RFC 3501's atom-specials less '%', '*' (list wildcards, "\\*") and
	   ']' (resp-specials): servers send all three inside atoms */
	return ch > 0x20 && ch < 0x7f && ch != '(' && ch != ')' && ch != '{' && ch != '"';
}

/* "{N}" or "{N+}" then CRLF at p: the literal's length and where it starts. */
static bool literal_at(const char *p, const char *end, size_t *len, const char **start)
{
	assert(*p == '{');
	uint64_t n = 0;
	const char *q = p + 1;
	if (q >= end || *q < '0' || *q > '9')
		return false;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		n = n * 10 + (uint64_t)(*q - '0');
		if (n > ((uint64_t)1 << 40))
			return false;
	}
	if (q < end && *q == '+')
		q++;
	if (end - q < 3 || q[0] != '}' || q[1] != '\r' || q[2] != '\n')
		return false;
	q += 3;
	if ((uint64_t)(end - q) < n)
		return false;
	*len = (size_t)n;
	*start = q;
	return true;
}

ms_imap_ttype ms_imap_next(ms_imap_cur *c, ms_imap_tok *t)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	t->s = c->p;
	t->len = 0;
	if (c->p >= c->end)
		return t->type = MS_IMAP_T_END;
	char ch = *c->p;
	if (ch == '(' || ch == ')') {
		c->p++;
		t->len = 1;
		return t->type = ch == '(' ? MS_IMAP_T_LP : MS_IMAP_T_RP;
	}
	if (ch == '"') {
		const char *q = c->p + 1;
		while (q < c->end && *q != '"') {
			if (*q == '\\' && q + 1 < c->end)
				q++;
			if (*q == '\r' || *q == '\n')
				return t->type = MS_IMAP_T_BAD;
			q++;
		}
		if (q >= c->end)
			return t->type = MS_IMAP_T_BAD;
		t->s = c->p + 1;
		t->len = (size_t)(q - t->s);
		c->p = q + 1;
		return t->type = MS_IMAP_T_QUOTED;
	}
	if (ch == '{') {
		size_t n;
		const char *start;
		if (!literal_at(c->p, c->end, &n, &start))
			return t->type = MS_IMAP_T_BAD;
		t->s = start;
		t->len = n;
		c->p = start + n;
		return t->type = MS_IMAP_T_LITERAL;
	}
	const char *q = c->p;
	while (q < c->end && (is_atom_char((unsigned char)*q) || *q == '[')) {
		if (*q == '[') {
			const char *close = memchr(q, ']', (size_t)(c->end - q));
			if (!close)
				return t->type = MS_IMAP_T_BAD;
			q = close;
		}
		q++;
	}
	if (q == c->p) /* a byte no token starts with: a CTL, a stray '"' */
		return t->type = MS_IMAP_T_BAD;
	t->len = (size_t)(q - c->p);
	c->p = q;
	if (t->len == 3 && strncasecmp(t->s, "NIL", 3) == 0)
		return t->type = MS_IMAP_T_NIL;
	return t->type = MS_IMAP_T_ATOM;
}

ms_imap_ttype ms_imap_skip(ms_imap_cur *c)
{
	ms_imap_tok t;
	ms_imap_ttype ty = ms_imap_next(c, &t);
	if (ty != MS_IMAP_T_LP)
		return ty;
	for (int depth = 1; depth > 0;) {
		ty = ms_imap_next(c, &t);
		if (ty == MS_IMAP_T_END || ty == MS_IMAP_T_BAD)
			return MS_IMAP_T_BAD;
		depth += ty == MS_IMAP_T_LP ? 1 : ty == MS_IMAP_T_RP ? -1 : 0;
	}
	return MS_IMAP_T_LP;
}

char *ms_imap_tok_dup(const ms_imap_tok *t)
{
	if (t->type == MS_IMAP_T_NIL || t->type == MS_IMAP_T_END || t->type == MS_IMAP_T_BAD)
		return NULL;
	char *out = malloc(t->len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < t->len; i++) {
		if (t->type == MS_IMAP_T_QUOTED && t->s[i] == '\\' && i + 1 < t->len)
			i++;
		out[o++] = t->s[i];
	}
	out[o] = '\0';
	return out;
}

bool ms_imap_tok_is(const ms_imap_tok *t, const char *word)
{
	return t->type == MS_IMAP_T_ATOM && strlen(word) == t->len && strncasecmp(t->s, word, t->len) == 0;
}

bool ms_imap_tok_num(const ms_imap_tok *t, uint64_t *v)
{
	if (t->type != MS_IMAP_T_ATOM || t->len == 0 || t->len > 19)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < t->len; i++) {
		if (t->s[i] < '0' || t->s[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(t->s[i] - '0');
	}
	*v = n;
	return true;
}

/* ---- modified UTF-7 ---------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_val(char ch)
{
	const char *p = ch ? strchr(b64, ch) : NULL;
	return p ? (int)(p - b64) : -1;
}

/* Append code point cp as UTF-8. */
static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The base64 run s[0..n) as UTF-16BE into UTF-8 at o; -1 when invalid. */
static long decode_run(const char *s, size_t n, char *o)
{
	uint32_t bits = 0, nbits = 0, hi = 0;
	size_t w = 0, units = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(s[i]);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;
		units++;
		if (hi) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			w += put_utf8(o + w, 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00));
			hi = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			hi = u;
		} else if ((u >= 0xdc00 && u <= 0xdfff) || u < 0x20 || (u >= 0x20 && u < 0x7f)) {
			return -1; /* printable ASCII must not be encoded (RFC 3501 5.1.3) */
		} else {
			w += put_utf8(o + w, u);
		}
	}
	/* leftover bits must be zero padding, fewer than 6 */
	if (hi || units == 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)))
		return -1;
	return (long)w;
}

char *ms_imap_mutf7_decode(const char *s, size_t len)
{
	/* each 8/3 base64 chars make at most 4 bytes: 2*len bounds it */
	char *out = malloc(2 * len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch > 0x7e)
			goto bad;
		if (ch != '&') {
			out[o++] = (char)ch;
			i++;
			continue;
		}
		const char *dash = memchr(s + i, '-', len - i);
		if (!dash)
			goto bad;
		size_t n = (size_t)(dash - (s + i + 1));
		if (n == 0) {
			out[o++] = '&';
		} else {
			long w = decode_run(s + i + 1, n, out + o);
			if (w < 0)
				goto bad;
			o += (size_t)w;
		}
		i += n + 2;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* The next code point of UTF-8 text at *p; -1 when invalid. */
static long next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t cp;
	int n;
	if (s[0] < 0x80)
		cp = s[0], n = 0;
	else if ((s[0] & 0xe0) == 0xc0)
		cp = s[0] & 0x1f, n = 1;
	else if ((s[0] & 0xf0) == 0xe0)
		cp = s[0] & 0x0f, n = 2;
	else if ((s[0] & 0xf8) == 0xf0)
		cp = s[0] & 0x07, n = 3;
	else
		return -1;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*p = s + n + 1;
	return (long)cp;
}

char *ms_imap_mutf7_encode(const char *s)
{
	size_t len = strlen(s);
	/* worst case: every char a 4-byte code point as 2 units, ~6 b64 chars each, + shifts */
	char *out = malloc(len * 4 + 3);
	if (!out)
		return NULL;
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (*p >= 0x20 && *p < 0x7f) {
			out[o++] = (char)*p;
			if (*p++ == '&')
				out[o++] = '-';
			continue;
		}
		out[o++] = '&';
		uint32_t bits = 0, nbits = 0;
		while (*p && (*p < 0x20 || *p >= 0x7f)) {
			long cp = next_cp(&p);
			if (cp < 0) {
				free(out);
				return NULL;
			}
			uint32_t units[2], nu = 1;
			if (cp >= 0x10000) {
				units[0] = 0xd800 + (((uint32_t)cp - 0x10000) >> 10);
				units[1] = 0xdc00 + (((uint32_t)cp - 0x10000) & 0x3ff);
				nu = 2;
			} else {
				units[0] = (uint32_t)cp;
			}
			for (uint32_t k = 0; k < nu; k++) {
				bits = (bits << 16) | units[k];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					out[o++] = b64[(bits >> nbits) & 0x3f];
				}
			}
		}
		if (nbits)
			out[o++] = b64[(bits << (6 - nbits)) & 0x3f];
		out[o++] = '-';
	}
	out[o] = '\0';
	return out;
}

char *ms_imap_quote(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(2 * len + 3);
	if (!out)
		return NULL;
	size_t o = 0;
	out[o++] = '"';
	for (; *s; s++) {
		if (*s == '\r' || *s == '\n') {
			free(out);
			return NULL;
		}
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
