#!/usr/bin/env bash
# Server-to-server migration: one Dovecot user's mailbox tree to another
# user of the test Dovecot (tests/imap-server.sh), with mstore channel and
# both stores IMAP.  The source is written as Dovecot's own Maildir files
# (not by mstore): flags, keywords (dovecot-keywords), internal dates (file
# mtimes), non-ASCII folder names in modified UTF-7 on disk, a sub-folder
# and an empty folder.  Checked message by message with doveadm (folder,
# Message-ID, flags and keywords, internal date) and with `mstore diff`;
# a rerun copies nothing.  No database: run once.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_imap
export TZ=UTC

A=ma$$
B=mb$$
t_imapd adduser "$A" && t_imapd adduser "$B" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD
SRC=$MSTORE_TEST_IMAP_DIR/mail/$A/Maildir
# folders on disk as Dovecot names them: Maildir++ with '.', modified UTF-7
# Grön, Grön/Ünter, Ärger (empty), Sent
# (each folder has its own dovecot-keywords: letter a is keyword 0)
for d in "" .Gr\&APY-n .Gr\&APY-n.\&ANw-nter .\&AMQ-rger .Sent; do
	mkdir -p "$SRC/$d"/{cur,new,tmp}
	printf '0 $Label1\n1 project-x\n2 Junk\n' > "$SRC/$d/dovecot-keywords"
done
n=0
put() { # put FOLDERDIR FLAGS: a message with the next number, mtime (the internal date) set
	n=$((n + 1))
	local file=$SRC/$1/cur/$((1700000000 + n)).M$n.src:2,$2
	printf 'From: s%d@example.org\nDate: Tue, 02 Jan 2024 10:00:00 +0000\nSubject: %s\nMessage-ID: <mig%d@x>\n\nbody %d\n' \
		"$n" "s$n é" "$n" "$n" > "$file"
	touch -d "@$((1500000000 + n * 86399))" "$file"
}
for fl in S FS RSa Sb "" Tab DS ab S; do put "" "$fl"; done
for fl in S Fa ""; do put .Gr\&APY-n "$fl"; done
for fl in Sc R; do put .Gr\&APY-n.\&ANw-nter "$fl"; done
for fl in S RS; do put .Sent "$fl"; done
# an identical copy of a message in another folder, and a message without a Message-ID
cp -p "$SRC/cur/1700000001.M1.src:2,S" "$SRC/.Sent/cur/1700000099.M99.src:2,S"
printf 'From: x@example.org\nSubject: no id\n\nno id\n' > "$SRC/.Gr&APY-n/cur/1700000098.M98.src:2,F"
chown -R --reference="$MSTORE_TEST_IMAP_DIR/mail" "$MSTORE_TEST_IMAP_DIR/mail/$A"

CONF=$T_TMP/channels.conf
base="host localhost port $MSTORE_TEST_IMAPS_PORT tls implicit cafile $MSTORE_TEST_IMAP_CA timeout 20"
cat > "$CONF" <<CONF
store a { kind imap $base user $A }
store b { kind imap $base user $B }
channel mig a b { }
CONF
# -cd: a migration carries messages flagged \Deleted too (mig6)
ch() { mst channel -cd -f "$CONF" --state-dir "$T_TMP/state" "$@"; }
# view USER: "FOLDER|MESSAGE-ID|FLAGS|INTERNAL DATE|SIZE" per message, from
# doveadm; flags sorted, \Recent (the session's, not the message's) left out
view() {
	t_imapd doveadm fetch -u "$1" 'mailbox hdr.message-id flags date.received size.physical' all 2>/dev/null |
		awk '/^mailbox: / { sub(/^mailbox: /, ""); m = $0 } /^hdr.message-id:/ { id = $2 }
			/^flags:/ { n = 0; delete a; for (i = 2; i <= NF; i++) if ($i != "\\Recent") a[++n] = $i
				asort(a); f = ""; for (i = 1; i <= n; i++) f = f " " a[i] }
			/^date.received: / { d = $2 " " $3 } /^size.physical: / { print m "|" id "|" f "|" d "|" $2 }' | sort
}
boxes() { t_imapd doveadm mailbox list -u "$1" 2>/dev/null | sort; }

src_view=$(view "$A")
expect_eq "$(echo "$src_view" | wc -l)" 18 "the source holds the 18 messages written (Dovecot read its files)"
expect_eq "$(echo "$src_view" | grep -c 'project-x')" 3 "with keywords"

ch mig; expect_ok "the migration"
expect_eq "$(boxes "$B")" "$(boxes "$A")" "the target has the source's folders (Grön, Grön.Ünter, the empty Ärger, Sent)"
expect_eq "$(view "$B")" "$src_view" \
	"every message in its folder with its flags, keywords, internal date and size, none twice"
mst diff -f "$CONF" a b; expect_ok "mstore diff finds the two users equal"
got=$(t_imapd doveadm fetch -u "$B" 'text' mailbox 'Grön' header message-id mig10@x 2>/dev/null | tr -d '\n')
want=$(t_imapd doveadm fetch -u "$A" 'text' mailbox 'Grön' header message-id mig10@x 2>/dev/null | tr -d '\n')
[ -n "$got" ] && [ "$got" = "$want" ] && t_ok || t_fail "a message's bytes differ after the migration"
ch mig; expect_ok "a rerun"
expect_out_contains "b: 0 copied, 0 deleted, 0 pending, 0 flags" "the rerun copies nothing"

# a change on the source after the migration travels, the rest stays put
t_imapd doveadm flags add -u "$A" 'project-x' mailbox INBOX header message-id mig1@x
t_imapd doveadm expunge -u "$A" mailbox Sent header message-id mig16@x
ch mig; expect_ok "a sync after changes on the source"
expect_eq "$(view "$B")" "$(view "$A")" "the keyword and the expunge reached the target"
t_done
