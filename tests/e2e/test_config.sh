#!/usr/bin/env bash
# Configuration files: search order, syntax errors with FILE:LINE,
# password file permissions.  (Database-backed checks: test_config_db.sh.)
. "$MSTORE_SRC/tests/lib/common.sh"

db="sqlite:$T_TMP/store.sqlite"
mst init "$db"; expect_ok "init"

cfg=$T_TMP/a.conf
printf '# test\ndb = %s\ndata = %s/data\n' "$db" "$T_TMP" > "$cfg"
mst info --config "$cfg" --json; expect_ok "--config"
expect_eq "$(t_out | jq -r .data_dir)" "$T_TMP/data" "data directory from --config"

MSTORE_CONFIG=$cfg mst info --json; expect_ok "\$MSTORE_CONFIG"
expect_eq "$(t_out | jq -r .database)" "$db" "database from \$MSTORE_CONFIG"

# JSON output escapes what a string may hold: quotes, backslashes, control
# characters; invalid UTF-8 (overlong forms, encoded surrogates) becomes
# U+FFFD, valid UTF-8 passes as it is.
odd=$'/x"y\\z\nw\tv\x01\xc0\xaf\xed\xa0\x80\xc3\xa9'
mst info --config "$cfg" --json --data "$odd"; expect_ok "--data with odd bytes"
expect_eq "$(t_out | jq -r .data_dir | od -An -c | tr -s ' \n' ' ')" \
	"$(printf '/x"y\\z\nw\tv\001\357\277\275\357\277\275\357\277\275\357\277\275\357\277\275\303\251\n' | od -An -c | tr -s ' \n' ' ')" \
	"odd data directory survives JSON"
grep -qF '"data_dir":"/x\"y\\z\u000aw\u0009v\u0001\ufffd\ufffd\ufffd\ufffd\ufffd'$'\xc3\xa9''"' "$T_TMP/out" && t_ok ||
	t_fail "JSON escapes: $(cat "$T_TMP/out")"

mkdir -p "$HOME/.config/mstore"; cp "$cfg" "$HOME/.config/mstore/mstore.conf"
mst info --json; expect_ok "~/.config/mstore/mstore.conf"
mst info --json --data /elsewhere; expect_ok "flags beat files"
expect_eq "$(t_out | jq -r .data_dir)" "/elsewhere" "--data overrides the file"
rm "$HOME/.config/mstore/mstore.conf"

mkdir -p "$MSTORE_SYSCONFDIR/mstore"; cp "$cfg" "$MSTORE_SYSCONFDIR/mstore/mstore.conf"
mst info --json; expect_ok "system config file"
rm "$MSTORE_SYSCONFDIR/mstore/mstore.conf"

mst info --config "$T_TMP/nope.conf"; expect_rc 3 "missing --config file"
expect_err_contains "nope.conf" "missing config file named"

printf 'db = %s\nthis line is wrong\n' "$db" > "$T_TMP/bad.conf"
mst info --config "$T_TMP/bad.conf"; expect_rc 3 "syntax error"
expect_err_contains "bad.conf:2" "syntax error reports FILE:LINE"
printf 'db = %s\n\ncolour = blue\n' "$db" > "$T_TMP/bad2.conf"
mst info --config "$T_TMP/bad2.conf"; expect_rc 3 "unknown key"
expect_err_contains "bad2.conf:3" "unknown key reports FILE:LINE"

printf 'db = %s\npassword = hunter2\n' "$db" > "$T_TMP/pw.conf"
chmod 644 "$T_TMP/pw.conf"
mst info --config "$T_TMP/pw.conf"; expect_ok "readable password file still works"
expect_err_contains "warning" "world-readable password warns"
expect_err_contains "pw.conf" "warning names the file"
chmod 600 "$T_TMP/pw.conf"
mst info --config "$T_TMP/pw.conf"; expect_ok "private password file"
grep -q warning "$T_TMP/err" && t_fail "a 0600 config file must not warn"
t_ok

printf '[Directories]\r\nDataFolder=C:\\hMailServer\\Data\r\n[Database]\r\nType=MSSQL\r\nServer=db\r\n' > "$T_TMP/ms.ini"
mst info --ini "$T_TMP/ms.ini"; expect_rc 3 "MSSQL INI refused"
expect_err_contains "SQL Server" "MSSQL refusal explains"
t_done
