// SPDX-License-Identifier: GPL-2.0
/*
 * config.json, read with yajl's callbacks rather than into a tree: a
 * runtime's config carries its seccomp profile, environment and mounts
 * (30 KiB and more), of which the hook keeps five fields, and yajl's tree
 * grows every array and object one element at a time (a 28 KiB config:
 * ~500 us in yajl_tree_parse, at every container start).
 *
 * What is refused is what json_parse() refuses, in the same order: the
 * text first (json_check_text: depth, NUL, surrogates, UTF-8), then yajl's
 * syntax (comments allowed, as yajl_tree_parse allows them), then a key
 * twice in one object (the first such object in document order is named,
 * with its smallest repeated key, as json.c's dup_key() does), then the
 * root not being an object, then the fields' types in the order
 * oci_config_parse always checked them.
 */
#include <string.h>
#include <yajl/yajl_parse.h>

#include "json.h"
#include "oci.h"

/* What a JSON value is, from where it stands in the document. */
enum cfg_field {
	CF_NONE,
	CF_TOP, /* the root object */
	CF_PROCESS,
	CF_ARGS,
	CF_ARG,
	CF_CWD,
	CF_HOSTNAME,
	CF_ROOT,
	CF_ROOT_PATH,
	CF_ANN,
	CF_ANN_VALUE,
};

/* The field errors, in the order they are reported when several hold. */
enum cfg_error {
	CE_NONE,
	CE_PROCESS, /* "process" is not an object */
	CE_ARGS, /* "process.args" is not an array */
	CE_ARG, /* "process.args" holds a non-string */
	CE_ANN, /* "annotations" is not an object (null is none) */
	CE_ANN_VALUE, /* an annotation is not a string */
};

struct cfg_frame {
	bool map;
	enum cfg_field field;
	size_t seq; /* maps: start order (document order) */
	char **keys; /* maps: every key so far, copied */
	size_t nkeys, cap;
};

struct cfg_parse {
	struct oci_config *c;
	struct cfg_frame st[JSON_DEPTH_MAX + 1];
	int depth;
	size_t maps; /* maps started */
	bool root_seen, root_map;
	char *dup; /* the repeated key reported, and its object's seq */
	size_t dup_seq;
	enum cfg_error error;
	char *error_key; /* CE_ANN_VALUE: which annotation */
	size_t args_cap, ann_cap;
};

static const char *cur_key(const struct cfg_frame *f)
{
	return f->map && f->nkeys ? f->keys[f->nkeys - 1] : NULL;
}

/* What the value that starts now is. */
static enum cfg_field value_field(const struct cfg_parse *p)
{
	const struct cfg_frame *f;
	const char *k;

	if (!p->depth)
		return CF_TOP;
	f = &p->st[p->depth - 1];
	k = cur_key(f);
	switch (f->field) {
	case CF_TOP:
		return !k			   ? CF_NONE
		       : !strcmp(k, "process")	   ? CF_PROCESS
		       : !strcmp(k, "hostname")	   ? CF_HOSTNAME
		       : !strcmp(k, "root")	   ? CF_ROOT
		       : !strcmp(k, "annotations") ? CF_ANN
						   : CF_NONE;
	case CF_PROCESS:
		return !k		    ? CF_NONE
		       : !strcmp(k, "args") ? CF_ARGS
		       : !strcmp(k, "cwd")  ? CF_CWD
					    : CF_NONE;
	case CF_ROOT:
		return k && !strcmp(k, "path") ? CF_ROOT_PATH : CF_NONE;
	case CF_ARGS:
		return CF_ARG;
	case CF_ANN:
		return CF_ANN_VALUE;
	default:
		return CF_NONE;
	}
}

/* The first error of the lowest rank is the one reported. */
static void field_error(struct cfg_parse *p, enum cfg_error e)
{
	if (p->error && p->error <= e)
		return;
	p->error = e;
	free(p->error_key);
	p->error_key = NULL;
	if (e == CE_ANN_VALUE)
		p->error_key = xstrdup(cur_key(&p->st[p->depth - 1]));
}

/* A value that is not a string, an object or an array where it stands. */
static void not_string(struct cfg_parse *p, enum cfg_field f, bool null)
{
	switch (f) {
	case CF_TOP:
		p->root_seen = true;
		break;
	case CF_PROCESS:
		field_error(p, CE_PROCESS);
		break;
	case CF_ARGS:
		field_error(p, CE_ARGS);
		break;
	case CF_ARG:
		field_error(p, CE_ARG);
		break;
	case CF_ANN:
		if (!null)
			field_error(p, CE_ANN);
		break;
	case CF_ANN_VALUE:
		field_error(p, CE_ANN_VALUE);
		break;
	default:
		break; /* cwd, hostname, root.path of another type: none */
	}
}

