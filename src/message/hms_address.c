/* hms_address.c - address lists read the way hMailServer reads them (see
 * header.h, ms_hms_address_each).
 *
 * hMailServer does not use an RFC 5322 parser where it imports a file
 * (MailImporter: the sender for messagefrom, the To/CC recipients of a
 * queued file).  Its AddresslistParser cuts the value at unquoted commas
 * and reads each piece on its own: the text within the first <...>, else
 * the whole piece if it is a valid address by its own rule
 * (StringParser::IsValidEmailAddress), else nothing, which still makes an
 * entry "mailbox@domain" with both sides empty: "@".  So a group's members
 * are garbage ("Team: a@x" is not an address), a comment after an address
 * spoils it, and "From: MAILER-DAEMON" is the sender "@".  This file does
 * the same, written from that behaviour (hMailServer's
 * Common/Util/Parsing/AddresslistParser.cpp and StringParser.cpp), so that
 * mstore imports what hMailServer's synchronizer would.
 *
 * hMailServer works on UTF-16 text; here the text is UTF-8 and is stepped
 * through a character at a time, so that a backslash escapes a whole
 * character and lengths count what UTF-16 counts.
 */
#include "message/message_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/str.h"

/* hMailServer's splitter stops scanning after this many characters; the
 * rest of the value is then its last piece. */
#define MAX_SPLIT_STEPS 1000000
/* StringParser::IsValidEmailAddress: at most 254 characters (UTF-16). */
#define MAX_VALID_ADDRESS 254

/* Bytes of the UTF-8 character at s (1 for a stray byte). */
static size_t char_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	for (size_t i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return i;
	return n;
}

/* A string view: hMailServer's pieces are substrings of the value. */
typedef struct span {
	const char *p;
	size_t n;
} span;

