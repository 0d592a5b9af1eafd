#!/usr/bin/env bash
# Durability that a test can see.  mstore runs under the durability shim
# (tests/durability/shim.c, LD_PRELOAD), which logs fsync, fdatasync,
# renames, creations and writes in the order they happen (SQL sent to a
# server by its text) and can fail one call or end the process right
# before or after it (a kill or power cut at exactly that point).  Checked:
#   sync's rename journal: the entry is on disk before the rename, the
#     journal's own directory entry too, the rename is on disk before the
#     row that names the new place is committed; a kill right before or
#     after the rename, or before the journal is emptied, is completed by
#     the rerun with nothing lost or imported twice, and the rerun reports
#     the interrupted run's completed renames;
#   reconstruct's recovery list: the row is in the list and the list on
#     disk before the row is deleted (a kill right after the list's sync
#     or right before the DELETE leaves the row in both); a list that
#     cannot be synced keeps the row; the header is written once; the
#     list goes to the state directory, not into the data directory;
#   sync --quarantine across file systems: the copy and its name are on
#     disk before the original is removed;
#   deliver: one message by its own fsyncs (its data before its rename,
#     its folder and the folders made for it before the commit, no
#     syncfs; its journal's H and P lines and the journal's name synced
#     before the file is made, two journal syncs in all), a batch of 20 by one syncfs before the renames and one
#     after them, before the commit.
# (mstore channel's durability: test_channel_durability.sh.)
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

. "$MSTORE_SRC/tests/lib/durability.sh"

old='2020-01-02 03:04:05'
A=example.com/alice
# fresh NAME: a new store with alice, and a data directory with one
# canonical file and one misplaced file ($A/loose.eml)
fresh() {
	URL=$(t_new_db "$1") || { t_fail "cannot create a test database"; t_done; }
	D=$T_TMP/$1/Data
	rm -rf "$D"; mkdir -p "$D/$A/AB"
	mst init "$URL"; mst domain add example.com --db "$URL"; mst account add alice@example.com --db "$URL"
	printf 'From: a@example.org\r\nSubject: canonical\r\n\r\none\r\n' >"$D/$A/AB/{AB000000-0000-0000-0000-000000000001}.eml"
	printf 'From: b@example.org\r\nSubject: misplaced\r\n\r\ntwo\r\n' >"$D/$A/loose.eml"
	find "$D" -type f -exec touch -d "$old" {} +
	HASH=$(t_content_hash "$D")
}
S() { mst sync --db "$URL" --data "$D" --settle 0 --no-progress "$@"; }
q() { t_sql "$URL" "$1"; }
journals() { find "$D/.mstore" -name '*.journal' 2>/dev/null | wc -l; }
# the store after a completed run: both files imported once, content intact
converged() {
	expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 2 "$1: two rows"
	expect_eq "$(q "SELECT COUNT(DISTINCT messagefilename) FROM hm_messages")" 2 "$1: no file imported twice"
	expect_eq "$(t_content_hash "$D")" "$HASH" "$1: every message file there, unchanged"
	expect_eq "$(find "$D" -name '*.eml' | wc -l)" 2 "$1: no copy"
	[ -e "$D/$A/loose.eml" ] && t_fail "$1: the misplaced file is still at its old name"
	local f
	for f in $(q "SELECT messagefilename FROM hm_messages"); do
		[ -n "$(find "$D/$A" -name "$f")" ] || t_fail "$1: row $f has no file"
	done
	expect_eq "$(journals)" 0 "$1: no journal left"
}
category() { jq -r --arg p "$2" '[.files[] | select(.path == $p)] | map(.category + ": " + (.reason // "")) | join("; ")' "$1"; }

# --- the rename journal: order -------------------------------------------------
fresh order
L=$T_TMP/order.log
dur "$L" "" sync --db "$URL" --data "$D" --settle 0 --no-progress; expect_ok "sync under the shim"
JOURNAL='$3 ~ /\/\.mstore\/sync-[^\/]*\.journal$/'
rename=$(at "$L" 0 '$1 ~ /^rename/ && $3 ~ /\/loose\.eml$/')
[ "$rename" != 0 ] || t_fail "no rename of loose.eml in the log: $(cat "$L")"
written=$(at "$L" 0 "\$1 == \"write\" && $JOURNAL")
before "the journal entry is written before the rename" "$written" "$rename"
before "the journal is synced before the rename" "$(at "$L" "$written" "$(synced "$JOURNAL")")" "$rename"
created=$(at "$L" 0 "\$1 == \"open\" && $JOURNAL")
before "the journal's directory entry is synced before the rename" \
	"$(at "$L" "$created" "$(synced "\$3 == \"$D/.mstore\"")")" "$rename"
