/* drv_hmailserver.c - a side that is one account of an hMailServer store.
 *
 * Configuration keys: `db` (the store's URL), `data` (its data
 * directory), `account` (the address, or "#Public": the public folders,
 * hm_imapfolders rows of account 0, their files in DATA/#Public/),
 * `password` (the database's, when it needs one), `lockwait` (seconds a
 * box under `mstore folder lock` is waited for; default 0: left for the
 * next run).  Built on src/store/ only: browse.h reads folders and
 * messages, folders.h creates folders and hands out UIDs, messages.h
 * inserts and deletes rows; no SQL here.
 *
 * Boxes are the account's IMAP folders, named with the server's own
 * hierarchy delimiter (hm_settings IMAPHierarchyDelimiter, '.' unless
 * changed).  UIDs are messageuid, UIDVALIDITY is what the server's SELECT
 * answers (browse.h), flags map to messageflags' bits (browse.h).
 *
 * Writes follow the server's rules:
 * - append first records the batch's file names in this process's
 *   in-flight journal (store/inflight.h, DATA/.mstore/) and syncs it;
 *   then writes each message file under a temporary name
 *   ("{GUID}.mstore-tmp", which no walker takes for a message) beside its
 *   canonical place <domain>/<local>/<XX>/{GUID}.eml, fsyncs it, renames
 *   it into place with RENAME_NOREPLACE and fsyncs the folder (a batch of
 *   SYNCFS_BATCH or more: every file, one syncfs, every rename, one
 *   syncfs); then one
 *   transaction locks the folder row, reserves the UIDs and inserts the
 *   rows as the server's IMAP APPEND inserts them (below); then empties
 *   the journal.
 * - expunge records the file's name in the journal (synced), deletes the
 *   row with its recipients and metadata in a transaction, then removes
 *   the file and fsyncs its folder.
 *   A kill between file and row would otherwise leave a file no row names,
 *   which `mstore sync` (hMailServer's own synchronizer too) imports as a
 *   new message: a duplicate of what the channel appends again, or a
 *   deleted message back (test_channel_crash).  So a read-write open first
 *   takes over the journals of dead writers and removes each file they
 *   name that no row of its account names (and any temporary file beside
 *   it); a file a row names stays.  The rule is the same for both
 *   operations, so the journal needs no note of which one it was.
 * - set_flags changes only the five system flags and only if nobody
 *   changed the row meanwhile (compare and set; read again and retry).
 *
 * An appended row is what hMailServer's own IMAP APPEND writes
 * (IMAP/IMAPCommandAppend.cpp Finish_, Persistence/PersistentMessage.cpp
 * AddObject): messagetype 2 (delivered), messagefrom '' unless the caller
 * gives one (mstore restore gives the archived one; APPEND never
 * sets the From address: only the importer and the SMTP queue do),
 * messagesize the file's size, messageflags the five system flags with
 * Recent (32, set on every new row; keywords have no column),
 * messagelocked 0, messagecurnooftries 0, messagenexttrytime 1901-01-01,
 * no hm_messagerecipients row, and messagecreatetime the internal date as
 * the server's wall clock (store/clock.h: UTC plus the offset in force
 * now, the inverse of how its IMAP answers INTERNALDATE), or now when the
 * message has none.  Two deliberate differences: APPEND stores the
 * wall-clock text of the client's date and drops its zone (Time::
 * GetInternalDateFromIMAPInternalDate), so a client in another zone shifts
 * the instant; mstore has the instant and keeps it.  And the server writes
 * the CRLF that ends the APPEND command into the file too (WriteData_ gets
 * the literal plus 2 bytes); mstore writes the message's bytes only, as a
 * copy must be byte for byte the message (its digest is its identity).
 * No symlink in the data directory is ever followed (reads through
 * ms_open_beneath, writes one directory component at a time with
 * O_NOFOLLOW), as the walker does: a symlinked account folder cannot lead
 * a read or a write outside the data directory.
 * hMailServer caches folders and messages in memory: a running server
 * sees these writes after it reloads (store.md, --reload-command).
 */
#include "drivers/driver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/txn.h"
#include "message/header.h"
#include "store/browse.h"
#include "store/clock.h"
#include "store/folders.h"
#include "store/inflight.h"
#include "store/mboxlock.h"
#include "store/layout.h"
#include "store/messages.h"
#include "store/msgfile.h"
#include "store/objects.h"
#include "store/sql.h"
#include "store/store.h"
#include "util/testhook.h"
#include "util/vec.h"
#include "walk/walk.h"

#define PATH_LEN 4096
#define FLAG_RETRIES 8

typedef struct hms_side {
	ms_side base;
	ms_store *store;
	int64_t account_id;
	char address[256];
	char owner[600];           /* "<domain>/<local>" as it exists on disk (or will) */
	int root_fd;               /* the data directory */
	char *data_dir;            /* its name, for errors */
	ms_inflight *inflight;     /* this side's journal of files in flight (read-write sides) */
	int lock_wait_ms;          /* `lockwait`: how long a box under `folder lock` is waited for */
	MS_VEC(ms_skipped_entry) skipped; /* folders the last list_boxes could not name */
} hms_side;

typedef struct hms_box {
	ms_box base;
	int64_t folder;
	ms_mbox_lock *lock;        /* read-write sides: shared, keeps `folder lock` out while open */
} hms_box;

static hms_side *side_of(ms_box *b)
{
	return (hms_side *)b->side;
}

static db *db_of(hms_side *s)
{
	return s->store->db;
}

/* ---- flags ------------------------------------------------------------------- */

