#!/usr/bin/env bash
# Every hint sync and reconstruct give names a command that does what it
# says (issue 12, item 7): each hint here is followed by running the very
# command it names, and the outcome is checked.
#  - an empty file: reconstruct said "mstore sync imports it", sync never
#    does; the hint now names --quarantine, which moves it out;
#  - a modification time in the future: a clock problem, said so; the run
#    the reason names ("a run from T on imports it") imports it, one a
#    second earlier does not (likewise for a fresh file);
#  - a folder near UID 2,147,483,647: the earliest files by date take the
#    UIDs left, the rest fail with a reason that names no command that
#    cannot help (reconstruct cannot renumber; sync again changes nothing);
#  - the queue and #Public hints (--quarantine moves them out).
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db advice) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/Data
mkdir -p "$D"
M() { mst --db "$URL" --data "$D" "$@"; }
q() { t_sql "$URL" "$1"; }
S() { M sync --no-progress --json "$T_TMP/r.json" "$@"; }
cat_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .category' "$T_TMP/r.json"; }
reason_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | .reason' "$T_TMP/r.json"; }
G() { printf '{%s-0000-4000-8000-%012d}.eml' "$1" "$2"; }   # G 8HEX N
old='2021-03-04 05:06:07'
msg() { # msg RELPATH HEADERS...: a message, modified long ago
	local f=$D/$1; shift
	mkdir -p "$(dirname "$f")"
	{ for h in "$@"; do printf '%s\r\n' "$h"; done; printf '\r\nbody of %s\r\n' "$(basename "$f")"; } >"$f"
	touch -d "$old" "$f"
}
acct() { q "SELECT accountid FROM hm_accounts WHERE accountaddress='$1'"; }
inbox() { q "SELECT folderid FROM hm_imapfolders WHERE folderaccountid=$(acct "$1") AND folderparentid=-1"; }
rows_of() { q "SELECT COUNT(*) FROM hm_messages WHERE messagefilename='$1'"; }
MAX=2147483647

mst init "$URL"; expect_ok "init"
M domain add example.com; expect_ok "domain"
for a in empty clock fresh cap; do M account add $a@example.com; done

# --- an empty file: sync never imports it; the hint says so and names --quarantine ---------
E=example.com/empty/EE/$(G EE000000 1)
mkdir -p "$D/$(dirname "$E")"; : >"$D/$E"; touch -d "$old" "$D/$E"
: >"$D/$(G EF000000 2)"; touch -d "$old" "$D/$(G EF000000 2)"     # an empty queue file
M reconstruct -n user/empty@example.com; expect_rc 1 "reconstruct: the empty file is a finding"
expect_out_contains "$E: no row references it (0 bytes) (report only: mstore sync does not import an empty file" \
	"the empty file's hint says sync does not import it"
grep -F "$E" "$T_TMP/out" | grep -qF "mstore sync imports it" && t_fail "the empty file's hint claims sync imports it"
S --account empty@example.com; expect_ok "sync over the empty file"
expect_eq "$(cat_of "$E")" not-imported "sync does not import the empty file (as the hint says)"
expect_eq "$(rows_of "$(G EE000000 1)")" 0 "no row for the empty file"
M reconstruct -n; expect_rc 1 "reconstruct: both empty files remain findings"
expect_out_contains "$(G EF000000 2): no row references it (0 bytes) (report only: mstore sync does not import an empty file" \
	"the empty queue file's hint is the empty file's, not 'queues it if it has a local recipient'"
# the command the hint names
S --quarantine "$T_TMP/q1"; expect_ok "sync --quarantine, as the hint says"
[ -f "$T_TMP/q1/$E" ] && [ ! -e "$D/$E" ] && t_ok || t_fail "--quarantine did not move the empty account file out"
[ -f "$T_TMP/q1/$(G EF000000 2)" ] && t_ok || t_fail "--quarantine did not move the empty queue file out"
M reconstruct -n; expect_ok "reconstruct: no finding once the hint was followed"

