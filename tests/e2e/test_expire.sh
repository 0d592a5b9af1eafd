#!/usr/bin/env bash
# mstore expire and mstore purge: every rule attribute, and/or, exclusive,
# header matches, #Public, the scope flags, -n / -v / --json, the rules
# file's errors (FILE:LINE, nothing changed), the trash and purge; the
# store checked by `mstore reconstruct -n` after every run that writes.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
GEN=${MSTORE_GEN:?MSTORE_GEN not set}

tmpl=$T_TMP/tmpl
"$GEN" --seed 5 --messages 160 --domains 2 --accounts 4 --queue-percent 0 "$tmpl" >/dev/null || t_fail "generator"
NOW=1609459200 # 2021-01-01 00:00:00 UTC: every age below is counted from here

# setup: a fresh store over a fresh copy; every message's date and flags
# set by id, so each rule's selection is known in advance:
#   id % 4 = 0: 2019-01-01 (old), seen       id % 4 = 1: 2020-12-30 (new), seen
#   id % 4 = 2: 2019-01-01 (old), unseen     id % 4 = 3: 2020-12-30 (new), deleted
setup() {
	URL=$(t_new_db "$1") || return 1
	rm -rf "$T_TMP/run"; cp -a "$tmpl" "$T_TMP/run"; DATA=$T_TMP/run/Data
	mst init "$URL"
	t_add_objects "$URL" "$tmpl/objects.txt"
	mst sync --db "$URL" --data "$DATA" --settle 0 --no-progress; expect_ok "$1: sync"
	# one literal per statement: PostgreSQL types a CASE of literals as text
	q "UPDATE hm_messages SET messagecreatetime = '2019-01-01 00:00:00' WHERE messageid % 4 IN (0, 2)"
	q "UPDATE hm_messages SET messagecreatetime = '2020-12-30 00:00:00' WHERE messageid % 4 IN (1, 3)"
	q "UPDATE hm_messages SET messageflags = 1 WHERE messageid % 4 IN (0, 1)"
	q "UPDATE hm_messages SET messageflags = 0 WHERE messageid % 4 = 2"
	q "UPDATE hm_messages SET messageflags = 2 WHERE messageid % 4 = 3"
}
q() { t_sql "$URL" "$1"; }
M() { mst "$@" --db "$URL" --data "$DATA" --server-tz UTC; }
count() { q "SELECT COUNT(*) FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE $1"; }
clean() { M reconstruct -n; expect_ok "$1: reconstruct -n clean"; [ "$T_RC" = 0 ] || t_out | head -5 >&2; }
trashed() { find "$DATA/.mstore/trash" -type f -name '*.eml' 2>/dev/null | wc -l; }
total_files() { find "$DATA" -type f -name '*.eml' | wc -l; }
rules() { printf '%s\n' "$@" > "$T_TMP/rules"; }

setup main
A=$(q "SELECT accountaddress FROM hm_accounts ORDER BY accountaddress" | head -1)
B=$(q "SELECT accountaddress FROM hm_accounts ORDER BY accountaddress" | sed -n 2p)
files0=$(total_files)
[ "$(q "SELECT COUNT(*) FROM hm_messages")" -gt 100 ] || t_fail "setup imported too little"

