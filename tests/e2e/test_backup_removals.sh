#!/usr/bin/env bash
# mstore restore --apply-removals (issue 17): a chain's removals applied.
# A SQLite source gets a full backup, then an expunge in INBOX, one in a
# #Public folder, a folder deleted with its two messages, a new message,
# and an incremental.  A
# target of the test's backend took the full archive and holds one more
# message of its own in the folder deleted from the source.  Checked:
# the removals of the deleted folder are listed too (before, only the
# last archive's folders were visited); without --apply-removals nothing
# is removed; -n lists and writes nothing; with it the four messages'
# rows are gone and their files are in DATA/.mstore/trash (never
# unlinked; the public one's at its #Public/ path), the deleted folder stays with the message the chain does
# not know (a folder under `folder lock` keeps its messages until the
# next run); the removals of one run share one trash intent; a rerun
# does nothing; a SIGKILL after the intent and after
# the commit, then a rerun, ends as the uninterrupted run (no file left
# unreferenced, none lost).  With --into the removals of the one account
# (its deleted folder's too) land on the account restored into.
. "$MSTORE_SRC/tests/lib/common.sh"
. "$MSTORE_SRC/tests/lib/backup_fixture.sh"
t_need_server
export TZ=UTC

bk_source
for u in ann bob; do S account add "$u@ex.test"; expect_ok "account $u"; done
S folder create user/ann@ex.test/Old; expect_ok "folder Old"
for i in 1 2 3; do bk_put ann@ex.test "in$i"; done
bk_put ann@ex.test/Old o1
bk_put ann@ex.test/Old o2
bk_put bob@ex.test b1
S folder create '#Public/shared'; expect_ok "a public folder"
bk_public_put shared 1 p1
bk_public_put shared 2 p2
F=$T_TMP/full.tar
S backup -f "$F"; expect_ok "full backup"
bk_expunge ann@ex.test INBOX 2
bk_public_expunge shared 1
S folder delete user/ann@ex.test/Old --purge; expect_ok "Old deleted in the source"
bk_put ann@ex.test in4
I=$T_TMP/inc.tar
S backup -f "$I" --incremental "$F" --json; expect_ok "incremental"
expect_eq "$(jq -c '.removed' "$T_TMP/out")" 4 "four removals: two expunged (one public), two with their folder"
bk_index "$SRC" "$SD" >"$T_TMP/src.idx"

# trashed DATA: the files in its trash
trashed() { find "$1/.mstore/trash" -type f -name '*.eml' 2>/dev/null | wc -l; }
# a target that took the full archive and got a message of its own in Old
over() {
	bk_target "$1"
	mst restore -f "$F" --db "$BK_URL" --data "$BK_DIR"; expect_ok "the full archive into $1"
	echo "Subject: mine" | mst deliver ann@ex.test/Old - --db "$BK_URL" --data "$BK_DIR"; expect_ok "its own message"
}
over t
T() { mst "$@" --db "$BK_URL" --data "$BK_DIR"; }
T restore -f "$F" -f "$I" --json; expect_ok "the chain without --apply-removals"
expect_eq "$(jq -c '[.restored, .removals_listed, .removals_applied]' "$T_TMP/out")" "[1,4,0]" \
	"the new message restored, four removals listed, none applied"
expect_eq "$(cut -f1,2 "$T_TMP/err" | sort | uniq -c | tr -s ' \t\n' ' ')" \
	" 1 removed #Public/shared 1 removed user/ann@ex.test/INBOX 2 removed user/ann@ex.test/Old " \
	"the deleted folder's removals are listed too"
expect_eq "$(t_sql "$BK_URL" "SELECT COUNT(*) FROM hm_messages")" 10 "nothing removed without the flag"
T restore -n --apply-removals -f "$F" -f "$I" --json; expect_ok "-n --apply-removals"
expect_eq "$(jq -c '[.removals_listed, .removals_applied]' "$T_TMP/out")" "[4,0]" "-n lists, applies nothing"
expect_eq "$(t_sql "$BK_URL" "SELECT COUNT(*) FROM hm_messages")/$(trashed "$BK_DIR")" "10/0" "-n wrote nothing"
# a folder under `mstore folder lock` keeps its removals for the next run
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" folder lock user/ann@ex.test/Old --db "$BK_URL" \
	--data "$BK_DIR" -- sh -c "touch '$T_TMP/held'; while [ ! -e '$T_TMP/go' ]; do sleep 0.05; done" &
lockpid=$!
for _ in $(seq 400); do [ -e "$T_TMP/held" ] && break; sleep 0.05; done
[ -e "$T_TMP/held" ] || t_fail "the locked command did not start"
# (under the durability shim: the run's removals in two folders share one intent)
. "$MSTORE_SRC/tests/lib/durability.sh"
dur "$T_TMP/locked.log" "" restore --apply-removals -f "$F" -f "$I" --json --db "$BK_URL" --data "$BK_DIR"
expect_rc 1 "--apply-removals with Old locked"
expect_eq "$(awk -F'\t' '$1 == "open" && $3 ~ /\/trash-[^\/]*\.intent$/' "$T_TMP/locked.log" | wc -l)" 1 \
	"one trash intent for the removals of INBOX and #Public/shared"
