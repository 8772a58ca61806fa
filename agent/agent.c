// SPDX-License-Identifier: GPL-2.0
#include "agent.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "sink.h"

#define MISSED_CHECK_NS (200 * 1000 * 1000ull)
/* The kernel side batches wake-ups (see submit() in bpf/sfagent.bpf.c): the
 * last records of a burst wait for this poll, so it bounds their delay. */
#define POLL_MAX_MS 50

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t sf_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t sf_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	const struct sf_hdr *h = data;
	struct workload *wl;

	if (size < sizeof(*h))
		return 0;
	wl = wl_table_get(&a->wl, h->slot);
	if (!wl) {
		a->orphans++;
		return 0;
	}
	wl->enc->event(&wl->out, wl, ++wl->seq, h->ts_boot + a->boot_to_epoch,
		       data, size);
	wl->events++;
	if (wl->out.len >= SF_FLUSH_BYTES)
		stream_flush(a, wl);
	return 0;
}

int agent_init(struct agent *a, const struct sf_options *o,
	       struct sf_error **err)
{
	struct probe_opts po = {
		.btf_path = o->btf_path,
		.ringbuf_bytes = o->ringbuf_bytes,
		.on_event = on_event,
		.ctx = a,
	};
	char host[256];

	memset(a, 0, sizeof(*a));
	a->epfd = -1;
	a->epfd_sig = -1;
	a->opt = o;
	a->mode = sf_mode_name(o->mode);
	if (o->exporter) {
		a->exporter = xstrdup(o->exporter);
	} else {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = 0;
		a->exporter = xstrdup(host);
	}
	if (!encoder_find(o->format))
		return sf_usage(err, "unknown format `%s`: choose one of %s",
				o->format, encoder_names());
	a->boot_to_epoch = (int64_t)sf_now_ns() - (int64_t)clock_ns(CLOCK_BOOTTIME);
	if (probe_open(&a->probe, &po, err) < 0) {
		probe_close(&a->probe);
		free(a->exporter);
		a->exporter = NULL;
		return -1;
	}
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->epfd < 0 ||
	    /* edge-triggered: every wait drains the ring, and a level-triggered
	     * ring is ready again at once while records stream in, which turned
	     * the loop into an epoll_wait per handful of records; now the agent
	     * sleeps until the kernel side's batched wake-up or the timeout */
	    epoll_ctl(a->epfd, EPOLL_CTL_ADD, probe_epoll_fd(&a->probe),
		      &(struct epoll_event){ .events = EPOLLIN | EPOLLET,
					     .data.fd = -1 }) < 0) {
		sf_fail(err, errno, "epoll");
		agent_fini(a);
		return -1;
	}
	return 0;
}

int agent_signalfd(sigset_t *old, struct sf_error **err)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return sf_fail(err, errno, "block signals");
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return sf_fail(err, errno, "signalfd");
	return fd;
}

int agent_wait(struct agent *a, int sigfd, int timeout_ms,
	       struct signalfd_siginfo *si)
{
	struct epoll_event ev[4];
	int n;

	memset(si, 0, sizeof(*si));
	if (sigfd >= 0 && a->epfd_sig != sigfd) {
		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, sigfd,
			      &(struct epoll_event){ .events = EPOLLIN,
						     .data.fd = sigfd }) < 0)
			return -errno;
		a->epfd_sig = sigfd;
	}
	if (timeout_ms < 0 || timeout_ms > POLL_MAX_MS)
		timeout_ms = POLL_MAX_MS;
	n = epoll_wait(a->epfd, ev, 4, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	agent_drain(a);
	for (int i = 0; i < n; i++) {
		if (sigfd >= 0 && ev[i].data.fd == sigfd &&
		    read(sigfd, si, sizeof(*si)) != sizeof(*si))
			memset(si, 0, sizeof(*si));
	}
	return 0;
}

void agent_fini(struct agent *a)
{
	wl_table_clear(&a->wl);
	if (a->epfd >= 0)
		close(a->epfd);
	a->epfd = -1;
	probe_close(&a->probe);
	free(a->exporter);
	a->exporter = NULL;
}

