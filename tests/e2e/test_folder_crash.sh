#!/usr/bin/env bash
# SIGKILL during `mstore folder rename user/A/INBOX user/B/INBOX` (the
# account move) and `mstore folder delete`, at each step of their journals
# (the test hook) and at random moments; then a rerun (or `reconstruct -r`)
# must complete the operation: the store clean for `reconstruct -n`, no
# journal left, every message file either referenced at its place or in
# the trash, none lost, none changed.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
GEN=${MSTORE_GEN:?MSTORE_GEN not set}
export TZ=UTC

"$GEN" --seed 9 --messages 100 --domains 1 --accounts 2 --queue-percent 0 "$T_TMP/g" >/dev/null || t_fail "generator"
URL=$(t_new_db fcrash)
D=$T_TMP/g/Data
S=(--db "$URL" --data "$D")
mst init "$URL"; t_add_objects "$URL" "$T_TMP/g/objects.txt"
mst sync "${S[@]}" --settle 0 --no-progress; expect_ok "sync"
q() { t_sql "$URL" "$1"; }
all_files=$(t_content_hash "$D")
clean() {
	mst reconstruct -n "${S[@]}" --settle 0
	expect_out_contains "no findings" "$1: reconstruct -n clean"
	expect_eq "$(t_content_hash "$D")" "$all_files" "$1: every file still there (store or trash), unchanged"
	expect_eq "$(find "$D/.mstore" -maxdepth 1 \( -name '*.move*' -o -name '*.intent' \) | wc -l)" 0 "$1: no journal left"
}
# run_killed HOOK|@MS ARGS...: run mstore, killed at the hook or after MS milliseconds
run_killed() {
	local at=$1; shift
	if [ "${at#@}" != "$at" ]; then
		MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" "$@" >/dev/null 2>&1 &
		local pid=$!
		sleep "$(printf '0.%03d' "${at#@}")"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	else
		MSTORE_TEST_HOOK_AT=$at MSTORE_TEST_HOOK_CMD='kill -9 $PPID' \
			MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" "$@" >/dev/null 2>&1
	fi
}
acct=$(q "SELECT accountaddress FROM hm_accounts ORDER BY accountid LIMIT 1")
uid=$(q "SELECT accountid FROM hm_accounts ORDER BY accountid LIMIT 1")
clean "start"

# ---- the account move ----------------------------------------------------------------
i=0
for at in acctmove-journal acctmove-files acctmove-row "@$((RANDOM % 30))" "@$((RANDOM % 60))"; do
	i=$((i + 1))
	new="moved$i@${acct#*@}"
	run_killed "$at" folder rename "user/$acct/INBOX" "user/$new/INBOX" "${S[@]}"
	case $at in acctmove-*) expect_eq "$(find "$D/.mstore" -maxdepth 1 -name 'acctmove-*.move' | wc -l)" 1 "killed at $at: its journal is left for the rerun";; esac
	if [ $((i % 2)) = 0 ]; then
		mst reconstruct -r "${S[@]}" --settle 0; expect_ok "move killed at $at: reconstruct -r"
		# killed before its journal was in place: nothing happened, the rerun moves
		if [ "$(q "SELECT accountaddress FROM hm_accounts WHERE accountid = $uid")" = "$acct" ]; then
			mst folder rename "user/$acct/INBOX" "user/$new/INBOX" "${S[@]}"; expect_ok "move killed at $at (before it began): the rerun"
		fi
	elif [ "$(q "SELECT accountaddress FROM hm_accounts WHERE accountid = $uid")" = "$new" ] &&
		[ -z "$(find "$D/.mstore" -maxdepth 1 -name 'acctmove-*.move')" ]; then
		# killed after it had finished (journal gone): the old address is
		# no account any more, and a rerun says so
		mst folder rename "user/$acct/INBOX" "user/$new/INBOX" "${S[@]}"; expect_rc 2 "move killed at $at after it finished: the rerun"
		expect_err_contains "no account $acct" "the rerun names the address that is gone"
	else
		mst folder rename "user/$acct/INBOX" "user/$new/INBOX" "${S[@]}"; expect_ok "move killed at $at: the rerun"
	fi
	expect_eq "$(q "SELECT accountaddress FROM hm_accounts WHERE accountid = $uid")" "$new" "move killed at $at: the account has the new address"
	[ ! -e "$D/${acct#*@}/${acct%@*}" ] || t_fail "move killed at $at: the old directory is left"; t_ok
	clean "move killed at $at"
	acct=$new
done

# ---- an account move killed before its row changed: sync completes it --------------------
new="moved-by-sync@${acct#*@}"
run_killed acctmove-files folder rename "user/$acct/INBOX" "user/$new/INBOX" "${S[@]}"
mst reconstruct -n "${S[@]}" --settle 0
expect_err_contains "note: the move of account $acct to $new was interrupted; -r (or the next folder command or sync) completes it" \
	"reconstruct -n says the move is pending, and what completes it"
