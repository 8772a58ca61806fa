/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probe: where raw event records come from, as the agent sees it.  One
 * backend is the BPF one (probe.c); the ops let a unit test feed records to
 * the consumer without BPF, as the sinks' ops let it read what comes out.
 *
 * Lifecycle: open (load; nothing attached yet, so nothing is seen), attach
 * (events flow for tracked cgroups), detach (no hook attached, so the host
 * pays nothing), attach again as often as needed, close.  poll() hands every
 * record that is there now to the on_event callback given to open, on the
 * caller's thread.
 */
#ifndef SF_PROBE_H
#define SF_PROBE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sfagent.h"

#include "util.h"

struct probe;

struct probe_opts {
	const char *btf_path; /* NULL: /sys/kernel/btf/vmlinux */
	const char *btf_cache_dir; /* agent/btfcache.h; NULL: no cache */
	uint32_t ringbuf_bytes;
	bool hash_open; /* --hash open: file.mmap_exec records (bpf/mmap.bpf.h) */
	uint32_t host_mnt_ns; /* inode of /proc/1/ns/mnt, 0: unknown */
	/* programs this run can never attach, not loaded (verifier time at
	 * every start): seccomp recording's (no --seccomp-profile, not -D);
	 * the failed-exec tracepoints' (no filter, not -D: PROBE_G_EXEC_FAIL
	 * only goes with a filter that needs no other syscall event) */
	bool no_seccomp, no_exec_fail;
	/* no stream will count flows (not -D, no -F sysflow): the flow maps
	 * get one entry each, not 65,536 preallocated (~5 ms at the load) */
	bool no_flows;
	/* called for every record, from poll() */
	int (*on_event)(void *ctx, void *data, size_t size);
	void *ctx;
};

struct sf_filter_mask;
struct sf_seccomp_bits;

/*
 * The programs, in the groups attached and detached together.  What a
 * workload needs follows from the event types its kernel mask keeps
 * (groups_for: the one table of which programs send which types is the
 * backend's); -D attaches the union of its workloads' groups.
 */
enum probe_group {
	PROBE_G_SCHED = 1u << 0, /* exec, fork, exit: with anything tracked */
	PROBE_G_SYSCALL = 1u << 1, /* every syscall's exit, the ia32 ones too */
	PROBE_G_CAP = 1u << 2, /* capability checks */
	PROBE_G_URING = 1u << 3, /* io_uring requests */
	PROBE_G_MODULE = 1u << 4, /* module loads */
	/* native failed execs on their own two tracepoints, for a workload
	 * that needs no other syscall event (never with PROBE_G_SYSCALL) */
	PROBE_G_EXEC_FAIL = 1u << 5,
	/* per-syscall mode (agent/ia32.h): the flow-only syscalls' own
	 * tracepoints (read, write, close, ...), for -F sysflow's counting;
	 * empty in the generic mode, where PROBE_G_SYSCALL has them */
	PROBE_G_FLOW = 1u << 6,
	PROBE_G_NUM = 7,
	/* what -X, -w, -P and -R attach, and the check at start (the flow
	 * syscalls come with a stream that counts flows: groups_for) */
	PROBE_G_ALL = ((1u << PROBE_G_NUM) - 1) & ~PROBE_G_EXEC_FAIL &
		      ~PROBE_G_FLOW,
};

/* "sched,syscall,..." for messages */
static inline const char *probe_groups_str(unsigned groups, char *buf, size_t n)
{
	static const char *const names[PROBE_G_NUM] = {
		"sched",  "sys_exit",  "cap",		"io_uring",
		"module", "exec_fail", "flow_syscalls",
	};
	size_t len = 0;

	buf[0] = 0;
	for (int i = 0; i < PROBE_G_NUM; i++)
		if (groups & (1u << i) && len < n)
			len += snprintf(buf + len, n - len, "%s%s",
					len ? "," : "", names[i]);
	if (!len)
		snprintf(buf, n, "none");
	return buf;
}

