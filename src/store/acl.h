/* acl.h - shared (public) folders' rights: hMailServer's hm_acl.
 *
 * Facts of the format, read from hMailServer's sources
 * (BO/ACLPermission.h/.cpp, Application/ACLManager.cpp):
 * - a row gives rights on one public folder (aclsharefolderid, a
 *   hm_imapfolders row with folderaccountid 0) to an account
 *   (aclpermissiontype 0, aclpermissionaccountid), a group (1,
 *   aclpermissiongroupid, hm_groups) or anyone (2); the other id is 0;
 * - aclvalue is a bit set, one bit per RFC 4314 right, the letter the
 *   server's GETACL prints for it:
 *
 *     bit     1 l lookup          bit    64 k create mailboxes
 *     bit     2 r read            bit   128 x delete mailbox
 *     bit     4 s write \Seen     bit   256 t write \Deleted
 *     bit     8 w write others    bit   512 e expunge
 *     bit    16 i insert          bit  1024 a administer
 *     bit    32 p post
 *
 * - a folder without rows inherits the rows of its nearest ancestor that
 *   has some; of those rows the account's own wins, else the first group
 *   (lowest aclid) the account belongs to, else anyone's.
 *
 * RFC 4314's obsolete RFC 2086 letters are accepted on input as RFC 4314
 * section 2.1.1 says: c = k x, d = x t e (hMailServer's SETACL refuses
 * them; accepting them costs nothing and mstore writes only the bits).
 */
#ifndef MS_STORE_ACL_H
#define MS_STORE_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/err.h"

enum { MS_ACL_ACCOUNT = 0, MS_ACL_GROUP = 1, MS_ACL_ANYONE = 2 };
#define MS_ACL_ALL 2047
#define MS_ACL_LETTERS 12 /* 11 letters and the NUL */

/* "lrs", "+w", "-te": *mode gets '=' (replace), '+' or '-'; *bits the
 * rights named.  An unknown letter is MS_E_USAGE naming it. */
int ms_acl_parse(const char *rights, int64_t *bits, char *mode, ms_err *e);
/* The letters of a bit set in hMailServer's GETACL order. */
void ms_acl_letters(int64_t bits, char out[MS_ACL_LETTERS]);

/* One row, with whom it names. */
typedef struct ms_acl_row {
	int64_t id, folder_id, who_id, bits;
	int type;
	char who[256];   /* the address, the group's name, or "anyone" */
	char folder[1024]; /* the folder's path below #Public, '/'-separated */
} ms_acl_row;

/* Find the public folder `path` ('/'-separated below #Public): 1 found,
 * 0 none, -1 error. */
int ms_public_folder_find(db *d, const char *path, int64_t *folder, ms_err *e);
/* Resolve an identifier: "anyone", an address (an account) or a group's
 * name (in any case; a group spelt exactly so before the others, then the
 * lowest id).  MS_E_NOTFOUND naming it when there is none. */
int ms_acl_who(db *d, const char *who, int *type, int64_t *id, ms_err *e);
/* The rows of one folder (folder > 0) or of every public folder (0),
 * by folder path then aclid. */
int ms_acl_list(db *d, int64_t folder, ms_acl_row **out, size_t *n, ms_err *e);
/* The bits a folder's row for (type, id) holds: 1 found, 0 none. */
int ms_acl_get(db *d, int64_t folder, int type, int64_t id, int64_t *bits, ms_err *e);
/* Insert or update the row (type, id) of a folder to `bits`. */
int ms_acl_put(db *d, int64_t folder, int type, int64_t id, int64_t bits, ms_err *e);
/* Delete it; *changed gets the number of rows deleted. */
int ms_acl_delete(db *d, int64_t folder, int type, int64_t id, int64_t *changed, ms_err *e);

/* Groups (hm_groups, hm_group_members), for backup and restore. */
/* The addresses of a group's member accounts, sorted; free with
 * ms_group_members_free. */
int ms_group_members(db *d, int64_t group, char ***out, size_t *n, ms_err *e);
void ms_group_members_free(char **v, size_t n);
/* A group by its name: the one spelt exactly so, else the lowest id in
 * any case (hMailServer compares group names case-insensitively), whatever
 * the name holds (hMailServer has no rule against '@' in it: ms_acl_who
 * would take such a name for an address).  MS_E_NOTFOUND naming it when
 * there is none. */
int ms_group_find(db *d, const char *name, int64_t *id, ms_err *e);
/* A new group named `name` (the caller checked there is none). */
int ms_group_add(db *d, const char *name, int64_t *id, ms_err *e);
/* Make the account a member: 1 added, 0 a member already. */
int ms_group_member_add(db *d, int64_t group, int64_t account, ms_err *e);

/* Readership: fn(ctx, folder path, address, bits) for every public
 * folder and every account with any right on it, by the server's rule
 * above, ordered by folder path then address. */
int ms_acl_readership(db *d, int (*fn)(void *ctx, const char *folder, const char *address, int64_t bits), void *ctx,
                      ms_err *e);

#endif
