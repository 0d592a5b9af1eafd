/* driver.c - what every side driver shares: the registry, configuration
 * look-up and the free functions of the lists drivers return (see driver.h). */
#include "drivers/driver.h"

#include <stdlib.h>
#include <string.h>

static const ms_side_driver *const drivers[] = { &ms_drv_hmailserver, &ms_drv_maildir, &ms_drv_mbox, &ms_drv_imap };

const ms_side_driver *ms_side_driver_find(const char *kind)
{
	for (size_t i = 0; kind && i < sizeof drivers / sizeof drivers[0]; i++)
		if (strcmp(drivers[i]->kind, kind) == 0)
			return drivers[i];
	return NULL;
}

const char *ms_side_conf_get(const ms_side_conf *c, const char *key)
{
	const char *v = NULL;
	/* the last one wins, as in the configuration file */
	for (size_t i = 0; i < c->nopts; i++)
		if (strcmp(c->opts[i].key, key) == 0)
			v = c->opts[i].value;
	return v;
}

void ms_box_list_free(ms_box_info *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

void ms_msg_list_free(ms_msg *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].msgid);
		free(v[i].key);
		free(v[i].keywords);
	}
	free(v);
}
