/* ident.c - message identities (see ident.h). */
#include "channel/ident.h"

#include <ctype.h>
#include <glib.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message/header.h"
#include "util/vec.h"

typedef MS_VEC(char) ms_buf;

static int buf_add(ms_buf *b, const char *s, size_t n)
{
	if (ms_vec_reserve(b, b->n + n + 1) < 0)
		return -1;
	memcpy(b->v + b->n, s, n);
	b->n += n;
	b->v[b->n] = '\0';
	return 0;
}

char *ms_ident_sanitize(const char *raw)
{
	if (!raw || !*raw || strcmp(raw, "<>") == 0)
		return strdup("<>");
	/* an LF-folded Message-ID: c-client keeps the space after the LF */
	if (raw[0] == ' ' && raw[1] == '<')
		raw++;
	size_t n = strlen(raw);
	char *s = malloc(n + 3);
	if (!s)
		return NULL;
	size_t o = 0;
	if (raw[0] != '<')
		s[o++] = '<';
	memcpy(s + o, raw, n + 1);
	size_t i;
	for (i = 0; s[i] && s[i] != '>'; i++)
		if (isspace((unsigned char)s[i]) || iscntrl((unsigned char)s[i]))
			s[i] = '.';
	if (s[i] == '>')
		s[i + 1] = '\0';         /* cut what follows the first '>' */
	else if (s[i - 1] != '>') {
		s[i] = '>';
		s[i + 1] = '\0';
	}
	return s;
}

char *ms_ident_from_msgid(const char *msgid)
{
	if (!msgid || !*msgid || strcmp(msgid, "<>") == 0)
		return NULL;
	if (msgid[0] == '<')
		return ms_ident_sanitize(msgid);
	/* drivers hand the ID without its brackets: put them back first */
	size_t n = strlen(msgid);
	char *raw = malloc(n + 3);
	if (!raw)
		return NULL;
	raw[0] = '<';
	memcpy(raw + 1, msgid, n);
	raw[n + 1] = '>';
	raw[n + 2] = '\0';
	char *s = ms_ident_sanitize(raw);
	free(raw);
	return s;
}

static char *prefixed(const char *prefix, GChecksum *c)
{
	const char *hex = g_checksum_get_string(c);
	size_t n = strlen(prefix) + strlen(hex) + 1;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s", prefix, hex);
	return s;
}

char *ms_ident_digest(const char *data, size_t len)
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
	size_t start = 0;
	/* feed the runs between CRs that begin a CRLF, so CRLF hashes as LF */
	for (size_t i = 0; i + 1 < len; i++)
		if (data[i] == '\r' && data[i + 1] == '\n') {
			g_checksum_update(c, (const guchar *)data + start, (gssize)(i - start));
			start = i + 1;
		}
	g_checksum_update(c, (const guchar *)data + start, (gssize)(len - start));
	char *s = prefixed("sha256:", c);
	g_checksum_free(c);
	return s;
}

/* ---- md5 mode ---------------------------------------------------------------- */

/* mailsync hashes fields of c-client's envelope, and c-client builds those
 * from the raw header: a field's name matches case-insensitively, blanks
 * allowed before its colon; its value is unfolded (each line break before
 * a continuation line removed, the blanks kept), every tab turned into a
 * space, the leading spaces skipped, the trailing ones kept, nothing
 * decoded.  Values below are in that form (checked against the real
 * mailsync: tests/unit/test_ident.c, test_md5_as_mailsync). */

/* If the header line data[p..p+line_len) is the field `name`, the offset of
 * its value (past the colon); else 0. */
static size_t field_value_at(const char *data, size_t p, size_t line_len, const char *name)
{
	size_t nl = strlen(name), q = p + nl;
	if (line_len <= nl || g_ascii_strncasecmp(data + p, name, nl) != 0)
		return 0;
	while (q < p + line_len && (data[q] == ' ' || data[q] == '\t'))
		q++;
	return q < p + line_len && data[q] == ':' ? q + 1 : 0;
}

/* Append the unfolded value that starts at v (its field's first line ends
 * at e, the header section at len) to b as c-client keeps it; the offset of
 * the next field. */
static size_t add_value(ms_buf *b, const char *data, size_t len, size_t v, size_t e, int *oom)
{
	for (;;) {
		size_t stop = e - (e > v && data[e - 1] == '\r');
		for (size_t i = v; i < stop; i++) {
			char ch = data[i] == '\t' ? ' ' : data[i];
			if (ch == ' ' && b->n == 0)
				continue;        /* leading blanks, on whichever line they are */
			*oom |= buf_add(b, &ch, 1) < 0;
		}
		if (e + 1 >= len || (data[e + 1] != ' ' && data[e + 1] != '\t'))
			return e + 1;
		v = e + 1;               /* a continuation line: its blanks stay */
		for (e = v; e < len && data[e] != '\n'; e++)
			;
	}
}

/* The values of the header field `name` (every occurrence when `all`, else
 * the first), each as add_value makes it; *found whether there was one.
 * NULL when out of memory. */
static char **header_values(const char *data, size_t len, const char *name, bool all, bool *found)
{
	GPtrArray *out = g_ptr_array_new();
	int oom = 0;
	*found = false;
	for (size_t p = 0; p < len && !oom;) {
		size_t e = p;
		while (e < len && data[e] != '\n')
			e++;
		size_t line_len = e - p - (e > p && data[e - 1] == '\r');
		if (line_len == 0)
			break;               /* the end of the header section */
		size_t v = field_value_at(data, p, line_len, name);
		if (!v || (*found && !all)) {
			p = e + 1;
			continue;
		}
		ms_buf b = { 0 };
		p = add_value(&b, data, len, v, e, &oom);
		g_ptr_array_add(out, b.v ? b.v : g_strdup(""));
		*found = true;
	}
	g_ptr_array_add(out, NULL);
	char **v = (char **)g_ptr_array_free(out, FALSE);
	if (oom) {
		g_strfreev(v);
		return NULL;
	}
	return v;
}

