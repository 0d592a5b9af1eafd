#!/usr/bin/env bash
# mstore snapshot end to end (issue 17): a store of the test's backend
# with messages, three snapshots with --keep 2 (the oldest removed, the
# list oldest first), the newest loaded with the database's own tool into
# a new database and compared with the source row by row (hm_messages,
# hm_imapfolders, hm_accounts), and mstore opens it; `snapshot restore`
# does the same load into a new database, refuses one that is not new and
# the live store (nothing changed) unless --force, a name that is no
# snapshot and a snapshot of another kind; the disaster path (restore,
# then sync --hints-from it into a new store) gives back every message in
# its folder with its flags; a bad --keep and a missing dump directory's
# parent are refused.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db snap)
D=$T_TMP/Data
"$MSTORE_GEN" --seed 11 --messages 30 --domains 1 --accounts 2 --queue-percent 0 "$T_TMP/gen" >/dev/null ||
	t_fail "gen_datadir"
mv "$T_TMP/gen/Data" "$D"
mst init "$URL"
expect_ok "init"
t_add_objects "$URL" "$T_TMP/gen/objects.txt"
mst sync --db "$URL" --data "$D"
expect_ok "sync"

S=$T_TMP/snaps
for i in 1 2 3; do
	mst snapshot --db "$URL" --dir "$S" --keep 2
	expect_ok "snapshot $i"
	expect_out_contains "snapshot $S/snapshot-" "snapshot $i names its file"
	[ "$i" = 3 ] || sleep 1.1 # names have one-second resolution
done
mst snapshot list --dir "$S"
expect_ok "snapshot list"
expect_eq "$(t_out | wc -l)" 2 "--keep 2 keeps two"
expect_eq "$(t_out | sort | tr '\n' ' ')" "$(t_out | tr '\n' ' ')" "the list is oldest first"
expect_eq "$(find "$S" -name '*.tmp' | wc -l)" 0 "no temporary file left"
newest=$(t_out | tail -1)
# the directory is shared by every store of the user: --keep rotates this
# store's kind only (was: every kind's oldest removed)
S2=$T_TMP/snaps2
mkdir -p "$S2"
for k in sqlite pgdump sql; do : >"$S2/snapshot-20200101T000000Z.$k"; done
mst snapshot --db "$URL" --dir "$S2" --keep 1
expect_ok "a snapshot beside other kinds' older ones"
expect_eq "$(ls "$S2" | grep -c '^snapshot-20200101T000000Z')" 2 "the other kinds' snapshots are kept"
# an old snapshot that cannot be removed is reported, not ignored
mine=$(ls "$S2" | grep -v '^snapshot-2020' | sed 's/.*\.//')
rm -f "$S2"/snapshot-2020*
mkdir "$S2/snapshot-20200101T000000Z.$mine" && : >"$S2/snapshot-20200101T000000Z.$mine/x"
sleep 1.1
mst snapshot --db "$URL" --dir "$S2" --keep 1
expect_rc 5 "a rotation that cannot remove an old snapshot"
expect_err_contains "snapshot-20200101T000000Z.$mine" "it names the snapshot it could not remove"

# the newest snapshot, loaded with the database's own tool, equals the source
rows() {
	t_sql "$1" "SELECT messageid, messageaccountid, messagefolderid, messagefilename, messageuid, messageflags,
		messagesize, messagefrom FROM hm_messages ORDER BY messageid"
	t_sql "$1" "SELECT folderid, folderaccountid, folderparentid, foldername, foldercurrentuid FROM hm_imapfolders ORDER BY folderid"
	t_sql "$1" "SELECT accountid, accountaddress, accountpassword FROM hm_accounts ORDER BY accountid"
}
case "$MSTORE_TEST_BACKEND" in
sqlite)
	LOADED=sqlite:$newest
	expect_eq "${newest##*.}" sqlite "a SQLite snapshot is a database file"
	;;
pgsql)
	LOADED=$(t_new_db loaded)
	expect_eq "${newest##*.}" pgdump "a PostgreSQL snapshot is pg_dump's custom format"
	PGPASSWORD=$MSTORE_TEST_DB_PASSWORD pg_restore --no-owner -h 127.0.0.1 -p "$MSTORE_TEST_PG_PORT" \
		-U "$MSTORE_TEST_DB_USER" -d "${LOADED##*/}" "$newest" || t_fail "pg_restore of the snapshot"
	;;
