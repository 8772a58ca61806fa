/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Spools an earlier agent left behind (sink_spool.h): a daemon's stream
 * whose container never comes back would otherwise keep its records on disk
 * forever, since a spool is replayed only by a sink to the same destination.
 * At start the daemon opens a sink for each such spool (from its KEY.dest:
 * kind and topic, subject or URL, with this agent's servers and
 * credentials), which replays it in the background; once delivered the sink
 * is closed and the spool's files go.  A spool whose destination this agent
 * does not serve (no -b, --nats or a changed server) is kept, told once.
 */
#ifndef SF_SINK_LEFTOVER_H
#define SF_SINK_LEFTOVER_H

struct sf_options;
struct sink_leftover;

/* NULL: nothing left (or no spool). */
struct sink_leftover *sink_leftover_start(const struct sf_options *o,
					  const char *exporter);
/* From the main loop: closes what is delivered. */
void sink_leftover_poll(struct sink_leftover *l);
/* At exit: what is not delivered stays on disk for the next start. */
void sink_leftover_stop(struct sink_leftover *l);

#endif
