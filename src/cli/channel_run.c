/* channel_run.c - `mstore channel CHANNEL [STORE]` over the channel engine
 * (src/channel/engine.h): opening the two stores as sides, pairing their
 * folders by pairing name, the channel's state file and quarantine in the
 * state directory, mailsync's msinfo imported on a first run, and the
 * summaries.
 *
 * Where things are (STATE: --state-dir, else $XDG_STATE_HOME/mstore, else
 * /var/lib/mstore for root or without a HOME, else ~/.local/state/mstore:
 * the rule of reconstruct's recovery lists):
 *   STATE/channels/NAME.state        the state (state.h), NAME.state.lock its lock
 *   STATE/channels/NAME.quarantine/  RUN/journal and the messages each run
 *                                    deleted by propagation (engine.h)
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallopt: glibc's */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "channel/diff.h"
#include "channel/engine.h"
#include "channel/local_side.h"
#include "channel/msinfo.h"
#include "channel/quarantine.h"
#include "channel/pattern.h"
#include "cli/channel_run.h"
#include "config/config.h"
#include "store/clock.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/vec.h"

#define PATH_LEN 4096

/* Where the text output goes: stdout, or stderr when the JSON report
 * takes stdout (--json without FILE), so the JSON stays parseable. */
static FILE *txt;
/* The command whose name starts error messages ("channel", "diff"). */
static const char *who = "channel";
typedef ch_pairs pairs;


/* ---- where the state is --------------------------------------------------------- */

static int state_dir(const ch_run_opts *o, char *out, size_t len)
{
	return ms_config_state_dir(o->state_dir, out, len);
}

/* mkdir -p, mode 0700: the state names messages and folders. */
static int make_dirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		int rc = mkdir(path, 0700);
		int err = errno;
		*p = c;
		if (rc < 0 && err != EEXIST) {
			errno = err;
			return -1;
		}
		if (c == '\0')
			return 0;
	}
}

typedef struct paths {
	char dir[PATH_LEN];         /* STATE/channels */
	char state[PATH_LEN];
	char quarantine[PATH_LEN];
} paths;

static int channel_paths(const ch_run_opts *o, const ms_chan_channel *ch, bool create, paths *p)
{
	char top[PATH_LEN];
	if (state_dir(o, top, sizeof top) < 0 ||
	    snprintf(p->dir, sizeof p->dir, "%s/channels", top) >= (int)sizeof p->dir ||
	    snprintf(p->state, sizeof p->state, "%s/%s.state", p->dir, ch->name) >= (int)sizeof p->state ||
	    snprintf(p->quarantine, sizeof p->quarantine, "%s/%s.quarantine", p->dir, ch->name) >=
	            (int)sizeof p->quarantine) {
		fprintf(stderr, "mstore channel: the state directory's name is empty or too long\n");
		return -1;
	}
	if (strchr(ch->name, '/')) {
		fprintf(stderr, "mstore channel: channel %s: a name with '/' cannot name a state file\n", ch->name);
		return -1;
	}
	if (create && make_dirs(p->dir) < 0) {
		fprintf(stderr, "mstore channel: cannot create the state directory %s: %s (--state-dir DIR puts it "
		        "elsewhere)\n", p->dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the sides ------------------------------------------------------------------ */

int ch_open_side(const char *cmd, const ms_chan_store *st, bool read_only, bool dry, int lock_wait, ms_side **out)
{
	who = cmd;
	ms_err e = { 0 };
	*out = NULL;
	if (!st->kind) {
		if (ms_local_side_open(st, read_only, out, &e) < 0) {
			fprintf(stderr, "mstore %s: store %s cannot be opened: %s\n", who, st->name, e.msg);
			return -1;
		}
	} else {
		const ms_side_driver *drv = ms_side_driver_find(st->kind);
		if (!drv) {
			fprintf(stderr, "mstore %s: store %s: kind %s is not supported by this mstore\n", who, st->name,
			        st->kind);
			return -1;
		}
		ms_side_conf conf;
		if (ms_chan_side_conf(st, read_only, &conf, &e) < 0) {
			fprintf(stderr, "mstore %s: %s\n", who, e.msg);
			return -1;
		}
		/* an hmailserver store's database password: passwd or passfile,
		   else MSTORE_DB_PASSWORD as for every other mstore command */
		const char *envpw = getenv("MSTORE_DB_PASSWORD");
		ms_side_opt *opts = calloc(conf.nopts + 2, sizeof *opts);
		if (!opts) {
			ms_chan_side_conf_free(&conf);
			fprintf(stderr, "mstore %s: out of memory\n", who);
			return -1;
		}
		memcpy(opts, conf.opts, conf.nopts * sizeof *opts);
		ms_side_conf c2 = conf;
		c2.opts = opts;
		bool hms = strcmp(st->kind, "hmailserver") == 0;
		if (hms && !ms_side_conf_get(&conf, "password") && envpw && *envpw)
			opts[c2.nopts++] = (ms_side_opt){ "password", envpw };
		char wait[16];
		snprintf(wait, sizeof wait, "%d", lock_wait);
		if (hms && lock_wait >= 0)
			opts[c2.nopts++] = (ms_side_opt){ "lockwait", wait };
		ms_drv_result r = drv->open(&c2, out, &e);
		free(opts);
		ms_chan_side_conf_free(&conf);
		if (r != MS_DRV_OK) {
			fprintf(stderr, "mstore %s: store %s cannot be opened: %s\n", who, st->name, e.msg);
			return -1;
		}
	}
	if (dry && !(*out = ms_dryrun_wrap(*out))) {
		fprintf(stderr, "mstore %s: out of memory\n", who);
		return -1;
	}
	return 0;
}

static void close_sides(ms_side *s[2])
{
	for (int i = 0; i < 2; i++)
		if (s[i])
			s[i]->drv->close(s[i]);
}

/* ---- folder pairs ------------------------------------------------------------------ */

typedef struct row {
	char *pair;     /* pairing name */
	char *name;     /* the side's own name */
} row;
typedef MS_VEC(row) row_vec;

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const row *)a)->pair, ((const row *)b)->pair);
}