static int on_null(void *ctx)
{
	struct cfg_parse *p = ctx;

	not_string(p, value_field(p), true);
	return 1;
}

static int on_bool(void *ctx, int b)
{
	struct cfg_parse *p = ctx;

	not_string(p, value_field(p), false);
	return 1;
}

static int on_number(void *ctx, const char *s, size_t len)
{
	struct cfg_parse *p = ctx;

	not_string(p, value_field(p), false);
	return 1;
}

static void set_once(char **dst, const unsigned char *s, size_t len)
{
	if (!*dst) /* a key given twice is refused at the end */
		*dst = xstrndup((const char *)s, len);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct cfg_parse *p = ctx;
	struct oci_config *c = p->c;
	enum cfg_field f = value_field(p);

	switch (f) {
	case CF_HOSTNAME:
		set_once(&c->hostname, s, len);
		break;
	case CF_CWD:
		set_once(&c->cwd, s, len);
		break;
	case CF_ROOT_PATH:
		set_once(&c->root_path, s, len);
		break;
	case CF_ARG:
		if (c->nargs + 1 >= p->args_cap) {
			p->args_cap = p->args_cap ? p->args_cap * 2 : 8;
			c->args = xrealloc(c->args,
					   p->args_cap * sizeof(*c->args));
		}
		c->args[c->nargs++] = xstrndup((const char *)s, len);
		c->args[c->nargs] = NULL;
		break;
	case CF_ANN_VALUE:
		if (c->nann == p->ann_cap) {
			p->ann_cap = p->ann_cap ? p->ann_cap * 2 : 8;
			c->ann = xrealloc(c->ann, p->ann_cap * sizeof(*c->ann));
		}
		c->ann[c->nann].key = xstrdup(cur_key(&p->st[p->depth - 1]));
		c->ann[c->nann++].value = xstrndup((const char *)s, len);
		break;
	default:
		not_string(p, f, false);
		break;
	}
	return 1;
}

static int push(struct cfg_parse *p, bool map, enum cfg_field f)
{
	struct cfg_frame *fr;

	if (p->depth >= (int)(sizeof(p->st) / sizeof(p->st[0])))
		return 0; /* json_check_text keeps the depth within this */
	fr = &p->st[p->depth++];
	memset(fr, 0, sizeof(*fr));
	fr->map = map;
	fr->field = f;
	if (map)
		fr->seq = p->maps++;
	return 1;
}

static int on_start_map(void *ctx)
{
	struct cfg_parse *p = ctx;
	enum cfg_field f = value_field(p);

	switch (f) {
	case CF_TOP:
		p->root_seen = p->root_map = true;
		break;
	case CF_PROCESS:
	case CF_ROOT:
		break;
	case CF_ANN:
		if (!p->c->ann)
			p->c->ann = xzalloc(sizeof(*p->c->ann));
		break;
	default:
		not_string(p, f, false);
		f = CF_NONE;
		break;
	}
	return push(p, true, f);
}

static int on_map_key(void *ctx, const unsigned char *k, size_t len)
{
	struct cfg_parse *p = ctx;
	struct cfg_frame *f = &p->st[p->depth - 1];

	if (f->nkeys == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->keys = xrealloc(f->keys, f->cap * sizeof(*f->keys));
	}
	f->keys[f->nkeys++] = xstrndup((const char *)k, len);
	return 1;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void frame_free(struct cfg_frame *f)
{
	for (size_t i = 0; i < f->nkeys; i++)
		free(f->keys[i]);
	free(f->keys);
	f->keys = NULL;
	f->nkeys = 0;
}

static int on_end_map(void *ctx)
{
	struct cfg_parse *p = ctx;
	struct cfg_frame *f = &p->st[--p->depth];

	if (f->nkeys > 1 && (!p->dup || f->seq < p->dup_seq)) {
		qsort(f->keys, f->nkeys, sizeof(*f->keys), key_cmp);
		for (size_t i = 1; i < f->nkeys; i++) {
			if (!strcmp(f->keys[i - 1], f->keys[i])) {
				free(p->dup);
				p->dup = xstrdup(f->keys[i]);
				p->dup_seq = f->seq;
				break;
			}
		}
	}
	frame_free(f);
	return 1;
}

static int on_start_array(void *ctx)
{
	struct cfg_parse *p = ctx;
	enum cfg_field f = value_field(p);

	if (f == CF_ARGS) {
		if (!p->c->args)
			p->c->args = xzalloc(sizeof(*p->c->args));
	} else {
		not_string(p, f, false);
		f = CF_NONE;
	}
	return push(p, false, f);
}

static int on_end_array(void *ctx)
{
	struct cfg_parse *p = ctx;

	p->depth--;
	return 1;
}

static const yajl_callbacks cfg_callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_map_key,
	.yajl_end_map = on_end_map,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end_array,
};

