/* drv_mbox.c - a side that is a directory of mbox files.
 *
 * Configuration keys: `path`, a directory whose regular files are boxes
 * (sub-directories are hierarchy levels, delimiter '/', listed as
 * \Noselect names), and `inbox`, the file that is INBOX (default
 * `path/INBOX`; a relative name is taken from `path`).  A c-client or
 * mailsync user whose INBOX is ~/mbox or /var/mail/USER names that file.
 * When `inbox` is elsewhere, a top-level file called INBOX (any case) in
 * `path` is not listed: the name belongs to the configured file.
 * Listing skips names beginning with '.', dot-locks (`*.lock`), and files
 * that are neither empty nor begin with "From " (a README, another
 * program's index): they are not mailboxes.
 *
 * Format.  A message begins at a line "From SENDER DATE" whose date
 * parses (at the start of the file or of any line), the rule of c-client
 * (mailsync's library), mutt and Dovecot; a "From " body line without a
 * date that a writer failed to quote stays in its message.  GMime's mbox
 * parser (GMIME_FORMAT_MBOX) is not used for this: it splits at any
 * "From " line, and inside a MIME part it misses the From lines that
 * follow, swallowing later messages whole (test_unquoted_from_lines).
 * The message's header section goes to GMime (message/header.h) for the
 * Message-ID, as for every other side.  The
 * format is mboxrd: reading strips one '>' from each line matching
 * /^>+From /, writing adds one to each line matching /^>*From /, so any
 * body round-trips.  An mboxo file's genuine ">From " lines lose one '>'
 * on reading, the trade every mboxrd reader makes.  Content-Length is
 * not trusted (a message ends where the next "From " line begins).  The
 * blank line before each "From " line belongs to the file, not to the
 * message; a message that does not end in a newline gets one on the way
 * in (mbox cannot tell otherwise where it ends).  A file whose first line
 * ends in CRLF is written with CRLF From lines and separators, and its
 * messages are returned with the bytes they have.
 *
 * Flags live in the header, as mutt, c-client and Dovecot write them:
 * `Status:` R = \Seen, O = not Recent (kept as it is: no MS_FLAG_*), and
 * `X-Status:` A \Answered, F \Flagged, D \Deleted, T \Draft.  Fetch
 * leaves out these and the other bookkeeping fields (X-Keywords, X-UID,
 * X-IMAP, X-IMAPbase, Content-Length), as Dovecot hides them from IMAP
 * clients: a message's bytes then stay the same when its flags change
 * (an identity digest too), and `size` is what fetch returns.  Append
 * drops them from the message it is given and writes Status/X-Status
 * for its flags (no O: a mail client shows it as new); a flag change
 * rewrites only Status/X-Status and keeps another program's X-UID and
 * X-IMAPbase.  c-client's pseudo-message ("DON'T DELETE THIS MESSAGE --
 * FOLDER INTERNAL DATA": an X-IMAP field and that subject in the first
 * message) is not listed and stays in the file.  A flag change leaves
 * the bytes fetch returns as they were, with one exception no mail
 * program writes: a message of nothing but indented lines without a
 * final newline gains that newline.  Keywords are not kept (X-Keywords
 * is neither read nor written): no MS_CAP_KEYWORDS.  The internal date
 * is the date of the "From " line (asctime format, local time as ctime
 * writes it; a zone name some writers add is skipped, a numeric zone
 * after the year honoured).
 *
 * UIDs are positions: the messages of the file at open_box are 1..n in
 * file order, appended ones follow.  They stay valid while the box is
 * open (expunge does not renumber) and mean nothing after: no
 * MS_CAP_UID_STABLE, and a fresh UIDVALIDITY per open_box.  `key` is
 * NULL: the engine pairs mbox messages by identity.
 *
 * Locking, as MDAs (procmail, Dovecot's LDA) and mail clients (mutt) do:
 * a dot-lock FILE.lock, made by link() from a unique file so it also works
 * on NFS, holding "PID HOST"; broken with a warning when older than 5
 * minutes, or at once when it is one of ours whose process is gone on this
 * host (a run killed while it held the lock must not stall the rerun; the
 * locks of other programs wait for the age rule), then an fcntl
 * lock on the file.  Writes (append, set_flags, expunge) hold both;
 * open_box's read holds the dot-lock (when the directory lets us make one)
 * and an fcntl read lock; fetch holds an fcntl read lock.  Locks are
 * waited for up to 60 seconds (MSTORE_MBOX_LOCK_MS changes it, for the
 * tests), polling, never blocking for good.  A read-only side makes no
 * dot-lock and writes nothing.  Before each write (and fetch) the file is
 * checked against what open_box saw: replaced by another file, shrunk, or
 * a "From " line not at a recorded offset any more means another program
 * rewrote it, and the operation fails with MS_DRV_BOX_BAD ("the mbox
 * changed under us": the engine opens the box again).  Messages an MDA
 * appended meanwhile are fine: they are kept, and listed at the next open.
 *
 * Writes.  append writes at the end of the file: a blank line if the last
 * message lacks one, then "From MAILER-DAEMON <date>" and the quoted
 * message with its flags, then fsync; a failed write is cut off again.
 * A process killed in the middle of an append cannot cut it off; so the
 * append first records the file's size and its PID in a marker beside the
 * box (".NAME.mstore-append", synced) and removes it once the messages
 * are fsynced.  A marker whose process is gone means a killed append: the
 * next writable open cuts the file back to the recorded size (those
 * messages were never in the channel's state: it appends them again), and
 * a reader ignores what lies past it, so a cut message is never listed or
 * copied (test_channel_crash, test_killed_append).  A file modified more
 * than the stale-lock age after the marker may hold another program's
 * delivery behind the cut message (it broke our dead lock by age): it is
 * left as it is, with a warning.
 * set_flags and expunge rewrite the whole file into a temporary file
 * beside it (.NAME.mstore-tmp.PID, with the original's mode, owner and
 * group), fsync it, rename it over the original and fsync the directory:
 * a crash leaves either the old or the new file, never half of one, and a
 * failure removes the temporary file.  All items of a batch go in one
 * rewrite.  Messages not changed are copied byte for byte.  A symlinked
 * box is written where the link points.  An appender that opened the file
 * before our rename and writes after taking the locks without checking
 * that the path still names its file would write into the replaced file;
 * procmail and Dovecot take the dot-lock first and so open the new one.
 * A box whose directory does not let us make FILE.lock (/var/mail without
 * the mail group) is read without it but never written: an mbox that
 * cannot be dot-locked is not safe to write beside an MDA.
 */
#include "drivers/driver.h"
#include "drivers/drv_mbox.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "message/header.h"
#include "util/fdio.h"
#include "util/testhook.h"
#include "util/vec.h"

#define PATH_LEN 4096
#define STALE_LOCK_SECS 300
#define LOCK_WAIT_MS 60000
#define LOCK_POLL_MS 50
#define MAX_DEPTH 32
#define TMP_INFIX ".mstore-tmp."

typedef struct mbx_side {
	ms_side base;
	char *root;                /* `path` */
	char *inbox;               /* the INBOX file */
	ms_skipped_entry *skipped; /* of the last list_boxes */
	size_t nskipped;
} mbx_side;

static void skipped_clear(mbx_side *s)
{
	for (size_t i = 0; i < s->nskipped; i++)
		free(s->skipped[i].path);
	free(s->skipped);
	s->skipped = NULL;
	s->nskipped = 0;
}

/* Keep `rel` as skipped; best effort (out of memory drops it). */
static void skipped_add(mbx_side *s, const char *rel, const char *why)
{
	ms_skipped_entry *v = realloc(s->skipped, (s->nskipped + 1) * sizeof *v);
	if (!v)
		return;
	s->skipped = v;
	if ((v[s->nskipped].path = strdup(rel)) != NULL)
		v[s->nskipped++].why = why;
}

const ms_skipped_entry *ms_mbox_side_skipped(const ms_side *base, size_t *n)
{
	assert(base->drv == &ms_drv_mbox);
	const mbx_side *s = (const mbx_side *)base;
	*n = s->nskipped;
	return s->skipped;
}

/* A message of an open box.  Its region [off, end) runs from its "From "
 * line to the next one (or the end of the file). */
typedef struct mbx_entry {
	uint32_t uid;
	unsigned flags;
	off_t off, body, end;      /* the From line, the first header byte, the region's end */
	uint64_t size;             /* the message's bytes, unquoted, without the separator */
	uint64_t from_hash;        /* of the From line, to see that it is still there */
	time_t date;
	char *msgid;
} mbx_entry;

typedef struct mbx_box {
	ms_box base;
	char *path;                /* the file (symlinks resolved) */
	int fd;
	mbx_entry *v;
	size_t n, cap;
	uint32_t next_uid;
	struct stat seen;          /* the file as we last checked or wrote it */
	bool crlf;
	bool ro_file;              /* a file we may read but not write (mode 0444, a read-only mount) */
	bool dotlocked;
	bool fcntl_locked;
	off_t limit;               /* > 0: the file ends here for us (a dead appender's cut tail, append_marker) */
} mbx_box;

static ms_drv_result nomem(ms_err *e)
{
	ms_err_set(e, MS_E_NOMEM, "out of memory");
	return MS_DRV_SIDE_BAD;
}

