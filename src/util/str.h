/* str.h - bounded string copies that never split a character.
 *
 * Reasons, messages and database values are cut to their buffers on
 * purpose (a 200-byte reason, a 255-character column).  Cut at a byte
 * count, a UTF-8 sequence can be split: PostgreSQL and MariaDB then refuse
 * the row, and JSON writers print U+FFFD.  These cut on a character
 * boundary instead, and say whether they cut.
 */
#ifndef MS_STR_H
#define MS_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

/* Copy src into dst (len bytes with the NUL, len >= 1), cut at the last
 * whole UTF-8 character that fits.  Returns false when it had to cut. */
bool ms_str_copy(char *dst, size_t len, const char *src);

/* snprintf that cuts like ms_str_copy; returns false when it cut. */
bool ms_str_printf(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The length of the longest prefix of s[0..n) that does not end inside a
 * UTF-8 character (n when s[0..n) ends with a whole one, or with bytes that
 * are no UTF-8 at all: those are left as they are). */
size_t ms_str_utf8_cut(const char *s, size_t n);

/* Read the rest of `f` into *out (malloc'd, *n bytes, NUL-terminated; free
 * it) and close `f`, whatever happens.  Errors say "cannot read WHAT PATH:
 * cause", WHAT naming the file's role ("the msinfo file"). */
int ms_read_stream(FILE *f, const char *what, const char *path, char **out, size_t *n, ms_err *e);

#endif
