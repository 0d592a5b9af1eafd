/* cmd_diff.c - `mstore diff STORE1 STORE2 [FOLDER...]`: two stores
 * compared message by message by identity, with no state file
 * (channel/diff.h does the comparing; the stores are opened and their
 * folders paired as `mstore channel` opens and pairs them, channel_run.h).
 *
 * A STORE is a store name of the channel configuration or a path.
 * Decided here (the issue leaves it open), and in the help text:
 *   - a word with a '/' is always a path (./Mail forces the path when a
 *     store is called Mail); a word without one is a store name when the
 *     configuration has it, else a path when it exists;
 *   - a path is read as `mstore channel`'s local stores tell formats apart
 *     (channel/local.h): a Maildir directory is a maildir store of layout
 *     maildir++ rooted there (the root is INBOX, .A.B is A/B: Dovecot's
 *     and Courier's layout, the common one); an mbox file is an mbox
 *     store whose INBOX is that file and which has no other folder; any
 *     other directory is an mbox directory (kind mbox: each file a
 *     folder, PATH/INBOX the INBOX).  Other layouts need a configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "channel/config.h"
#include "channel/diff.h"
#include "channel/local.h"
#include "channel/pattern.h"
#include "cli/channel_run.h"
#include "cli/cli.h"
#include "cli/store_arg.h"
#include "util/escape.h"
#include "util/json.h"

const char help_diff[] =
	"usage: mstore diff [-f FILE] [-t msgid|md5] [--quick] [--json FILE|-] [--csv]\n"
	"                   STORE1 STORE2 [FOLDER...]\n"
	"\n"
	"Compare two stores message by message, by identity, with no state file: how\n"
	"to prove that a migration or a channel run lost nothing.  Folders are paired\n"
	"as `mstore channel` pairs them (each store's pat selects them, its prefix is\n"
	"removed, levels are separated by '/'), messages by the channel's identity\n"
	"(the Message-ID as mailsync sanitizes it; a message without one by the\n"
	"SHA-256 of its bytes; -t md5: mailsync's header MD5).  Nothing is written.\n"
	"\n"
	"STORE is a store name of the channel configuration (-f FILE; default\n"
	"~/.config/mstore/channels.conf when it exists, else ~/.mailsync), or a path:\n"
	"  - a word with a '/' is always a path (./Mail when a store is called Mail);\n"
	"    a word without one is a store name when the configuration has it, else a\n"
	"    path when it exists; no configuration is needed for two paths;\n"
	"  - a Maildir directory (cur/, new/, tmp/) is read with the Maildir++ layout\n"
	"    of Dovecot and Courier: the directory is INBOX, .A.B is the folder A/B;\n"
	"  - an mbox file (empty, or starting with \"From \") is one folder, INBOX;\n"
	"  - any other directory is a directory of mbox files (each file a folder,\n"
	"    sub-directories levels, DIR/INBOX the INBOX).\n"
	"  Other layouts (Maildir folders as Sub/Folder, an hMailServer account) need\n"
	"  a store in the configuration (kind maildir with layout verbatim, kind\n"
	"  hmailserver with db, data and account; its database password from passwd,\n"
	"  passfile or MSTORE_DB_PASSWORD).\n"
	"\n"
	"FOLDER...  compare only these folders: pairing names, with * (any levels) and\n"
	"           % (one level) as in pat; a FOLDER that names none is an error.\n"
	"\n"
	"Differences, per folder pair:\n"
	"  folder missing   the folder is on one store only (each of its messages is\n"
	"                   then also missing on the other)\n"
	"  missing          an identity on one store only\n"
	"  duplicate        one identity twice or more in a folder of one store (a true\n"
	"                   duplicate; the first copy, lowest UID, is the one compared)\n"
	"  flags differ     \\Seen \\Answered \\Flagged \\Deleted \\Draft differ (when both\n"
	"                   stores keep flags), or keywords (when both keep keywords)\n"
	"  content differs  the same identity with other bytes (SHA-256 of each copy,\n"
	"                   CRLF read as LF); --quick skips this and fetches only the\n"
	"                   messages without a Message-ID\n"
	"  unreadable       a message that could not be read, so not compared\n"
	"A message without a Message-ID is known by the digest of its bytes: one\n"
	"changed on one side is missing on each side (two lines), not \"content\n"
	"differs\".\n"
	"\n"
	"Options:\n"
	"  -f FILE          the channel configuration\n"
	"  -t msgid|md5     message identity, as mstore channel's -t (default msgid)\n"
	"  --quick          identities and flags only: no content comparison\n"
	"  --json FILE|-    the differences as JSON into FILE or on stdout (-); the text\n"
	"                   report then goes to stderr when JSON takes stdout\n"
	"  --csv            the differences as CSV on stdout instead of the text: a\n"
	"                   header line, then folder,kind,store,ident,uid1,uid2,flags1,\n"
	"                   flags2,detail (RFC 4180 quoting; names escaped as below)\n"
	"\n"
	"Output: one line per difference,\n"
	"  FOLDER: folder missing on STORE (N messages on OTHER)\n"
	"  FOLDER: missing on STORE: IDENT (uid U on OTHER)\n"
	"  FOLDER: duplicate on STORE: IDENT (N copies)\n"
	"  FOLDER: flags differ: IDENT: STORE1 FLAGS, STORE2 FLAGS\n"
	"  FOLDER: content differs: IDENT (uid U on STORE1, uid V on STORE2)\n"
	"  FOLDER: unreadable on STORE: uid U: WHY\n"
	"  FOLDER: not compared: WHY\n"
	"then a summary per folder pair and one for the whole:\n"
	"  folder FOLDER: N on STORE1, M on STORE2, S same, A missing on STORE1, B\n"
	"  missing on STORE2, F flags differ, C content differs, D duplicates, U\n"
	"  unreadable\n"
	"  STORE1 and STORE2 are equal | differ: N differences in K folders\n"
	"FLAGS are letters as in mstore channel -m (D draft, F flagged, R answered,\n"
	"S seen, T deleted; - none), keywords after them in brackets.  FOLDER is the\n"
	"pairing name, IDENT the identity; every name is written with control bytes\n"
	"and invalid UTF-8 as \\xHH, so each difference stays one line.\n"
	"\n"
	"Exit codes: 0 the stores are equal; 1 they differ; 2 the comparison could not\n"
	"be made or not completely (bad options or configuration, a store that cannot\n"
	"be opened, a folder that cannot be read, a FOLDER that names none).\n";

enum { O_JSON = OPT_FIRST_COMMAND_OPTION, O_CSV, O_QUICK };

typedef struct diff_opts {
	const char *file;
	const char *json;
	bool csv, quick;
	ms_ident_mode ident;
	const char *bad;
} diff_opts;

static bool diff_option(void *data, int opt, const char *arg)
{
	diff_opts *o = data;
	switch (opt) {
	case 'f': o->file = arg; return true;
	case O_JSON: o->json = arg; return true;
	case O_CSV: o->csv = true; return true;
	case O_QUICK: o->quick = true; return true;
	case 't':
		if (strcmp(arg, "msgid") == 0)
			o->ident = MS_IDENT_MSGID;
		else if (strcmp(arg, "md5") == 0)
			o->ident = MS_IDENT_MD5;
		else
			o->bad = "-t takes msgid or md5";
		return true;
	default: return false;
	}
}

/* ---- folders ------------------------------------------------------------------------ */

