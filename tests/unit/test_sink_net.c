// SPDX-License-Identifier: GPL-2.0
/*
 * The network-sink base's loss accounting, resend and give-up, over a fake
 * protocol part.  The fake is there for the faults a real broker or
 * collector cannot be made to produce on cue (a rejection of one exact
 * message, a send that fails then works, a destination that never answers);
 * the real protocols are run by tests/40-mqtt.bats and 41-http.bats.
 */
#include <dirent.h>
#include <pthread.h>

#include "sink_net.h"
#include "tap.h"

struct fake {
	struct sink_net net;
	pthread_mutex_t mu;
	struct sbuf got; /* what was delivered, in order */
	unsigned sends;
	/* scripted answers, one per send; then `then` */
	enum sink_net_sent script[16];
	unsigned nscript;
	enum sink_net_sent then;
	bool closed;
	/* PENDING sends kept for the test to acknowledge */
	uint64_t pending_id[64];
	uint32_t pending_gen[64];
	unsigned npending;
	unsigned kicks, kicked; /* kick calls; pending acked by them */
};

static enum sink_net_sent fake_send(struct sink_net *n,
				    const struct sink_net_msg *m, char *why,
				    size_t why_len)
{
	struct fake *f = (struct fake *)n;
	enum sink_net_sent r;

	pthread_mutex_lock(&f->mu);
	r = f->sends < f->nscript ? f->script[f->sends] : f->then;
	f->sends++;
	if (r == SINK_NET_DONE)
		sbuf_put(&f->got, m->buf, m->len);
	if (r == SINK_NET_PENDING && f->npending < 64) {
		sbuf_put(&f->got, m->buf, m->len);
		f->pending_id[f->npending] = m->id;
		f->pending_gen[f->npending++] = m->gen;
	}
	if (r == SINK_NET_DOWN_NOW)
		snprintf(why, why_len, "fake outage");
	pthread_mutex_unlock(&f->mu);
	return r;
}

static void fake_close(struct sink_net *n)
{
	struct fake *f = (struct fake *)n;

	sbuf_free(&f->got);
	pthread_mutex_destroy(&f->mu);
}

static const struct sink_net_ops fake_ops = {
	.send = fake_send,
	.close = fake_close,
};

/* Like paho's send thread that missed its wake-up: what is in flight is
 * acknowledged only once the base kicks. */
static void fake_kick(struct sink_net *n)
{
	struct fake *f = (struct fake *)n;
	unsigned from, to;

	pthread_mutex_lock(&f->mu);
	f->kicks++;
	from = f->kicked;
	to = f->kicked = f->npending;
	pthread_mutex_unlock(&f->mu);
	for (unsigned i = from; i < to; i++)
		sink_net_acked(n, f->pending_id[i], f->pending_gen[i]);
}

static const struct sink_net_ops fake_kick_ops = {
	.send = fake_send,
	.close = fake_close,
	.kick = fake_kick,
};

static char spool_dir[64]; /* set: the fakes spool there */
static uint64_t spool_max;

static struct fake *fake_open(uint64_t max_rec, uint32_t batch, unsigned window)
{
	struct fake *f = xzalloc(sizeof(*f));
	struct sink_net_conf c = {
		.kind = "fake",
		.max_rec = max_rec,
		.batch = batch,
		.window = window,
		.drain_timeout = 1,
		.spool_dir = spool_dir[0] ? spool_dir : NULL,
		.spool_max = spool_max,
		.spool_dir_given = true,
	};

	pthread_mutex_init(&f->mu, NULL);
	f->then = SINK_NET_DONE;
	sink_net_init(&f->net, &fake_ops, &c, xstrdup("fake sink"));
	return f;
}

static bool got_is(struct fake *f, const char *want)
{
	bool same;

	pthread_mutex_lock(&f->mu);
	same = f->got.len == strlen(want) &&
	       memcmp(f->got.data, want, f->got.len) == 0;
	if (!same)
		printf("#   got: %.*s\n", (int)f->got.len, f->got.data);
	pthread_mutex_unlock(&f->mu);
	return same;
}

