/* objects.h - the objects a store holds: domains, domain aliases,
 * accounts (each with its INBOX folder), aliases and distribution lists.
 *
 * Rows are written with every column hMailServer's schema requires, using
 * the values hMailServer's administrator would give a new object, so the
 * server can use them as they are.  Addresses are compared
 * case-insensitively (as the server does) and stored as given, with the
 * domain part in lower case.
 */
#ifndef MS_OBJECTS_H
#define MS_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct ms_domain {
	int64_t id;
	char name[256];
	bool active;
	char postmaster[256];        /* catch-all address; "" if none */
	int64_t max_size_mb;         /* domainmaxsize; 0 = unlimited */
	int64_t max_account_size_mb; /* domainmaxaccountsize */
	bool plus_addressing;
	char plus_char[8];
	int64_t account_count;       /* filled by list */
} ms_domain;

typedef struct ms_account {
	int64_t id;
	int64_t domain_id;
	char address[256];
	bool active;
	int64_t max_size_mb;         /* accountmaxsize; 0 = unlimited */
	int64_t inbox_id;            /* hm_imapfolders.folderid of INBOX; 0 if missing */
} ms_account;

typedef struct ms_alias {
	int64_t id;
	char name[256];
	char value[256];
	bool active;
} ms_alias;

typedef struct ms_dlist {
	int64_t id;
	char address[256];
	bool enabled;
	char **members;
	size_t n_members;
} ms_dlist;

typedef struct ms_domain_alias {
	int64_t id;
	char domain[256];
	char alias[256];
} ms_domain_alias;

/* Split and check an address "local@domain": exactly one '@', both parts
 * non-empty, no whitespace or control characters, at most 255 bytes, the
 * domain as ms_domain_to_ascii makes it.  `local`/`domain` (each >= 256
 * bytes) receive the parts. */
int ms_address_split(const char *address, char *local, char *domain, ms_err *e);
/* Check a domain name by hMailServer's rule (StringParser::IsValidDomainName):
 * an address literal "[1.2.3.4]", or labels of 1-63 ASCII letters, digits
 * and '-', not starting or ending with '-'; at most 80 bytes (the schema's
 * domainname length). */
int ms_domain_name_check(const char *name, ms_err *e);
/* The stored form of a domain name typed by a user: lower case, a Unicode
 * (IDN) name converted to its ACE form "xn--..." (IDNA2008, UTS #46), as
 * hMailServer only accepts that; then checked by ms_domain_name_check. */
int ms_domain_to_ascii(const char *in, char out[256], ms_err *e);
/* An address typed to find an object, in the form it is stored in: the
 * domain of "local@domain" in its ACE form when it is Unicode.  Anything
 * else is copied as typed (a lookup needs no rules, and an old row may
 * break them). */
void ms_address_lookup_form(const char *in, char out[256]);
/* The same for a domain name alone. */
void ms_domain_lookup_form(const char *in, char out[256]);
/* hMailServer's extra rule for account addresses (they name directories):
 * none of / ? * | in the local part, and ':' (Windows); the address checks
 * above already refuse < > \ " and spaces. */
int ms_account_local_check(const char *address, const char *local, ms_err *e);

typedef struct ms_domain_opts {
	bool inactive;
	const char *postmaster;      /* NULL = none */
	int64_t max_size_mb;
	int64_t max_account_size_mb;
	const char *plus_char;       /* NULL = plus addressing off */
} ms_domain_opts;

int ms_domain_add(ms_store *s, const char *name, const ms_domain_opts *o, int64_t *id, ms_err *e);
/* 1 found, 0 not found, -1 error. Matches case-insensitively. */
int ms_domain_find(ms_store *s, const char *name, ms_domain *out, ms_err *e);
int ms_domain_list(ms_store *s, ms_domain **out, size_t *n, ms_err *e);
int ms_domain_alias_add(ms_store *s, const char *domain, const char *alias, ms_err *e);
int ms_domain_alias_list(ms_store *s, ms_domain_alias **out, size_t *n, ms_err *e);

typedef struct ms_account_opts {
	bool inactive;
	int64_t max_size_mb;
} ms_account_opts;

/* Create the account and its INBOX folder in one transaction. */
int ms_account_add(ms_store *s, const char *address, const ms_account_opts *o, int64_t *id, ms_err *e);
/* `domain` NULL = all domains. */
int ms_account_list(ms_store *s, const char *domain, ms_account **out, size_t *n, ms_err *e);

/* An account's password exactly as stored (accountpassword, the hash or
 * the text the server wrote, and accountpwencryption, its kind), so a
 * backup moves it without knowing it.  get: 1 found, 0 no such account. */
int ms_account_password_get(ms_store *s, const char *address, char pw[256], int64_t *encryption, ms_err *e);
/* Set both on an existing account (MS_E_NOTFOUND naming it when there is none). */
int ms_account_password_set(ms_store *s, const char *address, const char *pw, int64_t encryption, ms_err *e);

typedef struct ms_account_deletion {
	int64_t id;
	int64_t messages, folders;
} ms_account_deletion;

/* Remove the account and every row that is its (messages with their
 * recipients and metadata, folders, ACL and group entries, external
 * accounts, rules) in one transaction.  Files are never touched.  With
 * dry_run, only count. */
int ms_account_delete(ms_store *s, const char *address, bool dry_run, ms_account_deletion *out, ms_err *e);

/* Check `in` as the new address of an account now in domain
 * `current_domain`: well formed, its domain exists, the address unused,
 * and (when the domain changes) the new domain's account limit.  Fills
 * the normalized address and its domain id. */
int ms_account_new_address(ms_store *s, const char *in, int64_t current_domain, char addr[256], int64_t *did,
                           ms_err *e);

int ms_alias_add(ms_store *s, const char *name, const char *value, bool inactive, ms_err *e);
int ms_alias_list(ms_store *s, const char *domain, ms_alias **out, size_t *n, ms_err *e);

int ms_dlist_add(ms_store *s, const char *address, bool disabled, ms_err *e);
int ms_dlist_member_add(ms_store *s, const char *list, const char *member, ms_err *e);
int ms_dlist_list(ms_store *s, const char *domain, ms_dlist **out, size_t *n, ms_err *e);
void ms_dlist_free(ms_dlist *v, size_t n);

/* Which kind of object, if any, already uses an address (account, alias
 * or distribution list); writes a word for messages into `kind`. 1 if in
 * use, 0 if free, -1 on error. */
int ms_address_in_use(ms_store *s, const char *address, const char **kind, ms_err *e);

/* What `mstore info` shows: how many domains, domain aliases, accounts,
 * aliases, lists, folders, delivered and queued messages the store holds
 * and the messages' total size, as named values in a fixed order. */
#define MS_STORE_NCOUNTS 9
typedef struct ms_count {
	const char *key;
	int64_t value;
} ms_count;
int ms_store_counts(ms_store *s, ms_count out[MS_STORE_NCOUNTS], ms_err *e);

#endif
