/* drv_imap.c - a side that is an account on an IMAP4rev1 server (RFC 3501).
 *
 * Configuration keys: `host`, `port` (default 993 with `tls implicit`,
 * else 143), `tls implicit|starttls|none` (default: implicit on port 993,
 * else starttls; STARTTLS is then required, never silently skipped),
 * `user`, `password` (the channel configuration resolved `passwd` and
 * `passfile` into it), `passcmd` (a shell command whose first output line
 * is the password, run only when no password is given; run_cmd), then
 * $MSTORE_IMAP_PASSWORD, then a prompt on the terminal (/dev/tty, echo
 * off); never argv, never a log line.  `tls-verify no`
 * (or mailsync's /novalidate-cert, `novalidate-cert yes`) turns off the
 * certificate and host name checks, with a warning on stderr; `cafile
 * FILE` trusts that CA bundle instead of the system's; `timeout SECONDS`
 * (default 60) bounds every wait for the server.  `tls none` is refused
 * unless the host is a loopback address or name (`allow-plaintext yes`
 * overrides it: the store says so explicitly).
 *
 * Login: AUTHENTICATE PLAIN when offered (with SASL-IR in the first
 * line), else LOGIN; never when the server says LOGINDISABLED.  With
 * `tokencmd` (OAuth 2.0) AUTHENTICATE OAUTHBEARER (RFC 7628) or XOAUTH2
 * (`auth` picks one; default OAUTHBEARER when offered) with the token the
 * command prints (run by /bin/sh -c too); a refused token makes it run once more (the token it cached may
 * have expired).  $MSTORE_IMAP_TRACE=FILE logs each command (a test hook,
 * credentials as "***").
 *
 * UIDs only, never sequence numbers: every command that names messages
 * is a UID command.  UIDs are stable (MS_CAP_UID_STABLE): the engine keeps
 * "uid:UIDVALIDITY:UID" in its state, so a changed UIDVALIDITY makes every
 * kept key unknown and the engine pairs the box's messages by identity
 * again, copying nothing twice.  `key` is NULL.
 *
 * Names: the server's (modified UTF-7 decoded to UTF-8, and encoded back on
 * the way out; a name that is not valid modified UTF-7 is kept as sent),
 * levels joined with the server's delimiter, INBOX in any case reported as
 * "INBOX".  \Noselect and \NonExistent names are MS_BOX_NOSELECT.  One
 * LIST "" "*" per session, at open (RETURN (SPECIAL-USE) when offered):
 * the delimiter, the names list_boxes hands out until a CREATE or DELETE,
 * the special uses.  `specialuse yes` shows the folder with \Sent, \Trash,
 * \Drafts, \Junk or \Archive under that role's name (set_roles) and maps
 * the name back on the way in; `trash yes|NAME` makes expunge move the
 * messages to that folder first (UID MOVE, else UID COPY; to_trash).
 *
 * Pipelining: list_msgs is one UID FETCH of the whole range (cached and
 * handed out page by page); fetch is one UID FETCH per 500 UIDs; append
 * sends up to WINDOW APPENDs ahead with LITERAL+ (LITERAL- for messages
 * up to 4 KiB), else waits for each continuation; set_flags sends one UID
 * STORE per distinct change, UIDs joined in sets; expunge is UID SEARCH,
 * UID STORE +FLAGS (\Deleted) and UID EXPUNGE (UIDPLUS) in one go;
 * close_box's UNSELECT goes out with the next command, not waited for.
 * Without UIDPLUS, expunge takes \Deleted off the box's other deleted
 * messages, EXPUNGEs and puts it back (another client could set \Deleted
 * in between and lose a message it meant to keep: the one race left, the
 * one every client without UIDPLUS has).
 *
 * Failures: a dropped connection, a timeout or a BYE is MS_DRV_SIDE_BAD and
 * the side is dead from then on; NO to a SELECT is MS_DRV_BOX_BAD; NO to
 * one APPEND (over quota, a message the server refuses) is that message's
 * MS_DRV_MSG_BAD with the server's words.
 */
#include "drivers/driver.h"

#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "imap/imap.h"
#include "message/header.h"
#include "util/escape.h"
#include "util/str.h"
#include "util/testhook.h"

#define FETCH_CHUNK 500
#define WINDOW 64
#define DEFAULT_TIMEOUT_S 60

enum {
	C_UIDPLUS = 1u << 0,
	C_LITERALPLUS = 1u << 1,
	C_LITERALMINUS = 1u << 2,
	C_CONDSTORE = 1u << 3,
	C_STARTTLS = 1u << 4,
	C_AUTH_PLAIN = 1u << 5,
	C_LOGINDISABLED = 1u << 6,
	C_SASL_IR = 1u << 7,
	C_UNSELECT = 1u << 8,
	C_IMAP4REV1 = 1u << 9,
	C_AUTH_XOAUTH2 = 1u << 10,
	C_AUTH_OAUTHBEARER = 1u << 11,
	C_SPECIALUSE = 1u << 12,
	C_MOVE = 1u << 13,
	C_LISTEXT = 1u << 14,
};

/* The special-use roles (RFC 6154) `specialuse yes` presents under a role
 * name, in the order of the U_* bits. */
static const char *const role_attr[] = { "\\Sent", "\\Trash", "\\Drafts", "\\Junk", "\\Archive" };
static const char *const role_name[] = { "Sent", "Trash", "Drafts", "Junk", "Archive" };
#define NROLES 5
/* A listed box's special use is kept in the attribute bits above the
 * MS_BOX_* ones while the driver holds the listing; list_boxes masks it
 * off (the interface has no field for it). */
#define USE_SHIFT 16
#define MS_BOX_ATTRS (MS_BOX_NOSELECT | MS_BOX_HAS_CHILDREN | MS_BOX_SUBSCRIBED)

typedef struct imap_box imap_box;

typedef struct imap_side {
	ms_side base;
	ms_imap_conn *c;
	unsigned capa;
	unsigned tag;           /* the last tag sent: "m<N>" */
	ms_imap_resp r;
	imap_box *selected;     /* the box the server has selected, or NULL */
	unsigned unselect_tag;  /* an UNSELECT sent, its answer not read yet (close_box does not wait) */
	bool dead;              /* the connection is gone: everything is MS_DRV_SIDE_BAD */
	char where[300];        /* "IMAP store NAME (HOST:PORT)", for messages */
	ms_box_info *boxes;     /* the LIST of this session (server names, use bits in attrs), */
	size_t nboxes;          /* sent once at open: list_boxes hands out copies until a */
	bool listed;            /* create or delete makes it stale */
	char *alias[NROLES];    /* specialuse yes: the server's name shown as role_name[i], or NULL */
	char *trash;            /* trash yes|NAME: the folder (server name) expunge moves messages to */
} imap_side;

struct imap_box {
	ms_box base;
	char *wire;             /* the name as the server knows it (modified UTF-7, quoted) */
	ms_msg *cache;          /* the last listing, handed out page by page */
	size_t ncache, pos;
	bool cached;
	unsigned cache_want;
	uint64_t cache_since;
};

/* ---- small helpers --------------------------------------------------------------- */

static ms_drv_result side_bad(imap_side *s, ms_err *e)
{
	(void)e; /* filled by the caller */
	s->dead = true;
	return MS_DRV_SIDE_BAD;
}

static bool is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/* A tagged status line: tag, OK/NO/BAD, the response code and the text. */
typedef enum { ST_OK, ST_NO, ST_BAD } st_kind;

typedef struct status {
	unsigned tag;
	st_kind kind;
	const char *text;       /* from the code on: "[APPENDUID 1 5] Append completed." */
} status;

static bool parse_tagged(const ms_imap_resp *r, status *st)
{
	if (r->len < 2 || r->buf[0] != 'm' || !isdigit((unsigned char)r->buf[1]))
		return false;
	char *end;
	st->tag = (unsigned)strtoul(r->buf + 1, &end, 10);
	if (*end != ' ')
		return false;
	end++;
	if (strncasecmp(end, "OK", 2) == 0)
		st->kind = ST_OK, end += 2;
	else if (strncasecmp(end, "NO", 2) == 0)
		st->kind = ST_NO, end += 2;
	else if (strncasecmp(end, "BAD", 3) == 0)
		st->kind = ST_BAD, end += 3;
	else
		return false;
	while (*end == ' ')
		end++;
	st->text = end;
	return true;
}

/* The server's words, cut for a message, with control bytes shown as '?'. */
static const char *words(const char *t, char *buf, size_t len)
{
	size_t o = 0;
	for (; *t && o + 1 < len && o < 300; t++)
		buf[o++] = (unsigned char)*t < 0x20 || *t == 0x7f ? '?' : *t;
	buf[o] = '\0';
	return buf;
}

static void parse_capa(imap_side *s, const char *p)
{
	static const struct { const char *name; unsigned bit; } known[] = {
		{ "UIDPLUS", C_UIDPLUS }, { "LITERAL+", C_LITERALPLUS }, { "LITERAL-", C_LITERALMINUS },
		{ "CONDSTORE", C_CONDSTORE }, { "QRESYNC", C_CONDSTORE }, { "STARTTLS", C_STARTTLS },
		{ "AUTH=PLAIN", C_AUTH_PLAIN }, { "LOGINDISABLED", C_LOGINDISABLED }, { "SASL-IR", C_SASL_IR },
		{ "UNSELECT", C_UNSELECT }, { "IMAP4rev1", C_IMAP4REV1 }, { "AUTH=XOAUTH2", C_AUTH_XOAUTH2 },
		{ "AUTH=OAUTHBEARER", C_AUTH_OAUTHBEARER }, { "SPECIAL-USE", C_SPECIALUSE }, { "MOVE", C_MOVE },
		{ "LIST-EXTENDED", C_LISTEXT },
	};
	s->capa = 0;
	while (*p) {
		size_t n = strcspn(p, " ]");
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
			if (strlen(known[k].name) == n && strncasecmp(p, known[k].name, n) == 0)
				s->capa |= known[k].bit;
		p += n;
		if (*p == ']')
			break;
		while (*p == ' ')
			p++;
	}
}

/* Untagged answers any command may bring. */
typedef void untagged_fn(imap_side *s, void *ctx, const ms_imap_resp *r);

/* Look at an untagged response for what concerns the whole side; false
 * when the server says BYE. */
static bool common_untagged(imap_side *s, const ms_imap_resp *r)
{
	const char *p = r->buf + 2;
	if (strncasecmp(p, "CAPABILITY ", 11) == 0)
		parse_capa(s, p + 11);
	else if (strncasecmp(p, "OK [CAPABILITY ", 15) == 0)
		parse_capa(s, p + 15);
	else if (strncasecmp(p, "BYE", 3) == 0)
		return false;
	return true;
}

/* The test hook $MSTORE_IMAP_TRACE: a file each command is appended to
 * ("C: mN TEXT"), so the tests count round trips.  What follows LOGIN or
 * an AUTHENTICATE mechanism is written as "***": never a credential. */