static const struct { unsigned drv, hm; } flag_map[] = {
	{ MS_FLAG_SEEN, MS_MSGFLAG_SEEN },       { MS_FLAG_ANSWERED, MS_MSGFLAG_ANSWERED },
	{ MS_FLAG_FLAGGED, MS_MSGFLAG_FLAGGED }, { MS_FLAG_DELETED, MS_MSGFLAG_DELETED },
	{ MS_FLAG_DRAFT, MS_MSGFLAG_DRAFT },
};
#define NFLAGS (sizeof flag_map / sizeof flag_map[0])

static unsigned flags_from_hm(int64_t hm)
{
	unsigned f = 0;
	for (size_t i = 0; i < NFLAGS; i++)
		if (hm & flag_map[i].hm)
			f |= flag_map[i].drv;
	return f;
}

static int64_t flags_to_hm(unsigned f)
{
	int64_t hm = 0;
	for (size_t i = 0; i < NFLAGS; i++)
		if (f & flag_map[i].drv)
			hm |= flag_map[i].hm;
	return hm;
}

/* The row's flags with the five system flags replaced by `f`: Recent and
 * virus-scanned stay the server's. */
static int64_t flags_merge(int64_t hm, unsigned f)
{
	return (hm & ~flags_to_hm(MS_FLAGS_ALL)) | flags_to_hm(f);
}

/* ---- the account's folder on disk ------------------------------------------- */

static void resolve_owner(hms_side *s, const char *local, const char *domain)
{
	ms_msgfile_owner_dir(s->root_fd, local, domain, s->owner, sizeof s->owner);
}

/* Remove the file `rel` of the data directory, following no symlink on
 * the way (best effort: a file left behind is a stray copy, not a loss). */
static void unlink_beneath(int root_fd, const char *rel)
{
	char dir[PATH_LEN];
	snprintf(dir, sizeof dir, "%s", rel);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return; /* account files always live in a folder */
	*slash = '\0';
	int fd = ms_open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return;
	/* the folder synced: a removal a power cut undid would be a stray
	 * file again once the journal is emptied */
	if (unlinkat(fd, slash + 1, 0) == 0)
		fsync(fd);
	close(fd);
}

/* The path of a row's file, relative to the data directory. */
static bool file_path(hms_side *s, const char *filename, char *out, size_t len)
{
	return ms_layout_path(MS_PLACE_ACCOUNT, s->owner, ms_layout_base_name(filename), out, len);
}

/* ---- open and close ---------------------------------------------------------- */

static int find_account(hms_side *s, const char *address, ms_err *e)
{
	char local[256], domain[256];
	if (strcmp(address, MS_PUBLIC_DIR) == 0) {
		/* account 0: the public folders, files below DATA/#Public */
		snprintf(s->address, sizeof s->address, "%s", MS_PUBLIC_DIR);
		snprintf(s->owner, sizeof s->owner, "%s", MS_PUBLIC_DIR);
		return 0;
	}
	ms_account *v = NULL;
	size_t n = 0;
	if (ms_address_split(address, local, domain, e) < 0 || ms_account_list(s->store, domain, &v, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n && !s->account_id; i++)
		if (strcasecmp(v[i].address, address) == 0) {
			s->account_id = v[i].id;
			snprintf(s->address, sizeof s->address, "%s", v[i].address);
		}
	free(v);
	if (!s->account_id)
		return ms_err_set(e, MS_E_NOTFOUND, "%s: no account %s", db_name(s->store->db), address);
	resolve_owner(s, local, domain);
	return 0;
}

static void skipped_clear(hms_side *s)
{
	for (size_t i = 0; i < s->skipped.n; i++)
		free(s->skipped.v[i].path);
	s->skipped.n = 0;
}

static void hms_close(ms_side *base)
{
	hms_side *s = (hms_side *)base;
	if (!s)
		return;
	ms_inflight_free(s->inflight);
	skipped_clear(s);
	ms_vec_free(&s->skipped);
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s->data_dir);
	ms_store_close(s->store);
	free(s->base.name);
	free(s);
}

/* Settle what dead writers left in flight, then make this side's journal. */
static int recover(hms_side *s, ms_err *e)
{
	size_t removed = 0;
	if (ms_inflight_recover(s->store->db, s->root_fd, s->data_dir, &removed, e) < 0)
		return ms_err_prefix(e, "side %s: settling the files of an interrupted run", s->base.name);
	if (removed)
		fprintf(stderr, "mstore: side %s: removed %zu message file%s an interrupted run left without a row\n",
		        s->base.name, removed, removed == 1 ? "" : "s");
	return ms_inflight_new(s->root_fd, s->data_dir, &s->inflight, e);
}

static int open_parts(hms_side *s, const ms_side_conf *conf, ms_err *e)
{
	const char *url = ms_side_conf_get(conf, "db"), *data = ms_side_conf_get(conf, "data");
	const char *account = ms_side_conf_get(conf, "account");
	if (!url || !data || !account)
		return ms_err_set(e, MS_E_CONFIG, "side %s: an hmailserver side needs db, data and account", s->base.name);
	const char *wait = ms_side_conf_get(conf, "lockwait");
	if (wait) {
		char *end;
		long v = strtol(wait, &end, 10);
		if (!*wait || *end || v < 0 || v > 86400)
			return ms_err_set(e, MS_E_CONFIG, "side %s: lockwait takes seconds from 0 to 86400, not '%s'",
			                  s->base.name, wait);
		s->lock_wait_ms = (int)v * 1000;
	}
	if (ms_store_open(url, ms_side_conf_get(conf, "password"), data,
	                  conf->read_only ? DB_OPEN_READ_ONLY : DB_OPEN_READ_WRITE, &s->store, e) < 0)
		return -1;
	s->root_fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0)
		return ms_err_set(e, MS_E_IO, "side %s: data directory %s: %s", s->base.name, data, strerror(errno));
	if (!(s->data_dir = strdup(data)))
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (ms_browse_delimiter(s->store->db, &s->base.delim, e) < 0 || find_account(s, account, e) < 0)
		return -1;
	return conf->read_only ? 0 : recover(s, e);
}

