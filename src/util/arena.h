/* arena.h - strings copied into large chunks and freed all at once.
 *
 * For the millions of file paths of a walk: no allocation per string, no
 * per-allocation overhead, one free.  Not thread-safe: callers that share
 * an arena between threads hold their own lock around ms_arena_copy.
 */
#ifndef MS_ARENA_H
#define MS_ARENA_H

#include <stddef.h>

typedef struct ms_arena {
	char **chunks;
	size_t nchunks, chunks_cap;
	size_t used;          /* bytes used in the last chunk */
	size_t bytes;         /* heap bytes held, for the memory figures */
} ms_arena;

#define MS_ARENA_CHUNK ((size_t)1 << 20)

/* Copy `len` bytes of `s` and a NUL; NULL when out of memory or when the
 * string is longer than a chunk. */
char *ms_arena_copy(ms_arena *a, const char *s, size_t len);
void ms_arena_free(ms_arena *a);

#endif
