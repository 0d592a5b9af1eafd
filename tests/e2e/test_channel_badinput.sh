#!/usr/bin/env bash
# mstore channel on bad input (issue 14, "Bad input"), a Maildir++ tree
# and an mbox directory with the real binary: a message of 0 bytes and one
# of 100 MB, a truncated mbox, an unreadable mbox file, folder directory
# and message (as `nobody`: root reads everything), a corrupt state file,
# the state of another channel, a store path that does not exist.  Each
# gives a clear error naming the object; nothing is lost; the rest of the
# channel is still synchronized; a rerun copies nothing twice.
. "$MSTORE_SRC/tests/lib/common.sh"
export TZ=UTC

MD=$T_TMP/md MB=$T_TMP/mb
mkdir -p "$MD"/{cur,new,tmp} "$MD/.Sub"/{cur,new,tmp} "$MB"
CONF=$T_TMP/c.conf
cat >"$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store mb { kind mbox path $MB }
channel c md mb { }
CONF
ch() { mst channel -f "$CONF" --state-dir "$T_TMP/st" "$@"; }
msg() { printf 'From: a@example.org\nSubject: %s\nMessage-ID: <%s@x>\n\nbody of %s\n' "$1" "$1" "$1"; }
mb_count() { grep -c '^From ' "$1" 2>/dev/null || echo 0; }
sums() { (cd "$T_TMP" && find md mb st -type f ! -name '*.lock' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum; }

# --- a message of 0 bytes: reported, never stored; its neighbours copied --------------------------
msg good >"$MD/cur/1.A.h:2,S"
: >"$MD/cur/2.B.h:2,S"
msg sub >"$MD/.Sub/cur/3.C.h:2,"
ch c; expect_rc 1 "an empty message is something left undone"
expect_out_contains "an empty message is never stored" "the empty message is named with its reason"
expect_eq "$(mb_count "$MB/INBOX")/$(mb_count "$MB/Sub")" "1/1" "its neighbours and the other folder are copied"
[ -e "$MD/cur/2.B.h:2,S" ] || t_fail "the empty file was removed"; t_ok
ch c; expect_rc 1 "the rerun reports it again"
expect_eq "$(mb_count "$MB/INBOX")/$(mb_count "$MB/Sub")" "1/1" "and copies nothing twice"
rm "$MD/cur/2.B.h:2,S"

# --- a message of 100 MB goes through both drivers byte for byte --------------------------------------
big=$MD/cur/4.D.h:2,S
{ printf 'From: a@example.org\nSubject: big\nMessage-ID: <big@x>\n\n'
  head -c 98800000 /dev/zero | tr '\0' 'a' | fold -w 76; echo; } >"$big"
[ "$(stat -c %s "$big")" -ge 100000000 ] || t_fail "the big message is $(stat -c %s "$big") bytes"; t_ok
ch c; expect_ok "the 100 MB message is copied into the mbox"
MD2=$T_TMP/md2
mkdir -p "$MD2"/{cur,new,tmp}
printf 'store mb { kind mbox path %s }\nstore md2 { kind maildir path %s layout maildir++ }\nchannel back mb md2 { }\n' \
	"$MB" "$MD2" >"$T_TMP/back.conf"
mst channel -f "$T_TMP/back.conf" --state-dir "$T_TMP/st2" back; expect_ok "and back out of it into a new Maildir"
got=$(grep -l '^Message-ID: <big@x>' "$MD2"/cur/* "$MD2"/new/* 2>/dev/null | head -1)
expect_eq "$(sha256sum <"$got" | cut -d' ' -f1)" "$(sha256sum <"$big" | cut -d' ' -f1)" "the 100 MB message came back byte for byte"
rm -rf "$MD2" "$T_TMP/st2" "$T_TMP/back.conf"

# --- a truncated mbox: every message kept, the cut one as it is --------------------------------------
printf 'From b@x Mon Jan  1 00:00:00 2024\nFrom: b@x\nSubject: t1\nMessage-ID: <t1@x>\n\nok\n\nFrom b@x Mon Jan  1 00:00:01 2024\nFrom: b@x\nSubject: t2\nMessage-ID: <t2@x>\n\ncut in the mid' >"$MB/Trunc"
ch c; expect_ok "a truncated mbox"
cut=$(grep -l '^Message-ID: <t2@x>' "$MD"/.Trunc/cur/* "$MD"/.Trunc/new/* 2>/dev/null | head -1)
[ -n "$cut" ] && [ "$(tail -c 14 "$cut")" = "cut in the mid" ] || t_fail "the cut message was not copied as it is"; t_ok
expect_eq "$(cat "$MD"/.Trunc/cur/* "$MD"/.Trunc/new/* 2>/dev/null | grep -c '^Message-ID:')" 2 "both messages of the truncated mbox"

# --- the state: corrupt, or another channel's: refused, nothing written --------------------------------
msg later >"$MD/cur/5.E.h:2,S"
state=$T_TMP/st/channels/c.state
cp "$state" "$T_TMP/state.good"
head -c 60 "$T_TMP/state.good" >"$state"
before=$(sums)
ch c; expect_rc 2 "a corrupt state file"
expect_err_contains "c.state is corrupt at line" "names the file and the line"
expect_eq "$(sums)" "$before" "nothing written: stores and state as they were"
sed 's/^channel c$/channel other/' "$T_TMP/state.good" >"$state"
before=$(sums)
ch c; expect_rc 2 "the state of another channel"
expect_err_contains 'belongs to channel "other", not "c"' "names both channels"
expect_eq "$(sums)" "$before" "nothing written"
cp "$T_TMP/state.good" "$state"
ch c; expect_ok "with its state back the channel runs"
expect_eq "$(mb_count "$MB/INBOX")" 3 "good, big and later in the mbox"

# --- a store path that does not exist: exit 2, named, nothing created ----------------------------------
sed "s#path $MB#path $T_TMP/nowhere#" "$CONF" >"$T_TMP/nowhere.conf"
mst channel -f "$T_TMP/nowhere.conf" --state-dir "$T_TMP/st3" c; expect_rc 2 "a store path that does not exist"
expect_err_contains "$T_TMP/nowhere does not exist" "names the path"
[ ! -e "$T_TMP/nowhere" ] && [ ! -e "$T_TMP/st3/channels/c.state" ] || t_fail "something was created"; t_ok

# --- unreadable: an mbox file, a Maildir folder's cur/, a message (run as nobody) -----------------------
if [ "$(id -u)" = 0 ] && { ! command -v setpriv >/dev/null || ! id nobody >/dev/null 2>&1; }; then
	echo "SKIP: running as root without setpriv or nobody: the unreadable cases are not tested" >&2
	t_done
	exit
fi
U=$T_TMP/u
mkdir -p "$U/md"/{cur,new,tmp} "$U/md/.Locked"/{cur,new,tmp} "$U/md/.Open"/{cur,new,tmp} "$U/mb"
msg open1 >"$U/md/.Open/cur/1.A.h:2,S"
msg locked1 >"$U/md/.Locked/cur/1.A.h:2,S"
msg hidden >"$U/md/cur/2.B.h:2,S"
msg inbox1 >"$U/md/cur/3.C.h:2,S"
printf 'From b@x Mon Jan  1 00:00:00 2024\nFrom: b@x\nSubject: a1\nMessage-ID: <a1@x>\n\nok\n' >"$U/mb/A"
sed 's/a1/b1/g' "$U/mb/A" >"$U/mb/B"
printf 'store md { kind maildir path %s layout maildir++ }\nstore mb { kind mbox path %s }\nchannel u md mb { }\n' \
	"$U/md" "$U/mb" >"$U/u.conf"
chmod -R a+rwX "$U"
chmod 000 "$U/mb/B" "$U/md/.Locked/cur" "$U/md/cur/2.B.h:2,S"
chmod 755 "$T_TMP"
as_nobody() {
	if [ "$(id -u)" = 0 ]; then
		MSTORE_DB_PASSWORD= setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$MSTORE_BIN" "$@" \
			>"$T_TMP/out" 2>"$T_TMP/err"
		T_RC=$?
	else
		mst "$@"
	fi
}
as_nobody channel -f "$U/u.conf" --state-dir "$U/st" u; expect_rc 1 "unreadable objects leave the run undone"
expect_out_contains "skipped on mb: B: a file that cannot be read (permission denied)" "the unreadable mbox file is named"
expect_err_contains "failed: side md: box Locked (.Locked in" "the unreadable folder is named"
expect_err_contains "cur/: Permission denied" "with the cause"
expect_out_contains "cannot be read on md (2.B.h)" "the unreadable message is reported by its file's name"
expect_eq "$(find "$U/md/.A/cur" "$U/md/.A/new" -type f 2>/dev/null | wc -l)" 1 "the readable mbox A is copied"
expect_eq "$(grep -c '^From ' "$U/mb/Open" 2>/dev/null)" 1 "the readable folder Open is copied"
expect_eq "$(grep -c '^Message-ID: <inbox1@x>' "$U/mb/INBOX" 2>/dev/null)" 1 "the INBOX's readable message is copied"
[ ! -e "$U/md/.B" ] && [ ! -e "$U/mb/Locked" ] || t_fail "an unreadable folder was created on the other side"; t_ok
as_nobody channel -f "$U/u.conf" --state-dir "$U/st" u; expect_rc 1 "the rerun reports them again"
expect_eq "$(grep -c '^From ' "$U/mb/Open")/$(grep -c '^From ' "$U/mb/INBOX")" "1/1" "and copies nothing twice"
chmod 644 "$U/mb/B" "$U/md/cur/2.B.h:2,S"
chmod 755 "$U/md/.Locked/cur"
as_nobody channel -f "$U/u.conf" --state-dir "$U/st" u; expect_ok "readable again: the run completes"
expect_eq "$(grep -c '^From ' "$U/mb/INBOX")/$(grep -c '^From ' "$U/mb/Locked")" "2/1" "what was unreadable is copied now"

# --- an mbox folder whose name holds the Maildir++ delimiter ('.') ---------------------------------
# (".lists.dev" in the Maildir++ reads back as lists/dev: the next run
# made an mbox "lists" on the user's side and failed at every run since)
D=$T_TMP/dot
mkdir -p "$D/mb" "$D/md"/{cur,new,tmp}
: >"$D/mb/INBOX"
{ printf 'From a@b Mon Jan  1 00:00:00 2024\n'; msg dotted; printf '\n'; } >"$D/mb/lists.dev"
{ printf 'From a@b Mon Jan  1 00:00:00 2024\n'; msg plain; printf '\n'; } >"$D/mb/plain"
cat >"$D/c.conf" <<CONF
store dmb { kind mbox path $D/mb inbox $D/mb/INBOX }
store dmd { kind maildir path $D/md layout maildir++ }
channel d dmb dmd { }
CONF
mst channel -f "$D/c.conf" --state-dir "$D/st" d; expect_rc 1 "a folder the Maildir++ cannot name: exit 1"
expect_err_contains "folder lists.dev: cannot be made on store dmd: a level of its name holds '.'" "named, with why"
[ -e "$D/md/.lists.dev" ] && t_fail "made .lists.dev, which reads back as lists/dev" || t_ok
expect_eq "$(grep -rl '^Subject: plain' "$D/md" | wc -l)" 1 "the other folder synced"
before=$(cd "$D" && find mb -type f | sort | xargs sha256sum | sha256sum)
mst channel -f "$D/c.conf" --state-dir "$D/st" d; expect_rc 1 "the rerun: the same, and no more"
expect_eq "$(cd "$D" && find mb -type f | sort | xargs sha256sum | sha256sum)" "$before" "nothing made or changed on the mbox side"
t_done