static ms_drv_result hms_open(const ms_side_conf *conf, ms_side **out, ms_err *e)
{
	*out = NULL;
	hms_side *s = calloc(1, sizeof *s);
	if (!s || !(s->base.name = strdup(conf->name ? conf->name : "hmailserver"))) {
		free(s);
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	s->root_fd = -1;
	s->base.drv = &ms_drv_hmailserver;
	s->base.read_only = conf->read_only;
	s->base.caps = MS_CAP_UID_STABLE | MS_CAP_FLAGS | MS_CAP_INTERNAL_DATE | MS_CAP_CRLF | MS_CAP_CREATE_BOX |
	               MS_CAP_DELETE_BOX | MS_CAP_APPEND_UID | MS_CAP_DRY_RUN_SAFE;
	if (open_parts(s, conf, e) < 0) {
		hms_close(&s->base);
		return MS_DRV_SIDE_BAD;
	}
	*out = &s->base;
	return MS_DRV_OK;
}

static ms_drv_result refuse_write(ms_side *s, ms_err *e)
{
	ms_err_set(e, MS_E_USAGE, "side %s was opened read-only: nothing may be written", s->name);
	return MS_DRV_SIDE_BAD;
}

/* ---- boxes ------------------------------------------------------------------- */

/* The full name of v[i]: its levels from the top, joined with `delim`.
 * The top-level INBOX is "INBOX" whatever its case.  NULL on a parent
 * loop or a missing parent (a broken tree: reconstruct's folder-parent). */
static char *full_name(const ms_folder_row *v, size_t n, const ms_folder_row *f, char delim)
{
	char buf[PATH_LEN];
	return ms_browse_folder_path(v, n, f, delim, true, buf, sizeof buf) ? strdup(buf) : NULL;
}

static unsigned box_attrs(const ms_folder_row *v, size_t n, const ms_folder_row *f)
{
	unsigned a = f->subscribed ? MS_BOX_SUBSCRIBED : 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].parent_id == f->id)
			a |= MS_BOX_HAS_CHILDREN;
	return a;
}

/* A folder one of whose levels (its own or an ancestor's) holds the
 * hierarchy delimiter has no name: joined, "a.b" would be the folder b
 * below a, another folder or none (IMAP clients see it so too).  Such a
 * folder is skipped, and said so, rather than listed under a name that
 * finds another one. */
static void skip_unnamed(hms_side *s, const ms_folder_row *v, size_t n, const ms_folder_row *f)
{
	char buf[PATH_LEN];
	if (!ms_browse_folder_path(v, n, f, '/', true, buf, sizeof buf))
		return;
	ms_skipped_entry k = { .path = strdup(buf),
	                       .why = "a level of its name holds the hierarchy delimiter (IMAPHierarchyDelimiter):"
	                              " it has no name a client or mstore can give; rename it (mstore folder rename)" };
	if (k.path && ms_vec_push(&s->skipped, k) < 0)
		free(k.path);
}

static ms_drv_result hms_list_boxes(ms_side *base, ms_box_info **out, size_t *n, ms_err *e)
{
	hms_side *s = (hms_side *)base;
	ms_folder_row *v;
	size_t nv;
	*out = NULL;
	*n = 0;
	skipped_clear(s);
	if (ms_browse_folders(db_of(s), s->account_id, &v, &nv, e) < 0)
		return MS_DRV_SIDE_BAD;
	ms_box_info *boxes = calloc(nv ? nv : 1, sizeof *boxes);
	size_t k = 0;
	for (size_t i = 0; boxes && i < nv; i++) {
		if (ms_browse_folder_level_has(v, nv, &v[i], base->delim)) {
			skip_unnamed(s, v, nv, &v[i]);
			continue;
		}
		char *name = full_name(v, nv, &v[i], base->delim);
		if (name) /* a folder cut off from the top is not reachable by IMAP either */
			boxes[k++] = (ms_box_info){ .name = name, .attrs = box_attrs(v, nv, &v[i]) };
	}
	ms_browse_folders_free(v, nv);
	if (!boxes) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	*out = boxes;
	*n = k;
	return MS_DRV_OK;
}

/* hMailServer's rules for a new folder's name (IMAPFolder::IsValidFolderName):
 * 1 to 25 levels of 1 to 255 bytes, the first not starting with '#'. */
static bool valid_box_name(const char *name, char delim)
{
	if (!name[0] || name[0] == '#')
		return false;
	int levels = 0;
	for (const char *p = name; p; levels++) {
		const char *end = strchr(p, delim);
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || len > 255)
			return false;
		p = end ? end + 1 : NULL;
	}
	return levels <= 25;
}

/* A writer's half of mboxlock.h, for a box open for writing: a shared lock
 * on the folder's lock file for as long as the box is open, taken before
 * any row lock; a box under `mstore folder lock` is waited for `lockwait`
 * (the engine holds no other box of this side meanwhile: one box of a
 * side is open at a time, so the wait cannot close a cycle with a `folder
 * lock` taking a tree), then left for the next run. */
