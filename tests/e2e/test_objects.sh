#!/usr/bin/env bash
# Domains, domain aliases, accounts (with INBOX), aliases and distribution
# lists: creation, listing (text and --json), and every bad-input error.
. "$MSTORE_SRC/tests/lib/common.sh"
t_need_server

URL=$(t_new_db objects) || { t_fail "cannot create a test database"; t_done; }
mst init "$URL"; expect_ok "init"
M() { mst --db "$URL" "$@"; }
q() { t_sql "$URL" "$1"; }

# --- domains ---------------------------------------------------------------
M domain add Example.COM; expect_ok "domain add"
expect_eq "$(q "SELECT domainname FROM hm_domains")" "example.com" "domain stored in lower case"
expect_eq "$(q "SELECT domainactive FROM hm_domains WHERE domainname='example.com'")" "1" "domain active by default"
M domain add other.org --catch-all postmaster@other.org --plus-addressing + --max-size 100; expect_ok "domain add with options"
expect_eq "$(q "SELECT domainpostmaster FROM hm_domains WHERE domainname='other.org'")" "postmaster@other.org" "catch-all stored"
expect_eq "$(q "SELECT domainuseplusaddressing FROM hm_domains WHERE domainname='other.org'")" "1" "plus addressing on"
expect_eq "$(q "SELECT domainmaxsize FROM hm_domains WHERE domainname='other.org'")" "100" "max size stored"
M domain add idle.net --inactive; expect_ok "inactive domain"
expect_eq "$(q "SELECT domainactive FROM hm_domains WHERE domainname='idle.net'")" "0" "inactive stored"

M domain add EXAMPLE.com; expect_rc 2 "duplicate domain (case-insensitive)"; expect_err_contains "already exists" "duplicate domain message"
M domain add "bad domain"; expect_rc 2 "domain with a space"; expect_err_contains "not a domain name" "bad domain message"
M domain add "x'); DROP TABLE hm_accounts; --"; expect_rc 2 "SQL in a domain name is refused as a bad name"
M domain add ""; expect_rc 2 "empty domain"
M domain add a..b; expect_rc 2 "empty label"
M domain add other.org --plus-addressing ab; expect_rc 2 "two-character plus char"
M domain add new.org --max-size -5; expect_rc 2 "negative size"
M domain add; expect_rc 2 "domain add without a name"

M domain alias example.com example.net; expect_ok "domain alias"
expect_eq "$(q "SELECT daalias FROM hm_domain_aliases")" "example.net" "domain alias stored"
M domain alias nosuch.com alias.com; expect_rc 2 "alias of an unknown domain"; expect_err_contains "does not exist" "unknown domain message"
M domain alias other.org example.net; expect_rc 2 "alias name already an alias"
M domain alias other.org example.com; expect_rc 2 "alias name already a domain"

M domain list; expect_ok "domain list"
expect_out_contains "example.com" "domain list shows example.com"
expect_out_contains "example.net" "domain list shows the alias"
M domain list --json; expect_ok "domain list --json"
expect_eq "$(t_out | jq -r '[.[].name] | join(",")')" "example.com,idle.net,other.org" "json domain names sorted"
expect_eq "$(t_out | jq -r '.[] | select(.name=="example.com") | .aliases[0]')" "example.net" "json aliases"
expect_eq "$(t_out | jq -r '.[] | select(.name=="other.org") | .catch_all')" "postmaster@other.org" "json catch-all"
expect_eq "$(t_out | jq -r '.[] | select(.name=="idle.net") | .active')" "false" "json inactive"

# --- accounts ---------------------------------------------------------------
M account add alice@Example.com; expect_ok "account add"
expect_eq "$(q "SELECT accountaddress FROM hm_accounts")" "alice@example.com" "account stored, domain lowered"
aid=$(q "SELECT accountid FROM hm_accounts WHERE accountaddress='alice@example.com'")
expect_eq "$(q "SELECT foldername, folderparentid, foldercurrentuid, folderissubscribed FROM hm_imapfolders WHERE folderaccountid=$aid" | tr '\t' ' ')" \
	"INBOX -1 0 1" "account has its INBOX row"
