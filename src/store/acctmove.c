/* acctmove.c - the journaled account move (acctmove.h). */
/* renameat2 and RENAME_NOREPLACE need _GNU_SOURCE, which meson.build sets. */
#include "store/acctmove.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/txn.h"
#include "store/mailbox.h"
#include "store/msgfile.h"
#include "store/messages.h"
#include "store/objects.h"
#include "store/sql.h"
#include "util/testhook.h"
#include "util/journal_io.h"

#define PRIVATE_DIR ".mstore"
#define PREFIX "acctmove-"
#define SUFFIX ".move"
#define MAGIC "mstore-account-move 1"

/* ---- file system steps ---------------------------------------------------------- */

static void parent_of(const char *rel, char *out, size_t len)
{
	const char *slash = strrchr(rel, '/');
	snprintf(out, len, "%.*s", slash ? (int)(slash - rel) : 0, rel);
}

/* mkdir -p `rel`, each new entry synced into its parent. */
static int make_dirs(int root, const char *data, const char *rel, ms_err *e)
{
	char path[1100];
	snprintf(path, sizeof path, "%s", rel);
	for (char *p = path;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdirat(root, path, 0755) == 0) {
			char parent[1100];
			parent_of(path, parent, sizeof parent);
			if (ms_jio_sync_dir(root, data, parent, e) < 0)
				return -1;
		} else if (errno != EEXIST) {
			return ms_err_set(e, MS_E_IO, "cannot create %s/%s: %s", data, path, strerror(errno));
		}
		*p = c;
		if (!c)
			return 0;
	}
}

static bool exists_dir(int root, const char *rel)
{
	struct stat st;
	return fstatat(root, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Move every entry of directory `from` into `to` (both relative to DATA),
 * recursing into directories that exist on both sides; never over a file.
 * `from`'s emptied directories are removed. */
static int merge_dir(int root, const char *data, const char *from, const char *to, int depth, ms_err *e)
{
	if (depth > 8)
		return ms_err_set(e, MS_E_IO, "%s/%s: too deep to merge into %s/%s", data, from, data, to);
	int fd = openat(root, from, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return ms_err_set(e, MS_E_IO, "cannot read %s/%s: %s", data, from, strerror(errno));
	}
	if (make_dirs(root, data, to, e) < 0) {
		closedir(d);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char a[1400], b[1400];
		snprintf(a, sizeof a, "%s/%s", from, de->d_name);
		snprintf(b, sizeof b, "%s/%s", to, de->d_name);
		if (renameat2(root, a, root, b, RENAME_NOREPLACE) == 0)
			continue;
		if (errno == EEXIST && exists_dir(root, a) && exists_dir(root, b))
			rc = merge_dir(root, data, a, b, depth + 1, e);
		else
			rc = ms_err_set(e, MS_E_IO, "cannot move %s/%s to %s/%s: %s", data, a, data, b,
			                errno == EEXIST ? "a file of that name is there (left both in place)" : strerror(errno));
	}
	closedir(d);
	if (rc == 0 && ms_jio_sync_dir(root, data, to, e) == 0 && ms_jio_sync_dir(root, data, from, e) == 0 && unlinkat(root, from, AT_REMOVEDIR) < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot remove %s/%s after moving its files: %s", data, from, strerror(errno));
	return rc;
}

/* Step 2: the directory to its new place. */
static int move_files(int root, const char *data, const ms_acctmove *m, ms_err *e)
{
	if (!exists_dir(root, m->from_dir))
		return 0; /* no files, or moved already */
	char from_parent[1100], to_parent[1100];
	parent_of(m->from_dir, from_parent, sizeof from_parent);
	parent_of(m->to_dir, to_parent, sizeof to_parent);
	if (make_dirs(root, data, to_parent, e) < 0)
		return -1;
	if (renameat2(root, m->from_dir, root, m->to_dir, RENAME_NOREPLACE) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY)
			return ms_err_set(e, MS_E_IO, "cannot move %s/%s to %s/%s: %s", data, m->from_dir, data, m->to_dir,
			                  strerror(errno));
		if (merge_dir(root, data, m->from_dir, m->to_dir, 0, e) < 0)
			return -1;
	}
	ms_test_hook("acctmove-files");
	/* a move within a domain has one parent: one fsync makes both names durable */
	if (ms_jio_sync_dir(root, data, to_parent, e) < 0)
		return -1;
	return strcmp(from_parent, to_parent) == 0 ? 0 : ms_jio_sync_dir(root, data, from_parent, e);
}

/* ---- the journal ---------------------------------------------------------------- */

static void put_field(FILE *f, const char *key, const char *v)
{
	fprintf(f, "%s ", key);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '%' || c < 0x20 || c == 0x7f)
			fprintf(f, "%%%02X", c);
		else
			fputc(c, f);
	}
	fputc('\n', f);
}