static void rows_free(row_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i].pair), free(v->v[i].name);
	ms_vec_free(v);
}

/* The selected boxes of side s by pairing name, sorted; *left_out counts
 * those that cannot be paired. */
static int side_rows(ms_side *s, const ms_chan_store *st, row_vec *out, size_t *left_out)
{
	ms_box_info *boxes = NULL;
	size_t n = 0;
	ms_err e = { 0 };
	if (s->drv->list_boxes(s, &boxes, &n, &e) != MS_DRV_OK) {
		fprintf(stderr, "mstore %s: store %s: cannot list its folders: %s\n", who, st->name, e.msg);
		return -1;
	}
	const char *pat = st->pat ? st->pat : st->kind ? MS_CHAN_DEFAULT_PAT : "";
	for (size_t i = 0; i < n; i++) {
		char buf[PATH_LEN];
		if ((boxes[i].attrs & MS_BOX_NOSELECT) || !ms_pat_match(pat, boxes[i].name, s->delim))
			continue;
		if (ms_boxname(boxes[i].name, st->prefix, s->delim, buf, sizeof buf) != MS_BOXNAME_OK) {
			fprintf(stderr, "mstore %s: store %s, folder ", who, st->name);
			ms_escape_put(stderr, boxes[i].name);
			fprintf(stderr, ": cannot be paired (a '/' in its name, or too long): left out\n");
			++*left_out;
			continue;
		}
		row r = { strdup(buf), strdup(boxes[i].name) };
		if (!r.pair || !r.name || ms_vec_push(out, r) < 0) {
			free(r.pair), free(r.name);
			ms_box_list_free(boxes, n);
			fprintf(stderr, "mstore %s: out of memory\n", who);
			return -1;
		}
	}
	ms_box_list_free(boxes, n);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_row);
	return 0;
}

void ch_pairs_free(pairs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free((char *)p->v[i].box[0]);
		free((char *)p->v[i].box[1]);
		free(p->pairname[i]);
	}
	free(p->v);
	free(p->pairname);
	free(p->present);
	memset(p, 0, sizeof *p);
}

/* Whether the other side (s, store st) can name the pairing name `pn` of
 * `r`, a folder only one side has: a level holding s's delimiter would
 * be read back as two levels (an mbox "lists.dev" made ".lists.dev" in a
 * Maildir++, listed next run as "lists/dev": a folder made on the mbox
 * side, then an error at every run).  Said on stderr when not. */
static bool nameable(ms_side *s, const ms_chan_store *st, const row *r, const char *pn)
{
	if (s->delim == '/' || !strchr(pn, s->delim))
		return true;
	fprintf(stderr, "mstore %s: folder ", who);
	ms_escape_put(stderr, r->name);
	fprintf(stderr, ": cannot be made on store %s: a level of its name holds '%c', that store's hierarchy"
	        " delimiter: left out\n", st->name, s->delim);
	return false;
}

/* The store's own name of pairing name `pn` on side s. */
static char *store_name(ms_side *s, const ms_chan_store *st, const char *pn)
{
	char buf[PATH_LEN];
	return ms_boxname_to_store(pn, st->prefix, s->delim, buf, sizeof buf) ? strdup(buf) : NULL;
}

static int add_pair(pairs *p, char *a, char *b, const char *pn, bool pa, bool pb)
{
	ms_box_pairing *v = realloc(p->v, (p->n + 1) * sizeof *v);
	if (v)
		p->v = v;
	char **names = realloc(p->pairname, (p->n + 1) * sizeof *names);
	if (names)
		p->pairname = names;
	bool (*present)[2] = realloc(p->present, (p->n + 1) * sizeof *present);
	if (present)
		p->present = present;
	char *pc = strdup(pn);
	if (!v || !names || !present || !a || !b || !pc) {
		free(a), free(b), free(pc);
		return -1;
	}
	p->v[p->n].box[0] = a;
	p->v[p->n].box[1] = b;
	p->present[p->n][0] = pa;
	p->present[p->n][1] = pb;
	p->pairname[p->n++] = pc;
	return 0;
}

/* Both stores' selected folders paired by pairing name; a folder on one
 * side only is paired with its name mapped into the other store's. */
