/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The bounded record queue behind the network sinks (MQTT, HTTP).
 *
 * The ring-buffer consumer pushes records; a sender thread takes messages
 * (up to `batch` records each) and acknowledges them once delivered.  A
 * message stays queued until acknowledged, so whatever was in flight when a
 * connection broke is sent again (at-least-once).
 *
 * When `max_rec` records are queued, new records are dropped (drop newest):
 * what is queued is older and goes out in order, so a subscriber sees one
 * contiguous gap, told by a stream.missed record placed right where the gap
 * is.  Dropping the oldest would instead punch holes into the backlog being
 * resent and could drop the stream.missed record itself.  Control records
 * (stream.start/missed/end) are always accepted, beyond the bound: they are
 * few and they are what tells the reader about the loss.
 */
#ifndef SF_SINKQ_H
#define SF_SINKQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sbuf.h"

#define SINKQ_SENT  (1u << 0)
#define SINKQ_ACKED (1u << 1)
/* Being read by a send outside the lock: not appended to, not freed. */
#define SINKQ_BUSY (1u << 2)
/* Buffers of freed messages kept for new ones (no malloc and regrowth of
 * a batch-sized buffer per message). */
#define SINKQ_SPARE 4

struct sinkq_msg {
	struct sbuf buf; /* records, each ending in '\n' */
	uint64_t id; /* increasing, contiguous along the ring */
	uint64_t born; /* monotonic ns of the first record */
	uint32_t nrec;
	uint32_t nctl; /* of which control records */
	uint32_t flags;
	uint64_t tag, rid; /* of its first record: see sink_net_msg */
	uint32_t pack, align; /* its records' (see sinkq.pack) */
	uint64_t mark; /* the spool position after its last record, or 0 */
	/* The sender's (sink_net.c): the bytes of its send on connection
	 * sent_gen counted in sink_net.inflight_bytes, 0 once answered. */
	uint64_t sent_len;
	uint32_t sent_gen;
};

struct sinkq {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* records pushed, messages acknowledged */
	struct sinkq_msg *ring;
	size_t cap, head, count; /* messages ring[head .. head+count) */
	size_t next; /* index (from head) of the first unsent one */
	uint64_t next_id;
	uint64_t nrec; /* records queued, sent or not, not acknowledged */
	uint64_t max_rec; /* bound for ordinary records */
	uint32_t batch; /* records per message */
	/* Records pushed without an origin get these: tag, the next rid and
	 * pack, the records per protocol window (NATS --nats-batch; 0 or 1:
	 * none).  A message never holds both rid k*align - 1 and k*align,
	 * align being the largest multiple of its records' pack up to batch
	 * (sinkq_align): a full message ends where a NATS batch window does,
	 * also for records of an earlier run with another pack. */
	uint64_t tag, next_rid;
	uint32_t pack;
	uint64_t done_mark; /* mark of the last message freed at the head */
	uint64_t done_tag, done_rid; /* and its first record */
	struct sbuf spare[SINKQ_SPARE];
	unsigned nspare;
};

void sinkq_init(struct sinkq *q, uint64_t max_rec, uint32_t batch);
void sinkq_fini(struct sinkq *q);

/* Locked.  Returns the records dropped for lack of room. */
uint64_t sinkq_push(struct sinkq *q, const char *buf, size_t len, bool control);

/* The rest run with q->mu held. */

/* One record (ending in '\n') with its origin (tag, rid, pack) and spool
 * mark; false when the bound refuses it (control records never are). */
bool sinkq_put(struct sinkq *q, const char *rec, size_t len, bool control,
	       uint64_t tag, uint64_t rid, uint32_t pack, uint64_t mark);
/* Where messages of records with that pack are cut (0: anywhere). */
static inline uint32_t sinkq_align(const struct sinkq *q, uint32_t pack)
{
	return pack > 1 ? q->batch / pack * pack : 0;
}
static inline struct sinkq_msg *sinkq_at(struct sinkq *q, size_t i)
{
	return &q->ring[(q->head + i) % q->cap];
}
/* The next message to send, marked SENT, or NULL. */
struct sinkq_msg *sinkq_take(struct sinkq *q);
/* Delivered (or given up): frees what is done at the head. */
void sinkq_ack(struct sinkq *q, uint64_t id);
/* Message id (marked SINKQ_BUSY by the sender) is no longer being read:
 * freed if it was acknowledged meanwhile. */
void sinkq_unbusy(struct sinkq *q, uint64_t id);
/* A connection broke: everything not acknowledged is to be sent again. */
void sinkq_rewind(struct sinkq *q);
/* Drops everything still queued; returns the number of event records
 * (stream records not counted). */
uint64_t sinkq_discard(struct sinkq *q);

#endif