# --- the rules file's errors: FILE:LINE, exit 2, nothing changed -----------------
before=$(q "SELECT COUNT(*) FROM hm_messages")
bad() { # bad LINE WANT-IN-MESSAGE DESCRIPTION -- rules lines...
	local line=$1 want=$2 what=$3; shift 3
	rules "$@"; M expire --rules "$T_TMP/rules" --now $NOW
	expect_rc 2 "$what"; expect_err_contains "$T_TMP/rules:$line" "$what: names the line"
	expect_err_contains "$want" "$what: says why"
}
bad 2 "unknown attribute 'messagedayz'" "misspelt attribute" "r.folderpattern: ^user/" "r.messagedayz: 3"
bad 2 "whole number" "days not a number" "# c" "r.messagedays: ten" "r.folderpattern: x"
bad 1 "does not compile" "bad regex" "r.folderpattern: ^user/(" "r.messagedays: 1"
bad 1 "no folderpattern" "rule without a pattern" "r.messagedays: 1"
bad 1 "selects nothing" "rule without criteria" "r.folderpattern: ^user/"
bad 2 "'and' or 'or'" "seen: maybe" "r.folderpattern: ^user/" "r.seen: maybe"
bad 1 "expected 'RULE.ATTRIBUTE: VALUE'" "a line without a dot" "folderpattern ^user"
bad 1 "without messagesize" "messagesizedays alone" "r.folderpattern: ^user/" "r.messagedays: 1" "r.messagesizedays: 2"
bad 2 "exclusive wants yes or no" "exclusive: perhaps" "r.folderpattern: ^user/" "r.exclusive: perhaps"
rules ""; M expire --rules "$T_TMP/rules"; expect_rc 2 "empty rules file"; expect_err_contains "no rules" "empty rules file message"
for k in $(seq 0 64); do printf 'r%s.folderpattern: ^x\nr%s.messagedays: 1\n' "$k" "$k"; done > "$T_TMP/rules"
M expire --rules "$T_TMP/rules"; expect_rc 2 "65 rules"; expect_err_contains "rules:129: rule r64 is one too many: at most 64 rules" "65 rules message"
M expire --rules "$T_TMP/nosuch"; expect_rc 2 "missing rules file"; expect_err_contains "nosuch" "missing rules file named"
M expire --rules "$T_TMP"; expect_rc 2 "a directory as the rules file"; expect_err_contains "Is a directory" "says so (not 'no rules')"
rules "r.folderpattern: ^user/" "r.messagedays: 5"$'\e[2J\nFAKE'; M expire --rules "$T_TMP/rules"; expect_rc 2 "a value with a terminal escape and a newline"
expect_err_contains 'not '"'"'5\x1b[2J'"'" "the value is escaped in the error"
[ "$(wc -l < "$T_TMP/err")" = 1 ] && t_ok || t_fail "the error is one line: $(cat -A "$T_TMP/err")"
M expire; expect_rc 2 "no --rules"
M expire --rules "$T_TMP/rules" --shard 3/2; expect_rc 2 "bad --shard"
rules "r.folderpattern: ^user/" "r.messagedays: 5"
M expire --rules "$T_TMP/rules" --account nobody@example.com; expect_rc 2 "an unknown --account (it expired nothing, exit 0)"
expect_err_contains "--account nobody@example.com: no such account" "names it"
M expire --rules "$T_TMP/rules" --domain no-such.example; expect_rc 2 "an unknown --domain"
expect_err_contains "--domain no-such.example: no such domain" "names it"
M expire --rules "$T_TMP/rules" --batch 0; expect_rc 2 "bad --batch"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" "$before" "errors changed nothing"
expect_eq "$(trashed)" "0" "errors trashed nothing"

# --- -n decides and lists, changes nothing -----------------------------------------
rules "old.folderpattern: ^user/$A/INBOX\$" "old.messagedays: 365"
want=$(count "a.accountaddress = '$A' AND m.messageid % 4 IN (0, 2)")
[ "$want" -gt 0 ] || t_fail "account $A has no old message"
M expire --rules "$T_TMP/rules" --now $NOW -n; expect_ok "dry run"
expect_out_contains "would expire $want message(s)" "dry run counts"
expect_eq "$(t_out | grep -c "^user/$A/INBOX	")" "$want" "dry run lists each message"
M expire --rules "$T_TMP/rules" --now $NOW -n --json; expect_ok "dry run --json"
expect_eq "$(t_out | jq '.messages')" "$want" "json total"
expect_eq "$(t_out | jq '.messages_listed | length')" "$want" "json lists the messages"
expect_eq "$(t_out | jq -r '.rules[0].name + " " + (.rules[0].messages | tostring) + " " + (.dry_run | tostring)')" "old $want true" "json per rule"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" "$before" "dry run deleted nothing"
expect_eq "$(trashed)" "0" "dry run moved nothing"

# --- messagedays ---------------------------------------------------------------
bytes=$(q "SELECT SUM(messagesize) FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE a.accountaddress = '$A' AND m.messageid % 4 IN (0, 2)")
M expire --rules "$T_TMP/rules" --now $NOW --batch 3; expect_ok "messagedays"
# batches of 3 share one intent, removed at the end: none left behind
expect_eq "$(find "$DATA/.mstore" -maxdepth 1 -name 'trash-*.intent' | wc -l)" 0 "no trash intent left after the run"
expect_out_contains "rule old: $want message(s), $bytes bytes in 1 folder(s)" "per-rule line"
expect_out_contains "$want file(s) moved to the trash" "summary counts the files"
expect_eq "$(count "a.accountaddress = '$A' AND m.messageid % 4 IN (0, 2)")" "0" "old messages of $A gone"
expect_eq "$(trashed)" "$want" "their files in the trash"
# at DAY/<domain>/<local>/<name>: the account's folder without its <XX> level
expect_eq "$(find "$DATA/.mstore/trash" -type f -name '*.eml' -printf '%P\n' | sed 's|/[^/]*$||' | sort -u)" \
	"$(date -u +%F)/${A#*@}/${A%@*}" "the trash keeps the account's folder, not its <XX> folders"
