/* config.c - mstore.conf files, password files, and the order in which
 * the configuration sources are consulted (see config.h). */
#include "config/config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/tz.h"

enum conf_key { KEY_DATA, KEY_DB, KEY_PASSWORD, KEY_PASSWORD_FILE, KEY_SERVER_TZ, KEY_COUNT };

static const char *const conf_key_names[KEY_COUNT] = {
	[KEY_DATA] = "data",
	[KEY_DB] = "db",
	[KEY_PASSWORD] = "password",
	[KEY_PASSWORD_FILE] = "password_file",
	[KEY_SERVER_TZ] = "server_tz",
};

/* One mstore.conf being parsed. */
typedef struct conf_parse {
	const char *path;
	int lineno;
	int seen_on[KEY_COUNT];  /* line that set each key, 0 = not yet */
	ms_config cfg;           /* what this file sets */
} conf_parse;

static int conf_error(const conf_parse *p, ms_err *e, const char *what)
{
	return ms_err_set(e, MS_E_CONFIG, "%s:%d: %s", p->path, p->lineno, what);
}

static int find_conf_key(const char *name)
{
	for (int k = 0; k < KEY_COUNT; k++)
		if (strcmp(name, conf_key_names[k]) == 0)
			return k;
	return -1;
}

/* A path written in a config file: "~" is $HOME, and a relative path is
 * taken from the file's own directory, so the file means the same thing
 * whatever directory mstore is started from. */
static int conf_path_value(const conf_parse *p, const char *value, char **out, ms_err *e)
{
	int n;
	if (value[0] == '~' && (value[1] == '/' || value[1] == '\0')) {
		const char *home = getenv("HOME");
		if (!home || !*home)
			return conf_error(p, e, "'~' used but $HOME is not set");
		n = asprintf(out, "%s%s", home, value + 1);
	} else if (value[0] == '/' || !strchr(p->path, '/')) {
		n = asprintf(out, "%s", value);
	} else {
		const char *slash = strrchr(p->path, '/');
		n = asprintf(out, "%.*s/%s", (int)(slash - p->path), p->path, value);
	}
	if (n < 0) {
		*out = NULL;
		return ms_err_set(e, MS_E_NOMEM, "out of memory reading %s", p->path);
	}
	return 0;
}

static int set_password_from_file(conf_parse *p, const char *value, ms_err *e)
{
	char *file;
	if (conf_path_value(p, value, &file, e) < 0)
		return -1;
	char *password;
	int rc = ms_config_read_password_file(file, &password, e);
	free(file);
	if (rc < 0)
		return ms_err_prefix(e, "%s:%d", p->path, p->lineno);
	free(p->cfg.db_password);
	p->cfg.db_password = password;
	return 0;
}

static int apply_conf_setting(conf_parse *p, int key, const char *value, ms_err *e)
{
	switch (key) {
	case KEY_DATA:
		free(p->cfg.data_dir);
		return conf_path_value(p, value, &p->cfg.data_dir, e);
	case KEY_DB:
		return cfg_set(&p->cfg.db_url, value, e);
	case KEY_PASSWORD:
		return cfg_set(&p->cfg.db_password, value, e);
	case KEY_PASSWORD_FILE:
		return set_password_from_file(p, value, e);
	case KEY_SERVER_TZ:
		/* checked here, so the error names the line: glibc would take a
		 * misspelt zone as UTC without a word */
		if (!ms_tz_known(value))
			return ms_err_set(e, MS_E_CONFIG, "%s:%d: server_tz '%s' is not a time zone of the zone database "
			                  "(an IANA name such as Europe/Berlin or UTC)", p->path, p->lineno, value);
		return cfg_set(&p->cfg.server_tz, value, e);
	}
	return ms_err_set(e, MS_E_INTERNAL, "unhandled config key %d", key);
}

/* The one password a file may give, either inline or from a file. */
static int check_password_conflict(const conf_parse *p, int key, ms_err *e)
{
	int other = key == KEY_PASSWORD ? KEY_PASSWORD_FILE : key == KEY_PASSWORD_FILE ? KEY_PASSWORD : -1;
	if (other < 0 || !p->seen_on[other])
		return 0;
	return ms_err_set(e, MS_E_CONFIG, "%s:%d: '%s' conflicts with '%s' on line %d; keep one",
	                  p->path, p->lineno, conf_key_names[key], conf_key_names[other], p->seen_on[other]);
}