/* yajl's message, its first line (as json_parse gives it) */
static int syntax_error(yajl_handle h, const char *buf, size_t len,
			const char *path, struct sf_error **err)
{
	unsigned char *m =
		yajl_get_error(h, 1, (const unsigned char *)buf, len);
	char ebuf[256];
	char *nl;

	snprintf(ebuf, sizeof(ebuf), "%s", m ? (char *)m : "");
	if (m)
		yajl_free_error(h, m);
	nl = strchr(ebuf, '\n');
	if (nl)
		*nl = 0;
	return sf_usage(err, "%s is not valid JSON (%s)", path,
			ebuf[0] ? ebuf : "parse error");
}

static int cfg_report(struct cfg_parse *p, const char *path,
		      struct sf_error **err)
{
	if (p->dup)
		return sf_usage(
			err,
			"%s has the key `%.100s` twice in one object: refusing it (readers disagree on which one counts)",
			path, p->dup);
	if (!p->root_map)
		return sf_usage(err, "`%s` is not a JSON object", path);
	switch (p->error) {
	case CE_PROCESS:
		return sf_usage(err, "`%s`: \"process\" is not an object",
				path);
	case CE_ARGS:
		return sf_usage(err, "`%s`: \"process.args\" is not an array",
				path);
	case CE_ARG:
		return sf_usage(
			err, "`%s`: \"process.args\" holds a non-string", path);
	case CE_ANN:
		return sf_usage(err, "%s: \"annotations\" is not an object",
				path);
	case CE_ANN_VALUE:
		return sf_usage(err, "%s: annotation `%.100s` is not a string",
				path, p->error_key);
	default:
		return 0;
	}
}

int oci_config_parse(const char *buf, const char *path, struct oci_config *c,
		     struct sf_error **err)
{
	struct cfg_parse p = {.c = c};
	size_t len = strlen(buf);
	const char *why;
	yajl_handle h;
	int ret;

	memset(c, 0, sizeof(*c));
	why = json_check_text(buf, len);
	if (why)
		return sf_usage(err, "%s %s: refusing it", path, why);
	h = yajl_alloc(&cfg_callbacks, NULL, &p);
	if (!h)
		abort();
	yajl_config(h, yajl_allow_comments, 1);
	if (yajl_parse(h, (const unsigned char *)buf, len) != yajl_status_ok ||
	    yajl_complete_parse(h) != yajl_status_ok)
		ret = syntax_error(h, buf, len, path, err);
	else
		ret = cfg_report(&p, path, err);
	yajl_free(h);
	/* frames a syntax error left open */
	while (p.depth > 0)
		frame_free(&p.st[--p.depth]);
	free(p.dup);
	free(p.error_key);
	if (ret < 0)
		oci_config_free(c);
	return ret;
}

int oci_config_load(const char *bundle, struct oci_config *c,
		    struct sf_error **err)
{
	cleanup_free char *path = xasprintf("%s/config.json", bundle);
	cleanup_free char *buf = NULL;

	memset(c, 0, sizeof(*c));
	if (read_file(path, &buf, NULL, OCI_CONFIG_MAX, err) < 0)
		return sf_error_wrap(err, "bundle config");
	return oci_config_parse(buf, path, c, err);
}

void oci_config_free(struct oci_config *c)
{
	for (size_t i = 0; i < c->nargs; i++)
		free(c->args[i]);
	free(c->args);
	free(c->hostname);
	free(c->cwd);
	free(c->root_path);
	for (size_t i = 0; i < c->nann; i++) {
		free(c->ann[i].key);
		free(c->ann[i].value);
	}
	free(c->ann);
	memset(c, 0, sizeof(*c));
}
