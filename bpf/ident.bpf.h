/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A file's identity at the event, from its inode (issue 12): the device of
 * its super block, inode number, mode, owner, ctime and the file system's
 * type.  Filled for file events whose struct file is at hand (open's new
 * fd, fchmod/fchown/ftruncate's fd).
 */
#ifndef SF_IDENT_BPF_H
#define SF_IDENT_BPF_H

static __always_inline void ident_file(struct sf_ident *id, struct file *f)
{
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
	/* the top bit of i_ctime_nsec is I_CTIME_QUERIED, not time */
	if (bpf_core_field_exists(ino->i_ctime_sec))
		id->ctime = BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ll +
			    (BPF_CORE_READ(ino, i_ctime_nsec) & ~(1u << 31));
	name = BPF_CORE_READ(sb, s_type, name);
	id->fs[0] = 0;
	if (name)
		bpf_probe_read_kernel_str(id->fs, sizeof(id->fs), name);
	id->flags = SF_ID_VALID;
}

#endif
