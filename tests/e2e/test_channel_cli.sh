#!/usr/bin/env bash
# mstore channel's front door: listing the folders and messages of an
# hmailserver store and of a mailsync local store, patterns and prefixes,
# --json, exit codes, configuration errors with FILE:LINE, and the real
# mailsync reading the same configuration (grammar compatibility).
# SQLite only: the hmailserver store is here to be listed, not to test a
# database.
. "$MSTORE_SRC/tests/lib/common.sh"
export TZ=UTC
MSTORE_TEST_BACKEND=sqlite

URL=sqlite:$T_TMP/store.db
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
q() { t_sql "$URL" "$1"; }

# --- an hmailserver store: INBOX with four messages, Lists and Lists.dev --------
mst init "$URL" --data "$D"; expect_ok "init"
M domain add example.com; expect_ok "domain"
M account add ann@example.com; expect_ok "account"
old='2021-03-04 05:06:07'
msg() { # msg NAME HEADERS...: a message file in ann's folder
	local f=$D/example.com/ann/$1; shift
	mkdir -p "$(dirname "$f")"
	{ for h in "$@"; do printf '%s\r\n' "$h"; done; printf '\r\nbody\r\n'; } > "$f"
	touch -d "$old" "$f"
}
msg "A1/{A1000000-0000-0000-0000-000000000001}.eml" "From: a@x.org" "Message-ID: <one@x.org>" "Date: Mon, 01 Jan 2018 00:00:00 +0000"
msg "A2/{A2000000-0000-0000-0000-000000000002}.eml" "From: b@x.org" "Message-ID: <dup@x.org>" "Date: Tue, 02 Jan 2018 00:00:00 +0000"
msg "A3/{A3000000-0000-0000-0000-000000000003}.eml" "From: c@x.org" "Message-ID: <dup@x.org>" "Date: Wed, 03 Jan 2018 00:00:00 +0000"
msg "A4/{A4000000-0000-0000-0000-000000000004}.eml" "From: d@x.org" "Subject: no id" "Date: Thu, 04 Jan 2018 00:00:00 +0000"
M sync; expect_ok "sync of four messages"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 4 "four messages imported"
aid=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress='ann@example.com'")
q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($aid, -1, 'Lists', 1, '2021-01-01 00:00:00', 0)"
lists=$(q "SELECT folderid FROM hm_imapfolders WHERE foldername='Lists'")
q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($aid, $lists, 'dev', 1, '2021-01-01 00:00:00', 0)"
# one message \Seen and \Flagged (hMailServer's bits 1 and 4)
q "UPDATE hm_messages SET messageflags = 5 WHERE messagefilename LIKE '%A1000000%'"

# --- a mailsync local store --------------------------------------------------------
L=$HOME/Mail
mkdir -p "$L/lists" "$L/md/cur" "$L/md/new" "$L/md/tmp" "$L/sub"
printf 'From a@b Mon Jan  1 00:00:00 2024\nMessage-ID: <m1@x>\n\nhi\n' > "$L/inbox-archive"
: > "$L/empty"
: > "$L/lists/dev"
echo "not mail" > "$L/notes.txt"
mkdir -p "$HOME/Other"; : > "$HOME/Other/x"

