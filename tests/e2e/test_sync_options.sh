#!/usr/bin/env bash
# sync options not covered elsewhere: --shard covers the store exactly
# once, -vv prints "Skipped", --reload-command, --create-index, the
# progress line on a terminal, and a database connection killed mid-run.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
GEN=${MSTORE_GEN:?MSTORE_GEN not set}

"$GEN" --seed 5 --messages 600 --domains 2 --accounts 9 --queue-percent 4 "$T_TMP/g" >/dev/null || t_fail "generator"
store() { # store NAME: a fresh store over a fresh copy of the generated data directory
	local url
	url=$(t_new_db "$1") || return 1
	rm -rf "$T_TMP/$1"; cp -a "$T_TMP/g" "$T_TMP/$1"
	mst init "$url"
	t_add_objects "$url" "$T_TMP/g/objects.txt"
	echo "$url"
}
rows() { t_sql "$1" "SELECT messagefilename FROM hm_messages ORDER BY messagefilename"; }

# --- shards: 1/3, 2/3, 3/3 together import exactly what one run imports ----
ONE=$(store one)
mst sync --db "$ONE" --data "$T_TMP/one/Data" --no-progress; expect_ok "unsharded run"
SH=$(store sharded)
for k in 1 2 3; do
	mst sync --db "$SH" --data "$T_TMP/sharded/Data" --shard "$k/3" --no-progress --json "$T_TMP/s$k.json"
	expect_ok "shard $k/3"
done
expect_eq "$(rows "$SH" | sha256sum)" "$(rows "$ONE" | sha256sum)" "the three shards import exactly what one run imports"
for k in 1 2 3; do
	n=$(jq -r '.summary.imported + .summary.queued' "$T_TMP/s$k.json")
	[ "$n" -gt 0 ] || t_fail "shard $k/3 imported nothing: the hash does not spread"
done
t_ok
expect_eq "$(t_sql "$SH" "SELECT COUNT(*) FROM (SELECT messagefilename FROM hm_messages GROUP BY messagefilename HAVING COUNT(*) > 1) d")" "0" "no file in two shards"

# --- -vv prints every file, "Skipped" included --------------------------------
mst sync --db "$ONE" --data "$T_TMP/one/Data" -vv --no-progress; expect_ok "-vv"
expect_eq "$(grep -c '^Skipped ' "$T_TMP/out")" "$(rows "$ONE" | grep -c .)" "one Skipped line per referenced file"

# --- --reload-command runs only when something was imported ---------------------
mst sync --db "$ONE" --data "$T_TMP/one/Data" --reload-command "touch $T_TMP/reloaded"; expect_ok "no-op run"
[ ! -e "$T_TMP/reloaded" ] || t_fail "reload command ran although nothing was imported"
f=$(find "$T_TMP/one/Data" -mindepth 4 -name '*.eml' | sort | sed -n 1p)
cp -p "$f" "$(dirname "$f")/{FEFEFEFE-0000-4000-8000-000000000001}.eml"
mst sync --db "$ONE" --data "$T_TMP/one/Data" --reload-command "touch $T_TMP/reloaded"; expect_ok "importing run"
[ -e "$T_TMP/reloaded" ] || t_fail "reload command did not run after an import"
cp -p "$f" "$(dirname "$f")/{FEFEFEFE-0000-4000-8000-000000000002}.eml"
mst sync --db "$ONE" --data "$T_TMP/one/Data" --reload-command "exit 3"; expect_rc 1 "failing reload command"
expect_err_contains "reload command failed" "failing reload command reported"
t_ok

