/* SPDX-License-Identifier: GPL-2.0 */
/* libcurl (the HTTP output), opened by the first sink that needs it (agent/lazylib.h). */
#ifndef SF_LAZY_CURL_H
#define SF_LAZY_CURL_H

/* curl_easy_setopt/getinfo: curl.h's argument-count macros go (below) */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "lazylib.h"

/* every function of the library the agent calls */
#define LAZY_CURL_FNS(X)       \
	X(curl_easy_cleanup)   \
	X(curl_easy_getinfo)   \
	X(curl_easy_init)      \
	X(curl_easy_perform)   \
	X(curl_easy_setopt)    \
	X(curl_easy_strerror)  \
	X(curl_free)           \
	X(curl_global_init)    \
	X(curl_slist_append)   \
	X(curl_slist_free_all) \
	X(curl_url)            \
	X(curl_url_cleanup)    \
	X(curl_url_get)        \
	X(curl_url_set)

struct lazy_curl {
#define LAZY_FIELD(f) __typeof__(f) *f;
	LAZY_CURL_FNS(LAZY_FIELD)
#undef LAZY_FIELD
};

extern struct lazy_curl lazy_curl;

/* -1: err says which library could not be loaded */
int lazy_curl_load(struct sf_error **err);

#ifndef LAZY_NO_REDIRECT
#undef curl_easy_getinfo
#undef curl_easy_setopt
#define curl_easy_cleanup   (lazy_curl.curl_easy_cleanup)
#define curl_easy_getinfo   (lazy_curl.curl_easy_getinfo)
#define curl_easy_init	    (lazy_curl.curl_easy_init)
#define curl_easy_perform   (lazy_curl.curl_easy_perform)
#define curl_easy_setopt    (lazy_curl.curl_easy_setopt)
#define curl_easy_strerror  (lazy_curl.curl_easy_strerror)
#define curl_free	    (lazy_curl.curl_free)
#define curl_global_init    (lazy_curl.curl_global_init)
#define curl_slist_append   (lazy_curl.curl_slist_append)
#define curl_slist_free_all (lazy_curl.curl_slist_free_all)
#define curl_url	    (lazy_curl.curl_url)
#define curl_url_cleanup    (lazy_curl.curl_url_cleanup)
#define curl_url_get	    (lazy_curl.curl_url_get)
#define curl_url_set	    (lazy_curl.curl_url_set)
#endif

#endif
