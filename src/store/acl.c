/* acl.c - hm_acl: public folders' rights (the rules are in acl.h). */
#include "store/acl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/browse.h"
#include "store/objects.h"
#include "store/sql.h"
#include "util/vec.h"

/* The letters in bit order: bit k is letters[k] (ACLPermission::GetRights). */
static const char letters[] = "lrswipkxtea";

void ms_acl_letters(int64_t bits, char out[MS_ACL_LETTERS])
{
	size_t n = 0;
	for (int k = 0; letters[k]; k++)
		if (bits & (1 << k))
			out[n++] = letters[k];
	out[n] = '\0';
}

static int64_t letter_bits(char c)
{
	const char *p = c ? strchr(letters, c) : NULL;
	if (p)
		return 1 << (p - letters);
	if (c == 'c') /* RFC 4314 2.1.1: the obsolete create right is k and x */
		return 64 | 128;
	if (c == 'd') /* ... and the obsolete delete right x, t and e */
		return 128 | 256 | 512;
	return 0;
}

int ms_acl_parse(const char *rights, int64_t *bits, char *mode, ms_err *e)
{
	*mode = '=';
	if (rights[0] == '+' || rights[0] == '-')
		*mode = *rights++;
	*bits = 0;
	for (const char *p = rights; *p; p++) {
		int64_t b = letter_bits(*p);
		if (!b)
			return ms_err_set(e, MS_E_USAGE,
			                  "'%c' in rights '%s' is not an IMAP ACL right (RFC 4314: l r s w i p k x t e a)",
			                  *p, rights);
		*bits |= b;
	}
	return 0;
}

/* The public folders with their '/'-separated paths, by id. */
typedef struct pub_folder {
	int64_t id, parent;
	char path[1024];
} pub_folder;

static pub_folder *find_id(pub_folder *v, size_t n, int64_t id)
{
	for (size_t k = 0; k < n; k++)
		if (v[k].id == id)
			return &v[k];
	return NULL;
}

static int public_folders(db *d, pub_folder **out, size_t *n, ms_err *e)
{
	ms_folder_row *f;
	size_t nf;
	if (ms_browse_folders(d, 0, &f, &nf, e) < 0)
		return -1;
	pub_folder *v = calloc(nf ? nf : 1, sizeof *v);
	if (!v) {
		ms_browse_folders_free(f, nf);
		return ms_err_set(e, MS_E_NOMEM, "out of memory listing the public folders");
	}
	for (size_t k = 0; k < nf; k++)
		v[k] = (pub_folder){ .id = f[k].id, .parent = f[k].parent_id };
	/* a broken tree (reconstruct's folder-parent finding) is named by the
	 * levels that are left */
	for (size_t k = 0; k < nf; k++)
		ms_browse_folder_path(f, nf, &f[k], '/', false, v[k].path, sizeof v[k].path);
	ms_browse_folders_free(f, nf);
	*out = v;
	*n = nf;
	return 0;
}

int ms_public_folder_find(db *d, const char *path, int64_t *folder, ms_err *e)
{
	pub_folder *v;
	size_t n;
	if (public_folders(d, &v, &n, e) < 0)
		return -1;
	int found = 0;
	for (size_t k = 0; k < n && !found; k++)
		if (strcmp(v[k].path, path) == 0) {
			*folder = v[k].id;
			found = 1;
		}
	free(v);
	return found;
}

typedef struct group_pick {
	const char *name;
	int64_t id;
	bool exact;
} group_pick;

/* Rows come by id: the first exact name wins, else the first of any case. */
static int pick_group(void *ctx, db_stmt *st)
{
	group_pick *g = ctx;
	const char *name = db_column_text(st, 1);
	bool exact = name && strcmp(name, g->name) == 0;
	if (g->id == 0 || (exact && !g->exact)) {
		g->id = db_column_int64(st, 0);
		g->exact = exact;
	}
	return 0;
}

/* The group named `name`: the one spelt exactly so, else (hMailServer
 * compares group names case-insensitively) the lowest id in any case.
 * 1 found, 0 none, -1 error.  In C, not SQL: MariaDB's '=' ignores case. */
static int find_group(db *d, const char *name, int64_t *id, ms_err *e)
{
	group_pick g = { .name = name };
	if (ms_sql_each(d, "SELECT groupid, groupname FROM hm_groups WHERE LOWER(groupname) = LOWER(?) ORDER BY groupid",
	                PARAMS(P_TEXT(name)), pick_group, &g, e) < 0)
		return -1;
	*id = g.id;
	return g.id != 0;
}