did=$(q "SELECT domainid FROM hm_domains WHERE domainname='example.com'")
expect_eq "$(q "SELECT accountdomainid FROM hm_accounts WHERE accountid=$aid")" "$did" "account linked to its domain"
M account add "o'brien@example.com" --max-size 250; expect_ok "quote in a local part is stored as data"
expect_eq "$(q "SELECT accountmaxsize FROM hm_accounts WHERE accountaddress='o''brien@example.com'")" "250" "quoted local part round-trips"
M account add bob@other.org --inactive --max-size 50; expect_ok "inactive account (sized: other.org has a domain size limit)"
expect_eq "$(q "SELECT accountactive FROM hm_accounts WHERE accountaddress='bob@other.org'")" "0" "inactive account stored"

M account add alice.example.com; expect_rc 2 "address without @"; expect_err_contains "no '@'" "no @ message"
M account add a@b@example.com; expect_rc 2 "two @"
M account add @example.com; expect_rc 2 "empty local part"
M account add "al ice@example.com"; expect_rc 2 "space in address"
M account add carol@nosuch.org; expect_rc 2 "unknown domain"; expect_err_contains "domain 'nosuch.org' does not exist" "unknown domain names it"
M account add ALICE@example.com; expect_rc 2 "duplicate account"; expect_err_contains "already exists as an account" "duplicate account message"
M account add alice@example.com --max-size lots; expect_rc 2 "bad max size"
expect_eq "$(q "SELECT COUNT(*) FROM hm_accounts")" "3" "no account row added by failed commands"
expect_eq "$(q "SELECT COUNT(*) FROM hm_imapfolders")" "3" "one INBOX per account, none from failures"

M account list; expect_ok "account list"
expect_out_contains "alice@example.com" "account list shows alice"
M account list --json; expect_ok "account list --json"
expect_eq "$(t_out | jq -r '[.[].address] | join(",")')" "alice@example.com,bob@other.org,o'brien@example.com" "json accounts"
expect_eq "$(t_out | jq -r '.[] | select(.address=="alice@example.com") | .inbox_folder_id > 0')" "true" "json INBOX id"
M account list --domain other.org --json; expect_ok "account list --domain"
expect_eq "$(t_out | jq -r 'length')" "1" "domain filter"

# --- aliases ----------------------------------------------------------------
M alias add info@example.com alice@example.com; expect_ok "alias add"
expect_eq "$(q "SELECT aliasvalue FROM hm_aliases WHERE aliasname='info@example.com'")" "alice@example.com" "alias stored"
M alias add sales@example.com someone@external.test --inactive; expect_ok "alias to external, inactive"
M alias add alice@example.com bob@other.org; expect_rc 2 "alias over an account"; expect_err_contains "already exists as an account" "alias/account conflict"
M alias add info@example.com bob@other.org; expect_rc 2 "duplicate alias"
M alias add x@nosuch.org alice@example.com; expect_rc 2 "alias in unknown domain"
M alias add y@example.com not-an-address; expect_rc 2 "alias target without @"
M alias add self@example.com SELF@example.com; expect_rc 2 "alias pointing at itself"
M alias list --json; expect_ok "alias list --json"
expect_eq "$(t_out | jq -r '.[] | select(.address=="info@example.com") | .target')" "alice@example.com" "json alias target"
expect_eq "$(t_out | jq -r '.[] | select(.address=="sales@example.com") | .active')" "false" "json alias inactive"

