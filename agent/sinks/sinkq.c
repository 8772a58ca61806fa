// SPDX-License-Identifier: GPL-2.0
/* The network sinks' bounded queue: see sinkq.h for the drop policy. */
#include "sinkq.h"

#include <time.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void sinkq_init(struct sinkq *q, uint64_t max_rec, uint32_t batch)
{
	pthread_condattr_t ca;

	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	q->max_rec = max_rec;
	q->batch = batch ? batch : 1;
	q->next_id = 1;
	q->next_rid = 1;
}

void sinkq_fini(struct sinkq *q)
{
	sinkq_discard(q);
	while (q->nspare)
		sbuf_free(&q->spare[--q->nspare]);
	free(q->ring);
	q->ring = NULL;
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}

static void grow(struct sinkq *q)
{
	size_t cap = q->cap ? q->cap * 2 : 64;
	struct sinkq_msg *r = xzalloc(cap * sizeof(*r));

	for (size_t i = 0; i < q->count; i++)
		r[i] = *sinkq_at(q, i);
	free(q->ring);
	q->ring = r;
	q->cap = cap;
	q->head = 0;
}

/* The message the next record goes into: the unsent tail if it has room. */
static struct sinkq_msg *tail_for_append(struct sinkq *q, uint64_t tag,
					 uint64_t rid, uint32_t pack)
{
	struct sinkq_msg *m;

	/* a message's records have one origin and consecutive numbers, so
	 * (tag, rid + i) names its i-th record (NATS Msg-Ids) */
	if (q->count > q->next) {
		m = sinkq_at(q, q->count - 1);
		if (!(m->flags & (SINKQ_SENT | SINKQ_BUSY)) &&
		    m->nrec < q->batch && m->tag == tag &&
		    m->rid + m->nrec == rid && m->pack == pack &&
		    !(m->align && rid % m->align == 0))
			return m;
	}
	if (q->count == q->cap)
		grow(q);
	m = sinkq_at(q, q->count++);
	memset(m, 0, sizeof(*m));
	if (q->nspare)
		m->buf = q->spare[--q->nspare];
	m->id = q->next_id++;
	m->born = mono_ns();
	return m;
}

bool sinkq_put(struct sinkq *q, const char *rec, size_t len, bool control,
	       uint64_t tag, uint64_t rid, uint32_t pack, uint64_t mark)
{
	struct sinkq_msg *m;

	if (!control && q->nrec >= q->max_rec)
		return false;
	m = tail_for_append(q, tag, rid, pack);
	if (!m->nrec) {
		m->tag = tag;
		m->rid = rid;
		m->pack = pack;
		m->align = sinkq_align(q, pack);
	}
	sbuf_put(&m->buf, rec, len);
	m->nrec++;
	m->nctl += control;
	if (mark) /* a record in memory only leaves the spool's mark */
		m->mark = mark;
	q->nrec++;
	return true;
}

uint64_t sinkq_push(struct sinkq *q, const char *buf, size_t len, bool control)
{
	const char *p = buf, *end = buf + len, *nl;
	uint64_t dropped = 0;

	pthread_mutex_lock(&q->mu);
	for (; p < end; p = nl) {
		nl = memchr(p, '\n', end - p);
		nl = nl ? nl + 1 : end;
		if (sinkq_put(q, p, nl - p, control, q->tag, q->next_rid,
			      q->pack, 0))
			q->next_rid++;
		else
			dropped++;
	}
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return dropped;
}

struct sinkq_msg *sinkq_take(struct sinkq *q)
{
	while (q->next < q->count) {
		struct sinkq_msg *m = sinkq_at(q, q->next++);

		if (m->flags & (SINKQ_ACKED | SINKQ_SENT))
			continue;
		m->flags |= SINKQ_SENT;
		return m;
	}
	return NULL;
}

static void pop_done(struct sinkq *q)
{
	while (q->count && (sinkq_at(q, 0)->flags &
			    (SINKQ_ACKED | SINKQ_BUSY)) == SINKQ_ACKED) {
		struct sinkq_msg *m = sinkq_at(q, 0);

		q->nrec -= m->nrec;
		if (m->mark) {
			q->done_mark = m->mark;
			q->done_tag = m->tag;
			q->done_rid = m->rid;
		}
		if (q->nspare < SINKQ_SPARE) {
			m->buf.len = 0;
			q->spare[q->nspare++] = m->buf;
			m->buf = (struct sbuf){0};
		} else {
			sbuf_free(&m->buf);
		}
		q->head = (q->head + 1) % q->cap;
		q->count--;
		if (q->next)
			q->next--;
	}
}

void sinkq_ack(struct sinkq *q, uint64_t id)
{
	uint64_t first;

	if (!q->count)
		return;
	first = sinkq_at(q, 0)->id;
	if (id < first || id - first >= q->count)
		return; /* acknowledged twice (sent again after a reconnect) */
	sinkq_at(q, id - first)->flags |= SINKQ_ACKED;
	pop_done(q);
	pthread_cond_broadcast(&q->cv);
}

void sinkq_unbusy(struct sinkq *q, uint64_t id)
{
	uint64_t first;

	if (!q->count)
		return;
	first = sinkq_at(q, 0)->id;
	if (id < first || id - first >= q->count)
		return;
	sinkq_at(q, id - first)->flags &= ~SINKQ_BUSY;
	pop_done(q);
	pthread_cond_broadcast(&q->cv);
}

void sinkq_rewind(struct sinkq *q)
{
	/* (a message being read stays SINKQ_BUSY: the sender clears it) */
	for (size_t i = 0; i < q->count; i++)
		sinkq_at(q, i)->flags &= ~SINKQ_SENT;
	q->next = 0;
}

uint64_t sinkq_discard(struct sinkq *q)
{
	uint64_t n = 0;

	/* events only: a stream record is no event (stream.end's totals) */
	for (size_t i = 0; i < q->count; i++) {
		n += sinkq_at(q, i)->nrec - sinkq_at(q, i)->nctl;
		sbuf_free(&sinkq_at(q, i)->buf);
	}
	q->count = q->next = 0;
	q->head = 0;
	q->nrec = 0;
	return n;
}
