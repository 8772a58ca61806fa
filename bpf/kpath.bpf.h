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

struct kpath_ctx {
	struct sf_kpath *kp;
	struct dentry *dentry, *root_d;
	struct vfsmount *vfsmnt, *root_m;
	struct mount *mnt;
	__u64 mnt_off;
	__u32 off;
};

/* One step up; returns 1 to stop.  A bpf_loop() callback: verified once,
 * not once per level. */
static long kpath_step(__u64 i, struct kpath_ctx *c)
{
	struct sf_kpath *kp = c->kp;
	struct dentry *d = c->dentry, *parent;
	struct vfsmount *vm = c->vfsmnt;
	struct mount *m = c->mnt;
	const unsigned char *name;
	__u32 off = c->off;
	long n;

	if (d == c->root_d && vm == c->root_m) {
		kp->flags |= SF_KP_ROOT;
		return 1;
	}
	if (d == BPF_CORE_READ(vm, mnt_root)) {
		struct mount *up = BPF_CORE_READ(m, mnt_parent);

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
	c->off = off + n;
	kp->n++;
	if (parent == d) { /* an internal mount's root (memfd, pipe) */
		kp->flags |= SF_KP_ROOT;
		return 1;
	}
	c->dentry = parent;
	return 0;
}

static __always_inline void
kpath_walk(struct sf_kpath *kp, struct dentry *dentry, struct vfsmount *vfsmnt)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct kpath_ctx c = {
		.kp = kp,
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.root_d = BPF_CORE_READ(t, fs, root.dentry),
		.root_m = BPF_CORE_READ(t, fs, root.mnt),
		.mnt_off = bpf_core_field_offset(struct mount, mnt),
	};

	kp->n = 0;
	kp->flags = 0;
	kp->pad = 0;
	kp->buf[0] = 0;
	if (!dentry || !vfsmnt) {
		kp->flags = SF_KP_NONE;
		return;
	}
	c.mnt = (void *)vfsmnt - c.mnt_off;
	if (BPF_CORE_READ(dentry, d_inode, __i_nlink) == 0)
		kp->flags |= SF_KP_DELETED;
	bpf_loop(KPATH_DEPTH, kpath_step, &c, 0);
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

#endif
