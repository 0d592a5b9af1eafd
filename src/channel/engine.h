/* engine.h - the channel engine: two-way synchronization of folder pairs
 * between two sides (drivers/driver.h), a drop-in for mailsync that loses
 * nothing.
 *
 * IDENTITY.  Messages of a folder pair are paired by identity
 * (channel/ident.h): the Message-ID sanitized as mailsync does, or for a
 * message without one (mailsync loses all but the first of those) a
 * SHA-256 digest of the whole message; `-t md5` is mailsync's header MD5.
 * Identity is per folder pair: a move between folders is a deletion and a
 * new message.
 *
 * THE RULES, per folder pair (A, B), per identity, against the state of
 * the last run (channel/state.h):
 *   on A and B                  keep; merge flags (below)
 *   on one side, not in state   new: copied to the other side with its
 *                               flags, keywords and internal date
 *   on one side, in state       deleted on the other side since the last
 *                               run: expunged here; with no_delete (-n)
 *                               kept and remembered as a pending deletion,
 *                               never copied back (mailsync forgets it and
 *                               resurrects it on the next run)
 *   on neither, in state        forgotten
 * A pending deletion whose message comes back on the other side is kept
 * (on both sides again); one whose message moved to the other side only is
 * treated as new there (copied back: nothing is lost).
 * Messages flagged \Deleted are not copied unless copy_deleted (-cd), and
 * messages larger than size_limit never, as mailsync does; both are
 * reported as skipped every run and not recorded.  Missing boxes are
 * created.  True duplicates (one identity twice in one box) are reported;
 * the first (lowest UID, or the one the state names) is paired, the others
 * are never copied and never deleted.
 *
 * FLAGS (\Seen \Answered \Flagged \Deleted \Draft and keywords) are merged
 * per flag against the flags last synchronized (the state's "base"): a
 * flag in the base stays only if it is still on both sides (a removal on
 * either side propagates); a flag not in the base is set if either side
 * has it (an addition on either side propagates).  So changes of
 * different flags on the two sides all propagate, and the one conflict
 * there is (one side removed a flag the other still has) resolves to the
 * removal; an addition always propagates.  Without a
 * base (a new pairing, a state seeded from mailsync's msinfo, a lost state
 * file) the result is the union of both sides.  A side without
 * MS_CAP_FLAGS (or MS_CAP_KEYWORDS) counts as unchanged.
 *
 * THE BRAKE.  Before anything is written, every folder pair is listed and
 * planned.  The run is refused with a report, writing nothing anywhere,
 * when (unless `force`): a side looks empty (every box of it empty or
 * missing while the state knows messages), a box vanished (missing on one
 * side while the state knows messages of the pair), or a box would lose
 * more than max_delete percent (default 20) of its messages and more than
 * 5 of them.  Messages deleted by propagation are first copied into the
 * quarantine directory (when given) with a journal, from which
 * ms_engine_undo puts them back; runs older than quarantine_days are
 * pruned when a later run starts (channel/quarantine.h).
 *
 * THE STATE is saved (atomically) after each folder pair that wrote
 * something, and records only what was done: a failed copy is not
 * recorded (retried next run), a failed expunge keeps its record.  A
 * missing state file re-pairs every message by identity: what is on both
 * sides is kept and nothing is copied twice.  A dry run (sides wrapped in
 * ms_dryrun_wrap, opts.dry_run) runs the same code and saves nothing.
 *
 * FAILURES follow the driver's scopes: MS_DRV_MSG_BAD skips that message
 * (and a message that cannot be read stops deletions from being propagated
 * out of its box in that run), MS_DRV_BOX_BAD the pair, MS_DRV_SIDE_BAD
 * ends the run (every pair needs both sides).
 */
#ifndef MS_CHANNEL_ENGINE_H
#define MS_CHANNEL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel/ident.h"
#include "channel/state.h"
#include "drivers/driver.h"
#include "util/err.h"
#include "util/vec.h"

#define MS_ENGINE_MAX_DELETE_DEFAULT 20
#define MS_ENGINE_BRAKE_MIN 5   /* deletions up to this many are never braked by the share rule */

/* Progress while a folder pair's plan is carried out: pair `pair` (from
 * 0) of `npairs`, its box names, `done` of its `total` messages (copies,
 * flag changes and deletions); called at the start of the pair and after
 * each batch, so as often as batches end: the caller rate-limits. */
typedef void ms_engine_progress_fn(void *ctx, size_t pair, size_t npairs, const char *box0, const char *box1,
                                   size_t done, size_t total);