struct workload *agent_workload_new(struct agent *a, const char *name,
				    struct sf_error **err)
{
	struct workload *wl = wl_table_add(&a->wl, name);

	if (!wl) {
		sf_fail(err, 0, "too many workloads (%d)", SF_MAX_SLOTS - 1);
		return NULL;
	}
	wl->enc = encoder_find(a->opt->format);
	return wl;
}

int agent_workload_sinks_from_options(struct agent *a, struct workload *wl,
				      struct sf_error **err)
{
	const struct sf_options *o = a->opt;

	if (o->broker)
		return sf_usage(err, "MQTT export (-b) is not available in this build yet; use -o FILE");
	if (o->output) {
		struct sink *s = sink_file_open(o->output, false, err);

		if (!s)
			return -1;
		wl->sinks[wl->nsinks++] = s;
	}
	return 0;
}

void stream_flush(struct agent *a, struct workload *wl)
{
	if (!wl->out.len)
		return;
	for (int i = 0; i < wl->nsinks; i++) {
		cleanup_error struct sf_error *err = NULL;

		if (sink_write(wl->sinks[i], wl->out.data, wl->out.len, &err) < 0)
			log_warn("workload `%s`: %s", wl->name, err->msg);
	}
	wl->out.len = 0;
}

static void emit_missed(struct workload *wl, uint64_t count, const char *reason)
{
	wl->enc->stream_missed(&wl->out, wl, ++wl->seq, sf_now_ns(), count,
			       reason);
}

/* Turn new loss counts into stream.missed records. */
static void check_missed(struct agent *a, struct workload *wl)
{
	uint64_t rb = probe_drops(&a->probe, wl->slot), sink = 0;

	if (rb > wl->missed_ringbuf) {
		emit_missed(wl, rb - wl->missed_ringbuf, "ringbuf");
		wl->missed_ringbuf = rb;
	}
	for (int i = 0; i < wl->nsinks; i++)
		sink += wl->sinks[i]->dropped;
	if (sink > wl->missed_sink) {
		emit_missed(wl, sink - wl->missed_sink, "sink");
		wl->missed_sink = sink;
	}
}

int stream_begin(struct agent *a, struct workload *wl, int resumed,
		 struct sf_error **err)
{
	struct stream_info si = {
		.exporter = a->exporter,
		.mode = a->mode,
		.start_ts = sf_now_ns(),
		.resumed = resumed,
	};

	probe_reset_drops(&a->probe, wl->slot);
	wl->enc->stream_start(&wl->out, wl, ++wl->seq, si.start_ts, &si);
	stream_flush(a, wl);
	if (probe_track(&a->probe, wl->cgid, wl->slot, err) < 0)
		return sf_error_wrap(err, "workload `%s`", wl->name);
	return 0;
}

void stream_finish(struct agent *a, struct workload *wl)
{
	struct stream_totals t;

	probe_consume(&a->probe);
	probe_untrack(&a->probe, wl->cgid);
	/* events already in the ring buffer still belong to this stream */
	probe_consume(&a->probe);
	check_missed(a, wl);
	t.events = wl->events;
	t.missed_ringbuf = wl->missed_ringbuf;
	t.missed_sink = wl->missed_sink;
	t.missed = t.missed_ringbuf + t.missed_sink;
	wl->enc->stream_end(&wl->out, wl, ++wl->seq, sf_now_ns(), &t);
	stream_flush(a, wl);
	for (int i = 0; i < wl->nsinks; i++)
		sink_flush(wl->sinks[i], NULL);
	log_info("workload `%s`: %llu events, %llu missed", wl->name,
		 (unsigned long long)t.events, (unsigned long long)t.missed);
	wl_table_remove(&a->wl, wl);
}

void agent_drain(struct agent *a)
{
	uint64_t now = sf_monotonic_ns();
	bool check = now - a->last_missed_check >= MISSED_CHECK_NS;

	probe_consume(&a->probe);
	if (check)
		a->last_missed_check = now;
	for (struct workload *wl = a->wl.active; wl; wl = wl->next) {
		if (check)
			check_missed(a, wl);
		stream_flush(a, wl);
	}
}
