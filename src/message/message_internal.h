/* message_internal.h - what header.c and address.c share; not part of the
 * public API (see header.h). */
#ifndef MS_MESSAGE_INTERNAL_H
#define MS_MESSAGE_INTERNAL_H

#include <gmime/gmime.h>

#include "message/header.h"

/* The parser options every GMime call here uses.  Created once by
 * ms_header_global_init() and only read afterwards, so threads may share
 * it. */
GMimeParserOptions *ms_gmime_options(void);

/* Parse one raw (still folded and RFC 2047-encoded) address header value
 * and append its mailboxes to `l`, groups flattened.  Returns 0, or -1 on
 * out-of-memory. */
int ms_address_list_append_raw(ms_address_list *l, const char *raw, ms_err *e);

/* The fields of a header section that mstore reads, one after the other
 * and ended by an empty line, ready for GMime (select.c). */
enum { MS_FIRST_FROM, MS_FIRST_TO, MS_FIRST_CC, MS_FIRST_N };
typedef struct ms_selected {
	char *buf;      /* malloc'ed */
	size_t len;
	size_t fields;  /* header fields in the whole section, selected or not */
	/* The first From, To and Cc field by hMailServer's rule (the name
	 * exactly, any case, no blank before the colon), whole (name, value,
	 * continuation lines and line end), pointing into the section; NULL
	 * when there is none. */
	const char *first[MS_FIRST_N];
	size_t first_len[MS_FIRST_N];
} ms_selected;
int ms_select_fields(const char *sect, size_t len, ms_selected *out, ms_err *e);

/* section.c, without GMime.  Look for the empty line that ends the header
 * section in buf[0..len), considering only line breaks at or after
 * `from`; on success *end is the offset just past the empty line.  An
 * empty line needs its whole line break in the buffer: "\n\r" at the very
 * end is not (yet) a separator. */
bool ms_find_separator(const char *buf, size_t from, size_t len, size_t *end);
/* MimeField::Load and UnfoldField: the value of the whole field
 * field[0..n) (with its colon) starts after the colon and its blanks and
 * ends before the field's last line end; every run of line ends becomes
 * one space, and the blanks after it go.  NULL when out of memory. */
char *ms_unfold_value(const char *field, size_t n);

/* Hand `raw`, an address-list header value, to `each` as one or more
 * NUL-terminated pieces that GMime can parse without leaking, overflowing
 * its stack or taking quadratic time (address_guard.c).  Usually the one
 * piece is `raw` itself.  Returns -1 if `each` does, or on out-of-memory. */
typedef int (*ms_piece_fn)(void *ctx, const char *piece, ms_err *e);
int ms_address_value_pieces(const char *raw, ms_piece_fn each, void *ctx, ms_err *e);

/* A malloc'ed copy of `s` that is valid UTF-8 (invalid sequences become
 * U+FFFD), so that callers can hand it to a database as text.  NULL when
 * out of memory. */
char *ms_utf8_dup(const char *s);

#endif