static ms_drv_result lock_box(hms_side *s, int64_t folder, const char *name, bool exclusive, ms_mbox_lock **out,
                              ms_err *e)
{
	ms_err why = { 0 };
	if (ms_mbox_lock_take(s->data_dir, folder, exclusive, s->lock_wait_ms, out, &why) == 0)
		return MS_DRV_OK;
	if (why.code != MS_E_LIMIT) {
		*e = why;
		return MS_DRV_SIDE_BAD;
	}
	if (s->lock_wait_ms)
		ms_err_set(e, MS_E_LIMIT, "side %s: mailbox %s is locked by `mstore folder lock` (waited %d s); left for"
		           " the next run", s->base.name, name, s->lock_wait_ms / 1000);
	else
		ms_err_set(e, MS_E_LIMIT, "side %s: mailbox %s is locked by `mstore folder lock`; left for the next run",
		           s->base.name, name);
	return MS_DRV_BOX_BAD;
}

static ms_drv_result hms_create_box(ms_side *base, const char *name_in, ms_err *e)
{
	hms_side *s = (hms_side *)base;
	if (base->read_only)
		return refuse_write(base, e);
	if (!valid_box_name(name_in, base->delim) || strlen(name_in) >= PATH_LEN) {
		ms_err_set(e, MS_E_USAGE, "side %s: '%s' is not a folder name hMailServer accepts", base->name, name_in);
		return MS_DRV_BOX_BAD;
	}
	/* ms_folder_ensure_path takes a first level INBOX in any case as the
	 * INBOX, so "inbox.Later" goes below it, not beside it */
	int64_t id;
	int rc = ms_browse_folder_nearest(db_of(s), s->account_id, name_in, base->delim, &id, e);
	if (rc < 0 || rc == 2) /* the database failed, or it exists */
		return rc < 0 ? MS_DRV_SIDE_BAD : MS_DRV_OK;
	/* below a folder under `folder lock`, nothing is created (as `folder
	 * create` refuses): its lock held shared until the rows are in */
	ms_mbox_lock *lock = NULL;
	ms_drv_result r;
	if (rc == 1 && (r = lock_box(s, id, name_in, false, &lock, e)) != MS_DRV_OK)
		return r;
	db_txn *t;
	if (db_txn_begin(db_of(s), &t, e) < 0) {
		ms_mbox_lock_release(lock);
		return MS_DRV_SIDE_BAD;
	}
	if (ms_folder_ensure_path(db_txn_db(t), s->account_id, name_in, base->delim, time(NULL), &id, e) < 0) {
		db_txn_rollback(&t);
		ms_mbox_lock_release(lock);
		return e->code == MS_E_USAGE ? MS_DRV_BOX_BAD : MS_DRV_SIDE_BAD;
	}
	r = db_txn_commit(&t, e) < 0 ? MS_DRV_SIDE_BAD : MS_DRV_OK;
	ms_mbox_lock_release(lock);
	return r;
}

/* Find the box `name`: MS_DRV_OK with *folder, MS_DRV_BOX_BAD when there
 * is none. */
static ms_drv_result find_box(hms_side *s, const char *name, int64_t *folder, ms_err *e)
{
	int rc = ms_browse_folder_find(db_of(s), s->account_id, name, s->base.delim, folder, e);
	if (rc < 0)
		return MS_DRV_SIDE_BAD;
	if (rc == 0) {
		ms_err_set(e, MS_E_NOTFOUND, "side %s: %s has no folder %s", s->base.name, s->address, name);
		return MS_DRV_BOX_BAD;
	}
	return MS_DRV_OK;
}

static ms_drv_result hms_delete_box(ms_side *base, const char *name, ms_err *e)
{
	hms_side *s = (hms_side *)base;
	int64_t folder, left = 0;
	ms_folder_status st;
	if (base->read_only)
		return refuse_write(base, e);
	ms_drv_result r = find_box(s, name, &folder, e);
	if (r != MS_DRV_OK)
		return r;
	if (ms_browse_folder_status(db_of(s), s->account_id, folder, &st, e) < 0)
		return MS_DRV_SIDE_BAD;
	if (strcasecmp(name, "INBOX") == 0 || st.children > 0 || st.count > 0) {
		ms_err_set(e, MS_E_USAGE, "side %s: folder %s is the INBOX, holds messages or has subfolders: not deleted",
		           base->name, name);
		return MS_DRV_BOX_BAD;
	}
	/* exclusive, as `folder delete` takes it: a locked folder stays */
	ms_mbox_lock *lock = NULL;
	if ((r = lock_box(s, folder, name, true, &lock, e)) != MS_DRV_OK)
		return r;
	/* under the folder's row lock, so no delivery slips in between count and delete */
	db_txn *t;
	if (db_txn_begin(db_of(s), &t, e) < 0) {
		ms_mbox_lock_release(lock);
		return MS_DRV_SIDE_BAD;
	}
	if (ms_folder_lock(db_txn_db(t), folder, e) < 0 || ms_folder_delete_empty(db_txn_db(t), folder, &left, e) < 0) {
		db_txn_rollback(&t);
		ms_mbox_lock_release(lock);
		return MS_DRV_SIDE_BAD;
	}
	int rc = db_txn_commit(&t, e);
	ms_mbox_lock_release(lock);
	if (rc < 0)
		return MS_DRV_SIDE_BAD;
	if (left > 0) {
		ms_err_set(e, MS_E_USAGE, "side %s: folder %s received messages meanwhile: not deleted", base->name, name);
		return MS_DRV_BOX_BAD;
	}
	return MS_DRV_OK;
}

