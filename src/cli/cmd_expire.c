/* mstore expire --rules FILE: imexpire's rules on the hMailServer store.
 *
 * The rules file (its syntax is in help_expire below) is read whole and
 * checked first: any error names FILE:LINE and nothing is touched.  Then
 * every folder of every account in scope (and #Public, when the scope is
 * not narrowed) whose name matches a rule has its messages listed and
 * judged; the expired ones are taken out in batches, each batch journaled
 * by store/trash.h: the intent written and synced, the rows deleted in one
 * transaction, then the files moved into DATA/.mstore/trash/DAY/.  A kill
 * anywhere leaves an intent the next expire (or purge, folder delete, ...)
 * completes through ms_trash_recover, run before anything else.
 *
 * Decisions the seed leaves open, with the reason:
 * - Criteria (messagedays, messagecount, messagesize, header.*) combine
 *   with `criteria: or` (the default: imexpire expires a message when any
 *   limit is passed) or `and`; `seen` and `deleted` then join that result
 *   with their own `and` / `or`, in that order (imexpire's meaning).
 * - messagecount keeps the newest N messages by internal date (UID for
 *   equal dates): "the folder holds at most N" is about recent mail.
 * - A message expired by several rules is counted for the first (file
 *   order), so the per-rule counts add up to the total.
 * - `exclusive: yes`: a folder matched by an exclusive rule is judged by
 *   the first such rule alone, the others are ignored for it (imexpire).
 * - Folder names are "user/ADDRESS/A/B" and "#Public/A/B" whatever the
 *   server's hierarchy delimiter, so one rules file fits every server.
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "db/txn.h"
#include "store/browse.h"
#include "store/layout.h"
#include "store/mboxlock.h"
#include "store/messages.h"
#include "store/objects.h"
#include "store/scope.h"
#include "store/sql.h"
#include "store/trash.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/testhook.h"

const char help_expire[] =
	"usage: mstore expire --rules FILE [-n] [-v] [--json] [--domain D]... [--account A]...\n"
	"                     [--shard K/N] [--batch N] [--now EPOCH] [--lock-wait SECS]\n\n"
	"Remove the messages that expiry rules select, as imexpire does: their rows are\n"
	"deleted (with recipients and metadata) and their files moved to the trash,\n"
	"DATA/.mstore/trash/DAY/ (see 'mstore help purge'); no file is deleted.\n\n"
	"The rules file has one 'RULE.ATTRIBUTE: VALUE' a line ('#' starts a comment\n"
	"line); RULE is a name of letters, digits, '_' and '-':\n\n"
	"  trash.folderpattern: ^user/[^/]+/(Trash|Deleted Items)$\n"
	"  trash.messagedays: 30\n"
	"  big.folderpattern: ^user/.*@example\\.com/INBOX$\n"
	"  big.messagesize: 10000000\n"
	"  big.messagesizedays: 7\n"
	"  big.seen: and\n"
	"  lists.folderpattern: ^#Public/lists/\n"
	"  lists.messagecount: 1000\n"
	"  lists.header.Subject: ^\\[(announce|digest)\\]\n"
	"  lists.exclusive: yes\n\n"
	"folderpattern    POSIX extended regex over the folder's name, user/ADDRESS/F/SUB or\n"
	"                 #Public/F/SUB (levels always separated by '/'); required\n"
	"messagedays      older than N days (internal date)\n"
	"messagecount     beyond the newest N messages of the folder\n"
	"messagesize      larger than N bytes, and older than messagesizedays N (default 0)\n"
	"header.FIELD     the FIELD header's unfolded value matches the regex (case-insensitive)\n"
	"criteria         and | or: how the criteria above combine (default or)\n"
	"seen, deleted    and | or: the result is joined with the \\Seen (\\Deleted) flag:\n"
	"                 'seen: and' expires only seen messages the criteria select,\n"
	"                 'seen: or' also every seen message\n"
	"exclusive        yes | no: a folder this rule matches is judged by it alone\n\n"
	"A rule needs a folderpattern and at least one criterion, seen or deleted.  A\n"
	"message selected by several rules counts for the first.  Any error in the file\n"
	"(an unknown attribute, a value that is not a number, a regex that does not\n"
	"compile) is reported as FILE:LINE and nothing is changed (exit 2).\n\n"
	"-n, --dry-run   decide and list, change nothing (the database opened read-only)\n"
	"-v              one line per expired message: MAILBOX UID SIZE DATE RULE\n"
	"--json          the summary, per rule, and (with -n or -v) the messages as JSON\n"
	"--domain D, --account ADDRESS, --shard K/N   the accounts to walk (repeatable);\n"
	"                 with --domain or --account, #Public is left out; an unknown\n"
	"                 domain or account is refused (exit 2)\n"
	"--batch N       messages per journaled batch (default 500)\n"
	"--now EPOCH     judge ages as if it were then (for tests and reruns)\n"
	"--lock-wait SECS  wait up to SECS seconds for a folder under `mstore folder lock`\n"
	"                 (default 0: it is left for the next run); before waiting, the\n"
	"                 batch is flushed and every other folder's lock let go, so the\n"
	"                 wait holds nothing a `folder lock` could be waiting for\n\n"
	"A line per rule: 'rule NAME: N message(s), B bytes in F folder(s)', then the\n"
	"total.  A folder under `mstore folder lock` is not judged: it is named on\n"
	"stderr and left for the next run (exit 1; --lock-wait waits for it); the\n"
	"folders being expired keep `folder lock` waiting until their batch is done.\n"
	"Exit 0 done, 1 something failed or was locked (named on stderr), 2 bad\n"
	"arguments or rules file.\n";

/* --- rules ------------------------------------------------------------ */