CONF=$T_TMP/channels.conf
cat > "$CONF" <<CONF
# mstore's keywords and mailsync's
store hm {
  kind hmailserver
  db $URL data $D account ann@example.com
  pat *
}
store hmtop { kind hmailserver db $URL data $D account ann@example.com pat % }
store hmlists { kind hmailserver db $URL data $D account ann@example.com pat Lists.* prefix Lists. }
store local { pat Mail/* prefix Mail/ }
channel ch hm local { msinfo .mailsync-msinfo maxdelete 20% }
CONF

mst channel -f "$CONF" hm; expect_ok "list the hmailserver store"
expect_eq "$(t_out)" $'INBOX\nLists\nLists/dev' "folders, '.' paired as '/'"
mst channel -f "$CONF" hmtop; expect_ok "pat %"
expect_eq "$(t_out)" $'INBOX\nLists' "% stays on the top level"
mst channel -f "$CONF" hmlists; expect_ok "pat and prefix"
expect_eq "$(t_out)" "dev" "prefix removed"
mst channel -f "$CONF" local; expect_ok "list the local store"
expect_eq "$(t_out)" $'empty\ninbox-archive\nlists/dev\nmd' "local mailboxes: mbox files and Maildirs, below Mail only"
expect_err_contains "Mail/notes.txt: not listed: not a mailbox (neither Maildir nor mbox)" "a file that is no mailbox is named"

# a message file a Maildir store cannot name: named, and the listing is
# partial (exit 1) as a sync of the store would be
mkdir -p "$T_TMP/skl/cur" "$T_TMP/skl/new" "$T_TMP/skl/tmp"
printf 'Subject: x\n\nb\n' >"$T_TMP/skl/cur/1.a"$'\n'"b.h:2,S"
printf 'store skl { kind maildir path %s }\n' "$T_TMP/skl" >"$T_TMP/skl.conf"
mst channel -f "$T_TMP/skl.conf" -m skl; expect_rc 1 "listing a store with an entry it cannot name"
expect_err_contains 'cur/1.a\x0ab.h:2,S: not listed: a control character in its name' "the entry is named, escaped"

# --- messages ------------------------------------------------------------------------
mst channel -f "$CONF" -m hm; expect_ok "list messages"
t_out > "$T_TMP/m.txt"
grep -A5 '^INBOX$' "$T_TMP/m.txt" > "$T_TMP/inbox.txt"
expect_eq "$(grep -c '^  [0-9]' "$T_TMP/inbox.txt")" 4 "four message lines under INBOX"
grep -q '^  1  *FS  *2018-01-01T00:00:00Z .*<one@x.org>$' "$T_TMP/inbox.txt" || t_fail "uid 1, flags FS, its date, its Message-ID: $(cat "$T_TMP/inbox.txt")"
expect_eq "$(grep -c '<dup@x.org>  (duplicate)$' "$T_TMP/inbox.txt")" 2 "both copies of a duplicate Message-ID marked"
grep -q '^  4  *-  .* -$' "$T_TMP/inbox.txt" || t_fail "the message without Message-ID shows '-': $(cat "$T_TMP/inbox.txt")"
size=$(stat -c %s "$D/example.com/ann/A1/{A1000000-0000-0000-0000-000000000001}.eml")
grep -q "^  1 .* $size  <one@x.org>" "$T_TMP/inbox.txt" || t_fail "size $size of message 1"

mst channel -f "$CONF" -M --json "$T_TMP/m.json" hm; expect_ok "--json FILE"
[ -s "$T_TMP/out" ] && t_fail "--json FILE printed text too: $(t_out)"
expect_eq "$(jq -r '.boxes | map(.name) | join(",")' "$T_TMP/m.json")" "INBOX,Lists,Lists/dev" "JSON folders"
expect_eq "$(jq -r '.boxes[0].messages | length' "$T_TMP/m.json")" 4 "JSON messages"
expect_eq "$(jq -r '[.boxes[0].messages[] | select(.duplicate)] | length' "$T_TMP/m.json")" 2 "JSON duplicates"
expect_eq "$(jq -r '.boxes[0].messages[3].message_id' "$T_TMP/m.json")" null "JSON: no Message-ID is null"
expect_eq "$(jq -r '.boxes[0].messages[0].flags' "$T_TMP/m.json")" FS "JSON flags"
expect_eq "$(jq -r '.boxes[2].store_name' "$T_TMP/m.json")" "Lists.dev" "JSON: the store's own name"
expect_eq "$(jq -r '.exit_code' "$T_TMP/m.json")" 0 "JSON exit code"
mst channel -f "$CONF" --json hm; expect_ok "--json STORE: on stdout"
expect_eq "$(jq -r '.store' "$T_TMP/out")" hm "--json followed by the store's name"
mst channel -f "$CONF" --json - hm; expect_ok "--json - STORE: on stdout, as diff and check take it"
expect_eq "$(t_out | jq -r .store)" hm "--json -: the JSON on stdout"
mst channel -f "$CONF" --json hmtop hm; expect_rc 2 "--json NAME NAME: two stores, not a file named hmtop"
[ -e hmtop ] && t_fail "--json NAME wrote a file named after the store"

# --- exit codes --------------------------------------------------------------------
mst channel -f "$CONF" nosuch; expect_rc 2 "unknown name"
expect_err_contains "has no store or channel named \"nosuch\"" "unknown name named"
mst channel -f "$CONF"; expect_rc 2 "no name"
mst channel -f "$CONF" hm local; expect_rc 2 "two stores"
mst channel -f "$T_TMP/none.conf" hm; expect_rc 2 "missing configuration file"
expect_err_contains "none.conf" "the missing file named"
cat > "$T_TMP/broken-db.conf" <<CONF
store gone { kind hmailserver db sqlite:$T_TMP/nonexistent/x.db data $D account ann@example.com }
CONF
mst channel -f "$T_TMP/broken-db.conf" gone; expect_rc 2 "a store that cannot be opened"
expect_err_contains "store gone cannot be opened" "the store named"
cat > "$T_TMP/noacct.conf" <<CONF
store nobody { kind hmailserver db $URL data $D account nobody@example.com }
CONF
mst channel -f "$T_TMP/noacct.conf" nobody; expect_rc 2 "an account that does not exist"
# the default file: ~/.mailsync
cp "$CONF" "$HOME/.mailsync"
mst channel hm; expect_ok "~/.mailsync by default"
mkdir -p "$HOME/.config/mstore"
printf 'store other { kind hmailserver db %s data %s account ann@example.com pat Lists }\n' "$URL" "$D" > "$HOME/.config/mstore/channels.conf"
mst channel other; expect_ok "channels.conf first when it exists"
expect_eq "$(t_out)" "Lists" "channels.conf's store"
mst channel hm; expect_rc 2 "~/.mailsync not read when channels.conf exists"
rm -rf "$HOME/.config/mstore" "$HOME/.mailsync"

# --- configuration errors: exit 2 and FILE:LINE ---------------------------------------
bad() { # bad DESCRIPTION EXPECTED-MESSAGE: the config on stdin
	cat > "$T_TMP/bad.conf"
	mst channel -f "$T_TMP/bad.conf" hm; expect_rc 2 "$1"
	expect_err_contains "$T_TMP/bad.conf:$2" "$1"
}
printf 'store hm { kind hmailserver\n  db x data y account z\n  colour blue\n}\n' | bad "unknown keyword" '3: store hm: expected a keyword'
printf 'store hm { pat x }\nstore hm { pat y }\n' | bad "duplicate name" '2: the name "hm" is already used by the store at line 1'
printf 'store hm { pat x }\n\nchannel c hm missing { msinfo m }\n' | bad "unknown store" '3: channel c: expected the name of a store, found "missing"'
printf 'store hm {\n pat "Mail/x\n}\n' | bad "unterminated quote" '4: unterminated quoted string: the '"'"'"'"'"' opened at line 2'
printf 'store hm {\n pat x\n' | bad "unterminated brace" '3: store hm: expected "}" (the block opened at line 1 is not closed)'
printf 'store hm { kind maildir }\n' | bad "missing path" '1: store hm: kind maildir needs path DIR'

# --- help and manual ----------------------------------------------------------------
mst help channel; expect_ok "help"
for w in "store NAME {" "channel NAME STORE1 STORE2 {" "sizelimit BYTES" "maxdelete PERCENT" "kind maildir|mbox|hmailserver|imap" \
	"Exit codes: 0 done; 1 something was left undone" "-m STORE"; do
	expect_out_contains "$w" "help mentions $w"
done
grep -q -- "--db URL" "$T_TMP/out" && t_fail "channel's help lists the common options it does not take"

# --- what a Maildir side cannot name is reported, never left out in silence ------------
# A folder whose name holds a control character and a dot file in cur/:
# the run copies the rest, names both (escaped), exits 1, and leaves them.
K=$T_TMP/skip
mkdir -p "$K/a"/{cur,new,tmp} "$K/a/.Bad$(printf '\t')Name"/{cur,new,tmp} "$K/b"
printf 'From: a@x\nMessage-ID: <k1@x>\n\nbody\n' > "$K/a/cur/1700000000.M1.h:2,S"
printf 'From: a@x\nMessage-ID: <k2@x>\n\nbody\n' > "$K/a/.Bad$(printf '\t')Name/cur/1700000000.M2.h:2,"
printf 'From: a@x\nMessage-ID: <k3@x>\n\nbody\n' > "$K/a/cur/.1700000000.M3.h:2,"
printf 'store ka { kind maildir path %s/a }\nstore kb { kind mbox path %s/b }\nchannel kc ka kb { }\n' "$K" "$K" > "$K/conf"
mst channel -f "$K/conf" --state-dir "$K/st" kc; expect_rc 1 "a run that skipped a folder and a file exits 1"
expect_out_contains 'skipped on ka: .Bad\x09Name: a folder directory whose name is no box name' "the folder is named, escaped"
expect_out_contains 'skipped on ka: cur/.1700000000.M3.h:2,: a dot file' "the dot file is named"
expect_out_contains "kb: 1 copied" "the rest is copied"
[ -f "$K/a/cur/.1700000000.M3.h:2," ] && [ -d "$K/a/.Bad$(printf '\t')Name/cur" ] || t_fail "a skipped entry was touched"
mst channel -f "$K/conf" --state-dir "$K/st" --json - kc; expect_rc 1 "the rerun says it again"
expect_eq "$(t_out | jq -r '.skipped_folders[0][0]')" "$(printf '.Bad\tName'): a folder directory whose name is no box name" \
	"--json lists the skipped folder per side"

# --- the real mailsync reads the same grammar -------------------------------------------
. "$MSTORE_SRC/tests/lib/mailsync.sh"
if ! why=$(t_mailsync_usable); then
	echo "SKIPPED: $why"
	t_done
fi
MS=$T_TMP/mailsync.conf
cat > "$MS" <<'CONF'
# mailsync's grammar only: comments, escapes, one line or many
store local {
	pat Mail/*	# everything below Mail
	prefix Mail/
}
store other { pat Other/% prefix Other/ }
store spaced { pat My\ Mail/* prefix My\ Mail/ }
channel ch local other { msinfo .msinfo sizelimit 100000 }
CONF
mkdir -p "$HOME/My Mail"; : > "$HOME/My Mail/a b"
mst channel -f "$MS" spaced; expect_ok "escaped space"
expect_eq "$(t_out)" "a b" "an escaped space is part of the token"
t_run_mailsync -f "$MS" local > "$T_TMP/ms.out" 2>&1; rc=$?
expect_eq "$rc" 0 "mailsync reads the configuration"
grep -q Error "$T_TMP/ms.out" && t_fail "mailsync complained: $(cat "$T_TMP/ms.out")"
grep -v '^Listing store' "$T_TMP/ms.out" | grep -v '^$' | sort > "$T_TMP/ms.boxes"
mst channel -f "$MS" local; expect_ok "mstore reads the same configuration"
t_out | sort > "$T_TMP/mst.boxes"
[ -s "$T_TMP/ms.boxes" ] || t_fail "mailsync listed no folder (is it running in anonymous mode?)"
# c-client's LIST names every file and directory the pattern matches
# (Debian's c-client has no Maildir driver: a Maildir is a directory to it,
# its cur/new/tmp too); mstore lists the mailboxes among them.
expect_eq "$(comm -23 "$T_TMP/mst.boxes" "$T_TMP/ms.boxes")" "" "every folder mstore lists, mailsync lists"
expect_eq "$(comm -13 "$T_TMP/mst.boxes" "$T_TMP/ms.boxes" | tr '\n' ' ')" "lists md/cur md/new md/tmp notes.txt sub " \
	"what mailsync lists beside them: directories and a file that are no mailbox"
t_run_mailsync -f "$MS" other > "$T_TMP/ms.out" 2>&1
mst channel -f "$MS" other
expect_eq "$(t_out)" "$(grep -v '^Listing store' "$T_TMP/ms.out" | grep -v '^$' | sort)" "same folders for % as mailsync"
# and both refuse the same broken file
printf 'store local { pat x\n  colour blue\n}\n' > "$T_TMP/bad.conf"; chmod a+r "$T_TMP/bad.conf"
t_run_mailsync -f "$T_TMP/bad.conf" local > "$T_TMP/ms.out" 2>&1; rc=$?
expect_eq "$rc" 1 "mailsync refuses an unknown keyword"
# mailsync counts lines from 0: its "line 1" is the file's second line
grep -q 'While parsing line 1 at token "colour"' "$T_TMP/ms.out" || t_fail "mailsync's line: $(cat "$T_TMP/ms.out")"
mst channel -f "$T_TMP/bad.conf" local; expect_rc 2 "mstore refuses it too"
expect_err_contains "bad.conf:2: store local: expected a keyword" "at the same line"
# --- the progress bar: on a terminal (script gives the command one), never in a pipe or with -q/--json ---
P=$T_TMP/pb
mkdir -p "$P/md"/{cur,new,tmp} "$P/mb"
for i in $(seq 1 80); do printf 'From: a@x\nMessage-ID: <%d@pb>\nSubject: p%d\n\nbody\n' "$i" "$i" > "$P/md/new/1700000000.M$i.h"; done
printf 'store pmd { kind maildir path %s/md }\nstore pmb { kind mbox path %s/mb }\nchannel pc pmd pmb { }\n' "$P" "$P" > "$P/conf"
PCH="$MSTORE_BIN channel -f $P/conf --state-dir $P/st"
script -qec "$PCH pc" /dev/null > "$P/tty.out" 2>&1; expect_eq "$?" 0 "a sync on a terminal"
grep -aqF '80/80 messages, folder 1/1 INBOX <-> INBOX' "$P/tty.out" || t_fail "no progress bar on a terminal: $(head -c 400 "$P/tty.out" | cat -v)"
grep -aqF "$(printf '\r\033[K')folder INBOX <-> INBOX: pmd: 0 copied" "$P/tty.out" ||
	t_fail "the bar is not erased before the summary: $(head -c 600 "$P/tty.out" | cat -v)"
X
for i in $(seq 81 140); do printf 'From: a@x\nMessage-ID: <%d@pb>\nSubject: p%d\n\nbody\n' "$i" "$i" > "$P/md/new/1700000000.M$i.h"; done
mst channel -f "$P/conf" --state-dir "$P/st" pc; expect_ok "a sync in a pipe"
expect_out_contains "pmb: 60 copied" "60 more copied in a pipe"
grep -aq "$(printf '\r')" "$T_TMP/out" "$T_TMP/err" && t_fail "a progress bar in a pipe: $(cat -v "$T_TMP/err" | head -c 300)"
for i in $(seq 141 160); do printf 'From: a@x\nMessage-ID: <%d@pb>\nSubject: p%d\n\nbody\n' "$i" "$i" > "$P/md/new/1700000000.M$i.h"; done
script -qec "$PCH -q pc" /dev/null > "$P/q.out" 2>&1; expect_eq "$?" 0 "-q on a terminal"
grep -aqF 'messages, folder' "$P/q.out" && t_fail "-q drew a progress bar: $(cat -v "$P/q.out" | head -c 300)"
grep -aqF 'pmb: 20 copied' "$P/q.out" || t_fail "-q: the summary is still printed: $(cat -v "$P/q.out" | head -c 300)"
for i in $(seq 161 170); do printf 'From: a@x\nMessage-ID: <%d@pb>\nSubject: p%d\n\nbody\n' "$i" "$i" > "$P/md/new/1700000000.M$i.h"; done
script -qec "$PCH --json pc" /dev/null > "$P/j.out" 2>&1; expect_eq "$?" 0 "--json on a terminal"
grep -aqF 'messages, folder' "$P/j.out" && t_fail "--json drew a progress bar: $(cat -v "$P/j.out" | head -c 300)"

# --- create yes: a missing Maildir root is created (the driver's error
# for a missing root advises it, so the configuration must take it) ------
printf 'store nmd { kind maildir path %s/newmd create yes }\nstore pmb2 { kind mbox path %s/mb }\nchannel nc nmd pmb2 { }\n' "$P" "$P" > "$P/conf2"
mst channel -f "$P/conf2" -q nc; expect_ok "a channel whose Maildir root is missing, with create yes"
[ -d "$P/newmd/cur" ] || t_fail "create yes: no Maildir at $P/newmd"
[ "$(find "$P/newmd" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)" -gt 0 ] || t_fail "create yes: nothing copied into the new Maildir"
printf 'store nmd { kind maildir path %s/newmd2 }\nstore pmb2 { kind mbox path %s/mb }\nchannel nc nmd pmb2 { }\n' "$P" "$P" > "$P/conf3"
mst channel -f "$P/conf3" -q nc; expect_rc 2 "a missing Maildir root without create yes"
expect_err_contains "create yes" "the error says how to create it"
[ -e "$P/newmd2" ] && t_fail "without create yes the root was created"
t_done