# --- a modification time in the future: a clock problem, and exactly when it is imported -------
C=example.com/clock/CC/$(G CC000000 1)
msg "$C" "From: a@x.org" "Date: Mon, 01 Jan 2018 00:00:00 +0000"
touch -d '2031-06-01 00:00:00' "$D/$C"        # its ctime is now: written just now, by this clock
S --account clock@example.com; expect_ok "sync over a file from the future"
expect_eq "$(cat_of "$C")" deferred "a file from the future written just now is deferred"
r=$(reason_of "$C")
case "$r" in *"modification time 2031-06-01 00:00:00 +0000 is in the future: a clock problem"*) t_ok ;;
*) t_fail "the reason does not call the future mtime a clock problem: $r" ;; esac
case "$r" in *"modified less than"*"left for the next run"*) t_fail "the old, untrue reason: $r" ;; *) t_ok ;; esac
when=$(sed -n 's/.*a run from \(.*\) on imports it.*/\1/p' <<<"$r")
at=$(date -d "$when" +%s 2>/dev/null) || at=
[ -n "$at" ] && t_ok || t_fail "the reason names no moment: $r"
# reconstruct agrees: nothing to report yet (the file is younger than --settle by its ctime)
M reconstruct -n user/clock@example.com --now $((at - 1)); expect_ok "reconstruct: not yet unreferenced"
# the run the reason names imports it; one a second earlier does not
S --account clock@example.com --now $((at - 1)); expect_ok "sync a second before the named moment"
expect_eq "$(cat_of "$C")" deferred "still deferred a second before the moment the reason names"
M reconstruct -n user/clock@example.com --now "$at"; expect_rc 1 "reconstruct at the moment: unreferenced"
expect_out_contains "its modification time is in the future, a clock problem" "reconstruct reports the clock problem"
expect_out_contains "(report only: mstore sync imports it)" "and says sync imports it"
S --account clock@example.com --now "$at"; expect_ok "sync at the moment the reason named"
expect_eq "$(cat_of "$C")" imported "imported by the run the reason named"
case "$(reason_of "$C")" in *"is in the future: a clock problem"*) t_ok ;;
*) t_fail "the import does not report the clock problem: $(reason_of "$C")" ;; esac
expect_eq "$(jq -r --arg p "$C" '.files[] | select(.path == $p) | .clock_problem' "$T_TMP/r.json" | cut -c1-50)" \
	"its modification time 2031-06-01 00:00:00 +0000 is" "the JSON report carries the clock problem"
expect_eq "$(q "SELECT messagecreatetime FROM hm_messages WHERE messagefilename='$(G CC000000 1)'" | cut -c1-19)" \
	"2018-01-01 00:00:00" "its internal date is its Date, not the future mtime"
M reconstruct -n user/clock@example.com --now "$at"; expect_ok "reconstruct: clean after the import the hint named"
# no usable date and an mtime in the future: the internal date is the run's time, not 2031
C2=example.com/clock/CC/$(G CC000000 2)
msg "$C2" "From: a@x.org"
touch -d '2031-06-01 00:00:00' "$D/$C2"
N=$(($(date +%s) + 1000))
S --account clock@example.com --now "$N"; expect_ok "sync a dateless file from the future"
expect_eq "$(q "SELECT messagecreatetime FROM hm_messages WHERE messagefilename='$(G CC000000 2)'" | cut -c1-19)" \
	"$(date -u -d "@$N" '+%Y-%m-%d %H:%M:%S')" "a future mtime is no internal date: the run's time"

# --- a fresh file: "modified less than 300 s ago": the moment named is exact ------------------
F=example.com/fresh/FF/$(G FF000000 1)
msg "$F" "From: a@x.org"
T0=$(date -d "$old" +%s)
S --account fresh@example.com --now $((T0 + 100)); expect_ok "sync 100 s after the file was written"
r=$(reason_of "$F")
expect_eq "$r" "modified less than 300 s ago (--settle): a run from $(date -u -d "@$((T0 + 300))" '+%Y-%m-%d %H:%M:%S +0000') on imports it" \
	"a fresh file: the moment it will be imported"
S --account fresh@example.com --now $((T0 + 299)); expect_ok "sync a second before"
expect_eq "$(cat_of "$F")" deferred "deferred a second before"
S --account fresh@example.com --now $((T0 + 300)); expect_ok "sync at the moment named"
expect_eq "$(cat_of "$F")" imported "imported at the moment named"

# --- near UID 2,147,483,647: import what fits, the rest fail with a true reason -------------------
# Path order and date order differ: the earliest dates get the last two UIDs.
q "UPDATE hm_imapfolders SET foldercurrentuid=$((MAX - 2)) WHERE folderid=$(inbox cap@example.com)"
msg "example.com/cap/AA/$(G AA000000 1)" "From: a@x.org" "Date: Fri, 01 Jan 2021 00:00:00 +0000"
msg "example.com/cap/AA/$(G AA000000 2)" "From: a@x.org" "Date: Sat, 01 Jan 2011 00:00:00 +0000"
msg "example.com/cap/AA/$(G AA000000 3)" "From: a@x.org" "Date: Wed, 01 Jan 2014 00:00:00 +0000"
msg "example.com/cap/AA/$(G AA000000 4)" "From: a@x.org" "Date: Sun, 01 Jan 2012 00:00:00 +0000"
mkdir -p "$D/example.com/cap/ZZ"; mv "$D/example.com/cap/AA/$(G AA000000 3)" "$D/example.com/cap/ZZ/"  # misplaced
Z=example.com/cap/ZZ/$(G AA000000 3)
# the dry run predicts it
S --account cap@example.com -n; expect_rc 1 "dry run near the UID limit: predicts the failures"
expect_eq "$(jq -r '[.files[] | .category] | sort | join(" ")' "$T_TMP/r.json")" "failed failed imported imported" \
	"-n: two would be imported, two would fail"
