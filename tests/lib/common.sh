# common.sh - helpers for the end-to-end tests (sourced by tests/e2e/*.sh).
#
# Environment (set by meson and by scripts/test.sh):
#   MSTORE_BIN            the mstore binary under test
#   MSTORE_TEST_BACKEND   sqlite | pgsql | mysql
#   MSTORE_SHARED         ../shared (corpora)
#   MSTORE_TEST_ENV       file written by tests/db-servers.sh start, with
#                         MSTORE_TEST_PG_PORT, MSTORE_TEST_MY_PORT,
#                         MSTORE_TEST_DB_USER, MSTORE_TEST_DB_PASSWORD
#   MSTORE_TEST_IMAP      the directory of tests/imap-server.sh start (its env
#                         file: MSTORE_TEST_IMAP_PORT, ..._IMAPS_PORT, ..._CA,
#                         ..._PASSWORD); t_need_imap skips without it
# A test fails with a message naming what was expected and what came.

set -u
: "${MSTORE_BIN:?MSTORE_BIN not set}"
: "${MSTORE_TEST_BACKEND:=sqlite}"
# The same default as tests/db-servers.sh and tests/unit/test_db.c.
MSTORE_TEST_ENV=${MSTORE_TEST_ENV:-${MSTORE_TEST_DBS:-/tmp/mstore-test-dbs}/env}
if [ -f "$MSTORE_TEST_ENV" ]; then
	# shellcheck disable=SC1090
	. "$MSTORE_TEST_ENV"
fi

T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mstore-e2e.XXXXXX")
# Hermetic: no configuration from the machine or the user running the tests.
unset MSTORE_CONFIG MSTORE_DB_PASSWORD
export HOME=$T_TMP/home MSTORE_SYSCONFDIR=$T_TMP/etc
# reconstruct -r's recovery lists: here, not in /var/lib/mstore (tests run as root).
export XDG_STATE_HOME=$T_TMP/state
mkdir -p "$HOME"
T_FAILS=0
T_CHECKS=0
# Server databases to drop at exit, "BACKEND NAME" a line.  A file, not a
# variable: tests call t_new_db in a subshell, URL=$(t_new_db hint).
T_DBS_FILE=$T_TMP/databases

t_cleanup() {
	local backend db
	if [ -f "$T_DBS_FILE" ]; then
		while read -r backend db; do MSTORE_TEST_BACKEND=$backend t_drop_db "$db"; done <"$T_DBS_FILE"
	fi
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

t_fail() { echo "FAIL: $*" >&2; T_FAILS=$((T_FAILS + 1)); }
t_ok() { T_CHECKS=$((T_CHECKS + 1)); }

# Skip the whole test (exit 77 = meson's "skipped") unless servers are
# required, in which case a missing server is a failure.
t_need_server() {
	case "$MSTORE_TEST_BACKEND" in
	sqlite) return 0 ;;
	pgsql) [ -n "${MSTORE_TEST_PG_PORT:-}" ] && return 0 ;;
	mysql) [ -n "${MSTORE_TEST_MY_PORT:-}" ] && return 0 ;;
	esac
	if [ "${MSTORE_TEST_REQUIRE_SERVERS:-0}" = 1 ]; then
		echo "FAIL: no $MSTORE_TEST_BACKEND server (run tests via scripts/test.sh)" >&2
		exit 1
	fi
	echo "SKIP: no $MSTORE_TEST_BACKEND server running" >&2
	exit 77
}

# The same for the Dovecot of tests/imap-server.sh; then t_imap_user NAME
# adds a user of the test's own.
t_need_imap() {
	local env=${MSTORE_TEST_IMAP:-/tmp/mstore-test-imap}/env
	if [ -f "$env" ]; then
		# shellcheck disable=SC1090
		. "$env"
		return 0
	fi
	if [ "${MSTORE_TEST_REQUIRE_SERVERS:-0}" = 1 ]; then
		echo "FAIL: no IMAP server (tests/imap-server.sh start; scripts/test.sh does)" >&2
		exit 1
	fi
	echo "SKIP: no IMAP server running (tests/imap-server.sh start)" >&2
	exit 77
}
t_imapd() { MSTORE_TEST_IMAP=$MSTORE_TEST_IMAP_DIR "$MSTORE_SRC/tests/imap-server.sh" "$@"; }

# Client commands for the test servers (used to inspect what mstore wrote,
# independently of mstore's own drivers).
t_psql() { PGPASSWORD=$MSTORE_TEST_DB_PASSWORD psql -X -q -A -t -v ON_ERROR_STOP=1 \
	-h 127.0.0.1 -p "$MSTORE_TEST_PG_PORT" -U "$MSTORE_TEST_DB_USER" "$@"; }
