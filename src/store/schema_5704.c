/* schema_5704.c - the hMailServer 5.7 schema (hm_dbversion 5704) as data.
 *
 * Transcribed, as facts, from hMailServer's setup scripts of the 5.7 line
 * (CreateTablesPGSQL.sql, CreateTablesMYSQL.sql): the same tables, columns,
 * order of columns, types, nullability, defaults, keys, unique constraints
 * and indexes.  The default rows those scripts insert (settings, server
 * messages, IP ranges, ports) are described in init_rows.c.
 * schema_ddl.c renders this for each database; tests/schema holds the
 * catalogs it must produce, derived independently from the scripts.
 */
#include "store/schema.h"
#include "store/schema_internal.h"

/* Column shorthands.  Extra designated initializers (a flag, a default)
 * follow the mandatory arguments. */
#define ID(n) { .name = n, .type = MS_COL_INT, .flags = MS_COL_IDENTITY }
#define BIGID(n) { .name = n, .type = MS_COL_BIGINT, .flags = MS_COL_IDENTITY }
#define SMALL(n, ...) { .name = n, .type = MS_COL_SMALL, __VA_ARGS__ }
#define INT(n, ...) { .name = n, .type = MS_COL_INT, __VA_ARGS__ }
#define BIGINT(n, ...) { .name = n, .type = MS_COL_BIGINT, __VA_ARGS__ }
#define VARCHAR(n, len, ...) { .name = n, .type = MS_COL_VARCHAR, .length = len, __VA_ARGS__ }
#define TEXT(n) { .name = n, .type = MS_COL_TEXT }
#define TIMESTAMP(n, ...) { .name = n, .type = MS_COL_TIMESTAMP, __VA_ARGS__ }

#define NULLABLE .flags = MS_COL_NULLABLE
#define UNIQUE .flags = MS_COL_UNIQUE
#define MYSQL_UNSIGNED .flags = MS_COL_MYSQL_UNSIGNED

#define INDEX(n, ...) { .name = n, .unique = false, .columns = { __VA_ARGS__ } }
#define UNIQUE_INDEX(n, ...) { .name = n, .unique = true, .columns = { __VA_ARGS__ } }

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define TABLE(n, cols, ...) { .name = n, .columns = cols, .ncolumns = COUNT(cols), __VA_ARGS__ }
#define INDEXES(idx) .indexes = idx, .nindexes = COUNT(idx)

const char *const ms_schema_tables[] = {
	"hm_accounts", "hm_aliases", "hm_domains", "hm_domain_aliases", "hm_messages",
	"hm_message_metadata", "hm_settings", "hm_dbversion", "hm_distributionlists",
	"hm_distributionlistsrecipients", "hm_messagerecipients", "hm_imapfolders", "hm_routes",
	"hm_routeaddresses", "hm_securityranges", "hm_dnsbl", "hm_fetchaccounts",
	"hm_fetchaccounts_uids", "hm_rules", "hm_rule_criterias", "hm_rule_actions",
	"hm_surblservers", "hm_greylisting_triplets", "hm_greylisting_whiteaddresses",
	"hm_blocked_attachments", "hm_servermessages", "hm_tcpipports", "hm_whitelist",
	"hm_sslcertificates", "hm_groups", "hm_group_members", "hm_acl", "hm_incoming_relays",
	"hm_logon_failures", NULL,
};

static const ms_column accounts[] = {
	ID("accountid"),
	INT("accountdomainid"),
	SMALL("accountadminlevel"),
	VARCHAR("accountaddress", 255, UNIQUE),
	VARCHAR("accountpassword", 255),
	SMALL("accountactive"),
	SMALL("accountisad"),
	VARCHAR("accountaddomain", 255),
	VARCHAR("accountadusername", 255),
	INT("accountmaxsize"),
	SMALL("accountvacationmessageon"),
	TEXT("accountvacationmessage"),
	VARCHAR("accountvacationsubject", 200),
	SMALL("accountpwencryption"),
	SMALL("accountforwardenabled"),
	VARCHAR("accountforwardaddress", 255),
	SMALL("accountforwardkeeporiginal"),
	SMALL("accountenablesignature"),
	TEXT("accountsignatureplaintext"),
	TEXT("accountsignaturehtml"),
	TIMESTAMP("accountlastlogontime"),
	SMALL("accountvacationexpires", MYSQL_UNSIGNED),
	TIMESTAMP("accountvacationexpiredate"),
	VARCHAR("accountpersonfirstname", 60),
	VARCHAR("accountpersonlastname", 60),
};
static const ms_index accounts_idx[] = {
	INDEX("idx_hm_accounts", "accountaddress"),
};

