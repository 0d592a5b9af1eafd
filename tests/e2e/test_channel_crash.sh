#!/usr/bin/env bash
# kill -9 at random moments during `mstore channel`, then rerun until it
# exits 0: the end state must equal an uninterrupted run's.  A Maildir of a
# hundred generated messages (sizes, flags, ~10% without Message-ID,
# byte-identical duplicates, "From " body lines) is synchronized with an
# hMailServer account on the backend's database and, in the sqlite run
# only (it needs no database), with an mbox directory; then both sides are
# changed (new, deleted, flags) and synchronized again, with kills.  After
# every kill nothing of what was there may be missing from both sides;
# at the end both sides hold the same messages (by content) with the same
# flags, as the uninterrupted run's do, the state file knows them all and
# a final run does nothing.  The seed is printed; MSTORE_CHANNEL_CRASH_SEED
# reruns the same kill moments (as far as timing allows).
#
# It was written to find two defects, fixed since: a killed hmailserver
# append or expunge left .eml files no row names, which a later `mstore
# sync` imports (duplicates, a deleted message back): now journaled in
# DATA/.mstore/*.inflight and removed at the next open; a killed mbox append
# left a cut message that the next run copied: now cut back by the append
# marker.  Reverting either fix makes this test fail.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server
export TZ=UTC
GEN=${MSTORE_GEN:?MSTORE_GEN not set}
SEED=${MSTORE_CHANNEL_CRASH_SEED:-$(( $(date +%s%N) % 32768 ))}
KILLS=${MSTORE_CHANNEL_CRASH_KILLS:-2}  # 2 keeps it near 30 s per backend under ASan
echo "seed $SEED (MSTORE_CHANNEL_CRASH_SEED=$SEED reproduces), $KILLS kills per run"
RANDOM=$SEED
# a dot-lock left by a killed run must not hold the rerun for a minute
export MSTORE_MBOX_LOCK_MS=20000

