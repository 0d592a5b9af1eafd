/* mstore quota: usage per account and domain against hMailServer's
 * limits, the sizes recounted from the files, and warnings to accounts
 * over a threshold (store/quota.h holds the rules and the state). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/quota_internal.h"
#include "store/browse.h"
#include "store/clock.h"
#include "store/msgfile.h"
#include "store/objects.h"
#include "store/quota.h"
#include "store/scope.h"
#include "util/escape.h"
#include "util/json.h"

const char help_quota[] =
	"usage: mstore quota [-u ADDRESS] [-d DOMAIN] [-e] [--over PCT] [--json]\n"
	"       mstore quota --recalculate [-u ADDRESS] [-d DOMAIN] [-n] [--json]\n"
	"       mstore quota --notify --template FILE [--over PCT] [--interval DAYS]\n"
	"                    [-u A] [-d D] [-n] [--json]\n"
	"Every mode also takes --account A (= -u), --domain D (= -d), --shard K/N.\n\n"
	"List each account's usage (its delivered messages' sizes added up, as hMailServer\n"
	"counts it: no column holds it) against accountmaxsize, and each domain's total\n"
	"against domainmaxsize, with its domainmaxaccountsize (MB) and domainmaxmessagesize\n"
	"(KB); 0 or '-' is no limit.  -u/--account and -d/--domain (repeatable) narrow\n"
	"it to accounts or domains, which must exist (exit 2 otherwise), --shard K/N to\n"
	"the accounts of shard K (the same as sync's and reconstruct's), for every mode;\n"
	"-e adds a line per folder\n"
	"(user/ADDRESS/FOLDER/SUB); --over PCT lists only accounts with a limit that use at\n"
	"least PCT percent of it.\n\n"
	"--recalculate   compare each message's size in the database with its file's on\n"
	"                disk and correct those that differ (the repair `mstore reconstruct\n"
	"                -r` makes for wrong-size, for the accounts asked for): one line\n"
	"                per message, each row set only while it still has the size read.\n"
	"                A missing file is counted, not touched (that is reconstruct's\n"
	"                missing-file).  -n lists and changes nothing.\n"
	"--notify        deliver a warning into the INBOX of every account at or over\n"
	"                --over PCT (default 90) of its limit, built from --template FILE:\n"
	"                an RFC 5322 message (header lines, an empty line, the body) where\n"
	"                %ADDRESS%, %USED_MB%, %LIMIT_MB%, %PERCENT% and %DATE% are replaced.\n"
	"                Date and Message-ID are added when the template has none; lines\n"
	"                end in CRLF as the server stores them.  It is delivered as `mstore\n"
	"                deliver` does (journaled), over the quota too.  An account is warned\n"
	"                at most once per --interval DAYS (default 7; 0: at every run;\n"
	"                at most 100000): the time of its last warning is kept in the\n"
	"                store, in hm_settings row\n"
	"                'mstore.quotanotify.ACCOUNTID' (hMailServer reads only the settings\n"
	"                it knows; the state travels with the store's backups), written\n"
	"                after the message: a crash between the two can warn twice, never\n"
	"                zero times.  -n lists whom it would warn.\n\n"
	"A template without an empty line between header and body, an unknown account\n"
	"or domain: exit 2, nothing changed.  Exit 1 when a warning or a correction could\n"
	"not be made.\n";

enum { O_OVER = OPT_FIRST_COMMAND_OPTION, O_RECALC, O_NOTIFY, O_TEMPLATE, O_INTERVAL, O_SHARD };

static bool q_option(void *data, int opt, const char *arg)
{
	q_opts *o = data;
	switch (opt) {
	case 'u': return ms_strlist_add(&o->users, arg) == 0;
	case 'd': return ms_strlist_add(&o->domains, arg) == 0;
	case 'e': o->per_folder = true; return true;
	case 'n': o->dry_run = true; return true;
	case O_RECALC: o->recalc = true; return true;
	case O_NOTIFY: o->notify = true; return true;
	case O_TEMPLATE: o->template_file = arg; return true;
	case O_OVER: o->over_given = true; o->bad |= !cli_parse_count(arg, &o->over); return true;
	case O_INTERVAL: /* days as seconds must fit: a century at most, as purge --older-than */
		o->interval_given = true;
		o->bad |= !cli_parse_count(arg, &o->interval_days) || o->interval_days > 100000;
		return true;
	case O_SHARD: o->bad |= !ms_shard_parse(arg, &o->shard_k, &o->shard_n); return true;
	}
	return false;
}

