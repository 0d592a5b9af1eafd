#!/usr/bin/env bash
# mstore channel against a real Dovecot (tests/imap-server.sh) through a
# fault-injecting proxy (tests/tools/faultproxy.c): the connection dropped
# mid-append and mid-fetch, a server that stops answering (the store's
# timeout), and a message the server refuses.  Each run is reported with
# the server and the cause, exits 1, and a rerun straight to Dovecot
# finishes the job: `mstore diff` then finds nothing missing and nothing
# twice.  (Connection refused, an unknown host and login refused are in
# test_channel_imap.sh.)  No database: run once.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_imap
: "${FAULTPROXY:?FAULTPROXY not set (the meson test environment sets it)}"
export TZ=UTC

U=f$$
t_imapd adduser "$U" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD
MD=$T_TMP/md
MD2=$T_TMP/md2
mkdir -p "$MD"/{cur,new,tmp} "$MD/.Work"/{cur,new,tmp} "$MD2"/{cur,new,tmp}
CONF=$T_TMP/channels.conf
N=60

# messages of ~8 KiB, so a fetch or an append of them all is ~500 KB on the wire
body=$(head -c 6000 /dev/zero | tr '\0' 'x' | fold -w 76)
md_msg() { # md_msg MAILDIR I
	printf 'From: a@example.org\nSubject: m%s\nMessage-ID: <m%s@faults>\n\n%s\n' "$2" "$2" "$body" \
		> "$1/cur/$((1700000000 + $2)).M$2.host:2,S"
}
for ((i = 1; i <= N; i++)); do md_msg "$MD" "$i"; done
for ((i = N + 1; i <= N + 10; i++)); do md_msg "$MD/.Work" "$i"; done

PROXY_PID=
proxy_stop() { [ -z "$PROXY_PID" ] || { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=; }; }
trap proxy_stop EXIT
# conf PORT [TIMEOUT]: the channels, the server store `dv` on PORT
conf() {
	cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store md2 { kind maildir path $MD2 layout maildir++ }
store dv { kind imap host localhost port $1 tls none user $U timeout ${2:-20} }
channel up md dv { }
channel down dv md2 { }
CONF
}
# via FAULT BYTES [TIMEOUT]: a proxy to Dovecot with that fault, dv through it
via() {
	proxy_stop
	rm -f "$T_TMP/port"
	"$FAULTPROXY" "$T_TMP/port" "127.0.0.1:$MSTORE_TEST_IMAP_PORT" "$1" "$2" &
	PROXY_PID=$!
	local w=0
	while [ ! -s "$T_TMP/port" ] && ((w++ < 100)); do sleep 0.05; done
	conf "$(cat "$T_TMP/port")" "${3:-20}"
}
direct() { proxy_stop; conf "$MSTORE_TEST_IMAP_PORT"; }
ch() { mst channel -f "$CONF" --state-dir "$T_TMP/state" "$@"; }
# the server's messages as "FOLDER MESSAGE-ID", from doveadm (not from mstore)
srv() { t_imapd doveadm fetch -u "$U" 'mailbox hdr.message-id' all 2>/dev/null |
	awk '/^mailbox: / { m = $2 } /^hdr.message-id: / { print m, $2 }' | sort; }
# converged A B: mstore diff finds the two stores equal, and the server holds each message once
converged() {
	mst diff -f "$CONF" "$1" "$2"; expect_ok "$3: mstore diff finds $1 and $2 equal"
	expect_eq "$(srv | uniq -d)" "" "$3: no message twice on the server"
	expect_eq "$(srv | wc -l)" "$((N + 10))" "$3: every message on the server"
}

# --- the connection dropped mid-append (200 KB into the upload) ------------------------
via drop-up 200000
ch up; expect_rc 1 "a connection dropped mid-append"
expect_err_contains "store dv failed: " "the failure names the store"
expect_err_contains "IMAP server localhost:" "and the server"
expect_err_contains "the connection broke" "and says the connection went"
partial=$(srv | wc -l)
[ "$partial" -gt 0 ] && [ "$partial" -lt $((N + 10)) ] && t_ok ||
	t_fail "part of the upload reached the server before the drop ($partial of $((N + 10)))"
direct
ch up; expect_ok "the rerun completes the upload"
# what reached the server before the drop is recorded or re-paired, not copied again
expect_out_contains "channel up: md: 0 copied, 0 deleted, 0 pending, 0 flags, 0 duplicates; dv: $((N + 10 - partial)) copied" \
	"the rerun copies only the $((N + 10 - partial)) messages the server lacked"
