#!/usr/bin/env bash
# The channel's table with one side on a real Dovecot and the other an
# hMailServer account on the test's database (tests/lib/imap_table.sh says
# which cases), once per database.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
t_need_imap
export TZ=UTC
. "$MSTORE_SRC/tests/lib/imap_table.sh"

table hm
t_done
