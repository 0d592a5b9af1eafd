#!/usr/bin/env bash
# What a channel run that has nothing to do costs (issue 14, "Speed": a
# no-op resync within 1.5x a find over both trees): it leaves the state
# file alone (no rewrite, no fsync: a Maildir's or an mbox's UIDVALIDITY
# is made up per open and was remembered every run), and its plan reads a
# Maildir's directories only (no stat per message file).  The run that
# follows a change still copies with the message's date: the plan's
# listing skips what execute lists again.
. "$MSTORE_SRC/tests/lib/common.sh"
export TZ=UTC
MSTORE_TEST_BACKEND=none
GEN=${MSTORE_GEN:?MSTORE_GEN not set}

"$GEN" --maildir 3 --seed 5 --messages 150 --noid-percent 2 --dup-percent 0 "$T_TMP/src" >/dev/null ||
	t_fail "gen_datadir --maildir"
fstat_count() { # fstat_count LOG: stat calls on message files (their names have ':2,' or are in new/)
	grep -cE 'stat[a-z0-9]*\(.*"[0-9]+\.[^"/]*(:2,[^"]*)?"' "$1"
}
for target in maildir mbox; do
	P=$T_TMP/$target
	mkdir -p "$P/state"
	cp -r "$T_TMP/src" "$P/a"
	if [ "$target" = maildir ]; then mkdir -p "$P/b/INBOX"/{cur,new,tmp}; L="layout verbatim"; else mkdir -p "$P/b"; L=; fi
	cat > "$P/ch.conf" <<-EOF
	store a { kind maildir path $P/a layout verbatim }
	store b { kind $target path $P/b $L }
	channel ab a b { }
	EOF
	run() { mst channel --state-dir "$P/state" -f "$P/ch.conf" ab "$@"; }
	run; expect_ok "$target: the first sync"
	STATE=$P/state/channels/ab.state
	[ -f "$STATE" ] || t_fail "$target: no state file at $STATE"
	if [ "$target" = maildir ]; then
		# a Maildir append tells the engine the new file's key: the state
		# names every copy, so the run after the first sync is a no-op already
		before=$(stat -c '%i %y' "$STATE")
		if command -v strace >/dev/null; then
			strace -f -e trace=openat,open -o "$T_TMP/open.log" \
				"$MSTORE_BIN" channel --state-dir "$P/state" -f "$P/ch.conf" ab >/dev/null 2>&1
			opened=0 # the driver opens a file by its name relative to its folder
			for g in "$P"/b/INBOX/cur/* "$P"/b/INBOX/new/*; do
				[ -e "$g" ] && grep -qF "\"${g##*/}\"" "$T_TMP/open.log" && opened=$((opened + 1))
			done
			expect_eq "$opened" 0 "$target: the run after the first sync opens no copy"
		else
			run
		fi
		expect_eq "$(stat -c '%i %y' "$STATE")" "$before" "$target: and leaves the state as the first sync saved it"
	else
		# an mbox has no key that outlives a session: the second run learns
		# side b's messages by identity (and saves that); the third is a no-op
		run; expect_ok "$target: the run that learns the copies"
	fi
	before=$(stat -c '%i %y' "$STATE")
	run; expect_ok "$target: a no-op"
	expect_eq "$(stat -c '%i %y' "$STATE")" "$before" "$target: a no-op leaves the state file alone (inode, mtime)"
	expect_out_contains "channel ab: a: 0 copied, 0 deleted, 0 pending, 0 flags, 0 duplicates; b: 0 copied, 0 deleted" \
		"$target: the no-op did nothing"
	if command -v strace >/dev/null; then
		strace -f -e trace=newfstatat,fstatat64,stat,lstat,statx -o "$T_TMP/strace.log" \
			"$MSTORE_BIN" channel --state-dir "$P/state" -f "$P/ch.conf" ab >/dev/null 2>&1
		expect_eq "$(fstat_count "$T_TMP/strace.log")" 0 "$target: the no-op stats no message file"
	else
		echo "strace not installed: the count of stat calls is not checked"
	fi
	# one new message on side a, dated in 2020: copied with that date, the state rewritten
	f=$P/a/INBOX/cur/1600000000.M1P1.test:2,S
	printf 'From: x@example.org\nMessage-ID: <noop-new@x>\nSubject: new\n\nbody\n' > "$f"
	touch -d '2020-05-06 07:08:09' "$f"
	run; expect_ok "$target: the run after a change"
	t_ok; [ "$(stat -c '%i %y' "$STATE")" != "$before" ] || t_fail "$target: a run that copied did not save the state"
	mst diff -f "$P/ch.conf" a b; expect_rc 0 "$target: both sides alike after the copy: $(t_out)"
	if [ "$target" = maildir ]; then
		g=$(grep -rl 'noop-new@x' "$P/b/INBOX/cur" "$P/b/INBOX/new" | head -1)
		expect_eq "$(stat -c %Y "$g" 2>/dev/null)" "$(date -d '2020-05-06 07:08:09' +%s)" "$target: the copy has the message's date"
	else
		t_ok; grep -q '^From .* 2020$' "$P/b/INBOX" || t_fail "$target: the copy's From line has the message's date (2020): $(grep '^From ' "$P/b/INBOX" | tail -2)"
	fi
done
t_done
