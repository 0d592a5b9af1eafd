#!/usr/bin/env bash
# What mstore sync guarantees about UIDs and what it says about headers
# (issue 12, item 10):
#  - in one run, the files imported into a folder get UIDs in the order of
#    their internal dates: across batch boundaries (an account larger than
#    --batch, an account that would straddle two batches), across account
#    folders that differ only in case (Ann/ and ann/), and when a refused
#    row makes the writer go file by file;
#  - later runs give later UIDs (the guarantee is per run);
#  - a message with only a header and no empty line is read, not
#    "unparsable"; the labels say what actually failed.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db syncorder) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
q() { t_sql "$URL" "$1"; }
S() { M sync --no-progress --json "$T_TMP/r.json" "$@"; }
cat_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .category' "$T_TMP/r.json"; }
reason_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .reason' "$T_TMP/r.json"; }
G() { printf '{%s-0000-4000-8000-%012d}.eml' "$1" "$2"; }   # G 8HEX N
old='2021-03-04 05:06:07'
msg() { # msg RELPATH YEAR: a message dated 1 January of YEAR
	local f=$D/$1
	mkdir -p "$(dirname "$f")"
	printf 'From: a@x.org\r\nDate: Mon, 01 Jan %s 00:00:00 +0000\r\n\r\nbody of %s\r\n' "$2" "$(basename "$f")" >"$f"
	touch -d "$old" "$f"
}
acct() { q "SELECT accountid FROM hm_accounts WHERE accountaddress='$1'"; }
# the account's rows as "YEAR:UID" in UID order: dates in UID order must ascend
by_uid() { q "SELECT messagecreatetime, messageuid FROM hm_messages WHERE messageaccountid=$(acct "$1") ORDER BY messageuid" |
	while IFS=$'\t' read -r c u; do printf '%s:%s ' "${c:0:4}" "$u"; done; }
ascending() { # ascending "YEAR:UID ...": the years never go down
	local prev=0 y
	for p in $1; do y=${p%%:*}; [ "$y" -ge "$prev" ] || return 1; prev=$y; done
}

mst init "$URL"; expect_ok "init"
M domain add example.com; expect_ok "domain"
for a in big pair aa bb ann bob late; do M account add $a@example.com; done

# --- an account larger than a batch: dates descend in path order ---------------------------
for n in 1 2 3 4 5 6 7; do msg "example.com/big/B$n/$(G B${n}000000 $n)" $((2030 - n)); done
S --account big@example.com --batch 3; expect_ok "sync 7 files in batches of 3"
got=$(by_uid big@example.com)
expect_eq "$got" "2023:1 2024:2 2025:3 2026:4 2027:5 2028:6 2029:7 " "UIDs follow the dates across three batches"

# --- two accounts that would straddle a batch boundary: neither is split -----------------------
# aa has 2 files, bb 3; with batches of 4 the old cut gave bb's first two files to batch 1.
msg "example.com/aa/A1/$(G A1000000 1)" 2015
msg "example.com/aa/A2/$(G A2000000 2)" 2014
for n in 1 2 3; do msg "example.com/bb/C$n/$(G C${n}000000 $n)" $((2020 - n)); done
S --account aa@example.com --account bb@example.com --batch 4; expect_ok "sync two accounts, batches of 4"
expect_eq "$(by_uid aa@example.com)" "2014:1 2015:2 " "aa: UIDs by date"
expect_eq "$(by_uid bb@example.com)" "2017:1 2018:2 2019:3 " "bb is not split: UIDs by date"

# --- account folders that differ only in case are one account ----------------------------
# Byte order puts Bob/ between Ann/ and ann/: the old path sort made two groups of ann.
msg "example.com/Ann/D1/$(G D1000000 1)" 2022
msg "example.com/Ann/D2/$(G D2000000 2)" 2023
msg "example.com/Bob/E1/$(G E1000000 1)" 2001
msg "example.com/ann/D3/$(G D3000000 3)" 2011
msg "example.com/ann/D4/$(G D4000000 4)" 2012
S --account ann@example.com --account bob@example.com; expect_ok "sync Ann/ and ann/"
expect_eq "$(by_uid ann@example.com)" "2011:1 2012:2 2022:3 2023:4 " "Ann/ and ann/: one account, UIDs by date"
expect_eq "$(by_uid bob@example.com)" "2001:1 " "bob in between"

# --- a refused row: the writer goes file by file, still in date order ----------------------------
# A trigger refuses one file's row (its size is 4242 bytes): the group is retried one by one.
case "$MSTORE_TEST_BACKEND" in
sqlite) q "CREATE TRIGGER refuse BEFORE INSERT ON hm_messages WHEN NEW.messagesize = 4242 BEGIN SELECT RAISE(ABORT, 'refused by test'); END" ;;
pgsql) q "CREATE FUNCTION refuse() RETURNS trigger AS \$\$ BEGIN IF NEW.messagesize = 4242 THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END \$\$ LANGUAGE plpgsql" &&
	q "CREATE TRIGGER refuse BEFORE INSERT ON hm_messages FOR EACH ROW EXECUTE FUNCTION refuse()" ;;
