#!/usr/bin/env bash
# Print the directory that holds the project's shared material (spec,
# seeds, the message corpus the parser tests and the fuzzer start from) and
# exit 0; exit 1 if there is none.
#
# It lives next to the working checkout, as ../shared.  A clone made
# somewhere else (CI clones main into a directory of its own) finds it next
# to the repository it was cloned from, or next to any directory above.
# $MSTORE_SHARED, when set, is tried first.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)

has_corpus() { [ -d "$1/corpus" ]; }

# $1/../shared, $1/../../shared, ... up to /shared
search_up() {
	local d
	d=$(dirname "$1")
	while :; do
		if has_corpus "$d/shared"; then
			(cd "$d/shared" && pwd)
			return 0
		fi
		[ "$d" = / ] && return 1
		d=$(dirname "$d")
	done
}

if [ -n "${MSTORE_SHARED:-}" ] && has_corpus "$MSTORE_SHARED"; then
	(cd "$MSTORE_SHARED" && pwd)
	exit 0
fi
search_up "$root" && exit 0

origin=$(git -C "$root" config --get remote.origin.url 2>/dev/null) || exit 1
origin=${origin#file://}
origin=${origin%/}
origin=${origin%/.git}
case $origin in /*) ;; *) exit 1 ;; esac   # a local path only, never a network URL
[ -d "$origin" ] && search_up "$origin" && exit 0
exit 1
