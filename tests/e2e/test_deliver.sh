#!/usr/bin/env bash
# mstore deliver and mstore quota (issue 16, items 3 and 4): every option,
# the refusals that change nothing, and the store clean by `mstore
# reconstruct -n` after each operation that writes.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db deliver)
DATA=$T_TMP/Data
mkdir -p "$DATA"
S=(--db "$URL" --data "$DATA" --server-tz UTC)
mst init "$URL"; expect_ok "init"
mst domain add example.com "${S[@]}"; expect_ok "domain"
mst account add ann@example.com --max-size 1 "${S[@]}"; expect_ok "account ann (1 MB)"
mst account add bob@example.com "${S[@]}"; expect_ok "account bob (no limit)"
mst alias add info@example.com ann@example.com "${S[@]}"; expect_ok "alias"
t_sql "$URL" "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) SELECT accountid, -1, 'Archive', 1, '2024-01-01 00:00:00', 0 FROM hm_accounts WHERE accountaddress = 'bob@example.com'" >/dev/null

clean() { # clean LABEL: the store is consistent
	mst reconstruct -n "${S[@]}"; expect_ok "$1: reconstruct -n is clean"
	grep -q 'no findings' "$T_TMP/out" || t_fail "$1: reconstruct found: $(head -c 400 "$T_TMP/out")"
}
rows() { t_sql "$URL" "SELECT COUNT(*) FROM hm_messages"; }
sqlq() { t_sql "$URL" "$1" | tr -d '\r'; }

# ---- one message ------------------------------------------------------------------------
printf 'From: Carol <carol@example.org>\nTo: ann@example.com\nSubject: one\n\nhello\n' >"$T_TMP/one.eml"
mst deliver ann@example.com "$T_TMP/one.eml" --flags 'seen,\Flagged' "${S[@]}"; expect_ok "deliver FILE"
expect_out_contains "delivered 1 message" "deliver FILE says so"
expect_eq "$(sqlq "SELECT messagetype, messagefrom, messageflags, messageuid, messagesize FROM hm_messages" | tr '\t' ' ')" \
	"2 carol@example.org 37 1 $(stat -c %s "$T_TMP/one.eml")" "the row: delivered, From, Seen+Flagged+Recent, UID 1, size"
name=$(sqlq "SELECT messagefilename FROM hm_messages")
xx=${name:1:2}
[ -f "$DATA/example.com/ann/$xx/$name" ] || t_fail "the file is at its canonical place (example.com/ann/$xx/$name)"
cmp -s "$DATA/example.com/ann/$xx/$name" "$T_TMP/one.eml" || t_fail "the file holds the message byte for byte"
expect_eq "$(sqlq "SELECT foldercurrentuid FROM hm_imapfolders f JOIN hm_accounts a ON a.accountid = f.folderaccountid WHERE accountaddress = 'ann@example.com'")" "1" "foldercurrentuid raised"
ls "$DATA/.mstore"/deliver-*.deliver >/dev/null 2>&1 && t_fail "a completed one-message delivery leaves no journal"
clean "deliver FILE"

mst deliver ann@example.com - "${S[@]}" <"$T_TMP/one.eml"; expect_ok "deliver from stdin"
mst deliver bob@example.com/Archive "${S[@]}" --json <"$T_TMP/one.eml"; expect_ok "deliver into a sub folder, --json"
[ "$(jq -r '.delivered' "$T_TMP/out")" = 1 ] || t_fail "--json: delivered 1: $(t_out)"
[ "$(jq -r '.messages[0].uid' "$T_TMP/out")" = 1 ] || t_fail "--json: the UID of Archive's first message"
expect_eq "$(sqlq "SELECT COUNT(*) FROM hm_messages m JOIN hm_imapfolders f ON f.folderid = m.messagefolderid WHERE f.foldername = 'Archive'")" "1" "filed in Archive"
clean "deliver stdin and sub folder"

