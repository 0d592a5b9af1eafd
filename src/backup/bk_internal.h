/* bk_internal.h - what backup.c and restore.c share. */
#ifndef MS_BK_INTERNAL_H
#define MS_BK_INTERNAL_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "backup/backup.h"
#include "drivers/driver.h"

#define BK_HEADER_MEMBER "mstore-archive.json"
#define BK_OBJECTS_MEMBER "objects.json"
#define BK_MESSAGES_MEMBER "messages.jsonl"
#define BK_END_MEMBER "end.json"
#define BK_CHANGES_MEMBER "changes.jsonl"  /* version 3: removals and flag changes */
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

/* "account\x1flevel\x1f...": a folder's key (the address in lower case,
 * INBOX in any case as INBOX), equal for the same folder in any archive. */
char *bk_folder_key(const char *account, char *const *levels);
/* The selection as one text ("" for the whole store), the same for the
 * same selection in any order: what an incremental must share with its base. */
char *bk_scope(const ms_bk_sel *sel, size_t nsel);
/* A manifest's levels (NULL when missing or empty) and flags (MS_FLAG_*). */
char **bk_levels_of(JsonObject *o, const char *member);
unsigned bk_flags_of(JsonObject *o);

/* Typed reads of an archive's JSON (bk_json.c).  bk_check: every member of
 * `o` that `f` lists is of its kind (null counts as absent); false with
 * `why` naming `where` and the member otherwise.  The getters give the
 * default for a member that is absent or of another kind, never NULL for
 * a string with a non-NULL default. */
typedef enum { BK_STR, BK_INT, BK_BOOL, BK_STRS, BK_OBJS } bk_kind;
typedef struct bk_field {
	const char *name;
	bk_kind kind;
} bk_field;
bool bk_check(JsonObject *o, const bk_field *f, size_t n, const char *where, char *why, size_t whylen);
/* objects.json: its arrays and each of their objects (accounts' folders too). */
bool bk_check_objects(JsonObject *root, char *why, size_t whylen);
extern const bk_field bk_header_fields[], bk_line_fields[], bk_end_fields[];
extern const size_t bk_header_nfields, bk_line_nfields, bk_end_nfields;
const char *bk_str(JsonObject *o, const char *member, const char *dflt);
int64_t bk_int(JsonObject *o, const char *member, int64_t dflt);
bool bk_bool(JsonObject *o, const char *member, bool dflt);
JsonArray *bk_array(JsonObject *o, const char *member);
JsonObject *bk_object_at(JsonArray *a, guint i);
const char *bk_str_at(JsonArray *a, guint i);

/* What an incremental backup needs of its base archive. */
typedef struct bk_base {
	char digest[BK_SHA_HEX + 1];  /* SHA-256 of its header and messages.jsonl members */
	char created[32];
	GHashTable *shas;             /* every content its chain holds */
	GHashTable *index;            /* folder key + "\x1f#UID" -> bk_base_msg */
} bk_base;

typedef struct bk_base_msg {
	char *account;
	char **folder;
	uint32_t uid;
	unsigned flags;
	int64_t size;
	char sha[BK_SHA_HEX + 1];
} bk_base_msg;

/* Read `path`'s header and index; refused unless it is a whole mstore
 * archive of the scope `scope`. */
int bk_base_load(const char *path, const char *scope, bk_base *out, ms_err *e);
void bk_base_free(bk_base *b);
char *bk_msg_key(const char *account, char *const *levels, uint32_t uid);

/* IMAP system flag names <-> MS_FLAG_* (driver.h) <-> messageflags bits (browse.h) */
extern const struct bk_flag { unsigned bit; int64_t hm; const char *name; } bk_flags[5];

#endif
