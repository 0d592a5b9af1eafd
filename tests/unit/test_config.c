/* test_config.c - mstore.conf parsing and its errors, password files, the
 * order of configuration sources, and hMailServer.INI reading. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

/* Every test gets a fresh directory with HOME and the relocated /etc in
 * it, and an environment without mstore's variables. */
static char tmp_dir[256];
static char home_dir[300], etc_dir[300];

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_config.XXXXXX");
	if (!mkdtemp(tmp_dir))
		return -1;
	snprintf(home_dir, sizeof home_dir, "%s/home", tmp_dir);
	snprintf(etc_dir, sizeof etc_dir, "%s/etc", tmp_dir);
	if (mkdir(home_dir, 0700) < 0 || mkdir(etc_dir, 0700) < 0)
		return -1;
	setenv("HOME", home_dir, 1);
	setenv("MSTORE_SYSCONFDIR", etc_dir, 1);
	unsetenv("MSTORE_CONFIG");
	unsetenv("MSTORE_DB_PASSWORD");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write `text` to tmp_dir/name (creating parent directories) with `mode`;
 * returns the full path in a static buffer slot. */
static const char *write_file(const char *name, mode_t mode, const char *text)
{
	static char paths[8][512];
	static int next;
	char *path = paths[next++ % 8];
	snprintf(path, 512, "%s/%s", tmp_dir, name);
	for (char *p = path + strlen(tmp_dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!haystack || !strstr(haystack, needle))
		fail_msg("'%s' does not contain '%s'", haystack ? haystack : "(null)", needle);
}

/* Load a config file that must fail; the message must contain `expect`
 * and the config must be left as it was. */
static void assert_conf_error(const char *text, const char *expect_suffix)
{
	const char *path = write_file("bad.conf", 0600, text);
	ms_config c = { 0 };
	ms_err e = { 0 };
	char expect[700];
	snprintf(expect, sizeof expect, "%s%s", path, expect_suffix);
	assert_int_equal(ms_config_load_file(path, &c, &e), -1);
	assert_int_equal(e.code, MS_E_CONFIG);
	assert_contains(e.msg, expect);
	assert_null(c.data_dir);
	assert_null(c.db_url);
	assert_null(c.db_password);
	ms_config_free(&c);
}

/* ---- mstore.conf ---- */

static void conf_all_keys_comments_and_blanks(void **state)
{
	(void)state;
	const char *path = write_file("a.conf", 0600,
		"# a comment\n"
		"; another comment\n"
		"\n"
		"   \t\n"
		"  data   =   /var/lib/hmail/Data  \n"
		"db=postgresql://hmail@127.0.0.1:5432/hmailserver\n"
		"\t# indented comment\n"
		"password = p#ss;word = x\r\n");
	ms_config c = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_string_equal(c.data_dir, "/var/lib/hmail/Data");
	assert_string_equal(c.db_url, "postgresql://hmail@127.0.0.1:5432/hmailserver");
	assert_string_equal(c.db_password, "p#ss;word = x");
	assert_string_equal(c.source, path);
	assert_null(c.warnings);
	ms_config_free(&c);
}

static void conf_keeps_fields_it_does_not_set(void **state)
{
	(void)state;
	const char *path = write_file("b.conf", 0600, "data = /d\n");
	ms_config c = { 0 };
	ms_err e = { 0 };
	c.db_url = strdup("sqlite:/x.db");
	c.data_dir = strdup("/old");
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_string_equal(c.db_url, "sqlite:/x.db");
	assert_string_equal(c.data_dir, "/d");
	ms_config_free(&c);
}

static void conf_syntax_errors_name_file_and_line(void **state)
{
	(void)state;
	assert_conf_error("db = sqlite:/x\nthis line is wrong\n", ":2: expected 'key = value'");
	assert_conf_error("# c\n\n = value\n", ":3: expected 'key = value'");
	assert_conf_error("db = sqlite:/x\n\ncolour = blue\n", ":3: unknown setting 'colour'");
	assert_conf_error("Data = /x\n", ":1: unknown setting 'Data'");
	assert_conf_error("data = /x\ndb = sqlite:/y\ndata = /z\n", ":3: 'data' is already set on line 1");
	assert_conf_error("data =   \n", ":1: 'data' has no value");
	assert_conf_error("password = a\npassword_file = /p\n", ":2: 'password_file' conflicts with 'password' on line 1");
}

static void conf_missing_file_is_an_error(void **state)
{
	(void)state;
	char path[400];
	snprintf(path, sizeof path, "%s/nope.conf", tmp_dir);
	ms_config c = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_config_load_file(path, &c, &e), -1);
	assert_int_equal(e.code, MS_E_CONFIG);
	assert_contains(e.msg, path);
}

