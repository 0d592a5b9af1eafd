#!/usr/bin/env bash
# mstore sync at the edges of its rules, each on both sides: the UID cap
# at 2,147,483,647, the plausible years 1981..2039 of the internal date,
# Received before Date before mtime, the canonical place (depth, XX),
# zero-byte files in an account, Cc-only queue recipients, more than one
# multi-row insert, an INBOX spelled another way, orphans' reasons,
# duplicates of the same size, and shards that agree with reconstruct.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db syncb) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
q() { t_sql "$URL" "$1"; }
S() { M sync --no-progress --json "$T_TMP/r.json" "$@"; }
cat_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .category' "$T_TMP/r.json"; }
reason_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .reason' "$T_TMP/r.json"; }
old='2021-03-04 05:06:07'
msg() { # msg RELPATH HEADERS...
	local f=$D/$1; shift
	mkdir -p "$(dirname "$f")"
	{ for h in "$@"; do printf '%s\r\n' "$h"; done; printf '\r\nbody of %s\r\n' "$(basename "$f")"; } > "$f"
	touch -d "$old" "$f"
}
G() { printf '{%s-0000-4000-8000-%012d}.eml' "$1" "$2"; }   # G 8HEX N
acct() { q "SELECT accountid FROM hm_accounts WHERE accountaddress='$1'"; }
inbox() { q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid=$(acct "$1") AND folderparentid=-1"; }
MAX=2147483647

mst init "$URL"; expect_ok "init"
M domain add example.com; expect_ok "domain"
for a in cap over dates place queue many case dup; do M account add $a@example.com; done

# --- the UID cap: a batch ending exactly at the limit is fine, one past it is not -----------------
q "UPDATE hm_imapfolders SET foldercurrentuid=$((MAX - 2)) WHERE folderid=$(inbox cap@example.com)"
q "UPDATE hm_imapfolders SET foldercurrentuid=$((MAX - 1)) WHERE folderid=$(inbox over@example.com)"
for n in 1 2; do
	msg "example.com/cap/AA/$(G AA000000 $n)" "From: c$n@x.org" "Date: Mon, 0$n Jan 2018 00:00:00 +0000"
	msg "example.com/over/BB/$(G BB000000 $n)" "From: o$n@x.org"
done
S --account cap@example.com --account over@example.com
expect_rc 1 "UID cap: a file fails"
expect_eq "$(q "SELECT messageuid FROM hm_messages WHERE messageaccountid=$(acct cap@example.com) ORDER BY messageuid" | tr '\n' ' ')" "$((MAX - 1)) $MAX " "UID cap: the last two UIDs, the limit included"
expect_eq "$(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$(inbox cap@example.com)")" "$MAX" "UID cap: foldercurrentuid at the limit"
# one UID left for two files: the first (same date: path order) takes it, the other fails
# (tests/e2e/test_advice.sh has the reason and the order by date)
expect_eq "$(q "SELECT messageuid FROM hm_messages WHERE messageaccountid=$(acct over@example.com)")" "$MAX" "UID cap: what fits is imported, nothing past the limit"
expect_eq "$(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$(inbox over@example.com)")" "$MAX" "UID cap: the last UID is taken"
expect_eq "$(cat_of "example.com/over/BB/$(G BB000000 1)")" imported "UID cap: the file that fits is imported"
expect_eq "$(cat_of "example.com/over/BB/$(G BB000000 2)")" failed "UID cap: the file past it is failed"
rm -r "$D/example.com/over"

