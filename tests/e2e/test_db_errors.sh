#!/usr/bin/env bash
# Database errors name their cause (issue 13): a real error from the
# database, caused on purpose, must reach the user with the server's own
# message and code (SQLite: extended code; PostgreSQL: detail and SQLSTATE;
# MariaDB: error number), not cut off behind the SQL statement; the
# statement itself only with -vv.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db db_errors) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
q() { t_sql "$URL" "$1"; }

mst init "$URL"; expect_ok "init"
M domain add example.com; expect_ok "domain add"
M account add alice@example.com; expect_ok "account add"

msg() { # msg RELPATH: a small message, old enough to be imported
	mkdir -p "$(dirname "$D/$1")"
	printf 'From: s@x.org\r\nTo: alice@example.com\r\nSubject: %s\r\n\r\nbody\r\n' "$1" > "$D/$1"
	touch -d '2021-03-04 05:06:07' "$D/$1"
}
msg "example.com/alice/AB/{AB000000-0000-4000-8000-000000000001}.eml"
msg "example.com/alice/CD/{CD000000-0000-4000-8000-000000000002}.eml"

# What each database says about a unique-key conflict on the index below.
case $MSTORE_TEST_BACKEND in
sqlite) cause='UNIQUE constraint failed: hm_messages.messagefolderid'
	code='[SQLITE_CONSTRAINT_UNIQUE, extended code 2067]' ;;
pgsql) cause='ERROR: duplicate key value violates unique constraint "mstore_test_one_per_folder" (Key (messagefolderid)='
	code='[SQLSTATE 23505]' ;;
mysql) cause="for key 'mstore_test_one_per_folder'"
	code='ERROR 1062 (23000): Duplicate entry' ;;
esac

# 1. mstore sync: one message per folder, so the second import in alice's
# INBOX conflicts; that file fails and says why, the first is imported
# (a refused row fails its own file only: the group is retried file by file).
q "CREATE UNIQUE INDEX mstore_test_one_per_folder ON hm_messages (messagefolderid)"
M sync --settle 0 --no-progress --json "$T_TMP/report.json"
expect_rc 1 "sync with a conflicting unique index fails its files"
expect_err_contains "Failed" "the failed files are reported"
expect_err_contains "$cause" "sync names the server's message"
expect_err_contains "$code" "sync names the database's error code"
expect_err_contains "${URL%%\?*}" "sync names the database"
t_ok; ! grep -q 'INSERT INTO' "$T_TMP/err" || t_fail "without -vv the statement is not quoted: $(head -c 600 "$T_TMP/err")"
t_ok; jq -e --arg c "$code" '[.. | objects | select(.category? == "failed" and (.reason | contains($c)))] | length == 1' \
	"$T_TMP/report.json" >/dev/null || t_fail "the --json report gives the failed file the cause: $(head -c 800 "$T_TMP/report.json")"
expect_eq "$(q 'SELECT COUNT(*) FROM hm_messages')" 1 "the refused file's neighbour is imported"

# 2. -vv: the statement follows the cause.
M sync --settle 0 --no-progress -vv
expect_rc 1 "sync -vv fails the same way"
expect_err_contains "$code" "sync -vv still names the error code"
expect_err_contains "[statement: INSERT INTO hm_messages" "sync -vv quotes the statement"

# 3. An object command: a unique index on folder names makes the second
# account's INBOX conflict with the first's.
q "DROP INDEX mstore_test_one_per_folder$([ "$MSTORE_TEST_BACKEND" = mysql ] && echo ' ON hm_messages')"
q "CREATE UNIQUE INDEX mstore_test_one_inbox ON hm_imapfolders (foldername)"
M account add bob@example.com
expect_rc 4 "account add fails with the database's error (exit code 4)"
case $MSTORE_TEST_BACKEND in
sqlite) expect_err_contains 'UNIQUE constraint failed: hm_imapfolders.foldername [SQLITE_CONSTRAINT_UNIQUE' "account add: SQLite's cause" ;;
pgsql) expect_err_contains 'unique constraint "mstore_test_one_inbox" (Key (foldername)=(INBOX) already exists.) [SQLSTATE 23505]' "account add: PostgreSQL's cause" ;;
mysql) expect_err_contains "ERROR 1062 (23000): Duplicate entry 'INBOX' for key 'mstore_test_one_inbox'" "account add: MariaDB's cause" ;;
esac
t_ok; ! grep -q 'INSERT INTO' "$T_TMP/err" || t_fail "account add quotes no statement: $(head -c 600 "$T_TMP/err")"
expect_eq "$(q "SELECT COUNT(*) FROM hm_accounts WHERE accountaddress = 'bob@example.com'")" 0 "no account without its INBOX"
q "DROP INDEX mstore_test_one_inbox$([ "$MSTORE_TEST_BACKEND" = mysql ] && echo ' ON hm_imapfolders')"

# 4. PostgreSQL: the identity sequence behind the table's rows, as after a
# restore that did not reset it: the key conflict names the key.
if [ "$MSTORE_TEST_BACKEND" = pgsql ]; then
	q "INSERT INTO hm_messages (messageid, messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid) SELECT 1000, accountid, 0, 'restored.eml', 2, '', 1, 0, '1901-01-01 00:00:00', 0, '2020-01-01 00:00:00', 0, 0 FROM hm_accounts WHERE accountaddress = 'alice@example.com'"
	q "SELECT setval(pg_get_serial_sequence('hm_messages', 'messageid'), 999)" >/dev/null
	M sync --settle 0 --no-progress
	expect_rc 1 "sync with the sequence behind fails its files"
	expect_err_contains 'duplicate key value violates unique constraint "hm_messages_pkey" (Key (messageid)=(1000) already exists.) [SQLSTATE 23505]' \
		"the key conflict names the key"
fi

t_done
