#!/usr/bin/env bash
# OAuth 2.0 logins against a real Dovecot (tests/imap-server.sh offers
# XOAUTH2 and OAUTHBEARER and takes the user's password as a static bearer
# token): the token from tokencmd, run by /bin/sh -c; a refused
# (expired) token makes tokencmd run once more; a token refused twice, a
# tokencmd that cannot run or fails are clear errors with its stderr (so
# is a failing passcmd, which runs the same way); the command trace
# ($MSTORE_IMAP_TRACE) holds no token.  Then the password asked on a
# terminal (script(1) gives mstore one): no echo, not in the output; with
# no terminal, the error says how to give one.  No database: run once.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_imap

U=o$$
t_imapd adduser "$U" || { echo "FAIL: cannot add IMAP users" >&2; exit 1; }
unset MSTORE_IMAP_PASSWORD   # the token must be all that logs in
TOKEN=$MSTORE_TEST_IMAP_PASSWORD
TRACE=$T_TMP/trace
CONF=$T_TMP/channels.conf
B=$T_TMP/bin
mkdir -p "$B" "$T_TMP/md"/{cur,new,tmp}
printf 'From: a@example.org\nMessage-ID: <o1@x>\n\nbody\n' > "$T_TMP/md/cur/1.M1.h:2,S"
# prints its argument; each run is counted in $B/runs
printf '#!/bin/sh\necho run >> "%s/runs"\necho "$1"\n' "$B" > "$B/tok"
# the first run prints an expired token, the next ones the good one
printf '#!/bin/sh\necho run >> "%s/runs"\nif [ -e "%s/used" ]; then echo "$1"; else touch "%s/used"; echo expired-token; fi\n' \
	"$B" "$B" "$B" > "$B/tok-expired"
# prints its first argument when it is the only one (a shell ended the command at ';')
printf '#!/bin/sh\n[ $# = 1 ] && echo "$1"\n' > "$B/tok-args"
chmod +x "$B/tok" "$B/tok-expired" "$B/tok-args"
srv="kind imap host localhost port $MSTORE_TEST_IMAPS_PORT tls implicit user $U cafile $MSTORE_TEST_IMAP_CA timeout 20"
cat > "$CONF" <<CONF
store md { kind maildir path $T_TMP/md layout maildir++ }
store xo { $srv tokencmd "$B/tok $TOKEN" auth xoauth2 }
store ob { $srv tokencmd "$B/tok $TOKEN" auth oauthbearer }
store best { $srv tokencmd "$B/tok $TOKEN" }
store expired { $srv tokencmd "$B/tok-expired '$TOKEN'" }
store refused { $srv tokencmd "$B/tok not-the-token" }
store shell { $srv tokencmd "$B/tok-args '$TOKEN' ; touch $T_TMP/shell" }
store missing { $srv tokencmd "$B/no-such-command" }
store failing { $srv tokencmd "false" }
store pc { $srv passcmd "echo '$TOKEN'" }
store pcfail { $srv passcmd "echo no vault here >&2; exit 4" }
store chatty { $srv tokencmd "echo the token store is locked >&2; exit 3" }
store badauth { $srv tokencmd "$B/tok x" auth cram-md5 }
store noauthcmd { $srv auth xoauth2 }
store askpw { $srv }
channel c md xo { }
CONF
ls_store() { rm -f "$TRACE" "$B/runs"; MSTORE_IMAP_TRACE=$TRACE mst channel -f "$CONF" --state-dir "$T_TMP/st" -m "$1"; }
runs() { wc -l < "$B/runs" 2>/dev/null || echo 0; }

