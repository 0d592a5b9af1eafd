#!/usr/bin/env bash
# Fidelity to hMailServer 5.7 (issue 11): what mstore writes is what
# hMailServer's own setup scripts and checks would write or accept.
#  - init: every default row, compared with tests/fidelity/init-rows.tsv
#  - object commands: hMailServer's validation and domain limits
#  - queue imports: messageflags 32 (Recent), as on every new row
#  - queue recipients as hMailServer's importer finds them (first To and
#    first CC field, its address-list parser, 25 levels, plus char at
#    position 0, routes on a 5.6 store) and messagefrom ("@" when From has
#    no usable address)
#  - internal dates: the UTC time plus the offset the server's zone has at
#    import time, in the zone of --server-tz / server_tz / the local zone
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

# --print-sql writes the same rows, quoted for the database's own client.
B=$MSTORE_TEST_BACKEND
mst init --print-sql "$B"; expect_ok "init --print-sql $B"
cp "$T_TMP/out" "$T_TMP/script.sql"
URL2=$(t_new_db printsql) || { t_fail "cannot create a second test database"; t_done; }
case "$B" in
sqlite) sqlite3 -batch -bail "${URL2#sqlite:}" <"$T_TMP/script.sql" ;;
pgsql) t_psql -d "${URL2##*/}" -f "$T_TMP/script.sql" >/dev/null ;;
mysql) t_mysql "${URL2##*/}" <"$T_TMP/script.sql" ;;
esac || t_fail "the $B client rejected the output of --print-sql"
fidelity_dump "$URL2" >"$T_TMP/script-rows.tsv"
t_ok
diff -u "$T_TMP/expected.tsv" "$T_TMP/script-rows.tsv" >"$T_TMP/diff" ||
	t_fail "rows of init --print-sql differ from hMailServer's setup script: $(head -c 1500 "$T_TMP/diff")"

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

# --- objects hMailServer refuses --------------------------------------------
# Domain names: StringParser::IsValidDomainName (ASCII labels of letters,
# digits and '-', no '-' at either end, at most 63 characters; or [a.b.c.d]).
M domain add a_b.test; expect_rc 2 "underscore in a domain"
expect_err_contains "character '_' (a label holds letters, digits and '-' only)" "underscore rule named"
M domain add x-.test; expect_rc 2 "label ending in '-'"
expect_err_contains "a label starts or ends with '-'" "hyphen rule named"
M domain add "$(printf 'a%.0s' {1..64}).test"; expect_rc 2 "64-character label"
expect_err_contains "a label is longer than 63 characters" "label length rule named"
M domain add 'x!y.test'; expect_rc 2 "punctuation in a domain"; expect_err_contains "character '!'" "character named"
M domain add '[192.0.2.1]'; expect_ok "an address literal is a domain hMailServer accepts"
M domain add '[192.0.2]'; expect_rc 2 "a broken address literal"
M domain add v.test; expect_ok "domain for the object rules"
M domain alias v.test v_alias.test; expect_rc 2 "domain alias follows the domain rule"
expect_eq "$(q "SELECT COUNT(*) FROM hm_domains WHERE domainname LIKE '%\_%' ESCAPE '!'")" "0" "no refused domain stored"

# Account local parts: IsValidAccountAddress_ refuses < > @ \ / " ? * | and
# spaces; mstore also refuses ':' (no such directory on Windows).
for bad in 'a/b' 'w?x' 'y|z' 's*t' 'c:d'; do
	M account add "$bad@v.test"; expect_rc 2 "account '$bad@v.test' refused"
	expect_err_contains "is not an account address hMailServer accepts: the local part may not contain '${bad:1:1}'" \
		"account rule names '${bad:1:1}'"
done
for bad in 'a\b' 'q"r' 'a b' '<ab>'; do
	M account add "$bad@v.test"; expect_rc 2 "account '$bad@v.test' refused"
	expect_err_contains "is not an address: it contains" "address rule for '$bad'"