int ch_make_pairs(const char *cmd, ms_side *sides[2], const ms_chan_store *st[2], bool making, pairs *out)
{
	who = cmd;
	row_vec r[2] = { { 0 }, { 0 } };
	memset(out, 0, sizeof *out);
	int rc = 0;
	for (int s = 0; s < 2 && rc == 0; s++)
		rc = side_rows(sides[s], st[s], &r[s], &out->left_out);
	size_t i = 0, j = 0;
	while (rc == 0 && (i < r[0].n || j < r[1].n)) {
		int c = i == r[0].n ? 1 : j == r[1].n ? -1 : strcmp(r[0].v[i].pair, r[1].v[j].pair);
		const row *a = c <= 0 ? &r[0].v[i++] : NULL, *b = c >= 0 ? &r[1].v[j++] : NULL;
		const char *pn = a ? a->pair : b->pair;
		if (making && !nameable(a ? sides[1] : sides[0], a ? st[1] : st[0], a ? a : b, pn)) {
			out->left_out++;
			continue;
		}
		rc = add_pair(out, a ? strdup(a->name) : store_name(sides[0], st[0], pn),
		              b ? strdup(b->name) : store_name(sides[1], st[1], pn), pn, a != NULL, b != NULL);
		if (rc < 0)
			fprintf(stderr, "mstore %s: out of memory, or a folder name too long for the other store\n", who);
	}
	rows_free(&r[0]);
	rows_free(&r[1]);
	if (rc < 0)
		ch_pairs_free(out);
	return rc;
}

/* ---- mailsync's msinfo ---------------------------------------------------------------- */

/* A first run (no state file): what mailsync's msinfo knew in sync is
 * seeded, so a message deleted on one side since mailsync's last run is
 * deleted on the other, not copied back. */
static int seed_msinfo(const ms_chan_channel *ch, const pairs *p, ms_state *st, bool verbose)
{
	char path[PATH_LEN];
	ms_err e = { 0 };
	const char *home = getenv("HOME");
	if (ms_msinfo_path(ch->msinfo, home ? home : "", path, sizeof path, &e) < 0) {
		fprintf(stderr, "mstore channel: channel %s: msinfo %s: %s\n", ch->name, ch->msinfo, e.msg);
		return -1;
	}
	ms_msinfo mi;
	if (ms_msinfo_read(path, &mi, &e) < 0) {
		if (e.code == MS_E_NOTFOUND) {
			if (verbose)
				fprintf(txt, "msinfo %s does not exist: a first run without mailsync's state\n", path);
			return 0;
		}
		fprintf(stderr, "mstore channel: channel %s: mailsync's msinfo cannot be read, so nothing can be told "
		        "new from deleted: %s\n", ch->name, e.msg);
		return -1;
	}
	const ms_msinfo_channel *mc = ms_msinfo_channel_find(&mi, ch->name);
	size_t seeded = 0;
	int rc = 0;
	for (size_t i = 0; mc && i < p->n && rc == 0; i++) {
		const ms_msinfo_box *b = ms_msinfo_box_find(mc, p->pairname[i]);
		if (!b)
			continue;
		char **ids = calloc(b->nids ? b->nids : 1, sizeof *ids);
		size_t k = 0;
		for (size_t j = 0; ids && j < b->nids; j++) {
			const ms_msinfo_id *id = &b->ids[j];
			if (id->kind == MS_MSINFO_MSGID && strcmp(id->id, "<>") != 0)
				ids[k++] = strdup(id->id);
			else if (id->kind == MS_MSINFO_MD5 && (ids[k] = malloc(strlen(id->id) + 5)))
				sprintf(ids[k++], "md5:%s", id->id);
		}
		if (!ids || ms_state_seed(st, p->v[i].box[0], p->v[i].box[1], (const char *const *)ids, k, &e) < 0) {
			fprintf(stderr, "mstore channel: seeding the state from %s: %s\n", path, ids ? e.msg : "out of memory");
			rc = -1;
		}
		seeded += k;
		for (size_t j = 0; j < k; j++)
			free(ids[j]);
		free(ids);
	}
	if (rc == 0)
		fprintf(txt, "first run: %zu identities taken from mailsync's msinfo %s%s\n", seeded, path,
		       mc ? "" : " (it has no entry for this channel)");
	ms_msinfo_free(&mi);
	return rc;
}

/* ---- the summary -------------------------------------------------------------------- */

static void put_name(const char *s)
{
	ms_escape_put(txt, s ? s : "");
}

static void side_counts(const ms_chan_store *st, size_t copied, size_t deleted, size_t pending, size_t flagged,
                        size_t dups)
{
	fprintf(txt, "%s: %zu copied, %zu deleted, %zu pending, %zu flags, %zu duplicates", st->name, copied, deleted, pending,
	       flagged, dups);
}

