/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What container escapes, fileless and privilege attacks are made of: ptrace,
 * process_vm_*, namespaces, mounts, modules, kexec, bpf(), perf_event_open,
 * open_by_handle_at, xattrs, W+X memory, memfd, dup onto 0/1/2, io_uring
 * setup, userfaultfd, keys (the "sec" class of syscalls.def; the module and
 * kexec syscalls by number from compat.bpf.h).  One record, struct
 * sf_sec_event: arg[] is the syscall's arguments as passed, aux[], str[] and
 * kpath what this file adds; the per-type meaning is in sec_fill() below and
 * in the agent's decoder.
 */
#ifndef SF_SEC_BPF_H
#define SF_SEC_BPF_H

#define PROT_WRITE	0x2
#define PROT_EXEC	0x4
#define MAP_ANONYMOUS	0x20
#define F_DUPFD		0
#define F_DUPFD_CLOEXEC 1030
#define BPF_PROG_LOAD_	5
#define BPF_MAP_CREATE_ 0
#define NSFS_MAGIC_	0x6e736673
#define VFS_CAP_LEN	20 /* struct vfs_cap_data, revision 2 */

struct vma_probe {
	bool anon;
};

/* A record with nothing known yet (io_uring requests, module loads): every
 * argument, string, path and identity empty. */
static __always_inline void sec_clear(struct sf_sec_event *e)
{
	for (int i = 0; i < 6; i++)
		e->arg[i] = 0;
	for (int i = 0; i < 4; i++)
		e->aux[i] = 0;
	e->family = 0, e->port = 0, e->pad = 0;
	e->str[0][0] = e->str[1][0] = e->str[2][0] = 0;
	e->kpath.n = 0, e->kpath.flags = SF_KP_NONE, e->kpath.buf[0] = 0;
	e->ident.flags = 0;
	fpath_none(&e->res);
}

static long vma_is_anon(struct task_struct *t, struct vm_area_struct *vma,
			struct vma_probe *p)
{
	p->anon = !vma->vm_file;
	return 0;
}

/* Is the memory at addr anonymous (no file behind it)?  Only asked for a
 * tracked task's mprotect(PROT_EXEC) without PROT_WRITE. */
static __always_inline bool anon_at(__u64 addr)
{
	struct vma_probe p = {};

	if (bpf_find_vma(bpf_get_current_task_btf(), addr, vma_is_anon, &p, 0))
		return false;
	return p.anon;
}