done
M account add 'a_b@v.test'; expect_ok "underscore in a local part is fine (hMailServer accepts it)"
M account add "ok@a_b.test"; expect_rc 2 "account in a domain hMailServer refuses"
expect_err_contains "is not a domain name hMailServer accepts" "account domain rule named"
expect_eq "$(q "SELECT COUNT(*) FROM hm_accounts a JOIN hm_domains d ON d.domainid = a.accountdomainid WHERE d.domainname = 'v.test'")" \
	"1" "only the valid account of v.test was created"
# Aliases and lists make no directory: hMailServer checks their domain, not
# these characters (PreSaveLimitationsCheck for Alias/DistributionList).
M alias add 'a/b@v.test' a_b@v.test; expect_ok "alias with '/' in its name, as hMailServer allows"
M alias add 'al@v.test' 'x@a_b.test'; expect_rc 2 "alias target in an invalid domain"

# IDN: a Unicode domain is stored in its ACE form, the only form
# hMailServer's administrator accepts (and what SMTP carries).  Expected ACE
# forms checked with Python's idna codec, not with mstore.
M domain add 'Bücher.test'; expect_ok "Unicode domain accepted"
expect_eq "$(q "SELECT COUNT(*) FROM hm_domains WHERE domainname = 'xn--bcher-kva.test'")" "1" "stored as xn--bcher-kva.test"
M domain add 'xn--bcher-kva.test'; expect_rc 2 "the ACE form is the same domain"; expect_err_contains "already exists" "IDN duplicate"
M account add 'ann@bücher.test'; expect_ok "account typed with the Unicode domain"
expect_eq "$(q "SELECT accountaddress FROM hm_accounts WHERE accountaddress LIKE 'ann@xn--%'")" "ann@xn--bcher-kva.test" \
	"account stored with the ACE domain"
M account add 'ann@xn--bcher-kva.test'; expect_rc 2 "the same account typed in ACE form"
M account add 'bob@xn--bcher-kva.test'; expect_ok "account typed with the ACE domain"
M domain alias 'bücher.test' 'bücher-alias.test'; expect_ok "Unicode domain alias of a Unicode-typed domain"
expect_eq "$(q "SELECT daalias FROM hm_domain_aliases")" "xn--bcher-alias-thb.test" "domain alias stored in ACE form"
M list add 'team@bücher.test'; expect_ok "list in a Unicode-typed domain"
M list member 'team@bücher.test' 'x@ünï.test'; expect_ok "member of a list named with a Unicode domain"
expect_eq "$(q "SELECT distributionlistrecipientaddress FROM hm_distributionlistsrecipients")" "x@xn--n-nga1b.test" \
	"member stored with the ACE domain"
M account list --domain 'Bücher.test' --json; expect_ok "account list by the Unicode domain"
expect_eq "$(t_out | jq -r '[.[].address] | join(",")')" "ann@xn--bcher-kva.test,bob@xn--bcher-kva.test" \
	"a Unicode --domain finds the accounts stored under the ACE name"
