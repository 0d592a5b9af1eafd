#!/usr/bin/env bash
# Which row references which file (issue 12 items 2 and 6, issue 11 item
# 7): a file is referenced only by a row of its own account (the queue for
# the data directory's root); the same name elsewhere is another file,
# imported under a new GUID name; GUID names differing only in case are
# one name unless both spellings are on disk, where the one spelt as the
# row is the row's.  sync and reconstruct agree on every case: what
# reconstruct reports as unreferenced, sync imports; what sync skips,
# reconstruct calls referenced.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db refs) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
q() { t_sql "$URL" "$1"; }
S() { M sync --no-progress --json "$T_TMP/s.json" "$@"; }
R() { M reconstruct --no-progress --json "$T_TMP/r.json" "$@"; }
cat_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .category' "$T_TMP/s.json"; }
reason_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .reason' "$T_TMP/s.json"; }
# the kinds of reconstruct's findings about paths under PREFIX, sorted
kinds_under() { jq -r --arg p "$1" '.findings[] | select((.path // "") | startswith($p)) | .kind' "$T_TMP/r.json" | sort | tr '\n' ' '; }
old='2021-03-04 05:06:07'
msg() { # msg RELPATH BYTES-OF-BODY HEADERS...
	local f=$D/$1 n=$2; shift 2
	mkdir -p "$(dirname "$f")"
	{ for h in "$@"; do printf '%s\r\n' "$h"; done; printf '\r\n'; head -c "$n" /dev/zero | tr '\0' x; } > "$f"
	touch -d "$old" "$f"
}
G() { printf '{%s-0000-4000-8000-%012d}.eml' "$1" "$2"; }   # G 8HEX N
acct() { q "SELECT accountid FROM hm_accounts WHERE accountaddress='$1'"; }
inbox() { q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid=$(acct "$1") AND folderparentid=-1"; }
rows_of() { q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$(acct "$1")"; }
add_row() { # add_row ACCOUNT FILENAME SIZE: a row as an older tool left it, with the next UID
	local f; f=$(inbox "$1")
	q "UPDATE hm_imapfolders SET foldercurrentuid = foldercurrentuid + 1 WHERE folderid=$f"
	q "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid) VALUES ($(acct "$1"), $f, '$2', 2, 'x@y.z', $3, 0, '1901-01-01 00:00:00', 0, '2020-01-01 00:00:00', 0, $(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$f"))"
}

mst init "$URL"; expect_ok "init"
M domain add example.com; expect_ok "domain"
for a in ann bob carl dan eve; do M account add $a@example.com; done

# --- issue 12 item 2: a mailbox copied into another account ----------------------------------
for n in 1 2 3; do msg "example.com/ann/A$n/$(G A${n}000000 $n)" $((n * 10)) "From: a$n@x.org" "Subject: ann $n"; done
S --account ann@example.com; expect_ok "ann's first sync"
expect_eq "$(rows_of ann@example.com)" 3 "ann: three rows"
cp -a "$D/example.com/ann" "$D/example.com/bob"
before_ann=$(t_content_hash "$D/example.com/ann")
# and one copy away from its canonical place: moved there under a new name, not under ann's
mkdir -p "$D/example.com/carl/restored"; cp -p "$D/example.com/ann/A1/$(G A1000000 1)" "$D/example.com/carl/restored/"
R -n
expect_eq "$(kinds_under example.com/bob/)" "unreferenced-file unreferenced-file unreferenced-file " "reconstruct: bob's copies are unreferenced files"
expect_eq "$(jq -r '[.findings[] | select(.kind == "unreferenced-file") | .repair] | unique | join("|")' "$T_TMP/r.json")" "report only: mstore sync imports it" "reconstruct: the hint says sync imports them"
S; expect_ok "sync after the copy"
for n in 1 2 3; do
	p="example.com/bob/A$n/$(G A${n}000000 $n)"
	expect_eq "$(cat_of "$p")" moved "sync: bob's copy $n is imported under a new name (not skipped)"
	case "$(reason_of "$p")" in *"another account"*"new name"*) ;; *) t_fail "bob's copy $n: the reason does not say why it was renamed: $(reason_of "$p")" ;; esac
	[ -e "$D/$p" ] && t_fail "bob's copy $n is still under ann's name"
	expect_eq "$(cat_of "example.com/ann/A$n/$(G A${n}000000 $n)")" "" "sync: ann's file $n is skipped (not listed)"
