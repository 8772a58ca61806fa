/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process events: the lifecycle from the BTF sched_process_* tracepoints
 * (exec, fork, exit), failed execs, signals and the setuid family from
 * syscall exits ("kill", "cred", "exec_fail" classes of syscalls.def), and
 * capability checks from capability/cap_capable.
 */
#ifndef SF_PROCESS_BPF_H
#define SF_PROCESS_BPF_H

/*
 * cap_capable fires on every mmap (the overcommit check asks for
 * CAP_SYS_ADMIN), so each process image reports each (capability, result)
 * once.  The mm pointer is part of the key: a new exec starts afresh.
 */
struct cap_key {
	__u64 mm;
	__u32 tgid;
	__s32 cap;
	__s32 result;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct cap_key);
	__type(value, __u8);
} cap_seen SEC(".maps");

/*
 * The setuid family's old ids: each tracked task's ids as last seen, in
 * storage that lives and dies with the task (nothing grows with churn),
 * written at fork (the child, threads too), at exec (a set-id binary) and
 * at every set*id exit after its event, and seeded by the agent for the
 * tasks already there when a stream begins (agent/credseed.c).  Not an
 * entry tracepoint on the setuid family: any enabled sys_enter tracepoint
 * costs every syscall of every task the kernel's bitmap test.
 *
 * An entry is good while its gen is cred_gen: the agent bumps it after it
 * attached sf_sys_exit (it was not there to see the set*id calls before),
 * so entries written while it was detached are not believed.  It starts
 * at 1: a zeroed entry is never good.
 */
volatile __u32 cred_gen = 1;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sf_task_ids);
} task_ids SEC(".maps");

static __always_inline void ids_of(struct task_struct *t, struct sf_task_ids *v)
{
	v->uid = BPF_CORE_READ(t, cred, uid.val);
	v->euid = BPF_CORE_READ(t, cred, euid.val);
	v->gid = BPF_CORE_READ(t, cred, gid.val);
	v->egid = BPF_CORE_READ(t, cred, egid.val);
	v->gen = cred_gen;
	v->pad = 0;
}

/* t's ids now, for its next set*id exit */
static __always_inline void task_ids_note(struct task_struct *t)
{
	struct sf_task_ids *s = bpf_task_storage_get(
		&task_ids, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (s)
		ids_of(t, s);
}

static __always_inline void kill_event(long nr, long ret, __u32 slot,
				       __u64 cgid, struct sys_args *a, __u16 xf)
{
	struct sf_kill_event *e = reserve(slot, SF_EV_KILL, sizeof(*e));

	if (!e)
		return;
	fill_sys_hdr(&e->hdr, SF_EV_KILL, slot, cgid, nr, ret, xf);
	e->pad = 0;
	if (nr == __NR_tgkill) {
		e->target_pid = a->a[0];
		e->target_tid = a->a[1];
		e->sig = a->a[2];
	} else if (nr == __NR_tkill) {
		e->target_pid = 0;
		e->target_tid = a->a[0];
		e->sig = a->a[1];
	} else {
		e->target_pid = a->a[0];
		e->target_tid = 0;
		e->sig = a->a[1];
	}
	submit(e);
}

static __always_inline void cred_event(long nr, long ret, __u32 slot,
				       __u64 cgid, struct sys_args *a, __u16 xf)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sf_task_ids now, *old;
	struct sf_cred_event *e;

	ids_of(t, &now);
	old = bpf_task_storage_get(&task_ids, t, 0,
				   BPF_LOCAL_STORAGE_GET_F_CREATE);
	e = reserve(slot, SF_EV_SETUID, sizeof(*e));
	if (e) {
		fill_sys_hdr(&e->hdr, SF_EV_SETUID, slot, cgid, nr, ret, xf);
		e->new_uid = now.uid, e->new_euid = now.euid;
		e->new_gid = now.gid, e->new_egid = now.egid;
		if (old && old->gen == now.gen) {
			e->old_uid = old->uid, e->old_euid = old->euid;
			e->old_gid = old->gid, e->old_egid = old->egid;
		} else {
			/* not known: said so, never guessed */
			e->old_uid = now.uid, e->old_euid = now.euid;
			e->old_gid = now.gid, e->old_egid = now.egid;
			e->hdr.flags |= SF_F_OLD_UNKNOWN;
		}
		submit(e);
	}
	/* whether or not the event went (ring full, filtered out) */
	if (old)
		*old = now;
}

/*
 * A failed exec's argv, read from the caller's memory (its image is still
 * mapped): the same NUL-separated form and SF_ARGV_MAX cut as the argv
 * sched_process_exec reads.  A bpf_loop() callback, one argument a call.
 */
