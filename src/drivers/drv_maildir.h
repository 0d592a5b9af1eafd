/* drv_maildir.h - what the Maildir driver (drv_maildir.c) shows beyond the
 * side interface: the entries it did not take for messages or boxes.
 *
 * A Maildir can hold files that are not messages in the Maildir sense: a
 * dot file or a directory in new/ or cur/, a name with a control
 * character, an info suffix other than ":2,", two files with the same
 * unique name; and directories that look like folders but are not usable
 * ones (no cur/ and new/, a symlink, a name that does not map back to
 * itself).  The driver never lists, moves or deletes them, so a channel
 * leaves them alone; `mstore check` reports them through the functions
 * below, so they are not silently forgotten either.
 */
#ifndef MS_DRIVERS_DRV_MAILDIR_H
#define MS_DRIVERS_DRV_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/driver.h"

/* The entries of the box's new/ and cur/ that its open_box did not take
 * for messages; valid until close_box.  `b` is a box of a side opened by
 * ms_drv_maildir (b->side->drv == &ms_drv_maildir). */
const ms_skipped_entry *ms_maildir_box_anomalies(const ms_box *b, size_t *n);

/* The directories the side's last list_boxes did not take for boxes;
 * valid until the next list_boxes or close. */
const ms_skipped_entry *ms_maildir_side_anomalies(const ms_side *s, size_t *n);

/* The file of message `uid` of the box, relative to the side's `path`
 * ("cur/NAME:2,S", ".Sub/new/NAME"), as the box's open_box or last fresh
 * look saw it, into out[0..len); false when the box has no such message.
 * Escape it before printing it. */
bool ms_maildir_msg_file(const ms_box *b, uint32_t uid, char *out, size_t len);

#endif