static void print_pair(const ms_pair_report *p, const ms_chan_store *st[2], bool verbose)
{
	bool any = p->copied[0] || p->copied[1] || p->deleted[0] || p->deleted[1] || p->pending[0] || p->pending[1] ||
	           p->flagged[0] || p->flagged[1] || p->duplicates[0] || p->duplicates[1] || p->skipped.n || p->error ||
	           p->created[0] || p->created[1];
	if (!any && !verbose)
		return;
	fprintf(txt, "folder ");
	put_name(p->box[0]);
	fprintf(txt, " <-> ");
	put_name(p->box[1]);
	fprintf(txt, ": ");
	side_counts(st[0], p->copied[0], p->deleted[0], p->pending[0], p->flagged[0], p->duplicates[0]);
	fprintf(txt, "; ");
	side_counts(st[1], p->copied[1], p->deleted[1], p->pending[1], p->flagged[1], p->duplicates[1]);
	fprintf(txt, "; %zu kept\n", p->kept);
	for (int s = 0; s < 2; s++)
		if (p->created[s])
			fprintf(txt, "  created on %s\n", st[s]->name);
	for (size_t i = 0; i < p->skipped.n; i++) {
		const ms_skip *k = &p->skipped.v[i];
		fprintf(txt, "  skipped on %s", st[k->side]->name);
		if (k->uid || k->ident) { /* a message; else an entry that is none (driver.h skipped) */
			fprintf(txt, ", uid %u, ", k->uid);
			put_name(k->ident ? k->ident : "-");
		}
		fprintf(txt, ": ");
		put_name(k->why);
		fputc('\n', txt);
	}
	if (p->error) { /* a failure is an error, not part of the report: stderr */
		fprintf(stderr, "mstore %s: folder ", who);
		ms_escape_put(stderr, p->box[0]);
		fprintf(stderr, " <-> ");
		ms_escape_put(stderr, p->box[1]);
		fprintf(stderr, " failed: ");
		ms_escape_put(stderr, p->error);
		fputc('\n', stderr);
	}
}

static void print_report(const ms_channel_report *r, const ms_chan_channel *ch, const ms_chan_store *st[2],
                         bool verbose)
{
	for (size_t i = 0; i < r->pairs.n; i++)
		print_pair(&r->pairs.v[i], st, verbose);
	for (size_t i = 0; i < r->brake.n; i++) {
		fprintf(txt, "brake: ");
		put_name(r->brake.v[i]);
		fputc('\n', txt);
	}
	if (r->braked)
		fprintf(txt, "the run was refused and nothing was written (--force-deletions, --max-delete PCT or the "
		       "channel's maxdelete lift the brake)\n");
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < r->side_skipped[s].n; i++) {
			fprintf(txt, "skipped on %s: ", st[s]->name);
			put_name(r->side_skipped[s].v[i]);
			fprintf(txt, " (left as it is)\n");
		}
	for (int s = 0; s < 2; s++)
		if (r->side_error[s]) {
			fprintf(stderr, "mstore %s: store %s failed: ", who, st[s]->name);
			ms_escape_put(stderr, r->side_error[s]);
			fputc('\n', stderr);
		}
	fprintf(txt, "channel %s: ", ch->name);
	side_counts(st[0], r->copied[0], r->deleted[0], r->pending[0], r->flagged[0], r->duplicates[0]);
	fprintf(txt, "; ");
	side_counts(st[1], r->copied[1], r->deleted[1], r->pending[1], r->flagged[1], r->duplicates[1]);
	fprintf(txt, "; %zu skipped, %zu folders failed\n", r->skipped, r->failed_pairs);
}

static void json_pair2(ms_json *j, const char *key, const size_t v[2])
{
	ms_json_key(j, key);
	ms_json_begin_array(j);
	ms_json_int(j, (int64_t)v[0]);
	ms_json_int(j, (int64_t)v[1]);
	ms_json_end_array(j);
}

static void json_report(ms_json *j, const ms_channel_report *r)
{
	ms_json_kv_string(j, "run_id", r->run_id);
	ms_json_kv_bool(j, "braked", r->braked);
	ms_json_key(j, "brake");
	ms_json_begin_array(j);
	for (size_t i = 0; i < r->brake.n; i++)
		ms_json_string(j, r->brake.v[i]);
	ms_json_end_array(j);
	ms_json_key(j, "pairs");
	ms_json_begin_array(j);
	for (size_t i = 0; i < r->pairs.n; i++) {
		const ms_pair_report *p = &r->pairs.v[i];
		ms_json_begin_object(j);
		ms_json_key(j, "box");
		ms_json_begin_array(j);
		ms_json_string(j, p->box[0]);
		ms_json_string(j, p->box[1]);
		ms_json_end_array(j);
		json_pair2(j, "copied", p->copied);
		json_pair2(j, "deleted", p->deleted);
		json_pair2(j, "pending", p->pending);
		json_pair2(j, "flagged", p->flagged);
		json_pair2(j, "duplicates", p->duplicates);
		ms_json_kv_int(j, "kept", (int64_t)p->kept);
		ms_json_key(j, "skipped");
		ms_json_begin_array(j);
		for (size_t k = 0; k < p->skipped.n; k++) {
			ms_json_begin_object(j);
			ms_json_kv_int(j, "side", p->skipped.v[k].side);
			ms_json_kv_int(j, "uid", p->skipped.v[k].uid);
			ms_json_kv_string(j, "ident", p->skipped.v[k].ident);
			ms_json_kv_string(j, "why", p->skipped.v[k].why);
			ms_json_end_object(j);
		}
		ms_json_end_array(j);
		ms_json_kv_string(j, "error", p->error);
		ms_json_end_object(j);
	}
	ms_json_end_array(j);
	json_pair2(j, "copied", r->copied);
	json_pair2(j, "deleted", r->deleted);
	json_pair2(j, "pending", r->pending);
	json_pair2(j, "flagged", r->flagged);
	json_pair2(j, "duplicates", r->duplicates);
	ms_json_kv_int(j, "skipped", (int64_t)r->skipped);
	ms_json_key(j, "skipped_folders");   /* per side: "PATH: why" */
	ms_json_begin_array(j);
	for (int s = 0; s < 2; s++) {
		ms_json_begin_array(j);
		for (size_t i = 0; i < r->side_skipped[s].n; i++)
			ms_json_string(j, r->side_skipped[s].v[i]);
		ms_json_end_array(j);
	}
	ms_json_end_array(j);
	ms_json_kv_int(j, "failed_pairs", (int64_t)r->failed_pairs);
	ms_json_key(j, "pruned");   /* quarantined runs pruned (dry run: that would be) */
	ms_json_begin_array(j);
	for (size_t i = 0; i < r->pruned.n; i++)
		ms_json_string(j, r->pruned.v[i]);
	ms_json_end_array(j);
}

