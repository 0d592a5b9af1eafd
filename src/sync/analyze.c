/* analyze.c - decide, file by file, what sync does with an unreferenced
 * file.  Runs on several threads over a batch; touches no database (the
 * directory snapshot and the referenced names are read-only here).
 *
 * Rules (sync.md): a file modified less than --settle seconds ago is
 * deferred (the server may still be writing it, or about to insert its
 * row; a modification time in the future is a clock problem, reported,
 * and the change time tells the age, store/clock.h); a zero-byte file is
 * not imported; a file named by a full-path row gets that row rewritten;
 * a queue file goes to its local recipients from To/Cc, or is not imported
 * when there are none; an account file goes to the account's INBOX, or is
 * orphaned when the account does not exist; files in #Public or elsewhere
 * are not imported.  A file to import that is not at its canonical place
 * is renamed there first (writer.c).
 */
#include "sync/sync_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>


#include "message/header.h"
#include "store/clock.h"
#include "store/layout.h"
#include "store/sql.h"
#include "util/str.h"

static void set(item *it, sync_category cat, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(item *it, sync_category cat, const char *fmt, ...)
{
	va_list ap;
	it->cat = cat;
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof it->reason, fmt, ap);
	va_end(ap);
}

/* hMailServer's internal date rule: the first Received header if its year
 * is 1981..2039, else Date likewise, else (mstore) the file's mtime; in
 * the server's local time as hMailServer's importer writes it (with the
 * offset in force at import time: store/clock.h). */
static bool plausible(time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	return tm.tm_year + 1900 >= 1981 && tm.tm_year + 1900 <= 2039;
}

/* What was wrong with the header section, said as what failed.  A file
 * with no empty line is a message without a body: its fields are read like
 * any other's, so that alone is no failure (issue 12: it was labelled
 * "unparsable headers").  Unparsable is only a section that gave nothing:
 * no field at all, or none of From, To, Date and Received. */
static void judge_headers(item *it, const ms_headers *h)
{
	static const struct { unsigned flag; const char *what; } notes[] = {
		{ MS_HDR_NO_FIELDS, "no header field" },
		{ MS_HDR_BINARY, "NUL bytes in the header" },
		{ MS_HDR_TRUNCATED, "header longer than 4 MiB, read up to there" },
		{ MS_HDR_BAD_UTF8, "8-bit header bytes that are not UTF-8" },
		{ MS_HDR_NO_SEPARATOR, "no empty line: the whole file is header, no body" },
	};
	size_t len = 0;
	it->header_note[0] = '\0';
	for (size_t i = 0; i < sizeof notes / sizeof *notes; i++)
		if (h->flags & notes[i].flag && len < sizeof it->header_note)
			len += (size_t)snprintf(it->header_note + len, sizeof it->header_note - len, "%s%s", len ? "; " : "",
			                        notes[i].what);
	bool nothing = h->from.n == 0 && h->to.n == 0 && !h->date_valid && !h->received_valid;
	it->unparsable = (h->flags & MS_HDR_NO_FIELDS) || nothing;
	if (nothing && !(h->flags & MS_HDR_NO_FIELDS) && len < sizeof it->header_note)
		snprintf(it->header_note + len, sizeof it->header_note - len, "%sno From, To, Date or Received field",
		         len ? "; " : "");
}

static void fill_from_headers(sync_run *run, item *it, const ms_headers *h)
{
	/* a modification time in the future is a clock problem, no date */
	time_t when = it->mtime <= run->now ? it->mtime : run->now;
	if (h->received_valid && plausible(h->received))
		when = h->received;
	else if (h->date_valid && plausible(h->date))
		when = h->date;
	ms_clock_internal_date(when, run->now, it->created);
	/* hMailServer's messagefrom: the first entry of the first From field
	 * as its AddresslistParser reads it, "@" when that holds no usable
	 * address, '' without a From field.  The column is 255 characters: a
	 * longer address (any outside sender can write one) is cut on a
	 * character boundary, or PostgreSQL and MariaDB refuse the row as
	 * invalid UTF-8.  Only out-of-memory fails, and leaves it ''. */
	ms_err ignored = { 0 };
	ms_hms_first_address(h->first_from, it->from, sizeof it->from, &ignored);
	judge_headers(it, h);
}

/* Where hMailServer would look for the file (store/layout.h), and with a
 * {GUID}.eml name: sync gives every other name a fresh GUID name, so that
 * an imported file is named as hMailServer names its own (ARCHITECTURE.md
 * says why it does not import them in place as hMailServer's DDS does). */
static bool is_canonical(const cand *c)
{
	uint8_t g[16];
	return ms_guid_name_parse(c->relpath + c->name_off, g) && ms_layout_is_canonical(c->relpath, c->owner_len);
}

