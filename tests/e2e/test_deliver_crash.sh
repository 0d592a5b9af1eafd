#!/usr/bin/env bash
# kill -9 `mstore deliver --mbox` at random moments, then rerun the same
# command until one completes: every message of the mbox must be in the
# folder exactly once, no row without its file, no stray file, no journal
# left, and `mstore reconstruct -n` clean.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
KILLS=${MSTORE_CRASH_ROUNDS:-4}
N=200

URL=$(t_new_db dcrash)
DATA=$T_TMP/Data
mkdir -p "$DATA"
S=(--db "$URL" --data "$DATA" --server-tz UTC)
mst init "$URL"; expect_ok "init"
mst domain add example.com "${S[@]}"; expect_ok "domain"
mst account add ann@example.com "${S[@]}"; expect_ok "account"

mb=$T_TMP/in.mbox
for i in $(seq 1 $N); do
	printf 'From s@example.org Mon Jan  1 10:00:00 2024\nFrom: s%d@example.org\nSubject: msg-%d\n\nbody %d\n\n' "$i" "$i" "$i"
done >"$mb"

sqlq() { t_sql "$URL" "$1" | tr -d '\r'; }
rows() { sqlq "SELECT COUNT(*) FROM hm_messages"; }

# Batches of 10, so kills fall between batches as well as inside one.
export MSTORE_DELIVER_BATCH=10
# A reference run (into bob) times the kills.
mst account add bob@example.com "${S[@]}"; expect_ok "account bob"
start=$(date +%s%N)
mst deliver bob@example.com --mbox "$mb" "${S[@]}"; expect_ok "reference run"
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
t_sql "$URL" "DELETE FROM hm_messages" >/dev/null
rm -rf "$DATA/example.com/bob"
landed=0 done_early=0
for k in $(seq 1 "$KILLS"); do
	MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" deliver ann@example.com --mbox "$mb" "${S[@]}" >/dev/null 2>&1 &
	pid=$!
	# a random moment of the run: each rerun first rolls forward and skips what is done,
	# so it is shorter; aim at the first half of a whole run
	sleep "$(awk -v r="$RANDOM" -v t="$took_ms" 'BEGIN { printf "%.3f", (r / 32768) * t / 2000 }')"
	if kill -9 "$pid" 2>/dev/null; then landed=$((landed + 1)); else done_early=1; fi
	wait "$pid" 2>/dev/null
	# killed after it had finished (every row in, its source journal
	# removed) but before it exited: that run was complete
	if [ "$(rows)" = "$N" ] && ! ls "$DATA/.mstore"/deliver-*.deliver >/dev/null 2>&1; then done_early=1; fi
	# between kills the store may hold stray files, never a row without its file
	mst reconstruct -n --settle 0 "${S[@]}"
	grep -q 'missing-file' "$T_TMP/out" && t_fail "kill $k: a row without its file: $(grep missing-file "$T_TMP/out" | head -3)"
	[ "$done_early" = 1 ] && break # it completed: a rerun would deliver everything again (by design)
done
t_ok
[ "$landed" -ge 1 ] || t_fail "no kill landed while deliver ran (a run takes $took_ms ms)"
[ "$done_early" = 1 ] || { mst deliver ann@example.com --mbox "$mb" "${S[@]}"; expect_ok "the rerun completes"; }
expect_eq "$(rows)" "$N" "every message once"
expect_eq "$(sqlq "SELECT COUNT(DISTINCT messagefrom) FROM hm_messages")" "$N" "no message twice"
expect_eq "$(sqlq "SELECT COUNT(DISTINCT messageuid) FROM hm_messages")" "$N" "distinct UIDs"
expect_eq "$(find "$DATA/example.com" -name '*.eml' | wc -l)" "$N" "one file per row"
expect_eq "$(find "$DATA" -name '*.mstore-tmp' | wc -l)" "0" "no temporary file left"
ls "$DATA/.mstore"/deliver-*.deliver >/dev/null 2>&1 && t_fail "no journal left after the complete run"
mst reconstruct -n --settle 0 "${S[@]}"; expect_ok "reconstruct -n clean"
echo "kills landed: $landed of $KILLS; a whole run takes $took_ms ms"
t_done
