/* restore.c - `mstore restore`: an archive's messages back into a store
 * (docs/backup-format.md).
 *
 * The whole archive is read and verified before anything is written: each
 * content member is spooled to a private temporary directory while its
 * SHA-256 is computed and compared with its name, every line of
 * messages.jsonl must name content the archive holds with the size it
 * has, and end.json must be there with the counts seen (a truncated
 * archive has none).  Only then are accounts, folders and messages
 * written, one account and folder at a time, through the hMailServer side
 * driver: a message gets a fresh file name and the folder's next UID, its
 * flags and internal date from the archive.  Nothing existing is changed.
 *
 * Repeatable: before a folder is filled, the contents it already holds
 * are hashed; a content the archive has k times for the folder and the
 * folder holds j times is appended k - j times.  A rerun after an
 * interruption therefore adds only what is missing, and so does restoring
 * the same archive twice.  (A kill between a file's rename and its row
 * leaves that file without a row, as the driver documents; the rerun
 * appends the message again, and `mstore reconstruct` reports the stray
 * file as unreferenced.)
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/archive.h"
#include "backup/bk_internal.h"
#include "store/acl.h"
#include "store/browse.h"
#include "store/layout.h"
#include "store/mailbox.h"
#include "store/mboxlock.h"
#include "store/objects.h"
#include "store/trash.h"
#include "util/str.h"

/* Messages per append: the driver pays two file system flushes per batch
 * (drv_hmailserver.c), so a batch is as large as the memory it may hold
 * allows: its bytes are bounded too. */
#define APPEND_BATCH 1024
#define APPEND_BATCH_BYTES (32 << 20)

typedef struct rmsg {
	char *account;
	char **folder;            /* levels, NULL-terminated */
	unsigned flags;
	time_t date;
	int64_t size;
	char sha[BK_SHA_HEX + 1];
	char *from;
} rmsg;

typedef struct rs_run {
	ms_store *s;
	const ms_bk_store *w;
	const ms_restore_opts *o;
	const ms_bk_progress *prog;
	ms_restore_stats *st;
	ms_archive *ar;
	const char *file;
	char *spool;              /* the temporary directory of contents */
	GHashTable *contents;     /* sha -> size (int64 in a pointer-sized box) */
	JsonParser *objects;
	GHashTable *groups;       /* "account\x1f" + levels joined by \x1f -> GPtrArray of rmsg */
	uint64_t lines;
	ms_err *e;
	ms_err first_failure;
	/* a chain of archives: the one being read, its header's and index's
	 * digest (what the next one's "base" must be) */
	const char *const *files;
	size_t nfiles, nth;
	struct sha256_ctx digest;
	char prev_digest[BK_SHA_HEX + 1];
	bool incremental, chain;  /* this archive is one; one of the run's is */
	GHashTable *own;          /* the content members of this archive */
	GHashTable *removed;      /* folder key -> rm_folder; a folder visited is taken out */
	uint64_t removed_lines, flag_lines;
	const char *into_from;    /* with --into: the account restored into it */
	ms_trash *trash;          /* --apply-removals: the run's one intent, from its first batch to its end */
	GHashTable *indexed;      /* folder key -> its first line's number: every folder the index names */
	GHashTable *refused;      /* folder keys (an account's: no level) this target cannot take: failed, skipped */
} rs_run;

/* The removals a chain's incrementals list for one source folder. */
typedef struct rm_folder {
	char *account;
	char **levels;
	GHashTable *shas;         /* sha -> how many removals */
} rm_folder;

static void rm_folder_free(gpointer p)
{
	rm_folder *f = p;
	g_free(f->account);
	g_strfreev(f->levels);
	g_hash_table_destroy(f->shas);
	g_free(f);
}

static gpointer new_rm_folder(const char *account, char *const *levels)
{
	rm_folder *f = g_new0(rm_folder, 1);
	f->account = g_strdup(account);
	f->levels = g_strdupv((char **)levels);
	f->shas = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return f;
}

static void rmsg_free(gpointer p)
{
	rmsg *m = p;
	g_free(m->account);
	g_free(m->from);
	g_strfreev(m->folder);
	g_free(m);
}

char *bk_folder_key(const char *account, char *const *levels)
{
	GString *k = g_string_new(NULL);
	for (const char *c = account; *c; c++)
		g_string_append_c(k, g_ascii_tolower(*c));
	for (size_t i = 0; levels && levels[i]; i++) {
		g_string_append_c(k, '\x1f');
		/* INBOX in any case is the INBOX */
		g_string_append(k, i == 0 && g_ascii_strcasecmp(levels[0], "INBOX") == 0 ? "INBOX" : levels[i]);
	}
	return g_string_free(k, FALSE);
}

/* Did the check before the first write fail the account (levels NULL) or
 * the folder for this target (check_targets)? */
static bool is_refused(const rs_run *r, const char *account, char *const *levels)
{
	char *key = bk_folder_key(account, levels);
	bool refused = g_hash_table_contains(r->refused, key);
	g_free(key);
	return refused;
}

static int bad(rs_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(rs_run *r, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return ms_err_set(r->e, MS_E_USAGE, "archive %s: %s (nothing was restored)", r->file, what);
}

/* ---- reading and verifying ----------------------------------------------------- */

static bool is_sha_hex(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!g_ascii_isxdigit(s[n]) || g_ascii_isupper(s[n]))
			return false;
	return n == BK_SHA_HEX;
}

/* A JSON object of the archive (`where` names it: a member, a line),
 * its members of the kinds `f` lists (bk_json.c): one of another kind is
 * damage, refused before anything is written. */
static JsonNode *parse_json(rs_run *r, const char *where, const char *text, size_t len, const bk_field *f,
                            size_t nf, JsonParser **keep)
{
	JsonParser *p = json_parser_new();
	GError *ge = NULL;
	char why[300];
	if (!json_parser_load_from_data(p, text, (gssize)len, &ge) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
		ms_err_set(r->e, MS_E_USAGE, "archive %s: %s is not a JSON object%s%s (nothing was restored)", r->file,
		           where, ge ? ": " : "", ge ? ge->message : "");
		g_clear_error(&ge);
		g_object_unref(p);
		return NULL;
	}
	if (!bk_check(json_node_get_object(json_parser_get_root(p)), f, nf, where, why, sizeof why)) {
		bad(r, "%s", why);
		g_object_unref(p);
		return NULL;
	}
	*keep = p;
	return json_parser_get_root(p);
}

/* A chain is one full archive, then its incrementals in order: each
 * one's base is the digest of the archive before it. */
static int check_link(rs_run *r, JsonObject *o)
{
	r->incremental = bk_bool(o, "incremental", false);
	r->chain |= r->incremental;
	const char *base = bk_str(o, "base", "");
	const char *when = bk_str(o, "base_created", "?");
	if (r->incremental && r->nth == 0)
		return bad(r, "it is an incremental archive (its base was written %s): give its full archive and the"
		           " incrementals before it first, in order (-f FULL -f INC1 -f INC2 ...)", when);
	if (!r->incremental && r->nth > 0)
		return bad(r, "it is a full archive, not an incremental of %s: a chain is one full archive, then its"
		           " incrementals in order", r->files[r->nth - 1]);
	if (r->incremental && strcmp(base, r->prev_digest) != 0)
		return bad(r, "it is not the incremental of %s (its base is an archive written %s): the chain is out"
		           " of order or misses a link", r->files[r->nth - 1], when);
	return 0;
}

