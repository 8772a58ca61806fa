// SPDX-License-Identifier: GPL-2.0
#include "view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"
#include "encode.h"
#include "filter.h"
#include "json.h"
#include "view_int.h"

/* One record as read: the native object (json format, or the "sfagent"
 * object of a quixote stream record), or a quixote event. */
struct rec {
	yajl_val root;
	yajl_val obj; /* native keys; for quixote events the "event" object */
	bool quixote;
	char type[64];
	int typenum; /* SF_EV_*, or -1 (stream records, unknown types) */
	const struct vstream *st;
};

/* What is known of one stream (workload + container): its stream.start. */
struct vstream {
	char *key; /* "workload\ncontainer" */
	yajl_val start; /* the stream.start record, or NULL */
	struct filter_plan *plan;
	struct view_tree *tree;
	struct vstream *next;
};

struct view {
	struct view_opts o;
	FILE *out;
	struct filter *filter;
	struct vstream *streams;
	uint64_t bad, shown;
};

const char *view_type_name(unsigned type)
{
	return type < SF_EV_MAX ? decode_type_name(type) : NULL;
}

static int type_number(const char *name)
{
	for (int t = 1; t < SF_EV_MAX; t++) {
		const char *n = decode_type_name((unsigned)t);

		if (n && !strcmp(n, name))
			return t;
	}
	return -1;
}

static yajl_val obj_get(yajl_val o, const char *k)
{
	return json_get(o, k);
}

/* The stream keys of a record: workload and container from the record,
 * the rest from its stream.start's meta. */
static yajl_val stream_meta(const struct vstream *st)
{
	yajl_val start = st ? st->start : NULL;
	yajl_val native = obj_get(start, "sfagent");

	return obj_get(native ? native : start, "meta");
}

static void set_str(struct filter_value *v, const char *s)
{
	if (!s)
		return;
	v->kind = FILTER_STR;
	v->str = s;
	v->len = strlen(s);
}

static void set_json(struct filter_value *v, yajl_val j)
{
	char *end;
	long long n;

	if (YAJL_IS_INTEGER(j)) {
		v->kind = FILTER_NUM;
		v->num = YAJL_GET_INTEGER(j);
	} else if (YAJL_IS_STRING(j)) {
		/* quixote writes numbers as strings; keep the string too */
		const char *s = YAJL_GET_STRING(j);

		n = strtoll(s, &end, 10);
		if (*s && !*end) {
			v->kind = FILTER_NUM;
			v->num = n;
		} else {
			set_str(v, s);
		}
	} else if (YAJL_IS_TRUE(j) || YAJL_IS_FALSE(j)) {
		set_str(v, YAJL_IS_TRUE(j) ? "true" : "false");
	} else if (YAJL_IS_ARRAY(j) && v->buf && v->bufsz) {
		size_t o = 0;

		/* argv: the words joined by spaces */
		for (size_t i = 0; i < j->u.array.len && o + 1 < v->bufsz;
		     i++) {
			const char *w = YAJL_GET_STRING(j->u.array.values[i]);
			int k = snprintf(v->buf + o, v->bufsz - o, "%s%s",
					 i ? " " : "", w ? w : "");

			if (k < 0)
				break;
			o += (size_t)k < v->bufsz - o ? (size_t)k
						      : v->bufsz - o - 1;
		}
		v->kind = FILTER_STR;
		v->str = v->buf;
		v->len = o;
	}
}

/* The first "pathname" string anywhere below o (quixote bodies). */
static const char *find_pathname(yajl_val o, int depth)
{
	if (!o || depth > 8)
		return NULL;
	if (YAJL_IS_OBJECT(o)) {
		for (size_t i = 0; i < o->u.object.len; i++) {
			const char *r;

			if (!strcmp(o->u.object.keys[i], "pathname") &&
			    YAJL_IS_STRING(o->u.object.values[i]))
				return YAJL_GET_STRING(o->u.object.values[i]);
			r = find_pathname(o->u.object.values[i], depth + 1);
			if (r)
				return r;
		}
	}
	return NULL;
}

static yajl_val quixote_body(const struct rec *r)
{
	const char *tsem = json_get_str(r->obj, "type");

	return tsem ? obj_get(r->root, tsem) : NULL;
}

static void rec_get(const void *ctx, enum filter_key key, const char *arg,
		    struct filter_value *v)
{
	const struct rec *r = ctx;
	yajl_val meta = stream_meta(r->st);
	const char *name = filter_key_name(key);

	switch (key) {
	case FILTER_KEY_WORKLOAD:
	case FILTER_KEY_CONTAINER:
		set_str(v, json_get_str(r->obj, name));
		return;
	case FILTER_KEY_IMAGE:
		set_str(v, json_get_str(meta, "image"));
		return;
	case FILTER_KEY_K8S_NAMESPACE:
	case FILTER_KEY_K8S_POD:
	case FILTER_KEY_K8S_CONTAINER:
		set_str(v, json_get_str(obj_get(meta, "k8s"), name + 4));
		return;
	case FILTER_KEY_ANNOTATION:
		set_str(v, json_get_str(obj_get(meta, "annotations"), arg));
		return;
	case FILTER_KEY_COMM:
		if (r->quixote) {
			set_str(v, json_get_str(r->obj, "process"));
			return;
		}
		break;
	case FILTER_KEY_PATH:
		if (r->quixote) {
			set_str(v, find_pathname(quixote_body(r), 0));
			return;
		}
		break;
	default:
		break;
	}
	set_json(v, obj_get(r->obj, name));
}

