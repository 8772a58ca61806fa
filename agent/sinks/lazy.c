// SPDX-License-Identifier: GPL-2.0
/*
 * The network sinks' libraries, opened at the first sink of each kind
 * (agent/lazylib.h).  LAZY_SONAME_*: the SONAMEs of the libraries the agent
 * was built against (the Makefile reads them), so the ABI is the headers'.
 */
#include <dlfcn.h>

#define LAZY_NO_REDIRECT
#include "lazy_curl.h"
#include "lazy_nats.h"
#include "lazy_paho.h"

struct lazy_curl lazy_curl;
struct lazy_paho lazy_paho;
struct lazy_nats lazy_nats;

static int lazy_curl_fill(void *h, const char **missing)
{
#define ONE(f) LAZYLIB_SYM(lazy_curl, f, h, missing)
	LAZY_CURL_FNS(ONE)
#undef ONE
	return 0;
}

static int lazy_paho_fill(void *h, const char **missing)
{
#define ONE(f) LAZYLIB_SYM(lazy_paho, f, h, missing)
	LAZY_PAHO_FNS(ONE)
#undef ONE
	return 0;
}

static int lazy_nats_fill(void *h, const char **missing)
{
#define ONE(f) LAZYLIB_SYM(lazy_nats, f, h, missing)
	LAZY_NATS_FNS(ONE)
#undef ONE
	return 0;
}

static struct lazylib curl_lib = {
	.what = "the HTTP output",
	.soname = LAZY_SONAME_CURL,
	.test_env = "SFAGENT_TEST_LIB_CURL",
	.fill = lazy_curl_fill,
};
static struct lazylib paho_lib = {
	.what = "the MQTT output",
	.soname = LAZY_SONAME_PAHO,
	.test_env = "SFAGENT_TEST_LIB_PAHO",
	.fill = lazy_paho_fill,
};
static struct lazylib nats_lib = {
	.what = "the NATS output",
	.soname = LAZY_SONAME_NATS,
	.test_env = "SFAGENT_TEST_LIB_NATS",
	.fill = lazy_nats_fill,
};

int lazy_curl_load(struct sf_error **err)
{
	return lazylib_load(&curl_lib, err);
}

int lazy_paho_load(struct sf_error **err)
{
	return lazylib_load(&paho_lib, err);
}

int lazy_nats_load(struct sf_error **err)
{
	return lazylib_load(&nats_lib, err);
}
