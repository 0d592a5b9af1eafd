#!/usr/bin/env bash
# The mutation harness: plant one plausible bug at a time, rebuild, run the
# tests that should notice, and count how many bugs the suite catches.
#
# usage: tests/mutation/run.sh [-o OUTDIR] [-t SECONDS] [-k] [ID-PATTERN...]
#        tests/mutation/run.sh --smoke      (the ten mutants CI runs)
#        tests/mutation/run.sh --check      (every mutant's text is found once)
#
# Mutants are listed in tests/mutation/mutants/*.tsv, one a line:
#   ID <TAB> FILE <TAB> TESTS <TAB> FIND <TAB> REPLACE <TAB> WHAT-BUG-IT-MODELS
# FIND must occur exactly once in FILE (a mutant whose text is gone after a
# refactor is reported as "stale", never silently skipped).  In FIND and
# REPLACE, \t \n and \\ stand for a tab, a newline and a backslash.  TESTS is
# a comma-separated list of meson test names (unit tests: their module name,
# e2e: NAME-sqlite) or suite:NAME.  Lines starting with # are comments.
#
# The harness works on a copy of the working tree (uncommitted tests count)
# in OUTDIR (default /tmp/mstore-mutation), built once without sanitizers
# (speed; a memory bug that needs ASan to be seen is not what this counts),
# then each mutant: apply, ninja, the TESTS one by one in their order (the
# first failure kills the mutant: list the likeliest killer first), each
# with a timeout (default 300 s), restore.  Results: OUTDIR/results.tsv and a Markdown table on
# stdout (killed / survived / timeout / nobuild / stale, and the score:
# killed+timeout over all that built).  Exit 0 unless a mutant is stale or,
# with -k, unless every mutant was killed.
#
# Only SQLite end-to-end tests are meant as TESTS: the harness starts no
# database servers.
set -uo pipefail
# MSTORE_MUTATION_ROOT: the tree to mutate, when this script runs from a
# copy (bash reads a script as it goes: editing it mid-run breaks the run)
root=${MSTORE_MUTATION_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$root/tests/mutation
out=/tmp/mstore-mutation
tmo=300
require_all=0
smoke=0
check_only=0
patterns=()
while [ $# -gt 0 ]; do
	case "$1" in
	-o) out=$2; shift 2 ;;
	-t) tmo=$2; shift 2 ;;
	-k) require_all=1; shift ;;
	--smoke) smoke=1; shift ;;
	--check) check_only=1; shift ;;
	-h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) patterns+=("$1"); shift ;;
	esac
done

# The smoke set: ten mutants over different modules, each killed by fast
# tests; CI runs it so the harness itself keeps working.
# (Two reconstruct mutants, a minute each under the e2e tests, gave way
# to a channel and a driver mutant killed by unit tests in seconds: CI's
# hour is shared by many more tests now.)
smoke_ids=(folders-uidcap-ge rc-guard-ge5 chan-md5-tab-kept drv-md-info-other
	hdr-received-first-semicolon addr-catchall-inactive ini-trailing-space
	walk-symlink-followed layout-xx-lower cfg-order)
[ "$smoke" = 1 ] && { patterns=("${smoke_ids[@]}"); require_all=1; }