mst sync "${S[@]}" --settle 0 --no-progress; expect_ok "move killed at acctmove-files: sync"
expect_out_contains "moves                  1" "sync completes the move first, and says so"
expect_eq "$(q "SELECT accountaddress FROM hm_accounts WHERE accountid = $uid")" "$new" "the account has the new address"
clean "move completed by sync"
acct=$new

# ---- an address created while a move to it is pending ----------------------------------
# The journal names the new address; an account, alias or list added at
# it before the move completes would take the address the move's row
# update needs (UNIQUE on hm_accounts.accountaddress) and the files the
# move has put into its directory.  Adding one completes the move first,
# and the add is then refused as a duplicate.
for kind in account alias list; do
	i=$((i + 1))
	new="moved$i@${acct#*@}"
	run_killed acctmove-files folder rename "user/$acct/INBOX" "user/$new/INBOX" "${S[@]}"
	expect_eq "$(find "$D/.mstore" -maxdepth 1 -name 'acctmove-*.move' | wc -l)" 1 "$kind add: the killed move's journal is left"
	case $kind in
	account) mst account add "$new" "${S[@]}" ;;
	alias) mst alias add "$new" "x@${acct#*@}" "${S[@]}" ;;
	list) mst list add "$new" "${S[@]}" ;;
	esac
	expect_rc 2 "$kind add at the address a pending move targets"
	expect_err_contains "already exists as an account" "$kind add: the move was completed first, the address is taken"
	expect_eq "$(q "SELECT accountaddress FROM hm_accounts WHERE accountid = $uid")" "$new" "$kind add: the account has the new address"
	expect_eq "$(q "SELECT COUNT(*) FROM hm_accounts WHERE LOWER(accountaddress) = LOWER('$new')")" 1 "$kind add: one account at the address"
	mst folder list "${S[@]}"; expect_ok "$kind add: folder commands work after it"
	clean "$kind add during a pending move"
	acct=$new
done
# a second account at the new address (made behind mstore's back, as the
# server itself could): the recovery refuses with exit 2, naming it
i=$((i + 1))
new="moved$i@${acct#*@}"
run_killed acctmove-files folder rename "user/$acct/INBOX" "user/$new/INBOX" "${S[@]}"
did=$(q "SELECT accountdomainid FROM hm_accounts WHERE accountid = $uid")
q "INSERT INTO hm_accounts (accountdomainid, accountadminlevel, accountaddress, accountpassword, accountactive, accountisad, accountaddomain, accountadusername, accountmaxsize, accountvacationmessageon, accountvacationmessage, accountvacationsubject, accountpwencryption, accountforwardenabled, accountforwardaddress, accountforwardkeeporiginal, accountenablesignature, accountsignatureplaintext, accountsignaturehtml, accountlastlogontime, accountvacationexpires, accountvacationexpiredate, accountpersonfirstname, accountpersonlastname) VALUES ($did, 0, '$new', '', 1, 0, '', '', 0, 0, '', '', 0, 0, '', 0, 0, '', '', '2024-01-01 00:00:00', 0, '2024-01-01 00:00:00', '', '')"
mst folder create "user/$acct/X" "${S[@]}"; expect_rc 2 "a folder command: the pending move's address is another account's"
expect_err_contains "$new is another account's now" "the recovery names the address and the cause"
q "DELETE FROM hm_accounts WHERE LOWER(accountaddress) = LOWER('$new') AND accountid <> $uid"
mst folder create "user/$new/Y" "${S[@]}"; expect_ok "the other account gone: the next folder command completes the move"
expect_eq "$(q "SELECT accountaddress FROM hm_accounts WHERE accountid = $uid")" "$new" "the account has the new address"
clean "a move completed after a collision"
acct=$new