static ms_drv_result box_bad(ms_err *e, ms_errcode code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static ms_drv_result box_bad(ms_err *e, ms_errcode code, const char *fmt, ...)
{
	char buf[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ms_err_set(e, code, "%s", buf);
	return MS_DRV_BOX_BAD;
}

static ms_drv_result refuse_write(ms_side *s, ms_err *e)
{
	ms_err_set(e, MS_E_USAGE, "side %s was opened read-only: nothing may be written", s->name);
	return MS_DRV_SIDE_BAD;
}

/* The write refusals of a box: the side's, then the file's own. */
static ms_drv_result refuse_box_write(ms_box *b, ms_err *e)
{
	if (b->side->read_only)
		return refuse_write(b->side, e);
	ms_err_set(e, MS_E_IO, "side %s: box %s: the file is not writable for us: nothing written", b->side->name,
	           b->name);
	return MS_DRV_BOX_BAD;
}

static int lock_wait_ms(void)
{
	const char *v = getenv("MSTORE_MBOX_LOCK_MS");
	return v && *v ? atoi(v) : LOCK_WAIT_MS;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

/* ---- From quoting (mboxrd) ---------------------------------------------------- */

/* Does the line at p (n bytes to the end of the buffer) match /^>*From /? */
static bool from_line_quoted(const char *p, size_t n, size_t *gts)
{
	size_t i = 0;
	while (i < n && p[i] == '>')
		i++;
	*gts = i;
	return n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

/* Strip one '>' from each line matching /^>+From /, in place; the new length. */
static size_t unquote(char *p, size_t n)
{
	size_t r = 0, w = 0;
	bool bol = true;
	while (r < n) {
		size_t gts;
		if (bol && p[r] == '>' && from_line_quoted(p + r, n - r, &gts) && gts > 0)
			r++;
		bol = p[r] == '\n';
		p[w++] = p[r++];
	}
	return w;
}

/* The unquoted length of p[0..n). */
static size_t unquoted_len(const char *p, size_t n)
{
	size_t len = n, gts;
	/* '>' is rare in mail: finding it is faster than a walk over every line */
	for (const char *q = p; (q = memchr(q, '>', n - (size_t)(q - p))); q++)
		if ((q == p || q[-1] == '\n') && from_line_quoted(q, n - (size_t)(q - p), &gts)) {
			len--;
			q += gts; /* past this line's '>'s */
		}
	return len;
}

/* ---- headers: flags ------------------------------------------------------------ */

/* The end of the header section of p[0..n): the offset of its blank line
 * (which is not part of it), or n when there is none. */
static size_t header_end(const char *p, size_t n, size_t *blank_len)
{
	*blank_len = 0;
	if (n >= 1 && p[0] == '\n') {
		*blank_len = 1;
		return 0;
	}
	if (n >= 2 && p[0] == '\r' && p[1] == '\n') {
		*blank_len = 2;
		return 0;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n') {
			*blank_len = 1;
			return i + 1;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			*blank_len = 2;
			return i + 1;
		}
	}
	return n;
}

static bool field_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	return n > k && strncasecmp(line, name, k) == 0 && line[k] == ':';
}

/* The length of the field starting at p (with its continuation lines). */
static size_t field_len(const char *p, size_t n)
{
	size_t i = 0;
	for (;;) {
		const char *nl = memchr(p + i, '\n', n - i);
		if (!nl)
			return n;
		i = (size_t)(nl - p) + 1;
		if (i >= n || (p[i] != ' ' && p[i] != '\t'))
			return i;
	}
}

static unsigned letters_to_flags(const char *v, size_t n, bool status, bool *old)
{
	unsigned f = 0;
	for (size_t i = 0; i < n && v[i] != '\n'; i++) {
		switch (status ? v[i] : v[i] | 0x100) {
		case 'R': f |= MS_FLAG_SEEN; break;
		case 'O': *old = true; break;
		case 'A' | 0x100: f |= MS_FLAG_ANSWERED; break;
		case 'F' | 0x100: f |= MS_FLAG_FLAGGED; break;
		case 'D' | 0x100: f |= MS_FLAG_DELETED; break;
		case 'T' | 0x100: f |= MS_FLAG_DRAFT; break;
		default: break;
		}
	}
	return f;
}

/* Header fields that are the mbox's bookkeeping, not the message's: the
 * ones Dovecot hides from IMAP clients (c-client hides all but
 * Content-Length).  Fetch leaves them out, so a message's bytes do not
 * change with its flags (an identity digest stays the same) and no other
 * side is handed another program's UIDs or a Content-Length that no
 * longer holds.  The first two are the flags. */
static const char *const hidden_fields[] = { "Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP", "X-IMAPbase",
	                                     "Content-Length" };

/* Is the field line[0..len) hidden (all: any of them; else the flags)? */
static bool is_hidden(const char *line, size_t len, bool all)
{
	size_t k = all ? sizeof hidden_fields / sizeof hidden_fields[0] : 2;
	for (size_t i = 0; i < k; i++)
		if (field_is(line, len, hidden_fields[i]))
			return true;
	return false;
}

/* The bytes of the hidden fields of the header section hdr[0..n). */
static size_t hidden_len(const char *hdr, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		size_t len = field_len(hdr + i, n - i);
		if (is_hidden(hdr + i, len, true))
			k += len;
		i += len;
	}
	return k;
}

/* Remove the hidden fields from the header of p[0..n) in place; the new
 * length. */
static size_t strip_hidden(char *p, size_t n)
{
	size_t blank, hend = header_end(p, n, &blank), w = 0;
	for (size_t i = 0; i < hend;) {
		size_t len = field_len(p + i, hend - i);
		if (!is_hidden(p + i, len, true)) {
			memmove(p + w, p + i, len);
			w += len;
		}
		i += len;
	}
	memmove(p + w, p + hend, n - hend);
	return w + n - hend;
}

/* What fetch returns of message text msg[0..len) as the file has it
 * (quoted, without the separator): its length. */
static uint64_t msg_size(const char *msg, size_t len)
{
	size_t blank, hend = header_end(msg, len, &blank);
	return unquoted_len(msg, len) - hidden_len(msg, hend);
}

/* The flags in the header section hdr[0..n) and whether Status has O. */
static unsigned header_flags(const char *hdr, size_t n, bool *old)
{
	unsigned f = 0;
	*old = false;
	for (size_t i = 0; i < n;) {
		size_t len = field_len(hdr + i, n - i);
		if (field_is(hdr + i, len, "Status"))
			f |= letters_to_flags(hdr + i + 7, len - 7, true, old);
		else if (field_is(hdr + i, len, "X-Status"))
			f |= letters_to_flags(hdr + i + 9, len - 9, false, old);
		i += len;
	}
	return f;
}

/* The Status and X-Status lines for `flags` into out (at least 64 bytes). */
static size_t status_lines(unsigned flags, bool old, const char *eol, char *out)
{
	char st[4] = "", xs[8] = "";
	size_t a = 0, b = 0;
	if (flags & MS_FLAG_SEEN)
		st[a++] = 'R';
	if (old)
		st[a++] = 'O';
	if (flags & MS_FLAG_ANSWERED)
		xs[b++] = 'A';
	if (flags & MS_FLAG_FLAGGED)
		xs[b++] = 'F';
	if (flags & MS_FLAG_DELETED)
		xs[b++] = 'D';
	if (flags & MS_FLAG_DRAFT)
		xs[b++] = 'T';
	st[a] = xs[b] = '\0';
	size_t w = 0;
	if (a)
		w += (size_t)sprintf(out + w, "Status: %s%s", st, eol);
	if (b)
		w += (size_t)sprintf(out + w, "X-Status: %s%s", xs, eol);
	return w;
}

/* Where the status lines go in msg[0..n) whose header ends at hend: at
 * the end of the header section; in a message without a blank line (all
 * header) before its first line that is no continuation, so that a last
 * line without its newline stays so and no line is glued to them. */
static size_t status_at(const char *msg, size_t n, size_t hend)
{
	if (hend < n)
		return hend;
	for (size_t i = 0; i < n;) {
		if (msg[i] != ' ' && msg[i] != '\t')
			return i;
		const char *nl = memchr(msg + i, '\n', n - i);
		if (!nl)
			break;
		i = (size_t)(nl - msg) + 1;
	}
	return n;
}

/* A message's bytes with its Status/X-Status lines replaced by `flags`
 * (and, with `all`, without the other hidden fields: an appended message
 * brings no bookkeeping of another mbox), then quoted (mboxrd) and, with
 * `end_nl`, ended with a newline: the part of its region after the From
 * line, without the separator.  NULL when out of memory. */
static char *with_flags(const char *msg, size_t n, unsigned flags, bool old, bool all, bool end_nl, const char *eol,
                        size_t *out_len)
{
	size_t blank, hend = header_end(msg, n, &blank);
	char status[64];
	size_t slen = status_lines(flags, old, eol, status);
	size_t at = status_at(msg, n, hend);
	size_t quoted = n + 1;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || msg[i - 1] == '\n')
			quoted++;
	char *out = malloc(quoted + slen + 2 * strlen(eol) + 1);
	if (!out)
		return NULL;
	size_t w = 0;
	bool bol = true;
	if (at == 0) {
		memcpy(out, status, slen);
		w = slen;
	}
	for (size_t i = 0; i < n; i++) {
		if (i == at && at > 0 && at < n) {
			memcpy(out + w, status, slen);
			w += slen;
		}
		if (i < hend && bol) {
			size_t len = field_len(msg + i, hend - i);
			if (is_hidden(msg + i, len, all)) {
				i += len - 1;
				bol = true;
				continue;
			}
		}
		size_t gts;
		if (bol && from_line_quoted(msg + i, n - i, &gts))
			out[w++] = '>';
		bol = msg[i] == '\n';
		out[w++] = msg[i];
	}
	if (at == n && n > 0) {
		if (out[w - 1] != '\n') /* only garbage gets here: a header of continuation lines */
			w += (size_t)sprintf(out + w, "%s", eol);
		memcpy(out + w, status, slen);
		w += slen;
	}
	if (end_nl && w > 0 && out[w - 1] != '\n')
		w += (size_t)sprintf(out + w, "%s", eol);
	*out_len = w;
	return out;
}

/* ---- dates -------------------------------------------------------------------- */

/* mktime() of a local time without mktime's tzset() (a stat of
 * /etc/localtime) for every call: the zone's offset at that moment. */
static time_t local_to_utc(const struct tm *local)
{
	struct tm tmp = *local, at;
	time_t guess = timegm(&tmp);
	for (int i = 0; i < 2; i++) /* twice: the offset at the answer, across a DST change */
		if (localtime_r(&guess, &at))
			guess = timegm(&tmp) - at.tm_gmtoff;
	return guess;
}

/* The date of a "From " line (line[0..n), without its newline) into *t;
 * false when it has none. */
static bool from_line_date(const char *line, size_t n, time_t *t)
{
	static const char *const formats[] = { "%a %b %e %H:%M:%S %Y", "%a %b %e %H:%M:%S %Z %Y", "%a %b %e %H:%M %Y" };
	char buf[512];
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, line, n);
	buf[n] = '\0';
	/* the sender may hold spaces: try the date at each word */
	for (char *p = strchr(buf + 5, ' '); p; p = strchr(p + 1, ' ')) {
		struct tm tm = { 0 };
		const char *rest = NULL;
		for (size_t f = 0; !rest && f < sizeof formats / sizeof formats[0]; f++)
			rest = strptime(p + 1, formats[f], &tm);
		if (!rest || (*rest && *rest != ' '))
			continue;
		int zone;
		char sign;
		if (sscanf(rest, " %c%4d", &sign, &zone) == 2 && (sign == '+' || sign == '-')) {
			*t = timegm(&tm) - (sign == '-' ? -1 : 1) * ((zone / 100) * 3600 + (zone % 100) * 60);
		} else {
			*t = local_to_utc(&tm);
		}
		if (*t < 0)
			*t = 0;
		return true;
	}
	return false;
}

/* "From MAILER-DAEMON <asctime>" with the file's line end. */
static size_t from_line(time_t when, const char *eol, char *out, size_t len)
{
	struct tm tm;
	char date[64];
	if (!localtime_r(&when, &tm) || !strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm))
		snprintf(date, sizeof date, "Thu Jan  1 00:00:00 1970");
	return (size_t)snprintf(out, len, "From MAILER-DAEMON %s%s", date, eol);
}

