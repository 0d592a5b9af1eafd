/* output.c - findings: collected, then printed one line each
 * ("MAILBOX: KIND: DETAIL (what the repair does or did)"), counted,
 * written as JSON; the quota lines; the -o -d script.
 */
#include "reconstruct/rc_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"
#include "store/quota.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/vec.h"

static const char *const kind_names[RC_N_KINDS] = {
	[RC_MISSING_FILE] = "missing-file",
	[RC_MISPLACED_FILE] = "misplaced-file",
	[RC_WRONG_SIZE] = "wrong-size",
	[RC_ZERO_UID] = "zero-uid",
	[RC_DUPLICATE_UID] = "duplicate-uid",
	[RC_UID_BEHIND] = "uid-behind",
	[RC_UID_OVERFLOW] = "uid-overflow",
	[RC_FOLDER_PARENT] = "folder-parent",
	[RC_MISSING_INBOX] = "missing-inbox",
	[RC_MESSAGE_FOLDER] = "message-folder",
	[RC_ORPHANED_MESSAGE] = "orphaned-message",
	[RC_ORPHANED_RECIPIENT] = "orphaned-recipient",
	[RC_ORPHANED_METADATA] = "orphaned-metadata",
	[RC_ORPHANED_FOLDER] = "orphaned-folder",
	[RC_QUEUE_NO_RECIPIENTS] = "queue-no-recipients",
	[RC_QUEUE_STALE_LOCK] = "queue-stale-lock",
	[RC_UNREFERENCED_FILE] = "unreferenced-file",
	[RC_ORPHANED_ACCOUNT_DIR] = "orphaned-account-dir",
	[RC_ACCOUNT_WITHOUT_DIR] = "account-without-dir",
	[RC_SCHEMA] = "schema",
};

/* What to say for the kinds no repair touches. */
static const char *report_only_hint(const rc_finding *x)
{
	switch (x->kind) {
	case RC_UNREFERENCED_FILE:
		/* sync never imports an empty file (hMailServer refuses to store
		 * one), queues a root file only for local recipients, and never
		 * imports #Public; what it cannot import, --quarantine moves out */
		if (x->folder_id) /* rc_check_files: the account's INBOX is full */
			return "report only: mstore sync cannot import it: the account's INBOX has no UID left "
			       "(see uid-overflow)";
		if (x->value == 0)
			return "report only: mstore sync does not import an empty file (hMailServer stores no empty "
			       "message); mstore sync --quarantine DIR moves it out";
		if (strcmp(x->mailbox, "queue") == 0)
			return "report only: mstore sync queues it if it has a local recipient; "
			       "mstore sync --quarantine DIR moves it out if not";
		if (strcmp(x->mailbox, "#Public") == 0)
			return "report only: mstore sync cannot import #Public files; --quarantine DIR moves it out";
		return "report only: mstore sync imports it";
	case RC_ORPHANED_ACCOUNT_DIR:
	case RC_ACCOUNT_WITHOUT_DIR: return "report only: -o -d FILE writes the commands to remove it";
	case RC_UID_OVERFLOW:
		return "report only: no mstore command lowers UIDs (IMAP clients cache them), and mstore sync "
		       "imports nothing into a folder whose UIDs are used up";
	default: return "report only";
	}
}

const char *ms_rc_kind_name(rc_kind k)
{
	return k < RC_N_KINDS ? kind_names[k] : "?";
}

char *rc_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

rc_finding *rc_add(rc_run *run, rc_kind kind, const char *mailbox, const char *action, const char *fmt, ...)
{
	/* sync --check-missing asks for one kind (and perhaps only the queue);
	 * the others are not recorded.  Callers treat NULL as "nothing to fill in". */
	if ((run->o->only_kinds && !(run->o->only_kinds & (1u << kind))) ||
	    (run->o->only_queue && strcmp(mailbox ? mailbox : "", "queue") != 0))
		return NULL;
	if (ms_vec_reserve_((void **)&run->findings, &run->findings_cap, run->nfindings + 1, sizeof *run->findings) < 0)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	char *detail = NULL;
	if (vasprintf(&detail, fmt, ap) < 0)
		detail = NULL;
	va_end(ap);
	rc_finding *x = &run->findings[run->nfindings++];
	*x = (rc_finding){ .kind = kind, .mailbox = strdup(mailbox ? mailbox : "store"), .detail = detail,
	                   .action = action ? strdup(action) : NULL, .account_idx = -1 };
	return x;
}

