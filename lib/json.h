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

/* Parses buf (NUL-terminated).  what names the input in the message. */
yajl_val json_parse(const char *buf, const char *what, struct sf_error **err);
/* obj[key], or NULL when obj is not an object or has no such key. */
yajl_val json_get(yajl_val obj, const char *key);
/* obj[key] as a string, or NULL when absent or of another type. */
const char *json_get_str(yajl_val obj, const char *key);

yajl_gen json_gen_new(void);
void json_gen_str(yajl_gen g, const char *s);
/* Writes a parsed tree back (numbers keep their original text). */
void json_gen_tree(yajl_gen g, yajl_val v);
/* The generated text as a new string. */
char *json_gen_take(yajl_gen g, size_t *len);

#endif