/* ---- locking ------------------------------------------------------------------ */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Break `lock` when it is older than STALE_LOCK_SECS; true if it did. */
static bool break_stale(const char *side, const char *lock)
{
	struct stat st;
	if (stat(lock, &st) < 0 || time(NULL) - st.st_mtime < STALE_LOCK_SECS)
		return false;
	if (unlink(lock) < 0)
		return false;
	fprintf(stderr, "mstore: warning: side %s: removed the stale lock %s (untouched for more than %d minutes)\n",
	        side, lock, STALE_LOCK_SECS / 60);
	return true;
}

/* Break `lock` when it is ours by its contents ("PID HOST", as
 * dotlock_try writes it) and that process is gone: a run killed while it
 * held the lock (SIGKILL, a crash, a power cut) must not hold up the next
 * run for STALE_LOCK_SECS.  Only locks naming this host are judged (a PID
 * means nothing on another NFS client), and locks of other programs (a
 * bare PID, as liblockfile writes, or nothing, as procmail writes) are
 * left to the age rule: their writer may live in another PID namespace.
 * The inode is checked again just before the unlink, so a lock another
 * process made meanwhile is not the one removed (the window left between
 * that stat and the unlink is the one every dot-lock breaker has).
 * True if it broke the lock. */
static bool break_dead(const char *side, const char *lock)
{
	char buf[160], host[64] = "", owner[sizeof buf];
	int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct stat before, now;
	ssize_t n = fstat(fd, &before) == 0 ? read(fd, buf, sizeof buf - 1) : -1;
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	long pid = 0;
	gethostname(host, sizeof host - 1);
	if (sscanf(buf, "%ld %159s", &pid, owner) != 2 || pid <= 0 || strcmp(owner, host) != 0)
		return false;
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return false;
	if (lstat(lock, &now) < 0 || now.st_ino != before.st_ino || now.st_dev != before.st_dev || unlink(lock) < 0)
		return false;
	fprintf(stderr, "mstore: warning: side %s: removed the lock %s of process %ld, which is gone\n", side, lock,
	        pid);
	return true;
}

/* One attempt at the dot-lock: 0 got it, 1 held by another, -1 error (errno).
 * The lock holds "PID HOST" (break_dead); programs that read a PID from
 * a dot-lock (liblockfile) read the number and stop at the blank. */
static int dotlock_try(const char *tmp, const char *lock)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	char pid[128], host[64] = "";
	gethostname(host, sizeof host - 1);
	int len = snprintf(pid, sizeof pid, "%ld %s\n", (long)getpid(), host[0] ? host : "-");
	int rc = ms_write_fully(fd, pid, (size_t)len, 0);
	close(fd);
	if (rc < 0) {
		unlink(tmp);
		return -1;
	}
	/* link() is atomic even over NFS; its answer is not, the link count is */
	int linked = link(tmp, lock);
	int err = errno;
	struct stat st;
	bool got = stat(tmp, &st) == 0 && st.st_nlink == 2;
	unlink(tmp);
	if (got)
		return 0;
	if (linked < 0 && err != EEXIST) {
		errno = err;
		return -1;
	}
	return 1;
}

static void lock_names(const char *path, char *lock, char *tmp)
{
	snprintf(lock, PATH_LEN, "%s.lock", path);
	const char *slash = strrchr(path, '/');
	int dir = slash ? (int)(slash - path) : 0;
	char host[64] = "";
	gethostname(host, sizeof host - 1);
	snprintf(tmp, PATH_LEN, "%.*s%s.%s.lock-%s-%ld", dir, path, slash ? "/" : "", slash ? slash + 1 : path, host,
	         (long)getpid());
}

/* Take FILE.lock, waiting until `deadline`.  `soft`: a directory we may not
 * write in is no error (reading without the dot-lock). */
static int dotlock(mbx_box *b, long long deadline, bool soft, ms_err *e)
{
	char lock[PATH_LEN], tmp[PATH_LEN];
	lock_names(b->path, lock, tmp);
	for (;;) {
		int rc = dotlock_try(tmp, lock);
		if (rc == 0) {
			b->dotlocked = true;
			return 0;
		}
		if (rc < 0) {
			if (soft && (errno == EACCES || errno == EPERM || errno == EROFS))
				return 0;
			return ms_err_set(e, MS_E_IO, "side %s: box %s: cannot make the lock %s: %s", b->base.side->name,
			                  b->base.name, lock, strerror(errno));
		}
		if (break_dead(b->base.side->name, lock) || break_stale(b->base.side->name, lock))
			continue;
		if (now_ms() >= deadline)
			return ms_err_set(e, MS_E_IO, "side %s: box %s: %s is held by another program (gave up after %d ms)",
			                  b->base.side->name, b->base.name, lock, lock_wait_ms());
		sleep_ms(LOCK_POLL_MS);
	}
}

static void dotunlock(mbx_box *b)
{
	if (!b->dotlocked)
		return;
	char lock[PATH_LEN], tmp[PATH_LEN];
	lock_names(b->path, lock, tmp);
	unlink(lock);
	b->dotlocked = false;
}

static int fcntl_lock(mbx_box *b, int fd, short type, long long deadline, ms_err *e)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
	while (fcntl(fd, F_SETLK, &fl) < 0) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return ms_err_set(e, MS_E_IO, "side %s: box %s: cannot lock %s: %s", b->base.side->name, b->base.name,
			                  b->path, strerror(errno));
		if (now_ms() >= deadline)
			return ms_err_set(e, MS_E_IO, "side %s: box %s: %s is locked by another program (gave up after %d ms)",
			                  b->base.side->name, b->base.name, b->path, lock_wait_ms());
		sleep_ms(LOCK_POLL_MS);
	}
	b->fcntl_locked = true;
	return 0;
}

static void unlock_box(mbx_box *b)
{
	if (b->fcntl_locked && b->fd >= 0) {
		struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
		fcntl(b->fd, F_SETLK, &fl);
	}
	b->fcntl_locked = false;
	dotunlock(b);
}

/* The locks for a write (dot-lock, fcntl write lock) or a read (fcntl
 * read lock, and the dot-lock too when `dot` and the side may write). */
static ms_drv_result lock_box(mbx_box *b, bool write, bool dot, ms_err *e)
{
	long long deadline = now_ms() + lock_wait_ms();
	bool ro = b->base.side->read_only;
	if (dot && !ro && dotlock(b, deadline, !write, e) < 0)
		return MS_DRV_BOX_BAD;
	if (fcntl_lock(b, b->fd, write ? F_WRLCK : F_RDLCK, deadline, e) < 0) {
		unlock_box(b);
		return MS_DRV_BOX_BAD;
	}
	return MS_DRV_OK;
}

/* ---- the side ------------------------------------------------------------------ */

static void mbx_close(ms_side *base)
{
	mbx_side *s = (mbx_side *)base;
	if (!s)
		return;
	free(s->root);
	free(s->inbox);
	skipped_clear(s);
	free(s->base.name);
	free(s);
}

/* path/INBOX, or the top-level file whose name is INBOX in another case
 * (a lower-case "inbox"). */
static void default_inbox(const char *root, char *out, size_t len)
{
	snprintf(out, len, "%s/INBOX", root);
	struct stat st;
	DIR *d = stat(out, &st) == 0 ? NULL : opendir(root);
	for (struct dirent *de; d && (de = readdir(d));)
		if (strcasecmp(de->d_name, "INBOX") == 0) {
			snprintf(out, len, "%s/%s", root, de->d_name);
			break;
		}
	if (d)
		closedir(d);
}

static int open_parts(mbx_side *s, const ms_side_conf *conf, ms_err *e)
{
	const char *path = ms_side_conf_get(conf, "path"), *inbox = ms_side_conf_get(conf, "inbox");
	struct stat st;
	if (!path || !*path)
		return ms_err_set(e, MS_E_CONFIG, "side %s: an mbox side needs a path (its directory of mbox files)",
		                  s->base.name);
	if (stat(path, &st) < 0)
		return ms_err_set(e, MS_E_NOTFOUND, "side %s: the mbox directory %s %s", s->base.name, path,
		                  errno == ENOENT ? "does not exist" : strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ms_err_set(e, MS_E_NOTFOUND, "side %s: the mbox path %s is not a directory", s->base.name, path);
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (!(s->root = strndup(path, len)))
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	char buf[PATH_LEN];
	if (!inbox || !*inbox)
		default_inbox(s->root, buf, sizeof buf);
	else if (inbox[0] == '/')
		snprintf(buf, sizeof buf, "%s", inbox);
	else
		snprintf(buf, sizeof buf, "%s/%s", s->root, inbox);
	if (!(s->inbox = strdup(buf)))
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	return 0;
}

static ms_drv_result mbx_open(const ms_side_conf *conf, ms_side **out, ms_err *e)
{
	*out = NULL;
	mbx_side *s = calloc(1, sizeof *s);
	if (!s || !(s->base.name = strdup(conf->name ? conf->name : "mbox"))) {
		free(s);
		return nomem(e);
	}
	s->base.drv = &ms_drv_mbox;
	s->base.read_only = conf->read_only;
	s->base.delim = '/';
	s->base.caps = MS_CAP_FLAGS | MS_CAP_INTERNAL_DATE | MS_CAP_CREATE_BOX | MS_CAP_DELETE_BOX | MS_CAP_APPEND_UID;
	if (open_parts(s, conf, e) < 0) {
		mbx_close(&s->base);
		return MS_DRV_SIDE_BAD;
	}
	ms_header_global_init();
	*out = &s->base;
	return MS_DRV_OK;
}

/* ---- box names ----------------------------------------------------------------- */

static bool is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A control character (C0 or DEL) would split a line of every listing,
 * state file and log that names the box: the Maildir driver refuses and
 * skips such names, and so does this one. */
static bool has_control(const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* A name's levels become path components: none may be empty, ".", "..",
 * begin with '.' (hidden: our temporary files, other programs' state),
 * end in ".lock" (a dot-lock) or hold a control character. */
static bool valid_name(const char *name)
{
	if (!*name || strlen(name) >= PATH_LEN / 2 || has_control(name))
		return false;
	char buf[PATH_LEN];
	snprintf(buf, sizeof buf, "%s", name);
	for (char *save = NULL, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save))
		if (c[0] == '.' || ends_with(c, ".lock"))
			return false;
	return name[0] != '/' && !strstr(name, "//") && name[strlen(name) - 1] != '/';
}

/* The file of box `name`; false for a name that cannot be one. */
static bool box_path(mbx_side *s, const char *name, char *out, size_t len)
{
	if (is_inbox(name)) {
		snprintf(out, len, "%s", s->inbox);
		return true;
	}
	if (!valid_name(name))
		return false;
	/* "INBOX/x": a level below INBOX is a directory beside the inbox file,
	 * which cannot be a directory too */
	return (size_t)snprintf(out, len, "%s/%s", s->root, name) < len;
}

/* ---- list boxes ------------------------------------------------------------- */

typedef struct box_list {
	ms_box_info *v;
	size_t n, cap;
} box_list;

static int add_box(box_list *l, const char *name, unsigned attrs)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		ms_box_info *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n].name = strdup(name)))
		return -1;
	l->v[l->n++].attrs = attrs;
	return 0;
}

