/* scope.c - see scope.h. */
#include "store/scope.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int ms_shard_of(const char *key, int n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a over the lower-cased key */
	for (const char *p = key; *p; p++) {
		h ^= (unsigned char)tolower((unsigned char)*p);
		h *= 1099511628211ULL;
	}
	return n > 0 ? (int)(h % (uint64_t)n) + 1 : 1;
}

bool ms_shard_parse(const char *s, int *k, int *n)
{
	char extra;
	int kk, nn;
	if (sscanf(s, "%d/%d%c", &kk, &nn, &extra) != 2 || nn < 1 || nn > 100000 || kk < 1 || kk > nn)
		return false;
	*k = kk;
	*n = nn;
	return true;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcasecmp(*list, s) == 0)
			return true;
	return false;
}

bool ms_scope_narrowed(const ms_scope *s)
{
	return (s->domains && s->domains[0]) || (s->accounts && s->accounts[0]);
}

bool ms_scope_has_domain(const ms_scope *s, const char *domain)
{
	return !s->domains || !s->domains[0] || in_list(s->domains, domain);
}

bool ms_scope_has_account(const ms_scope *s, const char *local, const char *domain)
{
	char addr[600];
	snprintf(addr, sizeof addr, "%s@%s", local, domain);
	if (!ms_scope_has_domain(s, domain))
		return false;
	if (s->accounts && s->accounts[0] && !in_list(s->accounts, addr))
		return false;
	return s->shard_n == 0 || ms_shard_of(addr, s->shard_n) == s->shard_k;
}

bool ms_scope_has_queue_file(const ms_scope *s, const char *name)
{
	return s->shard_n == 0 || ms_shard_of(name, s->shard_n) == s->shard_k;
}
