#!/usr/bin/env bash
# mstore reconstruct end to end: a healthy store is clean; each kind of
# corruption, injected alone into a fresh healthy store, is reported by -n
# (exactly that kind, nothing changed), repaired by -r, and a second -n is
# clean; several at once; the guard; scope; JSON; quota; schema; usage.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
. "$MSTORE_SRC/tests/lib/rc_fixture.sh"

# --- healthy ------------------------------------------------------------------
healthy
R -n; expect_ok "healthy: -n"; expect_out_contains "reconstruct: no findings" "healthy: no findings"
R -n -m -v; expect_ok "healthy: -n -m"; expect_out_contains "checked 18 files and 18 rows" "healthy: -v counts"

# --- missing-file -----------------------------------------------------------------
healthy
f=$(bob_file 3); id=$(q "SELECT messageid FROM hm_messages WHERE messagefilename='$f'")
rm "$(path_of "$f" bob)"
check missing-file
repaired missing-file
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageid=$id")" 0 "missing-file: row removed"
grep -q "^$id	$bid	bob@example.com	$binbox	$f	2	" "$T_TMP/removed.tsv" || t_fail "missing-file: the recovery list lacks the row: $(cat "$T_TMP/removed.tsv")"

# --- missing-file, a symlink or a directory in its place: reported, never repaired ---
for what in symlink directory; do
	healthy
	f=$(bob_file 3); id=$(q "SELECT messageid FROM hm_messages WHERE messagefilename='$f'"); p=$(path_of "$f" bob)
	mv "$p" "$T_TMP/saved.eml"
	if [ $what = symlink ]; then ln -s "$T_TMP/saved.eml" "$p"; else mkdir "$p"; fi
	R -n; expect_rc 1 "missing-file ($what): -n"
	expect_out_contains "message $id: example.com/bob/${f:1:2}/$f: a $what, not its message file (would repair: none" \
		"missing-file ($what): says what is there, and that it is left"
	R -r; expect_rc 1 "missing-file ($what): -r does not call the store consistent"
	expect_out_contains "(not repaired: a $what is at its place, not its message file: left for you)" "missing-file ($what): -r says why"
	expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageid=$id")" 1 "missing-file ($what): the row kept"
	[ -e "$p" ] && [ -f "$T_TMP/saved.eml" ] && t_ok || t_fail "missing-file ($what): what was there is left"
	rm -rf "$p"; rm -f "$T_TMP/saved.eml"
done

# --- misplaced-file -----------------------------------------------------------------
healthy
f=$(bob_file 2); p=$(path_of "$f" bob); sum=$(md5sum < "$p")
mkdir -p "$D/example.com/bob/ZZ"; mv "$p" "$D/example.com/bob/ZZ/"
check misplaced-file
repaired misplaced-file
expect_eq "$(md5sum < "$p" 2>/dev/null)" "$sum" "misplaced-file: the file is back in place, unchanged"

# --- wrong-size ----------------------------------------------------------------------
healthy
f=$(bob_file 4); p=$(path_of "$f" bob); printf 'more\r\n' >> "$p"; touch -d "$old" "$p"
check wrong-size
repaired wrong-size
expect_eq "$(q "SELECT messagesize FROM hm_messages WHERE messagefilename='$f'")" "$(stat -c %s "$p")" "wrong-size: size fixed"

# --- duplicate-uid, zero-uid, uid-behind -----------------------------------------------
healthy
cur=$(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$binbox")
ids=$(q "SELECT messageid FROM hm_messages WHERE messageaccountid=$bid ORDER BY messageid")
i1=$(echo "$ids" | sed -n 1p); i2=$(echo "$ids" | sed -n 2p)
q "UPDATE hm_messages SET messageuid=(SELECT messageuid FROM (SELECT messageuid FROM hm_messages WHERE messageid=$i1) x) WHERE messageid=$i2"
check duplicate-uid
repaired duplicate-uid
uids_sane duplicate-uid
[ "$(q "SELECT messageuid FROM hm_messages WHERE messageid=$i2")" -gt "$cur" ] || t_fail "duplicate-uid: the new UID is not above the old foldercurrentuid"
expect_eq "$(q "SELECT messageuid FROM hm_messages WHERE messageid=$i1")" 1 "duplicate-uid: the oldest message keeps its UID"

healthy
ids=$(q "SELECT messageid FROM hm_messages WHERE messageaccountid=$bid ORDER BY messageid")
i3=$(echo "$ids" | sed -n 3p)
q "UPDATE hm_messages SET messageuid=0 WHERE messageid=$i3"
check zero-uid
repaired zero-uid
uids_sane zero-uid

healthy
q "UPDATE hm_imapfolders SET foldercurrentuid=2 WHERE folderid=$binbox"
check uid-behind
repaired uid-behind
expect_eq "$(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$binbox")" 8 "uid-behind: raised to the largest UID"

