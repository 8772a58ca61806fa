// SPDX-License-Identifier: GPL-2.0
/*
 * Loss accounting of the consumer loop (agent.c), fed without BPF: a probe
 * backend of the test's own plays the kernel side (a ring of a few records
 * that counts what does not fit, as the BPF programs do when
 * bpf_ringbuf_reserve fails) and a sink of the test's own keeps what reaches
 * it and can refuse writes (a full disk).  The agent between them is the real
 * one: on_event, the encoder, stream_flush, check_missed, stream_finish.
 *
 * What must hold: every event the workload caused is either in the stream or
 * counted in stream.missed, stream.end says the same totals, and seq has no
 * gap that stream.missed does not explain.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "json.h"
#include "sink.h"
#include "tap.h"

/* ---- the probe: a ring of RING_RECORDS, drops counted per slot --------- */

#define RING_RECORDS 8
#define MAX_CGROUPS  8

struct fake_probe {
	struct probe_opts o;
	int efd; /* readable while records wait */
	struct sf_kill_event ring[RING_RECORDS];
	int queued;
	uint64_t drops[SF_MAX_SLOTS];
	uint64_t cgid[MAX_CGROUPS];
	uint32_t slot[MAX_CGROUPS];
	int attaches, detaches, polls;
	bool closed;
	/* the agent's "I poll, do not wake me" (probe op polls), how often
	 * it was set, and records that come without a wake-up as it clears it */
	bool polling;
	int polls_set, quiet_on_sleep;
};

static struct fake_probe *fake_of(struct probe *p)
{
	return p->state;
}

static int fake_open(struct probe *p, const struct probe_opts *o,
		     struct sf_error **err)
{
	struct fake_probe *f = xzalloc(sizeof(*f));

	f->o = *o;
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->state = f;
	if (f->efd < 0)
		return sf_fail(err, errno, "eventfd");
	return 0;
}

static int fake_attach(struct probe *p, unsigned groups, struct sf_error **err)
{
	fake_of(p)->attaches++;
	return 0;
}

static void fake_detach(struct probe *p, unsigned groups)
{
	fake_of(p)->detaches++;
}

