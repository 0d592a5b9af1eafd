#!/usr/bin/env bash
# mstore sync end to end: every category of sync.md on one data directory,
# the rows it writes, the rerun that skips everything, dry run.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db sync) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
q() { t_sql "$URL" "$1"; }

mst init "$URL"; expect_ok "init"
M domain add example.com --plus-addressing +; expect_ok "domain"
M domain alias example.com example.net; expect_ok "domain alias"
M account add alice@example.com; M account add bob@example.com; M account add carol@example.com --inactive
M alias add info@example.com alice@example.com
M list add team@example.com; M list member team@example.com alice@example.com bob@example.com

old='2021-03-04 05:06:07'
msg() { # msg RELPATH HEADERS...: a message with the given header lines
	local f=$D/$1; shift
	mkdir -p "$(dirname "$f")"
	{ for h in "$@"; do printf '%s\r\n' "$h"; done; printf '\r\nbody\r\n'; } > "$f"
	touch -d "$old" "$f"
}
A=example.com/alice
msg "$A/AB/{AB000000-0000-0000-0000-000000000001}.eml" \
	"Received: from x by y; Thu, 02 Jan 2020 03:04:05 +0000" "From: Sender <s@x.org>" "To: alice@example.com" "Date: Mon, 01 Jan 2018 00:00:00 +0000"
msg "$A/loose.eml" "From: a@b.c" "Date: Tue, 05 Feb 2019 10:00:00 +0000"
msg "$A/{CD000000-0000-0000-0000-000000000002}.eml" "From: c@d.e"
msg "Example.COM/BOB/EF/{EF000000-0000-0000-0000-000000000003}.eml" "Date: Wed, 06 Mar 2019 11:12:13 +0000" "From: \"Q, P\" <qp@x.org>"
msg "example.com/bob/00/{00000000-0000-0000-0000-000000000004}.eml" "Subject: no dates, no from"
msg "example.com/ghost/11/{11000000-0000-0000-0000-000000000005}.eml" "From: g@h.i"
msg "unknown.org/x/22/{22000000-0000-0000-0000-000000000006}.eml" "From: g@h.i"
msg "{33000000-0000-0000-0000-000000000007}.eml" "From: Out <out@outside.test>" "To: info@example.net, ext@outside.test" "Cc: team@example.com, alice+tag@example.com"
msg "{44000000-0000-0000-0000-000000000008}.eml" "From: out@outside.test" "To: someone@outside.test"
: > "$D/{55000000-0000-0000-0000-000000000009}.eml"; touch -d "$old" "$D/{55000000-0000-0000-0000-000000000009}.eml"
msg "#Public/66/{66000000-0000-0000-0000-00000000000A}.eml" "From: p@q.r"
msg "example.com/stray.eml" "From: p@q.r"
msg "notes.txt" "not a message"
msg "$A/77/{77000000-0000-0000-0000-00000000000B}.eml" "From: fresh@x.org"
touch "$D/$A/77/{77000000-0000-0000-0000-00000000000B}.eml"   # just written: deferred
msg "$A/88/{88000000-0000-0000-0000-00000000000C}.eml" "From: known@x.org"
msg "$A/12/{12000000-0000-0000-0000-00000000000D}.eml" "From: old@x.org"
mkdir -p "$D/$A/99"; printf 'Received: garbage\r\n\x00\x01\x02 binary \xff\xfe\r\n' > "$D/$A/99/bin.eml"
touch -d "$old" "$D/$A/99/bin.eml"
ln -s /etc/hostname "$D/$A/link.eml"

