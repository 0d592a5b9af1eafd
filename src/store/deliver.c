/* deliver.c - see deliver.h.
 *
 * The journal is line-oriented text; every field is escaped (%XX for '%',
 * tab, CR and LF) so a From address or a Maildir name cannot split a
 * line:
 *   H <account id> <folder id> <source>      first line ("" source: one message)
 *   P <key> <name> <flags> <created> <from>  pending, synced before the file is written
 *   D <name>                                 its row is committed
 *   B <name>                                 taken back by a recovery (not delivered)
 * A line without its final newline was torn by the crash and is ignored
 * (its P was never synced, so its file was never written).
 */
#include "store/deliver.h"

#include <assert.h>
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
#include "store/browse.h"
#include "store/folders.h"
#include "store/mboxlock.h"
#include "store/messages.h"
#include "store/msgfile.h"
#include "store/objects.h"
#include "store/quota.h"
#include "store/sql.h"
#include "util/strmap.h"
#include "util/vec.h"
#include "util/journal_io.h"

#define JOURNAL_DIR ".mstore"
#define PREFIX "deliver-"
#define SUFFIX ".deliver"  /* not ".journal": sync takes over every *.journal there */

struct ms_deliver {
	ms_store *s;
	ms_deliver_target t;
	char owner[600];
	int root_fd, jfd;
	ms_msgdirs *dirs;           /* the owner's XX folders, opened once for the run */
	ms_mbox_lock *lock;         /* shared: keeps `folder lock` out while files and rows go in */
	char jname[300];
	bool single, unsure;
	bool named;                 /* the journal's H line and name are durable */
	ms_strmap seen;             /* keys delivered by earlier runs of this source */
	int64_t used;               /* the account's bytes */
};

/* ---- journal lines ------------------------------------------------------------ */

static void put_field(FILE *f, const char *s)
{
	fputc('\t', f);
	if (s)
		ms_jio_put_path(f, s);
}

/* Split a line at tabs into at most `max` unescaped fields. */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;
	for (char *p = line; p && n < max; n++) {
		f[n] = p;
		p = strchr(p, '\t');
		if (p)
			*p++ = '\0';
		ms_jio_unescape(f[n]);
	}
	return n;
}

static int jwrite(int fd, const char *jname, char *buf, size_t len, ms_err *e)
{
	ssize_t w = write(fd, buf, len);
	if (w != (ssize_t)len || fdatasync(fd) < 0)
		return ms_err_set(e, MS_E_IO, "cannot write the delivery journal %s: %s", jname,
		                  strerror(errno ? errno : EIO));
	return 0;
}

/* ---- pending entries of a journal ------------------------------------------------ */

typedef struct pending {
	char *key, *name, *created, *from;
	int64_t flags;
	bool done, back;            /* D: delivered; B: taken back, to be delivered again */
} pending;

typedef struct journal {
	int64_t account_id, folder_id;
	char *source;
	MS_VEC(pending) p;
} journal;

static void journal_free(journal *j)
{
	for (size_t i = 0; i < j->p.n; i++) {
		free(j->p.v[i].key);
		free(j->p.v[i].name);
		free(j->p.v[i].created);
		free(j->p.v[i].from);
	}
	ms_vec_free(&j->p);
	free(j->source);
	*j = (journal){ 0 };
}

static void mark(journal *j, const char *name, bool back)
{
	for (size_t i = 0; i < j->p.n; i++)
		if (strcmp(j->p.v[i].name, name) == 0)
			*(back ? &j->p.v[i].back : &j->p.v[i].done) = true;
}