/* An empty file or one beginning with "From ": a box (1); another file
 * (0); a file that cannot be opened (-1, errno set): that one may well be a
 * mailbox, so the walk reports it instead of passing it over in silence. */
static int mbox_kind(const char *path, const struct stat *st)
{
	if (st->st_size == 0)
		return 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	char head[5];
	bool ok = ms_read_fully(fd, head, 5, 0) == 0 && memcmp(head, "From ", 5) == 0;
	close(fd);
	return ok;
}

/* Why a file or directory of the tree was left out; a static string, as
 * ms_skipped_entry keeps it. */
static const char *unreadable_why(bool dir, int err)
{
	if (err == EACCES || err == EPERM)
		return dir ? "a folder directory that cannot be read (permission denied)"
		           : "a file that cannot be read (permission denied): not listed";
	return dir ? "a folder directory that cannot be read" : "a file that cannot be read: not listed";
}

static bool skip_entry(const char *name)
{
	return name[0] == '.' || ends_with(name, ".lock");
}

/* The boxes under `dir` (a name prefix `prefix`); how many it added. */
static int walk(mbx_side *s, box_list *l, const char *dir, const char *prefix, int depth, ms_err *e)
{
	DIR *d = opendir(dir);
	if (!d && depth > 0)
		skipped_add(s, prefix, unreadable_why(true, errno));
	if (!d)
		return depth == 0 ? ms_err_set(e, MS_E_IO, "side %s: cannot read the mbox directory %s: %s", s->base.name,
		                               dir, strerror(errno)) : 0;
	int added = 0;
	for (struct dirent *de; (de = readdir(d));) {
		char path[PATH_LEN], name[PATH_LEN];
		struct stat st;
		if (skip_entry(de->d_name) ||
		    (size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path ||
		    stat(path, &st) < 0)
			continue;
		snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name);
		int kind = S_ISREG(st.st_mode) ? mbox_kind(path, &st) : 0, kind_errno = errno;
		if (has_control(de->d_name)) {
			if (S_ISDIR(st.st_mode) || kind != 0)
				skipped_add(s, name, "a folder whose name holds a control character (not listed)");
			continue;
		}
		if (depth == 0 && is_inbox(de->d_name) && strcmp(path, s->inbox) != 0)
			continue; /* the name INBOX belongs to the configured file */
		if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			size_t at = l->n;
			if (add_box(l, name, MS_BOX_NOSELECT) < 0)
				goto oom;
			int below = walk(s, l, path, name, depth + 1, e);
			if (below < 0)
				goto fail;
			if (below > 0)
				l->v[at].attrs |= MS_BOX_HAS_CHILDREN;
			added += 1 + below;
		} else if (kind < 0) {
			skipped_add(s, name, unreadable_why(false, kind_errno));
		} else if (kind > 0) {
			if (add_box(l, depth == 0 && is_inbox(de->d_name) ? "INBOX" : name, 0) < 0)
				goto oom;
			added++;
		}
	}
	closedir(d);
	return added;
oom:
	ms_err_set(e, MS_E_NOMEM, "out of memory");
fail:
	closedir(d);
	return -1;
}

static ms_drv_result mbx_list_boxes(ms_side *base, ms_box_info **out, size_t *n, ms_err *e)
{
	mbx_side *s = (mbx_side *)base;
	box_list l = { 0 };
	*out = NULL;
	*n = 0;
	skipped_clear(s);
	if (walk(s, &l, s->root, "", 0, e) < 0) {
		ms_box_list_free(l.v, l.n);
		return MS_DRV_SIDE_BAD;
	}
	/* an inbox outside `path` */
	struct stat st;
	bool listed = false;
	for (size_t i = 0; i < l.n; i++)
		listed |= strcmp(l.v[i].name, "INBOX") == 0;
	if (!listed && stat(s->inbox, &st) == 0 && S_ISREG(st.st_mode) && add_box(&l, "INBOX", 0) < 0) {
		ms_box_list_free(l.v, l.n);
		return nomem(e);
	}
	*out = l.v;
	*n = l.n;
	return MS_DRV_OK;
}

/* ---- create and delete boxes --------------------------------------------- */

/* mkdir -p of the directory part of `path`, below the side's root. */
static int make_parents(mbx_side *s, const char *path)
{
	char buf[PATH_LEN];
	snprintf(buf, sizeof buf, "%s", path);
	size_t root = strncmp(buf, s->root, strlen(s->root)) == 0 ? strlen(s->root) + 1 : 1;
	for (char *p = buf + root; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

static ms_drv_result mbx_create_box(ms_side *base, const char *name, ms_err *e)
{
	mbx_side *s = (mbx_side *)base;
	char path[PATH_LEN];
	if (base->read_only)
		return refuse_write(base, e);
	if (!box_path(s, name, path, sizeof path))
		return box_bad(e, MS_E_USAGE, "side %s: '%s' cannot be an mbox box name (empty level, or a level beginning"
		               " with '.' or ending in .lock)", base->name, name);
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISREG(st.st_mode))
			return MS_DRV_OK;
		return box_bad(e, MS_E_EXISTS, "side %s: cannot create box %s: %s exists and is not a file", base->name,
		               name, path);
	}
	if (make_parents(s, path) < 0)
		return box_bad(e, MS_E_IO, "side %s: cannot create the directories of box %s (%s): %s", base->name, name,
		               path, strerror(errno));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST)
		return box_bad(e, MS_E_IO, "side %s: cannot create box %s (%s): %s", base->name, name, path,
		               strerror(errno));
	if (fd >= 0)
		close(fd);
	return MS_DRV_OK;
}

/* The box file at `path` removed when it is still empty under the locks
 * every writer takes (the dot-lock and the fcntl lock, an MDA's and ours):
 * a message appended between a check without them and the unlink would go
 * with the file.  A symlinked box is locked at its file; the link goes. */
static ms_drv_result remove_empty_file(mbx_side *s, const char *name, const char *path, ms_err *e)
{
	mbx_box b = { .base = { .side = &s->base, .name = (char *)name }, .fd = -1 };
	if (!(b.path = realpath(path, NULL)) || (b.fd = open(b.path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		int err = errno;
		free(b.path);
		return box_bad(e, MS_E_IO, "side %s: cannot delete box %s (%s): %s", s->base.name, name, path, strerror(err));
	}
	ms_drv_result res = lock_box(&b, true, true, e);
	struct stat held, now;
	if (res == MS_DRV_OK) {
		if (fstat(b.fd, &held) < 0 || stat(b.path, &now) < 0 || held.st_ino != now.st_ino || held.st_dev != now.st_dev)
			res = box_bad(e, MS_E_USAGE, "side %s: box %s (%s) was replaced meanwhile: not deleted", s->base.name,
			              name, path);
		else if (held.st_size > 0)
			res = box_bad(e, MS_E_USAGE, "side %s: box %s (%s) holds messages (one arrived meanwhile): not deleted",
			              s->base.name, name, path);
		else if (unlink(path) < 0)
			res = box_bad(e, MS_E_IO, "side %s: cannot delete box %s (%s): %s", s->base.name, name, path,
			              strerror(errno));
		unlock_box(&b);
	}
	close(b.fd);
	free(b.path);
	return res;
}

static ms_drv_result mbx_delete_box(ms_side *base, const char *name, ms_err *e)
{
	mbx_side *s = (mbx_side *)base;
	char path[PATH_LEN];
	struct stat st;
	if (base->read_only)
		return refuse_write(base, e);
	if (is_inbox(name))
		return box_bad(e, MS_E_USAGE, "side %s: the INBOX is never deleted", base->name);
	if (!box_path(s, name, path, sizeof path) || stat(path, &st) < 0) /* a symlinked box: the size of its file */
		return box_bad(e, MS_E_NOTFOUND, "side %s: there is no box %s to delete", base->name, name);
	if (S_ISDIR(st.st_mode)) {
		if (rmdir(path) < 0)
			return box_bad(e, MS_E_USAGE, "side %s: box %s (%s) was not deleted: %s", base->name, name, path,
			               errno == ENOTEMPTY || errno == EEXIST ? "it has children" : strerror(errno));
		return MS_DRV_OK;
	}
	if (st.st_size > 0)
		return box_bad(e, MS_E_USAGE, "side %s: box %s (%s) holds messages: not deleted", base->name, name, path);
	ms_test_hook("mbox-delete-checked");
	return remove_empty_file(s, name, path, e);
}

/* ---- the append marker ------------------------------------------------------------ */

/* Before an append writes, it records the file's size and its process in
 * ".NAME.mstore-append" beside the box ("SIZE PID HOST"), synced, and
 * removes it (synced too) once the messages are fsynced.  A marker whose
 * process is gone therefore means an append that was killed: what lies
 * past SIZE are messages the engine never recorded (its state is written
 * after append returns), maybe cut in the middle, which it will append
 * again.  A writable open cuts the file back to SIZE; a reader ignores
 * the tail.  The dead writer's dot-lock keeps other programs from
 * appending after the cut tail until it is broken: by mstore at once, by
 * others after STALE_LOCK_SECS; so a file modified later than that after
 * the marker may hold another program's delivery past our cut message,
 * and is left as it is with a warning (`mstore check` shows the cut). */
#define MARKER_INFIX ".mstore-append"

static void marker_path(const mbx_box *b, char *out)
{
	const char *slash = strrchr(b->path, '/');
	int dir = (int)(slash - b->path);
	snprintf(out, PATH_LEN, "%.*s/.%s" MARKER_INFIX, dir, b->path, slash + 1);
}

static int fsync_dir_of(const char *path);

/* Record `size` before an append. */
static int marker_write(mbx_box *b, off_t size, ms_err *e)
{
	char path[PATH_LEN], line[160], host[64] = "";
	marker_path(b, path);
	gethostname(host, sizeof host - 1);
	int len = snprintf(line, sizeof line, "%lld %ld %s\n", (long long)size, (long)getpid(), host[0] ? host : "-");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = fd < 0 || ms_write_fully(fd, line, (size_t)len, 0) < 0 || fdatasync(fd) < 0 ? -1 : 0;
	int err = errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0 && fsync_dir_of(path) < 0)
		rc = -1, err = errno;
	if (rc < 0) {
		unlink(path);
		return ms_err_set(e, MS_E_IO, "side %s: box %s: cannot write the append marker %s (nothing appended): %s",
		                  b->base.side->name, b->base.name, path, strerror(err));
	}
	return 0;
}

/* The append is complete (or cut back): no marker may outlive it, or a
 * later open would cut off messages the engine has recorded. */
static int marker_remove(mbx_box *b, ms_err *e)
{
	char path[PATH_LEN];
	marker_path(b, path);
	if ((unlink(path) < 0 && errno != ENOENT) || fsync_dir_of(path) < 0)
		return ms_err_set(e, MS_E_IO, "side %s: box %s: cannot remove the append marker %s: %s",
		                  b->base.side->name, b->base.name, path, strerror(errno));
	return 0;
}

/* A marker of a process that is gone: true with its size and mtime.  Only
 * markers of this host are judged (a PID means nothing elsewhere). */
static bool marker_dead(const mbx_box *b, off_t *size, time_t *when)
{
	char path[PATH_LEN], buf[160], host[64] = "", owner[sizeof buf];
	marker_path(b, path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	ssize_t n = fstat(fd, &st) == 0 ? read(fd, buf, sizeof buf - 1) : -1;
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	long long sz;
	long pid;
	gethostname(host, sizeof host - 1);
	if (sscanf(buf, "%lld %ld %159s", &sz, &pid, owner) != 3 || sz < 0 || pid <= 0 ||
	    strcmp(owner, host[0] ? host : "-") != 0)
		return false;
	if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return false;
	*size = (off_t)sz;
	*when = st.st_mtime;
	return true;
}

/* Cut back what a dead appender left, under the write locks. */
static ms_drv_result cut_dead_append(mbx_box *b, ms_err *e)
{
	const char *side = b->base.side->name, *name = b->base.name;
	off_t size;
	time_t when;
	struct stat st;
	if (!marker_dead(b, &size, &when)) /* another run settled it meanwhile */
		return MS_DRV_OK;
	if (fstat(b->fd, &st) < 0)
		return box_bad(e, MS_E_IO, "side %s: box %s: cannot stat %s: %s", side, name, b->path, strerror(errno));
	if (st.st_size > size && st.st_mtime > when + STALE_LOCK_SECS) {
		fprintf(stderr, "mstore: warning: side %s: box %s: an interrupted append left %lld bytes at the end of %s,"
		        " but the file changed %lld s later (another program's delivery?): left as it is\n", side, name,
		        (long long)(st.st_size - size), b->path, (long long)(st.st_mtime - when));
	} else if (st.st_size > size) {
		if (ftruncate(b->fd, size) < 0 || fsync(b->fd) < 0)
			return box_bad(e, MS_E_IO, "side %s: box %s: cannot cut %s back to the %lld bytes it had before an"
			               " interrupted append: %s", side, name, b->path, (long long)size, strerror(errno));
		fprintf(stderr, "mstore: side %s: box %s: cut %s back to %lld bytes: the end was an interrupted append\n",
		        side, name, b->path, (long long)size);
	}
	return marker_remove(b, e) < 0 ? MS_DRV_BOX_BAD : MS_DRV_OK;
}

/* At open: a writable box settles a dead appender's marker; a box we may
 * not write reads the file as it was before that append. */
static ms_drv_result settle_marker(mbx_box *b, ms_err *e)
{
	off_t size;
	time_t when;
	if (!marker_dead(b, &size, &when))
		return MS_DRV_OK;
	if (b->base.side->read_only || b->ro_file) {
		b->limit = size > 0 ? size : -1;
		return MS_DRV_OK;
	}
	ms_drv_result r = lock_box(b, true, true, e);
	if (r != MS_DRV_OK)
		return r;
	r = cut_dead_append(b, e);
	unlock_box(b);
	return r;
}

/* ---- open a box: the scan ------------------------------------------------------ */

static void free_entries(mbx_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].msgid);
	free(v);
}

