/* mailbox.c - see mailbox.h. */
#include "store/mailbox.h"

#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "db/txn.h"
#include "store/browse.h"
#include "store/folders.h"
#include "store/layout.h"
#include "store/msgfile.h"
#include "store/objects.h"
#include "store/sql.h"
#include "store/trash.h"
#include "util/testhook.h"
#include "util/vec.h"

#define MAX_DEPTH 128   /* a parent chain longer than this is a loop in the rows */

/* ---- names ----------------------------------------------------------------- */

static int check_path(const char *name, const char *path, ms_err *e)
{
	size_t level = 0;
	for (const char *p = path; ; p++) {
		if (*p == '/' || *p == '\0') {
			if (level == 0)
				return ms_err_set(e, MS_E_USAGE, "mailbox '%s': empty folder level", name);
			if (level > 255)
				return ms_err_set(e, MS_E_USAGE, "mailbox '%s': a folder level longer than 255 bytes", name);
			if (*p == '\0')
				return 0;
			level = 0;
			continue;
		}
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			return ms_err_set(e, MS_E_USAGE, "mailbox '%s': a control character in a folder name", name);
		level++;
	}
}

static void lower_owner_dir(const char *address, char *out, size_t len)
{
	const char *at = strrchr(address, '@');
	assert(at);
	snprintf(out, len, "%s/%.*s", at + 1, (int)(at - address), address);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

static int find_account(db *d, const char *name, const char *typed, ms_mailbox *mb, ms_err *e)
{
	char addr[256];
	ms_address_lookup_form(typed, addr);
	db_stmt *st;
	if (ms_sql_prepare(d, "SELECT accountid, accountdomainid, accountaddress FROM hm_accounts"
	                   " WHERE LOWER(accountaddress) = LOWER(?) ORDER BY accountid", PARAMS(P_TEXT(addr)), &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	if (rc == DB_ROW) {
		mb->account_id = db_column_int64(st, 0);
		mb->domain_id = db_column_int64(st, 1);
		const char *a = db_column_text(st, 2);
		snprintf(mb->address, sizeof mb->address, "%s", a ? a : addr);
	}
	db_finalize(st);
	if (rc == DB_ERROR)
		return -1;
	if (rc == DB_DONE)
		return ms_err_set(e, MS_E_NOTFOUND, "mailbox '%s': no account %s", name, addr);
	if (!strrchr(mb->address, '@'))
		return ms_err_set(e, MS_E_USAGE, "mailbox '%s': the account's address '%s' has no '@'", name, mb->address);
	lower_owner_dir(mb->address, mb->owner_dir, sizeof mb->owner_dir);
	return 0;
}

void ms_mailbox_owner_on_disk(ms_mailbox *mb, const char *data_dir)
{
	const char *at = strrchr(mb->address, '@');
	if (!mb->account_id || !at || !data_dir)
		return;
	int root = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return;
	char local[256];
	snprintf(local, sizeof local, "%.*s", (int)(at - mb->address), mb->address);
	ms_msgfile_owner_dir(root, local, at + 1, mb->owner_dir, sizeof mb->owner_dir);
	close(root);
}

int ms_mailbox_resolve(db *d, const char *name, ms_mailbox *mb, ms_err *e)
{
	memset(mb, 0, sizeof *mb);
	const char *rest;
	if (strncasecmp(name, MS_PUBLIC_DIR, strlen(MS_PUBLIC_DIR)) == 0 &&
	    (name[strlen(MS_PUBLIC_DIR)] == '/' || name[strlen(MS_PUBLIC_DIR)] == '\0')) {
		snprintf(mb->owner_dir, sizeof mb->owner_dir, MS_PUBLIC_DIR);
		rest = name + strlen(MS_PUBLIC_DIR);
	} else if (strncmp(name, "user/", 5) == 0) {
		const char *slash = strchr(name + 5, '/');
		size_t len = slash ? (size_t)(slash - name - 5) : strlen(name + 5);
		char addr[256];
		if (len == 0 || len >= sizeof addr || !memchr(name + 5, '@', len))
			return ms_err_set(e, MS_E_USAGE, "mailbox '%s': expected user/ADDRESS[/FOLDER...]", name);
		snprintf(addr, sizeof addr, "%.*s", (int)len, name + 5);
		if (find_account(d, name, addr, mb, e) < 0)
			return -1;
		rest = name + 5 + len;
	} else {
		return ms_err_set(e, MS_E_USAGE, "mailbox '%s': expected user/ADDRESS[/FOLDER...] or #Public/FOLDER", name);
	}
	if (*rest == '/')
		rest++;
	if (!*rest)
		return 0;
	if (strlen(rest) >= sizeof mb->path)
		return ms_err_set(e, MS_E_USAGE, "mailbox '%s': name too long", name);
	if (check_path(name, rest, e) < 0)
		return -1;
	snprintf(mb->path, sizeof mb->path, "%s", rest);
	int rc = ms_browse_folder_find(d, mb->account_id, mb->path, '/', &mb->folder_id, e);
	if (rc <= 0)
		mb->folder_id = 0;
	return rc < 0 ? -1 : 0;
}

void ms_mailbox_name(const ms_mailbox *mb, char *out, size_t len)
{
	if (mb->account_id == 0)
		snprintf(out, len, MS_PUBLIC_DIR "%s%s", mb->path[0] ? "/" : "", mb->path);
	else
		snprintf(out, len, "user/%s%s%s", mb->address, mb->path[0] ? "/" : "", mb->path);
}

static bool is_inbox(const ms_mailbox *mb)
{
	return mb->account_id != 0 && strncasecmp(mb->path, "INBOX", 5) == 0 && mb->path[5] == '\0';
}

/* ---- listing ----------------------------------------------------------------- */

typedef struct frow {
	int64_t id, account_id, parent_id, current_uid, messages, bytes;
	bool subscribed;
	char created[20];
	char *level, *address, *name, *acl;
} frow;

typedef MS_VEC(frow) frow_vec;

static char *dup_text(db_stmt *st, int col)
{
	const char *s = db_column_text(st, col);
	return strdup(s ? s : "");
}

static int load_row(void *ctx, db_stmt *st)
{
	frow_vec *v = ctx;
	frow f = { .id = db_column_int64(st, 0), .account_id = db_column_int64(st, 1), .parent_id = db_column_int64(st, 2),
	           .subscribed = db_column_int64(st, 4) != 0, .current_uid = db_column_int64(st, 5) };
	const char *c = db_column_text(st, 6);
	snprintf(f.created, sizeof f.created, "%s", c ? c : "");
	f.level = dup_text(st, 3);
	f.address = dup_text(st, 7);
	if (!f.level || !f.address || ms_vec_push(v, f) < 0) {
		free(f.level);
		free(f.address);
		return -1;
	}
	return 0;
}

static int by_id(const void *a, const void *b)
{
	int64_t x = ((const frow *)a)->id, y = ((const frow *)b)->id;
	return x < y ? -1 : x > y;
}

static frow *find_id(frow_vec *v, int64_t id)
{
	frow key = { .id = id };
	return bsearch(&key, v->v, v->n, sizeof *v->v, by_id);
}

/* "user/ADDRESS/A/B" by the parent chain; a broken chain (a parent that is
 * gone or a loop) is named after what is left, with the folder's id. */
static int build_name(frow_vec *v, frow *f)
{
	const frow *chain[MAX_DEPTH];
	size_t depth = 0;
	bool broken = false;
	for (const frow *p = f; p; p = p->parent_id == -1 ? NULL : find_id(v, p->parent_id)) {
		if (depth == MAX_DEPTH || (p->parent_id != -1 && !find_id(v, p->parent_id))) {
			broken = depth == MAX_DEPTH || p->parent_id != -1;
			if (depth < MAX_DEPTH)
				chain[depth++] = p;
			break;
		}
		chain[depth++] = p;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return -1;
	if (f->account_id == 0)
		fputs(MS_PUBLIC_DIR, m);
	else
		fprintf(m, "user/%s", f->address);
	if (broken)
		fprintf(m, "/(folder %lld without parent)", (long long)f->id);
	for (size_t i = depth; i-- > 0;)
		fprintf(m, "/%s", chain[i]->level);
	fclose(m);
	f->name = buf;
	return buf ? 0 : -1;
}

/* The directory of a folder's files, relative to DATA: the account's as it
 * exists on disk in any case (root_fd -1: no data directory, lower case),
 * as ms_mailbox_owner_on_disk and `mstore path` have it. */
static void owner_dir_of(int root_fd, const frow *f, char *out, size_t len)
{
	const char *at = strrchr(f->address, '@');
	if (f->account_id == 0) {
		snprintf(out, len, MS_PUBLIC_DIR);
	} else if (!at) {
		snprintf(out, len, "%s", "");
	} else if (root_fd < 0) {
		lower_owner_dir(f->address, out, len);
	} else {
		char local[256];
		snprintf(local, sizeof local, "%.*s", (int)(at - f->address), f->address);
		ms_msgfile_owner_dir(root_fd, local, at + 1, out, len);
	}
}

static int count_row(void *ctx, db_stmt *st)
{
	frow *f = find_id(ctx, db_column_int64(st, 0));
	if (f) {
		f->messages = db_column_int64(st, 1);
		f->bytes = db_column_int64(st, 2);
	}
	return 0;
}

/* hm_acl's aclpermissiontype: 0 an account, 1 a group, 2 anyone
 * (hMailServer's ACLPermission::ePermissionType); the value is its bit
 * set, printed as it is (`mstore acl` maps it to RFC 4314 letters). */
static int acl_row(void *ctx, db_stmt *st)
{
	frow *f = find_id(ctx, db_column_int64(st, 0));
	if (!f)
		return 0;
	int64_t type = db_column_int64(st, 1), value = db_column_int64(st, 4);
	const char *who = db_column_text(st, 3);
	char entry[400];
	if (type == 0)
		snprintf(entry, sizeof entry, "%s=%lld", who && *who ? who : "(account gone)", (long long)value);
	else if (type == 1)
		snprintf(entry, sizeof entry, "group:%lld=%lld", (long long)db_column_int64(st, 2), (long long)value);
	else
		snprintf(entry, sizeof entry, "anyone=%lld", (long long)value);
	size_t old = f->acl ? strlen(f->acl) : 0;
	char *acl = realloc(f->acl, old + strlen(entry) + 2);
	if (!acl)
		return -1;
	snprintf(acl + old, strlen(entry) + 2, "%s%s", old ? "," : "", entry);
	f->acl = acl;
	return 0;
}

static int details(db *d, frow_vec *v, ms_err *e)
{
	if (ms_sql_each(d, "SELECT messagefolderid, COUNT(*), COALESCE(SUM(messagesize), 0) FROM hm_messages"
	                " WHERE messagetype = 2 GROUP BY messagefolderid", NO_PARAMS, count_row, v, e) < 0)
		return -1;
	return ms_sql_each(d, "SELECT c.aclsharefolderid, c.aclpermissiontype, c.aclpermissiongroupid, a.accountaddress,"
	                   " c.aclvalue FROM hm_acl c LEFT JOIN hm_accounts a ON a.accountid = c.aclpermissionaccountid"
	                   " ORDER BY c.aclid", NO_PARAMS, acl_row, v, e);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const frow *)a)->name, ((const frow *)b)->name);
}

static void free_rows(frow_vec *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->v[i].level);
		free(v->v[i].address);
		free(v->v[i].name);
		free(v->v[i].acl);
	}
	ms_vec_free(v);
}

