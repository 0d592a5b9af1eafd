/* store.h - an open mail store: a database in the hMailServer 5.x format
 * plus (optionally) its data directory.
 */
#ifndef MS_STORE_H
#define MS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "util/err.h"

typedef struct ms_store {
	db *db;
	char *data_dir;   /* NULL when not configured */
	int version;      /* hm_dbversion */
} ms_store;

/* Open the database named by `url` and check its schema version; an
 * unknown version is refused with a message that names it.  `mode` is
 * DB_OPEN_READ_WRITE, or DB_OPEN_READ_ONLY for work that writes nothing. */
int ms_store_open(const char *url, const char *password, const char *data_dir, db_open_mode mode,
                  ms_store **out, ms_err *e);
void ms_store_close(ms_store *s);

/* Create a new, empty store (the schema and the version row). */
int ms_store_init(const char *url, const char *password, ms_err *e);

/* The custom index hMailServer's documentation advises for the original
 * synchronizer (mstore itself does not need it). */
#define MS_FILENAME_INDEX "idx_custom_hm_messages_messagefilename"

/* Does an index of this name exist? 1 yes, 0 no, -1 error. */
int ms_store_has_index(ms_store *s, const char *name, ms_err *e);
/* Create MS_FILENAME_INDEX if it is missing. */
int ms_store_create_filename_index(ms_store *s, ms_err *e);

#endif
