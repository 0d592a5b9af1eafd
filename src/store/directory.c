/* directory.c - the store's who-is-who snapshot and the recipient rules
 * (see directory.h). */
#include "store/directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"
#include "util/strmap.h"
#include "util/str.h"

typedef struct dom {
	int64_t id;
	char *name;
	bool active;
	char *catch_all;
	bool plus;
	char plus_char;
} dom;

typedef struct alias_rec {
	char *value;
	bool active;
} alias_rec;

typedef struct list_rec {
	bool enabled;
	char **members;
	size_t n, cap;
} list_rec;

struct ms_directory {
	dom *doms; size_t ndoms, capdoms;
	ms_dir_account *accts; size_t naccts, capaccts;
	alias_rec *aliases; size_t naliases, capaliases;
	list_rec *lists; size_t nlists, caplists;
	ms_strmap dom_by_name, dom_by_alias, acct_by_addr, alias_by_name, list_by_addr;
	char **routes; size_t nroutes, caproutes;  /* domain patterns of hm_routes */
	bool route_stops_catch_all;                /* hMailServer 5.6 and older */
};

/* Make room for one more element in a growing array. */
static int reserve(void **v, size_t n, size_t *cap, size_t size)
{
	return ms_vec_reserve_(v, cap, n + 1, size);
}

ms_directory *ms_directory_new(void)
{
	return calloc(1, sizeof(ms_directory));
}

void ms_directory_free(ms_directory *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->ndoms; i++) {
		free(d->doms[i].name);
		free(d->doms[i].catch_all);
	}
	for (size_t i = 0; i < d->naccts; i++)
		free((char *)d->accts[i].address);
	for (size_t i = 0; i < d->naliases; i++)
		free(d->aliases[i].value);
	for (size_t i = 0; i < d->nlists; i++) {
		for (size_t j = 0; j < d->lists[i].n; j++)
			free(d->lists[i].members[j]);
		free(d->lists[i].members);
	}
	for (size_t i = 0; i < d->nroutes; i++)
		free(d->routes[i]);
	free(d->routes);
	free(d->doms);
	free(d->accts);
	free(d->aliases);
	free(d->lists);
	ms_strmap_free(&d->dom_by_name);
	ms_strmap_free(&d->dom_by_alias);
	ms_strmap_free(&d->acct_by_addr);
	ms_strmap_free(&d->alias_by_name);
	ms_strmap_free(&d->list_by_addr);
	free(d);
}

int ms_directory_add_domain(ms_directory *d, int64_t id, const char *name, bool active,
                            const char *catch_all, bool plus_addressing, char plus_char)
{
	if (reserve((void **)&d->doms, d->ndoms, &d->capdoms, sizeof *d->doms) < 0)
		return -1;
	dom *x = &d->doms[d->ndoms];
	*x = (dom){ .id = id, .name = strdup(name), .active = active,
	            .catch_all = strdup(catch_all ? catch_all : ""), .plus = plus_addressing,
	            .plus_char = plus_char ? plus_char : '+' };
	if (!x->name || !x->catch_all || ms_strmap_put(&d->dom_by_name, name, (int64_t)d->ndoms) < 0) {
		free(x->name);
		free(x->catch_all);
		return -1;
	}
	d->ndoms++;
	return 0;
}

int ms_directory_add_domain_alias(ms_directory *d, const char *alias, const char *domain)
{
	int64_t idx;
	if (!ms_strmap_get(&d->dom_by_name, domain, &idx))
		return 0; /* an alias of a domain that does not exist: ignore */
	return ms_strmap_put(&d->dom_by_alias, alias, idx);
}

int ms_directory_add_account(ms_directory *d, int64_t id, const char *address, bool active)
{
	if (reserve((void **)&d->accts, d->naccts, &d->capaccts, sizeof *d->accts) < 0)
		return -1;
	char *copy = strdup(address);
	if (!copy || ms_strmap_put(&d->acct_by_addr, address, (int64_t)d->naccts) < 0) {
		free(copy);
		return -1;
	}
	d->accts[d->naccts++] = (ms_dir_account){ id, copy, active };
	return 0;
}

int ms_directory_add_alias(ms_directory *d, const char *name, const char *value, bool active)
{
	if (reserve((void **)&d->aliases, d->naliases, &d->capaliases, sizeof *d->aliases) < 0)
		return -1;
	char *copy = strdup(value);
	if (!copy || ms_strmap_put(&d->alias_by_name, name, (int64_t)d->naliases) < 0) {
		free(copy);
		return -1;
	}
	d->aliases[d->naliases++] = (alias_rec){ copy, active };
	return 0;
}

