/* scope.h - which part of a store a command works on.
 *
 * One type for every command that can be narrowed: --domain, --account
 * (or reconstruct's user/ADDRESS mailboxes) and --shard K/N, with one
 * membership test, so that `mstore sync --shard 2/4` and `mstore
 * reconstruct --shard 2/4` always mean the same accounts.
 */
#ifndef MS_STORE_SCOPE_H
#define MS_STORE_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ms_scope {
	const char *const *domains;   /* NULL-terminated, or NULL: every domain */
	const char *const *accounts;  /* NULL-terminated addresses, or NULL: every account */
	int shard_k, shard_n;         /* --shard K/N; shard_n 0: no sharding */
} ms_scope;

/* The shard (1..n) of a key: an address (any case: an account's folder
 * on disk may differ in case from its address) or a queue file's name. */
int ms_shard_of(const char *key, int n);

/* Parse "K/N" with 1 <= K <= N <= 100000; false if it is not that. */
bool ms_shard_parse(const char *s, int *k, int *n);

/* Does the scope name domains or accounts (so the queue and #Public,
 * which belong to no account, are outside it)? */
bool ms_scope_narrowed(const ms_scope *s);

/* Is the account local@domain in scope?  Addresses and domains compare
 * case-insensitively. */
bool ms_scope_has_account(const ms_scope *s, const char *local, const char *domain);

/* Is the domain named by --domain (or no --domain given)? */
bool ms_scope_has_domain(const ms_scope *s, const char *domain);

/* Is a queue file (by name) in this shard? */
bool ms_scope_has_queue_file(const ms_scope *s, const char *name);

#endif