int ms_acl_who(db *d, const char *who, int *type, int64_t *id, ms_err *e)
{
	*id = 0;
	if (strcasecmp(who, "anyone") == 0) {
		*type = MS_ACL_ANYONE;
		return 0;
	}
	bool address = strchr(who, '@') != NULL;
	*type = address ? MS_ACL_ACCOUNT : MS_ACL_GROUP;
	if (!address)
		return ms_group_find(d, who, id, e);
	char key[256];
	ms_address_lookup_form(who, key);
	int rc = ms_sql_int(d, "SELECT accountid FROM hm_accounts WHERE LOWER(accountaddress) = LOWER(?)",
	                    PARAMS(P_TEXT(key)), id, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return ms_err_set(e, MS_E_NOTFOUND, "account '%s' does not exist", who);
	return 0;
}

int ms_group_find(db *d, const char *name, int64_t *id, ms_err *e)
{
	int rc = find_group(d, name, id, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return ms_err_set(e, MS_E_NOTFOUND, "group '%s' does not exist", name);
	return 0;
}

struct list_ctx {
	MS_VEC(ms_acl_row) v;
	pub_folder *folders;
	size_t nfolders;
	int64_t only;
};

static int list_row(void *ctx, db_stmt *st)
{
	struct list_ctx *c = ctx;
	ms_acl_row r = { .id = db_column_int64(st, 0), .folder_id = db_column_int64(st, 1),
	                 .type = (int)db_column_int64(st, 2), .bits = db_column_int64(st, 5) };
	if (c->only && r.folder_id != c->only)
		return 0;
	r.who_id = r.type == MS_ACL_GROUP ? db_column_int64(st, 3) : db_column_int64(st, 4);
	const char *name = r.type == MS_ACL_ANYONE ? "anyone" : db_column_text(st, r.type == MS_ACL_GROUP ? 7 : 6);
	if (!name || !*name)
		snprintf(r.who, sizeof r.who, "%s#%lld", r.type == MS_ACL_GROUP ? "group" : "account", (long long)r.who_id);
	else
		snprintf(r.who, sizeof r.who, "%s", name);
	pub_folder *f = find_id(c->folders, c->nfolders, r.folder_id);
	snprintf(r.folder, sizeof r.folder, "%s", f ? f->path : "?");
	return ms_vec_push(&c->v, r) < 0 ? -1 : 0;
}

static int by_folder_then_id(const void *a, const void *b)
{
	const ms_acl_row *x = a, *y = b;
	int c = strcmp(x->folder, y->folder);
	return c ? c : (x->id > y->id) - (x->id < y->id);
}

int ms_acl_list(db *d, int64_t folder, ms_acl_row **out, size_t *n, ms_err *e)
{
	struct list_ctx c = { .only = folder };
	*out = NULL;
	*n = 0;
	if (public_folders(d, &c.folders, &c.nfolders, e) < 0)
		return -1;
	int rc = ms_sql_each(d,
	                     "SELECT l.aclid, l.aclsharefolderid, l.aclpermissiontype, l.aclpermissiongroupid,"
	                     " l.aclpermissionaccountid, l.aclvalue, a.accountaddress, g.groupname FROM hm_acl l"
	                     " LEFT JOIN hm_accounts a ON l.aclpermissiontype = 0 AND a.accountid = l.aclpermissionaccountid"
	                     " LEFT JOIN hm_groups g ON l.aclpermissiontype = 1 AND g.groupid = l.aclpermissiongroupid",
	                     NO_PARAMS, list_row, &c, e);
	free(c.folders);
	if (rc < 0) {
		ms_vec_free(&c.v);
		return e->code ? -1 : ms_err_set(e, MS_E_NOMEM, "out of memory listing hm_acl");
	}
	if (c.v.n)
		qsort(c.v.v, c.v.n, sizeof *c.v.v, by_folder_then_id);
	*out = c.v.v;
	*n = c.v.n;
	return 0;
}

int ms_acl_get(db *d, int64_t folder, int type, int64_t id, int64_t *bits, ms_err *e)
{
	return ms_sql_int(d,
	                  "SELECT aclvalue FROM hm_acl WHERE aclsharefolderid = ? AND aclpermissiontype = ?"
	                  " AND aclpermissiongroupid = ? AND aclpermissionaccountid = ?",
	                  PARAMS(P_INT(folder), P_INT(type), P_INT(type == MS_ACL_GROUP ? id : 0),
	                         P_INT(type == MS_ACL_ACCOUNT ? id : 0)),
	                  bits, e);
}

int ms_acl_put(db *d, int64_t folder, int type, int64_t id, int64_t bits, ms_err *e)
{
	if (bits < 0 || bits > MS_ACL_ALL)
		return ms_err_set(e, MS_E_INTERNAL, "ACL value %lld out of range", (long long)bits);
	int64_t gid = type == MS_ACL_GROUP ? id : 0, aid = type == MS_ACL_ACCOUNT ? id : 0, old, changes = 0;
	int rc = ms_acl_get(d, folder, type, id, &old, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return ms_sql_exec(d,
		                   "UPDATE hm_acl SET aclvalue = ? WHERE aclsharefolderid = ? AND aclpermissiontype = ?"
		                   " AND aclpermissiongroupid = ? AND aclpermissionaccountid = ?",
		                   PARAMS(P_INT(bits), P_INT(folder), P_INT(type), P_INT(gid), P_INT(aid)), &changes, e);
	int64_t newid;
	return ms_sql_insert(d,
	                     "INSERT INTO hm_acl (aclsharefolderid, aclpermissiontype, aclpermissiongroupid,"
	                     " aclpermissionaccountid, aclvalue) VALUES (?, ?, ?, ?, ?)",
	                     "aclid", PARAMS(P_INT(folder), P_INT(type), P_INT(gid), P_INT(aid), P_INT(bits)), &newid, e);
}

int ms_acl_delete(db *d, int64_t folder, int type, int64_t id, int64_t *changed, ms_err *e)
{
	return ms_sql_exec(d,
	                   "DELETE FROM hm_acl WHERE aclsharefolderid = ? AND aclpermissiontype = ?"
	                   " AND aclpermissiongroupid = ? AND aclpermissionaccountid = ?",
	                   PARAMS(P_INT(folder), P_INT(type), P_INT(type == MS_ACL_GROUP ? id : 0),
	                          P_INT(type == MS_ACL_ACCOUNT ? id : 0)),
	                   changed, e);
}

/* Groups ---------------------------------------------------------------- */

typedef MS_VEC(char *) name_vec;

static int member_name(void *ctx, db_stmt *st)
{
	name_vec *v = ctx;
	char *a = strdup(db_column_text(st, 0));
	if (!a || ms_vec_push(v, a) < 0) {
		free(a);
		return -1;
	}
	return 0;
}

int ms_group_members(db *d, int64_t group, char ***out, size_t *n, ms_err *e)
{
	name_vec v = { 0 };
	int rc = ms_sql_each(d,
	                     "SELECT a.accountaddress FROM hm_group_members m JOIN hm_accounts a"
	                     " ON a.accountid = m.memberaccountid WHERE m.membergroupid = ? ORDER BY a.accountaddress",
	                     PARAMS(P_INT(group)), member_name, &v, e);
	if (rc < 0) {
		ms_group_members_free(v.v, v.n);
		return -1;
	}
	*out = v.v;
	*n = v.n;
	return 0;
}

void ms_group_members_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int ms_group_add(db *d, const char *name, int64_t *id, ms_err *e)
{
	return ms_sql_insert(d, "INSERT INTO hm_groups (groupname) VALUES (?)", "groupid", PARAMS(P_TEXT(name)), id, e);
}

int ms_group_member_add(db *d, int64_t group, int64_t account, ms_err *e)
{
	int64_t id;
	int rc = ms_sql_int(d, "SELECT memberid FROM hm_group_members WHERE membergroupid = ? AND memberaccountid = ?",
	                    PARAMS(P_INT(group), P_INT(account)), &id, e);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (ms_sql_insert(d, "INSERT INTO hm_group_members (membergroupid, memberaccountid) VALUES (?, ?)", "memberid",
	                  PARAMS(P_INT(group), P_INT(account)), &id, e) < 0)
		return -1;
	return 1;
}

/* Readership ------------------------------------------------------------ */

typedef struct member { int64_t group, account; } member;
typedef struct acct { int64_t id; char address[256]; } acct;

struct read_ctx {
	MS_VEC(member) members;
	MS_VEC(acct) accounts;
};

static int member_row(void *ctx, db_stmt *st)
{
	struct read_ctx *c = ctx;
	member m = { db_column_int64(st, 0), db_column_int64(st, 1) };
	return ms_vec_push(&c->members, m) < 0 ? -1 : 0;
}

static int account_row(void *ctx, db_stmt *st)
{
	struct read_ctx *c = ctx;
	acct a = { .id = db_column_int64(st, 0) };
	snprintf(a.address, sizeof a.address, "%s", db_column_text(st, 1) ? db_column_text(st, 1) : "");
	return ms_vec_push(&c->accounts, a) < 0 ? -1 : 0;
}

static bool is_member(const struct read_ctx *c, int64_t group, int64_t account)
{
	for (size_t k = 0; k < c->members.n; k++)
		if (c->members.v[k].group == group && c->members.v[k].account == account)
			return true;
	return false;
}

/* ACLManager::GetPermissionForAccount_ over the rows of one folder (by aclid). */
static int64_t rights_of(const struct read_ctx *c, const ms_acl_row *r, size_t n, int64_t account)
{
	for (size_t k = 0; k < n; k++)
		if (r[k].type == MS_ACL_ACCOUNT && r[k].who_id == account)
			return r[k].bits;
	for (size_t k = 0; k < n; k++)
		if (r[k].type == MS_ACL_GROUP && is_member(c, r[k].who_id, account))
			return r[k].bits;
	for (size_t k = 0; k < n; k++)
		if (r[k].type == MS_ACL_ANYONE)
			return r[k].bits;
	return 0;
}

/* The rows that decide for folder f: its own, else its nearest ancestor's. */
static void deciding_rows(const ms_acl_row *rows, size_t nrows, const pub_folder *fs, size_t nf, const pub_folder *f,
                          size_t *first, size_t *count)
{
	*count = 0;
	for (int depth = 0; f && depth < 250; depth++) { /* the server's maxRecursions */
		for (size_t k = 0; k < nrows; k++)
			if (rows[k].folder_id == f->id) {
				if (!*count)
					*first = k;
				++*count;
			}
		if (*count)
			return;
		f = f->parent > 0 ? find_id((pub_folder *)fs, nf, f->parent) : NULL;
	}
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const pub_folder *)a)->path, ((const pub_folder *)b)->path);
}

