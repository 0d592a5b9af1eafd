#!/usr/bin/env bash
# bench/backup.sh - issue 17's backup and restore figures, ratios to
# baselines measured in the same run over the same data (SQLite stores):
#   backup    mstore backup -f FILE of the synced store  vs  tar -cf FILE of its data directory
#   restore   mstore restore -f FILE into an empty store  vs  mstore sync's import of the same
#             messages into an empty store
#   memory    peak RSS per message of backup, restore and the import, above the
#             same command's RSS on an empty store (the libraries' fixed cost)
# The data directory is bench/gen_datadir --seed 7 (N messages, N/200
# accounts in 5 domains, 1% queue files), made once per run in a temporary
# directory; every timing is one run with a warm page cache.
#   bench/backup.sh [-b BUILD] [-n N]      (BUILD defaults to build-bench, N to 100000)
set -eu
BUILD=build-bench N=100000
while getopts b:n: o; do
	case $o in b) BUILD=$OPTARG ;; n) N=$OPTARG ;; *) exit 2 ;; esac
done
MS=$BUILD/mstore GEN=$BUILD/bench/gen_datadir
[ -x "$MS" ] && [ -x "$GEN" ] || { echo "no $MS: meson setup $BUILD --buildtype=release && ninja -C $BUILD" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/mstore-backup-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
export MSTORE_CONFIG=/dev/null

accounts=$(( N / 200 > 10 ? N / 200 : 10 ))
"$GEN" --seed 7 --messages "$N" --domains 5 --accounts "$accounts" --queue-percent 1 "$W/gen" >/dev/null

# store NAME DATA: an empty SQLite store W/NAME.db with the generated
# domains and accounts, over the data directory DATA
store() {
	rm -f "$W/$1.db"*
	mkdir -p "$2"
	"$MS" init "sqlite:$W/$1.db" >/dev/null
	awk '{print $1, $2}' "$W/gen/objects.txt" | while read -r kind name; do
		"$MS" "$kind" add "$name" --db "sqlite:$W/$1.db" --data "$2" --server-tz UTC >/dev/null
	done
}
# timed OUT CMD...: runs CMD; OUT gets "SECONDS PEAK_KB"
timed() {
	local out=$1
	shift
	/usr/bin/time -f '%e %M' -o "$W/$out.time" "$@" >"$W/$out.out" 2>"$W/$out.err" || {
		echo "benchmark command failed: $*" >&2; cat "$W/$out.err" >&2; exit 1; }
}
secs() { cut -d' ' -f1 "$W/$1.time"; }
kb() { cut -d' ' -f2 "$W/$1.time"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.01; printf "%.2f", a / b }'; }
per_msg() { echo $(( ($(kb "$1") - $(kb "$2")) * 1024 / N )); }
warm() { find "$1" -type f -print0 | xargs -0 cat >/dev/null; }

# The sync import: its time is the restore's baseline; its store is what is backed up.
cp -a "$W/gen/Data" "$W/Data"
store src "$W/Data"
store empty "$W/Empty"
timed sync0 "$MS" sync --db "sqlite:$W/empty.db" --data "$W/Empty" --settle 0 --no-progress
warm "$W/Data"
sync
timed sync "$MS" sync --db "sqlite:$W/src.db" --data "$W/Data" --settle 0 --no-progress
S=(--db "sqlite:$W/src.db" --data "$W/Data" --server-tz UTC)

# Backup against tar of the data directory, both writing a file on the same file system.
warm "$W/Data"
sync
timed tar tar -cf "$W/data.tar" -C "$W" Data
rm -f "$W/data.tar"
sync
timed backup0 "$MS" backup -f "$W/empty.tar" --db "sqlite:$W/empty.db" --data "$W/Empty" --no-progress
warm "$W/Data"
sync
timed backup "$MS" backup -f "$W/store.tar" "${S[@]}" --no-progress
rm -rf "$W/Empty" "$W/empty.db"*

# Restore into an empty store (init only: restore makes the domains and accounts).
R=(--db "sqlite:$W/restored.db" --data "$W/Restored" --server-tz UTC)
"$MS" init "sqlite:$W/r0.db" >/dev/null
mkdir -p "$W/R0" "$W/Restored"
timed restore0 "$MS" restore -f "$W/empty.tar" --db "sqlite:$W/r0.db" --data "$W/R0" --tmpdir "$W" --no-progress
"$MS" init "sqlite:$W/restored.db" >/dev/null
cat "$W/store.tar" >/dev/null
sync
timed restore "$MS" restore -f "$W/store.tar" "${R[@]}" --tmpdir "$W" --no-progress

msgs=$(sqlite3 "$W/src.db" "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 2")
back=$(sqlite3 "$W/restored.db" "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 2")
[ "$msgs" = "$back" ] || { echo "the restored store holds $back messages, the source $msgs" >&2; exit 1; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; N=$N files, $msgs messages in the store," \
	"$(du -sm "$W/Data" | cut -f1) MB data directory, archive $(( $(stat -c %s "$W/store.tar") / 1048576 )) MB"
printf 'backup   %7.2fs = %5sx tar -cf of the data directory (%.2fs)   (target <= 1.3)\n' \
	"$(secs backup)" "$(ratio "$(secs backup)" "$(secs tar)")" "$(secs tar)"
printf 'restore  %7.2fs = %5sx mstore sync import (%.2fs)            (target <= 2)\n' \
	"$(secs restore)" "$(ratio "$(secs restore)" "$(secs sync)")" "$(secs sync)"
printf 'peak memory per message above the fixed cost (target <= 300 B): backup %s B (%s KB of %s KB),' \
	"$(per_msg backup backup0)" "$(( $(kb backup) - $(kb backup0) ))" "$(kb backup)"
printf ' restore %s B (%s KB of %s KB), sync import %s B\n' \
	"$(per_msg restore restore0)" "$(( $(kb restore) - $(kb restore0) ))" "$(kb restore)" "$(per_msg sync sync0)"
