/* imap.h - the IMAP client's lower half, under the IMAP side driver
 * (src/drivers/drv_imap.c): the connection (TCP, TLS with OpenSSL, a
 * timeout on every wait), the reader of whole responses (a line and the
 * literals it announces), the tokenizer over a response, and folder names
 * in modified UTF-7 (RFC 3501 5.1.3).
 *
 * Why hand-written, not libetpan: see ARCHITECTURE.md ("imap").  The
 * crypto and TLS are OpenSSL's; this layer only moves bytes and checks
 * what OpenSSL is told to check (the chain against the CA store, the host
 * name with SSL_set1_host).
 */
#ifndef MS_IMAP_IMAP_H
#define MS_IMAP_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* ---- the connection ------------------------------------------------------------ */

typedef enum ms_imap_tls { MS_IMAP_TLS_NONE, MS_IMAP_TLS_STARTTLS, MS_IMAP_TLS_IMPLICIT } ms_imap_tls;

typedef struct ms_imap_conn_opts {
	const char *host, *port;   /* port as text: "993" */
	ms_imap_tls tls;
	bool verify;               /* the certificate chain and the host name */
	const char *cafile;        /* NULL: the system's CA store (and $SSL_CERT_FILE) */
	int timeout_ms;            /* any wait for the server longer than this fails */
} ms_imap_conn_opts;

typedef struct ms_imap_conn ms_imap_conn;

/* Connect (and with MS_IMAP_TLS_IMPLICIT, handshake).  Errors name
 * HOST:PORT and the cause: the resolver's, connect's, OpenSSL's
 * verification result. */
int ms_imap_connect(const ms_imap_conn_opts *o, ms_imap_conn **out, ms_err *e);
/* A connection over a socket already open (tests: a socketpair). */
ms_imap_conn *ms_imap_conn_fd(int fd, const char *name, int timeout_ms);
/* Start TLS on the connection (after the server's OK to STARTTLS). */
int ms_imap_conn_starttls(ms_imap_conn *c, const ms_imap_conn_opts *o, ms_err *e);
bool ms_imap_conn_is_tls(const ms_imap_conn *c);
void ms_imap_conn_close(ms_imap_conn *c);

/* Queue bytes to send; they go out on flush (or when the buffer fills). */
int ms_imap_send(ms_imap_conn *c, const void *p, size_t n, ms_err *e);
int ms_imap_sendf(ms_imap_conn *c, ms_err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ms_imap_flush(ms_imap_conn *c, ms_err *e);

/* One whole response: the line without its CRLF, with each literal it
 * announces ("{N}" or "{N+}" at a line's end) included as it came, CRLF
 * and bytes, so the tokenizer reads it as the protocol wrote it. */
typedef struct ms_imap_resp {
	char *buf;
	size_t len, cap;
} ms_imap_resp;

/* Read the next response into r (its buffer is reused).  Fails when the
 * connection drops or the timeout passes, naming the server. */
int ms_imap_read(ms_imap_conn *c, ms_imap_resp *r, ms_err *e);
void ms_imap_resp_free(ms_imap_resp *r);
/* Bytes the reader holds but has not returned (tests). */
size_t ms_imap_conn_buffered(const ms_imap_conn *c);

/* ---- tokens ---------------------------------------------------------------------- */

typedef enum ms_imap_ttype {
	MS_IMAP_T_END,     /* nothing left */
	MS_IMAP_T_ATOM,    /* an atom, a number, "\Seen", "BODY[HEADER.FIELDS (X)]", "[UIDNEXT 5]" */
	MS_IMAP_T_QUOTED,  /* a quoted string: s/len inside the quotes, escapes still in (ms_imap_tok_dup) */
	MS_IMAP_T_LITERAL, /* a literal's bytes */
	MS_IMAP_T_NIL,
	MS_IMAP_T_LP,
	MS_IMAP_T_RP,
	MS_IMAP_T_BAD,     /* not IMAP: an unterminated string, a literal that overruns */
} ms_imap_ttype;

typedef struct ms_imap_tok {
	ms_imap_ttype type;
	const char *s;
	size_t len;
} ms_imap_tok;

typedef struct ms_imap_cur {
	const char *p, *end;
} ms_imap_cur;

static inline ms_imap_cur ms_imap_cur_of(const ms_imap_resp *r)
{
	return (ms_imap_cur){ r->buf, r->buf + r->len };
}

/* The next token.  An atom holding '[' runs through the matching ']'
 * (a section, a response code), spaces and parentheses included. */
ms_imap_ttype ms_imap_next(ms_imap_cur *c, ms_imap_tok *t);
/* Skip one whole value (a list with everything in it). */
ms_imap_ttype ms_imap_skip(ms_imap_cur *c);
/* The token's text, unescaped, NUL-terminated (NULL for NIL); malloc'd. */
char *ms_imap_tok_dup(const ms_imap_tok *t);
/* Case-insensitive comparison of an atom with a word. */
bool ms_imap_tok_is(const ms_imap_tok *t, const char *word);
/* An atom as a number (0..2^63); false when it is not one. */
bool ms_imap_tok_num(const ms_imap_tok *t, uint64_t *v);

/* ---- names --------------------------------------------------------------------- */

/* Modified UTF-7 (as servers send names) to UTF-8; NULL when not valid
 * modified UTF-7 (the caller keeps the name as the server sent it). */
char *ms_imap_mutf7_decode(const char *s, size_t len);
/* UTF-8 to modified UTF-7; NULL when s is not valid UTF-8. */
char *ms_imap_mutf7_encode(const char *s);
/* `s` as an IMAP quoted string, into a malloc'd buffer: '"' and '\'
 * escaped.  NULL when s holds CR, LF or NUL (then send a literal). */
char *ms_imap_quote(const char *s);

#endif
