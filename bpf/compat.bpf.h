/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 32-bit (ia32) syscalls for the program on the generic sys_exit tracepoint
 * (sf_sys_exit), which sees every syscall of the host.  Included by
 * sfagent.bpf.c, which feeds on_sys_exit() with the native numbers.
 */
#ifndef SF_COMPAT_BPF_H
#define SF_COMPAT_BPF_H

/*
 * 32-bit syscalls (a 32-bit program, or int $0x80 from a 64-bit one) never
 * reach the syscalls/sys_exit_* tracepoints on x86-64, so without this a
 * workload could do its file, network and privilege work unseen.  The only
 * hook that sees them is the generic sys_exit tracepoint, which fires for
 * every syscall on the host: the first thing done is the TS_COMPAT test,
 * one load, before anything else.  ia32 numbers are mapped to the native
 * ones and the ia32 argument registers used.
 */
#define TS_COMPAT   0x0002
#define SYS_SOCKET  1
#define SYS_BIND    2
#define SYS_CONNECT 3
#define SYS_LISTEN  4
#define SYS_ACCEPT  5
#define SYS_ACCEPT4 18
/* socketcall's reads and writes (flows only) */
#define SYS_SEND     9
#define SYS_RECV     10
#define SYS_SENDTO   11
#define SYS_RECVFROM 12
#define SYS_SENDMSG  16
#define SYS_RECVMSG  17
#define SYS_RECVMMSG 19
#define SYS_SENDMMSG 20

/*
 * ia32 number -> what sf_sys_exit makes of it, one load: the native number
 * + 1 (0: not exported, no flow) with IA32_FLOW_ONLY for the reads, writes
 * and close of -F sysflow's flows (flow.bpf.h), which are no events: a
 * native number for flow_exit() only; their fd, length and message-vector
 * arguments are where the native ones are (pread64's offset, in two
 * registers, is not used); the only layout that differs, struct
 * compat_mmsghdr, flow_exit() is told of.  IA32_FD_ARG0: the first
 * argument is a 32-bit int that means -1/AT_FDCWD when negative.
 * A table, not a switch: each of a switch's constants took its own path
 * through the verifier (a seventh of sf_sys_exit's instructions).
 */
#define IA32_NR_MAX	   453
#define IA32_NR_MASK	   0x0fff
#define IA32_FLOW_ONLY	   0x1000
#define IA32_FD_ARG0	   0x2000
#define IA32_EV(nr, flags) (1 + (nr) + (flags))
#define IA32_FLOW(nr)	   (1 + (nr) + IA32_FLOW_ONLY)
static const __u16 ia32_nr[IA32_NR_MAX] = {
	[5] = IA32_EV(__NR_open, 0),
	[8] = IA32_EV(__NR_creat, 0),
	[9] = IA32_EV(__NR_link, 0),
	[10] = IA32_EV(__NR_unlink, 0),
	[11] = IA32_EV(__NR_execve, 0),
	[15] = IA32_EV(__NR_chmod, 0),
	[16] = IA32_EV(__NR_lchown, 0),
	[23] = IA32_EV(__NR_setuid, 0),
	[37] = IA32_EV(__NR_kill, 0),
	[38] = IA32_EV(__NR_rename, 0),
	[39] = IA32_EV(__NR_mkdir, 0),
	[40] = IA32_EV(__NR_rmdir, 0),
	[46] = IA32_EV(__NR_setgid, 0),
	[70] = IA32_EV(__NR_setreuid, 0),
	[71] = IA32_EV(__NR_setregid, 0),
	[83] = IA32_EV(__NR_symlink, 0),
	[92] = IA32_EV(__NR_truncate, 0),
	[93] = IA32_EV(__NR_ftruncate, 0),
	[94] = IA32_EV(__NR_fchmod, 0),
	[95] = IA32_EV(__NR_fchown, 0),
	[138] = IA32_EV(__NR_setfsuid, 0),
	[139] = IA32_EV(__NR_setfsgid, 0),
	[164] = IA32_EV(__NR_setresuid, 0),
	[170] = IA32_EV(__NR_setresgid, 0),
	[182] = IA32_EV(__NR_chown, 0),
	[193] = IA32_EV(__NR_truncate, 0), /* 64: the length in two registers */
	[194] = IA32_EV(__NR_ftruncate,
			0), /* 64: the length in two registers */
	[198] = IA32_EV(__NR_lchown, 0),
	[203] = IA32_EV(__NR_setreuid, 0),
	[204] = IA32_EV(__NR_setregid, 0),
	[207] = IA32_EV(__NR_fchown, 0),
	[208] = IA32_EV(__NR_setresuid, 0),
	[210] = IA32_EV(__NR_setresgid, 0),
	[212] = IA32_EV(__NR_chown, 0),
	[213] = IA32_EV(__NR_setuid, 0),
	[214] = IA32_EV(__NR_setgid, 0),
	[215] = IA32_EV(__NR_setfsuid, 0),
	[216] = IA32_EV(__NR_setfsgid, 0),
	[238] = IA32_EV(__NR_tkill, 0),
	[270] = IA32_EV(__NR_tgkill, 0),
	[295] = IA32_EV(__NR_openat, IA32_FD_ARG0),
	[296] = IA32_EV(__NR_mkdirat, IA32_FD_ARG0),
	[298] = IA32_EV(__NR_fchownat, IA32_FD_ARG0),
	[301] = IA32_EV(__NR_unlinkat, IA32_FD_ARG0),
	[302] = IA32_EV(__NR_renameat, IA32_FD_ARG0),
	[303] = IA32_EV(__NR_linkat, IA32_FD_ARG0),
	[304] = IA32_EV(__NR_symlinkat, 0),
	[306] = IA32_EV(__NR_fchmodat, IA32_FD_ARG0),
	[353] = IA32_EV(__NR_renameat2, IA32_FD_ARG0),
	[358] = IA32_EV(__NR_execveat, IA32_FD_ARG0),
	[359] = IA32_EV(__NR_socket, 0),
	[361] = IA32_EV(__NR_bind, 0),
	[362] = IA32_EV(__NR_connect, 0),
	[363] = IA32_EV(__NR_listen, 0),
	[364] = IA32_EV(__NR_accept4, 0),
	[437] = IA32_EV(__NR_openat2, IA32_FD_ARG0),
	[452] = IA32_EV(__NR_fchmodat2,
			IA32_FD_ARG0), /* the same number on ia32 */
	/* flows only */
	[3] = IA32_FLOW(__NR_read),
	[4] = IA32_FLOW(__NR_write),
	[6] = IA32_FLOW(__NR_close),
	[145] = IA32_FLOW(__NR_readv),
	[146] = IA32_FLOW(__NR_writev),
	[180] = IA32_FLOW(__NR_pread64),
	[181] = IA32_FLOW(__NR_pwrite64),
	[187] = IA32_FLOW(__NR_sendfile), /* sendfile */
	[239] = IA32_FLOW(__NR_sendfile), /* sendfile64 */
	[313] = IA32_FLOW(__NR_splice),
	[333] = IA32_FLOW(__NR_preadv),
	[334] = IA32_FLOW(__NR_pwritev),
	[337] = IA32_FLOW(__NR_recvmmsg), /* recvmmsg */
	[345] = IA32_FLOW(__NR_sendmmsg),
	[369] = IA32_FLOW(__NR_sendto),
	[370] = IA32_FLOW(__NR_sendmsg),
	[371] = IA32_FLOW(__NR_recvfrom),
	[372] = IA32_FLOW(__NR_recvmsg),
	[378] = IA32_FLOW(__NR_preadv2),
	[379] = IA32_FLOW(__NR_pwritev2),
	[417] = IA32_FLOW(__NR_recvmmsg), /* recvmmsg_time64 */
};

