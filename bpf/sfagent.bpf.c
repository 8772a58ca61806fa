// SPDX-License-Identifier: GPL-2.0
/*
 * sfagent kernel side: one object, one skeleton, the code split by concern.
 *
 *   filter.bpf.h   is the current task in a tracked cgroup? (every program
 *                  asks it first; untracked tasks leave after one lookup)
 *   event.bpf.h    ring buffer, loss counters, the common header, syscall
 *                  arguments and user strings
 *   file.bpf.h     file events from syscall exits
 *   net.bpf.h      network events from syscall exits
 *   process.bpf.h  exec/fork/exit (sched_process_*), signals, setuid family,
 *                  capability checks
 *   compat.bpf.h   the generic sys_exit program: ia32 syscalls
 *   syscalls.def   the one list of exported syscalls (also read by the loader)
 *
 * Syscall events come from the per-syscall tracepoints syscalls/sys_exit_*
 * (only the syscalls we export pay anything at all), with the arguments read
 * from the task's saved user registers, so one program run per syscall both
 * filters and emits.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <asm/unistd_64.h>
#include "sfagent.h"
#include "sysnr.h"

char LICENSE[] SEC("license") = "GPL";

#include "filter.bpf.h"
#include "event.bpf.h"
#include "file.bpf.h"
#include "net.bpf.h"
#include "process.bpf.h"

/* syscalls/sys_exit_<name> record: see its format file in tracefs.  Not
 * struct trace_event_raw_sys_exit: the number here is an int. */
struct sys_exit_rec {
	__u64 common;
	int nr;
	int pad;
	long ret;
};

/* The classes of syscalls.def: which <class>_event() decodes a syscall. */
enum sys_class {
	SC_none,
	SC_file,
	SC_net,
	SC_kill,
	SC_cred,
	SC_exec_fail,
};

/* One exported syscall's exit, native numbering, arguments already read.
 * Two steps, number -> class -> decoder, so each decoder is inlined once
 * (not once per syscall of its class). */
static __always_inline void on_sys_exit(long nr, long ret, __u32 slot,
					__u64 cgid, struct sys_args *a,
					__u16 xf)
{
	enum sys_class c;

	switch (nr) {
#define SF_SYSCALL(tp, nr_name, class, flags) \
	case __NR_##nr_name:                  \
		c = SC_##class;               \
		break;
#include "syscalls.def"
#undef SF_SYSCALL
	default:
		return;
	}
	switch (c) {
	case SC_file:
		file_event(nr, ret, slot, cgid, a, xf);
		break;
	case SC_net:
		net_event(nr, ret, slot, cgid, a, xf);
		break;
	case SC_kill:
		kill_event(nr, ret, slot, cgid, a, xf);
		break;
	case SC_cred:
		cred_event(nr, ret, slot, cgid, a, xf);
		break;
	case SC_exec_fail:
		exec_fail_event(nr, ret, slot, cgid, a, xf);
		break;
	case SC_none:
		break;
	}
}

SEC("tracepoint")
int sf_sys_exit(struct sys_exit_rec *ctx)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sys_args a;

	if (slot == SF_SLOT_NONE)
		return 0;
	read_args(&a);
	on_sys_exit(ctx->nr, ctx->ret, slot, cgid, &a, 0);
	return 0;
}

#include "compat.bpf.h"