struct probe_ops {
	const char *name;
	int (*open)(struct probe *p, const struct probe_opts *o,
		    struct sf_error **err);
	/* Attaches the programs of groups (those not attached yet). */
	int (*attach)(struct probe *p, unsigned groups, struct sf_error **err);
	/* Detaches the programs of groups (those attached). */
	void (*detach)(struct probe *p, unsigned groups);
	/* Optional.  The groups whose programs can send an event type that
	 * drop (the kernel mask's drop bits, SF_TYPE_MASK_BITS) keeps, and
	 * those the read/write counting of -F sysflow needs when flows is
	 * set.  Absent: PROBE_G_ALL. */
	unsigned (*groups_for)(struct probe *p, const uint64_t *drop,
			       bool flows);
	/* Consumes what is there now; returns records or -errno. */
	int (*poll)(struct probe *p);
	/* Detaches if attached; frees everything. */
	void (*close)(struct probe *p);
	/* The fd that is readable when records wait (for epoll). */
	int (*epoll_fd)(struct probe *p);
	/* Events of cgroup cgid (and of its descendants) go to slot. */
	int (*track)(struct probe *p, uint64_t cgid, uint32_t slot,
		     struct sf_error **err);
	int (*untrack)(struct probe *p, uint64_t cgid);
	/* Optional.  The uid, euid, gid and egid of the task behind pidfd (a
	 * thread's: PIDFD_THREAD) before its next set*id call, for a task
	 * running before its stream began (agent/credseed.c).  0 or -errno. */
	int (*seed_ids)(struct probe *p, int pidfd, const uint32_t ids[4]);
	/* Records for slot that could not be written (ring buffer full),
	 * since the last reset. */
	uint64_t (*drops)(struct probe *p, uint32_t slot);
	void (*reset_drops)(struct probe *p, uint32_t slot);
	/* Optional.  Events the slot's type mask dropped (docs/filters.md),
	 * since the last reset_drops. */
	uint64_t (*filtered)(struct probe *p, uint32_t slot);
	/* Optional.  The event types dropped for slot before they take
	 * ring-buffer space. */
	int (*set_filter_mask)(struct probe *p, uint32_t slot,
			       const struct sf_filter_mask *m,
			       struct sf_error **err);
	/* Optional.  Over budget (agent/daemon/budget.h): slot's events are
	 * counted instead of taking ring-buffer space, until unpaused. */
	void (*pause)(struct probe *p, uint32_t slot, bool paused);
	/* Optional.  Events not sent while slot was paused, since the last
	 * reset_drops. */
	uint64_t (*paused_drops)(struct probe *p, uint32_t slot);
	/* Optional.  on: the loss counters of every slot are read now, in one
	 * go, and drops, filtered and paused_drops answer from that copy until
	 * snapshot(p, false): a check of 1,000 workloads is then one syscall,
	 * not two or three per workload. */
	void (*snapshot)(struct probe *p, bool on);
	/* Optional.  Seccomp recording for slot (agent/seccomp/): start
	 * clears its bits and sets its flag, the recording programs attached
	 * while any slot records; stop reads the bits (the CPUs ORed) and
	 * clears the flag, detaching them after the last. */
	int (*seccomp_start)(struct probe *p, uint32_t slot,
			     struct sf_error **err);
	void (*seccomp_stop)(struct probe *p, uint32_t slot,
			     struct sf_seccomp_bits *out);
	/* Optional.  Each program's run time and count as the kernel keeps
	 * them (zero unless kernel.bpf_stats_enabled is 1): /metrics. */
	/* Optional.  io_uring requests still waiting for their completion
	 * (bpf/uring.bpf.h): those of slot, and of any slot those whose
	 * process is gone and that are SF_URING_SWEEP_AGE_NS old, go to
	 * on_event without a result (SF_F_URING_NO_CQE).  Returns how many. */
	int (*uring_sweep)(struct probe *p, uint32_t slot);
	/* Optional.  io_uring requests of slot kept waiting for their
	 * completion since the last reset_drops (zero: it had none). */
	uint64_t (*uring_kept)(struct probe *p, uint32_t slot);
	void (*prog_stats)(struct probe *p,
			   void (*fn)(void *ctx, const char *name,
				      uint64_t run_ns, uint64_t runs),
			   void *ctx);
	/* Optional.  -F sysflow's read/write counting (bpf/flow.bpf.h):
	 * flow_count turns it on or off for slot (off forgets the slot's
	 * counters); flow_get reads one flow's counters (take: and deletes
	 * them), -errno when there are none (ENOENT); flow_full counts the
	 * flows that found the map full, since the last reset_drops;
	 * flow_fixed the io_uring requests on fixed files and their bytes,
	 * which are in no flow. */
	void (*flow_count)(struct probe *p, uint32_t slot, bool on);
	int (*flow_get)(struct probe *p, const struct sf_flow_key *k, bool take,
			struct sf_flow_counts *out);
	uint64_t (*flow_full)(struct probe *p, uint32_t slot);
	void (*flow_fixed)(struct probe *p, uint32_t slot, uint64_t *ops,
			   uint64_t *bytes);
	/* Optional.  on: the consumer polls on its own clock for now, so
	 * records need not wake it (the kernel side's wake-up costs the
	 * traced task an IPI); off: it may sleep, records wake it. */
	void (*polls)(struct probe *p, bool on);
};

