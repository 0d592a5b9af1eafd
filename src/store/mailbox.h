/* mailbox.h - mailboxes by name, for the administration commands
 * (`mstore folder`, `mstore path`).
 *
 * A mailbox is named as mboxutil names it:
 *
 *   user/ADDRESS                 an account (its folder tree as a whole)
 *   user/ADDRESS/FOLDER/SUB      one folder of an account
 *   #Public/FOLDER/SUB           a public folder (hm_imapfolders rows of account 0)
 *
 * '/' separates the levels whatever the server's IMAP delimiter is: the
 * rows keep one level each (folderparentid), so the delimiter never
 * reaches the database.  A first level INBOX (any case) of an account is
 * its INBOX, as folders.h has it.  A level is 1..255 bytes without
 * control characters; a level that holds '/' itself cannot be named (it
 * is listed as it is).  A new level (create, a rename's new name) is
 * also not '.' or '..' and holds no server IMAP delimiter.
 *
 * Every function runs on the connection given; the writing ones run
 * their own transaction unless said otherwise.
 */
#ifndef MS_STORE_MAILBOX_H
#define MS_STORE_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/err.h"

typedef struct ms_mailbox {
	int64_t account_id;      /* 0: #Public */
	int64_t domain_id;       /* 0: #Public */
	char address[256];       /* the account's address as stored; "" for #Public */
	char owner_dir[520];     /* "<domain>/<local>" in lower case, or "#Public" */
	char path[1024];         /* folder levels joined by '/'; "" names the account itself */
	int64_t folder_id;       /* the folder's id; 0 when path is "" or no such folder */
} ms_mailbox;

/* Parse `name` and look its account (and folder) up.  An unknown account
 * is MS_E_NOTFOUND, a malformed name MS_E_USAGE; a folder that does not
 * exist is no error (folder_id 0: create needs that). */
int ms_mailbox_resolve(db *d, const char *name, ms_mailbox *mb, ms_err *e);
/* Make an account mailbox's owner_dir the account's directory as it exists
 * below data_dir in another case (DATA/Example.com/Ann/, as hMailServer
 * on Windows made it): the rule of store/msgfile.h that sync, reconstruct
 * and deliver follow.  Left as it is when there is none. */
void ms_mailbox_owner_on_disk(ms_mailbox *mb, const char *data_dir);

/* The mailbox's name as the commands print it ("user/ADDRESS/PATH"). */
void ms_mailbox_name(const ms_mailbox *mb, char *out, size_t len);

/* One folder as `folder list` shows it; strings valid during the callback. */
typedef struct ms_mailbox_info {
	int64_t folder_id, account_id;
	const char *name;          /* "user/ADDRESS/FOLDER/SUB" or "#Public/FOLDER" */
	const char *address;       /* "" for #Public */
	const char *owner_dir;     /* the directory of its files, relative to DATA */
	bool subscribed;
	int64_t current_uid;       /* UIDNEXT is current_uid + 1 */
	uint32_t uidvalidity;      /* as hMailServer's SELECT reports it (browse.h) */
	int64_t messages, bytes;   /* details only: delivered messages and their size */
	const char *acl;           /* details only: "who=value,..." over hm_acl, "" for none */
} ms_mailbox_info;

/* Every folder of the store (accounts' and #Public), sorted by name;
 * `details` adds counts, sizes and ACLs (three more queries, not one per
 * folder).  owner_dir is the account's directory as it is below
 * `data_dir` in any case (ms_mailbox_owner_on_disk); lower case when
 * data_dir is NULL or it does not exist. */
int ms_mailbox_list(db *d, const char *data_dir, bool details, int (*fn)(void *ctx, const ms_mailbox_info *m),
                    void *ctx, ms_err *e);

/* Create the folder mb->path with its parents (all subscribed, created
 * now: a new UIDVALIDITY).  MS_E_EXISTS when it exists already; a level
 * '.' or '..' or one holding the server's IMAP hierarchy delimiter
 * (ms_browse_delimiter) is MS_E_USAGE, here and for a rename's new name. */
int ms_mailbox_create(db *d, ms_mailbox *mb, ms_err *e);
/* The checks ms_mailbox_create makes (reads only), for `create -n`. */
int ms_mailbox_create_check(db *d, const ms_mailbox *mb, ms_err *e);

/* Rename the folder `from` to `to` within one owner: the row keeps its id,
 * so its messages, UIDs, UIDVALIDITY and sub-folders go with it; missing
 * parents of `to` are created.  Refused: INBOX (from or to), `to` existing,
 * `to` inside `from`, different owners (the account move is acctmove.h). */
int ms_mailbox_rename(db *d, const ms_mailbox *from, ms_mailbox *to, ms_err *e);
/* The checks ms_mailbox_rename makes before its transaction (reads only):
 * what `folder rename -n` reports, so the dry run and the rename cannot
 * disagree. */
int ms_mailbox_rename_check(db *d, const ms_mailbox *from, const ms_mailbox *to, ms_err *e);

/* folderissubscribed of the folder (and nothing below it). */
int ms_mailbox_subscribe(db *d, const ms_mailbox *mb, bool on, ms_err *e);

/* The folder and every folder below it, the folder first (ids). */
int ms_mailbox_subtree(db *d, const ms_mailbox *mb, int64_t **ids, size_t *n, ms_err *e);

/* The folders a mailbox name covers: the folder and those below it, or
 * for user/ADDRESS every folder of the account (what `folder lock` locks),
 * sorted by id: the one order in which several locks are taken (mboxlock.h). */
int ms_mailbox_covered(db *d, const ms_mailbox *mb, int64_t **ids, size_t *n, ms_err *e);

/* The nearest existing folder above mb->path (a create's parent): 1 found,
 * 0 none (a new top-level folder), -1 error. */
int ms_mailbox_existing_parent(db *d, const ms_mailbox *mb, int64_t *id, ms_err *e);

/* Take and release every folder's row lock in one transaction: a writer
 * that held one has committed when this returns (mboxlock.h). */
int ms_mailbox_barrier(db *d, const int64_t *ids, size_t n, ms_err *e);

/* What a folder delete takes (or, with dry_run, would take). */
typedef struct ms_mailbox_deletion {
	size_t folders, messages;
	uint64_t bytes;
	size_t files_moved, files_missing;
} ms_mailbox_deletion;

/* Delete the folder with its sub-folders and messages (rows with their
 * recipients, metadata and the folders' ACL rows) in one transaction;
 * the files go into the trash (trash.h) after the commit, or are unlinked
 * with `purge`.  `data_dir` NULL: rows only (files_missing counts them).
 * INBOX and the account itself are refused.  The folder rows are locked
 * first (folders.h), so no delivery adds a message half-way; the wall
 * clock is then let pass the deleted folders' creation second, so a
 * folder re-created under the same name gets another UIDVALIDITY. */
int ms_mailbox_delete(db *d, const char *data_dir, const ms_mailbox *mb, bool purge, bool dry_run,
                      ms_mailbox_deletion *out, ms_err *e);

#endif
