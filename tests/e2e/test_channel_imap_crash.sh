#!/usr/bin/env bash
# kill -9 at random moments during a first sync of 2,000 messages between a
# Maildir and a real Dovecot (tests/imap-server.sh), both ways, then rerun
# until it exits 0: every message once on the other side (a message the
# server stored whose APPENDUID the killed run never recorded is re-paired
# by identity, not copied again), flags kept, and a final run does
# nothing.  The seed is printed; MSTORE_CHANNEL_CRASH_SEED reruns the same
# kill moments (as far as timing allows).  No database: run once.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_imap
export TZ=UTC
SEED=${MSTORE_CHANNEL_CRASH_SEED:-$(( $(date +%s%N) % 32768 ))}
KILLS=${MSTORE_CHANNEL_CRASH_KILLS:-2}  # 2: ~55 s plain, ~100 s under ASan at load 28
N=${MSTORE_IMAP_CRASH_MESSAGES:-2000}
echo "seed $SEED (MSTORE_CHANNEL_CRASH_SEED=$SEED reproduces), $KILLS kills per direction, $N messages"
RANDOM=$SEED

U=k$$
t_imapd adduser "$U" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD
MD=$T_TMP/md
MD2=$T_TMP/md2
mkdir -p "$MD"/{cur,new,tmp} "$MD/.Sub"/{cur,new,tmp} "$MD2"/{cur,new,tmp}
# N messages of 1-5 KB, one in ten in Sub, one in twenty without a
# Message-ID (identified by content), flags varied; written by one awk
awk -v n="$N" -v md="$MD" 'BEGIN {
	split("S,FS,,RS,S,DS", fl, ",")
	for (i = 1; i <= n; i++) {
		box = (i % 10 == 3) ? md "/.Sub" : md
		f = fl[i % 6 + 1]
		file = box (f == "" ? "/new/" : "/cur/") (1600000000 + i) ".M" i ".gen" (f == "" ? "" : ":2," f)
		printf "From: g%d@example.org\nSubject: message %d\n", i, i > file
		if (i % 20 != 7) printf "Message-ID: <c%d@crash>\n", i > file
		printf "\n" > file
		for (l = 0; l < 15 + (i * 7) % 60; l++) printf "line %d of message %d, padding padding padding\n", l, i > file
		close(file)
	}
}'
CONF=$T_TMP/channels.conf
cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store md2 { kind maildir path $MD2 layout maildir++ }
store dv { kind imap host localhost port $MSTORE_TEST_IMAP_PORT tls none user $U timeout 20 }
channel up md dv { }
channel down dv md2 { }
CONF
ch() { mst channel -f "$CONF" --state-dir "$T_TMP/state" "$@"; }
msig() { local d; for d in "$@"; do t_maildir_sig "$d" | sed "s|^|${d##*/} |"; done; }

# crash_run CHANNEL: KILLS kills at random moments, then reruns until one exits 0
crash_run() {
	local k pid ms tries=0
	for ((k = 0; k < KILLS; k++)); do
		ms=$((200 + RANDOM % 2800))  # a first sync takes some seconds
		"$MSTORE_BIN" channel -f "$CONF" --state-dir "$T_TMP/state" "$1" >/dev/null 2>&1 &
		pid=$!
		sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# how far the killed runs got (timing decides; printed, not checked)
	echo "$1: after $KILLS kills: $(server_view | wc -l) of $N on the server, $(find "$MD2" -type f -path '*/cur/*' | wc -l) in md2"
	while ((tries++ < 5)); do
		ch "$1"
		[ "$T_RC" = 0 ] && break
	done
	expect_ok "$1: a rerun after $KILLS kills completes"
}
# server_view: "FOLDER MESSAGE-ID" per message on the server ("-" without one), from doveadm
server_view() { t_imapd doveadm fetch -u "$U" 'mailbox hdr.message-id' all 2>/dev/null |
	awk '/^mailbox: / { m = $2 } /^hdr.message-id:/ { print m, ($2 == "" ? "-" : $2) }' | sort; }
local_view() { # the same view of a Maildir++ tree
	local d
	for d in "$1" "$1/.Sub"; do
		local box=INBOX; [ "$d" = "$1" ] || box=Sub
		find "$d/cur" "$d/new" -type f -exec awk -v b="$box" '
			FNR == 1 { id = "-" } /^Message-ID: / && id == "-" { id = $2 } /^$/ { print b, id; nextfile }' {} +
	done | sort
}

start=$(date +%s)
crash_run up
want=$(local_view "$MD")
got=$(server_view)
expect_eq "$(echo "$got" | wc -l)" "$N" "up: every message on the server, none twice"
expect_eq "$got" "$want" "up: the server holds the Maildir's messages, folder by folder"
ch up; expect_ok "up: a final run"
expect_out_contains "dv: 0 copied, 0 deleted, 0 pending, 0 flags" "up: the final run does nothing"

crash_run down
expect_eq "$(msig "$MD2" "$MD2/.Sub" | sed 's/^md2 /md /')" "$(msig "$MD" "$MD/.Sub")" \
	"down: md2 holds md's messages with their flags, none twice (through the server)"
ch down; expect_ok "down: a final run"
expect_out_contains "md2: 0 copied, 0 deleted, 0 pending, 0 flags" "down: the final run does nothing"
mst diff -f "$CONF" md md2; expect_ok "mstore diff finds md and md2 equal"
echo "took $(($(date +%s) - start)) s"
t_done