expect_eq "$(total_files)" "$files0" "no file deleted: moved"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messagerecipients r LEFT JOIN hm_messages m ON m.messageid = r.recipientmessageid WHERE m.messageid IS NULL")" "0" "no orphaned recipient"
clean "messagedays"
M expire --rules "$T_TMP/rules" --now $NOW; expect_ok "rerun"; expect_out_contains "expired 0 message(s)" "rerun expires nothing"

# --- seen: and / or; deleted ------------------------------------------------------
seen_new_B=$(count "a.accountaddress = '$B' AND m.messageid % 4 = 1")
unseen_old_B=$(count "a.accountaddress = '$B' AND m.messageid % 4 = 2")
rules "s.folderpattern: ^user/$B/" "s.messagedays: 365" "s.seen: and"
M expire --rules "$T_TMP/rules" --now $NOW --account "$B"; expect_ok "seen: and"
expect_eq "$(count "a.accountaddress = '$B' AND m.messageid % 4 = 0")" "0" "seen and old: expired"
expect_eq "$(count "a.accountaddress = '$B' AND m.messageid % 4 = 2")" "$unseen_old_B" "unseen old: kept"
rules "d.folderpattern: ^user/$B/" "d.deleted: or"
del_B=$(count "a.accountaddress = '$B' AND m.messageid % 4 = 3")
M expire --rules "$T_TMP/rules" --now $NOW --json; expect_ok "deleted: or (alone)"
expect_eq "$(t_out | jq '.rules[0].messages')" "$del_B" "every \\Deleted message of $B"
expect_eq "$(count "a.accountaddress = '$B' AND m.messageid % 4 = 3")" "0" "deleted ones gone"
expect_eq "$(count "a.accountaddress = '$B' AND m.messageid % 4 = 1")" "$seen_new_B" "new seen ones kept"
clean "seen and deleted"

# --- messagecount, messagesize + messagesizedays, header, and/or, exclusive ---------
C=$(q "SELECT accountaddress FROM hm_accounts ORDER BY accountaddress" | sed -n 3p)
D=$(q "SELECT accountaddress FROM hm_accounts ORDER BY accountaddress" | sed -n 4p)
nC=$(count "a.accountaddress = '$C'")
rules "keep5.folderpattern: ^user/$C/INBOX\$" "keep5.messagecount: 5"
M expire --rules "$T_TMP/rules" --now $NOW; expect_ok "messagecount"
expect_eq "$(count "a.accountaddress = '$C'")" "5" "five newest kept"
expect_eq "$(count "a.accountaddress = '$C' AND m.messagecreatetime < '2020-01-01'")" "0" "the kept ones are the newest"
clean "messagecount"
big=$(q "SELECT MAX(messagesize) FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE a.accountaddress = '$D'")
limit=$((big - 1))
nbig_old=$(count "a.accountaddress = '$D' AND m.messagesize > $limit AND m.messagecreatetime < '2020-01-01'")
rules "big.folderpattern: ^user/$D/" "big.messagesize: $limit" "big.messagesizedays: 100" \
	"hdr.folderpattern: ^user/$D/" "hdr.header.X-No-Such: ." "hdr.criteria: and" "hdr.messagedays: 1"
M expire --rules "$T_TMP/rules" --now $NOW -n --json; expect_ok "messagesize + days"
expect_eq "$(t_out | jq '.rules[0].messages')" "$nbig_old" "only big and old enough"
expect_eq "$(t_out | jq '.rules[1].messages')" "0" "a header nobody has and'ed: nothing"
subj=$(q "SELECT m.messagefilename FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE a.accountaddress = '$D' ORDER BY m.messageid" | head -1)
f=$(find "$DATA" -name "$subj")
s=$(grep -m1 -i '^Subject:' "$f" | sed 's/^[Ss]ubject: *//; s/\r$//')
nsubj=$(for g in $(q "SELECT m.messagefilename FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE a.accountaddress = '$D'"); do
	grep -m1 -i '^Subject:' "$(find "$DATA" -name "$g")"; done | sed 's/^[Ss]ubject: *//; s/\r$//' | grep -cxF -- "$s")
re=$(printf '%s' "$s" | sed 's/[][\.*^$(){}?+|/]/\\&/g')
rules "h.folderpattern: ^user/$D/" "h.header.subject: ^$re\$"
M expire --rules "$T_TMP/rules" --now $NOW --json; expect_ok "header match"
expect_eq "$(t_out | jq '.messages')" "$nsubj" "every message with that Subject (case-insensitive field name)"
clean "header"
# exclusive: the first exclusive rule alone judges its folders
rules "all.folderpattern: ^user/" "all.messagedays: 0" "ex.folderpattern: ^user/$A/" "ex.messagecount: 1000000" "ex.exclusive: yes"
nA=$(count "a.accountaddress = '$A'")
M expire --rules "$T_TMP/rules" --now $NOW -n --json; expect_ok "exclusive"
expect_eq "$(t_out | jq '[.messages_listed[] | select(.mailbox | startswith("user/'"$A"'/"))] | length')" "0" "exclusive rule keeps $A's folders from the others"
[ "$nA" -gt 0 ] || t_fail "no message left in $A for the exclusive check"
expect_eq "$(t_out | jq '.rules[1].messages')" "0" "the exclusive rule itself selects nothing"