static const ms_column aliases[] = {
	ID("aliasid"),
	INT("aliasdomainid"),
	VARCHAR("aliasname", 255, UNIQUE),
	VARCHAR("aliasvalue", 255),
	SMALL("aliasactive"),
};
static const ms_index aliases_idx[] = {
	INDEX("idx_hm_aliases", "aliasdomainid", "aliasname"),
};

static const ms_column domains[] = {
	ID("domainid"),
	VARCHAR("domainname", 80, UNIQUE),
	SMALL("domainactive"),
	VARCHAR("domainpostmaster", 80),
	INT("domainmaxsize"),
	VARCHAR("domainaddomain", 255),
	INT("domainmaxmessagesize"),
	SMALL("domainuseplusaddressing"),
	VARCHAR("domainplusaddressingchar", 1),
	INT("domainantispamoptions"),
	SMALL("domainenablesignature"),
	SMALL("domainsignaturemethod"),
	TEXT("domainsignatureplaintext"),
	TEXT("domainsignaturehtml"),
	SMALL("domainaddsignaturestoreplies"),
	SMALL("domainaddsignaturestolocalemail"),
	INT("domainmaxnoofaccounts"),
	INT("domainmaxnoofaliases"),
	INT("domainmaxnoofdistributionlists"),
	INT("domainlimitationsenabled"),
	INT("domainmaxaccountsize"),
	VARCHAR("domaindkimselector", 255),
	VARCHAR("domaindkimprivatekeyfile", 255),
};
static const ms_index domains_idx[] = {
	INDEX("idx_hm_domains", "domainname"),
};

static const ms_column domain_aliases[] = {
	ID("daid"),
	INT("dadomainid"),
	VARCHAR("daalias", 255),
};

static const ms_column messages[] = {
	BIGID("messageid"),
	INT("messageaccountid"),
	INT("messagefolderid", .default_sql = "0"),
	VARCHAR("messagefilename", 255),
	SMALL("messagetype"),
	VARCHAR("messagefrom", 255),
	BIGINT("messagesize"),
	INT("messagecurnooftries"),
	TIMESTAMP("messagenexttrytime"),
	SMALL("messageflags"),
	TIMESTAMP("messagecreatetime"),
	SMALL("messagelocked"),
	BIGINT("messageuid"),
};
static const ms_index messages_idx[] = {
	INDEX("idx_hm_messages", "messageaccountid", "messagefolderid"),
	INDEX("idx_hm_messages_type", "messagetype"),
};

static const ms_column message_metadata[] = {
	BIGID("metadata_id"),
	INT("metadata_accountid"),
	INT("metadata_folderid"),
	BIGINT("metadata_messageid"),
	TIMESTAMP("metadata_dateutc", NULLABLE),
	VARCHAR("metadata_from", 255),
	VARCHAR("metadata_subject", 255),
	VARCHAR("metadata_to", 255),
	VARCHAR("metadata_cc", 255),
};
static const ms_index message_metadata_idx[] = {
	UNIQUE_INDEX("idx_message_metadata_unique",
	             "metadata_accountid", "metadata_folderid", "metadata_messageid"),
	INDEX("idx_message_metadata_id", "metadata_messageid"),
};

static const ms_column settings[] = {
	ID("settingid"),
	VARCHAR("settingname", 30, UNIQUE),
	VARCHAR("settingstring", 4000),
	INT("settinginteger"),
};

static const ms_column dbversion[] = {
	INT("value"),
};

static const ms_column distributionlists[] = {
	ID("distributionlistid"),
	INT("distributionlistdomainid"),
	VARCHAR("distributionlistaddress", 255, UNIQUE),
	SMALL("distributionlistenabled"),
	SMALL("distributionlistrequireauth"),
	VARCHAR("distributionlistrequireaddress", 255),
	SMALL("distributionlistmode"),
};
static const ms_index distributionlists_idx[] = {
	INDEX("idx_hm_distributionlists", "distributionlistdomainid"),
};

