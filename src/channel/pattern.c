/* pattern.c - c-client's LIST wildcards and mailsync's pairing names
 * (pattern.h). */
#include "channel/pattern.h"

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Does the name begin with the level INBOX (in any case)? */
static bool inbox_level(const char *name, char delim)
{
	return strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == delim);
}

/* The matcher keeps the set of pattern positions reachable after each
 * character of the name (an NFA run): no backtracking, so no pattern can
 * make it slow.  `set` has strlen(pat) + 1 entries. */
static void close_over_wildcards(const char *pat, unsigned char *set, size_t m)
{
	/* a wildcard may match nothing: being before it means being after it */
	for (size_t p = 0; p < m; p++)
		if (set[p] && (pat[p] == '*' || pat[p] == '%'))
			set[p + 1] = 1;
}

static bool run(const char *pat, const char *name, char delim, bool need_end)
{
	size_t m = strlen(pat), n = strlen(name);
	unsigned char *set = calloc(m + 1, 1), *next = calloc(m + 1, 1);
	if (!set || !next) {
		free(set);
		free(next);
		return false; /* out of memory: no match, the folder is not selected */
	}
	bool ci = inbox_level(name, delim);
	set[0] = 1;
	close_over_wildcards(pat, set, m);
	bool any = true;
	for (size_t i = 0; i < n && any; i++) {
		char c = name[i];
		memset(next, 0, m + 1);
		any = false;
		for (size_t p = 0; p < m; p++) {
			if (!set[p])
				continue;
			if (pat[p] == '*' || (pat[p] == '%' && c != delim))
				next[p] = 1;
			else if (pat[p] == c || (ci && i < 5 && tolower((unsigned char)pat[p]) == tolower((unsigned char)c)))
				next[p + 1] = 1;
		}
		close_over_wildcards(pat, next, m);
		for (size_t p = 0; p <= m; p++)
			any |= next[p] != 0;
		unsigned char *t = set;
		set = next;
		next = t;
	}
	bool r = need_end ? (any && set[m]) : any;
	free(set);
	free(next);
	return r;
}

bool ms_pat_match(const char *pat, const char *name, char delim)
{
	assert(pat && name);
	return run(pat, name, delim, true);
}

bool ms_pat_could_match_below(const char *pat, const char *dir, char delim)
{
	assert(pat && dir);
	if (!*dir)
		return true;
	size_t n = strlen(dir);
	char *d = malloc(n + 2);
	if (!d)
		return true; /* out of memory: look, rather than miss a folder */
	memcpy(d, dir, n);
	d[n] = delim;
	d[n + 1] = '\0';
	bool r = run(pat, d, delim, false);
	free(d);
	return r;
}

ms_boxname_result ms_boxname(const char *name, const char *prefix, char delim, char *out, size_t len)
{
	assert(name && out && len > 0);
	size_t pl = prefix ? strlen(prefix) : 0;
	if (pl && strncmp(name, prefix, pl) == 0)
		name += pl; /* only the whole prefix is removed, as mailsync's mm_list does */
	size_t n = strlen(name);
	if (n >= len)
		return MS_BOXNAME_TOO_LONG;
	for (size_t i = 0; i < n; i++) {
		if (delim != '/' && name[i] == '/')
			return MS_BOXNAME_SLASH;
		out[i] = name[i] == delim ? '/' : name[i];
	}
	out[n] = '\0';
	return MS_BOXNAME_OK;
}

bool ms_boxname_to_store(const char *boxname, const char *prefix, char delim, char *out, size_t len)
{
	assert(boxname && out && len > 0);
	size_t pl = prefix ? strlen(prefix) : 0, n = strlen(boxname);
	if (pl + n >= len)
		return false;
	if (pl)
		memcpy(out, prefix, pl);
	for (size_t i = 0; i < n; i++)
		out[pl + i] = boxname[i] == '/' ? delim : boxname[i];
	out[pl + n] = '\0';
	return true;
}
