/* header.h - reading the header section of a message file.
 *
 * mstore needs a handful of header fields from each message file (the From
 * address, the To/Cc recipients, the dates for the internal date, the
 * Message-ID and Subject).  It reads only the header section (up to the
 * first empty line, bounded by MS_HEADER_MAX bytes) so a 200 MB message
 * costs as much as a 2 KB one, and it hands the section to GMime for the
 * RFC 5322 / RFC 2047 work.  Nothing here crashes on garbage: any input
 * yields a result (possibly with every field empty) and flags that say
 * what was wrong.  Lines of the section that are not header fields are
 * skipped.  Work and memory stay proportional to the section: GMime sees
 * only the fields read here (the first 100 From, To and Cc fields each),
 * and a Subject is decoded from its first 64 KB.  The first From, To and
 * CC field are also kept as text, for hMailServer's own address-list
 * rules (ms_hms_address_each), which is how hMailServer's importer reads
 * them.
 *
 * Threads: ms_header_global_init() initialises GMime exactly once
 * (pthread_once; g_mime_init() itself is not thread-safe); after it, any
 * number of threads may parse different messages at once.  The parse
 * functions call it themselves, so calling it first is only a matter of
 * doing the one-time work early.
 */
#ifndef MS_HEADER_H
#define MS_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"

/* Upper bound on the header section read from a file.  Larger header
 * sections are cut there (flag MS_HDR_TRUNCATED). */
#define MS_HEADER_MAX (4u * 1024u * 1024u)

typedef struct ms_address {
	char *name;   /* display name, RFC 2047-decoded, UTF-8; NULL if none */
	char *addr;   /* "local@domain" as written (IDN left as is); never NULL */
} ms_address;

typedef struct ms_address_list {
	ms_address *v;
	size_t n;
} ms_address_list;

enum {
	MS_HDR_NO_SEPARATOR = 1 << 0,  /* no empty line: the whole file is header */
	MS_HDR_TRUNCATED    = 1 << 1,  /* no empty line within MS_HEADER_MAX bytes and
	                                  more follow: the section was cut there
	                                  (not also MS_HDR_NO_SEPARATOR) */
	MS_HDR_BINARY       = 1 << 2,  /* NUL bytes in the header section */
	MS_HDR_BAD_UTF8     = 1 << 3,  /* 8-bit header bytes that are not UTF-8 */
	MS_HDR_EMPTY        = 1 << 4,  /* zero bytes (the only flag then) */
	MS_HDR_NO_FIELDS    = 1 << 5,  /* not one "Name: value" line: no header at all */
};

typedef struct ms_headers {
	ms_address_list from;  /* usually one */
	ms_address_list to;
	ms_address_list cc;
	/* Dates as seconds since the epoch (UTC); *_valid false if absent or
	 * unparseable.  received_* is from the FIRST (topmost) Received header,
	 * the text after its last ';'. */
	time_t date;
	bool date_valid;
	time_t received;
	bool received_valid;
	/* The FIRST From, To and CC field as hMailServer's importer reads
	 * them (MessageData::GetFrom/GetTo/GetCC): the first field whose name
	 * is exactly that (any case, no blank before the colon), its value
	 * without leading blanks, unfolded, RFC 2047-decoded, valid UTF-8.
	 * NULL when there is no such field.  Read them with
	 * ms_hms_address_each. */
	char *first_from;
	char *first_to;
	char *first_cc;
	char *message_id;  /* without angle brackets; NULL if none */
	char *subject;     /* RFC 2047-decoded, UTF-8; NULL if none */
	unsigned flags;    /* MS_HDR_* */
	size_t header_bytes; /* size of the header section, its empty line included */
} ms_headers;

/* How many bytes of buf[0..len) are its header section, the empty line
 * that ends it included (at most MS_HEADER_MAX: a section without the
 * empty line is cut there), as ms_headers_parse reads it. */
size_t ms_header_section_len(const char *buf, size_t len);

/* A message's messagefrom as hMailServer's importer writes it (the first
 * address of its first From field, ms_hms_first_address over
 * ms_headers.first_from), read without GMime: 1 with `out` set ("" when
 * there is none), 0 when the value needs RFC 2047 or 8-bit decoding and
 * only ms_headers_parse can read it, -1 when out of memory.  The front
 * binary's `deliver` reads a message's sender through it. */
int ms_first_from_plain(const char *buf, size_t len, char *out, size_t size, ms_err *e);

/* Initialises GMime once per process; safe to call any number of times,
 * from any thread. */
void ms_header_global_init(void);

/* Parse a header section held in memory (need not be NUL-terminated; may
 * contain a body after the empty line, which is ignored).  Never fails on
 * content: returns 0 and fills `out`.  Returns -1 only on out-of-memory. */
int ms_headers_parse(const char *buf, size_t len, ms_headers *out, ms_err *e);

/* Read the header section of the file at `path` and parse it.  Returns -1
 * with `e` set (naming the file) only when the file cannot be read (or is
 * not a regular file) or memory runs out; `out` then holds nothing to
 * free.  Reads no more of the body than the 16 KB read that met the empty
 * line. */
int ms_headers_read_file(const char *path, ms_headers *out, ms_err *e);
/* Same, from an open file descriptor (read from its current offset). */
int ms_headers_read_fd(int fd, const char *name_for_errors, ms_headers *out, ms_err *e);

void ms_headers_free(ms_headers *h);

/* Parse an address-list header value (To/Cc/From syntax: display names,
 * groups, comments, quoted local parts, RFC 2047 encoded words).  Group
 * members are flattened into the list; empty groups add nothing.  Entries
 * without something on both sides of an '@' are dropped.  Domains stay as
 * written (punycode or UTF-8); strings are valid UTF-8.  Returns 0, or -1
 * on out-of-memory. */
int ms_address_list_parse(const char *value, ms_address_list *out, ms_err *e);
void ms_address_list_free(ms_address_list *l);

/* An address list read as hMailServer's AddresslistParser reads it
 * (hms_address.c): the value is cut at every comma outside double quotes
 * (no groups, no comments), and each piece gives one entry
 * "mailbox@domain": the text within its first <...>, else the piece's
 * name if that is a valid address by hMailServer's rule, else nothing,
 * which is the entry "@".  A piece never is dropped.  `each` gets every
 * entry in order and returns 0 to go on, 1 to stop, -1 to fail (with
 * `e` set).  Returns 0, or -1 if `each` failed or memory ran out.  NULL
 * or "" has no entry. */
typedef int (*ms_hms_address_fn)(void *ctx, const char *address, ms_err *e);
int ms_hms_address_each(const char *value, ms_hms_address_fn each, void *ctx, ms_err *e);
/* The first entry of `value` as above, cut to `size` on a character
 * boundary: hMailServer's messagefrom ("@" when the From field holds no
 * usable address).  Returns 1 with it in `out`, 0 when there is none
 * (`out` is ""), -1 on out-of-memory. */
int ms_hms_first_address(const char *value, char *out, size_t size, ms_err *e);

#endif
