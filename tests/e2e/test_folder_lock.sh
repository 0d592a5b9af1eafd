#!/usr/bin/env bash
# `mstore folder lock` is honoured by every writer (issue 16, mboxlock.h):
# while a mailbox is locked, sync, deliver (one message, --mbox,
# --lock-wait), expire (--lock-wait) and the channel's hmailserver side
# (--lock-wait) write nothing into it and exit 1, naming it, and create no
# folder below it; a deliver, expire or channel with --lock-wait gets in
# once the lock is gone; after the lock every writer's rerun completes and the
# store is clean by `mstore reconstruct -n`.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db flock)
DATA=$T_TMP/Data
mkdir -p "$DATA"
S=(--db "$URL" --data "$DATA" --server-tz UTC)
A=ann@example.com BOX=user/ann@example.com/INBOX
mst init "$URL"; expect_ok "init"
mst domain add example.com "${S[@]}"; expect_ok "domain"
mst account add "$A" "${S[@]}"; expect_ok "account"
printf 'From: carol@example.org\nSubject: one\n\nhello\n' >"$T_TMP/one.eml"
printf 'From carol@example.org Mon Jan  1 00:00:00 2024\nFrom: carol@example.org\nSubject: m1\n\nx\n\nFrom carol@example.org Mon Jan  1 00:00:01 2024\nFrom: carol@example.org\nSubject: m2\n\ny\n' >"$T_TMP/two.mbox"
mst deliver "$A" "$T_TMP/one.eml" "${S[@]}"; expect_ok "a first message (the INBOX exists)"

# what the writers would bring in: a file for sync, a message for the channel
mkdir -p "$DATA/example.com/ann/AA" "$T_TMP/md/cur" "$T_TMP/md/new" "$T_TMP/md/tmp"
printf 'From: dan@example.org\r\nSubject: for sync\r\n\r\nz\r\n' >"$DATA/example.com/ann/AA/{AA000001-0000-4000-8000-000000000000}.eml"
touch -d '2024-01-01' "$DATA/example.com/ann/AA/{AA000001-0000-4000-8000-000000000000}.eml"
printf 'From: eve@example.org\nSubject: for the channel\nMessage-ID: <ch1@example.org>\n\nw\n' >"$T_TMP/md/cur/1.host:2,S"
printf 'store md { kind maildir path %s }\nstore hm { kind hmailserver db %s data %s account %s }\nchannel c md hm { }\n' \
	"$T_TMP/md" "$URL" "$DATA" "$A" >"$T_TMP/chan.conf"
printf 'all.folderpattern: ^user/ann@example\\.com/INBOX$\nall.messagedays: 0\n' >"$T_TMP/rules"

q() { t_sql "$URL" "$1" | tr -d '\r'; }
state() { q "SELECT messageid, messagefolderid, messageuid, messagefilename FROM hm_messages ORDER BY messageid"; q "SELECT folderid, foldercurrentuid FROM hm_imapfolders ORDER BY folderid"; (cd "$DATA" && find . -path ./.mstore -prune -o -print | sort); }
clean() {
	mst reconstruct -n "${S[@]}" --settle 0; expect_ok "$1: reconstruct -n"
	expect_out_contains "no findings" "$1: reconstruct -n clean"
}

# ---- writers while the INBOX is locked -------------------------------------------------------------
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" folder lock "$BOX" "${S[@]}" -- \
	sh -c "touch '$T_TMP/held'; while [ ! -e '$T_TMP/go' ]; do sleep 0.05; done" &
lockpid=$!
for _ in $(seq 400); do [ -e "$T_TMP/held" ] && break; sleep 0.05; done
[ -e "$T_TMP/held" ] || t_fail "the locked command did not start"
before=$(state)

