#!/usr/bin/env bash
# The mutation harness's list (tests/mutation/mutants/*.tsv), checked
# without building a mutant: every mutant's text still occurs exactly once
# in its file (a refactor that moves the text makes the mutant "stale":
# it would then test nothing), and a malformed row is refused with its
# file and line rather than read with its fields shifted (a stray tab once
# gave a mutant an empty text to find, and the harness spun forever).
. "$MSTORE_SRC/tests/lib/common.sh"
RUN=$MSTORE_SRC/tests/mutation/run.sh

# run_list ROWS: run.sh --check on a tree of its own ($T_TMP/root) holding
# one source file and ROWS as its mutant list (an argument, not a pipe:
# the last command of a pipe runs in a subshell, and T_RC would be lost)
ROOT=$T_TMP/root
mkdir -p "$ROOT/src" "$ROOT/tests/mutation/mutants"
printf 'int f(int a)\n{\n\treturn a >= 1;\n}\n' >"$ROOT/src/f.c"
run_list() {
	printf '%s\n' "$1" >"$ROOT/tests/mutation/mutants/x.tsv"
	MSTORE_MUTATION_ROOT=$ROOT timeout 60 "$RUN" --check >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
}
TAB=$'\t'

# the project's own list: none stale
MSTORE_MUTATION_ROOT=$MSTORE_SRC timeout 120 "$RUN" --check >"$T_TMP/out" 2>"$T_TMP/err"
T_RC=$?
expect_ok "every mutant's text occurs once in its file"
expect_out_contains " 0 stale" "and run.sh says so"

# a good row
run_list "$(printf 'f-ge\tsrc/f.c\tunits\ta >= 1\ta > 1\tan off-by-one\n')"
expect_ok "a well-formed row whose text occurs once"
expect_out_contains "1 mutants, 0 stale" "is counted"

# comments and blank lines are skipped; a deletion (empty replacement) is a row
run_list "$(printf '# a comment\n\nf-del\tsrc/f.c\tunits\ta >= 1\t\tthe test removed\n')"
expect_ok "a comment, a blank line and an empty replacement"

# the text gone (a refactor): stale, exit 1, named
run_list "$(printf 'f-gone\tsrc/f.c\tunits\ta > 2\ta > 1\tgone\n')"
expect_rc 1 "a row whose text no longer occurs"
expect_err_contains "stale: f-gone: the text occurs 0 times in src/f.c" "is named as stale"

# the text twice: stale too (the harness would not know which to change)
printf 'int g(int a)\n{\n\treturn a >= 1;\n}\n' >>"$ROOT/src/f.c"
run_list "$(printf 'f-twice\tsrc/f.c\tunits\ta >= 1\ta > 1\ttwice\n')"
expect_rc 1 "a row whose text occurs twice"
expect_err_contains "stale: f-twice: the text occurs 2 times" "is named as stale"

# malformed rows: refused with file:line, exit 2, and at once
for row in "${TAB}f-lead${TAB}src/f.c${TAB}units${TAB}a >= 1${TAB}a > 1${TAB}a leading tab" \
	"f-empty${TAB}src/f.c${TAB}units${TAB}${TAB}a > 1${TAB}no text to find" \
	"f-short${TAB}src/f.c${TAB}units${TAB}a >= 1" \
	"f-long${TAB}src/f.c${TAB}units${TAB}a >= 1${TAB}a > 1${TAB}what${TAB}a seventh field"; do
	run_list "$(printf '# first line\n%s' "$row")"
	expect_rc 2 "a malformed row (${row:0:8}...)"
	expect_err_contains "x.tsv:2: needs six fields" "is refused with its file and line (${row:0:8}...)"
done

# two rows with one id
run_list "$(printf 'f-a\tsrc/f.c\tunits\tint f\tint h\tx\nf-a\tsrc/f.c\tunits\tint g\tint h\ty\n')"
expect_rc 2 "two rows with one id"
expect_err_contains "duplicate mutant ids: f-a" "are refused, the id named"
t_done
