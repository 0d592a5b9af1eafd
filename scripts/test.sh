#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is needed (Debian 12,
# as root), check that the build needs only the build packages
# (tests/check-deps.sh), build with AddressSanitizer +
# UndefinedBehaviorSanitizer and -Werror, start throwaway PostgreSQL and
# MariaDB servers on loopback, run the unit and end-to-end tests against
# SQLite, PostgreSQL and MariaDB, build again with ThreadSanitizer and run
# the unit tests and the SQLite tests that start threads (walk, sync,
# reconstruct), fuzz the header parser for a while, stop the servers, and
# print
#   N passed, N failed, N skipped
# as the last line (every test of both builds, the dependency check and
# the fuzzing count).  Exit code 0 only if nothing failed.
#
# Environment: MSTORE_FUZZ_SECONDS (default 60; 0 skips fuzzing),
#              MSTORE_BUILD_DIR (default build-test),
#              MSTORE_TSAN_BUILD_DIR (default build-tsan),
#              MSTORE_MUTATION_SMOKE (default 1; 0 skips the mutation smoke set).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${MSTORE_BUILD_DIR:-build-test}
tsan_build=${MSTORE_TSAN_BUILD_DIR:-build-tsan}
fuzz_seconds=${MSTORE_FUZZ_SECONDS:-60}
# A step that stops the run says which one; the tool's message is above.
on_error() { echo "test.sh: failed (exit code $1) at line $2: $3" >&2; }
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR

# The end-to-end tests of threaded code run under ThreadSanitizer: the
# walker, sync's analysis threads, reconstruct, migrate's comparison.  Not
# the crash and live tests: they repeat runs many times and would take far
# longer under TSan.
TSAN_E2E=(sync-sqlite sync_options-sqlite sync_badinput-sqlite sync_hints-sqlite reconstruct-sqlite migrate-sqlite)

passed=0 failed=0 skipped=0
failures=$(mktemp)
# step NAME CMD...: a check that counts as one test.
step() {
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		echo "FAIL: $name (see above)" >&2
		echo "step: $name" >>"$failures"
		failed=$((failed + 1))
	fi
}
# add_results BUILD: count the results of the last `meson test` in BUILD.
add_results() {
	local log=$1/meson-logs/testlog.json
	passed=$((passed + $(jq -s '[.[] | select(.result == "OK")] | length' "$log")))
	failed=$((failed + $(jq -s '[.[] | select(.result != "OK" and .result != "SKIP")] | length' "$log")))
	skipped=$((skipped + $(jq -s '[.[] | select(.result == "SKIP")] | length' "$log")))
	# Kept for the summary at the end: a CI that shows only the tail of
	# the output still names what failed.
	jq -r --arg b "$1" 'select(.result != "OK" and .result != "SKIP")
		| "\($b): \(.name) \(.result) after \(.duration | floor) s"' "$log" >>"$failures"
	jq -r 'select(.result != "OK" and .result != "SKIP") | .name' "$log" | while read -r t; do
		jq -r --arg t "$t" 'select(.name == $t) | .stdout + (.stderr // "")' "$log" | tail -n 25 | sed "s|^|    $t: |" >>"$failures"
	done
}
# configure BUILD OPTIONS...: set up BUILD once; -Dtests=enabled also on an
# older directory, so a missing test package fails here, loudly.
configure() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" -Dtests=enabled
	else
		meson setup "$dir" -Dtests=enabled "$@"
	fi
}

scripts/install-deps.sh --test

step "the build needs only the packages of scripts/install-deps.sh (tests/check-deps.sh)" tests/check-deps.sh

configure "$build" -Db_sanitize=address,undefined -Db_lundef=false
ninja -C "$build"
configure "$tsan_build" -Db_sanitize=thread
ninja -C "$tsan_build"

export MSTORE_TEST_DBS=${MSTORE_TEST_DBS:-/tmp/mstore-test-dbs}
export MSTORE_TEST_ENV=$MSTORE_TEST_DBS/env
export MSTORE_TEST_REQUIRE_SERVERS=1
tests/db-servers.sh start
export MSTORE_TEST_IMAP=${MSTORE_TEST_IMAP:-/tmp/mstore-test-imap}
tests/imap-server.sh start
trap 'tests/db-servers.sh stop; tests/imap-server.sh stop' EXIT

# Failed tests are counted, not fatal (nor reported as a failed step).
set +e
trap - ERR
meson test -C "$build" --print-errorlogs --num-processes 2
add_results "$build"
# TSAN_OPTIONS (halt_on_error: a race fails its test) come from
# tests/meson.build, so a `meson test -C build-tsan` by hand runs the same.
meson test -C "$tsan_build" --print-errorlogs --num-processes 2 --suite unit
add_results "$tsan_build"
meson test -C "$tsan_build" --print-errorlogs --num-processes 2 "${TSAN_E2E[@]}"
add_results "$tsan_build"
set -e
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR

if [ "$fuzz_seconds" -gt 0 ]; then
	step "fuzzing the header parser found a problem" tests/fuzz/run.sh "$fuzz_seconds"
fi

# The mutation harness's smoke set: ten planted bugs the suite must catch,
# so the harness itself keeps working (the full run is by hand: README).
if [ "${MSTORE_MUTATION_SMOKE:-1}" = 1 ]; then
	step "the mutation harness's smoke set (a planted bug survived, or the harness broke)" \
		tests/mutation/run.sh --smoke -o "$root/build-mutation"
fi

tests/db-servers.sh stop
tests/imap-server.sh stop
trap - EXIT
echo
if [ -s "$failures" ]; then
	echo "What failed (each failed test's last output lines):"
	cat "$failures"
fi
rm -f "$failures"
echo "$passed passed, $failed failed, $skipped skipped"
# (not a bare test: the ERR trap would print after the count, which must
# stay the last line)
[ "$failed" -eq 0 ] || exit 1
