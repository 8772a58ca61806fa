/* SPDX-License-Identifier: GPL-2.0 */
/* Small yajl helpers: parse into a tree, look things up, write a tree back. */
#ifndef SF_JSON_H
#define SF_JSON_H

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "util.h"

static inline void yajl_valp(yajl_val *v)
{
	if (*v)
		yajl_tree_free(*v);
	*v = NULL;
}
static inline void yajl_genp(yajl_gen *g)
{
	if (*g)
		yajl_gen_free(*g);
	*g = NULL;
}
#define cleanup_yajl_val __attribute__((cleanup(yajl_valp)))
#define cleanup_yajl_gen __attribute__((cleanup(yajl_genp)))

/*
 * Every JSON the project reads (OCI state, config.json, the wire, the cgroup
 * xattrs) goes through json_parse: nested at most JSON_DEPTH_MAX levels
 * (checked before yajl's tree parser), no NUL character or lone UTF-16
 * surrogate in any string, no key twice in one object.  Each is refused with
 * one line, the same way everywhere.
 */
#define JSON_DEPTH_MAX	 64
#define JSON_DEPTH_MAX_S "64"
/* NULL, or what is wrong with the text (depth, NUL, lone surrogate). */
const char *json_check_text(const char *buf, size_t len);
/* Parses buf (NUL-terminated).  what names the input in the message. */
yajl_val json_parse(const char *buf, const char *what, struct sf_error **err);
/* obj[key], or NULL when obj is not an object or has no such key. */
yajl_val json_get(yajl_val obj, const char *key);
/* obj[key] as a string, or NULL when absent or of another type. */
const char *json_get_str(yajl_val obj, const char *key);

/* A generator that refuses strings that are not UTF-8.  Every status is
 * checked: callers OR them together (yajl_gen_status_ok is 0). */
yajl_gen json_gen_new(void);
yajl_gen_status json_gen_str(yajl_gen g, const char *s);
/* Writes a parsed tree back (numbers keep their original text); at most
 * JSON_DEPTH_MAX levels. */
yajl_gen_status json_gen_tree(yajl_gen g, yajl_val v);
const char *json_gen_status_str(yajl_gen_status st);
/* The generated text as a new string. */
char *json_gen_take(yajl_gen g, size_t *len);

#endif
