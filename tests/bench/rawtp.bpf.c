// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark-only alternative design: raw_tp sys_enter + sys_exit with the
 * same cgroup filter as bpf/sfagent.bpf.c (LRU cache in front of the tracked
 * map, generation counter, ancestor walk), nothing emitted.  It answers one
 * question: what would every syscall of an UNTRACKED process pay if the
 * agent hooked all syscalls instead of the ~45 syscalls/sys_exit_* it uses.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sfagent.h"

char LICENSE[] SEC("license") = "GPL";

volatile __u32 track_gen = 0;

struct cg_cache_entry {
	__u32 slot;
	__u32 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct cg_cache_entry);
} cg_cache SEC(".maps");

__u64 hits = 0;

static __always_inline __u32 current_slot(__u64 cgid)
{
	struct cg_cache_entry *c, fresh;
	__u32 gen = track_gen;
	__u32 slot = SF_SLOT_NONE;

	c = bpf_map_lookup_elem(&cg_cache, &cgid);
	if (c && c->gen == gen)
		return c->slot;
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

SEC("raw_tp/sys_enter")
int bench_sys_enter(void *ctx)
{
	if (current_slot(bpf_get_current_cgroup_id()) != SF_SLOT_NONE)
		__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("raw_tp/sys_exit")
int bench_sys_exit(void *ctx)
{
	if (current_slot(bpf_get_current_cgroup_id()) != SF_SLOT_NONE)
		__sync_fetch_and_add(&hits, 1);
	return 0;
}
