/* tz.h - the time zone mstore writes local times in.
 *
 * hMailServer stores every time (messagecreatetime, foldercreationtime,
 * accountlastlogontime, ...) as the local wall-clock time of the machine
 * it runs on, with no zone.  mstore may run elsewhere (a Linux host with
 * the data directory mounted, in UTC), so the mail server's zone is a
 * setting: `server_tz` in mstore.conf, `--server-tz ZONE` on the command
 * line, else the zone of the machine running mstore ($TZ, /etc/localtime).
 *
 * A zone is an IANA name (Europe/Berlin, America/New_York, UTC), a file of
 * the zone database ($TZDIR, else /usr/share/zoneinfo).  glibc takes any
 * other TZ value silently as UTC, so names are checked here first: a typo
 * must not shift every date by the server's offset.
 *
 * Applying a zone sets TZ for the whole process (localtime_r and strftime
 * then give the server's local time everywhere), so it is done once, at
 * start-up, before any thread exists.
 */
#ifndef MS_TZ_H
#define MS_TZ_H

#include <stdbool.h>

#include "util/err.h"

/* Is `zone` the name of a zone of the zone database?  (A relative name of
 * letters, digits and "_+-/" with no "." component, whose file starts with
 * the "TZif" magic.) */
bool ms_tz_known(const char *zone);

/* Make `zone` the process's local time zone.  MS_E_USAGE naming the zone
 * when it is not known (nothing changes then). */
int ms_tz_apply(const char *zone, ms_err *e);

#endif