healthy
q "UPDATE hm_messages SET messageuid=2147483648 WHERE messageid=(SELECT MIN(messageid) FROM (SELECT messageid FROM hm_messages WHERE messagefolderid=$binbox) x)"
q "UPDATE hm_imapfolders SET foldercurrentuid=2147483648 WHERE folderid=$binbox"
R -n; expect_rc 1 "uid-overflow: -n"
expect_out_contains "user/bob@example.com/INBOX: uid-overflow: " "uid-overflow: reported"
R -r; expect_rc 1 "uid-overflow: -r cannot repair it"

# --- folder tree -------------------------------------------------------------------------
healthy
q "DELETE FROM hm_imapfolders WHERE folderid=$cinbox"
before=$(state); R -n; expect_rc 1 "missing-inbox: -n"
expect_out_contains "user/carol@example.com: missing-inbox: " "missing-inbox: reported"
expect_eq "$(grep -c ': message-folder: ' "$T_TMP/out")" 3 "missing-inbox: its 3 messages are in a folder that does not exist"
expect_eq "$(state)" "$before" "missing-inbox: -n changed nothing"
repaired missing-inbox
newinbox=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid=$cid AND foldername='INBOX'")
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$cid AND messagefolderid=$newinbox")" 3 "missing-inbox: messages moved to the new INBOX"
uids_sane missing-inbox

healthy
q "UPDATE hm_imapfolders SET folderparentid=99999 WHERE folderid=$work"
check folder-parent
repaired folder-parent
expect_eq "$(q "SELECT folderparentid FROM hm_imapfolders WHERE folderid=$work")" -1 "folder-parent: moved to the top level"

healthy
i=$(q "SELECT messageid FROM hm_messages WHERE messageaccountid=$bid ORDER BY messageid" | sed -n 5p)
q "UPDATE hm_messages SET messagefolderid=$ainbox WHERE messageid=$i"
check message-folder
repaired message-folder
expect_eq "$(q "SELECT messagefolderid FROM hm_messages WHERE messageid=$i")" "$binbox" "message-folder: back in bob's INBOX"
uids_sane message-folder

# --- orphaned rows and accounts -------------------------------------------------------------
healthy
q "DELETE FROM hm_accounts WHERE accountid=$cid"
before=$(state); R -n; expect_rc 1 "orphaned account: -n"
expect_eq "$(grep -c ': orphaned-message: ' "$T_TMP/out")" 3 "orphaned-message: 3 reported"
expect_eq "$(grep -c ': orphaned-folder: ' "$T_TMP/out")" 1 "orphaned-folder: 1 reported"
expect_eq "$(state)" "$before" "orphaned account: -n changed nothing"
R -n -o -d "$T_TMP/orphans.sh"; expect_rc 1 "orphaned account: -n -o"
expect_out_contains "user/carol@example.com: orphaned-account-dir: " "-o: the folder on disk without account"
grep -q "mstore sync .*--account 'carol@example.com' --delete-unreferenced" "$T_TMP/orphans.sh" || t_fail "-o -d: the script lacks the sync line: $(cat "$T_TMP/orphans.sh")"
R -r; expect_ok "orphaned account: -r"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$cid") $(q "SELECT COUNT(*) FROM hm_imapfolders WHERE folderaccountid=$cid")" "0 0" "orphaned account: rows removed"
[ "$(grep -c 'orphaned-message' "$T_TMP/removed.tsv")" = 3 ] || t_fail "orphaned-message: rows not in the recovery list"
[ -d "$D/example.com/carol" ] || t_fail "orphaned account: the folder on disk was touched"
R -n; expect_ok "orphaned account: -n after -r"

healthy
q "INSERT INTO hm_messagerecipients (recipientmessageid, recipientaddress, recipientlocalaccountid, recipientoriginaladdress) VALUES (999999, 'x@example.com', 0, 'x@example.com')"
q "INSERT INTO hm_message_metadata (metadata_accountid, metadata_folderid, metadata_messageid, metadata_dateutc, metadata_from, metadata_subject, metadata_to, metadata_cc) VALUES ($aid, $ainbox, 999999, NULL, 'a', 's', 't', 'c')"
before=$(state); R -n; expect_rc 1 "orphaned rows: -n"
expect_out_contains "store: orphaned-recipient: " "orphaned-recipient reported"
expect_out_contains "store: orphaned-metadata: " "orphaned-metadata reported"
expect_eq "$(state)" "$before" "orphaned rows: -n changed nothing"
repaired orphaned-recipient

