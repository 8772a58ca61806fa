// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of any syscall-tracepoint design (benchmark only): one empty
 * program on one syscall tracepoint, one that the benchmark loops never
 * call.  Attaching it turns on the kernel's syscall tracing path for every
 * task; it does nothing else.  Loaded by tests/bench/bpfattach.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_exit_getppid")
int bench_floor(void *ctx)
{
	return 0;
}
