/* schema_internal.h - what the renderer (schema_ddl.c), the creator
 * (schema.c) and the unit test share beyond schema.h: the DDL renderer
 * and the version row's statement.  The description itself (the tables
 * as data) is in schema.h, for migrate's table-by-table copy.
 */
#ifndef MS_SCHEMA_INTERNAL_H
#define MS_SCHEMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"
#include "store/schema.h"

/* Render the DDL that creates the tables for `dialect`: per table its
 * CREATE TABLE, then its CREATE INDEXes.  `emit` is called once per
 * statement (no trailing ';'); a non-zero return from it stops the
 * rendering and is returned.  Returns -1 when out of memory.  The version
 * row is not part of it: ms_schema_create inserts it with a bound value,
 * ms_schema_ddl prints it. */
typedef int (*ms_schema_emit_fn)(void *ctx, const char *statement);
int ms_schema_render(db_dialect dialect, ms_schema_emit_fn emit, void *ctx);

/* The final statement, which marks the store complete. */
#define MS_SCHEMA_VERSION_INSERT "INSERT INTO hm_dbversion (value) VALUES (?)"

#endif