static int read_header(rs_run *r, const char *name, int64_t size)
{
	char *text;
	JsonParser *p;
	if (strcmp(name, BK_HEADER_MEMBER) != 0)
		return bad(r, "it does not start with " BK_HEADER_MEMBER " but with %s: not an mstore archive", name);
	if (ms_archive_read_all(r->ar, size, 1 << 20, &text, r->e) < 0)
		return -1;
	sha256_update(&r->digest, (size_t)size, (const uint8_t *)text);
	JsonNode *root = parse_json(r, name, text, strlen(text), bk_header_fields, bk_header_nfields, &p);
	free(text);
	if (!root)
		return -1;
	JsonObject *o = json_node_get_object(root);
	const char *fmt = bk_str(o, "format", "");
	int64_t v = bk_int(o, "version", 0);
	int rc = 0;
	if (strcmp(fmt, MS_ARCHIVE_FORMAT) != 0)
		rc = bad(r, "its format is '%s', not " MS_ARCHIVE_FORMAT, fmt);
	else if (v < 1 || v > MS_ARCHIVE_VERSION)
		rc = ms_err_set(r->e, MS_E_USAGE, "archive %s: format version %lld; this mstore reads version %d and"
		                " older: use a newer mstore", r->file, (long long)v, MS_ARCHIVE_VERSION);
	if (rc == 0)
		rc = check_link(r, o);
	g_object_unref(p);
	return rc;
}

/* Copy a content member to the spool, hashing it; its name must be its hash. */
static int spool_content(rs_run *r, const char *name, int64_t size)
{
	const char *hex = name + strlen(BK_CONTENT_PREFIX);
	if (!is_sha_hex(hex))
		return bad(r, "member %s: not a content name (content/ and 64 lower-case hex digits)", name);
	if (g_hash_table_contains(r->own, hex))
		return bad(r, "member %s appears twice", name);
	/* an earlier archive of the chain held it too (removed, then back):
	 * verified, then dropped */
	bool again = g_hash_table_contains(r->contents, hex);
	char *path = g_strdup_printf("%s/%s%s", r->spool, hex, again ? ".again" : "");
	int fd = open(path, O_WRONLY | O_CREAT | (again ? O_TRUNC : O_EXCL) | O_CLOEXEC, 0600);
	if (again)
		unlink(path); /* the open descriptor is all the check needs */
	g_free(path);
	if (fd < 0)
		return ms_err_set(r->e, MS_E_IO, "cannot create a file in %s: %s", r->spool, strerror(errno));
	struct sha256_ctx c;
	sha256_init(&c);
	char buf[65536];
	int64_t total = 0;
	int rc = 0;
	for (size_t got = 1; rc == 0 && got > 0;) {
		if ((rc = ms_archive_read(r->ar, buf, sizeof buf, &got, r->e)) < 0)
			break;
		sha256_update(&c, got, (const uint8_t *)buf);
		total += (int64_t)got;
		for (size_t done = 0; done < got && rc == 0;) {
			ssize_t wr = write(fd, buf + done, got - done);
			if (wr < 0 && errno == EINTR)
				continue;
			if (wr <= 0)
				rc = ms_err_set(r->e, MS_E_IO, "cannot write to %s: %s (nothing was restored)", r->spool,
				                strerror(errno));
			else
				done += (size_t)wr;
		}
	}
	close(fd);
	if (rc < 0)
		return -1;
	uint8_t d[SHA256_DIGEST_SIZE];
	char got_hex[BK_SHA_HEX + 1];
	sha256_digest(&c, sizeof d, d);
	for (size_t i = 0; i < sizeof d; i++)
		snprintf(got_hex + 2 * i, 3, "%02x", d[i]);
	if (strcmp(got_hex, hex) != 0 || total != size)
		return bad(r, "member %s: its content does not match its name (corrupt archive)", name);
	g_hash_table_add(r->own, g_strdup(hex));
	g_hash_table_insert(r->contents, g_strdup(hex), GINT_TO_POINTER(1));
	return 0;
}

char **bk_levels_of(JsonObject *o, const char *member)
{
	JsonArray *a = bk_array(o, member);
	if (!a || json_array_get_length(a) == 0)
		return NULL;
	guint n = json_array_get_length(a);
	char **v = g_new0(char *, n + 1);
	for (guint i = 0; i < n; i++) {
		const char *s = bk_str_at(a, i);
		if (!s || !*s) {
			g_strfreev(v);
			return NULL;
		}
		v[i] = g_strdup(s);
	}
	return v;
}

unsigned bk_flags_of(JsonObject *o)
{
	JsonArray *a = bk_array(o, "flags");
	unsigned f = 0;
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		const char *s = bk_str_at(a, i);
		for (size_t k = 0; s && k < 5; k++)
			if (g_ascii_strcasecmp(s, bk_flags[k].name) == 0)
				f |= bk_flags[k].bit;
	}
	return f; /* a flag this version does not know is left out, not an error */
}

static time_t date_of(const char *text)
{
	struct tm tm = { 0 };
	const char *end = text ? strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	return end && !*end ? timegm(&tm) : 0;
}

/* What a line of either index or changes names: the message's account,
 * folder and content; false when one is missing (*levels is the caller's
 * to free, NULL when missing). */
static bool line_names(JsonObject *o, const char **account, char ***levels, const char **sha)
{
	*account = bk_str(o, "account", "");
	*sha = bk_str(o, "sha256", "");
	*levels = bk_levels_of(o, "folder");
	return **account && *levels && is_sha_hex(*sha);
}

/* t's entry for the folder, made by make() the first time. */
static gpointer folder_entry(GHashTable *t, const char *account, char *const *levels,
                             gpointer (*make)(const char *account, char *const *levels))
{
	char *key = bk_folder_key(account, levels);
	gpointer v = g_hash_table_lookup(t, key);
	if (v) {
		g_free(key);
		return v;
	}
	v = make(account, levels);
	g_hash_table_insert(t, key, v);
	return v;
}

static gpointer new_group(const char *account, char *const *levels)
{
	(void)account, (void)levels;
	return g_ptr_array_new_with_free_func(rmsg_free);
}

/* One line of messages.jsonl: checked against the spooled contents, kept
 * when selected. */
static int take_line(rs_run *r, const char *line, size_t len)
{
	JsonParser *p;
	char where[64];
	snprintf(where, sizeof where, BK_MESSAGES_MEMBER " line %llu", (unsigned long long)r->lines + 1);
	JsonNode *root = parse_json(r, where, line, len, bk_line_fields, bk_line_nfields, &p);
	if (!root)
		return -1;
	JsonObject *o = json_node_get_object(root);
	rmsg *m = g_new0(rmsg, 1);
	const char *account, *sha;
	bool named = line_names(o, &account, &m->folder, &sha);
	m->account = g_strdup(account);
	snprintf(m->sha, sizeof m->sha, "%s", named ? sha : "");
	m->flags = bk_flags_of(o);
	m->date = date_of(bk_str(o, "internal_date", ""));
	m->size = bk_int(o, "size", -1);
	/* hm_messages.messagefrom holds 255 bytes: a longer one (a hand-made
	 * archive) is cut on a character boundary, as sync cuts it */
	char from[256];
	ms_str_copy(from, sizeof from, bk_str(o, "from", ""));
	m->from = g_strdup(from);
	g_object_unref(p);
	r->lines++;
	struct stat sb;
	char *path = g_build_filename(r->spool, m->sha, NULL);
	int rc = 0;
	if (!named)
		rc = bad(r, "%s: account, folder or sha256 missing", where);
	else if (!g_hash_table_contains(r->contents, m->sha) || stat(path, &sb) < 0)
		rc = bad(r, "%s names content the archive does not hold", where);
	else if (sb.st_size != m->size)
		rc = bad(r, "%s: its size is not its content's", where);
	g_free(path);
	if (rc == 0) /* objects.json must list its folder (check_archive) */
		g_hash_table_insert(r->indexed, bk_folder_key(m->account, m->folder), GINT_TO_POINTER(r->lines));
	if (rc < 0 || !bk_selected(r->o->sel, r->o->nsel, m->account, m->folder, g_strv_length(m->folder))) {
		rmsg_free(m);
		return rc;
	}
	g_ptr_array_add(folder_entry(r->groups, m->account, m->folder, new_group), m);
	return 0;
}

