/* msgfile.h - writing a message file into an account's folder the way
 * hMailServer does: under a temporary name beside its canonical place
 * <domain>/<local>/<XX>/{GUID}.eml, fsynced, renamed into place without
 * ever replacing a file, and the folder fsynced.
 *
 * Used by the channel's hmailserver driver (append) and by `mstore
 * deliver` (store/deliver.h): one copy of the rules.  The temporary name
 * "{GUID}.mstore-tmp" ends in neither .eml nor .hma, so no walker (sync,
 * reconstruct) takes it for a message.  No symlink below the data
 * directory is followed: directories are opened one component at a time
 * with O_NOFOLLOW, so a symlinked account or XX folder cannot lead a
 * write outside the data directory.
 */
#ifndef MS_STORE_MSGFILE_H
#define MS_STORE_MSGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "store/layout.h"
#include "util/err.h"

#define MS_MSGFILE_TMP_SUFFIX ".mstore-tmp"

/* The account's folder "<domain>/<local>" as it exists below root_fd in
 * any case (a store that came from Windows), else in lower case: where
 * the server would create it.  `local` and `domain` are the address's
 * halves. */
void ms_msgfile_owner_dir(int root_fd, const char *local, const char *domain, char *out, size_t len);

/* The temporary name of the GUID name `name`. */
void ms_msgfile_tmp_name(const char *name, char out[MS_GUID_NAME_LEN + sizeof MS_MSGFILE_TMP_SUFFIX]);

/* Write data[0..len) as the file `name` of the account folder `owner`
 * (temporary name, fsync, rename without replacing, fsync of the XX
 * folder; a folder made for it fsynced into its parent).  A name already taken fails with MS_E_EXISTS and writes
 * nothing. */
int ms_msgfile_write(int root_fd, const char *owner, const char *name, const char *data, size_t len, ms_err *e);

/* An account folder's XX folders, each opened (made when a file is
 * written into it) at its first use and kept open until ms_msgdirs_close:
 * a batch pays one open per file, not one per path level.  NULL when out
 * of memory.  A folder removed meanwhile is made again at the next write. */
typedef struct ms_msgdirs ms_msgdirs;
ms_msgdirs *ms_msgdirs_open(int root_fd, const char *owner);
void ms_msgdirs_close(ms_msgdirs *d);

/* ms_msgfile_write in steps, for a batch that pays for durability once
 * (deliver): ms_msgdirs_batch says how many files come; write each under
 * its temporary name; ms_msgfile_sync; ms_msgfile_place each (rename
 * without replacing; a name taken fails with MS_E_EXISTS and removes the
 * temporary file); ms_msgfile_sync again before any row names them.  A
 * crash leaves temporary files, or files in place whose data was durable
 * before their name.  A big batch is made durable by one syncfs per sync;
 * a small one (at most MS_MSGFILE_EACH_MAX files) by each file's, each new
 * folder's and each rename's own fsync, the syncs then doing nothing:
 * syncfs also waits for every other writer's data, which on a busy server
 * (other deliveries, a backup) costs one message far more than its fsyncs.
 * ms_msgfile_drop removes a file of the batch (or its temporary name),
 * best effort. */
#define MS_MSGFILE_EACH_MAX 8
void ms_msgdirs_batch(ms_msgdirs *d, size_t n);
int ms_msgfile_write_tmp(ms_msgdirs *d, const char *name, const char *data, size_t len, ms_err *e);
int ms_msgfile_place(ms_msgdirs *d, const char *name, ms_err *e);
void ms_msgfile_drop(ms_msgdirs *d, const char *name, bool tmp);
int ms_msgfile_sync(ms_msgdirs *d, ms_err *e);

/* stat the file `name` (or, with tmp, its temporary name) of `owner`,
 * following no symlink: 0, or -1 with errno. */
int ms_msgfile_stat(int root_fd, const char *owner, const char *name, bool tmp, struct stat *st);

/* Remove the file `name` (or its temporary name) of `owner`, best effort:
 * a file left behind is a stray copy, never a loss. */
void ms_msgfile_unlink(int root_fd, const char *owner, const char *name, bool tmp);

#endif
