#!/usr/bin/env bash
# bench/admin.sh - issue 16's administration figures, each a ratio to a
# baseline measured in the same run:
#   quota            `mstore quota --json` over N messages (default 100,000)
#                    vs `SELECT SUM(messagesize) FROM hm_messages` by sqlite3
#   deliver --mbox   `mstore deliver --mbox` of M messages (default 10,000)
#                    vs reading the mbox once (`cat FILE >/dev/null`), and vs
#                    the physical floor: `split -n M` of the mbox into M files,
#                    each renamed once by perl (creates, writes, renames; no
#                    fsync, no parse, no row), and vs bench/mkfiles: M files
#                    of the same size made and written in 256 folders, the
#                    floor of any writer that stores a file per message
#   start            a start of mstore and of mstore-full (--version) vs
#                    /bin/true's
# SQLite store in a temporary directory; usage: bench/admin.sh [-b BUILD]
# [-n N] [-m M].  BUILD defaults to build-bench (meson setup build-bench
# --buildtype=release).
set -eu
BUILD=build-bench N=100000 M=10000
while getopts b:n:m: o; do
	case $o in b) BUILD=$OPTARG ;; n) N=$OPTARG ;; m) M=$OPTARG ;; *) exit 2 ;; esac
done
. "$(dirname "$0")/lib.sh"
bench_store admin
for i in $(seq 1 100); do "$MS" account add "u$i@example.com" --max-size 100 "${S[@]}" >/dev/null; done
sqlite3 "$DB" "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $N)
  INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize,
    messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid)
  SELECT f.folderaccountid, f.folderid, printf('{%08X-0000-4000-8000-000000000000}.eml', i), 2, 'x@example.org', 1000 + i % 7000,
    0, '1901-01-01 00:00:00', 32, '2024-01-01 00:00:00', 0, i FROM k
  JOIN hm_imapfolders f ON f.folderaccountid = (SELECT MIN(accountid) FROM hm_accounts) + i % 100"

now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
# best of 3
best() { local b=999999999 t s; for _ in 1 2 3; do s=$(now); "$@" >/dev/null; t=$(ms_since "$s"); [ "$t" -lt "$b" ] && b=$t; done; echo "$b"; }

# the fixed cost every command pays: a start of each binary (20 runs, the
# mean) against /bin/true's
start20() { local s; s=$(now); for _ in $(seq 20); do "$@" >/dev/null; done; echo $(( ($(now) - s) / 20000 )); }
st_front=$(start20 "$MS" --version) st_full=$(start20 "$BUILD/mstore-full" --version) st_true=$(start20 /bin/true)
echo "start: mstore --version ${st_front} us, mstore-full --version ${st_full} us, /bin/true ${st_true} us"

q=$(best "$MS" quota --json "${S[@]}")
sum=$(best sqlite3 "$DB" "SELECT SUM(messagesize) FROM hm_messages")
echo "quota, $N messages: mstore quota --json ${q} ms, SELECT SUM ${sum} ms, ratio $(awk -v a="$q" -v b="$sum" 'BEGIN { printf "%.2f", a / (b ? b : 1) }')"

mb=$W/in.mbox
awk -v m="$M" 'BEGIN {
	line = sprintf("%76s", ""); gsub(/ /, "x", line)
	for (i = 1; i <= m; i++) {
		printf "From s@example.org Mon Jan  1 10:00:00 2024\nFrom: s%d@example.org\nSubject: message %d\nMessage-ID: <%d@bench>\n\n", i, i, i
		for (l = 0; l < 6 + (i * 37) % 50; l++) print line
		print ""
	}
}' >"$mb"
sync
c=$(best cat "$mb")
# the physical floor: the mbox cut into M files (split: one read, M creates
# and writes) and each renamed once, no fsync, no parse, no row
floor() { rm -rf "$W/split"; mkdir "$W/split"; split -a 6 -n "$M" "$mb" "$W/split/x" &&
	perl -e 'for (glob "$ARGV[0]/x*") { rename $_, "$_.eml" or die "$_: $!" }' "$W/split"; }
f=$(best floor)
# the floor of any writer of one file per message: M files of the mbox's
# average size made in 256 folders, nothing else (bench/mkfiles.c)
mkf() { rm -rf "$W/mk"; "$BUILD/bench/mkfiles" "$W/mk" "$M" "$(( $(stat -c %s "$mb") / M ))"; }
mk=999999; for _ in 1 2 3; do t=$(mkf); [ "$t" -lt "$mk" ] && mk=$t; done; rm -rf "$W/mk"
s=$(now)
"$MS" deliver u1@example.com --mbox "$mb" --ignore-quota "${S[@]}" >/dev/null
d=$(ms_since "$s")
echo "deliver --mbox, $M messages ($(du -h "$mb" | cut -f1)): mstore deliver ${d} ms, cat ${c} ms, ratio $(awk -v a="$d" -v b="$c" 'BEGIN { printf "%.1f", a / (b ? b : 1) }');" \
	"split into $M files and rename each ${f} ms, ratio $(awk -v a="$d" -v b="$f" 'BEGIN { printf "%.1f", a / (b ? b : 1) }')"
echo "the floor of one file per message: $M files made and written (bench/mkfiles.c) ${mk} ms, $(awk -v a="$mk" -v b="$c" 'BEGIN { printf "%.1f", a / (b ? b : 1) }') times the cat;" \
	"mstore deliver $(awk -v a="$d" -v b="$mk" 'BEGIN { printf "%.1f", a / (b ? b : 1) }') times it"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$MS" reconstruct -n "${S[@]}" >/dev/null 2>&1 && echo "reconstruct -n: clean" || echo "reconstruct -n: findings (the synthetic rows have no files)"