aid=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress='alice@example.com'")
inbox=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid=$aid")
q "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid) VALUES ($aid, $inbox, '{88000000-0000-0000-0000-00000000000C}.eml', 2, 'known@x.org', 10, 0, '1901-01-01 00:00:00', 1, '2020-01-01 00:00:00', 0, 0)"
# a full Windows path, as very old stores hold it (MariaDB reads \ in a
# string literal as an escape, so it gets each one doubled)
bs='\'; [ "$MSTORE_TEST_BACKEND" = mysql ] && bs='\\'
winpath="C:${bs}Program Files${bs}hMailServer${bs}Data${bs}example.com${bs}alice${bs}12${bs}{12000000-0000-0000-0000-00000000000D}.eml"
q "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid) VALUES ($aid, $inbox, '$winpath', 2, 'old@x.org', 10, 0, '1901-01-01 00:00:00', 1, '2020-01-01 00:00:00', 0, 0)"
expect_eq "$(q "SELECT messagefilename FROM hm_messages WHERE messagefilename LIKE 'C:%'")" 'C:\Program Files\hMailServer\Data\example.com\alice\12\{12000000-0000-0000-0000-00000000000D}.eml' "full-path row stored with its backslashes"
fullpath_id=$(q "SELECT messageid FROM hm_messages WHERE messagefilename LIKE 'C:%'")
[ -n "$fullpath_id" ] || t_fail "could not create the full-path row"

# --- dry run first: reports, writes nothing ---------------------------------
rows_before=$(q "SELECT COUNT(*) FROM hm_messages")
M sync -n --json "$T_TMP/dry.json"; expect_ok "dry run"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" "$rows_before" "dry run wrote no rows"
[ -f "$D/$A/loose.eml" ] || t_fail "dry run renamed a file"
expect_eq "$(jq -r '.dry_run' "$T_TMP/dry.json")" "true" "dry run flagged in JSON"
expect_eq "$(jq -r '.summary.imported' "$T_TMP/dry.json")" "3" "dry run counts what it would import"
expect_eq "$(jq -r '.summary.moved' "$T_TMP/dry.json")" "3" "dry run counts what it would move"

# --- the real run ---------------------------------------------------------------
M sync -v --json "$T_TMP/r.json"; expect_ok "sync"
cat_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .category' "$T_TMP/r.json"; }
expect_eq "$(cat_of "$A/AB/{AB000000-0000-0000-0000-000000000001}.eml")" "imported" "canonical account file"
expect_eq "$(cat_of "$A/loose.eml")" "moved" "misplaced non-GUID file"
expect_eq "$(cat_of "$A/{CD000000-0000-0000-0000-000000000002}.eml")" "moved" "GUID file outside its XX folder"
expect_eq "$(cat_of "Example.COM/BOB/EF/{EF000000-0000-0000-0000-000000000003}.eml")" "imported" "folder names match case-insensitively"
expect_eq "$(cat_of "example.com/ghost/11/{11000000-0000-0000-0000-000000000005}.eml")" "orphaned" "unknown account"
expect_eq "$(cat_of "unknown.org/x/22/{22000000-0000-0000-0000-000000000006}.eml")" "orphaned" "unknown domain"
expect_eq "$(cat_of "{33000000-0000-0000-0000-000000000007}.eml")" "queued" "queue file with local recipients"
expect_eq "$(cat_of "{44000000-0000-0000-0000-000000000008}.eml")" "not-imported" "queue file with external recipients only"
expect_eq "$(cat_of "{55000000-0000-0000-0000-000000000009}.eml")" "not-imported" "zero-byte file"
expect_eq "$(cat_of "#Public/66/{66000000-0000-0000-0000-00000000000A}.eml")" "not-imported" "#Public"
expect_eq "$(cat_of "example.com/stray.eml")" "not-imported" "file in a domain folder"
expect_eq "$(cat_of "notes.txt")" "ignored" "not a message file"
expect_eq "$(cat_of "$A/77/{77000000-0000-0000-0000-00000000000B}.eml")" "deferred" "file still being written"
expect_eq "$(cat_of "$A/12/{12000000-0000-0000-0000-00000000000D}.eml")" "path-updated" "full-path row"
expect_eq "$(cat_of "$A/link.eml")" "not-imported" "symlink never followed"
expect_eq "$(cat_of "$A/99/bin.eml")" "moved" "binary garbage is still the user's mail"
expect_eq "$(jq -r '.files[] | select(.path == "'"$A"'/99/bin.eml") | .unparsable_headers' "$T_TMP/r.json")" "true" "unparsable flagged"
expect_eq "$(jq -r '[.files[] | select(.path == "'"$A"'/88/{88000000-0000-0000-0000-00000000000C}.eml")] | length' "$T_TMP/r.json")" "0" "referenced file not in the report"
expect_eq "$(jq -r '.summary.skipped' "$T_TMP/r.json")" "1" "one skipped"
expect_eq "$(jq -r '.summary.failed' "$T_TMP/r.json")" "0" "nothing failed"
expect_out_contains "Moved" "-v lines"
expect_out_contains "Orphaned" "-v lines show orphans"

