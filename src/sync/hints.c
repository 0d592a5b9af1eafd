/* hints.c - --hints-from URL: folders, flags and internal dates from an
 * older copy of the database (last night's dump restored somewhere).
 *
 * The most common complaint about the original synchronizer is that after
 * a resync every message lands in the Inbox, unread.  When an older copy
 * of the database knew a file (by its name) for the same account, sync
 * puts the file back into the folder it had there (creating the folder
 * path if needed), with its flags and internal date.
 *
 * Only the rows for files this run is about to import are kept: the old
 * database is streamed once and filtered against the candidates' names.
 */
#include "sync/sync_internal.h"

#include "store/folders.h"
#include "store/layout.h"
#include "store/messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/strmap.h"

struct hint_set {
	ms_hint *v;
	size_t n, cap;
	ms_strmap by_name;   /* file name -> index */
};

static int add_hint(hint_set *h, const ms_hint *x)
{
	if (ms_vec_reserve(h, h->n + 1) < 0)
		return -1;
	h->v[h->n] = *x;
	return ms_strmap_put(&h->by_name, x->name, (int64_t)h->n++);
}

void sync_hints_free(hint_set *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].account);
		free(h->v[i].folder);
	}
	free(h->v);
	ms_strmap_free(&h->by_name);
	free(h);
}

const ms_hint *sync_hint_for(const hint_set *h, const char *name, const char *account)
{
	int64_t i;
	if (!h || !ms_strmap_get(&h->by_name, name, &i))
		return NULL;
	return strcasecmp(h->v[i].account, account) == 0 ? &h->v[i] : NULL;
}

/* ---- the old database's folder tree ------------------------------------------ */

typedef struct old_folder {
	int64_t id, parent;
	char *name;
} old_folder;

typedef struct old_folders {
	old_folder *v;
	size_t n, cap;
	ms_strmap by_id; /* decimal id -> index */
} old_folders;

typedef struct fload {
	old_folders *f;
	ms_err *e;
} fload;

static int add_old_folder(void *ctx, const ms_folder_rec *r)
{
	fload *l = ctx;
	old_folders *f = l->f;
	char key[32];
	if (ms_vec_reserve(f, f->n + 1) < 0)
		return ms_err_set(l->e, MS_E_NOMEM, "out of memory reading the hint database's folders");
	old_folder *x = &f->v[f->n];
	*x = (old_folder){ r->id, r->parent_id, strdup(r->name) };
	snprintf(key, sizeof key, "%lld", (long long)x->id);
	if (!x->name || ms_strmap_put(&f->by_id, key, (int64_t)f->n) < 0) {
		free(x->name);
		return ms_err_set(l->e, MS_E_NOMEM, "out of memory reading the hint database's folders");
	}
	f->n++;
	return 0;
}

static int load_folders(db *old, old_folders *f, ms_err *e)
{
	fload l = { .f = f, .e = e };
	return ms_folders_each(old, add_old_folder, &l, e);
}

static void free_folders(old_folders *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].name);
	free(f->v);
	ms_strmap_free(&f->by_id);
}

/* "Archive" MS_FOLDER_SEP "2020": the names from the top level down;
 * NULL for INBOX (the default) or a folder that cannot be traced. */
static char *folder_path(const old_folders *f, int64_t id)
{
	const char *names[64];
	int depth = 0;
	char key[32];
	int64_t idx;
	while (id != -1 && depth < 64) {
		snprintf(key, sizeof key, "%lld", (long long)id);
		if (!ms_strmap_get(&f->by_id, key, &idx))
			return NULL;
		names[depth++] = f->v[idx].name;
		id = f->v[idx].parent;
	}
	if (depth == 0 || depth == 64 || (depth == 1 && strcasecmp(names[0], "INBOX") == 0))
		return NULL;
	size_t len = 0;
	for (int i = 0; i < depth; i++)
		len += strlen(names[i]) + 1;
	char *p = malloc(len), *w = p;
	if (!p)
		return NULL;
	for (int i = depth - 1; i >= 0; i--) {
		w = stpcpy(w, names[i]);
		if (i)
			*w++ = MS_FOLDER_SEP;
	}
	*w = '\0';
	return p;
}

/* ---- loading ------------------------------------------------------------------ */

typedef struct hload {
	const ms_refset *wanted;
	const old_folders *f;
	hint_set *h;
	ms_err *e;
} hload;

static int add_old_message(void *ctx, const char *file, const char *acct, int64_t folder, int64_t flags,
                           const char *created)
{
	hload *l = ctx;
	if (!file || !acct || ms_refset_match(l->wanted, MS_REF_QUEUE, ms_layout_base_name(file)) == MS_REF_NONE)
		return 0;
	ms_hint x = { .name = strdup(ms_layout_base_name(file)), .account = strdup(acct),
	              .folder = folder_path(l->f, folder), .flags = (int)flags };
	snprintf(x.created, sizeof x.created, "%.19s", created ? created : "");
	if (!x.name || !x.account || add_hint(l->h, &x) < 0) {
		free(x.name);
		free(x.account);
		free(x.folder);
		return ms_err_set(l->e, MS_E_NOMEM, "out of memory reading hints");
	}
	return 0;
}

static int read_hints(db *old, const ms_refset *wanted, const old_folders *f, hint_set *h, ms_err *e)
{
	hload l = { .wanted = wanted, .f = f, .h = h, .e = e };
	return ms_messages_each_delivered(old, add_old_message, &l, e);
}

int sync_hints_load(sync_run *run, const char *url, const char *password, ms_err *e)
{
	ms_refset *wanted = ms_refset_new();
	hint_set *h = calloc(1, sizeof *h);
	old_folders f = { 0 };
	db *old = NULL;
	int rc = -1;
	if (!wanted || !h) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < run->cands.n; i++)
		if (ms_refset_add(wanted, MS_REF_QUEUE, run->cands.v[i].relpath + run->cands.v[i].name_off, 0) < 0) {
			ms_err_set(e, MS_E_NOMEM, "out of memory");
			goto out;
		}
	if (db_open(url, password, DB_OPEN_READ_ONLY, &old, e) < 0 || load_folders(old, &f, e) < 0 ||
	    read_hints(old, wanted, &f, h, e) < 0) {
		ms_err_prefix(e, "--hints-from");
		goto out;
	}
	run->hints = h;
	h = NULL;
	rc = 0;
out:
	if (old)
		db_close(old);
	free_folders(&f);
	ms_refset_free(wanted);
	sync_hints_free(h);
	return rc;
}
