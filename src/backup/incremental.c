/* incremental.c - what `mstore backup --incremental BASE` needs of its
 * base archive, and the changes member it writes
 * (docs/backup-format.md, version 3).
 *
 * hMailServer keeps no change time or modseq on a message, so a timestamp
 * cannot see a flag change or a removal: an incremental backup compares
 * the store with the base's complete index instead.  Every archive's
 * messages.jsonl is the complete index of its scope, so the base's index
 * alone says which contents its whole chain holds.
 */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backup/archive.h"
#include "backup/bk_internal.h"
#include "util/json.h"

static gint by_text(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *bk_scope(const ms_bk_sel *sel, size_t nsel)
{
	GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
	for (size_t i = 0; i < nsel; i++) {
		GString *s = g_string_new(*sel[i].address ? "user/" : "domain:");
		char *low = g_ascii_strdown(*sel[i].address ? sel[i].address : sel[i].domain, -1);
		g_string_append(s, low);
		g_free(low);
		for (size_t k = 0; k < sel[i].nfolder; k++)
			g_string_append_printf(s, "/%s", sel[i].folder[k]);
		g_ptr_array_add(v, g_string_free(s, FALSE));
	}
	g_ptr_array_sort(v, by_text);
	g_ptr_array_add(v, NULL);
	char *out = g_strjoinv(" ", (char **)v->pdata);
	g_ptr_array_free(v, TRUE);
	return out;
}

char *bk_msg_key(const char *account, char *const *levels, uint32_t uid)
{
	char *f = bk_folder_key(account, levels);
	char *k = g_strdup_printf("%s\x1f#%u", f, uid);
	g_free(f);
	return k;
}

static void base_msg_free(gpointer p)
{
	bk_base_msg *m = p;
	g_free(m->account);
	g_strfreev(m->folder);
	g_free(m);
}

void bk_base_free(bk_base *b)
{
	if (b->shas)
		g_hash_table_destroy(b->shas);
	if (b->index)
		g_hash_table_destroy(b->index);
	b->shas = b->index = NULL;
}

/* NULL unless a JSON object whose members are of the kinds `f` lists
 * (bk_json.c): a base's damage refuses the backup, it never crashes it. */
static JsonObject *parse_object(JsonParser *p, const char *text, const bk_field *f, size_t nf)
{
	char why[300];
	if (!json_parser_load_from_data(p, text, -1, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		return NULL;
	JsonObject *o = json_node_get_object(json_parser_get_root(p));
	return bk_check(o, f, nf, "", why, sizeof why) ? o : NULL;
}

static int base_header(const char *path, const char *text, const char *scope, bk_base *b, ms_err *e)
{
	JsonParser *p = json_parser_new();
	JsonObject *o = parse_object(p, text, bk_header_fields, bk_header_nfields);
	int rc = 0;
	if (!o || strcmp(bk_str(o, "format", ""), MS_ARCHIVE_FORMAT) != 0)
		rc = ms_err_set(e, MS_E_USAGE, "--incremental %s: not an mstore archive", path);
	else if (bk_int(o, "version", 0) > MS_ARCHIVE_VERSION)
		rc = ms_err_set(e, MS_E_USAGE, "--incremental %s: a newer archive format: use a newer mstore", path);
	else if (!json_object_has_member(o, "scope"))
		rc = ms_err_set(e, MS_E_USAGE, "--incremental %s: written by an mstore that records no scope:"
		                " take a new full backup as the base", path);
	else if (strcmp(bk_str(o, "scope", ""), scope) != 0)
		rc = ms_err_set(e, MS_E_USAGE, "--incremental %s: its scope is '%s', this backup's '%s': an"
		                " incremental covers what its base covers", path,
		                bk_str(o, "scope", ""), scope);
	else
		snprintf(b->created, sizeof b->created, "%s", bk_str(o, "created", ""));
	g_object_unref(p);
	return rc;
}

static int base_line(bk_base *b, const char *line)
{
	JsonParser *p = json_parser_new();
	JsonObject *o = parse_object(p, line, bk_line_fields, bk_line_nfields);
	bk_base_msg *m = g_new0(bk_base_msg, 1);
	if (o) {
		m->account = g_strdup(bk_str(o, "account", ""));
		m->folder = bk_levels_of(o, "folder");
		m->uid = (uint32_t)bk_int(o, "uid", 0);
		m->flags = bk_flags_of(o);
		m->size = bk_int(o, "size", -1);
		snprintf(m->sha, sizeof m->sha, "%s", bk_str(o, "sha256", ""));
	}
	g_object_unref(p);
	if (!o || !m->folder || strlen(m->sha) != BK_SHA_HEX) {
		base_msg_free(m);
		return -1;
	}
	g_hash_table_add(b->shas, g_strdup(m->sha));
	g_hash_table_replace(b->index, bk_msg_key(m->account, m->folder, m->uid), m);
	return 0;
}

static int base_lines(const char *path, bk_base *b, char *text, ms_err *e)
{
	for (char *line = text, *nl; *line; line = nl + 1) {
		if (!(nl = strchr(line, '\n')))
			return ms_err_set(e, MS_E_USAGE, "--incremental %s: messages.jsonl ends inside a line", path);
		*nl = '\0';
		if (*line && base_line(b, line) < 0)
			return ms_err_set(e, MS_E_USAGE, "--incremental %s: a damaged line in messages.jsonl", path);
	}
	return 0;
}

static int base_members(const char *path, ms_archive *ar, const char *scope, bk_base *b, ms_err *e)
{
	struct sha256_ctx c;
	const char *name;
	int64_t size;
	int rc, step = 0;
	sha256_init(&c);
	while ((rc = ms_archive_next(ar, &name, &size, e)) == 1) {
		bool header = step == 0, lines = strcmp(name, BK_MESSAGES_MEMBER) == 0;
		char *text;
		if (header && strcmp(name, BK_HEADER_MEMBER) != 0)
			return ms_err_set(e, MS_E_USAGE, "--incremental %s: not an mstore archive", path);
		if (strcmp(name, BK_END_MEMBER) == 0)
			step = 3;
		if (!header && !lines)
			continue; /* contents and the rest: restore verifies them */
		if (ms_archive_read_all(ar, size, BK_MANIFEST_MAX, &text, e) < 0)
			return -1;
		sha256_update(&c, (size_t)size, (const uint8_t *)text);
		rc = header ? base_header(path, text, scope, b, e) : base_lines(path, b, text, e);
		free(text);
		if (rc < 0)
			return -1;
		step = header ? 1 : 2;
	}
	if (rc < 0)
		return -1;
	if (step != 3)
		return ms_err_set(e, MS_E_USAGE, "--incremental %s: truncated (no end.json)", path);
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_digest(&c, sizeof d, d);
	for (size_t i = 0; i < sizeof d; i++)
		snprintf(b->digest + 2 * i, 3, "%02x", d[i]);
	return 0;
}

int bk_base_load(const char *path, const char *scope, bk_base *out, ms_err *e)
{
	*out = (bk_base){ 0 };
	if (strcmp(path, "-") == 0)
		return ms_err_set(e, MS_E_USAGE, "--incremental takes the base archive's file, not -");
	ms_archive *ar;
	if (ms_archive_open_read(path, &ar, e) < 0)
		return -1;
	out->shas = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	out->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, base_msg_free);
	int rc = base_members(path, ar, scope, out, e);
	ms_archive_free(ar);
	if (rc < 0)
		bk_base_free(out);
	return rc;
}