enum join { J_NONE, J_AND, J_OR };

/* A folder's applicable rules fit a fixed array; 64 is far beyond any
 * real policy (imexpire's examples have a handful). */
#define MAX_RULES 64

typedef struct hdr_match {
	char *field;
	regex_t re;
} hdr_match;

typedef struct rule {
	char name[64];
	int line;                  /* where it was first named */
	char *pattern;             /* as written, for the report */
	regex_t folder_re;
	bool have_pattern, exclusive;
	long long days, count, size, size_days; /* -1: not given */
	enum join criteria, seen, deleted;
	MS_VEC(hdr_match) headers;
	char days_cut[32], size_cut[32]; /* messagedays' and messagesizedays' cut as server time, set per run */
	/* results */
	size_t messages, folders;
	uint64_t bytes;
} rule;

typedef MS_VEC(rule) rule_vec;

static void rules_free(rule_vec *rv)
{
	for (size_t k = 0; k < rv->n; k++) {
		rule *r = &rv->v[k];
		if (r->have_pattern)
			regfree(&r->folder_re);
		free(r->pattern);
		for (size_t h = 0; h < r->headers.n; h++) {
			regfree(&r->headers.v[h].re);
			free(r->headers.v[h].field);
		}
		ms_vec_free(&r->headers);
	}
	ms_vec_free(rv);
}

static rule *rule_named(rule_vec *rv, const char *name, size_t len, int line)
{
	for (size_t k = 0; k < rv->n; k++)
		if (strlen(rv->v[k].name) == len && memcmp(rv->v[k].name, name, len) == 0)
			return &rv->v[k];
	rule r = { .line = line, .days = -1, .count = -1, .size = -1, .size_days = -1 };
	memcpy(r.name, name, len);
	if (ms_vec_push(rv, r) < 0)
		return NULL;
	return &rv->v[rv->n - 1];
}

static bool parse_num(const char *v, long long *out)
{
	return cli_parse_count(v, out) && *out <= 1000000000000LL;
}

static int parse_join(const char *v, enum join *out)
{
	if (strcasecmp(v, "and") == 0)
		*out = J_AND;
	else if (strcasecmp(v, "or") == 0)
		*out = J_OR;
	else
		return -1;
	return 0;
}

static int compile(regex_t *re, const char *v, int flags, char *why, size_t len)
{
	int rc = regcomp(re, v, REG_EXTENDED | REG_NOSUB | flags);
	if (rc != 0) {
		char msg[200];
		regerror(rc, re, msg, sizeof msg);
		snprintf(why, len, "the regex '%s' does not compile: %s", v, msg);
		return -1;
	}
	return 0;
}

