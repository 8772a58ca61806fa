// SPDX-License-Identifier: GPL-2.0
/*
 * The network-sink base (sink_net.h): queue, sender thread, backoff,
 * resend, drain, give-up and loss accounting for every network sink.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "options.h"
#include "sink_net.h"

#define BACKOFF_MIN_NS	(100 * 1000000ull)
#define BACKOFF_MAX_NS	(5 * 1000000000ull)
#define IDLE_NS		(100 * 1000000ull)
#define RESEND_PAUSE_NS (10 * 1000000ull)
#define KICK_NS		(SINK_NET_KICK_MS * 1000000ull)

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
	n->connects++;
	n->gen++;
	n->inflight = 0;
	n->inflight_bytes = 0;
	n->backoff = BACKOFF_MIN_NS;
	n->progress_at = mono_ns();
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
	if (why && !n->failing && n->spool)
		log_warn(
			"%s: %s; retrying with backoff, keeping up to %llu bytes in the spool `%s`",
			n->base.desc, why, (unsigned long long)n->spool_max,
			sink_spool_path(n->spool));
	else if (why && !n->failing)
		log_warn(
			"%s: %s; retrying with backoff, keeping up to %llu records",
			n->base.desc, why, (unsigned long long)n->q.max_rec);
	if (why) {
		n->failing = true;
		snprintf(n->last_error, sizeof(n->last_error), "%s", why);
	}
	n->state = SINK_NET_DOWN;
	n->gen++;
	n->inflight = 0;
	n->inflight_bytes = 0;
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
	n->inflight_bytes = 0;
	sinkq_rewind(&n->q);
	pthread_cond_broadcast(&n->q.cv);
}

/* Message id of connection gen is answered: no longer in flight. */
static void unflight(struct sink_net *n, uint64_t id, uint32_t gen)
{
	uint64_t first = n->q.count ? sinkq_at(&n->q, 0)->id : 0;
	struct sinkq_msg *m = NULL;

	if (gen == n->gen && n->inflight)
		n->inflight--;
	if (n->q.count && id >= first && id - first < n->q.count)
		m = sinkq_at(&n->q, id - first);
	/* an answer to an earlier send of it (older gen) counts too: the
	 * destination has it, though that send's bytes may be on the way */
	if (m && m->sent_gen == n->gen && m->sent_len) {
		n->inflight_bytes -= m->sent_len < n->inflight_bytes
					     ? m->sent_len
					     : n->inflight_bytes;
		m->sent_len = 0;
	}
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

/* What the queue freed at its head leaves the spool: spool_mu held, not
 * q.mu (the sender, or a thread that stopped it). */
static void spool_acked(struct sink_net *n, uint64_t done_mark, bool force)
{
	if (!n->spool || !done_mark)
		return;
	sink_spool_ack(n->spool, done_mark, force);
}

void sink_net_acked(struct sink_net *n, uint64_t id, uint32_t gen)
{
	pthread_mutex_lock(&n->q.mu);
	unflight(n, id, gen);
	n->progress_at = mono_ns();
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
		unflight(n, id, gen);
		sinkq_ack(&n->q, id);
		delivered(n);
		break;
	case SINK_NET_REJECTED:
		/* stream records are not counted: they would only be
		 * reported again, and rejected again */
		unflight(n, id, gen);
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

void sink_net_rejected(struct sink_net *n, uint64_t id, uint32_t gen)
{
	struct sinkq_msg *m;
	uint64_t first;

	pthread_mutex_lock(&n->q.mu);
	first = n->q.count ? sinkq_at(&n->q, 0)->id : 0;
	if (n->q.count && id >= first && id - first < n->q.count) {
		m = sinkq_at(&n->q, id - first);
		if (!(m->flags & SINKQ_ACKED))
			sent(n, SINK_NET_REJECTED, id, gen, m->nrec - m->nctl,
			     "");
	}
	pthread_mutex_unlock(&n->q.mu);
}

/* Room in the window for the next message to send: fewer than window
 * messages in flight, and its bytes fit beside theirs in window_bytes (or
 * nothing is in flight: a message bigger than the bound goes alone). */
static bool window_open(struct sink_net *n)
{
	size_t i;

	if (n->inflight >= n->window)
		return false;
	if (!n->window_bytes || !n->inflight)
		return true;
	/* the one sinkq_take() would take */
	for (i = n->q.next; i < n->q.count; i++) {
		struct sinkq_msg *m = sinkq_at(&n->q, i);

		if (!(m->flags & (SINKQ_ACKED | SINKQ_SENT)))
			return n->inflight_bytes + m->buf.len <=
			       n->window_bytes;
	}
	return true; /* nothing to send */
}

static void send_some(struct sink_net *n)
{
	char why[256];

	while (n->state == SINK_NET_UP && window_open(n) && !n->stop) {
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
		/* read in place, outside the lock: while SINKQ_BUSY nothing
		 * appends to it (which could move it) or frees it (an ack
		 * from another thread, of an earlier send of it) */
		m->flags |= SINKQ_BUSY;
		msg = (struct sink_net_msg){
			.id = m->id,
			.gen = n->gen,
			.buf = m->buf.data,
			.len = m->buf.len,
			.nrec = m->nrec - m->nctl,
			.tag = m->tag,
			.rid = m->rid,
			.pack = m->pack,
		};
		n->inflight++;
		n->inflight_bytes += m->buf.len;
		m->sent_len = m->buf.len;
		m->sent_gen = n->gen;
		n->progress_at = now;
		why[0] = 0;
		pthread_mutex_unlock(&n->q.mu);
		r = n->ops->send(n, &msg, why, sizeof(why));
		pthread_mutex_lock(&n->q.mu);
		sinkq_unbusy(&n->q, msg.id);
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

/* The first message holding records kept in memory only, or NULL (q.mu
 * held).  What was acknowledged meanwhile is no longer among them. */
static struct sinkq_msg *mo_first(struct sink_net *n)
{
	struct sinkq_msg *h;

	if (!n->mo)
		return NULL;
	if (!n->q.count) {
		n->mo = false;
		return NULL;
	}
	h = sinkq_at(&n->q, 0);
	if (n->mo_id < h->id) {
		/* memory-only is a suffix: all from the head on is */
		n->mo_id = h->id;
		n->mo_off = 0;
		n->mo_rid = h->rid;
	}
	if (n->mo_id - h->id >= n->q.count) {
		n->mo = false;
		return NULL;
	}
	return sinkq_at(&n->q, n->mo_id - h->id);
}

/* Records in memory only must go to disk: the destination is away or does
 * not keep up (q.mu held). */
static bool spill_due(struct sink_net *n, uint64_t now)
{
	struct sinkq_msg *m = mo_first(n);

	return m && (n->state != SINK_NET_UP || n->failing ||
		     now - m->born >= SINK_NET_SPILL_MS * 1000000ull);
}

struct spill_msg {
	uint64_t id, nrec;
};

/* The records kept in memory only go to the spool, in order, before any
 * newer one (spool_mu held, q.mu not: it is taken to copy them and to give
 * each message its mark, not during the write). */
static void spill(struct sink_net *n)
{
	cleanup_free struct spill_msg *msgs = NULL;
	const char *p, *end, *nl;
	uint64_t rid, k = 0, last = 0, head;
	size_t nmsg = 0, i, j;
	struct sinkq_msg *m;

	pthread_mutex_lock(&n->q.mu);
	m = mo_first(n);
	if (!m) {
		pthread_mutex_unlock(&n->q.mu);
		return;
	}
	rid = n->mo_rid;
	msgs = xmalloc((n->q.count + 1) * sizeof(*msgs));
	n->fill.len = 0;
	for (i = n->mo_id - sinkq_at(&n->q, 0)->id; i < n->q.count; i++) {
		size_t off = i == n->mo_id - sinkq_at(&n->q, 0)->id ? n->mo_off
								    : 0;

		m = sinkq_at(&n->q, i);
		msgs[nmsg++] = (struct spill_msg){.id = m->id};
		sbuf_put(&n->fill, m->buf.data + off, m->buf.len - off);
		for (p = m->buf.data + off; p < m->buf.data + m->buf.len; p++)
			msgs[nmsg - 1].nrec += *p == '\n';
	}
	n->mo = false;
	pthread_mutex_unlock(&n->q.mu);
	end = n->fill.data + n->fill.len;
	for (p = n->fill.data; p < end; p = nl, k++) {
		nl = memchr(p, '\n', end - p);
		nl = nl ? nl + 1 : end;
		if (k == n->marks_cap) {
			n->marks_cap = n->marks_cap ? n->marks_cap * 2 : 256;
			n->marks = xrealloc(n->marks,
					    n->marks_cap * sizeof(*n->marks));
		}
		n->marks[k] = sink_spool_add(n->spool, p, nl - p, false, rid++);
	}
	if (sink_spool_commit(n->spool) < 0 || !sink_spool_ok(n->spool))
		return; /* memory only from now on: they are queued still */
	pthread_mutex_lock(&n->q.mu);
	head = n->q.count ? sinkq_at(&n->q, 0)->id : UINT64_MAX;
	for (i = 0, j = 0; i < nmsg; i++) {
		j += msgs[i].nrec;
		if (!j || !n->marks[j - 1])
			continue;
		last = n->marks[j - 1];
		if (msgs[i].id >= head)
			sinkq_at(&n->q, msgs[i].id - head)->mark = last;
		else if (last > n->q.done_mark)
			n->q.done_mark = last; /* acked meanwhile */
	}
	if (last)
		sink_spool_skip(n->spool, last, k);
	n->spool_unread = sink_spool_unread(n->spool);
	pthread_mutex_unlock(&n->q.mu);
}

struct sink_net_fill {
	size_t off, len;
	bool control;
	uint64_t tag, rid, mark;
	uint32_t pack;
};

#define FILL_MAX 1024 /* records read back per round */

/* Up to room records from the disk into n->fill (spool_mu held). */
static size_t fill_read(struct sink_net *n, uint64_t room)
{
	struct sink_spool_rec r;
	uint32_t align = 0;
	size_t k = 0;

	n->fill.len = 0;
	if (room > FILL_MAX)
		room = FILL_MAX;
	if (n->fill_cap < room + 2 * n->q.batch) {
		n->fill_cap = FILL_MAX + 2 * n->q.batch;
		n->fillv = xrealloc(n->fillv, n->fill_cap * sizeof(*n->fillv));
	}
	/* with an align (the records' pack's, which an earlier run may have
	 * had another of), on to a window's end: a window of records read
	 * back is not cut where the room ran out (records beyond -q, at most
	 * align - 1, and as many again for the next tag's first window when a
	 * tag ends there) */
	while ((k < room ||
		(align && k && (n->fillv[k - 1].rid + 1) % align)) &&
	       k < n->fill_cap && sink_spool_next(n->spool, &r)) {
		/* a segment written before segments told their pack (0):
		 * this run's */
		uint32_t pack = r.pack ? r.pack : n->q.pack;

		align = sinkq_align(&n->q, pack);
		n->fillv[k++] = (struct sink_net_fill){
			.off = n->fill.len,
			.len = r.len,
			.control = r.control,
			.tag = r.tag,
			.rid = r.rid,
			.mark = r.mark,
			.pack = pack,
		};
		sbuf_put(&n->fill, r.data, r.len);
	}
	return k;
}

/* Memory holds what is in flight: the acked position goes to the spool and
 * what waits on disk is read into the free room.  q.mu held on entry and
 * exit, dropped around the disk I/O (spool_mu is taken first). */
static void spool_fill(struct sink_net *n)
{
	uint64_t done, done_tag, done_rid, room, max;
	size_t k;

	if (!n->spool)
		return;
	if (spill_due(n, mono_ns())) {
		pthread_mutex_unlock(&n->q.mu);
		pthread_mutex_lock(&n->spool_mu);
		spill(n);
		pthread_mutex_unlock(&n->spool_mu);
		pthread_mutex_lock(&n->q.mu);
	}
	done = n->q.done_mark;
	done_tag = n->q.done_tag;
	done_rid = n->q.done_rid;
	room = n->q.nrec < n->q.max_rec ? n->q.max_rec - n->q.nrec : 0;
	if (done == n->spool_acked && n->spool_saved &&
	    !(room && n->spool_unread))
		return;
	pthread_mutex_unlock(&n->q.mu);
	pthread_mutex_lock(&n->spool_mu);
	/* the acked position reaches the disk when acks pause */
	spool_acked(n, done, false);
	/* room only grows meanwhile: the writer adds to the queue only
	 * when nothing waits on disk, and it waits for spool_mu */
	k = room ? fill_read(n, room) : 0;
	pthread_mutex_lock(&n->q.mu);
	/* all of them: those beyond room end a window (fill_read) */
	max = n->q.max_rec;
	n->q.max_rec = UINT64_MAX;
	for (size_t i = 0; i < k; i++) {
		const struct sink_net_fill *f = &n->fillv[i];

		sinkq_put(&n->q, n->fill.data + f->off, f->len, f->control,
			  f->tag, f->rid, f->pack, f->mark);
	}
	n->q.max_rec = max;
	n->spool_acked = done;
	n->spool_saved = sink_spool_ack_saved(n->spool);
	if (n->spool_saved && done) {
		n->spool_saved_tag = done_tag;
		n->spool_saved_rid = done_rid;
	}
	n->spool_unread = sink_spool_unread(n->spool);
	pthread_mutex_unlock(&n->spool_mu);
}

/* Messages in flight and no progress for KICK_NS: the protocol's thread
 * is woken (q.mu held, dropped around the call).  False: not due; *wake
 * is then when it would be. */
static bool kick_due(struct sink_net *n, uint64_t now, uint64_t *wake)
{
	if (!n->ops->kick || n->state != SINK_NET_UP || !n->inflight)
		return false;
	if (now - n->progress_at < KICK_NS) {
		if (n->progress_at + KICK_NS < *wake)
			*wake = n->progress_at + KICK_NS;
		return false;
	}
	n->progress_at = now;
	n->kicks++;
	pthread_mutex_unlock(&n->q.mu);
	n->ops->kick(n);
	pthread_mutex_lock(&n->q.mu);
	return true;
}

static void *sender(void *arg)
{
	struct sink_net *n = arg;

	pthread_mutex_lock(&n->q.mu);
	while (!n->stop) {
		uint64_t now = mono_ns(), wake;

		spool_fill(n);
		if (n->state == SINK_NET_DOWN && now >= n->retry_at) {
			connect_locked(n);
			continue;
		}
		send_some(n);
		if (n->stop)
			break;
		wake = now + IDLE_NS;
		if (kick_due(n, mono_ns(), &wake))
			continue;
		if (n->state == SINK_NET_DOWN && n->retry_at < now + IDLE_NS)
			wait_until(n, n->retry_at);
		else if (!(n->state == SINK_NET_UP && window_open(n) &&
			   n->q.next < n->q.count) &&
			 !(n->spool && n->q.nrec < n->q.max_rec &&
			   n->spool_unread))
			wait_until(n, wake);
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

/* Gone for good: stop sending so the queue can be emptied safely.  With a
 * spool, what is not delivered stays there for the next start: not lost,
 * not counted. */
static void give_up(struct sink_net *n)
{
	uint64_t lost, kept = 0;

	/* a send may be under way: stop the thread before emptying the queue */
	stop_thread(n);
	pthread_mutex_lock(&n->spool_mu);
	if (n->spool)
		spill(n); /* kept for the next start, as the rest */
	pthread_mutex_lock(&n->q.mu);
	if (n->dead) {
		pthread_mutex_unlock(&n->q.mu);
		pthread_mutex_unlock(&n->spool_mu);
		return; /* given up already: told then */
	}
	spool_acked(n, n->q.done_mark, true);
	lost = sinkq_discard(&n->q);
	if (n->spool) {
		kept = lost + sink_spool_unread(n->spool);
		lost = 0;
	}
	n->dead = true;
	pthread_mutex_unlock(&n->q.mu);
	pthread_mutex_unlock(&n->spool_mu);
	if (kept)
		log_warn(
			"%s: %llu records not delivered within %us: kept in the spool `%s` for the next start",
			n->base.desc, (unsigned long long)kept,
			n->drain_timeout, sink_spool_path(n->spool));
	if (!lost)
		return;
	sink_count_dropped(&n->base, lost);
	log_error(
		"%s: %llu records not delivered within %us: counted as missed",
		n->base.desc, (unsigned long long)lost, n->drain_timeout);
}

/* Records still to deliver, in memory and in the spool. */
static uint64_t pending(struct sink_net *n)
{
	/* a write under way (another thread: exe_hash records) is pending
	 * too, though it is in neither count between its locks */
	return n->q.nrec + (n->spool ? n->spool_unread : 0) + n->writing;
}

enum { REC_MEMORY, REC_SPOOLED, REC_FULL };

/* The records of buf just written to the spool go into the queue too while
 * it has room, when nothing older waits on disk: the sender then sends them
 * without reading them back, and the spool's cursor skips them.  spool_mu
 * and q.mu held. */
static void hand_over(struct sink_net *n, const char *buf, size_t len,
		      bool control, uint64_t rid)
{
	const char *p, *end = buf + len, *nl;
	uint64_t last = 0, k = 0;
	size_t i;

	for (p = buf, i = 0; p < end; p = nl, i++) {
		nl = memchr(p, '\n', end - p);
		nl = nl ? nl + 1 : end;
		if (n->verdict.data[i] != REC_SPOOLED)
			continue;
		if (!sinkq_put(&n->q, p, nl - p, control, n->q.tag, rid,
			       n->q.pack, n->marks[i]))
			break;
		rid++;
		last = n->marks[i];
		k++;
	}
	if (k)
		sink_spool_skip(n->spool, last, k);
}

/* While the destination keeps up, records go to the queue only: no disk
 * (spool_mu held).  False: they are for the spool. */
static bool keep_in_memory(struct sink_net *n, const char *buf, size_t len,
			   bool control)
{
	const char *p, *end = buf + len, *nl;
	uint64_t lines = 0;
	struct sinkq_msg *t;

	for (p = buf; p < end && (p = memchr(p, '\n', end - p)); p++)
		lines++;
	pthread_mutex_lock(&n->q.mu);
	if (control || n->state != SINK_NET_UP || n->failing ||
	    !sink_spool_ok(n->spool) || sink_spool_unread(n->spool) ||
	    n->q.nrec + lines + 1 > n->q.max_rec || spill_due(n, mono_ns())) {
		pthread_mutex_unlock(&n->q.mu);
		return false;
	}
	for (p = buf; p < end; p = nl) {
		nl = memchr(p, '\n', end - p);
		nl = nl ? nl + 1 : end;
		sinkq_put(&n->q, p, nl - p, false, n->q.tag, n->q.next_rid,
			  n->q.pack, 0);
		if (!n->mo) {
			t = sinkq_at(&n->q, n->q.count - 1);
			n->mo = true;
			n->mo_id = t->id;
			n->mo_off = t->buf.len - (nl - p);
			n->mo_rid = n->q.next_rid;
		}
		n->q.next_rid++;
	}
	pthread_cond_broadcast(&n->q.cv);
	pthread_mutex_unlock(&n->q.mu);
	return true;
}

/* Every record of buf to the spool, in one write; what it cannot keep
 * because it is full is dropped (spool_full).  A spool that fails to write
 * leaves the records to memory from then on (a record it had written in
 * this batch before failing may then be sent twice: at-least-once).  The
 * write holds spool_mu only: sends and acks go on meanwhile. */
static void write_spooled(struct sink_net *n, const char *buf, size_t len,
			  bool control)
{
	const char *p, *end = buf + len, *nl;
	uint64_t full = 0, dropped = 0, rid0 = n->q.next_rid;
	bool caught_up, ok;
	size_t i;

	pthread_mutex_lock(&n->q.mu);
	n->writing++;
	pthread_mutex_unlock(&n->q.mu);
	pthread_mutex_lock(&n->spool_mu);
	if (keep_in_memory(n, buf, len, control)) {
		pthread_mutex_lock(&n->q.mu);
		n->writing--;
		pthread_mutex_unlock(&n->q.mu);
		pthread_mutex_unlock(&n->spool_mu);
		return;
	}
	spill(n);
	caught_up = sink_spool_unread(n->spool) == 0;
	n->verdict.len = 0;
	for (p = buf, i = 0; p < end; p = nl, i++) {
		char v = REC_MEMORY;
		uint64_t mark;

		nl = memchr(p, '\n', end - p);
		nl = nl ? nl + 1 : end;
		if (i == n->marks_cap) {
			n->marks_cap = n->marks_cap ? n->marks_cap * 2 : 256;
			n->marks = xrealloc(n->marks,
					    n->marks_cap * sizeof(*n->marks));
		}
		mark = sink_spool_add(n->spool, p, nl - p, control,
				      n->q.next_rid);
		n->marks[i] = mark;
		if (mark) {
			n->q.next_rid++;
			v = REC_SPOOLED;
		} else if (sink_spool_ok(n->spool)) {
			full++;
			v = REC_FULL;
		}
		sbuf_putc(&n->verdict, v);
	}
	ok = sink_spool_commit(n->spool) == 0 && sink_spool_ok(n->spool);
	pthread_mutex_lock(&n->q.mu);
	if (ok && caught_up) {
		hand_over(n, buf, len, control, rid0);
	} else if (!ok) {
		for (p = buf, i = 0; p < end; p = nl, i++) {
			nl = memchr(p, '\n', end - p);
			nl = nl ? nl + 1 : end;
			if (n->verdict.data[i] != REC_FULL &&
			    !sinkq_put(&n->q, p, nl - p, control, n->q.tag,
				       n->q.next_rid++, n->q.pack, 0))
				dropped++;
		}
	}
	n->spool_unread = sink_spool_unread(n->spool);
	n->writing--;
	pthread_cond_broadcast(&n->q.cv);
	pthread_mutex_unlock(&n->q.mu);
	pthread_mutex_unlock(&n->spool_mu);
	if (full)
		sink_count_dropped_spool(&n->base, full);
	if (dropped)
		sink_count_dropped(&n->base, dropped);
}

static int net_write(struct sink *s, const char *buf, size_t len,
		     struct sf_error **err)
{
	struct sink_net *n = (struct sink_net *)s;
	uint64_t dropped;

	if (n->spool) {
		write_spooled(n, buf, len, false);
		return 0;
	}
	dropped = sinkq_push(&n->q, buf, len, false);
	if (dropped)
		sink_count_dropped(s, dropped);
	return 0;
}

static int net_write_control(struct sink *s, const char *buf, size_t len,
			     struct sf_error **err)
{
	struct sink_net *n = (struct sink_net *)s;

	if (n->spool) {
		write_spooled(n, buf, len, true);
		return 0;
	}
	sinkq_push(&n->q, buf, len, true);
	return 0;
}

/* At the end of a stream: bounded wait for delivery, count the rest.  With
 * a spool the bound is on time without progress: a backlog that is being
 * delivered (after an outage) is waited for, a destination that takes
 * nothing for --drain-timeout seconds is given up on. */
static int net_flush(struct sink *s, struct sf_error **err)
{
	struct sink_net *n = (struct sink_net *)s;
	uint64_t span = n->drain_timeout * 1000000000ull;
	uint64_t deadline = mono_ns() + span, last;
	bool left;

	pthread_mutex_lock(&n->q.mu);
	n->draining = true;
	pthread_cond_broadcast(&n->q.cv);
	last = pending(n);
	while (pending(n) && !n->dead && mono_ns() < deadline) {
		wait_until(n, deadline);
		if (n->spool && pending(n) < last)
			deadline = mono_ns() + span;
		last = pending(n);
	}
	n->draining = false;
	left = pending(n) != 0;
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
	left = pending(n);
	pthread_mutex_unlock(&n->q.mu);
	return left;
}

static bool net_congested(struct sink *s)
{
	struct sink_net *n = (struct sink_net *)s;
	bool c;

	pthread_mutex_lock(&n->spool_mu);
	pthread_mutex_lock(&n->q.mu);
	c = !n->dead && (n->state != SINK_NET_UP || n->failing ||
			 (!n->spool && n->q.nrec >= n->q.max_rec) ||
			 (n->spool && sink_spool_full(n->spool)));
	pthread_mutex_unlock(&n->q.mu);
	pthread_mutex_unlock(&n->spool_mu);
	return c;
}

static void net_close(struct sink *s)
{
	struct sink_net *n = (struct sink_net *)s;

	stop_thread(n);
	if (n->ops->close)
		n->ops->close(n);
	/* the thread is stopped: nothing else uses the spool */
	spool_acked(n, n->q.done_mark, true);
	sink_spool_close(n->spool);
	sinkq_fini(&n->q);
	pthread_mutex_destroy(&n->spool_mu);
	sbuf_free(&n->verdict);
	sbuf_free(&n->fill);
	free(n->fillv);
	free(n->marks);
	free(n->spool_dir);
	free(n->spool_kind);
	free(n->spool_dest);
	free(n->spool_want);
	free(s->desc);
	free(n);
}

static void net_state(struct sink *s, struct sink_state *st)
{
	struct sink_net *n = (struct sink_net *)s;

	pthread_mutex_lock(&n->q.mu);
	st->state = n->state == SINK_NET_UP	      ? "up"
		    : n->state == SINK_NET_CONNECTING ? "connecting"
						      : "down";
	st->backlog = n->q.nrec;
	st->connects = n->connects;
	snprintf(st->last_error, sizeof(st->last_error), "%s", n->last_error);
	pthread_mutex_unlock(&n->q.mu);
}

static const struct sink_ops net_sink_ops = {
	.name = "net",
	.write = net_write,
	.write_control = net_write_control,
	.flush = net_flush,
	.close = net_close,
	.drain = net_drain,
	.congested = net_congested,
	.state = net_state,
};

int sink_net_read_secret(const char *file, const char *option, const char *env,
			 char **out, struct sf_error **err)
{
	const char *v = getenv(env);
	char *buf = NULL;
	size_t len = 0;

	*out = NULL;
	if (file) {
		if (read_file(file, &buf, &len, 4096, err) < 0)
			return sf_error_wrap(err, "password file (%s)", option);
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = 0;
		*out = buf;
	} else if (v) {
		*out = xstrdup(v);
	}
	return 0;
}

void sink_net_free_secret(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

void sink_net_conf_spool(struct sink_net_conf *c, const struct sf_options *o)
{
	const char *env = getenv("SFAGENT_SPOOL_DIR");

	c->spool_max = o->spool_max;
	c->spool_total = o->spool_total;
	c->spool_dir_given = o->spool_dir != NULL;
	c->spool_key = o->spool_key;
	if (o->spool_dir)
		c->spool_dir = o->spool_dir;
	else if (env && *env)
		c->spool_dir = env;
	else
		c->spool_dir = SINK_SPOOL_DIR_DEFAULT;
}

void sink_net_init(struct sink_net *n, const struct sink_net_ops *ops,
		   const struct sink_net_conf *c, char *desc)
{
	struct timespec now;

	n->base.ops = &net_sink_ops;
	n->base.desc = desc;
	n->ops = ops;
	sinkq_init(&n->q, c->max_rec, c->batch);
	n->q.pack = c->pack;
	pthread_mutex_init(&n->spool_mu, NULL);
	n->spool_saved = true;
	clock_gettime(CLOCK_REALTIME, &now);
	n->q.tag = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	n->window = c->window ? c->window : 1;
	n->window_bytes = c->window_bytes;
	n->interval_ns = c->interval_ns;
	n->drain_timeout = c->drain_timeout;
	n->backoff = BACKOFF_MIN_NS;
	n->state = SINK_NET_DOWN;
	if (c->spool_dir && c->spool_max) {
		n->spool_dir = xstrdup(c->spool_dir);
		n->spool_kind = xstrdup(c->kind ? c->kind : "net");
		n->spool_dest = c->dest ? xstrdup(c->dest) : NULL;
		n->spool_max = c->spool_max;
		n->spool_total = c->spool_total;
		n->spool_dir_given = c->spool_dir_given;
		n->spool_want = c->spool_key ? xstrdup(c->spool_key) : NULL;
	}
}

/* The spool's name: the kind and a hash of the destination (the sink's
 * description names the server and the topic or URL). */
static char *spool_key(const struct sink_net *n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *p = n->base.desc; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return xasprintf("%s-%016llx", n->spool_kind, (unsigned long long)h);
}

/* want is base or base-N (N > 1): a spool of the same destination, the
 * N-th sink's that used it at once (sink_spool.c, lock_key). */
static bool is_key_of(const char *want, const char *base)
{
	size_t l = strlen(base);
	const char *p = want + l;

	if (strncmp(want, base, l) != 0)
		return false;
	if (!*p)
		return true;
	if (*p++ != '-' || !*p)
		return false;
	return strspn(p, "0123456789") == strlen(p);
}

static int open_spool(struct sink_net *n, struct sf_error **err)
{
	cleanup_error struct sf_error *e = NULL;
	cleanup_free char *key = NULL;

	if (!n->spool_dir)
		return 0;
	key = spool_key(n);
	if (n->spool_want && is_key_of(n->spool_want, key)) {
		free(key);
		key = xstrdup(n->spool_want);
	}
	n->spool = sink_spool_open(n->spool_dir, key, n->base.desc,
				   n->spool_max, n->q.tag, &e);
	if (n->spool) {
		n->spool_unread = sink_spool_unread(n->spool);
		sink_spool_set_total(n->spool, n->spool_total);
		sink_spool_set_pack(n->spool, n->q.pack);
		if (n->spool_dest)
			sink_spool_set_dest(n->spool, n->spool_kind,
					    n->spool_dest);
		return 0;
	}
	if (n->spool_dir_given) {
		*err = steal_pointer(&e);
		return sf_error_wrap(err, "%s", n->base.desc);
	}
	log_warn("%s: %s; keeping records in memory only (-q)", n->base.desc,
		 e->msg);
	return 0;
}

int sink_net_start(struct sink_net *n, struct sf_error **err)
{
	int e;

	if (open_spool(n, err) < 0)
		return -1;
	/* pthread_create returns its error; it does not set errno */
	e = pthread_create(&n->thread, NULL, sender, n);
	if (e != 0)
		return sf_fail(err, e, "%s: cannot start the sender thread",
			       n->base.desc);
	n->thread_running = true;
	return 0;
}

const char *sink_net_spool_key(struct sink *s)
{
	struct sink_net *n = (struct sink_net *)s;

	if (s->ops != &net_sink_ops || !n->spool)
		return NULL;
	return sink_spool_key(n->spool);
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
