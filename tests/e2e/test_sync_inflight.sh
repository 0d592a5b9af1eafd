#!/usr/bin/env bash
# `mstore sync --settle 0` while a channel appends into the store: the
# channel is stopped (test hook hms-append-written) after it has written
# its message files and journaled them in DATA/.mstore/*.inflight, before
# its rows are committed; the sync run there must report those files "in
# flight" and import none of them (imported, each file would get a second
# row when the channel commits its own: duplicates, issue 14).  A sync
# after the channel finished finds every file referenced once.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db inf) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/inf/Data MD=$T_TMP/inf/md
mkdir -p "$D" "$MD"/cur "$MD"/new "$MD"/tmp
mst init "$URL"; mst domain add example.com --db "$URL"; mst account add alice@example.com --db "$URL"
expect_ok "an account"
for i in 1 2 3; do
	printf 'From: a@example.org\nSubject: m%d\nMessage-ID: <m%d@x>\n\nbody %d\n' $i $i $i >"$MD/cur/170000000$i.M$i.host:2,S"
done
cat >"$T_TMP/inf.conf" <<CONF
store md { kind maildir path $MD }
store hm { kind hmailserver db $URL data $D account alice@example.com }
channel c md hm { }
CONF
S="'$MSTORE_BIN' sync --no-progress -v --settle 0 --db '$URL' --data '$D' --server-tz UTC"
MSTORE_TEST_HOOK_AT=hms-append-written \
MSTORE_TEST_HOOK_CMD="$S >'$T_TMP/sync.out' 2>&1; echo \$? >'$T_TMP/sync.rc'" \
	mst channel -f "$T_TMP/inf.conf" --state-dir "$T_TMP/state" c
expect_ok "the channel, with a sync run while its files were in flight"
[ -f "$T_TMP/sync.rc" ] || t_fail "the test hook did not run the sync"
expect_eq "$(cat "$T_TMP/sync.rc" 2>/dev/null)" 0 "the sync during the append: $(cat "$T_TMP/sync.out" 2>/dev/null)"
expect_eq "$(grep -c 'in flight' "$T_TMP/sync.out")" 3 "the sync reports the channel's three files in flight: $(cat "$T_TMP/sync.out")"
t_ok; grep -q '^Imported' "$T_TMP/sync.out" && t_fail "the sync imported a file in flight: $(cat "$T_TMP/sync.out")"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*), COUNT(DISTINCT messagefilename) FROM hm_messages" | tr '\t' ' ')" "3 3" \
	"three rows, one per file"
mst sync --no-progress -v --settle 0 --db "$URL" --data "$D" --server-tz UTC
expect_ok "a sync after the channel"
t_ok; [ -s "$T_TMP/out" ] && grep -qv '^$' "$T_TMP/out" && grep -q 'Imported\|in flight' "$T_TMP/out" &&
	t_fail "a sync after the channel found something to do: $(t_out)"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_messages")" 3 "still three rows"

# --- a channel killed (-9) with its files written, its rows not committed -----------
# Its journal's lock died with it.  `sync -n` names the files and imports
# none; `sync --settle 0` removes them (no row names them) before its walk,
# as the channel's hmailserver side does when it reopens; the channel's
# rerun appends them once (imported by the sync, each would have a second
# row after the rerun: duplicates).
for i in 4 5; do
	printf 'From: a@example.org\nSubject: m%d\nMessage-ID: <m%d@x>\n\nbody %d\n' $i $i $i >"$MD/cur/170000000$i.M$i.host:2,S"
done
MSTORE_TEST_HOOK_AT=hms-append-written MSTORE_TEST_HOOK_CMD='kill -9 $PPID' \
	mst channel -f "$T_TMP/inf.conf" --state-dir "$T_TMP/state" c
expect_eq "$T_RC" 137 "the channel killed mid-append"
expect_eq "$(ls "$D"/.mstore/*.inflight 2>/dev/null | wc -l | tr -d ' ')" 1 "the dead channel's journal is left"
mst sync -n --no-progress -v --settle 0 --db "$URL" --data "$D" --server-tz UTC
expect_ok "a dry run of sync"
expect_eq "$(grep -c 'left by an mstore channel that died' "$T_TMP/out")" 2 "the dry run names the dead writer's two files: $(t_out)"
t_ok; grep -q '^Imported' "$T_TMP/out" && t_fail "the dry run would import a dead writer's file: $(t_out)"
mst sync --no-progress -v --settle 0 --db "$URL" --data "$D" --server-tz UTC
expect_ok "sync after the kill"
t_ok; grep -q '^Imported' "$T_TMP/out" && t_fail "sync imported a dead writer's file: $(t_out)"
expect_out_contains "interrupted            2" "sync says it removed the dead writer's two files"
expect_eq "$(ls "$D"/.mstore/*.inflight 2>/dev/null | wc -l | tr -d ' ')" 0 "the journal settled"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_messages")" 3 "no row for the killed append"
mst channel -f "$T_TMP/inf.conf" --state-dir "$T_TMP/state" c
expect_ok "the channel's rerun"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*), COUNT(DISTINCT messagefilename) FROM hm_messages" | tr '\t' ' ')" "5 5" \
	"five rows, one per file: nothing twice"
expect_eq "$(find "$D" -name '*.eml' | wc -l | tr -d ' ')" 5 "five message files"
t_done
