// SPDX-License-Identifier: GPL-2.0
/* libavro, opened for the first sysflow stream (lazy_avro.h).
 * LAZY_SONAME_AVRO: the SONAME the agent was built against (Makefile). */
#include <dlfcn.h>

#define LAZY_NO_REDIRECT
#include "lazy_avro.h"

struct lazy_avro lazy_avro;

static int lazy_avro_fill(void *h, const char **missing)
{
#define ONE(f) LAZYLIB_SYM(lazy_avro, f, h, missing)
	LAZY_AVRO_FNS(ONE)
#undef ONE
	return 0;
}

static struct lazylib avro_lib = {
	.what = "the sysflow format",
	.soname = LAZY_SONAME_AVRO,
	.test_env = "SFAGENT_TEST_LIB_AVRO",
	.fill = lazy_avro_fill,
};

int lazy_avro_load(struct sf_error **err)
{
	return lazylib_load(&avro_lib, err);
}