# rows
# UIDs follow the internal dates: loose.eml (2019) 1, AB (2020) 2, then the 2021 ones
expect_eq "$(q "SELECT messageuid FROM hm_messages WHERE messagefilename='{AB000000-0000-0000-0000-000000000001}.eml'")" "2" "UIDs in internal-date order"
expect_eq "$(q "SELECT messageuid FROM hm_messages WHERE messagefilename='{CD000000-0000-0000-0000-000000000002}.eml'")" "4" "last UID"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$aid AND messagetype=2 AND messageuid > 0")" "4" "alice's four imports have UIDs"
expect_eq "$(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$inbox")" "4" "foldercurrentuid advanced"
expect_eq "$(q "SELECT COUNT(DISTINCT messageuid) FROM hm_messages WHERE messagefolderid=$inbox AND messageuid > 0")" "4" "UIDs distinct"
expect_eq "$(q "SELECT messageflags, messagetype, messagelocked, messagecurnooftries FROM hm_messages WHERE messagefilename='{AB000000-0000-0000-0000-000000000001}.eml'" | tr '\t' ' ')" "32 2 0 0" "unread (Recent), delivered"
expect_eq "$(q "SELECT messagefrom FROM hm_messages WHERE messagefilename='{AB000000-0000-0000-0000-000000000001}.eml'")" "s@x.org" "From address"
expect_eq "$(q "SELECT messagecreatetime FROM hm_messages WHERE messagefilename='{AB000000-0000-0000-0000-000000000001}.eml'" | cut -c1-19)" "2020-01-02 03:04:05" "internal date from Received"
expect_eq "$(q "SELECT messagecreatetime FROM hm_messages WHERE messagefilename='{EF000000-0000-0000-0000-000000000003}.eml'" | cut -c1-19)" "2019-03-06 11:12:13" "internal date from Date"
expect_eq "$(q "SELECT messagecreatetime FROM hm_messages WHERE messagefilename='{00000000-0000-0000-0000-000000000004}.eml'" | cut -c1-19)" "$old" "internal date from mtime"
expect_eq "$(q "SELECT messagefrom FROM hm_messages WHERE messagefilename='{00000000-0000-0000-0000-000000000004}.eml'")" "" "no From: empty"
size=$(stat -c %s "$D/$A/AB/{AB000000-0000-0000-0000-000000000001}.eml")
expect_eq "$(q "SELECT messagesize FROM hm_messages WHERE messagefilename='{AB000000-0000-0000-0000-000000000001}.eml'")" "$size" "size is the file's"
# moves
[ ! -e "$D/$A/loose.eml" ] || t_fail "loose.eml still at its old place"
[ -f "$D/$A/CD/{CD000000-0000-0000-0000-000000000002}.eml" ] || t_fail "GUID file not moved into CD/"
newloose=$(jq -r '.files[] | select(.path == "'"$A"'/loose.eml") | .new_path' "$T_TMP/r.json")
[ -f "$D/$newloose" ] || t_fail "moved file not at its reported new path '$newloose'"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefilename='$(basename "$newloose")'")" "1" "row names the new file name"
t_ok
# path update
expect_eq "$(q "SELECT messagefilename FROM hm_messages WHERE messageid=$fullpath_id")" "{12000000-0000-0000-0000-00000000000D}.eml" "full path rewritten"
# queue
qid=$(q "SELECT messageid FROM hm_messages WHERE messagefilename='{33000000-0000-0000-0000-000000000007}.eml'")
expect_eq "$(q "SELECT messagetype, messageaccountid, messagefolderid, messagelocked, messageuid FROM hm_messages WHERE messageid=$qid" | tr '\t' ' ')" "1 0 0 0 0" "queue row"
expect_eq "$(q "SELECT recipientaddress FROM hm_messagerecipients WHERE recipientmessageid=$qid ORDER BY recipientaddress" | tr '\n' ' ')" "alice@example.com bob@example.com " "local recipients, de-duplicated"
expect_eq "$(q "SELECT recipientoriginaladdress FROM hm_messagerecipients WHERE recipientmessageid=$qid AND recipientaddress='alice@example.com'")" "info@example.net" "original address kept"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messagerecipients WHERE recipientlocalaccountid = 0")" "0" "no external recipient rows"
# files untouched
[ -f "$D/{44000000-0000-0000-0000-000000000008}.eml" ] || t_fail "not-imported file disappeared"
[ -f "$D/example.com/ghost/11/{11000000-0000-0000-0000-000000000005}.eml" ] || t_fail "orphan disappeared"
t_ok

