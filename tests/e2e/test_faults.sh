#!/usr/bin/env bash
# Faults of the machine around a store (quality.md, "Bad input"): a full
# file system under the data directory or under a SQLite database, and a
# database that may only be read (a SQLite file on read-only media; on the
# servers, a user with SELECT and nothing else).  For each: a precise
# message, no message file lost or changed, nothing half-written, a
# non-zero exit code, and a rerun once the fault is gone that ends in the
# state of a run that never met it.  Dry runs and checks still work on a
# read-only database.
#
# The file system faults need a small file system of their own: a tmpfs,
# mounted here (root).  Where mounting is not allowed they are skipped,
# loudly; the read-only user part on the servers needs no mount.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
GEN=${MSTORE_GEN:?MSTORE_GEN not set}

# The template: a generated data directory with some account files out of
# their canonical place (sync renames those, which writes the journal).
tmpl=$T_TMP/tmpl
"$GEN" --seed 21 --messages 150 --domains 1 --accounts 3 --queue-percent 5 "$tmpl" >/dev/null || t_fail "generator"
n=0
while IFS= read -r f; do
	n=$((n + 1))
	[ $((n % 10)) = 0 ] || continue
	mv "$f" "$(dirname "$(dirname "$f")")/misplaced-$n.eml"
done < <(find "$tmpl/Data" -mindepth 4 -name '*.eml' | sort)
MISPLACED=$(find "$tmpl/Data" -name 'misplaced-*.eml' | wc -l)
[ "$MISPLACED" -gt 0 ] || t_fail "the template has no misplaced files"
CONTENT=$(t_content_hash "$tmpl/Data")

# new_store NAME [URL]: a store (a fresh database unless URL is given) with
# the template's domains and accounts
new_store() {
	local url=${2:-}
	[ -n "$url" ] || url=$(t_new_db "$1") || return 1
	mst init "$url" || return 1
	t_add_objects "$url" "$tmpl/objects.txt"
	echo "$url"
}
rows() { t_sql "$1" "SELECT COUNT(*) FROM hm_messages"; }
sync_() { mst sync --no-progress -v "$@"; }

# The reference: one run that meets no fault.
REF=$(new_store ref)
cp -a "$tmpl" "$T_TMP/ref"
sync_ --db "$REF" --data "$T_TMP/ref/Data"; expect_ok "the reference run"
REFERENCE=$(t_content_state "$REF" "$T_TMP/ref/Data")
REF_ROWS=$(rows "$REF")

# --- small file systems ------------------------------------------------------------
MOUNTS=()
mount_small() { # mount_small DIR SIZE
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" 2>/dev/null || return 1
	MOUNTS+=("$1")
}
unmount_all() {
	local m
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	MOUNTS=()
}
trap 'unmount_all; t_cleanup' EXIT
fill() { dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null || true; }
CAN_MOUNT=0
if mount_small "$T_TMP/probe" 64k; then CAN_MOUNT=1; else
	echo "SKIPPED: the full-disk and read-only-media parts: cannot mount a tmpfs here (not root?)" >&2
fi

# --- the data directory's file system is full -----------------------------------------
# Files already in their place are imported (that writes nothing there); a
# misplaced file cannot be renamed because the rename journal cannot be
# written: it fails with the cause and stays where it is.
if [ "$CAN_MOUNT" = 1 ]; then
	URL=$(new_store datafull)
	mount_small "$T_TMP/datafull" 16m || t_fail "mount"
	cp -a "$tmpl/Data" "$T_TMP/datafull/"
	fill "$T_TMP/datafull"
	sync_ --db "$URL" --data "$T_TMP/datafull/Data"
	expect_rc 1 "a full data directory: some files failed"
	expect_eq "$(grep -c "^Failed .*No space left on device" "$T_TMP/err")" "$MISPLACED" \
		"each misplaced file fails with the cause"
	grep '^Failed ' "$T_TMP/err" | grep -qv 'rename journal' && t_fail "a failure that does not name the journal"
	t_ok
	expect_eq "$(find "$T_TMP/datafull/Data" -name 'misplaced-*.eml' | wc -l)" "$MISPLACED" "the misplaced files are still in place"
	expect_eq "$(t_content_hash "$T_TMP/datafull/Data")" "$CONTENT" "no message file lost or changed"
	expect_eq "$(rows "$URL")" "$((REF_ROWS - MISPLACED))" "every file in its place was imported"
	rm "$T_TMP/datafull/filler"
	sync_ --db "$URL" --data "$T_TMP/datafull/Data"; expect_ok "the rerun once there is space"
	expect_eq "$(grep -c '^Moved' "$T_TMP/out")" "$MISPLACED" "the rerun moves and imports the misplaced files"
	expect_eq "$(t_content_state "$URL" "$T_TMP/datafull/Data")" "$REFERENCE" "the rerun ends in the reference state"