/* Keep the pairs whose pairing name one of the FOLDER patterns matches;
 * -1 when a pattern matches none. */
static int select_folders(ch_pairs *p, char **folders, int n)
{
	bool *keep = calloc(p->n + 1, sizeof *keep);
	if (!keep)
		return fprintf(stderr, "mstore diff: out of memory\n"), -1;
	int rc = 0;
	for (int k = 0; k < n; k++) {
		bool any = false;
		for (size_t i = 0; i < p->n; i++)
			if (ms_pat_match(folders[k], p->pairname[i], '/'))
				keep[i] = any = true;
		if (!any) {
			fprintf(stderr, "mstore diff: no folder of either store is named ");
			ms_escape_put(stderr, folders[k]);
			fprintf(stderr, "\n");
			rc = -1;
		}
	}
	size_t j = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (keep[i]) {
			p->v[j] = p->v[i];
			p->present[j][0] = p->present[i][0];
			p->present[j][1] = p->present[i][1];
			p->pairname[j++] = p->pairname[i];
		} else {
			free((char *)p->v[i].box[0]);
			free((char *)p->v[i].box[1]);
			free(p->pairname[i]);
		}
	}
	p->n = j;
	free(keep);
	return rc;
}

/* ---- text ----------------------------------------------------------------------------- */