static int add_pending(journal *j, char **f, ms_err *e)
{
	pending p = { .key = strdup(f[1]), .name = strdup(f[2]), .flags = strtoll(f[3], NULL, 10),
	              .created = strdup(f[4]), .from = strdup(f[5]) };
	if (!p.key || !p.name || !p.created || !p.from || ms_vec_push(&j->p, p) < 0) {
		free(p.key), free(p.name), free(p.created), free(p.from);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	return 0;
}

/* Read a journal from its start (fd positioned anywhere). */
static int journal_read(int fd, const char *jname, journal *j, ms_err *e)
{
	int dfd = dup(fd);
	FILE *f = dfd >= 0 ? fdopen(dfd, "r") : NULL;
	if (!f) {
		if (dfd >= 0)
			close(dfd);
		return ms_err_set(e, MS_E_IO, "cannot read the delivery journal %s: %s", jname, strerror(errno));
	}
	rewind(f);
	char *line = NULL, *fl[6];
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') /* torn by a crash: never synced, so nothing relied on it */
			break;
		line[n - 1] = '\0';
		size_t k = split(line, fl, 6);
		if (k == 4 && strcmp(fl[0], "H") == 0) {
			j->account_id = strtoll(fl[1], NULL, 10);
			j->folder_id = strtoll(fl[2], NULL, 10);
			free(j->source);
			if (!(j->source = strdup(fl[3])))
				rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
		} else if (k == 6 && strcmp(fl[0], "P") == 0) {
			rc = add_pending(j, fl, e);
		} else if (k == 2 && (strcmp(fl[0], "D") == 0 || strcmp(fl[0], "B") == 0)) {
			mark(j, fl[1], fl[0][0] == 'B');
		}
	}
	free(line);
	fclose(f);
	return rc;
}

/* ---- rows ---------------------------------------------------------------------- */

static int found_row(void *ctx, int64_t id, int type, int64_t account_id, const char *filename)
{
	(void)id, (void)type, (void)account_id, (void)filename;
	*(bool *)ctx = true;
	return 0;
}

/* Does a row name the file `name`? 1 yes, 0 no, -1 error. */
static int row_names(db *d, const char *name, ms_err *e)
{
	bool found = false;
	const char *names[1] = { name };
	if (ms_messages_each_named(d, names, 1, found_row, &found, e) < 0)
		return -1;
	return found;
}

/* Insert the rows of rows[0..k) into `folder` with fresh UIDs, in one
 * transaction.  *at_commit tells a failed COMMIT (outcome unknown) from
 * a rollback. */
static int insert_rows(db *d, int64_t folder, ms_message_row *rows, size_t k, bool *at_commit, ms_err *e)
{
	db_txn *t;
	int64_t first = 0;
	*at_commit = false;
	if (db_txn_begin(d, &t, e) < 0)
		return -1;
	if (ms_folder_lock(db_txn_db(t), folder, e) < 0 || ms_folder_reserve_uids(db_txn_db(t), folder, k, &first, e) < 0) {
		db_txn_rollback(&t);
		return -1;
	}
	for (size_t i = 0; i < k; i++)
		rows[i].uid = first + (int64_t)i;
	if (ms_messages_insert_delivered(db_txn_db(t), rows, k, e) < 0) {
		db_txn_rollback(&t);
		return -1;
	}
	*at_commit = true;
	return db_txn_commit(&t, e);
}

static int account_owner(ms_store *s, int root_fd, int64_t account_id, char *owner, size_t len, ms_err *e)
{
	db_stmt *st;
	if (ms_sql_prepare(s->db, "SELECT accountaddress FROM hm_accounts WHERE accountid = ?", PARAMS(P_INT(account_id)),
	                   &st, e) < 0)
		return -1;
	int rc = db_step(st, e);
	char address[256] = "", local[256], domain[256];
	if (rc == DB_ROW)
		snprintf(address, sizeof address, "%s", db_column_text(st, 0));
	db_finalize(st);
	if (rc == DB_ERROR)
		return -1;
	if (rc != DB_ROW)
		return ms_err_set(e, MS_E_NOTFOUND, "account %lld no longer exists", (long long)account_id);
	if (ms_address_split(address, local, domain, e) < 0)
		return -1;
	ms_msgfile_owner_dir(root_fd, local, domain, owner, len);
	return 0;
}

/* ---- recovery -------------------------------------------------------------------- */

/* Roll one pending entry forward or back; counts in r. */
static int settle_one(ms_store *s, int root_fd, const journal *j, const char *owner, pending *p,
                      ms_deliver_recovery *r, ms_err *e)
{
	int named = row_names(s->db, p->name, e);
	if (named < 0)
		return -1;
	if (named) {
		p->done = true;
		r->committed++;
		return 0;
	}
	struct stat st;
	if (ms_msgfile_stat(root_fd, owner, p->name, false, &st) < 0 || !S_ISREG(st.st_mode)) {
		ms_msgfile_unlink(root_fd, owner, p->name, true);
		p->back = true;
		r->rolled_back++;
		return 0;
	}
	ms_message_row row = { .account_id = j->account_id, .folder_id = j->folder_id, .filename = p->name,
	                       .from = p->from, .size = (int64_t)st.st_size, .flags = p->flags,
	                       .created = p->created };
	bool at_commit;
	if (insert_rows(s->db, j->folder_id, &row, 1, &at_commit, e) < 0)
		return -1;
	p->done = true;
	r->rolled_forward++;
	return 0;
}

