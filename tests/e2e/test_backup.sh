#!/usr/bin/env bash
# mstore backup and restore end to end (issue 17), real binary, real
# stores.  The source is always a SQLite store (sync'd accounts of two
# domains plus folders, a nested one, flags and duplicates filled by a
# channel run); the target is a store of the test's backend, so on pgsql
# and mysql this is the SQLite -> PostgreSQL / MariaDB migration.  Checked:
# the archive opened by plain tar and zstd, each content once and its
# member's hash its name; the restored store row by row (account, folder
# path, UID, flags, internal date, size, sender, content) equal to the
# source, `reconstruct -n` clean, a backup of the target equal line for
# line to the source's; a rerun and a repeat add nothing; -n writes
# nothing; partial restores (one folder --into another account, --domain);
# a file gone before the backup read it; damaged, newer, hostile
# archives refused with nothing written; SIGKILL during restore, then a
# rerun, ends equal with no duplicate.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

# --- the source: SQLite ------------------------------------------------------------
SRC=sqlite:$T_TMP/src.sqlite
SD=$T_TMP/src
"$MSTORE_GEN" --seed 7 --messages 80 --domains 2 --accounts 4 --queue-percent 0 "$SD" >/dev/null ||
	t_fail "gen_datadir"
mst init "$SRC"
expect_ok "init the source"
MSTORE_TEST_BACKEND=sqlite t_add_objects "$SRC" "$SD/objects.txt"
mst sync --db "$SRC" --data "$SD/Data"
expect_ok "sync the source"
# folders with flags, duplicates and a nested folder, by a channel run
MD=$T_TMP/md
"$MSTORE_GEN" --maildir 3 --seed 8 --messages 24 --dup-percent 15 "$MD" >/dev/null || t_fail "gen_datadir --maildir"
mkdir -p "$MD/F01/Sub"/{cur,new,tmp}
cp "$(find "$MD/F02/cur" -type f | head -1)" "$MD/F01/Sub/cur/1700000000.M1.h:2,S"
cat >"$T_TMP/ch.conf" <<CONF
store md { kind maildir path $MD layout verbatim }
store hm { kind hmailserver db $SRC data $SD/Data account alice0@d0.example.com }
channel c md hm { }
CONF
mst channel -f "$T_TMP/ch.conf" c
expect_ok "channel into the source's alice0"

# sig URL DATA: one line per message: account|folder/path|uid|flags|date|size|from|sha256
sig() {
	local url=$1 data=$2
	find "$data" -type f -name '*.eml' -exec sha256sum {} + |
		awk '{ n = $2; sub(/.*\//, "", n); print n "\t" $1 }' | sort >"$T_TMP/sig.files"
	t_sql "$url" "SELECT folderid, folderparentid, foldername FROM hm_imapfolders" >"$T_TMP/sig.folders"
	t_sql "$url" "SELECT m.messagefilename, a.accountaddress, m.messagefolderid, m.messageuid, m.messageflags,
		m.messagecreatetime, m.messagesize, m.messagefrom FROM hm_messages m
		JOIN hm_accounts a ON a.accountid = m.messageaccountid" | sort >"$T_TMP/sig.rows"
	join -t $'\t' -a 1 "$T_TMP/sig.rows" "$T_TMP/sig.files" |
		awk -F'\t' 'NR == FNR { parent[$1] = $2; name[$1] = $3; next }
			{ p = name[$3]; for (f = parent[$3]; f != -1 && f != ""; f = parent[f]) p = name[f] "/" p
			  printf "%s|%s|%s|%s|%s|%s|%s|%s\n", $2, p, $4, $5, substr($6, 1, 19), $7, $8, ($9 == "" ? "NOFILE" : $9) }' \
			"$T_TMP/sig.folders" - | sort
}
count() { t_sql "$1" "SELECT COUNT(*) FROM hm_messages"; }

sig "$SRC" "$SD/Data" >"$T_TMP/src.sig"
N=$(wc -l <"$T_TMP/src.sig")
[ "$N" -gt 80 ] || t_fail "the source holds $N messages, wanted more than 80"
grep -q '|INBOX|' "$T_TMP/src.sig" && grep -q '|F01/Sub|' "$T_TMP/src.sig" ||
	t_fail "the source lacks INBOX or F01/Sub: $(cut -d'|' -f2 "$T_TMP/src.sig" | sort -u | tr '\n' ' ')"
