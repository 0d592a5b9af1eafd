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

/* The unfolded value of the first header field `name` in the header
 * section data[0..len), leading blanks removed; NULL when absent. */
static char *header_value(const char *data, size_t len, const char *name)
{
	size_t nl = strlen(name);
	for (size_t p = 0; p < len;) {
		size_t e = p;
		while (e < len && data[e] != '\n')
			e++;
		size_t line_len = e - p - (e > p && data[e - 1] == '\r');
		if (line_len == 0)
			return NULL;  /* end of the header section */
		if (line_len > nl && data[p + nl] == ':' && g_ascii_strncasecmp(data + p, name, nl) == 0) {
			ms_buf v = { 0 };
			size_t q = p + nl + 1;
			while (q < p + line_len && (data[q] == ' ' || data[q] == '\t'))
				q++;
			if (buf_add(&v, data + q, p + line_len - q) < 0)
				return NULL;
			/* continuation lines: the line break goes, the blank stays */
			for (size_t c = e + 1; c < len && (data[c] == ' ' || data[c] == '\t');) {
				size_t ce = c;
				while (ce < len && data[ce] != '\n')
					ce++;
				size_t cl = ce - c - (ce > c && data[ce - 1] == '\r');
				if (buf_add(&v, data + c, cl) < 0) {
					free(v.v);
					return NULL;
				}
				c = ce + 1;
			}
			return v.v ? v.v : strdup("");
		}
		p = e + 1;
	}
	return NULL;
}

/* Append each address of the list `value` as local@domain. */
static void add_addresses(GChecksum *c, const char *value, bool *any)
{
	ms_header_global_init();   /* GMime's one-time set-up */
	InternetAddressList *l = internet_address_list_parse(NULL, value);
	if (!l)
		return;
	for (int i = 0; i < internet_address_list_length(l); i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(a))
			continue;
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
		if (addr && *addr) {
			g_checksum_update(c, (const guchar *)addr, (gssize)strlen(addr));
			*any = true;
		}
	}
	g_object_unref(l);
}

char *ms_ident_md5(const char *data, size_t len)
{
	static const char *const text_fields[] = { "Date", "Subject", "Message-ID" };
	GChecksum *c = g_checksum_new(G_CHECKSUM_MD5);
	bool any = false;
	for (size_t i = 0; i < 3; i++) {
		char *v = header_value(data, len, text_fields[i]);
		if (v) {
			g_checksum_update(c, (const guchar *)v, (gssize)strlen(v));
			any |= *v != '\0';
		}
		free(v);
	}
	for (size_t i = 0; i < 2; i++) {
		char *v = header_value(data, len, i == 0 ? "From" : "To");
		if (v)
			add_addresses(c, v, &any);
		free(v);
	}
	char *s = any ? prefixed("md5:", c) : ms_ident_digest(data, len);
	g_checksum_free(c);
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