# --- rerun: nothing new -----------------------------------------------------------
rows=$(q "SELECT COUNT(*) FROM hm_messages")
M sync --json "$T_TMP/r2.json"; expect_ok "rerun"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" "$rows" "rerun adds no rows"
expect_eq "$(jq -r '.summary.imported + .summary.moved + .summary.queued' "$T_TMP/r2.json")" "0" "rerun imports nothing"
expect_eq "$(jq -r '.summary.skipped' "$T_TMP/r2.json")" "9" "rerun skips the 9 referenced files"

# --- the deferred file is imported once it settles; INBOX recreated ----------------
bid=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress='bob@example.com'")
q "DELETE FROM hm_imapfolders WHERE folderaccountid=$bid"
msg "example.com/bob/AA/{AA000000-0000-0000-0000-00000000000E}.eml" "From: z@z.z"
M sync --settle 0 --json "$T_TMP/r3.json"; expect_ok "sync after settling"
expect_eq "$(jq -r '.summary.imported' "$T_TMP/r3.json")" "2" "deferred file and bob's new file imported"
expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders WHERE folderaccountid=$bid AND foldername='INBOX'")" "1" "missing INBOX created"
expect_eq "$(q "SELECT messageuid FROM hm_messages WHERE messagefilename='{77000000-0000-0000-0000-00000000000B}.eml'")" "5" "next UID in alice's INBOX"

# --- scopes ---------------------------------------------------------------------
msg "example.com/alice/BB/{BB000000-0000-0000-0000-00000000000F}.eml" "From: s@s.s"
msg "{CC000000-0000-0000-0000-000000000010}.eml" "To: bob@example.com"
M sync --account bob@example.com --json "$T_TMP/r4.json"; expect_ok "--account"
expect_eq "$(jq -r '.summary.imported + .summary.queued' "$T_TMP/r4.json")" "0" "--account bob touches nothing of alice or the queue"
M sync --queue-only --json "$T_TMP/r5.json"; expect_ok "--queue-only"
expect_eq "$(jq -r '.summary.queued' "$T_TMP/r5.json")" "1" "--queue-only queues the new queue file"
expect_eq "$(jq -r '.summary.imported' "$T_TMP/r5.json")" "0" "--queue-only imports no account file"
M sync --domain example.com --json "$T_TMP/r6.json"; expect_ok "--domain"
expect_eq "$(jq -r '.summary.imported' "$T_TMP/r6.json")" "1" "--domain imports alice's new file"

