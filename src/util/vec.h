/* vec.h - one typed growable array for the whole code base.
 *
 *   MS_VEC(rc_uid) uids = { 0 };
 *   if (ms_vec_push(&uids, x) < 0) ...out of memory...
 *   for (size_t i = 0; i < uids.n; i++) use(uids.v[i]);
 *   ms_vec_free(&uids);
 *
 * Growth doubles the capacity (from 16), so n pushes cost O(n).  The
 * element type is the macro's; the growth code is one function.
 */
#ifndef MS_VEC_H
#define MS_VEC_H

#include <stddef.h>
#include <stdlib.h>

#define MS_VEC(T) struct { T *v; size_t n, cap; }

/* Make room for `need` elements of `elem` bytes; 0 or -1 (out of memory,
 * nothing changed). */
int ms_vec_reserve_(void **v, size_t *cap, size_t need, size_t elem);

#define ms_vec_reserve(vec, need) ms_vec_reserve_((void **)&(vec)->v, &(vec)->cap, (need), sizeof *(vec)->v)
#define ms_vec_push(vec, x) \
	(((vec)->n < (vec)->cap || ms_vec_reserve((vec), (vec)->n + 1) == 0) ? ((vec)->v[(vec)->n++] = (x), 0) : -1)
#define ms_vec_free(vec) (free((vec)->v), (vec)->v = NULL, (vec)->n = (vec)->cap = 0)

/* A NULL-terminated list of strings (not copied) that grows without a
 * limit: repeated options, mailbox arguments.  v stays NULL-terminated
 * after every add, so it can be handed on as `const char *const *`. */
typedef MS_VEC(const char *) ms_strlist;
/* Append; -1 when out of memory (the list is unchanged). */
int ms_strlist_add(ms_strlist *l, const char *s);

#endif
