/* folders.h - IMAP folders (hm_imapfolders) and their UIDs.
 *
 * hMailServer hands out a folder's UIDs from foldercurrentuid under the
 * folder row's lock: UPDATE ... SET foldercurrentuid = foldercurrentuid + 1
 * inside the delivering transaction.  mstore takes the same lock the same
 * way, so it queues behind a delivering server and the server behind it,
 * and a rolled-back transaction gives back the UIDs it reserved.  UIDs
 * never go down and never pass MS_UID_MAX: hMailServer reads them as
 * signed 32-bit values.
 *
 * Every function runs on the connection given, inside the caller's
 * transaction when there is one (the lock lasts until it ends).
 */
#ifndef MS_STORE_FOLDERS_H
#define MS_STORE_FOLDERS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db/db.h"

#define MS_UID_MAX 2147483647LL

/* The account's INBOX: the top-level folder named INBOX in any case (the
 * lowest id when there are several).  1 found, 0 none, -1 error. */
int ms_folder_find_inbox(db *d, int64_t account_id, int64_t *folder, ms_err *e);
/* Create the account's INBOX, subscribed, created at `now`. */
int ms_folder_create_inbox(db *d, int64_t account_id, time_t now, int64_t *folder, ms_err *e);
/* Find the INBOX or create it. */
int ms_folder_inbox(db *d, int64_t account_id, time_t now, int64_t *folder, ms_err *e);

/* Find or create the folder `path` (level names separated by `sep`) below
 * the account's top level, with its parents; new folders are subscribed.
 * A first level named INBOX in any case is the account's INBOX. */
int ms_folder_ensure_path(db *d, int64_t account_id, const char *path, char sep, time_t now, int64_t *folder,
                          ms_err *e);

/* Lock the folder row until the transaction ends (the UPDATE hMailServer
 * takes to hand out a UID). */
int ms_folder_lock(db *d, int64_t folder, ms_err *e);
/* The folder's foldercurrentuid: 1 found, 0 no such folder, -1 error. */
int ms_folder_current_uid(db *d, int64_t folder, int64_t *uid, ms_err *e);
/* Reserve k UIDs: foldercurrentuid grows by k and *first is the first of
 * them.  Fails (MS_E_LIMIT) without reserving when the last would pass
 * MS_UID_MAX; the caller's transaction must then roll back. */
int ms_folder_reserve_uids(db *d, int64_t folder, size_t k, int64_t *first, ms_err *e);
/* Raise foldercurrentuid to `uid` if it is lower; never lowers it. */
int ms_folder_raise_current_uid(db *d, int64_t folder, int64_t uid, ms_err *e);

/* Move a folder to the top level under `name`, if its parent is still
 * `old_parent`; *changed gets 0 when someone changed it meanwhile. */
int ms_folder_move_to_top(db *d, int64_t folder, int64_t old_parent, const char *name, int64_t *changed, ms_err *e);
/* How many top-level folders of the account are called `name`, other
 * than `except`. */
int ms_folder_count_top_named(db *d, int64_t account_id, const char *name, int64_t except, int64_t *n, ms_err *e);
/* Delete a folder row that holds no message; *left gets the number of
 * messages still in it (then nothing is deleted). */
int ms_folder_delete_empty(db *d, int64_t folder, int64_t *left, ms_err *e);
/* The account that owns the folder: 1 found, 0 no such folder. */
int ms_folder_owner(db *d, int64_t folder, int64_t *account_id, ms_err *e);

/* One folder row as the checks and hints read it. */
typedef struct ms_folder_rec {
	int64_t id, account_id, parent_id, current_uid;
	const char *name;       /* valid during the callback only */
	const char *created;    /* foldercreationtime as text; valid during the callback */
} ms_folder_rec;

/* Call fn for every folder row of the store, in no particular order;
 * fn returning < 0 stops with that error. */
int ms_folders_each(db *d, int (*fn)(void *ctx, const ms_folder_rec *f), void *ctx, ms_err *e);

#endif