static void readable_password_warns(void **state)
{
	(void)state;
	const char *path = write_file("pw.conf", 0644, "db = sqlite:/x\npassword = hunter2\n");
	ms_config c = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_string_equal(c.db_password, "hunter2");
	assert_contains(c.warnings, path);
	assert_contains(c.warnings, "readable by group or others (mode 0644)");
	assert_contains(c.warnings, "chmod 600");
	ms_config_free(&c);

	assert_int_equal(chmod(path, 0640), 0); /* group-readable counts too */
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_contains(c.warnings, "mode 0640");
	ms_config_free(&c);

	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_string_equal(c.db_password, "hunter2");
	assert_null(c.warnings);
	ms_config_free(&c);
}

static void readable_file_without_password_does_not_warn(void **state)
{
	(void)state;
	write_file("db.pass", 0600, "s3cret\n");
	const char *path = write_file("nopw.conf", 0644, "db = sqlite:/x\npassword_file = db.pass\n");
	ms_config c = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_string_equal(c.db_password, "s3cret");
	assert_null(c.warnings);
	ms_config_free(&c);
}

static void password_file_paths(void **state)
{
	(void)state;
	char conf[600];
	ms_config c = { 0 };
	ms_err e = { 0 };
	/* Absolute, CRLF, only the first line. */
	const char *pass = write_file("secrets/abs.pass", 0600, "  two words \r\nsecond line\n");
	snprintf(conf, sizeof conf, "password_file = %s\n", pass);
	const char *path = write_file("conf/abs.conf", 0600, conf);
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_string_equal(c.db_password, "  two words ");
	ms_config_free(&c);
	/* Relative to the config file's directory, not the working directory. */
	write_file("conf/rel.pass", 0600, "relative");
	path = write_file("conf/rel.conf", 0600, "password_file = rel.pass\ndata = Data\n");
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_string_equal(c.db_password, "relative");
	char expect[600];
	snprintf(expect, sizeof expect, "%s/conf/Data", tmp_dir);
	assert_string_equal(c.data_dir, expect);
	ms_config_free(&c);
	/* ~ is $HOME. */
	write_file("home/h.pass", 0600, "from-home\n");
	path = write_file("conf/home.conf", 0600, "password_file = ~/h.pass\ndata = ~/Data\n");
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_string_equal(c.db_password, "from-home");
	snprintf(expect, sizeof expect, "%s/Data", home_dir);
	assert_string_equal(c.data_dir, expect);
	ms_config_free(&c);
	/* A missing password file: the config line and the file are named. */
	path = write_file("conf/missing.conf", 0600, "db = sqlite:/x\npassword_file = /no/such.pass\n");
	assert_int_equal(ms_config_load_file(path, &c, &e), -1);
	assert_int_equal(e.code, MS_E_CONFIG);
	snprintf(expect, sizeof expect, "%s:2: cannot open password file /no/such.pass", path);
	assert_contains(e.msg, expect);
	assert_null(c.db_url);
}

static void read_password_file_rules(void **state)
{
	(void)state;
	char *pw;
	ms_err e = { 0 };
	assert_int_equal(ms_config_read_password_file(write_file("p1", 0600, "abc\n"), &pw, &e), 0);
	assert_string_equal(pw, "abc");
	free(pw);
	assert_int_equal(ms_config_read_password_file(write_file("p2", 0600, "no newline"), &pw, &e), 0);
	assert_string_equal(pw, "no newline");
	free(pw);
	const char *empty = write_file("p3", 0600, "");
	assert_int_equal(ms_config_read_password_file(empty, &pw, &e), -1);
	assert_null(pw);
	assert_int_equal(e.code, MS_E_CONFIG);
	assert_contains(e.msg, empty);
	assert_int_equal(ms_config_read_password_file(write_file("p4", 0600, "\nsecond\n"), &pw, &e), -1);
	assert_contains(e.msg, "no password on its first line");
}

/* Blanks around a value are spaces or tabs, on either side; '~' alone is
 * $HOME. */
