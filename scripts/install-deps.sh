#!/usr/bin/env bash
# Install what mstore needs on Debian 12 (as root).
#
#   scripts/install-deps.sh          build it, and run the README's commands
#   scripts/install-deps.sh --test   also run the test suite
#   scripts/install-deps.sh --bench  also run the benchmarks (bench/*.sh)
#
# Safe to run again: apt-get skips what is installed.  tests/check-deps.sh
# builds, installs and reads a man page with only the programs and .pc
# files of BUILD_PKGS and USE_PKGS (--list), so the README's first command
# cannot again need a test package.
set -euo pipefail

# Compiling mstore and its manual pages.
BUILD_PKGS=(build-essential meson ninja-build pkg-config
	libsqlite3-dev libpq-dev libmariadb-dev libgmime-3.0-dev nettle-dev libidn2-dev libunistring-dev libssl-dev
	libarchive-dev libjson-glib-dev)
# What the README's commands use beside mstore: `man -l` (man-db renders
# with groff-base), `jq` for --json reports, `sqlite3` to look into a store,
# the zone database for --server-tz ZONE (tzdata), the dump tools `mstore
# snapshot` runs on a PostgreSQL or MariaDB store (pg_dump, mariadb-dump).
USE_PKGS=(man-db groff-base jq sqlite3 tzdata postgresql-client mariadb-client)
# The test suite only: unit tests (cmocka), throwaway database servers and
# their clients, the fuzzer (clang), timing in the benchmark, mailsync (the
# channel tests check mstore reads its configuration as mailsync does),
# dotlockfile (liblockfile-bin: test_channel_writer's MDA locks the mbox
# as MDAs do), Dovecot (dovecot-imapd: the IMAP server the IMAP channel
# tests start on loopback, tests/imap-server.sh; its dovecot-core's
# doveadm reads test_export's Maildir and mbox back), zstd (test_backup
# opens a compressed archive with plain tar and zstd).
TEST_PKGS=(libcmocka-dev postgresql postgresql-client mariadb-server mariadb-client time
	clang libclang-rt-14-dev mailsync liblockfile-bin dovecot-core dovecot-imapd zstd)
# The benchmarks: bench/run.sh needs the test servers; bench/channel.sh
# times mbsync (isync) and mailsync beside mstore channel, with GNU time.
BENCH_PKGS=("${TEST_PKGS[@]}" isync)

case "${1:-}" in
--list) printf '%s\n' "${BUILD_PKGS[@]}" "${USE_PKGS[@]}"; exit 0 ;;  # for tests/check-deps.sh
--test | --bench | '') ;;
*) echo "usage: $0 [--test | --bench]" >&2; exit 2 ;;
esac

want=("${BUILD_PKGS[@]}" "${USE_PKGS[@]}")
[ "${1:-}" = "--test" ] && want+=("${TEST_PKGS[@]}")
[ "${1:-}" = "--bench" ] && want+=("${BENCH_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
	# dpkg-query's "no packages found" for a package never installed is
	# the answer, not an error to show.
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
	echo "install-deps: apt-get update failed (see above): check the network and /etc/apt/sources.list" >&2
	exit 1
fi
# Keep the distribution's server packages from starting their own
# services: the tests start throwaway servers of their own.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
	echo "install-deps: apt-get install failed (see above) for: ${missing[*]}" >&2
	exit 1
fi
