/* section.c - the header section's end, hMailServer's unfolding of a
 * field, and a message's first From address when reading it needs no
 * decoding: the parts of reading a header that need no GMime.
 *
 * header.c parses with GMime; the front binary (`mstore`, src/cli/
 * dispatch.c) links no GMime, so that an MTA's `mstore deliver` of one
 * message starts in a few milliseconds.  ms_first_from_plain gives it the
 * messagefrom hMailServer writes for the common message, whose first From
 * value is 7-bit without an encoded word: there GMime's RFC 2047 decoding
 * would give the text back unchanged (test_header checks the two agree on
 * a corpus).  Any other value is left to ms_headers_parse.
 */
#include "message/message_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

bool ms_find_separator(const char *buf, size_t from, size_t len, size_t *end)
{
	if (from == 0 && len > 0) {
		if (buf[0] == '\n') {
			*end = 1;
			return true;
		}
		if (len > 1 && buf[0] == '\r' && buf[1] == '\n') {
			*end = 2;
			return true;
		}
	}
	const char *p = buf + from, *stop = buf + len;
	while (p < stop && (p = memchr(p, '\n', (size_t)(stop - p))) != NULL) {
		if (p + 1 < stop && p[1] == '\n') {
			*end = (size_t)(p + 2 - buf);
			return true;
		}
		if (p + 2 < stop && p[1] == '\r' && p[2] == '\n') {
			*end = (size_t)(p + 3 - buf);
			return true;
		}
		p++;
	}
	return false;
}

size_t ms_header_section_len(const char *buf, size_t len)
{
	size_t limit = len < MS_HEADER_MAX ? len : MS_HEADER_MAX, end;
	return len && ms_find_separator(buf, 0, limit, &end) ? end : limit;
}

char *ms_unfold_value(const char *field, size_t n)
{
	const char *colon = memchr(field, ':', n);
	assert(colon); /* select.c only notes fields with their colon */
	const char *p = colon + 1, *end = field + n;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end > p && end[-1] == '\n')
		end--;
	if (end > p && end[-1] == '\r')
		end--;
	const char *nul = memchr(p, '\0', (size_t)(end - p));
	if (nul)
		end = nul; /* a C string there too */
	char *v = malloc((size_t)(end - p) + 1), *o = v;
	if (!v)
		return NULL;
	bool after_line_end = false;
	for (; p < end; p++) {
		if (*p == '\r' || *p == '\n') {
			if (!after_line_end)
				*o++ = ' ';
			after_line_end = true;
		} else if (!(after_line_end && (*p == ' ' || *p == '\t'))) {
			after_line_end = false;
			*o++ = *p;
		}
	}
	*o = '\0';
	return v;
}

/* Text GMime's header decoder hands back unchanged: 7-bit, without the
 * "=?" that opens an encoded word. */
static bool plain_text(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80 || (p[0] == '=' && p[1] == '?'))
			return false;
	return true;
}

int ms_first_from_plain(const char *buf, size_t len, char *out, size_t size, ms_err *e)
{
	assert(size > 0);
	out[0] = '\0';
	ms_selected sel;
	if (ms_select_fields(buf, ms_header_section_len(buf, len), &sel, e) < 0)
		return -1;
	int rc = 1;
	if (sel.first[MS_FIRST_FROM]) {
		char *v = ms_unfold_value(sel.first[MS_FIRST_FROM], sel.first_len[MS_FIRST_FROM]);
		if (!v)
			rc = ms_err_set(e, MS_E_NOMEM, "out of memory reading the From field");
		else if (!plain_text(v))
			rc = 0;
		else if (ms_hms_first_address(v, out, size, e) < 0)
			rc = -1;
		free(v);
	}
	free(sel.buf);
	return rc;
}