typedef struct ms_engine_opts {
	ms_ident_mode ident;
	bool no_delete;            /* -n: keep deletions pending */
	bool copy_deleted;         /* -cd: copy messages flagged \Deleted too */
	bool force;                /* lift the brake */
	bool dry_run;              /* sides are dry-run proxies: save no state, quarantine nothing */
	uint64_t size_limit;       /* bytes; 0: none */
	unsigned max_delete;       /* percent; 0: MS_ENGINE_MAX_DELETE_DEFAULT; >= 100: no share rule */
	const char *quarantine;    /* directory for deleted messages and the journal; NULL: none */
	bool notes;                /* list each message copied, deleted or kept pending in the
	                              report (ms_pair_report.notes): the channel's diff mode */
	const char *run_id;        /* names the run in the quarantine (QUARANTINE/RUN/journal); NULL:
	                              the UTC time and the process id (ms_channel_report.run_id) */
	unsigned quarantine_days;  /* runs older than this are pruned at the start (quarantine.h;
	                              a dry run only lists them); 0: kept for ever */
	ms_engine_progress_fn *progress;   /* NULL: none */
	void *progress_ctx;
} ms_engine_opts;

/* One folder pair: the box's name on side A and on side B. */
typedef struct ms_box_pairing {
	const char *box[2];
} ms_box_pairing;

/* Why a message was not synchronized. */
typedef struct ms_skip {
	int side;                  /* where the message is */
	uint32_t uid;
	char *ident;               /* NULL when unknown */
	char *why;
} ms_skip;

/* One message the run copied, deleted or kept pending (opts.notes): the
 * same events the counts count, so a list and its count always agree. */
typedef enum ms_note_kind { MS_NOTE_COPIED, MS_NOTE_DELETED, MS_NOTE_PENDING } ms_note_kind;
typedef struct ms_msg_note {
	ms_note_kind kind;
	int side;                  /* the count's side: copied to, deleted on, pending on */
	uint32_t uid;              /* the message on the side it was read from (copied: the source) */
	char *ident;
} ms_msg_note;

typedef struct ms_pair_report {
	char *box[2];
	bool created[2];           /* the box was created on side i */
	bool vanished[2];          /* the box was missing on side i while the state knew messages of
	                              it (renamed or deleted there): the brake's case */
	size_t copied[2];          /* messages copied to side i */
	size_t deleted[2];         /* messages expunged on side i */
	size_t pending[2];         /* deletions kept back on side i (no_delete) */
	size_t flagged[2];         /* messages whose flags changed on side i */
	size_t duplicates[2];      /* extra copies of an identity on side i */
	size_t kept;               /* messages on both sides */
	MS_VEC(ms_skip) skipped;
	MS_VEC(ms_msg_note) notes; /* opts.notes: the messages behind copied, deleted, pending */
	char *error;               /* the pair failed (box scope): why */
} ms_pair_report;

typedef struct ms_channel_report {
	MS_VEC(ms_pair_report) pairs;
	size_t copied[2], deleted[2], pending[2], flagged[2], duplicates[2], skipped;
	size_t failed_pairs;
	bool braked;               /* the brake refused the run: nothing was written */
	ms_strlist brake;          /* why (owned strings) */
	char *side_error[2];       /* the side failed: why */
	char *run_id;              /* the run's name in the quarantine (opts.run_id or made up) */
	ms_strlist pruned;         /* earlier runs pruned from the quarantine (dry run: would be) */
	ms_strlist side_skipped[2];/* "PATH: why" of entries side i's driver could not name as a box
	                              (driver.h skipped; counted in `skipped`) */
	char *prune_error;         /* pruning stopped: why (the sync went on) */
} ms_channel_report;

/* Synchronize the pairs between sides[0] (A) and sides[1] (B), updating
 * `st` (saved after each pair unless dry_run); takes the state's lock
 * (ms_state_lock) first, so a second run of the channel is refused (a dry
 * run takes none: it writes nothing, not even the lock file).  0: everything done; 1:
 * something was left undone (skipped messages, failed pairs, the brake;
 * the report says what); -1 with `e`: the run could not start. */
int ms_engine_run(ms_side *const sides[2], const ms_box_pairing *pairs, size_t npairs, ms_state *st,
                  const ms_engine_opts *o, ms_channel_report *r, ms_err *e);
void ms_channel_report_free(ms_channel_report *r);

/* Pairs for the boxes of the same name on both sides plus those on one
 * side only (for tests and the simplest channels); *out is freed with
 * ms_box_pairing_free. */
int ms_pair_by_name(ms_side *const sides[2], ms_box_pairing **out, size_t *n, ms_err *e);
void ms_box_pairing_free(ms_box_pairing *v, size_t n);

/* Dry runs (driver.h "Dry runs"): a side that passes reads to `inner` and
 * records every write instead of making it.  The proxy owns `inner`
 * (closing it closes both).  Boxes it "created" list and open as empty. */
ms_side *ms_dryrun_wrap(ms_side *inner);
/* The writes recorded so far, one line each ("append BOX 3 messages"). */
const char *const *ms_dryrun_log(const ms_side *proxy, size_t *n);

/* Put back what the run `run_id` quarantined (opts.quarantine): every
 * message of its journal appended to the box it was expunged from, with
 * its flags and date, unless a message of its identity is there (its
 * expunge failed after the copy).  Counts restored and failed; the journal
 * is then renamed journal.undone, so a second undo restores nothing
 * twice.  The restored messages are new to the channel: its next run
 * copies them to the other side again. */
int ms_engine_undo(ms_side *const sides[2], const char *quarantine, const char *run_id, size_t *restored,
                   size_t *failed, ms_err *e);

#endif
