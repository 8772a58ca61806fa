// SPDX-License-Identifier: GPL-2.0
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "credseed.h"
#include "exehash.h"
#include "hostpath.h"
#include "filter_event.h"
#include "btfcache.h"
#include "budget.h"
#include "sink.h"
#include "seccomp_record.h"

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

/* Encodes a decoded event into its workload's stream. */
static void emit_view(struct agent *a, struct workload *wl,
		      const struct decode_event *v)
{
	size_t mark = wl->out.len;

	wl->enc->ops->event(&wl->out, wl, ++wl->seq,
			    v->ts_boot + a->boot_to_epoch, v);
	wl->events++;
	if (wl->budget)
		budget_charge(a, wl, mark);
	/* (a record the budget took back is not routed) */
	if (wl->out.len > mark)
		filter_wl_route(wl);
	if (wl->out.len >= SF_FLUSH_BYTES ||
	    (wl->filter && filter_wl_pending(wl) >= SF_FLUSH_BYTES))
		stream_flush(a, wl);
	else if (wl->out.len && !a->is_dirty[wl->slot]) {
		a->is_dirty[wl->slot] = true;
		a->dirty[a->ndirty++] = wl->slot;
	}
}

static void emit_exe_hash(void *ctx, const struct exehash_result *r);
/* A counted flow's close (bpf/flow.bpf.h): the encoder's, not an event. */
static void flow_end(struct agent *a, struct workload *wl, const void *data,
		     size_t size)
{
	const struct sf_flow_rec *r = data;

	if (size < sizeof(*r) || !wl->enc->ops->flow_end) {
		a->malformed++;
		wl->malformed++;
		return;
	}
	wl->enc->ops->flow_end(&wl->out, wl, r->hdr.ts_boot + a->boot_to_epoch,
			       r);
	if (wl->out.len >= SF_FLUSH_BYTES)
		stream_flush(a, wl);
	else if (wl->out.len && !a->is_dirty[wl->slot]) {
		a->is_dirty[wl->slot] = true;
		a->dirty[a->ndirty++] = wl->slot;
	}
}

static int agent_flow_get(const struct workload *wl, uint32_t pid, int32_t fd,
			  bool take, struct sf_flow_counts *out)
{
	struct agent *a = wl->flow_ctx;
	struct sf_flow_key k = {.slot = wl->slot, .tgid = pid, .fd = fd};

	return probe_flow_get(&a->probe, &k, take, out);
}

static void handle_event(struct agent *a, void *data, size_t size);

/*
 * libbpf's consume goes on while records keep coming: a workload that
 * makes them faster than the agent handles them would keep the main loop
 * there for ever (no client, hook, signal or flush served).  So each call
 * takes at most consume_left records; a negative return stops libbpf
 * after this record (which it counts as consumed).
 */
static int on_event(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;

	handle_event(a, data, size);
	if (a->consume_delay_ns) /* tests only: a slow consumer */
		nanosleep(&(struct timespec){.tv_nsec = a->consume_delay_ns},
			  NULL);
	if (!a->consume_left)
		return 0;
	if (!--a->consume_left)
		return -EAGAIN;
	/* and at most AGENT_CONSUME_NS of it, looked at now and then */
	if (!(a->consume_left % 64) &&
	    sf_monotonic_ns() - a->consume_start >= AGENT_CONSUME_NS)
		return -EAGAIN;
	return 0;
}

/* Up to max records (0: no bound) and AGENT_CONSUME_NS; true when it
 * stopped at a bound (consume_took: how many it took). */
static bool consume_some(struct agent *a, unsigned max)
{
	int r;

	a->consume_left = max;
	a->consume_start = sf_monotonic_ns();
	r = probe_consume(&a->probe);
	a->consume_took = max - a->consume_left;
	a->consume_left = 0;
	return r == -EAGAIN;
}

/* Everything in the ring buffer when called, however fast more comes:
 * the ring is consumed in order and holds at most ring_max records. */
static void consume_all(struct agent *a)
{
	uint64_t n = 0;

	while (consume_some(a, AGENT_CONSUME_MAX) && n < a->ring_max)
		n += a->consume_took;
}