static void mbx_close_box(ms_box *base)
{
	mbx_box *b = (mbx_box *)base;
	if (!b)
		return;
	unlock_box(b);
	if (b->fd >= 0)
		close(b->fd);
	free_entries(b->v, b->n);
	free(b->path);
	free(b->base.name);
	free(b);
}

static int push_entry(mbx_box *b, const mbx_entry *m)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		mbx_entry *v = realloc(b->v, cap * sizeof *v);
		if (!v)
			return -1;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = *m;
	return 0;
}

/* Fill a new entry for the region [off, end) of map. */
static int entry_from_region(mbx_box *b, const char *map, off_t off, off_t end, mbx_entry *m)
{
	const char *p = map + off, *nl = memchr(p, '\n', (size_t)(end - off));
	size_t line = nl ? (size_t)(nl - p) : (size_t)(end - off);
	size_t from_len = line > 0 && p[line - 1] == '\r' ? line - 1 : line;
	*m = (mbx_entry){ .uid = b->next_uid++, .off = off, .body = off + (off_t)line + (nl ? 1 : 0), .end = end,
	                  .from_hash = fnv1a(p, line) };
	from_line_date(p, from_len, &m->date);
	const char *msg = map + m->body;
	size_t len = (size_t)(end - m->body);
	/* the separator: the blank line before the next From line */
	if (len >= 2 && msg[len - 1] == '\n' && msg[len - 2] == '\n')
		len--;
	else if (len >= 4 && memcmp(msg + len - 4, "\r\n\r\n", 4) == 0)
		len -= 2;
	m->size = msg_size(msg, len);
	size_t blank, hend = header_end(msg, len, &blank);
	bool old;
	m->flags = header_flags(msg, hend, &old);
	ms_headers h;
	ms_err ignored;
	if (ms_headers_parse(msg, hend + blank, &h, &ignored) < 0)
		return -1;
	if (h.message_id && !(m->msgid = strdup(h.message_id))) {
		ms_headers_free(&h);
		return -1;
	}
	ms_headers_free(&h);
	return 0;
}

/* Does a separator begin at map[i] (the start of a line)?  A line
 * "From SENDER DATE" whose DATE parses, as c-client's VALID(), mutt's
 * is_from() and Dovecot's mbox-from check it: a body line "From me" that
 * a writer failed to quote does not split its message. */
static bool is_separator(const char *map, size_t i, size_t size)
{
	if (size - i < 5 || memcmp(map + i, "From ", 5) != 0)
		return false;
	const char *nl = memchr(map + i, '\n', size - i);
	size_t n = nl ? (size_t)(nl - map) - i : size - i;
	if (n > 0 && map[i + n - 1] == '\r')
		n--;
	time_t t;
	return from_line_date(map + i, n, &t);
}

static bool is_from(const char *f, const char *map, size_t size)
{
	return size - (size_t)(f - map) >= 5 && memcmp(f, "From ", 5) == 0;
}

/* The offsets of the separators in map[0..size). */
static int find_separators(const char *map, size_t size, off_t **out, size_t *n)
{
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < size;) {
		if (is_separator(map, i, size)) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				off_t *v = realloc(*out, cap * sizeof *v);
				if (!v)
					return -1;
				*out = v;
			}
			(*out)[(*n)++] = (off_t)i;
		}
		/* the next line beginning "From ": an 'F' after a newline */
		const char *f = map + i;
		while ((f = memchr(f + 1, 'F', size - (size_t)(f + 1 - map))) && (f[-1] != '\n' || !is_from(f, map, size)))
			;
		if (!f)
			break;
		i = (size_t)(f - map);
	}
	return 0;
}

/* Is the region [off, end) c-client's "DON'T DELETE THIS MESSAGE -- FOLDER
 * INTERNAL DATA" (a first message with an X-IMAP field, as c-client and
 * Dovecot tell it, and that subject)? */
static bool is_pseudo(const char *map, off_t off, off_t end)
{
	static const char subject[] = "FOLDER INTERNAL DATA";
	const char *p = map + off, *nl = memchr(p, '\n', (size_t)(end - off));
	if (!nl)
		return false;
	const char *hdr = nl + 1;
	size_t n = (size_t)(map + end - hdr), blank, hend = header_end(hdr, n, &blank);
	bool ximap = false, subj = false;
	for (size_t i = 0; i < hend;) {
		size_t len = field_len(hdr + i, hend - i);
		ximap |= field_is(hdr + i, len, "X-IMAP");
		subj |= field_is(hdr + i, len, "Subject") && memmem(hdr + i, len, subject, sizeof subject - 1);
		i += len;
	}
	/* both: a real message that became first with an X-IMAP field of its
	 * own must not vanish from the listing (the engine would take it for
	 * deleted) */
	return ximap && subj;
}

/* Read the file's messages into b->v, under the locks. */
static ms_drv_result scan(mbx_box *b, ms_err *e)
{
	const char *side = b->base.side->name, *name = b->base.name;
	if (fstat(b->fd, &b->seen) < 0)
		return box_bad(e, MS_E_IO, "side %s: box %s: cannot stat %s: %s", side, name, b->path, strerror(errno));
	off_t stop = b->limit && b->limit < b->seen.st_size ? b->limit : b->seen.st_size;
	if (stop <= 0)
		return MS_DRV_OK;
	size_t size = (size_t)stop;
	char *map = mmap(NULL, size, PROT_READ, MAP_SHARED, b->fd, 0);
	if (map == MAP_FAILED)
		return box_bad(e, MS_E_IO, "side %s: box %s: cannot map %s: %s", side, name, b->path, strerror(errno));
	ms_drv_result r = MS_DRV_OK;
	off_t *marks = NULL;
	size_t nm = 0;
	if (!is_separator(map, 0, size))
		r = box_bad(e, MS_E_PARSE, "side %s: box %s: %s is not an mbox file: it does not begin with a \"From \" line"
		            " with a date", side, name, b->path);
	else if (find_separators(map, size, &marks, &nm) < 0)
		r = nomem(e);
	const char *nl = memchr(map, '\n', size);
	b->crlf = nl && nl > map && nl[-1] == '\r';
	/* c-client's pseudo-message is no message: left where it is, as
	 * unknown bytes are (a rewrite copies them as they are) */
	for (size_t i = nm > 0 && is_pseudo(map, marks[0], nm > 1 ? marks[1] : (off_t)size) ? 1 : 0;
	     r == MS_DRV_OK && i < nm; i++) {
		mbx_entry m;
		off_t end = i + 1 < nm ? marks[i + 1] : (off_t)size;
		if (end <= marks[i] || entry_from_region(b, map, marks[i], end, &m) < 0 || push_entry(b, &m) < 0)
			r = end <= marks[i] ? box_bad(e, MS_E_PARSE, "side %s: box %s: From lines out of order in %s", side,
			                              name, b->path)
			                    : nomem(e);
	}
	free(marks);
	munmap(map, size);
	return r;
}

