/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-syscall mode: the native syscall exits from their own tracepoints
 * (syscalls/sys_exit_<name>), for a kernel that cannot run ia32 syscalls
 * at all (no CONFIG_IA32_EMULATION, or ia32_emulation=false): there the
 * generic sys_exit's program (sf_sys_exit), which exists to see ia32
 * syscalls, would cost every syscall of every task a program run, where
 * these cost the untracked syscalls the kernel's bitmap test only.  The
 * loader decides the mode before the load and loads one of the two
 * (agent/probe.c, syscall_mode; docs/design.md "which programs are
 * attached"); this one is attached to each exported syscall's tracepoint,
 * the flow-only ones (SC_flow) while a sysflow stream counts flows.
 * Included by sfagent.bpf.c after on_sys_exit() and sys_class_of().
 */
#ifndef SF_PERSYS_BPF_H
#define SF_PERSYS_BPF_H

/* "?": not loaded unless the loader asks for it (per-syscall mode) */
SEC("?tracepoint")
int sf_sys_exit_tp(struct syscall_trace_exit *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	/* the tracepoint's record: never an ia32 syscall (those do not
	 * reach these tracepoints, and cannot run in this mode) */
	long nr = ctx->nr, ret = ctx->ret;
	enum sys_class c = sys_class_of(nr);
	struct sys_args a;
	__u64 cgid;
	__u32 slot;

	if (c == SC_none || (c == SC_flow && !flow_slots))
		return 0;
	/* as sf_sys_exit: direct loads, no helper call (under RCU) */
	cgid = t->cgroups->dfl_cgrp->kn->id;
	slot = current_slot(cgid);
	if (slot == SF_SLOT_NONE)
		return 0;
	read_args(&a);
	on_sys_exit(nr, ret, slot, cgid, &a, 0);
	/* after the event, as sf_sys_exit */
	if (flow_slots)
		flow_exit(nr, ret, slot, cgid, &a);
	return 0;
}

#endif
