/* snapshot.c - `mstore snapshot` (snapshot.h). */
#include "backup/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PREFIX "snapshot-"

static const char *suffix_of(db_dialect d)
{
	return d == DB_SQLITE ? ".sqlite" : d == DB_PGSQL ? ".pgdump" : ".sql";
}

static bool is_snapshot(const char *name)
{
	/* snapshot-YYYYMMDDTHHMMSSZ.<suffix>, complete (no .tmp) */
	if (strncmp(name, PREFIX, strlen(PREFIX)) != 0 || strlen(name) < strlen(PREFIX) + 16)
		return false;
	const char *dot = name + strlen(PREFIX) + 16;
	return strcmp(dot, ".sqlite") == 0 || strcmp(dot, ".pgdump") == 0 || strcmp(dot, ".sql") == 0;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ms_snapshot_list(const char *dir, char ***out, ms_err *e)
{
	GError *ge = NULL;
	GDir *d = g_dir_open(dir, 0, &ge);
	if (!d) {
		ms_err_set(e, MS_E_IO, "cannot read the snapshot directory %s: %s", dir, ge->message);
		g_error_free(ge);
		return -1;
	}
	GPtrArray *v = g_ptr_array_new();
	for (const char *n; (n = g_dir_read_name(d));)
		if (is_snapshot(n))
			g_ptr_array_add(v, g_strdup(n));
	g_dir_close(d);
	g_ptr_array_sort(v, by_name);
	g_ptr_array_add(v, NULL);
	*out = (char **)g_ptr_array_free(v, FALSE);
	return 0;
}

/* Run a dump tool with the password in its environment; its stderr is
 * the user's.  `in`: a file for its standard input, or NULL. */
static int run_tool_in(char *const argv[], const char *pw_var, const char *password, const char *in, ms_err *e)
{
	GPtrArray *env = g_ptr_array_new_with_free_func(g_free);
	for (char **v = environ; *v; v++)
		if (strncmp(*v, pw_var, strlen(pw_var)) != 0 || (*v)[strlen(pw_var)] != '=')
			g_ptr_array_add(env, g_strdup(*v));
	if (password)
		g_ptr_array_add(env, g_strdup_printf("%s=%s", pw_var, password));
	g_ptr_array_add(env, NULL);
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (in)
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, in, O_RDONLY, 0);
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, (char **)env->pdata);
	posix_spawn_file_actions_destroy(&fa);
	g_ptr_array_free(env, TRUE);
	if (rc != 0)
		return ms_err_set(e, MS_E_IO, "cannot run %s: %s (install it: postgresql-client or mariadb-client)",
		                  argv[0], strerror(rc));
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ms_err_set(e, MS_E_IO, "waiting for %s: %s", argv[0], strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return ms_err_set(e, MS_E_DB, "%s failed (%s %d; its message is above)", argv[0],
		                  WIFEXITED(status) ? "exit code" : "signal",
		                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

static int run_tool(char *const argv[], const char *pw_var, const char *password, ms_err *e)
{
	return run_tool_in(argv, pw_var, password, NULL, e);
}

static int dump_server(ms_store *s, const char *password, const char *tmp, ms_err *e)
{
	db_url url = *db_get_url(s->db);
	char port[16];
	snprintf(port, sizeof port, "%d", url.port ? url.port : url.dialect == DB_PGSQL ? 5432 : 3306);
	char *file = g_strdup_printf("--file=%s", tmp), *result = g_strdup_printf("--result-file=%s", tmp);
	int rc;
	if (url.dialect == DB_PGSQL) {
		char *argv[] = { "pg_dump", "--format=custom", "--no-password", "-h", url.host, "-p", port, "-U", url.user,
		                 file, url.dbname, NULL };
		rc = run_tool(argv, "PGPASSWORD", password, e);
	} else {
		char *argv[] = { "mariadb-dump", "--single-transaction", "--routines", "--triggers", "--protocol=TCP",
		                 "-h", url.host, "-P", port, "-u", url.user, result, url.dbname, NULL };
		rc = run_tool(argv, "MYSQL_PWD", password, e);
	}
	g_free(file);
	g_free(result);
	return rc;
}

static int fsync_path(const char *path, int flags, ms_err *e)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return ms_err_set(e, MS_E_IO, "cannot fsync %s: %s", path, strerror(err));
	}
	close(fd);
	return 0;
}