static void handle_event(struct agent *a, void *data, size_t size)
{
	const struct sf_hdr *h = data;
	struct decode_event v;
	struct workload *wl;

	if (size < sizeof(*h)) {
		a->malformed++;
		return;
	}
	wl = wl_table_get(&a->wl, h->slot);
	if (!wl || wl->closing) {
		a->orphans++;
		return;
	}
	if (h->type == SF_REC_FLOW_END) {
		flow_end(a, wl, data, size);
		return;
	}
	/* over budget (daemon): dropped before any work, counted */
	if (wl->budget && !budget_admit(a, wl, h->ts_boot))
		return;
	/* checked and decoded once, for the filter and the encoder */
	if (decode_event(&v, data, size) < 0) {
		a->malformed++;
		wl->malformed++;
		return;
	}
	/* hashes done since are handed out first, which frees their jobs;
	 * before this event's filter: each record passes the filters right
	 * before it is encoded (the outputs' choice is one per record,
	 * agent/filter/filter_wl.h) */
	if (exehash_has_done(a->exehash))
		exehash_collect(a->exehash, emit_exe_hash, a, 0, 0);
	/* the stream's filter, then the outputs' */
	if (!filter_wl_pass(wl, v.type, filter_event_get, &v))
		return;
	/* the digest of what ran, from the cache or asked for (exehash.h) */
	if (v.type == SF_EV_EXEC && a->exehash)
		exehash_exec(a->exehash, wl->slot, wl->seq + 1, v.rec, &v);
	else if ((v.type == SF_EV_OPEN || v.type == SF_EV_MMAP_EXEC) &&
		 a->exehash)
		exehash_file(a->exehash, wl->slot, wl->seq + 1, v.rec, &v);
	emit_view(a, wl, &v);
}

/* A process.exe_hash record for a workload whose exec said "pending". */
static void emit_exe_hash(void *ctx, const struct exehash_result *r)
{
	struct agent *a = ctx;
	struct workload *wl = wl_table_get(&a->wl, r->w->slot);
	struct sf_sec_event raw;
	struct decode_event v;

	if (!wl)
		return;
	memset(&raw, 0, sizeof(raw));
	raw.hdr = r->w->hdr;
	raw.hdr.type = r->w->file ? SF_EV_FILE_HASH : SF_EV_EXE_HASH;
	raw.hdr.flags &= ~(SF_F_HAS_RET | SF_F_INTERRUPTED);
	raw.hdr.ret = 0;
	raw.hdr.suppressed = 0;
	/* stamped when the hash is known */
	raw.hdr.ts_boot = sf_now_ns() - a->boot_to_epoch;
	if (decode_event(&v, &raw, sizeof(raw)) < 0)
		return;
	exehash_result_view(r, &v);
	if (!filter_wl_pass(wl, v.type, filter_event_get, &v))
		return;
	emit_view(a, wl, &v);
}

static uint64_t idle_detach_ns(void)
{
	const char *e = getenv("SFAGENT_TEST_IDLE_DETACH_MS");

	return (e && *e ? strtoull(e, NULL, 10) : SF_IDLE_DETACH_MS) *
	       1000000ull;
}

/* TSEM's path.type "root": the host's mount namespace, init's; where
 * init's cannot be read (a sandbox), the fixed inode number the kernel
 * gives the initial mount namespace (MNT_NS_INIT_INO, 6.x) */
static uint32_t host_mnt_ns(void)
{
	struct stat st;

	return stat("/proc/1/ns/mnt", &st) == 0 ? (uint32_t)st.st_ino
						: 0xeffffff8u;
}

/* Will -F's encoder count flows (sysflow's FileFlow/NetworkFlow)? */
static bool counts_flows(const struct sf_options *o)
{
	const struct encoder *e =
		encoder_find(o->format ? o->format : SF_FORMAT_DEFAULT);

	return e && e->ops->flow_end;
}