static void trace(unsigned tag, const char *text)
{
	static FILE *f;
	static bool tried;
	if (!tried) {
		tried = true;
		const char *path = getenv("MSTORE_IMAP_TRACE");
		f = path && *path ? fopen(path, "ae") : NULL;
	}
	if (!f)
		return;
	size_t keep = strlen(text);
	if (strncasecmp(text, "LOGIN ", 6) == 0)
		keep = 5;
	else if (strncasecmp(text, "AUTHENTICATE ", 13) == 0)
		keep = 13 + strcspn(text + 13, " ");
	fprintf(f, "C: m%u %.*s%s\n", tag, (int)keep, text, text[keep] ? " ***" : "");
	fflush(f);
}

/* Start a command: "mN " + text + CRLF, queued.  Returns the tag. */
static unsigned cmd(imap_side *s, ms_err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static unsigned cmd(imap_side *s, ms_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = NULL;
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		ms_err_set(e, MS_E_NOMEM, "out of memory");
		return 0;
	}
	unsigned t = ++s->tag;
	trace(t, text);
	int rc = ms_imap_sendf(s->c, e, "m%u %s\r\n", t, text);
	free(text);
	return rc < 0 ? 0 : t;
}

/* Read one response; 1 tagged (st filled), 0 untagged or continuation
 * (handed to fn; a continuation sets *cont), -1 the connection failed. */
static int read_one(imap_side *s, untagged_fn *fn, void *ctx, status *st, bool *cont, ms_err *e)
{
	if (ms_imap_read(s->c, &s->r, e) < 0) {
		ms_err_prefix(e, "%s", s->where);
		return -1;
	}
	if (s->r.len >= 1 && s->r.buf[0] == '+') {
		if (cont)
			*cont = true;
		return 0;
	}
	if (s->r.len >= 2 && s->r.buf[0] == '*' && s->r.buf[1] == ' ') {
		if (!common_untagged(s, &s->r)) {
			char b[320];
			ms_err_set(e, MS_E_IO, "%s: the server closed the session: %s", s->where, words(s->r.buf, b, sizeof b));
			return -1;
		}
		if (fn)
			fn(s, ctx, &s->r);
		return 0;
	}
	if (parse_tagged(&s->r, st))
		return 1;
	char b[320];
	ms_err_set(e, MS_E_IO, "%s: an answer that is not IMAP: %s", s->where, words(s->r.buf, b, sizeof b));
	return -1;
}

/* Send what is queued and wait for tag t's answer; -1 when the connection failed. */
static int wait_tag(imap_side *s, unsigned t, untagged_fn *fn, void *ctx, status *st, ms_err *e)
{
	if (t == 0 || ms_imap_flush(s->c, e) < 0)
		return -1;
	for (;;) {
		int rc = read_one(s, fn, ctx, st, NULL, e);
		if (rc < 0)
			return -1;
		if (rc == 1 && st->tag == t)
			return 0;
		if (rc == 1 && s->unselect_tag && st->tag == s->unselect_tag) {
			s->unselect_tag = 0;   /* close_box's UNSELECT: whatever it says, the box is closed */
			continue;
		}
		if (rc == 1) {
			char b[320];
			ms_err_set(e, MS_E_IO, "%s: an answer to a command not sent: %s", s->where, words(s->r.buf, b, sizeof b));
			return -1;
		}
	}
}

/* One command and its answer: MS_DRV_OK on OK; on NO/BAD `fail` (with the
 * server's words in e after `what`). */
static ms_drv_result simple(imap_side *s, untagged_fn *fn, void *ctx, ms_drv_result fail, const char *what, ms_err *e,
                            const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static ms_drv_result simple(imap_side *s, untagged_fn *fn, void *ctx, ms_drv_result fail, const char *what, ms_err *e,
                            const char *fmt, ...)
{
	if (s->dead)
		return ms_err_set(e, MS_E_IO, "%s: the connection was lost earlier", s->where), MS_DRV_SIDE_BAD;
	va_list ap;
	va_start(ap, fmt);
	char *text = NULL;
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
	unsigned t = cmd(s, e, "%s", text);
	free(text);
	status st;
	if (wait_tag(s, t, fn, ctx, &st, e) < 0)
		return side_bad(s, e);
	if (st.kind == ST_OK)
		return MS_DRV_OK;
	char b[320];
	ms_err_set(e, MS_E_IO, "%s: %s: the server says %s %s", s->where, what, st.kind == ST_NO ? "NO" : "BAD",
	           words(st.text, b, sizeof b));
	return fail;
}

/* ---- opening: connect, TLS, login ------------------------------------------------ */

/* Ask on the terminal (/dev/tty, not stdin: that may be a pipe), echo
 * off; NULL when there is no terminal (cron, systemd) or nothing typed. */
static char *prompt_password(const imap_side *s, const char *user)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios old, quiet;
	if (fd < 0 || tcgetattr(fd, &old) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	dprintf(fd, "Password for %s, %s: ", user ? user : "?", s->where);
	tcsetattr(fd, TCSANOW, &quiet);   /* what was typed ahead stays: it is the answer */
	char buf[1024];
	size_t n = 0;
	char ch;
	while (n + 1 < sizeof buf && read(fd, &ch, 1) == 1 && ch != '\n')
		buf[n++] = ch;
	tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	while (n > 0 && buf[n - 1] == '\r')
		n--;
	char *pw = n ? strndup(buf, n) : NULL;
	OPENSSL_cleanse(buf, sizeof buf);
	return pw;
}

/* The first line of what a command prints (passcmd: the password,
 * tokencmd: an OAuth token), run as mailsync's and mbsync's users write
 * them: by /bin/sh -c, stdin the terminal's.  Its stderr is kept: named in
 * the error when it fails, passed on when it does not.  What it printed is
 * wiped from memory. */
static int run_cmd(const imap_side *s, const char *what, const char *cmdline, char **out, ms_err *e)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmdline, NULL };
	gchar *text = NULL, *err = NULL;
	GError *ge = NULL;
	gint ws = 0;
	*out = NULL;
	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, &text, &err, &ws, &ge)) {
		ms_err_set(e, MS_E_CONFIG, "%s: %s cannot be run: %s", s->where, what, ge->message);
		g_error_free(ge);
		return -1;
	}
	size_t n = strcspn(text, "\r\n"), en = strcspn(err, "\n");
	bool ok = WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && n > 0;
	char why[320];
	words(err, why, sizeof why);
	why[en < sizeof why ? en : sizeof why - 1] = '\0'; /* its first line */
	if (ok && !(*out = strndup(text, n)))
		ms_err_set(e, MS_E_NOMEM, "out of memory");
	else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		ms_err_set(e, MS_E_CONFIG, "%s: %s printed nothing%s%s", s->where, what, *why ? ": " : "", why);
	else if (!ok)
		ms_err_set(e, MS_E_CONFIG, "%s: %s failed (%s %d)%s%s", s->where, what,
		           WIFEXITED(ws) ? "exit status" : "signal", WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws),
		           *why ? ": " : "", why);
	if (ok && *err)
		fputs(err, stderr);
	OPENSSL_cleanse(text, strlen(text));
	g_free(text), g_free(err);
	return *out ? 0 : -1;
}

static int read_password(const ms_side_conf *conf, imap_side *s, char **out, ms_err *e)
{
	const char *pw = ms_side_conf_get(conf, "password");
	const char *cmdline = ms_side_conf_get(conf, "passcmd");
	*out = NULL;
	if (!pw && cmdline)
		return run_cmd(s, "passcmd", cmdline, out, e);
	if (!pw)
		pw = getenv("MSTORE_IMAP_PASSWORD");
	if ((!pw || !*pw) && (*out = prompt_password(s, ms_side_conf_get(conf, "user"))))
		return 0;
	if (!pw || !*pw) /* an empty password is no password: MSTORE_IMAP_PASSWORD= unsets it */
		return ms_err_set(e, MS_E_CONFIG, "%s: no password: give passwd, passfile or passcmd in the store, or "
		                  "MSTORE_IMAP_PASSWORD in the environment, or run on a terminal to be asked", s->where);
	if (!(*out = strdup(pw)))
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	return 0;
}