converged md dv "after the drop mid-append"

# --- the connection dropped mid-fetch (200 KB into the download) -----------------------
via drop-down 200000
ch down; expect_rc 1 "a connection dropped mid-fetch"
expect_err_contains "store dv failed: " "the failure names the store"
expect_err_contains "IMAP server localhost:" "and the server"
direct
ch down; expect_ok "the rerun completes the download"
converged dv md2 "after the drop mid-fetch"
expect_eq "$(find "$MD2" -type f -path '*/cur/*' | wc -l)" "$((N + 10))" "md2 holds every message once"

# --- a server that stops answering: the store's timeout ---------------------------------
for ((i = N + 11; i <= N + 30; i++)); do md_msg "$MD" "$i"; done
N=$((N + 20))
# timeout 5, not 2: in a parallel ASan run Dovecot's login alone once took
# over 2 s (other tests' refused logins), so the run failed at the open
via stall-down 3000 5
start=$(date +%s)
ch up; expect_rc 1 "a server that stops answering"
took=$(($(date +%s) - start))
expect_err_contains "(timeout)" "the failure is the timeout"
expect_err_contains "IMAP server localhost:" "naming the server"
[ "$took" -lt 30 ] && t_ok || t_fail "the run gave up after the 5 s timeout, not after ${took}s"
via stall-up 100000 5
ch up; expect_rc 1 "a server that stops reading mid-append"
expect_err_contains "(timeout)" "the failure is the timeout"
direct
ch up; expect_ok "the rerun completes"
converged md dv "after the stalls"
ch down; expect_ok "and the new messages travel on to md2"
converged dv md2 "md2 after the stalls"

# --- a message the server refuses (Dovecot saves no empty message) ----------------------
: > "$MD/cur/1700009999.Mempty.host:2,S"
printf 'From: a@example.org\nSubject: after\nMessage-ID: <after@faults>\n\nafter\n' > "$MD/cur/1700010000.Mafter.host:2,"
ch up; expect_rc 1 "a message the server refuses"
expect_out_contains "folder INBOX" "the refusal names the folder"
expect_out_contains "zero byte" "and gives the server's words"
expect_eq "$(srv | grep -c '<after@faults>')" 1 "the message after the refused one is on the server"
ch up; expect_rc 1 "the rerun refuses the same message again"
expect_eq "$(srv | grep -c '<after@faults>')" 1 "and does not copy the good one twice"
rm "$MD/cur/1700009999.Mempty.host:2,S"

# --- NO to CREATE: a folder name too long for the server's file system ------------------
# (120 x 'ö': 240 bytes here, 320 characters of modified UTF-7 in Dovecot's Maildir)
long=$(printf '\xc3\xb6%.0s' $(seq 120))
mkdir -p "$MD/.$long"/{cur,new,tmp}
md_msg "$MD/.$long" 999
ch up; expect_rc 1 "a folder the server will not create"
expect_err_contains "CREATE: the server says NO [CANNOT] Mailbox name too long" "the server's answer, in its words"
expect_out_contains "folder $long <-> $long" "on the folder's line"
expect_out_contains "1 folders failed" "one folder failed, the others were synced"
rm -r "${MD:?}/.$long"
ch up; expect_ok "without it the channel is whole again"
expect_out_contains "dv: 0 copied" "and copies nothing twice"

# --- over quota: APPEND refused with [OVERQUOTA] (Dovecot's quota plugin, 40 KiB) -------
Q=${U}q
t_imapd adduser "$Q" 40K
sed -i "s/ user $U / user $Q /" "$CONF"
rm -rf "$T_TMP/state"
ch up; expect_rc 1 "a mailbox over its quota"
expect_out_contains "folder INBOX: the server refused message" "the refusal names the folder"
expect_out_contains "[OVERQUOTA] Quota exceeded" "and gives the server's words"
expect_out_contains "<m20@faults>: not copied to dv" "and names each message left behind"
got=$(t_imapd doveadm fetch -u "$Q" 'hdr.message-id' all 2>/dev/null | grep -c '^hdr.message-id:')
[ "$got" -gt 0 ] && [ "$got" -lt 10 ] && t_ok || t_fail "what fits in 40 KiB was stored, $got messages"
ch up; expect_rc 1 "the rerun still meets the quota"
expect_out_contains "dv: 0 copied" "and copies nothing twice"
expect_eq "$(t_imapd doveadm fetch -u "$Q" 'hdr.message-id' all 2>/dev/null | grep '^hdr.message-id:' | sort | uniq -d)" "" \
	"no message twice on the server"
t_done
