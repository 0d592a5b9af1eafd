/* cmd_channel.c - `mstore channel`: mailsync's command line over mailsync's
 * configuration (src/channel/config.h).
 *
 * Modes, chosen as mailsync chooses them, by what the names are:
 *   mstore channel STORE            the store's folders (pairing names)
 *   mstore channel -m STORE         ... and each folder's messages
 *   mstore channel CHANNEL          synchronize      (the channel engine)
 *   mstore channel CHANNEL STORE    the diff         (the channel engine)
 * The last two, and --undo, are channel_run.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel/config.h"
#include "channel/local.h"
#include "channel/local_side.h"
#include "channel/pattern.h"
#include "cli/channel_run.h"
#include "cli/cli.h"
#include "drivers/driver.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/vec.h"


const char help_channel[] =
	"usage: mstore channel [-f FILE] [-m] [--json [FILE]] STORE\n"
	"       mstore channel [-f FILE] [OPTIONS] CHANNEL [STORE]\n"
	"       mstore channel [-f FILE] [--state-dir DIR] --undo RUN CHANNEL\n"
	"\n"
	"Two-way synchronization of mail folders between two stores, a drop-in for\n"
	"mailsync: the same configuration file, the same names, the same modes.\n"
	"\n"
	"Modes (chosen by what the names on the command line are, as mailsync does):\n"
	"  STORE            list the store's folders: their pairing names (pattern and\n"
	"                   prefix applied, levels separated by '/'), one a line\n"
	"  -m STORE         also every message of every folder: UID, flags, internal\n"
	"                   date (UTC), size, Message-ID, and a mark for a duplicate\n"
	"                   Message-ID or a message without one (-M: the same)\n"
	"  CHANNEL          synchronize the channel's two stores\n"
	"  CHANNEL STORE    the diff: per folder, how many messages are new on STORE,\n"
	"                   how many were deleted from it since the last sync, and how\n"
	"                   many it holds, then each of those messages with its\n"
	"                   identity (a dry run: nothing is written):\n"
	"                     new on STORE: IDENT (uid U on STORE)\n"
	"                     deleted since the last sync from STORE: IDENT\n"
	"                       (uid U on OTHER)\n"
	"                   and with -m every message STORE holds:\n"
	"                     at STORE: IDENT (uid U on STORE)\n"
	"                   (--json: per folder in \"diff\": \"new\", \"deleted\", \"held\")\n"
	"  --undo RUN CHANNEL   put back what run RUN deleted (see Quarantine)\n"
	"\n"
	"How a channel is synchronized: both stores' folders are selected by their\n"
	"pat, paired by name after prefix removal, and a folder missing on one side is\n"
	"created.  Per folder pair, messages are paired by identity (the Message-ID as\n"
	"mailsync sanitizes it; a message without one by a digest of its bytes, so it\n"
	"is synchronized too; -t md5 is mailsync's header MD5).  A message on both\n"
	"sides is kept and its flags merged (an addition on either side propagates, a\n"
	"removal too; without a record of the last sync, the union); on one side and\n"
	"new, it is copied with its flags and date; on one side and known from the last\n"
	"run, it was deleted on the other side and is deleted here.  Duplicates (one\n"
	"identity twice in a folder) are reported, never copied, never deleted.\n"
	"\n"
"Options:\n"
	"  -f FILE          the configuration file (default: ~/.config/mstore/channels.conf\n"
	"                   when it exists, else mailsync's ~/.mailsync; one file, never both)\n"
	"  -m, -M           list messages too (listing mode; the diff: what STORE holds)\n"
	"  --json [FILE|-]  the listing or the run's report as JSON: on stdout without\n"
	"                   FILE or with -, else into FILE (a FILE that is a name of\n"
	"                   the configuration is taken for that name)\n"
	"  -n               delete nothing: deletions to propagate are kept pending in\n"
	"                   the state and never copied back (mailsync forgets them and\n"
	"                   resurrects them on the next run); the next run without -n\n"
	"                   carries them out.  (channel.md calls -n \"do not set \\Seen\";\n"
	"                   mailsync's code and manual: \"don't delete\", as here)\n"
	"  -s               simulate, as mailsync: prints \"Only simulating\", implies -n,\n"
	"                   and is a dry run\n"
	"  --dry-run        both stores opened read-only; every write is recorded and\n"
	"                   printed (\"would write on STORE: ...\") instead of made; no\n"
	"                   state, no quarantine, no lock file is written\n"
	"  -t msgid|md5     message identity (default msgid)\n"
	"  -cd              also copy messages flagged \\Deleted (mailsync's -cd)\n"
	"  -D               after the sync, remove folders empty on both sides (never\n"
	"                   INBOX; only when the run was complete).  Mail delivered\n"
	"                   meanwhile is never removed with its folder: an mbox goes\n"
	"                   only while empty under its locks; an IMAP folder is first\n"
	"                   renamed NAME-mstore-deleting-PID, checked, and deleted or\n"
	"                   renamed back (kept under that name, and said, when it\n"
	"                   cannot go back).  A run killed in between leaves that\n"
	"                   name; the next run that may write deletes it when empty,\n"
	"                   renames it back when not\n"
	"  -v               a line for every folder pair, also those with nothing to do\n"
	"  -q               no progress bar.  The bar (messages done of those to do in\n"
	"                   the folder pair being synchronized, redrawn at most ten\n"
	"                   times a second, erased at the end) is drawn on stderr only\n"
	"                   when it is a terminal and there is no --json\n"
	"  --force-deletions    lift the brake for this run\n"
	"  --max-delete PCT the brake's share for this run (default: the channel's\n"
	"                   maxdelete, else 20%)\n"
	"  --quarantine-days N  keep quarantined runs N days (default: the channel's\n"
	"                   quarantinedays, else 30; 0: for ever)\n"
	"  --state-dir DIR  STATE, where channels/ is (below)\n"
	"  --lock-wait SECS an hmailserver store's folder under `mstore folder lock`\n"
	"                   is waited for up to SECS seconds (default: the pair is\n"
	"                   left for the next run at once, exit 1)\n"
	"\n"
	"State.  mstore keeps its own state per channel in STATE/channels/NAME.state\n"
	"(STATE: --state-dir, else $XDG_STATE_HOME/mstore, else /var/lib/mstore for\n"
	"root, else ~/.local/state/mstore), replaced atomically after each folder pair\n"
	"that changed it (a run with nothing to do leaves the file as it is), and\n"
	"recording only what was done.  On the first run (no state file) a\n"
	"channel's msinfo, when it exists, is read: the messages mailsync last saw in\n"
	"sync are known, so one deleted since is deleted on the other side, not copied\n"
	"back.  Without a state or msinfo, messages on both sides are paired by\n"
	"identity: nothing is copied twice.  One run per channel at a time.\n"
	"\n"
	"The brake.  Before writing anything every folder pair is planned; the run is\n"
	"refused, writing nothing anywhere, when a store looks empty (no message in any\n"
	"folder while the state knows some: a wrong path, an unmounted disk), a folder\n"
	"vanished, or a folder would lose more than maxdelete percent (default 20%) of\n"
	"its messages and more than 5 of them.  --force-deletions lifts it; a channel's\n"
	"maxdelete or --max-delete changes the share (0 is taken as 1%: the strictest).\n"
	"A folder renamed or deleted on one side is such a vanished folder: with\n"
	"--force-deletions the other side's copies of its messages go to the\n"
	"quarantine (a new name is a new folder, copied as such) and the old name,\n"
	"empty then, is removed from the other side too (one that still holds\n"
	"messages the state did not know keeps them, and is made again where it\n"
	"vanished); --undo RUN brings the messages back, in the folder made again.\n"
	"\n"
	"Quarantine and undo.  Every message a run deletes by propagation is first\n"
	"copied to STATE/channels/NAME.quarantine/RUN/ with a journal; the summary names\n"
	"RUN.  mstore channel --undo RUN CHANNEL appends them back to the folders they\n"
	"were deleted from (once: the journal is then marked undone); the next sync\n"
	"copies them to the other side again.  Retention: a sync first prunes the\n"
	"runs older than quarantinedays (default 30 days; 0 keeps them for ever),\n"
	"never its own; a run's age is the modification time of its journal, the\n"
	"last time it was written.  The summary names each pruned run; --dry-run and\n"
	"-s name the runs they would prune and remove nothing; the diff mode prunes\n"
	"nothing.  A pruned run is recorded in NAME.quarantine/pruned, so --undo of it\n"
	"says when it was pruned.  (30 days: a month of daily runs to notice a wrong\n"
	"deletion, while the quarantine does not keep every deleted message for ever.)\n"
	"\n"
	"Output: a line per folder pair with work (copied, deleted, pending, flags\n"
	"changed and duplicates per store, and messages on both sides), each skipped\n"
	"message with its reason, the brake's reasons, then a line for the channel.\n"
	"A folder pair or a store that failed is an error, on stderr (\"mstore\n"
	"channel: store NAME failed: WHY\", \"... folder A <-> B failed: WHY\"), so\n"
	"stdout (or --json) holds the report alone; the channel's line counts them.\n"
	"\n"
	"Flags in -m listings: D draft, F flagged, R answered, S seen, T deleted, - none.\n"
	"\n"
	"Configuration file (mailsync's grammar; mstore's keywords marked +):\n"
	"  store NAME {\n"
	"    pat PATTERN      folders to take: * matches anything (deeper levels too),\n"
	"                     % anything within one level; INBOX in any case\n"
	"    prefix PREFIX    removed from the start of folder names to pair them\n"
	"    server {HOST[:PORT][/ssl][/tls][/notls][/novalidate-cert][/user=NAME]}\n"
	"                     an IMAP store (c-client's syntax); none: a local store\n"
	"    ref REF          mailsync's LIST reference (kept, passed to the driver)\n"
	"    passwd SECRET    a password (better: passfile)\n"
	"  + kind maildir|mbox|hmailserver|imap\n"
	"  + path DIR        maildir, mbox: the tree; local stores: the base of names\n"
	"                     (default $HOME, as c-client has it)\n"
	"  + layout maildir++|verbatim    Maildir folders as .Sub.Folder or Sub/Folder\n"
	"  + create yes|no   kind maildir: create the Maildir's root when it is missing\n"
	"                     (default no: a wrong path is an error, not a new tree)\n"
	"  + inbox PATH      where INBOX is (local stores: else $MAIL, /var/mail/USER)\n"
	"  + db URL, data DIR, account ADDRESS    kind hmailserver: an mstore store\n"
	"  + host NAME, port N, tls implicit|starttls|none, user NAME    kind imap\n"
	"  + passfile FILE   the password: the first line of FILE\n"
	"  + passcmd COMMAND kind imap: a shell command printing the password\n"
	"  + tokencmd COMMAND    kind imap: OAuth 2.0 instead of a password: a\n"
	"                     shell command printing the access token\n"
	"  + auth xoauth2|oauthbearer    kind imap, with tokencmd: the mechanism\n"
	"                     (default: OAUTHBEARER when offered, else XOAUTH2)\n"
	"  + tls-verify no   kind imap: do not check the certificate (a warning)\n"
	"  + cafile FILE     kind imap: trust these CA certificates (PEM)\n"
	"  + timeout SECONDS kind imap: the longest wait for the server (60)\n"
	"  + allow-plaintext yes    kind imap: tls none to a host not on loopback\n"
	"  + specialuse yes   kind imap: the server's special-use folders (RFC 6154)\n"
	"                     as Sent, Trash, Drafts, Junk, Archive (below)\n"
	"  + trash yes|FOLDER kind imap: a message the channel deletes there is moved\n"
	"                     to the \\Trash folder (or FOLDER), not expunged\n"
	"  }\n"
	"  channel NAME STORE1 STORE2 {\n"
	"    msinfo FILE      mailsync's state (relative to $HOME): read when switching\n"
	"                     from mailsync, so nothing is copied again or resurrected\n"
	"    passwd SECRET    the msinfo mailbox's password (mailsync)\n"
	"    sizelimit BYTES  messages larger than this are not copied (0: no limit)\n"
	"  + maxdelete PERCENT    the share of a folder one run may delete (e.g. 20%)\n"
	"  + quarantinedays N     days a run's deleted messages are kept (default 30,\n"
	"                     0: for ever; one word, as mailsync's keywords are)\n"
	"  }\n"
	"Tokens are separated by white space (newlines mean nothing more); # at the\n"
	"start of a token comments out the rest of the line; \\x stands for x (My\\ Box).\n"
	"mstore adds \"quoted tokens\", which may hold spaces or be empty (prefix \"\"):\n"
	"mailsync would take the quotes literally.  Keywords are case-sensitive; one\n"
	"given twice: the last counts.  Stores and channels share one namespace.\n"
	"\n"
	"A store without server and kind is mailsync's local store: folder names are\n"
	"paths below its path (default $HOME); each folder is a Maildir (a directory\n"
	"with cur/, new/, tmp/) or an mbox (a file that is empty or starts with\n"
	"\"From \"), told apart per folder as c-client does.  Other directories are\n"
	"levels of the hierarchy; names starting with '.' are not looked at.  A store\n"
	"with kind and no pat takes every folder (*); a local store without pat takes\n"
	"none, as in mailsync.  A folder the sync creates in a local store is an mbox\n"
	"file, as mailsync makes it (c-client creates its default format, mbox).\n"
	"A store with kind hmailserver takes the database password from passwd or\n"
	"passfile, else from MSTORE_DB_PASSWORD.\n"
	"\n"
	"IMAP stores (kind imap, or a store with server {...}): IMAP4rev1 over TLS\n"
	"(OpenSSL).  tls implicit (port 993, mailsync's /ssl), starttls (port 143,\n"
	"/tls; the default off port 993: STARTTLS is then required, never skipped)\n"
	"or none (/notls; refused unless the host is loopback or allow-plaintext\n"
	"yes).  The certificate chain (the system's CAs, or cafile) and the host\n"
	"name are checked; tls-verify no or /novalidate-cert turns both off, with a\n"
	"warning.  Login: AUTHENTICATE PLAIN when offered, else LOGIN.  The\n"
	"password: passwd, else passfile, else passcmd, else MSTORE_IMAP_PASSWORD,\n"
	"else asked on the terminal (/dev/tty, no echo; none: an error); never on\n"
	"the command line, never printed.  With tokencmd the login is OAuth\n"
	"2.0 (AUTHENTICATE OAUTHBEARER, RFC 7628, or XOAUTH2, as Gmail and Microsoft\n"
	"365 want): tokencmd's first output line is the access token.  passcmd and\n"
	"tokencmd run by /bin/sh -c, as in mailsync's and mbsync's configurations;\n"
	"when one fails, the error gives its exit status and its stderr's first line.\n"
	"When the server refuses the token (it expired since the command cached\n"
	"it), tokencmd runs once more and the login is retried.\n"
	"UIDs only, and UIDVALIDITY per folder in the state: after a change the\n"
	"folder's messages are paired by identity again, so nothing is copied twice.\n"
	"Folder names are UTF-8 here and modified UTF-7 on the wire; \\Noselect\n"
	"names are not synchronized.\n"
	"Appends are pipelined (LITERAL+), deletions use UID EXPUNGE (UIDPLUS;\n"
	"without it the folder's other \\Deleted messages are spared).  With\n"
	"CONDSTORE the state keeps each folder's HIGHESTMODSEQ after a run that left\n"
	"the folder exactly as the state says; the next run then reads only what\n"
	"changed since (UID FETCH ... CHANGEDSINCE), and nothing when HIGHESTMODSEQ\n"
	"has not moved: a no-op resync costs one SELECT per folder.  A folder whose\n"
	"message count no longer matches (an expunge, a message never synchronized)\n"
	"is listed in full.  MSTORE_IMAP_TRACE=FILE appends each command sent to FILE\n"
	"(for tests; credentials shown as ***).  The folders are listed once per\n"
	"run, with their special uses (LIST ... RETURN (SPECIAL-USE) when offered).\n"
	"specialuse yes shows each folder marked \\Sent, \\Trash, \\Drafts, \\Junk or\n"
	"\\Archive under that name (Sent, Trash, ...), so a local Sent pairs with\n"
	"Gmail's \"[Gmail]/Sent Mail\" or Apple's \"Sent Messages\": synchronized there,\n"
	"never created beside it.  Never two folders under one name: when two\n"
	"folders have a role, or another folder already has its name, both keep\n"
	"their real names, with a warning; sub-folders keep theirs.  trash yes (the\n"
	"\\Trash folder) or trash FOLDER: a message the channel deletes on the\n"
	"server is moved there with UID MOVE (RFC 6851; without MOVE, UID COPY then\n"
	"UID EXPUNGE) and reaches the other side's trash on the next run like any\n"
	"message; deleted from the trash folder itself, it is expunged.  A trash\n"
	"folder that is not on the server is an error at the start.  Not yet:\n"
	"QRESYNC's VANISHED (see ARCHITECTURE.md), ref.\n"
	"\n"
	"A run killed while writing (kill -9, a crash, a power cut) is settled when the\n"
	"store is next opened for writing: a hmailserver store removes the message\n"
	"files the killed run wrote or was deleting that no row names (their names are\n"
	"journaled in DATA/.mstore/*.inflight first), so `mstore sync` never imports\n"
	"them as new messages; an mbox is cut back to the size recorded in\n"
	".NAME.mstore-append before the killed append (a reader ignores that tail),\n"
	"unless the file changed more than 5 minutes after it (another program's\n"
	"delivery may follow): then it is left, with a warning.  What was cut or\n"
	"removed was not in the state yet, and the rerun copies it again.\n"
	"\n"
	"Differences from mailsync, each with its reason:\n"
	"  - The whole file is checked before anything runs: a channel naming a store\n"
	"    that does not exist is an error even when another name is used.\n"
	"  - A keyword whose value is missing (\"prefix }\") is an error with FILE:LINE;\n"
	"    mailsync takes the next word as the value.\n"
	"  - msinfo is optional: mstore keeps its own state; msinfo is read, never\n"
	"    written.\n"
	"  - A local store lists its mailboxes only; mailsync (c-client's LIST) lists\n"
	"    every file and directory the pattern matches and fails on each that is\n"
	"    no mailbox when it syncs.\n"
	"  - Errors name FILE:LINE counting from 1; mailsync counts from 0 (its\n"
	"    \"line 1\" is the second line).\n"
	"  - Errors exit 2, not 1: 1 means the run left something undone.\n"
	"  - -t md5 hashes what mailsync hashes (Date, Subject, Message-ID, From and\n"
	"    To addresses as c-client reads them), except for broken addresses that\n"
	"    c-client repairs in its own way (\"bob@\", an unclosed '<'): an imported\n"
	"    msinfo does not name such a message, so a deletion of it since\n"
	"    mailsync's last run is undone by a copy, never propagated.  A message\n"
	"    with none of those fields gets a digest of its bytes (mailsync never\n"
	"    synchronizes it).\n"
	"\n"
	"Exit codes: 0 done; 1 something was left undone (a folder that could not be\n"
	"opened or listed, a skipped message, the brake, a failed restore, a folder or\n"
	"file a Maildir or mbox store cannot name, such as a name with a control\n"
	"character, or an mbox file or folder directory it cannot read: it is listed\n"
	"as skipped and left as it is); 2 could not\n"
	"run (bad configuration with FILE:LINE, an unknown name, a store that cannot\n"
	"be opened, a state or msinfo that cannot be read).\n";

typedef struct ch_opts {
	const char *file;
	bool messages;
	bool json;
	const char *json_path;
	ch_run_opts run;
	const char *bad;      /* an option value that is not valid */
} ch_opts;

