/* address_guard.c - keeping GMime's address parser out of trouble.
 *
 * GMime 3.2.13 (Debian 12) reads real-world address lists well, but three
 * kinds of hostile header value hurt it, and any message can carry them:
 *
 *  1. An unterminated comment after an address ("a@x.org (Alice") makes it
 *     leak the address it was building (fixed upstream in 3.2.15).  Every
 *     comment GMime could find unterminated is closed by appending ')'s,
 *     which reads the rest of the value as the comment it evidently is.
 *  2. A group inside a group is parsed by recursion, so "a: b: c: ..." with
 *     thousands of colons overflows the stack.  A value with more colons
 *     than a real header has is read without groups (their names are
 *     dropped when flattening anyway).
 *  3. After an address it cannot read, the loose parser restarts at the
 *     next comma and may scan to the end of the value again, so a long run
 *     of bare words ("a, a, a, ...") costs quadratic time: minutes for a
 *     megabyte.  Long values are cut into their top-level items and parsed
 *     a small batch at a time.
 */
#include "message/message_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_COLONS 64      /* more, and groups are not read as groups */
#define LONG_VALUE 4096    /* longer values are parsed in batches */
#define BATCH 256          /* target size of a batch of items */

/* ---- 1. unterminated comments ----------------------------------------------
 *
 * GMime's comment scan (skip_comment) starts at a '(', nests on '(' and ')',
 * lets a backslash escape the next byte, and ignores quotes.  The count
 * below follows the same rules for every '(' of the value, wherever GMime
 * might start a scan. */

/* +1 for a '(' and -1 for a ')' that no backslash escapes, 0 otherwise.
 * Whether a byte is escaped depends only on the run of backslashes right
 * before it (a scan starts just after a '(', so never inside a run). */
static int paren_value(const char *s, size_t i)
{
	if (s[i] != '(' && s[i] != ')')
		return 0;
	size_t run = 0;
	while (run < i && s[i - 1 - run] == '\\')
		run++;
	if (run % 2)
		return 0;
	return s[i] == '(' ? 1 : -1;
}

/* How many ')' close every comment of `s` that would run to its end. */
static size_t closing_parens_needed(const char *s)
{
	const char *first = strchr(s, '(');
	if (!first)
		return 0;
	size_t n = strlen(first);
	/* Right to left: `sum` is the net depth change of first[i+1..n), `low`
	 * the lowest running total over its prefixes (the empty one included);
	 * a comment opened at i ends inside the range iff 1 + low reaches 0,
	 * else it is left 1 + sum deep. */
	long sum = 0, low = 0;
	size_t need = 0;
	for (size_t i = n; i-- > 0;) {
		if (first[i] == '(' && 1 + low > 0 && (size_t)(1 + sum) > need)
			need = (size_t)(1 + sum);
		int v = paren_value(first, i);
		sum += v;
		low = v + low < 0 ? v + low : 0;
	}
	/* a lone backslash at the end would escape the first ')' added */
	size_t run = 0;
	while (run < n && first[n - 1 - run] == '\\')
		run++;
	return need && run % 2 ? need + 1 : need;
}

/* ---- 2. nested groups ------------------------------------------------------- */

static size_t count_byte(const char *s, size_t len, char c)
{
	size_t n = 0;
	for (const char *end = s + len; (s = memchr(s, c, (size_t)(end - s))) != NULL; s++)
		n++;
	return n;
}

/* Counting every colon over-counts (quoted ones, routes), which only errs
 * on the safe side. */
static void ungroup_if_deep(char *s, size_t len, char replacement)
{
	if (count_byte(s, len, ':') <= MAX_COLONS)
		return;
	for (char *p = s; p < s + len; p++)
		if (*p == ':' || *p == ';')
			*p = replacement;
}

/* ---- 3. long values ---------------------------------------------------------- */

/* The ends of quoted strings, comments and angle brackets, by GMime's rules
 * (skip_quoted, skip_comment).  Once a quoted string or an angle bracket
 * has no end, no later one has: remembering that keeps the scan linear. */
typedef struct scan_memo {
	bool no_quote_end, no_angle_end;
} scan_memo;

static const char *quote_end(const char *p)
{
	bool escaped = false;
	for (p++; *p; p++) {
		if (*p == '\\')
			escaped = !escaped;
		else if (!escaped && *p == '"')
			return p;
		else
			escaped = false;
	}
	return NULL;
}

static const char *comment_end(const char *p)
{
	size_t depth = 1;
	for (p++; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p;
	}
	return NULL;
}

