#!/usr/bin/env bash
# mstore check on a kind hmailserver store, through its driver, on each
# database: duplicates by Message-ID, a 0-byte file, a message without a
# Message-ID, a row whose file is gone (unreadable, the rest still
# checked); a clean folder exits 0; the database is opened read-only, so
# nothing changes.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
tab=$'\t'

URL=$(t_new_db check)
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
q() { t_sql "$URL" "$1"; }
mst init "$URL" --data "$D"; expect_ok "init"
M domain add example.com; expect_ok "domain"
M account add ann@example.com; expect_ok "account"
msg() { # msg GUID-DIGIT HEADERS...: a message file in ann's INBOX
	local f=$D/example.com/ann/A$1/{A${1}000000-0000-0000-0000-00000000000$1}.eml
	shift
	mkdir -p "$(dirname "$f")"
	{ for h in "$@"; do printf '%s\r\n' "$h"; done; printf '\r\nbody\r\n'; } > "$f"
	touch -d '2021-03-04 05:06:07' "$f"
}
msg 1 "From: a@x.org" "Message-ID: <one@x.org>"
msg 2 "From: b@x.org" "Message-ID: <one@x.org>" "Subject: another"
msg 3 "From: c@x.org" "Subject: no id"
msg 4 "From: d@x.org" "Message-ID: <gone@x.org>"
msg 5 "From: e@x.org" "Message-ID: <five@x.org>"
M sync; expect_ok "sync of five messages"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 5 "five rows"
rm "$D"/example.com/ann/A4/*.eml    # its row stays: the file is gone
: > "$(echo "$D"/example.com/ann/A5/*.eml)"  # emptied after the import (sync skips 0-byte files)
aid=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress='ann@example.com'")
q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($aid, -1, 'Empty', 1, '2021-01-01 00:00:00', 0)"
uid() { q "SELECT messageuid FROM hm_messages WHERE messagefilename LIKE '%A${1}000000%'"; }

CONF=$T_TMP/channels.conf
printf 'store hm { kind hmailserver db %s data %s account ann@example.com }\n' "$URL" "$D" > "$CONF"
before=$(q "SELECT messageid, messageuid, messageflags, messagesize FROM hm_messages ORDER BY messageid")

mst check -f "$CONF" -v hm; expect_rc 1 "an hmailserver store with defects"
out=$(t_out)
expect_eq "$(printf '%s\n' "$out" | grep -c "^unreadable${tab}INBOX${tab}UID $(uid 4)${tab}")" 1 "the row without its file is unreadable"
expect_out_contains "unparsable${tab}INBOX${tab}UID $(uid 5)${tab}0 bytes" "the 0-byte file"
expect_out_contains "no-message-id${tab}INBOX${tab}UID $(uid 3)${tab}no Message-ID" "-v: the message without a Message-ID"
expect_out_contains "duplicate${tab}INBOX${tab}UID $(uid 2)${tab}the same Message-ID as UID $(uid 1), a different content" "the duplicate"
expect_eq "$(printf '%s\n' "$out" | tail -1)" "checked 2 folders, 5 messages: unreadable 1, unparsable 1, duplicate 1, no-message-id 1, maildir-name 0, mbox-split 0, mbox-truncated 0" "summary"
expect_eq "$(printf '%s\n' "$out" | grep -c .)" 5 "four findings and the summary, nothing else"

mst check -f "$CONF" --json - hm Empty; expect_ok "a clean folder"
expect_eq "$(t_out | jq -r '.kind, .exit_code, .summary.folders, (.findings | length)' | tr '\n' ' ')" "hmailserver 0 1 0 " "JSON of the clean folder"
# mstore channel STORE lists the same store with the same password rule
# (the config has no passwd: the database password comes from the environment)
mst channel -f "$CONF" hm; expect_ok "mstore channel lists the hmailserver store"
expect_eq "$(t_out | tr '\n' ' ')" "Empty INBOX " "its folders"
expect_eq "$(q "SELECT messageid, messageuid, messageflags, messagesize FROM hm_messages ORDER BY messageid")" "$before" "no row changed"
t_done