/* a request of a process that is gone is swept once this old: the kernel's
 * ring-exit work has cancelled (and completed) everything by then */
#define SF_URING_SWEEP_AGE_NS (2 * 1000000000ull)

struct probe {
	const struct probe_ops *ops;
	void *state; /* the backend's */
	bool attached; /* some group is */
	unsigned groups; /* PROBE_G_* attached */
	/* syscall events from the per-syscall tracepoints: this kernel
	 * cannot run ia32 syscalls (agent/ia32.h; set by open) */
	bool per_syscall;
};

/* Loads the BPF programs (probe.c). */
extern const struct probe_ops probe_bpf_ops;

static inline int probe_open(struct probe *p, const struct probe_ops *ops,
			     const struct probe_opts *o, struct sf_error **err)
{
	p->ops = ops;
	p->state = NULL;
	p->attached = false;
	p->groups = 0;
	p->per_syscall = false;
	return ops->open(p, o, err);
}

/* Attaches the groups in g not attached yet (the others stay as they are). */
static inline int probe_attach_groups(struct probe *p, unsigned g,
				      struct sf_error **err)
{
	g &= ~p->groups;
	if (!g)
		return 0;
	if (p->ops->attach(p, g, err) < 0)
		return -1;
	p->groups |= g;
	p->attached = true;
	return 0;
}

static inline void probe_detach_groups(struct probe *p, unsigned g)
{
	g &= p->groups;
	if (!g)
		return;
	p->ops->detach(p, g);
	p->groups &= ~g;
	p->attached = p->groups != 0;
}

static inline int probe_attach(struct probe *p, struct sf_error **err)
{
	return probe_attach_groups(p, PROBE_G_ALL, err);
}

static inline void probe_detach(struct probe *p)
{
	probe_detach_groups(p, p->groups);
}

static inline unsigned probe_groups_for(struct probe *p, const uint64_t *drop,
					bool flows)
{
	return p->ops->groups_for ? p->ops->groups_for(p, drop, flows)
				  : PROBE_G_ALL;
}

static inline void probe_close(struct probe *p)
{
	if (p->ops)
		p->ops->close(p);
	p->ops = NULL;
	p->state = NULL;
	p->attached = false;
	p->groups = 0;
}

static inline int probe_consume(struct probe *p)
{
	return p->ops->poll(p);
}

/* slot SF_SLOT_NONE: only the requests of processes that are gone */
static inline int probe_uring_sweep(struct probe *p, uint32_t slot)
{
	return p->ops->uring_sweep ? p->ops->uring_sweep(p, slot) : 0;
}