done
expect_eq "$(rows_of bob@example.com)" 3 "bob: three rows"
expect_eq "$(cat_of "example.com/carl/restored/$(G A1000000 1)")" moved "sync: the misplaced copy in carl's folder is moved"
[ -e "$D/example.com/carl/A1/$(G A1000000 1)" ] && t_fail "the misplaced copy was moved under ann's name"
expect_eq "$(rows_of carl@example.com)" 1 "carl: one row"
q "DELETE FROM hm_messages WHERE messageaccountid=$(acct carl@example.com)"; rm -rf "$D/example.com/carl"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages m JOIN hm_messages n ON m.messagefilename = n.messagefilename AND m.messageid < n.messageid")" 0 "no two rows share a file name"
expect_eq "$(t_content_hash "$D/example.com/ann")" "$before_ann" "ann's files are untouched"
expect_eq "$(t_content_hash "$D/example.com/bob")" "$before_ann" "bob has the same messages, renamed"
q "SELECT messagefilename, messagesize FROM hm_messages WHERE messageaccountid=$(acct bob@example.com)" | while IFS=$'\t' read -r f size; do
	[ -f "$D/example.com/bob/${f:1:2}/$f" ] || t_fail "bob's row $f: no file at its canonical place"
	[ "$(stat -c %s "$D/example.com/bob/${f:1:2}/$f")" = "$size" ] || t_fail "bob's row $f: the size differs"
done
R -n; expect_ok "reconstruct: no findings after the import"
S; expect_ok "sync again"
expect_eq "$(jq -r '.summary.imported + .summary.moved + .summary.queued' "$T_TMP/s.json")" 0 "the rerun imports nothing"

# --- the queue: a root file named like an account's row ----------------------------------------
cp -p "$D/example.com/ann/A1/$(G A1000000 1)" "$D/$(G A1000000 1)"
sed -i '1i To: eve@example.com\r' "$D/$(G A1000000 1)"; touch -d "$old" "$D/$(G A1000000 1)"
R -n
expect_eq "$(kinds_under "$(G A1000000 1)")" "unreferenced-file " "reconstruct: the root file is unreferenced (ann's row is not the queue's)"
S; expect_ok "sync: the root file"
expect_eq "$(cat_of "$(G A1000000 1)")" moved "sync: the root file is queued under a new name"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype=1")" 1 "one queue row"
R -n; expect_ok "reconstruct: no findings after queueing"

# --- a queued message delivered while sync runs: hMailServer updates the row (type 2, the account)
# and moves the file; the name the loaded set gives the queue is the account's by now, so the file is
# skipped, not renamed away from its row
qrow=$(q "SELECT messageid FROM hm_messages WHERE messagetype=1")
qname=$(q "SELECT messagefilename FROM hm_messages WHERE messageid=$qrow")
cat > "$T_TMP/deliver.sh" <<EOS
mkdir -p "$D/example.com/eve/${qname:1:2}" && mv "$D/$qname" "$D/example.com/eve/${qname:1:2}/$qname"
$(declare -f t_sql t_psql t_mysql 2>/dev/null)
t_sql "$URL" "DELETE FROM hm_messagerecipients WHERE recipientmessageid=$qrow"
t_sql "$URL" "UPDATE hm_imapfolders SET foldercurrentuid = foldercurrentuid + 1 WHERE folderid=$(inbox eve@example.com)"
t_sql "$URL" "UPDATE hm_messages SET messagetype=2, messageaccountid=$(acct eve@example.com), messagefolderid=$(inbox eve@example.com), messageuid=(SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$(inbox eve@example.com)) WHERE messageid=$qrow"
EOS
MSTORE_TEST_HOOK_AT=walk MSTORE_TEST_HOOK_CMD="bash $T_TMP/deliver.sh" S; expect_ok "sync while a queued message is delivered"
expect_eq "$(q "SELECT messagetype FROM hm_messages WHERE messageid=$qrow")" 2 "the hook delivered the queued message"
[ -f "$D/example.com/eve/${qname:1:2}/$qname" ] || t_fail "the delivered file was renamed away from its row"
expect_eq "$(cat_of "example.com/eve/${qname:1:2}/$qname")" "" "the delivered file is skipped (its row was re-read under the lock)"
expect_eq "$(rows_of eve@example.com)" 1 "no second row for the delivered message"
R -n; expect_ok "reconstruct: no findings after the delivery"
q "DELETE FROM hm_messages WHERE messageid=$qrow"; rm -rf "$D/example.com/eve"

