#!/usr/bin/env bash
# Real-world and hostile input (issue 12): what an outside probe found.
#   1. a long non-ASCII address is cut on a character boundary, and a row
#      the database refuses fails its own file only, never its neighbours;
# Each case failed on the tree before its fix.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
old='2022-05-06 07:08:09'

# msg FILE HEADERS...: a message with these header lines, old enough to import.
msg() {
	local f=$1; shift
	mkdir -p "$(dirname "$f")"
	{ for h in "$@"; do printf '%s\r\n' "$h"; done; printf '\r\nbody\r\n'; } > "$f"
	touch -d "$old" "$f"
}
guid() { printf '{%08X-0000-0000-0000-%012X}.eml' "$1" "$2"; }
# new_store NAME: a fresh store with example.com (plus addressing) and ann, bob;
# sets URL and D.
new_store() {
	URL=$(t_new_db "$1") || { t_fail "cannot create a test database"; t_done; }
	D=$T_TMP/$1/Data
	mkdir -p "$D"
	mst init "$URL"; expect_ok "$1: init"
	mst domain add example.com --plus-addressing + --db "$URL"; expect_ok "$1: domain"
	mst account add ann@example.com --db "$URL"; mst account add bob@example.com --db "$URL"
}
S() { mst sync --db "$URL" --data "$D" --no-progress "$@"; }
q() { t_sql "$URL" "$1"; }
valid_utf8() { iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; }
bytes() { LC_ALL=C; local s=$1; echo "${#s}"; }

# --- 1a. a 300-byte non-ASCII From and recipient: cut on a character boundary --------
new_store long
e150=$(printf 'é%.0s' $(seq 150))   # 300 bytes
o150=$(printf 'ö%.0s' $(seq 150))
for i in $(seq 1 20); do
	msg "$D/example.com/ann/00/$(guid 0 "$i")" "From: good$i@remote.net" "To: ann@example.com"
done
msg "$D/example.com/ann/00/$(guid 0 100)" "From: ${e150}@remote.net" "To: ann@example.com"
msg "$D/$(guid 1 1)" "From: q@remote.net" "To: ann+${o150}@example.com"
msg "$D/$(guid 1 2)" "From: q@remote.net" "To: bob@example.com"
S; expect_ok "a long non-ASCII From and recipient import"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 2")" 21 "every account message imported"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 1")" 2 "both queue files queued"
from=$(q "SELECT messagefrom FROM hm_messages WHERE messagetype = 2 AND messagefrom NOT LIKE 'good%'")
printf '%s' "$from" | valid_utf8 || t_fail "the cut From is not valid UTF-8"
t_ok
expect_eq "$(bytes "$from")" 254 "the From is cut to 254 bytes (127 characters of 2 bytes), not 255"
expect_eq "$from" "$(printf 'é%.0s' $(seq 127))" "the From is the first 127 characters"
orig=$(q "SELECT recipientoriginaladdress FROM hm_messagerecipients WHERE recipientoriginaladdress LIKE 'ann+%'")
printf '%s' "$orig" | valid_utf8 || t_fail "the cut original recipient is not valid UTF-8"
t_ok
expect_eq "$(bytes "$orig")" 254 "the original recipient is cut on a character boundary"
S; expect_ok "rerun"; expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 23 "the rerun adds nothing"

t_done
