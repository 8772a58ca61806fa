// SPDX-License-Identifier: GPL-2.0
/*
 * The network-sink base (sink_net.h): queue, sender thread, backoff,
 * resend, drain, give-up and loss accounting for every network sink.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "sink_net.h"

#define BACKOFF_MIN_NS	(100 * 1000000ull)
#define BACKOFF_MAX_NS	(5 * 1000000000ull)
#define IDLE_NS		(100 * 1000000ull)
#define RESEND_PAUSE_NS (10 * 1000000ull)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void wait_until(struct sink_net *n, uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = deadline_ns / 1000000000ull,
		.tv_nsec = deadline_ns % 1000000000ull,
	};

	pthread_cond_timedwait(&n->q.cv, &n->q.mu, &ts);
}

/* The lock held from here to the public functions. */

static void set_up(struct sink_net *n)
{
	n->state = SINK_NET_UP;
	n->gen++;
	n->inflight = 0;
	n->backoff = BACKOFF_MIN_NS;
	sinkq_rewind(&n->q);
	pthread_cond_broadcast(&n->q.cv);
}

static void delivered(struct sink_net *n)
{
	if (n->failing)
		log_warn("%s: delivering again; %llu records queued",
			 n->base.desc, (unsigned long long)n->q.nrec);
	n->failing = false;
	n->backoff = BACKOFF_MIN_NS;
}

static void set_down(struct sink_net *n, const char *why)
{
	if (why && !n->failing) {
		log_warn(
			"%s: %s; retrying with backoff, keeping up to %llu records",
			n->base.desc, why, (unsigned long long)n->q.max_rec);
		n->failing = true;
	}
	n->state = SINK_NET_DOWN;
	n->gen++;
	n->inflight = 0;
	sinkq_rewind(&n->q);
	n->retry_at = mono_ns() + n->backoff;
	n->backoff = n->backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS
						     : n->backoff * 2;
	pthread_cond_broadcast(&n->q.cv);
}

static void resend(struct sink_net *n)
{
	n->gen++;
	n->inflight = 0;
	sinkq_rewind(&n->q);
	pthread_cond_broadcast(&n->q.cv);
}

void sink_net_up(struct sink_net *n)
{
	pthread_mutex_lock(&n->q.mu);
	set_up(n);
	pthread_mutex_unlock(&n->q.mu);
}

void sink_net_down(struct sink_net *n, const char *why)
{
	pthread_mutex_lock(&n->q.mu);
	set_down(n, why);
	pthread_mutex_unlock(&n->q.mu);
}

void sink_net_acked(struct sink_net *n, uint64_t id, uint32_t gen)
{
	pthread_mutex_lock(&n->q.mu);
	if (gen == n->gen && n->inflight)
		n->inflight--;
	/* even from an older connection: the destination has it */
	sinkq_ack(&n->q, id);
	delivered(n);
	pthread_mutex_unlock(&n->q.mu);
}

void sink_net_resend(struct sink_net *n, uint32_t gen)
{
	pthread_mutex_lock(&n->q.mu);
	if (gen == n->gen && n->state == SINK_NET_UP)
		resend(n);
	pthread_mutex_unlock(&n->q.mu);
}

bool sink_net_stopping(struct sink_net *n)
{
	return __atomic_load_n(&n->stop, __ATOMIC_RELAXED);
}

/* The head of what is unsent is a partial batch still young: wait for it. */
static bool batch_waits(struct sink_net *n, uint64_t now)
{
	struct sinkq_msg *m;

	if (!n->interval_ns || n->draining || n->q.next + 1 != n->q.count)
		return false;
	m = sinkq_at(&n->q, n->q.next);
	if (m->nrec >= n->q.batch || now - m->born >= n->interval_ns)
		return false;
	wait_until(n, m->born + n->interval_ns);
	return true;
}

