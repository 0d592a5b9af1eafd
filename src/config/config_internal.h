/* config_internal.h - helpers shared by the mstore.conf reader (config.c)
 * and the hMailServer.INI reader (ini.c).  Not part of the API. */
#ifndef MS_CONFIG_INTERNAL_H
#define MS_CONFIG_INTERNAL_H

#include <stdio.h>

#include "config/config.h"

/* Reads a text file line by line: strips the newline (LF or CRLF) and
 * counts lines from 1 for FILE:LINE messages. */
typedef struct cfg_lines {
	const char *path;
	FILE *f;
	char *buf;
	size_t cap;
	int lineno;
} cfg_lines;

/* Open `path` for reading; `what` names the kind of file in the message
 * ("config file", "hMailServer.INI"). */
int cfg_lines_open(cfg_lines *r, const char *path, const char *what, ms_err *e);
/* The next line in *line (owned by the reader), 1; 0 at the end; -1 on a
 * read error. */
int cfg_lines_next(cfg_lines *r, char **line, ms_err *e);
void cfg_lines_close(cfg_lines *r);

/* Trim blanks (space, tab) at both ends, in place. */
char *cfg_trim(char *s);

/* Replace *field with a copy of `value` (NULL clears it). */
int cfg_set(char **field, const char *value, ms_err *e);

/* Move every field `from` sets into `to` (replacing), leaving `from`
 * empty; warnings are appended, not replaced. */
int cfg_merge(ms_config *to, ms_config *from, ms_err *e);

/* Append one line to c->warnings. */
int cfg_warn(ms_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
