/* mstore deliver: put messages into an account's folder as the server
 * would (store/deliver.h does the writing and the journal; this file
 * reads one message and reports; deliver_box.c reads mailboxes, in the
 * full binary: deliver_internal.h). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/deliver_internal.h"
#include "message/header.h"
#include "store/browse.h"
#include "store/clock.h"
#include "store/deliver.h"
#include "store/objects.h"
#include "util/escape.h"
#include "util/fdio.h"
#include "util/json.h"

const char help_deliver[] =
	"usage: mstore deliver ADDRESS[/FOLDER] [FILE|-] [--flags LIST] [--ignore-quota]\n"
	"                      [-n] [--json]\n"
	"       mstore deliver ADDRESS[/FOLDER] --mbox FILE | --maildir DIR [options]\n\n"
	"Put a message (FILE, or standard input for '-' or no FILE) or a whole mailbox into\n"
	"the folder FOLDER (levels separated by '/'; default INBOX) of the account ADDRESS,\n"
	"as hMailServer's own delivery does: the file {GUID}.eml is written under a\n"
	"temporary name, made durable and renamed into <domain>/<local>/<XX>/ (for a\n"
	"batch: all its files, one flush of the file system, the renames, one flush), then\n"
	"one transaction per batch of 500 messages locks the folder, takes the next UIDs and\n"
	"inserts the rows (messagetype 2, flags Recent plus --flags, messagefrom the first\n"
	"From address, messagesize the file's size).  The internal date of one message is\n"
	"the time of delivery (as the server's SMTP delivery); of an mbox message the date\n"
	"of its From line, of a Maildir message its file's modification time.\n\n"
	"--flags LIST    comma-separated: seen, answered, flagged, deleted, draft (a leading\n"
	"                backslash and any case allowed); added to a mailbox's own flags\n"
	"                (mbox Status/X-Status, Maildir :2, suffix).\n"
	"--mbox FILE     every message of an mbox file (mboxrd, as `mstore channel` reads\n"
	"                it).\n"
	"--maildir DIR   every message of a Maildir folder (its cur/ and new/).\n"
	"--ignore-quota  deliver even when the account would pass accountmaxsize.\n"
	"--lock-wait SECS  wait up to SECS seconds for a `mstore folder lock` on the\n"
	"                folder to end (default 0: a locked folder gets nothing, exit 1).\n"
	"-n, --dry-run   say what would be delivered; nothing is written.\n"
	"--json          the summary (and each message's UID and file) as JSON.\n\n"
	"Safety.  No row ever exists without its file, and a SIGKILL at any moment loses\n"
	"nothing and delivers nothing twice: before a batch's files are written, their\n"
	"names go to a journal in DATA/.mstore/deliver-*.deliver (fdatasynced); after its\n"
	"rows are committed, that is noted there.  Every deliver run first takes over the\n"
	"journals no running process holds and rolls them forward: a file in place gets\n"
	"its row (with the flags, date and From recorded), a file that never got there is\n"
	"removed.  A rerun of the same --mbox or --maildir delivery into the same folder\n"
	"recognises what an interrupted run delivered by its source's journal (named after\n"
	"the account, folder and the source's device and inode), which lists each message\n"
	"delivered by its position in the mbox (the offset of its From line) or its\n"
	"Maildir unique name: those are skipped.  The journal is removed when the whole\n"
	"source is delivered; so running the same command again after a complete run\n"
	"delivers everything again, as delivering one FILE twice does.  Over quota or\n"
	"failed messages keep the journal: the rerun delivers only those.  A file killed\n"
	"in place before its row was committed is an unreferenced file until the rerun\n"
	"(`mstore reconstruct -n` reports it); `mstore sync` leaves it alone for --settle\n"
	"seconds, and should it import it first, the rerun sees its row and does not\n"
	"deliver it again (it stays in the INBOX sync chose).\n\n"
	"Refused, nothing changed (exit 2): an address with no account, a folder that\n"
	"does not exist (deliver never creates one: a typo would file mail where nobody\n"
	"looks; create it with `mstore folder create`), a message of 0 bytes, an unreadable\n"
	"source.  A message that would take the account over accountmaxsize (its\n"
	"delivered messages' sizes added up, as hMailServer counts) is refused (exit 1),\n"
	"and so are the later ones of a mailbox that do not fit; one that fits is still\n"
	"delivered.  Exit 0 when everything was delivered (or skipped as delivered\n"
	"before), 1 when some message was not.  A running hMailServer sees the new\n"
	"messages after it reloads its cache (store.md).\n";

enum { O_FLAGS = OPT_FIRST_COMMAND_OPTION, O_MBOX, O_MAILDIR, O_IGNORE_QUOTA, O_LOCK_WAIT };

static int64_t parse_flags(const char *list, bool *bad)
{
	static const struct { const char *name; int64_t bit; } names[] = {
		{ "seen", MS_MSGFLAG_SEEN }, { "answered", MS_MSGFLAG_ANSWERED }, { "flagged", MS_MSGFLAG_FLAGGED },
		{ "deleted", MS_MSGFLAG_DELETED }, { "draft", MS_MSGFLAG_DRAFT },
	};
	int64_t f = 0;
	char *copy = strdup(list), *save = NULL;
	for (char *w = copy ? strtok_r(copy, ", ", &save) : NULL; w; w = strtok_r(NULL, ", ", &save)) {
		if (*w == '\\')
			w++;
		size_t i = 0;
		while (i < sizeof names / sizeof names[0] && strcasecmp(w, names[i].name) != 0)
			i++;
		if (i == sizeof names / sizeof names[0])
			*bad = true;
		else
			f |= names[i].bit;
	}
	free(copy);
	return f;
}

static bool dl_option(void *data, int opt, const char *arg)
{
	dl_opts *o = data;
	switch (opt) {
	case 'n': o->dry_run = true; return true;
	case O_FLAGS: o->flags |= parse_flags(arg, &o->bad_flags); return true;
	case O_MBOX: o->mbox = arg; return true;
	case O_MAILDIR: o->maildir = arg; return true;
	case O_IGNORE_QUOTA: o->ignore_quota = true; return true;
	case O_LOCK_WAIT: {
		long long secs;
		o->bad_wait = !cli_parse_count(arg, &secs) || secs > 86400;
		o->lock_wait_ms = o->bad_wait ? 0 : (int)secs * 1000;
		return true;
	}
	}
	return false;
}

/* ---- the target ----------------------------------------------------------------- */