static int each_line(rs_run *r, const char *member, char *text, int (*fn)(rs_run *, const char *, size_t))
{
	int rc = 0;
	for (char *line = text, *nl; rc == 0 && *line; line = nl + 1) {
		if (!(nl = strchr(line, '\n')))
			return bad(r, "%s ends inside a line", member);
		if (nl > line)
			rc = fn(r, line, (size_t)(nl - line));
	}
	return rc;
}

static int read_lines(rs_run *r, int64_t size)
{
	char *text;
	if (ms_archive_read_all(r->ar, size, BK_MANIFEST_MAX, &text, r->e) < 0)
		return -1;
	sha256_update(&r->digest, (size_t)size, (const uint8_t *)text);
	int rc = each_line(r, BK_MESSAGES_MEMBER, text, take_line);
	free(text);
	return rc;
}

/* One line of changes.jsonl: a removal is kept (by folder and content)
 * to be listed where the target still holds the message; a flag change
 * is counted (the last index has the flags a message ends with). */
static int take_change(rs_run *r, const char *line, size_t len)
{
	JsonParser *p;
	char where[64];
	snprintf(where, sizeof where, BK_CHANGES_MEMBER " line %llu",
	         (unsigned long long)(r->removed_lines + r->flag_lines + 1));
	JsonNode *root = parse_json(r, where, line, len, bk_line_fields, bk_line_nfields, &p);
	if (!root)
		return -1;
	JsonObject *o = json_node_get_object(root);
	const char *change = bk_str(o, "change", "");
	const char *account, *sha;
	char **levels;
	int rc = 0;
	if (!line_names(o, &account, &levels, &sha) || (strcmp(change, "removed") && strcmp(change, "flags")))
		rc = bad(r, "%s: no change, account, folder or sha256", where);
	else if (strcmp(change, "flags") == 0)
		r->flag_lines++;
	else if (r->removed_lines++, bk_selected(r->o->sel, r->o->nsel, account, levels, g_strv_length(levels))) {
		rm_folder *f = folder_entry(r->removed, account, levels, new_rm_folder);
		g_hash_table_replace(f->shas, g_strdup(sha),
		                     GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(f->shas, sha)) + 1));
	}
	g_strfreev(levels);
	g_object_unref(p);
	return rc;
}

static int read_changes(rs_run *r, int64_t size)
{
	char *text;
	if (!r->incremental)
		return bad(r, "%s", "a full archive with " BK_CHANGES_MEMBER);
	if (ms_archive_read_all(r->ar, size, BK_MANIFEST_MAX, &text, r->e) < 0)
		return -1;
	int rc = each_line(r, BK_CHANGES_MEMBER, text, take_change);
	free(text);
	return rc;
}

static int read_end(rs_run *r, int64_t size)
{
	char *text;
	JsonParser *p;
	if (ms_archive_read_all(r->ar, size, 1 << 20, &text, r->e) < 0)
		return -1;
	JsonNode *root = parse_json(r, BK_END_MEMBER, text, strlen(text), bk_end_fields, bk_end_nfields, &p);
	free(text);
	if (!root)
		return -1;
	JsonObject *o = json_node_get_object(root);
	int64_t msgs = bk_int(o, "messages", -1);
	int64_t cont = bk_int(o, "contents", -1);
	int64_t removed = bk_int(o, "removed", 0);
	int64_t flags = bk_int(o, "flag_changes", 0);
	g_object_unref(p);
	if (msgs != (int64_t)r->lines || cont != (int64_t)g_hash_table_size(r->own) ||
	    removed != (int64_t)r->removed_lines || flags != (int64_t)r->flag_lines)
		return bad(r, "%s: its counts are not what the archive holds", BK_END_MEMBER);
	return 0;
}

/* Every member in the order the format fixes; end.json last. */
static int read_member(rs_run *r, int *step, const char *name, int64_t size)
{
	bool content = strncmp(name, BK_CONTENT_PREFIX, strlen(BK_CONTENT_PREFIX)) == 0;
	if (*step == 0) {
		*step = 1;
		return read_header(r, name, size);
	}
	if (*step == 1 && strcmp(name, BK_OBJECTS_MEMBER) == 0) {
		char *text;
		JsonParser *p;
		*step = 2;
		if (ms_archive_read_all(r->ar, size, BK_MANIFEST_MAX, &text, r->e) < 0)
			return -1;
		JsonNode *root = parse_json(r, name, text, strlen(text), NULL, 0, &p);
		char why[300];
		free(text);
		if (root && !bk_check_objects(json_node_get_object(root), why, sizeof why)) {
			g_object_unref(p);
			return bad(r, "%s", why);
		}
		r->objects = root ? p : NULL;
		return root ? 0 : -1;
	}
	if (*step == 2 && content)
		return spool_content(r, name, size);
	if (*step == 2 && strcmp(name, BK_MESSAGES_MEMBER) == 0) {
		*step = 3;
		return read_lines(r, size);
	}
	if (*step == 3 && strcmp(name, BK_CHANGES_MEMBER) == 0) {
		*step = 4;
		return read_changes(r, size);
	}
	if ((*step == 3 || *step == 4) && strcmp(name, BK_END_MEMBER) == 0) {
		*step = 5;
		return read_end(r, size);
	}
	return bad(r, "unexpected member %s (not in the order the format fixes)", name);
}

static int read_archive(rs_run *r)
{
	const char *name;
	int64_t size;
	int step = 0, rc;
	while ((rc = ms_archive_next(r->ar, &name, &size, r->e)) == 1)
		if (read_member(r, &step, name, size) < 0)
			return -1;
	if (rc < 0)
		return -1;
	if (step < 5)
		return bad(r, "%s", "it ends before end.json: truncated");
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_digest(&r->digest, sizeof d, d);
	for (size_t i = 0; i < sizeof d; i++)
		snprintf(r->prev_digest + 2 * i, 3, "%02x", d[i]);
	return 0;
}

/* Each archive of the chain, in order; the last one's objects and index
 * are what is restored, the contents come from any of them. */