# --- issue 11 item 7: a full-path row is bound only to its own account's file ----------------
bs='\'; [ "$MSTORE_TEST_BACKEND" = mysql ] && bs='\\'
win() { printf 'C:%sData%sexample.com%s%s%s%s%s%s' "$bs" "$bs" "$bs" "$1" "$bs" "${2:1:2}" "$bs" "$2"; }
fa=$(G F1000000 1); fb=$(G F2000000 2)
add_row carl@example.com "$(win carl "$fa")" 40     # its file is in dan's folder only
add_row carl@example.com "$(win carl "$fb")" 40     # its file is in carl's folder
msg "example.com/dan/F1/$fa" 20 "From: f@x.org"
msg "example.com/carl/F2/$fb" 20 "From: f@x.org"
sz=$(stat -c %s "$D/example.com/carl/F2/$fb"); q "UPDATE hm_messages SET messagesize=$sz WHERE messagefilename LIKE '%$fb'"
fa_row=$(q "SELECT messageid FROM hm_messages WHERE messagefilename LIKE '%$fa'")
R -n
expect_eq "$(kinds_under example.com/carl/)" "missing-file " "reconstruct: carl's full-path row has no file in carl's folder"
expect_eq "$(kinds_under example.com/dan/)" "unreferenced-file " "reconstruct: the file in dan's folder is dan's, unreferenced"
S; expect_ok "sync: full-path rows"
expect_eq "$(cat_of "example.com/carl/F2/$fb")" path-updated "the row of carl's own file is rewritten"
expect_eq "$(q "SELECT messagefilename FROM hm_messages WHERE messagefilename LIKE '%$fb'")" "$fb" "carl's row now holds the partial name"
expect_eq "$(cat_of "example.com/dan/F1/$fa")" moved "the file in dan's folder is not bound to carl's row: imported into dan, new name"
case "$(reason_of "example.com/dan/F1/$fa")" in *"another account"*) ;; *) t_fail "dan's file: the reason does not name the other row: $(reason_of "example.com/dan/F1/$fa")" ;; esac
expect_eq "$(q "SELECT messagefilename FROM hm_messages WHERE messageid=$fa_row")" "$(win carl "$fa" | sed 's/\\\\/\\/g')" "carl's row keeps its full path"
expect_eq "$(rows_of dan@example.com)" 1 "dan: one row"
R -n
expect_eq "$(kinds_under example.com/)" "missing-file " "reconstruct after sync: only carl's row without a file"
q "DELETE FROM hm_messages WHERE messageid=$fa_row"

# --- issue 12 item 6: GUID names differing only in case, both on disk ---------------------------
up=$(G 12ABCDEF 10); lo=$(printf '%s' "$up" | tr 'A-Z' 'a-z')   # both in the folder 12/
msg "example.com/eve/12/$up" 0 "From: u@x.org"                    # the smaller file
msg "example.com/eve/12/$lo" 40 "From: l@x.org"
S --account eve@example.com; expect_ok "sync: two spellings, neither referenced"
expect_eq "$(rows_of eve@example.com)" 2 "eve: both files imported"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$(acct eve@example.com) AND LOWER(messagefilename)=LOWER('$up')")" 1 "one row keeps the GUID, the other file got a new name"
R -n; expect_ok "reconstruct: no findings after importing both spellings"
# a row spelt as one file, the other spelling added later: the row keeps its own file
rm -rf "$D/example.com/eve"; q "DELETE FROM hm_messages WHERE messageaccountid=$(acct eve@example.com)"
msg "example.com/eve/12/$up" 0 "From: u@x.org"
S --account eve@example.com; expect_ok "sync: the upper-case spelling"
msg "example.com/eve/12/$lo" 40 "From: l@x.org"
R -n
expect_eq "$(kinds_under example.com/eve/)" "unreferenced-file " "reconstruct: the other spelling is unreferenced, no wrong size"
S --account eve@example.com; expect_ok "sync: the other spelling"
expect_eq "$(cat_of "example.com/eve/12/$lo")" moved "sync imports the other spelling under a new name"
R -n; expect_ok "reconstruct: no findings after importing it"
# rows for both spellings (as an older mstore made them): each row has its own file
rm -rf "$D/example.com/eve"; q "DELETE FROM hm_messages WHERE messageaccountid=$(acct eve@example.com)"
msg "example.com/eve/12/$up" 0 "From: u@x.org"; msg "example.com/eve/12/$lo" 40 "From: l@x.org"
add_row eve@example.com "$up" "$(stat -c %s "$D/example.com/eve/12/$up")"
up_row=$(q "SELECT MAX(messageid) FROM hm_messages")   # by id: MariaDB compares names case-insensitively
add_row eve@example.com "$lo" "$(stat -c %s "$D/example.com/eve/12/$lo")"
R -n
expect_eq "$(kinds_under example.com/eve/) $(jq -r '[.findings[] | select(.kind == "wrong-size")] | length' "$T_TMP/r.json")" " 0" "reconstruct: each spelling is its own row's file, sizes right"
R -r
expect_eq "$(q "SELECT messagesize FROM hm_messages WHERE messageid=$up_row")" "$(stat -c %s "$D/example.com/eve/12/$up")" "reconstruct -r leaves the upper-case row's size alone"
S --account eve@example.com; expect_ok "sync: both referenced"
expect_eq "$(jq -r '.summary.imported + .summary.moved' "$T_TMP/s.json")" 0 "sync skips both"
# only the other spelling on disk: the row's file, as on Windows
rm -rf "$D/example.com/eve"; q "DELETE FROM hm_messages WHERE messageaccountid=$(acct eve@example.com)"
msg "example.com/eve/12/$lo" 40 "From: l@x.org"
add_row eve@example.com "$up" "$(stat -c %s "$D/example.com/eve/12/$lo")"
R -n; expect_ok "reconstruct: a row spelt otherwise than its only file references it"
S --account eve@example.com; expect_ok "sync: the only spelling"
expect_eq "$(jq -r '.summary.imported + .summary.moved' "$T_TMP/s.json")" 0 "sync skips it"
t_done