static int parse_conf_line(conf_parse *p, char *line, ms_err *e)
{
	char *text = cfg_trim(line);
	/* Comments are whole lines only: a '#' or ';' after a value belongs to
	 * the value (passwords may contain them). */
	if (!*text || *text == '#' || *text == ';')
		return 0;
	char *eq = strchr(text, '=');
	if (!eq)
		return conf_error(p, e, "expected 'key = value'");
	*eq = '\0';
	char *name = cfg_trim(text), *value = cfg_trim(eq + 1);
	if (!*name)
		return conf_error(p, e, "expected 'key = value'");
	int key = find_conf_key(name);
	if (key < 0)
		return ms_err_set(e, MS_E_CONFIG, "%s:%d: unknown setting '%s' (known: data, db, password, password_file, server_tz)",
		                  p->path, p->lineno, name);
	if (p->seen_on[key])
		return ms_err_set(e, MS_E_CONFIG, "%s:%d: '%s' is already set on line %d",
		                  p->path, p->lineno, name, p->seen_on[key]);
	if (!*value)
		return ms_err_set(e, MS_E_CONFIG, "%s:%d: '%s' has no value", p->path, p->lineno, name);
	if (check_password_conflict(p, key, e) < 0)
		return -1;
	p->seen_on[key] = p->lineno;
	return apply_conf_setting(p, key, value, e);
}

/* A password in a file others can read is no secret: say so, and how to
 * fix it, but go on (refusing would break a working setup). */
static int warn_if_exposed(conf_parse *p, FILE *f, ms_err *e)
{
	struct stat st;
	if (!p->seen_on[KEY_PASSWORD] || fstat(fileno(f), &st) < 0 || !(st.st_mode & 077))
		return 0;
	if (cfg_warn(&p->cfg, "%s holds a database password and is readable by group or others "
	             "(mode %04o); run 'chmod 600 %s'",
	             p->path, (unsigned)(st.st_mode & 07777), p->path) < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory reading %s", p->path);
	return 0;
}

static int parse_conf_file(conf_parse *p, ms_err *e)
{
	cfg_lines r;
	if (cfg_lines_open(&r, p->path, "config file", e) < 0)
		return -1;
	char *line;
	int got;
	while ((got = cfg_lines_next(&r, &line, e)) > 0) {
		p->lineno = r.lineno;
		if (parse_conf_line(p, line, e) < 0) {
			got = -1;
			break;
		}
	}
	if (got == 0)
		got = warn_if_exposed(p, r.f, e);
	cfg_lines_close(&r);
	return got;
}

int ms_config_load_file(const char *path, ms_config *out, ms_err *e)
{
	conf_parse p = { .path = path };
	/* Parse into a scratch config first so a bad file changes nothing. */
	int rc = parse_conf_file(&p, e);
	if (rc == 0)
		rc = cfg_set(&p.cfg.source, path, e);
	if (rc == 0)
		rc = cfg_merge(out, &p.cfg, e);
	ms_config_free(&p.cfg);
	return rc;
}

int ms_config_read_password_file(const char *path, char **out, ms_err *e)
{
	cfg_lines r;
	char *line;
	*out = NULL;
	if (cfg_lines_open(&r, path, "password file", e) < 0)
		return -1;
	/* Only the newline (LF or CRLF) is removed: blanks may be part of the
	 * password. */
	int got = cfg_lines_next(&r, &line, e);
	if (got == 0 || (got > 0 && !*line))
		got = ms_err_set(e, MS_E_CONFIG, "password file %s has no password on its first line", path);
	if (got > 0 && !(*out = strdup(line)))
		got = ms_err_set(e, MS_E_NOMEM, "out of memory reading %s", path);
	cfg_lines_close(&r);
	return got < 0 ? -1 : 0;
}

/* Tests relocate /etc with $MSTORE_SYSCONFDIR (a hidden hook, not meant
 * for users) so the last step of the search order can be exercised. */
static const char *sysconf_dir(void)
{
	const char *dir = getenv("MSTORE_SYSCONFDIR");
	return dir && *dir ? dir : "/etc";
}

static bool file_absent(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR);
}

/* A file the user named must exist. */
static int load_named_file(const char *path, const char *named_by, ms_config *out, ms_err *e)
{
	if (file_absent(path))
		return ms_err_set(e, MS_E_CONFIG, "config file %s (named by %s) does not exist", path, named_by);
	return ms_config_load_file(path, out, e);
}

