// SPDX-License-Identifier: GPL-2.0
#include "json.h"

#include <string.h>

/*
 * One pass over the raw text before yajl sees it, with yajl's own lexing of
 * strings and comments: the nesting depth (yajl_tree_free recurses, and
 * yajl_gen stops at 128 levels), NUL characters (yajl's tree keeps strings
 * without their length, so "a\u0000b" would read as "a") and UTF-16
 * surrogates that do not pair (yajl turns a lone one into "?" or into bytes
 * that are not UTF-8), and raw bytes that are not UTF-8.  Returns NULL or
 * what is wrong.
 */
static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* p points after a backslash inside a string; returns the bytes consumed */
static size_t scan_escape(const char *p, const char *end, const char **why)
{
	int u, lo;

	if (p >= end || *p != 'u')
		return p < end ? 1 : 0;
	if (end - p < 5 || (u = hex4(p + 1)) < 0)
		return 1; /* yajl refuses it */
	if (u == 0) {
		*why = "holds a NUL character (\\u0000)";
		return 5;
	}
	if (u >= 0xdc00 && u <= 0xdfff) {
		*why = "holds a lone UTF-16 surrogate (\\udc00-\\udfff without a \\ud800-\\udbff before it)";
		return 5;
	}
	if (u < 0xd800 || u > 0xdbff)
		return 5;
	if (end - p < 11 || p[5] != '\\' || p[6] != 'u' ||
	    (lo = hex4(p + 7)) < 0xdc00 || lo > 0xdfff) {
		*why = "holds a lone UTF-16 surrogate (\\ud800-\\udbff not followed by \\udc00-\\udfff)";
		return 5;
	}
	return 11;
}

/* The length of the well-formed UTF-8 character at p (RFC 3629: shortest
 * form, no surrogates, at most U+10FFFF), 0 if it is not one.  yajl's own
 * check lets overlong forms such as C1 96 through. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], n, cp;

	n = c >= 0xc2 && c <= 0xdf   ? 1
	    : c >= 0xe0 && c <= 0xef ? 2
	    : c >= 0xf0 && c <= 0xf4 ? 3
				     : 0;
	if (!n || end - p <= (ptrdiff_t)n)
		return 0;
	cp = c & (0x3f >> n);
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

/* The bytes the scan acts on, outside strings and inside them: runs of
 * the others are skipped a byte at a time without the tests below (a
 * runtime's config.json is ~30 KiB, mostly such runs). */
static const unsigned char json_special[256] = {
	['"'] = 1, ['/'] = 1, ['['] = 1,	   ['{'] = 1,
	[']'] = 1, ['}'] = 1, [0x80 ... 0xff] = 1,
};
static const unsigned char json_string_special[256] = {
	['"'] = 1,
	['\\'] = 1,
	[0x80 ... 0xff] = 1,
};

