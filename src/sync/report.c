/* report.c - what sync tells: counts, -v lines, the --json report and the
 * progress bar.  Called from the walker threads too, hence the lock. */
#include "sync/sync_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/escape.h"

static const char *const labels[SYNC_N_CATEGORIES] = {
	[SYNC_SKIPPED] = "Skipped",
	[SYNC_IMPORTED_ACCOUNT] = "Imported",
	[SYNC_IMPORTED_QUEUE] = "Queued",
	[SYNC_PATH_UPDATED] = "Path updated",
	[SYNC_MOVED] = "Moved",
	[SYNC_ORPHANED] = "Orphaned",
	[SYNC_DEFERRED] = "Deferred",
	[SYNC_NOT_IMPORTED] = "Not imported",
	[SYNC_IGNORED] = "Ignored",
	[SYNC_FAILED] = "Failed",
};

/* File names may hold any byte: escaped on the log (util/escape.h). */
#define put_path ms_escape_put

static void log_line(const char *relpath, sync_category cat, const char *reason, const char *detail,
                     FILE *f)
{
	fprintf(f, "%-12s ", labels[cat]);
	put_path(f, relpath);
	if (detail && *detail) {
		fputs(" -> ", f);
		put_path(f, detail);
	}
	if (reason && *reason) { /* reasons quote names too ("no account 'x@y'") */
		fputs(": ", f);
		put_path(f, reason);
	}
	fputc('\n', f);
}

static void json_record(sync_run *run, const char *relpath, sync_category cat, const char *reason,
                        const char *detail, const item *it)
{
	ms_json *j = &run->json;
	ms_json_begin_object(j);
	ms_json_kv_string(j, "path", relpath);
	ms_json_kv_string(j, "category", ms_sync_category_name(cat));
	if (reason && *reason)
		ms_json_kv_string(j, "reason", reason);
	if (detail && *detail)
		ms_json_kv_string(j, "new_path", detail);
	if (it && it->acct)
		ms_json_kv_string(j, "account", it->acct->address);
	if (it && it->uid)
		ms_json_kv_int(j, "uid", it->uid);
	if (it && it->rcpt.n) {
		ms_json_key(j, "recipients");
		ms_json_begin_array(j);
		for (size_t i = 0; i < it->rcpt.n; i++)
			ms_json_string(j, it->rcpt.v[i].address);
		ms_json_end_array(j);
	}
	if (it && it->unparsable)
		ms_json_kv_bool(j, "unparsable_headers", true);
	if (it && it->header_note[0])
		ms_json_kv_string(j, "header_problems", it->header_note);
	if (it && it->clock_note[0])
		ms_json_kv_string(j, "clock_problem", it->clock_note);
	if (it && it->duplicate_of[0])
		ms_json_kv_string(j, "duplicate_of", it->duplicate_of);
	if (it && it->hint)
		ms_json_kv_bool(j, "from_hints", true);
	ms_json_end_object(j);
}

static void record(sync_run *run, const char *relpath, sync_category cat, const char *reason, const char *detail,
                   const item *it)
{
	pthread_mutex_lock(&run->report_mu);
	/* skipped files found by the walk are counted by an atomic counter */
	if (cat != SYNC_SKIPPED || it)
		run->r->count[cat]++;
	if (it && it->unparsable && cat != SYNC_FAILED && cat != SYNC_SKIPPED)
		run->r->unparsable++;
	if (it && (cat == SYNC_IMPORTED_ACCOUNT || cat == SYNC_IMPORTED_QUEUE || cat == SYNC_MOVED))
		run->r->bytes_imported += (uint64_t)it->size;
	if (it && it->duplicate_of[0])
		run->r->duplicates++;
	if (it && it->hint && (cat == SYNC_IMPORTED_ACCOUNT || cat == SYNC_MOVED))
		run->r->hinted++;
	if (cat == SYNC_FAILED) /* failures are always told, on stderr, with or without -v */
		log_line(relpath, cat, reason, detail, stderr);
	else if (run->o->verbose >= (cat == SYNC_SKIPPED ? 2 : 1))
		log_line(relpath, cat, reason, detail, run->o->log ? run->o->log : stdout);
	if (run->json_file && cat != SYNC_SKIPPED)
		json_record(run, relpath, cat, reason, detail, it);
	pthread_mutex_unlock(&run->report_mu);
}

void sync_report_entry(sync_run *run, const char *relpath, sync_category cat, const char *reason, const char *detail)
{
	record(run, relpath, cat, reason, detail, NULL);
}

