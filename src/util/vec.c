/* vec.c - growth for vec.h. */
#include "util/vec.h"

#include <stdint.h>

int ms_vec_reserve_(void **v, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		return -1;
	void *nv = realloc(*v, ncap * elem);
	if (!nv)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

int ms_strlist_add(ms_strlist *l, const char *s)
{
	if (ms_vec_reserve(l, l->n + 2) < 0)
		return -1;
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
	return 0;
}
