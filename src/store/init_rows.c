/* init_rows.c - the rows hMailServer 5.7's setup scripts insert, as data.
 *
 * Transcribed, as facts, from hMailServer's CreateTablesMYSQL.sql (master
 * 4d11f81d1, DB 5704, lines 498-786; CreateTablesPGSQL.sql inserts the
 * same rows): 2 IP ranges, 7 server messages, 2 DNS blacklists, 1 SURBL
 * server, 14 blocked attachments, 114 settings and 4 TCP/IP ports, in the
 * scripts' order, so every identity value is the one the script gives.
 * Without them hMailServer starts on the store but cannot work: no
 * delivery threads, no listeners, no IP range for any client, and its
 * administrator cannot save a setting (it only UPDATEs existing rows).
 *
 * Two spellings are normalised, on purpose:
 * - rangeexpirestime '2001-01-01' is written '2001-01-01 00:00:00', the
 *   value MySQL and PostgreSQL store for it (SQLite keeps text as given);
 * - the server messages hold CR LF on every database.  The PostgreSQL
 *   script writes VIRUS_ATTACHMENT_REMOVED without E'' quoting, so on a
 *   server with standard_conforming_strings (the default since 9.1) it
 *   stores the four characters \r\n literally; the MySQL and MSSQL scripts
 *   (and the other PostgreSQL rows) mean CR LF.  docs/hmailserver-compatibility.md.
 *
 * tests/fidelity/init-rows.tsv holds the expected rows, derived separately
 * from the scripts; tests/e2e/test_fidelity.sh compares every row.
 */
#include "store/init_rows.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { V_INT, V_TEXT, V_NULL };

typedef struct cell {
	int type;
	int64_t i;
	const char *s;
} cell;

#define I(v) { .type = V_INT, .i = (v) }
#define S(v) { .type = V_TEXT, .s = (v) }
#define NUL { .type = V_NULL }

#define MAX_COLUMNS 9

typedef struct row_set {
	const char *insert; /* INSERT ... VALUES (?, ...) with one ? per column */
	int ncolumns;
	const cell (*rows)[MAX_COLUMNS];
	size_t nrows;
} row_set;

static const cell securityranges[][MAX_COLUMNS] = {
	{ I(10), I(0), NUL, I(4294967295), NUL, I(96203), S("Internet"), I(0), S("2001-01-01 00:00:00") },
	{ I(30), I(2130706433), NUL, I(2130706433), NUL, I(71627), S("My computer"), I(0), S("2001-01-01 00:00:00") },
};

static const cell servermessages[][MAX_COLUMNS] = {
	{ S("VIRUS_FOUND"), S("Virus found") },
	{ S("VIRUS_ATTACHMENT_REMOVED"),
	  S("Virus found:\r\n"
	    "The attachment(s) of this message was removed since a virus was detected in at least "
	    "one of them.\r\n"
	    "\r\n") },
	{ S("VIRUS_NOTIFICATION"),
	  S("The message below contained a virus and did not\r\n"
	    "reach some or all of the intended recipients.\r\n"
	    "\r\n"
	    "   From: %MACRO_FROM%\r\n"
	    "   To: %MACRO_TO%\r\n"
	    "   Sent: %MACRO_SENT%\r\n"
	    "   Subject: %MACRO_SUBJECT%\r\n"
	    "\r\n"
	    "hMailServer\r\n") },
	{ S("SEND_FAILED_NOTIFICATION"),
	  S("Your message did not reach some or all of the intended recipients.\r\n"
	    "\r\n"
	    "   Sent: %MACRO_SENT%\r\n"
	    "   Subject: %MACRO_SUBJECT%\r\n"
	    "\r\n"
	    "The following recipient(s) could not be reached:\r\n"
	    "\r\n"
	    "%MACRO_RECIPIENTS%\r\n"
	    "\r\n"
	    "hMailServer\r\n") },
	{ S("MESSAGE_UNDELIVERABLE"), S("Message undeliverable") },
	{ S("MESSAGE_FILE_MISSING"),
	  S("The mail server could not deliver the message to you since the file %MACRO_FILE% "
	    "does not exist on the server.\r\n"
	    "\r\n"
	    "The file may have been deleted by anti virus software running on the server.\r\n"
	    "\r\n"
	    "hMailServer") },
	{ S("ATTACHMENT_REMOVED"),
	  S("The attachment %MACRO_FILE% was blocked for delivery by the e-mail server. "
	    "Please contact your system administrator if you have any questions regarding this.\r\n"
	    "\r\n"
	    "hMailServer\r\n") },
};

