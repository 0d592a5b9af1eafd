/* cmd_quota_notify.c - `mstore quota --notify`: a warning delivered into
 * the INBOX of each account over a threshold, at most once per interval.
 *
 * Apart from cmd_quota.c because it delivers, and delivering parses the
 * message (GMime): the front binary (main_front.c) runs quota's listing
 * and --recalculate without loading the parser and hands --notify to the
 * full binary, which links this file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/quota_internal.h"
#include "message/header.h"
#include "store/browse.h"
#include "store/clock.h"
#include "store/deliver.h"
#include "store/layout.h"
#include "store/quota.h"
#include "util/escape.h"
#include "util/json.h"

typedef struct tmpl {
	char *text;
	size_t len;
} tmpl;

static int read_template(const char *path, tmpl *t)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) { /* fopen takes one; reading it fails */
		fclose(f);
		f = NULL;
		errno = EISDIR;
	}
	if (!f) {
		fprintf(stderr, "mstore quota: cannot read the template ");
		ms_escape_put(stderr, path);
		fprintf(stderr, ": %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	t->text = NULL;
	t->len = 0;
	FILE *m = open_memstream(&t->text, &t->len);
	int c;
	while (m && (c = fgetc(f)) != EOF)
		if (c != '\r') /* lines end in CRLF once built */
			fputc(c, m);
	fclose(f);
	if (m)
		fclose(m);
	if (!t->text || !strstr(t->text, "\n\n") || strstr(t->text, "\n\n") == t->text) {
		fprintf(stderr, "mstore quota: the template %s is not an RFC 5322 message: it needs header lines, an"
		        " empty line, then the body\n", path);
		free(t->text);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Does the header part (before "\n\n") have the field `name`? */
static bool has_field(const char *text, const char *name)
{
	const char *end = strstr(text, "\n\n");
	size_t n = strlen(name);
	for (const char *p = text; p && p < end; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			return true;
	return false;
}

/* The warning for one account: placeholders replaced, Date and Message-ID
 * added when missing, CRLF line ends. */
static char *build_warning(const tmpl *t, const ms_account *a, ms_usage u, size_t *len)
{
	char used[32], limit[32], pct[16], date[64], host[128] = "localhost";
	time_t now = time(NULL);
	struct tm tm;
	snprintf(used, sizeof used, "%lld", (long long)(u.bytes / (1024 * 1024)));
	snprintf(limit, sizeof limit, "%lld", (long long)a->max_size_mb);
	snprintf(pct, sizeof pct, "%d", ms_quota_percent(u.bytes, a->max_size_mb));
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", localtime_r(&now, &tm));
	gethostname(host, sizeof host - 1);
	const struct { const char *key, *value; } subst[] = {
		{ "%ADDRESS%", a->address }, { "%USED_MB%", used }, { "%LIMIT_MB%", limit }, { "%PERCENT%", pct },
		{ "%DATE%", date },
	};
	char *out = NULL;
	FILE *f = open_memstream(&out, len);
	if (!f)
		return NULL;
	char guid[MS_GUID_NAME_LEN + 1];
	ms_guid_name_new(guid);
	if (!has_field(t->text, "Date"))
		fprintf(f, "Date: %s\r\n", date);
	if (!has_field(t->text, "Message-ID"))
		fprintf(f, "Message-ID: <quota-%.36s@%s>\r\n", guid + 1, host);
	for (const char *p = t->text; *p;) {
		size_t k = 0, ns = sizeof subst / sizeof subst[0];
		while (k < ns && strncmp(p, subst[k].key, strlen(subst[k].key)) != 0)
			k++;
		if (k < ns) {
			fputs(subst[k].value, f);
			p += strlen(subst[k].key);
		} else {
			if (*p == '\n')
				fputc('\r', f);
			fputc(*p++, f);
		}
	}
	fclose(f);
	return out;
}

/* Deliver the warning into the account's INBOX, then note the time. */
static int warn(ms_store *s, const tmpl *t, const ms_account *a, ms_usage u, ms_err *e)
{
	int64_t inbox = 0;
	ms_deliver *dv;
	size_t len;
	if (ms_browse_folder_find(s->db, a->id, "INBOX", '/', &inbox, e) <= 0)
		return e->code ? -1 : ms_err_set(e, MS_E_NOTFOUND, "%s has no INBOX", a->address);
	char *text = build_warning(t, a, u, &len);
	if (!text)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	ms_deliver_target tg = { .account_id = a->id, .folder_id = inbox, .address = a->address,
	                         .max_size_mb = a->max_size_mb, .ignore_quota = true };
	char created[32], from[256] = "";
	time_t now = time(NULL);
	ms_headers h;
	ms_err ignored = { 0 };
	if (ms_headers_parse(text, len, &h, &ignored) == 0) {
		ms_hms_first_address(h.first_from, from, sizeof from, &ignored);
		ms_headers_free(&h);
	}
	ms_clock_internal_date(now, now, created);
	ms_deliver_msg m = { .data = text, .len = len, .created = created, .from = from };
	int rc = ms_deliver_open(s, &tg, NULL, &dv, e);
	if (rc == 0) {
		rc = ms_deliver_batch(dv, &m, 1, e);
		if (rc == 0 && m.status != MS_DELIVER_OK)
			rc = (*e = m.why, -1);
		ms_deliver_close(dv, true);
	}
	free(text);
	return rc < 0 ? -1 : ms_quota_notified_set(s->db, a->id, (int64_t)now, e);
}

int cli_quota_notify_run(ms_store *s, const q_opts *o, bool json, const account_vec *acc)
{
	tmpl t;
	int rc = read_template(o->template_file, &t);
	if (rc != EXIT_OK)
		return rc;
	if (!s->data_dir) {
		free(t.text);
		fprintf(stderr, "mstore quota: --notify needs the data directory (--data DIR)\n");
		return EXIT_CONFIG;
	}
	ms_err e = { 0 };
	usage_vec au = { 0 };
	ms_deliver_recovery rec;
	if (cli_quota_load_usage(s->db, false, &au, &e) < 0 || (!o->dry_run && ms_deliver_recover(s, &rec, &e) < 0)) {
		free(t.text);
		return cli_fail(&e);
	}
	long long pct = o->over_given ? o->over : 90, days = o->interval_given ? o->interval_days : 7;
	time_t now = time(NULL);
	int failed = 0, warned = 0, recent = 0;
	ms_json j;
	if (json) {
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_key(&j, "accounts");
		ms_json_begin_array(&j);
	}
	for (size_t i = 0; i < acc->n; i++) {
		const ms_account *a = &acc->v[i];
		ms_usage u = cli_quota_usage_of(&au, a->id);
		int p = ms_quota_percent(u.bytes, a->max_size_mb);
		if (p < 0 || p < pct)
			continue;
		int64_t last = 0;
		int had = ms_quota_notified_get(s->db, a->id, &last, &e);
		const char *what;
		if (had < 0) {
			what = "failed";
		} else if (had && now - last < days * 86400) {
			what = "warned-recently";
			recent++;
		} else if (o->dry_run) {
			what = "would-warn";
			warned++;
		} else {
			what = warn(s, &t, a, u, &e) < 0 ? "failed" : "warned";
			warned += what[0] == 'w';
		}
		if (what[0] == 'f')
			failed++;
		if (json) {
			ms_json_begin_object(&j);
			ms_json_kv_string(&j, "account", a->address);
			ms_json_kv_int(&j, "percent", p);
			ms_json_kv_string(&j, "result", what);
			if (what[0] == 'f')
				ms_json_kv_string(&j, "reason", e.msg);
			ms_json_end_object(&j);
		} else if (what[0] == 'f') {
			fprintf(stderr, "mstore quota: %s: the warning failed: ", a->address);
			ms_escape_put(stderr, e.msg);
			fputc('\n', stderr);
		} else {
			printf("%s: %d%% of %lld MB: %s\n", a->address, p, (long long)a->max_size_mb, what);
		}
	}
	if (json) {
		ms_json_end_array(&j);
		ms_json_kv_int(&j, "warned", warned);
		ms_json_kv_int(&j, "warned_recently", recent);
		ms_json_kv_int(&j, "failed", failed);
		ms_json_kv_bool(&j, "dry_run", o->dry_run);
		ms_json_end_object(&j);
		ms_json_finish(&j);
	} else {
		printf("%d warned%s, %d warned in the last %lld days, %d failed\n", warned, o->dry_run ? " (dry run)" : "",
		       recent, days, failed);
	}
	ms_vec_free(&au);
	free(t.text);
	return failed ? EXIT_PARTIAL : EXIT_OK;
}
