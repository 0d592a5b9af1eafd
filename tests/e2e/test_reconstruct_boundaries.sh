#!/usr/bin/env bash
# mstore reconstruct at the edges of its rules: each limit tested on both
# sides (UIDs one behind and at 2,147,483,647, the guard at 5 and at half,
# the --settle and --stale-lock cutoffs), and the second case of rules
# test_reconstruct.sh shows once (a truncated file, a parent in another
# account, the queue's guard, renumbering that keeps what is right).
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
. "$MSTORE_SRC/tests/lib/rc_fixture.sh"

MAX=2147483647
ago() { date -u -d "-$1" '+%Y-%m-%d %H:%M:%S'; }
bob_id() { q "SELECT messageid FROM hm_messages WHERE messageaccountid=$bid ORDER BY messageid" | sed -n "${1}p"; }
uid_of() { q "SELECT messageuid FROM hm_messages WHERE messageid=$1"; }
clean() { R -n; expect_ok "$1: -n is clean"; }

# --- uid-behind by exactly one; not behind at all ---------------------------------------------
healthy
q "UPDATE hm_imapfolders SET foldercurrentuid=7 WHERE folderid=$binbox"
check uid-behind
repaired uid-behind
expect_eq "$(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$binbox")" 8 "uid-behind by one: raised to 8"

# --- uid-overflow: at the limit, one below it, an empty folder, a UID above it ------------------
healthy
q "UPDATE hm_imapfolders SET foldercurrentuid=$((MAX - 1)) WHERE folderid=$binbox"
clean "foldercurrentuid one below the limit"
q "UPDATE hm_imapfolders SET foldercurrentuid=$MAX WHERE folderid=$binbox"
R -n; expect_rc 1 "foldercurrentuid at the limit"
expect_out_contains "user/bob@example.com/INBOX: uid-overflow: UIDs reach $MAX" "uid-overflow at exactly $MAX"
healthy
q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($cid, -1, 'Empty', 1, '2020-01-01 00:00:00', $((MAX - 1)))"
clean "an empty folder one below the limit"
q "UPDATE hm_imapfolders SET foldercurrentuid=$MAX WHERE foldername='Empty'"
R -n; expect_rc 1 "an empty folder at the limit"
expect_out_contains "user/carol@example.com/Empty: uid-overflow: " "uid-overflow of an empty folder"
healthy
q "UPDATE hm_messages SET messageuid=$((MAX + 1)) WHERE messageid=$(bob_id 8)"
R -n; expect_rc 1 "a UID above the limit"
expect_out_contains "user/bob@example.com/INBOX: uid-overflow: UIDs reach $((MAX + 1))" "uid-overflow from a message's UID, the folder's below"
expect_out_contains "user/bob@example.com/INBOX: uid-behind: " "and uid-behind"

# --- renumbering: only the offenders move, above everything, never past the limit ---------------
healthy
before=$(for n in 1 2 3 4 6 7 8; do uid_of "$(bob_id $n)"; done | tr '\n' ' ')
q "UPDATE hm_messages SET messageuid=3 WHERE messageid=$(bob_id 5)"
q "UPDATE hm_imapfolders SET foldercurrentuid=2 WHERE folderid=$binbox"
R -r; expect_ok "duplicate and behind: -r"
expect_eq "$(for n in 1 2 3 4 6 7 8; do uid_of "$(bob_id $n)"; done | tr '\n' ' ')" "$before" "renumbering leaves every other UID alone"
expect_eq "$(uid_of "$(bob_id 5)")" 9 "the duplicate gets the UID above the largest (8), not above foldercurrentuid (2)"
expect_eq "$(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$binbox")" 9 "foldercurrentuid raised to the new UID"
healthy
q "UPDATE hm_messages SET messageuid=0 WHERE messageid=$(bob_id 2)"
q "UPDATE hm_imapfolders SET foldercurrentuid=$MAX WHERE folderid=$binbox"
R -r; expect_rc 1 "zero-uid in a folder at the limit: -r"
expect_out_contains "UIDs left" "zero-uid at the limit: not repaired, says why"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageuid > $MAX")" 0 "no UID above the limit handed out"
expect_eq "$(uid_of "$(bob_id 2)")" 0 "the message keeps its UID when none is left"

