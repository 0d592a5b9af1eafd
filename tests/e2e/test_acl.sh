#!/usr/bin/env bash
# mstore acl list|set|delete and mstore readership over hm_acl: the
# letters <-> bits mapping hMailServer uses (checked against the raw
# aclvalue), +/- edits, groups and anyone, inheritance to sub-folders,
# -n, --json, and every bad input (exit 2, nothing changed).
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server

URL=$(t_new_db acl) || { t_fail "cannot create a test database"; t_done; }
mkdir -p "$T_TMP/data"
mst init "$URL"; expect_ok "init"
M() { mst "$@" --db "$URL" --data "$T_TMP/data"; }
q() { t_sql "$URL" "$1"; }
M domain add example.com
for u in ann bob cid dee; do M account add "$u@example.com"; done
# public folders and a group: rows as hMailServer's administrator makes them
# (mstore has no command for them in this branch: folder create is issue 16 item 1)
newfolder() { q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES (0, $1, '$2', 1, '2020-01-01 00:00:00', 0)"; }
newfolder -1 shared
SH=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = 0 AND foldername = 'shared'")
newfolder "$SH" sub
newfolder -1 other
q "INSERT INTO hm_groups (groupname) VALUES ('staff')"
G=$(q "SELECT groupid FROM hm_groups WHERE groupname = 'staff'")
BOB=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress = 'bob@example.com'")
CID=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress = 'cid@example.com'")
q "INSERT INTO hm_group_members (membergroupid, memberaccountid) VALUES ($G, $BOB)"
q "INSERT INTO hm_group_members (membergroupid, memberaccountid) VALUES ($G, $CID)"
val() { q "SELECT aclvalue FROM hm_acl WHERE aclsharefolderid = $SH AND aclpermissiontype = $1"; }

# --- the mapping: each letter its bit (ACLPermission.h) ---------------------
bit=1
for l in l r s w i p k x t e a; do
	M acl set '#Public/shared' anyone "$l"; expect_ok "set $l"
	expect_eq "$(val 2)" "$bit" "letter $l is bit $bit"
	bit=$((bit * 2))
done
M acl set '#Public/shared' anyone lrswipkxtea; expect_ok "all rights"
expect_eq "$(val 2)" "2047" "all eleven bits"
M acl list '#Public/shared'; expect_ok "list"
expect_out_contains "#Public/shared	anyone	lrswipkxtea	2047" "list shows letters and value"
M acl set '#Public/shared' anyone c; expect_ok "obsolete c"
expect_eq "$(val 2)" "192" "c is k and x (RFC 4314 2.1.1)"
M acl set '#Public/shared' anyone d; expect_ok "obsolete d"
expect_eq "$(val 2)" "896" "d is x, t and e"
M acl set '#Public/shared' anyone lr; expect_ok "replace"
expect_eq "$(val 2)" "3" "replaced, not added"
M acl set '#Public/shared' anyone +is; expect_ok "+is"
expect_eq "$(val 2)" "23" "added"
M acl set '#Public/shared' anyone -si; expect_ok "-si (getopt must not take it for options)"
expect_eq "$(val 2)" "3" "taken away"
expect_eq "$(q "SELECT COUNT(*) FROM hm_acl")" "1" "one row for anyone, updated in place"
expect_eq "$(q "SELECT aclpermissiongroupid, aclpermissionaccountid FROM hm_acl")" "0	0" "anyone's row names nobody"

# --- accounts and groups -----------------------------------------------------
M acl set '#Public/shared' staff lrsw --json; expect_ok "group"
expect_eq "$(t_out | jq -c '[.before, .after, .value, .dry_run]')" '[null,"lrsw",15,false]' "set --json"
expect_eq "$(q "SELECT aclpermissiongroupid FROM hm_acl WHERE aclpermissiontype = 1")" "$G" "group row names the group"
M acl set '#Public/shared' CID@example.com lrswipkxtea; expect_ok "account (any case)"
expect_eq "$(q "SELECT aclpermissionaccountid FROM hm_acl WHERE aclpermissiontype = 0")" "$CID" "account row names the account"
M acl set '#Public/shared' staff -w -n; expect_ok "dry run"
expect_out_contains "would change #Public/shared staff: lrsw -> lrs" "dry run says what"
expect_eq "$(val 1)" "15" "dry run changed nothing"
M acl list --json; expect_ok "list --json"
expect_eq "$(t_out | jq -r '[.[] | .type + ":" + .who + ":" + .rights] | join(",")')" "anyone:anyone:lr,group:staff:lrsw,account:cid@example.com:lrswipkxtea" "json rows in id order"

# --- readership: account > group > anyone, inherited by sub ------------------
M readership; expect_ok "readership"
expect_eq "$(t_out | grep -c .)" "8" "four accounts on two folders (other has no rows)"
expect_out_contains "#Public/shared	ann@example.com	lr" "ann: anyone's"
expect_out_contains "#Public/shared	bob@example.com	lrsw" "bob: his group's"
expect_out_contains "#Public/shared	cid@example.com	lrswipkxtea" "cid: her own row beats her group"
expect_out_contains "#Public/shared/sub	dee@example.com	lr" "sub inherits shared's rows"
M readership --json; expect_ok "readership --json"
expect_eq "$(t_out | jq -r '.[] | select(.folder == "#Public/shared/sub" and .account == "bob@example.com") | .rights')" "lrsw" "json readership"
SUB=$(q "SELECT folderid FROM hm_imapfolders WHERE foldername = 'sub'")
M acl set '#Public/shared/sub' ann@example.com r; expect_ok "a row on sub"
M readership
expect_out_contains "#Public/shared/sub	ann@example.com	r" "sub's own rows now decide"
if t_out | grep -q "#Public/shared/sub	bob@example.com"; then t_fail "bob keeps rights on sub though sub has rows of its own"; else t_ok; fi

# --- delete --------------------------------------------------------------------
M acl delete '#Public/shared' anyone; expect_ok "delete"
expect_eq "$(q "SELECT COUNT(*) FROM hm_acl WHERE aclpermissiontype = 2")" "0" "anyone's row gone"
M acl delete '#Public/shared' anyone; expect_rc 1 "delete a row that is not there"; expect_err_contains "has no row" "says so"
M acl delete '#Public/shared' staff -n --json; expect_ok "delete -n"
expect_eq "$(val 1)" "15" "delete -n kept the row"

# --- bad input: exit 2, nothing changed ------------------------------------------
n=$(q "SELECT COUNT(*), SUM(aclvalue) FROM hm_acl")
M acl set '#Public/nope' anyone lr; expect_rc 2 "no such folder"; expect_err_contains "no public folder #Public/nope" "names it"
M acl set 'user/ann@example.com/INBOX' anyone lr; expect_rc 2 "an account's folder"; expect_err_contains "not a shared folder" "says why"
M acl set '#Public/shared' anyone lrz; expect_rc 2 "unknown right"; expect_err_contains "'z'" "names the letter"
M acl set '#Public/shared' nobody@example.com lr; expect_rc 2 "unknown account"; expect_err_contains "nobody@example.com" "names it"
M acl set '#Public/shared' nogroup lr; expect_rc 2 "unknown group"; expect_err_contains "group 'nogroup'" "names it"
M acl set '#Public/shared' anyone; expect_rc 2 "missing rights"
M acl frob; expect_rc 2 "unknown verb"
M readership extra; expect_rc 2 "readership takes no argument"
M acl set $'#Public/sh\nared' anyone lr; expect_rc 2 "newline in a name"; expect_err_contains '#Public/sh\x0aared' "escaped in the message"
expect_eq "$(q "SELECT COUNT(*), SUM(aclvalue) FROM hm_acl")" "$n" "bad input changed nothing"
# groups that differ only in case: the exact name wins, else the lowest id
q "INSERT INTO hm_groups (groupname) VALUES ('Staff')"
G2=$(q "SELECT MAX(groupid) FROM hm_groups") # (MariaDB's '=' ignores case: it would find staff too)
staff_row=$(q "SELECT aclid, aclvalue FROM hm_acl WHERE aclpermissiontype = 1 AND aclpermissiongroupid = $G")
M acl set '#Public/shared' Staff lr; expect_ok "set for the group named exactly Staff"
expect_eq "$(q "SELECT COUNT(*) FROM hm_acl WHERE aclpermissiontype = 1 AND aclpermissiongroupid = $G2")" 1 "the row is Staff's"
expect_eq "$(q "SELECT aclid, aclvalue FROM hm_acl WHERE aclpermissiontype = 1 AND aclpermissiongroupid = $G")" "$staff_row" "staff's row is untouched"
M acl delete '#Public/shared' Staff; expect_ok "delete Staff's row"
q "DELETE FROM hm_groups WHERE groupid = $G2"

t_done
