/* arena.c - see arena.h. */
#include "util/arena.h"

#include <stdlib.h>
#include <string.h>

#include "util/vec.h"

char *ms_arena_copy(ms_arena *a, const char *s, size_t len)
{
	if (len + 1 > MS_ARENA_CHUNK)
		return NULL;
	if (a->nchunks == 0 || a->used + len + 1 > MS_ARENA_CHUNK) {
		if (ms_vec_reserve_((void **)&a->chunks, &a->chunks_cap, a->nchunks + 1, sizeof *a->chunks) < 0)
			return NULL;
		if (!(a->chunks[a->nchunks] = malloc(MS_ARENA_CHUNK)))
			return NULL;
		a->nchunks++;
		a->used = 0;
		a->bytes += MS_ARENA_CHUNK;
	}
	char *p = a->chunks[a->nchunks - 1] + a->used;
	memcpy(p, s, len);
	p[len] = '\0';
	a->used += len + 1;
	return p;
}

void ms_arena_free(ms_arena *a)
{
	for (size_t i = 0; i < a->nchunks; i++)
		free(a->chunks[i]);
	free(a->chunks);
	*a = (ms_arena){ 0 };
}
