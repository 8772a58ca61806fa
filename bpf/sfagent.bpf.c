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
 *   kpath.bpf.h    paths the kernel resolved (an fd's file, exe, cwd)
 *   sec.bpf.h      security-relevant syscalls: ptrace, namespaces, mounts,
 *                  modules, bpf(), xattrs, W+X memory, memfd, dup, keys
 *   uring.bpf.h    io_uring requests, mapped to the same event types
 *   compat.bpf.h   ia32 syscalls, for the sys_exit program
 *   seccomp.bpf.h  seccomp recording: every syscall of a recording workload
 *   flow.bpf.h     -F sysflow: read/write counts per flow, flow ends at close
 *   persys.bpf.h   per-syscall mode (a kernel without ia32 syscalls): the
 *                  same exits from the syscalls' own tracepoints
 *   syscalls.def   the one list of exported syscalls (also read by the loader)
 *
 * Syscall events come from one program on the generic sys_exit tracepoint
 * (sf_sys_exit: why one, there), with the arguments read from the task's
 * saved user registers, so one program run per syscall both filters and
 * emits.  On a kernel that cannot run ia32 syscalls, from the per-syscall
 * tracepoints instead (persys.bpf.h).
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
#include "kpath.bpf.h"
#include "ident.bpf.h"
#include "file.bpf.h"
#include "net.bpf.h"
#include "process.bpf.h"
#include "sec.bpf.h"
#include "mmap.bpf.h"
#include "flow.bpf.h"

/* 1: sf_exec_fail reports the native failed execs, not sf_sys_exit (the
 * loader sets it while only the former is attached: agent/probe.c) */
volatile __u32 exec_tp_on = 0;

/* The classes of syscalls.def: which <class>_event() decodes a syscall. */
enum sys_class {
	SC_none,
	SC_file,
	SC_net,
	SC_kill,
	SC_cred,
	SC_exec_fail,
	SC_sec,
	SC_flow, /* flow.bpf.h only (flow_on_exit) */
};

/*
 * Each class's decoder is a global function: the verifier checks it once,
 * on its own, with its arguments unknown, instead of on every path that
 * reaches it (the native and the ia32 path reach on_sys_exit() with
 * different states, so inlined, it was verified at least twice, and every
 * branch before it multiplied the states).  A decoder never returns
 * anything; the int is what a global function must return.  At most five
 * arguments: the slot and the flags share one.
 */
#define SYS_DECODER_GLOBAL(fn)                                   \
	__noinline int fn##_g(long nr, long ret, __u64 cgid,     \
			      struct sys_args *a, __u64 slot_xf) \
	{                                                        \
		if (a)                                           \
			fn(nr, ret, (__u32)slot_xf, cgid, a,     \
			   (__u16)(slot_xf >> 32));              \
		return 0;                                        \
	}
SYS_DECODER_GLOBAL(file_event)
SYS_DECODER_GLOBAL(net_event)
SYS_DECODER_GLOBAL(kill_event)
SYS_DECODER_GLOBAL(cred_event)
SYS_DECODER_GLOBAL(exec_fail_event)
SYS_DECODER_GLOBAL(sec_event)
SYS_DECODER_GLOBAL(mmap_exec_event)

/* One exported syscall's exit, native numbering, arguments already read.
 * Two steps, number -> class -> decoder. */
static __always_inline void on_sys_exit(long nr, long ret, __u32 slot,
					__u64 cgid, struct sys_args *a,
					__u16 xf)
{
	__u64 sx = slot | (__u64)xf << 32;
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
		file_event_g(nr, ret, cgid, a, sx);
		break;
	case SC_net:
		net_event_g(nr, ret, cgid, a, sx);
		break;
	case SC_kill:
		kill_event_g(nr, ret, cgid, a, sx);
		break;
	case SC_cred:
		cred_event_g(nr, ret, cgid, a, sx);
		break;
	case SC_exec_fail:
		/* native ones from sf_exec_fail while it is the one attached */
		if (!exec_tp_on || (xf & SF_F_COMPAT))
			exec_fail_event_g(nr, ret, cgid, a, sx);
		break;
	case SC_sec:
		if (mmap_exec_wanted(nr, ret, a))
			mmap_exec_event_g(nr, ret, cgid, a, sx);
		else
			sec_event_g(nr, ret, cgid, a, sx);
		break;
	case SC_flow:
	case SC_none:
		break;
	}
}