static ms_drv_result box_status(hms_side *s, hms_box *b, ms_err *e)
{
	ms_folder_status st;
	int rc = ms_browse_folder_status(db_of(s), s->account_id, b->folder, &st, e);
	if (rc < 0)
		return MS_DRV_SIDE_BAD;
	const char *name = b->base.name;
	if (rc == 0 || st.bad_uids > 0 || !ms_browse_uidvalidity(st.created)) {
		if (rc == 0)
			ms_err_set(e, MS_E_NOTFOUND, "side %s: folder %s vanished", s->base.name, name);
		else if (st.bad_uids > 0)
			ms_err_set(e, MS_E_SCHEMA, "side %s: folder %s has messages with a zero or shared UID (run mstore"
			           " reconstruct -r first)", s->base.name, name);
		else
			ms_err_set(e, MS_E_SCHEMA, "side %s: folder %s has no readable creation time ('%s'), so no"
			           " UIDVALIDITY", s->base.name, name, st.created);
		return MS_DRV_BOX_BAD;
	}
	b->base.status = (ms_box_status){ .uidvalidity = ms_browse_uidvalidity(st.created),
	                                  .uidnext = (uint32_t)(st.current_uid + 1), .count = (uint32_t)st.count };
	return MS_DRV_OK;
}

static void hms_close_box(ms_box *b)
{
	if (!b)
		return;
	ms_mbox_lock_release(((hms_box *)b)->lock);
	free(b->name);
	free(b);
}

static ms_drv_result hms_open_box(ms_side *base, const char *name, ms_box **out, ms_err *e)
{
	hms_side *s = (hms_side *)base;
	*out = NULL;
	hms_box *b = calloc(1, sizeof *b);
	if (!b || !(b->base.name = strdup(name))) {
		free(b);
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	b->base.side = base;
	ms_drv_result r = find_box(s, name, &b->folder, e);
	if (r == MS_DRV_OK && !base->read_only)
		r = lock_box(s, b->folder, name, false, &b->lock, e);
	if (r == MS_DRV_OK)
		r = box_status(s, b, e);
	if (r != MS_DRV_OK) {
		hms_close_box(&b->base);
		return r;
	}
	*out = &b->base;
	return MS_DRV_OK;
}

/* ---- listing ------------------------------------------------------------------ */

/* messagecreatetime as the server's IMAP answers it (store/clock.h) */
static time_t local_time(const char *text)
{
	return ms_clock_internal_date_read(text, time(NULL));
}

static int open_file(hms_side *s, const char *filename, char *rel, size_t len, ms_err *e)
{
	if (!file_path(s, filename, rel, len))
		return ms_err_set(e, MS_E_IO, "the path of %s is too long", filename);
	int fd = ms_open_beneath(s->root_fd, rel, O_RDONLY);
	if (fd < 0)
		return ms_err_set(e, MS_E_IO, "side %s: %s: %s", s->base.name, rel, strerror(errno));
	return fd;
}

/* The Message-ID of the row's file; MS_DRV_MSG_BAD when it cannot be read. */
static ms_drv_result read_msgid(hms_side *s, const ms_msg_row *r, ms_msg *m, ms_err *e)
{
	char rel[PATH_LEN];
	int fd = open_file(s, r->filename, rel, sizeof rel, e);
	if (fd < 0)
		return MS_DRV_MSG_BAD;
	ms_headers h;
	int rc = ms_headers_read_fd(fd, rel, &h, e);
	close(fd);
	if (rc < 0)
		return MS_DRV_MSG_BAD;
	if (h.message_id)
		m->msgid = strdup(h.message_id);
	ms_headers_free(&h);
	return MS_DRV_OK;
}

static int to_msg(hms_side *s, const ms_msg_row *r, unsigned want, ms_msg *m)
{
	*m = (ms_msg){ .uid = (uint32_t)r->uid, .flags = flags_from_hm(r->flags), .size = (uint64_t)r->size,
	               .internal_date = local_time(r->created), .key = strdup(ms_layout_base_name(r->filename)) };
	if (want & MS_WANT_MSGID) {
		ms_err ignored;
		m->result = read_msgid(s, r, m, &ignored);
	}
	return m->key ? 0 : -1;
}

static ms_drv_result hms_list_msgs(ms_box *base, const ms_list_req *req, ms_msg **out, size_t *n, ms_err *e)
{
	hms_side *s = side_of(base);
	hms_box *b = (hms_box *)base;
	ms_msg_row *rows;
	size_t nr;
	*out = NULL;
	*n = 0;
	if (ms_browse_messages(db_of(s), s->account_id, b->folder, req->after_uid, req->max, &rows, &nr, e) < 0)
		return MS_DRV_SIDE_BAD;
	ms_msg *v = calloc(nr ? nr : 1, sizeof *v);
	int rc = v ? 0 : -1;
	for (size_t i = 0; i < nr && rc == 0; i++)
		rc = to_msg(s, &rows[i], req->want, &v[i]);
	ms_browse_messages_free(rows, nr);
	if (rc < 0) {
		ms_msg_list_free(v, nr);
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	*out = v;
	*n = nr;
	return MS_DRV_OK;
}

/* ---- fetch -------------------------------------------------------------------- */

/* The row with this UID: MS_DRV_OK, MS_DRV_MSG_BAD (none), MS_DRV_SIDE_BAD. */
static ms_drv_result row_of(hms_side *s, hms_box *b, uint32_t uid, ms_msg_row *r, ms_err *e)
{
	int rc = ms_browse_message_by_uid(db_of(s), s->account_id, b->folder, uid, r, e);
	if (rc < 0)
		return MS_DRV_SIDE_BAD;
	if (rc == 0) {
		ms_err_set(e, MS_E_NOTFOUND, "side %s: folder %s has no message with UID %u", s->base.name, b->base.name, uid);
		return MS_DRV_MSG_BAD;
	}
	return MS_DRV_OK;
}

static int read_all(int fd, const char *rel, char **data, size_t *len, ms_err *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return ms_err_set(e, MS_E_IO, "%s: not a readable regular file", rel);
	char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return ms_err_set(e, MS_E_NOMEM, "out of memory reading %s", rel);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r <= 0) {
			free(buf);
			return ms_err_set(e, MS_E_IO, "%s: %s", rel, r < 0 ? strerror(errno) : "shorter than it was");
		}
		got += (size_t)r;
	}
	*data = buf;
	*len = got;
	return 0;
}