/* Written before the thread starts: the queue bound is what drops. */
static void test_queue_full(void)
{
	struct fake *f = fake_open(3, 1, 1);
	struct sink *s = &f->net.base;
	uint64_t d;
	int started;

	sink_write(s, "1\n2\n3\n4\n5\n", 10, NULL);
	sink_write_control(s, "S\n", 2, NULL);
	d = sink_dropped(s);
	ok(d == 2, "queue of 3: 2 of 5 records counted as dropped (%llu)",
	   (unsigned long long)d);
	ok(sink_congested(s), "not connected yet: congested");
	/* ok() evaluates its condition more than once: no side effects */
	started = sink_net_start(&f->net, NULL);
	ok(started == 0, "sender thread started");
	sink_flush(s, NULL);
	ok(got_is(f, "1\n2\n3\nS\n"),
	   "the rest delivered in order, the stream record beyond the bound");
	ok(sink_dropped(s) == 2, "nothing else counted");
	ok(!sink_congested(s), "delivered: not congested");
	sink_close(s);
}

/* Two outages, then delivery: nothing lost, nothing counted. */
static void test_outage(void)
{
	struct fake *f = fake_open(100, 2, 1);
	struct sink *s = &f->net.base;

	f->script[0] = SINK_NET_DOWN_NOW;
	f->script[1] = SINK_NET_DOWN_NOW;
	f->nscript = 2;
	sink_write(s, "a\nb\nc\n", 6, NULL);
	sink_net_start(&f->net, NULL);
	sink_flush(s, NULL);
	ok(got_is(f, "a\nb\nc\n"), "after two failed sends: all, in order");
	ok(sink_dropped(s) == 0, "an outage the queue covers loses nothing");
	ok(f->sends == 4,
	   "the first message tried three times: %u sends in all", f->sends);
	sink_close(s);
}

/* A rejection drops its ordinary records only, and sending goes on. */
static void test_rejected(void)
{
	struct fake *f = fake_open(100, 3, 1);
	struct sink *s = &f->net.base;

	f->script[0] = SINK_NET_REJECTED;
	f->nscript = 1;
	sink_write_control(s, "S\n", 2, NULL);
	sink_write(s, "a\nb\n", 4, NULL);
	sink_write(s, "c\n", 2, NULL);
	sink_net_start(&f->net, NULL);
	sink_flush(s, NULL);
	ok(sink_dropped(s) == 2,
	   "rejected message S a b: its 2 ordinary records counted (%llu)",
	   (unsigned long long)sink_dropped(s));
	ok(got_is(f, "c\n"), "the next message delivered");
	sink_close(s);
}

/* A destination that never answers: the drain gives up and counts. */
static void test_give_up(void)
{
	struct fake *f = fake_open(100, 1, 4);
	struct sink *s = &f->net.base;
	uint64_t left;

	f->then = SINK_NET_PENDING;
	sink_write(s, "a\nb\nc\n", 6, NULL);
	sink_net_start(&f->net, NULL);
	for (int i = 0; i < 200 && sink_drain(s, false) == 3; i++) {
		pthread_mutex_lock(&f->mu);
		bool all = f->npending == 3;
		pthread_mutex_unlock(&f->mu);
		if (all)
			break;
		usleep(5000);
	}
	ok(f->npending == 3, "window 4: three messages in flight at once");
	sink_net_acked(&f->net, f->pending_id[1], f->pending_gen[1]);
	left = sink_drain(s, false);
	ok(left == 3, "acked out of order: kept behind the head (%llu)",
	   (unsigned long long)left);
	sink_net_acked(&f->net, f->pending_id[0], f->pending_gen[0]);
	left = sink_drain(s, false);
	ok(left == 1, "head acked: two delivered, one pending (%llu)",
	   (unsigned long long)left);
	left = sink_drain(s, true);
	ok(left == 0, "give up");
	ok(sink_dropped(s) == 1, "the one never acked counted as dropped");
	sink_write(s, "d\n", 2, NULL);
	ok(!sink_congested(s), "given up: not congested (nothing will wait)");
	sink_close(s);
}

