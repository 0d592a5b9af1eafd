/* check.h - `mstore check`: the integrity of a mailbox, read through the
 * side interface (drivers/driver.h), so every kind of store is checked the
 * same way, plus what the Maildir and mbox drivers show beyond it
 * (drv_maildir.h, drv_mbox.h: files they skip, From lines that split a
 * message, a last message cut short).
 *
 * Per box, every message is fetched once: its header section goes to
 * GMime (message/header.h) and its bytes to a SHA-256 (channel/ident.h's
 * digest, CRLF read as LF).  Findings:
 *   unreadable      the box cannot be opened or listed, or a message not
 *                   fetched (the rest is still checked)
 *   unparsable      0 bytes, no header field at all, NUL bytes in the
 *                   header, or a header section beyond MS_HEADER_MAX
 *   duplicate       a second message with the identity of an earlier one
 *                   (lower UID): the same Message-ID (with the same or a
 *                   different content), or without a Message-ID the same
 *                   bytes
 *   no-message-id   a message without a Message-ID: a note, not a defect
 *                   (the channel identifies it by its digest)
 *   maildir-name    an entry of a Maildir that is no message or folder
 *                   (drv_maildir.h's anomalies)
 *   mbox-split      an mbox message that an unquoted "From " body line
 *                   cut off the message before it
 *   mbox-truncated  the last message of an mbox cut short
 * Nothing is written: sides are opened read-only by the caller.
 */
#ifndef MS_CHANNEL_CHECK_H
#define MS_CHANNEL_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/driver.h"

typedef enum ms_check_kind {
	MS_CHECK_UNREADABLE = 0,
	MS_CHECK_UNPARSABLE,
	MS_CHECK_DUPLICATE,
	MS_CHECK_NO_MSGID,
	MS_CHECK_MAILDIR_NAME,
	MS_CHECK_MBOX_SPLIT,
	MS_CHECK_MBOX_TRUNCATED,
	MS_CHECK_NKINDS,
} ms_check_kind;

/* "unreadable", "unparsable", ...: the names above. */
const char *ms_check_kind_name(ms_check_kind k);

/* A defect makes `mstore check` exit 1; a note (no-message-id) does not. */
bool ms_check_kind_is_defect(ms_check_kind k);

/* One finding.  Strings belong to the checker and are valid during the
 * callback only; names are as on disk or as the side gives them (escape
 * them before printing). */
typedef struct ms_check_finding {
	ms_check_kind kind;
	const char *folder;   /* the box as shown; NULL: the store itself */
	const char *file;     /* Maildir: the message's path below the store's root; NULL otherwise */
	uint32_t uid;         /* the message's UID in this check's session; 0 for none */
	bool has_offset;      /* mbox: offset of its From line in the file */
	uint64_t offset;
	const char *cause;
} ms_check_finding;

typedef void ms_check_cb(void *ctx, const ms_check_finding *f);

typedef struct ms_check_stats {
	size_t folders;       /* boxes checked (opened and listed) */
	size_t messages;
	size_t by_kind[MS_CHECK_NKINDS];
} ms_check_stats;

/* Check box `name` of the open side `s`; `shown` (NULL: `name`) names it
 * in the findings.  Every finding goes to cb and is counted in *st. */
void ms_check_box(ms_side *s, const char *name, const char *shown, ms_check_cb *cb, void *ctx,
                  ms_check_stats *st);

/* The entries the side's last list_boxes did not take for boxes (a
 * Maildir side's stray directories and symlinks; nothing for the others). */
void ms_check_side_anomalies(ms_side *s, ms_check_cb *cb, void *ctx, ms_check_stats *st);

/* A message's name in a line of text, unescaped: its Maildir file,
 * "offset N" in an mbox, else "UID N"; "-" for a folder finding. */
void ms_check_msg_name(const ms_check_finding *f, char *out, size_t len);

#endif
