/* walk.h - the parallel walk of an hMailServer data directory.
 *
 * The walk visits the data directory root (the delivery queue), `#Public`
 * and every `<domain>/<localpart>/` tree, with several threads, and hands
 * every entry that matters to a callback, classified by where it is.  It
 * reads directories with readdir's d_type and never calls stat for the
 * normal case, so walking a store costs about what `find` costs.
 *
 * Safety: directories are opened relative to their parent with
 * O_NOFOLLOW, so a symlink is never followed (in or out of the data
 * directory) and no loop can be entered; a directory seen twice (bind
 * mounts) is reported once and skipped.  Unreadable directories and other
 * errors are reported through the callback and the walk goes on.
 */
#ifndef MS_WALK_H
#define MS_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef enum {
	WALK_QUEUE,    /* directly in the data directory root */
	WALK_ACCOUNT,  /* below <domain>/<localpart>/ */
	WALK_PUBLIC,   /* below #Public/ */
	WALK_OTHER,    /* anywhere else (e.g. directly in a domain folder) */
} walk_place;

typedef enum {
	WALK_MESSAGE,     /* a regular file named *.eml or *.hma (any case) */
	WALK_IGNORED,     /* any other regular file */
	WALK_NOT_REGULAR, /* named like a message but a directory, FIFO, socket, device */
	WALK_SYMLINK,     /* a symbolic link: never followed */
	WALK_ERROR,       /* a directory or entry that could not be read; `error` says why */
} walk_kind;

typedef struct walk_entry {
	walk_kind kind;
	walk_place place;
	const char *relpath;  /* relative to the data directory, '/'-separated */
	const char *name;     /* the last component of relpath */
	const char *domain;   /* WALK_ACCOUNT: the domain folder name as on disk */
	const char *local;    /* WALK_ACCOUNT: the account folder name */
	/* WALK_ACCOUNT: directories between the account folder and the file
	 * (1 for the canonical <XX>/ level). */
	int depth;
	int dirfd;            /* the containing directory, valid during the callback */
	const char *error;    /* WALK_ERROR: strerror text */
} walk_entry;

/* The folder in the data directory root where mstore keeps its own state
 * (rename journals); the walk never enters it. */
#define MS_WALK_PRIVATE_DIR ".mstore"

/* Which account trees to enter: return false to skip the tree of
 * `domain`/`local` (both as on disk).  NULL = all. */
typedef bool (*walk_filter_fn)(void *ctx, const char *domain, const char *local);
/* Called from the walker threads, concurrently: must be thread-safe. */
typedef void (*walk_entry_fn)(void *ctx, const walk_entry *e);

typedef struct walk_opts {
	int threads;           /* 0 = number of CPUs */
	bool queue;            /* visit files in the root */
	bool accounts;         /* visit <domain>/<local>/ trees */
	bool public_folder;    /* visit #Public */
	walk_filter_fn filter;
	walk_entry_fn on_entry;
	void *ctx;
} walk_opts;

typedef struct walk_stats {
	uint64_t dirs;
	uint64_t entries;
} walk_stats;

/* Walk `data_dir`.  Returns -1 only if the data directory itself cannot
 * be opened; everything below it is reported through on_entry. */
int ms_walk(const char *data_dir, const walk_opts *o, walk_stats *stats, ms_err *e);

/* Open `relpath` beneath the directory `root_fd` without following any
 * symlink on the way (openat2 RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH where the
 * kernel has it, else O_NOFOLLOW on the last component).  `flags` as for
 * open(2); O_CLOEXEC and O_NOFOLLOW are added. */
int ms_open_beneath(int root_fd, const char *relpath, int flags);

/* True if `name` ends in .eml or .hma, any case. */
bool ms_walk_is_message_name(const char *name);

#endif
