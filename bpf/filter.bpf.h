/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cgroup filter every program runs first: is the current task in a
 * tracked cgroup (or below one)?  Untracked tasks answer it with one LRU hash
 * lookup and leave.  Also included by the benchmark's raw_tp programs
 * (tests/bench/rawtp.bpf.c), so they measure this very code.
 *
 * Needs vmlinux.h, bpf_helpers.h and sfagent.h first.
 */
#ifndef SF_FILTER_BPF_H
#define SF_FILTER_BPF_H

/* Bumped by the agent after every change to the tracked map. */
volatile __u32 track_gen = 0;

struct cg_cache_entry {
	__u32 slot;
	__u32 gen;
};

/*
 * The last answer on this CPU, in front of cg_cache: one task making
 * syscalls back to back asks for the same cgroup each time, and a per-CPU
 * array's lookup is inlined (a few loads), where the LRU hash's is a
 * call, a hash and a bucket walk (5.8% of a traced kill loop's samples).
 * A program in interrupt context (io_uring completions) can run amid
 * another's write on the same CPU: the cgroup id is written before and
 * after the answer (one 8-byte store), and an entry counts only when both
 * copies are the id asked for, so a write cut by another leaves a miss,
 * never one cgroup's id with another's answer.
 */
struct cg_last {
	__u64 cgid_a;
	__u64 slot_gen; /* slot | gen << 32 */
	__u64 cgid_b;
};

static __always_inline void cg_last_set(struct cg_last *l, __u64 cgid,
					__u32 slot, __u32 gen)
{
	volatile struct cg_last *v = l;

	v->cgid_a = cgid;
	asm volatile("" ::: "memory");
	v->slot_gen = slot | (__u64)gen << 32;
	asm volatile("" ::: "memory");
	v->cgid_b = cgid;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cg_last);
} cg_last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* cgroup id */
	__type(value, __u32); /* workload slot or SF_SLOT_EXCLUDED */
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct cg_cache_entry);
} cg_cache SEC(".maps");

/* The ancestor walk's state: the cgroup asked for, the deepest tracked
 * ancestor's slot so far. */
struct anc_walk {
	__u64 cgid;
	__u32 slot;
};

/* One ancestor level, bpf_loop()'s callback; 1 ends the walk. */
static long anc_level(__u64 lvl, struct anc_walk *w)
{
	__u64 anc = bpf_get_current_ancestor_cgroup_id(lvl);
	__u32 *s;

	if (!anc)
		return 1;
	s = bpf_map_lookup_elem(&tracked, &anc);
	if (s)
		w->slot = *s;
	return anc == w->cgid;
}

/* Returns the workload slot of the current task, or SF_SLOT_NONE.  A
 * global function: its ancestor walk is verified once per program, not at
 * each caller's state (it was half of sf_sys_exit's own instructions); the
 * walk, on a cache miss only, is a bpf_loop(), whose body the verifier
 * checks until its states repeat, not once per level as an unrolled loop
 * (the levels were 900 of every program's instructions). */
__noinline int current_slot_g(__u64 cgid)
{
	struct anc_walk w = {.cgid = cgid, .slot = SF_SLOT_NONE};
	struct cg_cache_entry *c, fresh;
	__u32 gen = track_gen; /* read before the walk: see docs/design.md */
	__u32 slot, zero = 0;
	struct cg_last *last = bpf_map_lookup_elem(&cg_last, &zero);

	if (last) {
		volatile struct cg_last *v = last;
		__u64 a = v->cgid_a, sg = v->slot_gen, b = v->cgid_b;

		if (a == cgid && b == cgid && (__u32)(sg >> 32) == gen)
			return (__u32)sg;
	}
	c = bpf_map_lookup_elem(&cg_cache, &cgid);
	if (c && c->gen == gen) {
		slot = c->slot;
		if (last)
			cg_last_set(last, cgid, slot, gen);
		return slot;
	}

	/* Deepest tracked ancestor wins, so an excluded child of a tracked
	 * parent stays excluded. */
	bpf_loop(SF_MAX_CGROUP_DEPTH, anc_level, &w, 0);
	slot = w.slot;
	if (slot == SF_SLOT_EXCLUDED)
		slot = SF_SLOT_NONE;
	fresh.slot = slot;
	fresh.gen = gen;
	bpf_map_update_elem(&cg_cache, &cgid, &fresh, BPF_ANY);
	if (last)
		cg_last_set(last, cgid, slot, gen);
	return slot;
}

static __always_inline __u32 current_slot(__u64 cgid)
{
	return current_slot_g(cgid);
}

#endif
