/* backup.c - `mstore backup`: the selected accounts' folders and messages
 * to an archive (docs/backup-format.md).
 *
 * Consistency on a live store: each folder's messages are listed, then
 * fetched in batches; a message expunged in between fails its fetch and
 * is left out (counted as vanished), a message delivered after its
 * folder's listing is not in this backup.  A message's line goes to
 * messages.jsonl only after its content member is in the archive, and
 * messages.jsonl is written after every content member, so nothing in an
 * archive names content that is not in it.  The lines wait in a temporary
 * file (unlinked at once), not in memory.
 */
#include <glib.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "backup/archive.h"
#include "backup/bk_internal.h"
#include "store/browse.h"
#include "store/clock.h"
#include "store/layout.h"
#include "store/acl.h"
#include "store/mailbox.h"
#include "store/objects.h"
#include "util/json.h"

const struct bk_flag bk_flags[5] = {
	{ MS_FLAG_SEEN, MS_MSGFLAG_SEEN, "\\Seen" },
	{ MS_FLAG_ANSWERED, MS_MSGFLAG_ANSWERED, "\\Answered" },
	{ MS_FLAG_FLAGGED, MS_MSGFLAG_FLAGGED, "\\Flagged" },
	{ MS_FLAG_DELETED, MS_MSGFLAG_DELETED, "\\Deleted" },
	{ MS_FLAG_DRAFT, MS_MSGFLAG_DRAFT, "\\Draft" },
};

#define FETCH_BATCH 64
#define LIST_PAGE 1000

/* ---- selection ----------------------------------------------------------------- */

int ms_bk_sel_parse(const char *mailbox, ms_bk_sel *out, ms_err *e)
{
	*out = (ms_bk_sel){ 0 };
	if (strncmp(mailbox, "user/", 5) != 0)
		return ms_err_set(e, MS_E_USAGE, "mailbox %s: expected user/ADDRESS or user/ADDRESS/FOLDER", mailbox);
	const char *addr = mailbox + 5, *slash = strchr(addr, '/');
	size_t alen = slash ? (size_t)(slash - addr) : strlen(addr);
	const char *at = memchr(addr, '@', alen);
	if (alen == 0 || alen >= sizeof out->address || !at || at == addr || at + 1 == addr + alen)
		return ms_err_set(e, MS_E_USAGE, "mailbox %s: '%.*s' is not an address", mailbox, (int)alen, addr);
	snprintf(out->address, sizeof out->address, "%.*s", (int)alen, addr);
	snprintf(out->domain, sizeof out->domain, "%.*s", (int)(addr + alen - at - 1), at + 1);
	for (const char *p = slash; p && p[1];) {
		const char *next = strchr(p + 1, '/');
		size_t len = next ? (size_t)(next - p - 1) : strlen(p + 1);
		char **v = realloc(out->folder, (out->nfolder + 1) * sizeof *v);
		if (!v)
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
		out->folder = v;
		if (len == 0 || !(v[out->nfolder] = strndup(p + 1, len))) {
			ms_bk_sel_free(out, 1);
			return ms_err_set(e, MS_E_USAGE, "mailbox %s: an empty folder level", mailbox);
		}
		out->nfolder++;
		p = next;
	}
	return 0;
}

void ms_bk_sel_domain(const char *domain, ms_bk_sel *out)
{
	*out = (ms_bk_sel){ 0 };
	snprintf(out->domain, sizeof out->domain, "%s", domain);
}

void ms_bk_sel_free(ms_bk_sel *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		for (size_t j = 0; j < v[i].nfolder; j++)
			free(v[i].folder[j]);
		free(v[i].folder);
		v[i].folder = NULL;
		v[i].nfolder = 0;
	}
}

static bool domain_of_is(const char *address, const char *domain)
{
	const char *at = strrchr(address, '@');
	return at && strcasecmp(at + 1, domain) == 0;
}

