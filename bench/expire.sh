#!/usr/bin/env bash
# The expire benchmark (issue 16): `mstore expire` of 10% of N messages
# against moving those same files with `mv`, in one run over the same
# store.  The store is made by gen_datadir --seed 7 and mstore sync on
# SQLite; every message is dated 2020-06-01 and every tenth (messageid % 10
# = 0) 2001, and the rule expires, at --now 2021-01-01, what is older than a year:
#   expire   mstore expire --rules R   (rows deleted in batches, files journaled into the trash)
#   mv       find TRASH -name '*.eml' -print0 | xargs -0 mv -t FLAT   (the same files moved once more)
# The mv baseline moves the files the expire moved, after it, into one flat
# directory on the same file system: the cheapest way to move them.
#
# usage: bench/expire.sh [-n N] [-b BUILD] [-d WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
N=100000 BUILD=$root/build-bench WORK=${BENCH_DIR:-$root/bench/out}/expire
while getopts n:b:d: o; do
	case $o in
	n) N=$OPTARG ;; b) BUILD=$OPTARG ;; d) WORK=$OPTARG ;;
	*) echo "usage: bench/expire.sh [-n N] [-b BUILD] [-d WORKDIR]" >&2; exit 2 ;;
	esac
done
if [ "$BUILD" = "$root/build-bench" ]; then
	[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release >/dev/null
	ninja -C build-bench >/dev/null
fi
MSTORE=$BUILD/mstore GEN=$BUILD/bench/gen_datadir
rm -rf "$WORK"; mkdir -p "$WORK"
"$GEN" --seed 7 --messages "$N" "$WORK/gen" >/dev/null
DATA=$WORK/gen/Data URL=sqlite:$WORK/store.db
export TZ=UTC
"$MSTORE" init "$URL" >/dev/null
while read -r kind name; do "$MSTORE" "$kind" add "$name" --db "$URL" >/dev/null; done < "$WORK/gen/objects.txt"
"$MSTORE" sync --db "$URL" --data "$DATA" --settle 0 --no-progress >/dev/null
# ages are judged at --now 2021-01-01: every message dated mid-2020, every tenth 2001
NOW=$(date -u -d '2021-01-01' +%s)
sqlite3 "$WORK/store.db" "UPDATE hm_messages SET messagecreatetime = '2020-06-01 00:00:00' WHERE messagetype = 2"
sqlite3 "$WORK/store.db" "UPDATE hm_messages SET messagecreatetime = '2001-01-01 00:00:00' WHERE messageid % 10 = 0 AND messagetype = 2"
want=$(sqlite3 "$WORK/store.db" "SELECT COUNT(*) FROM hm_messages WHERE messagecreatetime < '2002-01-01'")
printf '%s\n' "old.folderpattern: ^user/" "old.messagedays: 365" > "$WORK/rules"
# warm the page cache and the directory cache for both
find "$DATA" -name '*.eml' -print0 | xargs -0 cat >/dev/null
"$MSTORE" expire --rules "$WORK/rules" -n --db "$URL" --data "$DATA" --server-tz UTC --now "$NOW" >/dev/null

# the generator's gigabyte written back first: expire's syncfs would
# otherwise wait for it and time the generator's writes too.  And the
# file system's journal settled: the first fsync after such a burst waits
# for the journal to make room (37 ms measured, whoever makes it), which
# is the generator's cost, not the first syncing command's.
sync
touch "$WORK/.settle"; sync "$WORK/.settle" "$WORK"
secs() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo "scale=3; ($e - $s) / 1000000000" | bc; }
t_expire=$(secs "$MSTORE" expire --rules "$WORK/rules" --db "$URL" --data "$DATA" --server-tz UTC --now "$NOW")
moved=$(find "$DATA/.mstore/trash" -name '*.eml' | wc -l)
[ "$moved" = "$want" ] || { echo "expire moved $moved files, wanted $want" >&2; exit 1; }
mkdir -p "$WORK/flat"
t_mv=$(secs sh -c "find '$DATA/.mstore/trash' -name '*.eml' -print0 | xargs -0 mv -t '$WORK/flat'")
echo "N=$N, expired $want messages (10%)"
echo "expire: ${t_expire}s   mv of the same files: ${t_mv}s   ratio: $(echo "scale=2; $t_expire / $t_mv" | bc)x (target <= 2x)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