/* ---- scope ------------------------------------------------------------------------ */

/* Is a typed domain or address the stored name?  A Unicode domain is
 * stored in its ACE form. */
static bool name_is(const char *typed, const char *stored)
{
	char form[256];
	if (strchr(typed, '@'))
		ms_address_lookup_form(typed, form);
	else
		ms_domain_lookup_form(typed, form);
	return strcasecmp(form, stored) == 0;
}

static bool wanted(const ms_strlist *l, const char *s)
{
	if (l->n == 0)
		return true;
	for (size_t i = 0; i < l->n; i++)
		if (name_is(l->v[i], s))
			return true;
	return false;
}

static int add_accounts(ms_store *s, const q_opts *o, ms_domain *dm, account_vec *out, ms_err *e)
{
	ms_account *v;
	size_t n;
	if (ms_account_list(s, dm->name, &v, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (wanted(&o->users, v[i].address) && (!o->shard_n || ms_shard_of(v[i].address, o->shard_n) == o->shard_k) &&
		    ms_vec_push(out, v[i]) < 0) {
			free(v);
			return ms_err_set(e, MS_E_NOMEM, "out of memory");
		}
	free(v);
	return 0;
}

/* The domains and accounts asked for; every -u and -d must exist. */
static int scope(ms_store *s, const q_opts *o, ms_domain **dv, size_t *nd, account_vec *acc, ms_err *e)
{
	if (ms_domain_list(s, dv, nd, e) < 0)
		return -1;
	for (size_t i = 0; i < o->domains.n; i++) {
		size_t k = 0;
		while (k < *nd && !name_is(o->domains.v[i], (*dv)[k].name))
			k++;
		if (k == *nd)
			return ms_err_set(e, MS_E_NOTFOUND, "%s: no domain %s", db_name(s->db), o->domains.v[i]);
	}
	for (size_t k = 0; k < *nd; k++)
		if (wanted(&o->domains, (*dv)[k].name) && add_accounts(s, o, &(*dv)[k], acc, e) < 0)
			return -1;
	for (size_t i = 0; i < o->users.n; i++) {
		size_t k = 0;
		while (k < acc->n && !name_is(o->users.v[i], acc->v[k].address))
			k++;
		if (k == acc->n)
			return ms_err_set(e, MS_E_NOTFOUND, "%s: no account %s%s", db_name(s->db), o->users.v[i],
			                  o->domains.n ? " in the domains given" : "");
	}
	return 0;
}

static int collect(void *c, int64_t id, ms_usage u)
{
	usage_vec *v = c;
	return ms_vec_push(v, ((usage_ent){ id, u }));
}

ms_usage cli_quota_usage_of(const usage_vec *v, int64_t id)
{
	for (size_t lo = 0, hi = v->n; lo < hi;) { /* sorted by id */
		size_t mid = lo + (hi - lo) / 2;
		if (v->v[mid].id == id)
			return v->v[mid].u;
		if (v->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ms_usage){ 0 };
}

static int by_id(const void *a, const void *b)
{
	int64_t x = ((const usage_ent *)a)->id, y = ((const usage_ent *)b)->id;
	return (x > y) - (x < y);
}

int cli_quota_load_usage(db *d, bool folders, usage_vec *v, ms_err *e)
{
	int rc = folders ? ms_quota_each_folder(d, collect, v, e) : ms_quota_each_account(d, collect, v, e);
	if (rc < 0)
		return e->code ? -1 : ms_err_set(e, MS_E_NOMEM, "out of memory");
	qsort(v->v, v->n, sizeof *v->v, by_id);
	return 0;
}

/* ---- listing ------------------------------------------------------------------------ */

/* user/ADDRESS/LEVEL/...; false for a folder cut off from the top. */
static bool mailbox_name(const char *address, const ms_folder_row *v, size_t n, const ms_folder_row *f, char *out,
                         size_t len)
{
	char path[2048];
	if (!ms_browse_folder_path(v, n, f, '/', true, path, sizeof path))
		return false;
	snprintf(out, len, "user/%s/%s", address, path);
	return true;
}

static void print_limit(int64_t mb)
{
	if (mb > 0)
		printf(" %10lld", (long long)mb);
	else
		printf(" %10s", "-");
}

static int list_folders(ms_store *s, ms_json *j, bool json, const ms_account *a, const usage_vec *fu, ms_err *e)
{
	ms_folder_row *v;
	size_t n;
	char name[2400];
	if (ms_browse_folders(s->db, a->id, &v, &n, e) < 0)
		return -1;
	if (json) {
		ms_json_key(j, "folders");
		ms_json_begin_array(j);
	}
	for (size_t i = 0; i < n; i++) {
		if (!mailbox_name(a->address, v, n, &v[i], name, sizeof name))
			continue;
		ms_usage u = cli_quota_usage_of(fu, v[i].id);
		if (json) {
			ms_json_begin_object(j);
			ms_json_kv_string(j, "mailbox", name);
			ms_json_kv_int(j, "messages", u.messages);
			ms_json_kv_int(j, "bytes", u.bytes);
			ms_json_end_object(j);
		} else {
			printf("  ");
			ms_escape_put(stdout, name);
			printf(" %lld messages, %lld bytes\n", (long long)u.messages, (long long)u.bytes);
		}
	}
	if (json)
		ms_json_end_array(j);
	ms_browse_folders_free(v, n);
	return 0;
}

static bool over_threshold(const q_opts *o, const ms_account *a, ms_usage u)
{
	int pct = ms_quota_percent(u.bytes, a->max_size_mb);
	return !o->over_given || (pct >= 0 && pct >= o->over);
}

static int list_account(ms_store *s, const q_opts *o, ms_json *j, bool json, const ms_account *a, ms_usage u,
                        const usage_vec *fu, ms_err *e)
{
	int pct = ms_quota_percent(u.bytes, a->max_size_mb);
	if (json) {
		ms_json_begin_object(j);
		ms_json_kv_string(j, "account", a->address);
		ms_json_kv_int(j, "messages", u.messages);
		ms_json_kv_int(j, "bytes", u.bytes);
		ms_json_kv_int(j, "limit_mb", a->max_size_mb);
		if (pct >= 0)
			ms_json_kv_int(j, "percent", pct);
		ms_json_kv_bool(j, "over", ms_quota_over(u.bytes, a->max_size_mb));
	} else {
		printf("%-40s %9lld %14lld", a->address, (long long)u.messages, (long long)u.bytes);
		print_limit(a->max_size_mb);
		if (pct >= 0)
			printf(" %6d%%", pct);
		else
			printf(" %7s", "-");
		printf("%s\n", ms_quota_over(u.bytes, a->max_size_mb) ? " OVER" : "");
	}
	int rc = o->per_folder ? list_folders(s, j, json, a, fu, e) : 0;
	if (json)
		ms_json_end_object(j);
	return rc;
}

/* A domain's usage from its accounts' (the one GROUP BY already read):
 * the same rows as a SUM over the domain's messages, without a second
 * scan of hm_messages per domain (it made quota 2.5 times a SUM). */
static ms_usage domain_usage(const ms_account *all, size_t na, int64_t domain_id, const usage_vec *au)
{
	ms_usage sum = { 0 };
	for (size_t i = 0; i < na; i++)
		if (all[i].domain_id == domain_id) {
			ms_usage u = cli_quota_usage_of(au, all[i].id);
			sum.messages += u.messages;
			sum.bytes += u.bytes;
		}
	return sum;
}

static int list_domains(ms_store *s, const q_opts *o, ms_json *j, bool json, ms_domain *dv, size_t nd,
                        const usage_vec *au, ms_err *e)
{
	ms_account *all; /* every account: a domain's usage counts those out of scope too */
	size_t na;
	if (ms_account_list(s, NULL, &all, &na, e) < 0)
		return -1;
	if (json) {
		ms_json_key(j, "domains");
		ms_json_begin_array(j);
	} else {
		printf("%-40s %9s %14s %10s %10s %10s\n", "DOMAIN", "MESSAGES", "BYTES", "MAX MB", "ACCT MB", "MSG KB");
	}
	for (size_t k = 0; k < nd; k++) {
		if (!wanted(&o->domains, dv[k].name))
			continue;
		ms_usage u = domain_usage(all, na, dv[k].id, au);
		ms_domain_limits l;
		if (ms_quota_domain_limits(s->db, dv[k].id, &l, e) < 0) {
			free(all);
			return -1;
		}
		if (json) {
			ms_json_begin_object(j);
			ms_json_kv_string(j, "domain", dv[k].name);
			ms_json_kv_int(j, "messages", u.messages);
			ms_json_kv_int(j, "bytes", u.bytes);
			ms_json_kv_int(j, "max_size_mb", l.max_size_mb);
			ms_json_kv_int(j, "max_account_size_mb", l.max_account_size_mb);
			ms_json_kv_int(j, "max_message_size_kb", l.max_message_size_kb);
			ms_json_kv_bool(j, "over", ms_quota_over(u.bytes, l.max_size_mb));
			ms_json_end_object(j);
		} else {
			printf("%-40s %9lld %14lld", dv[k].name, (long long)u.messages, (long long)u.bytes);
			print_limit(l.max_size_mb);
			print_limit(l.max_account_size_mb);
			print_limit(l.max_message_size_kb);
			printf("%s\n", ms_quota_over(u.bytes, l.max_size_mb) ? " OVER" : "");
		}
	}
	if (json)
		ms_json_end_array(j);
	free(all);
	return 0;
}

static int do_list(ms_store *s, const q_opts *o, bool json, ms_domain *dv, size_t nd, const account_vec *acc)
{
	ms_err e = { 0 };
	usage_vec au = { 0 }, fu = { 0 };
	ms_json j;
	int rc = cli_quota_load_usage(s->db, false, &au, &e) < 0 ||
	                 (o->per_folder && cli_quota_load_usage(s->db, true, &fu, &e) < 0)
	         ? -1
	         : 0;
	if (rc == 0 && json) {
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_key(&j, "accounts");
		ms_json_begin_array(&j);
	} else if (rc == 0) {
		printf("%-40s %9s %14s %10s %7s\n", "ACCOUNT", "MESSAGES", "BYTES", "MAX MB", "USED");
	}
	for (size_t i = 0; rc == 0 && i < acc->n; i++) {
		ms_usage u = cli_quota_usage_of(&au, acc->v[i].id);
		if (over_threshold(o, &acc->v[i], u))
			rc = list_account(s, o, &j, json, &acc->v[i], u, &fu, &e);
	}
	if (rc == 0 && json)
		ms_json_end_array(&j);
	else if (rc == 0)
		printf("\n");
	if (rc == 0)
		rc = list_domains(s, o, &j, json, dv, nd, &au, &e);
	if (rc == 0 && json) {
		ms_json_end_object(&j);
		ms_json_finish(&j);
	}
	ms_vec_free(&au);
	ms_vec_free(&fu);
	return rc < 0 ? cli_fail(&e) : EXIT_OK;
}

/* ---- recalculate -------------------------------------------------------------------- */

typedef struct recalc_ctx {
	const char *address;
	bool dry_run, json;
	ms_json *j;
	int64_t fixes;
} recalc_ctx;

static int print_fix(void *c, const ms_quota_fix *f)
{
	recalc_ctx *x = c;
	x->fixes++;
	if (x->json) {
		ms_json_begin_object(x->j);
		ms_json_kv_string(x->j, "account", x->address);
		ms_json_kv_int(x->j, "messageid", f->message_id);
		ms_json_kv_string(x->j, "file", ms_layout_base_name(f->filename));
		ms_json_kv_int(x->j, "stored", f->stored);
		ms_json_kv_int(x->j, "on_disk", f->on_disk);
		ms_json_end_object(x->j);
		return 0;
	}
	printf("user/%s: ", x->address);
	ms_escape_put(stdout, ms_layout_base_name(f->filename));
	printf(": size %lld in the database, %lld on disk (%s)\n", (long long)f->stored, (long long)f->on_disk,
	       x->dry_run ? "would correct" : "corrected");
	return 0;
}

static int do_recalc(ms_store *s, const q_opts *o, bool json, const account_vec *acc)
{
	if (!s->data_dir) {
		fprintf(stderr, "mstore quota: --recalculate needs the data directory (--data DIR)\n");
		return EXIT_CONFIG;
	}
	int root_fd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		fprintf(stderr, "mstore quota: cannot open the data directory %s: %s\n", s->data_dir, strerror(errno));
		return EXIT_IO;
	}
	ms_json j;
	if (json) {
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_key(&j, "corrections");
		ms_json_begin_array(&j);
	}
	recalc_ctx x = { .dry_run = o->dry_run, .json = json, .j = &j };
	int64_t missing = 0;
	int failed = 0;
	for (size_t i = 0; i < acc->n; i++) {
		char local[256], domain[256], owner[600];
		ms_err e = { 0 };
		x.address = acc->v[i].address;
		if (ms_address_split(acc->v[i].address, local, domain, &e) == 0) {
			ms_msgfile_owner_dir(root_fd, local, domain, owner, sizeof owner);
			if (ms_quota_recalculate(s->db, root_fd, owner, acc->v[i].id, o->dry_run, print_fix, &x, &missing, &e) == 0)
				continue;
		}
		fprintf(stderr, "mstore quota: %s: ", acc->v[i].address);
		ms_escape_put(stderr, e.msg);
		fputc('\n', stderr);
		failed++;
	}
	close(root_fd);
	if (json) {
		ms_json_end_array(&j);
		ms_json_kv_int(&j, "corrected", o->dry_run ? 0 : x.fixes);
		ms_json_kv_int(&j, "differ", x.fixes);
		ms_json_kv_int(&j, "missing_files", missing);
		ms_json_kv_int(&j, "failed_accounts", failed);
		ms_json_kv_bool(&j, "dry_run", o->dry_run);
		ms_json_end_object(&j);
		ms_json_finish(&j);
	} else {
		printf("%lld size%s %s, %lld file%s missing (see mstore reconstruct)\n", (long long)x.fixes,
		       x.fixes == 1 ? "" : "s", o->dry_run ? "would be corrected" : "corrected", (long long)missing,
		       missing == 1 ? "" : "s");
	}
	return failed ? EXIT_PARTIAL : EXIT_OK;
}

int cmd_quota(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "user", required_argument, 0, 'u' },
		{ "account", required_argument, 0, 'u' },
		{ "shard", required_argument, 0, O_SHARD },
		{ "domain", required_argument, 0, 'd' },
		{ "folders", no_argument, 0, 'e' },
		{ "dry-run", no_argument, 0, 'n' },
		{ "over", required_argument, 0, O_OVER },
		{ "recalculate", no_argument, 0, O_RECALC },
		{ "notify", no_argument, 0, O_NOTIFY },
		{ "template", required_argument, 0, O_TEMPLATE },
		{ "interval", required_argument, 0, O_INTERVAL },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "quota" };
	q_opts o = { 0 };
	int first = cli_parse(&ctx, argc, argv, "hu:d:en", longopts, q_option, &o);
	if (first < argc)
		return cli_usage(&ctx, "no operands expected: accounts go with -u ADDRESS, domains with -d DOMAIN");
	if (o.bad)
		return cli_usage(&ctx, "--over takes a whole number, --interval a whole number of days up to 100000,"
		                 " --shard K/N (1 <= K <= N)");
	if (o.recalc && o.notify)
		return cli_usage(&ctx, "--recalculate and --notify are separate runs");
	if (o.notify != (o.template_file != NULL))
		return cli_usage(&ctx, "--notify needs --template FILE, and --template goes with --notify");
	if (o.dry_run && !o.recalc && !o.notify)
		return cli_usage(&ctx, "-n goes with --recalculate or --notify (a listing writes nothing)");
	if (o.notify && !cli_quota_notify)
		cli_exec_full(); /* the front (main_front.c): the warning is a delivery, which parses */
	bool writes = (o.recalc || o.notify) && !o.dry_run;
	ms_store *s;
	int rc = cli_open_store(&ctx, writes ? DB_OPEN_READ_WRITE : DB_OPEN_READ_ONLY, &s);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	ms_domain *dv = NULL;
	size_t nd = 0;
	account_vec acc = { 0 };
	if (scope(s, &o, &dv, &nd, &acc, &e) < 0)
		rc = cli_fail(&e);
	else if (o.recalc)
		rc = do_recalc(s, &o, ctx.json, &acc);
	else if (o.notify)
		rc = cli_quota_notify(s, &o, ctx.json, &acc);
	else
		rc = do_list(s, &o, ctx.json, dv, nd, &acc);
	free(dv);
	ms_vec_free(&acc);
	ms_vec_free(&o.users);
	ms_vec_free(&o.domains);
	ms_store_close(s);
	return rc;
}
