#!/usr/bin/env bash
# mstore channel against a real Dovecot whose namespace gives special uses
# (RFC 6154) to "Sent Messages", "Deleted Messages" and Archives
# (tests/imap-server.sh).  The listing asks LIST ... RETURN (SPECIAL-USE),
# once per run.  `specialuse yes` shows those folders as Sent, Trash and
# Archive, so a local Sent pairs with the server's "Sent Messages" and no
# second Sent is made; two \Sent folders keep their names, with a warning.
# `trash yes` moves a message the channel deletes on the server into the
# \Trash folder with UID MOVE (RFC 6851); through a proxy that hides MOVE,
# with UID COPY then UID EXPUNGE; `trash NAME` into that folder; a trash
# folder that is not there is an error at the open.  No database: run once.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_imap
: "${FAULTPROXY:?FAULTPROXY not set (the meson test environment sets it)}"
export TZ=UTC

U=su$$
t_imapd adduser "$U" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD
MD=$T_TMP/md
CONF=$T_TMP/channels.conf
TRACE=$T_TMP/trace
for d in "" .Sent .Trash .Work; do mkdir -p "$MD/$d"/{cur,new,tmp}; done

n=0
md_msg() { # md_msg MAILDIR ID
	n=$((n + 1))
	printf 'From: a@example.org\nSubject: %s\nMessage-ID: <%s>\n\nbody %s\n' "$2" "$2" "$2" \
		> "$1/cur/$((1700000000 + n)).M$n.host:2,S"
}
md_msg "$MD" i1@x
md_msg "$MD/.Sent" s1@x
md_msg "$MD/.Trash" t1@x
for i in 1 2 3 4; do md_msg "$MD/.Work" "w$i@x"; done
for b in "Sent Messages" "Deleted Messages" Archives; do t_imapd doveadm mailbox create -u "$U" "$b"; done
printf 'From: b@example.org\nSubject: s\nMessage-ID: <srv-s@x>\n\nsent\n' |
	t_imapd doveadm save -u "$U" -m "Sent Messages"

PROXY_PID=
proxy_stop() { [ -z "$PROXY_PID" ] || { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=; }; }
trap proxy_stop EXIT
# conf [EXTRA [PORT TLS]]: store dv with EXTRA settings
conf() {
	cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store dv { kind imap host localhost port ${2:-$MSTORE_TEST_IMAPS_PORT} tls ${3:-implicit} user $U cafile $MSTORE_TEST_IMAP_CA timeout 20 ${1:-} }
channel c md dv { }
CONF
}
ch() { rm -f "$TRACE"; MSTORE_IMAP_TRACE=$TRACE mst channel -f "$CONF" --state-dir "$T_TMP/state" "$@"; }
# the server's messages as "FOLDER MESSAGE-ID", from doveadm (not from mstore)
srv() { t_imapd doveadm fetch -u "$U" 'mailbox hdr.message-id' all 2>/dev/null |
	awk '/^mailbox: / { m = substr($0, 10) } /^hdr.message-id: / { print m ": " $2 }' | sort; }
srv_boxes() { t_imapd doveadm mailbox list -u "$U" | sort | tr '\n' ',' ; }

# --- without specialuse: the real names, one LIST asking for the special uses --------------
conf
ch dv; expect_ok "listing without specialuse"
expect_out_contains "Sent Messages" "the real name is listed"
expect_eq "$(grep -c ' LIST ' "$TRACE")" 1 "one LIST"
expect_eq "$(grep -c 'LIST "" "\*" RETURN (SPECIAL-USE)' "$TRACE")" 1 "it asks for the special uses"

# --- specialuse yes: shown under the role names, paired with the local ones ----------------
conf "specialuse yes"
ch dv; expect_ok "listing with specialuse yes"
expect_eq "$(grep -v INBOX "$T_TMP/out" | sort | tr '\n' ' ')" "Archive Sent Trash " \
	"\"Sent Messages\", \"Deleted Messages\", Archives shown as Sent, Trash, Archive"
ch c; expect_ok "sync with specialuse yes"
expect_eq "$(srv_boxes)" "Archives,Deleted Messages,INBOX,Sent Messages,Work," \
	"no folder Sent, Trash or Archive made on the server: the local ones pair with the special-use ones"