/* INBOX compares in any case, as everywhere in hMailServer; other levels exactly. */
static bool levels_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (i == 0 ? strcasecmp(a[0], "INBOX") == 0 ? strcasecmp(b[0], "INBOX") != 0 : strcmp(a[0], b[0]) != 0
		           : strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

bool bk_selected(const ms_bk_sel *sel, size_t nsel, const char *address, char *const *levels, size_t n)
{
	if (nsel == 0)
		return true;
	for (size_t i = 0; i < nsel; i++) {
		const ms_bk_sel *s = &sel[i];
		if (!*s->address ? domain_of_is(address, s->domain)
		                 : strcasecmp(s->address, address) == 0 &&
		                   (!s->folder || !levels || levels_equal(s->folder, s->nfolder, levels, n)))
			return true;
	}
	return false;
}

bool bk_account_selected(const ms_bk_sel *sel, size_t nsel, const char *address)
{
	return bk_selected(sel, nsel, address, NULL, 0);
}

/* ---- shared helpers ------------------------------------------------------------ */

int bk_side_open(const ms_bk_store *w, const char *address, bool read_only, ms_side **out, ms_err *e)
{
	ms_side_opt opts[4] = { { "db", w->db_url }, { "data", w->data_dir }, { "account", address } };
	size_t n = 3;
	if (w->password)
		opts[n++] = (ms_side_opt){ "password", w->password };
	ms_side_conf conf = { .name = address, .opts = opts, .nopts = n, .read_only = read_only };
	return ms_drv_hmailserver.open(&conf, out, e) == MS_DRV_OK ? 0 : -1;
}

int bk_box_name(const ms_side *side, char *const *levels, size_t n, char **out, ms_err *e)
{
	GString *s = g_string_new(NULL);
	for (size_t i = 0; i < n; i++) {
		if (strchr(levels[i], side->delim)) {
			ms_err_set(e, MS_E_USAGE, "account %s: folder level '%s' holds the hierarchy delimiter '%c'",
			           side->name, levels[i], side->delim);
			g_string_free(s, TRUE);
			return -1;
		}
		if (i)
			g_string_append_c(s, side->delim);
		g_string_append(s, levels[i]);
	}
	*out = g_string_free(s, FALSE);
	return 0;
}

void bk_sha256_hex(const void *data, size_t len, char out[BK_SHA_HEX + 1])
{
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_init(&c);
	sha256_update(&c, len, data);
	sha256_digest(&c, sizeof d, d);
	for (size_t i = 0; i < sizeof d; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- the backup ---------------------------------------------------------------- */

typedef struct folder_path {
	int64_t id;
	char **levels;
	size_t n;
	const ms_folder_row *row;
} folder_path;

typedef struct bk_run {
	ms_store *s;
	const ms_bk_store *w;
	const ms_bk_sel *sel;
	size_t nsel;
	ms_archive *ar;
	FILE *lines;              /* messages.jsonl until it is copied in */
	GHashTable *seen;         /* content hashes already in the archive */
	const ms_bk_progress *prog;
	ms_backup_stats *st;
	/* the folder being read */
	const char *address;
	const folder_path *fp;
	int64_t account_id, folder_id;
	const ms_msg_row *rows;   /* the batch being fetched */
	ms_err first_failure;     /* of st->failed */
	char *scope;              /* bk_scope of the selection */
	bk_base *base;            /* --incremental: the base's index, or NULL */
	char **read_levels;       /* with a base: the folder's levels as the archive spells them */
	FILE *changes;            /* changes.jsonl until it is copied in */
	int err;
	ms_err *e;
} bk_run;

static void folder_paths_free(folder_path *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		g_strfreev(v[i].levels);
	free(v);
}

/* Each folder's levels from the INBOX down, by following parents. */
static int folder_paths(const ms_folder_row *rows, size_t n, folder_path **out, ms_err *e)
{
	folder_path *v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		GPtrArray *lv = g_ptr_array_new();
		int64_t at = rows[i].id;
		for (size_t depth = 0; at != -1 && at != 0 && depth <= n; depth++) {
			size_t j = 0;
			while (j < n && rows[j].id != at)
				j++;
			if (j == n)
				break; /* a parent that is gone: reconstruct's folder-parent; keep what is known */
			g_ptr_array_insert(lv, 0, g_strdup(rows[j].name));
			at = rows[j].parent_id;
		}
		g_ptr_array_add(lv, NULL);
		v[i] = (folder_path){ .id = rows[i].id, .row = &rows[i] };
		v[i].levels = (char **)g_ptr_array_free(lv, FALSE);
		v[i].n = g_strv_length(v[i].levels);
	}
	*out = v;
	return 0;
}

static void json_levels(ms_json *j, const char *key, char *const *levels, size_t n)
{
	ms_json_key(j, key);
	ms_json_begin_array(j);
	for (size_t i = 0; i < n; i++)
		ms_json_string(j, levels[i]);
	ms_json_end_array(j);
}

static int add_json_member(bk_run *r, const char *name, char *buf, size_t len)
{
	int rc = ms_archive_add(r->ar, name, buf, len, r->e);
	free(buf);
	return rc;
}

static int write_header(bk_run *r)
{
	char *buf = NULL, when[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ms_err_set(r->e, MS_E_NOMEM, "out of memory");
	time_t now = time(NULL);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	ms_json j;
	ms_json_init(&j, f);
	ms_json_begin_object(&j);
	ms_json_kv_string(&j, "format", MS_ARCHIVE_FORMAT);
	ms_json_kv_int(&j, "version", MS_ARCHIVE_VERSION);
	ms_json_kv_string(&j, "created", when);
	ms_json_kv_string(&j, "generator", "mstore " MSTORE_VERSION);
	ms_json_kv_int(&j, "schema_version", r->s->version);
	ms_json_kv_bool(&j, "whole_store", r->nsel == 0);
	ms_json_kv_string(&j, "scope", r->scope);
	if (r->base) {
		ms_json_kv_bool(&j, "incremental", true);
		ms_json_kv_string(&j, "base", r->base->digest);
		ms_json_kv_string(&j, "base_created", r->base->created);
	}
	ms_json_end_object(&j);
	ms_json_finish(&j);
	fclose(f);
	return add_json_member(r, BK_HEADER_MEMBER, buf, len);
}

static void json_domain(ms_json *j, const ms_domain *d)
{
	ms_json_begin_object(j);
	ms_json_kv_string(j, "name", d->name);
	ms_json_kv_bool(j, "active", d->active);
	ms_json_kv_string(j, "postmaster", d->postmaster);
	ms_json_kv_int(j, "max_size_mb", d->max_size_mb);
	ms_json_kv_int(j, "max_account_size_mb", d->max_account_size_mb);
	ms_json_kv_string(j, "plus_char", d->plus_addressing ? d->plus_char : NULL);
	ms_json_end_object(j);
}

static int json_account(bk_run *r, ms_json *j, const ms_account *a)
{
	ms_folder_row *rows;
	size_t n;
	folder_path *fp;
	if (ms_browse_folders(r->s->db, a->id, &rows, &n, r->e) < 0)
		return -1;
	if (folder_paths(rows, n, &fp, r->e) < 0) {
		ms_browse_folders_free(rows, n);
		return -1;
	}
	ms_json_begin_object(j);
	ms_json_kv_string(j, "address", a->address);
	ms_json_kv_bool(j, "active", a->active);
	ms_json_kv_int(j, "max_size_mb", a->max_size_mb);
	char pw[256] = ""; /* an account deleted meanwhile (get 0) has none */
	int64_t enc = 0;
	if (ms_account_password_get(r->s, a->address, pw, &enc, r->e) < 0) {
		folder_paths_free(fp, n);
		ms_browse_folders_free(rows, n);
		return -1;
	}
	ms_json_kv_string(j, "password", pw);
	ms_json_kv_int(j, "password_encryption", enc);
	ms_json_key(j, "folders");
	ms_json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		if (!bk_selected(r->sel, r->nsel, a->address, fp[i].levels, fp[i].n))
			continue;
		ms_json_begin_object(j);
		json_levels(j, "path", fp[i].levels, fp[i].n);
		ms_json_kv_bool(j, "subscribed", rows[i].subscribed);
		ms_json_kv_string(j, "created", rows[i].created);
		ms_json_kv_int(j, "uidvalidity", ms_browse_uidvalidity(rows[i].created));
		ms_json_kv_int(j, "current_uid", rows[i].current_uid);
		ms_json_end_object(j);
	}
	ms_json_end_array(j);
	ms_json_end_object(j);
	folder_paths_free(fp, n);
	ms_browse_folders_free(rows, n);
	return 0;
}

bool bk_domain_objects_selected(const ms_bk_sel *sel, size_t nsel, const char *address)
{
	if (nsel == 0)
		return true;
	for (size_t i = 0; i < nsel; i++)
		if (!*sel[i].address && domain_of_is(address, sel[i].domain))
			return true;
	return false;
}

static int json_aliases(bk_run *r, ms_json *j)
{
	ms_alias *v;
	size_t n;
	if (ms_alias_list(r->s, NULL, &v, &n, r->e) < 0)
		return -1;
	ms_json_key(j, "aliases");
	ms_json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		if (!bk_domain_objects_selected(r->sel, r->nsel, v[i].name))
			continue;
		ms_json_begin_object(j);
		ms_json_kv_string(j, "name", v[i].name);
		ms_json_kv_string(j, "value", v[i].value);
		ms_json_kv_bool(j, "active", v[i].active);
		ms_json_end_object(j);
	}
	ms_json_end_array(j);
	free(v);
	return 0;
}

static int json_lists(bk_run *r, ms_json *j)
{
	ms_dlist *v;
	size_t n;
	if (ms_dlist_list(r->s, NULL, &v, &n, r->e) < 0)
		return -1;
	ms_json_key(j, "distribution_lists");
	ms_json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		if (!bk_domain_objects_selected(r->sel, r->nsel, v[i].address))
			continue;
		ms_json_begin_object(j);
		ms_json_kv_string(j, "address", v[i].address);
		ms_json_kv_bool(j, "enabled", v[i].enabled);
		ms_json_key(j, "members");
		ms_json_begin_array(j);
		for (size_t k = 0; k < v[i].n_members; k++)
			ms_json_string(j, v[i].members[k]);
		ms_json_end_array(j);
		ms_json_end_object(j);
	}
	ms_json_end_array(j);
	ms_dlist_free(v, n);
	return 0;
}

