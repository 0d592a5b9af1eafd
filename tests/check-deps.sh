#!/usr/bin/env bash
# The guard for "the README's first command needs only the build packages"
# (issue 13: `meson setup` required cmocka, a test package, and nothing
# noticed because every machine that ran the tests had it installed).
#
# It configures, builds and installs mstore, and renders a manual page, on
# this machine but as a machine that has only what
# `scripts/install-deps.sh` (without --test) installs would see it:
#   - PATH holds only the programs of those packages, of the packages they
#     depend on and of the base system (Essential or Priority required);
#     so cmake, clang, jq from elsewhere, psql, ... are not there;
#   - PKG_CONFIG_LIBDIR holds only those packages' .pc files; so cmocka,
#     installed by --test, cannot be found (nor through cmake: hidden).
# Then `meson setup` (tests=auto), `ninja`, `meson install --destdir` and
# `man -l` must succeed, and the setup must say the tests were left out:
# proof that the test packages really were hidden.
#
# usage: tests/check-deps.sh [WORKDIR]   (default: a temporary directory)
# Exit code 0 when all of it worked; else 1 with the failing step's output.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/mstore-check-deps-XXXXXX")}
mkdir -p "$work"
fail() { echo "FAIL: check-deps: $*" >&2; exit 1; }

mapfile -t wanted < <(scripts/install-deps.sh --list)
[ ${#wanted[@]} -gt 0 ] || fail "scripts/install-deps.sh --list listed nothing"

# The installed packages a machine would have after install-deps.sh alone.
allowed_packages() {
	apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances "${wanted[@]}" | grep -v '^ ' | grep -v '^<'
	dpkg-query -W -f='${Package} ${Essential} ${Priority}\n' | awk '$2 == "yes" || $3 == "required" { print $1 }'
}
# (apt-cache names alternatives that are not installed, such as make-guile)
dpkg-query -W -f='${Package} ${db:Status-Status}\n' | awk '$2 == "installed" { print $1 }' | sort -u > "$work/installed"
allowed_packages | sed 's/:.*//' | sort -u | comm -12 - "$work/installed" > "$work/packages"

# Every file of those packages, under both spellings of a merged /usr
# (dpkg lists /bin/sh, the file is /usr/bin/sh too).
declare -A files=()
while IFS= read -r f; do
	case $f in /*) files[x${f#/usr}]=1 ;; esac
done < <(xargs dpkg-query -L < "$work/packages")
owned() { # PATH: owned (itself or what it resolves to) by an allowed package
	local real
	real=$(readlink -f "$1")
	[ -n "${files[x${1#/usr}]:-}" ] || [ -n "${files[x${real#/usr}]:-}" ]
}

# A bin directory of links to the allowed programs only.
rm -rf "$work/bin" "$work/pkgconfig"
mkdir "$work/bin" "$work/pkgconfig"
for dir in /usr/local/bin /usr/bin /usr/sbin /bin /sbin; do
	for f in "$dir"/*; do
		name=${f##*/}
		[ -x "$f" ] && [ ! -e "$work/bin/$name" ] || continue
		if owned "$f"; then
			ln -s "$f" "$work/bin/$name"
		elif [[ $(readlink "$f") == /etc/alternatives/* ]]; then
			# awk is gawk here, mawk on a machine with the base system
			# only: take an allowed alternative, if there is one.
			for alt in $(update-alternatives --list "$name" 2>/dev/null); do
				if owned "$alt"; then
					ln -s "$alt" "$work/bin/$name"
					break
				fi
			done
		fi
	done
done
[ -e "$work/bin/cc" ] || fail "no C compiler among the build packages' programs (is build-essential installed?)"
[ ! -e "$work/bin/cmake" ] || fail "cmake is among the build packages' programs; cmocka could be found through it"

# The .pc files of the allowed packages, from every directory pkg-config
# searches.
for dir in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
	for f in "$dir"/*.pc; do
		if [ -e "$f" ] && owned "$f"; then
			ln -sf "$f" "$work/pkgconfig/${f##*/}"
		fi
	done
done
[ ! -e "$work/pkgconfig/cmocka.pc" ] || fail "cmocka.pc belongs to a build package"

# run STEP CMD...: the command in the reduced environment, its output in
# WORK/STEP.log, shown when it fails.
run() {
	local step=$1
	shift
	if ! env -i HOME="$work" PATH="$work/bin" PKG_CONFIG_LIBDIR="$work/pkgconfig" LANG=C.UTF-8 "$@" \
		> "$work/$step.log" 2>&1; then
		echo "FAIL: check-deps: with only the packages of 'scripts/install-deps.sh' (no --test), '$*' failed:" >&2
		tail -n 30 "$work/$step.log" >&2
		echo "(work directory $work)" >&2
		exit 1
	fi
}

rm -rf "$work/build" "$work/destdir"
run setup meson setup "$work/build" "$root" --buildtype=release
grep -q 'tests not built: missing' "$work/setup.log" ||
	fail "the setup did not leave the tests out, so the test packages were not hidden ($work/setup.log)"
run ninja ninja -C "$work/build"
run install meson install -C "$work/build" --destdir "$work/destdir"
run man env MANPAGER=cat MANWIDTH=80 man -l "$work/build/man/mstore-sync.1"
grep -q 'SYNOPSIS' "$work/man.log" || fail "man -l printed no SYNOPSIS ($work/man.log)"
[ -x "$work/destdir/usr/local/bin/mstore" ] || fail "meson install put no mstore under /usr/local/bin"

echo "check-deps: mstore configures, builds, installs and its man page renders with only the build packages" \
	"($(wc -l < "$work/packages") packages, $(find "$work/bin" -mindepth 1 | wc -l) programs visible)"
[ $# -gt 0 ] || rm -rf -- "$work"