enum { O_JSONFILE = OPT_FIRST_COMMAND_OPTION, O_DRYRUN, O_FORCE, O_MAXDEL, O_UNDO, O_STATEDIR, O_COPYDEL, O_QDAYS, O_LOCKWAIT };

static bool ch_option(void *data, int opt, const char *arg)
{
	ch_opts *o = data;
	long long v;
	switch (opt) {
	case 'f': o->file = arg; return true;
	case 'm':
	case 'M': o->messages = true; return true;
	case O_JSONFILE: o->json_path = arg; return true;
	case 'n': o->run.no_delete = true; return true;
	case 's': o->run.simulate = true; return true;
	case 'v': o->run.verbose = true; return true;
	case 'q': o->run.quiet = true; return true;
	case 'D': o->run.delete_empty = true; return true;
	case O_DRYRUN: o->run.dry_run = true; return true;
	case O_FORCE: o->run.force = true; return true;
	case O_COPYDEL: o->run.copy_deleted = true; return true;
	case O_UNDO: o->run.undo = arg; return true;
	case O_STATEDIR: o->run.state_dir = arg; return true;
	case 't':
		if (strcmp(arg, "msgid") == 0)
			o->run.ident = MS_IDENT_MSGID;
		else if (strcmp(arg, "md5") == 0)
			o->run.ident = MS_IDENT_MD5;
		else
			o->bad = "-t takes msgid or md5";
		return true;
	case O_QDAYS:
		if (!cli_parse_count(arg, &v) || v > 36500)
			o->bad = "--quarantine-days takes a number of days from 0 (for ever) to 36500";
		else
			o->run.quarantine_days = (long)v;
		return true;
	case O_LOCKWAIT:
		if (!cli_parse_count(arg, &v) || v > 86400)
			o->bad = "--lock-wait takes seconds from 0 to 86400";
		else
			o->run.lock_wait = (int)v;
		return true;
	case O_MAXDEL: {
		char buf[32];
		snprintf(buf, sizeof buf, "%s", arg);
		size_t l = strlen(buf);
		if (l && buf[l - 1] == '%')
			buf[l - 1] = '\0';
		if (!cli_parse_count(buf, &v) || v > 100)
			o->bad = "--max-delete takes a percentage from 0 to 100";
		else
			o->run.max_delete = (int)v;
		return true;
	}
	default: return false;
	}
}

