/* mstore export MAILBOX --maildir DIR | --mbox DIR (imsexport).
 *
 * Built on the channel's drivers (src/drivers/driver.h): the account is
 * an hmailserver side opened read-only, the target a maildir or mbox
 * side, and each folder is copied the way the channel engine copies
 * (list in pages, fetch a batch, line ends turned into the target's,
 * append with flags and internal date).  No format is written here: the
 * Maildir's file names and info suffixes, the mbox's From lines, mboxrd
 * quoting, Status/X-Status and locking are the drivers'.
 *
 * Decisions: the target must be new or empty (a second export into the
 * same place would duplicate every message, and an export is no sync:
 * `mstore channel` is the tool that keeps two stores in step); public
 * folders are not exported (the hmailserver driver serves one account).
 */
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "drivers/driver.h"
#include "util/escape.h"
#include "util/json.h"

const char help_export[] =
	"usage: mstore export user/ADDRESS[/FOLDER] --maildir DIR | --mbox DIR [-n] [-v] [--json]\n\n"
	"Write an account's folders (all of them, or FOLDER and its sub-folders;\n"
	"levels separated by '/') out in a standard format that mutt, Dovecot and\n"
	"other clients read, with each message's flags (\\Seen \\Answered \\Flagged\n"
	"\\Deleted \\Draft) and internal date:\n\n"
	"--maildir DIR   a Maildir++ tree: DIR is the INBOX, folder A/B is DIR/.A.B;\n"
	"                flags in the file names (:2,FRS...), the internal date as mtime\n"
	"--mbox DIR      a directory of mbox files (mboxrd): DIR/INBOX, DIR/A/B; flags\n"
	"                in Status: and X-Status:, the internal date in the From line\n\n"
	"A folder with no message but sub-folders is written only as their parent\n"
	"level (in an mbox directory, a directory).  "
	"DIR is created when missing and must otherwise be empty: an export is a\n"
	"copy, not a synchronization (see 'mstore channel' for that).  Lines end in LF\n"
	"in the exported files (hMailServer keeps CRLF).  The store is opened\n"
	"read-only: the export never changes it.  Public folders are not exported.\n\n"
	"-n, --dry-run   count what would be written, write nothing\n"
	"-v              one line per folder: FOLDER messages bytes\n"
	"--json          the summary (folders, messages, bytes) as JSON\n\n"
	"Exit 0 done, 1 some messages could not be exported (named on stderr),\n"
	"2 bad arguments (no such account or folder, a non-empty DIR).\n";

enum { O_MAILDIR = OPT_FIRST_COMMAND_OPTION, O_MBOX };

struct export_opts {
	const char *maildir, *mbox;
	bool dry_run;
	int verbose;
};

static bool export_option(void *data, int opt, const char *arg)
{
	struct export_opts *o = data;
	switch (opt) {
	case O_MAILDIR: o->maildir = arg; return true;
	case O_MBOX: o->mbox = arg; return true;
	case 'n': o->dry_run = true; return true;
	case 'v': o->verbose++; return true;
	}
	return false;
}

typedef struct export_run {
	ms_side *src, *dst;
	size_t folders, messages, failed;
	uint64_t bytes;
	bool dry_run, verbose, json;
	/* the batch being fetched */
	ms_append *app;
	char **bytes_of;
	const ms_msg *msgs;
	size_t nfetched;
} export_run;

/* A side of `drv` over `opts` (key/value pairs), read-only or not. */
static int open_side(const ms_side_driver *drv, const char *name, const ms_side_opt *opts, size_t n, bool ro,
                     ms_side **out, ms_err *e)
{
	ms_side_conf conf = { .name = name, .opts = opts, .nopts = n, .read_only = ro };
	return drv->open(&conf, out, e) == MS_DRV_OK ? 0 : -1;
}

/* The bytes with LF line ends (hMailServer stores CRLF) or CRLF ones. */
static char *to_eol(const char *d, size_t n, bool crlf, size_t *out)
{
	char *o = malloc(crlf ? 2 * n + 1 : n + 1);
	size_t k = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!crlf && d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')
			continue;
		if (crlf && d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			o[k++] = '\r';
		o[k++] = d[i];
	}
	*out = k;
	return o;
}