struct argv_ctx {
	struct sf_exec_event *e;
	const void *argv; /* the user's array of pointers */
	__u32 off;
	__u32 compat; /* 32-bit pointers */
};

static long exec_fail_arg(__u64 i, struct argv_ctx *c)
{
	struct sf_exec_event *e = c->e;
	__u32 off = c->off;
	__u64 p = 0;
	long n;

	if (c->compat) {
		__u32 p32;

		if (bpf_probe_read_user(&p32, sizeof(p32), c->argv + i * 4) < 0)
			goto fault;
		p = p32;
	} else if (bpf_probe_read_user(&p, sizeof(p), c->argv + i * 8) < 0) {
		goto fault;
	}
	if (!p)
		return 1;
	if (off >= SF_ARGV_MAX) {
		e->hdr.flags |= SF_F_ARGV_TRUNC; /* another argument follows */
		return 1;
	}
	off &= SF_ARGV_MAX - 1;
	/* one byte more than fits: a string whose NUL falls past the end is
	 * cut, as the kernel's argv is (that byte lands in exe_flags, set
	 * later; the record goes on after argv, so the verifier's bound holds) */
	n = bpf_probe_read_user_str(&e->argv[off], SF_ARGV_MAX + 1 - off,
				    (void *)p);
	if (n <= 0)
		goto fault;
	if (off + n > SF_ARGV_MAX) {
		e->hdr.flags |= SF_F_ARGV_TRUNC;
		c->off = SF_ARGV_MAX;
		return 1;
	}
	c->off = off + n;
	return 0;
fault:
	/* an argv the kernel could not read either (EFAULT): none, never a
	 * part of one */
	e->hdr.flags |= SF_F_ARGV_FAULT;
	c->off = 0;
	return 1;
}

static __always_inline void exec_fail_argv(struct sf_exec_event *e,
					   const void *argv, bool compat)
{
	struct argv_ctx c = {.e = e, .argv = argv, .compat = compat};

	/* an argument takes a byte at least: one more call sees a cut */
	if (argv)
		bpf_loop(SF_ARGV_MAX + 1, exec_fail_arg, &c, 0);
	e->argv_len = c.off;
}

static __always_inline void exec_fail_event(long nr, long ret, __u32 slot,
					    __u64 cgid, struct sys_args *a,
					    __u16 xf)
{
	const void *file = (void *)(nr == __NR_execveat ? a->a[1] : a->a[0]);
	const void *argv = (void *)(nr == __NR_execveat ? a->a[2] : a->a[1]);
	struct sf_exec_event *e;

	/* success is reported by sched_process_exec */
	if (ret >= 0)
		return;
	e = reserve(slot, SF_EV_EXEC, sizeof(*e));
	if (!e)
		return;
	fill_sys_hdr(&e->hdr, SF_EV_EXEC, slot, cgid, nr, ret, xf);
	e->argc = 0;
	read_path(e->filename, file, &e->hdr.flags, SF_F_PATH_TRUNC,
		  SF_F_PATH_FAULT);
	exec_fail_argv(e, argv, xf & SF_F_COMPAT);
	e->exe_flags = 0, e->pad2 = 0;
	e->exe_dev = 0, e->exe_ino = 0, e->exe_mtime = 0, e->exe_ctime = 0;
	kpath_walk(&e->exe, 0, 0);
	kpath_walk(&e->cwd, 0, 0);
	e->exe_id.flags = 0;
	submit(e);
}

#define TMPFS_MAGIC_	 0x01021994
#define HUGETLBFS_MAGIC_ 0x958458f6
#define OVERLAYFS_MAGIC_ 0x794c7630

/* inode times before 6.6/6.11 */
struct inode___ts {
	struct timespec64 i_mtime;
	struct timespec64 __i_ctime;
};

static __always_inline bool starts_memfd(const unsigned char *name)
{
	char b[6] = {};

	bpf_probe_read_kernel(b, sizeof(b), name);
	return b[0] == 'm' && b[1] == 'e' && b[2] == 'm' && b[3] == 'f' &&
	       b[4] == 'd' && b[5] == ':';
}

/*
 * What was really executed, from the kernel's struct file of the new image
 * (never argv or comm): memfd, deleted, overlayfs upper layer, dev/ino,
 * times, its path, and the cwd.  The overlayfs inode is private: CO-RE
 * existence checks, and without them the upper-layer flag is just absent.
 */
