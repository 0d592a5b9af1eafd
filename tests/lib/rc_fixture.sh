# rc_fixture.sh - the healthy store the reconstruct tests corrupt, and the
# checks they share (sourced after common.sh by tests/e2e/test_reconstruct*.sh).
export TZ=UTC
D=$T_TMP/Data
old='2021-03-04 05:06:07'
q() { t_sql "$URL" "$1"; }
M() { mst --db "$URL" --data "$D" "$@"; }
R() { M reconstruct --no-progress --save-removed "$T_TMP/removed.tsv" "$@"; }

msg() { # msg RELPATH N: a small message
	local f=$D/$1
	mkdir -p "$(dirname "$f")"
	printf 'From: s%s@x.org\r\nTo: %s\r\nDate: Mon, 01 Jan 2018 00:00:00 +0000\r\nSubject: m%s\r\n\r\nbody %s\r\n' \
		"$2" "${3:-a@b.c}" "$2" "$2" > "$f"
	touch -d "$old" "$f"
}
guid() { printf '{%02X%06X-0000-4000-8000-%012X}.eml' "$1" "$2" "$2"; }

# A healthy store: alice (6 messages, 2 of them in INBOX/Work), bob (8),
# carol (3), one queued message for alice.  Built through mstore once per
# test; every later call starts from a copy of the first (database and
# data directory, the ids in aid, ainbox, ... the same).
healthy() {
	rm -rf "$D" "$T_TMP/removed.tsv"
	if [ -n "${RC_TEMPLATE_URL:-}" ]; then
		URL=$(t_clone_db "$RC_TEMPLATE_URL" rc) || { t_fail "cannot copy the healthy store"; t_done; }
		cp -a "$T_TMP/healthy-data" "$D"
		return 0
	fi
	healthy_build
	RC_TEMPLATE_URL=$(t_clone_db "$URL" rctmpl) || { t_fail "cannot copy the healthy store"; t_done; }
	rm -rf "$T_TMP/healthy-data"
	cp -a "$D" "$T_TMP/healthy-data"
}
healthy_build() {
	mkdir -p "$D"
	URL=$(t_new_db rc) || { t_fail "cannot create a test database"; t_done; }
	mst init "$URL"
	M domain add example.com
	for a in alice bob carol; do M account add $a@example.com; done
	local i n=0
	for a in alice:6 bob:8 carol:3; do
		for i in $(seq "${a#*:}"); do
			n=$((n + 1)); g=$(guid $((n * 7)) "$n")
			msg "example.com/${a%:*}/${g:1:2}/$g" "$n"
		done
	done
	msg "$(guid 255 99)" 99 alice@example.com
	M sync --settle 0 --no-progress; [ "$T_RC" = 0 ] || t_fail "healthy store: sync failed: $(t_errout)"
	aid=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress='alice@example.com'")
	bid=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress='bob@example.com'")
	cid=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress='carol@example.com'")
	ainbox=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid=$aid")
	binbox=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid=$bid")
	cinbox=$(q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid=$cid")
	q "INSERT INTO hm_imapfolders (folderaccountid, folderparentid, foldername, folderissubscribed, foldercreationtime, foldercurrentuid) VALUES ($aid, $ainbox, 'Work', 1, '2020-01-01 00:00:00', 2)"
	work=$(q "SELECT folderid FROM hm_imapfolders WHERE foldername='Work'")
	local ids; ids=$(q "SELECT messageid FROM hm_messages WHERE messageaccountid=$aid ORDER BY messageid" | head -2)
	local u=1; for i in $ids; do q "UPDATE hm_messages SET messagefolderid=$work, messageuid=$u WHERE messageid=$i"; u=$((u + 1)); done
	qid=$(q "SELECT messageid FROM hm_messages WHERE messagetype=1")
	[ -n "$qid" ] || t_fail "healthy store: no queued message"
}

# Everything reconstruct could change, to compare before and after -n.
state() {
	q "SELECT messageid, messageaccountid, messagefolderid, messagefilename, messagesize, messageuid, messagelocked FROM hm_messages ORDER BY messageid"
	q "SELECT folderid, folderaccountid, folderparentid, foldername, foldercurrentuid FROM hm_imapfolders ORDER BY folderid"
	q "SELECT recipientid, recipientmessageid FROM hm_messagerecipients ORDER BY recipientid"
	q "SELECT metadata_id, metadata_messageid FROM hm_message_metadata ORDER BY metadata_id"
	(cd "$D" && find . -path ./.mstore -prune -o -type f -printf '%p %s\n' | sort)
}

# check KIND [COUNT]: -n reports KIND (COUNT times), exits 1, changes nothing
check() {
	local kind=$1 count=${2:-1} before
	before=$(state)
	R -n
	expect_rc 1 "$kind: -n exit code"
	expect_eq "$(grep -c ": $kind: " "$T_TMP/out")" "$count" "$kind: -n reports it $count times"
	[ "$kind" = unreferenced-file ] || expect_out_contains "would repair" "$kind: -n says what it would repair"
	expect_eq "$(state)" "$before" "$kind: -n changed nothing"
}
# repaired KIND: -r repairs it (exit 0) and a second -n is clean
repaired() {
	R -r
	expect_rc 0 "$1: -r exit code"
	expect_out_contains ": $1: " "$1: -r lists the finding"
	expect_out_contains "(repaired: " "$1: -r says what it did"
	R -n
	expect_rc 0 "$1: -n after -r"
	expect_out_contains "reconstruct: no findings" "$1: -n after -r finds nothing"
}
uids_sane() { # every folder's current UID >= its largest UID; no duplicates
	local bad
	bad=$(q "SELECT f.folderid FROM hm_imapfolders f WHERE f.foldercurrentuid < (SELECT COALESCE(MAX(m.messageuid), 0) FROM hm_messages m WHERE m.messagefolderid = f.folderid)")
	expect_eq "$bad" "" "$1: foldercurrentuid >= largest UID everywhere"
	bad=$(q "SELECT messagefolderid, messageuid FROM hm_messages WHERE messagetype=2 GROUP BY messagefolderid, messageuid HAVING COUNT(*) > 1")
	expect_eq "$bad" "" "$1: no duplicate UIDs"
}
bob_file() { q "SELECT messagefilename FROM hm_messages WHERE messageaccountid=$bid ORDER BY messageid" | sed -n "${1}p"; }
path_of() { local n=$1 dir=$2; echo "$D/example.com/$dir/${n:1:2}/$n"; }

