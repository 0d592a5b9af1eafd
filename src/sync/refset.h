/* refset.h - which file names the database references, and whose.
 *
 * `mstore sync` loads every messagefilename once, with the row's owner,
 * and then answers "is this file referenced?" for every file of the walk
 * from memory, so a re-run over a synchronized store costs a directory
 * walk, not a query per file.
 *
 * A file is referenced only by a row of its own owner (issue 12): the
 * account whose folder holds it, the delivery queue for the data
 * directory's root (rows of type 1 and 3), #Public for public-folder rows
 * (type 2 with no account).  The same name in another account's folder is
 * another file: not referenced (sync gives it a new name when it imports
 * it, ms_refset_named_elsewhere).
 *
 * Names: a GUID name in hMailServer's own spelling ({UPPER-CASE}.eml) is
 * kept as (owner, 16 bytes): 20 bytes a slot.  Other spellings of GUID
 * names and other names are kept as strings.  GUID names that differ only
 * in case are one name, as on Windows where hMailServer runs, except when
 * an owner holds both spellings (possible on a case-sensitive file
 * system): then the file spelt exactly as a row is that row's file, and
 * the other spelling is not referenced (MS_REF_VARIANT: the caller checks
 * whether the exact spelling exists, ms_refset_each_spelling).  Other
 * names compare case-insensitively.  Rows that hold a full path (very old
 * stores: C:\...\Data\dom\user\XX\{GUID}.eml) are kept by their last
 * component and owner, with the row id, so the file its own account's
 * folder holds can be matched and the row rewritten to the partial name.
 *
 * Built by one thread, then read concurrently without locks.
 */
#ifndef MS_REFSET_H
#define MS_REFSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Owners: an account id (> 0), or one of these. */
#define MS_REF_QUEUE  0
#define MS_REF_PUBLIC (-1)
#define MS_REF_NOBODY (-2) /* a file outside any owner's place: nothing references it */

typedef struct ms_refset ms_refset;

/* The owner a row's file belongs to (messagetype, messageaccountid). */
int64_t ms_refset_row_owner(int type, int64_t account_id);

ms_refset *ms_refset_new(void);
void ms_refset_free(ms_refset *r);

/* Add a messagefilename as stored in hm_messages. Returns -1 on OOM. */
int ms_refset_add(ms_refset *r, int64_t owner, const char *filename, int64_t messageid);

typedef enum ms_ref_match {
	MS_REF_NONE,     /* no row of the owner names it */
	MS_REF_EXACT,    /* a row of the owner names it by its partial name (GUID names: spelt exactly so) */
	MS_REF_VARIANT,  /* rows of the owner name its GUID, spelt otherwise (case): see refset.h */
} ms_ref_match;

/* How rows of `owner` name the file called `name` (last path component). */
ms_ref_match ms_refset_match(const ms_refset *r, int64_t owner, const char *name);
/* Call fn for each spelling of `name`'s GUID that rows of `owner` use
 * (partial names), until fn returns true; returns whether one did. */
bool ms_refset_each_spelling(const ms_refset *r, int64_t owner, const char *name,
                             bool (*fn)(void *ctx, const char *spelling), void *ctx);
/* If only a full-path row of `owner` references `name`, its message id; else 0. */
int64_t ms_refset_full_path_row(const ms_refset *r, int64_t owner, const char *name);
/* Does a row of an owner other than `owner` name `name` (any spelling,
 * partial or full path)? */
bool ms_refset_named_elsewhere(const ms_refset *r, int64_t owner, const char *name);

size_t ms_refset_count(const ms_refset *r);
/* Heap bytes used, for the memory-per-message figure. */
size_t ms_refset_bytes(const ms_refset *r);

#endif
