#!/usr/bin/env bash
# mstore folder (list, create, delete, rename, subscribe, unsubscribe,
# lock, the account move) and mstore path on a synced store: every option,
# bad input refused with nothing changed, UIDs and UIDVALIDITY as an IMAP
# client expects, and `mstore reconstruct -n` clean after each operation.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
GEN=${MSTORE_GEN:?MSTORE_GEN not set}
export TZ=UTC

"$GEN" --seed 5 --messages 60 --domains 1 --accounts 3 "$T_TMP/g" >/dev/null || t_fail "generator"
URL=$(t_new_db folder)
D=$T_TMP/g/Data
mst init "$URL"; expect_ok "init"
t_add_objects "$URL" "$T_TMP/g/objects.txt"
mst domain add other.org --db "$URL"; expect_ok "second domain"
mst sync --db "$URL" --data "$D" --settle 0 --no-progress; expect_ok "sync"
A=alice0@d0.example.com B=bob1@d0.example.com
S=(--db "$URL" --data "$D")

clean() { # clean LABEL: reconstruct -n finds nothing
	mst reconstruct -n "${S[@]}" --settle 0
	expect_ok "$1: reconstruct -n clean"
	expect_out_contains "no findings" "$1: reconstruct -n clean"
}
q() { t_sql "$URL" "$1"; }
state() { q "SELECT folderid, folderaccountid, folderparentid, foldername, folderissubscribed, foldercurrentuid, foldercreationtime FROM hm_imapfolders ORDER BY folderid"; q "SELECT accountid, accountaddress FROM hm_accounts ORDER BY accountid"; q "SELECT COUNT(*) FROM hm_messages"; (cd "$D" && find . -path ./.mstore -prune -o -print | sort); }
unchanged() { # unchanged LABEL BEFORE: the store is as it was
	expect_eq "$(state)" "$2" "$1: nothing changed"
}

# ---- create ------------------------------------------------------------------
mst folder create "user/$B/Archive/2024" "${S[@]}"; expect_ok "create with parents"
expect_out_contains "create user/$B/Archive/2024" "create says what it did"
expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders f JOIN hm_accounts a ON a.accountid = f.folderaccountid WHERE a.accountaddress = '$B' AND f.foldername IN ('Archive', '2024') AND f.folderissubscribed = 1")" 2 "create made both levels, subscribed"
before=$(state)
mst folder create "user/$B/Archive/2024" "${S[@]}"; expect_rc 2 "create of an existing folder"
expect_err_contains "exists already" "create of an existing folder says so"
mst folder create "user/nobody@d0.example.com/X" "${S[@]}"; expect_rc 2 "create for an unknown account"
expect_err_contains "no account nobody@d0.example.com" "unknown account named"
mst folder create "user/$B/a//b" "${S[@]}"; expect_rc 2 "empty level"
# a level holding the server's IMAP hierarchy delimiter ('.' by default)
# would be two levels to an IMAP client, and backup and export refuse it;
# '.' and '..' are no folder names either
for lvl in dot.ted . .. a.; do
	mst folder create "user/$B/$lvl" "${S[@]}"; expect_rc 2 "create a level '$lvl'"
	expect_err_contains "user/$B/$lvl" "create '$lvl': the mailbox named"
	mst folder create -n "user/$B/$lvl" "${S[@]}"; expect_rc 2 "create -n a level '$lvl'"
	mst folder create "user/$B/Ok/$lvl" "${S[@]}"; expect_rc 2 "create a lower level '$lvl'"
done
expect_err_contains "the hierarchy delimiter '.'" "the delimiter named"
mst folder create "user/$B/New" -n --json "${S[@]}"; expect_ok "create -n"
expect_out_contains '"dry_run":true' "create -n --json"
unchanged "bad creates and create -n" "$before"
mst folder create '#Public/Shared/Team' --json "${S[@]}"; expect_ok "create a public folder"
expect_out_contains '"mailbox":"#Public/Shared/Team"' "public create --json"
clean "after create"