grep -q NOFILE "$T_TMP/src.sig" && t_fail "a source row without its file"

# --- backup: plain tar and zstd, opened by the ordinary tools ------------------------
A=$T_TMP/a.tar
mst backup -f "$A" --db "$SRC" --data "$SD/Data"
expect_ok "backup"
expect_out_contains "backup $A: $N messages" "the summary counts every message"
mst backup -f "$A" --db "$SRC" --data "$SD/Data"
expect_rc 5 "a second backup to the same file"
expect_err_contains "never overwrites" "an existing archive is never overwritten"
# a write error on standard output (a full disk, a closed pipe): exit 5
# with the cause, and nothing else (under ASan, libarchive's output buffer
# leaked: LeakSanitizer made it exit 1)
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" backup -f - --db "$SRC" --data "$SD/Data" >/dev/full 2>"$T_TMP/err"
T_RC=$?; expect_rc 5 "backup -f - to a full device"
expect_err_contains "Write error" "says why"
grep -q "LeakSanitizer" "$T_TMP/err" && t_fail "a leak on the write error path: $(head -c 300 "$T_TMP/err")" || t_ok
# the same with a store of small messages (the error then comes inside a
# member: libarchive's fatal state, where its free skipped the close)
L=$T_TMP/leak; mkdir -p "$L/Data"
mst init "sqlite:$L/s.db"; mst domain add example.com --db "sqlite:$L/s.db"; mst account add a@example.com --db "sqlite:$L/s.db"
for i in $(seq 31); do printf 'From: x@y\r\nSubject: s%d\r\n\r\nbody %d\r\n' "$i" "$i" >"$L/m.eml"
	mst deliver a@example.com "$L/m.eml" --db "sqlite:$L/s.db" --data "$L/Data"; done
"$MSTORE_BIN" backup -f - --db "sqlite:$L/s.db" --data "$L/Data" >/dev/full 2>"$T_TMP/err"
T_RC=$?; expect_rc 5 "backup -f - of small messages to a full device"
grep -q "LeakSanitizer" "$T_TMP/err" && t_fail "a leak on the write error path: $(head -c 300 "$T_TMP/err")" || t_ok
tar -tf "$A" >"$T_TMP/members" || t_fail "tar cannot list the archive"
expect_eq "$(head -2 "$T_TMP/members" | tr '\n' ' ')" "mstore-archive.json objects.json " "the manifest members come first"
expect_eq "$(tail -2 "$T_TMP/members" | tr '\n' ' ')" "messages.jsonl end.json " "messages.jsonl and end.json come last"
distinct=$(cut -d'|' -f8 "$T_TMP/src.sig" | sort -u | wc -l)
expect_eq "$(grep -c '^content/' "$T_TMP/members")" "$distinct" "each content once (single-copy)"
[ "$distinct" -lt "$N" ] || t_fail "the fixture has no content stored twice ($distinct of $N): single-copy untested"
mkdir "$T_TMP/x" && tar -xf "$A" -C "$T_TMP/x" || t_fail "tar cannot extract the archive"
bad=$(cd "$T_TMP/x/content" && sha256sum -- * | awk '$1 != $2' | wc -l)
expect_eq "$bad" 0 "every content member's SHA-256 is its name"
expect_eq "$(jq -r '.format + " " + (.version | tostring)' "$T_TMP/x/mstore-archive.json")" "mstore-archive 4" "header"
expect_eq "$(jq -s length "$T_TMP/x/messages.jsonl")" "$N" "one line per message"
expect_eq "$(jq '.messages' "$T_TMP/x/end.json")" "$N" "end.json counts the messages"
Z=$T_TMP/a.tar.zst
mst backup -f - --zstd --json --db "$SRC" --data "$SD/Data"
expect_ok "backup to stdout, compressed"
mv "$T_TMP/out" "$Z"
expect_eq "$(jq .messages "$T_TMP/err")" "$N" "--json with -f - goes to stderr"
expect_eq "$(zstd -dc "$Z" | tar -tf - | sort | sha256sum)" "$(sort "$T_TMP/members" | sha256sum)" \
	"zstd and tar read the compressed archive: the same members"

