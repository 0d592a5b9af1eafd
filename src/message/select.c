/* select.c - choosing the header fields GMime gets to see.
 *
 * mstore reads seven fields.  Handing GMime only those, instead of the
 * whole section, keeps the cost of a message independent of what else its
 * header holds: GMime builds an object for every field (about 500 bytes
 * each, so a 4 MB section of "X: y" lines would take 400 MB) and parses
 * every Content-Type parameter.  The first Date, Received, Message-ID and
 * Subject are kept (the only ones used) and the first MAX_ADDRESS_FIELDS
 * From, To and Cc fields each (all of them add addresses).
 *
 * A field is a line that starts with a name and a colon, with the
 * continuation lines (starting with a space or tab) that follow.  Names
 * follow GMime's rule: no spaces or control characters inside, blanks
 * allowed before the colon.  Lines that are not fields (an mbox "From "
 * line, garbage) are skipped.
 */
#include "message/message_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ADDRESS_FIELDS 100

typedef enum {
	F_INVALID = -1,
	F_OTHER,
	F_FROM,
	F_TO,
	F_CC,
	F_DATE,
	F_RECEIVED,
	F_MESSAGE_ID,
	F_SUBJECT,
	F_KINDS
} field_kind;

static const struct {
	const char *name;
	size_t keep;   /* how many of them GMime sees */
} kinds[F_KINDS] = {
	[F_OTHER] = { NULL, 0 },
	[F_FROM] = { "From", MAX_ADDRESS_FIELDS },
	[F_TO] = { "To", MAX_ADDRESS_FIELDS },
	[F_CC] = { "Cc", MAX_ADDRESS_FIELDS },
	[F_DATE] = { "Date", 1 },
	[F_RECEIVED] = { "Received", 1 },
	[F_MESSAGE_ID] = { "Message-ID", 1 },
	[F_SUBJECT] = { "Subject", 1 },
};

/* Length of the field starting at p: its first line and the continuation
 * lines after it. */
static size_t field_length(const char *p, const char *end)
{
	const char *q = p;
	for (;;) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		if (!nl)
			return (size_t)(end - p);
		q = nl + 1;
		if (q == end || (*q != ' ' && *q != '\t'))
			return (size_t)(q - p);
	}
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* What the line at p[0..len) is: F_INVALID if it does not start a field. */
static field_kind classify(const char *p, size_t len)
{
	size_t i = 0, name_len = 0;
	bool blank_seen = false;
	for (; i < len && p[i] != ':'; i++) {
		unsigned char c = (unsigned char)p[i];
		if (is_blank(c))
			blank_seen = true;
		else if (blank_seen || c < 0x20 || c == 0x7f)
			return F_INVALID; /* a space inside the name, a control character, the line end */
		else
			name_len = i + 1;
	}
	if (i == len || name_len == 0)
		return F_INVALID;
	for (int k = F_FROM; k < F_KINDS; k++)
		if (strlen(kinds[k].name) == name_len && strncasecmp(p, kinds[k].name, name_len) == 0)
			return (field_kind)k;
	return F_OTHER;
}

/* hMailServer's MimeHeader::FindField compares the whole name before the
 * colon, so "To :" is not its To field (GMime's rule above takes it). */
static void note_first(ms_selected *out, field_kind k, const char *p, size_t n)
{
	int slot = k == F_FROM ? MS_FIRST_FROM : k == F_TO ? MS_FIRST_TO : k == F_CC ? MS_FIRST_CC : -1;
	if (slot < 0 || out->first[slot])
		return;
	size_t name_len = strlen(kinds[k].name);
	if (n > name_len && p[name_len] == ':') {
		out->first[slot] = p;
		out->first_len[slot] = n;
	}
}

static void append(ms_selected *out, const char *p, size_t n)
{
	memcpy(out->buf + out->len, p, n);
	out->len += n;
}

int ms_select_fields(const char *sect, size_t len, ms_selected *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	/* at most the whole section, a line end for a cut last line, the empty line */
	if (!(out->buf = malloc(len + 3)))
		return ms_err_set(e, MS_E_NOMEM, "out of memory selecting header fields (%zu bytes)", len);
	size_t taken[F_KINDS] = { 0 };
	const char *p = sect, *end = sect + len;
	while (p < end) {
		size_t n = field_length(p, end);
		field_kind k = classify(p, n);
		if (k != F_INVALID)
			out->fields++;
		note_first(out, k, p, n);
		if (k > F_OTHER && taken[k] < kinds[k].keep) {
			taken[k]++;
			append(out, p, n);
			if (p[n - 1] != '\n')
				append(out, "\n", 1);
		}
		p += n;
	}
	append(out, "\n", 1);
	return 0;
}