mst sync --no-progress --settle 0 "${S[@]}"; expect_rc 1 "sync: a locked account's file is left"
expect_err_contains "locked by \`mstore folder lock\`" "sync names the lock"
mst deliver "$A" "$T_TMP/one.eml" "${S[@]}"; expect_rc 1 "deliver into a locked folder"
expect_err_contains "$A is locked by \`mstore folder lock\`" "deliver names the mailbox and the lock"
mst deliver "$A" --mbox "$T_TMP/two.mbox" "${S[@]}"; expect_rc 1 "deliver --mbox into a locked folder"
t0=$(date +%s%N)
mst deliver "$A" --lock-wait 1 "$T_TMP/one.eml" "${S[@]}"; expect_rc 1 "deliver --lock-wait 1 gives up"
[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 900 ] || t_fail "deliver --lock-wait 1 did not wait a second"; t_ok
mst deliver "$A" --lock-wait x "$T_TMP/one.eml" "${S[@]}"; expect_rc 2 "--lock-wait takes seconds"
mst expire --rules "$T_TMP/rules" "${S[@]}"; expect_rc 1 "expire of a locked folder"
expect_err_contains "$BOX is locked" "expire names the mailbox"
expect_out_contains "1 folder(s) locked" "expire's summary counts it"
t0=$(date +%s%N)
mst expire --rules "$T_TMP/rules" --lock-wait 1 "${S[@]}"; expect_rc 1 "expire --lock-wait 1 gives up"
[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 900 ] || t_fail "expire --lock-wait 1 did not wait a second"; t_ok
expect_err_contains "$BOX is locked" "expire --lock-wait names the mailbox it gave up on"
mst expire --rules "$T_TMP/rules" --lock-wait x "${S[@]}"; expect_rc 2 "expire --lock-wait takes seconds"
mst channel -f "$T_TMP/chan.conf" --state-dir "$T_TMP/state" c; expect_rc 1 "channel into a locked folder"
expect_err_contains "mailbox INBOX is locked" "the channel names the mailbox"
t0=$(date +%s%N)
mst channel -f "$T_TMP/chan.conf" --state-dir "$T_TMP/state" --lock-wait 1 c; expect_rc 1 "channel --lock-wait 1 gives up"
[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 900 ] || t_fail "channel --lock-wait 1 did not wait a second"; t_ok
expect_err_contains "mailbox INBOX is locked by \`mstore folder lock\` (waited 1 s)" "the channel says it waited"
mst channel -f "$T_TMP/chan.conf" --state-dir "$T_TMP/state" --lock-wait x c; expect_rc 2 "channel --lock-wait takes seconds"
expect_eq "$(state)" "$before" "nothing written inside the lock window"

# a deliver that waits is let in when the lock ends
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" deliver "$A" --lock-wait 60 "$T_TMP/one.eml" "${S[@]}" \
	>"$T_TMP/waiter.out" 2>&1 &
waiter=$!
# an expire that waits too (a rule that selects nothing: it only has to get in)
printf 'none.folderpattern: ^user/\nnone.messagedays: 100000\n' >"$T_TMP/rules-none"
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" expire --rules "$T_TMP/rules-none" --lock-wait 60 "${S[@]}" \
	>"$T_TMP/ewaiter.out" 2>&1 &
ewaiter=$!
# and a channel that waits (its Maildir's message goes in when it gets in)
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" channel -f "$T_TMP/chan.conf" --state-dir "$T_TMP/state" \
	--lock-wait 60 c >"$T_TMP/cwaiter.out" 2>&1 &
cwaiter=$!
sleep 0.5
kill -0 "$waiter" 2>/dev/null || t_fail "deliver --lock-wait 60 did not wait"; t_ok
kill -0 "$ewaiter" 2>/dev/null || t_fail "expire --lock-wait 60 did not wait"; t_ok
kill -0 "$cwaiter" 2>/dev/null || t_fail "channel --lock-wait 60 did not wait: $(cat "$T_TMP/cwaiter.out")"; t_ok
expect_eq "$(state)" "$before" "the waiting deliver and channel wrote nothing yet"
touch "$T_TMP/go"
wait "$lockpid"; T_RC=$?; expect_ok "the locked command ended"
wait "$waiter"; T_RC=$?; expect_ok "the waiting deliver delivered after the lock"
wait "$ewaiter"; T_RC=$?; expect_ok "the waiting expire got in after the lock"
wait "$cwaiter"; T_RC=$?; expect_ok "the waiting channel synchronized after the lock"
grep -q "locked" "$T_TMP/ewaiter.out" && t_fail "the waiting expire reported a lock: $(cat "$T_TMP/ewaiter.out")"; t_ok
grep -q "locked" "$T_TMP/cwaiter.out" && t_fail "the waiting channel reported a lock: $(cat "$T_TMP/cwaiter.out")"; t_ok
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 3 "the deliver's and the channel's messages are in"

