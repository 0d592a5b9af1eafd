#!/usr/bin/env bash
# kill -9 during `mstore expire`: at each step of store/trash.h's protocol
# (intent synced, rows deleted but not committed, committed but files not
# yet moved) and at random moments, then a rerun.  After every rerun: no
# message file lost or changed (every file is at its place or in the
# trash), every row has its file (reconstruct -n clean), nothing in the
# store and nothing left in the trash twice, no intent left behind.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
GEN=${MSTORE_GEN:?MSTORE_GEN not set}

tmpl=$T_TMP/tmpl
"$GEN" --seed 21 --messages 200 --domains 1 --accounts 3 --queue-percent 0 "$tmpl" >/dev/null || t_fail "generator"
URL=$(t_new_db xcrash) || { t_fail "cannot create a database"; t_done; }
DATA=$tmpl/Data
q() { t_sql "$URL" "$1"; }
M() { mst "$@" --db "$URL" --data "$DATA" --server-tz UTC; }
mst init "$URL"
t_add_objects "$URL" "$tmpl/objects.txt"
M sync --settle 0 --no-progress; expect_ok "sync"
# eight slices of messages, one day apart: round r expires slice r
for k in 0 1 2 3 4 5 6 7; do q "UPDATE hm_messages SET messagecreatetime = '2020-01-0$((k + 1)) 00:00:00' WHERE messageid % 8 = $k"; done
rows0=$(q "SELECT COUNT(*) FROM hm_messages")
content0=$(t_content_hash "$DATA")
[ "$rows0" -ge 190 ] || t_fail "sync imported $rows0 rows"
printf '%s\n' "all.folderpattern: ^user/" "all.messagedays: 0" > "$T_TMP/rules"

invariants() {
	local label=$1 rows trashed
	M reconstruct -n; expect_ok "$label: reconstruct -n clean"
	[ "$T_RC" = 0 ] || t_out | head -5 >&2
	expect_eq "$(t_content_hash "$DATA")" "$content0" "$label: every message file kept, unchanged (store + trash)"
	rows=$(q "SELECT COUNT(*) FROM hm_messages")
	trashed=$(find "$DATA/.mstore/trash" -type f -name '*.eml' 2>/dev/null | wc -l)
	expect_eq "$((rows + trashed))" "$rows0" "$label: each message in the store or in the trash, once"
	expect_eq "$(find "$DATA/.mstore" -maxdepth 1 -name '*.intent' | wc -l)" "0" "$label: no intent left"
}

# now_for ROUND: the epoch that makes slices 0..ROUND-1 old (messagedays 0)
now_for() { date -u -d "2020-01-0$(($1 + 1)) 00:00:01" +%s; }

round=1
for hook in expire-intent expire-delete expire-commit; do
	before=$(q "SELECT COUNT(*) FROM hm_messages")
	MSTORE_TEST_HOOK_AT=$hook MSTORE_TEST_HOOK_CMD='kill -9 $PPID' \
		M expire --rules "$T_TMP/rules" --now "$(now_for $round)" --batch 7
	expect_rc 137 "killed at $hook"
	after=$(q "SELECT COUNT(*) FROM hm_messages")
	case $hook in
	expire-intent | expire-delete) expect_eq "$after" "$before" "$hook: the kill came before the commit: no row gone" ;;
	expire-commit) [ "$after" -lt "$before" ] && t_ok || t_fail "$hook: the first batch committed" ;;
	esac
	M expire --rules "$T_TMP/rules" --now "$(now_for $round)"; expect_ok "rerun after the kill at $hook"
	invariants "after $hook"
	round=$((round + 1))
done

# random moments: the run of one slice in batches of 3 lasts long enough
# to be hit somewhere inside on every backend
for r in 4 5 6; do
	M() { :; }
	MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" expire --rules "$T_TMP/rules" --now "$(now_for $r)" \
		--batch 3 --db "$URL" --data "$DATA" --server-tz UTC >/dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	M() { mst "$@" --db "$URL" --data "$DATA" --server-tz UTC; }
	M expire --rules "$T_TMP/rules" --now "$(now_for $r)"; expect_ok "rerun after a random kill (round $r)"
	invariants "random kill $r"
done
left=$(q "SELECT COUNT(*) FROM hm_messages WHERE messagecreatetime < '2020-01-07 00:00:00'")
expect_eq "$left" "0" "six slices expired in the end"

t_done
