#!/usr/bin/env bash
# Account directories in another case (issue 16): DATA/Example.com/Ann/,
# as hMailServer on Windows made them, on a case-sensitive file system.
# folder delete finds the folder's files there and moves them to the
# trash; the account move takes them from there into the new address's
# directory inside the domain's directory as spelt on disk; the store is
# clean by `mstore reconstruct -n` after each.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db fcase)
DATA=$T_TMP/Data
mkdir -p "$DATA/Example.com/Ann"
S=(--db "$URL" --data "$DATA" --server-tz UTC)
mst init "$URL"; expect_ok "init"
mst domain add example.com "${S[@]}"; expect_ok "domain"
mst account add ann@example.com "${S[@]}"; expect_ok "account"
for i in 1 2 3; do
	printf 'From: carol@example.org\nSubject: m%s\n\nbody %s\n' "$i" "$i" >"$T_TMP/m$i.eml"
done
mst folder create user/ann@example.com/Archive "${S[@]}"; expect_ok "create Archive"
mst deliver ann@example.com "$T_TMP/m1.eml" "${S[@]}"; expect_ok "deliver to the INBOX"
mst deliver ann@example.com/Archive "$T_TMP/m2.eml" "${S[@]}"; expect_ok "deliver to Archive"
mst deliver ann@example.com/Archive "$T_TMP/m3.eml" "${S[@]}"; expect_ok "deliver to Archive again"
expect_eq "$(find "$DATA/Example.com/Ann" -name '*.eml' | wc -l)" 3 "the files are in the directory in its own case"
[ ! -e "$DATA/example.com" ] || t_fail "no lower-case twin of the domain's directory"; t_ok

q() { t_sql "$URL" "$1" | tr -d '\r'; }
clean() {
	mst reconstruct -n "${S[@]}" --settle 0; expect_ok "$1: reconstruct -n"
	expect_out_contains "no findings" "$1: reconstruct -n clean"
}
clean "before"
# folder list -x names the directory of the files as it is on disk, as `mstore path` does
mst folder list -x "${S[@]}"; expect_ok "list -x"
expect_eq "$(t_out | cut -f1,2 | sort -u)" "$(printf 'user/ann@example.com/Archive\tExample.com/Ann\nuser/ann@example.com/INBOX\tExample.com/Ann')" "list -x: the directory as spelt on disk"
mst folder list -x --json "${S[@]}"; expect_ok "list -x --json"
expect_out_contains '"path":"Example.com/Ann"' "list -x --json: the directory as spelt on disk"

# ---- folder delete -----------------------------------------------------------------------------
mst folder delete user/ann@example.com/Archive "${S[@]}"; expect_ok "delete a folder of the account"
expect_eq "$(find "$DATA/Example.com/Ann" -name '*.eml' | wc -l)" 1 "its two files left the account's directory"
expect_eq "$(find "$DATA/.mstore/trash" -name '*.eml' | wc -l)" 2 "and are in the trash"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 1 "the INBOX message stays"
clean "after the delete"

# ---- the account move ----------------------------------------------------------------------------
inbox=$(find "$DATA/Example.com/Ann" -name '*.eml' -printf '%P\n')
mst folder rename user/ann@example.com/INBOX user/bob@example.com/INBOX "${S[@]}"; expect_ok "move the account to bob"
[ -f "$DATA/Example.com/bob/$inbox" ] || t_fail "the file is in Example.com/bob (the domain's directory as spelt)"; t_ok
[ ! -e "$DATA/Example.com/Ann" ] || t_fail "the old directory is gone"; t_ok
[ ! -e "$DATA/example.com" ] || t_fail "no lower-case twin of the domain's directory after the move"; t_ok
mst path bob@example.com "${S[@]}"; expect_ok "path"
expect_eq "$(t_out)" "Example.com/bob" "path names the directory as it is on disk"
clean "after the move"
t_done