# ---- refusals: nothing changed ---------------------------------------------------------------
before=$(rows); files_before=$(find "$DATA" -name '*.eml' | wc -l)
: >"$T_TMP/empty.eml"
mst deliver ann@example.com "$T_TMP/empty.eml" --json "${S[@]}"; expect_rc 2 "a 0-byte message"; expect_err_contains "0 bytes" "0-byte reason"
[ -s "$T_TMP/out" ] && t_fail "an error before any message leaves no half JSON on stdout: $(t_out)"
mst deliver nobody@example.com "$T_TMP/one.eml" "${S[@]}"; expect_rc 2 "no such account"; expect_err_contains "no account" "no account reason"
mst deliver info@example.com "$T_TMP/one.eml" "${S[@]}"; expect_rc 2 "an alias is not a mailbox"
mst deliver ann@example.com/Nope "$T_TMP/one.eml" "${S[@]}"; expect_rc 2 "a missing folder"; expect_err_contains "no folder Nope" "missing folder reason"
mst deliver ann@example.com "$T_TMP/missing.eml" "${S[@]}"; expect_rc 2 "an unreadable file"
mst deliver ann@example.com "$T_TMP/one.eml" --flags seen,bogus "${S[@]}"; expect_rc 2 "an unknown flag"
mst deliver ann@example.com --mbox "$T_TMP/one.eml" --maildir "$T_TMP" "${S[@]}"; expect_rc 2 "--mbox with --maildir"
mst deliver ann@example.com "$T_TMP/one.eml" -n "${S[@]}"; expect_ok "-n"; expect_out_contains "would deliver 1 message" "-n says what it would do"
expect_eq "$(rows)" "$before" "refusals and -n wrote no row"
expect_eq "$(find "$DATA" -name '*.eml' | wc -l)" "$files_before" "refusals and -n wrote no file"
clean "refusals"

# ---- quota -------------------------------------------------------------------------------
head -c 700000 /dev/zero | tr '\0' 'x' | fold -w 76 | sed '1i Subject: big\n' >"$T_TMP/big.eml"
mst deliver ann@example.com "$T_TMP/big.eml" "${S[@]}"; expect_ok "700 KB fits in 1 MB"
mst deliver ann@example.com "$T_TMP/big.eml" -n "${S[@]}"; expect_rc 1 "-n foresees over quota"
mst deliver ann@example.com "$T_TMP/big.eml" "${S[@]}"; expect_rc 1 "over quota refused"; expect_err_contains "over its quota" "over quota reason"
n_over=$(rows)
mst deliver ann@example.com "$T_TMP/big.eml" --ignore-quota "${S[@]}"; expect_ok "--ignore-quota"
expect_eq "$(rows)" "$((n_over + 1))" "--ignore-quota delivered it"
clean "quota deliveries"

mst quota "${S[@]}"; expect_ok "quota"
grep -E '^ann@example.com +4 ' "$T_TMP/out" | grep -q 'OVER' || t_fail "quota shows ann over: $(t_out)"
grep -E '^bob@example.com +1 ' "$T_TMP/out" | grep -qv 'OVER' || t_fail "quota shows bob: $(t_out)"
grep -q '^example.com ' "$T_TMP/out" || t_fail "quota shows the domain"
mst quota --json -e "${S[@]}"; expect_ok "quota --json -e"
ann_bytes=$(sqlq "SELECT SUM(messagesize) FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE accountaddress = 'ann@example.com'")
expect_eq "$(jq -r '.accounts[] | select(.account=="ann@example.com") | .bytes' "$T_TMP/out")" "$ann_bytes" "--json bytes = SUM(messagesize)"
expect_eq "$(jq -r '.accounts[] | select(.account=="bob@example.com") | .folders | map(.mailbox) | sort | join(",")' "$T_TMP/out")" \
	"user/bob@example.com/Archive,user/bob@example.com/INBOX" "-e lists the folders as mailboxes"
expect_eq "$(jq -r '.domains[0].bytes' "$T_TMP/out")" "$(sqlq "SELECT SUM(messagesize) FROM hm_messages")" "domain total"
mst quota --over 100 --json "${S[@]}"; expect_ok "--over"
expect_eq "$(jq -r '[.accounts[].account] | join(",")' "$T_TMP/out")" "ann@example.com" "--over 100: only ann (bob has no limit)"
mst quota -u bob@example.com --json "${S[@]}"; expect_ok "-u"
expect_eq "$(jq -r '[.accounts[].account] | join(",")' "$T_TMP/out")" "bob@example.com" "-u narrows"
mst quota -d example.com "${S[@]}"; expect_ok "-d"
mst quota --account ann@example.com --json "${S[@]}"; expect_ok "--account"
expect_eq "$(jq -r '[.accounts[].account] | join(",")' "$T_TMP/out")" "ann@example.com" "--account narrows as -u"
mst quota --shard 1/2 --json "${S[@]}"; expect_ok "--shard 1/2"; s1=$(jq -r '.accounts[].account' "$T_TMP/out")
mst quota --shard 2/2 --json "${S[@]}"; expect_ok "--shard 2/2"; s2=$(jq -r '.accounts[].account' "$T_TMP/out")
expect_eq "$(printf '%s\n%s\n' "$s1" "$s2" | grep . | sort | tr '\n' ' ')" "ann@example.com bob@example.com " "the shards split the accounts"
mst quota --shard 3/2 "${S[@]}"; expect_rc 2 "a bad --shard"
mst quota -u nobody@example.com "${S[@]}"; expect_rc 2 "-u unknown"
mst quota -d nowhere.test "${S[@]}"; expect_rc 2 "-d unknown"

