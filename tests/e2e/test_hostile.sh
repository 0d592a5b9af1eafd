#!/usr/bin/env bash
# Real-world and hostile input (issue 12): what an outside probe found.
#   1. a long non-ASCII address is cut on a character boundary, and a row
#      the database refuses fails its own file only, never its neighbours;
#   3. names are escaped in every line-oriented output: the script
#      `reconstruct -o -d` writes runs no command hidden in a directory name;
#   4. a check that could not read a directory exits 2 and names it;
#   5. --db and --data need no config file; one that cannot be read is exit 3;
#   8. a scope naming what does not exist is a usage error, not an empty run;
#   9. a lost database connection stops the run at once; the rerun completes it.
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
# among a thousand good messages in one batch (issue 11 item 6)
mkdir -p "$D/example.com/ann/00"
for i in $(seq 1 1000); do
	printf 'From: good%s@remote.net\r\nTo: ann@example.com\r\n\r\nbody\r\n' "$i" > "$D/example.com/ann/00/$(guid 0 "$i")"
done
find "$D/example.com/ann/00" -type f -exec touch -d "$old" {} +
msg "$D/example.com/ann/00/$(guid 0 1001)" "From: ${e150}@remote.net" "To: ann@example.com"
msg "$D/$(guid 1 1)" "From: q@remote.net" "To: ann+${o150}@example.com"
msg "$D/$(guid 1 2)" "From: q@remote.net" "To: bob@example.com"
S; expect_ok "a long non-ASCII From and recipient import"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 2")" 1001 "every account message imported"
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
S; expect_ok "rerun"; expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 1003 "the rerun adds nothing"

# --- 1b. a row the database refuses fails its own file only ------------------------------
new_store refuse
case "$MSTORE_TEST_BACKEND" in
sqlite) q "CREATE TRIGGER t_refuse BEFORE INSERT ON hm_messages WHEN NEW.messagefrom = 'refuse@remote.net'
           BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END" ;;
pgsql) q 'CREATE FUNCTION t_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            IF NEW.messagefrom = '"'refuse@remote.net'"' THEN RAISE EXCEPTION '"'refused by the test trigger'"'; END IF;
            RETURN NEW; END $$'
       q "CREATE TRIGGER t_refuse BEFORE INSERT ON hm_messages FOR EACH ROW EXECUTE FUNCTION t_refuse()" ;;
mysql) printf '%s\n' 'DELIMITER //' "CREATE TRIGGER t_refuse BEFORE INSERT ON hm_messages FOR EACH ROW BEGIN
            IF NEW.messagefrom = 'refuse@remote.net' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test trigger'; END IF;
            END//" | t_mysql "${URL##*/}" ;;
esac
for i in $(seq 1 30); do
	msg "$D/example.com/ann/00/$(guid 2 "$i")" "From: good$i@remote.net" "To: ann@example.com"
done
bad_acct=example.com/ann/00/$(guid 2 15)
msg "$D/$bad_acct" "From: refuse@remote.net" "To: ann@example.com"
for i in 1 2 3 4; do msg "$D/$(guid 3 "$i")" "From: q$i@remote.net" "To: bob@example.com"; done
bad_queue=$(guid 3 3)
# a misplaced file in the refused file's group: renamed by the attempt that
# rolled back, imported from its new place by the retry
msg "$D/example.com/ann/loose.eml" "From: loose@remote.net" "To: ann@example.com"
msg "$D/$bad_queue" "From: refuse@remote.net" "To: bob@example.com"
S --batch 100; expect_rc 1 "one refused account row and one refused queue row: exit 1"
expect_eq "$(grep -c '^Failed' "$T_TMP/err")" 2 "exactly the two refused files failed"
grep -F "$bad_acct" "$T_TMP/err" | grep -qF "refused by the test trigger" ||
	t_fail "the refused account file is not reported with the database's reason: $(cat "$T_TMP/err")"
grep -F "$bad_queue" "$T_TMP/err" | grep -qF "refused by the test trigger" ||
	t_fail "the refused queue file is not reported with the database's reason: $(cat "$T_TMP/err")"