static void wipe(char *p)
{
	if (p) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

typedef struct conn_conf {
	ms_imap_conn_opts o;
	const char *user;
	const char *tokencmd;      /* OAuth 2.0: the command printing the access token */
	const char *auth;          /* "xoauth2", "oauthbearer" or NULL: the best the server offers */
} conn_conf;

/* AUTHENTICATE MECH with the initial response `ir` (base64), in the
 * first line with SASL-IR, else after the server's "+".  A challenge
 * after it carries a refusal's details (XOAUTH2, OAUTHBEARER): answered
 * with `abort`, so the server ends with its tagged NO.  1: the tagged
 * answer is in st; -1: the connection failed. */
static int authenticate(imap_side *s, const char *mech, const char *ir, const char *abort, status *st, ms_err *e)
{
	bool sent = s->capa & C_SASL_IR;
	unsigned t = sent ? cmd(s, e, "AUTHENTICATE %s %s", mech, ir) : cmd(s, e, "AUTHENTICATE %s", mech);
	if (t == 0 || ms_imap_flush(s->c, e) < 0)
		return -1;
	for (;;) {
		bool cont = false;
		int rc = read_one(s, NULL, NULL, st, &cont, e);
		if (rc < 0)
			return -1;
		if (rc == 1 && st->tag != t)
			return ms_err_set(e, MS_E_IO, "%s: an answer to a command not sent during login", s->where), -1;
		if (rc == 1)
			return 1;
		if (cont && (ms_imap_sendf(s->c, e, "%s\r\n", sent ? abort : ir) < 0 || ms_imap_flush(s->c, e) < 0))
			return -1;
		sent = sent || cont;
	}
}

/* `n` bytes as base64, malloc'd (NULL: out of memory). */
static char *base64(const void *raw, size_t n)
{
	char *b64 = malloc(4 * ((n + 2) / 3) + 1);
	if (b64)
		EVP_EncodeBlock((unsigned char *)b64, raw, (int)n);
	return b64;
}

/* The tagged answer to a login: OK (its capabilities read) or refused. */
static ms_drv_result login_answer(imap_side *s, const char *user, const status *st, const char *how, ms_err *e)
{
	if (st->kind != ST_OK) {
		char b[320];
		return ms_err_set(e, MS_E_IO, "%s: login as %s refused%s: %s", s->where, user, how,
		                  words(st->text, b, sizeof b)), MS_DRV_SIDE_BAD;
	}
	if (strncasecmp(st->text, "[CAPABILITY ", 12) == 0)
		parse_capa(s, st->text + 12);
	else if (simple(s, NULL, NULL, MS_DRV_SIDE_BAD, "CAPABILITY", e, "CAPABILITY") != MS_DRV_OK)
		return MS_DRV_SIDE_BAD;
	return MS_DRV_OK;
}

/* The initial response: XOAUTH2 (Google's and Microsoft's) or RFC 7628's
 * OAUTHBEARER (a GS2 header, the user as an authzid with ',' and '='
 * escaped as RFC 5801 says). */
static char *oauth_ir(bool bearer, const conn_conf *cc, const char *token)
{
	char *raw;
	if (bearer) {
		GString *a = g_string_new(NULL);
		for (const char *p = cc->user; *p; p++)
			*p == ',' ? g_string_append(a, "=2C") : *p == '=' ? g_string_append(a, "=3D") : g_string_append_c(a, *p);
		raw = g_strdup_printf("n,a=%s,\001host=%s\001port=%s\001auth=Bearer %s\001\001", a->str, cc->o.host,
		                      cc->o.port, token);
		g_string_free(a, TRUE);
	} else {
		raw = g_strdup_printf("user=%s\001auth=Bearer %s\001\001", cc->user, token);
	}
	char *b64 = base64(raw, strlen(raw));
	OPENSSL_cleanse(raw, strlen(raw));
	g_free(raw);
	return b64;
}

/* AUTHENTICATE OAUTHBEARER or XOAUTH2 with tokencmd's token; when the
 * server refuses it (expired since tokencmd cached it, revoked), tokencmd
 * runs once more and the login is tried again with the new token. */
static ms_drv_result oauth_login(imap_side *s, const conn_conf *cc, ms_err *e)
{
	bool bearer = cc->auth ? strcmp(cc->auth, "oauthbearer") == 0 : (s->capa & C_AUTH_OAUTHBEARER) != 0;
	unsigned need = bearer ? C_AUTH_OAUTHBEARER : C_AUTH_XOAUTH2;
	const char *mech = bearer ? "OAUTHBEARER" : "XOAUTH2";
	if (!(s->capa & need))
		return ms_err_set(e, MS_E_IO, "%s: the server does not offer AUTHENTICATE %s (tokencmd needs %s)", s->where,
		                  cc->auth ? mech : "XOAUTH2 or OAUTHBEARER", cc->auth ? "it" : "one"), MS_DRV_SIDE_BAD;
	status st = { 0 };
	for (int run = 0; run < 2 && (run == 0 || st.kind != ST_OK); run++) {
		char *tok = NULL;
		if (run_cmd(s, "tokencmd", cc->tokencmd, &tok, e) < 0)
			return MS_DRV_SIDE_BAD;
		char *ir = oauth_ir(bearer, cc, tok);
		wipe(tok);
		if (!ir)
			return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
		int rc = authenticate(s, mech, ir, bearer ? "AQ==" : "", &st, e);  /* AQ==: RFC 7628's ^A */
		wipe(ir);
		if (rc < 0)
			return side_bad(s, e);
	}
	return login_answer(s, cc->user, &st, bearer ? " (OAUTHBEARER, tokencmd run twice)" : " (XOAUTH2, tokencmd run twice)",
	                    e);
}

static ms_drv_result login(imap_side *s, const conn_conf *cc, const char *pw, ms_err *e)
{
	if (s->capa & C_LOGINDISABLED)
		return ms_err_set(e, MS_E_IO, "%s: the server refuses logins on this connection (LOGINDISABLED)", s->where),
		       MS_DRV_SIDE_BAD;
	if (cc->tokencmd)
		return oauth_login(s, cc, e);
	const char *user = cc->user;
	status st;
	int rc;
	if (s->capa & C_AUTH_PLAIN) {
		size_t ul = strlen(user), pl = strlen(pw), n = ul + pl + 2;
		unsigned char *raw = malloc(n);
		char *b64 = NULL;
		if (raw) { /* NUL user NUL password (RFC 4616) */
			raw[0] = '\0';
			memcpy(raw + 1, user, ul);
			raw[ul + 1] = '\0';
			memcpy(raw + ul + 2, pw, pl);
			b64 = base64(raw, n);
			OPENSSL_cleanse(raw, n);
			free(raw);
		}
		if (!b64)
			return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
		rc = authenticate(s, "PLAIN", b64, "*", &st, e);
		wipe(b64);
	} else {
		char *qu = ms_imap_quote(user), *qp = ms_imap_quote(pw);
		if (!qu || !qp) {
			free(qu), wipe(qp);
			return ms_err_set(e, MS_E_CONFIG, "%s: a user name or password with a line break cannot be sent",
			                  s->where), MS_DRV_SIDE_BAD;
		}
		unsigned t = cmd(s, e, "LOGIN %s %s", qu, qp);
		free(qu), wipe(qp);
		rc = wait_tag(s, t, NULL, NULL, &st, e) < 0 ? -1 : 1;
	}
	if (rc < 0)
		return side_bad(s, e);
	return login_answer(s, user, &st, "", e);
}

static int read_conf(const ms_side_conf *conf, imap_side *s, conn_conf *cc, char *portbuf, ms_err *e)
{
	const char *host = ms_side_conf_get(conf, "host"), *port = ms_side_conf_get(conf, "port");
	const char *tls = ms_side_conf_get(conf, "tls"), *verify = ms_side_conf_get(conf, "tls-verify");
	const char *noval = ms_side_conf_get(conf, "novalidate-cert"), *to = ms_side_conf_get(conf, "timeout");
	const char *plain = ms_side_conf_get(conf, "allow-plaintext");
	if (!host || !*host)
		return ms_err_set(e, MS_E_CONFIG, "IMAP store %s: no host", conf->name);
	snprintf(s->where, sizeof s->where, "IMAP store %s (%s:%s)", conf->name, host,
	         port ? port : tls && strcmp(tls, "implicit") == 0 ? "993" : "143");
	cc->o.host = host;
	if (!tls)
		cc->o.tls = port && strcmp(port, "993") == 0 ? MS_IMAP_TLS_IMPLICIT : MS_IMAP_TLS_STARTTLS;
	else if (strcmp(tls, "implicit") == 0)
		cc->o.tls = MS_IMAP_TLS_IMPLICIT;
	else if (strcmp(tls, "starttls") == 0)
		cc->o.tls = MS_IMAP_TLS_STARTTLS;
	else if (strcmp(tls, "none") == 0)
		cc->o.tls = MS_IMAP_TLS_NONE;
	else
		return ms_err_set(e, MS_E_CONFIG, "%s: tls %s: expected implicit, starttls or none", s->where, tls);
	if (cc->o.tls == MS_IMAP_TLS_NONE && !is_loopback(host) && !(plain && strcmp(plain, "yes") == 0))
		return ms_err_set(e, MS_E_CONFIG, "%s: tls none sends the password in clear over the network: refused "
		                  "(allow-plaintext yes if you mean it)", s->where);
	snprintf(portbuf, 16, "%s", port ? port : cc->o.tls == MS_IMAP_TLS_IMPLICIT ? "993" : "143");
	cc->o.port = portbuf;
	cc->o.verify = !(verify && strcmp(verify, "no") == 0) && !(noval && strcmp(noval, "yes") == 0);
	cc->o.cafile = ms_side_conf_get(conf, "cafile");
	long secs = to ? strtol(to, NULL, 10) : DEFAULT_TIMEOUT_S;
	if (secs <= 0 || secs > 86400)
		return ms_err_set(e, MS_E_CONFIG, "%s: timeout %s: expected seconds, 1 to 86400", s->where, to);
	cc->o.timeout_ms = (int)secs * 1000;
	cc->user = ms_side_conf_get(conf, "user");
	cc->tokencmd = ms_side_conf_get(conf, "tokencmd");
	cc->auth = ms_side_conf_get(conf, "auth");
	if (cc->auth && strcmp(cc->auth, "xoauth2") != 0 && strcmp(cc->auth, "oauthbearer") != 0)
		return ms_err_set(e, MS_E_CONFIG, "%s: auth %s: expected xoauth2 or oauthbearer", s->where, cc->auth);
	if (cc->auth && !cc->tokencmd)
		return ms_err_set(e, MS_E_CONFIG, "%s: auth %s needs tokencmd (the command printing the token)", s->where,
		                  cc->auth);
	if (!cc->user || !*cc->user)
		return ms_err_set(e, MS_E_CONFIG, "%s: no user (user NAME, or /user=NAME in server {...})", s->where);
	if (!cc->o.verify && cc->o.tls != MS_IMAP_TLS_NONE)
		fprintf(stderr, "mstore: warning: %s: the server's certificate and host name are not checked "
		        "(tls-verify no / novalidate-cert): anyone on the path can read the password\n", s->where);
	return 0;
}

static ms_drv_result connect_login(imap_side *s, const conn_conf *cc, const char *pw, ms_err *e)
{
	if (ms_imap_connect(&cc->o, &s->c, e) < 0)
		return ms_err_prefix(e, "%s", s->where), MS_DRV_SIDE_BAD;
	status st;
	bool cont = false;
	if (ms_imap_flush(s->c, e) < 0 || read_one(s, NULL, NULL, &st, &cont, e) != 0 || cont) {
		if (cc->o.tls != MS_IMAP_TLS_IMPLICIT)
			ms_str_printf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
			              " (no greeting: a port that wants TLS at once? then tls implicit)");
		return side_bad(s, e);
	}
	if (strncasecmp(s->r.buf, "* PREAUTH", 9) != 0 && strncasecmp(s->r.buf, "* OK", 4) != 0) {
		char b[320];
		return ms_err_set(e, MS_E_IO, "%s: the server does not greet: %s", s->where, words(s->r.buf, b, sizeof b)),
		       MS_DRV_SIDE_BAD;
	}
	bool preauth = strncasecmp(s->r.buf, "* PREAUTH", 9) == 0;
	if (!strstr(s->r.buf, "[CAPABILITY ") &&
	    simple(s, NULL, NULL, MS_DRV_SIDE_BAD, "CAPABILITY", e, "CAPABILITY") != MS_DRV_OK)
		return MS_DRV_SIDE_BAD;
	if (cc->o.tls == MS_IMAP_TLS_STARTTLS) {
		if (!(s->capa & C_STARTTLS))
			return ms_err_set(e, MS_E_IO, "%s: the server does not offer STARTTLS (tls implicit on port 993, or "
			                  "tls none on a trusted network)", s->where), MS_DRV_SIDE_BAD;
		if (simple(s, NULL, NULL, MS_DRV_SIDE_BAD, "STARTTLS", e, "STARTTLS") != MS_DRV_OK)
			return MS_DRV_SIDE_BAD;
		if (ms_imap_conn_starttls(s->c, &cc->o, e) < 0)
			return ms_err_prefix(e, "%s", s->where), side_bad(s, e);
		/* what the server said before TLS cannot be trusted (RFC 3501 6.2.1) */
		if (simple(s, NULL, NULL, MS_DRV_SIDE_BAD, "CAPABILITY", e, "CAPABILITY") != MS_DRV_OK)
			return MS_DRV_SIDE_BAD;
	}
	if (!preauth && login(s, cc, pw, e) != MS_DRV_OK)
		return MS_DRV_SIDE_BAD;
	if (!(s->capa & C_IMAP4REV1))
		return ms_err_set(e, MS_E_IO, "%s: the server does not speak IMAP4rev1", s->where), MS_DRV_SIDE_BAD;
	return MS_DRV_OK;
}

static ms_drv_result list_all(imap_side *s, char *delim, ms_err *e);
static ms_drv_result tidy_leftovers(imap_side *s, ms_err *e);
static const char *real_name(const imap_side *s, const char *name);

