/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A shared library opened when first needed rather than at every start.
 *
 * libcurl, paho-mqtt and cnats bring 38 of the agent's 47 shared libraries
 * (TLS, Kerberos, LDAP, ...): linked, the dynamic loader maps and relocates
 * all of them before main, ~9 ms of CPU at every start, for the few runs
 * that export to HTTP, MQTT or NATS.  So the agent does not link them; the
 * sink that needs one opens it (lazylib_load) and calls it through a table
 * of function pointers whose types are the library's own prototypes
 * (__typeof__): agent/sinks/lazy_*.h list the functions and redirect their
 * names to the table, so the sinks' code reads as before.  A function
 * missing from a list is an undefined reference at link time, a redirect
 * missing from the list a compile error: they cannot drift apart unseen.
 */
#ifndef SF_LAZYLIB_H
#define SF_LAZYLIB_H

#include <stdbool.h>

#include "util.h"

struct lazylib {
	const char *what; /* for messages: "the HTTP output" */
	const char *soname; /* the one the agent was built against */
	/* SFAGENT_TEST_LIB_<NAME>: another soname, for the suites to
	 * simulate a missing library */
	const char *test_env;
	/* fills the table from handle (dlsym); -1: *missing not there */
	int (*fill)(void *handle, const char **missing);
	bool loaded;
};

/* Opens l and fills its table, once per process (thread-safe); later calls
 * return at once.  -1: err set ("cannot load ..."), nothing usable. */
int lazylib_load(struct lazylib *l, struct sf_error **err);

/* In a fill function: the table's field f from handle h, or return -1 with
 * *missing = "f". */
#define LAZYLIB_SYM(table, f, h, missing)                         \
	if (!((table).f = (__typeof__((table).f))dlsym(h, #f))) { \
		*(missing) = #f;                                  \
		return -1;                                        \
	}

#endif