void rc_findings_free(rc_run *run)
{
	for (size_t i = 0; i < run->nfindings; i++) {
		rc_finding *x = &run->findings[i];
		free(x->mailbox);
		free(x->detail);
		free(x->action);
		free(x->why);
		free(x->path);
		free(x->target);
	}
	free(run->findings);
}

static int cmp_finding(const void *a, const void *b)
{
	const rc_finding *x = a, *y = b;
	int c = strcmp(x->mailbox, y->mailbox);
	if (c)
		return c;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if (x->message_id != y->message_id)
		return (x->message_id > y->message_id) - (x->message_id < y->message_id);
	return strcmp(x->detail ? x->detail : "", y->detail ? y->detail : "");
}

/* The parenthesis after a finding. */
static void suffix(const rc_run *run, const rc_finding *x, char *out, size_t len)
{
	if (x->state == RC_REPAIRED)
		snprintf(out, len, "repaired: %s", x->action);
	else if (x->state == RC_NOT_REPAIRED)
		snprintf(out, len, "not repaired: %s", x->why ? x->why : "?");
	else if (!x->action)
		snprintf(out, len, "%s%s", run->o->repair ? "not repaired: " : "", report_only_hint(x));
	else
		snprintf(out, len, "%s: %s", run->o->repair ? "not repaired" : "would repair", x->action);
}

static void print_quota(rc_run *run)
{
	FILE *out = run->o->out;
	for (size_t i = 0; i < run->naccounts; i++) {
		const rc_account *a = &run->accounts[i];
		if (!a->in_scope)
			continue;
		int pct = ms_quota_percent(a->bytes, a->max_size_mb);
		fputs("quota: user/", out);
		ms_escape_put(out, a->address);
		fprintf(out, ": %lld messages, %lld bytes, limit %lld MB", (long long)a->rows, (long long)a->bytes,
		        (long long)a->max_size_mb);
		if (pct >= 0)
			fprintf(out, " (%d%%)%s", pct, ms_quota_over(a->bytes, a->max_size_mb) ? " OVER" : "");
		fputc('\n', out);
	}
	for (size_t d = 0; d < run->ndomains; d++) {
		const rc_domain *dom = &run->domains[d];
		int64_t rows = 0, bytes = 0, accounts = 0;
		for (size_t i = 0; i < run->naccounts; i++)
			if (run->accounts[i].domain_id == dom->id && run->accounts[i].in_scope) {
				rows += run->accounts[i].rows;
				bytes += run->accounts[i].bytes;
				accounts++;
			}
		if (!accounts)
			continue;
		int pct = ms_quota_percent(bytes, dom->max_size_mb);
		fputs("quota: domain ", out);
		ms_escape_put(out, dom->name);
		fprintf(out, ": %lld accounts, %lld messages, %lld bytes, limit %lld MB", (long long)accounts,
		        (long long)rows, (long long)bytes, (long long)dom->max_size_mb);
		if (pct >= 0)
			fprintf(out, " (%d%%)%s", pct, ms_quota_over(bytes, dom->max_size_mb) ? " OVER" : "");
		fputc('\n', out);
	}
}

static void json_quota(rc_run *run, ms_json *j)
{
	ms_json_key(j, "quota");
	ms_json_begin_array(j);
	for (size_t i = 0; run->o->quota && i < run->naccounts; i++) {
		const rc_account *a = &run->accounts[i];
		if (!a->in_scope)
			continue;
		ms_json_begin_object(j);
		ms_json_kv_string(j, "account", a->address);
		ms_json_kv_int(j, "messages", a->rows);
		ms_json_kv_int(j, "bytes", a->bytes);
		ms_json_kv_int(j, "limit_mb", a->max_size_mb);
		ms_json_kv_bool(j, "over", ms_quota_over(a->bytes, a->max_size_mb));
		ms_json_end_object(j);
	}
	ms_json_end_array(j);
}

