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

static __always_inline long ia32_to_native(long nr)
{
	switch (nr) {
	case 5:
		return __NR_open;
	case 8:
		return __NR_creat;
	case 9:
		return __NR_link;
	case 10:
		return __NR_unlink;
	case 11:
		return __NR_execve;
	case 15:
		return __NR_chmod;
	case 16:
	case 198:
		return __NR_lchown;
	case 23:
	case 213:
		return __NR_setuid;
	case 37:
		return __NR_kill;
	case 38:
		return __NR_rename;
	case 39:
		return __NR_mkdir;
	case 40:
		return __NR_rmdir;
	case 46:
	case 214:
		return __NR_setgid;
	case 70:
	case 203:
		return __NR_setreuid;
	case 71:
	case 204:
		return __NR_setregid;
	case 83:
		return __NR_symlink;
	case 92:
	case 193:
		return __NR_truncate;
	case 93:
	case 194:
		return __NR_ftruncate;
	case 94:
		return __NR_fchmod;
	case 95:
	case 207:
		return __NR_fchown;
	case 138:
	case 215:
		return __NR_setfsuid;
	case 139:
	case 216:
		return __NR_setfsgid;
	case 164:
	case 208:
		return __NR_setresuid;
	case 170:
	case 210:
		return __NR_setresgid;
	case 182:
	case 212:
		return __NR_chown;
	case 238:
		return __NR_tkill;
	case 270:
		return __NR_tgkill;
	case 295:
		return __NR_openat;
	case 296:
		return __NR_mkdirat;
	case 298:
		return __NR_fchownat;
	case 301:
		return __NR_unlinkat;
	case 302:
		return __NR_renameat;
	case 303:
		return __NR_linkat;
	case 304:
		return __NR_symlinkat;
	case 306:
		return __NR_fchmodat;
	case 353:
		return __NR_renameat2;
	case 358:
		return __NR_execveat;
	case 359:
		return __NR_socket;
	case 361:
		return __NR_bind;
	case 362:
		return __NR_connect;
	case 363:
		return __NR_listen;
	case 364:
		return __NR_accept4;
	case 437:
		return __NR_openat2;
	case 452:
		return __NR_fchmodat2; /* the same number on ia32 */
	default:
		return -1;
	}
}

/*
 * The reads, writes and close of -F sysflow's flows (flow.bpf.h), which
 * are no events: a native number for flow_exit() only, -1 for the rest.
 * Their fd, length and message-vector arguments are where the native
 * ones are (pread64's offset, in two registers, is not used); the only
 * layout that differs, struct compat_mmsghdr, flow_exit() is told of.
 */
static __always_inline long ia32_flow_nr(long nr32)
{
	switch (nr32) {
	case 3:
		return __NR_read;
	case 4:
		return __NR_write;
	case 6:
		return __NR_close;
	case 145:
		return __NR_readv;
	case 146:
		return __NR_writev;
	case 180:
		return __NR_pread64;
	case 181:
		return __NR_pwrite64;
	case 187: /* sendfile */
	case 239: /* sendfile64 */
		return __NR_sendfile;
	case 313:
		return __NR_splice;
	case 333:
		return __NR_preadv;
	case 334:
		return __NR_pwritev;
	case 337: /* recvmmsg */
	case 417: /* recvmmsg_time64 */
		return __NR_recvmmsg;
	case 345:
		return __NR_sendmmsg;
	case 369:
		return __NR_sendto;
	case 370:
		return __NR_sendmsg;
	case 371:
		return __NR_recvfrom;
	case 372:
		return __NR_recvmsg;
	case 378:
		return __NR_preadv2;
	case 379:
		return __NR_pwritev2;
	default:
		return -1;
	}
}

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
		nr = ia32_to_native(nr32);
		*flow_nr = nr >= 0 ? nr : ia32_flow_nr(nr32);
		/* truncate64/ftruncate64: the length comes in two registers */
		if (nr32 == 193 || nr32 == 194)
			a.a[1] |= a.a[2] << 32;
		/* 32-bit ints that mean -1/AT_FDCWD must stay negative */
		if (nr == __NR_openat || nr == __NR_mkdirat ||
		    nr == __NR_fchownat || nr == __NR_unlinkat ||
		    nr == __NR_renameat || nr == __NR_linkat ||
		    nr == __NR_fchmodat || nr == __NR_renameat2 ||
		    nr == __NR_openat2 || nr == __NR_execveat ||
		    nr == __NR_fchmodat2)
			a.a[0] = (__s32)a.a[0];
	}
	*args = a;
	return nr;
}

/* The same, as a global function: verified once, and the caller sees an
 * unknown number, not each constant ia32_to_native() returns (each of
 * which took its own path through on_sys_exit()'s switch).  The registers
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