int ms_directory_add_list(ms_directory *d, const char *address, bool enabled)
{
	if (reserve((void **)&d->lists, d->nlists, &d->caplists, sizeof *d->lists) < 0)
		return -1;
	if (ms_strmap_put(&d->list_by_addr, address, (int64_t)d->nlists) < 0)
		return -1;
	d->lists[d->nlists++] = (list_rec){ .enabled = enabled };
	return 0;
}

int ms_directory_add_list_member(ms_directory *d, const char *list, const char *member)
{
	int64_t idx;
	if (!ms_strmap_get(&d->list_by_addr, list, &idx))
		return 0;
	list_rec *l = &d->lists[idx];
	if (reserve((void **)&l->members, l->n, &l->cap, sizeof *l->members) < 0)
		return -1;
	if (!(l->members[l->n] = strdup(member)))
		return -1;
	l->n++;
	return 0;
}

int ms_directory_add_route(ms_directory *d, const char *domain_pattern)
{
	if (reserve((void **)&d->routes, d->nroutes, &d->caproutes, sizeof *d->routes) < 0)
		return -1;
	if (!(d->routes[d->nroutes] = strdup(domain_pattern)))
		return -1;
	d->nroutes++;
	return 0;
}

void ms_directory_set_schema_version(ms_directory *d, int version)
{
	d->route_stops_catch_all = version < MS_ROUTES_KEEP_CATCH_ALL_VERSION;
}

/* ---- lookups and resolution --------------------------------------------- */

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* StringParser::WildcardMatchNoCase: '*' any run, '?' any one character,
 * the rest literally, ASCII case ignored, the whole string. */
static bool wildcard_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat && (*pat == '?' || ascii_lower(*pat) == ascii_lower(*s))) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static bool route_matches(const ms_directory *d, const char *domain)
{
	for (size_t i = 0; i < d->nroutes; i++)
		if (wildcard_match(d->routes[i], domain))
			return true;
	return false;
}

/* The local domain a name means (itself or, *via_alias set, through a
 * domain alias). */
static const dom *local_domain(const ms_directory *d, const char *name, bool *via_alias)
{
	int64_t idx;
	*via_alias = false;
	if (ms_strmap_get(&d->dom_by_name, name, &idx))
		return &d->doms[idx];
	if (ms_strmap_get(&d->dom_by_alias, name, &idx)) {
		*via_alias = true;
		return &d->doms[idx];
	}
	return NULL;
}

bool ms_directory_is_local_domain(const ms_directory *d, const char *domain)
{
	bool via_alias;
	return local_domain(d, domain, &via_alias) != NULL;
}

const ms_dir_account *ms_directory_account(const ms_directory *d, const char *local, const char *domain)
{
	char addr[512];
	int64_t idx;
	snprintf(addr, sizeof addr, "%s@%s", local, domain);
	return ms_strmap_get(&d->acct_by_addr, addr, &idx) ? &d->accts[idx] : NULL;
}

static int add_recipient(ms_recipients *out, const ms_dir_account *a, const char *address, const char *original)
{
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i].account_id == a->id)
			return 0;
	if (reserve((void **)&out->v, out->n, &out->cap, sizeof *out->v) < 0)
		return -1;
	ms_recipient *r = &out->v[out->n++];
	r->account_id = a->id;
	/* recipientoriginaladdress is 255 characters: cut a long header
	 * address on a character boundary (a split one is refused as UTF-8) */
	ms_str_copy(r->address, sizeof r->address, address);
	ms_str_copy(r->original, sizeof r->original, original);
	return 0;
}

static int resolve(const ms_directory *d, const char *address, const char *original, int depth,
                   ms_recipients *out)
{
	if (depth >= MS_RESOLVE_MAX_DEPTH)
		return 0; /* depth 0 is hMailServer's level 1 */
	const char *at = strrchr(address, '@');
	if (!at || !at[1])
		return 0;
	bool via_alias;
	const dom *dm = local_domain(d, at + 1, &via_alias);
	if (!dm || !dm->active)
		return 0; /* external (dropped) or inactive domain */
	char local[256], addr[512], primary[512];
	snprintf(local, sizeof local, "%.*s", (int)(at - address), address);
	if (dm->plus) {
		char *cut = strchr(local, dm->plus_char);
		if (cut)
			*cut = '\0'; /* at position 0 too: "@dom" */
	}
	snprintf(addr, sizeof addr, "%s@%s", local, dm->name);
	/* hMailServer's recipientaddress: this level's address after domain
	 * alias and plus addressing, spelt as written (not the account's) */
	snprintf(primary, sizeof primary, "%s@%s", local, via_alias ? dm->name : at + 1);
	int64_t idx;
	if (ms_strmap_get(&d->acct_by_addr, addr, &idx))
		return d->accts[idx].active ? add_recipient(out, &d->accts[idx], primary, original) : 0;
	if (ms_strmap_get(&d->alias_by_name, addr, &idx))
		return d->aliases[idx].active ? resolve(d, d->aliases[idx].value, original, depth + 1, out) : 0;
	if (ms_strmap_get(&d->list_by_addr, addr, &idx)) {
		const list_rec *l = &d->lists[idx];
		for (size_t i = 0; l->enabled && i < l->n; i++)
			if (resolve(d, l->members[i], original, depth + 1, out) < 0)
				return -1;
		return 0;
	}
	if (d->route_stops_catch_all && route_matches(d, at + 1))
		return 0;
	if (dm->catch_all[0])
		return resolve(d, dm->catch_all, original, depth + 1, out);
	return 0;
}