/* Items are separated by commas, and by the ':' and ';' of groups (groups
 * are flattened anyway). */
#define ITEM_SEPARATORS ",:;"

/* Length of the item at `s`: up to the first of `separators` outside
 * quoted strings, comments and angle brackets. */
static size_t item_length(const char *s, const char *separators, scan_memo *m)
{
	const char *p = s;
	while (*p && !strchr(separators, *p)) {
		const char *end = NULL;
		if (*p == '"' && !m->no_quote_end)
			m->no_quote_end = !(end = quote_end(p));
		else if (*p == '(')
			end = comment_end(p); /* every comment has an end by now */
		else if (*p == '<' && !m->no_angle_end)
			m->no_angle_end = !(end = strchr(p, '>'));
		p = end ? end + 1 : p + 1;
	}
	return (size_t)(p - s);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

typedef struct batcher {
	char *buf;
	size_t len;
	ms_piece_fn each;
	void *ctx;
} batcher;

static int flush(batcher *b, ms_err *e)
{
	if (b->len == 0)
		return 0;
	ungroup_if_deep(b->buf, b->len, ',');
	b->buf[b->len] = '\0';
	b->len = 0;
	return b->each(b->ctx, b->buf, e);
}

/* An item still longer than a batch (one quoted string, comment or
 * bracket) is garbage; its commas and colons would give GMime restart
 * points, so they become spaces and it goes alone. */
static int add_item(batcher *b, char *item, size_t n, ms_err *e)
{
	if (n > BATCH) {
		for (char *p = item; p < item + n; p++)
			if (*p == ',' || *p == ':' || *p == ';')
				*p = ' ';
	}
	if (b->len > 0 && b->len + 1 + n > BATCH && flush(b, e) < 0)
		return -1;
	if (b->len > 0)
		b->buf[b->len++] = ',';
	memcpy(b->buf + b->len, item, n);
	b->len += n;
	return n > BATCH ? flush(b, e) : 0;
}

/* An item longer than a batch is garbage, or addresses without commas
 * between them ("a@x b@y", which GMime reads as a list, building an object
 * per address): it is cut at blanks too. */
static int add_long_item(batcher *b, char *item, size_t n, ms_err *e)
{
	char saved = item[n];
	item[n] = '\0';
	scan_memo memo = { 0 };
	int rc = 0;
	for (char *p = item; *p && rc == 0;) {
		size_t k = item_length(p, ITEM_SEPARATORS " \t\r\n", &memo);
		if (!blank(p, k))
			rc = add_item(b, p, k, e);
		p += k;
		if (*p)
			p++; /* the separator */
	}
	item[n] = saved;
	return rc;
}

static int parse_in_batches(char *s, size_t len, ms_piece_fn each, void *ctx, ms_err *e)
{
	batcher b = { .buf = malloc(len + 2), .each = each, .ctx = ctx };
	if (!b.buf)
		return ms_err_set(e, MS_E_NOMEM, "out of memory parsing an address list of %zu bytes", len);
	scan_memo memo = { 0 };
	int rc = 0;
	for (char *p = s; *p && rc == 0;) {
		size_t n = item_length(p, ITEM_SEPARATORS, &memo);
		if (!blank(p, n))
			rc = n > BATCH ? add_long_item(&b, p, n, e) : add_item(&b, p, n, e);
		p += n;
		if (*p)
			p++; /* the separator */
	}
	if (rc == 0)
		rc = flush(&b, e);
	free(b.buf);
	return rc;
}

/* ---- entry point -------------------------------------------------------------- */

int ms_address_value_pieces(const char *raw, ms_piece_fn each, void *ctx, ms_err *e)
{
	size_t len = strlen(raw), close = closing_parens_needed(raw);
	bool is_long = len > LONG_VALUE;
	if (!close && !is_long && count_byte(raw, len, ':') <= MAX_COLONS)
		return each(ctx, raw, e); /* the usual case: no copy */
	char *safe = malloc(len + close + 1);
	if (!safe)
		return ms_err_set(e, MS_E_NOMEM, "out of memory parsing an address list of %zu bytes", len);
	memcpy(safe, raw, len);
	memset(safe + len, ')', close);
	safe[len + close] = '\0';
	int rc;
	if (is_long) {
		rc = parse_in_batches(safe, len + close, each, ctx, e);
	} else {
		ungroup_if_deep(safe, len + close, ',');
		rc = each(ctx, safe, e);
	}
	free(safe);
	return rc;
}