M alias list --domain 'bücher.test' --json; expect_ok "alias list by the Unicode domain"
M list list --domain 'bücher.test' --json; expect_ok "list list by the Unicode domain"
expect_eq "$(t_out | jq -r '.[0].address')" "team@xn--bcher-kva.test" "a Unicode --domain finds the list"
# Every command that finds an account by a typed address takes the Unicode
# form too: account delete (and its check for files left in the ACE-named
# directory), folder, path, acl.
mkdir -p "$D/xn--bcher-kva.test/bob/AB"; : > "$D/xn--bcher-kva.test/bob/AB/left.eml"
M --data "$D" account delete 'bob@bücher.test'; expect_rc 2 "account delete by the Unicode address: files left in the ACE directory"
expect_err_contains "xn--bcher-kva.test/bob is not empty" "the ACE directory named"
rm -r "$D/xn--bcher-kva.test/bob"
M path 'ann@bücher.test'; expect_ok "path by the Unicode address"
expect_eq "$(t_out)" "xn--bcher-kva.test/ann" "path of the ACE directory"
M folder create 'user/ann@bücher.test/Drafts'; expect_ok "folder create by the Unicode address"
M folder create '#Public/Shared'; expect_ok "public folder"
M acl set '#Public/Shared' 'bob@bücher.test' lr; expect_ok "acl names an account by its Unicode address"
printf 'From: x@y.test\r\nSubject: idn\r\n\r\nhi\r\n' > "$T_TMP/idn.eml"
M --data "$D" deliver 'ann@bücher.test/Drafts' "$T_TMP/idn.eml"; expect_ok "deliver by the Unicode address"
M quota -u 'ann@bücher.test' -d 'Bücher.test' --json; expect_ok "quota -u/-d by the Unicode names"
expect_eq "$(t_out | jq -r '[.accounts[].account] | join(",")' 2>/dev/null)" "ann@xn--bcher-kva.test" "quota finds ann"
M account delete 'bob@bücher.test' -n; expect_ok "account delete -n by the Unicode address"
M account delete 'bob@bücher.test'; expect_ok "account delete by the Unicode address"
expect_eq "$(q "SELECT COUNT(*) FROM hm_accounts WHERE accountaddress = 'bob@xn--bcher-kva.test'")" 0 "bob deleted"
M domain add 'a‍b.test'; expect_rc 2 "a name IDNA2008 refuses (zero-width joiner)"
expect_err_contains "not a valid internationalized domain name (IDNA2008" "IDNA rule named"

# --- domain limits (PreSaveLimitationsCheck) ---------------------------------
M domain add lim.test --max-account-size 100; expect_ok "domain with a maximum account size"
M account add u1@lim.test; expect_rc 2 "account without a size in a domain that limits sizes"
expect_err_contains "so every account in it needs a size" "size-required rule named"
M account add u1@lim.test --max-size 101; expect_rc 2 "account larger than domainmaxaccountsize"
expect_err_contains "allows accounts of at most 100 MB (domainmaxaccountsize)" "account size rule named"
M account add u1@lim.test --max-size 100; expect_ok "account of the maximum size"
q "UPDATE hm_domains SET domainmaxsize = 150 WHERE domainname = 'lim.test'"
M account add u2@lim.test --max-size 60; expect_rc 2 "accounts' sizes would exceed domainmaxsize"
expect_err_contains "allows 150 MB in all (domainmaxsize); its accounts are given 100 MB, so 60 MB more does not fit" \
	"domain size rule named"
M account add u2@lim.test --max-size 50; expect_ok "account that fits domainmaxsize exactly"
q "UPDATE hm_domains SET domainmaxsize = 0, domainmaxaccountsize = 0, domainmaxnoofaccounts = 2, domainmaxnoofaliases = 1, domainmaxnoofdistributionlists = 1 WHERE domainname = 'lim.test'"
M account add u3@lim.test; expect_ok "count limits are off while domainlimitationsenabled is 0"
M alias add al1@lim.test u1@lim.test; M alias add al2@lim.test u1@lim.test; expect_ok "alias count off while disabled"
M list add l1@lim.test; expect_ok "first list"
M list add l2@lim.test; expect_rc 2 "hMailServer tests the list number even with its limit switched off"
expect_err_contains "allows at most 1 distribution lists (domainmaxnoofdistributionlists)" "list count rule named"
q "UPDATE hm_domains SET domainlimitationsenabled = 3 WHERE domainname = 'lim.test'"
M account add u4@lim.test; expect_rc 2 "account count limit"
expect_err_contains "allows at most 2 accounts (domainmaxnoofaccounts) and has 3" "account count rule named"
M alias add al3@lim.test u1@lim.test; expect_rc 2 "alias count limit"
expect_err_contains "allows at most 1 aliases (domainmaxnoofaliases)" "alias count rule named"
expect_eq "$(q "SELECT COUNT(*) FROM hm_accounts a JOIN hm_domains d ON d.domainid = a.accountdomainid WHERE d.domainname = 'lim.test'")" \
	"3" "refused accounts were not created"
expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders f JOIN hm_accounts a ON a.accountid = f.folderaccountid WHERE a.accountaddress LIKE '%@lim.test'")" \
	"3" "no INBOX from a refused account"

# A queue file's To: matches an IDN domain in the form hMailServer stores
# (ACE); a To: in Unicode form matches no local domain, in hMailServer
# (its domains are ACE only and names are compared as text) as in mstore.
printf 'From: x@outside.test\r\nTo: ann@xn--bcher-kva.test\r\n\r\nbody\r\n' >"$D/{1D100000-0000-0000-0000-000000000001}.eml"
printf 'From: x@outside.test\r\nTo: ann@b\xc3\xbccher.test\r\n\r\nbody\r\n' >"$D/{1D200000-0000-0000-0000-000000000002}.eml"
mst --db "$URL" --data "$D" sync --settle 0 --queue-only -v; expect_ok "sync the IDN queue files"
expect_eq "$(q "SELECT r.recipientaddress FROM hm_messagerecipients r JOIN hm_messages m ON m.messageid = r.recipientmessageid WHERE m.messagefilename = '{1D100000-0000-0000-0000-000000000001}.eml'")" \
	"ann@xn--bcher-kva.test" "To: in ACE form reaches the account of the IDN domain"
expect_out_contains "{1D200000-0000-0000-0000-000000000002}.eml: no local recipients" \
	"To: in Unicode form is not local, as in hMailServer"


# --- queue recipients as hMailServer's importer finds them -------------------
# MailImporter::Import reads the FIRST To and the FIRST CC field with
# AddresslistParser (cut at unquoted commas, no groups) and resolves each
# entry with RecipientParser (lRecurse 1..25, PlusAddressing).
rcpts() { # the recipient addresses of the row of file $1, sorted, comma-joined
	q "SELECT r.recipientaddress FROM hm_messagerecipients r JOIN hm_messages m ON m.messageid = r.recipientmessageid WHERE m.messagefilename = '$1' ORDER BY r.recipientaddress" |
		paste -sd, -
}
queue() { printf '%b' "$2" >"$D/{$1}.eml"; }
M domain add q.test; expect_ok "domain for the recipient tests"
for u in ann bob cy end; do M account add "$u@q.test"; expect_ok "account $u@q.test"; done
queue 0A000000-0000-0000-0000-000000000001 'From: x@outside.test\r\nTo: ann@q.test\r\nTo: bob@q.test\r\n\r\nbody\r\n'
queue 0A000000-0000-0000-0000-000000000002 'From: x@outside.test\r\nTo: Team: ann@q.test, bob@q.test;\r\nCc: cy@q.test\r\n\r\nbody\r\n'
queue 0A000000-0000-0000-0000-000000000003 'From: x@outside.test\r\nTo: ann@q.test\r\nCc: "B" <bob@q.test>\r\nCc: cy@q.test\r\n\r\nbody\r\n'
queue 0A000000-0000-0000-0000-000000000004 'From: x@outside.test\r\nTo: Team: ann@q.test, bob@q.test;\r\n\r\nbody\r\n'
queue 0A000000-0000-0000-0000-000000000005 'From: x@outside.test\r\nTo: ann@q.test (Ann), <bob@q.test>\r\n\r\nbody\r\n'
# Depth: a0 -> a1 -> ... -> a24 -> end@q.test.  To: a1 reaches the account
# at level 25 (delivered); To: a0 at level 26 (hMailServer stops there).
for i in $(seq 0 24); do
	if [ "$i" = 24 ]; then target=end@q.test; else target="a$((i + 1))@q.test"; fi
	M alias add "a$i@q.test" "$target"; [ "$T_RC" = 0 ] || t_fail "alias a$i@q.test: $(t_errout)"