# ---- after the lock: every writer's rerun completes ---------------------------------------------------
mst sync --no-progress --settle 0 "${S[@]}"; expect_ok "sync after the lock"
mst deliver "$A" --mbox "$T_TMP/two.mbox" "${S[@]}"; expect_ok "deliver --mbox after the lock"
mst channel -f "$T_TMP/chan.conf" --state-dir "$T_TMP/state" c; expect_ok "channel after the lock"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 6 "the sync's file and the mbox's two are in beside the three"
clean "after the writers"
# --now a minute ahead: "older than 0 days" is strict, and the messages above
# may have been delivered within this very second (red in CI once)
mst expire --rules "$T_TMP/rules" --now $(( $(date +%s) + 60 )) "${S[@]}"; expect_ok "expire after the lock"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 0 "expired"
clean "after expire"

# ---- a folder a writer would create below a locked one -----------------------------------------------
# sync puts a file where a hint (--hints-from, an older database) says,
# creating the folder path; the channel creates a Maildir side's folder.
# Below a locked folder neither creates anything (as `folder create`).
mst folder create user/ann@example.com/Work "${S[@]}"; expect_ok "folder create Work"
HURL=sqlite:$T_TMP/hints.sqlite
mst init "$HURL"; expect_ok "init the hints database"
mst domain add example.com --db "$HURL"; mst account add "$A" --db "$HURL"
mst folder create user/ann@example.com/Work/New --db "$HURL"; expect_ok "Work/New in the hints database"
ha=$(t_sql "$HURL" "SELECT accountid FROM hm_accounts")
hf=$(t_sql "$HURL" "SELECT folderid FROM hm_imapfolders WHERE foldername = 'New'")
HNAME="{BB000001-0000-4000-8000-000000000000}.eml"
t_sql "$HURL" "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid) VALUES ($ha, $hf, '$HNAME', 2, 'x@y.z', 10, 0, '1901-01-01 00:00:00', 1, '2015-05-05 05:05:05', 0, 1)"
mkdir -p "$DATA/example.com/ann/BB"
printf 'From: fay@example.org\r\nSubject: hinted\r\n\r\nh\r\n' >"$DATA/example.com/ann/BB/$HNAME"
touch -d '2024-01-01' "$DATA/example.com/ann/BB/$HNAME"
mkdir -p "$T_TMP/md2/cur" "$T_TMP/md2/new" "$T_TMP/md2/tmp" "$T_TMP/md2/.Work.Chan/cur" "$T_TMP/md2/.Work.Chan/new" "$T_TMP/md2/.Work.Chan/tmp"
printf 'From: gus@example.org\nSubject: in a new folder\nMessage-ID: <ch2@example.org>\n\nv\n' >"$T_TMP/md2/.Work.Chan/cur/2.host:2,S"
sed "s|$T_TMP/md |$T_TMP/md2 |" "$T_TMP/chan.conf" >"$T_TMP/chan2.conf"
rm -f "$T_TMP/held" "$T_TMP/go"
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" folder lock user/ann@example.com/Work "${S[@]}" -- \
	sh -c "touch '$T_TMP/held'; while [ ! -e '$T_TMP/go' ]; do sleep 0.05; done" &
