/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The accessor that answers a filter's stream keys (filter.h): workload,
 * container, image, k8s.namespace, k8s.pod, k8s.container, annotation.NAME.
 */
#ifndef SF_FILTER_STREAM_H
#define SF_FILTER_STREAM_H

#include <yajl/yajl_tree.h>

#include "filter.h"

struct filter_stream {
	const char *workload, *container, *image;
	const char *k8s_namespace, *k8s_pod, *k8s_container;
	yajl_val meta, annotations;
};

/* The strings must outlive s; meta_json is parsed (NULL: no metadata). */
void filter_stream_init(struct filter_stream *s, const char *workload,
			const char *container, const char *meta_json);
void filter_stream_fini(struct filter_stream *s);
/* The annotation NAME of the stream, NULL when absent. */
const char *filter_stream_annotation(const struct filter_stream *s,
				     const char *name);
/* ctx: a const struct filter_stream * */
void filter_stream_get(const void *ctx, enum filter_key key, const char *arg,
		       struct filter_value *v);

#endif