/* The oldest snapshots of this store's kind (`suffix`) beyond `keep`
 * removed.  The directory is shared by every store of the user (the
 * default STATE/snapshots): another kind's snapshots are another store's,
 * never rotated here.  A snapshot that cannot be removed is an error
 * naming it (one already gone: a rotation running beside this one). */
static int rotate(const char *dir, const char *suffix, int keep, ms_err *e)
{
	char **v;
	if (keep <= 0)
		return 0;
	if (ms_snapshot_list(dir, &v, e) < 0)
		return -1;
	GPtrArray *mine = g_ptr_array_new();
	for (char **n = v; *n; n++)
		if (g_str_has_suffix(*n, suffix))
			g_ptr_array_add(mine, *n);
	int rc = 0;
	for (guint i = 0; rc == 0 && i + (guint)keep < mine->len; i++) {
		char *p = g_build_filename(dir, g_ptr_array_index(mine, i), NULL);
		if (unlink(p) < 0 && errno != ENOENT)
			rc = ms_err_set(e, MS_E_IO, "the new snapshot is taken, but the older %s cannot be removed: %s", p,
			                strerror(errno));
		g_free(p);
	}
	g_ptr_array_free(mine, TRUE);
	g_strfreev(v);
	return rc;
}

int ms_snapshot_take(ms_store *s, const char *password, const char *dir, int keep, char *name, size_t len,
                     ms_err *e)
{
	if (g_mkdir_with_parents(dir, 0700) < 0)
		return ms_err_set(e, MS_E_IO, "cannot create the snapshot directory %s: %s", dir, strerror(errno));
	time_t now = time(NULL);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&now));
	db_dialect dia = db_get_dialect(s->db);
	snprintf(name, len, PREFIX "%s%s", stamp, suffix_of(dia));
	char *final = g_build_filename(dir, name, NULL), *tmp = g_strdup_printf("%s.%d.tmp", final, (int)getpid());
	struct stat st;
	int rc = 0;
	if (stat(final, &st) == 0)
		rc = ms_err_set(e, MS_E_EXISTS, "snapshot %s exists already (one a second at most)", final);
	else if (dia == DB_SQLITE)
		rc = db_sqlite_backup_to(s->db, tmp, e);
	else
		rc = dump_server(s, password, tmp, e);
	if (rc == 0)
		rc = fsync_path(tmp, O_RDONLY, e);
	if (rc == 0 && rename(tmp, final) < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
	if (rc == 0)
		rc = fsync_path(dir, O_RDONLY | O_DIRECTORY, e);
	if (rc < 0)
		unlink(tmp);
	else
		rc = rotate(dir, suffix_of(dia), keep, e);
	g_free(final);
	g_free(tmp);
	return rc;
}

/* ---- restore ------------------------------------------------------------------- */

/* The snapshot's bytes to a new file `to` (O_EXCL: never into one that is there). */
static int copy_file(const char *from, const char *to, ms_err *e)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return ms_err_set(e, MS_E_IO, "cannot open %s: %s", from, strerror(errno));
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return ms_err_set(e, MS_E_IO, "cannot create %s: %s", to, strerror(errno));
	}
	char buf[1 << 16];
	int rc = 0;
	for (ssize_t got; rc == 0 && (got = read(in, buf, sizeof buf)) != 0;) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = ms_err_set(e, MS_E_IO, "cannot read %s: %s", from, strerror(errno));
			break;
		}
		for (ssize_t done = 0, w; rc == 0 && done < got; done += w > 0 ? w : 0)
			if ((w = write(out, buf + done, (size_t)(got - done))) < 0 && errno != EINTR)
				rc = ms_err_set(e, MS_E_IO, "cannot write %s: %s (disk full?)", to, strerror(errno));
	}
	if (rc == 0 && fsync(out) < 0)
		rc = ms_err_set(e, MS_E_IO, "cannot fsync %s: %s", to, strerror(errno));
	close(in);
	close(out);
	return rc;
}

/* A new SQLite file: written under a temporary name, then linked into
 * place (link never replaces: an existing database stays as it is) or,
 * with force, renamed over it. */