before "the new .mstore directory's entry is synced before the rename" \
	"$(at "$L" "$(at "$L" 0 "\$1 == \"mkdir\" && \$3 == \"$D/.mstore\"")" "$(synced "\$3 == \"$D\"")")" "$rename"
to=$(awk -F'\t' -v n="$rename" 'NR == n { print $4 }' "$L")
commit=$(at "$L" "$rename" "$COMMIT")
[ "$commit" != 0 ] || t_fail "no commit after the rename in the log"
before "the rename's target directory is synced before the commit" "$(at "$L" "$rename" "$(synced "\$3 == \"${to%/*}\"")")" "$commit"
before "the rename's source directory is synced before the commit" "$(at "$L" "$rename" "$(synced "\$3 == \"$D/$A\"")")" "$commit"
before "the journal is emptied only after the commit" "$commit" "$(at "$L" "$rename" "\$1 == \"ftruncate\" && $JOURNAL")"
[ "$(at "$L" "$rename" "\$1 == \"ftruncate\" && $JOURNAL")" != 0 ] || t_fail "the journal is never emptied"
converged "uninterrupted"

# --- the rename journal: a kill at exactly one point, then the rerun ----------
# kill_at NAME FAULT: run sync until the fault ends it, then rerun
kill_at() {
	fresh "$1"
	dur "$T_TMP/$1.log" "$2" sync --db "$URL" --data "$D" --settle 0 --no-progress
	expect_rc 9 "$1: the shim ended sync ($2)"
}
kill_at before_rename "renameat2 1 exit-before loose.eml"
[ -e "$D/$A/loose.eml" ] || t_fail "before_rename: the file moved"
expect_eq "$(journals)" 1 "before_rename: the journal is left"
grep -q 'loose\.eml' "$D"/.mstore/*.journal || t_fail "before_rename: the journal lacks the rename"
S --json "$T_TMP/r1.json"; expect_ok "before_rename: rerun"
case "$(category "$T_TMP/r1.json" "$A/loose.eml")" in
*interrupted*) t_fail "before_rename: the rerun reports a rename that did not happen" ;;
moved:*) t_ok ;;
*) t_fail "before_rename: the rerun does not move the file: $(category "$T_TMP/r1.json" "$A/loose.eml")" ;;
esac
converged "before_rename"

kill_at after_rename "renameat2 1 exit-after loose.eml"
[ -e "$D/$A/loose.eml" ] && t_fail "after_rename: the file did not move"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 0 "after_rename: nothing committed"
S --json "$T_TMP/r2.json"; expect_ok "after_rename: rerun"
case "$(category "$T_TMP/r2.json" "$A/loose.eml")" in
moved:*interrupted*) t_ok ;;
*) t_fail "after_rename: the rerun does not report the interrupted run's rename: $(category "$T_TMP/r2.json" "$A/loose.eml") / $(t_out)" ;;
esac
converged "after_rename"

kill_at after_commit "ftruncate 1 exit-before .journal"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 2 "after_commit: the batch was committed"
S --json "$T_TMP/r3.json"; expect_ok "after_commit: rerun"
case "$(category "$T_TMP/r3.json" "$A/loose.eml")" in
moved:*interrupted*) t_ok ;;
*) t_fail "after_commit: the rerun does not report the interrupted run's rename: $(category "$T_TMP/r3.json" "$A/loose.eml")" ;;
esac
converged "after_commit"

# A power cut at every durability point of the run, in turn: right before
# and right after each sync, rename, truncate and unlink the uninterrupted
# run made; every rerun converges.
KINDS='fsync|fdatasync|rename*|ftruncate|unlink*'
points=$(awk -F'\t' '$1 ~ /^(fsync|fdatasync|rename|renameat2?|ftruncate|unlink|unlinkat)$/' "$T_TMP/order.log" | wc -l)
[ "$points" -ge 6 ] || t_fail "only $points durability points in the uninterrupted run"
# Every point on SQLite; every other one on the servers (the points are
# mstore's own file calls, the same on every backend; the suite's time).
stride=$([ "$MSTORE_TEST_BACKEND" = sqlite ] && echo 1 || echo 2)
tried=0 landed=0
for n in $(seq 1 "$stride" "$points"); do
	tried=$((tried + 1))
	for when in before after; do
		fresh "every_${when}_$n"
		dur "$T_TMP/every.log" "$KINDS $n exit-$when" sync --db "$URL" --data "$D" --settle 0 --no-progress
		[ "$T_RC" = 9 ] && landed=$((landed + 1))
		S; expect_ok "kill $when durability point $n: rerun"
		converged "kill $when durability point $n"
	done
done
expect_eq "$landed" "$((2 * tried))" "every kill landed"

# --- the rename journal: a sync that fails --------------------------------------
# The journal cannot be synced: the file must stay where it is.
fresh journal_eio
dur "$T_TMP/journal_eio.log" "fsync|fdatasync 1 EIO .journal" sync --db "$URL" --data "$D" --settle 0 --no-progress
expect_rc 1 "journal_eio: sync reports the failure"
expect_err_contains "rename journal" "journal_eio: says what failed"
[ -e "$D/$A/loose.eml" ] || t_fail "journal_eio: the file was renamed although its journal entry is not on disk"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 1 "journal_eio: the canonical file imported, the other not"
S; expect_ok "journal_eio: rerun"
converged "journal_eio"

# The renamed file's directory cannot be synced: its row must not be
# committed (a power cut could undo the rename and leave a row without
# file); the file is found at its new place by the rerun.
fresh dir_eio
dur "$T_TMP/dir_eio.log" "fsync|fdatasync 1 EIO $D/$A" sync --db "$URL" --data "$D" --settle 0 --no-progress
expect_rc 1 "dir_eio: sync reports the failure"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefrom = 'b@example.org'")" 0 "dir_eio: no row for the file whose rename may not be on disk"
S; expect_ok "dir_eio: rerun"
converged "dir_eio"

# --- the recovery list -----------------------------------------------------------
# lost NAME: a fresh store, both files imported, then the misplaced one's
# file deleted: one missing-file finding (row id in $LOST)
lost() {
	fresh "$1"
	S; expect_ok "$1: import"
	local f
	f=$(q "SELECT messagefilename FROM hm_messages WHERE messagefrom = 'b@example.org'")
	LOST=$(q "SELECT messageid FROM hm_messages WHERE messagefrom = 'b@example.org'")
	find "$D" -name "$f" -delete
	mkdir -p "$T_TMP/lists/$1"
	LIST=$T_TMP/lists/$1/removed.tsv
}
RC() { mst reconstruct --db "$URL" --data "$D" --no-progress "$@"; }
row_kept() { expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageid = $LOST")" "$1" "$2"; }
listed() { grep -c "^$LOST	" "$LIST"; }
headers() { grep -c '^messageid	' "$1"; }

lost list_order
L=$T_TMP/list_order.log
dur "$L" "" reconstruct --db "$URL" --data "$D" --no-progress -r --save-removed "$LIST"; expect_ok "list_order: -r"
row_kept 0 "list_order: the row is removed"
expect_eq "$(listed)" 1 "list_order: the row is in the list"
LISTED="\$3 == \"$LIST\""
delete=$(at "$L" 0 "$DELETE")
[ "$delete" != 0 ] || t_fail "list_order: no delete in the log"
# (stdio's writes are libc-internal, so the shim sees the list's sync, not
# its write; the kills below show what the list holds at each point)
opened=$(at "$L" 0 "\$1 == \"open\" && $LISTED")
before "the list is created before the row is deleted" "$opened" "$delete"
before "the list is synced before the row is deleted" "$(at "$L" "$opened" "$(synced "$LISTED")")" "$delete"
before "the new list's directory entry is synced before the row is deleted" \
	"$(at "$L" "$opened" "$(synced "\$3 == \"${LIST%/*}\"")")" "$delete"
first_list=$LIST

# A power cut before and after every durability call of reconstruct -r:
# the rerun removes the row, and the list holds it, under one header.
points=$(awk -F'\t' '$1 ~ /^(fsync|fdatasync|rename|renameat2?|ftruncate|unlink|unlinkat)$/' "$L" | wc -l)
[ "$points" -ge 2 ] || t_fail "only $points durability points in reconstruct -r"
landed=0
for n in $(seq 1 "$points"); do
	for when in before after; do
		lost "rc_every_${when}_$n"
		dur "$T_TMP/every.log" "$KINDS $n exit-$when" reconstruct --db "$URL" --data "$D" --no-progress -r --save-removed "$LIST"
		[ "$T_RC" = 9 ] && landed=$((landed + 1))
		RC -r --save-removed "$LIST"; expect_ok "reconstruct killed $when durability point $n: rerun"
		row_kept 0 "reconstruct killed $when durability point $n: the row is removed"
		[ "$(listed)" -ge 1 ] || t_fail "reconstruct killed $when durability point $n: the row is not in the list"
		expect_eq "$(headers "$LIST")" 1 "reconstruct killed $when durability point $n: one header"
	done
done
expect_eq "$landed" "$((2 * points))" "every kill of reconstruct landed"

# A reused list gets rows, not a second header; an empty one gets its header.
lost list_reuse
LIST=$first_list
RC -r --save-removed "$LIST"; expect_ok "list_reuse: -r"
expect_eq "$(headers "$LIST")" 1 "list_reuse: one header in a reused list"
expect_eq "$(head -1 "$LIST" | cut -f1)" messageid "list_reuse: the header is the first line"
expect_eq "$(wc -l <"$LIST")" 3 "list_reuse: the header and both runs' rows"
lost list_empty
: >"$LIST"
RC -r --save-removed "$LIST"; expect_ok "list_empty: -r"
expect_eq "$(head -1 "$LIST" | cut -f1)" messageid "list_empty: an empty list gets the header"
expect_eq "$(listed)" 1 "list_empty: and the row"

# The list cannot be synced: the row stays.
lost list_eio
dur "$T_TMP/list_eio.log" "fsync|fdatasync 1 EIO removed.tsv" reconstruct --db "$URL" --data "$D" --no-progress -r --save-removed "$LIST"
expect_rc 1 "list_eio: -r reports the finding as remaining"
expect_out_contains "not repaired" "list_eio: says the row was not removed"
row_kept 1 "list_eio: the row is kept when its list entry is not on disk"

# A kill right after the list is synced: the row is still there (it is
# deleted after), and the rerun removes it.
lost list_kill
dur "$T_TMP/list_kill.log" "fsync|fdatasync 1 exit-after removed.tsv" reconstruct --db "$URL" --data "$D" --no-progress -r --save-removed "$LIST"
expect_rc 9 "list_kill: the shim ended reconstruct"
row_kept 1 "list_kill: the row outlives the kill"
expect_eq "$(listed)" 1 "list_kill: the row is in the list"
RC -r --save-removed "$LIST"; expect_ok "list_kill: rerun"
row_kept 0 "list_kill: the rerun removes the row"
expect_eq "$(headers "$LIST")" 1 "list_kill: still one header"

# A kill right before the delete reaches the database: the row is in the
# list already.
lost list_predelete
dur "$T_TMP/list_predelete.log" "$( [ "$MSTORE_TEST_BACKEND" = sqlite ] && echo 'pwrite 1 exit-before -wal' || echo 'send 1 exit-before DELETE' )" \
	reconstruct --db "$URL" --data "$D" --no-progress -r --save-removed "$LIST"
expect_rc 9 "list_predelete: the shim ended reconstruct"
row_kept 1 "list_predelete: the row outlives the kill"
expect_eq "$(listed)" 1 "list_predelete: the row is in the list before its delete is sent"

# --- where the recovery list goes --------------------------------------------------
lost state_xdg
XDG_STATE_HOME=$T_TMP/xdg RC -r; expect_ok "state_xdg: -r"
LIST=$(find "$T_TMP/xdg/mstore" -name 'removed-*.tsv' 2>/dev/null | head -1)
[ -n "$LIST" ] || t_fail "state_xdg: no list in \$XDG_STATE_HOME/mstore: $(t_out)"
[ -n "$LIST" ] && expect_eq "$(listed)" 1 "state_xdg: the row is in the list"
expect_out_contains "removed rows saved to $T_TMP/xdg/mstore/removed-" "state_xdg: the summary names the list"
expect_eq "$(find "$D" -name 'removed-*' | wc -l)" 0 "state_xdg: nothing written into the data directory"
expect_eq "$(stat -c %a "$T_TMP/xdg/mstore")" 700 "state_xdg: the state directory is private"
[ -n "$LIST" ] && expect_eq "$(stat -c %a "$LIST")" 600 "state_xdg: the list is private"

lost state_dir
RC -r --state-dir "$T_TMP/state dir/deep"; expect_ok "state_dir: -r"
LIST=$(find "$T_TMP/state dir/deep" -name 'removed-*.tsv' 2>/dev/null | head -1)
[ -n "$LIST" ] || t_fail "state_dir: no list in --state-dir: $(t_out)"
[ -n "$LIST" ] && expect_eq "$(listed)" 1 "state_dir: the row is in the list"
expect_out_contains "removed rows saved to $T_TMP/state dir/deep/removed-" "state_dir: the summary names the list"

# A state directory that cannot be made: the row stays, the reason says
# where the list would have gone and how to put it elsewhere.
lost state_bad
: >"$T_TMP/not-a-dir"
RC -r --state-dir "$T_TMP/not-a-dir/sub"
expect_rc 1 "state_bad: -r reports the finding as remaining"
expect_out_contains "cannot create the state directory $T_TMP/not-a-dir/sub" "state_bad: says why"
row_kept 1 "state_bad: the row is kept without a recovery list"

# --- deliver: a few messages by their own fsyncs, a batch by one syncfs ----------
# a message delivered alone (an MTA's one call per message) is made durable
# by its own fsyncs: syncfs would also wait for every other writer's data,
# which on a busy server costs far more; a batch of more than 8 by one
# syncfs after the temporary files and one after the renames
fresh deliver1
L=$T_TMP/deliver1.log
printf 'From: a@example.org\nSubject: one\n\nbody\n' >"$T_TMP/one.eml"
rm -rf "${D:?}/$A"   # the account's folder and its XX folder are made by the delivery
dur "$L" "" deliver alice@example.com "$T_TMP/one.eml" --db "$URL" --data "$D"; expect_ok "deliver of one message under the shim"
TMP='$3 ~ /\.mstore-tmp$/'
placed=$(at "$L" 0 "\$1 ~ /^rename/ && $TMP")
[ "$placed" != 0 ] || t_fail "deliver: no rename of a temporary file in the log: $(cat "$L")"
to=$(awk -F'\t' -v n="$placed" 'NR == n { print $4 }' "$L")
commit=$(at "$L" "$placed" "$COMMIT")
[ "$commit" != 0 ] || t_fail "deliver: no commit after the rename in the log"
before "deliver: the file's data is synced before its rename" "$(at "$L" 0 "$(synced "$TMP")")" "$placed"
before "deliver: its folder is synced after the rename, before the commit" \
	"$(at "$L" "$placed" "$(synced "\$3 == \"${to%/*}\"")")" "$commit"
before "deliver: the new XX folder is synced into the account's folder before the commit" \
	"$(at "$L" "$(at "$L" 0 "\$1 == \"mkdir\" && \$3 == \"${to%/*}\"")" "$(synced "\$3 == \"$D/$A\"")")" "$commit"
before "deliver: the new account folder is synced into the domain's before the commit" \
	"$(at "$L" "$(at "$L" 0 "\$1 == \"mkdir\" && \$3 == \"$D/$A\"")" "$(synced "\$3 == \"$D/example.com\"")")" "$commit"
expect_eq "$(grep -c '^syncfs' "$L")" 0 "deliver: one message makes no syncfs"
# its journal: the H and P lines in one synced write, its name synced, both before the
# file is made; then the D line after the commit (two journal syncs in all)
J='$3 ~ /\/\.mstore\/deliver-[^/]*\.deliver$/'
made=$(at "$L" 0 "\$1 ~ /^open/ && $TMP")
before "deliver: the journal is synced before the file is made" "$(at "$L" 0 "$(synced "$J")")" "$made"
before "deliver: the journal's name is synced before the file is made" "$(at "$L" 0 "$(synced "\$3 == \"$D/.mstore\"")")" "$made"
expect_eq "$(awk -F'\t' "($(synced "$J"))" "$L" | wc -l)" 2 "deliver: one message's journal is synced twice (H and P together, then D)"
expect_eq "$(find "$D/.mstore" -name 'deliver-*' | wc -l)" 0 "deliver: the journal is gone"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefilename = '${to##*/}'")" 1 "deliver: the row names the file"

