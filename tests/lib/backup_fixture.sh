# backup_fixture.sh - what the backup/restore tests share (sourced after
# common.sh): a SQLite source store, messages delivered into it, the
# server's own flag changes and expunges, targets of the test's backend,
# and an index of a store to compare two by.
#
#   bk_source                 SRC, SD and S (mstore on the source) with domain ex.test
#   bk_put ADDR[/FOLDER] TEXT a message with subject TEXT delivered there
#   bk_flags ADDR FOLDER UID BITS   messageflags set as the server sets them (1 seen, 4 flagged)
#   bk_expunge ADDR FOLDER UID      the row and its file gone, as the server expunges
#   bk_target NAME            a new empty store of the backend: BK_URL, BK_DIR
#   bk_index URL DATA         account, folder, content hash and flags of every message, sorted

bk_source() {
	SRC=sqlite:$T_TMP/src.sqlite
	SD=$T_TMP/src
	mkdir -p "$SD"
	mst init "$SRC"; expect_ok "init the source"
	S domain add ex.test; expect_ok "domain"
}
S() { mst "$@" --db "$SRC" --data "$SD"; }
bk_msg() { printf 'From: x@y.test\r\nSubject: %s\r\n\r\nbody %s\r\n' "$1" "$1"; }
bk_put() { bk_msg "$2" >"$T_TMP/m"; S deliver "$1" "$T_TMP/m"; expect_ok "deliver $2 to $1"; }
bk_row() {
	t_sql "$SRC" "SELECT m.messageid FROM hm_messages m JOIN hm_imapfolders f ON f.folderid = m.messagefolderid
	JOIN hm_accounts a ON a.accountid = m.messageaccountid
	WHERE a.accountaddress = '$1' AND f.foldername = '$2' AND m.messageuid = $3"
}
bk_flags() { t_sql "$SRC" "UPDATE hm_messages SET messageflags = $4 WHERE messageid = $(bk_row "$1" "$2" "$3")"; }
bk_expunge() {
	local id
	id=$(bk_row "$1" "$2" "$3")
	S path "$1" --message "$id"; expect_ok "path of message $id"
	rm -f "$SD/$(t_out)"
	t_sql "$SRC" "DELETE FROM hm_messages WHERE messageid = $id"
}
bk_target() {
	BK_URL=$(t_new_db "$1")
	BK_DIR=$T_TMP/$1
	mkdir -p "$BK_DIR"
	mst init "$BK_URL"; expect_ok "init the target $1"
}
bk_index() {
	rm -f "$T_TMP/idx.tar"
	mst backup -f "$T_TMP/idx.tar" --db "$1" --data "$2"; expect_ok "backup for the index of $1"
	tar -xOf "$T_TMP/idx.tar" messages.jsonl |
		jq -r '[.account, (.folder | join("/")), .sha256, (.flags | sort | join(","))] | @tsv' | sort
}
