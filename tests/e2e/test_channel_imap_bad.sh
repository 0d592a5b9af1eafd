#!/usr/bin/env bash
# A BAD answer from a real Dovecot: a proxy (tests/tools/faultproxy.c)
# turns mstore's UID STORE into UID STORX, which Dovecot answers BAD.  The
# run reports the refused flag change with the server's words, exits 1,
# and keeps what it did (a message appended in the same run is in the
# state); a rerun straight to Dovecot sets the flag and copies nothing
# twice.  No database: run once.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_imap
: "${FAULTPROXY:?FAULTPROXY not set (the meson test environment sets it)}"
export TZ=UTC

U=bad$$
t_imapd adduser "$U" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD
MD=$T_TMP/md
CONF=$T_TMP/channels.conf
mkdir -p "$MD"/{cur,new,tmp}
for i in 1 2 3; do
	printf 'From: a@example.org\nSubject: %s\nMessage-ID: <b%s@x>\n\nbody\n' "$i" "$i" > "$MD/cur/170000000$i.M$i.h:2,S"
done

PROXY_PID=
proxy_stop() { [ -z "$PROXY_PID" ] || { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=; }; }
trap proxy_stop EXIT
conf() { # conf PORT
	cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store dv { kind imap host localhost port $1 tls none user $U timeout 20 }
channel c md dv { }
CONF
}
ch() { mst channel -f "$CONF" --state-dir "$T_TMP/state" "$@"; }
srv() { t_imapd doveadm fetch -u "$U" 'hdr.message-id flags' all 2>/dev/null |
	awk '/^hdr.message-id: / { m = $2 } /^flags: / { print m, $2, $3 }' | sort; }

conf "$MSTORE_TEST_IMAP_PORT"
ch c; expect_ok "first sync"

# --- the server answers BAD to the flag change -------------------------------------------
rm -f "$T_TMP/port"
"$FAULTPROXY" "$T_TMP/port" "127.0.0.1:$MSTORE_TEST_IMAP_PORT" rewrite-up "UID STORE" "UID STORX" &
PROXY_PID=$!
w=0; while [ ! -s "$T_TMP/port" ] && ((w++ < 100)); do sleep 0.05; done
conf "$(cat "$T_TMP/port")"
mv "$MD/cur/1700000002.M2.h:2,S" "$MD/cur/1700000002.M2.h:2,FS"
printf 'From: a@example.org\nSubject: 4\nMessage-ID: <b4@x>\n\nbody\n' > "$MD/cur/1700000004.M4.h:2,S"
ch c; expect_rc 1 "a flag change the server answers BAD"
expect_out_contains "the server refused to change the flags of UID 2: BAD " "reported with the server's answer"
expect_out_contains "skipped on" "as a skipped message"
expect_eq "$(srv | grep -c '<b4@x>')" 1 "the new message was appended in the same run"
expect_eq "$(srv | grep '<b2@x>')" "<b2@x> \\Seen " "b2 is not flagged yet"
proxy_stop

# --- a rerun completes: the flag set, nothing copied twice -----------------------------------
conf "$MSTORE_TEST_IMAP_PORT"
ch c; expect_ok "the rerun"
expect_out_contains "dv: 0 copied" "copies nothing again (the append was in the state)"
expect_eq "$(srv | grep '<b2@x>')" "<b2@x> \\Flagged \\Seen" "b2 is flagged on the server"
expect_eq "$(srv | wc -l)" 4 "four messages on the server, each once"
mst diff -f "$CONF" md dv; expect_ok "mstore diff finds the two stores equal"
t_done