int ms_resolve_address(const ms_directory *d, const char *address, ms_recipients *out)
{
	return resolve(d, address, address, 0, out);
}

void ms_recipients_free(ms_recipients *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

/* ---- loading from the database ------------------------------------------ */

typedef int (*row_fn)(ms_directory *d, db_stmt *st);

static int load_rows(db *conn, ms_directory *d, const char *sql, row_fn fn, ms_err *e)
{
	db_stmt *st;
	if (db_prepare(conn, sql, &st, e) < 0)
		return -1;
	int rc;
	while ((rc = db_step(st, e)) == DB_ROW)
		if (fn(d, st) < 0) {
			db_finalize(st);
			return ms_err_set(e, MS_E_NOMEM, "out of memory loading the store's directory");
		}
	db_finalize(st);
	return rc == DB_ERROR ? -1 : 0;
}

static const char *col(db_stmt *st, int i)
{
	const char *v = db_column_text(st, i);
	return v ? v : "";
}

static int domain_row(ms_directory *d, db_stmt *st)
{
	return ms_directory_add_domain(d, db_column_int64(st, 0), col(st, 1), db_column_int64(st, 2) != 0,
	                               col(st, 3), db_column_int64(st, 4) != 0, col(st, 5)[0]);
}
static int domain_alias_row(ms_directory *d, db_stmt *st)
{
	/* by domain id: find the domain's name */
	int64_t id = db_column_int64(st, 0);
	for (size_t i = 0; i < d->ndoms; i++)
		if (d->doms[i].id == id)
			return ms_strmap_put(&d->dom_by_alias, col(st, 1), (int64_t)i);
	return 0;
}
static int account_row(ms_directory *d, db_stmt *st)
{
	return ms_directory_add_account(d, db_column_int64(st, 0), col(st, 1), db_column_int64(st, 2) != 0);
}
static int alias_row(ms_directory *d, db_stmt *st)
{
	return ms_directory_add_alias(d, col(st, 0), col(st, 1), db_column_int64(st, 2) != 0);
}
static int list_row(ms_directory *d, db_stmt *st)
{
	return ms_directory_add_list(d, col(st, 0), db_column_int64(st, 1) != 0);
}
static int member_row(ms_directory *d, db_stmt *st)
{
	return ms_directory_add_list_member(d, col(st, 0), col(st, 1));
}
static int route_row(ms_directory *d, db_stmt *st)
{
	return ms_directory_add_route(d, col(st, 0));
}

int ms_directory_load(db *conn, int schema_version, ms_directory **out, ms_err *e)
{
	static const struct { const char *sql; row_fn fn; } steps[] = {
		{ "SELECT domainid, domainname, domainactive, domainpostmaster, domainuseplusaddressing,"
		  " domainplusaddressingchar FROM hm_domains", domain_row },
		{ "SELECT dadomainid, daalias FROM hm_domain_aliases", domain_alias_row },
		{ "SELECT accountid, accountaddress, accountactive FROM hm_accounts", account_row },
		{ "SELECT aliasname, aliasvalue, aliasactive FROM hm_aliases", alias_row },
		{ "SELECT distributionlistaddress, distributionlistenabled FROM hm_distributionlists", list_row },
		{ "SELECT l.distributionlistaddress, r.distributionlistrecipientaddress"
		  " FROM hm_distributionlistsrecipients r JOIN hm_distributionlists l"
		  " ON l.distributionlistid = r.distributionlistrecipientlistid", member_row },
		{ "SELECT routedomainname FROM hm_routes", route_row },
	};
	ms_directory *d = ms_directory_new();
	if (!d)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	ms_directory_set_schema_version(d, schema_version);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (load_rows(conn, d, steps[i].sql, steps[i].fn, e) < 0) {
			ms_directory_free(d);
			return -1;
		}
	*out = d;
	return 0;
}