S --account cap@example.com; expect_rc 1 "sync near the UID limit: some files fail"
expect_eq "$(q "SELECT messageuid FROM hm_messages WHERE messagefilename='$(G AA000000 2)'")" "$((MAX - 1))" "the earliest date gets the first UID left"
expect_eq "$(q "SELECT messageuid FROM hm_messages WHERE messagefilename='$(G AA000000 4)'")" "$MAX" "the next gets the last"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$(acct cap@example.com)")" 2 "what fits is imported"
expect_eq "$(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$(inbox cap@example.com)")" "$MAX" "foldercurrentuid at the limit"
expect_eq "$(cat_of "example.com/cap/AA/$(G AA000000 1)")" failed "a later file fails"
expect_eq "$(cat_of "$Z")" failed "the misplaced later file fails"
[ -f "$D/$Z" ] && t_ok || t_fail "a file that got no UID was renamed anyway"
r=$(reason_of "example.com/cap/AA/$(G AA000000 1)")
case "$r" in *"no UID left in folder INBOX of cap@example.com"*"the earliest 2 of the 4 files for it by internal date take the UIDs left"*"no mstore command frees UIDs"*) t_ok ;;
*) t_fail "the reason of a file with no UID left: $r" ;; esac
case "$r" in *reconstruct*) t_fail "the reason sends the user to reconstruct, which cannot renumber: $r" ;; *) t_ok ;; esac
expect_err_contains "no UID left in folder INBOX" "Failed lines on stderr"
# reconstruct's finding and hint; then its claims, run
M reconstruct -n user/cap@example.com; expect_rc 1 "reconstruct: the folder at the limit is a finding"
expect_out_contains "uid-overflow" "uid-overflow reported"
expect_out_contains "report only: no mstore command lowers UIDs (IMAP clients cache them), and mstore sync imports nothing into a folder whose UIDs are used up" \
	"the uid-overflow hint"
expect_out_contains "$(G AA000000 1): no row references it (108 bytes) (report only: mstore sync cannot import it: the account's INBOX has no UID left (see uid-overflow))" \
	"the unreferenced file of the full INBOX: sync cannot import it"
M reconstruct -r user/cap@example.com; expect_rc 1 "reconstruct -r repairs nothing here"
expect_eq "$(q "SELECT foldercurrentuid FROM hm_imapfolders WHERE folderid=$(inbox cap@example.com)")" "$MAX" "reconstruct -r leaves the UIDs"
S --account cap@example.com; expect_rc 1 "sync again: still no UID"
expect_eq "$(q "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid=$(acct cap@example.com)")" 2 "sync again imports nothing into the full folder"

# --- the queue and #Public hints: --quarantine moves them out ------------------------------
msg "$(G 0E000000 1)" "From: a@x.org" "To: someone@elsewhere.test"
msg "#Public/Shared/$(G 0F000000 1)" "From: a@x.org"
M reconstruct -n; expect_rc 1 "reconstruct: queue and #Public files"
expect_out_contains "$(G 0E000000 1): no row references it" "the queue file is a finding"
expect_out_contains "mstore sync queues it if it has a local recipient; mstore sync --quarantine DIR moves it out if not" "the queue hint"
expect_out_contains "mstore sync cannot import #Public files; --quarantine DIR moves it out" "the #Public hint"
S; expect_rc 1 "sync: the queue file has no local recipient (the cap account still fails)"
expect_eq "$(cat_of "$(G 0E000000 1)")" not-imported "sync does not queue it: no local recipient"
S --quarantine "$T_TMP/q2"; expect_rc 1 "sync --quarantine (the cap account still fails)"
[ -f "$T_TMP/q2/$(G 0E000000 1)" ] && t_ok || t_fail "--quarantine did not move the queue file out"
[ -f "$T_TMP/q2/#Public/Shared/$(G 0F000000 1)" ] && t_ok || t_fail "--quarantine did not move the #Public file out"
M reconstruct -n; expect_rc 1 "reconstruct: only the full folder's files remain"
grep -qF "$(G 0E000000 1)" "$T_TMP/out" && t_fail "the queue file is still a finding after --quarantine"
grep -qF "$(G 0F000000 1)" "$T_TMP/out" && t_fail "the #Public file is still a finding after --quarantine"

t_done
