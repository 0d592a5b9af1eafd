/* local_side.h - a mailsync local store (no `kind`, no `server`) opened as
 * one side of a channel: its mailboxes, each an mbox file or a Maildir,
 * are its boxes (local_side.c says how each is served and what creating
 * one makes: an mbox file, as c-client does). */
#ifndef MS_CHANNEL_LOCAL_SIDE_H
#define MS_CHANNEL_LOCAL_SIDE_H

#include <stdbool.h>

#include "channel/config.h"
#include "drivers/driver.h"
#include "util/err.h"

/* Open local store `st` (which must outlive the side).  -1 with `e` when
 * its base cannot be listed. */
int ms_local_side_open(const ms_chan_store *st, bool read_only, ms_side **out, ms_err *e);

#endif
