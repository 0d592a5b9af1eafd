#!/usr/bin/env bash
# An hMailServer store on the test's database and a real Dovecot
# (tests/imap-server.sh), the connection between them dropped by
# tests/tools/faultproxy.c: mid-append (hMailServer -> Dovecot) and
# mid-fetch (Dovecot -> a second hMailServer account).  Each failed run
# exits 1 naming the server; a rerun straight to Dovecot finishes the job
# and `mstore diff` finds the stores equal, nothing twice.  Once per
# database (test_channel_imap_faults.sh has the other faults).
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
t_need_imap
: "${FAULTPROXY:?FAULTPROXY not set (the meson test environment sets it)}"
export TZ=UTC

U=f$$${MSTORE_TEST_BACKEND}
t_imapd adduser "$U" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD
MD=$T_TMP/md
mkdir -p "$MD"/{cur,new,tmp}
N=40
body=$(head -c 6000 /dev/zero | tr '\0' 'y' | fold -w 76)
for ((i = 1; i <= N; i++)); do
	printf 'From: a@example.org\nSubject: h%s\nMessage-ID: <h%s@faults>\n\n%s\n' "$i" "$i" "$body" \
		> "$MD/cur/$((1700000000 + i)).M$i.host:2,S"
done

URL=$(t_new_db chfault)
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
mst init "$URL" --data "$D"; expect_ok "init"
M domain add example.com; expect_ok "domain"
M account add ann@example.com; expect_ok "account ann"
M account add bob@example.com; expect_ok "account bob"
CONF=$T_TMP/channels.conf
conf() { # conf PORT: the server store `dv` on PORT
	cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store ann { kind hmailserver db $URL data $D account ann@example.com }
store bob { kind hmailserver db $URL data $D account bob@example.com }
store dv { kind imap host localhost port $1 tls none user $U timeout 20 }
channel seed md ann { }
channel up ann dv { }
channel down dv bob { }
CONF
}
PROXY_PID=
proxy_stop() { [ -z "$PROXY_PID" ] || { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=; }; }
trap proxy_stop EXIT
via() { # via FAULT BYTES
	proxy_stop
	rm -f "$T_TMP/port"
	"$FAULTPROXY" "$T_TMP/port" "127.0.0.1:$MSTORE_TEST_IMAP_PORT" "$1" "$2" &
	PROXY_PID=$!
	local w=0
	while [ ! -s "$T_TMP/port" ] && ((w++ < 100)); do sleep 0.05; done
	conf "$(cat "$T_TMP/port")"
}
direct() { proxy_stop; conf "$MSTORE_TEST_IMAP_PORT"; }
ch() { mst channel -f "$CONF" --state-dir "$T_TMP/state" "$@"; }
srv_ids() { t_imapd doveadm fetch -u "$U" 'hdr.message-id' all 2>/dev/null | sed -n 's/^hdr.message-id: //p' | sort; }

direct
ch seed; expect_ok "Maildir -> hMailServer"

via drop-up 120000
ch up; expect_rc 1 "hMailServer -> Dovecot, the connection dropped mid-append"
expect_err_contains "store dv failed: " "the failure names the store"
expect_err_contains "IMAP server localhost:" "and the server"
expect_err_contains "the connection broke" "and the cause"
got=$(srv_ids | wc -l)
[ "$got" -gt 0 ] && [ "$got" -lt "$N" ] && t_ok || t_fail "part of the upload reached the server ($got of $N)"
direct
ch up; expect_ok "the rerun completes the upload"
mst diff -f "$CONF" ann dv; expect_ok "mstore diff finds ann and the server equal"
expect_eq "$(srv_ids | uniq -d)" "" "no message twice on the server"
expect_eq "$(srv_ids | wc -l)" "$N" "every message on the server"

via drop-down 120000
ch down; expect_rc 1 "Dovecot -> hMailServer, the connection dropped mid-fetch"
expect_err_contains "store dv failed: " "the failure names the store"
expect_err_contains "IMAP server localhost:" "and the server"
direct
ch down; expect_ok "the rerun completes the download"
mst diff -f "$CONF" dv bob; expect_ok "mstore diff finds the server and bob equal"
expect_eq "$(t_hm_sig "$URL" "$D" bob@example.com INBOX)" "$(t_hm_sig "$URL" "$D" ann@example.com INBOX)" \
	"bob's INBOX is ann's, message by message with flags, none twice"
t_done
