/* reconstruct.c - orchestration of `mstore reconstruct` (see reconstruct.h).
 *
 *   1. the database model: accounts, domains, folders (a few queries);
 *   2. the highest message id, then the walk of the data directory (every
 *      message file with its size, in parallel);
 *   3. one paged pass over hm_messages: each row against its file and
 *      folder; then the folders' current UIDs again (at least every UID
 *      the pass saw);
 *   4. rows created during the run (from a little below the id of step 2,
 *      for transactions still in flight then) mark their files referenced;
 *   5. the checks over folders, UIDs, the queue, orphaned rows, files;
 *   6. every finding verified once more against the current state;
 *   7. with -r, the repairs; then the report.
 */
#include "reconstruct/rc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/messages.h"
#include "util/testhook.h"

/* How far below the highest id seen before the walk the refresh starts:
 * a row whose transaction began before the walk may commit after the
 * pass went by its id. */
#define IN_FLIGHT_SLACK 10000

static void progress(rc_run *run, const char *phase)
{
	if (!run->o->progress)
		return;
	fprintf(stderr, "\rreconstruct: %-28s %llu files, %llu rows\033[K", phase,
	        (unsigned long long)atomic_load(&run->walked), (unsigned long long)run->r->rows);
}

static void *progress_thread(void *arg)
{
	rc_run *run = arg;
	while (!atomic_load(&run->walked_done)) {
		progress(run, "walking the data directory");
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int walk(rc_run *run, ms_err *e)
{
	pthread_t tid;
	bool started = run->o->progress && pthread_create(&tid, NULL, progress_thread, run) == 0;
	int rc = rc_walk(run, e);
	atomic_store(&run->walked_done, true);
	if (started)
		pthread_join(tid, NULL);
	return rc;
}

static int check(rc_run *run, ms_err *e)
{
	int64_t top = 0;
	if (rc_load_model(run, e) < 0 || rc_load_folders(run, e) < 0 ||
	    ms_messages_max_id(run->s->db, &top, e) < 0)
		return -1;
	if (walk(run, e) < 0)
		return -1;
	progress(run, "reading the message table");
	if (rc_row_pass(run, e) < 0 || rc_reload_current_uids(run, e) < 0)
		return -1;
	run->watermark = top > IN_FLIGHT_SLACK ? top - IN_FLIGHT_SLACK : 0;
	ms_test_hook("refresh");
	if (rc_refresh_rows(run, e) < 0)
		return -1;
	progress(run, "checking");
	rc_check_uids(run);
	rc_check_folders(run);
	if (run->store_wide && rc_check_store_wide(run, e) < 0)
		return -1;
	rc_check_files(run);
	if (run->o->orphans)
		rc_check_orphan_owners(run);
	if (run->o->whole_db && rc_check_schema(run, e) < 0)
		return -1;
	progress(run, "verifying findings");
	ms_test_hook("reverify");
	return rc_reverify(run, e);
}

static void release(rc_run *run)
{
	rc_findings_free(run);
	rc_files_free(run);
	rc_model_free(run);
	free(run->uids);
	if (run->removed)
		fclose(run->removed);
	if (run->root_fd >= 0)
		close(run->root_fd);
	pthread_mutex_destroy(&run->mu);
}

int ms_reconstruct(ms_store *s, const ms_rc_opts *o, ms_rc_report *r, ms_err *e)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(r, 0, sizeof *r);
	if (!s->data_dir)
		return ms_err_set(e, MS_E_USAGE, "no data directory given: use --data DIR, --ini FILE or a config file");
	bool narrowed = o->nmailboxes || ms_scope_narrowed(&o->scope) || (o->scope.shard_n && o->scope.shard_k != 1);
	rc_run run = { .s = s, .o = o, .r = r, .now = o->now ? o->now : time(NULL), .root_fd = -1,
	               .store_wide = o->whole_db || !narrowed };
	pthread_mutex_init(&run.mu, NULL);
	int rc = -1;
	run.root_fd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (run.root_fd < 0) {
		ms_err_set(e, MS_E_IO, "cannot open data directory %s: %s", s->data_dir, strerror(errno));
		goto out;
	}
	if (check(&run, e) < 0)
		goto out;
	if (o->progress)
		fprintf(stderr, "\r\033[K");
	if (o->repair) {
		ms_test_hook("repair");
		rc_repair(&run);
	}
	if (o->orphans && o->orphan_script && rc_write_orphan_script(&run, e) < 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	rc = rc_report(&run, e);
out:
	release(&run);
	return rc;
}
