/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus metrics of sfagent -D (--metrics [ADDR:]PORT, off by default; a
 * bare port binds 127.0.0.1): the text exposition format at /metrics, and
 * /healthz for Kubernetes probes.  Served from the main loop, nonblocking,
 * a few clients at a time.  A finished stream's series stay for
 * METRICS_KEEP_S seconds (so a scrape sees its final counts) and then go:
 * label cardinality follows the running containers, not the node's history.
 * docs/metrics.md names every series.
 */
#ifndef SF_METRICS_H
#define SF_METRICS_H

#include "sbuf.h"
#include "util.h"

#define METRICS_KEEP_S	 300
#define METRICS_KEEP_MAX 1024 /* finished streams remembered at most */
#define METRICS_CLIENTS	 16

struct daemon;
struct workload;
struct metrics;

struct metrics *metrics_open(struct daemon *d, const char *spec,
			     struct sf_error **err);
int metrics_epoll_fd(const struct metrics *m);
void metrics_process(struct metrics *m);
/* A stream ends: its final counts are kept for METRICS_KEEP_S. */
void metrics_stream_ended(struct metrics *m, struct workload *wl);
void metrics_close(struct metrics *m);

/* The exposition text (tests, and /metrics). */
void metrics_render(struct metrics *m, struct sbuf *o);

#endif
