/* init_rows.h - the default rows of a new hMailServer 5.7 store: the
 * settings, ports, IP ranges, server messages, DNSBL/SURBL servers and
 * blocked attachments hMailServer's setup scripts insert (init_rows.c).
 */
#ifndef MS_INIT_ROWS_H
#define MS_INIT_ROWS_H

#include <stdio.h>

#include "db/db.h"

/* Insert every default row, with prepared statements, inside the caller's
 * transaction (ms_schema_create's, before the version row). */
int ms_init_rows_insert(db *d, ms_err *e);
/* The same rows as INSERT statements with literal values in the dialect's
 * quoting, one a line, for a script (`mstore init --print-sql`). */
int ms_init_rows_print(db_dialect d, FILE *f);

#endif