t_mysql() { MYSQL_PWD=$MSTORE_TEST_DB_PASSWORD mariadb --protocol=TCP -h 127.0.0.1 \
	-P "$MSTORE_TEST_MY_PORT" -u "$MSTORE_TEST_DB_USER" -N -B -r "$@"; }

# t_new_db NAME_HINT: create an empty database on the current backend and
# print its URL.  Databases are dropped when the test exits.
t_new_db() {
	local hint=${1:-db} name
	# Lower case: PostgreSQL folds unquoted names, the URL would not.
	name="mst_${hint,,}_$$_${RANDOM}${RANDOM}"
	case "$MSTORE_TEST_BACKEND" in
	sqlite)
		echo "sqlite:$T_TMP/$name.sqlite"
		;;
	pgsql)
		t_psql -d postgres -c "CREATE DATABASE $name" >/dev/null || return 1
		echo "$MSTORE_TEST_BACKEND $name" >>"$T_DBS_FILE"
		echo "postgresql://$MSTORE_TEST_DB_USER@127.0.0.1:$MSTORE_TEST_PG_PORT/$name"
		;;
	mysql)
		t_mysql -e "CREATE DATABASE $name" || return 1
		echo "$MSTORE_TEST_BACKEND $name" >>"$T_DBS_FILE"
		echo "mysql://$MSTORE_TEST_DB_USER@127.0.0.1:$MSTORE_TEST_MY_PORT/$name"
		;;
	esac
}

# t_clone_db URL NAME_HINT: a new database on the current backend holding
# a copy of URL's tables and rows; prints its URL.  For tests that start
# many times from one prepared store: a copy costs a fraction of building
# it again through mstore (PostgreSQL copies a template database; MariaDB,
# which has none, copies table by table: the schema has no foreign keys,
# triggers or views; SQLite's online backup).
t_clone_db() {
	local src=$1 hint=${2:-db} name i
	name="mst_${hint,,}_$$_${RANDOM}${RANDOM}"
	case "$MSTORE_TEST_BACKEND" in
	sqlite)
		sqlite3 "${src#sqlite:}" ".backup '$T_TMP/$name.sqlite'" || return 1
		echo "sqlite:$T_TMP/$name.sqlite"
		;;
	pgsql)
		# the last client of the source may still be leaving
		for i in 1 2 3 4 5 6 7 8 9 10; do
			t_psql -d postgres -c "CREATE DATABASE $name TEMPLATE ${src##*/}" >/dev/null 2>"$T_TMP/clone.err" && break
			[ "$i" = 10 ] && { cat "$T_TMP/clone.err" >&2; return 1; }
			sleep 0.2
		done
		echo "$MSTORE_TEST_BACKEND $name" >>"$T_DBS_FILE"
		echo "postgresql://$MSTORE_TEST_DB_USER@127.0.0.1:$MSTORE_TEST_PG_PORT/$name"
		;;
	mysql)
		local from=${src##*/} sql
		sql=$(t_mysql -e "SELECT CONCAT('CREATE TABLE $name.', table_name, ' LIKE $from.', table_name, ';',
			'INSERT INTO $name.', table_name, ' SELECT * FROM $from.', table_name, ';')
			FROM information_schema.tables WHERE table_schema = '$from'") || return 1
		t_mysql -e "CREATE DATABASE $name" || return 1
		echo "$MSTORE_TEST_BACKEND $name" >>"$T_DBS_FILE"
		t_mysql -e "$sql" || return 1
		echo "mysql://$MSTORE_TEST_DB_USER@127.0.0.1:$MSTORE_TEST_MY_PORT/$name"
		;;
	esac
}

# FORCE: a killed mstore's session may linger on the server for a moment.
t_drop_db() {
	case "$MSTORE_TEST_BACKEND" in
	pgsql) t_psql -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 ;;
	mysql) t_mysql -e "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1 ;;
	esac
}

# t_sql URL SQL: run SQL against the database behind URL with the backend's
# own client; prints rows tab-separated.
t_sql() {
	local url=$1 sql=$2 name
	case "$url" in
	sqlite:*) sqlite3 -batch -cmd ".timeout 30000" -separator $'\t' "${url#sqlite:}" "$sql" ;;
	postgresql://*) name=${url##*/}; t_psql -F $'\t' -d "$name" -c "$sql" ;;
	mysql://*) name=${url##*/}; t_mysql "$name" -e "$sql" ;;
	esac
}

# mst ARGS...: run mstore with the test password in the environment;
# stdout+stderr go to $T_TMP/out, the exit code to $T_RC.
mst() {
	MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
	return 0
}
t_out() { cat "$T_TMP/out"; }
t_errout() { cat "$T_TMP/err"; }

