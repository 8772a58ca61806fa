// SPDX-License-Identifier: GPL-2.0
/* The network sinks' queue (drop newest, control records, resend) and the
 * MQTT topic templates. */
#include "sink.h"
#include "sinkq.h"
#include "tap.h"

static void test_queue(void)
{
	struct sinkq q;
	struct sinkq_msg *m;
	uint64_t id1, id2, n;

	/* ok() evaluates its condition more than once: no side effects in it */
	sinkq_init(&q, 3, 2);
	n = sinkq_push(&q, "a\nb\nc\n", 6, false);
	ok(n == 0, "three records fit a queue of 3");
	ok(q.count == 2 && q.nrec == 3, "batch 2: two messages (%zu)", q.count);
	n = sinkq_push(&q, "d\ne\n", 4, false);
	ok(n == 2, "full: the newest are dropped");
	n = sinkq_push(&q, "M\n", 2, true);
	ok(n == 0 && q.nrec == 4, "a control record goes in beyond the bound");
	m = sinkq_take(&q);
	ok(m && m->nrec == 2 && memcmp(m->buf.data, "a\nb\n", 4) == 0,
	   "first message: a b");
	id1 = m->id;
	m = sinkq_take(&q);
	ok(m && m->nrec == 2 && memcmp(m->buf.data, "c\nM\n", 4) == 0 &&
		   m->nctl == 1,
	   "second: c and the control record");
	id2 = m->id;
	ok(!sinkq_take(&q), "nothing else to send");
	sinkq_push(&q, "f\n", 2, true);
	ok(q.count == 3, "a sent message takes no more records");
	sinkq_ack(&q, id2);
	ok(q.count == 3, "acknowledged out of order: kept until the head goes");
	sinkq_rewind(&q);
	m = sinkq_take(&q);
	ok(m && m->id == id1,
	   "after a reconnect the unacknowledged head is sent again");
	m = sinkq_take(&q);
	ok(m && m->id == id2 + 1, "the acknowledged one is not");
	sinkq_ack(&q, id1);
	ok(q.count == 1 && q.nrec == 1, "head acknowledged: both freed");
	sinkq_ack(&q, id1);
	ok(q.count == 1, "a duplicate acknowledgement is ignored");
	n = sinkq_discard(&q);
	ok(n == 0 && q.count == 0,
	   "discard: a stream record left is no event, not counted");
	sinkq_push(&q, "g\nh\n", 4, false);
	sinkq_push(&q, "N\n", 2, true);
	n = sinkq_discard(&q);
	ok(n == 2 && q.count == 0, "discard counts the event records left");
	sinkq_fini(&q);

	/* growth across the ring's wrap */
	sinkq_init(&q, 100000, 1);
	for (int i = 0; i < 1000; i++) {
		char r[16];
		int n = snprintf(r, sizeof(r), "%d\n", i);

		sinkq_push(&q, r, n, false);
		if (i % 3 == 0) {
			m = sinkq_take(&q);
			sinkq_ack(&q, m->id);
		}
	}
	m = sinkq_take(&q);
	ok(m && strncmp(m->buf.data, "334\n", 4) == 0,
	   "order kept across growth (%.*s)", m ? (int)m->buf.len - 1 : 0,
	   m ? m->buf.data : "");
	sinkq_fini(&q);
}

/* A message being read by a send outside the lock (SINKQ_BUSY): an ack of
 * an earlier send of it does not free it, nothing is appended to it after a
 * rewind; once no longer busy it goes, and its buffer serves a new one. */
static void test_busy(void)
{
	struct sinkq q;
	struct sinkq_msg *m;
	const char *data;
	uint64_t id;

	sinkq_init(&q, 100, 4);
	sinkq_push(&q, "a\nb\n", 4, false);
	m = sinkq_take(&q);
	id = m->id;
	m->flags |= SINKQ_BUSY;
	data = m->buf.data;
	sinkq_ack(&q, id);
	ok(q.count == 1 && sinkq_at(&q, 0)->buf.data == data,
	   "acknowledged while busy: kept, its buffer in place");
	sinkq_rewind(&q);
	sinkq_push(&q, "c\n", 2, false);
	ok(q.count == 2 && sinkq_at(&q, 0)->nrec == 2,
	   "after a rewind a busy message takes no more records");
	sinkq_unbusy(&q, id);
	ok(q.count == 1 && q.nrec == 1, "no longer busy: freed");
	ok(q.nspare == 1 && q.spare[0].data == data && !q.spare[0].len,
	   "its buffer is kept for a new message");
	m = sinkq_take(&q);
	sinkq_ack(&q, m->id);
	sinkq_push(&q, "d\n", 2, false);
	ok(q.count == 1 && sinkq_at(&q, 0)->buf.cap >= 4 &&
		   memcmp(sinkq_at(&q, 0)->buf.data, "d\n", 2) == 0,
	   "a new message takes a kept buffer");
	sinkq_fini(&q);
}