static void conf_tabs_and_lone_tilde(void **state)
{
	(void)state;
	const char *path = write_file("tabs.conf", 0600, "data =\t~\t\ndb\t=\tsqlite:/t.db \t\n");
	ms_config c = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_config_load_file(path, &c, &e), 0);
	assert_string_equal(c.data_dir, home_dir);
	assert_string_equal(c.db_url, "sqlite:/t.db");
	ms_config_free(&c);
}

/* An empty $MSTORE_CONFIG counts as unset: the default files are read. */
static void empty_env_config_is_unset(void **state)
{
	(void)state;
	const char *user = write_file("home/.config/mstore/mstore.conf", 0600, "data = /user\n");
	setenv("MSTORE_CONFIG", "", 1);
	ms_config_args a = { 0 };
	ms_config c;
	ms_err e = { 0 };
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_string_equal(c.data_dir, "/user");
	assert_string_equal(c.source, user);
	ms_config_free(&c);
}

/* ---- resolution order ---- */

static void resolution_order(void **state)
{
	(void)state;
	ms_config_args a = { 0 };
	ms_config c;
	ms_err e = { 0 };

	/* Nothing anywhere: everything NULL, no error. */
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_null(c.db_url);
	assert_null(c.data_dir);
	assert_null(c.source);
	ms_config_free(&c);

	/* /etc (relocated) alone. */
	const char *sys = write_file("etc/mstore/mstore.conf", 0600, "db = sqlite:/sys.db\ndata = /sys\n");
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_string_equal(c.db_url, "sqlite:/sys.db");
	assert_string_equal(c.source, sys);
	ms_config_free(&c);

	/* ~/.config beats /etc, which is then not read at all. */
	const char *user = write_file("home/.config/mstore/mstore.conf", 0600, "data = /user\n");
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_string_equal(c.data_dir, "/user");
	assert_null(c.db_url);
	assert_string_equal(c.source, user);
	ms_config_free(&c);

	/* $MSTORE_CONFIG beats ~/.config. */
	const char *env = write_file("env.conf", 0600, "data = /env\ndb = sqlite:/env.db\n");
	setenv("MSTORE_CONFIG", env, 1);
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_string_equal(c.data_dir, "/env");
	assert_string_equal(c.source, env);
	ms_config_free(&c);

	/* --config beats $MSTORE_CONFIG. */
	a.config_file = write_file("flag.conf", 0600, "data = /flag\ndb = sqlite:/flag.db\npassword = conf-pw\n");
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_string_equal(c.data_dir, "/flag");
	assert_string_equal(c.db_url, "sqlite:/flag.db");
	assert_string_equal(c.db_password, "conf-pw");
	ms_config_free(&c);

	/* --ini beats --config for what it sets (here the data directory). */
	a.ini_file = write_file("only-data.INI", 0600, "[Directories]\nDataFolder=/ini-data\n");
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_string_equal(c.data_dir, "/ini-data");
	assert_string_equal(c.db_url, "sqlite:/flag.db");
	assert_string_equal(c.db_password, "conf-pw");
	assert_string_equal(c.source, a.ini_file);
	ms_config_free(&c);

	/* Flags beat everything. */
	a.data_dir = "/cli-data";
	a.db_url = "sqlite:/cli.db";
	a.password_file = write_file("cli.pass", 0600, "cli-pw\n");
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_string_equal(c.data_dir, "/cli-data");
	assert_string_equal(c.db_url, "sqlite:/cli.db");
	assert_string_equal(c.db_password, "cli-pw");
	ms_config_free(&c);
}

static void broken_default_file_is_an_error(void **state)
{
	(void)state;
	const char *user = write_file("home/.config/mstore/mstore.conf", 0600, "oops\n");
	ms_config_args a = { 0 };
	ms_config c;
	ms_err e = { 0 };
	assert_int_equal(ms_config_resolve(&a, &c, &e), -1);
	char expect[500];
	snprintf(expect, sizeof expect, "%s:1:", user);
	assert_contains(e.msg, expect);
	assert_null(c.db_url); /* freed and zeroed: safe to free again */
	ms_config_free(&c);
}

