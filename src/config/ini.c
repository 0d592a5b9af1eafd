/* ini.c - read the settings mstore needs from an hMailServer.INI.
 *
 * The file is read the way Windows' GetPrivateProfileString reads it, which
 * is how hMailServer reads it: section and key names are case-insensitive,
 * ';' starts a comment line, blanks around names and values are dropped, a
 * value enclosed in a pair of double or single quotes loses them, and the
 * first occurrence of a key wins.  We also accept CRLF or LF line ends and
 * a UTF-8 byte order mark.  Keys mstore does not use are ignored.
 */
#include "config/config_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A value and the line it came from, for FILE:LINE messages. */
typedef struct ini_value {
	char *text;  /* NULL if the key is absent */
	int line;
} ini_value;

typedef struct hms_ini {
	const char *path;
	ini_value data_folder;
	ini_value type, server, port, database, username, password, encryption;
} hms_ini;

static const struct ini_key {
	const char *section;
	const char *key;
	size_t offset;
} ini_keys[] = {
	{ "Directories", "DataFolder", offsetof(hms_ini, data_folder) },
	{ "Database", "Type", offsetof(hms_ini, type) },
	{ "Database", "Server", offsetof(hms_ini, server) },
	{ "Database", "Port", offsetof(hms_ini, port) },
	{ "Database", "Database", offsetof(hms_ini, database) },
	{ "Database", "Username", offsetof(hms_ini, username) },
	{ "Database", "Password", offsetof(hms_ini, password) },
	{ "Database", "PasswordEncryption", offsetof(hms_ini, encryption) },
};

#define N_INI_KEYS (sizeof ini_keys / sizeof ini_keys[0])

static void hms_ini_free(hms_ini *ini)
{
	for (size_t i = 0; i < N_INI_KEYS; i++) {
		ini_value *v = (ini_value *)((char *)ini + ini_keys[i].offset);
		if (v->text)
			explicit_bzero(v->text, strlen(v->text));  /* may be the password */
		free(v->text);
		v->text = NULL;
	}
}

static ini_value *wanted_value(hms_ini *ini, const char *section, const char *key)
{
	for (size_t i = 0; i < N_INI_KEYS; i++)
		if (strcasecmp(section, ini_keys[i].section) == 0 && strcasecmp(key, ini_keys[i].key) == 0)
			return (ini_value *)((char *)ini + ini_keys[i].offset);
	return NULL;
}

static char *strip_quotes(char *value)
{
	size_t n = strlen(value);
	if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0]) {
		value[n - 1] = '\0';
		return value + 1;
	}
	return value;
}

/* Byte order marks: UTF-8 is skipped; UTF-16 (which Windows tools may
 * write) is refused with the fix, rather than misread as garbage. */
static int skip_bom(const cfg_lines *r, char **line, ms_err *e)
{
	const unsigned char *u = (const unsigned char *)*line;
	if ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff))
		return ms_err_set(e, MS_E_CONFIG, "%s is UTF-16 text; convert it first, e.g. "
		                  "'iconv -f UTF-16 -t UTF-8 %s > hMailServer-utf8.INI'", r->path, r->path);
	if (u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf)
		*line += 3;
	return 0;
}

/* "[Name]": the section name, or NULL (error) if the ']' is missing. */
static int parse_section(const cfg_lines *r, char *text, char **section, ms_err *e)
{
	char *close = strchr(text, ']');
	if (!close)
		return ms_err_set(e, MS_E_CONFIG, "%s:%d: expected ']' to close the section name", r->path, r->lineno);
	*close = '\0';
	char *copy = strdup(cfg_trim(text + 1));
	if (!copy)
		return ms_err_set(e, MS_E_NOMEM, "out of memory reading %s", r->path);
	free(*section);
	*section = copy;
	return 0;
}

static int parse_ini_line(const cfg_lines *r, char *text, char **section, hms_ini *ini, ms_err *e)
{
	if (!*text || *text == ';' || *text == '#')
		return 0;
	if (*text == '[')
		return parse_section(r, text, section, e);
	char *eq = strchr(text, '=');
	if (!eq)
		return ms_err_set(e, MS_E_CONFIG, "%s:%d: expected '[Section]' or 'Key=Value'", r->path, r->lineno);
	*eq = '\0';
	char *key = cfg_trim(text);
	if (!*key)
		return ms_err_set(e, MS_E_CONFIG, "%s:%d: a setting without a name", r->path, r->lineno);
	ini_value *v = *section ? wanted_value(ini, *section, key) : NULL;
	if (!v || v->text)
		return 0;
	if (!(v->text = strdup(strip_quotes(cfg_trim(eq + 1)))))
		return ms_err_set(e, MS_E_NOMEM, "out of memory reading %s", r->path);
	v->line = r->lineno;
	return 0;
}

