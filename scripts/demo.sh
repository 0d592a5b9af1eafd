#!/usr/bin/env bash
# The demo: install, build, generate a sample hMailServer data directory,
# create a SQLite store for it with its domains and accounts (but none of
# its message rows, as after a lost database), run `mstore sync` to bring
# every message back, run it again to show everything skipped, and show
# the result.
# usage: scripts/demo.sh [DIR]   (default /tmp/mstore-demo; DIR is replaced)
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${1:-/tmp/mstore-demo}
# Whatever fails says where: the tool's own message is on stderr above.
trap 'echo "demo.sh: failed (exit code $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

# quiet LOG CMD...: run CMD with its output in LOG; on failure show the
# log, since that is where the tool said what went wrong.
quiet() {
	local log=$1
	shift
	if ! "$@" > "$log" 2>&1; then
		echo "demo.sh: '$*' failed; its output ($log):" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
}

scripts/install-deps.sh
mkdir -p build
# A directory left by a failed setup has no build.ninja; --wipe starts it
# over (plain setup would refuse it as already configured).
if [ ! -f build/build.ninja ]; then
	wipe=()
	[ -f build/meson-private/coredata.dat ] && wipe=(--wipe)
	quiet build/setup.log meson setup "${wipe[@]}" build --buildtype=release
fi
quiet build/ninja.log ninja -C build
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

# A few files as a damaged store has them: misplaced, in an unknown
# account's folder, addressed to nobody local.
first=$(find "$demo/Data/d0.example.com" -name '*.eml' | sort | sed -n 1p)
cp -p "$first" "$(dirname "$(dirname "$first")")/restored-from-backup.eml"
mkdir -p "$demo/Data/d0.example.com/former.employee/AB"
cp -p "$first" "$demo/Data/d0.example.com/former.employee/AB/{AB000000-0000-4000-8000-000000000001}.eml"

echo; echo "== mstore domain list"; "$mstore" domain list
echo; echo "== mstore account list --domain d0.example.com"; "$mstore" account list --domain d0.example.com
echo; echo "== the database references no message file: mstore info"; "$mstore" info

echo; echo "== mstore sync -v (lines for everything not skipped; the report: $demo/sync.json)"
"$mstore" sync -v --json "$demo/sync.json" > "$demo/sync.log"
grep -v '^Imported\|^Queued\|^ \|^mstore sync' "$demo/sync.log" | sed -n 1,8p
echo "   ... (all lines: $demo/sync.log)"
sed -n '/^mstore sync/,$p' "$demo/sync.log"
echo; echo "== mstore sync again: everything is skipped"
"$mstore" sync
echo; echo "== mstore info"; "$mstore" info
# The commands to try next, their comments aligned whatever the paths' length.
hints=(
	"export MSTORE_CONFIG=$demo/mstore.conf" ""
	"$mstore sync -n -vv | head" "a dry run, one line per file"
	"jq '.summary' $demo/sync.json" "the first run's report"
	"sqlite3 $demo/store.sqlite 'SELECT messageuid, messagefrom, messagecreatetime FROM hm_messages LIMIT 5'" ""
	"$mstore sync --check-missing" "the other direction: rows whose file is gone"
	"$mstore reconstruct -n" "check the whole store"
	"man -l $(dirname "$mstore")/man/mstore-sync.1" "the manual (mstore help sync prints the same text)"
)
width=0
for ((i = 0; i < ${#hints[@]}; i += 2)); do
	[ -z "${hints[i + 1]}" ] || [ ${#hints[i]} -le $width ] || width=${#hints[i]}
done
echo; echo "Look at the result:"
for ((i = 0; i < ${#hints[@]}; i += 2)); do
	if [ -n "${hints[i + 1]}" ]; then
		printf '  %-*s  # %s\n' "$width" "${hints[i]}" "${hints[i + 1]}"
	else
		printf '  %s\n' "${hints[i]}"
	fi
done