/* per-type checks before the ring buffer: is this call an event at all? */
static __always_inline bool sec_wanted(long nr, long ret, struct sys_args *a,
				       __u16 *type)
{
	switch (nr) {
	case __NR_ptrace:
		*type = SF_EV_PTRACE;
		return true;
	case __NR_process_vm_readv:
		*type = SF_EV_VM_READ;
		return true;
	case __NR_process_vm_writev:
		*type = SF_EV_VM_WRITE;
		return true;
	case __NR_unshare:
		*type = SF_EV_UNSHARE;
		return true;
	case __NR_setns:
		*type = SF_EV_SETNS;
		return true;
	case __NR_mount:
		*type = SF_EV_MOUNT;
		return true;
	case __NR_umount2:
		*type = SF_EV_UMOUNT;
		return true;
	case __NR_pivot_root:
		*type = SF_EV_PIVOT_ROOT;
		return true;
	case __NR_chroot:
		*type = SF_EV_CHROOT;
		return true;
	case __NR_fsopen:
		*type = SF_EV_FSOPEN;
		return true;
	case __NR_fsmount:
		*type = SF_EV_FSMOUNT;
		return true;
	case __NR_move_mount:
		*type = SF_EV_MOVE_MOUNT;
		return true;
	case __NR_open_tree:
		*type = SF_EV_OPEN_TREE;
		return true;
	case __NR_init_module:
	case __NR_finit_module:
		*type = SF_EV_MODULE_LOAD;
		return true;
	case __NR_delete_module:
		*type = SF_EV_MODULE_DELETE;
		return true;
	case __NR_kexec_load:
	case __NR_kexec_file_load:
		*type = SF_EV_KEXEC_LOAD;
		return true;
	case __NR_bpf:
		*type = SF_EV_BPF;
		return true;
	case __NR_perf_event_open:
		*type = SF_EV_PERF_OPEN;
		return true;
	case __NR_open_by_handle_at:
		*type = SF_EV_OPEN_BY_HANDLE;
		return true;
	case __NR_setxattr:
	case __NR_lsetxattr:
	case __NR_fsetxattr:
	case __NR_setxattrat:
		*type = SF_EV_SETXATTR;
		return true;
	case __NR_removexattr:
	case __NR_lremovexattr:
	case __NR_fremovexattr:
	case __NR_removexattrat:
		*type = SF_EV_REMOVEXATTR;
		return true;
	case __NR_mmap:
		/* executable and (writable, or anonymous: no file to blame) */
		*type = SF_EV_MEM_EXEC;
		return (a->a[2] & PROT_EXEC) &&
		       ((a->a[2] & PROT_WRITE) || (a->a[3] & MAP_ANONYMOUS));
	case __NR_mprotect:
		/* executable and (writable, or anonymous memory made executable
		 * afterwards: a JIT, or shellcode) */
		*type = SF_EV_MEM_EXEC;
		return (a->a[2] & PROT_EXEC) &&
		       ((a->a[2] & PROT_WRITE) || anon_at(a->a[0]));
	case __NR_memfd_create:
		*type = SF_EV_MEMFD_CREATE;
		return true;
	case __NR_dup:
		*type = SF_EV_DUP;
		return ret >= 0 && ret <= 2;
	case __NR_dup2:
	case __NR_dup3:
		*type = SF_EV_DUP;
		return a->a[1] <= 2; /* unsigned: onto 0, 1 or 2 */
	case __NR_fcntl:
		*type = SF_EV_DUP;
		return (a->a[1] == F_DUPFD || a->a[1] == F_DUPFD_CLOEXEC) &&
		       ret >= 0 && ret <= 2;
	case __NR_io_uring_setup:
		*type = SF_EV_URING_SETUP;
		return true;
	case __NR_io_uring_register:
		*type = SF_EV_URING_REGISTER;
		return true;
	case __NR_userfaultfd:
		*type = SF_EV_USERFAULTFD;
		return true;
	case __NR_add_key:
		*type = SF_EV_KEY_ADD;
		return true;
	case __NR_request_key:
		*type = SF_EV_KEY_REQUEST;
		return true;
	case __NR_keyctl:
		*type = SF_EV_KEY_CTL;
		return true;
	default:
		return false;
	}
}

static __always_inline void read_ustr(char *dst, const void *src, __u16 *flags,
				      __u16 trunc_flag, __u16 fault_flag)
{
	long n;

	if (!src) { /* NULL (mount's source, request_key's callout): null */
		dst[0] = 0;
		*flags |= fault_flag;
		return;
	}
	n = bpf_probe_read_user_str(dst, SF_STR_MAX, src);
	if (n < 0) {
		dst[0] = 0;
		*flags |= fault_flag;
	} else if (n == SF_STR_MAX) {
		char c = 0;

		bpf_probe_read_user(&c, 1, (const char *)src + SF_STR_MAX - 1);
		if (c)
			*flags |= trunc_flag;
	}
}

/* before 6.18 the type was in the ops */
struct proc_ns_operations___old {
	int type;
};

static __always_inline __u32 ns_type(struct ns_common *ns)
{
	struct proc_ns_operations___old *ops;

	if (bpf_core_field_exists(ns->ns_type))
		return BPF_CORE_READ(ns, ns_type);
	ops = (void *)BPF_CORE_READ(ns, ops);
	return BPF_CORE_READ(ops, type);
}

/* The peer of a socket file (fd.dup): family, address, port. */
static __always_inline void sec_sock_peer(struct sf_sec_event *e,
					  struct file *f)
{
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);

	if (!sk)
		return;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (e->family == AF_INET) {
		__u32 a4 = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e->addr, &a4, 4);
	} else if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->addr, sk, __sk_common.skc_v6_daddr);
	} else {
		return;
	}
	e->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