static void missing_named_config_is_an_error(void **state)
{
	(void)state;
	char path[400];
	snprintf(path, sizeof path, "%s/nope.conf", tmp_dir);
	ms_config_args a = { .config_file = path };
	ms_config c;
	ms_err e = { 0 };
	assert_int_equal(ms_config_resolve(&a, &c, &e), -1);
	assert_int_equal(e.code, MS_E_CONFIG);
	assert_contains(e.msg, path);
	assert_contains(e.msg, "--config");

	a.config_file = NULL;
	setenv("MSTORE_CONFIG", path, 1);
	assert_int_equal(ms_config_resolve(&a, &c, &e), -1);
	assert_int_equal(e.code, MS_E_CONFIG);
	assert_contains(e.msg, path);
	assert_contains(e.msg, "$MSTORE_CONFIG");

	/* A missing default file is not an error (setup made none). */
	unsetenv("MSTORE_CONFIG");
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	ms_config_free(&c);

	/* Neither is a missing --password-file silently ignored. */
	a.password_file = path;
	assert_int_equal(ms_config_resolve(&a, &c, &e), -1);
	assert_int_equal(e.code, MS_E_CONFIG);
	assert_contains(e.msg, "--password-file");
	assert_contains(e.msg, path);
}

static void env_password_only_as_last_resort(void **state)
{
	(void)state;
	ms_config_args a = { .db_url = "sqlite:/x.db" };
	ms_config c;
	ms_err e = { 0 };
	setenv("MSTORE_DB_PASSWORD", "env-pw", 1);
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_string_equal(c.db_password, "env-pw");
	ms_config_free(&c);

	a.config_file = write_file("pw.conf", 0600, "password = file-pw\n");
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_string_equal(c.db_password, "file-pw");
	ms_config_free(&c);

	a.config_file = NULL;
	setenv("MSTORE_DB_PASSWORD", "", 1);
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_null(c.db_password);
	ms_config_free(&c);
}

static void warnings_survive_resolution(void **state)
{
	(void)state;
	ms_config_args a = { .config_file = write_file("open.conf", 0644, "password = x\n") };
	ms_config c;
	ms_err e = { 0 };
	assert_int_equal(ms_config_resolve(&a, &c, &e), 0);
	assert_contains(c.warnings, a.config_file);
	ms_config_free(&c);
}

/* ---- hMailServer.INI ---- */

static int load_ini_text(const char *text, ms_config *c, ms_err *e, const char **path)
{
	*path = write_file("hMailServer.INI", 0600, text);
	memset(c, 0, sizeof *c);
	return ms_config_load_ini(*path, c, e);
}

static void ini_postgresql_crlf_bom(void **state)
{
	(void)state;
	ms_config c;
	ms_err e = { 0 };
	const char *path;
	assert_int_equal(load_ini_text(
		"\xef\xbb\xbf[Directories]\r\n"
		"ProgramFolder=C:\\Program Files\\hMailServer\r\n"
		"DataFolder=C:\\Program Files\\hMailServer\\Data\\\r\n"
		"\r\n"
		"; the database\r\n"
		"[Database]\r\n"
		"Type=PostgreSQL\r\n"
		"Username=hmail\r\n"
		"Password=plainpw\r\n"
		"PasswordEncryption=0\r\n"
		"Port=5433\r\n"
		"Server=db.example.org\r\n"
		"Database=hmailserver\r\n"
		"Internal=0\r\n"
		"[Security]\r\n"
		"AdministratorPassword=5f4dcc3b5aa765d61d8327deb882cf99\r\n",
		&c, &e, &path), 0);
	/* Kept as written (minus hMailServer's trailing '\'); --data overrides. */
	assert_string_equal(c.data_dir, "C:\\Program Files\\hMailServer\\Data");
	assert_string_equal(c.db_url, "postgresql://hmail@db.example.org:5433/hmailserver");
	assert_string_equal(c.db_password, "plainpw");
	assert_string_equal(c.source, path);
	ms_config_free(&c);
}

