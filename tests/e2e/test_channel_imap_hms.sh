#!/usr/bin/env bash
# mstore channel between an hMailServer account on the test's database
# and a real Dovecot (tests/imap-server.sh), both ways: a Maildir seeds one
# server user, that user's mailboxes go to the hMailServer account, and
# from it to a second user; message by message with flags, then a no-op
# resync, a flag set on the server and a message deleted in hMailServer.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
t_need_imap
export TZ=UTC

U=t$$${MSTORE_TEST_BACKEND}
U2=${U}b
t_imapd adduser "$U" && t_imapd adduser "$U2" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD
MD=$T_TMP/md
mkdir -p "$MD"/{cur,new,tmp} "$MD/.Lists"/{cur,new,tmp}
CONF=$T_TMP/channels.conf
n=0
md_msg() { # md_msg MAILDIR SUBJECT MSGID [FLAGS]
	local dir=$1 subj=$2 id=$3 flags=${4:-} f
	n=$((n + 1))
	if [ -n "$flags" ]; then f=$dir/cur/$((1700000000 + n)).M$n.host:2,$flags; else f=$dir/new/$((1700000000 + n)).M$n.host; fi
	printf 'From: a@example.org\nDate: Mon, 01 Jan 2024 00:00:%02d +0000\nSubject: %s\nMessage-ID: <%s>\n\nbody of %s\n' \
		$((n % 60)) "$subj" "$id" "$subj" > "$f"
}
ch() { mst channel -f "$CONF" --state-dir "$T_TMP/state" "$@"; }
srv() { t_imapd doveadm fetch -u "$1" 'mailbox hdr.message-id flags' all 2>/dev/null |
	awk '/^mailbox: / { m = $2 } /^hdr.message-id: / { id = $2 } /^flags: / { $1 = ""; print m, id, $0 }' | sort; }

for i in 1 2 3 4; do md_msg "$MD" "m$i" "m$i@x" S; done
md_msg "$MD" m5 m5@x FR
md_msg "$MD" m6 m6@x
md_msg "$MD/.Lists" l1 l1@x F

URL=$(t_new_db chimap)
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
mst init "$URL" --data "$D"; expect_ok "init"
M domain add example.com; expect_ok "domain"
M account add ann@example.com; expect_ok "account"
base="tls implicit cafile $MSTORE_TEST_IMAP_CA timeout 20"
cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store dv { kind imap host localhost port $MSTORE_TEST_IMAPS_PORT user $U $base }
store hm { kind hmailserver db $URL data $D account ann@example.com }
store dv2 { server {localhost:$MSTORE_TEST_IMAPS_PORT/ssl/user=$U2} cafile $MSTORE_TEST_IMAP_CA timeout 20 }
channel seed md dv { }
channel hmdown dv hm { }
channel hmup hm dv2 { }
CONF
ch seed; expect_ok "Maildir -> Dovecot"
ch hmdown; expect_ok "Dovecot -> hMailServer"
expect_eq "$(t_hm_sig "$URL" "$D" ann@example.com INBOX)" "$(t_maildir_sig "$MD")" \
	"the hMailServer INBOX holds the server's INBOX, message by message with flags"
ch hmup; expect_ok "hMailServer -> a second Dovecot user"
expect_eq "$(srv "$U2")" "$(srv "$U")" "the second user's mailboxes are the first's, through hMailServer"
ch hmup; expect_ok "no-op resync"
expect_out_contains "hm: 0 copied, 0 deleted, 0 pending, 0 flags, 0 duplicates; dv2: 0 copied, 0 deleted, 0 pending, 0 flags" \
	"a no-op resync changes nothing"

# a flag set on the server reaches hMailServer; a message deleted there leaves the server
t_imapd doveadm flags add -u "$U2" '\Flagged' mailbox INBOX header message-id m6@x
ch hmup; expect_ok "sync after a server flag"
expect_eq "$(t_sql "$URL" "SELECT messageflags FROM hm_messages WHERE messagefilename IS NOT NULL" | awk '{ s += int($1 / 4) % 2 } END { print s }')" \
	"3" "\\Flagged on m5, l1 and now m6 in hMailServer"
id=$(t_sql "$URL" "SELECT messageid FROM hm_messages ORDER BY messageid LIMIT 1")
t_sql "$URL" "DELETE FROM hm_messages WHERE messageid = $id" >/dev/null
ch hmup; expect_ok "sync after a deletion in hMailServer"
expect_eq "$(srv "$U2" | grep -c '^INBOX ')" 5 "the server INBOX lost the deleted message"
t_done
