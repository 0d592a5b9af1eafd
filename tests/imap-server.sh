#!/usr/bin/env bash
# imap-server.sh - a throwaway Dovecot IMAP server for the tests.
#
#   tests/imap-server.sh start    create the instance from scratch, start it,
#                                 wait until it answers, write the env file
#   tests/imap-server.sh stop     stop what `start` started and remove its directory
#   tests/imap-server.sh status   say what runs; exit 0 only if it runs
#   tests/imap-server.sh adduser NAME [QUOTA]  add a user (the shared password), for a test of
#                                 its own; QUOTA (Dovecot's storage=, e.g. 40K) limits its mail
#   tests/imap-server.sh doveadm ARGS...   run doveadm against this instance
#
# Everything lives in $MSTORE_TEST_IMAP (default /tmp/mstore-test-imap):
# the configuration, a test CA and the server's certificate (made here with
# openssl req), the users file, the mail (Maildir, one tree per user), logs
# and `env`, which holds (exported)
#   MSTORE_TEST_IMAP_PORT MSTORE_TEST_IMAPS_PORT MSTORE_TEST_IMAP_CA
#   MSTORE_TEST_IMAP_USER MSTORE_TEST_IMAP_PASSWORD MSTORE_TEST_IMAP_DIR
# for the tests.  Dovecot listens on 127.0.0.1 only: plain IMAP with
# STARTTLS on $MSTORE_TEST_IMAP_PORT (default 51431) and implicit TLS on
# $MSTORE_TEST_IMAPS_PORT (default 51993).  The certificate names
# `localhost` and nothing else, so connecting to 127.0.0.1 by its address
# is a host name mismatch (the test of host name verification).
#
# The instance is unprivileged (Dovecot's "rootless" mode): every Dovecot
# process runs as one user, the one who runs this script, or, when that is
# root, the `dovecot` user (Dovecot refuses mail access as root); no
# distribution service, no systemctl.  Users (passwd-file, plain
# passwords): `alice` and `bob` with $MSTORE_TEST_IMAP_PASSWORD, random;
# `adduser` appends another (Dovecot rereads the file when it changes), so
# tests running at once each have mailboxes of their own.
set -euo pipefail

DIR=${MSTORE_TEST_IMAP:-/tmp/mstore-test-imap}
PORT=${MSTORE_TEST_IMAP_PORT:-51431}
SPORT=${MSTORE_TEST_IMAPS_PORT:-51993}
DOVECOT=${MSTORE_DOVECOT:-/usr/sbin/dovecot}
DOVEADM=${MSTORE_DOVEADM:-/usr/bin/doveadm}
START_TIMEOUT=30
MARKER=.mstore-test-imap

