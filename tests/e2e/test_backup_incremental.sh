#!/usr/bin/env bash
# mstore backup --incremental and restore of a chain (issue 17 items 2-3,
# archive format 3).  A SQLite source gets a full backup, then changes (new
# messages, a flag set, an expunge, a new folder), an incremental, more
# changes (a new message, a flag cleared, another expunge), a second
# incremental.  Checked: the incrementals hold only the contents their base
# chain lacks and list the removals and flag changes; the chain restored
# into an empty store of the test's backend equals the source (messages
# per folder by content hash, flags); into a store that took the full
# archive before, the chain adds what is new, sets the changed flags and
# lists (-n and the real run) the removed messages without touching them;
# a rerun adds nothing, so does one after SIGKILLs; an incremental alone, a missing link, a chain out
# of order and a base of another scope are refused with nothing written.
. "$MSTORE_SRC/tests/lib/common.sh"
. "$MSTORE_SRC/tests/lib/backup_fixture.sh"
t_need_server
export TZ=UTC

bk_source
for u in ann bob; do S account add "$u@ex.test"; expect_ok "account $u"; done
S folder create user/ann@ex.test/Work; expect_ok "folder Work"
for i in 1 2 3 4; do bk_put ann@ex.test "in$i"; done
bk_put ann@ex.test/Work w1
bk_put ann@ex.test/Work w2
bk_put ann@ex.test/Work in1          # the same content in two folders: written once
bk_put bob@ex.test b1

# the flags of a source message (hm bits: 1 seen, 4 flagged) and an expunge
# as the server makes them (tests/lib/backup_fixture.sh)
flags() { bk_flags ann@ex.test "$@"; }
expunge() { bk_expunge ann@ex.test "$@"; }
flags INBOX 1 1
F=$T_TMP/full.tar
S backup -f "$F"; expect_ok "full backup"

# --- changes, first incremental ----------------------------------------------------------
bk_put ann@ex.test in5
bk_put ann@ex.test in6
flags INBOX 2 5                     # \Seen \Flagged set
expunge INBOX 3
S folder create user/ann@ex.test/New; expect_ok "a new folder"
bk_put ann@ex.test/New n1
bk_put ann@ex.test/New w1              # content the full archive holds
I1=$T_TMP/inc1.tar
S backup -f "$I1" --incremental "$F" --json; expect_ok "first incremental"
expect_eq "$(jq -c '[.messages, .contents, .base_contents, .removed, .flag_changes]' "$T_TMP/out")" \
	"[11,3,6,1,1]" "11 messages indexed, 3 new contents, 6 the base holds, 1 removed, 1 flag change"
expect_eq "$(tar -xOf "$I1" mstore-archive.json | jq -c '[.version, .incremental, (.base | length)]')" \
	"[4,true,64]" "format 4, incremental, names its base by a SHA-256"