static void on_fetch(void *ctx, size_t i, ms_drv_result r, const char *data, size_t len, const ms_err *why)
{
	export_run *x = ctx;
	if (r != MS_DRV_OK) {
		fprintf(stderr, "mstore export: message UID %u: %s\n", x->msgs[i].uid, why ? why->msg : "cannot be read");
		x->failed++;
		return;
	}
	size_t n = 0;
	char *b = to_eol(data, len, x->dst->caps & MS_CAP_CRLF, &n);
	if (!b) {
		x->failed++;
		return;
	}
	x->bytes_of[x->nfetched] = b;
	x->app[x->nfetched++] = (ms_append){ .data = b, .len = n, .flags = x->msgs[i].flags,
	                                     .internal_date = x->msgs[i].internal_date };
	x->bytes += n;
}

static void on_append(void *ctx, size_t i, ms_drv_result r, uint32_t uid, const char *key, const ms_err *why)
{
	export_run *x = ctx;
	(void)uid, (void)key;
	(void)i;
	if (r == MS_DRV_OK)
		x->messages++;
	else {
		x->failed++;
		fprintf(stderr, "mstore export: %s\n", why ? why->msg : "a message could not be written");
	}
}

/* Copy one page of messages: fetch them all, append them all. */
static int copy_page(export_run *x, ms_box *from, ms_box *to, const ms_msg *m, size_t n, ms_err *e)
{
	uint32_t *uids = calloc(n, sizeof *uids);
	x->app = calloc(n, sizeof *x->app);
	x->bytes_of = calloc(n, sizeof *x->bytes_of);
	int rc = -1;
	if (!uids || !x->app || !x->bytes_of) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		uids[k] = m[k].uid;
	x->msgs = m;
	x->nfetched = 0;
	if (x->src->drv->fetch(from, uids, n, on_fetch, x, e) != MS_DRV_OK)
		goto out;
	if (!x->dry_run && x->nfetched &&
	    x->dst->drv->append(to, x->app, x->nfetched, on_append, x, e) != MS_DRV_OK)
		goto out;
	if (x->dry_run)
		x->messages += x->nfetched;
	rc = 0;
out:
	for (size_t k = 0; x->bytes_of && k < x->nfetched; k++)
		free(x->bytes_of[k]);
	free(x->bytes_of);
	free(x->app);
	free(uids);
	x->app = NULL;
	x->bytes_of = NULL;
	return rc;
}

static int copy_box(export_run *x, const char *src_name, const char *dst_name, const char *shown, bool has_children,
                    ms_err *e)
{
	ms_box *from = NULL, *to = NULL;
	if (x->src->drv->open_box(x->src, src_name, &from, e) != MS_DRV_OK)
		return -1;
	/* an empty folder with sub-folders is only a level of the hierarchy:
	 * in an mbox directory it is the directory of its children, and a file
	 * of the same name beside it would make them impossible */
	if (from->status.count == 0 && has_children) {
		x->src->drv->close_box(from);
		return 0;
	}
	if (!x->dry_run && (x->dst->drv->create_box(x->dst, dst_name, e) != MS_DRV_OK ||
	                    x->dst->drv->open_box(x->dst, dst_name, &to, e) != MS_DRV_OK)) {
		x->src->drv->close_box(from);
		return -1;
	}
	size_t before = x->messages;
	uint64_t bytes_before = x->bytes;
	ms_list_req req = { .max = 256 };
	int rc = 0;
	for (;;) {
		ms_msg *m = NULL;
		size_t n = 0;
		if (x->src->drv->list_msgs(from, &req, &m, &n, e) != MS_DRV_OK) {
			rc = -1;
			break;
		}
		if (n == 0) {
			ms_msg_list_free(m, n);
			break;
		}
		req.after_uid = m[n - 1].uid;
		rc = copy_page(x, from, to, m, n, e);
		ms_msg_list_free(m, n);
		if (rc < 0)
			break;
	}
	x->src->drv->close_box(from);
	if (to)
		x->dst->drv->close_box(to);
	x->folders++;
	if (x->verbose && !x->json) {
		ms_escape_put(stdout, shown);
		printf("\t%zu\t%llu\n", x->messages - before, (unsigned long long)(x->bytes - bytes_before));
	}
	return rc;
}

/* The source box name (server delimiter) as '/'-separated levels, and as
 * the target names it; false when a level holds the target's delimiter. */
static bool map_name(const char *src, char sdelim, char ddelim, char *slash, char *dst, size_t len)
{
	snprintf(slash, len, "%s", src);
	snprintf(dst, len, "%s", src);
	for (size_t k = 0; slash[k]; k++) {
		if (src[k] == sdelim) {
			slash[k] = '/';
			dst[k] = ddelim;
		} else if (src[k] == ddelim || src[k] == '/') {
			return false;
		}
	}
	return true;
}