done
queue 0A000000-0000-0000-0000-000000000006 'From: x@outside.test\r\nTo: a1@q.test\r\n\r\nbody\r\n'
queue 0A000000-0000-0000-0000-000000000007 'From: x@outside.test\r\nTo: a0@q.test\r\n\r\nbody\r\n'
# Plus addressing: a plus character at position 0 cuts the whole local part
# ("@p.test": nobody), so the catch-all gets it, not the account "+news".
M domain add p.test --plus-addressing + --catch-all ann@p.test; expect_ok "domain with plus addressing and a catch-all"
for u in ann bob +news; do M account add "$u@p.test"; expect_ok "account $u@p.test"; done
queue 0A000000-0000-0000-0000-000000000008 'From: x@outside.test\r\nTo: +news@p.test\r\n\r\nbody\r\n'
queue 0A000000-0000-0000-0000-000000000009 'From: x@outside.test\r\nTo: bob+tag@p.test\r\n\r\nbody\r\n'
queue 0A000000-0000-0000-0000-00000000000C 'From: x@outside.test\r\nTo: BOB+Tag@P.Test\r\n\r\nbody\r\n'
mst --db "$URL" --data "$D" sync --settle 0 --queue-only -v; expect_ok "sync the recipient cases"
expect_eq "$(rcpts '{0A000000-0000-0000-0000-000000000001}.eml')" "ann@q.test" "two To fields: only the first counts"
expect_eq "$(rcpts '{0A000000-0000-0000-0000-000000000002}.eml')" "cy@q.test" \
	"a group's members are no addresses to hMailServer; the Cc still counts"
expect_eq "$(rcpts '{0A000000-0000-0000-0000-000000000003}.eml')" "ann@q.test,bob@q.test" \
	"To and the first Cc field, not the second"
expect_out_contains "{0A000000-0000-0000-0000-000000000004}.eml: no local recipients" "a group alone delivers nothing"
expect_eq "$(rcpts '{0A000000-0000-0000-0000-000000000005}.eml')" "bob@q.test" \
	"an address with a comment after it is no address to hMailServer"
expect_eq "$(rcpts '{0A000000-0000-0000-0000-000000000006}.eml')" "end@q.test" "24 aliases: the account is level 25"
expect_out_contains "{0A000000-0000-0000-0000-000000000007}.eml: no local recipients" \
	"25 aliases: the account would be level 26, past hMailServer's limit"
expect_eq "$(rcpts '{0A000000-0000-0000-0000-000000000008}.eml')" "ann@p.test" \
	"plus char at position 0: the catch-all, not the account '+news'"
expect_eq "$(rcpts '{0A000000-0000-0000-0000-000000000009}.eml')" "bob@p.test" "plus addressing elsewhere cuts the tag"
expect_eq "$(rcpts '{0A000000-0000-0000-0000-00000000000C}.eml')" "BOB@P.Test" \
	"recipientaddress: the header's spelling after plus addressing, as hMailServer writes it"
expect_eq "$(q "SELECT r.recipientoriginaladdress FROM hm_messagerecipients r JOIN hm_messages m ON m.messageid = r.recipientmessageid WHERE m.messagefilename = '{0A000000-0000-0000-0000-000000000008}.eml'")" \
	"+news@p.test" "the original address is the header's"

# --recipients rfc5322 reads every To/Cc field and expands groups.
queue 0A000000-0000-0000-0000-00000000000A 'From: x@outside.test\r\nTo: ann@q.test\r\nTo: Team: bob@q.test;\r\nCc: cy@q.test\r\nCc: end@q.test\r\n\r\nbody\r\n'
mst --db "$URL" --data "$D" sync --settle 0 --queue-only --recipients rfc5322; expect_ok "sync with --recipients rfc5322"
expect_eq "$(rcpts '{0A000000-0000-0000-0000-00000000000A}.eml')" "ann@q.test,bob@q.test,cy@q.test,end@q.test" \
	"--recipients rfc5322: every field, group members too"
mst --db "$URL" --data "$D" sync --recipients all; expect_rc 2 "--recipients takes two words only"
mst help sync; expect_ok "help sync"
expect_out_contains "--recipients MODE" "help sync documents --recipients"

