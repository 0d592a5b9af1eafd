#!/usr/bin/env bash
# The channel benchmark (issue 14, "Speed").  Generates a deterministic
# Maildir tree of N messages in 10 folders (bench/gen_datadir --maildir:
# sizes 1 KB to 2 MB, flags, 1% without Message-ID, 1% byte-identical
# duplicates) and times, for each tool and target, against baselines
# measured in the same run over the same trees (warm page cache for all):
#   first sync     to an empty target        vs  cp -r of the same tree, and
#                                                cp -r && sync (cp -r makes nothing durable)
#   no-op resync   nothing changed           vs  find over both trees
#   second run     right after the first sync (one run) vs  the tool's no-op
#   resync         after 1% new + 1% deleted on each side   vs  the tool's no-op
#   peak memory    maximum RSS of the first sync above the RSS of the same
#                  command on an empty tree, per message
# Tools and targets:
#   mstore   Maildir -> empty Maildir, Maildir -> empty mbox directory
#   mbsync   Maildir -> empty Maildir (isync has no mbox store)
#   mailsync mbox    -> empty mbox directory: Debian's c-client has no
#            Maildir driver (it lists a Maildir's files as mailboxes), so
#            mailsync gets the same messages as one mbox file per folder
# and prints how many of the N messages each tool ended with on each side.
# Each timing is the median of R runs (fresh copies of the trees for each
# first sync; the resync's new and deleted messages differ per run).
#
# usage: bench/channel.sh [-n N] [-r R] [-d WORKDIR] [-t TOOLS]
#        N: 10000 (default) or 100000; TOOLS: mstore,mbsync,mailsync
# Run as root: mailsync's c-client runs as root in "anonymous" mode and
# resolves local names below /var/mail/anonymous, where the script puts a
# symbolic link to its mailsync tree for the run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
N=10000 R=3 WORK=${BENCH_DIR:-$root/bench/out} TOOLS=mstore,mbsync,mailsync
while getopts n:r:d:t: o; do
	case $o in
	n) N=$OPTARG ;; r) R=$OPTARG ;; d) WORK=$OPTARG ;; t) TOOLS=$OPTARG ;;
	*) echo "usage: bench/channel.sh [-n N] [-r R] [-d WORKDIR] [-t mstore,mbsync,mailsync]" >&2; exit 2 ;;
	esac
done
[ "$N" -ge 1000 ] || { echo "channel.sh: N must be at least 1000 (1% of it is changed)" >&2; exit 2; }

scripts/install-deps.sh --bench
[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release >/dev/null
ninja -C build-bench >/dev/null
MSTORE=$root/build-bench/mstore
GEN=$root/build-bench/bench/gen_datadir
FOLDERS=10

base=$WORK/channel-n$N
mkdir -p "$WORK"
. bench/lib.sh
if [ ! -f "$base/.complete" ]; then
	rm -rf "$base"
	echo "generating $N messages in $FOLDERS Maildir folders in $base ..." >&2
	"$GEN" --maildir "$FOLDERS" --seed 11 --messages "$N" --noid-percent 1 --dup-percent 1 "$base/src"
	mbox_tree "$base/src" "$base/src-mbox"
	touch "$base/.complete"
fi
SRC=$base/src SRCMB=$base/src-mbox
R1=$(( N / 100 ))

# timed CMD...: runs CMD, prints "SECONDS PEAK_KB"; exit 1 (something left
# undone: mstore's duplicates are not, but a tool's warning may be) is not
# taken for a failure, only what the caller checks after
timed() {
	/usr/bin/time -f '%e %M' -o "$WORK/time.out" "$@" >"$WORK/cmd.out" 2>"$WORK/cmd.err" || {
		echo "benchmark command failed: $*" >&2; tail -5 "$WORK/cmd.err" >&2; exit 1; }
	cat "$WORK/time.out"
}
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.001; printf "%.2f", a / b }'; }
# --- the tools: setup (untimed), sync (timed), counts ----------------------------------------
# A pair lives in $P: a/ (the source copy), b/ (the target), state/.
P=$WORK/pair
mkdir -p "$WORK/empty-src/INBOX"/{cur,new,tmp} "$WORK/empty-mbox"
: > "$WORK/empty-mbox/INBOX"

