/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A stream's filters at work (docs/filters.md): the stream's own, one per
 * kind of output (--file-filter, --mqtt-filter, --http-filter), bound to the
 * stream's keys, the kernel's type mask made from them, and the counts
 * stream.end reports.
 *
 * The agent's consumer asks filter_wl_pass() after decoding an event (false:
 * dropped and counted; filter_event_get answers the keys), encodes it, then calls filter_wl_route(): when some
 * output has its own filter ("split"), the record just encoded moves from
 * wl->out into the buffers of the outputs that take it, and stream_flush()
 * hands those out through filter_wl_flush().  Stream records stay in
 * wl->out and go to every output, in order.
 */
#ifndef SF_FILTER_WL_H
#define SF_FILTER_WL_H

#include "filter.h"
#include "filter_stream.h"
#include "workload.h"

struct probe;

/* The filters of the command line, parsed once (NULL: none). */
struct filter_conf {
	struct filter *stream; /* --filter */
	struct filter *file, *mqtt, *http; /* --file-filter ... */
};

struct filter_wl {
	struct filter *own; /* the stream's filter when made for it (daemon) */
	struct filter_plan *plan; /* NULL: the stream keeps everything */
	struct filter_plan *sink[SF_MAX_SINKS]; /* NULL: what the stream keeps */
	const struct filter *sink_f[SF_MAX_SINKS];
	struct sbuf sink_out[SF_MAX_SINKS];
	bool split;
	unsigned pass_mask; /* outputs taking the event being encoded */
	size_t rec_start; /* where that record starts in wl->out */
	uint64_t filtered; /* dropped in the agent */
	uint64_t sink_filtered[SF_MAX_SINKS];
	struct filter_stream keys;
};

/* Parses the filter options of o into c (exit 2 errors). */
struct sf_options;
int filter_conf_init(struct filter_conf *c, const struct sf_options *o,
		     struct sf_error **err);
void filter_conf_fini(struct filter_conf *c);

/*
 * Sets wl->filter up from c and wl->filter_own (a container's
 * io.sfagent.filter, taken over and ANDed with c->stream: it only narrows),
 * after the workload's sinks are open; then writes the kernel's type mask
 * for the slot.  Nothing to filter: wl->filter stays NULL and the mask is
 * cleared.
 */
int filter_wl_setup(struct workload *wl, const struct filter_conf *c,
		    struct probe *probe, struct sf_error **err);
/*
 * Daemon: whether a registering container is tracked (--select, NULL:
 * every one) and its own filter (io.sfagent.filter, *own; NULL when it has
 * none).  Returns 1 tracked, 0 not selected (logged), -1 an invalid
 * annotation (a usage error: the container is refused).
 */
int filter_wl_admit(const struct filter *select, const char *workload,
		    const char *container, const char *meta_json,
		    struct filter **own, struct sf_error **err);
void filter_wl_free(struct filter_wl *fw);

bool filter_wl_eval(struct workload *wl, unsigned type, filter_get_fn get,
		    const void *ctx);
void filter_wl_split(struct workload *wl);

/* Does the event of this type, whose keys get(ctx) answers, go on?  false:
 * dropped and counted in filtered.  Inline: a stream without filters pays
 * one test. */
static inline bool filter_wl_pass(struct workload *wl, unsigned type,
				  filter_get_fn get, const void *ctx)
{
	return !wl->filter || filter_wl_eval(wl, type, get, ctx);
}

/* After the event was encoded into wl->out. */
static inline void filter_wl_route(struct workload *wl)
{
	if (wl->filter)
		filter_wl_split(wl);
}
/* Split streams: hands everything buffered to the outputs; false when the
 * stream is not split (the caller writes wl->out to every sink). */
bool filter_wl_flush(struct workload *wl);
/* Bytes waiting in the outputs' own buffers. */
size_t filter_wl_pending(const struct workload *wl);

/* For stream.start and stream.end (encode.h). */
struct stream_info;
struct stream_totals;
void filter_wl_info(const struct workload *wl, struct stream_info *si);
/* Events the i-th sink's own filter (--file-filter ...) did not take. */
uint64_t filter_wl_sink_filtered(const struct workload *wl, int i);
void filter_wl_totals(const struct workload *wl, uint64_t kernel_filtered,
		      struct stream_totals *t);

#endif