static int read_chain(rs_run *r)
{
	for (r->nth = 0; r->nth < r->nfiles; r->nth++) {
		r->file = r->files[r->nth];
		if (r->objects)
			g_object_unref(r->objects);
		r->objects = NULL;
		g_hash_table_remove_all(r->groups);
		g_hash_table_remove_all(r->indexed);
		g_hash_table_remove_all(r->own);
		r->lines = r->removed_lines = r->flag_lines = 0;
		r->incremental = false;
		sha256_init(&r->digest);
		ms_archive_free(r->ar);
		r->ar = NULL;
		if (ms_archive_open_read(r->file, &r->ar, r->e) < 0 || read_archive(r) < 0)
			return -1;
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------------- */

static JsonObject *find_domain(rs_run *r, const char *domain)
{
	JsonObject *root = json_node_get_object(json_parser_get_root(r->objects));
	JsonArray *a = bk_array(root, "domains");
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *d = bk_object_at(a, i);
		if (d && g_ascii_strcasecmp(bk_str(d, "name", ""), domain) == 0)
			return d;
	}
	return NULL;
}

/* The domain exists after this (created with the archived settings when
 * missing; -n only looks). */
static int ensure_domain(rs_run *r, const char *domain, bool *found)
{
	ms_domain d;
	int rc = ms_domain_find(r->s, domain, &d, r->e);
	if (rc < 0)
		return -1;
	*found = rc == 1;
	if (*found || r->o->dry_run)
		return 0;
	JsonObject *jd = find_domain(r, domain);
	const char *pm = jd ? bk_str(jd, "postmaster", "") : "";
	const char *pc = jd ? bk_str(jd, "plus_char", "") : "";
	ms_domain_opts dopt = {
		.inactive = jd && !bk_bool(jd, "active", true),
		.postmaster = *pm ? pm : NULL,
		.max_size_mb = jd ? bk_int(jd, "max_size_mb", 0) : 0,
		.max_account_size_mb = jd ? bk_int(jd, "max_account_size_mb", 0) : 0,
		.plus_char = *pc ? pc : NULL,
	};
	return ms_domain_add(r->s, domain, &dopt, NULL, r->e);
}

/* The target account exists after this (created with its domain, with the
 * archived settings and password as stored, when missing).  *exists says
 * whether it did before; an existing account is never changed. */
static int ensure_account(rs_run *r, const char *address, JsonObject *acc, bool *exists)
{
	char local[256], domain[256];
	bool found;
	if (ms_address_split(address, local, domain, r->e) < 0 || ensure_domain(r, domain, &found) < 0)
		return -1;
	*exists = false;
	if (found) {
		ms_account *v;
		size_t n;
		if (ms_account_list(r->s, domain, &v, &n, r->e) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			*exists |= strcasecmp(v[i].address, address) == 0;
		free(v);
	}
	if (!*exists && r->o->dry_run)
		r->st->accounts_created++; /* -n counts what the run creates */
	if (*exists || r->o->dry_run)
		return 0;
	ms_account_opts aopt = { .inactive = !bk_bool(acc, "active", true),
	                         .max_size_mb = bk_int(acc, "max_size_mb", 0) };
	if (ms_account_add(r->s, address, &aopt, NULL, r->e) < 0)
		return -1;
	r->st->accounts_created++;
	/* version 1 archives carry no password: the account keeps none */
	const char *pw = bk_str(acc, "password", NULL);
	if (pw && ms_account_password_set(r->s, address, pw,
	                                  bk_int(acc, "password_encryption", 0),
	                                  r->e) < 0)
		return -1;
	return 0;
}

/* A message the target folder holds. */
typedef struct held {
	uint32_t uid;
	unsigned flags;           /* MS_FLAG_* */
} held;

typedef struct fill {
	rs_run *r;
	GHashTable *present;      /* sha -> GArray of held, UID ascending: the copies the folder holds */
	const ms_msg *listed;     /* the batch hash_existing fetches */
	const char *account;      /* the target account and folder (for on_action) */
	char *const *levels;
	GArray *changes;          /* ms_flag_change: a chain's flags on messages it restored */
	GArray *victims;          /* uint32_t UIDs: the removals listed, to trash with --apply-removals */
	int err;
} fill;

static void on_existing(void *ctx, size_t i, ms_drv_result result, const char *data, size_t len, const ms_err *why)
{
	fill *f = ctx;
	(void)why;
	if (result != MS_DRV_OK)
		return; /* expunged meanwhile: not present */
	char sha[BK_SHA_HEX + 1];
	bk_sha256_hex(data, len, sha);
	GArray *v = g_hash_table_lookup(f->present, sha);
	if (!v) {
		v = g_array_new(FALSE, FALSE, sizeof(held));
		g_hash_table_insert(f->present, g_strdup(sha), v);
	}
	held h = { f->listed[i].uid, f->listed[i].flags & MS_FLAGS_ALL };
	g_array_append_val(v, h);
}

/* The contents the folder holds, counted (the rerun's and the repeat's guard). */
static int hash_existing(fill *f, ms_box *b)
{
	const ms_side_driver *drv = b->side->drv;
	for (uint32_t after = 0;;) {
		ms_msg *v;
		size_t n;
		ms_list_req req = { .after_uid = after, .max = 1000 };
		if (drv->list_msgs(b, &req, &v, &n, f->r->e) != MS_DRV_OK)
			return -1;
		if (n == 0) {
			ms_msg_list_free(v, n); /* the driver may hand out an empty array */
			return 0;
		}
		after = v[n - 1].uid;
		for (size_t k = 0; k < n; k += APPEND_BATCH) {
			uint32_t uids[APPEND_BATCH];
			size_t m = n - k < APPEND_BATCH ? n - k : APPEND_BATCH;
			for (size_t x = 0; x < m; x++)
				uids[x] = v[k + x].uid;
			f->listed = v + k;
			if (drv->fetch(b, uids, m, on_existing, f, f->r->e) != MS_DRV_OK) {
				ms_msg_list_free(v, n);
				return -1;
			}
		}
		ms_msg_list_free(v, n);
	}
}

static void on_append(void *ctx, size_t i, ms_drv_result result, uint32_t uid, const char *key, const ms_err *why)
{
	fill *f = ctx;
	(void)i, (void)uid, (void)key;
	if (result == MS_DRV_OK) {
		f->r->st->restored++;
		return;
	}
	if (f->r->st->failed++ == 0 && why)
		f->r->first_failure = *why;
}

static int read_spooled(rs_run *r, const rmsg *m, char **out)
{
	char *path = g_build_filename(r->spool, m->sha, NULL);
	gsize len;
	GError *ge = NULL;
	gboolean ok = g_file_get_contents(path, out, &len, &ge);
	g_free(path);
	if (!ok) {
		ms_err_set(r->e, MS_E_IO, "cannot read the spooled content %s: %s", m->sha, ge->message);
		g_error_free(ge);
		return -1;
	}
	char sha[BK_SHA_HEX + 1];
	bk_sha256_hex(*out, len, sha);
	if ((int64_t)len != m->size || strcmp(sha, m->sha) != 0) {
		g_free(*out);
		return ms_err_set(r->e, MS_E_IO, "spooled content %s changed under us in %s", m->sha, r->spool);
	}
	return 0;
}

static int append_batch(fill *f, ms_box *b, rmsg *const *batch, size_t n)
{
	ms_append a[APPEND_BATCH] = { 0 };
	char *data[APPEND_BATCH] = { 0 };
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = read_spooled(f->r, batch[i], &data[i]);
		a[i] = (ms_append){ .data = data[i], .len = (size_t)batch[i]->size, .flags = batch[i]->flags,
		                    .internal_date = batch[i]->date, .from = batch[i]->from };
	}
	if (rc == 0 && b->side->drv->append(b, a, n, on_append, f, f->r->e) != MS_DRV_OK)
		rc = -1;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			f->r->st->bytes += (uint64_t)batch[i]->size;
		g_free(data[i]);
	}
	if (rc == 0 && f->r->prog && f->r->prog->fn)
		f->r->prog->fn(f->r->prog->ctx, f->r->st->restored, f->r->st->bytes);
	return rc;
}

static void on_flags(void *ctx, size_t i, ms_drv_result result, uint32_t uid, const char *key, const ms_err *why)
{
	(void)key;
	fill *f = ctx;
	(void)i, (void)uid;
	if (result == MS_DRV_OK)
		f->r->st->flags_updated++;
	else if (f->r->st->failed++ == 0 && why)
		f->r->first_failure = *why;
}

static void action(fill *f, const char *what, uint32_t uid, const char *sha)
{
	if (f->r->o->on_action)
		f->r->o->on_action(f->r->o->action_ctx, what, f->account, f->levels, uid, sha);
}

/* A copy the folder holds stands for the archive's message m; in a chain
 * its flags become the last index's (the source's changes since the
 * archive that restored it). */
static void take_held(fill *f, const rmsg *m, GArray *v)
{
	held h = g_array_index(v, held, 0);
	g_array_remove_index(v, 0);
	f->r->st->present++;
	unsigned want = m->flags & MS_FLAGS_ALL;
	if (!f->r->chain || h.flags == want)
		return;
	action(f, "flags", h.uid, m->sha);
	if (f->r->o->dry_run) {
		f->r->st->flags_updated++;
		return;
	}
	ms_flag_change c = { .uid = h.uid, .add = want & ~h.flags, .remove = h.flags & ~want };
	g_array_append_val(f->changes, c);
}

