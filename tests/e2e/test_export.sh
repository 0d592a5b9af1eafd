#!/usr/bin/env bash
# mstore export: an account (and one folder with its sub-folders) written
# as Maildir++ and as an mbox directory, then read back by a real Dovecot
# (doveadm fetch on a mail_location over the exported directory): every
# message there once, with its flags and its internal date; -n, --json,
# -v and the errors; the store unchanged (reconstruct -n clean).
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
GEN=${MSTORE_GEN:?MSTORE_GEN not set}
command -v doveadm >/dev/null || { t_fail "doveadm missing (dovecot-core: scripts/install-deps.sh --test)"; t_done; }

tmpl=$T_TMP/tmpl
"$GEN" --seed 9 --messages 60 --domains 1 --accounts 2 --queue-percent 0 --noid-percent 0 "$tmpl" >/dev/null || t_fail "generator"
URL=$(t_new_db export) || { t_fail "cannot create a database"; t_done; }
DATA=$tmpl/Data
q() { t_sql "$URL" "$1"; }
M() { mst "$@" --db "$URL" --data "$DATA" --server-tz UTC; }
mst init "$URL"
t_add_objects "$URL" "$tmpl/objects.txt"
M sync --settle 0 --no-progress; expect_ok "sync"
A=$(q "SELECT accountaddress FROM hm_accounts ORDER BY accountaddress" | head -1)
AID=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress = '$A'")
INBOX=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = $AID")
# Archive (empty) and Archive.2020 below it, which gets a third of the messages
q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($AID, -1, 'Archive', 1, '2020-01-01 00:00:00', 0)"
ARC=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = $AID AND foldername = 'Archive'")
q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($AID, $ARC, '2020', 1, '2020-01-01 00:00:00', 0)"
Y=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = $AID AND foldername = '2020'")
q "UPDATE hm_messages SET messagefolderid = $Y WHERE messageaccountid = $AID AND messageid % 3 = 1"
q "UPDATE hm_imapfolders SET foldercurrentuid = (SELECT MAX(messageuid) FROM hm_messages WHERE messagefolderid = $Y) WHERE folderid = $Y"
# every combination of the five flags, and three internal dates
q "UPDATE hm_messages SET messageflags = messageid % 32"
q "UPDATE hm_messages SET messagecreatetime = '2019-03-04 05:06:07' WHERE messageid % 3 = 0"
q "UPDATE hm_messages SET messagecreatetime = '2020-11-12 13:14:15' WHERE messageid % 3 = 1"
q "UPDATE hm_messages SET messagecreatetime = '2021-06-30 23:59:58' WHERE messageid % 3 = 2"
M reconstruct -n; expect_ok "store consistent before the export"
rows_before=$(q "SELECT messageid, messagefolderid, messageflags, messagecreatetime, messageuid FROM hm_messages ORDER BY messageid" | sha256sum)

# expected FOLDERID: "Message-ID<TAB>FLAGS<TAB>DATE" per message of the
# account (of one folder), from the rows and the files, flags as Dovecot
# names them in its order
expected() {
	local where=$1
	q "SELECT m.messagefilename, m.messageflags, m.messagecreatetime, m.messagefolderid FROM hm_messages m WHERE m.messageaccountid = $AID $where" |
	while IFS=$'\t' read -r name flags date folder; do
		f=$(find "$DATA" -name "$name" -not -path '*/.mstore/*')
		id=$(grep -m1 -i '^Message-ID:' "$f" | sed 's/^[^:]*: *//; s/\r$//')
		fl=""
		(( flags & 8 )) && fl+="\\Answered "
		(( flags & 4 )) && fl+="\\Flagged "
		(( flags & 2 )) && fl+="\\Deleted "
		(( flags & 1 )) && fl+="\\Seen "
		(( flags & 16 )) && fl+="\\Draft "
		printf '%s\t%s\t%s\n' "$id" "${fl% }" "${date:0:19}"
	done | sort
}