fi

# --- a SQLite database on a full file system ----------------------------------------------
if [ "$MSTORE_TEST_BACKEND" = sqlite ] && [ "$CAN_MOUNT" = 1 ]; then
	# Full before the run: the store cannot even be opened for writing.
	mount_small "$T_TMP/dbfull" 2m || t_fail "mount"
	URL=$(new_store dbfull "sqlite:$T_TMP/dbfull/s.db")
	cp -a "$tmpl" "$T_TMP/dbfull-data"
	fill "$T_TMP/dbfull"
	sync_ --db "$URL" --data "$T_TMP/dbfull-data/Data"
	expect_fail "sync with its database on a full disk"
	expect_err_contains "No space left on device" "the failure gives the cause"
	expect_eq "$(t_content_hash "$T_TMP/dbfull-data/Data")" "$CONTENT" "no message file changed"
	rm "$T_TMP/dbfull/filler"
	expect_eq "$(rows "$URL")" "0" "nothing written"

	# Full in the middle of the run: some batches commit, the rest fail.
	free_kb=$(df -k --output=avail "$T_TMP/dbfull" | tail -1)
	dd if=/dev/zero of="$T_TMP/dbfull/filler" bs=1k count=$((free_kb - 160)) 2>/dev/null
	sync_ --db "$URL" --data "$T_TMP/dbfull-data/Data" --batch 10 --threads 1
	expect_rc 1 "a database that fills up mid-run: some files failed"
	expect_err_contains "database or disk is full" "the failures give the cause"
	partial=$(rows "$URL")
	echo "the database filled up after $partial of $REF_ROWS rows"
	[ "$partial" -gt 0 ] && [ "$partial" -lt "$REF_ROWS" ] || t_fail "wanted a partial import, got $partial of $REF_ROWS rows"
	t_ok
	expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM (SELECT messagefilename FROM hm_messages GROUP BY messagefilename HAVING COUNT(*) > 1) d")" "0" "no file imported twice"
	rm "$T_TMP/dbfull/filler"
	sync_ --db "$URL" --data "$T_TMP/dbfull-data/Data"; expect_ok "the rerun once there is space"
	expect_eq "$(t_content_state "$URL" "$T_TMP/dbfull-data/Data")" "$REFERENCE" "the rerun ends in the reference state"
fi

# --- a database that may only be read ----------------------------------------------------
# The store was synced, then new files arrived: -n must see them, a real
# run must fail without writing anything.
LATE=$(find "$tmpl/Data" -mindepth 4 -name '*.eml' | sort | head -5)
ro_fixture() { # ro_fixture URL DIR: URL synced over DIR without the 5 late files
	local url=$1 dir=$2 f
	cp -a "$tmpl" "$dir"
	mkdir -p "$dir/late"
	for f in $LATE; do mv "$dir/Data/${f#"$tmpl/Data/"}" "$dir/late/$(basename "$f")"; done
	sync_ --db "$url" --data "$dir/Data" >/dev/null
	for f in $LATE; do mv "$dir/late/$(basename "$f")" "$dir/Data/${f#"$tmpl/Data/"}"; done
}
ro_checks() { # ro_checks URL DIR LABEL: what works and what fails on a read-only database
	local url=$1 dir=$2 label=$3 before
	before=$(rows "$url")
	sync_ --db "$url" --data "$dir/Data" -n; expect_ok "$label: sync -n"
	expect_eq "$(grep -c '^Imported' "$T_TMP/out")" "$(echo "$LATE" | grep -c .)" "$label: sync -n sees the new files"
	mst reconstruct -n --db "$url" --data "$dir/Data"
	expect_rc 1 "$label: reconstruct -n (the new files are unreferenced)"
	expect_out_contains "unreferenced" "$label: reconstruct -n reports them"
	mst account list --db "$url"; expect_ok "$label: account list"
	local acct; acct=$(mst account list --db "$url" --json; t_out | jq -r '.[0].address')
	mst account delete -n --force "$acct" --db "$url" --data "$dir/Data"; expect_ok "$label: account delete -n (opens read-only)"
	mst account delete --force "$acct" --db "$url" --data "$dir/Data"; expect_fail "$label: account delete"
	sync_ --db "$url" --data "$dir/Data"; expect_fail "$label: sync"
	expect_eq "$(rows "$url")" "$before" "$label: sync wrote nothing"
	expect_eq "$(t_content_hash "$dir/Data")" "$CONTENT" "$label: no message file changed"
}

