/* cfg_common.c - line reading and ms_config field handling shared by the
 * mstore.conf and hMailServer.INI readers. */
#include "config/config_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cfg_lines_open(cfg_lines *r, const char *path, const char *what, ms_err *e)
{
	memset(r, 0, sizeof *r);
	r->path = path;
	r->f = fopen(path, "r");
	if (!r->f)
		return ms_err_set(e, MS_E_CONFIG, "cannot open %s %s: %s", what, path, strerror(errno));
	/* fopen opens a directory; the first read would fail with EISDIR */
	struct stat st;
	if (fstat(fileno(r->f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(r->f);
		r->f = NULL;
		return ms_err_set(e, MS_E_CONFIG, "cannot read %s %s: it is a directory", what, path);
	}
	return 0;
}

int cfg_lines_next(cfg_lines *r, char **line, ms_err *e)
{
	errno = 0;
	ssize_t n = getline(&r->buf, &r->cap, r->f);
	if (n < 0) {
		/* a configuration that cannot be read is a configuration error
		 * (exit 3), whether open or read fails */
		if (ferror(r->f))
			return ms_err_set(e, MS_E_CONFIG, "%s:%d: read error: %s", r->path, r->lineno + 1,
			                  strerror(errno ? errno : EIO));
		return 0;
	}
	r->lineno++;
	if (n > 0 && r->buf[n - 1] == '\n')
		r->buf[--n] = '\0';
	if (n > 0 && r->buf[n - 1] == '\r')
		r->buf[--n] = '\0';
	*line = r->buf;
	return 1;
}

void cfg_lines_close(cfg_lines *r)
{
	if (r->f)
		fclose(r->f);
	/* The last line read may have been a password. */
	if (r->buf)
		explicit_bzero(r->buf, r->cap);
	free(r->buf);
	memset(r, 0, sizeof *r);
}

char *cfg_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

int cfg_set(char **field, const char *value, ms_err *e)
{
	char *copy = NULL;
	if (value && !(copy = strdup(value)))
		return ms_err_set(e, MS_E_NOMEM, "out of memory storing a configuration value");
	free(*field);
	*field = copy;
	return 0;
}

static void take_field(char **to, char **from)
{
	if (!*from)
		return;
	free(*to);
	*to = *from;
	*from = NULL;
}

int cfg_merge(ms_config *to, ms_config *from, ms_err *e)
{
	take_field(&to->data_dir, &from->data_dir);
	take_field(&to->db_url, &from->db_url);
	take_field(&to->db_password, &from->db_password);
	take_field(&to->server_tz, &from->server_tz);
	take_field(&to->source, &from->source);
	if (from->warnings) {
		if (cfg_warn(to, "%s", from->warnings) < 0)
			return ms_err_set(e, MS_E_NOMEM, "out of memory storing a configuration warning");
		free(from->warnings);
		from->warnings = NULL;
	}
	return 0;
}

int cfg_warn(ms_config *c, const char *fmt, ...)
{
	char *line;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (!c->warnings) {
		c->warnings = line;
		return 0;
	}
	char *joined;
	n = asprintf(&joined, "%s\n%s", c->warnings, line);
	free(line);
	if (n < 0)
		return -1;
	free(c->warnings);
	c->warnings = joined;
	return 0;
}