mysql) printf '%s\n' 'DELIMITER //' "CREATE TRIGGER refuse BEFORE INSERT ON hm_messages FOR EACH ROW BEGIN
	IF NEW.messagesize = 4242 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by test'; END IF; END//" |
	t_mysql "${URL##*/}" ;;
esac || t_fail "cannot create the refusing trigger"
for n in 1 2 3 4; do msg "example.com/pair/P$n/$(G F${n}000000 $n)" $((2010 - n)); done
R=example.com/pair/P2/$(G F2000000 2)
{ printf 'From: a@x.org\r\nDate: Mon, 01 Jan 2008 00:00:00 +0000\r\n\r\n'; head -c 4242 /dev/zero | tr '\0' x; } | head -c 4242 >"$D/$R"
touch -d "$old" "$D/$R"
S --account pair@example.com; expect_rc 1 "sync with one refused row"
expect_eq "$(cat_of "$R")" failed "the refused file fails alone"
expect_eq "$(by_uid pair@example.com)" "2006:1 2007:2 2009:3 " "the others, one by one, get UIDs by date"
q "DROP TRIGGER refuse$([ "$MSTORE_TEST_BACKEND" = pgsql ] && echo ' ON hm_messages')"

# --- the guarantee is per run: a later run's files get later UIDs ------------------------------
msg "example.com/late/L1/$(G 1A000000 1)" 2020
S --account late@example.com; expect_ok "first run"
msg "example.com/late/L2/$(G 2A000000 2)" 2010
S --account late@example.com; expect_ok "second run"
expect_eq "$(by_uid late@example.com)" "2020:1 2010:2 " "an older message imported later gets a later UID (documented)"
M help sync; expect_ok "help sync"
expect_out_contains "in one run, the files imported into a folder get UIDs in the order of" "help sync states the guarantee"
expect_out_contains "deferred or failed, imported by a later run, get later UIDs" "and its limit"

# --- headers: label what failed --------------------------------------------------------------
# (each at its canonical place, so all four are "imported", where the summary counts them)
hfile() { mkdir -p "$D/example.com/late/${1:1:2}"; printf '%s' "$2" >"$D/example.com/late/${1:1:2}/$1"; touch -d "$old" "$D/example.com/late/${1:1:2}/$1"; }
# a header and no empty line: a message without a body; its fields are read
hfile "$(G 4A000000 1)" $'From: only@header.test\r\nDate: Thu, 01 Jan 2015 00:00:00 +0000\r\nSubject: no body'
# no header field at all
hfile "$(G 4B000000 2)" $'just some text\r\nwithout any colon\r\n'
# fields, but none of From, To, Date, Received
hfile "$(G 4C000000 3)" $'Subject: alone\r\nX-Mailer: test\r\n\r\nbody\r\n'
# NUL bytes in a header whose fields are read (printf writes the NUL; $'...' cannot hold one)
mkdir -p "$D/example.com/late/4D"
printf 'From: nul@header.test\r\nX-Junk: a\0b\r\nDate: Thu, 01 Jan 2015 00:00:00 +0000\r\n\r\nbody\r\n' >"$D/example.com/late/4D/$(G 4D000000 4)"
touch -d "$old" "$D/example.com/late/4D/$(G 4D000000 4)"
S --account late@example.com -v; expect_ok "sync the header cases"
j() { jq -r --arg p "example.com/late/${1:1:2}/$1" ".files[] | select(.path == \$p) | $2" "$T_TMP/r.json"; }
expect_eq "$(j "$(G 4A000000 1)" .unparsable_headers)" null "no empty line: not labelled unparsable"
expect_eq "$(j "$(G 4A000000 1)" .header_problems)" "no empty line: the whole file is header, no body" "no empty line: said as what it is"
expect_eq "$(q "SELECT messagefrom FROM hm_messages WHERE messagefilename='$(G 4A000000 1)'")" "only@header.test" "its From was read"
expect_eq "$(q "SELECT messagecreatetime FROM hm_messages WHERE messagefilename='$(G 4A000000 1)'" | cut -c1-19)" "2015-01-01 00:00:00" "its Date was read"
case "$(j "$(G 4A000000 1)" .reason)" in *unparsable*) t_fail "no empty line: the reason says unparsable: $(j "$(G 4A000000 1)" .reason)" ;; *) t_ok ;; esac
expect_eq "$(j "$(G 4B000000 2)" .unparsable_headers)" true "no header field: unparsable"
case "$(j "$(G 4B000000 2)" .reason)" in *"(unparsable headers: no header field"*) t_ok ;; *) t_fail "no header field: $(j "$(G 4B000000 2)" .reason)" ;; esac
expect_eq "$(j "$(G 4C000000 3)" .unparsable_headers)" true "no From/To/Date/Received: unparsable"
expect_eq "$(j "$(G 4C000000 3)" .header_problems)" "no From, To, Date or Received field" "and says which fields were missing"
expect_eq "$(j "$(G 4D000000 4)" .unparsable_headers)" null "NUL bytes with fields read: not unparsable"
expect_eq "$(j "$(G 4D000000 4)" .header_problems)" "NUL bytes in the header" "NUL bytes: said so"
expect_eq "$(jq -r .summary.unparsable_headers "$T_TMP/r.json")" 2 "the summary counts the two that gave nothing"
expect_out_contains "(2 with unparsable headers, imported anyway)" "the printed summary"

t_done
