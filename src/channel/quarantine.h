/* quarantine.h - how long the channel quarantine keeps a run's messages.
 *
 * Every run that deletes messages by propagation keeps copies in
 * QUARANTINE/RUN/ (NNNNNN.eml files and a journal, engine.h), so
 * `--undo RUN` can put them back.  Retention: a run older than `days`
 * days is pruned at the start of a later sync (never the current run).
 * A run's age is the modification time of its journal (journal, or
 * journal.undone after an undo; else of the RUN directory): the last
 * time the run wrote to it.  Tests set that mtime to fake the clock.
 *
 * A pruned run is written, before its files are removed, as a line
 * "RUN<TAB>SECONDS" (the run escaped as g_strescape does, the prune time
 * in seconds since the epoch) to QUARANTINE/pruned, so `--undo RUN` can
 * say that the run was pruned, and when, instead of "no journal".
 */
#ifndef MS_CHANNEL_QUARANTINE_H
#define MS_CHANNEL_QUARANTINE_H

#include <stdbool.h>
#include <time.h>

#include "util/err.h"
#include "util/vec.h"

#define MS_QUARANTINE_DAYS_DEFAULT 30

/* The runs of `qdir` older than `days` days at `now`, other than
 * `keep_run`, are pruned (dry: only listed) and their names added to
 * `pruned` (owned strings, oldest first).  A missing qdir is no run; a run
 * that cannot be removed stops the pruning with an error naming it.
 * days == 0 keeps every run.  0, or -1 with `e`. */
int ms_quarantine_prune(const char *qdir, unsigned days, time_t now, const char *keep_run, bool dry,
                        ms_strlist *pruned, ms_err *e);

/* Was `run` pruned from `qdir`?  1 with *when (the prune time), 0 not
 * recorded, -1 with `e` when the record cannot be read. */
int ms_quarantine_pruned_at(const char *qdir, const char *run, time_t *when, ms_err *e);

#endif
