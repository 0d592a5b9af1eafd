#!/usr/bin/env bash
# db-servers.sh - throwaway PostgreSQL 15 and MariaDB servers for the tests.
#
#   tests/db-servers.sh start    create both servers from scratch, start them,
#                                wait until they accept logins, write the env file
#   tests/db-servers.sh stop     stop what `start` started and remove its directory
#   tests/db-servers.sh status   say what runs; exit 0 only if both servers run
#
# Everything lives in $MSTORE_TEST_DBS (default /tmp/mstore-test-dbs): data
# directories, sockets, logs and `env`, which holds (exported)
#   MSTORE_TEST_PG_PORT MSTORE_TEST_MY_PORT MSTORE_TEST_DB_USER MSTORE_TEST_DB_PASSWORD
# for tests/lib/common.sh and tests/unit/test_db.c.  The servers listen on
# 127.0.0.1 only, ports $MSTORE_TEST_PG_PORT (default 55432) and
# $MSTORE_TEST_MY_PORT (default 53306), with one account `mstore` (random
# password, superuser on both) that logs in over TCP with its password.
#
# The distribution's own services are not used (no systemctl): on a fresh
# Debian 12 with the packages just installed this works as root (the
# servers run as the postgres and mysql users) or as any other user.
# Speed over durability (fsync off): these databases are thrown away.
set -euo pipefail

DIR=${MSTORE_TEST_DBS:-/tmp/mstore-test-dbs}
PG_PORT=${MSTORE_TEST_PG_PORT:-55432}
MY_PORT=${MSTORE_TEST_MY_PORT:-53306}
PG_BIN=${MSTORE_PG_BIN:-/usr/lib/postgresql/15/bin}
DB_USER=mstore
START_TIMEOUT=60
STOP_TIMEOUT=30
# A directory holding this file was made by us, so `stop` may remove it.
MARKER=.mstore-test-dbs

