/* drv_mbox.h - what the mbox driver (drv_mbox.c) shows beyond the side
 * interface: where each message is in the file, and the places where the
 * file does not look like a well-formed mbox.
 *
 * The driver splits a file at every "From SENDER DATE" line (drv_mbox.c
 * says why); a writer that failed to quote such a line in a body split
 * that message in two, and a writer that died mid-append left the last
 * message short.  The driver reads such files as they are (it cannot
 * know where the message really ends); `mstore check` reports them
 * through the functions below, naming each by its From line's offset.
 */
#ifndef MS_DRIVERS_DRV_MBOX_H
#define MS_DRIVERS_DRV_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/driver.h"

/* One suspicious message of a box: its UID (as listed by this open_box),
 * the byte offset of its From line in the file, and a short phrase
 * (static) saying what is wrong. */
typedef struct ms_mbox_anomaly {
	uint32_t uid;
	uint64_t offset;
	bool cut_short;       /* the last message cut short; else a split */
	const char *why;
} ms_mbox_anomaly;

/* The folders the side's last list_boxes did not list: names with a
 * control character, which the Maildir driver refuses too (they would
 * split every line that names them).  Valid until the next list_boxes or
 * close; s->drv == &ms_drv_mbox. */
const ms_skipped_entry *ms_mbox_side_skipped(const ms_side *s, size_t *n);

/* The offset of the From line of message `uid` of an open box of an mbox
 * side (b->side->drv == &ms_drv_mbox); false when the box has no such
 * message. */
bool ms_mbox_msg_offset(const ms_box *b, uint32_t uid, uint64_t *offset);

/* Read the box's file again (under a read lock; it must still be the one
 * open_box read) and list, in file order, the messages whose From line
 * follows a non-blank line or that have no header (an unquoted "From "
 * body line split the message before them), and a last message cut short
 * (the file ends inside a line, its header never ends, or its
 * Content-Length promises more bytes than there are).  *out is freed with
 * free(); MS_DRV_BOX_BAD with `e` when the file cannot be read or changed. */
ms_drv_result ms_mbox_box_anomalies(ms_box *b, ms_mbox_anomaly **out, size_t *n, ms_err *e);

#endif