/* Settle every pending entry of `j` and append their D lines to fd. */
static int settle_journal(ms_store *s, int root_fd, int fd, const char *jname, journal *j, ms_deliver_recovery *r,
                          ms_err *e)
{
	char owner[600];
	if (account_owner(s, root_fd, j->account_id, owner, sizeof owner, e) < 0)
		return -1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < j->p.n; i++) {
		pending *p = &j->p.v[i];
		if (p->done || p->back)
			continue;
		rc = settle_one(s, root_fd, j, owner, p, r, e);
		if (rc == 0 && (p->done || p->back)) { /* settled once: a later recovery does not count it again */
			fputs(p->done ? "D" : "B", f);
			put_field(f, p->name);
			fputc('\n', f);
		}
	}
	fclose(f);
	if (rc == 0 && len)
		rc = jwrite(fd, jname, buf, len, e);
	free(buf);
	return rc;
}

typedef struct recover_ctx {
	ms_store *s;
	int root_fd;
	ms_deliver_recovery *r;
} recover_ctx;

/* Settle the journal of a deliver that is gone; a journal that cannot be
 * settled is kept and named, and the others are still taken over. */
static int recover_one(void *ctx, int fd, const char *name, ms_err *unused)
{
	(void)unused;
	recover_ctx *c = ctx;
	journal j = { 0 };
	ms_err e = { 0 };
	char jname[400];
	int rc = MS_JIO_KEEP;
	snprintf(jname, sizeof jname, "%s/" JOURNAL_DIR "/%s", c->s->data_dir, name);
	int got = journal_read(fd, jname, &j, &e);
	if (got == 0 && j.p.n == 0) /* killed before its first P line was synced: no file relies on it */
		rc = MS_JIO_REMOVE;
	else if (got < 0 || settle_journal(c->s, c->root_fd, fd, jname, &j, c->r, &e) < 0)
		fprintf(stderr, "mstore deliver: %s kept: %s\n", jname, e.msg);
	else if (!j.source || !j.source[0]) /* one message, settled: nothing more to tell */
		rc = MS_JIO_REMOVE;
	journal_free(&j);
	return rc;
}

int ms_deliver_recover(ms_store *s, ms_deliver_recovery *r, ms_err *e)
{
	*r = (ms_deliver_recovery){ 0 };
	int root_fd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return ms_err_set(e, MS_E_IO, "cannot open the data directory %s: %s", s->data_dir, strerror(errno));
	recover_ctx c = { s, root_fd, r };
	int rc = ms_jio_take_over(root_fd, s->data_dir, PREFIX, SUFFIX, O_RDWR | O_APPEND, recover_one, &c, e);
	close(root_fd);
	return rc;
}

/* ---- a run ------------------------------------------------------------------------ */