/* c-client's rfc822_cat: `s` as is, or quoted ("..." with a backslash before '"'
 * and before a backslash) when it holds an RFC 822 special or a blank, or begins or ends
 * with '.', or holds "..". */
static void add_word(GString *g, const char *s)
{
	size_t n = strlen(s);
	bool quote = strpbrk(s, " ()<>@,;:\\\"[]") || s[0] == '.' || (n && s[n - 1] == '.') || strstr(s, "..");
	if (!quote) {
		g_string_append(g, s);
		return;
	}
	g_string_append_c(g, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			g_string_append_c(g, '\\');
		g_string_append_c(g, *s);
	}
	g_string_append_c(g, '"');
}

/* A local part as GMime hands it, quoted or not, in its plain form. */
static char *unquoted(const char *s, size_t n)
{
	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return g_strndup(s, n);
	GString *g = g_string_new(NULL);
	for (size_t i = 1; i + 1 < n; i++) {
		if (s[i] == '\\' && i + 2 < n)
			i++;
		g_string_append_c(g, s[i]);
	}
	return g_string_free(g, FALSE);
}

/* One mailbox as c-client's rfc822_address writes it: local@domain, the
 * source route dropped; a mailbox without a domain gets c-client's
 * ".MISSING-HOST-NAME." (quoted, as it begins with a dot). */
static void add_mailbox(GString *g, const char *addr)
{
	const char *at = strrchr(addr, '@');
	char *local = unquoted(addr, at ? (size_t)(at - addr) : strlen(addr));
	add_word(g, local);
	g_free(local);
	g_string_append_c(g, '@');
	add_word(g, at && at[1] ? at + 1 : ".MISSING-HOST-NAME.");
}

/* Every mailbox of `l`, a group's members in its place (c-client keeps a
 * group's members and writes nothing for the group itself). */
static void add_list(GString *g, InternetAddressList *l)
{
	for (int i = 0; i < internet_address_list_length(l); i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			add_list(g, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
			continue;
		}
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
		if (addr && *addr)
			add_mailbox(g, addr);
	}
}

/* Append the text fields (the first of each) or the address fields (all
 * of them: c-client appends a repeated To to the list) named `name`. */
static int add_field(GString *g, const char *data, size_t len, const char *name, bool addresses)
{
	bool found;
	char **v = header_values(data, len, name, addresses, &found);
	if (!v)
		return -1;
	for (size_t i = 0; v[i]; i++) {
		if (!addresses) {
			g_string_append(g, v[i]);
			continue;
		}
		ms_header_global_init();   /* GMime's one-time set-up */
		InternetAddressList *l = internet_address_list_parse(NULL, v[i]);
		if (l) {
			add_list(g, l);
			g_object_unref(l);
		}
	}
	g_strfreev(v);
	return 0;
}

char *ms_ident_md5(const char *data, size_t len)
{
	static const struct { const char *name; bool addresses; } fields[] = {
		{ "Date", false }, { "Subject", false }, { "Message-ID", false }, { "From", true }, { "To", true },
	};
	GString *g = g_string_new(NULL);
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (add_field(g, data, len, fields[i].name, fields[i].addresses) < 0) {
			g_string_free(g, TRUE);
			return NULL;
		}
	char *s;
	if (g->len == 0) {
		/* mailsync keys such a message "no msg-id" and loses it: ours gets a digest */
		s = ms_ident_digest(data, len);
	} else {
		GChecksum *c = g_checksum_new(G_CHECKSUM_MD5);
		g_checksum_update(c, (const guchar *)g->str, (gssize)g->len);
		s = prefixed("md5:", c);
		g_checksum_free(c);
	}
	g_string_free(g, TRUE);
	return s;
}

char *ms_ident_from_msinfo(const char *line)
{
	static const char md5_mark[] = "<>, md5: <";
	if (!line || line[0] != '<')
		return NULL;
	if (strncmp(line, md5_mark, sizeof md5_mark - 1) == 0) {
		const char *hex = line + sizeof md5_mark - 1;
		size_t n = strcspn(hex, ">");
		char *s = malloc(n + 5);
		if (s)
			snprintf(s, n + 5, "md5:%.*s", (int)n, hex);
		return s;
	}
	if (strncmp(line, "<>", 2) == 0)
		return NULL;
	/* msinfo holds identities as mailsync wrote them: already sanitized */
	return strndup(line, strcspn(line, ">") + (strchr(line, '>') != NULL));
}

bool ms_ident_is_digest(const char *ident)
{
	return ident && ident[0] != '<';
}

char *ms_ident_of_message(ms_ident_mode mode, const char *data, size_t len)
{
	if (mode == MS_IDENT_MD5)
		return ms_ident_md5(data, len);
	ms_headers h;
	ms_err e;
	if (ms_headers_parse(data, len, &h, &e) < 0)
		return NULL; /* out of memory: the parser fails on nothing else */
	char *id = h.message_id ? ms_ident_from_msgid(h.message_id) : NULL;
	ms_headers_free(&h);
	return id ? id : ms_ident_digest(data, len);
}