/* The class of an exported native syscall; SC_none for every other one,
 * which leaves after this switch, before the cgroup filter. */
static __always_inline enum sys_class sys_class_of(long nr)
{
	switch (nr) {
#define SF_SYSCALL(tp, nr_name, class, flags) \
	case __NR_##nr_name:                  \
		return SC_##class;
#include "syscalls.def"
#undef SF_SYSCALL
	default:
		return SC_none;
	}
}

#include "compat.bpf.h"

/*
 * Every syscall's exit, on the generic sys_exit tracepoint: one link, not one
 * per exported syscall.  The per-syscall tracepoints (syscalls/sys_exit_*)
 * are perf events, which the kernel releases one at a time, each after an
 * RCU grace period under one mutex: the 53 links of the agent took 2-4 s at
 * every exit.  Every syscall already ran a program here for the ia32 guard,
 * so folding the native exits into it costs untracked tasks nothing more
 * (measured, docs/performance.md): they leave after the TS_COMPAT test and
 * the number's switch, before the cgroup filter.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(sf_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	/* direct loads through the BTF pointers, no probe-read helper call:
	 * this runs on every syscall of every task */
	bool compat = t->thread_info.status & TS_COMPAT;
	struct sys_args a;
	long nr = 0, flow_nr = -1;
	__u64 cgid;
	__u32 slot;

	if (!compat) {
		enum sys_class c;

		nr = regs->orig_ax;
		c = sys_class_of(nr);
		if (c == SC_none || (c == SC_flow && !flow_slots))
			return 0;
	}
	/* bpf_get_current_cgroup_id() by direct loads (the helper's
	 * task_dfl_cgroup()->kn->id; this program runs under RCU): no helper
	 * call and rcu_read_lock pair on every exported syscall of every task.
	 * Through task_ro(): the verifier reaches these loads on a dozen
	 * paths, and through the trusted pointer each of the three made it
	 * walk the kernel's BTF by name up to four times (a fifth of this
	 * program's verification) */
	cgid = task_ro(t)->cgroups->dfl_cgrp->kn->id;
	slot = current_slot(cgid);
	if (slot == SF_SLOT_NONE)
		return 0;
	if (compat) {
		nr = compat_sys_args_g(&a, &flow_nr);
	} else {
		/* sys_exit's regs are the task's saved user registers:
		 * no bpf_task_pt_regs() call */
		read_args_regs(&a, regs);
		flow_nr = nr;
	}
	/* one call for both: inlined (and verified) once */
	if (nr >= 0)
		on_sys_exit(nr, ret, slot, cgid, &a, compat ? SF_F_COMPAT : 0);
	/* after the event: a flow's counter begins after its open record
	 * (and its end is sent after it); ia32 reads and writes too */
	if (flow_slots && flow_nr >= 0)
		flow_exit(flow_nr | (compat ? SF_FLOW_COMPAT : 0), ret, slot,
			  cgid, &a);
	return 0;
}

/*
 * Failed execs for workloads that need nothing else of sf_sys_exit (a
 * filter that keeps process.exec but no syscall event): on the two
 * syscalls' own tracepoints, which cost every other syscall the kernel's
 * bitmap test only, where sf_sys_exit runs on each.  ia32 execs never reach
 * these tracepoints (docs/design.md, "which programs are attached").
 */
SEC("tracepoint")
int sf_exec_fail(struct syscall_trace_exit *ctx)
{
	long nr = ctx->nr, ret = ctx->ret;
	struct sys_args a;
	__u64 cgid;
	__u32 slot;

	if (ret >= 0 || !exec_tp_on)
		return 0;
	cgid = bpf_get_current_cgroup_id();
	slot = current_slot(cgid);
	if (slot == SF_SLOT_NONE)
		return 0;
	read_args(&a);
	exec_fail_event(nr, ret, slot, cgid, &a, 0);
	return 0;
}

#include "persys.bpf.h"
#include "uring.bpf.h"
#include "module.bpf.h"
#include "seccomp.bpf.h"