lockpid=$!
for _ in $(seq 400); do [ -e "$T_TMP/held" ] && break; sleep 0.05; done
[ -e "$T_TMP/held" ] || t_fail "the locked command did not start"
before=$(state)
mst sync --no-progress --settle 0 --hints-from "$HURL" "${S[@]}"; expect_rc 1 "sync: no folder created below a locked one"
expect_err_contains "locked by \`mstore folder lock\`" "sync names the lock"
mst channel -f "$T_TMP/chan2.conf" --state-dir "$T_TMP/state2" c; expect_rc 1 "channel: no folder created below a locked one"
expect_err_contains "is locked" "the channel names the lock"
expect_eq "$(state)" "$before" "nothing created or written below the locked folder"
touch "$T_TMP/go"
wait "$lockpid"; T_RC=$?; expect_ok "the locked command ended"
mst sync --no-progress --settle 0 --hints-from "$HURL" "${S[@]}"; expect_ok "sync after the lock"
expect_eq "$(q "SELECT f.foldername FROM hm_messages m JOIN hm_imapfolders f ON f.folderid = m.messagefolderid WHERE m.messagefilename = '$HNAME'")" "New" "the hinted file is in Work/New"
mst channel -f "$T_TMP/chan2.conf" --state-dir "$T_TMP/state2" c; expect_ok "channel after the lock"
expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders WHERE foldername = 'Chan'")" 1 "the channel's folder is created"
clean "after the folders below a lock"

# ---- several locks are taken in one order: ascending folder ids ----------------------------------------
# A folder moved below a newer one has a smaller id than its parent: a
# subtree taken parent first (Work2, then P) and the account's folders
# taken by id (..., P, Work2) could each hold one and wait for the other.
mst folder create user/ann@example.com/P "${S[@]}"; expect_ok "create P"
mst folder create user/ann@example.com/Work2 "${S[@]}"; expect_ok "create Work2"
mst folder rename user/ann@example.com/P user/ann@example.com/Work2/P "${S[@]}"; expect_ok "P below Work2"
pid=$(q "SELECT folderid FROM hm_imapfolders WHERE foldername = 'P'")
wid=$(q "SELECT folderid FROM hm_imapfolders WHERE foldername = 'Work2'")
[ "$pid" -lt "$wid" ] || t_fail "the child's id ($pid) is not below its parent's ($wid)"; t_ok
# the hook lists the lock files held (by mstore) after each one it takes
cat >"$T_TMP/held.sh" <<EOF
for f in "$DATA"/.mstore/locks/folder-*.lock; do flock -n "\$f" true || basename "\$f"; done >>"$T_TMP/order"
echo -- >>"$T_TMP/order"
EOF
for box in user/ann@example.com/Work2 user/ann@example.com; do
	rm -f "$T_TMP/order"
	MSTORE_TEST_HOOK_AT=folder-lock-taken MSTORE_TEST_HOOK_CMD="sh '$T_TMP/held.sh'" mst folder lock "$box" "${S[@]}" -- true
	expect_ok "folder lock $box: the locked command ran"
	want=$pid; [ "$box" = user/ann@example.com ] && want=$(q "SELECT MIN(folderid) FROM hm_imapfolders")
	expect_eq "$(sed -n 1p "$T_TMP/order")" "folder-$want.lock" "folder lock $box: the smallest id is locked first"
done
# the deadlock itself: a subtree, the parent's subtree and the account, at once
for round in 1 2 3; do
	( MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} timeout 10 "$MSTORE_BIN" folder lock user/ann@example.com/Work2/P "${S[@]}" -- sleep 1; echo $? >"$T_TMP/rc1" ) &
	sleep 0.3
	( MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} timeout 10 "$MSTORE_BIN" folder lock user/ann@example.com/Work2 "${S[@]}" -- true; echo $? >"$T_TMP/rc2" ) &
	sleep 0.2
	( MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} timeout 10 "$MSTORE_BIN" folder lock user/ann@example.com "${S[@]}" -- true; echo $? >"$T_TMP/rc3" ) &
	wait
	expect_eq "$(cat "$T_TMP/rc1" "$T_TMP/rc2" "$T_TMP/rc3" | tr '\n' ' ')" "0 0 0 " "round $round: three overlapping locks all ran"
done

# an mstore the locked command runs is inside the lock
mst folder lock "$BOX" "${S[@]}" -- "$MSTORE_BIN" deliver "$A" "$T_TMP/one.eml" "${S[@]}"; expect_ok "deliver run by the locked command"
t_done
