/* SPDX-License-Identifier: GPL-2.0 */
/* The modes.  Each returns the exit status to use, or -1 with *err set. */
#ifndef SF_RUN_H
#define SF_RUN_H

#include "options.h"

int run_execute(const struct sf_options *o, struct sf_error **err);
int run_root(const struct sf_options *o, struct sf_error **err);
int run_container(const struct sf_options *o, struct sf_error **err);
int run_show(const struct sf_options *o, struct sf_error **err);
int run_daemon(const struct sf_options *o, struct sf_error **err);
int run_inject_hook(const struct sf_options *o, struct sf_error **err);

#endif
