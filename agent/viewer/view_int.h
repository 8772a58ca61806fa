/* SPDX-License-Identifier: GPL-2.0 */
/* The viewer's parts: text lines (view_text.c), process trees (view_tree.c). */
#ifndef SF_VIEW_INT_H
#define SF_VIEW_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "json.h"

/*
 * One human line for a record: time, workload, pid, comm, type, the event's
 * main object, ret; or the template with @key placeholders replaced (@time,
 * @object and @type are computed, any other @key is the record's key).
 * obj: the native record, or a quixote event with its body.
 */
void view_text_line(FILE *out, const char *template, const char *type,
		    yajl_val obj, yajl_val qbody, bool quixote);
/* The event's main object as text ("/etc/passwd", "127.0.0.1:80", ...). */
void view_text_object(char *buf, size_t n, const char *type, yajl_val obj,
		      yajl_val qbody);
/* s with control characters and '\\' written as \\xNN: what a container
 * chose never moves a terminal's cursor or starts a line of its own. */
void view_text_put(FILE *out, const char *s);
/* o[k] as a number (quixote writes numbers as strings), or dflt. */
long long view_num(yajl_val o, const char *k, long long dflt);
/* UTC time with ns: 2026-12-01T10:31:28.914703317Z */
void view_text_time(char *buf, size_t n, long long ns);

/* An event type's name, NULL when the number has none. */
const char *view_type_name(unsigned type);

struct view_tree;
struct view_tree *view_tree_new(void);
void view_tree_add(struct view_tree *t, const char *type, yajl_val obj,
		   bool quixote, yajl_val qbody);
/* key: "workload\ncontainer" */
void view_tree_print(struct view_tree *t, FILE *out, const char *key);
void view_tree_free(struct view_tree *t);

#endif