static const ms_column distributionlistsrecipients[] = {
	ID("distributionlistrecipientid"),
	INT("distributionlistrecipientlistid"),
	VARCHAR("distributionlistrecipientaddress", 255, NULLABLE),
};
static const ms_index distributionlistsrecipients_idx[] = {
	INDEX("idx_hm_distributionlistsrecipients", "distributionlistrecipientlistid"),
};

static const ms_column messagerecipients[] = {
	BIGID("recipientid"),
	BIGINT("recipientmessageid"),
	VARCHAR("recipientaddress", 255),
	INT("recipientlocalaccountid"),
	VARCHAR("recipientoriginaladdress", 255),
};
static const ms_index messagerecipients_idx[] = {
	INDEX("idx_hm_messagerecipients", "recipientmessageid"),
};

static const ms_column imapfolders[] = {
	ID("folderid"),
	INT("folderaccountid", MYSQL_UNSIGNED),
	INT("folderparentid"),
	VARCHAR("foldername", 255),
	SMALL("folderissubscribed", MYSQL_UNSIGNED),
	TIMESTAMP("foldercreationtime"),
	BIGINT("foldercurrentuid"),
};
static const ms_index imapfolders_idx[] = {
	INDEX("idx_hm_imapfolders", "folderaccountid"),
	UNIQUE_INDEX("idx_hm_imapfolders_unique", "folderaccountid", "folderparentid", "foldername"),
};

static const ms_column routes[] = {
	ID("routeid"),
	VARCHAR("routedomainname", 255),
	VARCHAR("routedescription", 255),
	VARCHAR("routetargetsmthost", 255),
	INT("routetargetsmtport"),
	INT("routenooftries"),
	INT("routeminutesbetweentry"),
	SMALL("routealladdresses", MYSQL_UNSIGNED),
	SMALL("routeuseauthentication"),
	VARCHAR("routeauthenticationusername", 255),
	VARCHAR("routeauthenticationpassword", 255),
	SMALL("routetreatsecurityaslocal"),
	SMALL("routeconnectionsecurity"),
	SMALL("routetreatsenderaslocaldomain"),
};

static const ms_column routeaddresses[] = {
	/* MySQL script: mediumint(9); PostgreSQL: bigserial like the others. */
	{ .name = "routeaddressid", .type = MS_COL_MEDIUM, .flags = MS_COL_IDENTITY },
	INT("routeaddressrouteid"),
	VARCHAR("routeaddressaddress", 255),
};

static const ms_column securityranges[] = {
	ID("rangeid"),
	INT("rangepriorityid"),
	BIGINT("rangelowerip1"),
	BIGINT("rangelowerip2", NULLABLE),
	BIGINT("rangeupperip1"),
	BIGINT("rangeupperip2", NULLABLE),
	INT("rangeoptions"),
	VARCHAR("rangename", 100, UNIQUE),
	SMALL("rangeexpires"),
	TIMESTAMP("rangeexpirestime"),
};

static const ms_column dnsbl[] = {
	ID("sblid"),
	SMALL("sblactive"),
	VARCHAR("sbldnshost", 255),
	VARCHAR("sblresult", 255),
	VARCHAR("sblrejectmessage", 255),
	INT("sblscore"),
};

static const ms_column fetchaccounts[] = {
	ID("faid"),
	SMALL("faactive"),
	INT("faaccountid"),
	VARCHAR("faaccountname", 255),
	VARCHAR("faserveraddress", 255),
	INT("faserverport"),
	SMALL("faservertype"),
	VARCHAR("fausername", 255),
	VARCHAR("fapassword", 255),
	INT("faminutes"),
	TIMESTAMP("fanexttry"),
	INT("fadaystokeep"),
	SMALL("falocked"),
	SMALL("faprocessmimerecipients"),
	SMALL("faprocessmimedate"),
	SMALL("faconnectionsecurity"),
	SMALL("fauseantispam"),
	SMALL("fauseantivirus"),
	SMALL("faenablerouterecipients"),
	VARCHAR("famimerecipientheaders", 255, .default_sql = "'To,CC,X-RCPT-TO,X-Envelope-To'"),
};

static const ms_column fetchaccounts_uids[] = {
	ID("uidid"),
	INT("uidfaid"),
	VARCHAR("uidvalue", 255),
	TIMESTAMP("uidtime"),
};
static const ms_index fetchaccounts_uids_idx[] = {
	INDEX("idx_hm_fetchaccounts_uids", "uidfaid"),
};