# --recalculate: a file that grew (the sizes disagree)
f=$(find "$DATA/example.com/bob" -name '*.eml' | head -1)
printf 'more\n' >>"$f"
mst reconstruct -n "${S[@]}"; expect_rc 1 "reconstruct sees the wrong size"
mst quota --recalculate -n -u bob@example.com "${S[@]}"; expect_ok "--recalculate -n"
expect_out_contains "would correct" "-n lists"
mst reconstruct -n "${S[@]}"; expect_rc 1 "-n changed nothing"
mst quota --recalculate -u ann@example.com "${S[@]}"; expect_ok "--recalculate scoped to ann"
expect_out_contains "0 sizes corrected" "ann has nothing to correct"
mst quota --recalculate --json -u bob@example.com "${S[@]}"; expect_ok "--recalculate bob"
expect_eq "$(jq -r '.corrected' "$T_TMP/out")" "1" "one size corrected"
expect_eq "$(sqlq "SELECT COUNT(*) FROM hm_messages WHERE messagefilename = '$(basename "$f")' AND messagesize = $(stat -c %s "$f")")" "1" "the row has the file's size"
clean "recalculate"

# --notify
printf 'From: postmaster@example.com\nTo: %%ADDRESS%%\nSubject: Your mailbox is %%PERCENT%%%% full\n\nYou use %%USED_MB%% MB of %%LIMIT_MB%% MB.\n' >"$T_TMP/tmpl.txt"
printf 'Subject: no body separator\nYou use a lot.\n' >"$T_TMP/bad.txt"
before=$(rows)
mst quota --notify --template "$T_TMP/bad.txt" "${S[@]}"; expect_rc 2 "a template without header/body separator"
mst quota --notify "${S[@]}"; expect_rc 2 "--notify without --template"
mst quota --notify --template "$T_TMP/tmpl.txt" -n "${S[@]}"; expect_ok "--notify -n"
expect_out_contains "ann@example.com: " "-n names ann"; expect_out_contains "would-warn" "-n would warn"
expect_eq "$(rows)" "$before" "--notify -n and a bad template deliver nothing"
mst quota --notify --template "$T_TMP/tmpl.txt" --over 99 --json "${S[@]}"; expect_ok "--notify"
expect_eq "$(jq -r '.warned' "$T_TMP/out")" "1" "one account warned (ann, over 100%)"
expect_eq "$(rows)" "$((before + 1))" "the warning is a new message"
w=$(sqlq "SELECT messagefilename FROM hm_messages WHERE messageid = (SELECT MAX(messageid) FROM hm_messages)")
wf=$(find "$DATA/example.com/ann" -name "$w")
grep -q 'Subject: Your mailbox is [0-9]*% full' "$wf" || t_fail "placeholders replaced: $(head -c 300 "$wf")"
grep -q '^To: ann@example.com' "$wf" || t_fail "%ADDRESS% replaced"
grep -q '^Message-ID: <quota-' "$wf" && grep -q '^Date: ' "$wf" || t_fail "Date and Message-ID added"
[ "$(grep -c $'\r$' "$wf")" = "$(wc -l <"$wf")" ] || t_fail "lines end in CRLF"
expect_eq "$(sqlq "SELECT COUNT(*) FROM hm_settings WHERE settingname LIKE 'mstore.quotanotify.%'")" "1" "the state is in hm_settings"
mst quota --notify --template "$T_TMP/tmpl.txt" --over 99 "${S[@]}"; expect_ok "--notify again"
expect_out_contains "warned-recently" "a rerun the same day warns nobody"
expect_eq "$(rows)" "$((before + 1))" "no second warning"
t_sql "$URL" "UPDATE hm_settings SET settingstring = '$(( $(date +%s) - 3 * 86400 ))' WHERE settingname LIKE 'mstore.quotanotify.%'" >/dev/null
mst quota --notify --template "$T_TMP/tmpl.txt" --over 99 --interval 7 "${S[@]}"; expect_ok "--interval 7, warned 3 days ago"
expect_eq "$(rows)" "$((before + 1))" "within the interval: nothing"
mst quota --notify --template "$T_TMP/tmpl.txt" --over 99 --interval 2 "${S[@]}"; expect_ok "--interval 2, warned 3 days ago"
expect_eq "$(rows)" "$((before + 2))" "past the interval: warned again"
mst quota --notify --template "$T_TMP/tmpl.txt" --over 99 --interval 0 -n "${S[@]}"; expect_ok "--interval 0, warned just now"
expect_out_contains "would-warn" "--interval 0 is no interval (it was taken as the default 7)"
mst quota --notify --template "$T_TMP/tmpl.txt" --over 99 --interval 200000000000000 -n "${S[@]}"
expect_rc 2 "--interval beyond 100000 days (its seconds overflowed)"
expect_err_contains "--interval a whole number of days up to 100000" "says the range"
mst quota --notify --template "$T_TMP" --over 99 -n "${S[@]}"; expect_rc 2 "a directory as the template"
expect_err_contains "Is a directory" "says so (not 'not an RFC 5322 message')"
clean "notify"

