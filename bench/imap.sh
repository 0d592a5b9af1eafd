#!/usr/bin/env bash
# The IMAP benchmark (issue 15, "Speed"): mstore channel and mbsync (isync)
# between a local Maildir tree and a Dovecot on loopback (tests/imap-server.sh,
# plain IMAP, no TLS: the figures are the tools', not OpenSSL's), side by
# side in one run, each against a fresh server user:
#   first sync   the Maildir tree (bench/gen_datadir --maildir: N messages in
#                10 folders, 1 KB to 2 MB) to the empty server
#   no-op        nothing changed (after one untimed settling run)
#   resync       after 1% new messages in the Maildir and 1% expunged on the server
# and how many messages each tool ended with on the server (of N, 1% of
# them byte-identical duplicates that mstore copies once and reports).
#
# usage: bench/imap.sh [-n N] [-t mstore,mbsync] [-d WORKDIR]
# The Dovecot instance is $MSTORE_TEST_IMAP (default /tmp/mstore-bench-imap)
# on $MSTORE_TEST_IMAP_PORT; started here unless it runs, and stopped at the
# end if started here.  MSTORE=PATH times that binary instead of building
# build-bench (release).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
N=10000 TOOLS=mstore,mbsync WORK=${BENCH_DIR:-$root/bench/out}
while getopts n:t:d: o; do
	case $o in
	n) N=$OPTARG ;; t) TOOLS=$OPTARG ;; d) WORK=$OPTARG ;;
	*) echo "usage: bench/imap.sh [-n N] [-t mstore,mbsync] [-d WORKDIR]" >&2; exit 2 ;;
	esac
done
[ "$N" -ge 100 ] || { echo "imap.sh: N must be at least 100 (1% of it is changed)" >&2; exit 2; }
# isync is the peer, needed by this script alone (not by the build or the tests)
command -v mbsync >/dev/null || apt-get install -y isync >/dev/null
if [ -z "${MSTORE:-}" ]; then
	[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release >/dev/null
	ninja -C build-bench >/dev/null
	MSTORE=$root/build-bench/mstore
fi
GEN=${GEN:-$(dirname "$MSTORE")/bench/gen_datadir}
export MSTORE_TEST_IMAP=${MSTORE_TEST_IMAP:-/tmp/mstore-bench-imap}
started=
if ! tests/imap-server.sh status >/dev/null; then tests/imap-server.sh start; started=1; fi
# shellcheck disable=SC1091
. "$MSTORE_TEST_IMAP/env"
cleanup() { [ -z "$started" ] || tests/imap-server.sh stop; }
trap cleanup EXIT
imapd() { tests/imap-server.sh "$@"; }

SRC=$WORK/imap-n$N
if [ ! -f "$SRC/.complete" ]; then
	rm -rf "$SRC"
	"$GEN" --maildir 10 --seed 15 --messages "$N" --noid-percent 1 --dup-percent 1 "$SRC/tree" >/dev/null
	touch "$SRC/.complete"
fi
P=$WORK/imap-pair
timed() { # timed CMD...: prints SECONDS; exit 1 (something reported) is not a failure
	local rc=0
	/usr/bin/time -f '%e' -o "$WORK/time.out" "$@" >"$WORK/cmd.out" 2>"$WORK/cmd.err" || rc=$?
	[ "$rc" -le 1 ] || { echo "benchmark command failed ($rc): $*" >&2; tail -5 "$WORK/cmd.err" >&2; exit 1; }
	cat "$WORK/time.out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.01; printf "%.2f", a / b }'; }
on_server() { imapd doveadm mailbox status -u "$1" -t messages '*' 2>/dev/null | sed 's/.*messages=//'; }

# setup TOOL USER: a copy of the tree in $P/local, the tool's configuration
setup() {
	rm -rf "$P"; mkdir -p "$P/state"; cp -r "$SRC/tree" "$P/local"
	imapd adduser "$2"
	case $1 in
	mstore) cat > "$P/conf" <<-EOF
		store local { kind maildir path $P/local layout verbatim }
		store dv { kind imap host localhost port $MSTORE_TEST_IMAP_PORT tls none user $2 passwd $MSTORE_TEST_IMAP_PASSWORD }
		channel c local dv { }
		EOF
		;;
	mbsync) cat > "$P/conf" <<-EOF
		IMAPAccount dv
		Host localhost
		Port $MSTORE_TEST_IMAP_PORT
		User $2
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
sync() {
	case $1 in
	mstore) timed "$MSTORE" channel --state-dir "$P/state" -f "$P/conf" c ;;
	mbsync) timed mbsync -q -c "$P/conf" c ;;
	esac
}
# change USER: 1% new messages in the local INBOX, 1% of the server's INBOX expunged
change() {
	rm -rf "$WORK/new"
	"$GEN" --maildir 1 --seed 77 --messages $((N / 100)) --noid-percent 0 --dup-percent 0 "$WORK/new" >/dev/null
	mv "$WORK/new/INBOX/cur"/* "$P/local/INBOX/cur/" 2>/dev/null || true
	mv "$WORK/new/INBOX/new"/* "$P/local/INBOX/new/" 2>/dev/null || true
	imapd doveadm expunge -u "$1" mailbox INBOX uid "1:$((N / 100))"
}

echo "mstore vs mbsync over IMAP: N=$N messages in 10 folders ($(du -sh "$SRC/tree" | cut -f1)), Dovecot on loopback," \
	"$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-7s %9s %9s %9s %10s\n' tool first noop resync 'on server'
declare -A first noop resync
for t in ${TOOLS//,/ }; do
	u=bench$t$$
	setup "$t" "$u"
	first[$t]=$(sync "$t")
	n_srv=$(on_server "$u")
	# settle: mstore's first resync digests (fetches) the copied messages
	# without a Message-ID once, to learn their keys; the no-op is the run after
	sync "$t" >/dev/null
	noop[$t]=$(sync "$t")
	change "$u"
	resync[$t]=$(sync "$t")
	printf '%-7s %8.2fs %8.2fs %8.2fs %10s\n' "$t" "${first[$t]}" "${noop[$t]}" "${resync[$t]}" "$n_srv"
done
if [ -n "${first[mstore]:-}" ] && [ -n "${first[mbsync]:-}" ]; then
	echo "mstore / mbsync: first $(ratio "${first[mstore]}" "${first[mbsync]}")x," \
		"no-op $(ratio "${noop[mstore]}" "${noop[mbsync]}")x, resync $(ratio "${resync[mstore]}" "${resync[mbsync]}")x (below 1: mstore faster)"
fi