# --- an account without a folder on disk; running the -d script -------------------------------
healthy
M account add dave@example.com
R -n -o -d "$T_TMP/orphans.sh"; expect_rc 1 "account-without-dir: -n -o"
expect_out_contains "user/dave@example.com: account-without-dir: " "account-without-dir: reported"
expect_eq "$(grep -c ': account-without-dir: ' "$T_TMP/out")" 1 "account-without-dir: only dave"
grep -q "^mstore account delete --db '$URL' 'dave@example.com'" "$T_TMP/orphans.sh" || t_fail "-o -d: no account delete line: $(cat "$T_TMP/orphans.sh")"
mkdir -p "$T_TMP/bin"; ln -sf "$MSTORE_BIN" "$T_TMP/bin/mstore"
PATH=$T_TMP/bin:$PATH MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} sh "$T_TMP/orphans.sh" >/dev/null 2>&1 || t_fail "the -d script failed"
R -n -o; expect_ok "account-without-dir: clean after the script"
expect_eq "$(q "SELECT COUNT(*) FROM hm_accounts WHERE accountaddress='dave@example.com'")" 0 "the script deleted dave"
# account delete itself: refuses while the account's folder holds files
M account delete bob@example.com; expect_rc 2 "account delete: refuses with files on disk"
expect_err_contains "--force" "account delete: says how"
M account delete -n --force bob@example.com; expect_ok "account delete -n"
expect_out_contains "would delete account bob@example.com (id $bid): 8 messages, 1 folders" "account delete -n: counts"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$bid")" 8 "account delete -n: nothing deleted"
M account delete --force bob@example.com; expect_ok "account delete --force"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$bid") $(q "SELECT COUNT(*) FROM hm_imapfolders WHERE folderaccountid=$bid") $(q "SELECT COUNT(*) FROM hm_accounts WHERE accountid=$bid")" "0 0 0" "account delete: rows gone"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$aid")" 6 "account delete: other accounts untouched"
expect_eq "$(find "$D/example.com/bob" -type f | wc -l)" 8 "account delete: files untouched"
M account delete nobody@example.com; expect_rc 2 "account delete: unknown account"

# --- the queue ------------------------------------------------------------------------------
healthy
q "UPDATE hm_messages SET messagelocked=1, messagecreatetime='2020-01-01 00:00:00', messagenexttrytime='2020-01-01 00:00:00' WHERE messageid=$qid"
check queue-stale-lock
repaired queue-stale-lock
expect_eq "$(q "SELECT messagelocked FROM hm_messages WHERE messageid=$qid")" 0 "queue-stale-lock: unlocked"

healthy
q "DELETE FROM hm_messagerecipients WHERE recipientmessageid=$qid"
check queue-no-recipients
R -r; expect_ok "queue-no-recipients: -r"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageid=$qid")" 0 "queue-no-recipients: row removed"
# its file is now what it was before the row existed: unreferenced, for sync
R -n; expect_rc 1 "queue-no-recipients: -n after -r"
expect_out_contains "queue: unreferenced-file: $(guid 255 99)" "queue-no-recipients: the file is left for sync"
expect_out_contains "--quarantine DIR moves it out if not" "a queue file: the hint says what clears it if sync cannot"
grep -q "^$qid	0	" "$T_TMP/removed.tsv" || t_fail "queue-no-recipients: not in the recovery list"

# --- unreferenced files: report only -----------------------------------------------------------
healthy
g=$(guid 1 777); msg "example.com/bob/${g:1:2}/$g" 777
check unreferenced-file
expect_out_contains "report only: mstore sync imports it" "unreferenced-file: report only, for sync"
R -r; expect_rc 1 "unreferenced-file: -r leaves it (exit 1)"
expect_out_contains "not repaired" "unreferenced-file: -r says not repaired"
[ -f "$D/example.com/bob/${g:1:2}/$g" ] || t_fail "unreferenced-file: the file was touched"
g=$(guid 2 778); msg "#Public/Shared/$g" 778   # sync never imports #Public: the hint says what clears it
R -n; expect_rc 1 "an unreferenced #Public file"
expect_out_contains "#Public: unreferenced-file: #Public/Shared/$g" "an unreferenced #Public file is reported"
expect_out_contains "cannot import #Public files; --quarantine DIR moves it out" "#Public: the hint does not promise sync imports it"