/* mailsync's two-letter option -cd (copy messages flagged \Deleted too):
 * getopt would read it as -c -d. */
static void rewrite_cd(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		if (strcmp(argv[i], "-cd") == 0)
			argv[i] = (char *)"--copy-deleted";
	}
}

/* ---- output ------------------------------------------------------------------- */

typedef struct out {
	FILE *txt;      /* NULL with --json */
	ms_json j;
	bool json;
	int rc;         /* CH_OK or CH_PARTIAL */
} out;

static void flag_letters(unsigned f, char *buf)
{
	char *p = buf;
	if (f & MS_FLAG_DRAFT) *p++ = 'D';
	if (f & MS_FLAG_FLAGGED) *p++ = 'F';
	if (f & MS_FLAG_ANSWERED) *p++ = 'R';
	if (f & MS_FLAG_SEEN) *p++ = 'S';
	if (f & MS_FLAG_DELETED) *p++ = 'T';
	if (p == buf) *p++ = '-';
	*p = '\0';
}

static void iso_date(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (t == 0 || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
}

/* A folder's trouble: on stderr (and in the JSON), and the run is partial. */
static void box_error(out *o, const char *store, const char *box, const char *why)
{
	fprintf(stderr, "mstore channel: store %s, folder ", store);
	ms_escape_put(stderr, box);
	fprintf(stderr, ": ");
	ms_escape_put(stderr, why);
	fputc('\n', stderr);
	if (o->json)
		ms_json_kv_string(&o->j, "error", why);
	o->rc = CH_PARTIAL;
}

/* What the driver could not name (a box's entries with b, else the
 * store's folders): on stderr, and the listing is partial, as a sync of
 * the store would be. */
static void skipped_entries(out *o, const char *store, ms_side *s, ms_box *b)
{
	size_t n = 0;
	const ms_skipped_entry *v = s->drv->skipped ? s->drv->skipped(s, b, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "mstore channel: store %s: ", store);
		ms_escape_put(stderr, v[i].path);
		fprintf(stderr, ": not listed: %s\n", v[i].why);
		o->rc = CH_PARTIAL;
	}
}