expect_eq "$(tar -tf "$I1" | grep -c '^content/')" 3 "only the contents the base lacks"
expect_eq "$(tar -xOf "$I1" changes.jsonl | jq -r '"\(.change) \(.folder | join("/")) \(.uid) \(.flags // [] | join(","))"' | sort | tr '\n' ';')" \
	'flags INBOX 2 \Seen,\Flagged;removed INBOX 3 ;' "changes.jsonl lists the removal and the flag change"

# --- more changes, second incremental -----------------------------------------------------
bk_put ann@ex.test in7
flags INBOX 1 0                     # \Seen cleared
expunge Work 1
I2=$T_TMP/inc2.tar
S backup -f "$I2" --incremental "$I1" --json; expect_ok "second incremental"
expect_eq "$(jq -c '[.contents, .removed, .flag_changes]' "$T_TMP/out")" "[1,1,1]" "1 new content, 1 removed, 1 flag change"
bk_index "$SRC" "$SD" >"$T_TMP/src.idx"

# --- refusals: nothing is written ---------------------------------------------------------
DST=$(t_new_db chain)
DD=$T_TMP/dst
mkdir -p "$DD"
mst init "$DST"; expect_ok "init the target"
D() { mst "$@" --db "$DST" --data "$DD"; }
D restore -f "$I1"; expect_rc 2 "an incremental alone"
expect_err_contains "incremental archive" "names what it is"
expect_err_contains "-f FULL -f INC1" "says how to restore it"
D restore -f "$F" -f "$I2"; expect_rc 2 "a missing link"
expect_err_contains "is not the incremental of $F" "names the archive it does not follow"
D restore -f "$F" -f "$I2" -f "$I1"; expect_rc 2 "a chain out of order"
D restore -f "$I1" -f "$F"; expect_rc 2 "the incremental first"
D restore -f "$F" -f "$F"; expect_rc 2 "a full archive where an incremental belongs"
expect_err_contains "is a full archive" "says so"
expect_eq "$(t_sql "$DST" "SELECT COUNT(*) FROM hm_messages")/$(t_sql "$DST" "SELECT COUNT(*) FROM hm_accounts")" "0/0" \
	"the refused chains wrote nothing"
S backup -f "$T_TMP/ann.tar" --incremental "$F" user/ann@ex.test; expect_rc 2 "a base of another scope"
expect_err_contains "scope" "the refusal names the scope"
[ -e "$T_TMP/ann.tar" ] && t_fail "a refused incremental left a file"

# --- the chain into an empty store of the backend ----------------------------------------
D restore -f "$F" -f "$I1" -f "$I2" --json; expect_ok "restore of the chain"
expect_eq "$(jq -c '[.restored, .flags_updated, .removals_listed]' "$T_TMP/out")" "[11,0,0]" \
	"every message of the last index, nothing else"
expect_eq "$(bk_index "$DST" "$DD" | diff "$T_TMP/src.idx" -)" "" "the target equals the source"
D reconstruct -n; expect_ok "reconstruct -n is clean"
D restore -f "$F" -f "$I1" -f "$I2" --json; expect_ok "the chain again"
expect_eq "$(jq -c '[.restored, .present, .flags_updated]' "$T_TMP/out")" "[0,11,0]" "a repeat adds nothing"

# --- the chain over the restored full archive: additions, flags, removals listed ---------
T2=$(t_new_db over)
T2D=$T_TMP/t2
mkdir -p "$T2D"
mst init "$T2"; expect_ok "init the second target"
T() { mst "$@" --db "$T2" --data "$T2D"; }
T restore -f "$F"; expect_ok "the full archive first"
T restore -n -f "$F" -f "$I1" -f "$I2" --json; expect_ok "-n of the chain"
expect_eq "$(jq -c '[.restored, .flags_updated, .removals_listed]' "$T_TMP/out")" "[5,2,2]" \
	"-n counts 5 additions, 2 flag updates, 2 removals"
expect_eq "$(cut -f1,2 "$T_TMP/err" | sort | tr '\t\n' ' ')" \
	"flags user/ann@ex.test/INBOX flags user/ann@ex.test/INBOX removed user/ann@ex.test/INBOX removed user/ann@ex.test/Work " \
	"-n lists each flag update and removal"
expect_eq "$(t_sql "$T2" "SELECT COUNT(*) FROM hm_messages")" 8 "-n wrote nothing"
T restore -f "$F" -f "$I1" -f "$I2"; expect_ok "the chain over it"
expect_out_contains "flags updated on 2 messages; 2 messages the chain lists as removed are still there" "the summary"
expect_eq "$(grep -c '^removed' "$T_TMP/out")" 2 "the removals are listed"
# the target is the source plus the two removed messages, which stay as they were
bk_index "$T2" "$T2D" >"$T_TMP/t2.idx"
expect_eq "$(comm -23 "$T_TMP/t2.idx" "$T_TMP/src.idx" | cut -f2 | tr '\n' ' ')" "INBOX Work " \
	"two removed messages left in place"
expect_eq "$(comm -13 "$T_TMP/t2.idx" "$T_TMP/src.idx")" "" "everything else as in the source"
T restore -f "$F" -f "$I1" -f "$I2" --json; expect_ok "the chain again over it"
expect_eq "$(jq -c '[.restored, .flags_updated, .removals_listed]' "$T_TMP/out")" "[0,0,2]" \
	"a repeat adds nothing, the removals are still listed"
T reconstruct -n; expect_ok "reconstruct -n is clean"

# --- SIGKILL during a chain restore, then a rerun: the same end, no duplicate -------------
K=$(t_new_db kill)
KD=$T_TMP/kill
mkdir -p "$KD"
mst init "$K"; expect_ok "init the third target"
mst restore -f "$F" --db "$K" --data "$KD"; expect_ok "the full archive into it"
for delay in 0.05 0.2; do
	MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" restore -f "$F" -f "$I1" -f "$I2" \
		--db "$K" --data "$KD" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
mst restore -f "$F" -f "$I1" -f "$I2" --db "$K" --data "$KD"; expect_ok "the rerun after kills"
expect_eq "$(bk_index "$K" "$KD" | diff "$T_TMP/t2.idx" -)" "" "after kills and a rerun: as the uninterrupted chain left it"

# --- a folder whose name is not UTF-8 (the archive spells it with U+FFFD) ---------------
S folder create user/bob@ex.test/Xbad; expect_ok "folder Xbad"
bk_put bob@ex.test/Xbad x1
t_sql "$SRC" "UPDATE hm_imapfolders SET foldername = CAST(x'58ff' AS TEXT) WHERE foldername = 'Xbad'"
S backup -f "$T_TMP/u.tar" user/bob@ex.test; expect_ok "full backup of bob"
S backup -f "$T_TMP/u-inc.tar" --incremental "$T_TMP/u.tar" user/bob@ex.test --json
expect_ok "incremental of bob"
expect_eq "$(jq -c '[.removed, .flag_changes]' "$T_TMP/out")" "[0,0]" \
	"a message of a non-UTF-8 folder is not listed as removed"

t_done