/* A default location is optional: 1 if loaded, 0 if absent, -1 on error. */
static int load_default_file(const char *path, ms_config *out, ms_err *e)
{
	if (file_absent(path))
		return 0;
	return ms_config_load_file(path, out, e) < 0 ? -1 : 1;
}

/* Do the flags leave anything to a default config file?  --db and --data
 * name the store; only a server's password may still come from one, when
 * neither --password-file nor $MSTORE_DB_PASSWORD gives it.  Otherwise the
 * default file is not read at all: a broken one in ~/.config or /etc must
 * not fail a command that names everything it needs. */
static bool default_file_needed(const ms_config_args *args)
{
	if (!args->db_url || !args->data_dir)
		return true;
	const char *env = getenv("MSTORE_DB_PASSWORD");
	bool password = args->password_file || (env && *env);
	return !password && strncmp(args->db_url, "sqlite:", 7) != 0;
}

/* The first config file of: --config, $MSTORE_CONFIG, ~/.config, /etc;
 * the last two only when needed. */
static int load_config_file(const ms_config_args *args, ms_config *out, ms_err *e)
{
	if (args->config_file)
		return load_named_file(args->config_file, "--config", out, e);
	const char *env = getenv("MSTORE_CONFIG");
	if (env && *env)
		return load_named_file(env, "$MSTORE_CONFIG", out, e);
	if (!default_file_needed(args))
		return 0;
	char *path;
	int rc = 0;
	const char *home = getenv("HOME");
	if (home && *home) {
		if (asprintf(&path, "%s/.config/mstore/mstore.conf", home) < 0)
			return ms_err_set(e, MS_E_NOMEM, "out of memory locating the config file");
		rc = load_default_file(path, out, e);
		free(path);
	}
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (asprintf(&path, "%s/mstore/mstore.conf", sysconf_dir()) < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory locating the config file");
	rc = load_default_file(path, out, e);
	free(path);
	return rc < 0 ? -1 : 0;
}

static int apply_flags(const ms_config_args *args, ms_config *out, ms_err *e)
{
	if (args->db_url && cfg_set(&out->db_url, args->db_url, e) < 0)
		return -1;
	if (args->data_dir && cfg_set(&out->data_dir, args->data_dir, e) < 0)
		return -1;
	if (args->server_tz && cfg_set(&out->server_tz, args->server_tz, e) < 0)
		return -1;
	if (args->password_file) {
		char *password;
		if (ms_config_read_password_file(args->password_file, &password, e) < 0)
			return ms_err_prefix(e, "--password-file");
		free(out->db_password);
		out->db_password = password;
	}
	return 0;
}

/* The environment gives the password only when nothing else did; an
 * empty MSTORE_DB_PASSWORD counts as unset. */
static int apply_env_password(ms_config *out, ms_err *e)
{
	const char *env = getenv("MSTORE_DB_PASSWORD");
	if (out->db_password || !env || !*env)
		return 0;
	return cfg_set(&out->db_password, env, e);
}

int ms_config_resolve(const ms_config_args *args, ms_config *out, ms_err *e)
{
	memset(out, 0, sizeof *out);
	/* Weakest first: each later source replaces what it sets. */
	if (load_config_file(args, out, e) < 0 ||
	    (args->ini_file && ms_config_load_ini(args->ini_file, out, e) < 0) ||
	    apply_flags(args, out, e) < 0 ||
	    apply_env_password(out, e) < 0) {
		ms_config_free(out);
		return -1;
	}
	return 0;
}

void ms_config_free(ms_config *c)
{
	if (!c)
		return;
	free(c->data_dir);
	free(c->db_url);
	if (c->db_password)
		explicit_bzero(c->db_password, strlen(c->db_password));
	free(c->db_password);
	free(c->server_tz);
	free(c->source);
	free(c->warnings);
	memset(c, 0, sizeof *c);
}

int ms_config_state_dir(const char *dir, char *out, size_t len)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int n;
	if (dir)
		n = snprintf(out, len, "%s", dir);
	else if (xdg && xdg[0] == '/') /* the XDG rule: a relative value is ignored */
		n = snprintf(out, len, "%s/mstore", xdg);
	else if (geteuid() == 0 || !home || home[0] != '/')
		n = snprintf(out, len, "/var/lib/mstore");
	else
		n = snprintf(out, len, "%s/.local/state/mstore", home);
	return n > 0 && (size_t)n < len ? 0 : -1; /* n == 0: an empty --state-dir */
}
