/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OCI bundles as container mode (-w) and the bundle listing (-S) see them:
 * config.json parsed with yajl, the rootfs checked, the metadata that goes
 * into stream.start.  The bundle on disk is only ever read.
 */
#ifndef SF_BUNDLE_H
#define SF_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "sbuf.h"
#include "util.h"

/* How far a bundle's parts checked out, for -S. */
enum bundle_state {
	BUNDLE_UNCHECKED, /* an earlier problem stopped the check */
	BUNDLE_OK,
	BUNDLE_MISSING,
	BUNDLE_INVALID,
};

struct bundle {
	char *name; /* workload name: the bundle's name */
	char *dir; /* absolute bundle directory */
	char **args; /* process.args, NULL-terminated */
	size_t nargs;
	char *cwd; /* process.cwd */
	char *hostname; /* NULL when config.json has none */
	char *rootfs; /* root.path made absolute */
	char *meta_json; /* stream.start "meta": never the environment */
	enum bundle_state config, root;
};

/*
 * Reads and checks the bundle in dir (named name).  On a problem returns -1
 * with *err saying what is wrong ("config.json: parse error at line 3 ...",
 * status SF_EXIT_ENV); b->config and b->root say how far it got.  b must be
 * freed with bundle_free() either way.
 */
int bundle_load(struct bundle *b, const char *dir, const char *name,
		struct sf_error **err);
void bundle_free(struct bundle *b);

/*
 * -w ARG to a bundle directory and a workload name: ARG with a '/' is a path
 * (the name is its last component), anything else a name in bundle_dir.
 * A bundle that does not exist is a usage error.
 */
int bundle_resolve(const char *bundle_dir, const char *arg, char **dir,
		   char **name, struct sf_error **err);

/*
 * s for a terminal (config.json is untrusted): control bytes and bytes
 * outside printable ASCII as \xNN; with quote, single-quoted when it has
 * spaces or shell metacharacters (an argument), else as is (a message).
 */
void bundle_display_str(struct sbuf *o, const char *s, bool quote);
/* process.args as one line for humans: `/bin/sh /workload.sh` */
char *bundle_display_args(const struct bundle *b);

#endif