/* One "RULE.ATTRIBUTE: VALUE" line; false with the reason in why. */
static bool rule_line(rule_vec *rv, char *line, int lineno, char *why, size_t len)
{
	char *colon = strchr(line, ':');
	char *dot = strchr(line, '.');
	if (!colon || !dot || dot > colon) {
		snprintf(why, len, "expected 'RULE.ATTRIBUTE: VALUE'");
		return false;
	}
	size_t nlen = (size_t)(dot - line);
	for (size_t k = 0; k < nlen; k++)
		if (!isalnum((unsigned char)line[k]) && line[k] != '_' && line[k] != '-') {
			snprintf(why, len, "a rule name is letters, digits, '_' and '-'");
			return false;
		}
	if (nlen == 0 || nlen >= sizeof((rule *)0)->name) {
		snprintf(why, len, "a rule name is 1 to 63 characters");
		return false;
	}
	*colon = '\0';
	char *attr = dot + 1, *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r'))
		v[--vl] = '\0';
	rule *r = rule_named(rv, line, nlen, lineno);
	if (!r) {
		snprintf(why, len, "out of memory");
		return false;
	}
	if (!*v) {
		snprintf(why, len, "'%s' has no value", attr);
		return false;
	}
	long long *num = strcasecmp(attr, "messagedays") == 0       ? &r->days
	                 : strcasecmp(attr, "messagecount") == 0    ? &r->count
	                 : strcasecmp(attr, "messagesize") == 0     ? &r->size
	                 : strcasecmp(attr, "messagesizedays") == 0 ? &r->size_days
	                                                            : NULL;
	if (num) {
		if (!parse_num(v, num)) {
			snprintf(why, len, "%s wants a whole number, not '%s'", attr, v);
			return false;
		}
		return true;
	}
	enum join *j = strcasecmp(attr, "seen") == 0       ? &r->seen
	               : strcasecmp(attr, "deleted") == 0  ? &r->deleted
	               : strcasecmp(attr, "criteria") == 0 ? &r->criteria
	                                                   : NULL;
	if (j) {
		if (parse_join(v, j) < 0) {
			snprintf(why, len, "%s wants 'and' or 'or', not '%s'", attr, v);
			return false;
		}
		return true;
	}
	if (strcasecmp(attr, "exclusive") == 0) {
		bool yes = strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0;
		bool no = strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0;
		if (!yes && !no) {
			snprintf(why, len, "exclusive wants yes or no, not '%s'", v);
			return false;
		}
		r->exclusive = yes;
		return true;
	}
	if (strcasecmp(attr, "folderpattern") == 0) {
		if (r->have_pattern) {
			snprintf(why, len, "rule %s has a folderpattern already", r->name);
			return false;
		}
		if (compile(&r->folder_re, v, 0, why, len) < 0)
			return false;
		r->have_pattern = true;
		r->pattern = strdup(v);
		return r->pattern != NULL;
	}
	if (strncasecmp(attr, "header.", 7) == 0 && attr[7]) {
		hdr_match h = { .field = strdup(attr + 7) };
		if (!h.field || compile(&h.re, v, REG_ICASE, why, len) < 0) {
			free(h.field);
			return false;
		}
		if (ms_vec_push(&r->headers, h) < 0) {
			regfree(&h.re);
			free(h.field);
			snprintf(why, len, "out of memory");
			return false;
		}
		return true;
	}
	snprintf(why, len, "unknown attribute '%s' (folderpattern, messagedays, messagecount, messagesize, "
	         "messagesizedays, seen, deleted, header.FIELD, criteria, exclusive)", attr);
	return false;
}

static bool has_criteria(const rule *r)
{
	return r->days >= 0 || r->count >= 0 || r->size >= 0 || r->headers.n > 0;
}

/* Read and check the whole file; an error is FILE:LINE: WHY. */
static int rules_read(const char *path, rule_vec *rv, ms_err *e)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return ms_err_set(e, errno == ENOENT ? MS_E_USAGE : MS_E_IO, "cannot read rules file %s: %s", path,
		                  strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	ssize_t got;
	char why[400];
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) { /* fopen takes one; reading it fails */
		fclose(f);
		return ms_err_set(e, MS_E_USAGE, "cannot read rules file %s: %s", path, strerror(EISDIR));
	}
	while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (got && line[got - 1] == '\n')
			line[--got] = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || *p == '\r')
			continue;
		if (!rule_line(rv, p, lineno, why, sizeof why))
			rc = ms_err_set(e, MS_E_USAGE, "%s:%d: %s", path, lineno, why);
	}
	free(line);
	if (rc == 0 && ferror(f)) {
		int err = errno;
		fclose(f);
		return ms_err_set(e, MS_E_IO, "cannot read rules file %s: %s", path, strerror(err));
	}
	fclose(f);
	if (rc < 0)
		return -1;
	for (size_t k = 0; k < rv->n; k++) {
		const rule *r = &rv->v[k];
		if (!r->have_pattern)
			return ms_err_set(e, MS_E_USAGE, "%s:%d: rule %s has no folderpattern", path, r->line, r->name);
		if (!has_criteria(r) && r->seen == J_NONE && r->deleted == J_NONE)
			return ms_err_set(e, MS_E_USAGE,
			                  "%s:%d: rule %s selects nothing: give messagedays, messagecount, messagesize, "
			                  "header.FIELD, seen or deleted", path, r->line, r->name);
		if (r->size_days >= 0 && r->size < 0)
			return ms_err_set(e, MS_E_USAGE, "%s:%d: rule %s has messagesizedays without messagesize", path,
			                  r->line, r->name);
	}
	if (rv->n == 0)
		return ms_err_set(e, MS_E_USAGE, "%s: no rules", path);
	if (rv->n > MAX_RULES)
		return ms_err_set(e, MS_E_USAGE, "%s:%d: rule %s is one too many: at most %d rules", path,
		                  rv->v[MAX_RULES].line, rv->v[MAX_RULES].name, MAX_RULES);
	return 0;
}

/* --- judging ------------------------------------------------------------ */

typedef struct expire_opts {
	const char *rules;
	bool dry_run;
	int verbose;
	ms_strlist domains, accounts;
	ms_scope scope;
	long long batch, now, lock_wait;
	const char *bad;
	bool oom;
} expire_opts;