/* One message's bytes into cb; MS_DRV_SIDE_BAD stops the batch. */
static ms_drv_result fetch_one(hms_side *s, hms_box *b, size_t i, uint32_t uid, ms_fetch_cb *cb, void *ctx,
                               ms_err *e)
{
	ms_msg_row r = { 0 };
	ms_err why = { 0 };
	char rel[PATH_LEN], *data = NULL;
	size_t len = 0;
	ms_drv_result res = row_of(s, b, uid, &r, &why);
	if (res == MS_DRV_SIDE_BAD) {
		*e = why;
		return res;
	}
	if (res == MS_DRV_OK) {
		int fd = open_file(s, r.filename, rel, sizeof rel, &why);
		if (fd < 0 || read_all(fd, rel, &data, &len, &why) < 0)
			res = MS_DRV_MSG_BAD;
		if (fd >= 0)
			close(fd);
	}
	free(r.filename);
	cb(ctx, i, res, data, len, res == MS_DRV_OK ? NULL : &why);
	free(data);
	return MS_DRV_OK;
}

static ms_drv_result hms_fetch(ms_box *base, const uint32_t *uids, size_t n, ms_fetch_cb *cb, void *ctx, ms_err *e)
{
	for (size_t i = 0; i < n; i++)
		if (fetch_one(side_of(base), (hms_box *)base, i, uids[i], cb, ctx, e) != MS_DRV_OK)
			return MS_DRV_SIDE_BAD;
	return MS_DRV_OK;
}

/* ---- append ------------------------------------------------------------------- */

/* Put the message in a new file at its canonical place,
 * <owner>/<XX>/{GUID}.eml (store/msgfile.h), `name` being the journal's:
 * a fresh GUID, so a name already taken fails the message (its journal
 * entry names it) rather than overwriting anything. */
static int write_message(hms_side *s, const ms_append *m, const char *name, ms_err *e)
{
	return ms_msgfile_write(s->root_fd, s->owner, name, m->data, m->len, e);
}

/* One message of a batch on its way in. */
typedef struct pending {
	char name[MS_GUID_NAME_LEN + 1];
	char created[32];
	bool written;
	int64_t uid;
} pending;

/* Lock the folder, reserve UIDs for the written messages and insert their
 * rows, in one transaction.  *at_commit tells a failed COMMIT (whose
 * outcome is unknown when the connection broke) from a rollback. */
static int insert_rows(hms_side *s, hms_box *b, const ms_append *msgs, pending *p, size_t n, size_t k,
                       bool *at_commit, ms_err *e)
{
	ms_message_row *rows = calloc(k, sizeof *rows);
	db_txn *t;
	int64_t first = 0;
	if (!rows)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (db_txn_begin(db_of(s), &t, e) < 0) {
		free(rows);
		return -1;
	}
	int rc = ms_folder_lock(db_txn_db(t), b->folder, e) < 0 ||
	         ms_folder_reserve_uids(db_txn_db(t), b->folder, k, &first, e) < 0 ? -1 : 0;
	for (size_t i = 0, j = 0; rc == 0 && i < n; i++)
		if (p[i].written) {
			p[i].uid = first + (int64_t)j;
			rows[j++] = (ms_message_row){ .account_id = s->account_id, .folder_id = b->folder,
			                              .filename = p[i].name, .from = msgs[i].from ? msgs[i].from : "", .size = (int64_t)msgs[i].len,
			                              .flags = flags_to_hm(msgs[i].flags) | MS_MSGFLAG_RECENT,
			                              .created = p[i].created, .uid = p[i].uid };
		}
	if (rc == 0)
		rc = ms_messages_insert_delivered(db_txn_db(t), rows, k, e);
	free(rows);
	if (rc < 0) {
		db_txn_rollback(&t);
		return -1;
	}
	*at_commit = true;
	ms_test_hook("hms-append-commit"); /* the files are written, the rows not yet */
	return db_txn_commit(&t, e);
}

/* Refuse a batch the folder has no UIDs for, before writing anything (the
 * transaction checks again under the lock). */
static ms_drv_result check_room(hms_side *s, hms_box *b, size_t n, ms_err *e)
{
	int64_t cur = 0;
	if (ms_folder_current_uid(db_of(s), b->folder, &cur, e) < 0)
		return MS_DRV_SIDE_BAD;
	if (cur + (int64_t)n > MS_UID_MAX) {
		ms_err_set(e, MS_E_LIMIT, "side %s: folder %s has %lld UIDs left, %zu needed (hMailServer reads UIDs as"
		           " 32-bit: none can pass 2,147,483,647)", s->base.name, b->base.name,
		           (long long)(MS_UID_MAX - cur), n);
		return MS_DRV_BOX_BAD;
	}
	return MS_DRV_OK;
}

/* Name every message of the batch and record the names in the journal,
 * synced, before any file is written. */
static int journal_names(hms_side *s, const ms_append *msgs, pending *p, size_t n, ms_err *e)
{
	char rel[PATH_LEN];
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].len == 0)
			continue;
		ms_guid_name_new(p[i].name);
		if (!file_path(s, p[i].name, rel, sizeof rel))
			return ms_err_set(e, MS_E_IO, "the path of a message of %s is too long", s->address);
		if (ms_inflight_add(s->inflight, s->account_id, rel, e) < 0)
			return -1;
	}
	return ms_inflight_sync(s->inflight, e);
}