/* What the side holds apart from the connection; frees it. */
static void side_free(imap_side *s)
{
	ms_imap_resp_free(&s->r);
	ms_box_list_free(s->boxes, s->nboxes);
	for (int r = 0; r < NROLES; r++)
		free(s->alias[r]);
	free(s->trash);
	free(s->base.name);
	free(s);
}

static void role_warning(const imap_side *s, int r, const char *real, const char *other, bool named)
{
	char a[512], b[512];
	ms_escape(a, sizeof a, real);
	ms_escape(b, sizeof b, other);
	if (named)
		fprintf(stderr, "mstore: warning: %s: specialuse: a folder named %s is there beside the %s folder %s: "
		        "both keep their names\n", s->where, role_name[r], role_attr[r], a);
	else
		fprintf(stderr, "mstore: warning: %s: specialuse: %s and %s are both %s: they keep their names\n", s->where,
		        a, b, role_attr[r]);
}

/* specialuse yes: each special-use folder (RFC 6154) is shown under its
 * role's name, so a local Sent pairs with Gmail's "[Gmail]/Sent Mail" --
 * unless that would show two folders under one name (two folders with the
 * role, another folder with the role's name) or one folder under two
 * names: then the real names stay, with a warning. */
static void set_roles(imap_side *s)
{
	for (int r = 0; r < NROLES; r++) {
		unsigned bit = 1u << (USE_SHIFT + r);
		const char *real = NULL, *other = NULL;
		bool named = false;
		for (size_t i = 0; i < s->nboxes; i++) {
			const ms_box_info *b = &s->boxes[i];
			if ((b->attrs & bit) && !(b->attrs & MS_BOX_NOSELECT))
				*(real ? &other : &real) = b->name;
			else if (strcmp(b->name, role_name[r]) == 0)
				named = true;
		}
		bool taken = false;
		for (int k = 0; real && k < r; k++)
			taken |= s->alias[k] && strcmp(s->alias[k], real) == 0;
		if (!real || (!other && strcmp(real, role_name[r]) == 0))
			continue; /* no such folder, or it has the role's name already */
		if (other || named || taken)
			role_warning(s, r, real, other ? other : "another role", named && !other);
		else
			s->alias[r] = strdup(real); /* out of memory: shown under its real name */
	}
}

/* trash yes|NAME|no: the folder expunge moves messages to (the \Trash
 * special-use folder, or the one named), which must be there. */
static ms_drv_result set_trash(imap_side *s, const char *v, ms_err *e)
{
	if (!v || strcmp(v, "no") == 0)
		return MS_DRV_OK;
	const char *real = strcmp(v, "yes") == 0 ? NULL : real_name(s, v);
	bool found = false;
	for (size_t i = 0; i < s->nboxes && !found; i++) {
		const ms_box_info *b = &s->boxes[i];
		found = !(b->attrs & MS_BOX_NOSELECT) &&
		        (real ? strcmp(b->name, real) == 0 : (b->attrs & (1u << (USE_SHIFT + 1))) != 0);
		if (found && !real)
			real = b->name;
	}
	char name[512];
	ms_escape(name, sizeof name, v);
	if (!found && !real)
		return ms_err_set(e, MS_E_CONFIG, "%s: trash yes: the server marks no folder \\Trash (SPECIAL-USE): name "
		                  "the folder (trash FOLDER)", s->where), MS_DRV_SIDE_BAD;
	if (!found)
		return ms_err_set(e, MS_E_CONFIG, "%s: trash %s: no such folder on the server", s->where, name),
		       MS_DRV_SIDE_BAD;
	if (!(s->trash = strdup(real)))
		return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
	return MS_DRV_OK;
}

static ms_drv_result imap_open(const ms_side_conf *conf, ms_side **out, ms_err *e)
{
	*out = NULL;
	imap_side *s = calloc(1, sizeof *s);
	if (!s || !(s->base.name = strdup(conf->name))) {
		free(s);
		return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
	}
	s->base.drv = &ms_drv_imap;
	s->base.read_only = conf->read_only;
	conn_conf cc = { 0 };
	char port[16], *pw = NULL;
	ms_drv_result res = MS_DRV_SIDE_BAD;
	if (read_conf(conf, s, &cc, port, e) < 0 || (!cc.tokencmd && read_password(conf, s, &pw, e) < 0))
		goto fail;
	if ((res = connect_login(s, &cc, pw, e)) != MS_DRV_OK)
		goto fail;
	char delim = 0;
	/* the one LIST of the run: the delimiter (none on a flat server: '/'
	   then, which such a server's names may hold), the special uses */
	if ((res = list_all(s, &delim, e)) != MS_DRV_OK)
		goto fail;
	s->base.delim = delim ? delim : '/';
	if ((res = tidy_leftovers(s, e)) != MS_DRV_OK)
		goto fail;
	const char *su = ms_side_conf_get(conf, "specialuse");
	if (su && strcmp(su, "yes") == 0)
		set_roles(s);
	else if (su && strcmp(su, "no") != 0)
		res = MS_DRV_SIDE_BAD, ms_err_set(e, MS_E_CONFIG, "%s: specialuse %s: expected yes or no", s->where, su);
	if (res != MS_DRV_OK || (res = set_trash(s, ms_side_conf_get(conf, "trash"), e)) != MS_DRV_OK)
		goto fail;
	s->base.caps = MS_CAP_UID_STABLE | MS_CAP_FLAGS | MS_CAP_KEYWORDS | MS_CAP_INTERNAL_DATE | MS_CAP_CRLF |
	               MS_CAP_CREATE_BOX | MS_CAP_DELETE_BOX | (s->capa & C_UIDPLUS ? MS_CAP_APPEND_UID : 0) |
	               (s->capa & C_CONDSTORE ? MS_CAP_MODSEQ : 0);
	wipe(pw);
	*out = &s->base;
	return MS_DRV_OK;
fail:
	wipe(pw);
	ms_imap_conn_close(s->c);
	side_free(s);
	return res == MS_DRV_OK ? MS_DRV_SIDE_BAD : res;
}

static void imap_close(ms_side *base)
{
	imap_side *s = (imap_side *)base;
	if (!s)
		return;
	assert(!s->selected);
	if (!s->dead) {
		ms_err e;
		status st;
		/* LOGOUT, not waited for long: the work is done either way */
		unsigned t = cmd(s, &e, "LOGOUT");
		wait_tag(s, t, NULL, NULL, &st, &e);
	}
	ms_imap_conn_close(s->c);
	side_free(s);
}

/* ---- boxes ---------------------------------------------------------------------- */

/* The wire form of a box name: modified UTF-7, quoted (or NULL). */
static char *wire_name(const char *name)
{
	char *enc = strcasecmp(name, "INBOX") == 0 ? strdup("INBOX") : ms_imap_mutf7_encode(name);
	char *q = enc ? ms_imap_quote(enc) : NULL;
	free(enc);
	return q;
}

typedef struct list_ctx {
	ms_box_info *v;
	size_t n, cap;
	bool oom;
	char delim;             /* the first hierarchy delimiter given (INBOX's last), or 0 */
	bool delim_not_inbox;
} list_ctx;

/* The delimiter of a LIST line ("." or NIL) into l: a folder's other than
 * INBOX's wins (a server may show INBOX apart from its hierarchy). */
static void list_delim(list_ctx *l, const ms_imap_tok *t, ms_imap_ttype dt, bool inbox)
{
	if (dt != MS_IMAP_T_QUOTED || t->len < 1 || l->delim_not_inbox)
		return;
	l->delim = t->s[t->len - 1 == 1 && t->s[0] == '\\' ? 1 : 0];
	l->delim_not_inbox = !inbox;
}

/* The special-use bit of an attribute, 0 for any other. */
static unsigned use_bit(const ms_imap_tok *t)
{
	for (unsigned r = 0; r < NROLES; r++)
		if (ms_imap_tok_is(t, role_attr[r]))
			return 1u << (USE_SHIFT + r);
	return 0;
}

static void list_untagged(imap_side *s, void *ctx, const ms_imap_resp *r)
{
	(void)s;
	list_ctx *l = ctx;
	ms_imap_cur c = ms_imap_cur_of(r);
	ms_imap_tok t;
	ms_imap_next(&c, &t);
	if (ms_imap_next(&c, &t) != MS_IMAP_T_ATOM || !ms_imap_tok_is(&t, "LIST") || ms_imap_next(&c, &t) != MS_IMAP_T_LP)
		return;
	unsigned attrs = 0;
	while (ms_imap_next(&c, &t) == MS_IMAP_T_ATOM) {
		if (ms_imap_tok_is(&t, "\\Noselect") || ms_imap_tok_is(&t, "\\NonExistent"))
			attrs |= MS_BOX_NOSELECT;
		else if (ms_imap_tok_is(&t, "\\HasChildren"))
			attrs |= MS_BOX_HAS_CHILDREN;
		else
			attrs |= use_bit(&t);
	}
	if (t.type != MS_IMAP_T_RP)
		return;
	ms_imap_tok dtok;
	ms_imap_ttype dt = ms_imap_next(&c, &dtok);
	if (dt != MS_IMAP_T_QUOTED && dt != MS_IMAP_T_NIL)
		return;
	ms_imap_ttype nt = ms_imap_next(&c, &t);
	if (nt != MS_IMAP_T_QUOTED && nt != MS_IMAP_T_LITERAL && nt != MS_IMAP_T_ATOM)
		return;
	char *raw = ms_imap_tok_dup(&t);
	if (!raw) {
		l->oom = true;
		return;
	}
	list_delim(l, &dtok, dt, strcasecmp(raw, "INBOX") == 0);
	char *name = strcasecmp(raw, "INBOX") == 0 ? strdup("INBOX") : ms_imap_mutf7_decode(raw, strlen(raw));
	if (name)
		free(raw);
	else
		name = raw; /* not modified UTF-7: kept as the server sent it */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		ms_box_info *v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			free(name);
			l->oom = true;
			return;
		}
		l->v = v, l->cap = cap;
	}
	l->v[l->n++] = (ms_box_info){ .name = name, .attrs = attrs };
}

/* The name `real` (the server's) as the side shows it: its role's name
 * when `specialuse yes` presents it so. */
static const char *shown_name(const imap_side *s, const char *real)
{
	for (int r = 0; r < NROLES; r++)
		if (s->alias[r] && strcmp(s->alias[r], real) == 0)
			return role_name[r];
	return real;
}

/* The server's name of the box the side shows as `name`. */
static const char *real_name(const imap_side *s, const char *name)
{
	for (int r = 0; r < NROLES; r++)
		if (s->alias[r] && strcmp(role_name[r], name) == 0)
			return s->alias[r];
	return name;
}

static void boxes_drop(imap_side *s)
{
	ms_box_list_free(s->boxes, s->nboxes);
	s->boxes = NULL, s->nboxes = 0, s->listed = false;
}

/* LIST "" "*" (with RETURN (SPECIAL-USE) when offered: a server need not
 * give the attributes otherwise; the RETURN syntax is LIST-EXTENDED's) into
 * s->boxes; *delim the hierarchy delimiter it showed, 0 when none. */
