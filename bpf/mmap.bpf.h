/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --hash open: a file mapped executable (mmap with PROT_EXEC, without
 * PROT_WRITE, of a file: a shared library the loader maps, a plugin) becomes
 * file.mmap_exec, so that the agent can hash the file (TSEM's mmap_file
 * digest).  mem.exec (sec.bpf.h) keeps W+X and anonymous X.  hash_open is
 * set by the agent before load: without it the verifier drops this code
 * and the default pays nothing.  Rate-limited per process as mem.exec is.
 */
#ifndef SF_MMAP_BPF_H
#define SF_MMAP_BPF_H

volatile const __u8 hash_open = 0;

struct vma_range {
	__u64 start, end;
};

static long vma_range_of(struct task_struct *t, struct vm_area_struct *vma,
			 struct vma_range *r)
{
	r->start = vma->vm_start;
	r->end = vma->vm_end;
	return 0;
}

/* true: this mmap is one for file.mmap_exec (checked before sec_event) */
static __always_inline bool mmap_exec_wanted(long nr, long ret,
					     struct sys_args *a)
{
	return hash_open && nr == __NR_mmap && (a->a[2] & PROT_EXEC) &&
	       !(a->a[2] & PROT_WRITE) && !(a->a[3] & MAP_ANONYMOUS) &&
	       !(ret < 0 && ret > -4096);
}

static __always_inline void mmap_exec_event(long nr, long ret, __u32 slot,
					    __u64 cgid, struct sys_args *a,
					    __u16 xf)
{
	struct vma_range r = {};
	struct sf_mmap_event *e;
	struct file *f;
	__u16 carry = 0;

	if (!rate_ok(SF_EV_MMAP_EXEC, 0, &carry))
		return;
	e = reserve(slot, SF_EV_MMAP_EXEC, sizeof(*e));
	if (!e)
		return;
	fill_sys_hdr(&e->hdr, SF_EV_MMAP_EXEC, slot, cgid, nr, ret, xf);
	e->hdr.suppressed = carry;
	e->addr = a->a[0], e->len = a->a[1];
	e->prot = a->a[2], e->flags = a->a[3];
	e->fd = (int)a->a[4], e->pad = 0;
	e->pgoff = a->a[5];
	bpf_find_vma(bpf_get_current_task_btf(), ret, vma_range_of, &r, 0);
	e->vm_start = r.start, e->vm_end = r.end;
	f = fd_file(e->fd);
	ident_file(&e->ident, f);
	kpath_file(&e->path, f);
	submit(e);
}

#endif