# dove LOCATION MAILBOX: what Dovecot reads there, in the same form.
# doveadm refuses root: it runs as nobody over a copy it owns.
dove() {
	local loc=$1 box=$2 home=$T_TMP/dovehome
	rm -rf "$home"; mkdir -p "$home"
	cat > "$T_TMP/dovecot.conf" <<EOF
mail_location = $loc
mail_uid = $(id -u nobody)
mail_gid = $(id -g nobody)
first_valid_uid = 0
first_valid_gid = 0
log_path = /dev/null
EOF
	chmod 755 "$T_TMP"
	chown -R nobody: "$home" "$T_TMP/x"
	USER=nobody HOME=$home doveadm -c "$T_TMP/dovecot.conf" -f tab fetch 'hdr.message-id flags date.received' mailbox "$box" all |
		tail -n +2 | awk -F'\t' '{ f = $2; gsub(/\\Recent ?/, "", f); sub(/ $/, "", f); n = split(f, a, " "); o = "";
			split("\\Answered \\Flagged \\Deleted \\Seen \\Draft", order, " ")
			for (i = 1; i <= 5; i++) for (j = 1; j <= n; j++) if (a[j] == order[i]) o = o (o == "" ? "" : " ") a[j]
			print $1 "\t" o "\t" $3 }' | sort
}

# --- Maildir -----------------------------------------------------------------------
mkdir -p "$T_TMP/x"
M export "user/$A" --maildir "$T_TMP/x/md" -v; expect_ok "export --maildir"
n_all=$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid = $AID")
expect_out_contains "wrote $n_all message(s)" "every message written"
expect_out_contains "Archive/2020	" "-v names the sub-folder with '/'"
[ -d "$T_TMP/x/md/.Archive.2020/cur" ] && t_ok || t_fail "Maildir++ sub-folder .Archive.2020"
got=$(dove "maildir:$T_TMP/x/md" INBOX)
n_inbox=$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefolderid = $INBOX")
[ "$n_inbox" -gt 10 ] && [ "$(echo "$got" | grep -c .)" = "$n_inbox" ] && t_ok || t_fail "Dovecot lists $(echo "$got" | grep -c .) of $n_inbox INBOX messages"
echo "$got" | grep -q '\\Seen' && echo "$got" | grep -q '\\Draft' && t_ok || t_fail "flags read back: $(echo "$got" | head -3)"
expect_eq "$got" "$(expected "AND m.messagefolderid = $INBOX")" "Dovecot reads the Maildir INBOX: ids, flags, dates"
expect_eq "$(dove "maildir:$T_TMP/x/md" Archive.2020)" "$(expected "AND m.messagefolderid = $Y")" "Dovecot reads Archive.2020"

# --- mbox ----------------------------------------------------------------------------
M export "user/$A" --mbox "$T_TMP/x/mb" --json; expect_ok "export --mbox"
expect_eq "$(t_out | jq -c '[.format, .messages, .folders, .failed, .ok]')" "[\"mbox\",$n_all,2,0,true]" "--json summary"
[ -f "$T_TMP/x/mb/Archive/2020" ] && t_ok || t_fail "mbox sub-folder file Archive/2020"
expect_eq "$(dove "mbox:$T_TMP/x/mb:INBOX=$T_TMP/x/mb/INBOX" INBOX)" "$(expected "AND m.messagefolderid = $INBOX")" "Dovecot reads the mbox INBOX"
expect_eq "$(dove "mbox:$T_TMP/x/mb:INBOX=$T_TMP/x/mb/INBOX" Archive/2020)" "$(expected "AND m.messagefolderid = $Y")" "Dovecot reads the mbox Archive/2020"
if grep -q $'\r' "$T_TMP/x/mb/INBOX"; then t_fail "CR left in the mbox"; else t_ok; fi