t_ok
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 2")" 30 "the refused file's 30 neighbours are imported"
[ -e "$D/example.com/ann/loose.eml" ] && t_fail "the misplaced neighbour was not moved"
lf=$(q "SELECT messagefilename FROM hm_messages WHERE messagefrom = 'loose@remote.net'")
[ -n "$lf" ] && [ -f "$D/example.com/ann/${lf:1:2}/$lf" ] || t_fail "the misplaced neighbour's row does not name its file: '$lf'"
t_ok
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 1")" 3 "the other queue files are queued"
expect_eq "$(q "SELECT COUNT(DISTINCT messageuid) FROM hm_messages WHERE messagetype = 2")" 30 "distinct UIDs"
expect_eq "$(q "SELECT MAX(messageuid) FROM hm_messages WHERE messagetype = 2")" 30 "no UID lost to the refused row"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messagerecipients")" 3 "recipients of the queued files only"
S --batch 100; expect_rc 1 "the rerun fails the same two files"
expect_eq "$(grep -c '^Failed' "$T_TMP/err")" 2 "and only them"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 33 "nothing imported twice"

# --- 3. directory names that would inject commands into the -o -d script ---------------
new_store inject
names=($'nl\ntouch INJ1 #' "q'uote; touch INJ2; '" '$(touch INJ3)' '`touch INJ4`' $'bad\xff\xfe$(touch INJ5)'
	$'esc\x1b[31m\rtouch INJ6')
for n in "${names[@]}"; do
	msg "$D/example.com/$n/AB/$(guid 4 1)" "From: x@remote.net"
done
mst reconstruct -n -o -d "$T_TMP/orphans.sh" --db "$URL" --data "$D"
expect_rc 1 "orphaned folders with hostile names: findings"
expect_eq "$(grep -c ': orphaned-account-dir: ' "$T_TMP/out")" "${#names[@]}" "one finding line per folder"
expect_eq "$(grep -c '^touch' "$T_TMP/out")" 0 "no finding spills onto a line of its own"
valid_utf8 < "$T_TMP/out" || t_fail "the findings are not valid UTF-8: $(cat -v "$T_TMP/out")"
LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$T_TMP/out" && t_fail "control bytes in the findings: $(cat -v "$T_TMP/out")"
t_ok
grep -qF 'user/nl\x0atouch INJ1 #@example.com: orphaned-account-dir: ' "$T_TMP/out" ||
	t_fail "the newline is shown as \\x0a: $(cat -v "$T_TMP/out")"
t_ok
# run the script in a sandbox, with an mstore that only records its arguments
sb=$T_TMP/sandbox; mkdir -p "$sb/bin"
printf '#!/bin/sh
for a in "$@"; do printf "%%s|" "$a"; done >> "%s/calls"
echo >> "%s/calls"
' "$sb" "$sb" > "$sb/bin/mstore"
chmod +x "$sb/bin/mstore"
(cd "$sb" && PATH=$sb/bin:$PATH sh "$T_TMP/orphans.sh") >"$T_TMP/script.out" 2>&1 || t_fail "the script failed: $(cat "$T_TMP/script.out")"
t_ok
expect_eq "$(find "$sb" "$T_TMP" "$D" -name 'INJ*' | wc -l)" 0 "no injected command ran"
expect_eq "$(grep -c 'delete-unreferenced|$' "$sb/calls")" "${#names[@]}" "one mstore sync per folder"
grep -qF -- "--account|q'uote; touch INJ2; '@example.com|" "$sb/calls" || t_fail "the quoted account is not passed unchanged: $(cat -v "$sb/calls")"
t_ok
grep '^#' "$T_TMP/orphans.sh" | valid_utf8 || t_fail "the script's comments are not valid UTF-8"
t_ok
mst sync -n -v --db "$URL" --data "$D"
expect_eq "$(grep -c '^touch' "$T_TMP/out")" 0 "sync -v: one line per file"
valid_utf8 < "$T_TMP/out" || t_fail "sync -v output is not valid UTF-8: $(cat -v "$T_TMP/out")"
t_ok