/* FNV-1a, 64 bits: a journal's name from what it is about. */
static uint64_t fnv64(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The run's journal's name: a source's is its account, folder and
 * source hashed (the rerun finds it), one message's a fresh GUID. */
static void journal_name(ms_deliver *dv, const char *source)
{
	char what[700];
	snprintf(what, sizeof what, "%lld:%lld:%s", (long long)dv->t.account_id, (long long)dv->t.folder_id,
	         source ? source : "");
	if (source) {
		snprintf(dv->jname, sizeof dv->jname, JOURNAL_DIR "/" PREFIX "%016llx" SUFFIX, (unsigned long long)fnv64(what));
	} else {
		char guid[MS_GUID_NAME_LEN + 1];
		ms_guid_name_new(guid);
		snprintf(dv->jname, sizeof dv->jname, JOURNAL_DIR "/" PREFIX "%.36s" SUFFIX, guid + 1);
	}
}

/* The H line of the run's journal. */
static void put_header(ms_deliver *dv, FILE *f, const char *source)
{
	fprintf(f, "H\t%lld\t%lld", (long long)dv->t.account_id, (long long)dv->t.folder_id);
	put_field(f, source ? source : "");
	fputc('\n', f);
}

/* After the journal's first synced write: its name, before any file
 * relies on it. */
static int name_journal(ms_deliver *dv, ms_err *e)
{
	if (dv->named)
		return 0;
	if (ms_jio_sync_dir(dv->root_fd, dv->s->data_dir, JOURNAL_DIR, e) < 0)
		return -1;
	dv->named = true;
	return 0;
}

/* Create (or reopen) the run's journal and lock it.  One message's H line
 * waits for its P line (journal_pending): one fdatasync for both. */
static int open_journal(ms_deliver *dv, const char *source, ms_err *e)
{
	bool new_dir = mkdirat(dv->root_fd, JOURNAL_DIR, 0700) == 0;
	if (!new_dir && errno != EEXIST)
		return ms_err_set(e, MS_E_IO, "cannot create %s/%s: %s", dv->s->data_dir, JOURNAL_DIR, strerror(errno));
	if (new_dir && ms_jio_sync_dir(dv->root_fd, dv->s->data_dir, ".", e) < 0)
		return -1;
	journal_name(dv, source);
	dv->jfd = openat(dv->root_fd, dv->jname, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dv->jfd < 0)
		return ms_err_set(e, MS_E_IO, "cannot open the delivery journal %s/%s: %s", dv->s->data_dir, dv->jname,
		                  strerror(errno));
	if (flock(dv->jfd, LOCK_EX | LOCK_NB) < 0)
		return ms_err_set(e, MS_E_USAGE, "another mstore deliver of the same source into the same folder is running"
		                  " (it holds %s/%s)", dv->s->data_dir, dv->jname);
	struct stat st;
	if (fstat(dv->jfd, &st) == 0 && st.st_size > 0)
		return (dv->named = true), 0;
	if (dv->single)
		return 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	put_header(dv, f, source);
	fclose(f);
	int rc = jwrite(dv->jfd, dv->jname, buf, len, e);
	free(buf);
	return rc < 0 ? -1 : name_journal(dv, e);
}

/* The keys an earlier run of this source delivered. */
static int load_seen(ms_deliver *dv, ms_err *e)
{
	journal j = { 0 };
	int rc = journal_read(dv->jfd, dv->jname, &j, e);
	for (size_t i = 0; rc == 0 && i < j.p.n; i++)
		if (j.p.v[i].done && ms_strmap_put(&dv->seen, j.p.v[i].key, 1) < 0)
			rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
	journal_free(&j);
	return rc;
}

static int account_usage(ms_deliver *dv, ms_err *e)
{
	ms_usage u;
	if (ms_quota_account(dv->s->db, dv->t.account_id, &u, e) < 0)
		return -1;
	dv->used = u.bytes;
	return 0;
}

int ms_deliver_open(ms_store *s, const ms_deliver_target *t, const char *source, ms_deliver **out, ms_err *e)
{
	char local[256], domain[256];
	*out = NULL;
	if (ms_address_split(t->address, local, domain, e) < 0)
		return -1;
	ms_deliver *dv = calloc(1, sizeof *dv);
	if (!dv)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	*dv = (ms_deliver){ .s = s, .t = *t, .jfd = -1, .single = !source };
	dv->root_fd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dv->root_fd < 0) {
		ms_err_set(e, MS_E_IO, "cannot open the data directory %s: %s", s->data_dir, strerror(errno));
		ms_deliver_close(dv, false);
		return -1;
	}
	ms_msgfile_owner_dir(dv->root_fd, local, domain, dv->owner, sizeof dv->owner);
	if (!(dv->dirs = ms_msgdirs_open(dv->root_fd, dv->owner))) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		ms_deliver_close(dv, false);
		return -1;
	}
	/* Held until close, before any journal line or file: the files are
	 * written outside the transaction, so a check under the row lock
	 * (mboxlock.h) would come after them.  Taken before any row lock, so
	 * the wait cannot deadlock with the holder. */
	int rc = t->dry_run ? 0 : ms_mbox_lock_take(s->data_dir, t->folder_id, false, t->lock_wait_ms, &dv->lock, e);
	if (rc == 0)
		rc = account_usage(dv, e);
	if (rc == 0 && !t->dry_run) {
		rc = open_journal(dv, source, e) < 0 || load_seen(dv, e) < 0 ? -1 : 0;
	} else if (rc == 0 && source) { /* -n: what an earlier run delivered, read only */
		journal_name(dv, source);
		dv->jfd = openat(dv->root_fd, dv->jname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		rc = dv->jfd >= 0 ? load_seen(dv, e) : 0;
		if (dv->jfd >= 0)
			close(dv->jfd);
		dv->jfd = -1;
	}
	if (rc < 0) {
		ms_deliver_close(dv, false);
		return -1;
	}
	*out = dv;
	return 0;
}

