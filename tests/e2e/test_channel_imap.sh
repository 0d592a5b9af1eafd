#!/usr/bin/env bash
# mstore channel with one side on a real Dovecot (tests/imap-server.sh):
# Maildir -> Dovecot -> another Maildir, message by message (content,
# flags, internal dates, a non-ASCII folder in modified UTF-7, a sub-folder),
# a no-op resync, deletions and flag changes each way, -D on a folder that
# gets mail while it is being removed (none lost), a changed
# UIDVALIDITY (nothing copied twice), mailsync's server {...} strings,
# STARTTLS and implicit TLS, certificate and host name verification on and
# off, and the faults: connection refused, login refused, no password, an
# unknown host, STARTTLS against an implicit TLS port (a timeout).  No
# database: run once (test_channel_imap_hms.sh is the hMailServer side,
# once per database).
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_imap
export TZ=UTC

# a user of this run's own: the three backends run at once
U=t$$
t_imapd adduser "$U" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD
CA=$MSTORE_TEST_IMAP_CA
S=$T_TMP/sides
MD=$S/md
MD2=$S/md2
mkdir -p "$MD"/{cur,new,tmp} "$MD/.Sub"/{cur,new,tmp} "$MD/.Grön"/{cur,new,tmp} "$MD2"/{cur,new,tmp}
CONF=$T_TMP/channels.conf

n=0
md_msg() { # md_msg MAILDIR SUBJECT MSGID [FLAGS]: a message in cur/ (new/ without flags), mtime set
	local dir=$1 subj=$2 id=$3 flags=${4:-} f
	n=$((n + 1))
	if [ -n "$flags" ]; then f=$dir/cur/$((1700000000 + n)).M$n.host:2,$flags; else f=$dir/new/$((1700000000 + n)).M$n.host; fi
	printf 'From: a@example.org\nDate: Mon, 01 Jan 2024 00:00:%02d +0000\nSubject: %s\nMessage-ID: <%s>\n\nbody of %s\n' \
		$((n % 60)) "$subj" "$id" "$subj" > "$f"
	touch -d "@$((1600000000 + n * 3600))" "$f"
}
ch() { mst channel -f "$CONF" --state-dir "$T_TMP/state" "$@"; }
# the server's view, from doveadm (not from mstore): "FOLDER UID FLAGS" per message
srv() { t_imapd doveadm fetch -u "$1" 'mailbox hdr.message-id flags' all 2>/dev/null |
	awk '/^mailbox: / { m = $2 } /^hdr.message-id: / { id = $2 } /^flags: / { $1 = ""; print m, id, $0 }' | sort; }
srv_count() { srv "$1" | wc -l; }
msig() { local d; for d in "$@"; do t_maildir_sig "$d"; done; }

for i in 1 2 3 4 5; do md_msg "$MD" "m$i" "m$i@x" S; done
md_msg "$MD" m6 m6@x FR
md_msg "$MD" m7 m7@x
md_msg "$MD/.Sub" s1 s1@x S
md_msg "$MD/.Grön" g1 g1@x F

base="cafile $CA timeout 20"
cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store md2 { kind maildir path $MD2 layout maildir++ }
store dv { kind imap host localhost port $MSTORE_TEST_IMAPS_PORT tls implicit user $U $base }
store dvs { server {localhost:$MSTORE_TEST_IMAP_PORT/tls/user=$U} $base }
channel up md dv { }
channel down dvs md2 { }
CONF

# --- Maildir -> Dovecot (implicit TLS) ----------------------------------------------------
ch up; expect_ok "first sync to Dovecot"
view=$(srv "$U")
expect_eq "$(echo "$view" | wc -l)" 9 "every message on the server"
expect_eq "$(echo "$view" | grep -c '^Grön ')" 1 "the non-ASCII folder is Grön on the server (sent in modified UTF-7)"
expect_eq "$(t_imapd doveadm mailbox list -u "$U" -7 | grep -c '^Gr&APY-n$')" 1 "and Gr&APY-n on the wire"
expect_eq "$(echo "$view" | awk '$2 == "<m6@x>" { $1 = $2 = ""; print }' | tr -s ' ' | sed 's/^ //')" '\Answered \Flagged' \
	"flags of m6 on the server"