/* A broken connection: what was in flight is sent again, in order. */
static void test_resend(void)
{
	struct fake *f = fake_open(100, 1, 8);
	struct sink *s = &f->net.base;
	uint32_t gen;

	f->then = SINK_NET_PENDING;
	sink_write(s, "a\nb\n", 4, NULL);
	sink_net_start(&f->net, NULL);
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&f->mu);
		bool both = f->npending == 2;
		pthread_mutex_unlock(&f->mu);
		if (both)
			break;
		usleep(5000);
	}
	gen = f->pending_gen[0];
	pthread_mutex_lock(&f->mu);
	f->then = SINK_NET_DONE;
	pthread_mutex_unlock(&f->mu);
	sink_net_acked(&f->net, f->pending_id[0], gen);
	sink_net_resend(&f->net, gen);
	sink_flush(s, NULL);
	ok(got_is(f, "a\nb\nb\n"),
	   "b unacked when the send failed: sent again (at-least-once)");
	ok(sink_dropped(s) == 0, "nothing counted");
	sink_close(s);
}

/* Messages in flight and no ack for SINK_NET_KICK_MS: the protocol is
 * kicked, and what it then acknowledges ends the stream in time (without
 * the kick the drain gives up and counts the three as missed). */
static void test_kick(void)
{
	struct fake *f = fake_open(100, 1, 8);
	struct sink *s = &f->net.base;
	unsigned kicks;

	f->net.ops = &fake_kick_ops;
	f->then = SINK_NET_PENDING;
	sink_write(s, "a\nb\nc\n", 6, NULL);
	sink_net_start(&f->net, NULL);
	sink_flush(s, NULL);
	pthread_mutex_lock(&f->mu);
	kicks = f->kicks;
	pthread_mutex_unlock(&f->mu);
	ok(kicks >= 1 && kicks == f->net.kicks, "kicked (%u times)", kicks);
	ok(got_is(f, "a\nb\nc\n") && sink_dropped(s) == 0,
	   "what the kick got acknowledged is delivered, nothing counted (%llu)",
	   (unsigned long long)sink_dropped(s));
	sink_close(s);
}

static unsigned npending(struct fake *f)
{
	unsigned k;

	pthread_mutex_lock(&f->mu);
	k = f->npending;
	pthread_mutex_unlock(&f->mu);
	return k;
}

/* Waits (up to 1 s) for want sends in flight, then gives a sender that
 * would wrongly send more 50 ms to do so. */
static unsigned pending_settled(struct fake *f, unsigned want)
{
	for (int i = 0; i < 200 && npending(f) < want; i++)
		usleep(5000);
	usleep(50000);
	return npending(f);
}

static void ack_pending(struct fake *f, unsigned i)
{
	sink_net_acked(&f->net, f->pending_id[i], f->pending_gen[i]);
}

/* The window bounded by bytes (window_bytes, MQTT: paho's writes are not
 * cut by a full socket buffer): a message goes out only when it fits
 * beside what is in flight, or alone; acks open the window again, and
 * nothing is lost or reordered. */
static void test_window_bytes(void)
{
	struct fake *f = fake_open(100, 1, 8);
	struct sink *s = &f->net.base;
	unsigned k;

	f->net.window_bytes = 5;
	f->then = SINK_NET_PENDING;
	sink_write(s, "a\nb\nc\ndddddddd\n", 15, NULL);
	sink_net_start(&f->net, NULL);
	k = pending_settled(f, 2);
	ok(k == 2, "5 bytes: two 2-byte messages in flight, not more (%u)", k);
	ack_pending(f, 0);
	k = pending_settled(f, 3);
	ok(k == 3, "one acked: the next one fits (%u)", k);
	ack_pending(f, 1);
	k = pending_settled(f, 3);
	ok(k == 3, "9 bytes do not fit beside 2 in flight (%u)", k);
	ack_pending(f, 2);
	k = pending_settled(f, 4);
	ok(k == 4, "nothing in flight: the 9-byte message goes alone (%u)", k);
	ack_pending(f, 3);
	sink_flush(s, NULL);
	pthread_mutex_lock(&f->net.q.mu);
	ok(f->net.inflight_bytes == 0 && f->net.inflight == 0,
	   "all acked: no bytes in flight (%llu)",
	   (unsigned long long)f->net.inflight_bytes);
	pthread_mutex_unlock(&f->net.q.mu);
	ok(got_is(f, "a\nb\nc\ndddddddd\n") && sink_dropped(s) == 0,
	   "delivered in order, nothing counted");
	sink_close(s);
}

