#!/usr/bin/env bash
# make-pages.sh MSTORE OUTDIR: write mstore(1) and one mstore-CMD(1) page
# per command into OUTDIR, from the program's own help text.
#
# The help text is the one description of each command (`mstore help CMD`
# prints it); the pages are rendered from it at build time so the two can
# never disagree.  The text is kept as it is (.nf: its tables are aligned by
# hand); only the usage line becomes the SYNOPSIS and the summary in
# `mstore help` becomes the NAME line.
set -euo pipefail
mstore=$1 out=$2
mkdir -p "$out"
version=$("$mstore" --version | awk '{ print $2 }')

# roff escapes: a backslash is \e, a line may not start with . or ',
# and "-" is written \- so options copy and paste as ASCII hyphens.
escape() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\&\1/"; }

# page NAME SUMMARY HELP_TEXT_FILE
page() {
	local name=$1 summary=$2 text=$3 upper
	upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
	{
		printf '.TH %s 1 "" "mstore %s" "mstore manual"\n' "$upper" "$version"
		printf '.SH NAME\n%s \\- %s\n' "$(echo "$name" | escape)" "$(echo "$summary" | escape)"
		printf '.SH SYNOPSIS\n.nf\n'
		# the usage lines: the first line and its indented continuations
		awk 'NR == 1 { sub(/^usage: /, ""); print; next } /^ / && !done { sub(/^ +/, "    "); print; next } { exit }' "$text" | escape
		printf '.fi\n.SH DESCRIPTION\n.nf\n'
		awk 'NR == 1 { next } !body && /^ / { next } { body = 1; print }' "$text" | sed '1{/^$/d}' | escape
		printf '.fi\n.SH SEE ALSO\n'
		if [ "$name" = mstore ]; then
			printf '%s\n' "$commands" | awk '{ printf "%s\\fBmstore\\-%s\\fR(1)", (NR > 1 ? ",\n" : ""), $1 } END { print "" }'
		else
			printf '\\fBmstore\\fR(1)\n'
		fi
	} > "$out/$name.1"
}

"$mstore" help > "$out/.help"
# the command table: "  NAME        SUMMARY" lines after "Commands:"
commands=$(awk '/Commands:$/ { on = 1; next } on && /^$/ && seen { exit } on && /^  [a-z]/ { seen = 1; print }' "$out/.help" |
	sed 's/^  //' | grep -v '^help ')
[ -n "$commands" ] || { echo "make-pages.sh: no command table in 'mstore help'" >&2; exit 1; }
page mstore "keep a mail store's message files and database in agreement" "$out/.help"
while read -r cmd summary; do
	"$mstore" help "$cmd" > "$out/.help"
	page "mstore-$cmd" "$summary" "$out/.help"
done <<< "$commands"
rm -f "$out/.help"
