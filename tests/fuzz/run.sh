#!/usr/bin/env bash
# Fuzz the header parser (tests/fuzz/fuzz_header.c) for SECONDS (default 60).
#
#   tests/fuzz/run.sh [SECONDS]
#
# Builds a clang + libFuzzer + ASan/UBSan build directory if it is missing
# ($MSTORE_FUZZ_BUILD_DIR, default build-fuzz), seeds a temporary corpus
# with copies of every file under ../shared/corpus (found by
# scripts/shared-dir.sh; without it, from the dictionary alone;
# the originals are never touched), runs the fuzzer, and exits non-zero if
# it found a crash, a leak, a timeout, an out-of-memory or any sanitizer
# report.  The findings and the log are kept in the temporary directory,
# whose path is printed; it is removed when nothing was found.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-60}
build=${MSTORE_FUZZ_BUILD_DIR:-build-fuzz}
shared=$(scripts/shared-dir.sh) || shared=

case $seconds in
	'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
if [ -z "$shared" ]; then
	# The dictionary still steers the fuzzer to header syntax; it only
	# starts further away.
	echo "$0: warning: no seed corpus found (../shared/corpus; set MSTORE_SHARED); fuzzing from the dictionary alone" >&2
fi

# fuzzer-no-link: coverage feedback from the library code too, not only from
# the target's own file.  -Wno-unknown-warning-option: the project passes
# GCC-only warning switches that clang does not know.
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=enabled -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args="-fsanitize=fuzzer-no-link -Wno-unknown-warning-option"
fi
if ! ninja -C "$build" -t targets all | grep '^tests/fuzz/fuzz_header:' >/dev/null; then
	echo "$0: $build was not set up with clang and -Dfuzz=enabled; remove it or set MSTORE_FUZZ_BUILD_DIR" >&2
	exit 2
fi
ninja -C "$build" tests/fuzz/fuzz_header

work=$(mktemp -d "${TMPDIR:-/tmp}/mstore-fuzz-XXXXXX")
mkdir "$work/corpus" "$work/artifacts"
# Copies under neutral names: the fuzzer adds its own inputs to this
# directory, and file names with spaces or odd bytes need no care.
n=0
while IFS= read -r -d '' f; do
	cp -- "$f" "$work/corpus/seed-$n"
	n=$((n + 1))
done < <([ -z "$shared" ] || find "$shared/corpus" -type f -print0)
echo "fuzzing the header parser for ${seconds}s from $n seed files (work dir $work)"

# UBSan only reports and goes on by default; make it fatal so that the
# fuzzer stops and keeps the input.
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1

set +e
"$build/tests/fuzz/fuzz_header" \
	-max_total_time="$seconds" -max_len=1048576 -rss_limit_mb=2048 -timeout=60 \
	-dict=tests/fuzz/header.dict -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
	"$work/corpus" 2>&1 | tee "$work/fuzz.log"
rc=${PIPESTATUS[0]}
set -e

if [ "$rc" -ne 0 ] || grep -qE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:|==ERROR: libFuzzer' "$work/fuzz.log" ||
	[ -n "$(ls -A "$work/artifacts")" ]; then
	echo "FAIL: the fuzzer found a problem (exit code $rc); log and inputs in $work" >&2
	ls -l "$work/artifacts" >&2
	exit 1
fi
echo "fuzzing found nothing in ${seconds}s"
rm -rf -- "$work"