# setup TOOL TARGET SOURCE: fresh copies in $P, the tool's configuration
setup() {
	local tool=$1 target=$2 src=$3
	rm -rf "$P"; mkdir -p "$P/state"
	cp -r "$src" "$P/a"
	if [ "$target" = maildir ]; then mkdir -p "$P/b/INBOX"/{cur,new,tmp}; else mkdir -p "$P/b"; fi
	case $tool in
	mstore)
		cat > "$P/ch.conf" <<-EOF
		store a { kind maildir path $P/a layout verbatim }
		store b { kind $target path $P/b $([ "$target" = maildir ] && echo layout verbatim) }
		channel ab a b { }
		EOF
		;;
	mbsync)
		# Maildir <-> Maildir both ways, folders created and removed,
		# deletions propagated (expunged) as mstore does
		cat > "$P/mbsyncrc" <<-EOF
		MaildirStore a
		Path $P/a/
		Inbox $P/a/INBOX
		SubFolders Verbatim

		MaildirStore b
		Path $P/b/
		Inbox $P/b/INBOX
		SubFolders Verbatim

		Channel ab
		Far :a:
		Near :b:
		Patterns *
		Create Both
		Remove Both
		Expunge Both
		CopyArrivalDate yes
		SyncState $P/state/
		EOF
		;;
	mailsync)
		# c-client (as root: anonymous) resolves names below its
		# anonymous home; msinfo must be relative (mailsync's TODO)
		ln -sfn "$P" "$ANON_LINK"
		local l=${ANON_LINK##*/}
		cat > "$P/mailsyncrc" <<-EOF
		store a { pat $l/a/* prefix $l/a/ }
		store b { pat $l/b/* prefix $l/b/ }
		channel ab a b { msinfo $l/state/msinfo }
		EOF
		;;
	esac
}
# sync TOOL: one timed run of the pair's channel ("SECONDS PEAK_KB")
sync() {
	case $1 in
	mstore) timed sh -c '"$0" channel --state-dir "$1" -f "$2" ab; [ $? -le 1 ]' "$MSTORE" "$P/state" "$P/ch.conf" ;;
	mbsync) timed mbsync -q -c "$P/mbsyncrc" ab ;;
	mailsync) timed mailsync -f "$P/mailsyncrc" ab ;;
	esac
}
count() { # count TARGET DIR
	if [ -d "$2/INBOX" ]; then md_count "$2"; else mb_count "$2"; fi
}

# change TARGET K: 1% new and 1% deleted messages on each side (run K's own)
change() {
	local target=$1 k=$2 side gen_dir seed=$(( 100 + 2 * $2 ))
	for side in a b; do
		gen_dir=$WORK/new-$side
		rm -rf "$gen_dir"
		seed=$(( seed + 1 ))
		"$GEN" --maildir 1 --seed "$seed" --messages "$R1" --noid-percent 1 --dup-percent 0 "$gen_dir"
		change_side "$P/$side" "$gen_dir" "$k"
	done
}
[ "$TOOLS" != "${TOOLS/mailsync/}" ] && mkdir -p -m 700 /var/mail/anonymous
ANON_LINK=/var/mail/anonymous/mstore-bench-$$
cleanup() { rm -f "$ANON_LINK"; }
trap cleanup EXIT

# --- baselines --------------------------------------------------------------------------------
cat "$SRC"/*/cur/* "$SRC"/*/new/* >/dev/null 2>&1 || true
cp_s=$(for _ in $(seq "$R"); do rm -rf "$WORK/cp"; timed cp -r "$SRC" "$WORK/cp" | cut -d' ' -f1; done | median)
# cp -r makes nothing durable; a sync tool does: the same copy and a flush
cps_s=$(for _ in $(seq "$R"); do rm -rf "$WORK/cp"; command sync; timed sh -c 'cp -r "$0" "$1" && sync' "$SRC" "$WORK/cp" | cut -d' ' -f1; done | median)
rm -rf "$WORK/cp"

echo
echo "mstore channel benchmark: N=$N messages in $FOLDERS folders ($(du -sh "$SRC" | cut -f1)), $(nproc) CPUs," \
	"load $(cut -d' ' -f1-3 /proc/loadavg), median of $R"
echo "baselines: cp -r of the source tree ${cp_s}s, cp -r && sync ${cps_s}s; find over both trees: per pair below"
printf '%-9s %-8s %9s %7s %7s %9s %7s %9s %7s %8s %8s %8s\n' tool target first /cp /cpsync noop /find resync /noop 'B/msg' 'ended A' 'ended B'

# bench TOOL TARGET SOURCE
bench() {
	local tool=$1 target=$2 src=$3 s kb first=() kbs=() noop=() resync=()
	# the fixed cost: the same command on an empty source
	setup "$tool" "$target" "$([ "$tool" = mailsync ] && echo "$WORK/empty-mbox" || echo "$WORK/empty-src")"
	read -r _ base_kb < <(sync "$tool")
	for _ in $(seq "$R"); do
		setup "$tool" "$target" "$src"
		read -r s kb < <(sync "$tool")
		first+=("$s"); kbs+=("$kb")
	done
	local na nb; na=$(count "$target" "$P/a"); nb=$(count "$target" "$P/b")
	# the run right after the first sync (it settles what that sync left
	# to learn), then the no-op against find over the same two trees
	local second_s
	read -r second_s _ < <(sync "$tool")
	local find_s
	find_s=$(for _ in $(seq "$R"); do timed find "$P/a" "$P/b" | cut -d' ' -f1; done | median)
	for _ in $(seq "$R"); do read -r s _ < <(sync "$tool"); noop+=("$s"); done
	for k in $(seq "$R"); do
		change "$target" "$k"
		read -r s _ < <(sync "$tool")
		resync+=("$s")
	done
	local first_s noop_s resync_s kb_max
	first_s=$(printf '%s\n' "${first[@]}" | median)
	noop_s=$(printf '%s\n' "${noop[@]}" | median)
	resync_s=$(printf '%s\n' "${resync[@]}" | median)
	kb_max=$(printf '%s\n' "${kbs[@]}" | sort -n | tail -1)
	printf '%-9s %-8s %8.2fs %6sx %6sx %8.2fs %6sx %8.2fs %6sx %8s %8s %8s\n' "$tool" "$target" \
		"$first_s" "$(ratio "$first_s" "$cp_s")" "$(ratio "$first_s" "$cps_s")" "$noop_s" "$(ratio "$noop_s" "$find_s")" \
		"$resync_s" "$(ratio "$resync_s" "$noop_s")" "$(( (kb_max - base_kb) * 1024 / N ))" "$na" "$nb"
	echo "          (second run ${second_s}s, $(ratio "$second_s" "$noop_s")x the no-op; find over both trees ${find_s}s;" \
		"peak ${kb_max} KB, empty-tree ${base_kb} KB)"
}
for t in ${TOOLS//,/ }; do
	case $t in
	mstore) bench mstore maildir "$SRC"; bench mstore mbox "$SRC" ;;
	mbsync) bench mbsync maildir "$SRC" ;;
	mailsync) bench mailsync mbox "$SRCMB" ;;
	*) echo "channel.sh: unknown tool $t" >&2; exit 2 ;;
	esac
done
echo
echo "targets (mstore): first <= 2x cp -r; no-op <= 1.5x find; resync <= 2x no-op; <= 500 B/msg;" \
	"'ended A/B': messages on each side after the first sync (of N=$N generated, 1% of them duplicates)"