/* ADDRESS[/FOLDER] into the deliver target; exit code on failure. */
static int find_target(dl_run *r, char *arg, ms_deliver_target *t)
{
	char local[256], domain[256], *slash = strchr(arg, '/');
	const char *folder = slash && slash[1] ? slash + 1 : "INBOX";
	ms_err e = { 0 };
	ms_account *v = NULL;
	size_t n = 0;
	if (slash)
		*slash = '\0';
	if (ms_address_split(arg, local, domain, &e) < 0 || ms_account_list(r->s, domain, &v, &n, &e) < 0)
		return cli_fail(&e);
	char stored[256]; /* the domain in its stored (ACE) form */
	ms_address_lookup_form(arg, stored);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].address, stored) == 0) {
			static char address[256];
			snprintf(address, sizeof address, "%s", v[i].address);
			*t = (ms_deliver_target){ .account_id = v[i].id, .address = address, .max_size_mb = v[i].max_size_mb,
			                          .ignore_quota = r->o->ignore_quota, .dry_run = r->o->dry_run,
			                          .lock_wait_ms = r->o->lock_wait_ms };
		}
	free(v);
	if (!t->account_id) {
		ms_err_set(&e, MS_E_NOTFOUND, "%s: no account %s (an alias or a list is not a mailbox)", db_name(r->s->db), arg);
		return cli_fail(&e);
	}
	int rc = ms_browse_folder_find(r->s->db, t->account_id, folder, '/', &t->folder_id, &e);
	if (rc < 0)
		return cli_fail(&e);
	if (rc == 0) {
		ms_err_set(&e, MS_E_NOTFOUND, "%s has no folder %s (deliver creates none)", t->address, folder);
		return cli_fail(&e);
	}
	return EXIT_OK;
}

/* ---- reporting -------------------------------------------------------------------- */