/* Below this many messages a batch fsyncs each file and its folder; from
 * it on, the files are written under their temporary names, flushed with
 * one syncfs, renamed, flushed once more (store/msgfile.h): two fsyncs a
 * message made mstore restore of 20,000 messages 28 times slower than
 * sync's import (bench/backup.sh). */
#define SYNCFS_BATCH 8

/* A message that cannot be written fails alone. */
static void write_failed(pending *p, size_t i, const ms_err *why, ms_item_cb *cb, void *ctx)
{
	p[i].written = false;
	cb(ctx, i, MS_DRV_MSG_BAD, 0, NULL, why);
}

/* The batched way: every temporary file, one flush, every rename, one
 * flush, so a name in place always has durable data.  A failed flush
 * fails the batch (the journal names every file it may leave). */
static void write_batched(hms_side *s, const ms_append *msgs, pending *p, size_t n, ms_item_cb *cb, void *ctx)
{
	ms_err why = { 0 };
	ms_msgdirs *d = ms_msgdirs_open(s->root_fd, s->owner);
	if (!d) {
		ms_err_set(&why, MS_E_NOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			if (p[i].written)
				write_failed(p, i, &why, cb, ctx);
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i].written;
	ms_msgdirs_batch(d, k);
	for (size_t i = 0; i < n; i++)
		if (p[i].written && ms_msgfile_write_tmp(d, p[i].name, msgs[i].data, msgs[i].len, &why) < 0)
			write_failed(p, i, &why, cb, ctx);
	bool synced = ms_msgfile_sync(d, &why) == 0;
	ms_err sync_why = why;
	for (size_t i = 0; i < n; i++) {
		if (!p[i].written)
			continue;
		if (!synced)
			ms_msgfile_drop(d, p[i].name, true);
		if (!synced || ms_msgfile_place(d, p[i].name, &why) < 0)
			write_failed(p, i, synced ? &why : &sync_why, cb, ctx);
	}
	if (synced && ms_msgfile_sync(d, &why) < 0)
		for (size_t i = 0; i < n; i++)
			if (p[i].written) {
				ms_msgfile_drop(d, p[i].name, false);
				write_failed(p, i, &why, cb, ctx);
			}
	ms_msgdirs_close(d);
}

/* Write every file; a message that cannot be written fails alone.
 * Returns how many were written. */
static size_t write_all(hms_side *s, const ms_append *msgs, pending *p, size_t n, ms_item_cb *cb, void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		ms_err why = { 0 };
		if (msgs[i].len == 0) {
			ms_err_set(&why, MS_E_USAGE, "side %s: an empty message is never stored", s->base.name);
			cb(ctx, i, MS_DRV_MSG_BAD, 0, NULL, &why);
			continue;
		}
		time_t now = time(NULL);
		ms_clock_internal_date(msgs[i].internal_date ? msgs[i].internal_date : now, now, p[i].created);
		p[i].written = true;
		if (n < SYNCFS_BATCH && write_message(s, &msgs[i], p[i].name, &why) < 0)
			write_failed(p, i, &why, cb, ctx);
	}
	if (n >= SYNCFS_BATCH)
		write_batched(s, msgs, p, n, cb, ctx);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i].written;
	return k;
}

/* Take back the files of a batch whose rows were not written. */
static void unlink_written(hms_side *s, const pending *p, size_t n)
{
	char rel[PATH_LEN];
	for (size_t i = 0; i < n; i++)
		if (p[i].written && file_path(s, p[i].name, rel, sizeof rel))
			unlink_beneath(s->root_fd, rel);
}

static ms_drv_result hms_append(ms_box *base, const ms_append *msgs, size_t n, ms_item_cb *cb, void *ctx,
                                ms_err *e)
{
	hms_side *s = side_of(base);
	hms_box *b = (hms_box *)base;
	if (s->base.read_only)
		return refuse_write(&s->base, e);
	ms_drv_result r = n ? check_room(s, b, n, e) : MS_DRV_OK;
	if (r != MS_DRV_OK || n == 0)
		return r;
	pending *p = calloc(n, sizeof *p);
	if (!p) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return MS_DRV_SIDE_BAD;
	}
	if (journal_names(s, msgs, p, n, e) < 0) {
		free(p);
		return MS_DRV_SIDE_BAD; /* no file may be written that the journal does not name */
	}
	size_t k = write_all(s, msgs, p, n, cb, ctx);
	ms_test_hook("hms-append-written"); /* the files are there, no transaction open yet */
	bool at_commit = false;
	if (k > 0 && insert_rows(s, b, msgs, p, n, k, &at_commit, e) < 0) {
		/* after a failed COMMIT the rows may exist: then their files must
		 * stay (a row without file is a loss), and the journal too: the
		 * next open settles them by the rows it finds */
		if (!at_commit) {
			unlink_written(s, p, n);
			ms_inflight_clear(s->inflight, e);
		}
		free(p);
		return e->code == MS_E_LIMIT ? MS_DRV_BOX_BAD : MS_DRV_SIDE_BAD;
	}
	ms_err ignored;
	if (ms_inflight_clear(s->inflight, &ignored) < 0) /* the rows are in: the next open keeps their files */
		fprintf(stderr, "mstore: warning: side %s: %s\n", s->base.name, ignored.msg);
	for (size_t i = 0; i < n; i++)
		if (p[i].written)
			cb(ctx, i, MS_DRV_OK, (uint32_t)p[i].uid, NULL, NULL);
	free(p);
	return MS_DRV_OK;
}

/* ---- flags and expunge -------------------------------------------------------- */

