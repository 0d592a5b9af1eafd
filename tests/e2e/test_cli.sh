#!/usr/bin/env bash
# The command line itself: help, unknown commands and options, exit codes.
. "$MSTORE_SRC/tests/lib/common.sh"

mst; expect_rc 2 "no command"; expect_err_contains "usage: mstore COMMAND" "no command prints usage"
mst help; expect_ok "help"
for c in init info domain account alias list help; do
	expect_out_contains "  $c " "help lists $c"
done
expect_out_contains "Exit codes" "help documents exit codes"
mst --help; expect_ok "--help"
mst --version; expect_ok "--version"; expect_out_contains "mstore " "version string"
for c in init info domain account alias list; do
	mst help "$c"; expect_ok "help $c"; expect_out_contains "usage: mstore $c" "help $c has usage"
	expect_out_contains "--db URL" "help $c lists common options"
	mst "$c" --help; expect_ok "$c --help"
done
mst help nosuch; expect_rc 2 "help for an unknown command"
mst nosuch; expect_rc 2 "unknown command"; expect_err_contains "'nosuch' is not a command" "unknown command named"
mst domain; expect_rc 2 "domain without an action"
mst domain frobnicate; expect_rc 2 "unknown action"; expect_err_contains "unknown action 'frobnicate'" "unknown action named"
mst domain list --no-such-option; expect_rc 2 "unknown option"
mst account add; expect_rc 2 "missing operand"
mst init --print-sql oracle; expect_rc 2 "unknown dialect"
for d in sqlite pgsql mysql; do
	mst init --print-sql $d; expect_ok "print-sql $d"
	expect_eq "$(grep -ci 'create table' "$T_TMP/out")" "34" "print-sql $d creates 34 tables"
done
# ---- the two binaries (src/cli/dispatch.c) -------------------------------------------------
# The front links only libc, SQLite, nettle and libidn2 (and the sanitizers'
# runtimes in those builds): a command that starts needing GMime, GLib,
# libarchive, json-glib, OpenSSL or a server client lands here.
needed=$(readelf -d "$MSTORE_BIN" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
for lib in $needed; do
	case $lib in
	libc.so.* | libsqlite3.so.* | libnettle.so.* | libidn2.so.* | libasan.so.* | libubsan.so.* | libtsan.so.* | \
	libm.so.* | libgcc_s.so.* | libstdc++.so.* | ld-linux*) t_ok ;;
	*) t_fail "the front binary links $lib (needed: $needed)" ;;
	esac
done
FULL=$(dirname "$MSTORE_BIN")/mstore-full
[ -x "$FULL" ] || t_fail "mstore-full is built beside mstore"
readelf -d "$FULL" | grep -q 'libgmime' || t_fail "mstore-full links GMime (it runs deliver, sync, channel)"
# the full binary, run on its own, is the same program
"$FULL" help >"$T_TMP/full.out" 2>&1; expect_eq "$?" 0 "mstore-full help"
mst help; cmp -s "$T_TMP/out" "$T_TMP/full.out" || t_fail "mstore help is the full binary's help"
# a command the front has runs in the front; the others are handed over
# with the same arguments (their exit codes and messages unchanged)
mst quota --over nope; expect_rc 2 "a front command's usage error"; expect_err_contains "mstore quota:" "named by the front"
mst sync --no-such-option; expect_rc 2 "a full command's usage error through the front"
mst --db sqlite:/nonexistent/x.db --data "$T_TMP" export user/a@b.c/INBOX --mbox "$T_TMP/x"; expect_rc 4 "leading options and a full command"
expect_err_contains "sqlite:/nonexistent/x.db: no such database file" "the full binary names the database"
mst init "sqlite:$T_TMP/s.db"; expect_ok "init (front)"
mkdir -p "$T_TMP/Data"
mst quota --notify --template /nonexistent/t --db "sqlite:$T_TMP/s.db" --data "$T_TMP/Data"
expect_rc 2 "quota --notify is handed to the full binary"; expect_err_contains "cannot read the template /nonexistent/t" "the full binary reads the template"
# deliver of one message runs in the front (an MTA starts it once per message); a From that
# needs GMime's decoding is handed over with the message, read on standard input, and so is --mbox
S=(--db "sqlite:$T_TMP/s.db" --data "$T_TMP/Data")
mst domain add b.c "${S[@]}"; mst account add a@b.c "${S[@]}"; expect_ok "an account"
printf 'From: Plain <x@y.org>\n\nplain\n' >"$T_TMP/plain.eml"
mst deliver a@b.c - "${S[@]}" <"$T_TMP/plain.eml"; expect_ok "deliver of a plain message"
mst deliver a@b.c "${S[@]}" < <(printf 'From: =?us-ascii?q?z=40y.org?=\n\nencoded\n')
expect_ok "deliver of a message whose From is an encoded word, on standard input"
printf 'From z@y.org Mon Jan  1 00:00:00 2024\nFrom: m@y.org\n\nboxed\n' >"$T_TMP/one.mbox"
mst deliver a@b.c --mbox "$T_TMP/one.mbox" "${S[@]}"; expect_ok "deliver --mbox through the front"
expect_eq "$(t_sql "sqlite:$T_TMP/s.db" "SELECT messagefrom FROM hm_messages ORDER BY messageid" | tr '\n' ' ')" \
	"x@y.org z@y.org m@y.org " "messagefrom of each: the encoded one decoded (its address is inside the encoded word)"
# without the full binary: a clear error, exit 3 (an incomplete installation)
mkdir -p "$T_TMP/alone"; cp "$MSTORE_BIN" "$T_TMP/alone/mstore"
"$T_TMP/alone/mstore" deliver a@b.c "$T_TMP/plain.eml" "${S[@]}" >"$T_TMP/out" 2>"$T_TMP/err"
expect_eq "$?" 0 "the front alone delivers a plain message: it never needed the full binary"
"$T_TMP/alone/mstore" sync >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
if [ -x "$(sed -n 's/.*cannot run \(.*\), which.*/\1/p' "$T_TMP/err")" ]; then
	t_ok # an installed mstore-full answered (LIBEXECDIR): nothing to check here
else
	expect_eq "$rc" 3 "front without mstore-full exits 3"
	expect_err_contains "mstore-full, which has this command" "front without mstore-full names what is missing"
fi
"$T_TMP/alone/mstore" quota --db sqlite:/nonexistent/x.db >"$T_TMP/out" 2>"$T_TMP/err"
expect_eq "$?" 4 "a front command runs without mstore-full"
t_done