typedef struct view {
	const char *name[2];       /* the stores as the user named them */
	const ch_pairs *p;
	const ms_diff_report *r;
} view;

static void flags_text(char *buf, size_t len, unsigned f, const char *kw)
{
	static const struct { unsigned bit; char c; } letters[] = {
		{ MS_FLAG_DRAFT, 'D' }, { MS_FLAG_FLAGGED, 'F' }, { MS_FLAG_ANSWERED, 'R' },
		{ MS_FLAG_SEEN, 'S' }, { MS_FLAG_DELETED, 'T' },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof letters / sizeof *letters; i++)
		if (f & letters[i].bit)
			buf[n++] = letters[i].c;
	if (!n)
		buf[n++] = '-';
	buf[n] = '\0';
	if (kw && *kw) {
		char esc[512];
		ms_escape(esc, sizeof esc, kw);
		snprintf(buf + n, len - n, " [%s]", esc);
	}
}

static void put(FILE *f, const char *s)
{
	ms_escape_put(f, s ? s : "");
}

static void text_item(FILE *f, const view *v, const ms_diff_box *b, const ms_diff_item *it)
{
	int s = it->side, o = 1 - s;
	switch (it->kind) {
	case MS_DIFF_BOX_MISSING:
		fprintf(f, "folder missing on "), put(f, v->name[s]);
		fprintf(f, " (%zu messages on ", b->count[o]), put(f, v->name[o]), fprintf(f, ")");
		break;
	case MS_DIFF_MISSING:
		fprintf(f, "missing on "), put(f, v->name[s]), fprintf(f, ": "), put(f, it->ident);
		fprintf(f, " (uid %u on ", it->uid[o]), put(f, v->name[o]), fprintf(f, ")");
		break;
	case MS_DIFF_DUPLICATE:
		fprintf(f, "duplicate on "), put(f, v->name[s]), fprintf(f, ": "), put(f, it->ident);
		fprintf(f, " (%zu copies)", it->copies);
		break;
	case MS_DIFF_FLAGS: {
		char fl[2][600];
		flags_text(fl[0], sizeof fl[0], it->flags[0], it->keywords[0]);
		flags_text(fl[1], sizeof fl[1], it->flags[1], it->keywords[1]);
		fprintf(f, "flags differ: "), put(f, it->ident), fprintf(f, ": ");
		put(f, v->name[0]), fprintf(f, " %s, ", fl[0]), put(f, v->name[1]), fprintf(f, " %s", fl[1]);
		break;
	}
	case MS_DIFF_CONTENT:
		fprintf(f, "content differs: "), put(f, it->ident);
		fprintf(f, " (uid %u on ", it->uid[0]), put(f, v->name[0]);
		fprintf(f, ", uid %u on ", it->uid[1]), put(f, v->name[1]), fprintf(f, ")");
		break;
	case MS_DIFF_UNREADABLE:
		fprintf(f, "unreadable on "), put(f, v->name[s]), fprintf(f, ": uid %u: ", it->uid[s]), put(f, it->why);
		break;
	}
	fputc('\n', f);
}