static int on_public_folder(void *ctx, const ms_mailbox_info *m)
{
	ms_json *j = ctx;
	const char *prefix = "#Public/";
	if (m->account_id != 0 || strncmp(m->name, prefix, strlen(prefix)) != 0)
		return 0;
	char **levels = g_strsplit(m->name + strlen(prefix), "/", -1);
	ms_json_begin_object(j);
	json_levels(j, "path", levels, g_strv_length(levels));
	ms_json_kv_bool(j, "subscribed", m->subscribed);
	ms_json_kv_int(j, "uidvalidity", m->uidvalidity);
	ms_json_kv_int(j, "current_uid", m->current_uid);
	ms_json_end_object(j);
	g_strfreev(levels);
	return 0;
}

static const char *acl_type_name(int type)
{
	return type == MS_ACL_ACCOUNT ? "account" : type == MS_ACL_GROUP ? "group" : "anyone";
}

/* Each group an ACL row names (once), with its members' addresses
 * (format 4): what restore needs to give the row its meaning. */
static int json_groups(bk_run *r, ms_json *j, const ms_acl_row *v, size_t n)
{
	ms_json_key(j, "groups");
	ms_json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		bool seen = v[i].type != MS_ACL_GROUP;
		for (size_t k = 0; k < i && !seen; k++)
			seen = v[k].type == MS_ACL_GROUP && v[k].who_id == v[i].who_id;
		if (seen)
			continue;
		char **m;
		size_t nm;
		if (ms_group_members(r->s->db, v[i].who_id, &m, &nm, r->e) < 0)
			return -1;
		ms_json_begin_object(j);
		ms_json_kv_string(j, "name", v[i].who);
		ms_json_key(j, "members");
		ms_json_begin_array(j);
		for (size_t k = 0; k < nm; k++)
			ms_json_string(j, m[k]);
		ms_json_end_array(j);
		ms_json_end_object(j);
		ms_group_members_free(m, nm);
	}
	ms_json_end_array(j);
	return 0;
}