bool ms_deliver_seen(const ms_deliver *dv, const char *key)
{
	int64_t v;
	return key && ms_strmap_get(&dv->seen, key, &v);
}

int64_t ms_deliver_usage(const ms_deliver *dv)
{
	return dv->used;
}

/* Decide which messages fit the quota; returns how many go on. */
static size_t judge(ms_deliver *dv, ms_deliver_msg *m, size_t n)
{
	size_t k = 0;
	int64_t used = dv->used;
	for (size_t i = 0; i < n; i++) {
		m[i].status = MS_DELIVER_OK;
		m[i].uid = 0;
		m[i].name[0] = '\0';
		if (m[i].len == 0) {
			m[i].status = MS_DELIVER_FAILED;
			ms_err_set(&m[i].why, MS_E_USAGE, "a message of 0 bytes is never stored");
		} else if (!dv->t.ignore_quota && ms_quota_over(used + (int64_t)m[i].len, dv->t.max_size_mb)) {
			m[i].status = MS_DELIVER_OVER_QUOTA;
			ms_err_set(&m[i].why, MS_E_LIMIT, "%s is over its quota: %lld of %lld MB used, the message has %zu bytes"
			           " (--ignore-quota delivers it anyway)", dv->t.address, (long long)(used / (1024 * 1024)),
			           (long long)dv->t.max_size_mb, m[i].len);
		} else {
			used += (int64_t)m[i].len;
			ms_guid_name_new(m[i].name);
			k++;
		}
	}
	return k;
}

/* Step 1: the batch's P lines, synced. */
static int journal_pending(ms_deliver *dv, const ms_deliver_msg *m, size_t n, ms_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (!dv->named)
		put_header(dv, f, NULL);
	for (size_t i = 0; i < n; i++) {
		if (m[i].status != MS_DELIVER_OK)
			continue;
		fputs("P", f);
		put_field(f, m[i].key ? m[i].key : m[i].name);
		put_field(f, m[i].name);
		fprintf(f, "\t%lld", (long long)(m[i].flags | MS_MSGFLAG_RECENT));
		put_field(f, m[i].created);
		put_field(f, m[i].from);
		fputc('\n', f);
	}
	fclose(f);
	int rc = jwrite(dv->jfd, dv->jname, buf, len, e);
	free(buf);
	return rc < 0 ? -1 : name_journal(dv, e);
}

/* Lines `letter` NAME for the messages that ended with `status` (D after
 * the commit; B for those taken back: their P lines are settled, so a
 * later recovery does not count them again). */
static int journal_mark(ms_deliver *dv, const ms_deliver_msg *m, size_t n, int status, const char *letter, ms_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (m[i].status == status && m[i].name[0]) {
			fputs(letter, f);
			put_field(f, m[i].name);
			fputc('\n', f);
		}
	fclose(f);
	int rc = len ? jwrite(dv->jfd, dv->jname, buf, len, e) : 0;
	free(buf);
	return rc;
}

/* Step 2: the files; one that cannot be written fails alone.  Durability
 * is paid once per batch, not twice per message (two fsyncs a message
 * made a 10,000-message mbox 487 times slower than reading it): every
 * file under its temporary name, one flush, every rename, one flush (for
 * a few files, each file's own fsyncs: ms_msgfile_sync); so
 * a name in place always has durable data, and every row committed after
 * this names a durable file.  A failed flush fails the batch's files
 * (their temporary files or names are the journal's to take back). */
