/* header.c - the header section of a message file, parsed with GMime (see
 * header.h).
 *
 * Reading: read() in 16 KiB chunks until the first empty line (LF or CRLF),
 * end of file, or MS_HEADER_MAX bytes, so a large body costs at most the
 * rest of the chunk that held the separator.
 *
 * Parsing: the fields mstore reads are picked out of the section (select.c)
 * and GMime's parser reads them from a memory stream, building a MIME
 * object whose header list gives each field's raw and decoded value.  The
 * first Date, Received, Message-ID and Subject fields count; every From, To
 * and Cc field adds its addresses (address.c).  The first From, To and CC
 * field by hMailServer's name rule (select.c) are also kept as text, the
 * way hMailServer's MIME parser gives them to its address-list parser
 * (hms_address.c).
 *
 * Threads: g_mime_init() fills process-wide tables (GType registrations,
 * the MIME type registry, charset maps, default options) and is not itself
 * thread-safe, so it runs exactly once under pthread_once.  After that GMime
 * may be used from several threads at once as long as no GMime object is
 * shared between them: each parse here makes its own stream, parser and
 * MIME object, and the one shared object, the parser options, is never
 * written after initialisation.  g_mime_shutdown() is never called, because another
 * thread could still be parsing; the one-time state lives until exit.
 */
#include "message/message_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (16u * 1024u)

