#!/usr/bin/env bash
# mstore channel CHANNEL end to end, with the real binary on real stores:
# a Maildir++ tree <-> an mbox directory, a Maildir <-> an hMailServer
# account on the test's database, and a mailsync local store (no kind) of
# a Maildir and an mbox mailbox.  First sync both ways, new and deleted
# messages on each side, -n then a normal run (no resurrection), flags,
# messages without Message-ID, -s/--dry-run writing nothing, the diff, the
# brake, --undo, msinfo seeding, configuration errors.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

S=$T_TMP/sides
MD=$S/md            # kind maildir, maildir++
MB=$S/mb            # kind mbox
mkdir -p "$MD"/{cur,new,tmp} "$MD/.Sub"/{cur,new,tmp} "$MB"
CONF=$T_TMP/channels.conf

# --- helpers ------------------------------------------------------------------------
n=0
md_msg() { # md_msg MAILDIR SUBJECT [MSGID] [FLAGS]: a message in cur/ (new/ without flags)
	local dir=$1 subj=$2 id=${3:-} flags=${4:-} f
	n=$((n + 1))
	if [ -n "$flags" ]; then f=$dir/cur/$((1700000000 + n)).M$n.host:2,$flags; else f=$dir/new/$((1700000000 + n)).M$n.host; fi
	{ printf 'From: a@example.org\nDate: Mon, 01 Jan 2024 00:00:%02d +0000\nSubject: %s\n' $((n % 60)) "$subj"
	  [ -n "$id" ] && printf 'Message-ID: <%s>\n' "$id"
	  printf '\nbody of %s\n' "$subj"; } > "$f"
}
mb_msg() { # mb_msg FILE SUBJECT [MSGID]: a message appended to an mbox
	{ [ -s "$1" ] && printf '\n'
	  printf 'From b@example.org Mon Jan  1 00:00:00 2024\nFrom: b@example.org\nSubject: %s\n' "$2"
	  [ -n "${3:-}" ] && printf 'Message-ID: <%s>\n' "$3"
	  printf '\nbody of %s\n' "$2"; } >> "$1"
}
mb_drop() { # mb_drop FILE SUBJECT: remove that message from the mbox
	awk -v s="Subject: $2" 'function flush() { if (!drop) printf "%s", buf; buf = ""; drop = 0 }
		/^From / { flush() } { buf = buf $0 "\n"; if ($0 == s) drop = 1 } END { flush() }' "$1" > "$1.tmp" &&
		mv "$1.tmp" "$1"
}
mb_header() { # mb_header FILE SUBJECT: the header section of that message
	awk -v RS= -v s="$2" '/^From / && ($0 ~ ("\nSubject: " s "(\n|$)"))' "$1"
}
md_subjects() { find "$1/cur" "$1/new" -type f -exec grep -h '^Subject:' {} + 2>/dev/null | sort; }
mb_subjects() { grep -h '^Subject:' "$1" 2>/dev/null | sort; }
md_count() { find "$1/cur" "$1/new" -type f | wc -l; }
mb_count() { grep -c '^From ' "$1" 2>/dev/null || true; }
tree_sum() { (cd "$1" && find . -print0 | LC_ALL=C sort -z | xargs -0 -I{} sh -c 'if [ -f "{}" ]; then sha256sum "{}"; else echo "{}"; fi') | sha256sum; }
ch() { mst channel -f "$CONF" "$@"; }
run_id() { sed -n 's/.*mstore channel --undo \([^ ]*\) .*/\1/p' "$T_TMP/out" | tail -1; }

# --- the stores ------------------------------------------------------------------------
md_msg "$MD" m1 m1@x S
md_msg "$MD" m2 m2@x S
md_msg "$MD" m3 m3@x S
md_msg "$MD" noid-a          # two messages without Message-ID (mailsync keeps one)
md_msg "$MD" noid-b
md_msg "$MD/.Sub" sub1 sub1@x S
mb_msg "$MB/INBOX" b1 b1@x
mb_msg "$MB/INBOX" noid-c
mb_msg "$MB/Other" o1 o1@x

