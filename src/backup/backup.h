/* backup.h - `mstore backup` and `mstore restore`: a store's accounts,
 * folders and messages to a portable archive and back
 * (docs/backup-format.md is the format; spec admin.md, issue 17).
 *
 * Both work through the hMailServer side driver (drivers/driver.h), one
 * account at a time: backup reads folders and messages as an IMAP client
 * would (flags, internal date, bytes), restore appends them as the
 * channel does (file written, fsynced and renamed into place, then the
 * row with the folder's next UID under the folder-row lock).  Neither
 * holds SQL of its own; object rows (domains, accounts) go through
 * store/objects.h.
 */
#ifndef MS_BACKUP_H
#define MS_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define MS_ARCHIVE_FORMAT "mstore-archive"
/* The highest version restore reads, and the one backup writes (full and
 * incremental archives; version 4 added #Public's messages and groups:
 * a version 3 reader would take "#Public" for an account). */
#define MS_ARCHIVE_VERSION 4

/* Which part of a store or an archive: MAILBOX operands and --domain. */
typedef struct ms_bk_sel {
	char address[256];        /* "" with a domain-only selector */
	char domain[256];
	char **folder;            /* levels of one folder, NULL = every folder */
	size_t nfolder;
} ms_bk_sel;

/* Parse "user/ADDRESS" or "user/ADDRESS/FOLDER/SUB" (levels separated by
 * '/'). */
int ms_bk_sel_parse(const char *mailbox, ms_bk_sel *out, ms_err *e);
void ms_bk_sel_domain(const char *domain, ms_bk_sel *out);
void ms_bk_sel_free(ms_bk_sel *v, size_t n);

/* What connects to the store (the driver opens one connection per
 * account it works on). */
typedef struct ms_bk_store {
	const char *db_url, *password, *data_dir;
} ms_bk_store;

typedef struct ms_bk_progress {
	void (*fn)(void *ctx, uint64_t messages, uint64_t bytes);
	void *ctx;
} ms_bk_progress;

typedef struct ms_backup_stats {
	uint64_t accounts, folders, messages, contents, bytes;
	uint64_t vanished;        /* listed, but gone before it was read (expunged meanwhile) */
	uint64_t failed;          /* its row still there, its file unreadable: left out, exit 1 */
	/* --incremental: contents the base chain holds (not written again),
	 * messages of the base no longer there, messages whose flags changed */
	uint64_t base_contents, removed, flag_changes;
} ms_backup_stats;

/* `base`: an earlier archive of the same scope (full or incremental): the
 * archive written is then an incremental one (format version 3) holding
 * only the contents the base's chain lacks; NULL for a full archive. */
/* A run that failed messages (st->failed) returns 0, the archive written
 * without them, and the first failure in *e. */
int ms_backup_run(ms_store *s, const ms_bk_store *where, const ms_bk_sel *sel, size_t nsel, const char *file,
                  const char *base, bool zstd, const ms_bk_progress *prog, ms_backup_stats *st, ms_err *e);

typedef struct ms_restore_opts {
	const ms_bk_sel *sel;
	size_t nsel;
	const char *into;         /* every selected message goes to this account, or NULL */
	const char *tmpdir;       /* where the archive's contents wait until verified */
	bool dry_run;
	/* a chain's removals the target holds are moved into the trash and
	 * their rows deleted (listed only without it) */
	bool apply_removals;
	/* each flag update and each listed removal of a chain restore:
	 * action "flags" or "removed", the target mailbox and UID */
	void (*on_action)(void *ctx, const char *action, const char *account, char *const *levels, uint32_t uid,
	                  const char *sha);
	void *action_ctx;
} ms_restore_opts;

typedef struct ms_restore_stats {
	uint64_t accounts_created, folders, restored, present, bytes;
	uint64_t failed;
	/* format 2's objects: added, or already there (never changed) */
	uint64_t aliases, lists, members, public_folders, acls, objects_present;
	uint64_t groups, group_members;  /* format 4 */
	/* a chain: flags set as its last index has them; messages its
	 * incrementals list as removed, still in the target (listed only) */
	uint64_t flags_updated, removals;
	uint64_t removals_applied;  /* --apply-removals: rows deleted, files trashed */
} ms_restore_stats;

/* `files`: one archive, or a full archive followed by its incrementals in
 * order (each one's base the one before it): checked whole before
 * anything is written. */
int ms_restore_run(ms_store *s, const ms_bk_store *where, const char *const *files, size_t nfiles,
                   const ms_restore_opts *o, const ms_bk_progress *prog, ms_restore_stats *st, ms_err *e);

#endif