static const cell dnsbl[][MAX_COLUMNS] = {
	{ I(0), S("zen.spamhaus.org"), S("127.0.0.2-8|127.0.0.10-11"), S("Rejected by Spamhaus."), I(3) },
	{ I(0), S("bl.spamcop.net"), S("127.0.0.2"), S("Rejected by SpamCop."), I(3) },
};

static const cell surblservers[][MAX_COLUMNS] = {
	{ I(0), S("multi.surbl.org"), S("Rejected by SURBL."), I(3) },
};

static const cell blocked_attachments[][MAX_COLUMNS] = {
	{ S("*.bat"), S("Batch processing file") },
	{ S("*.cmd"), S("Command file for Windows NT") },
	{ S("*.com"), S("Command") },
	{ S("*.cpl"), S("Windows Control Panel extension") },
	{ S("*.csh"), S("CSH script") },
	{ S("*.exe"), S("Executable file") },
	{ S("*.inf"), S("Setup file") },
	{ S("*.lnk"), S("Windows link file") },
	{ S("*.msi"), S("Windows Installer file") },
	{ S("*.msp"), S("Windows Installer patch") },
	{ S("*.pif"), S("Program Information file") },
	{ S("*.reg"), S("Registration key") },
	{ S("*.scf"), S("Windows Explorer command") },
	{ S("*.scr"), S("Windows Screen saver") },
};

