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
 * the user's. */
static int run_tool(char *const argv[], const char *pw_var, const char *password, ms_err *e)
{
	GPtrArray *env = g_ptr_array_new_with_free_func(g_free);
	for (char **v = environ; *v; v++)
		if (strncmp(*v, pw_var, strlen(pw_var)) != 0 || (*v)[strlen(pw_var)] != '=')
			g_ptr_array_add(env, g_strdup(*v));
	if (password)
		g_ptr_array_add(env, g_strdup_printf("%s=%s", pw_var, password));
	g_ptr_array_add(env, NULL);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, (char **)env->pdata);
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

static void rotate(const char *dir, int keep)
{
	char **v;
	if (keep <= 0 || ms_snapshot_list(dir, &v, NULL) < 0)
		return;
	guint n = g_strv_length(v);
	for (guint i = 0; i + (guint)keep < n; i++) {
		char *p = g_build_filename(dir, v[i], NULL);
		unlink(p);
		g_free(p);
	}
	g_strfreev(v);
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
		rotate(dir, keep);
	g_free(final);
	g_free(tmp);
	return rc;
}
