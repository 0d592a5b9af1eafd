/* layout.h - where hMailServer keeps a message file in its data directory.
 *
 * The one place that knows the layout (store.md, hMailServer's
 * PersistentMessage.cpp):
 *
 *   <domain>/<local>/<XX>/<name>   a message of the account local@domain
 *   #Public/<XX>/<name>            a message of a public folder
 *   <name>                         a message in the delivery queue
 *
 * where <name> is "{GUID}.eml" (hMailServer names new files with an
 * upper-case GUID) and <XX> is the name's characters 1 and 2 as written:
 * hMailServer takes partial.Mid(1,2) and compares it case-sensitively, so
 * a lower-case name lives in a lower-case folder on a case-sensitive share.
 * Account folders are named after the address in lower case; a folder in
 * another case still belongs to the account (the store came from Windows).
 */
#ifndef MS_STORE_LAYOUT_H
#define MS_STORE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_GUID_NAME_LEN 42          /* strlen("{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}.eml") */
#define MS_PUBLIC_DIR "#Public"

/* Where a message file belongs. */
typedef enum ms_place {
	MS_PLACE_QUEUE,       /* the data directory's root */
	MS_PLACE_ACCOUNT,     /* <domain>/<local>/ */
	MS_PLACE_PUBLIC,      /* #Public/ */
} ms_place;

/* Parse "{8-4-4-4-12}.eml" (hex in either case, ".eml" in either case)
 * into 16 bytes; false if `name` is not in that form. */
bool ms_guid_name_parse(const char *name, uint8_t out[16]);
/* The upper-case name of 16 bytes: "{...}.eml", 43 bytes with the NUL. */
void ms_guid_name_format(const uint8_t g[16], char out[MS_GUID_NAME_LEN + 1]);
/* A fresh random GUID name (getrandom; the clock and pid if that fails). */
void ms_guid_name_new(char out[MS_GUID_NAME_LEN + 1]);

/* The <XX> folder of a file name: its characters 1 and 2 as written ('_'
 * for a name too short to have them). */
void ms_layout_xx(const char *name, char xx[3]);

/* The canonical path, relative to the data directory, of the file `name`
 * of an owner: the queue (owner_dir ignored), #Public (owner_dir ignored)
 * or an account (owner_dir = "<domain>/<local>" as it exists on disk).
 * Returns false when `out` is too small (out then holds a cut path that
 * must not be used). */
bool ms_layout_path(ms_place place, const char *owner_dir, const char *name, char *out, size_t len);

/* Is a file at the canonical place for its name?  `relpath` is the path
 * relative to the data directory, `owner_len` the length of its owner's
 * prefix ("domain/local" or "#Public"; 0 for the queue).  Only the part
 * after the owner is judged: "XX/name" with XX exactly as the name asks. */
bool ms_layout_is_canonical(const char *relpath, size_t owner_len);

/* `relpath` without its <XX> folder when that folder is the one its name
 * asks for ("dom/local/AB/{AB...}.eml" -> "dom/local/{AB...}.eml"), else
 * as it is: the trash keeps an account's files in one folder per day, the
 * <XX> level being the name's own first characters again.  false when
 * `out` is too small. */
bool ms_layout_drop_xx(const char *relpath, char *out, size_t len);

/* The last component of a messagefilename as rows hold it: very old
 * stores keep a full Windows path (C:\...\Data\dom\user\XX\{GUID}.eml). */
const char *ms_layout_base_name(const char *filename);

#endif