void sync_report_item(sync_run *run, const item *it)
{
	char reason[1200];
	snprintf(reason, sizeof reason, "%s", it->reason);
	if (it->uid)
		snprintf(reason + strlen(reason), sizeof reason - strlen(reason), ", UID %lld", (long long)it->uid);
	if (it->header_note[0] && it->cat != SYNC_FAILED)
		snprintf(reason + strlen(reason), sizeof reason - strlen(reason), " (%s: %s)",
		         it->unparsable ? "unparsable headers" : "headers", it->header_note);
	if (it->clock_note[0] && it->cat != SYNC_DEFERRED)
		snprintf(reason + strlen(reason), sizeof reason - strlen(reason), " (%s)", it->clock_note);
	if (it->duplicate_of[0] && it->cat != SYNC_NOT_IMPORTED)
		snprintf(reason + strlen(reason), sizeof reason - strlen(reason), " (duplicate of %s)", it->duplicate_of);
	if (run->o->dry_run && it->cat != SYNC_FAILED && it->cat != SYNC_SKIPPED)
		snprintf(reason + strlen(reason), sizeof reason - strlen(reason), " [dry run: nothing written]");
	record(run, it->c->relpath, it->cat, reason, it->new_rel[0] ? it->new_rel : NULL, it);
}

int sync_report_open(sync_run *run, ms_err *e)
{
	if (!run->o->json_path)
		return 0;
	run->json_file = strcmp(run->o->json_path, "-") == 0 ? stdout : fopen(run->o->json_path, "w");
	if (!run->json_file)
		return ms_err_set(e, MS_E_IO, "cannot write the JSON report %s: %s", run->o->json_path, strerror(errno));
	ms_json_init(&run->json, run->json_file);
	ms_json_begin_object(&run->json);
	ms_json_kv_string(&run->json, "data_dir", run->s->data_dir);
	ms_json_kv_string(&run->json, "database", db_name(run->s->db));
	ms_json_kv_bool(&run->json, "dry_run", run->o->dry_run);
	ms_json_key(&run->json, "files");
	ms_json_begin_array(&run->json);
	return 0;
}

void sync_report_close(sync_run *run)
{
	if (!run->json_file)
		return;
	ms_json *j = &run->json;
	ms_json_end_array(j);
	ms_json_key(j, "summary");
	ms_json_begin_object(j);
	ms_json_kv_int(j, "files_seen", (int64_t)atomic_load(&run->seen));
	for (int c = 0; c < SYNC_N_CATEGORIES; c++) {
		/* the walk's skipped files are already added to count[] */
		ms_json_kv_int(j, ms_sync_category_name((sync_category)c), (int64_t)run->r->count[c]);
	}
	ms_json_kv_int(j, "unparsable_headers", (int64_t)run->r->unparsable);
	ms_json_kv_int(j, "duplicates", (int64_t)run->r->duplicates);
	if (run->r->connection_lost) {
		ms_json_kv_bool(j, "connection_lost", true);
		ms_json_kv_int(j, "not_attempted", (int64_t)run->r->not_attempted);
	}
	ms_json_end_object(j);
	ms_json_end_object(j);
	ms_json_finish(j);
	if (run->json_file != stdout)
		fclose(run->json_file);
	run->json_file = NULL;
}

/* ---- progress bar ------------------------------------------------------------ */

static void *progress_thread(void *arg)
{
	sync_run *run = arg;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(&run->done)) {
		struct timespec tick = { 0, 200 * 1000 * 1000 };
		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		double secs = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		uint64_t seen = atomic_load(&run->seen);
		pthread_mutex_lock(&run->report_mu);
		uint64_t imported = run->r->count[SYNC_IMPORTED_ACCOUNT] + run->r->count[SYNC_IMPORTED_QUEUE] +
		                    run->r->count[SYNC_MOVED];
		uint64_t problems = run->r->count[SYNC_FAILED] + run->r->count[SYNC_ORPHANED] +
		                    run->r->count[SYNC_NOT_IMPORTED];
		pthread_mutex_unlock(&run->report_mu);
		fprintf(stderr, "\r\033[K  %llu files  %llu skipped  %llu imported  %llu problems  %.0f files/s",
		        (unsigned long long)seen, (unsigned long long)atomic_load(&run->skipped),
		        (unsigned long long)imported, (unsigned long long)problems, secs > 0 ? (double)seen / secs : 0.0);
	}
	fprintf(stderr, "\r\033[K");
	return NULL;
}

void sync_progress_start(sync_run *run, pthread_t *tid)
{
	atomic_store(&run->done, false);
	if (!run->o->progress || !isatty(STDERR_FILENO) || pthread_create(tid, NULL, progress_thread, run) != 0)
		atomic_store(&run->done, true);
}

void sync_progress_stop(sync_run *run, pthread_t tid)
{
	if (atomic_load(&run->done))
		return;
	atomic_store(&run->done, true);
	pthread_join(tid, NULL);
}