static ms_drv_result list_all(imap_side *s, char *delim, ms_err *e)
{
	list_ctx l = { 0 };
	ms_drv_result res = simple(s, list_untagged, &l, MS_DRV_SIDE_BAD, "LIST", e, "LIST \"\" \"*\"%s",
	                           (s->capa & C_SPECIALUSE) && (s->capa & C_LISTEXT) ? " RETURN (SPECIAL-USE)" : "");
	if (res == MS_DRV_OK && l.oom)
		res = MS_DRV_SIDE_BAD, ms_err_set(e, MS_E_NOMEM, "out of memory");
	if (res != MS_DRV_OK) {
		ms_box_list_free(l.v, l.n);
		return res;
	}
	boxes_drop(s);
	s->boxes = l.v, s->nboxes = l.n, s->listed = true;
	if (delim)
		*delim = l.delim;
	return MS_DRV_OK;
}

/* The session's listing, as the side shows it: a copy. */
static ms_drv_result imap_list_boxes(ms_side *base, ms_box_info **out, size_t *n, ms_err *e)
{
	imap_side *s = (imap_side *)base;
	*out = NULL, *n = 0;
	ms_drv_result res = s->listed ? MS_DRV_OK : list_all(s, NULL, e);
	if (res != MS_DRV_OK)
		return res;
	ms_box_info *v = calloc(s->nboxes ? s->nboxes : 1, sizeof *v);
	for (size_t i = 0; v && i < s->nboxes; i++) {
		v[i] = (ms_box_info){ .name = strdup(shown_name(s, s->boxes[i].name)),
		                      .attrs = s->boxes[i].attrs & MS_BOX_ATTRS };
		if (!v[i].name) {
			ms_box_list_free(v, i);
			v = NULL;
		}
	}
	if (!v)
		return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
	*out = v, *n = s->nboxes;
	return MS_DRV_OK;
}

static ms_drv_result refuse_read_only(imap_side *s, const char *what, ms_err *e)
{
	ms_err_set(e, MS_E_USAGE, "%s: %s: the store is open read-only", s->where, what);
	return MS_DRV_SIDE_BAD;
}

static ms_drv_result imap_create_box(ms_side *base, const char *name, ms_err *e)
{
	imap_side *s = (imap_side *)base;
	if (base->read_only)
		return refuse_read_only(s, "create a folder", e);
	char *w = wire_name(real_name(s, name));
	if (!w)
		return ms_err_set(e, MS_E_USAGE, "%s: folder name not valid UTF-8 or with a line break", s->where),
		       MS_DRV_BOX_BAD;
	ms_drv_result res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "CREATE", e, "CREATE %s", w);
	if (res == MS_DRV_BOX_BAD) {
		/* it may exist already ([ALREADYEXISTS], or a server that says only NO) */
		list_ctx l = { 0 };
		ms_err e2;
		if (simple(s, list_untagged, &l, MS_DRV_SIDE_BAD, "LIST", &e2, "LIST \"\" %s", w) == MS_DRV_OK && l.n)
			res = MS_DRV_OK;
		ms_box_list_free(l.v, l.n);
	}
	if (res == MS_DRV_OK)
		boxes_drop(s);
	free(w);
	return res;
}

typedef struct status_ctx {
	uint64_t messages;
} status_ctx;

static void status_untagged(imap_side *s, void *ctx, const ms_imap_resp *r)
{
	(void)s;
	const char *p = strcasestr(r->buf, "MESSAGES ");
	if (strncasecmp(r->buf, "* STATUS ", 9) == 0 && p)
		((status_ctx *)ctx)->messages = strtoull(p + 9, NULL, 10);
}

/* Why the box on the wire as `w` (mUTF-7 `enc`) must not be deleted:
 * MS_DRV_OK when it holds no message and has no child, else MS_DRV_BOX_BAD
 * with the reason in *e (`name`, the side's name, in it). */
static ms_drv_result check_empty(imap_side *s, const char *w, const char *enc, const char *name, ms_err *e)
{
	status_ctx sc = { 0 };
	list_ctx l = { 0 };
	char *pat = NULL;
	ms_drv_result res = simple(s, status_untagged, &sc, MS_DRV_BOX_BAD, "STATUS", e, "STATUS %s (MESSAGES)", w);
	if (res == MS_DRV_OK && sc.messages)
		res = MS_DRV_BOX_BAD, ms_err_set(e, MS_E_USAGE, "%s: folder %s holds %llu messages: not deleted", s->where,
		                                 name, (unsigned long long)sc.messages);
	if (res == MS_DRV_OK && asprintf(&pat, "%s%c%%", enc, s->base.delim) > 0) {
		char *qp = ms_imap_quote(pat);
		res = qp ? simple(s, list_untagged, &l, MS_DRV_SIDE_BAD, "LIST", e, "LIST \"\" %s", qp) : MS_DRV_BOX_BAD;
		free(qp);
		if (res == MS_DRV_OK && l.n)
			res = MS_DRV_BOX_BAD, ms_err_set(e, MS_E_USAGE, "%s: folder %s has sub-folders: not deleted", s->where,
			                                 name);
	}
	ms_box_list_free(l.v, l.n);
	free(pat);
	return res;
}

/* The private name: the old one, DELETING_MARK, the process id. */
#define DELETING_MARK "-mstore-deleting-"

/* The box the side shows as `name` (the server's `rn`) deleted when empty
 * and childless.  Checking then deleting would lose a message delivered
 * between the two (DELETE takes it with the box), so the box is first
 * renamed to a name only this run knows: nothing is delivered there, and
 * mail for the old name makes that folder again.  The renamed box is
 * checked and deleted when empty, renamed back when not (kept under the
 * private name, and named in the error, when the old name was made again
 * meanwhile). */
static ms_drv_result delete_renamed(imap_side *s, const char *name, const char *rn, const char *w, ms_err *e)
{
	char *priv = NULL, *pw = NULL, *penc = NULL;
	if (asprintf(&priv, "%s" DELETING_MARK "%ld", rn, (long)getpid()) < 0 || !(pw = wire_name(priv)) ||
	    !(penc = ms_imap_mutf7_encode(priv))) {
		free(priv), free(pw);
		return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
	}
	ms_drv_result res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "RENAME", e, "RENAME %s %s", w, pw);
	if (res == MS_DRV_OK) {
		ms_test_hook("imap-delete-renamed");
		res = check_empty(s, pw, penc, name, e);
		if (res == MS_DRV_OK)
			res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "DELETE", e, "DELETE %s", pw);
		/* not deleted: back to its name, or (the session lost, or the
		   name made again meanwhile) kept, and said where */
		ms_err back = { 0 };
		if (res == MS_DRV_SIDE_BAD ||
		    (res == MS_DRV_BOX_BAD &&
		     simple(s, NULL, NULL, MS_DRV_BOX_BAD, "RENAME", &back, "RENAME %s %s", pw, w) != MS_DRV_OK))
			ms_err_prefix(e, "%s: folder %s is kept as %s%s%s%s", s->where, name, priv,
			              back.msg[0] ? " (renaming it back failed: " : "", back.msg, back.msg[0] ? ")" : "");
	}
	free(priv), free(pw), free(penc);
	return res;
}

/* ---- what a killed deletion left ------------------------------------------------- */

/* Whether `name` is a private name delete_renamed gave (DELETING_MARK and
 * digits at its end); the old name's length in *len. */
static bool deleting_name(const char *name, size_t *len)
{
	const char *m = NULL;
	for (const char *p = strstr(name, DELETING_MARK); p; p = strstr(p + 1, DELETING_MARK))
		m = p;
	if (!m || m == name)
		return false;
	const char *d = m + strlen(DELETING_MARK);
	if (!*d || strspn(d, "0123456789") != strlen(d))
		return false;
	*len = (size_t)(m - name);
	return true;
}

static bool box_listed(const imap_side *s, const char *name)
{
	for (size_t i = 0; i < s->nboxes; i++)
		if (strcmp(s->boxes[i].name, name) == 0)
			return true;
	return false;
}

/* Finish what the run that renamed `old` to `priv` was doing when it was
 * killed: delete the box when still empty, rename it back when mail came
 * (and the old name is free).  Otherwise it stays, and is synced as any
 * folder: nothing in it is lost.  *changed when the listing is stale. */
static ms_drv_result tidy_one(imap_side *s, const char *priv, const char *old, bool *changed, ms_err *e)
{
	char p[600], o[600];
	ms_escape(p, sizeof p, priv);
	ms_escape(o, sizeof o, old);
	if (s->base.read_only) {
		fprintf(stderr, "mstore: warning: %s: folder %s is what a killed run left while deleting %s;"
		        " a run that may write finishes that\n", s->where, p, o);
		return MS_DRV_OK;
	}
	char *pw = wire_name(priv), *penc = ms_imap_mutf7_encode(priv), *ow = wire_name(old);
	ms_err why = { 0 };
	const char *done = NULL;
	ms_drv_result res = pw && penc && ow ? check_empty(s, pw, penc, p, &why) : MS_DRV_BOX_BAD;
	if (res == MS_DRV_OK) {
		res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "DELETE", &why, "DELETE %s", pw);
		done = "deleted it (empty)";
	} else if (res == MS_DRV_BOX_BAD && ow && !box_listed(s, old)) {
		res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "RENAME", &why, "RENAME %s %s", pw, ow);
		done = "renamed it back (it holds mail)";
	} else if (res == MS_DRV_BOX_BAD && ow) {
		snprintf(why.msg, sizeof why.msg, "it holds mail and %s exists again", o);
	}
	if (res == MS_DRV_OK) {
		*changed = true;
		fprintf(stderr, "mstore: %s: folder %s is what a killed run left while deleting %s: %s\n", s->where, p, o, done);
	} else if (res == MS_DRV_BOX_BAD) {
		fprintf(stderr, "mstore: warning: %s: folder %s, what a killed run left while deleting %s, is kept: %s\n",
		        s->where, p, o, why.msg[0] ? why.msg : "its name cannot be sent to the server, or memory ran out");
		res = MS_DRV_OK;
	} else {
		*e = why;
		ms_err_prefix(e, "%s: finishing the deletion of %s", s->where, o);
	}
	free(pw), free(penc), free(ow);
	return res;
}

/* At open: the private names of deletions a killed run left.  A live
 * run of another channel on this server may hold one between its rename
 * and its DELETE: this does what that run would (it then reports its own
 * DELETE or RENAME as failed), and loses nothing either way. */
static ms_drv_result tidy_leftovers(imap_side *s, ms_err *e)
{
	bool changed = false;
	ms_drv_result res = MS_DRV_OK;
	for (size_t i = 0; res == MS_DRV_OK && i < s->nboxes; i++) {
		size_t len;
		if (!deleting_name(s->boxes[i].name, &len))
			continue;
		char *old = strndup(s->boxes[i].name, len), *priv = strdup(s->boxes[i].name);
		if (!old || !priv)
			res = MS_DRV_SIDE_BAD, ms_err_set(e, MS_E_NOMEM, "out of memory");
		else
			res = tidy_one(s, priv, old, &changed, e);
		free(old), free(priv);
	}
	if (res == MS_DRV_OK && changed)
		res = list_all(s, NULL, e);
	return res;
}

