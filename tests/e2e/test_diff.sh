#!/usr/bin/env bash
# mstore diff end to end, with the real binary on real stores: a Maildir++
# tree, an mbox directory (and one mbox file) and an hMailServer account of
# the test's database, filled by mstore channel runs, then made to differ
# in every way diff reports (missing on each side, a folder on one side
# only, flags, content, duplicates), with the exact lines, the exit codes,
# the JSON (jq) and the CSV; store names and plain paths; a hostile folder
# name printed escaped.  Also the channel's diff mode (CHANNEL STORE) and
# its lists of messages.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

S=$T_TMP/sides
MD=$S/md            # kind maildir, maildir++
MB=$S/mb            # kind mbox
MD2=$S/md2          # the Maildir paired with the hMailServer account
mkdir -p "$MD"/{cur,new,tmp} "$MD/.Sub"/{cur,new,tmp} "$MB" "$MD2"/{cur,new,tmp}
CONF=$T_TMP/channels.conf

n=0
md_msg() { # md_msg MAILDIR SUBJECT [MSGID] [FLAGS]: a message in cur/ (new/ without flags)
	local dir=$1 subj=$2 id=${3:-} flags=${4:-} f
	n=$((n + 1))
	if [ -n "$flags" ]; then f=$dir/cur/$((1700000000 + n)).M$n.host:2,$flags; else f=$dir/new/$((1700000000 + n)).M$n.host; fi
	{ printf 'From: a@example.org\nDate: Mon, 01 Jan 2024 00:00:%02d +0000\nSubject: %s\n' $((n % 60)) "$subj"
	  [ -n "$id" ] && printf 'Message-ID: <%s>\n' "$id"
	  printf '\nbody of %s\n' "$subj"; } > "$f"
}
mb_msg() { # mb_msg FILE SUBJECT MSGID: a message appended to an mbox (a blank line before it
	# unless the file ends in one: one more would change the last message's bytes)
	{ [ -s "$1" ] && [ "$(tail -c 2 "$1" | od -An -tx1 | tr -d ' ')" != 0a0a ] && printf '\n'
	  printf 'From b@example.org Mon Jan  1 00:00:00 2024\nFrom: b@example.org\nSubject: %s\n' "$2"
	  printf 'Message-ID: <%s>\n\nbody of %s\n' "$3" "$2"; } >> "$1"
}
mb_drop() { # mb_drop FILE SUBJECT: remove that message from the mbox
	awk -v s="Subject: $2" 'function flush() { if (!drop) printf "%s", buf; buf = ""; drop = 0 }
		/^From / { flush() } { buf = buf $0 "\n"; if ($0 == s) drop = 1 } END { flush() }' "$1" > "$1.tmp" &&
		mv "$1.tmp" "$1"
}
md_file() { grep -l "^Subject: $2\$" "$1"/cur/* "$1"/new/* 2>/dev/null | head -1; }
# expect_lines FILE WANT DESCRIPTION: the difference lines (those not
# starting with "folder " and not the last) are exactly WANT, sorted
expect_lines() {
	local got
	got=$(grep -v '^folder ' "$1" | sed '$d' | LC_ALL=C sort)
	expect_eq "$got" "$(printf '%s\n' "$2" | LC_ALL=C sort)" "$3"
}

md_msg "$MD" m1 m1@x S
md_msg "$MD" m2 m2@x S
md_msg "$MD" noid-a
md_msg "$MD/.Sub" s1 s1@x S
md_msg "$MD2" h1 h1@x S
md_msg "$MD2" h2 h2@x
md_msg "$MD2" h3-noid

URL=$(t_new_db diff)
D=$T_TMP/Data
mkdir -p "$D"
mst init "$URL" --data "$D"; expect_ok "init"
mst --db "$URL" --data "$D" domain add example.com; expect_ok "domain"
mst --db "$URL" --data "$D" account add ann@example.com; expect_ok "account"

cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store mb { kind mbox path $MB }
channel c md mb { }
store md2 { kind maildir path $MD2 }
store hm { kind hmailserver db $URL data $D account ann@example.com }
channel h md2 hm { }
CONF
ch() { mst channel -f "$CONF" "$@"; }
df() { mst diff -f "$CONF" "$@"; }

# --- after a channel run, the stores are equal ---------------------------------------------
ch c; expect_ok "sync md <-> mb"
ch h; expect_ok "sync md2 <-> hm"
df md mb; expect_ok "md and mb equal after the sync"
expect_out_contains "md and mb are equal (2 folders)" "the verdict"
expect_out_contains "folder INBOX: 3 on md, 3 on mb, 3 same, 0 missing on md, 0 missing on mb, 0 flags differ, 0 content differs, 0 duplicates, 0 unreadable" "INBOX's summary"
df md2 hm; expect_ok "md2 and hm equal after the sync"
expect_out_contains "folder INBOX: 3 on md2, 3 on hm, 3 same" "hm's INBOX summary"
mst diff "$MD" "$MB"; expect_ok "the same two stores as plain paths, without a configuration"
expect_out_contains "$MD and $MB are equal" "paths name the stores"
mst diff "$MD" "$MB/INBOX"; expect_rc 1 "a Maildir tree against one mbox file: Sub is missing there"
expect_lines "$T_TMP/out" "Sub: folder missing on $MB/INBOX (1 messages on $MD)
Sub: missing on $MB/INBOX: <s1@x> (uid 1 on $MD)" "an mbox file is one folder, INBOX"

# --- every kind of difference ---------------------------------------------------------------
mb_drop "$MB/INBOX" m2                                  # mb: 1 m1, 2 noid-a
mb_msg "$MB/INBOX" m9 m9@x                              # mb: 3 m9
mv "$(md_file "$MD" m1)" "${MD}/cur/$(basename "$(md_file "$MD" m1)" | sed 's/:2,S$/:2,FS/')"
sed -i 's/^body of m1$/body of m1, edited/' "$MB/INBOX"
cp "$(md_file "$MD/.Sub" s1)" "$MD/.Sub/cur/1800000000.dup.host:2,S"
df md mb; expect_rc 1 "the stores differ"
expect_lines "$T_TMP/out" "INBOX: missing on mb: <m2@x> (uid 2 on md)
INBOX: missing on md: <m9@x> (uid 3 on mb)
INBOX: flags differ: <m1@x>: md FS, mb S
INBOX: content differs: <m1@x> (uid 1 on md, uid 1 on mb)
Sub: duplicate on md: <s1@x> (2 copies)" "each difference, one exact line"
expect_out_contains "folder INBOX: 3 on md, 3 on mb, 1 same, 1 missing on md, 1 missing on mb, 1 flags differ, 1 content differs, 0 duplicates, 0 unreadable" "INBOX's counts"
expect_out_contains "md and mb differ: 5 differences in 2 folders" "the verdict"
df --quick md mb; expect_rc 1 "--quick"
grep -q 'content differs:' "$T_TMP/out" && t_fail "--quick compares no content: $(t_out)"
df md mb Sub; expect_rc 1 "FOLDER limits the comparison"
expect_lines "$T_TMP/out" "Sub: duplicate on md: <s1@x> (2 copies)" "only Sub"
df md mb Nothing; expect_rc 2 "a FOLDER that names none"
expect_err_contains "no folder of either store is named Nothing" "says which"

# JSON
df --json "$T_TMP/d.json" md mb; expect_rc 1 "--json FILE"
jq -e . "$T_TMP/d.json" >/dev/null || t_fail "the JSON parses: $(head -c 300 "$T_TMP/d.json")"
expect_eq "$(jq -r '[.equal, .differences, .exit_code, (.stores | join(","))] | join(" ")' "$T_TMP/d.json")" \
	"false 5 1 md,mb" "JSON totals"
expect_eq "$(jq -r '.folders[] | select(.folder == "INBOX") | .differences[] | [.kind, (.store // "-"), .ident, (.uid | map(tostring) | join("/"))] | join(" ")' "$T_TMP/d.json" | sort)" \
	"$(printf '%s\n' "content - <m1@x> 1/1" "flags - <m1@x> 1/1" "missing md <m9@x> 0/3" "missing mb <m2@x> 2/0" | sort)" "JSON differences of INBOX"
expect_eq "$(jq -r '.folders[] | select(.folder == "INBOX") | .differences[] | select(.kind == "flags") | .flags | map(tostring) | join(" ")' "$T_TMP/d.json")" \
	"5 1" "JSON flags: Seen|Flagged against Seen"
expect_eq "$(jq -r '.folders[] | select(.folder == "Sub") | [.duplicates[0], .same, .count[0]] | map(tostring) | join(" ")' "$T_TMP/d.json")" \
	"1 1 2" "JSON Sub: one duplicate, one same, two listed"
df --json - md mb; expect_rc 1 "--json -"
jq -e '.folders | length == 2' "$T_TMP/out" >/dev/null || t_fail "JSON on stdout: $(head -c 300 "$T_TMP/out")"
grep -q '^md and mb differ' "$T_TMP/err" || t_fail "the text goes to stderr with --json -"

# CSV
df --csv md mb; expect_rc 1 "--csv"
expect_eq "$(head -1 "$T_TMP/out")" "folder,kind,store,ident,uid1,uid2,flags1,flags2,detail" "the CSV header"
python3 - "$T_TMP/out" > "$T_TMP/csv" <<'PY' || t_fail "the CSV parses"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
for r in rows:
    assert len(r) == 9 and None not in r, r
    print('|'.join([r['folder'], r['kind'], r['store'], r['ident'], r['uid1'], r['uid2'], r['flags1'], r['flags2'], r['detail']]))
PY
expect_eq "$(LC_ALL=C sort "$T_TMP/csv")" "$(printf '%s\n' \
	'INBOX|content||<m1@x>|1|1|||' 'INBOX|flags||<m1@x>|1|1|FS|S|' 'INBOX|missing|mb|<m2@x>|2||||' \
	'INBOX|missing|md|<m9@x>||3|||' 'Sub|duplicate|md|<s1@x>|1||||2 copies' | LC_ALL=C sort)" "CSV rows"

# --- a hostile folder name is escaped ------------------------------------------------------------
# (a C1 control, CSI, and a byte that is not UTF-8; a C0 control such as
# a newline makes no folder at all: below)
EVIL=$'evil\xc2\x9b2J\xff$(touch pwned)'
mb_msg "$MB/$EVIL" e1 e1@x
df md mb; expect_rc 1 "a folder with a hostile name"
grep -qxF 'evil\xc2\x9b2J\xff$(touch pwned): folder missing on md (1 messages on mb)' "$T_TMP/out" ||
	t_fail "the folder name escaped: $(t_out)"
grep -qxF 'evil\xc2\x9b2J\xff$(touch pwned): missing on md: <e1@x> (uid 1 on mb)' "$T_TMP/out" ||
	t_fail "its message's line escaped: $(t_out)"
df --csv md mb
grep -qF 'evil\xc2\x9b2J\xff$(touch pwned),missing,md,<e1@x>,,1,,,' "$T_TMP/out" || t_fail "CSV escapes the name: $(t_out)"
rm "$MB/$EVIL"
# a newline in a name: no folder of the mbox store (as in a Maildir);
# `mstore check` names it
NL=$'evil\n$(touch pwned)'
mb_msg "$MB/$NL" e2 e2@x
df md mb; expect_rc 1 "md and mb still differ"
grep -q 'e2@x\|touch pwned' "$T_TMP/out" && t_fail "a folder with a newline in its name was listed: $(t_out)"
mst check "$MB"; expect_rc 1 "check finds the folder it cannot name"
expect_out_contains 'evil\x0a$(touch pwned)' "check names it, escaped"
grep -q '^$(touch pwned)' "$T_TMP/out" && t_fail "a raw newline split a line: $(t_out)"
rm "$MB/$NL"

# --- the hMailServer store: differences against a Maildir --------------------------------------------
md_msg "$MD2" h9 h9@x
rm "$(md_file "$MD2" h2)"
mv "$(md_file "$MD2" h1)" "$(md_file "$MD2" h1 | sed 's/:2,S$/:2,RS/')"
df md2 hm; expect_rc 1 "md2 and hm differ"
expect_lines "$T_TMP/out" "INBOX: missing on hm: <h9@x> (uid 3 on md2)
INBOX: missing on md2: <h2@x> (uid 2 on hm)
INBOX: flags differ: <h1@x>: md2 RS, hm S" "each difference against the hMailServer store"

# --- the channel's diff mode lists the messages ------------------------------------------------------
ch h md2; expect_ok "channel diff mode"
expect_out_contains "folder INBOX: 1 new on md2, 1 deleted on md2 since the last sync, 3 currently at md2" "the counts line"
expect_eq "$(grep '^  ' "$T_TMP/out")" "  new on md2: <h9@x> (uid 3 on md2)
  deleted since the last sync from md2: <h2@x> (uid 2 on hm)" "the messages new on and deleted from md2"
ch -m h md2; expect_ok "channel diff mode -m"
expect_eq "$(grep '^  at ' "$T_TMP/out" | sed 's/sha256:[0-9a-f]*/sha256:X/')" "  at md2: <h1@x> (uid 1 on md2)
  at md2: sha256:X (uid 2 on md2)
  at md2: <h9@x> (uid 3 on md2)" "-m: what md2 holds"
ch -m --json h md2; expect_ok "channel diff mode --json"
expect_eq "$(jq -r '.diff[0] | [(.new | map(.ident) | join(",")), (.deleted | map(.ident) | join(",")), (.held | length | tostring)] | join(" ")' "$T_TMP/out")" \
	"<h9@x> <h2@x> 3" "JSON: h9 new on md2, h2 deleted from it, md2 holds 3"
ch h hm; expect_ok "channel diff mode from the other store"
expect_out_contains "folder INBOX: 0 new on hm, 0 deleted on hm since the last sync, 3 currently at hm (and 1 new, 1 deleted on md2)" "hm's view"
grep -q '^  ' "$T_TMP/out" && t_fail "nothing new on or deleted from hm: $(t_out)"
df md2 hm; expect_rc 1 "the diff modes wrote nothing"

# --- an mbox file named by a relative path: its messages are compared --------------------------------
# (the file once resolved below its own directory a second time: "equal
# (0 folders)", whatever the files held)
mkdir -p "$T_TMP/rel/sub"
mb_msg "$T_TMP/rel/sub/a.mbox" one r1@x
mb_msg "$T_TMP/rel/sub/b.mbox" two r2@x
(cd "$T_TMP/rel" && "$MSTORE_BIN" diff sub/a.mbox sub/b.mbox >"$T_TMP/out" 2>"$T_TMP/err"); T_RC=$?; expect_rc 1 "two relative mbox files differ"
expect_out_contains "INBOX: missing on sub/a.mbox: <r2@x>" "the message of the second is missing on the first"
(cd "$T_TMP/rel" && "$MSTORE_BIN" check sub/a.mbox >"$T_TMP/out" 2>"$T_TMP/err"); T_RC=$?; expect_ok "check a relative mbox file"
expect_out_contains "checked 1 folders, 1 messages" "check read its message"

# --- an entry a store cannot name as a message is not "equal" to nothing ---------------------------------
# (a real message whose file name holds a newline: check names it,
# channel skips it; diff said the stores were equal, exit 0)
mkdir -p "$T_TMP/sk/md"/{cur,new,tmp} "$T_TMP/sk/mb"; : >"$T_TMP/sk/mb/INBOX"
printf 'From: x@y\nSubject: a\nMessage-ID: <nl@x>\n\nbody\n' >"$T_TMP/sk/md/cur/1000.a"$'\n'"b.host:2,S"
mst diff "$T_TMP/sk/md" "$T_TMP/sk/mb"; expect_rc 1 "a store with an entry it cannot name differs"
expect_out_contains 'INBOX: unreadable on '"$T_TMP"'/sk/md: uid 0: cur/1000.a\x0ab.host:2,S: not a message this store can name' \
	"the entry is named, escaped, as not compared"

# --- could not run -------------------------------------------------------------------------------------
mst diff "$MD" "$T_TMP/nowhere"; expect_rc 2 "a store that does not exist"
expect_err_contains "no such file or directory" "says so"
mst diff -f "$T_TMP/none.conf" md mb; expect_rc 2 "a configuration that cannot be read"
printf 'store x { bogus 1 }\n' > "$T_TMP/bad.conf"
mst diff -f "$T_TMP/bad.conf" x x; expect_rc 2 "a bad configuration"
expect_err_contains "bad.conf:1" "names FILE:LINE"
df md; expect_rc 2 "one store only"
df --csv --json - md mb; expect_rc 2 "--csv and --json - both on stdout"
t_done