static const ms_column rules[] = {
	ID("ruleid"),
	INT("ruleaccountid"),
	VARCHAR("rulename", 100),
	SMALL("ruleactive"),
	SMALL("ruleuseand"),
	INT("rulesortorder"),
};
static const ms_index rules_idx[] = {
	INDEX("idx_rules", "ruleaccountid"),
};

static const ms_column rule_criterias[] = {
	ID("criteriaid"),
	INT("criteriaruleid"),
	SMALL("criteriausepredefined"),
	SMALL("criteriapredefinedfield"),
	VARCHAR("criteriaheadername", 255),
	SMALL("criteriamatchtype"),
	VARCHAR("criteriamatchvalue", 255),
};
static const ms_index rule_criterias_idx[] = {
	INDEX("idx_rules_criterias", "criteriaruleid"),
};

static const ms_column rule_actions[] = {
	ID("actionid"),
	INT("actionruleid"),
	SMALL("actiontype"),
	VARCHAR("actionimapfolder", 255),
	VARCHAR("actionsubject", 255),
	VARCHAR("actionfromname", 255),
	VARCHAR("actionfromaddress", 255),
	VARCHAR("actionto", 255),
	TEXT("actionbody"),
	VARCHAR("actionfilename", 255),
	INT("actionsortorder"),
	VARCHAR("actionscriptfunction", 255),
	VARCHAR("actionheader", 80),
	VARCHAR("actionvalue", 255),
	INT("actionrouteid"),
};
static const ms_index rule_actions_idx[] = {
	INDEX("idx_rules_actions", "actionruleid"),
};

static const ms_column surblservers[] = {
	ID("surblid"),
	SMALL("surblactive"),
	VARCHAR("surblhost", 255),
	VARCHAR("surblrejectmessage", 255),
	INT("surblscore"),
};

static const ms_column greylisting_triplets[] = {
	BIGID("glid"),
	TIMESTAMP("glcreatetime"),
	TIMESTAMP("glblockendtime"),
	TIMESTAMP("gldeletetime"),
	BIGINT("glipaddress1"),
	BIGINT("glipaddress2", NULLABLE),
	/* 200 characters in the PostgreSQL script, 255 in the MySQL one. */
	VARCHAR("glsenderaddress", 200, .mysql_length = 255),
	VARCHAR("glrecipientaddress", 200, .mysql_length = 255),
	INT("glblockedcount"),
	INT("glpassedcount"),
};
static const ms_index greylisting_triplets_idx[] = {
	/* MySQL script: the two addresses are indexed by their first 40
	 * characters. */
	{ .name = "idx_greylisting_triplets", .unique = false,
	  .columns = { "glipaddress1", "glipaddress2", "glsenderaddress", "glrecipientaddress" },
	  .mysql_prefix = { 0, 0, 40, 40 } },
};

static const ms_column greylisting_whiteaddresses[] = {
	BIGID("whiteid"),
	VARCHAR("whiteipaddress", 255),
	VARCHAR("whiteipdescription", 255),
};

static const ms_column blocked_attachments[] = {
	BIGID("baid"),
	VARCHAR("bawildcard", 255),
	VARCHAR("badescription", 255),
};

static const ms_column servermessages[] = {
	ID("smid"),
	VARCHAR("smname", 255),
	TEXT("smtext"),
};

static const ms_column tcpipports[] = {
	BIGID("portid"),
	SMALL("portprotocol"),
	INT("portnumber"),
	BIGINT("portaddress1"),
	BIGINT("portaddress2", NULLABLE),
	SMALL("portconnectionsecurity"),
	BIGINT("portsslcertificateid"),
};

static const ms_column whitelist[] = {
	BIGID("whiteid"),
	BIGINT("whiteloweripaddress1"),
	BIGINT("whiteloweripaddress2", NULLABLE),
	BIGINT("whiteupperipaddress1"),
	BIGINT("whiteupperipaddress2", NULLABLE),
	VARCHAR("whiteemailaddress", 255),
	VARCHAR("whitedescription", 255),
};

static const ms_column sslcertificates[] = {
	BIGID("sslcertificateid"),
	VARCHAR("sslcertificatename", 255),
	VARCHAR("sslcertificatefile", 255),
	VARCHAR("sslprivatekeyfile", 255),
};

static const ms_column groups[] = {
	BIGID("groupid"),
	VARCHAR("groupname", 255, NULLABLE),
};

