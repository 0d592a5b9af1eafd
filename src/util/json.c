#include "util/json.h"

#include <stdlib.h>
#include <string.h>

void ms_json_init(ms_json *j, FILE *out)
{
	memset(j, 0, sizeof *j);
	j->out = out;
}

/* Called before every value: writes the separating comma when needed. */
static void before_value(ms_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->out);
	j->need_comma[j->depth] = true;
}

static void open_container(ms_json *j, char c)
{
	before_value(j);
	fputc(c, j->out);
	if (j->depth < 63)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_container(ms_json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->out);
}

void ms_json_begin_object(ms_json *j) { open_container(j, '{'); }
void ms_json_end_object(ms_json *j) { close_container(j, '}'); }
void ms_json_begin_array(ms_json *j) { open_container(j, '['); }
void ms_json_end_array(ms_json *j) { close_container(j, ']'); }

/* Length of the valid UTF-8 sequence at s, or 0 if it is not valid. */
static size_t utf8_seq_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	size_t n;
	unsigned min;
	if ((s[0] & 0xE0) == 0xC0) { n = 2; min = 0x80; }
	else if ((s[0] & 0xF0) == 0xE0) { n = 3; min = 0x800; }
	else if ((s[0] & 0xF8) == 0xF0) { n = 4; min = 0x10000; }
	else return 0;
	unsigned cp = s[0] & (0x7F >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static void write_escaped(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', out);
	while (*s) {
		if (*s == '"' || *s == '\\') {
			fputc('\\', out);
			fputc(*s++, out);
		} else if (*s < 0x20) {
			fprintf(out, "\\u%04x", *s++);
		} else {
			size_t n = utf8_seq_len(s);
			if (n == 0) {
				fputs("\\ufffd", out);
				s++;
			} else {
				fwrite(s, 1, n, out);
				s += n;
			}
		}
	}
	fputc('"', out);
}

char *ms_json_read_form(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	char *out = malloc(strlen(str) * 3 + 1), *o = out; /* a bad byte: 3 bytes of U+FFFD */
	while (out && *s) {
		size_t n = utf8_seq_len(s);
		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			s++;
		} else {
			memcpy(o, s, n);
			o += n;
			s += n;
		}
	}
	if (out)
		*o = '\0';
	return out;
}

void ms_json_key(ms_json *j, const char *key)
{
	before_value(j);
	write_escaped(j->out, key);
	fputc(':', j->out);
	j->after_key = true;
}

void ms_json_string(ms_json *j, const char *s)
{
	before_value(j);
	if (s)
		write_escaped(j->out, s);
	else
		fputs("null", j->out);
}

void ms_json_int(ms_json *j, int64_t v)
{
	before_value(j);
	fprintf(j->out, "%lld", (long long)v);
}

void ms_json_bool(ms_json *j, bool v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->out);
}

void ms_json_kv_string(ms_json *j, const char *key, const char *s) { ms_json_key(j, key); ms_json_string(j, s); }
void ms_json_kv_int(ms_json *j, const char *key, int64_t v) { ms_json_key(j, key); ms_json_int(j, v); }
void ms_json_kv_bool(ms_json *j, const char *key, bool v) { ms_json_key(j, key); ms_json_bool(j, v); }

void ms_json_finish(ms_json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
}