/* #Public's folders, every hm_acl row and the groups they name: only in a
 * backup of the whole store (they belong to no account). */
static int json_public(bk_run *r, ms_json *j)
{
	ms_json_key(j, "public_folders");
	ms_json_begin_array(j);
	if (r->nsel == 0 && ms_mailbox_list(r->s->db, NULL, false, on_public_folder, j, r->e) < 0)
		return -1;
	ms_json_end_array(j);
	ms_acl_row *v = NULL;
	size_t n = 0;
	if (r->nsel == 0 && ms_acl_list(r->s->db, 0, &v, &n, r->e) < 0)
		return -1;
	ms_json_key(j, "acl");
	ms_json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		char letters[MS_ACL_LETTERS];
		char **levels = g_strsplit(v[i].folder, "/", -1);
		ms_acl_letters(v[i].bits, letters);
		ms_json_begin_object(j);
		json_levels(j, "folder", levels, g_strv_length(levels));
		ms_json_kv_string(j, "type", acl_type_name(v[i].type));
		ms_json_kv_string(j, "who", v[i].type == MS_ACL_ANYONE ? "anyone" : v[i].who);
		ms_json_kv_string(j, "rights", letters);
		ms_json_end_object(j);
		g_strfreev(levels);
	}
	ms_json_end_array(j);
	int rc = json_groups(r, j, v, n);
	free(v);
	return rc;
}

/* objects.json: the selected accounts' domains, the accounts, their folders;
 * the aliases and lists of selected domains; #Public and its ACLs. */
