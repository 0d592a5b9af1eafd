#!/usr/bin/env bash
# Bad input in a data directory (quality.md): each case gets a precise
# category and reason, the run goes on, nothing is deleted or rewritten.
# Plus: every message of ../shared/corpus, in an account and in the queue.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC

URL=$(t_new_db bad) || { t_fail "cannot create a test database"; t_done; }
D=$T_TMP/Data
A=$D/example.com/alice
mkdir -p "$A" "$D/example.com/bob"
mst init "$URL"; expect_ok "init"
mst domain add example.com --db "$URL"; mst account add alice@example.com --db "$URL"; mst account add bob@example.com --db "$URL"
old='2022-05-06 07:08:09'

mkdir -p "$A/01"
: > "$A/01/empty.eml"
head -c 4096 /dev/urandom > "$A/01/binary.eml"
printf 'From: h@x.org\r\nSubject: header only, no body, no separator' > "$A/01/header-only.eml"
printf 'just a body line\r\nand another\r\n' > "$A/01/headerless.eml"
printf 'From: =?UTF-8?B?broken?= <enc@x.org>\r\nSubject: =?ISO-8859-1?Q?caf=E9?= \xff\xfe\r\n\r\nx\r\n' > "$A/01/encodings.eml"
{ printf 'From: long@x.org\r\nX-Long: '; head -c 1048576 /dev/zero | tr '\0' a; printf '\r\n\r\nbody\r\n'; } > "$A/01/long-header-line.eml"
printf 'From: big@x.org\r\nDate: Fri, 01 Jan 2021 00:00:00 +0000\r\n\r\n' > "$A/01/huge.eml"
truncate -s 200M "$A/01/huge.eml"   # a 200 MB message (sparse)
printf 'From: s@x.org\r\n\r\nx\r\n' > "$A/01/name with spaces.eml"
printf 'From: s@x.org\r\n\r\nx\r\n' > "$A/01/bad-$(printf '\xff\xfe')-bytes.eml"
printf 'From: s@x.org\r\n\r\nx\r\n' > "$A/01/new
line.eml"
mkdir -p "$A/01/directory.eml"
mkfifo "$A/01/fifo.eml"
mkdir -p "$T_TMP/outside"; printf 'From: o@x.org\r\n\r\nx\r\n' > "$T_TMP/outside/secret.eml"
ln -s "$T_TMP/outside" "$A/outside-link"
ln -s "$T_TMP/outside/secret.eml" "$A/01/link.eml"
ln -s .. "$A/01/loop"
mkdir -p "$D/example.com/bob/locked"; printf 'From: l@x.org\r\n\r\nx\r\n' > "$D/example.com/bob/locked/{0C000000-0000-0000-0000-000000000001}.eml"
find "$D" -exec touch -h -d "$old" {} + 2>/dev/null
chmod 000 "$D/example.com/bob/locked"

# Without the power to read everything (root would read a 000 folder).
run_sync() {
	MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} setpriv --inh-caps=-all --bounding-set=-dac_override,-dac_read_search \
		"$MSTORE_BIN" sync --db "$URL" --data "$D" --no-progress "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
}
run_sync --json "$T_TMP/r.json"
expect_rc 1 "a run with an unreadable folder exits 1"
cat_of() { jq -r --arg p "$1" '.files[] | select(.path == $p) | "\(.category): \(.reason // "")"' "$T_TMP/r.json"; }
r=example.com/alice/01
case "$(cat_of "$r/empty.eml")" in "not-imported: zero-byte"*) t_ok ;; *) t_fail "empty file: $(cat_of "$r/empty.eml")" ;; esac
case "$(cat_of "$r/binary.eml")" in moved*unparsable*) t_ok ;; *) t_fail "binary garbage: $(cat_of "$r/binary.eml")" ;; esac
case "$(cat_of "$r/header-only.eml")" in moved*) t_ok ;; *) t_fail "header only: $(cat_of "$r/header-only.eml")" ;; esac
case "$(cat_of "$r/headerless.eml")" in moved*) t_ok ;; *) t_fail "headerless: $(cat_of "$r/headerless.eml")" ;; esac
case "$(cat_of "$r/encodings.eml")" in moved*) t_ok ;; *) t_fail "broken encodings: $(cat_of "$r/encodings.eml")" ;; esac
case "$(cat_of "$r/long-header-line.eml")" in moved*) t_ok ;; *) t_fail "1 MB header line: $(cat_of "$r/long-header-line.eml")" ;; esac
case "$(cat_of "$r/huge.eml")" in moved*) t_ok ;; *) t_fail "200 MB message: $(cat_of "$r/huge.eml")" ;; esac
case "$(cat_of "$r/name with spaces.eml")" in moved*) t_ok ;; *) t_fail "spaces: $(cat_of "$r/name with spaces.eml")" ;; esac
case "$(cat_of "$r/new
line.eml")" in moved*) t_ok ;; *) t_fail "newline in name" ;; esac
expect_eq "$(jq -r '[.files[] | select(.path | test("bad-.*-bytes")) | .category] | join(",")' "$T_TMP/r.json")" "moved" "non-UTF-8 name"
case "$(cat_of "$r/directory.eml")" in not-imported*"not a regular file"*) t_ok ;; *) t_fail ".eml directory: $(cat_of "$r/directory.eml")" ;; esac
case "$(cat_of "$r/fifo.eml")" in not-imported*"not a regular file"*) t_ok ;; *) t_fail "FIFO: $(cat_of "$r/fifo.eml")" ;; esac
case "$(cat_of "$r/link.eml")" in not-imported*symbolic*) t_ok ;; *) t_fail "symlink to a file: $(cat_of "$r/link.eml")" ;; esac
case "$(cat_of "example.com/alice/outside-link")" in ignored*symbolic*) t_ok ;; *) t_fail "symlink to a folder: $(cat_of example.com/alice/outside-link)" ;; esac
case "$(cat_of "$r/loop")" in ignored*symbolic*) t_ok ;; *) t_fail "symlink loop: $(cat_of "$r/loop")" ;; esac
case "$(cat_of "example.com/bob/locked")" in failed*ermission*) t_ok ;; *) t_fail "unreadable folder: $(cat_of example.com/bob/locked)" ;; esac
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_messages WHERE messagefrom = 'o@x.org'")" "0" "nothing imported through a symlink"
expect_eq "$(t_sql "$URL" "SELECT messagesize FROM hm_messages WHERE messagefrom = 'big@x.org'")" "209715200" "200 MB message imported with its size"
expect_eq "$(t_sql "$URL" "SELECT messagecreatetime FROM hm_messages WHERE messagefrom = 'big@x.org'" | cut -c1-19)" "2021-01-01 00:00:00" "200 MB message dated from its header"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_messages WHERE messagefrom = 'enc@x.org'")" "1" "broken encoded word still yields the address"
[ -f "$T_TMP/outside/secret.eml" ] && [ -e "$A/01/empty.eml" ] && [ -p "$A/01/fifo.eml" ] || t_fail "a file was deleted"
t_ok

