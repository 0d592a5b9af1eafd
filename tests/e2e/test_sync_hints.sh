#!/usr/bin/env bash
# --hints-from: files an older copy of the database knew go back to their
# folders with their flags and internal dates; the rest to INBOX, unread.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

OLD=$(t_new_db old) && NEW=$(t_new_db new) || { t_fail "cannot create test databases"; t_done; }
D=$T_TMP/Data
for u in "$OLD" "$NEW"; do
	mst init "$u"; expect_ok "init"
	mst domain add example.com --db "$u"
done
mst account add bob@example.com --db "$OLD"     # different account ids in the two stores
mst account add alice@example.com --db "$OLD"
mst account add alice@example.com --db "$NEW"
mst account add bob@example.com --db "$NEW"
oa=$(t_sql "$OLD" "SELECT accountid FROM hm_accounts WHERE accountaddress='alice@example.com'")
ob=$(t_sql "$OLD" "SELECT accountid FROM hm_accounts WHERE accountaddress='bob@example.com'")
oinbox=$(t_sql "$OLD" "SELECT folderid FROM hm_imapfolders WHERE folderaccountid=$oa")
t_sql "$OLD" "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($oa, -1, 'Archive', 1, '2010-01-01 00:00:00', 0)"
arch=$(t_sql "$OLD" "SELECT folderid FROM hm_imapfolders WHERE foldername='Archive'")
t_sql "$OLD" "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($oa, $arch, '2020', 1, '2010-01-01 00:00:00', 9)"
y2020=$(t_sql "$OLD" "SELECT folderid FROM hm_imapfolders WHERE foldername='2020'")
row() { # row ACCOUNT FOLDER FILE FLAGS CREATED
	t_sql "$OLD" "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid) VALUES ($1, $2, '$3', 2, 'x@y.z', 10, 0, '1901-01-01 00:00:00', $4, '$5', 0, 7)"
}
row "$oa" "$y2020" "{A1000000-0000-0000-0000-000000000001}.eml" 1 "2015-05-05 05:05:05"
row "$oa" "$oinbox" "{A2000000-0000-0000-0000-000000000002}.eml" 9 "2016-06-06 06:06:06"
row "$ob" "$oinbox" "{A3000000-0000-0000-0000-000000000003}.eml" 1 "2017-07-07 07:07:07"
for n in 1 2 3 4; do
	f="$D/example.com/alice/A$n/{A${n}000000-0000-0000-0000-00000000000$n}.eml"
	mkdir -p "$(dirname "$f")"
	printf 'From: s@x.org\r\nDate: Mon, 01 Jan 2018 00:00:00 +0000\r\n\r\nmessage %s\r\n' "$n" > "$f"
	touch -d '2019-01-01' "$f"
done

mst sync --db "$NEW" --data "$D" --hints-from "$OLD" --json "$T_TMP/r.json"; expect_ok "sync with hints"
na=$(t_sql "$NEW" "SELECT accountid FROM hm_accounts WHERE accountaddress='alice@example.com'")
f() { t_sql "$NEW" "SELECT $1 FROM hm_messages WHERE messagefilename='{A$2000000-0000-0000-0000-00000000000$2}.eml'"; }
folder_name() { t_sql "$NEW" "SELECT foldername FROM hm_imapfolders WHERE folderid=$1"; }
parent_of() { t_sql "$NEW" "SELECT folderparentid FROM hm_imapfolders WHERE folderid=$1"; }
expect_eq "$(folder_name "$(f messagefolderid 1)")" "2020" "hinted file back in its folder"
expect_eq "$(folder_name "$(parent_of "$(f messagefolderid 1)")")" "Archive" "folder path recreated"
expect_eq "$(t_sql "$NEW" "SELECT folderaccountid FROM hm_imapfolders WHERE foldername='Archive'")" "$na" "recreated folders belong to the account"
expect_eq "$(f messageflags 1)" "1" "flags from the hint (Seen)"
expect_eq "$(f messagecreatetime 1 | cut -c1-19)" "2015-05-05 05:05:05" "internal date from the hint"
expect_eq "$(f messageuid 1)" "1" "UID from the new folder's counter"
expect_eq "$(folder_name "$(f messagefolderid 2)")" "INBOX" "hint in INBOX"
expect_eq "$(f messageflags 2)" "9" "INBOX hint keeps its flags"
expect_eq "$(f messageflags 3)" "32" "a hint for another account is ignored"
expect_eq "$(f messagecreatetime 3 | cut -c1-19)" "2018-01-01 00:00:00" "no hint: date from the message"
expect_eq "$(f messageflags 4)" "32" "no hint: unread"
expect_eq "$(jq -r '[.files[] | select(.from_hints)] | length' "$T_TMP/r.json")" "2" "report marks hinted files"
mst sync --db "$NEW" --data "$D" --hints-from "postgresql://nobody@127.0.0.1:1/x"; expect_fail "unreachable hint database"
expect_err_contains "--hints-from" "hint database error says which option"
t_done
