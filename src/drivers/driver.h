/* driver.h - one end of a channel (a side) and the operations table that
 * drives it.
 *
 * Words.  In mstore a "store" is the hMailServer store (src/store/).  One
 * end of a channel is a **side** (ms_side): an IMAP account, a Maildir
 * tree, an mbox directory, or one account of an hMailServer store.  A
 * folder on a side is a **box** (ms_box), a message an **ms_msg**.  Each
 * kind of side is a driver (ms_side_driver): a table of operations with
 * the contracts below.  The channel engine calls only these operations
 * and branches on a side's capabilities (MS_CAP_*), never on which driver
 * it holds.
 *
 * Memory.  All memory a driver returns belongs to the driver's user,
 * unless stated otherwise: lists are freed with the free function named
 * beside them (ms_box_list_free, ms_msg_list_free).  Stated otherwise:
 * what a callback receives (message bytes, the ms_err of a failed item)
 * belongs to the driver and is valid only during the callback; the
 * configuration passed to open belongs to the caller and may be freed
 * once open returns.
 *
 * Results.  Every operation returns an ms_drv_result that says how far a
 * failure reaches, as isync's DRV_MSG_BAD / DRV_BOX_BAD / DRV_STORE_BAD
 * do; anything but MS_DRV_OK comes with `e` filled (a whole sentence that
 * names the side, the box and the message).  The engine stops using what
 * the result names and nothing more: after MS_DRV_MSG_BAD it goes on with
 * the next message, after MS_DRV_BOX_BAD with the next box pair, after
 * MS_DRV_SIDE_BAD it closes the side and finishes the channel's other
 * work that does not need it.
 *
 * Batches.  Operations that an IMAP server would pipeline (fetch, append,
 * set flags, expunge) take an array and report each item through a
 * callback, in any order, as its answer arrives: a local driver answers
 * each item before it goes on, an IMAP driver sends the whole batch and
 * reports as the tagged answers come.  The operation's own return value
 * is MS_DRV_OK when every item was reported (each may still have failed
 * alone, with MS_DRV_MSG_BAD); MS_DRV_BOX_BAD or MS_DRV_SIDE_BAD when the
 * batch stopped: items whose callback was not called were not done.
 *
 * UIDs.  A message is addressed by its UID within an open box: 1 to
 * 2^32-1, ascending in the order messages were added.  With
 * MS_CAP_UID_STABLE they stay valid across sessions as long as the box's
 * UIDVALIDITY does (the engine may keep them in its state file); without
 * it they are valid while the box is open, and the engine keeps the
 * message's `key` instead.  Such a driver reports a UIDVALIDITY that
 * differs from one open_box to the next (the Maildir driver's is random),
 * so an unchanged ms_box_status is never taken for an unchanged box.
 *
 * Dry runs.  A side opened with `read_only` writes nothing: every write
 * operation fails with MS_DRV_SIDE_BAD.  MS_CAP_DRY_RUN_SAFE says the
 * driver guarantees it by construction (the hMailServer driver opens its
 * database read-only, so the database itself refuses any write).  The
 * engine runs a dry run (`-s`, `--dry-run`) by opening both sides
 * read-only and wrapping each in a proxy driver that passes reads through
 * and records writes instead of making them (isync's drv_proxy), so the
 * engine's code path is the same as a real run.  That proxy belongs to
 * the channel engine (issue 14) and is not written yet.
 *
 * Threads.  A side and its boxes are used by one thread at a time.
 */
#ifndef MS_DRIVERS_DRIVER_H
#define MS_DRIVERS_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"

/* How far a failure reaches. */
typedef enum ms_drv_result {
	MS_DRV_OK = 0,
	MS_DRV_MSG_BAD,   /* this message only: its file is gone, the server refused it */
	MS_DRV_BOX_BAD,   /* this box: it vanished, it is full (no UID left), it is broken */
	MS_DRV_SIDE_BAD,  /* the whole side: connection lost, store unreadable, read-only */
} ms_drv_result;