int agent_init_probe(struct agent *a, const struct sf_options *o,
		     const struct probe_ops *ops, struct sf_error **err)
{
	struct probe_opts po = {
		.btf_path = o->btf_path,
		.btf_cache_dir = !o->btf_cache ? BTFCACHE_DEFAULT_DIR
				 : strcmp(o->btf_cache, "none") ? o->btf_cache
								: NULL,
		.ringbuf_bytes = o->ringbuf_bytes,
		.hash_open = o->hash_mode == EXEHASH_OPEN,
		.host_mnt_ns = host_mnt_ns(),
		.no_seccomp = o->mode != SF_MODE_DAEMON && !o->seccomp_profile,
		.no_flows = o->mode != SF_MODE_DAEMON && !counts_flows(o),
		.on_event = on_event,
		.ctx = a,
	};
	char host[256];

	memset(a, 0, sizeof(*a));
	a->poll_hot_rate = AGENT_POLL_HOT_RATE;
	a->epfd = -1;
	a->epfd_sig = -1;
	a->opt = o;
	a->started_ns = sf_monotonic_ns();
	a->mode = sf_mode_name(o->mode);
	if (o->exporter) {
		a->exporter = xstrdup(o->exporter);
	} else {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = 0;
		a->exporter = xstrdup(host);
	}
	a->boot_to_epoch =
		(int64_t)sf_now_ns() - (int64_t)clock_ns(CLOCK_BOOTTIME);
	if (filter_conf_init(&a->filters, o, err) < 0) {
		free(a->exporter);
		a->exporter = NULL;
		return -1;
	}
	/* no filter of any output: PROBE_G_EXEC_FAIL is never attached */
	po.no_exec_fail = o->mode != SF_MODE_DAEMON && !a->filters.stream &&
			  !a->filters.file && !a->filters.mqtt &&
			  !a->filters.http;
	/* host_path (issue 12): the host's mount table, from its init */
	if (hostpath_enable("/proc/1") < 0)
		log_warn(
			"cannot read /proc/1/mountinfo: records carry no host_path (run the agent in the host's PID namespace)");
	a->lazy_attach = o->mode == SF_MODE_DAEMON;
	a->idle_detach_ns = idle_detach_ns();
	/* the most records the ring can hold: each at least a header, with
	 * the ring's own 8 bytes, 8-aligned */
	a->ring_max = (o->ringbuf_bytes ? o->ringbuf_bytes : 16u << 20) /
			      ((sizeof(struct sf_hdr) + 8 + 7) & ~7ul) +
		      1;
	if (getenv("SFAGENT_TEST_CONSUME_DELAY_NS"))
		a->consume_delay_ns =
			strtoul(getenv("SFAGENT_TEST_CONSUME_DELAY_NS"), NULL,
				10) %
			1000000000ul;
	if (probe_open(&a->probe, ops, &po, err) < 0 ||
	    probe_attach(&a->probe, err) < 0) {
		probe_close(&a->probe);
		filter_conf_fini(&a->filters);
		free(a->exporter);
		a->exporter = NULL;
		return -1;
	}
	/* its worker thread before any sandbox, which covers it too; after
	 * the load, so that its set-up (OpenSSL's, exehash.c crypto_init)
	 * does not take a CPU from the loader threads but runs beside what
	 * follows; before any record is consumed (agent_wait) */
	a->exehash = exehash_new(o->hash_mode);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->epfd < 0 ||
	    /* edge-triggered: every wait drains the ring, and a level-triggered
	     * ring is ready again at once while records stream in, which turned
	     * the loop into an epoll_wait per handful of records; now the agent
	     * sleeps until the kernel side's batched wake-up or the timeout */
	    epoll_ctl(a->epfd, EPOLL_CTL_ADD, probe_epoll_fd(&a->probe),
		      &(struct epoll_event){.events = EPOLLIN | EPOLLET,
					    .data.fd = -1}) < 0) {
		sf_fail(err, errno, "epoll");
		agent_fini(a);
		return -1;
	}
	/* attached once above, so that what cannot attach fails at start;
	 * idle from here until a workload comes */
	if (a->lazy_attach) {
		probe_detach(&a->probe);
		log_debug("probe detached until a workload is tracked");
	}
	return 0;
}

/* The old ids of the tasks already in wl's cgroup and below, for their
 * set*id events (agent/credseed.h): once it is tracked. */
static void seed_ids(struct agent *a, struct workload *wl)
{
	cleanup_error struct sf_error *err = NULL;
	cleanup_free char *dir = NULL;
	struct credseed_count c;

	if (!wl->cgroup_path ||
	    (!a->cg_mnt && cg2_mount_point(&a->cg_mnt, &err) < 0))
		return;
	dir = xasprintf("%s%s", a->cg_mnt, wl->cgroup_path);
	credseed_cgroup(&a->probe, dir, &c);
	log_debug(
		"workload `%s`: old ids of %u threads seeded (%u gone, %u failed)",
		wl->name, c.seeded, c.gone, c.failed);
}

/* The programs of groups attached for a workload about to be tracked (-D:
 * after idle, or the first workload that needs them). */
static int probe_need(struct agent *a, unsigned groups, struct sf_error **err)
{
	bool from_idle = !a->probe.attached;
	unsigned added = groups & ~a->probe.groups;
	char what[128];
	uint64_t t0;

	a->need_groups |= groups;
	if (!added)
		return 0;
	t0 = sf_monotonic_ns();
	if (probe_attach_groups(&a->probe, groups, err) < 0)
		return -1;
	a->last_attach_ns = sf_monotonic_ns() - t0;
	a->attaches++;
	if (from_idle)
		log_info(
			"probe attached in %.1f ms: first workload after idle (%s)",
			a->last_attach_ns / 1e6,
			probe_groups_str(a->probe.groups, what, sizeof(what)));
	else
		log_info(
			"probe: %s added in %.1f ms for a workload that needs them",
			probe_groups_str(added, what, sizeof(what)),
			a->last_attach_ns / 1e6);
	return 0;
}

/* The groups the tracked workloads need, again when the table changed. */
static unsigned needed_groups(struct agent *a)
{
	if (a->need_stale || a->need_count != a->wl.count) {
		a->need_groups = 0;
		for (struct workload *wl = a->wl.active; wl; wl = wl->next)
			a->need_groups |= wl->probe_groups;
		/* sf_sys_exit has the failed execs too */
		if (a->need_groups & PROBE_G_SYSCALL)
			a->need_groups &= ~PROBE_G_EXEC_FAIL;
		a->need_count = a->wl.count;
		a->need_stale = false;
	}
	return a->need_groups;
}

