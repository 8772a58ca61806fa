// SPDX-License-Identifier: GPL-2.0
#include "lazylib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t lazylib_lock = PTHREAD_MUTEX_INITIALIZER;

static int open_fill(struct lazylib *l, struct sf_error **err)
{
	const char *test = getenv(l->test_env);
	const char *so = test && *test ? test : l->soname;
	const char *missing = NULL;
	void *h;

	/* RTLD_NOW: a library that cannot be bound fails here, not at its
	 * first call from a sender thread */
	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return sf_fail(err, 0, "cannot load %s for %s: %s", so, l->what,
			       dlerror());
	/* dlsym's void * to a function pointer: POSIX allows it */
	if (l->fill(h, &missing) < 0) {
		sf_fail(err, 0, "cannot load %s for %s: no %s in it", so,
			l->what, missing);
		dlclose(h);
		return -1;
	}
	/* never closed: its threads and atexit handlers may outlive us */
	log_debug("%s: %s loaded", l->what, so);
	return 0;
}

int lazylib_load(struct lazylib *l, struct sf_error **err)
{
	int r = 0;

	pthread_mutex_lock(&lazylib_lock);
	if (!l->loaded) {
		r = open_fill(l, err);
		l->loaded = r == 0;
	}
	pthread_mutex_unlock(&lazylib_lock);
	return r;
}
