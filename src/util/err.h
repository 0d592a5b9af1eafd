/* err.h - the one error type every layer of mstore reports through.
 *
 * Functions that can fail return 0 on success and -1 on failure, and fill a
 * caller-supplied `ms_err`.  The message is complete and human-readable: it
 * names the object (file, database server, statement, config line) and the
 * cause, so the CLI can print it as is.  `code` says what kind of failure it
 * was, which the CLI maps to exit codes.
 */
#ifndef MS_ERR_H
#define MS_ERR_H

#include <stddef.h>

typedef enum {
	MS_OK = 0,
	MS_E_USAGE,     /* bad argument or bad input from the user */
	MS_E_NOTFOUND,  /* a named object does not exist */
	MS_E_EXISTS,    /* a duplicate */
	MS_E_IO,        /* file system */
	MS_E_DB,        /* database server or statement */
	MS_E_CONFIG,    /* config file syntax or content */
	MS_E_SCHEMA,    /* unknown or missing schema version */
	MS_E_PARSE,     /* message could not be parsed */
	MS_E_LIMIT,     /* a limit of the store: no UID left, a quota */
	MS_E_NOMEM,
	MS_E_INTERNAL,
} ms_errcode;

typedef struct ms_err {
	ms_errcode code;
	char msg[2048];
} ms_err;

/* Set the error (printf-style).  Always returns -1 so callers can write
 * `return ms_err_set(e, MS_E_IO, "...");`.  `e` may be NULL. */
int ms_err_set(ms_err *e, ms_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing message with more context ("while X: <old msg>"). */
int ms_err_prefix(ms_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void ms_err_clear(ms_err *e);

#endif