static __always_inline bool is_caps_name(const char *n)
{
	const char want[] = "security.capability";

	for (int i = 0; i < sizeof(want); i++)
		if (n[i] != want[i])
			return false;
	return true;
}

#define S_IFMT	 00170000
#define S_IFSOCK 0140000

/*
 * What the kernel knows beyond the arguments (after reserve: these read
 * kernel or user memory into the record):
 *   setns          aux0 = the fd's namespace type (CLONE_NEW*), 0 if unknown
 *   bpf            aux0 = prog/map type, str0 = prog/map name
 *   perf.open      aux0 = attr.type, aux1 = attr.config
 *   open_by_handle aux0 = handle type, kpath = the mount fd's path
 *   setxattr       aux0 = security.capability's permitted set,
 *                  aux1 = its effective bit, aux2 = 1 when aux0/1 are set
 *   module_load    kpath = finit_module's fd
 *   kexec_file     kpath = the kernel image fd
 *   dup            kpath = the source file; family/addr/port when a socket
 *   io_uring.setup aux0 = params.flags, aux1 = sq_thread_cpu
 *   fsmount etc.   plain arguments
 */
static __always_inline void sec_fill(struct sf_sec_event *e, long nr,
				     struct sys_args *a)
{
	struct file *f, *kf = 0;

	switch (nr) {
	case __NR_setns:
		f = fd_file(a->a[0]);
		if (f &&
		    BPF_CORE_READ(f, f_inode, i_sb, s_magic) == NSFS_MAGIC_) {
			struct ns_common *ns =
				BPF_CORE_READ(f, f_inode, i_private);

			e->aux[0] = ns_type(ns);
		}
		break;
	case __NR_bpf: {
		__u32 t = 0;

		bpf_probe_read_user(&t, sizeof(t), (void *)a->a[1]);
		if (a->a[0] == BPF_PROG_LOAD_) {
			e->aux[0] = t;
			bpf_probe_read_user_str(e->str[0], 16,
						(char *)a->a[1] + 48);
		} else if (a->a[0] == BPF_MAP_CREATE_) {
			e->aux[0] = t;
			bpf_probe_read_user_str(e->str[0], 16,
						(char *)a->a[1] + 28);
		}
		break;
	}
	case __NR_perf_event_open: {
		__u32 t = 0;
		__u64 c = 0;

		bpf_probe_read_user(&t, sizeof(t), (void *)a->a[0]);
		bpf_probe_read_user(&c, sizeof(c), (char *)a->a[0] + 8);
		e->aux[0] = t, e->aux[1] = c;
		break;
	}
	case __NR_open_by_handle_at: {
		int ht = 0;

		bpf_probe_read_user(&ht, sizeof(ht), (char *)a->a[1] + 4);
		e->aux[0] = ht;
		kf = fd_file((int)a->a[0]);
		break;
	}
	case __NR_setxattr:
	case __NR_lsetxattr:
	case __NR_fsetxattr: {
		__u32 cap[VFS_CAP_LEN / 4] = {};

		if (a->a[3] < 12 || !is_caps_name(e->str[1]))
			break;
		bpf_probe_read_user(cap, sizeof(cap), (void *)a->a[2]);
		/* magic_etc, then {permitted, inheritable} low, then high */
		e->aux[0] = cap[1] |
			    (__u64)(a->a[3] >= VFS_CAP_LEN ? cap[3] : 0) << 32;
		e->aux[1] = cap[0] & 1; /* VFS_CAP_FLAGS_EFFECTIVE */
		e->aux[2] = 1;
		break;
	}
	case __NR_finit_module:
	case __NR_kexec_file_load:
		kf = fd_file((int)a->a[0]);
		break;
	case __NR_dup:
	case __NR_dup2:
	case __NR_dup3:
	case __NR_fcntl:
		kf = fd_file((int)a->a[0]);
		if (kf &&
		    (BPF_CORE_READ(kf, f_inode, i_mode) & S_IFMT) == S_IFSOCK)
			sec_sock_peer(e, kf);
		break;
	case __NR_io_uring_setup: {
		__u32 p[4] = {};

		/* sq_entries, cq_entries, flags, sq_thread_cpu */
		bpf_probe_read_user(p, sizeof(p), (void *)a->a[1]);
		e->aux[0] = p[2], e->aux[1] = p[3];
		break;
	}
	}
	if (kf)
		kpath_file(&e->kpath, kf);
}

