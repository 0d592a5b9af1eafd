/* browse.h - reading an account's folders and messages the way an IMAP
 * client sees them, and the few writes a mailbox client makes (flags).
 *
 * The hMailServer side driver (src/drivers/drv_hmailserver.c) is built on
 * this, folders.h and messages.h; nothing outside src/store/ runs SQL
 * against the message tables.  Every function runs on the connection
 * given, inside the caller's transaction when there is one.
 *
 * Facts of the format used here (read from hMailServer's sources):
 * - messageflags bits (BO/Message.h, enum Flags): 1 Seen, 2 Deleted,
 *   4 Flagged, 8 Answered, 16 Draft, 32 Recent, 64 virus-scanned.
 * - UIDVALIDITY: SELECT answers `GetCreationTime().ToInt()`
 *   (IMAP/IMAPCommandSelect.cpp), and DateTime::ToInt
 *   (Util/VariantDateTime.cpp) reads the folder's foldercreationtime, a
 *   local wall-clock time, as if it were UTC (_mkgmtime64) and casts it
 *   to unsigned int.  ms_browse_uidvalidity does the same, so mstore
 *   reports the value the server's own IMAP clients see, whatever time
 *   zone mstore runs in.
 * - The hierarchy delimiter is the setting IMAPHierarchyDelimiter in
 *   hm_settings (the setup scripts insert '.'; '/' and '\' are the other
 *   choices offered).
 */
#ifndef MS_STORE_BROWSE_H
#define MS_STORE_BROWSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

enum {
	MS_MSGFLAG_SEEN = 1,
	MS_MSGFLAG_DELETED = 2,
	MS_MSGFLAG_FLAGGED = 4,
	MS_MSGFLAG_ANSWERED = 8,
	MS_MSGFLAG_DRAFT = 16,
	MS_MSGFLAG_RECENT = 32,
	MS_MSGFLAG_VIRUS_SCANNED = 64,
};

#define MS_DEFAULT_DELIMITER '.'

/* The server's IMAP hierarchy delimiter; MS_DEFAULT_DELIMITER when the
 * setting is missing (a store made by `mstore init`) or not one byte. */
int ms_browse_delimiter(db *d, char *delim, ms_err *e);

/* One folder row of an account. */
typedef struct ms_folder_row {
	int64_t id, parent_id;     /* parent -1: top level */
	char *name;                /* one level */
	bool subscribed;
	int64_t current_uid;
	char created[20];          /* foldercreationtime, "YYYY-MM-DD HH:MM:SS" */
} ms_folder_row;

/* Every folder of the account, ordered by id. */
int ms_browse_folders(db *d, int64_t account_id, ms_folder_row **out, size_t *n, ms_err *e);
void ms_browse_folders_free(ms_folder_row *v, size_t n);

/* The full path of row f of v (rows ordered by id, as ms_browse_folders
 * gives them): its levels from the top joined with `delim`; with
 * inbox_rule, a top level named INBOX in any case is written "INBOX" (an
 * account's folders; folders.h's rule).  Returns true when the path
 * reaches the top; false for a broken tree (a missing parent or a loop:
 * reconstruct's folder-parent finding), where out holds the levels found,
 * or when the path is longer than len. */
bool ms_browse_folder_path(const ms_folder_row *v, size_t n, const ms_folder_row *f, char delim, bool inbox_rule,
                           char *out, size_t len);
/* Whether a level of row f's path (its own name or an ancestor's) holds
 * the character c: with c the hierarchy delimiter, the folder has no full
 * name (joined, its levels would read as other ones). */
bool ms_browse_folder_level_has(const ms_folder_row *v, size_t n, const ms_folder_row *f, char c);

/* Find the folder `path` (levels separated by `delim`) of the account;
 * the first level matches INBOX in any case, as folders.h does.  1 found,
 * 0 not found, -1 error. */
int ms_browse_folder_find(db *d, int64_t account_id, const char *path, char delim, int64_t *folder, ms_err *e);
/* The deepest existing folder on `path`'s way, in *folder: 2 the folder
 * itself, 1 its nearest existing ancestor (what a writer creating the rest
 * checks for `folder lock`, mboxlock.h), 0 not even its first level, -1
 * error. */
int ms_browse_folder_nearest(db *d, int64_t account_id, const char *path, char delim, int64_t *folder, ms_err *e);

/* What SELECT reports about a folder. */
typedef struct ms_folder_status {
	int64_t current_uid;
	char created[20];
	int64_t count;             /* delivered messages in the folder */
	int64_t bad_uids;          /* messages whose UID is 0 or shared with another
	                              (what `mstore reconstruct -r` renumbers) */
	int64_t children;          /* folders whose parent it is */
} ms_folder_status;

/* The account's folder `folder` (the account is asked for so the message
 * queries use hm_messages' (account, folder) index).  1 found, 0 no such
 * folder of that account, -1 error. */
int ms_browse_folder_status(db *d, int64_t account_id, int64_t folder, ms_folder_status *st, ms_err *e);

/* UIDVALIDITY of a folder created at `created` ("YYYY-MM-DD HH:MM:SS"),
 * as hMailServer computes it; 0 for a text that is not such a time. */
uint32_t ms_browse_uidvalidity(const char *created);

/* One delivered message row. */
typedef struct ms_msg_row {
	int64_t id, uid, size, flags;
	char created[20];          /* messagecreatetime: the internal date, server local time */
	char *filename;            /* messagefilename as stored */
	char from[256];            /* messagefrom: the sender the server recorded (at most 255 bytes) */
} ms_msg_row;

/* Up to `limit` delivered messages of an account's folder with a UID above
 * `after_uid`, by UID then id (0: no limit). */
int ms_browse_messages(db *d, int64_t account_id, int64_t folder, int64_t after_uid, size_t limit,
                       ms_msg_row **out, size_t *n, ms_err *e);
/* Every delivered message of an account's folder in no given order: for
 * a caller that orders them itself (expire, by date), without the
 * database's sort of the whole folder by UID (a sixth of an expire -n). */
int ms_browse_messages_unordered(db *d, int64_t account_id, int64_t folder, ms_msg_row **out, size_t *n, ms_err *e);
void ms_browse_messages_free(ms_msg_row *v, size_t n);

/* The delivered message of a folder with this UID (the lowest id when
 * there are several).  1 found (free out->filename), 0 none, -1 error. */
int ms_browse_message_by_uid(db *d, int64_t account_id, int64_t folder, int64_t uid, ms_msg_row *out, ms_err *e);

/* Set a message's flags to `now` if they are still `was` (a concurrent
 * writer's change is never overwritten: *changed 0, read again and retry). */
int ms_browse_set_flags(db *d, int64_t id, int64_t was, int64_t now, int64_t *changed, ms_err *e);

#endif
