#!/usr/bin/env bash
# Install everything mstore needs to build and test on Debian 12 (as root).
# Safe to run again: apt-get skips what is installed.
set -euo pipefail

BUILD_PKGS=(build-essential meson ninja-build pkg-config
	libsqlite3-dev libpq-dev libmariadb-dev libgmime-3.0-dev nettle-dev libidn2-dev)
TEST_PKGS=(libcmocka-dev sqlite3 postgresql mariadb-server mariadb-client time
	clang libclang-rt-14-dev jq groff-base)

want=("${BUILD_PKGS[@]}")
[ "${1:-}" = "--test" ] && want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Keep the distribution's server packages from starting their own
	# services: the tests start throwaway servers of their own.
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
	rm -f /usr/sbin/policy-rc.d
fi
