/* gen_datadir - generate an hMailServer-layout data directory, deterministically.
 *
 * usage: gen_datadir [--seed N] [--messages N] [--domains N] [--accounts N]
 *                    [--queue-percent P] [--noid-percent P] OUTDIR
 *        gen_datadir --maildir FOLDERS [--seed N] [--messages N]
 *                    [--noid-percent P] [--dup-percent P] OUTDIR
 *
 * Writes OUTDIR/Data (the data directory) and OUTDIR/objects.txt, which
 * lists the domains ("domain NAME") and accounts ("account ADDRESS") the
 * messages belong to, for the caller to create with `mstore domain add` /
 * `mstore account add`.  The same seed gives byte-identical output.
 *
 * The mix is meant to look like a real store: most messages a few KB,
 * a long tail up to ~2 MB (see body_size); 10% without Message-ID; some RFC 2047 subjects
 * and names in several charsets; some LF-only files; 2% byte-identical
 * duplicates within an account; queue files in the root addressed to a mix
 * of local and external recipients.
 *
 * --maildir FOLDERS writes the same kind of messages into a Maildir tree
 * instead (the channel benchmark): OUTDIR/INBOX and OUTDIR/F01 ... each a
 * Maildir, one directory per folder (mbsync's `SubFolders Verbatim`, the
 * layout mailsync's c-client also reads), 10% of the messages unseen in
 * new/, the rest in cur/ with flags (S, RS, FS, DS, none); byte-identical
 * duplicates (default 1%) are copies of the previous message in its
 * folder.  File names carry the seed, so the trees of two seeds can be
 * merged (the benchmark's "1% new").  --noid-percent (0-100) sets the
 * share without Message-ID in either mode; without it a data directory
 * keeps its 10% and the random stream of earlier runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct rng { uint64_t s; } rng;

/* xorshift64*: small, fast, and the same on every machine. */
static uint64_t next(rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}
static uint64_t below(rng *r, uint64_t n) { return n ? next(r) % n : 0; }

