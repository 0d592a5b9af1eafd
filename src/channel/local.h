/* local.h - mailsync's local stores: a store with neither `server` nor
 * `kind`, whose mailboxes are files and directories named by path (c-client
 * reads a relative name below the home directory; mstore below the
 * store's `path`, default $HOME), each an mbox file or a Maildir directory,
 * told apart per mailbox as c-client's drivers do:
 *
 *   a directory holding cur/, new/ and tmp/        Maildir
 *   any other directory                            a level of the hierarchy (no mailbox)
 *   an empty file, or one starting with "From "    mbox (c-client's "unix" format)
 *   a file starting with "*mbx*"                   c-client's mbx format (not read by mstore)
 *   a file starting with four ^A and a newline     MMDF (not read by mstore)
 *   anything else                                  not a mailbox
 *
 * Listing walks from the pattern's fixed leading directories (Mail for
 * Mail/%) and keeps the mailboxes whose name the pattern matches
 * (pattern.h, delimiter '/').  Entries whose name starts with '.' are not
 * looked at (c-client's LIST hides them too; a Maildir++ tree is a `kind
 * maildir` store), nor a Maildir's cur/new/tmp; symbolic links are
 * followed to a mailbox but not walked into (no loops).  INBOX is the
 * store's `inbox` file or directory, else $MAIL, else /var/mail/USER, as
 * c-client's system INBOX; it is listed when the pattern matches INBOX
 * and it exists.
 */
#ifndef MS_CHANNEL_LOCAL_H
#define MS_CHANNEL_LOCAL_H

#include <stddef.h>

#include "channel/config.h"
#include "util/err.h"

typedef enum ms_local_format {
	MS_LOCAL_NONE = 0,  /* does not exist */
	MS_LOCAL_MAILDIR,
	MS_LOCAL_MBOX,
	MS_LOCAL_DIR,       /* a directory that is not a Maildir: a level of the hierarchy */
	MS_LOCAL_MBX,       /* c-client formats mstore does not read */
	MS_LOCAL_MMDF,
	MS_LOCAL_OTHER,     /* not a mailbox */
} ms_local_format;

/* The format of the mailbox at `path`.  -1 when it cannot be looked at
 * (permission denied, ...: e says so); a path that does not exist is
 * MS_LOCAL_NONE, not an error. */
int ms_local_detect(const char *path, ms_local_format *out, ms_err *e);

/* "maildir", "mbox" (the driver kind that reads it), or for the others
 * a description ("a directory", "c-client's mbx format", ...). */
const char *ms_local_format_name(ms_local_format f);

typedef struct ms_local_box {
	char *name;              /* as mailsync names it: relative to the base, '/' between levels */
	char *path;              /* where it is */
	ms_local_format format;  /* MS_LOCAL_MAILDIR or MS_LOCAL_MBOX */
} ms_local_box;

/* What a listing found that is not a mailbox mstore reads, for warnings. */
typedef struct ms_local_skip {
	char *name;
	char *why;
} ms_local_skip;

typedef struct ms_local_list {
	ms_local_box *boxes;     /* sorted by name */
	size_t nboxes;
	ms_local_skip *skipped;
	size_t nskipped;
} ms_local_list;

/* The mailboxes of local store `s` that its `pat` selects (none without
 * `pat`, as in mailsync).  -1 (e says why) when the base directory cannot
 * be read; entries below it that cannot be read are in `skipped`. */
int ms_local_list_boxes(const ms_chan_store *s, ms_local_list *out, ms_err *e);
void ms_local_list_free(ms_local_list *l);

#endif
