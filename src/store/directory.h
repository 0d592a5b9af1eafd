/* directory.h - an in-memory snapshot of who exists in a store (domains,
 * domain aliases, accounts, aliases, distribution lists) and the delivery
 * rules that turn a header address into local accounts.
 *
 * `mstore sync` loads it once per run (a few queries) and then resolves
 * every account folder and every To/Cc address of queued files from
 * memory.  The rules are hMailServer's recipient parser as store.md
 * states them:
 *   1. a domain alias is replaced by its primary domain;
 *   2. a local domain: inactive → nothing; plus addressing cuts the local
 *      part at the domain's character; then an account (active → it,
 *      inactive → nothing), an alias (inactive → nothing, else resolve
 *      its value), a distribution list (disabled → nothing, else resolve
 *      every member), else the domain's catch-all address if set;
 *   3. any other domain is external and dropped (sync never sends mail
 *      out).  Recursion stops at depth 25.  Recipients are de-duplicated
 *      per message by account.
 */
#ifndef MS_DIRECTORY_H
#define MS_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/err.h"

#define MS_RESOLVE_MAX_DEPTH 25

typedef struct ms_directory ms_directory;

ms_directory *ms_directory_new(void);
void ms_directory_free(ms_directory *d);
/* Load the snapshot from a store's database. */
int ms_directory_load(db *conn, ms_directory **out, ms_err *e);

/* Building by hand (tests, and the loader). */
int ms_directory_add_domain(ms_directory *d, int64_t id, const char *name, bool active,
                            const char *catch_all, bool plus_addressing, char plus_char);
int ms_directory_add_domain_alias(ms_directory *d, const char *alias, const char *domain);
int ms_directory_add_account(ms_directory *d, int64_t id, const char *address, bool active);
int ms_directory_add_alias(ms_directory *d, const char *name, const char *value, bool active);
int ms_directory_add_list(ms_directory *d, const char *address, bool enabled);
int ms_directory_add_list_member(ms_directory *d, const char *list, const char *member);

typedef struct ms_dir_account {
	int64_t id;
	const char *address;  /* as stored */
	bool active;
} ms_dir_account;

/* The account local@domain (case-insensitive, no alias rules): for
 * account folders on disk. NULL if there is none. */
const ms_dir_account *ms_directory_account(const ms_directory *d, const char *local, const char *domain);
/* Is `domain` (or a domain alias of it) a local domain? */
bool ms_directory_is_local_domain(const ms_directory *d, const char *domain);

typedef struct ms_recipient {
	int64_t account_id;
	char address[256];   /* the account's address */
	char original[256];  /* the address as the header had it */
} ms_recipient;

typedef struct ms_recipients {
	ms_recipient *v;
	size_t n, cap;
} ms_recipients;

/* Resolve one header address and append its local accounts to `out`,
 * skipping accounts already there.  Returns -1 only on out-of-memory. */
int ms_resolve_address(const ms_directory *d, const char *address, ms_recipients *out);
void ms_recipients_free(ms_recipients *r);

#endif