case $DIR in
/*) ;;
*) DIR=$PWD/$DIR ;;
esac

say() { echo "imap-server: $*" >&2; }
die() { say "$*"; exit 1; }

if [ "$(id -u)" = 0 ]; then RUN_USER=dovecot; else RUN_USER=$(id -un); fi
as_user() {
	if [ "$(id -u)" = 0 ]; then (cd "$DIR" && runuser -u "$RUN_USER" -- "$@"); else (cd "$DIR" && "$@"); fi
}

running() { [ -f "$DIR/run/master.pid" ] && kill -0 "$(cat "$DIR/run/master.pid")" 2>/dev/null; }

make_certs() { # a test CA, and a server certificate it signs for localhost and 127.0.0.1
	local c=$DIR/tls
	mkdir -p "$c"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=mstore test CA" \
		-keyout "$c/ca.key" -out "$c/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$c/server.key" -out "$c/server.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$c/ext"
	openssl x509 -req -in "$c/server.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" -CAcreateserial \
		-days 30 -extfile "$c/ext" -out "$c/server.crt" 2>/dev/null
	# a second, self-signed certificate no CA vouches for (tests swap it in)
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost" \
		-keyout "$c/self.key" -out "$c/self.crt" 2>/dev/null
}

write_conf() { # write_conf PASSWORD
	local uid gid
	uid=$(id -u "$RUN_USER")
	gid=$(id -g "$RUN_USER")
	printf 'alice:{PLAIN}%s::::::\nbob:{PLAIN}%s::::::\n' "$1" "$1" > "$DIR/users"
	cat > "$DIR/dovecot.conf" <<EOF
# written by tests/imap-server.sh; thrown away by its stop
protocols = imap
listen = 127.0.0.1
base_dir = $DIR/run
state_dir = $DIR/state
instance_name = mstore-test-$PORT
log_path = $DIR/log/dovecot.log
default_login_user = $RUN_USER
default_internal_user = $RUN_USER
default_internal_group = $(id -gn "$RUN_USER")
first_valid_uid = $uid
last_valid_uid = $uid
ssl = yes
ssl_cert = <$DIR/tls/server.crt
ssl_key = <$DIR/tls/server.key
disable_plaintext_auth = no
# the tests log in wrongly on purpose: no delay, and no penalty (anvil's
# growing delay for an address with failed logins) for loopback
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
# XOAUTH2 and OAUTHBEARER: Dovecot checks the bearer token against the
# passdb as a password, so the users' password is a static token and no
# OAuth provider (no network) is needed
auth_mechanisms = plain login xoauth2 oauthbearer
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $DIR/users
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$DIR/mail/%n
}
mail_location = maildir:~/Maildir
# a throwaway server: its own durability is not under test (mstore's is), and
# an fsync per saved message made a 2,000-message APPEND take 38 s, not 7, on
# a loaded machine
mail_fsync = never
# quota: unlimited unless the users file gives a user a rule (adduser NAME QUOTA)
mail_plugins = \$mail_plugins quota
plugin {
  quota = maildir:User quota
}
namespace inbox {
  inbox = yes
  separator = .
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Trash {
    special_use = \\Trash
  }
  # special uses under other names (test_channel_imap_specialuse.sh: specialuse
  # yes shows them as Sent, Trash, Archive); none is created unless a test does
  mailbox "Sent Messages" {
    special_use = \\Sent
  }
  mailbox "Deleted Messages" {
    special_use = \\Trash
  }
  mailbox Archives {
    special_use = \\Archive
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $SPORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
service pop3-login {
  chroot =
}
service submission-login {
  chroot =
}
service imap-urlauth-login {
  chroot =
}
service lmtp {
  inet_listener lmtp {
    port = 0
  }
  unix_listener lmtp {
    mode = 0
  }
}
EOF
	cat > "$DIR/env.tmp" <<EOF
export MSTORE_TEST_IMAP_DIR=$DIR
export MSTORE_TEST_IMAP_PORT=$PORT
export MSTORE_TEST_IMAPS_PORT=$SPORT
export MSTORE_TEST_IMAP_CA=$DIR/tls/ca.crt
export MSTORE_TEST_IMAP_USER=alice
export MSTORE_TEST_IMAP_PASSWORD=$1
EOF
	mv "$DIR/env.tmp" "$DIR/env"
}

wait_up() {
	local i
	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

start() {
	[ -x "$DOVECOT" ] || die "$DOVECOT not found: install dovecot-imapd (scripts/install-deps.sh --test)"
	if running; then
		say "already running (IMAP on 127.0.0.1:$PORT, IMAPS on 127.0.0.1:$SPORT); env in $DIR/env"
		return 0
	fi
	if [ -e "$DIR" ]; then
		[ -f "$DIR/$MARKER" ] || die "$DIR exists and was not made by imap-server.sh: not touching it"
		rm -rf "$DIR"
	fi
	mkdir -p "$DIR"/{run,state,log,mail}
	touch "$DIR/$MARKER"
	local pw
	pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	make_certs
	write_conf "$pw"
	if [ "$(id -u)" = 0 ]; then
		chown -R "$RUN_USER:" "$DIR/run" "$DIR/state" "$DIR/log" "$DIR/mail"
		chmod 755 "$DIR"
		chmod 644 "$DIR/tls/server.key" "$DIR/tls/self.key" "$DIR/users" "$DIR/dovecot.conf"
	fi
	# the daemon keeps the descriptors it starts with: none of the caller's
	# (a pipe to `| tail` would never close)
	as_user "$DOVECOT" -c "$DIR/dovecot.conf" </dev/null >>"$DIR/log/start.log" 2>&1 ||
		{ cat "$DIR/log/start.log" "$DIR/log/dovecot.log" >&2 2>/dev/null; die "dovecot did not start"; }
	wait_up || { cat "$DIR/log/dovecot.log" >&2; die "dovecot does not answer on 127.0.0.1:$PORT"; }
	say "IMAP on 127.0.0.1:$PORT (STARTTLS), IMAPS on 127.0.0.1:$SPORT, users alice and bob; env in $DIR/env"
}

stop() {
	[ -e "$DIR" ] || return 0
	[ -f "$DIR/$MARKER" ] || die "$DIR was not made by imap-server.sh start; not touching it"
	if running; then
		local pid
		pid=$(cat "$DIR/run/master.pid")
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	fi
	rm -rf "$DIR"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
	if running; then echo "dovecot: running on 127.0.0.1:$PORT and :$SPORT; env: $DIR/env"; else echo "dovecot: not running"; exit 1; fi ;;
adduser)
	[ -n "${2:-}" ] && [[ $2 =~ ^[A-Za-z0-9._-]+$ ]] || die "adduser NAME: letters, digits, . _ -"
	pw=$(sed -n 's/^export MSTORE_TEST_IMAP_PASSWORD=//p' "$DIR/env")
	[ -z "${3:-}" ] || [[ $3 =~ ^[0-9]+[KMG]?$ ]] || die "adduser NAME QUOTA: a size, e.g. 40K"
	# a quota is a userdb field the passdb returns (userdb_*), over the static userdb
	grep -q "^$2:" "$DIR/users" ||
		printf '%s:{PLAIN}%s::::::%s\n' "$2" "$pw" "${3:+userdb_quota_rule=*:storage=$3}" >> "$DIR/users"
	# Dovecot rereads the users file when it sees it changed; two tests
	# adding users within the same second were seen to log in before it did
	# (auth failed, then fine a second later).  Return once it knows the user.
	for _ in $(seq 1 50); do
		as_user "$DOVEADM" -c "$DIR/dovecot.conf" auth test "$2" "$pw" >/dev/null 2>&1 && exit 0
		sleep 0.2
	done
	die "dovecot does not know the new user $2 after 10 s (see $DIR/log/dovecot.log)" ;;
doveadm) shift; as_user "$DOVEADM" -c "$DIR/dovecot.conf" "$@" ;;
*) echo "usage: $0 start|stop|status|doveadm ARGS..." >&2; exit 2 ;;
esac