# ---- mailboxes ------------------------------------------------------------------------------
mb=$T_TMP/in.mbox
: >"$mb"
for i in $(seq 1 30); do
	printf 'From sender@example.org Mon Jan  1 1%d:00:00 2024\nFrom: s%d@example.org\nSubject: m%d\n%s\nline of %d\n>From quoted\n\n' \
		"$((i % 10))" "$i" "$i" "$([ $((i % 3)) = 0 ] && printf 'Status: RO\nX-Status: F')" "$i" >>"$mb"
done
before=$(rows)
mst deliver bob@example.com/Archive --mbox "$mb" -n "${S[@]}"; expect_ok "--mbox -n"
expect_out_contains "would deliver 30 messages" "--mbox -n counts"
expect_eq "$(rows)" "$before" "--mbox -n writes nothing"
mst deliver bob@example.com/Archive --mbox "$mb" --flags answered "${S[@]}"; expect_ok "--mbox"
expect_eq "$(rows)" "$((before + 30))" "30 messages"
expect_eq "$(sqlq "SELECT COUNT(*) FROM hm_messages WHERE messageflags = $((1 + 4 + 8 + 32))")" "10" "Status/X-Status flags plus --flags"
expect_eq "$(sqlq "SELECT COUNT(DISTINCT messageuid) FROM hm_messages m JOIN hm_imapfolders f ON f.folderid = m.messagefolderid WHERE f.foldername = 'Archive'")" "31" "distinct UIDs"
expect_eq "$(sqlq "SELECT COUNT(*) FROM hm_messages WHERE messagefrom = 's7@example.org' AND messagecreatetime = '2024-01-01 17:00:00'")" "1" "From and the From line's date"
grep -rl '^From quoted' "$DATA/example.com/bob" >/dev/null || t_fail "mboxrd: one '>' taken off"
ls "$DATA/.mstore"/deliver-*.deliver >/dev/null 2>&1 && t_fail "a complete --mbox delivery leaves no journal"
clean "--mbox"

md=$T_TMP/md
mkdir -p "$md/cur" "$md/new" "$md/tmp"
for i in 1 2 3; do printf 'From: m%d@example.org\nSubject: md%d\n\nbody\n' "$i" "$i" >"$md/new/100$i.M1P1.host"; done
printf 'Subject: seen\n\nbody\n' >"$md/cur/1004.M1P1.host:2,S"
touch -d '2023-05-06 07:08:09' "$md/new/1001.M1P1.host"
mst deliver bob@example.com --maildir "$md" "${S[@]}"; expect_ok "--maildir"
expect_out_contains "delivered 4 messages" "4 Maildir messages"
expect_eq "$(sqlq "SELECT COUNT(*) FROM hm_messages WHERE messagecreatetime = '2023-05-06 07:08:09'")" "1" "a Maildir message's date is its mtime"
expect_eq "$(sqlq "SELECT COUNT(*) FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE accountaddress = 'bob@example.com' AND messageflags = 33")" "1" ":2,S is Seen"
clean "--maildir"