static __always_inline long socketcall_flow_nr(long call)
{
	switch (call) {
	case SYS_SEND:
	case SYS_SENDTO:
		return __NR_sendto;
	case SYS_RECV:
	case SYS_RECVFROM:
		return __NR_recvfrom;
	case SYS_SENDMSG:
		return __NR_sendmsg;
	case SYS_RECVMSG:
		return __NR_recvmsg;
	case SYS_RECVMMSG:
		return __NR_recvmmsg;
	case SYS_SENDMMSG:
		return __NR_sendmmsg;
	default:
		return -1;
	}
}

/* A 32-bit syscall (sf_sys_exit saw TS_COMPAT): its native number, or -1
 * for one not exported, and its arguments from the ia32 registers; in
 * *flow_nr the number flow_exit() goes by (the native one, or a read's,
 * write's or close's from ia32_flow_nr(), or -1). */
static __always_inline long
compat_sys_args(struct pt_regs *regs, struct sys_args *args, long *flow_nr)
{
	struct sys_args a;
	long nr32, nr;

	nr32 = BPF_CORE_READ(regs, orig_ax);
	a.a[0] = (__u32)BPF_CORE_READ(regs, bx);
	a.a[1] = (__u32)BPF_CORE_READ(regs, cx);
	a.a[2] = (__u32)BPF_CORE_READ(regs, dx);
	a.a[3] = (__u32)BPF_CORE_READ(regs, si);
	a.a[4] = (__u32)BPF_CORE_READ(regs, di);
	a.a[5] = (__u32)BPF_CORE_READ(regs, bp);
	if (nr32 == 102) { /* socketcall(call, args) */
		__u32 sargs[3] = {};
		long call = a.a[0];

		bpf_probe_read_user(sargs, sizeof(sargs), (void *)a.a[1]);
		a.a[0] = sargs[0], a.a[1] = sargs[1], a.a[2] = sargs[2];
		nr = call == SYS_SOCKET	   ? __NR_socket
		     : call == SYS_BIND	   ? __NR_bind
		     : call == SYS_CONNECT ? __NR_connect
		     : call == SYS_LISTEN  ? __NR_listen
		     : call == SYS_ACCEPT  ? __NR_accept
		     : call == SYS_ACCEPT4 ? __NR_accept4
					   : -1;
		*flow_nr = nr >= 0 ? nr : socketcall_flow_nr(call);
	} else {
		__u16 m = nr32 >= 0 && nr32 < IA32_NR_MAX ? ia32_nr[nr32] : 0;
		long native = (long)(m & IA32_NR_MASK) - 1;

		nr = m & IA32_FLOW_ONLY ? -1 : native;
		*flow_nr = native;
		/* truncate64/ftruncate64: the length comes in two registers */
		if (nr32 == 193 || nr32 == 194)
			a.a[1] |= a.a[2] << 32;
		/* 32-bit ints that mean -1/AT_FDCWD must stay negative */
		if (m & IA32_FD_ARG0)
			a.a[0] = (__s32)a.a[0];
	}
	*args = a;
	return nr;
}

/* The same, as a global function: verified once, and the caller sees an
 * unknown number, not each constant the mapping can give (each of which
 * took its own path through on_sys_exit()'s switch).  The registers
 * are the task's own (those sys_exit passes): a global function takes no
 * kernel pointer. */
__noinline int compat_sys_args_g(struct sys_args *args, long *flow_nr)
{
	struct pt_regs *regs =
		(struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	if (!args || !flow_nr)
		return -1;
	return compat_sys_args(regs, args, flow_nr);
}

#endif
