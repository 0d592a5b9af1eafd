#!/usr/bin/env bash
# kill -9 at random moments during `mstore sync` (including during the
# renames of misplaced files), then rerun: every rerun must converge to the
# state of an uninterrupted run: the same rows (by content), no file
# referenced twice, no file lost, UIDs distinct and below foldercurrentuid.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
ROUNDS=${MSTORE_CRASH_ROUNDS:-$([ "$MSTORE_TEST_BACKEND" = sqlite ] && echo 12 || echo 8)}
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
content_before=$(find "$tmpl/Data" -type f -name '*.eml' -exec sha256sum {} + | cut -d' ' -f1 | sort | sha256sum)

# invariants URL DATA LABEL: things that hold after any completed run
invariants() {
	local url=$1 data=$2 label=$3
	expect_eq "$(t_sql "$url" "SELECT COUNT(*) FROM (SELECT messagefilename FROM hm_messages GROUP BY messagefilename HAVING COUNT(*) > 1) d")" "0" "$label: no file referenced twice"
	expect_eq "$(t_sql "$url" "SELECT COUNT(*) FROM (SELECT messagefolderid, messageuid FROM hm_messages WHERE messagetype = 2 GROUP BY messagefolderid, messageuid HAVING COUNT(*) > 1) d")" "0" "$label: UIDs distinct per folder"
	expect_eq "$(t_sql "$url" "SELECT COUNT(*) FROM hm_messages m JOIN hm_imapfolders f ON f.folderid = m.messagefolderid WHERE m.messageuid > f.foldercurrentuid OR m.messageuid < 1")" "0" "$label: UIDs within 1..foldercurrentuid"
	expect_eq "$(t_sql "$url" "SELECT COUNT(*) FROM hm_messages WHERE messagelocked <> 0")" "0" "$label: no locked queue rows"
	expect_eq "$(find "$data" -type f -name '*.eml' -exec sha256sum {} + | cut -d' ' -f1 | sort | sha256sum)" "$content_before" "$label: every message file still there, unchanged"
}

# setup NAME: a fresh store (printed URL) over a fresh copy of the template
setup() {
	local url
	url=$(t_new_db "$1") || return 1
	rm -rf "$T_TMP/run"; cp -a "$tmpl" "$T_TMP/run"
	mst init "$url" >/dev/null
	while read -r kind name; do mst "$kind" add "$name" --db "$url"; done < "$tmpl/objects.txt"
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
total_kills=0 partial=0
for round in $(seq "$ROUNDS"); do
	URL=$(setup "r$round")
	kills=0
	# kill at 1..3 random moments, then let a last run finish
	for attempt in 1 2 3; do
		MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" sync --db "$URL" --data "$T_TMP/run/Data" \
			--settle 0 --no-progress --batch 50 >/dev/null 2>&1 &
		pid=$!
		sleep "$(awk -v r="$RANDOM" -v t="$took_ms" 'BEGIN { printf "%.3f", (r / 32768) * t / 1000 }')"
		if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
		wait "$pid" 2>/dev/null
		rows=$(t_sql "$URL" "SELECT COUNT(*) FROM hm_messages" 2>/dev/null || echo 0)
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