/* Capabilities of an open side (ms_side.caps). */
enum {
	MS_CAP_UID_STABLE    = 1u << 0,  /* UIDs survive the session (see "UIDs") */
	MS_CAP_FLAGS         = 1u << 1,  /* the five system flags are kept */
	MS_CAP_KEYWORDS      = 1u << 2,  /* keywords ($Label1, ...) are kept; without it the keyword
	                                    fields are ignored on the way in and NULL on the way out */
	MS_CAP_INTERNAL_DATE = 1u << 3,  /* an internal date is kept apart from the header's Date */
	MS_CAP_CRLF          = 1u << 4,  /* the side keeps lines ending in CRLF: the engine converts
	                                    LF to CRLF before append and expects CRLF from fetch
	                                    (drivers store the bytes they are given, unchanged) */
	MS_CAP_CREATE_BOX    = 1u << 5,  /* create_box works */
	MS_CAP_DELETE_BOX    = 1u << 6,  /* delete_box works */
	MS_CAP_APPEND_UID    = 1u << 7,  /* append reports the new message's UID (IMAP UIDPLUS) */
	MS_CAP_DRY_RUN_SAFE  = 1u << 8,  /* a read_only side cannot write, by construction */
	MS_CAP_MODSEQ        = 1u << 9,  /* boxes have a mod-sequence (IMAP CONDSTORE): highest_modseq
	                                    and ms_list_req.changed_since mean something */
};

/* The system flags, as a bit set (ms_msg.flags).  The values are mstore's
 * own; each driver maps its format's bits to them. */
enum {
	MS_FLAG_SEEN     = 1u << 0,
	MS_FLAG_ANSWERED = 1u << 1,
	MS_FLAG_FLAGGED  = 1u << 2,
	MS_FLAG_DELETED  = 1u << 3,
	MS_FLAG_DRAFT    = 1u << 4,
};
#define MS_FLAGS_ALL 0x1fu

/* Attributes of a box in a listing. */
enum {
	MS_BOX_NOSELECT     = 1u << 0,  /* a name in the hierarchy only: holds no messages (\Noselect) */
	MS_BOX_HAS_CHILDREN = 1u << 1,
	MS_BOX_SUBSCRIBED   = 1u << 2,
};

/* ---- configuration ---------------------------------------------------------- */

/* One keyword of a side's configuration, as the channel configuration
 * holds it ("db", "data", "account", "path", "host", ...).  Each driver
 * documents the keys it reads; the engine has resolved secrets (passwd,
 * passfile, the environment) into "password" before open. */
typedef struct ms_side_opt {
	const char *key, *value;
} ms_side_opt;

typedef struct ms_side_conf {
	const char *name;          /* the side's name in the configuration, for messages */
	const ms_side_opt *opts;
	size_t nopts;
	bool read_only;            /* see "Dry runs" */
} ms_side_conf;

/* The value of `key` (the last one given), or NULL. */
const char *ms_side_conf_get(const ms_side_conf *c, const char *key);

/* ---- objects ---------------------------------------------------------------- */

typedef struct ms_side_driver ms_side_driver;

/* An open side.  Drivers embed it as their struct's first member. */
typedef struct ms_side {
	const ms_side_driver *drv;
	char *name;                /* copied from the configuration */
	unsigned caps;             /* MS_CAP_* */
	char delim;                /* hierarchy delimiter of box names */
	bool read_only;
} ms_side;

/* What open_box learns about a box. */
typedef struct ms_box_status {
	uint32_t uidvalidity;      /* changes when UIDs were reassigned: then no UID kept is valid */
	uint32_t uidnext;          /* the UID the next message will get (a lower bound) */
	uint32_t count;            /* messages in the box */
	uint64_t highest_modseq;   /* MS_CAP_MODSEQ: grows with every change in the box; else 0.
	                              The same uidvalidity, uidnext, count and highest_modseq as
	                              last time mean nothing changed: a no-op resync of the box
	                              costs this one call */
} ms_box_status;

/* An open box.  Drivers embed it as their struct's first member. */
typedef struct ms_box {
	ms_side *side;
	char *name;
	ms_box_status status;      /* as of open_box */
} ms_box;

/* An entry a local driver skipped (neither a message nor a box it can
 * name), for `mstore check`.  `path` is relative to the side's `path` and
 * holds the entry's name as it is on disk (any byte but NUL: escape it
 * before printing it, util/escape.h); `why` is a short phrase, static. */