static int write_objects(bk_run *r, const ms_account *acc, size_t nacc)
{
	ms_domain *doms;
	size_t nd;
	if (ms_domain_list(r->s, &doms, &nd, r->e) < 0)
		return -1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		free(doms);
		return ms_err_set(r->e, MS_E_NOMEM, "out of memory");
	}
	ms_json j;
	ms_json_init(&j, f);
	ms_json_begin_object(&j);
	ms_json_key(&j, "domains");
	ms_json_begin_array(&j);
	for (size_t i = 0; i < nd; i++) {
		bool used = r->nsel == 0;
		for (size_t k = 0; k < nacc && !used; k++)
			used = acc[k].domain_id == doms[i].id && bk_account_selected(r->sel, r->nsel, acc[k].address);
		if (used)
			json_domain(&j, &doms[i]);
	}
	ms_json_end_array(&j);
	ms_json_key(&j, "accounts");
	ms_json_begin_array(&j);
	int rc = 0;
	for (size_t k = 0; k < nacc && rc == 0; k++)
		if (bk_account_selected(r->sel, r->nsel, acc[k].address))
			rc = json_account(r, &j, &acc[k]);
	ms_json_end_array(&j);
	if (rc == 0)
		rc = json_aliases(r, &j) < 0 || json_lists(r, &j) < 0 || json_public(r, &j) < 0 ? -1 : 0;
	ms_json_end_object(&j);
	ms_json_finish(&j);
	fclose(f);
	free(doms);
	if (rc < 0) {
		free(buf);
		return -1;
	}
	return add_json_member(r, BK_OBJECTS_MEMBER, buf, len);
}

static void json_flags(ms_json *j, const char *key, unsigned flags)
{
	ms_json_key(j, key);
	ms_json_begin_array(j);
	for (size_t i = 0; i < 5; i++)
		if (flags & bk_flags[i].bit)
			ms_json_string(j, bk_flags[i].name);
	ms_json_end_array(j);
}

/* One line of changes.jsonl: a base message removed, or its flags changed. */
static void write_change(bk_run *r, const char *change, const bk_base_msg *m, unsigned flags)
{
	ms_json j;
	ms_json_init(&j, r->changes);
	ms_json_begin_object(&j);
	ms_json_kv_string(&j, "change", change);
	ms_json_kv_string(&j, "account", m->account);
	json_levels(&j, "folder", m->folder, g_strv_length(m->folder));
	ms_json_kv_int(&j, "uid", m->uid);
	ms_json_kv_string(&j, "sha256", m->sha);
	ms_json_kv_int(&j, "size", m->size);
	if (strcmp(change, "flags") == 0) {
		json_flags(&j, "flags", flags);
		json_flags(&j, "was", m->flags);
	}
	ms_json_end_object(&j);
	ms_json_finish(&j);
}

/* The message is in this backup: the base's copy of it is not removed;
 * a flag change is listed.  The same UID with other content is another
 * message (the base's stays to be listed as removed). */
static void note_against_base(bk_run *r, const ms_msg_row *m, const char *sha)
{
	unsigned flags = 0;
	for (size_t i = 0; i < 5; i++)
		if (m->flags & bk_flags[i].hm)
			flags |= bk_flags[i].bit;
	/* the base's index holds names as its JSON spells them (U+FFFD for a
	 * byte that is not UTF-8): so must the key, or such a folder's every
	 * message would be listed as removed */
	char *key = bk_msg_key(r->address, r->read_levels, (uint32_t)m->uid);
	bk_base_msg *b = g_hash_table_lookup(r->base->index, key);
	if (b && strcmp(b->sha, sha) == 0) {
		if (b->flags != flags) {
			write_change(r, "flags", b, flags);
			r->st->flag_changes++;
		}
		g_hash_table_remove(r->base->index, key);
	}
	g_free(key);
}

static int by_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What is left of the base's index is no longer in the store: listed in
 * the order of their keys (the same store gives the same archive). */
static void write_removed(bk_run *r)
{
	guint n;
	char **keys = (char **)g_hash_table_get_keys_as_array(r->base->index, &n);
	qsort(keys, n, sizeof *keys, by_key);
	for (guint i = 0; i < n; i++)
		write_change(r, "removed", g_hash_table_lookup(r->base->index, keys[i]), 0);
	r->st->removed += n;
	g_free(keys);
}