L=$T_TMP/deliver20.log
for i in $(seq 20); do printf 'From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nSubject: m%s\n\nbody\n\n' "$i"; done >"$T_TMP/20.mbox"
dur "$L" "" deliver alice@example.com --mbox "$T_TMP/20.mbox" --db "$URL" --data "$D"; expect_ok "deliver of 20 messages under the shim"
first=$(at "$L" 0 "\$1 ~ /^rename/ && $TMP")
commit=$(at "$L" "$first" "$COMMIT")
before "deliver --mbox: the file system is synced before the first rename" "$(at "$L" 0 '$1 == "syncfs"')" "$first"
before "deliver --mbox: and again after the renames, before the commit" "$(at "$L" "$first" '$1 == "syncfs"')" "$commit"
expect_eq "$(awk -F'\t' "($(synced "$TMP"))" "$L" | wc -l)" 0 "deliver --mbox: no file of the batch fsynced alone"

# --- the quarantine on another file system ----------------------------------------
# sync --quarantine DIR moves the files it could not import; across file
# systems that is copy, fsync, unlink: the copy (its data and its name)
# must be on disk before the original goes.
Q=/dev/shm/mstore-durability-$$
if [ "$(stat -c %d /dev/shm 2>/dev/null)" = "$(stat -c %d "$T_TMP")" ] || ! mkdir -p "$Q"; then
	echo "SKIPPED: the quarantine across file systems (no /dev/shm on another file system)"