static int apply_flags(fill *f, ms_box *b)
{
	for (guint k = 0; k < f->changes->len; k += APPEND_BATCH) {
		size_t n = f->changes->len - k < APPEND_BATCH ? f->changes->len - k : APPEND_BATCH;
		if (b->side->drv->set_flags(b, &g_array_index(f->changes, ms_flag_change, k), n, on_flags, f,
		                            f->r->e) != MS_DRV_OK)
			return -1;
	}
	return 0;
}

/* Copies the folder holds beyond the last index's that the chain's
 * incrementals list as removed from this folder: listed, and kept in
 * f->victims for --apply-removals (a message the chain does not know is
 * not even listed). */
static void list_removals(fill *f, const rm_folder *rm)
{
	GHashTableIter it;
	gpointer sha, count;
	if (!rm)
		return;
	g_hash_table_iter_init(&it, rm->shas);
	while (g_hash_table_iter_next(&it, &sha, &count)) {
		GArray *v = g_hash_table_lookup(f->present, sha);
		for (guint i = 0; v && i < v->len && i < (guint)GPOINTER_TO_INT(count); i++) {
			uint32_t uid = g_array_index(v, held, i).uid;
			action(f, "removed", uid, sha);
			g_array_append_val(f->victims, uid);
			f->r->st->removals++;
		}
	}
}

#define TRASH_BATCH 256

/* One batch of a folder's removals into the trash: the rows found by UID
 * (one expunged meanwhile is skipped), the store/trash.h protocol, under
 * the run's one intent (its directories synced once, when the run ends). */
static int trash_batch(rs_run *r, const ms_mailbox *mb, int64_t folder, const uint32_t *uids, size_t n)
{
	ms_trash_victim v[TRASH_BATCH];
	char *paths[TRASH_BATCH];
	size_t nv = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		ms_msg_row row;
		char rel[4096];
		if ((rc = ms_browse_message_by_uid(r->s->db, mb->account_id, folder, uids[i], &row, r->e)) <= 0)
			continue;
		rc = ms_layout_path(MS_PLACE_ACCOUNT, mb->owner_dir, ms_layout_base_name(row.filename), rel, sizeof rel)
		             ? 0
		             : ms_err_set(r->e, MS_E_IO, "the path of message %lld is too long", (long long)row.id);
		free(row.filename);
		if (rc == 0) {
			paths[nv] = g_strdup(rel);
			v[nv] = (ms_trash_victim){ row.id, paths[nv] };
			nv++;
		}
	}
	if (rc == 0 && nv > 0 && (r->trash || (rc = ms_trash_begin(r->w->data_dir, &r->trash, r->e)) == 0))
		rc = ms_trash_rows(r->trash, r->s->db, v, nv, "restore-removal", r->e);
	if (rc == 0)
		r->st->removals_applied += nv;
	for (size_t i = 0; i < nv; i++)
		g_free(paths[i]);
	return rc < 0 ? -1 : 0;
}

/* --apply-removals: the listed copies go into the trash, their rows
 * deleted, as `expire` does (a kill is completed by the rerun's
 * ms_trash_recover); the folder itself stays. */
static int trash_removals(rs_run *r, const char *account, const char *box, char delim, GArray *uids)
{
	char name[300];
	ms_mailbox mb = { 0 };
	int64_t folder;
	bool public = strcmp(account, MS_PUBLIC_DIR) == 0;
	snprintf(name, sizeof name, "user/%s", account);
	if (public)
		snprintf(mb.owner_dir, sizeof mb.owner_dir, "%s", MS_PUBLIC_DIR); /* account 0 */
	else if (ms_mailbox_resolve(r->s->db, name, &mb, r->e) < 0)
		return -1;
	else
		ms_mailbox_owner_on_disk(&mb, r->w->data_dir);
	int rc = ms_browse_folder_find(r->s->db, mb.account_id, box, delim, &folder, r->e);
	/* a writer's shared lock, as expire takes it: a folder under `mstore
	 * folder lock` keeps its messages until the next run (exit 1) */
	ms_mbox_lock *l = NULL;
	ms_err why = { 0 };
	if (rc == 1 && ms_mbox_lock_take(r->w->data_dir, folder, false, 0, &l, &why) < 0) {
		if (why.code != MS_E_LIMIT)
			return *r->e = why, -1;
		ms_err_prefix(&why, "%s/%s: removals left for the next run", public ? "#Public" : name, box);
		if (r->st->failed++ == 0)
			r->first_failure = why;
		return 0;
	}
	for (guint k = 0; rc == 1 && k < uids->len; k += TRASH_BATCH) {
		size_t n = uids->len - k < TRASH_BATCH ? uids->len - k : TRASH_BATCH;
		if (trash_batch(r, &mb, folder, &g_array_index(uids, uint32_t, k), n) < 0)
			rc = -1;
	}
	if (l)
		ms_mbox_lock_release(l);
	return rc < 0 ? -1 : 0;
}

static bool applying(const rs_run *r)
{
	return r->o->apply_removals && !r->o->dry_run;
}

/* What the folder lacks of the group, appended in the archive's order. */
static int fill_box(rs_run *r, ms_box *b, GPtrArray *g, fill *f)
{
	int rc = b ? hash_existing(f, b) : 0;
	rmsg *batch[APPEND_BATCH];
	size_t nb = 0, bytes = 0;
	for (guint i = 0; rc == 0 && g && i < g->len; i++) {
		rmsg *m = g_ptr_array_index(g, i);
		GArray *have = g_hash_table_lookup(f->present, m->sha);
		if (have && have->len > 0) {
			take_held(f, m, have);
			continue;
		}
		if (r->o->dry_run) {
			r->st->restored++;
			r->st->bytes += (uint64_t)m->size;
			continue;
		}
		batch[nb++] = m;
		bytes += (size_t)m->size;
		if (nb == APPEND_BATCH || bytes >= APPEND_BATCH_BYTES) {
			rc = append_batch(f, b, batch, nb);
			nb = bytes = 0;
		}
	}
	if (rc == 0 && nb)
		rc = append_batch(f, b, batch, nb);
	if (rc == 0 && b && f->changes->len)
		rc = apply_flags(f, b);
	return rc;
}

static void free_held(gpointer p)
{
	g_array_free(p, TRUE);
}

/* The folder's fill: what it lacks added, a chain's flags set, its
 * removals listed (their UIDs appended to `victims`).  The folder's
 * removals are then done with: what is left of r->removed are folders the
 * last archive no longer has. */
static int fill_folder(rs_run *r, ms_box *b, const char *from, const char *to, char *const *levels,
                       GArray *victims)
{
	char *key = bk_folder_key(from, levels);
	fill f = { .r = r, .account = to, .levels = levels,
	           .present = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_held),
	           .changes = g_array_new(FALSE, FALSE, sizeof(ms_flag_change)), .victims = victims };
	int rc = fill_box(r, b, g_hash_table_lookup(r->groups, key), &f);
	if (rc == 0)
		list_removals(&f, g_hash_table_lookup(r->removed, key));
	g_hash_table_remove(r->removed, key);
	g_free(key);
	g_hash_table_destroy(f.present);
	g_array_free(f.changes, TRUE);
	return rc;
}

static int restore_folder(rs_run *r, ms_side *side, const char *from, const char *to, JsonObject *folder)
{
	char **levels = bk_levels_of(folder, "path");
	if (!levels)
		return bad(r, "%s", "objects.json: a folder without a path");
	int rc = 0;
	if (!bk_selected(r->o->sel, r->o->nsel, from, levels, g_strv_length(levels)) || is_refused(r, from, levels)) {
		g_strfreev(levels);
		return 0;
	}
	char *name = NULL;
	ms_box *b = NULL;
	GArray *victims = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	if (side && (rc = bk_box_name(side, levels, g_strv_length(levels), &name, r->e)) == 0) {
		if (!r->o->dry_run && side->drv->create_box(side, name, r->e) != MS_DRV_OK)
			rc = -1;
		else if (side->drv->open_box(side, name, &b, r->e) != MS_DRV_OK) {
			b = NULL;
			rc = r->o->dry_run ? 0 : -1; /* -n: a folder still to be made holds nothing */
		}
	}
	r->st->folders++;
	if (rc == 0)
		rc = fill_folder(r, b, from, to, levels, victims);
	if (b)
		side->drv->close_box(b);
	/* after the box is closed: the side's connection holds nothing then */
	if (rc == 0 && victims->len && applying(r))
		rc = trash_removals(r, to, name, side->delim, victims);
	g_array_free(victims, TRUE);
	g_free(name);
	g_strfreev(levels);
	return rc;
}

