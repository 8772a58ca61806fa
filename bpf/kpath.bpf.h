/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Paths the kernel resolved: walks a struct path (dentry, mount) up to the
 * current task's root, crossing mount points, into a struct sf_kpath
 * (sfagent.h: components leaf first; the agent joins them).  No
 * bpf_d_path(): it is not allowed on tracepoints.  Used for fds (an fd's
 * file), the exec image and the cwd, all from kernel memory, never from
 * what the process says.
 */
#ifndef SF_KPATH_BPF_H
#define SF_KPATH_BPF_H

#define KPATH_DEPTH 32
#define KPATH_NAME  255 /* NAME_MAX */

/*
 * The walks' running offset into kp->buf is kp->len itself, not a field of
 * these contexts: the verifier tracks a bpf_loop() context on the stack,
 * and an offset there (a new range at every step) made it check the
 * callbacks ~50 times over before their states matched; the record's
 * memory is not tracked, so they match at once.
 */
struct kpath_ctx {
	struct sf_kpath *kp;
	struct dentry *dentry, *root_d;
	struct vfsmount *vfsmnt, *root_m;
	struct mount *mnt;
	__u64 mnt_off;
	/* where the walk left the first mount (sf_fpath's n_fs part) */
	struct dentry *first_d;
	__u32 n_mnt;
};

/* The walk leaves the mount it started in at d (its mnt_root, or the
 * task's root): remembered once, for the host view. */
static __always_inline void kpath_leave_first(struct kpath_ctx *c,
					      struct dentry *d)
{
	if (!c->first_d) {
		c->first_d = d;
		c->n_mnt = c->kp->n;
	}
}

/* One step up; returns 1 to stop.  A bpf_loop() callback: verified once,
 * not once per level. */
static long kpath_step(__u64 i, struct kpath_ctx *c)
{
	struct sf_kpath *kp = c->kp;
	struct dentry *d = c->dentry, *parent;
	struct vfsmount *vm = c->vfsmnt;
	struct mount *m = c->mnt;
	const unsigned char *name;
	__u32 off = kp->len;
	long n;

	if (d == c->root_d && vm == c->root_m) {
		kpath_leave_first(c, d);
		kp->flags |= SF_KP_ROOT;
		return 1;
	}
	if (d == BPF_CORE_READ(vm, mnt_root)) {
		struct mount *up = BPF_CORE_READ(m, mnt_parent);

		kpath_leave_first(c, d);
		if (up == m) { /* the namespace's root mount */
			kp->flags |= SF_KP_ROOT;
			return 1;
		}
		c->dentry = BPF_CORE_READ(m, mnt_mountpoint);
		c->mnt = up;
		c->vfsmnt = (void *)up + c->mnt_off;
		return 0;
	}
	if (off >= SF_PATH_MAX / 2)
		return 1; /* too long: cut (no SF_KP_ROOT) */
	parent = BPF_CORE_READ(d, d_parent);
	name = BPF_CORE_READ(d, d_name.name);
	n = bpf_probe_read_kernel_str(&kp->buf[off & (SF_PATH_MAX / 2 - 1)],
				      KPATH_NAME + 1, name);
	if (n <= 0)
		return 1;
	kp->len = off + n;
	kp->n++;
	if (parent == d) {
		/* a dentry of its own (memfd, pipe: the kernel names it so),
		 * or one open_by_handle_at could not connect to its parents:
		 * then the path above is not known */
		if (BPF_CORE_READ(d, d_flags) & DCACHE_DISCONNECTED)
			kp->flags |= SF_KP_DISCONNECTED;
		else
			kp->flags |= SF_KP_ROOT;
		return 1;
	}
	c->dentry = parent;
	return 0;
}

