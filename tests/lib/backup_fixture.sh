# backup_fixture.sh - what the backup/restore tests share (sourced after
# common.sh): a SQLite source store, messages delivered into it, the
# server's own flag changes and expunges, targets of the test's backend,
# and an index of a store to compare two by.
#
#   bk_source                 SRC, SD and S (mstore on the source) with domain ex.test
#   bk_put ADDR[/FOLDER] TEXT a message with subject TEXT delivered there
#   bk_public_put FOLDER UID TEXT a message in the top-level public folder FOLDER (no CLI
#                             delivers there: the file and row as the server writes them)
#   bk_public_expunge FOLDER UID  such a message expunged: its row and file gone
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
bk_public_file() {
	local pub
	pub=$(t_sql "$SRC" "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = 0 AND foldername = '$1'")
	printf '{ABCDEF%02d-0000-0000-0000-%012d}.eml' "$2" "$pub"
}
bk_public_expunge() {
	local g
	g=$(bk_public_file "$1" "$2")
	rm -f "$SD/#Public/AB/$g"
	t_sql "$SRC" "DELETE FROM hm_messages WHERE messageaccountid = 0 AND messagefilename = '$g'"
}
bk_public_put() {
	local pub g
	pub=$(t_sql "$SRC" "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = 0 AND foldername = '$1'")
	g=$(bk_public_file "$1" "$2")
	mkdir -p "$SD/#Public/AB"
	bk_msg "$3" >"$SD/#Public/AB/$g"
	t_sql "$SRC" "INSERT INTO hm_messages (messageaccountid, messagefolderid, messagefilename, messagetype, messagefrom,
		messagesize, messagecurnooftries, messagenexttrytime, messageflags, messagecreatetime, messagelocked, messageuid)
		VALUES (0, $pub, '$g', 2, '', $(wc -c <"$SD/#Public/AB/$g"), 0, '2019-01-01 00:00:00', 0, '2019-01-01 00:00:00', 0, $2)"
	t_sql "$SRC" "UPDATE hm_imapfolders SET foldercurrentuid = $2 WHERE folderid = $pub"
}
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