/* The account folder names of an account candidate: "domain/local/...". */
static void split_account(const cand *c, char *domain, size_t dlen, char *local, size_t llen)
{
	const char *p = c->relpath, *s1 = memchr(p, '/', c->owner_len);
	assert(s1);
	snprintf(domain, dlen, "%.*s", (int)(s1 - p), p);
	snprintf(local, llen, "%.*s", (int)(p + c->owner_len - s1 - 1), s1 + 1);
}

/* A file is referenced only by rows of its own owner (refset.h).  When
 * its GUID name is nevertheless in use (by a row of another account, the
 * queue or #Public, or by a row of its own owner spelt in another case
 * whose file is also here), importing it under that name would give two
 * rows one name: it gets a new GUID name (the rename is journaled like any
 * other).  Returns the note for the report, "" when the name is free. */
static const char *name_taken(sync_run *run, item *it, int64_t owner)
{
	const char *name = it->c->relpath + it->c->name_off;
	uint8_t g[16];
	if (!ms_guid_name_parse(name, g))
		return ""; /* renamed to a fresh GUID name anyway */
	const char *why = NULL;
	if (ms_refset_match(run->refs, owner, name) != MS_REF_NONE)
		why = "; its name differs only in case from a file a row of the same owner names: imported under a new name";
	else if (ms_refset_named_elsewhere(run->refs, owner, name))
		why = "; its name is used by a row of another account, the queue or #Public (which keeps its own file): "
		      "imported under a new name";
	if (!why)
		return "";
	it->fresh_name = it->misplaced = true;
	return why;
}

static void analyze_account(sync_run *run, item *it, const ms_headers *h)
{
	char domain[256], local[256];
	split_account(it->c, domain, sizeof domain, local, sizeof local);
	it->acct = ms_directory_account(run->dir, local, domain);
	if (!it->acct) {
		if (!ms_directory_is_local_domain(run->dir, domain))
			set(it, SYNC_ORPHANED, "no domain '%s' in the database", domain);
		else
			set(it, SYNC_ORPHANED, "no account '%s@%s' in the database", local, domain);
		return;
	}
	fill_from_headers(run, it, h);
	it->misplaced = !is_canonical(it->c);
	const char *why_new = name_taken(run, it, it->acct->id);
	it->hint = sync_hint_for(run->hints, it->c->relpath + it->c->name_off, it->acct->address);
	if (it->hint) {
		it->flags = it->hint->flags;
		if (it->hint->created[0])
			snprintf(it->created, sizeof it->created, "%s", it->hint->created);
	}
	set(it, it->misplaced ? SYNC_MOVED : SYNC_IMPORTED_ACCOUNT, "%s%s%s", it->acct->address,
	    it->hint ? ", folder and flags from the hint database" : "", why_new);
}

typedef struct resolve_ctx {
	const ms_directory *dir;
	ms_recipients *rcpt;
} resolve_ctx;

