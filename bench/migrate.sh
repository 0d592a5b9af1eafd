#!/usr/bin/env bash
# bench/migrate.sh - issue 17's migration figure, a ratio measured in one
# run: `mstore migrate` of an N-message SQLite store (default 100,000)
# into an empty PostgreSQL database, against `pg_restore` of an equivalent
# dump (pg_dump -Fc of the database the migration made, restored into a
# fresh database).  The store's rows are inserted by SQL (the messages'
# files do not matter: migrate copies rows only): N messages over 100
# accounts' INBOXes, plus mstore init's rows.  migrate's time includes its
# table-by-table comparison of both databases afterwards.
#   bench/migrate.sh -b BUILD -H HOST -p PORT -U USER [-n N]
# The password, if any, in MSTORE_DB_PASSWORD (also given to the pg_
# tools as PGPASSWORD); USER must be allowed to create databases.
set -eu
BUILD=build-bench N=100000 H=127.0.0.1 P=5432 U=${USER:-postgres}
while getopts b:n:H:p:U: o; do
	case $o in b) BUILD=$OPTARG ;; n) N=$OPTARG ;; H) H=$OPTARG ;; p) P=$OPTARG ;; U) U=$OPTARG ;; *) exit 2 ;; esac
done
MS=$BUILD/mstore
[ -x "$MS" ] || { echo "no $MS: meson setup $BUILD --buildtype=release && ninja -C $BUILD" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/mstore-migrate-bench.XXXXXX")
export MSTORE_CONFIG=/dev/null PGPASSWORD=${MSTORE_DB_PASSWORD:-}
A=mst_bench_migrate_$$ B=mst_bench_restore_$$
pg() { psql -X -q -h "$H" -p "$P" -U "$U" -d postgres -c "$1"; }
cleanup() { pg "DROP DATABASE IF EXISTS $A" || true; pg "DROP DATABASE IF EXISTS $B" || true; rm -rf "$W"; }
trap cleanup EXIT
DB=$W/store.db
S=(--db "sqlite:$DB" --data "$W/Data" --server-tz UTC)
mkdir -p "$W/Data"
"$MS" init "sqlite:$DB" >/dev/null
"$MS" domain add example.com "${S[@]}" >/dev/null
for i in $(seq 1 100); do "$MS" account add "u$i@example.com" --max-size 100 "${S[@]}" >/dev/null; done
sqlite3 "$DB" "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $N)
  INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom, messagesize,
    messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid)
  SELECT f.folderaccountid, f.folderid, printf('{%08X-0000-4000-8000-000000000000}.eml', i), 2,
    printf('sender%d@example.org', i % 977), 1000 + i % 7000, 0, '1901-01-01 00:00:00', 32 + i % 3,
    printf('2024-01-%02d %02d:%02d:%02d', 1 + i % 28, i % 24, i % 60, (i * 7) % 60), 0, i FROM k
  JOIN hm_imapfolders f ON f.folderaccountid = (SELECT MIN(accountid) FROM hm_accounts) + i % 100"
pg "CREATE DATABASE $A"
pg "CREATE DATABASE $B"
now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
sync
s=$(now)
# the test hook before the comparison stamps the time: copy and comparison apart
MSTORE_TEST_HOOK_AT=migrate-compare MSTORE_TEST_HOOK_CMD="date +%s%N >'$W/compare-start'" \
	"$MS" migrate --from "sqlite:$DB" --to "postgresql://$U@$H:$P/$A" >"$W/migrate.out"
m=$(ms_since "$s")
c=$(( ($(cat "$W/compare-start") - s) / 1000000 ))
grep -q "every table the same" "$W/migrate.out" || { echo "the migration did not compare equal" >&2; exit 1; }
pg_dump -Fc -h "$H" -p "$P" -U "$U" -f "$W/dump.pgdump" "$A"
sync
s=$(now)
pg_restore --no-owner -h "$H" -p "$P" -U "$U" -d "$B" "$W/dump.pgdump"
r=$(ms_since "$s")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "migrate SQLite -> PostgreSQL, $N messages: mstore migrate ${m} ms, pg_restore ${r} ms," \
	"ratio $(awk -v a="$m" -v b="$r" 'BEGIN { printf "%.2f", a / (b ? b : 1) }')"
echo "  of which the copy ${c} ms (ratio $(awk -v a="$c" -v b="$r" 'BEGIN { printf "%.2f", a / (b ? b : 1) }')), the comparison $((m - c)) ms"
