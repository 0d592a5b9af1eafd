/* str.c - see str.h. */
#include "util/str.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ms_str_utf8_cut(const char *s, size_t n)
{
	/* the last character's lead byte: back over up to 3 continuation
	 * bytes (10xxxxxx); if the sequence it starts runs past n, cut there */
	size_t k = n;
	while (k > 0 && n - k < 3 && ((unsigned char)s[k - 1] & 0xC0) == 0x80)
		k--;
	if (k == 0 || ((unsigned char)s[k - 1] & 0xC0) != 0xC0)
		return n; /* ASCII, or continuation bytes without a lead: left as they are */
	unsigned char lead = (unsigned char)s[k - 1];
	size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
	return n - (k - 1) < want ? k - 1 : n;
}

bool ms_str_copy(char *dst, size_t len, const char *src)
{
	assert(len >= 1);
	size_t n = strlen(src);
	if (n < len) {
		memcpy(dst, src, n + 1);
		return true;
	}
	n = ms_str_utf8_cut(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return false;
}

bool ms_str_printf(char *dst, size_t len, const char *fmt, ...)
{
	assert(len >= 1);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len)
		return true;
	/* dst holds len - 1 bytes: step back off a split character */
	dst[ms_str_utf8_cut(dst, len - 1)] = '\0';
	return false;
}

int ms_read_stream(FILE *f, const char *what, const char *path, char **out, size_t *n, ms_err *e)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	char chunk[65536];
	*out = NULL;
	*n = 0;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (len + got + 1 > cap) {
			size_t ncap = cap ? cap * 2 : sizeof chunk;
			while (ncap < len + got + 1)
				ncap *= 2;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				fclose(f);
				free(buf);
				return ms_err_set(e, MS_E_NOMEM, "out of memory reading %s %s", what, path);
			}
			buf = nb;
			cap = ncap;
		}
		memcpy(buf + len, chunk, got);
		len += got;
	}
	int err = ferror(f) ? errno : 0;
	fclose(f);
	if (err) {
		free(buf);
		return ms_err_set(e, MS_E_IO, "cannot read %s %s: %s", what, path, strerror(err));
	}
	if (!buf && !(buf = malloc(1)))
		return ms_err_set(e, MS_E_NOMEM, "out of memory reading %s %s", what, path);
	buf[len] = '\0';
	*out = buf;
	*n = len;
	return 0;
}
