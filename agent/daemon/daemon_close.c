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
 * turn (at most a second more past the timeout) and closes the sinks.  A
 * sink given up on keeps what it did not deliver in its spool: once it is
 * closed, that spool goes to the leftover set (sink_leftover.h), which
 * replays it when the destination is back.
 */
#include <pthread.h>
#include <time.h>

#include "daemon.h"
#include "metrics.h"
#include "sink.h"
#include "sink_leftover.h"
#include "sink_net.h"

#define ENDING_MIN_NS (1000 * 1000000ull)

/*
 * Closing a network sink takes time too (an MQTT DISCONNECT goes through
 * paho's threads: about 100 ms): a thread of its own closes a stream's
 * sinks once everything is delivered.  They are counted so that the agent
 * waits for them before it exits.
 */
static pthread_mutex_t closers_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t closers_cv = PTHREAD_COND_INITIALIZER;
static unsigned closers;

struct closer {
	struct sink *sinks[SF_MAX_SINKS];
	/* the spool each keeps undelivered records in, or NULL */
	char *left[SF_MAX_SINKS];
	struct sink_leftover *leftover;
	int n;
};

/* Offered once closed: the spool's lock is released then. */
static void close_all(struct closer *c)
{
	for (int i = 0; i < c->n; i++) {
		sink_close(c->sinks[i]);
		sink_leftover_offer(c->leftover, c->left[i]);
		free(c->left[i]);
	}
	free(c);
}

static void *closer_thread(void *arg)
{
	close_all(arg);
	pthread_mutex_lock(&closers_mu);
	closers--;
	pthread_cond_broadcast(&closers_cv);
	pthread_mutex_unlock(&closers_mu);
	return NULL;
}

/* Takes the sinks away from wl and closes them, network ones off the loop.
 * undelivered: some were given up on; their spools go to the leftover set. */
static void close_sinks(struct daemon *d, struct workload *wl, bool undelivered)
{
	struct closer *c = xzalloc(sizeof(*c));
	bool network = false;
	pthread_attr_t attr;
	pthread_t t;

	c->leftover = d->leftover;
	for (int i = 0; i < wl->nsinks; i++) {
		const char *key = sink_net_spool_key(wl->sinks[i]);

		if (undelivered && key)
			c->left[c->n] = xstrdup(key);
		c->sinks[c->n++] = wl->sinks[i];
		network |= wl->sinks[i]->ops->drain != NULL;
	}
	wl->nsinks = 0;
	if (network) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_mutex_lock(&closers_mu);
		if (pthread_create(&t, &attr, closer_thread, c) == 0) {
			closers++;
			c = NULL;
		}
		pthread_mutex_unlock(&closers_mu);
		pthread_attr_destroy(&attr);
		if (!c)
			return;
	}
	close_all(c);
}

void daemon_close_wait(void)
{
	pthread_mutex_lock(&closers_mu);
	while (closers)
		pthread_cond_wait(&closers_cv, &closers_mu);
	pthread_mutex_unlock(&closers_mu);
}

void daemon_reg_free(struct daemon_reg *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	for (int i = 0; i < r->ntopics; i++)
		free(r->topics[i]);
	budget_free(r->budget);
	free(r->name);
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
	bool undelivered;

	if (r->phase == DAEMON_DRAIN) {
		if (left && now < r->deadline_ns)
			return false;
		if (left) {
			pending(wl, true); /* counted: stream.end tells it */
			r->undelivered = true;
		}
		stream_finish_end(d->a, wl);
		metrics_stream_ended(d->metrics, wl);
		r->phase = DAEMON_ENDING;
		if (r->deadline_ns < now + ENDING_MIN_NS)
			r->deadline_ns = now + ENDING_MIN_NS;
		left = pending(wl, false);
	}
	if (left && now < r->deadline_ns)
		return false;
	if (left) {
		log_error(
			"container `%s`: stream.end not delivered to every output",
			wl->container_id);
		pending(wl, true);
		r->undelivered = true;
	}
	undelivered = r->undelivered;
	d->reg[wl->slot] = NULL;
	wl->budget = NULL;
	daemon_reg_free(r);
	close_sinks(d, wl, undelivered);
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
	r->deadline_ns =
		sf_monotonic_ns() + d->o->drain_timeout * 1000000000ull;
	while (!step(d, wl)) {
		if (sf_monotonic_ns() >= until) {
			log_info("container `%s`: draining in the background",
				 wl->container_id);
			return;
		}
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
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