# Assertions.
expect_rc() { # expect_rc WANT DESCRIPTION
	t_ok
	[ "$T_RC" = "$1" ] || t_fail "$2: exit code $T_RC, wanted $1; stderr: $(head -c 600 "$T_TMP/err")"
}
expect_ok() { expect_rc 0 "$1"; }
expect_fail() { # non-zero exit and a message on stderr
	t_ok
	if [ "$T_RC" = 0 ]; then t_fail "$1: succeeded, wanted failure"; return; fi
	[ -s "$T_TMP/err" ] || t_fail "$1: failed (rc $T_RC) without a message on stderr"
}
expect_err_contains() { # expect_err_contains TEXT DESCRIPTION
	t_ok
	grep -qF -- "$1" "$T_TMP/err" || t_fail "$2: stderr lacks '$1'; stderr: $(head -c 600 "$T_TMP/err")"
}
expect_out_contains() {
	t_ok
	grep -qF -- "$1" "$T_TMP/out" || t_fail "$2: stdout lacks '$1'; stdout: $(head -c 600 "$T_TMP/out")"
}
expect_eq() { # expect_eq GOT WANT DESCRIPTION
	t_ok
	[ "$1" = "$2" ] || t_fail "$3: got '$1', wanted '$2'"
}

# t_add_objects URL OBJECTS: add the domains and accounts a generated data
# directory lists (bench/gen_datadir's objects.txt: "KIND NAME" lines).
t_add_objects() {
	local kind name
	while read -r kind name; do mst "$kind" add "$name" --db "$1"; done < "$2"
}

# t_content_hash DIR: one hash over the contents of every message file
# below DIR, whatever their names (sync renames misplaced files).
t_content_hash() { find "$1" -type f -name '*.eml' -exec sha256sum {} + | cut -d' ' -f1 | sort | sha256sum; }

# t_content_state URL DATA: the store's content, independent of file names and of the
# order UIDs were handed out in.
t_content_state() {
	local url=$1 data=$2
	# One sha256sum over every file (a fork per file made the crash test's
	# dozen comparisons of 1,500 files take minutes on a loaded machine):
	# "NAME<TAB>HASH16" per file, joined with the rows by file name.
	find "$data" -type f -name '*.eml' -exec sha256sum {} + |
		awk '{ h = substr($1, 1, 16); p = substr($0, length($1) + 3); n = p; sub(/.*\//, "", n); print n "\t" h }' |
		sort > "$T_TMP/names"
	t_sql "$url" "SELECT m.messagefilename, COALESCE(a.accountaddress, '-'), m.messagetype, m.messagesize, m.messagefrom, m.messagecreatetime, m.messageflags FROM hm_messages m LEFT JOIN hm_accounts a ON a.accountid = m.messageaccountid" \
		| sort > "$T_TMP/rows"
	join -t $'\t' "$T_TMP/rows" "$T_TMP/names" |
		awk -F'\t' '{ printf "%s|%s|%s|%s|%s|%s|%s\n", $2, $3, $4, $5, substr($6, 1, 19), $7, $8 }' | sort
	t_sql "$url" "SELECT m.messagefilename, r.recipientaddress FROM hm_messagerecipients r JOIN hm_messages m ON m.messageid = r.recipientmessageid" \
		| sort | join -t $'\t' - "$T_TMP/names" | awk -F'\t' '{ printf "rcpt|%s|%s\n", $2, $3 }' | sort
}

t_done() {
	echo "$T_CHECKS checks, $T_FAILS failed ($MSTORE_TEST_BACKEND)"
	[ "$T_FAILS" = 0 ]
	exit $?
}

