#!/usr/bin/env bash
# The channel's table with one side on a real Dovecot and the other a
# Maildir++ tree, then an mbox directory (tests/lib/imap_table.sh says
# which cases).  No database: run once (test_channel_imap_table_hms.sh is
# the hMailServer side, once per database).
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_imap
export TZ=UTC
. "$MSTORE_SRC/tests/lib/imap_table.sh"

table maildir
table mbox
t_done