URL=$(t_new_db chan)
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
mst init "$URL" --data "$D"; expect_ok "init"
M domain add example.com; expect_ok "domain"
M account add ann@example.com; expect_ok "account"
MD2=$S/md2
mkdir -p "$MD2"/{cur,new,tmp} "$MD2/.Lists"/{cur,new,tmp}
md_msg "$MD2" h1 h1@x S
md_msg "$MD2" h2 h2@x
md_msg "$MD2" h3-noid
md_msg "$MD2/.Lists" l1 l1@x FS

cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store mb { kind mbox path $MB }
channel c md mb { }
store md2 { kind maildir path $MD2 }
store hm { kind hmailserver db $URL data $D account ann@example.com }
channel h md2 hm { }
store local { pat Mail/* prefix Mail/ }
store mb3 { kind mbox path $S/mb3 }
channel l local mb3 { }
store imapper { kind imap host localhost user u passfile /dev/null }
channel i md imapper { }
CONF
q() { t_sql "$URL" "$1"; }
hm_count() { q "SELECT COUNT(*) FROM hm_messages m JOIN hm_accounts a ON a.accountid = m.messageaccountid WHERE a.accountaddress = 'ann@example.com'"; }
hm_subjects() { find "$D/example.com/ann" -name '*.eml' -exec grep -h '^Subject:' {} + 2>/dev/null | tr -d '\r' | sort; }

# --- Maildir <-> mbox: the first sync copies everything both ways -----------------------------
ch c; expect_ok "first sync"
expect_eq "$(md_count "$MD")" 7 "Maildir INBOX: its 5 and the mbox's 2"
expect_eq "$(mb_count "$MB/INBOX")" 7 "mbox INBOX: its 2 and the Maildir's 5"
expect_eq "$(md_subjects "$MD")" "$(mb_subjects "$MB/INBOX")" "the same messages on both sides (subjects)"
expect_eq "$(grep -h '^Message-ID:' "$MB/INBOX" | sort | tr -d '\n')" \
	"$(find "$MD/cur" "$MD/new" -type f -exec grep -h '^Message-ID:' {} + | sort | tr -d '\n')" "the same Message-IDs"
grep -q '^Subject: noid-a$' "$MB/INBOX" && grep -q '^Subject: noid-b$' "$MB/INBOX" && grep -q '^Subject: noid-c$' <(md_subjects "$MD") ||
	t_fail "every message without Message-ID synchronized: $(mb_subjects "$MB/INBOX")"
[ -f "$MB/Sub" ] && expect_eq "$(mb_subjects "$MB/Sub")" "Subject: sub1" "Sub created on the mbox side"
[ -d "$MD/.Other/cur" ] && expect_eq "$(md_subjects "$MD/.Other")" "Subject: o1" "Other created on the Maildir side"
# bytes: a body copied from the Maildir is in the mbox unchanged
grep -q '^body of m2$' "$MB/INBOX" || t_fail "m2's body in the mbox"
mb_header "$MB/INBOX" m1 | grep -q '^Status: R' || t_fail "m1's \\Seen copied: $(mb_header "$MB/INBOX" m1)"
expect_out_contains "channel c: md: 3 copied" "the summary counts the copies to md"
[ -f "$XDG_STATE_HOME/mstore/channels/c.state" ] || t_fail "the state file is STATE/channels/c.state"

ch c; expect_ok "second run"
expect_out_contains "md: 0 copied, 0 deleted" "nothing to do"
expect_out_contains "mb: 0 copied, 0 deleted" "nothing to do on mb"

# --- new on each side, deletion on each side ------------------------------------------------------
md_msg "$MD" m4 m4@x
mb_msg "$MB/INBOX" b2 b2@x
ch c; expect_ok "new on each side"
expect_eq "$(md_count "$MD"):$(mb_count "$MB/INBOX")" "9:9" "each new message copied"
rm "$(grep -l '^Subject: m1$' "$MD"/cur/*)"
mb_drop "$MB/INBOX" b1
ch c; expect_ok "a deletion on each side"
expect_eq "$(md_count "$MD"):$(mb_count "$MB/INBOX")" "7:7" "both deletions propagated"
mb_subjects "$MB/INBOX" | grep -q 'm1$' && t_fail "m1 still in the mbox"
md_subjects "$MD" | grep -q 'b1$' && t_fail "b1 still in the Maildir"
expect_out_contains "mstore channel --undo" "the summary names the undo command"
RUN1=$(run_id)

# --- --undo restores what the run deleted ------------------------------------------------------------
[ -n "$RUN1" ] || t_fail "a run id in: $(t_out)"
ch --undo "$RUN1" c; expect_ok "undo"
expect_out_contains "2 messages restored" "both deleted messages restored"
mb_subjects "$MB/INBOX" | grep -q 'm1$' || t_fail "m1 back in the mbox"
md_subjects "$MD" | grep -q 'b1$' || t_fail "b1 back in the Maildir"
ch --undo "$RUN1" c; expect_eq "$T_RC" 2 "a second undo of the same run has no journal"
# what undo restored is new to the channel: the next run copies it back
ch c; expect_ok "after undo"
expect_eq "$(md_count "$MD"):$(mb_count "$MB/INBOX")" "9:9" "restored messages on both sides again"

# --- -n keeps deletions pending; the next run does not resurrect them -----------------------------
rm "$(grep -l '^Subject: m2$' "$MD"/cur/*)"
ch -n c; expect_ok "-n"
mb_subjects "$MB/INBOX" | grep -q 'm2$' || t_fail "-n: m2 not deleted from the mbox"
expect_out_contains "1 pending" "-n: the deletion is pending"
ch c; expect_ok "a normal run after -n"
md_subjects "$MD" | grep -q 'm2$' && t_fail "m2 resurrected in the Maildir"
mb_subjects "$MB/INBOX" | grep -q 'm2$' && t_fail "the pending deletion of m2 carried out by the run without -n"
RUN2=$(run_id)

# --- the quarantine's retention: runs older than quarantinedays (30) are pruned at the next sync ---------
# The clock is faked through the journals' mtime, which is what a run's age is read from.
Q=$XDG_STATE_HOME/mstore/channels/c.quarantine
[ -n "$RUN2" ] && [ -f "$Q/$RUN2/journal" ] && [ -f "$Q/$RUN1/journal.undone" ] ||
	t_fail "two quarantined runs, $RUN1 (undone) and $RUN2: $(ls -R "$Q" 2>&1 | head -20)"
touch -d '31 days ago' "$Q/$RUN1/journal.undone"
touch -d '29 days ago' "$Q/$RUN2/journal"
ch --dry-run c; expect_ok "--dry-run with an old quarantined run"
expect_out_contains "would prune quarantined run $RUN1 (older than 30 days)" "--dry-run names the run it would prune"
grep -qF "$RUN2 (older" "$T_TMP/out" && t_fail "--dry-run would prune the younger run $RUN2"
[ -d "$Q/$RUN1" ] || t_fail "--dry-run pruned $RUN1"
ch --quarantine-days 0 c; expect_ok "--quarantine-days 0 keeps every run"
[ -d "$Q/$RUN1" ] || t_fail "--quarantine-days 0 pruned $RUN1"
ch c; expect_ok "a sync prunes the old run"
expect_out_contains "pruned quarantined run $RUN1 (older than 30 days)" "the summary names the pruned run"
[ -e "$Q/$RUN1" ] && t_fail "$RUN1 still in the quarantine"
[ -f "$Q/$RUN2/journal" ] || t_fail "the younger run $RUN2 was pruned too"
ch --undo "$RUN1" c; expect_eq "$T_RC" 2 "--undo of a pruned run"
expect_err_contains "the run was pruned from the quarantine on" "--undo of a pruned run says so"
sed -i 's/^channel c md mb { }$/channel c md mb { quarantinedays 20 }/' "$CONF"
ch c; expect_ok "the channel's quarantinedays"
expect_out_contains "pruned quarantined run $RUN2 (older than 20 days)" "quarantinedays 20 prunes the 29-day-old run"
sed -i 's/^channel c md mb { quarantinedays 20 }$/channel c md mb { }/' "$CONF"

# --- -D removes folders empty on both sides ---------------------------------------------------------
mkdir -p "$MD/.Empty"/{cur,new,tmp}
ch c; expect_ok "an empty folder"
[ -f "$MB/Empty" ] || t_fail "Empty created in the mbox directory"
ch -D c; expect_ok "-D"
[ -e "$MB/Empty" ] && t_fail "-D: Empty still in the mbox directory"
[ -e "$MD/.Empty" ] && t_fail "-D: .Empty still in the Maildir"
[ -f "$MB/Sub" ] || t_fail "-D left a folder with messages"
# a message an MDA appends after the check that the mbox is empty stays: the file goes only
# when it is still empty under the dot-lock and the fcntl lock every writer takes
mkdir -p "$MD/.Late"/{cur,new,tmp}
ch c; expect_ok "another empty folder"
printf 'From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nSubject: late\nMessage-ID: <late@x>\n\nlate\n\n' >"$T_TMP/late.mbox"
MSTORE_TEST_HOOK_AT=mbox-delete-checked MSTORE_TEST_HOOK_CMD="cat '$T_TMP/late.mbox' >>'$MB/Late'" ch -D c
expect_rc 1 "-D: an mbox that got a message after its check is not deleted"
expect_err_contains "one arrived meanwhile): not deleted" "the error says why"
expect_eq "$(grep -c '^Message-ID: <late@x>' "$MB/Late")" 1 "the late message is still in the mbox"
ch c; expect_ok "the next run"
expect_eq "$(grep -rl '^Message-ID: <late@x>' "$MD/.Late" | wc -l)" 1 "and reaches the Maildir"
rm -f "$MD/.Late"/cur/* "$MD/.Late"/new/*; ch c; ch -D c; expect_ok "Late removed again (the brake's cases below count the folders)"
[ -e "$MB/Late" ] && t_fail "-D: Late still in the mbox directory"

# --- flags ---------------------------------------------------------------------------------------
f=$(grep -l '^Subject: m3$' "$MD"/cur/*)
mv "$f" "${f%:2,*}:2,FS"
ch c; expect_ok "a flag change"
mb_header "$MB/INBOX" m3 | grep -q '^X-Status: .*F' || t_fail "\\Flagged propagated to the mbox: $(mb_header "$MB/INBOX" m3)"
expect_out_contains "1 flags" "the flag change counted"

# --- -s, --dry-run and the diff write nothing ------------------------------------------------------------
md_msg "$MD" m5 m5@x
mb_drop "$MB/INBOX" b2
before="$(tree_sum "$MD") $(tree_sum "$MB") $(tree_sum "$XDG_STATE_HOME")"
ch -s c; expect_ok "-s"
expect_out_contains "Only simulating" "-s says so"
expect_out_contains "would write on mb: " "-s prints what it would write"
ch --dry-run c; expect_ok "--dry-run"
expect_out_contains "would write on md: " "--dry-run prints what it would write on md"
ch c md; expect_ok "the diff of md"
expect_out_contains "folder INBOX: 1 new on md, 0 deleted on md since the last sync, 9 currently at md" "diff: new on md"
ch c mb; expect_ok "the diff of mb"
expect_out_contains "folder INBOX: 0 new on mb, 1 deleted on mb since the last sync" "diff: deleted on mb"
expect_out_contains "store mb: 0 new, 1 deleted since the last sync of channel c" "diff: the store's totals"
after="$(tree_sum "$MD") $(tree_sum "$MB") $(tree_sum "$XDG_STATE_HOME")"
expect_eq "$after" "$before" "-s, --dry-run and the diff changed nothing in either store or the state"
ch --json "$T_TMP/r.json" c; expect_ok "sync with --json FILE"
grep -q '"channel": *"c"' "$T_TMP/r.json" && grep -q '"exit_code": *0' "$T_TMP/r.json" || t_fail "the JSON report: $(cat "$T_TMP/r.json")"
mb_subjects "$MB/INBOX" | grep -q 'm5$' || t_fail "m5 copied by the real run"
ch --json c; expect_ok "--json on stdout"
expect_eq "$(head -c1 "$T_TMP/out")" "{" "stdout holds the JSON alone"
grep -q '"mode": *"sync"' "$T_TMP/out" || t_fail "the JSON report on stdout: $(t_out)"
expect_err_contains "channel c: md: 0 copied" "the text summary goes to stderr then"

# --- the brake: the Maildir's INBOX emptied, then the whole Maildir -----------------------------------------
mbsum=$(tree_sum "$MB")
mkdir -p "$T_TMP/saved"/{i,s,o}
mv "$MD"/cur/* "$T_TMP/saved/i/"; mv "$MD"/new/* "$T_TMP/saved/i/" 2>/dev/null
ch c; expect_rc 1 "an emptied Maildir INBOX is braked"
expect_out_contains "brake: box INBOX on side mb: 8 of its 8 messages would be deleted (more than 20%)" "the share rule says why"
expect_out_contains "nothing was written" "the refusal is said"
expect_eq "$(tree_sum "$MB")" "$mbsum" "nothing deleted from the mbox"
mv "$MD"/.Sub/cur/* "$T_TMP/saved/s/"; mv "$MD"/.Other/cur/* "$T_TMP/saved/o/" 2>/dev/null; mv "$MD"/.Other/new/* "$T_TMP/saved/o/" 2>/dev/null
ch --max-delete 100 c; expect_rc 1 "an empty side is braked even with --max-delete 100"
expect_out_contains "brake: side md looks empty" "the empty-side brake says why"
expect_eq "$(tree_sum "$MB")" "$mbsum" "still nothing deleted from the mbox"
mv "$T_TMP/saved/i"/* "$MD/cur/"; mv "$T_TMP/saved/s"/* "$MD/.Sub/cur/"; mv "$T_TMP/saved/o"/* "$MD/.Other/cur/"
ch c; expect_ok "the Maildir back: nothing to do"
expect_out_contains "md: 0 copied, 0 deleted" "the brake left the state as it was"
expect_out_contains "mb: 0 copied, 0 deleted" "... on both sides"
mv "$MB/Sub" "$T_TMP/saved/Sub"
mdsum=$(tree_sum "$MD")
ch c; expect_rc 1 "a vanished folder is braked"
expect_out_contains "brake: box Sub vanished from side mb" "the vanished folder named"
expect_eq "$(tree_sum "$MD")" "$mdsum" "nothing deleted from the Maildir"
# accepted with --force-deletions: the Maildir's copies go to the quarantine and the
# folder, empty then, is removed from both sides (not made again where it vanished)
nsub=$(md_count "$MD/.Sub")
ch --force-deletions c; expect_ok "the vanished folder accepted with --force-deletions"
expect_out_contains "folder Sub removed from md (it vanished from the other side: --force-deletions)" "the removal is said"
[ -e "$MD/.Sub" ] && t_fail "--force-deletions left .Sub in the Maildir"; t_ok
[ -e "$MB/Sub" ] && t_fail "--force-deletions made Sub again in the mbox directory"; t_ok
RUN=$(run_id)
ch c; expect_ok "the next run"
expect_out_contains "md: 0 copied, 0 deleted" "the next run has nothing to do on md"
if [ -e "$MB/Sub" ] || [ -e "$MD/.Sub" ]; then t_fail "the next run brought Sub back"; else t_ok; fi
# the quarantine's undo puts the messages back, in the folder made again for them
ch --undo "$RUN" c; expect_ok "--undo of the forced run"
expect_eq "$(md_count "$MD/.Sub")" "$nsub" "Sub's messages back in the Maildir"
ch c; expect_ok "the run after the undo"
expect_eq "$(mb_subjects "$MB/Sub")" "$(mb_subjects "$T_TMP/saved/Sub")" "and copied to the mbox again"
rm "$T_TMP/saved/Sub"

# --- configuration errors, an IMAP store --------------------------------------------------------------
printf 'store x { kind maildir bogus 1 }\n' > "$T_TMP/bad.conf"
mst channel -f "$T_TMP/bad.conf" x; expect_eq "$T_RC" 2 "a configuration error exits 2"
expect_err_contains "bad.conf:1" "the error names FILE:LINE"
ch i; expect_eq "$T_RC" 2 "an IMAP store with an empty passfile exits 2 (test_channel_imap.sh runs IMAP)"
expect_err_contains "passfile /dev/null is empty" "the IMAP store's message names the passfile"
ch -t sha1 c; expect_eq "$T_RC" 2 "-t takes msgid or md5"

# --- Maildir <-> hMailServer on the test's database -------------------------------------------------------
ch h; expect_ok "first sync into the hMailServer account"
expect_eq "$(hm_count)" 4 "four messages in the account"
expect_eq "$(hm_subjects)" "$(md_subjects "$MD2"; md_subjects "$MD2/.Lists")" "the same messages (subjects, both folders)"
expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders WHERE foldername='Lists'")" 1 "folder Lists created"
hmsum=$(q "SELECT messagefilename, messageflags FROM hm_messages ORDER BY messagefilename" | sha256sum)
ch -s h; expect_ok "-s on the hMailServer channel"
expect_eq "$(q "SELECT messagefilename, messageflags FROM hm_messages ORDER BY messagefilename" | sha256sum)" "$hmsum" "-s wrote nothing to the database"
rm "$(grep -l '^Subject: h2$' "$MD2"/new/* "$MD2"/cur/* 2>/dev/null | head -1)"
f=$(grep -l '^Subject: h1$' "$MD2"/cur/*)
mv "$f" "${f%:2,*}:2,FS"
ch h; expect_ok "a deletion and a flag change toward the account"
expect_eq "$(hm_count)" 3 "h2 deleted from the account"
hm_subjects | grep -q 'h2$' && t_fail "h2's file still in the data directory"
# hMailServer's bits: 1 \Seen, 4 \Flagged; h1 now has both, as l1 had from the start
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE (messageflags & 5) = 5")" 2 "\\Flagged added to h1 in the account"
# a message delivered to the account comes to the Maildir
mkdir -p "$D/example.com/ann/B1"
printf 'From: c@x.org\r\nMessage-ID: <hnew@x>\r\nSubject: hnew\r\n\r\nbody\r\n' > "$D/example.com/ann/B1/{B1000000-0000-0000-0000-000000000001}.eml"
touch -d '2021-03-04 05:06:07' "$D/example.com/ann/B1/{B1000000-0000-0000-0000-000000000001}.eml"  # settled: not deferred
M sync; expect_ok "mstore sync imports a delivered file"
expect_eq "$(hm_count)" 4 "the delivered file is in the account"
ch h; expect_ok "new on the account"
md_subjects "$MD2" | grep -q 'hnew$' || t_fail "hnew copied to the Maildir: $(md_subjects "$MD2")"
expect_eq "$(hm_count)" 4 "nothing copied twice into the account"
ch h; expect_ok "a run with nothing to do"
expect_out_contains "md2: 0 copied, 0 deleted, 0 pending, 0 flags" "nothing to do on md2"
expect_out_contains "hm: 0 copied, 0 deleted, 0 pending, 0 flags" "nothing to do on hm"

# --- a mailsync local store: a Maildir and an mbox below Mail/ --------------------------------------------
L=$HOME/Mail
mkdir -p "$L/inbox-md"/{cur,new,tmp} "$S/mb3"
md_msg "$L/inbox-md" lm1 lm1@x S
md_msg "$L/inbox-md" lm2-noid
mb_msg "$L/archive" la1 la1@x
mb_msg "$S/mb3/fresh" f1 f1@x
# mailsync's msinfo: la2 was in sync at mailsync's last run and was deleted from mb3 since
mb_msg "$L/archive" la2 la2@x
mkdir -p "$S/mb3" && mb_msg "$S/mb3/archive" la1 la1@x
printf 'From mailsync Mon Jan  1 00:00:00 2024\nFrom: mailsync\nSubject: l\n\narchive\n<la1@x>\n<la2@x>\n' > "$HOME/.msinfo"
sed -i 's/^channel l local mb3 { }/channel l local mb3 { msinfo .msinfo }/' "$CONF"
ch l; expect_ok "the local store's first sync"
expect_out_contains "2 identities taken from mailsync's msinfo" "msinfo seeded the first run"
mb_subjects "$L/archive" | grep -q 'la2$' && t_fail "la2, deleted on mb3 since mailsync's run, was not deleted from the local mbox"
expect_eq "$(mb_count "$L/archive")" 1 "the local mbox keeps la1 once"
expect_eq "$(mb_subjects "$S/mb3/inbox-md")" "$(md_subjects "$L/inbox-md")" "the local Maildir copied to an mbox file"
[ -f "$L/fresh" ] && expect_eq "$(mb_subjects "$L/fresh")" "Subject: f1" "a folder new on mb3 is created as an mbox file in the local store"
ch -m local; expect_ok "-m lists a local store's messages, Maildir and mbox"
expect_out_contains "<la1@x>" "the local mbox's message listed"
expect_out_contains "<lm1@x>" "the local Maildir's message listed"
md_msg "$L/inbox-md" lm3 lm3@x
ch l; expect_ok "new in the local Maildir"
mb_subjects "$S/mb3/inbox-md" | grep -q 'lm3$' || t_fail "lm3 copied"

t_done
