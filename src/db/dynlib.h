/* dynlib.h - a database server's client library, loaded when a URL first
 * names that server.
 *
 * libpq and libmariadb bring 30 shared libraries with them (Kerberos,
 * LDAP, GnuTLS, SASL, ...).  Linked into the binary, the dynamic loader
 * maps and relocates all of them at every start, about half of a
 * command's fixed cost (bench/RESULTS.md: `mstore quota` on SQLite paid
 * 12 ms of loading for a server it never talked to).  The two drivers
 * therefore call the client through a table of function pointers that
 * db_dynlib_load fills with dlopen/dlsym on the first connection.  The
 * table's types come from the client's own header (__typeof__), so the
 * compiler still checks every call as if it were linked.
 */
#ifndef MS_DB_DYNLIB_H
#define MS_DB_DYNLIB_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef struct db_dynsym {
	const char *name;
	void **slot;      /* where the function's address goes */
} db_dynsym;

typedef struct db_dynlib {
	const char *soname;     /* "libpq.so.5": the ABI the header describes */
	const char *package;    /* the Debian package that ships it, for the error */
	const db_dynsym *syms;
	size_t nsyms;
	/* set by db_dynlib_load, under its lock */
	bool tried;
	void *handle;           /* NULL when loading failed */
	char error[512];        /* why, when it failed */
} db_dynlib;

/* Load lib and resolve every symbol, once per process (thread-safe; a
 * failure is remembered and reported again).  0, or -1 with `e` (MS_E_DB)
 * naming the library, the cause and the package to install. */
int db_dynlib_load(db_dynlib *lib, ms_err *e);

#endif