/* What the protocol said about one message (the lock held again). */
static void sent(struct sink_net *n, enum sink_net_sent r, uint64_t id,
		 uint32_t gen, uint32_t nrec, const char *why)
{
	switch (r) {
	case SINK_NET_PENDING:
		break;
	case SINK_NET_DONE:
		if (gen == n->gen && n->inflight)
			n->inflight--;
		sinkq_ack(&n->q, id);
		delivered(n);
		break;
	case SINK_NET_REJECTED:
		/* stream records are not counted: they would only be
		 * reported again, and rejected again */
		if (gen == n->gen && n->inflight)
			n->inflight--;
		sink_count_dropped(&n->base, nrec);
		sinkq_ack(&n->q, id);
		break;
	case SINK_NET_RESEND:
		if (gen == n->gen && n->state == SINK_NET_UP)
			resend(n);
		n->retry_at = mono_ns() + RESEND_PAUSE_NS;
		break;
	case SINK_NET_DOWN_NOW:
		if (gen == n->gen)
			set_down(n, why[0] ? why : NULL);
		break;
	}
}

static void send_some(struct sink_net *n)
{
	char why[256];

	while (n->state == SINK_NET_UP && n->inflight < n->window && !n->stop) {
		uint64_t now = mono_ns();
		struct sinkq_msg *m;
		struct sink_net_msg msg;
		enum sink_net_sent r;

		if (now < n->retry_at) {
			wait_until(n, n->retry_at);
			continue;
		}
		if (n->q.next >= n->q.count || batch_waits(n, now))
			return;
		m = sinkq_take(&n->q);
		if (!m)
			return;
		/* our copy: an ack from another thread may free the message */
		n->scratch.len = 0;
		sbuf_put(&n->scratch, m->buf.data, m->buf.len);
		msg = (struct sink_net_msg){
			.id = m->id,
			.gen = n->gen,
			.buf = n->scratch.data,
			.len = n->scratch.len,
			.nrec = m->nrec - m->nctl,
			.tag = m->tag,
			.rid = m->rid,
		};
		n->inflight++;
		why[0] = 0;
		pthread_mutex_unlock(&n->q.mu);
		r = n->ops->send(n, &msg, why, sizeof(why));
		pthread_mutex_lock(&n->q.mu);
		sent(n, r, msg.id, msg.gen, msg.nrec, why);
	}
}

/* Drops the lock around ops->connect; returns what it returned. */
static int connect_locked(struct sink_net *n)
{
	int rc;

	if (!n->ops->connect) {
		n->state = SINK_NET_UP; /* the next request is the try */
		return 0;
	}
	n->state = SINK_NET_CONNECTING;
	pthread_mutex_unlock(&n->q.mu);
	rc = n->ops->connect(n);
	pthread_mutex_lock(&n->q.mu);
	if (rc < 0 && n->state == SINK_NET_CONNECTING)
		set_down(n, NULL);
	return rc;
}

static void *sender(void *arg)
{
	struct sink_net *n = arg;

	pthread_mutex_lock(&n->q.mu);
	while (!n->stop) {
		uint64_t now = mono_ns();

		if (n->state == SINK_NET_DOWN && now >= n->retry_at) {
			connect_locked(n);
			continue;
		}
		send_some(n);
		if (n->stop)
			break;
		if (n->state == SINK_NET_DOWN && n->retry_at < now + IDLE_NS)
			wait_until(n, n->retry_at);
		else if (!(n->state == SINK_NET_UP && n->inflight < n->window &&
			   n->q.next < n->q.count))
			wait_until(n, now + IDLE_NS);
	}
	pthread_mutex_unlock(&n->q.mu);
	return NULL;
}

static void stop_thread(struct sink_net *n)
{
	if (!n->thread_running)
		return;
	pthread_mutex_lock(&n->q.mu);
	__atomic_store_n(&n->stop, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&n->q.cv);
	pthread_mutex_unlock(&n->q.mu);
	pthread_join(n->thread, NULL);
	n->thread_running = false;
}

/* Gone for good: stop sending so the queue can be emptied safely. */
static void give_up(struct sink_net *n)
{
	uint64_t lost;

	/* a send may be under way: stop the thread before emptying the queue */
	stop_thread(n);
	pthread_mutex_lock(&n->q.mu);
	lost = sinkq_discard(&n->q);
	n->dead = true;
	pthread_mutex_unlock(&n->q.mu);
	if (!lost)
		return;
	sink_count_dropped(&n->base, lost);
	log_error(
		"%s: %llu records not delivered within %us: counted as missed",
		n->base.desc, (unsigned long long)lost, n->drain_timeout);
}

