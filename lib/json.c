// SPDX-License-Identifier: GPL-2.0
#include "json.h"

#include <string.h>

yajl_val json_parse(const char *buf, const char *what, struct sf_error **err)
{
	char ebuf[256];
	yajl_val v;
	char *nl;

	ebuf[0] = 0;
	v = yajl_tree_parse(buf, ebuf, sizeof(ebuf));
	if (!v) {
		/* yajl's message spans lines with a caret display: keep line 1 */
		nl = strchr(ebuf, '\n');
		if (nl)
			*nl = 0;
		sf_usage(err, "%s is not valid JSON (%s)", what,
			 ebuf[0] ? ebuf : "parse error");
	}
	return v;
}

yajl_val json_get(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

const char *json_get_str(yajl_val obj, const char *key)
{
	yajl_val v = json_get(obj, key);

	return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

yajl_gen json_gen_new(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (!g)
		abort();
	yajl_gen_config(g, yajl_gen_validate_utf8, 0);
	return g;
}

void json_gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void json_gen_tree(yajl_gen g, yajl_val v)
{
	if (!v) {
		yajl_gen_null(g);
		return;
	}
	switch (v->type) {
	case yajl_t_string:
		json_gen_str(g, v->u.string);
		break;
	case yajl_t_number:
		yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
		break;
	case yajl_t_object:
		yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			json_gen_str(g, v->u.object.keys[i]);
			json_gen_tree(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
		break;
	case yajl_t_array:
		yajl_gen_array_open(g);
		for (size_t i = 0; i < v->u.array.len; i++)
			json_gen_tree(g, v->u.array.values[i]);
		yajl_gen_array_close(g);
		break;
	case yajl_t_true:
		yajl_gen_bool(g, 1);
		break;
	case yajl_t_false:
		yajl_gen_bool(g, 0);
		break;
	default:
		yajl_gen_null(g);
		break;
	}
}

char *json_gen_take(yajl_gen g, size_t *len)
{
	const unsigned char *buf;
	size_t n;

	yajl_gen_get_buf(g, &buf, &n);
	if (len)
		*len = n;
	return xstrndup((const char *)buf, n);
}