static void write_line(bk_run *r, const ms_msg_row *m, const char *sha, size_t len)
{
	char when[32];
	/* the instant the server's IMAP answers for the stored text (store/clock.h) */
	time_t t = ms_clock_internal_date_read(m->created, time(NULL));
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	ms_json j;
	ms_json_init(&j, r->lines);
	ms_json_begin_object(&j);
	ms_json_kv_string(&j, "account", r->address);
	json_levels(&j, "folder", r->fp->levels, r->fp->n);
	ms_json_kv_int(&j, "uid", m->uid);
	ms_json_key(&j, "flags");
	ms_json_begin_array(&j);
	for (size_t i = 0; i < 5; i++)
		if (m->flags & bk_flags[i].hm)
			ms_json_string(&j, bk_flags[i].name);
	ms_json_end_array(&j);
	ms_json_kv_string(&j, "internal_date", when);
	ms_json_kv_int(&j, "size", (int64_t)len);
	ms_json_kv_string(&j, "sha256", sha);
	ms_json_kv_string(&j, "from", m->from);
	ms_json_end_object(&j);
	ms_json_finish(&j);
	if (r->base)
		note_against_base(r, m, sha);
}

/* A message the driver could not read: vanished when its row is gone
 * (expunged since the listing: what a live store does), else a failure
 * naming it (its file missing, a symlink, unreadable): left out, exit 1. */
static void unreadable(bk_run *r, const ms_msg_row *m, const ms_err *why)
{
	ms_msg_row now;
	ms_err e = { 0 };
	int rc = ms_browse_message_by_uid(r->s->db, r->account_id, r->folder_id, m->uid, &now, &e);
	if (rc == 1)
		free(now.filename);
	if (rc == 0 || (rc == 1 && now.id != m->id)) {
		r->st->vanished++;
		return;
	}
	if (r->st->failed++ > 0)
		return;
	GString *mb = g_string_new(r->account_id ? "user/" : "");
	g_string_append(mb, r->address);
	for (size_t k = 0; k < r->fp->n; k++)
		g_string_append_printf(mb, "/%s", r->fp->levels[k]);
	ms_err_set(&r->first_failure, MS_E_IO, "%s UID %lld (file %s): %s", mb->str, (long long)m->uid, m->filename,
	           rc < 0 ? e.msg : why ? why->msg : "cannot be read");
	g_string_free(mb, TRUE);
}

/* One fetched message: its content member (the first time), then its line. */
static void on_fetch(void *ctx, size_t i, ms_drv_result result, const char *data, size_t len, const ms_err *why)
{
	bk_run *r = ctx;
	(void)why;
	if (r->err)
		return;
	if (result != MS_DRV_OK) {
		unreadable(r, &r->rows[i], why);
		return;
	}
	char sha[BK_SHA_HEX + 1], name[sizeof BK_CONTENT_PREFIX + BK_SHA_HEX];
	bk_sha256_hex(data, len, sha);
	if (r->base && g_hash_table_contains(r->base->shas, sha) && !g_hash_table_contains(r->seen, sha)) {
		g_hash_table_add(r->seen, g_strdup(sha)); /* the base's chain holds it */
		r->st->base_contents++;
	} else if (!g_hash_table_contains(r->seen, sha)) {
		snprintf(name, sizeof name, BK_CONTENT_PREFIX "%s", sha);
		if (ms_archive_add(r->ar, name, data, len, r->e) < 0) {
			r->err = -1;
			return;
		}
		g_hash_table_add(r->seen, g_strdup(sha));
		r->st->contents++;
		r->st->bytes += len;
	}
	write_line(r, &r->rows[i], sha, len);
	r->st->messages++;
	if (r->prog && r->prog->fn)
		r->prog->fn(r->prog->ctx, r->st->messages, r->st->bytes);
}

/* A folder's rows in pages (store/browse.h: the raw flags and the sender
 * the driver's listing leaves out), their bytes through the driver. */
static int backup_box(bk_run *r, ms_side *side, const char *name, int64_t account_id, int64_t folder)
{
	ms_box *b;
	if (side->drv->open_box(side, name, &b, r->e) != MS_DRV_OK)
		return -1;
	r->st->folders++;
	r->account_id = account_id;
	r->folder_id = folder;
	int rc = 0;
	for (int64_t after = 0; rc == 0;) {
		ms_msg_row *v;
		size_t n;
		if (ms_browse_messages(r->s->db, account_id, folder, after, LIST_PAGE, &v, &n, r->e) < 0) {
			rc = -1;
			break;
		}
		if (n == 0) {
			ms_browse_messages_free(v, n);
			break;
		}
		after = v[n - 1].uid;
		for (size_t k = 0; k < n && rc == 0; k += FETCH_BATCH) {
			size_t m = n - k < FETCH_BATCH ? n - k : FETCH_BATCH;
			uint32_t uids[FETCH_BATCH];
			for (size_t x = 0; x < m; x++)
				uids[x] = (uint32_t)v[k + x].uid;
			r->rows = v + k;
			if (side->drv->fetch(b, uids, m, on_fetch, r, r->e) != MS_DRV_OK || r->err)
				rc = -1;
		}
		ms_browse_messages_free(v, n);
	}
	side->drv->close_box(b);
	return rc;
}