static int restore_account(rs_run *r, JsonObject *acc)
{
	const char *from = bk_str(acc, "address", "");
	if (!bk_account_selected(r->o->sel, r->o->nsel, from) || is_refused(r, from, NULL))
		return 0;
	const char *to = r->o->into ? r->o->into : from;
	r->into_from = from;
	bool exists;
	ms_side *side = NULL;
	if (ensure_account(r, to, acc, &exists) < 0)
		return -1;
	if ((exists || !r->o->dry_run) && bk_side_open(r->w, to, r->o->dry_run, &side, r->e) < 0)
		return -1;
	JsonArray *fs = bk_array(acc, "folders");
	int rc = 0;
	for (guint i = 0; rc == 0 && fs && i < json_array_get_length(fs); i++)
		rc = restore_folder(r, side, from, to, bk_object_at(fs, i));
	if (side)
		side->drv->close(side);
	return rc;
}

static int restore_accounts(rs_run *r)
{
	JsonObject *root = json_node_get_object(json_parser_get_root(r->objects));
	JsonArray *a = bk_array(root, "accounts");
	guint chosen = 0;
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *acc = bk_object_at(a, i);
		chosen += acc && bk_account_selected(r->o->sel, r->o->nsel,
		                                     bk_str(acc, "address", ""));
	}
	if (chosen == 0 && r->o->nsel > 0)
		return ms_err_set(r->e, MS_E_NOTFOUND, "archive %s: nothing in it is selected", r->file);
	if (r->o->into && chosen > 1)
		return ms_err_set(r->e, MS_E_USAGE, "--into takes the messages of one account; %u are selected", chosen);
	for (guint i = 0; a && i < json_array_get_length(a); i++)
		if (restore_account(r, bk_object_at(a, i)) < 0)
			return -1;
	return 0;
}

/* ---- removals in folders the last archive no longer has ----------------------- */

/* A folder (or account) deleted in the source: the target's copies of its
 * removed messages are listed like any folder's, and trashed with
 * --apply-removals; the folder itself stays (it may hold messages the
 * chain does not know; `folder delete` removes it).  Nothing of it in the
 * target: nothing to do. */
static int removed_folder(rs_run *r, const char *to, const rm_folder *rm)
{
	ms_side *side;
	ms_box *b = NULL;
	char *name = NULL;
	ms_err probe;
	if (bk_side_open(r->w, to, true, &side, &probe) < 0)
		return probe.code == MS_E_NOTFOUND ? 0 : (*r->e = probe, -1);
	int rc = bk_box_name(side, rm->levels, g_strv_length(rm->levels), &name, r->e);
	if (rc == 0 && side->drv->open_box(side, name, &b, &probe) != MS_DRV_OK) {
		b = NULL;
		rc = probe.code == MS_E_NOTFOUND ? 0 : (*r->e = probe, -1);
	}
	GArray *victims = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	if (b) {
		fill f = { .r = r, .account = to, .levels = rm->levels, .victims = victims,
		           .present = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_held) };
		if ((rc = hash_existing(&f, b)) == 0)
			list_removals(&f, rm);
		g_hash_table_destroy(f.present);
		side->drv->close_box(b);
	}
	if (rc == 0 && victims->len && applying(r))
		rc = trash_removals(r, to, name, side->delim, victims);
	g_array_free(victims, TRUE);
	g_free(name);
	side->drv->close(side);
	return rc;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int removed_folders(rs_run *r)
{
	guint n;
	char **keys = (char **)g_hash_table_get_keys_as_array(r->removed, &n);
	qsort(keys, n, sizeof *keys, by_text); /* the same chain lists in the same order */
	int rc = 0;
	for (guint i = 0; i < n && rc == 0; i++) {
		const rm_folder *rm = g_hash_table_lookup(r->removed, keys[i]);
		if (r->o->into && !(r->into_from && g_ascii_strcasecmp(rm->account, r->into_from) == 0))
			continue; /* --into maps one account only */
		if (is_refused(r, rm->account, NULL) || is_refused(r, rm->account, rm->levels))
			continue; /* failed already: this target cannot name it */
		rc = removed_folder(r, r->o->into ? r->o->into : rm->account, rm);
	}
	g_free(keys);
	return rc;
}

/* ---- format 2's objects: aliases, lists, #Public, ACLs ----------------------- */

static JsonArray *objects_array(rs_run *r, const char *member)
{
	JsonObject *root = json_node_get_object(json_parser_get_root(r->objects));
	return bk_array(root, member);
}

/* A failure to write one object is counted like a message's (exit 1),
 * the rest still restored. */
static void object_failed(rs_run *r, const ms_err *why)
{
	if (r->st->failed++ == 0)
		r->first_failure = *why;
}

/* An address object is added only where the address is free: 1 free (and
 * its domain there, or to be made), 0 in use (*kind says by what). */
static int address_free(rs_run *r, const char *address, const char **kind)
{
	char local[256], domain[256];
	bool found;
	if (ms_address_split(address, local, domain, r->e) < 0 || ensure_domain(r, domain, &found) < 0)
		return -1;
	*kind = NULL;
	if (!found)
		return 1;
	int rc = ms_address_in_use(r->s, address, kind, r->e);
	return rc < 0 ? -1 : !rc;
}

static int restore_alias(rs_run *r, JsonObject *a)
{
	const char *name = bk_str(a, "name", "");
	const char *kind;
	if (!bk_domain_objects_selected(r->o->sel, r->o->nsel, name))
		return 0;
	int rc = address_free(r, name, &kind);
	if (rc <= 0) {
		r->st->objects_present += rc == 0;
		if (rc < 0)
			object_failed(r, r->e); /* a bad name: the next objects still go in */
		return 0;
	}
	ms_err why;
	if (!r->o->dry_run &&
	    ms_alias_add(r->s, name, bk_str(a, "value", ""),
	                 !bk_bool(a, "active", true), &why) < 0) {
		object_failed(r, &why);
		return 0;
	}
	r->st->aliases++;
	return 0;
}

static void restore_members(rs_run *r, const char *list, JsonArray *m, bool is_new)
{
	for (guint i = 0; m && i < json_array_get_length(m); i++) {
		const char *who = bk_str_at(m, i);
		ms_err why;
		if (!who)
			continue;
		if (r->o->dry_run) {
			r->st->members += is_new; /* an existing list's members are not looked at by -n */
			continue;
		}
		if (ms_dlist_member_add(r->s, list, who, &why) == 0)
			r->st->members++;
		else if (why.code != MS_E_EXISTS)
			object_failed(r, &why);
	}
}

static int restore_list(rs_run *r, JsonObject *l)
{
	const char *addr = bk_str(l, "address", "");
	const char *kind;
	if (!bk_domain_objects_selected(r->o->sel, r->o->nsel, addr))
		return 0;
	int rc = address_free(r, addr, &kind);
	if (rc < 0) {
		object_failed(r, r->e);
		return 0;
	}
	JsonArray *m = bk_array(l, "members");
	if (rc == 0) {
		r->st->objects_present++;
		/* a list there already (an earlier, interrupted restore) gets the
		 * members it lacks; an account or alias of that address is left alone */
		if (kind && strstr(kind, "list"))
			restore_members(r, addr, m, false);
		return 0;
	}
	ms_err why;
	if (!r->o->dry_run &&
	    ms_dlist_add(r->s, addr, !bk_bool(l, "enabled", true), &why) < 0) {
		object_failed(r, &why);
		return 0;
	}
	r->st->lists++;
	restore_members(r, addr, m, true);
	return 0;
}