static int read_ini(hms_ini *ini, ms_err *e)
{
	cfg_lines r;
	if (cfg_lines_open(&r, ini->path, "hMailServer.INI", e) < 0)
		return -1;
	char *section = NULL, *line;
	int got;
	while ((got = cfg_lines_next(&r, &line, e)) > 0) {
		if (r.lineno == 1 && skip_bom(&r, &line, e) < 0) {
			got = -1;
			break;
		}
		if (parse_ini_line(&r, cfg_trim(line), &section, ini, e) < 0) {
			got = -1;
			break;
		}
	}
	free(section);
	cfg_lines_close(&r);
	return got;
}

static bool has_value(const ini_value *v)
{
	return v->text && *v->text;
}

static int ini_error(const hms_ini *ini, const ini_value *v, ms_err *e, const char *what)
{
	return ms_err_set(e, MS_E_CONFIG, "%s:%d: %s", ini->path, v->line, what);
}

/* The URL scheme for [Database] Type; NULL (and no error) when the INI
 * names no database at all.  hMailServer's names: MSSQL, MySQL,
 * PostgreSQL, MSSQLCE (its built-in SQL Server Compact database). */
static int db_scheme(const hms_ini *ini, const char **scheme, ms_err *e)
{
	*scheme = NULL;
	const ini_value *t = &ini->type;
	if (!has_value(t)) {
		if (has_value(&ini->server) || has_value(&ini->database))
			return ms_err_set(e, MS_E_CONFIG, "%s: [Database] names a server but has no Type "
			                  "(MySQL or PostgreSQL)", ini->path);
		return 0;
	}
	if (strcasecmp(t->text, "MySQL") == 0)
		*scheme = "mysql";
	else if (strcasecmp(t->text, "PostgreSQL") == 0)
		*scheme = "postgresql";
	else if (strcasecmp(t->text, "MSSQL") == 0 || strcasecmp(t->text, "MSSQLCE") == 0)
		return ms_err_set(e, MS_E_CONFIG, "%s:%d: Type=%s: Microsoft SQL Server is not supported; "
		                  "copy the database to PostgreSQL or MariaDB/MySQL, then use --db to name the copy",
		                  ini->path, t->line, t->text);
	else
		return ms_err_set(e, MS_E_CONFIG, "%s:%d: unknown database Type '%s' (expected MySQL or PostgreSQL)",
		                  ini->path, t->line, t->text);
	return 0;
}

/* Port=0 or no Port means the server's default port. */
static int db_port(const hms_ini *ini, int *port, ms_err *e)
{
	const ini_value *v = &ini->port;
	*port = 0;
	if (!has_value(v))
		return 0;
	size_t digits = strspn(v->text, "0123456789");
	long n = digits > 0 && digits <= 5 && !v->text[digits] ? strtol(v->text, NULL, 10) : -1;
	if (n < 0 || n > 65535)
		return ini_error(ini, v, e, "Port is not a port number (0 to 65535)");
	*port = (int)n;
	return 0;
}

/* A name that goes into the URL as is: it must not contain the characters
 * that separate the URL's parts. */
static int check_url_part(const hms_ini *ini, const ini_value *v, const char *key, const char *forbidden,
                          ms_err *e)
{
	if (!strpbrk(v->text, forbidden))
		return 0;
	return ms_err_set(e, MS_E_CONFIG, "%s:%d: %s '%s' contains one of \"%s\", which a database URL "
	                  "cannot carry; use --db instead", ini->path, v->line, key, v->text, forbidden);
}

