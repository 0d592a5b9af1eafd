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
 *      out).  Recipients are de-duplicated per message by account.
 * As in hMailServer (RecipientParser::CreateMessageRecipientList_):
 *   - 25 levels: the header's address is level 1, and every alias, list
 *     member or catch-all it leads to one more; level 26 is not looked at;
 *   - a plus character at position 0 cuts the whole local part:
 *     "+x@dom" is looked up as "@dom", which is nobody, so it goes to the
 *     catch-all; an empty local part is looked up too ("@dom");
 *   - on a store of hMailServer 5.6 or older (schema version below 5700)
 *     a route whose domain pattern (* and ?, any case) matches the
 *     address's domain, as written before domain aliases, stops the
 *     catch-all: 5.6's parser returns after any matching route, and the
 *     route's own recipient is never local.  5.7 goes on to the
 *     catch-all, so routes change nothing there;
 *   - the recipient's address is the one that found the account, after
 *     domain alias and plus addressing, spelt as that level wrote it
 *     ("Bob+x@Example.COM" gives "Bob@Example.COM"), not the account's.
 */
#ifndef MS_DIRECTORY_H
#define MS_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/err.h"

/* Levels of resolution (hMailServer's lRecurse 1..25). */
#define MS_RESOLVE_MAX_DEPTH 25
/* The first schema version whose recipient parser lets the catch-all
 * apply after a matching route (hMailServer 5.7). */
#define MS_ROUTES_KEEP_CATCH_ALL_VERSION 5700

typedef struct ms_directory ms_directory;

ms_directory *ms_directory_new(void);
void ms_directory_free(ms_directory *d);
/* Load the snapshot from a store's database, whose hm_dbversion is
 * `schema_version` (it decides the route rule above). */
int ms_directory_load(db *conn, int schema_version, ms_directory **out, ms_err *e);

/* Building by hand (tests, and the loader). */
int ms_directory_add_domain(ms_directory *d, int64_t id, const char *name, bool active,
                            const char *catch_all, bool plus_addressing, char plus_char);
int ms_directory_add_domain_alias(ms_directory *d, const char *alias, const char *domain);
int ms_directory_add_account(ms_directory *d, int64_t id, const char *address, bool active);
int ms_directory_add_alias(ms_directory *d, const char *name, const char *value, bool active);
int ms_directory_add_list(ms_directory *d, const char *address, bool enabled);
int ms_directory_add_list_member(ms_directory *d, const char *list, const char *member);
/* A route's domain name (a pattern with * and ?). */
int ms_directory_add_route(ms_directory *d, const char *domain_pattern);
/* The store's schema version; a new directory behaves as 5.7's. */
void ms_directory_set_schema_version(ms_directory *d, int version);

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
	char address[256];   /* hMailServer's recipientaddress: the address that
	                        found the account, after domain alias and plus
	                        addressing, spelt as written */
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