/* The JSON report begins with the first message reported, so an error
 * before it leaves stdout empty rather than half an object. */
static void json_start(dl_run *r)
{
	if (!r->ctx->json || r->json_started)
		return;
	r->json_started = true;
	ms_json_init(&r->j, stdout);
	ms_json_begin_object(&r->j);
	ms_json_kv_string(&r->j, "target", r->target);
	ms_json_key(&r->j, "messages");
	ms_json_begin_array(&r->j);
}

static void report(dl_run *r, const ms_deliver_msg *m)
{
	json_start(r);
	const char *what = m->status == MS_DELIVER_OK ? (r->o->dry_run ? "would deliver" : "delivered")
	                 : m->status == MS_DELIVER_OVER_QUOTA ? "over-quota" : "failed";
	if (m->status == MS_DELIVER_OK) {
		r->delivered++;
		r->bytes += (int64_t)m->len;
	} else if (m->status == MS_DELIVER_OVER_QUOTA) {
		r->over_quota++;
	} else {
		r->failed++;
	}
	if (r->ctx->json) {
		ms_json_begin_object(&r->j);
		ms_json_kv_string(&r->j, "result", what);
		if (m->key)
			ms_json_kv_string(&r->j, "source", m->key);
		ms_json_kv_int(&r->j, "size", (int64_t)m->len);
		if (m->uid)
			ms_json_kv_int(&r->j, "uid", m->uid);
		if (m->name[0] && m->status == MS_DELIVER_OK && !r->o->dry_run)
			ms_json_kv_string(&r->j, "file", m->name);
		if (m->status != MS_DELIVER_OK)
			ms_json_kv_string(&r->j, "reason", m->why.msg);
		ms_json_end_object(&r->j);
		return;
	}
	if (m->status != MS_DELIVER_OK) {
		fprintf(stderr, "mstore deliver: %s: %s%s", r->shown, what, m->key ? " (message at " : "");
		if (m->key)
			ms_escape_put(stderr, m->key);
		fprintf(stderr, "%s: ", m->key ? ")" : "");
		ms_escape_put(stderr, m->why.msg);
		fputc('\n', stderr);
	}
}

/* ---- batches ----------------------------------------------------------------------- */

/* messagefrom: without GMime when the From value needs no decoding; else
 * through the full binary's parser (the front hands such a message over
 * before it gets here) */
static void take_from(const char *data, size_t len, char *out, size_t size)
{
	ms_err ignored = { 0 };
	int rc = ms_first_from_plain(data, len, out, size, &ignored);
	if (rc == 0) {
		assert(cli_deliver_full);
		cli_deliver_full->from(data, len, out, size);
	} else if (rc < 0) {
		out[0] = '\0'; /* out of memory: as ms_headers_parse's failure */
	}
}

void dl_fill_item(dl_item *it, const char *data, size_t len, int64_t flags, time_t when, const char *from)
{
	time_t now = time(NULL);
	if (from)
		snprintf(it->from, sizeof it->from, "%s", from);
	else
		take_from(data, len, it->from, sizeof it->from);
	ms_clock_internal_date(when ? when : now, now, it->created);
	it->m = (ms_deliver_msg){ .data = data, .len = len, .flags = flags, .created = it->created, .from = it->from,
	                          .key = it->key };
}

int dl_run_batch(dl_run *r, dl_item *items, size_t n)
{
	ms_deliver_msg *m = calloc(n ? n : 1, sizeof *m);
	ms_err e = { 0 };
	if (!m)
		return ms_err_set(&e, MS_E_NOMEM, "out of memory"), cli_fail(&e);
	for (size_t i = 0; i < n; i++)
		m[i] = items[i].m;
	int rc = ms_deliver_batch(r->dv, m, n, &e);
	for (size_t i = 0; i < n; i++)
		report(r, &m[i]);
	free(m);
	if (rc < 0) {
		r->stop = true;
		fprintf(stderr, "mstore deliver: %s: stopped: ", r->shown);
		ms_escape_put(stderr, e.msg);
		fprintf(stderr, " (a rerun of the same command continues)\n");
	}
	return rc;
}

void dl_free_items(dl_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].data);
		free(items[i].key);
	}
}