/* align (NATS batch windows): a message never holds both k*align - 1 and
 * k*align, align the largest multiple of the pack up to the batch, so full
 * messages end at window ends. */
static void test_align(void)
{
	struct sinkq q;
	bool aligned = true;
	char r[16];

	sinkq_init(&q, 1000, 64);
	q.pack = 24; /* align 48 */
	for (int i = 0; i < 200; i++) {
		int n = snprintf(r, sizeof(r), "%d\n", i);

		sinkq_push(&q, r, n, false);
	}
	ok(sinkq_at(&q, 0)->rid == 1 && sinkq_at(&q, 0)->nrec == 47,
	   "rids 1-47: the first window (%u)", sinkq_at(&q, 0)->nrec);
	for (size_t i = 1; i + 1 < q.count; i++)
		aligned &= sinkq_at(&q, i)->rid % 48 == 0 &&
			   sinkq_at(&q, i)->nrec == 48;
	ok(aligned && q.count == 5, "then whole windows of 48 (%zu messages)",
	   q.count);
	sinkq_fini(&q);

	/* records of an earlier run (replayed) keep their pack's windows,
	 * whatever the queue's own pack; the queue's own follow with its */
	sinkq_init(&q, 1000, 64);
	q.pack = 4;
	q.tag = 9;
	q.next_rid = 1;
	for (int i = 1; i <= 130; i++)
		sinkq_put(&q, "r\n", 2, false, 7, i, 5, 0);
	for (int i = 0; i < 70; i++)
		sinkq_push(&q, "o\n", 2, false);
	aligned = q.count == 5;
	for (size_t i = 0; aligned && i < 3; i++)
		aligned &= sinkq_at(&q, i)->tag == 7 &&
			   sinkq_at(&q, i)->pack == 5 &&
			   sinkq_at(&q, i)->rid == (i ? 60 * i : 1) &&
			   sinkq_at(&q, i)->nrec == (i == 0   ? 59
						     : i == 1 ? 60
							      : 11);
	for (size_t i = 3; aligned && i < 5; i++)
		aligned &= sinkq_at(&q, i)->tag == 9 &&
			   sinkq_at(&q, i)->pack == 4 &&
			   sinkq_at(&q, i)->rid == (i == 3 ? 1 : 64) &&
			   sinkq_at(&q, i)->nrec == (i == 3 ? 63 : 7);
	ok(aligned,
	   "an earlier run's records (pack 5) in windows of 60, the queue's (pack 4) in windows of 64 (%zu messages)",
	   q.count);
	sinkq_fini(&q);
}

static void test_topics(void)
{
	struct sf_error *err = NULL;
	char *t;

	t = sink_topic_expand("sfagent/%h/%w", "host1", "web", NULL, &err);
	is_str(t, "sfagent/host1/web", "exporter and workload");
	free(t);
	t = sink_topic_expand("a/%c/%%/%w", "h", "x/y+z#", "c0ffee", &err);
	is_str(t, "a/c0ffee/%/x_y_z_",
	       "container, %%, values cannot add levels or wildcards");
	free(t);
	t = sink_topic_expand("a/%c", "h", "w", NULL, &err);
	is_str(t, "a/", "no container: empty");
	free(t);
	t = sink_topic_expand("a/+/b", "h", "w", NULL, &err);
	ok(!t && err && err->status == SF_EXIT_USAGE, "+ refused");
	sf_error_free(err);
	err = NULL;
	t = sink_topic_expand("#", "h", "w", NULL, &err);
	ok(!t, "# refused");
	sf_error_free(err);
	err = NULL;
	t = sink_topic_expand("a/%q", "h", "w", NULL, &err);
	ok(!t && strstr(err->msg, "%q"), "unknown escape refused: %s",
	   err ? err->msg : "");
	sf_error_free(err);
	err = NULL;
	t = sink_topic_expand("%c", "h", "w", NULL, &err);
	ok(!t, "empty result refused");
	sf_error_free(err);
	err = NULL;
	t = sink_topic_expand("a\tb", "h", "w", NULL, &err);
	ok(!t, "control character refused");
	sf_error_free(err);
	err = NULL;
	{
		char big[SINK_TOPIC_MAX + 2];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		t = sink_topic_expand(big, "h", "w", NULL, &err);
		ok(!t, "too long refused");
		sf_error_free(err);
		err = NULL;
	}
	t = sink_topic_expand("a%", "h", "w", NULL, &err);
	free(t);
	ok(1, "trailing %% does not read past the end");
	sf_error_free(err);
}

int main(void)
{
	test_queue();
	test_busy();
	test_align();
	test_topics();
	return tap_done();
}