/* to_ns: walk up to the mount namespace's root, not to the task's */
static __always_inline void kpath_run(struct kpath_ctx *c,
				      struct dentry *dentry,
				      struct vfsmount *vfsmnt, bool to_ns)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sf_kpath *kp = c->kp;
	__u64 zero;

	c->root_d = BPF_CORE_READ(t, fs, root.dentry);
	c->root_m = BPF_CORE_READ(t, fs, root.mnt);
	if (to_ns)
		c->root_d = 0, c->root_m = 0;
	c->mnt_off = bpf_core_field_offset(struct mount, mnt);
	kp->n = 0;
	kp->flags = 0;
	kp->len = 0;
	kp->buf[0] = 0;
	if (!dentry || !vfsmnt) {
		kp->flags = SF_KP_NONE;
		return;
	}
	/*
	 * The walk's state starts as little known to the verifier as it
	 * becomes: a zero read back from the record (whose memory it does
	 * not track) is any number to it.  A callback's state is pruned
	 * only where an earlier one's ranges hold it, so with constants
	 * (and the non-NULL learnt above) here, each field's first change
	 * made the states differ again: ~20 passes over kpath_step.
	 */
	zero = *(volatile __u32 *)&kp->len;
	c->dentry = (void *)((__u64)dentry ^ zero);
	c->vfsmnt = (void *)((__u64)vfsmnt ^ zero);
	c->first_d = (void *)zero;
	c->n_mnt = zero;
	c->mnt = (void *)c->vfsmnt - c->mnt_off;
	if (BPF_CORE_READ(dentry, d_inode, __i_nlink) == 0)
		kp->flags |= SF_KP_DELETED;
	if (BPF_CORE_READ(dentry, d_op, d_dname))
		kp->flags |= SF_KP_DNAME;
	bpf_loop(KPATH_DEPTH, kpath_step, c, 0);
}

/* Verified once, not at each of its callers (the exec image, the cwd, a
 * security event's fd): inlined, these walks were most of the start-up's
 * verifier time.  Kernel pointers come as integers, as for fpath_walk_g. */
__noinline int kpath_walk_g(struct sf_kpath *kp, __u64 dentry, __u64 vfsmnt)
{
	struct kpath_ctx c = {.kp = kp};

	if (kp)
		kpath_run(&c, (struct dentry *)dentry,
			  (struct vfsmount *)vfsmnt, false);
	return 0;
}

static __always_inline void
kpath_walk(struct sf_kpath *kp, struct dentry *dentry, struct vfsmount *vfsmnt)
{
	kpath_walk_g(kp, (__u64)dentry, (__u64)vfsmnt);
}

/* The struct file behind the current task's fd, or NULL. */
static __always_inline struct file *fd_file(long fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
	struct file *f = 0;

	if (fd < 0 || fd >= max)
		return 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline void kpath_file(struct sf_kpath *kp, struct file *f)
{
	if (!f) {
		kpath_walk(kp, 0, 0);
		return;
	}
	kpath_walk(kp, BPF_CORE_READ(f, f_path.dentry),
		   BPF_CORE_READ(f, f_path.mnt));
}

/*
 * A file event's path (struct sf_fpath, sfagent.h): the walk above, then
 * from where it left the first mount up to that file system's root
 * (d_parent only, no mount crossing), for the agent's host view.
 */
struct fpath_fs_ctx {
	struct sf_kpath *kp;
	struct dentry *dentry;
	__u16 n;
	bool cut;
};

static long fpath_fs_step(__u64 i, struct fpath_fs_ctx *c)
{
	struct dentry *d = c->dentry, *parent = BPF_CORE_READ(d, d_parent);
	__u32 off = c->kp->len;
	long n;

	if (parent == d)
		return 1; /* the file system's root */
	if (off >= SF_PATH_MAX / 2) {
		c->cut = true;
		return 1;
	}
	n = bpf_probe_read_kernel_str(&c->kp->buf[off & (SF_PATH_MAX / 2 - 1)],
				      KPATH_NAME + 1,
				      BPF_CORE_READ(d, d_name.name));
	if (n <= 0) {
		c->cut = true;
		return 1;
	}
	c->kp->len = off + n;
	c->n++;
	c->dentry = parent;
	return 0;
}

static __always_inline void fpath_walk_in(struct sf_fpath *fp, __u16 base,
					  struct dentry *dentry,
					  struct vfsmount *vfsmnt, bool to_ns)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct kpath_ctx c = {.kp = &fp->kp};
	struct fpath_fs_ctx f = {.kp = &fp->kp};
	struct vfsmount *root_m;
	struct mount *rm;

	fp->dev = 0;
	fp->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	fp->n_mnt = 0;
	fp->n_fs = 0;
	fp->flags = 0;
	fp->base = base;
	fp->pad = 0;
	kpath_run(&c, dentry, vfsmnt, to_ns);
	if (fp->kp.flags & SF_KP_NONE) {
		fp->base = SF_FP_BASE_NONE;
		return;
	}
	/* is the root walked to its namespace's root (no chroot)? */
	root_m = c.root_m;
	rm = (void *)root_m - c.mnt_off;
	if (to_ns || (c.root_d == BPF_CORE_READ(root_m, mnt_root) &&
		      BPF_CORE_READ(rm, mnt_parent) == rm))
		fp->flags |= SF_FP_NSROOT;
	fp->dev = BPF_CORE_READ(vfsmnt, mnt_sb, s_dev);
	if (!c.first_d || !(fp->kp.flags & SF_KP_ROOT)) {
		fp->flags |= SF_FP_FS_CUT;
		return;
	}
	fp->n_mnt = c.n_mnt;
	f.dentry = c.first_d;
	bpf_loop(KPATH_DEPTH, fpath_fs_step, &f, 0);
	fp->n_fs = f.n;
	if (f.cut)
		fp->flags |= SF_FP_FS_CUT;
}

