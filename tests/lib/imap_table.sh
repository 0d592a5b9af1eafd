# imap_table.sh - the cases of the channel's table (issue 14's tests,
# channel.md) with one side on the test Dovecot (issue 15) and the other a
# Maildir++ tree, an mbox directory or an hMailServer account: `table KIND`
# (maildir, mbox, hm) runs them all.  Sourced after common.sh and
# t_need_imap (and t_need_server for hm).  The server's view is read with
# doveadm, never with mstore; the local side with find, grep and SQL.
#
# First sync both ways (messages without a Message-ID, two with equal
# headers and different bodies, a duplicate reported and not multiplied, a
# message over sizelimit left behind, a folder on one side only),
# deletions on each side and on both, flag changes on each side and
# conflicting ones, -n then a normal run (no resurrection), -s and
# --dry-run writing nothing, a folder created on the server, a folder
# renamed on it (the brake, then --force-deletions removes the old name).
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD

# --- the local side: a Maildir++ tree, an mbox directory, or an hMailServer account ----------------
# (hm: the account ann@example.com on the test's database $HM_URL, data
# directory $L, changed as hMailServer itself would: mstore deliver for new
# mail, the row and the file for an expunge, the row for flags)
n=0
body() { # body SUBJECT MSGID [BODY] [EXTRA HEADER LINES]
	printf 'From: a@example.org\nSubject: %s\n' "$1"
	[ -n "$2" ] && printf 'Message-ID: <%s>\n' "$2"
	[ -n "${4:-}" ] && printf '%s\n' "$4"
	printf '\n%s\n' "${3:-body of $1}"
}
md_dir() { if [ "$1" = INBOX ]; then echo "$L"; else echo "$L/.$1"; fi; }
hm() { mst --db "$HM_URL" --data "$L" --server-tz UTC "$@"; }
hm_q() { t_sql "$HM_URL" "$1" | tr -d '\r'; }
hm_rows() { # hm_rows FOLDER: "FILE<TAB>FLAGS" of the messages of a top-level folder
	hm_q "SELECT m.messagefilename, m.messageflags FROM hm_messages m JOIN hm_imapfolders f ON f.folderid = m.messagefolderid
		JOIN hm_accounts a ON a.accountid = m.messageaccountid
		WHERE a.accountaddress = 'ann@example.com' AND f.foldername = '$1' AND f.folderparentid = -1"
}
hm_path() { find "$L" -type f -name "${1##*[\\/]}" | head -1; }
hm_find() { # hm_find FOLDER SUBJECT: the stored file name of that message
	local fn fl
	while IFS=$'\t' read -r fn fl; do
		tr -d '\r' <"$(hm_path "$fn")" | grep -q -a -x "Subject: $2" && { echo "$fn"; return; }
	done < <(hm_rows "$1")
}
hm_letters() { awk '{ b = $1 + 0; f = ""; if (b % 2) f = f "S"; if (int(b / 4) % 2) f = f "F"; if (int(b / 8) % 2) f = f "R"; print f }'; }
mb_fields() { # the Status/X-Status lines for flags F R S
	local st xs
	st=$(echo "$1" | tr -dc S | sed 's/S/R/') xs=$(echo "$1" | tr -dc FR | sed 's/R/A/')
	[ -n "$st" ] && printf 'Status: %s\n' "$st"
	[ -n "$xs" ] && printf 'X-Status: %s\n' "$xs"
	return 0
}
put() { # put FOLDER SUBJECT MSGID [FLAGS] [BODY]: a message on the local side
	local f=$1 subj=$2 id=$3 fl=${4:-} b=${5:-} d
	n=$((n + 1))
	if [ "$KIND" = maildir ]; then
		d=$(md_dir "$f"); mkdir -p "$d"/{cur,new,tmp}
		body "$subj" "$id" "$b" >"$d/cur/$((1700000000 + n)).M$n.host:2,$fl"
	elif [ "$KIND" = hm ]; then
		if [ "$f" != INBOX ] && [ -z "$(hm_q "SELECT folderid FROM hm_imapfolders WHERE foldername = '$f'")" ]; then
			hm folder create "user/ann@example.com/$f"; [ "$T_RC" = 0 ] || t_fail "hm: cannot create $f: $(t_errout)"
		fi
		local flags=()
		[ -n "$fl" ] && flags=(--flags "$(echo "$fl" | fold -w1 | sed 's/S/seen/; s/F/flagged/; s/R/answered/' | paste -sd,)")
		body "$subj" "$id" "$b" >"$T_TMP/put.eml"   # a file, not a pipe: mst sets T_RC in this shell
		hm deliver "ann@example.com/$f" "$T_TMP/put.eml" "${flags[@]}"
		[ "$T_RC" = 0 ] || t_fail "hm: cannot deliver $subj (exit $T_RC): $(t_out) $(t_errout)"
	else
		{ [ -s "$L/$f" ] && printf '\n'
		  printf 'From a@example.org Mon Jan  1 00:00:00 2024\n'
		  body "$subj" "$id" "$b" "$(mb_fields "$fl")"; } >>"$L/$f"
	fi
}
loc_drop() { # loc_drop FOLDER SUBJECT: delete that message on the local side
	local fn
	if [ "$KIND" = hm ]; then
		fn=$(hm_find "$1" "$2")
		rm -f "$(hm_path "$fn")"
		hm_q "DELETE FROM hm_messages WHERE messagefilename = '$fn'"
	elif [ "$KIND" = maildir ]; then
		grep -l -x "Subject: $2" "$(md_dir "$1")"/cur/* "$(md_dir "$1")"/new/* 2>/dev/null | xargs rm -f
	else
		awk -v s="Subject: $2" 'function flush() { if (!drop) printf "%s", buf; buf = ""; drop = 0 }
			/^From / { flush() } { buf = buf $0 "\n"; if ($0 == s) drop = 1 } END { flush() }' "$L/$1" >"$L/$1.tmp" &&
			mv "$L/$1.tmp" "$L/$1"
	fi
}
loc_subjects() { # the sorted Subjects of a local folder
	local fn fl
	if [ "$KIND" = hm ]; then
		hm_rows "$1" | while IFS=$'\t' read -r fn fl; do tr -d '\r' <"$(hm_path "$fn")" | grep -a -m1 '^Subject:'; done | sort
	elif [ "$KIND" = maildir ]; then
		cat "$(md_dir "$1")"/cur/* "$(md_dir "$1")"/new/* 2>/dev/null | grep -a '^Subject:' | sort
	else
		grep -a '^Subject:' "$L/$1" 2>/dev/null | sort
	fi
}
loc_flags() { # loc_flags FOLDER SUBJECT: the message's flags as letters (F R S), sorted
	local f fn
	if [ "$KIND" = hm ]; then
		fn=$(hm_find "$1" "$2")
		hm_q "SELECT messageflags FROM hm_messages WHERE messagefilename = '$fn'" | hm_letters | fold -w1 | sort | tr -d '\n'
	elif [ "$KIND" = maildir ]; then
		f=$(grep -l -x "Subject: $2" "$(md_dir "$1")"/cur/* "$(md_dir "$1")"/new/* 2>/dev/null | head -1)
		printf '%s' "${f##*:2,}" | tr -dc FRS | fold -w1 | sort | tr -d '\n'
	else
		awk -v s="Subject: $2" '/^From / { inhdr = 1; hit = 0; fl = "" } inhdr && $0 == s { hit = 1 }
			inhdr && /^Status:/ { if ($2 ~ /R/) fl = fl "S" } inhdr && /^X-Status:/ { if ($2 ~ /F/) fl = fl "F"; if ($2 ~ /A/) fl = fl "R" }
			inhdr && $0 == "" { if (hit) out = fl; inhdr = 0 } END { print out }' "$L/$1" | fold -w1 | sort | tr -d '\n'
	fi
}
loc_flag() { # loc_flag FOLDER SUBJECT LETTERS: give the message exactly these flags (F R S)
	local f d fn bits=0
	if [ "$KIND" = hm ]; then
		fn=$(hm_find "$1" "$2")
		case $3 in *S*) bits=$((bits + 1)) ;; esac
		case $3 in *F*) bits=$((bits + 4)) ;; esac
		case $3 in *R*) bits=$((bits + 8)) ;; esac
		hm_q "UPDATE hm_messages SET messageflags = $bits WHERE messagefilename = '$fn'"
	elif [ "$KIND" = maildir ]; then
		d=$(md_dir "$1")
		f=$(grep -l -x "Subject: $2" "$d"/cur/* "$d"/new/* 2>/dev/null | head -1)
		mv "$f" "$d/cur/$(basename "${f%%:2,*}"):2,$(echo "$3" | fold -w1 | sort | tr -d '\n')"
	else
		awk -v s="Subject: $2" -v fields="$(mb_fields "$3")" '
			/^From / { inhdr = 1; hit = 0 } inhdr && $0 == s { hit = 1 }
			inhdr && hit && /^(X-)?Status:/ { next }
			inhdr && $0 == "" { if (hit && fields != "") print fields; inhdr = 0 } { print }' "$L/$1" >"$L/$1.tmp" &&
			mv "$L/$1.tmp" "$L/$1"
	fi
}

# --- the server's view, from doveadm --------------------------------------------------------------
# snap: one doveadm fetch of every message (each call costs ~0.5 s on a busy machine),
# "MAILBOX<TAB>UID<TAB>FLAGS<TAB>SUBJECT" lines that srv_subjects and srv_flags read
snap() {
	t_imapd doveadm fetch -u "$U" 'mailbox uid flags hdr.subject' all 2>/dev/null | awk '
		/^mailbox: / { m = substr($0, 10) } /^uid: / { u = $2 } /^flags: / { f = substr($0, 8) }
		/^hdr.subject: / { printf "%s\t%s\t%s\t%s\n", m, u, f, substr($0, 14) }' >"$T_TMP/srv.txt"
}
srv_subjects() { awk -F'\t' -v m="$1" '$1 == m { print "Subject: " $4 }' "$T_TMP/srv.txt" | sort; }
srv_flags() {
	awk -F'\t' -v m="$1" -v s="$2" '$1 == m && $4 == s { print $3; exit }' "$T_TMP/srv.txt" |
		sed 's/\\Seen/S/; s/\\Flagged/F/; s/\\Answered/R/' | tr -dc FRS | fold -w1 | sort | tr -d '\n'
}
srv_put() { body "$2" "$3" | t_imapd doveadm save -u "$U" -m "$1"; }
srv_expunge() { t_imapd doveadm expunge -u "$U" mailbox "$1" header subject "$2"; }
same() { # same FOLDER DESCRIPTION: the folder holds the same messages on both sides
	# (by Subject; the local duplicate and the message over sizelimit aside)
	expect_eq "$(loc_subjects "$1" | grep -v -x 'Subject: big' | sort -u)" "$(srv_subjects "$1" | sort -u)" "$KIND: $2"
}
ch() { mst channel -f "$T_TMP/$KIND.conf" --state-dir "$T_TMP/$KIND.state" "$@"; T_RC_CH=$T_RC; snap; T_RC=$T_RC_CH; }
sums() { { (cd "$L" && find . -type f ! -name '*.lock' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
	   [ "$KIND" != hm ] || hm_q "SELECT messageid, messagefolderid, messageuid, messageflags, messagefilename FROM hm_messages ORDER BY messageid"
	   [ "$KIND" != hm ] || hm_q "SELECT folderid, foldername, foldercurrentuid FROM hm_imapfolders ORDER BY folderid"
	   find "$T_TMP/$KIND.state" -type f ! -name '*.lock' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
	   snap; cat "$T_TMP/srv.txt"; } | sha256sum; }

table() {
	KIND=$1 U=t$$$1 L=$T_TMP/$1
	t_imapd adduser "$U" || { t_fail "cannot add the IMAP user $U"; return; }
	mkdir -p "$L"
	local kindline="kind $KIND path $L"
	case $KIND in
	maildir) mkdir -p "$L"/{cur,new,tmp}; kindline="$kindline layout maildir++" ;;
	hm)
		HM_URL=$(t_new_db imaptable)
		mst init "$HM_URL" --data "$L" && hm domain add example.com && hm account add ann@example.com ||
			{ t_fail "hm: cannot make the store"; return; }
		kindline="kind hmailserver db $HM_URL data $L account ann@example.com" ;;
	esac
	cat >"$T_TMP/$KIND.conf" <<CONF
store loc { $kindline }
store dv { kind imap host localhost port $MSTORE_TEST_IMAPS_PORT tls implicit user $U cafile $MSTORE_TEST_IMAP_CA timeout 20 }
channel c loc dv { sizelimit 20000 }
CONF
	for i in 1 2 3 4 5 6; do put INBOX "m$i" "m$i@x" S; done
	put INBOX noid "" "" "first body"                 # equal headers, different bodies, no Message-ID
	put INBOX noid "" "" "second body"
	put INBOX dup dup@x S "the same bytes"            # a duplicate: byte-identical twice
	put INBOX dup dup@x S "the same bytes"
	put INBOX big big@x S "$(head -c 30000 /dev/zero | tr '\0' 'b' | fold -w 76)"
	put Sub sub1 sub1@x
	srv_put INBOX s1 s1@x
	srv_put INBOX s-noid ""
	t_imapd doveadm mailbox create -u "$U" Srv && srv_put Srv v1 v1@x

	# first sync: everything once on both sides, but the big message and the second dup
	ch c; expect_rc 1 "$KIND: first sync (the big message is left behind)"
	expect_out_contains "duplicate" "$KIND: the duplicate is reported"
	expect_eq "$(srv_subjects INBOX | grep -c .)" 11 "$KIND: m1-m6, both noid, dup once, s1, s-noid on the server"
	expect_eq "$(srv_subjects INBOX | grep -c -x 'Subject: big')" 0 "$KIND: the message over sizelimit is not copied"
	expect_eq "$(loc_subjects INBOX | grep -c -x 'Subject: dup')" 2 "$KIND: the local duplicate is never deleted"
	expect_eq "$(loc_subjects INBOX | grep -c -x 'Subject: noid')/$(srv_subjects INBOX | grep -c -x 'Subject: noid')" 2/2 \
		"$KIND: both identity-less messages with equal headers are synchronized"
	expect_eq "$(loc_subjects INBOX | grep -c -x -e 'Subject: s1' -e 'Subject: s-noid')" 2 "$KIND: the server's two are copied here"
	same Sub "Sub created on the server"
	same Srv "Srv created here"
	expect_eq "$(srv_flags INBOX m1)" S "$KIND: flags copied up"

	# deletions on each side and on both; flags on each side, and conflicting changes of one message
	loc_drop INBOX m1
	srv_expunge INBOX m2
	loc_drop INBOX m3; srv_expunge INBOX m3
	loc_flag INBOX m4 FS
	t_imapd doveadm flags add -u "$U" '\Flagged' mailbox INBOX header subject s1
	loc_flag INBOX m5 F                                    # here: \Seen removed, \Flagged added
	t_imapd doveadm flags add -u "$U" '\Answered' mailbox INBOX header subject m5   # there: \Answered added
	ch c; expect_rc 1 "$KIND: second sync (big still left behind)"
	expect_eq "$(loc_subjects INBOX | grep -c -x -e 'Subject: m1' -e 'Subject: m2' -e 'Subject: m3')" 0 "$KIND: m1, m2, m3 gone here"
	expect_eq "$(srv_subjects INBOX | grep -c -x -e 'Subject: m1' -e 'Subject: m2' -e 'Subject: m3')" 0 "$KIND: and on the server"
	expect_eq "$(srv_flags INBOX m4)" FS "$KIND: a flag set here reaches the server"
	expect_eq "$(loc_flags INBOX s1)" F "$KIND: a flag set on the server reaches here"
	expect_eq "$(loc_flags INBOX m5)/$(srv_flags INBOX m5)" FR/FR "$KIND: conflicting changes merged flag by flag on both sides"

	# -n keeps a deletion pending; the next run carries it out and nothing comes back
	srv_expunge INBOX m6
	ch -n c; expect_rc 1 "$KIND: -n"
	expect_eq "$(loc_subjects INBOX | grep -c -x 'Subject: m6')" 1 "$KIND: -n deletes nothing"
	expect_eq "$(srv_subjects INBOX | grep -c -x 'Subject: m6')" 0 "$KIND: -n does not copy the deleted message back"
	ch c; expect_rc 1 "$KIND: the run after -n"
	expect_eq "$(loc_subjects INBOX | grep -c -x 'Subject: m6')/$(srv_subjects INBOX | grep -c -x 'Subject: m6')" 0/0 \
		"$KIND: the pending deletion carried out, no resurrection"

	# -s and --dry-run write nothing, on either side or in the state
	put INBOX pending-here p1@x S
	srv_put INBOX pending-there p2@x
	loc_drop INBOX m4
	before=$(sums)
	ch -s c >/dev/null; expect_rc 1 "$KIND: -s"
	expect_out_contains "Only simulating" "$KIND: -s says so"
	expect_eq "$(sums)" "$before" "$KIND: -s wrote nothing"
	ch --dry-run c; expect_rc 1 "$KIND: --dry-run"
	expect_out_contains "would write on" "$KIND: --dry-run lists the writes"
	expect_eq "$(sums)" "$before" "$KIND: --dry-run wrote nothing"
	ch c; expect_rc 1 "$KIND: the real run"
	same INBOX "INBOX the same on both sides (big aside)"
	expect_eq "$(loc_subjects INBOX | grep -c -x -e 'Subject: pending-here' -e 'Subject: pending-there' -e 'Subject: m4')" 2 \
		"$KIND: the new ones copied, m4 deleted"

	# a folder created on the server; a folder that vanishes from it is stopped by the brake
	t_imapd doveadm mailbox create -u "$U" Fresh && srv_put Fresh f1 f1@x
	ch c; expect_rc 1 "$KIND: a new folder on the server"
	same Fresh "the new folder is created here with its message"
	# a folder renamed on the server: the old name vanished (the brake stops the run), the new
	# one is new; with --force-deletions the new one is copied here and the old one's local copies
	# go to the quarantine (--undo brings them back), so nothing is lost either way
	t_imapd doveadm mailbox rename -u "$U" Srv Renamed
	ch c; expect_rc 1 "$KIND: a folder renamed on the server"
	expect_out_contains "brake" "$KIND: the brake names the vanished name"
	expect_eq "$(loc_subjects Srv | grep -c -x 'Subject: v1')" 1 "$KIND: nothing deleted here"
	ch --force-deletions c; expect_rc 1 "$KIND: the rename accepted with --force-deletions"
	same Renamed "the renamed folder arrives here with its message"
	expect_eq "$(loc_subjects Srv | grep -c .)" 0 "$KIND: the old name's copy left here ..."
	expect_out_contains "mstore channel --undo" "$KIND: ... for the quarantine, the run names its undo"
	# the old name, empty then, is removed here and not made again on the server
	case $KIND in
	maildir) [ ! -e "$L/.Srv" ] ;;
	mbox) [ ! -e "$L/Srv" ] ;;
	hm) [ -z "$(hm_q "SELECT folderid FROM hm_imapfolders WHERE foldername = 'Srv'")" ] ;;
	esac || t_fail "$KIND: --force-deletions left the old name here"; t_ok
	expect_eq "$(t_imapd doveadm mailbox list -u "$U" | grep -c -x Srv)" 0 "$KIND: the old name not made again on the server"
	# a complete run (the message over sizelimit goes first) with -D: nothing brings it back
	loc_drop INBOX big
	ch -D c; expect_ok "$KIND: -D, a complete run"
	expect_eq "$(t_imapd doveadm mailbox list -u "$U" | grep -c -x Srv)" 0 "$KIND: still no old name on the server"
}

