#!/usr/bin/env bash
# mstore init and opening a store: version checks, refusals, dead servers.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server

URL=$(t_new_db init) || { t_fail "cannot create a test database"; t_done; }

case "$MSTORE_TEST_BACKEND" in
sqlite) tables_sql="SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name LIKE 'hm\_%' ESCAPE '\\'" ;;
pgsql) tables_sql="SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='public' AND table_name LIKE 'hm\\_%'" ;;
mysql) tables_sql="SELECT COUNT(*) FROM information_schema.tables WHERE table_schema=DATABASE() AND table_name LIKE 'hm\\_%'" ;;
esac

# Opening a database that is not a store yet.
if [ "$MSTORE_TEST_BACKEND" != sqlite ]; then
	mst info --db "$URL"; expect_rc 4 "info on an empty database"
	expect_err_contains "not an hMailServer database" "empty database message"
fi

mst init "$URL"; expect_ok "init"
expect_out_contains "5704" "init reports the schema version"
expect_eq "$(t_sql "$URL" "$tables_sql")" "34" "init creates the 34 tables"
expect_eq "$(t_sql "$URL" "SELECT value FROM hm_dbversion")" "5704" "hm_dbversion row"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_dbversion")" "1" "exactly one version row"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_settings")" "114" "the setup script's 114 settings rows (every row: test_fidelity.sh)"

mst init "$URL"; expect_fail "second init on the same database is refused"
expect_err_contains "already" "second init says the store exists"
expect_eq "$(t_sql "$URL" "SELECT value FROM hm_dbversion")" "5704" "refused init changed nothing"

mst --help >/dev/null; mst info --db "$URL" --json; expect_ok "info on a new store"
expect_eq "$(t_out | jq -r '.schema_version')" "5704" "info reads 5704"
expect_eq "$(t_out | jq -r '.messages_delivered')" "0" "no messages"

# Known older versions are understood; unknown ones refused by name.
for v in 5400 5502 5601; do
	t_sql "$URL" "UPDATE hm_dbversion SET value = $v"
	mst info --db "$URL" --json; expect_ok "version $v is understood"
	expect_eq "$(t_out | jq -r '.schema_version')" "$v" "info reports $v"
done
t_sql "$URL" "UPDATE hm_dbversion SET value = 9999"
mst info --db "$URL"; expect_rc 4 "unknown version refused"
expect_err_contains "unknown hMailServer schema version 9999" "unknown version named"
mst account list --db "$URL"; expect_rc 4 "every command refuses an unknown version"
t_sql "$URL" "UPDATE hm_dbversion SET value = 5704"

# Bad URLs and unreachable servers.
mst info --db "nosuchdb://x/y"; expect_fail "unknown URL scheme"
mst info --db "postgresql://u:secret@127.0.0.1:5432/x"; expect_fail "password in the URL"
expect_err_contains "password" "password-in-URL message mentions passwords"
case "$MSTORE_TEST_BACKEND" in
sqlite)
	mst info --db "sqlite:$T_TMP/missing.sqlite"; expect_rc 4 "missing SQLite file"
	[ ! -e "$T_TMP/missing.sqlite" ] || t_fail "opening a missing SQLite file created it"
	mkdir -p "$T_TMP/ro"; mst init "sqlite:$T_TMP/ro/sub/x.sqlite"; expect_fail "init in a missing directory"
	;;
pgsql)
	mst info --db "postgresql://mstore@127.0.0.1:1/x"; expect_rc 4 "dead PostgreSQL server"
	expect_err_contains "127.0.0.1" "dead server message names the host"
	MSTORE_TEST_DB_PASSWORD=wrong mst info --db "$URL"; expect_rc 4 "wrong password"
	;;
mysql)
	mst info --db "mysql://mstore@127.0.0.1:1/x"; expect_rc 4 "dead MariaDB server"
	expect_err_contains "127.0.0.1" "dead server message names the host"
	MSTORE_TEST_DB_PASSWORD=wrong mst info --db "$URL"; expect_rc 4 "wrong password"
	;;
esac

# No database configured at all.
mst info; expect_rc 3 "no database configured"
expect_err_contains "no database" "missing database message"

t_done