const char *json_check_text(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *why = NULL;
	int depth = 0;

	if (memchr(buf, 0, len))
		return "holds a NUL byte";
	while (p < end && !why) {
		char c;

		while (p < end && !json_special[(unsigned char)*p])
			p++;
		if (p == end)
			break;
		c = *p++;

		if ((unsigned char)c >= 0x80) {
			size_t n = utf8_len((const unsigned char *)p - 1,
					    (const unsigned char *)end);

			if (!n)
				return "holds bytes that are not UTF-8";
			p += n - 1;
		} else if (c == '"') {
			for (;;) {
				while (p < end &&
				       !json_string_special[(unsigned char)*p])
					p++;
				if (p >= end || *p == '"' || why)
					break;
				if ((unsigned char)*p >= 0x80) {
					size_t n = utf8_len(
						(const unsigned char *)p,
						(const unsigned char *)end);

					if (!n)
						return "holds bytes that are not UTF-8";
					p += n;
				} else if (*p++ == '\\') {
					p += scan_escape(p, end, &why);
				}
			}
			p++;
		} else if (c == '/' && p < end && *p == '*') {
			const char *e = strstr(p + 1, "*/");

			p = e ? e + 2 : end;
		} else if (c == '/' && p < end && *p == '/') {
			const char *e = memchr(p, '\n', end - p);

			p = e ? e + 1 : end;
		} else if (c == '[' || c == '{') {
			if (++depth > JSON_DEPTH_MAX)
				return "is nested deeper than " JSON_DEPTH_MAX_S
				       " levels";
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return why;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A key given twice: readers disagree on which one counts (first, last). */
static const char *dup_key(yajl_val v)
{
	const char *d = NULL;

	if (YAJL_IS_ARRAY(v)) {
		for (size_t i = 0; i < v->u.array.len && !d; i++)
			d = dup_key(v->u.array.values[i]);
		return d;
	}
	if (!YAJL_IS_OBJECT(v))
		return NULL;
	if (v->u.object.len > 1) {
		size_t n = v->u.object.len;
		cleanup_free const char **k = xmalloc(n * sizeof(*k));

		memcpy(k, v->u.object.keys, n * sizeof(*k));
		qsort(k, n, sizeof(*k), key_cmp);
		for (size_t i = 1; i < n; i++)
			if (!strcmp(k[i - 1], k[i]))
				return k[i];
	}
	for (size_t i = 0; i < v->u.object.len && !d; i++)
		d = dup_key(v->u.object.values[i]);
	return d;
}

yajl_val json_parse(const char *buf, const char *what, struct sf_error **err)
{
	char ebuf[256];
	const char *why, *dup;
	yajl_val v;
	char *nl;

	why = json_check_text(buf, strlen(buf));
	if (why) {
		sf_usage(err, "%s %s: refusing it", what, why);
		return NULL;
	}
	ebuf[0] = 0;
	v = yajl_tree_parse(buf, ebuf, sizeof(ebuf));
	if (!v) {
		/* yajl's message spans lines with a caret display: keep line 1 */
		nl = strchr(ebuf, '\n');
		if (nl)
			*nl = 0;
		sf_usage(err, "%s is not valid JSON (%s)", what,
			 ebuf[0] ? ebuf : "parse error");
		return NULL;
	}
	dup = dup_key(v);
	if (dup) {
		sf_usage(
			err,
			"%s has the key `%.100s` twice in one object: refusing it (readers disagree on which one counts)",
			what, dup);
		yajl_tree_free(v);
		return NULL;
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
	/* what is not UTF-8 is an error status, never written out */
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

yajl_gen_status json_gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static yajl_gen_status gen_tree(yajl_gen g, yajl_val v, int depth)
{
	yajl_gen_status st = yajl_gen_status_ok;

	if (!v)
		return yajl_gen_null(g);
	switch (v->type) {
	case yajl_t_string:
		return json_gen_str(g, v->u.string);
	case yajl_t_number:
		return yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
	case yajl_t_object:
		if (depth >= JSON_DEPTH_MAX)
			return yajl_max_depth_exceeded;
		st = yajl_gen_map_open(g);
		for (size_t i = 0; !st && i < v->u.object.len; i++) {
			st = json_gen_str(g, v->u.object.keys[i]);
			if (!st)
				st = gen_tree(g, v->u.object.values[i],
					      depth + 1);
		}
		return st ? st : yajl_gen_map_close(g);
	case yajl_t_array:
		if (depth >= JSON_DEPTH_MAX)
			return yajl_max_depth_exceeded;
		st = yajl_gen_array_open(g);
		for (size_t i = 0; !st && i < v->u.array.len; i++)
			st = gen_tree(g, v->u.array.values[i], depth + 1);
		return st ? st : yajl_gen_array_close(g);
	case yajl_t_true:
		return yajl_gen_bool(g, 1);
	case yajl_t_false:
		return yajl_gen_bool(g, 0);
	default:
		return yajl_gen_null(g);
	}
}

yajl_gen_status json_gen_tree(yajl_gen g, yajl_val v)
{
	return gen_tree(g, v, 0);
}

const char *json_gen_status_str(yajl_gen_status st)
{
	switch (st) {
	case yajl_gen_status_ok:
		return "ok";
	case yajl_max_depth_exceeded:
		return "nested too deep";
	case yajl_gen_invalid_string:
		return "a string that is not UTF-8";
	case yajl_gen_invalid_number:
		return "an invalid number";
	default:
		return "a generator error";
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