# --- the internal date: Received, then Date, then mtime; years 1981..2039 on both sides ------------
P=example.com/dates
msg "$P/A1/$(G A1000000 1)" "Received: from a by b; Thu, 01 Jan 1981 12:00:00 +0000" "Date: Mon, 01 Jan 2018 00:00:00 +0000" "From: a@x.org"
msg "$P/A2/$(G A2000000 2)" "Received: from a by b; Wed, 31 Dec 1980 12:00:00 +0000" "Date: Sat, 31 Dec 2039 10:00:00 +0000" "From: b@x.org"
msg "$P/A3/$(G A3000000 3)" "Received: from a by b; Sun, 01 Jan 2040 12:00:00 +0000" "Date: Sun, 01 Jan 2040 12:00:00 +0000" "From: c@x.org"
msg "$P/A4/$(G A4000000 4)" "Received: from a by b; Tue, 02 Jan 2018 00:00:00 +0000" "Date: Fri, 05 Jan 2018 00:00:00 +0000" "From: d@x.org"
S --account dates@example.com; expect_ok "dates"
created() { q "SELECT messagecreatetime FROM hm_messages WHERE messagefilename='$1'" | cut -c1-19; }
expect_eq "$(created "$(G A1000000 1)")" "1981-01-01 12:00:00" "a Received in 1981 is used, before Date"
expect_eq "$(created "$(G A2000000 2)")" "2039-12-31 10:00:00" "a Received in 1980 is not; a Date in 2039 is"
expect_eq "$(created "$(G A3000000 3)")" "$old" "dates in 2040 are not: the file's mtime"
expect_eq "$(created "$(G A4000000 4)")" "2018-01-02 00:00:00" "Received wins over a later Date"
# UIDs follow those dates, not the paths: 1981 (A1), 2018 (A4), 2021 (A3), 2039 (A2)
uids=$(for g in "$(G A1000000 1)" "$(G A4000000 4)" "$(G A3000000 3)" "$(G A2000000 2)"; do q "SELECT messageuid FROM hm_messages WHERE messagefilename='$g'"; done | tr '\n' ' ')
expect_eq "$uids" "1 2 3 4 " "UIDs in the order of the internal dates"
expect_eq "$(q "SELECT messagefrom FROM hm_messages WHERE messagefilename='$(G A1000000 1)'")" "a@x.org" "messagefrom is the From address"

# --- the canonical place: depth and XX; zero-byte files in an account --------------------------
P=example.com/place
msg "$P/C1/deeper/$(G C1000000 1)" "From: a@x.org"
msg "$P/ZZ/$(G C2000000 2)" "From: a@x.org"
msg "$P/C3/$(G C3000000 3)" "From: a@x.org"
mkdir -p "$D/$P/C4"; : > "$D/$P/C4/$(G C4000000 4)"; touch -d "$old" "$D/$P/C4/$(G C4000000 4)"
# hMailServer's XX folder is the name's characters 1-2 as written (case-sensitive)
lc=$(G c5000000 5 | tr 'A-Z' 'a-z'); lc2=$(G c6000000 6 | tr 'A-Z' 'a-z'); lc3=$(G c7000000 7 | tr 'A-Z' 'a-z')
msg "$P/c5/$lc" "From: a@x.org"
msg "$P/C6/$lc2" "From: a@x.org"
msg "$P/$lc3" "From: a@x.org"
mkdir -p "$D/$P/oo"; msg "$P/oo/loose.eml" "From: a@x.org"   # the "XX" of a name that is no GUID
S --account place@example.com; expect_ok "places"
expect_eq "$(cat_of "$P/oo/loose.eml")" moved "a name that is no GUID is given one, even in its own two-letter folder"
expect_eq "$(cat_of "$P/c5/$lc")" imported "a lower-case GUID name in its lower-case XX folder is in place"
expect_eq "$(cat_of "$P/C6/$lc2")" moved "a lower-case GUID name in an upper-case XX folder is not"
[ -f "$D/$P/c6/$lc2" ] || t_fail "the lower-case name was not moved to $P/c6/ (as written)"
expect_eq "$(cat_of "$P/$lc3")" moved "a lower-case GUID name outside an XX folder is moved"
[ -f "$D/$P/c7/$lc3" ] || t_fail "the lower-case name was not moved to $P/c7/, keeping its name"
expect_eq "$(cat_of "$P/C1/deeper/$(G C1000000 1)")" moved "a GUID file one folder too deep is moved"
[ -f "$D/$P/C1/$(G C1000000 1)" ] || t_fail "the too-deep file is not in $P/C1"
expect_eq "$(cat_of "$P/ZZ/$(G C2000000 2)")" moved "a GUID file in the wrong XX folder is moved"
[ -f "$D/$P/C2/$(G C2000000 2)" ] || t_fail "the wrong-XX file is not in $P/C2"
expect_eq "$(cat_of "$P/C3/$(G C3000000 3)")" imported "a GUID file in its XX folder is imported in place"
expect_eq "$(cat_of "$P/C4/$(G C4000000 4)")" not-imported "a zero-byte file in an account is not imported"
expect_eq "$(reason_of "$P/C4/$(G C4000000 4)")" "zero-byte file (hMailServer never stores empty messages)" "zero-byte: the reason"
t_ok