/* ---- messages of one box ------------------------------------------------------ */

typedef MS_VEC(ms_msg) msg_vec;

static int cmp_msgid_idx(const void *a, const void *b, void *ctx)
{
	const ms_msg *m = ctx;
	return strcmp(m[*(const size_t *)a].msgid, m[*(const size_t *)b].msgid);
}

/* dup[i]: the Message-ID of message i is on another message of the box too. */
static bool *find_duplicates(const msg_vec *v)
{
	bool *dup = calloc(v->n ? v->n : 1, sizeof *dup);
	size_t *idx = malloc((v->n ? v->n : 1) * sizeof *idx);
	size_t k = 0;
	if (!dup || !idx) {
		free(idx);
		return dup;
	}
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].msgid)
			idx[k++] = i;
	qsort_r(idx, k, sizeof *idx, cmp_msgid_idx, v->v);
	for (size_t i = 1; i < k; i++)
		if (strcmp(v->v[idx[i]].msgid, v->v[idx[i - 1]].msgid) == 0)
			dup[idx[i]] = dup[idx[i - 1]] = true;
	free(idx);
	return dup;
}

static void print_msgs(out *o, const msg_vec *v)
{
	bool *dup = find_duplicates(v);
	if (o->json)
		ms_json_key(&o->j, "messages"), ms_json_begin_array(&o->j);
	else if (v->n)
		fprintf(o->txt, "  %-6s %-5s %-20s %10s  %s\n", "UID", "FLAGS", "DATE", "SIZE", "MESSAGE-ID");
	for (size_t i = 0; i < v->n; i++) {
		const ms_msg *m = &v->v[i];
		char fl[8], date[32];
		flag_letters(m->flags, fl);
		iso_date(m->internal_date, date, sizeof date);
		const char *mark = m->result != MS_DRV_OK ? "unreadable"
		                   : !m->msgid            ? "no Message-ID"
		                   : dup && dup[i]        ? "duplicate"
		                                          : NULL;
		if (o->json) {
			ms_json_begin_object(&o->j);
			ms_json_kv_int(&o->j, "uid", m->uid);
			ms_json_kv_string(&o->j, "flags", fl);
			ms_json_kv_string(&o->j, "internal_date", m->internal_date ? date : NULL);
			ms_json_kv_int(&o->j, "size", (int64_t)m->size);
			ms_json_kv_string(&o->j, "message_id", m->msgid);
			ms_json_kv_bool(&o->j, "duplicate", dup && dup[i]);
			ms_json_kv_bool(&o->j, "readable", m->result == MS_DRV_OK);
			ms_json_end_object(&o->j);
			continue;
		}
		fprintf(o->txt, "  %-6u %-5s %-20s %10llu  ", m->uid, fl, date, (unsigned long long)m->size);
		if (m->msgid) {
			fputc('<', o->txt);
			ms_escape_put(o->txt, m->msgid);
			fputc('>', o->txt);
		} else {
			fputc('-', o->txt);
		}
		if (mark && m->msgid)
			fprintf(o->txt, "  (%s)", mark);
		else if (mark && m->result != MS_DRV_OK)
			fprintf(o->txt, "  (%s)", mark);
		fputc('\n', o->txt);
	}
	if (o->json)
		ms_json_end_array(&o->j);
	free(dup);
}