static size_t spool_files(void)
{
	struct dirent *de;
	DIR *d = opendir(spool_dir);
	size_t n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* The same base with a spool: what an outage and a give-up leave on disk
 * is delivered by the next sink to the same destination, in order. */
static void test_spool(void)
{
	struct fake *f;
	struct sink *s;
	uint64_t left, full;
	char rec[1001];
	int started;

	snprintf(spool_dir, sizeof(spool_dir), "/tmp/sf-unit-net-XXXXXX");
	if (!mkdtemp(spool_dir)) {
		ok(0, "mkdtemp");
		return;
	}
	spool_max = 1 << 20;
	f = fake_open(2, 1, 1);
	s = &f->net.base;
	f->then = SINK_NET_PENDING; /* nothing is ever acknowledged */
	started = sink_net_start(&f->net, NULL);
	ok(started == 0, "spool opened, sender started");
	sink_write_control(s, "S\n", 2, NULL);
	sink_write(s, "a\nb\nc\n", 6, NULL);
	usleep(100000);
	left = sink_drain(s, false);
	ok(left == 4, "memory holds -q 2 in flight, the spool the rest (%llu)",
	   (unsigned long long)left);
	left = sink_drain(s, true);
	ok(left == 0 && sink_dropped(s) == 0,
	   "given up with a spool: kept on disk, not counted as missed");
	sink_close(s);
	ok(spool_files() > 0, "the spool's files stay (%zu)", spool_files());

	f = fake_open(2, 1, 1);
	s = &f->net.base;
	started = sink_net_start(&f->net, NULL);
	sink_write(s, "d\n", 2, NULL);
	sink_flush(s, NULL);
	ok(got_is(f, "S\na\nb\nc\nd\n"),
	   "the next sink to that destination: the old records first, then its own");
	ok(sink_dropped(s) == 0, "nothing counted");
	sink_close(s);
	ok(spool_files() == 0, "all acknowledged: no files left");

	/* full: the newest dropped and counted as spool_full */
	f = fake_open(2, 1, 1);
	s = &f->net.base;
	f->then = SINK_NET_PENDING; /* held until the test says */
	started = sink_net_start(&f->net, NULL);
	memset(rec, 'x', sizeof(rec) - 1);
	rec[sizeof(rec) - 1] = '\n';
	for (int i = 0; i < 1200; i++)
		sink_write(s, rec, sizeof(rec), NULL);
	full = sink_dropped_spool(s);
	ok(full > 100 && full < 300 && sink_dropped(s) == full,
	   "1200 records of 1 KB into a 1 MiB spool: %llu dropped, all spool_full",
	   (unsigned long long)full);
	ok(sink_congested(s),
	   "a full spool is congested (the loss is told once): %llu bytes",
	   (unsigned long long)sink_spool_bytes(f->net.spool));
	pthread_mutex_lock(&f->mu);
	f->then = SINK_NET_DONE;
	f->got.len = 0;
	pthread_mutex_unlock(&f->mu);
	sink_net_resend(&f->net, f->pending_gen[0]);
	sink_flush(s, NULL);
	pthread_mutex_lock(&f->mu);
	ok(f->got.len == (1200 - full) * sizeof(rec),
	   "what it kept is delivered (%zu bytes)", f->got.len);
	pthread_mutex_unlock(&f->mu);
	sink_close(s);
	ok(spool_files() == 0, "and nothing is left on disk");
	spool_max = 0;
	rmdir(spool_dir);
	spool_dir[0] = 0;
}

int main(void)
{
	test_queue_full();
	test_outage();
	test_rejected();
	test_give_up();
	test_resend();
	test_kick();
	test_window_bytes();
	test_spool();
	return tap_done();
}
