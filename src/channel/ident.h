/* ident.h - a message's identity in a channel.
 *
 * Messages are paired across the two sides of a folder pair by identity,
 * as mailsync pairs them:
 *
 * - msgid (default): the Message-ID sanitized exactly as mailsync's
 *   MsgId::sanitize_message_id does: a leading space before '<' (an
 *   LF-folded header) dropped, '<' added when missing, every space or
 *   control character before the first '>' turned into '.', everything
 *   after the first '>' dropped, '>' appended when there is none.  The
 *   result always starts with '<' and ends with '>', so it is also the
 *   form mailsync writes into its msinfo.
 * - a message without a Message-ID (mailsync keys it "<>" and loses every
 *   such message but the first of a mailbox) gets "sha256:" and the
 *   SHA-256 of its whole bytes with every CRLF read as LF (a copy into a
 *   side that keeps CRLF, or out of it, keeps its identity).  It never
 *   starts with '<', so it cannot equal a Message-ID's identity.
 * - md5 (mailsync's `-t md5`): "md5:" and the MD5 of what mailsync hashes
 *   from c-client's envelope: the first Date, Subject and Message-ID
 *   values, then every From and every To address, concatenated without
 *   separators.  Values as c-client keeps them: unfolded, tabs made spaces,
 *   leading blanks skipped, trailing ones kept, nothing decoded; addresses
 *   as local@domain (display names, comments and source routes dropped,
 *   a group's members in its place, a missing domain written
 *   ".MISSING-HOST-NAME.", c-client's quoting of a local part or domain
 *   with specials).  Checked byte for byte against the real mailsync
 *   (tests/unit/test_ident.c).  Not reproduced: c-client's repair of a
 *   broken address ("bob@" gives it bob@".SYNTAX-ERROR.", an unclosed
 *   '<' MISSING_MAILBOX_TERMINATOR) and of a domain ending in '.', which
 *   GMime parses differently; such a message's msinfo identity does not
 *   match ours, so an msinfo import does not name it (if it was deleted
 *   on one side since mailsync's last run, it is copied back, never lost).
 *   A message with none of the five fields (mailsync: "no msg-id", never
 *   synchronized) gets the sha256 digest.  The msinfo form
 *   "<>, md5: <HEX>" maps to "md5:HEX" (ms_ident_from_msinfo).
 *
 * Identities are NUL-terminated strings the caller frees.
 */
#ifndef MS_CHANNEL_IDENT_H
#define MS_CHANNEL_IDENT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum ms_ident_mode {
	MS_IDENT_MSGID = 0,  /* mailsync's default */
	MS_IDENT_MD5,        /* mailsync's -t md5 */
} ms_ident_mode;

/* mailsync's sanitizing of a raw Message-ID header value (brackets and
 * all).  NULL or empty → "<>".  NULL only when out of memory. */
char *ms_ident_sanitize(const char *raw);

/* The identity of a Message-ID as a driver reports it (ms_msg.msgid,
 * without angle brackets), or NULL when `msgid` is NULL/empty/"<>": then
 * the message needs a digest (ms_ident_digest). */
char *ms_ident_from_msgid(const char *msgid);

/* "sha256:HEX" of the whole message (CRLF read as LF). */
char *ms_ident_digest(const char *data, size_t len);

/* md5 mode: "md5:HEX" from the message's header section, or the sha256
 * digest when the header has none of the five fields. */
char *ms_ident_md5(const char *data, size_t len);

/* The identity of a whole message in `mode`, from its bytes: msgid mode
 * its Message-ID as a driver would list it (ms_ident_from_msgid), else
 * its digest; md5 mode ms_ident_md5.  NULL only when out of memory. */
char *ms_ident_of_message(ms_ident_mode mode, const char *data, size_t len);

/* The identity of one msinfo identity line ("<id@host>" or
 * "<>, md5: <HEX>"); NULL when the line is neither (or it is "<>", which
 * names no message in particular). */
char *ms_ident_from_msinfo(const char *line);

/* True when the identity is a digest of the content (not a Message-ID). */
bool ms_ident_is_digest(const char *ident);

#endif