mysql)
	LOADED=$(t_new_db loaded)
	expect_eq "${newest##*.}" sql "a MariaDB snapshot is SQL"
	t_mysql "${LOADED##*/}" <"$newest" || t_fail "loading the snapshot with mariadb"
	;;
esac
expect_eq "$(rows "$LOADED" | sha256sum)" "$(rows "$URL" | sha256sum)" "the loaded snapshot equals the source"
[ "$(rows "$URL" | wc -l)" -gt 30 ] || t_fail "the source has too few rows to compare"
mst info --db "$LOADED"
expect_ok "mstore opens the loaded snapshot"

# --- snapshot restore -------------------------------------------------------------------
R=$(t_new_db restored)
mst snapshot restore "${newest##*/}" --dir "$S" --to "$R" --db "$URL"
expect_ok "snapshot restore NAME --to a new database"
expect_out_contains "restored $newest" "it names what it restored"
expect_eq "$(rows "$R" | sha256sum)" "$(rows "$URL" | sha256sum)" "the restored database equals the source"
mst info --db "$R"
expect_ok "mstore opens the restored database"
live_before=$(rows "$URL" | sha256sum)
t_sql "$R" "UPDATE hm_accounts SET accountpassword = 'changed'"
mst snapshot restore "$newest" --to "$R" --db "$URL"
expect_rc 2 "a restore over a database that is not new"
expect_err_contains "--force" "the refusal says how to insist"
expect_eq "$(t_sql "$R" "SELECT DISTINCT accountpassword FROM hm_accounts")" "changed" "the refused target is unchanged"
mst snapshot restore "$newest" --to "$URL" --db "$URL"
expect_rc 2 "a restore over the live store"
expect_err_contains "live" "the refusal names the live store"
expect_eq "$(rows "$URL" | sha256sum)" "$live_before" "the live store is unchanged"
mst snapshot restore "$newest" --to "$R" --db "$URL" --force --json
expect_ok "--force loads it over the existing database"
expect_eq "$(t_out | jq -r .restored)" "$newest" "--json names the snapshot"
expect_eq "$(rows "$R" | sha256sum)" "$(rows "$URL" | sha256sum)" "after --force the target equals the source again"
cp "$newest" "$T_TMP/not-a-snapshot.db"
mst snapshot restore "$T_TMP/not-a-snapshot.db" --to "$(t_new_db x)" --db "$URL"
expect_rc 2 "a file that is not a snapshot"
other=$([ "${newest##*.}" = sql ] && echo sqlite || echo sql)
cp "$newest" "$T_TMP/snapshot-20200101T000000Z.$other"
mst snapshot restore "$T_TMP/snapshot-20200101T000000Z.$other" --to "$(t_new_db y)" --db "$URL"
expect_rc 2 "a snapshot of another database kind"
expect_err_contains "kind" "the refusal says why"
mst snapshot restore --dir "$S" --db "$URL" "${newest##*/}"
expect_rc 2 "restore without --to"

# the disaster path: the database is lost, the data directory survives
F=$(t_new_db fresh)
mst init "$F"
expect_ok "init a new store"
t_add_objects "$F" "$T_TMP/gen/objects.txt"
mst sync --db "$F" --data "$D" --hints-from "$R"
expect_ok "sync --hints-from the restored snapshot"
where() { t_sql "$1" "SELECT m.messagefilename, a.accountaddress, f.foldername, m.messageflags FROM hm_messages m
	JOIN hm_accounts a ON a.accountid = m.messageaccountid JOIN hm_imapfolders f ON f.folderid = m.messagefolderid" | sort; }
expect_eq "$(where "$F" | sha256sum)" "$(where "$URL" | sha256sum)" "every message back in its folder with its flags"

mst snapshot --db "$URL" --dir "$S" --keep many
expect_rc 2 "a bad --keep"
mst snapshot --db "$URL" --dir /proc/no/such
expect_fail "a directory that cannot be made"

t_done
