// SPDX-License-Identifier: GPL-2.0
/* A stream's filters at work: see filter_wl.h. */
#include "filter_wl.h"

#include <string.h>

#include "encode.h"
#include "json.h"
#include "oci.h"
#include "options.h"
#include "probe.h"
#include "sink.h"

int filter_conf_init(struct filter_conf *c, const struct sf_options *o,
		     struct sf_error **err)
{
	static const char *const labels[] = {"filter", "file-filter",
					     "mqtt-filter", "http-filter"};
	const char *texts[] = {o->filter, o->file_filter, o->mqtt_filter,
			       o->http_filter};
	struct filter **dst[] = {&c->stream, &c->file, &c->mqtt, &c->http};

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 4; i++) {
		if (!texts[i])
			continue;
		*dst[i] = filter_parse_arg(texts[i], labels[i], err);
		if (!*dst[i]) {
			filter_conf_fini(c);
			return -1;
		}
	}
	return 0;
}

void filter_conf_fini(struct filter_conf *c)
{
	filter_free(c->stream);
	filter_free(c->file);
	filter_free(c->mqtt);
	filter_free(c->http);
	memset(c, 0, sizeof(*c));
}

/* "file", "mqtt", "http" */
static const char *sink_kind(const struct sink *s)
{
	return s->kind ? s->kind : s->ops->name;
}

static const struct filter *sink_conf(const struct filter_conf *c,
				      const struct sink *s)
{
	const char *kind = sink_kind(s);

	if (!strcmp(kind, "file"))
		return c->file;
	if (!strcmp(kind, "mqtt"))
		return c->mqtt;
	if (!strcmp(kind, "http"))
		return c->http;
	return NULL;
}

/* Bit t set: no output can receive type t, the kernel drops it. */
static void kernel_mask(const struct workload *wl, const struct filter_wl *fw,
			struct sf_filter_mask *m)
{
	const char *s;
	int64_t n;

	memset(m, 0, sizeof(*m));
	for (unsigned t = 1; t < SF_EV_MAX && t < SF_TYPE_MASK_BITS; t++) {
		bool any = !wl->nsinks;

		for (int i = 0; i < wl->nsinks && !any; i++)
			any = filter_plan_may_pass(fw->sink[i], t);
		if (!filter_plan_may_pass(fw->plan, t) || !any)
			m->drop[t / 64] |= 1ull << (t % 64);
	}
	if (!fw->plan)
		return;
	/* what every event the stream keeps has: the kernel tests it too */
	if (filter_plan_implied(fw->plan, FILTER_KEY_UID, &n, &s))
		m->need |= SF_NEED_UID, m->uid = n;
	if (filter_plan_implied(fw->plan, FILTER_KEY_PID, &n, &s))
		m->need |= SF_NEED_PID, m->pid = n;
	if (filter_plan_implied(fw->plan, FILTER_KEY_COMM, &n, &s)) {
		m->need |= SF_NEED_COMM;
		strncpy(m->comm, s, sizeof(m->comm) - 1);
	}
}

int filter_wl_setup(struct workload *wl, const struct filter_conf *c,
		    struct probe *probe, struct sf_error **err)
{
	struct sf_filter_mask m = {0};
	const struct filter *f = c ? c->stream : NULL;
	struct filter *own = steal_pointer(&wl->filter_own);
	struct filter_wl *fw;
	bool any = f || own;

	for (int i = 0; c && i < wl->nsinks; i++)
		any |= sink_conf(c, wl->sinks[i]) != NULL;
	memset(wl->kernel_drop, 0, sizeof(wl->kernel_drop));
	if (!any)
		return probe ? probe_set_filter_mask(probe, wl->slot, &m, err)
			     : 0;
	fw = xzalloc(sizeof(*fw));
	wl->filter = fw;
	if (own && f) {
		fw->own = filter_and(f, own, err);
		filter_free(own);
		if (!fw->own)
			return -1;
		f = fw->own;
	} else if (own) {
		fw->own = own;
		f = own;
	}
	filter_stream_init(&fw->keys, wl->name, wl->container_id,
			   wl->meta_json);
	if (f)
		fw->plan = filter_bind(f, filter_stream_get, &fw->keys);
	for (int i = 0; c && i < wl->nsinks; i++) {
		fw->sink_f[i] = sink_conf(c, wl->sinks[i]);
		if (!fw->sink_f[i])
			continue;
		fw->sink[i] = filter_bind(fw->sink_f[i], filter_stream_get,
					  &fw->keys);
		fw->split = true;
	}
	kernel_mask(wl, fw, &m);
	memcpy(wl->kernel_drop, m.drop, sizeof(wl->kernel_drop));
	return probe ? probe_set_filter_mask(probe, wl->slot, &m, err) : 0;
}

int filter_wl_admit(const struct filter *select, const char *workload,
		    const char *container, const char *meta_json,
		    struct filter **own, struct sf_error **err)
{
	struct filter_stream keys;
	const char *ann;
	int ret = 1;

	*own = NULL;
	filter_stream_init(&keys, workload, container, meta_json);
	if (select && !filter_eval_stream(select, filter_stream_get, &keys)) {
		log_info(
			"container `%s` (workload `%s`) is not selected by --select: it runs untracked",
			container, workload);
		ret = 0;
	} else if ((ann = filter_stream_annotation(&keys, ANN_FILTER))) {
		*own = filter_parse(ann, ANN_FILTER, err);
		if (!*own)
			ret = -1;
	} else if (json_get(keys.meta, "annotations_dropped") ||
		   json_get(keys.meta, "meta_dropped")) {
		log_warn(
			"container `%s`: its annotations were too large to register, so an " ANN_FILTER
			" it may have is not applied (the daemon's --filter is)",
			container);
	}
	filter_stream_fini(&keys);
	return ret;
}