# --- --create-index ----------------------------------------------------------------
mst sync --db "$ONE" --data "$T_TMP/one/Data" --create-index -n; expect_ok "--create-index --dry-run"
expect_out_contains "would create index" "dry run only announces the index"
mst sync --db "$ONE" --data "$T_TMP/one/Data" --create-index; expect_ok "--create-index"
case "$MSTORE_TEST_BACKEND" in
sqlite) idx="SELECT COUNT(*) FROM sqlite_master WHERE type='index' AND name='idx_custom_hm_messages_messagefilename'" ;;
pgsql) idx="SELECT COUNT(*) FROM pg_indexes WHERE indexname='idx_custom_hm_messages_messagefilename'" ;;
mysql) idx="SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema=DATABASE() AND index_name='idx_custom_hm_messages_messagefilename'" ;;
esac
expect_eq "$(t_sql "$ONE" "$idx")" "1" "the documented custom index exists"
mst sync --db "$ONE" --data "$T_TMP/one/Data" --create-index; expect_ok "--create-index again is harmless"

# --- --check-missing: rows whose file is gone, in the run's scope, changing nothing ---
CM=$(store checkmissing)
mst sync --db "$CM" --data "$T_TMP/checkmissing/Data" --no-progress; expect_ok "sync before --check-missing"
read -r gone_acct owner < <(t_sql "$CM" "SELECT m.messagefilename, a.accountaddress FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid ORDER BY m.messageid" | head -1)
gone_queue=$(t_sql "$CM" "SELECT messagefilename FROM hm_messages WHERE messagetype = 1 ORDER BY messageid" | head -1)
other=$(awk -v o="$owner" '$1 == "account" && $2 != o { print $2; exit }' "$T_TMP/g/objects.txt")
[ -n "$gone_acct" ] && [ -n "$gone_queue" ] && [ -n "$other" ] || t_fail "no rows to take the files of"
find "$T_TMP/checkmissing/Data" \( -name "$gone_acct" -o -name "$gone_queue" \) -delete
before=$(rows "$CM" | sha256sum)
mst sync --db "$CM" --data "$T_TMP/checkmissing/Data" --no-progress; expect_ok "a plain sync does not look for missing files"
mst sync --db "$CM" --data "$T_TMP/checkmissing/Data" --no-progress --check-missing
expect_rc 1 "--check-missing: two rows lack their file"
expect_eq "$(grep -c ': missing-file: ' "$T_TMP/out")" "2" "--check-missing: one line per row"
expect_out_contains "$gone_acct" "--check-missing names the account's file"
expect_out_contains "$gone_queue" "--check-missing names the queue file"
expect_eq "$(rows "$CM" | sha256sum)" "$before" "--check-missing changes nothing"
mst sync --db "$CM" --data "$T_TMP/checkmissing/Data" --no-progress --check-missing --queue-only
expect_rc 1 "--check-missing --queue-only"
expect_eq "$(grep ': missing-file: ' "$T_TMP/out" | grep -c "$gone_queue")" "1" "--queue-only: the queue's row"
expect_eq "$(grep -c ': missing-file: ' "$T_TMP/out")" "1" "--queue-only: only the queue's row"
mst sync --db "$CM" --data "$T_TMP/checkmissing/Data" --no-progress --check-missing --account "$owner" -n
expect_rc 1 "--check-missing --account OWNER -n"
expect_eq "$(grep ': missing-file: ' "$T_TMP/out" | grep -c "$gone_acct")" "1" "--account: that account's row"
mst sync --db "$CM" --data "$T_TMP/checkmissing/Data" --no-progress --check-missing --account "$other"
expect_ok "--check-missing --account OTHER: nothing missing there"
expect_out_contains "check-missing: no findings" "--account OTHER: says so"

# --- the progress line appears on a terminal, and only there ------------------------
PR=$(store progress)
script -qec "env MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} $MSTORE_BIN sync --db $PR --data $T_TMP/progress/Data" \
	/dev/null > "$T_TMP/tty.out" 2>&1
grep -q "files/s" "$T_TMP/tty.out" || t_fail "no progress line on a terminal"
mst sync --db "$PR" --data "$T_TMP/progress/Data"; expect_ok "no terminal"
grep -q "files/s" "$T_TMP/err" && t_fail "a progress line was written although stderr is not a terminal"
t_ok

