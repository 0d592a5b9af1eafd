#!/usr/bin/env bash
# The demo: install, build, generate a sample hMailServer data directory,
# create a SQLite store for it with its domains and accounts, and show it.
# usage: scripts/demo.sh [DIR]   (default /tmp/mstore-demo; DIR is replaced)
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${1:-/tmp/mstore-demo}

scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
mstore=$PWD/build/mstore

rm -rf "$demo"
mkdir -p "$demo"
echo "== generating a sample data directory in $demo/Data"
build/bench/gen_datadir --seed 42 --messages 2000 --domains 3 --accounts 12 "$demo"
echo "   $(find "$demo/Data" -name '*.eml' | wc -l) message files, $(du -sh "$demo/Data" | cut -f1)"

cat > "$demo/mstore.conf" <<CONF
# mstore configuration for the demo store
db = sqlite:$demo/store.sqlite
data = $demo/Data
CONF
export MSTORE_CONFIG=$demo/mstore.conf

echo "== creating the store (hMailServer 5.7 schema on SQLite)"
"$mstore" init
while read -r kind name; do
	case "$kind" in
	domain) "$mstore" domain add "$name" >/dev/null ;;
	account) "$mstore" account add "$name" >/dev/null ;;
	esac
done < "$demo/objects.txt"
"$mstore" alias add postmaster@d0.example.com alice0@d0.example.com >/dev/null
"$mstore" list add all@d0.example.com >/dev/null
"$mstore" list member all@d0.example.com alice0@d0.example.com dave3@d0.example.com >/dev/null

echo; echo "== mstore domain list"; "$mstore" domain list
echo; echo "== mstore account list --domain d0.example.com"; "$mstore" account list --domain d0.example.com
echo; echo "== mstore info"; "$mstore" info
cat <<MSG

The store's database does not reference any of the message files yet: that
is the job of 'mstore sync' (next).  Look around with:
  export MSTORE_CONFIG=$demo/mstore.conf
  $mstore help
  $mstore list list --json
  sqlite3 $demo/store.sqlite '.tables'
MSG