static const char *const first_names[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe",
};
static const char *const words[] = {
	"meeting", "report", "invoice", "holiday", "project", "update", "lunch", "budget",
	"review", "draft", "schedule", "photos", "contract", "question", "reminder", "notes",
};
static const char *const encoded_subjects[] = {
	"=?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=",          /* Grüße aus München */
	"=?ISO-8859-1?Q?R=E9union_de_l'=E9quipe?=",            /* Réunion de l'équipe */
	"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=",                 /* テスト */
	"=?UTF-8?Q?broken_encoded_word_=E2=82?=",             /* truncated UTF-8 */
	"=?KOI8-R?B?8NLJ18XU?=",                              /* Привет */
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static void guid(rng *r, char out[39])
{
	uint64_t a = next(r), b = next(r);
	snprintf(out, 39, "{%08" PRIX64 "-%04" PRIX64 "-%04" PRIX64 "-%04" PRIX64 "-%012" PRIX64 "}",
	         a >> 32, (a >> 16) & 0xFFFF, a & 0xFFFF, b >> 48, b & (uint64_t)0xFFFFFFFFFFFF);
}

/* Body size: 85% 1-8 KB, 14.8% 8-64 KB, 0.2% 64 KB-2 MB (about 10 KB on
 * average, so a million messages fit on an ordinary disk). */
static size_t body_size(rng *r)
{
	uint64_t p = below(r, 1000);
	if (p < 2)
		return 64 * 1024 + below(r, 1984 * 1024);
	if (p < 150)
		return 8 * 1024 + below(r, 56 * 1024);
	return 1024 + below(r, 7 * 1024);
}

typedef struct gen {
	rng r;
	int n_domains, n_accounts;
	char (*accounts)[128];
	time_t base;
	int noid_pct; /* -1: the data directory's historical 10% */
} gen;

static void pick_address(gen *g, char *buf, size_t len, int external)
{
	if (external)
		snprintf(buf, len, "%s.%s@remote%d.example", first_names[below(&g->r, N(first_names))],
		         words[below(&g->r, N(words))], (int)below(&g->r, 50));
	else
		snprintf(buf, len, "%s", g->accounts[below(&g->r, (uint64_t)g->n_accounts)]);
}

/* Write one message to `path`; returns its size or -1. */
static long write_message(gen *g, const char *path, const char *to_local)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	rng *r = &g->r;
	const char *nl = below(r, 20) == 0 ? "\n" : "\r\n";
	time_t t = g->base - (time_t)below(r, 3 * 365 * 86400);
	char date[64], from[160], to[160], cc[160];
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	pick_address(g, from, sizeof from, below(r, 3) != 0);
	if (to_local)
		snprintf(to, sizeof to, "%s", to_local);
	else
		pick_address(g, to, sizeof to, below(r, 3) == 0);
	fprintf(f, "Received: from mx%d.remote.example ([192.0.2.%d]) by mail.example.com; %s%s",
	        (int)below(r, 9), (int)below(r, 250) + 1, date, nl);
	if (below(r, 8) == 0)
		fprintf(f, "From: %s <%s>%s", encoded_subjects[below(r, N(encoded_subjects))], from, nl);
	else
		fprintf(f, "From: \"%s %s\" <%s>%s", first_names[below(r, N(first_names))],
		        words[below(r, N(words))], from, nl);
	fprintf(f, "To: %s%s", to, nl);
	if (below(r, 4) == 0) {
		pick_address(g, cc, sizeof cc, below(r, 2) == 0);
		fprintf(f, "Cc: %s, undisclosed:;%s", cc, nl);
	}
	if (below(r, 10) == 0)
		fprintf(f, "Subject: %s%s", encoded_subjects[below(r, N(encoded_subjects))], nl);
	else
		fprintf(f, "Subject: %s %s%s", words[below(r, N(words))], words[below(r, N(words))], nl);
	fprintf(f, "Date: %s%s", date, nl);
	if (g->noid_pct < 0 ? below(r, 10) != 0 : (int)below(r, 100) >= g->noid_pct)
		fprintf(f, "Message-ID: <%016" PRIx64 "@remote.example>%s", next(r), nl);
	fprintf(f, "MIME-Version: 1.0%sContent-Type: text/plain; charset=utf-8%s%s", nl, nl, nl);
	size_t size = body_size(r);
	static const char line[] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.";
	for (size_t w = 0; w < size; w += sizeof line - 1 + strlen(nl))
		fprintf(f, "%s%s", line, nl);
	long len = ftell(f);
	if (fclose(f) != 0)
		return -1;
	/* a real store's files were written when the message arrived */
	struct timespec times[2] = { { t, 0 }, { t, 0 } };
	utimensat(AT_FDCWD, path, times, 0);
	return len;
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	char buf[65536];
	size_t n;
	int rc = in && out ? 0 : -1;
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	struct stat st;
	if (rc == 0 && fflush(out) == 0 && fstat(fileno(in), &st) == 0) {
		struct timespec times[2] = { st.st_mtim, st.st_mtim }; /* same delivery time */
		futimens(fileno(out), times);
	}
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

static int write_objects(gen *g, const char *outdir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/objects.txt", outdir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	for (int d = 0; d < g->n_domains; d++)
		fprintf(f, "domain d%d.example.com\n", d);
	for (int a = 0; a < g->n_accounts; a++)
		fprintf(f, "account %s\n", g->accounts[a]);
	return fclose(f);
}

static void usage(void)
{
	fprintf(stderr, "usage: gen_datadir [--seed N] [--messages N] [--domains N] [--accounts N] "
	                "[--queue-percent P] [--noid-percent P] OUTDIR\n"
	                "       gen_datadir --maildir FOLDERS [--seed N] [--messages N] [--noid-percent P] "
	                "[--dup-percent P] OUTDIR\n");
	exit(2);
}

/* The Maildir flags of a message in cur/: mostly seen, some answered,
 * flagged or draft, a few without any.  Never T (\Deleted): the tools
 * compared treat it differently (mbsync expunges it, mailsync skips it),
 * which would measure their rules, not their speed. */
static const char *maildir_flags(rng *r)
{
	uint64_t p = below(r, 100);
	return p < 65 ? "S" : p < 80 ? "RS" : p < 92 ? "FS" : p < 95 ? "DS" : "";
}

static int make_maildir(const char *outdir, int folder)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char path[4096];
	for (size_t i = 0; i < N(subs); i++) {
		if (folder == 0)
			snprintf(path, sizeof path, "%s/INBOX/%s", outdir, subs[i]);
		else
			snprintf(path, sizeof path, "%s/F%02d/%s", outdir, folder, subs[i]);
		if (mkdirs(path) < 0)
			return -1;
	}
	return 0;
}

