/* refset.h - the set of message file names the database references.
 *
 * `mstore sync` loads every messagefilename of the messages in scope once
 * and then answers "is this file referenced?" for every file of the walk
 * from memory, so a re-run over a synchronized store costs a directory
 * walk, not a query per file.  Canonical names ({GUID}.eml) are kept as
 * 16-byte keys; other names as lower-cased strings (hMailServer runs on
 * Windows, where file names are case-insensitive).  Rows that hold a full
 * path (very old stores: C:\...\Data\dom\user\XX\{GUID}.eml) are indexed
 * by their last component, with the row id, so the file can be matched and
 * the row rewritten to the partial name.
 *
 * Built by one thread, then read concurrently without locks.
 */
#ifndef MS_REFSET_H
#define MS_REFSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ms_refset ms_refset;

ms_refset *ms_refset_new(void);
void ms_refset_free(ms_refset *r);

/* Add a messagefilename as stored in hm_messages. Returns -1 on OOM. */
int ms_refset_add(ms_refset *r, const char *filename, int64_t messageid);

/* Is the file called `name` (last path component) referenced by its
 * partial name? */
bool ms_refset_has(const ms_refset *r, const char *name);
/* If only a full-path row references `name`, its message id; else 0. */
int64_t ms_refset_full_path_row(const ms_refset *r, const char *name);

size_t ms_refset_count(const ms_refset *r);
/* Heap bytes used, for the memory-per-message figure. */
size_t ms_refset_bytes(const ms_refset *r);

#endif
