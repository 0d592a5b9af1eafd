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
t_done