# ---- channel sides, compared by content ------------------------------------------
# A message's content the same way on every side of a channel: CRLF read
# as LF, the mbox bookkeeping header fields (Status, X-Status, X-Keywords,
# X-UID, X-IMAP, X-IMAPbase, Content-Length) left out, trailing empty lines
# dropped; mbox files split at "From SENDER DAY MON" lines and unquoted
# (mboxrd: one '>' off /^>+From /).  Flags as Maildir letters, sorted
# (D draft, F flagged, R answered, S seen, T deleted).  Written here, not
# taken from mstore's drivers: the tests check those.
T_SIG_AWK='
function flush(   i, f) {
	if (!open) return
	while (n > 0 && L[n] == "") n--
	f = out "/" (++k)
	printf "" > f
	for (i = 1; i <= n; i++) print L[i] > f
	close(f)
	printf "%s\t%s\n", f, canon(fl)
	open = 0; n = 0
}
function canon(s,   c, l, r) { r = ""; for (c = 1; c <= 5; c++) { l = substr("DFRST", c, 1); if (index(s, l)) r = r l }; return r }
function begin(flags) { flush(); open = 1; hdr = 1; skip = 0; fl = flags }
BEGIN { if (mode == "hm") while ((getline line < map) > 0) { split(line, a, "\t"); hmfl[a[1]] = a[2] } }
mode == "maildir" && FNR == 1 { f = FILENAME; sub(/.*\//, "", f); begin(index(f, ":2,") ? substr(f, index(f, ":2,") + 3) : "") }
mode == "hm" && FNR == 1 { f = FILENAME; sub(/.*\//, "", f); begin(hmfl[f]) }
{ sub(/\r$/, "") }
mode == "mbox" && /^From [^ ]+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) / { begin(""); next }
mode == "mbox" && /^>+From / { $0 = substr($0, 2) }
!open { next }
hdr && $0 == "" { hdr = 0 }
hdr && /^[ \t]/ && skip { next }
hdr && !/^[ \t]/ { skip = 0 }
hdr && tolower($0) ~ /^(status|x-status|x-keywords|x-uid|x-imap|x-imapbase|content-length):/ {
	skip = 1
	if (mode == "mbox" && tolower($0) ~ /^status:/ && $0 ~ /R/) fl = fl "S"
	if (mode == "mbox" && tolower($0) ~ /^x-status:/) { v = substr($0, 10); if (v ~ /A/) fl = fl "R"; if (v ~ /F/) fl = fl "F"; if (v ~ /D/) fl = fl "T"; if (v ~ /T/) fl = fl "D" }
	next
}
{ L[++n] = $0 }
END { flush() }'

# t_sig MODE [MAP] FILE...: "HASH FLAGS" per message of FILEs, sorted.
t_sig() {
	local mode=$1 map=/dev/null d
	[ "$mode" = hm ] && { map=$2; shift; }
	shift
	[ $# -gt 0 ] || return 0
	d=$(mktemp -d "$T_TMP/sig.XXXXXX")
	awk -v mode="$mode" -v out="$d" -v map="$map" "$T_SIG_AWK" "$@" | sort > "$d.idx"
	if [ -s "$d.idx" ]; then
		cut -f1 "$d.idx" | xargs sha256sum | awk '{ print $2 "\t" $1 }' | sort | join -t $'\t' - "$d.idx" |
			awk -F'\t' '{ print $2 " " $3 }' | sort
	fi
	rm -rf "$d" "$d.idx"
}
# t_maildir_sig DIR: the messages of the Maildir folder DIR (cur/ and new/).
t_maildir_sig() { local f=(); mapfile -t f < <(find "$1/cur" "$1/new" -type f 2>/dev/null | sort); t_sig maildir "${f[@]}"; }
# t_mbox_sig FILE: the messages of one mbox file.
t_mbox_sig() { [ -s "$1" ] || return 0; t_sig mbox "$1"; }
# t_hm_sig URL DATA ACCOUNT FOLDER: the messages of one top-level folder of an
# hMailServer account (flags from the database, content from the files); a
# row whose file is missing prints "missing FILE", a file twice "twice FILE".
t_hm_sig() {
	local url=$1 data=$2 acct=$3 folder=$4 map=$T_TMP/hm.map files=()
	t_sql "$url" "SELECT m.messagefilename, m.messageflags FROM hm_messages m
		JOIN hm_imapfolders f ON f.folderid = m.messagefolderid JOIN hm_accounts a ON a.accountid = m.messageaccountid
		WHERE a.accountaddress = '$acct' AND f.foldername = '$folder' AND f.folderparentid = -1" |
		awk -F'\t' '{ n = $1; sub(/.*[\\\/]/, "", n); f = ""
			b = $2 + 0; if (b % 2) f = f "S"; if (int(b / 2) % 2) f = f "T"; if (int(b / 4) % 2) f = f "F"; if (int(b / 8) % 2) f = f "R"; if (int(b / 16) % 2) f = f "D"
			print n "\t" f }' | sort > "$map"
	mapfile -t files < <(find "$data" -type f -name '*.eml' | awk 'NR == FNR { split($0, a, "\t"); want[a[1]] = 1; next } { n = $0; sub(/.*\//, "", n) } (n in want)' "$map" - | sort)
	cut -f1 "$map" | uniq -d | sed 's/^/twice /'
	comm -23 <(cut -f1 "$map") <(printf '%s\n' "${files[@]##*/}" | sort) | sed 's/^/missing /'
	t_sig hm "$map" "${files[@]}"
}