/* Apply one change; a concurrent change of the same row is read again. */
static ms_drv_result flag_one(hms_side *s, hms_box *b, const ms_flag_change *c, ms_err *why)
{
	for (int attempt = 0; attempt < FLAG_RETRIES; attempt++) {
		ms_msg_row r;
		ms_drv_result res = row_of(s, b, c->uid, &r, why);
		if (res != MS_DRV_OK)
			return res;
		free(r.filename);
		int64_t now = flags_merge(r.flags, (flags_from_hm(r.flags) | c->add) & ~c->remove);
		int64_t changed = 1;
		if (now != r.flags && ms_browse_set_flags(db_of(s), r.id, r.flags, now, &changed, why) < 0)
			return MS_DRV_SIDE_BAD;
		if (changed)
			return MS_DRV_OK;
	}
	ms_err_set(why, MS_E_DB, "side %s: the flags of UID %u in %s kept changing under us", s->base.name, c->uid,
	           b->base.name);
	return MS_DRV_MSG_BAD;
}

/* Item i of a batch of writes, done alone: MS_DRV_OK, MS_DRV_MSG_BAD or
 * MS_DRV_SIDE_BAD; *uid is the item's UID for the report. */
typedef ms_drv_result write_item_fn(hms_side *s, hms_box *b, const void *items, size_t i, uint32_t *uid,
                                    ms_err *why);

/* Do and report each item of a batch of writes in turn; a failure of the
 * whole side stops it (the items not reported were not done). */
static ms_drv_result each_item(ms_box *base, const void *items, size_t n, write_item_fn *one, ms_item_cb *cb,
                               void *ctx, ms_err *e)
{
	hms_side *s = side_of(base);
	if (s->base.read_only)
		return refuse_write(&s->base, e);
	for (size_t i = 0; i < n; i++) {
		ms_err why = { 0 };
		uint32_t uid = 0;
		ms_drv_result res = one(s, (hms_box *)base, items, i, &uid, &why);
		if (res == MS_DRV_SIDE_BAD) {
			*e = why;
			return res;
		}
		cb(ctx, i, res, uid, NULL, res == MS_DRV_OK ? NULL : &why);
	}
	return MS_DRV_OK;
}

static ms_drv_result flag_item(hms_side *s, hms_box *b, const void *items, size_t i, uint32_t *uid, ms_err *why)
{
	const ms_flag_change *c = (const ms_flag_change *)items + i;
	*uid = c->uid;
	return flag_one(s, b, c, why);
}

static ms_drv_result hms_set_flags(ms_box *base, const ms_flag_change *ch, size_t n, ms_item_cb *cb, void *ctx,
                                   ms_err *e)
{
	return each_item(base, ch, n, flag_item, cb, ctx, e);
}

/* Delete the row (with recipients and metadata), then the file. */
static ms_drv_result expunge_one(hms_side *s, hms_box *b, uint32_t uid, ms_err *why)
{
	ms_msg_row r;
	char rel[PATH_LEN];
	db_txn *t;
	ms_drv_result res = row_of(s, b, uid, &r, why);
	if (res != MS_DRV_OK)
		return res;
	bool have_path = file_path(s, r.filename, rel, sizeof rel);
	free(r.filename);
	/* a kill after the commit must not leave the file for sync to import */
	if (have_path && (ms_inflight_add(s->inflight, s->account_id, rel, why) < 0 ||
	                  ms_inflight_sync(s->inflight, why) < 0))
		return MS_DRV_SIDE_BAD;
	if (db_txn_begin(db_of(s), &t, why) < 0)
		return MS_DRV_SIDE_BAD;
	if (ms_messages_delete(db_txn_db(t), r.id, why) < 0) {
		db_txn_rollback(&t);
		return MS_DRV_SIDE_BAD;
	}
	if (db_txn_commit(&t, why) < 0)
		return MS_DRV_SIDE_BAD;
	ms_test_hook("hms-expunge-unlink"); /* the row is gone, the file not yet */
	/* the row is gone, so the message is; a file that cannot be removed is
	 * only a stray file (reconstruct reports it) */
	if (have_path)
		unlink_beneath(s->root_fd, rel);
	return MS_DRV_OK;
}

static ms_drv_result expunge_item(hms_side *s, hms_box *b, const void *items, size_t i, uint32_t *uid, ms_err *why)
{
	*uid = ((const uint32_t *)items)[i];
	return expunge_one(s, b, *uid, why);
}

static ms_drv_result hms_expunge(ms_box *base, const uint32_t *uids, size_t n, ms_item_cb *cb, void *ctx,
                                 ms_err *e)
{
	ms_drv_result r = each_item(base, uids, n, expunge_item, cb, ctx, e);
	/* every row the batch deleted has lost its file (or the file is only a
	 * stray one unlink could not remove); a failed batch leaves the journal
	 * for the next open to settle */
	ms_err ignored;
	if (r == MS_DRV_OK && !side_of(base)->base.read_only &&
	    ms_inflight_clear(side_of(base)->inflight, &ignored) < 0)
		fprintf(stderr, "mstore: warning: side %s: %s\n", base->side->name, ignored.msg);
	return r;
}

static const ms_skipped_entry *hms_skipped(ms_side *base, ms_box *b, size_t *n)
{
	hms_side *s = (hms_side *)base;
	*n = b ? 0 : s->skipped.n;
	return b ? NULL : s->skipped.v;
}

const ms_side_driver ms_drv_hmailserver = {
	.kind = "hmailserver",
	.open = hms_open,
	.close = hms_close,
	.list_boxes = hms_list_boxes,
	.create_box = hms_create_box,
	.delete_box = hms_delete_box,
	.open_box = hms_open_box,
	.close_box = hms_close_box,
	.list_msgs = hms_list_msgs,
	.fetch = hms_fetch,
	.append = hms_append,
	.set_flags = hms_set_flags,
	.expunge = hms_expunge,
	.skipped = hms_skipped,
};
