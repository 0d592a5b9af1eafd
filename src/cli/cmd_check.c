/* cmd_check.c - `mstore check STORE [FOLDER...]`: the integrity of a
 * mailbox (channel/check.h), read-only.
 *
 * STORE is a store of the channel configuration or a path, by the rule
 * of cli/store_arg.h (which `mstore diff` shares).
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "channel/check.h"
#include "channel/config.h"
#include "channel/local_side.h"
#include "channel/pattern.h"
#include "cli/channel_run.h"
#include "cli/cli.h"
#include "cli/store_arg.h"
#include "drivers/driver.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/vec.h"

enum { CK_OK = 0, CK_FOUND = 1, CK_FAIL = 2 };

const char help_check[] =
	"usage: mstore check [-f FILE] [-v] [--json FILE|-] STORE [FOLDER...]\n"
	"\n"
	"Check the integrity of a mailbox, reading only: every folder of STORE (or\n"
	"the FOLDERs named, as the store names them: INBOX, Lists.dev in a Maildir++\n"
	"tree) is opened, every message read once.  Findings, one kind each:\n"
	"  unreadable      a folder that cannot be opened or listed (the other\n"
	"                  folders are still checked), a message that cannot be read,\n"
	"                  an mbox folder whose name holds a control character (no\n"
	"                  store lists such a folder: its name would split lines)\n"
	"  unparsable      a message of 0 bytes, without a single header field, with\n"
	"                  NUL bytes in its header or a header beyond 4 MiB\n"
	"  duplicate       a second message with the same Message-ID as an earlier one\n"
	"                  (the cause says whether the content is the same too), or\n"
	"                  without a Message-ID the same bytes as another; the first\n"
	"                  (lowest UID, oldest) is named, the later one reported\n"
	"  no-message-id   a message without a Message-ID: counted; listed with -v.\n"
	"                  A note, not a defect: mstore channel identifies such a\n"
	"                  message by its digest, so it alone does not make exit 1\n"
	"  maildir-name    an entry of a Maildir that is not a message or folder: a\n"
	"                  file in new/ or cur/ without a valid name or with an info\n"
	"                  other than :2,, a directory or symlink there, a second file\n"
	"                  with the same unique name, a folder directory without cur/\n"
	"                  and new/, a symlink where a folder would be (these last,\n"
	"                  with FOLDER '-', only when the whole store is checked: no\n"
	"                  FOLDER named, a pat of * or none)\n"
	"  mbox-split      an mbox message whose From line follows a non-blank line or\n"
	"                  that has no header: an unquoted \"From \" line in the body of\n"
	"                  the message before it cut that message in two\n"
	"  mbox-truncated  the last message of an mbox cut short: the file ends inside\n"
	"                  a line, its header never ends, or its Content-Length\n"
	"                  promises more bytes than there are\n"
	"\n"
	"STORE is the name of a store in the channel configuration (mstore help\n"
	"channel: kind maildir, mbox, hmailserver, or a mailsync local store), whose\n"
	"pat selects the folders; or a path.  A name with a '/' is always a path\n"
	"(./NAME for one in the current directory); one without is a path only when\n"
	"the configuration has no store of that name (or there is no configuration).\n"
	"A path to a directory with cur/ and new/ is a Maildir++ tree (the directory\n"
	"is INBOX, its .Sub directories the folders); to another directory, a\n"
	"directory of mbox files; to a file, one mbox file (its folder is INBOX).\n"
	"A kind hmailserver store is checked through its driver, message by\n"
	"message as a channel reads it; for a deep check of an hMailServer store\n"
	"(rows against files, the data directory's layout, counters) run\n"
	"'mstore reconstruct -n'.  Its database password: the store's passwd or\n"
	"passfile, else MSTORE_DB_PASSWORD; the database is opened read-only.\n"
	"\n"
	"Options:\n"
	"  -f FILE          the channel configuration (default as mstore channel:\n"
	"                   ~/.config/mstore/channels.conf, else ~/.mailsync)\n"
	"  -v               also list each message without a Message-ID\n"
	"  --json FILE|-    the findings and the summary as JSON into FILE, or on\n"
	"                   stdout for '-' (then without the text)\n"
	"\n"
	"Output: one line per finding, four fields separated by a tab:\n"
	"  KIND  FOLDER  MESSAGE  CAUSE\n"
	"FOLDER is '-' for the store itself; MESSAGE is a Maildir message's file\n"
	"below the store's root (cur/NAME:2,S, .Sub/new/NAME), \"offset N\" for an\n"
	"mbox message (the byte offset of its From line), \"UID N\" elsewhere (a UID\n"
	"of this check's session for a Maildir or mbox), '-' for a folder.  Names\n"
	"are written with control bytes and invalid UTF-8 as \\xHH (a tab in a name\n"
	"too), so every finding is one line and splits at its tabs.  Then a summary\n"
	"line: folders and messages checked and the count of each kind.  Nothing is\n"
	"ever written to the store.\n"
	"\n"
	"Exit codes: 0 nothing found (messages without a Message-ID aside); 1\n"
	"something found; 2 could not run (bad arguments, a configuration error, a\n"
	"store that cannot be opened or listed, a FOLDER that is not there).\n";

typedef struct ck_opts {
	const char *file;
	const char *json_path;
	bool verbose;
} ck_opts;

enum { O_JSON = OPT_FIRST_COMMAND_OPTION };

static bool ck_option(void *data, int opt, const char *arg)
{
	ck_opts *o = data;
	switch (opt) {
	case 'f': o->file = arg; return true;
	case 'v': o->verbose = true; return true;
	case O_JSON: o->json_path = arg; return true;
	default: return false;
	}
}

/* ---- output ----------------------------------------------------------------- */