struct held;
static void json_diff_lists(ms_json *j, const ms_channel_report *r, int k, const struct held *h);

static int write_json(const ch_run_opts *o, const ms_chan_channel *ch, const ms_chan_store *diff_store, int k,
                      const ms_channel_report *r, const struct held *h, bool dry, int rc)
{
	if (!o->json && !o->json_path)
		return rc;
	bool to_stdout = !o->json_path || strcmp(o->json_path, "-") == 0;
	FILE *f = to_stdout ? stdout : fopen(o->json_path, "w");
	if (!f) {
		fprintf(stderr, "mstore channel: cannot write %s: %s\n", o->json_path, strerror(errno));
		return CH_FAIL;
	}
	ms_json j;
	ms_json_init(&j, f);
	ms_json_begin_object(&j);
	ms_json_kv_string(&j, "channel", ch->name);
	ms_json_key(&j, "stores");
	ms_json_begin_array(&j);
	ms_json_string(&j, ch->store[0]->name);
	ms_json_string(&j, ch->store[1]->name);
	ms_json_end_array(&j);
	ms_json_kv_string(&j, "mode", diff_store ? "diff" : "sync");
	if (diff_store)
		ms_json_kv_string(&j, "diff_store", diff_store->name);
	ms_json_kv_bool(&j, "dry_run", dry);
	json_report(&j, r);
	if (diff_store)
		json_diff_lists(&j, r, k, h);
	ms_json_kv_int(&j, "exit_code", rc);
	ms_json_end_object(&j);
	ms_json_finish(&j);
	if (!to_stdout && fclose(f) != 0) {
		fprintf(stderr, "mstore channel: cannot write %s: %s\n", o->json_path, strerror(errno));
		return CH_FAIL;
	}
	return rc;
}

/* The quarantine's retention, first: it happened before the sync. */
static void print_pruned(const ms_channel_report *r, long days, bool dry)
{
	for (size_t i = 0; i < r->pruned.n; i++) {
		fprintf(txt, dry ? "would prune quarantined run " : "pruned quarantined run ");
		put_name(r->pruned.v[i]);
		fprintf(txt, " (older than %ld days)\n", days);
	}
	if (r->prune_error) {
		fprintf(stderr, "mstore channel: the quarantine was not pruned: ");
		ms_escape_put(stderr, r->prune_error);
		fputc('\n', stderr);
	}
}

/* ---- -D, the diff, dry-run logs -------------------------------------------------------- */

/* Messages in box `name` of side s; -1 when it does not exist. */
static long box_count(ms_side *s, const char *name)
{
	ms_box *b = NULL;
	ms_err e = { 0 };
	if (s->drv->open_box(s, name, &b, &e) != MS_DRV_OK)
		return -1;
	long n = b->status.count;
	b->side->drv->close_box(b);
	return n;
}

/* Pair i's folders removed from both sides when both are empty (never
 * INBOX; a side without delete_box keeps its folder); `why` ends the
 * line that reports each removal.  0, or CH_PARTIAL after a message. */
static int remove_if_empty(ms_side *sides[2], const pairs *p, size_t i, const ms_chan_store *st[2], const char *why)
{
	int rc = CH_OK;
	if (strcasecmp(p->pairname[i], "INBOX") == 0 || box_count(sides[0], p->v[i].box[0]) != 0 ||
	    box_count(sides[1], p->v[i].box[1]) != 0)
		return rc;
	for (int s = 0; s < 2; s++) {
		ms_err e = { 0 };
		if (!(sides[s]->caps & MS_CAP_DELETE_BOX))
			continue;
		if (sides[s]->drv->delete_box(sides[s], p->v[i].box[s], &e) != MS_DRV_OK) {
			fprintf(stderr, "mstore channel: store %s: %s\n", st[s]->name, e.msg);
			rc = CH_PARTIAL;
		} else {
			fprintf(txt, "folder ");
			put_name(p->v[i].box[s]);
			fprintf(txt, " removed from %s (%s)\n", st[s]->name, why);
		}
	}
	return rc;
}

/* mailsync's -D: folders that ended empty on both sides are removed. */
static int delete_empty(ms_side *sides[2], const pairs *p, const ms_chan_store *st[2])
{
	int rc = CH_OK;
	for (size_t i = 0; i < p->n; i++)
		if (remove_if_empty(sides, p, i, st, "empty on both sides") != CH_OK)
			rc = CH_PARTIAL;
	return rc;
}