/* -D: what no workload needed for idle_detach_ns is detached (hysteresis:
 * containers started one after another keep it attached); with nothing
 * tracked, all of it.  The slow part of the detach happens on the probe's
 * own thread (probe.h). */
static void idle_check(struct agent *a)
{
	unsigned need, extra;
	struct sf_error *err = NULL;
	char what[128];
	uint64_t now;

	if (!a->lazy_attach || !a->probe.attached)
		return;
	need = a->wl.count ? needed_groups(a) : 0;
	/* sf_exec_fail before sf_sys_exit goes, for the failed execs */
	if ((need & ~a->probe.groups) && probe_need(a, need, &err) < 0) {
		log_warn("probe: %s", err->msg);
		sf_error_free(err);
	}
	extra = a->probe.groups & ~need;
	if (!extra) {
		a->idle_since = 0;
		return;
	}
	now = sf_monotonic_ns();
	/* the hysteresis counts from when these became unneeded */
	if (!a->idle_since || extra != a->idle_groups) {
		a->idle_since = now;
		a->idle_groups = extra;
		return;
	}
	if (now - a->idle_since < a->idle_detach_ns)
		return;
	probe_detach_groups(&a->probe, extra);
	a->detaches++;
	a->idle_since = 0;
	if (!a->probe.attached)
		log_info("nothing tracked for %llu ms: probe detached",
			 (unsigned long long)(a->idle_detach_ns / 1000000));
	else
		log_info(
			"probe: %s detached, no workload needed them for %llu ms",
			probe_groups_str(extra, what, sizeof(what)),
			(unsigned long long)(a->idle_detach_ns / 1000000));
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

/*
 * While records come fast, the agent polls the ring every AGENT_POLL_HOT_MS
 * and tells the kernel side, which then does not wake it (a forced wake-up is
 * an IPI the traced task pays: bpf/event.bpf.h wake_flags).  After a round
 * that took none (or few) it says it sleeps, and looks once more: a record
 * submitted while the flag still said "polls" did not wake it.  (One whose
 * program read the flag before the store and commits after this look waits
 * for the next wake-up or the POLL_MAX_MS poll, as a record within
 * WAKE_MIN_NS of a wake-up always did.)
 */
static int ring_wait_ms(struct agent *a, int timeout_ms)
{
	if (a->ring_hot) {
		if (!a->polls) {
			a->polls = true;
			probe_polls(&a->probe, true);
		}
		return timeout_ms < AGENT_POLL_HOT_MS ? timeout_ms
						      : AGENT_POLL_HOT_MS;
	}
	if (a->polls) {
		a->polls = false;
		probe_polls(&a->probe, false);
		/* what came since the last round: drained without sleeping */
		if (consume_some(a, AGENT_CONSUME_MAX) || a->consume_took)
			return 0;
	}
	return timeout_ms;
}

int agent_wait(struct agent *a, int sigfd, int timeout_ms,
	       struct signalfd_siginfo *si)
{
	struct epoll_event ev[4];
	int n;

	memset(si, 0, sizeof(*si));
	if (sigfd >= 0 && a->epfd_sig != sigfd) {
		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, sigfd,
			      &(struct epoll_event){.events = EPOLLIN,
						    .data.fd = sigfd}) < 0)
			return -errno;
		a->epfd_sig = sigfd;
	}
	/* detached (-D idle), no record can come: the caller's own pace */
	if (timeout_ms < 0 || (timeout_ms > POLL_MAX_MS && a->probe.attached))
		timeout_ms = POLL_MAX_MS;
	/* records left in the ring by the last round's bound: the edge-
	 * triggered ring fd would not wake for them */
	if (a->ring_more)
		timeout_ms = 0;
	else
		timeout_ms = ring_wait_ms(a, timeout_ms);
	n = epoll_wait(a->epfd, ev, 4, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	agent_drain(a);
	idle_check(a);
	for (int i = 0; i < n; i++) {
		if (sigfd >= 0 && ev[i].data.fd == sigfd &&
		    read(sigfd, si, sizeof(*si)) != sizeof(*si))
			memset(si, 0, sizeof(*si));
	}
	return 0;
}

void agent_fini(struct agent *a)
{
	if (a->malformed)
		log_warn(
			"%llu malformed records from the kernel side were dropped (counted in stream.missed, reason malformed)",
			(unsigned long long)a->malformed);
	if (a->orphans)
		log_warn(
			"%llu events arrived for streams already ended and were dropped",
			(unsigned long long)a->orphans);
	wl_table_clear(&a->wl);
	if (a->epfd >= 0)
		close(a->epfd);
	a->epfd = -1;
	probe_close(&a->probe);
	exehash_free(a->exehash);
	hostpath_disable();
	a->exehash = NULL;
	filter_conf_fini(&a->filters);
	free(a->exporter);
	a->exporter = NULL;
	free(a->cg_mnt);
	a->cg_mnt = NULL;
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
	if (encoder_load(wl->enc, err) < 0) {
		sf_error_wrap(err, "workload `%s`", name);
		wl_table_remove(&a->wl, wl);
		return NULL;
	}
	return wl;
}