static size_t write_files(ms_deliver *dv, ms_deliver_msg *m, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += m[i].status == MS_DELIVER_OK;
	ms_msgdirs_batch(dv->dirs, k);
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (m[i].status == MS_DELIVER_OK &&
		    ms_msgfile_write_tmp(dv->dirs, m[i].name, m[i].data, m[i].len, &m[i].why) < 0)
			m[i].status = MS_DELIVER_FAILED;
	ms_err e = { 0 };
	bool synced = ms_msgfile_sync(dv->dirs, &e) == 0;
	for (size_t i = 0; i < n; i++) {
		if (m[i].status != MS_DELIVER_OK)
			continue;
		if (!synced || ms_msgfile_place(dv->dirs, m[i].name, &m[i].why) < 0) {
			if (!synced) {
				m[i].why = e;
				ms_msgfile_drop(dv->dirs, m[i].name, true);
			}
			m[i].status = MS_DELIVER_FAILED;
		} else {
			k++;
		}
	}
	if (k && ms_msgfile_sync(dv->dirs, &e) < 0) {
		for (size_t i = 0; i < n; i++)
			if (m[i].status == MS_DELIVER_OK) {
				ms_msgfile_drop(dv->dirs, m[i].name, false);
				m[i].status = MS_DELIVER_FAILED;
				m[i].why = e;
			}
		k = 0;
	}
	return k;
}

/* Step 3: the rows. */
static int commit_rows(ms_deliver *dv, ms_deliver_msg *m, size_t n, size_t k, ms_err *e)
{
	ms_message_row *rows = calloc(k, sizeof *rows);
	if (!rows)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (size_t i = 0, j = 0; i < n; i++)
		if (m[i].status == MS_DELIVER_OK)
			rows[j++] = (ms_message_row){ .account_id = dv->t.account_id, .folder_id = dv->t.folder_id,
			                              .filename = m[i].name, .from = m[i].from, .size = (int64_t)m[i].len,
			                              .flags = m[i].flags | MS_MSGFLAG_RECENT, .created = m[i].created };
	bool at_commit;
	int rc = insert_rows(dv->s->db, dv->t.folder_id, rows, k, &at_commit, e);
	for (size_t i = 0, j = 0; rc == 0 && i < n; i++)
		if (m[i].status == MS_DELIVER_OK)
			m[i].uid = rows[j++].uid;
	free(rows);
	if (rc < 0 && !at_commit) /* rolled back: the files go; the journal's P lines roll back */
		for (size_t i = 0; i < n; i++)
			if (m[i].status == MS_DELIVER_OK)
				ms_msgfile_drop(dv->dirs, m[i].name, false);
	if (rc < 0 && at_commit) /* the rows may exist: keep files and journal for the next run to settle */
		dv->unsure = true;
	return rc;
}

int ms_deliver_batch(ms_deliver *dv, ms_deliver_msg *m, size_t n, ms_err *e)
{
	size_t k = judge(dv, m, n);
	if (k == 0 || dv->t.dry_run) {
		for (size_t i = 0; i < n; i++)
			if (m[i].status == MS_DELIVER_OK)
				dv->used += (int64_t)m[i].len;
		return 0;
	}
	if (journal_pending(dv, m, n, e) < 0)
		return -1;
	k = write_files(dv, m, n);
	if (k == 0)
		return journal_mark(dv, m, n, MS_DELIVER_FAILED, "B", e);
	if (commit_rows(dv, m, n, k, e) < 0) {
		for (size_t i = 0; i < n; i++)
			if (m[i].status == MS_DELIVER_OK) {
				m[i].status = MS_DELIVER_FAILED;
				m[i].why = *e;
			}
		ms_err ignored = { 0 };
		if (!dv->unsure) /* rolled back: every file is gone */
			journal_mark(dv, m, n, MS_DELIVER_FAILED, "B", &ignored);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (m[i].status == MS_DELIVER_OK) {
			dv->used += (int64_t)m[i].len;
			if (m[i].key && ms_strmap_put(&dv->seen, m[i].key, 1) < 0)
				return ms_err_set(e, MS_E_NOMEM, "out of memory");
		}
	return journal_mark(dv, m, n, MS_DELIVER_OK, "D", e) < 0 ? -1 : journal_mark(dv, m, n, MS_DELIVER_FAILED, "B", e);
}

void ms_deliver_close(ms_deliver *dv, bool complete)
{
	if (!dv)
		return;
	if (dv->jfd >= 0) {
		/* one message: its journal has told everything once its row is
		 * committed or its file taken back; a source's goes when all of it
		 * is delivered */
		if ((dv->single || complete) && !dv->unsure)
			unlinkat(dv->root_fd, dv->jname, 0);
		close(dv->jfd);
	}
	ms_msgdirs_close(dv->dirs);
	if (dv->root_fd >= 0)
		close(dv->root_fd);
	ms_mbox_lock_release(dv->lock);
	ms_strmap_free(&dv->seen);
	free(dv);
}