# --- duplicates ---------------------------------------------------------------------
mkdir -p "$D/$A/DD" "$D/$A/DE"
cp -p "$D/$A/AB/{AB000000-0000-0000-0000-000000000001}.eml" "$D/$A/DD/{DD000000-0000-0000-0000-000000000011}.eml"
rows_before=$(q "SELECT COUNT(*) FROM hm_messages")
M sync -n --skip-duplicates --json "$T_TMP/r7n.json"; expect_ok "--dry-run --skip-duplicates"
expect_eq "$(jq -r '.files[] | select(.path | contains("{DD0")) | "\(.category) \(.duplicate_of)"' "$T_TMP/r7n.json")" \
	"not-imported {AB000000-0000-0000-0000-000000000001}.eml" "--dry-run predicts the duplicate is skipped"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" "$rows_before" "--dry-run with --skip-duplicates writes no row"
M sync --skip-duplicates --json "$T_TMP/r7.json"; expect_ok "--skip-duplicates"
expect_eq "$(jq -r '.files[] | select(.path | contains("{DD0")) | .category' "$T_TMP/r7.json")" "not-imported" "duplicate skipped"
expect_eq "$(jq -r '.files[] | select(.path | contains("{DD0")) | .duplicate_of' "$T_TMP/r7.json")" "{AB000000-0000-0000-0000-000000000001}.eml" "duplicate names the original"
rm "$D/$A/DD/{DD000000-0000-0000-0000-000000000011}.eml"
cp -p "$D/$A/AB/{AB000000-0000-0000-0000-000000000001}.eml" "$D/$A/DE/{DE000000-0000-0000-0000-000000000012}.eml"
M sync --json "$T_TMP/r8.json"; expect_ok "duplicate without --skip-duplicates"
expect_eq "$(jq -r '.files[] | select(.path | contains("{DE0")) | "\(.category) \(.duplicate_of)"' "$T_TMP/r8.json")" \
	"imported {AB000000-0000-0000-0000-000000000001}.eml" "duplicate imported and reported"

# --- quarantine and delete mode ---------------------------------------------------
ghost="example.com/ghost/11/{11000000-0000-0000-0000-000000000005}.eml"
M sync -n --quarantine "$T_TMP/q"; expect_ok "dry run with --quarantine"
[ -f "$D/$ghost" ] && [ ! -e "$T_TMP/q" ] || t_fail "dry run quarantined something"
M sync --quarantine "$D/q"; expect_rc 2 "quarantine inside the data directory refused"
M sync --quarantine "$T_TMP/q" --delete-unreferenced; expect_rc 2 "both cleanup modes refused"
M sync --quarantine "$T_TMP/q"; expect_ok "--quarantine"
expect_out_contains "Quarantining" "files listed before they are moved"
[ -f "$T_TMP/q/$ghost" ] && [ ! -e "$D/$ghost" ] || t_fail "orphan not moved to the quarantine with its path"
[ -f "$T_TMP/q/{44000000-0000-0000-0000-000000000008}.eml" ] || t_fail "queue file without local recipients not quarantined"
[ -f "$D/$A/AB/{AB000000-0000-0000-0000-000000000001}.eml" ] || t_fail "an imported file was quarantined"
t_ok
msg "example.com/ghost/22/{22000000-0000-0000-0000-0000000000FF}.eml" "From: g@h.i"
M sync --delete-unreferenced; expect_ok "--delete-unreferenced"
[ ! -e "$D/example.com/ghost/22/{22000000-0000-0000-0000-0000000000FF}.eml" ] || t_fail "orphan not deleted"
[ -f "$D/$A/AB/{AB000000-0000-0000-0000-000000000001}.eml" ] || t_fail "delete mode removed an imported file"
t_ok

# --- bad usage ----------------------------------------------------------------------
M sync --shard 3/2; expect_rc 2 "bad shard"
M sync --settle soon; expect_rc 2 "bad settle"
mst sync --db "$URL" --data "$T_TMP/nope"; expect_fail "missing data directory"
expect_err_contains "nope" "missing data directory named"
mst sync --db "$URL"; expect_rc 2 "no data directory"
t_done
