/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent: the loaded probe, the workload table and the streams.
 * One thread consumes the ring buffer, encodes and hands batches to sinks.
 */
#ifndef SF_AGENT_H
#define SF_AGENT_H

#include <signal.h>
#include <sys/signalfd.h>

#include "encode.h"
#include "filter_wl.h"
#include "options.h"
#include "probe.h"
#include "workload.h"

/* Hand a workload's batch to its sinks once it is this big. */
#define SF_FLUSH_BYTES (256u << 10)

struct exehash;

struct agent {
	const struct sf_options *opt;
	struct probe probe;
	struct wl_table wl;
	int64_t boot_to_epoch; /* add to bpf boot ns for ns since the epoch */
	char *exporter;
	const char *mode;
	uint64_t orphans; /* events for slots no longer in the table */
	uint64_t malformed; /* records decode_event() refused */
	struct exehash *exehash; /* --hash, NULL: none (exehash.h) */
	uint64_t last_missed_check;
	uint64_t started_ns; /* monotonic, at agent_init */
	struct filter_conf filters; /* --filter, --file-filter ... */
	int epfd; /* ring buffer + the caller's signalfd */
	int epfd_sig;
	/* Idle = free (-D): the probe's programs are attached while some
	 * workload needs them only (probe.h, PROBE_G_*).  stream_begin
	 * attaches what its workload needs (before the hook's ACK);
	 * agent_wait detaches what no workload needed for idle_detach_ns. */
	bool lazy_attach;
	uint64_t idle_detach_ns;
	/* monotonic ns since attached groups are not needed, 0: all are */
	uint64_t idle_since;
	unsigned idle_groups; /* those groups */
	unsigned need_groups; /* the workloads' union (need_count: of how many) */
	unsigned need_count;
	bool need_stale; /* a stream began: compute need_groups again */
	uint64_t attaches, detaches;
	uint64_t last_attach_ns; /* how long the last attach took */
	/* slots whose out got events since the last drain: the drain between
	 * loss checks flushes only these */
	uint32_t dirty[SF_MAX_SLOTS];
	unsigned ndirty;
	bool is_dirty[SF_MAX_SLOTS];
	/* the consumer's bound per round (agent.c, on_event): records this
	 * call may still take (0: no bound), whether the last round left
	 * some, how many the ring can hold at most */
	unsigned consume_left, consume_took;
	uint64_t consume_start; /* monotonic ns */
	bool ring_more;
	/* the last drain took records at poll_hot_rate a second or more
	 * since the one before (last_drain_ns): the next wait polls on the
	 * agent's own clock (AGENT_POLL_HOT_MS), and the probe knows (polls) */
	bool ring_hot, polls;
	uint64_t last_drain_ns, poll_hot_rate;
	uint64_t ring_max;
	long consume_delay_ns; /* tests only: SFAGENT_TEST_CONSUME_DELAY_NS */
	/* cgroup v2 mount point, read at the first stream's end (NULL: not
	 * yet): a poststop's ACK waited for a mountinfo read each time */
	char *cg_mnt;
};

/* Records one round of the main loop takes from the ring buffer at most,
 * and how long it may take them: then clients, hooks and signals are
 * served, however fast a workload makes events. */
#define AGENT_CONSUME_MAX 16384
#define AGENT_CONSUME_NS  (20 * 1000000ull)
/* While records come at least AGENT_POLL_HOT_RATE a second: the longest
 * wait between rounds, in which no record wakes the agent (bpf/event.bpf.h
 * wake_flags).  Below that rate a timed wait per millisecond cost the
 * agent more (~20 us each on this VM) than the wake-ups it saves the
 * traced tasks: 2,035 against 1,657 ns per file event at ~60,000/s. */
#define AGENT_POLL_HOT_MS   1
#define AGENT_POLL_HOT_RATE 400000

/* How long -D keeps its programs attached after the last stream ended, so
 * that containers started one after another do not attach and detach each
 * time (SFAGENT_TEST_IDLE_DETACH_MS overrides it, for tests). */
#define SF_IDLE_DETACH_MS 5000

/* The agent on the probe `ops` (a unit test's own, without BPF). */
int agent_init_probe(struct agent *a, const struct sf_options *o,
		     const struct probe_ops *ops, struct sf_error **err);
/* The agent on the BPF programs. */
static inline int agent_init(struct agent *a, const struct sf_options *o,
			     struct sf_error **err)
{
	return agent_init_probe(a, o, &probe_bpf_ops, err);
}
void agent_fini(struct agent *a);

uint64_t sf_now_ns(void); /* CLOCK_REALTIME, ns */
uint64_t sf_monotonic_ns(void);

/* A new workload with the agent's format and no sinks yet. */
struct workload *agent_workload_new(struct agent *a, const char *name,
				    struct sf_error **err);
/* Opens the sinks -o/-b name for a workload of a one-workload mode. */
int agent_workload_sinks_from_options(struct agent *a, struct workload *wl,
				      struct sf_error **err);

/* SIGHUP: every sink that can reopens (files moved by logrotate). */
void agent_reopen(struct agent *a);

/* stream.start, then the workload's cgroup is tracked */
int stream_begin(struct agent *a, struct workload *wl, int resumed,
		 struct sf_error **err);
/* Drain, report what was missed, stream.end, untrack, close, free. */
void stream_finish(struct agent *a, struct workload *wl);
/* stream_finish in steps, for the daemon, which must not wait for sinks:
 * begin untracks and drains the ring buffer into the sinks; once the sinks
 * have delivered (sink_drain), end reports the loss and writes stream.end;
 * once that is delivered too, wl_table_remove closes and frees. */
void stream_finish_begin(struct agent *a, struct workload *wl);
void stream_finish_end(struct agent *a, struct workload *wl);
void stream_flush(struct agent *a, struct workload *wl);
/* What stream.end would say now (status, metrics, stream.end itself). */
void agent_stream_totals(struct agent *a, struct workload *wl,
			 struct stream_totals *t);

/*
 * One round of the main loop: wait up to timeout_ms for events or for a
 * signal on sigfd, then consume, flush and check for loss.  A signal that
 * arrived is returned in *si (si->ssi_signo is 0 when none did).
 */
int agent_wait(struct agent *a, int sigfd, int timeout_ms,
	       struct signalfd_siginfo *si);
/* A signalfd for SIGINT, SIGTERM, SIGHUP, SIGCHLD, which are blocked;
 * *old gets the previous mask for children to restore. */
int agent_signalfd(sigset_t *old, struct sf_error **err);
/* Everything pending: consume, flush every stream, check for loss. */
void agent_drain(struct agent *a);

#endif
