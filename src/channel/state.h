/* state.h - mstore's own state of a channel: what the last run left in
 * sync, per folder pair and per message.
 *
 * File format (text, one record a line, fields separated by one space,
 * every field escaped: bytes 0x00-0x20, 0x7f, '%' and ',' as %HH, an
 * empty text as "%", an absent one as "-"):
 *
 *   mstore-channel-state 1
 *   channel NAME
 *   pair BOX_A BOX_B UIDVALIDITY_A UIDVALIDITY_B [MODSEQ_A MODSEQ_B]
 *   m IDENT KEY_A KEY_B FLAGS KEYWORDS STATUS
 *   ...
 *   end NPAIRS NMSGS
 *
 * MODSEQ_x (written only when one is not 0) is side x's HIGHESTMODSEQ
 * (IMAP CONDSTORE) at the end of a run that left the state and the side
 * exactly alike, 0 otherwise: the next run then lists only what changed
 * since (channel/engine.c, "listing").
 *
 * IDENT is the identity (channel/ident.h).  KEY_x names the message on
 * side x: the driver's ms_msg.key, else "uid:UIDVALIDITY:UID" on a side
 * with stable UIDs, else "-" (unknown; the message is found by identity).
 * FLAGS are the flags last synchronized, as letters D(raft) F(lagged)
 * R(eplied = answered) S(een) T(rashed = deleted), "-" for none, "?" when
 * not known (a record seeded from mailsync's msinfo): then the next run
 * merges the two sides' flags as for a new pair (union).  KEYWORDS are
 * comma-separated, "-" for none.  STATUS is "=" (on both sides), "A" or
 * "B" (a pending deletion: deleted on the other side, kept on this one by
 * `no_delete`/`-n`; never copied back).  The last line counts pairs and
 * messages, so a truncated file is recognised.
 *
 * The file is replaced atomically: written to PATH.tmp in the same
 * directory, fsynced, renamed over PATH, the directory fsynced.  A crash
 * leaves the old state or the new one, never a mix; a stale PATH.tmp is
 * ignored and overwritten.  A missing file is an empty state (the engine
 * then pairs every message by identity and copies nothing that is on both
 * sides); a corrupt file or one of another channel is an error that names
 * the file and the line, never a silent new start.
 */
#ifndef MS_CHANNEL_STATE_H
#define MS_CHANNEL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/vec.h"

#define MS_STATE_VERSION 1
#define MS_STATE_FLAGS_UNKNOWN 0x80000000u

typedef struct ms_state_msg {
	char *ident;
	char *key[2];        /* NULL: not known */
	unsigned flags;      /* MS_FLAG_* last synchronized, or MS_STATE_FLAGS_UNKNOWN */
	char *keywords;      /* sorted, space-separated; NULL for none */
	char status;         /* '=', 'A', 'B' (see above); 0: a removed record */
} ms_state_msg;

typedef struct ms_state_pair {
	char *box[2];
	uint32_t uidvalidity[2];
	uint64_t modseq[2];  /* see MODSEQ_x above; 0: not known */
	MS_VEC(ms_state_msg) msgs;
	void *by_ident;      /* ident -> index + 1 (GHashTable), built on demand */
	ms_arena strings;    /* every record's strings: no allocation (and its overhead) per
	                        string; a replaced record's stay until the state is freed */
} ms_state_pair;

typedef struct ms_state {
	char *path;
	char *channel;
	bool existed;        /* the file was there when loaded */
	int lock_fd;         /* PATH.lock while ms_state_lock holds it; else -1 */
	MS_VEC(ms_state_pair *) pairs;
} ms_state;

/* Load the state of `channel` from `path`.  Missing → an empty state
 * (existed false).  Corrupt, another version or another channel →
 * -1 with an error that names the file (and line). */
int ms_state_load(const char *path, const char *channel, ms_state **out, ms_err *e);
/* Take the channel's lock: an open-file-description write lock on
 * PATH.lock (created, never removed), held until ms_state_free.  A second
 * run of the same channel (even in the same process) is refused with an
 * error naming the file: two runs would copy the same new messages
 * twice. */
int ms_state_lock(ms_state *st, ms_err *e);
/* Replace the file atomically with the state as it is now. */
int ms_state_save(ms_state *st, ms_err *e);
void ms_state_free(ms_state *st);

/* The pair (box_a, box_b), created empty when `create`; NULL if absent
 * (or out of memory with create). */
ms_state_pair *ms_state_pair_get(ms_state *st, const char *box_a, const char *box_b, bool create);
/* The record of `ident` in the pair, or NULL. */
ms_state_msg *ms_state_find(ms_state_pair *p, const char *ident);
/* Add or replace the record of `ident` (the strings are copied). */
ms_state_msg *ms_state_put(ms_state_pair *p, const char *ident, const char *key_a, const char *key_b, unsigned flags,
                           const char *keywords, char status);
/* Remove the record of `ident` (nothing if absent). */
void ms_state_forget(ms_state_pair *p, const char *ident);
/* Records in use. */
size_t ms_state_count(const ms_state_pair *p);

/* Seed the pair with identities known to be in sync on both sides (the
 * msinfo importer's output): each becomes a record with unknown keys and
 * unknown flags, unless it has one already. */
int ms_state_seed(ms_state *st, const char *box_a, const char *box_b, const char *const *idents, size_t n,
                  ms_err *e);

/* Test hook: called between the temporary file's fsync and the rename. */
extern void (*ms_state_before_rename)(const char *tmp_path);

#endif