static ms_drv_result imap_delete_box(ms_side *base, const char *name, ms_err *e)
{
	imap_side *s = (imap_side *)base;
	if (base->read_only)
		return refuse_read_only(s, "delete a folder", e);
	if (strcasecmp(name, "INBOX") == 0)
		return ms_err_set(e, MS_E_USAGE, "%s: INBOX is never deleted", s->where), MS_DRV_BOX_BAD;
	const char *rn = real_name(s, name);
	char *w = wire_name(rn), *enc = strcasecmp(rn, "INBOX") ? ms_imap_mutf7_encode(rn) : NULL;
	if (!w || !enc) {
		free(w), free(enc);
		return ms_err_set(e, MS_E_USAGE, "%s: folder name not valid UTF-8", s->where), MS_DRV_BOX_BAD;
	}
	/* the usual answer without touching the box; delete_renamed checks again */
	ms_drv_result res = check_empty(s, w, enc, name, e);
	if (res == MS_DRV_OK && s->selected && strcmp(s->selected->base.name, name) == 0)
		s->selected = NULL; /* the server unselects a renamed box */
	if (res == MS_DRV_OK) {
		ms_test_hook("imap-delete-checked");
		res = delete_renamed(s, name, rn, w, e);
		boxes_drop(s);
	}
	/* the real name is gone: no role is shown for it any more (compared
	   with a copy: rn may be one of the aliases freed here) */
	char *gone = res == MS_DRV_OK ? strdup(rn) : NULL;
	for (int r = 0; gone && r < NROLES; r++)
		if (s->alias[r] && strcmp(s->alias[r], gone) == 0)
			free(s->alias[r]), s->alias[r] = NULL;
	free(gone);
	free(w), free(enc);
	return res;
}

static void select_untagged(imap_side *s, void *ctx, const ms_imap_resp *r)
{
	(void)s;
	ms_box_status *st = ctx;
	const char *p = r->buf + 2;
	char *end;
	unsigned long long v = strtoull(p, &end, 10);
	if (end != p && strcasecmp(end, " EXISTS") == 0)
		st->count = (uint32_t)v;
	else if (strncasecmp(p, "OK [UIDVALIDITY ", 16) == 0)
		st->uidvalidity = (uint32_t)strtoul(p + 16, NULL, 10);
	else if (strncasecmp(p, "OK [UIDNEXT ", 12) == 0)
		st->uidnext = (uint32_t)strtoul(p + 12, NULL, 10);
	else if (strncasecmp(p, "OK [HIGHESTMODSEQ ", 18) == 0)
		st->highest_modseq = strtoull(p + 18, NULL, 10);
}

/* SELECT (EXAMINE when read-only) b on the server. */
static ms_drv_result do_select(imap_side *s, imap_box *b, ms_err *e)
{
	ms_box_status st = { 0 };
	s->selected = NULL;
	ms_drv_result res = simple(s, select_untagged, &st, MS_DRV_BOX_BAD, "SELECT", e, "%s %s%s",
	                           s->base.read_only ? "EXAMINE" : "SELECT", b->wire,
	                           s->capa & C_CONDSTORE ? " (CONDSTORE)" : "");
	if (res != MS_DRV_OK)
		return res;
	if (st.uidvalidity == 0)
		return ms_err_set(e, MS_E_IO, "%s: folder %s: the server gave no UIDVALIDITY", s->where, b->base.name),
		       MS_DRV_BOX_BAD;
	b->base.status = st;
	s->selected = b;
	return MS_DRV_OK;
}

/* Every operation on a box: it must be the one selected (another box of
 * the side may have been opened since). */
static ms_drv_result ensure(imap_box *b, ms_err *e)
{
	imap_side *s = (imap_side *)b->base.side;
	if (s->dead)
		return ms_err_set(e, MS_E_IO, "%s: the connection was lost earlier", s->where), MS_DRV_SIDE_BAD;
	if (s->selected == b)
		return MS_DRV_OK;
	uint32_t v = b->base.status.uidvalidity;
	ms_drv_result res = do_select(s, b, e);
	if (res == MS_DRV_OK && b->base.status.uidvalidity != v)
		res = MS_DRV_BOX_BAD, ms_err_set(e, MS_E_IO, "%s: folder %s: UIDVALIDITY changed while open", s->where,
		                                 b->base.name);
	return res;
}

static ms_drv_result imap_open_box(ms_side *base, const char *name, ms_box **out, ms_err *e)
{
	imap_side *s = (imap_side *)base;
	*out = NULL;
	imap_box *b = calloc(1, sizeof *b);
	if (!b || !(b->base.name = strdup(name)) || !(b->wire = wire_name(real_name(s, name)))) {
		if (b)
			free(b->base.name);
		free(b);
		return ms_err_set(e, MS_E_USAGE, "%s: folder name not valid UTF-8, or out of memory", s->where),
		       MS_DRV_BOX_BAD;
	}
	b->base.side = base;
	ms_drv_result res = s->dead ? (ms_err_set(e, MS_E_IO, "%s: the connection was lost earlier", s->where),
	                               MS_DRV_SIDE_BAD)
	                            : do_select(s, b, e);
	if (res != MS_DRV_OK) {
		free(b->wire), free(b->base.name), free(b);
		return res;
	}
	*out = &b->base;
	return MS_DRV_OK;
}

static void cache_drop(imap_box *b)
{
	ms_msg_list_free(b->cache, b->ncache);
	b->cache = NULL;
	b->ncache = b->pos = 0;
	b->cached = false;
}

static void imap_close_box(ms_box *base)
{
	imap_box *b = (imap_box *)base;
	if (!b)
		return;
	imap_side *s = (imap_side *)base->side;
	if (s->selected == b) {
		/* UNSELECT, never CLOSE: CLOSE would expunge every \Deleted message.
		   Not waited for: it goes out with the next command and wait_tag
		   reads its answer, so closing a box costs no round trip */
		ms_err e;
		if (!s->dead && (s->capa & C_UNSELECT) && !s->unselect_tag)
			s->unselect_tag = cmd(s, &e, "UNSELECT");
		s->selected = NULL;
	}
	cache_drop(b);
	free(b->wire), free(b->base.name), free(b);
}

/* ---- listing -------------------------------------------------------------------- */

static time_t parse_idate(const char *s)
{
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm = { 0 };
	char m[4];
	int zone;
	if (sscanf(s, "%d-%3s-%d %d:%d:%d %d", &tm.tm_mday, m, &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	           &zone) != 7)
		return 0;
	const char *p = strstr(mon, m);
	if (!p || strlen(m) != 3)
		return 0;
	tm.tm_mon = (int)(p - mon) / 3;
	tm.tm_year -= 1900;
	int sign = zone < 0 ? -1 : 1;
	zone *= sign;
	return timegm(&tm) - sign * ((zone / 100) * 3600 + (zone % 100) * 60);
}

typedef struct fetch_parse {
	ms_msg m;
	bool has_uid;
	const char *body;
	size_t body_len;
	bool has_body, oom;
} fetch_parse;

static void add_keyword(char **kw, const ms_imap_tok *t, bool *oom)
{
	size_t old = *kw ? strlen(*kw) : 0;
	char *n = realloc(*kw, old + t->len + 2);
	if (!n) {
		*oom = true;
		return;
	}
	if (old)
		n[old++] = ' ';
	memcpy(n + old, t->s, t->len);
	n[old + t->len] = '\0';
	*kw = n;
}

/* The items of "* N FETCH (...)" into f; false when it is not a FETCH. */
static bool parse_fetch(const ms_imap_resp *r, unsigned want, fetch_parse *f)
{
	ms_imap_cur c = ms_imap_cur_of(r);
	ms_imap_tok t;
	ms_imap_next(&c, &t);
	if (ms_imap_next(&c, &t) != MS_IMAP_T_ATOM || ms_imap_next(&c, &t) != MS_IMAP_T_ATOM ||
	    !ms_imap_tok_is(&t, "FETCH") || ms_imap_next(&c, &t) != MS_IMAP_T_LP)
		return false;
	memset(f, 0, sizeof *f);
	for (;;) {
		ms_imap_ttype ty = ms_imap_next(&c, &t);
		if (ty != MS_IMAP_T_ATOM)
			break;
		uint64_t v;
		if (ms_imap_tok_is(&t, "UID")) {
			ms_imap_next(&c, &t);
			if (ms_imap_tok_num(&t, &v) && v > 0 && v <= UINT32_MAX)
				f->m.uid = (uint32_t)v, f->has_uid = true;
		} else if (ms_imap_tok_is(&t, "RFC822.SIZE")) {
			ms_imap_next(&c, &t);
			if (ms_imap_tok_num(&t, &v))
				f->m.size = v;
		} else if (ms_imap_tok_is(&t, "INTERNALDATE")) {
			if (ms_imap_next(&c, &t) == MS_IMAP_T_QUOTED) {
				char buf[64];
				snprintf(buf, sizeof buf, "%.*s", (int)t.len, t.s);
				f->m.internal_date = parse_idate(buf);
			}
		} else if (ms_imap_tok_is(&t, "MODSEQ")) {
			ms_imap_next(&c, &t);
			if (ms_imap_next(&c, &t) == MS_IMAP_T_ATOM && ms_imap_tok_num(&t, &v))
				f->m.modseq = v;
			ms_imap_next(&c, &t);
		} else if (ms_imap_tok_is(&t, "FLAGS")) {
			if (ms_imap_next(&c, &t) != MS_IMAP_T_LP)
				return false;
			while (ms_imap_next(&c, &t) == MS_IMAP_T_ATOM) {
				static const struct { const char *n; unsigned f; } sys[] = {
					{ "\\Seen", MS_FLAG_SEEN }, { "\\Answered", MS_FLAG_ANSWERED },
					{ "\\Flagged", MS_FLAG_FLAGGED }, { "\\Deleted", MS_FLAG_DELETED }, { "\\Draft", MS_FLAG_DRAFT },
				};
				bool done = false;
				for (size_t k = 0; k < 5 && !done; k++)
					if (ms_imap_tok_is(&t, sys[k].n))
						f->m.flags |= sys[k].f, done = true;
				if (!done && t.s[0] != '\\') /* a keyword; \Recent and other system flags are not kept */
					add_keyword(&f->m.keywords, &t, &f->oom);
			}
			if (t.type != MS_IMAP_T_RP)
				return false;
		} else if (t.len >= 5 && strncasecmp(t.s, "BODY[", 5) == 0) {
			ty = ms_imap_next(&c, &t);
			if (ty == MS_IMAP_T_LITERAL || ty == MS_IMAP_T_QUOTED)
				f->body = t.s, f->body_len = t.len, f->has_body = true;
			else if (ty == MS_IMAP_T_NIL)
				f->body = "", f->body_len = 0, f->has_body = true;
		} else if (ms_imap_skip(&c) == MS_IMAP_T_BAD) {
			return false;
		}
	}
	if ((want & MS_WANT_MSGID) && f->has_body && f->body_len) {
		ms_headers h;
		ms_err why;
		if (ms_headers_parse(f->body, f->body_len, &h, &why) == 0) {
			if (h.message_id && !(f->m.msgid = strdup(h.message_id)))
				f->oom = true;
			ms_headers_free(&h);
		}
	}
	return true;
}