static __always_inline void exe_info(struct sf_exec_event *e,
				     struct task_struct *p, struct file *f)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	unsigned long magic = BPF_CORE_READ(ino, i_sb, s_magic);
	__u32 fl = 0;

	e->pad2 = 0;
	e->exe_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->exe_ino = BPF_CORE_READ(ino, i_ino);
	if (bpf_core_field_exists(ino->i_mtime_sec)) {
		e->exe_mtime = BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ll +
			       BPF_CORE_READ(ino, i_mtime_nsec);
		/* multigrain timestamps: the top bit of i_ctime_nsec says
		 * "queried" (I_CTIME_QUERIED), it is not part of the time */
		e->exe_ctime = BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ll +
			       (BPF_CORE_READ(ino, i_ctime_nsec) & ~(1u << 31));
	} else {
		struct inode___ts *o = (void *)ino;

		e->exe_mtime = BPF_CORE_READ(o, i_mtime.tv_sec) * 1000000000ll +
			       BPF_CORE_READ(o, i_mtime.tv_nsec);
		e->exe_ctime =
			BPF_CORE_READ(o, __i_ctime.tv_sec) * 1000000000ll +
			BPF_CORE_READ(o, __i_ctime.tv_nsec);
	}
	if (BPF_CORE_READ(ino, __i_nlink) == 0)
		fl |= SF_EXE_DELETED;
	if ((magic == TMPFS_MAGIC_ || magic == HUGETLBFS_MAGIC_) &&
	    BPF_CORE_READ(d, d_parent) == d &&
	    starts_memfd(BPF_CORE_READ(d, d_name.name)))
		fl |= SF_EXE_MEMFD;
	if (magic == OVERLAYFS_MAGIC_) {
		fl |= SF_EXE_OVERLAY;
		if (bpf_core_type_exists(struct ovl_inode) &&
		    bpf_core_field_exists(struct ovl_inode, __upperdentry)) {
			struct ovl_inode *oi =
				(void *)ino -
				bpf_core_field_offset(struct ovl_inode,
						      vfs_inode);

			if (BPF_CORE_READ(oi, __upperdentry))
				fl |= SF_EXE_UPPER;
		}
	}
	/* fexecve / execveat(fd, "", AT_EMPTY_PATH): the name says nothing */
	if (e->filename[0] == '/' && e->filename[1] == 'd' &&
	    e->filename[2] == 'e' && e->filename[3] == 'v' &&
	    e->filename[4] == '/' && e->filename[5] == 'f' &&
	    e->filename[6] == 'd' && e->filename[7] == '/')
		fl |= SF_EXE_FD_TARGET;
	e->exe_flags = fl;
	kpath_file(&e->exe, f);
	ident_file(&e->exe_id, f); /* TSEM's bprm file{inode{}} */
	kpath_walk(&e->cwd, BPF_CORE_READ(p, fs, pwd.dentry),
		   BPF_CORE_READ(p, fs, pwd.mnt));
}

/*
 * sched_process_exec fires inside execve or execveat: which one, from the
 * number the task entered the syscall with (ia32: 11 execve, 358 execveat).
 */
static __always_inline __u32 exec_syscall_nr(struct sf_hdr *h)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	long nr;

#if defined(__TARGET_ARCH_x86)
	nr = regs->orig_ax;
	if (BPF_CORE_READ(t, thread_info.status) & 0x0002 /* TS_COMPAT */) {
		h->flags |= SF_F_COMPAT;
		return nr == 358 ? __NR_execveat : __NR_execve;
	}
#elif defined(__TARGET_ARCH_arm64)
	nr = regs->syscallno;
#else
#error "exec_syscall_nr: add this architecture's syscall number register"
#endif
	return nr == __NR_execveat ? __NR_execveat : __NR_execve;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sf_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sf_exec_event *e;
	unsigned long start, end, len;
	long n;

	if (slot == SF_SLOT_NONE)
		return 0;
	/* a set-id binary's ids, before anything can fail */
	task_ids_note(bpf_get_current_task_btf());
	e = reserve(slot, SF_EV_EXEC, sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SF_EV_EXEC, slot, cgid);
	e->hdr.flags |= SF_F_HAS_RET;
	e->hdr.syscall = exec_syscall_nr(&e->hdr);
	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				      BPF_CORE_READ(bprm, filename));
	if (n < 0)
		e->filename[0] = 0;
	else if (n == sizeof(e->filename))
		e->hdr.flags |= SF_F_PATH_TRUNC;

	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end - start;
	if (len > SF_ARGV_MAX) {
		len = SF_ARGV_MAX;
		e->hdr.flags |= SF_F_ARGV_TRUNC;
	}
	e->argc = 0;
	if (bpf_probe_read_user(e->argv, len, (void *)start) < 0)
		len = 0;
	e->argv_len = len;
	exe_info(e, p, BPF_CORE_READ(bprm, file));
	submit(e);
	return 0;
}

