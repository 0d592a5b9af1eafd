#!/usr/bin/env bash
# mstore channel's durability, seen through the durability shim
# (tests/lib/durability.sh): an appended message file is on disk before
# its rename into the account and its folder before the row that names it
# is committed; an mbox rewritten by an expunge is on disk before it
# replaces the box, and the box's directory after; the channel's state
# file is on disk before its rename, and its directory after.  Into a
# Maildir (whose appends write a batch's files, then sync them together):
# every file is synced before its rename, and the new/ and cur/ directories
# after the last rename and before the state that names the files.  A test of
# its own, small, so the mutation harness can run it for each fsync mutant.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
. "$MSTORE_SRC/tests/lib/durability.sh"

URL=$(t_new_db chan) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/chan/Data
mkdir -p "$D"
mst init "$URL"; mst domain add example.com --db "$URL"; mst account add alice@example.com --db "$URL"
CM=$T_TMP/chan/md CB=$T_TMP/chan/mb CS=$T_TMP/chan/state
mkdir -p "$CM"/cur "$CM"/new "$CM"/tmp "$CB" "$T_TMP/chan/md2"/cur "$T_TMP/chan/md2"/new "$T_TMP/chan/md2"/tmp
for i in 1 2 3; do
	printf 'From: a@example.org\nSubject: c%d\nMessage-ID: <c%d@x>\n\nbody %d\n' $i $i $i >"$CM/cur/170000000$i.M$i.host:2,S"
done
cat >"$T_TMP/chan.conf" <<CONF
store md { kind maildir path $CM }
store mb { kind mbox path $CB }
store hm { kind hmailserver db $URL data $D account alice@example.com }
channel tohm md hm { }
channel tomb md mb { }
store md2 { kind maildir path $T_TMP/chan/md2 }
channel tomd md md2 { }
CONF
L=$T_TMP/chan.log
dur "$L" "" channel -f "$T_TMP/chan.conf" --state-dir "$CS" tohm; expect_ok "channel into the store under the shim"
field() { sed -n "$2p" "$1" | cut -f"$3"; }
r=$(at "$L" 0 '$1 ~ /^rename/ && $4 ~ /\/example\.com\/alice\/.*\.eml$/')
[ "$r" != 0 ] || t_fail "channel: no message file renamed into the account in the log: $(cat "$L")"
from=$(field "$L" "$r" 3) to=$(field "$L" "$r" 4)
before "channel: an appended file is synced before its rename" "$(at "$L" 0 "$(synced "\$3 == \"$from\"")")" "$r"
dsync=$(at "$L" "$r" "$(synced "\$3 == \"${to%/*}\"")")
before "channel: the appended file's folder is synced before its row is committed" "$dsync" "$(at "$L" "$r" "$COMMIT")"
st=$CS/channels/tohm.state
r=$(at "$L" 0 "\$1 ~ /^rename/ && \$4 == \"$st\"")
before "channel: the state's temporary file is synced before its rename" "$(at "$L" 0 "$(synced "\$3 == \"$st.tmp\"")")" "$r"
[ "$(at "$L" "$r" "$(synced "\$3 == \"${st%/*}\"")")" != 0 ] || t_fail "channel: the state's directory is not synced after the rename"

ch_mb() { dur "$L" "" channel -f "$T_TMP/chan.conf" --state-dir "$CS" tomb; }
ch_mb; expect_ok "channel into an mbox"
rm "$CM/cur/1700000002.M2.host:2,S"
ch_mb; expect_ok "channel: a deletion propagated into the mbox"
expect_eq "$(grep -c '^From ' "$CB/INBOX")" 2 "channel: the mbox lost the deleted message"
r=$(at "$L" 0 "\$1 ~ /^rename/ && \$4 == \"$CB/INBOX\"")
[ "$r" != 0 ] || t_fail "channel: the mbox was not rewritten by a rename: $(cat "$L")"
before "channel: the rewritten mbox is synced before it replaces the box" \
	"$(at "$L" 0 "$(synced "\$3 == \"$(field "$L" "$r" 3)\"")")" "$r"
[ "$(at "$L" "$r" "$(synced "\$3 == \"$CB\"")")" != 0 ] || t_fail "channel: the mbox's directory is not synced after the rename"

