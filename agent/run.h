/* SPDX-License-Identifier: GPL-2.0 */
/* The modes.  Each returns the exit status to use, or -1 with *err set. */
#ifndef SF_RUN_H
#define SF_RUN_H

#include "options.h"

typedef int (*sf_run_fn)(const struct sf_options *o, struct sf_error **err);

/*
 * The mode table (main.c): what runs each mode and whether it needs root.
 * The option that selects a mode is in the option table (cli.c, kind
 * SF_OPT_MODE); docs/hacking.md says how to add a mode.
 */
struct sf_mode_desc {
	enum sf_mode mode;
	sf_run_fn run;
	/* NULL: runs as any user; else the error when not root */
	const char *needs_root;
};

int run_execute(const struct sf_options *o, struct sf_error **err);
int run_root(const struct sf_options *o, struct sf_error **err);
int run_container(const struct sf_options *o, struct sf_error **err);
int run_show(const struct sf_options *o, struct sf_error **err);
int run_daemon(const struct sf_options *o, struct sf_error **err);
int run_inject_hook(const struct sf_options *o, struct sf_error **err);

#endif