if [ "$MSTORE_TEST_BACKEND" = sqlite ] && [ "$CAN_MOUNT" = 1 ]; then
	# A SQLite store on read-only media (a mounted snapshot or backup).
	mount_small "$T_TMP/romedia" 2m || t_fail "mount"
	URL=$(new_store ro "sqlite:$T_TMP/romedia/s.db")
	ro_fixture "$URL" "$T_TMP/ro"
	mount -o remount,ro "$T_TMP/romedia" || t_fail "remount read-only"
	ro_checks "$URL" "$T_TMP/ro" "read-only media"
	expect_err_contains "read-only file system" "read-only media: the failure says why"
	mst sync --no-progress -n --hints-from "$URL" --db "$REF" --data "$T_TMP/ref/Data"
	expect_ok "read-only media: usable as --hints-from"
	mount -o remount,rw "$T_TMP/romedia" || t_fail "remount read-write"
	sync_ --db "$URL" --data "$T_TMP/ro/Data"; expect_ok "writable again: sync"
	expect_eq "$(t_content_state "$URL" "$T_TMP/ro/Data")" "$REFERENCE" "writable again: the reference state"

	# A copy taken while another process had it open: its -wal file holds
	# committed transactions, which a reader on read-only media cannot
	# merge.  It must be refused, not read without them.
	mount_small "$T_TMP/walmedia" 2m || t_fail "mount"
	src=${URL#sqlite:}
	# The holder keeps a connection open (its stdin, a FIFO, stays open
	# until fd 7 closes), so the writer's close does not checkpoint the WAL
	# away.  It has opened the database once the -shm file exists.
	mkfifo "$T_TMP/hold"
	sqlite3 -cmd "SELECT COUNT(*) FROM hm_dbversion;" "$src" <"$T_TMP/hold" >/dev/null 2>&1 &
	holder=$!
	exec 7>"$T_TMP/hold"
	for _ in $(seq 100); do [ -e "$src-shm" ] && break; sleep 0.1; done
	sqlite3 "$src" "PRAGMA wal_autocheckpoint=0; UPDATE hm_accounts SET accountmaxsize = accountmaxsize + 1;" >/dev/null
	cp "$src" "$src-wal" "$T_TMP/walmedia/"
	exec 7>&-
	wait "$holder"
	[ -s "$T_TMP/walmedia/s.db-wal" ] || t_fail "the copy has no -wal content to test with"
	mount -o remount,ro "$T_TMP/walmedia" || t_fail "remount read-only"
	mst account list --db "sqlite:$T_TMP/walmedia/s.db"
	expect_fail "a read-only copy with a -wal file"
	expect_err_contains "-wal file holds transactions" "the refusal says why"
fi

if [ "$MSTORE_TEST_BACKEND" != sqlite ]; then
	# A server account with SELECT and nothing else.
	URL=$(new_store roserver)
	name=${URL##*/}
	ro_fixture "$URL" "$T_TMP/ro"
	ro_user="mst_ro_$$_$RANDOM"
	case "$MSTORE_TEST_BACKEND" in
	pgsql)
		t_psql -d "$name" -c "CREATE ROLE $ro_user LOGIN PASSWORD '$MSTORE_TEST_DB_PASSWORD'" >/dev/null
		t_psql -d "$name" -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO $ro_user" >/dev/null
		drop_user() { t_psql -d postgres -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null; t_psql -d postgres -c "DROP ROLE IF EXISTS $ro_user" >/dev/null; }
		;;
	mysql)
		t_mysql -e "CREATE USER '$ro_user'@'%' IDENTIFIED BY '$MSTORE_TEST_DB_PASSWORD'; GRANT SELECT ON $name.* TO '$ro_user'@'%'"
		drop_user() { t_mysql -e "DROP USER IF EXISTS '$ro_user'@'%'"; }
		;;
	esac
	trap 'unmount_all; drop_user; t_cleanup' EXIT
	RO_URL=${URL/\/\/$MSTORE_TEST_DB_USER@/\/\/$ro_user@}
	ro_checks "$RO_URL" "$T_TMP/ro" "a SELECT-only user"
	grep -q "^Failed .*$(echo "$MSTORE_TEST_BACKEND" | sed 's/pgsql/permission denied/; s/mysql/command denied/')" "$T_TMP/err" \
		|| t_fail "a SELECT-only user: the failures do not give the cause: $(head -c 400 "$T_TMP/err")"
	t_ok
	sync_ --db "$URL" --data "$T_TMP/ro/Data"; expect_ok "the owner's sync"
	expect_eq "$(t_content_state "$URL" "$T_TMP/ro/Data")" "$REFERENCE" "the owner's sync: the reference state"
fi
t_done