#define CLONE_NEWTIME_	 0x00000080
#define CLONE_NEWNS_	 0x00020000
#define CLONE_NEWCGROUP_ 0x02000000
#define CLONE_NEWUTS_	 0x04000000
#define CLONE_NEWIPC_	 0x08000000
#define CLONE_NEWUSER_	 0x10000000
#define CLONE_NEWPID_	 0x20000000
#define CLONE_NEWNET_	 0x40000000

/* The namespaces the child got of its own, as CLONE_NEW* bits: compared in
 * the kernel's structs, whatever the clone/clone3 arguments said.  Probe
 * reads, not direct loads through the BTF pointers: the verifier looks up
 * each nested pointer load by name in the whole kernel BTF
 * (btf_nested_type_is_trusted), which made this small program one of the
 * slowest to load; once a fork the reads cost nothing to speak of. */
static __always_inline __u32 ns_diff(struct task_struct *p,
				     struct task_struct *c)
{
	struct nsproxy *a = BPF_CORE_READ(p, nsproxy),
		       *b = BPF_CORE_READ(c, nsproxy);
	__u32 f = 0;

	if (!a || !b)
		return 0;
#define NS_DIFF(field, bit)                                     \
	if (BPF_CORE_READ(a, field) != BPF_CORE_READ(b, field)) \
		f |= bit;
	NS_DIFF(mnt_ns, CLONE_NEWNS_)
	NS_DIFF(uts_ns, CLONE_NEWUTS_)
	NS_DIFF(ipc_ns, CLONE_NEWIPC_)
	NS_DIFF(pid_ns_for_children, CLONE_NEWPID_)
	NS_DIFF(net_ns, CLONE_NEWNET_)
	NS_DIFF(cgroup_ns, CLONE_NEWCGROUP_)
	NS_DIFF(time_ns_for_children, CLONE_NEWTIME_)
#undef NS_DIFF
	if (BPF_CORE_READ(p, cred, user_ns) != BPF_CORE_READ(c, cred, user_ns))
		f |= CLONE_NEWUSER_;
	return f;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sf_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sf_fork_event *e;

	if (slot == SF_SLOT_NONE)
		return 0;
	/* the child's (a thread's too), whether or not the event goes */
	task_ids_note(child);
	e = reserve(slot, SF_EV_FORK, sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SF_EV_FORK, slot, cgid);
	e->child_pid = child->tgid;
	e->child_tid = child->pid;
	e->ns_flags = ns_diff(parent, child);
	e->pad = 0;
	e->hdr.ret = child->tgid;
	if (child->tgid == parent->tgid)
		e->hdr.flags |= SF_F_THREAD;
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sf_exit, struct task_struct *p, bool group_dead)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct rl_exit_ctx c = {};
	struct sf_exit_event *e;

	if (slot == SF_SLOT_NONE)
		return 0;
	if (group_dead)
		rate_exit(&c); /* the rate limit's last counts */
	e = reserve(slot, SF_EV_EXIT, sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SF_EV_EXIT, slot, cgid);
	e->exit_code = p->exit_code;
	e->pad = 0;
	e->nsupp = c.n;
	e->supp_other = c.other;
	for (int i = 0; i < SF_SUPP_MAX; i++)
		e->supp[i] = c.supp[i];
	if (group_dead)
		e->hdr.flags |= SF_F_GROUP_DEAD;
	else
		e->hdr.flags |= SF_F_THREAD;
	submit(e);
	return 0;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(sf_capable, const struct cred *cred, struct user_namespace *tns,
	     const struct user_namespace *ns, int cap, int ret)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sf_cap_event *e;
	struct cap_key k = {};
	__u8 one = 1;

	if (slot == SF_SLOT_NONE)
		return 0;
	k.mm = (__u64)bpf_get_current_task_btf()->mm;
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	k.cap = cap;
	k.result = ret;
	if (bpf_map_lookup_elem(&cap_seen, &k))
		return 0;
	bpf_map_update_elem(&cap_seen, &k, &one, BPF_ANY);
	e = reserve(slot, SF_EV_CAPABLE, sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SF_EV_CAPABLE, slot, cgid);
	e->hdr.ret = ret;
	e->hdr.flags |= SF_F_HAS_RET;
	e->cap = cap;
	e->result = ret;
	submit(e);
	return 0;
}

#endif
