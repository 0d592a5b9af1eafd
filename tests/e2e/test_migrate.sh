#!/usr/bin/env bash
# mstore migrate end to end (issue 17 item 4), real binary, real servers.
# A store holding every kind of object (domains and a domain alias,
# accounts with a stored password and settings, aliases, a distribution
# list, nested, subscribed and public folders with an ACL, messages with
# flags, and raw rows for rules, routes, IP ranges, incoming relays, logon
# failures and a setting) starts on the test's backend and goes round all
# three: sqlite -> pgsql -> mysql -> sqlite (starting where the backend
# is).  The test compares every table itself, every column of every row
# (ids, UIDs, UIDVALIDITY, file names included), at each step; checks
# that new ids on each target follow the source's sequence (past a
# deleted account's id); `reconstruct -n` is clean on every target.
# Refused, with nothing written: a non-empty target, a bad URL, a dead
# server, a source that is not a store; -n writes nothing; a kill -9
# between two tables, then a rerun, ends equal.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

# URLs on any backend: t_new_db reads MSTORE_TEST_BACKEND.
new_db() { MSTORE_TEST_BACKEND=$1 t_new_db "$2"; }
case "$MSTORE_TEST_BACKEND" in
sqlite) CHAIN=(sqlite pgsql mysql sqlite) ;;
pgsql) CHAIN=(pgsql mysql sqlite pgsql) ;;
mysql) CHAIN=(mysql sqlite pgsql mysql) ;;
esac

# --- the source ----------------------------------------------------------------------
D=$T_TMP/Data
mkdir -p "$D"
SRC=$(new_db "${CHAIN[0]}" src)
m() { mst "$@" --db "$SRC" --data "$D"; expect_ok "$*"; }
mst init "$SRC"
expect_ok "init the source"
m domain add example.com --max-size 500 --plus-addressing +
m domain add other.test
m domain alias example.com example.net
m account add ann@example.com --max-size 100
m account add bob@other.test
m account add gone@example.com --max-size 10
m account delete gone@example.com --force   # the highest account id is gone: a new one must not reuse it
m alias add info@example.com ann@example.com
m list add team@example.com
m list member team@example.com ann@example.com bob@other.test
m folder create user/ann@example.com/Archive/2024
m folder unsubscribe user/ann@example.com/Archive
m folder create '#Public/Sales'
m acl set '#Public/Sales' ann@example.com lrswi
for i in 1 2 3 4 5; do
	printf 'From: x%d@example.org\nTo: ann@example.com\nSubject: m %d\nMessage-ID: <%d@t>\n\nbody %d\n' \
		"$i" "$i" "$i" "$i" >"$T_TMP/m$i.eml"
done
m deliver ann@example.com "$T_TMP/m1.eml" --flags seen
m deliver ann@example.com "$T_TMP/m2.eml" --flags seen,flagged
m deliver ann@example.com/Archive/2024 "$T_TMP/m3.eml"
m deliver bob@other.test "$T_TMP/m4.eml" --flags answered
m deliver bob@other.test "$T_TMP/m5.eml"
# what no mstore command writes: raw rows, as hMailServer's administrator would leave them;
# the vacation message holds a tab, line ends and backslashes (PostgreSQL's COPY escapes them)
BS='\'
[ "${CHAIN[0]}" = mysql ] && BS='\\' # MariaDB reads a backslash in a literal as an escape
VAC="Bin weg,"$'\t'"Grüße"$'\r\n'"C:${BS}mail${BS}N"$'\n'
t_sql "$SRC" "UPDATE hm_accounts SET accountpassword = '5f4dcc3b5aa765d61d8327deb882cf99',
	accountpwencryption = 2, accountvacationmessageon = 1, accountvacationmessage = '$VAC',
	accountvacationsubject = 'It''s \"away\"', accountpersonfirstname = 'Änne',
	accountlastlogontime = '2026-11-30 08:09:10' WHERE accountaddress = 'ann@example.com'" || t_fail "raw account row"
t_sql "$SRC" "INSERT INTO hm_rules (ruleaccountid, rulename, ruleactive, ruleuseand, rulesortorder)
	VALUES (1, 'Spam to Junk', 1, 0, 1)" || t_fail "raw rule"
t_sql "$SRC" "INSERT INTO hm_rule_criterias (criteriaruleid, criteriausepredefined, criteriapredefinedfield,
	criteriaheadername, criteriamatchtype, criteriamatchvalue) VALUES (1, 0, 0, 'X-Spam-Flag', 2, 'YES')" ||
	t_fail "raw rule criteria"
t_sql "$SRC" "INSERT INTO hm_rule_actions (actionruleid, actiontype, actionimapfolder, actionsubject,
	actionfromname, actionfromaddress, actionto, actionbody, actionfilename, actionsortorder,
	actionscriptfunction, actionheader, actionvalue, actionrouteid)
	VALUES (1, 5, 'Junk', '', '', '', '', '', '', 1, '', '', '', 0)" || t_fail "raw rule action"