static char *joined_levels(JsonObject *o, const char *member)
{
	char **levels = bk_levels_of(o, member);
	char *path = levels ? g_strjoinv("/", levels) : NULL;
	g_strfreev(levels);
	return path;
}

static int restore_public_folder(rs_run *r, JsonObject *f)
{
	char *path = joined_levels(f, "path");
	if (!path)
		return bad(r, "%s", "objects.json: a public folder without a path");
	char *name = g_strconcat("#Public/", path, NULL);
	ms_mailbox mb;
	ms_err why;
	int rc = ms_mailbox_resolve(r->s->db, name, &mb, &why);
	if (rc < 0)
		object_failed(r, &why); /* a level the target cannot name: the rest still go in */
	else if (mb.folder_id != 0)
		r->st->objects_present++;
	else if (!r->o->dry_run && ms_mailbox_create(r->s->db, &mb, &why) < 0 && why.code != MS_E_EXISTS)
		object_failed(r, &why);
	else
		r->st->public_folders++;
	g_free(name);
	g_free(path);
	return 0;
}

/* A member of a group, by address: the account must be in the target. */
static void restore_group_member(rs_run *r, const char *group, int64_t gid, const char *who)
{
	int type, rc;
	int64_t account;
	ms_err why;
	if ((rc = ms_acl_who(r->s->db, who, &type, &account, &why)) == 0 && type != MS_ACL_ACCOUNT)
		rc = ms_err_set(&why, MS_E_USAGE, "'%s' is not an address", who);
	if (rc == 0 && (rc = ms_group_member_add(r->s->db, gid, account, &why)) >= 0)
		r->st->group_members += rc;
	if (rc < 0) {
		ms_err_prefix(&why, "member %s of group %s", who, group);
		object_failed(r, &why);
	}
}

/* A group (format 4) the target lacks is added with its members; one of
 * that name there gets the members it lacks (an interrupted restore
 * completes), none taken away. */
static int restore_group(rs_run *r, JsonObject *g)
{
	const char *name = bk_str(g, "name", "");
	JsonArray *m = bk_array(g, "members");
	int64_t gid;
	ms_err why;
	/* by its name alone: one with an '@' (hMailServer allows it) is no address */
	int rc = ms_group_find(r->s->db, name, &gid, &why);
	if (rc < 0 && why.code != MS_E_NOTFOUND) {
		object_failed(r, &why);
		return 0;
	}
	if (rc == 0)
		r->st->objects_present++;
	else if (r->o->dry_run) {
		r->st->groups++;
		r->st->group_members += m ? json_array_get_length(m) : 0;
		return 0;
	} else if (ms_group_add(r->s->db, name, &gid, &why) < 0) {
		object_failed(r, &why);
		return 0;
	} else
		r->st->groups++;
	for (guint i = 0; !r->o->dry_run && m && i < json_array_get_length(m); i++) {
		const char *who = bk_str_at(m, i);
		if (who)
			restore_group_member(r, name, gid, who);
	}
	return 0;
}

/* The row's identifier as the archive types it: a group by its name,
 * whatever the name holds. */
static int acl_who(rs_run *r, const char *type, const char *who, int *t, int64_t *id, ms_err *e)
{
	if (strcmp(type, "group") != 0)
		return ms_acl_who(r->s->db, who, t, id, e);
	*t = MS_ACL_GROUP;
	return ms_group_find(r->s->db, who, id, e);
}

/* A row is added where the folder has none for that identifier; an
 * existing row keeps its rights.  A group must exist in the target by
 * then (format 4 archives bring theirs). */
static int restore_acl(rs_run *r, JsonObject *a)
{
	char *path = joined_levels(a, "folder");
	const char *who = bk_str(a, "who", "");
	const char *rights = bk_str(a, "rights", "");
	int64_t folder = 0, id, bits, have;
	int type;
	char mode;
	ms_err why;
	if (!path)
		return bad(r, "%s", "objects.json: an ACL row without a folder");
	/* a row with no right at all has no letters */
	int rc = *rights ? ms_acl_parse(rights, &bits, &mode, &why) : (bits = 0, 0);
	if (rc == 0)
		rc = ms_public_folder_find(r->s->db, path, &folder, &why);
	if (rc == 0 && r->o->dry_run)
		rc = 1; /* -n: the folder is made by the real run */
	else if (rc == 0)
		rc = ms_err_set(&why, MS_E_NOTFOUND, "public folder '%s' is missing", path);
	if (rc > 0 && folder == 0)
		r->st->acls++;
	else if (rc > 0 && (rc = acl_who(r, bk_str(a, "type", ""), who, &type, &id, &why)) == 0 &&
	         (rc = ms_acl_get(r->s->db, folder, type, id, &have, &why)) >= 0) {
		if (rc == 1)
			r->st->objects_present++;
		else if (r->o->dry_run || (rc = ms_acl_put(r->s->db, folder, type, id, bits, &why)) == 0)
			r->st->acls++;
	}
	if (rc < 0) {
		ms_err_prefix(&why, "ACL of #Public/%s for %s", path, who);
		object_failed(r, &why);
	}
	g_free(path);
	return 0;
}

static int restore_objects(rs_run *r)
{
	if (r->o->into)
		return 0; /* --into moves one account's messages, nothing else */
	static const struct {
		const char *member;
		int (*fn)(rs_run *r, JsonObject *o);
	} kinds[] = {
		{ "aliases", restore_alias },
		{ "distribution_lists", restore_list },
		{ "public_folders", restore_public_folder },
		{ "groups", restore_group },
		{ "acl", restore_acl },
	};
	for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
		JsonArray *a = objects_array(r, kinds[k].member);
		bool whole = k < 2 || r->o->nsel == 0; /* #Public belongs to no account or domain */
		for (guint i = 0; whole && a && i < json_array_get_length(a); i++) {
			JsonObject *o = bk_object_at(a, i);
			if (o && kinds[k].fn(r, o) < 0)
				return -1;
		}
	}
	return 0;
}

/* #Public's messages (format 4), into the public folders restore_objects
 * made: as an account's, through the side of account 0. */
static int restore_public_messages(rs_run *r)
{
	JsonArray *a = objects_array(r, "public_folders");
	ms_side *side = NULL;
	if (r->o->into || r->o->nsel > 0 || !a || json_array_get_length(a) == 0)
		return 0;
	if (bk_side_open(r->w, MS_PUBLIC_DIR, r->o->dry_run, &side, r->e) < 0)
		return -1;
	int rc = 0;
	for (guint i = 0; rc == 0 && i < json_array_get_length(a); i++)
		rc = restore_folder(r, side, MS_PUBLIC_DIR, MS_PUBLIC_DIR, bk_object_at(a, i));
	side->drv->close(side);
	return rc;
}

/* ---- every object checked before the first write ------------------------------- */

/* hMailServer's rules for a folder's levels (IMAPFolder::IsValidFolderName,
 * as drv_hmailserver's create_box applies them): 1 to 25 levels of 1 to
 * 255 bytes, an account's first not starting with '#' (#Public's). */