# --- restore from a pipe into the test's backend ---------------------------------------
DST=$(t_new_db bk)
DD=$T_TMP/dst
mkdir -p "$DD"
mst init "$DST"
expect_ok "init the target"
mst restore -n -f "$Z" --db "$DST" --data "$DD"
expect_ok "restore -n"
expect_out_contains "$N messages to restore" "-n counts what it would restore"
expect_out_contains "4 accounts created" "-n counts the accounts it would create (was 0)"
expect_eq "$(count "$DST")" 0 "-n wrote no message"
expect_eq "$(t_sql "$DST" "SELECT COUNT(*) FROM hm_accounts")" 0 "-n created no account"
MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" restore -f - --db "$DST" --data "$DD" <"$Z" \
	>"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$?
expect_ok "restore from a pipe"
expect_out_contains "$N messages restored" "every message restored"
expect_out_contains "4 accounts created" "the accounts are created"
sig "$DST" "$DD" >"$T_TMP/dst.sig"
expect_eq "$(diff "$T_TMP/src.sig" "$T_TMP/dst.sig" | head -5)" "" \
	"the target equals the source row by row (UIDs, flags, dates, sizes, senders, contents)"
mst reconstruct -n --db "$DST" --data "$DD"
expect_ok "reconstruct -n is clean on the target"
mst restore -f "$A" --db "$DST" --data "$DD"
expect_ok "restore again"
expect_out_contains "0 messages restored" "a repeat restores nothing"
expect_out_contains "$N already present" "a repeat finds every message present"
expect_eq "$(count "$DST")" "$N" "a repeat adds no row"
# a backup of the target is the source's, line for line
mst backup -f "$T_TMP/b.tar" --db "$DST" --data "$DD"
expect_ok "backup of the target"
expect_eq "$(tar -xOf "$T_TMP/b.tar" messages.jsonl | sha256sum)" "$(sha256sum <"$T_TMP/x/messages.jsonl")" \
	"the target's backup lists the same messages as the source's"

# --- partial restores ------------------------------------------------------------------
mst restore -f "$A" --db "$DST" --data "$DD" --into carol2@d0.example.com user/alice0@d0.example.com/F01
expect_ok "one folder --into another account"
nf=$(grep -c '^alice0@d0.example.com|F01|' "$T_TMP/src.sig")
expect_out_contains "$nf messages restored" "the folder's messages restored"
expect_eq "$(sig "$DST" "$DD" | grep -c '^carol2@d0.example.com|F01|')" "$nf" "carol2 has alice0's F01"
expect_eq "$(sig "$DST" "$DD" | grep -c '^carol2@d0.example.com|F01/Sub|')" 0 "not its subfolder"
mst restore -f "$A" --db "$DST" --data "$DD" --into carol2@d0.example.com user/alice0@d0.example.com user/bob1@d1.example.com
expect_rc 2 "--into with two accounts"
mst backup -f "$T_TMP/d1.tar" --domain d1.example.com --db "$SRC" --data "$SD/Data"
expect_ok "backup --domain"
expect_eq "$(tar -xOf "$T_TMP/d1.tar" objects.json | jq -r '[.accounts[].address] | sort | join(" ")')" \
	"bob1@d1.example.com dave3@d1.example.com" "--domain backs up that domain's accounts"
expect_eq "$(tar -xOf "$T_TMP/d1.tar" messages.jsonl | jq -r .account | sort -u | tr '\n' ' ')" \
	"bob1@d1.example.com dave3@d1.example.com " "--domain: only its messages"
mst backup -f "$T_TMP/none.tar" user/nobody@d0.example.com --db "$SRC" --data "$SD/Data"
expect_rc 2 "a mailbox of no account"
[ -e "$T_TMP/none.tar" ] && t_fail "a failed backup left its archive"
mst backup -f "$T_TMP/none.tar" user/bob1@d1.example.com/NoSuch --db "$SRC" --data "$SD/Data"
expect_rc 2 "a folder the account does not have (it wrote an archive of 0 folders, exit 0)"
expect_err_contains "no folder user/bob1@d1.example.com/NoSuch" "names it"
[ -e "$T_TMP/none.tar" ] && t_fail "a refused backup left an archive"
mst backup -f "$T_TMP/inbox.tar" user/bob1@d1.example.com/inbox --db "$SRC" --data "$SD/Data"
expect_ok "INBOX in any case is the INBOX"