static inline uint64_t probe_uring_kept(struct probe *p, uint32_t slot)
{
	return p->ops->uring_kept ? p->ops->uring_kept(p, slot) : 0;
}

static inline int probe_epoll_fd(struct probe *p)
{
	return p->ops->epoll_fd(p);
}

static inline int probe_track(struct probe *p, uint64_t cgid, uint32_t slot,
			      struct sf_error **err)
{
	return p->ops->track(p, cgid, slot, err);
}

static inline int probe_seed_ids(struct probe *p, int pidfd,
				 const uint32_t ids[4])
{
	return p->ops->seed_ids ? p->ops->seed_ids(p, pidfd, ids) : -ENOTSUP;
}

static inline int probe_untrack(struct probe *p, uint64_t cgid)
{
	return p->ops->untrack(p, cgid);
}

static inline uint64_t probe_drops(struct probe *p, uint32_t slot)
{
	return p->ops->drops(p, slot);
}

static inline void probe_reset_drops(struct probe *p, uint32_t slot)
{
	p->ops->reset_drops(p, slot);
}

static inline uint64_t probe_filtered(struct probe *p, uint32_t slot)
{
	return p->ops->filtered ? p->ops->filtered(p, slot) : 0;
}

static inline int probe_set_filter_mask(struct probe *p, uint32_t slot,
					const struct sf_filter_mask *m,
					struct sf_error **err)
{
	return p->ops->set_filter_mask
		       ? p->ops->set_filter_mask(p, slot, m, err)
		       : 0;
}

static inline void probe_pause(struct probe *p, uint32_t slot, bool paused)
{
	if (p->ops->pause)
		p->ops->pause(p, slot, paused);
}

static inline void probe_polls(struct probe *p, bool on)
{
	if (p->ops->polls)
		p->ops->polls(p, on);
}

static inline void probe_snapshot(struct probe *p, bool on)
{
	if (p->ops->snapshot)
		p->ops->snapshot(p, on);
}

static inline uint64_t probe_paused_drops(struct probe *p, uint32_t slot)
{
	return p->ops->paused_drops ? p->ops->paused_drops(p, slot) : 0;
}

static inline int probe_seccomp_start(struct probe *p, uint32_t slot,
				      struct sf_error **err)
{
	if (!p->ops->seccomp_start)
		return sf_fail(err, 0, "seccomp recording needs the BPF probe");
	return p->ops->seccomp_start(p, slot, err);
}

/* Fills *out (all zero when the probe cannot record). */
static inline void probe_seccomp_stop(struct probe *p, uint32_t slot,
				      struct sf_seccomp_bits *out)
{
	memset(out, 0, sizeof(*out));
	if (p->ops->seccomp_stop)
		p->ops->seccomp_stop(p, slot, out);
}

static inline void probe_flow_count(struct probe *p, uint32_t slot, bool on)
{
	if (p->ops->flow_count)
		p->ops->flow_count(p, slot, on);
}

static inline int probe_flow_get(struct probe *p, const struct sf_flow_key *k,
				 bool take, struct sf_flow_counts *out)
{
	memset(out, 0, sizeof(*out));
	return p->ops->flow_get ? p->ops->flow_get(p, k, take, out) : -ENOENT;
}

static inline uint64_t probe_flow_full(struct probe *p, uint32_t slot)
{
	return p->ops->flow_full ? p->ops->flow_full(p, slot) : 0;
}

static inline void probe_flow_fixed(struct probe *p, uint32_t slot,
				    uint64_t *ops, uint64_t *bytes)
{
	*ops = *bytes = 0;
	if (p->ops->flow_fixed)
		p->ops->flow_fixed(p, slot, ops, bytes);
}

/* Make sure bpffs and tracefs are mounted (mounts them if absent). */
int probe_mount_fs(struct sf_error **err);

#endif
