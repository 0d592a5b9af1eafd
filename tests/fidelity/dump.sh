# fidelity_dump URL: every row of the tables hMailServer's setup scripts
# fill, one line per row "TABLE<TAB>id<TAB>col...", in primary key order.
# Text is escaped (\\ \r \n \t) and NULL is written NULL, the same on every
# database, so the dump diffs against tests/fidelity/init-rows.tsv.
fidelity_dump() {
	local url=$1 cast=TEXT bs='\' cr='char(13)' lf='char(10)' tab='char(9)'
	case "$url" in
	postgresql://*) cr='chr(13)' lf='chr(10)' tab='chr(9)' ;;
	mysql://*) cast=CHAR bs='\\' ;;
	esac
	# Text column: escape the backslash first, then CR, LF and tab.
	t() { echo "replace(replace(replace(replace($1, '$bs', '$bs$bs'), $cr, '${bs}r'), $lf, '${bs}n'), $tab, '${bs}t')"; }
	# Any column that may be NULL.
	n() { echo "CASE WHEN $1 IS NULL THEN 'NULL' ELSE CAST($1 AS $cast) END"; }
	local q
	while read -r table key cols; do
		q="SELECT '$table', $key"
		for c in $cols; do
			case $c in
			t:*) q+=", $(t "${c#t:}")" ;;
			n:*) q+=", $(n "${c#n:}")" ;;
			*) q+=", $c" ;;
			esac
		done
		t_sql "$url" "$q FROM $table ORDER BY $key"
	done <<-'TABLES'
	hm_securityranges rangeid rangepriorityid rangelowerip1 n:rangelowerip2 rangeupperip1 n:rangeupperip2 rangeoptions t:rangename rangeexpires rangeexpirestime
	hm_servermessages smid t:smname t:smtext
	hm_dnsbl sblid sblactive t:sbldnshost t:sblresult t:sblrejectmessage sblscore
	hm_surblservers surblid surblactive t:surblhost t:surblrejectmessage surblscore
	hm_blocked_attachments baid t:bawildcard t:badescription
	hm_settings settingid t:settingname t:settingstring settinginteger
	hm_tcpipports portid portprotocol portnumber portaddress1 n:portaddress2 portconnectionsecurity portsslcertificateid
	hm_dbversion value
	TABLES
}
