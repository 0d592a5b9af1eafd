#!/usr/bin/env bash
# mstore channel against a real Dovecot with CONDSTORE: the commands
# mstore sends ($MSTORE_IMAP_TRACE) are counted.  A no-op resync costs one
# SELECT per folder and no UID FETCH; a flag change or a new message on the
# server is read with UID FETCH ... (CHANGEDSINCE m) alone; an expunge on
# the server (the count differs) falls back to a full listing; the outcome
# is checked with `mstore diff`, and the trace holds no password.  No
# database: run once.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_imap
export TZ=UTC

U=c$$
t_imapd adduser "$U" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
export MSTORE_IMAP_PASSWORD=$MSTORE_TEST_IMAP_PASSWORD
MD=$T_TMP/md
mkdir -p "$MD"/{cur,new,tmp} "$MD/.Sub"/{cur,new,tmp} "$MD/.Two"/{cur,new,tmp}
CONF=$T_TMP/channels.conf
TRACE=$T_TMP/trace

n=0
md_msg() { # md_msg MAILDIR ID [FLAGS]
	n=$((n + 1))
	printf 'From: a@example.org\nSubject: %s\nMessage-ID: <%s>\n\nbody %s\n' "$2" "$2" "$2" \
		> "$1/cur/$((1700000000 + n)).M$n.host:2,${3:-}"
}
for i in 1 2 3 4; do md_msg "$MD" "i$i@x" S; done
md_msg "$MD/.Sub" s1@x
md_msg "$MD/.Sub" s2@x F
md_msg "$MD/.Two" t1@x

cat > "$CONF" <<CONF
store md { kind maildir path $MD layout maildir++ }
store dv { kind imap host localhost port $MSTORE_TEST_IMAPS_PORT tls implicit user $U cafile $MSTORE_TEST_IMAP_CA timeout 20 }
channel c md dv { }
CONF
ch() { rm -f "$TRACE"; MSTORE_IMAP_TRACE=$TRACE mst channel -f "$CONF" --state-dir "$T_TMP/state" "$@"; }
count() { grep -c -- "$1" "$TRACE" || true; }
full() { grep 'UID FETCH 1:\*' "$TRACE" | grep -v -c CHANGEDSINCE || true; }   # listings of a whole folder
in_folder() { # in_folder FOLDER PATTERN: commands matching PATTERN while FOLDER is selected
	awk -v f="SELECT \"$1\"" -v p="$2" '/ SELECT / { on = index($0, f) > 0 } on && $0 ~ p { n++ } END { print n + 0 }' "$TRACE"
}
same() { # the two stores hold the same messages with the same flags
	mst diff -f "$CONF" md dv
	expect_ok "mstore diff after $1"
}

ch c; expect_ok "first sync"
same "the first sync"
ch c; expect_ok "second sync (the state now holds each folder's HIGHESTMODSEQ)"
expect_eq "$(count 'BODY')" 0 \
	"the run after the first sync fetches no message: the first kept each appended message's UID (APPENDUID)"
expect_eq "$(find "$T_TMP/state" -type f ! -name '*.lock' -exec cat {} + | awk '$1 == "pair" && NF == 7 && $6 == 0 && $7 > 0' | wc -l)" 3 \
	"the state holds the server's HIGHESTMODSEQ of each of the three folders"

# --- no-op: one SELECT per folder, nothing fetched -----------------------------------------
ch c; expect_ok "no-op resync"
expect_out_contains "0 copied, 0 deleted" "nothing to do"
expect_eq "$(count ' SELECT ')" 3 "one SELECT per folder"
expect_eq "$(count ' LIST ')" 1 "one LIST per run"
expect_eq "$(count 'UID FETCH')" 0 "no UID FETCH at all"
expect_eq "$(grep -v -c -E ' (CAPABILITY|AUTHENTICATE|LOGIN|LIST|SELECT|UNSELECT|LOGOUT)( |$)' "$TRACE")" 0 \
	"no other command"

# --- a flag and a new message on the server: CHANGEDSINCE only ------------------------------
t_imapd doveadm flags add -u "$U" '\Flagged' mailbox INBOX header message-id i2@x
printf 'From: b@example.org\nSubject: new\nMessage-ID: <new@x>\n\nnew\n' | t_imapd doveadm save -u "$U" -m Sub
ch c; expect_ok "resync after server changes"
expect_eq "$(ls "$MD"/cur/*.M2.host:2,* | sed 's/.*:2,//')" FS "i2 flagged on the server is flagged locally"
expect_eq "$(grep -rl '^Message-ID: <new@x>' "$MD/.Sub" | wc -l)" 1 "the new server message is copied once"
expect_eq "$(full)" 0 "no folder listed in full"
expect_eq "$(in_folder INBOX 'UID FETCH 1:.*CHANGEDSINCE') $(in_folder Sub 'UID FETCH 1:.*CHANGEDSINCE')" "2 2" \
	"the changed folders are listed with CHANGEDSINCE (at the plan and again after the Maildir side is re-read)"
expect_eq "$(in_folder Two 'UID FETCH')" 0 "the unchanged folder is not fetched from"
same "server changes"

# --- an expunge on the server: the count differs, the folder is listed in full --------------
ch c; expect_ok "settle"
t_imapd doveadm expunge -u "$U" mailbox Sub header message-id s1@x
ch c; expect_ok "resync after a server expunge"
expect_eq "$(grep -rl '^Message-ID: <s1@x>' "$MD/.Sub" | wc -l)" 0 "s1 expunged on the server is deleted locally"
expect_eq "$(in_folder INBOX 'UID FETCH') $(in_folder Two 'UID FETCH')" "0 0" "the other folders are not fetched from"
[ $(($(in_folder Sub 'UID FETCH 1:') - $(in_folder Sub 'CHANGEDSINCE'))) -ge 1 ] && t_ok || t_fail "Sub is listed in full (its count differs from the state's)"
same "a server expunge"

# --- a local change: the server is written to, its folder listed in full next time ----------
f=$(ls "$MD"/cur/*.M3.host:2,S) && mv "$f" "${f%S}RS"
ch c; expect_ok "a local flag change"
ch c; expect_ok "the run after it"
expect_eq "$(count 'UID FETCH')" 1 "the folder written to is listed once more (our own STORE moved its mod-sequence)"
ch c; expect_ok "and then"
expect_eq "$(count 'UID FETCH')" 0 "nothing fetched again"
same "a local flag change"

# --- never a credential in the trace ------------------------------------------------------
if grep -q -F -- "$MSTORE_TEST_IMAP_PASSWORD" "$TRACE"; then t_fail "the password is in the trace"; else t_ok; fi
b64=$(printf '\0%s\0%s' "$U" "$MSTORE_TEST_IMAP_PASSWORD" | base64 -w0)
if grep -q -F -- "$b64" "$TRACE"; then t_fail "the AUTHENTICATE PLAIN credentials are in the trace"; else t_ok; fi
expect_eq "$(grep -c -E 'AUTHENTICATE PLAIN \*\*\*$|LOGIN \*\*\*$' "$TRACE")" 1 "the login is traced, its credentials as ***"
t_done