static int resolve_one(void *ctx, const char *address, ms_err *e)
{
	resolve_ctx *r = ctx;
	if (ms_resolve_address(r->dir, address, r->rcpt) < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory resolving recipients");
	return 0;
}

/* The local recipients of a queued file.  hMailServer's importer reads the
 * first To field, then the first CC field, with its own address-list
 * parser (no groups); --recipients rfc5322 reads every To and Cc field
 * with GMime's RFC 5322 parser, groups expanded. */
static int queue_recipients(sync_run *run, item *it, const ms_headers *h)
{
	if (run->o->all_recipient_fields) {
		const ms_address_list *lists[] = { &h->to, &h->cc };
		for (size_t l = 0; l < 2; l++)
			for (size_t i = 0; i < lists[l]->n; i++)
				if (ms_resolve_address(run->dir, lists[l]->v[i].addr, &it->rcpt) < 0)
					return -1;
		return 0;
	}
	resolve_ctx r = { run->dir, &it->rcpt };
	ms_err e = { 0 };
	if (ms_hms_address_each(h->first_to, resolve_one, &r, &e) < 0 ||
	    ms_hms_address_each(h->first_cc, resolve_one, &r, &e) < 0)
		return -1;
	return 0;
}

static void analyze_queue(sync_run *run, item *it, const ms_headers *h)
{
	if (queue_recipients(run, it, h) < 0) {
		set(it, SYNC_FAILED, "out of memory resolving recipients");
		return;
	}
	if (it->rcpt.n == 0) {
		set(it, SYNC_NOT_IMPORTED, "no local recipients in To/Cc");
		return;
	}
	fill_from_headers(run, it, h);
	it->misplaced = !is_canonical(it->c);
	const char *why_new = name_taken(run, it, MS_REF_QUEUE);
	set(it, it->misplaced ? SYNC_MOVED : SYNC_IMPORTED_QUEUE, "%zu local recipient%s%s", it->rcpt.n,
	    it->rcpt.n == 1 ? "" : "s", why_new);
}

/* The owner whose rows can reference the candidate (refset.h). */
static int64_t cand_owner(const sync_run *run, const cand *c)
{
	if (c->place == WALK_QUEUE)
		return MS_REF_QUEUE;
	char domain[256], local[256];
	split_account(c, domain, sizeof domain, local, sizeof local);
	const ms_dir_account *a = ms_directory_account(run->dir, local, domain);
	return a ? a->id : MS_REF_NOBODY;
}

/* The settle rule (store/clock.h): false, with the item deferred and the
 * moment from which a run imports it, when the file may still be written.
 * A modification time in the future is reported as the clock problem it
 * is; the file's change time then tells its age. */
static bool settled(sync_run *run, item *it, const struct stat *st)
{
	bool future;
	time_t t = ms_clock_settle_time(st, run->now, &future);
	char mtime[40], from[40];
	ms_clock_format(st->st_mtime, mtime);
	if (future)
		snprintf(it->clock_note, sizeof it->clock_note,
		         "its modification time %s is in the future: a clock problem (its age is taken from its change time)",
		         mtime);
	if (t <= run->now - run->o->settle_seconds)
		return true;
	ms_clock_format(t + run->o->settle_seconds, from);
	if (future)
		set(it, SYNC_DEFERRED, "%s; changed less than %d s ago (--settle): a run from %s on imports it",
		    it->clock_note, run->o->settle_seconds, from);
	else
		set(it, SYNC_DEFERRED, "modified less than %d s ago (--settle): a run from %s on imports it",
		    run->o->settle_seconds, from);
	return false;
}

static void analyze_one(sync_run *run, item *it)
{
	const cand *c = it->c;
	const char *name = c->relpath + c->name_off;
	it->flags = 32; /* every new row is Recent, queue rows too (hMailServer: a one-recipient queue row is delivered as is) */
	if (c->place == WALK_PUBLIC) {
		set(it, SYNC_NOT_IMPORTED, "in #Public: the public folder it belonged to is unknown");
		return;
	}
	if (c->place == WALK_OTHER) {
		set(it, SYNC_NOT_IMPORTED, "not in an account folder or the queue");
		return;
	}
	int fd = ms_open_beneath(run->root_fd, c->relpath, O_RDONLY | O_NONBLOCK);
	struct stat st;
	if (fd < 0) {
		set(it, SYNC_FAILED, "cannot open: %s", strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		set(it, SYNC_NOT_IMPORTED, "no longer a regular file");
		close(fd);
		return;
	}
	it->size = (int64_t)st.st_size;
	it->mtime = st.st_mtime;
	if (!settled(run, it, &st)) {
		close(fd);
		return;
	}
	if (st.st_size == 0) {
		set(it, SYNC_NOT_IMPORTED, "zero-byte file (hMailServer never stores empty messages)");
		close(fd);
		return;
	}
	it->full_path_row = ms_refset_full_path_row(run->refs, cand_owner(run, c), name);
	if (it->full_path_row) {
		it->misplaced = !is_canonical(c);
		set(it, SYNC_PATH_UPDATED, "row %lld held a full path", (long long)it->full_path_row);
		close(fd);
		return;
	}
	ms_headers h;
	ms_err e = { 0 };
	if (ms_headers_read_fd(fd, c->relpath, &h, &e) < 0) {
		close(fd);
		set(it, SYNC_FAILED, "cannot read: %s", e.msg);
		return;
	}
	close(fd);
	if (c->place == WALK_QUEUE)
		analyze_queue(run, it, &h);
	else
		analyze_account(run, it, &h);
	ms_headers_free(&h);
}

typedef struct batch_job {
	sync_run *run;
	item *items;
	size_t n;
	atomic_size_t next;
} batch_job;

static void *analyze_worker(void *arg)
{
	batch_job *j = arg;
	size_t i;
	while ((i = atomic_fetch_add(&j->next, 1)) < j->n)
		analyze_one(j->run, &j->items[i]);
	return NULL;
}

void sync_analyze_batch(sync_run *run, item *items, size_t n)
{
	batch_job j = { .run = run, .items = items, .n = n };
	int threads = run->o->threads > 0 ? run->o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads > 32)
		threads = 32;
	pthread_t tids[32];
	int started = 0;
	for (int t = 1; t < threads; t++)
		if (pthread_create(&tids[started], NULL, analyze_worker, &j) == 0)
			started++;
	analyze_worker(&j);
	for (int t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
}

void sync_item_release(item *it)
{
	ms_recipients_free(&it->rcpt);
}