# --- one folder, -n ---------------------------------------------------------------------
M export "user/$A/Archive" --maildir "$T_TMP/x/one"; expect_ok "export one folder with its sub-folders"
n_y=$(q "SELECT COUNT(*) FROM hm_messages WHERE messagefolderid = $Y")
expect_out_contains "wrote $n_y message(s)" "only Archive's sub-folder"
[ -e "$T_TMP/x/one/cur" ] && [ -z "$(ls -A "$T_TMP/x/one/cur")" ] && t_ok || t_fail "the INBOX left empty"
M export "user/$A" --mbox "$T_TMP/x/dry" -n --json; expect_ok "dry run"
expect_eq "$(t_out | jq -c '[.dry_run, .messages]')" "[true,$n_all]" "dry run counts"
[ -e "$T_TMP/x/dry" ] && t_fail "dry run created the directory" || t_ok

# --- errors ------------------------------------------------------------------------------
M export "user/$A" --maildir "$T_TMP/x/md"; expect_rc 2 "non-empty target"; expect_err_contains "not empty" "says why"
M export "user/$A/Nope" --maildir "$T_TMP/x/e1"; expect_rc 2 "unknown folder"; expect_err_contains "no folder Nope" "names it"
[ -e "$T_TMP/x/e1" ] && t_fail "a refused export left its target behind (its rerun would be refused)" || t_ok
M export "user/$A/Nope" --mbox "$T_TMP/x/e1"; expect_rc 2 "unknown folder, --mbox"
[ -e "$T_TMP/x/e1" ] && t_fail "a refused export --mbox left its target behind" || t_ok
M export "user/nobody@nowhere.example" --maildir "$T_TMP/x/e2"; expect_fail "unknown account"; expect_err_contains "nobody@nowhere.example" "names it"
M export "#Public/x" --maildir "$T_TMP/x/e3"; expect_rc 2 "public folders refused"
M export "user/$A"; expect_rc 2 "no format"
M export "user/$A" --maildir "$T_TMP/x/e4" --mbox "$T_TMP/x/e5"; expect_rc 2 "two formats"

# --- the store is untouched ------------------------------------------------------------
M reconstruct -n; expect_ok "reconstruct -n clean after the exports"
expect_eq "$(q "SELECT messageid, messagefolderid, messageflags, messagecreatetime, messageuid FROM hm_messages ORDER BY messageid" | sha256sum)" "$rows_before" "rows unchanged"

# --- a folder whose name holds the hierarchy delimiter ('.'): no name to export it by --------
# (joined, "dot.ted" is the folder "ted" below "dot": it was exported as
# another folder, or stopped the run; now it is named and counted failed)
q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($AID, -1, 'dot.ted', 1, '2020-01-01 00:00:00', 0)"
DT=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = $AID AND foldername = 'dot.ted'")
q "UPDATE hm_messages SET messagefolderid = $DT WHERE messageid = (SELECT MIN(messageid) FROM hm_messages WHERE messagefolderid = $INBOX)"
q "UPDATE hm_imapfolders SET foldercurrentuid = (SELECT MAX(messageuid) FROM hm_messages WHERE messagefolderid = $DT) WHERE folderid = $DT"
M export "user/$A" --maildir "$T_TMP/x/dot"; expect_rc 1 "an account with such a folder: exit 1"
expect_err_contains "folder dot.ted not exported: a level of its name holds the hierarchy delimiter" "names the folder and why"
expect_out_contains "wrote $((n_all - 1)) message(s)" "every other message exported, none twice"
[ -e "$T_TMP/x/dot/.dot.ted" ] && t_fail "exported under the delimiter's reading" || t_ok
M export "user/$A/dot.ted" --mbox "$T_TMP/x/dot2"; expect_rc 1 "that folder asked for: exit 1, not 'no such folder'"
expect_err_contains "folder dot.ted not exported" "and says why"

t_done