static int fake_poll(struct probe *p)
{
	struct fake_probe *f = fake_of(p);
	int n = f->queued;
	uint64_t v;

	f->polls++;
	for (int i = 0; i < n; i++)
		f->o.on_event(f->o.ctx, &f->ring[i], sizeof(f->ring[i]));
	f->queued = 0;
	if (read(f->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return n;
}

/* The test keeps the state after close to look at it; main frees it. */
static void fake_close(struct probe *p)
{
	struct fake_probe *f = fake_of(p);

	close(f->efd);
	f->efd = -1;
	f->closed = true;
}

static int fake_epoll_fd(struct probe *p)
{
	return fake_of(p)->efd;
}

static int fake_track(struct probe *p, uint64_t cgid, uint32_t slot,
		      struct sf_error **err)
{
	struct fake_probe *f = fake_of(p);

	for (int i = 0; i < MAX_CGROUPS; i++) {
		if (!f->cgid[i] || f->cgid[i] == cgid) {
			f->cgid[i] = cgid;
			f->slot[i] = slot;
			return 0;
		}
	}
	return sf_fail(err, ENOSPC, "track cgroup %llu",
		       (unsigned long long)cgid);
}

static int fake_untrack(struct probe *p, uint64_t cgid)
{
	struct fake_probe *f = fake_of(p);

	for (int i = 0; i < MAX_CGROUPS; i++)
		if (f->cgid[i] == cgid)
			f->cgid[i] = 0;
	return 0;
}

static uint64_t fake_drops(struct probe *p, uint32_t slot)
{
	return fake_of(p)->drops[slot];
}

static void fake_reset_drops(struct probe *p, uint32_t slot)
{
	fake_of(p)->drops[slot] = 0;
}

static void kernel_emit_quiet(struct fake_probe *f, uint64_t cgid, int n);

static void fake_polls(struct probe *p, bool on)
{
	struct fake_probe *f = fake_of(p);

	f->polling = on;
	f->polls_set += on;
	/* submitted while the flag still said "polls": no wake-up */
	if (!on && f->quiet_on_sleep) {
		kernel_emit_quiet(f, f->cgid[0], f->quiet_on_sleep);
		f->quiet_on_sleep = 0;
	}
}

static const struct probe_ops fake_ops = {
	.name = "test",
	.open = fake_open,
	.attach = fake_attach,
	.detach = fake_detach,
	.poll = fake_poll,
	.close = fake_close,
	.epoll_fd = fake_epoll_fd,
	.track = fake_track,
	.untrack = fake_untrack,
	.drops = fake_drops,
	.reset_drops = fake_reset_drops,
	.polls = fake_polls,
};

/* The kernel side: n kill events by a task of cgroup cgid.  Only a tracked
 * cgroup's events are written; what does not fit the ring is counted.
 * wake: the ring's fd becomes readable (a forced wake-up). */
static void kernel_emit_wake(struct fake_probe *f, uint64_t cgid, int n,
			     bool wake)
{
	uint32_t slot = SF_SLOT_NONE;
	uint64_t v = 1;

	for (int i = 0; i < MAX_CGROUPS; i++)
		if (f->cgid[i] == cgid)
			slot = f->slot[i];
	if (slot == SF_SLOT_NONE)
		return;
	for (int i = 0; i < n; i++) {
		struct sf_kill_event *e;

		if (f->queued == RING_RECORDS) {
			f->drops[slot]++;
			continue;
		}
		e = &f->ring[f->queued++];
		memset(e, 0, sizeof(*e));
		e->hdr.type = SF_EV_KILL;
		e->hdr.slot = slot;
		e->hdr.cgid = cgid;
		e->hdr.pid = e->hdr.tid = 100;
		e->hdr.flags = SF_F_HAS_RET;
		memcpy(e->hdr.comm, "kill", 5);
		e->target_pid = e->target_tid = 200;
		e->sig = 15;
	}
	if (wake && write(f->efd, &v, sizeof(v)) < 0)
		abort();
}

static void kernel_emit(struct fake_probe *f, uint64_t cgid, int n)
{
	kernel_emit_wake(f, cgid, n, true);
}

static void kernel_emit_quiet(struct fake_probe *f, uint64_t cgid, int n)
{
	kernel_emit_wake(f, cgid, n, false);
}

/* ---- the sink: keeps what it is given; refuses writes while `full` ----- */

struct mem_sink {
	struct sink base;
	struct sbuf *got; /* the test's, outlives the sink */
	bool full; /* a full disk: event batches are refused and counted */
};

static size_t count_records(const char *buf, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	return n;
}

static int mem_write(struct sink *s, const char *buf, size_t len,
		     struct sf_error **err)
{
	struct mem_sink *m = (struct mem_sink *)s;

	if (m->full) {
		sink_count_dropped(s, count_records(buf, len));
		return sf_fail(err, ENOSPC, "%s", s->desc);
	}
	sbuf_put(m->got, buf, len);
	return 0;
}

/* stream records are never refused for lack of room (sink.h) */
static int mem_write_control(struct sink *s, const char *buf, size_t len,
			     struct sf_error **err)
{
	sbuf_put(((struct mem_sink *)s)->got, buf, len);
	return 0;
}

static void mem_close(struct sink *s)
{
	free(s->desc);
	free(s);
}

static const struct sink_ops mem_ops = {
	.name = "mem",
	.write = mem_write,
	.write_control = mem_write_control,
	.close = mem_close,
};

static struct mem_sink *mem_sink_add(struct workload *wl, struct sbuf *got)
{
	struct mem_sink *m = xzalloc(sizeof(*m));

	m->base.ops = &mem_ops;
	m->base.desc = xstrdup("memory sink");
	m->got = got;
	wl->sinks[wl->nsinks++] = &m->base;
	return m;
}

/* ---- reading the stream back ------------------------------------------ */

struct totals {
	int records, events, missed_records, seq_gaps;
	long long missed_sum, missed_ringbuf_sum, missed_sink_sum;
	long long end_events, end_missed, end_missed_ringbuf, end_missed_sink;
	bool start_first, end_last;
};

static long long num(yajl_val v, const char *key)
{
	const char *path[] = {key, NULL};
	yajl_val n = yajl_tree_get(v, path, yajl_t_number);

	return n ? YAJL_GET_INTEGER(n) : -1;
}

static const char *str(yajl_val v, const char *key)
{
	const char *path[] = {key, NULL};
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);

	return s ? YAJL_GET_STRING(s) : "";
}

static void read_stream(struct sbuf *got, struct totals *t)
{
	cleanup_free char *text = xstrndup(got->data, got->len);
	char *save = NULL;
	long long last_seq = 0;

	memset(t, 0, sizeof(*t));
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		cleanup_error struct sf_error *err = NULL;
		cleanup_yajl_val yajl_val v = json_parse(line, "record", &err);
		const char *type;

		if (!v) {
			printf("# not JSON: %s\n", line);
			continue;
		}
		type = str(v, "type");
		t->records++;
		if (num(v, "seq") != last_seq + 1)
			t->seq_gaps++;
		last_seq = num(v, "seq");
		if (t->records == 1)
			t->start_first = strcmp(type, "stream.start") == 0;
		t->end_last = strcmp(type, "stream.end") == 0;
		if (strcmp(type, "stream.missed") == 0) {
			long long c = num(v, "count");

			t->missed_records++;
			t->missed_sum += c;
			if (strcmp(str(v, "reason"), "ringbuf") == 0)
				t->missed_ringbuf_sum += c;
			else if (strcmp(str(v, "reason"), "sink") == 0)
				t->missed_sink_sum += c;
		} else if (strcmp(type, "stream.end") == 0) {
			t->end_events = num(v, "events");
			t->end_missed = num(v, "missed");
			t->end_missed_ringbuf = num(v, "missed_ringbuf");
			t->end_missed_sink = num(v, "missed_sink");
		} else if (strncmp(type, "stream.", 7) != 0) {
			t->events++;
		}
	}
}