static uint32_t fresh_uidvalidity(void)
{
	static uint32_t last;
	uint32_t now = (uint32_t)time(NULL), prev = __atomic_load_n(&last, __ATOMIC_RELAXED), v;
	do
		v = now > prev ? now : prev + 1;
	while (!__atomic_compare_exchange_n(&last, &prev, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return v;
}

static ms_drv_result open_file(mbx_side *s, mbx_box *b, ms_err *e)
{
	char path[PATH_LEN], real[PATH_MAX];
	const char *name = b->base.name;
	if (!box_path(s, name, path, sizeof path))
		return box_bad(e, MS_E_NOTFOUND, "side %s: there is no box %s", s->base.name, name);
	if (!realpath(path, real))
		return box_bad(e, MS_E_NOTFOUND, "side %s: box %s: %s: %s", s->base.name, name, path, strerror(errno));
	if (!(b->path = strdup(real)))
		return nomem(e);
	b->fd = open(real, (s->base.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (b->fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		/* readable, not writable: a box to copy from, refusing writes */
		b->fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		b->ro_file = b->fd >= 0;
	}
	struct stat st;
	if (b->fd < 0 || fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return box_bad(e, MS_E_IO, "side %s: box %s: cannot open %s: %s", s->base.name, name, real,
		               b->fd < 0 ? strerror(errno) : "not a regular file");
	return MS_DRV_OK;
}

static ms_drv_result mbx_open_box(ms_side *base, const char *name, ms_box **out, ms_err *e)
{
	mbx_side *s = (mbx_side *)base;
	*out = NULL;
	mbx_box *b = calloc(1, sizeof *b);
	if (!b || !(b->base.name = strdup(name))) {
		free(b);
		return nomem(e);
	}
	b->base.side = base;
	b->fd = -1;
	b->next_uid = 1;
	ms_drv_result r = open_file(s, b, e);
	if (r == MS_DRV_OK)
		r = settle_marker(b, e);
	if (r == MS_DRV_OK && (r = lock_box(b, false, true, e)) == MS_DRV_OK) {
		r = scan(b, e);
		unlock_box(b);
	}
	if (r != MS_DRV_OK) {
		mbx_close_box(&b->base);
		return r;
	}
	b->base.status = (ms_box_status){ .uidvalidity = fresh_uidvalidity(), .uidnext = b->next_uid,
	                                  .count = (uint32_t)b->n };
	*out = &b->base;
	return MS_DRV_OK;
}

/* ---- checking the file is still what we read ---------------------------------- */

static ms_drv_result changed(mbx_box *b, const char *why, ms_err *e)
{
	return box_bad(e, MS_E_IO, "side %s: box %s: the mbox changed under us (%s %s): open it again",
	               b->base.side->name, b->base.name, b->path, why);
}

static bool same_from_line(mbx_box *b, const mbx_entry *m)
{
	size_t len = (size_t)(m->body - m->off);
	char stackbuf[512], *buf = len <= sizeof stackbuf ? stackbuf : malloc(len);
	if (!buf)
		return false;
	bool same = ms_read_fully(b->fd, buf, len, m->off) == 0;
	if (same) {
		size_t line = len > 0 && buf[len - 1] == '\n' ? len - 1 : len;
		same = fnv1a(buf, line) == m->from_hash;
	}
	if (buf != stackbuf)
		free(buf);
	return same;
}

/* Under the locks: is the file the one we read, with our messages where
 * we left them?  Growth at the end (an MDA's delivery) is fine. */
static ms_drv_result check_unchanged(mbx_box *b, ms_err *e)
{
	struct stat now, fst;
	if (stat(b->path, &now) < 0)
		return changed(b, errno == ENOENT ? "was removed" : strerror(errno), e);
	if (fstat(b->fd, &fst) < 0 || now.st_dev != fst.st_dev || now.st_ino != fst.st_ino)
		return changed(b, "was replaced by another file", e);
	if (now.st_size < b->seen.st_size)
		return changed(b, "shrank", e);
	if (now.st_size == b->seen.st_size && now.st_mtim.tv_sec == b->seen.st_mtim.tv_sec &&
	    now.st_mtim.tv_nsec == b->seen.st_mtim.tv_nsec)
		return MS_DRV_OK;
	for (size_t i = 0; i < b->n; i++)
		if (!same_from_line(b, &b->v[i]))
			return changed(b, "has a message where it had another", e);
	b->seen = now;
	return MS_DRV_OK;
}

/* ---- list and fetch ------------------------------------------------------------ */

static mbx_entry *find_uid(mbx_box *b, uint32_t uid)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->v[mid].uid == uid)
			return &b->v[mid];
		if (b->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static ms_drv_result mbx_list_msgs(ms_box *base, const ms_list_req *req, ms_msg **out, size_t *n, ms_err *e)
{
	mbx_box *b = (mbx_box *)base;
	size_t first = 0, k = 0;
	*out = NULL;
	*n = 0;
	while (first < b->n && b->v[first].uid <= req->after_uid)
		first++;
	k = b->n - first;
	if (req->max && k > req->max)
		k = req->max;
	ms_msg *v = calloc(k ? k : 1, sizeof *v);
	if (!v)
		return nomem(e);
	for (size_t i = 0; i < k; i++) {
		const mbx_entry *m = &b->v[first + i];
		v[i] = (ms_msg){ .uid = m->uid, .flags = m->flags, .size = m->size, .internal_date = m->date };
		if ((req->want & MS_WANT_MSGID) && m->msgid && !(v[i].msgid = strdup(m->msgid))) {
			ms_msg_list_free(v, k);
			return nomem(e);
		}
	}
	*out = v;
	*n = k;
	return MS_DRV_OK;
}

/* The message bytes of entry m, unquoted, in a new buffer. */
static int read_message(mbx_box *b, const mbx_entry *m, char **out, size_t *len)
{
	size_t n = (size_t)(m->end - m->body);
	char *buf = malloc(n ? n : 1);
	if (!buf)
		return -1;
	if (ms_read_fully(b->fd, buf, n, m->body) < 0) {
		free(buf);
		return -1;
	}
	if (n >= 2 && buf[n - 1] == '\n' && buf[n - 2] == '\n')
		n--;
	else if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
		n -= 2;
	*len = strip_hidden(buf, unquote(buf, n));
	*out = buf;
	return 0;
}

static ms_drv_result mbx_fetch(ms_box *base, const uint32_t *uids, size_t n, ms_fetch_cb *cb, void *ctx, ms_err *e)
{
	mbx_box *b = (mbx_box *)base;
	ms_drv_result r = lock_box(b, false, false, e);
	if (r == MS_DRV_OK)
		r = check_unchanged(b, e);
	for (size_t i = 0; r == MS_DRV_OK && i < n; i++) {
		mbx_entry *m = find_uid(b, uids[i]);
		ms_err why = { 0 };
		char *data = NULL;
		size_t len = 0;
		if (!m) {
			ms_err_set(&why, MS_E_NOTFOUND, "side %s: box %s has no message with UID %u", base->side->name,
			           base->name, uids[i]);
			cb(ctx, i, MS_DRV_MSG_BAD, NULL, 0, &why);
		} else if (read_message(b, m, &data, &len) < 0) {
			r = box_bad(e, MS_E_IO, "side %s: box %s: cannot read message UID %u from %s: %s", base->side->name,
			            base->name, uids[i], b->path, strerror(errno));
		} else {
			cb(ctx, i, MS_DRV_OK, data, len, NULL);
		}
		free(data);
	}
	unlock_box(b);
	return r;
}

/* ---- append -------------------------------------------------------------------- */

static const char *eol_of(const mbx_box *b)
{
	return b->crlf ? "\r\n" : "\n";
}

/* What must go before a new From line at the end of a file of `size`
 * bytes so that the last message ends with a blank line. */
static ms_drv_result separator_needed(mbx_box *b, off_t size, char *sep, ms_err *e)
{
	char tail[4] = "";
	const char *eol = eol_of(b);
	size_t el = strlen(eol), have = size < 4 ? (size_t)size : 4;
	sep[0] = '\0';
	if (size == 0)
		return MS_DRV_OK;
	if (ms_read_fully(b->fd, tail, have, size - (off_t)have) < 0)
		return box_bad(e, MS_E_IO, "side %s: box %s: cannot read the end of %s: %s", b->base.side->name,
		               b->base.name, b->path, strerror(errno));
	bool one = have >= el && memcmp(tail + have - el, eol, el) == 0;
	bool two = one && have >= 2 * el && memcmp(tail + have - 2 * el, eol, el) == 0;
	if (!two)
		snprintf(sep, 8, "%s%s", one ? "" : eol, eol);
	return MS_DRV_OK;
}

/* Write message i at `at`; on failure cut the file back to `at`. */
static int append_one(mbx_box *b, const ms_append *a, off_t at, const char *sep, mbx_entry *m, ms_err *why)
{
	const char *eol = eol_of(b), *side = b->base.side->name;
	if (a->len == 0)
		return ms_err_set(why, MS_E_USAGE, "side %s: box %s: an empty message is never stored (an mbox would read it"
		                  " back as a blank line)", side, b->base.name);
	time_t when = a->internal_date ? a->internal_date : time(NULL);
	char from[128];
	size_t seplen = strlen(sep), flen = from_line(when, eol, from, sizeof from), mlen;
	char *msg = with_flags(a->data, a->len, a->flags & MS_FLAGS_ALL, false, true, true, eol, &mlen);
	if (msg && msg_size(msg, mlen) == 0) {
		free(msg);
		return ms_err_set(why, MS_E_USAGE, "side %s: box %s: a message of nothing but mbox bookkeeping fields is"
		                  " empty: never stored", side, b->base.name);
	}
	char *buf = msg ? malloc(seplen + flen + mlen + strlen(eol)) : NULL;
	if (!buf) {
		free(msg);
		return ms_err_set(why, MS_E_NOMEM, "out of memory");
	}
	size_t w = 0;
	memcpy(buf + w, sep, seplen), w += seplen;
	memcpy(buf + w, from, flen), w += flen;
	memcpy(buf + w, msg, mlen), w += mlen;
	memcpy(buf + w, eol, strlen(eol)), w += strlen(eol);
	uint64_t size = msg_size(msg, mlen);
	free(msg);
	int rc = ms_write_fully(b->fd, buf, w, at);
	free(buf);
	if (rc < 0) {
		int err = errno;
		if (ftruncate(b->fd, at) < 0)
			err = errno;
		return ms_err_set(why, MS_E_IO, "side %s: box %s: cannot append to %s: %s", side, b->base.name, b->path,
		                  strerror(err));
	}
	size_t line = flen - strlen(eol);
	*m = (mbx_entry){ .flags = a->flags & MS_FLAGS_ALL, .off = at + (off_t)seplen,
	                  .body = at + (off_t)(seplen + flen), .end = at + (off_t)w,
	                  .from_hash = fnv1a(from, b->crlf ? line + 1 : line), .date = when,
	                  .size = size };
	ms_headers h;
	ms_err ignored;
	if (ms_headers_parse(a->data, a->len, &h, &ignored) == 0) {
		m->msgid = h.message_id ? strdup(h.message_id) : NULL;
		ms_headers_free(&h);
	}
	return 0;
}

/* The entry of the message whose region ends at `at`, if we know it. */
static mbx_entry *entry_ending_at(mbx_box *b, off_t at)
{
	return b->n > 0 && b->v[b->n - 1].end == at ? &b->v[b->n - 1] : NULL;
}

/* The separator lengthened the last message's region: its bytes are
 * those before plus at most the newline it lacked. */
static void extend_last(mbx_box *b, off_t old_end, const char *sep)
{
	mbx_entry *last = entry_ending_at(b, old_end);
	if (!last || !*sep)
		return;
	size_t el = strlen(eol_of(b));
	last->end += (off_t)strlen(sep);
	if (strlen(sep) == 2 * el)
		last->size += el;
}

static ms_drv_result append_locked(mbx_box *b, const ms_append *msgs, size_t n, ms_item_cb *cb, void *ctx,
                                   ms_err *e)
{
	struct stat st;
	if (fstat(b->fd, &st) < 0)
		return box_bad(e, MS_E_IO, "side %s: box %s: cannot stat %s: %s", b->base.side->name, b->base.name,
		               b->path, strerror(errno));
	if (st.st_size == 0)
		b->crlf = false;
	off_t start = st.st_size, at = start;
	char sep[8];
	mbx_entry *added = calloc(n, sizeof *added);
	bool *ok = calloc(n, sizeof *ok);
	ms_err *whys = calloc(n, sizeof *whys);
	ms_drv_result r = !added || !ok || !whys ? nomem(e) : separator_needed(b, start, sep, e);
	if (r == MS_DRV_OK && marker_write(b, start, e) < 0)
		r = MS_DRV_BOX_BAD;
	/* only the first message written needs the separator: each one we
	 * write ends with a blank line */
	for (size_t i = 0; r == MS_DRV_OK && i < n; i++)
		if (append_one(b, &msgs[i], at, at == start ? sep : "", &added[i], &whys[i]) == 0) {
			ok[i] = true;
			at = added[i].end;
			ms_test_hook("mbox-append-one"); /* written, not yet fsynced nor listed */
		}
	if (r == MS_DRV_OK && at != start && fsync(b->fd) < 0) {
		int err = errno;
		if (ftruncate(b->fd, start) < 0 || fsync(b->fd) < 0)
			err = errno;
		r = box_bad(e, MS_E_IO, "side %s: box %s: cannot fsync %s after appending (cut back): %s",
		            b->base.side->name, b->base.name, b->path, strerror(err));
	}
	if (r == MS_DRV_OK && marker_remove(b, e) < 0) {
		/* the marker may outlive us: cut back, so that it tells the truth
		 * (no append); if even that fails, the next open cuts back */
		if (ftruncate(b->fd, start) == 0)
			fsync(b->fd);
		r = MS_DRV_BOX_BAD;
	}
	if (r == MS_DRV_OK && at != start)
		extend_last(b, start, sep);
	for (size_t i = 0; i < n && added && ok && whys; i++) {
		if (r == MS_DRV_OK && ok[i]) {
			added[i].uid = b->next_uid++;
			if (push_entry(b, &added[i]) == 0) {
				cb(ctx, i, MS_DRV_OK, added[i].uid, NULL, NULL);
				continue;
			}
			/* the message is in the file; we only cannot name it now */
			ms_err_set(&whys[i], MS_E_NOMEM, "out of memory listing an appended message");
		}
		free(added[i].msgid);
		if (r == MS_DRV_OK)
			cb(ctx, i, MS_DRV_MSG_BAD, 0, NULL, &whys[i]);
	}
	free(added);
	free(ok);
	free(whys);
	fstat(b->fd, &b->seen);
	return r;
}

static ms_drv_result mbx_append(ms_box *base, const ms_append *msgs, size_t n, ms_item_cb *cb, void *ctx,
                                ms_err *e)
{
	mbx_box *b = (mbx_box *)base;
	if (base->side->read_only || b->ro_file)
		return refuse_box_write(base, e);
	if (n == 0)
		return MS_DRV_OK;
	if ((uint64_t)b->next_uid + n > UINT32_MAX)
		return box_bad(e, MS_E_LIMIT, "side %s: box %s has no UIDs left for %zu messages in this session",
		               base->side->name, base->name, n);
	ms_drv_result r = lock_box(b, true, true, e);
	if (r != MS_DRV_OK)
		return r;
	if ((r = check_unchanged(b, e)) == MS_DRV_OK)
		r = append_locked(b, msgs, n, cb, ctx, e);
	unlock_box(b);
	return r;
}

/* ---- rewrite: set_flags and expunge ---------------------------------------------- */

/* What a rewrite does to each entry. */
typedef struct plan {
	bool *drop;                /* expunge it */
	unsigned *flags;           /* its new flags */
	bool any;                  /* anything to write at all */
} plan;

static int copy_range(int in, off_t from, off_t to, int out, off_t *at)
{
	off_t src = from;
	while (src < to) {
		ssize_t c = copy_file_range(in, &src, out, at, (size_t)(to - src), 0);
		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
			char buf[65536];
			size_t k = (size_t)(to - src) < sizeof buf ? (size_t)(to - src) : sizeof buf;
			if (ms_read_fully(in, buf, k, src) < 0 || ms_write_fully(out, buf, k, *at) < 0)
				return -1;
			src += (off_t)k;
			*at += (off_t)k;
			continue;
		}
		if (c <= 0) {
			if (c == 0)
				errno = ENODATA;
			return -1;
		}
	}
	return 0;
}

/* Write entry m with new flags at *at of out; its new offsets into nm. */
static int write_reflagged(mbx_box *b, const mbx_entry *m, unsigned flags, int out, off_t *at, mbx_entry *nm)
{
	size_t n = (size_t)(m->end - m->off), head = (size_t)(m->body - m->off);
	char *buf = malloc(n ? n : 1);
	if (!buf || ms_read_fully(b->fd, buf, n, m->off) < 0) {
		free(buf);
		return -1;
	}
	size_t len = n - head;
	if (len >= 2 && buf[n - 1] == '\n' && buf[n - 2] == '\n')
		len--;
	else if (len >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
		len -= 2;
	char *msg = buf + head;
	len = unquote(msg, len);
	size_t blank, hend = header_end(msg, len, &blank), outlen;
	bool old;
	header_flags(msg, hend, &old);
	const char *eol = eol_of(b);
	/* a message that does not end in a newline (an empty one, or the cut
	 * last one of the file) stays so, and gets no separator: each would
	 * change the bytes fetch returns */
	bool ends_nl = len > 0 && msg[len - 1] == '\n';
	char *q = with_flags(msg, len, flags, old, false, ends_nl, eol, &outlen);
	int rc = -1;
	*nm = *m;
	nm->off = *at;
	if (q && ms_write_fully(out, buf, head, *at) == 0 && ms_write_fully(out, q, outlen, *at + (off_t)head) == 0) {
		*at += (off_t)(head + outlen);
		rc = 0;
		/* the separator, whenever the message ends in a newline: without
		 * it one ending in a blank line would lose that line to the next
		 * reading */
		if (outlen > 0 && q[outlen - 1] == '\n') {
			rc = ms_write_fully(out, eol, strlen(eol), *at);
			*at += (off_t)strlen(eol);
		}
		nm->body = nm->off + (off_t)head;
		nm->end = *at;
		nm->flags = flags;
		nm->size = msg_size(q, outlen);
	}
	free(q);
	free(buf);
	return rc;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_LEN];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* A new temporary file beside the box's, with the original's mode, owner
 * and group. */
static int make_tmp(mbx_box *b, char *tmp, ms_err *e)
{
	const char *slash = strrchr(b->path, '/');
	int dir = (int)(slash - b->path);
	snprintf(tmp, PATH_LEN, "%.*s/.%s" TMP_INFIX "%ld", dir, b->path, slash + 1, (long)getpid());
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) /* left by a crashed run of ours with the same pid */
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return ms_err_set(e, MS_E_IO, "side %s: box %s: cannot create the temporary file %s: %s",
		                  b->base.side->name, b->base.name, tmp, strerror(errno));
	struct stat st;
	if (fstat(b->fd, &st) < 0 || ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	                              fchown(fd, st.st_uid, st.st_gid) < 0) || fchmod(fd, st.st_mode & 07777) < 0) {
		int err = errno;
		close(fd);
		unlink(tmp);
		return ms_err_set(e, MS_E_IO, "side %s: box %s: cannot give %s the owner and mode of %s (%s): not rewritten",
		                  b->base.side->name, b->base.name, tmp, b->path, strerror(err));
	}
	return fd;
}

/* Copy the file into `out` as the plan says; the new entries into nv. */
static int write_plan(mbx_box *b, const plan *p, int out, mbx_entry *nv, size_t *nn)
{
	struct stat st;
	off_t pos = 0, at = 0;
	*nn = 0;
	if (fstat(b->fd, &st) < 0)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		const mbx_entry *m = &b->v[i];
		if (copy_range(b->fd, pos, m->off, out, &at) < 0) /* what we do not know (an MDA's delivery) */
			return -1;
		pos = m->end;
		if (p->drop[i])
			continue;
		mbx_entry *nm = &nv[(*nn)++];
		if (p->flags[i] != m->flags) {
			if (write_reflagged(b, m, p->flags[i], out, &at, nm) < 0)
				return -1;
			continue;
		}
		*nm = *m;
		nm->off = at;
		nm->body = at + (m->body - m->off);
		if (copy_range(b->fd, m->off, m->end, out, &at) < 0)
			return -1;
		nm->end = at;
	}
	/* the last message of a file whose tail was dropped must not end
	 * without a separator before an unknown delivery; copy_range keeps the
	 * bytes as they were, and the region kept its separator */
	return copy_range(b->fd, pos, st.st_size, out, &at);
}

/* Replace the box's file by one written as `p` says, under the locks. */
static ms_drv_result rewrite(mbx_box *b, const plan *p, ms_err *e)
{
	const char *side = b->base.side->name, *name = b->base.name;
	char tmp[PATH_LEN];
	mbx_entry *nv = calloc(b->n ? b->n : 1, sizeof *nv);
	if (!nv)
		return nomem(e);
	int out = make_tmp(b, tmp, e);
	if (out < 0) {
		free(nv);
		return MS_DRV_BOX_BAD;
	}
	size_t nn = 0;
	const char *step = "write";
	int rc = write_plan(b, p, out, nv, &nn);
	if (rc == 0 && (step = "fsync", rc = fsync(out)) == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		rc = fcntl(out, F_SETLK, &fl); /* nobody else knows the file yet */
		ms_test_hook("mbox-before-rename");
		if (rc == 0)
			step = "rename", rc = rename(tmp, b->path);
	}
	if (rc < 0) {
		int err = errno;
		close(out);
		unlink(tmp);
		free(nv);
		return box_bad(e, MS_E_IO, "side %s: box %s: cannot %s the new %s (%s), left as it was: %s", side, name, step,
		               b->path, tmp, strerror(err));
	}
	close(b->fd); /* drops the lock of the file that is gone */
	b->fd = out;
	fstat(out, &b->seen);
	for (size_t i = 0; i < b->n; i++)
		if (p->drop[i])
			free(b->v[i].msgid);
	free(b->v);
	b->v = nv;
	b->n = b->cap = nn;
	if (b->cap == 0)
		b->cap = 1;
	/* the rename is done, and with it every item: say so, but do not undo */
	if (fsync_dir_of(b->path) < 0)
		fprintf(stderr, "mstore: warning: side %s: box %s: rewrote %s but cannot fsync its directory: %s\n", side,
		        name, b->path, strerror(errno));
	return MS_DRV_OK;
}

/* Run a write batch: plan it with `fill`, rewrite once, report each item. */
typedef ms_drv_result fill_fn(mbx_box *b, const void *items, size_t n, plan *p, ms_drv_result *res, ms_err *whys);
/* The UID item i of a batch names, for its report. */
typedef const uint32_t *uid_fn(const void *items, size_t i);

static ms_drv_result batch(ms_box *base, const void *items, size_t n, fill_fn *fill, uid_fn *uid_of, ms_item_cb *cb,
                           void *ctx, ms_err *e)
{
	mbx_box *b = (mbx_box *)base;
	if (base->side->read_only || b->ro_file)
		return refuse_box_write(base, e);
	if (n == 0)
		return MS_DRV_OK;
	ms_drv_result r = lock_box(b, true, true, e);
	if (r != MS_DRV_OK)
		return r;
	plan p = { .drop = calloc(b->n ? b->n : 1, sizeof *p.drop), .flags = calloc(b->n ? b->n : 1, sizeof *p.flags) };
	ms_drv_result *res = calloc(n, sizeof *res);
	ms_err *whys = calloc(n, sizeof *whys);
	if (!p.drop || !p.flags || !res || !whys)
		r = nomem(e);
	if (r == MS_DRV_OK)
		r = check_unchanged(b, e);
	if (r == MS_DRV_OK) {
		for (size_t i = 0; i < b->n; i++)
			p.flags[i] = b->v[i].flags;
		r = fill(b, items, n, &p, res, whys);
	}
	if (r == MS_DRV_OK && p.any)
		r = rewrite(b, &p, e);
	unlock_box(b);
	for (size_t i = 0; r == MS_DRV_OK && i < n; i++)
		cb(ctx, i, res[i], *uid_of(items, i), NULL, res[i] == MS_DRV_OK ? NULL : &whys[i]);
	free(p.drop);
	free(p.flags);
	free(res);
	free(whys);
	return r;
}

static void no_such_uid(mbx_box *b, uint32_t uid, ms_drv_result *res, ms_err *why)
{
	*res = MS_DRV_MSG_BAD;
	ms_err_set(why, MS_E_NOTFOUND, "side %s: box %s has no message with UID %u", b->base.side->name, b->base.name,
	           uid);
}

static ms_drv_result fill_flags(mbx_box *b, const void *items, size_t n, plan *p, ms_drv_result *res, ms_err *whys)
{
	const ms_flag_change *ch = items;
	for (size_t i = 0; i < n; i++) {
		mbx_entry *m = find_uid(b, ch[i].uid);
		if (!m) {
			no_such_uid(b, ch[i].uid, &res[i], &whys[i]);
			continue;
		}
		size_t k = (size_t)(m - b->v);
		p->flags[k] = ((p->flags[k] | ch[i].add) & ~ch[i].remove) & MS_FLAGS_ALL;
		p->any |= p->flags[k] != m->flags;
	}
	return MS_DRV_OK;
}

static const uint32_t *flag_uid(const void *items, size_t i)
{
	return &((const ms_flag_change *)items)[i].uid;
}

static ms_drv_result mbx_set_flags(ms_box *base, const ms_flag_change *ch, size_t n, ms_item_cb *cb, void *ctx,
                                   ms_err *e)
{
	return batch(base, ch, n, fill_flags, flag_uid, cb, ctx, e);
}

static ms_drv_result fill_expunge(mbx_box *b, const void *items, size_t n, plan *p, ms_drv_result *res, ms_err *whys)
{
	const uint32_t *uids = items;
	for (size_t i = 0; i < n; i++) {
		mbx_entry *m = find_uid(b, uids[i]);
		if (!m || p->drop[m - b->v]) {
			no_such_uid(b, uids[i], &res[i], &whys[i]);
			continue;
		}
		p->drop[m - b->v] = true;
		p->any = true;
	}
	return MS_DRV_OK;
}

static const uint32_t *expunge_uid(const void *items, size_t i)
{
	return &((const uint32_t *)items)[i];
}

static ms_drv_result mbx_expunge(ms_box *base, const uint32_t *uids, size_t n, ms_item_cb *cb, void *ctx,
                                 ms_err *e)
{
	return batch(base, uids, n, fill_expunge, expunge_uid, cb, ctx, e);
}

/* Only boxes are skipped (a name with a control character); a message is
 * whatever lies between two From lines. */
static const ms_skipped_entry *mbx_skipped(ms_side *s, ms_box *b, size_t *n)
{
	if (b) {
		*n = 0;
		return NULL;
	}
	return ms_mbox_side_skipped(s, n);
}

const ms_side_driver ms_drv_mbox = {
	.kind = "mbox",
	.open = mbx_open,
	.close = mbx_close,
	.list_boxes = mbx_list_boxes,
	.create_box = mbx_create_box,
	.delete_box = mbx_delete_box,
	.open_box = mbx_open_box,
	.close_box = mbx_close_box,
	.list_msgs = mbx_list_msgs,
	.fetch = mbx_fetch,
	.append = mbx_append,
	.set_flags = mbx_set_flags,
	.expunge = mbx_expunge,
	.skipped = mbx_skipped,
};

/* ---- what `mstore check` asks (drv_mbox.h) ------------------------------------- */

bool ms_mbox_msg_offset(const ms_box *base, uint32_t uid, uint64_t *offset)
{
	assert(base->side->drv == &ms_drv_mbox);
	const mbx_entry *m = find_uid((mbx_box *)base, uid);
	if (m)
		*offset = (uint64_t)m->off;
	return m != NULL;
}

/* Does the line before offset `off` (> 0) of map end a blank line? */
static bool blank_before(const char *map, off_t off)
{
	if (off < 2 || map[off - 1] != '\n')
		return false;
	return map[off - 2] == '\n' || (off >= 3 && map[off - 2] == '\r' && map[off - 3] == '\n');
}

/* Does p[0..n) begin with a header field ("Name:", RFC 5322's printable
 * name characters)? */
static bool starts_with_field(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] > ' ' && p[i] < 127 && p[i] != ':')
		i++;
	return i > 0 && i < n && p[i] == ':';
}