/* ---- one message ------------------------------------------------------------------- */

/* A folder held by `mstore folder lock` is no error of the input: the
 * mailbox is left as it is for a later run (exit 1). */
int dl_open_failed(const dl_run *r, const ms_err *e)
{
	if (e->code != MS_E_LIMIT)
		return cli_fail(e);
	char name[600];
	ms_escape(name, sizeof name, r->target);
	fprintf(stderr, "mstore deliver: %s is locked by `mstore folder lock` (%s); nothing delivered: deliver again"
	        " later or give --lock-wait SECS\n", name, e->msg);
	return EXIT_PARTIAL;
}

/* The message of FILE, or of standard input for "-" or none: an exit code. */
static int read_message(const char *file, char **data, size_t *len)
{
	bool stdin_ = !file || strcmp(file, "-") == 0;
	int fd = stdin_ ? 0 : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ms_read_all(fd, data, len) < 0) {
		int err = errno;
		fprintf(stderr, "mstore deliver: cannot read ");
		ms_escape_put(stderr, stdin_ ? "standard input" : file);
		fprintf(stderr, ": %s\n", strerror(err));
		return EXIT_USAGE;
	}
	if (!stdin_)
		close(fd);
	if (*len == 0) {
		free(*data);
		*data = NULL;
		fprintf(stderr, "mstore deliver: ");
		ms_escape_put(stderr, stdin_ ? "standard input" : file);
		fprintf(stderr, " is empty: a message of 0 bytes is never stored\n");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The front, for a message whose From needs GMime: the full binary runs
 * the same command line, reading the message from a copy in memory when
 * it came on standard input (which is consumed). */
static _Noreturn void hand_over(const char *file, const char *data, size_t len)
{
	if (!file || strcmp(file, "-") == 0) {
		int fd = memfd_create("mstore-deliver", MFD_CLOEXEC);
		if (fd < 0 || ms_write_fully(fd, data, len, -1) < 0 || lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, 0) < 0) {
			fprintf(stderr, "mstore deliver: cannot hand the message to the full binary: %s\n", strerror(errno));
			exit(EXIT_IO);
		}
	}
	cli_exec_full();
}

static int deliver_one(dl_run *r, const ms_deliver_target *t, char *data, size_t len, const char *from)
{
	ms_err e = { 0 };
	if (ms_deliver_open(r->s, t, NULL, &r->dv, &e) < 0)
		return dl_open_failed(r, &e);
	dl_item it = { 0 };
	it.data = data;
	dl_fill_item(&it, data, len, r->o->flags, 0, from);
	dl_run_batch(r, &it, 1);
	return EXIT_OK;
}

/* ---- the command ---------------------------------------------------------------- */

static void summary(dl_run *r, const ms_deliver_recovery *rec)
{
	json_start(r);
	if (r->ctx->json) {
		ms_json_end_array(&r->j);
		ms_json_kv_int(&r->j, "delivered", (int64_t)r->delivered);
		ms_json_kv_int(&r->j, "bytes", r->bytes);
		ms_json_kv_int(&r->j, "skipped_delivered_before", (int64_t)r->skipped);
		ms_json_kv_int(&r->j, "over_quota", (int64_t)r->over_quota);
		ms_json_kv_int(&r->j, "failed", (int64_t)r->failed);
		ms_json_kv_int(&r->j, "rolled_forward", (int64_t)rec->rolled_forward);
		ms_json_kv_int(&r->j, "rolled_back", (int64_t)rec->rolled_back);
		ms_json_kv_bool(&r->j, "dry_run", r->o->dry_run);
		ms_json_end_object(&r->j);
		ms_json_finish(&r->j);
		return;
	}
	if (rec->rolled_forward || rec->rolled_back)
		printf("interrupted deliveries: %zu rolled forward, %zu taken back\n", rec->rolled_forward,
		       rec->rolled_back);
	printf("%s %zu message%s (%lld bytes) to ", r->o->dry_run ? "would deliver" : "delivered", r->delivered,
	       r->delivered == 1 ? "" : "s", (long long)r->bytes);
	fputs(r->shown, stdout);
	if (r->skipped)
		printf(", %zu delivered before (skipped)", r->skipped);
	if (r->over_quota)
		printf(", %zu over quota", r->over_quota);
	if (r->failed)
		printf(", %zu failed", r->failed);
	printf("\n");
}