# --- messagefrom: hMailServer writes "@" when From holds no usable address --
mkdir -p "$D/q.test/ann/0B"
acct() { printf '%b' "$2" >"$D/q.test/ann/0B/{$1}.eml"; }
acct 0B000000-0000-0000-0000-000000000001 'From: MAILER-DAEMON\r\nTo: ann@q.test\r\n\r\nbody\r\n'
acct 0B000000-0000-0000-0000-000000000002 'From: Some Name\r\nTo: ann@q.test\r\n\r\nbody\r\n'
acct 0B000000-0000-0000-0000-000000000003 'From: <>\r\nTo: ann@q.test\r\n\r\nbody\r\n'
acct 0B000000-0000-0000-0000-000000000004 'To: ann@q.test\r\nSubject: no From at all\r\n\r\nbody\r\n'
acct 0B000000-0000-0000-0000-000000000005 'From: "Doe, Jane" <Jane@Example.TEST>\r\nFrom: other@x.test\r\n\r\nbody\r\n'
acct 0B000000-0000-0000-0000-000000000006 'From: jane@x.test (Jane)\r\nTo: ann@q.test\r\n\r\nbody\r\n'
acct 0B000000-0000-0000-0000-000000000007 'From: jane@x.test\r\nTo: ann@q.test\r\n\r\nbody\r\n'
queue 0A000000-0000-0000-0000-00000000000B 'From: MAILER-DAEMON\r\nTo: ann@q.test\r\n\r\nbody\r\n'
mst --db "$URL" --data "$D" sync --settle 0; expect_ok "sync the From cases"
from_of() { q "SELECT '[' || messagefrom || ']' FROM hm_messages WHERE messagefilename = '{$1}.eml'"; }
[ "$MSTORE_TEST_BACKEND" = mysql ] && from_of() { q "SELECT CONCAT('[', messagefrom, ']') FROM hm_messages WHERE messagefilename = '{$1}.eml'"; }
expect_eq "$(from_of 0B000000-0000-0000-0000-000000000001)" "[@]" "From: MAILER-DAEMON gives '@'"
expect_eq "$(from_of 0B000000-0000-0000-0000-000000000002)" "[@]" "From: a bare name gives '@'"
expect_eq "$(from_of 0B000000-0000-0000-0000-000000000003)" "[@]" "From: <> gives '@'"
expect_eq "$(from_of 0B000000-0000-0000-0000-000000000004)" "[]" "no From field gives ''"
expect_eq "$(from_of 0B000000-0000-0000-0000-000000000005)" "[Jane@Example.TEST]" \
	"first From field, quoted comma kept, address as written"
expect_eq "$(from_of 0B000000-0000-0000-0000-000000000006)" "[@]" "an address with a comment gives '@'"
expect_eq "$(from_of 0B000000-0000-0000-0000-000000000007)" "[jane@x.test]" "a plain address"
expect_eq "$(from_of 0A000000-0000-0000-0000-00000000000B)" "[@]" "a queue row's From: MAILER-DAEMON gives '@' too"

# --- a 5.6 store: a route matching the domain stops the catch-all ----------
# hMailServer 5.6 (RecipientParser, branch 5.6.9) returns after any route
# whose domain matches; 5.7 goes on to the domain's catch-all.
URL56=$(t_new_db route56) || { t_fail "cannot create the 5.6 test database"; t_done; }
D56=$T_TMP/Data56
mkdir -p "$D56"
mst init "$URL56"; expect_ok "init the route store"
mst --db "$URL56" domain add r.test --catch-all ann@r.test; expect_ok "domain with a catch-all"
mst --db "$URL56" account add ann@r.test; expect_ok "catch-all account"
mst --db "$URL56" account add bob@r.test; expect_ok "second account"
t_sql "$URL56" "INSERT INTO hm_routes (routedomainname, routedescription, routetargetsmthost, routetargetsmtport,
	routenooftries, routeminutesbetweentry, routealladdresses, routeuseauthentication, routeauthenticationusername,
	routeauthenticationpassword, routetreatsecurityaslocal, routeconnectionsecurity, routetreatsenderaslocaldomain)
	VALUES ('R.T*', 'to the old server', 'old.example', 25, 4, 15, 1, 0, '', '', 0, 0, 0)"