/* setxattr's object: the fd's file (fsetxattr), else the path's base */
static __always_inline void sec_resolve_xattr(struct sf_sec_event *e, long fd)
{
	struct file *f;

	if ((int)fd < 0) {
		fpath_base(&e->res, -100, e->str[0][0]);
		return;
	}
	f = fd_file((int)fd);
	ident_file(&e->ident, f);
	fpath_file(&e->res, f);
}

/*
 * The object's identity and resolved path (issue 12), after a successful
 * call: the new fd (open_by_handle, memfd_create), the fd's file (f*xattr,
 * dup), the base of the typed path (setxattr, removexattr, mount's
 * target: the agent joins them), chroot's new root itself (walked to the
 * namespace's root: the task's own root is that now).
 */
static __always_inline void sec_resolve(struct sf_sec_event *e, long nr,
					long ret, struct sys_args *a)
{
	struct task_struct *t;
	long fd = -1;

	e->ident.flags = 0;
	fpath_none(&e->res);
	if (ret < 0)
		return;
	switch (nr) {
	case __NR_open_by_handle_at:
	case __NR_memfd_create:
		fd = ret;
		break;
	case __NR_fsetxattr:
	case __NR_fremovexattr:
	case __NR_dup:
	case __NR_dup2:
	case __NR_dup3:
	case __NR_fcntl:
		fd = (int)a->a[0];
		break;
	case __NR_setxattr:
	case __NR_lsetxattr:
	case __NR_removexattr:
	case __NR_lremovexattr:
		fpath_base(&e->res, -100, e->str[0][0]);
		return;
	case __NR_setxattrat:
	case __NR_removexattrat:
		fpath_base(&e->res, a->a[0], e->str[0][0]);
		return;
	case __NR_mount:
		fpath_base(&e->res, -100, e->str[1][0]);
		return;
	case __NR_chroot:
		t = bpf_get_current_task_btf();
		fpath_walk_to(&e->res, SF_FP_BASE_FILE,
			      BPF_CORE_READ(t, fs, root.dentry),
			      BPF_CORE_READ(t, fs, root.mnt), true);
		return;
	default:
		return;
	}
	if (fd >= 0) {
		struct file *f = fd_file(fd);

		ident_file(&e->ident, f);
		fpath_file(&e->res, f);
	}
}

/* sec_fill and sec_resolve as global functions: each verified once on
 * its own, not once per state its caller's switches leave. */
__noinline int sec_fill_g(struct sf_sec_event *e, long nr, struct sys_args *a)
{
	if (e && a)
		sec_fill(e, nr, a);
	return 0;
}

__noinline int sec_resolve_g(struct sf_sec_event *e, long nr, long ret,
			     struct sys_args *a)
{
	if (e && a)
		sec_resolve(e, nr, ret, a);
	return 0;
}

/* The three user strings, read in a global function: checked once, not
 * once per combination of present and absent ones sec_strings() leaves. */
__noinline int sec_ustrs_g(struct sf_sec_event *e, __u64 s0, __u64 s1, __u64 s2)
{
	if (!e)
		return 0;
	read_ustr(e->str[0], (const void *)s0, &e->hdr.flags, SF_F_PATH_TRUNC,
		  SF_F_PATH_FAULT);
	read_ustr(e->str[1], (const void *)s1, &e->hdr.flags, SF_F_PATH2_TRUNC,
		  SF_F_PATH2_FAULT);
	read_ustr(e->str[2], (const void *)s2, &e->hdr.flags, SF_F_STR3_TRUNC,
		  SF_F_STR3_FAULT);
	return 0;
}

