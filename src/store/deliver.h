/* deliver.h - putting messages into an account's folder as the server
 * itself would (`mstore deliver`), safe against a SIGKILL at any moment.
 *
 * A message is delivered in three steps:
 *   1. a line "P KEY NAME FLAGS DATE FROM" is appended to the run's
 *      journal in DATA/.mstore/ and fdatasynced (the GUID name is chosen
 *      before anything is written);
 *   2. its file is written under a temporary name, fsynced and renamed to
 *      <domain>/<local>/<XX>/{GUID}.eml (store/msgfile.h);
 *   3. one transaction per batch locks the folder row, reserves the UIDs
 *      and inserts the rows (store/messages.h, the row hMailServer's
 *      delivery writes); then "D NAME" lines are appended and synced.
 * A row never exists without its file (the file is in place before the
 * row is committed).  A run killed between 2 and 3 leaves files no row
 * names: the next deliver run (any source) takes over every journal no
 * process holds (flock) and rolls each pending entry forward -- a row
 * names the file already (committed, or `mstore sync` imported it):
 * done; the file is in place: its row is inserted now (flags, date and
 * From from the journal, a new UID); only the temporary file or nothing:
 * the temporary file is removed and the message counts as not delivered.
 *
 * A source (an mbox, a Maildir) has a journal of its own, named after the
 * account, folder and source identity (device and inode), which keeps the
 * keys of the messages delivered (an mbox message's: its From offset, its
 * length and a fingerprint of its bytes, so an mbox rewritten in place
 * is not taken for the one delivered; a Maildir message's: its unique
 * name); a rerun of the same delivery after a
 * kill, a failure or an over-quota refusal skips them (ms_deliver_seen).
 * A run that delivered its whole source removes the journal: running the
 * same command again then delivers again, as `deliver FILE` twice does.
 */
#ifndef MS_STORE_DELIVER_H
#define MS_STORE_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/layout.h"
#include "store/store.h"

typedef struct ms_deliver ms_deliver;

/* Where messages go. */
typedef struct ms_deliver_target {
	int64_t account_id, folder_id;
	const char *address;        /* the account's address, for its folder on disk */
	int64_t max_size_mb;        /* accountmaxsize; 0 = unlimited */
	bool ignore_quota;
	bool dry_run;               /* read-only: nothing written, no journal */
	int lock_wait_ms;           /* how long to wait for a `folder lock` on the folder; -1 for ever */
} ms_deliver_target;

enum { MS_DELIVER_OK, MS_DELIVER_OVER_QUOTA, MS_DELIVER_FAILED };

/* One message of a batch. */
typedef struct ms_deliver_msg {
	const char *data;
	size_t len;
	int64_t flags;              /* messageflags bits; Recent (32) is always added */
	const char *created;        /* the internal date as stored ("YYYY-MM-DD HH:MM:SS") */
	const char *from;           /* messagefrom, at most 255 bytes */
	const char *key;            /* its name in the source (a rerun skips it); NULL: none */
	/* filled by ms_deliver_batch */
	int status;                 /* MS_DELIVER_* */
	ms_err why;
	int64_t uid;
	char name[MS_GUID_NAME_LEN + 1];
} ms_deliver_msg;

/* What taking over abandoned journals did. */
typedef struct ms_deliver_recovery {
	size_t rolled_forward, rolled_back, committed;
} ms_deliver_recovery;

/* Take over every deliver journal of the data directory that no process
 * holds and roll its pending entries forward (above).  A journal whose
 * account or folder is gone is kept and named on stderr. */
int ms_deliver_recover(ms_store *s, ms_deliver_recovery *r, ms_err *e);

/* Start a delivery into `t`; `source` names the source for reruns
 * ("mbox:DEV:INO", ...) or is NULL for one message. */
int ms_deliver_open(ms_store *s, const ms_deliver_target *t, const char *source, ms_deliver **out, ms_err *e);
/* Was the message `key` delivered by an earlier run of the same source? */
bool ms_deliver_seen(const ms_deliver *dv, const char *key);
/* The account's usage in bytes, as the quota check counts it (what the
 * batches of this run added included). */
int64_t ms_deliver_usage(const ms_deliver *dv);
/* Deliver m[0..n) in one transaction: each gets its status (over quota,
 * failed with `why`, or delivered with its UID and file name).  -1 only
 * when the run must stop (the journal or the database failed). */
int ms_deliver_batch(ms_deliver *dv, ms_deliver_msg *m, size_t n, ms_err *e);
/* End the run; `complete`: every message of the source is delivered, so
 * its journal goes. */
void ms_deliver_close(ms_deliver *dv, bool complete);

#endif