int agent_workload_sinks_from_options(struct agent *a, struct workload *wl,
				      struct sf_error **err)
{
	return sink_open_from_options(a, wl, err);
}

void agent_reopen(struct agent *a)
{
	for (struct workload *wl = a->wl.active; wl; wl = wl->next) {
		for (int i = 0; i < wl->nsinks; i++) {
			cleanup_error struct sf_error *err = NULL;

			if (sink_reopen(wl->sinks[i], &err) < 0)
				log_warn("workload `%s`: reopen: %s", wl->name,
					 err->msg);
		}
	}
}

void stream_flush(struct agent *a, struct workload *wl)
{
	/* outputs with their own filter have their own buffers */
	if (wl->enc && wl->enc->ops->flush)
		wl->enc->ops->flush(&wl->out, wl);
	if (filter_wl_flush(wl))
		return;
	if (!wl->out.len)
		return;
	for (int i = 0; i < wl->nsinks; i++) {
		cleanup_error struct sf_error *err = NULL;

		/* the sink counts the loss and says so once on stderr */
		if (sink_write(wl->sinks[i], wl->out.data, wl->out.len, &err) <
		    0)
			log_debug("workload `%s`: %s", wl->name, err->msg);
	}
	/* (a binary format, -F sysflow, is not sent to watchers) */
	if (wl->tap && !wl->enc->ops->new_file)
		wl->tap->records(wl->tap, wl, wl->out.data, wl->out.len);
	wl->out.len = 0;
}

/*
 * Hands wl->out, which holds only stream records, to every sink as control
 * records (never dropped for lack of queue room).  Returns how many sinks
 * could not take them.
 */
static int stream_flush_control(struct workload *wl)
{
	int failed = 0;

	for (int i = 0; i < wl->nsinks; i++) {
		cleanup_error struct sf_error *err = NULL;

		if (sink_write_control(wl->sinks[i], wl->out.data, wl->out.len,
				       &err) < 0) {
			log_debug("workload `%s`: %s", wl->name, err->msg);
			failed++;
		}
	}
	/* (a binary format, -F sysflow, is not sent to watchers) */
	if (wl->tap && !wl->enc->ops->new_file)
		wl->tap->records(wl->tap, wl, wl->out.data, wl->out.len);
	wl->out.len = 0;
	return failed;
}

static void emit_missed(struct workload *wl, uint64_t count, const char *reason)
{
	wl->enc->ops->stream_missed(&wl->out, wl, ++wl->seq, sf_now_ns(), count,
				    reason);
}

static uint64_t sinks_dropped(struct workload *wl)
{
	uint64_t n = 0;

	for (int i = 0; i < wl->nsinks; i++)
		n += sink_dropped(wl->sinks[i]);
	return n;
}

/*
 * Sends wl->out, one stream.missed record, as a control record: never
 * dropped for lack of queue room, and never lost with a batch of events a
 * sink refused, which would lose the count it carries.  When no sink can
 * take it (disk still full), it is taken back, seq included, and the caller
 * tries again at the next check, so the count always reaches the reader.
 * A sink that lacks it while others have it counts it, and tells at the
 * next check.  Returns whether it was sent.
 */
static bool send_missed(struct workload *wl)
{
	bool ok[SF_MAX_SINKS];
	int failed = 0;

	for (int i = 0; i < wl->nsinks; i++) {
		cleanup_error struct sf_error *err = NULL;

		ok[i] = sink_write_control(wl->sinks[i], wl->out.data,
					   wl->out.len, &err) == 0;
		failed += !ok[i];
	}
	wl->out.len = 0;
	if (wl->nsinks && failed == wl->nsinks) {
		wl->seq--;
		return false;
	}
	for (int i = 0; i < wl->nsinks; i++)
		if (!ok[i]) {
			/* no event: stream.end's per-sink totals leave it out */
			wl->sink_ctl_lost[i]++;
			sink_count_dropped(wl->sinks[i], 1);
		}
	return true;
}

/* Ring buffer loss, told after the events encoded before it. */
static void report_ringbuf_missed(struct agent *a, struct workload *wl,
				  uint64_t rb)
{
	stream_flush(a, wl);
	emit_missed(wl, rb - wl->missed_ringbuf, "ringbuf");
	if (send_missed(wl))
		wl->missed_ringbuf = rb;
}