/* 1 or 2 when p[0..n) begins with an empty line (LF, CRLF), 0 when it
 * begins with text, -1 when it is empty: a message of no bytes is no
 * split (check reports it as empty). */
static int blank_at_start(const char *p, size_t n)
{
	if (n == 0)
		return -1;
	return p[0] == '\n' ? 1 : n >= 2 && p[0] == '\r' && p[1] == '\n' ? 2 : 0;
}

/* The Content-Length field's value in header hdr[0..n), or -1. */
static long long content_length(const char *hdr, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = field_len(hdr + i, n - i);
		if (field_is(hdr + i, len, "Content-Length")) {
			char buf[32];
			size_t k = 0;
			for (size_t j = 15; j < len && k + 1 < sizeof buf; j++)
				if (hdr[i + j] != ' ' && hdr[i + j] != '\t' && hdr[i + j] != '\r' && hdr[i + j] != '\n')
					buf[k++] = hdr[i + j];
			buf[k] = '\0';
			char *end;
			long long v = strtoll(buf, &end, 10);
			return k > 0 && *end == '\0' && v >= 0 ? v : -1;
		}
		i += len;
	}
	return -1;
}

#define CUT_SHORT "cut short: "

/* Why message m (the i-th, last when `last`) looks split or short, or NULL. */
static const char *entry_anomaly(const char *map, size_t size, const mbx_entry *m, size_t i, bool last)
{
	const char *msg = map + m->body;
	size_t len = (size_t)(m->end - m->body), blank, hend = header_end(msg, len, &blank);
	bool follows_text = i > 0 && m->off > 0 && !blank_before(map, m->off);
	bool headerless = i > 0 && blank_at_start(msg, len) == 0 && !starts_with_field(msg, len);
	if (follows_text && headerless)
		return "a From line after a non-blank line, starting no header: an unquoted \"From \" body line split "
		       "the message before it";
	if (follows_text)
		return "a From line after a non-blank line: probably an unquoted \"From \" body line that split the "
		       "message before it";
	if (headerless)
		return "no header: probably the rest of the message before it, split at an unquoted \"From \" line";
	if (!last)
		return NULL;
	if (size > 0 && map[size - 1] != '\n')
		return CUT_SHORT "the file ends inside a line";
	if (blank == 0 && len > 0)
		return CUT_SHORT "its header never ends";
	long long cl = content_length(msg, hend);
	if (blank > 0 && cl >= 0 && (uint64_t)cl > len - hend - blank)
		return CUT_SHORT "its Content-Length promises more bytes than there are";
	return NULL;
}

