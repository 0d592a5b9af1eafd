#!/usr/bin/env bash
# A concurrent writer: while `mstore channel` runs again and again, an MDA
# appends to the mbox (under the dot-lock, with dotlockfile from
# liblockfile-bin, as procmail and Dovecot's LDA lock) and delivers into
# the Maildir (tmp/ then a rename into new/).  Once the writer stopped, a
# rerun: every delivered message is on both sides exactly once, and the
# mbox parses cleanly (as many "From " lines as messages, each message
# whole).  Maildir <-> hMailServer on the backend's database (the MDA
# delivers into the Maildir); Maildir <-> mbox in the sqlite run only.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
command -v dotlockfile >/dev/null || { t_fail "dotlockfile is missing (scripts/install-deps.sh --test installs liblockfile-bin)"; t_done; }
N=${MSTORE_WRITER_MESSAGES:-25}   # per side the MDA writes to (25: the suite's time budget)

W=$T_TMP/w
mkdir -p "$W/md"/{cur,new,tmp} "$W/mb"
for i in $(seq 20); do
	printf 'From: a@example.org\nSubject: old %s\nMessage-ID: <old-%s@x>\n\nold body %s\n' "$i" "$i" "$i" > "$W/md/cur/1600000000.M${i}P1.h:2,S"
done
printf 'From: a@example.org\nSubject: old without id\n\nno id\n' > "$W/md/new/1600000000.M99P1.h"

# deliver_md I: as an MDA delivers into a Maildir
deliver_md() {
	local f=$((1700000000 + $1)).M$1P$$.$TAG
	printf 'From: mda@example.org\nSubject: md %s\nMessage-ID: <%s-md-%s@mda>\n\nbody of md %s\n' "$1" "$TAG" "$1" "$1" > "$W/md/tmp/$f"
	mv "$W/md/tmp/$f" "$W/md/new/$f"
}
# deliver_mb I: as an MDA appends to an mbox: the dot-lock held around the write
deliver_mb() {
	dotlockfile -l -r 100 "$W/mb/INBOX.lock" sh -c '
		f=$1; i=$2
		{ [ -s "$f" ] && printf "\n"
		  printf "From mda@example.org Mon Jan  1 00:00:00 2024\nFrom: mda@example.org\nSubject: mb %s\nMessage-ID: <mb-%s@mda>\n\n>From the MDA, quoted\nbody of mb %s\n" "$i" "$i" "$i"; } >> "$f"' \
		sh "$W/mb/INBOX" "$1" || echo "dotlockfile failed for mb $1" >&2
}
writer() { # writer SIDES: N messages to each side named, a few ms apart
	local i
	for i in $(seq "$N"); do
		case $1 in *md*) deliver_md "$i" ;; esac
		case $1 in *mb*) deliver_mb "$i" ;; esac
		sleep "0.0$((RANDOM % 5))"
	done
}

# race CONF SIDES LABEL: the channel runs while the writer writes; then the rerun
race() {
	local conf=$1 label=$3 wpid runs=0
	writer "$2" 2>"$T_TMP/writer.err" &
	wpid=$!
	while kill -0 "$wpid" 2>/dev/null; do
		mst channel -f "$conf" --state-dir "$W/state" c
		runs=$((runs + 1))
		# 1 (a box left for the next run: "the mbox changed under us") is fine while the MDA writes
		[ "$T_RC" -le 1 ] || t_fail "$label: run $runs during the writer: exit $T_RC: $(t_errout | tail -3)"
	done
	wait "$wpid"
	expect_eq "$(cat "$T_TMP/writer.err")" "" "$label: the MDA delivered every message"
	echo "$label: $runs runs while the MDA wrote"
	[ "$runs" -gt 1 ] || t_fail "$label: the channel ran only $runs times beside the writer"
	mst channel -f "$conf" --state-dir "$W/state" c; expect_ok "$label: the rerun after the writer stopped"
	mst channel -f "$conf" --state-dir "$W/state" c; expect_ok "$label: a second rerun"
	expect_out_contains "0 copied, 0 deleted, 0 pending, 0 flags" "$label: the second rerun has nothing to do"
}

# md_ids: the Maildir's Message-ID lines, sorted
md_ids() { cat "$W/md"/cur/* "$W/md"/new/* | grep -h '^Message-ID:' | sort; }

# --- Maildir <-> hMailServer: the MDA delivers into the Maildir --------------------------------
URL=$(t_new_db writer)
mkdir "$W/Data"
mst init "$URL" --data "$W/Data"; expect_ok "init"
mst --db "$URL" --data "$W/Data" domain add example.com; expect_ok "domain"
mst --db "$URL" --data "$W/Data" account add ann@example.com; expect_ok "account"
printf 'store md { kind maildir path %s }\nstore hm { kind hmailserver db %s data %s account ann@example.com }\nchannel c md hm { }\n' \
	"$W/md" "$URL" "$W/Data" > "$W/conf-hm"
TAG=h race "$W/conf-hm" md "hm"
expect_eq "$(md_ids | grep -c '<h-md-.*@mda>')" "$N" "hm: every delivered message in the Maildir once"
md_sig=$(t_maildir_sig "$W/md")
expect_eq "$(t_hm_sig "$URL" "$W/Data" ann@example.com INBOX)" "$md_sig" "hm: the account holds the Maildir's messages, flags equal"

# --- Maildir <-> mbox: the MDA writes to both ----------------------------------------------------
if [ "$MSTORE_TEST_BACKEND" = sqlite ]; then
	rm -rf "$W/state"
	printf 'store md { kind maildir path %s }\nstore mb { kind mbox path %s }\nchannel c md mb { }\n' "$W/md" "$W/mb" > "$W/conf-mb"
	TAG=m race "$W/conf-mb" md+mb "mbox"
	expect_eq "$(md_ids | grep -c '<mb-.*@mda>')" "$N" "mbox: every message delivered to the mbox is in the Maildir once"
	expect_eq "$(grep -c '^Message-ID: <mb-.*@mda>' "$W/mb/INBOX")" "$N" "mbox: every message delivered to the mbox is there once"
	expect_eq "$(grep -c '^Message-ID: <[hm]-md-.*@mda>' "$W/mb/INBOX")" "$((2 * N))" "mbox: each message delivered to the Maildir is in the mbox once"
	# the mbox parses cleanly: one "From " line per message, each message whole
	total=$(grep -c '^From ' "$W/mb/INBOX")
	expect_eq "$total" "$(($(grep -c '^Message-ID:' "$W/mb/INBOX") + 1))" "mbox: one From line per message (all but one have a Message-ID)"
	expect_eq "$(awk '/^From / { if (n) print n; n = 0 } /^Subject: / { n++ } END { print n }' "$W/mb/INBOX" | sort -u)" "1" \
		"mbox: every message has exactly one Subject (none split, none merged)"
	expect_eq "$(grep -c '^>From the MDA, quoted$' "$W/mb/INBOX")" "$N" "mbox: the MDA's quoted From lines intact"
	expect_eq "$(t_mbox_sig "$W/mb/INBOX" | sort -u)" "$(t_maildir_sig "$W/md" | sort -u)" "mbox: the same messages on both sides, flags equal"
	expect_eq "$total" "$((3 * N + 21))" "mbox: the Maildir's 21 and 2N, the MDA's N"
fi
t_done
