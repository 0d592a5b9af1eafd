/* acctmove.h - moving a whole account to a new address
 * (`mstore folder rename user/A/INBOX user/B/INBOX`).
 *
 * What changes: the account row (accountaddress, accountdomainid) and the
 * directory of its files, DATA/<domainA>/<localA> -> DATA/<domainB>/<localB>
 * (rows name files by GUID only, so no message row changes; folder rows,
 * UIDs and UIDVALIDITY stay as they are, and an IMAP client of the new
 * address finds every folder as it was).  Alias targets and list members
 * that name the old address are left alone, as hMailServer's own rename
 * leaves them.
 *
 * The two changes cannot be one atomic step, so the move is journaled and
 * only ever rolled forward:
 *
 *   1. DATA/.mstore/acctmove-<ACCOUNTID>.move is written (as .tmp, fsynced,
 *      renamed, the directory fsynced) and flock'd: account id, old and new
 *      address, new domain id, old and new directory.
 *   2. The directory is renamed (renameat2 RENAME_NOREPLACE; parents made
 *      and synced); when both exist (files delivered into the old one
 *      after an interrupted move) the old one's files are moved in one by
 *      one, never over a file, and its empty directories removed.
 *   3. One transaction sets the row's address and domain, only while it
 *      still holds the old address (a row already at the new one is done).
 *   4. The journal is removed and the directory synced.
 *
 * A SIGKILL anywhere leaves either no journal (nothing happened: the .tmp
 * is discarded) or a journal nobody holds; ms_acctmove_recover, run by
 * every `folder` command, by `sync` and by `reconstruct -r` before their
 * work, and before an account, alias or list is added (objects.h: the new
 * address must not be the one a pending move takes), repeats steps 2-4,
 * each of which is idempotent.  A journal whose account
 * is gone or holds a third address is an error naming it, left in place.
 */
#ifndef MS_STORE_ACCTMOVE_H
#define MS_STORE_ACCTMOVE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct ms_acctmove {
	int64_t account_id, domain_id;   /* domain_id: the new address's domain */
	char from[256], to[256];         /* addresses */
	char from_dir[520], to_dir[520]; /* relative to DATA, lower case */
} ms_acctmove;

/* Check and plan the move of account `from` to the new address `to`
 * (well formed, its domain local, not used by an account, alias or list,
 * the domain's account limit; the new directory absent or empty; no
 * message row naming its file by a full path, which hMailServer refuses
 * too). */
int ms_acctmove_plan(ms_store *s, const char *from, const char *to, ms_acctmove *m, ms_err *e);

/* Run a planned move (steps 1-4). */
int ms_acctmove_run(ms_store *s, const ms_acctmove *m, ms_err *e);

/* Complete the moves a killed process left; fn (may be NULL) is told of
 * each completed one. */
int ms_acctmove_recover(ms_store *s, void (*fn)(void *ctx, const ms_acctmove *m), void *ctx, ms_err *e);
/* Tell fn of each move a killed process left, changing nothing (what a
 * dry run reports; a journal that cannot be read is skipped). */
void ms_acctmove_pending(const char *data_dir, void (*fn)(void *ctx, const ms_acctmove *m), void *ctx);

#endif