# entries the Maildir driver cannot read as messages are named and counted
# failed (they were left out unsaid, exit 0)
md2=$T_TMP/md2
mkdir -p "$md2/cur" "$md2/new" "$md2/tmp"
printf 'From: a@b\nSubject: good\n\nb\n' >"$md2/new/1700000000.1.host"
printf 'From: a@b\nSubject: tab\n\nb\n' >"$md2/cur/1700000000.2.ho"$'\t'"st:2,S"
before=$(rows)
mst deliver bob@example.com --maildir "$md2" "${S[@]}"; expect_rc 1 "--maildir with an entry it cannot read"
expect_out_contains "delivered 1 message" "the readable one delivered"
expect_out_contains "1 failed" "the other counted"
expect_err_contains 'not delivered: cur/1700000000.2.ho\x09st:2,S' "and named, escaped"
expect_eq "$(rows)" "$((before + 1))" "one row"
clean "--maildir with a skipped entry"

# a source that is not there, or not of its kind: refused with the cause,
# before the recovery of abandoned journals changes anything
gp='{0A1B2C3D-0000-4000-8000-00000000CC01}.eml'
bobid=$(sqlq "SELECT accountid FROM hm_accounts WHERE accountaddress = 'bob@example.com'")
bobinbox=$(sqlq "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = $bobid AND foldername = 'INBOX'")
mkdir -p "$DATA/example.com/bob/0A"; cp "$T_TMP/one.eml" "$DATA/example.com/bob/0A/$gp"
printf 'H\t%s\t%s\t\nP\t%s\t%s\t33\t2024-02-03 04:05:06\tcarol@example.org\n' "$bobid" "$bobinbox" "$gp" "$gp" >"$DATA/.mstore/deliver-pending.deliver"
before=$(rows)
mst deliver bob@example.com --mbox "$T_TMP" "${S[@]}"; expect_rc 2 "--mbox of a directory"
expect_eq "$(rows)" "$before" "refused: the pending journal not rolled forward (refused means nothing changed)"
[ -e "$DATA/.mstore/deliver-pending.deliver" ] && t_ok || t_fail "refused: the pending journal was taken"
rm -f "$DATA/.mstore/deliver-pending.deliver" "$DATA/example.com/bob/0A/$gp"
expect_err_contains "not a file (--mbox reads an mbox file)" "says so (the cause was a stale errno)"
mst deliver bob@example.com --maildir "$mb" "${S[@]}"; expect_rc 2 "--maildir of a file"
expect_err_contains "not a directory (--maildir reads a Maildir)" "says so"
mst deliver bob@example.com --mbox "$T_TMP/no"$'\n'"such" "${S[@]}"; expect_rc 2 "a missing source"
expect_err_contains 'no\x0asuch: No such file or directory' "named escaped, on one line"

# quota refusal inside a mailbox: what fits goes, the rest waits; the rerun delivers only those
mb2=$T_TMP/big.mbox
: >"$mb2"
for i in 1 2 3; do { printf 'From x@example.org Mon Jan  1 10:00:00 2024\n'; cat "$T_TMP/big.eml"; printf '\n'; } >>"$mb2"; done
mst account add cat@example.com --max-size 2 "${S[@]}"; expect_ok "account cat (2 MB)"
mst deliver cat@example.com --mbox "$mb2" "${S[@]}"; expect_rc 1 "the third 700 KB message passes 2 MB"
expect_out_contains "delivered 2 messages" "two fit"; expect_out_contains "1 over quota" "one over quota"
ls "$DATA/.mstore"/deliver-*.deliver >/dev/null 2>&1 || t_fail "an incomplete --mbox delivery keeps its journal"
t_sql "$URL" "UPDATE hm_accounts SET accountmaxsize = 3 WHERE accountaddress = 'cat@example.com'" >/dev/null
mst deliver cat@example.com --mbox "$mb2" -n "${S[@]}"; expect_ok "-n of the rerun"
expect_out_contains "would deliver 1 message" "-n reads what the earlier run delivered"
mst deliver cat@example.com --mbox "$mb2" "${S[@]}"; expect_ok "the rerun after raising the limit"
expect_out_contains "delivered 1 message" "only the refused one"; expect_out_contains "2 delivered before (skipped)" "the others skipped"
expect_eq "$(sqlq "SELECT COUNT(*) FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE accountaddress = 'cat@example.com'")" "3" "each once"
clean "mailbox over quota, rerun"

