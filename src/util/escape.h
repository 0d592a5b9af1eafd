/* escape.h - names made safe for line-oriented output.
 *
 * File and directory names may hold any byte but '/' and NUL: a newline
 * would end a log line or a `#` comment of a generated script (and what
 * follows would run as a command), a terminal escape would rewrite the
 * screen, invalid UTF-8 garbles both.  Every name mstore writes into a
 * line of text (sync -v, reconstruct's findings, the -o -d script's
 * comments) goes through here: control bytes (C0, DEL and the C1 range
 * U+0080..U+009F) and bytes that are not part of a valid UTF-8 character
 * become \xHH; everything else, backslashes included, is written as is.
 */
#ifndef MS_ESCAPE_H
#define MS_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Write s to f, escaped. */
void ms_escape_put(FILE *f, const char *s);

/* Escape s into dst (len bytes with the NUL, len >= 1), cut before an
 * escape or character that does not fit.  Returns false when it cut. */
bool ms_escape(char *dst, size_t len, const char *s);

#endif