printf 'From: x@outside.test\r\nTo: nobody@r.test\r\n\r\nbody\r\n' >"$D56/{0C000000-0000-0000-0000-000000000001}.eml"
mst --db "$URL56" --data "$D56" sync --settle 0; expect_ok "sync on the 5.7 store"
rcpts56() { t_sql "$URL56" "SELECT r.recipientaddress FROM hm_messagerecipients r JOIN hm_messages m ON m.messageid = r.recipientmessageid WHERE m.messagefilename = '$1'" | paste -sd, -; }
expect_eq "$(rcpts56 '{0C000000-0000-0000-0000-000000000001}.eml')" "ann@r.test" "5.7: the catch-all despite the route"
t_sql "$URL56" "UPDATE hm_dbversion SET value = 5601"
printf 'From: x@outside.test\r\nTo: nobody@r.test\r\n\r\nbody\r\n' >"$D56/{0C000000-0000-0000-0000-000000000002}.eml"
printf 'From: x@outside.test\r\nTo: nobody@r.test, bob@r.test\r\n\r\nbody\r\n' >"$D56/{0C000000-0000-0000-0000-000000000003}.eml"
mst --db "$URL56" --data "$D56" sync --settle 0 -v; expect_ok "sync on the 5.6 store"
expect_out_contains "{0C000000-0000-0000-0000-000000000002}.eml: no local recipients" \
	"5.6: a route matching the domain stops the catch-all"
expect_eq "$(rcpts56 '{0C000000-0000-0000-0000-000000000003}.eml')" "bob@r.test" \
	"5.6: an existing account is found before the routes are looked at"
# --- internal dates: UTC plus the offset of the server's zone at import time -------------
# hMailServer's importer (Util/MailImporter.cpp, GetInternalDate_DatePlusTimeZone)
# adds Time::GetUTCRelationMinutes(), the offset its host has NOW, to the date's UTC
# time, whatever half of the year the message is from.  Two messages, from summer and
# winter, a Date that is no date and none at all (mstore: the file's mtime, shifted the
# same way; docs/hmailserver-compatibility.md says why not "now"), imported under two
# server zones, at a winter and a summer moment (--now pins the run's clock).
DD=$T_TMP/DatesData
mkdir -p "$DD/dates.test/ann/DA"
dated() { # dated N HEADER...
	local f; f=$DD/dates.test/ann/DA/$(printf '{DA7E%04d-0000-4000-8000-000000000000}.eml' "$1"); shift
	{ printf 'From: x@outside.test\r\n'; for h in "$@"; do printf '%s\r\n' "$h"; done; printf '\r\nbody\r\n'; } >"$f"
	touch -d '2024-12-01 10:00:00 UTC' "$f"
}
dated 1 'Date: Tue, 15 Jul 2025 12:00:00 +0000'
dated 2 'Date: Wed, 15 Jan 2025 12:00:00 +0000'
dated 3 'Date: yesterday at noon'
dated 4
WINTER=$(date -d '2025-01-20 00:00:00 UTC' +%s)
SUMMER=$(date -d '2025-07-20 00:00:00 UTC' +%s)
created_all() { # the four internal dates, in file order
	for n in 1 2 3 4; do
		t_sql "$1" "SELECT messagecreatetime FROM hm_messages WHERE messagefilename = '$(printf '{DA7E%04d-0000-4000-8000-000000000000}.eml' $n)'" | cut -c1-19
	done | tr '\n' '|'
}
dates_run() { # dates_run LABEL WANT OPTIONS...: a fresh store, one sync, the four dates
	local label=$1 want=$2 u; shift 2
	u=$(t_new_db "dates") || { t_fail "cannot create a database for $label"; return; }
	mst init "$u" >/dev/null && mst --db "$u" domain add dates.test >/dev/null &&
		mst --db "$u" account add ann@dates.test >/dev/null || t_fail "$label: store setup"
	mst --db "$u" --data "$DD" sync --no-progress "$@"; expect_ok "$label: sync"
	expect_eq "$(created_all "$u")" "$want" "$label: summer, winter, bad Date, no Date"
}
dates_run "Berlin, imported in winter" \
	"2025-07-15 13:00:00|2025-01-15 13:00:00|2024-12-01 11:00:00|2024-12-01 11:00:00|" \
	--server-tz Europe/Berlin --now "$WINTER"
