#include "util/err.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ms_err_set(ms_err *e, ms_errcode code, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->code = code;
	return -1;
}

int ms_err_prefix(ms_err *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	char prefix[512];
	char old[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	ms_str_printf(e->msg, sizeof e->msg, "%s: %s", prefix, old);
	return -1;
}

void ms_err_clear(ms_err *e)
{
	if (!e)
		return;
	e->code = MS_OK;
	e->msg[0] = '\0';
}
