/* orig_way - the no-op re-run done the way the original synchronizer does
 * it, for the benchmark's comparison: walk the data directory with one
 * thread and ask the database, file by file, whether a row names the file
 * (one indexed SELECT per file, after the documented custom index
 * idx_custom_hm_messages_messagefilename).
 *
 * usage: orig_way DBURL DATA_DIR    (password from MSTORE_DB_PASSWORD)
 * Prints "FILES REFERENCED".
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "walk/walk.h"

typedef struct counts {
	long files, referenced;
	db_stmt *st;
} counts;

static int check_file(counts *c, const char *name)
{
	ms_err e = { 0 };
	c->files++;
	if (db_reset(c->st, &e) < 0 || db_bind_text(c->st, 1, name, &e) < 0)
		goto fail;
	int rc = db_step(c->st, &e);
	if (rc == DB_ERROR)
		goto fail;
	if (rc == DB_ROW)
		c->referenced++;
	return 0;
fail:
	fprintf(stderr, "orig_way: %s\n", e.msg);
	return -1;
}

static int walk(counts *c, int dfd)
{
	DIR *d = fdopendir(dfd);
	if (!d)
		return -1;
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type == DT_DIR) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (sub >= 0)
				rc = walk(c, sub);
		} else if (de->d_type == DT_REG && ms_walk_is_message_name(de->d_name)) {
			rc = check_file(c, de->d_name);
		}
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: orig_way DBURL DATA_DIR\n");
		return 2;
	}
	db *d;
	ms_err e = { 0 };
	counts c = { 0 };
	if (db_open(argv[1], getenv("MSTORE_DB_PASSWORD"), DB_OPEN_READ_ONLY, &d, &e) < 0 ||
	    db_prepare(d, "SELECT messageid FROM hm_messages WHERE messagefilename = ?", &c.st, &e) < 0) {
		fprintf(stderr, "orig_way: %s\n", e.msg);
		return 1;
	}
	int root = open(argv[2], O_RDONLY | O_DIRECTORY);
	int rc = root >= 0 ? walk(&c, root) : -1;
	db_finalize(c.st);
	db_close(d);
	printf("%ld %ld\n", c.files, c.referenced);
	return rc == 0 ? 0 : 1;
}