# --- --settle on both sides: exactly SETTLE seconds old is settled, one second less is not ----------
msg "example.com/place/C8/$(G C8000000 8)" "From: a@x.org"
t=$(stat -c %Y "$D/example.com/place/C8/$(G C8000000 8)")
S --account place@example.com --settle 300 --now $((t + 299)); expect_ok "settle - 1"
expect_eq "$(cat_of "example.com/place/C8/$(G C8000000 8)")" deferred "a file 299 s old is deferred (--settle 300)"
S --account place@example.com --settle 300 --now $((t + 300)); expect_ok "settle"
expect_eq "$(cat_of "example.com/place/C8/$(G C8000000 8)")" imported "a file exactly 300 s old is imported"

# --- two different files with one GUID name in an account: both kept, neither replaced ------------
mkdir -p "$D/example.com/place/C9" "$D/example.com/place/ZZ"
msg "example.com/place/C9/$(G C9000000 9)" "From: first@x.org" "Subject: first"
msg "example.com/place/ZZ/$(G C9000000 9)" "From: second@x.org" "Subject: second"
S --account place@example.com; expect_ok "one name twice"
expect_eq "$(grep -rl 'Subject: first' "$D/example.com/place" | wc -l) $(grep -rl 'Subject: second' "$D/example.com/place" | wc -l)" "1 1" "both files are still there"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefrom IN ('first@x.org', 'second@x.org')")" 2 "both imported, each under its own name"

# --- the queue: a local recipient in Cc only; orphans name their cause ---------------------------
msg "$(G D1000000 1)" "From: out@outside.test" "To: someone@outside.test" "Cc: queue@example.com"
msg "example.com/ghost/D2/$(G D2000000 2)" "From: a@x.org"
msg "elsewhere.test/ghost/D3/$(G D3000000 3)" "From: a@x.org"
S; expect_ok "queue and orphans"
expect_eq "$(cat_of "$(G D1000000 1)")" queued "a queue file whose local recipient is in Cc"
expect_eq "$(q "SELECT r.recipientaddress FROM hm_messagerecipients r JOIN hm_messages m ON m.messageid = r.recipientmessageid WHERE m.messagefilename='$(G D1000000 1)'")" "queue@example.com" "the Cc recipient"
expect_eq "$(reason_of "example.com/ghost/D2/$(G D2000000 2)")" "no account 'ghost@example.com' in the database" "orphan in a local domain: no account"
expect_eq "$(reason_of "elsewhere.test/ghost/D3/$(G D3000000 3)")" "no domain 'elsewhere.test' in the database" "orphan in an unknown domain: no domain"

# --- 250 imports in one account: three multi-row inserts, distinct UIDs ---------------------------
for n in $(seq 1 250); do msg "example.com/many/E0/$(G E0000000 "$n")" "From: m$n@x.org"; done
S --account many@example.com; expect_ok "250 imports"
expect_eq "$(q "SELECT COUNT(*), COUNT(DISTINCT messageuid), MIN(messageuid), MAX(messageuid) FROM hm_messages WHERE messageaccountid=$(acct many@example.com)" | tr '\t' ' ')" "250 250 1 250" "250 rows, UIDs 1..250"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$(acct many@example.com) AND messagefrom=REPLACE(REPLACE(messagefilename, '{E0000000-0000-4000-8000-', 'm'), '}.eml', '')")" 0 "sanity: names and senders differ"
expect_eq "$(q "SELECT messagefrom FROM hm_messages WHERE messagefilename='$(G E0000000 250)'")" "m250@x.org" "the 250th row is the 250th file's"