static bool levels_valid(char *const *levels, bool public)
{
	size_t n = levels ? g_strv_length((char **)levels) : 0;
	if (n == 0 || n > 25 || (!public && levels[0][0] == '#'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (strlen(levels[i]) > 255)
			return false;
	return true; /* bk_levels_of gives NULL for an empty level */
}

/* A folder list (an account's, #Public's, the ACL rows'): each one's
 * levels valid, else the archive is damaged. */
static int check_paths(rs_run *r, JsonArray *a, const char *member, const char *owner, bool public)
{
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		char **levels = bk_levels_of(bk_object_at(a, i), member);
		bool ok = levels_valid(levels, public);
		g_strfreev(levels);
		if (!ok)
			return bad(r, BK_OBJECTS_MEMBER ": %s: folder %u has no path, an empty level, or one hMailServer"
			           " does not accept (1 to 25 levels of 1 to 255 bytes)", owner, i + 1);
	}
	return 0;
}

/* The folders objects.json lists (an account's, #Public's) taken out of
 * the index's: a line left names a folder the archive does not describe. */
static void check_indexed(rs_run *r, JsonArray *a, const char *owner)
{
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		char **levels = bk_levels_of(bk_object_at(a, i), "path");
		char *key = bk_folder_key(owner, levels);
		g_hash_table_remove(r->indexed, key);
		g_free(key);
		g_strfreev(levels);
	}
}

/* Every line of the index is of a folder objects.json lists: a line that
 * is not is a lying manifest (it would be dropped unseen). */
static int check_index_listed(rs_run *r)
{
	JsonArray *accs = objects_array(r, "accounts");
	for (guint i = 0; accs && i < json_array_get_length(accs); i++) {
		JsonObject *acc = bk_object_at(accs, i);
		check_indexed(r, bk_array(acc, "folders"), bk_str(acc, "address", ""));
	}
	check_indexed(r, objects_array(r, "public_folders"), MS_PUBLIC_DIR);
	GHashTableIter it;
	gpointer key, line, first = NULL;
	g_hash_table_iter_init(&it, r->indexed);
	while (g_hash_table_iter_next(&it, &key, &line))
		if (!first || GPOINTER_TO_INT(line) < GPOINTER_TO_INT(first))
			first = line;
	if (first)
		return bad(r, BK_MESSAGES_MEMBER " line %d: its account or folder is one " BK_OBJECTS_MEMBER
		           " does not list", GPOINTER_TO_INT(first));
	return 0;
}

/* What the archive itself must get right: addresses, folder paths, group
 * names, an index of the folders it lists.  Any fault is damage: refused
 * before anything is written. */
static int check_archive(rs_run *r)
{
	JsonArray *accs = objects_array(r, "accounts"), *groups = objects_array(r, "groups");
	for (guint i = 0; accs && i < json_array_get_length(accs); i++) {
		JsonObject *acc = bk_object_at(accs, i);
		const char *address = bk_str(acc, "address", "");
		char local[256], domain[256];
		ms_err why;
		if (ms_address_split(address, local, domain, &why) < 0 || ms_account_local_check(address, local, &why) < 0)
			return bad(r, BK_OBJECTS_MEMBER ": account %u: %s", i + 1, why.msg);
		if (check_paths(r, bk_array(acc, "folders"), "path", address, false) < 0)
			return -1;
	}
	if (check_paths(r, objects_array(r, "public_folders"), "path", "#Public", true) < 0 ||
	    check_paths(r, objects_array(r, "acl"), "folder", "an ACL row", true) < 0)
		return -1;
	for (guint i = 0; groups && i < json_array_get_length(groups); i++)
		if (!*bk_str(bk_object_at(groups, i), "name", ""))
			return bad(r, BK_OBJECTS_MEMBER ": group %u has no name", i + 1);
	return check_index_listed(r);
}

static void refuse(rs_run *r, const char *account, char *const *levels, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* This target cannot take the account or folder: a failure naming it
 * (exit 1), its folders and messages left out, the rest restored. */
static void refuse(rs_run *r, const char *account, char *const *levels, const char *fmt, ...)
{
	ms_err why = { .code = MS_E_USAGE };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why.msg, sizeof why.msg, fmt, ap);
	va_end(ap);
	object_failed(r, &why);
	g_hash_table_add(r->refused, bk_folder_key(account, levels));
}

/* The selected folders whose levels hold this store's hierarchy delimiter:
 * the server could not name them. */
static void check_delimiter(rs_run *r, JsonObject *acc, const char *from, const char *to, char delim)
{
	JsonArray *fs = bk_array(acc, "folders");
	for (guint i = 0; fs && i < json_array_get_length(fs); i++) {
		char **levels = bk_levels_of(bk_object_at(fs, i), "path");
		for (size_t k = 0; levels[k]; k++)
			if (strchr(levels[k], delim) && bk_selected(r->o->sel, r->o->nsel, from, levels, g_strv_length(levels))) {
				refuse(r, from, levels, "user/%s: folder level '%s' holds this store's hierarchy delimiter '%c':"
				       " the folder and its messages are not restored", to, levels[k], delim);
				break;
			}
		g_strfreev(levels);
	}
}

/* What this target cannot take (an account's address used by an alias or
 * a list here, a level holding its delimiter): found before the first
 * write, so -n reports the same failures as the run. */
static int check_targets(rs_run *r)
{
	JsonArray *accs = objects_array(r, "accounts");
	char delim;
	if (ms_browse_delimiter(r->s->db, &delim, r->e) < 0)
		return -1;
	for (guint i = 0; accs && i < json_array_get_length(accs); i++) {
		JsonObject *acc = bk_object_at(accs, i);
		const char *from = bk_str(acc, "address", ""), *to = r->o->into ? r->o->into : from, *kind = NULL;
		if (!bk_account_selected(r->o->sel, r->o->nsel, from))
			continue;
		int rc = ms_address_in_use(r->s, to, &kind, r->e);
		if (rc < 0)
			return -1;
		if (rc > 0 && strcmp(kind, "an account") != 0)
			refuse(r, from, NULL, "account %s: the address is %s in this store: its folders and messages are not"
			       " restored", to, kind);
		else
			check_delimiter(r, acc, from, to, delim);
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

int ms_restore_run(ms_store *s, const ms_bk_store *where, const char *const *files, size_t nfiles,
                   const ms_restore_opts *o, const ms_bk_progress *prog, ms_restore_stats *st, ms_err *e)
{
	assert(nfiles > 0);
	*st = (ms_restore_stats){ 0 };
	rs_run r = { .s = s, .w = where, .o = o, .prog = prog, .st = st, .e = e, .file = files[0],
	             .files = files, .nfiles = nfiles };
	r.spool = g_build_filename(o->tmpdir ? o->tmpdir : g_get_tmp_dir(), "mstore-restore.XXXXXX", NULL);
	if (!mkdtemp(r.spool)) {
		ms_err_set(e, MS_E_IO, "cannot create a temporary directory %s: %s", r.spool, strerror(errno));
		g_free(r.spool);
		return -1;
	}
	r.contents = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	r.groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
	r.own = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	r.removed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, rm_folder_free);
	r.refused = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	r.indexed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	int rc = read_chain(&r);
	if (rc == 0)
		rc = check_archive(&r);
	if (rc == 0)
		rc = check_targets(&r);
	/* a removal an earlier run was killed in is completed first */
	if (rc == 0 && applying(&r))
		rc = ms_trash_recover(s->db, where->data_dir, NULL, e);
	if (rc == 0)
		rc = restore_accounts(&r);
	if (rc == 0)
		rc = restore_objects(&r);
	if (rc == 0)
		rc = restore_public_messages(&r);
	if (rc == 0)
		rc = removed_folders(&r); /* last: what no folder visited above took */
	ms_err fe = { 0 };        /* after an error, the first one is the one to report */
	if (r.trash && ms_trash_finish(r.trash, NULL, NULL, rc < 0 ? &fe : e) < 0)
		rc = -1;
	if (rc == 0 && st->failed)
		*e = r.first_failure;
	ms_archive_free(r.ar);
	nftw(r.spool, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	g_free(r.spool);
	if (r.objects)
		g_object_unref(r.objects);
	g_hash_table_destroy(r.contents);
	g_hash_table_destroy(r.groups);
	g_hash_table_destroy(r.own);
	g_hash_table_destroy(r.removed);
	g_hash_table_destroy(r.refused);
	g_hash_table_destroy(r.indexed);
	return rc;
}
