/* objects.c - create and list domains, accounts, aliases and lists.
 *
 * The default column values are those hMailServer's administrator gives a
 * new object (active, no limits, no signature, no vacation message), so
 * the server can use what mstore creates without further edits.
 */
#include "store/objects.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <idn2.h>

#include "db/txn.h"
#include "store/acctmove.h"
#include "store/folders.h"
#include "store/sql.h"
#include "util/escape.h"
#include "util/str.h"

/* ---- validation -------------------------------------------------------- */

/* The rules are hMailServer 5.7's, so that whatever mstore creates the
 * server and its administrator accept and can save again:
 * StringParser::IsValidDomainName for domain names, and
 * PreSaveLimitationsCheck::IsValidAccountAddress_ for account addresses
 * (docs/hmailserver-compatibility.md lists them and where they come from). */

static bool has_bad_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '"' || *s == '\\' ||
		    *s == '<' || *s == '>' || *s == ',' || *s == ';')
			return true;
	return false;
}

static void lower_ascii(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* "[1.2.3.4]": hMailServer accepts an address literal as a domain. */
static bool is_address_literal(const char *name)
{
	const char *p = name;
	if (*p++ != '[')
		return false;
	for (int part = 0; part < 4; part++) {
		int digits = 0;
		while (isdigit((unsigned char)*p) && digits < 4)
			p++, digits++;
		if (digits == 0 || digits > 3 || *p++ != (part < 3 ? '.' : ']'))
			return false;
	}
	return *p == '\0';
}

/* One label of a domain name: 1-63 letters, digits and '-', neither first
 * nor last a '-'. */
static int label_check(const char *name, const char *label, size_t len, ms_err *e)
{
	if (len == 0)
		return ms_err_set(e, MS_E_USAGE, "'%s' is not a domain name (empty label)", name);
	if (len > 63)
		return ms_err_set(e, MS_E_USAGE, "'%s' is not a domain name: a label is longer than 63 characters", name);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)label[i]) && label[i] != '-')
			return ms_err_set(e, MS_E_USAGE, "'%s' is not a domain name hMailServer accepts: character '%c' "
			                  "(a label holds letters, digits and '-' only)", name, label[i]);
	if (label[0] == '-' || label[len - 1] == '-')
		return ms_err_set(e, MS_E_USAGE, "'%s' is not a domain name hMailServer accepts: "
		                  "a label starts or ends with '-'", name);
	return 0;
}

int ms_domain_name_check(const char *name, ms_err *e)
{
	size_t len = strlen(name);
	if (len == 0)
		return ms_err_set(e, MS_E_USAGE, "empty domain name");
	if (len > 80)
		return ms_err_set(e, MS_E_USAGE, "domain name '%s' is longer than 80 characters", name);
	if (is_address_literal(name))
		return 0;
	for (const char *label = name;;) {
		const char *dot = strchr(label, '.');
		size_t n = dot ? (size_t)(dot - label) : strlen(label);
		if (label_check(name, label, n, e) < 0)
			return -1;
		if (!dot)
			return 0;
		label = dot + 1;
	}
}

