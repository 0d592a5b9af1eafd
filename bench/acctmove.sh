#!/usr/bin/env bash
# bench/acctmove.sh - issue 16's account move figure, a ratio to a baseline
# measured in the same run: `mstore folder rename user/A/INBOX user/B/INBOX`
# of an account of M messages (default 10,000, delivered by `mstore deliver
# --mbox`) against one `mv` of its directory (best of 6 each: the move
# there and back three times, each mv alone).  SQLite store in a temporary directory; usage: bench/acctmove.sh
# [-b BUILD] [-m M].  BUILD defaults to build-bench.
set -eu
BUILD=build-bench M=10000
while getopts b:m: o; do
	case $o in b) BUILD=$OPTARG ;; m) M=$OPTARG ;; *) exit 2 ;; esac
done
. "$(dirname "$0")/lib.sh"
bench_store acctmove
"$MS" account add a@example.com "${S[@]}" >/dev/null
awk -v m="$M" 'BEGIN {
	for (i = 1; i <= m; i++)
		printf "From s@example.org Mon Jan  1 10:00:00 2024\nFrom: s%d@example.org\nSubject: message %d\n\nbody %d\n\n", i, i, i
}' >"$W/in.mbox"
"$MS" deliver a@example.com --mbox "$W/in.mbox" "${S[@]}" >/dev/null
sync

# bash's own clock, read inline: no `date` or subshell forked around the
# timed command (their few milliseconds were counted whole for mstore and
# halved for the pair of mv's the old loop timed together)
bm=999999999 bv=999999999
for _ in 1 2 3; do
	for pair in "a b" "b a"; do
		set -- $pair
		s=${EPOCHREALTIME/./}; "$MS" folder rename "user/$1@example.com/INBOX" "user/$2@example.com/INBOX" "${S[@]}" >/dev/null
		e=${EPOCHREALTIME/./}; t=$((e - s)); [ "$t" -lt "$bm" ] && bm=$t
		# one mv of the directory, timed alone, there and back
		for hop in "$2 x" "x $2"; do
			set -- $hop
			s=${EPOCHREALTIME/./}; mv "$W/Data/example.com/$1" "$W/Data/example.com/$2"
			e=${EPOCHREALTIME/./}; t=$((e - s)); [ "$t" -lt "$bv" ] && bv=$t
		done
	done
done
bm=$(awk -v u="$bm" 'BEGIN { printf "%.1f", u / 1000 }') bv=$(awk -v u="$bv" 'BEGIN { printf "%.1f", u / 1000 }')
echo "account move, $M messages: mstore folder rename ${bm} ms, mv of the directory ${bv} ms, ratio $(awk -v a="$bm" -v b="$bv" 'BEGIN { printf "%.2f", a / (b ? b : 1) }')"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$MS" reconstruct -n --settle 0 "${S[@]}" >/dev/null && echo "reconstruct -n: clean" || echo "reconstruct -n: findings"
