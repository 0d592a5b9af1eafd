#!/usr/bin/env bash
# Fidelity to hMailServer 5.7 (issue 11): what mstore writes is what
# hMailServer's own setup scripts and checks would write or accept.
#  - init: every default row, compared with tests/fidelity/init-rows.tsv
#  - object commands: hMailServer's validation and domain limits
#  - queue imports: messageflags 32 (Recent), as on every new row
. "$MSTORE_SRC/tests/lib/common.sh"
. "$MSTORE_SRC/tests/fidelity/dump.sh"
t_need_server

URL=$(t_new_db fidelity) || { t_fail "cannot create a test database"; t_done; }
M() { mst --db "$URL" "$@"; }
q() { t_sql "$URL" "$1"; }

# --- init: the setup scripts' rows, every column of every row --------------
mst init "$URL"; expect_ok "init"
fidelity_dump "$URL" >"$T_TMP/init-rows.tsv"
grep -v '^#' "$MSTORE_SRC/tests/fidelity/init-rows.tsv" >"$T_TMP/expected.tsv"
t_ok
diff -u "$T_TMP/expected.tsv" "$T_TMP/init-rows.tsv" >"$T_TMP/diff" ||
	t_fail "init rows differ from hMailServer's setup script: $(head -c 1500 "$T_TMP/diff")"
for want in hm_settings:114 hm_tcpipports:4 hm_securityranges:2 hm_servermessages:7 hm_dnsbl:2 \
	hm_surblservers:1 hm_blocked_attachments:14 hm_dbversion:1; do
	expect_eq "$(q "SELECT COUNT(*) FROM ${want%:*}")" "${want#*:}" "init inserts ${want#*:} rows into ${want%:*}"
done
# Spot checks that read as what hMailServer needs to work.
expect_eq "$(q "SELECT settinginteger FROM hm_settings WHERE settingname = 'maxdelivertythreads'")" "10" \
	"10 delivery threads"
expect_eq "$(q "SELECT portnumber FROM hm_tcpipports ORDER BY portid" | tr '\n' ' ')" "25 587 110 143 " \
	"SMTP, submission, POP3 and IMAP ports"
expect_eq "$(q "SELECT length(smtext) FROM hm_servermessages WHERE smname = 'VIRUS_ATTACHMENT_REMOVED'")" "115" \
	"server message holds CR LF (two bytes), not a literal backslash pair"

mst help init; expect_ok "help init"
expect_out_contains "no SQLite driver" "init help says hMailServer cannot use a SQLite store"

# --- queue imports get messageflags 32, as every new row in hMailServer ----
D=$T_TMP/Data
mkdir -p "$D"
M domain add flags.test; expect_ok "domain for the queue test"
M account add ann@flags.test; expect_ok "account for the queue test"
printf 'From: x@outside.test\r\nTo: ann@flags.test\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n' \
	>"$D/{F1A90000-0000-0000-0000-000000000001}.eml"
mkdir -p "$D/flags.test/ann/F2"
printf 'From: x@outside.test\r\nTo: ann@flags.test\r\n\r\nbody\r\n' \
	>"$D/flags.test/ann/F2/{F2A90000-0000-0000-0000-000000000002}.eml"
mst --db "$URL" --data "$D" sync --settle 0; expect_ok "sync a queue file and an account file"
expect_eq "$(q "SELECT messagetype, messageflags FROM hm_messages WHERE messagefilename = '{F1A90000-0000-0000-0000-000000000001}.eml'" | tr '\t' ' ')" \
	"1 32" "queue row has the Recent flag (32), as hMailServer writes it"
expect_eq "$(q "SELECT messagetype, messageflags FROM hm_messages WHERE messagefilename = '{F2A90000-0000-0000-0000-000000000002}.eml'" | tr '\t' ' ')" \
	"2 32" "account row has the Recent flag (32)"

t_done
