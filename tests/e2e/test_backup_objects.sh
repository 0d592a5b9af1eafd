#!/usr/bin/env bash
# mstore backup/restore, archive formats 2 and 4 (issue 17): the objects
# beyond accounts and messages, #Public's messages and groups.  A SQLite store with passwords as hMailServer
# stores them, aliases, distribution lists and members, #Public folders
# and ACL rows (account, group, anyone), a group with a member, messages
# in a public folder (one with an account message's content: written
# once) is backed up and restored into an
# empty store of the test's backend, whose backup is restored into a new
# SQLite store: both targets hold every object as the source has it
# (compared table by table by name, not by id).  A repeat adds nothing
# and changes nothing already there; -n writes nothing; an ACL row for a
# group the target lacks (an archive without groups) is a failure naming
# it; a version 1 archive (no such objects) still restores.
. "$MSTORE_SRC/tests/lib/common.sh"
. "$MSTORE_SRC/tests/lib/backup_fixture.sh"
t_need_server
export TZ=UTC

bk_source
S domain add other.test; expect_ok "second domain"
for u in ann bob; do S account add "$u@ex.test"; expect_ok "account $u"; done
S account add cid@other.test; expect_ok "account cid"
# passwords as hMailServer writes them: a salted SHA-256 hash (type 3) and MD5 (2)
t_sql "$SRC" "UPDATE hm_accounts SET accountpassword = '6d1b3c5ae0f1b2a0c46e99f8d3a1c2e1f0b9a8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2', accountpwencryption = 3 WHERE accountaddress = 'ann@ex.test'"
t_sql "$SRC" "UPDATE hm_accounts SET accountpassword = '5f4dcc3b5aa765d61d8327deb882cf99', accountpwencryption = 2 WHERE accountaddress = 'bob@ex.test'"
S alias add postmaster@ex.test ann@ex.test; expect_ok "alias"
S alias add old@other.test cid@other.test --inactive; expect_ok "inactive alias"
S list add team@ex.test; expect_ok "list"
S list member team@ex.test ann@ex.test; expect_ok "member"
S list member team@ex.test outside@else.test; expect_ok "outside member"
S list add quiet@other.test --disabled; expect_ok "disabled list"
S folder create '#Public/shared/sub'; expect_ok "public folders"
S folder create '#Public/news'; expect_ok "another public folder"
t_sql "$SRC" "INSERT INTO hm_groups (groupname) VALUES ('staff')"
S acl set '#Public/shared' bob@ex.test lrs; expect_ok "acl account"
S acl set '#Public/shared' anyone lr; expect_ok "acl anyone"
S acl set '#Public/shared/sub' staff lrswi; expect_ok "acl group"
S acl set '#Public/news' ann@ex.test lrswipkxtea; expect_ok "acl all"
echo "Subject: one" | S deliver ann@ex.test -; expect_ok "a message"
t_sql "$SRC" "INSERT INTO hm_group_members (membergroupid, memberaccountid) SELECT g.groupid, a.accountid
	FROM hm_groups g, hm_accounts a WHERE g.groupname = 'staff' AND a.accountaddress = 'bob@ex.test'"
bk_public_put news 1 "pub one"
bk_public_put news 2 "pub two"
bk_msg "pub one" | S deliver cid@other.test -; expect_ok "a public message's content in an account too"

# objects URL: every object by name, ids left out
objects() {
	t_sql "$1" "SELECT 'acct', accountaddress, accountpassword, accountpwencryption, accountactive, accountmaxsize FROM hm_accounts"
	t_sql "$1" "SELECT 'alias', aliasname, aliasvalue, aliasactive FROM hm_aliases"
	t_sql "$1" "SELECT 'list', l.distributionlistaddress, l.distributionlistenabled, COALESCE(r.distributionlistrecipientaddress, '-')
		FROM hm_distributionlists l LEFT JOIN hm_distributionlistsrecipients r ON r.distributionlistrecipientlistid = l.distributionlistid"
	t_sql "$1" "SELECT 'domain', domainname, domainactive FROM hm_domains"
	mst folder list --db "$1" --data "$2"
	t_out | grep '^#Public' | cut -f1 | sed 's/^/public\t/'
	mst acl list --db "$1" --data "$2"
	t_out | sed 's/^/acl\t/'
	t_sql "$1" "SELECT 'group', g.groupname, COALESCE(a.accountaddress, '-') FROM hm_groups g
		LEFT JOIN hm_group_members m ON m.membergroupid = g.groupid LEFT JOIN hm_accounts a ON a.accountid = m.memberaccountid"
	bk_index "$1" "$2" | sed 's/^/msg\t/'
}
objects "$SRC" "$SD" | sort >"$T_TMP/src.obj"
for k in acct alias list public acl group msg; do
	grep -q "^$k	" "$T_TMP/src.obj" || t_fail "the fixture has no $k: $(cat "$T_TMP/src.obj")"