# --- an INBOX spelled 'Inbox' is the INBOX ---------------------------------------------------------
q "UPDATE hm_imapfolders SET foldername='Inbox' WHERE folderid=$(inbox case@example.com)"
msg "example.com/case/F1/$(G F1000000 1)" "From: a@x.org"
S --account CASE@Example.com; expect_ok "--account in another case"
expect_eq "$(jq -r '.summary.imported' "$T_TMP/r.json")" 1 "--account matches the address case-insensitively"
expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders WHERE folderaccountid=$(acct case@example.com)")" 1 "no second INBOX next to 'Inbox'"

# --- duplicates: same size, different bytes, is no duplicate ---------------------------------------
msg "example.com/dup/A0/$(G A0000000 1)" "From: a@x.org" "Subject: one"
msg "example.com/dup/A0/$(G A0000000 2)" "From: a@x.org" "Subject: two"
msg "example.com/dup/A0/$(G A0000000 3)" "From: a@x.org" "Subject: one"
cp -p "$D/example.com/dup/A0/$(G A0000000 1)" "$D/example.com/dup/A0/$(G A0000000 3)"
S --account dup@example.com --skip-duplicates; expect_ok "duplicates"
expect_eq "$(cat_of "example.com/dup/A0/$(G A0000000 2)")" imported "same size, other content: imported"
expect_eq "$(jq -r '[.files[] | select(.category == "not-imported")] | length' "$T_TMP/r.json")" 1 "one byte-identical copy skipped"

# --- --quarantine never replaces a file already in the quarantine ----------------------------------
msg "example.com/ghost/D2/$(G D2000000 9)" "From: a@x.org"
mkdir -p "$T_TMP/q/example.com/ghost/D2"; echo keep > "$T_TMP/q/example.com/ghost/D2/$(G D2000000 2)"
M sync --no-progress --quarantine "$T_TMP/q"
expect_eq "$(cat "$T_TMP/q/example.com/ghost/D2/$(G D2000000 2)")" keep "the quarantine's own file is not replaced"
[ -f "$D/example.com/ghost/D2/$(G D2000000 2)" ] || t_fail "the orphan whose name is taken in the quarantine was lost"
[ -f "$T_TMP/q/example.com/ghost/D2/$(G D2000000 9)" ] || t_fail "the other orphan was not quarantined"
t_ok

# --- shards split the queue too: each queue file in exactly one shard ------------------------------
for n in 1 2 3 4 5 6; do msg "$(G E5000000 "$n")" "From: out@outside.test" "To: queue@example.com"; done
sum=0
for k in 1 2 3; do
	S -n --shard $k/3; expect_ok "dry run of shard $k/3"
	sum=$((sum + $(jq -r '.summary.queued' "$T_TMP/r.json")))
done
expect_eq "$sum" 6 "three shards together would queue each of the 6 queue files once"
S; expect_ok "queue files imported"

# --- shards: a folder whose name differs in case from its address is in the account's shard -------
M account add mixed.case@example.com
msg "Example.COM/Mixed.Case/7A/$(G 7A000000 1)" "From: a@x.org"
want=""
for k in 1 2 3; do
	M reconstruct -n --no-progress --settle 0 --shard $k/3
	grep -q "user/mixed.case@example.com: unreferenced-file" "$T_TMP/out" && want="$want$k"
done
expect_eq "${#want}" 1 "reconstruct puts the account in one shard"
got=""
for k in 1 2 3; do
	S --shard $k/3
	[ "$(jq -r '.summary.imported' "$T_TMP/r.json")" = 1 ] && got="$got$k"
done
expect_eq "$got" "$want" "sync imports the mixed-case folder in the shard reconstruct gives its account"
# --- a 65th --domain counts like the first (they were capped at 64, the rest dropped) ---------
args=()
for n in $(seq 1 64); do M domain add "d$n.example"; args+=(--domain "d$n.example"); done
msg "example.com/many/E1/$(G E1000000 1)" "From: late@x.org"
S "${args[@]}" --domain example.com; expect_ok "65 --domain options"
expect_eq "$(cat_of "example.com/many/E1/$(G E1000000 1)")" imported "the 65th --domain is honoured"
msg "example.com/many/E1/$(G E1000000 2)" "From: late@x.org"
M reconstruct -n --no-progress --settle 0 "${args[@]}" --domain example.com
expect_out_contains "example.com/many/E1/$(G E1000000 2)" "reconstruct: the 65th --domain is honoured"
t_done