# --- a file gone before the backup read it ---------------------------------------------
gone=$(find "$SD/Data/d1.example.com" -name '*.eml' | head -1)
mv "$gone" "$T_TMP/gone.eml"
mst backup -f "$T_TMP/g.tar" --json --db "$SRC" --data "$SD/Data"
# its row is still there: not expunged meanwhile (vanished) but a message
# the backup could not read: a failure, named (was exit 0, 'vanished')
expect_rc 1 "backup with a file gone (its row there)"
expect_err_contains "$(basename "$gone")" "the failure names the message's file"
expect_eq "$(jq -c '[.vanished, .failed]' "$T_TMP/out")" "[0,1]" "the missing file is counted as failed"
expect_eq "$(tar -xOf "$T_TMP/g.tar" messages.jsonl | wc -l)" $((N - 1)) "and left out of the archive"
ln -s "$T_TMP/gone.eml" "$gone"
mst backup -f "$T_TMP/g2.tar" --json --db "$SRC" --data "$SD/Data"
expect_rc 1 "backup with a message file that is a symlink"
expect_eq "$(jq -c '[.vanished, .failed]' "$T_TMP/out")" "[0,1]" "the symlink is counted as failed"
rm "$gone"
mv "$T_TMP/gone.eml" "$gone"

# --- damaged, newer and hostile archives: refused, nothing written ---------------------
E=$(t_new_db bad)
ED=$T_TMP/bad
mkdir -p "$ED"
mst init "$E"
refused() { # refused ARCHIVE TEXT WHAT
	mst restore -f "$1" --db "$E" --data "$ED"
	expect_rc 2 "$3"
	expect_err_contains "$2" "$3: the reason"
	expect_eq "$(count "$E")/$(t_sql "$E" "SELECT COUNT(*) FROM hm_accounts")" "0/0" "$3: nothing written"
	expect_eq "$(find "$ED" -type f | wc -l)" 0 "$3: no file written"
}
head -c $(($(stat -c %s "$A") * 2 / 3)) "$A" >"$T_TMP/trunc.tar"
refused "$T_TMP/trunc.tar" "archive $T_TMP/trunc.tar" "a truncated archive"
# one byte of a content member changed (tar's header checksum does not cover data)
first=$(grep -m1 '^content/' "$T_TMP/members")
off=$(grep -boa -m1 "Message-ID\|Subject" "$A" | head -1 | cut -d: -f1)
cp "$A" "$T_TMP/corrupt.tar"
printf 'X' | dd of="$T_TMP/corrupt.tar" bs=1 seek="$off" conv=notrunc status=none
refused "$T_TMP/corrupt.tar" "does not match its name" "a corrupt content member"
craft() { # craft NAME DIR MEMBERS...: a tar of DIR's members, in order
	local out=$1 dir=$2
	shift 2
	tar -cf "$out" -C "$dir" "$@"
}
mkdir -p "$T_TMP/c/content"
cp "$T_TMP/x/objects.json" "$T_TMP/x/end.json" "$T_TMP/c/"
printf '{"format":"mstore-archive","version":5}\n' >"$T_TMP/c/mstore-archive.json"
craft "$T_TMP/newer.tar" "$T_TMP/c" mstore-archive.json objects.json
refused "$T_TMP/newer.tar" "format version 5" "an archive of a newer format"
cp "$T_TMP/x/mstore-archive.json" "$T_TMP/c/"
echo evil >"$T_TMP/c/evil"
(cd "$T_TMP/c" && tar -P -cf "$T_TMP/escape.tar" mstore-archive.json objects.json --transform 's,^evil$,../../evil,' evil)
refused "$T_TMP/escape.tar" "unexpected member ../../evil" "a member that would escape"
(cd "$T_TMP/c" && ln -s /etc/passwd link && tar -cf "$T_TMP/link.tar" mstore-archive.json objects.json --transform "s,^link\$,$first," link)
refused "$T_TMP/link.tar" "not a regular file" "a symlink member"
# a line that lies about its content's size
jq -c 'if .uid == 1 then .size = 7 else . end' "$T_TMP/x/messages.jsonl" >"$T_TMP/c/messages.jsonl"
rm -rf "$T_TMP/c/content" && cp -r "$T_TMP/x/content" "$T_TMP/c/"
(cd "$T_TMP/c" && tar -cf "$T_TMP/lie.tar" mstore-archive.json objects.json content/* messages.jsonl end.json)
refused "$T_TMP/lie.tar" "its size is not its content's" "a manifest that lies about a size"
cp "$T_TMP/x/messages.jsonl" "$T_TMP/c/"
jq -c '.messages += 1' "$T_TMP/x/end.json" >"$T_TMP/c/end.json"
(cd "$T_TMP/c" && tar -cf "$T_TMP/count.tar" mstore-archive.json objects.json content/* messages.jsonl end.json)
refused "$T_TMP/count.tar" "its counts are not what the archive holds" "an end.json that miscounts (a message line lost)"
tar -cf "$T_TMP/other.tar" -C "$T_TMP/x" objects.json
refused "$T_TMP/other.tar" "not an mstore archive" "a tar that is no mstore archive"
# a member of the wrong JSON type: damage, named, never a crash (was SEGV)
typed() { # typed MEMBER JQ TEXT WHAT: x's archive with MEMBER edited by JQ
	rm -rf "$T_TMP/ty" && cp -r "$T_TMP/x" "$T_TMP/ty"
	jq -c "$2" "$T_TMP/x/$1" >"$T_TMP/ty/$1"
	(cd "$T_TMP/ty" && tar -cf "$T_TMP/typed.tar" mstore-archive.json objects.json content/* messages.jsonl end.json)
	refused "$T_TMP/typed.tar" "$3" "$4"
}
typed mstore-archive.json '.format = 5' 'mstore-archive.json: member "format" is not a string' "a numeric format"
typed mstore-archive.json '.version = "4"' 'member "version" is not an integer' "a version as text"
typed messages.jsonl '.account = 5' 'messages.jsonl line 1: member "account" is not a string' "a numeric account"
typed messages.jsonl '.sha256 = 7' 'messages.jsonl line 1: member "sha256" is not a string' "a numeric sha256"
typed messages.jsonl '.folder = "INBOX"' 'member "folder" is not an array of strings' "a folder as text"
typed messages.jsonl '.flags = [1]' 'member "flags" is not an array of strings' "a numeric flag"
typed objects.json '.groups = [{"name":5,"members":[]}]' 'objects.json groups[0]: member "name" is not a string' "a numeric group name"
typed objects.json '.aliases = [{"name":5,"value":"a@b.c","active":true}]' 'objects.json aliases[0]: member "name" is not a string' "a numeric alias name"
typed objects.json '.accounts[0].folders = 5' 'objects.json accounts[0]: member "folders" is not an array of objects' "folders as a number"
typed objects.json '.accounts[0].folders[0].path = [3]' 'accounts[0].folders[0]: member "path" is not an array of strings' "a numeric level"
typed objects.json '.accounts = [5]' 'member "accounts" is not an array of objects' "an account as a number"
typed end.json '.messages = "1"' 'end.json: member "messages" is not an integer' "a count as text"
# a line for an account or a folder objects.json does not list: a lying manifest (was dropped, exit 0)
orphan() { # orphan JQ WHAT: x's archive plus its first line edited by JQ
	rm -rf "$T_TMP/ty" && cp -r "$T_TMP/x" "$T_TMP/ty"
	head -1 "$T_TMP/x/messages.jsonl" | jq -c "$1" >>"$T_TMP/ty/messages.jsonl"
	jq -c '.messages += 1' "$T_TMP/x/end.json" >"$T_TMP/ty/end.json"
	(cd "$T_TMP/ty" && tar -cf "$T_TMP/orphan.tar" mstore-archive.json objects.json content/* messages.jsonl end.json)
	refused "$T_TMP/orphan.tar" "objects.json does not list" "$2"
}
orphan '.account = "zz@d0.example.com"' "a line of an account objects.json lacks"
orphan '.folder = ["NoSuch"]' "a line of a folder objects.json lacks"

# --- SIGKILL during restore, then a rerun ------------------------------------------------
K=$(t_new_db kill)
KD=$T_TMP/kill
mkdir -p "$KD"
mst init "$K"
for delay in 0.1 0.3; do
	MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" restore -f "$A" --db "$K" --data "$KD" \
		>/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
mst restore -f "$A" --db "$K" --data "$KD"
expect_ok "the rerun after kills"
expect_eq "$(count "$K")" "$N" "after kills and a rerun: every message once"
expect_eq "$(sig "$K" "$KD" | cut -d'|' -f1,2,4- | sort | sha256sum)" \
	"$(cut -d'|' -f1,2,4- "$T_TMP/src.sig" | sort | sha256sum)" \
	"after kills and a rerun: the same messages, flags, dates and contents (UIDs aside)"

t_done