rm -f "$TRACE"
MSTORE_IMAP_TRACE=$TRACE mst channel -f "$CONF" --state-dir "$T_TMP/st" c; expect_ok "a channel run logged in with XOAUTH2"
expect_eq "$(t_imapd doveadm search -u "$U" mailbox INBOX all 2>/dev/null | wc -l)" 1 "the message is on the server"
expect_eq "$(grep -c 'AUTHENTICATE XOAUTH2 \*\*\*$' "$TRACE")" 1 "one AUTHENTICATE XOAUTH2, its token hidden in the trace"
ls_store ob; expect_ok "OAUTHBEARER (RFC 7628)"
expect_out_contains "<o1@x>" "lists the server's message"
expect_eq "$(grep -c 'AUTHENTICATE OAUTHBEARER \*\*\*$' "$TRACE") $(runs)" "1 1" "one AUTHENTICATE OAUTHBEARER, tokencmd run once"
ls_store best; expect_ok "no auth: the best mechanism the server offers"
expect_eq "$(grep -c 'AUTHENTICATE OAUTHBEARER' "$TRACE")" 1 "OAUTHBEARER, preferred to XOAUTH2"
ls_store expired; expect_ok "a token the server refuses: tokencmd runs again and the login is retried"
expect_eq "$(grep -c 'AUTHENTICATE OAUTHBEARER' "$TRACE") $(runs)" "2 2" "two logins, two runs of tokencmd"
ls_store refused; expect_fail "a token refused twice"
expect_err_contains "login as $U refused (OAUTHBEARER, tokencmd run twice)" "the refusal names the user, the mechanism and the retry"
expect_eq "$(runs)" 2 "tokencmd ran twice, not more"
ls_store shell; expect_ok "tokencmd is run by /bin/sh -c, as mailsync's and mbsync's commands are"
[ -e "$T_TMP/shell" ] && t_ok || t_fail "the shell ran tokencmd's second command"
ls_store missing; expect_fail "a tokencmd that does not exist"
expect_err_contains "tokencmd failed (exit status 127): " "is named, with the shell's words"
expect_err_contains "no-such-command: not found" "... saying what is missing"
ls_store failing; expect_fail "a tokencmd that fails"
expect_err_contains "tokencmd failed (exit status 1)" "its exit status is given"
ls_store chatty; expect_fail "a tokencmd that fails with a message"
expect_err_contains "tokencmd failed (exit status 3): the token store is locked" "its stderr is in the error"
ls_store pc; expect_ok "passcmd gives the password (the token is the user's password here)"
ls_store pcfail; expect_fail "a passcmd that fails"
expect_err_contains "passcmd failed (exit status 4): no vault here" "its exit status and stderr are in the error"
ls_store badauth; expect_fail "an unknown auth"
expect_err_contains "auth cram-md5: expected xoauth2 or oauthbearer" "is named"
ls_store noauthcmd; expect_fail "auth without tokencmd"
expect_err_contains "needs tokencmd" "says what is missing"
if cat "$TRACE" "$T_TMP"/out "$T_TMP"/err 2>/dev/null | grep -q -F -- "$TOKEN"; then t_fail "the token was printed or traced"; else t_ok; fi

# --- the password from a prompt on the terminal -----------------------------------------------
if command -v script > /dev/null; then
	# typed 2 s after the start, when the prompt has turned the echo off
	(sleep 2; printf '%s\n' "$TOKEN") | MSTORE_IMAP_PASSWORD= MSTORE_IMAP_TRACE=$TRACE script -qec \
		"$(printf '%q ' "$MSTORE_BIN" channel -f "$CONF" --state-dir "$T_TMP/st" -m askpw)" /dev/null > "$T_TMP/tty" 2>&1
	T_RC=$?
	expect_ok "the password typed at the prompt logs in"
	expect_eq "$(grep -c "Password for $U, IMAP store askpw" "$T_TMP/tty")" 1 "the prompt names the user and the store"
	expect_eq "$(grep -c '<o1@x>' "$T_TMP/tty")" 1 "the listing follows"
	if grep -q -F -- "$TOKEN" "$T_TMP/tty" "$TRACE"; then t_fail "the typed password was echoed or traced"; else t_ok; fi
else
	echo "SKIP: no script(1): the prompt is not tested" >&2
fi
MSTORE_IMAP_PASSWORD= setsid -w "$MSTORE_BIN" channel -f "$CONF" -m askpw < /dev/null > "$T_TMP/out" 2> "$T_TMP/err"
T_RC=$?
expect_fail "no password and no terminal"
expect_err_contains "or run on a terminal to be asked" "the error says where a password may come from"
t_done