/* ---- the tests ---------------------------------------------------------- */

static struct sf_options test_options(void)
{
	return (struct sf_options){
		.mode = SF_MODE_EXECUTE,
		.format = "json",
		.exporter = "test",
		.ringbuf_bytes = 1 << 20,
	};
}

struct run {
	struct sf_options o;
	struct agent a;
	struct workload *wl;
	struct fake_probe *f;
	struct mem_sink *sink;
	struct sbuf got;
};

static void run_init(struct run *r, uint64_t cgid)
{
	cleanup_error struct sf_error *err = NULL;

	memset(r, 0, sizeof(*r));
	r->o = test_options();
	if (agent_init_probe(&r->a, &r->o, &fake_ops, &err) < 0) {
		printf("Bail out! agent_init_probe: %s\n", err->msg);
		exit(1);
	}
	r->f = fake_of(&r->a.probe);
	r->wl = agent_workload_new(&r->a, "t", &err);
	r->sink = mem_sink_add(r->wl, &r->got);
	r->wl->cgid = cgid;
	r->wl->cgroup_path = xstrdup("/t");
}

static void run_begin(struct run *r)
{
	cleanup_error struct sf_error *err = NULL;

	if (stream_begin(&r->a, r->wl, 0, &err) < 0) {
		printf("Bail out! stream_begin: %s\n", err->msg);
		exit(1);
	}
}

static void run_start(struct run *r, uint64_t cgid)
{
	run_init(r, cgid);
	run_begin(r);
}

static void run_end(struct run *r, struct totals *t)
{
	stream_finish(&r->a, r->wl);
	agent_fini(&r->a);
	read_stream(&r->got, t);
}

static void run_free(struct run *r)
{
	free(r->f);
	sbuf_free(&r->got);
}

/* a round of the consumer loop, as the modes run it */
static void agent_round(struct run *r)
{
	struct signalfd_siginfo si;

	agent_wait(&r->a, -1, 0, &si);
}

static void test_no_loss(void)
{
	struct run r;
	struct totals t;

	run_start(&r, 42);
	ok(r.f->attaches == 1, "agent_init attaches the probe");
	ok(r.f->cgid[0] == 42 && r.f->slot[0] == r.wl->slot,
	   "stream_begin tracks the workload's cgroup in its slot");
	for (int i = 0; i < 5; i++) {
		kernel_emit(r.f, 42, 6);
		agent_round(&r);
	}
	kernel_emit(r.f, 7, 3); /* an untracked cgroup */
	agent_round(&r);
	run_end(&r, &t);
	ok(r.f->cgid[0] == 0, "stream_finish untracks the cgroup");
	ok(r.f->closed, "agent_fini closes the probe");
	ok(t.start_first && t.end_last, "stream.start first, stream.end last");
	ok(t.events == 30 && t.end_events == 30,
	   "every event written and counted (%d in the stream, end says %lld)",
	   t.events, t.end_events);
	ok(t.missed_records == 0 && t.end_missed == 0, "nothing missed");
	ok(t.seq_gaps == 0, "seq has no gap");
	run_free(&r);
}