expect_eq "$(srv | grep -c -E '^Sent Messages: <(s1|srv-s)@x>$')" 2 "the local Sent's message is in Sent Messages"
expect_eq "$(srv | grep -c -E '^Deleted Messages: <t1@x>$')" 1 "the local Trash's message is in Deleted Messages"
expect_eq "$(grep -rl '^Message-ID: <srv-s@x>' "$MD/.Sent" | wc -l)" 1 "the server's sent message is in the local Sent"
expect_eq "$(find "$MD" -maxdepth 1 -name '.Sent Messages' -o -maxdepth 1 -name '.Deleted Messages' | wc -l)" 0 \
	"no local folder under a real name"
expect_eq "$(grep -c ' LIST ' "$TRACE")" 1 "one LIST in a whole run (CREATE of Archive locally only)"
ch c; expect_ok "a second run"
expect_out_contains "0 copied, 0 deleted" "nothing more to do"

# --- trash yes: a message deleted locally is moved to the server's \Trash ----------------
conf "specialuse yes trash yes"
rm "$(grep -rl '^Message-ID: <w4@x>' "$MD/.Work")"
ch c; expect_ok "a local deletion with trash yes"
expect_eq "$(grep -c 'UID MOVE .* "Deleted Messages"' "$TRACE")" 1 "UID MOVE to Deleted Messages"
expect_eq "$(grep -c -E 'UID EXPUNGE|STORE .*Deleted' "$TRACE")" 0 "nothing expunged"
expect_eq "$(srv | grep -c '<w4@x>')" 1 "w4 is on the server once"
expect_eq "$(srv | grep -c '^Deleted Messages: <w4@x>$')" 1 "... in Deleted Messages"
ch c; expect_ok "the next run"
expect_eq "$(grep -rl '^Message-ID: <w4@x>' "$MD/.Trash" | wc -l)" 1 \
	"the moved message reaches the local Trash (specialuse pairs it with Deleted Messages)"

# --- without MOVE (hidden by a proxy): UID COPY, then UID EXPUNGE ---------------------------
rm -f "$T_TMP/port"
"$FAULTPROXY" "$T_TMP/port" "127.0.0.1:$MSTORE_TEST_IMAP_PORT" rewrite-down " MOVE " " XOVE " &
PROXY_PID=$!
w=0; while [ ! -s "$T_TMP/port" ] && ((w++ < 100)); do sleep 0.05; done
conf "specialuse yes trash Archives" "$(cat "$T_TMP/port")" none
rm "$(grep -rl '^Message-ID: <w3@x>' "$MD/.Work")"
ch c; expect_ok "a local deletion with trash Archives, no MOVE"
expect_eq "$(grep -c 'UID MOVE' "$TRACE")" 0 "no UID MOVE when the server does not offer it"
expect_eq "$(grep -c 'UID COPY .* "Archives"' "$TRACE") $(grep -c 'UID EXPUNGE' "$TRACE")" "1 1" "UID COPY, then UID EXPUNGE"
expect_eq "$(srv | grep '<w3@x>')" "Archives: <w3@x>" "w3 is in Archives, and only there"
proxy_stop

# --- a trash that is not there: an error naming it, nothing deleted --------------------------
conf "specialuse yes trash Nowhere"
rm "$(grep -rl '^Message-ID: <w2@x>' "$MD/.Work")"
ch c; expect_rc 2 "trash naming a folder the server does not have"
expect_err_contains "trash Nowhere: no such folder on the server" "the error names the setting and the cause"
expect_eq "$(srv | grep -c '<w2@x>')" 1 "w2 is still on the server"
conf "specialuse yes trash yes"
t_imapd doveadm mailbox delete -u "$U" "Deleted Messages"
ch c; expect_rc 2 "trash yes without a \\Trash folder"
expect_err_contains 'marks no folder \Trash' "the error says so"

# --- two \Sent folders: real names kept, a warning ------------------------------------------
t_imapd doveadm mailbox create -u "$U" Sent
conf "specialuse yes"
ch dv; expect_ok "listing with two \\Sent folders"
expect_err_contains 'Sent and Sent Messages are both \Sent: they keep their names' "the warning names both"
expect_eq "$(grep -c -E '^(Sent|Sent Messages)$' "$T_TMP/out")" 2 "both listed under their real names"
t_done
