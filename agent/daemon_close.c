// SPDX-License-Identifier: GPL-2.0
/*
 * Daemon mode: ending a container's stream without stalling the agent.
 *
 * UNREGISTER untracks the cgroup and drains the ring buffer into the sinks at
 * once.  A file takes its records synchronously; MQTT and HTTP sinks deliver
 * from their own threads, and waiting for them (up to --drain-timeout) would
 * stall every other container's registration.  So the agent waits a short
 * grace (enough for a broker on the same network) and otherwise leaves the
 * stream closing: the main loop looks at it every round, and once the sinks
 * have delivered (or the drain timeout is up: the rest is counted as missed)
 * it reports the loss, writes stream.end, waits for that to be delivered in
 * turn (at most a second more past the timeout) and closes the sinks.
 */
#include <time.h>

#include "daemon.h"
#include "sink.h"

#define ENDING_MIN_NS (1000 * 1000000ull)

void daemon_reg_free(struct daemon_reg *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	for (int i = 0; i < r->ntopics; i++)
		free(r->topics[i]);
	free(r);
}

static uint64_t pending(struct workload *wl, bool give_up)
{
	uint64_t n = 0;

	for (int i = 0; i < wl->nsinks; i++)
		n += sink_drain(wl->sinks[i], give_up);
	return n;
}

/* One step; true when the stream is gone. */
static bool step(struct daemon *d, struct workload *wl)
{
	struct daemon_reg *r = d->reg[wl->slot];
	uint64_t now = sf_monotonic_ns();
	uint64_t left = pending(wl, false);

	if (r->phase == DAEMON_DRAIN) {
		if (left && now < r->deadline_ns)
			return false;
		if (left)
			pending(wl, true); /* counted: stream.end tells it */
		stream_finish_end(d->a, wl);
		r->phase = DAEMON_ENDING;
		if (r->deadline_ns < now + ENDING_MIN_NS)
			r->deadline_ns = now + ENDING_MIN_NS;
		left = pending(wl, false);
	}
	if (left && now < r->deadline_ns)
		return false;
	if (left) {
		log_error("container `%s`: stream.end not delivered to every output",
			  wl->container_id);
		pending(wl, true);
	}
	d->reg[wl->slot] = NULL;
	daemon_reg_free(r);
	wl_table_remove(&d->a->wl, wl);
	return true;
}

void daemon_close(struct daemon *d, struct workload *wl, uint64_t wait_ns)
{
	struct daemon_reg *r = d->reg[wl->slot];
	uint64_t until = sf_monotonic_ns() + wait_ns;

	stream_finish_begin(d->a, wl);
	wl->closing = true;
	r->phase = DAEMON_DRAIN;
	r->deadline_ns = sf_monotonic_ns() + d->o->drain_timeout * 1000000000ull;
	while (!step(d, wl)) {
		if (sf_monotonic_ns() >= until) {
			log_info("container `%s`: draining in the background",
				  wl->container_id);
			return;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
}

void daemon_close_poll(struct daemon *d)
{
	struct workload *wl, *next;

	for (wl = d->a->wl.active; wl; wl = next) {
		next = wl->next;
		if (wl->closing)
			step(d, wl);
	}
}
