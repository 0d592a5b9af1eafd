/* bk_internal.h - what backup.c and restore.c share. */
#ifndef MS_BK_INTERNAL_H
#define MS_BK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "backup/backup.h"
#include "drivers/driver.h"

#define BK_HEADER_MEMBER "mstore-archive.json"
#define BK_OBJECTS_MEMBER "objects.json"
#define BK_MESSAGES_MEMBER "messages.jsonl"
#define BK_END_MEMBER "end.json"
#define BK_CONTENT_PREFIX "content/"
#define BK_SHA_HEX 64
/* A manifest member larger than this is refused as damaged (1 GiB: about
 * four million messages' lines). */
#define BK_MANIFEST_MAX (1LL << 30)

/* Open the hMailServer side of one account (read_only for backup and -n). */
int bk_side_open(const ms_bk_store *w, const char *address, bool read_only, ms_side **out, ms_err *e);
/* A folder's levels joined with the side's delimiter; -1 when a level
 * holds the delimiter (the driver could not name it). */
int bk_box_name(const ms_side *side, char *const *levels, size_t n, char **out, ms_err *e);
/* The lowercase hex SHA-256 of the bytes. */
void bk_sha256_hex(const void *data, size_t len, char out[BK_SHA_HEX + 1]);
/* Is the account (its folder `levels`, or any folder with NULL) selected? */
bool bk_selected(const ms_bk_sel *sel, size_t nsel, const char *address, char *const *levels, size_t n);
/* Is anything of the account selected? */
bool bk_account_selected(const ms_bk_sel *sel, size_t nsel, const char *address);

/* Do a domain's aliases and lists go with the selection (the whole store,
 * or a --domain selector; an account selector takes the account alone)? */
bool bk_domain_objects_selected(const ms_bk_sel *sel, size_t nsel, const char *address);

/* IMAP system flag names <-> MS_FLAG_* (driver.h) <-> messageflags bits (browse.h) */
extern const struct bk_flag { unsigned bit; int64_t hm; const char *name; } bk_flags[5];

#endif