done
expect_eq "$(grep -c '^acl	' "$T_TMP/src.obj")" 4 "four ACL rows in the source"

A=$T_TMP/a.tar
S backup -f "$A"; expect_ok "backup"
expect_eq "$(tar -xOf "$A" mstore-archive.json | jq .version)" 4 "format version 4"
expect_eq "$(tar -xOf "$A" messages.jsonl | jq -r 'select(.account == "#Public") | "\(.folder | join("/")) \(.uid)"' | tr '\n' ';')" \
	"news 1;news 2;" "#Public's messages in the index"
expect_eq "$(tar -xOf "$A" end.json | jq -c '[.messages, .contents]')" "[4,3]" "a content shared by #Public and an account written once"
expect_eq "$(tar -xOf "$A" objects.json | jq -c '.groups')" '[{"name":"staff","members":["bob@ex.test"]}]' \
	"the group an ACL row names, with its member"
expect_eq "$(tar -xOf "$A" objects.json | jq -r '.accounts[] | select(.address == "bob@ex.test") | .password + " " + (.password_encryption | tostring)')" \
	"5f4dcc3b5aa765d61d8327deb882cf99 2" "the password as stored, with its encryption type"
expect_eq "$(tar -xOf "$A" objects.json | jq -c '[(.aliases | length), (.distribution_lists | length), (.public_folders | length), (.acl | length)]')" \
	"[2,2,3,4]" "aliases, lists, public folders and ACL rows in objects.json"

# --- into an empty store of the backend ------------------------------------------------
DST=$(t_new_db obj)
DD=$T_TMP/dst
mkdir -p "$DD"
mst init "$DST"; expect_ok "init the target"
mst restore -n -f "$A" --db "$DST" --data "$DD"
expect_ok "restore -n"
expect_out_contains "2 aliases, 2 distribution lists (2 members), 3 public folders, 1 groups (1 members), 4 ACL rows to add" "-n counts the objects"
expect_eq "$(t_sql "$DST" "SELECT COUNT(*) FROM hm_aliases")/$(t_sql "$DST" "SELECT COUNT(*) FROM hm_imapfolders")" "0/0" "-n wrote nothing"
mst restore -f "$A" --db "$DST" --data "$DD" --json
expect_ok "restore"
expect_eq "$(jq -c '[.aliases, .lists, .list_members, .public_folders, .groups, .group_members, .acl_rows, .restored]' "$T_TMP/out")" \
	"[2,2,2,3,1,1,4,4]" "every object and message added (#Public's too)"
objects "$DST" "$DD" | sort >"$T_TMP/dst.obj"
expect_eq "$(diff "$T_TMP/src.obj" "$T_TMP/dst.obj")" "" "the target holds every object as the source has it"
mst reconstruct -n --db "$DST" --data "$DD"; expect_ok "reconstruct -n is clean"

# a repeat adds nothing and changes nothing that is there
mst acl set '#Public/news' ann@ex.test lr --db "$DST" --data "$DD"; expect_ok "a later change in the target"
mst restore -f "$A" --db "$DST" --data "$DD" --json
expect_ok "restore again"
expect_eq "$(jq -c '[.aliases, .lists, .list_members, .public_folders, .groups, .acl_rows, .restored, .objects_present]' "$T_TMP/out")" \
	"[0,0,0,0,0,0,0,12]" "a repeat adds nothing"
expect_eq "$(mst acl list '#Public/news' --db "$DST" --data "$DD"; t_out | cut -f3)" "lr" "an existing ACL row keeps its rights"

