/* SPDX-License-Identifier: GPL-2.0 */
/* --inject-hook's rewrite of config.json, apart from the files (fuzzed). */
#ifndef SF_RUN_INJECT_H
#define SF_RUN_INJECT_H

#include <stdbool.h>

#include "util.h"

struct run_inject {
	const char *hook;
	const char *socket; /* NULL: the default */
};

/*
 * config.json text with sfhook added as prestart and poststop hook: every
 * other key and value as it was (same order, numbers as written).  NULL with
 * *present set when both hooks are there already, NULL with *err when the
 * text is not a config.json it can rewrite.
 */
char *run_inject_text(const char *buf, const char *path,
		      const struct run_inject *in, bool *present,
		      struct sf_error **err);

#endif