dates_run "Berlin, imported in summer" \
	"2025-07-15 14:00:00|2025-01-15 14:00:00|2024-12-01 12:00:00|2024-12-01 12:00:00|" \
	--server-tz Europe/Berlin --now "$SUMMER"
dates_run "New York, imported in winter" \
	"2025-07-15 07:00:00|2025-01-15 07:00:00|2024-12-01 05:00:00|2024-12-01 05:00:00|" \
	--server-tz America/New_York --now "$WINTER"
dates_run "New York, imported in summer" \
	"2025-07-15 08:00:00|2025-01-15 08:00:00|2024-12-01 06:00:00|2024-12-01 06:00:00|" \
	--server-tz America/New_York --now "$SUMMER"
# Without --server-tz: the local zone ($TZ), by the same rule.
TZ=Europe/Berlin dates_run "local zone Berlin, imported in winter" \
	"2025-07-15 13:00:00|2025-01-15 13:00:00|2024-12-01 11:00:00|2024-12-01 11:00:00|" --now "$WINTER"
# server_tz of the config file; --server-tz replaces it.
printf 'server_tz = Asia/Tokyo\n' >"$T_TMP/tz.conf"
dates_run "server_tz Asia/Tokyo from the config file" \
	"2025-07-15 21:00:00|2025-01-15 21:00:00|2024-12-01 19:00:00|2024-12-01 19:00:00|" \
	--config "$T_TMP/tz.conf" --now "$WINTER"
dates_run "--server-tz replaces the config file's" \
	"2025-07-15 13:00:00|2025-01-15 13:00:00|2024-12-01 11:00:00|2024-12-01 11:00:00|" \
	--config "$T_TMP/tz.conf" --server-tz Europe/Berlin --now "$WINTER"
# The zone also gives the local times of new objects (the INBOX's creation time).
mst --db "$URL" account add tz@flags.test --server-tz Pacific/Kiritimati; expect_ok "account add with --server-tz"
want=$(TZ=Pacific/Kiritimati date '+%Y-%m-%d %H')
got=$(q "SELECT f.foldercreationtime FROM hm_imapfolders f JOIN hm_accounts a ON a.accountid = f.folderaccountid WHERE a.accountaddress = 'tz@flags.test'" | cut -c1-13)
# (the hour may turn between the two clocks: one retry of the expectation)
[ "$got" = "$want" ] || want=$(TZ=Pacific/Kiritimati date '+%Y-%m-%d %H')
expect_eq "$got" "$want" "INBOX creation time in the server's zone (UTC+14)"
# A zone that does not exist is refused, never taken silently as UTC.
mst --db "$URL" --data "$DD" sync --server-tz Europe/Berlinn; expect_rc 2 "unknown --server-tz"
expect_err_contains "--server-tz: 'Europe/Berlinn' is not a time zone" "the message names the option and the zone"
mst --db "$URL" --data "$DD" sync --server-tz ../../etc/passwd; expect_rc 2 "a path as --server-tz"
printf 'server_tz = Mars/Olympus\n' >"$T_TMP/badtz.conf"
mst --db "$URL" --data "$DD" sync --config "$T_TMP/badtz.conf"; expect_rc 3 "unknown server_tz in the config file"
expect_err_contains "badtz.conf:1: server_tz 'Mars/Olympus'" "the message names the file and the line"

t_done