# ---- list ----------------------------------------------------------------------
mst folder list "${S[@]}"; expect_ok "list"
expect_eq "$(t_out)" "$(printf '%s\n' '#Public/Shared' '#Public/Shared/Team' "user/$A/INBOX" "user/$B/Archive" "user/$B/Archive/2024" "user/$B/INBOX" user/carol2@d0.example.com/INBOX)" "list: every mailbox, sorted"
mst folder list -p 'Archive' "${S[@]}"; expect_ok "list -p"
expect_eq "$(t_out | wc -l)" 2 "list -p keeps the matches"
mst folder list --account "$A" "${S[@]}"; expect_ok "list --account"
expect_eq "$(t_out)" "user/$A/INBOX" "list --account narrows (no #Public)"
mst folder list --domain other.org "${S[@]}"; expect_ok "list --domain"
expect_eq "$(t_out)" "" "list --domain of a domain without accounts"
# an unknown domain or account is a typo, not an empty list (as sync and reconstruct)
mst folder list --domain nowhere.example "${S[@]}"; expect_rc 2 "list --domain of an unknown domain"
expect_err_contains "--domain nowhere.example: no such domain" "the unknown domain named"
mst folder list --account "nobody@d0.example.com" "${S[@]}"; expect_rc 2 "list --account of an unknown account"
expect_err_contains "--account nobody@d0.example.com: no such account" "the unknown account named"
mst folder list --account "$A" --account "x@nowhere.example" "${S[@]}"; expect_rc 2 "list: one unknown account of two"
expect_eq "$(t_out)" "" "nothing listed when an account is unknown"
mst folder list --account "$(echo "$A" | tr a-z A-Z)" "${S[@]}"; expect_ok "list --account in another case"
expect_eq "$(t_out)" "user/$A/INBOX" "an account in another case is the account"
n=0; for k in 1 2 3; do mst folder list --shard "$k/3" "${S[@]}"; n=$((n + $(t_out | grep -c '^user/'))); done
expect_eq "$n" 5 "the shards together list every account folder once"
mst folder list -p '(' "${S[@]}"; expect_rc 2 "bad pattern"
expect_err_contains "not a valid POSIX extended regular expression" "bad pattern named"
mst folder list --shard 4/3 "${S[@]}"; expect_rc 2 "bad shard"
binbox=$(q "SELECT f.folderid FROM hm_imapfolders f JOIN hm_accounts a ON a.accountid = f.folderaccountid WHERE a.accountaddress = '$B' AND f.foldername = 'INBOX'")
bcount=$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefolderid = $binbox")
bsize=$(q "SELECT SUM(messagesize) FROM hm_messages WHERE messagefolderid = $binbox")
bnext=$(( $(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid = $binbox") + 1 ))
mst folder list -x -p "^user/$B/INBOX\$" "${S[@]}"; expect_ok "list -x"
expect_eq "$(t_out | cut -f2-5)" "$(printf 'd0.example.com/bob1\t%s\t%s\t%s' "$bcount" "$bsize" "$bnext")" "list -x: path, count, size, UIDNEXT"
mst folder list -x --json -p '^#Public/Shared$' "${S[@]}"; expect_ok "list -x --json"
expect_out_contains '"path":"#Public"' "list -x --json path of #Public"
pub=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = 0 AND foldername = 'Shared'")
aid=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress = '$A'")
q "INSERT INTO hm_acl (aclsharefolderid, aclpermissiontype, aclpermissiongroupid, aclpermissionaccountid, aclvalue) VALUES ($pub, 0, 0, $aid, 3)"
mst folder list -x -p '^#Public/Shared$' "${S[@]}"; expect_ok "list -x with an ACL"
expect_eq "$(t_out | cut -f8)" "$A=3" "list -x shows the ACL entry"

# ---- subscribe / unsubscribe ----------------------------------------------------
mst folder unsubscribe "user/$B/Archive" "${S[@]}"; expect_ok "unsubscribe"
expect_eq "$(q "SELECT folderissubscribed FROM hm_imapfolders WHERE foldername = 'Archive'")" 0 "unsubscribed"
mst folder subscribe "user/$B/Archive" -n "${S[@]}"; expect_ok "subscribe -n"
expect_eq "$(q "SELECT folderissubscribed FROM hm_imapfolders WHERE foldername = 'Archive'")" 0 "subscribe -n changed nothing"
mst folder subscribe "user/$B/Archive" --json "${S[@]}"; expect_ok "subscribe"
expect_eq "$(q "SELECT folderissubscribed FROM hm_imapfolders WHERE foldername = 'Archive'")" 1 "subscribed"
mst folder subscribe "user/$B/Nope" "${S[@]}"; expect_rc 2 "subscribe an unknown folder"

# ---- rename within an account: UIDs and UIDVALIDITY kept ------------------------------
arch=$(q "SELECT folderid FROM hm_imapfolders WHERE foldername = '2024'")
ids=$(q "SELECT messageid FROM hm_messages WHERE messagefolderid = $binbox ORDER BY messageid" | awk 'NR % 2 == 0' | paste -sd, -)
q "UPDATE hm_messages SET messagefolderid = $arch WHERE messageid IN ($ids)"
q "UPDATE hm_imapfolders SET foldercurrentuid = (SELECT MAX(messageuid) FROM hm_messages) WHERE folderid = $arch"
uids_before=$(q "SELECT messageid, messageuid FROM hm_messages WHERE messagefolderid = $arch ORDER BY messageid")
mst folder list -x -p "2024\$" "${S[@]}"; v_before=$(t_out | cut -f6)
mst folder rename "user/$B/Archive/2024" "user/$B/Old/Y2024" "${S[@]}"; expect_ok "rename with a new parent"
mst folder list -x -p "Y2024\$" "${S[@]}"
expect_eq "$(t_out | cut -f1)" "user/$B/Old/Y2024" "renamed"
expect_eq "$(t_out | cut -f6)" "$v_before" "rename keeps the UIDVALIDITY"
expect_eq "$(q "SELECT messageid, messageuid FROM hm_messages WHERE messagefolderid = $arch ORDER BY messageid")" "$uids_before" "rename keeps the messages and UIDs"
clean "after rename"
before=$(state)
mst folder rename "user/$B/Old" "user/$B/Archive" "${S[@]}"; expect_rc 2 "rename onto an existing folder"
expect_err_contains "exists already" "rename onto an existing folder named"
mst folder rename "user/$B/Old" "user/$B/Old/Y2024/In" "${S[@]}"; expect_rc 2 "rename below itself"
mst folder rename "user/$B/INBOX" "user/$B/Inbox2" "${S[@]}"; expect_rc 2 "rename INBOX within the account"
mst folder rename "user/$B/Nope" "user/$B/Nope2" "${S[@]}"; expect_rc 2 "rename an unknown folder"
mst folder rename "user/$B/Old" "user/$A/Old" "${S[@]}"; expect_rc 2 "rename across accounts"
mst folder rename "user/$B/Old" "user/$B/Old2" -n --json "${S[@]}"; expect_ok "rename -n"
expect_out_contains '"dry_run":true' "rename -n --json"
# -n makes the checks the rename makes: every refusal above, refused alike
for bad in "user/$B/Old user/$B/Archive" "user/$B/Old user/$B/Old/Y2024/In" "user/$B/Old user/$B/Old/New" \
	"user/$B/INBOX user/$B/Inbox2" "user/$B/Nope user/$B/Nope2" "user/$B/Old user/$A/Old" "user/$B/Old user/$B/inbox" \
	"user/$B/Old user/$B/dot.ted" "user/$B/Old user/$B/.." "user/$B/Old user/$B/X/."; do
	# shellcheck disable=SC2086
	mst folder rename $bad "${S[@]}"; want=$T_RC; real=$(t_errout)
	# shellcheck disable=SC2086
	mst folder rename -n $bad "${S[@]}"; expect_rc "$want" "rename -n $bad: refused as the real run is"
	expect_eq "$(t_errout)" "$real" "rename -n $bad: the real run's message"
done
unchanged "bad renames and rename -n" "$before"
mst folder rename '#Public/Shared/Team' '#Public/Team' "${S[@]}"; expect_ok "rename within #Public"

# ---- delete: files into the trash, UIDVALIDITY new on re-create ------------------------------
mst folder list -x -p "^user/$B/Archive\$" "${S[@]}"; v_arch=$(t_out | cut -f6)
files=$(q "SELECT messagefilename FROM hm_messages WHERE messagefolderid = $arch" | sort)
nfiles=$(echo "$files" | grep -c .)
[ "$nfiles" -gt 5 ] || t_fail "too few messages in the folder to delete ($nfiles)"
before=$(state)
mst folder delete "user/$B/Old" -n --json "${S[@]}"; expect_ok "delete -n"
expect_out_contains "\"messages\":$nfiles" "delete -n counts the messages"
mst folder delete "user/$B/INBOX" "${S[@]}"; expect_rc 2 "delete INBOX"
mst folder delete "user/$B/Nope" "${S[@]}"; expect_rc 2 "delete an unknown folder"
mst folder delete "user/$B" "${S[@]}"; expect_rc 2 "delete an account by folder delete"
unchanged "delete -n and refused deletes" "$before"
mst folder delete "user/$B/Old" --json "${S[@]}"; expect_ok "delete"
expect_out_contains "\"folders\":2,\"messages\":$nfiles" "delete takes the folder, its sub-folder and messages"
expect_out_contains "\"files_moved\":$nfiles" "delete moves every file"
expect_eq "$(find "$D/.mstore/trash" -name '*.eml' -printf '%f\n' | sort)" "$files" "the files are in the trash"
expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders WHERE foldername IN ('Old', 'Y2024')")" 0 "folder rows gone"
clean "after delete"
mst folder create "user/$B/Old/Y2024" "${S[@]}"; expect_ok "re-create"
mst folder list -x -p "Y2024\$" "${S[@]}"
[ "$(t_out | cut -f6)" != "$v_before" ] || t_fail "a re-created folder got the deleted one's UIDVALIDITY"; t_ok
expect_eq "$(t_out | cut -f3,5)" "$(printf '0\t1')" "a re-created folder starts empty at UID 1"
# --purge: no file in the trash
q "UPDATE hm_messages SET messagefolderid = (SELECT folderid FROM hm_imapfolders WHERE foldername = 'Y2024') WHERE messagefolderid = $binbox AND messageuid <= 3"
pfiles=$(q "SELECT messagefilename FROM hm_messages WHERE messagefolderid = (SELECT folderid FROM hm_imapfolders WHERE foldername = 'Y2024')")
q "UPDATE hm_imapfolders SET foldercurrentuid = 10 WHERE foldername = 'Y2024'"
[ "$(echo "$pfiles" | grep -c .)" -gt 0 ] || t_fail "no message to purge"
ntrash=$(find "$D/.mstore/trash" -name '*.eml' | wc -l)
mst folder delete "user/$B/Old" --purge "${S[@]}"; expect_ok "delete --purge"
expect_out_contains "$(echo "$pfiles" | grep -c .) files removed" "--purge says the files were removed"
expect_eq "$(find "$D/.mstore/trash" -name '*.eml' | wc -l)" "$ntrash" "--purge puts nothing in the trash"
for f in $pfiles; do [ -z "$(find "$D" -name "$f")" ] || t_fail "--purge left $f"; done; t_ok
clean "after delete --purge"

# a public folder's messages live in DATA/#Public: delete moves them from there
team=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = 0 AND foldername = 'Team'")
amid=$(q "SELECT m.messageid FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE a.accountaddress = '$A' ORDER BY m.messageid LIMIT 1")
afn=$(q "SELECT messagefilename FROM hm_messages WHERE messageid = $amid")
mkdir -p "$D/#Public/${afn:1:2}" && mv "$D/d0.example.com/alice0/${afn:1:2}/$afn" "$D/#Public/${afn:1:2}/"
q "UPDATE hm_messages SET messageaccountid = 0, messagefolderid = $team WHERE messageid = $amid"
q "UPDATE hm_imapfolders SET foldercurrentuid = 100000 WHERE folderid = $team"
mst path '#Public' --message "$amid" "${S[@]}"; expect_eq "$(t_out)" "#Public/${afn:1:2}/$afn" "path --message of a public message"
mst folder delete '#Public/Team' "${S[@]}"; expect_ok "delete a public folder"
expect_out_contains "1 messages" "the public folder's message counted"
[ -f "$(find "$D/.mstore/trash" -path "*#Public/$afn*" | head -1)" ] || t_fail "the public message's file is not in the trash"; t_ok
clean "after deleting a public folder"

# ---- path --------------------------------------------------------------------------------
mst path "$B" "${S[@]}"; expect_ok "path"
expect_eq "$(t_out)" "d0.example.com/bob1" "path of an account"
mid=$(q "SELECT messageid FROM hm_messages WHERE messagefolderid = $binbox ORDER BY messageid LIMIT 1")
fn=$(q "SELECT messagefilename FROM hm_messages WHERE messageid = $mid")
mst path "$B" --message "$mid" --json "${S[@]}"; expect_ok "path --message"
expect_out_contains "\"path\":\"d0.example.com/bob1/${fn:1:2}/$fn\"" "path --message names the file"
[ -f "$D/d0.example.com/bob1/${fn:1:2}/$fn" ] || t_fail "the path --message printed is not the file"; t_ok
mst path "$A" --message "$mid" "${S[@]}"; expect_rc 2 "path --message of another account's message"
mst path nobody@d0.example.com "${S[@]}"; expect_rc 2 "path of an unknown address"
mst path "not-an-address" "${S[@]}"; expect_rc 2 "path of a word"
mst path '#Public' "${S[@]}"; expect_ok "path #Public"
expect_eq "$(t_out)" "#Public" "path #Public"

# ---- the account move --------------------------------------------------------------------------
mst folder create "user/$B/Keep" "${S[@]}"
state_b=$(q "SELECT f.folderid, f.foldername, f.foldercurrentuid, f.foldercreationtime FROM hm_imapfolders f JOIN hm_accounts a ON a.accountid = f.folderaccountid WHERE a.accountaddress = '$B' ORDER BY f.folderid")
msgs_b=$(q "SELECT m.messageid, m.messageuid, m.messagefilename FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE a.accountaddress = '$B' ORDER BY m.messageid")
hash_b=$(t_content_hash "$D/d0.example.com/bob1")
before=$(state)
mst folder rename "user/$B/INBOX" "user/$A/INBOX" "${S[@]}"; expect_rc 2 "move onto an existing account"
mst folder rename "user/$B/INBOX" "user/x@nowhere.example/INBOX" "${S[@]}"; expect_rc 2 "move into an unknown domain"
mst alias add al@d0.example.com "$A" --db "$URL"
mst folder rename "user/$B/INBOX" "user/al@d0.example.com/INBOX" "${S[@]}"; expect_rc 2 "move onto an alias"
one=$(q "SELECT m.messageid FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE a.accountaddress = '$B' ORDER BY m.messageid LIMIT 1")
onefn=$(q "SELECT messagefilename FROM hm_messages WHERE messageid = $one")
q "UPDATE hm_messages SET messagefilename = 'C:/Data/d0.example.com/bob1/$onefn' WHERE messageid = $one"
mst folder rename "user/$B/INBOX" "user/bobby@other.org/INBOX" "${S[@]}"; expect_rc 2 "move of an account with a full-path row"
expect_err_contains "full path" "the full-path row is the reason"
# a Windows path (backslashes, which MariaDB's LIKE would take as its escape)
bs='\'; [ "$MSTORE_TEST_BACKEND" = mysql ] && bs='\\'
q "UPDATE hm_messages SET messagefilename = 'C:${bs}Data${bs}d0.example.com${bs}bob1${bs}$onefn' WHERE messageid = $one"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefilename LIKE 'C:%bob1%$onefn'")" 1 "the backslash row is there"
mst folder rename "user/$B/INBOX" "user/bobby@other.org/INBOX" "${S[@]}"; expect_rc 2 "move of an account with a backslash full-path row"
expect_err_contains "1 of its message rows name their file by a full path" "the backslash full-path row is counted"
q "UPDATE hm_messages SET messagefilename = '$onefn' WHERE messageid = $one"
mkdir -p "$D/other.org/bobby/AB"; touch "$D/other.org/bobby/AB/stray.eml"
mst folder rename "user/$B/INBOX" "user/bobby@other.org/INBOX" "${S[@]}"; expect_rc 2 "move onto a directory with files"
rm -rf "$D/other.org"
mst folder rename "user/$B/INBOX" "user/Bobby@Other.org/INBOX" -n --json "${S[@]}"; expect_ok "move -n"
expect_out_contains '"dry_run":true' "move -n --json"
unchanged "refused moves and move -n" "$before"
mst folder rename "user/$B/INBOX" "user/Bobby@Other.org/INBOX" --json "${S[@]}"; expect_ok "move an account"
expect_out_contains '"action":"move-account"' "move --json"
expect_eq "$(q "SELECT accountaddress FROM hm_accounts WHERE accountaddress LIKE 'Bobby%'")" "Bobby@other.org" "the account has the new address"
[ ! -e "$D/d0.example.com/bob1" ] || t_fail "the old directory is still there"; t_ok
expect_eq "$(t_content_hash "$D/other.org/bobby")" "$hash_b" "every file moved into the new directory"
expect_eq "$(q "SELECT f.folderid, f.foldername, f.foldercurrentuid, f.foldercreationtime FROM hm_imapfolders f JOIN hm_accounts a ON a.accountid = f.folderaccountid WHERE a.accountaddress = 'Bobby@other.org' ORDER BY f.folderid")" "$state_b" "folders, UIDNEXT and UIDVALIDITY kept"
expect_eq "$(q "SELECT m.messageid, m.messageuid, m.messagefilename FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE a.accountaddress = 'Bobby@other.org' ORDER BY m.messageid")" "$msgs_b" "messages and UIDs kept"
[ -z "$(ls "$D/.mstore" | grep '\.move')" ] || t_fail "the move journal is left"; t_ok
mst path Bobby@other.org "${S[@]}"; expect_eq "$(t_out)" "other.org/bobby" "path after the move"
clean "after the account move"

# ---- hostile names: escaped in every line, refused as a new address ------------------------------------
# a folder name with a terminal escape and a newline: the error names it escaped, on one line
mst folder create "user/Bobby@other.org/$(printf 'x\033[2J\nFAKE LINE')" "${S[@]}"; expect_rc 2 "a control character in a folder name"
grep -q $'\033' "$T_TMP/err" && t_fail "the error holds a raw ESC"; t_ok
expect_eq "$(wc -l <"$T_TMP/err")" 1 "the error is one line"
expect_err_contains 'x\x1b[2J\x0aFAKE LINE' "the name is escaped"
mst folder rename "user/Bobby@other.org/Nope$(printf '\033]0;t\a')" "user/Bobby@other.org/N2" "${S[@]}"; expect_rc 2 "rename of an unknown folder with an escape in its name"
grep -q $'\033' "$T_TMP/err" && t_fail "the rename error holds a raw ESC"; t_ok
# a new address that is no UTF-8 or holds a C1 control: refused, as account add refuses it
for bad in $'ev\xc2\x85il@other.org' $'ev\xffil@other.org' $'ev\x1bil@other.org'; do
	mst folder rename "user/Bobby@other.org/INBOX" "user/$bad/INBOX" "${S[@]}"; expect_rc 2 "move to a hostile address"
	grep -q $'[\x01-\x1f\x7f]' "$T_TMP/err" && t_fail "the move's error holds a raw control"; t_ok
	mst account add "$bad" "${S[@]}"; expect_rc 2 "account add of a hostile address"
done
expect_eq "$(q "SELECT accountaddress FROM hm_accounts WHERE accountaddress LIKE 'Bobby%'")" "Bobby@other.org" "no hostile move happened"
# an account whose address already holds one (written by another tool): the move's lines escape it
mst account add evil@other.org "${S[@]}"; expect_ok "account evil"
q "UPDATE hm_accounts SET accountaddress = '$(printf 'ev\302\205il@other.org')' WHERE accountaddress = 'evil@other.org'"
mst folder rename "user/$(printf 'ev\302\205il@other.org')/INBOX" user/good@other.org/INBOX "${S[@]}"; expect_ok "move of a hostile address to a clean one"
grep -q $'\xc2\x85' "$T_TMP/out" && t_fail "the move's output holds the raw C1 control: $(cat -v "$T_TMP/out")"; t_ok
expect_out_contains 'other.org/ev\xc2\x85il/ -> other.org/good/' "the directory line is escaped"
mst account delete good@other.org "${S[@]}"; expect_ok "delete the moved account"

# ---- lock: two processes ------------------------------------------------------------------------------
LB="user/Bobby@other.org/Keep"
mst folder create "user/Bobby@other.org/Outside" "${S[@]}"; expect_ok "a folder to move into the locked one"
mst folder lock "$LB" "${S[@]}" -- sh -c 'exit 7'; expect_rc 7 "lock passes on the command's exit code"
# the whole account: every folder of it is locked while the command runs
mst folder lock "user/Bobby@other.org" "${S[@]}" -- "$MSTORE_BIN" folder lock "$LB" "${S[@]}" -- true
expect_ok "lock of an account covers its folders (inherited by the child)"
MSTORE_MAILBOX_LOCKS= mst folder lock "user/Bobby@other.org" "${S[@]}" -- env -u MSTORE_MAILBOX_LOCKS \
	MSTORE_DB_PASSWORD="${MSTORE_TEST_DB_PASSWORD:-}" "$MSTORE_BIN" folder unsubscribe "$LB" "${S[@]}"
expect_rc 1 "an account's lock keeps a process that does not inherit it out of its folders"
mst folder lock "user/Bobby@other.org/Nope" "${S[@]}" -- true; expect_rc 2 "lock of an unknown folder"
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" folder lock "$LB" "${S[@]}" -- sh -c "touch '$T_TMP/held'; while [ ! -e '$T_TMP/go' ]; do sleep 0.05; done" &
lockpid=$!
for _ in $(seq 200); do [ -e "$T_TMP/held" ] && break; sleep 0.05; done
[ -e "$T_TMP/held" ] || t_fail "the locked command did not start"
before=$(state)
mst folder rename "$LB" "user/Bobby@other.org/Kept" "${S[@]}"; expect_rc 1 "rename of a locked folder"
expect_err_contains "locked by another mstore process" "the lock is named"
mst folder delete "$LB" "${S[@]}"; expect_rc 1 "delete of a locked folder"
expect_err_contains "mailbox '$LB': folder " "the refusal names the mailbox, not only a folder id"
mst folder create "$LB/Sub" "${S[@]}"; expect_rc 1 "create below a locked folder"
expect_err_contains "mailbox '$LB/Sub': folder " "the create's refusal names the mailbox"
mst folder create "$LB/Sub" "${S[@]}"; expect_rc 1 "create below a locked folder"
mst folder rename "user/Bobby@other.org/INBOX" "user/bob2@d0.example.com/INBOX" "${S[@]}"; expect_rc 1 "move of an account with a locked folder"
# a rename into the locked tree is a create below it: refused as create is
mst folder rename "user/Bobby@other.org/Outside" "$LB/Outside" "${S[@]}"; expect_rc 1 "rename into a locked folder"
expect_err_contains "locked by another mstore process" "rename into a locked folder: the lock is named"
mst folder rename "user/Bobby@other.org/Outside" "$LB/New/Outside" "${S[@]}"; expect_rc 1 "rename to a new parent below a locked folder"
mst folder lock "$LB" "${S[@]}" -- true &
second=$!
sleep 0.5
kill -0 "$second" 2>/dev/null || t_fail "a second lock did not wait for the first"; t_ok
unchanged "a locked mailbox" "$before"
touch "$T_TMP/go"
wait "$lockpid"; T_RC=$?; expect_ok "the first lock's command finished"
wait "$second"; T_RC=$?; expect_ok "the second lock got the mailbox after the first"
# an mstore run by the locked command works on the mailbox (the lock is inherited)
mst folder lock "$LB" "${S[@]}" -- "$MSTORE_BIN" folder subscribe "$LB" "${S[@]}"; expect_ok "mstore inside the lock"
mst folder unsubscribe "$LB" "${S[@]}"; expect_ok "unsubscribe once the lock is gone"
clean "after the locks"

t_done