static const char *sink_kind_name(const struct sink *s)
{
	return s->kind ? s->kind : s->ops->name;
}

/* One stream.missed naming the sink (key `sink`); false: not sent. */
static bool send_sink_missed(struct workload *wl, int i, uint64_t count,
			     const char *reason)
{
	wl->missed_for = sink_kind_name(wl->sinks[i]);
	emit_missed(wl, count, reason);
	wl->missed_for = NULL;
	return send_missed(wl);
}

/* Sink loss: one stream.missed per sink for an outage, once the sinks
 * deliver; what a full spool dropped is told apart (reason spool_full). */
static void report_sink_missed(struct agent *a, struct workload *wl, bool final)
{
	for (int i = 0; !final && i < wl->nsinks; i++)
		if (sink_congested(wl->sinks[i]))
			return; /* one record for the whole outage, later */
	stream_flush(a, wl);
	for (int i = 0; i < wl->nsinks; i++) {
		/* the spool part first: never above its share */
		uint64_t spool = sink_dropped_spool(wl->sinks[i]);
		uint64_t sink = sink_dropped(wl->sinks[i]);
		uint64_t *rep = &wl->sink_reported[i];
		uint64_t *rep_spool = &wl->sink_reported_spool[i];
		uint64_t other = (sink - spool) - (*rep - *rep_spool);

		if (sink <= *rep)
			continue;
		if (other) {
			if (!send_sink_missed(wl, i, other, "sink"))
				return;
			*rep += other;
			wl->missed_sink += other;
		}
		if (spool > *rep_spool) {
			if (!send_sink_missed(wl, i, spool - *rep_spool,
					      "spool_full"))
				return;
			*rep += spool - *rep_spool;
			wl->missed_sink += spool - *rep_spool;
			wl->missed_spool += spool - *rep_spool;
			*rep_spool = spool;
		}
	}
}

/* Turn new loss counts into stream.missed records. */
static void check_missed(struct agent *a, struct workload *wl, bool final)
{
	uint64_t rb = probe_drops(&a->probe, wl->slot), quota;

	if (rb > wl->missed_ringbuf)
		report_ringbuf_missed(a, wl, rb);
	if (wl->malformed > wl->missed_malformed) {
		stream_flush(a, wl);
		emit_missed(wl, wl->malformed - wl->missed_malformed,
			    "malformed");
		if (send_missed(wl))
			wl->missed_malformed = wl->malformed;
	}
	/* over budget: at most one stream.missed a second */
	quota = budget_check(a, wl, final);
	if (quota) {
		stream_flush(a, wl);
		emit_missed(wl, quota, "quota");
		if (send_missed(wl))
			budget_reported(wl, quota);
	}
	if (sinks_dropped(wl) > wl->missed_sink)
		report_sink_missed(a, wl, final);
}

int stream_begin(struct agent *a, struct workload *wl, int resumed,
		 struct sf_error **err)
{
	struct stream_info si = {
		.exporter = a->exporter,
		.mode = a->mode,
		.start_ts = sf_now_ns(),
		.resumed = resumed,
		.flow_interval = a->opt->flow_interval,
	};

	probe_reset_drops(&a->probe, wl->slot);
	/* the kernel's type mask is in place before the cgroup is tracked */
	if (filter_wl_setup(wl, &a->filters, &a->probe, err) < 0)
		return sf_error_wrap(err, "workload `%s`", wl->name);
	filter_wl_info(wl, &si);
	/* before the track: the workload's first syscall is recorded too */
	if (wl->seccomp)
		seccomp_record_begin(&a->probe, wl->seccomp, wl->slot,
				     wl->name);
	/* -F sysflow: reads and writes counted from the first one on */
	if (wl->enc->ops->flow_end) {
		wl->flow_get = agent_flow_get;
		wl->flow_ctx = a;
		probe_flow_count(&a->probe, wl->slot, true);
	}
	stream_flush(a, wl);
	wl->start_ts = si.start_ts;
	wl->enc->ops->stream_start(&wl->out, wl, ++wl->seq, si.start_ts, &si);
	/* attach and track before the start record leaves (and before the
	 * daemon's ACK): whoever sees stream.start may rely on the workload
	 * being watched already, its first exec included */
	wl->probe_groups = probe_groups_for(&a->probe, wl->kernel_drop,
					    wl->flow_get != NULL);
	a->need_stale = true;
	if (probe_need(a, wl->probe_groups, err) < 0 ||
	    probe_track(&a->probe, wl->cgid, wl->slot, err) < 0) {
		stream_flush_control(wl);
		if (wl->flow_get)
			probe_flow_count(&a->probe, wl->slot, false);
		wl->flow_get = NULL;
		if (wl->seccomp && wl->seccomp->recording) {
			struct sf_seccomp_bits unused;

			probe_seccomp_stop(&a->probe, wl->slot, &unused);
			wl->seccomp->recording = false;
		}
		return sf_error_wrap(err, "workload `%s`", wl->name);
	}
	/* tracked: a task forked from here on gets its entry at its fork */
	seed_ids(a, wl);
	/* -X keeps every program: with one workload, what its filter cannot
	 * keep is still counted in `filtered` (docs/filters.md) */
	stream_flush_control(wl);
	return 0;
}

