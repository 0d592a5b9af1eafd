#!/usr/bin/env bash
# The IMAP benchmark (issue 15, "Speed"): mstore channel, mbsync (isync) and
# mailsync between a local store and a Dovecot on loopback
# (tests/imap-server.sh, plain IMAP, no TLS: the figures are the tools', not
# OpenSSL's), side by side in one run, each tool against fresh server users.
# The local store is a Maildir tree (bench/gen_datadir --maildir: N messages
# in 10 folders, 1 KB to 2 MB, 1% without Message-ID, 1% byte-identical
# duplicates); mailsync gets the same messages as one mbox file per folder
# (Debian's c-client has no Maildir driver) and a `server {...}` store.
# Figures (seconds, and the peak RSS of the first syncs per message):
#   up       the local tree to an empty server user
#   down     a server user holding the same tree (its Maildir copied into
#            Dovecot's, untimed) to an empty local store
#   no-op    the up pair, nothing changed (median of 3, after one untimed
#            settling run)
#   resync   after 1% new + 1% deleted on each side
#   flags    after \Flagged toggled on 1% of the local messages (not for
#            mailsync's mbox) and added to up to 1% on the server
#   STATUS   the baseline of the no-op: bench/imap_status.sh, one login,
#            one STATUS (MESSAGES UIDNEXT HIGHESTMODSEQ) per folder and the
#            logout over one connection, median of 5 (the target: an mstore
#            no-op at most 1.2x of it)
# and each tool's message count on both sides after the first syncs and at
# the end (mstore copies each identity once and reports the duplicates;
# mbsync copies by UID; mailsync drops Message-ID-less messages), and the
# 1-minute load average when the tool's row is printed.
#
# usage: bench/imap.sh [-n N] [-t mstore,mbsync,mailsync] [-d WORKDIR]
# The Dovecot instance is $MSTORE_TEST_IMAP (default /tmp/mstore-bench-imap)
# on $MSTORE_TEST_IMAP_PORT; started here unless it runs, and stopped at the
# end if started here.  MSTORE=PATH times that binary instead of building
# build-bench (release).  As root, mailsync runs as a throwaway user of its
# own (tests/lib/mailsync.sh: c-client as root goes "anonymous").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
N=10000 TOOLS=mstore,mbsync,mailsync WORK=${BENCH_DIR:-$root/bench/out}
while getopts n:t:d: o; do
	case $o in
	n) N=$OPTARG ;; t) TOOLS=$OPTARG ;; d) WORK=$OPTARG ;;
	*) echo "usage: bench/imap.sh [-n N] [-t mstore,mbsync,mailsync] [-d WORKDIR]" >&2; exit 2 ;;
	esac