/* Every message of box `name` of the open side, in pages. */
static void list_box_msgs(out *o, ms_side *s, const char *store, const char *name)
{
	ms_err e = { 0 };
	ms_box *b = NULL;
	if (s->drv->open_box(s, name, &b, &e) != MS_DRV_OK) {
		box_error(o, store, name, e.msg);
		return;
	}
	msg_vec all = { 0 };
	ms_list_req req = { .after_uid = 0, .max = 1000, .want = MS_WANT_MSGID };
	for (;;) {
		ms_msg *page = NULL;
		size_t n = 0;
		if (s->drv->list_msgs(b, &req, &page, &n, &e) != MS_DRV_OK) {
			box_error(o, store, name, e.msg);
			break;
		}
		if (n == 0) {
			free(page);
			break;
		}
		if (ms_vec_reserve(&all, all.n + n) < 0) {
			ms_msg_list_free(page, n);
			box_error(o, store, name, "out of memory");
			break;
		}
		memcpy(all.v + all.n, page, n * sizeof *page);
		all.n += n;
		req.after_uid = page[n - 1].uid;
		free(page); /* the strings now belong to `all` */
	}
	print_msgs(o, &all);
	ms_msg_list_free(all.v, all.n);
	skipped_entries(o, store, s, b);
	s->drv->close_box(b);
}