/*
 * No task left in the workload's cgroup (cgroup.events: populated 0, which
 * counts its descendants too).  A task leaves that count in cgroup_exit(),
 * after the last of its syscalls, its sched_process_exit and its io_uring
 * teardown: every program it ran has returned, so none of them can still
 * be filling a record for this stream.
 */
static bool wl_cgroup_empty(struct agent *a, const struct workload *wl)
{
	cleanup_error struct sf_error *err = NULL;
	cleanup_free char *path = NULL;
	cleanup_close int fd = -1;
	char buf[256];
	ssize_t n;

	if (!wl->cgroup_path || !strcmp(wl->cgroup_path, "/") ||
	    (!a->cg_mnt && cg2_mount_point(&a->cg_mnt, &err) < 0))
		return false;
	path = xasprintf("%s%s/cgroup.events", a->cg_mnt, wl->cgroup_path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, "populated 0") != NULL;
}

void stream_finish_begin(struct agent *a, struct workload *wl)
{
	consume_some(a, AGENT_CONSUME_MAX);
	probe_untrack(&a->probe, wl->cgid);
	/* Events already in the ring buffer still belong to this stream.  A
	 * program that passed the filter just before the untrack may still be
	 * filling its record on another CPU: BPF programs do not sleep, so a
	 * millisecond is ample before the last look; not needed when the
	 * cgroup has no task left (a poststop, -X's end), which kept every
	 * poststop hook 1 ms longer.  Its io_uring requests still waiting for
	 * a completion go out without a result.  But a kworker, in no
	 * cgroup, cancels what a ring had in flight when its last task left,
	 * maybe while the sweep runs: a request it took from the table before
	 * the sweep could is sent by its program, which may still be filling
	 * the record: so a stream that kept any request waits too. */
	consume_all(a);
	probe_uring_sweep(&a->probe, wl->slot);
	if (!wl_cgroup_empty(a, wl) || probe_uring_kept(&a->probe, wl->slot)) {
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
		consume_all(a);
	}
	/* the hashes its execs wait for, now: before the sinks drain, so
	 * that what they lose of them is in stream.end (bounded) */
	if (a->exehash)
		exehash_collect(a->exehash, emit_exe_hash, a, wl->slot,
				EXEHASH_SETTLE_MS);
	stream_flush(a, wl);
}

/*
 * Each kind of output's share of the events (several of a kind: summed):
 * missed is what it lost of them (its dropped records without the stream
 * records it could not take), filtered what its own filter left out,
 * written the rest.  missed_sink: the most any one output lost, so that
 * events - missed_sink is what the output that got least got.
 */
static void sink_totals(struct workload *wl, struct stream_totals *t)
{
	t->nsinks = 0;
	t->missed_sink = 0;
	for (int i = 0; i < wl->nsinks; i++) {
		const char *kind = sink_kind_name(wl->sinks[i]);
		uint64_t d = sink_dropped(wl->sinks[i]);
		uint64_t f = filter_wl_sink_filtered(wl, i);
		uint64_t m = d > wl->sink_ctl_lost[i] ? d - wl->sink_ctl_lost[i]
						      : 0;
		struct stream_sink_total *st = NULL;

		if (m > t->missed_sink)
			t->missed_sink = m;
		for (int k = 0; k < t->nsinks; k++)
			if (!strcmp(t->sinks[k].kind, kind))
				st = &t->sinks[k];
		if (!st) {
			st = &t->sinks[t->nsinks++];
			st->kind = kind;
		}
		st->filtered += f;
		st->missed += m;
		/* (never below 0: a miscount shows as a broken identity) */
		st->written += wl->events > f + m ? wl->events - f - m : 0;
	}
}

void agent_stream_totals(struct agent *a, struct workload *wl,
			 struct stream_totals *t)
{
	t->events = wl->events;
	/* the whole loss, also when its stream.missed could not be written */
	t->missed_ringbuf = probe_drops(&a->probe, wl->slot);
	if (t->missed_ringbuf < wl->missed_ringbuf)
		t->missed_ringbuf = wl->missed_ringbuf;
	sink_totals(wl, t);
	t->missed_quota = budget_missed(a, wl);
	t->missed = t->missed_ringbuf + t->missed_sink + wl->malformed +
		    t->missed_quota;
	filter_wl_totals(wl, probe_filtered(&a->probe, wl->slot), t);
	t->flows_uncounted = probe_flow_full(&a->probe, wl->slot);
	probe_flow_fixed(&a->probe, wl->slot, &t->uring_fixed_ops,
			 &t->uring_fixed_bytes);
}

