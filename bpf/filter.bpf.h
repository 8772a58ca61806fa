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

/* Returns the workload slot of the current task, or SF_SLOT_NONE.  A
 * global function: its ancestor walk is verified once per program, not at
 * each caller's state (it was half of sf_sys_exit's own instructions). */
__noinline int current_slot_g(__u64 cgid)
{
	struct cg_cache_entry *c, fresh;
	__u32 gen = track_gen; /* read before the walk: see docs/design.md */
	__u32 slot = SF_SLOT_NONE;

	c = bpf_map_lookup_elem(&cg_cache, &cgid);
	if (c && c->gen == gen)
		return c->slot;

	/* Deepest tracked ancestor wins, so an excluded child of a tracked
	 * parent stays excluded. */
	for (int lvl = 0; lvl < SF_MAX_CGROUP_DEPTH; lvl++) {
		__u64 anc = bpf_get_current_ancestor_cgroup_id(lvl);
		__u32 *s;

		if (!anc)
			break;
		s = bpf_map_lookup_elem(&tracked, &anc);
		if (s)
			slot = *s;
		if (anc == cgid)
			break;
	}
	if (slot == SF_SLOT_EXCLUDED)
		slot = SF_SLOT_NONE;
	fresh.slot = slot;
	fresh.gen = gen;
	bpf_map_update_elem(&cg_cache, &cgid, &fresh, BPF_ANY);
	return slot;
}

static __always_inline __u32 current_slot(__u64 cgid)
{
	return current_slot_g(cgid);
}

#endif