typedef struct ms_skipped_entry {
	char *path;
	const char *why;
} ms_skipped_entry;

/* A box in a listing. */
typedef struct ms_box_info {
	char *name;                /* full name, levels joined with the side's delim; INBOX is "INBOX" */
	unsigned attrs;            /* MS_BOX_* */
} ms_box_info;

/* A message in a listing. */
typedef struct ms_msg {
	uint32_t uid;
	ms_drv_result result;      /* MS_DRV_MSG_BAD: listed, but what was asked for could not be
	                              read (its file is gone); the engine leaves it alone */
	unsigned flags;            /* MS_FLAG_* */
	uint64_t size;             /* bytes, as the side records it (fetch returns what is there) */
	time_t internal_date;      /* seconds since the epoch (UTC); 0 if the side keeps none */
	char *msgid;               /* the Message-ID without angle brackets (MS_WANT_MSGID), or NULL
	                              when the message has none (or it was not asked for) */
	char *key;                 /* a text that names the message on this side for good (file
	                              name, ...); NULL when the side has stable UIDs instead, or
	                              nothing at all that outlives the session (an mbox: the
	                              engine then tells its messages apart by identity alone) */
	char *keywords;            /* MS_CAP_KEYWORDS: keywords separated by single spaces, or
	                              NULL when it has none */
	uint64_t modseq;           /* MS_CAP_MODSEQ: the message's last change; else 0 */
} ms_msg;

/* What list_msgs reads beyond uid, flags, size, date and keywords. */
enum {
	MS_WANT_MSGID = 1u << 0,   /* the Message-ID: reads each message's header section */
	MS_WANT_NO_STAT = 1u << 1, /* size and internal_date may be left 0 where they cost a call
	                              per message (a Maildir's stat): a listing only planned from,
	                              listed again before anything is copied */
};

/* Which messages list_msgs returns: those with a UID above after_uid, in
 * ascending UID order, at most `max` (0: no limit), and with
 * MS_CAP_MODSEQ and changed_since > 0 only those changed since that
 * mod-sequence (a side without MS_CAP_MODSEQ ignores it and lists all). */
typedef struct ms_list_req {
	uint32_t after_uid;
	size_t max;
	unsigned want;             /* MS_WANT_* */
	uint64_t changed_since;
} ms_list_req;

/* A message to append.  The bytes belong to the caller. */
typedef struct ms_append {
	const char *data;
	size_t len;
	unsigned flags;            /* MS_FLAG_* */
	const char *keywords;      /* space-separated, or NULL */
	time_t internal_date;      /* 0: now */
	const char *from;          /* the sender to record where the format keeps one (hMailServer's
	                              messagefrom: mstore restore passes the archived one); NULL: the
	                              side's default for an appended message */
} ms_append;

/* A flag change: flags (and keywords, space-separated, NULL for none) in
 * `add` are set, then those in `remove` cleared. */
typedef struct ms_flag_change {
	uint32_t uid;
	unsigned add, remove;
	const char *add_keywords, *remove_keywords;
} ms_flag_change;

/* The answer for item `i` of a batch.  `result` is MS_DRV_OK or
 * MS_DRV_MSG_BAD (then `why` says why).  `uid` is the new UID for append
 * (0 without MS_CAP_APPEND_UID), the item's UID otherwise.  `key`, for an
 * append on a side whose listing names messages by key (ms_msg.key: a
 * Maildir's unique name), is the key the new message is listed under, so
 * the engine need not read it again to learn who it is; else NULL.  `why`
 * and `key` belong to the driver. */
typedef void ms_item_cb(void *ctx, size_t i, ms_drv_result result, uint32_t uid, const char *key,
                        const ms_err *why);

/* The bytes of item `i` of a fetch (data NULL and len 0 when result is
 * MS_DRV_MSG_BAD).  The bytes belong to the driver and are valid only
 * during the call: write them out or copy them. */
typedef void ms_fetch_cb(void *ctx, size_t i, ms_drv_result result, const char *data, size_t len,
                         const ms_err *why);

/* ---- the operations table -------------------------------------------------- */

struct ms_side_driver {
	const char *kind;          /* "hmailserver", "maildir", "mbox", "imap": the config's `kind` */