typedef struct ck_out {
	FILE *txt;        /* NULL when the JSON goes to stdout */
	FILE *jf;         /* NULL without --json */
	ms_json j;
	bool verbose;
	ms_check_stats st;
} ck_out;

static void on_finding(void *ctx, const ms_check_finding *f)
{
	ck_out *o = ctx;
	if (f->kind == MS_CHECK_NO_MSGID && !o->verbose)
		return;
	char msg[4200];
	ms_check_msg_name(f, msg, sizeof msg);
	if (o->txt) {
		fprintf(o->txt, "%s\t", ms_check_kind_name(f->kind));
		ms_escape_put(o->txt, f->folder ? f->folder : "-");
		fputc('\t', o->txt);
		ms_escape_put(o->txt, msg);
		fputc('\t', o->txt);
		ms_escape_put(o->txt, f->cause);
		fputc('\n', o->txt);
	}
	if (o->jf) {
		ms_json_begin_object(&o->j);
		ms_json_kv_string(&o->j, "kind", ms_check_kind_name(f->kind));
		ms_json_kv_string(&o->j, "folder", f->folder);
		ms_json_kv_string(&o->j, "message", f->uid || f->file ? msg : NULL);
		ms_json_kv_string(&o->j, "file", f->file);
		if (f->uid)
			ms_json_kv_int(&o->j, "uid", f->uid);
		if (f->has_offset)
			ms_json_kv_int(&o->j, "offset", (int64_t)f->offset);
		ms_json_kv_string(&o->j, "cause", f->cause);
		ms_json_end_object(&o->j);
	}
}

static bool found_defect(const ms_check_stats *st)
{
	for (int k = 0; k < MS_CHECK_NKINDS; k++)
		if (st->by_kind[k] && ms_check_kind_is_defect((ms_check_kind)k))
			return true;
	return false;
}

