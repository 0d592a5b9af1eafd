/* escape.c - see escape.h. */
#include "util/escape.h"

#include <assert.h>
#include <string.h>

/* The length of the valid UTF-8 character at s (1..4), 0 if s does not
 * start one (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	unsigned char lo = 0x80, hi = 0xBF; /* the range allowed for the second byte */
	size_t n;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* How many bytes at s are written as they are (0: escape s[0]). */
static size_t plain_len(const unsigned char *s)
{
	size_t n = utf8_len(s);
	if (n == 1 && (s[0] < 0x20 || s[0] == 0x7F))
		return 0;
	if (n == 2 && s[0] == 0xC2 && s[1] < 0xA0) /* C1 controls: CSI is U+009B */
		return 0;
	return n;
}

void ms_escape_put(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = plain_len(p);
		if (n == 0) {
			fprintf(f, "\\x%02x", *p++);
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
}

bool ms_escape(char *dst, size_t len, const char *s)
{
	assert(len >= 1);
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;
	bool whole = true;
	while (*p) {
		size_t n = plain_len(p);
		size_t need = n ? n : 4;
		if (w + need >= len) {
			whole = false;
			break;
		}
		if (n)
			memcpy(dst + w, p, n);
		else
			snprintf(dst + w, 5, "\\x%02x", *p);
		w += need;
		p += n ? n : 1;
	}
	dst[w] = '\0';
	return whole;
}