# --- several at once, scope, JSON -----------------------------------------------------------------
healthy
rm "$(path_of "$(bob_file 1)" bob)"
p=$(path_of "$(bob_file 6)" bob); printf 'x' >> "$p"; touch -d "$old" "$p"
q "UPDATE hm_messages SET messageuid=0 WHERE messagefolderid=$ainbox"
q "INSERT INTO hm_messagerecipients (recipientmessageid, recipientaddress, recipientlocalaccountid, recipientoriginaladdress) VALUES (999998, 'y@example.com', 0, 'y@example.com')"
before=$(state)
R -n --json "$T_TMP/rc.json"; expect_rc 1 "several: -n"
expect_eq "$(jq -r '.summary | "\(.["missing-file"]) \(.["wrong-size"]) \(.["zero-uid"]) \(.["orphaned-recipient"]) \(.findings)"' "$T_TMP/rc.json")" "1 1 4 1 7" "several: JSON counts"
expect_eq "$(jq -r '.dry_run' "$T_TMP/rc.json")" true "several: JSON dry_run"
expect_eq "$(jq -r '[.findings[] | select(.kind == "missing-file")][0].mailbox' "$T_TMP/rc.json")" "user/bob@example.com/INBOX" "several: JSON mailbox"
expect_out_contains "reconstruct: 7 findings (" "several: summary"
R -n user/alice@example.com; expect_rc 1 "scope: alice"
expect_eq "$(grep -c '^user/bob' "$T_TMP/out") $(grep -c ': zero-uid: ' "$T_TMP/out") $(grep -c 'orphaned-recipient' "$T_TMP/out")" "0 4 0" "scope: only alice's findings"
R -n --shard 1/2; s1=$(grep '^user/' "$T_TMP/out" | sort)
R -n --shard 2/2; s2=$(grep '^user/' "$T_TMP/out" | sort)
R -n; all=$(grep '^user/' "$T_TMP/out" | sort)
expect_eq "$(printf '%s\n%s\n' "$s1" "$s2" | grep -v '^$' | sort)" "$all" "--shard: 1/2 and 2/2 together report each account finding exactly once"
R -n --domain other.example; expect_rc 2 "--domain: a domain the store does not have is a usage error (issue 12)"
R -n --domain example.com; expect_eq "$(grep -c '^user/' "$T_TMP/out")" 6 "--domain: the domain's account findings"
R -n user/alice@example.com/INBOX/Work; expect_ok "scope: alice's Work folder is clean"
expect_eq "$(state)" "$before" "several: -n changed nothing"
R -r; expect_ok "several: -r"
R -n; expect_ok "several: -n after -r"; uids_sane several

# --- the guard -----------------------------------------------------------------------------------
healthy
for f in $(q "SELECT messagefilename FROM hm_messages WHERE messageaccountid=$bid"); do rm "$(path_of "$f" bob)"; done
R -r; expect_rc 1 "guard: -r keeps rows when most files are gone"
expect_out_contains "not repaired: 8 of 8 messages" "guard: says why"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$bid")" 8 "guard: rows kept"
R -r -f; expect_ok "guard: -r -f"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$bid")" 0 "guard: -f removes them"

# --- quota, schema, usage ------------------------------------------------------------------------
healthy
R -n -q; expect_ok "quota"
bytes=$(q "SELECT SUM(messagesize) FROM hm_messages WHERE messageaccountid=$aid")
expect_out_contains "quota: user/alice@example.com: 6 messages, $bytes bytes" "quota: alice's usage"
expect_out_contains "quota: domain example.com: 3 accounts, 17 messages" "quota: the domain's usage"
q "DROP INDEX idx_hm_messagerecipients$([ "$MSTORE_TEST_BACKEND" = mysql ] && echo ' ON hm_messagerecipients')"
R -n -m; expect_rc 1 "schema: a missing index"
expect_out_contains "store: schema: index idx_hm_messagerecipients on hm_messagerecipients is missing" "schema: names the index"
R -n user/nobody@example.com; expect_rc 2 "usage: unknown mailbox"; expect_err_contains "no such account" "usage: unknown mailbox message"
R -n user/alice@example.com/Nope; expect_rc 2 "usage: unknown folder"
R -n alice@example.com; expect_rc 2 "usage: not user/ADDRESS"
R -n --shard 3/2; expect_rc 2 "usage: bad shard"
R -n -d "$T_TMP/x.sh"; expect_rc 2 "usage: -d without -o"
t_done