static void ini_mysql_names_case_quotes_and_default_port(void **state)
{
	(void)state;
	ms_config c;
	ms_err e = { 0 };
	const char *path;
	assert_int_equal(load_ini_text(
		"[database]\n"
		"TYPE = mysql\n"
		"server = 127.0.0.1\n"
		"port = 0\n"
		"DATABASE = \"hmail\"\n"
		"username = root\n"
		"Database = second-one-ignored\n"
		"[DIRECTORIES]\n"
		"datafolder = /srv/hmail/Data\n",
		&c, &e, &path), 0);
	assert_string_equal(c.db_url, "mysql://root@127.0.0.1/hmail");
	assert_string_equal(c.data_dir, "/srv/hmail/Data");
	assert_null(c.db_password);
	ms_config_free(&c);

	assert_int_equal(load_ini_text("[Database]\nType=MySQL\nServer=::1\nPort=3306\nDatabase=h\n",
	                               &c, &e, &path), 0);
	assert_string_equal(c.db_url, "mysql://[::1]:3306/h");
	ms_config_free(&c);
}

static void ini_encrypted_password(void **state)
{
	(void)state;
	ms_err e = { 0 };
	char *hex;
	assert_int_equal(ms_hms_blowfish_encrypt("Sup3r s3cret!", &hex, &e), 0);
	char text[600];
	snprintf(text, sizeof text,
	         "[Database]\r\nType=PostgreSQL\r\nServer=localhost\r\nDatabase=hm\r\nUsername=u\r\n"
	         "Password=%s\r\nPasswordEncryption=1\r\n", hex);
	free(hex);
	ms_config c;
	const char *path;
	assert_int_equal(load_ini_text(text, &c, &e, &path), 0);
	assert_string_equal(c.db_password, "Sup3r s3cret!");
	assert_string_equal(c.db_url, "postgresql://u@localhost/hm");
	ms_config_free(&c);

	/* The pinned vector of test_blowfish, upper case. */
	assert_int_equal(load_ini_text("[Database]\nType=MySQL\nServer=h\nDatabase=d\n"
	                               "PasswordEncryption=1\nPassword=A62B3C438EFAE3DB\n", &c, &e, &path), 0);
	assert_string_equal(c.db_password, "secret");
	ms_config_free(&c);
}

static void assert_ini_error(const char *text, const char *expect_suffix)
{
	ms_config c;
	ms_err e = { 0 };
	const char *path;
	assert_int_equal(load_ini_text(text, &c, &e, &path), -1);
	assert_int_equal(e.code, MS_E_CONFIG);
	char expect[800];
	snprintf(expect, sizeof expect, "%s%s", path, expect_suffix);
	assert_contains(e.msg, expect);
	assert_null(c.db_url);
	assert_null(c.data_dir);
	ms_config_free(&c);
}

static void ini_sql_server_refused(void **state)
{
	(void)state;
	assert_ini_error("[Directories]\r\nDataFolder=C:\\hMailServer\\Data\r\n[Database]\r\nType=MSSQL\r\nServer=db\r\n",
	                 ":4: Type=MSSQL: Microsoft SQL Server is not supported; copy the database to");
	assert_ini_error("[Database]\nType=MSSQLCE\nDatabase=hMailServer\n",
	                 ":2: Type=MSSQLCE: Microsoft SQL Server is not supported");
	assert_ini_error("[Database]\nType=Oracle\n", ":2: unknown database Type 'Oracle'");
}

static void ini_errors_name_file_and_line(void **state)
{
	(void)state;
	assert_ini_error("[Database\nType=MySQL\n", ":1: expected ']'");
	assert_ini_error("[Database]\nType=MySQL\njunk\n", ":3: expected '[Section]' or 'Key=Value'");
	assert_ini_error("[Database]\n=x\n", ":2: a setting without a name");
	assert_ini_error("[Database]\nType=MySQL\nServer=h\nDatabase=d\nPort=33o6\n", ":5: Port is not a port number");
	assert_ini_error("[Database]\nType=MySQL\nServer=h\nDatabase=d\nPort=70000\n", ":5: Port is not a port number");
	assert_ini_error("[Database]\nType=MySQL\nServer=h\nDatabase=d\nPort=-1\n", ":5: Port is not a port number");
	assert_ini_error("[Database]\nType=MySQL\nServer=h:3306\nDatabase=d\n", ":3: Server has a ':'");
	assert_ini_error("[Database]\nType=MySQL\nServer=h\nDatabase=d\nUsername=a@b\n", ":5: Username 'a@b'");
	assert_ini_error("[Database]\nType=MySQL\nDatabase=d\n", ": [Database] has no Server");
	assert_ini_error("[Database]\nType=PostgreSQL\nServer=h\n", ": [Database] has no Database");
	assert_ini_error("[Database]\nServer=h\nDatabase=d\n", ": [Database] names a server but has no Type");
	assert_ini_error("[Database]\nType=MySQL\nServer=h\nDatabase=d\nPassword=abc\nPasswordEncryption=1\n",
	                 ":5: Password: encrypted password has an odd number of hex digits (3)");
	assert_ini_error("[Database]\nType=MySQL\nServer=h\nDatabase=d\nPassword=x\nPasswordEncryption=3\n",
	                 ":6: PasswordEncryption is neither 0");
	assert_ini_error("\xff\xfe[\0D\0", " is UTF-16 text");
}

