#!/usr/bin/env bash
# The manual pages: one per command `mstore help` names, plus mstore(1);
# each renders without a groff warning and carries the command's usage
# line and every option its help text lists.
. "$MSTORE_SRC/tests/lib/common.sh"
: "${MSTORE_MAN_DIR:?MSTORE_MAN_DIR not set}"
command -v groff >/dev/null || { echo "FAIL: groff is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }

commands=$("$MSTORE_BIN" help | awk '/Commands:$/ { on = 1; next } on && /^$/ && seen { exit } on && /^  [a-z]/ { seen = 1; print $1 }' | grep -vx help)
expect_eq "$(cd "$MSTORE_MAN_DIR" && ls -- *.1 | sort)" "$( (echo mstore.1; for c in $commands; do echo "mstore-$c.1"; done) | sort)" \
	"a page for each command (man/meson.build lists them)"

# render PAGE: the page as plain text, hyphens as typed
render() { groff -man -Tutf8 -P-cbou -ww "$1" 2>"$T_TMP/groff.err" | sed 's/‐/-/g; s/−/-/g'; }
for c in mstore $commands; do
	page=$MSTORE_MAN_DIR/$([ "$c" = mstore ] && echo mstore || echo "mstore-$c").1
	text=$(render "$page")
	t_ok
	[ -s "$T_TMP/groff.err" ] && t_fail "$page: groff warns: $(head -3 "$T_TMP/groff.err")"
	if [ "$c" = mstore ]; then help=$("$MSTORE_BIN" help); else help=$("$MSTORE_BIN" help "$c"); fi
	usage=$(echo "$help" | head -1 | sed 's/^usage: //')
	t_ok
	grep -qF -- "$usage" <<<"$text" || t_fail "$page: lacks the usage line '$usage'"
	for opt in $(echo "$help" | grep -oE '(^|[[:space:]])--[a-z][a-z-]+' | sort -u); do
		t_ok
		grep -qF -- "$opt" <<<"$text" || t_fail "$page: lacks $opt"
	done
done
grep -qF 'mstore-sync(1)' <<<"$(render "$MSTORE_MAN_DIR/mstore.1")" || t_fail "mstore(1) does not point to mstore-sync(1)"
t_ok
t_done
