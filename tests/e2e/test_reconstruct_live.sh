#!/usr/bin/env bash
# reconstruct -n on a live store: while `mstore sync` imports a generated
# data directory (renaming misplaced files into place as it goes), -n runs
# again and again.  It may report the files sync has not reached yet
# (unreferenced-file, which is true at that moment) and nothing else: no
# missing file, no wrong size, no UID or folder finding, never an error;
# and it writes nothing.  Once sync is done, -n finds nothing at all.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
GEN=${MSTORE_GEN:?MSTORE_GEN not set}
MESSAGES=${MSTORE_LIVE_MESSAGES:-1200}

URL=$(t_new_db rclive) || { t_fail "cannot create a test database"; t_done; }
"$GEN" --seed 5 --messages "$MESSAGES" --domains 2 --accounts 6 --queue-percent 0 "$T_TMP/gen" >/dev/null || t_fail "generator"
D=$T_TMP/gen/Data
n=0
while IFS= read -r f; do # some misplaced files: sync renames them while -n looks
	n=$((n + 1))
	[ $((n % 10)) = 0 ] && mv "$f" "$(dirname "$(dirname "$f")")/misplaced-$n.eml"
done < <(find "$D" -mindepth 4 -name '*.eml' | sort)
find "$D" -type f -exec touch -d '2022-01-01 00:00:00' {} +
mst init "$URL"; expect_ok "init"
t_add_objects "$URL" "$T_TMP/gen/objects.txt"

MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" sync --db "$URL" --data "$D" --settle 0 --batch 20 \
	--no-progress >"$T_TMP/sync.out" 2>&1 &
sync_pid=$!
runs=0 others=0 errors=0
while kill -0 "$sync_pid" 2>/dev/null || [ "$runs" -lt 2 ]; do
	MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" reconstruct -n --no-progress --db "$URL" --data "$D" \
		>"$T_TMP/rc.out" 2>"$T_TMP/rc.err"
	rc=$?
	runs=$((runs + 1))
	if [ "$rc" -gt 1 ]; then errors=$((errors + 1)); echo "reconstruct -n failed (rc $rc): $(cat "$T_TMP/rc.err")" >&2; fi
	bad=$(grep -v -e ': unreferenced-file: ' -e '^reconstruct: ' "$T_TMP/rc.out")
	if [ -n "$bad" ]; then others=$((others + 1)); echo "false finding during the import: $bad" >&2; fi
done
wait "$sync_pid"; sync_rc=$?
expect_eq "$sync_rc" 0 "sync ran to the end: $(tail -3 "$T_TMP/sync.out")"
[ "$runs" -ge 2 ] || t_fail "reconstruct ran only $runs times"
expect_eq "$errors" 0 "reconstruct -n never failed during the import ($runs runs)"
expect_eq "$others" 0 "reconstruct -n reported nothing but unreferenced files during the import ($runs runs)"
expect_eq "$(find "$D/.mstore" "$XDG_STATE_HOME" -name 'removed-*' 2>/dev/null | wc -l)" 0 "reconstruct -n wrote no recovery list (data directory or state directory)"
echo "reconstruct -n ran $runs times during the import" >&2

mst reconstruct -n --no-progress --db "$URL" --data "$D"
expect_ok "after the import: -n"
expect_out_contains "reconstruct: no findings" "after the import: no findings"
t_done
