# shellcheck shell=bash
# bench/lib.sh - shell helpers shared by the bench scripts (sourced).
# mailsync gets mbox files where the others get a Maildir: Debian's
# c-client has no Maildir driver (it lists a Maildir's files as mailboxes).

# bench_store NAME: a new SQLite store for bench/NAME.sh, with the domain
# example.com.  Sets MS ($BUILD/mstore, which must be built), W (a
# temporary directory, removed at exit), DB, S (the store's flags for
# every command) and MSTORE_CONFIG=/dev/null (no user's config changes a
# figure).
bench_store() {
	MS=$BUILD/mstore
	[ -x "$MS" ] || { echo "no $MS: meson setup $BUILD --buildtype=release && ninja -C $BUILD" >&2; exit 2; }
	W=$(mktemp -d "${TMPDIR:-/tmp}/mstore-$1-bench.XXXXXX")
	trap 'rm -rf "$W"' EXIT
	export MSTORE_CONFIG=/dev/null
	DB=$W/store.db
	S=(--db "sqlite:$DB" --data "$W/Data" --server-tz UTC)
	mkdir -p "$W/Data"
	"$MS" init "sqlite:$DB" >/dev/null
	"$MS" domain add example.com "${S[@]}" >/dev/null
}

# mbox_of MAILDIR... : the messages of each Maildir as one mbox on stdout
# (LF line ends, mboxrd "From " quoting, a blank line between messages)
mbox_of() {
	local d
	for d in "$@"; do find "$d/cur" "$d/new" -type f | LC_ALL=C sort; done | xargs -r awk '
		FNR == 1 { if (NR > 1) print ""; print "From bench@example.com Thu Jan  1 00:00:00 2026" }
		{ sub(/\r$/, ""); if ($0 ~ /^>*From /) $0 = ">" $0; print }'
}
# mbox_tree MAILDIR_TREE OUTDIR: the same tree as one mbox file per folder
mbox_tree() {
	mkdir -p "$2"
	local f
	for f in "$1"/*/; do f=${f%/}; mbox_of "$f" > "$2/${f##*/}"; done
}
md_count() { find "$1" -path '*/cur/*' -type f -o -path '*/new/*' -type f | wc -l; }
# c-client puts a "folder internal data" message first in an mbox it makes
mb_count() { cat "$1"/* 2>/dev/null | awk '/^From / { n++ } /^Subject: DON.T DELETE THIS MESSAGE/ { n-- } END { print n + 0 }'; }

# change_side DIR NEWDIR K: 1% of the messages of a local side deleted
# (every 100th, from an offset of run K's own) and the messages of the
# generated Maildir NEWDIR/INBOX added to its INBOX.  DIR is a Maildir
# tree (a folder per directory) or a directory of mbox files.
change_side() {
	local dir=$1 gen_dir=$2 k=$3 f
	if [ -d "$dir/INBOX/cur" ]; then
		find "$dir" -path '*/cur/*' -type f | LC_ALL=C sort | awk -v k="$k" 'NR % 100 == k % 100' | xargs -r rm -f
		mv "$gen_dir/INBOX/cur"/* "$dir/INBOX/cur/" 2>/dev/null || true
		mv "$gen_dir/INBOX/new"/* "$dir/INBOX/new/" 2>/dev/null || true
	else
		for f in "$dir"/*; do
			awk -v k="$k" '/^From / { n++ } n % 100 != k % 100 || n == 0' "$f" > "$f.tmp"
			mv "$f.tmp" "$f"
		done
		{ [ -s "$dir/INBOX" ] && echo; mbox_of "$gen_dir/INBOX"; } >> "$dir/INBOX"
	fi
}