static void text_box(FILE *f, const view *v, size_t i)
{
	const ms_diff_box *b = &v->r->boxes.v[i];
	const char *pn = v->p->pairname[i];
	for (size_t k = 0; k < b->items.n; k++) {
		put(f, pn), fprintf(f, ": ");
		text_item(f, v, b, &b->items.v[k]);
	}
	if (b->error) {
		put(f, pn), fprintf(f, ": not compared: "), put(f, b->error), fputc('\n', f);
		return;
	}
	fprintf(f, "folder "), put(f, pn), fprintf(f, ": %zu on ", b->count[0]), put(f, v->name[0]);
	fprintf(f, ", %zu on ", b->count[1]), put(f, v->name[1]);
	fprintf(f, ", %zu same, %zu missing on ", b->same, b->n[MS_DIFF_MISSING][0]), put(f, v->name[0]);
	fprintf(f, ", %zu missing on ", b->n[MS_DIFF_MISSING][1]), put(f, v->name[1]);
	fprintf(f, ", %zu flags differ, %zu content differs, %zu duplicates, %zu unreadable\n", b->n[MS_DIFF_FLAGS][0],
	        b->n[MS_DIFF_CONTENT][0], b->n[MS_DIFF_DUPLICATE][0] + b->n[MS_DIFF_DUPLICATE][1],
	        b->n[MS_DIFF_UNREADABLE][0] + b->n[MS_DIFF_UNREADABLE][1]);
}

static void text_report(FILE *f, const view *v)
{
	size_t folders = 0;
	for (size_t i = 0; i < v->r->boxes.n; i++) {
		text_box(f, v, i);
		folders += v->r->boxes.v[i].items.n > 0 || v->r->boxes.v[i].error;
	}
	put(f, v->name[0]), fprintf(f, " and "), put(f, v->name[1]);
	if (v->r->failed)
		fprintf(f, ": %zu folders could not be compared; %zu differences in the others\n", v->r->failed,
		        v->r->differences);
	else if (v->r->differences)
		fprintf(f, " differ: %zu differences in %zu folders\n", v->r->differences, folders);
	else
		fprintf(f, " are equal (%zu folders)\n", v->r->boxes.n);
}

/* ---- CSV ------------------------------------------------------------------------------- */

/* One field: escaped for a line (ms_escape), then quoted as RFC 4180
 * wants when it holds a comma or a quote. */