else
	trap 'rm -rf "$Q"; t_cleanup' EXIT
	quarantine() { # quarantine NAME FAULT: a store with one orphaned file, sync --quarantine under the shim
		fresh "$1"
		mkdir -p "$D/example.com/ghost/11"
		printf 'From: g@example.org\r\n\r\nthree\r\n' >"$D/example.com/ghost/11/{11000000-0000-0000-0000-000000000005}.eml"
		touch -d "$old" "$D/example.com/ghost/11/{11000000-0000-0000-0000-000000000005}.eml"
		dur "$T_TMP/$1.log" "$2" sync --db "$URL" --data "$D" --settle 0 --no-progress --quarantine "$Q/$1"
	}
	G="example.com/ghost/11/{11000000-0000-0000-0000-000000000005}.eml"
	quarantine q_order ""
	expect_ok "q_order: sync --quarantine"
	[ -f "$Q/q_order/$G" ] || t_fail "q_order: the file is not in the quarantine"
	L=$T_TMP/q_order.log
	gone=$(at "$L" 0 "\$1 == \"unlinkat\" && \$3 == \"$D/$G\"")
	[ "$gone" != 0 ] || t_fail "q_order: the original was not removed (not a copy across file systems?)"
	before "q_order: the copy is synced before the original is removed" "$(at "$L" 0 "$(synced "\$3 == \"$Q/q_order/$G\"")")" "$gone"
	before "q_order: the copy's directory is synced before the original is removed" \
		"$(at "$L" 0 "$(synced "\$3 == \"$Q/q_order/${G%/*}\"")")" "$gone"
	before "q_order: a directory made for the copy is synced into its parent before the original is removed" \
		"$(at "$L" 0 "$(synced "\$3 == \"$Q/q_order/example.com/ghost\"")")" "$gone"

	quarantine q_eio "fsync|fdatasync 1 EIO $Q/q_eio/example.com/ghost/11/"
	expect_rc 1 "q_eio: a copy that cannot be synced fails"
	[ -f "$D/$G" ] || t_fail "q_eio: the original was removed although its copy is not on disk"
fi

t_done