static bool dir_empty_or_new(const char *path, bool *made, ms_err *e)
{
	*made = false;
	DIR *d = opendir(path);
	if (!d) {
		if (errno != ENOENT)
			return ms_err_set(e, MS_E_IO, "cannot read %s: %s", path, strerror(errno)), false;
		return true;
	}
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	if (!empty)
		ms_err_set(e, MS_E_USAGE, "%s is not empty: export writes into a new or empty directory", path);
	return empty;
}

/* Whether the '/'-separated name `slash` is `folder` or below it (no
 * folder asked for: every one). */
static bool in_folder(const char *slash, const char *folder)
{
	size_t fl = folder ? strlen(folder) : 0;
	return !folder || strcasecmp(slash, folder) == 0 || (strncasecmp(slash, folder, fl) == 0 && slash[fl] == '/');
}

/* Whether the account has `folder` (listed, or skipped for its name):
 * asked before anything is made, so a refused export leaves no target
 * behind for its corrected rerun to refuse. */
static int has_folder(export_run *x, const char *folder, ms_err *e)
{
	ms_box_info *boxes = NULL;
	size_t nb = 0, n = 0;
	if (x->src->drv->list_boxes(x->src, &boxes, &nb, e) != MS_DRV_OK)
		return -1;
	bool found = false;
	for (size_t k = 0; k < nb && !found; k++) {
		char slash[1100], dst[1100];
		map_name(boxes[k].name, x->src->delim, 0, slash, dst, sizeof slash);
		found = in_folder(slash, folder);
	}
	ms_box_list_free(boxes, nb);
	const ms_skipped_entry *v = x->src->drv->skipped ? x->src->drv->skipped(x->src, NULL, &n) : NULL;
	for (size_t i = 0; i < n && !found; i++)
		found = in_folder(v[i].path, folder);
	if (!found) {
		char esc[1200];
		ms_escape(esc, sizeof esc, folder);
		ms_err_set(e, MS_E_NOTFOUND, "the account has no folder %s", esc);
	}
	return found ? 1 : 0;
}

/* The folders the side could not list under a name (a level holding its
 * hierarchy delimiter): each one asked for (or below it) is named on
 * stderr and counted as failed, never exported as another folder. */
static void skipped_boxes(export_run *x, const char *folder, size_t *matched)
{
	size_t n = 0;
	const ms_skipped_entry *v = x->src->drv->skipped ? x->src->drv->skipped(x->src, NULL, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (!in_folder(v[i].path, folder))
			continue;
		char esc[1200];
		ms_escape(esc, sizeof esc, v[i].path);
		fprintf(stderr, "mstore export: folder %s not exported: %s\n", esc, v[i].why);
		x->failed++;
		++*matched;
	}
}

static int export_run_boxes(export_run *x, const char *folder, ms_err *e)
{
	ms_box_info *boxes = NULL;
	size_t nb = 0;
	if (x->src->drv->list_boxes(x->src, &boxes, &nb, e) != MS_DRV_OK)
		return -1;
	int rc = 0;
	size_t matched = 0;
	char ddelim = x->dst->delim;
	for (size_t k = 0; k < nb && rc == 0; k++) {
		char slash[1100], dst[1100];
		if (boxes[k].attrs & MS_BOX_NOSELECT)
			continue;
		if (!map_name(boxes[k].name, x->src->delim, ddelim, slash, dst, sizeof slash)) {
			char esc[1200];
			ms_escape(esc, sizeof esc, boxes[k].name);
			fprintf(stderr, "mstore export: folder %s not exported: a level holds '%c', the target's delimiter\n",
			        esc, ddelim);
			x->failed++;
			continue;
		}
		if (!in_folder(slash, folder))
			continue;
		matched++;
		rc = copy_box(x, boxes[k].name, dst, slash, boxes[k].attrs & MS_BOX_HAS_CHILDREN, e);
	}
	ms_box_list_free(boxes, nb);
	skipped_boxes(x, folder, &matched);
	if (rc == 0 && folder && matched == 0) {
		char esc[1200];
		ms_escape(esc, sizeof esc, folder);
		return ms_err_set(e, MS_E_NOTFOUND, "the account has no folder %s", esc);
	}
	return rc;
}