static int check_db_names(const hms_ini *ini, ms_err *e)
{
	if (!has_value(&ini->server))
		return ms_err_set(e, MS_E_CONFIG, "%s: [Database] has no Server", ini->path);
	if (!has_value(&ini->database))
		return ms_err_set(e, MS_E_CONFIG, "%s: [Database] has no Database", ini->path);
	if (check_url_part(ini, &ini->server, "Server", "@/?# \t[]", e) < 0 ||
	    check_url_part(ini, &ini->database, "Database", "@/?# \t", e) < 0)
		return -1;
	if (has_value(&ini->username) && check_url_part(ini, &ini->username, "Username", "@/?#: \t", e) < 0)
		return -1;
	return 0;
}

/* scheme://[user@]host[:port]/database; an IPv6 address gets brackets. */
static int build_db_url(const hms_ini *ini, const char *scheme, char **url, ms_err *e)
{
	int port;
	if (check_db_names(ini, e) < 0 || db_port(ini, &port, e) < 0)
		return -1;
	const char *user = has_value(&ini->username) ? ini->username.text : "";
	const char *colon = strchr(ini->server.text, ':');
	bool ipv6 = colon && strchr(colon + 1, ':');
	if (colon && !ipv6)
		return ini_error(ini, &ini->server, e, "Server has a ':'; give the port as Port= instead");
	char port_text[16] = "";
	if (port > 0)
		snprintf(port_text, sizeof port_text, ":%d", port);
	if (asprintf(url, "%s://%s%s%s%s%s%s/%s", scheme, user, *user ? "@" : "", ipv6 ? "[" : "",
	             ini->server.text, ipv6 ? "]" : "", port_text, ini->database.text) < 0) {
		*url = NULL;
		return ms_err_set(e, MS_E_NOMEM, "out of memory reading %s", ini->path);
	}
	return 0;
}

/* Password, decrypted when PasswordEncryption=1.  Other values: 0 is
 * plain text; 2 and 3 are hMailServer's one-way hashes, which cannot give
 * the password back.  An empty Password gives none (another source may). */
static int db_password(const hms_ini *ini, char **password, ms_err *e)
{
	const ini_value *enc = &ini->encryption;
	*password = NULL;
	bool encrypted = has_value(enc) && strcmp(enc->text, "0") != 0;
	if (encrypted && strcmp(enc->text, "1") != 0)
		return ini_error(ini, enc, e, "PasswordEncryption is neither 0 (plain text) nor 1 (Blowfish)");
	if (!has_value(&ini->password))
		return 0;
	if (!encrypted) {
		if (!(*password = strdup(ini->password.text)))
			return ms_err_set(e, MS_E_NOMEM, "out of memory reading %s", ini->path);
		return 0;
	}
	if (ms_hms_blowfish_decrypt(ini->password.text, password, e) < 0)
		return ms_err_prefix(e, "%s:%d: Password", ini->path, ini->password.line);
	return 0;
}

/* DataFolder is kept as written, even a Windows path such as
 * C:\Program Files\hMailServer\Data: on Linux the user names the copy with
 * --data, which overrides it.  Like hMailServer, drop one trailing '\'. */
static int data_folder(const hms_ini *ini, ms_config *cfg, ms_err *e)
{
	if (!has_value(&ini->data_folder))
		return 0;
	if (cfg_set(&cfg->data_dir, ini->data_folder.text, e) < 0)
		return -1;
	size_t n = strlen(cfg->data_dir);
	if (n > 1 && cfg->data_dir[n - 1] == '\\')
		cfg->data_dir[n - 1] = '\0';
	return 0;
}

static int ini_to_config(const hms_ini *ini, ms_config *cfg, ms_err *e)
{
	const char *scheme;
	if (data_folder(ini, cfg, e) < 0 || db_scheme(ini, &scheme, e) < 0)
		return -1;
	if (!scheme)
		return 0;
	if (build_db_url(ini, scheme, &cfg->db_url, e) < 0)
		return -1;
	return db_password(ini, &cfg->db_password, e);
}

int ms_config_load_ini(const char *path, ms_config *out, ms_err *e)
{
	hms_ini ini = { .path = path };
	ms_config scratch = { 0 };
	/* Build a scratch config first so a bad file changes nothing. */
	int rc = read_ini(&ini, e);
	if (rc == 0)
		rc = ini_to_config(&ini, &scratch, e);
	if (rc == 0)
		rc = cfg_set(&scratch.source, path, e);
	if (rc == 0)
		rc = cfg_merge(out, &scratch, e);
	hms_ini_free(&ini);
	ms_config_free(&scratch);
	return rc;
}