# --- message-folder into an INBOX that has no UID left ---------------------------------------------
healthy
i=$(bob_id 5)
q "UPDATE hm_messages SET messagefolderid=$ainbox WHERE messageid=$i"
q "UPDATE hm_imapfolders SET foldercurrentuid=$MAX WHERE folderid=$binbox"
R -r; expect_rc 1 "message-folder into a full INBOX: -r"
expect_eq "$(q "SELECT messagefolderid FROM hm_messages WHERE messageid=$i")" "$ainbox" "message-folder: not moved when no UID is left"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageuid > $MAX")" 0 "message-folder: no UID above the limit"

# --- the guard: 5 missing files are removed, 6 are kept; exactly half is not "more than half" -----
healthy
for n in 1 2 3 4 5; do rm "$(path_of "$(bob_file "$n")" bob)"; done
R -r; expect_ok "guard: 5 of 8 missing: -r removes them (the guard needs more than 5)"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$bid")" 3 "guard: 5 rows removed"
healthy
for n in 1 2 3 4 5 6; do rm "$(path_of "$(bob_file "$n")" bob)"; done
R -r; expect_rc 1 "guard: 6 of 8 missing: -r keeps them"
expect_out_contains "not repaired: 6 of 8 messages" "guard: 6 of 8 says why"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$bid")" 8 "guard: 6 of 8: rows kept"
# exactly half: 6 of 12
healthy
for n in $(seq 101 104); do g=$(guid $((n * 3)) "$n"); msg "example.com/bob/${g:1:2}/$g" "$n"; done
M sync --settle 0 --no-progress
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$bid")" 12 "bob has 12 messages"
for n in 1 2 3 4 5 6; do rm "$(path_of "$(bob_file "$n")" bob)"; done
R -r; expect_ok "guard: 6 of 12 (exactly half) missing: -r removes them"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$bid")" 6 "guard: exactly half: 6 rows removed"
# the queue has a guard of its own
healthy
for n in $(seq 201 206); do msg "$(guid 200 "$n")" "$n" alice@example.com; done
M sync --settle 0 --no-progress
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype=1")" 7 "seven queued messages"
rm "$D"/\{*.eml
R -r; expect_rc 1 "guard: the queue lost every file: -r keeps the rows"
expect_out_contains "not repaired: 7 of 7 messages" "guard: the queue says why"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype=1")" 7 "guard: queue rows kept"
R -r -f; expect_ok "guard: -f lifts the queue's guard"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype=1") $(q "SELECT COUNT(*) FROM hm_messagerecipients")" "0 0" "guard: -f removed the queue rows and their recipients"

# --- a queued message whose file is gone: row and recipients removed together ---------------------
healthy
expect_eq "$(q "SELECT COUNT(*) FROM hm_messagerecipients WHERE recipientmessageid=$qid")" 1 "the queued message has a recipient"
rm "$D/$(guid 255 99)"
check missing-file
R -r; expect_ok "queue missing-file: -r"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageid=$qid") $(q "SELECT COUNT(*) FROM hm_messagerecipients WHERE recipientmessageid=$qid")" "0 0" "queue missing-file: row and recipients removed"
clean "queue missing-file: after -r"

# --- wrong-size: a truncated file as well as a grown one ------------------------------------------
healthy
f=$(bob_file 4); p=$(path_of "$f" bob); truncate -s -3 "$p"; touch -d "$old" "$p"
check wrong-size
repaired wrong-size
expect_eq "$(q "SELECT messagesize FROM hm_messages WHERE messagefilename='$f'")" "$(stat -c %s "$p")" "wrong-size (truncated): set to the file's size"

# --- misplaced: the right XX folder, one level too deep ------------------------------------------
healthy
f=$(bob_file 2); p=$(path_of "$f" bob)
mkdir -p "$(dirname "$p")/deeper"; mv "$p" "$(dirname "$p")/deeper/"
check misplaced-file
repaired misplaced-file
[ -f "$p" ] || t_fail "misplaced (too deep): the file is not back at $p"

# --- misplaced: a lower-case name belongs in its lower-case XX folder (hMailServer's Mid(1,2)) -----
healthy
lc=$(guid 171 171 | tr 'A-Z' 'a-z'); msg "example.com/bob/${lc:1:2}/$lc" 171
M sync --settle 0 --no-progress; clean "a lower-case name in its lower-case XX folder"
up=$(echo "${lc:1:2}" | tr 'a-z' 'A-Z'); mkdir -p "$D/example.com/bob/$up"; mv "$D/example.com/bob/${lc:1:2}/$lc" "$D/example.com/bob/$up/"
check misplaced-file
repaired misplaced-file
[ -f "$D/example.com/bob/${lc:1:2}/$lc" ] || t_fail "misplaced (XX case): not moved back to ${lc:1:2}/"

# --- the folder tree: a parent in another account; a name already taken at the top ---------------
healthy
q "UPDATE hm_imapfolders SET folderparentid=$binbox WHERE folderid=$work"
check folder-parent
R -n; expect_out_contains "its parent folder belongs to another account" "folder-parent: names the cause"
repaired folder-parent
healthy
q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($aid, -1, 'Work', 1, '2020-01-01 00:00:00', 0)"
q "UPDATE hm_imapfolders SET folderparentid=99999 WHERE folderid=$work"
R -r; expect_ok "folder-parent with a name clash: -r"
expect_eq "$(q "SELECT foldername FROM hm_imapfolders WHERE folderid=$work")" "Work (recovered $work)" "folder-parent: a clashing name gets a suffix"

# --- an orphaned folder that still holds a message of a live account -------------------------------
healthy
cfolder=$cinbox; i=$(bob_id 3)
q "DELETE FROM hm_messages WHERE messageaccountid=$cid"
q "DELETE FROM hm_accounts WHERE accountid=$cid"
q "UPDATE hm_messages SET messagefolderid=$cfolder WHERE messageid=$i"
R -r
expect_out_contains "not repaired: 1 messages are still in it" "orphaned-folder: not removed while it holds a message"
expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders WHERE folderid=$cfolder")" 1 "orphaned-folder: the folder row is still there"
expect_eq "$(q "SELECT messagefolderid FROM hm_messages WHERE messageid=$i")" "$binbox" "the message went back to bob's INBOX"

# --- unreferenced files and --settle; queue locks and --stale-lock --------------------------------
healthy
g=$(guid 3 555); msg "example.com/bob/${g:1:2}/$g" 555; touch "$D/example.com/bob/${g:1:2}/$g"
clean "a file modified just now is not unreferenced yet"
R -n --settle 0; expect_rc 1 "--settle 0"
expect_out_contains "unreferenced-file: example.com/bob/${g:1:2}/$g" "--settle 0: the new file is reported"
healthy
q "UPDATE hm_messages SET messagelocked=1, messagecreatetime='$(ago '10 min')', messagenexttrytime='$(ago '10 min')' WHERE messageid=$qid"
clean "a lock 10 minutes old is not stale (--stale-lock 3600)"
q "UPDATE hm_messages SET messagecreatetime='$(ago '2 hours')' WHERE messageid=$qid"
clean "created 2 hours ago but last due 10 minutes ago: not stale"
q "UPDATE hm_messages SET messagenexttrytime='$(ago '2 hours')' WHERE messageid=$qid"
check queue-stale-lock
R -n --stale-lock 86400; expect_ok "--stale-lock 86400: a lock 2 hours old is not stale"

# --- what changes while the check runs is not reported (the re-verification, the test hook) -----
hooked() { # hooked POINT COMMAND ARGS...: run reconstruct with COMMAND run at POINT
	local at=$1 cmd=$2; shift 2
	export MSTORE_TEST_HOOK_AT=$at MSTORE_TEST_HOOK_CMD=$cmd
	R "$@"
	unset MSTORE_TEST_HOOK_AT MSTORE_TEST_HOOK_CMD
}
healthy
g=$(guid 5 556); msg "example.com/bob/${g:1:2}/$g" 556
hooked reverify "rm '$D/example.com/bob/${g:1:2}/$g'" -n --settle 0
expect_ok "an unreferenced file removed before the re-verification is not reported"
healthy
f=$(bob_file 4); p=$(path_of "$f" bob); cp -p "$p" "$T_TMP/orig"; printf 'more\r\n' >> "$p"; touch -d "$old" "$p"
hooked reverify "cp -p '$T_TMP/orig' '$p'" -n
expect_ok "a size put right before the re-verification is not reported"
healthy
f=$(bob_file 5); p=$(path_of "$f" bob); mv "$p" "$T_TMP/away"
hooked reverify "mv '$T_TMP/away' '$p'" -n
expect_ok "a missing file back before the re-verification is not reported"
healthy
g=$(guid 6 557); msg "example.com/bob/${g:1:2}/$g" 557
hooked refresh "MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} '$MSTORE_BIN' sync --db '$URL' --data '$D' --settle 0 --no-progress >/dev/null" -n --settle 0
expect_ok "a file imported by a sync while the check ran (after its row pass) is not unreferenced"
healthy
f=$(bob_file 6); p=$(path_of "$f" bob); mv "$p" "$T_TMP/away"
hooked repair "mv '$T_TMP/away' '$p'" -r
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefilename='$f'")" 1 "a file back before the repair: its row is not removed"
[ -f "$p" ] || t_fail "the file that came back is gone"
[ -s "$T_TMP/removed.tsv" ] && grep -q "$f" "$T_TMP/removed.tsv" && t_fail "the row of a file that came back is in the recovery list"
clean "after a file came back"

healthy
f=$(bob_file 2); p=$(path_of "$f" bob); mkdir -p "$D/example.com/bob/ZZ"; mv "$p" "$D/example.com/bob/ZZ/"
hooked repair "echo other > '$p'" -r
expect_rc 1 "a file that appeared at the target before the repair: the move is not made"
expect_eq "$(cat "$p")" other "the file that appeared at the target is not replaced"
[ -f "$D/example.com/bob/ZZ/$f" ] || t_fail "the misplaced file was lost"

healthy
q "UPDATE hm_messages SET messagelocked=1, messagecreatetime='2020-01-01 00:00:00', messagenexttrytime='2020-01-01 00:00:00' WHERE messageid=$qid"
hooked repair "true" -n
expect_out_contains "queue: queue-stale-lock: " "the stale lock is found"
if [ "$MSTORE_TEST_BACKEND" = sqlite ]; then # the hook runs a shell command: the sqlite3 client needs no login
	hooked repair "$(printf '%q ' sqlite3 -batch "${URL#sqlite:}" "UPDATE hm_messages SET messagelocked=0 WHERE messageid=$qid")" -r
	expect_rc 0 "a lock released by the server before the repair: nothing left to do"
	[ "$(grep -c 'queue-stale-lock' "$T_TMP/out")" = 0 ] || t_fail "a lock released meanwhile is reported as repaired: $(t_out)"
fi

# --- the paged pass reads every page: a corruption among the oldest rows, 20,001 newer rows ------
healthy
rm "$(path_of "$(bob_file 1)" bob)"
ts="'1901-01-01 00:00:00'"; [ "$MSTORE_TEST_BACKEND" = pgsql ] && ts="TIMESTAMP '1901-01-01 00:00:00'"
# 10^5 rows from five copies of ten digits (a recursive CTE stops at 1,000 on MariaDB)
digits="(SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
q "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid) SELECT 12345, 0, 'etrn.eml', 3, 'x', 10, 0, $ts, 0, $ts, 0, 0 FROM $digits a, $digits b, $digits c, $digits d, $digits e LIMIT 20001"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype=3")" 20001 "20,001 ETRN rows after the healthy ones"
check missing-file

# --- a row held for ETRN (type 3) is left alone ---------------------------------------------------
healthy
q "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid) VALUES (12345, 0, '$(guid 9 999)', 3, 'x@y.z', 10, 0, '1901-01-01 00:00:00', 0, '2020-01-01 00:00:00', 0, 0)"
clean "an ETRN row without a file"

# --- -o: orphaned account folders follow --shard and the mailbox scope ----------------------------
healthy
g=$(guid 4 444); msg "example.com/zed/${g:1:2}/$g" 444
n=0; for k in 1 2; do R -n -o --shard $k/2; n=$((n + $(grep -c ': orphaned-account-dir: ' "$T_TMP/out"))); done
expect_eq "$n" 1 "-o --shard: the orphaned folder is in exactly one shard"
R -n -o user/alice@example.com
expect_eq "$(grep -c ': orphaned-account-dir: ' "$T_TMP/out")" 0 "-o with a mailbox: no orphaned folders outside it"
t_done