/* ---- one-time initialisation --------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static GMimeParserOptions *parser_options;

static void init_gmime(void)
{
	g_mime_init();
	/* Our own options rather than GMime's defaults: nobody else can change
	 * them behind our back.  Loose compliance is what real mail needs. */
	parser_options = g_mime_parser_options_new();
	g_mime_parser_options_set_address_compliance_mode(parser_options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_rfc2047_compliance_mode(parser_options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(parser_options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(parser_options, FALSE);
	/* Create the classes the parsing threads use now, in this one thread:
	 * GObject makes a class on its first instance, under a lock of its own
	 * that ThreadSanitizer cannot see (GLib is not instrumented), so a
	 * class made by one analysis thread and read by another showed as a race
	 * in append_list (address.c).  The references are kept for the
	 * process's life, as the classes of static types live anyway. */
	const GType used[] = { INTERNET_ADDRESS_LIST_TYPE, INTERNET_ADDRESS_TYPE_MAILBOX, INTERNET_ADDRESS_TYPE_GROUP,
	                       GMIME_TYPE_PARSER, GMIME_TYPE_STREAM_MEM, GMIME_TYPE_MESSAGE, GMIME_TYPE_HEADER_LIST };
	for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
		g_type_class_ref(used[i]);
}

void ms_header_global_init(void)
{
	pthread_once(&init_once, init_gmime);
}

GMimeParserOptions *ms_gmime_options(void)
{
	ms_header_global_init();
	return parser_options;
}

/* ---- finding the end of the header section ------------------------------- */

/* ---- checks on the raw bytes ----------------------------------------------- */

/* True when every 8-bit sequence is UTF-8.  NUL bytes are someone else's
 * flag (MS_HDR_BINARY), so they are stepped over. */
static bool utf8_clean(const char *s, size_t len)
{
	while (len > 0) {
		const char *bad;
		if (g_utf8_validate_len(s, len, &bad))
			return true;
		if (*bad != '\0')
			return false;
		len -= (size_t)(bad - s) + 1;
		s = bad + 1;
	}
	return true;
}

/* ---- fields ------------------------------------------------------------------ */

/* Dates and message ids are short; GMime's tokenizers take memory for every
 * word, so longer text (garbage) is cut to the longest line RFC 5322
 * allows.  Subjects are returned, so they get more room. */
#define SHORT_VALUE_MAX 998
#define SUBJECT_MAX (64 * 1024)

/* The first `max` bytes of `raw` after its leading blanks, unfolded; NULL
 * if raw is. */
static char *unfolded_prefix(const char *raw, size_t max)
{
	if (!raw)
		return NULL;
	raw += strspn(raw, " \t\r\n");
	char *cut = g_strndup(raw, max);
	char *text = g_mime_utils_header_unfold(cut);
	g_free(cut);
	return text;
}

static bool decode_date(const char *raw, time_t *out)
{
	char *text = unfolded_prefix(raw, SHORT_VALUE_MAX);
	GDateTime *dt = text ? g_mime_utils_header_decode_date(text) : NULL;
	g_free(text);
	if (!dt)
		return false;
	*out = (time_t)g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return true;
}

/* A Received field ends with "; <date>"; the date is whatever follows the
 * last ';' (earlier ones may sit inside the "for" or "id" clauses). */
static void take_received(GMimeHeader *h, ms_headers *out)
{
	const char *raw = g_mime_header_get_raw_value(h);
	const char *semi = raw ? strrchr(raw, ';') : NULL;
	if (semi)
		out->received_valid = decode_date(semi + 1, &out->received);
}

static void take_date(GMimeHeader *h, ms_headers *out)
{
	out->date_valid = decode_date(g_mime_header_get_raw_value(h), &out->date);
}

/* Store a copy of `value` in *slot; empty values stay NULL. */
static int take_text(char **slot, const char *value, const char *field, ms_err *e)
{
	if (!value || !*value)
		return 0;
	if (!(*slot = ms_utf8_dup(value)))
		return ms_err_set(e, MS_E_NOMEM, "out of memory copying the %s header", field);
	return 0;
}

static int take_message_id(GMimeHeader *h, ms_headers *out, ms_err *e)
{
	char *text = unfolded_prefix(g_mime_header_get_raw_value(h), SHORT_VALUE_MAX);
	if (!text)
		return 0;
	char *id = g_mime_utils_decode_message_id(text);
	int rc = take_text(&out->message_id, id, "Message-ID", e);
	g_free(id);
	g_free(text);
	return rc;
}

static int take_subject(GMimeHeader *h, ms_headers *out, ms_err *e)
{
	char *text = unfolded_prefix(g_mime_header_get_raw_value(h), SUBJECT_MAX);
	if (!text)
		return 0;
	char *decoded = g_mime_utils_header_decode_text(ms_gmime_options(), text);
	int rc = take_text(&out->subject, decoded, "Subject", e);
	g_free(decoded);
	g_free(text);
	return rc;
}

/* The list an address field adds to; NULL for other fields. */
static ms_address_list *address_list_for(const char *name, ms_headers *out)
{
	if (!strcasecmp(name, "From"))
		return &out->from;
	if (!strcasecmp(name, "To"))
		return &out->to;
	if (!strcasecmp(name, "Cc"))
		return &out->cc;
	return NULL;
}

/* Only the first Date, Received, Message-ID and Subject reach this point
 * (select.c); every From, To and Cc adds addresses. */
static int take_field(GMimeHeader *h, ms_headers *out, ms_err *e)
{
	const char *name = g_mime_header_get_name(h);
	if (!name)
		return 0;
	ms_address_list *l = address_list_for(name, out);
	if (l) {
		const char *raw = g_mime_header_get_raw_value(h);
		return raw ? ms_address_list_append_raw(l, raw, e) : 0;
	}
	if (!strcasecmp(name, "Date"))
		take_date(h, out);
	else if (!strcasecmp(name, "Received"))
		take_received(h, out);
	else if (!strcasecmp(name, "Message-ID"))
		return take_message_id(h, out, e);
	else if (!strcasecmp(name, "Subject"))
		return take_subject(h, out, e);
	return 0;
}

/* ---- the first From, To and Cc, as hMailServer's importer reads them ---- */

/* hMailServer then decodes the value's RFC 2047 encoded words (its
 * FieldCodeAddress); GMime's decoder does that here, and makes raw 8-bit
 * text UTF-8. */
static int take_first_field(const ms_selected *sel, int slot, char **dst, ms_err *e)
{
	if (!sel->first[slot])
		return 0;
	char *raw = ms_unfold_value(sel->first[slot], sel->first_len[slot]);
	char *decoded = raw ? g_mime_utils_header_decode_text(ms_gmime_options(), raw) : NULL;
	*dst = decoded ? ms_utf8_dup(decoded) : NULL;
	free(raw);
	g_free(decoded);
	if (!*dst)
		return ms_err_set(e, MS_E_NOMEM, "out of memory copying an address field");
	return 0;
}

static int take_first_fields(const ms_selected *sel, ms_headers *out, ms_err *e)
{
	char **dst[MS_FIRST_N] = { [MS_FIRST_FROM] = &out->first_from, [MS_FIRST_TO] = &out->first_to,
	                          [MS_FIRST_CC] = &out->first_cc };
	for (int slot = 0; slot < MS_FIRST_N; slot++)
		if (take_first_field(sel, slot, dst[slot], e) < 0)
			return -1;
	return 0;
}

/* ---- GMime ---------------------------------------------------------------------- */

/* Hand the selected fields to GMime's parser, as a MIME part rather than a
 * message: the fields are the same, and GMime's message object would parse
 * every address field a second time, on a path that leaks in GMime 3.2.13
 * (see address_guard.c).  NULL if GMime finds no header field. */
static GMimeObject *gmime_parse(const ms_selected *sel)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(sel->buf, sel->len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	GMimeObject *part = g_mime_parser_construct_part(parser, ms_gmime_options());
	g_object_unref(parser);
	return part;
}

static int take_fields(const ms_selected *sel, ms_headers *out, ms_err *e)
{
	GMimeObject *part = gmime_parse(sel);
	if (!part)
		return 0;
	GMimeHeaderList *list = g_mime_object_get_header_list(part);
	int count = g_mime_header_list_get_count(list), rc = 0;
	for (int i = 0; i < count && rc == 0; i++)
		rc = take_field(g_mime_header_list_get_header_at(list, i), out, e);
	g_object_unref(part);
	return rc;
}

/* Parse the header section sect[0..len).  `flags` holds what the caller
 * learnt while finding the section (separator, truncation). */
static int parse_section(const char *sect, size_t len, unsigned flags, ms_headers *out, ms_err *e)
{
	ms_header_global_init();
	out->header_bytes = len;
	out->flags = flags;
	if (flags & MS_HDR_EMPTY)
		return 0;
	if (memchr(sect, '\0', len))
		out->flags |= MS_HDR_BINARY;
	if (!utf8_clean(sect, len))
		out->flags |= MS_HDR_BAD_UTF8;
	ms_selected sel;
	if (ms_select_fields(sect, len, &sel, e) < 0)
		return -1;
	if (sel.fields == 0)
		out->flags |= MS_HDR_NO_FIELDS;
	int rc = take_fields(&sel, out, e);
	if (rc == 0)
		rc = take_first_fields(&sel, out, e);
	free(sel.buf);
	if (rc < 0)
		ms_headers_free(out);
	return rc;
}

/* ---- entry points ------------------------------------------------------------- */

int ms_headers_parse(const char *buf, size_t len, ms_headers *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	if (len == 0)
		return parse_section(buf, 0, MS_HDR_EMPTY, out, e);
	size_t limit = len < MS_HEADER_MAX ? len : MS_HEADER_MAX, end;
	if (ms_find_separator(buf, 0, limit, &end))
		return parse_section(buf, end, 0, out, e);
	return parse_section(buf, limit, len > MS_HEADER_MAX ? MS_HDR_TRUNCATED : MS_HDR_NO_SEPARATOR, out, e);
}

/* The bytes of a header section being read from a file. */
typedef struct section_buf {
	char *buf;
	size_t len, cap;
	size_t end;      /* offset past the empty line, once found */
	unsigned flags;  /* MS_HDR_NO_SEPARATOR / TRUNCATED / EMPTY */
} section_buf;

static ssize_t read_retry(int fd, void *buf, size_t len)
{
	ssize_t n;
	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

static int grow(section_buf *s, const char *name, ms_err *e)
{
	size_t cap = s->cap ? s->cap * 2 : READ_CHUNK;
	if (cap > MS_HEADER_MAX)
		cap = MS_HEADER_MAX;
	char *nb = realloc(s->buf, cap);
	if (!nb)
		return ms_err_set(e, MS_E_NOMEM, "%s: out of memory reading the header section (%zu bytes)", name, cap);
	s->buf = nb;
	s->cap = cap;
	return 0;
}

/* The buffer is full at MS_HEADER_MAX without an empty line: one more byte
 * tells a cut section from a file that is all header. */
static int classify_full(int fd, section_buf *s, const char *name, ms_err *e)
{
	char extra;
	ssize_t n = read_retry(fd, &extra, 1);
	if (n < 0)
		return ms_err_set(e, MS_E_IO, "%s: cannot read: %s", name, strerror(errno));
	s->end = s->len;
	s->flags = n > 0 ? MS_HDR_TRUNCATED : MS_HDR_NO_SEPARATOR;
	return 0;
}

static int read_section(int fd, const char *name, section_buf *s, ms_err *e)
{
	for (;;) {
		if (s->len == MS_HEADER_MAX)
			return classify_full(fd, s, name, e);
		if (s->len == s->cap && grow(s, name, e) < 0)
			return -1;
		size_t want = s->cap - s->len < READ_CHUNK ? s->cap - s->len : READ_CHUNK;
		ssize_t n = read_retry(fd, s->buf + s->len, want);
		if (n < 0)
			return ms_err_set(e, MS_E_IO, "%s: cannot read: %s", name, strerror(errno));
		if (n == 0) {
			s->end = s->len;
			s->flags = s->len == 0 ? MS_HDR_EMPTY : MS_HDR_NO_SEPARATOR;
			return 0;
		}
		/* A separator may straddle the old end: "\n" + "\r\n". */
		size_t from = s->len >= 2 ? s->len - 2 : 0;
		s->len += (size_t)n;
		if (ms_find_separator(s->buf, from, s->len, &s->end)) {
			s->flags = 0;
			return 0;
		}
	}
}

int ms_headers_read_fd(int fd, const char *name_for_errors, ms_headers *out, ms_err *e)
{
	const char *name = name_for_errors ? name_for_errors : "(message)";
	memset(out, 0, sizeof *out);
	section_buf s = { 0 };
	int rc = read_section(fd, name, &s, e); /* its errors name the file */
	if (rc == 0 && (rc = parse_section(s.buf ? s.buf : "", s.end, s.flags, out, e)) < 0)
		ms_err_prefix(e, "%s", name);
	free(s.buf);
	return rc;
}

int ms_headers_read_file(const char *path, ms_headers *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return ms_err_set(e, MS_E_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int err = errno;
		close(fd);
		return ms_err_set(e, MS_E_IO, "%s: cannot stat: %s", path, strerror(err));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ms_err_set(e, MS_E_IO, "%s: not a regular file", path);
	}
	int rc = ms_headers_read_fd(fd, path, out, e);
	close(fd);
	return rc;
}

void ms_headers_free(ms_headers *h)
{
	if (!h)
		return;
	ms_address_list_free(&h->from);
	ms_address_list_free(&h->to);
	ms_address_list_free(&h->cc);
	free(h->message_id);
	free(h->subject);
	free(h->first_from);
	free(h->first_to);
	free(h->first_cc);
	h->message_id = h->subject = h->first_from = h->first_to = h->first_cc = NULL;
}