static void test_ringbuf_loss(void)
{
	const int caused = 10 + 5 + 20 + 9;
	struct run r;
	struct totals t;

	run_start(&r, 42);
	kernel_emit(r.f, 42, 10); /* 2 do not fit */
	agent_round(&r);
	kernel_emit(r.f, 42, 5);
	agent_round(&r);
	kernel_emit(r.f, 42, 20); /* 12 do not fit */
	agent_round(&r);
	kernel_emit(r.f, 42, 9); /* 1 does not fit, seen only at the end */
	run_end(&r, &t);
	ok(t.events == 8 + 5 + 8 + 8,
	   "the events that fit are in the stream (%d)", t.events);
	ok(t.missed_sum == 2 + 12 + 1 && t.missed_ringbuf_sum == t.missed_sum,
	   "stream.missed (reason ringbuf) counts the rest (%lld)",
	   t.missed_sum);
	ok(t.events + t.missed_sum == caused,
	   "written + missed = caused (%d + %lld = %d)", t.events, t.missed_sum,
	   caused);
	ok(t.end_events == t.events && t.end_missed == t.missed_sum &&
		   t.end_missed_ringbuf == t.missed_sum &&
		   t.end_missed_sink == 0,
	   "stream.end says the same (events %lld, missed %lld, ringbuf %lld)",
	   t.end_events, t.end_missed, t.end_missed_ringbuf);
	ok(t.seq_gaps == 0, "seq has no gap: the loss is before encoding");
	ok(t.start_first && t.end_last, "stream.start first, stream.end last");
	run_free(&r);
}

static void test_sink_loss(void)
{
	const int caused = 6 + 6 + 4;
	struct run r;
	struct totals t;

	run_start(&r, 42);
	kernel_emit(r.f, 42, 6);
	agent_round(&r);
	r.sink->full = true; /* the disk fills up */
	kernel_emit(r.f, 42, 6);
	agent_round(&r);
	r.sink->full = false;
	kernel_emit(r.f, 42, 4);
	agent_round(&r);
	run_end(&r, &t);
	ok(t.events == 6 + 4,
	   "the events written before and after are there (%d)", t.events);
	ok(t.missed_sink_sum == 6 && t.missed_ringbuf_sum == 0,
	   "stream.missed (reason sink) counts the refused ones (%lld)",
	   t.missed_sink_sum);
	ok(t.events + t.missed_sum == caused,
	   "written + missed = caused (%d + %lld = %d)", t.events, t.missed_sum,
	   caused);
	ok(t.end_missed_sink == 6 && t.end_missed == 6,
	   "stream.end: missed_sink %lld, missed %lld", t.end_missed_sink,
	   t.end_missed);
	/* stream.end.events counts the events encoded, the refused ones too
	 * (tests/40-mqtt.bats relies on it) */
	ok(t.end_events == caused, "stream.end: events %lld (encoded)",
	   t.end_events);
	run_free(&r);
}

static void test_both_losses(void)
{
	const int caused = 12 + 12;
	struct run r;
	struct totals t;

	run_start(&r, 42);
	r.sink->full = true;
	kernel_emit(r.f, 42, 12); /* 8 fit the ring, the sink refuses them */
	agent_round(&r);
	r.sink->full = false;
	kernel_emit(r.f, 42, 12); /* 8 fit the ring */
	agent_round(&r);
	run_end(&r, &t);
	ok(t.events == 8, "only the last ring's events arrive (%d)", t.events);
	ok(t.missed_ringbuf_sum == 8 && t.missed_sink_sum == 8,
	   "ringbuf %lld and sink %lld told apart", t.missed_ringbuf_sum,
	   t.missed_sink_sum);
	ok(t.events + t.missed_sum == caused,
	   "written + missed = caused (%d + %lld = %d)", t.events, t.missed_sum,
	   caused);
	ok(t.end_missed == t.end_missed_ringbuf + t.end_missed_sink &&
		   t.end_missed == 16,
	   "stream.end: missed = ringbuf + sink = %lld", t.end_missed);
	run_free(&r);
}

/* A stream starts from zero: drops counted in its slot before it began
 * (for the stream that had the slot before) are not its loss. */
static void test_slot_reuse(void)
{
	struct run r;
	struct totals t;

	run_init(&r, 43);
	r.f->drops[r.wl->slot] = 99;
	run_begin(&r);
	kernel_emit(r.f, 43, 9);
	run_end(&r, &t);
	ok(t.missed_sum == 1 && t.end_missed == 1 && t.events == 8,
	   "only the stream's own drops are reported (%lld)", t.missed_sum);
	run_free(&r);
}