typedef struct listing {
	imap_box *b;
	uint32_t after;
	unsigned want;
	ms_msg *v;
	size_t n, cap;
	bool oom;
} listing;

static void listing_untagged(imap_side *s, void *ctx, const ms_imap_resp *r)
{
	(void)s;
	listing *l = ctx;
	fetch_parse f;
	if (!parse_fetch(r, l->want, &f))
		return;
	/* "N:*" returns the last message even when its UID is below N */
	if (!f.has_uid || f.m.uid <= l->after || f.oom) {
		l->oom |= f.oom;
		free(f.m.msgid), free(f.m.keywords);
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		ms_msg *v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			free(f.m.msgid), free(f.m.keywords);
			l->oom = true;
			return;
		}
		l->v = v, l->cap = cap;
	}
	l->v[l->n++] = f.m;
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = ((const ms_msg *)a)->uid, y = ((const ms_msg *)b)->uid;
	return x < y ? -1 : x > y;
}

static ms_drv_result imap_list_msgs(ms_box *base, const ms_list_req *req, ms_msg **out, size_t *n, ms_err *e)
{
	imap_box *b = (imap_box *)base;
	imap_side *s = (imap_side *)base->side;
	*out = NULL, *n = 0;
	uint64_t since = s->capa & C_CONDSTORE ? req->changed_since : 0;
	bool hit = b->cached && b->cache_want == req->want && b->cache_since == since &&
	           (b->pos == 0 ? req->after_uid == 0 || (b->ncache && b->cache[0].uid > req->after_uid)
	                        : b->cache[b->pos - 1].uid == req->after_uid);
	if (!hit) {
		cache_drop(b);
		ms_drv_result res = ensure(b, e);
		if (res != MS_DRV_OK)
			return res;
		listing l = { .b = b, .after = req->after_uid, .want = req->want };
		if (base->status.count > 0 && req->after_uid < UINT32_MAX) {
			char mod[64] = "";
			if (since)
				snprintf(mod, sizeof mod, " (CHANGEDSINCE %llu)", (unsigned long long)since);
			res = simple(s, listing_untagged, &l, MS_DRV_BOX_BAD, "UID FETCH", e,
			             "UID FETCH %u:* (UID FLAGS INTERNALDATE RFC822.SIZE%s%s)%s", req->after_uid + 1,
			             s->capa & C_CONDSTORE ? " MODSEQ" : "",
			             req->want & MS_WANT_MSGID ? " BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]" : "", mod);
		}
		if (res == MS_DRV_OK && l.oom)
			res = MS_DRV_SIDE_BAD, ms_err_set(e, MS_E_NOMEM, "out of memory");
		if (res != MS_DRV_OK) {
			ms_msg_list_free(l.v, l.n);
			return res;
		}
		if (l.n > 1)
			qsort(l.v, l.n, sizeof *l.v, cmp_uid);
		b->cache = l.v, b->ncache = l.n, b->pos = 0, b->cached = true;
		b->cache_want = req->want, b->cache_since = since;
	}
	size_t take = b->ncache - b->pos;
	if (req->max && take > req->max)
		take = req->max;
	ms_msg *v = calloc(take ? take : 1, sizeof *v);
	if (!v)
		return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
	/* the strings move to the caller */
	if (take) { /* an empty listing has no cache array at all */
		memcpy(v, b->cache + b->pos, take * sizeof *v);
		memset(b->cache + b->pos, 0, take * sizeof *v);
		b->pos += take;
		/* keep the UID of the last one handed out for the next page's check */
		b->cache[b->pos - 1].uid = v[take - 1].uid;
	}
	*out = v, *n = take;
	return MS_DRV_OK;
}

/* ---- UID sets ------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* "1:3,7,9:10" for uids (sorted copy), malloc'd. */
static char *uid_set(const uint32_t *uids, size_t n)
{
	uint32_t *v = malloc((n ? n : 1) * sizeof *v);
	char *out = malloc(n * 22 + 1);
	if (!v || !out) {
		free(v), free(out);
		return NULL;
	}
	memcpy(v, uids, n * sizeof *v);
	qsort(v, n, sizeof *v, cmp_u32);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && (v[j + 1] == v[j] || v[j + 1] == v[j] + 1))
			j++;
		o += (size_t)sprintf(out + o, o ? ",%u" : "%u", v[i]);
		if (v[j] != v[i])
			o += (size_t)sprintf(out + o, ":%u", v[j]);
		i = j + 1;
	}
	out[o] = '\0';
	free(v);
	return out;
}

/* ---- fetch ---------------------------------------------------------------------- */

typedef struct fetching {
	const uint32_t *uids;
	size_t n, at;           /* uids[0..n) are items at.. of the batch */
	bool *done;
	ms_fetch_cb *cb;
	void *ctx;
} fetching;

static void fetch_untagged(imap_side *s, void *ctx, const ms_imap_resp *r)
{
	(void)s;
	fetching *f = ctx;
	fetch_parse p;
	if (!parse_fetch(r, 0, &p))
		return;
	free(p.m.keywords), free(p.m.msgid);
	if (!p.has_uid || !p.has_body)
		return;
	for (size_t i = 0; i < f->n; i++)
		if (f->uids[i] == p.m.uid && !f->done[i]) {
			f->done[i] = true;
			f->cb(f->ctx, f->at + i, MS_DRV_OK, p.body, p.body_len, NULL);
		}
}

static ms_drv_result imap_fetch(ms_box *base, const uint32_t *uids, size_t n, ms_fetch_cb *cb, void *ctx, ms_err *e)
{
	imap_box *b = (imap_box *)base;
	imap_side *s = (imap_side *)base->side;
	ms_drv_result res = ensure(b, e);
	for (size_t at = 0; res == MS_DRV_OK && at < n; at += FETCH_CHUNK) {
		size_t k = n - at < FETCH_CHUNK ? n - at : FETCH_CHUNK;
		bool *done = calloc(k, sizeof *done);
		char *set = uid_set(uids + at, k);
		if (!done || !set) {
			free(done), free(set);
			return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
		}
		fetching f = { uids + at, k, at, done, cb, ctx };
		res = simple(s, fetch_untagged, &f, MS_DRV_BOX_BAD, "UID FETCH", e, "UID FETCH %s (UID BODY.PEEK[])", set);
		for (size_t i = 0; res == MS_DRV_OK && i < k; i++)
			if (!done[i]) {
				ms_err why;
				ms_err_set(&why, MS_E_NOTFOUND, "%s: folder %s: message UID %u is no longer on the server",
				           s->where, base->name, uids[at + i]);
				cb(ctx, at + i, MS_DRV_MSG_BAD, NULL, 0, &why);
			}
		free(done), free(set);
	}
	return res;
}

/* ---- append --------------------------------------------------------------------- */