expect_eq "$(echo "$view" | awk '$2 == "<m7@x>"' | wc -l)" 1 "m7 once"
got=$(t_imapd doveadm fetch -u "$U" 'date.received' mailbox INBOX header message-id m3@x 2>/dev/null | sed -n 's/^date.received: //p')
expect_eq "$got" "$(date -u -d @$((1600000000 + 3 * 3600)) '+%Y-%m-%d %H:%M:%S')" "m3's internal date is its file's mtime"

# --- Dovecot -> an empty Maildir (STARTTLS, a mailsync server {...} string) ---------------
ch down; expect_ok "first sync from Dovecot"
expect_eq "$(msig "$MD2" "$MD2/.Sub" "$MD2/.Grön")" "$(msig "$MD" "$MD/.Sub" "$MD/.Grön")" \
	"the round trip Maildir -> Dovecot -> Maildir keeps every message and its flags"

# --- no-op resync -------------------------------------------------------------------------
ch up; expect_ok "resync"
expect_out_contains "dv: 0 copied, 0 deleted, 0 pending, 0 flags" "a no-op resync copies nothing"
ch down; expect_ok "resync down"
expect_out_contains "md2: 0 copied, 0 deleted" "a no-op resync down copies nothing"

# --- deletion and flags each way -----------------------------------------------------------
rm "$MD"/cur/*.M1.host:2,S
f=$(ls "$MD"/cur/*.M4.host:2,S) && mv "$f" "${f%S}FS"
t_imapd doveadm flags add -u "$U" '\Flagged' mailbox INBOX header message-id m2@x
ch up; expect_ok "sync after a local deletion and a server flag"
view=$(srv "$U")
expect_eq "$(echo "$view" | awk '$2 == "<m1@x>"' | wc -l)" 0 "m1 deleted locally is expunged on the server"
expect_eq "$(echo "$view" | awk '$2 == "<m4@x>" { $1 = $2 = ""; print }' | tr -s ' ' | sed 's/^ //')" '\Flagged \Seen' \
	"m4 flagged locally is flagged on the server (UID STORE)"
expect_eq "$(ls "$MD"/cur/*.M2.host:2,* | sed 's/.*:2,//')" FS "m2 flagged on the server is flagged locally"
t_imapd doveadm expunge -u "$U" mailbox Sub header message-id s1@x
ch down; expect_ok "sync down after a server expunge"
expect_eq "$(find "$MD2/.Sub" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)" 0 \
	"s1 expunged on the server is deleted from md2"
expect_eq "$(grep -rl '^Message-ID: <m1@x>' "$MD2" | wc -l)" 0 "m1 expunged on the server (from md) is deleted from md2"
ch up; expect_ok "the expunge travels on to md"
expect_eq "$(find "$MD/.Sub/cur" "$MD/.Sub/new" -type f | wc -l)" 0 "s1 gone from md too"

# --- UIDVALIDITY changes: re-paired by identity, nothing copied twice ---------------------
before=$(($(echo "$view" | wc -l) - 1))  # s1 went since
t_imapd doveadm mailbox update -u "$U" --uid-validity 12345 INBOX
ch up; expect_ok "sync after a UIDVALIDITY change"
expect_out_contains "dv: 0 copied" "nothing copied to the server again"
expect_eq "$(srv_count "$U")" "$before" "the server holds as many messages as before"
expect_eq "$(find "$MD/cur" "$MD/new" -type f | wc -l)" 6 "md holds its 6 INBOX messages, none twice"

# --- -D on a folder that gets mail meanwhile: never deleted with it ------------------------
# mail delivered after the check that a folder is empty must not go with
# DELETE: the folder is renamed to a private name, checked there, and
# deleted only when still empty (renamed back when not)
md_msg "$MD/.Sub" s2 s2@x S   # one candidate per -D run: Sub, emptied above, is not one
mkdir -p "$MD/.Late1"/{cur,new,tmp}
ch up; expect_ok "an empty folder to the server"
expect_eq "$(t_imapd doveadm mailbox list -u "$U" | grep -c -x Late1)" 1 "on the server"
printf 'From: a@example.org\nSubject: late\nMessage-ID: <late@x>\n\nlate mail\n' >"$T_TMP/late.eml"
dv_save() { # the hook's delivery, as the server's LDA would make it: into FOLDER, made when missing
	echo "MSTORE_TEST_IMAP=$MSTORE_TEST_IMAP_DIR; export MSTORE_TEST_IMAP; d='$MSTORE_SRC/tests/imap-server.sh doveadm';
		\$d mailbox create -u $U $1 2>/dev/null; \$d save -u $U -m $1 <'$T_TMP/late.eml'"
}
# the mail arrives between the check and the rename: it goes with the rename, the check
# after it sees it, and the folder is renamed back
MSTORE_TEST_HOOK_AT=imap-delete-checked MSTORE_TEST_HOOK_CMD=$(dv_save Late1) ch -D up
expect_rc 1 "-D: a folder that got mail after its check is not deleted"
expect_err_contains "Late1 holds 1 messages: not deleted" "the error names the folder and why"
expect_eq "$(srv "$U" | awk '$1 == "Late1" && $2 == "<late@x>"' | wc -l)" 1 "the late message is in Late1 on the server"
ch up; expect_ok "the next run"
expect_out_contains "created on md" "brings Late1 back to md, where -D had removed it"
# the mail arrives after the rename: its folder is made again and keeps it; the private one goes
mkdir -p "$MD/.Late2"/{cur,new,tmp}
ch up; expect_ok "another empty folder to the server"
MSTORE_TEST_HOOK_AT=imap-delete-renamed MSTORE_TEST_HOOK_CMD=$(dv_save Late2) ch -D up; expect_ok "-D: a folder whose name gets mail after the rename"
expect_eq "$(srv "$U" | awk '$1 == "Late2" && $2 == "<late@x>"' | wc -l)" 1 "mail to the renamed name made the folder again, with it"
expect_eq "$(t_imapd doveadm mailbox list -u "$U" | grep -c mstore-deleting)" 0 "no private name left on the server"
ch up; expect_ok "the run after"
expect_eq "$(grep -rl '^Message-ID: <late@x>' "$MD/.Late1" "$MD/.Late2" | wc -l)" 2 "both late messages reach md"
# a run killed between the rename and the DELETE: the next run finishes the deletion
mkdir -p "$MD/.Late4"/{cur,new,tmp}
ch up; expect_ok "a fourth empty folder to the server"
MSTORE_TEST_HOOK_AT=imap-delete-renamed MSTORE_TEST_HOOK_CMD='kill -9 $PPID' ch -D up
expect_rc 137 "-D killed after the rename"
expect_eq "$(t_imapd doveadm mailbox list -u "$U" | grep -c '^Late4-mstore-deleting-[0-9]*$')" 1 "it left the private name"
ch --dry-run up; expect_ok "a dry run after it"
expect_err_contains "is what a killed run left while deleting Late4; a run that may write finishes that" "names the box"
expect_eq "$(t_imapd doveadm mailbox list -u "$U" | grep -c '^Late4-mstore-deleting-[0-9]*$')" 1 "and leaves it"
ch up; expect_ok "the run after the killed one"
expect_err_contains "is what a killed run left while deleting Late4: deleted it (empty)" "finishes the deletion, and says so"
expect_eq "$(t_imapd doveadm mailbox list -u "$U" | grep -c '^Late4')" 0 "no Late4 on the server, under either name"
if [ -e "$MD/.Late4" ] || ls -d "$MD"/.Late4-mstore-deleting-* >/dev/null 2>&1; then t_fail "Late4 came back to md"; else t_ok; fi
# killed after mail came into the renamed box: the next run renames it back, and the mail travels
mkdir -p "$MD/.Late5"/{cur,new,tmp}
ch up; expect_ok "a fifth empty folder to the server"
MSTORE_TEST_HOOK_AT=imap-delete-renamed MSTORE_TEST_HOOK_CMD="MSTORE_TEST_IMAP=$MSTORE_TEST_IMAP_DIR; export MSTORE_TEST_IMAP;
	$MSTORE_SRC/tests/imap-server.sh doveadm save -u $U -m Late5-mstore-deleting-\$PPID <'$T_TMP/late.eml'; kill -9 \$PPID" ch -D up
expect_rc 137 "-D killed after mail came into the renamed box"
ch up; expect_ok "the run after"
expect_err_contains "is what a killed run left while deleting Late5: renamed it back (it holds mail)" "the box goes back"
expect_eq "$(srv "$U" | awk '$1 == "Late5" && $2 == "<late@x>"' | wc -l)" 1 "with its mail, under its name"
expect_eq "$(t_imapd doveadm mailbox list -u "$U" | grep -c 'Late5-mstore-deleting')" 0 "no private name left"
expect_eq "$(grep -rl '^Message-ID: <late@x>' "$MD/.Late5" | wc -l)" 1 "the late message reaches md"

# mail arrives in the renamed box (as a client that knew its name would put it) and the old
# name is made again meanwhile: the box cannot go back; it is kept, and the error says where
mkdir -p "$MD/.Late3"/{cur,new,tmp}
ch up; expect_ok "a third empty folder to the server"
MSTORE_TEST_HOOK_AT=imap-delete-renamed MSTORE_TEST_HOOK_CMD="MSTORE_TEST_IMAP=$MSTORE_TEST_IMAP_DIR; export MSTORE_TEST_IMAP;
	d='$MSTORE_SRC/tests/imap-server.sh doveadm'; \$d mailbox create -u $U Late3;
	\$d save -u $U -m Late3-mstore-deleting-\$PPID <'$T_TMP/late.eml'" ch -D up
expect_rc 1 "-D: a renamed box that got mail while its name was taken again"
expect_err_contains "folder Late3 is kept as Late3-mstore-deleting-" "the error names where the folder is kept"
expect_eq "$(srv "$U" | awk '$1 ~ /^Late3-mstore-deleting-[0-9]+$/ && $2 == "<late@x>"' | wc -l)" 1 \
	"the late message is in the kept folder"
ch up; expect_ok "the run after"
expect_err_contains "Late3-mstore-deleting-" "warns of the kept folder again"
expect_err_contains "is kept: it holds mail and Late3 exists again" "and says why it stays"
# --- TLS and login faults -----------------------------------------------------------------
cat >> "$CONF" <<CONF
store byip { kind imap host 127.0.0.1 port $MSTORE_TEST_IMAPS_PORT tls implicit user $U $base }
store byipnv { server {127.0.0.1:$MSTORE_TEST_IMAPS_PORT/ssl/novalidate-cert/user=$U} timeout 20 }
store noca { kind imap host localhost port $MSTORE_TEST_IMAPS_PORT tls implicit user $U }
store badpw { kind imap host localhost port $MSTORE_TEST_IMAPS_PORT tls implicit user $U passwd wrong-password $base }
store notls { kind imap host localhost port $MSTORE_TEST_IMAPS_PORT user $U timeout 2 }
store closed { kind imap host localhost port 1 tls implicit user $U $base }
store nohost { kind imap host no-such-host.invalid port 993 user $U $base }
store plain { kind imap host localhost port $MSTORE_TEST_IMAP_PORT tls none user $U $base }
store farplain { kind imap host mail.example.org tls none user $U }
CONF
ch -m byip; expect_fail "a host name the certificate does not name"
expect_err_contains "not trusted" "the host name mismatch is a verification failure"
ch -m byipnv; expect_ok "/novalidate-cert turns verification off"
expect_err_contains "warning" "with a warning"
expect_out_contains "<m2@x>" "and lists the messages"
ch -m noca; expect_fail "a certificate no trusted CA signed"
expect_err_contains "not trusted" "the unknown CA is named as the cause"
ch -m badpw; expect_fail "a wrong password"
expect_err_contains "login as $U refused" "the login refusal names the user"
if grep -q wrong-password "$T_TMP/err" "$T_TMP/out"; then t_fail "the password appears in the output"; else t_ok; fi
ch -m notls; expect_fail "STARTTLS (the default off port 993) on an implicit TLS port"
expect_err_contains "tls implicit" "the timeout says what may be wrong"
ch -m closed; expect_fail "connection refused"
expect_err_contains "cannot connect" "connect's failure is named"
ch -m nohost; expect_fail "an unknown host"
expect_err_contains "cannot resolve" "the resolver's failure is named"
ch -m plain; expect_ok "tls none on loopback is allowed"
ch -m farplain; expect_fail "tls none to another host is refused"
expect_err_contains "allow-plaintext" "the refusal says how to override it"
unset MSTORE_IMAP_PASSWORD
ch -m dv; expect_fail "no password at all"
expect_err_contains "no password" "the missing password is named"
t_done
