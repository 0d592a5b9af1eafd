#!/usr/bin/env bash
# A live server: a writer keeps delivering messages the way hMailServer
# does (the file first, then, up to a second later, its row with the
# folder's next UID) while `mstore sync` runs again and again, two at a
# time.  No file may ever be referenced by two rows, and once the writer
# stops and the files settle, one more sync leaves every file referenced
# exactly once.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
MESSAGES=${MSTORE_LIVE_MESSAGES:-120}
# The writer's row follows its file by up to 0.8 s, plus the time its
# transaction waits for the folder row that a sync holds while it inserts a
# batch: on a loaded two-core machine running two ASan tests at once that
# wait once took the row past a 2 s --settle, so sync imported the file and
# then the writer's row arrived (a file referenced twice).  --settle is the
# promise "a server's row follows its file within SECONDS" (default 300);
# 15 s keeps the promise true on a CI machine under load (5 s did not,
# once, in CI) and costs the test only its final wait.
SETTLE=15

URL=$(t_new_db live) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/Data
mkdir -p "$D"
mst init "$URL"; expect_ok "init"
mst domain add live.test --db "$URL"; mst account add u@live.test --db "$URL"; expect_ok "account"
aid=$(t_sql "$URL" "SELECT accountid FROM hm_accounts")
fid=$(t_sql "$URL" "SELECT folderid FROM hm_imapfolders")

# deliver I: write the file, wait a little, then add its row like the server
deliver() {
	local i=$1 guid name dir
	guid=$(printf '%08X-0000-4000-8000-%012X' "$i" "$((RANDOM * 7 + i))")
	name="{$guid}.eml"
	dir=$D/live.test/u/${guid:0:2}
	mkdir -p "$dir"
	printf 'From: w@live.test\r\nTo: u@live.test\r\nSubject: %s\r\n\r\nbody %s\r\n' "$i" "$i" > "$dir/$name"
	sleep "0.$((RANDOM % 9))"
	case "$MSTORE_TEST_BACKEND" in
	sqlite) sqlite3 -cmd ".timeout 30000" "${URL#sqlite:}" \
		"BEGIN IMMEDIATE; UPDATE hm_imapfolders SET foldercurrentuid = foldercurrentuid + 1 WHERE folderid = $fid;
		 INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid)
		 SELECT $aid, $fid, '$name', 2, 'w@live.test', 60, 0, '1901-01-01 00:00:00', 0, '2026-01-01 00:00:00', 0, foldercurrentuid FROM hm_imapfolders WHERE folderid = $fid; COMMIT;" ;;
	*) t_sql "$URL" "BEGIN; UPDATE hm_imapfolders SET foldercurrentuid = foldercurrentuid + 1 WHERE folderid = $fid;
		 INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid)
		 SELECT $aid, $fid, '$name', 2, 'w@live.test', 60, 0, '1901-01-01 00:00:00', 0, '2026-01-01 00:00:00', 0, foldercurrentuid FROM hm_imapfolders WHERE folderid = $fid; COMMIT;" ;;
	esac
}

writer() {
	for i in $(seq "$MESSAGES"); do deliver "$i" >/dev/null 2>&1 || echo "writer failed at $i" >&2; done
}

# Files the writer loses (never gets a row for) are what sync must import:
# a few "lost" files, as after a crash of the server between file and row.
mkdir -p "$D/live.test/u/AA"
for i in 1 2 3; do
	printf 'From: lost@live.test\r\nSubject: lost %s\r\n\r\nx\r\n' "$i" > "$D/live.test/u/AA/{AA00000$i-0000-4000-8000-000000000000}.eml"
done

writer &
wpid=$!
runs=0
while kill -0 "$wpid" 2>/dev/null; do
	# two syncs at once, as two administrators (or two shards) might
	pids=()
	for _ in 1 2; do
		MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" sync --db "$URL" --data "$D" --settle "$SETTLE" \
			--no-progress >>"$T_TMP/sync.log" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	runs=$((runs + 2))
	dups=$(t_sql "$URL" "SELECT COUNT(*) FROM (SELECT messagefilename FROM hm_messages GROUP BY messagefilename HAVING COUNT(*) > 1) d")
	if [ "$dups" != 0 ]; then
		t_fail "a file is referenced twice during the run (after $runs syncs)"
		# the writer's rows have createtime 2026-01-01; mstore's the file's mtime
		t_sql "$URL" "SELECT messageid, messagefilename, messageuid, messagecreatetime FROM hm_messages WHERE messagefilename IN (SELECT messagefilename FROM hm_messages GROUP BY messagefilename HAVING COUNT(*) > 1)" >&2
		break
	fi
done
wait "$wpid"
t_ok
[ "$runs" -ge 4 ] || t_fail "only $runs syncs ran while the writer worked"
sleep $((SETTLE + 1))
mst sync --db "$URL" --data "$D" --settle "$SETTLE" --json "$T_TMP/final.json"; expect_ok "final sync"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM (SELECT messagefilename FROM hm_messages GROUP BY messagefilename HAVING COUNT(*) > 1) d")" "0" "no file referenced twice"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_messages")" "$((MESSAGES + 3))" "every file referenced exactly once"
expect_eq "$(t_sql "$URL" "SELECT COUNT(DISTINCT messageuid) FROM hm_messages")" "$((MESSAGES + 3))" "UIDs distinct"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_messages WHERE messagefrom = 'lost@live.test'")" "3" "the lost files were imported"
grep -q "Failed\|mstore:" "$T_TMP/sync.log" && { t_fail "a sync reported an error: $(grep -m1 "Failed\|mstore:" "$T_TMP/sync.log")"; }
t_ok
t_done