static void print_summary(ck_out *o, int rc)
{
	if (o->txt) {
		fprintf(o->txt, "checked %zu folders, %zu messages:", o->st.folders, o->st.messages);
		for (int k = 0; k < MS_CHECK_NKINDS; k++)
			fprintf(o->txt, "%s %s %zu", k ? "," : "", ms_check_kind_name((ms_check_kind)k), o->st.by_kind[k]);
		fputc('\n', o->txt);
	}
	if (o->jf) {
		ms_json_end_array(&o->j);
		ms_json_key(&o->j, "summary");
		ms_json_begin_object(&o->j);
		ms_json_kv_int(&o->j, "folders", (int64_t)o->st.folders);
		ms_json_kv_int(&o->j, "messages", (int64_t)o->st.messages);
		for (int k = 0; k < MS_CHECK_NKINDS; k++)
			ms_json_kv_int(&o->j, ms_check_kind_name((ms_check_kind)k), (int64_t)o->st.by_kind[k]);
		ms_json_end_object(&o->j);
		ms_json_kv_int(&o->j, "exit_code", rc);
		ms_json_end_object(&o->j);
		ms_json_finish(&o->j);
	}
}

/* ---- which store ------------------------------------------------------------ */

/* A side opened for the check, with what it needs freed. */
typedef struct ck_store {
	const char *name;         /* for messages */
	const char *kind;         /* "maildir", "mbox", "hmailserver", "local", ... */
	ms_side *side;
	const ms_chan_store *st;  /* NULL for a path */
	bool single_file;         /* a path to one mbox file: INBOX is the only folder */
} ck_store;

/* Open the store STORE names (cli/store_arg.h), read-only, as `mstore
 * channel` opens it: the same kinds, the same database password rule
 * (passwd or passfile, else MSTORE_DB_PASSWORD). */
static int open_store(const cli_store_arg *a, ck_store *out)
{
	out->st = a->is_path ? NULL : a->st;
	out->kind = a->st->kind ? a->st->kind : "local";
	out->single_file = a->single_file;
	return ch_open_side("check", a->st, true, false, -1, &out->side) < 0 ? CK_FAIL : CK_OK;
}

/* ---- the folders ------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folders to check: the side's boxes that the store's pat selects (a
 * path: all), sorted; or those named, each of which must be there. */
static int folders(ck_store *cs, char **named, int nnamed, ck_out *o, ms_box_info **boxes, size_t *nb,
                   ms_strlist *out)
{
	ms_err e = { 0 };
	ms_side *s = cs->side;
	if (cs->single_file) /* INBOX alone: listing would walk the file's whole directory */
		return ms_strlist_add(out, "INBOX") < 0 ? CK_FAIL : CK_OK;
	if (s->drv->list_boxes(s, boxes, nb, &e) != MS_DRV_OK) {
		fprintf(stderr, "mstore check: %s: cannot list its folders: %s\n", cs->name, e.msg);
		return CK_FAIL;
	}
	const char *pat = cs->st && cs->st->kind ? (cs->st->pat ? cs->st->pat : MS_CHAN_DEFAULT_PAT) : NULL;
	/* the store's own stray entries belong to no folder: reported when
	   the whole store is checked */
	if (nnamed == 0 && (!pat || strcmp(pat, "*") == 0))
		ms_check_side_anomalies(s, on_finding, o, &o->st);
	for (int i = 0; i < nnamed; i++) {
		bool there = false;
		for (size_t k = 0; k < *nb && !there; k++)
			there = strcmp((*boxes)[k].name, named[i]) == 0 && !((*boxes)[k].attrs & MS_BOX_NOSELECT);
		if (!there) {
			fprintf(stderr, "mstore check: %s has no folder ", cs->name);
			ms_escape_put(stderr, named[i]);
			fputc('\n', stderr);
			return CK_FAIL;
		}
		if (ms_strlist_add(out, named[i]) < 0)
			return fprintf(stderr, "mstore check: out of memory\n"), CK_FAIL;
	}
	for (size_t k = 0; nnamed == 0 && k < *nb; k++) {
		const ms_box_info *bi = &(*boxes)[k];
		if ((bi->attrs & MS_BOX_NOSELECT) || (pat && !ms_pat_match(pat, bi->name, s->delim)))
			continue;
		if (ms_strlist_add(out, bi->name) < 0)
			return fprintf(stderr, "mstore check: out of memory\n"), CK_FAIL;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_str);
	return CK_OK;
}