/* --force-deletions accepted a folder that vanished from one side (renamed
 * or deleted there): its messages were deleted on the other side, which
 * made the folder again where it vanished.  Both are removed when that
 * left them empty, so the old name does not come back; one that still
 * holds messages the state did not know keeps them (and its name). */
static int remove_vanished(ms_side *sides[2], const pairs *p, const ms_channel_report *r, const ms_chan_store *st[2])
{
	int rc = CH_OK;
	for (size_t i = 0; i < p->n && i < r->pairs.n; i++) {   /* the report's pairs are the pairings, in order */
		const ms_pair_report *pr = &r->pairs.v[i];
		if ((pr->vanished[0] || pr->vanished[1]) && !pr->error &&
		    remove_if_empty(sides, p, i, st, "it vanished from the other side: --force-deletions") != CH_OK)
			rc = CH_PARTIAL;
	}
	return rc;
}

static void print_dry_log(ms_side *sides[2], const ms_chan_store *st[2])
{
	for (int s = 0; s < 2; s++) {
		size_t n = 0;
		const char *const *log = ms_dryrun_log(sides[s], &n);
		for (size_t i = 0; i < n; i++) {
			fprintf(txt, "would write on %s: ", st[s]->name);
			put_name(log[i]);
			fputc('\n', txt);
		}
	}
}

/* What STORE (side k) holds, per pair, for the diff's -m: listed through
 * the (read-only) side with the engine's identities. */
typedef struct held {
	ms_idmsg_vec *v;           /* per pair; NULL without -m */
	size_t n;
} held;

static void held_free(held *h)
{
	for (size_t i = 0; h->v && i < h->n; i++)
		ms_idmsg_vec_free(&h->v[i]);
	free(h->v);
	*h = (held){ 0 };
}

static int held_list(const ms_channel_report *r, ms_side *s, const ms_chan_store *st, int k, ms_ident_mode mode,
                     held *h)
{
	h->n = r->pairs.n;
	h->v = calloc(h->n + 1, sizeof *h->v);
	if (!h->v)
		return fprintf(stderr, "mstore channel: out of memory\n"), -1;
	for (size_t i = 0; i < h->n; i++) {
		ms_err e = { 0 };
		ms_drv_result res = ms_diff_list_box(s, r->pairs.v[i].box[k], mode, false, false, &h->v[i], &e);
		if (res == MS_DRV_BOX_BAD)
			continue;   /* not there (yet): it holds nothing; the counts line says the rest */
		if (res != MS_DRV_OK) {
			fprintf(stderr, "mstore channel: store %s: %s\n", st->name, e.msg);
			return -1;
		}
	}
	return 0;
}

/* "  WHAT STORE: IDENT (uid U on WHERE)" */
static void put_note(const char *what, const ms_chan_store *st, const char *ident, uint32_t uid,
                     const ms_chan_store *where)
{
	fprintf(txt, "  %s", what);
	put_name(st->name);
	fprintf(txt, ": ");
	put_name(ident ? ident : "-");
	fprintf(txt, " (uid %u on ", uid);
	put_name(where->name);
	fprintf(txt, ")\n");
}

/* mailsync's diff mode: per folder pair, what is new on STORE, what was
 * deleted from it since the last sync (deleted, or kept pending by -n, on
 * the other side), and what it holds: the counts, then each message with
 * its identity (the holdings with -m). */
static void print_diff(const ms_channel_report *r, ms_side *sides[2], const ms_chan_store *st[2], int k,
                       const char *chname, const held *h)
{
	int o = 1 - k;
	size_t nnew = 0, ndel = 0;
	for (size_t i = 0; i < r->pairs.n; i++) {
		const ms_pair_report *p = &r->pairs.v[i];
		long have = h->v ? (long)h->v[i].n : box_count(sides[k], p->box[k]);
		fprintf(txt, "folder ");
		put_name(p->box[k]);
		fprintf(txt, ": %zu new on %s, %zu deleted on %s since the last sync, %ld currently at %s", p->copied[o],
		       st[k]->name, p->deleted[o] + p->pending[o], st[k]->name, have < 0 ? 0 : have, st[k]->name);
		if (p->copied[k] || p->deleted[k])
			fprintf(txt, " (and %zu new, %zu deleted on %s)", p->copied[k], p->deleted[k], st[o]->name);
		fputc('\n', txt);
		for (size_t n = 0; n < p->notes.n; n++) {
			const ms_msg_note *m = &p->notes.v[n];
			if (m->kind == MS_NOTE_COPIED && m->side == o)
				put_note("new on ", st[k], m->ident, m->uid, st[k]);
			else if (m->kind != MS_NOTE_COPIED && m->side == o)
				put_note("deleted since the last sync from ", st[k], m->ident, m->uid, st[o]);
		}
		for (size_t n = 0; h->v && n < h->v[i].n; n++)
			put_note("at ", st[k], h->v[i].v[n].ident, h->v[i].v[n].m.uid, st[k]);
		nnew += p->copied[o];
		ndel += p->deleted[o] + p->pending[o];
	}
	fprintf(txt, "store %s: %zu new, %zu deleted since the last sync of channel %s\n", st[k]->name, nnew, ndel,
	        chname);
}