/* Which arguments are user strings: str[0], str[1], str[2]. */
static __always_inline void sec_strings(long nr, struct sys_args *a,
					const void **s0, const void **s1,
					const void **s2)
{
	switch (nr) {
	case __NR_mount: /* source, target, fstype */
		*s0 = (void *)a->a[0], *s1 = (void *)a->a[1];
		*s2 = (void *)a->a[2];
		break;
	case __NR_umount2:
	case __NR_chroot:
	case __NR_fsopen:
	case __NR_memfd_create:
	case __NR_delete_module:
		*s0 = (void *)a->a[0];
		break;
	case __NR_pivot_root: /* new_root, put_old */
		*s0 = (void *)a->a[0], *s1 = (void *)a->a[1];
		break;
	case __NR_move_mount: /* from_path, to_path */
		*s0 = (void *)a->a[1], *s1 = (void *)a->a[3];
		break;
	case __NR_open_tree:
		*s0 = (void *)a->a[1];
		break;
	case __NR_setxattr:
	case __NR_lsetxattr:
	case __NR_removexattr:
	case __NR_lremovexattr: /* path, name */
		*s0 = (void *)a->a[0], *s1 = (void *)a->a[1];
		break;
	case __NR_fsetxattr:
	case __NR_fremovexattr: /* fd, name */
		*s1 = (void *)a->a[1];
		break;
	case __NR_setxattrat:
	case __NR_removexattrat: /* dfd, path, at_flags, name */
		*s0 = (void *)a->a[1], *s1 = (void *)a->a[3];
		break;
	case __NR_init_module: /* umod, len, uargs */
		*s2 = (void *)a->a[2];
		break;
	case __NR_finit_module: /* fd, uargs, flags */
		*s2 = (void *)a->a[1];
		break;
	case __NR_kexec_file_load: /* kernel_fd, initrd_fd, len, cmdline */
		*s2 = (void *)a->a[3];
		break;
	case __NR_add_key: /* type, description, payload, plen, keyring */
	case __NR_request_key: /* type, description, callout, keyring */
		*s0 = (void *)a->a[0], *s1 = (void *)a->a[1];
		if (nr == __NR_request_key)
			*s2 = (void *)a->a[2];
		break;
	}
}

/*
 * The record of a wanted call, its type known.  A global function: inlined
 * after sec_wanted(), it was verified once per type (each a constant there,
 * ~40 paths that never met); here the type is one unknown number.  The
 * slot, the flags and the type share the last argument (five at most).
 */
__noinline int sec_emit_g(long nr, long ret, __u64 cgid, struct sys_args *a,
			  __u64 slot_xf_type)
{
	__u32 slot = (__u32)slot_xf_type;
	__u16 xf = (__u16)(slot_xf_type >> 32);
	__u16 type = (__u16)(slot_xf_type >> 48), carry = 0;
	const void *s0 = 0, *s1 = 0, *s2 = 0;
	struct sf_sec_event *e;

	if (!a)
		return 0;
	if (type == SF_EV_MEM_EXEC && !rate_ok(type, 0, &carry))
		return 0;
	e = reserve(slot, type, sizeof(*e));
	if (!e)
		return 0;
	fill_sys_hdr(&e->hdr, type, slot, cgid, nr, ret, xf);
	e->hdr.suppressed = carry;
	for (int i = 0; i < 6; i++)
		e->arg[i] = a->a[i];
	for (int i = 0; i < 4; i++)
		e->aux[i] = 0;
	e->family = 0, e->port = 0, e->pad = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->kpath.n = 0, e->kpath.flags = SF_KP_NONE, e->kpath.buf[0] = 0;
	sec_strings(nr, a, &s0, &s1, &s2);
	sec_ustrs_g(e, (__u64)s0, (__u64)s1, (__u64)s2);
	sec_fill_g(e, nr, a);
	sec_resolve_g(e, nr, ret, a);
	submit(e);
	return 0;
}

static __always_inline void sec_event(long nr, long ret, __u32 slot, __u64 cgid,
				      struct sys_args *a, __u16 xf)
{
	__u16 type = 0;

	if (!sec_wanted(nr, ret, a, &type))
		return;
	sec_emit_g(nr, ret, cgid, a,
		   slot | (__u64)xf << 32 | (__u64)type << 48);
}

#endif
