/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A file's identity at the event, from its inode (issue 12): the device of
 * its super block, inode number, mode, owner, ctime, mtime, size, the file
 * system's type, magic, s_id and s_uuid (TSEM's inode{}), the struct
 * file's f_flags (TSEM's file.flags) and how the task sees paths (TSEM's
 * path.type: its mount namespace, chroot).  Filled for file events whose
 * struct file is at hand (open's new fd, fchmod/fchown/ftruncate's fd, a
 * file mapped executable).
 */
#ifndef SF_IDENT_BPF_H
#define SF_IDENT_BPF_H

/* The host's mount namespace (inode number of /proc/1/ns/mnt), set by the
 * agent before load; 0: not known (no SF_ID_HOSTNS) */
volatile const __u32 host_mnt_ns = 0;

/* Is the task's root the root of its mount namespace as every process of
 * it sees it?  The namespace's own root mount (self-parented), or the one
 * mount on top of its root (the host's / over rootfs, a container's root
 * after pivot_root); else it is chroot'ed. */
static __always_inline bool ident_chrooted(struct task_struct *t)
{
	struct vfsmount *vm = BPF_CORE_READ(t, fs, root.mnt);
	struct dentry *d = BPF_CORE_READ(t, fs, root.dentry);
	__u64 off = bpf_core_field_offset(struct mount, mnt);
	struct mount *m = (void *)vm - off, *up;

	if (!vm || d != BPF_CORE_READ(vm, mnt_root))
		return true;
	up = BPF_CORE_READ(m, mnt_parent);
	if (up == m)
		return false;
	if (BPF_CORE_READ(m, mnt_mountpoint) != BPF_CORE_READ(up, mnt.mnt_root))
		return true;
	return BPF_CORE_READ(up, mnt_parent) != up;
}

static __always_inline void ident_file_in(struct sf_ident *id, struct file *f)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct inode *ino;
	struct super_block *sb;
	const char *name;

	id->flags = 0;
	if (!f)
		return;
	ino = BPF_CORE_READ(f, f_inode);
	if (!ino)
		return;
	sb = BPF_CORE_READ(ino, i_sb);
	id->dev = BPF_CORE_READ(sb, s_dev);
	id->ino = BPF_CORE_READ(ino, i_ino);
	id->mode = BPF_CORE_READ(ino, i_mode);
	id->uid = BPF_CORE_READ(ino, i_uid.val);
	id->gid = BPF_CORE_READ(ino, i_gid.val);
	id->generation = BPF_CORE_READ(ino, i_generation);
	id->pad = 0;
	id->magic = BPF_CORE_READ(sb, s_magic);
	id->ctime = 0;
	id->mtime = 0;
	/* the top bit of i_ctime_nsec is I_CTIME_QUERIED, not time */
	if (bpf_core_field_exists(ino->i_ctime_sec))
		id->ctime = BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ll +
			    (BPF_CORE_READ(ino, i_ctime_nsec) & ~(1u << 31));
	if (bpf_core_field_exists(ino->i_mtime_sec))
		id->mtime = BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ll +
			    BPF_CORE_READ(ino, i_mtime_nsec);
	id->size = BPF_CORE_READ(ino, i_size);
	id->f_flags = BPF_CORE_READ(f, f_flags);
	id->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	name = BPF_CORE_READ(sb, s_type, name);
	id->fs[0] = 0;
	if (name)
		bpf_probe_read_kernel_str(id->fs, sizeof(id->fs), name);
	bpf_probe_read_kernel_str(id->s_id, sizeof(id->s_id), sb->s_id);
	bpf_probe_read_kernel(id->s_uuid, sizeof(id->s_uuid), &sb->s_uuid);
	id->flags = SF_ID_VALID | SF_ID_FLAGS;
	if (host_mnt_ns && id->mnt_ns == host_mnt_ns)
		id->flags |= SF_ID_HOSTNS;
	if (ident_chrooted(t))
		id->flags |= SF_ID_CHROOT;
}

/* A file's identity, as a global function: verified once per program, not
 * on each path to each of its callers (inlined, it was checked as often as
 * the file's resolution around it).  The file comes as an integer (a
 * global function takes no kernel pointer); it is only read through
 * BPF_CORE_READ and probe reads. */
__noinline int ident_file_g(struct sf_ident *id, __u64 f)
{
	if (id)
		ident_file_in(id, (struct file *)f);
	return 0;
}

static __always_inline void ident_file(struct sf_ident *id, struct file *f)
{
	ident_file_g(id, (__u64)f);
}

#endif