static void json_msg(ms_json *j, const char *ident, uint32_t uid)
{
	ms_json_begin_object(j);
	ms_json_kv_string(j, "ident", ident);
	ms_json_kv_int(j, "uid", uid);
	ms_json_end_object(j);
}

/* The diff's lists per folder pair, in the order of "pairs": "new" on
 * STORE, "deleted" from it since the last sync, and with -m "held". */
static void json_diff_lists(ms_json *j, const ms_channel_report *r, int k, const held *h)
{
	ms_json_key(j, "diff");
	ms_json_begin_array(j);
	for (size_t i = 0; i < r->pairs.n; i++) {
		const ms_pair_report *p = &r->pairs.v[i];
		ms_json_begin_object(j);
		ms_json_kv_string(j, "box", p->box[k]);
		static const char *const keys[] = { "new", "deleted" };
		for (int w = 0; w < 2; w++) {
			ms_json_key(j, keys[w]);
			ms_json_begin_array(j);
			for (size_t n = 0; n < p->notes.n; n++) {
				const ms_msg_note *m = &p->notes.v[n];
				if (m->side == 1 - k && (m->kind == MS_NOTE_COPIED) == (w == 0))
					json_msg(j, m->ident, m->uid);
			}
			ms_json_end_array(j);
		}
		if (h->v) {
			ms_json_key(j, "held");
			ms_json_begin_array(j);
			for (size_t n = 0; n < h->v[i].n; n++)
				json_msg(j, h->v[i].v[n].ident, h->v[i].v[n].m.uid);
			ms_json_end_array(j);
		}
		ms_json_end_object(j);
	}
	ms_json_end_array(j);
}

/* ---- the progress bar --------------------------------------------------------------------- */

/* On a terminal only (stderr a tty, no --json, no -q): one line on stderr,
 * rewritten in place at most every BAR_INTERVAL_NS and when a pair ends,
 * and cleared before the summary, so nothing of it is left in the output. */
#define BAR_INTERVAL_NS 100000000LL
#define BAR_WIDTH 24

