// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of any syscall-tracepoint design (benchmark only): one empty
 * program on one syscall tracepoint, one that the benchmark loops never
 * call.  Attaching it turns on the kernel's syscall tracing path for every
 * task; it does nothing else.  Loaded by tests/bench/bpfattach, one
 * program at a time (BPFATTACH_ONLY).
 *
 * bench_floor_raw: the least the ia32 guard costs (docs/design.md): a
 * program on the generic sys_exit, which every syscall of every task runs,
 * testing the task's TS_COMPAT bit and nothing else.  The per-syscall
 * tracepoints never see ia32 syscalls, so this entry is what 32-bit
 * coverage costs beyond the floor, whatever the program does after it.
 *
 * bench_own_getpid, bench_own_openat: an empty program on the measured
 * call's own exit tracepoint (getpid's; openat's, the one file syscall of
 * open+close a file-exporting workload needs in per-syscall mode: close is
 * flow-only).  Tracepoints are global, so a design that exports a syscall
 * runs a program on that syscall of every task, tracked or not: this is
 * the least it costs the untracked ones, whatever the program does.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_exit_getppid")
int bench_floor(void *ctx)
{
	return 0;
}

__u64 compat_seen = 0;

SEC("tp_btf/sys_exit")
int BPF_PROG(bench_floor_raw, struct pt_regs *regs, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (t->thread_info.status & 0x0002 /* TS_COMPAT */)
		compat_seen++;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_getpid")
int bench_own_getpid(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int bench_own_openat(void *ctx)
{
	return 0;
}