# ---- read the mutant list ------------------------------------------------
unescape() { perl -e 'my $s = shift; $s =~ s/\\(\\|t|n)/$1 eq "t" ? "\t" : $1 eq "n" ? "\n" : "\\"/ge; print $s' -- "$1"; }
declare -a M_ID M_FILE M_TESTS M_FIND M_REPL M_BUG
matches() {
	[ ${#patterns[@]} -eq 0 ] && return 0
	local p; for p in "${patterns[@]}"; do [[ $1 == $p ]] && return 0; done
	return 1
}
for list in "$here"/mutants/*.tsv; do
	lineno=0
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		case "$line" in ''|'#'*) continue ;; esac
		# tab is whitespace to read (runs of it collapse): split on \x1f
		IFS=$'\x1f' read -r id file tests find repl bug <<<"${line//$'\t'/$'\x1f'}"
		# an empty field (a stray tab) would make an empty text to find,
		# which occurs everywhere: count_in would never end
		if [ -z "$id" ] || [ -z "$file" ] || [ -z "$tests" ] || [ -z "$find" ] || [ -z "${bug:-}" ] ||
		   [[ $bug == *$'\x1f'* ]]; then
			echo "run.sh: $list:$lineno: needs six fields, one tab between each two, none empty but the replacement" >&2; exit 2
		fi
		matches "$id" || continue
		M_ID+=("$id"); M_FILE+=("$file"); M_TESTS+=("$tests")
		M_FIND+=("$(unescape "$find")"); M_REPL+=("$(unescape "$repl")"); M_BUG+=("$bug")
	done < "$list"
done
n=${#M_ID[@]}
if [ "$n" -eq 0 ]; then echo "run.sh: no mutant matches" >&2; exit 2; fi
if [ "$smoke" = 1 ] && [ "$n" -ne ${#smoke_ids[@]} ]; then
	echo "run.sh: the smoke set names ${#smoke_ids[@]} mutants, $n exist" >&2; exit 2
fi
dups=$(printf '%s\n' "${M_ID[@]}" | sort | uniq -d)
if [ -n "$dups" ]; then echo "run.sh: duplicate mutant ids: $dups" >&2; exit 2; fi

# count_in FILE TEXT: how many times TEXT occurs in FILE.
count_in() { perl -0777 -ne 'BEGIN { $t = shift; die "count_in: an empty text\n" if $t eq "" } my $c = 0; my $p = 0; while (($p = index($_, $t, $p)) >= 0) { $c++; $p += length $t } print $c' -- "$2" "$1"; }
# apply FILE FIND REPLACE: replace the one occurrence.
apply() { perl -0777 -i -pe 'BEGIN { $f = shift; $r = shift } my $p = index($_, $f); substr($_, $p, length $f) = $r if $p >= 0' -- "$2" "$3" "$1"; }

stale=0
for ((i = 0; i < n; i++)); do
	f=$root/${M_FILE[$i]}
	c=0; [ -f "$f" ] && c=$(count_in "$f" "${M_FIND[$i]}")
	if [ "$c" != 1 ]; then
		echo "stale: ${M_ID[$i]}: the text occurs $c times in ${M_FILE[$i]}" >&2
		stale=$((stale + 1))
	fi
done
if [ "$check_only" = 1 ]; then
	echo "$n mutants, $stale stale"
	[ "$stale" -eq 0 ]; exit
fi

# ---- the copy and its build ------------------------------------------------
mkdir -p "$out"
src=$out/src build=$out/build
rm -rf "$src"; mkdir -p "$src"
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$src" 2>/dev/null)
if [ ! -f "$build/build.ninja" ] || ! grep -q "$src" "$build/build.ninja" 2>/dev/null; then
	rm -rf "$build"
	meson setup "$build" "$src" -Dtests=enabled > "$out/setup.log" 2>&1 ||
		meson setup "$build" "$src" > "$out/setup.log" 2>&1 ||
		{ cat "$out/setup.log" >&2; echo "run.sh: meson setup failed" >&2; exit 2; }
fi
if ! ninja -C "$build" > "$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2; echo "run.sh: the unmutated tree does not build" >&2; exit 2
fi

test_args() {
	local t a=()
	IFS=',' read -ra ts <<<"$1"
	for t in "${ts[@]}"; do
		case "$t" in suite:*) a+=(--suite "${t#suite:}") ;; *) a+=("$t") ;; esac
	done
	printf '%s\n' "${a[@]}"
}
run_tests() { # run_tests TESTS [SECONDS]
	local args; mapfile -t args < <(test_args "$1")
	timeout -k 10 "${2:-$tmo}" meson test -C "$build" --no-rebuild --num-processes 2 \
		--logbase "mut" "${args[@]}" > "$out/test.log" 2>&1
}

# Every test a mutant names must exist: meson quietly runs nothing for an
# unknown name, which would make every mutant "survive" or, worse, pass.
known=$(meson test -C "$build" --no-rebuild --list 2>/dev/null | sed -n 's/^[^ ]* \/ //p')
missing=0
for t in $(printf '%s\n' "${M_TESTS[@]}" | tr ',' '\n' | sort -u); do
	case "$t" in suite:*) continue ;; esac
	grep -qxF "$t" <<<"$known" || { echo "run.sh: no test named $t" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 2

# The unmutated tree must pass every test the mutants name, or a "kill"
# would mean nothing.
all_tests=$(printf '%s\n' "${M_TESTS[@]}" | tr ',' '\n' | sort -u | paste -sd, -)
if ! run_tests "$all_tests" $((tmo * 10)); then  # every test at once: more time
	tail -30 "$out/test.log" >&2
	echo "run.sh: the unmutated tree fails the tests the mutants use ($all_tests)" >&2; exit 2
fi

# ---- each mutant ------------------------------------------------------------
results=$out/results.tsv
: > "$results"
killed=0 survived=0 timedout=0 nobuild=0
for ((i = 0; i < n; i++)); do
	id=${M_ID[$i]} file=$src/${M_FILE[$i]}
	if [ ! -f "$file" ] || [ "$(count_in "$file" "${M_FIND[$i]}")" != 1 ]; then
		printf '%s\tstale\t%s\n' "$id" "${M_BUG[$i]}" >> "$results"; continue
	fi
	cp -p "$file" "$out/orig"
	apply "$file" "${M_FIND[$i]}" "${M_REPL[$i]}"
	start=$SECONDS
	if ! ninja -C "$build" > "$out/build.log" 2>&1; then
		r=nobuild; nobuild=$((nobuild + 1))
	else
		# one test at a time, in the order listed: the first that fails
		# kills the mutant and the rest need not run
		rc=0
		IFS=',' read -ra one <<<"${M_TESTS[$i]}"
		for t in "${one[@]}"; do
			run_tests "$t"; rc=$?
			[ $rc -ne 0 ] && break
		done
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then r=timeout; timedout=$((timedout + 1))
		elif [ $rc -ne 0 ]; then r=killed; killed=$((killed + 1))
		else r=survived; survived=$((survived + 1)); fi
	fi
	cp -p "$out/orig" "$file"; touch "$file"
	printf '%s\t%s\t%s\n' "$id" "$r" "${M_BUG[$i]}" >> "$results"
	printf '%3d/%d %-40s %-9s %3ds\n' $((i + 1)) "$n" "$id" "$r" $((SECONDS - start)) >&2
done
ninja -C "$build" > /dev/null 2>&1

built=$((killed + survived + timedout))
score=0; [ "$built" -gt 0 ] && score=$(( (killed + timedout) * 1000 / built ))
echo "| result | count |"
echo "|---|---|"
echo "| killed | $killed |"
echo "| timed out | $timedout |"
echo "| survived | $survived |"
echo "| did not build | $nobuild |"
echo "| stale | $stale |"
printf '\nscore: %d of %d built mutants killed: %d.%d%%\n' $((killed + timedout)) "$built" $((score / 10)) $((score % 10))
if [ "$survived" -gt 0 ]; then
	echo; echo "survivors:"
	awk -F'\t' '$2 == "survived" { printf "- %s: %s\n", $1, $3 }' "$results"
fi
[ "$stale" -eq 0 ] || exit 1
[ "$require_all" = 1 ] && [ "$survived" -gt 0 ] && exit 1
exit 0