done
[ "$N" -ge 100 ] || { echo "imap.sh: N must be at least 100 (1% of it is changed)" >&2; exit 2; }
# the peers are needed by this script alone (not by the build or the tests)
command -v mbsync >/dev/null || apt-get install -y isync >/dev/null
command -v mailsync >/dev/null || apt-get install -y mailsync >/dev/null
if [ -z "${MSTORE:-}" ]; then
	[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release >/dev/null
	ninja -C build-bench >/dev/null
	MSTORE=$root/build-bench/mstore
fi
GEN=${GEN:-$(dirname "$MSTORE")/bench/gen_datadir}
. bench/lib.sh
export MSTORE_TEST_IMAP=${MSTORE_TEST_IMAP:-/tmp/mstore-bench-imap}
started=
if ! tests/imap-server.sh status >/dev/null; then tests/imap-server.sh start; started=1; fi
# shellcheck disable=SC1091
. "$MSTORE_TEST_IMAP/env"
cleanup() { [ -z "$started" ] || tests/imap-server.sh stop; }
trap cleanup EXIT
imapd() { tests/imap-server.sh "$@"; }
MAILDIRS=$MSTORE_TEST_IMAP_DIR/mail
# a mailsync run may take many minutes at N = 50,000
export T_MAILSYNC_TIMEOUT=3600

SRC=$WORK/imap-n$N
if [ ! -f "$SRC/.complete" ]; then
	rm -rf "$SRC"
	"$GEN" --maildir 10 --seed 15 --messages "$N" --noid-percent 1 --dup-percent 1 "$SRC/tree" >/dev/null
	touch "$SRC/.complete"
fi
if [ "$TOOLS" != "${TOOLS/mailsync/}" ] && [ ! -f "$SRC/.mbox-complete" ]; then
	rm -rf "$SRC/mbox"; mbox_tree "$SRC/tree" "$SRC/mbox"; touch "$SRC/.mbox-complete"
fi
P=$WORK/imap-pair
mkdir -p "$WORK"
timed() { # timed CMD...: prints "SECONDS PEAK_KB"; exit 1 (something reported) is not a failure
	local rc=0
	/usr/bin/time -f '%e %M' -o "$WORK/time.out" "$@" >"$WORK/cmd.out" 2>"$WORK/cmd.err" || rc=$?
	[ "$rc" -le 1 ] || { echo "benchmark command failed ($rc): $*" >&2; tail -5 "$WORK/cmd.err" >&2; exit 1; }
	cat "$WORK/time.out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.01; printf "%.2f", a / b }'; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
on_server() { imapd doveadm mailbox status -u "$1" -t messages '*' 2>/dev/null | sed 's/.*messages=//'; }
local_dir() { if [ "$1" = mailsync ]; then echo "$P/home/mst"; else echo "$P/local"; fi; }
on_local() { if [ "$1" = mailsync ]; then mb_count "$(local_dir "$1")"; else md_count "$(local_dir "$1")"; fi; }

# srv_fill USER: the tree as USER's mail, written into Dovecot's Maildir++
# directory (INBOX at the top, folder F as .F) and indexed, untimed
srv_fill() {
	local d=$MAILDIRS/$1/Maildir f name
	mkdir -p "$d"
	cp -r "$SRC/tree/INBOX/." "$d/"
	for f in "$SRC/tree"/*/; do
		name=${f%/}; name=${name##*/}
		[ "$name" = INBOX ] || cp -r "$f" "$d/.$name"
	done
	chown -R "$(stat -c %u:%g "$MAILDIRS")" "$MAILDIRS/$1"
	on_server "$1" >/dev/null
}

# setup TOOL USER FILLED: a fresh pair in $P, the local side a copy of the
# tree (FILLED=1) or empty, and the tool's configuration
setup() {
	local tool=$1 user=$2 filled=$3
	rm -rf "$P"; mkdir -p "$P/state" "$P/home"
	imapd adduser "$user"
	case $tool in
	mailsync)
		if [ "$filled" = 1 ]; then cp -r "$SRC/mbox" "$P/home/mst"; else mkdir -p "$P/home/mst"; fi
		: > "$P/home/msinfo"   # mailsync needs its msinfo mailbox to exist
		local s="{localhost:$MSTORE_TEST_IMAP_PORT/imap/notls/user=$user}"
		cat > "$P/home/conf" <<-EOF
		store dv { server $s ref $s pat * passwd $MSTORE_TEST_IMAP_PASSWORD }
		store local { pat mst/* prefix mst/ }
		channel c local dv { msinfo msinfo }
		EOF
		return ;;
	esac
	if [ "$filled" = 1 ]; then cp -r "$SRC/tree" "$P/local"; else mkdir -p "$P/local"; fi
	case $tool in
	mstore) cat > "$P/conf" <<-EOF
		store local { kind maildir path $P/local layout verbatim create yes }
		store dv { kind imap host localhost port $MSTORE_TEST_IMAP_PORT tls none user $user passwd $MSTORE_TEST_IMAP_PASSWORD }
		channel c local dv { }
		EOF
		;;
	mbsync) cat > "$P/conf" <<-EOF
		IMAPAccount dv
		Host localhost
		Port $MSTORE_TEST_IMAP_PORT
		User $user
		Pass $MSTORE_TEST_IMAP_PASSWORD
		SSLType None
		AuthMechs LOGIN

		IMAPStore dv
		Account dv

		MaildirStore local
		Path $P/local/
		Inbox $P/local/INBOX
		SubFolders Verbatim

		Channel c
		Far :dv:
		Near :local:
		Patterns *
		Create Both
		Expunge Both
		CopyArrivalDate yes
		SyncState $P/state/
		EOF
		;;
	esac
}
sync() { # sync TOOL: one timed run of the pair's channel ("SECONDS PEAK_KB")
	case $1 in
	mstore) timed "$MSTORE" channel --state-dir "$P/state" -f "$P/conf" c ;;
	mbsync) timed mbsync -q -c "$P/conf" c ;;
	mailsync) timed env HOME="$P/home" T_TMP="$P" bash -c '. "$1"; shift; t_run_mailsync "$@"' _ \
		"$root/tests/lib/mailsync.sh" -f "$P/home/conf" c ;;
	esac
}
# server_new USER SEED: 1% new messages delivered into USER's INBOX on the
# server (Maildir delivery into its new/, as an MDA does)
server_new() {
	rm -rf "$WORK/new-srv"
	"$GEN" --maildir 1 --seed "$2" --messages $((N / 100)) --noid-percent 1 --dup-percent 0 "$WORK/new-srv" >/dev/null
	local d=$MAILDIRS/$1/Maildir/new
	find "$WORK/new-srv/INBOX" -type f -exec mv -t "$d/" {} +
	chown -R "$(stat -c %u:%g "$MAILDIRS")" "$d"
}
# change TOOL USER: 1% new and 1% deleted on each side
change() {
	rm -rf "$WORK/new"
	"$GEN" --maildir 1 --seed 77 --messages $((N / 100)) --noid-percent 1 --dup-percent 0 "$WORK/new" >/dev/null
	change_side "$(local_dir "$1")" "$WORK/new" 1
	imapd doveadm expunge -u "$2" mailbox INBOX uid "1:$((N / 100))"
	server_new "$2" 78
}
# flags TOOL USER: \Flagged toggled on every 100th local message file in
# cur/ (a Maildir's), and added on the server to up to 1% of the messages
# (N/1000 UIDs per folder, well above the expunged ones)
flags() {
	local f fl nf
	if [ "$1" != mailsync ]; then
		find "$P/local" -path '*/cur/*' -type f | LC_ALL=C sort | awk 'NR % 100 == 50' | while IFS= read -r f; do
			fl=${f##*:2,}
			if [[ $fl == *F* ]]; then nf=${fl//F/}; else nf=$(printf '%sF' "$fl" | fold -w1 | LC_ALL=C sort | tr -d '\n'); fi
			mv "$f" "${f%:2,*}:2,$nf"
		done
	fi
	local a=$((N / 20))
	imapd doveadm flags add -u "$2" '\Flagged' mailbox '*' uid "$a:$((a + N / 1000 - 1))"
}
# status_baseline USER: median of 5 runs of bench/imap_status.sh over USER's folders
status_baseline() {
	local boxes t0 t1
	mapfile -t boxes < <(imapd doveadm mailbox list -u "$1")
	for _ in 1 2 3 4 5; do
		t0=$EPOCHREALTIME
		IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD bench/imap_status.sh 127.0.0.1 "$MSTORE_TEST_IMAP_PORT" "$1" "${boxes[@]}" >/dev/null
		t1=$EPOCHREALTIME
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
	done | median
}
bpm() { awk -v kb="$1" -v n="$N" 'BEGIN { printf "%d", kb * 1024 / n }'; }

echo "mstore, mbsync and mailsync over IMAP: N=$N messages in 10 folders ($(du -sh "$SRC/tree" | cut -f1))," \
	"Dovecot on loopback, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %8s %8s %8s %8s %8s %9s %9s %13s %13s %13s %6s\n' tool up down no-op resync flags 'B/msg up' 'B/msg dn' \
	'up: loc/srv' 'down: loc/srv' 'end: loc/srv' load
declare -A up down noop resync flagsync status
for t in ${TOOLS//,/ }; do
	case $t in mstore | mbsync | mailsync) ;; *) echo "imap.sh: unknown tool $t" >&2; exit 2 ;; esac
	# down: a filled server user to an empty local store
	u=bd$t$$
	setup "$t" "$u" 0
	srv_fill "$u"
	read -r "down[$t]" kb_dn < <(sync "$t")
	counts_dn="$(on_local "$t")/$(on_server "$u")"
	# up: the local tree to an empty server user, then the resyncs
	u=bu$t$$
	setup "$t" "$u" 1
	read -r "up[$t]" kb_up < <(sync "$t")
	counts_up="$(on_local "$t")/$(on_server "$u")"
	# settle: mstore's first resync digests (fetches) the copied messages
	# without a Message-ID once, to learn their keys; the no-op is the run after
	sync "$t" >/dev/null
	noop[$t]=$(for _ in 1 2 3; do sync "$t" | cut -d' ' -f1; done | median)
	[ "$t" != mstore ] || status[$t]=$(status_baseline "$u")
	change "$t" "$u"
	read -r "resync[$t]" _ < <(sync "$t")
	flags "$t" "$u"
	read -r "flagsync[$t]" _ < <(sync "$t")
	counts_end="$(on_local "$t")/$(on_server "$u")"
	printf '%-8s %7.2fs %7.2fs %7.2fs %7.2fs %7.2fs %9s %9s %13s %13s %13s %6s\n' "$t" "${up[$t]}" "${down[$t]}" "${noop[$t]}" \
		"${resync[$t]}" "${flagsync[$t]}" "$(bpm "$kb_up")" "$(bpm "$kb_dn")" "$counts_up" "$counts_dn" "$counts_end" \
		"$(cut -d' ' -f1 /proc/loadavg)"
done
if [ -n "${status[mstore]:-}" ]; then
	echo "STATUS baseline (login, STATUS per folder, logout; process included): ${status[mstore]}s;" \
		"mstore no-op / STATUS: $(ratio "${noop[mstore]}" "${status[mstore]}")x (target <= 1.2)"
fi
for peer in mbsync mailsync; do
	[ -n "${up[mstore]:-}" ] && [ -n "${up[$peer]:-}" ] || continue
	echo "mstore / $peer: up $(ratio "${up[mstore]}" "${up[$peer]}")x, down $(ratio "${down[mstore]}" "${down[$peer]}")x," \
		"no-op $(ratio "${noop[mstore]}" "${noop[$peer]}")x, resync $(ratio "${resync[mstore]}" "${resync[$peer]}")x," \
		"flags $(ratio "${flagsync[mstore]}" "${flagsync[$peer]}")x (below 1: mstore faster)"
done
echo "B/msg: peak RSS of the first sync / N (target <= 500); loc/srv: messages on the local side / on the server" \
	"(of N=$N generated, 1% duplicates, 1% without Message-ID); load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
