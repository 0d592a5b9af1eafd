/* dynlib.c - see dynlib.h. */
#include "db/dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static void load(db_dynlib *lib)
{
	/* RTLD_LOCAL: the client's symbols serve only the table (nothing else
	 * in mstore links them); RTLD_NOW: a missing symbol fails here, not in
	 * the middle of a transaction. */
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(lib->error, sizeof lib->error, "%s", dlerror());
		return;
	}
	for (size_t i = 0; i < lib->nsyms; i++) {
		void *f = dlsym(h, lib->syms[i].name);
		if (!f) {
			snprintf(lib->error, sizeof lib->error, "%s has no %s (another version of the client?)", lib->soname,
			         lib->syms[i].name);
			dlclose(h);
			return;
		}
		*lib->syms[i].slot = f;
	}
	lib->handle = h;
}

int db_dynlib_load(db_dynlib *lib, ms_err *e)
{
	pthread_mutex_lock(&load_lock);
	if (!lib->tried) {
		load(lib);
		lib->tried = true;
	}
	bool ok = lib->handle != NULL;
	pthread_mutex_unlock(&load_lock);
	if (ok)
		return 0;
	return ms_err_set(e, MS_E_DB, "cannot load the database client %s: %s (install the package %s)", lib->soname,
	                  lib->error, lib->package);
}