# an mbox rewritten in place (same device and inode) after an incomplete
# run: its new messages are not "delivered before" because an earlier
# message stood at their offset (the key was the offset alone)
mb3=$T_TMP/inplace.mbox
printf 'From x@y Mon Jan  5 10:00:00 2025\nFrom: x@y\nSubject: old one\n\nsmall\n\nFrom x@y Mon Jan  5 10:00:00 2025\n' >"$mb3"
mst deliver bob@example.com --mbox "$mb3" "${S[@]}"; expect_rc 1 "an empty last message: the journal is kept"
ino=$(stat -c %i "$mb3")
printf 'From n@y Tue Jan  6 10:00:00 2025\nFrom: n@y\nSubject: new one\n\nnew 1\n\nFrom n@y Tue Jan  6 10:00:00 2025\nFrom: n@y\nSubject: new two\n\nnew 2\n' >"$mb3"
expect_eq "$(stat -c %i "$mb3")" "$ino" "the mbox rewritten in place"
mst deliver bob@example.com --mbox "$mb3" "${S[@]}"; expect_ok "the run on the rewritten mbox"
expect_out_contains "delivered 2 messages" "both new messages delivered, none taken for the old one"
for sub in "old one" "new one" "new two"; do
	expect_eq "$(grep -rl "^Subject: $sub" "$DATA/example.com/bob" | wc -l)" 1 "'$sub' stored once"
done
clean "mbox rewritten in place"

# ---- a pending journal is rolled forward ----------------------------------------------------
# (as a SIGKILL between rename and commit leaves it: test_deliver_crash.sh kills for real)
g='{0A1B2C3D-0000-4000-8000-00000000AB12}.eml'
mkdir -p "$DATA/example.com/bob/0A"
cp "$T_TMP/one.eml" "$DATA/example.com/bob/0A/$g"
bob=$(sqlq "SELECT accountid FROM hm_accounts WHERE accountaddress = 'bob@example.com'")
inbox=$(sqlq "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = $bob AND foldername = 'INBOX'")
printf 'H\t%s\t%s\t\nP\t%s\t%s\t33\t2024-02-03 04:05:06\tcarol@example.org\n' "$bob" "$inbox" "$g" "$g" >"$DATA/.mstore/deliver-test.deliver"
g2='{0A1B2C3D-0000-4000-8000-00000000AB13}.eml'
printf 'partial' >"$DATA/example.com/bob/0A/${g2%.eml}.mstore-tmp"
printf 'H\t%s\t%s\t\nP\t%s\t%s\t32\t2024-02-03 04:05:06\t\n' "$bob" "$inbox" "$g2" "$g2" >"$DATA/.mstore/deliver-test2.deliver"
# killed before its first (H and P) write reached the disk: empty, or torn inside its first line
: >"$DATA/.mstore/deliver-test3.deliver"
printf 'H\t%s\t%s\t\nP\t{0A1B' "$bob" "$inbox" >"$DATA/.mstore/deliver-test4.deliver"
mst reconstruct -n --settle 0 "${S[@]}"; expect_rc 1 "the stray file is unreferenced before the roll forward"
# a sync in between (the file is younger than its settle time) leaves the
# journals to deliver: sync takes over only its own *.journal files
mst sync --no-progress "${S[@]}"; expect_ok "a sync between the kill and the next deliver"
[ -e "$DATA/.mstore/deliver-test.deliver" ] && [ -e "$DATA/.mstore/deliver-test2.deliver" ] ||
	t_fail "sync took the deliver journals: $(ls -a "$DATA/.mstore")"
mst deliver bob@example.com "$T_TMP/one.eml" "${S[@]}"; expect_ok "the next deliver"
expect_out_contains "1 rolled forward, 1 taken back" "it reports the roll forward"
if grep -q kept "$T_TMP/err"; then t_fail "a journal killed before its first line is kept: $(cat "$T_TMP/err")"; else t_ok; fi
expect_eq "$(sqlq "SELECT messageflags, messagecreatetime, messagefrom FROM hm_messages WHERE messagefilename = '$g'" | tr '\t' ' ')" \
	"33 2024-02-03 04:05:06 carol@example.org" "the rolled-forward row has the journal's flags, date, From"
[ -e "$DATA/example.com/bob/0A/${g2%.eml}.mstore-tmp" ] && t_fail "the temporary file of the taken-back message is removed"
ls "$DATA/.mstore"/deliver-test*.deliver >/dev/null 2>&1 && t_fail "settled one-message journals are removed, and those killed before their first line: $(ls "$DATA/.mstore")"
clean "roll forward"

t_done