/* ---- the boxes of a store -------------------------------------------------------- */

typedef struct box_row {
	char *pair;      /* pairing name */
	char *name;      /* the store's own name (local: the path name) */
	const char *format;
	const char *path;
} box_row;

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const box_row *)a)->pair, ((const box_row *)b)->pair);
}

static void begin_box(out *o, const box_row *r)
{
	if (o->json) {
		ms_json_begin_object(&o->j);
		ms_json_kv_string(&o->j, "name", r->pair);
		ms_json_kv_string(&o->j, "store_name", r->name);
		if (r->format)
			ms_json_kv_string(&o->j, "format", r->format);
		return;
	}
	ms_escape_put(o->txt, r->pair);
	fputc('\n', o->txt);
}

static void end_box(out *o)
{
	if (o->json)
		ms_json_end_object(&o->j);
}

/* The pairing name of a box, or a warning when it cannot be paired. */
static char *pairing(out *o, const ms_chan_store *st, const char *name, char delim)
{
	char buf[4096];
	switch (ms_boxname(name, st->prefix, delim, buf, sizeof buf)) {
	case MS_BOXNAME_OK: return strdup(buf);
	case MS_BOXNAME_SLASH:
		box_error(o, st->name, name, "holds '/' on a store whose delimiter is not '/': it cannot be paired");
		return NULL;
	case MS_BOXNAME_TOO_LONG: break;
	}
	box_error(o, st->name, name, "name too long");
	return NULL;
}