static int restore_sqlite(const char *path, const db_url *to, bool force, ms_err *e)
{
	struct stat st;
	if (!force && stat(to->path, &st) == 0)
		return ms_err_set(e, MS_E_EXISTS, "%s exists: a snapshot is restored into a new database"
		                  " (--force replaces it)", to->path);
	char *tmp = g_strdup_printf("%s.%d.tmp", to->path, (int)getpid()), *dir = g_path_get_dirname(to->path);
	int rc = copy_file(path, tmp, e);
	if (rc == 0 && (force ? rename(tmp, to->path) : link(tmp, to->path)) < 0)
		rc = ms_err_set(e, errno == EEXIST ? MS_E_EXISTS : MS_E_IO, "cannot put the snapshot at %s: %s",
		                to->path, strerror(errno));
	unlink(tmp);
	if (rc == 0)
		rc = fsync_path(dir, O_RDONLY | O_DIRECTORY, e);
	g_free(tmp);
	g_free(dir);
	return rc;
}

/* Does the server database hold any table?  1 yes, 0 no, -1 error. */
static int server_has_tables(const char *url, const char *password, db_dialect d, ms_err *e)
{
	db *c;
	if (db_open(url, password, DB_OPEN_READ_ONLY, &c, e) < 0)
		return -1;
	db_stmt *st = NULL;
	int rc = db_prepare(c, d == DB_PGSQL ? "SELECT COUNT(*) FROM information_schema.tables"
	                                        " WHERE table_schema = current_schema()"
	                                      : "SELECT COUNT(*) FROM information_schema.tables"
	                                        " WHERE table_schema = DATABASE()", &st, e);
	if (rc == 0 && (rc = db_step(st, e)) == DB_ROW)
		rc = db_column_int64(st, 0) > 0;
	else if (rc == DB_DONE)
		rc = 0;
	if (st)
		db_finalize(st);
	db_close(c);
	return rc;
}

static int restore_server(const char *path, const char *to_url, const db_url *to, const char *password, bool force,
                          ms_err *e)
{
	int used = server_has_tables(to_url, password, to->dialect, e);
	if (used < 0)
		return -1;
	if (used && !force)
		return ms_err_set(e, MS_E_EXISTS, "database %s holds tables: a snapshot is restored into a new, empty"
		                  " database (--force loads it over them)", to->dbname);
	char port[16];
	snprintf(port, sizeof port, "%d", to->port ? to->port : to->dialect == DB_PGSQL ? 5432 : 3306);
	char host[300], user[300];
	snprintf(host, sizeof host, "%s", to->host);
	snprintf(user, sizeof user, "%s", to->user);
	char dbname[300];
	snprintf(dbname, sizeof dbname, "%s", to->dbname);
	if (to->dialect == DB_PGSQL) {
		/* --clean drops what the dump creates first (only with --force) */
		char *file = g_strdup(path), *clean = force ? "--clean" : "--no-password";
		char *exists = force ? "--if-exists" : "--no-password";
		char *argv[] = { "pg_restore", "--no-owner", "--single-transaction", "--no-password", clean, exists,
		                 "-h", host, "-p", port, "-U", user, "-d", dbname, file, NULL };
		int rc = run_tool(argv, "PGPASSWORD", password, e);
		g_free(file);
		return rc;
	}
	char *argv[] = { "mariadb", "--protocol=TCP", "-h", host, "-P", port, "-u", user, dbname, NULL };
	return run_tool_in(argv, "MYSQL_PWD", password, path, e);
}

int ms_snapshot_restore(const char *path, const char *to_url, const char *password, bool force, ms_err *e)
{
	db_url to;
	if (db_url_parse(to_url, &to, e) < 0)
		return -1;
	char *base = g_path_get_basename(path);
	bool ok = is_snapshot(base);
	const char *want = suffix_of(to.dialect);
	bool kind = g_str_has_suffix(base, want);
	g_free(base);
	struct stat st;
	errno = 0;
	if (!ok)
		return ms_err_set(e, MS_E_USAGE, "%s is not a snapshot (snapshot-YYYYMMDDTHHMMSSZ.sqlite|pgdump|sql)", path);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return ms_err_set(e, MS_E_NOTFOUND, "snapshot %s: %s", path, errno ? strerror(errno) : "not a file");
	if (!kind)
		return ms_err_set(e, MS_E_USAGE, "snapshot %s is not of the target's database kind (a %s file is wanted):"
		                  " a snapshot is loaded into its own kind; mstore backup/restore moves between kinds",
		                  path, want);
	return to.dialect == DB_SQLITE ? restore_sqlite(path, &to, force, e)
	                               : restore_server(path, to_url, &to, password, force, e);
}