static int write_json(rc_run *run, ms_err *e)
{
	FILE *f = fopen(run->o->json_path, "w");
	if (!f)
		return ms_err_set(e, MS_E_IO, "cannot write %s: %s", run->o->json_path, strerror(errno));
	ms_json j;
	ms_json_init(&j, f);
	ms_json_begin_object(&j);
	ms_json_kv_bool(&j, "dry_run", !run->o->repair);
	ms_json_key(&j, "findings");
	ms_json_begin_array(&j);
	for (size_t i = 0; i < run->nfindings; i++) {
		const rc_finding *x = &run->findings[i];
		if (x->state == RC_STALE)
			continue;
		char sfx[600];
		suffix(run, x, sfx, sizeof sfx);
		ms_json_begin_object(&j);
		ms_json_kv_string(&j, "mailbox", x->mailbox);
		ms_json_kv_string(&j, "kind", ms_rc_kind_name(x->kind));
		ms_json_kv_string(&j, "detail", x->detail);
		if (x->message_id)
			ms_json_kv_int(&j, "messageid", x->message_id);
		if (x->path)
			ms_json_kv_string(&j, "path", x->path);
		ms_json_kv_string(&j, "repair", sfx);
		ms_json_kv_bool(&j, "repaired", x->state == RC_REPAIRED);
		ms_json_end_object(&j);
	}
	ms_json_end_array(&j);
	ms_json_key(&j, "summary");
	ms_json_begin_object(&j);
	ms_json_kv_int(&j, "findings", (int64_t)run->r->findings);
	ms_json_kv_int(&j, "repaired", (int64_t)run->r->repaired);
	ms_json_kv_int(&j, "remaining", (int64_t)run->r->remaining);
	ms_json_kv_int(&j, "files", (int64_t)run->r->files);
	ms_json_kv_int(&j, "rows", (int64_t)run->r->rows);
	ms_json_kv_int(&j, "unreadable_directories", (int64_t)run->r->unreadable);
	for (int k = 0; k < RC_N_KINDS; k++)
		ms_json_kv_int(&j, ms_rc_kind_name((rc_kind)k), (int64_t)run->r->found[k]);
	ms_json_end_object(&j);
	json_quota(run, &j);
	ms_json_key(&j, "removed_list");
	ms_json_string(&j, run->r->removed_list[0] ? run->r->removed_list : NULL);
	ms_json_end_object(&j);
	ms_json_finish(&j);
	if (fclose(f) != 0)
		return ms_err_set(e, MS_E_IO, "cannot write %s: %s", run->o->json_path, strerror(errno));
	return 0;
}

static void count(rc_run *run)
{
	ms_rc_report *r = run->r;
	for (size_t i = 0; i < run->nfindings; i++) {
		const rc_finding *x = &run->findings[i];
		if (x->state == RC_STALE)
			continue;
		r->found[x->kind]++;
		r->findings++;
		if (x->state == RC_REPAIRED)
			r->repaired++;
	}
	r->remaining = r->findings - r->repaired;
	r->unreadable = run->walk_errors;
}

static void print_summary(rc_run *run)
{
	FILE *out = run->o->out;
	ms_rc_report *r = run->r;
	const char *label = run->o->label ? run->o->label : "reconstruct";
	if (run->o->verbose)
		fprintf(out, "%s: checked %llu files and %llu rows\n", label, (unsigned long long)r->files,
		        (unsigned long long)r->rows);
	if (r->removed_list[0])
		fprintf(out, "%s: removed rows saved to %s\n", label, r->removed_list);
	if (r->unreadable)
		fprintf(out, "%s: the check is incomplete: %llu director%s could not be read (named on stderr)\n", label,
		        (unsigned long long)r->unreadable, r->unreadable == 1 ? "y" : "ies");
	if (!r->findings) {
		fprintf(out, "%s: no findings%s\n", label, r->unreadable ? " where it could look" : "");
		return;
	}
	fprintf(out, "%s: %llu findings (", label, (unsigned long long)r->findings);
	const char *sep = "";
	for (int k = 0; k < RC_N_KINDS; k++)
		if (r->found[k]) {
			fprintf(out, "%s%s %llu", sep, ms_rc_kind_name((rc_kind)k), (unsigned long long)r->found[k]);
			sep = ", ";
		}
	fprintf(out, "), %llu repaired, %llu remaining\n", (unsigned long long)r->repaired,
	        (unsigned long long)r->remaining);
}