static int run(dl_run *r, char **argv, char *data, size_t len, const char *from)
{
	ms_deliver_target t = { 0 };
	int rc = find_target(r, argv[0], &t);
	if (rc != EXIT_OK)
		return rc;
	if (!r->s->data_dir) {
		fprintf(stderr, "mstore deliver: no data directory: give --data DIR or `data` in the configuration\n");
		return EXIT_CONFIG;
	}
	/* a source that is not there is refused before the recovery writes
	   anything (refused means nothing changed) */
	if (!data && (rc = cli_deliver_full->check_box(r->o)) != EXIT_OK)
		return rc;
	ms_deliver_recovery rec = { 0 };
	ms_err e = { 0 };
	if (!r->o->dry_run && ms_deliver_recover(r->s, &rec, &e) < 0)
		return cli_fail(&e);
	rc = data ? deliver_one(r, &t, data, len, from) : cli_deliver_full->deliver_box(r, &t);
	if (rc != EXIT_OK)
		return rc;
	ms_deliver_close(r->dv, !r->stop && r->failed == 0 && r->over_quota == 0);
	summary(r, &rec);
	return r->failed || r->over_quota || r->stop ? EXIT_PARTIAL : EXIT_OK;
}

int cmd_deliver(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "dry-run", no_argument, 0, 'n' },
		{ "flags", required_argument, 0, O_FLAGS },
		{ "mbox", required_argument, 0, O_MBOX },
		{ "maildir", required_argument, 0, O_MAILDIR },
		{ "ignore-quota", no_argument, 0, O_IGNORE_QUOTA },
		{ "lock-wait", required_argument, 0, O_LOCK_WAIT },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "deliver" };
	dl_opts o = { 0 };
	int first = cli_parse(&ctx, argc, argv, "hn", longopts, dl_option, &o);
	int nargs = argc - first;
	if (o.bad_flags)
		return cli_usage(&ctx, "--flags takes seen, answered, flagged, deleted, draft, separated by commas");
	if (o.bad_wait)
		return cli_usage(&ctx, "--lock-wait takes a number of seconds, at most 86400");
	if (o.mbox && o.maildir)
		return cli_usage(&ctx, "--mbox and --maildir exclude each other");
	if (nargs < 1 || nargs > ((o.mbox || o.maildir) ? 1 : 2))
		return cli_usage(&ctx, "expected ADDRESS[/FOLDER] and, without --mbox or --maildir, at most one FILE");
	bool box = o.mbox || o.maildir;
	if (box && !cli_deliver_full)
		cli_exec_full(); /* the drivers that read mailboxes are the full binary's */
	char *data = NULL;
	size_t len = 0;
	const char *file = nargs > 1 ? argv[first + 1] : NULL;
	int rc = box ? EXIT_OK : read_message(file, &data, &len);
	if (rc != EXIT_OK)
		return rc;
	/* the sender, read once: here without GMime, or handed over */
	char from[sizeof ((dl_item *)0)->from];
	ms_err e = { 0 };
	int plain = data ? ms_first_from_plain(data, len, from, sizeof from, &e) : -1;
	if (plain == 0 && !cli_deliver_full)
		hand_over(file, data, len);
	ms_store *s;
	rc = cli_open_store(&ctx, o.dry_run ? DB_OPEN_READ_ONLY : DB_OPEN_READ_WRITE, &s);
	if (rc != EXIT_OK) {
		free(data);
		return rc;
	}
	dl_run r = { .ctx = &ctx, .o = &o, .s = s, .target = argv[first] };
	char target[600], shown[2400];
	snprintf(target, sizeof target, "%s", argv[first]);
	ms_escape(shown, sizeof shown, target);
	r.target = target;
	r.shown = shown;
	rc = run(&r, argv + first, data, len, plain == 1 ? from : NULL);
	free(data);
	if (rc != EXIT_OK && rc != EXIT_PARTIAL && r.dv)
		ms_deliver_close(r.dv, false);
	ms_store_close(s);
	return rc;
}