# --- scope: --domain, --shard -------------------------------------------------------
dom=$(q "SELECT domainname FROM hm_domains ORDER BY domainname" | head -1)
rules "all.folderpattern: ^user/" "all.messagedays: 0"
M expire --rules "$T_TMP/rules" --now $NOW -n --json --domain "$dom"; expect_ok "--domain"
expect_eq "$(t_out | jq --arg d "@$dom/" '[.messages_listed[] | select(.mailbox | contains($d) | not)] | length')" "0" "--domain keeps to the domain"
n1=$(M expire --rules "$T_TMP/rules" --now $NOW -n --json --shard 1/2; t_out | jq '.messages')
n2=$(M expire --rules "$T_TMP/rules" --now $NOW -n --json --shard 2/2; t_out | jq '.messages')
nall=$(M expire --rules "$T_TMP/rules" --now $NOW -n --json; t_out | jq '.messages')
expect_eq "$((n1 + n2))" "$nall" "two shards cover the store once"

# --- #Public ------------------------------------------------------------------------
q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES (0, -1, 'lists', 1, '2019-01-01 00:00:00', 0)"
pub=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = 0 AND foldername = 'lists'")
mkdir -p "$DATA/#Public/AB"
for k in 1 2 3; do
	g="{ABCDEF0$k-0000-0000-0000-000000000000}.eml"
	printf 'Subject: pub %s\r\n\r\nbody\r\n' "$k" > "$DATA/#Public/AB/$g"
	q "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid) VALUES (0, $pub, '$g', 2, '', 24, 0, '2019-01-01 00:00:00', 0, '2019-0$k-01 00:00:00', 0, $k)"
done
q "UPDATE hm_imapfolders SET foldercurrentuid = 3 WHERE folderid = $pub"
clean "public messages added"
rules "p.folderpattern: ^#Public/lists\$" "p.messagecount: 1"
M expire --rules "$T_TMP/rules" --now $NOW --account "$A"; expect_ok "--account leaves #Public out"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefolderid = $pub")" "3" "public untouched under --account"
M expire --rules "$T_TMP/rules" --now $NOW -v; expect_ok "#Public"
expect_out_contains "#Public/lists	1	24	2019-01-01 00:00:00	p" "-v lists a public message"
expect_eq "$(q "SELECT messageuid FROM hm_messages WHERE messagefolderid = $pub")" "3" "the newest public message kept"
[ -f "$DATA/.mstore/trash/$(date -u +%F)/#Public/{ABCDEF01-0000-0000-0000-000000000000}.eml" ] && t_ok || t_fail "public file in the trash at its path"
clean "#Public"

# --- purge ---------------------------------------------------------------------------
ntr=$(trashed)
[ "$ntr" -gt 0 ] || t_fail "nothing in the trash to purge"
M purge --older-than 0 -n; expect_ok "purge today's trash with 0 days: nothing (today is kept)"
expect_out_contains "would remove 0 file(s)" "today's day is not older than 0 days"
old=$DATA/.mstore/trash/2020-01-01/x.example/u/AB
mkdir -p "$old"; printf 'abc' > "$old/{AB000000-0000-0000-0000-000000000000}.eml"
mst purge --older-than 30 --data "$DATA" -n -v; expect_ok "purge -n without --db"
expect_out_contains "x.example/u/AB/{AB000000-0000-0000-0000-000000000000}.eml	3" "-v lists the file and size"
[ -d "$DATA/.mstore/trash/2020-01-01" ] && t_ok || t_fail "dry run removed the day"
mst purge --older-than 30 --data "$DATA" --json; expect_ok "purge"
expect_eq "$(t_out | jq -c '[.days, .files, .bytes]')" "[1,1,3]" "purge summary"
[ -d "$DATA/.mstore/trash/2020-01-01" ] && t_fail "old day still there" || t_ok
expect_eq "$(trashed)" "$ntr" "today's trash kept"
mst purge --data "$DATA"; expect_rc 2 "purge without --older-than"
mst purge --older-than -1 --data "$DATA"; expect_rc 2 "negative days"
mst purge --older-than 1 --db "$URL"; expect_rc 3 "purge without a data directory"
clean "purge"

t_done