void filter_wl_free(struct filter_wl *fw)
{
	if (!fw)
		return;
	filter_plan_free(fw->plan);
	for (int i = 0; i < SF_MAX_SINKS; i++) {
		filter_plan_free(fw->sink[i]);
		sbuf_free(&fw->sink_out[i]);
	}
	filter_free(fw->own);
	filter_stream_fini(&fw->keys);
	free(fw);
}

/* Stream records waiting in wl->out go to every output's buffer. */
static void fan_out(struct workload *wl)
{
	struct filter_wl *fw = wl->filter;

	if (!wl->out.len)
		return;
	for (int i = 0; i < wl->nsinks; i++)
		sbuf_put(&fw->sink_out[i], wl->out.data, wl->out.len);
	wl->out.len = 0;
}

bool filter_wl_eval(struct workload *wl, unsigned type, filter_get_fn get,
		    const void *ctx)
{
	struct filter_wl *fw = wl->filter;
	unsigned mask = 0;

	if (!filter_plan_eval(fw->plan, type, get, ctx)) {
		fw->filtered++;
		return false;
	}
	if (!fw->split)
		return true;
	for (int i = 0; i < wl->nsinks; i++)
		if (!fw->sink[i] ||
		    filter_plan_eval(fw->sink[i], type, get, ctx))
			mask |= 1u << i;
	if (!mask) {
		fw->filtered++; /* no output takes it: as if the stream's */
		return false;
	}
	fw->pass_mask = mask;
	fan_out(wl);
	return true;
}

void filter_wl_split(struct workload *wl)
{
	struct filter_wl *fw = wl->filter;

	if (!fw->split)
		return;
	for (int i = 0; i < wl->nsinks; i++) {
		if (fw->pass_mask & (1u << i))
			sbuf_put(&fw->sink_out[i], wl->out.data, wl->out.len);
		else
			fw->sink_filtered[i]++;
	}
	wl->out.len = 0;
}

bool filter_wl_flush(struct workload *wl)
{
	struct filter_wl *fw = wl->filter;

	if (!fw || !fw->split)
		return false;
	fan_out(wl);
	for (int i = 0; i < wl->nsinks; i++) {
		cleanup_error struct sf_error *err = NULL;

		if (!fw->sink_out[i].len)
			continue;
		/* the sink counts the loss and says so once on stderr */
		if (sink_write(wl->sinks[i], fw->sink_out[i].data,
			       fw->sink_out[i].len, &err) < 0)
			log_debug("workload `%s`: %s", wl->name, err->msg);
		fw->sink_out[i].len = 0;
	}
	return true;
}

size_t filter_wl_pending(const struct workload *wl)
{
	const struct filter_wl *fw = wl->filter;
	size_t n = 0;

	for (int i = 0; fw && fw->split && i < wl->nsinks; i++)
		n = fw->sink_out[i].len > n ? fw->sink_out[i].len : n;
	return n;
}

/* The outputs with their own filter, one entry per kind. */
static int sink_kinds(const struct workload *wl, const char **kinds, int *first)
{
	const struct filter_wl *fw = wl->filter;
	int n = 0;

	for (int i = 0; fw && i < wl->nsinks; i++) {
		const char *k = sink_kind(wl->sinks[i]);
		bool seen = false;

		if (!fw->sink_f[i])
			continue;
		for (int j = 0; j < n; j++)
			seen |= !strcmp(kinds[j], k);
		if (!seen && n < STREAM_SINK_KINDS) {
			kinds[n] = k;
			first[n++] = i;
		}
	}
	return n;
}

void filter_wl_info(const struct workload *wl, struct stream_info *si)
{
	const struct filter_wl *fw = wl->filter;
	const char *kinds[STREAM_SINK_KINDS];
	int first[STREAM_SINK_KINDS];

	if (!fw)
		return;
	if (fw->plan)
		si->filter = filter_text(filter_plan_filter(fw->plan));
	si->nsink_filters = sink_kinds(wl, kinds, first);
	for (int k = 0; k < si->nsink_filters; k++) {
		si->sink_filters[k].kind = kinds[k];
		si->sink_filters[k].filter = filter_text(fw->sink_f[first[k]]);
	}
}

uint64_t filter_wl_sink_filtered(const struct workload *wl, int i)
{
	const struct filter_wl *fw = wl->filter;

	return fw && fw->split ? fw->sink_filtered[i] : 0;
}

void filter_wl_totals(const struct workload *wl, uint64_t kernel_filtered,
		      struct stream_totals *t)
{
	const struct filter_wl *fw = wl->filter;
	const char *kinds[STREAM_SINK_KINDS];
	int first[STREAM_SINK_KINDS];

	t->filtered_kernel = kernel_filtered;
	t->filtered = kernel_filtered + (fw ? fw->filtered : 0);
	t->nsink_filtered = sink_kinds(wl, kinds, first);
	for (int k = 0; k < t->nsink_filtered; k++) {
		t->sink_filtered[k].kind = kinds[k];
		t->sink_filtered[k].count = fw->sink_filtered[first[k]];
	}
}
