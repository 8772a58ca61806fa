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
 *
 * A running daemon's stream that ends while its destination is away for
 * longer than --drain-timeout leaves its spool the same way: its sink is
 * closed (the lock released) and the key offered here, and the next poll
 * replays it as at start.  A spool some sink holds (a new container of the
 * same destination took it meanwhile, and replays it before its own
 * records) is skipped: one spool, one sink, in order.
 */
#ifndef SF_SINK_LEFTOVER_H
#define SF_SINK_LEFTOVER_H

struct sf_options;
struct sink_leftover;

/* NULL: no spool (--spool-max 0). */
struct sink_leftover *sink_leftover_start(const struct sf_options *o,
					  const char *exporter);
/* Any thread, after the sink that used the spool KEY is closed: its stream
 * ended with records still in it; the next poll replays them.  l NULL:
 * nothing. */
void sink_leftover_offer(struct sink_leftover *l, const char *key);
/* From the main loop: replays what was offered, closes what is delivered. */
void sink_leftover_poll(struct sink_leftover *l);
/* At exit: what is not delivered stays on disk for the next start. */
void sink_leftover_stop(struct sink_leftover *l);

#endif
