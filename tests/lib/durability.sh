# durability.sh - running mstore under the durability shim
# (tests/durability/shim.c) and reading its log, for the e2e tests that
# check what reaches the disk in which order.  Sourced after common.sh and
# t_need_server (the COMMIT pattern depends on the backend).

# The shim is built beside the binary (tests/durability/meson.build); an
# ASan binary needs its runtime loaded before anything else.
SHIM=${MSTORE_DURABILITY_SHIM:-$(dirname "${MSTORE_MAN_DIR:?}")/tests/durability/libmstore_durability.so}
[ -f "$SHIM" ] || { t_fail "no durability shim at $SHIM"; t_done; }
ASAN_RT=$(ldd "$MSTORE_BIN" | awk '/libasan/ { print $3; exit }')
PRELOAD="${ASAN_RT:+$ASAN_RT }$SHIM"

# dur LOG FAULT ARGS...: mst under the shim; FAULT "" for none
dur() {
	local log=$1 fault=$2
	shift 2
	: >"$log"
	MSTORE_DURABILITY_LOG=$log MSTORE_DURABILITY_FAULT=$fault LD_PRELOAD=$PRELOAD mst "$@"
}
# at LOG AFTER COND: the first line after line AFTER of the log that
# matches the awk condition COND (fields: $1 kind, $2 result, $3 path,
# $4 target or data), 0 when none
at() {
	awk -F'\t' -v after="$2" "NR > after && ($3) { print NR; found = 1; exit } END { if (!found) print 0 }" "$1"
}
# before WHAT A B: A happened (A > 0), and before B (or B never did)
before() {
	t_ok
	if [ "$2" = 0 ]; then t_fail "$1: not in the log"; return; fi
	[ "$3" = 0 ] || [ "$2" -lt "$3" ] || t_fail "$1: line $2 of the log, wanted before line $3"
}
synced() { echo "(\$1 == \"fsync\" || \$1 == \"fdatasync\") && $1"; }
# The moment a transaction reaches the database: SQLite writes its WAL at
# commit; a server gets the COMMIT (or the first DELETE) as text.
if [ "$MSTORE_TEST_BACKEND" = sqlite ]; then
	COMMIT='$1 ~ /write/ && $3 ~ /-wal$/'
	DELETE=$COMMIT
else
	COMMIT='$1 == "send" && $4 ~ /COMMIT\.?$/'
	DELETE='$1 == "send" && $4 ~ /DELETE FROM hm_message/'
fi
[ -n "$ASAN_RT" ] && echo "shim loaded after $ASAN_RT"
