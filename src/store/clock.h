/* clock.h - hMailServer's rules about time, each in one place.
 *
 * Times in the store are the mail server's local wall-clock time without a
 * zone; the process's local zone is the server's (util/tz.h, --server-tz).
 *
 * The internal date of an imported message.  hMailServer's importer
 * (Util/MailImporter.cpp, GetInternalDate_DatePlusTimeZone) adds to the
 * date's UTC time the offset its host has AT IMPORT TIME
 * (Time::GetUTCRelationMinutes: the bias of the period, standard or
 * daylight, in force now), not the offset in force at the message's date.
 * Its IMAP server writes INTERNALDATE as that text plus the current offset
 * again (Time::GetIMAPInternalDate), so the pair is consistent: a summer
 * message imported in winter reads back as its true instant, until the
 * clocks change.  mstore writes what hMailServer writes.
 *
 * The settle rule.  hMailServer writes a message file and inserts its row
 * right after, so a file younger than --settle seconds may be one whose row
 * is coming: sync defers it and reconstruct does not call it unreferenced.
 * A file's age is told by its modification time, unless that is in the
 * future: a clock problem (a writer with a wrong clock, a copy that kept a
 * bogus time), and such an mtime says nothing about when the file was
 * written.  Then the change time (ctime) tells: no program can set it, the
 * file system stamps it on every write.
 */
#ifndef MS_STORE_CLOCK_H
#define MS_STORE_CLOCK_H

#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

/* `when` (seconds since the epoch) as hMailServer's importer stores it
 * when it runs at `now`: "YYYY-MM-DD HH:MM:SS", the UTC time plus the
 * local zone's offset at `now`. */
void ms_clock_internal_date(time_t when, time_t now, char buf[32]);

/* The instant hMailServer's IMAP server answers for the stored internal
 * date `text` at `now`: Time::GetIMAPInternalDate prints the text with the
 * offset in force now, so the instant is the text read as UTC minus that
 * offset (the inverse of ms_clock_internal_date at the same `now`).  0
 * when `text` is not "YYYY-MM-DD HH:MM:SS" or is before the epoch. */
time_t ms_clock_internal_date_read(const char *text, time_t now);

/* The moment the settle rule measures a file's age from: its mtime, or,
 * when the mtime is after `now` (*future set), its ctime. */
time_t ms_clock_settle_time(const struct stat *st, time_t now, bool *future);

/* "YYYY-MM-DD HH:MM:SS +ZZZZ" in the local (server) zone, for messages
 * that tell the user a moment. */
void ms_clock_format(time_t t, char buf[40]);

#endif
