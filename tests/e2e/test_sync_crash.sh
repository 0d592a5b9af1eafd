#!/usr/bin/env bash
# kill -9 at random moments during `mstore sync` (including during the
# renames of misplaced files), then rerun: every rerun must converge to the
# state of an uninterrupted run: the same rows (by content), no file
# referenced twice, no file lost, UIDs distinct and below foldercurrentuid.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
ROUNDS=${MSTORE_CRASH_ROUNDS:-$([ "$MSTORE_TEST_BACKEND" = sqlite ] && echo 8 || echo 5)}
GEN=${MSTORE_GEN:?MSTORE_GEN not set}

# The template data directory: generated, plus misplaced files (renamed on
# import) and queue files.
tmpl=$T_TMP/tmpl
"$GEN" --seed 11 --messages 1500 --domains 2 --accounts 8 --queue-percent 3 "$tmpl" || t_fail "generator"
n=0
while IFS= read -r f; do
	n=$((n + 1))
	[ $((n % 9)) = 0 ] || continue
	acct=$(dirname "$(dirname "$f")")
	mv "$f" "$acct/misplaced-$n.eml"
done < <(find "$tmpl/Data" -mindepth 4 -name '*.eml' | sort)
find "$tmpl/Data" -type f -exec touch -d '2022-01-01 00:00:00' {} +
content_before=$(t_content_hash "$tmpl/Data")

# invariants URL DATA LABEL: things that hold after any completed run
invariants() {
	local url=$1 data=$2 label=$3
	expect_eq "$(t_sql "$url" "SELECT COUNT(*) FROM (SELECT messagefilename FROM hm_messages GROUP BY messagefilename HAVING COUNT(*) > 1) d")" "0" "$label: no file referenced twice"
	expect_eq "$(t_sql "$url" "SELECT COUNT(*) FROM (SELECT messagefolderid, messageuid FROM hm_messages WHERE messagetype = 2 GROUP BY messagefolderid, messageuid HAVING COUNT(*) > 1) d")" "0" "$label: UIDs distinct per folder"
	expect_eq "$(t_sql "$url" "SELECT COUNT(*) FROM hm_messages m JOIN hm_imapfolders f ON f.folderid = m.messagefolderid WHERE m.messageuid > f.foldercurrentuid OR m.messageuid < 1")" "0" "$label: UIDs within 1..foldercurrentuid"
	expect_eq "$(t_sql "$url" "SELECT COUNT(*) FROM hm_messages WHERE messagelocked <> 0")" "0" "$label: no locked queue rows"
	expect_eq "$(t_content_hash "$data")" "$content_before" "$label: every message file still there, unchanged"
}

# setup NAME: a fresh store (printed URL) over a fresh copy of the template
setup() {
	local url
	url=$(t_new_db "$1") || return 1
	rm -rf "$T_TMP/run"; cp -a "$tmpl" "$T_TMP/run"
	mst init "$url" >/dev/null
	t_add_objects "$url" "$tmpl/objects.txt"
	echo "$url"
}

URL=$(setup ref)
start=$(date +%s%N)
mst sync --db "$URL" --data "$T_TMP/run/Data" --settle 0 --no-progress; expect_ok "uninterrupted run"
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
reference=$(t_content_state "$URL" "$T_TMP/run/Data")
invariants "$URL" "$T_TMP/run/Data" "reference"
[ "$(echo "$reference" | grep -c .)" -gt 1000 ] || t_fail "reference run imported too little"
t_drop_db "${URL##*/}"

ref_rows=$(echo "$reference" | grep -vc '^rcpt|')
count_rows() { t_sql "$1" "SELECT COUNT(*) FROM hm_messages" 2>/dev/null || echo 0; }

# kill_at_random_moment PID URL: SIGKILL the sync at a random point of its
# work; 0 if the kill landed (the process was still running).  The moment
# is chosen by progress, not by the clock alone: a clock calibrated on the
# reference run misses when the machine's load changes between runs.  One
# kill in four lands early, during the walk, the parse or the first
# batch; the others once the import has passed a random row count, plus a
# few milliseconds, so that they fall inside a batch (renames, inserts)
# as often as between two.
kill_at_random_moment() {
	local pid=$1 url=$2 now target
	if [ $((RANDOM % 4)) = 0 ]; then
		sleep "$(awk -v r="$RANDOM" -v t="$took_ms" 'BEGIN { printf "%.3f", (r / 32768) * t / 3000 }')"
	else
		now=$(count_rows "$url")
		target=$(( now + RANDOM % (ref_rows > now ? ref_rows - now : 1) ))
		while kill -0 "$pid" 2>/dev/null && [ "$(count_rows "$url")" -lt "$target" ]; do sleep 0.01; done
		sleep "$(printf '0.%03d' $((RANDOM % 40)))"
	fi
	kill -9 "$pid" 2>/dev/null
}
total_kills=0 partial=0
for round in $(seq "$ROUNDS"); do
	URL=$(setup "r$round")
	kills=0
	# kill at 1..3 random moments, then let a last run finish
	for attempt in 1 2 3; do
		MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" sync --db "$URL" --data "$T_TMP/run/Data" \
			--settle 0 --no-progress --batch 50 >/dev/null 2>&1 &
		pid=$!
		if kill_at_random_moment "$pid" "$URL"; then kills=$((kills + 1)); fi
		wait "$pid" 2>/dev/null
		rows=$(count_rows "$URL")
		[ "$rows" -gt 0 ] && [ "$rows" -lt "$ref_rows" ] && partial=$((partial + 1))
		[ $((RANDOM % 2)) = 0 ] && break
	done
	total_kills=$((total_kills + kills))
	mst sync --db "$URL" --data "$T_TMP/run/Data" --settle 0 --no-progress; expect_ok "round $round: rerun after $kills kill(s)"
	invariants "$URL" "$T_TMP/run/Data" "round $round"
	got=$(t_content_state "$URL" "$T_TMP/run/Data")
	expect_eq "$(echo "$got" | sha256sum)" "$(echo "$reference" | sha256sum)" "round $round: same store as the uninterrupted run"
	[ "$got" = "$reference" ] || diff <(echo "$reference") <(echo "$got") | head -5 >&2
	t_drop_db "${URL##*/}"
done
# the test must really have interrupted runs half-way
[ "$total_kills" -ge "$ROUNDS" ] || t_fail "only $total_kills kills landed in $ROUNDS rounds"
[ "$partial" -ge 2 ] || t_fail "only $partial kills left a half-done import behind"
t_ok
echo "$total_kills kills, $partial left a half-done import"
t_done