/* "MAILBOX: KIND: DETAIL (SUFFIX)": names inside are escaped, so one
 * finding is one line whatever a directory or folder is called. */
static void print_finding(FILE *out, const rc_finding *x, const char *sfx)
{
	ms_escape_put(out, x->mailbox);
	fprintf(out, ": %s: ", ms_rc_kind_name(x->kind));
	ms_escape_put(out, x->detail ? x->detail : "");
	fputs(" (", out);
	ms_escape_put(out, sfx);
	fputs(")\n", out);
}

int rc_report(rc_run *run, ms_err *e)
{
	if (run->nfindings)
		qsort(run->findings, run->nfindings, sizeof *run->findings, cmp_finding);
	count(run);
	for (size_t i = 0; i < run->nfindings; i++) {
		const rc_finding *x = &run->findings[i];
		if (x->state == RC_STALE)
			continue;
		char sfx[600];
		suffix(run, x, sfx, sizeof sfx);
		print_finding(run->o->out, x, sfx);
	}
	if (run->o->quota)
		print_quota(run);
	print_summary(run);
	fflush(run->o->out);
	return run->o->json_path ? write_json(run, e) : 0;
}

/* ---- the -o -d script --------------------------------------------------------------- */

/* Single-quote for sh: ' becomes '\'' .  Inside single quotes every other
 * byte, a newline too, is literal: the value reaches mstore unchanged. */
static void sh_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* A comment line naming what the next command removes.  The name is a
 * directory's: escaped, or a newline in it would end the comment and the
 * rest would run as a command (issue 12). */
static void script_comment(FILE *f, const char *text)
{
	fputs("# ", f);
	ms_escape_put(f, text ? text : "");
	fputc('\n', f);
}

int rc_write_orphan_script(rc_run *run, ms_err *e)
{
	FILE *f = fopen(run->o->orphan_script, "w");
	if (!f)
		return ms_err_set(e, MS_E_IO, "cannot write %s: %s", run->o->orphan_script, strerror(errno));
	char when[32];
	ms_sql_time(run->now, when);
	fprintf(f, "#!/bin/sh\n# Written by mstore reconstruct -o on %s.\n"
	           "# Review every line before you run it: each one deletes mail.\n"
	           "# The database password comes from the configuration or $MSTORE_DB_PASSWORD.\nset -e\n", when);
	for (size_t i = 0; i < run->nfindings; i++) {
		const rc_finding *x = &run->findings[i];
		if (x->state == RC_STALE)
			continue;
		if (x->kind == RC_ORPHANED_ACCOUNT_DIR) {
			script_comment(f, x->detail);
			fputs("mstore sync --db ", f);
			sh_quote(f, run->o->db_url_text ? run->o->db_url_text : "");
			fputs(" --data ", f);
			sh_quote(f, run->s->data_dir);
			fputs(" --settle 0 --account ", f);
			sh_quote(f, x->mailbox + 5);
			fputs(" --delete-unreferenced\n", f);
		} else if (x->kind == RC_ACCOUNT_WITHOUT_DIR) {
			script_comment(f, x->detail);
			fputs("mstore account delete --db ", f);
			sh_quote(f, run->o->db_url_text ? run->o->db_url_text : "");
			fputc(' ', f);
			sh_quote(f, x->mailbox + 5);
			fputc('\n', f);
		}
	}
	if (fclose(f) != 0)
		return ms_err_set(e, MS_E_IO, "cannot write %s: %s", run->o->orphan_script, strerror(errno));
	return 0;
}