/*
 * The walk as a global function: the verifier checks it once, on its own,
 * instead of at every inlined copy on every path that reaches one (inlined,
 * the walks made the sys_exit program take seconds to verify: `sfagent -X
 * -- /bin/true` 3.6 s).  The kernel pointers come as integers (a global
 * function's pointer arguments must be memory the caller owns); they are
 * only read through BPF_CORE_READ (probe reads).
 */
__noinline int fpath_walk_g(struct sf_fpath *fp, __u32 base, __u64 dentry,
			    __u64 vfsmnt, __u32 to_ns)
{
	if (fp)
		fpath_walk_in(fp, base, (struct dentry *)dentry,
			      (struct vfsmount *)vfsmnt, to_ns);
	return 0;
}

static __always_inline void fpath_walk_to(struct sf_fpath *fp, __u16 base,
					  struct dentry *dentry,
					  struct vfsmount *vfsmnt, bool to_ns)
{
	fpath_walk_g(fp, base, (__u64)dentry, (__u64)vfsmnt, to_ns);
}

static __always_inline void fpath_walk(struct sf_fpath *fp, __u16 base,
				       struct dentry *dentry,
				       struct vfsmount *vfsmnt)
{
	fpath_walk_to(fp, base, dentry, vfsmnt, false);
}

static __always_inline void fpath_file(struct sf_fpath *fp, struct file *f)
{
	if (!f) {
		fpath_walk(fp, SF_FP_BASE_NONE, 0, 0);
		return;
	}
	fpath_walk(fp, SF_FP_BASE_FILE, BPF_CORE_READ(f, f_path.dentry),
		   BPF_CORE_READ(f, f_path.mnt));
}

/* Not walked: nothing known (failed calls, events without a file). */
static __always_inline void fpath_none(struct sf_fpath *fp)
{
	fp->dev = 0, fp->mnt_ns = 0, fp->n_mnt = 0, fp->n_fs = 0;
	fp->flags = 0, fp->base = SF_FP_BASE_NONE, fp->pad = 0;
	fp->kp.n = 0, fp->kp.flags = SF_KP_NONE, fp->kp.len = 0;
	fp->kp.buf[0] = 0;
}

/*
 * A path call's base: what the kernel resolves the typed path against.
 * An absolute path starts at the task's root, a relative one at the cwd
 * (AT_FDCWD) or at the dirfd's file.  first is the path's first byte.
 */
static __always_inline void fpath_base_in(struct sf_fpath *fp, long dirfd,
					  char first)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (first == '/')
		fpath_walk(fp, SF_FP_BASE_ROOT,
			   BPF_CORE_READ(t, fs, root.dentry),
			   BPF_CORE_READ(t, fs, root.mnt));
	else if ((int)dirfd == -100) /* AT_FDCWD */
		fpath_walk(fp, SF_FP_BASE_CWD, BPF_CORE_READ(t, fs, pwd.dentry),
			   BPF_CORE_READ(t, fs, pwd.mnt));
	else {
		struct file *f = fd_file((int)dirfd);

		if (!f) {
			fpath_none(fp);
			return;
		}
		fpath_walk(fp, SF_FP_BASE_DIRFD,
			   BPF_CORE_READ(f, f_path.dentry),
			   BPF_CORE_READ(f, f_path.mnt));
	}
}

/* The same as a global function: its three bases (and the dirfd's file
 * lookup) verified once per program, not at each of its five callers in a
 * file event's resolution on each of their paths. */
__noinline int fpath_base_g(struct sf_fpath *fp, long dirfd, __u32 first)
{
	if (fp)
		fpath_base_in(fp, dirfd, first);
	return 0;
}

static __always_inline void fpath_base(struct sf_fpath *fp, long dirfd,
				       char first)
{
	fpath_base_g(fp, dirfd, (__u8)first);
}

#endif
