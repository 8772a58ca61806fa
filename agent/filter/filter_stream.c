// SPDX-License-Identifier: GPL-2.0
/* The filter's stream keys: a workload's name, container id and metadata
 * (the stream.start "meta": annotations, kubernetes). */
#include "filter_stream.h"

#include <string.h>

#include "json.h"

static void cstr(struct filter_value *v, const char *s)
{
	if (!s)
		return;
	v->kind = FILTER_STR;
	v->str = s;
	v->len = strlen(s);
}

void filter_stream_init(struct filter_stream *s, const char *workload,
			const char *container, const char *meta_json)
{
	yajl_val k8s;

	memset(s, 0, sizeof(*s));
	s->workload = workload;
	s->container = container;
	if (meta_json)
		s->meta = json_parse(meta_json, "meta", NULL);
	s->annotations = json_get(s->meta, "annotations");
	k8s = json_get(s->meta, "kubernetes");
	s->k8s_namespace = json_get_str(k8s, "pod_namespace");
	s->k8s_pod = json_get_str(k8s, "pod_name");
	s->k8s_container = json_get_str(k8s, "container_name");
	s->image = json_get_str(k8s, "image");
	if (!s->image)
		s->image = json_get_str(s->annotations,
					"org.opencontainers.image.ref.name");
}

void filter_stream_fini(struct filter_stream *s)
{
	if (s->meta)
		yajl_tree_free(s->meta);
	s->meta = NULL;
}

const char *filter_stream_annotation(const struct filter_stream *s,
				     const char *name)
{
	return json_get_str(s->annotations, name);
}

void filter_stream_get(const void *ctx, enum filter_key key, const char *arg,
		       struct filter_value *v)
{
	const struct filter_stream *s = ctx;

	switch (key) {
	case FILTER_KEY_WORKLOAD:
		return cstr(v, s->workload);
	case FILTER_KEY_CONTAINER:
		return cstr(v, s->container);
	case FILTER_KEY_IMAGE:
		return cstr(v, s->image);
	case FILTER_KEY_K8S_NAMESPACE:
		return cstr(v, s->k8s_namespace);
	case FILTER_KEY_K8S_POD:
		return cstr(v, s->k8s_pod);
	case FILTER_KEY_K8S_CONTAINER:
		return cstr(v, s->k8s_container);
	case FILTER_KEY_ANNOTATION:
		return cstr(v, json_get_str(s->annotations, arg));
	default:
		return;
	}
}
