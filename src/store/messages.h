/* messages.h - message rows (hm_messages) with their recipients
 * (hm_messagerecipients) and metadata (hm_message_metadata).
 *
 * Rows are written the way hMailServer writes them (store.md): a
 * delivered message (type 2) belongs to an account and a folder and has a
 * UID from that folder; a queued message (type 1) has account and folder 0,
 * is inserted locked, gets its recipients, and is unlocked in the same
 * transaction.  Deleting a message deletes its recipients and metadata
 * with it.  Every function runs on the connection given, inside the
 * caller's transaction when there is one.
 */
#ifndef MS_STORE_MESSAGES_H
#define MS_STORE_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/* A delivered message's row (type 2). */
typedef struct ms_message_row {
	int64_t account_id, folder_id;
	const char *filename;   /* the partial name: "{GUID}.eml" */
	const char *from;       /* the From address, at most 255 bytes */
	int64_t size;
	int64_t flags;          /* messageflags: 32 = Recent */
	const char *created;    /* internal date, "YYYY-MM-DD HH:MM:SS", server local time */
	int64_t uid;
} ms_message_row;

/* A queued message's recipient. */
typedef struct ms_recipient_row {
	const char *address;    /* the local address it resolved to */
	int64_t account_id;     /* its account */
	const char *original;   /* the address as written in the message */
} ms_recipient_row;

/* Insert delivered rows, a hundred per statement (one round trip per 100
 * rows; every value still bound). */
int ms_messages_insert_delivered(db *d, const ms_message_row *rows, size_t n, ms_err *e);
/* Insert a queued message with its recipients (row locked until they are
 * written); *id gets its messageid. */
int ms_messages_insert_queued(db *d, const ms_message_row *row, const ms_recipient_row *rcpt, size_t nrcpt,
                              int64_t *id, ms_err *e);

/* Call fn for every row with a messageid above `after`, in no particular
 * order: (id, messagetype, messageaccountid, messagefilename).  fn
 * returning < 0 stops with that error. */
typedef int (*ms_message_name_fn)(void *ctx, int64_t id, int type, int64_t account_id, const char *filename);
int ms_messages_each_name(db *d, int64_t after, ms_message_name_fn fn, void *ctx,
                          ms_err *e);
/* The same for the rows whose messagefilename is one of `names` (compared
 * as the database compares text), a hundred names per query: for the few
 * names sync must re-read under its lock (hMailServer re-files a queue row
 * as a delivered one by UPDATE, which no watermark shows). */
int ms_messages_each_named(db *d, const char *const *names, size_t n, ms_message_name_fn fn, void *ctx, ms_err *e);
/* Call fn for every message of an account: (messagefilename, size). */
int ms_messages_each_of_account(db *d, int64_t account_id,
                                int (*fn)(void *ctx, const char *filename, int64_t size), void *ctx, ms_err *e);

/* How many of an account's rows name their file by a full path (a slash or
 * a backslash in messagefilename), in one statement. */
int ms_messages_count_full_paths(db *d, int64_t account_id, int64_t *n, ms_err *e);
/* Does a row of `account_id` name the file `name` (a GUID name; rows may
 * hold it as a full Windows path, in any case)?  1 yes, 0 no, -1 error. */
int ms_messages_account_names(db *d, int64_t account_id, const char *name, ms_err *e);

int ms_messages_set_filename(db *d, int64_t id, const char *filename, ms_err *e);
int ms_messages_set_size(db *d, int64_t id, int64_t size, ms_err *e);
int ms_messages_set_uid(db *d, int64_t id, int64_t uid, ms_err *e);
/* The row's size and folder: 1 found, 0 no such row, -1 error. */
int ms_messages_size_folder(db *d, int64_t id, int64_t *size, int64_t *folder, ms_err *e);

/* Move a message of `account_id` to `folder` with `uid`, but only while
 * its current folder is not one of the account's (the repair of a message
 * filed in a folder that is gone or another account's); *changed gets 0
 * when that is no longer so.  Its metadata follows. */
int ms_messages_refile(db *d, int64_t id, int64_t account_id, int64_t folder, int64_t uid, int64_t *changed,
                       ms_err *e);

