// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark-only alternative design: raw_tp sys_enter + sys_exit with the
 * real cgroup filter of bpf/filter.bpf.h (LRU cache in front of the tracked
 * map, generation counter, ancestor walk), nothing emitted.  It answers one
 * question: what would every syscall of an UNTRACKED process pay if the
 * agent hooked all syscalls instead of the ~45 syscalls/sys_exit_* it uses.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sfagent.h"

char LICENSE[] SEC("license") = "GPL";

#include "filter.bpf.h"

__u64 hits = 0;

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