static int list_local(out *o, const ms_chan_store *st, bool messages)
{
	ms_local_list l;
	ms_err e = { 0 };
	if (ms_local_list_boxes(st, &l, &e) < 0) {
		fprintf(stderr, "mstore channel: store %s: %s\n", st->name, e.msg);
		return CH_FAIL;
	}
	if (!st->pat)
		fprintf(stderr, "mstore channel: store %s has no pat: it selects no folder (as in mailsync)\n", st->name);
	for (size_t i = 0; i < l.nskipped; i++) {
		fprintf(stderr, "mstore channel: store %s: ", st->name);
		ms_escape_put(stderr, l.skipped[i].name);
		fprintf(stderr, ": not listed: ");
		ms_escape_put(stderr, l.skipped[i].why);
		fputc('\n', stderr);
	}
	if (o->json)
		ms_json_key(&o->j, "boxes"), ms_json_begin_array(&o->j);
	MS_VEC(box_row) rows = { 0 };
	MS_VEC(size_t) which = { 0 };
	for (size_t i = 0; i < l.nboxes; i++) {
		char *pair = pairing(o, st, l.boxes[i].name, '/');
		box_row r = { pair, l.boxes[i].name, ms_local_format_name(l.boxes[i].format), l.boxes[i].path };
		if (pair && (ms_vec_push(&rows, r) < 0 || ms_vec_push(&which, i) < 0))
			free(pair), o->rc = CH_PARTIAL;
	}
	/* messages through the local side (channel/local_side.h), which opens
	   each mailbox with the driver of its format */
	ms_side *side = NULL;
	if (messages && ms_local_side_open(st, true, &side, &e) < 0) {
		fprintf(stderr, "mstore channel: store %s: %s\n", st->name, e.msg);
		o->rc = CH_PARTIAL;
	}
	/* sorted by pairing name; mailsync's prints its std::map's order, the same */
	for (size_t i = 0; i < rows.n; i++) {
		begin_box(o, &rows.v[i]);
		if (side)
			list_box_msgs(o, side, st->name, l.boxes[which.v[i]].name);
		end_box(o);
		free(rows.v[i].pair);
	}
	if (side)
		side->drv->close(side);
	if (o->json)
		ms_json_end_array(&o->j);
	ms_vec_free(&rows);
	ms_vec_free(&which);
	ms_local_list_free(&l);
	return CH_OK;
}

static int list_driver(out *o, const ms_chan_store *st, bool messages)
{
	/* opened as a sync opens it (ch_open_side): the same kinds, the same
	   database password rule */
	ms_side *s = NULL;
	if (ch_open_side("channel", st, true, false, -1, &s) < 0)
		return CH_FAIL;
	const ms_side_driver *drv = s->drv;
	ms_err e = { 0 };
	ms_box_info *boxes = NULL;
	size_t n = 0;
	if (drv->list_boxes(s, &boxes, &n, &e) != MS_DRV_OK) {
		fprintf(stderr, "mstore channel: store %s: cannot list its folders: %s\n", st->name, e.msg);
		drv->close(s);
		return CH_FAIL;
	}
	skipped_entries(o, st->name, s, NULL);
	const char *pat = st->pat ? st->pat : MS_CHAN_DEFAULT_PAT;
	MS_VEC(box_row) rows = { 0 };
	for (size_t i = 0; i < n; i++) {
		if ((boxes[i].attrs & MS_BOX_NOSELECT) || !ms_pat_match(pat, boxes[i].name, s->delim))
			continue;
		char *pair = pairing(o, st, boxes[i].name, s->delim);
		box_row row = { pair, boxes[i].name, NULL, NULL };
		if (pair && ms_vec_push(&rows, row) < 0)
			free(pair), o->rc = CH_PARTIAL;
	}
	if (rows.n)
		qsort(rows.v, rows.n, sizeof *rows.v, cmp_row);
	if (o->json)
		ms_json_key(&o->j, "boxes"), ms_json_begin_array(&o->j);
	for (size_t i = 0; i < rows.n; i++) {
		begin_box(o, &rows.v[i]);
		if (messages)
			list_box_msgs(o, s, st->name, rows.v[i].name);
		end_box(o);
		free(rows.v[i].pair);
	}
	if (o->json)
		ms_json_end_array(&o->j);
	ms_vec_free(&rows);
	ms_box_list_free(boxes, n);
	drv->close(s);
	return CH_OK;
}