/* A folder's delivered messages, ordered by UID then id. */
typedef struct ms_uid_row { int64_t id, uid; } ms_uid_row;
int ms_messages_folder_uids(db *d, int64_t folder, ms_uid_row **out, size_t *n, ms_err *e);

/* Delete a message with its recipients and metadata. */
int ms_messages_delete(db *d, int64_t id, ms_err *e);
/* Delete a recipient / metadata row, but only while its message does not
 * exist (the repair of an orphan). */
int ms_recipient_delete_orphan(db *d, int64_t recipient_id, ms_err *e);
int ms_metadata_delete_orphan(db *d, int64_t metadata_id, ms_err *e);
/* Unlock a queued message if it is locked; *changed 0 when it was not. */
int ms_messages_unlock_queued(db *d, int64_t id, int64_t *changed, ms_err *e);

/* One row with every column the recovery list keeps; the strings are the
 * caller's to free with ms_message_rec_free. */
typedef struct ms_message_rec {
	int64_t id, account_id, folder_id, type, size, uid, flags;
	char *filename, *created, *from;
} ms_message_rec;
/* 1 found, 0 no such row, -1 error. */
int ms_messages_get(db *d, int64_t id, ms_message_rec *out, ms_err *e);
void ms_message_rec_free(ms_message_rec *r);

/* The highest messageid (0 for an empty table) and the number of rows. */
int ms_messages_max_id(db *d, int64_t *id, ms_err *e);
int ms_messages_count(db *d, int64_t *n, ms_err *e);

/* One message row as the checks read it. */
typedef struct ms_message_info {
	int64_t id, account_id, folder_id, type, size, uid;
	const char *filename;   /* as stored (may be a full path); valid until the next row */
} ms_message_info;

/* Read the table in pages by primary key (bounded memory on every driver,
 * no long-running read): open once, then page after page from the last id
 * seen.  Each page is at most MS_MESSAGES_PAGE rows. */
#define MS_MESSAGES_PAGE 20000
int ms_messages_page_open(db *d, db_stmt **st, ms_err *e);
int ms_messages_page_start(db_stmt *st, int64_t after_id, ms_err *e);
/* DB_ROW with *m filled, DB_DONE at the page's end, DB_ERROR. */
int ms_messages_page_next(db_stmt *st, ms_message_info *m, ms_err *e);

/* Rows that point nowhere, for reconstruct: fn(ctx, id, text, other) gets
 *   recipients without a message: (recipientid, address, its messageid),
 *   metadata without a message:   (metadata_id, subject, its messageid),
 *   queued messages older than `cutoff` without a recipient (unlocked):
 *                                 (messageid, filename, accountid),
 *   queued messages locked, created and last due before `cutoff`:
 *                                 (messageid, filename, accountid). */
typedef int (*ms_row_fn)(void *ctx, int64_t id, const char *text, int64_t other);
int ms_recipients_each_orphan(db *d, ms_row_fn fn, void *ctx, ms_err *e);
int ms_metadata_each_orphan(db *d, ms_row_fn fn, void *ctx, ms_err *e);
int ms_queue_each_without_recipients(db *d, const char *cutoff, ms_row_fn fn, void *ctx, ms_err *e);
int ms_queue_each_stale_lock(db *d, const char *cutoff, ms_row_fn fn, void *ctx, ms_err *e);

/* Every delivered message of a store with its account's address, for
 * --hints-from: fn(ctx, filename, address, folderid, flags, createtime). */
int ms_messages_each_delivered(db *d,
                               int (*fn)(void *ctx, const char *filename, const char *address, int64_t folder,
                                         int64_t flags, const char *created),
                               void *ctx, ms_err *e);

/* The lock that keeps two mstore processes from importing into the queue
 * at once, taken inside the caller's transaction: an advisory lock on
 * PostgreSQL (released with it) and MariaDB (ms_queue_unlock releases
 * it), SQLite's write lock (nothing to do). */
int ms_queue_lock(db *d, ms_err *e);
void ms_queue_unlock(db *d);

#endif