# --- distribution lists -----------------------------------------------------
M list add team@example.com; expect_ok "list add"
M list member team@example.com alice@example.com friend@external.test; expect_ok "list members"
M list member team@example.com ALICE@example.com; expect_rc 2 "duplicate member"; expect_err_contains "already a member" "duplicate member message"
M list member nolist@example.com alice@example.com; expect_rc 2 "unknown list"
M list member team@example.com nonsense; expect_rc 2 "member without @"
M list add team@example.com; expect_rc 2 "duplicate list"
M list add info@example.com; expect_rc 2 "list over an alias"; expect_err_contains "already exists as an alias" "list/alias conflict"
M account add team@example.com; expect_rc 2 "account over a list"; expect_err_contains "distribution list" "account/list conflict"
M list list --json; expect_ok "list list --json"
expect_eq "$(t_out | jq -r '.[0].members | join(",")')" "alice@example.com,friend@external.test" "json list members"
expect_eq "$(t_out | jq -r '.[0].enabled')" "true" "list enabled"
M list list; expect_ok "list list"; expect_out_contains "team@example.com" "text list"

# --- info --------------------------------------------------------------------
M info --json; expect_ok "info"
expect_eq "$(t_out | jq -r '.schema_version')" "5704" "info schema version"
expect_eq "$(t_out | jq -r '.accounts')" "3" "info accounts"
expect_eq "$(t_out | jq -r '.domains')" "3" "info domains"
expect_eq "$(t_out | jq -r '.distribution_lists')" "1" "info lists"

# --- boundaries and second cases (after the counts above) ---------------------
# A domain name has at most 80 characters and no empty label, not at either
# end either; a plus addressing character is exactly one character.
d80=$(printf 'a%.0s' $(seq 1 60)).$(printf 'a%.0s' $(seq 1 15)).org   # labels of at most 63
M domain add "$d80"; expect_ok "domain name of exactly 80 characters"
M domain add "b$d80"; expect_rc 2 "domain name of 81 characters"
M domain add trailing.org.; expect_rc 2 "domain name ending in a dot"
M domain add .leading.org; expect_rc 2 "domain name starting with a dot"
M domain add plusless.org --plus-addressing ''; expect_rc 2 "empty plus addressing character"
# An address has at most 255 characters and no ';'.
M account add "$(printf 'l%.0s' $(seq 1 251))@$d80" ; expect_rc 2 "address of 336 characters"
M account add "$(printf 'l%.0s' $(seq 1 243))@example.com"; expect_ok "address of exactly 255 characters"
M account add "$(printf 'l%.0s' $(seq 1 244))@example.com"; expect_rc 2 "address of 256 characters"
M account add "semi;colon@example.com"; expect_rc 2 "';' in an address"
# Every time mstore writes is local time, as hMailServer writes it (a zone
# far from UTC shows the difference).
TZ=XYZ-5 M account add tz@example.com; expect_ok "account add in another time zone"
created=$(q "SELECT f.foldercreationtime FROM hm_imapfolders f JOIN hm_accounts a ON a.accountid = f.folderaccountid WHERE a.accountaddress = 'tz@example.com'")
skew=$(( $(TZ=XYZ-5 date -d "${created%%.*}" +%s) - $(date +%s) ))
[ "${skew#-}" -lt 600 ] && t_ok || t_fail "INBOX creation time '$created' is not local time (off by ${skew}s)"
# A list added --disabled is disabled.
M list add quiet@example.com --disabled; expect_ok "disabled list"
M list list --json; expect_ok "list list --json (disabled)"
expect_eq "$(t_out | jq -r '.[] | select(.address=="quiet@example.com") | .enabled')" "false" "list disabled"

# Operand counts, each verb on both sides of its limit: one too many is a
# usage error, never quietly ignored (and nothing is written).
M domain list extra; expect_rc 2 "domain list takes no operand"
M account list extra; expect_rc 2 "account list takes no operand"
M alias add one@example.com; expect_rc 2 "alias add wants ADDRESS and TARGET"
n=$(t_sql "$URL" "SELECT COUNT(*) FROM hm_accounts")
M account add x1@example.com x2@example.com; expect_rc 2 "account add takes one address"
expect_err_contains "expected one address" "account add: says what it expected"
expect_eq "$(t_sql "$URL" "SELECT COUNT(*) FROM hm_accounts")" "$n" "account add with two operands added nothing"
M list member quiet@example.com; expect_rc 2 "list member wants at least one member"

t_done