/* Names keep the scripts' spelling (case, and "customviursscanner"). */
static const cell settings[][MAX_COLUMNS] = {
	{ S("maxpop3connections"), S(""), I(0) },
	{ S("maxsmtpconnections"), S(""), I(0) },
	{ S("mirroremailaddress"), S(""), I(0) },
	{ S("relaymode"), S(""), I(2) },
	{ S("authallowplaintext"), S(""), I(0) },
	{ S("allowmailfromnull"), S(""), I(1) },
	{ S("logging"), S(""), I(0) },
	{ S("logdevice"), S(""), I(0) },
	{ S("smtpnoofretries"), S(""), I(4) },
	{ S("smtpminutesbetweenretries"), S(""), I(60) },
	{ S("protocolimap"), S(""), I(1) },
	{ S("protocolsmtp"), S(""), I(1) },
	{ S("protocolpop3"), S(""), I(1) },
	{ S("welcomeimap"), S(""), I(0) },
	{ S("welcomepop3"), S(""), I(0) },
	{ S("welcomesmtp"), S(""), I(0) },
	{ S("smtprelayer"), S(""), I(0) },
	{ S("maxdelivertythreads"), S(""), I(10) },
	{ S("logformat"), S(""), I(0) },
	{ S("avclamwinenable"), S(""), I(0) },
	{ S("avclamwinexec"), S(""), I(0) },
	{ S("avclamwindb"), S(""), I(0) },
	{ S("avnotifysender"), S(""), I(0) },
	{ S("avnotifyreceiver"), S(""), I(0) },
	{ S("avaction"), S(""), I(0) },
	{ S("sendstatistics"), S(""), I(0) },
	{ S("hostname"), S(""), I(0) },
	{ S("smtprelayerusername"), S(""), I(0) },
	{ S("smtprelayerpassword"), S(""), I(0) },
	{ S("usesmtprelayerauthentication"), S(""), I(0) },
	{ S("smtprelayerport"), S(""), I(25) },
	{ S("usecustomvirusscanner"), S(""), I(0) },
	{ S("customvirusscannerexecutable"), S(""), I(0) },
	{ S("customviursscannerreturnvalue"), S(""), I(0) },
	{ S("usespf"), S(""), I(0) },
	{ S("usemxchecks"), S(""), I(0) },
	{ S("usescriptserver"), S(""), I(0) },
	{ S("scriptlanguage"), S("VBScript"), I(0) },
	{ S("maxmessagesize"), S(""), I(20480) },
	{ S("usecache"), S(""), I(1) },
	{ S("domaincachettl"), S(""), I(60) },
	{ S("accountcachettl"), S(""), I(60) },
	{ S("awstatsenabled"), S(""), I(0) },
	{ S("rulelooplimit"), S(""), I(5) },
	{ S("backupoptions"), S(""), I(0) },
	{ S("backupdestination"), S(""), I(0) },
	{ S("defaultdomain"), S(""), I(0) },
	{ S("avmaxmsgsize"), S(""), I(0) },
	{ S("smtpdeliverybindtoip"), S(""), I(0) },
	{ S("enableimapquota"), S(""), I(1) },
	{ S("enableimapidle"), S(""), I(1) },
	{ S("enableimapacl"), S(""), I(1) },
	{ S("maximapconnections"), S(""), I(0) },
	{ S("enableimapsort"), S(""), I(1) },
	{ S("workerthreadpriority"), S(""), I(0) },
	{ S("ascheckhostinhelo"), S(""), I(0) },
	{ S("tcpipthreads"), S(""), I(15) },
	{ S("smtpallowincorrectlineendings"), S(""), I(1) },
	{ S("usegreylisting"), S(""), I(0) },
	{ S("greylistinginitialdelay"), S(""), I(30) },
	{ S("greylistinginitialdelete"), S(""), I(24) },
	{ S("greylistingfinaldelete"), S(""), I(864) },
	{ S("antispamaddheaderspam"), S(""), I(1) },
	{ S("antispamaddheaderreason"), S(""), I(1) },
	{ S("antispamprependsubject"), S(""), I(0) },
	{ S("antispamprependsubjecttext"), S("[SPAM]"), I(0) },
	{ S("enableattachmentblocking"), S(""), I(0) },
	{ S("maxsmtprecipientsinbatch"), S(""), I(100) },
	{ S("disconnectinvalidclients"), S(""), I(0) },
	{ S("maximumincorrectcommands"), S(""), I(100) },
	{ S("aliascachettl"), S(""), I(60) },
	{ S("distributionlistcachettl"), S(""), I(60) },
	{ S("smtprelayerconnectionsecurity"), S(""), I(0) },
	{ S("adddeliveredtoheader"), S(""), I(0) },
	{ S("groupcachettl"), S(""), I(60) },
	{ S("imappublicfoldername"), S("#Public"), I(0) },
	{ S("antispamenabled"), S(""), I(0) },
	{ S("usespfscore"), S(""), I(3) },
	{ S("ascheckhostinheloscore"), S(""), I(2) },
	{ S("usemxchecksscore"), S(""), I(2) },
	{ S("spammarkthreshold"), S(""), I(5) },
	{ S("spamdeletethreshold"), S(""), I(20) },
	{ S("spamassassinenabled"), S(""), I(0) },
	{ S("spamassassinscore"), S(""), I(5) },
	{ S("spamassassinmergescore"), S(""), I(0) },
	{ S("spamassassinhost"), S("127.0.0.1"), I(0) },
	{ S("spamassassinport"), S(""), I(783) },
	{ S("antispammaxsize"), S(""), I(1024) },
	{ S("ASDKIMVerificationEnabled"), S(""), I(0) },
	{ S("ASDKIMVerificationFailureScore"), S(""), I(5) },
	{ S("AutoBanOnLogonFailureEnabled"), S(""), I(1) },
	{ S("MaxInvalidLogonAttempts"), S(""), I(3) },
	{ S("LogonAttemptsWithinMinutes"), S(""), I(30) },
	{ S("AutoBanMinutes"), S(""), I(60) },
	{ S("IMAPHierarchyDelimiter"), S("."), I(0) },
	{ S("MaxNumberOfAsynchronousTasks"), S(""), I(15) },
	{ S("MessageIndexing"), S(""), I(0) },
	{ S("BypassGreylistingOnSPFSuccess"), S(""), I(1) },
	{ S("BypassGreylistingOnMailFromMX"), S(""), I(0) },
	{ S("MaxNumberOfMXHosts"), S(""), I(15) },
	{ S("ClamAVEnabled"), S(""), I(0) },
	{ S("ClamAVHost"), S("localhost"), I(0) },
	{ S("ClamAVPort"), S(""), I(3310) },
	{ S("SmtpDeliveryConnectionSecurity"), S(""), I(2) },
	{ S("VerifyRemoteSslCertificate"), S(""), I(1) },
	{ S("SslCipherList"),
	  S("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:"
	    "DHE-DSS-AES128-GCM-SHA256:kEDH+AESGCM:ECDHE-RSA-AES128-SHA256:"
	    "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA:"
	    "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA:"
	    "ECDHE-ECDSA-AES256-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA:"
	    "DHE-DSS-AES128-SHA256:DHE-RSA-AES256-SHA256:DHE-DSS-AES256-SHA:DHE-RSA-AES256-SHA:"
	    "AES128-GCM-SHA256:AES256-GCM-SHA384:ECDHE-RSA-RC4-SHA:ECDHE-ECDSA-RC4-SHA:AES128:"
	    "AES256:RC4-SHA:HIGH:!aNULL:!eNULL:!EXPORT:!DES:!3DES:!MD5:!PSK;"),
	  I(0) },
	{ S("SslVersions"), S(""), I(14) },
	{ S("ImapMasterUser"), S(""), I(0) },
	{ S("ImapAuthAllowPlainText"), S(""), I(0) },
	{ S("EnableImapSASLPlain"), S(""), I(0) },
	{ S("EnableImapSASLInitialResponse"), S(""), I(0) },
	{ S("ascheckptr"), S(""), I(0) },
	{ S("ascheckptrscore"), S(""), I(1) },
	{ S("IPv6Preferred"), S(""), I(0) },
};

