#!/usr/bin/env bash
# The STATUS baseline of bench/imap.sh (issue 15: a no-op resync may cost at
# most 1.2x this): over one plain IMAP connection, the login, one
# `STATUS FOLDER (MESSAGES UIDNEXT HIGHESTMODSEQ)` per folder, each waiting
# for its tagged answer (one round trip per folder, what a CONDSTORE no-op
# needs at least), and the logout.  bash and /dev/tcp rather than a Python
# client: the process start is part of both figures, and bash's is
# milliseconds where Python's was 0.5 s on the loaded machine.
#
# usage: IMAP_PASSWORD=... bench/imap_status.sh HOST PORT USER FOLDER...
# Prints the seconds from connect to the logout's answer; exit 1 when a
# command is not answered OK.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: IMAP_PASSWORD=... imap_status.sh HOST PORT USER FOLDER..." >&2; exit 2; }
host=$1 port=$2 user=$3
shift 3
t0=$EPOCHREALTIME
exec 3<>"/dev/tcp/$host/$port"
n=0
# cmd TEXT: send a command, read until its tagged answer, fail unless OK
cmd() {
	n=$((n + 1))
	printf 'a%d %s\r\n' "$n" "$1" >&3
	local line
	while IFS= read -r -u 3 line; do
		case $line in
		"a$n OK"*) return 0 ;;
		"a$n "*) echo "imap_status: $1 -> ${line%$'\r'}" >&2; exit 1 ;;
		esac
	done
	echo "imap_status: the server closed the connection" >&2; exit 1
}
IFS= read -r -u 3 _greeting
# quoted strings: the test password is hex, the folders the benchmark's own
cmd "LOGIN \"$user\" \"$IMAP_PASSWORD\""
for f in "$@"; do cmd "STATUS \"$f\" (MESSAGES UIDNEXT HIGHESTMODSEQ)"; done
cmd LOGOUT
exec 3<&-
t1=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
