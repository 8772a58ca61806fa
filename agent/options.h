/* SPDX-License-Identifier: GPL-2.0 */
/* Every option of sfagent, in one struct passed to whoever needs it. */
#ifndef SF_OPTIONS_H
#define SF_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

enum sf_mode {
	SF_MODE_NONE,
	SF_MODE_CONTAINER, /* -w NAME: run bundle NAME with runc */
	SF_MODE_PROCESS,   /* -P: an interactive shell */
	SF_MODE_EXECUTE,   /* -X: PROGRAM ARGS... */
	SF_MODE_ROOT,	   /* -R: host-wide */
	SF_MODE_SHOW,	   /* -S: list bundles */
	SF_MODE_DAEMON,	   /* -D: per-host agent for the hook */
	SF_MODE_INJECT,	   /* --inject-hook BUNDLE: add sfhook to config.json */
};

struct sf_options {
	enum sf_mode mode;
	const char *workload;	 /* -w */
	const char *output;	 /* -o, "-" for stdout */
	const char *broker;	 /* -b */
	int port;		 /* -p */
	const char *topic;	 /* -t */
	unsigned queue_size;	 /* -q */
	const char *exporter;	 /* -e, default: hostname */
	const char *format;	 /* -F */
	const char *debug_file;	 /* -d */
	int verbose;		 /* -v, repeatable */
	bool follow;		 /* -f (root mode) */
	unsigned duration;	 /* --duration, seconds (root mode) */
	uint32_t ringbuf_bytes;	 /* --ringbuf-size */
	const char *bundle_dir;	 /* -B, SFAGENT_BUNDLES */
	const char *btf_path;	 /* --btf (tests, unusual kernels) */
	const char *socket_path; /* --socket (daemon, --inject-hook) */
	const char *output_dir;	 /* --output-dir (daemon) */
	const char *inject_bundle; /* --inject-hook BUNDLE_DIR */
	const char *hook_path;	 /* --hook-path (--inject-hook) */
	bool help, version;
	int argc;		 /* PROGRAM ARGS... */
	char **argv;
};

/* Parses argv into o.  Usage errors come back with status SF_EXIT_USAGE. */
int sf_parse_args(int argc, char **argv, struct sf_options *o,
		  struct sf_error **err);
void sf_usage_print(FILE *f);
const char *sf_mode_name(enum sf_mode m);

#endif
