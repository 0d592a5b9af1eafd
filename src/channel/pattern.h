/* pattern.h - which folders a store's `pat` selects and the name they
 * are paired by, as mailsync (through c-client's LIST) decides both.
 *
 * A pattern is c-client's LIST pattern: `*` matches any run of
 * characters, the hierarchy delimiter included (so Mail/ then `*` is every
 * folder below Mail at any depth), `%` any run without the delimiter (one
 * level).  Everything else matches itself, case-sensitively, except the
 * name INBOX, which matches in any case as IMAP's INBOX does.
 *
 * The pairing name (mailsync's "boxname") is the folder's name with the
 * store's `prefix` removed when the name starts with the whole prefix
 * (else the name is kept as it is), and the store's delimiter turned into
 * '/', so that two stores with different delimiters pair "Lists.dev" with
 * "Lists/dev".  A name that holds '/' on a store whose delimiter is not
 * '/' cannot be paired (mailsync skips it with an error too).
 */
#ifndef MS_CHANNEL_PATTERN_H
#define MS_CHANNEL_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

/* Does `name` (levels separated by `delim`) match `pat`?  Runs in
 * O(strlen(pat) * strlen(name)), whatever the pattern. */
bool ms_pat_match(const char *pat, const char *name, char delim);

/* Does some name below `dir` (levels separated by `delim`, `dir`
 * without a trailing delimiter, "" for the top) possibly match `pat`?
 * Lets a walk of a folder tree skip the subtrees no name in them could
 * match. */
bool ms_pat_could_match_below(const char *pat, const char *dir, char delim);

typedef enum ms_boxname_result {
	MS_BOXNAME_OK = 0,
	MS_BOXNAME_SLASH,     /* holds '/' on a store whose delimiter is not '/' */
	MS_BOXNAME_TOO_LONG,  /* does not fit `len` */
} ms_boxname_result;

/* The pairing name of `name` (see above) into out[len]. */
ms_boxname_result ms_boxname(const char *name, const char *prefix, char delim, char *out, size_t len);

/* The other way: the store's own name of pairing name `boxname` (prefix
 * added, '/' turned into `delim`) into out[len]; false when too long. */
bool ms_boxname_to_store(const char *boxname, const char *prefix, char delim, char *out, size_t len);

#endif
