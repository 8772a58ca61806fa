/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading streams back: the records of stored (sfagent show) or live
 * (sfagent watch) streams, JSON lines as the json and quixote formats write
 * them, filtered with the filter language (docs/filters.md) and printed as
 * JSON, as one human line per record (evmshow's style, or a -t template
 * with @key placeholders), or as a process tree per stream.
 *
 * Stream records (stream.start/missed/end) always pass the filter: they
 * frame what was kept and say what was lost.
 */
#ifndef SF_VIEW_H
#define SF_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

enum view_format { VIEW_TEXT, VIEW_JSON };

struct view_opts {
	const char *filter; /* EXPR or @FILE, NULL: all */
	enum view_format format;
	const char *template; /* -t: "@time @pid @type ..." */
	bool tree; /* process tree per stream instead of records */
};

struct view;

struct view *view_new(const struct view_opts *o, FILE *out,
		      struct sf_error **err);
/* One record, a JSON line (without its '\n').  A line that is no record
 * is counted (view_bad) and skipped. */
void view_record(struct view *v, const char *line, size_t len);
/* Prints what waits for the end (the trees). */
void view_finish(struct view *v);
uint64_t view_bad(const struct view *v);
uint64_t view_shown(const struct view *v);
void view_free(struct view *v);

/* sfagent show [OPTIONS] FILE|DIR...: the command (view_show.c). */
int view_show_main(int argc, char **argv);
/* sfagent watch / sfagent status (view_watch.c). */
int view_watch_main(int argc, char **argv);
int view_status_main(int argc, char **argv);

#endif
