#!/usr/bin/env bash
# Reaching a real database through an hMailServer.INI (with its
# Blowfish-encrypted password) and through --password-file.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
[ "$MSTORE_TEST_BACKEND" = sqlite ] && { echo "SKIP: INI files name database servers only"; exit 77; }

URL=$(t_new_db cfg) || { t_fail "cannot create a test database"; t_done; }
mst init "$URL"; expect_ok "init"
dbname=${URL##*/}
case "$MSTORE_TEST_BACKEND" in
pgsql) type=PostgreSQL port=$MSTORE_TEST_PG_PORT ;;
mysql) type=MySQL port=$MSTORE_TEST_MY_PORT ;;
esac
enc=$("$HMS_ENCRYPT" "$MSTORE_TEST_DB_PASSWORD")
ini=$T_TMP/hMailServer.INI
printf '\xef\xbb\xbf[Directories]\r\nDataFolder=%s/Data\r\n[Database]\r\nType=%s\r\nUsername=%s\r\nPassword=%s\r\nPasswordEncryption=1\r\nPort=%s\r\nServer=127.0.0.1\r\nDatabase=%s\r\nInternal=0\r\n' \
	"$T_TMP" "$type" "$MSTORE_TEST_DB_USER" "$enc" "$port" "$dbname" > "$ini"
MSTORE_TEST_DB_PASSWORD= mst info --ini "$ini" --json; expect_ok "INI with an encrypted password opens the store"
expect_eq "$(t_out | jq -r .schema_version)" "5704" "store reached through the INI"
expect_eq "$(t_out | jq -r .data_dir)" "$T_TMP/Data" "DataFolder from the INI"

sed -i 's/^Password=.*/Password=00112233445566778899aabbccddeeff\r/' "$ini"
MSTORE_TEST_DB_PASSWORD= mst info --ini "$ini"; expect_rc 4 "wrong decrypted password is refused by the server"

printf '%s\n' "$MSTORE_TEST_DB_PASSWORD" > "$T_TMP/pass"
MSTORE_TEST_DB_PASSWORD= mst info --db "$URL" --password-file "$T_TMP/pass" --json; expect_ok "--password-file"
MSTORE_TEST_DB_PASSWORD= mst info --db "$URL" --password-file "$T_TMP/nope"; expect_rc 3 "missing password file"
expect_err_contains "nope" "missing password file named"
t_done