static void journal_name(const ms_acctmove *m, char *out, size_t len)
{
	snprintf(out, len, PRIVATE_DIR "/" PREFIX "%lld" SUFFIX, (long long)m->account_id);
}

/* Step 1: the journal, durable, locked; its fd in *fd. */
static int journal_write(int root, const char *data, const ms_acctmove *m, int *fd, ms_err *e)
{
	char name[300], tmp[310];
	journal_name(m, name, sizeof name);
	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	if (make_dirs(root, data, PRIVATE_DIR, e) < 0)
		return -1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	fprintf(f, MAGIC "\naccount %lld\ndomain %lld\n", (long long)m->account_id, (long long)m->domain_id);
	put_field(f, "from", m->from);
	put_field(f, "to", m->to);
	put_field(f, "fromdir", m->from_dir);
	put_field(f, "todir", m->to_dir);
	fputs("end\n", f);
	fclose(f);
	int w = openat(root, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	/* locked at once: a recovery removes only a .tmp nobody holds */
	bool ok = w >= 0 && flock(w, LOCK_EX) == 0 && write(w, buf, len) == (ssize_t)len && fsync(w) == 0;
	int err = errno;
	free(buf);
	if (!ok) {
		if (w >= 0)
			close(w);
		unlinkat(root, tmp, 0);
		return ms_err_set(e, MS_E_IO, "cannot write the move journal %s/%s: %s", data, tmp, strerror(err));
	}
	if (renameat(root, tmp, root, name) < 0 || ms_jio_sync_dir(root, data, PRIVATE_DIR, e) < 0) {
		err = errno;
		close(w);
		unlinkat(root, tmp, 0);
		return ms_err_set(e, MS_E_IO, "cannot put the move journal %s/%s in place: %s", data, name, strerror(err));
	}
	*fd = w;
	return 0;
}

static int journal_read(FILE *f, ms_acctmove *m)
{
	memset(m, 0, sizeof *m);
	char line[1200];
	bool magic = false, end = false;
	while (fgets(line, sizeof line, f)) {
		size_t n = strlen(line);
		if (n == 0 || line[n - 1] != '\n')
			return -1;
		line[n - 1] = '\0';
		char *v = strchr(line, ' ');
		if (v)
			*v++ = '\0';
		if (strcmp(line, "mstore-account-move") == 0 && v && strcmp(v, "1") == 0)
			magic = true;
		else if (strcmp(line, "end") == 0)
			end = true;
		else if (!v)
			return -1;
		else if (strcmp(line, "account") == 0)
			m->account_id = strtoll(v, NULL, 10);
		else if (strcmp(line, "domain") == 0)
			m->domain_id = strtoll(v, NULL, 10);
		else {
			ms_jio_unescape(v);
			char *dst = strcmp(line, "from") == 0 ? m->from : strcmp(line, "to") == 0 ? m->to
			          : strcmp(line, "fromdir") == 0 ? m->from_dir : strcmp(line, "todir") == 0 ? m->to_dir : NULL;
			size_t cap = dst == m->from || dst == m->to ? sizeof m->from : sizeof m->from_dir;
			if (dst)
				snprintf(dst, cap, "%s", v);
		}
	}
	return magic && end && m->account_id > 0 && m->to[0] && m->from_dir[0] && m->to_dir[0] ? 0 : -1;
}

/* ---- the row ------------------------------------------------------------------ */

/* Step 3.  A row already at the new address is done; at a third one, an
 * error.  Another account at the new address (made while the move was
 * pending, behind mstore's back) is bad input, named, not the database's
 * UNIQUE violation: the move stays pending until that account is gone. */
static int move_row(db *d, const ms_acctmove *m, ms_err *e)
{
	db_txn *t;
	int64_t changed = 0, other = 0;
	if (db_txn_begin(d, &t, e) < 0)
		return -1;
	int rc = ms_sql_int(d, "SELECT accountid FROM hm_accounts WHERE LOWER(accountaddress) = LOWER(?) AND accountid <> ?",
	                    PARAMS(P_TEXT(m->to), P_INT(m->account_id)), &other, e);
	if (rc != 0) {
		db_txn_rollback(&t);
		return rc < 0 ? -1 : ms_err_set(e, MS_E_EXISTS, "%s is another account's now (id %lld, added while the move was"
		                                 " pending): delete or rename that account, then rerun", m->to, (long long)other);
	}
	if (ms_sql_exec(d, "UPDATE hm_accounts SET accountaddress = ?, accountdomainid = ? WHERE accountid = ?"
	                " AND LOWER(accountaddress) = LOWER(?)", PARAMS(P_TEXT(m->to), P_INT(m->domain_id),
	                P_INT(m->account_id), P_TEXT(m->from)), &changed, e) < 0) {
		db_txn_rollback(&t);
		return -1;
	}
	if (db_txn_commit(&t, e) < 0)
		return -1;
	if (changed == 1)
		return 0;
	int64_t id;
	rc = ms_sql_int(d, "SELECT accountid FROM hm_accounts WHERE accountid = ? AND LOWER(accountaddress) = LOWER(?)",
	                    PARAMS(P_INT(m->account_id), P_TEXT(m->to)), &id, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return ms_err_set(e, MS_E_DB, "account %lld is neither %s nor %s any more: its move was not completed",
		                  (long long)m->account_id, m->from, m->to);
	return 0;
}

/* Steps 2-4 on a journal held by `fd` (closed here). */
static int roll_forward(ms_store *s, int root, const ms_acctmove *m, int fd, ms_err *e)
{
	char name[300];
	journal_name(m, name, sizeof name);
	int rc = move_files(root, s->data_dir, m, e);
	if (rc == 0) {
		ms_test_hook("acctmove-row");
		rc = move_row(s->db, m, e);
	}
	if (rc == 0 && unlinkat(root, name, 0) < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot remove the move journal %s/%s: %s", s->data_dir, name, strerror(errno));
	else if (rc == 0)
		rc = ms_jio_sync_dir(root, s->data_dir, PRIVATE_DIR, e);
	close(fd);
	if (rc < 0)
		ms_err_prefix(e, "moving account %s to %s (journal %s/%s kept; a rerun completes it)", m->from, m->to,
		              s->data_dir, name);
	return rc;
}

/* ---- the interface -------------------------------------------------------------- */

static int open_root(const char *data, ms_err *e)
{
	int fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		ms_err_set(e, MS_E_IO, "cannot open the data directory %s: %s", data, strerror(errno));
	return fd;
}

static bool dir_empty_or_absent(int root, const char *rel)
{
	int fd = openat(root, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

int ms_acctmove_plan(ms_store *s, const char *from, const char *to, ms_acctmove *m, ms_err *e)
{
	memset(m, 0, sizeof *m);
	char name[300];
	snprintf(name, sizeof name, "user/%s", from);
	ms_mailbox mb;
	if (ms_mailbox_resolve(s->db, name, &mb, e) < 0)
		return -1;
	ms_mailbox_owner_on_disk(&mb, s->data_dir);
	if (!s->data_dir)
		return ms_err_set(e, MS_E_USAGE, "moving an account moves its files: give the data directory (--data)");
	m->account_id = mb.account_id;
	snprintf(m->from, sizeof m->from, "%s", mb.address);
	snprintf(m->from_dir, sizeof m->from_dir, "%s", mb.owner_dir);
	if (ms_account_new_address(s, to, mb.domain_id, m->to, &m->domain_id, e) < 0)
		return -1;
	/* a row with a full path names the old directory: hMailServer refuses
	 * to rename such an account too (its TestRenameAccountOrDomainWith-
	 * MessagesWithFullPath) */
	int64_t full = 0;
	if (ms_messages_count_full_paths(s->db, m->account_id, &full, e) < 0)
		return -1;
	if (full)
		return ms_err_set(e, MS_E_USAGE, "cannot move %s: %lld of its message rows name their file by a full path,"
		                  " which would point into the old directory (as hMailServer, mstore refuses)", m->from, (long long)full);
	int root = open_root(s->data_dir, e);
	if (root < 0)
		return -1;
	/* into the domain's directory as it is spelt on disk (Example.com/ from
	 * Windows), as the server's next delivery would find it */
	const char *at = strrchr(m->to, '@');
	char local[256];
	assert(at);
	snprintf(local, sizeof local, "%.*s", (int)(at - m->to), m->to);
	ms_msgfile_owner_dir(root, local, at + 1, m->to_dir, sizeof m->to_dir);
	bool free_dir = strcmp(m->to_dir, m->from_dir) == 0 || dir_empty_or_absent(root, m->to_dir);
	close(root);
	if (!free_dir)
		return ms_err_set(e, MS_E_EXISTS, "cannot move %s to %s: %s/%s exists and is not empty (files of no account;"
		                  " `mstore reconstruct -n` names them)", m->from, m->to, s->data_dir, m->to_dir);
	return 0;
}

int ms_acctmove_run(ms_store *s, const ms_acctmove *m, ms_err *e)
{
	int root = open_root(s->data_dir, e);
	if (root < 0)
		return -1;
	int fd;
	int rc = journal_write(root, s->data_dir, m, &fd, e);
	if (rc == 0) {
		ms_test_hook("acctmove-journal");
		rc = roll_forward(s, root, m, fd, e);
	}
	close(root);
	return rc;
}

/* A journal being written when its writer died was never put in place:
 * nothing was moved. */
static int drop_tmp(void *ctx, int fd, const char *name, ms_err *e)
{
	(void)ctx, (void)fd, (void)name, (void)e;
	return MS_JIO_REMOVE;
}

typedef struct recover_ctx {
	ms_store *s;
	int root;
	void (*fn)(void *ctx, const ms_acctmove *m);
	void *ctx;
} recover_ctx;

/* Finish the move a dead writer journaled; roll_forward removes the
 * journal once the move is complete. */
static int roll_one(void *ctx, int fd, const char *name, ms_err *e)
{
	recover_ctx *c = ctx;
	FILE *f = fdopen(dup(fd), "r");
	ms_acctmove m;
	int ok = f ? journal_read(f, &m) : -1;
	if (f)
		fclose(f);
	if (ok < 0)
		return ms_err_set(e, MS_E_IO, "the move journal %s/" PRIVATE_DIR "/%s cannot be read (left in place)",
		                  c->s->data_dir, name);
	int own = dup(fd); /* roll_forward closes the descriptor it gets */
	if (own < 0)
		return ms_err_set(e, MS_E_IO, "cannot take over the move journal %s/" PRIVATE_DIR "/%s: %s",
		                  c->s->data_dir, name, strerror(errno));
	if (roll_forward(c->s, c->root, &m, own, e) < 0)
		return -1;
	if (c->fn)
		c->fn(c->ctx, &m);
	return MS_JIO_KEEP;
}

int ms_acctmove_recover(ms_store *s, void (*fn)(void *ctx, const ms_acctmove *m), void *ctx, ms_err *e)
{
	if (!s->data_dir)
		return 0;
	int root = open_root(s->data_dir, e);
	if (root < 0)
		return -1;
	recover_ctx c = { s, root, fn, ctx };
	int rc = ms_jio_take_over(root, s->data_dir, PREFIX, ".tmp", O_RDONLY, drop_tmp, NULL, e);
	if (rc == 0)
		rc = ms_jio_take_over(root, s->data_dir, PREFIX, SUFFIX, O_RDONLY, roll_one, &c, e);
	close(root);
	return rc;
}

typedef struct pending_ctx {
	void (*fn)(void *ctx, const ms_acctmove *m);
	void *ctx;
} pending_ctx;

static int tell_one(void *ctx, int fd, const char *name, ms_err *e)
{
	(void)name, (void)e;
	pending_ctx *c = ctx;
	FILE *f = fdopen(dup(fd), "r");
	ms_acctmove m;
	if (f && journal_read(f, &m) == 0)
		c->fn(c->ctx, &m);
	if (f)
		fclose(f);
	return MS_JIO_KEEP;
}

void ms_acctmove_pending(const char *data_dir, void (*fn)(void *ctx, const ms_acctmove *m), void *ctx)
{
	ms_err ignored = { 0 };
	int root = data_dir ? open_root(data_dir, &ignored) : -1;
	if (root < 0)
		return;
	pending_ctx c = { fn, ctx };
	(void)ms_jio_scan(root, data_dir, PREFIX, SUFFIX, MS_JIO_DEAD, O_RDONLY, tell_one, &c, &ignored);
	close(root);
}
