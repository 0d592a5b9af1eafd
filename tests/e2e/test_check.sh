#!/usr/bin/env bash
# mstore check: a Maildir tree and mbox files with each kind of defect
# planted, the exact findings, exit codes, --json read with jq, a clean
# store (exit 0, no finding), a hostile name escaped, an unreadable folder
# reported with the rest still checked, stores named in a channel
# configuration, nothing written, and the shared corpus read without a
# crash.  No database.
. "$MSTORE_SRC/tests/lib/common.sh"
export TZ=UTC
tab=$'\t'

tree_state() { (cd "$1" && find . -printf '%p %m %s %T@\n' | sort && find . -type f -exec sha256sum {} + | sort); }

# --- a Maildir++ tree with every Maildir defect ------------------------------------
M=$T_TMP/Maildir
mkdir -p "$M"/{cur,new,tmp} "$M"/.Lists/{cur,new,tmp} "$M/.Stray" "$M/$(printf '.evil\nname')"
msg() { printf 'From: a@example.org\n%s\n\nbody %s\n' "$2" "$3" > "$M/$1"; }
msg "cur/1000.A.host:2,S" "Message-ID: <a@x>" a
msg "cur/1001.B.host:2,"  "Message-ID: <a@x>" a              # the same message twice
msg "new/1002.C.host"     "Message-ID: <a@x>" other          # same Message-ID, other content
: > "$M/new/1003.D.host"                                      # 0 bytes
msg "cur/1004.E.host:2,S" "Subject: no id" e                  # no Message-ID (a note)
printf 'not a header\nat all\n' > "$M/cur/1005.F.host:2,"     # unparsable
msg "cur/1006.G.host:1,S" "Message-ID: <g@x>" g               # bad info
msg "new/$(printf '1007.H\033[2Jx')" "Message-ID: <h@x>" h    # a terminal escape in a name
msg ".Lists/cur/2000.L.host:2,S" "Message-ID: <l@x>" l
msg ".Lists/cur/2001.M.host:2,S" "Message-ID: <m@x>" m
before=$(tree_state "$M")