/* Protocols: 1 SMTP, 3 POP3, 5 IMAP; address 0 = all local addresses. */
static const cell tcpipports[][MAX_COLUMNS] = {
	{ I(1), I(25), I(0), NUL, I(0), I(0) },
	{ I(1), I(587), I(0), NUL, I(0), I(0) },
	{ I(3), I(110), I(0), NUL, I(0), I(0) },
	{ I(5), I(143), I(0), NUL, I(0), I(0) },
};

#define ROWS(a) .rows = (a), .nrows = sizeof(a) / sizeof((a)[0])

/* In the scripts' order (identity values are per table, so the order
 * between tables only mirrors the scripts). */
static const row_set init_rows[] = {
	{ "INSERT INTO hm_securityranges (rangepriorityid, rangelowerip1, rangelowerip2, rangeupperip1,"
	  " rangeupperip2, rangeoptions, rangename, rangeexpires, rangeexpirestime)"
	  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", 9, ROWS(securityranges) },
	{ "INSERT INTO hm_servermessages (smname, smtext) VALUES (?, ?)", 2, ROWS(servermessages) },
	{ "INSERT INTO hm_dnsbl (sblactive, sbldnshost, sblresult, sblrejectmessage, sblscore)"
	  " VALUES (?, ?, ?, ?, ?)", 5, ROWS(dnsbl) },
	{ "INSERT INTO hm_surblservers (surblactive, surblhost, surblrejectmessage, surblscore)"
	  " VALUES (?, ?, ?, ?)", 4, ROWS(surblservers) },
	{ "INSERT INTO hm_blocked_attachments (bawildcard, badescription) VALUES (?, ?)", 2,
	  ROWS(blocked_attachments) },
	{ "INSERT INTO hm_settings (settingname, settingstring, settinginteger) VALUES (?, ?, ?)", 3,
	  ROWS(settings) },
	{ "INSERT INTO hm_tcpipports (portprotocol, portnumber, portaddress1, portaddress2,"
	  " portconnectionsecurity, portsslcertificateid) VALUES (?, ?, ?, ?, ?, ?)", 6, ROWS(tcpipports) },
};

static int bind_cell(db_stmt *st, int idx, const cell *c, ms_err *e)
{
	switch (c->type) {
	case V_INT: return db_bind_int64(st, idx, c->i, e);
	case V_TEXT: return db_bind_text(st, idx, c->s, e);
	default: return db_bind_null(st, idx, e);
	}
}

/* One prepared statement per table, bound and run once per row. */
static int insert_row_set(db *d, const row_set *rs, ms_err *e)
{
	db_stmt *st;
	if (db_prepare(d, rs->insert, &st, e) < 0)
		return -1;
	int rc = 0;
	for (size_t r = 0; r < rs->nrows && rc == 0; r++) {
		for (int c = 0; c < rs->ncolumns && rc == 0; c++)
			rc = bind_cell(st, c + 1, &rs->rows[r][c], e);
		if (rc == 0 && db_step(st, e) == DB_ERROR)
			rc = -1;
		if (rc == 0 && db_reset(st, e) < 0)
			rc = -1;
	}
	db_finalize(st);
	return rc;
}

int ms_init_rows_insert(db *d, ms_err *e)
{
	for (size_t i = 0; i < sizeof init_rows / sizeof init_rows[0]; i++)
		if (insert_row_set(d, &init_rows[i], e) < 0)
			return ms_err_prefix(e, "inserting hMailServer's default rows");
	return 0;
}

/* ---- the same rows as SQL text, for `mstore init --print-sql` ---------- */

/* A text value as a literal of the dialect.  PostgreSQL (E'') and MySQL
 * take \r \n \\ \' escapes; SQLite has none, so CR and LF are spliced in
 * with char(). */
static void print_text(db_dialect d, const char *s, FILE *f)
{
	if (d == DB_SQLITE) {
		fputc('\'', f);
		for (; *s; s++) {
			if (*s == '\r' || *s == '\n')
				fprintf(f, "' || char(%d) || '", *s);
			else if (*s == '\'')
				fputs("''", f);
			else
				fputc(*s, f);
		}
		fputc('\'', f);
		return;
	}
	fputs(d == DB_PGSQL ? "E'" : "'", f);
	for (; *s; s++) {
		switch (*s) {
		case '\r': fputs("\\r", f); break;
		case '\n': fputs("\\n", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\'': fputs("\\'", f); break;
		default: fputc(*s, f);
		}
	}
	fputc('\'', f);
}

static void print_row(db_dialect d, const row_set *rs, const cell *row, FILE *f)
{
	/* The statement up to its placeholders, then the values. */
	const char *values = strstr(rs->insert, " VALUES (");
	fprintf(f, "%.*s VALUES (", (int)(values - rs->insert), rs->insert);
	for (int c = 0; c < rs->ncolumns; c++) {
		if (c > 0)
			fputs(", ", f);
		if (row[c].type == V_INT)
			fprintf(f, "%lld", (long long)row[c].i);
		else if (row[c].type == V_TEXT)
			print_text(d, row[c].s, f);
		else
			fputs("NULL", f);
	}
	fputs(");\n", f);
}

int ms_init_rows_print(db_dialect d, FILE *f)
{
	for (size_t i = 0; i < sizeof init_rows / sizeof init_rows[0]; i++)
		for (size_t r = 0; r < init_rows[i].nrows; r++)
			print_row(d, &init_rows[i], init_rows[i].rows[r], f);
	return ferror(f) ? -1 : 0;
}