static const ms_column group_members[] = {
	BIGID("memberid"),
	BIGINT("membergroupid"),
	BIGINT("memberaccountid"),
};

static const ms_column acl[] = {
	BIGID("aclid"),
	BIGINT("aclsharefolderid"),
	SMALL("aclpermissiontype"),
	BIGINT("aclpermissiongroupid"),
	BIGINT("aclpermissionaccountid"),
	BIGINT("aclvalue"),
};
static const char *const acl_unique[] = {
	"aclsharefolderid", "aclpermissiontype", "aclpermissiongroupid", "aclpermissionaccountid", NULL,
};

static const ms_column incoming_relays[] = {
	/* PostgreSQL script: serial (32 bits), where every other table has bigserial. */
	{ .name = "relayid", .type = MS_COL_INT, .flags = MS_COL_IDENTITY | MS_COL_PG_SERIAL },
	VARCHAR("relayname", 100),
	BIGINT("relaylowerip1"),
	BIGINT("relaylowerip2", NULLABLE),
	BIGINT("relayupperip1"),
	BIGINT("relayupperip2", NULLABLE),
};

static const ms_column logon_failures[] = {
	BIGINT("ipaddress1"),
	BIGINT("ipaddress2", NULLABLE),
	TIMESTAMP("failuretime"),
};
static const ms_index logon_failures_idx[] = {
	INDEX("idx_hm_logon_failures_ipaddress", "ipaddress1", "ipaddress2"),
	INDEX("idx_hm_logon_failures_failuretime", "failuretime"),
};

const ms_table ms_schema_5704[] = {
	TABLE("hm_accounts", accounts, INDEXES(accounts_idx)),
	TABLE("hm_aliases", aliases, INDEXES(aliases_idx)),
	TABLE("hm_domains", domains, INDEXES(domains_idx)),
	TABLE("hm_domain_aliases", domain_aliases),
	TABLE("hm_messages", messages, INDEXES(messages_idx)),
	TABLE("hm_message_metadata", message_metadata, INDEXES(message_metadata_idx),
	      .flags = MS_TBL_MYSQL_NO_UNIQUE_PK),
	TABLE("hm_settings", settings),
	TABLE("hm_dbversion", dbversion),
	TABLE("hm_distributionlists", distributionlists, INDEXES(distributionlists_idx)),
	TABLE("hm_distributionlistsrecipients", distributionlistsrecipients,
	      INDEXES(distributionlistsrecipients_idx), .flags = MS_TBL_MYSQL_DATABASE_CHARSET),
	TABLE("hm_messagerecipients", messagerecipients, INDEXES(messagerecipients_idx)),
	TABLE("hm_imapfolders", imapfolders, INDEXES(imapfolders_idx)),
	TABLE("hm_routes", routes),
	TABLE("hm_routeaddresses", routeaddresses),
	TABLE("hm_securityranges", securityranges),
	TABLE("hm_dnsbl", dnsbl),
	TABLE("hm_fetchaccounts", fetchaccounts),
	TABLE("hm_fetchaccounts_uids", fetchaccounts_uids, INDEXES(fetchaccounts_uids_idx)),
	TABLE("hm_rules", rules, INDEXES(rules_idx)),
	TABLE("hm_rule_criterias", rule_criterias, INDEXES(rule_criterias_idx)),
	TABLE("hm_rule_actions", rule_actions, INDEXES(rule_actions_idx)),
	TABLE("hm_surblservers", surblservers),
	TABLE("hm_greylisting_triplets", greylisting_triplets, INDEXES(greylisting_triplets_idx)),
	TABLE("hm_greylisting_whiteaddresses", greylisting_whiteaddresses),
	TABLE("hm_blocked_attachments", blocked_attachments),
	TABLE("hm_servermessages", servermessages),
	TABLE("hm_tcpipports", tcpipports),
	TABLE("hm_whitelist", whitelist),
	TABLE("hm_sslcertificates", sslcertificates),
	TABLE("hm_groups", groups),
	TABLE("hm_group_members", group_members),
	TABLE("hm_acl", acl, .unique_columns = acl_unique),
	TABLE("hm_incoming_relays", incoming_relays),
	TABLE("hm_logon_failures", logon_failures, INDEXES(logon_failures_idx)),
};

const size_t ms_schema_5704_count = COUNT(ms_schema_5704);