/* Levels as a reader of the archive gets them back (util/json.h); NULL
 * when out of memory. */
static char **read_forms(char *const *levels, size_t n)
{
	char **v = g_new0(char *, n + 1);
	for (size_t i = 0; i < n; i++) {
		char *t = ms_json_read_form(levels[i]);
		if (!t) {
			g_strfreev(v);
			return NULL;
		}
		v[i] = g_strdup(t);
		free(t);
	}
	return v;
}

/* The selected folders of an account, or of #Public (account 0, the
 * side's account "#Public", selected only with the whole store). */
static int backup_owner(bk_run *r, int64_t account_id, const char *address)
{
	ms_folder_row *rows;
	size_t n;
	folder_path *fp;
	ms_side *side;
	if (ms_browse_folders(r->s->db, account_id, &rows, &n, r->e) < 0)
		return -1;
	if (folder_paths(rows, n, &fp, r->e) < 0 || bk_side_open(r->w, address, true, &side, r->e) < 0) {
		ms_browse_folders_free(rows, n);
		return -1;
	}
	r->address = address;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *name;
		if (account_id ? !bk_selected(r->sel, r->nsel, address, fp[i].levels, fp[i].n) : r->nsel > 0)
			continue;
		if ((rc = bk_box_name(side, fp[i].levels, fp[i].n, &name, r->e)) < 0)
			break;
		r->fp = &fp[i];
		if (r->base && !(r->read_levels = read_forms(fp[i].levels, fp[i].n))) {
			g_free(name);
			rc = ms_err_set(r->e, MS_E_NOMEM, "out of memory");
			break;
		}
		rc = backup_box(r, side, name, account_id, fp[i].id);
		g_strfreev(r->read_levels);
		r->read_levels = NULL;
		g_free(name);
	}
	side->drv->close(side);
	folder_paths_free(fp, n);
	ms_browse_folders_free(rows, n);
	return rc;
}

static int backup_account(bk_run *r, const ms_account *a)
{
	r->st->accounts++;
	return backup_owner(r, a->id, a->address);
}

static int write_end(bk_run *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ms_err_set(r->e, MS_E_NOMEM, "out of memory");
	ms_json j;
	ms_json_init(&j, f);
	ms_json_begin_object(&j);
	ms_json_kv_int(&j, "messages", (int64_t)r->st->messages);
	ms_json_kv_int(&j, "contents", (int64_t)r->st->contents);
	ms_json_kv_int(&j, "content_bytes", (int64_t)r->st->bytes);
	if (r->base) {
		ms_json_kv_int(&j, "removed", (int64_t)r->st->removed);
		ms_json_kv_int(&j, "flag_changes", (int64_t)r->st->flag_changes);
	}
	ms_json_end_object(&j);
	ms_json_finish(&j);
	fclose(f);
	return add_json_member(r, BK_END_MEMBER, buf, len);
}

static int add_changes(bk_run *r)
{
	write_removed(r);
	if (fflush(r->changes) != 0 || ferror(r->changes))
		return ms_err_set(r->e, MS_E_IO, "cannot write the temporary list of changes (disk full?)");
	long len = ftell(r->changes);
	return len < 0 ? ms_err_set(r->e, MS_E_IO, "cannot read the temporary list of changes")
	               : ms_archive_add_file(r->ar, BK_CHANGES_MEMBER, r->changes, len, r->e);
}

static int backup_body(bk_run *r, const ms_account *acc, size_t nacc)
{
	if (write_header(r) < 0 || write_objects(r, acc, nacc) < 0)
		return -1;
	for (size_t k = 0; k < nacc; k++)
		if (bk_account_selected(r->sel, r->nsel, acc[k].address) && backup_account(r, &acc[k]) < 0)
			return -1;
	/* #Public's messages (format 4), single-copy with the accounts' */
	if (r->nsel == 0 && backup_owner(r, 0, MS_PUBLIC_DIR) < 0)
		return -1;
	if (fflush(r->lines) != 0 || ferror(r->lines))
		return ms_err_set(r->e, MS_E_IO, "cannot write the temporary list of messages (disk full?)");
	long len = ftell(r->lines);
	if (len < 0 || ms_archive_add_file(r->ar, BK_MESSAGES_MEMBER, r->lines, len, r->e) < 0)
		return -1;
	if (r->base && add_changes(r) < 0)
		return -1;
	return write_end(r);
}