/* Quotes are removed only in matching pairs; a lone quote is the value. */
static void ini_quotes_only_in_pairs(void **state)
{
	(void)state;
	ms_config c;
	ms_err e = { 0 };
	const char *path;
	assert_int_equal(load_ini_text("[Database]\nType=MySQL\nServer=h\nDatabase='hm'\nPassword=\"pw'\n",
	                               &c, &e, &path), 0);
	assert_string_equal(c.db_url, "mysql://h/hm");
	assert_string_equal(c.db_password, "\"pw'");
	ms_config_free(&c);
	assert_int_equal(load_ini_text("[Database]\nType=MySQL\nServer=h\nDatabase=d\nPassword=\"\n", &c, &e, &path), 0);
	assert_string_equal(c.db_password, "\"");
	ms_config_free(&c);
}

/* Port: 1 to 65535 go into the URL, 65536 is refused. */
static void ini_port_bounds(void **state)
{
	(void)state;
	ms_config c;
	ms_err e = { 0 };
	const char *path;
	assert_int_equal(load_ini_text("[Database]\nType=PostgreSQL\nServer=h\nDatabase=d\nPort=65535\n", &c, &e, &path), 0);
	assert_string_equal(c.db_url, "postgresql://h:65535/d");
	ms_config_free(&c);
	assert_int_equal(load_ini_text("[Database]\nType=PostgreSQL\nServer=h\nDatabase=d\nPort=1\n", &c, &e, &path), 0);
	assert_string_equal(c.db_url, "postgresql://h:1/d");
	ms_config_free(&c);
	assert_ini_error("[Database]\nType=MySQL\nServer=h\nDatabase=d\nPort=65536\n", ":5: Port is not a port number");
}

/* A ':' in the user name would read back as "user:password". */
static void ini_username_with_colon_refused(void **state)
{
	(void)state;
	assert_ini_error("[Database]\nType=MySQL\nServer=h\nDatabase=d\nUsername=a:b\n", ":5: Username 'a:b'");
}

static void ini_without_database_gives_only_data(void **state)
{
	(void)state;
	ms_config c;
	ms_err e = { 0 };
	const char *path;
	assert_int_equal(load_ini_text("stray=ignored before any section\n[Directories]\nDataFolder=/d\n",
	                               &c, &e, &path), 0);
	assert_string_equal(c.data_dir, "/d");
	assert_null(c.db_url);
	assert_null(c.db_password);
	ms_config_free(&c);
}

static void ini_missing_file(void **state)
{
	(void)state;
	char path[400];
	snprintf(path, sizeof path, "%s/none.INI", tmp_dir);
	ms_config c = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_config_load_ini(path, &c, &e), -1);
	assert_int_equal(e.code, MS_E_CONFIG);
	assert_contains(e.msg, path);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(conf_all_keys_comments_and_blanks),
		T(conf_keeps_fields_it_does_not_set),
		T(conf_syntax_errors_name_file_and_line),
		T(conf_missing_file_is_an_error),
		T(readable_password_warns),
		T(readable_file_without_password_does_not_warn),
		T(password_file_paths),
		T(read_password_file_rules),
		T(conf_tabs_and_lone_tilde),
		T(empty_env_config_is_unset),
		T(resolution_order),
		T(broken_default_file_is_an_error),
		T(missing_named_config_is_an_error),
		T(env_password_only_as_last_resort),
		T(warnings_survive_resolution),
		T(ini_postgresql_crlf_bom),
		T(ini_mysql_names_case_quotes_and_default_port),
		T(ini_encrypted_password),
		T(ini_sql_server_refused),
		T(ini_errors_name_file_and_line),
		T(ini_quotes_only_in_pairs),
		T(ini_port_bounds),
		T(ini_username_with_colon_refused),
		T(ini_without_database_gives_only_data),
		T(ini_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