/* One expired message on its way out. */
typedef struct victim {
	int64_t id, uid, size;
	size_t rule;
	char created[20];
	char *relpath;     /* canonical path below DATA */
	char *mailbox;     /* for the listing */
} victim;

typedef struct run {
	expire_opts *o;
	ms_store *s;
	rule_vec rules;
	MS_VEC(victim) batch;
	MS_VEC(ms_mbox_lock *) locks; /* the folders judged since the last release (shared) */
	ms_trash *trash;   /* the run's one intent, from its first batch to its end */
	cli_ctx *ctx;
	ms_json *j;        /* the message listing, when JSON */
	size_t messages, moved, missing, failed, locked;
	uint64_t bytes;
	time_t now;
} run;

/* Is the message's FIELD header (unfolded) matched by re?  A file that
 * cannot be read matches nothing: expire never guesses. */
static bool header_matches(const char *path, const hdr_match *h)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	static char buf[65536 + 1];
	size_t n = 0;
	ssize_t got;
	while (n < sizeof buf - 1 && (got = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
		n += (size_t)got;
	close(fd);
	buf[n] = '\0';
	/* the header ends at the first empty line */
	char *end = strstr(buf, "\n\n"), *end2 = strstr(buf, "\r\n\r\n");
	if (end2 && (!end || end2 < end))
		end = end2;
	if (end)
		*end = '\0';
	size_t flen = strlen(h->field);
	bool hit = false;
	for (char *p = buf; p && *p && !hit;) {
		char *next = strchr(p, '\n');
		if (strncasecmp(p, h->field, flen) == 0 && p[flen] == ':') {
			/* the value with its continuation lines joined by one space */
			char value[8192];
			size_t vl = 0;
			for (char *q = p + flen + 1;; q = next + 1, next = strchr(q, '\n')) {
				size_t l = next ? (size_t)(next - q) : strlen(q);
				while (l && (q[l - 1] == '\r'))
					l--;
				while (l && (*q == ' ' || *q == '\t'))
					q++, l--;
				if (vl && vl < sizeof value - 1)
					value[vl++] = ' ';
				if (l > sizeof value - 1 - vl)
					l = sizeof value - 1 - vl;
				memcpy(value + vl, q, l);
				vl += l;
				if (!next || (next[1] != ' ' && next[1] != '\t'))
					break;
			}
			value[vl] = '\0';
			hit = regexec(&h->re, value, 0, NULL, 0) == 0;
		}
		p = next ? next + 1 : NULL;
	}
	return hit;
}

static void cutoff(time_t now, long long days, char out[32])
{
	ms_sql_time(now - (time_t)days * 86400, out);
}

static enum join combine(enum join have, bool *acc, bool value, enum join how)
{
	if (have == J_NONE)
		*acc = value;
	else
		*acc = how == J_AND ? (*acc && value) : (*acc || value);
	return J_AND; /* "have a value" */
}

/* Does rule r expire message m (whose rank among the folder's messages,
 * newest first, is `rank`)? */
static bool rule_expires(const rule *r, const ms_msg_row *m, size_t rank, const char *path)
{
	bool acc = false;
	enum join have = J_NONE, how = r->criteria == J_AND ? J_AND : J_OR;
	if (r->days >= 0)
		have = combine(have, &acc, strcmp(m->created, r->days_cut) < 0, how);
	if (r->count >= 0)
		have = combine(have, &acc, rank >= (size_t)r->count, how);
	if (r->size >= 0)
		have = combine(have, &acc, m->size > r->size && (r->size_days <= 0 || strcmp(m->created, r->size_cut) < 0),
		               how);
	for (size_t h = 0; h < r->headers.n; h++) {
		/* read the file only when it can still change the answer */
		if (have != J_NONE && ((how == J_AND && !acc) || (how == J_OR && acc)))
			break;
		have = combine(have, &acc, path && header_matches(path, &r->headers.v[h]), how);
	}
	if (r->seen != J_NONE)
		have = combine(have, &acc, (m->flags & MS_MSGFLAG_SEEN) != 0, r->seen);
	if (r->deleted != J_NONE)
		have = combine(have, &acc, (m->flags & MS_MSGFLAG_DELETED) != 0, r->deleted);
	return have != J_NONE && acc;
}

/* --- taking messages out -------------------------------------------------- */

static void victims_free(run *rn)
{
	for (size_t k = 0; k < rn->batch.n; k++) {
		free(rn->batch.v[k].relpath);
		free(rn->batch.v[k].mailbox);
	}
	rn->batch.n = 0;
}

static void list_victim(run *rn, const victim *v)
{
	if (!(rn->o->dry_run || rn->o->verbose))
		return;
	const char *rname = rn->rules.v[v->rule].name;
	if (rn->j) {
		ms_json_begin_object(rn->j);
		ms_json_kv_string(rn->j, "mailbox", v->mailbox);
		ms_json_kv_int(rn->j, "uid", v->uid);
		ms_json_kv_int(rn->j, "size", v->size);
		ms_json_kv_string(rn->j, "date", v->created);
		ms_json_kv_string(rn->j, "rule", rname);
		ms_json_kv_string(rn->j, "file", v->relpath);
		ms_json_end_object(rn->j);
		return;
	}
	ms_escape_put(stdout, v->mailbox);
	printf("\t%lld\t%lld\t%s\t%s\n", (long long)v->uid, (long long)v->size, v->created, rname);
}

/* One journaled batch: intent, rows, files (store/trash.h's protocol);
 * their directories are synced once, at the end of the walk. */
static int flush(run *rn, ms_err *e)
{
	if (rn->batch.n == 0 || rn->o->dry_run) {
		victims_free(rn);
		return 0;
	}
	/* the intent, the rows, the files: store/trash.h's protocol */
	ms_trash_victim *tv = malloc(rn->batch.n * sizeof *tv);
	if (!tv) {
		rn->failed += rn->batch.n;
		victims_free(rn);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	for (size_t k = 0; k < rn->batch.n; k++)
		tv[k] = (ms_trash_victim){ rn->batch.v[k].id, rn->batch.v[k].relpath };
	int rc = rn->trash ? 0 : ms_trash_begin(rn->s->data_dir, &rn->trash, e);
	if (rc == 0)
		rc = ms_trash_rows(rn->trash, rn->s->db, tv, rn->batch.n, "expire", e);
	free(tv);
	if (rc < 0)
		rn->failed += rn->batch.n;
	victims_free(rn);
	return rc;
}

/* --- walking the store ---------------------------------------------------- */

/* Where an account's files are: "<domain>/<local>" as spelt on disk (an
 * existing directory in any case, else the address's own spelling). */
static void owner_dir(const char *data, const char *address, char *out, size_t len)
{
	const char *at = strrchr(address, '@');
	char local[256], domain[256];
	snprintf(local, sizeof local, "%.*s", at ? (int)(at - address) : 0, address);
	snprintf(domain, sizeof domain, "%s", at ? at + 1 : address);
	char *parts[2] = { domain, local };
	char base[PATH_MAX];
	snprintf(base, sizeof base, "%s", data);
	for (int k = 0; k < 2; k++) {
		DIR *d = opendir(base);
		for (struct dirent *de; d && (de = readdir(d)) != NULL;)
			if (strcasecmp(de->d_name, parts[k]) == 0) {
				snprintf(parts[k], 256, "%s", de->d_name);
				break;
			}
		if (d)
			closedir(d);
		size_t bl = strlen(base);
		snprintf(base + bl, sizeof base - bl, "/%s", parts[k]);
	}
	snprintf(out, len, "%s/%s", domain, local);
}

typedef struct folder_path {
	int64_t id;
	char name[1100];
} folder_path;

/* The account's folders with their '/'-separated names below `prefix`. */
static int folder_paths(run *rn, int64_t account, const char *prefix, folder_path **out, size_t *n, ms_err *e)
{
	ms_folder_row *f;
	size_t nf;
	if (ms_browse_folders(rn->s->db, account, &f, &nf, e) < 0)
		return -1;
	folder_path *v = calloc(nf ? nf : 1, sizeof *v);
	if (!v) {
		ms_browse_folders_free(f, nf);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	for (size_t k = 0; k < nf; k++) {
		/* a broken tree (reconstruct's folder-parent finding) is named by
		 * the levels that are left */
		char path[800]; /* + "user/ADDRESS/" fits folder_path's name */
		ms_browse_folder_path(f, nf, &f[k], '/', true, path, sizeof path);
		v[k].id = f[k].id;
		snprintf(v[k].name, sizeof v[k].name, "%s/%s", prefix, path);
	}
	ms_browse_folders_free(f, nf);
	*out = v;
	*n = nf;
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	const ms_msg_row *x = *(const ms_msg_row *const *)a, *y = *(const ms_msg_row *const *)b;
	int c = strcmp(y->created, x->created);
	return c ? c : (y->uid > x->uid) - (y->uid < x->uid);
}

/* Judge one folder's messages by the rules that apply to it. */
static int judge_folder(run *rn, int64_t account, const folder_path *fp, const char *owner, ms_place place,
                        const size_t *applies, size_t napplies, ms_err *e)
{
	ms_msg_row *m;
	size_t n;
	if (ms_browse_messages_unordered(rn->s->db, account, fp->id, &m, &n, e) < 0)
		return -1;
	const ms_msg_row **order = malloc((n ? n : 1) * sizeof *order);
	if (!order) {
		ms_browse_messages_free(m, n);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	for (size_t k = 0; k < n; k++)
		order[k] = &m[k];
	qsort(order, n, sizeof *order, newest_first);
	bool counted[MAX_RULES] = { 0 }, needs_file = false;
	for (size_t a = 0; a < napplies; a++)
		needs_file |= rn->rules.v[applies[a]].headers.n > 0;
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		const ms_msg_row *msg = order[k];
		char rel[PATH_MAX], full[PATH_MAX * 2];
		/* the paths only for header rules and victims: not per message */
		bool have_rel = false;
		if (needs_file) {
			if (!(have_rel = ms_layout_path(place, owner, ms_layout_base_name(msg->filename), rel, sizeof rel)))
				continue;
			snprintf(full, sizeof full, "%s/%s", rn->s->data_dir, rel);
		}
		for (size_t a = 0; a < napplies; a++) {
			rule *r = &rn->rules.v[applies[a]];
			if (!rule_expires(r, msg, k, needs_file ? full : NULL))
				continue;
			if (!have_rel && !ms_layout_path(place, owner, ms_layout_base_name(msg->filename), rel, sizeof rel))
				break; /* a name too long for a path: never a file mstore could move */
			victim v = { .id = msg->id, .uid = msg->uid, .size = msg->size, .rule = applies[a],
			             .relpath = strdup(rel), .mailbox = strdup(fp->name) };
			memcpy(v.created, msg->created, sizeof v.created);
			if (!v.relpath || !v.mailbox || ms_vec_push(&rn->batch, v) < 0) {
				free(v.relpath);
				free(v.mailbox);
				rc = ms_err_set(e, MS_E_NOMEM, "out of memory");
				break;
			}
			r->messages++;
			r->bytes += (uint64_t)msg->size;
			if (!counted[a]) {
				counted[a] = true;
				r->folders++;
			}
			rn->messages++;
			rn->bytes += (uint64_t)msg->size;
			list_victim(rn, &v);
			if (rn->batch.n >= (size_t)rn->o->batch && flush(rn, e) < 0)
				rc = -1;
			break; /* counted for the first rule that expires it */
		}
	}
	free(order);
	ms_browse_messages_free(m, n);
	return rc;
}

/* The rules that apply to a folder: the first exclusive one that matches
 * alone, else every matching one. */
static size_t rules_for(const run *rn, const char *name, size_t *applies)
{
	size_t n = 0;
	for (size_t k = 0; k < rn->rules.n; k++) {
		const rule *r = &rn->rules.v[k];
		if (regexec(&r->folder_re, name, 0, NULL, 0) != 0)
			continue;
		if (r->exclusive) {
			applies[0] = k;
			return 1;
		}
		applies[n++] = k;
	}
	return n;
}

static void release_locks(run *rn)
{
	for (size_t k = 0; k < rn->locks.n; k++)
		ms_mbox_lock_release(rn->locks.v[k]);
	rn->locks.n = 0;
}

/* Flush the batch, then let go of the folders' locks: their victims are
 * out of the database by then. */
static int flush_and_release(run *rn, ms_err *e)
{
	int rc = flush(rn, e);
	release_locks(rn);
	return rc;
}

/* A writer's half of mboxlock.h: a shared lock on the folder, taken before
 * any row lock and held until its victims are flushed.  With --lock-wait a
 * locked folder is waited for, holding nothing: `folder lock` takes a
 * tree's folders one by one and may hold one expire has judged while it
 * waits for another this run holds.  1 locked by `folder lock` (the folder
 * is left for the next run), 0 taken, -1 error. */
static int lock_folder(run *rn, const folder_path *fp, ms_err *e)
{
	ms_mbox_lock *l;
	ms_err why = { 0 };
	if (rn->o->dry_run)
		return 0;
	int rc = ms_mbox_lock_take(rn->s->data_dir, fp->id, false, 0, &l, &why);
	if (rc < 0 && why.code == MS_E_LIMIT && rn->o->lock_wait > 0) {
		if (flush_and_release(rn, e) < 0)
			return -1;
		why = (ms_err){ 0 };
		rc = ms_mbox_lock_take(rn->s->data_dir, fp->id, false, (int)rn->o->lock_wait * 1000, &l, &why);
	}
	if (rc < 0) {
		if (why.code != MS_E_LIMIT)
			return *e = why, -1;
		fputs("mstore expire: ", stderr);
		ms_escape_put(stderr, fp->name);
		fputs(" is locked by `mstore folder lock`; left for the next run\n", stderr);
		rn->locked++;
		return 1;
	}
	if (ms_vec_push(&rn->locks, l) < 0) {
		ms_mbox_lock_release(l);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	return 0;
}

static int walk_owner(run *rn, int64_t account, const char *prefix, const char *owner, ms_place place, ms_err *e)
{
	folder_path *fp = NULL;
	size_t nf = 0;
	if (folder_paths(rn, account, prefix, &fp, &nf, e) < 0)
		return -1;
	int rc = 0;
	for (size_t k = 0; k < nf && rc == 0; k++) {
		size_t applies[MAX_RULES];
		size_t na = rules_for(rn, fp[k].name, applies);
		if (na == 0 || (rc = lock_folder(rn, &fp[k], e)) != 0) {
			rc = rc > 0 ? 0 : rc;
			continue;
		}
		rc = judge_folder(rn, account, &fp[k], owner, place, applies, na, e);
		if (rc == 0 && rn->locks.n >= 64) /* a bounded number of lock files open */
			rc = flush_and_release(rn, e);
	}
	free(fp);
	return rc;
}

static bool in_scope(const ms_scope *sc, const char *address)
{
	const char *at = strrchr(address, '@');
	if (!at)
		return false;
	char local[256];
	snprintf(local, sizeof local, "%.*s", (int)(at - address), address);
	return ms_scope_has_account(sc, local, at + 1);
}

static int walk(run *rn, ms_err *e)
{
	ms_account *acc;
	size_t n;
	/* the cuts once, not per message: a local time each was an eighth of the judging */
	for (size_t k = 0; k < rn->rules.n; k++) {
		rule *r = &rn->rules.v[k];
		cutoff(rn->now, r->days >= 0 ? r->days : 0, r->days_cut);
		cutoff(rn->now, r->size_days > 0 ? r->size_days : 0, r->size_cut);
	}
	if (ms_account_list(rn->s, NULL, &acc, &n, e) < 0)
		return -1;
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		if (!in_scope(&rn->o->scope, acc[k].address))
			continue;
		char prefix[300], owner[600];
		snprintf(prefix, sizeof prefix, "user/%s", acc[k].address);
		owner_dir(rn->s->data_dir, acc[k].address, owner, sizeof owner);
		rc = walk_owner(rn, acc[k].id, prefix, owner, MS_PLACE_ACCOUNT, e);
	}
	free(acc);
	if (rc == 0 && !ms_scope_narrowed(&rn->o->scope) && rn->o->scope.shard_n == 0)
		rc = walk_owner(rn, 0, MS_PUBLIC_DIR, NULL, MS_PLACE_PUBLIC, e);
	if (rc == 0)
		rc = flush(rn, e);
	release_locks(rn);
	/* every batch's renames made durable at once, then the intent goes */
	ms_err fe = { 0 };
	if (rn->trash && ms_trash_finish(rn->trash, &rn->moved, &rn->missing, rc < 0 ? &fe : e) < 0)
		rc = -1;
	rn->trash = NULL;
	return rc;
}

/* --- the command ------------------------------------------------------------ */

static void summary(run *rn, bool ok)
{
	const char *verb = rn->o->dry_run ? "would expire" : "expired";
	if (rn->j) {
		ms_json_end_array(rn->j);
		ms_json_key(rn->j, "rules");
		ms_json_begin_array(rn->j);
		for (size_t k = 0; k < rn->rules.n; k++) {
			const rule *r = &rn->rules.v[k];
			ms_json_begin_object(rn->j);
			ms_json_kv_string(rn->j, "name", r->name);
			ms_json_kv_string(rn->j, "folderpattern", r->pattern);
			ms_json_kv_int(rn->j, "messages", (int64_t)r->messages);
			ms_json_kv_int(rn->j, "bytes", (int64_t)r->bytes);
			ms_json_kv_int(rn->j, "folders", (int64_t)r->folders);
			ms_json_end_object(rn->j);
		}
		ms_json_end_array(rn->j);
		ms_json_kv_bool(rn->j, "dry_run", rn->o->dry_run);
		ms_json_kv_int(rn->j, "messages", (int64_t)rn->messages);
		ms_json_kv_int(rn->j, "bytes", (int64_t)rn->bytes);
		ms_json_kv_int(rn->j, "files_moved", (int64_t)rn->moved);
		ms_json_kv_int(rn->j, "files_missing", (int64_t)rn->missing);
		ms_json_kv_int(rn->j, "failed", (int64_t)rn->failed);
		ms_json_kv_int(rn->j, "folders_locked", (int64_t)rn->locked);
		ms_json_kv_bool(rn->j, "ok", ok);
		ms_json_end_object(rn->j);
		ms_json_finish(rn->j);
		return;
	}
	for (size_t k = 0; k < rn->rules.n; k++) {
		const rule *r = &rn->rules.v[k];
		printf("rule %s: %zu message(s), %llu bytes in %zu folder(s)\n", r->name, r->messages,
		       (unsigned long long)r->bytes, r->folders);
	}
	printf("expire: %s %zu message(s), %llu bytes", verb, rn->messages, (unsigned long long)rn->bytes);
	if (!rn->o->dry_run)
		printf("; %zu file(s) moved to the trash, %zu already gone", rn->moved, rn->missing);
	if (rn->failed)
		printf("; %zu not expired (error above)", rn->failed);
	if (rn->locked)
		printf("; %zu folder(s) locked, left for the next run", rn->locked);
	printf("\n");
}

static int expire_main(cli_ctx *ctx, expire_opts *o)
{
	run rn = { .o = o, .ctx = ctx, .now = o->now ? (time_t)o->now : time(NULL) };
	ms_err e = { 0 };
	if (rules_read(o->rules, &rn.rules, &e) < 0) {
		rules_free(&rn.rules);
		return cli_fail(&e);
	}
	int rc = cli_open_store(ctx, o->dry_run ? DB_OPEN_READ_ONLY : DB_OPEN_READ_WRITE, &rn.s);
	if (rc != EXIT_OK) {
		rules_free(&rn.rules);
		return rc;
	}
	if (!rn.s->data_dir) {
		ms_store_close(rn.s);
		rules_free(&rn.rules);
		fprintf(stderr, "mstore expire: no data directory: give --data DIR or set data in mstore.conf\n");
		return EXIT_CONFIG;
	}
	if ((rc = cli_check_scope(rn.s, &o->domains, &o->accounts)) != EXIT_OK) { /* a typo is no empty scope */
		ms_store_close(rn.s);
		rules_free(&rn.rules);
		return rc;
	}
	size_t recovered = 0;
	if (!o->dry_run && ms_trash_recover(rn.s->db, rn.s->data_dir, &recovered, &e) < 0) {
		ms_store_close(rn.s);
		rules_free(&rn.rules);
		return cli_fail(&e);
	}
	if (recovered && !ctx->json)
		printf("expire: completed an interrupted run: %zu file(s) moved to the trash\n", recovered);
	ms_json j;
	if (ctx->json) {
		rn.j = &j;
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_key(&j, "messages_listed");
		ms_json_begin_array(&j);
	}
	int wrc = walk(&rn, &e);
	victims_free(&rn);
	ms_vec_free(&rn.batch);
	ms_vec_free(&rn.locks);
	summary(&rn, wrc == 0);
	rc = rn.locked ? EXIT_PARTIAL : EXIT_OK;
	if (wrc < 0) {
		fflush(stdout);
		rc = cli_fail(&e);
		if (rc == EXIT_USAGE)
			rc = EXIT_PARTIAL;
	}
	ms_store_close(rn.s);
	rules_free(&rn.rules);
	return rc;
}

enum { O_RULES = OPT_FIRST_COMMAND_OPTION, O_DOMAIN, O_ACCOUNT, O_SHARD, O_BATCH, O_NOW, O_LOCK_WAIT };

static bool expire_option(void *data, int opt, const char *arg)
{
	expire_opts *o = data;
	switch (opt) {
	case O_RULES: o->rules = arg; return true;
	case 'n': o->dry_run = true; return true;
	case 'v': o->verbose++; return true;
	case O_DOMAIN: o->oom |= ms_strlist_add(&o->domains, arg) < 0; return true;
	case O_ACCOUNT: o->oom |= ms_strlist_add(&o->accounts, arg) < 0; return true;
	case O_SHARD:
		if (!ms_shard_parse(arg, &o->scope.shard_k, &o->scope.shard_n))
			o->bad = "--shard takes K/N with 1 <= K <= N";
		return true;
	case O_BATCH:
		if (!cli_parse_count(arg, &o->batch) || o->batch < 1 || o->batch > 100000)
			o->bad = "--batch takes 1 to 100000";
		return true;
	case O_NOW:
		if (!cli_parse_count(arg, &o->now))
			o->bad = "--now takes epoch seconds";
		return true;
	case O_LOCK_WAIT:
		if (!cli_parse_count(arg, &o->lock_wait) || o->lock_wait > 86400)
			o->bad = "--lock-wait takes a number of seconds, at most 86400";
		return true;
	}
	return false;
}

int cmd_expire(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "rules", required_argument, 0, O_RULES },
		{ "dry-run", no_argument, 0, 'n' },
		{ "domain", required_argument, 0, O_DOMAIN },
		{ "account", required_argument, 0, O_ACCOUNT },
		{ "shard", required_argument, 0, O_SHARD },
		{ "batch", required_argument, 0, O_BATCH },
		{ "now", required_argument, 0, O_NOW },
		{ "lock-wait", required_argument, 0, O_LOCK_WAIT },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "expire" };
	expire_opts o = { .batch = 500 };
	int i = cli_parse(&ctx, argc, argv, "hnv", longopts, expire_option, &o);
	int rc;
	if (i != argc)
		rc = cli_usage(&ctx, "no arguments expected (the rules come from --rules FILE)");
	else if (o.oom)
		rc = cli_usage(&ctx, "out of memory for the options");
	else if (o.bad)
		rc = cli_usage(&ctx, "%s", o.bad);
	else if (!o.rules)
		rc = cli_usage(&ctx, "--rules FILE is required");
	else {
		o.scope.domains = o.domains.v;
		o.scope.accounts = o.accounts.v;
		rc = expire_main(&ctx, &o);
	}
	ms_vec_free(&o.domains);
	ms_vec_free(&o.accounts);
	return rc;
}
