/* model.c - what the database says exists: accounts, domains, folders,
 * loaded once (a few queries), and which of them the run covers.
 */
#include "reconstruct/rc_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/folders.h"
#include "store/sql.h"
#include "util/vec.h"

static char *lower_dup(const char *s)
{
	char *d = strdup(s ? s : "");
	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

int ms_rc_mailbox_parse(const char *arg, ms_rc_mailbox *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	if (strncmp(arg, "user/", 5) != 0)
		return ms_err_set(e, MS_E_USAGE, "mailbox '%s': write user/ADDRESS or user/ADDRESS/FOLDER", arg);
	const char *addr = arg + 5, *slash = strchr(addr, '/');
	size_t len = slash ? (size_t)(slash - addr) : strlen(addr);
	if (len == 0 || len >= sizeof out->address || !memchr(addr, '@', len))
		return ms_err_set(e, MS_E_USAGE, "mailbox '%s': '%.*s' is not an address", arg, (int)len, addr);
	memcpy(out->address, addr, len);
	if (slash) {
		snprintf(out->folder, sizeof out->folder, "%s", slash + 1);
		size_t fl = strlen(out->folder);
		while (fl && out->folder[fl - 1] == '/')
			out->folder[--fl] = '\0';
	}
	return 0;
}

static int cmp_account(const void *a, const void *b)
{
	int64_t x = ((const rc_account *)a)->id, y = ((const rc_account *)b)->id;
	return (x > y) - (x < y);
}

static int cmp_folder(const void *a, const void *b)
{
	int64_t x = ((const rc_folder *)a)->id, y = ((const rc_folder *)b)->id;
	return (x > y) - (x < y);
}

static int cmp_domain(const void *a, const void *b)
{
	int64_t x = ((const rc_domain *)a)->id, y = ((const rc_domain *)b)->id;
	return (x > y) - (x < y);
}

rc_account *rc_account_by_id(rc_run *run, int64_t id)
{
	rc_account key = { .id = id };
	return bsearch(&key, run->accounts, run->naccounts, sizeof key, cmp_account);
}

rc_folder *rc_folder_by_id(rc_run *run, int64_t id)
{
	rc_folder key = { .id = id };
	return run->nfolders ? bsearch(&key, run->folders, run->nfolders, sizeof key, cmp_folder) : NULL;
}

static const ms_rc_mailbox *named(const ms_rc_opts *o, const char *address)
{
	for (size_t i = 0; i < o->nmailboxes; i++)
		if (strcasecmp(o->mailboxes[i].address, address) == 0)
			return &o->mailboxes[i];
	return NULL;
}

static bool account_in_scope(const ms_rc_opts *o, const rc_account *a)
{
	if (o->nmailboxes && !named(o, a->address))
		return false;
	return ms_scope_has_account(&o->scope, a->local, a->domain);
}

static int load_accounts(rc_run *run, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(run->s->db, "SELECT accountid, accountdomainid, accountaddress, accountmaxsize FROM hm_accounts",
	                   NO_PARAMS, &st, e) < 0)
		return -1;
	size_t cap = 0;
	int rc;
	while ((rc = db_step(st, e)) == DB_ROW) {
		if (ms_vec_reserve_((void **)&run->accounts, &cap, run->naccounts + 1, sizeof *run->accounts) < 0) {
			db_finalize(st);
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
		}
		const char *addr = db_column_text(st, 2) ? db_column_text(st, 2) : "";
		const char *at = strrchr(addr, '@');
		rc_account *a = &run->accounts[run->naccounts++];
		*a = (rc_account){ .id = db_column_int64(st, 0), .domain_id = db_column_int64(st, 1),
		                   .address = strdup(addr), .max_size_mb = db_column_int64(st, 3), .owner = -1 };
		a->local = lower_dup(at ? "" : addr);
		if (at) {
			free(a->local);
			a->local = strndup(addr, (size_t)(at - addr));
			for (char *p = a->local; p && *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
		a->domain = lower_dup(at ? at + 1 : "");
		if (!a->address || !a->local || !a->domain) { db_finalize(st); return ms_err_set(e, MS_E_NOMEM, "out of memory"); }
	}
	db_finalize(st);
	if (rc == DB_ERROR)
		return -1;
	if (run->naccounts)
		qsort(run->accounts, run->naccounts, sizeof *run->accounts, cmp_account);
	for (size_t i = 0; i < run->naccounts; i++) {
		rc_account *a = &run->accounts[i];
		char key[600];
		snprintf(key, sizeof key, "%s@%s", a->local, a->domain);
		if (ms_strmap_put(&run->account_by_address, key, (int64_t)i) < 0)
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
		a->in_scope = account_in_scope(run->o, a);
	}
	return 0;
}

static int load_domains(rc_run *run, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(run->s->db, "SELECT domainid, domainname, domainmaxsize FROM hm_domains", NO_PARAMS, &st, e) < 0)
		return -1;
	size_t cap = 0;
	int rc;
	while ((rc = db_step(st, e)) == DB_ROW) {
		if (ms_vec_reserve_((void **)&run->domains, &cap, run->ndomains + 1, sizeof *run->domains) < 0) {
			db_finalize(st);
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
		}
		run->domains[run->ndomains++] = (rc_domain){ db_column_int64(st, 0), lower_dup(db_column_text(st, 1)),
		                                             db_column_int64(st, 2) };
	}
	db_finalize(st);
	if (rc == DB_ERROR)
		return -1;
	if (run->ndomains)
		qsort(run->domains, run->ndomains, sizeof *run->domains, cmp_domain);
	return 0;
}

static bool has_domain(const rc_run *run, const char *name)
{
	for (size_t i = 0; i < run->ndomains; i++)
		if (run->domains[i].name && strcasecmp(run->domains[i].name, name) == 0)
			return true;
	return false;
}

/* Every named mailbox and domain must exist: a typo must not look like a
 * clean check. */
static int check_named(rc_run *run, ms_err *e)
{
	for (const char *const *d = run->o->scope.domains; d && *d; d++)
		if (!has_domain(run, *d))
			return ms_err_set(e, MS_E_NOTFOUND, "--domain %s: no such domain", *d);
	for (size_t i = 0; i < run->o->nmailboxes; i++) {
		char key[300];
		snprintf(key, sizeof key, "%s", run->o->mailboxes[i].address);
		for (char *p = key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		int64_t idx;
		if (!ms_strmap_get(&run->account_by_address, key, &idx))
			return ms_err_set(e, MS_E_NOTFOUND, "mailbox user/%s: no such account", run->o->mailboxes[i].address);
	}
	return 0;
}

int rc_load_model(rc_run *run, ms_err *e)
{
	if (load_accounts(run, e) < 0 || load_domains(run, e) < 0 || check_named(run, e) < 0)
		return -1;
	return 0;
}

/* The folder path below the account: "INBOX/Sub".  A parent chain that
 * breaks or loops ends the path where it does. */
static void folder_path(rc_run *run, const rc_folder *f, char *out, size_t len)
{
	const rc_folder *chain[64];
	size_t n = 0;
	for (const rc_folder *c = f; c && n < 64; c = c->parent_id == -1 ? NULL : rc_folder_by_id(run, c->parent_id)) {
		bool loop = false;
		for (size_t i = 0; i < n; i++)
			loop |= chain[i] == c;
		if (loop || c->account_id != f->account_id)
			break;
		chain[n++] = c;
	}
	size_t at = 0;
	out[0] = '\0';
	while (n-- > 0 && at < len)
		at += (size_t)snprintf(out + at, len - at, "%s%s", at ? "/" : "", chain[n]->name);
}

char *rc_folder_mailbox(rc_run *run, const rc_account *a, const rc_folder *f)
{
	if (!f)
		return a ? rc_strdup_printf("user/%s", a->address) : strdup("store");
	char path[2048];
	folder_path(run, f, path, sizeof path);
	if (!a)
		return rc_strdup_printf("#Public/%s", path);
	return rc_strdup_printf("user/%s/%s", a->address, path);
}

/* A folder named on the command line narrows its account to that folder. */
static int scope_folders(rc_run *run, ms_err *e)
{
	for (size_t i = 0; i < run->nfolders; i++) {
		rc_folder *f = &run->folders[i];
		rc_account *a = f->account_id > 0 ? rc_account_by_id(run, f->account_id) : NULL;
		f->in_scope = a ? a->in_scope : run->store_wide;
		if (a && f->parent_id == -1 && strcasecmp(f->name, "INBOX") == 0 && !a->inbox_id)
			a->inbox_id = f->id;
	}
	for (size_t m = 0; m < run->o->nmailboxes; m++) {
		const ms_rc_mailbox *mb = &run->o->mailboxes[m];
		if (!mb->folder[0])
			continue;
		bool found = false;
		for (size_t i = 0; i < run->nfolders; i++) {
			rc_folder *f = &run->folders[i];
			rc_account *a = f->account_id > 0 ? rc_account_by_id(run, f->account_id) : NULL;
			if (!a || strcasecmp(a->address, mb->address) != 0)
				continue;
			char path[2048];
			folder_path(run, f, path, sizeof path);
			f->in_scope = strcasecmp(path, mb->folder) == 0;
			found |= f->in_scope;
		}
		if (!found)
			return ms_err_set(e, MS_E_NOTFOUND, "mailbox user/%s/%s: no such folder", mb->address, mb->folder);
	}
	return 0;
}

typedef struct load_ctx {
	rc_run *run;
	size_t cap;
	ms_err *e;
} load_ctx;

static int add_folder(void *ctx, const ms_folder_rec *r)
{
	load_ctx *l = ctx;
	rc_run *run = l->run;
	if (ms_vec_reserve_((void **)&run->folders, &l->cap, run->nfolders + 1, sizeof *run->folders) < 0)
		return ms_err_set(l->e, MS_E_NOMEM, "out of memory");
	rc_folder *f = &run->folders[run->nfolders];
	*f = (rc_folder){ .id = r->id, .account_id = r->account_id, .parent_id = r->parent_id, .name = strdup(r->name),
	                  .current_uid = r->current_uid };
	if (!f->name)
		return ms_err_set(l->e, MS_E_NOMEM, "out of memory");
	run->nfolders++;
	snprintf(f->created, sizeof f->created, "%s", r->created);
	return 0;
}

int rc_load_folders(rc_run *run, ms_err *e)
{
	load_ctx l = { .run = run, .e = e };
	if (ms_folders_each(run->s->db, add_folder, &l, e) < 0)
		return -1;
	if (run->nfolders)
		qsort(run->folders, run->nfolders, sizeof *run->folders, cmp_folder);
	return scope_folders(run, e);
}

/* Read again after the row pass: a folder's current UID read now is at
 * least every UID the pass saw, so a concurrent delivery is no "uid-behind". */
static int reload_uid(void *ctx, const ms_folder_rec *r)
{
	rc_folder *f = rc_folder_by_id(ctx, r->id);
	if (f)
		f->current_uid = r->current_uid;
	return 0;
}

int rc_reload_current_uids(rc_run *run, ms_err *e)
{
	return ms_folders_each(run->s->db, reload_uid, run, e);
}

void rc_model_free(rc_run *run)
{
	for (size_t i = 0; i < run->naccounts; i++) {
		free(run->accounts[i].address);
		free(run->accounts[i].local);
		free(run->accounts[i].domain);
	}
	free(run->accounts);
	for (size_t i = 0; i < run->ndomains; i++)
		free(run->domains[i].name);
	free(run->domains);
	for (size_t i = 0; i < run->nfolders; i++)
		free(run->folders[i].name);
	free(run->folders);
	ms_strmap_free(&run->account_by_address);
}