expect_err_contains "user/ann@ex.test/Old: removals left for the next run" "names the folder and why"
expect_eq "$(jq -c '[.removals_listed, .removals_applied]' "$T_TMP/out")" "[4,2]" "the other folders' removals applied"
touch "$T_TMP/go"
wait "$lockpid"
T restore --apply-removals -f "$F" -f "$I"; expect_ok "--apply-removals"
expect_out_contains "2 messages the chain lists as removed moved into the trash" "the summary says so"
expect_eq "$(t_sql "$BK_URL" "SELECT COUNT(*) FROM hm_messages")/$(trashed "$BK_DIR")" "6/4" \
	"four rows deleted, their files in the trash"
expect_eq "$(find "$BK_DIR/.mstore/trash" -path '*/#Public/*' -name '*.eml' | wc -l)" 1 "the public one at its #Public/ path"
bk_index "$BK_URL" "$BK_DIR" >"$T_TMP/t.after"
expect_eq "$(comm -23 "$T_TMP/src.idx" "$T_TMP/t.after")" "" "the target holds every message of the source"
expect_eq "$(comm -13 "$T_TMP/src.idx" "$T_TMP/t.after" | cut -f2)" "Old" \
	"and beyond them only the message the chain does not know"
T folder list; expect_ok "folder list"
expect_out_contains "user/ann@ex.test/Old" "the folder deleted from the source stays"
T reconstruct -n; expect_ok "reconstruct -n is clean (no file left without its row)"
T restore --apply-removals -f "$F" -f "$I" --json; expect_ok "the rerun"
expect_eq "$(jq -c '[.restored, .removals_listed, .removals_applied]' "$T_TMP/out")" "[0,0,0]" "a rerun does nothing"

# --- --into: ann's removals, the deleted folder's too, applied to the account restored into ----
bk_target into
mst restore -f "$F" --into carl@ex.test user/ann@ex.test --db "$BK_URL" --data "$BK_DIR"; expect_ok "ann's full archive into carl"
echo "Subject: carl's own" | mst deliver carl@ex.test/Old - --db "$BK_URL" --data "$BK_DIR"; expect_ok "carl's own message in Old"
T restore --apply-removals --into carl@ex.test -f "$F" -f "$I" user/ann@ex.test --json; expect_ok "the chain --into carl"
expect_eq "$(jq -c '[.restored, .removals_listed, .removals_applied]' "$T_TMP/out")" "[1,3,3]" \
	"in4 restored; ann's INBOX removal and Old's two, listed and applied (#Public and bob are not --into's)"
expect_eq "$(cut -f1,2 "$T_TMP/err" | sort | uniq -c | tr -s ' \t\n' ' ')" \
	" 1 removed user/carl@ex.test/INBOX 2 removed user/carl@ex.test/Old " "listed under the account restored into"
expect_eq "$(t_sql "$BK_URL" "SELECT f.foldername, COUNT(*) FROM hm_messages m JOIN hm_imapfolders f ON f.folderid = m.messagefolderid GROUP BY f.foldername ORDER BY 1" | tr '\n\t' ' :')" \
	"INBOX:3 Old:1 " "carl keeps in1, in3, in4 and his own message in Old"
expect_eq "$(find "$BK_DIR/.mstore/trash" -type f -name '*.eml' -path '*/ex.test/carl/*' | wc -l)" 3 \
	"the three files in the trash at carl's path"
T reconstruct -n; expect_ok "reconstruct -n is clean after --into's removals"
T restore --apply-removals --into carl@ex.test -f "$F" -f "$I" user/ann@ex.test --json; expect_ok "the rerun --into"
expect_eq "$(jq -c '[.restored, .removals_listed, .removals_applied]' "$T_TMP/out")" "[0,0,0]" "a rerun --into does nothing"

# --- SIGKILL with the intent written (rows still there) and after the commit -------------
for at in intent commit; do
	over "k$at"
	MSTORE_TEST_HOOK_AT=restore-removal-$at MSTORE_TEST_HOOK_CMD='kill -9 $PPID' \
		mst restore --apply-removals -f "$F" -f "$I" --db "$BK_URL" --data "$BK_DIR"
	expect_rc 137 "killed at restore-removal-$at"
	mst restore --apply-removals -f "$F" -f "$I" --db "$BK_URL" --data "$BK_DIR"; expect_ok "the rerun after $at"
	expect_eq "$(bk_index "$BK_URL" "$BK_DIR" | diff "$T_TMP/t.after" -)" "" "after a kill at $at: as the uninterrupted run"
	expect_eq "$(trashed "$BK_DIR")" 4 "after a kill at $at: four files in the trash, none twice"
	mst reconstruct -n --db "$BK_URL" --data "$BK_DIR"; expect_ok "after a kill at $at: reconstruct -n is clean"
done

t_done