# --- 4. a directory the check cannot read: "could not check", exit 2 --------------------
new_store unreadable
msg "$D/example.com/ann/AB/$(guid 5 1)" "From: x@remote.net"
S; expect_ok "import one message"
msg "$D/example.com/ann/locked/$(guid 5 2)" "From: hidden@remote.net"   # unreferenced, unreadable
chmod 000 "$D/example.com/ann/locked"
# without the power to read everything (root would read a 000 folder)
unpriv() {
	MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} setpriv --inh-caps=-all --bounding-set=-dac_override,-dac_read_search \
		"$MSTORE_BIN" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
}
unpriv reconstruct -n --db "$URL" --data "$D" --json "$T_TMP/rc.json"
expect_rc 2 "reconstruct -n with an unreadable directory: could not check"
expect_err_contains "example.com/ann/locked" "the unreadable directory is named"
expect_err_contains "could not check" "and the run says it could not check"
grep -q "no findings$" "$T_TMP/out" && t_fail "an incomplete check says 'no findings': $(cat "$T_TMP/out")"
t_ok
expect_eq "$(jq .summary.unreadable_directories "$T_TMP/rc.json")" 1 "the JSON summary counts it"
unpriv reconstruct -n "user/ann@example.com" --db "$URL" --data "$D"
expect_rc 2 "one mailbox with an unreadable directory: could not check"
chmod 755 "$D/example.com/ann/locked"
mst reconstruct -n --db "$URL" --data "$D"; expect_rc 1 "readable again: the unreferenced file is found"
expect_out_contains "unreferenced-file" "the hidden file is an unreferenced file"
rm -rf "$D/example.com/ann/locked"
# a path longer than PATH_MAX (4096): the walk cannot open it
deep=$D/example.com/ann
comp=$(printf 'd%.0s' $(seq 200))
long=""; for _ in $(seq 22); do long="$long/$comp"; done
(cd "$deep" && mkdir -p "${long#/}") 2>/dev/null || t_fail "cannot create a deep path"
mst reconstruct -n --db "$URL" --data "$D"
expect_rc 2 "a directory beyond PATH_MAX: could not check"
expect_err_contains "could not check" "the deep directory makes the check incomplete"

# --- 8. --account / --domain that match nothing: exit 2, naming it ---------------------
new_store scope
msg "$D/example.com/ann/AB/$(guid 6 1)" "From: x@remote.net"
mst alias add info@example.com ann@example.com --db "$URL"
for bad in ann@exmaple.com 'not an address' nobody@example.com info@example.com; do
	S --account "$bad"; expect_rc 2 "sync --account '$bad'"
	expect_err_contains "$bad" "sync --account '$bad': the message names it"
	S -n --account "$bad"; expect_rc 2 "sync -n --account '$bad'"
done
expect_err_contains "an alias, not an account" "an alias is not an account"
S --domain exmaple.com; expect_rc 2 "sync --domain with a typo"; expect_err_contains "exmaple.com" "the domain is named"
mst reconstruct -n --domain exmaple.com --db "$URL" --data "$D"; expect_rc 2 "reconstruct --domain with a typo"
expect_err_contains "exmaple.com" "reconstruct names the domain"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 0 "nothing imported by the refused runs"
S --account ANN@Example.com --domain EXAMPLE.COM; expect_ok "names in another case are the same account and domain"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 1 "and they import"
mst reconstruct -n --domain Example.COM --db "$URL" --data "$D"; expect_ok "reconstruct --domain in another case"
# an orphaned folder is part of the store: the -o -d script's sync line works
msg "$D/example.com/gone/AB/$(guid 6 2)" "From: x@remote.net"
msg "$D/orphan.org/x/AB/$(guid 6 3)" "From: x@remote.net"
S -n --account gone@example.com; expect_ok "sync --account of an orphaned folder"
S -n --domain orphan.org; expect_ok "sync --domain of an orphaned domain folder"
mst reconstruct -n -o -d "$T_TMP/o.sh" --db "$URL" --data "$D"; expect_rc 1 "orphaned folders found"
(export PATH=$(dirname "$MSTORE_BIN"):$PATH MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-}; sh "$T_TMP/o.sh") >"$T_TMP/o.out" 2>&1 ||
	t_fail "the -o -d script failed: $(cat "$T_TMP/o.out")"