# ---- folder delete ----------------------------------------------------------------------
inbox=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = $uid AND foldername = 'INBOX'")
for at in folder-delete-synced folder-delete-committed "@$((RANDOM % 40))" "@$((RANDOM % 80))"; do
	mst folder create "user/$acct/Doomed/Sub" "${S[@]}"; expect_ok "create the folder to delete"
	sub=$(q "SELECT folderid FROM hm_imapfolders WHERE foldername = 'Sub' AND folderaccountid = $uid")
	q "UPDATE hm_messages SET messagefolderid = $sub WHERE messagefolderid = $inbox AND messageid IN (SELECT messageid FROM (SELECT messageid FROM hm_messages WHERE messagefolderid = $inbox ORDER BY messageid LIMIT 8) x)"
	q "UPDATE hm_imapfolders SET foldercurrentuid = 100000 WHERE folderid = $sub"
	want=$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid = $uid") 
	moved=$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefolderid = $sub")
	[ "$moved" -gt 0 ] || { t_fail "no message left to delete"; break; }
	run_killed "$at" folder delete "user/$acct/Doomed" "${S[@]}"
	case $at in folder-*) expect_eq "$(find "$D/.mstore" -maxdepth 1 -name 'trash-*.intent' | wc -l)" 1 "killed at $at: its intent is left";; esac
	left=$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefolderid = $sub")
	if [ "$left" = 0 ] && [ "$at" = folder-delete-committed ]; then
		# the rows went, the files did not: sync must not take them for
		# new mail (the deleted messages back, then rows without files
		# once the move is finished); a dry run leaves them, a sync that
		# writes finishes the move
		mst reconstruct -n "${S[@]}" --settle 0
		expect_err_contains "note: $moved message file(s) of a killed folder delete or expire are still to be moved into the trash" \
			"reconstruct -n says the files are pending, and how many"
		mst sync -n -v "${S[@]}" --settle 0 --no-progress; expect_ok "delete killed at $at: sync -n"
		expect_eq "$(grep -c 'died after deleting its row' "$T_TMP/out")" "$moved" "sync -n defers each file of the intent, and says why"
		expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefolderid = $inbox AND messageaccountid = $uid")" \
			"$((want - moved))" "sync -n imports none"
		mst sync "${S[@]}" --settle 0 --no-progress; expect_ok "delete killed at $at: sync"
		expect_out_contains "trashed" "sync finishes the move into the trash, and says so"
	elif [ "$left" = 0 ]; then # the rows went: the rerun's recovery moves the files
		mst reconstruct -r "${S[@]}" --settle 0; expect_ok "delete killed at $at after its commit: reconstruct -r"
	else
		mst folder delete "user/$acct/Doomed" "${S[@]}"; expect_ok "delete killed at $at before its commit: the rerun"
	fi
	expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid = $uid")" "$((want - moved))" "delete killed at $at: the folder's rows gone, the others kept"
	expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders WHERE foldername IN ('Doomed', 'Sub')")" 0 "delete killed at $at: the folders gone"
	clean "delete killed at $at"
done

# ---- sync while a folder delete runs, between its commit and its moves ------------------
mst folder create "user/$acct/Doomed" "${S[@]}"
doomed=$(q "SELECT folderid FROM hm_imapfolders WHERE foldername = 'Doomed' AND folderaccountid = $uid")
q "UPDATE hm_messages SET messagefolderid = $doomed WHERE messagefolderid = $inbox AND messageid IN (SELECT messageid FROM (SELECT messageid FROM hm_messages WHERE messagefolderid = $inbox ORDER BY messageid LIMIT 4) x)"
q "UPDATE hm_imapfolders SET foldercurrentuid = 100000 WHERE folderid = $doomed"
rows=$(q "SELECT COUNT(*) FROM hm_messages")
MSTORE_TEST_HOOK_AT=folder-delete-committed MSTORE_TEST_HOOK_CMD="touch $T_TMP/committed; sleep 4" \
	MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" folder delete "user/$acct/Doomed" "${S[@]}" >/dev/null 2>&1 &
del=$!
for _ in $(seq 100); do [ -e "$T_TMP/committed" ] && break; sleep 0.1; done
mst sync -v "${S[@]}" --settle 0 --no-progress; expect_ok "sync while a folder delete runs"
expect_eq "$(grep -c 'a running mstore folder delete or expire deleted its row' "$T_TMP/out")" 4 "sync defers the files a live delete is moving"
wait "$del"; T_RC=$?; expect_ok "the folder delete, paused at its commit, ends"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" "$((rows - 4))" "sync imported none of its files"
clean "sync beside a live folder delete"

# ---- folder delete --purge killed after its commit: the recovery unlinks ---------------
mst folder create "user/$acct/Doomed" "${S[@]}"
doomed=$(q "SELECT folderid FROM hm_imapfolders WHERE foldername = 'Doomed' AND folderaccountid = $uid")
q "UPDATE hm_messages SET messagefolderid = $doomed WHERE messagefolderid = $inbox AND messageid IN (SELECT messageid FROM (SELECT messageid FROM hm_messages WHERE messagefolderid = $inbox ORDER BY messageid LIMIT 5) x)"
q "UPDATE hm_imapfolders SET foldercurrentuid = 100000 WHERE folderid = $doomed"
purged=$(q "SELECT messagefilename FROM hm_messages WHERE messagefolderid = $doomed")
ntrash=$(find "$D/.mstore/trash" -name '*.eml' | wc -l)
run_killed folder-delete-committed folder delete "user/$acct/Doomed" --purge "${S[@]}"
expect_eq "$(find "$D/.mstore" -maxdepth 1 -name 'trash-*.intent' | wc -l)" 1 "--purge killed after its commit: its intent is left"
mst reconstruct -r "${S[@]}" --settle 0; expect_ok "--purge killed after its commit: reconstruct -r"
for f in $purged; do [ -z "$(find "$D" -name "$f")" ] || t_fail "--purge recovery left $f"; done; t_ok
expect_eq "$(find "$D/.mstore/trash" -name '*.eml' | wc -l)" "$ntrash" "--purge recovery put nothing in the trash"
all_files=$(t_content_hash "$D")
clean "--purge killed after its commit"

t_done