void stream_finish_end(struct agent *a, struct workload *wl)
{
	struct stream_totals t = {0};

	/* the hashes its execs wait for, before its end (bounded) */
	if (a->exehash) {
		struct exehash_count c;

		exehash_collect(a->exehash, emit_exe_hash, a, wl->slot,
				EXEHASH_SETTLE_MS);
		/* what is still pending is dropped now, and counted */
		exehash_forget(a->exehash, wl->slot, &c);
		t.exe_hash = true;
		t.exe_hashed = c.computed;
		t.exe_hash_cached = c.cached;
		t.exe_hash_dropped = c.dropped;
		t.file_hash = a->opt->hash_mode == EXEHASH_OPEN;
		t.file_hashed = c.file_computed;
		t.file_hash_cached = c.file_cached;
		t.file_hash_dropped = c.file_dropped;
	}
	check_missed(a, wl, true);
	if (wl->seccomp)
		seccomp_record_end(&a->probe, wl->seccomp, wl->slot,
				   a->opt->seccomp_dir, wl->name, &t);
	agent_stream_totals(a, wl, &t);
	stream_flush(a, wl);
	wl->enc->ops->stream_end(&wl->out, wl, ++wl->seq, sf_now_ns(), &t);
	/* the encoder took its flows' counters: the rest go */
	if (wl->flow_get)
		probe_flow_count(&a->probe, wl->slot, false);
	wl->flow_get = NULL;
	if (stream_flush_control(wl))
		log_error(
			"workload `%s`: stream.end could not be written to every output",
			wl->name);
	log_info("workload `%s`: %llu events, %llu filtered, %llu missed",
		 wl->name, (unsigned long long)t.events,
		 (unsigned long long)t.filtered, (unsigned long long)t.missed);
	for (int i = 0; i < t.nsinks; i++)
		log_info(
			"workload `%s`: output %s: %llu written, %llu filtered, %llu missed",
			wl->name, t.sinks[i].kind,
			(unsigned long long)t.sinks[i].written,
			(unsigned long long)t.sinks[i].filtered,
			(unsigned long long)t.sinks[i].missed);
	/* the stream itself may be what failed: say it where it is seen */
	if (t.missed_sink)
		log_warn("workload `%s`: %llu records could not be delivered",
			 wl->name, (unsigned long long)t.missed_sink);
}

void stream_finish(struct agent *a, struct workload *wl)
{
	stream_finish_begin(a, wl);
	/* what network sinks still hold is delivered (bounded wait) or
	 * counted, so that stream.end tells the whole loss */
	for (int i = 0; i < wl->nsinks; i++)
		sink_flush(wl->sinks[i], NULL);
	stream_finish_end(a, wl);
	for (int i = 0; i < wl->nsinks; i++)
		sink_flush(wl->sinks[i], NULL);
	wl_table_remove(&a->wl, wl);
}

void agent_drain(struct agent *a)
{
	uint64_t now = sf_monotonic_ns();
	bool check = now - a->last_missed_check >= MISSED_CHECK_NS;

	/* the rest at the next round, which then does not sleep */
	a->ring_more = consume_some(a, AGENT_CONSUME_MAX);
	/* records a second since the last round: polls only while they
	 * come fast (AGENT_POLL_HOT_RATE) */
	a->ring_hot = a->consume_took &&
		      (uint64_t)a->consume_took * 1000000000ull >=
			      a->poll_hot_rate * (now - a->last_drain_ns);
	a->last_drain_ns = now;
	/* hashes finished since: process.exe_hash records */
	exehash_collect(a->exehash, emit_exe_hash, a, 0, 0);
	if (check) {
		a->last_missed_check = now;
		/* requests of processes that are gone (bpf/uring.bpf.h) */
		probe_uring_sweep(&a->probe, SF_SLOT_NONE);
		/* every slot's counters in one read, not per workload */
		probe_snapshot(&a->probe, true);
		for (struct workload *wl = a->wl.active; wl; wl = wl->next) {
			if (wl->closing)
				continue;
			check_missed(a, wl, false);
			stream_flush(a, wl);
		}
		probe_snapshot(&a->probe, false);
	} else {
		/* between checks only the workloads that got events: a walk of
		 * every workload per wake-up was a sixth of the daemon's CPU
		 * with 1,000 tracked (docs/performance.md) */
		for (unsigned i = 0; i < a->ndirty; i++) {
			struct workload *wl = wl_table_get(&a->wl, a->dirty[i]);

			if (wl && !wl->closing)
				stream_flush(a, wl);
		}
	}
	for (unsigned i = 0; i < a->ndirty; i++)
		a->is_dirty[a->dirty[i]] = false;
	a->ndirty = 0;
}
