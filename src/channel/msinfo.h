/* msinfo.h - mailsync's state, read so that a mailsync user switches to
 * mstore without a full re-copy and without resurrecting deletions.
 *
 * The msinfo file is a c-client mailbox (mbox for a local name, relative
 * to the home directory).  Each message whose From address's local part
 * begins with "mailsync" is one channel's state, its Subject the
 * channel's name; other messages (c-client's "DON'T DELETE THIS MESSAGE"
 * pseudo-message, foreign mail) are passed over, as mailsync does.  The
 * body is a list of lines: a line that does not begin with '<' names a
 * box (the pairing name; an empty line is the empty name of an
 * INBOX-only store), and each line beginning with '<' after it is one
 * identity mailsync saw on both sides at its last sync of that box:
 *
 *   <local@domain>                  Message-ID mode (mailsync's default), the ID as
 *                                   mailsync sanitized it, angle brackets included;
 *                                   "<>" is its key for messages without one
 *   <>, md5: <32 hex digits>        md5 mode (mailsync -t md5): MD5 over Date, Subject,
 *                                   Message-ID, From and To, not the body
 *
 * There are no UIDs, flags or sizes in it: what it gives the engine is,
 * per channel and box, the set of identities "known on both sides".
 *
 * Like mailsync, the first message for a channel counts.  Unlike mailsync,
 * which drops what it cannot read, a file that is not an mbox, a message
 * cut off inside its header, an identity line without its closing '>'
 * (a truncated file), an md5 line whose digest is not 32 hex digits, or a
 * NUL byte is an error naming FILE:LINE: the engine then refuses to run
 * rather than treat what was known as new or deleted.
 */
#ifndef MS_CHANNEL_MSINFO_H
#define MS_CHANNEL_MSINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef enum ms_msinfo_kind {
	MS_MSINFO_MSGID,  /* id is "<...>" as mailsync keyed it */
	MS_MSINFO_MD5,    /* id is the 32 lower-case hex digits */
} ms_msinfo_kind;

typedef struct ms_msinfo_id {
	ms_msinfo_kind kind;
	char *id;
} ms_msinfo_id;

typedef struct ms_msinfo_box {
	char *name;            /* the pairing name ('/' between levels) */
	ms_msinfo_id *ids;     /* sorted (kind, then id), duplicates removed */
	size_t nids;
} ms_msinfo_box;

typedef struct ms_msinfo_channel {
	char *name;
	int line;              /* where its message starts */
	ms_msinfo_box *boxes;  /* in the order of the file; a name given twice is merged */
	size_t nboxes;
} ms_msinfo_channel;

typedef struct ms_msinfo {
	ms_msinfo_channel *channels;
	size_t nchannels;
} ms_msinfo;

/* Where mailsync keeps the msinfo `name` of a channel: a relative name
 * below `home`, an absolute one as it is.  -1 for a name on an IMAP
 * server ("{host}box"), which mstore cannot read yet. */
int ms_msinfo_path(const char *name, const char *home, char *out, size_t len, ms_err *e);

/* Read the file (MS_E_PARSE with FILE:LINE when it is damaged, MS_E_IO
 * when it cannot be read; a file that does not exist is MS_E_NOTFOUND). */
int ms_msinfo_read(const char *path, ms_msinfo *out, ms_err *e);
int ms_msinfo_parse(const char *text, size_t len, const char *file, ms_msinfo *out, ms_err *e);
void ms_msinfo_free(ms_msinfo *m);

const ms_msinfo_channel *ms_msinfo_channel_find(const ms_msinfo *m, const char *name);
const ms_msinfo_box *ms_msinfo_box_find(const ms_msinfo_channel *c, const char *boxname);
/* Was identity `id` of kind `kind` known in the box?  O(log n). */
bool ms_msinfo_box_has(const ms_msinfo_box *b, ms_msinfo_kind kind, const char *id);

#endif