	/* Open a side from its configuration and fill *out (NULL on failure).
	 * MS_DRV_SIDE_BAD when it cannot be opened (a wrong path, an unknown
	 * account, a refused login): the message says which. */
	ms_drv_result (*open)(const ms_side_conf *conf, ms_side **out, ms_err *e);
	/* Close a side whose boxes are all closed; frees it.  NULL is allowed. */
	void (*close)(ms_side *s);

	/* Every box of the side, in no particular order; *out is freed with
	 * ms_box_list_free. */
	ms_drv_result (*list_boxes)(ms_side *s, ms_box_info **out, size_t *n, ms_err *e);
	/* Create the box `name` (levels separated by the side's delim) with
	 * any missing parents.  A box that exists already is MS_DRV_OK. */
	ms_drv_result (*create_box)(ms_side *s, const char *name, ms_err *e);
	/* Delete an empty box without children.  MS_DRV_BOX_BAD when it holds
	 * messages or children or does not exist; INBOX is never deleted. */
	ms_drv_result (*delete_box)(ms_side *s, const char *name, ms_err *e);

	/* Open (select) a box and fill (*out)->status.  MS_DRV_BOX_BAD when it
	 * does not exist or cannot be used (duplicate UIDs, ...). */
	ms_drv_result (*open_box)(ms_side *s, const char *name, ms_box **out, ms_err *e);
	/* Close a box; frees it.  NULL is allowed. */
	void (*close_box)(ms_box *b);

	/* The next page of the box's messages, as `req` says (the engine
	 * pages by passing the last UID it got as the next after_uid).  *n ==
	 * 0 means there are no more.  *out is freed with ms_msg_list_free. */
	ms_drv_result (*list_msgs)(ms_box *b, const ms_list_req *req, ms_msg **out, size_t *n, ms_err *e);
	/* The whole bytes of each message uids[0..n): cb once per item. */
	ms_drv_result (*fetch)(ms_box *b, const uint32_t *uids, size_t n, ms_fetch_cb *cb, void *ctx, ms_err *e);
	/* Add each message to the box with its flags and internal date: cb
	 * once per item, with the new UID.  A box that cannot take them all
	 * (no UIDs left) refuses the whole batch with MS_DRV_BOX_BAD before
	 * writing anything. */
	ms_drv_result (*append)(ms_box *b, const ms_append *msgs, size_t n, ms_item_cb *cb, void *ctx,
	                        ms_err *e);
	/* Change flags: cb once per item.  Flags the side does not keep are
	 * ignored; flags outside MS_FLAGS_ALL that the format keeps (hMailServer's
	 * Recent) are left as they are. */
	ms_drv_result (*set_flags)(ms_box *b, const ms_flag_change *ch, size_t n, ms_item_cb *cb, void *ctx,
	                           ms_err *e);
	/* Remove each message for good (IMAP: \Deleted then UID EXPUNGE of
	 * those UIDs only): cb once per item.  A UID that is not in the box
	 * is MS_DRV_MSG_BAD. */
	ms_drv_result (*expunge)(ms_box *b, const uint32_t *uids, size_t n, ms_item_cb *cb, void *ctx,
	                         ms_err *e);

	/* Optional (NULL: the side skips nothing).  What a local driver
	 * skipped because it can name it neither as a box nor as a message:
	 * with b NULL, what the side's last list_boxes skipped; else what the
	 * box's listing skipped.  The array belongs to the side or box.  The
	 * engine reports each entry, so nothing is left out unsaid. */
	const ms_skipped_entry *(*skipped)(ms_side *s, ms_box *b, size_t *n);
};

/* The driver for a configuration's `kind`, or NULL. */
const ms_side_driver *ms_side_driver_find(const char *kind);

/* The drivers that exist. */
extern const ms_side_driver ms_drv_hmailserver;
extern const ms_side_driver ms_drv_maildir;     /* drv_maildir.c; drv_maildir.h shows what it skips */
extern const ms_side_driver ms_drv_mbox;        /* drv_mbox.c */
extern const ms_side_driver ms_drv_imap;        /* drv_imap.c: an IMAP4rev1 account (src/imap/ below it) */

void ms_box_list_free(ms_box_info *v, size_t n);
void ms_msg_list_free(ms_msg *v, size_t n);

#endif