t_sql "$SRC" "INSERT INTO hm_securityranges (rangepriorityid, rangelowerip1, rangelowerip2, rangeupperip1,
	rangeupperip2, rangeoptions, rangename, rangeexpires, rangeexpirestime)
	VALUES (20, 3232235520, NULL, 3232301055, NULL, 11, 'LAN', 1, '2027-01-01 00:00:00')" || t_fail "raw IP range"
t_sql "$SRC" "INSERT INTO hm_routes (routedomainname, routedescription, routetargetsmthost, routetargetsmtport,
	routenooftries, routeminutesbetweentry, routealladdresses, routeuseauthentication,
	routeauthenticationusername, routeauthenticationpassword, routetreatsecurityaslocal,
	routeconnectionsecurity, routetreatsenderaslocaldomain)
	VALUES ('relay.test', 'backup MX', 'mx.relay.test', 25, 4, 60, 1, 0, '', '', 0, 0, 0)" || t_fail "raw route"
t_sql "$SRC" "INSERT INTO hm_incoming_relays (relayname, relaylowerip1, relaylowerip2, relayupperip1, relayupperip2)
	VALUES ('gateway', 167772161, NULL, 167772161, NULL)" || t_fail "raw incoming relay"
t_sql "$SRC" "INSERT INTO hm_logon_failures (ipaddress1, ipaddress2, failuretime)
	VALUES (167772162, NULL, '2026-12-01 01:02:03')" || t_fail "raw logon failure"
t_sql "$SRC" "UPDATE hm_settings SET settingstring = 'mail.example.com' WHERE settingname = 'hostname'" ||
	t_fail "raw setting"