t_ok
[ -e "$D/example.com/gone/AB/$(guid 6 2)" ] && t_fail "the script did not remove the orphaned folder's file"
t_ok

# --- 5. a default config file that cannot be read -----------------------------------
new_store conf
uconf=$HOME/.config/mstore/mstore.conf
for broken in directory unreadable; do
	rm -rf "$uconf"; mkdir -p "$(dirname "$uconf")"
	if [ $broken = directory ]; then mkdir "$uconf"; else printf 'data = %s\ndb = %s\n' "$D" "$URL" > "$uconf"; chmod 000 "$uconf"; fi
	unpriv info --db "$URL" --data "$D"; expect_ok "info --db --data with a $broken default config file"
	unpriv sync -n --db "$URL" --data "$D" --no-progress; expect_ok "sync -n --db --data with a $broken default config file"
	unpriv reconstruct -n --db "$URL" --data "$D"; expect_ok "reconstruct -n --db --data with a $broken default config file"
	unpriv info --db "$URL"; expect_rc 3 "info without --data: the $broken config file is needed"
	expect_err_contains "$uconf" "the $broken config file is named"
	unpriv info; expect_rc 3 "info without options: the $broken config file is needed"
	unpriv info --config "$uconf" --db "$URL" --data "$D"; expect_rc 3 "a $broken --config file"
	expect_err_contains "$uconf" "the $broken --config file is named"
done
rm -rf "$HOME/.config"

# --- 9. the connection is lost: stop there, say so, the rerun completes -----------------
if [ "$MSTORE_TEST_BACKEND" = sqlite ]; then
	echo "SKIPPED: a SQLite connection cannot be lost (no server)" >&2
else
	new_store lost
	for a in $(seq 1 12); do
		mst account add "u$a@example.com" --db "$URL"
		for m in $(seq 1 5); do msg "$D/example.com/u$a/AB/$(guid "$((100 + a))" "$m")" "From: x$m@remote.net"; done
	done
	name=${URL##*/}
	# the test hook runs before each group is written; the 4th time it cuts
	# the connection (the group it precedes then fails) and keeps it cut
	{
		declare -f t_psql t_mysql
		cat <<EOS
n=\$(cat "$T_TMP/hooks" 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n > "$T_TMP/hooks"
[ "\$n" = 4 ] || exit 0
case $MSTORE_TEST_BACKEND in
pgsql) t_psql -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$name' AND pid <> pg_backend_pid()" >/dev/null ;;
mysql) for id in \$(t_mysql -e "SELECT id FROM information_schema.processlist WHERE db = '$name' AND id <> CONNECTION_ID()"); do t_mysql -e "KILL \$id"; done ;;
esac
EOS
	} > "$T_TMP/cut.sh"
	MSTORE_TEST_HOOK_AT=write-group MSTORE_TEST_HOOK_CMD="bash $T_TMP/cut.sh" S --batch 20 --threads 1 --json "$T_TMP/lost.json"
	expect_rc 1 "a run whose connection is lost exits 1"
	expect_err_contains "connection was lost" "it says the connection was lost"
	expect_err_contains "Run mstore sync again" "and that a rerun continues"
	expect_err_contains "127.0.0.1" "the reason names the server"
	expect_eq "$(grep -c '^Failed' "$T_TMP/err")" 5 "only the group being written failed (not every later batch)"
	expect_eq "$(jq .summary.not_attempted "$T_TMP/lost.json")" 40 "the rest were not attempted"
	expect_eq "$(jq .summary.connection_lost "$T_TMP/lost.json")" true "the JSON report says the connection was lost"
	expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 15 "the three groups before the cut are written"
	S; expect_ok "the rerun after the outage"
	expect_eq "$(q "SELECT COUNT(*) FROM hm_messages")" 60 "the rerun completes the job"
	expect_eq "$(q "SELECT COUNT(*) FROM (SELECT messagefilename FROM hm_messages GROUP BY messagefilename HAVING COUNT(*) > 1) d")" 0 "no duplicates"
fi

t_done