static int net_write(struct sink *s, const char *buf, size_t len,
		     struct sf_error **err)
{
	struct sink_net *n = (struct sink_net *)s;
	uint64_t dropped = sinkq_push(&n->q, buf, len, false);

	if (dropped)
		sink_count_dropped(s, dropped);
	return 0;
}

static int net_write_control(struct sink *s, const char *buf, size_t len,
			     struct sf_error **err)
{
	struct sink_net *n = (struct sink_net *)s;

	sinkq_push(&n->q, buf, len, true);
	return 0;
}

/* At the end of a stream: bounded wait for delivery, count the rest. */
static int net_flush(struct sink *s, struct sf_error **err)
{
	struct sink_net *n = (struct sink_net *)s;
	uint64_t deadline = mono_ns() + n->drain_timeout * 1000000000ull;
	bool left;

	pthread_mutex_lock(&n->q.mu);
	n->draining = true;
	pthread_cond_broadcast(&n->q.cv);
	while (n->q.count && !n->dead && mono_ns() < deadline)
		wait_until(n, deadline);
	n->draining = false;
	left = n->q.count != 0;
	pthread_mutex_unlock(&n->q.mu);
	if (left)
		give_up(n);
	return 0;
}

static uint64_t net_drain(struct sink *s, bool give)
{
	struct sink_net *n = (struct sink_net *)s;
	uint64_t left;

	if (give) {
		give_up(n);
		return 0;
	}
	pthread_mutex_lock(&n->q.mu);
	/* the stream is ending: no partial batch waits for its interval */
	if (!n->draining) {
		n->draining = true;
		pthread_cond_broadcast(&n->q.cv);
	}
	left = n->q.nrec;
	pthread_mutex_unlock(&n->q.mu);
	return left;
}

static bool net_congested(struct sink *s)
{
	struct sink_net *n = (struct sink_net *)s;
	bool c;

	pthread_mutex_lock(&n->q.mu);
	c = !n->dead && (n->state != SINK_NET_UP || n->failing ||
			 n->q.nrec >= n->q.max_rec);
	pthread_mutex_unlock(&n->q.mu);
	return c;
}

static void net_close(struct sink *s)
{
	struct sink_net *n = (struct sink_net *)s;

	stop_thread(n);
	if (n->ops->close)
		n->ops->close(n);
	sinkq_fini(&n->q);
	sbuf_free(&n->scratch);
	free(s->desc);
	free(n);
}

static const struct sink_ops net_sink_ops = {
	.name = "net",
	.write = net_write,
	.write_control = net_write_control,
	.flush = net_flush,
	.close = net_close,
	.drain = net_drain,
	.congested = net_congested,
};

void sink_net_init(struct sink_net *n, const struct sink_net_ops *ops,
		   const struct sink_net_conf *c, char *desc)
{
	struct timespec now;

	n->base.ops = &net_sink_ops;
	n->base.desc = desc;
	n->ops = ops;
	sinkq_init(&n->q, c->max_rec, c->batch);
	clock_gettime(CLOCK_REALTIME, &now);
	n->q.tag = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	n->window = c->window ? c->window : 1;
	n->interval_ns = c->interval_ns;
	n->drain_timeout = c->drain_timeout;
	n->backoff = BACKOFF_MIN_NS;
	n->state = SINK_NET_DOWN;
}

int sink_net_start(struct sink_net *n, struct sf_error **err)
{
	/* pthread_create returns its error; it does not set errno */
	int e = pthread_create(&n->thread, NULL, sender, n);

	if (e != 0)
		return sf_fail(err, e, "%s: cannot start the sender thread",
			       n->base.desc);
	n->thread_running = true;
	return 0;
}

int sink_net_connect_now(struct sink_net *n)
{
	int rc;

	pthread_mutex_lock(&n->q.mu);
	rc = connect_locked(n);
	pthread_mutex_unlock(&n->q.mu);
	return rc;
}

bool sink_net_wait_connected(struct sink_net *n, unsigned timeout_ms)
{
	uint64_t deadline = mono_ns() + timeout_ms * 1000000ull;
	bool up;

	pthread_mutex_lock(&n->q.mu);
	while (n->state == SINK_NET_CONNECTING && mono_ns() < deadline)
		wait_until(n, deadline);
	up = n->state == SINK_NET_UP;
	pthread_mutex_unlock(&n->q.mu);
	return up;
}