# --- the template Maildir: INBOX and Sub -----------------------------------------------------
tmpl=$T_TMP/tmpl
mkdir -p "$tmpl"/{cur,new,tmp} "$tmpl/.Sub"/{cur,new,tmp}
"$GEN" --seed 14 --messages 100 --domains 1 --accounts 1 --queue-percent 0 "$T_TMP/gen" >/dev/null || t_fail "generator"
flagset=("" S FS RS S DS RFS S)
# flags and box by content, so that byte-identical duplicates share both
n=0
while read -r h f; do
	n=$((n + 1))
	box=$tmpl; [ $((16#${h:0:2} % 8)) = 3 ] && box=$tmpl/.Sub
	fl=${flagset[$((16#${h:2:2} % ${#flagset[@]}))]}
	if [ -n "$fl" ]; then mv "$f" "$box/cur/$((1600000000 + n)).M${n}P1.gen:2,$fl"; else mv "$f" "$box/new/$((1600000000 + n)).M${n}P1.gen"; fi
done < <(find "$T_TMP/gen/Data" -name '*.eml' -exec sha256sum {} + | sort -k2)
# "From " lines in bodies (mboxrd quoting both ways), no final newline
printf 'From: q@example.org\nSubject: quoting\nMessage-ID: <quoting@x>\n\nFrom here on\n>From there\n>>From everywhere\n' \
	> "$tmpl/cur/1700000001.M1P1.gen:2,S"
printf 'From: q@example.org\nSubject: no id, no newline\n\nFrom a body line\nlast line' > "$tmpl/new/1700000002.M2P1.gen"
all_msgs=$(t_maildir_sig "$tmpl"; t_maildir_sig "$tmpl/.Sub")
[ "$(echo "$all_msgs" | wc -l)" -gt 90 ] || t_fail "the template has too few messages"
[ "$(echo "$all_msgs" | cut -d' ' -f1 | sort | uniq -d | wc -l)" -gt 0 ] || t_fail "the template has no duplicates"

# --- one pair of sides in a work directory ------------------------------------------------------
# setup KIND DIR: a copy of the template as DIR/md, and the other side
# (KIND mbox: DIR/mb, empty; hm: a new database and DIR/Data); writes
# DIR/conf with channel c.
setup() {
	local kind=$1 w=$2 url
	rm -rf "$w"; mkdir -p "$w"; cp -a "$tmpl" "$w/md"
	if [ "$kind" = mbox ]; then
		mkdir "$w/mb"
		printf 'store md { kind maildir path %s }\nstore mb { kind mbox path %s }\nchannel c md mb { }\n' "$w/md" "$w/mb" > "$w/conf"
	else
		url=$(t_new_db "$(echo "${w##*/}" | tr - _)") || return 1
		mkdir "$w/Data"
		mst init "$url" --data "$w/Data"; expect_ok "init $w"
		mst --db "$url" --data "$w/Data" domain add example.com; expect_ok "domain"
		mst --db "$url" --data "$w/Data" account add ann@example.com; expect_ok "account"
		echo "$url" > "$w/url"
		printf 'store md { kind maildir path %s }\nstore hm { kind hmailserver db %s data %s account ann@example.com }\nchannel c md hm { }\n' \
			"$w/md" "$url" "$w/Data" > "$w/conf"
	fi
}
ch() { local w=$1; shift; mst channel -f "$w/conf" --state-dir "$w/state" "$@" c; }
# other_sig KIND DIR BOX: the other side's messages of BOX
other_sig() {
	if [ "$1" = mbox ]; then t_mbox_sig "$2/mb/$3"; else t_hm_sig "$(cat "$2/url")" "$2/Data" ann@example.com "$3"; fi
}
md_box() { if [ "$2" = INBOX ]; then echo "$1/md"; else echo "$1/md/.$2"; fi; }
# sides KIND DIR: both sides of both boxes, labelled
sides() {
	local b
	for b in INBOX Sub; do
		t_maildir_sig "$(md_box "$2" $b)" | sed "s/^/md $b /"
		other_sig "$1" "$2" $b | sed "s/^/other $b /"
	done
}
# stray_files DIR: message files of DIR/Data that no row of the store names
stray_files() {
	comm -23 <(find "$1/Data" -name '*.eml' | sed 's|.*/||' | sort) \
		<(t_sql "$(cat "$1/url")" "SELECT messagefilename FROM hm_messages" | sed 's|.*[\\/]||' | sort)
}
hashes() { awk '{ print $3 }' | sort -u; }
# expect_sides GOT WANT LABEL: equal, or a failure that shows the difference
expect_sides() {
	if [ "$1" = "$2" ]; then t_ok; else t_fail "$3: differs from the uninterrupted run's (< got, > wanted):
$(diff <(echo "$1") <(echo "$2") | head -20)"; fi
}

# check_same SIDES LABEL: in `sides` output, both sides hold the same
# messages, each once on the other side (duplicates are not multiplied),
# with the same flags; a message twice on md is left out of the flags'
# comparison (the copy not paired is never touched, its flags neither)
check_same() {
	local b dups
	for b in INBOX Sub; do
		dups=$(echo "$1" | awk -v b=$b '$1 == "md" && $2 == b { print $3 }' | sort | uniq -d | tr '\n' ' ')
		expect_eq "$(echo "$1" | awk -v b=$b '$1 == "other" && $2 == b { print $3 }' | sort -u)" \
			"$(echo "$1" | awk -v b=$b '$1 == "md" && $2 == b { print $3 }' | sort -u)" \
			"$2: box $b: the same messages on both sides"
		expect_eq "$(echo "$1" | awk -v b=$b -v d="$dups" '$1 == "other" && $2 == b && !index(d, $3) { print $3, $4 }' | sort)" \
			"$(echo "$1" | awk -v b=$b -v d="$dups" '$1 == "md" && $2 == b && !index(d, $3) { print $3, $4 }' | sort)" \
			"$2: box $b: the same flags on both sides"
		expect_eq "$(echo "$1" | awk -v b=$b '$1 == "other" && $2 == b { print $3 }' | sort | uniq -d)" "" \
			"$2: box $b: nothing twice on the other side"
	done
}

# crash_run KIND DIR MS LABEL: run the channel, killing it KILLS times at
# random moments within MS milliseconds (the uninterrupted run's time),
# then rerun until it exits 0.  After every kill, every message of `want`
# (hashes) is still on one side at least.
crash_run() {
	local kind=$1 w=$2 ms=$3 label=$4 want=$5 k pid landed=0 tries=0
	for k in $(seq "$KILLS"); do
		MSTORE_DB_PASSWORD=${MSTORE_TEST_DB_PASSWORD:-} "$MSTORE_BIN" channel -f "$w/conf" --state-dir "$w/state" \
			c >"$T_TMP/kout" 2>&1 &
		pid=$!
		# within the first 70% of the uninterrupted run's time: a rerun has
		# less to do, and a kill after its end lands nowhere
		sleep "$(awk -v r="$RANDOM" -v t="$ms" 'BEGIN { printf "%.3f", (r / 32768) * t * 0.7 / 1000 }')"
		if kill -9 "$pid" 2>/dev/null; then landed=$((landed + 1)); fi
		wait "$pid" 2>/dev/null
		echo "$label: kill $k: exit $? at ${SECONDS}s: $(tail -1 "$T_TMP/kout")"
	done
	# (after the last kill only: a message gone from both sides stays gone,
	# and the end state's comparison sees it too)
	expect_eq "$(comm -23 <(echo "$want") <(sides "$kind" "$w" | hashes))" "" "$label: after $KILLS kills: nothing lost from both sides"
	while [ $tries -lt 3 ]; do
		tries=$((tries + 1))
		ch "$w"
		echo "$label: rerun $tries: exit $T_RC at ${SECONDS}s"
		[ "$T_RC" = 0 ] && break
		echo "$label: rerun $tries: exit $T_RC: $(t_out | tail -5)"
	done
	expect_eq "$T_RC" 0 "$label: the rerun after $landed kills completes"
	[ "$T_RC" = 0 ] || t_errout | tail -5
	total_landed=$((total_landed + landed))
}

# torn_append DIR: a kill in the middle of an mbox append's write, which a
# random kill rarely hits (a write of a small message is not cut by
# SIGKILL): the test hook, after the first message is written, adds the
# cut start of another to the mbox written last and kills mstore.  The cut
# message must never be listed: it would be copied as a new message.
torn_append() {
	local w=$1
	MSTORE_TEST_HOOK_AT=mbox-append-one \
	MSTORE_TEST_HOOK_CMD="f=\$(ls -t '$w/mb/INBOX' '$w/mb/Sub' 2>/dev/null | head -1);
		printf 'From MAILER-DAEMON Mon Jan  1 00:00:00 2024\\nFrom: cut@example.org\\nSubj' >> \"\$f\"; kill -9 \$PPID" \
		"$MSTORE_BIN" channel -f "$w/conf" --state-dir "$w/state" c >"$T_TMP/kout" 2>&1
	expect_eq "$?" 137 "mbox: the test hook killed the append"
	grep -q -F 'From: cut@example.org' "$w"/mb/* || t_fail "mbox: the torn append left no cut message"
}

# mutate KIND DIR: the same changes on both sides of DIR, chosen by
# Message-ID so that every copy of the run changes the same messages
mutate() {
	local kind=$1 w=$2 ids i id f url
	mapfile -t ids < <(grep -h '^Message-ID:' "$w"/md/cur/* "$w"/md/new/* | tr -d '\r' | sort | uniq -u | sed 's/^Message-ID: *//')
	[ "${#ids[@]}" -gt 63 ] || { t_fail "$w: only ${#ids[@]} unique Message-IDs in INBOX"; return 1; }
	md_file() { grep -l -F "Message-ID: $1" "$w"/md/cur/* "$w"/md/new/* | head -1; }
	for i in 6 12 18; do rm "$(md_file "${ids[$i]}")"; done            # deleted on md
	for i in 9 15 21 27 33; do                                          # flags changed on md
		f=$(md_file "${ids[$i]}")
		case $f in *:2,*) mv "$f" "${f%%:2,*}:2,F" ;; *) mv "$f" "$w/md/cur/${f##*/}:2,FS" ;; esac
	done
	for i in 1 2 3; do                                                   # new on md
		printf 'From: n@example.org\nSubject: new on md %s\nMessage-ID: <md-new-%s@x>\n\nbody %s\n' $i $i $i > "$w/md/new/1800000000.M${i}P9.new"
	done
	printf 'From: n@example.org\nSubject: new on md without id\n\nbody\n' > "$w/md/new/1800000000.M9P9.new"
	if [ "$kind" = mbox ]; then
		# (as a mail client that rewrites the file: every message loses its
		# Status and X-Status, so every flag is removed, and three get
		# \Seen \Answered \Flagged)
		awk -v del="${ids[36]}|${ids[42]}|${ids[48]}" -v fl="${ids[51]}|${ids[57]}|${ids[63]}" '
			function flush() { if (!drop) printf "%s", buf; buf = ""; drop = 0 }
			function has(list, v,   a, i, n) { n = split(list, a, "|"); for (i = 1; i <= n; i++) if (a[i] == v) return 1; return 0 }
			/^From [^ ]+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) / { flush(); hdr = 1; buf = $0 "\n"; next }
			hdr && $0 == "" { hdr = 0 }
			hdr && /^(Status|X-Status):/ { next }
			hdr && /^Message-ID:/ { v = $0; sub(/^Message-ID: */, "", v); if (has(del, v)) drop = 1; if (has(fl, v)) buf = buf "Status: RO\nX-Status: AF\n" }
			{ buf = buf $0 "\n" } END { flush() }' "$w/mb/INBOX" > "$w/mb/INBOX.new" && mv "$w/mb/INBOX.new" "$w/mb/INBOX"
		for i in 1 2 3; do
			printf '\nFrom x@example.org Mon Jan  1 00:00:00 2024\nFrom: x@example.org\nSubject: new on mb %s\nMessage-ID: <mb-new-%s@x>\n\nbody %s\n' \
				$i $i $i >> "$w/mb/INBOX"
		done
	else
		url=$(cat "$w/url")
		for i in 36 42 48; do                                            # deleted on hm
			f=$(grep -rl -F "Message-ID: ${ids[$i]}" "$w/Data" | head -1)
			t_sql "$url" "DELETE FROM hm_messages WHERE messagefilename = '${f##*/}'" && rm "$f"
		done
		for i in 51 57 63; do                                            # flags changed on hm: \Answered \Flagged, not \Seen
			f=$(grep -rl -F "Message-ID: ${ids[$i]}" "$w/Data" | head -1)
			t_sql "$url" "UPDATE hm_messages SET messageflags = 12 WHERE messagefilename = '${f##*/}'"
		done
		mkdir -p "$w/Data/example.com/ann/C0"                             # new on hm: delivered, imported
		for i in 1 2 3; do
			f="$w/Data/example.com/ann/C0/{C0000000-0000-0000-0000-00000000000$i}.eml"
			printf 'From: x@example.org\r\nSubject: new on hm %s\r\nMessage-ID: <hm-new-%s@x>\r\n\r\nbody %s\r\n' $i $i $i > "$f"
			touch -d '2021-03-04 05:06:07' "$f"
		done
		mst --db "$url" --data "$w/Data" sync --settle 0 --no-progress; expect_ok "$w: mstore sync imports the delivered files"
	fi
}

# scenario KIND: the reference (uninterrupted) and the killed runs, first
# sync and then a sync after changes on both sides
scenario() {
	local kind=$1 ref=$T_TMP/ref-$1 cr=$T_TMP/crash-$1 start ms want ref_sides cr_sides
	setup "$kind" "$ref"; setup "$kind" "$cr"
	start=$(date +%s%N)
	ch "$ref"; expect_ok "$kind: the uninterrupted first sync"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "$kind: the uninterrupted first sync took $ms ms"
	ref_sides=$(sides "$kind" "$ref")
	check_same "$ref_sides" "$kind: reference"
	expect_eq "$(echo "$ref_sides" | awk '$1 == "md" { print $3, $4 }' | sort)" "$(echo "$all_msgs" | sort)" \
		"$kind: reference: the Maildir as it was"
	want=$(echo "$all_msgs" | hashes)
	[ "$kind" = mbox ] && torn_append "$cr"
	crash_run "$kind" "$cr" "$ms" "$kind: first sync" "$want"
	cr_sides=$(sides "$kind" "$cr")
	expect_sides "$cr_sides" "$ref_sides" "$kind: first sync with kills: the end state"
	# a message file no row names is taken by `mstore sync` (run below, as
	# a delivery would) for a new message: a duplicate, or a deleted one back
	[ "$kind" = hm ] && expect_eq "$(stray_files "$cr")" "" "hm: after the kills, no message file without its row"

	mutate "$kind" "$ref"; mutate "$kind" "$cr"
	want=$(sides "$kind" "$cr" | hashes)
	start=$(date +%s%N)
	ch "$ref"; expect_ok "$kind: the uninterrupted sync of the changes"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	t_out | grep -q ' 3 deleted' || t_fail "$kind: reference: the deletions propagated: $(t_out)"
	ref_sides=$(sides "$kind" "$ref")
	check_same "$ref_sides" "$kind: reference after the changes"
	# what was deleted on one side is gone from both; the rest is kept
	want=$(comm -12 <(echo "$want") <(echo "$ref_sides" | hashes))
	crash_run "$kind" "$cr" "$((ms + 200))" "$kind: changes" "$want"
	cr_sides=$(sides "$kind" "$cr")
	expect_sides "$cr_sides" "$ref_sides" "$kind: changes with kills: the end state"

	# the state knows everything: a final run and the diff find nothing to do
	ch "$cr"; expect_ok "$kind: a final run"
	expect_out_contains "md: 0 copied, 0 deleted, 0 pending, 0 flags" "$kind: the final run does nothing on md"
	expect_sides "$(sides "$kind" "$cr")" "$cr_sides" "$kind: the final run changed nothing"
	mst channel -f "$cr/conf" --state-dir "$cr/state" c md; expect_ok "$kind: the diff"
	expect_out_contains "folder INBOX: 0 new on md, 0 deleted on md since the last sync" "$kind: the state names every message of INBOX"
}

total_landed=0
scenario hm
[ "$MSTORE_TEST_BACKEND" = sqlite ] && scenario mbox
[ "$total_landed" -gt 0 ] || t_fail "no kill landed while mstore ran"
echo "$total_landed kills landed"
t_done
