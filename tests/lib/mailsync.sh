# mailsync.sh - run the real mailsync (Debian's package) from an e2e test.
# Sourced after common.sh.
#
# t_mailsync_usable: 0 when mailsync can run here; else prints why not.
# t_run_mailsync ARGS...: mailsync ARGS with $HOME as its home.  c-client
# run as root works in "anonymous mode", away from $HOME, so as root it
# runs as a throwaway user whose home is $HOME, declared in a passwd file
# bind-mounted in a private mount namespace; the files it must read are
# made readable (every -f FILE), $HOME is handed to that user.  It is
# killed after $T_MAILSYNC_TIMEOUT seconds (60; bench/imap.sh runs longer
# ones).  c-client writes the msinfo through tmpfile(): /tmp must be
# world-writable (1777), as on any Debian system.
t_mailsync_usable() {
	if ! command -v mailsync >/dev/null; then
		echo "mailsync is not installed (scripts/install-deps.sh --test)"
		return 1
	fi
	if [ "$(id -u)" = 0 ] && ! unshare -m true 2>/dev/null; then
		echo "mailsync as root needs a mount namespace for a user of its own (unshare -m failed)"
		return 1
	fi
}
t_run_mailsync() {
	if [ "$(id -u)" != 0 ]; then timeout "${T_MAILSYNC_TIMEOUT:-60}" mailsync "$@"; return; fi
	local a prev=
	for a in "$@"; do
		[ "$prev" = -f ] && chmod a+r "$a" 2>/dev/null
		prev=$a
	done
	cp /etc/passwd "$T_TMP/passwd"
	echo "mstoretest:x:64123:64123::$HOME:/bin/sh" >> "$T_TMP/passwd"
	chmod 755 "$T_TMP"; chown -R 64123:64123 "$HOME"
	unshare -m sh -c 'mount --bind "$1" /etc/passwd && shift &&
		exec timeout "${T_MAILSYNC_TIMEOUT:-60}" setpriv --reuid=64123 --regid=64123 --clear-groups env HOME="$HOME" USER=mstoretest mailsync "$@"' \
		sh "$T_TMP/passwd" "$@"
}

# t_mbox_msg MSGID SUBJECT: one mbox message on stdout; MSGID empty: no
# Message-ID header
t_mbox_msg() {
	printf 'From x@y Mon Jan  1 00:00:00 2024\nFrom: x@y\n'
	[ -n "$1" ] && printf 'Message-ID: <%s>\n' "$1"
	printf 'Subject: %s\nDate: Mon, 01 Jan 2024 00:00:00 +0000\n\nbody of %s\n\n' "$2" "$2"
}
# t_kept_superset WHAT MAILSYNC_LIST MSTORE_LIST: every line of the first
# list (what mailsync kept, one message a line, sorted) is in the second
# (mstore's); what mailsync lost and mstore kept is printed and left in
# $T_LOST (space-separated)
t_kept_superset() {
	local ms mst
	ms=$(uniq <<<"$2"); mst=$(uniq <<<"$3")
	expect_eq "$(comm -23 <(echo "$ms") <(echo "$mst"))" "" "$1: every message mailsync keeps, mstore keeps"
	T_LOST=$(comm -13 <(echo "$ms") <(echo "$mst") | tr '\n' ' ')
	echo "$1: mailsync lost, mstore kept: ${T_LOST:-nothing}"
}
