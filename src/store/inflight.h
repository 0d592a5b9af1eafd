/* inflight.h - the journal of message files whose rows are in flight.
 *
 * A writer that adds or removes a message file and its row cannot do both
 * at once: the file of an append exists before its row is committed, the
 * file of an expunge after its row is gone.  A writer killed in between
 * leaves a file no row names, which hMailServer's synchronizer (and
 * `mstore sync`) would import as a new message: a duplicate of what the
 * channel appends again, or a deleted message back.  So before touching
 * the files the writer records their names (account and path below the
 * data directory) here and syncs the record; once the rows are committed
 * it empties the journal.  Each writer has its own journal,
 * DATA/.mstore/inflight-HOST-PID-N.inflight, flock'd while it lives (the
 * suffix keeps it apart from sync's rename journals, `*.journal`).
 *
 * Recovery (ms_inflight_recover, before a writer starts): every journal
 * whose lock is free belongs to a dead writer; for each name in it, a file
 * that exists while no row of its account names it is removed (an append
 * whose rows never committed: the channel still has the message on its
 * other side and appends it again; or an expunge whose row is gone), and a
 * file a row names is kept (the append committed, or the expunge did not).
 * The rule needs no note of which operation it was: "a file of the journal
 * that no row names" is in both cases a file nobody may keep.
 */
#ifndef MS_STORE_INFLIGHT_H
#define MS_STORE_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "store/msgfile.h"
#include "util/err.h"
#include "util/journal_io.h"

/* A writer writes a message file under its GUID name with this suffix in
 * place of ".eml" (no walker takes it for a message), fsyncs it and
 * renames it; recovery removes such a file beside every name it settles. */
#define MS_INFLIGHT_TMP_SUFFIX MS_MSGFILE_TMP_SUFFIX

typedef struct ms_inflight ms_inflight;

/* A handle for this writer on the data directory `root_fd` (named
 * `data_dir` in errors); the journal file is made on the first add. */
int ms_inflight_new(int root_fd, const char *data_dir, ms_inflight **out, ms_err *e);
/* Record the file `rel` (below the data directory) of account
 * `account_id`; not yet on disk until ms_inflight_sync. */
int ms_inflight_add(ms_inflight *j, int64_t account_id, const char *rel, ms_err *e);
/* Make the records durable (fdatasync): call before touching the files. */
int ms_inflight_sync(ms_inflight *j, ms_err *e);
/* Forget every record: the rows are committed (or the files are gone).
 * Not synced: a record that survives a power cut is checked against the
 * rows on recovery, and a committed row keeps its file. */
int ms_inflight_clear(ms_inflight *j, ms_err *e);
/* Close; the journal file is removed when it is empty, else left for
 * the next recovery. */
void ms_inflight_free(ms_inflight *j);

/* Take over every journal of a dead writer below root_fd's .mstore/ and
 * remove the files it names that no row of their account names; *removed
 * (may be NULL) gets how many.  -1 only on a database error; a journal or
 * file that cannot be read or removed is named on stderr and left. */
int ms_inflight_recover(db *d, int root_fd, const char *data_dir, size_t *removed, ms_err *e);

/* Call fn for every file named in the journal of a writer that is alive
 * (MS_JIO_LIVE: its journal is flock'd): files whose rows are not
 * committed yet, which no reader may take for unreferenced (`mstore sync`
 * reports them "in flight"); read it before the rows: a writer clears its
 * journal only after its rows are committed.  MS_JIO_DEAD: the files of
 * writers that died, which ms_inflight_recover settles (a dry run of sync
 * names them instead).  A journal that cannot be read is skipped. */
typedef void ms_inflight_name_fn(void *ctx, int64_t account_id, const char *rel);
void ms_inflight_each(int root_fd, ms_jio_mode mode, ms_inflight_name_fn *fn, void *ctx);

#endif