/* Whether the account has the folder a selector names (its levels, INBOX
 * in any case at the top, as bk_selected compares them). */
static int has_folder(db *d, int64_t account, const ms_bk_sel *sel, ms_err *e)
{
	ms_folder_row *v;
	size_t n;
	if (ms_browse_folders(d, account, &v, &n, e) < 0)
		return -1;
	bool found = false;
	char want[4096] = "", path[4096];
	for (size_t i = 0; i < sel->nfolder; i++)
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? "/" : "", sel->folder[i]);
	for (size_t i = 0; i < n && !found; i++)
		found = ms_browse_folder_path(v, n, &v[i], '/', true, path, sizeof path) &&
		        (sel->nfolder && strcasecmp(sel->folder[0], "INBOX") == 0 && strncasecmp(path, "INBOX", 5) == 0
		                 ? strcmp(path + 5, want + 5) == 0
		                 : strcmp(path, want) == 0);
	ms_browse_folders_free(v, n);
	return found;
}

/* A selector that names no account (or no folder) of the store is a
 * mistake, not an empty backup. */
static int check_selectors(ms_store *s, const ms_bk_sel *sel, size_t nsel, const ms_account *acc, size_t nacc,
                           ms_err *e)
{
	for (size_t i = 0; i < nsel; i++) {
		const ms_account *a = NULL;
		for (size_t k = 0; k < nacc && !a; k++)
			if (bk_account_selected(&sel[i], 1, acc[k].address))
				a = &acc[k];
		if (!a)
			return ms_err_set(e, MS_E_NOTFOUND, "no account %s%s in the store",
			                  *sel[i].address ? sel[i].address : "of domain ",
			                  *sel[i].address ? "" : sel[i].domain);
		int has = sel[i].folder ? has_folder(s->db, a->id, &sel[i], e) : 1;
		if (has < 0)
			return -1;
		if (!has) {
			char want[4096] = "";
			for (size_t k = 0; k < sel[i].nfolder; k++)
				snprintf(want + strlen(want), sizeof want - strlen(want), "/%s", sel[i].folder[k]);
			return ms_err_set(e, MS_E_NOTFOUND, "no folder user/%s%s in the store", sel[i].address, want);
		}
	}
	return 0;
}

/* The run's state around backup_body: the selection's scope, the base's
 * index (--incremental), the temporary files. */
static int backup_open(bk_run *r, const char *base, bk_base *b)
{
	r->scope = bk_scope(r->sel, r->nsel);
	if (base && bk_base_load(base, r->scope, b, r->e) < 0)
		return -1;
	r->base = base ? b : NULL;
	if (base && !(r->changes = tmpfile()))
		return ms_err_set(r->e, MS_E_IO, "cannot create a temporary file: %m");
	return 0;
}

int ms_backup_run(ms_store *s, const ms_bk_store *where, const ms_bk_sel *sel, size_t nsel, const char *file,
                  const char *base, bool zstd, const ms_bk_progress *prog, ms_backup_stats *st, ms_err *e)
{
	*st = (ms_backup_stats){ 0 };
	ms_account *acc;
	size_t nacc;
	if (ms_account_list(s, NULL, &acc, &nacc, e) < 0)
		return -1;
	if (check_selectors(s, sel, nsel, acc, nacc, e) < 0) {
		free(acc);
		return -1;
	}
	bk_run r = { .s = s, .w = where, .sel = sel, .nsel = nsel, .prog = prog, .st = st, .e = e };
	bk_base b = { 0 };
	r.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	int rc = -1;
	if (backup_open(&r, base, &b) < 0)
		rc = -1;
	else if (!(r.lines = tmpfile()))
		ms_err_set(e, MS_E_IO, "cannot create a temporary file: %m");
	else if (ms_archive_open_write(file, zstd, &r.ar, e) == 0) {
		rc = backup_body(&r, acc, nacc);
		if (rc == 0) {
			rc = ms_archive_close_write(r.ar, e);
			if (rc == 0 && st->failed)
				*e = r.first_failure;
		} else {
			ms_archive_free(r.ar);
			if (strcmp(file, "-") != 0)
				unlink(file); /* a half archive is no backup: never leave one looking like one */
		}
	}
	if (r.lines)
		fclose(r.lines);
	if (r.changes)
		fclose(r.changes);
	bk_base_free(&b);
	g_free(r.scope);
	g_hash_table_destroy(r.seen);
	free(acc);
	return rc;
}