static struct vstream *stream_of(struct view *v, const struct rec *r)
{
	const char *w = json_get_str(r->obj, "workload");
	const char *c = json_get_str(r->obj, "container");
	cleanup_free char *key = xasprintf("%s\n%s", w ? w : "", c ? c : "");
	struct vstream *st;

	for (st = v->streams; st; st = st->next)
		if (!strcmp(st->key, key))
			return st;
	st = xzalloc(sizeof(*st));
	st->key = steal_pointer(&key);
	st->next = v->streams;
	v->streams = st;
	return st;
}

static void stream_reset(struct view *v, struct vstream *st, yajl_val start)
{
	if (st->start)
		yajl_tree_free(st->start);
	st->start = start;
	filter_plan_free(st->plan);
	st->plan = NULL;
	if (v->filter) {
		struct rec r = {.obj = start, .st = st};
		yajl_val native = obj_get(start, "sfagent");

		if (native)
			r.obj = native;
		st->plan = filter_bind(v->filter, rec_get, &r);
	}
}

static void stream_free(struct vstream *st)
{
	if (st->start)
		yajl_tree_free(st->start);
	filter_plan_free(st->plan);
	view_tree_free(st->tree);
	free(st->key);
	free(st);
}

struct view *view_new(const struct view_opts *o, FILE *out,
		      struct sf_error **err)
{
	struct view *v = xzalloc(sizeof(*v));

	v->o = *o;
	v->out = out;
	if (o->filter) {
		v->filter = filter_parse_arg(o->filter, "filter", err);
		if (!v->filter) {
			free(v);
			return NULL;
		}
	}
	return v;
}

/* Reads the record's shape: native or quixote, its type. */
static bool rec_read(struct rec *r, const char *line)
{
	yajl_val ex, native;
	const char *t;

	r->root = yajl_tree_parse(line, NULL, 0);
	if (!YAJL_IS_OBJECT(r->root))
		return false;
	r->obj = r->root;
	ex = obj_get(r->root, "export");
	if (ex) {
		native = obj_get(r->root, "sfagent");
		if (native) {
			r->obj = native; /* a quixote stream record */
		} else {
			r->quixote = true;
			r->obj = obj_get(r->root, "event");
		}
	}
	t = json_get_str(r->obj, "type");
	if (!t)
		return false;
	if (r->quixote)
		t = enc_quixote_type_name(t);
	snprintf(r->type, sizeof(r->type), "%s", t ? t : "unknown");
	r->typenum = type_number(r->type);
	return true;
}

void view_record(struct view *v, const char *line, size_t len)
{
	cleanup_free char *copy = xstrndup(line, len);
	struct rec r = {0};
	struct vstream *st;
	bool is_stream;

	if (!rec_read(&r, copy)) {
		if (r.root)
			yajl_tree_free(r.root);
		v->bad++;
		return;
	}
	st = stream_of(v, &r);
	r.st = st;
	is_stream = !strncmp(r.type, "stream.", 7);
	if (!strcmp(r.type, "stream.start")) {
		stream_reset(v, st, r.root);
		r.root = NULL; /* the stream keeps it */
		r.obj = obj_get(st->start, "sfagent")
				? obj_get(st->start, "sfagent")
				: st->start;
	}
	if (!is_stream && st->plan &&
	    (r.typenum < 0 ||
	     !filter_plan_eval(st->plan, (unsigned)r.typenum, rec_get, &r)))
		goto out;
	if (v->o.tree) {
		if (!st->tree)
			st->tree = view_tree_new();
		view_tree_add(st->tree, r.type, r.obj, r.quixote,
			      r.quixote ? quixote_body(&r) : NULL);
		if (!strcmp(r.type, "stream.end")) {
			view_tree_print(st->tree, v->out, st->key);
			view_tree_free(st->tree);
			st->tree = NULL;
		}
	} else if (v->o.format == VIEW_JSON) {
		fwrite(line, 1, len, v->out);
		fputc('\n', v->out);
	} else {
		view_text_line(v->out, v->o.template, r.type, r.obj,
			       r.quixote ? quixote_body(&r) : NULL, r.quixote);
	}
	v->shown++;
out:
	if (r.root)
		yajl_tree_free(r.root);
}

void view_finish(struct view *v)
{
	for (struct vstream *st = v->streams; st; st = st->next)
		if (st->tree) {
			view_tree_print(st->tree, v->out, st->key);
			view_tree_free(st->tree);
			st->tree = NULL;
		}
	fflush(v->out);
}

uint64_t view_bad(const struct view *v)
{
	return v->bad;
}

uint64_t view_shown(const struct view *v)
{
	return v->shown;
}

void view_free(struct view *v)
{
	if (!v)
		return;
	while (v->streams) {
		struct vstream *n = v->streams->next;

		stream_free(v->streams);
		v->streams = n;
	}
	filter_free(v->filter);
	free(v);
}
