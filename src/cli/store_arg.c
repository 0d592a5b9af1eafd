/* store_arg.c - STORE as `mstore diff` and `mstore check` take it (store_arg.h). */
#include "cli/store_arg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "channel/local.h"

int cli_store_config(const char *cmd, const char *file, ms_chan_config *cfg, bool *have)
{
	char path[4096];
	ms_err e = { 0 };
	*have = false;
	if (!file) {
		if (ms_chan_config_default_path(path, sizeof path, &e) < 0)
			return 0;   /* no $HOME: no configuration, names can only be paths */
		file = path;
		struct stat sb;
		if (stat(file, &sb) < 0 && errno == ENOENT)
			return 0;   /* none written yet: names can only be paths */
	}
	if (ms_chan_config_read(file, cfg, &e) < 0) {
		fprintf(stderr, "mstore %s: %s\n", cmd, e.msg);
		return -1;
	}
	*have = true;
	return 0;
}

/* A store made up for a path: the kind the path holds, its folders all. */
static int make_path_store(const char *cmd, const char *path, cli_store_arg *a)
{
	ms_local_format f;
	ms_err e = { 0 };
	if (ms_local_detect(path, &f, &e) < 0) {
		fprintf(stderr, "mstore %s: %s\n", cmd, e.msg);
		return -1;
	}
	ms_chan_store *st = &a->made;
	st->name = (char *)path;
	st->pat = MS_CHAN_DEFAULT_PAT;
	size_t n = 0;
	if (f == MS_LOCAL_MAILDIR) {
		st->kind = "maildir";
		a->opts[n++] = (ms_side_opt){ "path", path };
		a->opts[n++] = (ms_side_opt){ "layout", "maildir++" };
	} else if (f == MS_LOCAL_MBOX) {
		/* the mbox driver serves a directory: INBOX is the file, and the
		   pattern keeps its siblings out */
		const char *slash = strrchr(path, '/');
		a->dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
		if (!a->dir)
			return fprintf(stderr, "mstore %s: out of memory\n", cmd), -1;
		st->kind = "mbox";
		st->pat = "INBOX";
		a->opts[n++] = (ms_side_opt){ "path", a->dir };
		/* by its base name: the driver reads a relative inbox below
		   `path` (the whole relative path would be taken twice) */
		a->opts[n++] = (ms_side_opt){ "inbox", slash ? slash + 1 : path };
		a->single_file = true;
	} else if (f == MS_LOCAL_DIR) {
		st->kind = "mbox";
		a->opts[n++] = (ms_side_opt){ "path", path };
	} else {
		fprintf(stderr, "mstore %s: %s: %s\n", cmd, path,
		        f == MS_LOCAL_NONE ? "no store of that name in the configuration, and no such file or directory"
		                           : "not a mailbox mstore reads (a Maildir, an mbox file or a directory)");
		return -1;
	}
	st->opts = a->opts;
	st->nopts = n;
	a->st = st;
	a->is_path = true;
	return 0;
}

int cli_store_resolve(const char *cmd, const char *word, const ms_chan_config *cfg, bool have, cli_store_arg *out)
{
	memset(out, 0, sizeof *out);
	if (!strchr(word, '/') && have) {
		if ((out->st = ms_chan_config_store(cfg, word)) != NULL)
			return 0;
		struct stat sb;
		if (ms_chan_config_channel(cfg, word) && stat(word, &sb) < 0) {
			fprintf(stderr, "mstore %s: %s is a channel of %s: name one of its stores\n", cmd, word, cfg->file);
			return -1;
		}
	}
	return make_path_store(cmd, word, out);
}

void cli_store_arg_free(cli_store_arg *a)
{
	free(a->dir);
	a->dir = NULL;
}