int ms_domain_to_ascii(const char *in, char out[256], ms_err *e)
{
	if (is_ascii(in)) {
		snprintf(out, 256, "%s", in);
		lower_ascii(out);
		return ms_domain_name_check(out, e);
	}
	/* hMailServer itself knows only ASCII names: its administrator takes
	 * an internationalized domain in its ACE form (xn--...), which is
	 * also what SMTP carries.  So a Unicode name is converted (IDNA2008
	 * with the UTS #46 mapping, as browsers and mail clients do) and
	 * stored the way the administrator would have to type it. */
	char *ace = NULL;
	int rc = idn2_to_ascii_8z(in, &ace, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		return ms_err_set(e, MS_E_USAGE, "'%s' is not a valid internationalized domain name (IDNA2008: %s)",
		                  in, idn2_strerror(rc));
	snprintf(out, 256, "%s", ace);
	idn2_free(ace);
	lower_ascii(out);
	return ms_domain_name_check(out, e);
}

int ms_address_split(const char *address, char *local, char *domain, ms_err *e)
{
	const char *at = strchr(address, '@');
	if (!at)
		return ms_err_set(e, MS_E_USAGE, "'%s' is not an address: it has no '@'", address);
	if (strchr(at + 1, '@'))
		return ms_err_set(e, MS_E_USAGE, "'%s' is not an address: more than one '@'", address);
	if (at == address)
		return ms_err_set(e, MS_E_USAGE, "'%s' is not an address: empty local part", address);
	if (strlen(address) > 255)
		return ms_err_set(e, MS_E_USAGE, "address '%.40s...' is longer than 255 characters", address);
	if (has_bad_char(address))
		return ms_err_set(e, MS_E_USAGE, "'%s' is not an address: it contains a space, control character or one of \"\\<>,;", address);
	size_t llen = (size_t)(at - address);
	memcpy(local, address, llen);
	local[llen] = '\0';
	if (ms_domain_to_ascii(at + 1, domain, e) < 0)
		return ms_err_prefix(e, "'%s' is not an address", address);
	return 0;
}

int ms_account_local_check(const char *address, const char *local, ms_err *e)
{
	/* hMailServer's account rule refuses < > space @ \ / " ? * | (the
	 * other address checks already refuse < > space @ \ "); ':' is
	 * refused too: hMailServer allows it, but Windows cannot make a
	 * directory of that name (NTFS reads it as a stream name). */
	const char *bad = strpbrk(local, "/?*|:");
	if (bad)
		return ms_err_set(e, MS_E_USAGE, "'%s' is not an account address hMailServer accepts: the local part "
		                  "may not contain '%c' (account names become directories: none of / \\ ? * | : < > \" "
		                  "or spaces)", address, *bad);
	return 0;
}

void ms_domain_lookup_form(const char *in, char out[256])
{
	ms_err ignored = { 0 };
	if (is_ascii(in) || ms_domain_to_ascii(in, out, &ignored) < 0)
		snprintf(out, 256, "%s", in);
}

void ms_address_lookup_form(const char *in, char out[256])
{
	const char *at = strrchr(in, '@');
	char dom[256];
	if (!at || is_ascii(at + 1)) {
		snprintf(out, 256, "%s", in);
		return;
	}
	ms_domain_lookup_form(at + 1, dom);
	if ((size_t)snprintf(out, 256, "%.*s@%s", (int)(at - in), in, dom) >= 256)
		snprintf(out, 256, "%s", in);
}

/* "local@domain" with the domain lowered. */
static int normalize_address(const char *address, char out[256], char domain[256], ms_err *e)
{
	char local[256];
	if (ms_address_split(address, local, domain, e) < 0)
		return -1;
	if (strlen(local) + 1 + strlen(domain) > 255)
		return ms_err_set(e, MS_E_USAGE, "address '%s@%s' is longer than 255 characters", local, domain);
	ms_str_printf(out, 256, "%s@%s", local, domain);
	return 0;
}

/* ---- domains ------------------------------------------------------------ */

static int domain_id(ms_store *s, const char *name, int64_t *id, ms_err *e)
{
	int rc = ms_sql_int(s->db, "SELECT domainid FROM hm_domains WHERE LOWER(domainname) = LOWER(?)",
	                    PARAMS(P_TEXT(name)), id, e);
	if (rc == 0)
		return ms_err_set(e, MS_E_NOTFOUND, "domain '%s' does not exist (create it with: mstore domain add %s)", name, name);
	return rc < 0 ? -1 : 0;
}

/* Is `name` already a domain or a domain alias? */
static int domain_name_taken(ms_store *s, const char *name, ms_err *e)
{
	int64_t id;
	int rc = ms_sql_int(s->db, "SELECT domainid FROM hm_domains WHERE LOWER(domainname) = LOWER(?)",
	                    PARAMS(P_TEXT(name)), &id, e);
	if (rc != 0)
		return rc < 0 ? -1 : ms_err_set(e, MS_E_EXISTS, "domain '%s' already exists", name);
	rc = ms_sql_int(s->db, "SELECT daid FROM hm_domain_aliases WHERE LOWER(daalias) = LOWER(?)",
	                PARAMS(P_TEXT(name)), &id, e);
	if (rc != 0)
		return rc < 0 ? -1 : ms_err_set(e, MS_E_EXISTS, "'%s' is already a domain alias", name);
	return 0;
}

int ms_domain_add(ms_store *s, const char *name_in, const ms_domain_opts *o, int64_t *id, ms_err *e)
{
	static const ms_domain_opts defaults = { 0 };
	char name[256];
	if (!o)
		o = &defaults;
	if (ms_domain_to_ascii(name_in, name, e) < 0)
		return -1;
	if (o->plus_char && strlen(o->plus_char) != 1)
		return ms_err_set(e, MS_E_USAGE, "the plus addressing character must be one character, not '%s'", o->plus_char);
	if (o->postmaster && *o->postmaster) {
		char l[256], d[256];
		if (ms_address_split(o->postmaster, l, d, e) < 0)
			return ms_err_prefix(e, "catch-all address");
	}
	if (domain_name_taken(s, name, e) < 0)
		return -1;
	int64_t new_id = 0;
	int rc = ms_sql_insert(s->db,
		"INSERT INTO hm_domains (domainname, domainactive, domainpostmaster, domainmaxsize,"
		" domainaddomain, domainmaxmessagesize, domainuseplusaddressing, domainplusaddressingchar,"
		" domainantispamoptions, domainenablesignature, domainsignaturemethod,"
		" domainsignatureplaintext, domainsignaturehtml, domainaddsignaturestoreplies,"
		" domainaddsignaturestolocalemail, domainmaxnoofaccounts, domainmaxnoofaliases,"
		" domainmaxnoofdistributionlists, domainlimitationsenabled, domainmaxaccountsize,"
		" domaindkimselector, domaindkimprivatekeyfile)"
		" VALUES (?, ?, ?, ?, '', 0, ?, ?, 0, 0, 1, '', '', 0, 0, 0, 0, 0, 0, ?, '', '')",
		"domainid",
		PARAMS(P_TEXT(name), P_INT(o->inactive ? 0 : 1), P_TEXT(o->postmaster ? o->postmaster : ""),
		       P_INT(o->max_size_mb), P_INT(o->plus_char ? 1 : 0),
		       P_TEXT(o->plus_char ? o->plus_char : "+"), P_INT(o->max_account_size_mb)),
		&new_id, e);
	if (rc < 0)
		return ms_err_prefix(e, "cannot add domain '%s'", name);
	if (id)
		*id = new_id;
	return 0;
}

static void copy_col(db_stmt *st, int col, char *dst, size_t len)
{
	const char *v = db_column_text(st, col);
	snprintf(dst, len, "%s", v ? v : "");
}

static void read_domain_row(db_stmt *st, ms_domain *d)
{
	memset(d, 0, sizeof *d);
	d->id = db_column_int64(st, 0);
	copy_col(st, 1, d->name, sizeof d->name);
	d->active = db_column_int64(st, 2) != 0;
	copy_col(st, 3, d->postmaster, sizeof d->postmaster);
	d->max_size_mb = db_column_int64(st, 4);
	d->max_account_size_mb = db_column_int64(st, 5);
	d->plus_addressing = db_column_int64(st, 6) != 0;
	copy_col(st, 7, d->plus_char, sizeof d->plus_char);
	d->account_count = db_column_int64(st, 8);
}

#define DOMAIN_COLUMNS \
	"d.domainid, d.domainname, d.domainactive, d.domainpostmaster, d.domainmaxsize," \
	" d.domainmaxaccountsize, d.domainuseplusaddressing, d.domainplusaddressingchar," \
	" (SELECT COUNT(*) FROM hm_accounts a WHERE a.accountdomainid = d.domainid)"

int ms_domain_find(ms_store *s, const char *name, ms_domain *out, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(s->db, "SELECT " DOMAIN_COLUMNS " FROM hm_domains d WHERE LOWER(d.domainname) = LOWER(?)",
	                   PARAMS(P_TEXT(name)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW)
		read_domain_row(st, out);
	db_finalize(st);
	return rc == DB_ERROR ? -1 : (rc == DB_ROW ? 1 : 0);
}

/* Grow *v (of element size `size`) to hold n+1 elements. */
static int grow(void **v, size_t n, size_t size, ms_err *e)
{
	if ((n & (n - 1)) == 0) { /* n is 0 or a power of two: double */
		void *nv = realloc(*v, (n ? n * 2 : 1) * size);
		if (!nv)
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
		*v = nv;
	}
	return 0;
}

/* Step through a prepared SELECT, reading each row into a new element of
 * a growing array (elements of `size` bytes); finalizes the statement. */
static int collect_rows(db_stmt *st, size_t size, void (*read)(db_stmt *st, void *elem), void **out, size_t *n,
                        ms_err *e)
{
	int rc;
	*out = NULL;
	*n = 0;
	while ((rc = db_step(st, e)) == DB_ROW) {
		if (grow(out, *n, size, e) < 0) {
			rc = DB_ERROR;
			break;
		}
		void *elem = (char *)*out + (*n)++ * size;
		memset(elem, 0, size);
		read(st, elem);
	}
	db_finalize(st);
	if (rc == DB_ERROR) {
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

static void read_domain(db_stmt *st, void *elem)
{
	read_domain_row(st, elem);
}

int ms_domain_list(ms_store *s, ms_domain **out, size_t *n, ms_err *e)
{
	db_stmt *st;
	if (db_prepare(s->db, "SELECT " DOMAIN_COLUMNS " FROM hm_domains d ORDER BY d.domainname", &st, e) < 0)
		return -1;
	return collect_rows(st, sizeof **out, read_domain, (void **)out, n, e);
}

int ms_domain_alias_add(ms_store *s, const char *domain, const char *alias_in, ms_err *e)
{
	char alias[256];
	int64_t did;
	char dname[256];
	if (ms_domain_to_ascii(alias_in, alias, e) < 0 || ms_domain_to_ascii(domain, dname, e) < 0)
		return -1;
	if (domain_id(s, dname, &did, e) < 0 || domain_name_taken(s, alias, e) < 0)
		return -1;
	if (ms_sql_exec(s->db, "INSERT INTO hm_domain_aliases (dadomainid, daalias) VALUES (?, ?)",
	                PARAMS(P_INT(did), P_TEXT(alias)), NULL, e) < 0)
		return ms_err_prefix(e, "cannot add domain alias '%s'", alias);
	return 0;
}

static void read_domain_alias(db_stmt *st, void *elem)
{
	ms_domain_alias *a = elem;
	a->id = db_column_int64(st, 0);
	copy_col(st, 1, a->domain, sizeof a->domain);
	copy_col(st, 2, a->alias, sizeof a->alias);
}

int ms_domain_alias_list(ms_store *s, ms_domain_alias **out, size_t *n, ms_err *e)
{
	db_stmt *st;
	if (db_prepare(s->db, "SELECT a.daid, d.domainname, a.daalias FROM hm_domain_aliases a"
	               " JOIN hm_domains d ON d.domainid = a.dadomainid ORDER BY d.domainname, a.daalias", &st, e) < 0)
		return -1;
	return collect_rows(st, sizeof **out, read_domain_alias, (void **)out, n, e);
}

/* ---- addresses shared by accounts, aliases and lists --------------------- */

int ms_address_in_use(ms_store *s, const char *address_in, const char **kind, ms_err *e)
{
	char address[256];
	ms_address_lookup_form(address_in, address);
	static const struct { const char *sql, *kind; } checks[] = {
		{ "SELECT accountid FROM hm_accounts WHERE LOWER(accountaddress) = LOWER(?)", "an account" },
		{ "SELECT aliasid FROM hm_aliases WHERE LOWER(aliasname) = LOWER(?)", "an alias" },
		{ "SELECT distributionlistid FROM hm_distributionlists WHERE LOWER(distributionlistaddress) = LOWER(?)",
		  "a distribution list" },
	};
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		int64_t id;
		int rc = ms_sql_int(s->db, checks[i].sql, PARAMS(P_TEXT(address)), &id, e);
		if (rc != 0) {
			if (rc > 0 && kind)
				*kind = checks[i].kind;
			return rc;
		}
	}
	return 0;
}

/* Check a new address: well formed, its domain exists, not yet used.
 * Fills the normalized address, its domain and the domain id.  A killed
 * account move (acctmove.h) has renamed the directory and left its
 * journal, its row update still to come: an account, alias or list added
 * at the move's new address meanwhile would take the address (the row
 * update then fails on UNIQUE, for every folder command after) and the
 * moved files.  So pending moves are completed first, and the new
 * address is then in use like any other. */
static int new_address(ms_store *s, const char *in, char addr[256], char domain[256], int64_t *did, ms_err *e)
{
	const char *kind = NULL;
	if (ms_acctmove_recover(s, NULL, NULL, e) < 0)
		return -1;
	/* a name that would have to be escaped (a control byte, C1 included,
	 * or bytes that are no UTF-8) is no address mstore creates: the
	 * address names a directory and is printed in every list */
	char shown[1100]; /* a longer one is refused below as too long */
	if (ms_escape(shown, sizeof shown, in) && strcmp(shown, in) != 0)
		return ms_err_set(e, MS_E_USAGE, "'%s' is not an address: it holds a control character or bytes that are"
		                  " not UTF-8", shown);
	if (normalize_address(in, addr, domain, e) < 0 || domain_id(s, domain, did, e) < 0)
		return -1;
	int rc = ms_address_in_use(s, addr, &kind, e);
	if (rc > 0)
		return ms_err_set(e, MS_E_EXISTS, "'%s' already exists as %s", addr, kind);
	return rc;
}

/* ---- domain limits (PreSaveLimitationsCheck) ------------------------------ */

/* domainlimitationsenabled is a bit set (hMailServer's Domain.h); its
 * bit 4 (lists) is not the one hMailServer tests, see ms_dlist_add. */
enum { LIMIT_ACCOUNTS = 1, LIMIT_ALIASES = 2 };

typedef struct domain_limits {
	int64_t max_size, max_account_size, max_accounts, max_aliases, max_lists, enabled;
} domain_limits;

static int read_limits(ms_store *s, int64_t did, domain_limits *l, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(s->db, "SELECT domainmaxsize, domainmaxaccountsize, domainmaxnoofaccounts,"
	                   " domainmaxnoofaliases, domainmaxnoofdistributionlists, domainlimitationsenabled"
	                   " FROM hm_domains WHERE domainid = ?", PARAMS(P_INT(did)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW)
		*l = (domain_limits){ db_column_int64(st, 0), db_column_int64(st, 1), db_column_int64(st, 2),
		                      db_column_int64(st, 3), db_column_int64(st, 4), db_column_int64(st, 5) };
	db_finalize(st);
	if (rc == DB_DONE)
		return ms_err_set(e, MS_E_NOTFOUND, "domain %lld disappeared", (long long)did);
	return rc == DB_ERROR ? -1 : 0;
}

/* The count rule: a new object may not make more than the domain allows. */
static int count_check(ms_store *s, const char *sql, int64_t did, int64_t max, const char *domain,
                       const char *what, const char *column, ms_err *e)
{
	int64_t n = 0;
	if (ms_sql_int(s->db, sql, PARAMS(P_INT(did)), &n, e) < 0)
		return -1;
	if (n >= max)
		return ms_err_set(e, MS_E_USAGE, "domain %s allows at most %lld %s (%s) and has %lld: "
		                  "the maximum number of %s has been created", domain, (long long)max, what, column,
		                  (long long)n, what);
	return 0;
}

/* PreSaveLimitationsCheck for a new account, in hMailServer's order: the
 * number of accounts, the per-account size, the domain's total size. */
static int account_limits_check(ms_store *s, int64_t did, const char *domain, int64_t size, ms_err *e)
{
	domain_limits l;
	if (read_limits(s, did, &l, e) < 0)
		return -1;
	if ((l.enabled & LIMIT_ACCOUNTS) &&
	    count_check(s, "SELECT COUNT(*) FROM hm_accounts WHERE accountdomainid = ?", did, l.max_accounts, domain,
	                "accounts", "domainmaxnoofaccounts", e) < 0)
		return -1;
	if (l.max_account_size != 0 && size > l.max_account_size)
		return ms_err_set(e, MS_E_USAGE, "domain %s allows accounts of at most %lld MB (domainmaxaccountsize): "
		                  "--max-size %lld is larger", domain, (long long)l.max_account_size, (long long)size);
	if ((l.max_account_size != 0 || l.max_size > 0) && size == 0)
		return ms_err_set(e, MS_E_USAGE, "domain %s limits sizes (%s), so every account in it needs a size: "
		                  "give --max-size MB", domain,
		                  l.max_account_size != 0 ? "domainmaxaccountsize" : "domainmaxsize");
	if (l.max_size <= 0)
		return 0;
	int64_t allotted = 0;
	if (ms_sql_int(s->db, "SELECT COALESCE(SUM(accountmaxsize), 0) FROM hm_accounts WHERE accountdomainid = ?",
	               PARAMS(P_INT(did)), &allotted, e) < 0)
		return -1;
	if (allotted + size > l.max_size)
		return ms_err_set(e, MS_E_USAGE, "domain %s allows %lld MB in all (domainmaxsize); its accounts are "
		                  "given %lld MB, so %lld MB more does not fit", domain, (long long)l.max_size,
		                  (long long)allotted, (long long)size);
	return 0;
}

/* ---- accounts ----------------------------------------------------------- */

static int insert_account_rows(ms_store *s, const char *addr, int64_t did, const ms_account_opts *o,
                               int64_t *id, ms_err *e)
{
	char now[32];
	ms_sql_now(now);
	/* An account with an empty password and encryption 0 cannot log on
	 * until the administrator sets a password; mstore manages stores, not
	 * credentials. */
	if (ms_sql_insert(s->db,
		"INSERT INTO hm_accounts (accountdomainid, accountadminlevel, accountaddress, accountpassword,"
		" accountactive, accountisad, accountaddomain, accountadusername, accountmaxsize,"
		" accountvacationmessageon, accountvacationmessage, accountvacationsubject, accountpwencryption,"
		" accountforwardenabled, accountforwardaddress, accountforwardkeeporiginal, accountenablesignature,"
		" accountsignatureplaintext, accountsignaturehtml, accountlastlogontime, accountvacationexpires,"
		" accountvacationexpiredate, accountpersonfirstname, accountpersonlastname)"
		" VALUES (?, 0, ?, '', ?, 0, '', '', ?, 0, '', '', 0, 0, '', 0, 0, '', '', ?, 0, ?, '', '')",
		"accountid",
		PARAMS(P_INT(did), P_TEXT(addr), P_INT(o->inactive ? 0 : 1), P_INT(o->max_size_mb),
		       P_TEXT(now), P_TEXT(now)),
		id, e) < 0)
		return -1;
	int64_t inbox;
	return ms_folder_create_inbox(s->db, *id, time(NULL), &inbox, e);
}

int ms_account_add(ms_store *s, const char *address, const ms_account_opts *o, int64_t *id, ms_err *e)
{
	static const ms_account_opts defaults = { 0 };
	char addr[256], domain[256];
	int64_t did, new_id = 0;
	if (!o)
		o = &defaults;
	if (o->max_size_mb < 0)
		return ms_err_set(e, MS_E_USAGE, "the maximum size must not be negative");
	if (new_address(s, address, addr, domain, &did, e) < 0)
		return -1;
	char local[256];
	snprintf(local, sizeof local, "%.*s", (int)(strrchr(addr, '@') - addr), addr);
	if (ms_account_local_check(addr, local, e) < 0)
		return -1;
	db_txn *t;
	if (db_txn_begin(s->db, &t, e) < 0)
		return -1;
	/* Limits are checked inside the transaction that adds the account. */
	if (account_limits_check(s, did, domain, o->max_size_mb, e) < 0) {
		db_txn_rollback(&t);
		return -1;
	}
	if (insert_account_rows(s, addr, did, o, &new_id, e) < 0) {
		db_txn_rollback(&t);
		return ms_err_prefix(e, "cannot add account '%s'", addr);
	}
	if (db_txn_commit(&t, e) < 0)
		return ms_err_prefix(e, "cannot add account '%s'", addr);
	if (id)
		*id = new_id;
	return 0;
}

static void read_account(db_stmt *st, void *elem)
{
	ms_account *a = elem;
	a->id = db_column_int64(st, 0);
	a->domain_id = db_column_int64(st, 1);
	copy_col(st, 2, a->address, sizeof a->address);
	a->active = db_column_int64(st, 3) != 0;
	a->max_size_mb = db_column_int64(st, 4);
	a->inbox_id = db_column_is_null(st, 5) ? 0 : db_column_int64(st, 5);
}

int ms_account_list(ms_store *s, const char *domain, ms_account **out, size_t *n, ms_err *e)
{
	char dom[256] = "";
	if (domain)
		ms_domain_lookup_form(domain, dom);
	db_stmt *st;
	if (ms_sql_prepare(s->db,
		"SELECT a.accountid, a.accountdomainid, a.accountaddress, a.accountactive, a.accountmaxsize,"
		" (SELECT MIN(f.folderid) FROM hm_imapfolders f WHERE f.folderaccountid = a.accountid"
		"  AND f.folderparentid = -1 AND UPPER(f.foldername) = 'INBOX')"
		" FROM hm_accounts a JOIN hm_domains d ON d.domainid = a.accountdomainid"
		" WHERE (? = '' OR LOWER(d.domainname) = LOWER(?)) ORDER BY a.accountaddress",
		PARAMS(P_TEXT(dom), P_TEXT(dom)), &st, e) < 0)
		return -1;
	return collect_rows(st, sizeof **out, read_account, (void **)out, n, e);
}

int ms_account_password_get(ms_store *s, const char *address, char pw[256], int64_t *encryption, ms_err *e)
{
	char addr[256];
	db_stmt *st;
	ms_address_lookup_form(address, addr);
	if (ms_sql_prepare(s->db, "SELECT accountpassword, accountpwencryption FROM hm_accounts"
	                   " WHERE LOWER(accountaddress) = LOWER(?)", PARAMS(P_TEXT(addr)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == 1) {
		copy_col(st, 0, pw, 256);
		*encryption = db_column_int64(st, 1);
	}
	db_finalize(st);
	return rc;
}

int ms_account_password_set(ms_store *s, const char *address, const char *pw, int64_t encryption, ms_err *e)
{
	char addr[256];
	int64_t changed = 0;
	ms_address_lookup_form(address, addr);
	if (ms_sql_exec(s->db, "UPDATE hm_accounts SET accountpassword = ?, accountpwencryption = ?"
	                " WHERE LOWER(accountaddress) = LOWER(?)",
	                PARAMS(P_TEXT(pw), P_INT(encryption), P_TEXT(addr)), &changed, e) < 0)
		return ms_err_prefix(e, "cannot set the password of account '%s'", address);
	if (changed == 0)
		return ms_err_set(e, MS_E_NOTFOUND, "account '%s' does not exist", address);
	return 0;
}

/* ---- aliases ------------------------------------------------------------ */

int ms_alias_add(ms_store *s, const char *name, const char *value, bool inactive, ms_err *e)
{
	char addr[256], domain[256], target[256], tdomain[256];
	int64_t did;
	domain_limits l;
	if (new_address(s, name, addr, domain, &did, e) < 0 || read_limits(s, did, &l, e) < 0)
		return -1;
	if ((l.enabled & LIMIT_ALIASES) &&
	    count_check(s, "SELECT COUNT(*) FROM hm_aliases WHERE aliasdomainid = ?", did, l.max_aliases, domain,
	                "aliases", "domainmaxnoofaliases", e) < 0)
		return -1;
	if (normalize_address(value, target, tdomain, e) < 0)
		return ms_err_prefix(e, "alias target");
	if (strcasecmp(addr, target) == 0)
		return ms_err_set(e, MS_E_USAGE, "alias '%s' cannot point at itself", addr);
	if (ms_sql_exec(s->db, "INSERT INTO hm_aliases (aliasdomainid, aliasname, aliasvalue, aliasactive) VALUES (?, ?, ?, ?)",
	                PARAMS(P_INT(did), P_TEXT(addr), P_TEXT(target), P_INT(inactive ? 0 : 1)), NULL, e) < 0)
		return ms_err_prefix(e, "cannot add alias '%s'", addr);
	return 0;
}

static void read_alias(db_stmt *st, void *elem)
{
	ms_alias *a = elem;
	a->id = db_column_int64(st, 0);
	copy_col(st, 1, a->name, sizeof a->name);
	copy_col(st, 2, a->value, sizeof a->value);
	a->active = db_column_int64(st, 3) != 0;
}

int ms_alias_list(ms_store *s, const char *domain, ms_alias **out, size_t *n, ms_err *e)
{
	char dom[256] = "";
	if (domain)
		ms_domain_lookup_form(domain, dom);
	db_stmt *st;
	if (ms_sql_prepare(s->db,
		"SELECT a.aliasid, a.aliasname, a.aliasvalue, a.aliasactive FROM hm_aliases a"
		" JOIN hm_domains d ON d.domainid = a.aliasdomainid"
		" WHERE (? = '' OR LOWER(d.domainname) = LOWER(?)) ORDER BY a.aliasname",
		PARAMS(P_TEXT(dom), P_TEXT(dom)), &st, e) < 0)
		return -1;
	return collect_rows(st, sizeof **out, read_alias, (void **)out, n, e);
}

/* ---- distribution lists -------------------------------------------------- */

int ms_dlist_add(ms_store *s, const char *address, bool disabled, ms_err *e)
{
	char addr[256], domain[256];
	int64_t did;
	domain_limits l;
	if (new_address(s, address, addr, domain, &did, e) < 0 || read_limits(s, did, &l, e) < 0)
		return -1;
	/* hMailServer tests the number itself here, not the "enabled" bit
	 * (PreSaveLimitationsCheck.cpp), so a number set while the limit is
	 * switched off still counts: the same here. */
	if (l.max_lists != 0 &&
	    count_check(s, "SELECT COUNT(*) FROM hm_distributionlists WHERE distributionlistdomainid = ?", did,
	                l.max_lists, domain, "distribution lists", "domainmaxnoofdistributionlists", e) < 0)
		return -1;
	/* mode 0 = public list: anyone may send to it, as hMailServer's
	 * administrator defaults. */
	if (ms_sql_exec(s->db,
	                "INSERT INTO hm_distributionlists (distributionlistdomainid, distributionlistaddress,"
	                " distributionlistenabled, distributionlistrequireauth, distributionlistrequireaddress,"
	                " distributionlistmode) VALUES (?, ?, ?, 0, '', 0)",
	                PARAMS(P_INT(did), P_TEXT(addr), P_INT(disabled ? 0 : 1)), NULL, e) < 0)
		return ms_err_prefix(e, "cannot add distribution list '%s'", addr);
	return 0;
}

int ms_dlist_member_add(ms_store *s, const char *list, const char *member, ms_err *e)
{
	char maddr[256], mdomain[256], laddr[256], ldomain[256];
	int64_t lid, dup;
	/* The list as stored: a Unicode domain part in its ACE form. */
	if (normalize_address(list, laddr, ldomain, e) < 0)
		return ms_err_prefix(e, "list");
	int rc = ms_sql_int(s->db, "SELECT distributionlistid FROM hm_distributionlists"
	                    " WHERE LOWER(distributionlistaddress) = LOWER(?)", PARAMS(P_TEXT(laddr)), &lid, e);
	if (rc == 0)
		return ms_err_set(e, MS_E_NOTFOUND, "distribution list '%s' does not exist", list);
	if (rc < 0)
		return -1;
	if (normalize_address(member, maddr, mdomain, e) < 0)
		return ms_err_prefix(e, "list member");
	rc = ms_sql_int(s->db, "SELECT distributionlistrecipientid FROM hm_distributionlistsrecipients"
	                " WHERE distributionlistrecipientlistid = ? AND LOWER(distributionlistrecipientaddress) = LOWER(?)",
	                PARAMS(P_INT(lid), P_TEXT(maddr)), &dup, e);
	if (rc > 0)
		return ms_err_set(e, MS_E_EXISTS, "'%s' is already a member of '%s'", maddr, list);
	if (rc < 0)
		return -1;
	if (ms_sql_exec(s->db, "INSERT INTO hm_distributionlistsrecipients (distributionlistrecipientlistid,"
	                " distributionlistrecipientaddress) VALUES (?, ?)",
	                PARAMS(P_INT(lid), P_TEXT(maddr)), NULL, e) < 0)
		return ms_err_prefix(e, "cannot add '%s' to list '%s'", maddr, list);
	return 0;
}

static int add_member(ms_dlist *l, const char *addr, ms_err *e)
{
	if (grow((void **)&l->members, l->n_members, sizeof *l->members, e) < 0)
		return -1;
	char *copy = strdup(addr ? addr : "");
	if (!copy)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	l->members[l->n_members++] = copy;
	return 0;
}

/* One query for lists and members (LEFT JOIN), grouped as rows arrive. */
int ms_dlist_list(ms_store *s, const char *domain, ms_dlist **out, size_t *n, ms_err *e)
{
	char dom[256] = "";
	if (domain)
		ms_domain_lookup_form(domain, dom);
	db_stmt *st;
	*out = NULL;
	*n = 0;
	int rc = ms_sql_prepare(s->db,
		"SELECT l.distributionlistid, l.distributionlistaddress, l.distributionlistenabled,"
		" r.distributionlistrecipientaddress FROM hm_distributionlists l"
		" JOIN hm_domains d ON d.domainid = l.distributionlistdomainid"
		" LEFT JOIN hm_distributionlistsrecipients r ON r.distributionlistrecipientlistid = l.distributionlistid"
		" WHERE (? = '' OR LOWER(d.domainname) = LOWER(?))"
		" ORDER BY l.distributionlistaddress, r.distributionlistrecipientaddress",
		PARAMS(P_TEXT(dom), P_TEXT(dom)), &st, e);
	if (rc < 0)
		return -1;
	while ((rc = db_step(st, e)) == DB_ROW) {
		int64_t id = db_column_int64(st, 0);
		if (*n == 0 || (*out)[*n - 1].id != id) {
			if (grow((void **)out, *n, sizeof **out, e) < 0) {
				rc = DB_ERROR;
				break;
			}
			ms_dlist *l = &(*out)[(*n)++];
			memset(l, 0, sizeof *l);
			l->id = id;
			copy_col(st, 1, l->address, sizeof l->address);
			l->enabled = db_column_int64(st, 2) != 0;
		}
		if (!db_column_is_null(st, 3) && add_member(&(*out)[*n - 1], db_column_text(st, 3), e) < 0) {
			rc = DB_ERROR;
			break;
		}
	}
	db_finalize(st);
	if (rc == DB_ERROR) {
		ms_dlist_free(*out, *n);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

void ms_dlist_free(ms_dlist *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].n_members; j++)
			free(v[i].members[j]);
		free(v[i].members);
	}
	free(v);
}

/* ---- deleting an account ------------------------------------------------------ */

/* Everything that belongs to the account, children before parents.  Only
 * delivered messages (type 2): queued (1) and ETRN (3) rows are not the
 * account's even when their account id matches. */
static const char *const account_delete_sql[] = {
	("DELETE FROM hm_messagerecipients WHERE recipientmessageid IN"
	 " (SELECT messageid FROM hm_messages WHERE messageaccountid = ? AND messagetype = 2)"),
	"DELETE FROM hm_message_metadata WHERE metadata_accountid = ?",
	"DELETE FROM hm_messages WHERE messageaccountid = ? AND messagetype = 2",
	"DELETE FROM hm_acl WHERE aclpermissionaccountid = ?",
	"DELETE FROM hm_imapfolders WHERE folderaccountid = ?",
	"DELETE FROM hm_group_members WHERE memberaccountid = ?",
	"DELETE FROM hm_fetchaccounts_uids WHERE uidfaid IN (SELECT faid FROM hm_fetchaccounts WHERE faaccountid = ?)",
	"DELETE FROM hm_fetchaccounts WHERE faaccountid = ?",
	"DELETE FROM hm_rule_criterias WHERE criteriaruleid IN (SELECT ruleid FROM hm_rules WHERE ruleaccountid = ?)",
	"DELETE FROM hm_rule_actions WHERE actionruleid IN (SELECT ruleid FROM hm_rules WHERE ruleaccountid = ?)",
	"DELETE FROM hm_rules WHERE ruleaccountid = ?",
	"DELETE FROM hm_accounts WHERE accountid = ?",
};

int ms_account_delete(ms_store *s, const char *address_in, bool dry_run, ms_account_deletion *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	char address[256];
	ms_address_lookup_form(address_in, address);
	int found = ms_sql_int(s->db, "SELECT accountid FROM hm_accounts WHERE LOWER(accountaddress) = LOWER(?)",
	                       PARAMS(P_TEXT(address)), &out->id, e);
	if (found <= 0)
		return found < 0 ? -1 : ms_err_set(e, MS_E_NOTFOUND, "account %s does not exist", address);
	if (ms_sql_int(s->db, "SELECT COUNT(*) FROM hm_messages WHERE messageaccountid = ? AND messagetype = 2",
	               PARAMS(P_INT(out->id)), &out->messages, e) < 0 ||
	    ms_sql_int(s->db, "SELECT COUNT(*) FROM hm_imapfolders WHERE folderaccountid = ?", PARAMS(P_INT(out->id)),
	               &out->folders, e) < 0)
		return -1;
	if (dry_run)
		return 0;
	db_txn *t;
	if (db_txn_begin(s->db, &t, e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof account_delete_sql / sizeof *account_delete_sql; i++)
		if (ms_sql_exec(s->db, account_delete_sql[i], PARAMS(P_INT(out->id)), NULL, e) < 0) {
			db_txn_rollback(&t);
			return -1;
		}
	return db_txn_commit(&t, e); /* a failed commit has rolled back */
}

/* ---- a new address for an existing account (the account move) -------------- */

int ms_account_new_address(ms_store *s, const char *in, int64_t current_domain, char addr[256], int64_t *did,
                           ms_err *e)
{
	char domain[256];
	if (new_address(s, in, addr, domain, did, e) < 0)
		return -1;
	if (*did == current_domain)
		return 0;
	domain_limits l;
	if (read_limits(s, *did, &l, e) < 0)
		return -1;
	if ((l.enabled & LIMIT_ACCOUNTS) &&
	    count_check(s, "SELECT COUNT(*) FROM hm_accounts WHERE accountdomainid = ?", *did, l.max_accounts, domain,
	                "accounts", "domainmaxnoofaccounts", e) < 0)
		return -1;
	return 0;
}

/* ---- counts for mstore info ---------------------------------------------------- */

int ms_store_counts(ms_store *s, ms_count out[MS_STORE_NCOUNTS], ms_err *e)
{
	static const struct { const char *key, *sql; } counts[MS_STORE_NCOUNTS] = {
		{ "domains", "SELECT COUNT(*) FROM hm_domains" },
		{ "domain_aliases", "SELECT COUNT(*) FROM hm_domain_aliases" },
		{ "accounts", "SELECT COUNT(*) FROM hm_accounts" },
		{ "aliases", "SELECT COUNT(*) FROM hm_aliases" },
		{ "distribution_lists", "SELECT COUNT(*) FROM hm_distributionlists" },
		{ "folders", "SELECT COUNT(*) FROM hm_imapfolders" },
		{ "messages_delivered", "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 2" },
		{ "messages_queued", "SELECT COUNT(*) FROM hm_messages WHERE messagetype = 1" },
		{ "message_bytes", "SELECT COALESCE(SUM(messagesize), 0) FROM hm_messages" },
	};
	for (size_t k = 0; k < MS_STORE_NCOUNTS; k++) {
		out[k].key = counts[k].key;
		if (ms_sql_int(s->db, counts[k].sql, NO_PARAMS, &out[k].value, e) < 0)
			return -1;
	}
	return 0;
}
