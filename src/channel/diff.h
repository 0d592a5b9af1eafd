/* diff.h - two sides compared message by message, by identity, with no
 * state file (`mstore diff`, issue 14 item 7): how a user proves that a
 * migration lost nothing, and how the tests check a channel run.
 *
 * Per folder pair (paired as the channel pairs them, by the caller), each
 * box is listed through the driver interface and every message given its
 * channel identity (channel/ident.h: the sanitized Message-ID, else the
 * sha256 digest of its bytes; md5 mode as mailsync's -t md5), exactly as
 * the engine does, so "equal" here means "a channel run has nothing to
 * copy".  Then per identity:
 *   on one side only            MS_DIFF_MISSING on the other side
 *   twice or more on one side   MS_DIFF_DUPLICATE (a true duplicate); the
 *                               first copy (lowest UID) is the one compared
 *   on both, flags differ       MS_DIFF_FLAGS: the five system flags when
 *                               both sides keep flags, keywords when both
 *                               keep keywords (a side that keeps none has
 *                               nothing to disagree with)
 *   on both, bytes differ       MS_DIFF_CONTENT: the sha256 digests of the
 *                               two copies (CRLF read as LF, so a copy
 *                               between a CRLF and an LF side is equal)
 *                               differ; only with opts.content, which
 *                               fetches every message of both sides
 * and per box:
 *   on one side only            MS_DIFF_BOX_MISSING, and each of its
 *                               messages MS_DIFF_MISSING on the other side
 *   a message that cannot be    MS_DIFF_UNREADABLE (its identity is not
 *   read                        known, so it cannot be compared)
 * A box that cannot be opened or listed fails the box (ms_diff_box.error);
 * a side that fails (MS_DRV_SIDE_BAD) ends the diff with -1.
 */
#ifndef MS_CHANNEL_DIFF_H
#define MS_CHANNEL_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel/engine.h"
#include "channel/ident.h"
#include "drivers/driver.h"
#include "util/err.h"
#include "util/vec.h"

typedef enum ms_diff_kind {
	MS_DIFF_BOX_MISSING = 0,   /* side: the one without the box */
	MS_DIFF_MISSING,           /* side: the one without the message */
	MS_DIFF_DUPLICATE,         /* side: the one with the copies */
	MS_DIFF_FLAGS,
	MS_DIFF_CONTENT,
	MS_DIFF_UNREADABLE,        /* side: the one with the message */
} ms_diff_kind;

/* "box-missing", "missing", "duplicate", "flags", "content", "unreadable". */
const char *ms_diff_kind_name(ms_diff_kind k);

/* One message of a box with its identity (ms_diff_list_box). */
typedef struct ms_idmsg {
	ms_msg m;                  /* owned: msgid, key, keywords */
	char *ident;               /* NULL: it could not be read */
	char *digest;              /* "sha256:..." of its bytes; NULL unless asked for (or unreadable) */
	char *why;                 /* why it could not be read (ident or digest NULL), else NULL */
} ms_idmsg;
typedef MS_VEC(ms_idmsg) ms_idmsg_vec;

/* One difference. */
typedef struct ms_diff_item {
	ms_diff_kind kind;
	int side;                  /* see ms_diff_kind; -1 for FLAGS and CONTENT */
	char *ident;               /* NULL for BOX_MISSING and UNREADABLE */
	uint32_t uid[2];           /* the message on each side; 0: not there */
	unsigned flags[2];         /* FLAGS: each side's MS_FLAG_* */
	char *keywords[2];         /* FLAGS: each side's keywords (NULL: none) */
	size_t copies;             /* DUPLICATE: how many */
	char *why;                 /* UNREADABLE: why */
} ms_diff_item;

typedef struct ms_diff_box {
	char *box[2];              /* the box's name on each side */
	bool present[2];
	size_t count[2];           /* messages listed on each side */
	size_t same;               /* identities on both sides with nothing differing */
	size_t n[MS_DIFF_UNREADABLE + 1][2];   /* differences by kind and side (FLAGS, CONTENT: [0]) */
	MS_VEC(ms_diff_item) items;            /* unreadable ones, then by identity (byte order) */
	char *error;               /* the box could not be compared: why */
} ms_diff_box;

typedef struct ms_diff_report {
	MS_VEC(ms_diff_box) boxes;
	size_t differences;        /* items over all boxes */
	size_t failed;             /* boxes with an error */
} ms_diff_report;

typedef struct ms_diff_opts {
	ms_ident_mode ident;
	bool content;              /* fetch every message and compare digests */
} ms_diff_opts;

/* Every message of box `name` of side s with its identity (the engine's:
 * Message-ID, else the digest; md5 mode fetches all) and, with
 * want_digest, the digest of every message.  Sorted by UID; with
 * with_skipped, followed by each entry the driver skipped (skipped()) as
 * a message without identity whose `why` names it.  A box that does not
 * exist is MS_DRV_BOX_BAD like any other that cannot be opened. */
ms_drv_result ms_diff_list_box(ms_side *s, const char *name, ms_ident_mode mode, bool want_digest,
                               bool with_skipped, ms_idmsg_vec *out, ms_err *e);
void ms_idmsg_vec_free(ms_idmsg_vec *v);

/* Compare the pairs.  present[i][s] says whether pair i's box exists on
 * side s as the caller selected the boxes (a store's pattern may leave
 * out a box the driver lists); NULL: as the sides list their boxes.
 * 0 (the report says whether anything differs:
 * r->differences, r->failed), -1 with `e` when a side failed as a whole
 * (the report holds the boxes compared until then). */
int ms_diff_run(ms_side *const sides[2], const ms_box_pairing *pairs, const bool (*present)[2], size_t npairs,
                const ms_diff_opts *o, ms_diff_report *r, ms_err *e);
void ms_diff_report_free(ms_diff_report *r);

#endif