static int by_id(const void *a, const void *b)
{
	const ms_acl_row *x = a, *y = b;
	int c = (x->folder_id > y->folder_id) - (x->folder_id < y->folder_id);
	return c ? c : (x->id > y->id) - (x->id < y->id);
}

int ms_acl_readership(db *d, int (*fn)(void *ctx, const char *folder, const char *address, int64_t bits), void *ctx,
                      ms_err *e)
{
	struct read_ctx c = { 0 };
	pub_folder *fs = NULL;
	size_t nf = 0, nrows = 0;
	ms_acl_row *rows = NULL;
	int rc = -1;
	if (ms_acl_list(d, 0, &rows, &nrows, e) < 0 || public_folders(d, &fs, &nf, e) < 0 ||
	    ms_sql_each(d, "SELECT membergroupid, memberaccountid FROM hm_group_members", NO_PARAMS, member_row, &c, e) < 0 ||
	    ms_sql_each(d, "SELECT accountid, accountaddress FROM hm_accounts ORDER BY accountaddress", NO_PARAMS,
	                account_row, &c, e) < 0)
		goto out;
	/* rows grouped by folder, each group by aclid (the server sorts by id) */
	if (nrows)
		qsort(rows, nrows, sizeof *rows, by_id);
	/* fs sorted by path for the output; parents found by id, which
	 * find_id does by a linear search that order does not matter to */
	if (nf)
		qsort(fs, nf, sizeof *fs, by_path);
	rc = 0;
	for (size_t k = 0; k < nf && rc == 0; k++) {
		size_t first = 0, count = 0;
		deciding_rows(rows, nrows, fs, nf, &fs[k], &first, &count);
		for (size_t a = 0; a < c.accounts.n && count && rc == 0; a++) {
			int64_t bits = rights_of(&c, rows + first, count, c.accounts.v[a].id);
			if (bits)
				rc = fn(ctx, fs[k].path, c.accounts.v[a].address, bits);
		}
	}
out:
	free(rows);
	free(fs);
	ms_vec_free(&c.members);
	ms_vec_free(&c.accounts);
	return rc;
}