static int export_main(cli_ctx *ctx, struct export_opts *o, const char *mailbox)
{
	char address[300];
	const char *folder = NULL;
	if (strncmp(mailbox, "user/", 5) != 0 || !mailbox[5])
		return cli_usage(ctx, "MAILBOX is user/ADDRESS or user/ADDRESS/FOLDER (public folders are not exported)");
	const char *slash = strchr(mailbox + 5, '/');
	snprintf(address, sizeof address, "%.*s", slash ? (int)(slash - mailbox - 5) : (int)strlen(mailbox + 5),
	         mailbox + 5);
	if (slash && slash[1])
		folder = slash + 1;
	ms_config cfg;
	int rc = cli_config(ctx, &cfg);
	if (rc != EXIT_OK)
		return rc;
	ms_err e = { 0 };
	export_run x = { .dry_run = o->dry_run, .verbose = o->verbose > 0, .json = ctx->json };
	const char *target = o->maildir ? o->maildir : o->mbox;
	bool made;
	if (!cfg.db_url || !cfg.data_dir) {
		ms_config_free(&cfg);
		fprintf(stderr, "mstore export: the store needs --db and --data (or mstore.conf)\n");
		return EXIT_CONFIG;
	}
	ms_side_opt src_opts[] = { { "db", cfg.db_url }, { "data", cfg.data_dir }, { "account", address },
	                           { "password", cfg.db_password } };
	ms_side_opt dst_opts[] = { { "path", target }, { "create", "yes" }, { "layout", "maildir++" } };
	if (!dir_empty_or_new(target, &made, &e) ||
	    open_side(&ms_drv_hmailserver, "store", src_opts, cfg.db_password ? 4 : 3, true, &x.src, &e) < 0) {
		ms_config_free(&cfg);
		return cli_fail(&e);
	}
	if (folder && has_folder(&x, folder, &e) <= 0) {
		x.src->drv->close(x.src);
		ms_config_free(&cfg);
		return cli_fail(&e);
	}
	if (!o->dry_run && o->mbox && mkdir(target, 0700) < 0 && errno != EEXIST) {
		ms_err_set(&e, MS_E_IO, "cannot create %s: %s", target, strerror(errno));
		rc = -1;
	} else if (o->dry_run) {
		/* nothing is written: the target side is not even opened; names are
		 * mapped with the delimiter it would have */
		static ms_side dry = { .delim = '.' };
		dry.delim = o->maildir ? '.' : '/';
		dry.caps = 0;
		x.dst = &dry;
		rc = export_run_boxes(&x, folder, &e);
		x.dst = NULL;
	} else if (open_side(o->maildir ? &ms_drv_maildir : &ms_drv_mbox, "export", dst_opts, o->maildir ? 3 : 1,
	                     false, &x.dst, &e) < 0) {
		rc = -1;
	} else {
		rc = export_run_boxes(&x, folder, &e);
	}
	if (x.dst)
		x.dst->drv->close(x.dst);
	x.src->drv->close(x.src);
	ms_config_free(&cfg);
	if (ctx->json) {
		ms_json j;
		ms_json_init(&j, stdout);
		ms_json_begin_object(&j);
		ms_json_kv_string(&j, "mailbox", mailbox);
		ms_json_kv_string(&j, "format", o->maildir ? "maildir" : "mbox");
		ms_json_kv_string(&j, "target", target);
		ms_json_kv_bool(&j, "dry_run", o->dry_run);
		ms_json_kv_int(&j, "folders", (int64_t)x.folders);
		ms_json_kv_int(&j, "messages", (int64_t)x.messages);
		ms_json_kv_int(&j, "bytes", (int64_t)x.bytes);
		ms_json_kv_int(&j, "failed", (int64_t)x.failed);
		ms_json_kv_bool(&j, "ok", rc == 0 && x.failed == 0);
		ms_json_end_object(&j);
		ms_json_finish(&j);
	} else {
		printf("export: %s %zu message(s), %llu bytes, in %zu folder(s)%s\n", o->dry_run ? "would write" : "wrote",
		       x.messages, (unsigned long long)x.bytes, x.folders, x.failed ? "; some failed (see above)" : "");
	}
	if (rc < 0)
		return cli_fail(&e);
	return x.failed ? EXIT_PARTIAL : EXIT_OK;
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "maildir", required_argument, 0, O_MAILDIR },
		{ "mbox", required_argument, 0, O_MBOX },
		{ "dry-run", no_argument, 0, 'n' },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "export" };
	struct export_opts o = { 0 };
	int i = cli_parse(&ctx, argc, argv, "hnv", longopts, export_option, &o);
	if (argc - i != 1)
		return cli_usage(&ctx, "expected one MAILBOX, user/ADDRESS[/FOLDER]");
	if (!o.maildir == !o.mbox)
		return cli_usage(&ctx, "give one of --maildir DIR and --mbox DIR");
	return export_main(&ctx, &o, argv[i]);
}