# --- back into a new SQLite store, from the backend's backup ----------------------------
mst backup -f "$T_TMP/b.tar" --db "$DST" --data "$DD"; expect_ok "backup of the target"
S2=sqlite:$T_TMP/s2.sqlite
mkdir -p "$T_TMP/s2"
mst init "$S2"; expect_ok "init a SQLite store"
mst restore -f "$T_TMP/b.tar" --db "$S2" --data "$T_TMP/s2"
expect_ok "the backend's archive into SQLite"
objects "$S2" "$T_TMP/s2" | sort >"$T_TMP/s2.obj"
sed 's/^\(acl	#Public\/news	ann@ex.test	\).*/\1lr	3/' "$T_TMP/src.obj" >"$T_TMP/want.obj"
expect_eq "$(diff "$T_TMP/want.obj" "$T_TMP/s2.obj")" "" "back in SQLite: every object, group and message"
mst reconstruct -n --db "$S2" --data "$T_TMP/s2"; expect_ok "reconstruct -n is clean there too"

# an archive without groups (format 2, 3): an ACL row for a group the target lacks fails
mkdir "$T_TMP/v2" && tar -xf "$A" -C "$T_TMP/v2"
(cd "$T_TMP/v2" && jq -c '.version = 2' mstore-archive.json >h && mv h mstore-archive.json &&
	jq -c 'del(.groups)' objects.json >o && mv o objects.json &&
	jq -c 'select(.account != "#Public")' messages.jsonl >m && mv m messages.jsonl &&
	jq -c '.messages = 2' end.json >e && mv e end.json &&
	tar -cf "$T_TMP/v2.tar" mstore-archive.json objects.json content/* messages.jsonl end.json)
S3=sqlite:$T_TMP/s3.sqlite
mkdir -p "$T_TMP/s3"
mst init "$S3"; expect_ok "init another SQLite store"
mst restore -f "$T_TMP/v2.tar" --db "$S3" --data "$T_TMP/s3"
expect_rc 1 "an ACL row for a group the target lacks"
expect_err_contains "staff" "the failure names the group"

# --- a version 1 archive still restores ---------------------------------------------------
mkdir "$T_TMP/v1" && tar -xf "$A" -C "$T_TMP/v1"
(cd "$T_TMP/v1" && jq -c '.version = 1' mstore-archive.json >h && mv h mstore-archive.json &&
	jq -c 'del(.aliases, .distribution_lists, .public_folders, .acl, .groups) | .accounts[] |= del(.password, .password_encryption)' \
		objects.json >o && mv o objects.json &&
	jq -c 'select(.account != "#Public")' messages.jsonl >m && mv m messages.jsonl &&
	jq -c '.messages = 2' end.json >e && mv e end.json &&
	tar -cf "$T_TMP/v1.tar" mstore-archive.json objects.json content/* messages.jsonl end.json)
V=$(t_new_db v1)
mkdir -p "$T_TMP/v1d"
mst init "$V"; expect_ok "init for v1"
mst restore -f "$T_TMP/v1.tar" --db "$V" --data "$T_TMP/v1d"
expect_ok "a version 1 archive restores"
expect_out_contains "2 messages restored" "its messages"
expect_eq "$(t_sql "$V" "SELECT COUNT(*) FROM hm_accounts WHERE accountpassword = ''")" 3 "its accounts have no password"

# --- a bad object: a failure naming it, the others still restored ------------------------
(cd "$T_TMP/v1" && tar -xf "$A" mstore-archive.json objects.json &&
	jq -c '.aliases += [{"name":"no-at-sign","value":"ann@ex.test","active":true}]' objects.json >o && mv o objects.json &&
	tar -cf "$T_TMP/badobj.tar" mstore-archive.json objects.json content/* messages.jsonl end.json)
B=$(t_new_db badobj)
mkdir -p "$T_TMP/bd"
mst init "$B"; expect_ok "init for the bad object"
t_sql "$B" "INSERT INTO hm_groups (groupname) VALUES ('staff')"
mst restore -f "$T_TMP/badobj.tar" --db "$B" --data "$T_TMP/bd" --json
expect_rc 1 "an alias that is no address"
expect_err_contains "no-at-sign" "the failure names it"
expect_eq "$(jq -c '[.aliases, .lists, .public_folders, .acl_rows, .restored, .failed]' "$T_TMP/out")" "[2,2,3,4,2,1]" \
	"the other objects and the message are restored"

# --- every object checked before the first write ----------------------------------------
# edited A: its objects.json changed by JQ, into a new archive NAME
edited() { # edited NAME JQ [JQ_LINES]
	rm -rf "$T_TMP/ed" && mkdir "$T_TMP/ed" && tar -xf "$A" -C "$T_TMP/ed"
	(cd "$T_TMP/ed" && jq -c "$2" objects.json >o && mv o objects.json &&
		jq -c "${3:-.}" messages.jsonl >m && mv m messages.jsonl &&
		tar -cf "$T_TMP/$1.tar" mstore-archive.json objects.json content/* messages.jsonl end.json)
}
fresh() { # fresh NAME: a new empty store of the backend: F, FD
	F=$(t_new_db "$1")
	FD=$T_TMP/$1
	mkdir -p "$FD"
	mst init "$F"; expect_ok "init $1"
}
written() { echo "$(t_sql "$F" "SELECT COUNT(*) FROM hm_accounts")/$(t_sql "$F" "SELECT COUNT(*) FROM hm_messages")"; }
# a group named with an '@' (hMailServer has no rule against it; backup writes it): restored
edited atgroup '.groups[0].name = "team@hq" | (.acl[] | select(.type == "group") | .who) = "team@hq"'
fresh atgroup
mst restore -f "$T_TMP/atgroup.tar" --db "$F" --data "$FD"
expect_ok "a group named team@hq restores"
expect_eq "$(t_sql "$F" "SELECT g.groupname FROM hm_groups g JOIN hm_acl a ON a.aclpermissiongroupid = g.groupid")" \
	"team@hq" "the group and its ACL row"
# a folder path with an empty level, in the second account: refused before anything is written
edited emptylevel '.accounts[1].folders += [{"path":["x",""],"subscribed":true}]'
fresh emptylevel
mst restore -n -f "$T_TMP/emptylevel.tar" --db "$F" --data "$FD"
expect_rc 2 "-n: a folder with an empty level"
mst restore -f "$T_TMP/emptylevel.tar" --db "$F" --data "$FD"
expect_rc 2 "a folder with an empty level"
expect_err_contains "nothing was restored" "said so"
expect_eq "$(written)" "0/0" "a folder with an empty level: nothing written"
# a level holding the target's delimiter ('.'): that folder fails (exit 1, named), -n says so too
edited delim '.accounts[0].folders += [{"path":["a.b"],"subscribed":true}]'
fresh delim
mst restore -n -f "$T_TMP/delim.tar" --db "$F" --data "$FD"
expect_rc 1 "-n: a level holding the target's delimiter"
expect_err_contains "a.b" "-n names the folder"
mst restore -f "$T_TMP/delim.tar" --db "$F" --data "$FD" --json
expect_rc 1 "a level holding the target's delimiter"
expect_err_contains "a.b" "the failure names the folder"
expect_eq "$(jq -c '[.restored, .failed, .aliases]' "$T_TMP/out")" "[4,1,2]" "the rest is restored"
# an account whose address is an alias in the target: it fails (exit 1, named), -n says so too
fresh aliased
mst domain add ex.test --db "$F" --data "$FD"; expect_ok "the target's domain"
mst account add ann@ex.test --db "$F" --data "$FD"; expect_ok "the target's account"
mst alias add cid@ex.test ann@ex.test --db "$F" --data "$FD"; expect_ok "an alias in the target"
edited aliased '(.accounts[] | select(.address == "cid@other.test") | .address) = "cid@ex.test"' \
	'if .account == "cid@other.test" then .account = "cid@ex.test" else . end'
mst restore -n -f "$T_TMP/aliased.tar" --db "$F" --data "$FD"
expect_rc 1 "-n: an account whose address is an alias in the target"
expect_err_contains "cid@ex.test" "-n names it"
mst restore -f "$T_TMP/aliased.tar" --db "$F" --data "$FD" --json
expect_rc 1 "an account whose address is an alias in the target"
expect_err_contains "cid@ex.test" "the failure names it"
expect_eq "$(jq -c '[.failed, .restored, .public_folders]' "$T_TMP/out")" "[1,3,3]" "the rest is restored"

t_done
