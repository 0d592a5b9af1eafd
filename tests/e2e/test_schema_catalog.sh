#!/usr/bin/env bash
# mstore init creates exactly hMailServer's 5.7 schema: the live catalog
# (columns, types, nullability, defaults, sequences, keys, unique
# constraints, indexes) equals tests/schema/expected-<backend>.txt, which
# was checked against the catalog hMailServer's own setup scripts produce
# (see tests/schema/README.md).
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server

SCHEMA=$MSTORE_SRC/tests/schema
B=$MSTORE_TEST_BACKEND

# new_store_db HINT: an empty database; on MariaDB with the default
# character set fixed, because hMailServer's script leaves one table
# (hm_distributionlistsrecipients) to the database's default and the
# expected catalog names it (see tests/schema/README.md).
new_store_db() {
	local url
	url=$(t_new_db "$1") || return 1
	if [ "$B" = mysql ]; then
		t_mysql -e "ALTER DATABASE ${url##*/} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci" || return 1
	fi
	echo "$url"
}

# dump URL OUT: the catalog in the normal form, by the database's own client.
dump() {
	MSTORE_TEST_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} \
		"$SCHEMA/dump-catalog.sh" "$B" "$1" >"$2" 2>"$T_TMP/dump.err" ||
		t_fail "dump-catalog.sh $B $1 failed: $(head -c 600 "$T_TMP/dump.err")"
}

# expect_catalog FILE DESCRIPTION: FILE equals the expected catalog.
expect_catalog() {
	t_ok
	if ! diff -u "$SCHEMA/expected-$B.txt" "$1" >"$T_TMP/catalog.diff"; then
		t_fail "$2: catalog differs from hMailServer's ($(grep -c '^[-+][^-+]' "$T_TMP/catalog.diff") lines):
$(head -n 60 "$T_TMP/catalog.diff")"
	fi
}

URL=$(new_store_db schema) || { t_fail "cannot create a test database"; t_done; }
mst init "$URL"; expect_ok "init"
[ "$T_RC" = 0 ] || t_done
dump "$URL" "$T_TMP/catalog.txt"
expect_catalog "$T_TMP/catalog.txt" "mstore init"

# The tables are the 34 of store.md, no more, no fewer.
grep '^table|' "$T_TMP/catalog.txt" | cut -d'|' -f2 | LC_ALL=C sort >"$T_TMP/tables.got"
LC_ALL=C sort "$SCHEMA/tables.txt" >"$T_TMP/tables.want"
expect_eq "$(diff "$T_TMP/tables.want" "$T_TMP/tables.got" | tr '\n' ' ')" "" "table list equals tables.txt"
expect_eq "$(wc -l <"$T_TMP/tables.got")" "34" "34 tables"

expect_eq "$(t_sql "$URL" "SELECT value FROM hm_dbversion")" "5704" "hm_dbversion"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_dbversion")" "1" "one version row"

# The refused second init leaves the catalog as it was.
mst init "$URL"; expect_fail "second init refused"
expect_err_contains "already holds an hMailServer store (hm_dbversion = 5704)" "refusal names the version"
dump "$URL" "$T_TMP/catalog2.txt"
expect_catalog "$T_TMP/catalog2.txt" "catalog after the refused init"

# --print-sql gives the same schema when fed to the database's own client.
mst init --print-sql "$B"; expect_ok "init --print-sql $B"
cp "$T_TMP/out" "$T_TMP/ddl.sql"
URL2=$(new_store_db printsql) || { t_fail "cannot create a second test database"; t_done; }
case "$B" in
sqlite) sqlite3 -batch -bail "${URL2#sqlite:}" <"$T_TMP/ddl.sql" ;;
pgsql) t_psql -d "${URL2##*/}" -f "$T_TMP/ddl.sql" >/dev/null ;;
mysql) t_mysql "${URL2##*/}" <"$T_TMP/ddl.sql" ;;
esac || t_fail "the $B client rejected the output of --print-sql"
dump "$URL2" "$T_TMP/catalog3.txt"
expect_catalog "$T_TMP/catalog3.txt" "init --print-sql fed to the $B client"
expect_eq "$(t_sql "$URL2" "SELECT value FROM hm_dbversion")" "5704" "--print-sql inserts the version row"

t_done