static void csv_field(FILE *f, const char *s, bool last)
{
	char esc[4096];
	ms_escape(esc, sizeof esc, s ? s : "");
	if (strpbrk(esc, ",\"")) {
		fputc('"', f);
		for (const char *p = esc; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else {
		fputs(esc, f);
	}
	fputc(last ? '\n' : ',', f);
}

static void csv_uint(FILE *f, uint32_t v)
{
	if (v)
		fprintf(f, "%u,", v);
	else
		fputc(',', f);
}

static void csv_report(FILE *f, const view *v)
{
	fprintf(f, "folder,kind,store,ident,uid1,uid2,flags1,flags2,detail\n");
	for (size_t i = 0; i < v->r->boxes.n; i++) {
		const ms_diff_box *b = &v->r->boxes.v[i];
		for (size_t k = 0; k < b->items.n; k++) {
			const ms_diff_item *it = &b->items.v[k];
			char fl[2][600] = { "", "" }, detail[64] = "";
			if (it->kind == MS_DIFF_FLAGS)
				for (int s = 0; s < 2; s++)
					flags_text(fl[s], sizeof fl[s], it->flags[s], it->keywords[s]);
			if (it->kind == MS_DIFF_DUPLICATE)
				snprintf(detail, sizeof detail, "%zu copies", it->copies);
			csv_field(f, v->p->pairname[i], false);
			csv_field(f, ms_diff_kind_name(it->kind), false);
			csv_field(f, it->side >= 0 ? v->name[it->side] : "", false);
			csv_field(f, it->ident, false);
			csv_uint(f, it->uid[0]);
			csv_uint(f, it->uid[1]);
			csv_field(f, fl[0], false);
			csv_field(f, fl[1], false);
			csv_field(f, it->why ? it->why : detail, true);
		}
		if (b->error) {
			csv_field(f, v->p->pairname[i], false);
			fprintf(f, "error,,,,,,,");
			csv_field(f, b->error, true);
		}
	}
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void json_pair_int(ms_json *j, const char *key, size_t a, size_t b)
{
	ms_json_key(j, key);
	ms_json_begin_array(j);
	ms_json_int(j, (int64_t)a);
	ms_json_int(j, (int64_t)b);
	ms_json_end_array(j);
}

static void json_item(ms_json *j, const view *v, const ms_diff_item *it)
{
	ms_json_begin_object(j);
	ms_json_kv_string(j, "kind", ms_diff_kind_name(it->kind));
	ms_json_kv_string(j, "store", it->side >= 0 ? v->name[it->side] : NULL);
	ms_json_kv_string(j, "ident", it->ident);
	json_pair_int(j, "uid", it->uid[0], it->uid[1]);
	if (it->kind == MS_DIFF_FLAGS) {
		json_pair_int(j, "flags", it->flags[0], it->flags[1]);
		ms_json_key(j, "keywords");
		ms_json_begin_array(j);
		ms_json_string(j, it->keywords[0]);
		ms_json_string(j, it->keywords[1]);
		ms_json_end_array(j);
	}
	if (it->kind == MS_DIFF_DUPLICATE)
		ms_json_kv_int(j, "copies", (int64_t)it->copies);
	if (it->why)
		ms_json_kv_string(j, "why", it->why);
	ms_json_end_object(j);
}

static void json_box(ms_json *j, const view *v, size_t i)
{
	const ms_diff_box *b = &v->r->boxes.v[i];
	ms_json_begin_object(j);
	ms_json_kv_string(j, "folder", v->p->pairname[i]);
	ms_json_key(j, "box");
	ms_json_begin_array(j);
	ms_json_string(j, b->box[0]);
	ms_json_string(j, b->box[1]);
	ms_json_end_array(j);
	ms_json_key(j, "present");
	ms_json_begin_array(j);
	ms_json_bool(j, b->present[0]);
	ms_json_bool(j, b->present[1]);
	ms_json_end_array(j);
	json_pair_int(j, "count", b->count[0], b->count[1]);
	ms_json_kv_int(j, "same", (int64_t)b->same);
	json_pair_int(j, "missing", b->n[MS_DIFF_MISSING][0], b->n[MS_DIFF_MISSING][1]);
	json_pair_int(j, "duplicates", b->n[MS_DIFF_DUPLICATE][0], b->n[MS_DIFF_DUPLICATE][1]);
	json_pair_int(j, "unreadable", b->n[MS_DIFF_UNREADABLE][0], b->n[MS_DIFF_UNREADABLE][1]);
	ms_json_kv_int(j, "flags", (int64_t)b->n[MS_DIFF_FLAGS][0]);
	ms_json_kv_int(j, "content", (int64_t)b->n[MS_DIFF_CONTENT][0]);
	ms_json_kv_string(j, "error", b->error);
	ms_json_key(j, "differences");
	ms_json_begin_array(j);
	for (size_t k = 0; k < b->items.n; k++)
		json_item(j, v, &b->items.v[k]);
	ms_json_end_array(j);
	ms_json_end_object(j);
}

static int json_report(const char *path, const view *v, int rc)
{
	bool to_stdout = strcmp(path, "-") == 0;
	FILE *f = to_stdout ? stdout : fopen(path, "w");
	if (!f) {
		fprintf(stderr, "mstore diff: cannot write %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	ms_json j;
	ms_json_init(&j, f);
	ms_json_begin_object(&j);
	ms_json_key(&j, "stores");
	ms_json_begin_array(&j);
	ms_json_string(&j, v->name[0]);
	ms_json_string(&j, v->name[1]);
	ms_json_end_array(&j);
	ms_json_kv_bool(&j, "equal", rc == 0);
	ms_json_kv_int(&j, "differences", (int64_t)v->r->differences);
	ms_json_kv_int(&j, "failed", (int64_t)v->r->failed);
	ms_json_key(&j, "folders");
	ms_json_begin_array(&j);
	for (size_t i = 0; i < v->r->boxes.n; i++)
		json_box(&j, v, i);
	ms_json_end_array(&j);
	ms_json_kv_int(&j, "exit_code", rc);
	ms_json_end_object(&j);
	ms_json_finish(&j);
	if (!to_stdout && fclose(f) != 0) {
		fprintf(stderr, "mstore diff: cannot write %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	return rc;
}

/* ---- the command --------------------------------------------------------------------------- */

/* Open, pair, compare, report.  0 equal, 1 differ, 2 could not. */
static int diff(const diff_opts *o, const ms_chan_store *st[2], char **folders, int nfolders)
{
	ms_side *sides[2] = { NULL, NULL };
	ch_pairs p = { 0 };
	ms_diff_report r = { 0 };
	int rc = EXIT_USAGE;
	if (ch_open_side("diff", st[0], true, false, -1, &sides[0]) < 0 ||
	    ch_open_side("diff", st[1], true, false, -1, &sides[1]) < 0 || ch_make_pairs("diff", sides, st, false, &p) < 0)
		goto out;
	if (nfolders && select_folders(&p, folders, nfolders) < 0)
		goto out;
	ms_diff_opts dopt = { .ident = o->ident, .content = !o->quick };
	ms_err e = { 0 };
	if (ms_diff_run(sides, p.v, (const bool (*)[2])p.present, p.n, &dopt, &r, &e) < 0) {
		fprintf(stderr, "mstore diff: %s\n", e.msg);
		goto out;
	}
	rc = r.failed ? EXIT_USAGE : r.differences ? 1 : 0;
	view v = { .name = { st[0]->name, st[1]->name }, .p = &p, .r = &r };
	if (o->csv)
		csv_report(stdout, &v);
	else
		text_report(o->json && strcmp(o->json, "-") == 0 ? stderr : stdout, &v);
	if (o->json)
		rc = json_report(o->json, &v, rc);
out:
	ms_diff_report_free(&r);
	ch_pairs_free(&p);
	for (int s = 0; s < 2; s++)
		if (sides[s])
			sides[s]->drv->close(sides[s]);
	return rc;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", required_argument, 0, O_JSON },
		{ "csv", no_argument, 0, O_CSV },
		{ "quick", no_argument, 0, O_QUICK },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "diff" };
	diff_opts o = { 0 };
	int i = cli_parse(&ctx, argc, argv, "hf:t:", longopts, diff_option, &o);
	if (o.bad)
		return cli_usage(&ctx, "%s", o.bad);
	if (argc - i < 2)
		return cli_usage(&ctx, "expected STORE1 STORE2 [FOLDER...], found %d names", argc - i);
	if (o.csv && o.json && strcmp(o.json, "-") == 0)
		return cli_usage(&ctx, "--csv and --json - both want stdout: give --json a FILE");
	ms_chan_config cfg = { 0 };
	bool have = false;
	/* two paths need no configuration (a broken one does not stop them) */
	bool need = o.file || !strchr(argv[i], '/') || !strchr(argv[i + 1], '/');
	if (need && cli_store_config("diff", o.file, &cfg, &have) < 0)
		return EXIT_USAGE;
	cli_store_arg sa[2] = { 0 };
	int rc = EXIT_USAGE;
	if (cli_store_resolve("diff", argv[i], &cfg, have, &sa[0]) == 0 &&
	    cli_store_resolve("diff", argv[i + 1], &cfg, have, &sa[1]) == 0) {
		const ms_chan_store *st[2] = { sa[0].st, sa[1].st };
		rc = diff(&o, st, argv + i + 2, argc - i - 2);
	}
	cli_store_arg_free(&sa[0]);
	cli_store_arg_free(&sa[1]);
	if (have)
		ms_chan_config_free(&cfg);
	return rc;
}