/* --maildir: `messages` messages spread over `folders` Maildirs. */
static int gen_maildir(gen *g, const char *outdir, long messages, int folders, int dup_pct, uint64_t seed)
{
	char path[4096], prev[4096] = "";
	int prev_folder = 0;
	for (int f = 0; f < folders; f++)
		if (make_maildir(outdir, f) < 0) {
			perror(outdir);
			return -1;
		}
	for (long i = 0; i < messages; i++) {
		bool dup = prev[0] && (int)below(&g->r, 100) < dup_pct;
		int folder = dup ? prev_folder : (int)below(&g->r, (uint64_t)folders);
		bool unseen = below(&g->r, 10) == 0;
		const char *flags = maildir_flags(&g->r);
		char dir[64];
		if (folder == 0)
			snprintf(dir, sizeof dir, "INBOX");
		else
			snprintf(dir, sizeof dir, "F%02d", folder);
		/* unique per seed and message, as a delivery agent names them */
		int n = snprintf(path, sizeof path, "%s/%s/%s/%ld.M%ldP%" PRIu64 ".bench", outdir, dir,
		                 unseen ? "new" : "cur", (long)g->base - messages + i, i, seed);
		if (!unseen)
			snprintf(path + n, sizeof path - (size_t)n, ":2,%s", flags);
		if (dup ? copy_file(prev, path) < 0 : write_message(g, path, g->accounts[0]) < 0) {
			perror(path);
			return -1;
		}
		snprintf(prev, sizeof prev, "%s", path);
		prev_folder = folder;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, 0, 's' }, { "messages", required_argument, 0, 'm' },
		{ "domains", required_argument, 0, 'd' }, { "accounts", required_argument, 0, 'a' },
		{ "queue-percent", required_argument, 0, 'q' }, { "noid-percent", required_argument, 0, 'i' },
		{ "maildir", required_argument, 0, 'M' }, { "dup-percent", required_argument, 0, 'u' },
		{ 0, 0, 0, 0 },
	};
	uint64_t seed = 1;
	long messages = 1000, queue_pct = 2;
	int maildir_folders = 0, dup_pct = 1;
	gen g = { .n_domains = 3, .n_accounts = 20, .base = 1767225600 /* 2026-01-01 */, .noid_pct = -1 };
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'm': messages = atol(optarg); break;
		case 'd': g.n_domains = atoi(optarg); break;
		case 'a': g.n_accounts = atoi(optarg); break;
		case 'q': queue_pct = atol(optarg); break;
		case 'i': g.noid_pct = atoi(optarg); break;
		case 'M': maildir_folders = atoi(optarg); break;
		case 'u': dup_pct = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || messages < 0 || g.n_domains < 1 || g.n_accounts < 1 || queue_pct < 0 || queue_pct > 100 ||
	    g.noid_pct > 100 || maildir_folders < 0 || dup_pct < 0 || dup_pct > 100)
		usage();
	const char *outdir = argv[optind];
	g.r.s = seed * 0x9E3779B97F4A7C15ULL + 1;
	g.accounts = calloc((size_t)g.n_accounts, sizeof *g.accounts);
	for (int a = 0; a < g.n_accounts; a++)
		snprintf(g.accounts[a], sizeof g.accounts[a], "%s%d@d%d.example.com",
		         first_names[a % (int)N(first_names)], a, a % g.n_domains);

	if (maildir_folders > 0) {
		int rc = gen_maildir(&g, outdir, messages, maildir_folders, dup_pct, seed);
		free(g.accounts);
		return rc < 0 ? 1 : 0;
	}
	char path[4096], prev[4096] = "", name[39];
	snprintf(path, sizeof path, "%s/Data", outdir);
	if (mkdirs(path) < 0 || write_objects(&g, outdir) < 0) {
		perror(outdir);
		return 1;
	}
	for (long i = 0; i < messages; i++) {
		guid(&g.r, name);
		bool queued = (long)below(&g.r, 100) < queue_pct;
		const char *acct = g.accounts[below(&g.r, (uint64_t)g.n_accounts)];
		char local[128], domain[128];
		sscanf(acct, "%127[^@]@%127s", local, domain);
		if (queued)
			snprintf(path, sizeof path, "%s/Data", outdir);
		else
			snprintf(path, sizeof path, "%s/Data/%s/%s/%.2s", outdir, domain, local, name + 1);
		if (mkdirs(path) < 0) {
			perror(path);
			return 1;
		}
		size_t dlen = strlen(path);
		snprintf(path + dlen, sizeof path - dlen, "/%s.eml", name);
		/* 2% duplicates: the previous account message again, byte for byte
		 * (in its own account tree, so it is a duplicate there). */
		if (!queued && prev[0] && below(&g.r, 50) == 0) {
			snprintf(path, sizeof path, "%s", prev);
			char *slash = strrchr(path, '/');
			snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "%s.eml", name);
			/* keep the XX folder right for the new name */
			memcpy(slash - 2, name + 1, 2);
			*slash = '\0';
			if (mkdirs(path) < 0)
				return 1;
			*slash = '/';
			if (copy_file(prev, path) < 0) {
				perror(path);
				return 1;
			}
			continue;
		}
		if (write_message(&g, path, queued ? NULL : acct) < 0) {
			perror(path);
			return 1;
		}
		if (!queued)
			snprintf(prev, sizeof prev, "%s", path);
	}
	free(g.accounts);
	return 0;
}
