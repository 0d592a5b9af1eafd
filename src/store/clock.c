/* clock.c - hMailServer's rules about time (clock.h). */
#include "store/clock.h"

#include <stdio.h>
#include <string.h>

void ms_clock_internal_date(time_t when, time_t now, char buf[32])
{
	struct tm tm;
	localtime_r(&now, &tm);
	time_t shifted = when + (time_t)tm.tm_gmtoff; /* the offset in force now, as hMailServer */
	gmtime_r(&shifted, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

time_t ms_clock_internal_date_read(const char *text, time_t now)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(text, "%Y-%m-%d %H:%M:%S", &tm);
	if (!end)
		return 0;
	struct tm local;
	localtime_r(&now, &local);
	time_t t = timegm(&tm) - (time_t)local.tm_gmtoff; /* the offset in force now, as the server prints it */
	return t < 0 ? 0 : t;
}

time_t ms_clock_settle_time(const struct stat *st, time_t now, bool *future)
{
	*future = st->st_mtime > now;
	return *future ? st->st_ctime : st->st_mtime;
}

void ms_clock_format(time_t t, char buf[40])
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, 40, "%Y-%m-%d %H:%M:%S %z", &tm);
}