mst check "$M"; expect_rc 1 "a Maildir with defects"
expect_eq "$(t_out)" "maildir-name$tab-$tab.Stray${tab}a folder directory without cur/ and new/
maildir-name$tab-$tab.evil\\x0aname${tab}a folder directory whose name is no box name
maildir-name${tab}INBOX${tab}cur/1006.G.host:1,S${tab}an info suffix other than ':2,'
maildir-name${tab}INBOX${tab}new/1007.H\\x1b[2Jx${tab}a control character in its name
unparsable${tab}INBOX${tab}new/1003.D.host${tab}0 bytes
unparsable${tab}INBOX${tab}cur/1005.F.host:2,${tab}no header field at all: not a message
duplicate${tab}INBOX${tab}cur/1001.B.host:2,${tab}the same Message-ID as cur/1000.A.host:2,S, the same content
duplicate${tab}INBOX${tab}new/1002.C.host${tab}the same Message-ID as cur/1000.A.host:2,S, a different content
checked 2 folders, 8 messages: unreadable 0, unparsable 2, duplicate 2, no-message-id 1, maildir-name 4, mbox-split 0, mbox-truncated 0" \
	"the Maildir's findings, names escaped"
expect_eq "$(t_out | grep -c .)" 9 "one line per finding (no name split a line) and the summary"

mst check -v "$M" Lists; expect_ok "a clean folder named alone"
expect_eq "$(t_out)" "checked 1 folders, 2 messages: unreadable 0, unparsable 0, duplicate 0, no-message-id 0, maildir-name 0, mbox-split 0, mbox-truncated 0" "no finding"
mst check -v "$M" INBOX; expect_rc 1 "INBOX with -v"
expect_out_contains "no-message-id${tab}INBOX${tab}cur/1004.E.host:2,S${tab}no Message-ID" "-v lists the message without a Message-ID"
mst check "$M" Nope; expect_rc 2 "a FOLDER that is not there"
expect_err_contains "has no folder Nope" "the missing folder named"

mst check --json "$T_TMP/c.json" "$M"; expect_rc 1 "--json FILE"
expect_eq "$(t_out | tail -1 | cut -c1-18)" "checked 2 folders," "the text still on stdout"
expect_eq "$(jq -r '.exit_code, .summary.duplicate, .summary["maildir-name"], .summary.messages, (.findings | length)' "$T_TMP/c.json" | tr '\n' ' ')" \
	"1 2 4 8 8 " "JSON summary and findings"
expect_eq "$(jq -c '.findings[] | select(.kind == "maildir-name" and .folder == null) | .file' "$T_TMP/c.json" | tail -1)" \
	'".evil\nname"' "the JSON keeps the raw name (JSON escaping)"
expect_eq "$(jq -r '.findings[] | select(.kind == "duplicate") | "\(.file) \(.uid)"' "$T_TMP/c.json" | head -1)" \
	"cur/1001.B.host:2, 2" "a duplicate's file and UID"
mst check -v --json - "$M"; expect_rc 1 "--json -"
expect_eq "$(t_out | jq -r '[.findings[].kind] | map(select(. == "no-message-id")) | length')" 1 "JSON on stdout alone, -v lists the note"
expect_eq "$(tree_state "$M")" "$before" "check wrote nothing"

# --- mbox files ----------------------------------------------------------------------
F='From a@b Mon Jan  1 00:00:00 2024'
B=$T_TMP/mboxes
mkdir -p "$B"
printf '%s\nMessage-ID: <1@x>\n\nhello\n>From me Mon Jan  1 00:00:00 2024\nFrom me, regards\n\n%s\nMessage-ID: <2@x>\n\nok\n\n' "$F" "$F" > "$B/clean"
printf '%s\nMessage-ID: <1@x>\n\nhello\n%s\nrest of hello\n\n%s\nMessage-ID: <2@x>\n\nthe body is cu' "$F" "$F" "$F" > "$B/broken"
mst check "$B/clean"; expect_ok "a clean mbox file (a quoted From line, one without a date)"
mst check "$B/broken"; expect_rc 1 "a split and truncated mbox file"
expect_eq "$(t_out)" "mbox-split$tab$B/broken${tab}offset 59${tab}a From line after a non-blank line, starting no header: an unquoted \"From \" body line split the message before it
mbox-truncated$tab$B/broken${tab}offset 108${tab}cut short: the file ends inside a line
checked 1 folders, 3 messages: unreadable 0, unparsable 0, duplicate 0, no-message-id 0, maildir-name 0, mbox-split 1, mbox-truncated 1" \
	"the mbox's findings name the file and the From line's offset"
(cd "$T_TMP" && mst check mboxes/broken); expect_rc 1 "a relative path to an mbox file"
expect_out_contains "mbox-split${tab}mboxes/broken${tab}offset 59" "read from the right file"
mst check "$B/broken" INBOX; expect_rc 2 "no FOLDER for one mbox file"
mst check --json - "$B"; expect_rc 1 "a directory of mbox files"
expect_eq "$(t_out | jq -r '.kind, ([.findings[] | "\(.folder) \(.offset) \(.kind)"] | join(","))' | tr '\n' ' ')" \
	"mbox broken 59 mbox-split,broken 108 mbox-truncated " "the directory's folders"

# --- stores of a channel configuration, errors --------------------------------------
CONF=$T_TMP/channels.conf
cat > "$CONF" <<CONF
store md { kind maildir path $M pat Lists }
store boxes { kind mbox path $B }
store local { pat Mail/* prefix Mail/ }
channel ch md boxes { }
CONF
mkdir -p "$HOME/Mail"
cp "$B/broken" "$HOME/Mail/inbox"
mst check -f "$CONF" md; expect_ok "a store by name, its pat selecting the clean folder (the store's own stray entries not reported)"
mst check -f "$CONF" boxes clean; expect_ok "a named folder of an mbox store"
mst check -f "$CONF" local; expect_rc 1 "a mailsync local store"
expect_out_contains "mbox-split${tab}Mail/inbox${tab}offset 59" "the local store's mbox checked"
mst check -f "$CONF" ch; expect_rc 2 "a channel is no store"
expect_err_contains "ch is a channel of $CONF" "says so"
mst check -f "$CONF" nothing; expect_rc 2 "neither a store nor a path"
mst check "$T_TMP/none/x"; expect_rc 2 "a path that does not exist"
mst check; expect_rc 2 "no STORE"
printf 'store x {\n  bogus y\n}\n' > "$T_TMP/bad.conf"
mst check -f "$T_TMP/bad.conf" x; expect_rc 2 "a bad configuration"
expect_err_contains "bad.conf:2" "names FILE:LINE"

# --- an unreadable folder: reported, the rest still checked ---------------------------
U=$T_TMP/u/Maildir
mkdir -p "$U"/{cur,new,tmp} "$U"/.Locked/{cur,new,tmp} "$U"/.Open/{cur,new,tmp}
printf 'Message-ID: <o@x>\n\nx\n' > "$U/.Open/cur/1.O.h:2,S"
printf 'Message-ID: <o@x>\n\nx\n' > "$U/.Open/cur/2.P.h:2,S"
chmod 000 "$U/.Locked/cur"
if [ "$(id -u)" != 0 ]; then
	mst check "$U"
elif command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	# root reads everything: run as nobody, who needs a way to the tree and the binary
	chmod 755 "$T_TMP" "$T_TMP/u"
	MSTORE_DB_PASSWORD= setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$MSTORE_BIN" check "$U" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
else
	echo "SKIP: running as root without setpriv: the unreadable folder is not tested" >&2
	T_RC=skip
fi
if [ "$T_RC" != skip ]; then
	expect_rc 1 "an unreadable folder"
	expect_out_contains "unreadable${tab}Locked${tab}-${tab}" "the unreadable folder named"
	expect_out_contains "Permission denied" "with the cause"
	expect_out_contains "duplicate${tab}Open${tab}.Open/cur/2.P.h:2,S" "the folder after it still checked"
fi
chmod 755 "$U/.Locked/cur"

# --- the shared corpus: every message read, no crash ---------------------------------
CORPUS=${MSTORE_SHARED:-$MSTORE_SRC/../shared}/corpus
if [ ! -d "$CORPUS" ]; then
	echo "SKIPPED: the corpus part: no corpus at '$CORPUS' (set MSTORE_SHARED)" >&2
else
	C=$T_TMP/corpus
	mkdir -p "$C"/{cur,new,tmp}
	i=0
	while IFS= read -r -d '' f; do
		i=$((i + 1)); cp "$f" "$C/cur/$i.corpus.h:2,S"
	done < <(find "$CORPUS" -type f -print0)
	mst check -v "$C"
	t_ok; [ "$T_RC" = 0 ] || [ "$T_RC" = 1 ] || t_fail "corpus: exit $T_RC; $(head -c 600 "$T_TMP/err")"
	t_ok; grep -qE 'AddressSanitizer|runtime error' "$T_TMP/err" && t_fail "corpus: $(head -c 600 "$T_TMP/err")"
	expect_out_contains "checked 1 folders, $i messages" "every corpus file read"
fi
t_done