# the folder becomes readable: the rerun imports it and nothing else
chmod 755 "$D/example.com/bob/locked"
run_sync --json "$T_TMP/r2.json"
expect_rc 0 "rerun"
expect_eq "$(jq -r '.summary.imported + .summary.moved' "$T_TMP/r2.json")" "1" "rerun imports only the formerly unreadable file"

# --- the shared corpus, in an account and in the queue -------------------------------
C=${MSTORE_SHARED:-$MSTORE_SRC/../shared}/corpus
if [ -d "$C" ]; then
	URL2=$(t_new_db corpus)
	D2=$T_TMP/Data2
	mkdir -p "$D2/example.com/alice"
	mst init "$URL2"; mst domain add example.com --db "$URL2"; mst account add alice@example.com --db "$URL2"
	mst account add bob@example.com --db "$URL2"
	i=0 nonempty=0
	while IFS= read -r f; do
		i=$((i + 1))
		[ -s "$f" ] && nonempty=$((nonempty + 1))
		cp "$f" "$D2/example.com/alice/corpus-$i.eml"
		# queue copies, To rewritten to a local recipient so the queue path runs
		{ printf 'To: bob@example.com\r\n'; cat "$f"; } > "$D2/corpus-$i.eml"
		printf '%s\t%s\n' "$i" "${f#"$C"/}" >> "$T_TMP/corpus-index"
	done < <(find "$C" -type f ! -name 'README*' ! -name LICENSE | sort)
	find "$D2" -type f -exec touch -d "$old" {} +
	mst sync --db "$URL2" --data "$D2" --no-progress --json "$T_TMP/c.json"; expect_ok "sync over the corpus"
	expect_eq "$(jq -r '.summary.failed' "$T_TMP/c.json")" "0" "no corpus file failed"
	expect_eq "$(jq -r '.summary.moved' "$T_TMP/c.json")" "$((i + nonempty))" "every non-empty corpus file imported (renamed to GUID names)"
	expect_eq "$(jq -r '.summary["not-imported"]' "$T_TMP/c.json")" "$((i - nonempty))" "empty corpus files refused"
	expect_eq "$(t_sql "$URL2" "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 1")" "$i" "every corpus file queued"
	expect_eq "$(t_sql "$URL2" "SELECT COUNT(DISTINCT recipientmessageid) FROM hm_messagerecipients WHERE recipientaddress = 'bob@example.com'")" "$i" "queued to bob"
	# spot checks on what was derived (From, internal date)
	row() { # row CORPUS_RELPATH COLUMN: the column of the account row for that corpus file
		local n new
		n=$(awk -F'\t' -v p="$1" '$2 == p {print $1}' "$T_TMP/corpus-index")
		new=$(jq -r --arg p "example.com/alice/corpus-$n.eml" '.files[] | select(.path == $p) | .new_path' "$T_TMP/c.json")
		t_sql "$URL2" "SELECT $2 FROM hm_messages WHERE messagefilename = '$(basename "$new")'"
	}
	check() { # check CORPUS_FILE FROM CREATED
		expect_eq "$(row "$1" messagefrom)" "$2" "$1: From"
		expect_eq "$(row "$1" messagecreatetime | cut -c1-19)" "$3" "$1: internal date"
	}
	check mail-gem-fixtures/plain_emails/basic_email.eml test@lindsaar.net "2008-11-22 04:05:05"  # first Received
	check mail-gem-fixtures/rfc2822/example01.eml jdoe@machine.example "1997-11-21 15:55:06"       # Date
	check mail-gem-fixtures/rfc2822/example03.eml john.q.public@example.com "2003-07-01 08:52:37"
	check mail-gem-fixtures/error_emails/cant_parse_from.eml News@InsideApple.Apple.com "2009-06-12 06:25:02"
	for f in $(cut -f2 "$T_TMP/corpus-index" | head -400); do
		from=$(row "$f" messagefrom)
		case "$from" in *@*|"") t_ok ;; *) t_fail "$f: From '$from' is not an address" ;; esac
	done
else
	echo "SKIPPED: the corpus part: no corpus at '$C' (set MSTORE_SHARED)" >&2
fi
t_done
