/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The workload table: one entry per stream, indexed by the slot number the
 * BPF side stamps on every event.
 */
#ifndef SF_WORKLOAD_H
#define SF_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encode.h"
#include "sbuf.h"
#include "sfagent.h"

#define SF_MAX_SINKS 4

struct sink;
struct filter;
struct filter_wl;
struct budget;
struct wl_seccomp;

/* A reader of a stream's encoded records besides its outputs (sfagent
 * watch): handed every batch the outputs get; it never slows the stream and
 * never counts in its loss. */
struct wl_tap {
	void (*records)(struct wl_tap *t, const struct workload *wl,
			const char *buf, size_t len);
};

struct workload {
	uint32_t slot;
	char *name;
	char *container_id; /* NULL outside container/daemon modes */
	char *meta_json; /* a JSON object for stream.start, or NULL */
	uint64_t cgid;
	char *cgroup_path;

	uint64_t seq; /* last seq written */
	uint64_t events; /* events encoded */
	uint64_t missed_ringbuf; /* reported so far */
	uint64_t missed_sink; /* reported so far */
	uint64_t missed_spool; /* of which for a full spool (spool_full) */
	/* per sink (index of sinks[]): its loss reported so far, of which
	 * for a full spool, and the stream records (stream.missed) it could
	 * not take, counted in its dropped but no events */
	uint64_t sink_reported[SF_MAX_SINKS], sink_reported_spool[SF_MAX_SINKS];
	uint64_t sink_ctl_lost[SF_MAX_SINKS];
	/* the sink kind the stream.missed being encoded is about, or NULL */
	const char *missed_for;
	uint64_t malformed; /* records decode_event() refused */
	uint64_t missed_malformed; /* reported so far */
	/* Daemon: what the stream may cost (daemon/budget.h), NULL: no limit;
	 * owned by the daemon. */
	struct budget *budget;

	struct sbuf out; /* encoded, not yet handed to the sinks */
	const struct encoder *enc;
	/* the encoder's own per-stream state (-F sysflow), or NULL; freed
	 * by enc->ops->release */
	void *enc_state;
	/* -F sysflow: the kernel's read/write counters of one of the
	 * stream's flows (bpf/flow.bpf.h; take: and forgets them); 0, or
	 * -errno when it has none.  NULL: nothing is counted (unit tests). */
	int (*flow_get)(const struct workload *wl, uint32_t pid, int32_t fd,
			bool take, struct sf_flow_counts *out);
	void *flow_ctx;
	struct sink *sinks[SF_MAX_SINKS];
	int nsinks;
	/* Its filters at work (agent/filter/filter_wl.h), NULL: none. */
	struct filter_wl *filter;
	/* The container's own filter (io.sfagent.filter) until the stream
	 * begins and filter_wl_setup() takes it. */
	struct filter *filter_own;
	struct wl_seccomp *seccomp; /* recording a seccomp profile, or NULL */
	struct wl_tap *tap; /* or NULL */
	uint64_t start_ts; /* stream.start's time, ns since the epoch */
	/* Untracked, being drained (daemon): the main loop leaves it alone. */
	bool closing;
	/* the kernel's type mask (filter_wl_setup) and the probe's program
	 * groups it needs (probe.h), from stream_begin on */
	uint64_t kernel_drop[SF_TYPE_MASK_BITS / 64];
	unsigned probe_groups;

	struct workload *next; /* active list */
};

struct wl_table {
	struct workload *slots[SF_MAX_SLOTS];
	struct workload *active;
	unsigned count;
	uint32_t hint;
};

/* NULL when every slot is taken. */
struct workload *wl_table_add(struct wl_table *t, const char *name);
static inline struct workload *wl_table_get(struct wl_table *t, uint32_t slot)
{
	return slot < SF_MAX_SLOTS ? t->slots[slot] : NULL;
}
struct workload *wl_table_find_cgid(struct wl_table *t, uint64_t cgid);
/* Closes the workload's sinks and frees it. */
void wl_table_remove(struct wl_table *t, struct workload *wl);
void wl_table_clear(struct wl_table *t);

#endif