static bool is_trim_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static span trim(span s)
{
	while (s.n && is_trim_space(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_trim_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

/* The text between the first pair of unescaped double quotes ("" when
 * the first quote is never closed). */
static span quoted_text(span s)
{
	size_t open = 0;
	bool inside = false;
	for (size_t i = 0; i < s.n; i += char_len(s.p + i)) {
		if (s.p[i] == '\\') {
			i += char_len(s.p + i);
			if (i >= s.n)
				break;
		} else if (s.p[i] == '"') {
			if (inside)
				return (span){ s.p + open + 1, i - open - 1 };
			open = i;
			inside = true;
		}
	}
	return (span){ s.p, 0 };
}

/* The text between the last '<' before the first '>' and that '>', both
 * outside double quotes; "" when there is no such pair. */
static span angle_text(span s)
{
	bool inside = false, have_lt = false;
	size_t lt = 0;
	for (size_t i = 0; i < s.n; i += char_len(s.p + i)) {
		char c = s.p[i];
		if (c == '\\') {
			i += char_len(s.p + i);
			if (i >= s.n)
				break;
		} else if (c == '"') {
			inside = !inside;
		} else if (!inside && c == '<') {
			lt = i;
			have_lt = true;
		} else if (!inside && c == '>') {
			return have_lt ? (span){ s.p + lt + 1, i - lt - 1 } : (span){ s.p, 0 };
		}
	}
	return (span){ s.p, 0 };
}

/* A growing NUL-terminated string; `oom` remembers a failed allocation. */
typedef struct buf {
	char *s;
	size_t n, cap;
	bool oom;
} buf;

static void buf_add(buf *b, const char *p, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->n, p, n);
	b->n += n;
	b->s[b->n] = '\0';
}

/* `s` with every `from` replaced by `to`, left to right (CStdString's
 * Replace). */
static void replace_all(buf *out, span s, const char *from, const char *to)
{
	size_t fl = strlen(from), i = 0, run = 0;
	while (i < s.n) {
		if (s.n - i >= fl && memcmp(s.p + i, from, fl) == 0) {
			buf_add(out, s.p + run, i - run);
			buf_add(out, to, strlen(to));
			i += fl;
			run = i;
		} else {
			i++;
		}
	}
	buf_add(out, s.p + run, s.n - run);
	if (!out->s && !out->oom)
		buf_add(out, "", 0);
}

/* hMailServer's UnescapeString: \" becomes ", then \\ becomes \. */
static void unescape(buf *out, span s)
{
	buf tmp = { 0 };
	replace_all(&tmp, s, "\\\"", "\"");
	if (!tmp.oom)
		replace_all(out, (span){ tmp.s, tmp.n }, "\\\\", "\\");
	out->oom |= tmp.oom;
	free(tmp.s);
}

/* Characters as UTF-16 counts them. */
static size_t utf16_length(span s)
{
	size_t n = 0;
	for (size_t i = 0; i < s.n; i += char_len(s.p + i))
		n += (unsigned char)s.p[i] >= 0xf0 ? 2 : 1;
	return n;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [d.d.d.d] with one to three digits each. */
static bool is_address_literal(span d)
{
	if (d.n < 9 || d.p[0] != '[' || d.p[d.n - 1] != ']')
		return false;
	size_t i = 1;
	for (int part = 0; part < 4; part++) {
		size_t digits = 0;
		while (i < d.n - 1 && d.p[i] >= '0' && d.p[i] <= '9' && digits < 4) {
			i++;
			digits++;
		}
		if (digits < 1 || digits > 3)
			return false;
		if (part < 3 && (i >= d.n - 1 || d.p[i++] != '.'))
			return false;
	}
	return i == d.n - 1;
}

/* Labels of letters, digits and '-', 1 to 63 long, starting and ending
 * with a letter or digit; at most 127 of them, 255 characters in all. */
static bool is_host_name(span d)
{
	if (d.n < 1 || d.n > 255)
		return false;
	size_t labels = 0, start = 0;
	for (size_t i = 0; i <= d.n; i++) {
		if (i < d.n && d.p[i] != '.') {
			if (!is_alnum(d.p[i]) && d.p[i] != '-')
				return false;
			continue;
		}
		size_t len = i - start;
		if (len < 1 || len > 63 || !is_alnum(d.p[start]) || !is_alnum(d.p[i - 1]))
			return false;
		labels++;
		start = i + 1;
	}
	return labels <= 127;
}

/* The local part rule: a quoted string without < > @ \ inside, or a run
 * without < > space @ \ ". */
static bool is_valid_local(span l)
{
	if (l.n >= 3 && l.p[0] == '"' && l.p[l.n - 1] == '"') {
		bool ok = true;
		for (size_t i = 1; i < l.n - 1 && ok; i++)
			ok = !strchr("<>@\\", l.p[i]);
		if (ok)
			return true;
	}
	if (l.n == 0)
		return false;
	for (size_t i = 0; i < l.n; i++)
		if (strchr("<> @\\\"", l.p[i]))
			return false;
	return true;
}

/* StringParser::IsValidEmailAddress.  Neither form of local part holds an
 * '@', so the first '@' divides the address. */
static bool is_valid_address(span s)
{
	if (utf16_length(s) > MAX_VALID_ADDRESS)
		return false;
	const char *at = memchr(s.p, '@', s.n);
	if (!at)
		return false;
	span local = { s.p, (size_t)(at - s.p) }, domain = { at + 1, s.n - local.n - 1 };
	return is_valid_local(local) && (is_address_literal(domain) || is_host_name(domain));
}

static span view(const buf *b)
{
	return (span){ b->s ? b->s : "", b->n };
}

/* The address part of one piece (AddresslistParser::ExtractParts): the
 * text in <...>, or the piece's display-name candidate if that is a valid
 * address, else "".  Returns false on out-of-memory. */
static bool piece_address(span piece, buf *addr)
{
	buf name = { 0 };
	unescape(&name, quoted_text(piece));
	unescape(addr, angle_text(piece));
	if (name.n == 0) {
		/* no quoted name: the text before the first '<' (at > 0) */
		const char *lt = memchr(piece.p, '<', piece.n);
		if (lt && lt > piece.p) {
			span before = trim((span){ piece.p, (size_t)(lt - piece.p) });
			buf_add(&name, before.p, before.n);
		}
	}
	if (name.n == 0)
		buf_add(&name, view(addr).p, addr->n);
	if (name.n == 0 && addr->n == 0)
		buf_add(&name, piece.p, piece.n);
	if (addr->n == 0 && is_valid_address(view(&name)))
		buf_add(addr, name.s, name.n);
	bool ok = !name.oom && !addr->oom;
	free(name.s);
	return ok;
}

/* "mailbox@domain" of one piece: the parts before and after the last '@'
 * (all of it is the domain when there is none), '<' dropped from the
 * mailbox and '>' from the domain. */
static int piece_entry(span piece, buf *out)
{
	buf addr = { 0 };
	bool ok = piece_address(piece, &addr);
	span a = view(&addr);
	const char *at = NULL;
	for (size_t i = 0; i < a.n; i++)
		if (a.p[i] == '@')
			at = a.p + i;
	span mailbox = { a.p, at ? (size_t)(at - a.p) : 0 };
	span domain = at ? (span){ at + 1, a.n - mailbox.n - 1 } : a;
	out->n = 0;
	for (size_t i = 0; i < mailbox.n; i++)
		if (mailbox.p[i] != '<')
			buf_add(out, mailbox.p + i, 1);
	buf_add(out, "@", 1);
	for (size_t i = 0; i < domain.n; i++)
		if (domain.p[i] != '>')
			buf_add(out, domain.p + i, 1);
	free(addr.s);
	return ok && !out->oom ? 0 : -1;
}

static int emit(span piece, buf *entry, ms_hms_address_fn each, void *ctx, ms_err *e)
{
	if (piece_entry(trim(piece), entry) < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory reading an address list");
	return each(ctx, entry->s, e);
}

int ms_hms_address_each(const char *value, ms_hms_address_fn each, void *ctx, ms_err *e)
{
	if (!value)
		return 0;
	size_t len = strlen(value), start = 0, i = 0;
	long steps = MAX_SPLIT_STEPS;
	bool inside = false;
	buf entry = { 0 };
	int rc = 0;
	while (i < len && steps-- > 0 && rc == 0) {
		char c = value[i];
		if (c == '\\') {
			i += char_len(value + i); /* the next character is escaped */
			if (i >= len)
				break;
		} else if (c == '"') {
			inside = !inside;
		} else if (c == ',' && !inside) {
			rc = emit((span){ value + start, i - start }, &entry, each, ctx, e);
			start = i + 1;
		}
		i += char_len(value + i);
	}
	if (rc == 0 && start < len)
		rc = emit((span){ value + start, len - start }, &entry, each, ctx, e);
	free(entry.s);
	return rc < 0 ? -1 : 0;
}

typedef struct first_ctx {
	char *out;
	size_t size;
	bool found;
} first_ctx;

static int take_first(void *ctx, const char *address, ms_err *e)
{
	(void)e;
	first_ctx *f = ctx;
	ms_str_copy(f->out, f->size, address);
	f->found = true;
	return 1; /* stop */
}

int ms_hms_first_address(const char *value, char *out, size_t size, ms_err *e)
{
	first_ctx f = { out, size, false };
	if (size)
		out[0] = '\0';
	if (ms_hms_address_each(value, take_first, &f, e) < 0)
		return -1;
	return f.found ? 1 : 0;
}
