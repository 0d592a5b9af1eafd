#!/usr/bin/env bash
# `mstore folder lock` is honoured by every writer (issue 16, mboxlock.h):
# while a mailbox is locked, sync, deliver (one message, --mbox,
# --lock-wait), expire and the channel's hmailserver side write nothing
# into it and exit 1, naming it; a deliver with --lock-wait delivers once
# the lock is gone; after the lock every writer's rerun completes and the
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
mst channel -f "$T_TMP/chan.conf" --state-dir "$T_TMP/state" c; expect_rc 1 "channel into a locked folder"
expect_out_contains "mailbox INBOX is locked" "the channel names the mailbox"
expect_eq "$(state)" "$before" "nothing written inside the lock window"

# a deliver that waits is let in when the lock ends
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" deliver "$A" --lock-wait 60 "$T_TMP/one.eml" "${S[@]}" \
	>"$T_TMP/waiter.out" 2>&1 &
waiter=$!
sleep 0.5
kill -0 "$waiter" 2>/dev/null || t_fail "deliver --lock-wait 60 did not wait"; t_ok
expect_eq "$(state)" "$before" "the waiting deliver wrote nothing yet"
touch "$T_TMP/go"
wait "$lockpid"; T_RC=$?; expect_ok "the locked command ended"
wait "$waiter"; T_RC=$?; expect_ok "the waiting deliver delivered after the lock"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 2 "its message is in"

# ---- after the lock: every writer's rerun completes ---------------------------------------------------
mst sync --no-progress --settle 0 "${S[@]}"; expect_ok "sync after the lock"
mst deliver "$A" --mbox "$T_TMP/two.mbox" "${S[@]}"; expect_ok "deliver --mbox after the lock"
mst channel -f "$T_TMP/chan.conf" --state-dir "$T_TMP/state" c; expect_ok "channel after the lock"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 6 "the sync's file, the mbox's two and the channel's message are in"
clean "after the writers"
# --now a minute ahead: "older than 0 days" is strict, and the messages above
# may have been delivered within this very second (red in CI once)
mst expire --rules "$T_TMP/rules" --now $(( $(date +%s) + 60 )) "${S[@]}"; expect_ok "expire after the lock"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 0 "expired"
clean "after expire"

# an mstore the locked command runs is inside the lock
mst folder lock "$BOX" "${S[@]}" -- "$MSTORE_BIN" deliver "$A" "$T_TMP/one.eml" "${S[@]}"; expect_ok "deliver run by the locked command"
t_done