# --- SQLite locked by another process: clear failure, then a clean rerun ------------
if [ "$MSTORE_TEST_BACKEND" = sqlite ]; then
	LK=$(store locked)
	f=${LK#sqlite:}
	# held until the sync has finished (a fixed 6 s was not enough for a
	# sync under ThreadSanitizer, which then found the lock gone and wrote)
	{ echo "BEGIN EXCLUSIVE;"; echo "UPDATE hm_dbversion SET value = value;"
	  while [ ! -e "$T_TMP/unlock" ]; do sleep 0.1; done; echo "COMMIT;"; } | sqlite3 "$f" &
	locker=$!
	for _ in $(seq 100); do # until the lock is taken
		sqlite3 -cmd ".timeout 0" "$f" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1 || break
		sleep 0.1
	done
	MSTORE_SQLITE_BUSY_MS=300 mst sync --db "$LK" --data "$T_TMP/locked/Data" --no-progress
	touch "$T_TMP/unlock"
	wait "$locker"
	[ "$T_RC" = 1 ] || [ "$T_RC" = 4 ] || t_fail "a sync against a locked database exited $T_RC, wanted 1 or 4"
	expect_err_contains "locked" "the failure says the database is locked"
	expect_eq "$(t_sql "$LK" "SELECT COUNT(*) FROM hm_messages")" "0" "nothing half-written while locked"
	mst sync --db "$LK" --data "$T_TMP/locked/Data" --no-progress; expect_ok "rerun once the lock is gone"
	expect_eq "$(rows "$LK" | sha256sum)" "$(rows "$ONE" | grep -v FEFEFEFE | sha256sum)" "the rerun completes the job"
fi

# --- the database connection dies mid-run: clear failure, then a clean rerun --------
if [ "$MSTORE_TEST_BACKEND" != sqlite ]; then
	KD=$(store killed)
	name=${KD##*/}
	MSTORE_DB_PASSWORD=$MSTORE_TEST_DB_PASSWORD "$MSTORE_BIN" sync --db "$KD" --data "$T_TMP/killed/Data" \
		--batch 5 --threads 1 --no-progress >"$T_TMP/k.out" 2>"$T_TMP/k.err" &
	pid=$!
	for _ in $(seq 50); do # wait until it has written something, then cut its connection
		[ "$(t_sql "$KD" "SELECT COUNT(*) FROM hm_messages")" -gt 0 ] && break
		sleep 0.1
	done
	case "$MSTORE_TEST_BACKEND" in
	pgsql) t_psql -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$name' AND pid <> pg_backend_pid()" >/dev/null ;;
	mysql) for id in $(t_mysql -e "SELECT id FROM information_schema.processlist WHERE db = '$name' AND id <> CONNECTION_ID()"); do
			t_mysql -e "KILL $id" 2>/dev/null
		done ;;
	esac
	wait "$pid"
	T_RC=$?
	cp "$T_TMP/k.err" "$T_TMP/err"
	partial=$(t_sql "$KD" "SELECT COUNT(*) FROM hm_messages")
	if [ "$T_RC" = 0 ]; then
		echo "note: the run finished before its connection was cut ($partial rows)" >&2
	else
		expect_rc 1 "a run whose connection died exits 1"
		expect_err_contains "connection was lost" "it stops at the lost connection and says so (issue 12)"
		grep -q "127.0.0.1" "$T_TMP/k.out" "$T_TMP/k.err" || t_fail "the failure does not name the server"
	fi
	mst sync --db "$KD" --data "$T_TMP/killed/Data" --no-progress; expect_ok "rerun after the connection died"
	expect_eq "$(rows "$KD" | sha256sum)" "$(rows "$ONE" | grep -v FEFEFEFE | sha256sum)" "the rerun completes the job"
	expect_eq "$(t_sql "$KD" "SELECT COUNT(*) FROM (SELECT messagefilename FROM hm_messages GROUP BY messagefilename HAVING COUNT(*) > 1) d")" "0" "no duplicates"
fi
t_done