typedef struct bar {
	long long last_ns;     /* when the line was last drawn; 0: never */
	size_t last_pair, last_done;
	bool drawn;
} bar;

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void bar_cb(void *ctx, size_t pair, size_t npairs, const char *box0, const char *box1, size_t done,
                   size_t total)
{
	bar *b = ctx;
	long long now = mono_ns();
	bool new_pair = !b->drawn || pair != b->last_pair;
	if (!new_pair && (done == b->last_done || (done < total && now - b->last_ns < BAR_INTERVAL_NS)))
		return;   /* nothing new, or too soon (the pair's end is always drawn) */
	size_t fill = total ? done * BAR_WIDTH / total : BAR_WIDTH;
	char cells[BAR_WIDTH + 1];
	for (size_t i = 0; i < BAR_WIDTH; i++)
		cells[i] = i < fill ? '#' : '-';
	cells[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r\033[K[%s] %zu/%zu messages, folder %zu/%zu ", cells, done, total, pair + 1, npairs);
	ms_escape_put(stderr, box0);
	fprintf(stderr, " <-> ");
	ms_escape_put(stderr, box1);
	fflush(stderr);
	b->last_ns = now;
	b->last_pair = pair;
	b->last_done = done;
	b->drawn = true;
}

static void bar_clear(const bar *b)
{
	if (b->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

static bool bar_wanted(const ch_run_opts *o)
{
	return !o->quiet && !o->json && !o->json_path && isatty(STDERR_FILENO);
}

/* ---- the command ----------------------------------------------------------------------- */

static int undo(const ch_run_opts *o, const ms_chan_channel *ch, const ms_chan_store *st[2], const paths *p)
{
	ms_side *sides[2] = { NULL, NULL };
	if (ch_open_side("channel", st[0], false, false, o->lock_wait, &sides[0]) < 0 ||
	    ch_open_side("channel", st[1], false, false, o->lock_wait, &sides[1]) < 0) {
		close_sides(sides);
		return CH_FAIL;
	}
	size_t restored = 0, failed = 0;
	ms_err e = { 0 };
	int rc = ms_engine_undo(sides, p->quarantine, o->undo, &restored, &failed, &e);
	close_sides(sides);
	if (rc < 0) {
		time_t when = 0;
		ms_err pe = { 0 };
		if (e.code == MS_E_NOTFOUND && ms_quarantine_pruned_at(p->quarantine, o->undo, &when, &pe) == 1) {
			char at[40];
			ms_clock_format(when, at);
			fprintf(stderr, "mstore channel: undo of run %s of channel %s: the run was pruned from the quarantine "
			        "on %s (older than its retention, quarantinedays): its messages are gone\n", o->undo, ch->name, at);
		} else {
			fprintf(stderr, "mstore channel: undo of run %s of channel %s: %s\n", o->undo, ch->name, e.msg);
		}
		return CH_FAIL;
	}
	fprintf(txt, "channel %s: run %s undone: %zu messages restored, %zu failed\n", ch->name, o->undo, restored, failed);
	return failed ? CH_PARTIAL : CH_OK;
}

static long quarantine_days(const ch_run_opts *o, const ms_chan_channel *ch)
{
	return o->quarantine_days >= 0 ? o->quarantine_days
	       : ch->quarantinedays >= 0 ? ch->quarantinedays : MS_QUARANTINE_DAYS_DEFAULT;
}

static void engine_opts(const ch_run_opts *o, const ms_chan_channel *ch, const paths *p, bool dry,
                        ms_engine_opts *eo)
{
	memset(eo, 0, sizeof *eo);
	eo->ident = o->ident;
	eo->no_delete = o->no_delete || o->simulate;
	eo->copy_deleted = o->copy_deleted;
	eo->force = o->force;
	eo->dry_run = dry;
	eo->size_limit = ch->has_sizelimit ? ch->sizelimit : 0;
	int md = o->max_delete >= 0 ? o->max_delete : ch->maxdelete;
	/* the engine's 0 is "the default"; a configured 0% is the strictest share it has */
	eo->max_delete = md < 0 ? 0 : md == 0 ? 1 : (unsigned)md;
	/* a dry run lists what it would prune (the engine writes nothing then) */
	eo->quarantine = p->quarantine;
	eo->quarantine_days = (unsigned)quarantine_days(o, ch);
}

int ch_run(const ch_run_opts *o, const ms_chan_channel *ch, const ms_chan_store *diff_store)
{
	const ms_chan_store *st[2] = { ch->store[0], ch->store[1] };
	int k = -1;
	txt = (o->json && !o->json_path) || (o->json_path && strcmp(o->json_path, "-") == 0) ? stderr : stdout;
	if (diff_store) {
		k = diff_store == st[0] ? 0 : diff_store == st[1] ? 1 : -1;
		if (k < 0) {
			fprintf(stderr, "mstore channel: store %s is not a store of channel %s\n", diff_store->name, ch->name);
			return CH_FAIL;
		}
	}
	bool dry = o->dry_run || o->simulate || diff_store;
	paths p;
	if (channel_paths(o, ch, !dry, &p) < 0)
		return CH_FAIL;
	if (o->undo && dry) {
		fprintf(stderr, "mstore channel: --undo writes: it cannot be simulated or combined with a diff\n");
		return CH_FAIL;
	}
	if (o->undo)
		return undo(o, ch, st, &p);
	if (o->simulate)
		fprintf(txt, "Only simulating: nothing is written\n");
	ms_side *sides[2] = { NULL, NULL };
	if (ch_open_side("channel", st[0], dry, dry, o->lock_wait, &sides[0]) < 0 ||
	    ch_open_side("channel", st[1], dry, dry, o->lock_wait, &sides[1]) < 0) {
		close_sides(sides);
		return CH_FAIL;
	}
	pairs pr;
	ms_state *state = NULL;
	ms_err e = { 0 };
	if (ch_make_pairs("channel", sides, st, !diff_store, &pr) < 0) {
		close_sides(sides);
		return CH_FAIL;
	}
	int rc = CH_FAIL;
	/* a fixed mmap threshold: glibc raises it after each large message
	   buffer is freed, and later ones then come from the heap under the
	   state's arenas, which keep it from shrinking (peak memory, issue 14) */
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
	if (ms_state_load(p.state, ch->name, &state, &e) < 0) {
		fprintf(stderr, "mstore channel: %s\n", e.msg);
		goto out;
	}
	if (!state->existed && ch->msinfo && seed_msinfo(ch, &pr, state, o->verbose) < 0)
		goto out;
	ms_engine_opts eo;
	engine_opts(o, ch, &p, dry, &eo);
	if (diff_store) {
		eo.force = true; /* the diff shows what is there, braked or not */
		eo.notes = true; /* and names the messages */
		eo.quarantine = NULL;
	}
	ms_channel_report r = { 0 };
	bar pb = { 0 };
	if (bar_wanted(o)) {
		eo.progress = bar_cb;
		eo.progress_ctx = &pb;
	}
	int er = ms_engine_run(sides, pr.v, pr.n, state, &eo, &r, &e);
	bar_clear(&pb);
	if (er < 0) {
		fprintf(stderr, "mstore channel: channel %s: %s\n", ch->name, e.msg);
		ms_channel_report_free(&r);
		goto out;
	}
	rc = er == 0 && pr.left_out == 0 ? CH_OK : CH_PARTIAL;
	held h = { 0 };
	if (diff_store && o->messages && held_list(&r, sides[k], st[k], k, o->ident, &h) < 0)
		rc = CH_FAIL;
	{
		print_pruned(&r, quarantine_days(o, ch), dry);
		if (diff_store)
			print_diff(&r, sides, st, k, ch->name, &h);
		else
			print_report(&r, ch, st, o->verbose);
		if (dry && !diff_store)
			print_dry_log(sides, st);
		if (!dry && r.deleted[0] + r.deleted[1])
			fprintf(txt, "deleted messages are kept in %s/%s (mstore channel --undo %s %s)\n", p.quarantine, r.run_id,
			       r.run_id, ch->name);
	}
	if (!dry && o->force && !r.braked && rc != CH_FAIL && remove_vanished(sides, &pr, &r, st) != CH_OK)
		rc = CH_PARTIAL;
	if (!dry && o->delete_empty && !r.braked && rc == CH_OK)
		rc = delete_empty(sides, &pr, st);
	rc = write_json(o, ch, diff_store, k, &r, &h, dry, rc);
	held_free(&h);
	ms_channel_report_free(&r);
out:
	ms_state_free(state);
	ch_pairs_free(&pr);
	close_sides(sides);
	return rc;
}