static int open_json(const ck_opts *opt, ck_out *o, const ck_store *cs)
{
	if (!opt->json_path)
		return CK_OK;
	bool to_stdout = strcmp(opt->json_path, "-") == 0;
	o->jf = to_stdout ? stdout : fopen(opt->json_path, "w");
	if (!o->jf) {
		fprintf(stderr, "mstore check: cannot write %s: %s\n", opt->json_path, strerror(errno));
		return CK_FAIL;
	}
	if (to_stdout)
		o->txt = NULL;
	ms_json_init(&o->j, o->jf);
	ms_json_begin_object(&o->j);
	ms_json_kv_string(&o->j, "store", cs->name);
	ms_json_kv_string(&o->j, "kind", cs->kind);
	ms_json_key(&o->j, "findings");
	ms_json_begin_array(&o->j);
	return CK_OK;
}

static int close_json(const ck_opts *opt, ck_out *o)
{
	if (!o->jf || o->jf == stdout)
		return CK_OK;
	if (fclose(o->jf) != 0) {
		fprintf(stderr, "mstore check: cannot write %s: %s\n", opt->json_path, strerror(errno));
		return CK_FAIL;
	}
	return CK_OK;
}

static int check_store(const ck_opts *opt, ck_store *cs, char **named, int nnamed)
{
	ck_out o = { .txt = stdout, .verbose = opt->verbose };
	ms_box_info *boxes = NULL;
	size_t nb = 0;
	ms_strlist list = { 0 };
	int rc = open_json(opt, &o, cs);
	if (rc == CK_OK)
		rc = folders(cs, named, nnamed, &o, &boxes, &nb, &list);
	for (size_t i = 0; rc == CK_OK && i < list.n; i++)
		ms_check_box(cs->side, list.v[i], cs->single_file ? cs->name : NULL, on_finding, &o, &o.st);
	if (rc == CK_OK)
		rc = found_defect(&o.st) ? CK_FOUND : CK_OK;
	if (o.jf || rc != CK_FAIL)
		print_summary(&o, rc);
	if (close_json(opt, &o) != CK_OK)
		rc = CK_FAIL;
	free(list.v);
	ms_box_list_free(boxes, nb);
	return rc;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", required_argument, 0, O_JSON },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "check" };
	ck_opts o = { 0 };
	int i = cli_parse(&ctx, argc, argv, "hf:v", longopts, ck_option, &o);
	if (i >= argc)
		return cli_usage(&ctx, "expected STORE [FOLDER...]");
	ms_chan_config cfg;
	bool have_cfg = false;
	ck_store cs = { .name = argv[i] };
	cli_store_arg sa = { 0 };
	int rc = CK_FAIL;
	if ((strchr(argv[i], '/') || cli_store_config("check", o.file, &cfg, &have_cfg) == 0) &&
	    cli_store_resolve("check", argv[i], &cfg, have_cfg, &sa) == 0)
		rc = open_store(&sa, &cs);
	if (rc == CK_OK) {
		if (cs.single_file && argc - i > 1)
			rc = cli_usage(&ctx, "%s is one mbox file: it has no FOLDER to name", argv[i]);
		else
			rc = check_store(&o, &cs, argv + i + 1, argc - i - 1);
	}
	cli_store_arg_free(&sa);
	if (cs.side)
		cs.side->drv->close(cs.side);
	if (have_cfg)
		ms_chan_config_free(&cfg);
	return rc;
}