/* -D: idle = free.  Attached once at start (what cannot attach fails
 * there), detached until the first stream, which attaches before its
 * stream.start; detached again once the table stayed empty for the
 * hysteresis, not before. */
static void test_lazy_attach(void)
{
	struct run r;
	struct totals t;
	struct signalfd_siginfo si;

	memset(&r, 0, sizeof(r));
	r.o = test_options();
	r.o.mode = SF_MODE_DAEMON;
	{
		cleanup_error struct sf_error *err = NULL;

		if (agent_init_probe(&r.a, &r.o, &fake_ops, &err) < 0) {
			printf("Bail out! agent_init_probe: %s\n", err->msg);
			exit(1);
		}
	}
	r.f = fake_of(&r.a.probe);
	ok(r.f->attaches == 1 && r.f->detaches == 1 && !r.a.probe.attached,
	   "-D: attached once at start, then detached (attaches %d, detaches %d)",
	   r.f->attaches, r.f->detaches);
	r.a.idle_detach_ns = 3600ull * 1000000000;
	agent_wait(&r.a, -1, 0, &si);
	ok(r.f->attaches == 1, "idle: nothing attaches it");
	r.wl = agent_workload_new(&r.a, "t", NULL);
	r.sink = mem_sink_add(r.wl, &r.got);
	r.wl->cgid = 42;
	r.wl->cgroup_path = xstrdup("/t");
	run_begin(&r);
	ok(r.f->attaches == 2 && r.a.probe.attached && r.a.attaches == 1,
	   "the first stream attaches it");
	kernel_emit(r.f, 42, 3);
	stream_finish(&r.a, r.wl);
	agent_wait(&r.a, -1, 0, &si);
	agent_wait(&r.a, -1, 0, &si);
	ok(r.a.probe.attached && r.f->detaches == 1,
	   "the last stream ended: still attached within the hysteresis");
	r.a.idle_detach_ns = 0;
	agent_wait(&r.a, -1, 0, &si);
	ok(!r.a.probe.attached && r.f->detaches == 2 && r.a.detaches == 1,
	   "detached once the hysteresis passed (detaches %d)", r.f->detaches);
	agent_fini(&r.a);
	read_stream(&r.got, &t);
	ok(t.events == 3 && t.end_events == 3 && t.start_first && t.end_last,
	   "the stream is whole (%d events)", t.events);
	run_free(&r);
}

/* While records come the agent polls the ring on its own clock and says
 * so (the kernel side then does not wake it: bpf/event.bpf.h wake_flags);
 * after a round that took none it says it sleeps and looks once more, so
 * that records submitted while the flag still said "polls" (no wake-up)
 * are taken before it sleeps, not at the next poll. */
static void test_polls(void)
{
	struct run r;
	struct totals t;
	struct signalfd_siginfo si;
	int before;

	run_start(&r, 42);
	r.a.poll_hot_rate = 0; /* any rate is fast */
	kernel_emit(r.f, 42, 3);
	agent_round(&r);
	ok(!r.f->polling && r.wl->events == 3,
	   "a wake-up: the round takes the records (%llu)",
	   (unsigned long long)r.wl->events);
	agent_wait(&r.a, -1, 200, &si);
	ok(r.f->polling && r.f->polls_set == 1,
	   "after a round that took records the agent polls and says so");
	r.f->quiet_on_sleep = 2;
	before = r.f->polls;
	agent_wait(&r.a, -1, 200, &si);
	ok(!r.f->polling, "after a round that took none it says it sleeps");
	ok(r.wl->events == 5 && r.f->polls - before == 2,
	   "and looks once more before it sleeps: the records that came without a wake-up are taken (%llu events, %d looks)",
	   (unsigned long long)r.wl->events, r.f->polls - before);
	run_end(&r, &t);
	ok(t.events == 5 && t.end_events == 5 && t.end_missed == 0,
	   "the stream is whole (%d events)", t.events);
	run_free(&r);
}

int main(void)
{
	sf_log_init("test_loss", SF_LOG_ERROR, NULL);
	test_no_loss();
	test_ringbuf_loss();
	test_sink_loss();
	test_both_losses();
	test_slot_reuse();
	test_lazy_attach();
	test_polls();
	return tap_done();
}
