/* tz.c - checking and applying the mail server's time zone (tz.h). */
#include "util/tz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Only a plain relative name: no absolute path, no "." or ".." step that
 * could name a file outside the zone database. */
static bool name_ok(const char *zone)
{
	size_t n = strlen(zone);
	if (n == 0 || n > 200 || zone[0] == '/' || zone[n - 1] == '/')
		return false;
	for (const char *p = zone; *p; p++) {
		char c = *p;
		bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		             c == '+' || c == '-' || c == '/';
		if (!plain && !(c == '.' && p > zone && p[-1] != '/' && p[-1] != '.'))
			return false;
		if (c == '/' && p[1] == '/')
			return false;
	}
	return true;
}

bool ms_tz_known(const char *zone)
{
	if (!zone || !name_ok(zone))
		return false;
	const char *dir = getenv("TZDIR");
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone) >= (int)sizeof path)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char magic[4];
	bool ok = read(fd, magic, sizeof magic) == (ssize_t)sizeof magic && memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

int ms_tz_apply(const char *zone, ms_err *e)
{
	if (!ms_tz_known(zone))
		return ms_err_set(e, MS_E_USAGE, "'%s' is not a time zone of the zone database (an IANA name such as "
		                  "Europe/Berlin or UTC, a file under %s)", zone ? zone : "",
		                  getenv("TZDIR") && *getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo");
	if (setenv("TZ", zone, 1) < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory setting the time zone %s", zone);
	tzset(); /* localtime_r does not re-read TZ by itself */
	return 0;
}