# --- the test's own table-by-table comparison -----------------------------------------
# The tables and columns as the PostgreSQL catalog of the chain's store names them.
PGREF=$(new_db pgsql ref)
mst init "$PGREF"
expect_ok "a reference catalog"
TABLES=$(t_sql "$PGREF" "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'
	AND table_name LIKE 'hm\_%' ORDER BY table_name")
[ "$(echo "$TABLES" | wc -w)" = 34 ] || t_fail "the catalog lists $(echo "$TABLES" | wc -w) tables, not 34"
t_sql "$PGREF" "SELECT table_name, column_name, data_type FROM information_schema.columns
	WHERE table_schema = 'public' AND table_name LIKE 'hm\_%' ORDER BY table_name, ordinal_position" |
	awk -F'\t' -v dir="$T_TMP" '{ print $2 "\t" $3 > (dir "/cols." $1) }'
# dump URL: every row of every table, one line each, "TABLE<TAB>value...",
# every column as text (NULL apart, timestamps to the second), sorted:
# the ids are part of each line.  One client run per dump.
dump() {
	local url=$1 t ty sel name=${1##*/}
	case "$url" in mysql://*) ty=CHAR ;; *) ty=TEXT ;; esac
	for t in $TABLES; do
		sel=$(awk -F'\t' -v ty="$ty" '{
			v = "CAST(" $1 " AS " ty ")"
			if ($2 ~ /^timestamp/) v = "SUBSTR(" v ", 1, 19)"
			printf ", COALESCE(%s, '"'"'~NULL~'"'"')", v }' "$T_TMP/cols.$t")
		echo "SELECT '$t'$sel FROM $t;"
	done >"$T_TMP/dump.sql"
	case "$url" in
	sqlite:*) sqlite3 -batch -separator $'\t' "${url#sqlite:}" <"$T_TMP/dump.sql" ;;
	postgresql://*) t_psql -F $'\t' -d "$name" -f "$T_TMP/dump.sql" ;;
	mysql://*) t_mysql "$name" <"$T_TMP/dump.sql" ;;
	esac | LC_ALL=C sort
}
dump "$SRC" >"$T_TMP/src.dump"
for want in "$(printf 'Spam to Junk')" "X-Spam-Flag" "5f4dcc3b5aa765d61d8327deb882cf99" "Grüße" "It's \"away\"" \
	"Änne" "LAN" "mx.relay.test" "gateway" "2026-12-01 01:02:03" "mail.example.com" "example.net" \
	"team@example.com" "#Public" "Sales" "2024"; do
	grep -qF -- "$want" "$T_TMP/src.dump" || t_fail "the source dump lacks '$want'"
done
expect_eq "$(grep -c '^hm_messages' "$T_TMP/src.dump")" 5 "five messages in the source"

# --- the round trip -------------------------------------------------------------------
prev=$SRC
URLS=()
for i in 1 2 3; do
	kind=${CHAIN[$i]}
	to=$(new_db "$kind" "to$i")
	if [ "$i" = 2 ]; then # an empty store made by mstore init is a target too
		mst init "$to"
		expect_ok "init the step $i target"
	fi
	mst migrate --from "$prev" --to "$to"
	expect_ok "migrate ${CHAIN[$((i - 1))]} -> $kind"
	expect_out_contains "every table the same" "step $i: mstore's own comparison"
	expect_out_contains "hm_messages 5 same" "step $i: the messages"
	dump "$to" >"$T_TMP/dump.$i"
	cmp -s "$T_TMP/src.dump" "$T_TMP/dump.$i" ||
		t_fail "step $i (${CHAIN[$((i - 1))]} -> $kind): tables differ from the source: $(diff "$T_TMP/src.dump" "$T_TMP/dump.$i" | head -8)"
	t_ok
	mst reconstruct -n --db "$to" --data "$D"
	expect_ok "reconstruct -n is clean on the step $i target"
	URLS+=("$to")
	prev=$to
done

# new ids follow the source's: past the deleted account's id 3, on every target
for to in "${URLS[@]}"; do
	mst account add "late@example.com" --max-size 10 --db "$to" --data "$D"
	expect_ok "an account added to $to"
	expect_out_contains "(id 4)" "a new account on $to gets id 4, past the deleted one"
	mst deliver ann@example.com "$T_TMP/m5.eml" --db "$to" --data "$D"
	expect_ok "a delivery into $to"
	expect_eq "$(t_sql "$to" "SELECT MAX(messageuid) FROM hm_messages m JOIN hm_imapfolders f ON f.folderid = m.messagefolderid
		WHERE f.folderaccountid = 1 AND f.foldername = 'INBOX'")" 3 "the next UID in ann's INBOX on $to is 3"
	expect_eq "$(t_sql "$to" "SELECT MAX(messageid) FROM hm_messages")" 6 "a new message id on $to follows the copied ones"
done

# --- refusals -------------------------------------------------------------------------
LAST=${URLS[2]}
dump "$LAST" >"$T_TMP/last.before"
mst migrate --from "$SRC" --to "$LAST"
expect_rc 2 "a target holding a store"
expect_err_contains "is not empty: hm_accounts holds" "the error names the table"
dump "$LAST" >"$T_TMP/last.after"
cmp -s "$T_TMP/last.before" "$T_TMP/last.after" || t_fail "the refused target was changed"
t_ok
mst migrate --from "$SRC" --to "ftp://example.com/x"
expect_rc 2 "a bad target URL"
expect_err_contains "ftp://" "the error names the URL"
mst migrate --from "$SRC" --to "postgresql://$MSTORE_TEST_DB_USER@127.0.0.1:1/none"
expect_rc 4 "a dead server"
expect_err_contains "127.0.0.1:1" "the error names the server"
mst migrate --from "sqlite:$T_TMP/none.sqlite" --to "sqlite:$T_TMP/never.sqlite"
expect_fail "a source that does not exist"
[ ! -e "$T_TMP/never.sqlite" ] || t_fail "a failed source created the target"
t_ok
mst migrate --from "$SRC" --to "$SRC"
expect_rc 2 "the same database twice"
mst migrate --from "$SRC"
expect_rc 2 "no --to"

# -n: the rows it would copy, nothing written
mst migrate -n --from "$SRC" --to "sqlite:$T_TMP/dry.sqlite"
expect_ok "-n into a new SQLite file"
expect_out_contains "hm_messages 5 would be copied" "-n counts the rows"
[ ! -e "$T_TMP/dry.sqlite" ] || t_fail "-n created the target file"
t_ok
DRY=$(new_db pgsql dry)
mst migrate -n --json --from "$SRC" --to "$DRY"
expect_ok "-n --json into an empty PostgreSQL database"
expect_eq "$(t_out | jq -r '.tables[] | select(.table == "hm_accounts") | .source_rows')" 2 "--json's row count"
expect_eq "$(t_sql "$DRY" "SELECT COUNT(*) FROM information_schema.tables WHERE table_name LIKE 'hm\_%'")" 0 \
	"-n created no table"
mst migrate -n --from "$SRC" --to "$LAST"
expect_rc 2 "-n refuses a non-empty target too"

# a target that differs from the source after the copy: the comparison says so, exit 1
C=$T_TMP/changed.sqlite
MSTORE_TEST_HOOK_AT=migrate-compare \
	MSTORE_TEST_HOOK_CMD="sqlite3 -cmd '.timeout 30000' '$C' 'UPDATE hm_messages SET messageuid = 99 WHERE messageid = 1'" \
	mst migrate --from "$SRC" --to "sqlite:$C"
expect_rc 1 "a difference found by the comparison"
expect_out_contains "hm_messages 5 5 differs" "the differing table is named"
expect_out_contains "TABLES DIFFER" "the summary says so"
expect_out_contains "hm_imapfolders 5 same" "the other tables are the same"

# --- a kill -9 between two tables, then a rerun --------------------------------------
K=$(new_db "${CHAIN[1]}" killed)
MSTORE_TEST_HOOK_AT=migrate-table MSTORE_TEST_HOOK_CMD='kill -9 $PPID' mst migrate --from "$SRC" --to "$K"
expect_rc 137 "killed after the first table"
mst info --db "$K" --data "$D"
expect_fail "a half-migrated target is no store any command uses"
mst migrate --from "$SRC" --to "$K" --json
expect_ok "the rerun"
expect_eq "$(t_out | jq -r '.target + " " + (.same | tostring)')" "resumed true" "the rerun resumed and compared equal"
dump "$K" | cmp -s - "$T_TMP/src.dump" || t_fail "after kill and rerun the tables differ from the source"
t_ok

t_done
