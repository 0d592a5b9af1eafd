/* address.c - address-list header values (From/To/Cc) through GMime's
 * InternetAddressList parser (see header.h).
 *
 * GMime does the RFC 5322 work: display names (RFC 2047-decoded to UTF-8),
 * groups, comments, quoted local parts, obsolete routes.  What is left here
 * is the shape mstore wants: one flat list of mailboxes, each with a usable
 * "local@domain", and the domain as the message wrote it.  Values reach
 * GMime through address_guard.c, which keeps hostile ones from hurting it.
 */
#include "message/message_internal.h"

#include <stdlib.h>
#include <string.h>

/* Groups cannot nest in RFC 5322, but GMime nests them when colons follow
 * each other; address_guard.c keeps that under 65 levels, and this bound
 * only makes sure our own recursion stays small whatever GMime builds. */
#define MAX_GROUP_DEPTH 128

char *ms_utf8_dup(const char *s)
{
	if (g_utf8_validate(s, -1, NULL))
		return strdup(s);
	char *valid = g_utf8_make_valid(s, -1);
	char *copy = strdup(valid);
	g_free(valid);
	return copy;
}

/* Room for one more entry; capacity is implicit (4, then powers of two). */
static bool reserve_one(ms_address_list *l)
{
	size_t n = l->n, cap;
	if (n == 0)
		cap = 4;
	else if (n >= 4 && (n & (n - 1)) == 0)
		cap = 2 * n;
	else
		return true;
	ms_address *v = realloc(l->v, cap * sizeof *v);
	if (!v)
		return false;
	l->v = v;
	return true;
}

/* mstore needs a deliverable-looking address: something on both sides of
 * the last '@'.  Bare names ("undisclosed-recipients") are dropped. */
static bool has_local_and_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at && at != addr && at[1] != '\0';
}

/* Where the raw header text stands while its mailboxes are appended. */
typedef struct raw_text {
	const char *text;
	bool has_8bit;     /* some byte >= 0x80 */
	bool has_ace;      /* "xn--", the prefix GMime decodes */
	const char *cursor; /* mailboxes come in order: search on from here */
	int misses;        /* failed searches so far */
} raw_text;

/* After this many failed searches the rest default to the ASCII form, so
 * that a pathological header costs linear time. */
#define MAX_WRITTEN_FORM_MISSES 64

static void raw_text_init(raw_text *r, const char *raw)
{
	r->text = r->cursor = raw;
	r->has_8bit = false;
	for (const unsigned char *p = (const unsigned char *)raw; *p && !r->has_8bit; p++)
		r->has_8bit = *p >= 0x80;
	r->has_ace = strstr(raw, "xn--") != NULL;
	r->misses = 0;
}

static bool is_addr_char(unsigned char c)
{
	return c >= 0x80 || g_ascii_isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~.\"", c));
}

/* Does `addr` occur in the raw text (from the cursor on) as a whole
 * address, not as part of a longer one?  Moves the cursor past it. */
static bool occurs_as_written(raw_text *r, const char *addr)
{
	size_t n = strlen(addr);
	for (const char *p = r->cursor; (p = strstr(p, addr)) != NULL; p++)
		if ((p == r->text || !is_addr_char((unsigned char)p[-1])) && !is_addr_char((unsigned char)p[n])) {
			r->cursor = p + n;
			return true;
		}
	return false;
}

/* GMime, when built with libidn2, turns an "xn--" domain into Unicode while
 * parsing; the spec wants the domain as written.  A Unicode domain that
 * cannot have been written (the raw text is ASCII) or is not found in the
 * raw text was punycode, and GMime's IDN form gives the ASCII spelling
 * back. */
static const char *addr_as_written(InternetAddressMailbox *mb, raw_text *r)
{
	const char *addr = internet_address_mailbox_get_addr(mb);
	const char *at = strrchr(addr, '@');
	bool unicode_domain = false;
	for (const unsigned char *p = (const unsigned char *)(at ? at + 1 : ""); *p && !unicode_domain; p++)
		unicode_domain = *p >= 0x80;
	if (!unicode_domain || !r->has_ace)
		return addr;
	if (r->has_8bit && r->misses < MAX_WRITTEN_FORM_MISSES) {
		if (occurs_as_written(r, addr))
			return addr;
		r->misses++;
	}
	return internet_address_mailbox_get_idn_addr(mb);
}

static int append_mailbox(ms_address_list *l, InternetAddressMailbox *mb, raw_text *r, ms_err *e)
{
	const char *addr = addr_as_written(mb, r);
	if (!addr || !has_local_and_domain(addr))
		return 0;
	const char *name = internet_address_get_name(INTERNET_ADDRESS(mb));
	if (!reserve_one(l))
		return ms_err_set(e, MS_E_NOMEM, "out of memory storing the address '%.200s'", addr);
	ms_address *a = &l->v[l->n];
	a->addr = ms_utf8_dup(addr);
	a->name = name && *name ? ms_utf8_dup(name) : NULL;
	if (!a->addr || (name && *name && !a->name)) {
		free(a->addr);
		free(a->name);
		return ms_err_set(e, MS_E_NOMEM, "out of memory storing the address '%.200s'", addr);
	}
	l->n++;
	return 0;
}

static int append_list(ms_address_list *l, InternetAddressList *src, raw_text *r, int depth, ms_err *e)
{
	int count = internet_address_list_length(src);
	for (int i = 0; i < count; i++) {
		InternetAddress *ia = internet_address_list_get_address(src, i);
		int rc = 0;
		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			rc = append_mailbox(l, INTERNET_ADDRESS_MAILBOX(ia), r, e);
		else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < MAX_GROUP_DEPTH)
			rc = append_list(l, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), r,
			                 depth + 1, e);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Parse one piece of a value (see address_guard.c) and append what it
 * holds. */
static int parse_piece(void *ctx, const char *piece, ms_err *e)
{
	InternetAddressList *parsed = internet_address_list_parse(ms_gmime_options(), piece);
	if (!parsed)
		return 0; /* nothing GMime could read as an address */
	raw_text r;
	raw_text_init(&r, piece);
	int rc = append_list(ctx, parsed, &r, 0, e);
	g_object_unref(parsed);
	return rc;
}

int ms_address_list_append_raw(ms_address_list *l, const char *raw, ms_err *e)
{
	return ms_address_value_pieces(raw, parse_piece, l, e);
}

int ms_address_list_parse(const char *value, ms_address_list *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	if (!value)
		return 0;
	ms_header_global_init();
	if (ms_address_list_append_raw(out, value, e) < 0) {
		ms_address_list_free(out);
		return -1;
	}
	return 0;
}

void ms_address_list_free(ms_address_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].addr);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
