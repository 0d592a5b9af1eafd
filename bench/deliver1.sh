#!/usr/bin/env bash
# bench/deliver1.sh - one message delivered alone (an MTA's one
# `mstore deliver` per message), on an idle disk and right after another
# writer left D MB (default 200) of data not yet flushed on the same file
# system, each a ratio to the baseline measured the same way in the same
# run: `dd conv=fsync` of the same message into a new file (one process,
# one durable write).  A delivery that flushes the whole file system
# (syncfs) pays for the other writer's data; one that fsyncs its own files
# does not.  Best of R runs (default 5) each.  SQLite store in a temporary
# directory on the file system of TMPDIR; usage: bench/deliver1.sh
# [-b BUILD] [-d D] [-r R].  BUILD defaults to build-bench.
set -eu
BUILD=build-bench D=200 R=5
while getopts b:d:r: o; do
	case $o in b) BUILD=$OPTARG ;; d) D=$OPTARG ;; r) R=$OPTARG ;; *) exit 2 ;; esac
done
. "$(dirname "$0")/lib.sh"
bench_store deliver1
mkdir -p "$W/dd"
"$MS" account add a@example.com "${S[@]}" >/dev/null
printf 'From: s@example.org\nTo: a@example.com\nSubject: one\nMessage-ID: <one@example.org>\n\nbody\n' >"$W/m.eml"
"$MS" deliver a@example.com "$W/m.eml" "${S[@]}" >/dev/null # the XX folders and the WAL, once

# settle DIRTY: flush everything, then (DIRTY > 0) leave DIRTY MB of a new
# file unflushed, as another writer would
settle() {
	rm -f "$W/dirty"
	sync
	[ "$1" -gt 0 ] && dd if=/dev/zero of="$W/dirty" bs=1M count="$1" status=none
	return 0
}
n=0
best() { # best DIRTY CMD...: the best of R timed runs (µs), each after settle DIRTY
	local dirty=$1 b=999999999 s e
	shift
	for _ in $(seq "$R"); do
		settle "$dirty"
		n=$((n + 1))
		s=${EPOCHREALTIME/./}; "$@" >/dev/null; e=${EPOCHREALTIME/./}
		[ $((e - s)) -lt "$b" ] && b=$((e - s))
	done
	echo "$b"
}
dl() { "$MS" deliver a@example.com "$W/m.eml" "${S[@]}"; }
dd1() { dd if="$W/m.eml" of="$W/dd/$n.eml" conv=fsync status=none; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / (b ? b : 1) }'; }
for dirty in 0 "$D"; do
	m=$(best "$dirty" dl) b=$(best "$dirty" dd1)
	echo "one message, ${dirty} MB of another writer unflushed: mstore deliver $(ms "$m"), dd conv=fsync $(ms "$b"), ratio $(ratio "$m" "$b")"
done
settle 0
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$MS" reconstruct -n --settle 0 "${S[@]}" >/dev/null && echo "reconstruct -n: clean" || echo "reconstruct -n: findings"