static int put_flags(char *buf, size_t len, unsigned flags, const char *kw)
{
	static const char *const names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft" };
	size_t o = 0;
	buf[0] = '\0'; /* no flags at all: "()" */
	for (int k = 0; k < 5; k++)
		if (flags & (1u << k))
			o += (size_t)snprintf(buf + o, len > o ? len - o : 0, "%s%s", o ? " " : "", names[k]);
	for (const char *p = kw; p && *p;) {
		size_t w = strcspn(p, " ");
		bool ok = w > 0;
		for (size_t i = 0; i < w; i++) /* an atom: no specials, or the server would take it for syntax */
			ok &= (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f && !strchr("(){%*\"\\]", p[i]);
		if (ok)
			o += (size_t)snprintf(buf + o, len > o ? len - o : 0, "%s%.*s", o ? " " : "", (int)w, p);
		p += w;
		while (*p == ' ')
			p++;
	}
	return o < len ? 0 : -1;
}

typedef struct appending {
	imap_side *s;
	imap_box *b;
	const ms_append *msgs;
	size_t n, next, answered;
	unsigned first_tag;
	ms_item_cb *cb;
	void *ctx;
} appending;

static int send_append(appending *a, size_t i, bool nonsync, ms_err *e)
{
	const ms_append *m = &a->msgs[i];
	char flags[1024], date[64] = "";
	if (put_flags(flags, sizeof flags, m->flags, m->keywords) < 0)
		return ms_err_set(e, MS_E_USAGE, "%s: too many keywords on one message", a->s->where);
	if (m->internal_date) {
		struct tm tm;
		gmtime_r(&m->internal_date, &tm);
		strftime(date, sizeof date, " \"%d-%b-%Y %H:%M:%S +0000\"", &tm);
	}
	unsigned t = cmd(a->s, e, "APPEND %s (%s)%s {%zu%s}", a->b->wire, flags, date, m->len, nonsync ? "+" : "");
	if (!t)
		return -1;
	assert(t == a->first_tag + i);
	return 0;
}

static void append_answer(appending *a, const status *st)
{
	size_t i = st->tag - a->first_tag;
	assert(i < a->n);
	a->answered++;
	if (st->kind == ST_OK) {
		unsigned long v = 0, uid = 0;
		if (sscanf(st->text, "[APPENDUID %lu %lu]", &v, &uid) != 2 || v != a->b->base.status.uidvalidity)
			uid = 0;
		a->cb(a->ctx, i, MS_DRV_OK, (uint32_t)uid, NULL, NULL);
		return;
	}
	ms_err why;
	char b[320];
	ms_err_set(&why, MS_E_IO, "%s: folder %s: the server refused message %zu: %s", a->s->where, a->b->base.name, i + 1,
	           words(st->text, b, sizeof b));
	a->cb(a->ctx, i, MS_DRV_MSG_BAD, 0, NULL, &why);
}

/* Read one answer; -1 when the connection failed or answered out of turn. */
static int append_read(appending *a, bool *cont, ms_err *e)
{
	status st;
	int rc = read_one(a->s, NULL, NULL, &st, cont, e);
	if (rc == 1) {
		if (st.tag < a->first_tag || st.tag >= a->first_tag + a->n) {
			char b[320];
			return ms_err_set(e, MS_E_IO, "%s: an answer to a command not sent: %s", a->s->where,
			                  words(a->s->r.buf, b, sizeof b));
		}
		append_answer(a, &st);
	}
	return rc < 0 ? -1 : rc;
}

static ms_drv_result imap_append(ms_box *base, const ms_append *msgs, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	imap_box *b = (imap_box *)base;
	imap_side *s = (imap_side *)base->side;
	if (base->side->read_only)
		return refuse_read_only(s, "append", e);
	ms_drv_result res = ensure(b, e);
	if (res != MS_DRV_OK)
		return res;
	cache_drop(b);
	appending a = { s, b, msgs, n, 0, 0, s->tag + 1, cb, ctx };
	for (size_t i = 0; i < n; i++) {
		bool nonsync = (s->capa & C_LITERALPLUS) || ((s->capa & C_LITERALMINUS) && msgs[i].len <= 4096);
		if (send_append(&a, i, nonsync, e) < 0)
			return side_bad(s, e);
		if (!nonsync) {
			/* wait for the continuation (answers to earlier appends may come first) */
			bool cont = false;
			if (ms_imap_flush(s->c, e) < 0)
				return side_bad(s, e);
			while (!cont && a.answered < i + 1) {
				if (append_read(&a, &cont, e) < 0)
					return side_bad(s, e);
			}
			if (!cont) /* refused before the bytes (a tagged NO for this one) */
				continue;
		}
		if (ms_imap_send(s->c, msgs[i].data, msgs[i].len, e) < 0 || ms_imap_send(s->c, "\r\n", 2, e) < 0)
			return side_bad(s, e);
		/* keep at most WINDOW appends in flight */
		while (i + 1 - a.answered > WINDOW) {
			bool cont = false;
			if (ms_imap_flush(s->c, e) < 0 || append_read(&a, &cont, e) < 0)
				return side_bad(s, e);
		}
	}
	if (ms_imap_flush(s->c, e) < 0)
		return side_bad(s, e);
	while (a.answered < n) {
		bool cont = false;
		if (append_read(&a, &cont, e) < 0)
			return side_bad(s, e);
	}
	return MS_DRV_OK;
}

/* ---- flags ---------------------------------------------------------------------- */

typedef struct flag_group {
	size_t first, count;   /* into the sorted index */
	unsigned tag_add, tag_rm;
	bool failed;
} flag_group;

static const ms_flag_change *sort_base;

static int cmp_change(const void *pa, const void *pb)
{
	const ms_flag_change *a = &sort_base[*(const size_t *)pa], *b = &sort_base[*(const size_t *)pb];
	if (a->add != b->add)
		return a->add < b->add ? -1 : 1;
	if (a->remove != b->remove)
		return a->remove < b->remove ? -1 : 1;
	int c = strcmp(a->add_keywords ? a->add_keywords : "", b->add_keywords ? b->add_keywords : "");
	return c ? c : strcmp(a->remove_keywords ? a->remove_keywords : "", b->remove_keywords ? b->remove_keywords : "");
}

static ms_drv_result imap_set_flags(ms_box *base, const ms_flag_change *ch, size_t n, ms_item_cb *cb, void *ctx,
                                    ms_err *e)
{
	imap_box *b = (imap_box *)base;
	imap_side *s = (imap_side *)base->side;
	if (base->side->read_only)
		return refuse_read_only(s, "change flags", e);
	ms_drv_result res = ensure(b, e);
	if (res != MS_DRV_OK || n == 0)
		return res;
	cache_drop(b);
	size_t *idx = malloc(n * sizeof *idx);
	flag_group *g = calloc(n, sizeof *g);
	uint32_t *uids = malloc(n * sizeof *uids);
	if (!idx || !g || !uids) {
		free(idx), free(g), free(uids);
		return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_base = ch; /* one thread uses a side at a time (driver.h); qsort has no context argument */
	qsort(idx, n, sizeof *idx, cmp_change);
	size_t ng = 0;
	unsigned before = s->tag; /* the tags above it are this batch's */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && cmp_change(&idx[i], &idx[j]) == 0)
			uids[j] = ch[idx[j]].uid, j++;
		g[ng] = (flag_group){ .first = i, .count = j - i };
		const ms_flag_change *c = &ch[idx[i]];
		char *set = uid_set(uids + i, j - i), fa[1024], fr[1024];
		if (!set || put_flags(fa, sizeof fa, c->add, c->add_keywords) < 0 ||
		    put_flags(fr, sizeof fr, c->remove, c->remove_keywords) < 0) {
			free(set), free(idx), free(g), free(uids);
			return ms_err_set(e, MS_E_NOMEM, "out of memory or too many keywords"), side_bad(s, e);
		}
		if (*fa)
			g[ng].tag_add = cmd(s, e, "UID STORE %s +FLAGS.SILENT (%s)", set, fa);
		if (*fr)
			g[ng].tag_rm = cmd(s, e, "UID STORE %s -FLAGS.SILENT (%s)", set, fr);
		free(set);
		ng++;
		i = j;
	}
	/* read every answer: tags are ascending across groups */
	unsigned last = s->tag;
	status st;
	char refusal[330] = ""; /* the server's words for the first group refused */
	if (ms_imap_flush(s->c, e) < 0)
		res = side_bad(s, e);
	for (unsigned seen = before; res == MS_DRV_OK && seen < last;) {
		int rc = read_one(s, NULL, NULL, &st, NULL, e);
		if (rc < 0) {
			res = side_bad(s, e);
			break;
		}
		if (rc == 0)
			continue;
		seen = st.tag;
		for (size_t k = 0; k < ng; k++)
			if ((g[k].tag_add == st.tag || g[k].tag_rm == st.tag) && st.kind != ST_OK) {
				g[k].failed = true;
				if (!*refusal) {
					char w[320];
					snprintf(refusal, sizeof refusal, "%s %s", st.kind == ST_NO ? "NO" : "BAD",
					         words(st.text, w, sizeof w));
				}
			}
	}
	for (size_t k = 0; res == MS_DRV_OK && k < ng; k++)
		for (size_t i = g[k].first; i < g[k].first + g[k].count; i++) {
			ms_err why;
			if (g[k].failed)
				ms_err_set(&why, MS_E_IO, "%s: folder %s: the server refused to change the flags of UID %u: %s",
				           s->where, base->name, ch[idx[i]].uid, refusal);
			cb(ctx, idx[i], g[k].failed ? MS_DRV_MSG_BAD : MS_DRV_OK, ch[idx[i]].uid, NULL, g[k].failed ? &why : NULL);
		}
	free(idx), free(g), free(uids);
	return res;
}

/* ---- expunge -------------------------------------------------------------------- */

typedef struct search_ctx {
	uint32_t *v;
	size_t n, cap;
	bool oom;
} search_ctx;

static void search_untagged(imap_side *s, void *ctx, const ms_imap_resp *r)
{
	(void)s;
	search_ctx *sc = ctx;
	if (strncasecmp(r->buf, "* SEARCH", 8) != 0)
		return;
	for (const char *p = r->buf + 8; *p;) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p) {
			p++;
			continue;
		}
		p = end;
		if (sc->n == sc->cap) {
			size_t cap = sc->cap ? 2 * sc->cap : 64;
			uint32_t *nv = realloc(sc->v, cap * sizeof *nv);
			if (!nv) {
				sc->oom = true;
				return;
			}
			sc->v = nv, sc->cap = cap;
		}
		sc->v[sc->n++] = (uint32_t)v;
	}
}

static bool in_sorted(const uint32_t *v, size_t n, uint32_t x)
{
	return bsearch(&x, v, n, sizeof *v, cmp_u32) != NULL;
}

/* trash yes|NAME: the messages `set` go to the trash folder before they
 * leave the box: UID MOVE (RFC 6851, *moved set: nothing left to do), else
 * UID COPY there and the caller expunges them.  Nothing is moved out of
 * the trash folder itself.  A refusal (the folder is gone, over quota)
 * stops the expunge before anything is removed. */
static ms_drv_result to_trash(imap_box *b, const char *set, bool *moved, ms_err *e)
{
	imap_side *s = (imap_side *)b->base.side;
	*moved = false;
	if (!s->trash)
		return MS_DRV_OK;
	char *tw = wire_name(s->trash);
	if (!tw)
		return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
	ms_drv_result res = MS_DRV_OK;
	if (strcmp(tw, b->wire) == 0)
		; /* deleted from the trash: for good */
	else if (s->capa & C_MOVE)
		res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "UID MOVE to the trash", e, "UID MOVE %s %s", set, tw),
		*moved = res == MS_DRV_OK;
	else
		res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "UID COPY to the trash", e, "UID COPY %s %s", set, tw);
	free(tw);
	return res;
}

static ms_drv_result imap_expunge(ms_box *base, const uint32_t *uids, size_t n, ms_item_cb *cb, void *ctx, ms_err *e)
{
	imap_box *b = (imap_box *)base;
	imap_side *s = (imap_side *)base->side;
	if (base->side->read_only)
		return refuse_read_only(s, "expunge", e);
	ms_drv_result res = ensure(b, e);
	if (res != MS_DRV_OK || n == 0)
		return res;
	cache_drop(b);
	char *set = uid_set(uids, n);
	search_ctx have = { 0 }, others = { 0 };
	char *oset = NULL;
	if (!set)
		return ms_err_set(e, MS_E_NOMEM, "out of memory"), MS_DRV_SIDE_BAD;
	/* which of them are there: the others are MS_DRV_MSG_BAD */
	res = simple(s, search_untagged, &have, MS_DRV_BOX_BAD, "UID SEARCH", e, "UID SEARCH UID %s", set);
	if (res == MS_DRV_OK)
		qsort(have.v, have.n, sizeof *have.v, cmp_u32);
	bool moved = false;
	if (res == MS_DRV_OK && have.n)
		res = to_trash(b, set, &moved, e);
	if (res == MS_DRV_OK && !moved)
		res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "UID STORE", e, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set);
	/* after a UID MOVE they are gone already */
	if (res == MS_DRV_OK && !moved && (s->capa & C_UIDPLUS)) {
		res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "UID EXPUNGE", e, "UID EXPUNGE %s", set);
	} else if (res == MS_DRV_OK && !moved) {
		/* no UIDPLUS: spare the box's other \Deleted messages */
		res = simple(s, search_untagged, &others, MS_DRV_BOX_BAD, "UID SEARCH", e, "UID SEARCH DELETED NOT UID %s",
		             set);
		if (res == MS_DRV_OK && others.n && !(oset = uid_set(others.v, others.n)))
			res = MS_DRV_SIDE_BAD, ms_err_set(e, MS_E_NOMEM, "out of memory");
		if (res == MS_DRV_OK && oset)
			res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "UID STORE", e, "UID STORE %s -FLAGS.SILENT (\\Deleted)", oset);
		if (res == MS_DRV_OK)
			res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "EXPUNGE", e, "EXPUNGE");
		if (res == MS_DRV_OK && oset)
			res = simple(s, NULL, NULL, MS_DRV_BOX_BAD, "UID STORE", e, "UID STORE %s +FLAGS.SILENT (\\Deleted)", oset);
	}
	if (res == MS_DRV_OK && (have.oom || others.oom))
		res = MS_DRV_SIDE_BAD, ms_err_set(e, MS_E_NOMEM, "out of memory");
	for (size_t i = 0; res == MS_DRV_OK && i < n; i++) {
		ms_err why;
		bool there = in_sorted(have.v, have.n, uids[i]);
		if (!there)
			ms_err_set(&why, MS_E_NOTFOUND, "%s: folder %s: no message UID %u", s->where, base->name, uids[i]);
		cb(ctx, i, there ? MS_DRV_OK : MS_DRV_MSG_BAD, uids[i], NULL, there ? NULL : &why);
	}
	free(set), free(oset), free(have.v), free(others.v);
	return res;
}

const ms_side_driver ms_drv_imap = {
	.kind = "imap",
	.open = imap_open,
	.close = imap_close,
	.list_boxes = imap_list_boxes,
	.create_box = imap_create_box,
	.delete_box = imap_delete_box,
	.open_box = imap_open_box,
	.close_box = imap_close_box,
	.list_msgs = imap_list_msgs,
	.fetch = imap_fetch,
	.append = imap_append,
	.set_flags = imap_set_flags,
	.expunge = imap_expunge,
};