int ms_mailbox_list(db *d, const char *data_dir, bool with_details, int (*fn)(void *ctx, const ms_mailbox_info *m),
                    void *ctx, ms_err *e)
{
	frow_vec v = { 0 };
	int rc = ms_sql_each(d, "SELECT f.folderid, f.folderaccountid, f.folderparentid, f.foldername, f.folderissubscribed,"
	                     " f.foldercurrentuid, f.foldercreationtime, a.accountaddress FROM hm_imapfolders f"
	                     " LEFT JOIN hm_accounts a ON a.accountid = f.folderaccountid", NO_PARAMS, load_row, &v, e);
	if (rc == 0) {
		qsort(v.v, v.n, sizeof *v.v, by_id);
		for (size_t i = 0; rc == 0 && i < v.n; i++)
			if (build_name(&v, &v.v[i]) < 0)
				rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	if (rc == 0 && with_details)
		rc = details(d, &v, e);
	int root = rc == 0 && data_dir ? open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (rc == 0) {
		qsort(v.v, v.n, sizeof *v.v, by_name);
		/* sorted by name, an account's folders are together: its directory is looked up once */
		int64_t dir_of = -1;
		char dir[520] = "";
		for (size_t i = 0; rc == 0 && i < v.n; i++) {
			const frow *f = &v.v[i];
			if (f->account_id != 0 && !f->address[0])
				continue; /* a folder of an account that is gone: reconstruct's finding, no mailbox */
			if (f->account_id != dir_of) {
				owner_dir_of(root, f, dir, sizeof dir);
				dir_of = f->account_id;
			}
			ms_mailbox_info m = { .folder_id = f->id, .account_id = f->account_id, .name = f->name,
			                      .address = f->address, .owner_dir = dir, .subscribed = f->subscribed,
			                      .current_uid = f->current_uid, .uidvalidity = ms_browse_uidvalidity(f->created),
			                      .messages = f->messages, .bytes = f->bytes, .acl = f->acl ? f->acl : "" };
			rc = fn(ctx, &m);
		}
	}
	if (root >= 0)
		close(root);
	free_rows(&v);
	return rc < 0 ? -1 : 0;
}

/* ---- create, rename, subscribe ------------------------------------------------ */

/* A name a new folder gets: no level '.' or '..' (a directory's own names,
 * and no IMAP name either), none holding the server's hierarchy
 * delimiter: an IMAP client would see two levels, and backup and export
 * (which join the levels with it) refuse such a folder. */
static int check_new_path(db *d, const char *name, const char *path, ms_err *e)
{
	char delim;
	if (ms_browse_delimiter(d, &delim, e) < 0)
		return -1;
	for (const char *p = path; p;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return ms_err_set(e, MS_E_USAGE, "mailbox '%s': '%.*s' is no folder name", name, (int)len, p);
		if (delim != '/' && memchr(p, delim, len))
			return ms_err_set(e, MS_E_USAGE, "mailbox '%s': folder level '%.*s' holds the hierarchy delimiter '%c'"
			                  " (IMAPHierarchyDelimiter)", name, (int)len, p, delim);
		p = end ? end + 1 : NULL;
	}
	return 0;
}

int ms_mailbox_create_check(db *d, const ms_mailbox *mb, ms_err *e)
{
	char name[1400];
	ms_mailbox_name(mb, name, sizeof name);
	if (!mb->path[0])
		return ms_err_set(e, MS_E_USAGE, "mailbox '%s': name a folder to create (accounts are made with"
		                  " `mstore account add`)", name);
	if (mb->folder_id)
		return ms_err_set(e, MS_E_EXISTS, "mailbox '%s' exists already", name);
	return check_new_path(d, name, mb->path, e);
}

int ms_mailbox_create(db *d, ms_mailbox *mb, ms_err *e)
{
	if (ms_mailbox_create_check(d, mb, e) < 0)
		return -1;
	db_txn *t;
	if (db_txn_begin(d, &t, e) < 0)
		return -1;
	if (ms_folder_ensure_path(d, mb->account_id, mb->path, '/', time(NULL), &mb->folder_id, e) < 0) {
		db_txn_rollback(&t);
		return -1;
	}
	return db_txn_commit(&t, e);
}

/* Is folder `id` `ancestor` or below it? */
static int is_below(db *d, int64_t id, int64_t ancestor, bool *below, ms_err *e)
{
	*below = false;
	for (int depth = 0; id != -1 && depth < MAX_DEPTH; depth++) {
		if (id == ancestor) {
			*below = true;
			return 0;
		}
		int64_t parent;
		int rc = ms_sql_int(d, "SELECT folderparentid FROM hm_imapfolders WHERE folderid = ?", PARAMS(P_INT(id)),
		                    &parent, e);
		if (rc <= 0)
			return rc;
		id = parent;
	}
	return 0;
}

static int below_itself(const char *a, const char *b, ms_err *e)
{
	return ms_err_set(e, MS_E_USAGE, "cannot rename '%s' to '%s': a folder cannot go below itself", a, b);
}

static void split_last(const char *path, char *parent, size_t plen, const char **leaf)
{
	const char *slash = strrchr(path, '/');
	snprintf(parent, plen, "%.*s", slash ? (int)(slash - path) : 0, path);
	*leaf = slash ? slash + 1 : path;
}

int ms_mailbox_rename_check(db *d, const ms_mailbox *from, const ms_mailbox *to, ms_err *e)
{
	char a[1400], b[1400];
	ms_mailbox_name(from, a, sizeof a);
	ms_mailbox_name(to, b, sizeof b);
	if (!from->folder_id)
		return ms_err_set(e, MS_E_NOTFOUND, "mailbox '%s' does not exist", a);
	if (from->account_id != to->account_id)
		return ms_err_set(e, MS_E_USAGE, "cannot rename '%s' to '%s': a folder is renamed within its account"
		                  " (user/A/INBOX user/B/INBOX moves a whole account)", a, b);
	if (!to->path[0])
		return ms_err_set(e, MS_E_USAGE, "cannot rename '%s' to '%s': the new name names no folder", a, b);
	if (is_inbox(from))
		return ms_err_set(e, MS_E_USAGE, "cannot rename '%s': INBOX stays (rename user/A/INBOX user/B/INBOX"
		                  " moves the account)", a);
	if (is_inbox(to)) /* a folder below INBOX is fine */
		return ms_err_set(e, MS_E_EXISTS, "cannot rename '%s' to '%s': INBOX exists", a, b);
	if (to->folder_id)
		return ms_err_set(e, MS_E_EXISTS, "cannot rename '%s' to '%s': '%s' exists already", a, b, b);
	if (check_new_path(d, b, to->path, e) < 0)
		return ms_err_prefix(e, "cannot rename '%s'", a);
	/* the missing levels of `to` go below its nearest existing ancestor */
	int64_t ancestor;
	bool below = false;
	int rc = ms_mailbox_existing_parent(d, to, &ancestor, e);
	if (rc > 0)
		rc = is_below(d, ancestor, from->folder_id, &below, e);
	if (rc < 0)
		return -1;
	if (below)
		return below_itself(a, b, e);
	return 0;
}

int ms_mailbox_rename(db *d, const ms_mailbox *from, ms_mailbox *to, ms_err *e)
{
	char a[1400], b[1400];
	ms_mailbox_name(from, a, sizeof a);
	ms_mailbox_name(to, b, sizeof b);
	if (ms_mailbox_rename_check(d, from, to, e) < 0)
		return -1;
	char parent[1024];
	const char *leaf;
	split_last(to->path, parent, sizeof parent, &leaf);
	db_txn *t;
	if (db_txn_begin(d, &t, e) < 0)
		return -1;
	int64_t parent_id = -1, changed = 0;
	bool below = false;
	int rc = 0;
	if (parent[0]) {
		rc = ms_folder_ensure_path(d, to->account_id, parent, '/', time(NULL), &parent_id, e);
		if (rc == 0)
			rc = is_below(d, parent_id, from->folder_id, &below, e);
		if (rc == 0 && below) /* checked above; a concurrent rename may have changed the tree since */
			rc = below_itself(a, b, e);
	}
	if (rc == 0)
		rc = ms_sql_exec(d, "UPDATE hm_imapfolders SET folderparentid = ?, foldername = ? WHERE folderid = ?"
		                 " AND folderaccountid = ?", PARAMS(P_INT(parent_id), P_TEXT(leaf), P_INT(from->folder_id),
		                 P_INT(from->account_id)), &changed, e);
	if (rc == 0 && changed != 1)
		rc = ms_err_set(e, MS_E_NOTFOUND, "mailbox '%s' disappeared meanwhile", a);
	if (rc < 0) {
		db_txn_rollback(&t);
		return -1;
	}
	if (db_txn_commit(&t, e) < 0)
		return -1;
	to->folder_id = from->folder_id;
	return 0;
}

int ms_mailbox_subscribe(db *d, const ms_mailbox *mb, bool on, ms_err *e)
{
	char name[1400];
	ms_mailbox_name(mb, name, sizeof name);
	if (!mb->folder_id)
		return ms_err_set(e, MS_E_NOTFOUND, "mailbox '%s' does not exist", name);
	return ms_sql_exec(d, "UPDATE hm_imapfolders SET folderissubscribed = ? WHERE folderid = ?",
	                   PARAMS(P_INT(on ? 1 : 0), P_INT(mb->folder_id)), NULL, e);
}

/* ---- delete -------------------------------------------------------------------- */

typedef MS_VEC(int64_t) id_vec;

static int push_child(void *ctx, db_stmt *st)
{
	return ms_vec_push((id_vec *)ctx, db_column_int64(st, 0));
}

int ms_mailbox_subtree(db *d, const ms_mailbox *mb, int64_t **ids, size_t *n, ms_err *e)
{
	id_vec v = { 0 };
	*ids = NULL;
	*n = 0;
	if (!mb->folder_id)
		return 0;
	if (ms_vec_push(&v, mb->folder_id) < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	/* breadth first; the account's rows only, so a foreign row cannot pull in others */
	for (size_t i = 0; i < v.n; i++) {
		if (v.n > 1000000) {
			ms_vec_free(&v);
			return ms_err_set(e, MS_E_INTERNAL, "folder %lld: the folder rows form a loop", (long long)mb->folder_id);
		}
		if (ms_sql_each(d, "SELECT folderid FROM hm_imapfolders WHERE folderparentid = ? AND folderaccountid = ?"
		                " ORDER BY folderid", PARAMS(P_INT(v.v[i]), P_INT(mb->account_id)), push_child, &v, e) < 0) {
			ms_vec_free(&v);
			return -1;
		}
	}
	*ids = v.v;
	*n = v.n;
	return 0;
}

static int by_id64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int ms_mailbox_covered(db *d, const ms_mailbox *mb, int64_t **ids, size_t *n, ms_err *e)
{
	if (mb->path[0]) {
		if (ms_mailbox_subtree(d, mb, ids, n, e) < 0)
			return -1;
		qsort(*ids, *n, sizeof **ids, by_id64); /* the one lock order (mboxlock.h) */
		return 0;
	}
	id_vec v = { 0 };
	*ids = NULL;
	*n = 0;
	if (ms_sql_each(d, "SELECT folderid FROM hm_imapfolders WHERE folderaccountid = ? ORDER BY folderid",
	                PARAMS(P_INT(mb->account_id)), push_child, &v, e) < 0) {
		ms_vec_free(&v);
		return -1;
	}
	*ids = v.v;
	*n = v.n;
	return 0;
}

int ms_mailbox_existing_parent(db *d, const ms_mailbox *mb, int64_t *id, ms_err *e)
{
	char path[sizeof mb->path];
	snprintf(path, sizeof path, "%s", mb->path);
	char *slash;
	while ((slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		int rc = ms_browse_folder_find(d, mb->account_id, path, '/', id, e);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int ms_mailbox_barrier(db *d, const int64_t *ids, size_t n, ms_err *e)
{
	db_txn *t;
	if (db_txn_begin(d, &t, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (ms_folder_lock(d, ids[i], e) < 0) {
			db_txn_rollback(&t);
			return -1;
		}
	return db_txn_commit(&t, e);
}

typedef struct del_ctx {
	bool write;                /* false: count only (a dry run) */
	ms_trash *trash;           /* NULL: no data directory, rows only */
	const ms_mailbox *mb;
	ms_mailbox_deletion *out;
	ms_err *e;
} del_ctx;

static int del_message(void *c, db_stmt *st)
{
	del_ctx *x = c;
	x->out->messages++;
	x->out->bytes += (uint64_t)db_column_int64(st, 2);
	if (!x->write || !x->trash)
		return 0;
	const char *fn = db_column_text(st, 1);
	char rel[1200];
	if (!fn || !ms_layout_path(x->mb->account_id ? MS_PLACE_ACCOUNT : MS_PLACE_PUBLIC, x->mb->owner_dir,
	                           ms_layout_base_name(fn), rel, sizeof rel))
		return 0; /* no usable name: nothing on disk to take care of */
	return ms_trash_add(x->trash, db_column_int64(st, 0), rel, x->e);
}

static const char *const delete_sql[] = {
	("DELETE FROM hm_messagerecipients WHERE recipientmessageid IN"
	 " (SELECT messageid FROM hm_messages WHERE messageaccountid = ? AND messagefolderid = ?)"),
	"DELETE FROM hm_message_metadata WHERE metadata_accountid = ? AND metadata_folderid = ?",
	"DELETE FROM hm_messages WHERE messageaccountid = ? AND messagefolderid = ?",
};

/* Lock, list into the intent, and delete the rows of one folder. */
static int delete_folder_rows(db *d, del_ctx *x, int64_t folder, ms_err *e)
{
	size_t before = x->out->messages;
	int64_t changed = 0;
	if (x->write && ms_folder_lock(d, folder, e) < 0)
		return -1;
	if (ms_sql_each(d, "SELECT messageid, messagefilename, messagesize FROM hm_messages WHERE messageaccountid = ?"
	                " AND messagefolderid = ? ORDER BY messageid", PARAMS(P_INT(x->mb->account_id), P_INT(folder)),
	                del_message, x, e) < 0)
		return -1;
	if (!x->write)
		return 0;
	for (size_t i = 0; i < sizeof delete_sql / sizeof *delete_sql; i++)
		if (ms_sql_exec(d, delete_sql[i], PARAMS(P_INT(x->mb->account_id), P_INT(folder)), i == 2 ? &changed : NULL,
		                e) < 0)
			return -1;
	if ((size_t)changed != x->out->messages - before)
		return ms_err_set(e, MS_E_DB, "folder %lld changed while it was deleted (%lld rows, %zu listed); nothing"
		                  " was deleted, run it again", (long long)folder, (long long)changed,
		                  x->out->messages - before);
	if (ms_sql_exec(d, "DELETE FROM hm_acl WHERE aclsharefolderid = ?", PARAMS(P_INT(folder)), NULL, e) < 0)
		return -1;
	return ms_sql_exec(d, "DELETE FROM hm_imapfolders WHERE folderid = ?", PARAMS(P_INT(folder)), NULL, e);
}

/* The latest foldercreationtime among the folders (as text: the format
 * sorts). */
static int latest_created(db *d, const int64_t *ids, size_t n, char out[32], ms_err *e)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		db_stmt *st;
		if (ms_sql_prepare(d, "SELECT foldercreationtime FROM hm_imapfolders WHERE folderid = ?",
		                   PARAMS(P_INT(ids[i])), &st, e) < 0)
			return -1;
		int rc = db_step(st, e);
		const char *c = rc == DB_ROW ? db_column_text(st, 0) : NULL;
		if (c && strncmp(c, out, 19) > 0)
			snprintf(out, 32, "%.19s", c);
		db_finalize(st);
		if (rc == DB_ERROR)
			return -1;
	}
	return 0;
}

/* A re-created folder must not get the UIDVALIDITY of the deleted one: it
 * is the creation second, so wait (at most two seconds) until the server's
 * wall clock has passed it. */
static void let_second_pass(const char *latest)
{
	for (int i = 0; i < 25 && latest[0]; i++) {
		char now[32];
		ms_sql_now(now);
		if (strncmp(now, latest, 19) > 0)
			return;
		usleep(100000);
	}
}

int ms_mailbox_delete(db *d, const char *data_dir, const ms_mailbox *mb, bool purge, bool dry_run,
                      ms_mailbox_deletion *out, ms_err *e)
{
	char name[1400];
	ms_mailbox_name(mb, name, sizeof name);
	memset(out, 0, sizeof *out);
	if (!mb->path[0])
		return ms_err_set(e, MS_E_USAGE, "mailbox '%s': name a folder (accounts go with `mstore account delete`)",
		                  name);
	if (!mb->folder_id)
		return ms_err_set(e, MS_E_NOTFOUND, "mailbox '%s' does not exist", name);
	if (is_inbox(mb))
		return ms_err_set(e, MS_E_USAGE, "mailbox '%s': INBOX cannot be deleted (IMAP's rule)", name);
	int64_t *ids;
	size_t n;
	if (ms_mailbox_subtree(d, mb, &ids, &n, e) < 0)
		return -1;
	out->folders = n;
	del_ctx x = { .mb = mb, .out = out, .e = e };
	int rc = 0;
	if (dry_run) {
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = delete_folder_rows(d, &x, ids[i], e);
		free(ids);
		return rc;
	}
	char latest[32];
	db_txn *t = NULL;
	x.write = true;
	if (data_dir && (purge ? ms_trash_begin_purge(data_dir, &x.trash, e) : ms_trash_begin(data_dir, &x.trash, e)) < 0) {
		free(ids);
		return -1;
	}
	rc = latest_created(d, ids, n, latest, e);
	if (rc == 0)
		rc = db_txn_begin(d, &t, e);
	/* without a data directory the rows still go (reported as files not found) */
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = delete_folder_rows(d, &x, ids[i], e);
	free(ids);
	ms_trash *keep = x.trash;
	if (rc == 0 && keep)
		rc = ms_trash_sync(keep, e);
	if (rc == 0)
		ms_test_hook("folder-delete-synced");
	if (rc < 0) {
		db_txn_rollback(&t);
		if (keep)
			ms_trash_abort(keep);
		memset(out, 0, sizeof *out);
		return -1;
	}
	if (db_txn_commit(&t, e) < 0) {
		ms_trash_leave(keep); /* the commit may have happened: the recover decides by the rows */
		return -1;
	}
	ms_test_hook("folder-delete-committed");
	if (!keep)
		out->files_missing = out->messages;
	else if (ms_trash_finish(keep, &out->files_moved, &out->files_missing, e) < 0)
		return -1;
	let_second_pass(latest);
	return 0;
}
