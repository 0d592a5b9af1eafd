/* layout.c - file names and places in the data directory (see layout.h). */
#include "store/layout.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool ms_guid_name_parse(const char *name, uint8_t out[16])
{
	/* {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}.eml */
	static const int dash_at[] = { 9, 14, 19, 24 };
	if (strlen(name) != MS_GUID_NAME_LEN || name[0] != '{' || name[37] != '}' || strcasecmp(name + 38, ".eml") != 0)
		return false;
	for (size_t i = 0; i < 4; i++)
		if (name[dash_at[i]] != '-')
			return false;
	int k = 0;
	for (int i = 1; i < 37; i++) {
		if (name[i] == '-')
			continue;
		int hi = hexval((unsigned char)name[i]), lo = hexval((unsigned char)name[i + 1]);
		if (hi < 0 || lo < 0 || name[i + 1] == '-')
			return false;
		out[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return k == 16;
}

void ms_guid_name_format(const uint8_t b[16], char out[MS_GUID_NAME_LEN + 1])
{
	int n = snprintf(out, MS_GUID_NAME_LEN + 1,
	                 "{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X}.eml", b[0], b[1], b[2],
	                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	assert(n == MS_GUID_NAME_LEN);
	(void)n;
}

void ms_guid_name_new(char out[MS_GUID_NAME_LEN + 1])
{
	uint8_t b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		for (size_t i = 0; i < sizeof b; i++)
			b[i] = (uint8_t)((uint64_t)ts.tv_nsec >> (i % 8 * 8) ^ (uint64_t)getpid() >> (i % 4 * 8) ^ i * 131);
	}
	b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4, variant 1: a GUID like any other */
	b[8] = (uint8_t)((b[8] & 0x3F) | 0x80);
	ms_guid_name_format(b, out);
}

void ms_layout_xx(const char *name, char xx[3])
{
	xx[0] = name[0] && name[1] ? name[1] : '_';
	xx[1] = name[0] && name[1] && name[2] ? name[2] : '_';
	xx[2] = '\0';
}

bool ms_layout_path(ms_place place, const char *owner_dir, const char *name, char *out, size_t len)
{
	char xx[3];
	ms_layout_xx(name, xx);
	int n;
	switch (place) {
	case MS_PLACE_QUEUE:
		n = snprintf(out, len, "%s", name);
		break;
	case MS_PLACE_PUBLIC:
		n = snprintf(out, len, "%s/%s/%s", MS_PUBLIC_DIR, xx, name);
		break;
	case MS_PLACE_ACCOUNT:
	default:
		assert(owner_dir && owner_dir[0]);
		n = snprintf(out, len, "%s/%s/%s", owner_dir, xx, name);
		break;
	}
	return n >= 0 && (size_t)n < len;
}

bool ms_layout_drop_xx(const char *relpath, char *out, size_t len)
{
	const char *name = strrchr(relpath, '/');
	size_t keep = strlen(relpath);
	if (name && name - relpath >= 2 && (name - relpath == 2 || name[-3] == '/')) {
		char xx[3];
		ms_layout_xx(name + 1, xx);
		if (name[-2] == xx[0] && name[-1] == xx[1])
			keep = (size_t)(name - 2 - relpath); /* up to and with the '/' before <XX> */
	}
	int n = keep == strlen(relpath) ? snprintf(out, len, "%s", relpath)
	                                : snprintf(out, len, "%.*s%s", (int)keep, relpath, name + 1);
	return n >= 0 && (size_t)n < len;
}

bool ms_layout_is_canonical(const char *relpath, size_t owner_len)
{
	const char *rest = relpath + owner_len;
	if (owner_len == 0)
		return strchr(rest, '/') == NULL;
	if (*rest != '/')
		return false;
	rest++;
	const char *slash = strchr(rest, '/');
	if (!slash || slash - rest != 2 || strchr(slash + 1, '/'))
		return false;
	char xx[3];
	ms_layout_xx(slash + 1, xx);
	return rest[0] == xx[0] && rest[1] == xx[1];
}

const char *ms_layout_base_name(const char *filename)
{
	const char *b = filename;
	for (const char *p = filename; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	return b;
}
