#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is needed (Debian 12,
# as root), build with AddressSanitizer + UndefinedBehaviorSanitizer and
# -Werror, start throwaway PostgreSQL and MariaDB servers on loopback, run
# the unit and end-to-end tests against SQLite, PostgreSQL and MariaDB,
# fuzz the header parser for a while, stop the servers, and print
#   N passed, N failed
# as the last line.  Exit code 0 only if nothing failed.
#
# Environment: MSTORE_FUZZ_SECONDS (default 120; 0 skips fuzzing),
#              MSTORE_BUILD_DIR (default build-test).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${MSTORE_BUILD_DIR:-build-test}
fuzz_seconds=${MSTORE_FUZZ_SECONDS:-120}

scripts/install-deps.sh --test

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$build"

export MSTORE_TEST_DBS=${MSTORE_TEST_DBS:-/tmp/mstore-test-dbs}
export MSTORE_TEST_ENV=$MSTORE_TEST_DBS/env
export MSTORE_TEST_REQUIRE_SERVERS=1
tests/db-servers.sh start
trap 'tests/db-servers.sh stop' EXIT

set +e
meson test -C "$build" --print-errorlogs --num-processes 2
set -e

log=$build/meson-logs/testlog.json
passed=$(jq -s '[.[] | select(.result == "OK")] | length' "$log")
failed=$(jq -s '[.[] | select(.result != "OK" and .result != "SKIP")] | length' "$log")
skipped=$(jq -s '[.[] | select(.result == "SKIP")] | length' "$log")

if [ "$fuzz_seconds" -gt 0 ]; then
	if tests/fuzz/run.sh "$fuzz_seconds"; then
		passed=$((passed + 1))
	else
		echo "FAIL: fuzzing the header parser found a problem (see above)" >&2
		failed=$((failed + 1))
	fi
fi

tests/db-servers.sh stop
trap - EXIT
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