# into a Maildir: the batch's files, their directories, then the state
M2=$T_TMP/chan/md2
printf 'From: a@example.org\nSubject: unseen\nMessage-ID: <u1@x>\n\nunseen\n' >"$CM/new/1700000009.M9.host"
dur "$L" "" channel -f "$T_TMP/chan.conf" --state-dir "$CS" tomd; expect_ok "channel into a Maildir under the shim"
st=$CS/channels/tomd.state
sr=$(at "$L" 0 "\$1 ~ /^rename/ && \$4 == \"$st\"")
[ "$sr" != 0 ] || t_fail "channel: the Maildir channel's state was not renamed into place: $(cat "$L")"
last=0 nmv=0
while read -r r; do
	nmv=$((nmv + 1)) last=$r
	# its own fsync, or a syncfs of the Maildir's file system after its creation
	tf=$(field "$L" "$r" 3) c=$(at "$L" 0 "\$1 == \"open\" && \$3 == \"$(field "$L" "$r" 3)\"")
	[ "$c" != 0 ] || t_fail "channel: the Maildir file $tf was not created in the log"
	before "channel: a Maildir file is synced before its rename into place" \
		"$(at "$L" "$c" "$(synced "\$3 == \"$tf\"") || (\$1 == \"syncfs\" && index(\$3, \"$M2/\") == 1)")" "$r"
	before "channel: a Maildir file is in place before the state names it" "$r" "$sr"
done < <(awk -F'\t' -v d="$M2/" '$1 ~ /^rename/ && index($4, d) == 1 && $4 !~ /\.state$/ { print NR }' "$L")
expect_eq "$nmv" 3 "channel: Maildir files renamed into place (2 read, 1 unseen)"
for sub in cur new; do
	before "channel: the Maildir's $sub/ is synced after the renames, before the state" \
		"$(at "$L" "$last" "$(synced "\$3 == \"$M2/$sub\"")")" "$sr"
done

# a batch of 8 or more into the hMailServer side (restore hands it up to
# 1,024): every file under its temporary name, one syncfs of the data
# directory's file system before the first rename, one after the last,
# before the commit; no fsync per file (two a message made restore 28
# times slower than sync's import)
for i in $(seq 10 19); do
	printf 'From: a@example.org\nSubject: b%d\nMessage-ID: <b%d@x>\n\nbody %d\n' $i $i $i >"$T_TMP/b$i.eml"
	mst deliver alice@example.com "$T_TMP/b$i.eml" --db "$URL" --data "$D"
done
mst backup -f "$T_TMP/alice.tar" user/alice@example.com --db "$URL" --data "$D"; expect_ok "backup of alice"
mst account add bob@example.com --db "$URL" --data "$D"
dur "$L" "" restore -f "$T_TMP/alice.tar" --into bob@example.com --db "$URL" --data "$D" --tmpdir "$T_TMP"
expect_ok "restore of 13 messages under the shim"
BOB='index($3, "/example.com/bob/") > 0'
first=$(at "$L" 0 "\$1 ~ /^rename/ && $BOB") lastmv=$(awk -F'\t' '$1 ~ /^rename/ && index($3, "/example.com/bob/") { n = NR } END { print n + 0 }' "$L")
expect_eq "$(awk -F'\t' '$1 ~ /^rename/ && index($3, "/example.com/bob/") && $4 ~ /\.eml$/' "$L" | wc -l)" 13 \
	"restore: files renamed into bob's folder"
before "restore: the batch's files are flushed (syncfs) before the first rename" \
	"$(at "$L" 0 "\$1 == \"syncfs\" && \$3 == \"$D\"")" "$first"
before "restore: the batch is flushed again after the last rename, before the commit" \
	"$(at "$L" "$lastmv" "\$1 == \"syncfs\" && \$3 == \"$D\"")" "$(at "$L" "$lastmv" "$COMMIT")"
expect_eq "$(awk -F'\t' '($1 == "fsync" || $1 == "fdatasync") && $3 ~ /\.mstore-tmp$/' "$L" | wc -l)" 0 \
	"restore: no message file fsynced one by one"

t_done