static int list_store(const ch_opts *opt, const ms_chan_store *st)
{
	out o = { .json = opt->json || opt->json_path };
	o.txt = o.json ? NULL : stdout; /* --json: the JSON only */
	FILE *jf = NULL;
	if (o.json) {
		jf = opt->json_path && strcmp(opt->json_path, "-") != 0 ? fopen(opt->json_path, "w") : stdout;
		if (!jf) {
			fprintf(stderr, "mstore channel: cannot write %s: %m\n", opt->json_path);
			return CH_FAIL;
		}
		ms_json_init(&o.j, jf);
		ms_json_begin_object(&o.j);
		ms_json_kv_string(&o.j, "store", st->name);
		ms_json_kv_string(&o.j, "kind", st->kind ? st->kind : "local");
	}
	out *op = &o;
	int rc = st->kind ? list_driver(op, st, opt->messages) : list_local(op, st, opt->messages);
	if (o.json) {
		ms_json_kv_int(&o.j, "exit_code", rc == CH_OK ? o.rc : rc);
		ms_json_end_object(&o.j);
		ms_json_finish(&o.j);
		if (jf != stdout && fclose(jf) != 0) {
			fprintf(stderr, "mstore channel: cannot write %s: %m\n", opt->json_path);
			return CH_FAIL;
		}
	}
	return rc == CH_OK ? o.rc : rc;
}

/* ---- the command ------------------------------------------------------------------ */

int cmd_channel(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, 0, OPT_JSON },
		{ "json-file", required_argument, 0, O_JSONFILE },
		{ "help", no_argument, 0, 'h' },
		{ "dry-run", no_argument, 0, O_DRYRUN },
		{ "force-deletions", no_argument, 0, O_FORCE },
		{ "max-delete", required_argument, 0, O_MAXDEL },
		{ "lock-wait", required_argument, 0, O_LOCKWAIT },
		{ "undo", required_argument, 0, O_UNDO },
		{ "state-dir", required_argument, 0, O_STATEDIR },
		{ "copy-deleted", no_argument, 0, O_COPYDEL },
		{ "quarantine-days", required_argument, 0, O_QDAYS },
		{ 0, 0, 0, 0 },
	};
	cli_ctx ctx = { .cmd = "channel" };
	ch_opts o = { 0 };
	o.run.max_delete = -1;
	o.run.lock_wait = -1;
	o.run.quarantine_days = -1;
	cli_json_file_arg(argc, argv);
	rewrite_cd(argc, argv);
	int i = cli_parse(&ctx, argc, argv, "hf:mMnsvqDt:", longopts, ch_option, &o);
	o.json = ctx.json;
	if (o.bad)
		return cli_usage(&ctx, "%s", o.bad);
	int names = argc - i;
	if (names > 2 || (names == 0 && !o.json_path))
		return cli_usage(&ctx, "expected STORE, CHANNEL or CHANNEL STORE, found %d names", names);
	char path[4096];
	ms_err e = { 0 };
	if (!o.file) {
		if (ms_chan_config_default_path(path, sizeof path, &e) < 0)
			return fprintf(stderr, "mstore channel: %s\n", e.msg), CH_FAIL;
		o.file = path;
	}
	ms_chan_config cfg;
	if (ms_chan_config_read(o.file, &cfg, &e) < 0) {
		fprintf(stderr, "mstore channel: %s\n", e.msg);
		return CH_FAIL;
	}
	/* "--json WORD": WORD is the file, unless it is a name of the
	 * configuration (then the JSON goes to stdout) */
	const char *name[3];
	int n = 0;
	if (o.json_path && (ms_chan_config_store(&cfg, o.json_path) || ms_chan_config_channel(&cfg, o.json_path))) {
		name[n++] = o.json_path;
		o.json_path = NULL;
		o.json = true;
	}
	for (int k = i; k < argc; k++)
		name[n++] = argv[k];
	const ms_chan_store *st[2] = { NULL, NULL };
	const ms_chan_channel *ch = NULL;
	int nst = 0, nch = 0, rc = CH_FAIL;
	if (n < 1 || n > 2) {
		cli_usage(&ctx, "expected STORE, CHANNEL or CHANNEL STORE, found %d names", n);
		goto done;
	}
	for (int k = 0; k < n; k++) {
		const ms_chan_store *s = ms_chan_config_store(&cfg, name[k]);
		const ms_chan_channel *c = ms_chan_config_channel(&cfg, name[k]);
		if (s)
			st[nst++] = s;
		else if (c && !ch)
			ch = c, nch++;
		else if (c)
			nch++;
		else {
			fprintf(stderr, "mstore channel: %s has no store or channel named \"%s\"\n", cfg.file, name[k]);
			goto done;
		}
	}
	if (nch == 0 && nst == 1)
		rc = list_store(&o, st[0]);
	else if (nch == 1 && nst <= 1) {
		o.run.json = o.json;
		o.run.json_path = o.json_path;
		o.run.messages = o.messages;
		rc = ch_run(&o.run, ch, st[0]);
	}
	else
		fprintf(stderr, "mstore channel: cannot tell what to do with %d channels and %d stores (STORE, CHANNEL or "
		        "CHANNEL STORE)\n", nch, nst);
done:
	ms_chan_config_free(&cfg);
	return rc;
}