ms_drv_result ms_mbox_box_anomalies(ms_box *base, ms_mbox_anomaly **out, size_t *n, ms_err *e)
{
	assert(base->side->drv == &ms_drv_mbox);
	mbx_box *b = (mbx_box *)base;
	*out = NULL;
	*n = 0;
	if (b->n == 0)
		return MS_DRV_OK;
	ms_drv_result r = lock_box(b, false, false, e);
	if (r == MS_DRV_OK)
		r = check_unchanged(b, e);
	/* the messages open_box saw end at b->v[b->n - 1].end: appended ones are not ours */
	size_t size = (size_t)b->v[b->n - 1].end;
	char *map = r == MS_DRV_OK ? mmap(NULL, size, PROT_READ, MAP_SHARED, b->fd, 0) : MAP_FAILED;
	if (r == MS_DRV_OK && map == MAP_FAILED)
		r = box_bad(e, MS_E_IO, "side %s: box %s: cannot map %s: %s", base->side->name, base->name, b->path,
		            strerror(errno));
	MS_VEC(ms_mbox_anomaly) v = { 0 };
	for (size_t i = 0; r == MS_DRV_OK && i < b->n; i++) {
		const char *why = entry_anomaly(map, size, &b->v[i], i, i + 1 == b->n);
		ms_mbox_anomaly a = { .uid = b->v[i].uid, .offset = (uint64_t)b->v[i].off, .why = why,
		                      .cut_short = why && strncmp(why, CUT_SHORT, strlen(CUT_SHORT)) == 0 };
		if (why && ms_vec_push(&v, a) < 0)
			r = nomem(e);
	}
	if (map != MAP_FAILED)
		munmap(map, size);
	unlock_box(b);
	if (r != MS_DRV_OK) {
		ms_vec_free(&v);
		return r;
	}
	*out = v.v;
	*n = v.n;
	return MS_DRV_OK;
}
