#!/usr/bin/env bash
# mstore channel's durability, seen through the durability shim
# (tests/lib/durability.sh): an appended message file is on disk before
# its rename into the account and its folder before the row that names it
# is committed; an mbox rewritten by an expunge is on disk before it
# replaces the box, and the box's directory after; the channel's state
# file is on disk before its rename, and its directory after.  A test of
# its own, small, so the mutation harness can run it for each fsync mutant.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
. "$MSTORE_SRC/tests/lib/durability.sh"

URL=$(t_new_db chan) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/chan/Data
mkdir -p "$D"
mst init "$URL"; mst domain add example.com --db "$URL"; mst account add alice@example.com --db "$URL"
CM=$T_TMP/chan/md CB=$T_TMP/chan/mb CS=$T_TMP/chan/state
mkdir -p "$CM"/cur "$CM"/new "$CM"/tmp "$CB"
for i in 1 2 3; do
	printf 'From: a@example.org\nSubject: c%d\nMessage-ID: <c%d@x>\n\nbody %d\n' $i $i $i >"$CM/cur/170000000$i.M$i.host:2,S"
done
cat >"$T_TMP/chan.conf" <<CONF
store md { kind maildir path $CM }
store mb { kind mbox path $CB }
store hm { kind hmailserver db $URL data $D account alice@example.com }
channel tohm md hm { }
channel tomb md mb { }
CONF
L=$T_TMP/chan.log
dur "$L" "" channel -f "$T_TMP/chan.conf" --state-dir "$CS" tohm; expect_ok "channel into the store under the shim"
field() { sed -n "$2p" "$1" | cut -f"$3"; }
r=$(at "$L" 0 '$1 ~ /^rename/ && $4 ~ /\/example\.com\/alice\/.*\.eml$/')
[ "$r" != 0 ] || t_fail "channel: no message file renamed into the account in the log: $(cat "$L")"
from=$(field "$L" "$r" 3) to=$(field "$L" "$r" 4)
before "channel: an appended file is synced before its rename" "$(at "$L" 0 "$(synced "\$3 == \"$from\"")")" "$r"
dsync=$(at "$L" "$r" "$(synced "\$3 == \"${to%/*}\"")")
before "channel: the appended file's folder is synced before its row is committed" "$dsync" "$(at "$L" "$r" "$COMMIT")"
st=$CS/channels/tohm.state
r=$(at "$L" 0 "\$1 ~ /^rename/ && \$4 == \"$st\"")
before "channel: the state's temporary file is synced before its rename" "$(at "$L" 0 "$(synced "\$3 == \"$st.tmp\"")")" "$r"
[ "$(at "$L" "$r" "$(synced "\$3 == \"${st%/*}\"")")" != 0 ] || t_fail "channel: the state's directory is not synced after the rename"

ch_mb() { dur "$L" "" channel -f "$T_TMP/chan.conf" --state-dir "$CS" tomb; }
ch_mb; expect_ok "channel into an mbox"
rm "$CM/cur/1700000002.M2.host:2,S"
ch_mb; expect_ok "channel: a deletion propagated into the mbox"
expect_eq "$(grep -c '^From ' "$CB/INBOX")" 2 "channel: the mbox lost the deleted message"
r=$(at "$L" 0 "\$1 ~ /^rename/ && \$4 == \"$CB/INBOX\"")
[ "$r" != 0 ] || t_fail "channel: the mbox was not rewritten by a rename: $(cat "$L")"
before "channel: the rewritten mbox is synced before it replaces the box" \
	"$(at "$L" 0 "$(synced "\$3 == \"$(field "$L" "$r" 3)\"")")" "$r"
[ "$(at "$L" "$r" "$(synced "\$3 == \"$CB\"")")" != 0 ] || t_fail "channel: the mbox's directory is not synced after the rename"

t_done