case $DIR in
/*) ;;
*) DIR=$PWD/$DIR ;;
esac

say() { echo "db-servers: $*" >&2; }
die() { say "$*"; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# Run a command as the OS user that owns a server's files: initdb and
# mariadbd refuse to run as root.
as_user() { # as_user USER COMMAND...
	local user=$1
	shift
	if is_root; then
		(cd "$DIR" && runuser -u "$user" -- "$@")
	else
		(cd "$DIR" && "$@")
	fi
}

# A directory only `user` (when root) can enter.
private_dir() { # private_dir PATH USER
	mkdir -p "$1"
	chmod 700 "$1"
	if is_root; then chown "$2:" "$1"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

log_tail() { # log_tail FILE...
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "---- last lines of $f:" >&2
		tail -n 25 "$f" >&2
	done
}

# ---- PostgreSQL -------------------------------------------------------------

pg_data() { echo "$DIR/pg/data"; }

pg_running() {
	[ -f "$(pg_data)/postmaster.pid" ] && as_user postgres "$PG_BIN/pg_ctl" -D "$(pg_data)" status >/dev/null 2>&1
}

pg_login() { # pg_login PASSWORD: a real login over TCP, as the tests do it
	PGPASSWORD=$1 PGCONNECT_TIMEOUT=3 psql -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d postgres \
		-c 'SELECT 1' >/dev/null 2>&1
}

pg_init() { # pg_init PASSWORD
	[ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 is not installed ($PG_BIN/initdb missing; apt-get install postgresql-15)"
	if is_root; then id postgres >/dev/null 2>&1 || die "no OS user 'postgres' to run PostgreSQL as"; fi
	private_dir "$DIR/pg" postgres
	local pwfile=$DIR/pg/pwfile
	(umask 077 && printf '%s\n' "$1" >"$pwfile")
	if is_root; then chown postgres: "$pwfile"; fi
	# The bootstrap superuser is `mstore` itself; TCP logins need its
	# password (scram), the private socket directory trusts its owner.
	if ! as_user postgres "$PG_BIN/initdb" -D "$(pg_data)" -U "$DB_USER" --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >"$DIR/pg/initdb.log" 2>&1; then
		log_tail "$DIR/pg/initdb.log"
		return 1
	fi
	rm -f "$pwfile"
}

pg_start() {
	local opts="-c listen_addresses=127.0.0.1 -p $PG_PORT -k $DIR/pg -c fsync=off -c synchronous_commit=off"
	opts+=" -c full_page_writes=off -c shared_buffers=32MB -c max_connections=200"
	if ! as_user postgres "$PG_BIN/pg_ctl" -D "$(pg_data)" -l "$DIR/pg/server.log" -w -t "$START_TIMEOUT" \
		-o "$opts" start >"$DIR/pg/pg_ctl.log" 2>&1; then
		say "PostgreSQL did not start on 127.0.0.1:$PG_PORT within ${START_TIMEOUT}s"
		log_tail "$DIR/pg/pg_ctl.log" "$DIR/pg/server.log"
		return 1
	fi
}

pg_stop() {
	pg_running || return 0
	as_user postgres "$PG_BIN/pg_ctl" -D "$(pg_data)" -m fast -w -t "$STOP_TIMEOUT" stop >/dev/null 2>&1 ||
		as_user postgres "$PG_BIN/pg_ctl" -D "$(pg_data)" -m immediate -w stop >/dev/null 2>&1 ||
		say "PostgreSQL in $(pg_data) did not stop"
}

# ---- MariaDB ----------------------------------------------------------------

my_pidfile() { echo "$DIR/my/mariadbd.pid"; }

# The pid of our server: the pid file's process, if it really is a
# mariadbd on our data directory (never signal a stranger).
my_pid() {
	local pid
	pid=$(cat "$(my_pidfile)" 2>/dev/null) || return 1
	[ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--datadir=$DIR/my/data" || return 1
	echo "$pid"
}

my_running() { my_pid >/dev/null; }

my_login() { # my_login PASSWORD
	MYSQL_PWD=$1 mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_PORT" -u "$DB_USER" \
		--connect-timeout=3 -N -B -e 'SELECT 1' >/dev/null 2>&1
}

my_init() { # my_init PASSWORD
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] ||
		die "MariaDB is not installed (apt-get install mariadb-server mariadb-client)"
	local user_opt=()
	if is_root; then
		id mysql >/dev/null 2>&1 || die "no OS user 'mysql' to run MariaDB as"
		user_opt=(--user=mysql)
	fi
	private_dir "$DIR/my" mysql
	local users=$DIR/my/users.sql
	# The install runs the server with --skip-grant-tables, which refuses
	# CREATE USER until the grant tables are loaded: hence FLUSH first.
	(umask 077 && cat >"$users" <<-EOF)
		FLUSH PRIVILEGES;
		CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$1';
		CREATE USER '$DB_USER'@'localhost' IDENTIFIED BY '$1';
		GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1' WITH GRANT OPTION;
		GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
	EOF
	if is_root; then chown mysql: "$users"; fi
	if ! (cd "$DIR" && mariadb-install-db --no-defaults --datadir="$DIR/my/data" "${user_opt[@]}" \
		--skip-test-db --skip-name-resolve --auth-root-authentication-method=socket \
		--extra-file="$users" >"$DIR/my/install.log" 2>&1); then
		rm -f "$users"
		log_tail "$DIR/my/install.log"
		return 1
	fi
	rm -f "$users"
}

my_start() {
	local mariadbd
	mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
	local args=(--no-defaults --datadir="$DIR/my/data" --bind-address=127.0.0.1 --port="$MY_PORT"
		--socket="$DIR/my/mysqld.sock" --pid-file="$(my_pidfile)" --log-error="$DIR/my/server.log"
		--skip-name-resolve --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
		--innodb-buffer-pool-size=64M --innodb-log-file-size=32M --innodb-flush-log-at-trx-commit=0
		--innodb-doublewrite=0 --performance-schema=OFF --skip-log-bin --max-connections=200
		--key-buffer-size=1M)
	if is_root; then args+=(--user=mysql); fi
	# Its own session, so the server outlives this script and the caller's
	# terminal; it drops root itself (--user).
	(cd "$DIR" && setsid "$mariadbd" "${args[@]}" </dev/null >>"$DIR/my/console.log" 2>&1 &)
}

my_stop() {
	local pid waited=0
	pid=$(my_pid) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
			say "MariaDB (pid $pid) did not stop within ${STOP_TIMEOUT}s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
}

# ---- both -------------------------------------------------------------------

# wait_login NAME LOGIN_FUNCTION PASSWORD ALIVE_FUNCTION LOG...: poll until a
# real login works; fail early when the server died, or after START_TIMEOUT.
wait_login() {
	local name=$1 login=$2 password=$3 alive=$4
	shift 4
	local deadline=$((SECONDS + START_TIMEOUT))
	until "$login" "$password"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			say "$name does not accept logins after ${START_TIMEOUT}s"
			log_tail "$@"
			return 1
		fi
		# A server needs a moment to write its pid file before it counts as
		# dead.
		if [ $((deadline - SECONDS)) -lt $((START_TIMEOUT - 5)) ] && ! "$alive"; then
			say "$name exited while starting"
			log_tail "$@"
			return 1
		fi
		sleep 0.2
	done
}

write_env() { # write_env PASSWORD
	local tmp=$DIR/env.tmp
	(umask 077 && cat >"$tmp" <<-EOF)
		# Written by tests/db-servers.sh start; removed by tests/db-servers.sh stop.
		export MSTORE_TEST_PG_PORT=$PG_PORT
		export MSTORE_TEST_MY_PORT=$MY_PORT
		export MSTORE_TEST_DB_USER=$DB_USER
		export MSTORE_TEST_DB_PASSWORD=$1
	EOF
	mv "$tmp" "$DIR/env"
}

env_password() { sed -n 's/^export MSTORE_TEST_DB_PASSWORD=//p' "$DIR/env" 2>/dev/null; }

check_ports_free() {
	port_in_use "$PG_PORT" && die "port $PG_PORT on 127.0.0.1 is taken (another server?); set MSTORE_TEST_PG_PORT"
	port_in_use "$MY_PORT" && die "port $MY_PORT on 127.0.0.1 is taken (another server?); set MSTORE_TEST_MY_PORT"
	[ "$PG_PORT" != "$MY_PORT" ] || die "MSTORE_TEST_PG_PORT and MSTORE_TEST_MY_PORT are both $PG_PORT"
}

start_failed() {
	say "start failed; stopping what was started"
	stop_servers
	exit 1
}

start_servers() {
	case $DIR in *[[:space:]]*) die "MSTORE_TEST_DBS must not contain blanks: '$DIR'" ;; esac
	if [ -f "$DIR/env" ] && pg_running && my_running; then
		say "already running (PostgreSQL on 127.0.0.1:$PG_PORT, MariaDB on 127.0.0.1:$MY_PORT); env in $DIR/env"
		return 0
	fi
	[ -e "$DIR" ] && stop_servers # leftovers of an interrupted run
	check_ports_free
	mkdir -p "$DIR"
	chmod 755 "$DIR"
	touch "$DIR/$MARKER"
	local password
	password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	pg_init "$password" || start_failed
	my_init "$password" || start_failed
	pg_start || start_failed
	my_start
	wait_login PostgreSQL pg_login "$password" pg_running "$DIR/pg/server.log" || start_failed
	wait_login MariaDB my_login "$password" my_running "$DIR/my/server.log" "$DIR/my/console.log" || start_failed
	write_env "$password"
	say "PostgreSQL on 127.0.0.1:$PG_PORT, MariaDB on 127.0.0.1:$MY_PORT, user $DB_USER; env in $DIR/env"
}

stop_servers() {
	if [ ! -e "$DIR" ]; then
		say "nothing to stop ($DIR does not exist)"
		return 0
	fi
	[ -f "$DIR/$MARKER" ] || die "$DIR was not made by db-servers.sh start; not touching it"
	pg_stop
	my_stop
	rm -rf "$DIR"
	say "stopped; removed $DIR"
}

status_servers() {
	local ok=0
	if pg_running; then
		echo "PostgreSQL: running on 127.0.0.1:$PG_PORT (data $(pg_data))"
		if ! pg_login "$(env_password)"; then echo "PostgreSQL: but no login as $DB_USER"; ok=1; fi
	else
		echo "PostgreSQL: not running"
		ok=1
	fi
	if my_running; then
		echo "MariaDB: running on 127.0.0.1:$MY_PORT (pid $(my_pid), data $DIR/my/data)"
		if ! my_login "$(env_password)"; then echo "MariaDB: but no login as $DB_USER"; ok=1; fi
	else
		echo "MariaDB: not running"
		ok=1
	fi
	[ -f "$DIR/env" ] && echo "env: $DIR/env"
	return "$ok"
}

case ${1:-} in
start) start_servers ;;
stop) stop_servers ;;
status) status_servers ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
