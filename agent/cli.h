/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The option table: one entry per command-line option of sfagent.  getopt's
 * tables, the parsing, the range checks, which modes accept an option, --help,
 * the man page and the shell completion are all made from it (the table is in
 * cli_opts.c; cli.c parses, cli_doc.c writes the help, the man page and the
 * completion).
 * docs/hacking.md says how to add an option or a mode.
 */
#ifndef SF_CLI_H
#define SF_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "options.h"

enum sf_opt_kind {
	SF_OPT_SECTION, /* not an option: a heading in --help and the man page */
	SF_OPT_MODE, /* selects .mode */
	SF_OPT_BOOL, /* bool at .off, set to true */
	SF_OPT_COUNT, /* int at .off, incremented (-v -v) */
	SF_OPT_STR, /* const char * at .off; .bad: refuse "" with that message */
	SF_OPT_PATH, /* const char * at .off, an absolute path (.bad has %s) */
	SF_OPT_UINT, /* unsigned at .off, .min-.max (.bad has %s) */
	SF_OPT_INT, /* int at .off, .min-.max */
	SF_OPT_U64, /* uint64_t at .off, .min-.max, stored shifted by .shift */
	SF_OPT_FUNC, /* .parse does it */
};

/* Which modes accept an option: a set of SF_MB(mode) bits; 0 is every mode. */
#define SF_MB(m)     (1u << (m))
#define SF_MB_RUN    (SF_MB(SF_MODE_EXECUTE) | SF_MB(SF_MODE_PROCESS))
#define SF_MB_LOCAL  (SF_MB_RUN | SF_MB(SF_MODE_CONTAINER) | SF_MB(SF_MODE_ROOT))
#define SF_MB_STREAM (SF_MB_LOCAL | SF_MB(SF_MODE_DAEMON))

struct sf_opt;
typedef int (*sf_opt_parse_fn)(struct sf_options *o, const struct sf_opt *d,
			       const char *arg, struct sf_error **err);

struct sf_opt {
	const char *name; /* long name, without "--" */
	int letter; /* short option letter, 0 if none */
	enum sf_opt_kind kind;
	size_t off; /* offsetof(struct sf_options, field) */
	unsigned long min, max; /* numeric kinds: the accepted range */
	unsigned shift; /* SF_OPT_U64: value << shift is stored (MB -> bytes) */
	enum sf_mode mode; /* SF_OPT_MODE: the mode it selects */
	sf_opt_parse_fn parse; /* SF_OPT_FUNC */
	const char *arg; /* value's name in --help (FILE, N); NULL: no value */
	const char *help; /* --help text; "\n" starts a continuation line */
	const char *bad; /* usage error for a bad value; NULL: a generic one */
	unsigned modes; /* SF_MB bits of the modes that accept it; 0: all */
	const char *modes_bad; /* usage error when given in another mode */
	const char *complete; /* completion: "file", "dir", or words "a b c" */
	unsigned stop : 1; /* parsing stops here (--help, --version) */
	unsigned hidden : 1; /* not in --help, the man page or completion */
};

extern const struct sf_opt cli_opts[];
extern const size_t cli_opts_count;

/* Selects mode m; two different modes are a usage error. */
int cli_set_mode(struct sf_options *o, enum sf_mode m, struct sf_error **err);
/* How an option is written in a message: "-o" if it has a letter, else "--name". */
const char *cli_opt_flag(const struct sf_opt *d, char buf[static 64]);
/* The option table entry that selects mode m, NULL if none (container mode). */
const struct sf_opt *cli_mode_opt(enum sf_mode m);

/* cli_doc.c: the documents made from the table */
void cli_doc_help(FILE *f);
void cli_doc_man(FILE *f);
void cli_doc_completion(FILE *f);
void cli_doc_default(FILE *f);
/* --doc NAME: the writer of document NAME, NULL if none; the names */
typedef void (*cli_doc_fn)(FILE *f);
cli_doc_fn cli_doc_find(const char *name);
const char *cli_doc_names(void);

#endif
